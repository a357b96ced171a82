"""Coverage counts as step functions of the date: pure (no framework, no ORM, no SQL).

Every count but ``points_active`` of a unit (county or township) is a sum of date spans
``[since, until)`` — a division's life, a division's union of spans in a counting status — so
it changes only at the spans' ends: +1 at ``since``, −1 at ``until``. The database sums these
edges per flag, unit and date (:func:`registry.coverage.sql.steps_statement`); :func:`build`
turns them into one :class:`UnitSteps` per unit: the dates at which any of its six counts
changes and the counts from each of them on (cumulative sums). The counts on a date are then
one binary search per unit (:func:`counts_on`), and the values on a sorted run of dates one
pass (:func:`counts_along`): the cost grows with the units and their change dates, never with
the events or the dates asked for.

The value on ``D`` is the sum of the edges dated ``≤ D``: a span ``[since, until)`` counts on
``D`` exactly when ``since ≤ D < until``, the definition of
:func:`registry.coverage.rules.count_on`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import date

from registry.coverage.rules import Counts

# The counts a step function carries, in this order (``points_active`` is not one: it depends
# on the cases of a 90-day window, counted separately).
FLAGS = (
    "villages_total",
    "points_built",
    "points_in_service",
    "townships_total",
    "centres_in_service",
    "centres_standardized",
)
_INDEX = {flag: n for n, flag in enumerate(FLAGS)}
_VILLAGES = _INDEX["villages_total"]
_TOWNSHIPS = _INDEX["townships_total"]

Row = tuple[int, ...]


class UnitSteps:
    """One unit's counts as step functions.

    Attributes:
        days: the ordinals of the dates at which a count changes, ascending.
        values: the six counts (:data:`FLAGS` order) from ``days[i]`` until ``days[i + 1]``.
    """

    __slots__ = ("_counts", "days", "values")

    def __init__(self, days: list[int], values: list[Row]) -> None:
        self.days = days
        self.values = values
        # The Counts of each step, made on first use (dates close together share steps).
        self._counts: list[Counts | bool | None] = [False] * len(values)

    def row_on(self, ordinal: int) -> Row | None:
        """The six counts on the day ``ordinal`` (None before the first change)."""
        i = bisect_right(self.days, ordinal)
        return self.values[i - 1] if i else None

    def counts_on(self, ordinal: int) -> Counts | None:
        """:func:`to_counts` of the step holding the day ``ordinal``."""
        i = bisect_right(self.days, ordinal) - 1
        return None if i < 0 else self.counts_of(i)

    def counts_of(self, i: int) -> Counts | None:
        """:func:`to_counts` of step ``i``, kept once made."""
        found = self._counts[i]
        if found is False:
            found = self._counts[i] = to_counts(self.values[i])
        return found if isinstance(found, Counts) else None

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, UnitSteps) and self.days == other.days and self.values == other.values
        )

    def __repr__(self) -> str:
        return f"UnitSteps({self.days!r}, {self.values!r})"


def _ordinal(at: date | str) -> int:
    return (at if isinstance(at, date) else date.fromisoformat(str(at)[:10])).toordinal()


def build(edges: Iterable[tuple[str, str, date | str, int]]) -> dict[str, UnitSteps]:
    """Step functions per unit from edges ``(flag, unit, at, delta)`` (any order; several
    edges of one flag, unit and date add up; ``at`` a date or ISO text)."""
    per_unit: dict[str, dict[int, list[int]]] = {}
    for flag, unit, at, delta in edges:
        if not delta:
            continue
        changes = per_unit.setdefault(unit, {})
        row = changes.get(ordinal := _ordinal(at))
        if row is None:
            row = changes[ordinal] = [0] * len(FLAGS)
        row[_INDEX[flag]] += int(delta)
    out: dict[str, UnitSteps] = {}
    for unit, changes in per_unit.items():
        days: list[int] = []
        values: list[Row] = []
        running = [0] * len(FLAGS)
        for ordinal in sorted(changes):
            row = changes[ordinal]
            if not any(row):
                continue
            running = [a + b for a, b in zip(running, row, strict=True)]
            days.append(ordinal)
            values.append(tuple(running))
        if days:
            out[unit] = UnitSteps(days, values)
    return out


def to_counts(row: Row | None) -> Counts | None:
    """The :class:`Counts` of a row (``points_active`` 0), or None when the unit has no
    existing village or township that day (such a unit is absent from the counts)."""
    if row is None or not (row[_VILLAGES] or row[_TOWNSHIPS]):
        return None
    return Counts(
        villages_total=row[0],
        points_built=row[1],
        points_in_service=row[2],
        townships_total=row[3],
        centres_in_service=row[4],
        centres_standardized=row[5],
    )


def counts_on(steps: dict[str, UnitSteps], days: Sequence[date]) -> list[dict[str, Counts]]:
    """The counts per unit on each of ``days`` (any order): one binary search per unit and
    day. One dict per day, unit → counts; units without an existing division absent."""
    out: list[dict[str, Counts]] = [{} for _ in days]
    ordinals = [d.toordinal() for d in days]
    for unit, unit_steps in steps.items():
        for i, ordinal in enumerate(ordinals):
            counts = unit_steps.counts_on(ordinal)
            if counts is not None:
                out[i][unit] = counts
    return out


def counts_along(steps: dict[str, UnitSteps], days: Sequence[date]) -> list[dict[str, Counts]]:
    """The same as :func:`counts_on` for ascending ``days`` (a monthly series), in one pass
    per unit over its change dates."""
    out: list[dict[str, Counts]] = [{} for _ in days]
    ordinals = [d.toordinal() for d in days]
    for unit, unit_steps in steps.items():
        unit_days = unit_steps.days
        j = 0
        n = len(unit_days)
        for i, ordinal in enumerate(ordinals):
            while j < n and unit_days[j] <= ordinal:
                j += 1
            counts = unit_steps.counts_of(j - 1) if j else None
            if counts is not None:
                out[i][unit] = counts
    return out
