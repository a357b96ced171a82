"""Construction plans: versions, workflow, checks, progress, overview and spreadsheets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from litestar import Controller, Request, Response, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.params import FromQuery, HeaderParameter, JSONBody, QueryParameter

from registry.core.errors import InvalidInput
from registry.http.deps import MAX_ID, CurrentActor, PathId
from registry.http.files import MEDIA_TYPES, download
from registry.plans import service as plans
from registry.plans import xlsx as plan_xlsx
from registry.plans.schemas import (
    Plan,
    PlanCheck,
    PlanComparison,
    PlanCreate,
    PlanImport,
    PlanOverview,
    PlanProgress,
    PlanUpdate,
    PlanVersions,
    ReviewAction,
)


@dataclass
class XlsxUploadOperation(Operation):
    """The import route reads the raw request body: document it as an xlsx file."""

    def __post_init__(self) -> None:
        if self.request_body is None:
            self.request_body = RequestBody(
                content={
                    MEDIA_TYPES["xlsx"]: OpenAPIMediaType(
                        schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
                    )
                },
                description="the filled plan workbook (.xlsx, at most 5 MB)",
                required=True,
            )


IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        description='the ETag of the plan as read (`"<revision>"`): 409 `version_conflict` when '
        "the plan changed since",
    ),
]


def etag(plan: Plan) -> str:
    """A version's ETag: its revision (bumped by every write of it)."""
    return f'"{plan.revision}"'


def _with_etag(plan: Plan, status_code: int = 200) -> Response[Plan]:
    return Response(content=plan, status_code=status_code, headers={"ETag": etag(plan)})


def if_match_revision(header: str | None) -> int | None:
    """The revision an ``If-Match`` header names (``"3"``, ``W/"3"`` or ``3``), or None."""
    if header is None or not header.strip():
        return None
    text = header.strip().removeprefix("W/").strip('"').strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 9):
        raise InvalidInput(
            "invalid_if_match",
            'If-Match 应为读取规划时的 ETag（如 "3"）',
            'If-Match must be the ETag of the plan as read (e.g. "3"); a list or * is not accepted',
            "If-Match",
        )
    return int(text)


class PlanController(Controller):
    path = "/api/plans"
    tags = ["plans"]

    @get("/", operation_id="listPlans", summary="Plan state of every county (overview)")
    async def overview(
        self,
        actor: CurrentActor,
        campaign: FromQuery[str | None] = None,
        county: FromQuery[str | None] = None,
        plan_state: Annotated[str | None, QueryParameter(name="state")] = None,
        overdue: FromQuery[bool | None] = None,
        limit: FromQuery[int] = 50,
        offset: FromQuery[int] = 0,
    ) -> PlanOverview:
        """One row per county and campaign: `state` of its newest version (`none` without a
        plan), the version in force, item counts, submission date and whether the review is
        overdue (submitted more than 15 days ago). Municipal: every county of the city;
        planner: their own county."""
        return await plans.overview(actor, campaign, county, plan_state, overdue, limit, offset)

    @post("/", operation_id="createPlan", summary="Open a county's plan for a campaign")
    async def create(self, actor: CurrentActor, data: JSONBody[PlanCreate]) -> Plan:
        """The county's planners only. Version 1, state `draft`. 409 `plan_exists` when the
        county already has a plan for the campaign; 422 `invalid_plan` lists every item
        error."""
        return await plans.create_plan(actor, data)

    @get("/{plan_id:int}", operation_id="getPlan", summary="One plan version with its items")
    async def get_plan(self, actor: CurrentActor, plan_id: PathId) -> Response[Plan]:
        """The `ETag` is the version's `revision`: send it back as `If-Match` (or as the
        body's `revision`) with an edit or a decision."""
        return _with_etag(await plans.get_plan(plan_id, actor))

    @put(
        "/{plan_id:int}",
        operation_id="updatePlan",
        summary="Edit (or amend an approved) plan",
        responses={
            201: ResponseSpec(
                data_container=Plan,
                description="An approved version was amended: the new version (draft)",
                generate_examples=False,
            )
        },
    )
    async def update(
        self,
        actor: CurrentActor,
        plan_id: PathId,
        data: JSONBody[PlanUpdate],
        if_match: IfMatch = None,
    ) -> Response[Plan]:
        """A draft or returned version is changed in place (200). An approved version is
        amended by a NEW version (201: new id, version + 1, `amends` = this id, state
        `draft`); the approved one stays in force until the new one is approved. A submitted
        version is not editable (409 `plan_not_editable`).

        The edit names the revision it is based on, as the body's `revision` or as `If-Match`
        (the ETag of the GET): someone else's edit since then is 409 `version_conflict`, no
        revision 409 `version_required` (both with `current_revision`); nothing is written."""
        plan, created = await plans.update_plan(actor, plan_id, data, if_match_revision(if_match))
        return _with_etag(plan, 201 if created else 200)

    @post(
        "/{plan_id:int}/submit",
        operation_id="submitPlan",
        summary="Submit for review",
        status_code=200,
    )
    async def submit(
        self,
        actor: CurrentActor,
        plan_id: PathId,
        data: JSONBody[ReviewAction | None] = None,
        if_match: IfMatch = None,
    ) -> Response[Plan]:
        """422 `plan_check_failed` with every error and every unexplained missing division.
        With `revision` (or `If-Match`): 409 `version_conflict` when the plan changed since.
        A returned plan whose content is still the returned content: 409 `plan_unchanged`
        unless `confirm_unchanged` is true."""
        plan = await plans.submit(
            actor,
            plan_id,
            data.comment if data else None,
            _expected(data, if_match),
            confirm_unchanged=bool(data and data.confirm_unchanged),
        )
        return _with_etag(plan)

    @post(
        "/{plan_id:int}/approve",
        operation_id="approvePlan",
        summary="Approve a submitted plan (municipal)",
        status_code=200,
    )
    async def approve(
        self,
        actor: CurrentActor,
        plan_id: PathId,
        data: JSONBody[ReviewAction | None] = None,
        if_match: IfMatch = None,
    ) -> Response[Plan]:
        """With `revision` (or `If-Match`): 409 `version_conflict` when the plan changed
        since the reviewer read it."""
        plan = await plans.decide(
            actor,
            plan_id,
            "approve",
            data.comment if data else None,
            _expected(data, if_match),
        )
        return _with_etag(plan)

    @post(
        "/{plan_id:int}/return",
        operation_id="returnPlan",
        summary="Return a submitted plan with a comment (municipal)",
        status_code=200,
    )
    async def return_plan(
        self,
        actor: CurrentActor,
        plan_id: PathId,
        data: JSONBody[ReviewAction | None] = None,
        if_match: IfMatch = None,
    ) -> Response[Plan]:
        """With `revision` (or `If-Match`): 409 `version_conflict` when the plan changed
        since the reviewer read it."""
        plan = await plans.decide(
            actor,
            plan_id,
            "return",
            data.comment if data else None,
            _expected(data, if_match),
        )
        return _with_etag(plan)

    @get("/{plan_id:int}/check", operation_id="checkPlan", summary="Submission check")
    async def check(self, actor: CurrentActor, plan_id: PathId) -> PlanCheck:
        return await plans.check(plan_id, actor)

    @get("/{plan_id:int}/versions", operation_id="listPlanVersions", summary="Every version")
    async def versions(self, actor: CurrentActor, plan_id: PathId) -> PlanVersions:
        return await plans.versions(plan_id, actor)

    @get(
        "/{plan_id:int}/compare",
        operation_id="comparePlanVersions",
        summary="Items added, removed and changed between two versions",
    )
    async def compare(
        self,
        actor: CurrentActor,
        plan_id: PathId,
        other: Annotated[
            int, QueryParameter(name="with", ge=1, le=MAX_ID, description="the other version's id")
        ],
    ) -> PlanComparison:
        return await plans.compare(plan_id, other, actor)

    @get(
        "/{plan_id:int}/changes",
        operation_id="planChangesSinceReturn",
        summary="Items added, removed and changed since the version was returned",
    )
    async def changes(self, actor: CurrentActor, plan_id: PathId) -> PlanComparison:
        """A returned version is corrected in place: this compares its items with those it
        had when it was last returned (`base` and `other` are the version itself). 404
        `plan_never_returned` for a version never returned."""
        return await plans.changes_since_return(plan_id, actor)

    @get("/{plan_id:int}/progress", operation_id="planProgress", summary="Plan vs actual")
    async def progress(
        self, actor: CurrentActor, plan_id: PathId, as_of: FromQuery[date | None] = None
    ) -> PlanProgress:
        """Per item: the division's site status on `as_of` (default today) and on the target
        date, `met` / `late` / `pending`; per quarter: cumulative planned and achieved
        counts."""
        return await plans.progress(plan_id, actor, as_of)

    @get(
        "/{plan_id:int}/export.xlsx",
        operation_id="exportPlan",
        summary="A version as an xlsx workbook",
        media_type=MEDIA_TYPES["xlsx"],
    )
    async def export(self, actor: CurrentActor, plan_id: PathId) -> Response[bytes]:
        content, filename = await plans.export_xlsx(actor, plan_id)
        return download(content, filename)

    @get(
        "/template.xlsx",
        operation_id="planTemplate",
        summary="Blank plan workbook of a county, divisions pre-filled",
        media_type=MEDIA_TYPES["xlsx"],
    )
    async def template(
        self, actor: CurrentActor, county: FromQuery[str], campaign: FromQuery[str]
    ) -> Response[bytes]:
        content = await plans.template_xlsx(actor, county, campaign)
        county_code = county.strip().ljust(12, "0")
        return download(content, plans.xlsx_filename(county_code, campaign, None))

    @post(
        "/import",
        operation_id="importPlan",
        summary="Upload a filled workbook (raw xlsx body)",
        request_max_body_size=plan_xlsx.MAX_UPLOAD_BYTES,
        operation_class=XlsxUploadOperation,
        responses={
            200: ResponseSpec(
                data_container=PlanImport,
                description="A dry run, or a draft's or returned version's content replaced",
                generate_examples=False,
            )
        },
    )
    async def import_plan(
        self, actor: CurrentActor, request: Request, dry_run: FromQuery[bool] = False
    ) -> Response[PlanImport]:
        """The body is the .xlsx file itself (`Content-Type:
        application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`, at most 5 MB).
        Creates the plan (201), replaces a draft's or returned version's content (200) or
        opens a new version of an approved plan (201). Refused files write nothing: 413/422
        with `errors: [{row, column, message, code}]`."""
        body = await request.body()
        result = await plans.import_xlsx(actor, body, dry_run=dry_run)
        created = not dry_run and result.action in ("create", "new_version")
        return Response(content=result, status_code=201 if created else 200)


def _expected(data: ReviewAction | None, if_match: str | None) -> int | None:
    """The revision a review action is based on (body or If-Match), if it names one."""
    return plans.expected_revision(data.revision if data else None, if_match_revision(if_match))
