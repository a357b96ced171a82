"""Scale generator: the registry at city, province (湖南) or nation size, and synthetic cases.

The scale is the deployment's root (``REGISTRY_ROOT``): ``city`` a city (怀化市, the default),
``province`` a province (430000 湖南), ``nation`` the nation (000000). The real register of the
root is loaded by ``seed.loader`` (official villages of NBS 2023 included). With ``--demo``:
怀化's demo histories (``seed.demo``, a profile per county), a site on about 95 % of the other
townships and villages with dated status events across the campaign, and — on request —
synthetic cases (masked residents only). Sites in counties without an outline are placed
without a containment check and flagged (``location_warning``).

Everything is inserted with bulk statements on one connection per transaction
(:mod:`registry.db.bulk`), not row by row.
"""

from __future__ import annotations

import hashlib
import json
import operator
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import numpy as np
import shapely

from registry.core import clock
from registry.core.codes import level_of_code
from registry.core.errors import RuleViolation
from registry.core.settings import get_settings
from registry.db import bulk
from registry.db.binding import current
from registry.db.engines import is_sqlite
from registry.db.sql import column_names
from registry.db.transactions import write_transaction
from registry.divisions.rules import POINT_KINDS, SITE_KIND_BY_DIVISION_KIND, STATISTICAL_TOWNSHIP
from registry.sites.rules import signage
from registry.sites.rules.location import no_boundary_warning
from registry.tables import Case, Division, Matter, Site, StatusEvent
from seed import DATA_DIR, demo, loader

SCALES = ("city", "province", "nation")
HUNAN = DATA_DIR / "hunan"
CHINA = DATA_DIR / "china"
DEFAULT_CASES = {"city": 100_000, "province": 2_000_000, "nation": 2_000_000}
CASE_BATCH = 100_000
SITES_PER_TRANSACTION = 20_000
# Sites of counties with no boundary are put inside this rectangle of central China.
NO_BOUNDARY_BOX = (103.0, 23.0, 118.0, 35.0)

Progress = Callable[[str, int, int], None]

_PROFILES = (
    demo.Profile("early", 0.35, 0.15),
    demo.Profile("on_track", 0.5, 0.2),
    demo.Profile("on_track", 0.6, 0.25),
    demo.Profile("lagging", 0.85, 0.3),
    demo.Profile("stalled", 0.5, 0.2, date(2014, 6, 30)),
)


def _noop(stage: str, done: int, total: int) -> None:
    return None


# --------------------------------------------------------------------------- synthetic sites


def _points(geom: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points inside a polygon, away from its border (vectorised rejection sampling)."""
    core = geom.buffer(-0.005)
    if core.is_empty:
        core = geom
    shapely.prepare(core)
    min_x, min_y, max_x, max_y = core.bounds
    found: list[np.ndarray] = []
    total = 0
    while total < n:
        xs = rng.uniform(min_x, max_x, n * 3 + 10)
        ys = rng.uniform(min_y, max_y, n * 3 + 10)
        inside = shapely.contains_xy(core, xs, ys)
        block = np.column_stack([xs[inside], ys[inside]])
        found.append(block)
        total += len(block)
    return np.round(np.concatenate(found)[:n], 6)


SITE_COLUMNS = (
    "division",
    "open_division",
    "kind",
    "county_code",
    "township_code",
    "standard_name",
    "signage_name",
    "signage_conforms",
    "signage_problems",
    "lon",
    "lat",
    "crs",
    "coord_method",
    "collected_on",
    "location_warning",
    "status",
    "status_since",
    "version",
    "is_demo",
    "created_by",
    "created_at",
    "updated_at",
    "staff_count",
    "hall_area_m2",
)
EVENT_COLUMNS = ("site", "status", "previous_status", "effective_date", "actor", "recorded_at")


async def load_synthetic(progress: Progress = _noop) -> dict[str, int]:
    """Sites and events for every township and village without a site (random profiles)."""
    counts = {"sites": 0, "events": 0, "sites_without_boundary": 0}
    regions = await demo._outlines()
    county_names = {
        r["code"]: r["name"]
        for r in await Division.select(Division.code, Division.name).where(
            Division.level.is_in(["county", "city"])
        )
    }
    with_site = {r["division"] for r in await Site.select(Site.division).distinct()}
    members: dict[str, list[dict[str, Any]]] = {}
    rows = (
        await Division.select(
            Division.code,
            Division.name,
            Division.level,
            Division.kind,
            Division.county_code,
            Division.township_code,
            Division.established_on,
            Division.abolished_on,
        )
        .where(
            Division.level.is_in(["township", "village"]) & (Division.kind != STATISTICAL_TOWNSHIP)
        )
        .order_by(Division.code)
    )
    for division in rows:
        if division["code"] in with_site:
            continue
        if division["level"] == "township" and division["abolished_on"] is not None:
            continue
        members.setdefault(division["county_code"], []).append(division)
    today = clock.today()
    now = clock.now()
    total = sum(len(m) for m in members.values())
    done = 0
    pending_rows: list[tuple[Any, ...]] = []
    pending_histories: list[list[tuple[str, str | None, date]]] = []

    async def flush() -> None:
        # Several counties per transaction: one commit (one fsync) per ~20,000 sites.
        async with write_transaction():
            ids = await bulk.insert_returning_ids(Site, SITE_COLUMNS, pending_rows)
            events = [
                (site_id, status, previous, day, "demo", now)
                for site_id, history in zip(ids, pending_histories, strict=True)
                for status, previous, day in history
            ]
            await bulk.insert_rows(StatusEvent, EVENT_COLUMNS, events)
        counts["sites"] += len(pending_rows)
        counts["events"] += len(events)
        pending_rows.clear()
        pending_histories.clear()

    for county_code, divisions in sorted(members.items()):
        site_rows, histories = _county_sites(
            county_code, divisions, regions.get(county_code), county_names, today, now
        )
        pending_rows.extend(site_rows)
        pending_histories.extend(histories)
        if county_code not in regions:
            counts["sites_without_boundary"] += len(site_rows)
        done += len(divisions)
        if len(pending_rows) >= SITES_PER_TRANSACTION:
            await flush()
            progress("sites", done, total)
    if pending_rows:
        await flush()
    progress("sites", total, total)
    return counts


def _county_sites(
    county_code: str,
    divisions: list[dict[str, Any]],
    geometry: Any,
    county_names: dict[str, str],
    today: date,
    now: datetime,
) -> tuple[list[tuple[Any, ...]], list[list[tuple[str, str | None, date]]]]:
    seed = int(county_code[:6])
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    profile = demo.PROFILES.get(county_code) or _PROFILES[seed % len(_PROFILES)]
    if geometry is not None:
        points = _points(geometry, len(divisions), nprng)
        warning = None
    else:
        x0, y0, x1, y1 = NO_BOUNDARY_BOX
        points = np.round(
            np.column_stack(
                [nprng.uniform(x0, x1, len(divisions)), nprng.uniform(y0, y1, len(divisions))]
            ),
            6,
        )
        warning = no_boundary_warning(county_names.get(county_code, county_code))
    site_rows = []
    histories = []
    for division, (lon, lat) in zip(divisions, points.tolist(), strict=True):
        if rng.random() < 0.05:
            continue  # no site registered yet
        centre = division["level"] == "township"
        history = demo._history(rng, profile, centre, today, division["established_on"])
        if division["abolished_on"] is not None:
            history = [(s, d) for s, d in history if d < division["abolished_on"]] or [
                ("planned", demo.CAMPAIGN_START)
            ]
            history.append(("closed", max(division["abolished_on"], history[-1][1])))
        sign_name = demo._sign(rng, division)
        check = signage.check(division["name"], division["kind"], sign_name)
        status, since = history[-1]
        site_rows.append(
            (
                division["code"],
                None if status == "closed" else division["code"],
                SITE_KIND_BY_DIVISION_KIND[division["kind"]],
                county_code,
                division["township_code"],
                check.standard_name,
                sign_name,
                check.conforms,
                json.dumps(msgspec.to_builtins(check.problems), ensure_ascii=False),
                lon,
                lat,
                "wgs84",
                "map_pick",
                history[0][1],
                warning,
                status,
                since,
                1,
                True,
                "demo",
                now,
                now,
                rng.randint(4, 15) if centre else 1,
                float(rng.randint(120, 600)) if centre else None,
            )
        )
        previous = None
        events = []
        for st, day in history:
            events.append((st, previous, day))
            previous = st
        histories.append(events)
    return site_rows, histories


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class SyntheticMatter:
    code: str
    name: str
    category: str
    department: str
    time_limit_days: int


# Used only when the catalogue is empty (the proxy-service branch seeds the real one).
SYNTHETIC_MATTERS = (
    SyntheticMatter("SCALE-01", "城乡居民养老保险参保登记", "社会保障", "人社局", 5),
    SyntheticMatter("SCALE-02", "最低生活保障申请", "社会救助", "民政局", 20),
    SyntheticMatter("SCALE-03", "残疾人证申领", "残疾人服务", "残联", 15),
    SyntheticMatter("SCALE-04", "新型农村合作医疗报销", "医疗保障", "医保局", 10),
    SyntheticMatter("SCALE-05", "生育服务登记", "卫生健康", "卫健委", 3),
    SyntheticMatter("SCALE-06", "农村建房用地申请", "自然资源", "自然资源局", 20),
)
# Columns of a synthetic case row, in insert order: the table's, but for the ones these rows
# leave at their defaults (no resident data hash, no completion figures). The receipt date is
# set: the registry numbers a day's cases after the greatest number it finds on that date.
CASE_DEFAULTED = ("resident_data_hash", "completion_workdays", "completed_on_time")
CASE_COLUMNS = column_names(Case, exclude=CASE_DEFAULTED)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
_STATES = np.array(["delivered", "completed", "forwarded", "received", "returned"])
_STATE_P = np.array([0.8, 0.08, 0.05, 0.04, 0.03])
_RATINGS = np.array(
    ["very_satisfied", "satisfied", "basically_satisfied", "dissatisfied", "very_dissatisfied"]
)
_RATING_P = np.array([0.55, 0.3, 0.1, 0.04, 0.01])


async def _matters() -> list[dict[str, Any]]:
    rows = await Matter.select(Matter.code, Matter.time_limit_days).where(Matter.active.eq(True))
    if rows:
        return rows
    await Matter.insert(
        *[
            Matter(
                code=m.code,
                name=m.name,
                category=m.category,
                department=m.department,
                time_limit_days=m.time_limit_days,
                materials=[],
            )
            for m in SYNTHETIC_MATTERS
        ]
    )
    return [{"code": m.code, "time_limit_days": m.time_limit_days} for m in SYNTHETIC_MATTERS]


@dataclass
class _CaseContext:
    rng: np.random.Generator
    site_ids: list[int]
    divisions: list[str]
    counties: list[str]
    townships: list[str]
    start_ord: np.ndarray
    span: np.ndarray
    matter_codes: list[str]
    matter_days: np.ndarray
    existing: int
    per_site: np.ndarray  # cases to generate at each site (sites in division order)
    division_rank: np.ndarray  # each site's division's place in that order
    id_ms: int  # the UUIDv7 timestamp of this run's cases


def case_uuid(unix_ms: int, counter: int) -> uuid.UUID:
    """A UUIDv7 (RFC 9562) whose 74 bits after the millisecond timestamp are a counter
    (the RFC's "fixed bit-length dedicated counter"): ids of one run sort in counter order."""
    value = (
        (unix_ms & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76
        | (counter >> 62 & 0xFFF) << 64
        | 0b10 << 62
        | counter & (1 << 62) - 1
    )
    return uuid.UUID(int=value)


def division_batches(division_rank: np.ndarray, per_site: np.ndarray, batch: int) -> list[range]:
    """Cut the sites (in division order) into runs of at least ``batch`` cases (the last may
    have fewer) that never split a division, so that batch after batch case numbers grow."""
    ends = np.cumsum(per_site)
    # A cut may fall only after the last site of a division.
    last_of_division = np.append(division_rank[1:] != division_rank[:-1], True)
    cuts: list[range] = []
    start, done = 0, 0
    for i in np.flatnonzero(last_of_division).tolist():
        if ends[i] - done >= batch:
            cuts.append(range(start, i + 1))
            start, done = i + 1, int(ends[i])
    if start < len(per_site) and int(ends[-1]) > done:
        cuts.append(range(start, len(per_site)))
    return cuts


def _case_rows(ctx: _CaseContext, sites: range, inserted: int) -> list[tuple[Any, ...]]:
    """The cases of a run of sites (vectorised draws, one tuple per case), in the order of
    their case numbers (division, day, time) and of their ids, so that a load appends to
    both unique indexes instead of inserting at random places (random UUIDs made a 20 M-case
    SQLite load slow down by a third as the indexes outgrew the page cache)."""
    rng, start_ord, span = ctx.rng, ctx.start_ord, ctx.span
    site_ids, divisions, counties, townships = (
        ctx.site_ids,
        ctx.divisions,
        ctx.counties,
        ctx.townships,
    )
    matter_codes, matter_days, existing = ctx.matter_codes, ctx.matter_days, ctx.existing
    site_idx = np.repeat(np.arange(sites.start, sites.stop), ctx.per_site[sites.start : sites.stop])
    n = len(site_idx)
    day_ord = start_ord[site_idx] + (rng.random(n) * span[site_idx]).astype(np.int64)
    seconds = rng.integers(8 * 3600, 17 * 3600, n)  # office hours, Beijing time
    order = np.lexsort((seconds, day_ord, ctx.division_rank[site_idx]))
    site_idx, day_ord, seconds = site_idx[order], day_ord[order], seconds[order]
    matter_idx = rng.integers(0, len(matter_codes), n)
    limit = matter_days[matter_idx]
    due_ord = day_ord + limit // 5 * 7 + limit % 5
    states = rng.choice(_STATES, n, p=_STATE_P).tolist()
    ratings = rng.choice(_RATINGS, n, p=_RATING_P).tolist()
    lag = rng.integers(1, 48, (n, 3)) * 3600
    surnames = rng.integers(0, len(_SURNAMES), n)
    given = rng.integers(0, len(_GIVEN), n)
    digits = rng.integers(0, 10_000, (n, 2))
    raw = rng.bytes(32 * n)
    row = operator.itemgetter(*CASE_COLUMNS)
    rows = []
    for i in range(n):
        day = date.fromordinal(int(day_ord[i]))
        received = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
            seconds=int(seconds[i]) - 8 * 3600
        )
        state = states[i]
        forwarded = received + timedelta(seconds=int(lag[i, 0])) if state != "received" else None
        completed = (
            forwarded + timedelta(seconds=int(lag[i, 1]))
            if state in ("completed", "delivered")
            else None
        )
        returned = forwarded + timedelta(seconds=int(lag[i, 1])) if state == "returned" else None
        delivered = completed + timedelta(seconds=int(lag[i, 2])) if state == "delivered" else None
        s = int(site_idx[i])
        serial = existing + inserted + i + 1
        case_id = case_uuid(ctx.id_ms, serial)
        digest = raw[32 * i : 32 * i + 32].hex()
        values = {
            "id": case_id,
            "site": site_ids[s],
            "matter": matter_codes[int(matter_idx[i])],
            "case_number": f"{divisions[s]}-{day:%Y%m%d}-{serial:07d}",
            "county_code": counties[s],
            "township_code": townships[s],
            "resident_name_masked": _SURNAMES[surnames[i]] + "*" + _GIVEN[given[i]],
            "resident_id_hash": digest,
            "resident_id_masked": f"{counties[s][:4]}**********{int(digits[i, 0]) % 1000:03d}X",
            "resident_phone_masked": f"1{38 + int(digits[i, 1]) % 10}****{int(digits[i, 0]):04d}",
            "received_at": received,
            "received_on": day,  # office hours: the Beijing date is the drawn day
            "state": state,
            "forwarded_at": forwarded,
            "completed_at": completed,
            "returned_at": returned,
            "delivered_at": delivered,
            "returned_reason": "材料不全" if state == "returned" else None,
            "rating": ratings[i] if state == "delivered" else None,
            "note": None,
            "due_on": date.fromordinal(int(due_ord[i])),
            "forward_late": False,
            "version": 1,
            "content_hash": hashlib.blake2b(case_id.bytes, digest_size=32).hexdigest(),
            "is_demo": True,
            "created_by": "scale",
            "created_at": received,
            "updated_at": delivered or completed or returned or forwarded or received,
        }
        rows.append(row(values))
    return rows


async def generate_cases(
    count: int, *, seed: int = 2013, progress: Progress = _noop, batch: int = CASE_BATCH
) -> dict[str, Any]:
    """Insert ``count`` synthetic cases at agency points that are (or were) in service.

    Residents are synthetic and stored the way the registry stores real ones: masked name,
    masked ID and phone, a keyed-hash-sized random ID hash. Received dates run from the
    point's entry into service to today; the state mix is mostly delivered. ``due_on`` is the
    received date plus the matter's limit in working days, approximated as calendar weeks
    (5 working days a week; holidays are not counted here). Cases are generated point by
    point in division order and inserted in the order of their case numbers and ids
    (UUIDv7), in batches of about ``batch``; all in one transaction, with the secondary
    indexes rebuilt at the end.
    """
    started = time.perf_counter()
    sites = (
        await Site.select(
            Site.id,
            Site.division,
            Site.county_code,
            Site.township_code,
            Site.status_since,
        )
        .where(Site.kind.is_in(list(POINT_KINDS)))
        .where(Site.status.is_in(["in_service", "standardized", "suspended"]))
        .order_by(Site.division, Site.id)
    )
    if not sites or count <= 0:
        return {"cases": 0, "seconds": 0.0, "points": len(sites)}
    matters = await _matters()
    existing = await Case.count()
    # Seeded by what exists too, so that a second run adds new cases instead of repeating.
    rng = np.random.default_rng([seed, existing])
    today = clock.today()
    site_ids = [s["id"] for s in sites]
    divisions = [s["division"] for s in sites]
    counties = [s["county_code"] for s in sites]
    townships = [s["township_code"] for s in sites]
    start_ord = np.array([s["status_since"].toordinal() for s in sites])
    span = np.maximum(1, today.toordinal() - start_ord)
    matter_codes = [m["code"] for m in matters]
    matter_days = np.array([m["time_limit_days"] for m in matters])
    # Each point is equally likely to have received a case (as drawing a point per case).
    per_site = rng.multinomial(count, np.full(len(sites), 1 / len(sites)))
    codes = np.array(divisions, dtype=object)
    division_rank = np.cumsum(np.r_[False, codes[1:] != codes[:-1]])
    inserted = 0
    timings = {"generate": 0.0, "insert": 0.0, "indexes": 0.0}
    ctx = _CaseContext(
        rng,
        site_ids,
        divisions,
        counties,
        townships,
        start_ord,
        span,
        matter_codes,
        matter_days,
        existing,
        per_site,
        division_rank,
        int(time.time() * 1000),
    )
    async with write_transaction():
        async with bulk.deferred_indexes(Case):
            for run in division_batches(division_rank, per_site, batch):
                t0 = time.perf_counter()
                rows = _case_rows(ctx, run, inserted)
                t1 = time.perf_counter()
                await bulk.insert_rows(Case, CASE_COLUMNS, rows)
                timings["generate"] += t1 - t0
                timings["insert"] += time.perf_counter() - t1
                inserted += len(rows)
                progress("cases", inserted, count)
            t2 = time.perf_counter()
        timings["indexes"] = time.perf_counter() - t2
    elapsed = time.perf_counter() - started
    return {
        "cases": inserted,
        "seconds": round(elapsed, 2),
        "rows_per_s": round(inserted / elapsed) if elapsed else None,
        "phases_s": {k: round(v, 2) for k, v in timings.items()},
        "points": len(sites),
    }


# --------------------------------------------------------------------------- entry point


SCALE_LEVELS = {"city": "city", "province": "province", "nation": "nation"}


def check_root(scale: str) -> None:
    """The scale must be the root's level (the root decides what the registry serves)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}")
    root = get_settings().root_code
    if level_of_code(root) != SCALE_LEVELS[scale]:
        example = {"city": "431200", "province": "430000", "nation": "000000"}[scale]
        raise RuleViolation(
            "scale_needs_root",
            f"--scale {scale} 需要与之相符的 REGISTRY_ROOT（例如 {example}），当前为 {root[:6]}",
            f"--scale {scale} loads the register of a {SCALE_LEVELS[scale]}: set "
            f"REGISTRY_ROOT={example} (now {root[:6]})",
            "scale",
        )


async def load_scale(
    scale: str, *, demo_data: bool, cases: int | None = None, progress: Progress = _noop
) -> dict[str, Any]:
    """Load the real register of the root and, with ``demo_data``, demo histories and
    ``cases`` cases (default: :data:`DEFAULT_CASES` for province and nation, none for the
    city). Returns counts and the time of each phase in seconds."""
    check_root(scale)
    report: dict[str, Any] = {"scale": scale, "seconds": {}}

    def timed(name: str, started: float) -> None:
        report["seconds"][name] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    report["base"] = await loader.load_base()
    timed("register", started)
    if not demo_data:
        return report
    started = time.perf_counter()
    report["city_demo"] = await demo.load_demo()
    timed("city_demo", started)
    if scale != "city":
        started = time.perf_counter()
        report["synthetic"] = await load_synthetic(progress)
        timed("sites_events", started)
    wanted = DEFAULT_CASES[scale] if cases is None and scale != "city" else (cases or 0)
    if wanted:
        started = time.perf_counter()
        report["cases"] = await generate_cases(wanted, progress=progress)
        timed("cases", started)
    if not is_sqlite(current()):
        # Planner statistics for the freshly loaded tables: without them PostgreSQL guesses
        # a few rows per table and picks nested bitmap scans (coverage took 10 s, not 0.1 s,
        # until autovacuum got round to it).
        started = time.perf_counter()
        await Case.raw("ANALYZE")
        timed("analyze", started)
    return report
