"""Deterministic demo case histories (代办事项) for the demo agency points, flagged ``is_demo``.

Every agency point gets cases only on days it was in service (from its dated status events), in
two windows: the campaign years (its first day in service to the end of 2015) and the twelve
months up to today — nothing in between, to keep the demo small and quick to load. Each point has
its own pace (a few quiet points stop logging, so the "active" flag has something to show), and
matters follow the rural calendar: medical-insurance contributions in the autumn, pension
enrolment in spring, farmland subsidies in March–May, and so on.

Cases move on realistically: forwarded within a few working days (some late), completed around
the matter's time limit (some late), a few returned with a reason, delivered, and mostly rated
satisfied. Recent cases may still be open, a few of them overdue. Residents are synthetic — a
pool per village so repeat services exist — and, like real ones, are stored only masked and
hashed with the server secret.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from registry.cases.rules import timeline as rules
from registry.cases.rules import workdays
from registry.cases.rules.resident import Resident, protect
from registry.cases.rules.resident_id import with_check_character
from registry.cases.rules.timeline import Timeline
from registry.core import clock
from registry.core.settings import get_settings
from registry.db.bulk import insert_many
from registry.db.transactions import write_transaction
from registry.tables import Case, Matter, Site, StatusEvent

CAMPAIGN_END = date(2015, 12, 31)
RECENT_DAYS = 365
POINT_KINDS = ("village_point", "community_point")
RESIDENTS_PER_POINT = 40
# Median cases per month of a point today; new points during the campaign did fewer.
PACE_MEDIAN = 0.5
CAMPAIGN_PACE = 0.4
DEMO_NAMESPACE = uuid.UUID("6f1c1f8e-2f6b-4b8e-9a57-5b1d3c0a7e21")

# Monthly weight of each matter (index 0 = January); matters not listed weigh 1 all year.
SEASONS: dict[str, tuple[float, ...]] = {
    "YB001": (0.6, 0.4, 0.4, 0.4, 0.4, 0.4, 0.5, 0.8, 4.0, 5.0, 5.0, 4.0),  # 医保缴费期
    "SB001": (2.5, 2.0, 3.0, 3.0, 2.0, 1.5, 0.8, 0.6, 0.6, 0.6, 0.6, 0.8),  # 养老参保
    "SB005": (1.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.5),
    "NY002": (0.2, 0.3, 3.0, 4.0, 3.0, 0.5, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2),  # 耕地地力补贴
    "NY001": (0.3, 0.5, 2.5, 2.5, 1.5, 0.6, 0.4, 1.0, 1.5, 1.5, 0.6, 0.3),  # 春耕秋收农机
    "NY003": (1.5, 0.8, 1.2, 1.2, 1.0, 0.6, 0.6, 0.8, 1.0, 1.2, 1.5, 1.5),
    "JY003": (0.8, 3.0, 2.5, 0.6, 0.4, 0.4, 0.6, 0.8, 0.6, 0.4, 0.4, 1.5),  # 春节后外出务工
    "JY004": (0.3, 0.3, 0.8, 0.8, 0.5, 0.5, 0.8, 3.0, 3.5, 2.0, 0.6, 0.3),  # 雨露计划
    "JY005": (0.1, 0.1, 0.1, 0.1, 0.1, 0.3, 3.0, 5.0, 2.0, 0.2, 0.1, 0.1),  # 助学贷款
    "MZ003": (2.0, 1.5, 1.0, 1.0, 1.0, 1.2, 1.5, 1.2, 1.0, 1.0, 1.2, 2.0),  # 汛期、冬春救助
}
# Base share of each matter in a point's work (the rest weigh 1).
POPULARITY: dict[str, float] = {
    "YB001": 8.0,
    "SB001": 5.0,
    "SB005": 5.0,
    "SB002": 3.0,
    "SB006": 3.0,
    "MZ004": 3.0,
    "MZ001": 2.0,
    "MZ003": 2.0,
    "NY002": 3.0,
    "GA001": 2.0,
    "WJ001": 1.5,
    "YB002": 2.0,
    "YB004": 1.5,
    "CL002": 1.5,
    "MZ005": 1.5,
}
# Extra volume per calendar month (spring festival lull in February, autumn peak).
MONTH_FACTOR = (1.1, 0.7, 1.1, 1.1, 1.0, 0.9, 0.9, 1.0, 1.2, 1.3, 1.2, 1.1)
RETURN_REASONS = (
    "材料不全，需补充户口簿复印件",
    "不符合申请条件",
    "申请表信息填写有误，需重新填报",
    "已通过其他渠道办理",
    "需本人到场核验",
)
NOTES = (None, None, None, None, "代办员上门代办", "材料已当场核对原件", "电话告知办理进度")
RATING_WEIGHTS = (
    ("very_satisfied", 55),
    ("satisfied", 30),
    ("basically_satisfied", 10),
    ("dissatisfied", 4),
    ("very_dissatisfied", 1),
)
SURNAMES = "杨张李刘王陈向舒蒋唐粟龙吴滕蒲姚石田彭谭胡罗周邓肖曾"
GIVEN = "春秋明华军英兰芳国建平志红桂生福贵秀玉金德云海林梅"
PHONE_PREFIXES = ("138", "139", "158", "187", "188", "173", "180", "177", "135", "151")


def _rng(*parts: object) -> random.Random:
    return random.Random("|".join(str(p) for p in parts))


def _resident(division_code: str, county_code: str, index: int) -> tuple[str, str, str]:
    """Synthetic resident ``index`` of a village: (name, ID number, mobile)."""
    rng = _rng("resident", division_code, index)
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
    born = date(1935, 1, 1) + timedelta(days=rng.randint(0, 65 * 365))
    first17 = f"{county_code[:6]}{born:%Y%m%d}{rng.randint(0, 999):03d}"
    phone = rng.choice(PHONE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
    return name, with_check_character(first17), phone


def _in_service_spans(events: list[dict[str, Any]], today: date) -> list[tuple[date, date]]:
    """Inclusive date spans in which a point was in service, from its ordered events."""
    spans: list[tuple[date, date]] = []
    start: date | None = None
    for event in events:
        serving = event["status"] in ("in_service", "standardized")
        if serving and start is None:
            start = event["effective_date"]
        elif not serving and start is not None:
            end = event["effective_date"] - timedelta(days=1)
            if end >= start:
                spans.append((start, end))
            start = None
    if start is not None and start <= today:
        spans.append((start, today))
    return spans


def _windows(spans: list[tuple[date, date]], today: date) -> list[tuple[date, date]]:
    """The parts of the service spans inside the campaign years or the last twelve months,
    merged so no day is counted twice."""
    recent = today - timedelta(days=RECENT_DAYS - 1)
    parts = sorted(
        (lo, hi)
        for start, end in spans
        for lo, hi in ((start, min(end, CAMPAIGN_END)), (max(start, recent), end))
        if lo <= hi
    )
    merged: list[tuple[date, date]] = []
    for lo, hi in parts:
        if merged and lo <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _poisson(rng: random.Random, mean: float) -> int:
    threshold, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def _instant(day: date, rng: random.Random, earliest: datetime | None = None) -> datetime:
    """A working-hours instant (China time) on ``day``, as UTC, not before ``earliest``."""
    minutes = rng.randint(8 * 60 + 30, 17 * 60 + 30)
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=clock.CHINA)
    instant = local.astimezone(UTC)
    if earliest is not None and instant < earliest:
        instant = earliest + timedelta(minutes=rng.randint(5, 90))
    return instant


def _timeline(
    rng: random.Random, received: datetime, limit: int, now: datetime, stuck: bool
) -> Timeline:
    """How one case moved on; steps after ``now`` have not happened yet."""
    received_on = clock.china_date(received)
    steps: dict[str, Any] = {"received_at": received}
    roll = rng.random()
    forward_days = 0 if roll < 0.45 else 1 if roll < 0.75 else rng.randint(2, 3)
    if rng.random() < 0.07:
        forward_days = rng.randint(4, 7)  # a late forward
    forwarded = _instant(workdays.add_workdays(received_on, forward_days), rng, received)
    outcome = "returned" if rng.random() < 0.05 else "completed"
    span = max(0, round(max(1, limit) * rng.uniform(0.2, 1.15)))  # about one in seven late
    done_day = workdays.add_workdays(clock.china_date(forwarded), min(span, 365))
    done = _instant(max(done_day, clock.china_date(forwarded)), rng, forwarded)
    delivered = _instant(
        workdays.add_workdays(clock.china_date(done), rng.randint(0, 3)), rng, done
    )
    state = "received"
    if forwarded <= now:
        steps["forwarded_at"] = forwarded
        state = "forwarded"
        if not stuck and done <= now:
            steps[f"{outcome}_at"] = done
            state = outcome
            if outcome == "returned":
                steps["returned_reason"] = rng.choice(RETURN_REASONS)
            if delivered <= now:
                steps["delivered_at"] = delivered
                state = "delivered"
                if rng.random() < 0.8:
                    steps["rating"] = rng.choices(
                        [r for r, _ in RATING_WEIGHTS], [w for _, w in RATING_WEIGHTS]
                    )[0]
    return Timeline(state=state, **steps)


def build_cases(
    sites: list[dict[str, Any]],
    events: dict[int, list[dict[str, Any]]],
    limits: dict[str, int],
    today: date,
    now: datetime,
    secret: str,
) -> list[dict[str, Any]]:
    """The demo cases of ``sites`` as table rows (pure and deterministic for given inputs).

    Args:
        sites: agency points (``id``, ``division_code``, ``county_code``, ``township_code``).
        events: each point's status events, oldest first (``status``, ``effective_date``).
        limits: time limit in working days of each active matter.
        today: the China date the histories end on; ``now`` the instant.
        secret: the server secret keying the residents' hashes.
    """
    codes = sorted(limits)
    base_weights = [POPULARITY.get(code, 1.0) for code in codes]
    month_weights = [
        [w * SEASONS.get(c, (1.0,) * 12)[m] for c, w in zip(codes, base_weights, strict=True)]
        for m in range(12)
    ]
    recent_start = today - timedelta(days=RECENT_DAYS - 1)
    rows: list[dict[str, Any]] = []
    for site in sites:
        windows = _windows(_in_service_spans(events.get(site["id"], []), today), today)
        if not windows:
            continue
        rng = _rng("cases", site["division_code"])
        # Cases per month at this point: most points a few, some busy, a few go quiet.
        pace = min(4.0, rng.lognormvariate(math.log(PACE_MEDIAN), 0.6))
        quiet_from = (
            recent_start + timedelta(days=rng.randint(0, RECENT_DAYS - 100))
            if rng.random() < 0.12
            else None
        )
        residents: dict[int, Resident] = {}
        serial: dict[date, int] = defaultdict(int)
        for start, end in windows:
            month = date(start.year, start.month, 1)
            while month <= end:
                next_month = (month + timedelta(days=32)).replace(day=1)
                days = [
                    d
                    for d in workdays.workdays_in_month(month.year, month.month)
                    if start <= d <= end and (quiet_from is None or d < quiet_from)
                ]
                era = CAMPAIGN_PACE if month <= CAMPAIGN_END else 1.0
                mean = era * pace * MONTH_FACTOR[month.month - 1] * len(days) / 21.75
                count = _poisson(rng, mean) if days else 0
                for day in sorted(rng.choice(days) for _ in range(count)):
                    received = _instant(day, rng)
                    if received > now:
                        continue
                    matter = rng.choices(codes, month_weights[month.month - 1])[0]
                    stuck = day >= today - timedelta(days=60) and rng.random() < 0.04
                    timeline = _timeline(rng, received, limits[matter], now, stuck)
                    who = rng.randrange(RESIDENTS_PER_POINT)
                    if who not in residents:
                        residents[who] = protect(
                            secret,
                            *_resident(site["division_code"], site["county_code"], who),
                            today,
                        )
                    rows.append(
                        _row(site, matter, timeline, residents[who], serial, limits, secret)
                    )
                month = next_month
    return rows


def _row(
    site: dict[str, Any],
    matter: str,
    timeline: Timeline,
    resident: Resident,
    serial: dict[date, int],
    limits: dict[str, int],
    secret: str,
) -> dict[str, Any]:
    derived = rules.derive(timeline, limits[matter])
    serial[derived.received_on] += 1
    number_of_case = rules.case_number(
        site["division_code"], derived.received_on, serial[derived.received_on]
    )
    case_id = uuid.uuid5(DEMO_NAMESPACE, number_of_case)
    note = NOTES[int(case_id) % len(NOTES)]
    content = {
        "id": case_id,
        "site_id": site["id"],
        "matter_code": matter,
        "resident": resident.data_hash,
        "note": note,
        **{f: getattr(timeline, f) for f in Timeline.__struct_fields__},
    }
    last_step = max(
        t
        for t in (
            timeline.received_at,
            timeline.forwarded_at,
            timeline.completed_at,
            timeline.returned_at,
            timeline.delivered_at,
        )
        if t is not None
    )
    return {
        "id": case_id,
        "site": site["id"],
        "matter": matter,
        "case_number": number_of_case,
        "county_code": site["county_code"],
        "township_code": site["township_code"],
        "resident_name_masked": resident.name_masked,
        "resident_id_hash": resident.id_hash,
        "resident_id_masked": resident.id_masked,
        "resident_phone_masked": resident.phone_masked,
        "resident_data_hash": resident.data_hash,
        "received_at": timeline.received_at,
        "received_on": derived.received_on,
        "state": timeline.state,
        "forwarded_at": timeline.forwarded_at,
        "completed_at": timeline.completed_at,
        "returned_at": timeline.returned_at,
        "delivered_at": timeline.delivered_at,
        "returned_reason": timeline.returned_reason,
        "rating": timeline.rating,
        "note": note,
        "due_on": derived.due_on,
        "forward_late": derived.forward_late,
        "completion_workdays": derived.completion_workdays,
        "completed_on_time": derived.completed_on_time,
        "version": 1,
        "content_hash": rules.fingerprint(secret, content),
        "is_demo": True,
        "created_by": "demo",
        "created_at": timeline.received_at,
        "updated_at": last_step,
    }


async def load_demo_cases() -> dict[str, int]:
    """Add demo case histories to the demo agency points (skipped when demo cases exist)."""
    if await Case.exists().where(Case.is_demo == True):  # noqa: E712 - Piccolo expression
        return {"cases": 0}
    matters = await Matter.select(Matter.code, Matter.time_limit_days).where(
        Matter.active == True  # noqa: E712
    )
    sites = (
        await Site.select(
            Site.id,
            Site.division.as_alias("division_code"),
            Site.county_code,
            Site.township_code,
        )
        .where(Site.kind.is_in(list(POINT_KINDS)) & (Site.is_demo == True))  # noqa: E712
        .order_by(Site.id)
    )
    if not matters or not sites:
        return {"cases": 0}
    events = (
        await StatusEvent.select(
            StatusEvent.site, StatusEvent.status, StatusEvent.effective_date, StatusEvent.id
        )
        .where(StatusEvent.site.is_in([s["id"] for s in sites]))
        .order_by(StatusEvent.site)
        .order_by(StatusEvent.effective_date)
        .order_by(StatusEvent.id)
    )
    by_site: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        by_site[event["site"]].append(event)
    rows = build_cases(
        sites,
        by_site,
        {m["code"]: m["time_limit_days"] for m in matters},
        clock.today(),
        clock.now(),
        get_settings().secret_key,
    )
    async with write_transaction():
        await insert_many(Case, [Case(**row) for row in rows])
    return {"cases": len(rows)}
