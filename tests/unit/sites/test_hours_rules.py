"""Opening hours, "open today" on the statutory calendar, the public telephone, and the
matter search by the names residents use."""

from __future__ import annotations

from datetime import date

import pytest

from registry.cases.rules import guides
from registry.cases.rules.workdays import Calendar
from registry.core.errors import RuleViolation
from registry.sites.rules import hours

WEEK = {
    "mon": [["14:30", "17:30"], ["08:30", "12:00"]],
    "tue": [["08:30", "12:00"], ["14:30", "17:30"]],
    "wed": [["08:30", "12:00"], ["14:30", "17:30"]],
    "thu": [["08:30", "12:00"], ["14:30", "17:30"]],
    "fri": [["08:30", "12:00"]],
    "sat": [["09:00", "11:30"]],
}
MORNING_AND_AFTERNOON = [("08:30", "12:00"), ("14:30", "17:30")]

NATIONAL_DAY_2025 = date(2025, 10, 1)  # Wednesday, 国庆节
NATIONAL_DAY_SATURDAY = date(2025, 10, 4)  # Saturday inside the holiday period
MAKEUP_SATURDAY_2025 = date(2025, 10, 11)  # Saturday, 调休上班
ORDINARY_SATURDAY = date(2025, 11, 15)
ORDINARY_MONDAY = date(2025, 11, 17)
ORDINARY_FRIDAY = date(2025, 11, 21)
SPRING_FESTIVAL_2025 = date(2025, 1, 29)  # Wednesday, 春节


def test_hours_are_stored_sorted_with_every_weekday():
    stored = hours.check_opening_hours(WEEK)
    assert list(stored) == list(hours.DAYS)
    assert stored["mon"] == [["08:30", "12:00"], ["14:30", "17:30"]]
    assert stored["sun"] == []


def test_touching_intervals_are_allowed():
    stored = hours.check_opening_hours({"mon": [["08:00", "12:00"], ["12:00", "13:00"]]})
    assert stored["mon"] == [["08:00", "12:00"], ["12:00", "13:00"]]


def test_not_recorded_stays_none():
    assert hours.check_opening_hours(None) is None


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ({"mon": [["12:00", "08:30"]]}, "hours_end_before_start"),
        ({"mon": [["08:30", "08:30"]]}, "hours_end_before_start"),
        ({"tue": [["08:30", "12:00"], ["11:00", "14:00"]]}, "hours_overlap"),
        ({"tue": [["08:30", "17:30"], ["09:00", "10:00"]]}, "hours_overlap"),
        ({"monday": [["08:30", "12:00"]]}, "invalid_opening_hours"),
        ({"mon": [["8:30", "12:00"]]}, "invalid_opening_hours"),
        ({"mon": [["08:30", "25:00"]]}, "invalid_opening_hours"),
        ({"mon": [["08:30"]]}, "invalid_opening_hours"),
        ({"mon": "08:30-12:00"}, "invalid_opening_hours"),
        (["mon"], "invalid_opening_hours"),
    ],
)
def test_bad_hours_are_refused_with_a_clear_code(value, code):
    with pytest.raises(RuleViolation) as caught:
        hours.check_opening_hours(value)
    assert caught.value.code == code
    assert caught.value.zh and caught.value.en
    assert caught.value.field.startswith("opening_hours")


def test_every_problem_is_listed_at_once():
    with pytest.raises(RuleViolation) as caught:
        hours.check_opening_hours(
            {"mon": [["12:00", "08:00"]], "tue": [["08:00", "12:00"], ["10:00", "13:00"]]}
        )
    assert caught.value.code == "hours_end_before_start"
    fields = [e["field"] for e in caught.value.errors]
    assert fields == ["opening_hours.mon", "opening_hours.tue"]
    assert "重叠" in caught.value.errors[1]["message"]


@pytest.mark.parametrize(
    ("day", "kind", "expected"),
    [
        (ORDINARY_MONDAY, "workday", MORNING_AND_AFTERNOON),
        (ORDINARY_FRIDAY, "workday", [("08:30", "12:00")]),
        (ORDINARY_SATURDAY, "weekend", [("09:00", "11:30")]),
        (date(2025, 11, 16), "weekend", []),
        (NATIONAL_DAY_2025, "holiday", []),
        (NATIONAL_DAY_SATURDAY, "holiday", []),
        (SPRING_FESTIVAL_2025, "holiday", []),
        # A make-up Saturday keeps a working day's hours (Monday's), not Saturday's.
        (MAKEUP_SATURDAY_2025, "makeup", MORNING_AND_AFTERNOON),
    ],
)
def test_open_today_follows_the_statutory_calendar(day, kind, expected):
    stored = hours.check_opening_hours(WEEK)
    assert hours.day_kind(day) == kind
    assert hours.opening_today(stored, day) == expected


def test_a_makeup_day_of_a_site_closed_on_mondays_takes_the_next_working_days_hours():
    stored = hours.check_opening_hours({"tue": [["09:00", "16:00"]]})
    assert hours.opening_today(stored, MAKEUP_SATURDAY_2025) == [("09:00", "16:00")]


def test_a_year_entered_in_the_registry_takes_precedence():
    # The registry's own arrangement: 2025-11-17 declared a holiday, 2025-11-15 a workday.
    calendar = Calendar({2025: ([ORDINARY_MONDAY], [ORDINARY_SATURDAY])})
    stored = hours.check_opening_hours(WEEK)
    assert hours.opening_today(stored, ORDINARY_MONDAY, calendar) == []
    assert hours.day_kind(ORDINARY_SATURDAY, calendar) == "makeup"
    assert hours.opening_today(stored, ORDINARY_SATURDAY, calendar) == MORNING_AND_AFTERNOON


def test_the_day_in_words():
    stored = hours.check_opening_hours(WEEK)
    assert hours.describe_day(stored, ORDINARY_MONDAY) == "08:30–12:00、14:30–17:30"
    assert hours.describe_day(stored, date(2025, 11, 16)) == "休息"
    assert hours.describe_day(stored, NATIONAL_DAY_2025) == "休息（法定节假日）"
    assert hours.describe_day(stored, MAKEUP_SATURDAY_2025).startswith("调休上班 08:30")
    assert hours.describe_day(None, ORDINARY_MONDAY) == "未登记"


def test_open_at_a_time():
    assert hours.is_open_at(MORNING_AND_AFTERNOON, "08:30")
    assert not hours.is_open_at(MORNING_AND_AFTERNOON, "12:00")
    assert not hours.is_open_at([], "10:00")


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("0745-2712345", "0745-2712345"),
        ("(0745)2712345", "0745-2712345"),
        ("（0745）2712345", "0745-2712345"),
        ("07452712345", "0745-2712345"),
        ("0745 27123456", "0745-27123456"),
        ("010-62345678", "010-62345678"),
        ("0745-2712345-801", "0745-2712345-801"),
        ("0745-2712345转801", "0745-2712345-801"),
        ("+86 745 2712345", "0745-2712345"),
        ("", None),
        (None, None),
    ],
)
def test_public_phone_is_stored_in_one_form(written, stored):
    assert hours.check_public_phone(written) == stored


@pytest.mark.parametrize(
    "written",
    ["12345", "2712345", "0745-123", "1381234567", "23812345678", "010-02345678", "电话", "abc"],
)
def test_bad_public_phone_is_refused(written):
    with pytest.raises(RuleViolation) as caught:
        hours.check_public_phone(written)
    assert caught.value.code == "invalid_public_phone"
    assert caught.value.field == "public_phone"


DIBAO = {
    "code": "MZ001",
    "name": "最低生活保障申请",
    "category": "社会救助",
    "department": "县(市、区)民政局",
    "aliases": ["低保", "农村低保"],
}


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("低保", True),
        ("农村 低保", True),
        ("ｍｚ００１", True),
        ("最低生活", True),
        ("养老", False),
    ],
)
def test_matters_are_found_by_the_names_residents_use(query, found):
    assert guides.matter_matches(DIBAO, query) is found


def test_guide_of_a_matter_that_requires_materials_lists_them():
    guides.check_materials(["居民身份证"], True)
    guides.check_materials([], False)
    with pytest.raises(RuleViolation) as caught:
        guides.check_materials([], True)
    assert caught.value.code == "materials_required"


def test_aliases_are_trimmed_and_deduplicated():
    assert guides.check_aliases([" 低保 ", "低保", "", "ＤＢ", "db"]) == ["低保", "DB"]
    with pytest.raises(RuleViolation):
        guides.check_aliases(["名" * 21])
    with pytest.raises(RuleViolation):
        guides.check_aliases([f"别名{i}" for i in range(21)])
