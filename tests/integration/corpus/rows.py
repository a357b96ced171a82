"""The corpus row: one bad request and the answer it must get."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Row:
    """One bad request: ``body`` is JSON (a dict/list/str…), raw bytes, or a callable giving
    bytes; placeholders like ``{site}`` are filled from the world's ids."""

    name: str
    method: str
    path: str
    who: str | None
    status: int
    code: str
    body: Any = None
    content_type: str | None = JSON_TYPE
    headers: dict[str, Any] = field(default_factory=dict)
    raw_path: bool = False  # sent as is to the ASGI app (no client-side URL normalisation)
