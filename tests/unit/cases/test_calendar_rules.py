"""A year's holiday arrangement entered in the registry: checks, and the calendar it makes."""

from __future__ import annotations

from datetime import date

import pytest

from registry.cases.rules.calendar import arrangement_problems
from registry.cases.rules.workdays import LIBRARY, Calendar

YUANDAN_2027 = Calendar({2027: ([date(2027, 1, 1)], [])})


def codes(year, holidays, workdays):
    return [p.code for p in arrangement_problems(year, holidays, workdays)]


def test_a_correct_arrangement_has_no_problem():
    holidays = [(date(2027, 1, 1), "元旦"), (date(2027, 2, 8), "春节")]
    assert codes(2027, holidays, [date(2027, 2, 6)]) == []


@pytest.mark.parametrize(
    ("holidays", "workdays", "expected"),
    [
        ([(date(2028, 1, 1), "元旦")], [], ["calendar_date_outside_year"]),
        ([], [date(2026, 12, 26)], ["calendar_date_outside_year"]),
        ([(date(2027, 2, 6), "春节")], [date(2027, 2, 6)], ["calendar_date_both"]),
        ([(date(2027, 1, 1), "元旦"), (date(2027, 1, 1), "元旦")], [], ["calendar_date_repeated"]),
        ([], [date(2027, 2, 8)], ["calendar_workday_not_weekend"]),
        ([(date(2027, 1, 1), "")], [], ["calendar_holiday_name"]),
    ],
)
def test_every_problem_is_named(holidays, workdays, expected):
    assert codes(2027, holidays, workdays) == expected


def test_a_year_out_of_the_index_is_refused():
    assert codes(1999, [], []) == ["calendar_year_out_of_range"]


def test_the_package_ends_and_an_entered_year_takes_over():
    assert LIBRARY.is_known(2026) and not LIBRARY.is_known(2027)
    assert LIBRARY.source(2026) == "library" and LIBRARY.source(2027) is None
    # 20 working days from Friday 4 December 2026: weekends only in 2027, due on 元旦.
    assert LIBRARY.add_workdays(date(2026, 12, 4), 20) == date(2027, 1, 1)
    assert YUANDAN_2027.is_known(2027) and YUANDAN_2027.source(2027) == "registry"
    assert YUANDAN_2027.add_workdays(date(2026, 12, 4), 20) == date(2027, 1, 4)
    assert YUANDAN_2027.workdays_between(date(2026, 12, 31), date(2027, 1, 4)) == 1


def test_an_entered_year_overrides_the_package():
    # 2026-10-01 is 国庆节 in the package; a registry entry without it makes it a working day.
    assert not LIBRARY.is_workday(date(2026, 10, 1))
    assert Calendar({2026: ([], [])}).is_workday(date(2026, 10, 1))
    assert Calendar({2027: ([], [date(2027, 2, 6)])}).is_workday(date(2027, 2, 6))
