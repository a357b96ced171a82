"""The fast path of coverage — counts read from per-unit step functions kept per county
version — against the direct count (the counting statement, ``sql.counts_on``, and the monthly
statement, ``sql.series_on``) on every date of the campaign's first years, after writes of
every kind: status events, new and closed sites, divisions abolished and established, cases
(points_active only) and SQL that bypasses the services (the triggers still invalidate). Both
engines. ``points_active`` of the counties (its own step functions) against ``sql.active_on``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.integration.test_coverage import (
    HUITONG,
    INSIDE_HUITONG,
    abolish,
    add_cases,
    add_village,
    build_history,
    divisions_of,
)

HECHENG = "431202000000"
START = date(2013, 4, 18)
EVERY_DAY = [START + timedelta(days=n) for n in range((date(2016, 3, 1) - START).days)]


def fast_and_direct(client, unit: str, county: str | None = None):
    """(fast, direct) counts per unit on every day of EVERY_DAY (``points_active`` left out)."""
    from registry.coverage import cache, sql
    from registry.db.binding import current

    async def both():
        fast = await cache.counts_by(EVERY_DAY, unit, county=county, active=False)
        direct = await sql.counts_on(current(), EVERY_DAY, unit, [county] if county else None)
        return fast, direct

    return client.run(both)


def series_fast_and_direct(client, unit: str):
    """(fast, direct) monthly series; direct: the counting statement on the series' days
    (``sql.series_on`` agrees with it but for a site on a division of the wrong level, which
    only SQL can write: the series statement counts a point on a township, the definition —
    and the fast path — does not)."""
    from registry.coverage import cache, sql
    from registry.coverage import rules as maths
    from registry.db.binding import current

    as_of = date(2016, 2, 10)

    async def both():
        fast = await cache.series_counts(START, as_of, unit)
        direct = await sql.counts_on(current(), maths.series_days(START, as_of), unit, None)
        return fast, direct

    return client.run(both)


# points_active on every day too (a case keeps its point active to the day).
ACTIVE_DAYS = EVERY_DAY


def active_fast_and_direct(client):
    """(fast, direct) ``points_active`` per county on ACTIVE_DAYS: the step functions of the
    counties' active points against the counting statement ``sql.active_on``."""
    from registry.coverage import cache, sql
    from registry.db.binding import current

    async def both():
        fast = await cache.counts_by(ACTIVE_DAYS, "county", active=True)
        direct = await sql.active_on(current(), ACTIVE_DAYS, "county", None)
        fast_active = [
            {code: c.points_active for code, c in per_day.items() if c.points_active}
            for per_day in fast
        ]
        return fast_active, [{k: v for k, v in d.items() if v} for d in direct]

    return client.run(both)


def assert_fast_path_equals_direct_count(client):
    fast, direct = active_fast_and_direct(client)
    for d, f, g in zip(ACTIVE_DAYS, fast, direct, strict=True):
        assert f == g, ("points_active", d)
    for unit in ("county", "township"):
        fast, direct = fast_and_direct(client, unit)
        for d, f, g in zip(EVERY_DAY, fast, direct, strict=True):
            assert f == g, (unit, d)
        fast, direct = series_fast_and_direct(client, unit)
        assert fast == direct, unit
    fast, direct = fast_and_direct(client, "township", county=HUITONG)  # the drill-down
    assert fast == direct


@pytest.fixture
def rebuilt(monkeypatch) -> list[list[str] | None]:
    """The counties each build of the step functions covered (``None``: all of them)."""
    from registry.coverage import sql

    calls: list[list[str] | None] = []
    real = sql.steps_on

    async def spy(engine, unit, counties):
        calls.append(None if counties is None else sorted(counties))
        return await real(engine, unit, counties)

    monkeypatch.setattr(sql, "steps_on", spy)
    return calls


def sql_write(client, statement: str, *values):
    """A write by SQL, outside every service (as another process would)."""
    from registry.tables import StatusEvent

    client.run(lambda: StatusEvent.raw(statement, *values))


def huitong_figures(client, day: str):
    body = client.get("/api/coverage", params={"as_of": day}).json()
    return next(c for c in body["counties"] if c["code"] == HUITONG)


def test_fast_path_equals_the_direct_count_after_every_kind_of_write(client, rebuilt):
    municipal = client.auth("municipal")
    assert_fast_path_equals_direct_count(client)  # the template
    assert rebuilt[:2] == [None, None]  # county and township steps, each built once

    # Sites, status events (through the API), a village established mid-campaign and one
    # abolished with its point still open, cases.
    planned = build_history(client)
    assert_fast_path_equals_direct_count(client)
    assert rebuilt[-1] == [HUITONG]  # only the county written to is rebuilt

    # A backdated status event, and a site closed.
    v1 = next(p for p in planned if p.key == "v1")
    for status, day in (("suspended", "2014-08-01"), ("closed", "2015-02-01")):
        response = client.post(
            f"/api/sites/{v1.site_id}/status",
            json={"status": status, "effective_date": day, "note": "测试"},
            headers=municipal,
        )
        assert response.status_code == 201, response.text
    assert_fast_path_equals_direct_count(client)

    # A new village (established mid-campaign) and a new site on it.
    home = next(p for p in planned if p.key == "t1").division
    add_village(client, home[:9] + "397", home, "测试三村", established=date(2014, 9, 1))
    response = client.post(
        "/api/sites",
        json={
            "division_code": home[:9] + "397",
            "lon": INSIDE_HUITONG[0],
            "lat": INSIDE_HUITONG[1],
            "status": "in_service",
            "effective_date": "2014-10-01",
        },
        headers=municipal,
    )
    assert response.status_code == 201, response.text
    assert_fast_path_equals_direct_count(client)

    # Divisions: a village with a point abolished, a township abolished.
    abolish(client, next(p for p in planned if p.key == "v0").division, date(2015, 1, 1))
    abolish(client, next(p for p in planned if p.key == "t2").division, date(2015, 6, 1))
    assert_fast_path_equals_direct_count(client)

    # Cases change no step function of the counts (points_active has its own): one by day,
    # one just after a China midnight (UTC the day before), one 90 days after another.
    before = len(rebuilt)
    add_cases(
        client,
        v1.site_id,
        v1.division,
        [
            datetime(2015, 1, 10, 3, 0, tzinfo=UTC),
            datetime(2014, 3, 31, 16, 30, tzinfo=UTC),
            datetime(2014, 6, 29, 3, 0, tzinfo=UTC),
        ],
    )
    assert_fast_path_equals_direct_count(client)
    assert len(rebuilt) == before
    # A case moved in time and one deleted by SQL (the case triggers make both visible).
    sql_write(
        client,
        "UPDATE service_case SET received_at = {} WHERE site = {} AND received_at = {}",
        datetime(2014, 8, 20, 2, 0, tzinfo=UTC),
        v1.site_id,
        datetime(2014, 6, 29, 3, 0, tzinfo=UTC),
    )
    assert_fast_path_equals_direct_count(client)
    sql_write(
        client,
        "DELETE FROM service_case WHERE site = {} AND received_at = {}",
        v1.site_id,
        datetime(2015, 1, 10, 3, 0, tzinfo=UTC),
    )
    assert_fast_path_equals_direct_count(client)

    # SQL around the services: an event inserted, one moved in time, one deleted, a village's
    # life changed, a site moved to another county — the triggers make each visible.
    hecheng_site = client.template.sites["hecheng"]
    sql_write(
        client,
        "INSERT INTO status_event (site, status, effective_date, actor) VALUES ({}, {}, {}, {})",
        hecheng_site,
        "suspended",
        date(2014, 2, 3),
        "sql",
    )
    assert_fast_path_equals_direct_count(client)
    assert rebuilt[-1] == [HECHENG]
    v2 = next(p for p in planned if p.key == "v2")
    sql_write(
        client,
        "UPDATE status_event SET effective_date = {} WHERE site = {} AND status = {}",
        date(2013, 6, 1),
        v2.site_id,
        "built",
    )
    assert_fast_path_equals_direct_count(client)
    t0 = next(p for p in planned if p.key == "t0")
    sql_write(
        client,
        "DELETE FROM status_event WHERE site = {} AND status = {}",
        t0.site_id,
        "standardized",
    )
    assert_fast_path_equals_direct_count(client)
    sql_write(
        client,
        "UPDATE division SET established_on = {} WHERE code = {}",
        date(2014, 11, 1),
        next(p for p in planned if p.key == "v3").division,
    )
    assert_fast_path_equals_direct_count(client)
    # A site whose kind does not fit its division's level (a point on a township), as only
    # SQL could write it: counted by neither path.
    t1 = next(p for p in planned if p.key == "t1")
    sql_write(client, "UPDATE site SET kind = {} WHERE id = {}", "village_point", t1.site_id)
    assert_fast_path_equals_direct_count(client)
    village = client.template.villages["hecheng"]
    township = next(r for r in divisions_of(client, HECHENG) if r["code"] == village)
    sql_write(
        client,
        "UPDATE site SET division = {}, county_code = {}, township_code = {} WHERE id = {}",
        village,
        HECHENG,
        township["township_code"],
        v2.site_id,
    )
    assert_fast_path_equals_direct_count(client)
    assert rebuilt[-1] == sorted([HECHENG, HUITONG])


def test_a_date_never_asked_before_reads_the_kept_steps(client, rebuilt):
    """After the first request, any other date is read from the steps: no statement over the
    events until a write moves a county's version."""
    build_history(client)
    first = huitong_figures(client, "2014-05-20")
    assert rebuilt == [None]
    seen = {"2014-05-20": first}
    for day in ("2013-06-30", "2014-01-21", "2014-03-10", "2015-04-18", "2016-01-01"):
        seen[day] = huitong_figures(client, day)
    assert rebuilt == [None]
    assert seen["2014-05-20"]["points_in_service"] >= 1
    client.get("/api/coverage/timeseries").raise_for_status()
    client.get("/api/coverage/timeseries", params={"as_of": "2015-02-02"}).raise_for_status()
    assert rebuilt == [None]


def test_step_functions_loaded_a_few_counties_at_a_time_equal_the_direct_count(
    client, rebuilt, monkeypatch
):
    """The nation's first use loads its counties a few hundred at a time; here three."""
    from registry.coverage import cache

    monkeypatch.setattr(cache, "LOAD_COUNTIES", 3)
    build_history(client)
    assert_fast_path_equals_direct_count(client)
    assert rebuilt and all(counties is not None and len(counties) <= 3 for counties in rebuilt)


def test_the_units_read_once_follow_divisions_written_by_sql(client, monkeypatch):
    """The county-level units and their names are read once, not on every new date, and read
    again after a division write, even one by SQL outside every service (its trigger bumps the
    county's version); a new case leaves them kept."""
    from registry.coverage import figures

    reads: list[str] = []
    real = figures._units

    async def spy(within, codes):
        reads.append(within)
        return await real(within, codes)

    monkeypatch.setattr(figures, "_units", spy)
    build_history(client)
    assert huitong_figures(client, "2014-05-20")["name"] == "会同县"
    for day in ("2014-06-01", "2015-01-01"):
        huitong_figures(client, day)
    assert len(reads) == 1  # one read for three dates
    site = client.get("/api/sites", params={"county": HUITONG, "limit": 1}).json()["items"][0]
    add_cases(client, site["id"], site["division_code"], [datetime(2015, 2, 1, 2, tzinfo=UTC)])
    huitong_figures(client, "2015-02-02")
    assert len(reads) == 1  # a case is not a division write

    sql_write(client, "UPDATE division SET name = {} WHERE code = {}", "会同新县", HUITONG)
    assert huitong_figures(client, "2015-03-03")["name"] == "会同新县"
    assert len(reads) == 2
    sql_write(
        client, "UPDATE division SET abolished_on = {} WHERE code = {}", date(2015, 6, 1), HUITONG
    )
    body = client.get("/api/coverage", params={"as_of": "2015-07-07"}).json()
    assert HUITONG not in {c["code"] for c in body["counties"]}
    assert HUITONG in {
        c["code"]
        for c in client.get("/api/coverage", params={"as_of": "2015-05-05"}).json()["counties"]
    }
