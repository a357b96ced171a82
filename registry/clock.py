"""The registry's clock: UTC instants, and "today" in China (Asia/Shanghai).

Tests replace it with :func:`set_clock` instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """The current instant, timezone-aware UTC."""
    return _now()


def today() -> date:
    """Today's date in China: day boundaries are those of Asia/Shanghai."""
    return now().astimezone(CHINA).date()


def china_date(instant: datetime) -> date:
    """The calendar date in China of an instant."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(CHINA).date()


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Replace the clock (None restores the system clock)."""
    global _now
    _now = fn or (lambda: datetime.now(UTC))
