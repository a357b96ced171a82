"""Reading cases: one case, a page of a list, every case of an export. Resident data is only
ever read masked (the columns below hold no hash and no clear value); which cases a reader
sees is decided by :mod:`registry.cases.filters`."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import msgspec

from registry.cases.calendar import current as current_calendar
from registry.cases.calendar import is_provisional
from registry.cases.filters import CaseFilters, readable
from registry.cases.rules import timeline as rules
from registry.cases.rules.workdays import Calendar
from registry.cases.schemas import Case, CaseList
from registry.core import clock
from registry.core.access import Actor, can_read_county, require_role
from registry.core.errors import Forbidden, NotFound
from registry.core.params import page
from registry.tables import Case as CaseRow

# Values per IN (...) list of ids.
ID_CHUNK = 500
CASE_COLUMNS = (
    CaseRow.id,
    CaseRow.site.as_alias("site_id"),
    CaseRow.site.standard_name.as_alias("site_name"),
    CaseRow.matter.as_alias("matter_code"),
    CaseRow.matter.name.as_alias("matter_name"),
    CaseRow.case_number,
    CaseRow.county_code,
    CaseRow.township_code,
    CaseRow.resident_name_masked,
    CaseRow.resident_id_masked,
    CaseRow.resident_phone_masked,
    CaseRow.received_at,
    CaseRow.state,
    CaseRow.forwarded_at,
    CaseRow.completed_at,
    CaseRow.returned_at,
    CaseRow.delivered_at,
    CaseRow.returned_reason,
    CaseRow.rating,
    CaseRow.note,
    CaseRow.due_on,
    CaseRow.forward_late,
    CaseRow.version,
    CaseRow.is_demo,
    CaseRow.created_by,
    CaseRow.created_at,
    CaseRow.updated_at,
)


def _to_case(
    row: dict[str, Any], today: date, calendar: Calendar, *, copy: bool = True, convert: bool = True
) -> Case:
    """The case of a row (``copy=False``: a dict of the caller's, filled in; ``convert=False``:
    its values are already of the case's types, and the case is made of them as they are)."""
    if copy:
        row = dict(row)
    row["overdue"] = rules.is_overdue(row["state"], row["due_on"], today)
    received_on = clock.china_date(rules.to_utc(row["received_at"]))
    row["due_provisional"] = is_provisional(calendar, received_on, row["due_on"])
    if not convert:
        return Case(**row)
    return msgspec.convert(row, Case, from_attributes=False)


# Fields of a Case a table row holds under the same name (the others are joined or derived).
_FROM_ROW = tuple(
    name
    for name in Case.__struct_fields__
    if name
    not in ("site_id", "site_name", "matter_code", "matter_name", "overdue", "due_provisional")
)


def case_from_row(
    row: dict[str, Any],
    site_name: str,
    matter_name: str,
    today: date,
    calendar: Calendar,
    *,
    written: bool = False,
) -> Case:
    """A case from its whole table row (as just written, or read with ``select()``) and the
    names of its point and matter: what :func:`cases_by_id` would read back. ``written``: the
    row's values are the ones a new case was inserted with (Python's own types, as the case
    holds them): made without converting them (a sync batch answers a thousand)."""
    shown = {name: row[name] for name in _FROM_ROW}
    shown.update(
        site_id=row["site"], site_name=site_name, matter_code=row["matter"], matter_name=matter_name
    )
    return _to_case(shown, today, calendar, copy=False, convert=not written)


async def cases_by_id(ids: list[uuid.UUID]) -> dict[uuid.UUID, Case]:
    """The cases of ``ids`` that exist, by id (no scope check: the callers wrote them)."""
    if not ids:
        return {}
    today = clock.today()
    calendar = await current_calendar()
    found: dict[uuid.UUID, Case] = {}
    for start in range(0, len(ids), ID_CHUNK):
        rows = await CaseRow.select(*CASE_COLUMNS).where(
            CaseRow.id.is_in(ids[start : start + ID_CHUNK])
        )
        for row in rows:
            case = _to_case(row, today, calendar)
            found[case.id] = case
    return found


def _may_read(actor: Actor, case: Case) -> bool:
    if actor.is_agent:
        return str(case.site_id) == actor.scope
    return can_read_county(actor, case.county_code)


async def get_case(actor: Actor, case_id: uuid.UUID) -> Case:
    """One case the actor may read (404 when missing, 403 out of their scope)."""
    require_role(actor, "municipal", "county_planner", "village_agent")
    case = (await cases_by_id([case_id])).get(case_id)
    if case is None:
        raise NotFound("case_not_found", "事项不存在", "case not found")
    if not _may_read(actor, case):
        raise Forbidden("out_of_scope", "无权查看该事项", "you may not read this case")
    return case


async def list_cases(
    actor: Actor, filters: CaseFilters, limit: int | None, offset: int | None
) -> CaseList:
    """Cases the actor may read, newest received first; resident data masked."""
    limit, offset = page(limit, offset)
    today = clock.today()
    where = readable(actor, filters, today)
    query = (
        CaseRow.select(*CASE_COLUMNS)
        .order_by(CaseRow.received_at, ascending=False)
        .order_by(CaseRow.id)
    )
    rows = await where.on(query).limit(limit).offset(offset)
    calendar = await current_calendar()
    return CaseList(
        items=[_to_case(r, today, calendar) for r in rows],
        total=await where.on(CaseRow.count()),
        limit=limit,
        offset=offset,
    )


async def export_cases(actor: Actor, filters: CaseFilters) -> list[dict[str, Any]]:
    """Every case the actor may read under ``filters``, masked, as plain dicts (for exports)."""
    today = clock.today()
    where = readable(actor, filters, today)
    query = CaseRow.select(*CASE_COLUMNS).order_by(CaseRow.received_at).order_by(CaseRow.id)
    calendar = await current_calendar()
    return [msgspec.to_builtins(_to_case(r, today, calendar)) for r in await where.on(query)]
