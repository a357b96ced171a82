"""Coverage figures per county, township and city, for any date, from the dated status events.

Every count is one set-based SQL statement on both engines. Figures on a date
(:data:`COUNTS_SQL`): each status event becomes a validity span ``[effective_date, next
event's date)`` with ``LEAD()``, the spans are joined to the requested days, and the existing
divisions are grouped per unit and day in the database. The monthly series
(:data:`SERIES_SQL`): the same spans, merged per division and clipped to its life, become +1/−1
edges bucketed by month in the database; a running sum gives each month (cost grows with the
events, not events × months). The tests hold the two equal, and equal to the plain definition
in :func:`registry.coverage.rules.count_on`. The maths on the counts (ratios, targets,
projection) is :mod:`registry.coverage.rules`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from time import perf_counter
from typing import Any

import msgspec
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geo.geojson_io import feature, feature_collection, point_feature
from geo.render import Area, MapPoint, PointStyle, render_choropleth
from registry.core import clock, runtime
from registry.core.codes import county_of, level_of_code, normalise_code
from registry.core.errors import RuleViolation
from registry.core.params import one_of
from registry.core.runtime import LRU
from registry.coverage import rules as maths
from registry.coverage.schemas import (
    CampaignInfo,
    CampaignList,
    Coverage,
    SeriesPoint,
    Timeseries,
    TownshipCoverage,
    UnitFigures,
)
from registry.db.binding import current
from registry.db.engines import is_sqlite
from registry.divisions.rules import CENTRE_KINDS, POINT_KINDS, SITE_KINDS, exists_on
from registry.plans.service import target_share_series_many
from registry.sites.rules import status as status_rules
from registry.sites.rules.status import STATUSES
from registry.sites.service import STATUS_ON_SQL
from registry.tables import Campaign, Division, DivisionBoundary, StatusEvent

log = logging.getLogger("registry.coverage")

CITY_LEVEL = "city"
# How the stored map outlines were made (seed/loader.py): shapely coverage_simplify at
# 0.001° (≈ 100 m), topology shared between neighbours, rounded to 4 decimals (≈ 10 m).
SIMPLIFICATION = "coverage_simplify 0.001° (≈100 m), topology preserved, 4 decimals"
SIMPLIFICATION_ZH = "高德 GCJ-02 转 WGS-84，拓扑保持简化 0.001°（约 100 米），保留 4 位小数"

_POINTS = ", ".join(f"'{k}'" for k in POINT_KINDS)
_CENTRES = ", ".join(f"'{k}'" for k in CENTRE_KINDS)


def _in(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


# A division exists on d.day: established on or before it, abolished after it (nulls: always).
EXISTS_ON_DAY = (
    "(v.established_on IS NULL OR v.established_on <= d.day)"
    " AND (v.abolished_on IS NULL OR v.abolished_on > d.day)"
)
# Statuses that set at least one flag; other spans cannot count and are dropped early.
COUNTED = tuple(
    dict.fromkeys(
        (
            *maths.POINT_BUILT,
            *maths.POINT_IN_SERVICE,
            *maths.CENTRE_IN_SERVICE,
            *maths.CENTRE_STANDARDIZED,
        )
    )
)

# /*days*/: VALUES rows (i, day, lo, hi) of {} placeholders; /*site_filter*/ and
# /*division_filter*/: optional county filters; /*unit*/: county_code or township_code.
# Only whitelisted text is spliced in; every value is a {} placeholder bound by Piccolo.
COUNTS_SQL = f"""
WITH days (i, day) AS (VALUES /*days*/),
spans AS (
    SELECT e.site, e.status, e.effective_date AS since,
           LEAD(e.effective_date) OVER (
               PARTITION BY e.site ORDER BY e.effective_date, e.id
           ) AS until
    FROM status_event e/*site_filter*/
),
on_day AS (
    SELECT d.i, s.id AS site, s.division, s.kind, sp.status
    FROM days d
    JOIN spans sp ON sp.since <= d.day AND (sp.until IS NULL OR sp.until > d.day)
    JOIN site s ON s.id = sp.site
    WHERE sp.status IN ({_in(COUNTED)})
),
flags AS (
    SELECT o.i, o.division,
        MAX(CASE WHEN o.kind IN ({_POINTS}) AND o.status IN ({_in(maths.POINT_BUILT)})
            THEN 1 ELSE 0 END) AS p_built,
        MAX(CASE WHEN o.kind IN ({_POINTS}) AND o.status IN ({_in(maths.POINT_IN_SERVICE)})
            THEN 1 ELSE 0 END) AS p_in_service,
        MAX(CASE WHEN o.kind IN ({_CENTRES}) AND o.status IN ({_in(maths.CENTRE_IN_SERVICE)})
            THEN 1 ELSE 0 END) AS c_in_service,
        MAX(CASE WHEN o.kind IN ({_CENTRES}) AND o.status IN ({_in(maths.CENTRE_STANDARDIZED)})
            THEN 1 ELSE 0 END) AS c_standardized
    FROM on_day o
    GROUP BY o.i, o.division
),
totals AS (
    SELECT d.i, v./*unit*/ AS unit,
        SUM(CASE WHEN v.level = 'village' THEN 1 ELSE 0 END) AS villages_total,
        SUM(CASE WHEN v.level = 'township' THEN 1 ELSE 0 END) AS townships_total
    FROM days d
    JOIN division v ON v.level IN ('village', 'township') AND /*exists*//*division_filter*/
    GROUP BY d.i, v./*unit*/
),
flagged AS (
    SELECT f.i, v./*unit*/ AS unit,
        SUM(CASE WHEN v.level = 'village' THEN f.p_built ELSE 0 END) AS points_built,
        SUM(CASE WHEN v.level = 'village' THEN f.p_in_service ELSE 0 END) AS points_in_service,
        SUM(CASE WHEN v.level = 'township' THEN f.c_in_service ELSE 0 END)
            AS centres_in_service,
        SUM(CASE WHEN v.level = 'township' THEN f.c_standardized ELSE 0 END)
            AS centres_standardized
    FROM flags f
    JOIN days d ON d.i = f.i
    JOIN division v ON v.code = f.division AND /*exists*//*division_filter*/
    GROUP BY f.i, v./*unit*/
)
SELECT t.i, t.unit, t.villages_total, t.townships_total,
    COALESCE(g.points_built, 0) AS points_built,
    COALESCE(g.points_in_service, 0) AS points_in_service,
    COALESCE(g.centres_in_service, 0) AS centres_in_service,
    COALESCE(g.centres_standardized, 0) AS centres_standardized
FROM totals t
LEFT JOIN flagged g ON g.i = t.i AND g.unit = t.unit
"""

# points_active on each day of /*days*/ (i, day, lo, hi): village divisions existing that day
# with an agency point in service that day and at least one case received in [lo, hi). It
# costs two index probes per agency point (service_case (site, received_at), status_event
# (site, effective_date, id)), so it grows with the number of points, not of cases; cached
# county by county per the county's status and case counters (see _county_versions).
ACTIVE_SQL = f"""
WITH days (i, day, lo, hi) AS (VALUES /*days*/)
SELECT d.i, v./*unit*/ AS unit, COUNT(DISTINCT v.code) AS points_active
FROM days d
JOIN site s ON s.kind IN ({_POINTS})/*site_filter*/
JOIN division v ON v.code = s.division AND v.level = 'village' AND /*exists*//*division_filter*/
WHERE EXISTS (
    SELECT 1 FROM service_case c
    WHERE c.site = s.id AND c.received_at >= d.lo AND c.received_at < d.hi
)
AND (
    SELECT e.status FROM status_event e
    WHERE e.site = s.id AND e.effective_date <= d.day
    ORDER BY e.effective_date DESC, e.id DESC
    LIMIT 1
) IN ({_in(maths.POINT_IN_SERVICE)})
GROUP BY d.i, v./*unit*/
"""
_UNITS = {"county": "county_code", "township": "township_code"}


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    """UTC instants bounding the 90 Asia/Shanghai days up to ``day`` (half-open)."""
    first, last = maths.active_window(day)
    lo = datetime.combine(first, time(0), tzinfo=clock.CHINA)
    hi = datetime.combine(last + timedelta(days=1), time(0), tzinfo=clock.CHINA)
    return lo.astimezone(UTC), hi.astimezone(UTC)


async def counts_by(
    days: Sequence[date],
    unit: str,
    county: str | None = None,
    active: bool | Collection[date] = True,
) -> list[dict[str, maths.Counts]]:
    """Counts per unit (``county`` or ``township``) for each of ``days``.

    Everything but ``points_active`` comes from the dated status events (one SQL statement,
    cached county by county per county version: a status change recounts its county only, a
    new case recounts nothing; see :func:`_per_county`). ``points_active`` is counted on the
    days ``active`` names (all, none, or those dates; 0 on the others) by :data:`ACTIVE_SQL`,
    whose cost grows with the number of agency points, not of cases, and cached county by
    county per county and cases version (a case write recounts its county's points).
    Returns one dict per day (same order), unit code → counts; units with no existing
    division that day are absent.
    """
    if not days:
        return []
    engine = current()
    database = _database(engine)
    versions = await _county_versions()
    out = await _per_county(
        ("counts", database, tuple(days), unit),
        versions,
        lambda v: v[0],
        county,
        len(days),
        lambda counties: _counts_by(engine, days, unit, counties),
    )
    wanted = [
        i for i, d in enumerate(days) if active is True or (active is not False and d in active)
    ]
    if wanted:
        active_days = tuple(days[i] for i in wanted)
        found = await _per_county(
            ("active", database, active_days, unit),
            versions,
            lambda v: v,
            county,
            len(active_days),
            lambda counties: _active_by(engine, active_days, unit, counties),
        )
        for i, per_unit in zip(wanted, found, strict=True):
            for code, n in per_unit.items():
                if code in out[i]:
                    out[i][code] = msgspec.structs.replace(out[i][code], points_active=n)
    return out


def _database(engine: Any) -> str:
    """Which database an engine reads (the cache must never mix two databases)."""
    if is_sqlite(engine):
        return f"sqlite:{engine.path}"
    return "postgres:" + repr(sorted(engine.config.items()))


# Counts are cached per county and per that county's version (see :func:`_per_county`): a
# repeated request costs a few small queries, a status change recounts one county. Oldest
# entries go first.
CACHE_SIZE = 8192


def _cache() -> LRU:
    """The runtime's cache of counted figures (least recently used entries go first)."""
    return runtime.current().slot("coverage.figures", lambda: LRU(CACHE_SIZE))


PerDay = list[dict[str, Any]]
Versions = dict[str, tuple[int, int]]


async def _per_county(
    key: tuple[Any, ...],
    versions: Versions,
    part: Callable[[tuple[int, int]], Any],
    county: str | None,
    n_days: int,
    compute: Callable[[list[str] | None], Awaitable[PerDay]],
) -> PerDay:
    """Values per unit and day, cached county by county.

    Each county's part is kept with ``part`` of the county's versions (status writes, case
    writes; see :func:`_county_versions`) and of the divisions above the counties; the
    counties whose version changed (all of them on a first request) are recounted by one
    ``compute(counties)`` (``None``: every county, unfiltered). Versions are read before
    counting: a write landing meanwhile makes the next request recount, never keeps stale
    counts.
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


def _county_filters(counties: list[str] | None) -> tuple[str, str, list[Any]]:
    """Site and division filters of the counting statements for ``counties`` (``None``: no
    filter), and their arguments in statement order (the site filter once, the division
    filter twice)."""
    if counties is None:
        return "", "", []
    marks = ", ".join("{}" for _ in counties)
    site_filter = f" JOIN site fs ON fs.id = e.site WHERE fs.county_code IN ({marks})"
    division_filter = f" AND v.county_code IN ({marks})"
    return site_filter, division_filter, [*counties, *counties, *counties]


def _fill(template: str, rows_sql: str, site_filter: str, division_filter: str, unit: str) -> str:
    """A counting statement with its days, county filters and unit column spliced in (only
    whitelisted text; every value stays a {} placeholder)."""
    return (
        template.replace("/*days*/", rows_sql)
        .replace("/*site_filter*/", site_filter)
        .replace("/*exists*/", EXISTS_ON_DAY)
        .replace("/*division_filter*/", division_filter)
        .replace("/*unit*/", _UNITS[unit])
    )


def _days_sql(engine: Any, days: Sequence[date], windows: bool) -> tuple[str, list[Any]]:
    """VALUES rows (i, day[, lo, hi]) for ``days`` and their arguments."""
    pg = not is_sqlite(engine)
    # SQLite keeps dates and instants as ISO text, compared as text.
    as_date, as_instant = ("CAST({} AS DATE)", "CAST({} AS TIMESTAMPTZ)") if pg else ("{}", "{}")
    rows_sql, args = [], []
    for i, day in enumerate(days):
        if windows:
            rows_sql.append(f"({i}, {as_date}, {as_instant}, {as_instant})")
            args += [day, *_day_bounds(day)]
        else:
            rows_sql.append(f"({i}, {as_date})")
            args.append(day)
    return ", ".join(rows_sql), args


async def _counts_by(
    engine: Any, days: Sequence[date], unit: str, counties: list[str] | None
) -> list[dict[str, maths.Counts]]:
    rows_sql, args = _days_sql(engine, days, windows=False)
    site_filter, division_filter, county_args = _county_filters(counties)
    args = [*args, *county_args]
    sql = _fill(COUNTS_SQL, rows_sql, site_filter, division_filter, unit)
    out: list[dict[str, maths.Counts]] = [{} for _ in days]
    for row in await StatusEvent.raw(sql, *args):
        out[int(row["i"])][row["unit"]] = maths.Counts(
            villages_total=int(row["villages_total"]),
            points_built=int(row["points_built"]),
            points_in_service=int(row["points_in_service"]),
            townships_total=int(row["townships_total"]),
            centres_in_service=int(row["centres_in_service"]),
            centres_standardized=int(row["centres_standardized"]),
        )
    return out


async def _active_by(
    engine: Any, days: Sequence[date], unit: str, counties: list[str] | None
) -> list[dict[str, int]]:
    """points_active per unit on each of ``days`` (units with none absent)."""
    rows_sql, args = _days_sql(engine, days, windows=True)
    site_filter = division_filter = ""
    if counties is not None:
        marks = ", ".join("{}" for _ in counties)
        site_filter = f" AND s.county_code IN ({marks})"
        division_filter = f" AND v.county_code IN ({marks})"
        args = [*args, *counties, *counties]
    sql = _fill(ACTIVE_SQL, rows_sql, site_filter, division_filter, unit)
    out: list[dict[str, int]] = [{} for _ in days]
    for row in await StatusEvent.raw(sql, *args):
        out[int(row["i"])][row["unit"]] = int(row["points_active"])
    return out


# --------------------------------------------------------------------------- monthly series

# The monthly series, event-driven: its cost grows with the number of events and divisions,
# not with events × months. Each flag (a Counts field) is true for a division over a union of
# date spans — a site's span in a counting status, clipped to the division's life, merged
# across the division's sites ("gaps and islands") so a village counts once — and each
# division's life is a span for the totals. A span adds +1 at its start and −1 at its end;
# edges are bucketed by month index in the database (GROUP BY) and the running sum over the
# months is the count on each month's value date. Same definitions as COUNTS_SQL, which the
# tests compare it with, except points_active (not part of the series).
_FLAG_DEFS = ", ".join(
    f"('{flag}', '{kind}', '{status}')"
    for flag, kinds, statuses in (
        ("points_built", POINT_KINDS, maths.POINT_BUILT),
        ("points_in_service", POINT_KINDS, maths.POINT_IN_SERVICE),
        ("centres_in_service", CENTRE_KINDS, maths.CENTRE_IN_SERVICE),
        ("centres_standardized", CENTRE_KINDS, maths.CENTRE_STANDARDIZED),
    )
    for kind in kinds
    for status in statuses
)
SERIES_SQL = f"""
WITH flag_defs (flag, kind, status) AS (VALUES {_FLAG_DEFS}),
spans AS (
    SELECT e.site, e.status, e.effective_date AS since,
           LEAD(e.effective_date) OVER (
               PARTITION BY e.site ORDER BY e.effective_date, e.id
           ) AS until
    FROM status_event e/*site_filter*/
),
sat AS (
    SELECT f.flag, v.code AS division, v./*unit*/ AS unit,
        CASE WHEN v.established_on IS NOT NULL AND v.established_on > sp.since
             THEN v.established_on ELSE sp.since END AS since,
        CASE WHEN sp.until IS NULL THEN COALESCE(v.abolished_on, /*forever*/)
             WHEN v.abolished_on IS NOT NULL AND v.abolished_on < sp.until THEN v.abolished_on
             ELSE sp.until END AS until
    FROM spans sp
    JOIN site s ON s.id = sp.site
    JOIN flag_defs f ON f.kind = s.kind AND f.status = sp.status
    JOIN division v ON v.code = s.division/*division_filter*/
),
marked AS (
    SELECT flag, division, unit, since, until,
        CASE WHEN MAX(until) OVER (
                 PARTITION BY flag, division ORDER BY since, until
                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
             ) >= since THEN 0 ELSE 1 END AS fresh
    FROM sat
    WHERE since < until
),
numbered AS (
    SELECT flag, division, unit, since, until,
        SUM(fresh) OVER (
            PARTITION BY flag, division ORDER BY since, until ROWS UNBOUNDED PRECEDING
        ) AS island
    FROM marked
),
islands AS (
    SELECT flag, unit, MIN(since) AS since, MAX(until) AS until
    FROM numbered
    GROUP BY flag, division, unit, island
),
lives AS (
    SELECT CASE WHEN v.level = 'village' THEN 'villages_total' ELSE 'townships_total' END
               AS flag,
           v./*unit*/ AS unit,
           COALESCE(v.established_on, /*always*/) AS since,
           COALESCE(v.abolished_on, /*forever*/) AS until
    FROM division v
    WHERE v.level IN ('village', 'township')/*division_filter*/
),
edges AS (
    SELECT flag, unit, since AS at, 1 AS delta FROM islands
    UNION ALL SELECT flag, unit, until AS at, -1 AS delta FROM islands
    UNION ALL SELECT flag, unit, since AS at, 1 AS delta FROM lives WHERE since < until
    UNION ALL SELECT flag, unit, until AS at, -1 AS delta FROM lives WHERE since < until
)
SELECT flag, unit, idx, SUM(delta) AS delta
FROM (
    SELECT flag, unit, delta,
        CASE WHEN /*month_of_at*/ < /*first_month*/ THEN 0
             ELSE /*month_of_at*/ - /*first_month*/ END AS idx
    FROM edges
    WHERE at <= /*as_of*/
) bucketed
GROUP BY flag, unit, idx
"""
_MONTH_OF_AT = {
    "postgres": "(CAST(EXTRACT(YEAR FROM at) AS INTEGER) * 12"
    " + CAST(EXTRACT(MONTH FROM at) AS INTEGER))",
    "sqlite": "(CAST(strftime('%Y', at) AS INTEGER) * 12 + CAST(strftime('%m', at) AS INTEGER))",
}


async def series_counts(
    start: date, as_of: date, unit: str, county: str | None = None
) -> list[dict[str, maths.Counts]]:
    """Counts per unit on each of ``series_days(start, as_of)`` (``points_active`` left 0),
    from the edges of the status and existence spans. Cached like :func:`counts_by`."""
    days = maths.series_days(start, as_of)
    if not days:
        return []
    engine = current()
    return await _per_county(
        ("series", _database(engine), start, as_of, unit),
        await _county_versions(),
        lambda v: v[0],
        county,
        len(days),
        lambda counties: _series_counts(engine, days, unit, counties),
    )


async def _series_counts(
    engine: Any, days: Sequence[date], unit: str, counties: list[str] | None
) -> list[dict[str, maths.Counts]]:
    pg = not is_sqlite(engine)
    if pg:
        date_of, forever, always = (
            "CAST({} AS DATE)",
            "CAST('9999-12-31' AS DATE)",
            "CAST('0001-01-01' AS DATE)",
        )
    else:  # ISO text, compared as text
        date_of, forever, always = "{}", "'9999-12-31'", "'0001-01-01'"
    first = days[0]
    site_filter, division_filter, args = _county_filters(counties)
    sql = (
        SERIES_SQL.replace("/*site_filter*/", site_filter)
        .replace("/*division_filter*/", division_filter)
        .replace("/*unit*/", _UNITS[unit])
        .replace("/*forever*/", forever)
        .replace("/*always*/", always)
        .replace("/*month_of_at*/", _MONTH_OF_AT["postgres" if pg else "sqlite"])
        .replace("/*first_month*/", str(first.year * 12 + first.month))
        .replace("/*as_of*/", date_of)
    )
    n = len(days)
    deltas: dict[str, dict[str, list[int]]] = {}
    for row in await StatusEvent.raw(sql, *args, days[-1]):
        idx = int(row["idx"])
        if idx < n:
            per_flag = deltas.setdefault(row["unit"], {})
            per_flag.setdefault(row["flag"], [0] * n)[idx] += int(row["delta"])
    out: list[dict[str, maths.Counts]] = [{} for _ in days]
    for unit_code, per_flag in deltas.items():
        running = dict.fromkeys(per_flag, 0)
        for i in range(n):
            for flag, values in per_flag.items():
                running[flag] += values[i]
            counts = maths.Counts(**running)
            if counts.villages_total or counts.townships_total:
                out[i][unit_code] = counts
    return out


# --------------------------------------------------------------------------- look-ups


def _campaign_info(c: maths.Campaign) -> CampaignInfo:
    return CampaignInfo(
        code=c.code,
        name=c.name,
        start_on=c.start_on,
        deadline=c.deadline,
        figure=c.figure,
        figure_label=maths.FIGURE_LABELS_ZH.get(c.figure, c.figure),
    )


async def warm() -> float:
    """Count today's figures (all counties) and monthly series of every campaign into the
    cache; returns the seconds it took. Run at startup in the background (a failure is
    logged: the readers then count for themselves)."""
    started = perf_counter()
    try:
        for campaign in (await list_campaigns()).items:
            await coverage(None, campaign.code)
            await timeseries(None, campaign.code)
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
        ready.set()
        await asyncio.sleep(clock.seconds_to_next_day(clock.now()) + 60)


async def list_campaigns() -> CampaignList:
    rows = await Campaign.select().order_by(Campaign.start_on).order_by(Campaign.code)
    items = [_campaign_info(_campaign_row(r)) for r in rows]
    return CampaignList(items=items, total=len(items))


def _campaign_row(row: dict[str, Any]) -> maths.Campaign:
    return maths.Campaign(
        code=row["code"],
        name=row["name"],
        start_on=row["start_on"],
        deadline=row["deadline"],
        figure=row["figure"],
    )


async def get_campaign(code: str | None) -> maths.Campaign:
    """The campaign ``code`` (default agency-points-2013); 422 ``unknown_campaign``."""
    code = (code or "").strip() or maths.DEFAULT_CAMPAIGN
    row = await Campaign.select().where(Campaign.code == code[:40]).first()
    if row is None or row["figure"] not in maths.FIGURES:
        known = [r["code"] for r in await Campaign.select(Campaign.code)]
        raise RuleViolation(
            "unknown_campaign",
            f"未知的专项行动：{code[:40]}",
            f"unknown campaign {code[:40]!r}; one of {', '.join(known)}",
            "campaign",
            allowed=known,
        )
    return _campaign_row(row)


async def get_county(raw: str, field: str = "county") -> tuple[str, str]:
    """(code, name) of a county; 422 ``invalid_code`` / ``unknown_county``."""
    code = normalise_code(raw, field=field)
    row = None
    if level_of_code(code) == "county":
        row = (
            await Division.select(Division.code, Division.name)
            .where((Division.code == code) & (Division.level == "county"))
            .first()
        )
    if row is None:
        raise RuleViolation(
            "unknown_county",
            f"{code} 不是本市的县级区划",
            f"{code} is not a county of the city",
            field,
        )
    return row["code"], row["name"]


async def _city() -> tuple[str, str]:
    row = (
        await Division.select(Division.code, Division.name)
        .where(Division.level == CITY_LEVEL)
        .first()
    )
    return (row["code"], row["name"]) if row else ("", "全市")


async def _divisions(level: str, day: date, county: str | None = None) -> list[dict[str, Any]]:
    query = Division.select(
        Division.code,
        Division.name,
        Division.county_code,
        Division.established_on,
        Division.abolished_on,
    ).where(Division.level == level)
    if county:
        query = query.where(Division.county_code == county)
    rows = await query.order_by(Division.code)
    return [r for r in rows if exists_on(r["established_on"], r["abolished_on"], day)]


# --------------------------------------------------------------------------- targets


async def county_targets(
    counties: Sequence[str], campaign: maths.Campaign, days: Sequence[date]
) -> dict[str, tuple[list[Fraction], str]]:
    """Each county's target share on each day and its source (``plan`` or ``linear``)."""
    linear = [maths.linear_target(campaign, d) for d in days]
    planned = await target_share_series_many(counties, campaign.code, list(days))
    out: dict[str, tuple[list[Fraction], str]] = {}
    for county in counties:
        series = planned.get(county)
        if series is not None and len(series) == len(days):
            out[county] = ([Fraction(v) for v in series], "plan")
        else:
            out[county] = (linear, "linear")
    return out


# --------------------------------------------------------------------------- figures


def _unit(
    code: str,
    name: str,
    level: str,
    history: Sequence[tuple[date, maths.Counts]],
    campaign: maths.Campaign,
    target: Fraction,
    source: str,
    county: tuple[str, str] | None = None,
) -> UnitFigures:
    counts = history[-1][1]
    f = maths.figures(counts, campaign, target, history)
    return UnitFigures(
        code=code,
        name=name,
        level=level,
        villages_total=counts.villages_total,
        points_built=counts.points_built,
        points_in_service=counts.points_in_service,
        points_active=counts.points_active,
        agency_coverage=f.agency_coverage,
        townships_total=counts.townships_total,
        centres_in_service=counts.centres_in_service,
        centres_standardized=counts.centres_standardized,
        standardization=f.standardization,
        figure=f.figure,
        target=f.target,
        target_source=source,
        on_track=f.on_track,
        achieved=f.achieved,
        projected_completion=f.projected_completion,
        flags=f.flags,
        county_code=county[0] if county else None,
        county_name=county[1] if county else None,
    )


def _city_target(
    campaign: maths.Campaign,
    day: date,
    counts: dict[str, maths.Counts],
    targets: dict[str, tuple[list[Fraction], str]],
    index: int,
) -> tuple[Fraction, str]:
    parts = [
        (targets[code][0][index], counts[code].fraction(campaign.figure)[1])
        for code in targets
        if code in counts
    ]
    source = "plan" if any(targets[c][1] == "plan" for c in targets) else "linear"
    return maths.weighted_target(parts, maths.linear_target(campaign, day)), source


async def coverage(as_of: str | None, campaign: str | None, county: str | None = None) -> Coverage:
    """Figures per county and the city total on ``as_of``; with ``county``, also that
    county's townships (the drill-down)."""
    camp = await get_campaign(campaign)
    day = maths.parse_as_of(as_of, camp, clock.today())
    drill = await get_county(county) if county else None
    days = maths.series_days(camp.start_on, day)[-maths.PROJECTION_WINDOW :]
    per_day = await counts_by(days, "county", active={day})
    counties = await _divisions("county", day)
    codes = [c["code"] for c in counties]
    targets = await county_targets(codes, camp, days)
    items = []
    for c in counties:
        history = [(d, per_day[i].get(c["code"], maths.Counts())) for i, d in enumerate(days)]
        series, source = targets[c["code"]]
        items.append(_unit(c["code"], c["name"], "county", history, camp, series[-1], source))
    city_code, city_name = await _city()
    city_history = [
        (d, maths.total(per_day[i].get(c, maths.Counts()) for c in codes))
        for i, d in enumerate(days)
    ]
    target, source = _city_target(camp, day, per_day[-1], targets, len(days) - 1)
    total = _unit(city_code, city_name, CITY_LEVEL, city_history, camp, target, source)
    townships = None
    if drill:
        townships = await _township_figures(camp, day, days, drill, targets[drill[0]])
        items = [i for i in items if i.code == drill[0]]
    return Coverage(
        as_of=day,
        campaign=camp.code,
        campaign_info=_campaign_info(camp),
        counties=items,
        total=total,
        townships=townships,
    )


async def _township_figures(
    camp: maths.Campaign,
    day: date,
    days: Sequence[date],
    county: tuple[str, str] | None,
    county_target: tuple[list[Fraction], str] | None = None,
) -> list[UnitFigures]:
    county_code = county[0] if county else None
    per_day = await counts_by(days, "township", county=county_code, active={day})
    townships = await _divisions("township", day, county_code)
    names = {c["code"]: c["name"] for c in await _divisions("county", day)}
    if county_target is not None and county_code is not None:
        targets = {county_code: county_target}
    else:
        targets = await county_targets(sorted({t["county_code"] for t in townships}), camp, days)
    out = []
    for t in townships:
        series, source = targets[t["county_code"]]
        history = [(d, per_day[i].get(t["code"], maths.Counts())) for i, d in enumerate(days)]
        out.append(
            _unit(
                t["code"],
                t["name"],
                "township",
                history,
                camp,
                series[-1],
                source,
                county=(t["county_code"], names.get(t["county_code"], "")),
            )
        )
    return out


async def township_coverage(
    as_of: str | None, campaign: str | None, county: str | None = None
) -> TownshipCoverage:
    """Every township's figures on ``as_of`` (of one county, or the whole city). A township's
    target is its county's."""
    camp = await get_campaign(campaign)
    day = maths.parse_as_of(as_of, camp, clock.today())
    drill = await get_county(county) if county else None
    days = maths.series_days(camp.start_on, day)[-maths.PROJECTION_WINDOW :]
    items = await _township_figures(camp, day, days, drill)
    return TownshipCoverage(
        as_of=day,
        campaign=camp.code,
        county=drill[0] if drill else None,
        items=items,
        total=len(items),
    )


async def timeseries(
    county: str | None, campaign: str | None, as_of: str | None = None
) -> Timeseries:
    """Monthly values from the campaign start to the deadline, or to ``as_of`` (default
    today) if later; months after ``as_of`` carry the target only."""
    camp = await get_campaign(campaign)
    day = maths.parse_as_of(as_of, camp, clock.today())
    drill = await get_county(county) if county else None
    months = maths.months_between(camp.start_on, max(camp.deadline, day))
    days = maths.series_days(camp.start_on, day)
    target_days = [*days, *months[len(days) :]]
    per_day = await series_counts(camp.start_on, day, "county", drill[0] if drill else None)
    if drill:
        code, name = drill
        targets = await county_targets([code], camp, target_days)
        target_series, source = targets[code]
        counts = [per_day[i].get(code, maths.Counts()) for i in range(len(days))]
    else:
        code, name = None, (await _city())[1]
        counties = [c["code"] for c in await _divisions("county", day)]
        targets = await county_targets(counties, camp, target_days)
        counts = [maths.total(p.get(c, maths.Counts()) for c in counties) for p in per_day]
        target_series = []
        source = "linear"
        for i, d in enumerate(target_days):
            weights = per_day[min(i, len(days) - 1)] if days else {}
            t, source = _city_target(camp, d, weights, targets, i)
            target_series.append(t)
    points = []
    for i, d in enumerate(target_days):
        target = target_series[i]
        if i < len(days):
            c = counts[i]
            num, den = c.fraction(camp.figure)
            points.append(
                SeriesPoint(
                    month=d.strftime("%Y-%m"),
                    day=d,
                    agency_coverage=maths.ratio(c.points_in_service, c.villages_total),
                    standardization=maths.ratio(c.centres_standardized, c.townships_total),
                    figure=maths.ratio(num, den),
                    target=float(target),
                    on_track=maths.on_track(num, den, target),
                    villages_total=c.villages_total,
                    points_in_service=c.points_in_service,
                    townships_total=c.townships_total,
                    centres_standardized=c.centres_standardized,
                )
            )
        else:
            points.append(
                SeriesPoint(
                    month=d.strftime("%Y-%m"),
                    day=d,
                    agency_coverage=None,
                    standardization=None,
                    figure=None,
                    target=float(target),
                    on_track=None,
                )
            )
    projection = maths.projected_completion(
        [(d, maths._fraction_or_none(*counts[i].fraction(camp.figure))) for i, d in enumerate(days)]
    )
    return Timeseries(
        county=code,
        county_name=name,
        campaign=camp.code,
        campaign_info=_campaign_info(camp),
        as_of=day,
        target_source=source,
        projected_completion=projection,
        points=points,
    )


# --------------------------------------------------------------------------- sites on a date


SITES_ON_SQL = f"""
SELECT s.id, s.division AS division_code, s.kind, s.standard_name, s.signage_conforms,
       s.county_code, s.township_code, s.lon, s.lat, latest.status
FROM site s
JOIN ({STATUS_ON_SQL}) latest ON latest.site = s.id
WHERE 1 = 1/*filters*/
ORDER BY s.id
"""


async def sites_on(
    day: date, county: str | None = None, kind: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """Sites registered by ``day`` with their status on ``day`` (closed ones only when
    ``status='closed'`` is asked for)."""
    kind = one_of(kind, SITE_KINDS, "kind")
    status = one_of(status, STATUSES, "status")
    filters, args = "", [day]
    if county:
        filters += " AND s.county_code = {}"
        args.append(county)
    if kind:
        filters += " AND s.kind = {}"
        args.append(kind)
    if status:
        filters += " AND latest.status = {}"
        args.append(status)
    else:
        filters += " AND latest.status <> 'closed'"
    rows = await StatusEvent.raw(SITES_ON_SQL.replace("/*filters*/", filters), *args)
    for row in rows:
        if row["signage_conforms"] is not None:
            row["signage_conforms"] = bool(row["signage_conforms"])
    return rows


async def _outline_texts() -> dict[str, str]:
    rows = await DivisionBoundary.select(
        DivisionBoundary.division.as_alias("code"), DivisionBoundary.simplified
    ).where(DivisionBoundary.division.level == "county")
    return {r["code"]: r["simplified"] for r in rows}


async def county_outlines() -> dict[str, dict[str, Any]]:
    """Map outlines (simplified GeoJSON geometry) of the counties, by code."""
    return {code: json.loads(text) for code, text in (await _outline_texts()).items()}


async def county_shapes() -> dict[str, BaseGeometry]:
    """The same outlines as shapely geometries, for the SVG map: parsed once per distinct text
    (the same objects on every map, so the SVG renderer's memo of their paths holds)."""
    parsed = runtime.current().slot("coverage.outlines", lambda: LRU(4096))
    shapes = {}
    for code, text in (await _outline_texts()).items():
        shape = parsed.get(text)
        if shape is None:
            # GEOS reads the text (shape(json.loads()) took 0.6 ms each)
            shape = shapely.from_geojson(text)
            parsed.put(text, shape)
        shapes[code] = shape
    return shapes


# --------------------------------------------------------------------------- status version


# What the cached counts depend on, per county, in one statement whose cost grows with the
# counties and points, never with the cases:
# - county_activity: one counter per county, bumped by triggers in the transaction of every
#   status event, site or division write of the county (migration 2026-12-05T15:00; '' for
#   the divisions above the counties);
# - case_activity: one counter per agency point, bumped by triggers in the transaction of every
#   case insert, delete, or change of site or received_at (migration 2026-12-05T13:00), summed
#   per county (what points_active depends on). Counters only grow.
COUNTY_VERSIONS_SQL = """
SELECT ca.county_code, ca.writes, COALESCE(cw.writes, 0) AS case_writes
FROM county_activity ca
LEFT JOIN (
    SELECT s.county_code, SUM(a.writes) AS writes
    FROM case_activity a JOIN site s ON s.id = a.site
    GROUP BY s.county_code
) cw ON cw.county_code = ca.county_code
"""


async def _county_versions() -> Versions:
    """Each county's (status writes, case writes) counters; read before the counts they key,
    never after: a write landing in between makes the next request recount."""
    rows = await StatusEvent.raw(COUNTY_VERSIONS_SQL)
    return {r["county_code"]: (int(r["writes"]), int(r["case_writes"])) for r in rows}


# --------------------------------------------------------------------------- GeoJSON and SVG


def _properties(unit: UnitFigures, coverage_: Coverage) -> dict[str, Any]:
    """Flat, GDAL-friendly properties (dates as ISO text, flags as comma-separated text)."""
    props = msgspec.to_builtins(unit)
    props["flags"] = ",".join(unit.flags)
    props["as_of"] = coverage_.as_of.isoformat()
    props["campaign"] = coverage_.campaign
    props["layer"] = "county"
    props.pop("county_code", None)
    props.pop("county_name", None)
    return props


async def coverage_geojson(
    as_of: str | None,
    campaign: str | None,
    sites: bool = True,
    county: str | None = None,
    kind: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """Counties with every figure as properties, and (optionally) sites as points with their
    kind and status on ``as_of``. RFC 7946: WGS-84 lon/lat, no ``crs`` member."""
    report = await coverage(as_of, campaign)
    drill = (await get_county(county))[0] if county else None
    outlines = await county_outlines()
    features = []
    for u in report.counties:
        outline = outlines.get(u.code)
        props = _properties(u, report)
        if outline is not None:
            # Where a map puts the county's name: a point inside its largest part.
            geom = shape(outline)
            largest = max(getattr(geom, "geoms", [geom]), key=lambda g: g.area)
            anchor = largest.point_on_surface()
            props["label_lon"], props["label_lat"] = round(anchor.x, 4), round(anchor.y, 4)
        features.append(feature(outline, props, id=u.code))
    if sites:
        for row in await sites_on(report.as_of, drill, kind, status):
            lon, lat = row.pop("lon"), row.pop("lat")
            row["layer"] = "site"
            features.append(point_feature(lon, lat, row, id=f"site-{row['id']}"))
    return feature_collection(
        features,
        name=f"coverage {report.campaign} {report.as_of.isoformat()}",
        as_of=report.as_of.isoformat(),
        campaign=report.campaign,
        total=_properties(report.total, report) | {"layer": "city"},
        simplification=SIMPLIFICATION,
    )


SITE_STYLE = PointStyle(
    colours=status_rules.COLOURS,
    labels=status_rules.LABELS_ZH,
    title="站点状态",
    large_kinds=frozenset(CENTRE_KINDS),
    note="大圆点：便民服务中心",
)


def _percent(value: float | None) -> str:
    return "无数据" if value is None else f"{value * 100:.1f}%"


async def coverage_svg(
    as_of: str | None,
    campaign: str | None,
    sites: bool = False,
    kind: str | None = None,
    status: str | None = None,
) -> str:
    """The county choropleth of the campaign's figure on ``as_of`` (see geo.render)."""
    report = await coverage(as_of, campaign)
    outlines = await county_shapes()
    info = report.campaign_info
    areas = [
        Area(
            code=u.code,
            name=u.name,
            geometry=outlines[u.code],
            value=u.figure,
            caption=_percent(u.figure),
            properties={
                "target": f"{u.target:.4f}",
                "on-track": "" if u.on_track is None else str(u.on_track).lower(),
            },
        )
        for u in report.counties
        if u.code in outlines
    ]
    points = []
    if sites:
        points = [
            MapPoint(r["lon"], r["lat"], r["kind"], r["status"], r["standard_name"])
            for r in await sites_on(report.as_of, None, kind, status)
        ]
    day = report.as_of
    total = report.total
    return render_choropleth(
        areas,
        title=f"{total.name}{info.name} · 截至 {day.year}年{day.month}月{day.day}日",
        subtitle=(
            f"{info.figure_label}（{info.code}，{info.start_on}—{info.deadline}）"
            f" · 全市 {_percent(total.figure)} · 目标 {_percent(total.target)}"
        ),
        scheme=maths.COVERAGE_CLASSES,
        legend_title=info.figure_label,
        points=points,
        point_style=SITE_STYLE,
        note=(
            f"数据：怀化便民服务登记系统（截至 {day.isoformat()}）· 边界：{SIMPLIFICATION_ZH}"
            f" · 分级：{maths.COVERAGE_CLASSES.name}"
        ),
    )
