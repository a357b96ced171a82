"""Checks on a submitted location: numbers, ranges, swapped axes, datum, containment."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from geo.boundaries import BoundaryIndex, Containment, swapped_latlon
from geo.crs import CRS_VALUES, out_of_china_arrays, to_wgs84, to_wgs84_arrays
from registry.core.errors import RuleViolation

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


def _not_numeric(name: str) -> RuleViolation:
    return RuleViolation(
        "coordinates_not_numeric", f"{name} 必须是数字", f"{name} must be a number", name
    )


def _not_finite(name: str) -> RuleViolation:
    return RuleViolation(
        "coordinates_not_finite",
        f"{name} 不能是 NaN 或无穷大",
        f"{name} must be a finite number",
        name,
    )


def _swapped(lon: float, lat: float) -> RuleViolation:
    return RuleViolation(
        "coordinates_swapped",
        f"经纬度似乎颠倒了：经度 {lon}、纬度 {lat}；应为经度 {lat}、纬度 {lon}",
        f"longitude and latitude look swapped: got lon={lon}, lat={lat}; "
        f"did you mean lon={lat}, lat={lon}?",
        "lon",
        suggested={"lon": lat, "lat": lon},
    )


def _out_of_range(lon: float, lat: float) -> RuleViolation:
    return RuleViolation(
        "coordinates_out_of_range",
        f"坐标超出范围：经度应在 ±180、纬度应在 ±90 之间（收到 {lon}, {lat}）",
        f"coordinates out of range: lon must be within ±180 and lat within ±90 (got {lon}, {lat})",
        "lon" if not -180.0 <= lon <= 180.0 else "lat",
    )


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
            raise _not_numeric(name)
        if not math.isfinite(value):
            raise _not_finite(name)
    if swapped_latlon(lon, lat):
        raise _swapped(lon, lat)
    if not -180.0 <= lon <= 180.0 or not -90.0 <= lat <= 90.0:
        raise _out_of_range(lon, lat)
    wlon, wlat = to_wgs84(lon, lat, datum)
    return wlon, wlat, datum


class CheckedPoints(NamedTuple):
    """Result of :func:`to_wgs84_checked_many`: WGS-84 arrays (NaN where refused), the
    normalised datum of each point and, per point, the violation that refused it or None."""

    lons: npt.NDArray[np.float64]
    lats: npt.NDArray[np.float64]
    datums: list[str | None]
    errors: list[RuleViolation | None]


def to_wgs84_checked_many(
    lons: Sequence[float], lats: Sequence[float], crs: Sequence[str | None]
) -> CheckedPoints:
    """:func:`to_wgs84_checked` for many points at once (array operations, same rules).

    Values must already be floats (parse text before); NaN or infinity is refused.
    """
    n = len(lons)
    lon_arr = np.asarray(lons, dtype=np.float64).reshape(n)
    lat_arr = np.asarray(lats, dtype=np.float64).reshape(n)
    errors: list[RuleViolation | None] = [None] * n
    known: dict[str | None, str | RuleViolation] = {}
    for value in set(crs):  # a handful of distinct spellings, whatever the row count
        try:
            known[value] = normalise_crs(value)
        except RuleViolation as exc:
            known[value] = exc
    found = [known[v] for v in crs]
    datums: list[str | None] = found  # type: ignore[assignment]
    rejected = any(isinstance(v, RuleViolation) for v in known.values())
    if rejected:
        datums = [None if isinstance(v, RuleViolation) else v for v in found]
        for i, v in enumerate(found):
            if isinstance(v, RuleViolation):
                errors[i] = v
    finite_lon, finite_lat = np.isfinite(lon_arr), np.isfinite(lat_arr)
    safe_lon = np.where(finite_lon, lon_arr, 0.0)
    safe_lat = np.where(finite_lat, lat_arr, 0.0)
    swapped = out_of_china_arrays(safe_lon, safe_lat) & ~out_of_china_arrays(safe_lat, safe_lon)
    in_range = (np.abs(safe_lon) <= 180.0) & (np.abs(safe_lat) <= 90.0)
    bad = ~(finite_lon & finite_lat & in_range) | swapped
    for i in np.flatnonzero(bad).tolist():
        rejected = True
        if errors[i] is not None:
            continue
        if not finite_lon[i]:
            errors[i] = _not_finite("lon")
        elif not finite_lat[i]:
            errors[i] = _not_finite("lat")
        elif swapped[i]:
            errors[i] = _swapped(float(lon_arr[i]), float(lat_arr[i]))
        else:
            errors[i] = _out_of_range(float(lon_arr[i]), float(lat_arr[i]))
    out_lon = np.full(n, np.nan)
    out_lat = np.full(n, np.nan)
    ok = ~bad
    if rejected:
        ok &= np.fromiter((e is None for e in errors), bool, n)
    distinct = {d for d in known.values() if isinstance(d, str)}
    datum_arr = np.asarray(datums, dtype=object) if len(distinct) > 1 else None
    for datum in distinct:
        members = ok if datum_arr is None else ok & (datum_arr == datum)
        if members.any():
            out_lon[members], out_lat[members] = to_wgs84_arrays(
                lon_arr[members], lat_arr[members], datum
            )
    return CheckedPoints(out_lon, out_lat, datums, errors)


def no_boundary_warning(county_name: str) -> str:
    """The flag kept on a site whose county has no boundary data (location not checked)."""
    return (
        f"{county_name}无边界数据，未做位置校验 / {county_name} has no boundary data; "
        "the location was not checked"
    )


def borrowed_outline_note(county_name: str, outline_name: str) -> str:
    """The note kept on a site checked against another unit's outline (怀化市洪江管理区 has
    none of its own; its area lies within 洪江市's)."""
    return (
        f"{county_name}无单独边界，按{outline_name}的边界校验 / {county_name} has no outline "
        f"of its own; the location was checked against {outline_name}'s"
    )


def with_note(note: str, warning: str | None) -> str:
    """A note and a warning kept together (the note alone when there is no warning)."""
    return note if warning is None else f"{note}；{warning}"


class Containments(NamedTuple):
    """Per point: the warning to keep (or None) and the violation refusing it (or None)."""

    warnings: list[str | None]
    errors: list[RuleViolation | None]


def check_containment_many(
    index: BoundaryIndex,
    county_codes: Sequence[str],
    county_names: Sequence[str],
    lons: npt.ArrayLike,
    lats: npt.ArrayLike,
    tolerance_m: float,
) -> Containments:
    """Check WGS-84 points against the counties they claim, in bulk.

    One ``STRtree`` query locates every point (:meth:`BoundaryIndex.locate_many`); only the
    points not found inside their own county get a distance (:meth:`BoundaryIndex.check_many`)
    and the rules of :func:`containment_warning`. Counties without a boundary are skipped and
    flagged with :func:`no_boundary_warning`.
    """
    n = len(county_codes)
    lon_arr = np.asarray(lons, dtype=np.float64).reshape(n)
    lat_arr = np.asarray(lats, dtype=np.float64).reshape(n)
    warnings: list[str | None] = [None] * n
    errors: list[RuleViolation | None] = [None] * n
    if n == 0:
        return Containments(warnings, errors)
    claimed = np.asarray(county_codes, dtype=object)
    located = np.asarray(index.locate_many(lon_arr, lat_arr), dtype=object)
    distinct = set(county_codes)
    missing = {c for c in distinct if c not in index}
    if missing:
        has_boundary = np.fromiter((c not in missing for c in county_codes), bool, n)
    else:
        has_boundary = np.ones(n, dtype=bool)
    for i in np.flatnonzero(~has_boundary).tolist():
        warnings[i] = no_boundary_warning(county_names[i])
    suspects = np.flatnonzero(has_boundary & (located != claimed))
    if suspects.size:
        results = index.check_many(
            [county_codes[i] for i in suspects.tolist()],
            lon_arr[suspects],
            lat_arr[suspects],
            tolerance_m,
        )
        for i, result in zip(suspects.tolist(), results, strict=True):
            where = located[i]
            found = (where, index.get(where).name) if where is not None else None
            try:
                warnings[i] = containment_warning(result, county_names[i], tolerance_m, found)
            except RuleViolation as exc:
                errors[i] = exc
    return Containments(warnings, errors)


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
