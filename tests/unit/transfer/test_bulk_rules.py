"""Domain rules used by bulk import and the scale generator: the vectorised location checks
agree with the one-point rules, recorded starts, kinds of national divisions, site facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from geo.boundaries import BoundaryIndex, load_regions_geojson
from geo.crs import from_wgs84
from registry.core.errors import RuleViolation
from registry.divisions.rules import county_kind, township_kind
from registry.sites.rules.facts import check_division_open, check_facts
from registry.sites.rules.location import (
    check_containment_many,
    no_boundary_warning,
    to_wgs84_checked,
    to_wgs84_checked_many,
)
from registry.sites.rules.status import recorded_start
from seed.loader import HUAIHUA

REGIONS = [
    replace(r, code=r.code.ljust(12, "0"))
    for r in load_regions_geojson(HUAIHUA / "boundaries.gcj02.geojson", crs="gcj02")
    if r.code != "431200"
]
INDEX = BoundaryIndex(REGIONS)
HECHENG, ZHONGFANG = "431202000000", "431221000000"
INSIDE_HECHENG = (109.99, 27.55)
INSIDE_ZHONGFANG = INDEX.get(ZHONGFANG).geometry.representative_point().coords[0]

POINTS = [
    (109.99, 27.55, "wgs84"),
    (*from_wgs84(109.99, 27.55, "gcj02"), "gcj02"),
    (*from_wgs84(109.99, 27.55, "bd09"), "BD-09"),
    (109.99, 27.55, None),
    (27.55, 109.99, "wgs84"),
    (200.0, 27.5, "wgs84"),
    (float("nan"), 27.5, "wgs84"),
    (109.99, float("inf"), "wgs84"),
    (109.99, 27.55, "utm"),
    (-74.0, 40.7, "gcj02"),
]


def test_vectorised_coordinate_checks_agree_with_the_one_point_rule():
    many = to_wgs84_checked_many(
        [p[0] for p in POINTS], [p[1] for p in POINTS], [p[2] for p in POINTS]
    )
    for i, (lon, lat, crs) in enumerate(POINTS):
        try:
            expected = to_wgs84_checked(lon, lat, crs)
        except RuleViolation as exc:
            assert many.errors[i] is not None, (lon, lat, crs)
            assert (many.errors[i].code, many.errors[i].en) == (exc.code, exc.en)
            continue
        assert many.errors[i] is None
        assert many.lons[i] == pytest.approx(expected[0], abs=1e-12)
        assert many.lats[i] == pytest.approx(expected[1], abs=1e-12)
        assert many.datums[i] == expected[2]


def test_containment_in_bulk_accepts_inside_flags_no_boundary_and_refuses_far_points():
    result = check_containment_many(
        INDEX,
        [HECHENG, HECHENG, "431299000000", ZHONGFANG],
        ["鹤城区", "鹤城区", "某县", "中方县"],
        [INSIDE_HECHENG[0], INSIDE_ZHONGFANG[0], 110.0, INSIDE_ZHONGFANG[0]],
        [INSIDE_HECHENG[1], INSIDE_ZHONGFANG[1], 27.0, INSIDE_ZHONGFANG[1]],
        200.0,
    )
    assert result.warnings[0] is None and result.errors[0] is None
    assert result.errors[1].code == "outside_boundary"
    assert result.errors[1].extra["located_in"] == {"code": ZHONGFANG, "name": "中方县"}
    assert result.warnings[2] == no_boundary_warning("某县") and result.errors[2] is None
    assert result.warnings[3] is None and result.errors[3] is None


@pytest.mark.parametrize(
    ("status", "kind", "events"),
    [
        ("planned", "village_point", [("planned", None)]),
        ("built", "village_point", [("built", None)]),
        ("standardized", "township_centre", [("in_service", None), ("standardized", "in_service")]),
        ("suspended", "village_point", [("in_service", None), ("suspended", "in_service")]),
        ("closed", "village_point", [("closed", None)]),
    ],
)
def test_recorded_start_of_an_imported_site(status, kind, events):
    assert [(t.status, t.previous) for t in recorded_start(status, kind)] == events


def test_recorded_start_refuses_standardized_agency_points():
    with pytest.raises(RuleViolation) as caught:
        recorded_start("standardized", "village_point")
    assert caught.value.code == "status_not_for_kind"


@pytest.mark.parametrize(
    ("name", "kind"), [("阿尔山市", "县级市"), ("科尔沁右翼前旗", "县"), ("鄂温克族自治旗", "县")]
)
def test_county_level_banners_are_counties(name, kind):
    assert county_kind(name) == kind


@pytest.mark.parametrize(("name", "kind"), [("巴彦淖尔苏木", "乡"), ("鄂温克民族苏木", "乡")])
def test_sumu_is_a_township(name, kind):
    assert township_kind(name) == kind


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ((0.0, None, None), "invalid_hall_area"),
        ((None, 2000, None), "invalid_staff_count"),
        ((None, None, date(2030, 1, 1)), "collected_on_in_future"),
    ],
)
def test_site_facts(args, code):
    with pytest.raises(RuleViolation) as caught:
        check_facts(*args, today=date(2026, 1, 1))
    assert caught.value.code == code


def test_new_site_needs_a_division_that_exists_today():
    check_division_open("某村", None, None, date(2026, 1, 1))
    with pytest.raises(RuleViolation) as caught:
        check_division_open("某村", None, date(2016, 1, 1), date(2026, 1, 1))
    assert caught.value.code == "division_abolished"
