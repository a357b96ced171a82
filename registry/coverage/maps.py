"""Coverage maps: the counties' figures as GeoJSON (with the sites), and the SVG choropleth.

Outlines are the stored simplified county boundaries; the drawing is :mod:`geo.render`'s,
given the registry's vocabulary (the coverage classes, the status colours and labels).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import msgspec
import shapely
from piccolo.querystring import QueryString
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geo.geojson_io import feature, feature_collection, point_feature
from geo.render import Area, MapPoint, PointStyle, render_choropleth
from registry.core import runtime
from registry.core.codes import like_prefix
from registry.core.params import one_of
from registry.core.runtime import LRU
from registry.coverage import rules as maths
from registry.coverage.areas import coverage
from registry.coverage.figures import TOTAL_WORDS, get_county
from registry.coverage.schemas import Coverage, UnitFigures
from registry.coverage.sql import Part, compose
from registry.divisions.rules import CENTRE_KINDS, SITE_KINDS
from registry.sites.rules import status as status_rules
from registry.sites.rules.status import STATUSES
from registry.sites.schemas import public_site_values
from registry.sites.service import STATUS_ON_SQL
from registry.tables import DivisionBoundary, StatusEvent

# How the stored map outlines were made (seed/loader.py): shapely coverage_simplify at
# 0.001° (≈ 100 m), topology shared between neighbours, rounded to 4 decimals (≈ 10 m).
SIMPLIFICATION = "coverage_simplify 0.001° (≈100 m), topology preserved, 4 decimals"
SIMPLIFICATION_ZH = "高德 GCJ-02 转 WGS-84，拓扑保持简化 0.001°（约 100 米），保留 4 位小数"


# --------------------------------------------------------------------------- sites on a date


def sites_on_statement(
    day: date,
    county: str | None,
    kind: str | None,
    status: str | None,
    within: str | None = None,
) -> QueryString:
    """Sites with their status on ``day`` (sites' service's latest-status statement), filtered
    (by county, or by the area ``within``); closed ones only when ``status='closed'``."""
    filters: list[Part] = []
    if county:
        filters.append(QueryString(" AND s.county_code = {}", county))
    elif within:
        filters.append(QueryString(" AND s.county_code LIKE {}", like_prefix(within)))
    if kind:
        filters.append(QueryString(" AND s.kind = {}", kind))
    if status:
        filters.append(QueryString(" AND latest.status = {}", status))
    else:
        filters.append(" AND latest.status <> 'closed'")
    return compose(
        """
SELECT s.id, s.division AS division_code, s.kind, s.standard_name, s.signage_conforms,
       s.county_code, s.township_code, s.lon, s.lat, latest.status
FROM site s
JOIN (""",
        QueryString(STATUS_ON_SQL, day),
        """) latest ON latest.site = s.id
WHERE 1 = 1""",
        *filters,
        """
ORDER BY s.id
""",
    )


async def sites_on(
    day: date,
    county: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    within: str | None = None,
) -> list[dict[str, Any]]:
    """Sites registered by ``day`` with their status on ``day`` (closed ones only when
    ``status='closed'`` is asked for), of one county or of the area ``within``."""
    kind = one_of(kind, SITE_KINDS, "kind")
    status = one_of(status, STATUSES, "status")
    rows = await StatusEvent.raw("{}", sites_on_statement(day, county, kind, status, within))
    for row in rows:
        if row["signage_conforms"] is not None:
            row["signage_conforms"] = bool(row["signage_conforms"])
    return rows


async def _outline_texts(level: str = "county") -> dict[str, str]:
    rows = await DivisionBoundary.select(
        DivisionBoundary.division.as_alias("code"), DivisionBoundary.simplified
    ).where(DivisionBoundary.division.level == level)
    return {r["code"]: r["simplified"] for r in rows}


async def county_outlines(level: str = "county") -> dict[str, dict[str, Any]]:
    """Map outlines (simplified GeoJSON geometry) of the counties (or of the units of another
    ``level``: the provinces of the nation's map), by code."""
    return {code: json.loads(text) for code, text in (await _outline_texts(level)).items()}


async def county_shapes(level: str = "county") -> dict[str, BaseGeometry]:
    """The same outlines as shapely geometries, for the SVG map: parsed once per distinct text
    (the same objects on every map, so the SVG renderer's memo of their paths holds)."""
    parsed = runtime.current().slot("coverage.outlines", lambda: LRU(4096))
    shapes = {}
    for code, text in (await _outline_texts(level)).items():
        geometry = parsed.get(text)
        if geometry is None:
            # GEOS reads the text (shape(json.loads()) took 0.6 ms each)
            geometry = shapely.from_geojson(text)
            parsed.put(text, geometry)
        shapes[code] = geometry
    return shapes


# --------------------------------------------------------------------------- GeoJSON and SVG


def map_units(report: Coverage) -> tuple[str, list[UnitFigures]]:
    """What a map of the report's area shows: the provinces when the area is the nation (its
    ~2,900 counties would be megabytes and unreadable at that size; a province opens as an
    area of its own), else the counties."""
    if report.total.level == "nation" and report.provinces is not None:
        return "province", report.provinces
    return "county", report.counties


def _properties(unit: UnitFigures, coverage_: Coverage, layer: str = "county") -> dict[str, Any]:
    """Flat, GDAL-friendly properties (dates as ISO text, flags as comma-separated text)."""
    props = msgspec.to_builtins(unit)
    props["flags"] = ",".join(unit.flags)
    props["as_of"] = coverage_.as_of.isoformat()
    props["campaign"] = coverage_.campaign
    props["layer"] = layer
    props.pop("county_code", None)
    props.pop("county_name", None)
    return props


async def coverage_geojson(
    as_of: str | None,
    campaign: str | None,
    sites: bool = True,
    county: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    within: str | None = None,
) -> dict[str, Any]:
    """Counties (of the area ``within``, the root by default; provinces, ``layer`` province,
    when the area is the nation) with every figure as properties, and (optionally) sites as
    points with their kind and status on ``as_of``. RFC 7946: WGS-84 lon/lat, no ``crs``
    member."""
    report = await coverage(as_of, campaign, within=within)
    drill = (await get_county(county))[0] if county else None
    layer, units = map_units(report)
    outlines = await county_outlines(layer)
    features = []
    for u in units:
        outline = outlines.get(u.code)
        props = _properties(u, report, layer)
        if outline is not None:
            # Where a map puts the county's name: a point inside its largest part.
            geom = shape(outline)
            largest = max(getattr(geom, "geoms", [geom]), key=lambda g: g.area)
            anchor = largest.point_on_surface()
            props["label_lon"], props["label_lat"] = round(anchor.x, 4), round(anchor.y, 4)
        features.append(feature(outline, props, id=u.code))
    if sites:
        for row in await _sites_within(report, drill, kind, status):
            # A public output: the public fields of a site only (registry.sites.schemas).
            properties = public_site_values(row)
            lon, lat = properties.pop("lon"), properties.pop("lat")
            properties["layer"] = "site"
            features.append(point_feature(lon, lat, properties, id=f"site-{row['id']}"))
    return feature_collection(
        features,
        name=f"coverage {report.campaign} {report.as_of.isoformat()}",
        as_of=report.as_of.isoformat(),
        campaign=report.campaign,
        total=_properties(report.total, report) | {"layer": report.total.level},
        simplification=SIMPLIFICATION,
    )


SITE_STYLE = PointStyle(
    colours=status_rules.COLOURS,
    labels=status_rules.LABELS_ZH,
    title="站点状态",
    large_kinds=frozenset(CENTRE_KINDS),
    note="大圆点：便民服务中心",
)


def _percent(value: float | None) -> str:
    return "无数据" if value is None else f"{value * 100:.1f}%"


async def _sites_within(
    report: Coverage, county: str | None, kind: str | None, status: str | None
) -> list[dict[str, Any]]:
    """The sites of the report's area (or of one county) on its date."""
    area = report.total.code if report.total.level != "nation" else None
    return await sites_on(report.as_of, county, kind, status, area)


async def coverage_svg(
    as_of: str | None,
    campaign: str | None,
    sites: bool = False,
    kind: str | None = None,
    status: str | None = None,
    within: str | None = None,
) -> str:
    """The county choropleth of the campaign's figure on ``as_of`` for the area ``within``
    (the root by default), titled with the area's name (see geo.render)."""
    report = await coverage(as_of, campaign, within=within)
    layer, units = map_units(report)
    outlines = await county_shapes(layer)
    info = report.campaign_info
    areas = [
        Area(
            code=u.code,
            name=u.name,
            geometry=outlines[u.code],
            value=u.figure,
            caption=_percent(u.figure),
            properties={
                "target": f"{u.target:.4f}",
                "on-track": "" if u.on_track is None else str(u.on_track).lower(),
            },
        )
        for u in units
        if u.code in outlines
    ]
    points = []
    if sites:
        points = [
            MapPoint(p["lon"], p["lat"], p["kind"], p["status"], p["standard_name"])
            for p in map(public_site_values, await _sites_within(report, None, kind, status))
        ]
    day = report.as_of
    total = report.total
    return render_choropleth(
        areas,
        title=f"{total.name}{info.name} · 截至 {day.year}年{day.month}月{day.day}日",
        subtitle=(
            f"{info.figure_label}（{info.code}，{info.start_on}—{info.deadline}）"
            f" · {TOTAL_WORDS[total.level]} {_percent(total.figure)}"
            f" · 目标 {_percent(total.target)}"
        ),
        scheme=maths.COVERAGE_CLASSES,
        legend_title=info.figure_label,
        points=points,
        point_style=SITE_STYLE,
        note=(
            f"数据：便民服务登记系统（截至 {day.isoformat()}）· 边界：{SIMPLIFICATION_ZH}"
            f" · 分级：{maths.COVERAGE_CLASSES.name}"
        ),
    )
