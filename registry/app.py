"""create_app(): the Litestar application, its plugins, handlers, start-up and shutdown."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import litestar_offline_docs
from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from registry import __version__
from registry.api.accounts import AccountController, AuditController, AuthController
from registry.api.bench import BenchController
from registry.api.deps import provide_actor
from registry.api.divisions import DivisionController, GeoController
from registry.api.health import HealthController
from registry.api.imports import ExportController, ImportController
from registry.api.pages import PageController
from registry.api.sites import (
    SignageController,
    SiteController,
    SiteGeoJSONController,
)
from registry.context import request_id
from registry.db import bind, close_engine, make_engine, migrate, open_engine
from registry.errors import exception_handler
from registry.services import boundaries
from registry.settings import Settings, get_settings, set_settings

log = logging.getLogger("registry")
WEB = Path(__file__).resolve().parent / "web"
DOCS_ASSETS = Path(litestar_offline_docs.__file__).resolve().parent / "static"


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Give every request an id (the client's X-Request-ID if sane) for audit and logs."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        incoming = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        rid = (
            incoming
            if incoming.isascii()
            and 8 <= len(incoming) <= 64
            and incoming.replace("-", "").isalnum()
            else uuid.uuid4().hex
        )
        token = request_id.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)

    return middleware


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the registry's ASGI app for ``settings`` (environment by default)."""
    settings = settings or get_settings()
    set_settings(settings)
    engine = make_engine(settings.database_url)

    async def on_startup(app: Litestar) -> None:
        if settings.migrate_on_startup:
            await migrate(engine)
        bind(engine)
        boundaries.invalidate()
        await open_engine(engine)

    async def on_shutdown(app: Litestar) -> None:
        await close_engine(engine)

    openapi = OpenAPIConfig(
        title="怀化便民服务登记 API / Huaihua convenience-service registry",
        version=__version__,
        path="/schema",
        description=(
            "Public register of township convenience service centres (便民服务中心) and village "
            "agency points (便民服务代办点). Errors: {status, code, detail, errors}."
        ),
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
            }
        ),
        security=[{"BearerToken": []}, {}],
        render_plugins=[
            SwaggerRenderPlugin(
                path="/",
                js_url="/static/docs/swagger-ui-bundle.js",
                css_url="/static/docs/swagger-ui.css",
                standalone_preset_js_url="/static/docs/swagger-ui-standalone-preset.js",
                favicon="<link rel='icon' href='data:,'>",
            )
        ],
    )
    route_handlers: list[Any] = [
        HealthController,
        BenchController,
        DivisionController,
        GeoController,
        SiteController,
        SiteGeoJSONController,
        SignageController,
        AuthController,
        AccountController,
        AuditController,
        ImportController,
        ExportController,
        PageController,
        create_static_files_router(
            path="/static/docs",
            directories=[DOCS_ASSETS],
            include_in_schema=False,
            name="docs-assets",
        ),
        create_static_files_router(
            path="/static", directories=[WEB / "static"], include_in_schema=False, name="web-assets"
        ),
    ]
    return Litestar(
        route_handlers=route_handlers,
        dependencies={"actor": Provide(provide_actor)},
        exception_handlers={Exception: exception_handler},
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        openapi_config=openapi,
        middleware=[request_id_middleware],
        compression_config=CompressionConfig(backend="gzip", minimum_size=1000),
        request_max_body_size=settings.max_body_bytes,
        debug=False,
    )
