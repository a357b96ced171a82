"""Construction plans, the capability's public face: what the API, the command line and the
other capabilities call.

Each function delegates to the module that does the work:

- :mod:`registry.plans.queries`: look-ups, a version, versions, compare, check, the overview;
- :mod:`registry.plans.workflow`: create, edit, submit, approve and return;
- :mod:`registry.plans.progress`: plan vs actual and the target line of the coverage figures;
- :mod:`registry.plans.workbooks`: the xlsx template, export and import.

Who may do what is :mod:`registry.plans.scope`. Every write runs in one write transaction with
its audit entries (entity ``plan``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from registry.core.access import Actor
from registry.plans import progress as plan_progress
from registry.plans import queries, workbooks, workflow
from registry.plans import schemas as out
from registry.plans.schemas import PlanCreate, PlanUpdate
from registry.plans.xlsx.read import ParsedPlan

# --------------------------------------------------------------------------- reading


async def get_plan(plan_id: int, actor: Actor) -> out.Plan:
    """One version with its items and review entries."""
    return await queries.get_plan(plan_id, actor)


async def versions(plan_id: int, actor: Actor) -> out.PlanVersions:
    """Every version of the plan's lineage, oldest first."""
    return await queries.versions(plan_id, actor)


async def compare(plan_id: int, other_id: int, actor: Actor) -> out.PlanComparison:
    """Items added, removed and changed from version ``plan_id`` to version ``other_id``."""
    return await queries.compare(plan_id, other_id, actor)


async def changes_since_return(plan_id: int, actor: Actor) -> out.PlanComparison:
    """Items added, removed and changed since the version was last returned."""
    return await queries.changes_since_return(plan_id, actor)


async def check(plan_id: int, actor: Actor) -> out.PlanCheck:
    """The submission check of a version, without submitting it."""
    return await queries.check(plan_id, actor)


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
    return await queries.overview(actor, campaign, county, state, overdue, limit, offset)


# --------------------------------------------------------------------------- workflow


async def create_plan(actor: Actor, data: PlanCreate) -> out.Plan:
    """Open a county's plan for a campaign: version 1, a draft."""
    return await workflow.create_plan(actor, data)


async def update_plan(
    actor: Actor, plan_id: int, data: PlanUpdate, if_match: int | None = None
) -> tuple[out.Plan, bool]:
    """Edit a draft or returned version, or amend an approved one by a new version, if based
    on its current revision (``data.revision`` or ``if_match``: 409 ``version_conflict``,
    ``version_required``); returns the plan written and whether it is a new version."""
    return await workflow.update_plan(actor, plan_id, data, if_match)


def expected_revision(given: int | None, if_match: int | None) -> int | None:
    """The revision a request is based on: its body's ``revision`` or its ``If-Match`` (422
    ``revision_mismatch`` when they differ)."""
    return workflow.expected_revision(given, if_match)


async def submit(
    actor: Actor,
    plan_id: int,
    comment: str | None,
    expected: int | None = None,
    confirm_unchanged: bool = False,
) -> out.Plan:
    """Send a draft or returned version for review, if it passes the submission check (and is
    still at revision ``expected``, when given); a returned version still holding the returned
    content only with ``confirm_unchanged`` (409 ``plan_unchanged``)."""
    return await workflow.submit(actor, plan_id, comment, expected, confirm_unchanged)


async def decide(
    actor: Actor, plan_id: int, action: str, comment: str | None, expected: int | None = None
) -> out.Plan:
    """Approve or return a submitted version (municipal; never one's own plan), still at
    revision ``expected`` when given."""
    return await workflow.decide(actor, plan_id, action, comment, expected)


# --------------------------------------------------------------------------- progress


async def progress(plan_id: int, actor: Actor, as_of: date | None) -> out.PlanProgress:
    """Plan vs actual for a version: per item and per quarter."""
    return await plan_progress.progress(plan_id, actor, as_of)


async def target_share_series(
    county_code: str, campaign: str, days: list[date]
) -> list[float] | None:
    """Cumulative target share of the county's plan in force on each day, or None."""
    return await plan_progress.target_share_series(county_code, campaign, days)


async def target_share_series_many(
    county_codes: Sequence[str], campaign: str, days: list[date]
) -> dict[str, list[float]]:
    """:func:`target_share_series` of many counties (those without a plan in force absent)."""
    return await plan_progress.target_share_series_many(county_codes, campaign, days)


# --------------------------------------------------------------------------- spreadsheets


def xlsx_filename(county_code: str, campaign: str, version: int | None) -> str:
    """The download name of a version's export (``version`` None: the template)."""
    return workbooks.xlsx_filename(county_code, campaign, version)


async def template_xlsx(actor: Actor, county: str | None, campaign: str | None) -> bytes:
    """A blank plan workbook for a county: its divisions of the campaign's level pre-filled."""
    return await workbooks.template_xlsx(actor, county, campaign)


async def export_xlsx(actor: Actor, plan_id: int) -> tuple[bytes, str]:
    """A version as a workbook, and its file name."""
    return await workbooks.export_xlsx(actor, plan_id)


def parse_upload(data: bytes) -> ParsedPlan:
    """Parse an uploaded workbook; whole-file refusals become 413/422, cell errors 422."""
    return workbooks.parse_upload(data)


async def import_xlsx(actor: Actor, data: bytes, dry_run: bool = False) -> out.PlanImport:
    """Create or revise the county's plan from an uploaded workbook (nothing on any error)."""
    return await workbooks.import_xlsx(actor, data, dry_run=dry_run)
