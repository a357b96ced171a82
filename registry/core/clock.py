"""The registry's clock: UTC instants, and "today" in China (Asia/Shanghai).

Tests replace it with :func:`set_clock` (on the active runtime) instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from registry.core.runtime import active, current

CHINA = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """The current instant, timezone-aware UTC (the runtime's injected clock, if any)."""
    runtime = active()
    if runtime is not None and runtime.clock is not None:
        return runtime.clock()
    return datetime.now(UTC)


def today() -> date:
    """Today's date in China: day boundaries are those of Asia/Shanghai."""
    return now().astimezone(CHINA).date()


def china_date(instant: datetime) -> date:
    """The calendar date in China of an instant."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(CHINA).date()


def seconds_to_next_day(at: datetime) -> float:
    """Seconds from ``at`` to the next midnight in China (when :func:`today` changes)."""
    local = at.astimezone(CHINA)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=CHINA)
    return (midnight - local).total_seconds()


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Replace the active runtime's clock (None restores the system clock)."""
    current().clock = fn
