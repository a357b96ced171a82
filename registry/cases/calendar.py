"""The registry's working-day calendar: the ``chinesecalendar`` package's years, overridden by
the official arrangements the municipal centre enters (table ``calendar_year``).

Every case write and read takes the calendar from :func:`current`: the entered years are read
(a handful of rows) and the :class:`~registry.cases.rules.workdays.Calendar` built from them is
kept on the runtime while those rows are unchanged, so a year entered by another process is
used at once. Entering a year recomputes, in the same transaction, the due dates it moves
(they were provisional): each distinct (received date, due date) pair is one set-based UPDATE,
the time limit read back from the old calendar (the one the due date was fixed with), so a
matter whose limit changed since keeps its cases' limit; then the late-forward flags and the
completion figures of the cases forwarded or completed around the year.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from registry.audit import service as audit
from registry.cases.rules import calendar as calendar_rules
from registry.cases.rules import timeline as timeline_rules
from registry.cases.rules.workdays import Calendar
from registry.cases.schemas import (
    CalendarArrangement,
    CalendarHoliday,
    CalendarInfo,
    CalendarYearInfo,
)
from registry.core import clock, runtime
from registry.core.access import Actor, require_role
from registry.core.errors import InvalidInput, field_error
from registry.db.transactions import write_transaction
from registry.tables import CalendarYear
from registry.tables import Case as CaseRow

_SLOT = "cases.calendar"


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


async def _rows() -> list[dict[str, Any]]:
    return await CalendarYear.select().order_by(CalendarYear.year).output(load_json=True)


def _stamp(rows: list[dict[str, Any]]) -> tuple[Any, ...]:
    return tuple((r["year"], str(r["updated_at"])) for r in rows)


def _build(rows: list[dict[str, Any]]) -> Calendar:
    return Calendar(
        {
            r["year"]: (
                [_day(h["date"]) for h in r["holidays"]],
                [_day(d) for d in r["workdays"]],
            )
            for r in rows
        }
    )


async def current() -> Calendar:
    """The calendar with every year entered in the registry (cached while they are unchanged)."""
    # Every case write asks: only the years' stamps are read (SQL text, no JSON), the whole
    # years when one changed.
    stamp = _stamp(
        await CalendarYear.raw("SELECT year, updated_at FROM calendar_year ORDER BY year")
    )
    cache = runtime.current().slot(_SLOT, dict)
    if cache.get("stamp") != stamp:
        rows = await _rows()
        cache["stamp"] = _stamp(rows)
        cache["calendar"] = _build(rows)
    return cache["calendar"]


def is_provisional(calendar: Calendar, received_on: date, due_on: date) -> bool:
    """A due date counted through a year whose arrangement is not known."""
    return any(not calendar.is_known(y) for y in range(received_on.year, due_on.year + 1))


# The package names its holidays in English.
HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


def _library_year(year: int) -> tuple[list[CalendarHoliday], list[date]]:
    from chinese_calendar import constants

    holidays = [
        CalendarHoliday(date=d, name=HOLIDAY_NAMES_ZH.get(str(name), "法定节假日"))
        for d, name in sorted(constants.holidays.items())
        if d.year == year
    ]
    extra = sorted(d for d in constants.workdays if d.year == year)
    return holidays, extra


async def get_calendar() -> CalendarInfo:
    """Every year known, its source (registry or library), and whether next year is missing."""
    rows = {r["year"]: r for r in await _rows()}
    calendar = await current()
    this_year = clock.today().year
    first, last = calendar_rules.FIRST_YEAR, max([this_year + 1, *rows])
    years: list[CalendarYearInfo] = []
    for year in range(first, last + 1):
        source = calendar.source(year)
        if source is None:
            continue
        row = rows.get(year)
        if row is not None:
            holidays = [
                CalendarHoliday(date=_day(h["date"]), name=h["name"]) for h in row["holidays"]
            ]
            extra = sorted(_day(d) for d in row["workdays"])
        else:
            holidays, extra = _library_year(year)
        years.append(
            CalendarYearInfo(
                year=year,
                source=source,
                holidays=holidays,
                workdays=extra,
                updated_at=row["updated_at"] if row else None,
                updated_by=row["updated_by"] if row else None,
            )
        )
    return CalendarInfo(
        years=years,
        current_year=this_year,
        next_year=this_year + 1,
        next_year_missing=not calendar.is_known(this_year + 1),
    )


def _check(year: int, data: CalendarArrangement) -> None:
    problems = calendar_rules.arrangement_problems(
        year, [(h.date, h.name) for h in data.holidays], list(data.workdays)
    )
    if problems:
        first = problems[0]
        raise InvalidInput(
            first.code,
            "；".join(p.zh for p in problems),
            "; ".join(p.en for p in problems),
            errors=[field_error(p.field or "body", p.message) for p in problems],
            rules=[p.code for p in problems],
        )


async def _recompute(year: int, old: Calendar, new: Calendar) -> int:
    """Re-derive the due dates the year's arrangement moves; returns how many cases changed.

    Due dates (every case, open or closed: the ones in the year were provisional): one UPDATE
    per distinct pair of received and due dates."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    pairs = await CaseRow.raw(
        "SELECT received_on, due_on, COUNT(*) AS n FROM service_case"
        " WHERE due_on >= {} AND received_on <= {}"
        " GROUP BY received_on, due_on",
        start,
        end,
    )
    moved_dates = 0
    for pair in pairs:
        if pair["received_on"] is None:
            continue
        received_on, due_on = _day(pair["received_on"]), _day(pair["due_on"])
        limit = old.workdays_between(received_on, due_on)
        if limit < 0:
            continue
        moved = new.add_workdays(received_on, limit)
        if moved == due_on:
            continue
        await CaseRow.update({CaseRow.due_on: moved}).where(
            CaseRow.received_on == received_on, CaseRow.due_on == due_on
        )
        moved_dates += int(pair["n"])
    return moved_dates


async def _recompute_flags(year: int, new: Calendar) -> int:
    """The late-forward flag and the completion figures of the cases whose dates the year's
    arrangement can move — forwarded or completed around the year — re-derived with the new
    calendar and their (recomputed) due dates (:func:`registry.cases.rules.timeline.rederive`),
    updated in groups of equal new values; returns how many cases changed."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    # Midnight of 1 January in China, as stored (UTC).
    year_start = datetime(year - 1, 12, 31, 16, tzinfo=UTC)
    rows = await CaseRow.select(
        CaseRow.id,
        CaseRow.received_on,
        CaseRow.due_on,
        CaseRow.forwarded_at,
        CaseRow.completed_at,
        CaseRow.forward_late,
        CaseRow.completion_workdays,
        CaseRow.completed_on_time,
    ).where(
        (CaseRow.received_on <= end)
        & (
            (CaseRow.completed_at >= year_start)
            | (
                (CaseRow.forwarded_at >= year_start - timedelta(days=31))
                & (CaseRow.received_on >= start - timedelta(days=31))
            )
        )
    )
    groups: dict[tuple[Any, ...], list[str]] = {}
    for row in rows:
        received_on = _day(row["received_on"])
        values = timeline_rules.rederive(
            received_on, _day(row["due_on"]), row["forwarded_at"], row["completed_at"], new
        )
        now = (row["forward_late"], row["completion_workdays"], row["completed_on_time"])
        if values != now:
            groups.setdefault(values, []).append(str(row["id"]))
    changed = 0
    for (late, workdays, on_time), ids in groups.items():
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            await CaseRow.update(
                {
                    CaseRow.forward_late: late,
                    CaseRow.completion_workdays: workdays,
                    CaseRow.completed_on_time: on_time,
                }
            ).where(CaseRow.id.is_in(chunk))
            changed += len(chunk)
    return changed


async def put_year(actor: Actor, year: int, data: CalendarArrangement) -> CalendarYearInfo:
    """Enter (or replace) ``year``'s official arrangement (municipal centre), audited; the due
    dates of the open cases it moves are recomputed in the same transaction."""
    require_role(actor, "municipal")
    _check(year, data)
    holidays = sorted(
        ({"date": h.date.isoformat(), "name": h.name.strip()} for h in data.holidays),
        key=lambda h: h["date"],
    )
    extra = sorted(d.isoformat() for d in data.workdays)
    now: datetime = clock.now()
    async with write_transaction():
        rows = await _rows()
        old = _build(rows)
        before = next((r for r in rows if r["year"] == year), None)
        entered = {r["year"]: r for r in rows}
        entered[year] = {"year": year, "holidays": holidays, "workdays": extra}
        new = _build(list(entered.values()))
        if before is None:
            await CalendarYear.insert(
                CalendarYear(
                    year=year,
                    holidays=holidays,
                    workdays=extra,
                    updated_at=now,
                    updated_by=actor.username,
                )
            )
        else:
            await CalendarYear.update(
                {
                    CalendarYear.holidays: holidays,
                    CalendarYear.workdays: extra,
                    CalendarYear.updated_at: now,
                    CalendarYear.updated_by: actor.username,
                }
            ).where(CalendarYear.year == year)
        moved = await _recompute(year, old, new)
        flagged = await _recompute_flags(year, new)
        await audit.record(
            actor,
            "create" if before is None else "update",
            "calendar",
            year,
            audit.diff(
                {
                    "holidays": before["holidays"] if before else None,
                    "workdays": before["workdays"] if before else None,
                },
                {
                    "holidays": holidays,
                    "workdays": extra,
                    "cases_recomputed": moved,
                    "flags_recomputed": flagged,
                },
            ),
        )
    return CalendarYearInfo(
        year=year,
        source="registry",
        holidays=[
            CalendarHoliday(date=date.fromisoformat(h["date"]), name=h["name"]) for h in holidays
        ],
        workdays=[date.fromisoformat(d) for d in extra],
        updated_at=now,
        updated_by=actor.username,
        cases_recomputed=moved,
    )


__all__ = ["current", "get_calendar", "is_provisional", "put_year"]
