"""A site's public facts for residents: opening hours, "open today", the public telephone.

Opening hours are kept per weekday, each day a list of ``[start, end]`` intervals in 24-hour
``HH:MM`` China time::

    {"mon": [["08:30", "12:00"], ["14:30", "17:30"]], ..., "sat": [], "sun": []}

A day missing from the object is closed. Intervals are sorted on the way in; an interval whose
end is not after its start, or two intervals of one day that overlap (touching is allowed:
``12:00`` end, ``12:00`` start), are refused — every problem is listed, raised once.

"Open today" follows the same working-day calendar as due dates
(:mod:`registry.cases.rules.workdays`): on a statutory holiday (法定节假日, including the
weekend days inside a holiday period) the site is closed whatever its weekly hours say; on a
make-up working day (调休上班, a Saturday or Sunday that is a working day) it keeps the hours of
a regular working day — Monday's, or the first of Tuesday…Friday that has hours when it is
closed on Mondays. Other days follow the weekly hours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from itertools import pairwise
from typing import Any, Protocol

import chinese_calendar

from registry.cases.rules import workdays
from registry.core.errors import RuleViolation, field_error

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES_ZH = {
    "mon": "星期一",
    "tue": "星期二",
    "wed": "星期三",
    "thu": "星期四",
    "fri": "星期五",
    "sat": "星期六",
    "sun": "星期日",
}
MAX_INTERVALS = 4
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")

Interval = tuple[str, str]


class WorkdayCalendar(Protocol):
    def is_workday(self, day: date) -> bool: ...


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def check_opening_hours(value: Any) -> dict[str, list[list[str]]] | None:
    """The opening hours as stored: every weekday present, intervals sorted.

    ``None`` (not recorded) stays None.

    Raises:
        RuleViolation: ``invalid_opening_hours`` (shape: unknown day, an interval that is not
            two times, a time not ``HH:MM``), ``hours_end_before_start`` or
            ``hours_overlap``; the first problem names the code, ``errors`` lists them all.
    """
    if value is None:
        return None
    problems: list[tuple[str, str, str, str]] = []  # code, field, zh, en

    def problem(code: str, day: str, zh: str, en: str) -> None:
        problems.append((code, f"opening_hours.{day}" if day else "opening_hours", zh, en))

    if not isinstance(value, Mapping):
        problem(
            "invalid_opening_hours",
            "",
            "营业时间应为按星期（mon…sun）列出时段的对象",
            "opening_hours must be an object of weekdays (mon…sun)",
        )
        _raise(problems)
    result: dict[str, list[list[str]]] = {}
    for day in value:
        if day not in DAYS:
            problem(
                "invalid_opening_hours",
                str(day)[:10],
                f"未知的星期：{str(day)[:10]}（应为 mon、tue、wed、thu、fri、sat、sun）",
                f"unknown weekday {str(day)[:10]!r} (mon, tue, wed, thu, fri, sat, sun)",
            )
    for day in DAYS:
        intervals = value.get(day) or []
        name = DAY_NAMES_ZH[day]
        if not isinstance(intervals, list) or len(intervals) > MAX_INTERVALS:
            problem(
                "invalid_opening_hours",
                day,
                f"{name}的时段应为列表，最多 {MAX_INTERVALS} 段",
                f"{day}: a list of at most {MAX_INTERVALS} intervals",
            )
            continue
        good: list[list[str]] = []
        for interval in intervals:
            if (
                not isinstance(interval, list | tuple)
                or len(interval) != 2
                or not all(isinstance(t, str) and _TIME.match(t) for t in interval)
            ):
                problem(
                    "invalid_opening_hours",
                    day,
                    f'{name}的时段 {str(interval)[:40]} 应为两个 HH:MM 时间，如 ["08:30", "12:00"]',
                    f"{day}: interval {str(interval)[:40]} must be two HH:MM times, "
                    'e.g. ["08:30", "12:00"]',
                )
                continue
            start, end = interval
            if _minutes(end) <= _minutes(start):
                problem(
                    "hours_end_before_start",
                    day,
                    f"{name}的时段 {start}–{end}：结束时间应晚于开始时间",
                    f"{day}: interval {start}–{end} ends before it starts",
                )
                continue
            good.append([start, end])
        good.sort(key=lambda i: _minutes(i[0]))
        for before, after in pairwise(good):
            if _minutes(after[0]) < _minutes(before[1]):
                problem(
                    "hours_overlap",
                    day,
                    f"{name}的时段 {before[0]}–{before[1]} 与 {after[0]}–{after[1]} 重叠",
                    f"{day}: intervals {before[0]}–{before[1]} and {after[0]}–{after[1]} overlap",
                )
        result[day] = good
    _raise(problems)
    return result


def _raise(problems: list[tuple[str, str, str, str]]) -> None:
    if not problems:
        return
    code, field, zh, en = problems[0]
    if len(problems) > 1:
        zh = f"{zh}（共 {len(problems)} 处问题）"
        en = f"{en} ({len(problems)} problems)"
    raise RuleViolation(
        code,
        zh,
        en,
        field,
        errors=[field_error(f, f"{z} / {e}") for _, f, z, e in problems],
    )


def day_kind(day: date, calendar: WorkdayCalendar | None = None) -> str:
    """``workday``, ``weekend``, ``holiday`` (a statutory holiday, its weekend days included)
    or ``makeup`` (a Saturday or Sunday that is a working day), by the due-date calendar."""
    working = calendar.is_workday(day) if calendar is not None else workdays.is_workday(day)
    weekend = day.weekday() >= 5
    if working:
        return "makeup" if weekend else "workday"
    if not weekend or _holiday_period(day, calendar):
        return "holiday"
    return "weekend"


def _holiday_period(day: date, calendar: WorkdayCalendar | None) -> bool:
    """Whether a weekend ``day`` falls inside a statutory holiday period."""
    entered = getattr(calendar, "entered", None) or {}
    if day.year in entered:
        holidays, _extra = entered[day.year]
        return day in holidays
    if not workdays.is_covered(day):
        return False
    try:
        _on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:  # pragma: no cover - is_covered says the year is known
        return False
    return name is not None


def opening_today(
    hours: Mapping[str, Any] | None, day: date, calendar: WorkdayCalendar | None = None
) -> list[Interval]:
    """The intervals a site with weekly ``hours`` is open on ``day`` (empty: closed; hours
    not recorded: empty too)."""
    if not hours:
        return []
    kind = day_kind(day, calendar)
    if kind == "holiday":
        return []
    if kind == "makeup":
        for weekday in DAYS[:5]:
            if hours.get(weekday):
                return [(s, e) for s, e in hours[weekday]]
        return []
    return [(s, e) for s, e in hours.get(DAYS[day.weekday()]) or []]


def describe_day(
    hours: Mapping[str, Any] | None, day: date, calendar: WorkdayCalendar | None = None
) -> str:
    """``day``'s opening in words, as residents read it: ``08:30–12:00、14:30–17:30``,
    ``休息``, ``休息（法定节假日）``, ``调休上班 08:30–12:00`` or ``未登记`` (no hours
    recorded)."""
    if hours is None:
        return "未登记"
    kind = day_kind(day, calendar)
    if kind == "holiday":
        return "休息（法定节假日）"
    periods = opening_today(hours, day, calendar)
    text = "、".join(f"{s}–{e}" for s, e in periods) if periods else "休息"
    return f"调休上班 {text}" if kind == "makeup" and periods else text


def is_open_at(intervals: list[Interval], hhmm: str) -> bool:
    """Whether ``hhmm`` falls inside one of ``intervals`` (start included, end excluded)."""
    now = _minutes(hhmm)
    return any(_minutes(s) <= now < _minutes(e) for s, e in intervals)


# ------------------------------------------------------------------------------ telephone

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# 010 and 02X are three-digit area codes with 8-digit numbers; the others are 0 + 3 digits
# with 7- or 8-digit numbers. A local number does not begin with 0 or 1.
_FIXED_3 = re.compile(r"^(010|02\d)([2-9]\d{7})$")
_FIXED_4 = re.compile(r"^(0[3-9]\d{2})([2-9]\d{6,7})$")
# An extension: 转801, ext 801, x801, or a third dash-separated group (0745-2712345-801).
_EXTENSION = re.compile(r"^(.+?)(?:转|ext\.?|x|#)(\d{1,6})$", re.IGNORECASE)
_DASHED_EXTENSION = re.compile(r"^(0\d{2,3}-\d{7,8})-(\d{1,6})$")


def check_public_phone(value: str | None) -> str | None:
    """A published telephone: a mainland mobile (``13812345678``) or a fixed line with its
    area code (``0745-2712345``, optionally with an extension: ``0745-2712345-801``); written
    with spaces, dashes, brackets or a ``+86`` prefix, stored in that canonical form. Blank is
    None (no public telephone).

    Raises:
        RuleViolation: ``invalid_public_phone``.
    """
    if value is None or not value.strip():
        return None
    # A telephone is short; anything longer is refused before any pattern looks at it.
    text = re.sub(r"[\s()（）]", "", value.strip()) if len(value) <= 40 else "-"
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text = text[len(prefix) :].lstrip("-")
            if not text.startswith(("0", "1")):
                text = "0" + text  # +86 745 2712345: the trunk 0 is dropped after +86
    extension = ""
    match = _EXTENSION.match(text) or _DASHED_EXTENSION.match(text)
    if match:
        text, extension = match[1], match[2]
    digits = text.replace("-", "")
    if digits.isdigit() and not extension and _MOBILE.match(digits):
        return digits
    fixed = (_FIXED_3.match(digits) or _FIXED_4.match(digits)) if digits.isdigit() else None
    if fixed:
        number = f"{fixed[1]}-{fixed[2]}"
        return f"{number}-{extension}" if extension else number
    raise RuleViolation(
        "invalid_public_phone",
        "对外电话应为手机号（如 13812345678）或带区号的固定电话（如 0745-2712345）",
        "public_phone must be a mainland mobile (13812345678) or a fixed line with its area "
        "code (0745-2712345)",
        "public_phone",
    )
