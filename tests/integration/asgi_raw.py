"""Send one request straight to the ASGI app, as a server would: from a chosen client address,
and counting what the app read of the body (tests of sign-in throttling per address and of
refusals before any body is read)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import ApiClient


@dataclass
class Answer:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    body_reads: int = 0  # how many times the app asked for the request body

    def json(self) -> Any:
        return json.loads(self.body)


async def _call(
    app: Any,
    method: str,
    path: str,
    body: bytes,
    address: str,
    headers: dict[str, str],
    chunks: int,
) -> Answer:
    answer = Answer()
    path, _, query = path.partition("?")
    size = max(1, -(-len(body) // max(1, chunks)))
    pieces = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    sent = 0

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [
            (b"host", b"testserver"),
            (b"content-length", str(len(body)).encode()),
            *((k.lower().encode(), v.encode()) for k, v in headers.items()),
        ],
        "client": (address, 40000),
        "server": ("testserver", 80),
    }

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent < len(pieces):
            answer.body_reads += 1
            sent += 1
            return {
                "type": "http.request",
                "body": pieces[sent - 1],
                "more_body": sent < len(pieces),
            }
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")

    await app(scope, receive, send)
    return answer


def request(
    client: ApiClient,
    method: str,
    path: str,
    body: Any = None,
    *,
    address: str = "203.0.113.1",
    headers: dict[str, str] | None = None,
    chunks: int = 1,
) -> Answer:
    """One request from ``address``; a dict or list body is sent as JSON."""
    headers = dict(headers or {})
    if body is None:
        raw = b""
    elif isinstance(body, bytes):
        raw = body
    else:
        raw = json.dumps(body, ensure_ascii=False).encode()
        headers.setdefault("content-type", "application/json")
    return client.run(lambda: _call(client.app, method, path, raw, address, headers, chunks))


def sign_in(client: ApiClient, username: str, password: str, address: str) -> Answer:
    return request(
        client,
        "POST",
        "/api/auth/token",
        {"username": username, "password": password},
        address=address,
    )
