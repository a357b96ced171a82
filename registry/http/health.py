"""Health check."""

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
