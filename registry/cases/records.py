"""Case records as received: an API body, a sync record or a PATCH made into a checked
:class:`Candidate` (nothing here touches the database).

A candidate holds everything the checks and the write need and no resident data in clear: the
name, ID number and phone are checked, then kept only masked and as keyed hashes
(:func:`~registry.cases.rules.resident.protect`). No error message repeats a submitted value.
A record's problems stay :class:`RuleViolation` objects until the response is built
(:func:`record_error`, :func:`raise_invalid`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from msgspec import UNSET

from registry.cases.rules import timeline as rules
from registry.cases.rules.resident import Resident, protect, resident_problems
from registry.cases.rules.resident_id import InvalidResidentId
from registry.cases.rules.timeline import Timeline, to_utc
from registry.cases.schemas import CaseCreate, CaseUpdate, RecordError
from registry.core import clock
from registry.core.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    RuleViolation,
    field_error,
)
from registry.core.settings import get_settings
from registry.core.text import clean_text

_AT_PATH = re.compile(r"at `\$\.?([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class Candidate:
    """One record, normalised: everything the checks and the write need, no clear PII."""

    index: int
    # The id as received (for the answer of a record refused before its id was read); once
    # ``id`` is read, its canonical text (``str(id)``, made once).
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
    # Set by the database phase: the outcome, the case's row (as found, then as written) and
    # the case as the answer shows it (a :class:`registry.cases.schemas.Case`).
    result: str = ""
    row: dict[str, Any] | None = None
    case: Any = None

    def reset(self) -> None:
        """Forget the database phase's outcome (before the record is applied again)."""
        self.errors.clear()
        self.result = ""
        self.row = None
        self.case = None

    def fail(self, *violations: RuleViolation) -> None:
        self.errors.extend(violations)

    def fail_code(self, code: str, zh: str, en: str, field: str | None = None) -> None:
        self.errors.append(RuleViolation(code, zh, en, field))


def _content(c: Candidate) -> dict[str, Any]:
    assert c.timeline is not None and c.resident is not None
    t = c.timeline
    return {
        "id": c.raw_id,  # str(c.id)
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
    fresh: tuple[str, ...] = ("note", "returned_reason"),
) -> None:
    """Pure checks shared by sync records, POST and PATCH; sets resident, timeline, fingerprint.

    ``fresh``: the free-text fields the request submits (a PATCH may leave them as stored).
    """
    secret = get_settings().secret_key
    today = clock.china_date(now)
    if resident_values is not None:
        name, number, phone = resident_values
        try:
            c.resident = protect(secret, name, number, phone, today)
        except RuleViolation as exc:
            # Refused: now every problem of the three fields, not only the first (the checks
            # run twice only for a refused record).
            c.fail(*(resident_problems(name, number, phone, today) or [exc]))
    else:
        c.resident = existing_resident
    reason = _clean_optional(
        c.timeline.returned_reason if c.timeline else None, "returned_reason", rules.REASON_MAX, c
    )
    if c.timeline is not None:
        c.timeline = msgspec.structs.replace(c.timeline, returned_reason=reason)
        c.fail(*rules.timeline_problems(c.timeline, now))
    c.fail(*rules.fee_problems(fee))
    # The resident's data in clear when given (a new record, a correction), else the stored
    # masked name, looked for in the text this request submits (a stored note was checked
    # against the clear name when it was written).
    personal = tuple(v for v in (resident_values or ()) if v)
    masked = (
        (existing_resident.name_masked,)
        if resident_values is None and existing_resident is not None
        else ()
    )
    for name, text in (("note", c.note), ("returned_reason", reason)):
        c.fail(*rules.free_text_problems(name, text, personal, masked if name in fresh else ()))
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
    """Check one new record (a POST body, or a parsed sync record)."""
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


def resident_of(row: dict[str, Any]) -> Resident:
    """The stored case's resident (masks and hashes only)."""
    return Resident(
        name_masked=row["resident_name_masked"],
        id_masked=row["resident_id_masked"],
        phone_masked=row["resident_phone_masked"],
        id_hash=row["resident_id_hash"],
        data_hash=row["resident_data_hash"],
    )


def timeline_of(row: dict[str, Any]) -> Timeline:
    """The stored case's timeline."""
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
    before = timeline_of(row)
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
    fresh = tuple(name for name in ("note", "returned_reason") if getattr(data, name) is not UNSET)
    _finish(c, resident_values, resident_of(row), fee, now, fresh)
    return c


# ------------------------------------------------------------------------------ answers


def record_error(v: RuleViolation) -> RecordError:
    """A record's problem as the sync answer lists it."""
    return RecordError(field=v.field, code=v.code, message=v.message)


def raise_invalid(c: Candidate) -> None:
    """The error of a refused single record (every problem listed)."""
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
        errors=[field_error(e.field or "body", e.message) for e in c.errors],
        rules=codes,
    )
