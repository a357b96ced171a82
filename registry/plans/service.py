"""Construction plans: versions, workflow, checks, progress, overview, spreadsheets.

Who may do what:
- the county's planners create, edit and submit their county's plans (the municipal centre
  never authors a plan);
- the municipal centre reads every plan of its city, approves or returns submitted ones
  (never one whose ``created_by`` is itself);
- both read a county's plans, checks, progress and spreadsheets.

Every write runs in one write transaction with its audit entries (entity ``plan``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import msgspec
from msgspec import UNSET
from piccolo.query.functions.aggregate import Count

from registry.audit import service as audit
from registry.core import clock
from registry.core.access import Actor, can_read_county, in_city, require_role
from registry.core.codes import normalise_code
from registry.core.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from registry.core.params import code_or_none, one_of, page
from registry.core.text import clean_text
from registry.db.binding import current
from registry.db.bulk import insert_many
from registry.db.engines import is_sqlite
from registry.db.transactions import write_transaction
from registry.plans import rules
from registry.plans import schemas as out
from registry.plans import xlsx as plan_xlsx
from registry.plans.rules import (
    CampaignInfo,
    DivisionInfo,
    ItemIn,
    Problem,
    WorkflowError,
)
from registry.plans.schemas import PlanCreate, PlanItemIn, PlanUpdate
from registry.tables import Campaign, Division, Plan, PlanItem, PlanReview

ENTITY = "plan"


@dataclass(frozen=True)
class Content:
    """A validated plan body: what a version holds."""

    title: str
    items: list[ItemIn]
    explained: dict[str, str]


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


async def _plannable_campaigns() -> list[CampaignInfo]:
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


async def _county(raw: str | None, field: str = "county_code") -> tuple[str, str]:
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


async def _county_name(code: str) -> str:
    row = await Division.select(Division.name).where(Division.code == code).first()
    return row["name"] if row else code


async def _divisions(county_code: str) -> dict[str, DivisionInfo]:
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


async def _plan_row(plan_id: int) -> dict[str, Any]:
    row = await Plan.select().where(Plan.id == plan_id).output(load_json=True).first()
    if row is None:
        raise NotFound("plan_not_found", f"规划 {plan_id} 不存在", f"plan {plan_id} not found")
    return row


async def _lock(plan_id: int) -> dict[str, Any]:
    """Inside a write transaction: touch the row so concurrent writers queue, then read it."""
    await Plan.update({Plan.version: Plan.version + 0}).where(Plan.id == plan_id)
    return await _plan_row(plan_id)


async def _lineage(county_code: str, campaign: str) -> list[dict[str, Any]]:
    return (
        await Plan.select(Plan.id, Plan.version, Plan.state)
        .where((Plan.county_code == county_code) & (Plan.campaign == campaign))
        .order_by(Plan.version)
    )


# --------------------------------------------------------------------------- access


def _require_author(actor: Actor, county_code: str) -> None:
    """Only the county's own planners write its plans."""
    if actor.is_municipal:
        raise Forbidden(
            "wrong_role",
            "建设规划由县(市、区)规划员编制，市政务服务中心负责审查",
            "plans are written by the county's planners; the municipal centre reviews them",
        )
    require_role(actor, "county_planner")
    if actor.scope != county_code:
        raise Forbidden(
            "out_of_scope",
            "只能编制本县(市、区)的建设规划",
            f"{actor.username} may not write plans of county {county_code}",
        )


def _require_reader(actor: Actor, county_code: str) -> None:
    require_role(actor, "municipal", "county_planner")
    if not can_read_county(actor, county_code):
        raise Forbidden(
            "out_of_scope",
            "无权查看其他县(市、区)的建设规划",
            f"{actor.username} may not read plans of county {county_code}",
        )


def _require_reviewer(actor: Actor, county_code: str) -> None:
    require_role(actor, "municipal")
    if not in_city(actor, county_code):
        raise Forbidden(
            "out_of_scope",
            "无权审查其他市的建设规划",
            f"{actor.username} may not review plans of county {county_code}",
        )


# --------------------------------------------------------------------------- validation


def _shift(problem: Problem, positions: Sequence[int]) -> Problem:
    """Renumber an item problem from its position among cleaned items to the submitted one."""
    if problem.index is None:
        return problem
    original = positions[problem.index]
    return msgspec.structs.replace(
        problem,
        index=original,
        field=problem.field.replace(f"items[{problem.index}]", f"items[{original}]", 1),
    )


def _clean_items(items: Sequence[PlanItemIn]) -> tuple[list[ItemIn], list[int], list[Problem]]:
    cleaned: list[ItemIn] = []
    positions: list[int] = []
    problems: list[Problem] = []
    if len(items) > rules.MAX_ITEMS:
        problems.append(
            Problem(
                "too_many_items",
                f"规划条目不能超过 {rules.MAX_ITEMS} 条",
                f"a plan has at most {rules.MAX_ITEMS} items",
                "items",
            )
        )
        return cleaned, positions, problems
    for i, item in enumerate(items):
        prefix = f"items[{i}]"
        try:
            code = normalise_code(item.division_code, field=f"{prefix}.division_code")
            target = clean_text(item.target, f"{prefix}.target", max_length=20, required=True)
            funding = clean_text(
                item.funding_source, f"{prefix}.funding_source", max_length=rules.FUNDING_MAX
            )
            note = clean_text(
                item.note, f"{prefix}.note", max_length=rules.NOTE_MAX, multiline=True
            )
        except RuleViolation as exc:
            problems.append(
                Problem(exc.code, exc.zh, exc.en, exc.field or prefix, index=i, division_code=None)
            )
            continue
        cleaned.append(
            ItemIn(
                division_code=code,
                target=target or "",
                target_date=item.target_date,
                budget_yuan=item.budget_yuan,
                funding_source=funding,
                note=note,
            )
        )
        positions.append(i)
    return cleaned, positions, problems


def _clean_explained(raw: dict[str, str]) -> tuple[dict[str, str], list[Problem]]:
    explained: dict[str, str] = {}
    problems: list[Problem] = []
    for key, reason in raw.items():
        field = f"missing_explained.{key[:20]}"
        try:
            code = normalise_code(key, field=field)
            text = clean_text(
                reason, field, max_length=rules.REASON_MAX, multiline=True, required=True
            )
        except RuleViolation as exc:
            problems.append(Problem(exc.code, exc.zh, exc.en, exc.field or field))
            continue
        explained[code] = text or ""
    return explained, problems


def problem_out(p: Problem, row: int | None = None, column: str | None = None) -> out.Problem:
    return out.Problem(
        code=p.code,
        field=p.field,
        message=p.message,
        severity=p.severity,
        division_code=p.division_code,
        row=row,
        column=column,
    )


def _error_list(problems: Sequence[out.Problem]) -> list[dict[str, Any]]:
    return [{k: v for k, v in msgspec.to_builtins(p).items() if v is not None} for p in problems]


def _invalid(problems: Sequence[Problem]) -> InvalidInput:
    return InvalidInput(
        "invalid_plan",
        f"规划有 {len(problems)} 处错误，未保存",
        f"the plan has {len(problems)} error(s); nothing was saved",
        errors=_error_list([problem_out(p) for p in problems]),
    )


async def _validated(
    county_code: str,
    campaign: CampaignInfo,
    title: str | None,
    items: Sequence[PlanItemIn],
    explained_raw: dict[str, str],
) -> Content:
    """Clean and check a JSON plan body; 422 ``invalid_plan`` listing every problem."""
    problems: list[Problem] = []
    try:
        clean_title = clean_text(title, "title", max_length=rules.TITLE_MAX, required=True)
    except RuleViolation as exc:
        problems.append(Problem(exc.code, exc.zh, exc.en, "title"))
        clean_title = None
    cleaned, positions, item_problems = _clean_items(items)
    explained, explained_problems = _clean_explained(explained_raw)
    problems += item_problems + explained_problems
    divisions = await _divisions(county_code)
    problems += [
        _shift(p, positions) for p in rules.check_items(county_code, campaign, cleaned, divisions)
    ]
    problems += rules.check_explanations(county_code, campaign, explained, cleaned, divisions)
    if problems:
        problems.sort(key=lambda p: p.index if p.index is not None else -1)
        raise _invalid(problems)
    return Content(title=clean_title or "", items=cleaned, explained=explained)


# --------------------------------------------------------------------------- reading


async def _items(plan_id: int) -> list[dict[str, Any]]:
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


def _item_in(row: dict[str, Any]) -> ItemIn:
    return ItemIn(
        division_code=row["division_code"],
        target=row["target"],
        target_date=row["target_date"],
        budget_yuan=row["budget_yuan"],
        funding_source=row["funding_source"],
        note=row["note"],
    )


async def _to_plan(row: dict[str, Any]) -> out.Plan:
    items = await _items(row["id"])
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
        county_name=await _county_name(row["county_code"]),
        campaign=row["campaign"],
        title=row["title"],
        state=row["state"],
        version=row["version"],
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
    )


async def get_plan(plan_id: int, actor: Actor) -> out.Plan:
    row = await _plan_row(plan_id)
    _require_reader(actor, row["county_code"])
    return await _to_plan(row)


async def versions(plan_id: int, actor: Actor) -> out.PlanVersions:
    """Every version of the plan's lineage, oldest first."""
    row = await _plan_row(plan_id)
    _require_reader(actor, row["county_code"])
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
    counts = await _item_counts([r["id"] for r in rows])
    items = [
        out.PlanVersion(**r, in_force=r["state"] == "approved", item_count=counts.get(r["id"], 0))
        for r in rows
    ]
    return out.PlanVersions(
        county_code=row["county_code"], campaign=row["campaign"], items=items, total=len(items)
    )


async def _item_counts(plan_ids: list[int]) -> dict[int, int]:
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
    base = await _plan_row(plan_id)
    _require_reader(actor, base["county_code"])
    other = await _plan_row(other_id)
    if (other["county_code"], other["campaign"]) != (base["county_code"], base["campaign"]):
        raise RuleViolation(
            "not_same_plan",
            "只能比较同一县、同一专项的规划版本",
            "only versions of the same county's plan for the same campaign can be compared",
            "with",
        )
    base_items = await _items(plan_id)
    other_items = await _items(other_id)
    names = {i["division_code"]: i["division_name"] for i in [*base_items, *other_items]}
    result = rules.compare_items(
        [_item_in(i) for i in base_items], [_item_in(i) for i in other_items]
    )
    return out.PlanComparison(
        base=out.VersionRef(id=base["id"], version=base["version"], state=base["state"]),
        other=out.VersionRef(id=other["id"], version=other["version"], state=other["state"]),
        title_changed=base["title"] != other["title"],
        added=[out.ItemRef(c, names[c]) for c in result.added],
        removed=[out.ItemRef(c, names[c]) for c in result.removed],
        changed=[
            out.ItemChange(
                division_code=c.division_code,
                division_name=names[c.division_code],
                changes=[out.FieldChange(f.field, f.before, f.after) for f in c.changes],
            )
            for c in result.changed
        ],
        unchanged=result.unchanged,
    )


async def _report(
    county_code: str, campaign: CampaignInfo, items: list[ItemIn], explained: dict[str, str]
) -> tuple[rules.CheckReport, int]:
    divisions = await _divisions(county_code)
    today = clock.today()
    report = rules.check_plan(county_code, campaign, items, explained, divisions, today)
    expected = len(rules.expected_divisions(county_code, campaign, divisions.values(), today))
    return report, expected


def _check_out(
    report: rules.CheckReport, expected: int, items: int, explained: int
) -> out.PlanCheck:
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
    row = await _plan_row(plan_id)
    _require_reader(actor, row["county_code"])
    campaign = await campaign_info(row["campaign"])
    items = [_item_in(i) for i in await _items(plan_id)]
    explained = dict(row["missing_explained"] or {})
    report, expected = await _report(row["county_code"], campaign, items, explained)
    return _check_out(report, expected, len(items), len(explained))


# --------------------------------------------------------------------------- writing


def _item_rows(plan_id: int, items: list[ItemIn]) -> list[PlanItem]:
    return [
        PlanItem(
            plan=plan_id,
            division=i.division_code,
            target=i.target,
            target_date=i.target_date,
            budget_yuan=i.budget_yuan,
            funding_source=i.funding_source,
            note=i.note,
        )
        for i in items
    ]


def _items_change(before: list[ItemIn], after: list[ItemIn]) -> list[dict[str, Any]]:
    """The audit entry's view of an item replacement: division codes, never free text."""
    diff = rules.compare_items(before, after)
    if not (diff.added or diff.removed or diff.changed):
        return []
    return [
        {
            "field": "items",
            "before": len(before),
            "after": {
                "count": len(after),
                "added": diff.added,
                "removed": diff.removed,
                "changed": [c.division_code for c in diff.changed],
            },
        }
    ]


async def _insert_version(
    actor: Actor,
    county_code: str,
    campaign: str,
    content: Content,
    version: int,
    amends: int | None,
) -> int:
    now = clock.now()
    row = Plan(
        county_code=county_code,
        campaign=campaign,
        title=content.title,
        state="draft",
        version=version,
        amends=amends,
        created_by=actor.username,
        created_at=now,
        updated_at=now,
        missing_explained=content.explained,
    )
    await row.save()
    await insert_many(PlanItem, _item_rows(row.id, content.items))
    return row.id


async def _create(actor: Actor, county_code: str, campaign: str, content: Content) -> int:
    existing = await _lineage(county_code, campaign)
    if existing:
        latest = existing[-1]
        raise Conflict(
            "plan_exists",
            "本县该专项已有建设规划，请修改现有规划（或在已批准版本上编制新版本）",
            f"county {county_code} already has a plan for {campaign} (plan {latest['id']}, "
            f"version {latest['version']}); edit it instead",
            plan_id=latest["id"],
        )
    plan_id = await _insert_version(actor, county_code, campaign, content, 1, None)
    await audit.record(
        actor,
        "create",
        ENTITY,
        plan_id,
        [
            {"field": "campaign", "before": None, "after": campaign},
            {"field": "title", "before": None, "after": content.title},
            {"field": "version", "before": None, "after": 1},
            *_items_change([], content.items),
        ],
        county_code=county_code,
    )
    return plan_id


async def _revise(actor: Actor, plan_id: int, content: Content) -> tuple[int, str]:
    """Apply new content to a version: in place (draft, returned) or as a new version
    (approved). Returns the id written and ``update`` or ``new_version``."""
    row = await _lock(plan_id)
    try:
        mode = rules.edit_mode(row["state"])
    except WorkflowError as exc:
        raise Conflict(exc.code, exc.zh, exc.en, **exc.extra) from None
    before_items = [_item_in(i) for i in await _items(plan_id)]
    if mode == "in_place":
        changes = audit.diff(
            {"title": row["title"], "missing_explained": row["missing_explained"]},
            {"title": content.title, "missing_explained": content.explained},
        )
        changes += _items_change(before_items, content.items)
        if not changes:
            return plan_id, "unchanged"
        await PlanItem.delete().where(PlanItem.plan == plan_id)
        await insert_many(PlanItem, _item_rows(plan_id, content.items))
        await Plan.update(
            {
                Plan.title: content.title,
                Plan.missing_explained: content.explained,
                Plan.updated_at: clock.now(),
            }
        ).where(Plan.id == plan_id)
        await audit.record(
            actor, "update", ENTITY, plan_id, changes, county_code=row["county_code"]
        )
        return plan_id, "update"
    lineage = await _lineage(row["county_code"], row["campaign"])
    pending = [v for v in lineage if v["state"] in rules.PENDING_STATES]
    if pending:
        raise Conflict(
            "plan_amendment_pending",
            f"已有待完成的新版本（第 {pending[0]['version']} 版），请修改该版本",
            f"a newer version is already being prepared (plan {pending[0]['id']}, version "
            f"{pending[0]['version']}); edit that one",
            pending_plan_id=pending[0]["id"],
        )
    version = max(v["version"] for v in lineage) + 1
    new_id = await _insert_version(
        actor, row["county_code"], row["campaign"], content, version, plan_id
    )
    changes = [
        {"field": "version", "before": row["version"], "after": version},
        *audit.diff({"title": row["title"]}, {"title": content.title}),
        *_items_change(before_items, content.items),
    ]
    await audit.record(
        actor,
        "amend",
        ENTITY,
        new_id,
        changes,
        county_code=row["county_code"],
        note=f"amends plan {plan_id} (version {row['version']})",
    )
    return new_id, "new_version"


async def create_plan(actor: Actor, data: PlanCreate) -> out.Plan:
    """Open a county's plan for a campaign: version 1, a draft."""
    county_code, _ = await _county(data.county_code)
    _require_author(actor, county_code)
    campaign = await campaign_info(data.campaign)
    content = await _validated(
        county_code, campaign, data.title, data.items, data.missing_explained
    )
    async with write_transaction():
        plan_id = await _create(actor, county_code, campaign.code, content)
    return await _to_plan(await _plan_row(plan_id))


async def update_plan(actor: Actor, plan_id: int, data: PlanUpdate) -> tuple[out.Plan, bool]:
    """Replace a draft's or returned version's content, or open a new version of an approved
    one. Returns the plan written and whether it is a new version."""
    row = await _plan_row(plan_id)
    _require_author(actor, row["county_code"])
    try:
        rules.edit_mode(row["state"])
    except WorkflowError as exc:
        raise Conflict(exc.code, exc.zh, exc.en, **exc.extra) from None
    campaign = await campaign_info(row["campaign"])
    explained = (
        dict(row["missing_explained"] or {})
        if data.missing_explained is UNSET
        else data.missing_explained
    )
    content = await _validated(row["county_code"], campaign, data.title, data.items, explained)
    async with write_transaction():
        written, action = await _revise(actor, plan_id, content)
    return await _to_plan(await _plan_row(written)), action == "new_version"


async def _review_entry(plan_id: int, action: str, comment: str | None, actor: Actor) -> None:
    await PlanReview.insert(
        PlanReview(
            plan=plan_id, action=action, comment=comment or "", actor=actor.username, at=clock.now()
        )
    )


def _transition(state: str, action: str, comment: str | None) -> str:
    try:
        return rules.next_state(state, action, comment)
    except WorkflowError as exc:
        raise Conflict(exc.code, exc.zh, exc.en, **exc.extra) from None


def _check_failed(report: rules.CheckReport) -> InvalidInput:
    problems = [*report.errors, *report.warnings]
    return InvalidInput(
        "plan_check_failed",
        f"规划未通过报送检查：{len(report.errors)} 处错误，{len(report.warnings)} 个区划未列入"
        "也未说明原因",
        f"the plan cannot be submitted: {len(report.errors)} error(s), {len(report.warnings)} "
        "division(s) without a target or an explanation",
        errors=_error_list([problem_out(p) for p in problems]),
        error_count=len(report.errors),
        warning_count=len(report.warnings),
    )


async def submit(actor: Actor, plan_id: int, comment: str | None) -> out.Plan:
    """Send a draft or returned version for review, if it passes the submission check."""
    row = await _plan_row(plan_id)
    _require_author(actor, row["county_code"])
    comment = clean_text(comment, "comment", max_length=2000, multiline=True)
    campaign = await campaign_info(row["campaign"])
    async with write_transaction():
        row = await _lock(plan_id)
        state = _transition(row["state"], "submit", comment)
        items = [_item_in(i) for i in await _items(plan_id)]
        report, _ = await _report(
            row["county_code"], campaign, items, dict(row["missing_explained"] or {})
        )
        if not report.ok:
            raise _check_failed(report)
        now = clock.now()
        await Plan.update(
            {Plan.state: state, Plan.submitted_at: now, Plan.decided_at: None, Plan.updated_at: now}
        ).where(Plan.id == plan_id)
        await _review_entry(plan_id, "submit", comment, actor)
        await audit.record(
            actor,
            "submit",
            ENTITY,
            plan_id,
            [{"field": "state", "before": row["state"], "after": state}],
            county_code=row["county_code"],
            note=comment,
        )
    return await _to_plan(await _plan_row(plan_id))


async def decide(actor: Actor, plan_id: int, action: str, comment: str | None) -> out.Plan:
    """Approve or return a submitted version (municipal; never one's own plan)."""
    row = await _plan_row(plan_id)
    _require_reviewer(actor, row["county_code"])
    comment = clean_text(comment, "comment", max_length=2000, multiline=True)
    async with write_transaction():
        row = await _lock(plan_id)
        if row["created_by"] == actor.username:
            raise Forbidden(
                "own_plan",
                "不能审查自己编制的规划",
                "a plan cannot be approved or returned by its author",
            )
        state = _transition(row["state"], action, comment)
        now = clock.now()
        if state == "approved":
            previous = (
                await Plan.select(Plan.id, Plan.version)
                .where(
                    (Plan.county_code == row["county_code"])
                    & (Plan.campaign == row["campaign"])
                    & (Plan.state == "approved")
                )
                .first()
            )
            if previous is not None:
                await Plan.update({Plan.state: "superseded", Plan.updated_at: now}).where(
                    Plan.id == previous["id"]
                )
                await audit.record(
                    actor,
                    "supersede",
                    ENTITY,
                    previous["id"],
                    [{"field": "state", "before": "approved", "after": "superseded"}],
                    county_code=row["county_code"],
                    note=f"replaced by plan {plan_id} (version {row['version']})",
                )
        await Plan.update({Plan.state: state, Plan.decided_at: now, Plan.updated_at: now}).where(
            Plan.id == plan_id
        )
        await _review_entry(plan_id, action, comment, actor)
        await audit.record(
            actor,
            action,
            ENTITY,
            plan_id,
            [{"field": "state", "before": row["state"], "after": state}],
            county_code=row["county_code"],
            note=comment,
        )
    return await _to_plan(await _plan_row(plan_id))


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
    campaigns = [await campaign_info(campaign)] if campaign else await _plannable_campaigns()
    query = Division.select(Division.code, Division.name).where(Division.level == "county")
    if county:
        query = query.where(Division.code == county)
    counties = [
        c
        for c in await query.order_by(Division.code)
        if actor.is_planner or in_city(actor, c["code"])
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
    counts = await _item_counts([r["id"] for r in rows])
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


# --------------------------------------------------------------------------- targets, progress


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


DAYS_CHUNK = 1000


async def plan_in_force_id(county_code: str, campaign: str) -> int | None:
    """The approved version with the highest version number, or None."""
    row = (
        await Plan.select(Plan.id)
        .where(
            (Plan.county_code == county_code)
            & (Plan.campaign == campaign)
            & (Plan.state == "approved")
        )
        .order_by(Plan.version, ascending=False)
        .first()
    )
    return row["id"] if row else None


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


_DIVISION_EVENTS = "FROM status_event e JOIN site s ON s.id = e.site WHERE s.division = pi.division"
_LATEST = "ORDER BY e.effective_date DESC, e.id DESC LIMIT 1"


async def progress(plan_id: int, actor: Actor, as_of: date | None) -> out.PlanProgress:
    """Plan vs actual for a version: per item and per quarter, from the dated status events."""
    row = await _plan_row(plan_id)
    _require_reader(actor, row["county_code"])
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


# --------------------------------------------------------------------------- spreadsheets


def xlsx_filename(county_code: str, campaign: str, version: int | None) -> str:
    suffix = f"-v{version}" if version is not None else "-template"
    return f"plan-{county_code[:6]}-{campaign}{suffix}.xlsx"


async def _sheet_rows(
    county_code: str,
    campaign: CampaignInfo,
    items: list[dict[str, Any]],
    explained: dict[str, str],
) -> list[plan_xlsx.SheetRow]:
    """One row per division of the campaign's level existing today, plus any item's."""
    divisions = await _divisions(county_code)
    expected = rules.expected_divisions(county_code, campaign, divisions.values(), clock.today())
    by_code = {i["division_code"]: i for i in items}
    codes = sorted({d.code for d in expected} | by_code.keys() | explained.keys())
    rows = []
    for code in codes:
        division = divisions.get(code)
        township = divisions.get(division.township_code or "") if division else None
        item = by_code.get(code)
        rows.append(
            plan_xlsx.SheetRow(
                division_code=code,
                township_name=township.name if township else "",
                division_name=division.name if division else "",
                target=item["target"] if item else None,
                target_date=item["target_date"] if item else None,
                budget_yuan=item["budget_yuan"] if item else None,
                funding_source=item["funding_source"] if item else None,
                note=item["note"] if item else explained.get(code),
            )
        )
    return rows


def _meta(
    county_code: str,
    county_name: str,
    campaign: CampaignInfo,
    title: str,
    version: int | None = None,
    state: str | None = None,
) -> plan_xlsx.SheetMeta:
    return plan_xlsx.SheetMeta(
        county_code=county_code,
        county_name=county_name,
        campaign=campaign.code,
        campaign_name=campaign.name,
        level=campaign.level,
        start_on=campaign.start_on,
        deadline=campaign.deadline,
        title=title,
        version=version,
        state=state,
    )


async def template_xlsx(actor: Actor, county: str | None, campaign: str | None) -> bytes:
    """A blank plan workbook for a county: its divisions of the campaign's level pre-filled."""
    county_code, county_name = await _county(county, field="county")
    _require_reader(actor, county_code)
    info = await campaign_info(campaign)
    level = rules.LEVEL_LABELS_ZH[info.level]
    title = f"{county_name}{level}便民服务{'代办点' if info.level == 'village' else '中心'}建设规划"
    rows = await _sheet_rows(county_code, info, [], {})
    return plan_xlsx.build_workbook(_meta(county_code, county_name, info, title), rows)


async def export_xlsx(actor: Actor, plan_id: int) -> tuple[bytes, str]:
    """A version as a workbook (same layout as the template, so it can be edited and uploaded)."""
    row = await _plan_row(plan_id)
    _require_reader(actor, row["county_code"])
    info = await campaign_info(row["campaign"])
    items = await _items(plan_id)
    rows = await _sheet_rows(row["county_code"], info, items, dict(row["missing_explained"] or {}))
    meta = _meta(
        row["county_code"],
        await _county_name(row["county_code"]),
        info,
        row["title"],
        row["version"],
        row["state"],
    )
    return (
        plan_xlsx.build_workbook(meta, rows),
        xlsx_filename(row["county_code"], row["campaign"], row["version"]),
    )


def _cell_problem(
    p: Problem, parsed: plan_xlsx.ParsedPlan, rows: Sequence[int] | None = None
) -> dict[str, Any]:
    """A domain problem located in the sheet: row of the item or explanation, column header."""
    row = None
    column = None
    if p.index is not None:
        row = (rows or parsed.item_rows)[p.index]
        key = p.field.rsplit(".", 1)[-1]
        column = plan_xlsx.COLUMN_BY_KEY[key].header if key in plan_xlsx.COLUMN_BY_KEY else None
    elif p.field.startswith("missing_explained.") and p.division_code:
        row = parsed.explained_rows.get(p.division_code)
        column = plan_xlsx.COLUMN_BY_KEY["note"].header
    where = plan_xlsx.PLAN_SHEET + (f" 第{row}行" if row else "") + (f" {column}" if column else "")
    entry = {"field": where, "message": p.message, "code": p.code, "row": row, "column": column}
    if p.division_code:
        entry["division_code"] = p.division_code
    return entry


def _xlsx_invalid(errors: list[dict[str, Any]]) -> InvalidInput:
    return InvalidInput(
        "xlsx_invalid",
        f"表格有 {len(errors)} 处错误，未导入任何数据",
        f"the workbook has {len(errors)} error(s); nothing was imported",
        errors=errors,
    )


def _cell_errors(parsed: plan_xlsx.ParsedPlan) -> list[dict[str, Any]]:
    result = []
    for e in parsed.errors:
        entry = {
            "field": e.field,
            "message": e.message,
            "code": e.code,
            "row": e.row,
            "column": e.column,
            "sheet": e.sheet,
        }
        if e.division_code:
            entry["division_code"] = e.division_code
        result.append(entry)
    return result


def parse_upload(data: bytes) -> plan_xlsx.ParsedPlan:
    """Parse an uploaded workbook; whole-file refusals become 413/422, cell errors 422."""
    parsed = plan_xlsx.parse_workbook(data)
    if parsed.errors:
        raise _xlsx_invalid(_cell_errors(parsed))
    return parsed


async def import_xlsx(actor: Actor, data: bytes, dry_run: bool = False) -> out.PlanImport:
    """Create or revise the county's plan from an uploaded workbook.

    The plan is the file's county and campaign (sheet 说明). No plan yet: a new plan (version
    1). Newest version a draft or returned: its content is replaced. Newest version approved: a
    new version opens. Newest version submitted: 409 ``plan_not_editable``. Any error: nothing
    is written, and the errors say which row and column.
    """
    require_role(actor, "county_planner")
    parsed = parse_upload(data)
    assert parsed.county_code and parsed.campaign and parsed.title
    info_row = parsed.info_rows.get("county_code")
    try:
        county_code, _ = await _county(parsed.county_code)
    except RuleViolation as exc:
        raise _xlsx_invalid(
            [
                {
                    "field": f"{plan_xlsx.INFO_SHEET} 第{info_row}行 B",
                    "message": f"{exc.zh} / {exc.en}",
                    "code": exc.code,
                    "row": info_row,
                    "column": "B",
                    "sheet": plan_xlsx.INFO_SHEET,
                }
            ]
        ) from None
    _require_author(actor, county_code)
    try:
        campaign = await campaign_info(parsed.campaign)
    except RuleViolation as exc:
        row = parsed.info_rows.get("campaign")
        raise _xlsx_invalid(
            [
                {
                    "field": f"{plan_xlsx.INFO_SHEET} 第{row}行 B",
                    "message": f"{exc.zh} / {exc.en}",
                    "code": exc.code,
                    "row": row,
                    "column": "B",
                    "sheet": plan_xlsx.INFO_SHEET,
                }
            ]
        ) from None
    divisions = await _divisions(county_code)
    problems = rules.check_items(county_code, campaign, parsed.items, divisions)
    problems += rules.check_explanations(
        county_code, campaign, parsed.explained, parsed.items, divisions
    )
    if problems:
        raise _xlsx_invalid([_cell_problem(p, parsed) for p in problems])
    content = Content(title=parsed.title, items=parsed.items, explained=parsed.explained)
    report, expected = await _report(county_code, campaign, parsed.items, parsed.explained)
    check_result = _check_out(report, expected, len(parsed.items), len(parsed.explained))

    async def target() -> tuple[str, int | None]:
        lineage = await _lineage(county_code, campaign.code)
        if not lineage:
            return "create", None
        latest = lineage[-1]
        try:
            mode = rules.edit_mode(latest["state"])
        except WorkflowError as exc:
            raise Conflict(exc.code, exc.zh, exc.en, plan_id=latest["id"], **exc.extra) from None
        return ("update" if mode == "in_place" else "new_version"), latest["id"]

    if dry_run:
        action, _ = await target()
        plan = None
    else:
        async with write_transaction():
            action, plan_id = await target()
            if plan_id is None:
                written = await _create(actor, county_code, campaign.code, content)
            else:
                written, action = await _revise(actor, plan_id, content)
        plan = await _to_plan(await _plan_row(written))
    return out.PlanImport(
        action=action,
        dry_run=dry_run,
        county_code=county_code,
        campaign=campaign.code,
        items=len(parsed.items),
        explained=len(parsed.explained),
        check=check_result,
        plan=plan,
    )
