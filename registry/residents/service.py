"""The residents' search and a site's public page: reads only, no sign-in, public facts only.

The index (names, pinyin, initials of every current county, township and village of the root,
and where each open site is) is built on first use and kept on the runtime
(``residents.index``), keyed by the sum of the ``county_activity`` counters, which the
database's triggers bump on every division, site and status write of any path (API, import,
SQL of another process): a changed register or site rebuilds it on the next request, an
unchanged one costs one small read. The pinyin of a name is kept across rebuilds
(``residents.pinyin``), so a rebuild after a site write costs two selects, not pypinyin again.
Building runs off the event loop (pypinyin: ~0.15 ms a name) and once at a time.

A site's full row is read only for the sites shown (one select by division codes), so what a
resident sees of a site is always current.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import msgspec
import numpy as np

from registry.cases import service as cases
from registry.core import clock, runtime
from registry.core.codes import covers, normalise_code
from registry.core.errors import InvalidInput, NotFound
from registry.core.settings import get_settings
from registry.divisions import service as divisions
from registry.divisions.rules import CENTRE_KINDS, POINT_KINDS
from registry.residents import rules
from registry.residents.schemas import FindResult, Hit, Point, Township
from registry.sites.rules.status import LABELS_ZH as STATUS_LABELS_ZH
from registry.tables import CountyActivity, Division
from registry.tables import Site as SiteRow

SLOT = "residents.index"
PINYIN_SLOT = "residents.pinyin"
NEARBY = 5
LEVEL_LABELS_ZH = {"county": "县（市、区）", "township": "乡镇（街道）", "village": "村（社区）"}
KIND_LABELS_ZH = {
    "township_centre": "乡镇便民服务中心",
    "street_centre": "街道便民服务中心",
    "village_point": "村便民服务代办点",
    "community_point": "社区便民服务代办点",
}

# The public columns a resident's page shows; ``contact_phone`` is never read here.
_SITE_COLUMNS = (
    SiteRow.id,
    SiteRow.division.as_alias("division_code"),
    SiteRow.division.name.as_alias("division_name"),
    SiteRow.kind,
    SiteRow.standard_name,
    SiteRow.status,
    SiteRow.address,
    SiteRow.lon,
    SiteRow.lat,
    SiteRow.township_code,
    SiteRow.county_code,
)
_OPTIONAL_COLUMNS = ("public_phone", "opening_hours", "excluded_matters")


SiteFacts = tuple[float, float, str, str]  # lon, lat, kind, status


@dataclass
class FindIndex:
    """Everything a search needs, built at one version of the register.

    ``versions``: the ``county_activity`` counters it was read at. After a write, only the
    counties whose counter moved are read again: their sites (one select), and their divisions,
    compared by a fingerprint; the names are indexed again only when a division changed.
    """

    versions: dict[str, int]
    names: rules.NameIndex
    places: dict[str, rules.Place]
    titles: dict[str, str]
    division_prints: dict[str, int]
    # Open sites (not closed) per county, by division code; and all of them.
    county_sites: dict[str, dict[str, SiteFacts]] = field(default_factory=dict)
    site_at: dict[str, SiteFacts] = field(default_factory=dict)
    serving_codes: list[str] = field(default_factory=list)
    serving_lons: np.ndarray = field(default_factory=lambda: np.zeros(0))
    serving_lats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # The agency points among them (a village without a point is sent to the nearest).
    point_codes: list[str] = field(default_factory=list)
    point_lons: np.ndarray = field(default_factory=lambda: np.zeros(0))
    point_lats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # Mean position of the open sites of each township and county (where a village without a
    # point and without a township centre is taken to be), and a point inside each county.
    area_centres: dict[str, tuple[float, float]] = field(default_factory=dict)
    county_points: dict[str, tuple[float, float]] = field(default_factory=dict)
    # The townships (streets) of each county, by code (read again only with the names).
    county_townships: dict[str, list[str]] = field(default_factory=dict)


def _townships(places: dict[str, rules.Place]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for place in places.values():
        if place.level == "township" and place.county_code:
            out.setdefault(place.county_code, []).append(place.code)
    for codes in out.values():
        codes.sort()
    return out


def _site_columns() -> tuple[Any, ...]:
    """The public columns, with the residents' facts where this database has them."""
    extra = tuple(getattr(SiteRow, name) for name in _OPTIONAL_COLUMNS if hasattr(SiteRow, name))
    return _SITE_COLUMNS + extra


async def _versions() -> dict[str, int]:
    rows = await CountyActivity.select(CountyActivity.county_code, CountyActivity.writes)
    return {r["county_code"]: int(r["writes"]) for r in rows}


def _memo_syllables() -> Any:
    memo: dict[str, list[str]] = runtime.current().slot(PINYIN_SLOT, dict)

    def syllables(name: str) -> list[str]:
        found = memo.get(name)
        if found is None:
            found = memo[name] = rules.syllables_of(name)
        return found

    return syllables


_DIVISION_COLUMNS = (
    Division.code,
    Division.name,
    Division.level,
    Division.township_code,
    Division.county_code,
)


def _county_key(row: dict[str, Any]) -> str:
    """The ``county_activity`` counter a division's writes move."""
    if row["county_code"]:
        return row["county_code"]
    return row["code"] if row["level"] == "county" else ""


def _prints(rows: list[dict[str, Any]]) -> dict[str, int]:
    """A fingerprint of the current divisions per county counter."""
    groups: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        groups.setdefault(_county_key(row), []).append(tuple(row.values()))
    return {key: hash(tuple(sorted(group))) for key, group in groups.items()}


async def _names() -> tuple[rules.NameIndex, dict[str, rules.Place], dict[str, str], dict]:
    root = get_settings().root_code
    rows = await Division.select(*_DIVISION_COLUMNS).where(Division.abolished_on.is_null())
    places, titles = [], {}
    for row in rows:
        titles[row["code"]] = row["name"]
        if row["level"] in rules.LEVEL_RANK and covers(root, row["code"]):
            places.append(
                rules.Place(
                    code=row["code"],
                    name=row["name"],
                    level=row["level"],
                    township_code=row["township_code"],
                    county_code=row["county_code"],
                )
            )
    names = await asyncio.to_thread(rules.NameIndex, places, _memo_syllables())
    return names, {p.code: p for p in places}, titles, _prints(rows)


async def _divisions_changed(index: FindIndex, keys: set[str]) -> bool:
    """Whether a division of these county counters differs from what ``index`` holds."""
    codes = sorted(keys - {""})
    clause = Division.county_code.is_in(codes) | Division.code.is_in(codes) if codes else None
    if "" in keys:
        above = Division.county_code.is_null()
        clause = above if clause is None else clause | above
    rows = await Division.select(*_DIVISION_COLUMNS).where(Division.abolished_on.is_null() & clause)
    now = _prints(rows)
    return any(now.get(k) != index.division_prints.get(k) for k in keys)


async def _sites(counties: set[str] | None) -> dict[str, dict[str, SiteFacts]]:
    """The open sites of these counties (every county: None), per county."""
    query = SiteRow.select(
        SiteRow.open_division,
        SiteRow.lon,
        SiteRow.lat,
        SiteRow.kind,
        SiteRow.status,
        SiteRow.county_code,
    ).where(SiteRow.open_division.is_not_null())
    if counties is not None:
        query = query.where(SiteRow.county_code.is_in(sorted(counties) or [""]))
    out: dict[str, dict[str, SiteFacts]] = {c: {} for c in counties or ()}
    for s in await query:
        out.setdefault(s["county_code"], {})[s["open_division"]] = (
            s["lon"],
            s["lat"],
            s["kind"],
            s["status"],
        )
    return out


async def _county_points() -> dict[str, tuple[float, float]]:
    """A point inside each county's outline."""
    out = {}
    for region in (await divisions.county_index()).regions:
        inside = region.geometry.representative_point()
        out[region.code] = (float(inside.x), float(inside.y))
    return out


def _area_centres(
    places: dict[str, rules.Place], county_sites: dict[str, dict[str, SiteFacts]]
) -> dict[str, tuple[float, float]]:
    sums: dict[str, list[float]] = {}
    for county, sites in county_sites.items():
        for code, (lon, lat, _, _) in sites.items():
            place = places.get(code)
            township = place.township_code if place is not None else None
            for area in (township, county):
                if area:
                    acc = sums.setdefault(area, [0.0, 0.0, 0.0])
                    acc[0] += lon
                    acc[1] += lat
                    acc[2] += 1
    return {a: (v[0] / v[2], v[1] / v[2]) for a, v in sums.items()}


def _assemble(
    versions: dict[str, int],
    names: tuple[rules.NameIndex, dict[str, rules.Place], dict[str, str], dict],
    county_sites: dict[str, dict[str, SiteFacts]],
    county_points: dict[str, tuple[float, float]],
    county_townships: dict[str, list[str]] | None = None,
) -> FindIndex:
    site_at = {code: facts for sites in county_sites.values() for code, facts in sites.items()}
    serving = sorted(code for code, f in site_at.items() if f[3] in rules.SERVING)
    points = [code for code in serving if site_at[code][2] in POINT_KINDS]
    return FindIndex(
        versions=versions,
        names=names[0],
        places=names[1],
        titles=names[2],
        division_prints=names[3],
        county_sites=county_sites,
        site_at=site_at,
        serving_codes=serving,
        serving_lons=np.array([site_at[c][0] for c in serving], dtype=np.float64),
        serving_lats=np.array([site_at[c][1] for c in serving], dtype=np.float64),
        point_codes=points,
        point_lons=np.array([site_at[c][0] for c in points], dtype=np.float64),
        point_lats=np.array([site_at[c][1] for c in points], dtype=np.float64),
        area_centres=_area_centres(names[1], county_sites),
        county_points=county_points,
        county_townships=_townships(names[1]) if county_townships is None else county_townships,
    )


async def _refresh(index: FindIndex | None, versions: dict[str, int]) -> FindIndex:
    if index is None:
        return _assemble(versions, await _names(), await _sites(None), await _county_points())
    keys = {
        k for k in set(versions) | set(index.versions) if versions.get(k) != index.versions.get(k)
    }
    if await _divisions_changed(index, keys):
        # The register changed: names, sites and outlines are read again.
        return _assemble(versions, await _names(), await _sites(None), await _county_points())
    names = (index.names, index.places, index.titles, index.division_prints)
    county_sites = dict(index.county_sites)
    county_sites.update(await _sites(keys - {""}))
    return _assemble(versions, names, county_sites, index.county_points, index.county_townships)


async def find_index() -> FindIndex:
    """The index at the register's current version (built or brought up to date once at a
    time)."""
    slot: dict[str, Any] = runtime.current().slot(SLOT, dict)
    versions = await _versions()
    index = slot.get("index")
    if index is not None and index.versions == versions:
        return index
    lock = slot.setdefault("lock", asyncio.Lock())
    async with lock:
        index = slot.get("index")
        versions = await _versions()
        if index is None or index.versions != versions:
            index = await _refresh(index, versions)
            slot["index"] = index
    return index


def warm() -> None:
    """Start building the index in the background (when the search page is opened)."""
    slot: dict[str, Any] = runtime.current().slot(SLOT, dict)
    if slot.get("index") is None and slot.get("warming") is None:
        task = asyncio.get_running_loop().create_task(find_index())
        # A failed warm-up is not an error: the next search builds the index itself.
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        slot["warming"] = task


# ----------------------------------------------------------------------------- points


def _hours(value: Any) -> dict[str, list[list[str]]] | None:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = msgspec.json.decode(value)
    if not isinstance(value, dict):
        return None
    return {
        day: [[str(p[0]), str(p[1])] for p in (value.get(day) or []) if len(p) == 2]
        for day in rules.WEEKDAYS
    }


def hours_today(hours: dict[str, list[list[str]]] | None, day: date) -> str:
    """Today's opening hours in words (the sites' own rule when it is there)."""
    try:  # registry.sites.rules.hours: the rule of record, when present
        from registry.sites.rules import hours as hours_rules  # type: ignore[attr-defined]

        describe = getattr(hours_rules, "describe_day", None)
        if describe is not None and hours is not None:
            return str(describe(hours, day))
    except ImportError:
        pass
    periods = rules.hours_on(hours, day)
    return rules.hours_text([tuple(p) for p in periods] if periods is not None else None)


def to_point(row: dict[str, Any], day: date, distance: float | None = None) -> Point:
    """A site row as the residents see it."""
    hours = _hours(row.get("opening_hours"))
    return Point(
        division_code=row["division_code"],
        division_name=row["division_name"],
        kind=row["kind"],
        kind_label=KIND_LABELS_ZH.get(row["kind"], "便民服务点"),
        name=row["standard_name"],
        status=row["status"],
        status_label=STATUS_LABELS_ZH.get(row["status"], row["status"]),
        serving=row["status"] in rules.SERVING,
        address=row.get("address"),
        public_phone=row.get("public_phone") or None,
        hours_today=hours_today(hours, day),
        opening_hours=hours,
        lon=round(float(row["lon"]), 6),
        lat=round(float(row["lat"]), 6),
        url=f"/s/{row['division_code']}",
        distance_m=None if distance is None else round(distance),
        distance_text=None if distance is None else rules.distance_text(distance),
    )


async def site_rows(codes: set[str]) -> dict[str, dict[str, Any]]:
    """The public rows of the open sites of these divisions, by division code."""
    if not codes:
        return {}
    rows = (
        await SiteRow.select(*_site_columns())
        .where(SiteRow.open_division.is_in(sorted(codes)))
        .output(load_json=True)
    )
    return {r["division_code"]: r for r in rows}


def _reference(index: FindIndex, place: rules.Place) -> tuple[float, float] | None:
    """Where a village without a point is taken to be: its township's centre, else the mean
    of its township's (then county's) sites."""
    centre = index.site_at.get(place.township_code or "")
    if centre:
        return centre[0], centre[1]
    for parent in (place.township_code, place.county_code):
        if parent and parent in index.area_centres:
            return index.area_centres[parent]
    return index.county_points.get(place.county_code or "")


def _nearest_serving(
    index: FindIndex,
    at: tuple[float, float],
    k: int,
    exclude: str | None = None,
    points_only: bool = False,
) -> list[tuple[str, float]]:
    """The ``k`` nearest sites in service (agency points only: ``points_only``)."""
    codes, lons, lats = (
        (index.point_codes, index.point_lons, index.point_lats)
        if points_only
        else (index.serving_codes, index.serving_lons, index.serving_lats)
    )
    found = rules.nearest(at[0], at[1], lons, lats, k + 1)
    return [(codes[i], d) for i, d in found if codes[i] != exclude][:k]


async def _check_inside_root(lon: float, lat: float) -> None:
    root = get_settings().root_code
    counties = await divisions.county_index()
    if len(counties) == 0:
        return  # no outlines loaded: nothing to check against
    region = counties.locate(lon, lat)
    if region is None or not covers(root, region.code):
        index = await find_index()
        raise rules.outside_root(index.titles.get(root, "本地区"), root)


# ----------------------------------------------------------------------------- search


async def find(
    q: str | None,
    lon: str | None = None,
    lat: str | None = None,
    crs: str | None = None,
    limit: int | None = None,
) -> FindResult:
    """Places matching ``q`` with their points and centres; and the points nearest to the
    location, when one is given."""
    query = rules.clean_query(q)
    where = rules.check_location(lon, lat, crs)
    if limit is None:
        limit = rules.DEFAULT_RESULTS
    if not 1 <= limit <= rules.MAX_RESULTS:
        raise InvalidInput(
            "invalid_limit",
            f"limit 应在 1 到 {rules.MAX_RESULTS} 之间",
            f"limit must be between 1 and {rules.MAX_RESULTS}",
            field="limit",
        )
    if where is not None:
        await _check_inside_root(*where)
    index = await find_index()
    places = index.names.search(query, limit)
    plan: list[tuple[rules.Place, str | None, str | None, tuple[str, float] | None]] = []
    for place in places:
        own = place.code if place.level in ("village", "township") else None
        centre = place.township_code if place.level == "village" else None
        nearest = None
        site = index.site_at.get(own or "")
        if place.level == "village" and (site is None or site[3] not in rules.SERVING):
            at = where or _reference(index, place)
            if at is not None:
                found = _nearest_serving(index, at, 1, exclude=place.code, points_only=True)
                nearest = found[0] if found else None
        plan.append((place, own, centre, nearest))
    nearby = _nearest_serving(index, where, NEARBY) if where is not None else []
    codes = {c for _, own, centre, _ in plan for c in (own, centre) if c}
    codes |= {n[0] for *_, n in plan if n} | {c for c, _ in nearby}
    rows = await site_rows(codes)
    day = clock.today()

    def point(code: str | None, distance: float | None = None) -> Point | None:
        row = rows.get(code or "")
        return None if row is None else to_point(row, day, distance)

    items = [
        Hit(
            division_code=place.code,
            name=place.name,
            level=place.level,
            level_label=LEVEL_LABELS_ZH.get(place.level, ""),
            township_name=index.titles.get(place.township_code or "")
            if place.level == "village"
            else None,
            county_name=index.titles.get(place.county_code or "")
            if place.level != "county"
            else None,
            url=f"/s/{place.code}" if place.level != "county" else None,
            point=point(own),
            centre=point(centre),
            nearest=point(nearest[0], nearest[1] if where else None) if nearest else None,
            townships=_county_townships(index, place.code) if place.level == "county" else [],
        )
        for place, own, centre, nearest in plan
    ]
    return FindResult(
        query=query,
        items=items,
        nearby=[p for c, d in nearby if (p := point(c, d)) is not None],
        location=[round(where[0], 6), round(where[1], 6)] if where else None,
    )


def _county_townships(index: FindIndex, county: str) -> list[Township]:
    """A county's townships with the state of their centres (from the index: no query)."""
    out = []
    for code in index.county_townships.get(county, []):
        site = index.site_at.get(code)
        status = site[3] if site is not None else None
        out.append(
            Township(
                code=code,
                name=index.titles.get(code) or index.places[code].name,
                url=f"/s/{code}",
                centre_status=status,
                centre_status_label=STATUS_LABELS_ZH.get(status, status) if status else "未登记",
                serving=status in rules.SERVING,
            )
        )
    return out


# ----------------------------------------------------------------------------- a site's page


@dataclass
class SitePage:
    """What the public page of a village's or township's site shows."""

    division_code: str
    division_name: str
    level: str
    township_name: str | None
    county_name: str | None
    point: Point | None
    centre: Point | None
    nearest: Point | None
    neighbours: list[Point]
    matters: list[dict[str, Any]]
    today: date


def _page_not_found(code: str) -> NotFound:
    return NotFound(
        "site_page_not_found",
        f"没有找到 {code} 的服务点页面",
        f"no public site page for {code}",
    )


async def site_page(raw_code: str) -> SitePage:
    """The public page of the site of a village or township (``division_code``)."""
    try:
        code = normalise_code(raw_code)
    except InvalidInput:
        raise _page_not_found(raw_code[:24]) from None
    index = await find_index()
    place = index.places.get(code)
    if place is None or place.level not in ("village", "township"):
        raise _page_not_found(code)
    township = place.township_code if place.level == "village" else place.code
    site = index.site_at.get(code)
    nearest = None
    if place.level == "village" and (site is None or site[3] not in rules.SERVING):
        at = _reference(index, place)
        if at is not None:
            found = _nearest_serving(index, at, 1, exclude=code, points_only=True)
            nearest = found[0][0] if found else None
    # The township's other sites, for the map.
    neighbour_codes = {
        c
        for c, p in index.places.items()
        if c in index.site_at and (p.township_code == township or c == township)
    }
    rows = await site_rows({code, township or "", nearest or ""} | neighbour_codes)
    day = clock.today()
    point = to_point(rows[code], day) if code in rows else None
    matters: list[dict[str, Any]] = []
    if point is not None and point.serving:
        excluded = set(rows[code].get("excluded_matters") or [])
        catalogue = await cases.list_matters()
        matters = [m for m in msgspec.to_builtins(catalogue.items) if m.get("code") not in excluded]
    return SitePage(
        division_code=code,
        division_name=place.name,
        level=place.level,
        township_name=index.titles.get(place.township_code or "")
        if place.level == "village"
        else None,
        county_name=index.titles.get(place.county_code or ""),
        point=point,
        centre=to_point(rows[township], day)
        if place.level == "village" and township in rows
        else None,
        nearest=to_point(rows[nearest], day) if nearest and nearest in rows else None,
        neighbours=[to_point(r, day) for c, r in sorted(rows.items()) if c in neighbour_codes],
        matters=matters,
        today=day,
    )


def is_centre(kind: str) -> bool:
    return kind in CENTRE_KINDS
