"""Division bodies."""

from __future__ import annotations

from datetime import date

import msgspec


class Division(msgspec.Struct):
    """An administrative division (codes always 12 digits)."""

    code: str
    name: str
    level: str
    kind: str
    parent_code: str | None
    county_code: str | None = None
    township_code: str | None = None
    established_on: date | None = None
    abolished_on: date | None = None
    is_demo: bool = False
    official_name: str | None = None


class DivisionDetail(Division):
    """A division with the number of divisions below it, by level, its boundary flag, the
    other official codes it is known by, and its predecessors and successors."""

    children: dict[str, int] = msgspec.field(default_factory=dict)
    has_boundary: bool = False
    aliases: list[dict[str, str]] = msgspec.field(default_factory=list)
    predecessors: list[str] = msgspec.field(default_factory=list)
    successors: list[str] = msgspec.field(default_factory=list)


class DivisionList(msgspec.Struct):
    items: list[Division]
    total: int
    limit: int
    offset: int


class CountyRef(msgspec.Struct):
    code: str
    name: str


class Located(msgspec.Struct):
    """Where a point lies. ``township`` is null: the registry holds no township boundaries."""

    county: CountyRef
    township: CountyRef | None
    lon: float
    lat: float
    crs: str


class RegisterMatch(msgspec.Struct):
    """How one statistical township maps to the register (``rule`` of the reconciliation)."""

    nbs_code: str
    nbs_name: str
    rule: str
    division_code: str
    division_name: str
    note: str = ""


class RegisterChange(msgspec.Struct):
    """One change a list makes to the villages: new, renamed, moved, merged, abolished."""

    change: str
    code: str
    name: str
    township_code: str
    before_name: str | None = None
    predecessors: list[str] = msgspec.field(default_factory=list)


class RegisterSite(msgspec.Struct):
    """An open site on a division the list abolishes (for the planner to decide about)."""

    site_id: int
    division_code: str
    standard_name: str
    status: str


class RegisterError(msgspec.Struct):
    level: str
    row: int
    column: str
    code: str
    message: str


class RegisterReport(msgspec.Struct):
    """What an import of the statistical register did (or, in a dry run, would do)."""

    as_of: date | None
    root: str
    written: bool
    files: dict[str, int]
    skipped_outside_root: int
    reconciliation: dict[str, int]
    townships: list[RegisterMatch]
    changes: dict[str, int]
    village_changes: list[RegisterChange]
    open_sites_of_abolished: list[RegisterSite]
    errors: list[RegisterError]
