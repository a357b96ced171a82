"""Backup and restore of the whole database.

SQLite: the online backup API (consistent while the server runs). PostgreSQL: ``pg_dump
--format=custom`` and ``pg_restore``. Restore goes into an empty database and refuses a
non-empty one unless forced; stop the server before restoring. Refusals are registry errors
(code, Chinese, English): the command line prints them as one line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from registry.core.errors import Conflict, InvalidInput, NotFound, RegistryError
from registry.core.settings import private_dir
from registry.db.engines import PG_PREFIXES, SQLITE_PREFIX, private_sqlite_file, sqlite_path

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


class BackupError(RegistryError):
    """A backup or restore that could not run to the end (a tool failed or is missing)."""

    default_code = "backup_failed"
    default_zh = "备份或恢复失败"
    default_en = "backup or restore failed"


def _kind(url: str) -> str:
    if url.startswith(SQLITE_PREFIX):
        return "sqlite"
    if url.startswith(PG_PREFIXES):
        return "postgres"
    raise InvalidInput(
        "unsupported_database_url", "不支持的数据库地址", f"unsupported database URL {url!r}"
    )


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            "tool_missing", f"找不到 {name}", f"{name} is not installed (PostgreSQL client tools)"
        )
    return path


def backup(url: str, target: Path) -> int:
    """Write a backup of the database at ``url`` to ``target``; returns its size in bytes."""
    kind = _kind(url)
    pg_dump = _tool("pg_dump") if kind == "postgres" else ""
    if not target.parent.exists():
        private_dir(target.parent)  # a folder made for backups: its owner's only (0700)
    try:
        # Readable by the owner only: a backup holds password hashes, keyed resident hashes
        # and the whole audit trail (the default umask would let every local user read it).
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise Conflict(
            "backup_exists", "目标文件已存在", f"{target} already exists; choose a new file name"
        ) from None
    if kind == "sqlite":
        source_path = sqlite_path(url)
        if not source_path.exists():
            target.unlink(missing_ok=True)
            raise NotFound("no_database", "数据库文件不存在", f"no database at {source_path}")
        source = sqlite3.connect(source_path)
        destination = sqlite3.connect(target)
        try:
            with destination:
                source.backup(destination)
        finally:
            destination.close()
            source.close()
    else:
        result = subprocess.run(
            [pg_dump, "--format=custom", "--no-owner", "--file", str(target), url],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            target.unlink(missing_ok=True)
            raise BackupError(
                "pg_dump_failed", "pg_dump 失败", f"pg_dump failed: {result.stderr.strip()[:300]}"
            )
    return target.stat().st_size


def _sqlite_is_empty(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return True
    with sqlite3.connect(path) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return not any(conn.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() for t in tables)


async def _pg_is_empty(url: str) -> bool:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for row in tables:
            if await conn.fetchval(f'SELECT EXISTS (SELECT 1 FROM "{row["tablename"]}")'):
                return False
        return True
    finally:
        await conn.close()


def restore(url: str, source: Path, force: bool = False) -> None:
    """Restore ``source`` into the (empty, unless ``force``) database at ``url``."""
    import asyncio

    if not source.exists():
        raise NotFound("no_backup", "备份文件不存在", f"no backup file at {source}")
    magic = source.read_bytes()[:16]
    kind = _kind(url)
    if kind == "sqlite":
        if not magic.startswith(SQLITE_MAGIC):
            raise InvalidInput(
                "not_a_backup", "该文件不是 SQLite 备份", "the file is not a SQLite backup"
            )
        target_path = sqlite_path(url)
        if not force and not _sqlite_is_empty(target_path):
            raise Conflict(
                "database_not_empty",
                "目标数据库非空",
                f"{target_path} is not empty; use --force to overwrite it",
            )
        for suffix in ("-wal", "-shm"):
            Path(str(target_path) + suffix).unlink(missing_ok=True)
        # The restored database (and the WAL and shared memory SQLite makes beside it with the
        # same mode) readable by its owner only, like the backup it comes from.
        private_sqlite_file(target_path)
        backup_conn = sqlite3.connect(source)
        target = sqlite3.connect(target_path)
        try:
            with target:
                backup_conn.backup(target)
            target.execute("PRAGMA journal_mode=wal")
        finally:
            target.close()
            backup_conn.close()
        return
    if not magic.startswith(PG_MAGIC):
        raise InvalidInput(
            "not_a_backup",
            "该文件不是 PostgreSQL 备份 (pg_dump -Fc)",
            "not a pg_dump custom archive",
        )
    if not force and not asyncio.run(_pg_is_empty(url)):
        raise Conflict(
            "database_not_empty", "目标数据库非空", "the target database is not empty; use --force"
        )
    command = [
        _tool("pg_restore"),
        "--no-owner",
        "--exit-on-error",
        "--single-transaction",
        "--dbname",
        url,
        str(source),
    ]
    if force:
        command[1:1] = ["--clean", "--if-exists"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(
            "pg_restore_failed",
            "pg_restore 失败",
            f"pg_restore failed: {result.stderr.strip()[:300]}",
        )
