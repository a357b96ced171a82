"""A year's official holiday arrangement as the municipal centre enters it: checked whole.

An arrangement lists the statutory holidays (each date with its holiday's name) and the make-up
working days (调休上班, a Saturday or Sunday worked). Every date lies inside the year, no date is
both, none is listed twice; every problem is reported at once.
"""

from __future__ import annotations

from datetime import date

from registry.core.errors import RuleViolation

# The years the working-day index spans (registry.cases.rules.workdays).
FIRST_YEAR = 2004
LAST_YEAR = 2049
NAME_MAX = 20


def arrangement_problems(
    year: int, holidays: list[tuple[date, str]], workdays: list[date]
) -> list[RuleViolation]:
    """Every problem of ``year``'s arrangement (``holidays``: (date, name) pairs)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return [
            RuleViolation(
                "calendar_year_out_of_range",
                f"年份应在 {FIRST_YEAR} 到 {LAST_YEAR} 之间",
                f"the year must be {FIRST_YEAR} to {LAST_YEAR}",
                "year",
            )
        ]
    found: list[RuleViolation] = []
    seen: set[date] = set()
    for i, (day, name) in enumerate(holidays):
        where = f"holidays[{i}].date"
        if day.year != year:
            found.append(
                RuleViolation(
                    "calendar_date_outside_year",
                    f"节假日 {day.isoformat()} 不在 {year} 年内",
                    f"holiday {day.isoformat()} is not in {year}",
                    where,
                )
            )
        elif day in seen:
            found.append(
                RuleViolation(
                    "calendar_date_repeated",
                    f"节假日 {day.isoformat()} 重复填写",
                    f"holiday {day.isoformat()} is listed twice",
                    where,
                )
            )
        seen.add(day)
        text = (name or "").strip()
        if not text or len(text) > NAME_MAX:
            found.append(
                RuleViolation(
                    "calendar_holiday_name",
                    f"节假日 {day.isoformat()} 须填写名称（不超过 {NAME_MAX} 个字）",
                    f"holiday {day.isoformat()} needs a name of at most {NAME_MAX} characters",
                    f"holidays[{i}].name",
                )
            )
    extra: set[date] = set()
    for i, day in enumerate(workdays):
        where = f"workdays[{i}]"
        if day.year != year:
            found.append(
                RuleViolation(
                    "calendar_date_outside_year",
                    f"调休上班日 {day.isoformat()} 不在 {year} 年内",
                    f"make-up working day {day.isoformat()} is not in {year}",
                    where,
                )
            )
        elif day in seen:
            found.append(
                RuleViolation(
                    "calendar_date_both",
                    f"{day.isoformat()} 不能既是节假日又是调休上班日",
                    f"{day.isoformat()} cannot be both a holiday and a make-up working day",
                    where,
                )
            )
        elif day in extra:
            found.append(
                RuleViolation(
                    "calendar_date_repeated",
                    f"调休上班日 {day.isoformat()} 重复填写",
                    f"make-up working day {day.isoformat()} is listed twice",
                    where,
                )
            )
        elif day.weekday() < 5:
            found.append(
                RuleViolation(
                    "calendar_workday_not_weekend",
                    f"调休上班日 {day.isoformat()} 应为周六或周日",
                    f"make-up working day {day.isoformat()} must be a Saturday or Sunday",
                    where,
                )
            )
        extra.add(day)
    return found
