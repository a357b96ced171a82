"""Working days of China's statutory calendar: holidays and make-up workdays (调休).

The calendar comes from the ``chinesecalendar`` package, which publishes each year's State
Council arrangement (it covers 2004 to the year its release knows; see :func:`covered_years`).
For a year the package does not cover — before 2004, or a year whose arrangement is not yet
published or not yet in the installed release — the fallback is Monday to Friday as working days
(weekends only, no holidays): a due date in such a year may fall on a public holiday. Upgrading
the package extends the covered years; nothing else changes.

The municipal centre may enter a year's official arrangement in the registry (holidays and
make-up working days); a :class:`Calendar` built with those years takes them before the
package's. A date in a year neither knows is *provisional* (:meth:`Calendar.is_known`).

A time limit of *n* working days counts from the day after receipt: the due date is the *n*-th
working day strictly after the received date (0 days: due the day it was received).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from functools import lru_cache

from chinese_calendar import constants as _calendar

# Longest time limit a matter may have, in working days (about one and a half years).
MAX_LIMIT_DAYS = 365


def covered_years() -> tuple[int, int]:
    """First and last year the installed ``chinesecalendar`` knows the arrangement of."""
    days = [*_calendar.holidays, *_calendar.workdays]
    return min(days).year, max(days).year


_FIRST_YEAR, _LAST_YEAR = covered_years()


def is_covered(day: date) -> bool:
    """Whether ``day``'s year has the statutory arrangement (else weekends only)."""
    return _FIRST_YEAR <= day.year <= _LAST_YEAR


# The package's own tables: its ``is_workday`` looks the span of years up again on every call
# (about 15 µs); read directly, a day costs two set lookups. It answers for the years of its
# holidays' table (other years raise there: weekends only here, as before).
_HOLIDAYS = _calendar.holidays
_MAKE_UP_WORKDAYS = _calendar.workdays
_PACKAGE_FIRST, _PACKAGE_LAST = min(_HOLIDAYS).year, max(_HOLIDAYS).year


def is_workday(day: date) -> bool:
    """Whether ``day`` is a working day (make-up Saturdays/Sundays included)."""
    if is_covered(day) and _PACKAGE_FIRST <= day.year <= _PACKAGE_LAST:
        return day in _MAKE_UP_WORKDAYS or (day.weekday() < 5 and day not in _HOLIDAYS)
    return day.weekday() < 5


# Every working day of a span of years, sorted: deadlines by bisection instead of day loops.
_INDEX_FIRST = date(2000, 1, 1)
_INDEX_LAST = date(2049, 12, 31)


@lru_cache(maxsize=1)
def _index() -> list[date]:
    days = []
    current = _INDEX_FIRST
    while current <= _INDEX_LAST:
        if is_workday(current):
            days.append(current)
        current += timedelta(days=1)
    return days


def add_workdays(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself not counted).

    Raises:
        ValueError: a negative count or one above :data:`MAX_LIMIT_DAYS`.
    """
    if not 0 <= days <= MAX_LIMIT_DAYS:
        raise ValueError(f"working days must be between 0 and {MAX_LIMIT_DAYS}, got {days}")
    if days == 0:
        return start
    index = _index()
    if start >= _INDEX_FIRST and start + timedelta(days=2 * days + 30) <= _INDEX_LAST:
        return index[bisect_right(index, start) + days - 1]
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_workday(current):
            remaining -= 1
    return current


def workdays_in_month(year: int, month: int) -> list[date]:
    """The working days of one month, in order."""
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    if first >= _INDEX_FIRST and following <= _INDEX_LAST:
        index = _index()
        return index[bisect_left(index, first) : bisect_left(index, following)]
    return [
        first + timedelta(days=i)
        for i in range((following - first).days)
        if is_workday(first + timedelta(days=i))
    ]


def workdays_between(start: date, end: date) -> int:
    """Working days in ``(start, end]``: 0 on the same day, 1 for the next working day.

    Negative when ``end`` is before ``start`` (the count of ``(end, start]``, negated).
    """
    if end < start:
        return -workdays_between(end, start)
    if start >= _INDEX_FIRST and end <= _INDEX_LAST:
        index = _index()
        return bisect_right(index, end) - bisect_right(index, start)
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_workday(current):
            count += 1
    return count


class Calendar:
    """The working-day calendar: the package's years, overridden by the years entered in the
    registry (``entered``: year → (holidays, make-up working days)). Pure: built from values,
    its index made on first use."""

    def __init__(
        self, entered: Mapping[int, tuple[Iterable[date], Iterable[date]]] | None = None
    ) -> None:
        self.entered = {
            year: (frozenset(holidays), frozenset(extra))
            for year, (holidays, extra) in (entered or {}).items()
        }
        self._days: list[date] | None = None

    def is_known(self, year: int) -> bool:
        """Whether the year's official arrangement is known (entered, or in the package)."""
        return year in self.entered or _FIRST_YEAR <= year <= _LAST_YEAR

    def source(self, year: int) -> str | None:
        """``registry`` (entered), ``library`` (the package) or None (unknown)."""
        if year in self.entered:
            return "registry"
        return "library" if _FIRST_YEAR <= year <= _LAST_YEAR else None

    def is_workday(self, day: date) -> bool:
        arrangement = self.entered.get(day.year)
        if arrangement is None:
            return is_workday(day)
        holidays, extra = arrangement
        return day in extra or (day.weekday() < 5 and day not in holidays)

    def _index(self) -> list[date]:
        if not self.entered:
            return _index()
        if self._days is None:
            days = []
            current = _INDEX_FIRST
            while current <= _INDEX_LAST:
                if self.is_workday(current):
                    days.append(current)
                current += timedelta(days=1)
            self._days = days
        return self._days

    def add_workdays(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (see :func:`add_workdays`)."""
        if not 0 <= days <= MAX_LIMIT_DAYS:
            raise ValueError(f"working days must be between 0 and {MAX_LIMIT_DAYS}, got {days}")
        if days == 0:
            return start
        if start >= _INDEX_FIRST and start + timedelta(days=2 * days + 30) <= _INDEX_LAST:
            index = self._index()
            return index[bisect_right(index, start) + days - 1]
        current = start
        remaining = days
        while remaining:
            current += timedelta(days=1)
            if self.is_workday(current):
                remaining -= 1
        return current

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in ``(start, end]`` (see :func:`workdays_between`)."""
        if end < start:
            return -self.workdays_between(end, start)
        if start >= _INDEX_FIRST and end <= _INDEX_LAST:
            index = self._index()
            return bisect_right(index, end) - bisect_right(index, start)
        count = 0
        current = start
        while current < end:
            current += timedelta(days=1)
            if self.is_workday(current):
                count += 1
        return count


LIBRARY = Calendar()
"""The package's calendar alone (no year entered in the registry)."""
