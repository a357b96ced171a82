"""Security review pieces (both engines): the sync rate limit per agent, and secrets that never
reach a log line."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pytest

from registry.cases.api import sync_limiter
from registry.cases.rules.resident_id import with_check_character
from registry.core.settings import get_settings
from tests.conftest import PASSWORD
from tests.integration.test_cases import NOW, record, sync

# ------------------------------------------------------------------------------ sync rate limit


def _batch(client, n: int, where: str = "hecheng") -> list[dict]:
    return [
        record(client, where, resident_id_number=with_check_character(f"43120219800101{i:03d}"))
        for i in range(n)
    ]


def test_an_agent_gets_a_burst_of_syncs_then_429_with_retry_after(client, frozen_clock):
    frozen_clock(NOW)
    limiter = sync_limiter()
    burst, per_minute = limiter.burst, round(limiter.rate * 60)
    assert (burst, per_minute) == (20, 60)
    for _ in range(burst):
        assert sync(client, []).status_code == 200
    before = client.snapshot()
    refused = sync(client, _batch(client, 3))
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "sync_rate_limited"
    assert refused.headers["retry-after"] == "1" == str(body["retry_after"])
    assert "60" in body["detail"]
    assert client.snapshot() == before  # the refused batch wrote nothing

    # Another agent has their own bucket.
    assert sync(client, _batch(client, 1, "zhongfang"), "agent_zhongfang").status_code == 200

    # One token back per second: one batch passes, the next waits again.
    frozen_clock(NOW + timedelta(seconds=1))
    assert [r["result"] for r in sync(client, _batch(client, 3)).json()["results"]] == [
        "created"
    ] * 3
    assert sync(client, []).status_code == 429
    # After a quiet minute the agent may sync at the full rate again.
    frozen_clock(NOW + timedelta(seconds=61))
    assert all(sync(client, []).status_code == 200 for _ in range(burst))
    assert sync(client, []).status_code == 429


def test_retry_after_counts_the_seconds_to_the_next_token(client, frozen_clock):
    frozen_clock(NOW)
    sync_limiter().rate = 6 / 60  # six a minute: one token every 10 s
    for _ in range(sync_limiter().burst):
        assert sync(client, []).status_code == 200
    assert sync(client, []).headers["retry-after"] == "10"
    frozen_clock(NOW + timedelta(seconds=4))
    assert sync(client, []).headers["retry-after"] == "6"
    frozen_clock(NOW + timedelta(seconds=10))
    assert sync(client, []).status_code == 200


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [(None, 401, "not_authenticated"), ("planner_hecheng", 403, "wrong_role")],
)
def test_the_limit_counts_agents_only_others_get_their_own_errors(
    client, frozen_clock, who, status, code
):
    frozen_clock(NOW)
    for _ in range(sync_limiter().burst + 5):
        response = sync(client, [], who)
        assert (response.status_code, response.json()["code"]) == (status, code)


def test_a_zero_rate_turns_the_limit_off(client, frozen_clock):
    frozen_clock(NOW)
    sync_limiter().rate = 0
    assert all(sync(client, []).status_code == 200 for _ in range(50))


def test_the_limit_comes_from_the_environment():
    from registry.core.settings import settings_from_env

    env = {
        "REGISTRY_SECRET_KEY": "k" * 40,
        "REGISTRY_SYNC_RATE_PER_MINUTE": "120",
        "REGISTRY_SYNC_BURST": "5",
    }
    settings = settings_from_env(env)
    assert (settings.sync_rate_per_minute, settings.sync_burst) == (120, 5)
    defaults = settings_from_env({"REGISTRY_SECRET_KEY": "k" * 40})
    assert (defaults.sync_rate_per_minute, defaults.sync_burst) == (60, 20)


# ------------------------------------------------------------------------------ secrets in logs


@pytest.fixture
def every_log_line(caplog):
    """Every record of every logger at DEBUG, including loggers that do not propagate."""
    caplog.set_level(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        if not lg.propagate:
            lg.addHandler(caplog.handler)
    yield caplog
    for lg, level in saved:
        lg.setLevel(level)
        if caplog.handler in lg.handlers:
            lg.removeHandler(caplog.handler)


def test_secret_key_passwords_and_tokens_never_reach_the_logs(client, every_log_line, monkeypatch):
    new_password = "Brand-new-Passw0rd!"
    agent_password = "Agent-Passw0rd-42!"
    previous_key = "previous-secret-key-0123456789-abcdefghijklmnop"
    monkeypatch.setattr(
        "registry.accounts.tokens.get_settings",
        lambda: replace(get_settings(), previous_secret_keys=(previous_key,)),
    )
    tokens: list[str] = []

    def login(username: str, password: str) -> int:
        response = client.post("/api/auth/token", json={"username": username, "password": password})
        if response.status_code == 200:
            tokens.append(response.json()["access_token"])
        return response.status_code

    # Sign-ins: right, wrong, unknown user.
    assert login("municipal", PASSWORD) == 200
    assert login("planner_hecheng", PASSWORD) == 200
    assert login("municipal", new_password) == 401
    assert login("nobody", PASSWORD) == 401
    municipal = {"Authorization": f"Bearer {tokens[0]}"}

    # Accounts: created with a password, password reset (its tokens revoked).
    created = client.post(
        "/api/users",
        json={
            "username": "agent_new",
            "password": agent_password,
            "role": "village_agent",
            "scope": str(client.template.sites["hecheng"]),
        },
        headers=municipal,
    )
    assert created.status_code == 201, created.text
    assert login("agent_new", agent_password) == 200
    reset = client.patch(
        f"/api/users/{created.json()['id']}", json={"password": new_password}, headers=municipal
    )
    assert reset.status_code == 200, reset.text
    weak = client.patch(
        f"/api/users/{created.json()['id']}", json={"password": "short"}, headers=municipal
    )
    assert weak.status_code == 422
    revoked = client.get("/api/auth/me", headers={"Authorization": f"Bearer {tokens[-1]}"})
    assert revoked.status_code == 401
    # Throttled sign-ins.
    assert {login("agent_zhongfang", "Wrong-" + PASSWORD) for _ in range(6)} == {401, 429}

    # Tokens used, revoked, forged, malformed; a sync and a server error with a token.
    for token in [*tokens, *client.template.tokens.values()]:
        client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    client.get("/api/auth/me", headers={"Authorization": f"Bearer {tokens[0][:-4]}abcd"})
    client.get("/api/auth/me", headers={"Authorization": f"Token {tokens[0]}"})
    client.post(
        "/api/cases/sync", json={"records": [{"id": "x"}]}, headers=client.auth("agent_hecheng")
    )

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("registry.sites.service.get_site", explode)
    assert (
        client.get(f"/api/sites/{client.template.sites['hecheng']}", headers=municipal).json()[
            "code"
        ]
        == "internal_error"
    )

    logged = every_log_line.text + "\n".join(
        str(r.args) + str(r.exc_info) for r in every_log_line.records
    )
    assert "unhandled error" in logged  # the capture works: the 500 was logged
    secrets = {
        "secret key": get_settings().secret_key,
        "previous key": previous_key,
        "password": PASSWORD,
        "new password": new_password,
        "agent password": agent_password,
        **{f"token {i}": t for i, t in enumerate([*tokens, *client.template.tokens.values()])},
    }
    for name, value in secrets.items():
        assert value not in logged, f"{name} appears in the logs"
        # Not even the signature part of a token.
        if name.startswith("token"):
            assert value.rsplit(".", 1)[1] not in logged, f"{name}'s signature is logged"


# ------------------------------------------------------------------------------ backups


def test_a_backup_file_is_readable_by_its_owner_only(client, database_url, tmp_path):
    """A backup holds password hashes, keyed resident hashes and the audit trail."""
    import shutil
    import stat

    from registry.transfer.backup import backup

    if not database_url.startswith("sqlite") and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    target = tmp_path / "backups" / "registry.backup"
    assert backup(database_url, target) > 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
