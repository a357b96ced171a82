"""The audit trail searched by what a clerk knows (both engines): a case by its number, a site by
its name, everything of a division by its code (``/api/audit?q=``); a reversed period is refused
with its own code, not answered with an empty list."""

from __future__ import annotations

import pytest

from tests.integration.test_cases import NOW, created, patch

SITE = {
    "division_code": "431202102000",
    "lon": 109.99,
    "lat": 27.55,
    "effective_date": "2013-06-01",
}


@pytest.fixture(autouse=True)
def clock_2014(client, frozen_clock):
    frozen_clock(NOW)


def audit(client, who="municipal", **params):
    return client.get("/api/audit", params=params, headers=client.auth(who))


def test_a_case_is_found_by_its_number(client):
    case = created(client)
    other = created(client, resident_name="李四")
    assert (
        patch(client, case["id"], {"version": case["version"], "note": "已电话告知"}).status_code
        == 200
    )
    found = audit(client, q=case["case_number"])
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["total"] == 2
    assert {(e["entity"], e["entity_id"]) for e in body["items"]} == {("case", case["id"])}
    assert [e["action"] for e in body["items"]] == ["update", "create"]  # newest first
    assert other["id"] not in {e["entity_id"] for e in body["items"]}
    # Other filters still narrow the search.
    assert audit(client, q=case["case_number"], action="create").json()["total"] == 1
    # A number nobody has: nothing, not everything.
    assert audit(client, q="431202102001-20141008-9999").json()["total"] == 0


def test_a_site_is_found_by_its_name_and_its_division_code(client):
    site = client.post("/api/sites", json=SITE, headers=client.auth("planner_hecheng")).json()
    client.patch(
        f"/api/sites/{site['id']}",
        json={"address": "黄金坳镇政府一楼"},
        headers=client.auth("planner_hecheng"),
    )
    part = site["standard_name"][:3]
    by_name = audit(client, q=part).json()
    mine = [
        e for e in by_name["items"] if e["entity"] == "site" and e["entity_id"] == str(site["id"])
    ]
    assert len(mine) == 2
    assert all(e["entity"] == "site" for e in by_name["items"])
    by_code = audit(client, q=SITE["division_code"]).json()
    assert {(e["entity"], e["entity_id"]) for e in by_code["items"]} == {("site", str(site["id"]))}
    assert by_code["total"] == 2
    # The 9-digit form of the township code is the same township.
    assert audit(client, q=SITE["division_code"][:9]).json()["total"] == 2
    assert audit(client, q="没有这个站点的名字").json()["total"] == 0


def test_a_village_code_finds_its_point_and_its_cases(client):
    case = created(client)
    village = case["case_number"].split("-")[0]
    body = audit(client, q=village).json()
    assert ("case", case["id"]) in {(e["entity"], e["entity_id"]) for e in body["items"]}


def test_a_county_code_finds_the_county_entries(client):
    client.post("/api/sites", json=SITE, headers=client.auth("planner_hecheng"))
    body = audit(client, q="431202").json()
    assert body["total"] >= 1
    assert all(e["county_code"] == "431202000000" for e in body["items"])


def test_a_planner_searching_stays_in_their_county(client):
    case = created(client, "zhongfang")
    assert audit(client, "planner_zhongfang", q=case["case_number"]).json()["total"] == 1
    assert audit(client, "planner_hecheng", q=case["case_number"]).json()["total"] == 0


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (
            {"since": "2014-10-20T00:00:00+08:00", "until": "2014-10-01T23:59:59+08:00"},
            "invalid_date_range",
        ),
        ({"q": "字" * 65}, "query_too_long"),
    ],
)
def test_a_reversed_period_or_an_overlong_term_is_refused(client, params, code):
    before = client.snapshot()
    response = audit(client, **params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == code
    assert body["detail_zh"] and body["detail_en"]
    assert client.snapshot() == before
