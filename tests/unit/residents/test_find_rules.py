"""The residents' search rules: query cleaning, pinyin and initials, ranking, location, hours."""

from __future__ import annotations

import math
import time
from datetime import date

import numpy as np
import pytest

from registry.core.errors import RuleViolation
from registry.residents import rules
from registry.residents.rules import NameIndex, Place

PLACES = [
    Place("431222102204", "仰溪铺村", "village", "431222102000", "431222000000"),
    Place("431222102000", "黄岩乡", "township", None, "431222000000"),
    Place("431222000000", "沅陵县", "county"),
    Place("431202000000", "鹤城区", "county"),
    Place("431202001001", "新街社区", "village", "431202001000", "431202000000"),
    Place("431202101001", "长沙村", "village", "431202101000", "431202000000"),
    Place("431202101002", "溪口村", "village", "431202101000", "431202000000"),
]
INDEX = NameIndex(PLACES)


def names(query: str, limit: int = 8) -> list[str]:
    return [p.name for p in INDEX.search(rules.clean_query(query), limit)]


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("仰溪铺村", "仰溪铺村"),
        ("仰溪铺", "仰溪铺村"),
        ("溪铺", "仰溪铺村"),
        ("yangxipu", "仰溪铺村"),
        ("yangxipucun", "仰溪铺村"),
        ("yxp", "仰溪铺村"),
        ("yxpc", "仰溪铺村"),
        ("YXP", "仰溪铺村"),
        ("Yang Xi Pu", "仰溪铺村"),
        ("ｙｘｐ", "仰溪铺村"),  # full-width letters from a Chinese keyboard
        ("xipu", "仰溪铺村"),
        ("鹤城", "鹤城区"),
        ("hcq", "鹤城区"),
        ("hecheng", "鹤城区"),
        ("changsha", "长沙村"),  # 长 read cháng in a place name (phrase-aware pinyin)
        ("cs", "长沙村"),
        ("黄岩", "黄岩乡"),
        ("xjsq", "新街社区"),
    ],
)
def test_a_place_is_found_by_characters_pinyin_and_initials(query, first):
    assert names(query)[0] == first


def test_exact_matches_come_before_prefixes_and_substrings():
    assert names("溪")[:2] == ["溪口村", "仰溪铺村"]


def test_broader_places_come_first_among_equals():
    ranked = names("h")
    assert ranked.index("鹤城区") < ranked.index("黄岩乡")


def test_the_limit_is_kept():
    assert len(names("x")) == 2 and len(names("x", limit=1)) == 1


def test_nothing_matches_nothing():
    assert names("zzzz") == [] and names("") == []


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("x" * (rules.MAX_QUERY_CHARS + 1), "query_too_long"),
        ("仰" * 10_000, "query_too_long"),
        ("仰溪\x00铺", "invalid_query"),
        ("仰溪\n铺", "invalid_query"),
        ("\u202e仰溪铺", "invalid_query"),
        ("仰溪\ufffd", "invalid_query"),
    ],
)
def test_bad_queries_are_refused_with_a_code(raw, code):
    with pytest.raises(RuleViolation) as caught:
        rules.clean_query(raw)
    assert caught.value.code == code


def test_a_query_is_normalised():
    assert rules.clean_query("  仰溪·铺 ") == "仰溪铺"
    assert rules.clean_query("YangXi-Pu") == "yangxipu"
    assert rules.clean_query(None) == ""


@pytest.mark.parametrize(
    ("name", "place"),
    [
        ("仰溪铺村", "仰溪铺"),
        ("新街社区", "新街"),
        ("黄岩乡", "黄岩"),
        ("鹤城区", "鹤城"),
        ("村", "村"),
    ],
)
def test_the_place_is_the_name_without_its_suffix(name, place):
    assert rules.place_of(name) == place


@pytest.mark.parametrize(
    ("lon", "lat", "crs"),
    [
        ("nan", "27.5", None),
        ("110", "inf", None),
        ("110", None, None),
        (None, "27.5", None),
        ("abc", "27.5", None),
        ("200", "27.5", None),
        ("110", "27.5", "mars"),
    ],
)
def test_bad_locations_are_refused(lon, lat, crs):
    with pytest.raises(RuleViolation) as caught:
        rules.check_location(lon, lat, crs)
    assert caught.value.code == "invalid_location"


def test_a_gcj02_location_becomes_wgs84():
    from geo.crs import wgs84_to_gcj02

    lon, lat = wgs84_to_gcj02(110.0, 27.5)
    back = rules.check_location(str(lon), str(lat), "gcj02")
    assert back is not None
    assert math.isclose(back[0], 110.0, abs_tol=1e-6) and math.isclose(back[1], 27.5, abs_tol=1e-6)
    assert rules.check_location(None, None, None) is None


def test_nearest_points_come_nearest_first():
    lons = np.array([110.0, 110.1, 110.01, 111.0])
    lats = np.array([27.5, 27.5, 27.5, 27.5])
    found = rules.nearest(110.0, 27.5, lons, lats, 3)
    assert [i for i, _ in found] == [0, 2, 1]
    assert found[0][1] == 0.0
    assert 980 < found[1][1] < 1000  # 0.01° of longitude at 27.5° N ≈ 987 m
    assert rules.nearest(110.0, 27.5, lons[:0], lats[:0], 3) == []


@pytest.mark.parametrize(
    ("metres", "text"), [(3, "10 米"), (847, "850 米"), (2440, "2.4 公里"), (37_200, "37 公里")]
)
def test_distances_read_as_a_resident_says_them(metres, text):
    assert rules.distance_text(metres) == text


HOURS = {
    "mon": [["08:30", "12:00"], ["14:30", "17:30"]],
    "tue": [],
    "wed": [["08:30", "12:00"]],
}


def test_todays_hours_are_read_from_the_weekly_timetable():
    monday, tuesday, sunday = date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 13)
    assert rules.hours_text(rules.hours_on(HOURS, monday)) == "08:30–12:00、14:30–17:30"
    assert rules.hours_text(rules.hours_on(HOURS, tuesday)) == "休息"
    assert rules.hours_text(rules.hours_on(HOURS, sunday)) == "休息"
    assert rules.hours_text(rules.hours_on(None, monday)) == "开放时间未登记"


def test_a_search_over_thirty_thousand_places_is_fast():
    # A province's worth of villages (names made of common place characters).
    chars = "仰溪铺黄岩沅陵鹤城长沙新街口坪塘湾冲田山桥头"
    places = [
        Place(
            f"{i:012d}",
            chars[i % 7] + chars[(i // 7) % 11] + chars[(i // 77) % 13] + "村",
            "village",
        )
        for i in range(30_000)
    ]
    index = NameIndex(places, syllables=lambda n: [c for c in "abcd"][: len(n)])
    started = time.perf_counter()
    for query in ("仰溪", "溪", "黄岩坪村", "ab", "abcd", "a"):
        index.search(rules.clean_query(query), 8)
    assert (time.perf_counter() - started) / 6 < 0.05
