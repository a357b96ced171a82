"""Hardening of the edges (both engines where a database is involved): date and time query
parameters beyond what the drivers can represent (422, never 500), static paths through a file
(404), and the modes of every file holding the registry's data (0600, ``var/`` 0700)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from litestar.handlers import HTTPRouteHandler

from tests.integration.asgi_raw import request

# ------------------------------------------------------------------------------ 2. dates

EXTREMES = {
    datetime: [
        "0001-01-01T00:00:00+14:00",  # 31 Dec of the year 0 in UTC: OverflowError in the drivers
        "9999-12-31T23:59:59-14:00",  # the year 10000 in UTC
        "0001-01-01T00:00:00",
        "9999-12-31T23:59:59.999999+00:00",
    ],
    date: ["0001-01-01", "9999-12-31"],
}


@pytest.mark.parametrize(
    "query",
    [
        "since=0001-01-01T00:00:00%2B14:00",
        "until=9999-12-31T23:59:59-14:00",
        "since=9999-12-31T23:59:59-14:00",
        "until=0001-01-01T00:00:00%2B00:30",
    ],
)
def test_audit_instants_beyond_the_drivers_are_422_not_500(client, query):
    before = client.snapshot()
    response = client.get(f"/api/audit?{query}", headers=client.auth("municipal"))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "date_out_of_range"
    assert body["errors"][0]["field"] == query.split("=")[0]
    assert client.snapshot() == before


def test_audit_instants_within_range_still_filter(client):
    municipal = client.auth("municipal")
    wide = client.get(
        "/api/audit",
        params={"since": "0001-01-02T00:00:00+00:00", "until": "9999-12-30T00:00:00+08:00"},
        headers=municipal,
    )
    assert wide.status_code == 200 and wide.json()["total"] > 0
    future = client.get(
        "/api/audit", params={"since": "2200-01-01T00:00:00+08:00"}, headers=municipal
    )
    assert future.json()["total"] == 0


def _routes_with_dates(client) -> list[tuple[HTTPRouteHandler, str, str, type]]:
    from registry.http.params import temporal_query_parameters

    found = []
    for route in client.app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if isinstance(handler, HTTPRouteHandler):
                for name, kind in temporal_query_parameters(handler):
                    found.append((handler, route.path, name, kind))
    return found


def test_every_date_query_parameter_is_found(client):
    """The one place knows them all: audit since/until, cases and statistics from/to, plan
    progress as_of."""
    names = {(path, name, kind) for _, path, name, kind in _routes_with_dates(client)}
    assert {
        ("/api/audit", "since", datetime),
        ("/api/audit", "until", datetime),
        ("/api/cases", "from", date),
        ("/api/cases", "to", date),
        ("/api/cases/stats", "from", date),
        ("/api/cases/stats", "to", date),
        ("/api/plans/{plan_id:int}/progress", "as_of", date),
    } <= names


def test_no_date_query_parameter_anywhere_overflows(client):
    """Every date or datetime query parameter of every route, at the ends of the calendar, as
    the roles that may read it: 422 ``date_out_of_range``, never a 500."""
    plan = client.post(
        "/api/plans",
        json={
            "county_code": "431202",
            "campaign": "agency-points-2013",
            "title": "鹤城区代办点建设规划",
            "items": [
                {
                    "division_code": client.template.villages["hecheng"],
                    "target": "in_service",
                    "target_date": "2014-12-31",
                }
            ],
        },
        headers=client.auth("planner_hecheng"),
    )
    assert plan.status_code == 201, plan.text
    fill = {
        "{plan_id:int}": str(plan.json()["id"]),
        "{site_id:int}": str(client.template.sites["hecheng"]),
    }
    before = client.snapshot()
    checked = 0
    for _handler, path, name, kind in _routes_with_dates(client):
        for placeholder, value in fill.items():
            path = path.replace(placeholder, value)
        for value in EXTREMES[kind]:
            response = client.get(path, params={name: value}, headers=client.auth("municipal"))
            assert response.status_code == 422, (path, name, value, response.text)
            assert response.json()["code"] == "date_out_of_range"
            checked += 1
    assert checked >= 18  # 2 instants × 4 extremes, 5 dates × 2
    assert client.snapshot() == before


@pytest.mark.parametrize(
    "path",
    [
        "/static/dashboard.css/foo",
        "/static/dashboard.js/../dashboard.css/x",
        "/static/docs/swagger-ui.css/foo",
        "/static/" + "a" * 300,
        "/static/" + "a" * 300 + "/b.css",
        "/static/docs/" + "é" * 200,
    ],
    ids=[
        "file-as-folder",
        "file-as-folder-dotdot",
        "docs-file-as-folder",
        "name-too-long",
        "folder-name-too-long",
        "docs-name-too-long",
    ],
)
def test_static_paths_that_name_no_file_are_404(client, path):
    answer = request(client, "GET", path)
    assert answer.status == 404, answer.body[:300]
    assert answer.json()["code"] == "not_found"


def test_static_files_are_still_served(client):
    assert client.get("/static/dashboard.css").status_code == 200
    assert client.get("/static/docs/swagger-ui.css").status_code == 200


# ------------------------------------------------------------------------------ 4. file modes


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def default_umask() -> Iterator[None]:
    """The usual umask (022): files 0644 and folders 0755 unless the registry says otherwise."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_new_var_folder_and_secret_are_their_owners_only(tmp_path, default_umask):
    from registry.core.settings import settings_from_env

    var = tmp_path / "var"
    settings = settings_from_env({"REGISTRY_VAR_DIR": str(var)})
    assert settings.secret_key
    assert mode(var) == 0o700
    assert mode(var / "secret.key") == 0o600


def _write_through_the_app_engine(url: str) -> None:
    from registry.db.binding import migrate
    from registry.db.engines import close_engine, make_engine, open_engine

    async def run() -> None:
        await migrate(make_engine(url))
        engine = make_engine(url)
        await open_engine(engine)
        try:
            # A write leaves the WAL and the shared-memory file beside the database.
            await engine._run_in_new_connection("CREATE TABLE IF NOT EXISTS probe (x INTEGER)")
            await engine._run_in_new_connection("INSERT INTO probe VALUES (1)")
            database = Path(url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm"):
                side = Path(f"{database}{suffix}")
                assert side.exists(), side
                assert mode(side) == 0o600, f"{side.name} is {oct(mode(side))}"
        finally:
            await close_engine(engine)

    asyncio.run(run())


def test_the_database_its_wal_and_shm_are_their_owners_only(tmp_path, default_umask):
    var = tmp_path / "var"
    url = f"sqlite:///{var / 'registry.sqlite3'}"
    _write_through_the_app_engine(url)
    assert mode(var) == 0o700  # made for the database: its owner's only


def test_an_existing_deployment_is_tightened_at_start(tmp_path, default_umask, base_settings):
    """var/ 0755 and a database, WAL and key of 0644 (made before modes were enforced): the
    next start of the app makes them 0700 and 0600."""
    from registry.app import create_app

    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    database = var / "registry.sqlite3"
    wal = Path(f"{database}-wal")
    conn = sqlite3.connect(database, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=wal")
        conn.execute("CREATE TABLE probe (x INTEGER)")
        conn.execute("INSERT INTO probe VALUES (1)")
        (var / "secret.key").write_text("k" * 48)
        assert mode(var) == 0o755
        assert mode(database) == mode(wal) == mode(var / "secret.key") == 0o644
        create_app(replace(base_settings, var_dir=var, database_url=f"sqlite:///{database}"))
        assert mode(var) == 0o700
        assert mode(var / "secret.key") == 0o600
        assert mode(database) == mode(wal) == 0o600
    finally:
        conn.close()


def test_backups_and_restored_databases_are_their_owners_only(
    client, database_url, engine_name, tmp_path, default_umask
):
    import shutil

    from registry.transfer.backup import backup, restore

    if engine_name == "postgres" and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    folder = tmp_path / "backups"
    target = folder / "registry.backup"
    assert backup(database_url, target) > 0
    assert mode(target) == 0o600
    assert mode(folder) == 0o700
    if engine_name == "sqlite":
        restored = tmp_path / "restored" / "registry.sqlite3"
        restore(f"sqlite:///{restored}", target)
        assert mode(restored) == 0o600
        assert mode(restored.parent) == 0o700
        for suffix in ("-wal", "-shm"):
            side = Path(f"{restored}{suffix}")
            assert not side.exists() or mode(side) == 0o600
