"""Accounts managed by the municipal centre (both engines)."""

from __future__ import annotations

import pytest

STRONG = "Hh-Strong-Pass-42"


def new_user(client, who="municipal", **overrides):
    body = {
        "username": "liu_planner",
        "password": STRONG,
        "role": "county_planner",
        "scope": "431223",
        "display_name": "刘规划",
    } | overrides
    return client.post("/api/users", json=body, headers=client.auth(who))


def test_municipal_creates_a_planner_for_a_county(client):
    response = new_user(client)
    assert response.status_code == 201, response.text
    account = response.json()
    assert (account["role"], account["scope"], account["active"]) == (
        "county_planner",
        "431223000000",
        True,
    )
    assert "password" not in account and "password_hash" not in account
    token = client.post("/api/auth/token", json={"username": "liu_planner", "password": STRONG})
    assert token.status_code == 200
    me = client.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    ).json()
    assert me == {
        "username": "liu_planner",
        "role": "county_planner",
        "scope": "431223000000",
        "display_name": "刘规划",
    }


def test_municipal_creates_an_agent_for_a_point(client):
    site = client.template.sites["zhongfang"]
    response = new_user(client, username="wang_agent", role="village_agent", scope=str(site))
    assert response.status_code == 201, response.text
    assert response.json()["scope"] == str(site)


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"password": "short1!"}, 422, "weak_password"),
        ({"password": "alllowercaseletters"[:12]}, 422, "weak_password"),
        ({"password": "liu_planner-X9!"}, 422, "weak_password"),
        ({"username": "PLANNER_HECHENG"}, 409, "username_taken"),
        ({"username": "a"}, 422, "invalid_username"),
        ({"username": "bad name"}, 422, "invalid_username"),
        ({"role": "superuser"}, 422, "invalid_role"),
        # Planner with a village scope, agent with a county scope.
        ({"scope": "431202102200"}, 422, "invalid_scope"),
        ({"role": "village_agent", "scope": "431202"}, 422, "invalid_scope"),
        ({"role": "village_agent", "scope": "999999"}, 422, "invalid_scope"),
        ({"role": "municipal", "scope": "431202"}, 422, "invalid_scope"),
        ({"scope": "431299"}, 422, "invalid_scope"),
        ({"is_admin": True}, 422, "unknown_field"),
    ],
)
def test_bad_accounts_are_refused_and_nothing_changes(client, overrides, status, code):
    before = client.snapshot()
    response = new_user(client, **overrides)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert client.snapshot() == before


def test_agent_scope_must_be_an_agency_point_not_a_centre(client):
    centre = client.post(
        "/api/sites",
        json={"division_code": "431202102000", "lon": 109.99, "lat": 27.55},
        headers=client.auth("planner_hecheng"),
    ).json()
    response = new_user(
        client, username="centre_agent", role="village_agent", scope=str(centre["id"])
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_scope"


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        (None, 401, "not_authenticated"),
        ("planner_hecheng", 403, "wrong_role"),
        ("agent_hecheng", 403, "wrong_role"),
    ],
)
def test_only_municipal_manages_accounts(client, who, status, code):
    before = client.snapshot()
    # Privilege escalation attempt: a planner creating a municipal account.
    response = new_user(client, who, username="escalate", role="municipal", scope="431200")
    assert response.status_code == status
    assert response.json()["code"] == code
    listing = client.get("/api/users", headers=client.auth(who))
    assert listing.status_code == status
    assert client.snapshot() == before


def test_planner_cannot_enable_or_promote_itself(client):
    users = client.get("/api/users", headers=client.auth("municipal")).json()["items"]
    me = next(u for u in users if u["username"] == "planner_hecheng")
    before = client.snapshot()
    for body in ({"active": True}, {"password": "Another-Pass-99"}, {"role": "municipal"}):
        response = client.patch(
            f"/api/users/{me['id']}", json=body, headers=client.auth("planner_hecheng")
        )
        assert response.status_code in (403, 422)
    assert client.snapshot() == before


def test_municipal_cannot_disable_itself(client):
    users = client.get("/api/users", headers=client.auth("municipal")).json()["items"]
    me = next(u for u in users if u["username"] == "municipal")
    response = client.patch(
        f"/api/users/{me['id']}", json={"active": False}, headers=client.auth("municipal")
    )
    assert response.status_code == 422
    assert response.json()["code"] == "cannot_disable_self"


def test_list_filters(client):
    agents = client.get(
        "/api/users", params={"role": "village_agent"}, headers=client.auth("municipal")
    ).json()
    assert agents["total"] == 2
    assert {u["username"] for u in agents["items"]} == {"agent_hecheng", "agent_zhongfang"}
    scoped = client.get(
        "/api/users", params={"scope": "431202000000"}, headers=client.auth("municipal")
    ).json()
    assert [u["username"] for u in scoped["items"]] == ["planner_hecheng"]


def test_account_changes_are_audited_without_secrets(client):
    created = new_user(client).json()
    client.patch(
        f"/api/users/{created['id']}",
        json={"password": "Changed-Pass-77"},
        headers=client.auth("municipal"),
    )
    entries = client.get(
        "/api/audit",
        params={"entity": "account", "entity_id": created["id"]},
        headers=client.auth("municipal"),
    ).json()["items"]
    assert [e["action"] for e in entries] == ["update", "create"]
    text = repr(entries)
    assert STRONG not in text and "Changed-Pass-77" not in text and "argon2" not in text
    assert entries[0]["changes"] == [{"field": "password", "before": "***", "after": "***"}]
