"""Coverage figures, monthly series, GeoJSON, the SVG map and the coverage report."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Controller, Request, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromQuery
from litestar.response import Response

from registry.coverage import reports
from registry.coverage import service as coverage
from registry.coverage.schemas import CampaignList, Coverage, Timeseries, TownshipCoverage
from registry.http.deps import CurrentActor
from registry.http.files import MEDIA_TYPES, download

GEOJSON = MEDIA_TYPES["geojson"]
NOT_MODIFIED = ResponseSpec(
    data_container=None,
    description="Not modified: the If-None-Match ETag is current (no body)",
    generate_examples=False,
)
SVG = MEDIA_TYPES["svg"]


def _etag(content: bytes) -> str:
    """A weak validator of the representation itself: it changes exactly when the body does
    (a new case that changes points_active included)."""
    return 'W/"' + hashlib.sha256(content).hexdigest()[:24] + '"'


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


async def _conditional(
    request: Request[Any, Any, Any], media_type: str, render: Callable[[], Awaitable[bytes]]
) -> Response[Any]:
    """Render, then answer 304 (no body) when the client's copy is current."""
    content = await render()
    etag = _etag(content)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=content, media_type=media_type, headers=headers)


class CoverageController(Controller):
    path = "/api/coverage"
    tags = ["coverage"]

    @get("/", operation_id="getCoverage", summary="Coverage figures per county and city total")
    async def get_coverage(
        self,
        as_of: FromQuery[str | None] = None,
        campaign: FromQuery[str | None] = None,
        county: FromQuery[str | None] = None,
        within: FromQuery[str | None] = None,
    ) -> Coverage:
        """Figures as of `as_of` (YYYY-MM-DD, default today; 422 when malformed, in the future
        or before the campaign start) for `campaign` (default agency-points-2013), per county
        of the area `within` (a province or city of the registry; default its root) with the
        area's `total` and, for a province or the nation, its `cities` (and `provinces`).
        With `county`, only that county plus its `townships` (the drill-down)."""
        return await coverage.coverage(as_of, campaign, county, within)

    @get(
        "/timeseries",
        operation_id="getCoverageTimeseries",
        summary="Monthly figures from the campaign start, with the target line",
    )
    async def get_timeseries(
        self,
        county: FromQuery[str | None] = None,
        campaign: FromQuery[str | None] = None,
        as_of: FromQuery[str | None] = None,
        within: FromQuery[str | None] = None,
    ) -> Timeseries:
        """One point per month (value as of the month's last day; the month of `as_of` as of
        `as_of`) from the campaign start to its deadline, or to `as_of` if later. Without
        `county`: the area `within` (default the registry's root)."""
        return await coverage.timeseries(county, campaign, as_of, within)

    @get(
        "/townships",
        operation_id="getTownshipCoverage",
        summary="Coverage figures per township (of one county or of an area)",
    )
    async def get_townships(
        self,
        as_of: FromQuery[str | None] = None,
        campaign: FromQuery[str | None] = None,
        county: FromQuery[str | None] = None,
        within: FromQuery[str | None] = None,
    ) -> TownshipCoverage:
        """Every township of `county`, or of the province or city `within` (default the
        registry's root)."""
        return await coverage.township_coverage(as_of, campaign, county, within)

    @get("/campaigns", operation_id="listCampaigns", summary="Campaigns whose figure is tracked")
    async def list_campaigns(self) -> CampaignList:
        return await coverage.list_campaigns()


class CoverageGeoJSONController(Controller):
    path = "/api/coverage.geojson"
    tags = ["coverage"]

    @get(
        "/",
        operation_id="coverageGeoJSON",
        summary="Counties with coverage properties (and sites), RFC 7946",
        media_type=GEOJSON,
        responses={304: NOT_MODIFIED},
    )
    async def coverage_geojson(
        self,
        request: Request[Any, Any, Any],
        as_of: FromQuery[str | None] = None,
        campaign: FromQuery[str | None] = None,
        sites: FromQuery[bool] = True,
        county: FromQuery[str | None] = None,
        kind: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        within: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """County outlines simplified with topology preserved (0.001° ≈ 100 m, 4 decimals),
        every figure as properties (`layer: county`); sites as points with `kind` and their
        `status` on `as_of` (`layer: site`; closed ones only with `status=closed`; `county`,
        `kind`, `status` filter them; `sites=false` leaves them out). ETag / 304."""

        async def render() -> bytes:
            collection = await coverage.coverage_geojson(
                as_of, campaign, sites, county, kind, status, within
            )
            return msgspec.json.encode(collection)

        return await _conditional(request, GEOJSON, render)


class MapController(Controller):
    path = "/api/maps"
    tags = ["coverage"]

    @get(
        "/coverage.svg",
        operation_id="coverageMapSVG",
        summary="County choropleth of the campaign's figure (SVG)",
        media_type=SVG,
        responses={304: NOT_MODIFIED},
    )
    async def coverage_svg(
        self,
        request: Request[Any, Any, Any],
        as_of: FromQuery[str | None] = None,
        campaign: FromQuery[str | None] = None,
        sites: FromQuery[bool] = False,
        kind: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        within: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Fixed classes 0–20–40–60–80–<100 % and 100 %, grey hatched for no data; county
        names, title with campaign and date, scale bar; `sites=true` adds the sites (filtered
        by `kind`, `status`) coloured by status. ETag of the body: 304 when current.
        """

        async def render() -> bytes:
            svg = await coverage.coverage_svg(as_of, campaign, sites, kind, status, within)
            return svg.encode("utf-8")

        return await _conditional(request, SVG, render)


class ReportController(Controller):
    path = "/api/reports"
    tags = ["reports"]

    @get(
        "/coverage.xlsx",
        operation_id="coverageReportXlsx",
        summary="Coverage report (xlsx): counties with a total row, townships on sheet 2",
        media_type=MEDIA_TYPES["xlsx"],
    )
    async def coverage_xlsx(
        self,
        actor: CurrentActor,
        as_of: FromQuery[str | None] = None,
        campaign: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        """County planners and the municipal centre."""
        content, filename = await reports.coverage_report(actor, as_of, campaign, "xlsx")
        return download(content, filename)

    @get(
        "/coverage.csv",
        operation_id="coverageReportCsv",
        summary="Coverage report (CSV, UTF-8 with BOM): counties + total, or townships",
        media_type=MEDIA_TYPES["csv"],
    )
    async def coverage_csv(
        self,
        actor: CurrentActor,
        as_of: FromQuery[str | None] = None,
        campaign: FromQuery[str | None] = None,
        level: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        """`level=county` (default, with a 全市合计 row) or `level=township`."""
        content, filename = await reports.coverage_report(actor, as_of, campaign, "csv", level)
        return download(content, filename)
