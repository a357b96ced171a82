"""Fixtures: every API test runs on SQLite and PostgreSQL through one parametrised fixture.

Per engine, one template database is built per session (migrations, the real 怀化 register
with its official villages, test accounts and two agency points); each test gets a fresh copy
(a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL) that is dropped
afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import sqlite3
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

os.environ.setdefault("REGISTRY_SECRET_KEY", "test-secret-key-not-for-production-0123456789")
os.environ.setdefault("REGISTRY_VAR_DIR", str(Path(__file__).parent / ".var"))

from registry.core import clock, runtime
from registry.core.settings import Settings, settings_from_env

logging.getLogger("httpx").setLevel(logging.WARNING)

PG_ADMIN_URL = os.environ.get(
    "REGISTRY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"

# Accounts created in every template database: name → (role, scope or site placeholder).
PASSWORD = "Test-Passw0rd!"
HECHENG = "431202000000"
ZHONGFANG = "431221000000"
CITY = "431200000000"
SITE_START = date(2013, 6, 1)


def pg_available() -> bool:
    host, port = "127.0.0.1", 5432
    if "REGISTRY_TEST_PG_URL" in os.environ:
        return True
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _pg_url(dbname: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}"


def _pg_admin(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@dataclass
class Template:
    """A built template database and what the tests need to know about it."""

    engine: str
    url: str
    tokens: dict[str, str] = field(default_factory=dict)
    sites: dict[str, int] = field(default_factory=dict)
    villages: dict[str, str] = field(default_factory=dict)
    clones: ClonePool | None = None


async def _build_template(url: str) -> Template:
    from registry.accounts import service as accounts
    from registry.accounts import tokens as auth
    from registry.accounts.schemas import AccountCreate, TokenRequest
    from registry.core.access import SYSTEM
    from registry.db.binding import connected, migrate
    from registry.db.engines import make_engine
    from registry.tables import Division, Site, StatusEvent
    from seed import loader

    await migrate(make_engine(url))
    template = Template(engine="sqlite" if url.startswith("sqlite") else "postgres", url=url)
    async with connected(replace(settings_from_env(), database_url=url), pool_size=2):
        # The real register of 怀化: its townships and its 2,777 official villages.
        await loader.load_base()
        # One in-service agency point in each of two counties, for the agents.
        for county, name in ((HECHENG, "hecheng"), (ZHONGFANG, "zhongfang")):
            village = (
                await Division.select()
                .where(
                    (Division.county_code == county)
                    & (Division.kind == "村")
                    & Division.abolished_on.is_null()
                    & Division.established_on.is_null()
                )
                .order_by(Division.code)
                .first()
            )
            template.villages[name] = village["code"]
            site = Site(
                division=village["code"],
                open_division=village["code"],
                kind="village_point",
                county_code=county,
                township_code=village["township_code"],
                standard_name=village["name"] + "便民服务代办点",
                lon=110.0,
                lat=27.5,
                status="in_service",
                status_since=SITE_START,
                created_by="test",
            )
            await site.save()
            await StatusEvent.insert(
                StatusEvent(
                    site=site.id, status="in_service", effective_date=SITE_START, actor="test"
                )
            )
            template.sites[name] = site.id
        specs = {
            "municipal": ("municipal", CITY),
            "planner_hecheng": ("county_planner", HECHENG),
            "planner_zhongfang": ("county_planner", ZHONGFANG),
            "agent_hecheng": ("village_agent", str(template.sites["hecheng"])),
            "agent_zhongfang": ("village_agent", str(template.sites["zhongfang"])),
        }
        for username, (role, scope) in specs.items():
            await accounts.create_account(
                SYSTEM, AccountCreate(username=username, password=PASSWORD, role=role, scope=scope)
            )
            token = await auth.issue_token(
                TokenRequest(username=username, password=PASSWORD), "template"
            )
            template.tokens[username] = token.access_token
    return template


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    var = tmp_path_factory.mktemp("var")
    settings = replace(
        settings_from_env(),
        var_dir=var,
        migrate_on_startup=False,
        warm_on_startup=False,
        sqlite_checkpoint_seconds=0,
    )
    return settings


@pytest.fixture(scope="session")
def sqlite_template(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Template:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    template = asyncio.run(_build_template(f"sqlite:///{path}"))
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return template


class ClonePool:
    """Copies of the PostgreSQL template made ahead and dropped in the background.

    ``CREATE DATABASE … TEMPLATE`` costs a few hundred milliseconds of server I/O; doing it
    while the previous test runs keeps it off the critical path.
    """

    def __init__(self, template_name: str, ahead: int = 2) -> None:
        self.template_name = template_name
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pg-clone")
        self._ready: deque[Future[str]] = deque(
            self._executor.submit(self._create) for _ in range(ahead)
        )

    def _create(self) -> str:
        name = f"registry_t_{uuid.uuid4().hex[:12]}"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template_name}"')
        return name

    def take(self) -> str:
        name = self._ready.popleft().result()
        self._ready.append(self._executor.submit(self._create))
        return name

    def give_back(self, name: str) -> None:
        self._executor.submit(_pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        for future in self._ready:
            self.give_back(future.result())
        self._executor.shutdown(wait=True)


@pytest.fixture(scope="session")
def pg_template(base_settings: Settings) -> Iterator[Template]:
    if not pg_available():
        if IN_CI:
            pytest.fail("PostgreSQL is required under CI=true but does not answer on 5432")
        pytest.skip("PostgreSQL not available")
    name = f"registry_tpl_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        template = asyncio.run(_build_template(_pg_url(name)))
        template.clones = ClonePool(name)
        try:
            yield template
        finally:
            template.clones.close()
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def engine_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def template(engine_name: str, request: pytest.FixtureRequest) -> Template:
    return request.getfixturevalue(f"{'sqlite' if engine_name == 'sqlite' else 'pg'}_template")


@pytest.fixture
def database_url(template: Template, tmp_path: Path) -> Iterator[str]:
    """A fresh copy of the template database for one test."""
    if template.engine == "sqlite":
        source = Path(template.url.removeprefix("sqlite:///"))
        target = tmp_path / "registry.sqlite3"
        shutil.copyfile(source, target)
        yield f"sqlite:///{target}"
        return
    assert template.clones is not None
    name = template.clones.take()
    try:
        yield _pg_url(name)
    finally:
        template.clones.give_back(name)


class ApiClient(TestClient):
    """A Litestar test client that knows the template's tokens, sites and villages."""

    template: Template

    def auth(self, who: str | None) -> dict[str, str]:
        """Authorization header for a template account (``None``: anonymous)."""
        if who is None:
            return {}
        return {"Authorization": f"Bearer {self.template.tokens[who]}"}

    def run(self, fn: Callable[[], Any]) -> Any:
        """Run an async function in the app's event loop, with the app's runtime active (for
        direct database checks and service calls)."""
        state = self.app.state.runtime

        async def call() -> Any:
            token = runtime.activate(state)
            try:
                return await fn()
            finally:
                runtime.deactivate(token)

        return self.blocking_portal.call(call)

    def snapshot(self) -> dict[str, Any]:
        """Row counts and a content checksum of every table: 'nothing changed' checks."""
        return self.run(table_checksums)


async def table_checksums() -> dict[str, Any]:
    import hashlib

    from registry.tables import TABLES

    result = {}
    for table in TABLES:
        rows = await table.select().order_by(table._meta.primary_key)
        digest = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
        result[table._meta.tablename] = (len(rows), digest)
    return result


async def _use_database(url: str) -> None:
    """Point the running app at another database (tables, pool; bind forgets the caches)."""
    from registry.db.binding import bind
    from registry.db.engines import make_engine, open_engine

    engine = make_engine(url)
    bind(engine)
    await open_engine(engine)


async def _release_database() -> None:
    from registry.db.binding import current
    from registry.db.engines import close_engine

    await close_engine(current())


@pytest.fixture(scope="session")
def shared_clients() -> Iterator[dict[str, ApiClient]]:
    """One running app per engine for the whole session; each test swaps its database in.

    Building the app and running its lifespan for every test cost ~0.1 s a test.
    """
    clients: dict[str, ApiClient] = {}
    yield clients
    for test_client in clients.values():
        test_client.__exit__(None, None, None)


@pytest.fixture
def client(
    database_url: str,
    template: Template,
    base_settings: Settings,
    shared_clients: dict[str, ApiClient],
) -> Iterator[ApiClient]:
    from registry.app import create_app

    settings = replace(base_settings, database_url=database_url)
    test_client = shared_clients.get(template.engine)
    if test_client is None:
        test_client = ApiClient(create_app(settings), raise_server_exceptions=False)
        test_client.__enter__()
        shared_clients[template.engine] = test_client
    else:
        test_client.app.state.runtime.settings = settings
        test_client.run(lambda: _use_database(database_url))
    test_client.template = template
    state = test_client.app.state.runtime
    state.reset()
    # The test's own code (clock, settings, direct service calls) sees the app's runtime.
    token = runtime.activate(state)
    try:
        yield test_client
    finally:
        test_client.run(_release_database)
        state.reset()
        runtime.deactivate(token)


@pytest.fixture
def fresh_runtime() -> Iterator[runtime.Runtime]:
    """A runtime of its own, active for the test (code that runs without the app)."""
    state = runtime.Runtime(settings_from_env())
    token = runtime.activate(state)
    yield state
    runtime.deactivate(token)


@pytest.fixture
def frozen_clock() -> Iterator[Callable[[Any], None]]:
    """Set the registry's clock: ``frozen_clock(datetime)``; restored after the test."""

    token = None if runtime.active() else runtime.activate(runtime.Runtime(settings_from_env()))

    def set_to(instant: Any) -> None:
        clock.set_clock(lambda: instant)

    yield set_to
    clock.set_clock(None)
    if token is not None:
        runtime.deactivate(token)
