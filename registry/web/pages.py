"""HTML pages served by the registry itself (no CDN): the public dashboard and the work pages.

The work pages are public HTML; their data comes from the API with the sign-in token, and a
401 sends the browser back to ``/login``. Their scripts are ES modules sharing
``/static/common.js`` and the vocabulary ``/static/vocab.js``, which is generated from the Python
constants (:mod:`registry.web.vocab`). The agent page's service worker is served from the site
root so that it may control ``/agent``; it is given the list of files it caches (every module the
page imports) and a hash of their contents as its cache name, so a new release replaces them.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from litestar import Controller, MediaType, Request, get
from litestar.response import Response

from registry.web.vocab import vocab_etag, vocab_module

WEB = Path(__file__).resolve().parent
STATIC = WEB / "static"
VOCAB_URL = "/static/vocab.js"
# What the agent's service worker keeps for offline use (besides the matter catalogue): the page
# and every module it imports, directly or through common.js.
AGENT_SHELL = (
    "/agent",
    "/static/agent.js",
    "/static/common.js",
    VOCAB_URL,
    "/static/work.css",
)
NO_CACHE = {"Cache-Control": "no-cache"}
JAVASCRIPT = "text/javascript; charset=utf-8"


def _page(name: str) -> Response[bytes]:
    return Response((WEB / name).read_bytes(), media_type=MediaType.HTML, headers=NO_CACHE)


def shell_content(url: str) -> bytes:
    """What the server sends for one URL of :data:`AGENT_SHELL`."""
    if url == VOCAB_URL:
        return vocab_module()
    if url == "/agent":
        return (WEB / "agent.html").read_bytes()
    return (STATIC / url.removeprefix("/static/")).read_bytes()


@cache
def service_worker() -> bytes:
    """The agent page's service worker with its file list and cache version filled in."""
    digest = hashlib.sha256()
    for url in AGENT_SHELL:
        digest.update(shell_content(url))
    source = (STATIC / "agent-sw.js").read_text(encoding="utf-8")
    source = source.replace('["__SHELL__"]', json.dumps(list(AGENT_SHELL)))
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

    @get(VOCAB_URL, operation_id="pageVocabulary")
    async def vocab(self, request: Request) -> Response[bytes]:
        """The pages' vocabulary module; revalidated every time like the other static files."""
        etag = vocab_etag()
        headers = {**NO_CACHE, "ETag": etag}
        wanted = request.headers.get("if-none-match", "")
        if etag in (tag.strip().removeprefix("W/") for tag in wanted.split(",")):
            return Response(b"", status_code=304, media_type=JAVASCRIPT, headers=headers)
        return Response(vocab_module(), media_type=JAVASCRIPT, headers=headers)

    @get("/agent-sw.js", operation_id="agentServiceWorker")
    async def agent_worker(self) -> Response[bytes]:
        """The agent page's service worker (scope ``/agent``), never cached by HTTP."""
        return Response(
            service_worker(),
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/agent"},
        )
