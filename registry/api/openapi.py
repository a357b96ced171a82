"""OpenAPI: document the error responses every API route can give, in one place."""

from __future__ import annotations

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec

from registry.schemas.common import ErrorBody

_DESCRIPTIONS = {
    400: "Malformed request (e.g. invalid JSON) — code `malformed_json`, `bad_request`",
    401: "No, invalid or expired token — `not_authenticated`, `invalid_token`, `token_expired`",
    403: "Wrong role or scope — `wrong_role`, `out_of_scope`",
    404: "Not found — `*_not_found`, `not_found`",
    409: "Conflict with the current state — e.g. `site_exists`, `version_conflict`",
    413: "Request body too large — `body_too_large`",
    422: "Invalid input: a rule or a field is violated (stable `code`, field errors)",
    429: "Too many requests — `login_throttled` (see Retry-After)",
}


def document_errors(app: Litestar) -> None:
    """Add the shared error body to every /api route's documented responses."""
    for route in app.routes:
        if not route.path.startswith("/api"):
            continue
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            responses = dict(handler.responses or {})
            for status, description in _DESCRIPTIONS.items():
                responses.setdefault(
                    status,
                    ResponseSpec(
                        data_container=ErrorBody, description=description, generate_examples=False
                    ),
                )
            handler.responses = responses
