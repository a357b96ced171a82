"""Site, status-event and signage bodies."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from registry.cases.schemas import Matter

Lon = Annotated[float, Meta(description="longitude in degrees, in the datum given by `crs`")]
Lat = Annotated[float, Meta(description="latitude in degrees, in the datum given by `crs`")]
Crs = Annotated[
    str, Meta(description="datum of the submitted coordinates: wgs84, cgcs2000, gcj02, bd09")
]
Status = Annotated[
    str,
    Meta(
        description="planned, under_construction, built, in_service, standardized, suspended, "
        "closed"
    ),
]
CoordMethod = Annotated[str, Meta(description="gps, map_pick, survey, geocoded")]
OpeningHours = Annotated[
    dict[str, list[list[str]]],
    Meta(
        description='per weekday (mon…sun) the intervals open, 24-hour China time: {"mon": '
        '[["08:30", "12:00"], ["14:30", "17:30"]], …, "sun": []}; a missing day is closed; '
        "overlapping intervals and an end before its start are refused. Statutory holidays "
        "close the site, make-up working days open it with Monday's hours"
    ),
]
PublicPhone = Annotated[
    str,
    Meta(
        description="the telephone published to residents: a mobile or a fixed line with its "
        "area code (0745-2712345); unlike contact_phone it is public"
    ),
]
ExcludedMatters = Annotated[
    list[str],
    Meta(description="codes of the matter catalogue this site does not handle (default: none)"),
]


class SignageProblem(msgspec.Struct):
    """``message`` is ``message_zh / message_en``."""

    code: str
    message: str
    found: str = ""
    expected: str = ""
    message_zh: str = ""
    message_en: str = ""


class SignageCheck(msgspec.Struct):
    """Standard name of a division's site and how a reported name differs from it."""

    standard_name: str
    conforms: bool | None
    problems: list[SignageProblem]
    division_code: str | None = None


class SiteCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Register a centre or agency point on a division."""

    division_code: str
    lon: Lon
    lat: Lat
    crs: Crs = "wgs84"
    signage_name: str | None = None
    address: str | None = None
    status: Status = "planned"
    effective_date: date | None = None
    note: str | None = None
    coord_method: CoordMethod | None = None
    collected_on: date | None = None
    hall_area_m2: float | None = None
    staff_count: int | None = None
    contact_phone: str | None = None


class SiteUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Change a site's location, signage or facts. Absent fields are left as they are.

    Coordinates are changed together (``lon`` and ``lat``, with ``crs``). ``version``, when
    given, must equal the site's current version (optimistic locking).
    """

    lon: float | UnsetType = UNSET
    lat: float | UnsetType = UNSET
    crs: str | UnsetType = UNSET
    signage_name: str | UnsetType | None = UNSET
    address: str | UnsetType | None = UNSET
    coord_method: str | UnsetType | None = UNSET
    collected_on: date | UnsetType | None = UNSET
    hall_area_m2: float | UnsetType | None = UNSET
    staff_count: int | UnsetType | None = UNSET
    contact_phone: str | UnsetType | None = UNSET
    note: str | UnsetType | None = UNSET
    version: int | UnsetType = UNSET
    # Public facts for residents (registry/sites/facts.py).
    opening_hours: OpeningHours | UnsetType | None = UNSET
    public_phone: PublicPhone | UnsetType | None = UNSET
    excluded_matters: ExcludedMatters | UnsetType = UNSET


# ------------------------------------------------------------------------------ the public view

# What anonymous readers may see of a site, in EVERY output that shows one: the site and the
# list, the history's edits, sites.geojson, the coverage GeoJSON's site layer and the SVG map's
# points, the public exports. Anything not listed here is withheld from them (a new column is
# private until it is added here):
# - ``contact_phone``: the point's phone is often its agent's own mobile (personal data);
# - ``created_by`` and the ``actor`` of status events and edits: staff account names (personal
#   data of officials, and the first half of a sign-in); the public history names the actor's
#   role instead;
# - ``open_division``: an internal constraint column.
# Public, on purpose: ``location_warning`` (derived only from the published coordinates and
# county outlines, it tells users of the register how far a point can be trusted),
# ``is_demo`` (hiding it would pass demonstration rows off as real ones), ``version`` and the
# timestamps (no personal data; they let copies of the register be kept current).
PUBLIC_SITE_FIELDS: frozenset[str] = frozenset(
    {
        "id",
        "division_code",
        "division_name",
        "kind",
        "standard_name",
        "signage_name",
        "signage_conforms",
        "signage_problems",
        "lon",
        "lat",
        "crs",
        "coord_method",
        "collected_on",
        "location_warning",
        "address",
        "hall_area_m2",
        "staff_count",
        "status",
        "status_since",
        "county_code",
        "township_code",
        "version",
        "is_demo",
        "created_at",
        "updated_at",
        # Public facts for residents (registry/sites/facts.py): published on purpose.
        "opening_hours",
        "public_phone",
        "excluded_matters",
    }
)


def is_public_site_field(name: str) -> bool:
    """Whether anonymous readers may see the site field ``name``."""
    return name in PUBLIC_SITE_FIELDS


def public_site_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` (a site row, a feature's properties) without the fields the public may not
    see."""
    return {k: v for k, v in values.items() if k in PUBLIC_SITE_FIELDS}


class Site(msgspec.Struct):
    """A registered site; coordinates are WGS-84. Anonymous readers see the public fields only
    (``PUBLIC_SITE_FIELDS``): ``contact_phone`` is null for them."""

    id: int
    division_code: str
    division_name: str
    kind: str
    standard_name: str
    signage_name: str | None
    signage_conforms: bool | None
    signage_problems: list[SignageProblem]
    lon: float
    lat: float
    crs: str
    coord_method: str | None
    collected_on: date | None
    location_warning: str | None
    address: str | None
    hall_area_m2: float | None
    staff_count: int | None
    contact_phone: str | None
    status: str
    status_since: date
    county_code: str
    township_code: str
    version: int
    is_demo: bool
    created_at: datetime
    updated_at: datetime
    warnings: list[str] = msgspec.field(default_factory=list)
    opening_hours: OpeningHours | None = None
    public_phone: PublicPhone | None = None
    excluded_matters: ExcludedMatters = msgspec.field(default_factory=list)


class SiteList(msgspec.Struct):
    items: list[Site]
    total: int
    limit: int
    offset: int


class StatusChange(msgspec.Struct, forbid_unknown_fields=True):
    """Record a dated status change."""

    status: Status
    effective_date: date
    note: str | None = None


class StatusEvent(msgspec.Struct):
    """A dated status change. ``actor`` is the account that recorded it; anonymous readers of
    the history see the account's role instead (县级规划员, 市政务服务中心 …)."""

    id: int
    site_id: int
    status: str
    previous_status: str | None
    effective_date: date
    note: str | None
    skipped: list[str]
    actor: str
    recorded_at: datetime


class Edit(msgspec.Struct):
    """One audited field change of a site. Anonymous readers see changes of public fields
    only, and the role of who made them instead of the account (as for status events)."""

    field: str
    before: object
    after: object
    actor: str
    at: datetime
    action: str = "update"
    method: str | None = None


class SiteHistory(msgspec.Struct):
    site_id: int
    events: list[StatusEvent]
    edits: list[Edit]
    # The statuses the site may move to now (none once closed), and those of them that need
    # a note (a closure, a backward move): what a status form offers.
    allowed_next: list[str] = []
    note_required: list[str] = []


# ------------------------------------------------------------------------------ sign plates


class CountySigns(msgspec.Struct):
    """Sign plates of one county's sites that need one (built, in service or suspended: not
    planned, not closed): ``missing`` (no sign reported), ``nonconforming`` (a sign that is
    not the standard name) and ``to_replace`` (their sum, what is still to be ordered)."""

    county_code: str
    county_name: str
    sites: int
    conforming: int
    missing: int
    nonconforming: int
    to_replace: int


class SignSummary(msgspec.Struct):
    items: list[CountySigns]
    sites: int
    to_replace: int


class SiteFacts(msgspec.Struct):
    """What residents read about a site (public): address, public telephone, weekly hours,
    the intervals it is open on ``day`` by the statutory calendar (``day_kind``: workday,
    weekend, holiday, makeup) and the matters it handles, each with its service guide."""

    site_id: int
    division_code: str
    standard_name: str
    address: str | None
    public_phone: str | None
    opening_hours: OpeningHours | None
    hours_recorded: bool
    day: date
    day_kind: str
    open_today: list[list[str]]
    today_text: str
    excluded_matters: list[str]
    matters: list[Matter]
