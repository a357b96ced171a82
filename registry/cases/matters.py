"""The proxy-service matter catalogue (代办事项): public list, municipal edits, seed loading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
from msgspec import UNSET

from registry.audit import service as audit
from registry.cases.rules.guides import (
    check_aliases,
    check_materials,
    fees_text,
    match_rank,
    matter_matches,
)
from registry.cases.rules.timeline import check_matter_code, check_time_limit
from registry.cases.schemas import Matter, MatterCreate, MatterList, MatterUpdate
from registry.core.access import Actor, require_role
from registry.core.errors import Conflict, NotFound, RuleViolation
from registry.core.text import clean_text
from registry.db.engines import integrity_kind
from registry.db.sql import marks
from registry.db.transactions import write_transaction
from registry.tables import Matter as MatterRow

MAX_MATERIALS = 30


def _to_matter(row: dict[str, Any]) -> Matter:
    row = dict(row)
    for field in ("materials", "aliases"):
        if isinstance(row.get(field), str):
            row[field] = json.loads(row[field])
    return msgspec.convert(row, Matter)


# Guide texts a PATCH may change and their longest lengths (free text keeps its punctuation).
GUIDE_TEXTS = {"legal_basis": 1000, "decided_by": 200, "notes": 2000}


def _guide_text(value: str, field: str) -> str:
    return clean_text(value, field, max_length=GUIDE_TEXTS[field], multiline=True) or ""


def _fees(value: str) -> str:
    return fees_text(clean_text(value, "fees", max_length=200))


def _materials(items: list[str]) -> list[str]:
    if len(items) > MAX_MATERIALS:
        raise RuleViolation(
            "too_many_materials",
            f"申请材料最多 {MAX_MATERIALS} 项",
            f"at most {MAX_MATERIALS} materials",
            "materials",
        )
    cleaned = [clean_text(item, "materials", max_length=100) for item in items]
    return [item for item in cleaned if item]


def _text(value: str, field: str, max_length: int) -> str:
    cleaned = clean_text(value, field, max_length=max_length, required=True)
    assert cleaned is not None
    return cleaned


async def list_matters(
    include_inactive: bool = False, category: str | None = None, q: str | None = None
) -> MatterList:
    """The catalogue ordered by code (active matters unless ``include_inactive``); with ``q``,
    the matters whose code, name, category, department or aliases match it, best first (an
    alias or code equal to ``q``, then names containing it)."""
    query = MatterRow.select().order_by(MatterRow.code).output(load_json=True)
    if not include_inactive:
        query = query.where(MatterRow.active == True)  # noqa: E712 - Piccolo expression
    if category:
        query = query.where(MatterRow.category == category)
    rows = await query
    words = clean_text(q, "q", max_length=50)
    if words:
        rows = [r for r in rows if matter_matches(r, words)]
        rows.sort(key=lambda r: (match_rank(r, words), r["code"]))
    items = [_to_matter(r) for r in rows]
    return MatterList(items=items, total=len(items))


async def guides_for(excluded: list[str] | None = None) -> list[Matter]:
    """The active matters (with their guides) a site handles: the whole catalogue but for the
    site's ``excluded_matters`` (see :func:`registry.sites.facts.public_facts`)."""
    skip = {code.upper() for code in excluded or ()}
    listed = await list_matters()
    return [m for m in listed.items if m.code not in skip]


async def known_codes() -> set[str]:
    """Every code of the catalogue (active or not)."""
    return {r["code"] for r in await MatterRow.select(MatterRow.code)}


async def _row(code: str) -> dict[str, Any]:
    row = (
        await MatterRow.select()
        .where(MatterRow.code == code.strip().upper())
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("matter_not_found", f"事项 {code} 不存在", f"matter {code!r} not found")
    return row


async def get_matter(code: str) -> Matter:
    return _to_matter(await _row(code))


async def create_matter(actor: Actor, data: MatterCreate) -> Matter:
    """Add a matter (municipal centre)."""
    require_role(actor, "municipal")
    row = {
        "code": check_matter_code(data.code),
        "name": _text(data.name, "name", 100),
        "category": _text(data.category, "category", 50),
        "department": _text(data.department, "department", 100),
        "time_limit_days": check_time_limit(data.time_limit_days),
        "materials": _materials(data.materials),
        "active": data.active,
        "legal_basis": _guide_text(data.legal_basis, "legal_basis"),
        "fees": _fees(data.fees),
        "decided_by": _guide_text(data.decided_by, "decided_by"),
        "notes": _guide_text(data.notes, "notes"),
        "aliases": check_aliases(data.aliases),
        "materials_required": data.materials_required,
        "guide_is_example": data.guide_is_example,
    }
    check_materials(row["materials"], row["materials_required"])
    exists = Conflict(
        "matter_exists",
        f"事项编码 {row['code']} 已存在",
        f"matter code {row['code']} already exists",
    )
    try:
        async with write_transaction():
            if await MatterRow.exists().where(MatterRow.code == row["code"]):
                raise exists
            await MatterRow.insert(MatterRow(**row))
            await audit.record(actor, "create", "matter", row["code"], audit.diff({}, row))
    except Exception as exc:
        # Created by a concurrent request between the check and the insert: the same answer.
        if integrity_kind(exc) != "unique":
            raise
        raise exists from None
    return await get_matter(row["code"])


async def update_matter(actor: Actor, code: str, data: MatterUpdate) -> Matter:
    """Edit a matter (municipal centre); every changed field is audited."""
    require_role(actor, "municipal")
    changes: dict[str, Any] = {}
    for field, limit in (("name", 100), ("category", 50), ("department", 100)):
        value = getattr(data, field)
        if value is not UNSET:
            changes[field] = _text(value, field, limit)
    if data.time_limit_days is not UNSET:
        changes["time_limit_days"] = check_time_limit(data.time_limit_days)
    if data.materials is not UNSET:
        changes["materials"] = _materials(data.materials)
    if data.active is not UNSET:
        changes["active"] = data.active
    for field in GUIDE_TEXTS:
        value = getattr(data, field)
        if value is not UNSET:
            changes[field] = _guide_text(value, field)
    if data.fees is not UNSET:
        changes["fees"] = _fees(data.fees)
    if data.aliases is not UNSET:
        changes["aliases"] = check_aliases(data.aliases)
    for field in ("materials_required", "guide_is_example"):
        value = getattr(data, field)
        if value is not UNSET:
            changes[field] = value
    async with write_transaction():
        before = await _row(code)
        if "materials" in changes or "materials_required" in changes:
            # Checked against the guide as it will be (the other half may be unchanged).
            check_materials(
                changes.get("materials", before["materials"]),
                changes.get("materials_required", before["materials_required"]),
            )
        diff = audit.diff(before, changes)
        if diff:
            await MatterRow.update({getattr(MatterRow, k): v for k, v in changes.items()}).where(
                MatterRow.code == before["code"]
            )
            await audit.record(actor, "update", "matter", before["code"], diff)
    return await get_matter(before["code"])


async def matters_by_code(codes: set[str]) -> dict[str, dict[str, Any]]:
    """Catalogue rows of the given codes (one query)."""
    if not codes:
        return {}
    ordered = sorted(codes)
    # SQL text: Piccolo's select builder cost more than the read (every write asks).
    rows = await MatterRow.raw(
        f"SELECT code, name, time_limit_days, active FROM matter WHERE code IN ({marks(ordered)})",
        *ordered,
    )
    return {r["code"]: r for r in rows}


GUIDE_FIELDS = (
    "legal_basis",
    "fees",
    "decided_by",
    "notes",
    "aliases",
    "materials_required",
    "guide_is_example",
)


def read_catalogue(path: Path) -> list[dict[str, Any]]:
    """The matters of a catalogue file with their guides, checked like API input (a file's
    ``"example": true`` marks its guide as an example, 示例)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for item in data["matters"]:
        row = {
            "code": check_matter_code(item["code"]),
            "name": _text(item["name"], "name", 100),
            "category": _text(item["category"], "category", 50),
            "department": _text(item["department"], "department", 100),
            "time_limit_days": check_time_limit(int(item["time_limit_days"])),
            "materials": _materials(item.get("materials", [])),
            "active": bool(item.get("active", True)),
            "legal_basis": _guide_text(item.get("legal_basis", ""), "legal_basis"),
            "fees": _fees(item.get("fees", "")),
            "decided_by": _guide_text(item.get("decided_by", ""), "decided_by"),
            "notes": _guide_text(item.get("notes", ""), "notes"),
            "aliases": check_aliases(item.get("aliases", [])),
            "materials_required": bool(item.get("materials_required", True)),
            "guide_is_example": bool(item.get("example", False)),
        }
        check_materials(row["materials"], row["materials_required"])
        rows.append(row)
    return rows


async def load_catalogue(path: Path) -> int:
    """Insert the catalogue's matters that are missing, and write the file's guide into
    matters whose guide was never written (a database migrated from before guides existed:
    no legal basis, no body, no aliases); a guide the centre wrote is never overwritten. Call
    inside a write transaction. Returns the number of matters inserted."""
    have = {
        r["code"]: r
        for r in await MatterRow.select(
            MatterRow.code, MatterRow.legal_basis, MatterRow.decided_by, MatterRow.aliases
        ).output(load_json=True)
    }
    rows = read_catalogue(path)
    new = [MatterRow(**row) for row in rows if row["code"] not in have]
    if new:
        await MatterRow.insert(*new)
    for row in rows:
        old = have.get(row["code"])
        if old and not (old["legal_basis"] or old["decided_by"] or old["aliases"]):
            values = {getattr(MatterRow, k): row[k] for k in GUIDE_FIELDS}
            await MatterRow.update(values).where(MatterRow.code == row["code"])
    return len(new)
