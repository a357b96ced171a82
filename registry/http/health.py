"""Health check, and a trivial route: the framework's own limit, measured by `registry bench`."""

from __future__ import annotations

import msgspec
from litestar import Controller, Request, get

from registry import __version__
from registry.db.binding import current
from registry.tables import Division


class Health(msgspec.Struct):
    status: str
    version: str
    database: str
    divisions: int
    # Today's coverage figures counted at start-up (the warm-up); None when the server does not
    # warm up. A load balancer may wait for true before sending readers.
    warm: bool | None = None


class HealthController(Controller):
    path = "/healthz"
    tags = ["health"]

    @get("/", operation_id="health", summary="Liveness and database check")
    async def health(self, request: Request) -> Health:
        count = await Division.count()
        ready = getattr(request.app.state, "warm_ready", None)
        warming = getattr(request.app.state, "warm_task", None) is not None
        return Health(
            status="ok",
            version=__version__,
            database=current().engine_type,
            divisions=count,
            warm=ready.is_set() if warming and ready is not None else None,
        )


class BenchController(Controller):
    path = "/api/bench"
    tags = ["health"]

    @get("/ping", operation_id="benchPing", summary="Trivial route (no database) for benchmarks")
    async def ping(self) -> dict[str, bool]:
        return {"pong": True}
