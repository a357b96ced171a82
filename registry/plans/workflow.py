"""Writing plans: create, revise (in place or as a new version), submit, approve or return.

Every write runs in one write transaction with its audit entries (entity ``plan``) and, for a
submission or a decision, its review entry. A version is locked (its row touched) before it is
read for a change, so concurrent writers queue; everything a write depends on (state,
``missing_explained``, revision) is read under that lock. An edit names the revision it is
based on (a stale one is refused with 409 ``version_conflict``), so one planner's edit never
silently replaces another's.
"""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from registry.audit import service as audit
from registry.core import clock
from registry.core.access import Actor
from registry.core.errors import Conflict, Forbidden, InvalidInput
from registry.core.text import check_no_personal_data, clean_text
from registry.db.binding import current
from registry.db.bulk import insert_many
from registry.db.engines import is_sqlite
from registry.db.transactions import write_transaction
from registry.plans import comparison, rules
from registry.plans import schemas as out
from registry.plans.queries import (
    campaign_info,
    check_report,
    item_in,
    known_county,
    plan_items,
    plan_lineage,
    plan_out,
    plan_revision,
    plan_row,
    problem_out,
)
from registry.plans.rules import ItemIn, WorkflowError
from registry.plans.schemas import PlanCreate, PlanUpdate
from registry.plans.scope import require_author, require_reviewer
from registry.plans.validation import Content, content_checked, error_list, validated
from registry.tables import Division, Plan, PlanItem, PlanReview

ENTITY = "plan"


async def _lock(plan_id: int) -> dict[str, Any]:
    """Inside a write transaction: touch the row so concurrent writers queue, then read it."""
    await Plan.update({Plan.version: Plan.version + 0}).where(Plan.id == plan_id)
    return await plan_row(plan_id)


async def _lock_county(county_code: str) -> None:
    """Inside a write transaction, before looking for a county's plan: on PostgreSQL lock the
    county's division row, so two first versions of one county's plan are never created at
    once (on SQLite the write transaction already excludes every other writer). ``NO KEY``:
    inserting a row that refers to the county is not blocked."""
    if not is_sqlite(current()):
        await Division.raw(
            "SELECT code FROM division WHERE code = {} FOR NO KEY UPDATE", county_code
        )


def expected_revision(given: int | None, if_match: int | None) -> int | None:
    """The revision a request is based on: its body's ``revision`` or its ``If-Match``."""
    if given is not None and if_match is not None and given != if_match:
        raise InvalidInput(
            "revision_mismatch",
            "请求体的 revision 与 If-Match 不一致",
            "the body's revision and the If-Match header disagree",
            "revision",
        )
    return given if given is not None else if_match


async def check_revision(plan_id: int, expected: int | None, *, required: bool) -> None:
    """Under the version's lock: the request must be based on its current revision (409
    ``version_conflict``; ``version_required`` when ``required`` and none was given), with the
    current revision for the client to reload and retry."""
    revision = await plan_revision(plan_id)
    if expected is None and required:
        raise Conflict(
            "version_required",
            f"修改规划须提供所依据的版本（revision，当前为 {revision}）：请刷新后重试",
            f"an edit of a plan must give the revision it is based on (now {revision}): "
            "send `revision` or If-Match",
            current_revision=revision,
        )
    if expected is not None and expected != revision:
        raise Conflict(
            "version_conflict",
            f"规划已被他人修改（当前 revision 为 {revision}），请刷新后重试",
            f"the plan was changed by someone else (now revision {revision}); reload and retry",
            current_revision=revision,
        )


# --------------------------------------------------------------------------- versions


def _item_rows(plan_id: int, items: list[ItemIn]) -> list[PlanItem]:
    """A version's item rows to insert."""
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
    diff = comparison.compare_items(before, after)
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


async def start_plan(actor: Actor, county_code: str, campaign: str, content: Content) -> int:
    """Inside a write transaction: version 1 of the county's plan (409 ``plan_exists``)."""
    content_checked(content)
    await _lock_county(county_code)
    existing = await plan_lineage(county_code, campaign)
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


async def revise_plan(
    actor: Actor,
    plan_id: int,
    content: Content,
    *,
    expected: int | None = None,
    required: bool = False,
    row: dict[str, Any] | None = None,
) -> tuple[int, str]:
    """Inside a write transaction: apply new content to a version, in place (draft, returned)
    or as a new version (approved). Returns the id written and ``update``, ``unchanged`` or
    ``new_version``.

    ``expected``: the revision the content is based on (checked under the lock; ``required``:
    it must be given). ``row``: the version's row when the caller has locked it already.
    """
    content_checked(content)
    if row is None:
        row = await _lock(plan_id)
    _editable(row)
    await check_revision(plan_id, expected, required=required)
    mode = rules.edit_mode(row["state"])
    before_items = [item_in(i) for i in await plan_items(plan_id)]
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
    lineage = await plan_lineage(row["county_code"], row["campaign"])
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


async def import_action(county_code: str, campaign: str) -> tuple[str, int | None]:
    """What an import of the county's plan does: ``create`` (no plan yet), ``update`` (newest
    version a draft or returned) or ``new_version`` (newest approved), with the newest
    version's id; 409 when the newest version is submitted."""
    lineage = await plan_lineage(county_code, campaign)
    if not lineage:
        return "create", None
    latest = lineage[-1]
    try:
        mode = rules.edit_mode(latest["state"])
    except WorkflowError as exc:
        raise Conflict(exc.code, exc.zh, exc.en, plan_id=latest["id"], **exc.extra) from None
    return ("update" if mode == "in_place" else "new_version"), latest["id"]


def _editable(row: dict[str, Any]) -> None:
    """409 ``plan_not_editable`` for a submitted or superseded version."""
    try:
        rules.edit_mode(row["state"])
    except WorkflowError as exc:
        raise Conflict(exc.code, exc.zh, exc.en, **exc.extra) from None


async def create_plan(actor: Actor, data: PlanCreate) -> out.Plan:
    """Open a county's plan for a campaign: version 1, a draft."""
    county_code, _ = await known_county(data.county_code)
    require_author(actor, county_code)
    campaign = await campaign_info(data.campaign)
    content = await validated(county_code, campaign, data.title, data.items, data.missing_explained)
    async with write_transaction():
        plan_id = await start_plan(actor, county_code, campaign.code, content)
    return await plan_out(await plan_row(plan_id))


async def update_plan(
    actor: Actor, plan_id: int, data: PlanUpdate, if_match: int | None = None
) -> tuple[out.Plan, bool]:
    """Replace a draft's or returned version's content, or open a new version of an approved
    one, if based on the version's current revision (body ``revision`` or ``If-Match``).
    Returns the plan written and whether it is a new version."""
    expected = expected_revision(None if data.revision is UNSET else data.revision, if_match)
    row = await plan_row(plan_id)
    require_author(actor, row["county_code"])
    campaign = await campaign_info(row["campaign"])
    async with write_transaction():
        # State, kept missing_explained and revision: all read under the version's lock. A
        # stale edit is refused before its body is checked against a state its sender never
        # saw; a missing revision after (the body's own problems are worth knowing).
        row = await _lock(plan_id)
        _editable(row)
        await check_revision(plan_id, expected, required=False)
        explained = (
            dict(row["missing_explained"] or {})
            if data.missing_explained is UNSET
            else data.missing_explained
        )
        content = await validated(row["county_code"], campaign, data.title, data.items, explained)
        written, action = await revise_plan(
            actor, plan_id, content, expected=expected, required=True, row=row
        )
    return await plan_out(await plan_row(written)), action == "new_version"


# --------------------------------------------------------------------------- review


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
    """422 ``plan_check_failed`` listing every error and warning."""
    problems = [*report.errors, *report.warnings]
    return InvalidInput(
        "plan_check_failed",
        f"规划未通过报送检查：{len(report.errors)} 处错误，{len(report.warnings)} 个区划未列入"
        "也未说明原因",
        f"the plan cannot be submitted: {len(report.errors)} error(s), {len(report.warnings)} "
        "division(s) without a target or an explanation",
        errors=error_list([problem_out(p) for p in problems]),
        error_count=len(report.errors),
        warning_count=len(report.warnings),
    )


def _clean_comment(comment: str | None) -> str | None:
    """A review comment: kept in the plan's reviews and the audit, so no personal data."""
    return check_no_personal_data(
        clean_text(comment, "comment", max_length=2000, multiline=True), "comment"
    )


async def submit(
    actor: Actor,
    plan_id: int,
    comment: str | None,
    expected: int | None = None,
    confirm_unchanged: bool = False,
) -> out.Plan:
    """Send a draft or returned version for review, if it passes the submission check (and,
    when ``expected`` is given, if the version is still at that revision). A returned version
    whose content is still the returned content is refused (409 ``plan_unchanged``) unless
    ``confirm_unchanged``."""
    row = await plan_row(plan_id)
    require_author(actor, row["county_code"])
    comment = _clean_comment(comment)
    campaign = await campaign_info(row["campaign"])
    async with write_transaction():
        row = await _lock(plan_id)
        state = _transition(row["state"], "submit", comment)
        await check_revision(plan_id, expected, required=False)
        items = [item_in(i) for i in await plan_items(plan_id)]
        explained = dict(row["missing_explained"] or {})
        if (
            row["state"] == "returned"
            and not confirm_unchanged
            and comparison.unchanged_since_return(
                row.get("returned_content"), row["title"], items, explained
            )
        ):
            refusal = comparison.unchanged_refusal()
            raise Conflict(refusal.code, refusal.zh, refusal.en, refusal.field)
        report, _ = await check_report(row["county_code"], campaign, items, explained)
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
    return await plan_out(await plan_row(plan_id))


async def decide(
    actor: Actor, plan_id: int, action: str, comment: str | None, expected: int | None = None
) -> out.Plan:
    """Approve or return a submitted version (municipal; never one's own plan); when
    ``expected`` is given, only the revision the reviewer read."""
    row = await plan_row(plan_id)
    require_reviewer(actor, row["county_code"])
    comment = _clean_comment(comment)
    async with write_transaction():
        row = await _lock(plan_id)
        if row["created_by"] == actor.username:
            raise Forbidden(
                "own_plan",
                "不能审查自己编制的规划",
                "a plan cannot be approved or returned by its author",
            )
        state = _transition(row["state"], action, comment)
        await check_revision(plan_id, expected, required=False)
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
        values: dict[Any, Any] = {Plan.state: state, Plan.decided_at: now, Plan.updated_at: now}
        if state == "returned":
            # What the reviewer returned: the resubmission is compared with it.
            items = [item_in(i) for i in await plan_items(plan_id)]
            values[Plan.returned_content] = comparison.content_snapshot(
                row["title"], items, dict(row["missing_explained"] or {})
            )
        await Plan.update(values).where(Plan.id == plan_id)
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
    return await plan_out(await plan_row(plan_id))
