"""Checks on a submitted location: numbers, ranges, swapped axes, datum, containment."""

from __future__ import annotations

import math

from geo.boundaries import Containment, swapped_latlon
from geo.crs import CRS_VALUES, to_wgs84
from registry.domain.errors import RuleViolation

COORD_METHODS = ("gps", "map_pick", "survey", "geocoded")


def normalise_crs(crs: str | None) -> str:
    """The datum name in lower case; unknown names are refused with the accepted list."""
    value = (crs or "wgs84").strip().lower().replace("-", "").replace("_", "")
    if value not in CRS_VALUES:
        raise RuleViolation(
            "unknown_crs",
            f"未知坐标系：{crs}（可选：{'、'.join(CRS_VALUES)}）",
            f"unknown crs {crs!r}; one of {', '.join(CRS_VALUES)}",
            "crs",
            allowed=list(CRS_VALUES),
        )
    return value


def check_coord_method(method: str | None) -> str | None:
    if method is None:
        return None
    if method not in COORD_METHODS:
        raise RuleViolation(
            "invalid_coord_method",
            f"坐标采集方式无效：{method}（可选：{'、'.join(COORD_METHODS)}）",
            f"invalid coord_method {method!r}; one of {', '.join(COORD_METHODS)}",
            "coord_method",
            allowed=list(COORD_METHODS),
        )
    return method


def to_wgs84_checked(lon: float, lat: float, crs: str | None) -> tuple[float, float, str]:
    """Validate a submitted point and convert it to WGS-84.

    Returns:
        (lon, lat, crs) with lon/lat in WGS-84 and the normalised datum name.

    Raises:
        RuleViolation: ``coordinates_not_finite``, ``coordinates_swapped``,
            ``coordinates_out_of_range`` or ``unknown_crs``.
    """
    datum = normalise_crs(crs)
    for name, value in (("lon", lon), ("lat", lat)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RuleViolation(
                "coordinates_not_numeric", f"{name} 必须是数字", f"{name} must be a number", name
            )
        if not math.isfinite(value):
            raise RuleViolation(
                "coordinates_not_finite",
                f"{name} 不能是 NaN 或无穷大",
                f"{name} must be a finite number",
                name,
            )
    if swapped_latlon(lon, lat):
        raise RuleViolation(
            "coordinates_swapped",
            f"经纬度似乎颠倒了：经度 {lon}、纬度 {lat}；应为经度 {lat}、纬度 {lon}",
            f"longitude and latitude look swapped: got lon={lon}, lat={lat}; "
            f"did you mean lon={lat}, lat={lon}?",
            "lon",
            suggested={"lon": lat, "lat": lon},
        )
    if not -180.0 <= lon <= 180.0 or not -90.0 <= lat <= 90.0:
        raise RuleViolation(
            "coordinates_out_of_range",
            f"坐标超出范围：经度应在 ±180、纬度应在 ±90 之间（收到 {lon}, {lat}）",
            f"coordinates out of range: lon must be within ±180 and lat within ±90 "
            f"(got {lon}, {lat})",
            "lon" if not -180.0 <= lon <= 180.0 else "lat",
        )
    wlon, wlat = to_wgs84(lon, lat, datum)
    return wlon, wlat, datum


def containment_warning(
    result: Containment,
    county_name: str,
    tolerance_m: float,
    located: tuple[str, str] | None,
) -> str | None:
    """The warning to keep for a point just outside its county; a violation beyond tolerance.

    Args:
        result: the containment check of the point against the county.
        county_name: name of the county the site belongs to.
        tolerance_m: accepted distance outside the boundary.
        located: (code, name) of the county the point actually falls in, if any.
    """
    metres, tolerance = round(result.distance_m), round(tolerance_m)
    if result.accepted:
        if result.inside:
            return None
        return (
            f"坐标位于{county_name}边界外 {metres} 米（容差 {tolerance} 米内，已接受） / "
            f"the point lies {metres} m outside {county_name} "
            f"(within the {tolerance} m tolerance, accepted)"
        )
    where_zh = f"，落在{located[1]}境内" if located else ""
    where_en = f"; it falls in {located[1]} ({located[0]})" if located else ""
    raise RuleViolation(
        "outside_boundary",
        f"坐标位于{county_name}边界外 {metres} 米，超出 {tolerance} 米容差{where_zh}",
        f"the point lies {round(result.distance_m)} m outside {county_name}, beyond the "
        f"{round(tolerance_m)} m tolerance{where_en}",
        "lon",
        distance_m=round(result.distance_m, 1),
        tolerance_m=tolerance_m,
        located_in=({"code": located[0], "name": located[1]} if located else None),
    )
