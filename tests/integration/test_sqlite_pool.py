"""The pooled SQLite engine (registry.db.engines.RegistrySQLiteEngine): bounded, fresh, never hands
out a connection in an unknown state."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from registry.db.engines import (
    SQLITE_POOL_MAX,
    RegistrySQLiteEngine,
    close_engine,
    make_engine,
    read_small,
)


async def _in_transaction(engine: RegistrySQLiteEngine, sql: str) -> None:
    transaction = engine.current_transaction.get()
    await engine._run_in_existing_connection(transaction.connection, sql)


def _engine(tmp_path: Path) -> RegistrySQLiteEngine:
    engine = make_engine(f"sqlite:///{tmp_path / 'pool.sqlite3'}")
    assert isinstance(engine, RegistrySQLiteEngine)
    return engine


def test_many_concurrent_statements_share_a_bounded_pool(tmp_path):
    engine = _engine(tmp_path)

    async def run() -> list[int]:
        await engine._run_in_new_connection("CREATE TABLE t (n INTEGER)")
        await engine._run_in_new_connection("INSERT INTO t VALUES (1), (2), (3)")
        peak = 0
        real_open = engine._open

        async def counting_open():
            nonlocal peak
            connection = await real_open()
            peak = max(peak, engine._opened)
            return connection

        engine._open = counting_open  # type: ignore[method-assign]
        rows = await asyncio.gather(
            *(engine._run_in_new_connection("SELECT SUM(n) AS s FROM t") for _ in range(200))
        )
        assert peak <= SQLITE_POOL_MAX
        assert engine._opened == len(engine._idle) <= SQLITE_POOL_MAX
        await close_engine(engine)
        assert engine._opened == 0 and not engine._idle
        return [r[0]["s"] for r in rows]

    assert asyncio.run(run()) == [6] * 200


def test_a_pooled_connection_sees_commits_made_elsewhere(tmp_path):
    engine = _engine(tmp_path)
    path = tmp_path / "pool.sqlite3"

    async def run() -> tuple[int, int]:
        await engine._run_in_new_connection("CREATE TABLE t (n INTEGER)")
        before = (await engine._run_in_new_connection("SELECT COUNT(*) AS c FROM t"))[0]["c"]
        with sqlite3.connect(path) as other:  # another process's write
            other.execute("INSERT INTO t VALUES (7)")
        after = (await engine._run_in_new_connection("SELECT COUNT(*) AS c FROM t"))[0]["c"]
        await close_engine(engine)
        return before, after

    assert asyncio.run(run()) == (0, 1)


def test_a_connection_whose_commit_failed_is_closed_not_pooled(tmp_path):
    engine = _engine(tmp_path)

    async def run() -> None:
        await engine._run_in_new_connection("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        await engine._run_in_new_connection(
            "CREATE TABLE child (pid INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
        )
        opened = engine._opened
        with pytest.raises(sqlite3.IntegrityError):
            async with engine.transaction():
                await _in_transaction(engine, "INSERT INTO child VALUES (42)")
        assert engine.current_transaction.get() is None
        assert engine._opened == opened - 1  # the connection left the pool
        assert all(c._connection is not None for c in engine._idle)
        rows = await engine._run_in_new_connection("SELECT COUNT(*) AS c FROM child")
        assert rows[0]["c"] == 0  # nothing of the failed transaction
        async with engine.transaction():  # the pool still works
            await _in_transaction(engine, "INSERT INTO parent VALUES (1)")
        await close_engine(engine)

    asyncio.run(run())


def test_a_cancelled_waiter_passes_its_turn_on(tmp_path):
    engine = _engine(tmp_path)

    async def run() -> None:
        held = [await engine.acquire() for _ in range(SQLITE_POOL_MAX)]
        first = asyncio.create_task(engine.acquire())
        second = asyncio.create_task(engine.acquire())
        await asyncio.sleep(0.01)
        assert not first.done() and not second.done()
        await engine.release(held.pop())  # wakes the first waiter …
        first.cancel()  # … which leaves before it runs
        connection = await asyncio.wait_for(second, 5)
        assert first.cancelled()
        await engine.release(connection)
        for c in held:
            await engine.release(c)
        assert engine._opened == SQLITE_POOL_MAX
        await close_engine(engine)

    asyncio.run(run())


def test_the_server_checkpoints_the_wal_in_the_background(tmp_path):
    """With run_checkpoints, no connection checkpoints on commit (the writer never waits for
    the copy) and the background task copies every committed frame into the database."""
    engine = _engine(tmp_path)

    async def run() -> None:
        await engine._run_in_new_connection("PRAGMA journal_mode=wal")
        await engine._run_in_new_connection("CREATE TABLE t (n INTEGER, pad TEXT)")
        task = asyncio.create_task(engine.run_checkpoints(0.05))
        await asyncio.sleep(0.01)
        rows = await engine._run_in_new_connection("PRAGMA wal_autocheckpoint")
        assert rows[0]["wal_autocheckpoint"] == 0
        for _ in range(5):  # > 1,000 pages: SQLite would have checkpointed on commit
            async with engine.transaction():
                await _in_transaction(
                    engine,
                    "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k"
                    " WHERE i < 2000) INSERT INTO t SELECT i, hex(randomblob(500)) FROM k",
                )
        await asyncio.sleep(0.3)
        state = await engine.checkpoint()
        assert state["log"] > 1000 and state["checkpointed"] == state["log"]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not engine.checkpoints_in_background
        rows = await engine._run_in_new_connection("SELECT COUNT(*) AS c FROM t")
        assert rows[0]["c"] == 10_000
        await close_engine(engine)

    asyncio.run(run())


class _Table:
    """What read_small needs of a Piccolo table: its engine, and ``raw`` (here recorded)."""

    def __init__(self, engine: RegistrySQLiteEngine) -> None:
        self._meta = type("Meta", (), {"db": engine})()
        self.raw_calls: list[tuple[str, tuple[object, ...]]] = []

    async def raw(self, query: str, *args: object) -> list[dict[str, object]]:
        self.raw_calls.append((query, args))
        sql = query.replace("{}", "?")
        transaction = self._meta.db.current_transaction.get()
        if transaction is not None:
            return await self._meta.db._run_in_existing_connection(
                transaction.connection, sql, list(args)
            )
        return await self._meta.db._run_in_new_connection(sql, list(args))


def test_a_short_read_runs_at_once_on_this_thread_and_sees_the_latest_commit(tmp_path):
    engine = _engine(tmp_path)
    table = _Table(engine)

    async def run() -> None:
        await engine._run_in_new_connection("PRAGMA journal_mode=wal")
        await engine._run_in_new_connection("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        await engine._run_in_new_connection("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
        acquired = 0
        real_acquire = engine.acquire

        async def counting_acquire():
            nonlocal acquired
            acquired += 1
            return await real_acquire()

        engine.acquire = counting_acquire  # type: ignore[method-assign]
        query = "SELECT id, name FROM t WHERE id = {}"
        assert await read_small(table, query, 2) == [{"id": 2, "name": "b"}]
        with sqlite3.connect(tmp_path / "pool.sqlite3") as other:  # a commit made elsewhere
            other.execute("UPDATE t SET name = 'c' WHERE id = 2")
        assert await read_small(table, query, 2) == [{"id": 2, "name": "c"}]
        assert await read_small(table, query, 3) == []
        assert acquired == 0 and table.raw_calls == []  # no pooled connection, no thread hop

        # Inside a transaction the read is the transaction's: it sees its own write.
        async with engine.transaction():
            await _in_transaction(engine, "INSERT INTO t VALUES (3, 'd')")
            assert await read_small(table, query, 3) == [{"id": 3, "name": "d"}]
        assert len(table.raw_calls) == 1
        await close_engine(engine)
        assert engine._now.connection is None  # this thread's connection closed

    asyncio.run(run())


_CLOSE_WHILE_READING = """
import asyncio, sqlite3, sys, threading
from registry.db.engines import RegistrySQLiteEngine

path = sys.argv[1]
with sqlite3.connect(path) as db:
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    db.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x" * 50) for i in range(20000)])
engine = RegistrySQLiteEngine(path=path)
reading = threading.Event()
stop = threading.Event()
opened = []
connect = sqlite3.connect
sqlite3.connect = lambda *args, **kwargs: opened.append(1) or connect(*args, **kwargs)

def reader():
    while not stop.is_set():
        assert engine.read_now("SELECT COUNT(*) AS c FROM t WHERE name LIKE ?", ["%x%"])
        reading.set()

thread = threading.Thread(target=reader)
thread.start()
reading.wait(10)

async def close_often():
    for _ in range(300):
        await engine.close_pool()
        await asyncio.sleep(0.001)

asyncio.run(close_often())
stop.set()
thread.join()
print(len(opened))
"""


def test_closing_the_pool_while_another_thread_reads_at_once_is_safe(tmp_path):
    """The server's loop reads at once on its own connection, and close_pool may be called
    from another thread. Closing a connection while a thread steps a statement on it crashed
    the interpreter (a segmentation fault: hence a process of its own). Now the reader's
    thread closes and reopens its own."""
    result = subprocess.run(
        [sys.executable, "-c", _CLOSE_WHILE_READING, str(tmp_path / "race.sqlite3")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) > 1  # the reader took a new connection after a close


def test_a_short_read_goes_through_the_pool_when_the_database_is_busy(tmp_path):
    engine = _engine(tmp_path)
    table = _Table(engine)
    path = tmp_path / "pool.sqlite3"

    async def run() -> None:
        await engine._run_in_new_connection("PRAGMA journal_mode=wal")
        await engine._run_in_new_connection("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        await close_engine(engine)  # (its idle connections would keep the holder out)
        # A connection that keeps the database to itself: readers are told it is locked.
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("INSERT INTO t VALUES (1)")
        assert engine.read_now("SELECT id FROM t WHERE id = ?", [1]) is None  # no waiting
        holder.execute("COMMIT")
        holder.close()
        assert await read_small(table, "SELECT id FROM t WHERE id = {}", 1) == [{"id": 1}]
        await close_engine(engine)

    asyncio.run(run())
