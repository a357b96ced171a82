"""Tests for geo.geojson_io: RFC 7946 output, validation and parsing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import shapely
from shapely.geometry import (
    GeometryCollection,
    LineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
    shape,
)

from geo.boundaries import load_regions_geojson
from geo.geojson_io import (
    GeometryError,
    feature,
    feature_collection,
    geometry_to_geojson,
    parse_geometry,
    round_coords,
    validate,
)

HUAIHUA_FILE = Path("/work/shared/data/huaihua/boundaries.gcj02.geojson")

# Exterior clockwise and hole counter-clockwise: the opposite of RFC 7946.
CW_SQUARE_WITH_CCW_HOLE = Polygon(
    [(109.9, 27.5), (109.9, 27.6), (110.1, 27.6), (110.1, 27.5)],
    [[(109.95, 27.52), (109.97, 27.52), (109.97, 27.54), (109.95, 27.54)]],
)
CCW_TRIANGLE = Polygon([(111.0, 28.0), (111.1, 28.0), (111.0, 28.1)])
MANY_DIGITS = Point(110.123456789, 27.987654321)

OUTPUT_GEOMETRIES = [
    ("point", MANY_DIGITS),
    ("multipoint", MultiPoint([(110.1234567, 27.1), (110.2, 27.7654321)])),
    ("linestring", LineString([(109.91234567, 27.5), (110.1, 27.61234567)])),
    ("polygon_cw_with_ccw_hole", CW_SQUARE_WITH_CCW_HOLE),
    ("multipolygon", MultiPolygon([CW_SQUARE_WITH_CCW_HOLE, CCW_TRIANGLE])),
    ("collection", GeometryCollection([MANY_DIGITS, CW_SQUARE_WITH_CCW_HOLE])),
]
OUTPUT_IDS = [g[0] for g in OUTPUT_GEOMETRIES]

SQUARE = [[110.0, 27.0], [110.1, 27.0], [110.1, 27.1], [110.0, 27.1], [110.0, 27.0]]
UNCLOSED_RING = {
    "type": "Polygon",
    "coordinates": [[[110.0, 27.0], [110.1, 27.0], [110.1, 27.1], [110.0, 27.1]]],
}
THREE_POSITION_RING = {
    "type": "Polygon",
    "coordinates": [[[110.0, 27.0], [110.1, 27.0], [110.0, 27.0]]],
}
OUT_OF_RANGE_POINT = {"type": "Point", "coordinates": [12_245_000.0, 3_190_000.0]}
SWAPPED_POINT = {"type": "Point", "coordinates": [27.55, 109.99]}
BOW_TIE = {
    "type": "Polygon",
    "coordinates": [[[110.0, 27.0], [110.1, 27.1], [110.1, 27.0], [110.0, 27.1], [110.0, 27.0]]],
}
WRONG_TYPE = {"type": "Polygone", "coordinates": [SQUARE]}

BAD_OBJECTS = [
    ("unclosed_ring", UNCLOSED_RING, "not closed"),
    ("ring_with_3_positions", THREE_POSITION_RING, "3 positions, needs at least 4"),
    ("coordinates_out_of_range", OUT_OF_RANGE_POINT, "outside the WGS-84 range"),
    ("latitude_out_of_range", SWAPPED_POINT, "outside the WGS-84 range"),
    ("self_intersecting_bow_tie", BOW_TIE, "Self-intersection"),
    ("wrong_type", WRONG_TYPE, "unknown GeoJSON type 'Polygone'"),
    ("missing_type", {"coordinates": [110.0, 27.0]}, "unknown GeoJSON type None"),
    ("not_an_object", [110.0, 27.0], "must be a JSON object"),
    ("missing_coordinates", {"type": "Point"}, "needs a 'coordinates' member"),
    ("string_coordinate", {"type": "Point", "coordinates": ["110", 27.0]}, "finite numbers"),
    ("nan_coordinate", {"type": "Point", "coordinates": [float("nan"), 27.0]}, "finite numbers"),
    ("boolean_coordinate", {"type": "Point", "coordinates": [True, 27.0]}, "finite numbers"),
    ("one_value_position", {"type": "Point", "coordinates": [110.0]}, "2 or 3 numbers"),
    ("four_value_position", {"type": "Point", "coordinates": [110, 27, 1, 2]}, "2 or 3 numbers"),
    ("empty_point", {"type": "Point", "coordinates": []}, "2 or 3 numbers"),
    ("one_point_line", {"type": "LineString", "coordinates": [[110, 27]]}, "at least 2"),
    ("rings_not_arrays", {"type": "Polygon", "coordinates": [110, 27]}, "must be an array"),
    (
        "crs_member",
        {"type": "Point", "coordinates": [110.0, 27.0], "crs": {"type": "name"}},
        "'crs'",
    ),
    (
        "overlapping_multipolygon_parts",
        {
            "type": "MultiPolygon",
            "coordinates": [
                [[[110, 27], [110.2, 27], [110.2, 27.2], [110, 27.2], [110, 27]]],
                [[[110.1, 27.1], [110.3, 27.1], [110.3, 27.3], [110.1, 27.3], [110.1, 27.1]]],
            ],
        },
        "invalid MultiPolygon",
    ),
]
BAD_IDS = [b[0] for b in BAD_OBJECTS]


def rings(geojson_polygon_coords: list) -> tuple[list, list]:
    """Split Polygon coordinates into (exterior, holes)."""
    return geojson_polygon_coords[0], geojson_polygon_coords[1:]


def is_ccw(ring: list) -> bool:
    return shapely.is_ccw(shapely.linearrings(ring))


def all_positions(coords: Any) -> list[list[float]]:
    if coords and isinstance(coords[0], int | float):
        return [coords]
    return [p for c in coords for p in all_positions(c)]


# --------------------------------------------------------------------------- output


@pytest.mark.parametrize(
    "geom", [CW_SQUARE_WITH_CCW_HOLE, CW_SQUARE_WITH_CCW_HOLE.reverse()], ids=["cw", "ccw"]
)
def test_polygon_output_has_ccw_exterior_and_cw_holes(geom: Polygon) -> None:
    exterior, holes = rings(geometry_to_geojson(geom)["coordinates"])
    assert is_ccw(exterior)
    assert holes and not any(is_ccw(h) for h in holes)


def test_multipolygon_output_orients_every_part() -> None:
    out = geometry_to_geojson(MultiPolygon([CW_SQUARE_WITH_CCW_HOLE, CCW_TRIANGLE]))
    for polygon in out["coordinates"]:
        exterior, holes = rings(polygon)
        assert is_ccw(exterior)
        assert not any(is_ccw(h) for h in holes)


@pytest.mark.parametrize(("name", "geom"), OUTPUT_GEOMETRIES, ids=OUTPUT_IDS)
def test_output_is_valid_rfc7946_with_at_most_6_decimals(name: str, geom: Any) -> None:
    out = geometry_to_geojson(geom)
    assert validate(out) == []
    assert "crs" not in out
    text = json.dumps(out)
    assert json.loads(text) == out  # plain JSON types only
    coords = out.get("coordinates") or [g["coordinates"] for g in out["geometries"]]
    for position in all_positions(coords):
        for value in position:
            assert round(value, 6) == value
            assert len(repr(value).split(".")[-1]) <= 6


def test_output_rounds_to_6_decimals() -> None:
    assert geometry_to_geojson(MANY_DIGITS) == {
        "type": "Point",
        "coordinates": [110.123457, 27.987654],
    }


@pytest.mark.parametrize("ndigits", [0, 3, 7])
def test_output_precision_is_configurable(ndigits: int) -> None:
    x, y = geometry_to_geojson(MANY_DIGITS, ndigits=ndigits)["coordinates"]
    assert (x, y) == (round(110.123456789, ndigits), round(27.987654321, ndigits))


def test_round_coords_keeps_structure_and_normalises_negative_zero() -> None:
    rounded = round_coords(LineString([(-0.0000001, 1.23456789), (2.0, -3.3333333)]), 3)
    assert shapely.get_coordinates(rounded).tolist() == [[0.0, 1.235], [2.0, -3.333]]
    assert json.dumps(geometry_to_geojson(Point(-0.0000001, 0.0))) == (
        '{"type": "Point", "coordinates": [0.0, 0.0]}'
    )


def test_round_coords_keeps_z() -> None:
    rounded = round_coords(Point(110.1234567, 27.1234567, 12.3456789), 2)
    assert rounded.has_z and shapely.get_coordinates(rounded, include_z=True).tolist() == [
        [110.12, 27.12, 12.35]
    ]


@pytest.mark.parametrize(
    "geom", [Point(12_245_000.0, 3_190_000.0), Point(110.0, 95.0), Point(float("nan"), 1.0)]
)
def test_output_refuses_non_wgs84_coordinates(geom: Point) -> None:
    with pytest.raises(ValueError):
        geometry_to_geojson(geom)


@pytest.mark.skipif(not HUAIHUA_FILE.exists(), reason="boundary data not available")
def test_real_county_boundaries_serialise_to_valid_geojson() -> None:
    regions = load_regions_geojson(HUAIHUA_FILE, level="county")
    collection = feature_collection(
        [feature(r.geometry, {"code": r.code, "name": r.name}, id=r.code) for r in regions],
        name="怀化市 counties",
    )
    assert validate(collection) == []
    back = shape(collection["features"][0]["geometry"])
    assert back.is_valid
    # Only the 6-decimal rounding (≤ 0.06 m) separates the two outlines.
    assert back.symmetric_difference(regions[0].geometry).area < 1e-4 * back.area


def test_feature_has_type_id_geometry_and_properties() -> None:
    out = feature(Point(110.0, 27.5), {"name": "鹤城区"}, id=7)
    assert out == {
        "type": "Feature",
        "id": 7,
        "geometry": {"type": "Point", "coordinates": [110.0, 27.5]},
        "properties": {"name": "鹤城区"},
    }
    assert validate(out) == []


def test_feature_without_id_or_geometry() -> None:
    out = feature(None, None)
    assert out == {"type": "Feature", "geometry": None, "properties": None}
    assert validate(out) == []


def test_feature_collection_accepts_foreign_members() -> None:
    out = feature_collection([feature(Point(110, 27.5), {})], name="x", generated="today")
    assert out["type"] == "FeatureCollection"
    assert out["name"] == "x" and out["generated"] == "today"
    assert len(out["features"]) == 1
    assert validate(out) == []


@pytest.mark.parametrize("member", ["crs", "type", "features"])
def test_feature_collection_refuses_reserved_or_removed_members(member: str) -> None:
    with pytest.raises(ValueError, match=member):
        feature_collection([], **{member: "x"})


# --------------------------------------------------------------------------- validate


@pytest.mark.parametrize(("name", "obj", "expected"), BAD_OBJECTS, ids=BAD_IDS)
def test_validate_reports_the_problem(name: str, obj: Any, expected: str) -> None:
    problems = validate(obj)
    assert problems, f"{name} should be invalid"
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(("name", "obj", "expected"), BAD_OBJECTS, ids=BAD_IDS)
def test_validate_does_not_raise_and_returns_strings(name: str, obj: Any, expected: str) -> None:
    assert all(isinstance(p, str) and p for p in validate(obj))


def test_validate_points_at_the_offending_ring() -> None:
    obj = {"type": "Polygon", "coordinates": [SQUARE, UNCLOSED_RING["coordinates"][0]]}
    (problem,) = validate(obj)
    assert problem.startswith("$.coordinates[1]:")


def test_validate_reports_out_of_range_positions_once_with_a_count() -> None:
    obj = {"type": "LineString", "coordinates": [[200, 10], [210, 10], [110, 27]]}
    (problem,) = validate(obj)
    assert "2 position(s)" in problem and "swapped" in problem


@pytest.mark.parametrize(
    "obj",
    [
        {"type": "Point", "coordinates": [110.0, 27.5]},
        {"type": "Point", "coordinates": [110.0, 27.5, 120.0]},
        {"type": "Point", "coordinates": [-180, -90]},
        {"type": "Polygon", "coordinates": [SQUARE]},
        {"type": "Polygon", "coordinates": [list(reversed(SQUARE))]},  # RFC: do not reject CW
        {"type": "Polygon", "coordinates": []},  # RFC 7946 §3.1: empty = null geometry
        {"type": "MultiPolygon", "coordinates": [[SQUARE]]},
        {"type": "GeometryCollection", "geometries": []},
        {"type": "Feature", "geometry": None, "properties": {"a": 1}},
        {"type": "FeatureCollection", "features": []},
    ],
    ids=[
        "point",
        "point_with_z",
        "corner",
        "polygon",
        "clockwise_polygon",
        "empty_polygon",
        "multipolygon",
        "empty_collection",
        "unlocated_feature",
        "empty_feature_collection",
    ],
)
def test_validate_accepts_valid_objects(obj: dict[str, Any]) -> None:
    assert validate(obj) == []


def test_validate_walks_features_and_collections() -> None:
    obj = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": BOW_TIE, "properties": {}},
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [1, 2]},
                "properties": "oops",
            },
            {"type": "Point", "coordinates": [1, 2]},
            {
                "type": "Feature",
                "properties": None,
                "geometry": {"type": "GeometryCollection", "geometries": [UNCLOSED_RING]},
            },
        ],
    }
    problems = validate(obj)
    assert len(problems) == 4
    assert problems[0].startswith("$.features[0].geometry: invalid Polygon: Self-intersection")
    assert problems[1].startswith("$.features[1].properties:")
    assert problems[2].startswith("$.features[2]: expected a Feature")
    assert problems[3].startswith("$.features[3].geometry.geometries[0].coordinates[0]:")


# --------------------------------------------------------------------------- parse_geometry


def test_parse_geometry_returns_a_shapely_geometry() -> None:
    geom = parse_geometry({"type": "Polygon", "coordinates": [SQUARE]})
    assert geom.geom_type == "Polygon"
    assert geom.equals(Polygon(SQUARE))


def test_parse_geometry_accepts_a_feature() -> None:
    obj = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [110, 27]},
        "properties": {},
    }
    assert parse_geometry(obj).equals(Point(110, 27))


@pytest.mark.parametrize(("name", "obj", "expected"), BAD_OBJECTS, ids=BAD_IDS)
def test_parse_geometry_raises_geometry_error_for_every_bad_object(
    name: str, obj: Any, expected: str
) -> None:
    with pytest.raises(GeometryError) as info:
        parse_geometry(obj)
    assert isinstance(info.value, ValueError)
    assert any(expected in p for p in info.value.problems)


def test_parse_geometry_lists_all_problems_at_once() -> None:
    obj = {
        "type": "MultiPolygon",
        "coordinates": [
            UNCLOSED_RING["coordinates"],
            THREE_POSITION_RING["coordinates"],
            BOW_TIE["coordinates"],
            [[[200.0, 27.0], [200.1, 27.0], [200.1, 27.1], [200.0, 27.0]]],
        ],
    }
    with pytest.raises(GeometryError) as info:
        parse_geometry(obj)
    problems = info.value.problems
    assert len(problems) == 4
    assert "not closed" in problems[0] and problems[0].startswith("$.coordinates[0][0]")
    assert "3 positions" in problems[1] and problems[1].startswith("$.coordinates[1][0]")
    assert "Self-intersection" in problems[2] and problems[2].startswith("$.coordinates[2]")
    assert "outside the WGS-84 range" in problems[3]
    for problem in problems:
        assert problem in str(info.value)


@pytest.mark.parametrize(
    "obj",
    [
        {"type": "FeatureCollection", "features": []},
        {"type": "Feature", "geometry": None, "properties": {}},
    ],
    ids=["feature_collection", "feature_without_geometry"],
)
def test_parse_geometry_needs_a_geometry(obj: dict[str, Any]) -> None:
    with pytest.raises(GeometryError, match="geometry"):
        parse_geometry(obj)


def test_geometry_error_keeps_its_problem_list() -> None:
    error = GeometryError(["a", "b"])
    assert error.problems == ["a", "b"]
    assert str(error) == "invalid GeoJSON geometry: a; b"


@pytest.mark.parametrize(("name", "geom"), OUTPUT_GEOMETRIES, ids=OUTPUT_IDS)
def test_output_parses_back_to_the_same_geometry(name: str, geom: Any) -> None:
    back = parse_geometry(geometry_to_geojson(geom))
    assert back.geom_type == geom.geom_type
    assert shapely.equals_exact(shapely.normalize(back), shapely.normalize(geom), tolerance=1e-6)
