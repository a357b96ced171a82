"""The counting statements of coverage: set-based, composed of fragments, on both engines.

Every count is one statement grouped in the database. Figures on a date
(:func:`counts_statement`): each status event becomes a validity span ``[effective_date, next
event's date)`` with ``LEAD()``, the spans are joined to the requested days, and the existing
divisions are grouped per unit and day. Active points (:func:`active_statement`): two index
probes per agency point (``service_case (site, received_at)``, ``status_event (site,
effective_date, id)``), so its cost grows with the points, not the cases. The monthly series
(:func:`series_statement`): the same spans, merged per division and clipped to its life, become
+1/−1 edges bucketed by month; a running sum gives each month (cost grows with the events, not
events × months). The step functions (:func:`steps_statement`): the same edges summed per unit
and date, with no date bound, from which the cache reads the counts on any date. The tests
hold the counts equal to the series and to the step functions, and all equal to the plain
definition in :func:`registry.coverage.rules.count_on`.

Statements are Piccolo :class:`QueryString` trees built by :func:`compose`: SQL text written
in this module (the unit column chosen from :data:`UNIT_COLUMNS`, the kinds and statuses of the
rules) and fragments carrying their values as bound parameters; no value is ever spliced into
the text. What the engines write differently is one :class:`Dialect` each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from piccolo.querystring import QueryString

from registry.core import clock
from registry.coverage import rules as maths
from registry.db.engines import is_sqlite
from registry.divisions.rules import CENTRE_KINDS, POINT_KINDS, STATISTICAL_TOWNSHIP
from registry.tables import StatusEvent

# The column a unit's divisions are grouped by.
UNIT_COLUMNS = {"county": "county_code", "township": "township_code"}

# SQL text of ours, or a fragment with its bound values.
Part = str | QueryString


@dataclass(frozen=True)
class Dialect:
    """What one engine writes differently (``{}``: the bound value)."""

    date: str  # a bound date
    instant: str  # a bound UTC instant
    forever: str  # the date after all others (an open end)
    always: str  # the date before all others (an unknown start)
    month_of_at: str  # year × 12 + month of the column ``at``
    case_day: str  # the Asia/Shanghai day of ``c.received_at`` as a date ordinal (1: 0001-01-01)


POSTGRES = Dialect(
    date="CAST({} AS DATE)",
    instant="CAST({} AS TIMESTAMPTZ)",
    forever="CAST('9999-12-31' AS DATE)",
    always="CAST('0001-01-01' AS DATE)",
    month_of_at="(CAST(EXTRACT(YEAR FROM at) AS INTEGER) * 12"
    " + CAST(EXTRACT(MONTH FROM at) AS INTEGER))",
    case_day="(CAST(c.received_at AT TIME ZONE 'Asia/Shanghai' AS DATE) - DATE '0001-01-01' + 1)",
)
# SQLite keeps dates and instants as ISO text, compared as text.
SQLITE = Dialect(
    date="{}",
    instant="{}",
    forever="'9999-12-31'",
    always="'0001-01-01'",
    month_of_at="(CAST(strftime('%Y', at) AS INTEGER) * 12 + CAST(strftime('%m', at) AS INTEGER))",
    # China keeps UTC+8 all year (since 1991); julianday of a date is the ordinal + 1721424.5.
    case_day="CAST(julianday(date(c.received_at, '+8 hours')) - 1721424.5 AS INTEGER)",
)


def dialect_of(engine: Any) -> Dialect:
    """The dialect of a Piccolo engine."""
    return SQLITE if is_sqlite(engine) else POSTGRES


# --------------------------------------------------------------------------- composing


def compose(*parts: Part) -> QueryString:
    """Text and fragments end to end. Text is SQL written in the code, never a value (values
    are bound by the fragments); Piccolo reads ``{}`` as a placeholder, so text holds no brace.
    """
    for part in parts:
        if isinstance(part, str) and ("{" in part or "}" in part):
            raise ValueError(f"a brace in SQL text: {part!r}")
    template = "".join("{}" if isinstance(p, QueryString) else p for p in parts)
    return QueryString(template, *(p for p in parts if isinstance(p, QueryString)))


def joined(parts: Sequence[Part], separator: str) -> QueryString:
    """``parts`` with ``separator`` between them."""
    out: list[Part] = []
    for n, part in enumerate(parts):
        out += [separator, part] if n else [part]
    return compose(*out)


def with_(ctes: Sequence[tuple[str, Part]], select: Part) -> QueryString:
    """``WITH name AS (body), … select``."""
    return compose(
        "WITH ", joined([compose(f"{name} AS (", body, ")") for name, body in ctes], ",\n"), select
    )


def _listed(values: Sequence[str]) -> str:
    """Constants of the rules as SQL string literals (never a request's value)."""
    return ", ".join(f"'{v}'" for v in values)


def _column(unit: str) -> str:
    try:
        return UNIT_COLUMNS[unit]
    except KeyError:
        raise ValueError(f"unknown unit {unit!r}") from None


def _in(column: str, values: Sequence[Any]) -> QueryString:
    """``column IN (…)`` with the values bound."""
    return QueryString(f"{column} IN ({', '.join('{}' for _ in values)})", *values)


def _and_in(column: str, counties: Sequence[str] | None) -> Part:
    """`` AND column IN (counties)``; nothing when ``counties`` is ``None`` (all of them)."""
    return "" if counties is None else compose(" AND ", _in(column, counties))


POINTS = _listed(POINT_KINDS)
CENTRES = _listed(CENTRE_KINDS)
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
# A division exists on d.day: established on or before it, abolished after it (nulls: always).
# The divisions the totals count: villages, and townships that carry a centre (a statistical
# township-level unit — a farm, a development zone — carries villages but no centre).
COUNTED_LEVELS = (
    f"(v.level = 'village' OR (v.level = 'township' AND v.kind <> '{STATISTICAL_TOWNSHIP}'))"
)
EXISTS_ON_DAY = (
    "(v.established_on IS NULL OR v.established_on <= d.day)"
    " AND (v.abolished_on IS NULL OR v.abolished_on > d.day)"
)


# --------------------------------------------------------------------------- fragments


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """UTC instants bounding the 90 Asia/Shanghai days up to ``day`` (half-open)."""
    first, last = maths.active_window(day)
    lo = datetime.combine(first, time(0), tzinfo=clock.CHINA)
    hi = datetime.combine(last + timedelta(days=1), time(0), tzinfo=clock.CHINA)
    return lo.astimezone(UTC), hi.astimezone(UTC)


def days_rows(dialect: Dialect, days: Sequence[date], windows: bool) -> QueryString:
    """``VALUES`` rows ``(i, day)``, or ``(i, day, lo, hi)`` with the 90-day case windows (``i``
    written as text: a bound number would reach PostgreSQL untyped)."""
    if windows:
        window = f"{dialect.date}, {dialect.instant}, {dialect.instant}"
        rows = [QueryString(f"({i}, {window})", d, *day_bounds(d)) for i, d in enumerate(days)]
    else:
        rows = [QueryString(f"({i}, {dialect.date})", d) for i, d in enumerate(days)]
    return compose("VALUES ", joined(rows, ", "))


def spans(counties: Sequence[str] | None) -> QueryString:
    """Each status event's validity span ``[since, until)`` (``until`` NULL: still), of the
    sites of ``counties`` (``None``: every site)."""
    site_filter: Part = ""
    if counties is not None:
        site_filter = compose(
            " JOIN site fs ON fs.id = e.site WHERE ", _in("fs.county_code", counties)
        )
    return compose(
        """
    SELECT e.site, e.status, e.effective_date AS since,
           LEAD(e.effective_date) OVER (
               PARTITION BY e.site ORDER BY e.effective_date, e.id
           ) AS until
    FROM status_event e""",
        site_filter,
        "\n",
    )


# --------------------------------------------------------------------------- figures on days


ON_DAY = f"""
    SELECT d.i, s.id AS site, s.division, s.kind, sp.status
    FROM days d
    JOIN spans sp ON sp.since <= d.day AND (sp.until IS NULL OR sp.until > d.day)
    JOIN site s ON s.id = sp.site
    WHERE sp.status IN ({_listed(COUNTED)})
"""
# Per division and day: whether any of its sites sets each flag.
FLAGS = f"""
    SELECT o.i, o.division,
        MAX(CASE WHEN o.kind IN ({POINTS}) AND o.status IN ({_listed(maths.POINT_BUILT)})
            THEN 1 ELSE 0 END) AS p_built,
        MAX(CASE WHEN o.kind IN ({POINTS}) AND o.status IN ({_listed(maths.POINT_IN_SERVICE)})
            THEN 1 ELSE 0 END) AS p_in_service,
        MAX(CASE WHEN o.kind IN ({CENTRES}) AND o.status IN ({_listed(maths.CENTRE_IN_SERVICE)})
            THEN 1 ELSE 0 END) AS c_in_service,
        MAX(CASE WHEN o.kind IN ({CENTRES})
                  AND o.status IN ({_listed(maths.CENTRE_STANDARDIZED)})
            THEN 1 ELSE 0 END) AS c_standardized
    FROM on_day o
    GROUP BY o.i, o.division
"""
COUNTS_SELECT = """
SELECT t.i, t.unit, t.villages_total, t.townships_total,
    COALESCE(g.points_built, 0) AS points_built,
    COALESCE(g.points_in_service, 0) AS points_in_service,
    COALESCE(g.centres_in_service, 0) AS centres_in_service,
    COALESCE(g.centres_standardized, 0) AS centres_standardized
FROM totals t
LEFT JOIN flagged g ON g.i = t.i AND g.unit = t.unit
"""


def _totals(column: str, counties: Sequence[str] | None) -> QueryString:
    """Existing villages and townships per unit and day."""
    return compose(
        f"""
    SELECT d.i, v.{column} AS unit,
        SUM(CASE WHEN v.level = 'village' THEN 1 ELSE 0 END) AS villages_total,
        SUM(CASE WHEN v.level = 'township' THEN 1 ELSE 0 END) AS townships_total
    FROM days d
    JOIN division v ON {COUNTED_LEVELS} AND {EXISTS_ON_DAY}""",
        _and_in("v.county_code", counties),
        f"""
    GROUP BY d.i, v.{column}
""",
    )


def _flagged(column: str, counties: Sequence[str] | None) -> QueryString:
    """The flags of the existing divisions summed per unit and day."""
    return compose(
        f"""
    SELECT f.i, v.{column} AS unit,
        SUM(CASE WHEN v.level = 'village' THEN f.p_built ELSE 0 END) AS points_built,
        SUM(CASE WHEN v.level = 'village' THEN f.p_in_service ELSE 0 END) AS points_in_service,
        SUM(CASE WHEN v.level = 'township' THEN f.c_in_service ELSE 0 END)
            AS centres_in_service,
        SUM(CASE WHEN v.level = 'township' THEN f.c_standardized ELSE 0 END)
            AS centres_standardized
    FROM flags f
    JOIN days d ON d.i = f.i
    JOIN division v ON v.code = f.division AND {EXISTS_ON_DAY}""",
        _and_in("v.county_code", counties),
        f"""
    GROUP BY f.i, v.{column}
""",
    )


def counts_statement(
    dialect: Dialect, days: Sequence[date], unit: str, counties: Sequence[str] | None
) -> QueryString:
    """Rows (i, unit, villages_total, …, centres_standardized) on each of ``days`` per unit of
    ``counties`` (``None``: all); units with no existing division that day absent."""
    column = _column(unit)
    return with_(
        [
            ("days (i, day)", days_rows(dialect, days, windows=False)),
            ("spans", spans(counties)),
            ("on_day", ON_DAY),
            ("flags", FLAGS),
            ("totals", _totals(column, counties)),
            ("flagged", _flagged(column, counties)),
        ],
        COUNTS_SELECT,
    )


def active_statement(
    dialect: Dialect, days: Sequence[date], unit: str, counties: Sequence[str] | None
) -> QueryString:
    """Rows (i, unit, points_active): village divisions existing on each of ``days`` with an
    agency point in service that day and a case received in the 90 days up to it."""
    column = _column(unit)
    return with_(
        [("days (i, day, lo, hi)", days_rows(dialect, days, windows=True))],
        compose(
            f"""
SELECT d.i, v.{column} AS unit, COUNT(DISTINCT v.code) AS points_active
FROM days d
JOIN site s ON s.kind IN ({POINTS})""",
            _and_in("s.county_code", counties),
            f"""
JOIN division v ON v.code = s.division AND v.level = 'village' AND {EXISTS_ON_DAY}""",
            _and_in("v.county_code", counties),
            f"""
WHERE EXISTS (
    SELECT 1 FROM service_case c
    WHERE c.site = s.id AND c.received_at >= d.lo AND c.received_at < d.hi
)
AND (
    SELECT e.status FROM status_event e
    WHERE e.site = s.id AND e.effective_date <= d.day
    ORDER BY e.effective_date DESC, e.id DESC
    LIMIT 1
) IN ({_listed(maths.POINT_IN_SERVICE)})
GROUP BY d.i, v.{column}
""",
        ),
    )


def in_service_statement(unit: str, counties: Sequence[str] | None) -> QueryString:
    """Rows (site, village, unit, established_on, abolished_on, since, until): each span an
    agency point on a village spends in service (the sources of ``points_active`` as a step
    function, :func:`registry.coverage.steps.build_active`; same joins as
    :func:`active_statement`)."""
    column = _column(unit)
    return with_(
        [("spans", spans(counties))],
        compose(
            f"""
SELECT s.id AS site, v.code AS village, v.{column} AS unit,
       v.established_on, v.abolished_on, sp.since, sp.until
FROM spans sp
JOIN site s ON s.id = sp.site AND s.kind IN ({POINTS})""",
            _and_in("s.county_code", counties),
            """
JOIN division v ON v.code = s.division AND v.level = 'village'""",
            _and_in("v.county_code", counties),
            f"""
WHERE sp.status IN ({_listed(maths.POINT_IN_SERVICE)})
AND (sp.until IS NULL OR sp.until > sp.since)
""",
        ),
    )


def case_days_statement(dialect: Dialect, counties: Sequence[str] | None) -> QueryString:
    """Rows (site, day): the Asia/Shanghai days (ordinals) on which each agency point of
    ``counties`` received a case."""
    return compose(
        f"""
SELECT c.site AS site, {dialect.case_day} AS day
FROM service_case c
JOIN site s ON s.id = c.site AND s.kind IN ({POINTS})""",
        _and_in("s.county_code", counties),
        """
GROUP BY c.site, day
""",
    )


# --------------------------------------------------------------------------- monthly series

# Each flag (a Counts field) is true for a division over a union of date spans: a site's span
# in a counting status, clipped to the division's life, merged across the division's sites
# ("gaps and islands") so a village counts once; each division's life is a span for the
# totals. A span adds +1 at its start and −1 at its end; edges are bucketed by month index in
# the database and the running sum over the months is the count on each month's value date.
# Same definitions as counts_statement, except points_active (not part of the series).
FLAG_DEFS = "VALUES " + ", ".join(
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
# Spans whose start is covered by an earlier span of the same flag and division are not fresh.
MARKED = """
    SELECT flag, division, unit, since, until,
        CASE WHEN MAX(until) OVER (
                 PARTITION BY flag, division ORDER BY since, until
                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
             ) >= since THEN 0 ELSE 1 END AS fresh
    FROM sat
    WHERE since < until
"""
NUMBERED = """
    SELECT flag, division, unit, since, until,
        SUM(fresh) OVER (
            PARTITION BY flag, division ORDER BY since, until ROWS UNBOUNDED PRECEDING
        ) AS island
    FROM marked
"""
ISLANDS = """
    SELECT flag, unit, MIN(since) AS since, MAX(until) AS until
    FROM numbered
    GROUP BY flag, division, unit, island
"""
EDGES = """
    SELECT flag, unit, since AS at, 1 AS delta FROM islands
    UNION ALL SELECT flag, unit, until AS at, -1 AS delta FROM islands
    UNION ALL SELECT flag, unit, since AS at, 1 AS delta FROM lives WHERE since < until
    UNION ALL SELECT flag, unit, until AS at, -1 AS delta FROM lives WHERE since < until
"""


def _saturated(dialect: Dialect, column: str, counties: Sequence[str] | None) -> QueryString:
    """The counting spans per flag and division, clipped to the division's life."""
    return compose(
        f"""
    SELECT f.flag, v.code AS division, v.{column} AS unit,
        CASE WHEN v.established_on IS NOT NULL AND v.established_on > sp.since
             THEN v.established_on ELSE sp.since END AS since,
        CASE WHEN sp.until IS NULL THEN COALESCE(v.abolished_on, {dialect.forever})
             WHEN v.abolished_on IS NOT NULL AND v.abolished_on < sp.until THEN v.abolished_on
             ELSE sp.until END AS until
    FROM spans sp
    JOIN site s ON s.id = sp.site
    JOIN flag_defs f ON f.kind = s.kind AND f.status = sp.status
    JOIN division v ON v.code = s.division""",
        _and_in("v.county_code", counties),
        "\n",
    )


def _lives(dialect: Dialect, column: str, counties: Sequence[str] | None) -> QueryString:
    """Each village's and township's life, a span of the totals."""
    return compose(
        f"""
    SELECT CASE WHEN v.level = 'village' THEN 'villages_total' ELSE 'townships_total' END
               AS flag,
           v.{column} AS unit,
           COALESCE(v.established_on, {dialect.always}) AS since,
           COALESCE(v.abolished_on, {dialect.forever}) AS until
    FROM division v
    WHERE {COUNTED_LEVELS}""",
        _and_in("v.county_code", counties),
        "\n",
    )


def _bucketed(dialect: Dialect, first: date, as_of: date) -> QueryString:
    """The edges up to ``as_of`` summed per month index (0: ``first``'s month or before)."""
    month = dialect.month_of_at
    first_month = first.year * 12 + first.month  # an int of our making, written as text
    return compose(
        f"""
SELECT flag, unit, idx, SUM(delta) AS delta
FROM (
    SELECT flag, unit, delta,
        CASE WHEN {month} < {first_month} THEN 0
             ELSE {month} - {first_month} END AS idx
    FROM edges
    WHERE at <= """,
        QueryString(dialect.date, as_of),
        """
) bucketed
GROUP BY flag, unit, idx
""",
    )


def series_statement(
    dialect: Dialect, days: Sequence[date], unit: str, counties: Sequence[str] | None
) -> QueryString:
    """Rows (flag, unit, idx, delta): the change of each count per unit at month ``idx`` of
    ``days`` (the series' value dates, one per month), of ``counties`` (``None``: all)."""
    column = _column(unit)
    return with_(
        [
            ("flag_defs (flag, kind, status)", FLAG_DEFS),
            ("spans", spans(counties)),
            ("sat", _saturated(dialect, column, counties)),
            ("marked", MARKED),
            ("numbered", NUMBERED),
            ("islands", ISLANDS),
            ("lives", _lives(dialect, column, counties)),
            ("edges", EDGES),
        ],
        _bucketed(dialect, days[0], days[-1]),
    )


# --------------------------------------------------------------------------- step functions

# The same spans and edges as the series, with the division level each flag counts on (as
# counts_statement: points on villages, centres on townships), summed per unit and date
# instead of per month: the change dates of each count's step function
# (:mod:`registry.coverage.steps`), with no date bound, so any date can be read from them.
STEP_FLAG_DEFS = "VALUES " + ", ".join(
    f"('{flag}', '{kind}', '{status}', '{level}')"
    for flag, kinds, statuses, level in (
        ("points_built", POINT_KINDS, maths.POINT_BUILT, "village"),
        ("points_in_service", POINT_KINDS, maths.POINT_IN_SERVICE, "village"),
        ("centres_in_service", CENTRE_KINDS, maths.CENTRE_IN_SERVICE, "township"),
        ("centres_standardized", CENTRE_KINDS, maths.CENTRE_STANDARDIZED, "township"),
    )
    for kind in kinds
    for status in statuses
)
STEPS_SELECT = """
SELECT flag, unit, at, SUM(delta) AS delta
FROM edges
WHERE flag IS NOT NULL
GROUP BY flag, unit, at
HAVING SUM(delta) <> 0
"""


def _step_saturated(dialect: Dialect, column: str, counties: Sequence[str] | None) -> QueryString:
    """The counting spans per flag and division, clipped to the division's life; a span of a
    site on a division of another level than its flag counts (a point on a township) has no
    flag and is left out at the end. (The level is not a join condition: the planners of both
    engines then joined the flags to every division of a level first.)"""
    return compose(
        f"""
    SELECT CASE WHEN v.level = f.level THEN f.flag END AS flag,
        v.code AS division, v.{column} AS unit,
        CASE WHEN v.established_on IS NOT NULL AND v.established_on > sp.since
             THEN v.established_on ELSE sp.since END AS since,
        CASE WHEN sp.until IS NULL THEN COALESCE(v.abolished_on, {dialect.forever})
             WHEN v.abolished_on IS NOT NULL AND v.abolished_on < sp.until THEN v.abolished_on
             ELSE sp.until END AS until
    FROM spans sp
    JOIN site s ON s.id = sp.site
    JOIN flag_defs f ON f.kind = s.kind AND f.status = sp.status
    JOIN division v ON v.code = s.division""",
        _and_in("v.county_code", counties),
        "\n",
    )


def steps_statement(dialect: Dialect, unit: str, counties: Sequence[str] | None) -> QueryString:
    """Rows (flag, unit, at, delta): the change of each count but ``points_active`` per unit
    on each date it changes, of ``counties`` (``None``: all)."""
    column = _column(unit)
    return with_(
        [
            ("flag_defs (flag, kind, status, level)", STEP_FLAG_DEFS),
            ("spans", spans(counties)),
            ("sat", _step_saturated(dialect, column, counties)),
            ("marked", MARKED),
            ("numbered", NUMBERED),
            ("islands", ISLANDS),
            ("lives", _lives(dialect, column, counties)),
            ("edges", EDGES),
        ],
        STEPS_SELECT,
    )


# --------------------------------------------------------------------------- running them


async def _rows(statement: QueryString) -> list[dict[str, Any]]:
    return await StatusEvent.raw("{}", statement)


async def counts_on(
    engine: Any, days: Sequence[date], unit: str, counties: list[str] | None
) -> list[dict[str, maths.Counts]]:
    """Counts but ``points_active`` per unit on each of ``days``, of ``counties`` (``None``:
    all): one dict per day, unit code → counts."""
    out: list[dict[str, maths.Counts]] = [{} for _ in days]
    for row in await _rows(counts_statement(dialect_of(engine), days, unit, counties)):
        out[int(row["i"])][row["unit"]] = maths.Counts(
            villages_total=int(row["villages_total"]),
            points_built=int(row["points_built"]),
            points_in_service=int(row["points_in_service"]),
            townships_total=int(row["townships_total"]),
            centres_in_service=int(row["centres_in_service"]),
            centres_standardized=int(row["centres_standardized"]),
        )
    return out


async def active_on(
    engine: Any, days: Sequence[date], unit: str, counties: list[str] | None
) -> list[dict[str, int]]:
    """``points_active`` per unit on each of ``days`` (units with none absent)."""
    out: list[dict[str, int]] = [{} for _ in days]
    for row in await _rows(active_statement(dialect_of(engine), days, unit, counties)):
        out[int(row["i"])][row["unit"]] = int(row["points_active"])
    return out


async def series_on(
    engine: Any, days: Sequence[date], unit: str, counties: list[str] | None
) -> list[dict[str, maths.Counts]]:
    """Counts per unit on each of ``days`` (one per month, see
    :func:`registry.coverage.rules.series_days`; ``points_active`` left 0), from the edges
    of the status and existence spans."""
    n = len(days)
    deltas: dict[str, dict[str, list[int]]] = {}
    for row in await _rows(series_statement(dialect_of(engine), days, unit, counties)):
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


async def in_service_spans(
    engine: Any, unit: str, counties: list[str] | None
) -> list[dict[str, Any]]:
    """The rows of :func:`in_service_statement` of ``counties`` (``None``: all)."""
    return await _rows(in_service_statement(unit, counties))


async def case_days(engine: Any, counties: list[str] | None) -> list[dict[str, Any]]:
    """The rows of :func:`case_days_statement` of ``counties`` (``None``: all)."""
    return await _rows(case_days_statement(dialect_of(engine), counties))


async def point_counties(engine: Any, counties: list[str]) -> list[tuple[int, str]]:
    """(id, county) of the agency points of ``counties``, by id (whatever their status)."""
    rows = await _rows(
        compose(
            f"SELECT id, county_code FROM site WHERE kind IN ({POINTS})",
            _and_in("county_code", counties),
            " ORDER BY id",
        )
    )
    return [(int(r["id"]), r["county_code"]) for r in rows]


async def steps_on(engine: Any, unit: str, counties: list[str] | None) -> list[tuple[Any, ...]]:
    """The edges ``(flag, unit, at, delta)`` of :func:`steps_statement` (``at`` a date, or ISO
    text on SQLite)."""
    rows = await _rows(steps_statement(dialect_of(engine), unit, counties))
    return [(r["flag"], r["unit"], r["at"], int(r["delta"])) for r in rows]
