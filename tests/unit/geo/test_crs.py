"""Tests for geo.crs: WGS-84 / CGCS2000 / GCJ-02 / BD-09 conversions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from geo.boundaries import distance_m
from geo.crs import (
    CRS_VALUES,
    bd09_to_gcj02,
    bd09_to_wgs84,
    convert_arrays,
    from_wgs84,
    from_wgs84_arrays,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    to_wgs84,
    to_wgs84_arrays,
    transform_geometry,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

ROUND_TRIP_TOLERANCE_DEG = 1e-7
INVERSE_PRECISION_DEG = 1e-9

# (name, WGS-84 lon, WGS-84 lat) inside China's rectangle, incl. 怀化 and edge areas.
POINTS_IN_CHINA = [
    ("huaihua_hecheng", 109.998, 27.550),
    ("huaihua_tongdao", 109.784, 26.158),
    ("huaihua_yuanling", 110.396, 28.452),
    ("huaihua_xinhuang", 109.174, 27.359),
    ("changsha", 112.938, 28.228),
    ("beijing", 116.397, 39.909),
    ("shanghai", 121.474, 31.230),
    ("guangzhou", 113.264, 23.129),
    ("urumqi", 87.617, 43.826),
    ("lhasa", 91.117, 29.647),
    ("kashgar", 75.990, 39.470),
    ("harbin", 126.535, 45.803),
    ("mohe", 122.537, 53.483),
    ("sanya", 109.512, 18.252),
    ("zengmu_ansha", 112.283, 3.967),
    ("west_edge", 72.010, 39.000),
    ("east_edge", 137.830, 46.000),
    ("north_edge", 120.000, 55.820),
    ("south_edge", 110.000, 0.835),
    ("meridian_105", 105.000, 35.000),
]
POINT_IDS = [p[0] for p in POINTS_IN_CHINA]
# Near the rectangle's edges a shifted point can leave the rectangle, so a GCJ-02/BD-09 point
# there may have no consistent preimage; tests that start from GCJ-02/BD-09 avoid the edges.
INTERIOR_POINTS = [p for p in POINTS_IN_CHINA if not p[0].endswith("_edge")]
INTERIOR_IDS = [p[0] for p in INTERIOR_POINTS]

# (name, lon, lat) outside the rectangle: never shifted.
POINTS_OUTSIDE_CHINA = [
    ("tokyo", 139.767, 35.681),
    ("london", -0.128, 51.507),
    ("new_york", -74.006, 40.713),
    ("sydney", 151.209, -33.868),
    ("null_island", 0.0, 0.0),
    ("singapore_south", 103.8, 0.5),
    ("moscow", 37.618, 55.756),
    ("north_pole", 10.0, 90.0),
]
OUTSIDE_IDS = [p[0] for p in POINTS_OUTSIDE_CHINA]

# Reference pairs from the test suite of the widely copied `eviltransform` library
# (github.com/googollee/eviltransform, test data "wgsLat, wgsLng, gcjLat, gcjLng").
EVILTRANSFORM_WGS_GCJ = [
    ("shanghai", 121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),
    ("shenzhen", 113.912316, 22.543847, 113.9171764808363, 22.540796131694766),
    ("beijing", 116.377817, 39.911954, 116.38404722455657, 39.91334545536069),
]

NON_IDENTITY_CRS = ["gcj02", "bd09"]


# --------------------------------------------------------------------------- out_of_china


@pytest.mark.parametrize(("name", "lon", "lat"), POINTS_IN_CHINA, ids=POINT_IDS)
def test_points_in_china_are_inside_the_rectangle(name: str, lon: float, lat: float) -> None:
    assert not out_of_china(lon, lat)


@pytest.mark.parametrize(("name", "lon", "lat"), POINTS_OUTSIDE_CHINA, ids=OUTSIDE_IDS)
def test_points_outside_china_are_outside_the_rectangle(name: str, lon: float, lat: float) -> None:
    assert out_of_china(lon, lat)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("crs", NON_IDENTITY_CRS)
@pytest.mark.parametrize(("name", "lon", "lat"), POINTS_IN_CHINA, ids=POINT_IDS)
def test_round_trip_wgs84_to_crs_and_back_within_1e7_degrees(
    name: str, lon: float, lat: float, crs: str
) -> None:
    back_lon, back_lat = to_wgs84(*from_wgs84(lon, lat, crs), crs)
    assert abs(back_lon - lon) < ROUND_TRIP_TOLERANCE_DEG
    assert abs(back_lat - lat) < ROUND_TRIP_TOLERANCE_DEG


@pytest.mark.parametrize(("name", "lon", "lat"), INTERIOR_POINTS, ids=INTERIOR_IDS)
def test_gcj02_inverse_reproduces_its_input_within_1e9_degrees(
    name: str, lon: float, lat: float
) -> None:
    # Treat (lon, lat) as a GCJ-02 point: forward(inverse(g)) must give g back.
    fwd = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert fwd == pytest.approx((lon, lat), abs=INVERSE_PRECISION_DEG)


@pytest.mark.parametrize(("name", "lon", "lat"), INTERIOR_POINTS, ids=INTERIOR_IDS)
def test_bd09_inverse_reproduces_its_input_within_1e9_degrees(
    name: str, lon: float, lat: float
) -> None:
    assert gcj02_to_bd09(*bd09_to_gcj02(lon, lat)) == pytest.approx(
        (lon, lat), abs=INVERSE_PRECISION_DEG
    )
    assert wgs84_to_bd09(*bd09_to_wgs84(lon, lat)) == pytest.approx(
        (lon, lat), abs=INVERSE_PRECISION_DEG
    )


@pytest.mark.parametrize(("name", "lon", "lat"), INTERIOR_POINTS, ids=INTERIOR_IDS)
def test_wgs84_to_bd09_equals_gcj02_then_bd09(name: str, lon: float, lat: float) -> None:
    assert wgs84_to_bd09(lon, lat) == pytest.approx(
        gcj02_to_bd09(*wgs84_to_gcj02(lon, lat)), abs=1e-12
    )


@pytest.mark.parametrize(("name", "lon", "lat"), POINTS_IN_CHINA, ids=POINT_IDS)
def test_transforms_shift_points_in_china_by_less_than_two_kilometres(
    name: str, lon: float, lat: float
) -> None:
    gcj = wgs84_to_gcj02(lon, lat)
    bd = wgs84_to_bd09(lon, lat)
    assert 1.0 < distance_m(lon, lat, *gcj) < 2000.0
    assert 1.0 < distance_m(lon, lat, *bd) < 2500.0


# --------------------------------------------------------------------------- outside China


@pytest.mark.parametrize("crs", CRS_VALUES)
@pytest.mark.parametrize(("name", "lon", "lat"), POINTS_OUTSIDE_CHINA, ids=OUTSIDE_IDS)
def test_points_outside_china_are_not_shifted(name: str, lon: float, lat: float, crs: str) -> None:
    assert to_wgs84(lon, lat, crs) == (lon, lat)
    assert from_wgs84(lon, lat, crs) == (lon, lat)


@pytest.mark.parametrize(
    "func", [wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, bd09_to_wgs84]
)
def test_every_pairwise_function_leaves_tokyo_unchanged(func) -> None:
    assert func(139.767, 35.681) == (139.767, 35.681)


# --------------------------------------------------------------------------- references


@pytest.mark.parametrize(
    ("name", "wgs_lon", "wgs_lat", "gcj_lon", "gcj_lat"),
    EVILTRANSFORM_WGS_GCJ,
    ids=[r[0] for r in EVILTRANSFORM_WGS_GCJ],
)
def test_wgs84_to_gcj02_matches_eviltransform_reference(
    name: str, wgs_lon: float, wgs_lat: float, gcj_lon: float, gcj_lat: float
) -> None:
    assert wgs84_to_gcj02(wgs_lon, wgs_lat) == pytest.approx((gcj_lon, gcj_lat), abs=1e-9)


@pytest.mark.parametrize(
    ("name", "wgs_lon", "wgs_lat", "gcj_lon", "gcj_lat"),
    EVILTRANSFORM_WGS_GCJ,
    ids=[r[0] for r in EVILTRANSFORM_WGS_GCJ],
)
def test_gcj02_to_wgs84_recovers_eviltransform_reference(
    name: str, wgs_lon: float, wgs_lat: float, gcj_lon: float, gcj_lat: float
) -> None:
    assert gcj02_to_wgs84(gcj_lon, gcj_lat) == pytest.approx((wgs_lon, wgs_lat), abs=1e-9)


def test_gcj02_to_bd09_matches_the_public_formula_written_out() -> None:
    gcj = (110.0, 27.5)
    bd_lon, bd_lat = gcj02_to_bd09(*gcj)
    z = math.hypot(*gcj) + 0.00002 * math.sin(gcj[1] * math.pi * 3000.0 / 180.0)
    theta = math.atan2(gcj[1], gcj[0]) + 0.000003 * math.cos(gcj[0] * math.pi * 3000.0 / 180.0)
    assert (bd_lon, bd_lat) == pytest.approx(
        (z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006), abs=1e-12
    )


# --------------------------------------------------------------------------- 怀化 specifics


@pytest.mark.parametrize(
    ("name", "lon", "lat"), [p for p in POINTS_IN_CHINA if p[0].startswith("huaihua")]
)
def test_gcj02_shift_near_huaihua_is_300_to_700_metres(name: str, lon: float, lat: float) -> None:
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    assert 300.0 < distance_m(lon, lat, gcj_lon, gcj_lat) < 700.0
    # GCJ-02 is east and south of WGS-84 around 怀化.
    assert gcj_lon > lon
    assert gcj_lat < lat


# --------------------------------------------------------------------------- crs names


@pytest.mark.parametrize("crs", ["wgs84", "cgcs2000"])
@pytest.mark.parametrize(("name", "lon", "lat"), POINTS_IN_CHINA[:4], ids=POINT_IDS[:4])
def test_wgs84_and_cgcs2000_are_identity(name: str, lon: float, lat: float, crs: str) -> None:
    assert to_wgs84(lon, lat, crs) == (lon, lat)
    assert from_wgs84(lon, lat, crs) == (lon, lat)


@pytest.mark.parametrize("crs", ["GCJ02", " gcj02 ", "Bd09", "WGS84"])
def test_crs_names_are_case_and_space_insensitive(crs: str) -> None:
    expected = crs.strip().lower()
    assert to_wgs84(110.0, 27.5, crs) == to_wgs84(110.0, 27.5, expected)


@pytest.mark.parametrize("crs", ["epsg:4326", "gcj-02", "", "baidu", "wgs 84"])
@pytest.mark.parametrize("func", [to_wgs84, from_wgs84])
def test_unknown_crs_raises_value_error_listing_accepted_values(func, crs: str) -> None:
    with pytest.raises(ValueError, match="unknown crs") as info:
        func(110.0, 27.5, crs)
    for accepted in CRS_VALUES:
        assert accepted in str(info.value)


def test_unknown_crs_raises_value_error_in_array_functions() -> None:
    with pytest.raises(ValueError, match="wgs84, cgcs2000, gcj02, bd09"):
        to_wgs84_arrays([110.0], [27.5], "mercator")


# --------------------------------------------------------------------------- arrays


ALL_TEST_LONS = np.array([p[1] for p in POINTS_IN_CHINA + POINTS_OUTSIDE_CHINA])
ALL_TEST_LATS = np.array([p[2] for p in POINTS_IN_CHINA + POINTS_OUTSIDE_CHINA])
INTERIOR_LONS = np.array([p[1] for p in INTERIOR_POINTS + POINTS_OUTSIDE_CHINA])
INTERIOR_LATS = np.array([p[2] for p in INTERIOR_POINTS + POINTS_OUTSIDE_CHINA])


@pytest.mark.parametrize("crs", CRS_VALUES)
def test_to_wgs84_arrays_agree_with_scalar_function(crs: str) -> None:
    lons, lats = to_wgs84_arrays(ALL_TEST_LONS, ALL_TEST_LATS, crs)
    expected = [to_wgs84(lo, la, crs) for lo, la in zip(ALL_TEST_LONS, ALL_TEST_LATS, strict=True)]
    np.testing.assert_allclose(np.column_stack([lons, lats]), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("crs", CRS_VALUES)
def test_from_wgs84_arrays_agree_with_scalar_function(crs: str) -> None:
    lons, lats = from_wgs84_arrays(ALL_TEST_LONS, ALL_TEST_LATS, crs)
    expected = [
        from_wgs84(lo, la, crs) for lo, la in zip(ALL_TEST_LONS, ALL_TEST_LATS, strict=True)
    ]
    np.testing.assert_allclose(np.column_stack([lons, lats]), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("crs", CRS_VALUES)
def test_arrays_keep_shape_and_do_not_modify_inputs(crs: str) -> None:
    lons = np.full((2, 3), 110.0)
    lats = np.full((2, 3), 27.5)
    out_lons, out_lats = from_wgs84_arrays(lons, lats, crs)
    assert out_lons.shape == out_lats.shape == (2, 3)
    assert (lons == 110.0).all() and (lats == 27.5).all()


def test_arrays_accept_empty_input() -> None:
    lons, lats = to_wgs84_arrays([], [], "bd09")
    assert lons.size == lats.size == 0


def test_arrays_with_different_shapes_raise_value_error() -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        to_wgs84_arrays([1.0, 2.0], [1.0], "gcj02")


@pytest.mark.parametrize("crs", NON_IDENTITY_CRS)
def test_100000_points_round_trip_in_bulk(crs: str) -> None:
    # Speed is measured by `registry bench`, not asserted here (no timed tests).
    rng = np.random.default_rng(7)
    lons = rng.uniform(73.5, 135.0, 100_000)
    lats = rng.uniform(18.0, 53.5, 100_000)
    crs_lons, crs_lats = from_wgs84_arrays(lons, lats, crs)
    back_lons, back_lats = to_wgs84_arrays(crs_lons, crs_lats, crs)
    assert np.abs(back_lons - lons).max() < INVERSE_PRECISION_DEG
    assert np.abs(back_lats - lats).max() < INVERSE_PRECISION_DEG


@pytest.mark.parametrize(
    ("crs_from", "crs_to"),
    [(a, b) for a in CRS_VALUES for b in CRS_VALUES],
)
def test_convert_arrays_between_any_two_crs_matches_going_through_wgs84(
    crs_from: str, crs_to: str
) -> None:
    lons, lats = convert_arrays(INTERIOR_LONS, INTERIOR_LATS, crs_from, crs_to)
    via = from_wgs84_arrays(*to_wgs84_arrays(INTERIOR_LONS, INTERIOR_LATS, crs_from), crs_to)
    np.testing.assert_allclose(lons, via[0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(lats, via[1], rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- geometries


HUAIHUA_SQUARE = Polygon(
    [(109.9, 27.5), (110.1, 27.5), (110.1, 27.6), (109.9, 27.6)],
    [[(109.95, 27.52), (109.97, 27.52), (109.97, 27.54), (109.95, 27.54)]],
)
GEOMETRIES = [
    ("point", Point(110.0, 27.55)),
    ("line", LineString([(109.9, 27.5), (110.1, 27.6)])),
    ("polygon_with_hole", HUAIHUA_SQUARE),
    (
        "multipolygon",
        MultiPolygon([HUAIHUA_SQUARE, Polygon([(111, 28), (111.1, 28), (111, 28.1)])]),
    ),
]


@pytest.mark.parametrize("crs", NON_IDENTITY_CRS)
@pytest.mark.parametrize(("name", "geom"), GEOMETRIES, ids=[g[0] for g in GEOMETRIES])
def test_transform_geometry_moves_every_vertex_like_the_point_function(
    name: str, geom, crs: str
) -> None:
    out = transform_geometry(geom, crs, "wgs84")
    assert out.geom_type == geom.geom_type
    expected = [to_wgs84(x, y, crs) for x, y in shapely.get_coordinates(geom)]
    np.testing.assert_allclose(shapely.get_coordinates(out), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("crs", NON_IDENTITY_CRS)
@pytest.mark.parametrize(("name", "geom"), GEOMETRIES, ids=[g[0] for g in GEOMETRIES])
def test_transform_geometry_round_trip_restores_the_geometry(name: str, geom, crs: str) -> None:
    back = transform_geometry(transform_geometry(geom, "wgs84", crs), crs)
    assert shapely.equals_exact(back, geom, tolerance=1e-9)


def test_transform_geometry_keeps_z_values() -> None:
    out = transform_geometry(Point(110.0, 27.55, 123.0), "gcj02")
    assert out.has_z and out.z == 123.0
    assert (out.x, out.y) == pytest.approx(to_wgs84(110.0, 27.55, "gcj02"), abs=1e-12)


def test_transform_geometry_works_on_arrays_of_geometries() -> None:
    geoms = np.array([g for _, g in GEOMETRIES], dtype=object)
    out = transform_geometry(geoms, "bd09")
    assert len(out) == len(geoms)
    assert shapely.equals_exact(out[0], Point(to_wgs84(110.0, 27.55, "bd09")), tolerance=1e-12)


def test_transform_geometry_with_unknown_crs_raises_value_error() -> None:
    with pytest.raises(ValueError, match="accepted values"):
        transform_geometry(Point(110, 27), "gcj02", "utm49n")
