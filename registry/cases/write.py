"""Writing cases: groups of checked candidates in ONE write transaction.

Every write goes through :func:`_apply`, which works on groups of records (a sync batch; the
single-case POSTs that arrive together, grouped by the :class:`_CreateQueue`; one PATCH): the
records, already checked on their own by the pure rules (:mod:`registry.cases.records`), are
checked against the database (the matter, the point's status on the received date, the
server's copy); the valid ones are written together in ONE write transaction — a crash leaves
all of them or none — by set-based statements, with one audit entry per case. Reads of
existing rows, serial numbers and writes happen after the points' rows are locked, so two
writes of one point never interleave.

Resident data reaches this module only masked and hashed; no audit entry or log line repeats a
submitted value.
"""

from __future__ import annotations

import logging
import operator
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from registry.audit import service as audit
from registry.cases.calendar import current as current_calendar
from registry.cases.matters import matters_by_code
from registry.cases.read import case_from_row, cases_by_id
from registry.cases.records import Candidate, timeline_of
from registry.cases.rules import timeline as rules
from registry.cases.rules.timeline import to_utc
from registry.cases.rules.workdays import Calendar
from registry.cases.schemas import Case
from registry.core import clock
from registry.core.access import Actor
from registry.db import bulk, group_commit
from registry.db.binding import current
from registry.db.engines import integrity_kind, is_sqlite
from registry.db.sql import column_names, marks
from registry.db.transactions import write_transaction
from registry.sites.rules.status import DatedStatus, status_on
from registry.tables import AuditEntry, Site, StatusEvent
from registry.tables import Case as CaseRow

log = logging.getLogger("registry.cases")

# Single-case POSTs written together by one transaction at most (see _CreateQueue).
MAX_GROUP = 256
# Existing rows looked up per IN (...) list.
ID_CHUNK = 500
# Columns of a new case row, in insert order: all of the table's.
INSERTED = column_names(CaseRow)
_ID_COLUMN = INSERTED.index("id")
# A new case's row values in that order, from its values by name.
_ROW_TUPLE = operator.itemgetter(*INSERTED)
# Writes of one group tried at most this often when concurrent writers take some of its case
# ids or numbers first (each try answers the records that collided on their own).
WRITE_ATTEMPTS = 4
# Outcomes whose answer shows the case.
SHOWN = ("created", "updated", "unchanged", "conflict")
# The write path's reads as SQL text (``{}`` placeholders; the IN list's marks appended):
# Piccolo's select builder took 100-190 µs of the event loop's time per query, several per
# group of POSTs; the rows are the same (a test compares them).
_SITES_SQL = (
    "SELECT id, division AS division_code, county_code, township_code, kind, standard_name"
    " FROM site WHERE id IN"
)
_CASE_COLUMNS = ", ".join(f'"{c}"' for c in INSERTED)
_CASES_SQL = f"SELECT {_CASE_COLUMNS} FROM service_case WHERE id IN"
_CASES_ANY_SQL = f"SELECT {_CASE_COLUMNS} FROM service_case WHERE id = ANY($1::uuid[])"
_EVENTS_SQL = "SELECT site, status, effective_date, id FROM status_event WHERE site IN"

# Fields an audit entry records (resident data only masked).
AUDITED = (
    "case_number",
    "site_id",
    "matter_code",
    "resident_name_masked",
    "resident_id_masked",
    "resident_phone_masked",
    "state",
    "received_at",
    "forwarded_at",
    "completed_at",
    "returned_at",
    "delivered_at",
    "returned_reason",
    "rating",
    "note",
    "due_on",
    "forward_late",
)


@dataclass
class Group:
    """One actor's records of one point, applied together (a sync batch, or one POST)."""

    actor: Actor
    site_id: int
    candidates: list[Candidate]
    via: str | None = None
    request: str | None = None  # the request id its audit entries carry


def _case_values(
    c: Candidate, site: dict[str, Any], limit_days: int, calendar: Calendar
) -> dict[str, Any]:
    """Column values of a case from a checked candidate."""
    assert c.timeline is not None and c.resident is not None
    t = c.timeline
    derived = rules.derive(t, limit_days, calendar)
    return {
        "county_code": site["county_code"],
        "township_code": site["township_code"],
        "resident_name_masked": c.resident.name_masked,
        "resident_id_hash": c.resident.id_hash,
        "resident_id_masked": c.resident.id_masked,
        "resident_phone_masked": c.resident.phone_masked,
        "resident_data_hash": c.resident.data_hash,
        "received_at": t.received_at,
        "received_on": derived.received_on,
        "state": t.state,
        "forwarded_at": t.forwarded_at,
        "completed_at": t.completed_at,
        "returned_at": t.returned_at,
        "delivered_at": t.delivered_at,
        "returned_reason": t.returned_reason,
        "rating": t.rating,
        "note": c.note,
        "due_on": derived.due_on,
        "forward_late": derived.forward_late,
        "completion_workdays": derived.completion_workdays,
        "completed_on_time": derived.completed_on_time,
        "content_hash": c.fingerprint,
    }


def _audit_view(values: dict[str, Any], site_id: int, matter_code: str) -> dict[str, Any]:
    view = {"site_id": site_id, "matter_code": matter_code, **values}
    return {k: view.get(k) for k in AUDITED if k in view}


# The audited fields a new case's values hold (all but the first three of AUDITED).
_AUDITED_VALUES = operator.itemgetter(*AUDITED[3:])


def _created_entry(
    group: Group, c: Candidate, values: dict[str, Any], number: str, now: datetime
) -> tuple[Any, ...]:
    """The audit row of a new case of ``group``: every audited field it has a value of."""
    changes = audit.created(
        AUDITED, (number, group.site_id, c.matter_code, *_AUDITED_VALUES(values))
    )
    return _audit_entry(group, "create", c.raw_id, changes, values["county_code"], now)


def _audit_entry(
    group: Group,
    action: str,
    case_id: uuid.UUID | str | None,
    changes: list[dict[str, Any]],
    county: str,
    now: datetime,
) -> tuple[Any, ...]:
    """The audit row of one case write of ``group`` (its agent, request id and channel)."""
    return audit.row(
        group.actor, action, "case", case_id, changes, county, group.via, now, group.request or ""
    )


async def _lock_sites(site_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Inside the write transaction: lock the points' rows so their case writers queue.

    PostgreSQL: ``FOR UPDATE`` in id order (two groups of points never lock in opposite orders,
    so they cannot deadlock). SQLite: the IMMEDIATE write transaction already excludes every
    other writer. Returns the points that exist, by id.
    """
    if not site_ids:
        return {}
    ordered = sorted(set(site_ids))
    listed = marks(ordered)
    if not is_sqlite(current()):
        await Site.raw(
            f"SELECT id FROM site WHERE id IN ({listed}) ORDER BY id FOR UPDATE", *ordered
        )
    rows = await Site.raw(f"{_SITES_SQL} ({listed})", *ordered)
    return {r["id"]: r for r in rows}


async def _existing(ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The stored rows of the cases among ``ids`` (read after the points are locked)."""
    existing: dict[uuid.UUID, dict[str, Any]] = {}
    engine = current()
    transaction = engine.current_transaction.get()
    if transaction is not None and not is_sqlite(engine):
        # PostgreSQL, in the write's transaction: the ids as one array parameter (a sync
        # batch's 1,000 placeholders cost the event loop 0.7 ms in Piccolo's query text).
        rows = await transaction.connection.fetch(_CASES_ANY_SQL, ids)
        return {r["id"]: dict(r) for r in rows}
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        rows = await CaseRow.raw(f"{_CASES_SQL} ({marks(chunk)})", *chunk)
        existing.update((r["id"], r) for r in rows)
    return existing


async def _site_events(site_ids: list[int]) -> dict[int, list[DatedStatus]]:
    events: dict[int, list[DatedStatus]] = {site_id: [] for site_id in site_ids}
    if not site_ids:
        return events
    ordered = sorted(set(site_ids))
    rows = await StatusEvent.raw(f"{_EVENTS_SQL} ({marks(ordered)})", *ordered)
    for r in rows:
        events[r["site"]].append(DatedStatus(r["status"], r["effective_date"], r["id"]))
    return events


async def _next_serials(wanted: set[tuple[str, date]]) -> dict[tuple[str, date], int]:
    """The last serial used per (division, received date) (0 when none).

    Numbered per division, not per point: a closed point and the point that replaced it on the
    same division share the numbers' prefix (``{division}-{YYYYMMDD}-``), and counting each
    point on its own gave the second the first's numbers (a UNIQUE violation that failed the
    whole batch).
    """
    last = dict.fromkeys(wanted, 0)
    if not wanted:
        return last
    # For each point of the divisions and each day: its longest, then greatest, number of the
    # day — the greatest serial, as numbers share their prefix — found by one probe of the
    # index (site, received_on, length(case_number), case_number) (migration
    # 2026-12-07T09:00). The window over every case of the day it replaces read them all: a
    # point's hundredth case of a day cost a hundred rows, inside the write transaction. The
    # lists may pair a division with another's day: those rows are ignored.
    divisions = sorted({division for division, _ in wanted})
    days = sorted({day for _, day in wanted})
    day_value = "{}" if is_sqlite(current()) else "CAST({} AS DATE)"
    day_rows = " UNION ALL ".join(f"SELECT {day_value} AS day" for _ in days)
    rows = await CaseRow.raw(
        "SELECT s.division AS division, d.day AS received_on, ("
        " SELECT c.case_number FROM service_case c"
        " WHERE c.site = s.id AND c.received_on = d.day"
        " ORDER BY LENGTH(c.case_number) DESC, c.case_number DESC LIMIT 1"
        f") AS case_number FROM site s CROSS JOIN ({day_rows}) d"
        f" WHERE s.division IN ({marks(divisions)})",
        *days,
        *divisions,
    )
    for row in rows:
        if row["case_number"] is None:
            continue
        day = row["received_on"]
        if isinstance(day, str):  # SQLite keeps dates as ISO text
            day = date.fromisoformat(day[:10])
        key = (row["division"], day)
        if key in last:
            last[key] = max(last[key], rules.serial_of(row["case_number"]))
    return last


def version_conflict(c: Candidate, row: dict[str, Any]) -> bool:
    """Whether the record is based on another version than the stored case's: then it is a
    conflict (with the server copy) before anything else — a stale record is judged against
    the version it was made from, not on fields the server's newer steps made inconsistent."""
    if c.version is not None and c.version == row["version"]:
        return False
    c.result = "conflict"
    code = (
        "version_required"
        if c.version is None
        else "stale_version"
        if c.version < row["version"]
        else "version_mismatch"
    )
    c.errors.clear()
    c.fail_code(
        code,
        f"服务器上的版本为 {row['version']}，本记录基于版本 {c.version}：请以服务器副本为准后重试",
        f"the server has version {row['version']}, the record is based on "
        f"{c.version}: reconcile with the server copy and retry",
        "version",
    )
    return True


def _check_update(
    c: Candidate,
    row: dict[str, Any],
    site: dict[str, Any],
    matters: dict[str, dict[str, Any]],
    calendar: Calendar,
    *,
    allow_update: bool,
) -> dict[str, Any] | None:
    """The new column values of a stored case the candidate changes, or None (the candidate
    is unchanged, a conflict or invalid: ``result`` and ``errors`` say which)."""
    assert c.timeline is not None
    c.row = row
    if row["content_hash"] == c.fingerprint:
        c.result = "unchanged"
        return None
    if not allow_update:
        c.result = "conflict"
        c.fail_code(
            "case_exists",
            "该编号的事项已存在且内容不同：请用 PATCH 并带上版本号修改",
            "a case with this id exists with other content: PATCH it with its version",
            "id",
        )
        return None
    if version_conflict(c, row):
        return None
    before = {
        "site_id": row["site"],
        "matter_code": row["matter"],
        "received_at": to_utc(row["received_at"]),
    }
    after = {
        "site_id": c.site_id,
        "matter_code": c.matter_code,
        "received_at": c.timeline.received_at,
    }
    c.fail(*rules.immutable_problems(before, after))
    c.fail(*rules.transition_problems(timeline_of(row), c.timeline))
    if c.errors:
        return None
    matter = matters.get(row["matter"])
    limit = matter["time_limit_days"] if matter else 0
    # The due date stays the one fixed at receipt, whatever the catalogue says now.
    values = _case_values(c, site, limit, calendar)
    values["due_on"] = row["due_on"]
    if c.timeline.completed_at is not None:
        completed_on = clock.china_date(c.timeline.completed_at)
        values["completed_on_time"] = completed_on <= row["due_on"]
    return values


def _check_create(
    c: Candidate,
    site: dict[str, Any],
    matters: dict[str, dict[str, Any]],
    events: list[DatedStatus],
    calendar: Calendar,
) -> dict[str, Any] | None:
    """The column values of a new case, or None when the matter or the point refuses it."""
    assert c.timeline is not None
    matter = matters.get(c.matter_code)
    if matter is None:
        c.fail_code(
            "unknown_matter",
            "事项不在代办事项目录中",
            "the matter is not in the catalogue",
            "matter_code",
        )
        return None
    if not matter["active"]:
        c.fail_code(
            "matter_inactive",
            "该事项已停用，不能受理新事项",
            "the matter is no longer offered; new cases cannot use it",
            "matter_code",
        )
        return None
    received_on = clock.china_date(c.timeline.received_at)
    c.fail(*rules.in_service_problems(status_on(events, received_on)))
    if c.errors:
        return None
    return _case_values(c, site, matter["time_limit_days"], calendar)


async def _apply(groups: list[Group], *, allow_update: bool) -> None:
    """Check candidates against the database and write the valid ones in ONE transaction.

    ``groups`` may hold several points' records (the single-case POSTs of many agents, grouped
    by :class:`_CreateQueue`): every statement is set-based over all of them. Sets ``result``
    on every candidate: created, updated, unchanged, conflict or invalid.

    Each record is answered on its own on both engines, even when another transaction writes
    one of its cases at the same time (PostgreSQL: two points' agents syncing one case id;
    the points' locks do not order them): the writes run under a savepoint, and when a UNIQUE
    constraint refuses one, they are rolled back to it, the cases are read again and every
    record is checked again — the colliding one now meets the other's copy (another point's
    case: ``out_of_scope``; the same content: ``unchanged``) — and the rest are written.
    """
    now = clock.now()
    async with write_transaction():
        sites = await _lock_sites([g.site_id for g in groups])
        pending: list[tuple[Group, Candidate]] = []
        for g in groups:
            for c in g.candidates:
                if c.errors:
                    continue
                if g.site_id not in sites:
                    c.fail_code(
                        "site_not_found",
                        f"代办点 {g.site_id} 不存在",
                        f"agency point {g.site_id} does not exist",
                        "site_id",
                    )
                    continue
                pending.append((g, c))
        ids = [c.id for _, c in pending if c.id is not None]
        existing = await _existing(ids)
        matters = await matters_by_code(
            {c.matter_code for _, c in pending} | {row["matter"] for row in existing.values()}
        )
        events = await _site_events(sorted({g.site_id for g, _ in pending}))
        calendar = await current_calendar()
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            creates, updates = _classify(
                pending, sites, existing, matters, events, calendar, allow_update
            )
            savepoint = await _savepoint()
            try:
                await _write(creates, updates, sites, now)
            except Exception as exc:
                if integrity_kind(exc) != "unique" or attempt == WRITE_ATTEMPTS:
                    raise
                await savepoint.rollback_to()
                log.info("case write met a concurrent write (attempt %d): checking again", attempt)
                for _, c in pending:
                    c.reset()
                existing = await _existing(ids)
                wanted = {row["matter"] for row in existing.values()} - matters.keys()
                matters.update(await matters_by_code(wanted) if wanted else {})
                continue
            await savepoint.release()
            break
    today = clock.today()
    for g in groups:
        for c in g.candidates:
            if c.errors and c.result != "conflict":
                c.result = "invalid"
            elif c.row is not None:
                # The answer's case from the row as found or written (no read back).
                matter = matters.get(c.row["matter"])
                c.case = case_from_row(
                    c.row,
                    sites[g.site_id]["standard_name"],
                    matter["name"] if matter else "",
                    today,
                    calendar,
                    written=c.result == "created",
                )


async def _savepoint() -> Any:
    """A savepoint in the current transaction (both engines)."""
    transaction = current().current_transaction.get()
    assert transaction is not None, "inside write_transaction()"
    return await transaction.savepoint()


Create = tuple[Group, Candidate, dict[str, Any]]
Update = tuple[Group, Candidate, dict[str, Any], dict[str, Any]]


def _classify(
    pending: list[tuple[Group, Candidate]],
    sites: dict[int, dict[str, Any]],
    existing: dict[uuid.UUID, dict[str, Any]],
    matters: dict[str, dict[str, Any]],
    events: dict[int, list[DatedStatus]],
    calendar: Calendar,
    allow_update: bool,
) -> tuple[list[Create], list[Update]]:
    """Each pending record against the stored cases: a new case, an update, or an answer of
    its own (unchanged, conflict, invalid: ``result`` and ``errors`` say which)."""
    creates: list[Create] = []
    updates: list[Update] = []
    for g, c in pending:
        assert c.id is not None
        site = sites[g.site_id]
        row = existing.get(c.id)
        if row is not None and row["site"] != g.site_id:
            c.fail_code(
                "out_of_scope",
                "该事项属于其他代办点",
                "this case belongs to another agency point",
                "id",
            )
        elif row is not None:
            values = _check_update(c, row, site, matters, calendar, allow_update=allow_update)
            if values is not None:
                updates.append((g, c, row, values))
        else:
            values = _check_create(c, site, matters, events[g.site_id], calendar)
            if values is not None:
                creates.append((g, c, values))
    return creates, updates


async def _write(
    creates: list[Create],
    updates: list[Update],
    sites: dict[int, dict[str, Any]],
    now: datetime,
) -> None:
    """Insert the new cases (numbered), update the changed ones, append their audit entries."""
    serials = await _next_serials(
        {(sites[g.site_id]["division_code"], v["received_on"]) for g, _, v in creates}
    )
    entries: list[tuple[Any, ...]] = []
    new_rows: list[tuple[Any, ...]] = []
    for g, c, values in creates:
        key = (sites[g.site_id]["division_code"], values["received_on"])
        serials[key] += 1
        number = rules.case_number(key[0], key[1], serials[key])
        row_values = {
            "id": c.id,
            "site": g.site_id,
            "matter": c.matter_code,
            "case_number": number,
            "version": 1,
            "is_demo": False,
            "created_by": g.actor.username,
            "created_at": now,
            "updated_at": now,
            **values,
        }
        new_rows.append(_ROW_TUPLE(row_values))
        c.result, c.row = "created", row_values
        entries.append(_created_entry(g, c, values, number, now))
    changes: list[tuple[uuid.UUID | None, dict[Any, Any]]] = []
    for g, c, row, values in updates:
        changed = {k: v for k, v in values.items() if row.get(k) != v}
        columns = {getattr(CaseRow, k): v for k, v in changed.items()}
        columns[CaseRow.version] = row["version"] + 1
        columns[CaseRow.updated_at] = now
        changes.append((c.id, columns))
        c.result = "updated"
        c.row = {**row, **changed, "version": row["version"] + 1, "updated_at": now}
        before_view = _audit_view(row, row["site"], row["matter"])
        after_view = _audit_view({**row, **values}, row["site"], row["matter"])
        # A change of state is filed as a state change (the audit's 状态变更), as the points'
        # status events are; other edits as updates.
        action = "status" if values["state"] != row["state"] else "update"
        entries.append(
            _audit_entry(
                g, action, c.id, audit.diff(before_view, after_view), row["county_code"], now
            )
        )
    # The audit entries first: the case statements' triggers take the county's counter row
    # (county_case_activity), which a batch of another point of the county waits for until
    # this transaction ends; written after them, the audit's insert made that wait longer.
    await _write_audit(entries)
    # One statement for all the new cases (executemany on SQLite, COPY on PostgreSQL), in id
    # order: two transactions inserting some of the same ids wait for each other in one order
    # (the second meets a UNIQUE violation, never a deadlock). By the ids' integers: the
    # order of the UUIDs (and of the database's uuid type), compared without UUID.__lt__.
    new_rows.sort(key=lambda r: r[_ID_COLUMN].int)
    await bulk.insert_rows(CaseRow, INSERTED, new_rows)
    for case_id, columns in changes:
        await CaseRow.update(columns).where(CaseRow.id == case_id)


async def _write_audit(entries: list[tuple[Any, ...]]) -> None:
    """Append the batch's audit entries (same transaction as the cases), one statement."""
    await bulk.insert_rows(AuditEntry, audit.COLUMNS, entries)


# ------------------------------------------------------------------------------ group commit


async def _write_creates(groups: list[Group]) -> list[Case | Exception | None]:
    """Apply single-case POSTs (one candidate per group) together; answer each with its case
    as stored (created, the same record again, or the conflicting copy) or None."""
    for g in groups:
        # A group retried alone starts again from the pure checks' outcome.
        g.candidates[0].reset()
    await _apply(groups, allow_update=False)
    candidates = [g.candidates[0] for g in groups]
    try:
        cases = await shown_cases(candidates, ("created", "unchanged", "conflict"))
    except Exception as exc:
        # Written, but not read back: every POST of the group fails (its retry is idempotent).
        return [exc] * len(groups)
    return [cases.get(c.id) if c.id is not None else None for c in candidates]


async def shown_cases(
    candidates: list[Candidate], results: tuple[str, ...] = SHOWN
) -> dict[uuid.UUID, Case]:
    """The cases the answers to ``candidates`` show (those with one of ``results``), by id:
    as the write phase found or wrote them, the others (a conflict found before it) read."""
    shown = {c.id: c.case for c in candidates if c.result in results and c.case is not None}
    missing = [
        c.id for c in candidates if c.result in results and c.id is not None and c.id not in shown
    ]
    shown.update(await cases_by_id(missing))
    return shown


class _CreateQueue(group_commit.GroupCommit[Group, Case | None]):
    """Group commit of single-case POSTs (see :mod:`registry.db.group_commit`): the POSTs that
    arrive while a write is running are applied together, in one transaction, by set-based
    statements (see :func:`_apply`).

    One agent's POST waits for at most the write before it and its own group: with nothing
    else running it is written at once. A group holds each case id once (a retried POST whose
    first copy is in the same group goes to the next one and is then ``unchanged``). When a
    group's transaction fails unexpectedly, its records are retried one by one, so one bad
    record never fails another agent's.
    """

    def __init__(self) -> None:
        super().__init__(
            _write_creates,
            key=lambda g: g.candidates[0].id,
            limit=MAX_GROUP,
            name="case write",
        )


async def submit_create(group: Group) -> Case | None:
    """Write a single POST's group through the running event loop's create queue; its
    candidate's ``result`` and ``errors`` tell the outcome, the case is the stored one."""
    return await group_commit.queue("cases.create_queues", _CreateQueue).submit(group)
