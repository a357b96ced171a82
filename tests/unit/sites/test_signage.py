"""Standard signage and the differences a reported sign is checked for."""

from __future__ import annotations

import pytest

from registry.sites.rules import signage

STANDARD_CASES = [
    ("黄金坳镇", "镇", "黄金坳镇便民服务中心"),
    ("城中街道", "街道", "城中街道便民服务中心"),
    ("大坪村", "村", "大坪村便民服务代办点"),
    ("迎丰社区", "社区", "迎丰社区便民服务代办点"),
    ("盘瓠乡", "乡", "盘瓠乡便民服务中心"),
]


@pytest.mark.parametrize(("name", "kind", "expected"), STANDARD_CASES)
def test_standard_name_is_division_name_plus_suffix(name, kind, expected):
    assert signage.standard_name(name, kind) == expected


@pytest.mark.parametrize(
    "reported",
    [
        "黄金坳镇便民服务中心",
        " 黄金坳镇 便民服务中心 ",
        "黄金坳镇便民服务中心\u3000",  # ideographic space
        "黄金坳镇\u200b便民服务中心",  # zero-width space
    ],
)
def test_conforming_names_after_normalisation(reported):
    result = signage.check("黄金坳镇", "镇", reported)
    assert result.conforms is True
    assert result.problems == []


def codes(result):
    return [p.code for p in result.problems]


PROBLEM_CASES = [
    # (reported, expected problem codes)
    ("黄金坳镇便民服务站", ["wrong_suffix"]),
    ("黄金坳镇代办点", ["wrong_suffix"]),
    ("黄金坳便民服务中心", ["wrong_division_name"]),
    ("便民服务中心", ["missing_division_name"]),
    ("怀化市鹤城区黄金坳镇便民服务中心", ["extra_words"]),
    ("黄金坳镇便民服务中心（试点）", ["extra_words"]),
    ("黄金坳镇", ["missing_suffix"]),
    ("红星街道便民服务中心", ["wrong_division_name"]),
    ("鹤城区黄金坳镇便民服务站", ["wrong_suffix", "extra_words"]),
]


@pytest.mark.parametrize(("reported", "expected_codes"), PROBLEM_CASES)
def test_every_difference_is_listed(reported, expected_codes):
    result = signage.check("黄金坳镇", "镇", reported)
    assert result.conforms is False
    assert sorted(codes(result)) == sorted(expected_codes)
    assert result.standard_name == "黄金坳镇便民服务中心"
    assert all(" / " in p.message for p in result.problems)  # Chinese / English


def test_agency_point_with_centre_suffix_is_wrong_suffix():
    result = signage.check("大坪村", "村", "大坪村便民服务中心")
    assert codes(result) == ["wrong_suffix"]
    assert result.problems[0].expected == "便民服务代办点"


def test_full_width_letters_are_normalised():
    result = signage.check("Ａ村", "村", "A村便民服务代办点")
    assert result.conforms is True


def test_unreported_sign_is_unknown_not_nonconforming():
    result = signage.check("大坪村", "村", None)
    assert result.conforms is None
    assert result.standard_name == "大坪村便民服务代办点"


@pytest.mark.parametrize(
    ("division", "kind", "reported", "title"),
    [
        ("石头村", "村", "石头村民委员会便民服务代办点", "村民委员会"),
        ("仰溪铺村", "村", "仰溪铺村村委会便民服务代办点", "村委会"),
        ("麻溪铺社区", "社区", "麻溪铺社区居委会便民服务代办点", "社区居委会"),
        ("城中街道", "街道", "城中街道办事处便民服务中心", "街道办事处"),
        ("黄金坳镇", "镇", "黄金坳镇人民政府便民服务中心", "人民政府"),
    ],
)
def test_a_committee_title_on_the_sign_is_named_and_nothing_else(division, kind, reported, title):
    result = signage.check(division, kind, reported)
    assert result.conforms is False
    assert codes(result) == ["committee_title"]
    assert f"“{title}”" in result.problems[0].message
    assert result.problems[0].expected == division


def test_a_committee_title_and_a_wrong_suffix_are_both_said():
    result = signage.check("石头村", "村", "石头村民委员会代办站")
    assert codes(result) == ["committee_title", "wrong_suffix"]


def test_a_wrong_suffix_is_not_also_reported_as_extra_words():
    result = signage.check("大坪村", "村", "大坪村便民服务代办站")
    assert codes(result) == ["wrong_suffix"]
    assert (result.problems[0].found, result.problems[0].expected) == (
        "便民服务代办站",
        "便民服务代办点",
    )


def test_the_right_name_in_traditional_characters_is_said_to_be_right():
    result = signage.check("龙潭镇", "镇", "龍潭鎮便民服務中心")
    assert result.conforms is False
    assert codes(result) == ["traditional_characters"]
    assert "名称正确" in result.problems[0].message
    assert result.problems[0].expected == "龙潭镇便民服务中心"


def test_traditional_characters_and_another_mistake_are_both_said():
    result = signage.check("龙潭镇", "镇", "龍潭鎮便民服務站")
    assert codes(result) == ["traditional_characters", "wrong_suffix"]
