"""Write transactions: on SQLite IMMEDIATE and queued in-process, on PostgreSQL plain."""

from __future__ import annotations

import asyncio
import weakref
from contextlib import AbstractAsyncContextManager
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.sqlite import TransactionType

from registry.core import runtime
from registry.db.binding import current
from registry.db.engines import is_sqlite


def _write_lock(engine: Any) -> asyncio.Lock:
    """The in-process queue of an SQLite file's writers on the running event loop, kept on the
    runtime (one lock per file and loop: the server has one loop, tests run several)."""
    per_loop = runtime.current().slot("db.write_locks", weakref.WeakKeyDictionary)
    loop = asyncio.get_running_loop()
    locks = per_loop.get(loop)
    if locks is None:
        locks = per_loop[loop] = {}
    lock = locks.get(str(engine.path))
    if lock is None:
        lock = locks[str(engine.path)] = asyncio.Lock()
    return lock


class _SQLiteWriteTransaction:
    """An IMMEDIATE transaction entered one at a time (FIFO) within this process.

    SQLite has one writer at a time anyway. Without the queue, every waiting writer polls the
    file lock in SQLite's busy handler (sleeps of up to 100 ms, no order), and a writer whose
    transaction awaits the busy event loop between statements holds the lock long enough for
    the others' 30 s busy timeout to expire: under load (200 clients) syncs and edits failed
    with "database is locked" (500). Queued in asyncio, a writer takes the lock the moment the
    previous one commits. A nested write (already in a transaction) reuses the outer one.
    """

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.transaction = engine.transaction(transaction_type=TransactionType.immediate)
        self.lock: asyncio.Lock | None = None

    async def __aenter__(self) -> Any:
        if self.engine.current_transaction.get() is None:
            self.lock = _write_lock(self.engine)
            await self.lock.acquire()
        try:
            return await self.transaction.__aenter__()
        except BaseException:
            if self.lock is not None:
                self.lock.release()
            raise

    async def __aexit__(self, *exc: Any) -> bool:
        try:
            return await self.transaction.__aexit__(*exc)
        finally:
            if self.lock is not None:
                self.lock.release()


def write_transaction(engine: Engine | None = None) -> AbstractAsyncContextManager[Any]:
    """A transaction for writes: on SQLite IMMEDIATE and queued in-process (one writer at a
    time, first come first served), so writers wait their turn instead of failing."""
    engine = engine or current()
    if is_sqlite(engine):
        return _SQLiteWriteTransaction(engine)
    return engine.transaction()
