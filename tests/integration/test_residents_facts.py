"""A site's public facts for residents: opening hours, open today, public phone, the matters it
handles — edited by planners with the site's version, read by anyone (both engines)."""

from __future__ import annotations

import pytest

HOURS = {
    "mon": [["08:30", "12:00"], ["14:30", "17:30"]],
    "tue": [["08:30", "12:00"], ["14:30", "17:30"]],
    "wed": [["08:30", "12:00"], ["14:30", "17:30"]],
    "thu": [["08:30", "12:00"], ["14:30", "17:30"]],
    "fri": [["08:30", "12:00"], ["14:30", "17:30"]],
    "sat": [["09:00", "11:30"]],
    "sun": [],
}


def site_of(client, name="hecheng"):
    site_id = client.template.sites[name]
    return site_id, client.get(f"/api/sites/{site_id}", headers=client.auth("municipal")).json()


def patch(client, site_id, body, who="planner_hecheng"):
    return client.patch(f"/api/sites/{site_id}", json=body, headers=client.auth(who))


def test_planner_records_the_facts_and_anyone_reads_them(client):
    site_id, site = site_of(client)
    response = patch(
        client,
        site_id,
        {
            "version": site["version"],
            "opening_hours": HOURS,
            "public_phone": "(0745) 271 2345",
            "excluded_matters": ["ly001", "NY003", "LY001"],
            "contact_phone": "13907451234",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == site["version"] + 1
    assert body["public_phone"] == "0745-2712345"
    assert body["excluded_matters"] == ["LY001", "NY003"]
    assert body["opening_hours"]["mon"] == HOURS["mon"]

    public = client.get(f"/api/sites/{site_id}").json()
    assert public["opening_hours"] == HOURS
    assert public["public_phone"] == "0745-2712345"
    assert public["excluded_matters"] == ["LY001", "NY003"]
    assert public["contact_phone"] is None  # the private phone stays private

    facts = client.get(f"/api/sites/{site_id}/facts", params={"day": "2025-11-17"}).json()
    assert facts["day_kind"] == "workday"
    assert facts["open_today"] == HOURS["mon"]
    assert facts["today_text"] == "08:30–12:00、14:30–17:30"
    assert "contact_phone" not in facts
    codes = {m["code"] for m in facts["matters"]}
    assert len(codes) == 38 and not {"LY001", "NY003"} & codes
    assert all(m["legal_basis"] for m in facts["matters"])

    entries = client.get(
        "/api/audit", params={"entity": "site"}, headers=client.auth("municipal")
    ).json()["items"]
    changed = {c["field"] for c in entries[0]["changes"]}
    assert {"opening_hours", "public_phone", "excluded_matters", "contact_phone"} <= changed


@pytest.mark.parametrize(
    ("day", "kind", "open_today"),
    [
        ("2025-10-01", "holiday", []),  # 国庆节, a Wednesday
        ("2025-10-04", "holiday", []),  # a Saturday inside the holiday
        ("2025-10-11", "makeup", HOURS["mon"]),  # 调休上班 Saturday: a working day's hours
        ("2025-11-15", "weekend", HOURS["sat"]),
        ("2025-11-16", "weekend", []),
    ],
)
def test_open_today_follows_holidays_and_makeup_days(client, day, kind, open_today):
    site_id, site = site_of(client)
    patch(client, site_id, {"version": site["version"], "opening_hours": HOURS})
    facts = client.get(f"/api/sites/{site_id}/facts", params={"day": day}).json()
    assert (facts["day_kind"], facts["open_today"]) == (kind, open_today)


def test_facts_not_recorded_read_as_such(client):
    site_id, _ = site_of(client)
    facts = client.get(f"/api/sites/{site_id}/facts").json()
    assert facts["hours_recorded"] is False
    assert facts["opening_hours"] is None and facts["open_today"] == []
    assert facts["today_text"] == "未登记"
    assert len(facts["matters"]) == 40  # the whole catalogue by default


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (
            {"opening_hours": {"mon": [["08:30", "12:00"], ["11:30", "14:00"]]}},
            "hours_overlap",
            "opening_hours.mon",
        ),
        (
            {"opening_hours": {"tue": [["17:30", "08:30"]]}},
            "hours_end_before_start",
            "opening_hours.tue",
        ),
        (
            {"opening_hours": {"monday": [["08:30", "12:00"]]}},
            "invalid_opening_hours",
            "opening_hours.monday",
        ),
        ({"opening_hours": {"mon": [["8点", "12点"]]}}, "invalid_opening_hours", None),
        ({"public_phone": "12345"}, "invalid_public_phone", "public_phone"),
        ({"public_phone": "0745-271"}, "invalid_public_phone", "public_phone"),
        ({"excluded_matters": ["NOPE01"]}, "unknown_matter", "excluded_matters"),
    ],
)
def test_bad_facts_are_refused_and_nothing_changes(client, body, code, field):
    site_id, site = site_of(client)
    before = client.snapshot()
    response = patch(client, site_id, {"version": site["version"], **body})
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["code"] == code
    assert answer["detail_zh"] and answer["detail_en"]
    if field:
        assert answer["errors"][0]["field"] == field
    assert client.snapshot() == before


def test_overlap_and_end_before_start_are_both_listed(client):
    site_id, site = site_of(client)
    response = patch(
        client,
        site_id,
        {
            "version": site["version"],
            "opening_hours": {
                "mon": [["12:00", "08:00"]],
                "wed": [["08:00", "12:00"], ["10:00", "13:00"]],
            },
        },
    )
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["opening_hours.mon", "opening_hours.wed"]


def test_another_countys_planner_may_not_edit_the_facts(client):
    site_id, site = site_of(client)
    before = client.snapshot()
    response = patch(
        client,
        site_id,
        {"version": site["version"], "public_phone": "0745-2712345"},
        who="planner_zhongfang",
    )
    assert (response.status_code, response.json()["code"]) == (403, "out_of_scope")
    assert client.snapshot() == before


def test_a_stale_version_is_refused(client):
    site_id, site = site_of(client)
    response = patch(
        client, site_id, {"version": site["version"] - 1 or 99, "opening_hours": HOURS}
    )
    assert (response.status_code, response.json()["code"]) == (409, "version_conflict")


def test_public_phone_can_be_cleared(client):
    site_id, site = site_of(client)
    patch(client, site_id, {"version": site["version"], "public_phone": "13812345678"})
    response = patch(client, site_id, {"version": site["version"] + 1, "public_phone": None})
    assert response.status_code == 200
    assert response.json()["public_phone"] is None


def test_public_service_functions_for_the_residents_pages(client):
    """What the residents' pages call: ``public_facts`` on a site row, ``guides_for``."""
    from datetime import date

    from registry.cases import service as cases
    from registry.sites import facts
    from registry.sites.service import select_one

    site_id, site = site_of(client)
    patch(client, site_id, {"version": site["version"], "opening_hours": HOURS})
    row = client.run(lambda: select_one(site_id))
    shown = facts.public_facts(row, date(2025, 10, 1))
    assert shown["day_kind"] == "holiday" and shown["open_today"] == []
    assert "contact_phone" not in shown
    guides = client.run(lambda: cases.guides_for(["SB001"]))
    assert len(guides) == 39 and "SB001" not in {g.code for g in guides}
