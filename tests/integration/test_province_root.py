"""A province as the registry's root (REGISTRY_ROOT=430000): 湖南's real register, totals per
city and for the province, titles naming the province — on both engines."""

from __future__ import annotations

import csv
import io
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace

import pytest

from registry.core.settings import settings_from_env
from tests.conftest import ApiClient
from tests.integration.shared_app import root_client

PROVINCE = "430000000000"
HUAIHUA = "431200000000"


async def _load(url: str) -> None:
    from registry.db.binding import connected, migrate
    from registry.db.engines import make_engine
    from seed import loader

    await migrate(make_engine(url))
    async with connected(replace(settings_from_env(), database_url=url, root_code=PROVINCE)):
        await loader.load_base()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def hunan(request, base_settings, tmp_path_factory) -> Iterator[ApiClient]:
    yield from root_client(
        request.param, base_settings, tmp_path_factory.mktemp("hunan"), PROVINCE, _load
    )


def test_the_province_total_and_every_city_add_up(hunan):
    body = hunan.get("/api/coverage", params={"as_of": "2015-04-18"}).json()
    total = body["total"]
    assert (total["code"], total["name"], total["level"]) == (PROVINCE, "湖南省", "province")
    cities = {c["code"]: c for c in body["cities"]}
    assert len(cities) == 14 and cities[HUAIHUA]["name"] == "怀化市"
    assert body["provinces"] is None
    assert sum(c["villages_total"] for c in cities.values()) == total["villages_total"] == 29534
    assert sum(c["villages_total"] for c in body["counties"]) == total["villages_total"]
    assert len(body["counties"]) == 134


def test_a_city_of_the_province_is_an_area_of_its_own(hunan):
    body = hunan.get("/api/coverage", params={"within": "431200"}).json()
    assert (body["total"]["name"], body["total"]["level"]) == ("怀化市", "city")
    assert len(body["counties"]) == 13 and body["cities"] is None
    outside = hunan.get("/api/coverage", params={"within": "110000"})
    assert (outside.status_code, outside.json()["code"]) == (422, "unknown_area")
    townships = hunan.get("/api/coverage/townships", params={"within": "431200"}).json()
    assert townships["total"] == body["total"]["townships_total"] + 3  # and 3 statistical units
    assert {t["county_code"][:4] for t in townships["items"]} == {"4312"}
    province = hunan.get("/api/coverage/townships").json()
    assert province["total"] > 1900 and len({t["county_code"][:4] for t in province["items"]}) == 14


def test_titles_name_the_province(hunan):
    svg = hunan.get("/api/maps/coverage.svg").content
    title = ET.fromstring(svg).find("{http://www.w3.org/2000/svg}title").text
    assert title.startswith("湖南省")
    assert "全省" in svg.decode()
    series = hunan.get("/api/coverage/timeseries").json()
    assert series["county_name"] == "湖南省"


def test_the_report_totals_the_province(hunan):
    token = _municipal_token(hunan)
    response = hunan.get("/api/reports/coverage.csv", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[-1]["县市区"] == "全省合计" and len(rows) == 135


def _municipal_token(client: ApiClient) -> str:
    from registry.accounts.schemas import AccountCreate
    from registry.accounts.service import create_account
    from registry.core.access import SYSTEM

    username = f"hunan_{uuid.uuid4().hex[:6]}"

    async def create() -> None:
        await create_account(
            SYSTEM,
            AccountCreate(
                username=username, password="Hunan-Passw0rd!", role="municipal", scope="430000"
            ),
        )

    client.run(create)
    response = client.post(
        "/api/auth/token", json={"username": username, "password": "Hunan-Passw0rd!"}
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]
