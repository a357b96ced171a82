"""A small synthetic nation (REGISTRY_ROOT=000000) for tests of the nation's views: two
provinces (湖南省, 广东省), a city each, two counties a city, a township a county, three villages
a township, square outlines in WGS-84 (provinces and cities the union of their counties), the
campaigns, a municipal account with the nation's scope and an in-service agency point or
centre in three of the four counties.

Built with the registry's own tables and services (no HTTP), so a test can run it in-process
(``await build()``) or, beside a browser, as ``python -m tests.small_nation DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import replace
from datetime import date
from typing import Any

NATION = "000000000000"
PASSWORD = "Nation-Passw0rd!"
MUNICIPAL = "nation_centre"
# province → city → counties, each county a 0.5° square west to east from its corner.
LAYOUT: dict[tuple[str, str], dict[tuple[str, str], list[tuple[str, str, float, float]]]] = {
    ("430000", "湖南省"): {
        ("431200", "怀化市"): [
            ("431202", "鹤城区", 109.5, 27.5),
            ("431221", "中方县", 110.0, 27.5),
        ],
    },
    ("440000", "广东省"): {
        ("440100", "广州市"): [
            ("440103", "荔湾区", 113.0, 23.0),
            ("440104", "越秀区", 113.5, 23.0),
        ],
    },
}
SIZE = 0.5
# Counties with an in-service site: (division, kind, lon offset) — 越秀区 has none.
SITES = (("431202001001", 0.1), ("431202001000", 0.2), ("431221001001", 0.1), ("440103001001", 0.1))


def pad(code: str) -> str:
    return code.ljust(12, "0")


def _square(lon: float, lat: float, size: float = SIZE) -> Any:
    from shapely.geometry import box

    return box(lon, lat, lon + size, lat + size)


def rows() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Division rows (parents first) and each outlined division's geometry."""
    from shapely.ops import unary_union

    divisions: list[dict[str, Any]] = []
    shapes: dict[str, Any] = {}

    def add(code, name, level, kind, parent, county=None, township=None):
        divisions.append(
            {
                "code": code,
                "name": name,
                "level": level,
                "kind": kind,
                "parent": parent,
                "county_code": county,
                "township_code": township,
                "source": "test",
            }
        )

    for (province, province_name), cities in LAYOUT.items():
        add(pad(province), province_name, "province", "省", None)
        province_parts = []
        for (city, city_name), counties in cities.items():
            add(pad(city), city_name, "city", "地级市", pad(province))
            city_parts = []
            for county, county_name, lon, lat in counties:
                code = pad(county)
                add(code, county_name, "county", "市辖区", pad(city), county=code)
                shapes[code] = _square(lon, lat)
                city_parts.append(shapes[code])
                township = pad(county + "001")
                add(township, county_name[:-1] + "街道", "township", "街道", code, code, township)
                for n in range(1, 4):
                    village = f"{county}00100{n}"
                    add(village, f"第{n}社区", "village", "社区", township, code, township)
            shapes[pad(city)] = unary_union(city_parts)
            province_parts.extend(city_parts)
        shapes[pad(province)] = unary_union(province_parts)
    return divisions, shapes


async def build(database_url: str) -> None:
    """Migrate the database and load the small nation into it."""
    from registry.accounts import service as accounts
    from registry.accounts.schemas import AccountCreate
    from registry.core.access import SYSTEM, Actor
    from registry.core.settings import settings_from_env
    from registry.db.binding import connected, migrate
    from registry.db.engines import make_engine
    from registry.sites import service as sites
    from registry.sites.schemas import SiteCreate
    from registry.tables import Campaign, Division, DivisionBoundary
    from seed.loader import CAMPAIGNS

    await migrate(make_engine(database_url))
    settings = replace(settings_from_env(), database_url=database_url, root_code=NATION)
    async with connected(settings):
        divisions, shapes = rows()
        await Division.insert(*[Division(**d) for d in divisions])
        for code, shape in shapes.items():
            text = json.dumps(shape.__geo_interface__)
            min_lon, min_lat, max_lon, max_lat = shape.bounds
            await DivisionBoundary.insert(
                DivisionBoundary(
                    division=code,
                    geometry=text,
                    simplified=text,
                    min_lon=min_lon,
                    min_lat=min_lat,
                    max_lon=max_lon,
                    max_lat=max_lat,
                    source="test",
                )
            )
        await Campaign.insert(*[Campaign(**c) for c in CAMPAIGNS])
        await accounts.create_account(
            SYSTEM,
            AccountCreate(username=MUNICIPAL, password=PASSWORD, role="municipal", scope="000000"),
        )
        for code, offset in SITES:
            county = shapes[code[:6].ljust(12, "0")]
            lon, lat = county.bounds[0] + offset, county.bounds[1] + 0.25
            await sites.create_site(
                Actor(username="system", role="municipal", scope=NATION),
                SiteCreate(
                    division_code=code,
                    lon=lon,
                    lat=lat,
                    status="in_service",
                    effective_date=date(2014, 3, 1),
                ),
            )


if __name__ == "__main__":
    asyncio.run(build(sys.argv[1]))
