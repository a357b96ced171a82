"""Plan vs actual: per item and per quarter from the dated status events, and the target-share
series the coverage figures draw as a county's target line. Counted in SQL, whatever the number
of items or days.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from registry.core import clock
from registry.core.access import Actor
from registry.core.codes import normalise_code
from registry.core.errors import RuleViolation
from registry.db.binding import current
from registry.db.engines import is_sqlite
from registry.plans import rules
from registry.plans import schemas as out
from registry.plans.queries import campaign_info, plan_row
from registry.plans.scope import require_reader
from registry.tables import Plan, PlanItem


def _date_param() -> str:
    """A date placeholder usable in VALUES (PostgreSQL cannot infer its type there; SQLite
    stores dates as ISO text and must compare them as such)."""
    return "{}" if is_sqlite(current()) else "CAST({} AS DATE)"


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _satisfies_sql(target: str, status: str) -> str:
    """SQL truth of "status reaches target" (constants from the domain, no user input)."""
    return (
        "("
        + " OR ".join(
            f"({target} = '{t}' AND {status} IN ({', '.join(repr(s) for s in statuses)}))"
            for t, statuses in rules.SATISFYING.items()
        )
        + ")"
    )


# --------------------------------------------------------------------------- target line


DAYS_CHUNK = 1000


async def target_share_series(
    county_code: str, campaign: str, days: list[date]
) -> list[float] | None:
    """Cumulative target share of the county's plan in force on each day, or None.

    share(D) = (items of the plan in force with target_date ≤ D) / (items of that plan),
    counted in SQL. None when the county has no approved plan for the campaign (or the plan in
    force has no items). The coverage figures use it as the county's target line.
    """
    county_code = normalise_code(county_code, field="county")
    return (await target_share_series_many([county_code], campaign, days)).get(county_code)


async def target_share_series_many(
    county_codes: Sequence[str], campaign: str, days: list[date]
) -> dict[str, list[float]]:
    """:func:`target_share_series` of many counties in three statements, whatever their
    number: the counties without a plan in force (with items) are absent."""
    wanted = set(county_codes)
    if not wanted or not days:
        return {}
    in_force: dict[str, tuple[int, int]] = {}  # county → (version, plan id)
    for row in await Plan.select(Plan.id, Plan.county_code, Plan.version).where(
        (Plan.campaign == campaign) & (Plan.state == "approved")
    ):
        if row["county_code"] in wanted:
            best = in_force.get(row["county_code"])
            if best is None or row["version"] > best[0]:
                in_force[row["county_code"]] = (row["version"], row["id"])
    if not in_force:
        return {}
    plan_ids = [plan_id for _, plan_id in in_force.values()]
    id_list = ", ".join(str(int(i)) for i in plan_ids)  # integers from the database
    totals = {
        r["plan"]: r["n"]
        for r in await PlanItem.raw(
            f"SELECT plan, COUNT(*) AS n FROM plan_item WHERE plan IN ({id_list}) GROUP BY plan"
        )
    }
    planned: dict[tuple[int, int], int] = {}
    placeholder = _date_param()
    for start in range(0, len(days), DAYS_CHUNK):
        chunk = days[start : start + DAYS_CHUNK]
        values = ", ".join(f"({start + i}, {placeholder})" for i in range(len(chunk)))
        for r in await PlanItem.raw(
            f"WITH days(idx, d) AS (VALUES {values}) "
            "SELECT pi.plan AS plan, days.idx AS idx, COUNT(*) AS planned "
            f"FROM days JOIN plan_item pi ON pi.plan IN ({id_list}) AND pi.target_date <= days.d "
            "GROUP BY pi.plan, days.idx",
            *chunk,
        ):
            planned[(r["plan"], r["idx"])] = r["planned"]
    out: dict[str, list[float]] = {}
    for county, (_, plan_id) in in_force.items():
        total = totals.get(plan_id, 0)
        if total:
            out[county] = [planned.get((plan_id, i), 0) / total for i in range(len(days))]
    return out


# --------------------------------------------------------------------------- plan vs actual


_DIVISION_EVENTS = "FROM status_event e JOIN site s ON s.id = e.site WHERE s.division = pi.division"


_LATEST = "ORDER BY e.effective_date DESC, e.id DESC LIMIT 1"


async def progress(plan_id: int, actor: Actor, as_of: date | None) -> out.PlanProgress:
    """Plan vs actual for a version: per item and per quarter, from the dated status events."""
    row = await plan_row(plan_id)
    require_reader(actor, row["county_code"])
    campaign = await campaign_info(row["campaign"])
    today = clock.today()
    as_of = as_of or today
    if as_of > today:
        raise RuleViolation(
            "as_of_in_future", "as_of 不能晚于今天", "as_of cannot be in the future", "as_of"
        )
    ok = _satisfies_sql("pi.target", "e.status")
    items = await PlanItem.raw(
        "SELECT pi.division AS division_code, d.name AS division_name, "
        "d.township_code AS township_code, pi.target AS target, pi.target_date AS target_date, "
        "(SELECT MAX(s.id) FROM site s WHERE s.division = pi.division) AS site_id, "
        f"(SELECT e.status {_DIVISION_EVENTS} AND e.effective_date <= {{}} {_LATEST}) "
        "AS status, "
        f"(SELECT e.status {_DIVISION_EVENTS} AND e.effective_date <= pi.target_date "
        f"AND e.effective_date <= {{}} {_LATEST}) AS status_on_deadline, "
        f"(SELECT MIN(e.effective_date) {_DIVISION_EVENTS} AND e.effective_date <= {{}} "
        f"AND {ok}) AS achieved_on, "
        f"(SELECT MIN(e.effective_date) {_DIVISION_EVENTS} AND e.effective_date <= {{}} "
        f"AND e.effective_date > pi.target_date AND {ok}) AS reached_after "
        "FROM plan_item pi JOIN division d ON d.code = pi.division "
        "WHERE pi.plan = {} ORDER BY pi.division",
        as_of,
        as_of,
        as_of,
        as_of,
        plan_id,
    )
    item_out: list[out.ItemProgress] = []
    counts = {"met": 0, "late": 0, "pending": 0}
    achieved_today = 0
    for i in items:
        target_date = _as_date(i["target_date"])
        assert target_date is not None
        achieved_on = _as_date(i["achieved_on"])
        reached = rules.satisfies(i["target"], i["status_on_deadline"])
        result = rules.item_result(i["target"], target_date, reached, as_of)
        counts[result] += 1
        achieved_today += rules.satisfies(i["target"], i["status"])
        days_late = None
        if result == "late":
            # Until the target was reached after its date, or until as_of while it is not.
            days_late = ((_as_date(i["reached_after"]) or as_of) - target_date).days
        item_out.append(
            out.ItemProgress(
                division_code=i["division_code"],
                division_name=i["division_name"],
                township_code=i["township_code"],
                target=i["target"],
                target_date=target_date,
                site_id=i["site_id"],
                status=i["status"],
                status_on_target_date=i["status_on_deadline"] if target_date <= as_of else None,
                achieved_on=achieved_on,
                result=result,
                days_late=days_late,
            )
        )
    last_target = max((i.target_date for i in item_out), default=campaign.deadline)
    quarters = rules.quarters(campaign.start_on, max(campaign.deadline, last_target))
    quarter_out: list[out.QuarterProgress] = []
    if quarters:
        placeholder = _date_param()
        values = ", ".join(f"({n}, {placeholder}, {placeholder})" for n in range(len(quarters)))
        params: list[Any] = []
        for q in quarters:
            params += [q.end, min(q.end, as_of)]
        ok_flag = f"CASE WHEN {ok} THEN 1 ELSE 0 END"
        rows = await PlanItem.raw(
            f"WITH days(idx, planned_on, achieved_on) AS (VALUES {values}) "
            "SELECT days.idx AS idx, "
            "(SELECT COUNT(*) FROM plan_item pi WHERE pi.plan = {} "
            "AND pi.target_date <= days.planned_on) AS planned, "
            "(SELECT COUNT(*) FROM plan_item pi WHERE pi.plan = {} AND "
            f"(SELECT {ok_flag} {_DIVISION_EVENTS} AND e.effective_date <= days.achieved_on "
            f"{_LATEST}) = 1) AS achieved "
            "FROM days ORDER BY days.idx",
            *params,
            plan_id,
            plan_id,
        )
        for q, r in zip(quarters, rows, strict=True):
            quarter_out.append(
                out.QuarterProgress(
                    quarter=q.label,
                    end=q.end,
                    planned=r["planned"],
                    achieved=r["achieved"] if q.start <= as_of else None,
                )
            )
    return out.PlanProgress(
        plan_id=plan_id,
        county_code=row["county_code"],
        campaign=row["campaign"],
        version=row["version"],
        state=row["state"],
        as_of=as_of,
        summary=out.ProgressSummary(
            items=len(item_out),
            met=counts["met"],
            late=counts["late"],
            pending=counts["pending"],
            achieved_today=achieved_today,
        ),
        items=item_out,
        quarters=quarter_out,
    )
