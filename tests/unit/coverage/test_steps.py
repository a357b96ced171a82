"""The step functions of the coverage counts: built from +1/−1 edges, read on any date by a
binary search or along a run of dates, equal to summing the edges by hand."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from registry.coverage import steps
from registry.coverage.rules import Counts

D = date(2014, 1, 1)


def day(n: int) -> date:
    return D + timedelta(days=n)


def test_a_span_counts_from_its_start_until_the_day_before_its_end():
    built = steps.build(
        [
            ("villages_total", "A", day(0), 1),
            ("villages_total", "A", day(10), -1),
            ("points_in_service", "A", day(3), 1),
            ("points_in_service", "A", day(5), -1),
        ]
    )
    got = steps.counts_on(built, [day(-1), day(0), day(3), day(4), day(5), day(9), day(10)])
    assert got == [
        {},
        {"A": Counts(villages_total=1)},
        {"A": Counts(villages_total=1, points_in_service=1)},
        {"A": Counts(villages_total=1, points_in_service=1)},
        {"A": Counts(villages_total=1)},
        {"A": Counts(villages_total=1)},
        {},  # abolished on day 10: nothing exists, the unit is absent
    ]


def test_edges_of_one_date_add_up_and_cancelling_edges_leave_no_step():
    built = steps.build(
        [
            ("townships_total", "T", "2014-01-01", 1),
            ("centres_in_service", "T", "2014-01-05", 1),
            ("centres_in_service", "T", "2014-01-05", -1),  # a span ending where one starts
            ("centres_standardized", "T", "2014-01-05", 1),
            ("centres_standardized", "T", "2014-01-05", 1),
        ]
    )
    assert built["T"].days == [day(0).toordinal(), day(4).toordinal()]
    assert steps.counts_on(built, [day(4)]) == [
        {"T": Counts(townships_total=1, centres_standardized=2)}
    ]


def test_iso_text_and_dates_give_the_same_steps():
    as_text = steps.build([("villages_total", "A", "2014-01-02", 1)])
    as_date = steps.build([("villages_total", "A", date(2014, 1, 2), 1)])
    assert as_text == as_date


def test_a_unit_with_flags_but_no_existing_division_is_absent():
    # A point whose village is gone (clipped spans never outlive the division, but a unit
    # whose only township is statistical has no counted division at all).
    built = steps.build([("points_built", "X", day(0), 1)])
    assert steps.counts_on(built, [day(1)]) == [{}]
    assert steps.counts_along(built, [day(1)]) == [{}]


def test_open_ends_far_in_the_past_and_future_are_steps_like_any_other():
    built = steps.build(
        [("villages_total", "A", date(1, 1, 1), 1), ("villages_total", "A", date(9999, 12, 31), -1)]
    )
    assert (
        steps.counts_on(built, [date(1, 1, 1), D, date(9999, 12, 30)])
        == [{"A": Counts(villages_total=1)}] * 3
    )
    assert steps.counts_on(built, [date(9999, 12, 31)]) == [{}]


def brute_force(edges, days):
    """The counts on each day: every edge dated on or before it summed, by hand."""
    out = []
    for d in days:
        per_unit: dict[str, dict[str, int]] = {}
        for flag, unit, at, delta in edges:
            if at <= d:
                row = per_unit.setdefault(unit, dict.fromkeys(steps.FLAGS, 0))
                row[flag] += delta
        out.append(
            {
                u: Counts(**row)
                for u, row in per_unit.items()
                if row["villages_total"] or row["townships_total"]
            }
        )
    return out


def random_edges(rnd: random.Random, units: int, spans: int):
    edges = []
    for _ in range(spans):
        unit = f"U{rnd.randrange(units)}"
        flag = rnd.choice(steps.FLAGS)
        start = rnd.randrange(-30, 400)
        end = start + rnd.randrange(0, 200)  # an empty span too (start == end)
        edges += [(flag, unit, day(start), 1), (flag, unit, day(end), -1)]
    rnd.shuffle(edges)
    return edges


@pytest.mark.parametrize("seed", range(20))
def test_binary_search_and_one_pass_equal_summing_the_edges(seed):
    rnd = random.Random(seed)
    edges = random_edges(rnd, units=rnd.randrange(1, 6), spans=rnd.randrange(1, 60))
    built = steps.build(edges)
    every_day = [day(n) for n in range(-40, 620)]
    expected = brute_force(edges, every_day)
    assert steps.counts_along(built, every_day) == expected
    assert steps.counts_on(built, every_day) == expected
    some = rnd.sample(every_day, 25)  # any order
    assert steps.counts_on(built, some) == brute_force(edges, some)


def test_steps_grow_with_change_dates_not_with_edges():
    edges = [("villages_total", "A", day(0), 1)] * 1000 + [("villages_total", "A", day(1), -1)]
    built = steps.build(edges)
    assert len(built["A"].days) == 2
    assert steps.counts_on(built, [day(0), day(1)]) == [
        {"A": Counts(villages_total=1000)},
        {"A": Counts(villages_total=999)},
    ]


# --------------------------------------------------------------------------- the projection


def projection_over_fractions(points, window=6):
    """The least-squares projection written over fractions (the definition)."""
    import math
    from fractions import Fraction

    values = [(d, Fraction(v)) for d, v in points if v is not None][-window:]
    if len(values) < 2:
        return None
    xs = [Fraction(d.toordinal()) for d, _ in values]
    ys = [v for _, v in values]
    n = len(values)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    if slope <= 0:
        return None
    ordinal = math.ceil(mean_x + (1 - mean_y) / slope)
    if ordinal > date.max.toordinal():
        return None
    return date.fromordinal(max(ordinal, 1))


@pytest.mark.parametrize("seed", range(40))
def test_projection_in_integers_equals_the_fit_over_fractions(seed):
    from fractions import Fraction

    from registry.coverage.rules import Campaign, figures, projected_completion

    rnd = random.Random(seed)
    history = []
    for k in range(rnd.randrange(0, 10)):
        villages = rnd.choice([0, 1, 3, 7, 233, 240])
        served = rnd.randrange(0, villages + 1) if villages else 0
        history.append(
            (
                day(30 * k + rnd.randrange(0, 3)),
                Counts(villages_total=villages, points_in_service=served),
            )
        )
    points = [
        (d, None if c.villages_total == 0 else Fraction(c.points_in_service, c.villages_total))
        for d, c in history
    ]
    expected = projection_over_fractions(points)
    assert projected_completion(points) == expected
    floats = [(d, None if v is None else float(v)) for d, v in points]
    assert projected_completion(floats) == projection_over_fractions(floats)
    if history:
        campaign = Campaign("c", "c", D, day(700), "agency_coverage")
        assert figures(history[-1][1], campaign, Fraction(1, 2), history).projected_completion == (
            expected
        )
