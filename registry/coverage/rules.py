"""Coverage maths: the figures of CONTRACT.md "Coverage definitions", as pure functions.

For a unit (county, township or the city) and a date D, every count is *as of D*, from the dated
status events (never the current state):

- ``villages_total``: village-level divisions (村, 社区) existing on D
  (``established_on ≤ D < abolished_on``, nulls meaning always / still);
- ``points_built``: of those, the ones whose agency point's status on D is built or in_service;
- ``points_in_service``: … in_service; ``points_active``: … in service and received ≥ 1 case in
  the 90 days up to D (D − 89 … D, Asia/Shanghai days);
- ``townships_total``: township-level divisions existing on D (乡, 镇, 街道; the statistics'
  类似乡级单位 — farms, development zones — carry villages but no centre and are not counted);
  ``centres_in_service``: those whose centre is in_service or standardized on D;
  ``centres_standardized``: standardized.

Ratios are exact fractions; a ratio whose denominator is 0 is null with a flag saying why.
The services compute the counts with SQL; :func:`count_on` is the same definition written
plainly over in-memory histories, for tests and cross-checks.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from fractions import Fraction

import msgspec

from geo.render import ClassScheme
from registry.core.errors import RuleViolation
from registry.divisions.rules import CENTRE_KINDS, POINT_KINDS, STATISTICAL_TOWNSHIP, exists_on
from registry.sites.rules import status as status_rules

DEFAULT_CAMPAIGN = "agency-points-2013"
FIGURES = ("agency_coverage", "standardization")
FIGURE_LABELS_ZH = {"agency_coverage": "代办点覆盖率", "standardization": "便民服务中心标准化率"}

POINT_BUILT = ("built", "in_service")
POINT_IN_SERVICE = ("in_service",)
CENTRE_IN_SERVICE = ("in_service", "standardized")
CENTRE_STANDARDIZED = ("standardized",)
ACTIVE_WINDOW_DAYS = 90
PROJECTION_WINDOW = 6

# Why a ratio is null.
NO_VILLAGES = "no_villages"
NO_TOWNSHIPS = "no_townships"
FLAG_LABELS_ZH = {
    NO_VILLAGES: "该日无村(社区)，覆盖率无意义",
    NO_TOWNSHIPS: "该日无乡镇(街道)，标准化率无意义",
}

# The map classes of a share: fixed intervals, so maps of different dates and campaigns compare
# directly — 0–20 %, 20–40 %, 40–60 %, 60–80 %, 80–<100 %, and 100 % on its own (the goal
# reached); lower bounds inclusive (20 % falls in 20–40 %). ColorBrewer YlGn (sequential,
# colour-blind safe, prints in grey). The pages get the same scheme from /static/vocab.js.
COVERAGE_CLASSES = ClassScheme(
    name="固定区间（等间距 20%，100% 单列）",
    breaks=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
    colours=("#ffffcc", "#d9f0a3", "#addd8e", "#78c679", "#31a354", "#006837"),
    labels=("0–20%", "20–40%", "40–60%", "60–80%", "80–<100%", "100%（完成）"),
)

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class Campaign(msgspec.Struct, frozen=True, gc=False):
    """A dated campaign whose figure is tracked (campaigns are data, see table Campaign).

    Like :class:`Counts`, out of the cyclic collector's sight (``gc=False``): it holds strings
    and dates only, so it can take part in no reference cycle."""

    code: str
    name: str
    start_on: date
    deadline: date
    figure: str


class Counts(msgspec.Struct, frozen=True, gc=False):
    """The seven counts of a unit on one date. Counts add up: a county is the sum of its
    townships, the city the sum of its counties.

    Not tracked by the cyclic garbage collector (``gc=False``: integers only, no cycle can go
    through one): the server keeps hundreds of thousands of them (the nation's units on the
    dates asked), and each full collection walked them all — 0.3 s pauses under load."""

    villages_total: int = 0
    points_built: int = 0
    points_in_service: int = 0
    points_active: int = 0
    townships_total: int = 0
    centres_in_service: int = 0
    centres_standardized: int = 0

    def __add__(self, other: Counts) -> Counts:
        pairs = zip(msgspec.structs.astuple(self), msgspec.structs.astuple(other), strict=True)
        return Counts(*(a + b for a, b in pairs))

    def fraction(self, figure: str) -> tuple[int, int]:
        """(numerator, denominator) of ``agency_coverage`` or ``standardization``."""
        if figure == "agency_coverage":
            return self.points_in_service, self.villages_total
        if figure == "standardization":
            return self.centres_standardized, self.townships_total
        raise ValueError(f"unknown figure {figure!r}")


def total(counts: Iterable[Counts]) -> Counts:
    """The sum of ``counts``, field by field (one pass; an area sums thousands of counties)."""
    columns = list(zip(*map(msgspec.structs.astuple, counts), strict=True))
    return Counts(*map(sum, columns)) if columns else Counts()


# --------------------------------------------------------------------------- ratios, targets


def ratio(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator``, or None when the denominator is 0 (never a division by 0)."""
    if denominator == 0:
        return None
    return numerator / denominator


def null_flags(counts: Counts) -> tuple[str, ...]:
    """Why ratios of ``counts`` are null: ``no_villages``, ``no_townships`` (empty if none).
    A tuple: kept in every unit's figures, and a tuple of strings is not tracked by the cyclic
    collector (a list is)."""
    flags: tuple[str, ...] = ()
    if counts.villages_total == 0:
        flags += (NO_VILLAGES,)
    if counts.townships_total == 0:
        flags += (NO_TOWNSHIPS,)
    return flags


def linear_target(campaign: Campaign, day: date) -> Fraction:
    """The linear target share: 0 at the campaign start, 1 at its deadline, 1 after it."""
    if day <= campaign.start_on:
        return Fraction(0)
    if day >= campaign.deadline:
        return Fraction(1)
    span = (campaign.deadline - campaign.start_on).days
    return Fraction((day - campaign.start_on).days, span)


def on_track(numerator: int, denominator: int, target: float | Fraction) -> bool | None:
    """figure ≥ target, compared exactly; None when the figure is null.

    In integers: ``n/d ≥ p/q`` is ``n·q ≥ p·d`` for positive ``d`` and ``q`` (a Fraction's
    denominator is; a float's exact ratio too) — what comparing two Fractions computes, without
    making them (this runs for every unit of every answer)."""
    if denominator == 0:
        return None
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    if isinstance(target, Fraction):
        p, q = target.numerator, target.denominator
    else:
        p, q = float(target).as_integer_ratio()
    return numerator * q >= p * denominator


def achieved(numerator: int, denominator: int) -> bool | None:
    """figure = 1; None when the figure is null."""
    if denominator == 0:
        return None
    return numerator == denominator


# --------------------------------------------------------------------------- dates


def months_between(first: date, last: date) -> list[date]:
    """The last day of every month from ``first``'s month to ``last``'s month, inclusive."""
    out = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(date(year, month, calendar.monthrange(year, month)[1]))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def series_days(start: date, as_of: date) -> list[date]:
    """The dates the monthly values are taken on, from the campaign start to ``as_of``.

    One per month from the start month to ``as_of``'s month: the month's last day, except the
    month of ``as_of`` whose value is taken on ``as_of`` itself.
    """
    if as_of < start:
        return []
    return [min(end, as_of) for end in months_between(start, as_of)]


def active_window(day: date) -> tuple[date, date]:
    """First and last Asia/Shanghai day of the 90 days up to ``day`` (both inclusive)."""
    return day - timedelta(days=ACTIVE_WINDOW_DAYS - 1), day


def parse_as_of(raw: str | None, campaign: Campaign, today: date) -> date:
    """The ``as_of`` date of a request: today when absent, else an ISO date within the campaign.

    Policy (no silent clamping, so a quoted figure is always "as of" the date asked for):
    malformed → ``invalid_as_of``; after today (Asia/Shanghai) → ``as_of_in_future``; before
    the campaign's start → ``as_of_before_campaign``. All are 422.
    """
    if raw is None or raw.strip() == "":
        day = today
    else:
        text = raw.strip()
        try:
            if not _ISO_DATE.match(text):
                raise ValueError(text)
            day = date.fromisoformat(text)
        except ValueError:
            raise RuleViolation(
                "invalid_as_of",
                f"as_of 应为 YYYY-MM-DD 格式的日期，收到 {text[:20]!r}",
                f"as_of must be a date YYYY-MM-DD, got {text[:20]!r}",
                "as_of",
            ) from None
    if day > today:
        raise RuleViolation(
            "as_of_in_future",
            f"as_of {day} 晚于今天（{today}），未来的数字无法统计",
            f"as_of {day} is after today ({today}); figures of the future are not known",
            "as_of",
            today=today.isoformat(),
        )
    if day < campaign.start_on:
        raise RuleViolation(
            "as_of_before_campaign",
            f"as_of {day} 早于“{campaign.name}”开始日期 {campaign.start_on}",
            f"as_of {day} is before the start of campaign {campaign.code} ({campaign.start_on})",
            "as_of",
            campaign_start=campaign.start_on.isoformat(),
        )
    return day


# --------------------------------------------------------------------------- projection


def projected_completion(
    points: Sequence[tuple[date, float | Fraction | None]], window: int = PROJECTION_WINDOW
) -> date | None:
    """The date a least-squares line through the last ``window`` monthly values reaches 1.

    ``points`` are (day, value) in date order; null values are skipped before taking the last
    ``window``. None when fewer than two values remain or the trend is flat or falling. The
    fit is exact (fractions of day ordinals), so a flat series is exactly flat. The date is the
    first day on which the line is ≥ 1 (it may lie in the past for a series that has just
    reached 1).
    """
    ratios = []
    for d, v in points:
        if v is not None:
            f = v if isinstance(v, Fraction) else Fraction(v)
            ratios.append((d, f.numerator, f.denominator))
    return _projection(ratios, window)


def _projection(ratios: Sequence[tuple[date, int, int]], window: int) -> date | None:
    """:func:`projected_completion` of (day, numerator, denominator) values, in integers.

    With ``x`` the day ordinals, ``Y = y·L`` (``L`` the least common multiple of the
    denominators) and ``n`` values: ``A = nΣx² − (Σx)²`` (``n²`` times the variance of x),
    ``B = nΣxY − ΣxΣY``; the slope is ``B / (L·A)`` and the line reaches 1 at
    ``(Σx·B + (nL − ΣY)·A) / (n·B)`` — the same exact value as the least-squares fit over
    fractions, without building a fraction (this runs for every unit of every request).
    """
    values = ratios[-window:]
    n = len(values)
    if n < 2:
        return None
    first = values[0][1:]
    if all(v[1:] == first for v in values):
        return None  # flat (most units on most dates): the slope is 0
    scale = math.lcm(*(den for _, _, den in values))
    xs = [d.toordinal() for d, _, _ in values]
    ys = [num * (scale // den) for _, num, den in values]
    sum_x, sum_y = sum(xs), sum(ys)
    a = n * sum(x * x for x in xs) - sum_x * sum_x
    if a == 0:
        return None
    b = n * sum(x * y for x, y in zip(xs, ys, strict=True)) - sum_x * sum_y
    if b <= 0:
        return None
    numerator = sum_x * b + (n * scale - sum_y) * a
    ordinal = -(-numerator // (n * b))  # the first whole day on or after the crossing
    if ordinal > date.max.toordinal():
        return None
    return date.fromordinal(max(ordinal, 1))


# --------------------------------------------------------------------------- one unit's figures


class Figures(msgspec.Struct, frozen=True):
    """Every figure of one unit on one date."""

    counts: Counts
    agency_coverage: float | None
    standardization: float | None
    figure: float | None
    target: float
    on_track: bool | None
    achieved: bool | None
    projected_completion: date | None
    flags: tuple[str, ...]


def figures(
    counts: Counts,
    campaign: Campaign,
    target: float | Fraction,
    history: Sequence[tuple[date, Counts]] = (),
) -> Figures:
    """The figures of ``counts`` for ``campaign`` against ``target``.

    Args:
        counts: the unit's counts on the date.
        campaign: decides which figure is the campaign's (agency_coverage or standardization).
        target: the target share on the date (approved plan, else :func:`linear_target`).
        history: (day, counts) of the monthly values up to and including the date, for the
            projected completion.
    """
    num, den = counts.fraction(campaign.figure)
    series = [(d, *c.fraction(campaign.figure)) for d, c in history]
    return Figures(
        counts=counts,
        agency_coverage=ratio(counts.points_in_service, counts.villages_total),
        standardization=ratio(counts.centres_standardized, counts.townships_total),
        figure=ratio(num, den),
        target=float(target),
        on_track=on_track(num, den, target),
        achieved=achieved(num, den),
        projected_completion=_projection([r for r in series if r[2]], PROJECTION_WINDOW),
        flags=null_flags(counts),
    )


def fraction_or_none(num: int, den: int) -> Fraction | None:
    """``num / den`` exactly, or None when ``den`` is 0."""
    return None if den == 0 else Fraction(num, den)


def weighted_target(parts: Sequence[tuple[float | Fraction, int]], fallback: Fraction) -> Fraction:
    """The city's target: the mean of county targets weighted by their denominators.

    Equal to the linear target when every county uses it; ``fallback`` when all weights are 0.
    """
    by_target: dict[float | Fraction, int] = {}
    for t, w in parts:  # counties sharing a target (every linear one) add up first
        by_target[t] = by_target.get(t, 0) + w
    weight = sum(by_target.values())
    if weight == 0:
        return fallback
    return sum((Fraction(t) * w for t, w in by_target.items()), Fraction(0)) / weight


# --------------------------------------------------------------------------- reference count


class DivisionSpan(msgspec.Struct, frozen=True):
    """A village or township division with its lifetime."""

    code: str
    level: str
    county_code: str
    township_code: str
    established_on: date | None = None
    abolished_on: date | None = None
    kind: str = ""


class SiteHistory(msgspec.Struct, frozen=True):
    """A site on a division with its dated status events (and the days it received cases)."""

    id: int
    division_code: str
    kind: str
    events: list[status_rules.DatedStatus]
    case_days: list[date] = []


def history(
    kind: str, steps: Sequence[tuple[str, date] | tuple[str, date, str]], today: date
) -> list[status_rules.DatedStatus]:
    """Dated events of a hand-built history, checked by the status rules on the way.

    Raises:
        RuleViolation: as the registry would refuse the same sequence (e.g. a centre
            standardized before it was in service).
    """
    events: list[status_rules.DatedStatus] = []
    previous: str | None = None
    last: date | None = None
    for seq, step in enumerate(steps):
        status, day = step[0], step[1]
        note = step[2] if len(step) > 2 else None
        status_rules.check_effective_date(day, today, last)
        if previous is None:
            status_rules.check_initial(status, kind)
        else:
            status_rules.check_transition(previous, status, kind, note)
        events.append(status_rules.DatedStatus(status=status, effective_date=day, seq=seq))
        previous, last = status, day
    return events


def count_on(
    day: date,
    divisions: Iterable[DivisionSpan],
    sites: Iterable[SiteHistory],
    key: Callable[[DivisionSpan], str] = lambda d: d.county_code,
) -> dict[str, Counts]:
    """The counts on ``day`` per ``key`` (county by default), written plainly from the
    definitions. Units with no existing division are absent."""
    first, last = active_window(day)
    by_division: dict[str, list[SiteHistory]] = {}
    for site in sites:
        by_division.setdefault(site.division_code, []).append(site)
    out: dict[str, dict[str, int]] = {}
    for division in divisions:
        if not exists_on(division.established_on, division.abolished_on, day):
            continue
        row = out.setdefault(key(division), dict.fromkeys(Counts.__struct_fields__, 0))
        on_day = [
            (site, status_rules.status_on(site.events, day))
            for site in by_division.get(division.code, [])
        ]
        if division.level == "village":
            points = [(s, st) for s, st in on_day if s.kind in POINT_KINDS]
            row["villages_total"] += 1
            row["points_built"] += any(st in POINT_BUILT for _, st in points)
            row["points_in_service"] += any(st in POINT_IN_SERVICE for _, st in points)
            row["points_active"] += any(
                st in POINT_IN_SERVICE and any(first <= c <= last for c in s.case_days)
                for s, st in points
            )
        elif division.level == "township" and division.kind != STATISTICAL_TOWNSHIP:
            centres = [st for s, st in on_day if s.kind in CENTRE_KINDS]
            row["townships_total"] += 1
            row["centres_in_service"] += any(st in CENTRE_IN_SERVICE for st in centres)
            row["centres_standardized"] += any(st in CENTRE_STANDARDIZED for st in centres)
    return {k: Counts(**v) for k, v in out.items()}
