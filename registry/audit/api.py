"""The audit trail over HTTP: municipal reads all of it, a planner their county's."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from registry.audit import service as audit
from registry.audit.schemas import AuditList
from registry.http.deps import CurrentActor


class AuditController(Controller):
    path = "/api/audit"
    tags = ["audit"]

    @get("/", operation_id="listAudit", summary="Append-only audit entries, newest first")
    async def list_audit(
        self,
        actor: CurrentActor,
        entity: FromQuery[str | None] = None,
        entity_id: FromQuery[str | None] = None,
        by: Annotated[
            str | None, QueryParameter(name="actor", description="actor username")
        ] = None,
        action: FromQuery[str | None] = None,
        county: FromQuery[str | None] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                description="a case number, a division code (6, 9 or 12 digits) or part of a "
                "site's name: the entries of the objects it names",
            ),
        ] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        limit: FromQuery[int] = 50,
        offset: FromQuery[int] = 0,
    ) -> AuditList:
        """Filters: entity (site, account, plan, case…), entity_id, actor (username), action,
        county, since/until (ISO timestamps; 422 ``invalid_date_range`` when until is before
        since), q (a case number, a division code or part of a site's name)."""
        result = await audit.list_entries(
            actor, entity, entity_id, by, action, county, since, until, limit, offset, q=q
        )
        return msgspec.convert(result, AuditList)
