"""Login throttling without a lock anyone can pull (OWASP Authentication Cheat Sheet: "login
throttling", "account lockout"); the counters live on the runtime.

- **Per (account, client address) pair**: after ``REGISTRY_LOGIN_MAX_FAILURES`` failures (5)
  the pair waits 1 minute, and every further failure doubles the wait (2, 4, 8 …), capped at
  ``REGISTRY_LOGIN_WINDOW_SECONDS`` (15 minutes). A success clears the pair; so does a quiet day
  (no failure for :data:`FORGET_AFTER` after its last wait ends: forgetting sooner would hand a
  patient guesser five fresh tries each time). A guesser at one address gets about a dozen tries
  in the first hour and four an hour after.
- **Per client address**, across accounts: ``REGISTRY_LOGIN_ADDRESS_MAX_FAILURES`` failures (by
  default ten times the pair's) within a sliding window of ``REGISTRY_LOGIN_WINDOW_SECONDS``,
  then every sign-in from that address waits until the oldest failure leaves the window: one
  address cannot spray a common password over every account.
- **No lock of an account from everywhere**: failures from one address never stop the holder
  signing in from another, and one clerk's typos never lock the colleagues behind the same
  public address (their pairs are their own; the address budget is ten clerks' worth).
  When a pair starts waiting, the account holder is told in the audit trail (see tokens.py).

Unknown usernames are counted like known ones, so the answers tell nothing about which exist.
Attempts still being checked (an Argon2id hash takes a while) count as failures to come, so a
burst of parallel guesses cannot slip past the limit before the first failure is recorded.
State is per server process and forgotten on restart (docs/security.md).
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from registry.core import clock, runtime
from registry.core.errors import TooManyRequests
from registry.core.settings import get_settings

FIRST_WAIT_SECONDS = 60
"""A pair's first wait; each further failure doubles it, up to the window."""
FORGET_AFTER = timedelta(days=1)
"""A pair's failures are forgotten this long after its last wait ends (or its last failure)."""
MAX_ENTRIES = 50_000
"""Pairs or addresses kept before the forgotten ones are swept out."""


@dataclass
class _Pair:
    failures: int
    last_failure: datetime
    until: datetime  # the pair may try again from here (== last_failure when not waiting)


def pair_wait_seconds(failures: int, max_failures: int, cap_seconds: int) -> int:
    """The wait after ``failures`` failures in a row: none below ``max_failures``, then
    1 minute, doubling with each further failure, at most ``cap_seconds``."""
    if failures < max_failures:
        return 0
    exponent = min(failures - max_failures, 32)
    return max(0, min(FIRST_WAIT_SECONDS * 2**exponent, cap_seconds))


def minutes(seconds: int) -> int:
    """Whole minutes to tell a person (rounded up, at least 1)."""
    return max(1, math.ceil(seconds / 60))


def throttled(seconds: int) -> TooManyRequests:
    """429 ``login_throttled``: the wait in minutes in the message, seconds in Retry-After."""
    n = minutes(seconds)
    return TooManyRequests(
        "login_throttled",
        f"登录失败次数过多，请 {n} 分钟后再试",
        f"too many failed sign-ins; try again in {n} minute{'s' if n > 1 else ''}",
        retry_after=seconds,
    )


class LoginThrottle:
    """Failed sign-ins per (username, address) pair and per address."""

    def __init__(self) -> None:
        self._pairs: dict[tuple[str, str], _Pair] = {}
        self._addresses: dict[str, deque[datetime]] = {}
        # Attempts being checked now, per pair and per address (settled by fail/succeed).
        self._pending_pairs: Counter[tuple[str, str]] = Counter()
        self._pending_addresses: Counter[str] = Counter()

    # ----------------------------------------------------------------------------- reading

    def _pair(self, key: tuple[str, str], now: datetime) -> _Pair | None:
        pair = self._pairs.get(key)
        if pair is not None and now >= pair.until + FORGET_AFTER:
            del self._pairs[key]  # a quiet day after its last wait: forgotten
            return None
        return pair

    def _address(self, address: str, now: datetime, window: timedelta) -> deque[datetime]:
        entries = self._addresses.get(address)
        if entries is None:
            return deque()
        while entries and now - entries[0] >= window:
            entries.popleft()
        if not entries:
            del self._addresses[address]
        return entries

    def retry_after(self, username_key: str, address: str) -> int:
        """Seconds the pair or the address must wait before another attempt, else 0 (an
        attempt still being checked counts as a failure to come: 1 s)."""
        settings = get_settings()
        now = clock.now()
        window = timedelta(seconds=settings.login_window_seconds)
        key = (username_key, address)
        wait = 0.0
        pair = self._pair(key, now)
        if pair is not None and pair.until > now:
            wait = (pair.until - now).total_seconds()
        failures = pair.failures if pair is not None else 0
        pending = self._pending_pairs[key]
        if pending and failures + pending >= settings.login_max_failures:
            wait = max(wait, 1.0)
        entries = self._address(address, now, window)
        budget = settings.login_address_budget
        if budget > 0 and len(entries) >= budget:
            oldest = entries[len(entries) - budget]
            wait = max(wait, (oldest + window - now).total_seconds())
        elif budget > 0 and len(entries) + self._pending_addresses[address] >= budget:
            wait = max(wait, 1.0)
        return math.ceil(wait) if wait > 0 else 0

    def check(self, username_key: str, address: str) -> None:
        """Raise 429 ``login_throttled`` when the pair or the address must wait."""
        wait = self.retry_after(username_key, address)
        if wait:
            raise throttled(wait)

    @contextmanager
    def attempt(self, username_key: str, address: str) -> Iterator[None]:
        """One sign-in attempt: refused (429) when the pair or the address must wait, else
        counted as pending until the block ends (record its outcome with :meth:`fail` or
        :meth:`succeed` inside the block)."""
        self.check(username_key, address)
        key = (username_key, address)
        self._pending_pairs[key] += 1
        self._pending_addresses[address] += 1
        try:
            yield
        finally:
            for counter, item in ((self._pending_pairs, key), (self._pending_addresses, address)):
                counter[item] -= 1
                if counter[item] <= 0:
                    del counter[item]

    # ----------------------------------------------------------------------------- writing

    def fail(self, username_key: str, address: str) -> tuple[int, int]:
        """Count a failure; returns (failures of the pair in a row, seconds it now waits)."""
        settings = get_settings()
        now = clock.now()
        window = timedelta(seconds=settings.login_window_seconds)
        self._sweep(now, window)
        key = (username_key, address)
        pair = self._pair(key, now)
        failures = 1 if pair is None else pair.failures + 1
        wait = pair_wait_seconds(
            failures, settings.login_max_failures, settings.login_window_seconds
        )
        self._pairs[key] = _Pair(failures, now, now + timedelta(seconds=wait))
        self._address(address, now, window)  # drop the old entries first
        self._addresses.setdefault(address, deque()).append(now)
        return failures, wait

    def succeed(self, username_key: str, address: str) -> None:
        """A right password from this address: the pair starts afresh (the address's
        failures stay counted: a sprayer who guesses one password is not forgiven the rest)."""
        self._pairs.pop((username_key, address), None)

    def _sweep(self, now: datetime, window: timedelta) -> None:
        if len(self._pairs) > MAX_ENTRIES:
            for key in [k for k, p in self._pairs.items() if now >= p.until + FORGET_AFTER]:
                del self._pairs[key]
        if len(self._addresses) > MAX_ENTRIES:
            for address in list(self._addresses):
                self._address(address, now, window)

    def reset(self) -> None:
        self._pairs.clear()
        self._addresses.clear()
        self._pending_pairs.clear()
        self._pending_addresses.clear()


def throttle() -> LoginThrottle:
    """The deployment's login throttle."""
    return runtime.current().slot("accounts.login_throttle", LoginThrottle)
