"""Shapes used by every resource."""

from __future__ import annotations

import msgspec


class FieldError(msgspec.Struct):
    """One problem with one input field."""

    field: str
    message: str


class ErrorBody(msgspec.Struct):
    """The body of every 4xx/5xx response."""

    status: int
    code: str
    detail: str
    errors: list[FieldError]
    detail_zh: str = ""
    detail_en: str = ""
