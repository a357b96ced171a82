"""The case writes' reads as SQL text (registry.cases.write, matters) give the rows Piccolo's
select gives, types included, on both engines."""

from __future__ import annotations

from tests.integration.test_cases import post, record


def test_the_write_path_reads_give_what_piccolos_select_gives(client):
    from registry.cases import write
    from registry.cases.matters import matters_by_code
    from registry.db.transactions import write_transaction
    from registry.tables import Case, Matter, Site, StatusEvent

    for _ in range(3):
        assert post(client, record(client)).status_code == 201

    async def compare() -> None:
        async with write_transaction():
            ids = [r["id"] for r in await Case.select(Case.id)]
            found = await write._existing(ids)
            expected = {r["id"]: r for r in await Case.select().where(Case.id.is_in(ids))}
            assert len(found) == 3 and found == expected
            for key, row in found.items():
                assert [type(v) for v in row.values()] == [type(v) for v in expected[key].values()]
            sites = [r["id"] for r in await Site.select(Site.id)]
            locked = await write._lock_sites(sites)
            rows = await Site.select(
                Site.id,
                Site.division.as_alias("division_code"),
                Site.county_code,
                Site.township_code,
                Site.kind,
                Site.standard_name,
            ).where(Site.id.is_in(sites))
            assert locked == {r["id"]: r for r in rows}
            events = await write._site_events(sites)
            stored = await StatusEvent.select().where(StatusEvent.site.is_in(sites))
            assert sorted(
                (site, e.status, e.effective_date, e.seq) for site, v in events.items() for e in v
            ) == sorted((r["site"], r["status"], r["effective_date"], r["id"]) for r in stored)
            codes = {r["code"] for r in await Matter.select(Matter.code)}
            matters = await matters_by_code(codes)
            assert matters == {
                r["code"]: r
                for r in await Matter.select(
                    Matter.code, Matter.name, Matter.time_limit_days, Matter.active
                )
            }
            assert all(type(m["active"]) is bool for m in matters.values())

    client.run(compare)
