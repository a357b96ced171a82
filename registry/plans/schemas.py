"""Construction plan bodies: versions, items, reviews, checks, progress, overview, import."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

Target = Annotated[
    str,
    Meta(
        description="built, in_service (agency points and centres) or standardized (centres only)"
    ),
]
Explained = Annotated[
    dict[str, str],
    Meta(
        description="divisions deliberately left out of the plan: {division_code: reason}. "
        "Completeness warnings for these divisions do not block submission."
    ),
]


class PlanItemIn(msgspec.Struct, forbid_unknown_fields=True):
    """One division's target: a village (agency-points campaign) or a township (centres)."""

    division_code: str
    target: Target
    target_date: date
    budget_yuan: int | None = None
    funding_source: str | None = None
    note: str | None = None


class PlanCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Open a county's plan for a campaign (its first version, a draft)."""

    county_code: str
    campaign: str
    title: str
    items: list[PlanItemIn]
    missing_explained: Explained = msgspec.field(default_factory=dict)


Revision = Annotated[
    int,
    Meta(
        ge=0,
        description='the plan\'s `revision` as read (or send it as `If-Match: "<revision>"`): '
        "409 `version_conflict` when someone changed the plan since",
    ),
]


class PlanUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Replace a draft's or returned plan's title and items; on an approved plan this opens a
    new version. ``missing_explained`` absent: kept as it is.

    The edit must say which state of the plan it was based on: ``revision`` (or the
    ``If-Match`` header) equal to the plan's current ``revision``, else 409
    ``version_conflict`` (stale) or ``version_required`` (absent), with ``current_revision``.
    """

    title: str
    items: list[PlanItemIn]
    missing_explained: Explained | UnsetType = UNSET
    revision: Revision | UnsetType = UNSET


class ReviewAction(msgspec.Struct, forbid_unknown_fields=True):
    """A comment for submit/approve (optional) or return (required). ``revision`` (or
    ``If-Match``), when given, must be the plan's current one: the reviewer decides on the plan
    they read."""

    comment: str | None = None
    revision: Revision | None = None
    confirm_unchanged: Annotated[
        bool,
        msgspec.Meta(
            description="submit only: resubmit a returned plan whose content is the very "
            "content that was returned (else 409 `plan_unchanged`)"
        ),
    ] = False


class PlanItem(msgspec.Struct):
    division_code: str
    division_name: str
    township_code: str | None
    target: str
    target_date: date
    budget_yuan: int | None
    funding_source: str | None
    note: str | None
    # The village's township by name: same-named villages of a county are told apart by it.
    township_name: str | None = None


class Review(msgspec.Struct):
    action: str
    comment: str
    actor: str
    at: datetime


class ExplainedPlace(msgspec.Struct):
    """A division left out of the plan, named, with the reason given."""

    division_code: str
    division_name: str
    township_name: str | None
    reason: str


class Plan(msgspec.Struct):
    """One version of a county's construction plan."""

    id: int
    county_code: str
    county_name: str
    campaign: str
    title: str
    state: str
    version: int
    # Bumped by every write of this version (edit, submit, approve, return, supersede): what an
    # edit or a decision sends back to say which state of the plan it is based on. Also the
    # response's ETag.
    revision: int
    amends: int | None
    in_force: bool
    submitted_at: datetime | None
    decided_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    item_count: int
    budget_total_yuan: int
    items: list[PlanItem]
    missing_explained: dict[str, str]
    reviews: list[Review]
    # missing_explained with the divisions named (township too), in code order: what pages show.
    explained_places: list[ExplainedPlace] = []
    # Whether the version was returned once: GET /api/plans/{id}/changes compares with that.
    was_returned: bool = False


class PlanVersion(msgspec.Struct):
    id: int
    version: int
    state: str
    amends: int | None
    in_force: bool
    title: str
    item_count: int
    created_by: str
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None


class PlanVersions(msgspec.Struct):
    county_code: str
    campaign: str
    items: list[PlanVersion]
    total: int


class Problem(msgspec.Struct):
    """One finding of a plan check (``row``/``column`` for spreadsheet uploads)."""

    code: str
    field: str
    message: str
    severity: str = "error"
    division_code: str | None = None
    row: int | None = None
    column: str | None = None


class PlanCheck(msgspec.Struct):
    """Submission check: ``ok`` when there are no errors and no unexplained missing
    divisions (warnings)."""

    ok: bool
    errors: list[Problem]
    warnings: list[Problem]
    expected: int
    planned: int
    explained: int


class FieldChange(msgspec.Struct):
    field: str
    before: Any
    after: Any


class ItemChange(msgspec.Struct):
    division_code: str
    division_name: str
    changes: list[FieldChange]
    township_name: str | None = None


class ItemRef(msgspec.Struct):
    division_code: str
    division_name: str
    township_name: str | None = None


class VersionRef(msgspec.Struct):
    id: int
    version: int
    state: str


class PlanComparison(msgspec.Struct):
    """Differences from ``base`` to ``other`` (added: in other only)."""

    base: VersionRef
    other: VersionRef
    title_changed: bool
    added: list[ItemRef]
    removed: list[ItemRef]
    changed: list[ItemChange]
    unchanged: int


class ItemProgress(msgspec.Struct):
    division_code: str
    division_name: str
    township_code: str | None
    target: str
    target_date: date
    site_id: int | None
    status: str | None
    status_on_target_date: str | None
    achieved_on: date | None
    result: str
    days_late: int | None


class QuarterProgress(msgspec.Struct):
    """Cumulative counts at a quarter's end (``achieved`` as of min(end, as_of); null for a
    quarter that starts after ``as_of``)."""

    quarter: str
    end: date
    planned: int
    achieved: int | None


class ProgressSummary(msgspec.Struct):
    items: int
    met: int
    late: int
    pending: int
    achieved_today: int


class PlanProgress(msgspec.Struct):
    plan_id: int
    county_code: str
    campaign: str
    version: int
    state: str
    as_of: date
    summary: ProgressSummary
    items: list[ItemProgress]
    quarters: list[QuarterProgress]


class CountyPlanState(msgspec.Struct):
    """One county and campaign in the municipal overview."""

    county_code: str
    county_name: str
    campaign: str
    state: str
    plan_id: int | None
    version: int | None
    title: str | None
    item_count: int
    submitted_at: datetime | None
    decided_at: datetime | None
    in_force_plan_id: int | None
    in_force_version: int | None
    in_force_item_count: int
    review_due_on: date | None
    review_overdue: bool


class PlanOverview(msgspec.Struct):
    items: list[CountyPlanState]
    total: int
    limit: int
    offset: int
    overdue_reviews: int
    by_state: dict[str, int]


class PlanImport(msgspec.Struct):
    """Outcome of a spreadsheet upload: ``action`` create, update or new_version."""

    action: str
    dry_run: bool
    county_code: str
    campaign: str
    items: int
    explained: int
    check: PlanCheck
    plan: Plan | None = None
