"""County boundaries from the database, indexed once per process (STRtree, prepared).

The index is rebuilt after a boundary is written (see :func:`invalidate`).
"""

from __future__ import annotations

import json

import shapely

from geo.boundaries import BoundaryIndex, Region
from registry.tables import DivisionBoundary

_index: BoundaryIndex | None = None
_engine_id: int | None = None


async def county_index() -> BoundaryIndex:
    """The index of every county-level boundary (built on first use)."""
    global _index, _engine_id
    engine = DivisionBoundary._meta.db
    if _index is None or _engine_id != id(engine):
        rows = await DivisionBoundary.select(
            DivisionBoundary.division.code.as_alias("code"),
            DivisionBoundary.division.name.as_alias("name"),
            DivisionBoundary.geometry,
        ).where(DivisionBoundary.division.level == "county")
        regions = [
            Region(
                code=row["code"], name=row["name"], geometry=shapely.from_geojson(row["geometry"])
            )
            for row in rows
        ]
        _index = BoundaryIndex(regions)
        _engine_id = id(engine)
    return _index


def invalidate() -> None:
    """Forget the index (after boundaries change or the engine is rebound)."""
    global _index
    _index = None


async def boundary_feature_geometry(code: str, simplified: bool = False) -> dict | None:
    """The stored GeoJSON geometry of a division, or None when it has none."""
    column = DivisionBoundary.simplified if simplified else DivisionBoundary.geometry
    row = (
        await DivisionBoundary.select(column.as_alias("g"))
        .where(DivisionBoundary.division == code)
        .first()
    )
    return json.loads(row["g"]) if row else None
