"""Sites, their status events and history; signage check."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromQuery, JSONBody, QueryParameter

from registry.http.deps import CurrentActor, PathId
from registry.http.files import MEDIA_TYPES, download
from registry.sites import facts as site_facts
from registry.sites import history as site_history
from registry.sites import service as sites
from registry.sites import signs
from registry.sites.schemas import (
    SignageCheck,
    SignSummary,
    Site,
    SiteCreate,
    SiteFacts,
    SiteHistory,
    SiteList,
    SiteUpdate,
    StatusChange,
    StatusEvent,
)
from registry.sites.service import SiteFilters

PDF = "application/pdf"
SignLayout = Annotated[
    str | None,
    QueryParameter(description="horizontal (1200×400 mm, default) or vertical (400×1200 mm)"),
]


class SiteController(Controller):
    path = "/api/sites"
    tags = ["sites"]

    @get("/", operation_id="listSites", summary="List sites (public register)")
    async def list_sites(
        self,
        actor: CurrentActor,
        county: FromQuery[str | None] = None,
        township: FromQuery[str | None] = None,
        kind: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        signage_conforms: FromQuery[bool | None] = None,
        q: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
        offset: FromQuery[int] = 0,
    ) -> SiteList:
        filters = SiteFilters.parse(county, township, kind, status, signage_conforms, q)
        return await sites.list_sites(filters, limit, offset, actor)

    @post("/", operation_id="createSite", summary="Register a centre or agency point")
    async def create_site(self, actor: CurrentActor, data: JSONBody[SiteCreate]) -> Site:
        """Planners for their own county, the municipal centre for any. Coordinates in `crs`
        are stored as WGS-84; a point up to 200 m outside the county is accepted with a
        warning."""
        return await sites.create_site(actor, data)

    @get("/{site_id:int}", operation_id="getSite", summary="One site")
    async def get_site(self, actor: CurrentActor, site_id: PathId) -> Site:
        return await sites.get_site(site_id, actor)

    @patch("/{site_id:int}", operation_id="updateSite", summary="Edit a site (audited)")
    async def update_site(
        self, actor: CurrentActor, site_id: PathId, data: JSONBody[SiteUpdate]
    ) -> Site:
        return await sites.update_site(actor, site_id, data)

    @post(
        "/{site_id:int}/status",
        operation_id="changeSiteStatus",
        summary="Record a dated status change",
    )
    async def change_status(
        self, actor: CurrentActor, site_id: PathId, data: JSONBody[StatusChange]
    ) -> StatusEvent:
        return await sites.change_status(actor, site_id, data)

    @get(
        "/{site_id:int}/history",
        operation_id="getSiteHistory",
        summary="Status events and audited edits, oldest first",
    )
    async def history(self, actor: CurrentActor, site_id: PathId) -> SiteHistory:
        return await site_history.history(site_id, actor)


class SiteGeoJSONController(Controller):
    path = "/api/sites.geojson"
    tags = ["sites"]

    @get(
        "/",
        operation_id="sitesGeoJSON",
        summary="Sites as a GeoJSON FeatureCollection",
        media_type="application/geo+json",
    )
    async def sites_geojson(
        self,
        actor: CurrentActor,
        county: FromQuery[str | None] = None,
        township: FromQuery[str | None] = None,
        kind: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        signage_conforms: FromQuery[bool | None] = None,
        q: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        filters = SiteFilters.parse(county, township, kind, status, signage_conforms, q)
        return await sites.sites_geojson(filters, actor)


class SignageController(Controller):
    path = "/api/signage"
    tags = ["signage"]

    @get("/check", operation_id="checkSignage", summary="Compare a sign with the standard name")
    async def check(
        self, division_code: FromQuery[str], name: FromQuery[str | None] = None
    ) -> SignageCheck:
        return await sites.check_signage(division_code, name)


# ------------------------------------------------------------------------------ residents' facts
# and sign plates (registry/sites/facts.py, registry/sites/signs.py)


def _request_base(request: Request[Any, Any, Any]) -> str:
    return signs.public_base(str(request.base_url))


class SiteFactsController(Controller):
    path = "/api/sites"
    tags = ["sites"]

    @get(
        "/{site_id:int}/facts",
        operation_id="getSiteFacts",
        summary="A site's public facts: hours, open today, public phone, matters and guides",
    )
    async def facts(self, site_id: PathId, day: FromQuery[date | None] = None) -> SiteFacts:
        """Public. `day` (default today, China time) is the day `open_today` answers for:
        statutory holidays close the site, make-up working days open it with Monday's hours."""
        return await site_facts.site_facts(site_id, day)

    @get(
        "/{site_id:int}/sign.svg",
        operation_id="getSiteSignSvg",
        summary="The site's sign plate (SVG, real size in mm) with a QR code to its public page",
        media_type=MEDIA_TYPES["svg"],
    )
    async def sign_svg(
        self,
        request: Request[Any, Any, Any],
        site_id: PathId,
        layout: SignLayout = None,
    ) -> Response[bytes]:
        content, filename = await signs.sign(site_id, layout, _request_base(request), "svg")
        return download(content, filename, cache_control="no-cache")

    @get(
        "/{site_id:int}/sign.pdf",
        operation_id="getSiteSignPdf",
        summary="The site's sign plate (PDF, one page at real size) with a QR code",
        media_type=PDF,
    )
    async def sign_pdf(
        self,
        request: Request[Any, Any, Any],
        site_id: PathId,
        layout: SignLayout = None,
    ) -> Response[bytes]:
        content, filename = await signs.sign(site_id, layout, _request_base(request), "pdf")
        return download(content, filename, media=PDF, cache_control="no-cache")


class SignController(Controller):
    path = "/api/signs"
    tags = ["signage"]

    @get(
        "/orders.pdf",
        operation_id="signOrdersPdf",
        summary="Every missing or non-conforming plate of a county, one page each (PDF)",
        media_type=PDF,
    )
    async def orders_pdf(
        self,
        request: Request[Any, Any, Any],
        actor: CurrentActor,
        county: FromQuery[str | None] = None,
        layout: SignLayout = None,
    ) -> Response[bytes]:
        """The county's planners (their own county by default) and the municipal centre."""
        content, filename = await signs.orders_pdf(actor, county, layout, _request_base(request))
        return download(content, filename, media=PDF)

    @get(
        "/orders.xlsx",
        operation_id="signOrdersXlsx",
        summary="Order sheet of a county's missing or non-conforming plates (XLSX)",
        media_type=MEDIA_TYPES["xlsx"],
    )
    async def orders_xlsx(
        self,
        actor: CurrentActor,
        county: FromQuery[str | None] = None,
        layout: SignLayout = None,
    ) -> Response[bytes]:
        """Columns: 序号, 乡镇(街道), 站点编号, 区划代码, 标准名称, 现有标识, 问题, 版式,
        尺寸(毫米), 数量."""
        content, filename = await signs.orders_xlsx(actor, county, layout)
        return download(content, filename)

    @get(
        "/summary",
        operation_id="signSummary",
        summary="Plates each county still has to replace (missing + non-conforming)",
    )
    async def summary(self, actor: CurrentActor) -> SignSummary:
        """The municipal centre (every county of its scope); a planner sees their county."""
        return await signs.summary(actor)
