"""Dependencies shared by controllers."""

from __future__ import annotations

from litestar import Request
from litestar.di import NamedDependency

from registry.domain.access import Actor
from registry.services.auth import actor_from_authorization

# Handlers declare ``actor: CurrentActor`` to receive the signed-in actor.
CurrentActor = NamedDependency[Actor]


async def provide_actor(request: Request) -> Actor:
    """The signed-in actor (anonymous without a token; 401 for a bad one)."""
    return await actor_from_authorization(request.headers.get("authorization"))


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
