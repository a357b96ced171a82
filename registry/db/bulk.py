"""Bulk statements below Piccolo, on the connection of the current transaction.

Piccolo builds one query string per row (tens of microseconds each): for imports and the
scale generator that is the bottleneck. These helpers run one prepared statement with
``executemany`` on the very connection of the enclosing ``write_transaction()`` (aiosqlite or
asyncpg), so they commit or roll back with everything else. Values are plain Python values:
on SQLite Piccolo's registered adapters turn dates, datetimes and UUIDs into its text forms;
JSON columns take ``json.dumps`` text on both engines.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from piccolo.table import Table

from registry.db.binding import current
from registry.db.engines import is_sqlite

CHUNK_ROWS = 5000
# Page cache of a bulk-writing SQLite connection (KiB, negative = size): inserts into random-key
# indexes (UUIDs, hashes) thrash SQLite's default 2 MB cache once a table has millions of rows.
SQLITE_BULK_CACHE_KIB = 256 * 1024


def _connection() -> Any:
    engine = current()
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("bulk statements run inside write_transaction()")
    return engine, transaction.connection


def _placeholders(sql: str, sqlite: bool) -> str:
    """``?`` placeholders on SQLite, ``$1, $2 …`` on PostgreSQL."""
    if sqlite:
        return sql
    counter = itertools.count(1)
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


async def executemany(sql: str, rows: Sequence[Sequence[Any]]) -> int:
    """Run one statement (``?`` placeholders) for every row, in the current transaction."""
    if not rows:
        return 0
    engine, connection = _connection()
    sqlite = is_sqlite(engine)
    statement = _placeholders(sql, sqlite)
    if sqlite and len(rows) > CHUNK_ROWS:
        await connection.execute(f"PRAGMA cache_size = -{SQLITE_BULK_CACHE_KIB}")
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start : start + CHUNK_ROWS]
        await connection.executemany(statement, chunk)
    return len(rows)


async def insert_rows(
    table: type[Table], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> int:
    """INSERT many rows of ``columns`` into ``table``: ``COPY`` (binary) on PostgreSQL; on SQLite
    up to :data:`CHUNK_ROWS` rows as one statement over them as one JSON parameter (see
    :func:`_as_json`), more with ``executemany``."""
    if not rows:
        return 0
    engine, connection = _connection()
    if not is_sqlite(engine):
        for start in range(0, len(rows), CHUNK_ROWS * 10):
            await connection.copy_records_to_table(
                table._meta.tablename,
                records=rows[start : start + CHUNK_ROWS * 10],
                columns=list(columns),
            )
        return len(rows)
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    plain = f'INSERT INTO "{table._meta.tablename}" ({names}) VALUES ({marks})'
    picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(columns)))
    from_json = f'INSERT INTO "{table._meta.tablename}" ({names}) SELECT {picks} FROM json_each(?)'
    # A write of the server's size (a sync batch, a group of POSTs) as one JSON parameter; a
    # large load (an import, the scale generator), where nothing competes for the GIL, row by
    # row: there executemany was faster (2 M cases: 115-121 s against 149 s).
    text = _as_json(rows) if len(rows) <= CHUNK_ROWS else None
    if text is not None:
        await (await connection.execute(from_json, [text])).close()
        return len(rows)
    return await executemany(plain, rows)


def _as_json(rows: Sequence[Sequence[Any]]) -> str | None:
    """The rows as one JSON array of arrays, each value as SQLite's driver would bind it (after
    Piccolo's adapters); None when a value would not come out of SQLite's JSON exactly: bytes,
    a float (SQLite 3.40 reads a JSON number to 15 significant digits: 81.33058313496888 came
    back as 81.3305831349689), an integer beyond 64 bits, text with a NUL character (it came
    back cut there), a type without an adapter.

    Why (:func:`insert_rows` on SQLite): ``executemany`` steps its statement once per row, and
    each step lets go of the GIL and takes it back — in the server, behind the event loop and
    the other connections' threads. One ``INSERT … SELECT … FROM json_each(?)`` is one step for
    the whole chunk; ``json_extract`` gives TEXT, INTEGER (``true`` as 1) or NULL, as binding
    the same values would (a test compares both, types included). City scale,
    batches of 1,000 new cases: the sync 1,800–2,100 → 2,600–3,000 records/s.
    """
    adapters = sqlite3.adapters
    out = []
    for row in rows:
        values = []
        for value in row:
            adapter = adapters.get((type(value), sqlite3.PrepareProtocol))
            if adapter is not None:
                value = adapter(value)
            kind = type(value)
            if kind is int and not -(2**63) <= value < 2**63:
                return None
            if kind is str and "\x00" in value:  # SQLite's JSON ends the text there
                return None
            if value is not None and kind not in _JSON_EXACT:
                return None
            values.append(value)
        out.append(values)
    try:
        return msgspec.json.encode(out).decode()
    except (msgspec.EncodeError, UnicodeEncodeError):  # e.g. a lone surrogate: bound as before
        return None


# What JSON carries exactly, as SQLite's driver binds it.
_JSON_EXACT = frozenset({bool, int, str})


async def update_rows(
    table: type[Table], columns: Sequence[str], key: str, rows: Sequence[Sequence[Any]]
) -> int:
    """UPDATE ``columns`` of many rows identified by ``key``: each row is (*values, key)."""
    sets = ", ".join(f'"{c}" = ?' for c in columns)
    sql = f'UPDATE "{table._meta.tablename}" SET {sets} WHERE "{key}" = ?'
    return await executemany(sql, rows)


async def insert_returning_ids(
    table: type[Table], columns: Sequence[str], rows: Sequence[Sequence[Any]], chunk: int = 400
) -> list[int]:
    """INSERT rows and return their serial ``id`` values in order (multi-row VALUES with
    RETURNING, supported by PostgreSQL and SQLite ≥ 3.35)."""
    engine, connection = _connection()
    sqlite = is_sqlite(engine)
    names = ", ".join(f'"{c}"' for c in columns)
    group = "(" + ", ".join("?" for _ in columns) + ")"
    # PostgreSQL caps a statement at 32,767 parameters.
    chunk = max(1, min(chunk, 32_000 // max(1, len(columns))))
    ids: list[int] = []
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        sql = (
            f'INSERT INTO "{table._meta.tablename}" ({names}) VALUES '
            + ", ".join(group for _ in part)
            + ' RETURNING "id"'
        )
        args = [value for row in part for value in row]
        if sqlite:
            async with connection.execute(sql, args) as cursor:
                found = await cursor.fetchall()
            ids.extend(r["id"] if isinstance(r, dict) else r[0] for r in found)
        else:
            found = await connection.fetch(_placeholders(sql, False), *args)
            ids.extend(r["id"] for r in found)
    # Serial values grow in insertion order within one statement (and SQLite's RETURNING
    # order is unspecified): sorting restores the order of ``rows``.
    return sorted(ids)


@asynccontextmanager
async def deferred_indexes(table: type[Table]) -> AsyncIterator[int]:
    """Drop the secondary indexes of ``table`` for a large load and rebuild them afterwards
    (one sort per index instead of millions of random B-tree inserts). Indexes that back a
    primary key or UNIQUE constraint stay. Runs inside the caller's transaction: if the load
    fails, the drop rolls back with it (DDL is transactional on both engines)."""
    engine, connection = _connection()
    name = table._meta.tablename
    if is_sqlite(engine):
        async with connection.execute(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            [name],
        ) as cursor:
            found = await cursor.fetchall()
        indexes = [(r["name"], r["sql"]) if isinstance(r, dict) else (r[0], r[1]) for r in found]
    else:
        found = await connection.fetch(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.tablename = $1 AND i.schemaname = current_schema() "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            name,
        )
        indexes = [(r["indexname"], r["indexdef"]) for r in found]
    for index, _ in indexes:
        await connection.execute(f'DROP INDEX "{index}"')
    yield len(indexes)
    for _, ddl in indexes:
        await connection.execute(ddl)


async def insert_many(table: Any, rows: list[Any], chunk_size: int = 500) -> None:
    """Insert table instances in chunks (PostgreSQL caps a statement at 32,767 parameters)."""
    for start in range(0, len(rows), chunk_size):
        await table.insert(*rows[start : start + chunk_size])
