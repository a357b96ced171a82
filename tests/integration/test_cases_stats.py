"""Case statistics by state, matter and month per point, township and county (both engines)."""

from __future__ import annotations

import pytest

from registry.cases.rules.resident_id import with_check_character
from tests.integration.test_cases import NOW, record, sync

IDS = [with_check_character(f"43120219500101{i:03d}") for i in range(1, 20)]


@pytest.fixture(autouse=True)
def clock_2014(client, frozen_clock):
    frozen_clock(NOW)


def _t(day: str, hour: int = 9) -> str:
    return f"2014-{day}T{hour:02d}:00:00+08:00"


@pytest.fixture
def scenario(client):
    """Four cases at the 鹤城区 point, one at the 中方县 point (see each line)."""
    hecheng = [
        # Due 9 Sep (8 Sep is Mid-Autumn); completed in 4 working days, on time, very satisfied.
        record(
            client,
            matter_code="SB001",
            resident_id_number=IDS[0],
            received_at=_t("09-01"),
            state="delivered",
            forwarded_at=_t("09-01", 11),
            completed_at=_t("09-05"),
            delivered_at=_t("09-06"),
            rating="very_satisfied",
        ),
        # Due 22 Sep; completed 30 Sep after 12 working days (28 Sep was a make-up day): late.
        record(
            client,
            matter_code="SB001",
            resident_id_number=IDS[1],
            received_at=_t("09-15"),
            state="delivered",
            forwarded_at=_t("09-16"),
            completed_at=_t("09-30"),
            delivered_at=_t("10-08"),
            rating="dissatisfied",
        ),
        # Still open, due 11 Oct: overdue on 20 Oct.
        record(client, matter_code="YB002", resident_id_number=IDS[2], received_at=_t("10-08")),
        # Returned with a reason.
        record(
            client,
            matter_code="MZ003",
            resident_id_number=IDS[3],
            received_at=_t("10-09"),
            state="returned",
            forwarded_at=_t("10-09", 15),
            returned_at=_t("10-10"),
            returned_reason="不符合临时救助条件",
        ),
    ]
    zhongfang = [
        # Forwarded on the 4th working day (late), due 20 Oct = today: not overdue yet.
        record(
            client,
            "zhongfang",
            matter_code="SB001",
            resident_id_number=IDS[4],
            received_at=_t("10-13"),
            state="forwarded",
            forwarded_at=_t("10-17"),
        )
    ]
    for who, batch in (("agent_hecheng", hecheng), ("agent_zhongfang", zhongfang)):
        response = sync(client, batch, who)
        assert response.json()["summary"]["created"] == len(batch), response.text


def stats(client, who="municipal", **params):
    response = client.get("/api/cases/stats", params=params, headers=client.auth(who))
    assert response.status_code == 200, response.text
    return response.json()


def test_city_figures(client, scenario):
    body = stats(client)
    total = body["total"]
    assert total["cases"] == 5
    assert total["by_state"] == {
        "received": 1,
        "forwarded": 1,
        "completed": 0,
        "returned": 1,
        "delivered": 2,
    }
    assert total["by_matter"] == {"MZ003": 1, "SB001": 3, "YB002": 1}
    assert total["by_month"] == {"2014-09": 2, "2014-10": 3}
    assert total["completed"] == 2
    assert total["completed_on_time"] == 1
    assert total["on_time_rate"] == 0.5
    assert total["avg_workdays_to_completion"] == 8.0  # (4 + 12) / 2
    assert total["returned"] == 1
    assert total["forward_late"] == 1
    assert total["overdue"] == 1
    assert total["rated"] == 2 and total["satisfied"] == 1
    assert total["satisfaction_share"] == 0.5
    assert body["as_of"] == "2014-10-20"
    assert body["matters"]["MZ003"] == "临时救助申请"


def test_figures_per_county_township_and_point(client, scenario):
    body = stats(client)
    counties = {c["code"]: c for c in body["counties"]}
    assert set(counties) == {"431202000000", "431221000000"}
    assert counties["431202000000"]["name"] == "鹤城区"
    hecheng = counties["431202000000"]["figures"]
    assert hecheng["cases"] == 4 and hecheng["overdue"] == 1 and hecheng["forward_late"] == 0
    zhongfang = counties["431221000000"]["figures"]
    assert zhongfang["cases"] == 1
    assert zhongfang["on_time_rate"] is None  # nothing completed: no rate, not 0
    assert zhongfang["satisfaction_share"] is None
    assert zhongfang["by_month"] == {"2014-10": 1}
    sites = {s["site_id"]: s for s in body["sites"]}
    point = sites[client.template.sites["hecheng"]]
    assert point["code"] == client.template.villages["hecheng"]
    assert point["name"].endswith("便民服务代办点")
    assert point["county_code"] == "431202000000"
    assert point["figures"] == hecheng
    village = client.get(f"/api/divisions/{client.template.villages['hecheng']}").json()
    township = village["township_code"]  # civil affairs' code, not the village code's prefix
    townships = {t["code"]: t for t in body["townships"]}
    assert townships[township]["figures"] == hecheng
    assert townships[township]["county_code"] == "431202000000"


def test_date_range_filters_on_the_received_date(client, scenario):
    body = stats(client, **{"from": "2014-10-01", "to": "2014-10-12"})
    assert body["total"]["cases"] == 2
    assert body["from"] == "2014-10-01" and body["to"] == "2014-10-12"
    assert stats(client, county="431221")["total"]["cases"] == 1


def test_figures_stay_within_scope(client, scenario):
    for who, cases in (
        ("planner_hecheng", 4),
        ("planner_zhongfang", 1),
        ("agent_hecheng", 4),
        ("agent_zhongfang", 1),
    ):
        body = stats(client, who)
        assert body["total"]["cases"] == cases, who
        assert len(body["counties"]) == 1


@pytest.mark.parametrize(
    ("who", "params", "status", "code"),
    [
        (None, {}, 401, "not_authenticated"),
        ("planner_hecheng", {"county": "431221"}, 403, "out_of_scope"),
        ("agent_hecheng", {"site": 999}, 403, "out_of_scope"),
        ("municipal", {"county": "43"}, 422, "invalid_code"),
        ("municipal", {"from": "2014-10-10", "to": "2014-10-01"}, 422, "invalid_date_range"),
    ],
)
def test_stats_refusals(client, who, params, status, code):
    response = client.get("/api/cases/stats", params=params, headers=client.auth(who))
    assert response.status_code == status
    assert response.json()["code"] == code


def test_no_cases_gives_empty_figures_not_errors(client):
    body = stats(client)
    assert body["total"]["cases"] == 0
    assert body["total"]["on_time_rate"] is None
    assert body["counties"] == [] and body["sites"] == []
