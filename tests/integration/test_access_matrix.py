"""Every write endpoint × every role × own/other scope (both engines).

Each refused request must change nothing; each accepted one must append an audit entry.
To cover a new write endpoint, add a ``Write`` to ``WRITES``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

ACTORS = (
    None,
    "municipal",
    "planner_hecheng",
    "planner_zhongfang",
    "agent_hecheng",
    "agent_zhongfang",
)
# Expected status per actor for a write on 鹤城区's ground (own = hecheng, other = zhongfang).
COUNTY_WRITE = {
    None: 401,
    "municipal": "ok",
    "planner_hecheng": "ok",
    "planner_zhongfang": 403,
    "agent_hecheng": 403,
    "agent_zhongfang": 403,
}
MUNICIPAL_ONLY = {
    None: 401,
    "municipal": "ok",
    "planner_hecheng": 403,
    "planner_zhongfang": 403,
    "agent_hecheng": 403,
    "agent_zhongfang": 403,
}


@dataclass(frozen=True)
class Write:
    name: str
    method: str
    path: Callable[[Any], str]
    body: Callable[[Any], dict[str, Any]]
    ok: int
    expected: dict[str | None, int | str]


def _account_id(client, username: str) -> int:
    users = client.get("/api/users", params={"limit": 100}, headers=client.auth("municipal"))
    return next(u["id"] for u in users.json()["items"] if u["username"] == username)


WRITES = [
    Write(
        "register site",
        "post",
        lambda c: "/api/sites",
        lambda c: {"division_code": "431202102000", "lon": 109.99, "lat": 27.55},
        201,
        COUNTY_WRITE,
    ),
    Write(
        "edit site",
        "patch",
        lambda c: f"/api/sites/{c.template.sites['hecheng']}",
        lambda c: {"address": "村部一楼"},
        200,
        COUNTY_WRITE,
    ),
    Write(
        "site status",
        "post",
        lambda c: f"/api/sites/{c.template.sites['hecheng']}/status",
        lambda c: {"status": "suspended", "effective_date": "2014-01-01", "note": "整修"},
        201,
        COUNTY_WRITE,
    ),
    Write(
        "create account",
        "post",
        lambda c: "/api/users",
        lambda c: {
            "username": "new_planner",
            "password": "Hh-Strong-Pass-42",
            "role": "county_planner",
            "scope": "431202",
        },
        201,
        MUNICIPAL_ONLY,
    ),
    Write(
        "edit account",
        "patch",
        lambda c: f"/api/users/{_account_id(c, 'planner_zhongfang')}",
        lambda c: {"display_name": "中方县规划员"},
        200,
        MUNICIPAL_ONLY,
    ),
]

CASES = [(w, actor) for w in WRITES for actor in ACTORS]


@pytest.mark.parametrize(
    ("write", "actor"), CASES, ids=[f"{w.name}-{a or 'anonymous'}" for w, a in CASES]
)
def test_write_endpoint_enforces_role_and_scope(client, write, actor):
    path, body = write.path(client), write.body(client)
    before = client.snapshot()
    audit_before = before["audit_entry"][0]
    response = getattr(client, write.method)(path, json=body, headers=client.auth(actor))
    expected = write.expected[actor]
    if expected == "ok":
        assert response.status_code == write.ok, response.text
        assert client.snapshot()["audit_entry"][0] == audit_before + 1
    else:
        assert response.status_code == expected, response.text
        assert (
            response.json()["code"]
            in ({401: {"not_authenticated"}, 403: {"wrong_role", "out_of_scope"}}[expected])
        )
        assert client.snapshot() == before
