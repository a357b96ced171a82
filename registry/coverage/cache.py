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

Whole answers (every unit's figures of an area on a date, a series) are kept too
(:func:`answered`, the runtime's ``coverage.answers``), under all the county versions and the
plans' counter ``plan_activity`` (:class:`registry.tables.PlanActivity`, bumped by triggers on
every plan and plan item write that changes what the targets read: they come from the approved
plans). A repeated question
costs the versions read and one comparison; any write anywhere builds the next answer again
(from the cached counts: only the changed county is counted again).

The counts but ``points_active`` are read from step functions (:mod:`registry.coverage.steps`,
the runtime's ``coverage.steps``), kept county by county under the same status versions: a
date never asked before is a binary search per unit, not a statement over the events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Sequence
from contextvars import ContextVar
from datetime import date
from typing import Any, TypeVar

import msgspec
import numpy as np

from registry.core import runtime
from registry.core.codes import county_of
from registry.core.runtime import LRU
from registry.coverage import rules as maths
from registry.coverage import sql
from registry.coverage import steps as step_functions
from registry.db.binding import current
from registry.db.engines import is_sqlite
from registry.tables import CountyActivity, PlanActivity

# Entries are one county's part of a count (per date set and unit level): the nation's ~3,000
# counties need ~3,000 entries a date asked; 65,536 keep ~20 dates of the nation's counties and
# townships (an entry is a few hundred bytes to a few KB).
CACHE_SIZE = 65_536
# Counties whose step functions are built by one statement, at most.
LOAD_COUNTIES = 200
# (database, unit) pairs whose step functions are kept (counts and points_active).
STEPS_DATABASES = 12
# The case days of the last counties' agency points kept for their active points' next
# rebuild (see _case_days), for rebuilds of at most CASE_DAYS_COUNTIES counties.
CASE_DAYS_KEPT = 64
CASE_DAYS_COUNTIES = 8

# Whole answers kept (an answer at the nation is a few MB of objects, most of them shared with
# the memoised unit figures). 32: a reader who browses ten dates (their coverage and series)
# after the warm-up's answers still finds today's answer kept, to update after a write (with
# 12 it was pushed out, and the first answer after a status change was built again).
ANSWERS = 32

T = TypeVar("T")
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


# The versions an answer being built was read under (see answered): what it reads while it
# is built is keyed by them too, not read again (one read of ~3,000 rows per answer, not four).
_BUILDING: ContextVar[Versions | None] = ContextVar("coverage_versions", default=None)


async def county_versions() -> Versions:
    """Each county's (status writes, case writes) counters; read before the counts they key,
    never after: a write landing in between makes the next request recount. While an answer
    is built, the ones it was read under (read before it too)."""
    building = _BUILDING.get()
    if building is not None:
        return building
    rows = await CountyActivity.raw(COUNTY_VERSIONS_SQL)
    return {r["county_code"]: (int(r["writes"]), int(r["case_writes"])) for r in rows}


async def plans_version() -> int:
    """The plans' write counter (0 on a database without plans written since the counter)."""
    rows = await PlanActivity.raw("SELECT writes FROM plan_activity WHERE id = 1")
    return int(rows[0]["writes"]) if rows else 0


async def answered(
    key: tuple[Any, ...],
    build: Callable[[], Awaitable[T]],
    update: Callable[[T, list[str], Versions], Awaitable[T | None]] | None = None,
) -> T:
    """The answer ``build()`` gives for ``key`` (hashable: what the question is, with every
    input that is not in the database, e.g. the date and the campaign), kept under the county
    versions and the plans' version read *before* building: a write landing meanwhile leaves
    an entry older than its key, which the next request builds again. Answers are shared, so
    callers must not change them.

    With ``update``: when only a few counties' versions moved since the kept answer (the
    plans', the divisions above the counties' and the set of counties the same),
    ``update(kept, counties, versions)`` makes the new answer from the kept one (None: it
    cannot, and the answer is built again), reading under ``versions``, the ones the new
    answer is kept under."""
    versions = await county_versions()
    fingerprint = (versions, await plans_version())
    kept = runtime.current().slot("coverage.answers", lambda: LRU(ANSWERS))
    full_key = (_database(current()), *key)
    found = kept.get(full_key)
    if found is not None and found[0] == fingerprint:
        return found[1]
    value = None
    token = _BUILDING.set(versions)
    try:
        if found is not None and update is not None:
            changed = _changed(found[0], fingerprint)
            if changed is not None:
                value = await update(found[1], changed, versions)
        if value is None:
            value = await build()
    finally:
        _BUILDING.reset(token)
    kept.put(full_key, (fingerprint, value))
    return value


async def divisions_read(key: tuple[Any, ...], read: Callable[[], Awaitable[T]]) -> T:
    """What ``read()`` gives of the divisions (an area's units and their lifetimes, names),
    kept for ``key`` until a division, site or status write (the counties' status writes,
    read *before* reading; case writes leave it): a date never asked before reads the
    nation's ~3,300 county-level units and their 41,000 townships once, not on every date.
    Shared: callers must not change what it returns."""
    versions = await county_versions()
    fingerprint = {code: writes for code, (writes, _) in versions.items()}
    kept = runtime.current().slot("coverage.divisions", lambda: LRU(DIVISION_READS))
    full_key = (_database(current()), *key)
    found = kept.get(full_key)
    if found is not None and found[0] == fingerprint:
        return found[1]
    value = await read()
    kept.put(full_key, (fingerprint, value))
    return value


# Reads of the divisions kept (areas' units and names; tests bind many databases).
DIVISION_READS = 32


# Counties whose versions moved, at most, for an answer to be updated rather than built again.
UPDATE_COUNTIES = 16


def _changed(before: tuple[Versions, int], after: tuple[Versions, int]) -> list[str] | None:
    """The counties whose versions moved from ``before`` to ``after`` (fingerprints of
    :func:`answered`), or None when more changed: the plans, the divisions above the counties
    (``''``), the set of counties, or more than :data:`UPDATE_COUNTIES` counties."""
    (old, old_plans), (new, new_plans) = before, after
    if old_plans != new_plans or old.keys() != new.keys() or old.get("") != new.get(""):
        return None
    changed = [code for code, version in new.items() if old[code] != version]
    return changed if len(changed) <= UPDATE_COUNTIES else None


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


async def _kept_by_county(
    engine: Any,
    name: str,
    versions: Versions,
    part: Callable[[tuple[int, int]], Any],
    counties: list[str] | None,
    load: Callable[[list[str] | None], Awaitable[dict[str, T]]],
) -> dict[str, T]:
    """Per-unit values (step functions) of ``counties`` (``None``: all), each county's kept
    with ``part`` of its versions and of the divisions above the counties; the counties whose
    version moved (all on first use) are loaded again by one ``load(counties)`` (``None``:
    every county, unfiltered).

    ``versions`` are read before loading, so a write landing meanwhile leaves an entry older
    than its key and the next request loads it again, never keeps it.
    """
    kept = _steps_cache(engine, name)
    above = part(versions.get("", (0, 0)))
    every = sorted(c for c in versions if c)
    wanted = every if counties is None else counties

    def version(code: str) -> tuple[Any, Any]:
        return part(versions.get(code, (0, 0))), above

    stale = [c for c in wanted if (found := kept.get(c)) is None or found[0] != version(c)]
    if len(stale) > LOAD_COUNTIES:
        # Many counties (the nation's first use): loaded a few hundred at a time, so the rows
        # in memory at once stay a few hundred counties' (all the nation's rows at once
        # were ~1 GB of transient objects, which the allocator then kept).
        chunks: list[list[str] | None] = [
            stale[n : n + LOAD_COUNTIES] for n in range(0, len(stale), LOAD_COUNTIES)
        ]
    elif stale:
        everything = len(stale) == len(every) and set(stale) == set(every)
        chunks = [None if everything else stale]
    else:
        chunks = []
    for chunk in chunks:
        built = await load(chunk)
        split: dict[str, dict[str, T]] = {c: {} for c in (stale if chunk is None else chunk)}
        for code, value in built.items():
            target = split.get(county_of(code) or "")
            if target is not None:
                target[code] = value
        for code, values in split.items():
            kept[code] = (version(code), values)
    out: dict[str, T] = {}
    for code in wanted:
        out.update(kept[code][1])
    return out


async def unit_steps(
    engine: Any, versions: Versions, unit: str, counties: list[str] | None
) -> dict[str, step_functions.UnitSteps]:
    """The step functions (:mod:`registry.coverage.steps`) of every unit of ``counties``
    (``None``: all), kept per county's status version: the counties whose version moved are
    rebuilt by one statement (:func:`registry.coverage.sql.steps_on`) filtered to them."""

    async def load(stale: list[str] | None) -> dict[str, step_functions.UnitSteps]:
        return step_functions.build(await sql.steps_on(engine, unit, stale))

    return await _kept_by_county(engine, unit, versions, _status_part, counties, load)


async def active_steps(
    engine: Any, versions: Versions, unit: str, counties: list[str] | None
) -> dict[str, step_functions.CountSteps]:
    """``points_active`` of every unit of ``counties`` as step functions
    (:func:`registry.coverage.steps.build_active`), kept per county's status and case
    versions: a case or status write rebuilds its county's only."""

    async def load(stale: list[str] | None) -> dict[str, step_functions.CountSteps]:
        if stale is not None and len(stale) <= CASE_DAYS_COUNTIES:
            spans = await sql.in_service_spans(engine, unit, stale)
            in_service = step_functions.in_service_of(spans)
            case_site, case_day = await _case_days(engine, versions, stale)
        else:
            spans = await sql.in_service_spans(engine, unit, stale)
            days = await sql.case_days(engine, stale)
            in_service, case_site, case_day = step_functions.active_inputs(spans, days)
        return step_functions.build_active(
            in_service, case_site, case_day, maths.ACTIVE_WINDOW_DAYS
        )

    return await _kept_by_county(engine, f"active:{unit}", versions, _both, counties, load)


async def _case_days(engine: Any, versions: Versions, counties: list[str]) -> tuple[Any, Any]:
    """The case days (sites, day ordinals) of the agency points of a few ``counties``, kept
    county by county per the county's case version and its points: a status change rebuilds
    a county's active points from its spans and these days, without reading its cases again
    (the read was most of an answer after a status change), and a county's two units (county,
    township) share one read. A case write moves its county's case version; a point added,
    moved or made another kind changes the points."""
    points: dict[str, list[int]] = {c: [] for c in counties}
    for site, county in await sql.point_counties(engine, counties):
        points[county].append(site)
    kept = runtime.current().slot("coverage.case_days", lambda: LRU(CASE_DAYS_KEPT))
    database = _database(engine)
    above = versions.get("", (0, 0))

    def key(county: str) -> tuple[Any, ...]:
        version = versions.get(county, (0, 0))[1]
        return (database, county, version, above, tuple(points[county]))

    found = {c: kept.get(key(c)) for c in counties}
    missing = [c for c, days in found.items() if days is None]
    if missing:
        site, day = step_functions.case_days_of(await sql.case_days(engine, missing))
        county_of_site = {s: c for c in missing for s in points[c]}
        owner = np.array([county_of_site.get(int(s), "") for s in site], dtype=object)
        for county in missing:
            mine = owner == county
            days = (site[mine], day[mine])
            for array in days:
                array.flags.writeable = False  # shared by the rebuilds that find them
            kept.put(key(county), days)
            found[county] = days
    return (
        np.concatenate([found[c][0] for c in counties]),
        np.concatenate([found[c][1] for c in counties]),
    )


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
    ``points_active`` is given on the days ``active`` names (all, none, or those dates; 0 on
    the others): for counties from their step functions (:func:`active_steps`), for townships
    counted by :func:`registry.coverage.sql.active_on`; both kept per county's status and case
    versions (a case write recounts its county's points). Returns one dict per day (same
    order), unit code → counts; units with no existing division that day are absent.
    """
    if not days:
        return []
    engine = current()
    database = _database(engine)
    versions = await county_versions()
    counties = [county] if county else None
    wanted = [
        i for i, d in enumerate(days) if active is True or (active is not False and d in active)
    ]
    if unit == "county":
        # Counties: points_active from their step functions too (a binary search per county).
        return await _county_counts(engine, versions, days, counties, wanted)
    # Read from the step functions on every request: a binary search per unit and day costs
    # less than keeping the values per county and days (and any date costs the same).
    counted = _counts_from_steps(engine, versions, days, unit, counties)
    if not wanted:
        return await counted
    active_days = tuple(days[i] for i in wanted)
    # Townships (41,000 at the nation, asked for all rarely): the active points' statement
    # starts first and runs (on SQLite in the connection's
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


async def county_counts(
    days: Sequence[date], counties: list[str], active_on: date, versions: Versions
) -> list[dict[str, maths.Counts]]:
    """:func:`counts_by` of the county-level units ``counties`` (``points_active`` on the day
    ``active_on`` only), their step functions read (or built) together, kept under
    ``versions`` (read by the caller before)."""
    wanted = [i for i, d in enumerate(days) if d == active_on]
    return await _county_counts(current(), versions, days, counties, wanted)


async def _county_counts(
    engine: Any,
    versions: Versions,
    days: Sequence[date],
    counties: list[str] | None,
    wanted: list[int],
) -> list[dict[str, maths.Counts]]:
    """Counts of the county-level units of ``counties`` (``None``: all) on each of ``days``,
    with ``points_active`` on the days of index ``wanted`` (0 on the others), all from their
    step functions."""
    out = await _counts_from_steps(engine, versions, days, "county", counties)
    if not wanted:
        return out
    steps = await active_steps(engine, versions, "county", counties)
    for i in wanted:
        ordinal = days[i].toordinal()
        for code, counts in out[i].items():
            found = steps.get(code)
            n = found.on(ordinal) if found is not None else 0
            out[i][code] = msgspec.structs.replace(counts, points_active=n)
    return out


async def series_counts(
    start: date, as_of: date, unit: str, county: str | None = None
) -> list[dict[str, maths.Counts]]:
    """Counts per unit on each of ``series_days(start, as_of)`` (``points_active`` left 0), read
    from the step functions in one pass per unit (equal to
    :func:`registry.coverage.sql.series_on`); the step functions are kept per county, the
    series are not (an answer is kept whole, :func:`answered`)."""
    days = maths.series_days(start, as_of)
    if not days:
        return []
    engine = current()
    versions = await county_versions()
    steps = await unit_steps(engine, versions, unit, [county] if county else None)
    return step_functions.counts_along(steps, days)


async def series_totals(
    start: date, as_of: date, members: Collection[str], detail: Collection[str]
) -> tuple[list[maths.Counts], list[dict[str, maths.Counts]]]:
    """On each of ``series_days(start, as_of)``: the counts of the counties ``members`` summed,
    and those of the counties ``detail`` one by one (``points_active`` 0) — an area's monthly
    series without a dict per county and month."""
    days = maths.series_days(start, as_of)
    if not days:
        return [], []
    steps = await unit_steps(current(), await county_versions(), "county", None)
    totals = step_functions.totals_along((steps[c] for c in members if c in steps), days)
    one_by_one = step_functions.counts_along({c: steps[c] for c in detail if c in steps}, days)
    return totals, one_by_one


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
