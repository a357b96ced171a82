"""Division codes and text normalisation."""

from __future__ import annotations

import pytest

from registry.core.codes import level_of_code, normalise_code, parent_code_of
from registry.core.errors import RuleViolation
from registry.core.text import clean_text
from registry.divisions.rules import county_kind, exists_on, site_kind_for, township_kind


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("431202", "431202000000"),
        ("431202102000", "431202102000"),
        (" 431200 ", "431200000000"),
        ("431202102", "431202102000"),
    ],
)
def test_short_codes_are_padded(raw, expected):
    assert normalise_code(raw) == expected


@pytest.mark.parametrize(
    "raw", ["4312", "43120210200", "4312021020001", "43120a", "", None, "4312021", "４３１２０２"]
)
def test_bad_codes_are_refused(raw):
    with pytest.raises(RuleViolation) as info:
        normalise_code(raw)
    assert info.value.code == "invalid_code"


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        ("430000000000", "province", None),
        ("431200000000", "city", "430000000000"),
        ("431202000000", "county", "431200000000"),
        ("431202102000", "township", "431202000000"),
        ("431202102201", "village", "431202102000"),
    ],
)
def test_level_and_parent_from_code(code, level, parent):
    assert level_of_code(code) == level
    assert parent_code_of(code) == parent


@pytest.mark.parametrize(
    ("name", "kind"),
    [("黄金坳镇", "镇"), ("城中街道", "街道"), ("盘瓠乡", "乡"), ("大合坪苗族乡", "乡")],
)
def test_township_kind_from_name(name, kind):
    assert township_kind(name) == kind


@pytest.mark.parametrize(
    ("name", "kind"),
    [("鹤城区", "区"), ("沅陵县", "县"), ("麻阳苗族自治县", "县"), ("洪江市", "县级市")],
)
def test_county_kind_from_name(name, kind):
    assert county_kind(name) == kind


@pytest.mark.parametrize(
    ("kind", "level", "site_kind"),
    [
        ("乡", "township", "township_centre"),
        ("镇", "township", "township_centre"),
        ("街道", "township", "street_centre"),
        ("村", "village", "village_point"),
        ("社区", "village", "community_point"),
    ],
)
def test_site_kind_follows_division_kind(kind, level, site_kind):
    assert site_kind_for(kind, level) == site_kind


@pytest.mark.parametrize(("kind", "level"), [("区", "county"), ("市", "city")])
def test_no_site_on_a_county_or_city(kind, level):
    with pytest.raises(RuleViolation) as info:
        site_kind_for(kind, level)
    assert info.value.code == "division_level_not_allowed"


def test_existence_window_is_inclusive_of_establishment_exclusive_of_abolition():
    from datetime import date

    assert exists_on(None, None, date(2014, 1, 1))
    assert exists_on(date(2014, 7, 1), None, date(2014, 7, 1))
    assert not exists_on(date(2014, 7, 1), None, date(2014, 6, 30))
    assert exists_on(None, date(2014, 7, 1), date(2014, 6, 30))
    assert not exists_on(None, date(2014, 7, 1), date(2014, 7, 1))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("  大坪村 ", "大坪村"), ("ＡＢＣ１２３", "ABC123"), ("a\u200bb", "ab"), ("   ", None)],
)
def test_clean_text_normalises(raw, expected):
    assert clean_text(raw, "name") == expected


@pytest.mark.parametrize("raw", ["a\x00b", "a\nb", "a\x1bb", "a\u202eb", "a\tb"])
def test_clean_text_refuses_control_characters(raw):
    with pytest.raises(RuleViolation) as info:
        clean_text(raw, "name")
    assert info.value.code == "control_character"


def test_multiline_notes_keep_line_breaks():
    assert clean_text("第一行\r\n第二行", "note", multiline=True) == "第一行\n第二行"


def test_too_long_is_refused():
    with pytest.raises(RuleViolation) as info:
        clean_text("x" * 11, "name", max_length=10)
    assert info.value.code == "too_long"


def test_free_text_keeps_chinese_punctuation_but_normalises_the_rest():
    assert clean_text("已核实，材料齐全（２份）：同意！", "note", multiline=True) == (
        "已核实，材料齐全（2份）：同意！"
    )
    # Single-line fields (names, codes) are fully NFKC-normalised.
    assert clean_text("大坪村（试点）", "name") == "大坪村(试点)"
