"""OpenAPI: document the error responses every API route can give, in one place; say which
request bodies refuse unknown fields."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar import Litestar
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.openapi.spec import Schema
    from litestar.typing import FieldDefinition

from registry.http.middleware import takes_json_body
from registry.http.schemas import ErrorBody

_DESCRIPTIONS = {
    400: "Malformed request — code `malformed_json` (invalid JSON or UTF-8, NaN/Infinity), "
    "`nesting_too_deep`, `missing_body`, `invalid_path`, `bad_request`",
    401: "No, invalid or expired token — `not_authenticated`, `invalid_token`, `token_expired` "
    "(a write checks the token and the role before its body is read)",
    403: "Wrong role or scope — `wrong_role`, `out_of_scope`",
    404: "Not found — `*_not_found`, `not_found`",
    409: "Conflict with the current state — e.g. `site_exists`, `version_conflict`",
    413: "Request body too large — `body_too_large`",
    415: "The body is not declared as JSON (Content-Type) — `unsupported_media_type`",
    422: "Invalid input: a rule or a field is violated (stable `code`, field errors; a date "
    "query parameter outside 0001-01-02 … 9999-12-30: `date_out_of_range`)",
    429: "Too many requests — `login_throttled`, `sync_rate_limited`, `anonymous_rate_limited` "
    "(see Retry-After)",
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
                if status == 415 and not takes_json_body(handler):
                    continue
                responses.setdefault(
                    status,
                    ResponseSpec(
                        data_container=ErrorBody, description=description, generate_examples=False
                    ),
                )
            handler.responses = responses


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """A Struct declared with ``forbid_unknown_fields=True`` (every request body) is documented
    with ``additionalProperties: false``: the server refuses unknown fields (422
    ``unknown_field``), so the schema must not promise that it accepts them."""

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        config = getattr(field_definition.type_, "__struct_config__", None)
        if config is not None and config.forbid_unknown_fields:
            schema.additional_properties = False
        return schema
