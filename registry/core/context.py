"""Per-request context kept in contextvars (set by the request middleware)."""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="")
