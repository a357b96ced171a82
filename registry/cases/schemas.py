"""Matter catalogue, case, sync and case-statistics bodies.

Resident data goes in as ``resident_name``, ``resident_id_number`` and ``resident_phone`` and
comes out only masked (``resident_name_masked`` …); no response carries the full values.
"""

import uuid
from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

Instant = Annotated[
    datetime, Meta(description="ISO 8601; without a time zone it is China time (UTC+8)")
]
State = Annotated[str, Meta(description="received, forwarded, completed, returned, delivered")]
Rating = Annotated[
    str,
    Meta(
        description="very_satisfied, satisfied, basically_satisfied, dissatisfied, "
        "very_dissatisfied (only once delivered)"
    ),
]


# ------------------------------------------------------------------------------ matters


Aliases = Annotated[
    list[str],
    Meta(description="names residents and clerks use (低保, 社保卡, 新农合 …); searched by ?q="),
]
Fees = Annotated[str, Meta(description="what the resident pays, or 不收费")]


class Matter(msgspec.Struct):
    """A proxy-service matter (代办事项) and its service guide (办事指南); ``time_limit_days``
    counts working days. ``guide_is_example``: the guide is a seeded example (示例), not yet
    confirmed by the municipal centre."""

    code: str
    name: str
    category: str
    department: str
    time_limit_days: int
    materials: list[str]
    active: bool = True
    legal_basis: Annotated[str, Meta(description="依据: the laws and rules it rests on")] = ""
    fees: Fees = "不收费"
    decided_by: Annotated[str, Meta(description="办理机构: who decides it")] = ""
    notes: str = ""
    aliases: Aliases = msgspec.field(default_factory=list)
    materials_required: Annotated[
        bool, Meta(description="the guide must list at least one material")
    ] = True
    guide_is_example: bool = False


class MatterList(msgspec.Struct):
    items: list[Matter]
    total: int


class MatterCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Add a matter to the catalogue (municipal centre)."""

    code: Annotated[str, Meta(description="2–20 of A–Z, 0–9 and -, e.g. SB001")]
    name: str
    category: str
    department: str
    time_limit_days: Annotated[int, Meta(description="working days, 0–365")]
    materials: list[str] = msgspec.field(default_factory=list)
    active: bool = True
    legal_basis: str = ""
    fees: Fees = "不收费"
    decided_by: str = ""
    notes: str = ""
    aliases: Aliases = msgspec.field(default_factory=list)
    materials_required: bool = False
    guide_is_example: bool = False


class MatterUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Edit a matter or its guide; absent fields stay. A new time limit applies to cases
    received after it."""

    name: str | UnsetType = UNSET
    category: str | UnsetType = UNSET
    department: str | UnsetType = UNSET
    time_limit_days: int | UnsetType = UNSET
    materials: list[str] | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    legal_basis: str | UnsetType = UNSET
    fees: str | UnsetType = UNSET
    decided_by: str | UnsetType = UNSET
    notes: str | UnsetType = UNSET
    aliases: list[str] | UnsetType = UNSET
    materials_required: bool | UnsetType = UNSET
    guide_is_example: bool | UnsetType = UNSET


# ------------------------------------------------------------------------------ cases


class CaseCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A case as the agent's device sends it (also one record of a sync batch).

    ``id`` is made by the client. ``version`` is the server version the record was based on
    (absent for a new case). ``fee_yuan`` exists only to be refused above zero: agency service
    is free.
    """

    id: uuid.UUID
    site_id: int
    matter_code: str
    resident_name: str
    resident_id_number: Annotated[
        str, Meta(description="18-digit 居民身份证号码, checksum checked")
    ]
    received_at: Instant
    resident_phone: str | None = None
    state: State = "received"
    forwarded_at: Instant | None = None
    completed_at: Instant | None = None
    returned_at: Instant | None = None
    delivered_at: Instant | None = None
    returned_reason: str | None = None
    rating: Rating | None = None
    note: str | None = None
    version: int | None = None
    fee_yuan: float | None = None


class CaseUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Change a case. ``version`` must equal the server's (else 409 with the server copy).

    Absent fields stay as they are. Resident data is corrected as a whole: with any resident
    field, ``resident_name`` and ``resident_id_number`` are required (``resident_phone``
    absent means none). Site, matter and receipt time cannot change.
    """

    version: int
    state: State | UnsetType = UNSET
    forwarded_at: Instant | UnsetType | None = UNSET
    completed_at: Instant | UnsetType | None = UNSET
    returned_at: Instant | UnsetType | None = UNSET
    delivered_at: Instant | UnsetType | None = UNSET
    returned_reason: str | UnsetType | None = UNSET
    rating: Rating | UnsetType | None = UNSET
    note: str | UnsetType | None = UNSET
    resident_name: str | UnsetType = UNSET
    resident_id_number: str | UnsetType = UNSET
    resident_phone: str | UnsetType | None = UNSET
    fee_yuan: float | UnsetType | None = UNSET


class Case(msgspec.Struct):
    """A case as the registry shows it: resident data masked, derived fields added."""

    id: uuid.UUID
    site_id: int
    site_name: str
    matter_code: str
    matter_name: str
    case_number: str
    county_code: str
    township_code: str
    resident_name_masked: str
    resident_id_masked: str
    resident_phone_masked: str | None
    received_at: datetime
    state: str
    forwarded_at: datetime | None
    completed_at: datetime | None
    returned_at: datetime | None
    delivered_at: datetime | None
    returned_reason: str | None
    rating: str | None
    note: str | None
    due_on: date
    overdue: bool
    forward_late: bool
    version: int
    is_demo: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    due_provisional: Annotated[
        bool,
        Meta(
            description="the due date counts working days of a year whose official holiday "
            "arrangement is not yet known: it may move when that year is entered"
        ),
    ] = False


class CaseList(msgspec.Struct):
    items: list[Case]
    total: int
    limit: int
    offset: int


class SyncRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Up to 1,000 case records; each is checked and applied on its own."""

    records: list[Any]


class RecordError(msgspec.Struct):
    """One reason a record was refused (``code`` is stable)."""

    field: str | None
    code: str
    message: str


class SyncResult(msgspec.Struct):
    """The outcome of one record, in the order sent.

    ``case`` is the server's copy after the record (for ``conflict``: the copy the record
    was not based on); absent for ``invalid``.
    """

    index: int
    id: str | None
    result: Annotated[str, Meta(description="created, updated, unchanged, conflict, invalid")]
    errors: list[RecordError]
    case: Case | None = None


class SyncSummary(msgspec.Struct):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    conflict: int = 0
    invalid: int = 0


class SyncResponse(msgspec.Struct):
    results: list[SyncResult]
    summary: SyncSummary


# ------------------------------------------------------------------------------ statistics


class CaseFigures(msgspec.Struct):
    """Counts and rates of one unit (point, township, county or the whole scope).

    ``on_time_rate`` = completed by the due date / completed; ``avg_workdays_to_completion``
    over completed cases; ``satisfaction_share`` = rated satisfied or better / rated. A rate
    with nothing to divide by is null.
    """

    cases: int
    by_state: dict[str, int]
    by_matter: dict[str, int]
    by_month: dict[str, int]
    completed: int
    completed_on_time: int
    on_time_rate: float | None
    avg_workdays_to_completion: float | None
    returned: int
    forward_late: int
    overdue: int
    rated: int
    satisfied: int
    satisfaction_share: float | None


class UnitFigures(msgspec.Struct):
    code: str
    name: str
    figures: CaseFigures
    county_code: str | None = None
    township_code: str | None = None
    site_id: int | None = None


# Two capabilities name a struct UnitFigures; the API document has called this one
# cases_UnitFigures since before the split (the component name comes from the module path), so
# generated clients keep working. The annotations of this module are evaluated eagerly (no
# ``from __future__ import annotations``): resolving them must not need this module's globals.
UnitFigures.__module__ = "registry.cases"


class CaseStats(msgspec.Struct):
    """Case statistics for cases received in ``[from, to]`` (China dates)."""

    county: str | None
    site_id: int | None
    as_of: date
    total: CaseFigures
    counties: list[UnitFigures]
    townships: list[UnitFigures]
    sites: list[UnitFigures]
    matters: dict[str, str]
    date_from: date | None = msgspec.field(default=None, name="from")
    date_to: date | None = msgspec.field(default=None, name="to")


# ------------------------------------------------------------------------------ calendar


class CalendarHoliday(msgspec.Struct, forbid_unknown_fields=True):
    """A statutory holiday date and the holiday's name (元旦, 春节 …)."""

    date: date
    name: str


class CalendarArrangement(msgspec.Struct, forbid_unknown_fields=True):
    """A year's official arrangement: its holidays and its make-up working days (调休上班)."""

    holidays: list[CalendarHoliday] = msgspec.field(default_factory=list)
    workdays: Annotated[
        list[date], Meta(description="make-up working days (Saturdays or Sundays worked)")
    ] = msgspec.field(default_factory=list)


class CalendarYearInfo(msgspec.Struct):
    """One known year: ``source`` registry (entered, takes precedence) or library (the
    chinesecalendar package)."""

    year: int
    source: str
    holidays: list[CalendarHoliday]
    workdays: list[date]
    updated_at: datetime | None = None
    updated_by: str | None = None
    cases_recomputed: int | None = None


class CalendarInfo(msgspec.Struct):
    """The years whose arrangement is known; due dates in another year are provisional."""

    years: list[CalendarYearInfo]
    current_year: int
    next_year: int
    next_year_missing: bool
