"""Coverage per county, township and city, for any date, from the dated status events.

The capability's face: the API, the reports, the app's start-up and the other capabilities use
coverage through this module (and its rules and schemas) only. Behind it:

- :mod:`registry.coverage.sql`: the counting statements, set-based on both engines;
- :mod:`registry.coverage.cache`: the counts cached county by county, keyed by versions the
  database's triggers keep (the argument why a cached count is never stale is there);
- :mod:`registry.coverage.figures`: a unit's figures on a date, per township, the monthly
  series;
- :mod:`registry.coverage.areas`: every unit of an area on a date (kept, and updated after
  writes in a few counties);
- :mod:`registry.coverage.maps`: GeoJSON and the SVG choropleth;
- :mod:`registry.coverage.rules`: the maths on the counts (ratios, targets, projection).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from time import perf_counter

from registry.core import clock
from registry.coverage.areas import coverage
from registry.coverage.cache import counts_by, series_counts
from registry.coverage.figures import list_campaigns, timeseries, township_coverage
from registry.coverage.maps import coverage_geojson, coverage_svg

__all__ = [
    "counts_by",
    "coverage",
    "coverage_geojson",
    "coverage_svg",
    "keep_warm",
    "list_campaigns",
    "series_counts",
    "timeseries",
    "township_coverage",
    "warm",
]

log = logging.getLogger("registry.coverage")


async def warm() -> float:
    """Count today's figures (all counties, all townships) and monthly series of every campaign
    into the cache — building the step functions any later date is read from; returns the
    seconds it took. Run at startup in the background (a failure is
    logged: the readers then count for themselves)."""
    started = perf_counter()
    try:
        for campaign in (await list_campaigns()).items:
            await coverage(None, campaign.code)
            await timeseries(None, campaign.code)
            await township_coverage(None, campaign.code)
    except Exception:
        log.exception("coverage warm-up failed; the first readers count the figures")
    elapsed = perf_counter() - started
    log.info("coverage warm-up: %.2f s", elapsed)
    return elapsed


async def keep_warm(ready: asyncio.Event) -> None:
    """:func:`warm` now (``ready`` is set after it) and again a minute after every China
    midnight, when the figures' "today" moves on; runs until cancelled (at shutdown)."""
    while True:
        await warm()
        # What the warm-up built (the step functions, today's figures) lives until it is
        # replaced: out of the cyclic collector's sight, as the app's start-up does for its
        # modules and routes (each full collection walked it: 0.1–0.3 s pauses under load at
        # the nation). Refcounting still frees what is replaced.
        gc.collect()
        gc.freeze()
        ready.set()
        await asyncio.sleep(clock.seconds_to_next_day(clock.now()) + 60)
