"""Construction plans: workflow, roles, checks, versions, overview, target line, progress."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from registry.plans.rules import cumulative_target_share

HECHENG = "431202000000"
ZHONGFANG = "431221000000"
CENTRES = "centres-2015"
POINTS = "agency-points-2013"
INSIDE_HECHENG = (109.99, 27.55)

# 鹤城区's ten townships (8 街道, 1 镇, 1 乡).
TOWNSHIPS = [
    "431202001000",  # 城中街道
    "431202002000",  # 城北街道
    "431202003000",  # 红星街道
    "431202004000",  # 迎丰街道
    "431202006000",  # 河西街道
    "431202008000",  # 城南街道
    "431202009000",  # 坨院街道
    "431202010000",  # 盈口街道
    "431202102000",  # 黄金坳镇
    "431202206000",  # 凉亭坳乡
]
ZHONGFANG_TOWNSHIP = "431221100000"
# Target dates spread over the campaign: 2 in 2014Q2, 3 in 2014Q4, 5 in 2015Q4.
DATES = ["2014-06-30"] * 2 + ["2014-12-31"] * 3 + ["2015-12-31"] * 5


def centre_items(codes=TOWNSHIPS, dates=DATES, target="standardized"):
    return [
        {"division_code": code, "target": target, "target_date": day, "budget_yuan": 300_000}
        for code, day in zip(codes, dates, strict=False)
    ]


def plan_body(items=None, county=HECHENG, campaign=CENTRES, **extra):
    return {
        "county_code": county,
        "campaign": campaign,
        "title": "鹤城区乡镇便民服务中心标准化建设规划",
        "items": centre_items() if items is None else items,
        **extra,
    }


def create(client, who="planner_hecheng", **body):
    return client.post("/api/plans", json=plan_body(**body), headers=client.auth(who))


def act(client, plan_id, action, who, comment=None):
    body = {} if comment is None else {"comment": comment}
    return client.post(f"/api/plans/{plan_id}/{action}", json=body, headers=client.auth(who))


def approved_plan(client, items=None, **extra):
    plan = create(client, items=items, **extra).json()
    assert act(client, plan["id"], "submit", "planner_hecheng").status_code == 200
    response = act(client, plan["id"], "approve", "municipal", "同意")
    assert response.status_code == 200, response.text
    return response.json()


def revision(client, plan_id):
    """The plan's current revision: what an edit (PUT) must be based on."""
    response = client.get(f"/api/plans/{plan_id}", headers=client.auth("municipal"))
    return response.json()["revision"]


def audit_actions(client, plan_id):
    entries = client.get(
        "/api/audit",
        params={"entity": "plan", "entity_id": str(plan_id), "limit": 100},
        headers=client.auth("municipal"),
    ).json()["items"]
    return [(e["action"], e["county_code"]) for e in reversed(entries)]


# --------------------------------------------------------------------------- workflow


def test_full_workflow_draft_submit_return_revise_approve(client):
    created = create(client)
    assert created.status_code == 201, created.text
    plan = created.json()
    assert (plan["state"], plan["version"], plan["amends"]) == ("draft", 1, None)
    assert plan["item_count"] == 10 and plan["budget_total_yuan"] == 3_000_000
    assert plan["created_by"] == "planner_hecheng"
    assert plan["county_name"] == "鹤城区"
    assert [i["division_code"] for i in plan["items"]] == TOWNSHIPS
    pid = plan["id"]

    submitted = act(client, pid, "submit", "planner_hecheng", "请审查")
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["state"] == "submitted"
    assert submitted.json()["submitted_at"] is not None

    returned = act(client, pid, "return", "municipal", "城中街道目标日期过晚")
    assert returned.status_code == 200
    assert returned.json()["state"] == "returned"

    revised_items = centre_items()
    revised_items[0]["target_date"] = "2014-03-31"
    revised = client.put(
        f"/api/plans/{pid}",
        json={
            "title": "鹤城区规划（修改稿）",
            "items": revised_items,
            "revision": revision(client, pid),
        },
        headers=client.auth("planner_hecheng"),
    )
    assert revised.status_code == 200, revised.text
    assert revised.json()["id"] == pid and revised.json()["version"] == 1
    assert revised.json()["items"][0]["target_date"] == "2014-03-31"
    assert revised.json()["state"] == "returned"

    assert act(client, pid, "submit", "planner_hecheng").status_code == 200
    approved = act(client, pid, "approve", "municipal").json()
    assert approved["state"] == "approved" and approved["in_force"] is True
    assert approved["decided_at"] is not None
    assert [(r["action"], r["actor"]) for r in approved["reviews"]] == [
        ("submit", "planner_hecheng"),
        ("return", "municipal"),
        ("submit", "planner_hecheng"),
        ("approve", "municipal"),
    ]
    assert approved["reviews"][1]["comment"] == "城中街道目标日期过晚"
    assert audit_actions(client, pid) == [
        ("create", HECHENG),
        ("submit", HECHENG),
        ("return", HECHENG),
        ("update", HECHENG),
        ("submit", HECHENG),
        ("approve", HECHENG),
    ]


def test_editing_a_submitted_plan_is_refused_until_returned(client):
    pid = create(client).json()["id"]
    act(client, pid, "submit", "planner_hecheng")
    before = client.snapshot()
    response = client.put(
        f"/api/plans/{pid}",
        json={"title": "改", "items": centre_items()},
        headers=client.auth("planner_hecheng"),
    )
    assert response.status_code == 409
    assert response.json()["code"] == "plan_not_editable"
    assert client.snapshot() == before


# Refused workflow actions by the state the plan is in: (action, who, comment, status, code).
REFUSED_ACTIONS = {
    "draft": [
        ("approve", "municipal", None, 409, "plan_not_submitted"),
        ("return", "municipal", "不同意", 409, "plan_not_submitted"),
        ("submit", "municipal", None, 403, "wrong_role"),
        ("submit", "planner_zhongfang", None, 403, "out_of_scope"),
        ("submit", "agent_hecheng", None, 403, "wrong_role"),
        ("submit", None, None, 401, "not_authenticated"),
    ],
    "submitted": [
        ("return", "municipal", None, 422, "comment_required"),
        ("return", "municipal", "   ", 422, "comment_required"),
        ("approve", "planner_hecheng", None, 403, "wrong_role"),
        ("submit", "planner_hecheng", None, 409, "plan_not_submittable"),
    ],
    "approved": [
        ("approve", "municipal", None, 409, "plan_not_submitted"),
        ("submit", "planner_hecheng", None, 409, "plan_not_submittable"),
    ],
}


@pytest.mark.parametrize("prepare", list(REFUSED_ACTIONS))
def test_refused_transitions_change_nothing(client, prepare):
    pid = create(client).json()["id"]
    if prepare in ("submitted", "approved"):
        act(client, pid, "submit", "planner_hecheng")
    if prepare == "approved":
        act(client, pid, "approve", "municipal")
    before = client.snapshot()
    for action, who, comment, status, code in REFUSED_ACTIONS[prepare]:
        response = act(client, pid, action, who, comment)
        case = (prepare, action, who, comment)
        assert (response.status_code, response.json()["code"]) == (status, code), case
        assert client.snapshot() == before, case


def test_approving_ones_own_plan_is_refused(client):
    from registry.tables import Plan

    pid = create(client).json()["id"]
    act(client, pid, "submit", "planner_hecheng")

    async def authored_by_municipal():
        await Plan.update({Plan.created_by: "municipal"}).where(Plan.id == pid)

    client.run(authored_by_municipal)
    before = client.snapshot()
    for action, comment in (("approve", None), ("return", "自己退回")):
        response = act(client, pid, action, "municipal", comment)
        assert response.status_code == 403
        assert response.json()["code"] == "own_plan"
    assert client.snapshot() == before


def test_only_the_countys_planners_create_plans(client):
    before = client.snapshot()
    for who, county, status, code in [
        ("municipal", HECHENG, 403, "wrong_role"),
        ("planner_zhongfang", HECHENG, 403, "out_of_scope"),
        ("agent_hecheng", HECHENG, 403, "wrong_role"),
        (None, HECHENG, 401, "not_authenticated"),
        ("planner_hecheng", "431299000000", 422, "unknown_county"),
        ("planner_hecheng", "431202102000", 422, "unknown_county"),
    ]:
        response = create(client, who, county=county)
        assert (response.status_code, response.json()["code"]) == (status, code), (who, county)
        assert client.snapshot() == before, (who, county)


def test_a_second_plan_lineage_is_refused(client):
    first = create(client).json()
    before = client.snapshot()
    response = create(client)
    assert response.status_code == 409
    assert response.json()["code"] == "plan_exists"
    assert response.json()["plan_id"] == first["id"]
    assert client.snapshot() == before
    # The other campaign is a separate lineage.
    village = client.template.villages["hecheng"]
    other = create(
        client,
        campaign=POINTS,
        items=[{"division_code": village, "target": "in_service", "target_date": "2014-06-30"}],
    )
    assert other.status_code == 201, other.text


def test_who_reads_a_plan(client):
    pid = create(client).json()["id"]
    for who, status in [
        ("planner_hecheng", 200),
        ("municipal", 200),
        ("planner_zhongfang", 403),
        ("agent_hecheng", 403),
        (None, 401),
    ]:
        for path in ("", "/check", "/versions", "/progress", "/export.xlsx"):
            response = client.get(f"/api/plans/{pid}{path}", headers=client.auth(who))
            assert response.status_code == status, (who, path, response.text)


def test_unknown_plan_is_404(client):
    response = client.get("/api/plans/999999", headers=client.auth("municipal"))
    assert response.status_code == 404
    assert response.json()["code"] == "plan_not_found"


# --------------------------------------------------------------------------- item checks


def _item(code="431202001000", target="standardized", day="2015-06-30", **extra):
    return {"division_code": code, "target": target, "target_date": day, **extra}


BAD_ITEMS = [
    # (name, items, campaign, expected codes per field)
    ("village in a centres plan", [_item("431202101201")], CENTRES, "wrong_level"),
    ("township in a points plan", [_item(target="in_service")], POINTS, "wrong_level"),
    ("another county", [_item(ZHONGFANG_TOWNSHIP)], CENTRES, "division_outside_county"),
    ("unknown code", [_item("431202999000")], CENTRES, "unknown_division"),
    ("malformed code", [_item("43120")], CENTRES, "invalid_code"),
    ("duplicate", [_item(), _item(day="2015-01-31")], CENTRES, "duplicate_division"),
    ("before the campaign", [_item(day="2013-04-17")], CENTRES, "target_date_outside_campaign"),
    ("after the deadline", [_item(day="2016-01-01")], CENTRES, "target_date_outside_campaign"),
    (
        "points after their deadline",
        [_item("VILLAGE", target="in_service", day="2015-04-19")],
        POINTS,
        "target_date_outside_campaign",
    ),
    ("standardized agency point", [_item("VILLAGE")], POINTS, "target_not_allowed"),
    ("unknown target", [_item(target="done")], CENTRES, "target_not_allowed"),
    ("negative budget", [_item(budget_yuan=-1)], CENTRES, "invalid_budget"),
    ("control character", [_item(note="a\x07b")], CENTRES, "control_character"),
]


def test_bad_items_are_listed_and_nothing_is_written(client):
    village = client.template.villages["hecheng"]
    before = client.snapshot()
    for name, items, campaign, code in BAD_ITEMS:
        items = [
            {
                **i,
                "division_code": village if i["division_code"] == "VILLAGE" else i["division_code"],
            }
            for i in items
        ]
        # A valid first item: the error must point at the bad one by its position.
        good = _item("431202002000")
        if campaign == POINTS:
            good = _item("431202101202", "in_service", "2014-06-30")
        response = create(client, campaign=campaign, items=[good, *items])
        assert response.status_code == 422, (name, response.text)
        body = response.json()
        assert body["code"] == "invalid_plan", name
        bad = [e for e in body["errors"] if e["code"] == code]
        assert bad, (name, body["errors"])
        # Counted in the submitted list: the valid first item is never blamed.
        assert bad[0]["field"].startswith(("items[1]", "items[2]")), (name, bad)
        assert client.snapshot() == before, name


def test_every_bad_item_is_reported_at_once(client):
    items = [
        _item(),
        _item("431202101201"),
        _item(ZHONGFANG_TOWNSHIP),
        _item(day="2016-01-01"),
    ]
    response = create(client, items=items)
    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("items[1].division_code", "wrong_level"),
        ("items[2].division_code", "division_outside_county"),
        ("items[3].division_code", "duplicate_division"),
        ("items[3].target_date", "target_date_outside_campaign"),
    ]


def test_bad_explanations_are_refused(client):
    before = client.snapshot()
    for explained, code in [
        ({"431202001000": "已列入"}, "explained_division_has_item"),
        ({ZHONGFANG_TOWNSHIP: "不是本县"}, "division_outside_county"),
        ({"431202101201": "村"}, "wrong_level"),
        ({"431202206000": "  "}, "required"),
        ({"4312": "坏代码"}, "invalid_code"),
    ]:
        response = create(client, items=centre_items(TOWNSHIPS[:8]), missing_explained=explained)
        assert response.status_code == 422, explained
        assert code in [e["code"] for e in response.json()["errors"]], explained
        assert client.snapshot() == before, explained


# --------------------------------------------------------------------------- completeness


def test_missing_divisions_block_submission_until_explained(client):
    pid = create(client, items=centre_items(TOWNSHIPS[:8])).json()["id"]
    check = client.get(f"/api/plans/{pid}/check", headers=client.auth("planner_hecheng")).json()
    assert check["ok"] is False and check["errors"] == []
    assert (check["expected"], check["planned"], check["explained"]) == (10, 8, 0)
    assert [w["division_code"] for w in check["warnings"]] == TOWNSHIPS[8:]
    assert {w["code"] for w in check["warnings"]} == {"division_missing"}

    before = client.snapshot()
    refused = act(client, pid, "submit", "planner_hecheng")
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "plan_check_failed"
    assert (body["error_count"], body["warning_count"]) == (0, 2)
    assert {e["division_code"] for e in body["errors"]} == set(TOWNSHIPS[8:])
    assert all(e["severity"] == "warning" for e in body["errors"])
    assert client.snapshot() == before

    # One explained is not enough.
    client.put(
        f"/api/plans/{pid}",
        json={
            "title": "规划",
            "items": centre_items(TOWNSHIPS[:8]),
            "missing_explained": {"431202102": "已于2013年前达标"},
            "revision": revision(client, pid),
        },
        headers=client.auth("planner_hecheng"),
    )
    assert act(client, pid, "submit", "planner_hecheng").json()["warning_count"] == 1
    explained = {"431202102000": "已于2013年前达标", "431202206000": "拟撤并暂不建设"}
    updated = client.put(
        f"/api/plans/{pid}",
        json={
            "title": "规划",
            "items": centre_items(TOWNSHIPS[:8]),
            "missing_explained": explained,
            "revision": revision(client, pid),
        },
        headers=client.auth("planner_hecheng"),
    ).json()
    assert updated["missing_explained"] == explained
    # A PUT without missing_explained keeps it.
    kept = client.put(
        f"/api/plans/{pid}",
        json={
            "title": "规划二",
            "items": centre_items(TOWNSHIPS[:8]),
            "revision": revision(client, pid),
        },
        headers=client.auth("planner_hecheng"),
    ).json()
    assert kept["missing_explained"] == explained
    submitted = act(client, pid, "submit", "planner_hecheng")
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["state"] == "submitted"


def test_division_abolished_before_its_target_date_is_an_error(client):
    from registry.tables import Division

    async def abolish():
        await Division.update({Division.abolished_on: date(2014, 7, 1)}).where(
            Division.code == "431202206000"
        )

    client.run(abolish)
    ok = _item("431202206000", day="2014-06-30")
    late = _item("431202206000", day="2014-07-01")
    pid = create(client, items=[ok]).json()["id"]
    response = client.put(
        f"/api/plans/{pid}",
        json={"title": "t", "items": [late]},
        headers=client.auth("planner_hecheng"),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "division_not_existing"
    # An abolished township is not expected in a complete plan.
    check = client.get(f"/api/plans/{pid}/check", headers=client.auth("planner_hecheng")).json()
    assert check["expected"] == 9
    assert "431202206000" not in {w["division_code"] for w in check["warnings"]}


# --------------------------------------------------------------------------- versions


def test_amending_an_approved_plan_opens_a_new_version_and_keeps_the_old_in_force(client):
    v1 = approved_plan(client)
    amended_items = centre_items(dates=["2014-03-31"] * 5 + ["2015-06-30"] * 5)
    response = client.put(
        f"/api/plans/{v1['id']}",
        json={
            "title": "鹤城区规划（第二版）",
            "items": amended_items,
            "revision": revision(client, v1["id"]),
        },
        headers=client.auth("planner_hecheng"),
    )
    assert response.status_code == 201, response.text
    v2 = response.json()
    assert v2["id"] != v1["id"]
    assert (v2["version"], v2["amends"], v2["state"], v2["in_force"]) == (
        2,
        v1["id"],
        "draft",
        False,
    )
    again = client.get(f"/api/plans/{v1['id']}", headers=client.auth("municipal")).json()
    assert again["state"] == "approved" and again["in_force"] is True

    from registry.plans.service import target_share_series

    day = [date(2014, 6, 30)]
    assert client.run(lambda: target_share_series(HECHENG, CENTRES, day)) == [0.2]

    # A second amendment while v2 is pending is refused.
    before = client.snapshot()
    refused = client.put(
        f"/api/plans/{v1['id']}",
        json={"title": "又一版", "items": amended_items, "revision": revision(client, v1["id"])},
        headers=client.auth("planner_hecheng"),
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "plan_amendment_pending"
    assert refused.json()["pending_plan_id"] == v2["id"]
    assert client.snapshot() == before

    act(client, v2["id"], "submit", "planner_hecheng")
    approved = act(client, v2["id"], "approve", "municipal").json()
    assert approved["state"] == "approved"
    old = client.get(f"/api/plans/{v1['id']}", headers=client.auth("municipal")).json()
    assert old["state"] == "superseded" and old["in_force"] is False
    assert client.run(lambda: target_share_series(HECHENG, CENTRES, day)) == [0.5]
    superseded_edit = client.put(
        f"/api/plans/{v1['id']}",
        json={"title": "旧版", "items": amended_items},
        headers=client.auth("planner_hecheng"),
    )
    assert superseded_edit.status_code == 409
    assert superseded_edit.json()["code"] == "plan_not_editable"

    listed = client.get(f"/api/plans/{v2['id']}/versions", headers=client.auth("municipal")).json()
    assert [(v["version"], v["state"], v["in_force"]) for v in listed["items"]] == [
        (1, "superseded", False),
        (2, "approved", True),
    ]
    assert audit_actions(client, v1["id"])[-1] == ("supersede", HECHENG)
    assert audit_actions(client, v2["id"])[0] == ("amend", HECHENG)


def test_two_versions_are_compared(client):
    first = centre_items(TOWNSHIPS[:9])
    v1 = approved_plan(client, items=first, missing_explained={TOWNSHIPS[9]: "拟撤并"})
    # Version 2: 城中街道 dropped, 凉亭坳乡 added, 城北街道's date and 红星街道's budget changed.
    items = [dict(i) for i in first[1:]] + [_item(TOWNSHIPS[9], day="2015-12-31")]
    items[0]["target_date"] = "2014-09-30"
    items[1]["budget_yuan"] = 450_000
    v2 = client.put(
        f"/api/plans/{v1['id']}",
        json={
            "title": v1["title"],
            "items": items,
            "missing_explained": {},
            "revision": revision(client, v1["id"]),
        },
        headers=client.auth("planner_hecheng"),
    ).json()
    response = client.get(
        f"/api/plans/{v1['id']}/compare",
        params={"with": v2["id"]},
        headers=client.auth("municipal"),
    )
    assert response.status_code == 200, response.text
    diff = response.json()
    assert diff["base"]["version"] == 1 and diff["other"]["version"] == 2
    assert [a["division_code"] for a in diff["added"]] == ["431202206000"]
    assert diff["added"][0]["division_name"] == "凉亭坳乡"
    assert [r["division_code"] for r in diff["removed"]] == ["431202001000"]
    assert [(c["division_code"], [f["field"] for f in c["changes"]]) for c in diff["changed"]] == [
        ("431202002000", ["target_date"]),
        ("431202003000", ["budget_yuan"]),
    ]
    assert diff["changed"][0]["changes"][0] == {
        "field": "target_date",
        "before": "2014-06-30",
        "after": "2014-09-30",
    }
    assert diff["unchanged"] == 6 and diff["title_changed"] is False


def test_versions_of_different_plans_cannot_be_compared(client):
    a = create(client).json()
    village = client.template.villages["hecheng"]
    b = create(
        client,
        campaign=POINTS,
        items=[{"division_code": village, "target": "in_service", "target_date": "2014-06-30"}],
    ).json()
    response = client.get(
        f"/api/plans/{a['id']}/compare", params={"with": b["id"]}, headers=client.auth("municipal")
    )
    assert response.status_code == 422
    assert response.json()["code"] == "not_same_plan"


# --------------------------------------------------------------------------- target line


def test_target_share_series_follows_the_plan_in_force(client):
    from registry.plans.service import target_share_series

    days = [date(2014, 6, 29), date(2014, 6, 30), date(2014, 12, 31), date(2015, 12, 31)]
    assert client.run(lambda: target_share_series(HECHENG, CENTRES, days)) is None
    pid = create(client).json()["id"]
    act(client, pid, "submit", "planner_hecheng")
    # Submitted is not yet in force.
    assert client.run(lambda: target_share_series(HECHENG, CENTRES, days)) is None
    act(client, pid, "approve", "municipal")
    # By hand: 2 of 10 items due by 2014-06-30, 5 by 2014-12-31, all 10 by 2015-12-31.
    expected = [0.0, 0.2, 0.5, 1.0]
    assert client.run(lambda: target_share_series(HECHENG, CENTRES, days)) == expected
    assert client.run(lambda: target_share_series("431202", CENTRES, days)) == expected
    assert expected == cumulative_target_share([date.fromisoformat(d) for d in DATES], days)
    assert client.run(lambda: target_share_series(HECHENG, POINTS, days)) is None
    assert client.run(lambda: target_share_series(ZHONGFANG, CENTRES, days)) is None
    many = [date(2013, 4, 18) + timedelta(days=n) for n in range(1500)]
    series = client.run(lambda: target_share_series(HECHENG, CENTRES, many))
    assert series == cumulative_target_share([date.fromisoformat(d) for d in DATES], many)


# --------------------------------------------------------------------------- overview


def test_municipal_overview_lists_every_county_with_its_plan_state(client, frozen_clock):
    frozen_clock(datetime(2014, 3, 1, 2, 0, tzinfo=UTC))
    body = client.get(
        "/api/plans", params={"campaign": CENTRES}, headers=client.auth("municipal")
    ).json()
    assert body["total"] == 13  # 12 counties and 怀化市洪江管理区
    assert {r["state"] for r in body["items"]} == {"none"}
    assert body["by_state"] == {"none": 13}

    pid = create(client).json()["id"]
    act(client, pid, "submit", "planner_hecheng")
    frozen_clock(datetime(2014, 3, 16, 2, 0, tzinfo=UTC))
    row = client.get(
        "/api/plans",
        params={"campaign": CENTRES, "county": "431202"},
        headers=client.auth("municipal"),
    ).json()["items"][0]
    assert (row["state"], row["plan_id"], row["item_count"]) == ("submitted", pid, 10)
    assert row["submitted_at"].startswith("2014-03-01")
    assert row["review_due_on"] == "2014-03-16" and row["review_overdue"] is False

    frozen_clock(datetime(2014, 3, 17, 2, 0, tzinfo=UTC))
    body = client.get(
        "/api/plans", params={"campaign": CENTRES}, headers=client.auth("municipal")
    ).json()
    assert body["overdue_reviews"] == 1
    assert body["by_state"] == {"none": 12, "submitted": 1}
    overdue = client.get(
        "/api/plans", params={"overdue": "true"}, headers=client.auth("municipal")
    ).json()
    assert [(r["county_code"], r["campaign"]) for r in overdue["items"]] == [(HECHENG, CENTRES)]

    act(client, pid, "approve", "municipal")
    row = client.get(
        "/api/plans",
        params={"campaign": CENTRES, "state": "approved"},
        headers=client.auth("municipal"),
    ).json()["items"]
    assert [(r["county_code"], r["in_force_plan_id"], r["in_force_item_count"]) for r in row] == [
        (HECHENG, pid, 10)
    ]


def test_planner_overview_shows_only_their_county(client):
    body = client.get("/api/plans", headers=client.auth("planner_zhongfang")).json()
    assert {r["county_code"] for r in body["items"]} == {ZHONGFANG}
    assert {r["campaign"] for r in body["items"]} == {CENTRES, POINTS}
    refused = client.get(
        "/api/plans", params={"county": HECHENG}, headers=client.auth("planner_zhongfang")
    )
    assert refused.status_code == 403
    assert client.get("/api/plans", headers=client.auth("agent_hecheng")).status_code == 403
    assert client.get("/api/plans").status_code == 401
    bad = client.get("/api/plans", params={"campaign": "x"}, headers=client.auth("municipal"))
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_campaign"


# --------------------------------------------------------------------------- progress


def _site(client, code, status, day):
    response = client.post(
        "/api/sites",
        json={
            "division_code": code,
            "lon": INSIDE_HECHENG[0],
            "lat": INSIDE_HECHENG[1],
            "status": status,
            "effective_date": day,
        },
        headers=client.auth("planner_hecheng"),
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _status(client, site_id, status, day):
    response = client.post(
        f"/api/sites/{site_id}/status",
        json={"status": status, "effective_date": day},
        headers=client.auth("planner_hecheng"),
    )
    assert response.status_code == 201, response.text


def test_progress_against_a_hand_built_history(client, frozen_clock):
    frozen_clock(datetime(2015, 3, 15, 4, 0, tzinfo=UTC))  # today: 2015-03-15 in 怀化
    a, b, c, d, e, f = TOWNSHIPS[:6]
    # A: standardized 2014-05-10, before its 2014-06-30 target → met.
    site = _site(client, a, "in_service", "2013-09-01")
    _status(client, site, "standardized", "2014-05-10")
    # B: standardized 2014-11-20, 51 days after its 2014-09-30 target → late.
    site = _site(client, b, "in_service", "2013-10-01")
    _status(client, site, "standardized", "2014-11-20")
    # C: still under construction, target in service by 2014-12-31 → late by 74 days so far.
    _site(client, c, "under_construction", "2014-03-01")
    # D: built 2015-02-01, target built by 2015-06-30 → met early.
    _site(client, d, "built", "2015-02-01")
    # E: no site, target standardized by 2015-12-31 → pending.
    # F: in service 2013-12-01, suspended 2014-03-01 (on its 2014-03-31 target date), back
    #    2014-04-15 → late by 15 days.
    site = _site(client, f, "in_service", "2013-12-01")
    _status(client, site, "suspended", "2014-03-01")
    _status(client, site, "in_service", "2014-04-15")
    items = [
        _item(a, "standardized", "2014-06-30"),
        _item(b, "standardized", "2014-09-30"),
        _item(c, "in_service", "2014-12-31"),
        _item(d, "built", "2015-06-30"),
        _item(e, "standardized", "2015-12-31"),
        _item(f, "in_service", "2014-03-31"),
    ]
    pid = create(client, items=items).json()["id"]

    body = client.get(f"/api/plans/{pid}/progress", headers=client.auth("municipal")).json()
    assert body["as_of"] == "2015-03-15"
    rows = {i["division_code"]: i for i in body["items"]}
    got = {
        code: (
            r["status"],
            r["status_on_target_date"],
            r["achieved_on"],
            r["result"],
            r["days_late"],
        )
        for code, r in rows.items()
    }
    assert got == {
        a: ("standardized", "standardized", "2014-05-10", "met", None),
        b: ("standardized", "in_service", "2014-11-20", "late", 51),
        c: ("under_construction", "under_construction", None, "late", 74),
        d: ("built", None, "2015-02-01", "met", None),
        e: (None, None, None, "pending", None),
        f: ("in_service", "suspended", "2013-12-01", "late", 15),
    }
    assert rows[e]["site_id"] is None and rows[a]["site_id"] is not None
    assert body["summary"] == {"items": 6, "met": 2, "late": 3, "pending": 1, "achieved_today": 4}
    # Planned: cumulative items due by each quarter's end. Achieved: items whose status on that
    # day (or today, for the current quarter) reaches the target; none for future quarters.
    assert [(q["quarter"], q["planned"], q["achieved"]) for q in body["quarters"]] == [
        ("2013Q2", 0, 0),
        ("2013Q3", 0, 0),
        ("2013Q4", 0, 1),  # F in service
        ("2014Q1", 1, 0),  # F suspended on 03-31
        ("2014Q2", 2, 2),  # A standardized, F back in service
        ("2014Q3", 3, 2),
        ("2014Q4", 4, 3),  # B standardized
        ("2015Q1", 4, 4),  # D built (as of 2015-03-15)
        ("2015Q2", 5, None),
        ("2015Q3", 5, None),
        ("2015Q4", 6, None),
    ]

    # As of an earlier day the same history gives the earlier picture.
    early = client.get(
        f"/api/plans/{pid}/progress",
        params={"as_of": "2014-07-01"},
        headers=client.auth("municipal"),
    ).json()
    results = {i["division_code"]: i["result"] for i in early["items"]}
    assert results == {a: "met", b: "pending", c: "pending", d: "pending", e: "pending", f: "late"}
    assert early["summary"]["achieved_today"] == 2
    future = client.get(
        f"/api/plans/{pid}/progress",
        params={"as_of": "2015-03-16"},
        headers=client.auth("municipal"),
    )
    assert future.status_code == 422 and future.json()["code"] == "as_of_in_future"


def test_a_closed_site_replaced_by_a_new_one_counts_from_the_new_one(client, frozen_clock):
    frozen_clock(datetime(2015, 3, 15, 4, 0, tzinfo=UTC))
    code = TOWNSHIPS[0]
    old = _site(client, code, "in_service", "2013-09-01")
    response = client.post(
        f"/api/sites/{old}/status",
        json={"status": "closed", "effective_date": "2014-01-10", "note": "迁址"},
        headers=client.auth("planner_hecheng"),
    )
    assert response.status_code == 201, response.text
    _site(client, code, "in_service", "2014-02-01")
    pid = create(client, items=[_item(code, "in_service", "2014-01-31")]).json()["id"]
    row = client.get(f"/api/plans/{pid}/progress", headers=client.auth("municipal")).json()[
        "items"
    ][0]
    assert (row["status_on_target_date"], row["status"], row["result"], row["days_late"]) == (
        "closed",
        "in_service",
        "late",
        1,
    )
