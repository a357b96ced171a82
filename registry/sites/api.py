"""Sites, their status events and history; signage check."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, patch, post
from litestar.params import FromQuery, JSONBody

from registry.http.deps import CurrentActor, PathId
from registry.sites import history as site_history
from registry.sites import service as sites
from registry.sites.schemas import (
    SignageCheck,
    Site,
    SiteCreate,
    SiteHistory,
    SiteList,
    SiteUpdate,
    StatusChange,
    StatusEvent,
)
from registry.sites.service import SiteFilters


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
