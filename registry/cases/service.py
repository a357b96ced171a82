"""Cases (代办): single create and edit, offline batch sync, scoped lists, statistics, activity.

Every write goes through :func:`_apply`, which works on groups of records (a sync batch; the
single-case POSTs that arrive together, grouped by :class:`_CreateQueue`; one PATCH): records
are checked on their own, pure rules first, then against the database (the matter, the point's
status on the received date, the server's copy); the valid ones are written together in ONE
write transaction — a crash leaves all of them or none — by set-based statements, with one
audit entry per case. Reads of existing rows, serial numbers and writes happen after the
points' rows are locked, so two writes of one point never interleave.

Resident data never leaves this module in clear: only masks and keyed hashes are stored, and
no error message, audit entry or log line repeats a submitted value.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import uuid
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import msgspec
from msgspec import UNSET

from registry.audit import service as audit
from registry.cases import rules
from registry.cases.matters import matters_by_code
from registry.cases.resident import Resident, protect, resident_problems
from registry.cases.resident_id import InvalidResidentId
from registry.cases.rules import Timeline, to_utc
from registry.cases.schemas import (
    Case,
    CaseCreate,
    CaseFigures,
    CaseList,
    CaseStats,
    CaseUpdate,
    RecordError,
    SyncResponse,
    SyncResult,
    SyncSummary,
    UnitFigures,
)
from registry.core import clock, runtime
from registry.core.access import Actor, can_read_county, require_role
from registry.core.codes import normalise_code
from registry.core.context import request_id
from registry.core.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from registry.core.params import code_or_none, one_of, page
from registry.core.settings import get_settings
from registry.core.text import clean_text
from registry.db import bulk
from registry.db.binding import current
from registry.db.engines import is_sqlite
from registry.db.transactions import write_transaction
from registry.sites.rules.status import DatedStatus, status_on
from registry.tables import AuditEntry, Division, Site, StatusEvent
from registry.tables import Case as CaseRow

log = logging.getLogger("registry.cases")

MAX_BATCH = 1000
# Single-case POSTs written together by one transaction at most (see _CreateQueue).
MAX_GROUP = 256
MAX_ID = 2**31 - 1
ACTIVE_WINDOW_DAYS = 90

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
# Columns of a new case row, in insert order.
INSERTED = (
    "id",
    "site",
    "matter",
    "case_number",
    "version",
    "is_demo",
    "created_by",
    "created_at",
    "updated_at",
    "county_code",
    "township_code",
    "resident_name_masked",
    "resident_id_hash",
    "resident_id_masked",
    "resident_phone_masked",
    "resident_data_hash",
    "received_at",
    "received_on",
    "state",
    "forwarded_at",
    "completed_at",
    "returned_at",
    "delivered_at",
    "returned_reason",
    "rating",
    "note",
    "due_on",
    "forward_late",
    "completion_workdays",
    "completed_on_time",
    "content_hash",
)
# Fields an audit entry records (resident data only masked).
AUDITED = (
    "case_number",
    "site_id",
    "matter_code",
    "resident_name_masked",
    "resident_id_masked",
    "resident_phone_masked",
    "state",
    "received_at",
    "forwarded_at",
    "completed_at",
    "returned_at",
    "delivered_at",
    "returned_reason",
    "rating",
    "note",
    "due_on",
    "forward_late",
)
_AT_PATH = re.compile(r"at `\$\.?([A-Za-z_][A-Za-z0-9_]*)")


# ------------------------------------------------------------------------------ candidates


@dataclass
class Candidate:
    """One record, normalised: everything the checks and the write need, no clear PII."""

    index: int
    raw_id: str | None
    id: uuid.UUID | None = None
    site_id: int = 0
    matter_code: str = ""
    resident: Resident | None = None
    timeline: Timeline | None = None
    note: str | None = None
    version: int | None = None
    fingerprint: str = ""
    errors: list[RuleViolation] = field(default_factory=list)
    # Set by the database phase.
    result: str = ""
    row: dict[str, Any] | None = None

    def reset(self) -> None:
        """Forget the database phase's outcome (before the record is applied again)."""
        self.errors.clear()
        self.result = ""
        self.row = None

    def fail(self, *violations: RuleViolation) -> None:
        self.errors.extend(violations)

    def fail_code(self, code: str, zh: str, en: str, field: str | None = None) -> None:
        self.errors.append(RuleViolation(code, zh, en, field))


def _content(c: Candidate) -> dict[str, Any]:
    assert c.timeline is not None and c.resident is not None
    t = c.timeline
    return {
        "id": c.id,
        "site_id": c.site_id,
        "matter_code": c.matter_code,
        "resident": c.resident.data_hash,
        "state": t.state,
        "received_at": t.received_at,
        "forwarded_at": t.forwarded_at,
        "completed_at": t.completed_at,
        "returned_at": t.returned_at,
        "delivered_at": t.delivered_at,
        "returned_reason": t.returned_reason,
        "rating": t.rating,
        "note": c.note,
    }


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else to_utc(value)


def _clean_optional(value: str | None, field: str, limit: int, c: Candidate) -> str | None:
    try:
        return clean_text(value, field, max_length=limit, multiline=True)
    except RuleViolation as exc:
        c.fail(exc)
        return None


def _finish(
    c: Candidate,
    resident_values: tuple[str | None, str | None, str | None] | None,
    existing_resident: Resident | None,
    fee: float | None,
    now: datetime,
) -> None:
    """Pure checks shared by sync records, POST and PATCH; sets resident, timeline, fingerprint."""
    secret = get_settings().secret_key
    today = clock.china_date(now)
    if resident_values is not None:
        name, number, phone = resident_values
        problems = resident_problems(name, number, phone, today)
        if problems:
            c.fail(*problems)
        else:
            c.resident = protect(secret, name, number, phone, today)
    else:
        c.resident = existing_resident
    reason = _clean_optional(
        c.timeline.returned_reason if c.timeline else None, "returned_reason", rules.REASON_MAX, c
    )
    if c.timeline is not None:
        c.timeline = msgspec.structs.replace(c.timeline, returned_reason=reason)
        c.fail(*rules.timeline_problems(c.timeline, now))
    c.fail(*rules.fee_problems(fee))
    personal = tuple(v for v in (resident_values or ()) if v)
    c.fail(*rules.free_text_problems("note", c.note, personal))
    c.fail(*rules.free_text_problems("returned_reason", reason, personal))
    if not c.errors and c.resident is not None:
        c.fingerprint = rules.fingerprint(secret, _content(c))


def candidate_from_record(index: int, raw: Any, now: datetime) -> Candidate:
    """Parse and check one sync record (nothing here touches the database)."""
    raw_id = raw.get("id") if isinstance(raw, dict) else None
    c = Candidate(index=index, raw_id=str(raw_id)[:64] if raw_id is not None else None)
    if not isinstance(raw, dict):
        c.fail_code("invalid_record", "记录应为 JSON 对象", "a record must be a JSON object")
        return c
    try:
        record = msgspec.convert(raw, CaseCreate)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = _AT_PATH.search(message)
        field_name = match.group(1) if match else None
        if "unknown field" in message.lower():
            code = "unknown_field"
            found = re.search(r"`([^`]+)`", message)
            field_name = found.group(1) if found else field_name
        elif "missing required field" in message.lower():
            code = "missing_field"
            found = re.search(r"`([^`]+)`", message)
            field_name = found.group(1) if found else field_name
        else:
            code = "invalid_value"
        c.fail_code(
            code, "记录字段无效：" + message, "invalid record field: " + message, field_name
        )
        return c
    return candidate_from_create(index, record, now)


def candidate_from_create(index: int, record: CaseCreate, now: datetime) -> Candidate:
    c = Candidate(index=index, raw_id=str(record.id), id=record.id)
    c.site_id = record.site_id
    c.matter_code = record.matter_code.strip().upper()
    c.version = record.version
    c.note = _clean_optional(record.note, "note", rules.NOTE_MAX, c)
    try:
        c.timeline = Timeline(
            state=record.state,
            received_at=to_utc(record.received_at),
            forwarded_at=_utc(record.forwarded_at),
            completed_at=_utc(record.completed_at),
            returned_at=_utc(record.returned_at),
            delivered_at=_utc(record.delivered_at),
            returned_reason=record.returned_reason,
            rating=record.rating,
        )
    except OverflowError:
        c.fail_code(
            "invalid_timestamp",
            "时间超出可表示范围",
            "a timestamp is out of the representable range",
            "received_at",
        )
        return c
    _finish(
        c,
        (record.resident_name, record.resident_id_number, record.resident_phone),
        None,
        record.fee_yuan,
        now,
    )
    return c


def _resident_of(row: dict[str, Any]) -> Resident:
    return Resident(
        name_masked=row["resident_name_masked"],
        id_masked=row["resident_id_masked"],
        phone_masked=row["resident_phone_masked"],
        id_hash=row["resident_id_hash"],
        data_hash=row["resident_data_hash"],
    )


def _timeline_of(row: dict[str, Any]) -> Timeline:
    return Timeline(
        state=row["state"],
        received_at=to_utc(row["received_at"]),
        forwarded_at=_utc(row["forwarded_at"]),
        completed_at=_utc(row["completed_at"]),
        returned_at=_utc(row["returned_at"]),
        delivered_at=_utc(row["delivered_at"]),
        returned_reason=row["returned_reason"],
        rating=row["rating"],
    )


def candidate_from_update(row: dict[str, Any], data: CaseUpdate, now: datetime) -> Candidate:
    """The full record a PATCH makes of the stored case (resident data kept unless given)."""
    c = Candidate(index=0, raw_id=str(row["id"]), id=row["id"])
    c.site_id = row["site"]
    c.matter_code = row["matter"]
    c.version = data.version
    before = _timeline_of(row)
    values: dict[str, Any] = {}
    for name in ("state", "returned_reason", "rating"):
        value = getattr(data, name)
        if value is not UNSET:
            values[name] = value
    for name in ("forwarded_at", "completed_at", "returned_at", "delivered_at"):
        value = getattr(data, name)
        if value is not UNSET:
            try:
                values[name] = _utc(value)
            except OverflowError:
                c.fail_code(
                    "invalid_timestamp",
                    "时间超出可表示范围",
                    "a timestamp is out of the representable range",
                    name,
                )
                return c
    c.timeline = msgspec.structs.replace(before, **values)
    c.note = (
        row["note"] if data.note is UNSET else _clean_optional(data.note, "note", rules.NOTE_MAX, c)
    )
    resident_given = any(
        v is not UNSET for v in (data.resident_name, data.resident_id_number, data.resident_phone)
    )
    resident_values = None
    if resident_given:
        if data.resident_name is UNSET or data.resident_id_number is UNSET:
            c.fail_code(
                "resident_fields_together",
                "更正居民信息须同时提供姓名和身份证号码（电话可选）",
                "correcting resident data needs resident_name and resident_id_number "
                "together (resident_phone optional)",
                "resident_name",
            )
        else:
            phone = None if data.resident_phone is UNSET else data.resident_phone
            resident_values = (data.resident_name, data.resident_id_number, phone)
    fee = None if data.fee_yuan is UNSET else data.fee_yuan
    _finish(c, resident_values, _resident_of(row), fee, now)
    return c


# ------------------------------------------------------------------------------ applying


def _case_values(c: Candidate, site: dict[str, Any], limit_days: int) -> dict[str, Any]:
    """Column values of a case from a checked candidate."""
    assert c.timeline is not None and c.resident is not None
    t = c.timeline
    derived = rules.derive(t, limit_days)
    return {
        "county_code": site["county_code"],
        "township_code": site["township_code"],
        "resident_name_masked": c.resident.name_masked,
        "resident_id_hash": c.resident.id_hash,
        "resident_id_masked": c.resident.id_masked,
        "resident_phone_masked": c.resident.phone_masked,
        "resident_data_hash": c.resident.data_hash,
        "received_at": t.received_at,
        "received_on": derived.received_on,
        "state": t.state,
        "forwarded_at": t.forwarded_at,
        "completed_at": t.completed_at,
        "returned_at": t.returned_at,
        "delivered_at": t.delivered_at,
        "returned_reason": t.returned_reason,
        "rating": t.rating,
        "note": c.note,
        "due_on": derived.due_on,
        "forward_late": derived.forward_late,
        "completion_workdays": derived.completion_workdays,
        "completed_on_time": derived.completed_on_time,
        "content_hash": c.fingerprint,
    }


def _audit_view(values: dict[str, Any], site_id: int, matter_code: str) -> dict[str, Any]:
    view = {"site_id": site_id, "matter_code": matter_code, **values}
    return {k: view.get(k) for k in AUDITED if k in view}


def _audit_entry(
    group: Group,
    action: str,
    case_id: uuid.UUID,
    changes: list[dict[str, Any]],
    county: str,
    now: datetime,
) -> tuple[Any, ...]:
    """The audit row of one case write of ``group`` (its agent, request id and channel)."""
    return audit.row(
        group.actor, action, "case", case_id, changes, county, group.via, now, group.request or ""
    )


async def _lock_sites(site_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Inside the write transaction: lock the points' rows so their case writers queue.

    PostgreSQL: ``FOR UPDATE`` in id order (two groups of points never lock in opposite orders,
    so they cannot deadlock). SQLite: the IMMEDIATE write transaction already excludes every
    other writer. Returns the points that exist, by id.
    """
    if not site_ids:
        return {}
    ordered = sorted(set(site_ids))
    marks = ", ".join("{}" for _ in ordered)
    if not is_sqlite(current()):
        await Site.raw(
            f"SELECT id FROM site WHERE id IN ({marks}) ORDER BY id FOR UPDATE", *ordered
        )
    rows = await Site.select(
        Site.id,
        Site.division.as_alias("division_code"),
        Site.county_code,
        Site.township_code,
        Site.kind,
    ).where(Site.id.is_in(ordered))
    return {r["id"]: r for r in rows}


async def _site_events(site_ids: list[int]) -> dict[int, list[DatedStatus]]:
    events: dict[int, list[DatedStatus]] = {site_id: [] for site_id in site_ids}
    if not site_ids:
        return events
    rows = await StatusEvent.select(
        StatusEvent.site, StatusEvent.status, StatusEvent.effective_date, StatusEvent.id
    ).where(StatusEvent.site.is_in(sorted(set(site_ids))))
    for r in rows:
        events[r["site"]].append(DatedStatus(r["status"], r["effective_date"], r["id"]))
    return events


async def _next_serials(wanted: set[tuple[int, date]]) -> dict[tuple[int, date], int]:
    """The last serial used per (point, received date) (0 when none)."""
    last = dict.fromkeys(wanted, 0)
    if not wanted:
        return last
    # One row per point and day, found through the (site, received_on) index: a point's numbers
    # of one day share their prefix, so the longest, then greatest, number has the highest
    # serial. (Fetching every number of the day made each new case cost as much as the day's
    # cases.) The IN lists may pair a point with another's day: those rows are ignored.
    sites = sorted({site for site, _ in wanted})
    days = sorted({day for _, day in wanted})
    rows = await CaseRow.raw(
        "SELECT site, received_on, case_number FROM ("
        " SELECT site, received_on, case_number, ROW_NUMBER() OVER ("
        "  PARTITION BY site, received_on"
        "  ORDER BY LENGTH(case_number) DESC, case_number DESC"
        " ) AS rn FROM service_case"
        f" WHERE site IN ({', '.join('{}' for _ in sites)})"
        f" AND received_on IN ({', '.join('{}' for _ in days)})"
        ") latest WHERE rn = 1",
        *sites,
        *days,
    )
    for row in rows:
        day = row["received_on"]
        if isinstance(day, str):  # SQLite keeps dates as ISO text
            day = date.fromisoformat(day[:10])
        key = (row["site"], day)
        if key in last:
            last[key] = max(last[key], rules.serial_of(row["case_number"]))
    return last


@dataclass
class Group:
    """One actor's records of one point, applied together (a sync batch, or one POST)."""

    actor: Actor
    site_id: int
    candidates: list[Candidate]
    via: str | None = None
    request: str | None = None  # the request id its audit entries carry


async def _apply(groups: list[Group], *, allow_update: bool) -> None:
    """Check candidates against the database and write the valid ones in ONE transaction.

    ``groups`` may hold several points' records (the single-case POSTs of many agents, grouped
    by :class:`_CreateQueue`): every statement is set-based over all of them. Sets ``result``
    on every candidate: created, updated, unchanged, conflict or invalid.
    """
    now = clock.now()
    async with write_transaction():
        sites = await _lock_sites([g.site_id for g in groups])
        pending: list[tuple[Group, Candidate]] = []
        for g in groups:
            for c in g.candidates:
                if c.errors:
                    continue
                if g.site_id not in sites:
                    c.fail_code(
                        "site_not_found",
                        f"代办点 {g.site_id} 不存在",
                        f"agency point {g.site_id} does not exist",
                        "site_id",
                    )
                    continue
                pending.append((g, c))
        ids = [c.id for _, c in pending if c.id is not None]
        existing: dict[uuid.UUID, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            rows = await CaseRow.select().where(CaseRow.id.is_in(ids[start : start + 500]))
            existing.update((r["id"], r) for r in rows)
        matters = await matters_by_code(
            {c.matter_code for _, c in pending}
            | {existing[c.id]["matter"] for _, c in pending if c.id in existing}
        )
        events = await _site_events(sorted({g.site_id for g, _ in pending}))
        creates: list[tuple[Group, Candidate, dict[str, Any]]] = []
        updates: list[tuple[Group, Candidate, dict[str, Any], dict[str, Any]]] = []
        for g, c in pending:
            assert c.timeline is not None and c.id is not None
            site = sites[g.site_id]
            row = existing.get(c.id)
            if row is not None:
                if row["site"] != g.site_id:
                    c.fail_code(
                        "out_of_scope",
                        "该事项属于其他代办点",
                        "this case belongs to another agency point",
                        "id",
                    )
                    continue
                c.row = row
                if row["content_hash"] == c.fingerprint:
                    c.result = "unchanged"
                    continue
                if not allow_update:
                    c.result = "conflict"
                    c.fail_code(
                        "case_exists",
                        "该编号的事项已存在且内容不同：请用 PATCH 并带上版本号修改",
                        "a case with this id exists with other content: PATCH it with its version",
                        "id",
                    )
                    continue
                if c.version is None or c.version != row["version"]:
                    c.result = "conflict"
                    code = (
                        "version_required"
                        if c.version is None
                        else "stale_version"
                        if c.version < row["version"]
                        else "version_mismatch"
                    )
                    c.fail_code(
                        code,
                        f"服务器上的版本为 {row['version']}，本记录基于版本 {c.version}："
                        "请以服务器副本为准后重试",
                        f"the server has version {row['version']}, the record is based on "
                        f"{c.version}: reconcile with the server copy and retry",
                        "version",
                    )
                    continue
                before = {
                    "site_id": row["site"],
                    "matter_code": row["matter"],
                    "received_at": to_utc(row["received_at"]),
                }
                after = {
                    "site_id": c.site_id,
                    "matter_code": c.matter_code,
                    "received_at": c.timeline.received_at,
                }
                c.fail(*rules.immutable_problems(before, after))
                c.fail(*rules.transition_problems(_timeline_of(row), c.timeline))
                if c.errors:
                    continue
                matter = matters.get(row["matter"])
                limit = matter["time_limit_days"] if matter else 0
                # The due date stays the one fixed at receipt, whatever the catalogue says now.
                values = _case_values(c, site, limit)
                values["due_on"] = row["due_on"]
                if c.timeline.completed_at is not None:
                    completed_on = clock.china_date(c.timeline.completed_at)
                    values["completed_on_time"] = completed_on <= row["due_on"]
                updates.append((g, c, row, values))
                continue
            matter = matters.get(c.matter_code)
            if matter is None:
                c.fail_code(
                    "unknown_matter",
                    "事项不在代办事项目录中",
                    "the matter is not in the catalogue",
                    "matter_code",
                )
                continue
            if not matter["active"]:
                c.fail_code(
                    "matter_inactive",
                    "该事项已停用，不能受理新事项",
                    "the matter is no longer offered; new cases cannot use it",
                    "matter_code",
                )
                continue
            received_on = clock.china_date(c.timeline.received_at)
            c.fail(*rules.in_service_problems(status_on(events[g.site_id], received_on)))
            if c.errors:
                continue
            creates.append((g, c, _case_values(c, site, matter["time_limit_days"])))

        serials = await _next_serials({(g.site_id, v["received_on"]) for g, _, v in creates})
        entries: list[tuple[Any, ...]] = []
        new_rows: list[tuple[Any, ...]] = []
        for g, c, values in creates:
            key = (g.site_id, values["received_on"])
            serials[key] += 1
            number = rules.case_number(sites[g.site_id]["division_code"], key[1], serials[key])
            row_values = {
                "id": c.id,
                "site": g.site_id,
                "matter": c.matter_code,
                "case_number": number,
                "version": 1,
                "is_demo": False,
                "created_by": g.actor.username,
                "created_at": now,
                "updated_at": now,
                **values,
            }
            new_rows.append(tuple(row_values[k] for k in INSERTED))
            c.result = "created"
            view = _audit_view({**values, "case_number": number}, g.site_id, c.matter_code)
            entries.append(
                _audit_entry(
                    g,
                    "create",
                    c.id,
                    audit.diff({}, view),
                    sites[g.site_id]["county_code"],
                    now,
                )
            )
        # One statement for all the new cases (executemany on SQLite, COPY on PostgreSQL).
        await bulk.insert_rows(CaseRow, INSERTED, new_rows)
        for g, c, row, values in updates:
            changed = {k: v for k, v in values.items() if row.get(k) != v}
            columns = {getattr(CaseRow, k): v for k, v in changed.items()}
            columns[CaseRow.version] = row["version"] + 1
            columns[CaseRow.updated_at] = now
            await CaseRow.update(columns).where(CaseRow.id == c.id)
            c.result = "updated"
            before_view = _audit_view(row, row["site"], row["matter"])
            after_view = _audit_view({**row, **values}, row["site"], row["matter"])
            entries.append(
                _audit_entry(
                    g, "update", c.id, audit.diff(before_view, after_view), row["county_code"], now
                )
            )
        await _write_audit(entries)
    for g in groups:
        for c in g.candidates:
            if c.errors and c.result != "conflict":
                c.result = "invalid"


async def _write_audit(entries: list[tuple[Any, ...]]) -> None:
    """Append the batch's audit entries (same transaction as the cases), one statement."""
    await bulk.insert_rows(AuditEntry, audit.COLUMNS, entries)


# ------------------------------------------------------------------------------ reading


def _to_case(row: dict[str, Any], today: date) -> Case:
    row = dict(row)
    row["overdue"] = rules.is_overdue(row["state"], row["due_on"], today)
    return msgspec.convert(row, Case, from_attributes=False)


async def _cases_by_id(ids: list[uuid.UUID]) -> dict[uuid.UUID, Case]:
    if not ids:
        return {}
    today = clock.today()
    found: dict[uuid.UUID, Case] = {}
    for start in range(0, len(ids), 500):
        rows = await CaseRow.select(*CASE_COLUMNS).where(CaseRow.id.is_in(ids[start : start + 500]))
        for row in rows:
            case = _to_case(row, today)
            found[case.id] = case
    return found


def _read_clause(actor: Actor) -> Any:
    """The cases an actor may read: an agent their point's, a planner their county's, the city
    all of its own."""
    require_role(actor, "municipal", "county_planner", "village_agent")
    if actor.is_agent:
        return CaseRow.site == int(actor.scope)
    if actor.is_planner:
        return CaseRow.county_code == actor.scope
    return CaseRow.county_code.like(actor.scope[:4] + "%")


def _may_read(actor: Actor, case: Case) -> bool:
    if actor.is_agent:
        return str(case.site_id) == actor.scope
    return can_read_county(actor, case.county_code)


async def get_case(actor: Actor, case_id: uuid.UUID) -> Case:
    require_role(actor, "municipal", "county_planner", "village_agent")
    case = (await _cases_by_id([case_id])).get(case_id)
    if case is None:
        raise NotFound("case_not_found", "事项不存在", "case not found")
    if not _may_read(actor, case):
        raise Forbidden("out_of_scope", "无权查看该事项", "you may not read this case")
    return case


@dataclass
class CaseFilters:
    site: int | None = None
    county: str | None = None
    township: str | None = None
    state: str | None = None
    overdue: bool | None = None
    matter: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def parse(
        cls,
        site: int | None = None,
        county: str | None = None,
        township: str | None = None,
        state: str | None = None,
        overdue: bool | None = None,
        matter: str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
    ) -> CaseFilters:
        if site is not None and not 1 <= site <= MAX_ID:
            raise RuleViolation(
                "invalid_filter", "site 取值无效", "site must be a positive site id", "site"
            )
        if date_from and date_to and date_to < date_from:
            raise RuleViolation(
                "invalid_date_range", "结束日期早于开始日期", "`to` is before `from`", "to"
            )
        return cls(
            site=site,
            county=code_or_none(county, "county"),
            township=code_or_none(township, "township"),
            state=one_of(state, rules.STATES, "state"),
            overdue=overdue,
            matter=matter.strip().upper() if matter else None,
            date_from=date_from,
            date_to=date_to,
        )

    def check_scope(self, actor: Actor) -> None:
        """Asking explicitly for another point's or county's cases is refused (403)."""
        if actor.is_agent and self.site is not None and str(self.site) != actor.scope:
            raise Forbidden(
                "out_of_scope",
                "代办员只能查看本代办点的事项",
                "an agent can only read their own point's cases",
            )
        if actor.is_planner and self.county is not None and self.county != actor.scope:
            raise Forbidden(
                "out_of_scope",
                "规划员只能查看本县的事项",
                "a planner can only read their own county's cases",
            )
        if actor.is_planner and self.township is not None and self.township[:6] != actor.scope[:6]:
            raise Forbidden(
                "out_of_scope",
                "规划员只能查看本县的事项",
                "a planner can only read their own county's cases",
            )

    def where(self, today: date) -> list[Any]:
        clauses: list[Any] = []
        if self.site is not None:
            clauses.append(CaseRow.site == self.site)
        if self.county:
            clauses.append(CaseRow.county_code == self.county)
        if self.township:
            clauses.append(CaseRow.township_code == self.township)
        if self.state:
            clauses.append(CaseRow.state == self.state)
        if self.matter:
            clauses.append(CaseRow.matter == self.matter)
        if self.date_from:
            clauses.append(CaseRow.received_on >= self.date_from)
        if self.date_to:
            clauses.append(CaseRow.received_on <= self.date_to)
        if self.overdue is True:
            clauses.append(CaseRow.state.is_in(list(rules.OPEN_STATES)))
            clauses.append(CaseRow.due_on < today)
        elif self.overdue is False:
            clauses.append(
                CaseRow.state.not_in(list(rules.OPEN_STATES)) | (CaseRow.due_on >= today)
            )
        return clauses


async def list_cases(
    actor: Actor, filters: CaseFilters, limit: int | None, offset: int | None
) -> CaseList:
    """Cases the actor may read, newest received first; resident data masked."""
    limit, offset = page(limit, offset)
    scope = _read_clause(actor)
    filters.check_scope(actor)
    today = clock.today()
    clauses = [scope, *filters.where(today)]
    query = (
        CaseRow.select(*CASE_COLUMNS)
        .order_by(CaseRow.received_at, ascending=False)
        .order_by(CaseRow.id)
    )
    count = CaseRow.count()
    for clause in clauses:
        query = query.where(clause)
        count = count.where(clause)
    rows = await query.limit(limit).offset(offset)
    return CaseList(
        items=[_to_case(r, today) for r in rows], total=await count, limit=limit, offset=offset
    )


async def export_cases(actor: Actor, filters: CaseFilters) -> list[dict[str, Any]]:
    """Every case the actor may read under ``filters``, masked, as plain dicts (for exports)."""
    scope = _read_clause(actor)
    filters.check_scope(actor)
    today = clock.today()
    query = CaseRow.select(*CASE_COLUMNS).order_by(CaseRow.received_at).order_by(CaseRow.id)
    for clause in [scope, *filters.where(today)]:
        query = query.where(clause)
    return [msgspec.to_builtins(_to_case(r, today)) for r in await query]


# ------------------------------------------------------------------------------ writing


def _check_agent(actor: Actor, site_id: int) -> None:
    require_role(actor, "village_agent")
    if actor.scope != str(site_id):
        raise Forbidden(
            "out_of_scope",
            "代办员只能操作本代办点的事项",
            f"{actor.username} is the agent of point {actor.scope}, not of point {site_id}",
        )


def record_error(v: RuleViolation) -> RecordError:
    """A record's problem as the sync answer lists it."""
    return RecordError(field=v.field, code=v.code, message=v.message)


def _raise_invalid(c: Candidate) -> None:
    """The HTTP error of a refused single record (every problem listed)."""
    first = c.errors[0]
    if first.code == "site_not_found":
        raise NotFound(first.code, first.zh, first.en)
    if first.code == "out_of_scope":
        raise Forbidden(first.code, first.zh, first.en)
    codes = [e.code for e in c.errors]
    code, zh, en = first.code, first.zh, first.en
    if code.startswith("id_") and all(x.startswith("id_") for x in codes):
        problem = InvalidResidentId(c.errors)
        code, zh, en = problem.code, problem.zh, problem.en
    raise InvalidInput(
        code,
        zh,
        en,
        errors=[{"field": e.field or "body", "message": e.message} for e in c.errors],
        rules=codes,
    )


@dataclass
class _Job:
    group: Group
    done: asyncio.Future[Case | None]


class _CreateQueue:
    """Group commit of single-case POSTs: the POSTs that arrive while a write is running are
    applied together, in one transaction, by set-based statements (see :func:`_apply`).

    One agent's POST waits for at most the write before it and its own group: with nothing
    else running it is written at once. A group holds each case id once (a retried POST whose
    first copy is in the same group goes to the next one and is then ``unchanged``). When a
    group's transaction fails unexpectedly, its records are retried one by one, so one bad
    record never fails another agent's. The drain runs in its own task: a client that hangs up
    does not roll back the others' cases (its own case is written; its retry is idempotent).
    """

    def __init__(self) -> None:
        self.jobs: list[_Job] = []
        self.task: asyncio.Task[None] | None = None

    async def submit(self, group: Group) -> Case | None:
        loop = asyncio.get_running_loop()
        job = _Job(group, loop.create_future())
        self.jobs.append(job)
        if self.task is None:
            # A fresh context: the drain belongs to no request (and to no transaction), only
            # to the deployment.
            context = contextvars.Context()
            context.run(runtime.activate, runtime.current())
            self.task = loop.create_task(self._drain(), context=context)
        return await job.done

    def _take(self) -> list[_Job]:
        taken: list[_Job] = []
        ids: set[uuid.UUID | None] = set()
        rest: list[_Job] = []
        for job in self.jobs:
            case_id = job.group.candidates[0].id
            if case_id in ids or len(taken) >= MAX_GROUP:
                rest.append(job)
            else:
                ids.add(case_id)
                taken.append(job)
        self.jobs = rest
        return taken

    async def _drain(self) -> None:
        current: list[_Job] = []
        try:
            while self.jobs:
                current = self._take()
                await self._run(current)
                current = []
        finally:
            self.task = None
            # Only after an unexpected error or a cancellation (shutdown): no POST is left
            # waiting for a drain that is gone.
            for job in [*current, *self.jobs]:
                if not job.done.done():
                    job.done.set_exception(RuntimeError("the case write queue stopped"))
            self.jobs = []

    async def _run(self, jobs: list[_Job]) -> None:
        try:
            await _apply([job.group for job in jobs], allow_update=False)
        except Exception:
            if len(jobs) == 1:
                _settle(jobs[0], exception=True)
                return
            log.warning("a group of %d case writes failed; retrying them one by one", len(jobs))
            for job in jobs:
                job.group.candidates[0].reset()
                try:
                    await _apply([job.group], allow_update=False)
                except Exception:
                    _settle(job, exception=True)
                else:
                    await self._answer([job])
            return
        await self._answer(jobs)

    async def _answer(self, jobs: list[_Job]) -> None:
        wanted = [
            c.id
            for c in (job.group.candidates[0] for job in jobs)
            if c.id is not None and c.result in ("created", "unchanged", "conflict")
        ]
        try:
            cases = await _cases_by_id(wanted)
        except Exception:
            for job in jobs:
                _settle(job, exception=True)
            return
        for job in jobs:
            c = job.group.candidates[0]
            if not job.done.done():
                job.done.set_result(cases.get(c.id) if c.id is not None else None)


def _settle(job: _Job, *, exception: bool) -> None:
    """Fail a job with the exception being handled (logged once, answered as a 500)."""
    import sys

    if not job.done.done():
        job.done.set_exception(sys.exc_info()[1] or RuntimeError("case write failed"))


def _create_queue() -> _CreateQueue:
    """The runtime's queue of single-case POSTs on the running event loop (the server has one
    loop; tests run several)."""
    queues = runtime.current().slot("cases.create_queues", weakref.WeakKeyDictionary)
    loop = asyncio.get_running_loop()
    queue = queues.get(loop)
    if queue is None:
        queue = queues[loop] = _CreateQueue()
    return queue


async def create_case(actor: Actor, data: CaseCreate) -> tuple[Case, bool]:
    """Create one case; a repeat of the same content returns the case (created False)."""
    _check_agent(actor, data.site_id)
    c = candidate_from_create(0, data, clock.now())
    if c.errors:
        _raise_invalid(c)
    group = Group(actor, data.site_id, [c], request=request_id.get())
    server = await _create_queue().submit(group)
    if c.result == "conflict":
        assert server is not None
        raise Conflict(
            "case_exists",
            "该编号的事项已存在且内容不同：请用 PATCH 并带上版本号修改",
            "a case with this id already exists with other content: PATCH it with its version",
            case=msgspec.to_builtins(server),
        )
    if c.errors:
        _raise_invalid(c)
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
    if not c.errors:
        group = Group(actor, row["site"], [c], request=request_id.get())
        await _apply([group], allow_update=True)
    if c.result == "conflict":
        server = (await _cases_by_id([case_id]))[case_id]
        first = c.errors[0]
        raise Conflict(first.code, first.zh, first.en, case=msgspec.to_builtins(server))
    if c.errors:
        _raise_invalid(c)
    return (await _cases_by_id([case_id]))[case_id]


def _canonical_id(raw: Any) -> str | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        return None
    try:
        return str(uuid.UUID(raw["id"]))
    except ValueError:
        return raw["id"]


async def sync(actor: Actor, records: list[Any]) -> SyncResponse:
    """Apply a batch of up to 1,000 records from an agent's device (see the module doc)."""
    require_role(actor, "village_agent")
    if len(records) > MAX_BATCH:
        raise InvalidInput(
            "batch_too_large",
            f"一批最多 {MAX_BATCH} 条记录，收到 {len(records)} 条：请分批发送",
            f"a batch holds at most {MAX_BATCH} records, got {len(records)}: send it in parts",
            errors=[{"field": "records", "message": f"{len(records)} > {MAX_BATCH}"}],
            limit=MAX_BATCH,
        )
    now = clock.now()
    site_id = int(actor.scope)
    seen: dict[str, int] = defaultdict(int)
    for raw in records:
        key = _canonical_id(raw)
        if key is not None:
            seen[key] += 1
    candidates: list[Candidate] = []
    for index, raw in enumerate(records):
        key = _canonical_id(raw)
        if key is not None and seen[key] > 1:
            c = Candidate(index=index, raw_id=str(raw.get("id"))[:64])
            c.fail_code(
                "duplicate_id",
                "同一批次中该编号出现多次：请合并为一条",
                "this id occurs more than once in the batch: send one record per case",
                "id",
            )
        else:
            c = candidate_from_record(index, raw, now)
            if not c.errors and c.site_id != site_id:
                c.fail_code(
                    "out_of_scope",
                    "代办员只能提交本代办点的事项",
                    f"an agent can only submit cases of their own point ({site_id})",
                    "site_id",
                )
        candidates.append(c)
    if any(not c.errors for c in candidates):
        group = Group(actor, site_id, candidates, via="sync", request=request_id.get())
        await _apply([group], allow_update=True)
    else:
        for c in candidates:
            c.result = "invalid"
    shown = await _cases_by_id(
        [c.id for c in candidates if c.id is not None and c.result != "invalid"]
    )
    summary = SyncSummary()
    results = []
    for c in candidates:
        setattr(summary, c.result, getattr(summary, c.result) + 1)
        results.append(
            SyncResult(
                index=c.index,
                id=str(c.id) if c.id is not None else c.raw_id,
                result=c.result,
                errors=[record_error(e) for e in c.errors],
                case=shown.get(c.id) if c.id is not None and c.result != "invalid" else None,
            )
        )
    log.info(
        "case sync by %s (point %s): %d records, %s",
        actor.username,
        site_id,
        len(records),
        msgspec.to_builtins(summary),
    )
    return SyncResponse(results=results, summary=summary)


# ------------------------------------------------------------------------------ activity


async def active_site_ids(day: date, county_code: str | None = None) -> set[int]:
    """Points that received at least one case in the 90 days up to ``day`` (``day - 89`` …
    ``day``, China dates), optionally of one county."""
    start = day - timedelta(days=ACTIVE_WINDOW_DAYS - 1)
    query = (
        CaseRow.select(CaseRow.site)
        .distinct()
        .where((CaseRow.received_on >= start) & (CaseRow.received_on <= day))
    )
    if county_code:
        query = query.where(CaseRow.county_code == normalise_code(county_code, "county"))
    return {r["site"] for r in await query}


# ------------------------------------------------------------------------------ statistics

_MEASURES_SQL = """
SELECT site, county_code, township_code,
       COUNT(*) AS cases,
       SUM(CASE WHEN completed_at IS NOT NULL THEN 1 ELSE 0 END) AS completed,
       SUM(CASE WHEN completed_on_time THEN 1 ELSE 0 END) AS completed_on_time,
       SUM(CASE WHEN completed_at IS NOT NULL THEN completion_workdays ELSE 0 END)
           AS workdays_sum,
       SUM(CASE WHEN returned_at IS NOT NULL THEN 1 ELSE 0 END) AS returned,
       SUM(CASE WHEN forward_late THEN 1 ELSE 0 END) AS forward_late,
       SUM(CASE WHEN state IN ('received', 'forwarded') AND due_on < {} THEN 1 ELSE 0 END)
           AS overdue,
       SUM(CASE WHEN rating IS NOT NULL THEN 1 ELSE 0 END) AS rated,
       SUM(CASE WHEN rating IN ('very_satisfied', 'satisfied') THEN 1 ELSE 0 END) AS satisfied
FROM service_case WHERE {where}
GROUP BY site, county_code, township_code
"""
_BY_SQL = (
    "SELECT site, {key} AS k, COUNT(*) AS n FROM service_case WHERE {where} GROUP BY site, {key}"
)
_MONTH = "SUBSTR(CAST(received_on AS TEXT), 1, 7)"
_ADDITIVE = (
    "cases",
    "completed",
    "completed_on_time",
    "workdays_sum",
    "returned",
    "forward_late",
    "overdue",
    "rated",
    "satisfied",
)


def _blank() -> dict[str, Any]:
    return {
        **dict.fromkeys(_ADDITIVE, 0),
        "by_state": dict.fromkeys(rules.STATES, 0),
        "by_matter": {},
        "by_month": {},
    }


def _add(into: dict[str, Any], part: dict[str, Any]) -> None:
    for key in _ADDITIVE:
        into[key] += part[key]
    for key in ("by_state", "by_matter", "by_month"):
        for k, n in part[key].items():
            into[key][k] = into[key].get(k, 0) + n


def _ratio(num: int, den: int, digits: int = 4) -> float | None:
    return None if den == 0 else round(num / den, digits)


def _figures(acc: dict[str, Any]) -> CaseFigures:
    return CaseFigures(
        cases=acc["cases"],
        by_state=acc["by_state"],
        by_matter=dict(sorted(acc["by_matter"].items())),
        by_month=dict(sorted(acc["by_month"].items())),
        completed=acc["completed"],
        completed_on_time=acc["completed_on_time"],
        on_time_rate=_ratio(acc["completed_on_time"], acc["completed"]),
        avg_workdays_to_completion=_ratio(acc["workdays_sum"], acc["completed"], 2),
        returned=acc["returned"],
        forward_late=acc["forward_late"],
        overdue=acc["overdue"],
        rated=acc["rated"],
        satisfied=acc["satisfied"],
        satisfaction_share=_ratio(acc["satisfied"], acc["rated"]),
    )


async def stats(
    actor: Actor,
    county: str | None,
    site: int | None,
    date_from: date | None,
    date_to: date | None,
) -> CaseStats:
    """Counts by state, matter and month per point, township and county; rates. SQL-grouped
    per point, rolled up in Python (every figure summed is additive)."""
    filters = CaseFilters.parse(site=site, county=county, date_from=date_from, date_to=date_to)
    require_role(actor, "municipal", "county_planner", "village_agent")
    filters.check_scope(actor)
    today = clock.today()
    where: list[str] = []
    args: list[Any] = []
    if actor.is_agent:
        where.append("site = {}")
        args.append(int(actor.scope))
    elif actor.is_planner:
        where.append("county_code = {}")
        args.append(actor.scope)
    else:
        where.append("county_code LIKE {}")
        args.append(actor.scope[:4] + "%")
    if filters.site is not None:
        where.append("site = {}")
        args.append(filters.site)
    if filters.county:
        where.append("county_code = {}")
        args.append(filters.county)
    if filters.date_from:
        where.append("received_on >= {}")
        args.append(filters.date_from)
    if filters.date_to:
        where.append("received_on <= {}")
        args.append(filters.date_to)
    clause = " AND ".join(where)
    measures = await CaseRow.raw(_MEASURES_SQL.replace("{where}", clause), today, *args)
    per_site: dict[int, dict[str, Any]] = {}
    place: dict[int, tuple[str, str]] = {}
    for row in measures:
        acc = _blank()
        for key in _ADDITIVE:
            acc[key] = int(row[key] or 0)
        per_site[row["site"]] = acc
        place[row["site"]] = (row["county_code"], row["township_code"])
    for key, target in (("state", "by_state"), ("matter", "by_matter"), (_MONTH, "by_month")):
        sql = _BY_SQL.replace("{key}", key).replace("{where}", clause)
        for row in await CaseRow.raw(sql, *args):
            per_site[row["site"]][target][str(row["k"])] = int(row["n"])

    total = _blank()
    counties: dict[str, dict[str, Any]] = defaultdict(_blank)
    townships: dict[str, dict[str, Any]] = defaultdict(_blank)
    for site_id, acc in per_site.items():
        county_code, township_code = place[site_id]
        _add(total, acc)
        _add(counties[county_code], acc)
        _add(townships[township_code], acc)
    names = {
        r["code"]: r["name"]
        for r in await Division.select(Division.code, Division.name).where(
            Division.code.is_in(sorted({*counties, *townships}) or [""])
        )
    }
    site_rows = await Site.select(
        Site.id, Site.division.as_alias("code"), Site.standard_name
    ).where(Site.id.is_in(sorted(per_site) or [0]))
    site_info = {r["id"]: r for r in site_rows}
    matter_codes = sorted({m for acc in per_site.values() for m in acc["by_matter"]})
    matter_names = {
        code: row["name"] for code, row in (await matters_by_code(set(matter_codes))).items()
    }
    return CaseStats(
        county=filters.county,
        site_id=filters.site,
        date_from=filters.date_from,
        date_to=filters.date_to,
        as_of=today,
        total=_figures(total),
        counties=[
            UnitFigures(code=code, name=names.get(code, code), figures=_figures(acc))
            for code, acc in sorted(counties.items())
        ],
        townships=[
            UnitFigures(
                code=code,
                name=names.get(code, code),
                figures=_figures(acc),
                county_code=code[:6] + "000000",
            )
            for code, acc in sorted(townships.items())
        ],
        sites=[
            UnitFigures(
                code=site_info[site_id]["code"],
                name=site_info[site_id]["standard_name"],
                figures=_figures(acc),
                county_code=place[site_id][0],
                township_code=place[site_id][1],
                site_id=site_id,
            )
            for site_id, acc in sorted(per_site.items())
        ],
        matters=matter_names,
    )
