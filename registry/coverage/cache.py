"""The counts of coverage, cached county by county on the runtime, keyed by trigger-kept versions.

Why a cached count is never stale:

- What a county's counts depend on is versioned by counters the database keeps itself, in the
  transaction of each write, whichever path writes (the API, an import, SQL of another
  process): ``county_activity`` (:class:`registry.tables.CountyActivity`) has one counter per
  county bumped by every status event, site or division write of the county (``''`` for the
  divisions above the counties); ``county_case_activity``
  (:class:`registry.tables.CountyCaseActivity`) one per county bumped by every case insert,
  delete, or change of site or ``received_at`` (what ``points_active`` depends on). Counters
  only grow.
- Each county's part of a count is kept with the versions it was counted under; a request
  reads the versions *before* counting, so a write landing meanwhile makes the next request
  recount, never keeps stale counts.
- Entries are keyed by the database they were read from: the cache never mixes two.

So a repeated request costs the versions read and a few dict look-ups, a status change
recounts its county only, and a new case recounts nothing but its county's active points.
The cache is the runtime's (``coverage.figures``), least recently used entries going first.

The counts but ``points_active`` are read from step functions (:mod:`registry.coverage.steps`,
the runtime's ``coverage.steps``), kept county by county under the same status versions: a
date never asked before is a binary search per unit, not a statement over the events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import date
from typing import Any

import msgspec

from registry.core import runtime
from registry.core.codes import county_of
from registry.core.runtime import LRU
from registry.coverage import rules as maths
from registry.coverage import sql
from registry.coverage import steps as step_functions
from registry.db.binding import current
from registry.db.engines import is_sqlite
from registry.tables import CountyActivity

# Entries are one county's part of a count (per date set and unit level): the nation's ~3,000
# counties need ~3,000 entries a date asked; 65,536 keep ~20 dates of the nation's counties and
# townships (an entry is a few hundred bytes to a few KB).
CACHE_SIZE = 65_536
# (database, unit) pairs whose step functions are kept.
STEPS_DATABASES = 8

PerDay = list[dict[str, Any]]
# County code ('' for the divisions above the counties) → (status writes, case writes).
Versions = dict[str, tuple[int, int]]

# One statement whose cost grows with the counties, never with the points or the cases: both
# counters are kept per county by triggers (migrations 2026-12-05T15:00 and 2026-12-06T15:00).
COUNTY_VERSIONS_SQL = """
SELECT ca.county_code, ca.writes, COALESCE(cc.writes, 0) AS case_writes
FROM county_activity ca
LEFT JOIN county_case_activity cc ON cc.county_code = ca.county_code
"""


def _cache() -> LRU:
    """The runtime's cache of counted figures (least recently used entries go first)."""
    return runtime.current().slot("coverage.figures", lambda: LRU(CACHE_SIZE))


def _database(engine: Any) -> str:
    """Which database an engine reads (the cache must never mix two databases)."""
    if is_sqlite(engine):
        return f"sqlite:{engine.path}"
    return "postgres:" + repr(sorted(engine.config.items()))


async def county_versions() -> Versions:
    """Each county's (status writes, case writes) counters; read before the counts they key,
    never after: a write landing in between makes the next request recount."""
    rows = await CountyActivity.raw(COUNTY_VERSIONS_SQL)
    return {r["county_code"]: (int(r["writes"]), int(r["case_writes"])) for r in rows}


async def per_county(
    key: tuple[Any, ...],
    versions: Versions,
    part: Callable[[tuple[int, int]], Any],
    county: str | None,
    n_days: int,
    compute: Callable[[list[str] | None], Awaitable[PerDay]],
) -> PerDay:
    """Values per unit and day, cached county by county.

    Each county's part is kept with ``part`` of the county's versions and of the divisions
    above the counties; the counties whose version changed (all of them on a first request)
    are recounted by one ``compute(counties)`` (``None``: every county, unfiltered).
    """
    above = part(versions.get("", (0, 0)))
    wanted = [county] if county else sorted(c for c in versions if c)
    parts: dict[str, PerDay] = {}
    stale: list[str] = []
    for code in wanted:
        version = (part(versions.get(code, (0, 0))), above)
        found = _cache().get((*key, code))
        if found is not None and found[0] == version:
            parts[code] = found[1]
        else:
            stale.append(code)
    if stale:
        everything = county is None and len(stale) == len(wanted)
        fresh = await compute(None if everything else stale)
        split: dict[str, PerDay] = {code: [{} for _ in range(n_days)] for code in stale}
        for i, per_unit in enumerate(fresh):
            for unit_code, value in per_unit.items():
                target = split.get(county_of(unit_code) or "")
                if target is not None:
                    target[i][unit_code] = value
        for code in stale:
            version = (part(versions.get(code, (0, 0))), above)
            _cache().put((*key, code), (version, split[code]))
            parts[code] = split[code]
    out: PerDay = [{} for _ in range(n_days)]
    for code in wanted:
        for i, per_unit in enumerate(parts[code]):
            out[i].update(per_unit)
    return out


def _steps_cache(engine: Any, unit: str) -> dict[str, tuple[Any, dict[str, Any]]]:
    """The runtime's step functions of one database and unit: county → (version, unit →
    steps). A few databases are kept (tests bind many), least recently used going first."""
    kept = runtime.current().slot("coverage.steps", lambda: LRU(STEPS_DATABASES))
    key = (_database(engine), unit)
    found = kept.get(key)
    if found is None:
        found = {}
        kept.put(key, found)
    return found


async def unit_steps(
    engine: Any, versions: Versions, unit: str, counties: list[str] | None
) -> dict[str, step_functions.UnitSteps]:
    """The step functions (:mod:`registry.coverage.steps`) of every unit of ``counties``
    (``None``: all), each county's kept with its status version and that of the divisions above
    the counties; the counties whose version moved (all on first use) are rebuilt by one
    statement (:func:`registry.coverage.sql.steps_on`) filtered to them.

    ``versions`` are read before the statement, so a write landing meanwhile leaves an entry
    older than its key and the next request rebuilds it, never keeps it.
    """
    kept = _steps_cache(engine, unit)
    above = versions.get("", (0, 0))[0]
    every = sorted(c for c in versions if c)
    wanted = every if counties is None else counties
    stale = [
        c
        for c in wanted
        if (found := kept.get(c)) is None or found[0] != (versions.get(c, (0, 0))[0], above)
    ]
    if stale:
        everything = len(stale) == len(every) and set(stale) == set(every)
        built = step_functions.build(
            await sql.steps_on(engine, unit, None if everything else stale)
        )
        split: dict[str, dict[str, step_functions.UnitSteps]] = {c: {} for c in stale}
        for code, steps in built.items():
            target = split.get(county_of(code) or "")
            if target is not None:
                target[code] = steps
        for code in stale:
            kept[code] = ((versions.get(code, (0, 0))[0], above), split[code])
    out: dict[str, step_functions.UnitSteps] = {}
    for code in wanted:
        out.update(kept[code][1])
    return out


def _status_part(v: tuple[int, int]) -> int:
    return v[0]


def _both(v: tuple[int, int]) -> tuple[int, int]:
    return v


async def counts_by(
    days: Sequence[date],
    unit: str,
    county: str | None = None,
    active: bool | Collection[date] = True,
) -> list[dict[str, maths.Counts]]:
    """Counts per unit (``county`` or ``township``) for each of ``days``.

    Everything but ``points_active`` is read from the step functions of the dated status
    events and division lives (:func:`unit_steps`, kept per county's status version: a status
    change rebuilds its county's only, a new case nothing), so a date never asked before costs
    a binary search per unit.
    ``points_active`` is counted on the days ``active`` names (all, none, or those dates; 0 on
    the others) by :func:`registry.coverage.sql.active_on`, kept per county's status and case
    versions (a case write recounts its county's points). Returns one dict per day (same
    order), unit code → counts; units with no existing division that day are absent.
    """
    if not days:
        return []
    engine = current()
    database = _database(engine)
    versions = await county_versions()
    # Read from the step functions on every request: a binary search per unit and day costs
    # less than keeping the values per county and days (and any date costs the same).
    counted = _counts_from_steps(engine, versions, days, unit, [county] if county else None)
    wanted = [
        i for i, d in enumerate(days) if active is True or (active is not False and d in active)
    ]
    if not wanted:
        return await counted
    active_days = tuple(days[i] for i in wanted)
    # The active points' statement starts first and runs (on SQLite in the connection's
    # thread) while the step functions are read here.
    found, out = await asyncio.gather(
        per_county(
            ("active", database, active_days, unit),
            versions,
            _both,
            county,
            len(active_days),
            lambda counties: sql.active_on(engine, active_days, unit, counties),
        ),
        counted,
    )
    for i, per_unit in zip(wanted, found, strict=True):
        for code, n in per_unit.items():
            if code in out[i]:
                out[i][code] = msgspec.structs.replace(out[i][code], points_active=n)
    return out


async def series_counts(
    start: date, as_of: date, unit: str, county: str | None = None
) -> list[dict[str, maths.Counts]]:
    """Counts per unit on each of ``series_days(start, as_of)`` (``points_active`` left 0), read
    from the step functions in one pass per unit (equal to
    :func:`registry.coverage.sql.series_on`). Cached like :func:`counts_by`."""
    days = maths.series_days(start, as_of)
    if not days:
        return []
    engine = current()
    versions = await county_versions()

    async def along(counties: list[str] | None) -> list[dict[str, maths.Counts]]:
        return step_functions.counts_along(await unit_steps(engine, versions, unit, counties), days)

    return await per_county(
        ("series", _database(engine), start, as_of, unit),
        versions,
        _status_part,
        county,
        len(days),
        along,
    )


async def _counts_from_steps(
    engine: Any,
    versions: Versions,
    days: Sequence[date],
    unit: str,
    counties: list[str] | None,
) -> list[dict[str, maths.Counts]]:
    """Counts but ``points_active`` per unit on each of ``days``, read from the step
    functions: equal to :func:`registry.coverage.sql.counts_on` (the tests hold them equal)."""
    return step_functions.counts_on(await unit_steps(engine, versions, unit, counties), days)
