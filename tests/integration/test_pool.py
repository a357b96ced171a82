"""The PostgreSQL pool: a connection given back is clean, without asyncpg's reset round trip.

asyncpg's default reset (``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``)
ran after every statement outside a transaction; the registry changes no session state, so its
pool skips it (:func:`registry.db.engines.keep_session`) and keeps only asyncpg's own rollback
of a transaction left open."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from registry.db.engines import close_engine, make_engine, open_engine
from tests.conftest import PG_ADMIN_URL, pg_available

pytestmark = pytest.mark.skipif(not pg_available(), reason="PostgreSQL not reachable")


def _with_pool(check: Any) -> Any:
    async def run() -> Any:
        engine = make_engine(PG_ADMIN_URL)
        await open_engine(engine, pool_size=1)  # one connection: every acquire gets it
        try:
            return await check(engine)
        finally:
            await close_engine(engine)

    return asyncio.run(run())


def test_a_statement_outside_a_transaction_is_the_only_one_the_database_sees():
    async def check(engine: Any) -> list[str]:
        seen: list[str] = []
        async with engine.pool.acquire() as connection:
            connection.add_query_logger(lambda record: seen.append(record.query))
        await engine._run_in_pool("SELECT 1 AS one")
        await engine._run_in_pool("SELECT 2 AS two")
        return seen

    assert _with_pool(check) == ["SELECT 1 AS one", "SELECT 2 AS two"]


def test_a_transaction_left_open_is_rolled_back_when_its_connection_is_given_back(caplog):
    async def check(engine: Any) -> tuple[bool, list[Any]]:
        connection = await engine.pool.acquire()
        await connection.execute("BEGIN")
        await connection.execute("CREATE TEMP TABLE left_open (x int)")
        await engine.pool.release(connection)
        async with engine.pool.acquire() as again:
            in_transaction = again.is_in_transaction()
            found = await again.fetch("SELECT to_regclass('pg_temp.left_open') AS t")
        return in_transaction, [r["t"] for r in found]

    in_transaction, found = _with_pool(check)
    assert in_transaction is False
    assert found == [None]  # the table of the abandoned transaction is gone with it
