"""Coverage figures on both engines, compared with an independent count done here on a small
hand-built history in 会同县 (which has no site in the template database)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from geo.boundaries import load_regions_geojson
from registry.core import clock
from seed.loader import HUAIHUA

HUITONG = "431225000000"  # 会同县
HECHENG = "431202000000"
CITY = "431200000000"
CHINA = ZoneInfo("Asia/Shanghai")
START = date(2013, 4, 18)
DEADLINE = date(2015, 4, 18)

REGIONS = {
    r.code.ljust(12, "0"): replace(r, code=r.code.ljust(12, "0"))
    for r in load_regions_geojson(HUAIHUA / "boundaries.gcj02.geojson", crs="gcj02")
}
INSIDE_HUITONG = REGIONS[HUITONG].geometry.representative_point().coords[0]
FIGURES = (
    "villages_total",
    "points_built",
    "points_in_service",
    "points_active",
    "townships_total",
    "centres_in_service",
    "centres_standardized",
)


@dataclass
class Planned:
    """A site the test registers, with its dated steps (and case instants)."""

    key: str
    steps: list[tuple[str, date]]
    cases: list[datetime] = field(default_factory=list)
    division: str = ""
    site_id: int = 0


# The hand-built history. Village keys are resolved to real village codes of 会同县.
HISTORY = [
    Planned(
        "v0",
        [
            ("planned", date(2013, 5, 1)),
            ("built", date(2013, 9, 1)),
            ("in_service", date(2013, 11, 15)),
        ],
        # 2014-01-20 17:00 UTC is 2014-01-21 01:00 in China: the case counts for 2014-01-21.
        cases=[datetime(2014, 1, 20, 17, 0, tzinfo=UTC)],
    ),
    Planned(
        "v1",
        [
            ("in_service", date(2014, 1, 10)),
            ("suspended", date(2014, 3, 1)),
            ("in_service", date(2014, 4, 15)),
        ],
        cases=[datetime(2014, 3, 10, 2, 0, tzinfo=UTC)],  # received while suspended
    ),
    Planned("v2", [("under_construction", date(2013, 12, 1)), ("built", date(2014, 2, 1))]),
    Planned(
        "v3",
        [("in_service", date(2013, 7, 1)), ("closed", date(2014, 6, 1))],
    ),
    # A second point on v3, registered after the first was closed but backdated: both are in
    # service from 2014-05-15 to 2014-05-31 — the village still counts once.
    Planned("v3", [("in_service", date(2014, 5, 15))]),
    # A village added mid-campaign (established 2014-03-01) and its point.
    Planned("new_village", [("planned", date(2014, 3, 1)), ("in_service", date(2014, 3, 10))]),
    # A village abolished on 2014-05-01 whose point was never closed: not counted after.
    Planned("old_village", [("in_service", date(2013, 12, 1))]),
    Planned("t0", [("in_service", date(2013, 8, 1)), ("standardized", date(2014, 2, 20))]),
    Planned("t1", [("built", date(2013, 10, 1))]),
    Planned(
        "t2",
        [
            ("in_service", date(2013, 6, 1)),
            ("standardized", date(2013, 12, 1)),
            ("suspended", date(2014, 5, 1)),
            ("standardized", date(2014, 7, 1)),
        ],
    ),
]
CHECK_DAYS = [
    date(2013, 4, 18),
    date(2013, 6, 30),
    date(2013, 11, 15),
    date(2014, 1, 21),
    date(2014, 2, 28),
    date(2014, 3, 5),
    date(2014, 3, 10),
    date(2014, 4, 20),  # last day the 2014-01-21 case keeps v0 active (day 90)
    date(2014, 4, 21),
    date(2014, 5, 1),
    date(2014, 5, 20),  # v3's two points overlap
    date(2014, 6, 1),
    DEADLINE,
]


# --------------------------------------------------------------------------- building the history


def divisions_of(client, county):
    """Every township and village of ``county`` straight from the table (no API, no SQL of ours)."""
    from registry.tables import Division

    async def fetch():
        return await Division.select(
            Division.code,
            Division.level,
            Division.township_code,
            Division.established_on,
            Division.abolished_on,
        ).where(Division.county_code == county)

    return client.run(fetch)


def add_village(client, code, township, name, established=None):
    from registry.tables import Division

    async def insert():
        await Division.insert(
            Division(
                code=code,
                name=name,
                level="village",
                kind="村",
                parent=township,
                county_code=HUITONG,
                township_code=township,
                established_on=established,
                source="test",
            )
        )

    client.run(insert)


def add_cases(client, site_id, division, instants):
    from registry.tables import Case, Matter

    async def insert():
        if not await Matter.exists().where(Matter.code == "T-001"):
            await Matter.insert(
                Matter(
                    code="T-001",
                    name="测试事项",
                    category="测试",
                    department="测试",
                    time_limit_days=5,
                )
            )
        for n, instant in enumerate(instants):
            await Case.insert(
                Case(
                    id=uuid.uuid4(),
                    site=site_id,
                    matter="T-001",
                    case_number=f"{division}-{instant:%Y%m%d}-{n + 1:03d}",
                    county_code=HUITONG,
                    township_code=division[:9] + "000",
                    resident_name_masked="张*",
                    resident_id_hash="0" * 64,
                    resident_id_masked="4312**********123X",
                    received_at=instant,
                    state="received",
                    due_on=instant.date() + timedelta(days=7),
                    content_hash="0" * 64,
                )
            )

    client.run(insert)


def build_history(client):
    """Register HISTORY through the API (municipal); returns the planned sites with ids."""
    rows = divisions_of(client, HUITONG)
    townships = sorted(
        r["code"] for r in rows if r["level"] == "township" and r["abolished_on"] is None
    )
    villages = sorted(
        r["code"]
        for r in rows
        if r["level"] == "village" and r["established_on"] is None and r["abolished_on"] is None
    )
    home = townships[0]
    add_village(client, home[:9] + "395", home, "测试新村", established=date(2014, 3, 1))
    # Abolished after its point was registered (a site cannot be registered on an abolished
    # division), as a merger recorded later would do.
    add_village(client, home[:9] + "396", home, "测试旧村")
    codes = {
        "v0": villages[0],
        "v1": villages[1],
        "v2": villages[2],
        "v3": villages[3],
        "new_village": home[:9] + "395",
        "old_village": home[:9] + "396",
        "t0": townships[0],
        "t1": townships[1],
        "t2": townships[2],
    }
    headers = client.auth("municipal")
    planned = []
    for item in HISTORY:
        item = replace(item, division=codes[item.key])
        first_status, first_day = item.steps[0]
        response = client.post(
            "/api/sites",
            json={
                "division_code": item.division,
                "lon": INSIDE_HUITONG[0],
                "lat": INSIDE_HUITONG[1],
                "status": first_status,
                "effective_date": first_day.isoformat(),
            },
            headers=headers,
        )
        assert response.status_code == 201, response.text
        item.site_id = response.json()["id"]
        for status, day in item.steps[1:]:
            response = client.post(
                f"/api/sites/{item.site_id}/status",
                json={"status": status, "effective_date": day.isoformat(), "note": "测试"},
                headers=headers,
            )
            assert response.status_code == 201, response.text
        if item.cases:
            add_cases(client, item.site_id, item.division, item.cases)
        planned.append(item)
    abolish(client, home[:9] + "396", date(2014, 5, 1))
    return planned


def abolish(client, code, day):
    from registry.tables import Division

    async def update():
        await Division.update({Division.abolished_on: day}).where(Division.code == code)

    client.run(update)


# --------------------------------------------------------------------------- independent count


def status_on(steps, day):
    status = None
    for s, d in steps:  # chronological, later entries win on the same date
        if d <= day:
            status = s
    return status


def exists(row, day):
    return (row["established_on"] is None or row["established_on"] <= day) and (
        row["abolished_on"] is None or row["abolished_on"] > day
    )


def expected_counts(rows, planned, day, township=None):
    by_division: dict[str, list[Planned]] = {}
    for p in planned:
        by_division.setdefault(p.division, []).append(p)
    window = {day - timedelta(days=k) for k in range(90)}
    out = dict.fromkeys(FIGURES, 0)
    for row in rows:
        if not exists(row, day) or (township and row["township_code"] != township):
            continue
        sites = [(p, status_on(p.steps, day)) for p in by_division.get(row["code"], [])]
        statuses = {status for _, status in sites}
        if row["level"] == "village":
            out["villages_total"] += 1
            out["points_built"] += bool(statuses & {"built", "in_service"})
            out["points_in_service"] += "in_service" in statuses
            out["points_active"] += any(
                status == "in_service"
                and any(c.astimezone(CHINA).date() in window for c in p.cases)
                for p, status in sites
            )
        elif row["level"] == "township":
            out["townships_total"] += 1
            out["centres_in_service"] += bool(statuses & {"in_service", "standardized"})
            out["centres_standardized"] += "standardized" in statuses
    return out


def linear(day):
    if day <= START:
        return 0.0
    if day >= DEADLINE:
        return 1.0
    return (day - START).days / (DEADLINE - START).days


def county_of(body, code):
    return next(c for c in body["counties"] if c["code"] == code)


# --------------------------------------------------------------------------- figures


def test_figures_match_an_independent_count_on_every_date(client):
    planned = build_history(client)
    rows = divisions_of(client, HUITONG)
    for day in CHECK_DAYS:
        response = client.get("/api/coverage", params={"as_of": day.isoformat()})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["as_of"] == day.isoformat()
        assert body["campaign"] == "agency-points-2013"
        unit = county_of(body, HUITONG)
        expected = expected_counts(rows, planned, day)
        assert {k: unit[k] for k in FIGURES} == expected, day
        assert unit["agency_coverage"] == pytest.approx(
            expected["points_in_service"] / expected["villages_total"]
        )
        assert unit["standardization"] == pytest.approx(
            expected["centres_standardized"] / expected["townships_total"]
        )
        assert unit["figure"] == unit["agency_coverage"]
        assert unit["target"] == pytest.approx(linear(day))
        assert unit["target_source"] == "linear"
        assert unit["on_track"] is (unit["figure"] >= linear(day))
        assert unit["achieved"] is False
        assert unit["flags"] == []


def test_hand_built_history_shows_each_rule(client):
    build_history(client)

    def huitong(day, **params):
        body = client.get("/api/coverage", params={"as_of": day, **params}).json()
        return county_of(body, HUITONG)

    # v1 suspended: in service 2014-02-28, not on 2014-03-05, back on 2014-04-20.
    assert (
        huitong("2014-02-28")["points_in_service"] - huitong("2014-03-05")["points_in_service"] == 1
    )
    # The village added on 2014-03-01 enters the denominator that day.
    assert huitong("2014-03-01")["villages_total"] - huitong("2014-02-28")["villages_total"] == 1
    # The abolished village leaves it on 2014-05-01, with its never-closed point.
    before, after = huitong("2014-04-30"), huitong("2014-05-01")
    assert before["villages_total"] - after["villages_total"] == 1
    # The case received 2014-01-21 (China) makes v0 active from that day through day 90.
    assert huitong("2014-01-20")["points_active"] == 0  # 2014-01-20 17:00 UTC is the 21st in China
    assert huitong("2014-01-21")["points_active"] == 1
    # v1 received a case on 2014-03-10 while suspended: not active then (not in service) ...
    assert huitong("2014-03-10")["points_active"] == 1
    # ... but active once back in service, within the 90 days.
    assert huitong("2014-04-20")["points_active"] == 2
    assert huitong("2014-04-21")["points_active"] == 1
    # The centres campaign counts standardized centres; t2 is suspended in May-June 2014.
    centres = huitong("2014-06-15", campaign="centres-2015")
    assert (centres["centres_in_service"], centres["centres_standardized"]) == (1, 1)
    assert centres["figure"] == centres["standardization"]


def test_city_total_is_the_sum_of_the_counties(client):
    build_history(client)
    body = client.get("/api/coverage", params={"as_of": "2014-03-31"}).json()
    assert len(body["counties"]) == 13  # 12 counties and 怀化市洪江管理区
    total = body["total"]
    assert total["code"] == CITY and total["name"] == "怀化市" and total["level"] == "city"
    for key in FIGURES:
        assert total[key] == sum(c[key] for c in body["counties"]), key
    assert total["agency_coverage"] == pytest.approx(
        total["points_in_service"] / total["villages_total"]
    )
    assert total["target"] == pytest.approx(linear(date(2014, 3, 31)))


def test_drill_down_gives_townships_that_add_up_to_the_county(client):
    planned = build_history(client)
    rows = divisions_of(client, HUITONG)
    day = date(2014, 3, 31)
    response = client.get("/api/coverage", params={"as_of": day.isoformat(), "county": "431225"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [c["code"] for c in body["counties"]] == [HUITONG]
    townships = body["townships"]
    existing = [r for r in rows if r["level"] == "township" and exists(r, day)]
    assert sorted(t["code"] for t in townships) == sorted(r["code"] for r in existing)
    for t in townships:
        assert t["county_code"] == HUITONG and t["county_name"] == "会同县"
        expected = expected_counts(rows, planned, day, township=t["code"])
        assert {k: t[k] for k in FIGURES} == expected, t["name"]
    for key in FIGURES:
        assert sum(t[key] for t in townships) == body["counties"][0][key]


def test_township_list_covers_the_city_and_filters_by_county(client):
    every = client.get("/api/coverage/townships", params={"as_of": "2014-03-31"}).json()
    # 204 current townships of civil affairs, the six abolished (still there in 2014) and the
    # three statistical units of the statistics (2 in 通道县, 1 in 鹤城区).
    assert every["total"] == len(every["items"]) == 213
    one = client.get(
        "/api/coverage/townships", params={"as_of": "2014-03-31", "county": HUITONG}
    ).json()
    assert one["county"] == HUITONG
    assert {t["county_code"] for t in one["items"]} == {HUITONG}
    later = client.get("/api/coverage/townships", params={"as_of": "2016-01-01"}).json()
    assert later["total"] == 207


def test_division_with_no_villages_has_null_figure_and_a_flag(client):
    """The six abolished townships have no village: coverage null with ``no_villages``."""
    body = client.get("/api/coverage/townships", params={"as_of": "2014-03-31"}).json()
    empty = [t for t in body["items"] if t["villages_total"] == 0]
    assert len(empty) == 6
    for t in empty:
        assert t["agency_coverage"] is None and t["figure"] is None
        assert t["flags"] == ["no_villages"]
        assert t["on_track"] is None and t["achieved"] is None
    # A statistical unit (a farm, a scenic area: 类似乡级单位) has villages but no centre.
    statistical = [t for t in body["items"] if t["villages_total"] and not t["townships_total"]]
    assert len(statistical) == 3
    assert all(t["flags"] == ["no_townships"] for t in statistical)
    others = [t for t in body["items"] if t["villages_total"] > 0 and t["townships_total"]]
    assert all(t["flags"] == [] for t in others)


def test_default_as_of_is_today_and_default_campaign_agency_points(client, frozen_clock):
    frozen_clock(datetime(2015, 1, 1, 16, 30, tzinfo=UTC))  # 2015-01-02 00:30 in China
    body = client.get("/api/coverage").json()
    assert body["as_of"] == "2015-01-02"
    assert body["campaign"] == "agency-points-2013"
    assert body["campaign_info"]["deadline"] == "2015-04-18"
    assert client.get("/api/coverage", params={"as_of": "2015-01-02"}).status_code == 200
    response = client.get("/api/coverage", params={"as_of": "2015-01-03"})
    assert response.status_code == 422
    assert response.json()["code"] == "as_of_in_future"


def test_campaigns_are_listed(client):
    body = client.get("/api/coverage/campaigns").json()
    assert [c["code"] for c in body["items"]] == ["agency-points-2013", "centres-2015"]
    centres = body["items"][1]
    assert (centres["start_on"], centres["deadline"], centres["figure"]) == (
        "2013-04-18",
        "2015-12-31",
        "standardization",
    )


def test_approved_plan_target_replaces_the_linear_one(client):
    """A county with an approved plan has the plan's cumulative share as its target; the
    city's target is the denominator-weighted mean of the county targets."""
    from tests.integration.test_plans import CENTRES, approved_plan

    approved_plan(client)  # 鹤城区: 2 items due 2014-06-30, 3 more by 2014-12-31, 5 by 2015-12-31
    body = client.get("/api/coverage", params={"as_of": "2014-12-31", "campaign": CENTRES}).json()
    hecheng = county_of(body, HECHENG)
    assert hecheng["target"] == pytest.approx(0.5) and hecheng["target_source"] == "plan"
    assert hecheng["on_track"] is (hecheng["figure"] >= 0.5)
    others = [c for c in body["counties"] if c["code"] != HECHENG]
    linear_target = others[0]["target"]
    assert 0 < linear_target < 1 and linear_target != pytest.approx(0.5)
    assert all(
        c["target_source"] == "linear" and c["target"] == pytest.approx(linear_target)
        for c in others
    )
    weight = {c["code"]: c["townships_total"] for c in body["counties"]}
    total = sum(weight.values())
    city = (0.5 * weight[HECHENG] + linear_target * (total - weight[HECHENG])) / total
    assert body["total"]["target"] == pytest.approx(city)
    assert body["total"]["target_source"] == "plan"
    # Before the first due date the plan's target is 0; the agency-point campaign has no plan.
    early = client.get("/api/coverage", params={"as_of": "2014-06-29", "campaign": CENTRES})
    assert county_of(early.json(), HECHENG)["target"] == 0
    points = client.get("/api/coverage", params={"as_of": "2014-12-31"}).json()
    assert county_of(points, HECHENG)["target_source"] == "linear"


def test_a_kept_answer_is_answered_again_after_any_plan_write(client):
    """Whole answers are kept under the county versions and the plans' counter: a plan
    approved after the question was asked (no county's counts moved), or its items changed by
    SQL around the services, makes the next answer carry the new target."""
    from registry.tables import PlanItem
    from tests.integration.test_plans import CENTRES, approved_plan

    params = {"as_of": "2014-12-31", "campaign": CENTRES}
    for _ in range(2):  # asked twice: the second is the kept answer
        before = county_of(client.get("/api/coverage", params=params).json(), HECHENG)
        assert before["target_source"] == "linear"
    series = client.get("/api/coverage/timeseries", params={"county": HECHENG[:6], **params})
    assert series.json()["target_source"] == "linear"
    approved_plan(client)
    after = county_of(client.get("/api/coverage", params=params).json(), HECHENG)
    assert (after["target_source"], after["target"]) == ("plan", pytest.approx(0.5))
    series = client.get("/api/coverage/timeseries", params={"county": HECHENG[:6], **params})
    assert series.json()["target_source"] == "plan"
    # Every item of the plan due a year later, by SQL: the target on the date falls to 0.
    client.run(
        lambda: PlanItem.raw(
            "UPDATE plan_item SET target_date = {} WHERE target_date <= {}",
            date(2016, 12, 31),
            date(2015, 12, 31),
        )
    )
    moved = county_of(client.get("/api/coverage", params=params).json(), HECHENG)
    assert (moved["target_source"], moved["target"]) == ("plan", 0)


# --------------------------------------------------------------------------- monthly series


def test_series_runs_monthly_from_the_start_to_today(client, frozen_clock):
    build_history(client)
    frozen_clock(datetime(2015, 6, 10, 4, 0, tzinfo=UTC))
    response = client.get("/api/coverage/timeseries", params={"county": "431225"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["county"], body["county_name"], body["campaign"]) == (
        HUITONG,
        "会同县",
        "agency-points-2013",
    )
    months = [p["month"] for p in body["points"]]
    assert months[0] == "2013-04" and months[-1] == "2015-06" and len(months) == 27
    assert body["points"][0]["day"] == "2013-04-30"
    assert body["points"][-1]["day"] == "2015-06-10"  # the month of as_of: as of as_of
    for point in body["points"]:
        same_day = client.get("/api/coverage", params={"as_of": point["day"]}).json()
        unit = county_of(same_day, HUITONG)
        assert point["agency_coverage"] == unit["agency_coverage"], point["month"]
        assert point["standardization"] == unit["standardization"]
        assert point["target"] == pytest.approx(unit["target"])
        assert point["on_track"] == unit["on_track"]
    assert body["points"][-1]["target"] == 1.0


def test_series_before_the_deadline_carries_the_target_to_the_deadline(client):
    body = client.get(
        "/api/coverage/timeseries", params={"as_of": "2014-06-15", "campaign": "centres-2015"}
    ).json()
    assert body["county"] is None and body["county_name"] == "怀化市"
    points = body["points"]
    assert points[-1]["month"] == "2015-12" and points[-1]["target"] == 1.0
    known = [p for p in points if p["figure"] is not None]
    assert known[-1]["month"] == "2014-06" and known[-1]["day"] == "2014-06-15"
    later = points[len(known) :]
    assert later and all(p["figure"] is None and p["on_track"] is None for p in later)
    targets = [p["target"] for p in points]
    assert targets == sorted(targets)


def test_city_series_matches_city_total(client):
    build_history(client)
    series = client.get("/api/coverage/timeseries", params={"as_of": "2014-04-20"}).json()
    last = next(p for p in series["points"] if p["day"] == "2014-04-20")
    total = client.get("/api/coverage", params={"as_of": "2014-04-20"}).json()["total"]
    assert last["agency_coverage"] == total["agency_coverage"]
    assert last["villages_total"] == total["villages_total"]
    assert series["projected_completion"] == total["projected_completion"]


def test_projected_completion_follows_the_last_six_months(client):
    build_history(client)
    body = client.get("/api/coverage", params={"as_of": "2014-04-30"}).json()
    unit = county_of(body, HUITONG)
    # 会同县's points in service rose 2 → 3 → 4 → 4 → 4 → 5 from November to April: the
    # line through those six values reaches 1 at a date in the future.
    assert unit["projected_completion"] is not None
    assert unit["projected_completion"] > "2014-04-30"
    # Nothing changes from July to December 2014: flat, no projection.
    later = county_of(client.get("/api/coverage", params={"as_of": "2014-12-31"}).json(), HUITONG)
    assert later["projected_completion"] is None
    assert later["figure"] > 0
    # A county with no site at all is flat at 0: no projection.
    flat = county_of(body, "431230000000")
    assert flat["figure"] == 0 and flat["projected_completion"] is None


# --------------------------------------------------------------------------- bad input

ENDPOINTS = [
    "/api/coverage",
    "/api/coverage/timeseries",
    "/api/coverage/townships",
    "/api/coverage.geojson",
    "/api/maps/coverage.svg",
]


BAD_INPUT = [
    ({"as_of": "2014-02-30"}, 422, "invalid_as_of"),
    ({"as_of": "14-02-01"}, 422, "invalid_as_of"),
    ({"as_of": "2014-02-01T00:00"}, 422, "invalid_as_of"),
    ({"as_of": "<script>"}, 422, "invalid_as_of"),
    ({"as_of": "2099-01-01"}, 422, "as_of_in_future"),
    ({"as_of": "2013-04-17"}, 422, "as_of_before_campaign"),
    ({"campaign": "agency-points-2099"}, 422, "unknown_campaign"),
    ({"county": "431299"}, 422, "unknown_county"),
    ({"county": "431202102"}, 422, "unknown_county"),  # a township, not a county
    ({"county": "43"}, 422, "invalid_code"),
]


@pytest.mark.parametrize(("params", "status", "code"), BAD_INPUT)
def test_bad_input_is_refused_with_a_stable_code(client, params, status, code):
    before = client.snapshot()
    for path in ENDPOINTS:
        if path == "/api/maps/coverage.svg" and "county" in params:
            continue  # the SVG map has no county parameter
        response = client.get(path, params=params)
        assert response.status_code == status, (path, response.text)
        body = response.json()
        assert body["code"] == code, path
        assert body["status"] == status
        assert " / " in body["detail"]
        assert body["errors"][0]["field"] in ("as_of", "campaign", "county"), path
    assert client.snapshot() == before


def test_as_of_before_campaign_tells_the_start(client):
    body = client.get(
        "/api/coverage", params={"as_of": "2013-01-01", "campaign": "centres-2015"}
    ).json()
    assert body["code"] == "as_of_before_campaign"
    assert body["campaign_start"] == "2013-04-18"


def test_reading_coverage_changes_nothing(client):
    before = client.snapshot()
    for path in ENDPOINTS:
        assert client.get(path, params={"as_of": "2014-05-05"}).status_code == 200
    assert client.snapshot() == before


def test_figures_reflect_a_new_status_event_at_once(client):
    """Counts are cached per data version: a write is visible on the next request."""
    site = client.template.sites["hecheng"]
    day = "2014-06-01"
    before = county_of(client.get("/api/coverage", params={"as_of": day}).json(), HECHENG)
    response = client.post(
        f"/api/sites/{site}/status",
        json={"status": "suspended", "effective_date": clock.today().isoformat()},
        headers=client.auth("planner_hecheng"),
    )
    assert response.status_code == 201, response.text
    today = client.get("/api/coverage").json()
    assert county_of(today, HECHENG)["points_in_service"] == 0
    again = county_of(client.get("/api/coverage", params={"as_of": day}).json(), HECHENG)
    assert again == before  # the past does not change


def test_a_new_case_makes_a_point_active_at_once(client):
    """points_active is recomputed when cases change, though the counts are cached."""
    site = client.template.sites["zhongfang"]
    division = client.template.villages["zhongfang"]
    day = "2014-06-30"

    def zhongfang():
        body = client.get("/api/coverage", params={"as_of": day}).json()
        return county_of(body, "431221000000")

    assert zhongfang()["points_active"] == 0
    add_cases(client, site, division, [datetime(2014, 6, 1, 3, 0, tzinfo=UTC)])
    after = zhongfang()
    assert after["points_active"] == 1 and after["points_in_service"] == 1


def test_points_active_follows_any_case_write_even_from_another_process(client):
    """The cached points_active changes with a case's received_at moved out of the 90-day
    window, or the case deleted, by SQL outside the service (as a second process would)."""
    from registry.tables import Case

    site = client.template.sites["zhongfang"]
    division = client.template.villages["zhongfang"]
    day = "2014-06-30"

    def active():
        body = client.get("/api/coverage", params={"as_of": day}).json()
        return county_of(body, "431221000000")["points_active"]

    add_cases(client, site, division, [datetime(2014, 6, 1, 3, 0, tzinfo=UTC)])
    assert active() == 1
    assert active() == 1  # cached
    moved = datetime(2014, 1, 2, 3, 0, tzinfo=UTC)  # more than 90 days before the date
    client.run(lambda: Case.update({Case.received_at: moved}).where(Case.site == site))
    assert active() == 0
    back = datetime(2014, 6, 2, 3, 0, tzinfo=UTC)
    client.run(lambda: Case.update({Case.received_at: back}).where(Case.site == site))
    assert active() == 1
    client.run(lambda: Case.delete().where(Case.site == site))
    assert active() == 0


def recounts(monkeypatch, name: str) -> list[list[str] | None]:
    """The counties each call of coverage's counting statement ``name`` counted (``None``:
    all of them, unfiltered), recorded while the real statement runs (``steps_on``: the
    statement the counts on a date are read from, see test_coverage_fast_path)."""
    from registry.coverage import sql as coverage

    calls: list[list[str] | None] = []
    real = getattr(coverage, name)

    async def spy(engine, *args):
        calls.append(args[-1])  # the counties, the last argument of every statement
        return await real(engine, *args)

    monkeypatch.setattr(coverage, name, spy)
    return calls


def test_a_write_by_any_path_recounts_only_its_county(client, monkeypatch):
    """Counts are cached county by county: a status event, a division or a site written by SQL
    outside the service (as another process would) is visible on the next request, and only
    the county it belongs to is counted again."""
    from registry.tables import Site, StatusEvent

    recounted = recounts(monkeypatch, "steps_on")
    zhongfang = "431221000000"

    def figures():
        body = client.get("/api/coverage").json()
        return county_of(body, HECHENG), county_of(body, zhongfang), body["total"]

    hecheng_before, zhongfang_before, total_before = figures()
    assert recounted == [None]  # the first request counts every county at once
    assert hecheng_before["points_in_service"] == zhongfang_before["points_in_service"] == 1
    figures()
    assert recounted == [None]  # cached

    site = client.template.sites["hecheng"]
    suspended = clock.today() - timedelta(days=3)
    client.run(
        lambda: StatusEvent.insert(
            StatusEvent(site=site, status="suspended", effective_date=suspended, actor="sql")
        )
    )
    hecheng, zhongfang_now, total = figures()
    assert recounted[-1] == [HECHENG]
    assert hecheng["points_in_service"] == 0
    assert zhongfang_now == zhongfang_before
    assert total["points_in_service"] == total_before["points_in_service"] - 1

    abolish(client, client.template.villages["zhongfang"], date(2014, 1, 1))
    _, zhongfang_now, _ = figures()
    assert recounted[-1] == [zhongfang]
    assert zhongfang_now["villages_total"] == zhongfang_before["villages_total"] - 1
    assert zhongfang_now["points_in_service"] == 0

    # A site moved to another county's village (by SQL) changes both counties.
    village = client.template.villages["hecheng"]
    zhongfang_site = client.template.sites["zhongfang"]
    client.run(
        lambda: Site.update(
            {Site.division: village, Site.county_code: HECHENG, Site.township_code: village[:9]}
        ).where(Site.id == zhongfang_site)
    )
    hecheng_now, _, _ = figures()
    assert sorted(recounted[-1]) == [HECHENG, zhongfang]
    assert hecheng_now["points_in_service"] == 1  # the moved point, in service

    # The monthly series follows the same versions.
    series = client.get("/api/coverage/timeseries", params={"county": "431202"}).json()
    assert series["points"][-1]["points_in_service"] == 1


def test_an_answer_updated_after_writes_equals_one_built_afresh(client, monkeypatch):
    """After writes in a few counties the kept answer is updated (only their counts are read
    again, the rest kept): it equals the answer built from nothing, after writes of every
    kind — a status event, a case, a village abolished, a point moved to another county — and
    a drill-down's townships follow too."""
    from registry.tables import Site, StatusEvent
    from tests.integration.coverage_answers import forget_answers, updated_counties

    updates = updated_counties(monkeypatch)
    zhongfang = "431221000000"
    questions = [{}, {"county": HECHENG[:6]}, {"as_of": "2014-06-30"}]

    def answers():
        return [client.get("/api/coverage", params=q).json() for q in questions]

    def afresh():
        forget_answers(client)
        return answers()

    answers()  # built and kept
    site, village = client.template.sites["hecheng"], client.template.villages["hecheng"]
    writes = [
        lambda: client.run(
            lambda: StatusEvent.insert(
                StatusEvent(
                    site=site,
                    status="suspended",
                    effective_date=clock.today() - timedelta(days=3),
                    actor="sql",
                )
            )
        ),
        lambda: add_cases(
            client,
            client.template.sites["zhongfang"],
            client.template.villages["zhongfang"],
            [datetime(2014, 6, 1, 3, 0, tzinfo=UTC)],
        ),
        lambda: abolish(client, client.template.villages["zhongfang"], date(2014, 1, 1)),
        lambda: client.run(
            lambda: Site.update(
                {Site.division: village, Site.county_code: HECHENG, Site.township_code: village[:9]}
            ).where(Site.id == client.template.sites["zhongfang"])
        ),
    ]
    for write in writes:
        write()
        updated = answers()
        assert afresh() == updated
    # Every answer after a write was an update (of one county's counts, or two for the move).
    assert [HECHENG] in updates and [zhongfang] in updates and [HECHENG, zhongfang] in updates


def test_a_case_write_recounts_only_its_countys_active_points(client, monkeypatch):
    """points_active is kept county by county too (the counties' step functions of their
    active points): a case at one point rebuilds that county's, and none of the counts from
    status events; any other date is read from them, no statement runs."""

    active_calls = recounts(monkeypatch, "in_service_spans")
    count_calls = recounts(monkeypatch, "steps_on")
    zhongfang = "431221000000"
    day = "2014-06-30"

    def active():
        body = client.get("/api/coverage", params={"as_of": day}).json()
        return county_of(body, HECHENG)["points_active"], county_of(body, zhongfang)[
            "points_active"
        ]

    assert active() == (0, 0)
    assert active_calls == [None] and count_calls == [None]
    site, division = client.template.sites["zhongfang"], client.template.villages["zhongfang"]
    add_cases(client, site, division, [datetime(2014, 6, 1, 3, 0, tzinfo=UTC)])
    assert active() == (0, 1)
    assert active_calls == [None, [zhongfang]]
    assert count_calls == [None]  # the status counts were not touched
    assert active() == (0, 1)
    assert len(active_calls) == 2  # cached again
    later = client.get("/api/coverage", params={"as_of": "2014-08-29"}).json()
    assert county_of(later, zhongfang)["points_active"] == 1  # the case's 90th day
    gone = client.get("/api/coverage", params={"as_of": "2014-08-30"}).json()
    assert county_of(gone, zhongfang)["points_active"] == 0
    assert len(active_calls) == 2  # other dates read the kept steps


def test_a_status_change_rebuilds_active_points_without_reading_the_cases_again(
    client, monkeypatch
):
    """After a status change the county's active points are rebuilt from its spans and the
    case days read after its last case write; a case write or a point moved into the county
    reads them again. Every answer equals one built afresh."""
    from registry.tables import Site, StatusEvent

    spans_calls = recounts(monkeypatch, "in_service_spans")
    days_calls = recounts(monkeypatch, "case_days")
    zhongfang = "431221000000"
    day = "2014-06-30"
    site, division = client.template.sites["zhongfang"], client.template.villages["zhongfang"]

    def active():
        body = client.get("/api/coverage", params={"as_of": day}).json()
        return county_of(body, HECHENG)["points_active"], county_of(body, zhongfang)[
            "points_active"
        ]

    def afresh():
        client.run(_forget_coverage)
        return active()

    assert active() == (0, 0)
    # Cases in two counties: both counties' case days are read by one statement.
    add_cases(client, site, division, [datetime(2014, 6, 1, 3, 0, tzinfo=UTC)])
    add_cases(
        client,
        client.template.sites["hecheng"],
        client.template.villages["hecheng"],
        [datetime(2014, 6, 2, 3, 0, tzinfo=UTC)],
    )
    both = active()
    assert both[1] == 1 and both == afresh()
    add_cases(client, site, division, [datetime(2014, 6, 3, 3, 0, tzinfo=UTC)])
    add_cases(
        client,
        client.template.sites["hecheng"],
        client.template.villages["hecheng"],
        [datetime(2014, 6, 4, 3, 0, tzinfo=UTC)],
    )
    assert active() == both
    assert days_calls[-1] == [HECHENG, zhongfang]
    read = len(days_calls)
    # The point suspended from before the cases, in one of the two counties: its county's
    # spans are read again, its case days are not (they were read with the other county's),
    # and the point no longer counts.
    client.run(
        lambda: StatusEvent.insert(
            StatusEvent(site=site, status="suspended", effective_date=date(2014, 5, 1), actor="sql")
        )
    )
    assert active() == (both[0], 0)
    assert spans_calls[-1] == [zhongfang] and len(days_calls) == read
    # Back in service: still no read of the cases.
    client.run(
        lambda: StatusEvent.insert(
            StatusEvent(
                site=site, status="in_service", effective_date=date(2014, 5, 2), actor="sql"
            )
        )
    )
    assert active() == both
    assert len(days_calls) == read
    assert afresh() == both
    # Made a centre by SQL, its county's case days are read without it; made a point again,
    # read again with it (the county's case version did not move either time).
    for kind, expected in (("township_centre", (both[0], 0)), ("village_point", both)):
        read = len(days_calls)
        client.run(lambda kind=kind: Site.update({Site.kind: kind}).where(Site.id == site))
        assert active() == expected
        assert len(days_calls) == read + 1
    # The point moved to 鹤城区: both counties' points changed, their case days are read again.
    read = len(days_calls)
    client.run(
        lambda: Site.update(
            {
                Site.division: client.template.villages["hecheng"],
                Site.county_code: HECHENG,
                Site.township_code: client.template.villages["hecheng"][:9],
            }
        ).where(Site.id == site)
    )
    moved = active()
    assert len(days_calls) > read
    assert moved == afresh()


async def _forget_coverage() -> None:
    """Drop everything coverage keeps: answers, step functions, case days (a cold cache)."""
    from registry.core import runtime

    runtime.current().forget("coverage.")


def test_the_server_counts_todays_figures_at_startup(
    database_url, template, base_settings, monkeypatch
):
    """With warm_on_startup, the first reader after a start gets figures already counted."""
    import asyncio

    from registry.app import create_app
    from tests.conftest import ApiClient

    recounted = recounts(monkeypatch, "steps_on")
    app = create_app(replace(base_settings, database_url=database_url, warm_on_startup=True))
    with ApiClient(app, raise_server_exceptions=False) as client:

        async def warmed() -> None:
            await asyncio.wait_for(app.state.warm_ready.wait(), 60)

        client.blocking_portal.call(warmed)
        assert client.get("/healthz").json()["warm"] is True  # what a balancer waits for
        assert recounted  # the warm-up counted …
        done = len(recounted)
        for campaign in ("agency-points-2013", "centres-2015"):
            response = client.get("/api/coverage", params={"campaign": campaign})
            assert response.status_code == 200
            series = client.get("/api/coverage/timeseries", params={"campaign": campaign})
            assert series.status_code == 200
        assert len(recounted) == done  # … so the readers counted nothing
