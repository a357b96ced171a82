"""Divisions and geolocation (public)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.params import FromPath, FromQuery

from registry.divisions import service as divisions
from registry.divisions.schemas import DivisionDetail, DivisionList, Located


class DivisionController(Controller):
    path = "/api/divisions"
    tags = ["divisions"]

    @get("/", operation_id="listDivisions", summary="List divisions (区划)")
    async def list_divisions(
        self,
        level: FromQuery[str | None] = None,
        parent: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
        offset: FromQuery[int] = 0,
    ) -> DivisionList:
        """Filter by level (city, county, township, village), parent code, or a name fragment."""
        return await divisions.list_divisions(level, parent, q, limit, offset)

    @get("/{code:str}", operation_id="getDivision", summary="One division with child counts")
    async def get_division(self, code: FromPath[str]) -> DivisionDetail:
        return await divisions.get_division(code)

    @get(
        "/{code:str}/boundary",
        operation_id="getDivisionBoundary",
        summary="Boundary as a GeoJSON Feature (WGS-84)",
        media_type="application/geo+json",
    )
    async def boundary(
        self, code: FromPath[str], simplified: FromQuery[bool] = False
    ) -> dict[str, Any]:
        return await divisions.boundary(code, simplified=simplified)


class GeoController(Controller):
    path = "/api/geo"
    tags = ["geo"]

    @get("/locate", operation_id="locatePoint", summary="Which county a point lies in")
    async def locate(
        self, lon: FromQuery[float], lat: FromQuery[float], crs: FromQuery[str] = "wgs84"
    ) -> Located:
        """Coordinates in `crs` (wgs84, cgcs2000, gcj02, bd09); 404 outside every county."""
        return await divisions.locate(lon, lat, crs)
