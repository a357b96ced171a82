"""Issue 19, the planner's and reviewer's side of plans and sites, on both engines: a returned
plan resubmitted unchanged is refused unless confirmed; the reviewer sees what changed since
the return; plan items name their township; a workbook's errors are reported all at once, in
Chinese words; the template's instructions point at the page; closing a site needs a note and
the history says which moves are allowed."""

from __future__ import annotations

import io
from datetime import datetime

from openpyxl import load_workbook

HECHENG = "431202000000"
CENTRES = "centres-2015"
POINTS = "agency-points-2013"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TOWNSHIPS = [
    "431202001000",
    "431202002000",
    "431202003000",
    "431202004000",
    "431202006000",
    "431202008000",
    "431202009000",
    "431202010000",
    "431202102000",
    "431202206000",
]


def items(day="2015-06-30", target="standardized"):
    return [
        {"division_code": c, "target": target, "target_date": day, "budget_yuan": 100_000}
        for c in TOWNSHIPS
    ]


def returned_plan(client):
    body = {
        "county_code": HECHENG,
        "campaign": CENTRES,
        "title": "鹤城区中心规划",
        "items": items(),
    }
    plan = client.post("/api/plans", json=body, headers=client.auth("planner_hecheng")).json()
    pid = plan["id"]
    assert submit(client, pid).status_code == 200
    returned = client.post(
        f"/api/plans/{pid}/return", json={"comment": "日期过晚"}, headers=client.auth("municipal")
    )
    assert returned.status_code == 200, returned.text
    return returned.json()


def submit(client, pid, **body):
    return client.post(
        f"/api/plans/{pid}/submit", json=body, headers=client.auth("planner_hecheng")
    )


def current(client, pid):
    return client.get(f"/api/plans/{pid}", headers=client.auth("planner_hecheng")).json()


# --------------------------------------------------------------------------- item 4


def test_a_returned_plan_resubmitted_unchanged_is_refused_unless_confirmed(client):
    plan = returned_plan(client)
    pid = plan["id"]
    before = client.snapshot()
    refused = submit(client, pid, comment="再次提交")
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "plan_unchanged"
    assert "没有任何修改" in refused.json()["detail_zh"]
    assert client.snapshot() == before  # nothing written, still returned
    assert current(client, pid)["state"] == "returned"

    confirmed = submit(client, pid, comment="原样提交", confirm_unchanged=True)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["state"] == "submitted"


def test_a_returned_plan_changed_since_is_resubmitted_without_confirmation(client):
    plan = returned_plan(client)
    pid = plan["id"]
    changed = items()
    changed[0]["target_date"] = "2014-12-31"
    put = client.put(
        f"/api/plans/{pid}",
        json={"title": plan["title"], "items": changed, "revision": plan["revision"]},
        headers=client.auth("planner_hecheng"),
    )
    assert put.status_code == 200, put.text
    assert submit(client, pid).status_code == 200


def test_a_draft_never_returned_needs_no_confirmation(client):
    body = {
        "county_code": HECHENG,
        "campaign": CENTRES,
        "title": "鹤城区中心规划",
        "items": items(),
    }
    plan = client.post("/api/plans", json=body, headers=client.auth("planner_hecheng")).json()
    assert submit(client, plan["id"]).status_code == 200


# --------------------------------------------------------------------------- item 5, 11


def test_the_reviewer_sees_what_changed_since_the_return(client):
    plan = returned_plan(client)
    pid = plan["id"]
    never = client.get(f"/api/plans/{pid}/changes", headers=client.auth("municipal"))
    assert never.status_code == 200  # returned once: nothing changed yet
    assert never.json()["unchanged"] == 10 and not never.json()["changed"]

    changed = items()[:-1]  # 凉亭坳乡 removed
    changed[0]["target_date"] = "2014-12-31"  # 城中街道 changed
    put = client.put(
        f"/api/plans/{pid}",
        json={
            "title": plan["title"],
            "items": changed,
            "missing_explained": {TOWNSHIPS[-1]: "拟撤并"},
            "revision": plan["revision"],
        },
        headers=client.auth("planner_hecheng"),
    )
    assert put.status_code == 200, put.text
    assert submit(client, pid).status_code == 200
    diff = client.get(f"/api/plans/{pid}/changes", headers=client.auth("municipal"))
    assert diff.status_code == 200, diff.text
    body = diff.json()
    assert body["base"]["id"] == body["other"]["id"] == pid
    assert [r["division_name"] for r in body["removed"]] == ["凉亭坳乡"]
    assert [c["division_name"] for c in body["changed"]] == ["城中街道"]
    assert body["changed"][0]["changes"] == [
        {"field": "target_date", "before": "2015-06-30", "after": "2014-12-31"}
    ]
    assert body["unchanged"] == 8 and body["added"] == []


def test_changes_of_a_version_never_returned_is_404(client):
    body = {
        "county_code": HECHENG,
        "campaign": CENTRES,
        "title": "鹤城区中心规划",
        "items": items(),
    }
    plan = client.post("/api/plans", json=body, headers=client.auth("planner_hecheng")).json()
    response = client.get(f"/api/plans/{plan['id']}/changes", headers=client.auth("municipal"))
    assert response.status_code == 404
    assert response.json()["code"] == "plan_never_returned"


def test_plan_items_name_their_township(client):
    villages = client.get("/api/divisions", params={"parent": TOWNSHIPS[0], "limit": 3}).json()[
        "items"
    ]
    body = {
        "county_code": HECHENG,
        "campaign": POINTS,
        "title": "鹤城区代办点规划",
        "items": [
            {"division_code": v["code"], "target": "in_service", "target_date": "2014-12-31"}
            for v in villages
        ],
    }
    created = client.post("/api/plans", json=body, headers=client.auth("planner_hecheng"))
    assert created.status_code == 201, created.text
    assert {i["township_name"] for i in created.json()["items"]} == {"城中街道"}


# --------------------------------------------------------------------------- items 10, 16


def _template(client, campaign=CENTRES):
    response = client.get(
        "/api/plans/template.xlsx",
        params={"county": "431202", "campaign": campaign},
        headers=client.auth("planner_hecheng"),
    )
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.content))


def _upload(client, wb):
    buffer = io.BytesIO()
    wb.save(buffer)
    return client.post(
        "/api/plans/import",
        content=buffer.getvalue(),
        headers={**client.auth("planner_hecheng"), "Content-Type": XLSX},
    )


def test_every_error_of_a_workbook_is_reported_at_once_in_chinese_words(client):
    wb = _template(client, POINTS)
    ws = wb["规划"]
    rows = [r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value]
    for r in rows:
        ws.cell(r, 4).value = "已运行"
        ws.cell(r, 5).value = datetime(2014, 12, 31)
    ws.cell(rows[0], 5).value = "明年"  # a cell error (text in a date cell)
    ws.cell(rows[1], 4).value = "已达标"  # not a target of the agency-points campaign
    ws.cell(rows[2], 5).value = datetime(2030, 1, 1)  # outside the campaign
    before = client.snapshot()
    response = _upload(client, wb)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    by_code = {e["code"]: e for e in errors}
    assert {"date_is_text", "target_not_allowed", "target_date_outside_campaign"} <= set(by_code)
    assert [e["row"] for e in errors] == sorted(e["row"] for e in errors)
    wrong = by_code["target_not_allowed"]["message"].split(" / ")[0]
    assert "已达标" in wrong and "已运行" in wrong
    assert "standardized" not in wrong and "in_service" not in wrong
    assert client.snapshot() == before


def test_the_template_points_at_the_upload_button(client):
    wb = _template(client)
    text = " ".join(str(c.value or "") for row in wb["说明"].iter_rows() for c in row)
    assert "/api/plans/import" not in text
    assert "上传" in text and "站点与规划" in text


# --------------------------------------------------------------------------- item 15


def _new_site(client):
    villages = client.get(
        "/api/divisions", params={"parent": "431202102000", "limit": 1000}
    ).json()["items"]
    taken = {
        s["division_code"]
        for s in client.get("/api/sites", params={"county": HECHENG, "limit": 1000}).json()["items"]
    }
    village = next(v for v in villages if v["code"] not in taken and not v["abolished_on"])
    response = client.post(
        "/api/sites",
        json={
            "division_code": village["code"],
            "lon": 110.05,
            "lat": 27.49,
            "crs": "wgs84",
            "status": "planned",
            "effective_date": "2014-01-01",
        },
        headers=client.auth("planner_hecheng"),
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_closing_a_site_needs_a_note(client):
    site = _new_site(client)
    before = client.snapshot()
    refused = client.post(
        f"/api/sites/{site['id']}/status",
        json={"status": "closed", "effective_date": "2014-02-01"},
        headers=client.auth("planner_hecheng"),
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "note_required"
    assert client.snapshot() == before
    closed = client.post(
        f"/api/sites/{site['id']}/status",
        json={"status": "closed", "effective_date": "2014-02-01", "note": "村已撤并"},
        headers=client.auth("planner_hecheng"),
    )
    assert closed.status_code == 201, closed.text


def test_the_history_says_which_moves_are_allowed(client):
    site = _new_site(client)
    history = client.get(f"/api/sites/{site['id']}/history").json()
    assert "suspended" not in history["allowed_next"]
    assert "standardized" not in history["allowed_next"]  # a point, never standardized
    assert set(history["allowed_next"]) == {"under_construction", "built", "in_service", "closed"}
    assert history["note_required"] == ["closed"]
