"""ASGI middleware: request ids and security headers on every response; the checks before a
handler runs (date query parameters, the JSON content type of a body)."""

from __future__ import annotations

import random
import re

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.handlers import BaseRouteHandler
from litestar.params import BodyKwarg
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from registry.core import runtime
from registry.core.context import request_id
from registry.core.errors import BadRequest, RegistryError, UnsupportedMediaType
from registry.http.errors import error_body, status_of
from registry.http.params import check_query_dates

# Only our own origin: no CDN, no inline script (styles may be inline: Swagger UI needs it).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; worker-src 'self'; "
    "manifest-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
# Request ids only tell requests apart in the audit and the logs: drawn from a generator seeded
# from the system's randomness once, not from os.urandom per request (uuid4), which lets go of
# the GIL and, with SQLite's statements on threads, waited for it back (about 40 µs a request).
_REQUEST_IDS = random.Random()
_CONTROL_IN_PATH = re.compile(r"[\x00-\x1f\x7f]")
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(self)"),
]


_BAD_PATH = BadRequest(
    "invalid_path", "请求路径含有控制字符", "the request path contains control characters"
)
_BAD_QUERY = BadRequest(
    "invalid_query",
    "查询参数含有空字符（NUL）",
    "a query parameter contains a NUL character",
)


def _nul_in_query(scope: Scope) -> bool:
    """A NUL (``%00``) in the query string: no parameter needs one, and PostgreSQL text cannot
    hold one (the fuzzer's ``?campaign=%00…`` was a 500 there, a 422 on SQLite)."""
    query = scope.get("query_string", b"")
    return b"%00" in query or b"\x00" in query


async def _send_error(send: Send, error: RegistryError) -> None:
    body = msgspec.json.encode(error_body(error))
    await send(
        {
            "type": "http.response.start",
            "status": status_of(error),
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _request_id(scope: Scope) -> str:
    """The client's X-Request-ID when it is a short token, else a fresh one."""
    incoming = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
    usable = incoming.isascii() and 8 <= len(incoming) <= 64
    if usable and incoming.replace("-", "").replace("_", "").isalnum():
        return incoming
    return f"{_REQUEST_IDS.getrandbits(128):032x}"


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    """Give every request an id (for audit and logs) and every response security headers."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        rid = _request_id(scope)
        token = request_id.set(rid)
        # The app's runtime (engine, caches, limiters) for everything this request runs.
        active = runtime.activate(scope["app"].state.runtime)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in {name for name, _ in SECURITY_HEADERS}
                ]
                headers.append((b"x-request-id", rid.encode()))
                headers.extend(SECURITY_HEADERS)
                message["headers"] = headers
            await send(message)

        try:
            if _CONTROL_IN_PATH.search(scope.get("path", "")):
                # A NUL in a static file's name made os.stat raise (a 500); no path needs one.
                await _send_error(send_with_headers, _BAD_PATH)
            elif _nul_in_query(scope):
                await _send_error(send_with_headers, _BAD_QUERY)
            else:
                await app(scope, receive, send_with_headers)
        finally:
            runtime.deactivate(active)
            request_id.reset(token)

    return middleware


def takes_json_body(handler: BaseRouteHandler) -> bool:
    """Whether a route handler reads a JSON body (``data: JSONBody[...]``)."""
    field = handler.parsed_fn_signature.parameters.get("data")
    if field is None:
        return False
    kwarg = field.kwarg_definition
    return isinstance(kwarg, BodyKwarg) and kwarg.media_type == RequestEncodingType.JSON


def _is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def require_json_content_type(request: Request) -> None:
    """Refuse a body declared as anything but JSON where a JSON body is expected (415
    ``unsupported_media_type``), before it is parsed: ``text/plain`` or a form would otherwise
    be read as JSON, and a cross-site ``text/plain`` POST needs no CORS preflight. A request
    without a body (optional bodies) passes."""
    if request.method not in ("POST", "PUT", "PATCH") or not takes_json_body(request.route_handler):
        return
    content_type = request.headers.get("content-type")
    if content_type is not None and _is_json(content_type):
        return
    no_body = request.headers.get("content-length", "0") == "0"
    if content_type is None and no_body and "transfer-encoding" not in request.headers:
        return
    raise UnsupportedMediaType(
        "unsupported_media_type",
        f"请求体应为 JSON（Content-Type: application/json），收到 {content_type or '无'}",
        f"the body must be JSON (Content-Type: application/json), got {content_type or 'none'}",
        errors=[{"field": "content-type", "message": (content_type or "")[:100]}],
    )


async def before_request(request: Request) -> None:
    """The app's checks before a handler reads anything (after the guards: token and role):
    date query parameters within range, then a JSON body declared as JSON."""
    check_query_dates(request)
    await require_json_content_type(request)
