"""Deterministic demo data, flagged ``is_demo``: villages, sites with dated histories, accounts.

Villages are synthetic (no public village list exists): 6–25 per township, 社区 under 街道 and
town seats (serials 001–199), 村 elsewhere (serials 200–399). Build histories spread over
2013–2016 with a different profile per county, so the dashboard shows a real spread:

- early (鹤城区, 会同县, 靖州县): every village's point in service well before the deadline
  (2015-04-18); every centre standardized by the end of 2015;
- on track (中方县, 辰溪县, 麻阳县, 芷江县, 洪江市): about half the points by mid-campaign;
  中方县 and 洪江市 open their last point by the deadline (a temporarily suspended point keeps
  them just under 100 % that day), the other three a few weeks after it;
- lagging (沅陵县, 溆浦县, 通道县): behind the target line all along, finishing in 2016, and
  2–4 % of villages still without a point today (so these counties never reach 100 %); some
  centres never pass the standardization check;
- stalled (新晃县): keeps pace until construction stops on 2014-06-30; its curve is flat ever
  since (projected completion null).

A few points are suspended for a while and resumed; villages merged on 2014-07-01 (合村并组)
close their points and the new village gets its own. About one sign in five is non-conforming.
"""

from __future__ import annotations

import random
import secrets
import string
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import shapely

from geo.boundaries import load_regions_geojson
from registry.accounts import service as accounts
from registry.accounts.schemas import AccountCreate
from registry.core import clock
from registry.core.access import SYSTEM
from registry.core.codes import normalise_code
from registry.db.bulk import insert_many
from registry.db.transactions import write_transaction
from registry.divisions.rules import SITE_KIND_BY_DIVISION_KIND
from registry.sites.rules import signage
from registry.tables import Account, Division, Site, StatusEvent
from seed.loader import HUAIHUA

CAMPAIGN_START = date(2013, 4, 18)
MERGE_DATE = date(2014, 7, 1)
DEMO_SOURCE = "demo"

_FIRST = "大小新老上下东西南北中前后高低长平石龙凤金银马牛田山水竹松桃李杨黄白青红洞溪塘坪湾冲岭坳"
_SECOND = "坪田溪塘湾冲岭坳桥坝村寨园岗坡林口头湖坑垅团庄铺家埠江河洲潭"
_COMMUNITY = (
    "城北",
    "城南",
    "河西",
    "迎丰",
    "人民",
    "建设",
    "解放",
    "新街",
    "正街",
    "花园",
    "站前",
    "锦溪",
    "舞水",
    "太平",
    "鹤鸣",
    "朝阳",
    "长塘",
    "府星",
    "天星",
    "红星",
)


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
}
SPAN_DAYS = 730


def _rng(*parts: object) -> random.Random:
    return random.Random("|".join(str(p) for p in parts))


def _name(rng: random.Random, used: set[str], suffix: str) -> str:
    for _ in range(200):
        name = rng.choice(_FIRST) + rng.choice(_SECOND) + suffix
        if name not in used:
            used.add(name)
            return name
    raise RuntimeError("ran out of demo names")


def village_rows(townships: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Synthetic villages and communities for every existing township (deterministic)."""
    rows: list[dict[str, Any]] = []
    for township in townships:
        if township["abolished_on"] is not None:
            continue
        code = township["code"]
        rng = _rng("villages", code)
        count = rng.randint(6, 25)
        kind = township["kind"]
        communities = (
            rng.randint(max(3, count // 2), count)
            if kind == "街道"
            else rng.randint(1, 2)
            if kind == "镇"
            else 0
        )
        used: set[str] = set()
        community_names = list(_COMMUNITY)
        rng.shuffle(community_names)
        for serial in range(1, communities + 1):
            base = community_names[(serial - 1) % len(community_names)]
            name = base + "社区" if base + "社区" not in used else _name(rng, used, "社区")
            used.add(name)
            rows.append(_village(code, township, serial, name, "社区"))
        for serial in range(200, 200 + count - communities):
            rows.append(_village(code, township, serial, _name(rng, used, "村"), "村"))
        if rng.random() < 0.12 and count - communities >= 4:
            # Two villages merged mid-campaign into a new one (合村并组).
            merged = [r for r in rows if r["township_code"] == code and r["kind"] == "村"][:2]
            for row in merged:
                row["abolished_on"] = MERGE_DATE
            name = merged[0]["name"][:2] + merged[1]["name"][:1] + "村"
            if name in used:
                name = _name(rng, used, "村")
            row = _village(code, township, 380, name, "村")
            row["established_on"] = MERGE_DATE
            rows.append(row)
    return rows


def _village(
    township_code: str, township: dict[str, Any], serial: int, name: str, kind: str
) -> dict[str, Any]:
    return {
        "code": township_code[:9] + f"{serial:03d}",
        "name": name,
        "level": "village",
        "kind": kind,
        "parent": township_code,
        "county_code": township["county_code"],
        "township_code": township_code,
        "established_on": None,
        "abolished_on": None,
        "is_demo": True,
        "source": DEMO_SOURCE,
    }


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


async def load_demo() -> dict[str, int]:
    """Add demo villages and sites with dated histories (skips what already exists)."""
    townships = await Division.select().where(Division.level == "township")
    existing = {
        r["code"] for r in await Division.select(Division.code).where(Division.level == "village")
    }
    villages = [r for r in village_rows(townships) if r["code"] not in existing]
    counts = {"villages": 0, "sites": 0, "events": 0}
    regions = {
        normalise_code(r.code): r.geometry
        for r in load_regions_geojson(HUAIHUA / "boundaries.gcj02.geojson", crs="gcj02")
    }
    today = clock.today()
    async with write_transaction():
        await insert_many(Division, [Division(**v) for v in villages])
        counts["villages"] = len(villages)
        if await Site.exists():
            return counts
        divisions = (
            await Division.select()
            .where(Division.level.is_in(["township", "village"]))
            .order_by(Division.code)
        )
        by_county: dict[str, list[dict[str, Any]]] = {}
        for division in divisions:
            if division["abolished_on"] is not None and division["level"] == "township":
                continue
            by_county.setdefault(division["county_code"], []).append(division)
        for county_code, members in by_county.items():
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
    specs = [
        ("shizhongxin", "municipal", "431200000000", "怀化市政务服务中心（演示）"),
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
