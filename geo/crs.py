"""Conversions between WGS-84, CGCS2000, GCJ-02 and BD-09 longitude/latitude.

Forward transforms (WGS-84 → GCJ-02 → BD-09) use the public formulas (Krasovsky ellipsoid,
``a = 6378245.0``, ``ee = 0.00669342162296594323``; BD-09 with ``x_pi = π * 3000 / 180``).
Inverse transforms are computed by fixed-point refinement of the forward formulas until the
residual is below :data:`INVERSE_TOLERANCE_DEG` (about 1e-11 degrees, i.e. micrometres).

CGCS2000 is treated as identical to WGS-84 (they differ by centimetres). Points outside the
rough China rectangle (:func:`out_of_china`) are never shifted by any transform.

Every formula exists once, written with numpy so that it works element-wise on arrays; the
scalar functions are thin wrappers around the array functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

__all__ = [
    "CRS_VALUES",
    "INVERSE_TOLERANCE_DEG",
    "bd09_to_gcj02",
    "bd09_to_gcj02_arrays",
    "bd09_to_wgs84",
    "convert_arrays",
    "from_wgs84",
    "from_wgs84_arrays",
    "gcj02_to_bd09",
    "gcj02_to_bd09_arrays",
    "gcj02_to_wgs84",
    "gcj02_to_wgs84_arrays",
    "normalize_crs",
    "out_of_china",
    "out_of_china_arrays",
    "to_wgs84",
    "to_wgs84_arrays",
    "transform_geometry",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
    "wgs84_to_gcj02_arrays",
]

CRS_VALUES: tuple[str, ...] = ("wgs84", "cgcs2000", "gcj02", "bd09")
"""Accepted coordinate reference system names (lower case)."""

INVERSE_TOLERANCE_DEG = 1e-11
"""Stop refining an inverse transform once every point moves less than this (degrees)."""

_MAX_ITERATIONS = 30
# Shifts are < 0.02°, so targets farther than this from China's rectangle are never shifted.
_INVERSE_MARGIN_DEG = 0.1

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 obfuscation.
_A = 6378245.0
_EE = 0.00669342162296594323
# BD-09 constant.
_X_PI = math.pi * 3000.0 / 180.0

# Rough bounding rectangle of China used by every public implementation.
_CHINA_LON_MIN, _CHINA_LON_MAX = 72.004, 137.8347
_CHINA_LAT_MIN, _CHINA_LAT_MAX = 0.8293, 55.8271

_IDENTITY_CRS = frozenset({"wgs84", "cgcs2000"})

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike


# --------------------------------------------------------------------------- helpers


def normalize_crs(crs: str) -> str:
    """Return the canonical (lower-case) name of ``crs``.

    Args:
        crs: A CRS name such as ``"gcj02"``; case and surrounding spaces are ignored.

    Returns:
        One of :data:`CRS_VALUES`.

    Raises:
        ValueError: If ``crs`` is not one of :data:`CRS_VALUES`.
    """
    name = crs.strip().lower() if isinstance(crs, str) else crs
    if name not in CRS_VALUES:
        accepted = ", ".join(CRS_VALUES)
        raise ValueError(f"unknown crs {crs!r}; accepted values: {accepted}")
    return name


def _as_arrays(lons: ArrayLike, lats: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert inputs to float64 arrays of the same shape."""
    lon_arr = np.asarray(lons, dtype=np.float64)
    lat_arr = np.asarray(lats, dtype=np.float64)
    if lon_arr.shape != lat_arr.shape:
        raise ValueError(f"lons and lats shapes differ: {lon_arr.shape} != {lat_arr.shape}")
    return lon_arr, lat_arr


def _outside_rectangle(
    lons: FloatArray, lats: FloatArray, margin: float = 0.0
) -> npt.NDArray[np.bool_]:
    """True where a point is outside China's rectangle grown by ``margin`` degrees."""
    inside = (
        (lons >= _CHINA_LON_MIN - margin)
        & (lons <= _CHINA_LON_MAX + margin)
        & (lats >= _CHINA_LAT_MIN - margin)
        & (lats <= _CHINA_LAT_MAX + margin)
    )
    return ~inside


def out_of_china_arrays(lons: ArrayLike, lats: ArrayLike) -> npt.NDArray[np.bool_]:
    """Element-wise :func:`out_of_china`.

    Args:
        lons: Longitudes in degrees.
        lats: Latitudes in degrees.

    Returns:
        Boolean array, True where the point lies outside China's rectangle.
    """
    return _outside_rectangle(*_as_arrays(lons, lats))


def out_of_china(lon: float, lat: float) -> bool:
    """Tell whether a point lies outside the rough China rectangle.

    Args:
        lon: Longitude in degrees.
        lat: Latitude in degrees.

    Returns:
        True outside 72.004–137.8347 E / 0.8293–55.8271 N (such points are never shifted).
    """
    return bool(out_of_china_arrays(lon, lat))


# --------------------------------------------------------------------------- GCJ-02


def _gcj02_delta(lons: FloatArray, lats: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return the GCJ-02 offset (dlon, dlat) in degrees at WGS-84 points (no China test)."""
    x = lons - 105.0
    y = lats - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0

    rad_lat = lats / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def _wgs84_to_gcj02_raw(lons: FloatArray, lats: FloatArray) -> tuple[FloatArray, FloatArray]:
    """WGS-84 → GCJ-02 applied everywhere (no China test)."""
    dlon, dlat = _gcj02_delta(lons, lats)
    return lons + dlon, lats + dlat


def _keep_outside(
    lons: FloatArray, lats: FloatArray, new_lons: FloatArray, new_lats: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Use the new coordinates inside China and the original ones outside."""
    outside = out_of_china_arrays(lons, lats)
    return np.where(outside, lons, new_lons), np.where(outside, lats, new_lats)


def wgs84_to_gcj02_arrays(lons: ArrayLike, lats: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS-84 arrays to GCJ-02 (points outside China are returned unchanged).

    Args:
        lons: WGS-84 longitudes.
        lats: WGS-84 latitudes.

    Returns:
        GCJ-02 ``(lons, lats)`` as new float64 arrays.
    """
    lon_arr, lat_arr = _as_arrays(lons, lats)
    return _keep_outside(lon_arr, lat_arr, *_wgs84_to_gcj02_raw(lon_arr, lat_arr))


# --------------------------------------------------------------------------- BD-09


def _gcj02_to_bd09_raw(lons: FloatArray, lats: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 → BD-09 applied everywhere (no China test)."""
    z = np.sqrt(lons * lons + lats * lats) + 0.00002 * np.sin(lats * _X_PI)
    theta = np.arctan2(lats, lons) + 0.000003 * np.cos(lons * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def gcj02_to_bd09_arrays(lons: ArrayLike, lats: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 arrays to BD-09 (points outside China are returned unchanged).

    Args:
        lons: GCJ-02 longitudes.
        lats: GCJ-02 latitudes.

    Returns:
        BD-09 ``(lons, lats)`` as new float64 arrays.
    """
    lon_arr, lat_arr = _as_arrays(lons, lats)
    return _keep_outside(lon_arr, lat_arr, *_gcj02_to_bd09_raw(lon_arr, lat_arr))


# --------------------------------------------------------------------------- inverses


def _invert(
    forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    lons: ArrayLike,
    lats: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Invert a near-identity ``forward`` transform by fixed-point refinement.

    Starting from ``w = target`` the update ``w += target - forward(w)`` contracts quickly
    because the Jacobian of every transform here is the identity plus ~1e-3; it converges to
    :data:`INVERSE_TOLERANCE_DEG` in about four iterations. Whether a point is "outside
    China" is decided on the *result* (the forward transform's input), so round trips are
    exact up to the very edge of the rectangle.

    Args:
        forward: Vectorised forward transform without the China test.
        lons: Target longitudes (in the forward transform's output CRS).
        lats: Target latitudes.

    Returns:
        ``(lons, lats)`` whose forward image equals the targets.
    """
    target_lon, target_lat = _as_arrays(lons, lats)
    shape = target_lon.shape
    out_lon, out_lat = target_lon.ravel().copy(), target_lat.ravel().copy()
    # Only targets in or near the rectangle can have a shifted preimage.
    near = ~_outside_rectangle(out_lon, out_lat, _INVERSE_MARGIN_DEG)
    t_lon, t_lat = out_lon[near], out_lat[near]
    lon, lat = t_lon.copy(), t_lat.copy()
    for _ in range(_MAX_ITERATIONS):
        fwd_lon, fwd_lat = forward(lon, lat)
        err_lon = t_lon - fwd_lon
        err_lat = t_lat - fwd_lat
        lon += err_lon
        lat += err_lat
        if not (
            np.any(np.abs(err_lon) >= INVERSE_TOLERANCE_DEG)
            or np.any(np.abs(err_lat) >= INVERSE_TOLERANCE_DEG)
        ):
            break
    # A preimage outside China is not shifted by the forward transform: keep the target.
    outside = out_of_china_arrays(lon, lat)
    out_lon[near] = np.where(outside, t_lon, lon)
    out_lat[near] = np.where(outside, t_lat, lat)
    return out_lon.reshape(shape), out_lat.reshape(shape)


def gcj02_to_wgs84_arrays(lons: ArrayLike, lats: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 arrays to WGS-84 by iterative inversion.

    Args:
        lons: GCJ-02 longitudes.
        lats: GCJ-02 latitudes.

    Returns:
        WGS-84 ``(lons, lats)``; the forward transform of the result matches the input to
        about 1e-11 degrees.
    """
    return _invert(_wgs84_to_gcj02_raw, lons, lats)


def bd09_to_gcj02_arrays(lons: ArrayLike, lats: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 arrays to GCJ-02 by iterative inversion.

    Args:
        lons: BD-09 longitudes.
        lats: BD-09 latitudes.

    Returns:
        GCJ-02 ``(lons, lats)``.
    """
    return _invert(_gcj02_to_bd09_raw, lons, lats)


def _wgs84_to_bd09_raw(lons: FloatArray, lats: FloatArray) -> tuple[FloatArray, FloatArray]:
    """WGS-84 → GCJ-02 → BD-09 applied everywhere (no China test)."""
    return _gcj02_to_bd09_raw(*_wgs84_to_gcj02_raw(lons, lats))


def _wgs84_to_bd09_arrays(lons: ArrayLike, lats: ArrayLike) -> tuple[FloatArray, FloatArray]:
    # The China test is made once, on the WGS-84 point (not on the intermediate GCJ-02 one).
    lon_arr, lat_arr = _as_arrays(lons, lats)
    return _keep_outside(lon_arr, lat_arr, *_wgs84_to_bd09_raw(lon_arr, lat_arr))


def _bd09_to_wgs84_arrays(lons: ArrayLike, lats: ArrayLike) -> tuple[FloatArray, FloatArray]:
    return _invert(_wgs84_to_bd09_raw, lons, lats)


def _identity_arrays(lons: ArrayLike, lats: ArrayLike) -> tuple[FloatArray, FloatArray]:
    lon_arr, lat_arr = _as_arrays(lons, lats)
    return lon_arr.copy(), lat_arr.copy()


_TO_WGS84 = {
    "wgs84": _identity_arrays,
    "cgcs2000": _identity_arrays,
    "gcj02": gcj02_to_wgs84_arrays,
    "bd09": _bd09_to_wgs84_arrays,
}
_FROM_WGS84 = {
    "wgs84": _identity_arrays,
    "cgcs2000": _identity_arrays,
    "gcj02": wgs84_to_gcj02_arrays,
    "bd09": _wgs84_to_bd09_arrays,
}


def to_wgs84_arrays(lons: ArrayLike, lats: ArrayLike, crs: str) -> tuple[FloatArray, FloatArray]:
    """Convert coordinate arrays from ``crs`` to WGS-84.

    Args:
        lons: Longitudes in ``crs``.
        lats: Latitudes in ``crs``.
        crs: One of :data:`CRS_VALUES`.

    Returns:
        WGS-84 ``(lons, lats)`` as new float64 arrays.

    Raises:
        ValueError: If ``crs`` is unknown or the shapes differ.
    """
    return _TO_WGS84[normalize_crs(crs)](lons, lats)


def from_wgs84_arrays(lons: ArrayLike, lats: ArrayLike, crs: str) -> tuple[FloatArray, FloatArray]:
    """Convert WGS-84 coordinate arrays to ``crs``.

    Args:
        lons: WGS-84 longitudes.
        lats: WGS-84 latitudes.
        crs: One of :data:`CRS_VALUES`.

    Returns:
        ``(lons, lats)`` in ``crs`` as new float64 arrays.

    Raises:
        ValueError: If ``crs`` is unknown or the shapes differ.
    """
    return _FROM_WGS84[normalize_crs(crs)](lons, lats)


def convert_arrays(
    lons: ArrayLike, lats: ArrayLike, crs_from: str, crs_to: str
) -> tuple[FloatArray, FloatArray]:
    """Convert coordinate arrays between any two CRS of :data:`CRS_VALUES`.

    GCJ-02 ↔ BD-09 is done directly; everything else goes through WGS-84.

    Args:
        lons: Longitudes in ``crs_from``.
        lats: Latitudes in ``crs_from``.
        crs_from: Source CRS.
        crs_to: Target CRS.

    Returns:
        ``(lons, lats)`` in ``crs_to``.
    """
    src, dst = normalize_crs(crs_from), normalize_crs(crs_to)
    if src == dst or (src in _IDENTITY_CRS and dst in _IDENTITY_CRS):
        return _identity_arrays(lons, lats)
    if (src, dst) == ("gcj02", "bd09"):
        return gcj02_to_bd09_arrays(lons, lats)
    if (src, dst) == ("bd09", "gcj02"):
        return bd09_to_gcj02_arrays(lons, lats)
    return _FROM_WGS84[dst](*_TO_WGS84[src](lons, lats))


# --------------------------------------------------------------------------- scalars


def _scalar(result: tuple[FloatArray, FloatArray]) -> tuple[float, float]:
    return float(result[0]), float(result[1])


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Convert one WGS-84 point to GCJ-02.

    Args:
        lon: WGS-84 longitude.
        lat: WGS-84 latitude.

    Returns:
        GCJ-02 ``(lon, lat)``.
    """
    return _scalar(wgs84_to_gcj02_arrays(lon, lat))


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """Convert one GCJ-02 point to BD-09.

    Args:
        lon: GCJ-02 longitude.
        lat: GCJ-02 latitude.

    Returns:
        BD-09 ``(lon, lat)``.
    """
    return _scalar(gcj02_to_bd09_arrays(lon, lat))


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """Convert one WGS-84 point to BD-09.

    Args:
        lon: WGS-84 longitude.
        lat: WGS-84 latitude.

    Returns:
        BD-09 ``(lon, lat)``.
    """
    return _scalar(_wgs84_to_bd09_arrays(lon, lat))


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Convert one GCJ-02 point to WGS-84 (iterative, ~1e-11° precise).

    Args:
        lon: GCJ-02 longitude.
        lat: GCJ-02 latitude.

    Returns:
        WGS-84 ``(lon, lat)``.
    """
    return _scalar(gcj02_to_wgs84_arrays(lon, lat))


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Convert one BD-09 point to GCJ-02 (iterative, ~1e-11° precise).

    Args:
        lon: BD-09 longitude.
        lat: BD-09 latitude.

    Returns:
        GCJ-02 ``(lon, lat)``.
    """
    return _scalar(bd09_to_gcj02_arrays(lon, lat))


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Convert one BD-09 point to WGS-84 (iterative, ~1e-11° precise).

    Args:
        lon: BD-09 longitude.
        lat: BD-09 latitude.

    Returns:
        WGS-84 ``(lon, lat)``.
    """
    return _scalar(_bd09_to_wgs84_arrays(lon, lat))


def to_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """Convert one point from ``crs`` to WGS-84.

    Args:
        lon: Longitude in ``crs``.
        lat: Latitude in ``crs``.
        crs: One of :data:`CRS_VALUES` (wgs84 and cgcs2000 are the identity).

    Returns:
        WGS-84 ``(lon, lat)``.

    Raises:
        ValueError: If ``crs`` is unknown; the message lists the accepted values.
    """
    return _scalar(to_wgs84_arrays(lon, lat, crs))


def from_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """Convert one WGS-84 point to ``crs``.

    Args:
        lon: WGS-84 longitude.
        lat: WGS-84 latitude.
        crs: One of :data:`CRS_VALUES` (wgs84 and cgcs2000 are the identity).

    Returns:
        ``(lon, lat)`` in ``crs``.

    Raises:
        ValueError: If ``crs`` is unknown; the message lists the accepted values.
    """
    return _scalar(from_wgs84_arrays(lon, lat, crs))


# --------------------------------------------------------------------------- geometries


def transform_geometry(geom: Any, crs_from: str, crs_to: str = "wgs84") -> Any:
    """Convert every vertex of a shapely geometry (or array of geometries) between CRS.

    Z values, if any, are kept unchanged.

    Args:
        geom: A shapely geometry or an array of geometries.
        crs_from: CRS of ``geom``.
        crs_to: Target CRS (default WGS-84).

    Returns:
        The converted geometry (a new object; the input is not modified).

    Raises:
        ValueError: If a CRS name is unknown.
    """
    src, dst = normalize_crs(crs_from), normalize_crs(crs_to)

    def _convert(coords: FloatArray) -> FloatArray:
        out = np.array(coords, dtype=np.float64, copy=True)
        out[:, 0], out[:, 1] = convert_arrays(coords[:, 0], coords[:, 1], src, dst)
        return out

    return shapely.transform(geom, _convert, include_z=None)
