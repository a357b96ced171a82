"""Rate limits: a token bucket per key (e.g. per agent account for case sync).

A bucket holds up to ``burst`` tokens and refills at ``rate_per_minute``; each request takes
one token, and a request finding the bucket empty is refused with 429 and ``Retry-After`` (the
seconds until a token is back). Time comes from :mod:`registry.core.clock`, so tests freeze it
instead of sleeping. Buckets live in the server process (one per app): a deployment with
several worker processes multiplies the limit by their number.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime

from registry.core import clock
from registry.core.errors import TooManyRequests


@dataclass
class _Bucket:
    tokens: float
    at: datetime


class TokenBucketLimiter:
    """Token buckets keyed by an account id (or any hashable key).

    Args:
        zh: what is limited, in Chinese, for the error message (e.g. ``事项同步``).
        en: the same in English (e.g. ``case sync``).
        code: the stable error code of the 429 (e.g. ``sync_rate_limited``).
        rate_per_minute: tokens added per minute; 0 or less disables the limit.
        burst: bucket size: how many requests may come at once after a quiet spell.
    """

    # Idle buckets are dropped once this many exist (a full bucket carries no state).
    MAX_BUCKETS = 10_000

    def __init__(self, zh: str, en: str, code: str, rate_per_minute: float, burst: int) -> None:
        self.zh = zh
        self.en = en
        self.code = code
        self.rate = rate_per_minute / 60.0
        self.burst = max(1, burst)
        self._buckets: dict[object, _Bucket] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def _refilled(self, bucket: _Bucket, now: datetime) -> float:
        elapsed = max(0.0, (now - bucket.at).total_seconds())
        return min(float(self.burst), bucket.tokens + elapsed * self.rate)

    def take(self, key: object) -> None:
        """Take one token for ``key`` or raise 429 ``self.code`` with Retry-After."""
        if not self.enabled:
            return
        now = clock.now()
        with self._lock:
            bucket = self._buckets.get(key)
            tokens = float(self.burst) if bucket is None else self._refilled(bucket, now)
            if tokens >= 1.0:
                if bucket is None and len(self._buckets) >= self.MAX_BUCKETS:
                    self._drop_full(now)
                self._buckets[key] = _Bucket(tokens - 1.0, now)
                return
            self._buckets[key] = _Bucket(tokens, now)
            wait = math.ceil((1.0 - tokens) / self.rate)
        per_minute = round(self.rate * 60)
        raise TooManyRequests(
            self.code,
            f"{self.zh}过于频繁（每分钟最多 {per_minute} 次），请 {wait} 秒后再试",
            f"too many {self.en} requests (at most {per_minute} a minute); retry in {wait} s",
            retry_after=wait,
        )

    def _drop_full(self, now: datetime) -> None:
        for key in [k for k, b in self._buckets.items() if self._refilled(b, now) >= self.burst]:
            del self._buckets[key]

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
