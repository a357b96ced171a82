"""One app on one fresh copy of the template for a whole test module (per engine).

The fuzzing and the bad-input corpus send hundreds of requests that must leave the database as
they found it (or only add what they create on purpose); a fresh database per request would
cost more than the requests. Each module gets its own copy, dropped afterwards.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path

from registry.core import runtime
from registry.core.settings import Settings
from tests.conftest import ApiClient, Template, _pg_admin, _pg_url


def module_client(
    template: Template, base: Settings, tmp: Path, **overrides: object
) -> Iterator[ApiClient]:
    """An ApiClient (lifespan running) on a fresh copy of ``template``; ``overrides`` change
    settings (e.g. a higher sync rate limit)."""
    from registry.app import create_app

    drop = None
    if template.engine == "sqlite":
        target = tmp / "module.sqlite3"
        shutil.copyfile(Path(template.url.removeprefix("sqlite:///")), target)
        url = f"sqlite:///{target}"
    else:
        name = f"registry_m_{uuid.uuid4().hex[:10]}"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template.url.rpartition("/")[2]}"')
        url, drop = _pg_url(name), name
    try:
        settings = replace(base, database_url=url, **overrides)  # type: ignore[arg-type]
        with ApiClient(create_app(settings), raise_server_exceptions=False) as client:
            client.template = template
            token = runtime.activate(client.app.state.runtime)
            try:
                yield client
            finally:
                runtime.deactivate(token)
    finally:
        if drop:
            _pg_admin(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')


def root_client(
    engine: str,
    base: Settings,
    tmp: Path,
    root: str,
    load: Callable[[str], Awaitable[None]],
) -> Iterator[ApiClient]:
    """An ApiClient on a new database of its own (a SQLite file, or a PostgreSQL database
    dropped afterwards) that ``load(url)`` migrates and fills, serving the root ``root`` (a
    province or the nation)."""
    import asyncio

    import pytest

    from registry.app import create_app
    from tests.conftest import pg_available

    drop = None
    if engine == "sqlite":
        url = f"sqlite:///{tmp / 'root.sqlite3'}"
    else:
        if not pg_available():
            pytest.skip("PostgreSQL not available")
        drop = f"registry_root_{uuid.uuid4().hex[:10]}"
        _pg_admin(f'CREATE DATABASE "{drop}"')
        url = _pg_url(drop)
    try:
        asyncio.run(load(url))
        settings = replace(base, database_url=url, root_code=root)
        with ApiClient(create_app(settings), raise_server_exceptions=False) as client:
            yield client
    finally:
        if drop:
            _pg_admin(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')
        else:
            shutil.rmtree(tmp, ignore_errors=True)
