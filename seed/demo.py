"""Deterministic demo histories on the real register, flagged ``is_demo``: sites with dated
status events, and one account per role.

The villages are the official ones (loaded by ``seed.loader``, not demo). Build histories spread
over 2013–2016 with a different profile per county of 怀化, so the dashboard shows a real spread:

- early (鹤城区, 会同县, 靖州县): every village's point in service well before the deadline
  (2015-04-18); every centre standardized by the end of 2015;
- on track (中方县, 辰溪县, 麻阳县, 芷江县, 洪江市, 洪江管理区): about half the points by
  mid-campaign; 中方县 and 洪江市 open their last point by the deadline (a temporarily suspended
  point keeps them just under 100 % that day), the other three a few weeks after it;
- lagging (沅陵县, 溆浦县, 通道县): behind the target line all along, finishing in 2016, and
  2–4 % of villages still without a point today (so these counties never reach 100 %); some
  centres never pass the standardization check;
- stalled (新晃县): keeps pace until construction stops on 2014-06-30; its curve is flat ever
  since (projected completion null).

A few points are suspended for a while and resumed. About one sign in five is non-conforming.
"""

from __future__ import annotations

import random
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import shapely

from registry.accounts import service as accounts
from registry.accounts.schemas import AccountCreate
from registry.core import clock
from registry.core.access import SYSTEM
from registry.core.settings import get_settings
from registry.db.bulk import insert_many
from registry.db.transactions import write_transaction
from registry.divisions.rules import SITE_KIND_BY_DIVISION_KIND, STATISTICAL_TOWNSHIP
from registry.sites.rules import signage
from registry.tables import Account, Division, DivisionBoundary, Site, StatusEvent

CAMPAIGN_START = date(2013, 4, 18)
DEMO_SOURCE = "demo"


@dataclass(frozen=True)
class Profile:
    """How a county's points and centres progress.

    ``half_at``: fraction of the two-year span by which half its points are in service;
    ``spread``: standard deviation of that fraction; ``latest``: no point later than this
    fraction (an early county finishes before the deadline); ``stall``: nothing progresses
    after this date; ``missing``: share of villages with no point at all;
    ``unstandardized``: share of centres that never pass the standardization check.
    """

    label: str
    half_at: float
    spread: float
    stall: date | None = None
    latest: float = 3.0
    missing: float = 0.0
    unstandardized: float = 0.0


PROFILES: dict[str, Profile] = {
    "431202000000": Profile("early", 0.35, 0.15, latest=0.85),  # 鹤城区
    "431221000000": Profile("on_track", 0.5, 0.2, latest=1.0),  # 中方县
    "431222000000": Profile("lagging", 0.85, 0.3, missing=0.03, unstandardized=0.1),  # 沅陵县
    "431223000000": Profile("on_track", 0.5, 0.22, latest=1.1),  # 辰溪县
    "431224000000": Profile("lagging", 0.8, 0.3, missing=0.02, unstandardized=0.1),  # 溆浦县
    "431225000000": Profile("early", 0.4, 0.15, latest=0.85),  # 会同县
    "431226000000": Profile("on_track", 0.55, 0.2, latest=1.1),  # 麻阳苗族自治县
    "431227000000": Profile("stalled", 0.5, 0.2, date(2014, 6, 30)),  # 新晃侗族自治县
    "431228000000": Profile("on_track", 0.6, 0.2, latest=1.15),  # 芷江侗族自治县
    "431229000000": Profile("early", 0.3, 0.1, latest=0.8),  # 靖州苗族侗族自治县
    "431230000000": Profile("lagging", 1.0, 0.35, missing=0.04, unstandardized=0.15),  # 通道
    "431281000000": Profile("on_track", 0.5, 0.2, latest=1.0),  # 洪江市
    "431271000000": Profile("on_track", 0.55, 0.2, latest=1.1),  # 洪江管理区
}
SPAN_DAYS = 730


def _rng(*parts: object) -> random.Random:
    return random.Random("|".join(str(p) for p in parts))


def _points_in(geom: Any, n: int, rng: random.Random) -> list[tuple[float, float]]:
    """``n`` deterministic random points inside a polygon (vectorised rejection sampling)."""
    min_x, min_y, max_x, max_y = geom.bounds
    generator = np.random.default_rng(rng.randrange(2**32))
    # Keep away from the border so demo points pass the containment check untouched.
    core = geom.buffer(-0.005)
    shapely.prepare(core)
    found: list[tuple[float, float]] = []
    while len(found) < n:
        xs = generator.uniform(min_x, max_x, n * 3 + 10)
        ys = generator.uniform(min_y, max_y, n * 3 + 10)
        inside = shapely.contains_xy(core, xs, ys)
        found.extend(zip(xs[inside].tolist(), ys[inside].tolist(), strict=True))
    return [(round(x, 6), round(y, 6)) for x, y in found[:n]]


def _history(
    rng: random.Random, profile: Profile, centre: bool, today: date, established: date | None
) -> list[tuple[str, date]]:
    """Dated statuses of one site, chronological, none after ``today``."""
    start = max(CAMPAIGN_START, established or CAMPAIGN_START)
    fraction = min(max(0.02, rng.gauss(profile.half_at, profile.spread)), profile.latest)
    if centre:
        fraction *= 0.8
    standardize = centre and rng.random() >= profile.unstandardized
    in_service = CAMPAIGN_START + timedelta(days=int(fraction * SPAN_DAYS))
    in_service = max(in_service, start + timedelta(days=45))
    events = [("planned", start + timedelta(days=rng.randint(0, 30)))]
    steps = [
        ("under_construction", in_service - timedelta(days=rng.randint(60, 150))),
        ("built", in_service - timedelta(days=rng.randint(5, 40))),
        ("in_service", in_service),
    ]
    if standardize:
        # Standardized centres pass the check by the end of 2015 unless the county lags.
        passed = in_service + timedelta(days=rng.randint(60, 300))
        if profile.label != "lagging":
            passed = min(passed, date(2015, 12, 15))
        steps.append(("standardized", max(passed, in_service + timedelta(days=30))))
    for status, day in steps:
        day = max(day, events[-1][1])
        if day > today or (profile.stall and day > profile.stall):
            break
        events.append((status, day))
    last = events[-1][0]
    if last in ("in_service", "standardized") and rng.random() < 0.04:
        pause = events[-1][1] + timedelta(days=rng.randint(30, 200))
        resume = pause + timedelta(days=rng.randint(20, 90))
        if resume <= today:
            events += [("suspended", pause), (last, resume)]
        elif pause <= today:
            events.append(("suspended", pause))
    return events


def _sign(rng: random.Random, division: dict[str, Any]) -> str | None:
    standard = signage.standard_name(division["name"], division["kind"])
    roll = rng.random()
    if roll < 0.08:
        return None
    if roll < 0.14:
        return standard.replace("便民服务中心", "便民服务站").replace("便民服务代办点", "代办站")
    if roll < 0.18:
        return "怀化市" + standard
    if roll < 0.21:
        return standard[len(division["name"]) - 1 :] if len(division["name"]) > 2 else standard
    return standard


async def _outlines() -> dict[str, Any]:
    """County outlines (WGS-84) by code; a unit without one borrows its ``outline_code``'s."""
    rows = await DivisionBoundary.select(
        DivisionBoundary.division.as_alias("code"), DivisionBoundary.geometry
    )
    shapes = {r["code"]: shapely.from_geojson(r["geometry"]) for r in rows}
    borrowed = await Division.select(Division.code, Division.outline_code).where(
        Division.outline_code.is_not_null()
    )
    for r in borrowed:
        if r["outline_code"] in shapes:
            shapes.setdefault(r["code"], shapes[r["outline_code"]])
    return shapes


async def load_demo(counties: Iterable[str] = PROFILES) -> dict[str, int]:
    """Add demo sites with dated histories to the real townships and villages of ``counties``
    (怀化's, with their profiles); nothing when any site exists already."""
    counts = {"sites": 0, "events": 0}
    today = clock.today()
    regions = await _outlines()
    async with write_transaction():
        if await Site.exists():
            return counts
        divisions = (
            await Division.select()
            .where(
                Division.level.is_in(["township", "village"])
                & Division.county_code.is_in(list(counties))
                & (Division.kind != STATISTICAL_TOWNSHIP)
            )
            .order_by(Division.code)
        )
        by_county: dict[str, list[dict[str, Any]]] = {}
        for division in divisions:
            if division["abolished_on"] is not None and division["level"] == "township":
                continue
            by_county.setdefault(division["county_code"], []).append(division)
        for county_code, members in by_county.items():
            if county_code not in regions:
                continue
            profile = PROFILES.get(county_code, Profile("on_track", 0.5, 0.2))
            rng = _rng("sites", county_code)
            points = _points_in(regions[county_code], len(members), rng)
            for division, (lon, lat) in zip(members, points, strict=True):
                if division["level"] == "village" and rng.random() < profile.missing:
                    continue  # no point in this village, even today
                kind = SITE_KIND_BY_DIVISION_KIND[division["kind"]]
                centre = division["level"] == "township"
                history = _history(rng, profile, centre, today, division["established_on"])
                if division["abolished_on"] is not None:
                    history = [(s, d) for s, d in history if d < division["abolished_on"]] or [
                        ("planned", CAMPAIGN_START)
                    ]
                    history.append(("closed", max(division["abolished_on"], history[-1][1])))
                sign_name = _sign(rng, division)
                check = signage.check(division["name"], division["kind"], sign_name)
                status, since = history[-1]
                site = Site(
                    division=division["code"],
                    open_division=None if status == "closed" else division["code"],
                    kind=kind,
                    county_code=county_code,
                    township_code=division["township_code"],
                    standard_name=check.standard_name,
                    signage_name=sign_name,
                    signage_conforms=check.conforms,
                    signage_problems=[
                        {
                            "code": p.code,
                            "message": p.message,
                            "found": p.found,
                            "expected": p.expected,
                        }
                        for p in check.problems
                    ],
                    lon=lon,
                    lat=lat,
                    crs="wgs84",
                    coord_method="map_pick",
                    collected_on=history[0][1],
                    status=status,
                    status_since=since,
                    version=1,
                    is_demo=True,
                    created_by="demo",
                    staff_count=(rng.randint(4, 15) if centre else 1),
                    hall_area_m2=(float(rng.randint(120, 600)) if centre else None),
                )
                await site.save()
                previous = None
                events = []
                for st, day in history:
                    events.append(
                        StatusEvent(
                            site=site.id,
                            status=st,
                            previous_status=previous,
                            effective_date=day,
                            actor="demo",
                        )
                    )
                    previous = st
                await insert_many(StatusEvent, events)
                counts["sites"] += 1
                counts["events"] += len(events)
    return counts


def _password() -> str:
    alphabet = string.ascii_letters + string.digits
    core = "".join(secrets.choice(alphabet) for _ in range(12))
    return f"Hh-{core}-9"


async def demo_accounts() -> list[tuple[str, str, str, str]]:
    """One demo account per role (only if no account exists): (username, password, role,
    scope). Passwords are random and shown once."""
    if await Account.exists():
        return []
    agent_site = (
        await Site.select(Site.id)
        .where(
            (Site.county_code == "431202000000")
            & (Site.kind == "village_point")
            & (Site.status == "in_service")
        )
        .order_by(Site.id)
        .first()
    )
    root = get_settings().root_code
    root_name = await Division.select(Division.name).where(Division.code == root).first()
    centre = (root_name["name"] if root_name else "全国") + "政务服务中心（演示）"
    specs = [
        ("shizhongxin", "municipal", root, centre),
        ("hecheng_planner", "county_planner", "431202000000", "鹤城区规划员（演示）"),
    ]
    if agent_site:
        specs.append(("daiban_agent", "village_agent", str(agent_site["id"]), "村代办员（演示）"))
    created = []
    for username, role, scope, display in specs:
        password = _password()
        await accounts.create_account(
            SYSTEM,
            AccountCreate(
                username=username, password=password, role=role, scope=scope, display_name=display
            ),
            is_demo=True,
        )
        created.append((username, password, role, scope))
    return created
