"""The scale generator and the bulk helpers on both engines (small counts; no timing)."""

from __future__ import annotations

import itertools
import uuid
from datetime import date

import numpy as np
import pytest

from seed import loader, scale


def test_province_hierarchy_comes_from_the_statistical_register():
    rows = loader.hierarchy_rows("430000000000")
    levels: dict[str, int] = {}
    for row in rows:
        levels[row["level"]] = levels.get(row["level"], 0) + 1
    assert levels["province"] == 1 and levels["city"] == 14
    # 122 counties of civil affairs and 12 units of the statistics (开发区, 示范区, 管理区)
    assert levels["county"] == 134
    changsha = next(r for r in rows if r["code"] == "430100000000")
    assert changsha["name"] == "长沙市" and changsha["parent"] == "430000000000"
    counties = {r["code"] for r in rows if r["level"] == "county"}
    townships = loader.township_rows("430000000000", counties)
    assert 1900 <= len(townships) <= 2000


def test_nation_names_every_unit_and_counts_banners_as_counties():
    rows = loader.hierarchy_rows("000000000000")
    provinces = [r for r in rows if r["level"] == "province"]
    counties = [r for r in rows if r["level"] == "county"]
    assert len(provinces) == 31 and len(counties) > 2800
    assert any(r["name"].endswith("旗") and r["kind"] == "县" for r in counties)
    assert {r["kind"] for r in provinces} == {"省", "自治区", "直辖市"}
    beijing = next(r for r in rows if r["code"] == "110000000000")
    assert beijing["name"] == "北京市" and beijing["kind"] == "直辖市"
    townships = loader.township_rows("000000000000", {r["code"] for r in counties})
    gone = [r for r in townships if r["abolished_on"]]
    assert len(gone) > 150 and not any("撤" in r["name"] for r in gone)
    assert not any(r["name"] == "赵家蓬区公所" for r in townships)  # a county office


@pytest.mark.parametrize(
    ("raw", "name", "gone"),
    [
        ("城东乡（撤销）", "城东乡", date(2016, 1, 1)),
        ("巷口镇（已撤销）", "巷口镇", date(2016, 1, 1)),
        ("岭上乡（2021年撤销）", "岭上乡", date(2021, 1, 1)),
        ("五里乡（2022年撤分）", "五里乡", date(2022, 1, 1)),
        ("黄金坳镇", "黄金坳镇", None),
    ],
)
def test_abolished_townships_are_recognised(raw, name, gone):
    assert loader._abolished(raw) == (name, gone)


def test_case_ids_are_uuid7_in_counter_order():
    ids = [scale.case_uuid(1_765_000_000_000, n) for n in (1, 2, 2**62 - 1, 2**62, 2**70)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids) and ids == sorted(ids, key=str)  # text order too (SQLite)
    assert ids[0].int >> 80 == 1_765_000_000_000  # the millisecond timestamp comes first
    assert scale.case_uuid(1_765_000_000_001, 0) > ids[-1]  # a later run sorts after


def test_case_batches_never_split_a_division_and_lose_no_site():
    rng = np.random.default_rng(7)
    rank = np.sort(rng.integers(0, 300, 1000))
    per_site = rng.poisson(3, 1000)
    runs = scale.division_batches(rank, per_site, 200)
    covered = [i for r in runs for i in r]
    assert covered == list(range(len(covered)))
    assert per_site[len(covered) :].sum() == 0  # only sites without cases may be left out
    assert all(per_site[r.start : r.stop].sum() >= 200 for r in runs[:-1])
    for a, b in itertools.pairwise(runs):
        assert rank[a.stop - 1] != rank[b.start]


def test_generated_cases_are_masked_and_a_second_run_adds_more(client):
    async def run():
        from registry.tables import Case, Site

        await scale.load_synthetic()
        sites = await Site.count()
        first = await scale.generate_cases(300, batch=120)
        second = await scale.generate_cases(200)
        rows = await Case.select(
            Case.id,
            Case.resident_name_masked,
            Case.resident_id_masked,
            Case.case_number,
            Case.state,
        ).order_by(Case.id)
        return sites, first, second, rows

    sites, first, second, rows = client.run(run)
    assert sites > 2000
    assert first["cases"] == 300 and second["cases"] == 200
    assert len(rows) == 500 and len({r["case_number"] for r in rows}) == 500
    # Inserted in key order: within a run, ids and case numbers rise together (the serial,
    # the number's last part, counts across runs).
    numbers = [r["case_number"] for r in rows]
    assert numbers[:300] == sorted(numbers[:300]) and numbers[300:] == sorted(numbers[300:])
    serials = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert serials == list(range(1, 501))
    assert {uuid.UUID(str(r["id"])).version for r in rows} == {7}
    assert all("*" in r["resident_name_masked"] for r in rows)
    assert all(r["resident_id_masked"][4:14] == "*" * 10 for r in rows)
    assert {r["state"] for r in rows} <= {
        "received",
        "forwarded",
        "completed",
        "returned",
        "delivered",
    }


def test_the_registry_numbers_after_generated_cases_of_the_same_day(client):
    """A case logged later at a point on a day with generated cases takes the next serial
    (generated cases carry their receipt date, where the registry looks for the last one)."""

    async def run():
        from registry.cases import write
        from registry.tables import Case

        await scale.load_synthetic()
        await scale.generate_cases(200)
        row = (
            await Case.select(Case.case_number, Case.received_on, Case.site.division)
            .order_by(Case.case_number, ascending=False)
            .first()
        )
        day = row["received_on"]
        day = date.fromisoformat(day) if isinstance(day, str) else day
        key = (row["site.division"], day)
        return row, (await write._next_serials({key}))[key]

    row, last = client.run(run)
    assert row["case_number"].startswith(f"{row['site.division']}-")
    assert last == int(row["case_number"].rsplit("-", 1)[1]) > 0


def test_deferred_indexes_are_rebuilt(client):
    async def indexes():
        from registry.db.binding import current
        from registry.db.engines import is_sqlite
        from registry.tables import Case

        if is_sqlite(current()):
            rows = await Case.raw(
                "SELECT name FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = 'service_case' AND sql IS NOT NULL"
            )
            return sorted(r["name"] for r in rows)
        rows = await Case.raw("SELECT indexname FROM pg_indexes WHERE tablename = 'service_case'")
        return sorted(r["indexname"] for r in rows)

    before = client.run(indexes)
    assert len(before) >= 5
    # The resident's ID hash has no index (migration 2026-12-07T19:10): no query reads by it.
    assert "service_case_resident_id_hash" not in before

    async def generate():
        await scale.generate_cases(50)

    client.run(generate)
    assert client.run(indexes) == before


def test_synthetic_sites_lie_in_their_county_with_dated_events(client):
    async def run():
        from registry.sites.service import statuses_on
        from registry.tables import Site, StatusEvent

        await scale.load_synthetic()
        sites = await Site.select(Site.id, Site.status, Site.location_warning)
        events = await StatusEvent.count()
        on_deadline = await statuses_on(__import__("datetime").date(2015, 4, 18))
        return sites, events, on_deadline

    sites, events, on_deadline = client.run(run)
    assert events > len(sites) * 2
    assert all(s["location_warning"] is None for s in sites)
    assert "in_service" in set(on_deadline.values())
    # The template's and the generator's sites: a site on almost every division.
    body = client.get("/api/sites", params={"county": "431202", "limit": 1}).json()
    assert body["total"] > 100
