"""Tests for geo.boundaries with the real 怀化 (and 湖南) GCJ-02 boundary files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon

from geo.boundaries import (
    METRES_PER_DEGREE,
    BoundaryIndex,
    Containment,
    Region,
    distance_m,
    load_regions_geojson,
    local_lonlat,
    local_xy_m,
    metres_per_degree_lon,
    simplify_coverage,
    swapped_latlon,
)
from geo.crs import from_wgs84, from_wgs84_arrays, to_wgs84, to_wgs84_arrays

HUAIHUA_FILE = Path("/work/shared/data/huaihua/boundaries.gcj02.geojson")
HUNAN_FILE = Path("/work/shared/data/hunan/boundaries.gcj02.geojson")

CITY_CODE = "431200"
HECHENG = "431202"
ZHONGFANG = "431221"
COUNTIES = {
    "431202": "鹤城区",
    "431221": "中方县",
    "431222": "沅陵县",
    "431223": "辰溪县",
    "431224": "溆浦县",
    "431225": "会同县",
    "431226": "麻阳苗族自治县",
    "431227": "新晃侗族自治县",
    "431228": "芷江侗族自治县",
    "431229": "靖州苗族侗族自治县",
    "431230": "通道侗族自治县",
    "431281": "洪江市",
}
COUNTY_CODES = list(COUNTIES)

BEIJING = (116.3975, 39.9087)
TOKYO = (139.767, 35.681)

requires_data = pytest.mark.skipif(
    not HUAIHUA_FILE.exists(), reason=f"boundary data not available at {HUAIHUA_FILE}"
)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def huaihua_doc() -> dict[str, Any]:
    if not HUAIHUA_FILE.exists():
        pytest.skip(f"boundary data not available at {HUAIHUA_FILE}")
    return json.loads(HUAIHUA_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def counties(huaihua_doc: dict[str, Any]) -> dict[str, Region]:
    """The 12 counties converted from GCJ-02 to WGS-84."""
    return {r.code: r for r in load_regions_geojson(huaihua_doc, crs="gcj02", level="county")}


@pytest.fixture(scope="module")
def counties_unconverted(huaihua_doc: dict[str, Any]) -> dict[str, Region]:
    """The 12 counties with their GCJ-02 coordinates left as they are."""
    return {r.code: r for r in load_regions_geojson(huaihua_doc, crs="wgs84", level="county")}


@pytest.fixture(scope="module")
def city(huaihua_doc: dict[str, Any]) -> Region:
    (region,) = load_regions_geojson(huaihua_doc, crs="gcj02", level="city")
    return region


@pytest.fixture(scope="module")
def index(counties: dict[str, Region]) -> BoundaryIndex:
    return BoundaryIndex(counties.values())


@pytest.fixture(scope="module")
def random_points(city: Region) -> tuple[np.ndarray, np.ndarray]:
    """100,000 uniform points over the city's bounding box (about a third fall inside)."""
    rng = np.random.default_rng(20240601)
    minx, miny, maxx, maxy = city.geometry.bounds
    return rng.uniform(minx, maxx, 100_000), rng.uniform(miny, maxy, 100_000)


def point_outside(region: Region, metres: float, direction: str) -> tuple[float, float]:
    """A point `metres` away from `region`, at the extreme of its buffer in `direction`.

    The region is projected to a local equirectangular plane around its centre, buffered by
    `metres`, and the easternmost/westernmost/northernmost/southernmost buffer vertex is taken:
    its planar distance to the region is exactly `metres`.
    """
    centre = region.geometry.centroid
    lon0, lat0 = centre.x, centre.y

    def project(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(local_xy_m(coords[:, 0], coords[:, 1], lon0, lat0))

    buffered = shapely.transform(region.geometry, project).buffer(metres, quad_segs=32)
    xy = shapely.get_coordinates(shapely.get_exterior_ring(shapely.get_parts(buffered)))
    pick = {
        "east": np.argmax(xy[:, 0]),
        "west": np.argmin(xy[:, 0]),
        "north": np.argmax(xy[:, 1]),
        "south": np.argmin(xy[:, 1]),
    }[direction]
    lon, lat = local_lonlat(xy[pick, 0], xy[pick, 1], lon0, lat0)
    return float(lon), float(lat)


# --------------------------------------------------------------------------- metric helpers


def test_one_degree_of_latitude_is_about_111_195_metres() -> None:
    assert abs(METRES_PER_DEGREE - 111_195.08) < 0.01
    assert distance_m(110.0, 27.0, 110.0, 28.0) == pytest.approx(METRES_PER_DEGREE, rel=1e-12)


def test_degree_of_longitude_shrinks_with_cosine_of_latitude() -> None:
    assert metres_per_degree_lon(0.0) == pytest.approx(METRES_PER_DEGREE)
    assert metres_per_degree_lon(60.0) == pytest.approx(METRES_PER_DEGREE / 2)
    assert distance_m(110.0, 60.0, 110.001, 60.0) == pytest.approx(
        metres_per_degree_lon(60.0) * 0.001, rel=1e-6
    )


def test_haversine_beijing_to_shanghai_is_about_1068_km() -> None:
    d = distance_m(116.4074, 39.9042, 121.4737, 31.2304)
    assert 1_060_000 < d < 1_075_000
    assert distance_m(121.4737, 31.2304, 116.4074, 39.9042) == pytest.approx(d)


def test_distance_m_is_element_wise_on_arrays() -> None:
    lons = np.array([110.0, 110.0, 109.0])
    lats = np.array([27.0, 28.0, 27.0])
    out = distance_m(lons, lats, lons + 0.01, lats)
    assert out.shape == (3,)
    for i in range(3):
        assert out[i] == pytest.approx(distance_m(lons[i], lats[i], lons[i] + 0.01, lats[i]))


@pytest.mark.parametrize(("dx", "dy"), [(0.0, 0.0), (1000.0, 0.0), (-250.0, 730.0)])
def test_local_plane_projection_round_trips(dx: float, dy: float) -> None:
    lon, lat = local_lonlat(dx, dy, 110.0, 27.5)
    assert local_xy_m(lon, lat, 110.0, 27.5) == pytest.approx((dx, dy), abs=1e-6)
    assert distance_m(110.0, 27.5, lon, lat) == pytest.approx(np.hypot(dx, dy), rel=1e-3)


# --------------------------------------------------------------------------- loading


@requires_data
def test_file_holds_the_city_and_its_12_counties(huaihua_doc: dict[str, Any]) -> None:
    props = [f["properties"] for f in huaihua_doc["features"]]
    assert {p["code"]: p["name"] for p in props if p["level"] == "county"} == COUNTIES
    assert [p["code"] for p in props if p["level"] == "city"] == [CITY_CODE]


@requires_data
def test_load_regions_from_path_equals_load_from_dict(huaihua_doc: dict[str, Any]) -> None:
    from_path = load_regions_geojson(HUAIHUA_FILE, level="county")
    from_str_path = load_regions_geojson(str(HUAIHUA_FILE), level="county")
    from_dict = load_regions_geojson(huaihua_doc, level="county")
    assert [r.code for r in from_path] == [r.code for r in from_dict] == COUNTY_CODES
    assert all(
        a.geometry.equals_exact(b.geometry, 0) and b.geometry.equals_exact(c.geometry, 0)
        for a, b, c in zip(from_path, from_str_path, from_dict, strict=True)
    )


@requires_data
def test_load_without_level_keeps_every_feature(huaihua_doc: dict[str, Any]) -> None:
    assert len(load_regions_geojson(huaihua_doc)) == 13


@requires_data
@pytest.mark.parametrize("code", COUNTY_CODES, ids=list(COUNTIES.values()))
def test_each_county_converted_to_wgs84_is_a_valid_polygon(
    counties: dict[str, Region], code: str
) -> None:
    region = counties[code]
    assert region.name == COUNTIES[code]
    assert region.geometry.geom_type in ("Polygon", "MultiPolygon")
    assert region.geometry.is_valid


@requires_data
@pytest.mark.parametrize("code", COUNTY_CODES, ids=list(COUNTIES.values()))
def test_each_county_centroid_moves_200_to_800_m_west_and_north_from_gcj02_to_wgs84(
    counties: dict[str, Region], counties_unconverted: dict[str, Region], code: str
) -> None:
    wgs = counties[code].geometry.centroid
    gcj = counties_unconverted[code].geometry.centroid
    assert 200.0 < distance_m(gcj.x, gcj.y, wgs.x, wgs.y) < 800.0
    assert wgs.x < gcj.x  # GCJ-02 is shifted east ...
    assert wgs.y > gcj.y  # ... and south of WGS-84 around 怀化


@requires_data
def test_hecheng_centroid_moves_about_600_metres(
    counties: dict[str, Region], counties_unconverted: dict[str, Region]
) -> None:
    # The brief's rough offset (+0.0043°, -0.0031°) suggests ~540 m; the exact GCJ-02 formula
    # gives (+0.0047°, -0.0033°) at 鹤城区, i.e. ~600 m.
    wgs = counties[HECHENG].geometry.centroid
    gcj = counties_unconverted[HECHENG].geometry.centroid
    assert 520.0 < distance_m(gcj.x, gcj.y, wgs.x, wgs.y) < 680.0


@requires_data
def test_converted_counties_do_not_overlap_significantly(
    counties: dict[str, Region], city: Region
) -> None:
    geoms = [r.geometry for r in counties.values()]
    overlap = sum(
        geoms[i].intersection(geoms[j]).area
        for i in range(len(geoms))
        for j in range(i + 1, len(geoms))
    )
    assert overlap < 1e-6 * city.geometry.area
    assert shapely.coverage_is_valid(np.array(geoms, dtype=object))


@requires_data
def test_converted_counties_cover_the_city_outline(
    counties: dict[str, Region], city: Region
) -> None:
    union = shapely.union_all([r.geometry for r in counties.values()])
    assert union.symmetric_difference(city.geometry).area < 1e-4 * city.geometry.area


@requires_data
def test_codes_stay_as_given_in_the_file() -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": 4312, "name": "unpadded", "level": "x"},
                "geometry": {"type": "Point", "coordinates": [110.0, 27.5]},
            }
        ],
    }
    (region,) = load_regions_geojson(doc, crs="wgs84")
    assert region.code == "4312"


def test_load_repairs_an_invalid_bow_tie_polygon() -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "999999", "name": "bow-tie"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[110, 27], [110.1, 27.1], [110.1, 27], [110, 27.1], [110, 27]]
                    ],
                },
            }
        ],
    }
    (region,) = load_regions_geojson(doc, crs="gcj02")
    assert region.geometry.is_valid
    assert region.geometry.geom_type in ("Polygon", "MultiPolygon")
    assert region.geometry.area == pytest.approx(0.005, rel=0.01)


@pytest.mark.parametrize(
    "doc",
    [
        {"type": "Feature", "features": []},
        {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {"name": "no code"}, "geometry": None}],
        },
    ],
    ids=["not_a_feature_collection", "feature_without_code"],
)
def test_load_rejects_malformed_documents(doc: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        load_regions_geojson(doc)


@pytest.mark.skipif(not HUNAN_FILE.exists(), reason="湖南 boundary data not available")
def test_hunan_counties_agree_with_the_huaihua_file(counties: dict[str, Region]) -> None:
    hunan = load_regions_geojson(HUNAN_FILE, level="county")
    assert len(hunan) == 122
    hunan_index = BoundaryIndex(hunan)
    for code, region in counties.items():
        p = region.geometry.representative_point()
        assert hunan_index.locate(p.x, p.y).code == code


# --------------------------------------------------------------------------- locate


@requires_data
@pytest.mark.parametrize("code", COUNTY_CODES, ids=list(COUNTIES.values()))
def test_representative_point_of_each_county_locates_to_itself(
    index: BoundaryIndex, counties: dict[str, Region], code: str
) -> None:
    p = counties[code].geometry.representative_point()
    found = index.locate(p.x, p.y)
    assert found is not None and found.code == code


@requires_data
@pytest.mark.parametrize("crs", ["gcj02", "bd09", "cgcs2000", "wgs84"])
def test_point_picked_in_another_crs_locates_to_hecheng_after_conversion(
    index: BoundaryIndex, counties: dict[str, Region], crs: str
) -> None:
    p = counties[HECHENG].geometry.representative_point()
    picked = from_wgs84(p.x, p.y, crs)  # what a map in `crs` would report
    found = index.locate(*to_wgs84(*picked, crs))
    assert found is not None and found.code == HECHENG


@requires_data
@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_near_the_border_forgetting_the_conversion_would_pick_the_wrong_county(
    index: BoundaryIndex, counties: dict[str, Region], crs: str
) -> None:
    # Points 100-400 m inside 鹤城区: their raw GCJ-02/BD-09 coordinates (a few hundred
    # metres east-south) often fall outside; converted back they locate to 鹤城区 again.
    region = counties[HECHENG]
    inner = region.geometry.buffer(-100 / METRES_PER_DEGREE)
    ring = inner.difference(region.geometry.buffer(-400 / METRES_PER_DEGREE))
    rng = np.random.default_rng(3)
    minx, miny, maxx, maxy = ring.bounds
    lons, lats = rng.uniform(minx, maxx, 20_000), rng.uniform(miny, maxy, 20_000)
    keep = shapely.contains_xy(ring, lons, lats)
    lons, lats = lons[keep], lats[keep]
    picked_lons, picked_lats = from_wgs84_arrays(lons, lats, crs)
    raw = index.locate_many(picked_lons, picked_lats)
    assert sum(code != HECHENG for code in raw) > 10  # the shift matters near the border
    assert set(index.locate_many(*to_wgs84_arrays(picked_lons, picked_lats, crs))) == {HECHENG}


@requires_data
@pytest.mark.parametrize(
    ("name", "lon", "lat"),
    [
        ("beijing", *BEIJING),
        ("tokyo", *TOKYO),
        ("null_island", 0.0, 0.0),
        ("changsha", 112.94, 28.23),
    ],
)
def test_point_far_outside_huaihua_locates_to_none(
    index: BoundaryIndex, name: str, lon: float, lat: float
) -> None:
    assert index.locate(lon, lat) is None
    assert index.locate_many([lon], [lat]) == [None]


@requires_data
def test_point_on_a_shared_border_locates_to_the_smallest_code(
    index: BoundaryIndex, counties: dict[str, Region]
) -> None:
    a, b = counties[HECHENG].geometry, counties[ZHONGFANG].geometry
    shared = shapely.get_coordinates(shapely.intersection(a.boundary, b.boundary))
    assert len(shared) > 10
    lon, lat = shared[len(shared) // 2]
    assert shapely.intersects_xy(a, lon, lat) and shapely.intersects_xy(b, lon, lat)
    assert index.locate(lon, lat).code == HECHENG  # "431202" < "431221"
    assert index.locate_many([lon] * 3, [lat] * 3) == [HECHENG] * 3
    assert index.distance_outside_m(ZHONGFANG, lon, lat) == 0.0
    assert index.check(ZHONGFANG, lon, lat) == Containment(True, 0.0, True, None)


@requires_data
def test_locate_many_agrees_with_locate_on_a_sample_of_100000_random_points(
    index: BoundaryIndex, random_points: tuple[np.ndarray, np.ndarray]
) -> None:
    lons, lats = random_points
    codes = index.locate_many(lons, lats)
    assert len(codes) == len(lons)
    assert 0.2 < sum(c is not None for c in codes) / len(codes) < 0.6
    for i in np.random.default_rng(1).choice(len(lons), 300, replace=False):
        found = index.locate(lons[i], lats[i])
        assert codes[i] == (None if found is None else found.code)


@requires_data
def test_locate_many_agrees_with_brute_force_point_in_polygon(
    index: BoundaryIndex,
    counties: dict[str, Region],
    random_points: tuple[np.ndarray, np.ndarray],
) -> None:
    lons, lats = random_points
    expected = np.full(len(lons), None, dtype=object)
    for code in sorted(counties, reverse=True):  # smallest code written last wins
        expected[shapely.intersects_xy(counties[code].geometry, lons, lats)] = code
    assert index.locate_many(lons, lats) == expected.tolist()


@requires_data
def test_locate_many_handles_empty_input_and_nan(index: BoundaryIndex) -> None:
    assert index.locate_many([], []) == []
    assert index.locate_many([np.nan, 110.0], [27.5, np.nan]) == [None, None]


# --------------------------------------------------------------------------- containment


@requires_data
@pytest.mark.parametrize("direction", ["east", "west", "north", "south"])
@pytest.mark.parametrize("code", [HECHENG, "431222", "431230"], ids=["鹤城区", "沅陵县", "通道"])
def test_point_100_m_outside_is_accepted_with_a_warning_stating_the_distance(
    index: BoundaryIndex, counties: dict[str, Region], code: str, direction: str
) -> None:
    lon, lat = point_outside(counties[code], 100.0, direction)
    result = index.check(code, lon, lat)
    assert not result.inside
    assert result.accepted
    assert result.distance_m == pytest.approx(100.0, rel=0.05)
    assert result.warning is not None
    assert f"{round(result.distance_m)} 米" in result.warning
    assert f"{round(result.distance_m)} m" in result.warning
    assert COUNTIES[code] in result.warning


@requires_data
@pytest.mark.parametrize("direction", ["east", "west", "north", "south"])
@pytest.mark.parametrize("code", [HECHENG, "431222", "431230"], ids=["鹤城区", "沅陵县", "通道"])
def test_point_1_km_outside_is_refused_with_its_distance(
    index: BoundaryIndex, counties: dict[str, Region], code: str, direction: str
) -> None:
    lon, lat = point_outside(counties[code], 1000.0, direction)
    result = index.check(code, lon, lat)
    assert not result.inside
    assert not result.accepted
    assert result.distance_m == pytest.approx(1000.0, rel=0.05)
    assert index.distance_outside_m(code, lon, lat) == result.distance_m


@requires_data
def test_tolerance_decides_acceptance(index: BoundaryIndex, counties: dict[str, Region]) -> None:
    lon, lat = point_outside(counties[HECHENG], 300.0, "west")
    assert not index.check(HECHENG, lon, lat).accepted
    assert index.check(HECHENG, lon, lat, tolerance_m=500.0).accepted
    assert not index.check(HECHENG, lon, lat, tolerance_m=0.0).accepted


@requires_data
@pytest.mark.parametrize("code", COUNTY_CODES, ids=list(COUNTIES.values()))
def test_point_inside_is_accepted_without_warning(
    index: BoundaryIndex, counties: dict[str, Region], code: str
) -> None:
    p = counties[code].geometry.representative_point()
    assert index.check(code, p.x, p.y) == Containment(
        inside=True, distance_m=0.0, accepted=True, warning=None
    )
    assert index.distance_outside_m(code, p.x, p.y) == 0.0


@requires_data
def test_point_on_a_boundary_vertex_is_inside(
    index: BoundaryIndex, counties: dict[str, Region]
) -> None:
    lon, lat = shapely.get_coordinates(counties[HECHENG].geometry)[17]
    assert index.distance_outside_m(HECHENG, lon, lat) == 0.0
    assert index.check(HECHENG, lon, lat).inside


@requires_data
def test_distance_outside_matches_haversine_to_the_nearest_boundary_vertex(
    index: BoundaryIndex, counties: dict[str, Region]
) -> None:
    # Far away the distance is dominated by one boundary point, so brute force over vertices
    # gives an upper bound that is tight to well under 1 %.
    coords = shapely.get_coordinates(counties[HECHENG].geometry)
    lon, lat = 109.0, 28.6
    brute = distance_m(lon, lat, coords[:, 0], coords[:, 1]).min()
    got = index.distance_outside_m(HECHENG, lon, lat)
    assert got <= brute + 1e-6
    assert got == pytest.approx(brute, rel=0.01)


@requires_data
@pytest.mark.parametrize("method", ["distance_outside_m", "check"])
def test_unknown_code_raises_key_error(index: BoundaryIndex, method: str) -> None:
    with pytest.raises(KeyError, match="431299"):
        getattr(index, method)("431299", 110.0, 27.5)


@requires_data
def test_check_many_with_an_unknown_code_raises_key_error(index: BoundaryIndex) -> None:
    with pytest.raises(KeyError, match="999999"):
        index.check_many([HECHENG, "999999"], [110.0, 110.0], [27.5, 27.5])


@requires_data
@pytest.mark.parametrize(
    ("lon", "lat", "tolerance"),
    [(np.nan, 27.5, 200.0), (110.0, np.inf, 200.0), (110.0, 27.5, -1.0)],
    ids=["nan_lon", "inf_lat", "negative_tolerance"],
)
def test_check_rejects_non_finite_coordinates_and_negative_tolerance(
    index: BoundaryIndex, lon: float, lat: float, tolerance: float
) -> None:
    with pytest.raises(ValueError):
        index.check(HECHENG, lon, lat, tolerance_m=tolerance)


@requires_data
def test_check_many_agrees_with_check(
    index: BoundaryIndex,
    counties: dict[str, Region],
    random_points: tuple[np.ndarray, np.ndarray],
) -> None:
    lons, lats = random_points[0][:400].tolist(), random_points[1][:400].tolist()
    for i, code in enumerate(COUNTY_CODES):  # add points just inside/outside each county
        for d in (50.0, 150.0, 250.0):
            lon, lat = point_outside(counties[code], d, ["east", "west", "north", "south"][i % 4])
            lons.append(lon)
            lats.append(lat)
    codes = [COUNTY_CODES[i % len(COUNTY_CODES)] for i in range(len(lons))]
    bulk = index.check_many(codes, lons, lats)
    assert bulk == [index.check(c, x, y) for c, x, y in zip(codes, lons, lats, strict=True)]
    assert {r.accepted and not r.inside for r in bulk} == {True, False}
    assert index.check_many([], [], []) == []


def test_containment_is_frozen() -> None:
    result = Containment(inside=True, distance_m=0.0, accepted=True, warning=None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.accepted = False  # type: ignore[misc]


def test_empty_index_locates_nothing() -> None:
    empty = BoundaryIndex([])
    assert empty.locate(110.0, 27.5) is None
    assert empty.locate_many([110.0], [27.5]) == [None]


def test_duplicate_codes_are_rejected() -> None:
    square = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    with pytest.raises(ValueError, match="duplicate"):
        BoundaryIndex([Region("1", "a", square), Region("1", "b", square)])


def test_synthetic_squares_share_a_border_and_measure_distances() -> None:
    west = Region("2", "west", Polygon([(110, 27), (110.1, 27), (110.1, 27.1), (110, 27.1)]))
    east = Region("1", "east", Polygon([(110.1, 27), (110.2, 27), (110.2, 27.1), (110.1, 27.1)]))
    idx = BoundaryIndex([west, east])
    assert idx.locate(110.1, 27.05).code == "1"  # on the shared border: smallest code
    assert idx.locate(110.05, 27.05).code == "2"
    # 0.01° west of the west square, at 27.05°N.
    expected = distance_m(109.99, 27.05, 110.0, 27.05)
    assert idx.distance_outside_m("2", 109.99, 27.05) == pytest.approx(expected, rel=1e-6)


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("lon", "lat", "expected"),
    [
        (27.55, 109.99, True),  # 怀化 given as (lat, lon)
        (109.99, 27.55, False),  # correct order
        (39.91, 116.40, True),  # Beijing swapped
        (139.77, 35.68, False),  # Tokyo: inside the rectangle as given
        (-0.13, 51.51, False),  # London: outside both ways
        (51.51, -0.13, False),
    ],
    ids=["huaihua_swapped", "huaihua_ok", "beijing_swapped", "tokyo", "london", "london_swapped"],
)
def test_swapped_latlon_detects_latitude_and_longitude_given_the_wrong_way_round(
    lon: float, lat: float, expected: bool
) -> None:
    assert swapped_latlon(lon, lat) is expected


@requires_data
def test_simplify_coverage_keeps_the_12_counties_valid_and_borders_shared(
    counties: dict[str, Region], city: Region
) -> None:
    geoms = [r.geometry for r in counties.values()]
    simplified = simplify_coverage(geoms, 0.002)
    assert len(simplified) == 12
    assert all(g.is_valid and not g.is_empty for g in simplified)
    assert sum(shapely.get_num_coordinates(simplified)) < 0.6 * sum(
        shapely.get_num_coordinates(geoms)
    )
    overlap = sum(
        simplified[i].intersection(simplified[j]).area for i in range(12) for j in range(i + 1, 12)
    )
    assert overlap < 1e-6 * city.geometry.area
    union = shapely.union_all(simplified)
    # No gaps opened between neighbours: the union has as many rings as the original outline.
    assert shapely.get_num_interior_rings(shapely.get_parts(union)).sum() == (
        shapely.get_num_interior_rings(shapely.get_parts(city.geometry)).sum()
    )
    for original, simple in zip(geoms, simplified, strict=True):
        assert simple.area == pytest.approx(original.area, rel=0.02)


def test_simplify_coverage_of_nothing_is_nothing() -> None:
    assert simplify_coverage([], 0.01) == []


def test_region_is_frozen_and_keeps_its_fields() -> None:
    region = Region("431202", "鹤城区", Point(110.0, 27.5).buffer(0.01))
    assert (region.code, region.name) == ("431202", "鹤城区")
    with pytest.raises(dataclasses.FrozenInstanceError):
        region.code = "x"  # type: ignore[misc]
