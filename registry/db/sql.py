"""Small SQL helpers shared by the capabilities: chunked ``IN`` look-ups and the column lists of
the tables (so a bulk statement's columns come from the table definitions, never a hand-written
copy)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from piccolo.table import Table

# Values per IN (...) list: far below SQLite's and PostgreSQL's parameter limits.
IN_CHUNK = 2000


async def select_in(column: Any, values: Iterable[Any], *columns: Any) -> list[dict[str, Any]]:
    """Rows of ``column``'s table whose ``column`` is one of ``values`` (any number of them:
    looked up ``IN_CHUNK`` at a time), with ``columns`` (all when none are named; columns of
    that table itself).

    SQL text, not the select builder: the builder checked and converted each value of the
    ``IN`` list in Python on the event loop (a file's 100,000 codes kept it busy for 1.5 s, in
    slices of 30-60 ms that /healthz waited behind); the rows are the same.
    """
    values = list(values)
    table = column._meta.table
    if any(c._meta.table is not table for c in columns):
        raise ValueError(f"select_in reads columns of {table._meta.tablename} only")
    listed = ", ".join(
        f'"{c._meta.db_column_name}"' + (f' AS "{c._alias}"' if getattr(c, "_alias", None) else "")
        for c in (columns or table._meta.columns)
    )
    head = (
        f'SELECT {listed} FROM "{table._meta.tablename}" WHERE "{column._meta.db_column_name}" IN'
    )
    out: list[dict[str, Any]] = []
    for start in range(0, len(values), IN_CHUNK):
        part = values[start : start + IN_CHUNK]
        out.extend(await table.raw(f"{head} ({marks(part)})", *part))
    return out


def marks(values: Sequence[Any]) -> str:
    """The ``{}`` placeholders of an ``IN (...)`` list of ``values`` in SQL text for
    ``Table.raw``."""
    return ", ".join("{}" for _ in values)


def column_names(table: type[Table], exclude: Sequence[str] = ()) -> tuple[str, ...]:
    """The table's column names in definition order, without ``exclude`` (e.g. a serial id
    the database assigns)."""
    skip = set(exclude)
    unknown = skip - {c._meta.db_column_name for c in table._meta.columns}
    if unknown:
        raise ValueError(f"{table._meta.tablename} has no column {sorted(unknown)}")
    return tuple(
        c._meta.db_column_name for c in table._meta.columns if c._meta.db_column_name not in skip
    )
