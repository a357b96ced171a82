"""HTML pages served by the registry itself (no CDN)."""

from __future__ import annotations

from pathlib import Path

from litestar import Controller, MediaType, get
from litestar.response import Response

WEB = Path(__file__).resolve().parent.parent / "web"


def _page(name: str) -> Response[bytes]:
    return Response((WEB / name).read_bytes(), media_type=MediaType.HTML)


class PageController(Controller):
    path = "/"
    include_in_schema = False

    @get("/", operation_id="dashboardPage")
    async def dashboard(self) -> Response[bytes]:
        return _page("index.html")
