"""Helpers every service uses: pagination, enumerated filters, code parsing."""

from __future__ import annotations

from collections.abc import Iterable

from registry.core.codes import normalise_code
from registry.core.errors import RuleViolation

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
# Databases take a 64-bit OFFSET at most (SQLite's driver raises OverflowError beyond it).
MAX_OFFSET = 2**31 - 1


def page(limit: int | None, offset: int | None) -> tuple[int, int]:
    """Validated (limit, offset): limit 1–1000 (default 50), offset 0 to 2³¹−1."""
    limit = DEFAULT_LIMIT if limit is None else limit
    offset = 0 if offset is None else offset
    if not 1 <= limit <= MAX_LIMIT:
        raise RuleViolation(
            "invalid_limit",
            f"limit 应在 1 到 {MAX_LIMIT} 之间",
            f"limit must be between 1 and {MAX_LIMIT}",
            "limit",
        )
    if not 0 <= offset <= MAX_OFFSET:
        raise RuleViolation(
            "invalid_offset",
            f"offset 应在 0 到 {MAX_OFFSET} 之间",
            f"offset must be between 0 and {MAX_OFFSET}",
            "offset",
        )
    return limit, offset


def one_of(value: str | None, allowed: Iterable[str], field: str) -> str | None:
    """A filter value that must be one of ``allowed`` (None passes)."""
    if value is None or value == "":
        return None
    allowed = tuple(allowed)
    if value not in allowed:
        raise RuleViolation(
            "invalid_filter",
            f"{field} 取值无效：{value}（可选：{'、'.join(allowed)}）",
            f"invalid {field} {value!r}; one of {', '.join(allowed)}",
            field,
            allowed=list(allowed),
        )
    return value


def code_or_none(value: str | None, field: str) -> str | None:
    """A normalised 12-digit code, or None for a missing filter."""
    if value is None or value == "":
        return None
    return normalise_code(value, field=field)
