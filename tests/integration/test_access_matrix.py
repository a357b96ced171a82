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


AGENT_OWN = {
    None: 401,
    "municipal": 403,
    "planner_hecheng": 403,
    "planner_zhongfang": 403,
    "agent_hecheng": "ok",
    "agent_zhongfang": 403,
}
NEW_CASE_RECEIVED = "2014-10-08T09:30:00+08:00"
PLANNER_ONLY = {
    None: 401,
    "municipal": 403,
    "planner_hecheng": "ok",
    "planner_zhongfang": 403,
    "agent_hecheng": 403,
    "agent_zhongfang": 403,
}


@dataclass(frozen=True)
class Write:
    """A write endpoint: ``path`` and ``body`` get the client and what ``setup`` returned."""

    name: str
    method: str
    path: Callable[[Any, Any], str]
    body: Callable[[Any, Any], Any]
    ok: int
    expected: dict[str | None, int | str]
    setup: Callable[[Any], Any] = lambda client: None
    raw: bool = False  # body is bytes (sent as the raw request body)
    content_type: str | None = None


PLAN_ITEMS = [
    {"division_code": "431202102000", "target": "standardized", "target_date": "2015-06-30"}
]


def _plan(client, submitted: bool = False) -> int:
    """A draft (or submitted) centres plan of 鹤城区, made by its planner."""
    response = client.post(
        "/api/plans",
        json={
            "county_code": "431202",
            "campaign": "centres-2015",
            "title": "鹤城区规划",
            "items": PLAN_ITEMS,
            "missing_explained": {
                code: "另行安排" for code in _hecheng_townships(client) if code != "431202102000"
            },
        },
        headers=client.auth("planner_hecheng"),
    )
    assert response.status_code == 201, response.text
    plan_id = response.json()["id"]
    if submitted:
        done = client.post(
            f"/api/plans/{plan_id}/submit", json={}, headers=client.auth("planner_hecheng")
        )
        assert done.status_code == 200, done.text
    return plan_id


def _revision(client, plan_id: int) -> int:
    """The plan's current revision (what an edit must be based on)."""
    response = client.get(f"/api/plans/{plan_id}", headers=client.auth("municipal"))
    return response.json()["revision"]


def _hecheng_townships(client) -> list[str]:
    body = client.get("/api/divisions", params={"parent": "431202", "level": "township"}).json()
    return [d["code"] for d in body["items"] if d["abolished_on"] is None]


def _case(client) -> dict[str, Any]:
    return {
        "id": str(__import__("uuid").uuid4()),
        "site_id": client.template.sites["hecheng"],
        "matter_code": "SB001",
        "resident_name": "张三明",
        "resident_id_number": "431202198001010018",
        "received_at": NEW_CASE_RECEIVED,
    }


def _logged_case(client) -> str:
    body = _case(client)
    response = client.post("/api/cases", json=body, headers=client.auth("agent_hecheng"))
    assert response.status_code == 201, response.text
    return body["id"]


def _account_id(client, username: str) -> int:
    users = client.get("/api/users", params={"limit": 100}, headers=client.auth("municipal"))
    return next(u["id"] for u in users.json()["items"] if u["username"] == username)


def _filled_template(client) -> bytes:
    from tests.integration.test_plans_xlsx import fill, save, template

    workbook, _ = fill(template(client))
    return save(workbook)


WRITES = [
    Write(
        "register site",
        "post",
        lambda c, s: "/api/sites",
        lambda c, s: {"division_code": "431202102000", "lon": 109.99, "lat": 27.55},
        201,
        COUNTY_WRITE,
    ),
    Write(
        "edit site",
        "patch",
        lambda c, s: f"/api/sites/{c.template.sites['hecheng']}",
        lambda c, s: {"address": "村部一楼"},
        200,
        COUNTY_WRITE,
    ),
    Write(
        "site status",
        "post",
        lambda c, s: f"/api/sites/{c.template.sites['hecheng']}/status",
        lambda c, s: {"status": "suspended", "effective_date": "2014-01-01", "note": "整修"},
        201,
        COUNTY_WRITE,
    ),
    Write(
        "create account",
        "post",
        lambda c, s: "/api/users",
        lambda c, s: {
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
        lambda c, s: f"/api/users/{_account_id(c, 'planner_zhongfang')}",
        lambda c, s: {"display_name": "中方县规划员"},
        200,
        MUNICIPAL_ONLY,
    ),
    Write(
        "create plan",
        "post",
        lambda c, s: "/api/plans",
        lambda c, s: {
            "county_code": "431202",
            "campaign": "centres-2015",
            "title": "规划",
            "items": PLAN_ITEMS,
        },
        201,
        PLANNER_ONLY,
    ),
    Write(
        "edit plan",
        "put",
        lambda c, s: f"/api/plans/{s}",
        lambda c, s: {
            "title": "鹤城区规划（修订）",
            "items": PLAN_ITEMS,
            "revision": _revision(c, s),
        },
        200,
        PLANNER_ONLY,
        setup=_plan,
    ),
    Write(
        "submit plan",
        "post",
        lambda c, s: f"/api/plans/{s}/submit",
        lambda c, s: {},
        200,
        PLANNER_ONLY,
        setup=_plan,
    ),
    Write(
        "approve plan",
        "post",
        lambda c, s: f"/api/plans/{s}/approve",
        lambda c, s: {"comment": "同意"},
        200,
        {**MUNICIPAL_ONLY, "planner_hecheng": 403},
        setup=lambda c: _plan(c, submitted=True),
    ),
    Write(
        "return plan",
        "post",
        lambda c, s: f"/api/plans/{s}/return",
        lambda c, s: {"comment": "请补充预算"},
        200,
        MUNICIPAL_ONLY,
        setup=lambda c: _plan(c, submitted=True),
    ),
    Write(
        "import plan workbook",
        "post",
        lambda c, s: "/api/plans/import",
        lambda c, s: _filled_template(c),
        201,
        PLANNER_ONLY,
        raw=True,
    ),
    Write(
        "create matter",
        "post",
        lambda c, s: "/api/matters",
        lambda c, s: {
            "code": "TEST01",
            "name": "测试事项",
            "category": "测试",
            "department": "县政务服务中心",
            "time_limit_days": 5,
        },
        201,
        MUNICIPAL_ONLY,
    ),
    Write(
        "edit matter",
        "patch",
        lambda c, s: "/api/matters/SB001",
        lambda c, s: {"time_limit_days": 12},
        200,
        MUNICIPAL_ONLY,
    ),
    Write("create case", "post", lambda c, s: "/api/cases", lambda c, s: _case(c), 201, AGENT_OWN),
    Write(
        "edit case",
        "patch",
        lambda c, s: f"/api/cases/{s}",
        lambda c, s: {
            "version": 1,
            "state": "forwarded",
            "forwarded_at": "2014-10-09T10:00:00+08:00",
        },
        200,
        AGENT_OWN,
        setup=lambda c: _logged_case(c),
    ),
    # A batch is answered per record: another point's record is refused inside a 200.
    Write(
        "sync cases",
        "post",
        lambda c, s: "/api/cases/sync",
        lambda c, s: {"records": [_case(c)]},
        200,
        {**AGENT_OWN, "agent_zhongfang": (200, "out_of_scope")},
    ),
    # A file is answered per row: another county's rows are refused, nothing written.
    Write(
        "import sites",
        "post",
        lambda c, s: "/api/import/sites",
        lambda c, s: (
            b"division_code,lon,lat,crs,status,effective_date\n"
            b"431202102000,109.99,27.55,wgs84,in_service,2014-05-01\n"
        ),
        200,
        {**COUNTY_WRITE, "planner_zhongfang": (422, "out_of_scope")},
        raw=True,
        content_type="text/csv",
    ),
]

CASES = [(w, actor) for w in WRITES for actor in ACTORS]


@pytest.mark.parametrize(
    ("write", "actor"), CASES, ids=[f"{w.name}-{a or 'anonymous'}" for w, a in CASES]
)
def test_write_endpoint_enforces_role_and_scope(client, write, actor):
    state = write.setup(client)
    path, body = write.path(client, state), write.body(client, state)
    before = client.snapshot()
    audit_before = before["audit_entry"][0]
    send = getattr(client, write.method)
    if write.raw:
        headers = {**client.auth(actor)}
        if write.content_type:
            headers["Content-Type"] = write.content_type
        response = send(path, content=body, headers=headers)
    else:
        response = send(path, json=body, headers=client.auth(actor))
    expected = write.expected[actor]
    if isinstance(expected, tuple):
        status, code = expected
        assert response.status_code == status, response.text
        assert code in response.text
        assert client.snapshot() == before
    elif expected == "ok":
        assert response.status_code == write.ok, response.text
        assert client.snapshot()["audit_entry"][0] > audit_before
    else:
        assert response.status_code == expected, response.text
        assert (
            response.json()["code"]
            in ({401: {"not_authenticated"}, 403: {"wrong_role", "out_of_scope"}}[expected])
        )
        assert client.snapshot() == before
