"""Coverage of an area on a date: every county-level unit's figures, its cities', its
provinces' and the area's total — the answer behind ``/api/coverage`` and the maps.

An answer is kept whole (:func:`registry.coverage.cache.answered`) with what it was made from
(:class:`Built`): each county's counts on the projection's days, the units, their targets,
the sums of every city and province. After writes in a few counties the next answer is made
from the kept one (:func:`_update`): only those counties are counted again, and only their
cities, provinces and the area's total are summed and figured again; every other unit's
figures are the kept objects. The units, names and targets are kept as they were: the
answer is only updated when the plans and the divisions above the counties did not change
and each changed county is still the unit it was (otherwise it is built again).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from fractions import Fraction
from typing import Any

from registry.core import clock
from registry.core.codes import city_of, pad
from registry.core.settings import get_settings
from registry.coverage import cache
from registry.coverage import rules as maths
from registry.coverage.figures import (
    area,
    campaign_info_of,
    county_targets,
    county_units,
    get_campaign,
    get_county,
    group_figures,
    names_of,
    township_figures,
    unit_figures,
)
from registry.coverage.schemas import Coverage, UnitFigures

PerDay = list[dict[str, maths.Counts]]


async def coverage(
    as_of: str | None,
    campaign: str | None,
    county: str | None = None,
    within: str | None = None,
) -> Coverage:
    """Figures per county-level unit of an area (the root by default) and the area's total
    on ``as_of``, with its provinces and cities; with ``county``, also that county's
    townships (the drill-down)."""
    camp = await get_campaign(campaign)
    day = maths.parse_as_of(as_of, camp, clock.today())
    place = await area(within)
    drill = await get_county(county) if county else None
    days = tuple(maths.series_days(camp.start_on, day)[-maths.PROJECTION_WINDOW :])

    async def build() -> Built:
        per_day = await cache.counts_by(days, "county", active={day})
        counties = await county_units(day, place[0])
        targets = await county_targets([c["code"] for c in counties], camp, days)
        built = Built(camp, day, days, place, drill, per_day, counties, targets)
        await _names_of_groups(built)
        return await _figures(built, None)

    key = ("coverage", camp, day, place, drill, get_settings().root_code)
    found = await cache.answered(key, build, _update)
    assert found.answer is not None
    return found.answer


@dataclass
class Built:
    """An answer of :func:`coverage` with what it was made from."""

    camp: maths.Campaign
    day: date
    days: Sequence[date]
    place: tuple[str, str, str]
    drill: tuple[str, str] | None
    per_day: PerDay
    counties: list[dict[str, Any]]
    targets: dict[str, tuple[list[Fraction], str]]
    # City → its counties; province → its cities (the nation only); names of both.
    city_groups: dict[str, list[str]] = field(default_factory=dict)
    by_province: dict[str, list[str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    # Per day: each city's and province's counts summed; the figures of every unit.
    city_sums: PerDay = field(default_factory=list)
    province_sums: PerDay = field(default_factory=list)
    items: dict[str, UnitFigures] = field(default_factory=dict)
    cities: dict[str, UnitFigures] = field(default_factory=dict)
    provinces: dict[str, UnitFigures] = field(default_factory=dict)
    answer: Coverage | None = None


async def _names_of_groups(built: Built) -> None:
    """The area's cities (and provinces, at the nation) with their names (read once)."""
    for c in built.counties:
        built.city_groups.setdefault(city_of(c["code"]) or c["code"], []).append(c["code"])
    if built.place[2] == "nation":
        for g in built.city_groups:
            built.by_province.setdefault(pad(g[:2]), []).append(g)
    if built.place[2] in ("nation", "province"):
        built.names = await names_of([*built.city_groups, *built.by_province])


async def _update(kept: Built, changed: list[str], versions: cache.Versions) -> Built | None:
    """The answer after writes in the counties ``changed`` (see the module doc), their counts
    read under ``versions``, or None when one of them is no longer the unit it was (it is
    then built again)."""
    day, days, area_code = kept.day, kept.days, kept.place[0]
    ours = set(changed)
    before = {c["code"]: c["name"] for c in kept.counties if c["code"] in ours}
    now = {c["code"]: c["name"] for c in await county_units(day, area_code, changed)}
    if now != before:
        return None
    fresh = await cache.county_counts(days, changed, day, versions)
    per_day = [dict(p) for p in kept.per_day]
    for i, counts in enumerate(fresh):
        for code in changed:
            per_day[i].pop(code, None)
        per_day[i].update(counts)
    built = replace(
        kept,
        per_day=per_day,
        city_sums=[dict(p) for p in kept.city_sums],
        province_sums=[dict(p) for p in kept.province_sums],
        items=dict(kept.items),
        cities=dict(kept.cities),
        provinces=dict(kept.provinces),
        answer=None,
    )
    return await _figures(built, ours)


def _sum_into(
    sums: PerDay,
    below: Sequence[dict[str, maths.Counts]],
    groups: dict[str, list[str]],
    only: Collection[str] | None,
) -> None:
    """Per day, the counts of the groups ``only`` (all when None): their members' summed
    from ``below`` (members absent count 0)."""
    zero = maths.Counts()
    wanted = groups if only is None else {g: groups[g] for g in only if g in groups}
    while len(sums) < len(below):
        sums.append({})
    for i, per_unit in enumerate(below):
        for g, members in wanted.items():
            sums[i][g] = maths.total(per_unit.get(c, zero) for c in members)


async def _figures(built: Built, changed: Collection[str] | None) -> Built:
    """The figures of ``built``'s units (all, or those the counties ``changed`` are in: the
    counties themselves, their cities and provinces, the area) and its answer."""
    camp, days, per_day, targets = built.camp, built.days, built.per_day, built.targets
    area_code, area_name, area_level = built.place
    counties = [c for c in built.counties if changed is None or c["code"] in changed]
    zero = maths.Counts()
    for c in counties:
        code = c["code"]
        history = tuple((d, per_day[i].get(code, zero)) for i, d in enumerate(days))
        series, source = targets[code]
        built.items[code] = unit_figures(
            code, c["name"], "county", history, camp, series[-1], source
        )
    # The sums go up level by level: cities from counties, provinces from cities, the area
    # from the level below it (each county's counts added once per level, not once per area).
    cities = None if changed is None else {city_of(c["code"]) or c["code"] for c in counties}
    _sum_into(built.city_sums, per_day, built.city_groups, cities)
    below, below_groups = built.city_sums, built.city_groups
    if area_level in ("nation", "province"):
        for g in built.city_groups if cities is None else cities:
            built.cities[g] = group_figures(
                g,
                built.names.get(g, g),
                "city",
                built.city_groups[g],
                built.city_sums,
                per_day,
                days,
                camp,
                targets,
            )
    if area_level == "nation":
        provinces = None if cities is None else {pad(g[:2]) for g in cities}
        _sum_into(built.province_sums, built.city_sums, built.by_province, provinces)
        for p in built.by_province if provinces is None else provinces:
            members = [c for g in built.by_province[p] for c in built.city_groups[g]]
            built.provinces[p] = group_figures(
                p,
                built.names.get(p, p),
                "province",
                members,
                built.province_sums,
                per_day,
                days,
                camp,
                targets,
            )
        below, below_groups = built.province_sums, built.by_province
    area_sums: PerDay = []
    _sum_into(area_sums, below, {area_code: list(below_groups)}, None)
    codes = [c["code"] for c in built.counties]
    total = group_figures(
        area_code, area_name, area_level, codes, area_sums, per_day, days, camp, targets
    )
    items = [built.items[c["code"]] for c in built.counties]
    townships = None
    if built.drill:
        townships = await township_figures(
            camp, built.day, days, built.drill, targets.get(built.drill[0])
        )
        items = [i for i in items if i.code == built.drill[0]]
    built.answer = Coverage(
        as_of=built.day,
        campaign=camp.code,
        campaign_info=campaign_info_of(camp),
        counties=items,
        total=total,
        townships=townships,
        cities=[built.cities[g] for g in sorted(built.city_groups)]
        if area_level in ("nation", "province")
        else None,
        provinces=[built.provinces[p] for p in sorted(built.by_province)]
        if area_level == "nation"
        else None,
    )
    return built
