"""Every Piccolo table of the registry, and nothing else.

Piccolo's defaults are stated explicitly: foreign keys are NOT NULL with ON DELETE RESTRICT,
nullable dates default to NULL (not today). Timestamps are stored in UTC.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
    BigInt,
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Division(Table, tablename="division"):
    """An administrative division: city, county, township or village (村/社区)."""

    code = Varchar(length=12, primary_key=True)
    name = Varchar(length=100, null=False)
    level = Varchar(length=10, null=False, index=True)
    kind = Varchar(length=10, null=False)
    parent = ForeignKey("self", null=True, default=None, on_delete=OnDelete.restrict, index=True)
    county_code = Varchar(length=12, null=True, default=None, index=True)
    township_code = Varchar(length=12, null=True, default=None, index=True)
    established_on = Date(null=True, default=None)
    abolished_on = Date(null=True, default=None)
    is_demo = Boolean(default=False, null=False)
    source = Varchar(length=20, default="seed", null=False)
    # The title the official list gives (仰溪铺村村委会) when ``name`` is the place (仰溪铺村).
    official_name = Varchar(length=200, null=True, default=None)
    # A county-level unit without an outline of its own (怀化市洪江管理区): the county whose
    # outline its sites are checked against (洪江市).
    outline_code = Varchar(length=12, null=True, default=None)


class DivisionAlias(Table, tablename="division_alias"):
    """Another official code of a division within a code system (``nbs``: a statistical
    township code beside the civil-affairs one; ``mca``: a civil-affairs code of a unit the
    register follows the statistics for). Unique per (system, code)."""

    id = Serial(primary_key=True)
    system = Varchar(length=10, null=False)
    code = Varchar(length=12, null=False)
    division = ForeignKey(Division, null=False, on_delete=OnDelete.restrict, index=True)
    rule = Varchar(length=20, default="", null=False)
    note = Text(default="", null=False)


class DivisionSuccession(Table, tablename="division_succession"):
    """A division that ended in another (moved under a new code, merged: 合村并组) on a date."""

    id = Serial(primary_key=True)
    predecessor = ForeignKey(Division, null=False, on_delete=OnDelete.restrict)
    successor = ForeignKey(Division, null=False, on_delete=OnDelete.restrict, index=True)
    effective_on = Date(null=False)
    change = Varchar(length=10, null=False)


class DivisionBoundary(Table, tablename="division_boundary"):
    """Boundary of a division in WGS-84, as GeoJSON geometry text (full and map-simplified)."""

    division = ForeignKey(Division, null=False, unique=True, on_delete=OnDelete.restrict)
    geometry = Text(null=False)
    simplified = Text(null=False)
    min_lon = DoublePrecision(null=False)
    min_lat = DoublePrecision(null=False)
    max_lon = DoublePrecision(null=False)
    max_lat = DoublePrecision(null=False)
    source = Varchar(length=200, default="", null=False)


class Site(Table, tablename="site"):
    """A convenience service centre (乡镇/街道) or agency point (村/社区)."""

    id = Serial(primary_key=True)
    division = ForeignKey(Division, null=False, on_delete=OnDelete.restrict, index=True)
    # Equal to the division code while the site is not closed: the UNIQUE constraint enforces
    # "at most one open site per division" on both engines (NULLs are distinct).
    open_division = Varchar(length=12, null=True, default=None, unique=True)
    kind = Varchar(length=20, null=False, index=True)
    county_code = Varchar(length=12, null=False, index=True)
    township_code = Varchar(length=12, null=False, index=True)
    standard_name = Varchar(length=120, null=False)
    signage_name = Varchar(length=200, null=True, default=None)
    signage_conforms = Boolean(null=True, default=None, index=True)
    signage_problems = JSON(default=[], null=False)
    lon = DoublePrecision(null=False)
    lat = DoublePrecision(null=False)
    crs = Varchar(length=10, default="wgs84", null=False)
    coord_method = Varchar(length=20, null=True, default=None)
    collected_on = Date(null=True, default=None)
    location_warning = Text(null=True, default=None)
    address = Varchar(length=300, null=True, default=None)
    hall_area_m2 = DoublePrecision(null=True, default=None)
    staff_count = Integer(null=True, default=None)
    contact_phone = Varchar(length=30, null=True, default=None)
    status = Varchar(length=20, null=False, index=True)
    # Public facts for residents (migration 2026-12-06T13:10, registry/sites/facts.py):
    # {"mon": [["08:30","12:00"], ...], ..., "sun": []}; None: not yet recorded.
    opening_hours = JSON(null=True, default=None)
    # The public telephone (a fixed line or mobile the site publishes; never contact_phone).
    public_phone = Varchar(length=30, null=True, default=None)
    # Matter codes the site does not handle (all of the catalogue by default).
    excluded_matters = JSON(default=[], null=False)
    status_since = Date(null=False)
    version = Integer(default=1, null=False)
    is_demo = Boolean(default=False, null=False)
    created_by = Varchar(length=64, default="", null=False)
    created_at = Timestamptz(default=TimestamptzNow(), null=False)
    updated_at = Timestamptz(default=TimestamptzNow(), null=False)


class StatusEvent(Table, tablename="status_event"):
    """A dated build-status change of a site. The site's status on a date derives from these."""

    id = Serial(primary_key=True)
    site = ForeignKey(Site, null=False, on_delete=OnDelete.restrict, index=True)
    status = Varchar(length=20, null=False)
    previous_status = Varchar(length=20, null=True, default=None)
    effective_date = Date(null=False, index=True)
    note = Text(null=True, default=None)
    skipped = JSON(default=[], null=False)
    actor = Varchar(length=64, default="", null=False)
    recorded_at = Timestamptz(default=TimestamptzNow(), null=False)


class Account(Table, tablename="account"):
    """A person who may write to the registry."""

    id = Serial(primary_key=True)
    username = Varchar(length=64, null=False)
    # Lower-cased, NFKC-normalised username: makes uniqueness case-insensitive on both engines.
    username_key = Varchar(length=64, null=False, unique=True)
    display_name = Varchar(length=100, default="", null=False)
    phone = Varchar(length=30, null=True, default=None)
    role = Varchar(length=20, null=False, index=True)
    scope = Varchar(length=32, null=False, index=True)
    active = Boolean(default=True, null=False)
    password_hash = Text(null=False)
    # Bumped when the account is disabled or its password reset: older tokens stop working.
    token_version = Integer(default=1, null=False)
    is_demo = Boolean(default=False, null=False)
    created_at = Timestamptz(default=TimestamptzNow(), null=False)
    updated_at = Timestamptz(default=TimestamptzNow(), null=False)


class AuditEntry(Table, tablename="audit_entry"):
    """One write, append-only (database triggers refuse UPDATE and DELETE)."""

    id = Serial(primary_key=True)
    at = Timestamptz(default=TimestamptzNow(), null=False, index=True)
    actor = Varchar(length=64, null=False, index=True)
    role = Varchar(length=20, default="", null=False)
    action = Varchar(length=40, null=False)
    entity = Varchar(length=40, null=False, index=True)
    entity_id = Varchar(length=64, null=False, index=True)
    county_code = Varchar(length=12, null=True, default=None, index=True)
    changes = JSON(default=[], null=False)
    request_id = Varchar(length=64, default="", null=False)
    note = Text(null=True, default=None)


class Campaign(Table, tablename="campaign"):
    """A dated campaign whose figure is tracked: agency points 2013, centres 2015."""

    code = Varchar(length=40, primary_key=True)
    name = Varchar(length=200, null=False)
    start_on = Date(null=False)
    deadline = Date(null=False)
    figure = Varchar(length=30, null=False)
    description = Text(default="", null=False)


class Plan(Table, tablename="plan"):
    """One version of a county's construction plan for a campaign."""

    id = Serial(primary_key=True)
    county_code = Varchar(length=12, null=False, index=True)
    campaign = ForeignKey(Campaign, null=False, on_delete=OnDelete.restrict, index=True)
    title = Varchar(length=200, null=False)
    state = Varchar(length=12, null=False, index=True)
    version = Integer(default=1, null=False)
    amends = ForeignKey("self", null=True, default=None, on_delete=OnDelete.restrict)
    submitted_at = Timestamptz(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    created_by = Varchar(length=64, default="", null=False)
    created_at = Timestamptz(default=TimestamptzNow(), null=False)
    updated_at = Timestamptz(default=TimestamptzNow(), null=False)
    # Divisions deliberately left out of the plan, with the reason: {division_code: reason}.
    # Completeness warnings for these divisions do not block submission.
    missing_explained = JSON(default={}, null=False)
    # The version's content when it was last returned ({title, items, missing_explained}):
    # what a resubmission is compared with (plans/workflow.py). None until a return.
    returned_content = JSON(null=True, default=None)


class PlanItem(Table, tablename="plan_item"):
    """One division's target in a plan version."""

    id = Serial(primary_key=True)
    plan = ForeignKey(Plan, null=False, on_delete=OnDelete.restrict, index=True)
    division = ForeignKey(Division, null=False, on_delete=OnDelete.restrict, index=True)
    target = Varchar(length=20, null=False)
    target_date = Date(null=False)
    budget_yuan = BigInt(null=True, default=None)
    funding_source = Varchar(length=200, null=True, default=None)
    note = Text(null=True, default=None)


class PlanReview(Table, tablename="plan_review"):
    """A workflow action on a plan version: submit, approve, return."""

    id = Serial(primary_key=True)
    plan = ForeignKey(Plan, null=False, on_delete=OnDelete.restrict, index=True)
    action = Varchar(length=20, null=False)
    comment = Text(default="", null=False)
    actor = Varchar(length=64, null=False)
    at = Timestamptz(default=TimestamptzNow(), null=False)


class Matter(Table, tablename="matter"):
    """A proxy-service matter (代办事项) of the catalogue."""

    code = Varchar(length=20, primary_key=True)
    name = Varchar(length=100, null=False)
    category = Varchar(length=50, null=False)
    department = Varchar(length=100, null=False)
    time_limit_days = Integer(null=False)
    materials = JSON(default=[], null=False)
    active = Boolean(default=True, null=False)
    # The service guide (办事指南, migration 2026-12-06T13:10, registry/cases/matters.py).
    legal_basis = Text(default="", null=False)
    fees = Varchar(length=200, default="不收费", null=False)
    decided_by = Varchar(length=200, default="", null=False)
    notes = Text(default="", null=False)
    aliases = JSON(default=[], null=False)
    materials_required = Boolean(default=True, null=False)
    guide_is_example = Boolean(default=False, null=False)


class Case(Table, tablename="service_case"):
    """A proxy service handled by a village agent. Resident data is stored masked and hashed."""

    id = UUID(primary_key=True)
    site = ForeignKey(Site, null=False, on_delete=OnDelete.restrict, index=True)
    matter = ForeignKey(Matter, null=False, on_delete=OnDelete.restrict, index=True)
    case_number = Varchar(length=40, null=False, unique=True)
    county_code = Varchar(length=12, null=False, index=True)
    township_code = Varchar(length=12, null=False, index=True)
    resident_name_masked = Varchar(length=50, null=False)
    # No index: no query reads cases by it, and it was the case table's dearest index to
    # write (migration 2026-12-07T19:10).
    resident_id_hash = Varchar(length=64, null=False)
    resident_id_masked = Varchar(length=18, null=False)
    resident_phone_masked = Varchar(length=20, null=True, default=None)
    received_at = Timestamptz(null=False, index=True)
    state = Varchar(length=12, null=False, index=True)
    forwarded_at = Timestamptz(null=True, default=None)
    completed_at = Timestamptz(null=True, default=None)
    returned_at = Timestamptz(null=True, default=None)
    delivered_at = Timestamptz(null=True, default=None)
    returned_reason = Text(null=True, default=None)
    rating = Varchar(length=24, null=True, default=None)
    note = Text(null=True, default=None)
    due_on = Date(null=False, index=True)
    forward_late = Boolean(default=False, null=False)
    version = Integer(default=1, null=False)
    # Keyed hash of the record's full submitted content: a replay is recognised as unchanged
    # without keeping the resident's data in clear.
    content_hash = Varchar(length=64, null=False)
    is_demo = Boolean(default=False, null=False)
    created_by = Varchar(length=64, default="", null=False)
    created_at = Timestamptz(default=TimestamptzNow(), null=False)
    updated_at = Timestamptz(default=TimestamptzNow(), null=False)
    # China date of received_at: day and month groupings, the 90-day "active" window.
    received_on = Date(null=True, default=None, index=True)
    # Keyed hash of name, ID and phone together: the fingerprint of a record can be recomputed
    # after a partial edit without the clear values.
    resident_data_hash = Varchar(length=64, default="", null=False)
    # Derived when completed: working days from receipt, and whether by the due date.
    completion_workdays = Integer(null=True, default=None)
    completed_on_time = Boolean(null=True, default=None)


class CaseActivity(Table, tablename="case_activity"):
    """Kept by database triggers only (migration 2026-12-05T13:00): one counter per agency
    point, bumped in the transaction of every case write that can change ``points_active``.
    Coverage caches ``points_active`` by these counters; no code writes them."""

    site = Integer(primary_key=True)
    writes = BigInt(default=0, null=False)


class CountyActivity(Table, tablename="county_activity"):
    """Kept by database triggers only (migration 2026-12-05T15:00): one counter per county
    (``''`` for the divisions above the counties), bumped in the transaction of every status
    event, site or division write of the county. Coverage caches its counts per county by
    these counters; no code writes them."""

    county_code = Varchar(length=12, primary_key=True)
    writes = BigInt(default=0, null=False)


class CountyCaseActivity(Table, tablename="county_case_activity"):
    """Kept by database triggers only (migration 2026-12-06T15:00): one counter per county,
    bumped in the transaction of every case write that can change ``points_active`` (the
    per-county sum of :class:`CaseActivity`, read without reading the points)."""

    county_code = Varchar(length=12, primary_key=True)
    writes = BigInt(default=0, null=False)


class PlanActivity(Table, tablename="plan_activity"):
    """Kept by database triggers only (migration 2026-12-06T19:00): one row whose counter is
    bumped in the transaction of every write to ``plan`` or ``plan_item`` that changes a column
    the targets of coverage's cached answers read."""

    id = Integer(primary_key=True)
    writes = BigInt(default=0, null=False)


TABLES: tuple[type[Table], ...] = (
    Division,
    DivisionAlias,
    DivisionSuccession,
    DivisionBoundary,
    Site,
    StatusEvent,
    Account,
    AuditEntry,
    Campaign,
    Plan,
    PlanItem,
    PlanReview,
    Matter,
    Case,
    CaseActivity,
    CountyActivity,
    CountyCaseActivity,
    PlanActivity,
)


class Installation(Table, tablename="installation"):
    """This deployment's identity: one row (``id`` 1), made by migration 2026-12-06T12:00 (or at
    the first sign-in of a database without it). Tokens name it as their issuer and audience,
    so a token of another database is refused even where both share one secret key."""

    id = Integer(primary_key=True)
    installation_id = Varchar(length=64, null=False)
    created_at = Timestamptz(default=TimestamptzNow(), null=False)


TABLES = (*TABLES, Installation)


class CalendarYear(Table, tablename="calendar_year"):
    """A year's official holiday arrangement entered by the municipal centre (migration
    2026-12-06T13:20): it takes precedence over the ``chinesecalendar`` package's. ``holidays``
    holds ``[{date, name}]``, ``workdays`` the make-up working days (ISO dates)."""

    year = Integer(primary_key=True)
    holidays = JSON(default=[], null=False)
    workdays = JSON(default=[], null=False)
    updated_at = Timestamptz(default=TimestamptzNow(), null=False)
    updated_by = Varchar(length=64, default="", null=False)


TABLES = (*TABLES, CalendarYear)
