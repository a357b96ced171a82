"""Demo case histories: only on days a point was in service, every rule kept, deterministic."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from registry.cases.rules import timeline as rules
from registry.cases.rules.timeline import Timeline
from seed import demo_cases

NOW = datetime(2018, 6, 29, 4, 0, tzinfo=UTC)
TODAY = date(2018, 6, 29)
HISTORIES = {
    # In service from March 2014 on.
    "steady": [("planned", date(2013, 9, 1)), ("in_service", date(2014, 3, 1))],
    # Suspended all summer 2014.
    "paused": [
        ("in_service", date(2014, 1, 2)),
        ("suspended", date(2014, 6, 1)),
        ("in_service", date(2014, 9, 1)),
    ],
    # Never opened: no cases.
    "planned": [("planned", date(2014, 1, 1))],
}


def _spans(history, today):
    spans, start = [], None
    for status, day in history:
        if status == "in_service" and start is None:
            start = day
        elif status != "in_service" and start is not None:
            spans.append((start, day - timedelta(days=1)))
            start = None
    if start is not None:
        spans.append((start, today))
    return spans


@pytest.fixture
def demo_points(client):
    """Three demo agency points on free 鹤城区 villages, with the histories above."""
    from registry.tables import Division, Site, StatusEvent

    async def make() -> dict[str, int]:
        taken = {r["division"] for r in await Site.select(Site.division)}
        villages = [
            v
            for v in await Division.select()
            .where((Division.county_code == "431202000000") & (Division.kind == "村"))
            .order_by(Division.code)
            if v["code"] not in taken and v["abolished_on"] is None
        ]
        ids = {}
        for (label, history), village in zip(HISTORIES.items(), villages, strict=False):
            site = Site(
                division=village["code"],
                open_division=village["code"],
                kind="village_point",
                county_code=village["county_code"],
                township_code=village["township_code"],
                standard_name=village["name"] + "便民服务代办点",
                lon=110.0,
                lat=27.5,
                status=history[-1][0],
                status_since=history[-1][1],
                is_demo=True,
            )
            await site.save()
            await StatusEvent.insert(
                *[
                    StatusEvent(site=site.id, status=s, effective_date=d, actor="demo")
                    for s, d in history
                ]
            )
            ids[label] = site.id
        return ids

    return client.run(make)


def test_demo_histories_keep_every_rule(client, demo_points, frozen_clock):
    from registry.tables import Case

    frozen_clock(NOW)
    added = client.run(demo_cases.load_demo_cases)
    assert added["cases"] >= 5
    assert client.run(demo_cases.load_demo_cases) == {"cases": 0}  # idempotent
    rows = client.run(lambda: Case.select().where(Case.is_demo == True))  # noqa: E712
    assert len(rows) == added["cases"]
    limits = {m["code"]: m["time_limit_days"] for m in client.get("/api/matters").json()["items"]}
    by_site = {v: k for k, v in demo_points.items()}
    serials: dict[tuple[int, date], list[int]] = defaultdict(list)
    for row in rows:
        label = by_site[row["site"]]
        assert label != "planned"
        assert any(lo <= row["received_on"] <= hi for lo, hi in _spans(HISTORIES[label], TODAY))
        timeline = Timeline(
            **{f: row[f] for f in Timeline.__struct_fields__ if f != "received_at"},
            received_at=row["received_at"],
        )
        assert rules.timeline_problems(timeline, NOW) == []
        derived = rules.derive(timeline, limits[row["matter"]])
        assert (row["received_on"], row["due_on"], row["forward_late"]) == (
            derived.received_on,
            derived.due_on,
            derived.forward_late,
        )
        assert "*" in row["resident_name_masked"] and "*" in row["resident_id_masked"]
        assert row["case_number"].startswith(
            f"{row['case_number'][:12]}-{row['received_on']:%Y%m%d}-"
        )
        serials[(row["site"], row["received_on"])].append(rules.serial_of(row["case_number"]))
    for numbers in serials.values():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))
    states = {row["state"] for row in rows}
    assert "delivered" in states
    assert any(row["rating"] for row in rows)
    # The histories stop at the end of 2015 and resume for the last twelve months.
    days = sorted(row["received_on"] for row in rows)
    assert not [d for d in days if date(2016, 1, 1) <= d < date(2017, 6, 30)]
    assert days[0] < date(2016, 1, 1) and days[-1] >= date(2017, 6, 30)


def test_demo_histories_are_deterministic():
    sites = [
        {
            "id": i,
            "division_code": f"431202102{200 + i:03d}",
            "county_code": "431202000000",
            "township_code": "431202102000",
        }
        for i in range(10)
    ]
    events = {
        i: [{"status": "in_service", "effective_date": date(2014, 5, 1) + timedelta(days=30 * i)}]
        for i in range(10)
    }
    limits = {"SB001": 5, "YB001": 5, "MZ003": 15, "NY002": 30}
    first = demo_cases.build_cases(sites, events, limits, TODAY, NOW, "k")
    again = demo_cases.build_cases(sites, events, limits, TODAY, NOW, "k")
    assert first == again and len(first) > 30
    months = {row["received_on"].strftime("%Y-%m") for row in first}
    assert min(months) >= "2014-05" and "2018-06" in months
