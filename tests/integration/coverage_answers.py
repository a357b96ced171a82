"""Helpers of the tests of kept coverage answers: which counties an update counted again,
and forgetting the kept answers (the next one is built from nothing)."""

from __future__ import annotations

from typing import Any


def updated_counties(monkeypatch: Any) -> list[list[str]]:
    """The counties each update of a kept answer counts again, recorded while the real
    :func:`registry.coverage.cache.county_counts` runs."""
    from registry.coverage import cache

    calls: list[list[str]] = []
    real = cache.county_counts

    async def spy(days, counties, active_on, versions):
        calls.append(sorted(counties))
        return await real(days, counties, active_on, versions)

    monkeypatch.setattr(cache, "county_counts", spy)
    return calls


def forget_answers(client: Any) -> None:
    """Drop the app's kept coverage answers."""
    from registry.core import runtime
    from registry.core.runtime import LRU

    async def forget() -> None:
        runtime.current().slot("coverage.answers", lambda: LRU(1)).clear()

    client.run(forget)
