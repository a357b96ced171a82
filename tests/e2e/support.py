"""Helpers of the end-to-end tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
IN_CI = os.environ.get("CI", "").lower() == "true"
E2E_USER = "e2e_municipal"
E2E_PASSWORD = "E2e-Passw0rd!"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1366, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def need(condition: bool, why: str) -> None:
    """Skip (fail under CI) when a browser-test prerequisite is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{why} (required under CI=true)")
    pytest.skip(why)


def token(server: str, username: str = E2E_USER, password: str = E2E_PASSWORD) -> str:
    response = httpx.post(
        server + "/api/auth/token", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def bearer(server: str, username: str = E2E_USER, password: str = E2E_PASSWORD) -> dict:
    return {"Authorization": f"Bearer {token(server, username, password)}"}


def make_account(server: str, username: str, role: str, scope: str) -> tuple[str, str]:
    """Create a planner or agent through the API as the municipal centre."""
    password = "Work-Pages-2026!"
    response = httpx.post(
        server + "/api/users",
        json={"username": username, "password": password, "role": role, "scope": scope},
        headers=bearer(server),
    )
    assert response.status_code == 201, response.text
    return username, password


class Watch:
    """Console errors, page errors and every request host of a browser context."""

    def __init__(self, server: str) -> None:
        self.host = urlsplit(server).netloc
        self.errors: list[str] = []
        self.urls: list[str] = []
        self.provoked: set[int] = set()

    def provoke(self, status: int) -> None:
        """The test causes an HTTP error on purpose (Chromium logs each one to the console)."""
        self.provoked.add(status)

    def page(self, page: Any) -> Any:
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        return page

    def check(self) -> None:
        expected = {
            f"Failed to load resource: the server responded with a status of {status} "
            for status in self.provoked
        }
        errors = [e for e in self.errors if not any(e.startswith(x) for x in expected)]
        assert errors == [], errors
        foreign = [u for u in self.urls if urlsplit(u).scheme not in ("data", "blob")]
        foreign = [u for u in foreign if urlsplit(u).netloc != self.host]
        assert foreign == [], foreign
        assert self.urls, "no request was seen"


def open_context(browser: Any, server: str, viewport: dict | None = None, **options: Any):
    """A Chinese-locale context in China time whose every request is recorded."""
    context = browser.new_context(
        viewport=viewport or DESKTOP,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        accept_downloads=True,
        **options,
    )
    watch = Watch(server)
    context.on("request", lambda r: watch.urls.append(r.url))
    return context, watch


def sign_in(page: Any, server: str, username: str, password: str, landing: str) -> None:
    """Sign in on /login and arrive on the role's page."""
    page.goto(server + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_url(server + landing + "**")


def screenshot(page: Any, tmp_path: Path, name: str, docs: bool = True) -> Path:
    """Save a screenshot under the test's tmp dir; with ``UPDATE_SCREENSHOTS=1`` (and
    ``docs``) also copy it to docs/screenshots/, where the README shows it — a normal run
    never rewrites tracked files."""
    shot = tmp_path / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 5_000
    if docs and os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy2(shot, SCREENSHOTS / shot.name)
    return shot
