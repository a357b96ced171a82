"""HTML pages served by the registry itself (no CDN): the public dashboard and the work pages.

The work pages are public HTML; their data comes from the API with the sign-in token, and a
401 sends the browser back to ``/login``. The agent page's service worker is served from the
site root so that it may control ``/agent``; its cache name carries a hash of the files it
caches, so a new release replaces the cached copies.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from litestar import Controller, MediaType, get
from litestar.response import Response

WEB = Path(__file__).resolve().parent
STATIC = WEB / "static"
# What the agent's service worker keeps for offline use (besides the matter catalogue).
AGENT_SHELL = ("agent.html", "static/common.js", "static/agent.js", "static/work.css")
NO_CACHE = {"Cache-Control": "no-cache"}


def _page(name: str) -> Response[bytes]:
    return Response((WEB / name).read_bytes(), media_type=MediaType.HTML, headers=NO_CACHE)


@cache
def _agent_worker() -> bytes:
    digest = hashlib.sha256()
    for name in AGENT_SHELL:
        digest.update((WEB / name).read_bytes())
    source = (STATIC / "agent-sw.js").read_text(encoding="utf-8")
    return source.replace("__SHELL_VERSION__", digest.hexdigest()[:12]).encode()


class PageController(Controller):
    path = "/"
    include_in_schema = False

    @get("/", operation_id="dashboardPage")
    async def dashboard(self) -> Response[bytes]:
        return _page("index.html")

    @get("/login", operation_id="loginPage")
    async def login(self) -> Response[bytes]:
        return _page("login.html")

    @get("/agent", operation_id="agentPage")
    async def agent(self) -> Response[bytes]:
        return _page("agent.html")

    @get("/planner", operation_id="plannerPage")
    async def planner(self) -> Response[bytes]:
        return _page("planner.html")

    @get("/municipal", operation_id="municipalPage")
    async def municipal(self) -> Response[bytes]:
        return _page("municipal.html")

    @get("/agent-sw.js", operation_id="agentServiceWorker")
    async def agent_worker(self) -> Response[bytes]:
        """The agent page's service worker (scope ``/agent``), never cached by HTTP."""
        return Response(
            _agent_worker(),
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/agent"},
        )
