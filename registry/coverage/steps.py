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
from typing import NamedTuple

import numpy as np

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

    __slots__ = ("_arrays", "_counts", "days", "values")

    def __init__(self, days: Sequence[int], values: Sequence[Row]) -> None:
        # Tuples of integers, which the cyclic collector stops tracking: the nation's ~45,000
        # units' steps are then not walked by every full collection.
        self.days = tuple(days)
        self.values = tuple(values)
        # The Counts of each step, made on first use (dates close together share steps).
        self._counts: list[Counts | bool | None] = [False] * len(values)
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``days`` and ``values`` as arrays (values: one row of six per step, the rows of a
        unit without an existing village or township zeroed, as :func:`to_counts` leaves them
        out) and a row of zeros last (the row of index -1: before the first step), made on
        first use."""
        if self._arrays is None:
            values = np.zeros((len(self.values) + 1, len(FLAGS)), dtype=np.int64)
            values[:-1] = np.array(self.values, dtype=np.int64).reshape(-1, len(FLAGS))
            exists = (values[:, _VILLAGES] != 0) | (values[:, _TOWNSHIPS] != 0)
            values[~exists] = 0
            self._arrays = (np.array(self.days, dtype=np.int64), values)
        return self._arrays

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


def totals_along(steps: Iterable[UnitSteps], days: Sequence[date]) -> list[Counts]:
    """The counts of ``steps`` summed on each of ``days`` (ascending; ``points_active`` 0): the
    sum of :func:`counts_along` over the units, a few array operations per unit."""
    ordinals = np.array([d.toordinal() for d in days], dtype=np.int64)
    total = np.zeros((len(days), len(FLAGS)), dtype=np.int64)
    for unit_steps in steps:
        unit_days, values = unit_steps.arrays()
        # Row i of the sum takes the step holding day i (the zero row, -1, before the first).
        total += values[np.searchsorted(unit_days, ordinals, side="right") - 1]
    return [
        Counts(
            villages_total=int(r[0]),
            points_built=int(r[1]),
            points_in_service=int(r[2]),
            townships_total=int(r[3]),
            centres_in_service=int(r[4]),
            centres_standardized=int(r[5]),
        )
        for r in total.tolist()
    ]


# --------------------------------------------------------------------------- points_active

# An open end (a span still running, a division never abolished): after every real date.
OPEN = date.max.toordinal() + 1
# Villages are kept apart in one sorted run by offsets of this many days (> OPEN).
_APART = 1 << 23


class CountSteps:
    """One count as a step function: ``values[i]`` from the day ``days[i]`` on (ordinals,
    ascending), 0 before the first."""

    __slots__ = ("days", "values")

    def __init__(self, days: Sequence[int], values: Sequence[int]) -> None:
        self.days = np.asarray(days, dtype=np.int32)
        self.values = np.asarray(values, dtype=np.int32)

    def on(self, ordinal: int) -> int:
        i = int(np.searchsorted(self.days, ordinal, side="right"))
        return int(self.values[i - 1]) if i else 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CountSteps):
            return False
        return bool(np.array_equal(self.days, other.days)) and bool(
            np.array_equal(self.values, other.values)
        )

    def __repr__(self) -> str:
        return f"CountSteps({self.days.tolist()!r}, {self.values.tolist()!r})"


class InService(NamedTuple):
    """The spans ``[since, until)`` agency points spend in service, one per row (ordinals;
    ``OPEN`` for an open end), each with its village's index, and per village its unit's
    index and life ``[established, abolished)`` (``-OPEN`` / ``OPEN`` when open)."""

    site: np.ndarray
    village: np.ndarray
    since: np.ndarray
    until: np.ndarray
    village_unit: np.ndarray
    established: np.ndarray
    abolished: np.ndarray
    units: list[str]


def _ordinal_or(value: date | str | None, open_end: int) -> int:
    return open_end if value is None else _ordinal(value)


def active_inputs(
    spans: Sequence[dict[str, object]], days: Sequence[dict[str, object]]
) -> tuple[InService, np.ndarray, np.ndarray]:
    """The arguments of :func:`build_active` from the rows of
    :func:`registry.coverage.sql.in_service_statement` (``site, village, unit,
    established_on, abolished_on, since, until``: dates or ISO text) and
    :func:`registry.coverage.sql.case_days_statement` (``site, day``)."""
    return (in_service_of(spans), *case_days_of(days))


def in_service_of(spans: Sequence[dict[str, object]]) -> InService:
    """The in-service spans of :func:`active_inputs` from the rows of
    :func:`registry.coverage.sql.in_service_statement`."""
    villages: dict[object, int] = {}
    units: dict[object, int] = {}
    village_unit: list[int] = []
    established: list[int] = []
    abolished: list[int] = []
    village_of: list[int] = []
    for r in spans:
        index = villages.get(r["village"])
        if index is None:
            index = villages[r["village"]] = len(villages)
            village_unit.append(units.setdefault(r["unit"], len(units)))
            established.append(_ordinal_or(r["established_on"], -OPEN))  # type: ignore[arg-type]
            abolished.append(_ordinal_or(r["abolished_on"], OPEN))  # type: ignore[arg-type]
        village_of.append(index)
    n = len(spans)
    in_service = InService(
        site=np.fromiter((r["site"] for r in spans), dtype=np.int64, count=n),
        village=np.array(village_of, dtype=np.int64),
        since=np.fromiter((_ordinal(r["since"]) for r in spans), dtype=np.int64, count=n),  # type: ignore[arg-type]
        until=np.fromiter(
            (_ordinal_or(r["until"], OPEN) for r in spans),  # type: ignore[arg-type]
            dtype=np.int64,
            count=n,
        ),
        village_unit=np.array(village_unit, dtype=np.int64),
        established=np.array(established, dtype=np.int64),
        abolished=np.array(abolished, dtype=np.int64),
        units=[str(u) for u in units],
    )
    return in_service


def case_days_of(days: Sequence[dict[str, object]]) -> tuple[np.ndarray, np.ndarray]:
    """The case days of :func:`active_inputs` (sites, day ordinals) from the rows of
    :func:`registry.coverage.sql.case_days_statement`."""
    m = len(days)
    case_site = np.fromiter((r["site"] for r in days), dtype=np.int64, count=m)
    case_day = np.fromiter((r["day"] for r in days), dtype=np.int64, count=m)
    return case_site, case_day


def _runs(fresh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last index of each run a ``fresh`` flag starts (``fresh[0]`` is True)."""
    starts = np.flatnonzero(fresh)
    ends = np.append(starts[1:], len(fresh)) - 1
    return starts, ends


def build_active(
    in_service: InService, case_site: np.ndarray, case_day: np.ndarray, window: int
) -> dict[str, CountSteps]:
    """``points_active`` per unit as step functions, in array operations (the nation's
    2,000,000 cases in about a second).

    A village counts on ``D`` while it exists, one of its points is in service and that point
    received a case in the ``window`` days up to ``D`` (a case on day ``c`` keeps its point
    active on ``[c, c + window)``) — the definition of
    :func:`registry.coverage.sql.active_statement`; a unit's value is its villages counted.
    ``case_site``/``case_day``: the points' case days (ordinals, repeats allowed).
    """
    if not len(case_site) or not len(in_service.site):
        return {}
    # Each point's case windows, merged: a case within the window of the one before joins it.
    site = np.asarray(case_site, dtype=np.int64)
    day = np.asarray(case_day, dtype=np.int64)
    # One sort on a combined key (faster than lexsort's two): sites and days apart by _APART.
    order = np.argsort(site * _APART + day)
    site, day = site[order], day[order]
    fresh = np.ones(len(site), dtype=bool)
    fresh[1:] = (site[1:] != site[:-1]) | (day[1:] > day[:-1] + window)
    starts, ends = _runs(fresh)
    windows_site, windows_from, windows_to = site[starts], day[starts], day[ends] + window
    # Each in-service span against its point's windows, clipped to both and the village's life.
    lo = np.searchsorted(windows_site, in_service.site, side="left")
    many = np.searchsorted(windows_site, in_service.site, side="right") - lo
    row = np.repeat(np.arange(len(lo)), many)
    first = np.repeat(np.cumsum(many) - many, many)
    pick = np.repeat(lo, many) + np.arange(len(row)) - first
    village = in_service.village[row]
    since = np.maximum.reduce(
        [windows_from[pick], in_service.since[row], in_service.established[village]]
    )
    until = np.minimum.reduce(
        [windows_to[pick], in_service.until[row], in_service.abolished[village]]
    )
    keep = since < until
    village, since, until = village[keep], since[keep], until[keep]
    if not len(village):
        return {}
    # The union per village: spans in order, a span starting after all before it ended is new.
    offset = village.astype(np.int64) * _APART
    order = np.argsort(since + offset)
    offset, since, until = offset[order], since[order] + offset[order], until[order] + offset[order]
    reach = np.maximum.accumulate(until)
    fresh = np.ones(len(since), dtype=bool)
    fresh[1:] = since[1:] > reach[:-1]
    starts, ends = _runs(fresh)
    unit = in_service.village_unit[offset[starts] // _APART]
    since, until = since[starts] - offset[starts], reach[ends] - offset[starts]
    # +1 at each span's start, -1 at its end, summed per unit and day, then run up.
    edge_unit = np.concatenate([unit, unit])
    edge_day = np.concatenate([since, until])
    delta = np.concatenate([np.ones(len(unit), np.int64), -np.ones(len(unit), np.int64)])
    order = np.argsort(edge_unit * _APART + edge_day)
    edge_unit, edge_day, delta = edge_unit[order], edge_day[order], delta[order]
    fresh = np.ones(len(edge_day), dtype=bool)
    fresh[1:] = (edge_unit[1:] != edge_unit[:-1]) | (edge_day[1:] != edge_day[:-1])
    starts, _ = _runs(fresh)
    edge_unit, edge_day = edge_unit[starts], edge_day[starts]
    delta = np.add.reduceat(delta, starts)
    running = np.cumsum(delta)
    unit_starts, unit_ends = _runs(np.concatenate([[True], edge_unit[1:] != edge_unit[:-1]]))
    before = np.where(unit_starts > 0, running[unit_starts - 1], 0)
    running -= np.repeat(before, unit_ends - unit_starts + 1)
    out: dict[str, CountSteps] = {}
    for a, b in zip(unit_starts.tolist(), (unit_ends + 1).tolist(), strict=True):
        kept = (delta[a:b] != 0) & (edge_day[a:b] < OPEN)
        if kept.any():
            out[in_service.units[int(edge_unit[a])]] = CountSteps(
                edge_day[a:b][kept], running[a:b][kept]
            )
    return out
