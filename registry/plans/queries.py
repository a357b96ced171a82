"""Reading plans: look-ups, a version with its items, versions, compare, the submission check
and the overview of every county. Nothing here writes.
"""

from __future__ import annotations

from typing import Any

import msgspec
from piccolo.query.functions.aggregate import Count

from registry.core import clock
from registry.core.access import Actor, require_role, within_scope
from registry.core.codes import normalise_code
from registry.core.errors import Forbidden, NotFound, RuleViolation
from registry.core.params import code_or_none, one_of, page
from registry.core.text import clean_text
from registry.plans import comparison, rules
from registry.plans import schemas as out
from registry.plans.rules import CampaignInfo, DivisionInfo, ItemIn, Problem
from registry.plans.scope import require_reader
from registry.tables import AuditEntry, Campaign, Division, Plan, PlanItem, PlanReview

# --------------------------------------------------------------------------- look-ups


async def campaign_info(code: str | None, field: str = "campaign") -> CampaignInfo:
    """A plannable campaign by code (422 ``unknown_campaign``)."""
    text = clean_text(code, field, max_length=40, required=True)
    row = await Campaign.select().where(Campaign.code == text).first()
    if row is None:
        known = [r["code"] for r in await Campaign.select(Campaign.code).order_by(Campaign.code)]
        raise RuleViolation(
            "unknown_campaign",
            f"专项 {text} 不存在",
            f"unknown campaign {text!r}; one of {', '.join(known)}",
            field,
            allowed=known,
        )
    rules.campaign_level(row["figure"])
    return CampaignInfo(
        code=row["code"],
        name=row["name"],
        start_on=row["start_on"],
        deadline=row["deadline"],
        figure=row["figure"],
    )


async def plannable_campaigns() -> list[CampaignInfo]:
    """Every campaign a plan can be made for, by code."""
    rows = await Campaign.select().order_by(Campaign.code)
    return [
        CampaignInfo(
            code=r["code"],
            name=r["name"],
            start_on=r["start_on"],
            deadline=r["deadline"],
            figure=r["figure"],
        )
        for r in rows
        if r["figure"] in rules.LEVEL_BY_FIGURE
    ]


async def known_county(raw: str | None, field: str = "county_code") -> tuple[str, str]:
    """A county's code and name (422 ``unknown_county``)."""
    code = normalise_code(raw, field=field)
    row = await Division.select(Division.name, Division.level).where(Division.code == code).first()
    if row is None or row["level"] != "county":
        raise RuleViolation(
            "unknown_county",
            f"{code} 不是县(市、区)代码",
            f"{code} is not the code of a county",
            field,
        )
    return code, row["name"]


async def county_name_of(code: str) -> str:
    """A division's name (its code when unknown)."""
    row = await Division.select(Division.name).where(Division.code == code).first()
    return row["name"] if row else code


async def county_divisions(county_code: str) -> dict[str, DivisionInfo]:
    """Every division of a county (townships and villages, existing or not), by code."""
    rows = await Division.select(
        Division.code,
        Division.name,
        Division.level,
        Division.kind,
        Division.county_code,
        Division.township_code,
        Division.established_on,
        Division.abolished_on,
    ).where(Division.county_code == county_code)
    return {r["code"]: DivisionInfo(**r) for r in rows}


async def plan_row(plan_id: int) -> dict[str, Any]:
    """One version's row (404 ``plan_not_found``)."""
    row = await Plan.select().where(Plan.id == plan_id).output(load_json=True).first()
    if row is None:
        raise NotFound("plan_not_found", f"规划 {plan_id} 不存在", f"plan {plan_id} not found")
    return row


async def plan_revision(plan_id: int) -> int:
    """How many writes a version has had: every write of a plan (create, amend, update, submit,
    approve, return, supersede) appends its audit entry in its own transaction, so the count
    grows by at least one with each of them and never goes back (the trail is append-only).
    Read under the version's lock, it is the revision an edit is checked against."""
    return await AuditEntry.count().where(
        (AuditEntry.entity == "plan") & (AuditEntry.entity_id == str(plan_id))
    )


async def plan_lineage(county_code: str, campaign: str) -> list[dict[str, Any]]:
    """Every version of a county's plan for a campaign, oldest first."""
    return (
        await Plan.select(Plan.id, Plan.version, Plan.state)
        .where((Plan.county_code == county_code) & (Plan.campaign == campaign))
        .order_by(Plan.version)
    )


# --------------------------------------------------------------------------- reading


async def township_names(codes: Any) -> dict[str, str]:
    """Names of divisions by code (the townships of a list of villages)."""
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return {}
    rows = await Division.select(Division.code, Division.name).where(Division.code.is_in(wanted))
    return {r["code"]: r["name"] for r in rows}


async def _explained_places(explained: dict[str, str]) -> list[out.ExplainedPlace]:
    """The divisions of ``missing_explained`` by name, with their township's."""
    if not explained:
        return []
    rows = await Division.select(Division.code, Division.name, Division.township_code).where(
        Division.code.is_in(sorted(explained))
    )
    by_code = {r["code"]: r for r in rows}
    towns = await township_names(r["township_code"] for r in rows)
    places = []
    for code in sorted(explained):
        row = by_code.get(code)
        town = towns.get(row["township_code"] or "") if row else None
        places.append(
            out.ExplainedPlace(
                division_code=code,
                division_name=row["name"] if row else code,
                township_name=town if town and row and row["township_code"] != code else None,
                reason=explained[code],
            )
        )
    return places


async def plan_items(plan_id: int) -> list[dict[str, Any]]:
    """A version's items with their division's name and township (code and name), by code."""
    items = await _plan_item_rows(plan_id)
    names = await township_names(i["township_code"] for i in items)
    for i in items:
        own = i["township_code"] == i["division_code"]  # a township's item names no township
        i["township_name"] = None if own else names.get(i["township_code"] or "")
    return items


async def _plan_item_rows(plan_id: int) -> list[dict[str, Any]]:
    return (
        await PlanItem.select(
            PlanItem.division.as_alias("division_code"),
            PlanItem.division.name.as_alias("division_name"),
            PlanItem.division.township_code.as_alias("township_code"),
            PlanItem.target,
            PlanItem.target_date,
            PlanItem.budget_yuan,
            PlanItem.funding_source,
            PlanItem.note,
        )
        .where(PlanItem.plan == plan_id)
        .order_by(PlanItem.division)
    )


def item_in(row: dict[str, Any]) -> ItemIn:
    """An item row as the rules take it."""
    return ItemIn(
        division_code=row["division_code"],
        target=row["target"],
        target_date=row["target_date"],
        budget_yuan=row["budget_yuan"],
        funding_source=row["funding_source"],
        note=row["note"],
    )


async def plan_out(row: dict[str, Any]) -> out.Plan:
    """A version as the API shows it: items, totals and review entries."""
    items = await plan_items(row["id"])
    reviews = (
        await PlanReview.select(
            PlanReview.action, PlanReview.comment, PlanReview.actor, PlanReview.at
        )
        .where(PlanReview.plan == row["id"])
        .order_by(PlanReview.id)
    )
    return out.Plan(
        id=row["id"],
        county_code=row["county_code"],
        county_name=await county_name_of(row["county_code"]),
        campaign=row["campaign"],
        title=row["title"],
        state=row["state"],
        version=row["version"],
        revision=await plan_revision(row["id"]),
        amends=row["amends"],
        in_force=row["state"] == "approved",
        submitted_at=row["submitted_at"],
        decided_at=row["decided_at"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        item_count=len(items),
        budget_total_yuan=sum(i["budget_yuan"] or 0 for i in items),
        items=[msgspec.convert(i, out.PlanItem) for i in items],
        missing_explained=dict(row["missing_explained"] or {}),
        reviews=[msgspec.convert(r, out.Review) for r in reviews],
        explained_places=await _explained_places(dict(row["missing_explained"] or {})),
        was_returned=bool(row.get("returned_content")),
    )


async def get_plan(plan_id: int, actor: Actor) -> out.Plan:
    """One version with its items and review entries."""
    row = await plan_row(plan_id)
    require_reader(actor, row["county_code"])
    return await plan_out(row)


async def versions(plan_id: int, actor: Actor) -> out.PlanVersions:
    """Every version of the plan's lineage, oldest first."""
    row = await plan_row(plan_id)
    require_reader(actor, row["county_code"])
    rows = (
        await Plan.select(
            Plan.id,
            Plan.version,
            Plan.state,
            Plan.amends,
            Plan.title,
            Plan.created_by,
            Plan.created_at,
            Plan.submitted_at,
            Plan.decided_at,
        )
        .where((Plan.county_code == row["county_code"]) & (Plan.campaign == row["campaign"]))
        .order_by(Plan.version)
    )
    counts = await item_counts([r["id"] for r in rows])
    items = [
        out.PlanVersion(**r, in_force=r["state"] == "approved", item_count=counts.get(r["id"], 0))
        for r in rows
    ]
    return out.PlanVersions(
        county_code=row["county_code"], campaign=row["campaign"], items=items, total=len(items)
    )


async def item_counts(plan_ids: list[int]) -> dict[int, int]:
    """Item count of each version (versions without items absent)."""
    if not plan_ids:
        return {}
    rows = (
        await PlanItem.select(PlanItem.plan, Count(PlanItem.id).as_alias("n"))
        .where(PlanItem.plan.is_in(plan_ids))
        .group_by(PlanItem.plan)
    )
    return {r["plan"]: r["n"] for r in rows}


async def compare(plan_id: int, other_id: int, actor: Actor) -> out.PlanComparison:
    """Items added, removed and changed from version ``plan_id`` to version ``other_id``."""
    base = await plan_row(plan_id)
    require_reader(actor, base["county_code"])
    other = await plan_row(other_id)
    if (other["county_code"], other["campaign"]) != (base["county_code"], base["campaign"]):
        raise RuleViolation(
            "not_same_plan",
            "只能比较同一县、同一专项的规划版本",
            "only versions of the same county's plan for the same campaign can be compared",
            "with",
        )
    base_items = [item_in(i) for i in await plan_items(plan_id)]
    other_items = [item_in(i) for i in await plan_items(other_id)]
    return await _comparison(base, other, base["title"] != other["title"], base_items, other_items)


async def _comparison(
    base: dict[str, Any],
    other: dict[str, Any],
    title_changed: bool,
    base_items: list[ItemIn],
    other_items: list[ItemIn],
) -> out.PlanComparison:
    """The API's comparison of two item lists, divisions named with their township."""
    result = comparison.compare_items(base_items, other_items)
    codes = {i.division_code for i in [*base_items, *other_items]}
    rows = (
        await Division.select(Division.code, Division.name, Division.township_code).where(
            Division.code.is_in(sorted(codes))
        )
        if codes
        else []
    )
    names = {r["code"]: r["name"] for r in rows}
    towns = await township_names(r["township_code"] for r in rows)
    town_of = {
        r["code"]: None if r["township_code"] == r["code"] else towns.get(r["township_code"] or "")
        for r in rows
    }

    def ref(code: str) -> out.ItemRef:
        return out.ItemRef(code, names.get(code, code), town_of.get(code))

    return out.PlanComparison(
        base=out.VersionRef(id=base["id"], version=base["version"], state=base["state"]),
        other=out.VersionRef(id=other["id"], version=other["version"], state=other["state"]),
        title_changed=title_changed,
        added=[ref(c) for c in result.added],
        removed=[ref(c) for c in result.removed],
        changed=[
            out.ItemChange(
                division_code=c.division_code,
                division_name=names.get(c.division_code, c.division_code),
                changes=[out.FieldChange(f.field, f.before, f.after) for f in c.changes],
                township_name=town_of.get(c.division_code),
            )
            for c in result.changed
        ],
        unchanged=result.unchanged,
    )


async def changes_since_return(plan_id: int, actor: Actor) -> out.PlanComparison:
    """Items added, removed and changed since the version was last returned (``base`` and
    ``other`` are both this version); 404 ``plan_never_returned`` when it never was."""
    row = await plan_row(plan_id)
    require_reader(actor, row["county_code"])
    returned = row.get("returned_content")
    if not returned:
        raise NotFound(
            "plan_never_returned",
            "该版本未被退回过，没有退回时的内容可比较",
            f"plan {plan_id} was never returned; there is no returned content to compare with",
        )
    current = [item_in(i) for i in await plan_items(plan_id)]
    return await _comparison(
        row,
        row,
        returned.get("title") != row["title"],
        comparison.snapshot_items(returned),
        current,
    )


# --------------------------------------------------------------------------- submission check


def problem_out(p: Problem) -> out.Problem:
    """A check finding as the API shows it."""
    return out.Problem(
        code=p.code,
        field=p.field,
        message=p.message,
        severity=p.severity,
        division_code=p.division_code,
    )


async def check_report(
    county_code: str, campaign: CampaignInfo, items: list[ItemIn], explained: dict[str, str]
) -> tuple[rules.CheckReport, int]:
    """The submission check of a plan body, and how many divisions it should cover."""
    divisions = await county_divisions(county_code)
    today = clock.today()
    report = rules.check_plan(county_code, campaign, items, explained, divisions, today)
    expected = len(rules.expected_divisions(county_code, campaign, divisions.values(), today))
    return report, expected


def check_out(
    report: rules.CheckReport, expected: int, items: int, explained: int
) -> out.PlanCheck:
    """A check report as the API shows it."""
    return out.PlanCheck(
        ok=report.ok,
        errors=[problem_out(p) for p in report.errors],
        warnings=[problem_out(p) for p in report.warnings],
        expected=expected,
        planned=items,
        explained=explained,
    )


async def check(plan_id: int, actor: Actor) -> out.PlanCheck:
    """The submission check of a version, without submitting it."""
    row = await plan_row(plan_id)
    require_reader(actor, row["county_code"])
    campaign = await campaign_info(row["campaign"])
    items = [item_in(i) for i in await plan_items(plan_id)]
    explained = dict(row["missing_explained"] or {})
    report, expected = await check_report(row["county_code"], campaign, items, explained)
    return check_out(report, expected, len(items), len(explained))


# --------------------------------------------------------------------------- overview


async def overview(
    actor: Actor,
    campaign: str | None,
    county: str | None,
    state: str | None,
    overdue: bool | None,
    limit: int | None,
    offset: int | None,
) -> out.PlanOverview:
    """Every county (of the actor's reach) and campaign with its plan state."""
    require_role(actor, "municipal", "county_planner")
    limit, offset = page(limit, offset)
    county = code_or_none(county, "county")
    state = one_of(state, (rules.NO_PLAN, *rules.STATES), "state")
    if actor.is_planner:
        if county and county != actor.scope:
            raise Forbidden(
                "out_of_scope",
                "规划员只能查看本县的规划",
                "a planner can only read their own county's plans",
            )
        county = actor.scope
    campaigns = [await campaign_info(campaign)] if campaign else await plannable_campaigns()
    query = Division.select(Division.code, Division.name).where(Division.level == "county")
    if county:
        query = query.where(Division.code == county)
    counties = [
        c
        for c in await query.order_by(Division.code)
        if actor.is_planner or within_scope(actor, c["code"])
    ]
    codes = [c["code"] for c in counties]
    rows = (
        await Plan.select(
            Plan.id,
            Plan.county_code,
            Plan.campaign,
            Plan.version,
            Plan.state,
            Plan.title,
            Plan.submitted_at,
            Plan.decided_at,
        )
        .where(Plan.county_code.is_in(codes or [""]))
        .where(Plan.campaign.is_in([c.code for c in campaigns]))
        .order_by(Plan.version)
    )
    counts = await item_counts([r["id"] for r in rows])
    lineages: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        lineages.setdefault((r["county_code"], r["campaign"]), []).append(r)
    today = clock.today()
    result: list[out.CountyPlanState] = []
    for c in counties:
        for camp in campaigns:
            lineage = lineages.get((c["code"], camp.code), [])
            latest = lineage[-1] if lineage else None
            force = rules.plan_in_force(
                rules.VersionRef(v["id"], v["version"], v["state"]) for v in lineage
            )
            submitted_on = (
                clock.china_date(latest["submitted_at"])
                if latest and latest["submitted_at"]
                else None
            )
            shown = rules.overview_state(latest["state"] if latest else None)
            due = (
                rules.review_due_on(submitted_on) if shown == "submitted" and submitted_on else None
            )
            result.append(
                out.CountyPlanState(
                    county_code=c["code"],
                    county_name=c["name"],
                    campaign=camp.code,
                    state=shown,
                    plan_id=latest["id"] if latest else None,
                    version=latest["version"] if latest else None,
                    title=latest["title"] if latest else None,
                    item_count=counts.get(latest["id"], 0) if latest else 0,
                    submitted_at=latest["submitted_at"] if latest else None,
                    decided_at=latest["decided_at"] if latest else None,
                    in_force_plan_id=force.id if force else None,
                    in_force_version=force.version if force else None,
                    in_force_item_count=counts.get(force.id, 0) if force else 0,
                    review_due_on=due,
                    review_overdue=rules.review_overdue(shown, submitted_on, today),
                )
            )
    by_state: dict[str, int] = {}
    for r in result:
        by_state[r.state] = by_state.get(r.state, 0) + 1
    overdue_count = sum(r.review_overdue for r in result)
    if state:
        result = [r for r in result if r.state == state]
    if overdue is not None:
        result = [r for r in result if r.review_overdue == overdue]
    return out.PlanOverview(
        items=result[offset : offset + limit],
        total=len(result),
        limit=limit,
        offset=offset,
        overdue_reviews=overdue_count,
        by_state=by_state,
    )
