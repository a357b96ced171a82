"""What the residents' search answers: places found, their points and centres, nearby points.

Only public facts of a site are here (its standard name, status, address, public phone,
opening hours, location): never ``contact_phone``, never resident data.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta


class Point(msgspec.Struct):
    """A service centre or agency point as a resident sees it; coordinates in WGS-84."""

    division_code: str
    division_name: str
    kind: Annotated[str, Meta(description="township_centre, street_centre, village_point, …")]
    kind_label: str
    name: Annotated[str, Meta(description="the standard sign name (标准名称)")]
    status: str
    status_label: str
    serving: Annotated[bool, Meta(description="in service (已运行 or 已达标)")]
    address: str | None
    public_phone: str | None
    hours_today: Annotated[str, Meta(description="today's opening hours in words (China time)")]
    opening_hours: dict[str, list[list[str]]] | None
    lon: float
    lat: float
    url: Annotated[str, Meta(description="the site's public page, /s/{division_code}")]
    distance_m: float | None = None
    distance_text: str | None = None


class Township(msgspec.Struct):
    """A township of a county found by name, and the state of its service centre."""

    code: str
    name: str
    url: Annotated[str, Meta(description="the public page of its centre, /s/{code}")]
    centre_status: Annotated[str | None, Meta(description="its centre's status, or null")]
    centre_status_label: Annotated[str, Meta(description="in words: 已运行, 未登记 …")]
    serving: bool


class Hit(msgspec.Struct):
    """A place that matches the query, with the village's point and the township's centre.

    ``nearest``: when the village has no point in service, the nearest one that is.
    ``townships``: a county's townships (streets) and the state of their centres.
    """

    division_code: str
    name: str
    level: str
    level_label: str
    township_name: str | None
    county_name: str | None
    url: str | None
    point: Point | None = None
    centre: Point | None = None
    nearest: Point | None = None
    townships: list[Township] = msgspec.field(default_factory=list)


class FindResult(msgspec.Struct):
    """``items``: places matching ``q``; ``nearby``: the nearest points in service to the
    given location (``lon``/``lat``), nearest first."""

    query: str
    items: list[Hit]
    nearby: list[Point]
    location: list[float] | None = None
