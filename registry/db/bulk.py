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
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

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
    """INSERT many rows of ``columns`` into ``table``: one prepared statement run with
    ``executemany`` on SQLite, ``COPY`` (binary) on PostgreSQL."""
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
    sql = f'INSERT INTO "{table._meta.tablename}" ({names}) VALUES ({marks})'
    return await executemany(sql, rows)


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
