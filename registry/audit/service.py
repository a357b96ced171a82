"""Append-only audit trail: every write adds an entry in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from itertools import chain
from typing import Any

import msgspec

from registry.audit import rules as audit_rules
from registry.core import clock
from registry.core.access import Actor
from registry.core.context import request_id
from registry.tables import AuditEntry

_PLAIN = frozenset((str, int, bool, float, type(None)))


def _jsonable(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


# Columns of an audit row written in bulk (registry.db.bulk.insert_rows).
COLUMNS = (
    "at",
    "actor",
    "role",
    "action",
    "entity",
    "entity_id",
    "county_code",
    "changes",
    "request_id",
    "note",
)


def row(
    actor: Actor,
    action: str,
    entity: str,
    entity_id: Any,
    changes: list[dict[str, Any]],
    county_code: str | None,
    note: str | None,
    at: datetime,
    request: str | None = None,
) -> tuple[Any, ...]:
    """An audit row in :data:`COLUMNS` order, for a bulk insert in the write's transaction
    (``request``: the request id it carries; default the current request's)."""
    return (
        at,
        actor.username,
        actor.role or "",
        action,
        entity,
        str(entity_id),
        county_code,
        changes_json(changes),
        request_id.get() if request is None else request,
        note,
    )


def changes_json(changes: list[dict[str, Any]]) -> str:
    """The ``changes`` column's text for a bulk insert (dates as ISO text, as :func:`record`):
    compact JSON, non-ASCII as is: the text ``json.dumps(changes, ensure_ascii=False,
    separators=(",", ":"))`` gave for text, integers, booleans and dates (a float in
    exponent form is spelled ``1e16``, not ``1e+16``), at a fraction of its cost."""
    # Every value's type checked in one pass in C (as all(type(v) in _PLAIN …) but a third of
    # its cost: this runs for every case a sync batch creates).
    if not _PLAIN.issuperset(map(type, chain.from_iterable(map(dict.values, changes)))):
        changes = _jsonable(changes)  # a caller's own dates (diff's are ISO text already)
    return _CHANGES.encode(changes).decode()


_CHANGES = msgspec.json.Encoder()


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Changed fields as ``[{field, before, after}]`` (only keys present in ``after``)."""
    get, plain = before.get, _PLAIN
    return [
        {
            "field": key,
            "before": old if type(old) in plain else _jsonable(old),
            "after": value if type(value) in plain else _jsonable(value),
        }
        for key, value in after.items()
        if (old := get(key)) != value
    ]


def created(fields: tuple[str, ...], values: Iterable[Any]) -> list[dict[str, Any]]:
    """The changes of an entity written for the first time: :func:`diff` from nothing to
    ``dict(zip(fields, values))`` (its fields without a value left out), without making that
    dict: this runs for every case a sync batch creates."""
    plain = _PLAIN
    return [
        {"field": key, "before": None, "after": value if type(value) in plain else _jsonable(value)}
        for key, value in zip(fields, values, strict=True)
        if value is not None
    ]


async def record(
    actor: Actor,
    action: str,
    entity: str,
    entity_id: str | int,
    changes: list[dict[str, Any]] | None = None,
    county_code: str | None = None,
    note: str | None = None,
) -> None:
    """Append one audit entry (call inside the write's transaction)."""
    await AuditEntry.insert(
        AuditEntry(
            at=clock.now(),
            actor=actor.username,
            role=actor.role or "",
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            county_code=county_code,
            changes=_jsonable(changes or []),
            request_id=request_id.get(),
            note=note,
        )
    )


async def _matching(search: audit_rules.Search) -> Any | None:
    """The entries a search term stands for, as one condition over (entity, entity_id) or the
    county (None: nothing matches). A handful of set-based queries, whatever the term."""
    from registry.core.codes import level_of_code, like_prefix
    from registry.core.text import nfkc
    from registry.tables import Account, Case, Site

    conditions: list[Any] = []

    def entity(kind: str, ids: list[Any]) -> None:
        if ids:
            conditions.append(
                (AuditEntry.entity == kind) & AuditEntry.entity_id.is_in([str(i) for i in ids])
            )

    if search.case_number:
        rows = await Case.select(Case.id).where(Case.case_number == search.case_number)
        entity("case", [r["id"] for r in rows])
    if search.division_code:
        code = search.division_code
        level = level_of_code(code)
        conditions.append((AuditEntry.entity == "division") & (AuditEntry.entity_id == code))
        if level in ("nation", "province", "city", "county"):
            # A county's entries carry its code; an area above it, its counties' codes.
            conditions.append(
                AuditEntry.county_code == code
                if level == "county"
                else AuditEntry.county_code.like(like_prefix(code))
            )
        else:
            column = Site.division if level == "village" else Site.township_code
            sites = [r["id"] for r in await Site.select(Site.id).where(column == code)]
            entity("site", sites)
            if sites:
                cases = await Case.select(Case.id).where(Case.site.is_in(sites))
                entity("case", [r["id"] for r in cases])
    if search.name:
        pattern = "%" + search.name.replace("%", "").replace("_", "") + "%"
        rows = await (
            Site.select(Site.id)
            .where(Site.standard_name.like(pattern) | Site.signage_name.like(pattern))
            .limit(MAX_SITES)
        )
        entity("site", [r["id"] for r in rows])
        # An account by its username (as its holder signs in).
        accounts = await Account.select(Account.id).where(
            Account.username_key == nfkc(search.name).strip().lower()
        )
        entity("account", [r["id"] for r in accounts])
    if not conditions:
        return None
    found = conditions[0]
    for condition in conditions[1:]:
        found = found | condition
    return found


MAX_SITES = 2000
"""Sites a name search resolves to at most (a term like "代办点" matches them all)."""


async def list_entries(
    actor: Actor,
    entity: str | None,
    entity_id: str | None,
    by: str | None,
    action: str | None,
    county: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int | None,
    offset: int | None,
    q: str | None = None,
) -> dict[str, Any]:
    """Audit entries, newest first: municipal sees all, a planner their county's. ``q`` finds
    an object by what a clerk knows of it: a case number, a division code, a site's name."""
    from registry.core.access import require_role
    from registry.core.errors import Forbidden
    from registry.core.params import code_or_none, page

    require_role(actor, "municipal", "county_planner")
    limit, offset = page(limit, offset)
    county = code_or_none(county, "county")
    audit_rules.check_range(since, until)
    search = audit_rules.read_query(q)
    if actor.is_planner:
        if county and county != actor.scope:
            raise Forbidden(
                "out_of_scope",
                "规划员只能查看本县的审计记录",
                "a planner can only read their own county's audit entries",
            )
        county = actor.scope
    clauses = []
    if search is not None:
        found = await _matching(search)
        if found is None:
            return {"items": [], "total": 0, "limit": limit, "offset": offset}
        clauses.append(found)
    if entity:
        clauses.append(AuditEntry.entity == entity)
    if entity_id:
        clauses.append(AuditEntry.entity_id == entity_id)
    if by:
        clauses.append(AuditEntry.actor == by)
    if action:
        clauses.append(AuditEntry.action == action)
    if county:
        clauses.append(AuditEntry.county_code == county)
    if since:
        clauses.append(AuditEntry.at >= since)
    if until:
        clauses.append(AuditEntry.at < until)
    query = AuditEntry.select().order_by(AuditEntry.id, ascending=False).output(load_json=True)
    count = AuditEntry.count()
    for clause in clauses:
        query = query.where(clause)
        count = count.where(clause)
    rows = await query.limit(limit).offset(offset)
    return {"items": rows, "total": await count, "limit": limit, "offset": offset}
