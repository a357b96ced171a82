"""Dependencies shared by controllers."""

from __future__ import annotations

from typing import Annotated

from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.params import PathParameter

from registry.accounts.service import actor_from_authorization
from registry.core.access import Actor

# Handlers declare ``actor: CurrentActor`` to receive the signed-in actor.
CurrentActor = NamedDependency[Actor]

MAX_ID = 2**31 - 1
"""The largest row id: PostgreSQL's ``serial`` is a 32-bit integer. A larger id in a path
overflowed the database driver (a 500); now it names nothing before any query (404)."""

PathId = Annotated[int, PathParameter(ge=1, le=MAX_ID, description="row id, 1 to 2³¹−1")]


async def provide_actor(request: ASGIConnection) -> Actor:
    """The signed-in actor (anonymous without a token; 401 for a bad one).

    Resolved once per request: a guard that needed it first (the sync rate limit) leaves it
    in the request state for the handler."""
    actor = request.state.get("actor")
    if actor is None:
        actor = await actor_from_authorization(request.headers.get("authorization"))
        request.state["actor"] = actor
    return actor


def client_address(connection: ASGIConnection) -> str:
    """The client's address (behind a local reverse proxy, uvicorn takes it from
    ``X-Forwarded-For``): what the login throttle and the anonymous write limit count by."""
    return connection.client.host if connection.client else "unknown"
