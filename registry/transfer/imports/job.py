"""What the division and the site import have in common: who may import which rows, the one
transaction (or none, for a dry run) and the audit entry of the file as a whole.

A job parses the rows, then plans against the database (``plan``) and writes (``write``) in ONE
transaction; if planning found any error the transaction is rolled back and nothing is
written. A dry run plans without a transaction and writes nothing.

Whatever is CPU work over the rows — parsing, checks without the database, building the records
to write — runs in a worker thread through :func:`off_loop`; the database statements run on the
event loop. A job must never loop over the rows of a file on the event loop: a file at the limits
(100,000 rows) would hold every other request for seconds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any, TypeVar

import anyio.to_thread
from piccolo.table import Table

from registry.audit.service import COLUMNS as AUDIT_COLUMNS
from registry.audit.service import row as audit_row
from registry.core import clock
from registry.core.access import Actor, within_scope
from registry.core.errors import Forbidden
from registry.db import bulk
from registry.db.sql import column_names
from registry.db.transactions import write_transaction
from registry.formats.readers import RawTable
from registry.tables import AuditEntry
from registry.transfer.imports.report import Issues, Outcome

T = TypeVar("T")

Progress = Callable[[str, int, int], None]
"""Called with (stage, done, total) while a long file is checked and written."""


def _no_progress(_stage: str, _done: int, _total: int) -> None:
    return None


RELEASE_SLICE = 2_000
"""Items freed at a time by :func:`release`."""


async def off_loop(work: Callable[[], T]) -> T:
    """Run ``work`` (CPU work over a file's rows, no database) in a worker thread, so that the
    event loop goes on serving requests meanwhile; its exceptions are raised here."""
    return await anyio.to_thread.run_sync(work)


def _empty(items: list[Any] | dict[Any, Any]) -> None:
    if isinstance(items, dict):
        keys = list(items)
        for start in range(0, len(keys), RELEASE_SLICE):
            for key in keys[start : start + RELEASE_SLICE]:
                del items[key]
        return
    while items:
        del items[-RELEASE_SLICE:]


async def release(*containers: list[Any] | dict[Any, Any]) -> None:
    """Empty large lists or dicts (a file's rows, its issues) in a worker thread, a slice at a
    time. Freeing 100,000 rows is one C loop that holds the interpreter lock — and so the event
    loop — for a tenth of a second when it happens where the last reference dies (on the
    loop); freed in slices, the lock changes hands between them."""
    for container in containers:
        if len(container) > RELEASE_SLICE:
            await off_loop(lambda c=container: _empty(c))


class Invalid(Exception):
    """Raised inside the transaction when a check made against the database fails."""


def in_scope(actor: Actor, code: str, county_code: str | None, level: str) -> bool:
    """Planners: rows of their own county below the county; municipal: rows of their city;
    the command line (system actor without scope): everything."""
    if actor.is_planner:
        return county_code == actor.scope and level in ("township", "village")
    if not actor.scope:
        return True
    return within_scope(actor, code)


def out_of_scope(actor: Actor) -> Forbidden:
    """The refusal of a row outside what ``actor`` may import."""
    if actor.is_planner:
        return Forbidden(
            "out_of_scope",
            f"规划员只能导入本县（{actor.scope}）的乡镇和村(社区)",
            f"a county planner may import only townships and villages of county {actor.scope}",
        )
    return Forbidden(
        "out_of_scope",
        f"只能导入本市（{actor.scope}）的区划和站点",
        f"only divisions and sites of city {actor.scope} may be imported",
    )


def as_rows(columns: Sequence[str], records: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """Records (by column name) as tuples in ``columns`` order, for a bulk statement; a
    missing column is a KeyError, never a shifted value."""
    if len(columns) == 1:
        return [(r[columns[0]],) for r in records]
    pick = itemgetter(*columns)
    return [pick(r) for r in records]


def insert_columns(table: type[Table], record: Mapping[str, Any]) -> tuple[str, ...]:
    """The columns an insert of records like ``record`` writes, in the table's order: every
    key must be a column of ``table`` (a misspelt key is an error, not a lost value); columns
    the records do not give keep their database default."""
    known = column_names(table)
    unknown = set(record) - set(known)
    if unknown:
        raise ValueError(f"{table._meta.tablename} has no column {sorted(unknown)}")
    return tuple(c for c in known if c in record)


async def insert_records(table: type[Table], records: Sequence[Mapping[str, Any]]) -> None:
    """INSERT ``records`` (all with the same keys) in bulk, in the current transaction."""
    if records:
        columns = insert_columns(table, records[0])
        await bulk.insert_rows(table, columns, as_rows(columns, records))


class Job:
    """One import file of one kind; subclasses parse, plan and write."""

    what = ""

    def __init__(
        self, actor: Actor, table: RawTable, issues: Issues, progress: Progress | None
    ) -> None:
        self.actor = actor
        self.table = table
        self.issues = issues
        self.progress = progress or _no_progress
        self.today = clock.today()
        self.now = clock.now()

    async def run(self, dry_run: bool, outcome: Outcome) -> bool:
        """Check the file and, unless ``dry_run`` or any error, write it; True if written.

        The file's rows are parsed in a worker thread (``_parse``: None when its columns are
        wrong), checked against the database (``_plan``) and written (``_write``) in one
        transaction; ``_committed`` runs after a write has committed.
        """
        rows = await off_loop(self._parse)
        if rows is None:
            return False

        async def plan() -> Any:
            return await self._plan(rows, outcome)

        async def write(planned: Any) -> None:
            await self._write(planned, outcome)

        try:
            committed = await self.write_in_transaction(plan, write, dry_run)
        finally:
            await release(rows)
        if committed:
            self._committed(outcome)
        return committed

    def _parse(self) -> list[Any] | None:
        raise NotImplementedError

    async def _plan(self, rows: list[Any], outcome: Outcome) -> Any:
        raise NotImplementedError

    async def _write(self, planned: Any, outcome: Outcome) -> None:
        raise NotImplementedError

    def _committed(self, outcome: Outcome) -> None:
        """After a committed write (nothing by default)."""

    async def write_in_transaction(
        self,
        plan: Callable[[], Awaitable[Any]],
        write: Callable[[Any], Awaitable[None]],
        dry_run: bool,
    ) -> bool:
        """Checks against the database and the writes happen in one transaction; a dry run
        checks without one and writes nothing."""
        if dry_run:
            await plan()
            return False
        try:
            async with write_transaction():
                planned = await plan()
                if self.issues.errors:
                    raise Invalid
                await write(planned)
        except Invalid:
            return False
        return True

    async def summary_audit(self, outcome: Outcome, note: str | None = None) -> None:
        """The audit entry of the file as a whole (besides one per row written)."""
        changes = [
            {"field": key, "before": None, "after": value}
            for key, value in (
                ("rows", len(self.table.rows)),
                ("created", outcome.created),
                ("updated", outcome.updated),
                ("unchanged", outcome.unchanged),
                ("status_events", outcome.status_events),
                ("boundaries", outcome.boundaries),
                ("format", self.table.format),
            )
        ]
        scope = self.actor.scope if self.actor.is_planner else None
        await bulk.insert_rows(
            AuditEntry,
            AUDIT_COLUMNS,
            [audit_row(self.actor, "import", self.what, "file", changes, scope, note, self.now)],
        )
