"""The matter catalogue and proxy-service cases: single writes, batch sync, lists, statistics."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import Controller, Response, Router, get, patch, post, put
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from registry.cases import calendar
from registry.cases import service as cases
from registry.cases.schemas import (
    CalendarArrangement,
    CalendarInfo,
    CalendarYearInfo,
    Case,
    CaseCreate,
    CaseList,
    CaseStats,
    CaseUpdate,
    Matter,
    MatterCreate,
    MatterList,
    MatterUpdate,
    SyncRequest,
    SyncResponse,
)
from registry.core import runtime
from registry.core.ratelimit import TokenBucketLimiter
from registry.http.deps import CurrentActor, provide_actor

DateFrom = Annotated[date | None, QueryParameter(name="from")]
DateTo = Annotated[date | None, QueryParameter(name="to")]


class MatterController(Controller):
    path = "/api/matters"
    tags = ["matters"]

    @get("/", operation_id="listMatters", summary="Proxy-service matter catalogue (public)")
    async def list_matters(
        self,
        include_inactive: FromQuery[bool] = False,
        category: FromQuery[str | None] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                description="words residents use: 低保, 社保卡, 新农合 … (code, name, aliases)"
            ),
        ] = None,
    ) -> MatterList:
        """`time_limit_days` counts working days (statutory holidays and make-up days). Each
        matter carries its service guide (办事指南): legal basis, materials, fees, who decides
        it, notes and aliases."""
        return await cases.list_matters(include_inactive, category, q)

    @get("/{code:str}", operation_id="getMatter", summary="One matter")
    async def get_matter(self, code: FromPath[str]) -> Matter:
        return await cases.get_matter(code)

    @post("/", operation_id="createMatter", summary="Add a matter (municipal)")
    async def create_matter(self, actor: CurrentActor, data: JSONBody[MatterCreate]) -> Matter:
        return await cases.create_matter(actor, data)

    @patch("/{code:str}", operation_id="updateMatter", summary="Edit a matter (municipal)")
    async def update_matter(
        self, actor: CurrentActor, code: FromPath[str], data: JSONBody[MatterUpdate]
    ) -> Matter:
        return await cases.update_matter(actor, code, data)


class CalendarController(Controller):
    path = "/api/calendar"
    tags = ["cases"]

    @get("/", operation_id="getCalendar", summary="Working-day calendar: the years known (public)")
    async def get_calendar(self) -> CalendarInfo:
        """Each year whose official holiday arrangement is known, its source (`registry`:
        entered by the municipal centre, takes precedence; `library`: the chinesecalendar
        package), and whether next year's is missing. Due dates in an unknown year are
        provisional (`due_provisional` on a case)."""
        return await calendar.get_calendar()

    @put(
        "/{year:int}",
        operation_id="putCalendarYear",
        summary="Enter a year's official holiday arrangement (municipal)",
        opt={"roles": ("municipal",)},
    )
    async def put_year(
        self, actor: CurrentActor, year: FromPath[int], data: JSONBody[CalendarArrangement]
    ) -> CalendarYearInfo:
        """Holidays `[{date, name}]` and make-up working days (Saturdays or Sundays), every
        date inside the year and none both; audited. The due dates of open cases the
        arrangement moves are recomputed at once (`cases_recomputed`)."""
        return await calendar.put_year(actor, year, data)


class CaseController(Controller):
    path = "/api/cases"
    tags = ["cases"]

    @get("/", operation_id="listCases", summary="Cases (agent: own point; planner: county)")
    async def list_cases(
        self,
        actor: CurrentActor,
        site: FromQuery[int | None] = None,
        county: FromQuery[str | None] = None,
        township: FromQuery[str | None] = None,
        state_filter: Annotated[str | None, QueryParameter(name="state")] = None,
        overdue: FromQuery[bool | None] = None,
        matter: FromQuery[str | None] = None,
        date_from: DateFrom = None,
        date_to: DateTo = None,
        limit: FromQuery[int] = 50,
        offset: FromQuery[int] = 0,
    ) -> CaseList:
        """Resident data masked. `from`/`to` filter on the China date of receipt; `overdue`:
        open (received or forwarded) past the due date."""
        filters = cases.CaseFilters.parse(
            site, county, township, state_filter, overdue, matter, date_from, date_to
        )
        return await cases.list_cases(actor, filters, limit, offset)

    @get("/stats", operation_id="caseStats", summary="Case statistics (SQL aggregation)")
    async def stats(
        self,
        actor: CurrentActor,
        county: FromQuery[str | None] = None,
        site: FromQuery[int | None] = None,
        date_from: DateFrom = None,
        date_to: DateTo = None,
    ) -> CaseStats:
        """Counts by state, matter and month per point, township and county; on-time completion
        rate, average working days to completion, satisfaction share."""
        return await cases.stats(actor, county, site, date_from, date_to)

    @get("/{case_id:uuid}", operation_id="getCase", summary="One case (masked)")
    async def get_case(self, actor: CurrentActor, case_id: FromPath[uuid.UUID]) -> Case:
        return await cases.get_case(actor, case_id)

    @post(
        "/",
        operation_id="createCase",
        summary="Log one case (agent of the point)",
        responses={
            200: ResponseSpec(
                data_container=Case,
                description="The same record was already received (a retry): the stored case",
                generate_examples=False,
            )
        },
    )
    async def create_case(self, actor: CurrentActor, data: JSONBody[CaseCreate]) -> Response[Case]:
        """201 when created; 200 with the case when the same record was already received
        (a retry); 409 `case_exists` when the id exists with other content."""
        case, created = await cases.create_case(actor, data)
        return Response(case, status_code=201 if created else 200)

    @patch("/{case_id:uuid}", operation_id="updateCase", summary="Edit one case at its version")
    async def update_case(
        self, actor: CurrentActor, case_id: FromPath[uuid.UUID], data: JSONBody[CaseUpdate]
    ) -> Case:
        """409 `stale_version` (with the server copy in `case`) when `version` is not the
        server's."""
        return await cases.update_case(actor, case_id, data)


class CaseSyncController(Controller):
    path = "/api/cases/sync"
    tags = ["cases"]

    @post(
        "/",
        operation_id="syncCases",
        summary="Send a batch of up to 1,000 case records from an agent's device",
        status_code=200,
    )
    async def sync(self, actor: CurrentActor, data: JSONBody[SyncRequest]) -> SyncResponse:
        """Each record is applied on its own: created, updated, unchanged (a replay), conflict
        (based on an older version: the server copy is returned) or invalid (with its errors).
        The valid records are committed together, in one transaction. An agent may send
        `REGISTRY_SYNC_BURST` batches at once and `REGISTRY_SYNC_RATE_PER_MINUTE` a minute
        (defaults 20 and 60): beyond, 429 `sync_rate_limited` with Retry-After."""
        return await cases.sync(actor, data.records)


def sync_limiter() -> TokenBucketLimiter:
    """The deployment's buckets of case-sync batches, one per agent account."""
    settings = runtime.current().settings
    return runtime.current().slot(
        "cases.sync_limiter",
        lambda: TokenBucketLimiter(
            "事项同步",
            "case sync",
            "sync_rate_limited",
            settings.sync_rate_per_minute,
            settings.sync_burst,
        ),
    )


async def sync_rate_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """A guard taking one token of the agent's bucket before the batch is even parsed (a
    stolen token cannot make the server parse 20 MB bodies without limit): 429
    ``sync_rate_limited`` with Retry-After when the bucket is empty. Only agents reach it: the
    app's write guard has already refused other roles (401/403)."""

    actor = await provide_actor(connection)
    if actor.is_agent and actor.account_id is not None:
        sync_limiter().take(actor.account_id)


def sync_router(max_body_bytes: int) -> Router:
    """The sync route with its own, larger body limit (a batch of 1,000 records) and a rate
    limit per agent account."""
    return Router(
        path="/",
        route_handlers=[CaseSyncController],
        request_max_body_size=max_body_bytes,
        guards=[sync_rate_guard],
    )
