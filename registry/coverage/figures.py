"""Coverage figures: a unit's figures and an area's (the root: a city, a province or the
nation; or a province or city within it; the answer of all its units is
:mod:`registry.coverage.areas`), per township, the monthly series, campaigns.

The counts come from :mod:`registry.coverage.cache` (counted by :mod:`registry.coverage.sql`);
the maths on them (ratios, targets, projection) is :mod:`registry.coverage.rules`. A county's
target share comes from its plan (:mod:`registry.plans.service`) or, without one, the campaign's
linear target; a city's, province's or the root's is its counties' weighted by their
denominators. A county-level unit is a county, or a city whose townships hang directly under it
(东莞, 中山, 儋州, 嘉峪关).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from datetime import date
from fractions import Fraction
from typing import Any

from registry.core import clock
from registry.core.codes import (
    NATION,
    covers,
    level_of_code,
    like_prefix,
    normalise_code,
)
from registry.core.errors import RuleViolation
from registry.core.settings import get_settings
from registry.coverage import cache
from registry.coverage import rules as maths
from registry.coverage.schemas import (
    CampaignInfo,
    CampaignList,
    SeriesPoint,
    Timeseries,
    TownshipCoverage,
    UnitFigures,
)
from registry.divisions.rules import exists_on
from registry.plans.service import target_share_series_many
from registry.tables import Campaign, Division

AREA_LEVELS = ("nation", "province", "city")
# Units' figures kept by their inputs (the nation's counties, cities and provinces on a few
# dates; a unit's figures are a few hundred bytes).
UNITS_KEPT = 32_768
# What the total of an area is called in a report or on a map.
TOTAL_WORDS = {"nation": "全国", "province": "全省", "city": "全市"}


# --------------------------------------------------------------------------- campaigns


def campaign_info_of(c: maths.Campaign) -> CampaignInfo:
    return CampaignInfo(
        code=c.code,
        name=c.name,
        start_on=c.start_on,
        deadline=c.deadline,
        figure=c.figure,
        figure_label=maths.FIGURE_LABELS_ZH.get(c.figure, c.figure),
    )


async def list_campaigns() -> CampaignList:
    rows = await Campaign.select().order_by(Campaign.start_on).order_by(Campaign.code)
    items = [campaign_info_of(_campaign_row(r)) for r in rows]
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


# --------------------------------------------------------------------------- divisions


async def get_county(raw: str, field: str = "county") -> tuple[str, str]:
    """(code, name) of a county-level unit within the root; 422 ``unknown_county``."""
    code = normalise_code(raw, field=field)
    row = None
    if level_of_code(code) in ("county", "city") and covers(get_settings().root_code, code):
        row = (
            await Division.select(Division.code, Division.name, Division.level)
            .where(Division.code == code)
            .first()
        )
        if row is not None and row["level"] == "city":
            # A city is a county-level unit only when townships hang directly under it.
            has = await Division.exists().where(
                (Division.county_code == code) & (Division.level == "township")
            )
            row = row if has else None
    if row is None:
        root = await area(None)
        raise RuleViolation(
            "unknown_county",
            f"{code} 不是{root[1]}的县级区划",
            f"{code} is not a county of {root[1]}",
            field,
        )
    return row["code"], row["name"]


async def area(raw: str | None, field: str = "within") -> tuple[str, str, str]:
    """(code, name, level) of the area figures are totalled for: the root by default, or a
    province or city within it; 422 ``unknown_area``."""
    root = get_settings().root_code
    code = root if not raw else normalise_code(raw, field=field)
    level = level_of_code(code)
    if code == NATION:
        if code == root:
            return code, "全国", level
    elif level in AREA_LEVELS and covers(root, code):
        row = await Division.select(Division.name).where(Division.code == code).first()
        if row is not None:
            return code, row["name"], level
    raise RuleViolation(
        "unknown_area",
        f"{code} 不是本系统所辖的省、市",
        f"{code} is not a province or city this registry serves",
        field,
    )


async def _divisions(
    level: str, day: date, county: str | None = None, within: str | None = None
) -> list[dict[str, Any]]:
    query = Division.select(
        Division.code,
        Division.name,
        Division.county_code,
        Division.established_on,
        Division.abolished_on,
    ).where(Division.level == level)
    if county:
        query = query.where(Division.county_code == county)
    else:
        query = query.where(Division.code.like(like_prefix(within or get_settings().root_code)))
    rows = await query.order_by(Division.code)
    return [r for r in rows if exists_on(r["established_on"], r["abolished_on"], day)]


async def county_units(
    day: date, within: str, codes: Collection[str] | None = None
) -> list[dict[str, Any]]:
    """The county-level units within an area existing on ``day``: its counties, and its cities
    whose townships hang directly under them (only those of ``codes`` if given)."""
    if codes is None:
        rows = await cache.divisions_read(("county units", within), lambda: _units(within, None))
    else:
        rows = await _units(within, codes)
    return [r for r in rows if exists_on(r["established_on"], r["abolished_on"], day)]


async def _units(within: str, codes: Collection[str] | None) -> list[dict[str, Any]]:
    """:func:`county_units` on every date (with their lifetimes)."""
    pattern = like_prefix(within)
    query = Division.select(
        Division.code,
        Division.name,
        Division.level,
        Division.established_on,
        Division.abolished_on,
    ).where(Division.level.is_in(["county", "city"]) & Division.code.like(pattern))
    if codes is not None:
        query = query.where(Division.code.is_in(list(codes) or [""]))
    rows = await query.order_by(Division.code)
    if any(r["level"] == "city" for r in rows):
        townships = Division.select(Division.county_code).where(
            (Division.level == "township") & Division.code.like(pattern)
        )
        if codes is not None:
            townships = townships.where(Division.county_code.is_in(list(codes) or [""]))
        direct = {r["county_code"] for r in await townships.distinct()}
        rows = [r for r in rows if r["level"] == "county" or r["code"] in direct]
    return rows


async def names_of(codes: Sequence[str]) -> dict[str, str]:
    """The divisions' names, by code (kept until a division write: see
    :func:`registry.coverage.cache.divisions_read`)."""
    if not codes:
        return {}

    async def read() -> dict[str, str]:
        rows = await Division.select(Division.code, Division.name).where(
            Division.code.is_in(list(codes))
        )
        return {r["code"]: r["name"] for r in rows}

    return await cache.divisions_read(("names", tuple(codes)), read)


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


@functools.lru_cache(maxsize=UNITS_KEPT)
def unit_figures(
    code: str,
    name: str,
    level: str,
    history: tuple[tuple[date, maths.Counts], ...],
    campaign: maths.Campaign,
    target: Fraction,
    source: str,
    county: tuple[str, str] | None = None,
) -> UnitFigures:
    """A unit's figures: a pure function of its inputs, so made once per distinct input (after
    a write most units' figures are what they were). Shared by the answers — never changed."""
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
    weight = sum(counts[c].fraction(campaign.figure)[1] for c in targets if c in counts)
    plans = _plans(targets)
    return _area_target(campaign, day, weight, counts, plans, index), _source(targets)


def _plans(targets: dict[str, tuple[list[Fraction], str]]) -> list[tuple[str, list[Fraction]]]:
    """The counties on a plan, with their target series."""
    return [(code, series) for code, (series, source) in targets.items() if source == "plan"]


def _source(targets: dict[str, tuple[list[Fraction], str]]) -> str:
    """An area's target source: ``plan`` when one of its counties has one."""
    return "plan" if any(source == "plan" for _, source in targets.values()) else "linear"


def _area_target(
    campaign: maths.Campaign,
    day: date,
    weight: int,
    counts: dict[str, maths.Counts],
    plans: list[tuple[str, list[Fraction]]],
    index: int,
) -> Fraction:
    """The target of an area whose counties weigh ``weight`` in all: the counties on a plan
    (``plans``) weighted one by one (their ``counts``), the rest sharing the linear target with
    what is left of the weight — the sum :func:`maths.weighted_target` makes, without a
    Fraction per county."""
    linear = maths.linear_target(campaign, day)
    parts: list[tuple[Fraction, int]] = []
    planned = 0
    for code, series in plans:
        found = counts.get(code)
        if found is not None:
            share = found.fraction(campaign.figure)[1]
            planned += share
            parts.append((series[index], share))
    parts.append((linear, weight - planned))
    return maths.weighted_target(parts, linear)


def group_figures(
    code: str,
    name: str,
    level: str,
    members: Sequence[str],
    sums: Sequence[dict[str, maths.Counts]],
    per_day: Sequence[dict[str, maths.Counts]],
    days: Sequence[date],
    camp: maths.Campaign,
    targets: dict[str, tuple[list[Fraction], str]],
) -> UnitFigures:
    """The figures of an area: its counts per day (``sums``: its counties' summed, maybe
    through its cities or provinces), its counties' targets weighted by their counts."""
    history = tuple((d, sums[i][code]) for i, d in enumerate(days))
    mine = {c: targets[c] for c in members if c in targets}
    target, source = _city_target(camp, days[-1], per_day[-1], mine, len(days) - 1)
    return unit_figures(code, name, level, history, camp, target, source)


async def township_figures(
    camp: maths.Campaign,
    day: date,
    days: Sequence[date],
    county: tuple[str, str] | None,
    county_target: tuple[list[Fraction], str] | None = None,
    within: str | None = None,
) -> list[UnitFigures]:
    county_code = county[0] if county else None
    per_day = await cache.counts_by(days, "township", county=county_code, active={day})
    townships = await _divisions("township", day, county_code, within)
    names = {c["code"]: c["name"] for c in await county_units(day, get_settings().root_code)}
    if county_target is not None and county_code is not None:
        targets = {county_code: county_target}
    else:
        targets = await county_targets(sorted({t["county_code"] for t in townships}), camp, days)
    out = []
    for t in townships:
        series, source = targets[t["county_code"]]
        history = tuple((d, per_day[i].get(t["code"], maths.Counts())) for i, d in enumerate(days))
        out.append(
            unit_figures(
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
    as_of: str | None, campaign: str | None, county: str | None = None, within: str | None = None
) -> TownshipCoverage:
    """Every township's figures on ``as_of`` (of one county, or of the area ``within``,
    default the registry's root). A township's target is its county's."""
    camp = await get_campaign(campaign)
    day = maths.parse_as_of(as_of, camp, clock.today())
    drill = await get_county(county) if county else None
    area_code = None if drill else (await area(within))[0]
    days = maths.series_days(camp.start_on, day)[-maths.PROJECTION_WINDOW :]

    async def build() -> TownshipCoverage:
        items = await township_figures(camp, day, days, drill, within=area_code)
        return TownshipCoverage(
            as_of=day,
            campaign=camp.code,
            county=drill[0] if drill else None,
            items=items,
            total=len(items),
        )

    root = get_settings().root_code
    return await cache.answered(("townships", camp, day, drill, area_code, root), build)


async def timeseries(
    county: str | None,
    campaign: str | None,
    as_of: str | None = None,
    within: str | None = None,
) -> Timeseries:
    """Monthly values from the campaign start to the deadline, or to ``as_of`` (default
    today) if later; months after ``as_of`` carry the target only."""
    camp = await get_campaign(campaign)
    day = maths.parse_as_of(as_of, camp, clock.today())
    drill = await get_county(county) if county else None
    place = None if drill else await area(within)
    return await cache.answered(
        ("series", camp, day, drill, place, within is None, get_settings().root_code),
        lambda: _timeseries(camp, day, drill, place, within),
    )


async def _timeseries(
    camp: maths.Campaign,
    day: date,
    drill: tuple[str, str] | None,
    place: tuple[str, str, str] | None,
    within: str | None,
) -> Timeseries:
    months = maths.months_between(camp.start_on, max(camp.deadline, day))
    days = maths.series_days(camp.start_on, day)
    target_days = [*days, *months[len(days) :]]
    if drill:
        code, name = drill
        per_day = await cache.series_counts(camp.start_on, day, "county", code)
        targets = await county_targets([code], camp, target_days)
        target_series, source = targets[code]
        counts = [per_day[i].get(code, maths.Counts()) for i in range(len(days))]
    else:
        assert place is not None
        area_code, name, _ = place
        code = None if within is None else area_code
        counties = [c["code"] for c in await county_units(day, area_code)]
        targets = await county_targets(counties, camp, target_days)
        plans = _plans(targets)
        source = _source(targets)
        counts, per_day = await cache.series_totals(
            camp.start_on, day, counties, [c for c, _ in plans]
        )
        target_series = []
        for i, d in enumerate(target_days):
            last = min(i, len(days) - 1)
            weight = counts[last].fraction(camp.figure)[1] if days else 0
            found = per_day[last] if days else {}
            target_series.append(_area_target(camp, d, weight, found, plans, i))
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
        [(d, maths.fraction_or_none(*counts[i].fraction(camp.figure))) for i, d in enumerate(days)]
    )
    return Timeseries(
        county=code,
        county_name=name,
        campaign=camp.code,
        campaign_info=campaign_info_of(camp),
        as_of=day,
        target_source=source,
        projected_completion=projection,
        points=points,
    )
