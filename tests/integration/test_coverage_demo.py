"""The SQL counts against the plain-Python definition on the whole demo city (both engines),
and the timings of the all-county figures and the monthly series (printed, never asserted:
run with ``-s`` to see them)."""

from __future__ import annotations

import time
from datetime import date

import pytest

from registry.core import clock
from registry.coverage import rules as maths
from registry.sites.rules.status import DatedStatus

CHECK_DAYS = [
    date(2013, 4, 18),
    date(2013, 10, 31),
    date(2014, 4, 18),
    date(2014, 6, 30),
    date(2014, 7, 1),  # demo villages merged that day
    date(2015, 4, 18),
    date(2015, 12, 31),
    date(2016, 1, 1),  # six townships abolished that day
]


async def load_demo_city() -> None:
    from registry.tables import Site, StatusEvent
    from seed.demo import load_demo

    # load_demo adds sites only to a registry without any: drop the template's two points.
    await StatusEvent.delete(force=True)
    await Site.delete(force=True)
    await load_demo()


async def reference_counts(days):
    """The counts of every county and township from the rows, with registry.coverage.rules."""
    from registry.tables import Division, Site, StatusEvent

    divisions = [
        maths.DivisionSpan(
            code=r["code"],
            level=r["level"],
            county_code=r["county_code"],
            township_code=r["township_code"],
            established_on=r["established_on"],
            abolished_on=r["abolished_on"],
            kind=r["kind"],
        )
        for r in await Division.select().where(Division.level.is_in(["village", "township"]))
    ]
    events: dict[int, list[DatedStatus]] = {}
    for r in await StatusEvent.select().order_by(StatusEvent.effective_date, StatusEvent.id):
        events.setdefault(r["site"], []).append(
            DatedStatus(r["status"], r["effective_date"], seq=r["id"])
        )
    sites = [
        maths.SiteHistory(r["id"], r["division"], r["kind"], events.get(r["id"], []))
        for r in await Site.select(Site.id, Site.division, Site.kind)
    ]
    by_county = [maths.count_on(d, divisions, sites) for d in days]
    by_township = [maths.count_on(d, divisions, sites, key=lambda v: v.township_code) for d in days]
    return by_county, by_township


@pytest.mark.slow
def test_sql_counts_equal_the_definition_on_the_demo_city(client, engine_name, capsys):
    from registry.coverage import service as coverage

    client.run(load_demo_city)
    expected_county, expected_township = client.run(lambda: reference_counts(CHECK_DAYS))
    by_county = client.run(lambda: coverage.counts_by(CHECK_DAYS, "county"))
    by_township = client.run(lambda: coverage.counts_by(CHECK_DAYS, "township"))
    for i, day in enumerate(CHECK_DAYS):
        assert by_county[i] == expected_county[i], day
        assert by_township[i] == expected_township[i], day
    # The monthly series (event-driven SQL) equals the per-day SQL on every month.
    start, end = date(2013, 4, 18), date(2016, 2, 10)
    days = maths.series_days(start, end)
    for unit in ("county", "township"):
        series = client.run(lambda unit=unit: coverage.series_counts(start, end, unit))
        per_day = client.run(lambda unit=unit: coverage.counts_by(days, unit, active=False))
        assert series == per_day, unit
    one = client.run(lambda: coverage.series_counts(start, end, "township", "431227000000"))
    assert one == [
        {k: v for k, v in d.items() if k.startswith("431227")}
        for d in client.run(lambda: coverage.counts_by(days, "township", active=False))
    ]
    # The story: by the deadline some counties are done and some far behind.
    body = client.get("/api/coverage", params={"as_of": "2015-04-18"}).json()
    figures = sorted(c["figure"] for c in body["counties"])
    assert figures[0] < 0.6 and figures[-1] == 1.0
    assert any(c["achieved"] for c in body["counties"])
    mid = client.get("/api/coverage", params={"as_of": "2014-04-18"}).json()
    verdicts = {c["on_track"] for c in mid["counties"]}
    assert verdicts == {True, False}
    stalled = client.get("/api/coverage/timeseries", params={"county": "431227"}).json()
    assert stalled["projected_completion"] is None  # 新晃县 stalled in mid-2014
    print_timings(client, engine_name, capsys)


def print_timings(client, engine_name, capsys):
    """Cold (cache cleared) and cached timings on the demo city: printed, never asserted."""
    from registry.coverage import service as coverage

    today = clock.today().isoformat()
    cases = [
        ("all-county figures, today", lambda: coverage.coverage(None, None)),
        ("all-county figures, 2014-04-18", lambda: coverage.coverage("2014-04-18", None)),
        ("township figures, today", lambda: coverage.township_coverage(None, None)),
        ("monthly series, city", lambda: coverage.timeseries(None, None)),
        ("monthly series, one county", lambda: coverage.timeseries("431227", None)),
    ]
    lines = []
    for label, fn in cases:
        client.app.state.runtime.forget("coverage.")
        start = time.perf_counter()
        client.run(fn)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        client.run(fn)
        warm = time.perf_counter() - start
        lines.append(
            f"{engine_name:8} {label:32} cold {cold * 1000:7.1f} ms  cached {warm * 1000:6.1f} ms"
        )
    with capsys.disabled():
        print(f"\ncoverage timings on the demo city (as of {today}):")
        for line in lines:
            print("  " + line)
