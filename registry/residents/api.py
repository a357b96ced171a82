"""The residents' routes: ``GET /api/find``, the search page ``/find`` (and its service worker)
and a site's public page ``/s/{division_code}`` (server-rendered, no script needed).

No sign-in, public facts only. The pages are Chinese; their errors too (a 404 page in Chinese
for an unknown code), while the API answers errors as every other route does.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from litestar import Controller, MediaType, get
from litestar.params import FromPath, FromQuery
from litestar.response import Response

from registry.core.errors import NotFound, RegistryError
from registry.residents import page
from registry.residents import service as residents
from registry.residents.schemas import FindResult

WEB = Path(__file__).resolve().parents[1] / "web"
STATIC = WEB / "static"
# What the search page's service worker keeps: the page and everything it loads.
FIND_SHELL = ("/find", "/static/find.js", "/static/find.css")
NO_CACHE = {"Cache-Control": "no-cache"}


def _shell_content(url: str) -> bytes:
    if url == "/find":
        return (WEB / "find.html").read_bytes()
    return (STATIC / url.removeprefix("/static/")).read_bytes()


@cache
def find_worker() -> bytes:
    """The search page's service worker with its file list and cache version filled in."""
    digest = hashlib.sha256()
    for url in FIND_SHELL:
        digest.update(_shell_content(url))
    source = (STATIC / "find-sw.js").read_text(encoding="utf-8")
    source = source.replace('["__SHELL__"]', json.dumps(list(FIND_SHELL)))
    return source.replace("__SHELL_VERSION__", digest.hexdigest()[:12]).encode()


class FindController(Controller):
    path = "/api/find"
    tags = ["residents"]

    @get(
        "/",
        operation_id="findPlaces",
        summary="Find a village's or township's service point (residents, public)",
    )
    async def find(
        self,
        q: FromQuery[str | None] = None,
        lon: FromQuery[str | None] = None,
        lat: FromQuery[str | None] = None,
        crs: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
    ) -> FindResult:
        """Search villages, townships and counties by name, pinyin (`yangxipu`) or initials
        (`yxp`); with `lon`/`lat` (datum `crs`: wgs84 by default, gcj02 from Chinese map
        apps) also the nearest points in service. Each village comes with its agency point,
        its township's centre and, when it has no point in service, the nearest one.
        Errors: 422 `query_too_long`, `invalid_query`, `invalid_location`,
        `location_outside_root`."""
        return await residents.find(q, lon, lat, crs, limit)


class ResidentPageController(Controller):
    path = "/"
    include_in_schema = False

    @get("/find", operation_id="findPage")
    async def find_page(self, q: FromQuery[str | None] = None) -> Response[bytes]:
        """The search page; with ``?q=`` (the form sent without script) the answer is in it."""
        shell = (WEB / "find.html").read_bytes()
        if not q:
            # The resident types next: build the search index meanwhile (seconds at a
            # province).
            residents.warm()
            return Response(shell, media_type=MediaType.HTML, headers=NO_CACHE)
        status, result, problem = 200, None, None
        try:
            result = await residents.find(q)
        except RegistryError as exc:
            status, problem = 422, exc.zh
        html = page.find_page(shell.decode(), q[:60], result, problem)
        return Response(
            html.encode(), status_code=status, media_type=MediaType.HTML, headers=NO_CACHE
        )

    @get("/find-sw.js", operation_id="findServiceWorker")
    async def find_sw(self) -> Response[bytes]:
        """The search page's service worker (scope ``/find``), never cached by HTTP."""
        return Response(
            find_worker(),
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/find"},
        )

    @get("/s/{division_code:str}", operation_id="sitePublicPage")
    async def site_page(self, division_code: FromPath[str]) -> Response[bytes]:
        try:
            data = await residents.site_page(division_code)
        except NotFound:
            return Response(
                page.not_found_page(division_code).encode(),
                status_code=404,
                media_type=MediaType.HTML,
                headers=NO_CACHE,
            )
        return Response(page.site_page(data).encode(), media_type=MediaType.HTML, headers=NO_CACHE)
