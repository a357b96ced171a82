"""Login throttling: failed sign-ins counted per username and per client address within a
sliding window; the counters live on the runtime."""

from __future__ import annotations

import math
from collections import defaultdict, deque
from datetime import datetime, timedelta

from registry.core import clock, runtime
from registry.core.settings import get_settings


class LoginThrottle:
    """Counts failed logins per username and per client address within a sliding window."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[datetime]] = defaultdict(deque)

    def _prune(self, key: str, now: datetime, window: timedelta) -> deque[datetime]:
        entries = self._failures[key]
        while entries and now - entries[0] >= window:
            entries.popleft()
        return entries

    def retry_after(self, keys: list[str]) -> int:
        """Seconds to wait if any key is locked, else 0."""
        settings = get_settings()
        now = clock.now()
        window = timedelta(seconds=settings.login_window_seconds)
        wait = 0.0
        for key in keys:
            entries = self._prune(key, now, window)
            if len(entries) >= settings.login_max_failures:
                oldest = entries[len(entries) - settings.login_max_failures]
                wait = max(wait, (oldest + window - now).total_seconds())
        return math.ceil(wait) if wait > 0 else 0

    def fail(self, keys: list[str]) -> None:
        now = clock.now()
        for key in keys:
            self._failures[key].append(now)

    def succeed(self, username_key: str) -> None:
        self._failures.pop(f"user:{username_key}", None)

    def reset(self) -> None:
        self._failures.clear()


def throttle() -> LoginThrottle:
    """The deployment's login throttle."""
    return runtime.current().slot("accounts.login_throttle", LoginThrottle)
