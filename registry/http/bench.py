"""A trivial route: the framework's own limit, measured by `registry bench`."""

from __future__ import annotations

from litestar import Controller, get


class BenchController(Controller):
    path = "/api/bench"
    tags = ["health"]

    @get("/ping", operation_id="benchPing", summary="Trivial route (no database) for benchmarks")
    async def ping(self) -> dict[str, bool]:
        return {"pong": True}
