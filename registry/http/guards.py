"""Who may send a write, checked before any body is read.

Every write route (POST, PUT, PATCH, DELETE) names the roles that may call it — in the route
handler's ``opt={"roles": (...)}``, else in :data:`WRITE_ROLES` by operation id — and the app
refuses to start when one names none (:func:`prepare_routes`), so a new write route cannot be
forgotten. :func:`write_guard` runs before the framework reads the body: the token is checked
(401) and the role (403 ``wrong_role``) first, so an anonymous caller no longer makes the server
read and parse a 20 MB sync batch (or a 50 MB import) to be told 401. Scopes (which county,
which point) stay with the services, which check them as before.

The one write open to anonymous callers — signing in — is rate-limited per client address (a
token bucket in a runtime slot, :func:`anonymous_limiter`): each sign-in costs an Argon2id hash.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler

from registry.core import runtime
from registry.core.access import ROLES, require_role
from registry.core.ratelimit import TokenBucketLimiter
from registry.http.deps import client_address, provide_actor
from registry.http.params import OPT_KEY, temporal_query_parameters

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC = "public"
"""The roles of a write anyone may send (signing in)."""
ROLES_KEY = "registry.write_roles"

MUNICIPAL = ("municipal",)
COUNTY = ("municipal", "county_planner")
PLANNER = ("county_planner",)
AGENT = ("village_agent",)

WRITE_ROLES: dict[str, tuple[str, ...] | str] = {
    "issueToken": PUBLIC,
    "createUser": MUNICIPAL,
    "updateUser": MUNICIPAL,
    "createSite": COUNTY,
    "updateSite": COUNTY,
    "changeSiteStatus": COUNTY,
    # The county's planners write its plans; the municipal centre reviews them.
    "createPlan": PLANNER,
    "updatePlan": PLANNER,
    "submitPlan": PLANNER,
    "importPlan": PLANNER,
    "approvePlan": MUNICIPAL,
    "returnPlan": MUNICIPAL,
    "createMatter": MUNICIPAL,
    "updateMatter": MUNICIPAL,
    "putCalendarYear": MUNICIPAL,
    "createCase": AGENT,
    "updateCase": AGENT,
    "syncCases": AGENT,
    "importFile": COUNTY,
}
"""Roles per write route, by operation id (a handler's ``opt["roles"]`` takes precedence)."""


class UndeclaredWriteRoute(RuntimeError):
    """A write route that names no roles (a programming error, found when the app is built)."""


def _is_write(handler: HTTPRouteHandler) -> bool:
    return bool(WRITE_METHODS & set(handler.http_methods))


def roles_of(handler: HTTPRouteHandler) -> tuple[str, ...] | str | None:
    """The roles a write handler declares (its ``opt``, else the table), or None."""
    declared = handler.opt.get("roles")
    if declared is None and isinstance(handler.operation_id, str):
        declared = WRITE_ROLES.get(handler.operation_id)
    if isinstance(declared, list):
        declared = tuple(declared)
    return declared


def prepare_routes(app: Litestar) -> None:
    """Resolve, once, what every route handler's checks need: the roles of each write (the app
    refuses to start when a write route names none, or an unknown role) and the date query
    parameters (:mod:`registry.http.params`)."""
    missing = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            handler.opt[OPT_KEY] = temporal_query_parameters(handler)
            if not _is_write(handler):
                continue
            roles = roles_of(handler)
            if roles is None or (roles != PUBLIC and not set(roles) <= set(ROLES)):
                missing.append(f"{sorted(handler.http_methods)} {route.path}")
                continue
            handler.opt[ROLES_KEY] = roles
    if missing:
        raise UndeclaredWriteRoute(
            "write routes without declared roles (opt['roles'] or registry.http.guards."
            f"WRITE_ROLES): {', '.join(missing)}"
        )


def anonymous_limiter() -> TokenBucketLimiter:
    """The deployment's buckets of writes without a token (sign-ins), one per client address."""
    state = runtime.current()
    settings = state.settings
    return state.slot(
        "http.anonymous_writes",
        lambda: TokenBucketLimiter(
            "未登录的提交",
            "anonymous write",
            "anonymous_rate_limited",
            settings.anonymous_write_rate_per_minute,
            settings.anonymous_write_burst,
        ),
    )


async def write_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Before a write's body is read: a public write takes a token of its address's bucket
    (429 ``anonymous_rate_limited``); any other needs a valid token (401) of one of the
    route's roles (403 ``wrong_role``)."""
    if connection.scope.get("method") not in WRITE_METHODS:
        return
    roles = handler.opt.get(ROLES_KEY)
    if roles is None:  # a handler prepare_routes did not see: refuse rather than guess
        roles = roles_of(handler) if isinstance(handler, HTTPRouteHandler) else None
        if roles is None:
            raise UndeclaredWriteRoute(f"no roles declared for {connection.scope.get('path')}")
    if roles == PUBLIC:
        anonymous_limiter().take(client_address(connection))
        return
    actor = await provide_actor(connection)
    require_role(actor, *roles)
