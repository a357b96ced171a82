"""Cases (代办): the capability's public face — single create and edit, offline batch sync,
scoped lists and exports, statistics, activity, and the matter catalogue.

Other capabilities and the HTTP layer use these functions (and the schemas and pure rules)
only. The work is done by:

- :mod:`registry.cases.records` — a body, sync record or PATCH made into a checked candidate;
- :mod:`registry.cases.write` — groups of candidates written in ONE write transaction, and the
  group commit of single POSTs;
- :mod:`registry.cases.sync` — batches from an agent's device;
- :mod:`registry.cases.read`, :mod:`registry.cases.filters` — reads, and which cases a reader
  sees;
- :mod:`registry.cases.stats` — statistics and the points' activity;
- :mod:`registry.cases.matters` — the matter catalogue.

Resident data never leaves the capability in clear: only masks and keyed hashes are stored,
and no error message, audit entry or log line repeats a submitted value.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

import msgspec

from registry.cases import matters, read, write
from registry.cases import stats as statistics
from registry.cases import sync as batch
from registry.cases.filters import CaseFilters
from registry.cases.records import candidate_from_create, candidate_from_update, raise_invalid
from registry.cases.schemas import (
    Case,
    CaseCreate,
    CaseList,
    CaseStats,
    CaseUpdate,
    Matter,
    MatterCreate,
    MatterList,
    MatterUpdate,
    SyncResponse,
)
from registry.core import clock
from registry.core.access import Actor, require_role
from registry.core.context import request_id
from registry.core.errors import Conflict, Forbidden, NotFound
from registry.tables import Case as CaseRow

__all__ = [
    "CaseFilters",
    "active_site_ids",
    "create_case",
    "create_matter",
    "export_cases",
    "get_case",
    "get_matter",
    "guides_for",
    "list_cases",
    "list_matters",
    "load_catalogue",
    "matter_codes",
    "stats",
    "sync",
    "update_case",
    "update_matter",
    "working_calendar",
]


def _check_agent(actor: Actor, site_id: int) -> None:
    require_role(actor, "village_agent")
    if actor.scope != str(site_id):
        raise Forbidden(
            "out_of_scope",
            "代办员只能操作本代办点的事项",
            f"{actor.username} is the agent of point {actor.scope}, not of point {site_id}",
        )


# ------------------------------------------------------------------------------ writes


async def create_case(actor: Actor, data: CaseCreate) -> tuple[Case, bool]:
    """Create one case; a repeat of the same content returns the case (created False)."""
    _check_agent(actor, data.site_id)
    c = candidate_from_create(0, data, clock.now())
    if c.errors:
        raise_invalid(c)
    server = await write.submit_create(
        write.Group(actor, data.site_id, [c], request=request_id.get())
    )
    if c.result == "conflict":
        assert server is not None
        raise Conflict(
            "case_exists",
            "该编号的事项已存在且内容不同：请用 PATCH 并带上版本号修改",
            "a case with this id already exists with other content: PATCH it with its version",
            case=msgspec.to_builtins(server),
        )
    if c.errors:
        raise_invalid(c)
    assert server is not None
    return server, c.result == "created"


async def update_case(actor: Actor, case_id: uuid.UUID, data: CaseUpdate) -> Case:
    """Edit one case at the version it was read (409 ``stale_version`` with the server copy)."""
    require_role(actor, "village_agent")
    row = await CaseRow.select().where(CaseRow.id == case_id).first()
    if row is None:
        raise NotFound("case_not_found", "事项不存在", "case not found")
    _check_agent(actor, row["site"])
    c = candidate_from_update(row, data, clock.now())
    if c.errors:
        # A stale edit is a conflict before anything else: its fields were merged with a
        # newer server copy and may disagree with it only because of that.
        write.version_conflict(c, row)
    if not c.errors:
        group = write.Group(actor, row["site"], [c], request=request_id.get())
        await write._apply([group], allow_update=True)
    if c.result == "conflict":
        server = (await write.shown_cases([c]))[case_id]
        first = c.errors[0]
        raise Conflict(first.code, first.zh, first.en, case=msgspec.to_builtins(server))
    if c.errors:
        raise_invalid(c)
    return (await write.shown_cases([c]))[case_id]


async def sync(actor: Actor, records: list[Any]) -> SyncResponse:
    """Apply a batch of up to 1,000 records from an agent's device, each answered on its own
    (see :mod:`registry.cases.sync`)."""
    return await batch.sync(actor, records)


# ------------------------------------------------------------------------------ reads


async def get_case(actor: Actor, case_id: uuid.UUID) -> Case:
    """One case the actor may read, resident data masked."""
    return await read.get_case(actor, case_id)


async def list_cases(
    actor: Actor, filters: CaseFilters, limit: int | None, offset: int | None
) -> CaseList:
    """Cases the actor may read, newest received first; resident data masked."""
    return await read.list_cases(actor, filters, limit, offset)


async def export_cases(actor: Actor, filters: CaseFilters) -> list[dict[str, Any]]:
    """Every case the actor may read under ``filters``, masked, as plain dicts (for exports)."""
    return await read.export_cases(actor, filters)


async def stats(
    actor: Actor,
    county: str | None,
    site: int | None,
    date_from: date | None,
    date_to: date | None,
) -> CaseStats:
    """Counts by state, matter and month per point, township and county; rates."""
    return await statistics.stats(actor, county, site, date_from, date_to)


async def active_site_ids(day: date, county_code: str | None = None) -> set[int]:
    """Points that received at least one case in the 90 days up to ``day``, optionally of one
    county."""
    return await statistics.active_site_ids(day, county_code)


# ------------------------------------------------------------------------------ matters


async def list_matters(
    include_inactive: bool = False, category: str | None = None, q: str | None = None
) -> MatterList:
    """The matter catalogue (public); ``q`` searches codes, names and aliases (低保 …)."""
    return await matters.list_matters(include_inactive, category, q)


async def guides_for(excluded: list[str] | None = None) -> list[Matter]:
    """The active matters with their service guides, less the codes ``excluded`` (a site's
    ``excluded_matters``)."""
    return await matters.guides_for(excluded)


async def working_calendar() -> Any:
    """The working-day calendar of due dates, with the years entered in the registry (what a
    site's "open today" follows: registry.sites.facts)."""
    from registry.cases import calendar as registry_calendar

    return await registry_calendar.current()


async def matter_codes() -> set[str]:
    """Every code of the matter catalogue (active or not)."""
    return await matters.known_codes()


async def get_matter(code: str) -> Matter:
    """One matter of the catalogue (404 when unknown)."""
    return await matters.get_matter(code)


async def create_matter(actor: Actor, data: MatterCreate) -> Matter:
    """Add a matter (municipal centre)."""
    return await matters.create_matter(actor, data)


async def update_matter(actor: Actor, code: str, data: MatterUpdate) -> Matter:
    """Edit a matter (municipal centre); every changed field is audited."""
    return await matters.update_matter(actor, code, data)


async def load_catalogue(path: Path) -> int:
    """Load the seed catalogue of matters (see :func:`registry.cases.matters.load_catalogue`)."""
    return await matters.load_catalogue(path)
