"""Backup and restore round trips (both engines), run through the real command."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.conftest import _pg_admin, _pg_url, table_checksums
from tests.integration.test_cli import registry


def _checksums(url: str) -> dict:
    from registry.db.binding import bind
    from registry.db.engines import close_engine, make_engine, open_engine

    async def run():
        engine = make_engine(url)
        bind(engine)
        await open_engine(engine, pool_size=1)
        try:
            return await table_checksums()
        finally:
            await close_engine(engine)

    return asyncio.run(run())


@pytest.fixture
def empty_target(engine_name, tmp_path):
    if engine_name == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"registry_r_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_backup_then_restore_into_an_empty_database_is_identical(
    database_url, empty_target, tmp_path
):
    archive = tmp_path / "registry.backup"
    made = registry(database_url, "backup", str(archive))
    assert made.returncode == 0, made.stderr
    assert archive.stat().st_size > 10_000
    restored = registry(empty_target, "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    assert _checksums(empty_target) == _checksums(database_url)


def test_restore_refuses_a_non_empty_database_unless_forced(database_url, tmp_path):
    archive = tmp_path / "registry.backup"
    assert registry(database_url, "backup", str(archive)).returncode == 0
    refused = registry(database_url, "restore", str(archive))
    assert refused.returncode != 0
    assert "not empty" in refused.stderr and "--force" in refused.stderr
    forced = registry(database_url, "restore", str(archive), "--force")
    assert forced.returncode == 0, forced.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"this is not a backup", "not a"), (b"", "not a")],
)
def test_restore_refuses_a_file_of_the_wrong_kind(empty_target, tmp_path, content, message):
    bogus = tmp_path / "bogus.backup"
    bogus.write_bytes(content)
    result = registry(empty_target, "restore", str(bogus))
    assert result.returncode != 0
    assert message in result.stderr


def test_backup_never_overwrites_a_file(database_url, tmp_path):
    archive = tmp_path / "exists.backup"
    archive.write_text("keep me")
    result = registry(database_url, "backup", str(archive))
    assert result.returncode != 0
    assert archive.read_text() == "keep me"
