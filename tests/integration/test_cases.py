"""Cases: single create and edit, deadlines, scope, bad input, lists (both engines).

Helpers here are shared by the other ``test_cases_*`` modules.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from registry.cases.rules.resident_id import with_check_character

# Monday 20 October 2014, 10:00 in China.
NOW = datetime(2014, 10, 20, 2, 0, tzinfo=UTC)
HECHENG = "431202000000"
ZHONGFANG = "431221000000"
NAME = "张三明"
ID_NUMBER = "431202198001010018"  # 1980-born, 鹤城区 code created 1997: valid
PHONE = "13812345678"
OTHER_IDS = [with_check_character(f"4312211975061{i:04d}") for i in range(1, 40)]


@pytest.fixture(autouse=True)
def clock_2014(client, frozen_clock):
    """Freeze the registry's clock once the template (and its tokens) exists."""
    frozen_clock(NOW)


def record(client, where: str = "hecheng", **values: Any) -> dict[str, Any]:
    """A valid new case record for a template point (override any field)."""
    body = {
        "id": str(uuid.uuid4()),
        "site_id": client.template.sites[where],
        "matter_code": "SB001",
        "resident_name": NAME,
        "resident_id_number": ID_NUMBER,
        "resident_phone": PHONE,
        "received_at": "2014-10-08T09:30:00+08:00",
    }
    body.update(values)
    return {k: v for k, v in body.items() if v is not ...}


def post(client, body: dict[str, Any], who: str | None = "agent_hecheng"):
    return client.post("/api/cases", json=body, headers=client.auth(who))


def patch(client, case_id: str, body: dict[str, Any], who: str | None = "agent_hecheng"):
    return client.patch(f"/api/cases/{case_id}", json=body, headers=client.auth(who))


def sync(client, records: list[Any], who: str | None = "agent_hecheng"):
    return client.post("/api/cases/sync", json={"records": records}, headers=client.auth(who))


def created(client, where: str = "hecheng", **values: Any) -> dict[str, Any]:
    response = post(client, record(client, where, **values), f"agent_{where}")
    assert response.status_code == 201, response.text
    return response.json()


def village_code(client, where: str = "hecheng") -> str:
    return client.template.villages[where]


# --------------------------------------------------------------------------- creating


def test_agent_logs_a_case_with_masked_resident_data_and_a_due_date(client):
    body = record(client)
    response = post(client, body)
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["id"] == body["id"]
    assert case["site_id"] == client.template.sites["hecheng"]
    assert case["matter_code"] == "SB001" and case["matter_name"] == "城乡居民基本养老保险参保登记"
    assert case["case_number"] == f"{village_code(client)}-20141008-0001"
    assert case["county_code"] == HECHENG
    assert case["resident_name_masked"] == "张*明"
    assert case["resident_id_masked"] == "4312**********0018"
    assert case["resident_phone_masked"] == "138****5678"
    assert case["state"] == "received"
    assert case["received_at"].startswith("2014-10-08T01:30:00")
    # SB001: 5 working days after Wednesday 8 October 2014 — 9, 10, 11 (make-up Saturday), 13, 14.
    assert case["due_on"] == "2014-10-14"
    assert case["overdue"] is True  # still open on 20 October
    assert case["version"] == 1
    assert case["forward_late"] is False
    for key in ("resident_name", "resident_id_number", "resident_phone", "resident_id_hash"):
        assert key not in case


def test_case_numbers_count_per_point_and_day(client):
    first = created(client)
    second = created(client, resident_id_number=OTHER_IDS[0])
    next_day = created(client, received_at="2014-10-09T08:00:00+08:00")
    other_point = created(client, "zhongfang", resident_id_number=OTHER_IDS[1])
    assert first["case_number"].endswith("-20141008-0001")
    assert second["case_number"].endswith("-20141008-0002")
    assert next_day["case_number"].endswith("-20141009-0001")
    assert other_point["case_number"] == f"{village_code(client, 'zhongfang')}-20141008-0001"


def test_case_numbers_go_on_past_9999(client):
    """The next serial is the highest of the day, read numerically: 10000 follows 9999."""
    from registry.tables import Case

    first = created(client)
    prefix = first["case_number"].rsplit("-", 1)[0]

    async def renumber(serial: int) -> None:
        await Case.update({Case.case_number: f"{prefix}-{serial:04d}"}).where(
            Case.id == first["id"]
        )

    client.run(lambda: renumber(9999))
    second = created(client, resident_id_number=OTHER_IDS[0])
    assert second["case_number"] == f"{prefix}-10000"
    third = created(client, resident_id_number=OTHER_IDS[1])
    assert third["case_number"] == f"{prefix}-10001"


def test_naive_received_time_is_china_time(client):
    case = created(client, received_at="2014-10-08T00:30:00")
    assert case["received_at"].startswith("2014-10-07T16:30:00")
    assert case["case_number"].endswith("-20141008-0001")


def test_repeating_the_same_post_returns_the_case_and_changes_nothing(client):
    body = record(client)
    first = post(client, body)
    before = client.snapshot()
    again = post(client, body)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert client.snapshot() == before


def test_post_of_an_existing_id_with_other_content_is_a_conflict(client):
    body = record(client)
    first = post(client, body).json()
    before = client.snapshot()
    response = post(client, {**body, "note": "另一份内容"})
    assert response.status_code == 409
    assert response.json()["code"] == "case_exists"
    assert response.json()["case"]["version"] == first["version"]
    assert client.snapshot() == before


BAD_RECORDS = [
    ({"matter_code": "NOPE01"}, 422, "unknown_matter"),
    ({"received_at": "2014-10-21T09:00:00+08:00"}, 422, "received_in_future"),
    ({"received_at": "2013-05-31T09:00:00+08:00"}, 422, "site_not_in_service"),
    (
        {"state": "completed", "completed_at": "2014-10-09T09:00:00+08:00"},
        422,
        "timestamp_required",
    ),
    (
        {"state": "forwarded", "forwarded_at": "2014-10-07T09:00:00+08:00"},
        422,
        "timestamps_out_of_order",
    ),
    ({"state": "finished"}, 422, "unknown_state"),
    ({"resident_id_number": "431202198001010017"}, 422, "invalid_resident_id"),
    ({"resident_id_number": "43120219800101001"}, 422, "invalid_resident_id"),
    ({"resident_phone": "1381234567"}, 422, "invalid_phone"),
    ({"resident_name": "张3"}, 422, "invalid_resident_name"),
    ({"rating": "satisfied"}, 422, "rating_before_delivery"),
    (
        {
            "state": "returned",
            "forwarded_at": "2014-10-08T10:00:00+08:00",
            "returned_at": "2014-10-09T10:00:00+08:00",
        },
        422,
        "returned_reason_required",
    ),
    ({"fee_yuan": 10}, 422, "fee_not_allowed"),
    ({"note": "居民电话13812345678"}, 422, "personal_data_in_text"),
    ({"site_id": 999_999}, 403, "out_of_scope"),
    ({"surprise": 1}, 422, "unknown_field"),
    ({"id": "not-a-uuid"}, 422, "invalid_input"),
    ({"resident_id_number": ...}, 422, "missing_field"),
    ({"received_at": "0001-01-01T00:00:00"}, 422, "invalid_timestamp"),
    ({"received_at": "1999-01-01T09:00:00+08:00"}, 422, "site_not_in_service"),
]


@pytest.mark.parametrize(("change", "status", "code"), BAD_RECORDS)
def test_bad_case_is_refused_and_nothing_changes(client, change, status, code):
    before = client.snapshot()
    response = post(client, record(client, **change))
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert client.snapshot() == before


@pytest.mark.parametrize(
    ("number", "rules"),
    [
        ("431202198001010017", ["id_checksum"]),
        ("991202198002300010", ["id_province", "id_birth_date", "id_checksum"]),
        (with_check_character("43120220300101001"), ["id_birth_date_future"]),
        ("4312021980010100", ["id_format"]),
    ],
)
def test_invalid_id_names_each_failing_rule(client, number, rules):
    response = post(client, record(client, resident_id_number=number))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_resident_id"
    assert body["rules"] == rules
    assert [e["field"] for e in body["errors"]] == ["resident_id_number"] * len(rules)
    assert number not in response.text


def test_several_problems_of_one_case_are_all_listed(client):
    response = post(
        client,
        record(client, resident_phone="12", rating="satisfied", fee_yuan=5),
    )
    assert response.status_code == 422
    assert set(response.json()["rules"]) == {
        "invalid_phone",
        "rating_before_delivery",
        "fee_not_allowed",
    }


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("agent_zhongfang", 403, "out_of_scope"),
        ("planner_hecheng", 403, "wrong_role"),
        ("municipal", 403, "wrong_role"),
        (None, 401, "not_authenticated"),
    ],
)
def test_only_the_points_agent_logs_its_cases(client, who, status, code):
    before = client.snapshot()
    response = post(client, record(client), who)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert client.snapshot() == before


def test_no_case_on_a_day_the_point_was_suspended(client):
    site = client.template.sites["hecheng"]
    for status, day in (("suspended", "2014-09-01"), ("in_service", "2014-09-15")):
        response = client.post(
            f"/api/sites/{site}/status",
            json={"status": status, "effective_date": day},
            headers=client.auth("planner_hecheng"),
        )
        assert response.status_code in (200, 201), response.text
    refused = post(client, record(client, received_at="2014-09-10T09:00:00+08:00"))
    assert refused.status_code == 422
    assert refused.json()["code"] == "site_not_in_service"
    assert post(client, record(client, received_at="2014-08-29T09:00:00+08:00")).status_code == 201
    assert post(client, record(client, received_at="2014-09-15T09:00:00+08:00")).status_code == 201


def test_inactive_matter_takes_no_new_cases(client):
    response = client.patch(
        "/api/matters/SB001", json={"active": False}, headers=client.auth("municipal")
    )
    assert response.status_code == 200
    refused = post(client, record(client))
    assert refused.status_code == 422 and refused.json()["code"] == "matter_inactive"


# --------------------------------------------------------------------------- editing


def test_case_moves_through_its_states_with_versions(client):
    case = created(client)
    steps = [
        ({"state": "forwarded", "forwarded_at": "2014-10-09T10:00:00+08:00"}, "forwarded"),
        ({"state": "completed", "completed_at": "2014-10-13T16:00:00+08:00"}, "completed"),
        ({"state": "delivered", "delivered_at": "2014-10-14T09:00:00+08:00"}, "delivered"),
        ({"rating": "very_satisfied"}, "delivered"),
    ]
    for version, (change, state) in enumerate(steps, start=1):
        response = patch(client, case["id"], {"version": version, **change})
        assert response.status_code == 200, response.text
        case = response.json()
        assert case["state"] == state
        assert case["version"] == version + 1
    assert case["rating"] == "very_satisfied"
    assert case["overdue"] is False
    assert case["forward_late"] is False
    assert case["case_number"].endswith("-20141008-0001")


def test_forward_later_than_three_working_days_is_flagged(client):
    case = created(client)
    # Received Wednesday 8 October: 9, 10 and 11 (make-up Saturday) are the three days.
    on_time = patch(
        client,
        case["id"],
        {"version": 1, "state": "forwarded", "forwarded_at": "2014-10-11T17:00:00+08:00"},
    ).json()
    assert on_time["forward_late"] is False
    late = created(client, resident_id_number=OTHER_IDS[2])
    late = patch(
        client,
        late["id"],
        {"version": 1, "state": "forwarded", "forwarded_at": "2014-10-13T09:00:00+08:00"},
    ).json()
    assert late["forward_late"] is True


def test_stale_version_is_a_conflict_with_the_server_copy(client):
    case = created(client)
    forwarded = patch(
        client,
        case["id"],
        {"version": 1, "state": "forwarded", "forwarded_at": "2014-10-09T10:00:00+08:00"},
    ).json()
    before = client.snapshot()
    response = patch(client, case["id"], {"version": 1, "note": "旧设备上的修改"})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "stale_version"
    assert body["case"]["version"] == 2
    assert body["case"] == forwarded
    assert client.snapshot() == before


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"state": "received", "forwarded_at": None}, "state_transition_not_allowed"),
        ({"state": "delivered", "delivered_at": "2014-10-10T10:00:00+08:00"}, "timestamp_required"),
        ({"rating": "satisfied"}, "rating_before_delivery"),
        ({"completed_at": "2014-10-10T10:00:00+08:00"}, "timestamp_not_allowed"),
        ({"fee_yuan": 5}, "fee_not_allowed"),
        ({"resident_phone": "13900001111"}, "resident_fields_together"),
        ({"site_id": 2}, "unknown_field"),
        ({"received_at": "2014-10-07T09:00:00+08:00"}, "unknown_field"),
    ],
)
def test_bad_edit_is_refused(client, change, code):
    case = created(client)
    case = patch(
        client,
        case["id"],
        {"version": 1, "state": "forwarded", "forwarded_at": "2014-10-09T10:00:00+08:00"},
    ).json()
    before = client.snapshot()
    response = patch(client, case["id"], {"version": case["version"], **change})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert client.snapshot() == before


def test_completed_case_cannot_become_returned(client):
    case = created(client)
    patch(
        client,
        case["id"],
        {
            "version": 1,
            "state": "completed",
            "forwarded_at": "2014-10-09T10:00:00+08:00",
            "completed_at": "2014-10-10T10:00:00+08:00",
        },
    )
    response = patch(
        client,
        case["id"],
        {
            "version": 2,
            "state": "returned",
            "completed_at": None,
            "returned_at": "2014-10-10T10:00:00+08:00",
            "returned_reason": "材料不全",
        },
    )
    assert response.status_code == 422
    assert response.json()["code"] == "state_transition_not_allowed"


def test_resident_data_is_corrected_as_a_whole(client):
    case = created(client)
    response = patch(
        client,
        case["id"],
        {"version": 1, "resident_name": "张山明", "resident_id_number": ID_NUMBER},
    )
    assert response.status_code == 200
    corrected = response.json()
    assert corrected["resident_name_masked"] == "张*明"
    assert corrected["resident_phone_masked"] is None
    assert corrected["version"] == 2


def test_patch_without_change_keeps_the_version(client):
    case = created(client)
    response = patch(client, case["id"], {"version": 1, "note": None})
    assert response.status_code == 200
    assert response.json()["version"] == 1


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("agent_zhongfang", 403, "out_of_scope"),
        ("planner_hecheng", 403, "wrong_role"),
        (None, 401, "not_authenticated"),
    ],
)
def test_only_the_points_agent_edits_its_cases(client, who, status, code):
    case = created(client)
    before = client.snapshot()
    response = patch(client, case["id"], {"version": 1, "note": "改"}, who)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert client.snapshot() == before


def test_editing_a_missing_case_is_404(client):
    response = patch(client, str(uuid.uuid4()), {"version": 1, "note": "x"})
    assert response.status_code == 404
    assert response.json()["code"] == "case_not_found"


# --------------------------------------------------------------------------- reading


@pytest.fixture
def two_counties(client):
    """Three cases at the 鹤城区 point, two at the 中方县 point; one of each completed."""
    ids = {"hecheng": [], "zhongfang": []}
    for where, count in (("hecheng", 3), ("zhongfang", 2)):
        for i in range(count):
            case = created(
                client,
                where,
                resident_id_number=OTHER_IDS[len(ids["hecheng"]) + len(ids["zhongfang"])],
                received_at=f"2014-10-{13 + i:02d}T09:00:00+08:00",
                matter_code="YB002",  # 3 working days
            )
            ids[where].append(case["id"])
    for where in ids:
        response = patch(
            client,
            ids[where][0],
            {
                "version": 1,
                "state": "completed",
                "forwarded_at": "2014-10-13T10:00:00+08:00",
                "completed_at": "2014-10-14T10:00:00+08:00",
            },
            f"agent_{where}",
        )
        assert response.status_code == 200, response.text
    return ids


# Read-only checks over one scenario run as tables inside one test (one database each).
SCOPES = [
    ("agent_hecheng", {"hecheng": 3}),
    ("agent_zhongfang", {"zhongfang": 2}),
    ("planner_hecheng", {"hecheng": 3}),
    ("planner_zhongfang", {"zhongfang": 2}),
    ("municipal", {"hecheng": 3, "zhongfang": 2}),
]


def test_each_role_reads_its_scope(client, two_counties):
    for who, expected in SCOPES:
        response = client.get("/api/cases", headers=client.auth(who))
        assert response.status_code == 200
        body = response.json()
        assert body["total"] == sum(expected.values()), who
        sites = {client.template.sites[w]: n for w, n in expected.items()}
        seen: dict[int, int] = {}
        for item in body["items"]:
            seen[item["site_id"]] = seen.get(item["site_id"], 0) + 1
            assert "resident_name" not in item
        assert seen == sites, who


@pytest.mark.parametrize(
    ("who", "params", "status", "code"),
    [
        (None, {}, 401, "not_authenticated"),
        ("agent_hecheng", {"site": "zhongfang"}, 403, "out_of_scope"),
        ("planner_hecheng", {"county": "431221"}, 403, "out_of_scope"),
        ("municipal", {"state": "done"}, 422, "invalid_filter"),
        ("municipal", {"limit": 0}, 422, "invalid_limit"),
        ("municipal", {"site": 99_999_999_999}, 422, "invalid_filter"),
        ("municipal", {"from": "2014-10-10", "to": "2014-10-01"}, 422, "invalid_date_range"),
    ],
)
def test_list_refusals(client, who, params, status, code):
    params = {k: client.template.sites.get(v, v) if k == "site" else v for k, v in params.items()}
    response = client.get("/api/cases", params=params, headers=client.auth(who))
    assert response.status_code == status
    assert response.json()["code"] == code


FILTERS = [
    ({}, 5),
    ({"county": "431202"}, 3),
    ({"state": "completed"}, 2),
    ({"state": "received"}, 3),
    # YB002 = 3 working days: received 13 Oct → due 16 Oct, 14 → 17, 15 → 20 (not overdue).
    ({"overdue": "true"}, 2),
    ({"overdue": "false"}, 3),
    ({"matter": "yb002"}, 5),
    ({"matter": "SB001"}, 0),
    ({"from": "2014-10-14", "to": "2014-10-14"}, 2),
    ({"site": "hecheng"}, 3),
]


def test_list_filters(client, two_counties):
    for params, total in FILTERS:
        params = {k: client.template.sites[v] if k == "site" else v for k, v in params.items()}
        response = client.get("/api/cases", params=params, headers=client.auth("municipal"))
        assert response.status_code == 200, response.text
        assert response.json()["total"] == total, params
        if params.get("overdue") == "true":
            assert all(item["overdue"] for item in response.json()["items"])


def test_list_pages_newest_first(client, two_counties):
    first = client.get("/api/cases", params={"limit": 2}, headers=client.auth("municipal")).json()
    second = client.get(
        "/api/cases", params={"limit": 2, "offset": 2}, headers=client.auth("municipal")
    ).json()
    assert first["total"] == second["total"] == 5
    assert first["limit"] == 2 and second["offset"] == 2
    received = [i["received_at"] for i in first["items"] + second["items"]]
    assert received == sorted(received, reverse=True)
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}


def test_one_case_is_read_within_scope(client, two_counties):
    url = f"/api/cases/{two_counties['hecheng'][0]}"
    for who, status in (
        ("agent_hecheng", 200),
        ("planner_hecheng", 200),
        ("municipal", 200),
        ("agent_zhongfang", 403),
        ("planner_zhongfang", 403),
        (None, 401),
    ):
        assert client.get(url, headers=client.auth(who)).status_code == status, who


def test_missing_case_is_404(client):
    response = client.get(f"/api/cases/{uuid.uuid4()}", headers=client.auth("municipal"))
    assert response.status_code == 404


def test_active_points_are_those_with_a_case_in_the_last_90_days(client, two_counties):
    from registry.cases.service import active_site_ids

    hecheng, zhongfang = client.template.sites["hecheng"], client.template.sites["zhongfang"]
    assert client.run(lambda: active_site_ids(date(2014, 10, 20))) == {hecheng, zhongfang}
    assert client.run(lambda: active_site_ids(date(2014, 10, 20), "431202")) == {hecheng}
    assert client.run(lambda: active_site_ids(date(2014, 10, 20), HECHENG)) == {hecheng}
    # The window is the 90 days up to the day: the last case + 89 days is the last active day
    # (鹤城区's last case 15 October → 12 January; 中方县's 14 October → 11 January).
    assert client.run(lambda: active_site_ids(date(2015, 1, 11))) == {hecheng, zhongfang}
    assert client.run(lambda: active_site_ids(date(2015, 1, 12))) == {hecheng}
    assert client.run(lambda: active_site_ids(date(2015, 1, 13))) == set()
    assert client.run(lambda: active_site_ids(date(2014, 10, 12))) == set()
