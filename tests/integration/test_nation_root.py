"""The nation as the registry's root (REGISTRY_ROOT=000000) on a small synthetic nation
(tests/small_nation.py): the maps of the nation show its provinces, a province opens as an
area of its own with its counties; both engines."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from tests.conftest import ApiClient
from tests.integration.shared_app import root_client
from tests.small_nation import NATION, build


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def nation(request, base_settings, tmp_path_factory) -> Iterator[ApiClient]:
    yield from root_client(
        request.param, base_settings, tmp_path_factory.mktemp("nation"), NATION, build
    )


def test_the_nation_totals_its_provinces(nation):
    body = nation.get("/api/coverage", params={"as_of": "2015-04-18"}).json()
    total = body["total"]
    assert (total["code"], total["level"]) == (NATION, "nation")
    provinces = {p["code"]: p for p in body["provinces"]}
    assert set(provinces) == {"430000000000", "440000000000"}
    assert provinces["430000000000"]["villages_total"] == 6
    assert total["villages_total"] == 12 and len(body["counties"]) == 4
    assert (
        provinces["430000000000"]["points_active"] + provinces["440000000000"]["points_active"]
        == total["points_active"]
    )


def test_the_nations_maps_show_provinces_and_a_province_its_counties(nation):
    geo = nation.get("/api/coverage.geojson", params={"sites": "false"}).json()
    layers = {f["properties"]["layer"] for f in geo["features"]}
    assert layers == {"province"}
    assert {f["id"] for f in geo["features"]} == {"430000000000", "440000000000"}
    assert all(f["geometry"] for f in geo["features"])
    hunan = next(f for f in geo["features"] if f["id"] == "430000000000")
    assert hunan["properties"]["name"] == "湖南省" and "label_lon" in hunan["properties"]
    svg = nation.get("/api/maps/coverage.svg").text
    shapes = [e for e in ET.fromstring(svg).iter() if e.tag.endswith("path") and e.get("data-code")]
    assert {e.get("data-code") for e in shapes} == {"430000000000", "440000000000"}
    # A province is an area of its own: its counties.
    within = nation.get(
        "/api/coverage.geojson", params={"sites": "false", "within": "440000"}
    ).json()
    assert {f["properties"]["layer"] for f in within["features"]} == {"county"}
    assert {f["id"] for f in within["features"]} == {"440103000000", "440104000000"}


def test_after_a_write_the_nations_answer_is_updated_as_if_built_afresh(nation, monkeypatch):
    """A status change in one county: the kept answer is updated (that county counted again,
    its city, province and the nation summed again, the others kept) and equals the answer
    built from nothing, provinces and cities included."""
    from datetime import timedelta

    from registry.core import clock
    from registry.tables import Site, StatusEvent
    from tests.integration.coverage_answers import forget_answers, updated_counties

    updated = updated_counties(monkeypatch)
    before = nation.get("/api/coverage").json()

    async def suspend():
        site = await Site.select(Site.id).where(Site.division == "431202001001").first()
        await StatusEvent.insert(
            StatusEvent(
                site=site["id"],
                status="suspended",
                effective_date=clock.today() - timedelta(days=1),
                actor="sql",
            )
        )

    nation.run(suspend)
    after = nation.get("/api/coverage").json()
    assert updated == [["431202000000"]]
    provinces = {p["code"]: p for p in after["provinces"]}
    provinces_before = {p["code"]: p for p in before["provinces"]}
    hunan = "430000000000"
    assert provinces[hunan]["points_in_service"] == provinces_before[hunan]["points_in_service"] - 1
    assert after["total"]["points_in_service"] == before["total"]["points_in_service"] - 1

    forget_answers(nation)
    assert nation.get("/api/coverage").json() == after
