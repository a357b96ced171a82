"""Health check, and a trivial route: the framework's own limit, measured by `registry bench`."""

from __future__ import annotations

import msgspec
from litestar import Controller, get

from registry import __version__
from registry.db.binding import current
from registry.tables import Division


class Health(msgspec.Struct):
    status: str
    version: str
    database: str
    divisions: int


class HealthController(Controller):
    path = "/healthz"
    tags = ["health"]

    @get("/", operation_id="health", summary="Liveness and database check")
    async def health(self) -> Health:
        count = await Division.count()
        return Health(
            status="ok", version=__version__, database=current().engine_type, divisions=count
        )


class BenchController(Controller):
    path = "/api/bench"
    tags = ["health"]

    @get("/ping", operation_id="benchPing", summary="Trivial route (no database) for benchmarks")
    async def ping(self) -> dict[str, bool]:
        return {"pong": True}
