"""create_app(): the Litestar application, its plugins, handlers, start-up and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from pathlib import Path
from typing import Any

import litestar_offline_docs
from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from registry import __version__
from registry.accounts.api import AccountController, AuthController
from registry.audit.api import AuditController
from registry.cases.api import (
    CalendarController,
    CaseController,
    MatterController,
    sync_router,
)
from registry.core import runtime
from registry.core.settings import Settings, get_settings, protect_var_dir
from registry.coverage import service as coverage
from registry.coverage.api import (
    CoverageController,
    CoverageGeoJSONController,
    MapController,
    ReportController,
)
from registry.db.binding import bind, migrate
from registry.db.engines import RegistrySQLiteEngine, close_engine, make_engine, open_engine
from registry.divisions.api import DivisionController, GeoController
from registry.http.deps import provide_actor
from registry.http.docs import OfflineSwagger
from registry.http.errors import exception_handler
from registry.http.guards import prepare_routes, write_guard
from registry.http.health import BenchController, HealthController
from registry.http.middleware import before_request, request_context_middleware
from registry.http.openapi import StrictStructSchemaPlugin, document_errors
from registry.http.static import StaticFileSystem
from registry.plans.api import PlanController
from registry.residents.api import FindController, ResidentPageController
from registry.sites.api import (
    SignageController,
    SignController,
    SiteController,
    SiteFactsController,
    SiteGeoJSONController,
)
from registry.transfer.api import ExportController, ImportController
from registry.web.pages import PageController

log = logging.getLogger("registry")
WEB = Path(__file__).resolve().parent / "web"
DOCS_ASSETS = Path(litestar_offline_docs.__file__).resolve().parent / "static"


GZIP_LEVEL = 4


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the registry's ASGI app for ``settings`` (environment by default)."""
    settings = settings or get_settings()
    # var/ (database, WAL, secret key) is its owner's only: 0700, the key 0600.
    protect_var_dir(settings.var_dir)
    state = runtime.Runtime(settings)
    engine = make_engine(settings.database_url)

    async def on_startup(app: Litestar) -> None:
        # The startup's background tasks (checkpoints, warm-up) inherit this context.
        runtime.activate(state)
        if settings.migrate_on_startup:
            await migrate(engine)
        bind(engine)
        await open_engine(engine)
        # What exists now (modules, routes, the OpenAPI schema …) lives as long as the server:
        # out of the collector's sight, a full collection no longer walks it. Those pauses
        # were the tail of the single-case POST latency (p99 85 → 52 ms, 64 connections).
        gc.collect()
        gc.freeze()
        app.state.checkpoint_task = None
        if isinstance(engine, RegistrySQLiteEngine) and settings.sqlite_checkpoint_seconds > 0:
            app.state.checkpoint_task = asyncio.get_running_loop().create_task(
                engine.run_checkpoints(settings.sqlite_checkpoint_seconds)
            )
        app.state.warm_task = None
        app.state.warm_ready = asyncio.Event()
        if settings.warm_on_startup:
            # In the background: the server answers at once; the first coverage readers find
            # today's figures counted (a request during the warm-up counts them itself), and
            # again after each China midnight.
            app.state.warm_task = asyncio.get_running_loop().create_task(
                coverage.keep_warm(app.state.warm_ready)
            )

    async def on_shutdown(app: Litestar) -> None:
        for task in (app.state.warm_task, app.state.checkpoint_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await close_engine(state.engine or engine)

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
        render_plugins=[OfflineSwagger()],
    )
    route_handlers: list[Any] = [
        HealthController,
        BenchController,
        DivisionController,
        GeoController,
        SiteController,
        SiteGeoJSONController,
        SignageController,
        SiteFactsController,
        SignController,
        PlanController,
        AuthController,
        AccountController,
        AuditController,
        CoverageController,
        CoverageGeoJSONController,
        MapController,
        ReportController,
        MatterController,
        CalendarController,
        CaseController,
        sync_router(settings.max_batch_body_bytes),
        ImportController,
        ExportController,
        PageController,
        FindController,
        ResidentPageController,
        create_static_files_router(
            path="/static/docs",
            directories=[DOCS_ASSETS],
            file_system=StaticFileSystem(),
            include_in_schema=False,
            name="docs-assets",
        ),
        create_static_files_router(
            path="/static",
            directories=[WEB / "static"],
            file_system=StaticFileSystem(),
            include_in_schema=False,
            name="web-assets",
            # Revalidate every time (ETag/Last-Modified answer 304): a new release's scripts
            # are picked up at once, and an unchanged file costs no transfer.
            cache_control=CacheControlHeader(no_cache=True),
        ),
    ]
    app = Litestar(
        route_handlers=route_handlers,
        dependencies={"actor": Provide(provide_actor)},
        exception_handlers={Exception: exception_handler},
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        openapi_config=openapi,
        middleware=[request_context_middleware],
        # Every write names its roles: token and role are checked before a body is read.
        guards=[write_guard],
        before_request=before_request,
        plugins=[StrictStructSchemaPlugin()],
        # Level 4, not Litestar's 9: the Hunan SVG map (770 kB) compresses in 8 ms instead of
        # 87 ms, 9 % larger (240 / 220 kB); every JSON response gains likewise.
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=1000, gzip_compress_level=GZIP_LEVEL
        ),
        request_max_body_size=settings.max_body_bytes,
        debug=False,
    )
    app.state.runtime = state
    prepare_routes(app)
    document_errors(app)
    return app
