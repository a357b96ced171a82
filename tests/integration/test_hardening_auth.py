"""Hardening of sign-in and tokens (both engines): tokens bound to their deployment and to the
account as it was; writes refused before their body is read; anonymous writes rate-limited per
address; login throttling per (account, address) pair with growing waits, a per-address budget,
no lock of an account from everywhere, and a notice in the audit trail."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from litestar import Litestar, post
from litestar.params import JSONBody

from registry.core.settings import Settings, get_settings
from registry.tables import Account
from tests.conftest import PASSWORD, ApiClient, Template, _pg_admin, _pg_url, pg_available
from tests.integration.asgi_raw import request, sign_in

ME = "/api/auth/me"
CITY = "431200000000"
WRONG = "Wrong-Passw0rd!"
OFFICE = "198.51.100.7"  # a county office: every clerk behind one public address
ELSEWHERE = "192.0.2.44"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def installation_id() -> Any:
    from registry.accounts.tokens import installation_id as current

    return current()


def account_id(client: ApiClient, username: str) -> int:
    async def find() -> int:
        row = await Account.select(Account.id).where(Account.username == username).first()
        return row["id"]

    return client.run(find)


# ------------------------------------------------------------------------------ 1. deployments


@contextmanager
def other_deployment(
    client: ApiClient,
    template: Template,
    base_settings: Settings,
    database_url: str,
    tmp_path: Path,
    change: Any = None,
) -> Iterator[ApiClient]:
    """A second registry on its own database — a copy of the template with an installation id
    of its own, as its own migration makes — sharing the secret key, its app started after
    this test's app (Piccolo binds tables per process: the apps take turns, and this test's
    database is bound again afterwards). ``change``: an async function run on it first."""
    from registry.app import create_app
    from registry.db.binding import bind, connected
    from registry.tables import Installation

    if template.engine == "sqlite":
        target = tmp_path / "other.sqlite3"
        shutil.copyfile(Path(template.url.removeprefix("sqlite:///")), target)
        url, name = f"sqlite:///{target}", None
    else:
        assert template.clones is not None
        name = template.clones.take()
        url = _pg_url(name)
    settings = replace(base_settings, database_url=url)

    async def own_identity() -> None:
        async with connected(settings, pool_size=1):
            await Installation.update({Installation.installation_id: "b" * 32}).where(
                Installation.id == 1
            )
            if change is not None:
                await change()

    try:
        asyncio.run(own_identity())
        with ApiClient(create_app(settings), raise_server_exceptions=False) as other:
            other.template = template
            yield other
    finally:
        # This test's app and database again (the same engine, still open).
        engine = client.app.state.runtime.engine

        async def rebind() -> None:
            bind(engine)

        client.run(rebind)
        if name is not None:
            assert template.clones is not None
            template.clones.give_back(name)


def test_a_token_of_another_deployment_sharing_the_secret_is_refused(
    client, template, base_settings, database_url, tmp_path
):
    """Two databases from one checkout (one secret key): the same account id, username, role
    and scope on both, yet a token of one does not open the other."""
    token = client.post(
        "/api/auth/token", json={"username": "agent_hecheng", "password": PASSWORD}
    ).json()["access_token"]
    assert client.get(ME, headers=bearer(token)).status_code == 200
    ours = client.run(installation_id)
    with other_deployment(client, template, base_settings, database_url, tmp_path) as other:
        assert other.app.state.runtime.settings.secret_key == get_settings().secret_key
        before = other.snapshot()
        refused = other.get(ME, headers=bearer(token))
        assert (refused.status_code, refused.json()["code"]) == (401, "invalid_token")
        sync = other.post("/api/cases/sync", json={"records": []}, headers=bearer(token))
        assert (sync.status_code, sync.json()["code"]) == (401, "invalid_token")
        assert other.snapshot() == before
        # Its own sign-in works there, and is refused here.
        theirs = other.post(
            "/api/auth/token", json={"username": "agent_hecheng", "password": PASSWORD}
        ).json()["access_token"]
        assert other.get(ME, headers=bearer(theirs)).json()["username"] == "agent_hecheng"
        assert other.run(installation_id) == "b" * 32 != ours
    assert client.get(ME, headers=bearer(token)).json()["role"] == "village_agent"
    assert client.get(ME, headers=bearer(theirs)).status_code == 401


def test_an_agent_token_never_becomes_the_other_servers_municipal_account(
    client, template, base_settings, database_url, tmp_path
):
    """The incident: the agent's account id is a municipal account on the other server."""
    agent = account_id(client, "agent_hecheng")
    token = client.template.tokens["agent_hecheng"]

    async def municipal_at_that_id() -> None:
        await Account.update(
            {
                Account.username: "centre_b",
                Account.username_key: "centre_b",
                Account.role: "municipal",
                Account.scope: CITY,
            }
        ).where(Account.id == agent)

    with other_deployment(
        client, template, base_settings, database_url, tmp_path, municipal_at_that_id
    ) as other:
        before = other.snapshot()
        created = other.post(
            "/api/users",
            json={
                "username": "mallory",
                "password": "Mallory-Passw0rd!",
                "role": "municipal",
                "scope": "431200",
            },
            headers=bearer(token),
        )
        assert (created.status_code, created.json()["code"]) == (401, "invalid_token")
        assert other.get("/api/audit", headers=bearer(token)).status_code == 401
        assert other.snapshot() == before


def test_a_token_signed_with_the_key_but_for_no_deployment_is_refused(client):
    """Tokens from before the binding (no issuer, no audience), or naming another deployment."""
    account = account_id(client, "municipal")
    now = datetime.now(UTC)
    claims = {
        "sub": str(account),
        "exp": int((now + timedelta(hours=1)).timestamp()),
        "iat": int(now.timestamp()),
        "usr": "municipal",
        "role": "municipal",
        "scope": CITY,
        "ver": 1,
    }
    ours = client.run(installation_id)
    key = get_settings().secret_key
    for extra in ({}, {"iss": "x" * 32, "aud": "x" * 32}, {"iss": ours}, {"aud": ours}):
        token = jwt.encode({**claims, **extra}, key, algorithm="HS256")
        response = client.get(ME, headers=bearer(token))
        assert (response.status_code, response.json()["code"]) == (401, "invalid_token"), extra
    good = jwt.encode({**claims, "iss": ours, "aud": ours}, key, algorithm="HS256")
    assert client.get(ME, headers=bearer(good)).json()["username"] == "municipal"


@pytest.mark.parametrize(
    "change",
    [
        {"role": "municipal", "scope": CITY},
        {"scope": "431221000000"},
        {"username": "planner_renamed", "username_key": "planner_renamed"},
    ],
    ids=["role", "scope", "username"],
)
def test_a_changed_username_role_or_scope_revokes_the_token(client, change):
    planner = client.auth("planner_hecheng")
    assert client.get(ME, headers=planner).status_code == 200
    account = account_id(client, "planner_hecheng")

    async def alter() -> None:
        values = {getattr(Account, k): v for k, v in change.items()}
        await Account.update(values).where(Account.id == account)

    client.run(alter)
    before = client.snapshot()
    refused = client.get(ME, headers=planner)
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_token")
    site = client.template.sites["hecheng"]
    edit = client.patch(f"/api/sites/{site}", json={"address": "x"}, headers=planner)
    assert (edit.status_code, edit.json()["code"]) == (401, "invalid_token")
    assert client.snapshot() == before
    # A new sign-in carries the account as it is now.
    username = change.get("username", "planner_hecheng")
    fresh = client.post("/api/auth/token", json={"username": username, "password": PASSWORD})
    me = client.get(ME, headers=bearer(fresh.json()["access_token"])).json()
    assert (me["username"], me["role"]) == (username, change.get("role", "county_planner"))


def test_each_migrated_database_gets_its_own_installation_id(engine_name, tmp_path):
    from registry.core.settings import settings_from_env
    from registry.db.binding import connected, migrate
    from registry.db.engines import make_engine
    from registry.tables import Installation

    if engine_name == "postgres" and not pg_available():
        pytest.skip("PostgreSQL not available")
    urls, names = [], []
    for n in range(2):
        if engine_name == "sqlite":
            urls.append(f"sqlite:///{tmp_path / f'fresh{n}.sqlite3'}")
        else:
            name = f"registry_i_{uuid.uuid4().hex[:10]}"
            _pg_admin(f'CREATE DATABASE "{name}"')
            names.append(name)
            urls.append(_pg_url(name))

    async def identity(url: str) -> list[str]:
        await migrate(make_engine(url))
        await migrate(make_engine(url))  # idempotent: the id is made once
        async with connected(replace(settings_from_env(), database_url=url), pool_size=1):
            rows = await Installation.select(Installation.installation_id)
            return [r["installation_id"] for r in rows]

    try:
        first, second = (asyncio.run(identity(url)) for url in urls)
        assert len(first) == len(second) == 1
        assert len(first[0]) == 32 and first != second
    finally:
        for name in names:
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ------------------------------------------------------------------------------ 3. writes


def _write_operations(client: ApiClient) -> list[tuple[str, str, str]]:
    """(method, path with ids filled in, operation id) of every write in the OpenAPI document."""
    site, plan = client.template.sites["hecheng"], 1
    fill = {
        "{site_id}": str(site),
        "{plan_id}": str(plan),
        "{account_id}": "1",
        "{code}": "SB001",
        "{case_id}": "00000000-0000-4000-8000-000000000000",
        "{what}": "sites",
        "{year}": "2027",
    }
    found = []
    for path, item in client.get("/schema/openapi.json").json()["paths"].items():
        for method, operation in item.items():
            if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
                filled = path
                for placeholder, value in fill.items():
                    filled = filled.replace(placeholder, value)
                found.append((method.upper(), filled, operation["operationId"]))
    return found


def test_every_write_route_declares_its_roles(client):
    from registry.http.guards import PUBLIC, WRITE_ROLES

    operations = _write_operations(client)
    assert len(operations) >= 18
    assert {op for _, _, op in operations} <= set(WRITE_ROLES)
    assert [op for _, _, op in operations if WRITE_ROLES[op] == PUBLIC] == ["issueToken"]


def test_an_app_with_a_write_route_naming_no_roles_does_not_start():
    from registry.http.guards import UndeclaredWriteRoute, prepare_routes

    @post("/api/things", operation_id="createThing")
    async def create_thing(data: JSONBody[dict[str, int]]) -> dict[str, int]:
        return data

    with pytest.raises(UndeclaredWriteRoute, match="/api/things"):
        prepare_routes(Litestar(route_handlers=[create_thing]))

    @post("/api/things", operation_id="createThing", opt={"roles": ("municipal",)})
    async def declared(data: JSONBody[dict[str, int]]) -> dict[str, int]:
        return data

    prepare_routes(Litestar(route_handlers=[declared]))


def test_anonymous_writes_are_refused_before_the_body_is_read(client):
    """Every write but sign-in: 401 with not one chunk of the body read, nothing changed."""
    before = client.snapshot()
    body = b'{"records": [' + b'{"id": "x"},' * 50_000 + b'{"id": "y"}]}'
    for method, path, operation in _write_operations(client):
        if operation == "issueToken":
            continue
        answer = request(
            client,
            method,
            path,
            body,
            headers={"content-type": "application/json"},
            chunks=20,
        )
        assert (answer.status, answer.json()["code"]) == (401, "not_authenticated"), path
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.body_reads == 0, f"{method} {path} read the body of an anonymous caller"
    assert client.snapshot() == before


@pytest.mark.parametrize(
    ("who", "method", "path"),
    [
        ("planner_hecheng", "POST", "/api/cases/sync"),
        ("municipal", "POST", "/api/cases"),
        ("agent_hecheng", "POST", "/api/users"),
        ("agent_hecheng", "POST", "/api/import/sites"),
        ("municipal", "POST", "/api/plans"),
        ("planner_hecheng", "POST", "/api/plans/1/approve"),
        ("planner_hecheng", "PATCH", "/api/matters/SB001"),
    ],
)
def test_a_wrong_role_is_refused_before_the_body_is_read(client, who, method, path):
    before = client.snapshot()
    answer = request(
        client,
        method,
        path,
        b"{" * 100_000,  # would be 400 malformed_json (or nesting_too_deep) if it were parsed
        headers={**client.auth(who), "content-type": "application/json"},
        chunks=10,
    )
    assert (answer.status, answer.json()["code"]) == (403, "wrong_role")
    assert answer.body_reads == 0
    assert client.snapshot() == before


def test_a_bad_token_on_a_write_is_refused_before_the_body_is_read(client):
    answer = request(
        client,
        "POST",
        "/api/cases/sync",
        b"[" * 10_000,
        headers={"Authorization": "Bearer not.a.token", "content-type": "application/json"},
        chunks=4,
    )
    assert (answer.status, answer.json()["code"]) == (401, "invalid_token")
    assert answer.body_reads == 0


def test_sign_in_stays_open_to_anonymous_callers_with_a_stale_token(client):
    """Signing in never needs (or checks) a token: a page holding an expired one can sign in."""
    response = client.post(
        "/api/auth/token",
        json={"username": "municipal", "password": PASSWORD},
        headers={"Authorization": "Bearer expired.or.garbage"},
    )
    assert response.status_code == 200


def test_anonymous_writes_are_rate_limited_per_address(client, frozen_clock):
    now = datetime.now(UTC)
    frozen_clock(now)
    client.app.state.runtime.settings = replace(
        get_settings(), anonymous_write_burst=3, anonymous_write_rate_per_minute=6
    )
    from registry.http.guards import anonymous_limiter

    assert anonymous_limiter().burst == 3
    for _ in range(3):
        assert sign_in(client, "municipal", PASSWORD, OFFICE).status == 200
    before = client.snapshot()
    refused = sign_in(client, "municipal", PASSWORD, OFFICE)
    assert (refused.status, refused.json()["code"]) == (429, "anonymous_rate_limited")
    assert refused.headers["retry-after"] == "10"
    assert client.snapshot() == before
    # Another address has its own bucket; signed-in writes are not counted against it.
    assert sign_in(client, "municipal", PASSWORD, ELSEWHERE).status == 200
    edit = request(
        client,
        "PATCH",
        f"/api/sites/{client.template.sites['hecheng']}",
        {"address": "迎丰路 1 号"},
        address=OFFICE,
        headers=client.auth("planner_hecheng"),
    )
    assert edit.status == 200
    frozen_clock(now + timedelta(seconds=10))
    assert sign_in(client, "municipal", PASSWORD, OFFICE).status == 200


def test_the_anonymous_write_limit_comes_from_the_environment():
    from registry.core.settings import settings_from_env

    env = {
        "REGISTRY_SECRET_KEY": "k" * 40,
        "REGISTRY_ANONYMOUS_WRITE_RATE_PER_MINUTE": "30",
        "REGISTRY_ANONYMOUS_WRITE_BURST": "7",
        "REGISTRY_LOGIN_ADDRESS_MAX_FAILURES": "25",
    }
    settings = settings_from_env(env)
    assert (settings.anonymous_write_rate_per_minute, settings.anonymous_write_burst) == (30, 7)
    assert settings.login_address_budget == 25
    defaults = settings_from_env({"REGISTRY_SECRET_KEY": "k" * 40})
    assert (defaults.anonymous_write_rate_per_minute, defaults.anonymous_write_burst) == (60, 100)
    assert (defaults.login_max_failures, defaults.login_window_seconds) == (5, 900)
    assert defaults.login_address_budget == 50


# ------------------------------------------------------------------------------ 5. throttling


def _fail(client: ApiClient, username: str, address: str, times: int = 1) -> None:
    for _ in range(times):
        answer = sign_in(client, username, WRONG, address)
        assert (answer.status, answer.json()["code"]) == (401, "invalid_credentials")


def _throttled(answer) -> int:
    assert (answer.status, answer.json()["code"]) == (429, "login_throttled"), answer.body
    return int(answer.headers["retry-after"])


def test_failures_of_one_pair_wait_with_growing_delays(client, frozen_clock):
    start = datetime.now(UTC)
    frozen_clock(start)
    _fail(client, "planner_hecheng", OFFICE, 5)
    refused = sign_in(client, "planner_hecheng", PASSWORD, OFFICE)  # even the right password
    assert _throttled(refused) == 60
    assert "请 1 分钟后再试" in refused.json()["detail_zh"]
    assert "1 minute" in refused.json()["detail_en"]
    # Every further failure doubles the wait: 2, 4, 8 minutes, then the 15-minute cap.
    at = start
    for wait in (60, 120, 240, 480, 900, 900):
        at += timedelta(seconds=wait)
        frozen_clock(at - timedelta(seconds=1))
        assert _throttled(sign_in(client, "planner_hecheng", PASSWORD, OFFICE)) == 1
        frozen_clock(at)
        _fail(client, "planner_hecheng", OFFICE)
        next_wait = min(wait * 2, 900)
        answer = sign_in(client, "planner_hecheng", PASSWORD, OFFICE)
        assert _throttled(answer) == next_wait
        assert f"请 {next_wait // 60} 分钟后再试" in answer.json()["detail_zh"]
    # After the wait the right password works, and the pair starts afresh.
    frozen_clock(at + timedelta(seconds=900))
    assert sign_in(client, "planner_hecheng", PASSWORD, OFFICE).status == 200
    _fail(client, "planner_hecheng", OFFICE, 4)
    assert sign_in(client, "planner_hecheng", PASSWORD, OFFICE).status == 200


def test_failures_from_one_address_never_lock_the_account_elsewhere(client, frozen_clock):
    frozen_clock(datetime.now(UTC))
    _fail(client, "municipal", "203.0.113.66", 5)
    assert _throttled(sign_in(client, "municipal", PASSWORD, "203.0.113.66")) > 0
    # The holder signs in from the office, the guesser keeps waiting.
    assert sign_in(client, "municipal", PASSWORD, OFFICE).status == 200
    assert sign_in(client, "municipal", PASSWORD, ELSEWHERE).status == 200


def test_one_clerks_typos_do_not_lock_the_office(client, frozen_clock):
    """Five failures for one account from the county office's address: the colleagues behind
    the same address still sign in."""
    frozen_clock(datetime.now(UTC))
    _fail(client, "planner_hecheng", OFFICE, 5)
    assert _throttled(sign_in(client, "planner_hecheng", PASSWORD, OFFICE)) == 60
    for colleague in ("planner_zhongfang", "agent_hecheng", "agent_zhongfang", "municipal"):
        assert sign_in(client, colleague, PASSWORD, OFFICE).status == 200, colleague
    # Five failures of five different accounts from one address lock nothing either.
    for i in range(5):
        _fail(client, f"clerk{i}", OFFICE)
    assert sign_in(client, "planner_zhongfang", PASSWORD, OFFICE).status == 200


def test_password_spraying_from_one_address_meets_the_address_budget(client, frozen_clock):
    start = datetime.now(UTC)
    frozen_clock(start)
    budget = get_settings().login_address_budget
    assert budget == 50  # ten clerks' worth of typos
    for i in range(budget):
        frozen_clock(start + timedelta(seconds=i))
        _fail(client, f"user{i:03d}", "203.0.113.99")
    frozen_clock(start + timedelta(seconds=budget))
    refused = sign_in(client, "planner_zhongfang", PASSWORD, "203.0.113.99")
    assert _throttled(refused) == 900 - budget
    assert "请 15 分钟后再试" in refused.json()["detail_zh"]
    assert sign_in(client, "planner_zhongfang", PASSWORD, ELSEWHERE).status == 200
    # The window slides: once the oldest failure leaves it, one more attempt may pass.
    frozen_clock(start + timedelta(seconds=900))
    assert sign_in(client, "planner_zhongfang", PASSWORD, "203.0.113.99").status == 200


def test_known_and_unknown_usernames_are_throttled_alike(client, frozen_clock):
    frozen_clock(datetime.now(UTC))
    _fail(client, "municipal", OFFICE, 5)
    _fail(client, "no_such_user", OFFICE, 5)
    known = sign_in(client, "municipal", WRONG, OFFICE)
    unknown = sign_in(client, "no_such_user", WRONG, OFFICE)
    assert _throttled(known) == _throttled(unknown) == 60
    assert known.json()["detail"] == unknown.json()["detail"]


def test_the_account_holder_is_told_in_the_audit_trail(client, frozen_clock):
    frozen_clock(datetime.now(UTC))
    account = account_id(client, "planner_hecheng")
    _fail(client, "planner_hecheng", "203.0.113.5", 4)
    _fail(client, "no_such_user", "203.0.113.5", 5)  # nobody to tell
    entries = client.get(
        "/api/audit", params={"action": "sign_in_failed"}, headers=client.auth("municipal")
    ).json()
    assert entries["total"] == 0
    _fail(client, "planner_hecheng", "203.0.113.5")
    entries = client.get(
        "/api/audit", params={"action": "sign_in_failed"}, headers=client.auth("municipal")
    ).json()
    assert entries["total"] == 1
    entry = entries["items"][0]
    assert (entry["entity"], entry["entity_id"], entry["actor"]) == (
        "account",
        str(account),
        "anonymous",
    )
    assert "sign-in attempts failed from address 203.0.113.5" in entry["note"]
    assert "203.0.113.5" in entry["note"] and "1 分钟" in entry["note"]
    assert entry["changes"] == [{"field": "failed_attempts", "before": None, "after": 5}]
    # The planner reads it among their county's entries.
    own = client.get(
        "/api/audit", params={"action": "sign_in_failed"}, headers=client.auth("planner_hecheng")
    ).json()
    assert own["total"] == 1


def test_a_disabled_account_counts_failures_like_any_other(client, frozen_clock):
    frozen_clock(datetime.now(UTC))
    account = account_id(client, "agent_zhongfang")
    client.patch(f"/api/users/{account}", json={"active": False}, headers=client.auth("municipal"))
    for _ in range(5):
        answer = sign_in(client, "agent_zhongfang", PASSWORD, OFFICE)
        assert (answer.status, answer.json()["code"]) == (401, "account_disabled")
    assert _throttled(sign_in(client, "agent_zhongfang", PASSWORD, OFFICE)) == 60


def test_the_throttle_follows_its_settings(client, frozen_clock):
    """REGISTRY_LOGIN_MAX_FAILURES: failures of a pair before it waits;
    REGISTRY_LOGIN_WINDOW_SECONDS: the longest wait (and the address budget's window)."""
    start = datetime.now(UTC)
    frozen_clock(start)
    client.app.state.runtime.settings = replace(
        get_settings(), login_max_failures=2, login_window_seconds=300
    )
    _fail(client, "municipal", OFFICE, 2)
    assert _throttled(sign_in(client, "municipal", PASSWORD, OFFICE)) == 60
    at = start
    for wait in (60, 120, 240):
        at += timedelta(seconds=wait)
        frozen_clock(at)
        _fail(client, "municipal", OFFICE)
    assert _throttled(sign_in(client, "municipal", PASSWORD, OFFICE)) == 300  # capped
    assert get_settings().login_address_budget == 20


def test_a_burst_of_parallel_guesses_cannot_outrun_the_count(client, frozen_clock):
    """Twenty wrong passwords sent at once for one account from one address: only as many are
    checked as the limit allows (attempts still being hashed count as failures to come)."""
    from tests.integration.asgi_raw import _call

    frozen_clock(datetime.now(UTC))
    body = b'{"username": "municipal", "password": "Wrong-Passw0rd!"}'
    headers = {"content-type": "application/json"}

    async def burst() -> list[int]:
        answers = await asyncio.gather(
            *(
                _call(client.app, "POST", "/api/auth/token", body, OFFICE, headers, 1)
                for _ in range(20)
            )
        )
        return [a.status for a in answers]

    statuses = client.run(burst)
    assert statuses.count(401) <= 5
    assert statuses.count(401) + statuses.count(429) == 20
    assert _throttled(sign_in(client, "municipal", PASSWORD, OFFICE)) > 0


def test_a_patient_guesser_gets_no_fresh_tries_until_a_quiet_day(client, frozen_clock):
    """Waiting out a short wait does not reset the count (the old window did: five fresh tries
    every 15 minutes); a day without failures does."""
    start = datetime.now(UTC)
    frozen_clock(start)
    _fail(client, "municipal", OFFICE, 5)
    frozen_clock(start + timedelta(minutes=16))
    _fail(client, "municipal", OFFICE)
    assert _throttled(sign_in(client, "municipal", WRONG, OFFICE)) == 120
    frozen_clock(start + timedelta(minutes=18, days=1))
    _fail(client, "municipal", OFFICE, 4)
    assert sign_in(client, "municipal", PASSWORD, OFFICE).status == 200
