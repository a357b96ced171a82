"""Working days: statutory holidays and make-up workdays (调休) of 2013 and 2014, fallback years."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from registry.cases.rules import workdays
from registry.cases.rules.workdays import add_workdays, is_workday, workdays_between

D = date


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2013, 9, 29), True),  # Sunday, make-up workday for National Day 2013
        (D(2013, 10, 12), True),  # Saturday, make-up workday
        (D(2013, 10, 1), False),
        (D(2013, 10, 7), False),  # Monday inside the Golden Week
        (D(2013, 9, 28), False),  # ordinary Saturday
        (D(2013, 2, 16), True),  # Saturday, make-up for Spring Festival 2013
        (D(2013, 2, 17), True),  # Sunday, make-up
        (D(2013, 2, 15), False),  # Friday inside the Spring Festival holiday
        (D(2014, 1, 26), True),  # Sunday, make-up for Spring Festival 2014
        (D(2014, 2, 8), True),  # Saturday, make-up
        (D(2014, 1, 31), False),
        (D(2014, 2, 6), False),  # Thursday inside the holiday
        (D(2014, 9, 28), True),  # Sunday, make-up for National Day 2014
        (D(2014, 10, 11), True),  # Saturday, make-up
        (D(2014, 10, 3), False),
        (D(2014, 10, 8), True),
    ],
)
def test_statutory_calendar(day, working):
    assert is_workday(day) is working


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        # National Day 2013 (1–7 October; 29 September and 12 October worked).
        (D(2013, 9, 27), 1, D(2013, 9, 29)),  # Friday → the make-up Sunday
        (D(2013, 9, 29), 1, D(2013, 9, 30)),
        (D(2013, 9, 29), 2, D(2013, 10, 8)),  # the whole Golden Week skipped
        (D(2013, 9, 30), 5, D(2013, 10, 12)),  # ends on the make-up Saturday
        (D(2013, 9, 30), 6, D(2013, 10, 14)),
        # Spring Festival 2013 (9–15 February; 16 and 17 February worked).
        (D(2013, 2, 8), 1, D(2013, 2, 16)),
        (D(2013, 2, 8), 2, D(2013, 2, 17)),
        (D(2013, 2, 8), 3, D(2013, 2, 18)),
        # Spring Festival 2014 (31 January – 6 February; 26 January and 8 February worked).
        (D(2014, 1, 24), 1, D(2014, 1, 26)),  # Friday → the make-up Sunday
        (D(2014, 1, 29), 3, D(2014, 2, 8)),  # 30 Jan, 7 Feb, make-up 8 Feb
        (D(2014, 1, 30), 1, D(2014, 2, 7)),
        (D(2014, 1, 30), 20, D(2014, 3, 5)),  # 7, 8 Feb, then 18 ordinary days
        # National Day 2014 (1–7 October; 28 September and 11 October worked).
        (D(2014, 9, 26), 1, D(2014, 9, 28)),
        (D(2014, 9, 30), 3, D(2014, 10, 10)),
        (D(2014, 9, 30), 4, D(2014, 10, 11)),
        # 即办 (0 days): due the day it was received, even on a holiday.
        (D(2014, 10, 3), 0, D(2014, 10, 3)),
        # An ordinary week.
        (D(2014, 3, 3), 5, D(2014, 3, 10)),
    ],
)
def test_due_date_counts_working_days_after_receipt(received, days, due):
    assert add_workdays(received, days) == due


def test_covered_years_include_the_campaign():
    first, last = workdays.covered_years()
    assert first <= 2013 and last >= 2025


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        # Outside the package's years: Monday–Friday only (1 October 2030 counts as a workday).
        (D(2030, 9, 30), 1, D(2030, 10, 1)),
        (D(2030, 10, 4), 1, D(2030, 10, 7)),
        (D(2003, 1, 3), 1, D(2003, 1, 6)),
    ],
)
def test_uncovered_years_fall_back_to_weekends_only(received, days, due):
    assert not workdays.is_covered(received)
    assert add_workdays(received, days) == due


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [
        (D(2013, 9, 30), D(2013, 9, 30), 0),
        (D(2013, 9, 30), D(2013, 10, 8), 1),
        (D(2013, 9, 27), D(2013, 10, 8), 3),  # 29 Sep, 30 Sep, 8 Oct
        (D(2014, 1, 24), D(2014, 2, 10), 8),  # 26–30 Jan, 7, 8 and 10 Feb
        (D(2013, 10, 8), D(2013, 9, 30), -1),
    ],
)
def test_workdays_between(start, end, count):
    assert workdays_between(start, end) == count


@pytest.mark.parametrize("days", [-1, workdays.MAX_LIMIT_DAYS + 1])
def test_limits_outside_range_are_refused(days):
    with pytest.raises(ValueError):
        add_workdays(D(2014, 3, 3), days)


def _naive_add(start: date, days: int) -> date:
    current, left = start, days
    while left:
        current += timedelta(days=1)
        left -= is_workday(current)
    return current


def test_indexed_deadlines_match_day_by_day_counting():
    day = D(2012, 12, 1)
    while day <= D(2015, 1, 31):
        for days in (0, 1, 3, 5, 20, 60):
            due = add_workdays(day, days)
            assert due == _naive_add(day, days)
            assert workdays_between(day, due) == days
        day += timedelta(days=1)


def test_workdays_in_month():
    october = workdays.workdays_in_month(2013, 10)
    assert october[0] == D(2013, 10, 8) and D(2013, 10, 12) in october
    assert len(october) == 19  # 8–12 (12th a make-up Saturday), then three weeks and 28–31
    assert workdays.workdays_in_month(2030, 2)[0] == D(2030, 2, 1)


def test_timeliness_is_re_derived_with_an_entered_year():
    """元旦 2027 entered: a forward on Tuesday 5 January after a receipt on Wednesday 30
    December is in time (31 Dec, 4 Jan, 5 Jan), a completion on Monday 4 January meets a due
    date moved from Friday 1 to Monday 4 January, one working day fewer to completion."""
    from datetime import UTC, datetime

    from registry.cases.rules.timeline import rederive

    weekends_only = workdays.Calendar()
    entered = workdays.Calendar({2027: ([date(2027, 1, 1)], [])})
    forwarded = datetime(2027, 1, 5, 1, 0, tzinfo=UTC)
    assert rederive(date(2026, 12, 30), date(2027, 1, 27), forwarded, None, weekends_only) == (
        True,
        None,
        None,
    )
    assert rederive(date(2026, 12, 30), date(2027, 1, 27), forwarded, None, entered) == (
        False,
        None,
        None,
    )
    completed = datetime(2027, 1, 4, 2, 0, tzinfo=UTC)
    assert rederive(date(2026, 12, 4), date(2027, 1, 1), None, completed, weekends_only) == (
        False,
        21,
        False,
    )
    assert rederive(date(2026, 12, 4), date(2027, 1, 4), None, completed, entered) == (
        False,
        20,
        True,
    )


def test_every_day_is_the_packages_answer_where_it_has_one_and_weekdays_elsewhere():
    """The package's tables read directly (not through its slow ``is_workday``) give its own
    answer on every day of its years, and Monday to Friday before and after them."""
    import chinese_calendar

    first, last = workdays.covered_years()
    day, end = date(first - 3, 1, 1), date(last + 3, 12, 31)
    differ = []
    while day <= end:
        try:
            expected = bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            expected = day.weekday() < 5
        if is_workday(day) is not expected:
            differ.append(day)
        day += timedelta(days=1)
    assert differ == []
    assert is_workday(date(first - 1, 10, 1)) is True  # a Monday-to-Friday day, no holiday
