"""Rules about a site's facts and the division it stands on, shared by the API and imports."""

from __future__ import annotations

from datetime import date

from registry.core.errors import RuleViolation
from registry.divisions.rules import exists_on


def check_facts(
    hall_area: float | None, staff: int | None, collected_on: date | None, today: date
) -> None:
    """Hall area, staff count and the coordinate collection date of a site.

    Raises:
        RuleViolation: ``invalid_hall_area``, ``invalid_staff_count`` or
            ``collected_on_in_future``.
    """
    if hall_area is not None and not 0 < hall_area < 100_000:
        raise RuleViolation(
            "invalid_hall_area",
            "服务大厅面积应在 0 到 100000 平方米之间",
            "hall_area_m2 must be between 0 and 100,000",
            "hall_area_m2",
        )
    if staff is not None and not 0 <= staff <= 1000:
        raise RuleViolation(
            "invalid_staff_count",
            "工作人员数应在 0 到 1000 之间",
            "staff_count must be between 0 and 1,000",
            "staff_count",
        )
    if collected_on is not None and collected_on > today:
        raise RuleViolation(
            "collected_on_in_future",
            "坐标采集日期不能晚于今天",
            "collected_on cannot be in the future",
            "collected_on",
        )


def check_division_open(
    name: str, established_on: date | None, abolished_on: date | None, today: date
) -> None:
    """A new site needs a division that exists today.

    Raises:
        RuleViolation: ``division_abolished``.
    """
    if not exists_on(established_on, abolished_on, today):
        raise RuleViolation(
            "division_abolished",
            f"区划 {name} 已撤销或尚未设立",
            f"division {name} does not exist today (abolished or not yet set up)",
            "division_code",
        )
