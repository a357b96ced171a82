"""End-to-end fixtures: the real `registry serve` process on a seeded demo database, and Debian's
Chromium driven by the Python `playwright` package (its own browser download is not used).

The demo database is built once per session (`migrate`, `seed --demo`, one municipal account)
and copied for each test module, which gets its own server on a free port. Skipped only when
Chromium or playwright is missing outside CI; under CI=true they must be there.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.support import CHROMIUM, CHROMIUM_ARGS, E2E_PASSWORD, E2E_USER, need


def _registry() -> list[str]:
    script = Path(sys.executable).with_name("registry")
    return [str(script)] if script.exists() else [sys.executable, "-m", "registry.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(home: Path, port: int | None = None, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": f"sqlite:///{home / 'registry.sqlite3'}",
        "REGISTRY_VAR_DIR": str(home / "var"),
        "REGISTRY_HOST": "127.0.0.1",
        # Every browser signs in from 127.0.0.1; tests that provoke wrong passwords must not
        # lock the address for the tests after them.
        "REGISTRY_LOGIN_MAX_FAILURES": "1000",
    }
    if port:
        env["REGISTRY_PORT"] = str(port)
    return {**env, **extra}


def seed_home(home: Path, *commands: list[str], **extra: str) -> Path:
    """Run registry commands (migrate, seed, user create …) on a fresh home."""
    for args in commands:
        done = subprocess.run(
            [*_registry(), *args],
            env=_env(home, **extra),
            input=E2E_PASSWORD + "\n",
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    return home


@pytest.fixture(scope="session")
def seeded_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated demo database with the e2e municipal account (built once per session)."""
    home = tmp_path_factory.mktemp("e2e-seed")
    user = ["user", "create", "--username", E2E_USER, "--role", "municipal", "--scope", "431200"]
    return seed_home(home, ["migrate"], ["seed", "--demo"], user)


@pytest.fixture(scope="module")
def server(seeded_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`registry serve` on this module's own copy of the demo database."""
    home = tmp_path_factory.mktemp("e2e-server")
    for item in seeded_home.iterdir():
        if item.is_dir():
            shutil.copytree(item, home / item.name)
        else:
            shutil.copy2(item, home / item.name)
    yield from serve(home)


def serve(home: Path, **extra: str) -> Iterator[str]:
    """`registry serve` on ``home`` until the generator is closed; yields its base URL."""
    port = _free_port()
    log = (home / "server.log").open("w")
    process = subprocess.Popen(
        [*_registry(), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(home, port, **extra),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise AssertionError("server did not start:\n" + (home / "server.log").read_text())
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one module. Not per session: playwright's sync API keeps an event loop
    running while it is open, which would break the asyncio.run() of later (non-e2e) tests."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "the playwright package is not installed")
    need(Path(CHROMIUM).exists() or bool(shutil.which("chromium")), "chromium is not installed")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep every e2e test on one pytest-xdist worker (``--dist loadgroup``): the seeded demo
    database and the browser are then made once."""
    for item in items:
        if "tests/e2e/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.xdist_group("e2e"))
