"""ASGI middleware: request ids and security headers on every response."""

from __future__ import annotations

import uuid

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from registry.context import request_id

# Only our own origin: no CDN, no inline script (styles may be inline: Swagger UI needs it).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; worker-src 'self'; "
    "manifest-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(self)"),
]


def _request_id(scope: Scope) -> str:
    """The client's X-Request-ID when it is a short token, else a fresh one."""
    incoming = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
    usable = incoming.isascii() and 8 <= len(incoming) <= 64
    if usable and incoming.replace("-", "").replace("_", "").isalnum():
        return incoming
    return uuid.uuid4().hex


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    """Give every request an id (for audit and logs) and every response security headers."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        rid = _request_id(scope)
        token = request_id.set(rid)

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
            await app(scope, receive, send_with_headers)
        finally:
            request_id.reset(token)

    return middleware
