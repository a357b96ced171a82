"""Personal data in free text, separated or disguised, is refused on every path where an agent's,
a planner's or a reviewer's text lands — case notes and return reasons (POST, PATCH, sync),
site notes and addresses, plan titles, item notes, reasons and review comments — with
``personal_data_in_text``, and none of it reaches a table or the audit (both engines).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from registry.cases.rules.resident_id import with_check_character
from tests.integration.test_cases import NOW, record

NAME = "欧阳秀英"
# An identity number and a mobile number hidden as people write them in notes.
HIDDEN = [
    "证件 431202-19850612-3472",
    "4312.0219.8506.1234.72",
    "身份证4/3/1/2/0/2/1/9/8/5/0/6/1/2/3/4/7/2",
    "tel 138-7451-2345",
    "电话 ４３１２０２１９８５０６１２３４７２",
    "电话 138·7451・2345",
    "电话一三八七四五一二三四五",
    "+86 138 7451 2345",
]
# The resident's name written with a dot or spaces.
NAMED = ["欧阳·秀英本人来电", "欧阳・秀英", "欧 阳 秀 英"]
TRACES = ["431202198506123472", "13874512345", "7451", "秀英"]
HECHENG_TOWNSHIPS = "431202"


@pytest.fixture(autouse=True)
def clock_2014(client, frozen_clock):
    frozen_clock(NOW)


def _case(client, **values: Any) -> dict[str, Any]:
    person = {
        "resident_name": NAME,
        "resident_id_number": with_check_character("43120219800101001"),
    }
    return record(client, **{**person, **values})


def _returned(text: str) -> dict[str, Any]:
    return {
        "state": "returned",
        "forwarded_at": "2014-10-08T10:00:00+08:00",
        "returned_at": "2014-10-09T10:00:00+08:00",
        "returned_reason": text,
    }


def _stored_case(client) -> dict[str, Any]:
    """A case of 欧阳秀英 (stored with her name masked only)."""
    response = client.post("/api/cases", json=_case(client), headers=client.auth("agent_hecheng"))
    assert response.status_code == 201, response.text
    return response.json()


def _plan(client, submitted: bool = False) -> dict[str, Any]:
    townships = [
        d["code"]
        for d in client.get(
            "/api/divisions", params={"parent": HECHENG_TOWNSHIPS, "level": "township"}
        ).json()["items"]
        if d["abolished_on"] is None
    ]
    response = client.post(
        "/api/plans",
        json={
            "county_code": HECHENG_TOWNSHIPS,
            "campaign": "centres-2015",
            "title": "鹤城区规划",
            "items": [
                {
                    "division_code": townships[0],
                    "target": "standardized",
                    "target_date": "2015-06-30",
                }
            ],
            "missing_explained": {code: "另行安排" for code in townships[1:]},
        },
        headers=client.auth("planner_hecheng"),
    )
    assert response.status_code == 201, response.text
    plan = response.json()
    if submitted:
        done = client.post(
            f"/api/plans/{plan['id']}/submit", json={}, headers=client.auth("planner_hecheng")
        )
        assert done.status_code == 200, done.text
        plan = done.json()
    return plan


def _plan_body(plan: dict[str, Any], **change: Any) -> dict[str, Any]:
    items = [
        {k: i[k] for k in ("division_code", "target", "target_date", "note")} for i in plan["items"]
    ]
    body = {"title": plan["title"], "items": items, "revision": plan["revision"]}
    if "note" in change:
        items[0]["note"] = change.pop("note")
    if "reason" in change:
        code = next(iter(plan["missing_explained"]))
        body["missing_explained"] = {**plan["missing_explained"], code: change.pop("reason")}
    body.update(change)
    return body


# (name, texts tried, set-up giving the state, request sending one text)
Send = Callable[[Any, Any, str], Any]
PATHS: list[tuple[str, list[str], Callable[[Any], Any], Send]] = [
    (
        "case note (POST)",
        HIDDEN + NAMED,
        lambda c: None,
        lambda c, s, t: c.post(
            "/api/cases", json=_case(c, note=t), headers=c.auth("agent_hecheng")
        ),
    ),
    (
        "case return reason (POST)",
        HIDDEN + NAMED,
        lambda c: None,
        lambda c, s, t: c.post(
            "/api/cases", json=_case(c, **_returned(t)), headers=c.auth("agent_hecheng")
        ),
    ),
    (
        "case note (PATCH, the name known only masked)",
        HIDDEN + NAMED,
        _stored_case,
        lambda c, s, t: c.patch(
            f"/api/cases/{s['id']}", json={"version": 1, "note": t}, headers=c.auth("agent_hecheng")
        ),
    ),
    (
        "case return reason (PATCH)",
        HIDDEN + NAMED,
        _stored_case,
        lambda c, s, t: c.patch(
            f"/api/cases/{s['id']}",
            json={"version": 1, **_returned(t)},
            headers=c.auth("agent_hecheng"),
        ),
    ),
    (
        "site status note",
        HIDDEN,
        lambda c: c.template.sites["hecheng"],
        lambda c, s, t: c.post(
            f"/api/sites/{s}/status",
            json={"status": "suspended", "effective_date": "2014-10-10", "note": t},
            headers=c.auth("planner_hecheng"),
        ),
    ),
    (
        "site edit note",
        HIDDEN,
        lambda c: c.template.sites["hecheng"],
        lambda c, s, t: c.patch(
            f"/api/sites/{s}",
            json={"staff_count": 3, "note": t},
            headers=c.auth("planner_hecheng"),
        ),
    ),
    (
        "site address",
        HIDDEN,
        lambda c: c.template.sites["hecheng"],
        lambda c, s, t: c.patch(
            f"/api/sites/{s}", json={"address": t}, headers=c.auth("planner_hecheng")
        ),
    ),
    (
        "site registration note",
        HIDDEN,
        lambda c: c.get("/api/divisions", params={"parent": "431202102000", "limit": 100}).json()[
            "items"
        ][-1]["code"],
        lambda c, s, t: c.post(
            "/api/sites",
            json={"division_code": s, "lon": 109.99, "lat": 27.55, "note": t},
            headers=c.auth("planner_hecheng"),
        ),
    ),
    (
        "plan item note",
        HIDDEN,
        _plan,
        lambda c, s, t: c.put(
            f"/api/plans/{s['id']}", json=_plan_body(s, note=t), headers=c.auth("planner_hecheng")
        ),
    ),
    (
        "plan missing_explained reason",
        HIDDEN,
        _plan,
        lambda c, s, t: c.put(
            f"/api/plans/{s['id']}",
            json=_plan_body(s, reason=t),
            headers=c.auth("planner_hecheng"),
        ),
    ),
    (
        "plan title",
        HIDDEN,
        _plan,
        lambda c, s, t: c.put(
            f"/api/plans/{s['id']}", json=_plan_body(s, title=t), headers=c.auth("planner_hecheng")
        ),
    ),
    (
        "plan submit comment",
        HIDDEN,
        _plan,
        lambda c, s, t: c.post(
            f"/api/plans/{s['id']}/submit", json={"comment": t}, headers=c.auth("planner_hecheng")
        ),
    ),
    (
        "plan return comment",
        HIDDEN,
        lambda c: _plan(c, submitted=True),
        lambda c, s, t: c.post(
            f"/api/plans/{s['id']}/return", json={"comment": t}, headers=c.auth("municipal")
        ),
    ),
    (
        "plan approve comment",
        HIDDEN,
        lambda c: _plan(c, submitted=True),
        lambda c, s, t: c.post(
            f"/api/plans/{s['id']}/approve", json={"comment": t}, headers=c.auth("municipal")
        ),
    ),
]


@pytest.mark.parametrize(("name", "texts", "setup", "send"), PATHS, ids=[p[0] for p in PATHS])
def test_personal_data_in_free_text_is_refused_and_nothing_is_written(
    client, name, texts, setup, send
):
    state = setup(client)
    before = client.snapshot()
    for text in texts:
        response = send(client, state, text)
        assert response.status_code == 422, (text, response.text)
        assert response.json()["code"] == "personal_data_in_text", (text, response.json())
        for trace in TRACES:
            assert trace not in response.text, (text, trace)
        assert client.snapshot() == before, f"{text!r} changed the database"


def test_a_sync_batch_refuses_the_record_alone_and_keeps_its_text_out_of_the_audit(client):
    from registry.tables import AuditEntry, Case

    good = _case(client, note="材料已齐全，转乡镇民政办")
    bad = [
        _case(client, resident_id_number=with_check_character(f"43120219800102{n:03d}"), note=text)
        for n, text in enumerate(HIDDEN + NAMED[:1], start=2)
    ]
    response = client.post(
        "/api/cases/sync", json={"records": [good, *bad]}, headers=client.auth("agent_hecheng")
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["result"] for r in results] == ["created"] + ["invalid"] * len(bad)
    for r in results[1:]:
        assert [e["code"] for e in r["errors"]] == ["personal_data_in_text"], r
    stored = client.run(lambda: AuditEntry.select().output(load_json=True))
    cases = client.run(lambda: Case.select())
    text = repr(stored) + repr(cases)
    for trace in TRACES:
        assert trace not in text


@pytest.mark.parametrize(
    "text",
    [
        "材料已齐全，2014-10-09 09:30 转乡镇民政办",
        "民政办电话 0745-2712345",
        "编号 2014100800001",
        "第一二三组共 12 户",
    ],
)
def test_ordinary_notes_with_numbers_are_still_accepted(client, text):
    created = client.post(
        "/api/cases", json=_case(client, note=text), headers=client.auth("agent_hecheng")
    )
    assert created.status_code == 201, created.text
    site = client.template.sites["hecheng"]
    status = client.post(
        f"/api/sites/{site}/status",
        json={"status": "suspended", "effective_date": "2014-10-10", "note": text},
        headers=client.auth("planner_hecheng"),
    )
    assert status.status_code == 201, status.text
    plan = _plan(client)
    edited = client.put(
        f"/api/plans/{plan['id']}",
        json=_plan_body(plan, note=text),
        headers=client.auth("planner_hecheng"),
    )
    assert edited.status_code == 200, edited.text


@pytest.mark.parametrize(
    ("column", "text"), [(8, "联系人 138-7451-2345"), (7, "4312.0219.8506.1234.72")]
)
def test_a_workbook_with_personal_data_in_its_text_is_refused(client, column, text):
    """The same texts in an uploaded workbook (a note, a reason, a funding source) are refused
    too: the content of a plan is checked before it is written, whatever it came from."""
    from tests.integration.test_plans_xlsx import fill, save, template, upload

    wb, rows = fill(template(client))
    wb["规划"].cell(rows[0], column).value = text  # 备注 (8) or 资金来源 (7)
    before = client.snapshot()
    response = upload(client, save(wb))
    assert response.status_code == 422, response.text
    assert _refused_for_personal_data(response.json())
    assert client.snapshot() == before
    # The reason of a division left out is free text as well.
    wb, rows = fill(template(client))
    wb["规划"].cell(rows[-1], 8).value = "村主任电话 138 7451 2345"
    response = upload(client, save(wb))
    assert response.status_code == 422 and _refused_for_personal_data(response.json())
    assert client.snapshot() == before


def _refused_for_personal_data(body: dict[str, Any]) -> bool:
    """Refused for personal data: as the whole answer's code, or (a workbook's problems located
    by row: ``xlsx_invalid``) as a cell's."""
    codes = [body["code"], *(e.get("code") for e in body.get("errors", []))]
    return "personal_data_in_text" in codes
