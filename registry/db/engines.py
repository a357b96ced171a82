"""Database engines: choice by URL, the pooled SQLite engine, pools, integrity errors.

SQLite: WAL journal, a 30 s busy timeout and IMMEDIATE write transactions, or concurrent
writers fail with "database is locked". PostgreSQL: one connection pool per process.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import sqlite3
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

from registry.core.settings import private_dir, private_file

# Piccolo's tooling finds the engine through this module path.
os.environ.setdefault("PICCOLO_CONF", "registry.piccolo_conf")

log = logging.getLogger("registry.db.engines")

SQLITE_PREFIX = "sqlite:///"
PG_PREFIXES = ("postgresql://", "postgres://")
SQLITE_BUSY_TIMEOUT_S = 30
# SQLite connections open at most per engine (each is a file handle and a worker thread);
# more concurrent statements wait for one (a statement holds it for one thread hop).
SQLITE_POOL_MAX = 16
PG_POOL_MAX = 20


class DatabaseUrlError(ValueError):
    """REGISTRY_DATABASE_URL is neither sqlite:/// nor postgresql://."""


def sqlite_path(url: str) -> Path:
    """The file path of a ``sqlite:///path`` URL (relative paths resolve against the CWD)."""
    return Path(url[len(SQLITE_PREFIX) :])


def _statement(raw: sqlite3.Connection, query: str, args: list[Any]) -> list[Any]:
    """One statement, run to completion on the connection's own thread."""
    cursor = raw.execute(query, args)
    try:
        return cursor.fetchall()
    finally:
        cursor.close()


def _prepare(raw: sqlite3.Connection, checkpoints_in_background: bool) -> None:
    raw.row_factory = dict_factory
    raw.execute("PRAGMA foreign_keys = 1")
    if checkpoints_in_background:
        raw.execute("PRAGMA wal_autocheckpoint = 0")


def _stop_all(idle: list[aiosqlite.Connection]) -> None:
    """Finalizer of a discarded engine: stop its idle connections' threads. (The connections
    of :meth:`RegistrySQLiteEngine.read_now` go with their thread-local store.)"""
    while idle:
        idle.pop().stop()


class _PooledTransaction(SQLiteTransaction):
    """Piccolo's SQLite transaction on a pooled connection, given back after COMMIT/ROLLBACK.

    A connection whose COMMIT or ROLLBACK failed is in an unknown state: it is closed, never
    pooled. (Piccolo's own ``__aexit__`` also leaves the context set when COMMIT fails.)
    """

    engine: RegistrySQLiteEngine

    async def get_connection(self) -> aiosqlite.Connection:
        return await self.engine.acquire()

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        except BaseException:
            self.engine.current_transaction.reset(self.context)
            await self.engine.discard(self.connection)
            raise
        self.engine.current_transaction.reset(self.context)
        await self.engine.release(self.connection)
        return exception is None


class RegistrySQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine with pooled connections and one thread hop per statement.

    Piccolo opens a new aiosqlite connection (a new thread and file handle) for every statement
    outside a transaction and for every transaction, and runs ``PRAGMA foreign_keys`` before
    every statement inside one; each statement then costs four hops between the event loop and
    the connection's thread (execute, fetch, close cursor, pragma). Under load each hop waits
    behind the whole event loop, so a write transaction held SQLite's lock for ~7 ms per case
    (profiled with py-spy and cProfile: thread hops and thread starts, not SQL). Here
    connections are opened once (foreign keys on, dict rows) and pooled, and a statement runs
    execute + fetch + close in one call on the connection's thread.

    Outside a transaction a pooled connection is in autocommit mode (``isolation_level=None``,
    Piccolo's default), so every statement sees the latest commit, as a fresh connection would.
    (Uses aiosqlite's ``_execute``/``_conn``/``_thread``; aiosqlite is pinned in pyproject.)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._idle: list[aiosqlite.Connection] = []
        self._opened = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self.checkpoints_in_background = False
        # read_now's connections, one per thread that asked (the server: its event loop's),
        # each used and closed only by its own thread; close_pool retires them by generation.
        self._now = threading.local()
        self._now_generation = 0
        weakref.finalize(self, _stop_all, self._idle)

    async def _open(self) -> aiosqlite.Connection:
        connection = aiosqlite.connect(**self.connection_kwargs)
        # An idle pooled connection's thread must not keep the interpreter alive at exit.
        connection._thread.daemon = True
        await connection
        await connection._execute(_prepare, connection._conn, self.checkpoints_in_background)
        return connection

    async def acquire(self) -> aiosqlite.Connection:
        """An idle pooled connection, a new one below :data:`SQLITE_POOL_MAX`, or the next
        one given back."""
        while True:
            if self._idle:
                connection = self._idle.pop()
                if connection._connection is not None:
                    return connection
                self._opened -= 1
                continue
            if self._opened < SQLITE_POOL_MAX:
                self._opened += 1
                try:
                    return await self._open()
                except BaseException:
                    self._opened -= 1
                    self._wake()
                    raise
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # woken but leaving: pass the turn on
                elif waiter in self._waiters:
                    self._waiters.remove(waiter)
                raise

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def release(self, connection: aiosqlite.Connection) -> None:
        """Give a connection back (one closed meanwhile frees its place)."""
        if connection._connection is None:
            self._opened -= 1
        else:
            self._idle.append(connection)
        self._wake()

    async def discard(self, connection: aiosqlite.Connection) -> None:
        """Close a connection in an unknown state instead of giving it back."""
        try:
            await connection.close()
        finally:
            self._opened -= 1
            self._wake()

    async def close_pool(self) -> None:
        """Close the idle connections (those in use are closed by their holders' exit) and
        :meth:`read_now`'s."""
        while self._idle:
            self._opened -= 1
            await self._idle.pop().close()
        self._now_generation += 1
        self._close_now()

    def _close_now(self) -> None:
        """Close this thread's :meth:`read_now` connection, if it has one."""
        connection = getattr(self._now, "connection", None)
        self._now.connection = None
        if connection is not None:
            connection.close()

    def read_now(self, query: str, args: Sequence[Any]) -> list[dict[str, Any]] | None:
        """The rows of a short read (``?`` placeholders), run at once on the calling thread — in
        the server, the event loop's — on a connection of its own (autocommit: it sees the
        latest commit, as a pooled one does). None when the database is busy, without waiting:
        the caller reads through the pool instead.

        For lookups of a row by its key in a small table, such as every signed-in request's
        account, and for nothing that could scan: the whole server waits for it. Through the
        pool such a read costs two thread hops, and each hop waits for the GIL while other
        connections' threads hold it: at 600 single-case POSTs a second, reading the
        account here instead gave 10-15 % more (measured on SQLite, city scale).
        """
        # Another thread never closes this connection: closing one while a thread steps a
        # statement on it crashes the interpreter (a segmentation fault, reproduced). After
        # close_pool its thread closes it here, at its next read.
        now = self._now
        connection = getattr(now, "connection", None)
        if connection is not None and now.generation != self._now_generation:
            self._close_now()
            connection = None
        if connection is None:
            # check_same_thread (the default): a use from another thread is refused, not run.
            connection = sqlite3.connect(**{**self.connection_kwargs, "timeout": 0})
            _prepare(connection, checkpoints_in_background=False)  # it never writes
            now.connection, now.generation = connection, self._now_generation
        try:
            return _statement(connection, query, list(args))
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return None
            raise

    async def checkpoint(self) -> dict[str, int]:
        """One PASSIVE WAL checkpoint (never blocks readers or the writer): ``busy``, ``log``
        (frames in the WAL), ``checkpointed``."""
        connection = await self.acquire()
        try:
            rows = await connection._execute(
                _statement, connection._conn, "PRAGMA wal_checkpoint(PASSIVE)", []
            )
        finally:
            await self.release(connection)
        row = rows[0]
        return {"busy": row["busy"], "log": row["log"], "checkpointed": row["checkpointed"]}

    async def run_checkpoints(self, interval_s: float) -> None:
        """The server's WAL checkpoints, every ``interval_s``, in the background.

        By default SQLite checkpoints inside the COMMIT that grows the WAL past 1,000 pages:
        that writer (and every case write queued behind it) waited for the copy — at province
        scale the p99 of single-case POSTs was ~220 ms instead of ~100. Here the server's
        connections do not checkpoint on commit; this task does, concurrently with the writer.
        Runs until cancelled (at shutdown; closing the last connection checkpoints too).
        """
        self.checkpoints_in_background = True
        await self.close_pool()  # connections opened from now on leave checkpoints to us
        try:
            while True:
                await asyncio.sleep(interval_s)
                try:
                    await self.checkpoint()
                except Exception:
                    log.exception("WAL checkpoint failed; retrying in %s s", interval_s)
        finally:
            self.checkpoints_in_background = False

    async def get_connection(self) -> aiosqlite.Connection:
        # Piccolo's batches: a prepared connection of their own, which they close.
        return await self._open()

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return _PooledTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        if query_type == "insert" and self.get_version_sync() < 3.35:  # no RETURNING
            return await super()._run_in_new_connection(query, args, query_type, table)
        connection = await self.acquire()
        try:
            return await connection._execute(_statement, connection._conn, query, args or [])
        finally:
            await self.release(connection)

    async def _run_in_existing_connection(
        self,
        connection: Any,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        if query_type == "insert" and self.get_version_sync() < 3.35:  # no RETURNING
            return await super()._run_in_existing_connection(
                connection, query, args, query_type, table
            )
        return await connection._execute(_statement, connection._conn, query, args or [])


SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_sqlite_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (0600), or tighten an existing one and
    its WAL, shared-memory and journal files.

    SQLite creates its ``-wal``, ``-shm`` and ``-journal`` files with the mode of the database
    file, so creating that one 0600 before SQLite opens it covers them all; the default umask
    made them 0644 (every local user could read password hashes, keyed resident hashes and the
    audit trail). A folder made for the file is 0700."""
    if str(path) == ":memory:" or str(path).startswith("file:"):
        return
    if not path.parent.exists():
        private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError:  # read-only or not ours: SQLite reports what it cannot open
        return
    for file in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_SIDE_FILES)):
        private_file(file)


def make_engine(url: str) -> Engine:
    """Create the Piccolo engine for a database URL (a SQLite file: mode 0600)."""
    if url.startswith(SQLITE_PREFIX):
        path = sqlite_path(url)
        private_sqlite_file(path)
        return RegistrySQLiteEngine(path=str(path), timeout=SQLITE_BUSY_TIMEOUT_S)
    if url.startswith(PG_PREFIXES):
        return PostgresEngine(config={"dsn": url})
    raise DatabaseUrlError(
        f"数据库地址无效 / unsupported REGISTRY_DATABASE_URL {url!r}: "
        "use sqlite:///path or postgresql://user@host:port/db"
    )


def is_sqlite(engine: Engine) -> bool:
    return engine.engine_type == "sqlite"


async def keep_session(connection: Any) -> None:
    """The pool's reset of a connection given back (asyncpg's ``reset`` hook): nothing more
    than asyncpg itself does first (roll back a transaction left open, drop listeners).

    asyncpg's default reset runs ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`` — one more round trip after every statement outside a transaction (a tenth of
    the server's time under the single-case POST load, profiled): every request's account read
    paid it. The registry changes no session state — no ``SET`` but ``SET LOCAL``, no
    ``LISTEN``, no advisory locks, no cursors kept between statements — so there is nothing
    to reset."""


async def open_engine(engine: Engine, pool_size: int = PG_POOL_MAX) -> None:
    """Prepare an engine for serving: WAL on SQLite, a connection pool on PostgreSQL."""
    if is_sqlite(engine):
        await engine._run_in_new_connection("PRAGMA journal_mode=wal")
    else:
        await engine.start_connection_pool(min_size=1, max_size=pool_size, reset=keep_session)


async def close_engine(engine: Engine) -> None:
    """Close the engine's pool (idempotent)."""
    if isinstance(engine, RegistrySQLiteEngine):
        await engine.close_pool()
    elif not is_sqlite(engine) and getattr(engine, "pool", None) is not None:
        await engine.close_connection_pool()


async def read_small(table: Any, query: str, *args: Any) -> list[dict[str, Any]]:
    """``table.raw(query, *args)`` (``{}`` placeholders) for a lookup of a row by its key:
    on SQLite outside a transaction, read at once on this thread
    (:meth:`RegistrySQLiteEngine.read_now`); otherwise, or when SQLite is busy, as usual."""
    engine = table._meta.db
    if isinstance(engine, RegistrySQLiteEngine) and engine.current_transaction.get() is None:
        rows = engine.read_now(query.replace("{}", "?"), args)
        if rows is not None:
            return rows
    return await table.raw(query, *args)


def integrity_kind(exc: BaseException) -> str | None:
    """Classify a database integrity error of either engine: ``unique``, ``foreign_key``."""
    if isinstance(exc, sqlite3.IntegrityError):
        message = str(exc).upper()
        if "UNIQUE" in message:
            return "unique"
        if "FOREIGN KEY" in message:
            return "foreign_key"
        return "integrity"
    try:
        from asyncpg import exceptions as pg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return None
    if isinstance(exc, pg.UniqueViolationError):
        return "unique"
    if isinstance(exc, pg.ForeignKeyViolationError):
        return "foreign_key"
    if isinstance(exc, pg.IntegrityConstraintViolationError):
        return "integrity"
    return None
