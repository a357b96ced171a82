"""Coverage bodies: figures per county, township and city; monthly series; campaigns."""

from datetime import date
from typing import Annotated

import msgspec
from msgspec import Meta

Share = Annotated[
    float | None,
    Meta(description="a share between 0 and 1; null when its denominator is 0 (see `flags`)"),
]


class CampaignInfo(msgspec.Struct):
    """A campaign whose figure is tracked."""

    code: str
    name: str
    start_on: date
    deadline: date
    figure: Annotated[str, Meta(description="agency_coverage or standardization")]
    figure_label: str


class CampaignList(msgspec.Struct):
    items: list[CampaignInfo]
    total: int


class UnitFigures(msgspec.Struct, gc=False):
    """Every coverage figure of one unit (county, township or the city) on ``as_of``.

    Kept by the thousands (memoised figures, whole answers): out of the cyclic collector's
    sight (``gc=False``; strings, numbers and a list of strings: no cycle goes through one)."""

    code: str
    name: str
    level: Annotated[str, Meta(description="nation, province, city, county or township")]
    villages_total: int
    points_built: int
    points_in_service: int
    points_active: int
    agency_coverage: Share
    townships_total: int
    centres_in_service: int
    centres_standardized: int
    standardization: Share
    figure: Annotated[float | None, Meta(description="the campaign's figure (one of the two)")]
    target: Annotated[float, Meta(description="target share on as_of")]
    target_source: Annotated[str, Meta(description="plan (approved plan) or linear")]
    on_track: bool | None
    achieved: bool | None
    projected_completion: date | None
    flags: Annotated[
        tuple[str, ...],
        Meta(description="why a share is null: no_villages, no_townships"),
    ]
    county_code: str | None = None
    county_name: str | None = None


# Two capabilities name a struct UnitFigures; the API document has called this one
# coverage_UnitFigures since before the split (the component name comes from the module path), so
# generated clients keep working. The annotations of this module are evaluated eagerly (no
# ``from __future__ import annotations``): resolving them must not need this module's globals.
UnitFigures.__module__ = "registry.coverage"


class Coverage(msgspec.Struct):
    """``/api/coverage``: per county (and township for a drill-down) and the total of the area
    (the root — a city, a province, the nation — or a province or city within it), with its
    cities (a province or the nation) and provinces (the nation)."""

    as_of: date
    campaign: str
    campaign_info: CampaignInfo
    counties: list[UnitFigures]
    total: UnitFigures
    townships: list[UnitFigures] | None = None
    cities: list[UnitFigures] | None = None
    provinces: list[UnitFigures] | None = None


class TownshipCoverage(msgspec.Struct):
    """``/api/coverage/townships``: every township (of one county or the city)."""

    as_of: date
    campaign: str
    county: str | None
    items: list[UnitFigures]
    total: int


class SeriesPoint(msgspec.Struct):
    """One monthly value: as of the month's last day (or as_of in as_of's month)."""

    month: Annotated[str, Meta(description="YYYY-MM")]
    day: Annotated[date, Meta(description="the date the value is taken on")]
    agency_coverage: Share
    standardization: Share
    figure: float | None
    target: float
    on_track: bool | None
    villages_total: int | None = None
    points_in_service: int | None = None
    townships_total: int | None = None
    centres_standardized: int | None = None


class Timeseries(msgspec.Struct):
    """``/api/coverage/timeseries``: monthly points from the campaign start.

    Points run to the deadline or to ``as_of`` if later; months after ``as_of`` carry the
    target only (figures null)."""

    county: str | None
    county_name: str
    campaign: str
    campaign_info: CampaignInfo
    as_of: date
    target_source: str
    projected_completion: date | None
    points: list[SeriesPoint]
