"""SQLite write transactions queue in the process (first come, first served) instead of racing
for the file lock: found by the soak, where writers slowed down by a busy event loop held the
lock past the others' busy timeout and syncs and edits failed with "database is locked"."""

from __future__ import annotations

import asyncio
from pathlib import Path

from piccolo.engine.sqlite import SQLiteEngine

from registry.db.transactions import write_transaction


async def _run_writers(path: Path, writers: int, hold_s: float) -> tuple[list[int], list[str]]:
    # A busy timeout far shorter than the time the writers hold the lock all together.
    engine = SQLiteEngine(path=str(path), timeout=0.05)
    await engine._run_in_new_connection("PRAGMA journal_mode=wal")
    await engine._run_in_new_connection("CREATE TABLE IF NOT EXISTS t (n INTEGER, step INTEGER)")
    order: list[int] = []
    errors: list[str] = []

    async def writer(n: int) -> None:
        try:
            async with write_transaction(engine):
                order.append(n)
                await engine.run_ddl(f"INSERT INTO t VALUES ({n}, 1)")
                await asyncio.sleep(hold_s)  # the event loop is busy elsewhere
                async with write_transaction(engine):  # nested: reuses the outer one
                    await engine.run_ddl(f"INSERT INTO t VALUES ({n}, 2)")
        except Exception as exc:  # every failure is the finding
            errors.append(f"{type(exc).__name__}: {exc}")

    await asyncio.gather(*(writer(n) for n in range(writers)))
    rows = await engine.run_ddl("SELECT count(*) AS n FROM t")
    assert rows[0]["n"] == 2 * writers
    return order, errors


def test_concurrent_sqlite_writers_wait_their_turn_in_order(tmp_path: Path, fresh_runtime):
    order, errors = asyncio.run(_run_writers(tmp_path / "queue.sqlite3", 20, 0.02))
    assert errors == []
    assert order == list(range(20))
