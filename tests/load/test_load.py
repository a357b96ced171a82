"""The short load run of CI: 20 clients for 10 s against a real server, per engine.

The full run (200 clients × 60 s) is `make soak`. Numbers are printed (``-s`` shows them);
the test fails only on lost, doubled or refused work — never on time.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import pytest

from tests.conftest import Template, _pg_admin, _pg_url
from tests.load.harness import add_load_fixtures, agents_needed, run_load

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLIENTS = int(os.environ.get("LOAD_CLIENTS", "20"))
SECONDS = float(os.environ.get("LOAD_SECONDS", "10"))


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_concurrent_clients_lose_and_double_nothing(engine, request, tmp_path: Path, capsys):
    template: Template = request.getfixturevalue(
        "sqlite_template" if engine == "sqlite" else "pg_template"
    )
    drop = None
    if engine == "sqlite":
        target = tmp_path / "load.sqlite3"
        shutil.copyfile(Path(template.url.removeprefix("sqlite:///")), target)
        url = f"sqlite:///{target}"
    else:
        drop = f"registry_load_{uuid.uuid4().hex[:10]}"
        _pg_admin(f'CREATE DATABASE "{drop}" TEMPLATE "{template.url.rpartition("/")[2]}"')
        url = _pg_url(drop)
    try:
        world = asyncio.run(
            add_load_fixtures(url, template.tokens["planner_hecheng"], agents_needed(CLIENTS))
        )
        report = run_load(world, tmp_path / "server", CLIENTS, SECONDS, workers=2)
    finally:
        if drop:
            _pg_admin(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')
    with capsys.disabled():
        print("\n" + report.summary())
    assert report.problems == []
    assert report.server_errors == 0 and report.rate_limited == 0
    assert report.cases_acknowledged > 0 and report.cases_stored == report.cases_acknowledged
    assert report.edits_acknowledged > 0
