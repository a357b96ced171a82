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


class DivisionDetail(Division):
    """A division with the number of divisions below it, by level, and its boundary flag."""

    children: dict[str, int] = msgspec.field(default_factory=dict)
    has_boundary: bool = False


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
