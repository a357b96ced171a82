"""County boundaries from the database, indexed once per runtime (STRtree, prepared).

The index lives on the runtime and is forgotten when its engine is rebound; after a boundary
is written, :func:`invalidate` drops it.
"""

from __future__ import annotations

import json

import shapely

from geo.boundaries import BoundaryIndex, Region
from registry.core import runtime
from registry.tables import DivisionBoundary

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
