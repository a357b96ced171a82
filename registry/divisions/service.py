"""Divisions: list, detail, boundary, locate."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import shapely
from piccolo.query.functions.aggregate import Count

from geo.boundaries import BoundaryIndex, Region
from geo.geojson_io import feature
from registry.core import runtime
from registry.core.codes import like_prefix, normalise_code
from registry.core.errors import NotFound
from registry.core.params import code_or_none, one_of, page
from registry.core.text import clean_text
from registry.divisions.rules import LEVELS
from registry.divisions.schemas import CountyRef, Division, DivisionDetail, DivisionList, Located
from registry.sites.rules.location import to_wgs84_checked
from registry.tables import Division as DivisionRow
from registry.tables import DivisionAlias, DivisionBoundary, DivisionSuccession

COLUMNS = (
    DivisionRow.code,
    DivisionRow.name,
    DivisionRow.level,
    DivisionRow.kind,
    DivisionRow.parent.as_alias("parent_code"),
    DivisionRow.county_code,
    DivisionRow.township_code,
    DivisionRow.established_on,
    DivisionRow.abolished_on,
    DivisionRow.is_demo,
    DivisionRow.official_name,
)


def _not_found(code: str) -> NotFound:
    return NotFound("division_not_found", f"区划 {code} 不存在", f"division {code} not found")


async def list_divisions(
    level: str | None, parent: str | None, q: str | None, limit: int | None, offset: int | None
) -> DivisionList:
    limit, offset = page(limit, offset)
    level = one_of(level, LEVELS, "level")
    parent = code_or_none(parent, "parent")
    q = clean_text(q, "q", max_length=50)
    clauses: list[Any] = []
    if level:
        clauses.append(DivisionRow.level == level)
    if parent:
        clauses.append(DivisionRow.parent == parent)
    if q:
        needle = q.replace("%", "").replace("_", "").replace("\\", "")
        if needle:
            clauses.append(
                DivisionRow.name.like(f"%{needle}%") | DivisionRow.code.like(f"{needle}%")
            )
    query = DivisionRow.select(*COLUMNS).order_by(DivisionRow.code)
    count = DivisionRow.count()
    for clause in clauses:
        query = query.where(clause)
        count = count.where(clause)
    rows = await query.limit(limit).offset(offset)
    return DivisionList(
        items=[msgspec.convert(r, Division) for r in rows],
        total=await count,
        limit=limit,
        offset=offset,
    )


async def get_division(code: str) -> DivisionDetail:
    code = normalise_code(code)
    row = await DivisionRow.select(*COLUMNS).where(DivisionRow.code == code).first()
    if row is None:
        raise _not_found(code)
    children: dict[str, int] = {}
    level = row["level"]
    if level in ("province", "city"):
        scope = DivisionRow.code.like(like_prefix(code))
    elif level == "county":
        scope = DivisionRow.county_code == code
    elif level == "township":
        scope = DivisionRow.township_code == code
    else:
        scope = None
    if scope is not None:
        counts = (
            await DivisionRow.select(DivisionRow.level, Count(DivisionRow.code).as_alias("n"))
            .where(scope)
            .where(DivisionRow.code != code)
            .group_by(DivisionRow.level)
        )
        children = {c["level"]: c["n"] for c in counts}
    has_boundary = await DivisionBoundary.exists().where(DivisionBoundary.division == code)
    aliases = await DivisionAlias.select(DivisionAlias.system, DivisionAlias.code).where(
        DivisionAlias.division == code
    )
    links = await DivisionSuccession.select(
        DivisionSuccession.predecessor, DivisionSuccession.successor
    ).where((DivisionSuccession.predecessor == code) | (DivisionSuccession.successor == code))
    return DivisionDetail(
        **row,
        children=children,
        has_boundary=has_boundary,
        aliases=aliases,
        predecessors=sorted(r["predecessor"] for r in links if r["successor"] == code),
        successors=sorted(r["successor"] for r in links if r["predecessor"] == code),
    )


async def boundary(code: str, simplified: bool = False) -> dict[str, Any]:
    code = normalise_code(code)
    row = (
        await DivisionRow.select(
            DivisionRow.code, DivisionRow.name, DivisionRow.level, DivisionRow.kind
        )
        .where(DivisionRow.code == code)
        .first()
    )
    if row is None:
        raise _not_found(code)
    geometry = await boundary_feature_geometry(code, simplified=simplified)
    if geometry is None:
        raise NotFound(
            "no_boundary", f"{row['name']} 没有边界数据", f"{row['name']} has no boundary data"
        )
    return feature(geometry, dict(row), id=code)


async def locate(lon: float, lat: float, crs: str | None) -> Located:
    wlon, wlat, datum = to_wgs84_checked(lon, lat, crs)
    index = await county_index()
    region = index.locate(wlon, wlat)
    if region is None:
        raise NotFound(
            "outside_coverage",
            "该点不在任何已知县(市、区)范围内",
            "the point is not inside any known county",
        )
    return Located(
        county=CountyRef(code=region.code, name=region.name),
        township=None,
        lon=round(wlon, 7),
        lat=round(wlat, 7),
        crs=datum,
    )


# --------------------------------------------------------------------------- boundaries
# County boundaries indexed once per runtime (STRtree, prepared); the index is forgotten when
# the engine is rebound, and after a boundary is written (:func:`invalidate`).

SLOT = "divisions.county_index"


async def _build() -> BoundaryIndex:
    rows = await DivisionBoundary.select(
        DivisionBoundary.division.code.as_alias("code"),
        DivisionBoundary.division.name.as_alias("name"),
        DivisionBoundary.geometry,
    ).where(DivisionBoundary.division.level == "county")
    return BoundaryIndex(
        [
            Region(
                code=row["code"], name=row["name"], geometry=shapely.from_geojson(row["geometry"])
            )
            for row in rows
        ]
    )


async def county_index() -> BoundaryIndex:
    """The index of every county-level boundary (built on first use)."""
    state = runtime.current()
    index = state.slot(SLOT, dict).get("index")
    if index is None:
        index = await _build()
        state.slot(SLOT, dict)["index"] = index
    return index


async def borrowed_outline(code: str) -> tuple[str, str] | None:
    """(code, name) of the county whose outline a county-level unit without its own uses
    (``outline_code``: 怀化市洪江管理区 → 洪江市), or None."""
    row = await DivisionRow.select(DivisionRow.outline_code).where(DivisionRow.code == code).first()
    if row is None or not row["outline_code"]:
        return None
    owner = (
        await DivisionRow.select(DivisionRow.code, DivisionRow.name)
        .where(DivisionRow.code == row["outline_code"])
        .first()
    )
    return (owner["code"], owner["name"]) if owner else None


def invalidate() -> None:
    """Forget the index (after boundaries change)."""
    runtime.current().forget(SLOT)


async def boundary_feature_geometry(code: str, simplified: bool = False) -> dict | None:
    """The stored GeoJSON geometry of a division, or None when it has none."""
    column = DivisionBoundary.simplified if simplified else DivisionBoundary.geometry
    row = (
        await DivisionBoundary.select(column.as_alias("g"))
        .where(DivisionBoundary.division == code)
        .first()
    )
    return json.loads(row["g"]) if row else None
