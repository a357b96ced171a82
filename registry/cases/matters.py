"""The proxy-service matter catalogue (代办事项): public list, municipal edits, seed loading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
from msgspec import UNSET

from registry.audit import service as audit
from registry.cases.rules.timeline import check_matter_code, check_time_limit
from registry.cases.schemas import Matter, MatterCreate, MatterList, MatterUpdate
from registry.core.access import Actor, require_role
from registry.core.errors import Conflict, NotFound, RuleViolation
from registry.core.text import clean_text
from registry.db.engines import integrity_kind
from registry.db.transactions import write_transaction
from registry.tables import Matter as MatterRow

MAX_MATERIALS = 30


def _to_matter(row: dict[str, Any]) -> Matter:
    row = dict(row)
    if isinstance(row.get("materials"), str):
        row["materials"] = json.loads(row["materials"])
    return msgspec.convert(row, Matter)


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


async def list_matters(include_inactive: bool = False, category: str | None = None) -> MatterList:
    """The catalogue ordered by code (active matters unless ``include_inactive``)."""
    query = MatterRow.select().order_by(MatterRow.code).output(load_json=True)
    if not include_inactive:
        query = query.where(MatterRow.active == True)  # noqa: E712 - Piccolo expression
    if category:
        query = query.where(MatterRow.category == category)
    items = [_to_matter(r) for r in await query]
    return MatterList(items=items, total=len(items))


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
    }
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
    async with write_transaction():
        before = await _row(code)
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
    rows = await MatterRow.select(
        MatterRow.code, MatterRow.name, MatterRow.time_limit_days, MatterRow.active
    ).where(MatterRow.code.is_in(sorted(codes)))
    return {r["code"]: r for r in rows}


def read_catalogue(path: Path) -> list[dict[str, Any]]:
    """The matters of a catalogue file, checked like API input."""
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for item in data["matters"]:
        rows.append(
            {
                "code": check_matter_code(item["code"]),
                "name": _text(item["name"], "name", 100),
                "category": _text(item["category"], "category", 50),
                "department": _text(item["department"], "department", 100),
                "time_limit_days": check_time_limit(int(item["time_limit_days"])),
                "materials": _materials(item.get("materials", [])),
                "active": bool(item.get("active", True)),
            }
        )
    return rows


async def load_catalogue(path: Path) -> int:
    """Insert the catalogue's matters that are missing (call inside a write transaction)."""
    have = {r["code"] for r in await MatterRow.select(MatterRow.code)}
    new = [MatterRow(**row) for row in read_catalogue(path) if row["code"] not in have]
    if new:
        await MatterRow.insert(*new)
    return len(new)
