"""The working-day calendar past the package's last year (issue 19, item 3; both engines):
due dates in an unknown year are provisional; the municipal centre enters the year's official
arrangement (checked whole, audited) and the open cases' due dates move at once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.integration.test_cases import ID_NUMBER, NAME, post

# Friday 4 December 2026, 12:00 in China: the package (chinesecalendar 1.11) ends with 2026.
NOW = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)
YUANDAN = {"holidays": [{"date": "2027-01-01", "name": "元旦"}], "workdays": []}


@pytest.fixture(autouse=True)
def december_2026(client, frozen_clock):
    frozen_clock(NOW)


def twenty_day_case(client, received_at: str = "2026-12-04T09:00:00+08:00") -> dict:
    matter = client.post(
        "/api/matters",
        json={
            "code": "T20",
            "name": "二十日事项",
            "category": "测试",
            "department": "测试局",
            "time_limit_days": 20,
        },
        headers=client.auth("municipal"),
    )
    assert matter.status_code in (201, 409), matter.text
    body = {
        "id": str(uuid.uuid4()),
        "site_id": client.template.sites["hecheng"],
        "matter_code": "T20",
        "resident_name": NAME,
        "resident_id_number": ID_NUMBER,
        "received_at": received_at,
    }
    response = post(client, body)
    assert response.status_code == 201, response.text
    return response.json()


def put_year(client, year, body, who="municipal"):
    return client.put(f"/api/calendar/{year}", json=body, headers=client.auth(who))


def test_calendar_lists_the_known_years_and_warns_of_next_year(client):
    response = client.get("/api/calendar")
    assert response.status_code == 200, response.text
    body = response.json()
    years = {y["year"]: y for y in body["years"]}
    assert years[2026]["source"] == "library"
    assert {"date": "2026-10-01", "name": "国庆节"} in years[2026]["holidays"]
    assert 2027 not in years
    assert body["next_year"] == 2027 and body["next_year_missing"] is True


def test_due_date_in_an_unknown_year_is_provisional_until_the_year_is_entered(client):
    case = twenty_day_case(client)
    # Weekends only in 2027: 19 working days in December, then Friday 1 January (元旦).
    assert case["due_on"] == "2027-01-01" and case["due_provisional"] is True
    known = twenty_day_case(client, "2026-11-02T09:00:00+08:00")
    assert known["due_provisional"] is False
    response = put_year(client, 2027, YUANDAN)
    assert response.status_code == 200, response.text
    assert response.json()["source"] == "registry"
    assert response.json()["cases_recomputed"] == 1
    again = client.get(f"/api/cases/{case['id']}", headers=client.auth("agent_hecheng")).json()
    assert again["due_on"] == "2027-01-04" and again["due_provisional"] is False
    assert again["version"] == case["version"]
    assert (
        client.get(f"/api/cases/{known['id']}", headers=client.auth("agent_hecheng")).json()[
            "due_on"
        ]
        == known["due_on"]
    )
    # New cases count the entered year's holidays too.
    later = twenty_day_case(client, "2026-12-04T10:00:00+08:00")
    assert later["due_on"] == "2027-01-04" and later["due_provisional"] is False
    body = client.get("/api/calendar").json()
    assert body["next_year_missing"] is False
    entered = next(y for y in body["years"] if y["year"] == 2027)
    assert entered["source"] == "registry" and entered["updated_by"] == "municipal"
    assert entered["holidays"] == YUANDAN["holidays"]


def test_entering_a_year_is_audited(client):
    from registry.tables import AuditEntry

    assert put_year(client, 2027, YUANDAN).status_code == 200
    assert put_year(client, 2027, {**YUANDAN, "workdays": ["2027-02-07"]}).status_code == 200
    rows = client.run(
        lambda: (
            AuditEntry.select(AuditEntry.action, AuditEntry.actor)
            .where(AuditEntry.entity == "calendar", AuditEntry.entity_id == "2027")
            .order_by(AuditEntry.id)
        )
    )
    assert [(r["action"], r["actor"]) for r in rows] == [
        ("create", "municipal"),
        ("update", "municipal"),
    ]


@pytest.mark.parametrize(
    ("body", "codes"),
    [
        (
            {"holidays": [{"date": "2028-01-01", "name": "元旦"}]},
            ["calendar_date_outside_year"],
        ),
        (
            {"holidays": [{"date": "2027-02-06", "name": "春节"}], "workdays": ["2027-02-06"]},
            ["calendar_date_both"],
        ),
        ({"workdays": ["2027-02-08"]}, ["calendar_workday_not_weekend"]),
        (
            {"holidays": [{"date": "2027-01-01", "name": " "}], "workdays": ["2026-12-26"]},
            ["calendar_holiday_name", "calendar_date_outside_year"],
        ),
    ],
)
def test_a_bad_arrangement_is_refused_whole_with_every_problem(client, body, codes):
    before = client.snapshot()
    response = put_year(client, 2027, body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == codes[0] and error["rules"] == codes
    assert len(error["errors"]) == len(codes)
    assert client.snapshot() == before


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("agent_hecheng", 403)])
def test_only_the_municipal_centre_enters_a_year(client, who, status):
    assert put_year(client, 2027, YUANDAN, who).status_code == status


@pytest.fixture
def own_tokens(client):
    """The template's tokens as they were, after a test that signed in again."""
    kept = dict(client.template.tokens)
    yield
    client.template.tokens.clear()
    client.template.tokens.update(kept)


def test_entering_a_year_re_derives_timeliness_and_the_statistics(client, frozen_clock, own_tokens):
    """A case completed on Monday 4 January 2027 was late against the provisional due date
    (Friday 1 January, a working day by weekends alone) and on time once 元旦 is a holiday; a
    case forwarded on Tuesday 5 January, received on Wednesday 30 December, was a late forward
    (3 working days: 31 Dec, 1 Jan, 4 Jan) and is not (31 Dec, 4 Jan, 5 Jan)."""
    from registry.tables import Case as CaseRow
    from tests.conftest import PASSWORD

    frozen_clock(datetime(2027, 1, 5, 8, 0, tzinfo=UTC))
    # The template's tokens are from today; sign in again on 5 January 2027.
    for who in ("agent_hecheng", "municipal"):
        signed = client.post("/api/auth/token", json={"username": who, "password": PASSWORD})
        client.template.tokens[who] = signed.json()["access_token"]
    completed = twenty_day_case(client)
    forwarded = twenty_day_case(client, "2026-12-30T09:00:00+08:00")
    agent = client.auth("agent_hecheng")
    steps = [
        (completed, {"state": "forwarded", "forwarded_at": "2026-12-07T09:00:00+08:00"}),
        (completed, {"state": "completed", "completed_at": "2027-01-04T10:00:00+08:00"}),
        (forwarded, {"state": "forwarded", "forwarded_at": "2027-01-05T09:00:00+08:00"}),
    ]
    for case, change in steps:
        version = client.get(f"/api/cases/{case['id']}", headers=agent).json()["version"]
        done = client.patch(
            f"/api/cases/{case['id']}", json={"version": version, **change}, headers=agent
        )
        assert done.status_code == 200, done.text

    def flags():
        rows = client.run(
            lambda: CaseRow.select(
                CaseRow.id,
                CaseRow.forward_late,
                CaseRow.completion_workdays,
                CaseRow.completed_on_time,
            ).where(CaseRow.id.is_in([completed["id"], forwarded["id"]]))
        )
        by_id = {str(r["id"]): r for r in rows}
        a, b = by_id[completed["id"]], by_id[forwarded["id"]]
        return (a["completed_on_time"], a["completion_workdays"], b["forward_late"])

    def stats():
        body = client.get(
            "/api/cases/stats", params={"site": client.template.sites["hecheng"]}, headers=agent
        ).json()
        return body["total"]["forward_late"], body["total"]["completed_on_time"]

    late_before, on_time_before = stats()
    assert flags() == (False, 21, True)
    response = put_year(client, 2027, YUANDAN)
    assert response.status_code == 200, response.text
    assert flags() == (True, 20, False)
    assert stats() == (late_before - 1, on_time_before + 1)
    assert (
        client.get("/api/cases/" + forwarded["id"], headers=agent).json()["forward_late"] is False
    )


def test_the_calendar_is_built_again_only_when_a_year_changed(client):
    """Every case write asks for the calendar: it reads the years' stamps, and builds the
    calendar again only when one changed (entering 2027 here)."""
    from registry.cases import calendar

    first = client.run(calendar.current)
    assert client.run(calendar.current) is first
    assert not first.is_known(2027)
    assert put_year(client, 2027, YUANDAN).status_code == 200
    entered = client.run(calendar.current)
    assert entered is not first and entered.is_known(2027)
    assert client.run(calendar.current) is entered
