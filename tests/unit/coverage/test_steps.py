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
    assert built["T"].days == (day(0).toordinal(), day(4).toordinal())
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


# --------------------------------------------------------------------------- points_active


def _active_by_definition(spans, cases, window, ordinal):
    """Per unit, the villages that exist on ``ordinal`` with a point in service that day and a
    case of that point in the ``window`` days up to it (spans: dicts as the statement's rows)."""
    counted: dict[str, set[str]] = {}
    for r in spans:
        o = ordinal
        est = r["established_on"].toordinal() if r["established_on"] else None
        abol = r["abolished_on"].toordinal() if r["abolished_on"] else None
        if (est is not None and o < est) or (abol is not None and o >= abol):
            continue
        until = r["until"].toordinal() if r["until"] else None
        if not (r["since"].toordinal() <= o and (until is None or o < until)):
            continue
        if any(site == r["site"] and o - window < c <= o for site, c in cases):
            counted.setdefault(r["unit"], set()).add(r["village"])
    return {unit: len(v) for unit, v in counted.items()}


def test_active_points_equal_the_definition_on_every_day():
    rnd = random.Random(7)
    spans, cases = [], []
    lives = {}
    for v in range(12):
        village = f"V{v}"
        est = day(rnd.randrange(60)) if rnd.random() < 0.4 else None
        abol = day(200 + rnd.randrange(100)) if rnd.random() < 0.3 else None
        lives[village] = (f"U{v % 3}", est, abol)
    for site in range(20):
        village = f"V{rnd.randrange(12)}"
        unit, est, abol = lives[village]
        at = rnd.randrange(30)
        for _ in range(rnd.randrange(1, 4)):  # in service, out, in again …
            length = rnd.randrange(1, 120)
            until = None if rnd.random() < 0.2 else day(at + length)
            spans.append(
                dict(
                    site=site,
                    village=village,
                    unit=unit,
                    established_on=est,
                    abolished_on=abol,
                    since=day(at),
                    until=until,
                )
            )
            if until is None:
                break
            at += length + rnd.randrange(0, 40)
        for _ in range(rnd.randrange(0, 8)):
            cases.append((site, day(rnd.randrange(-20, 330)).toordinal()))
    window = 30
    rows = [{"site": s, "day": c} for s, c in cases + cases[:5]]  # repeats are allowed
    built = steps.build_active(*steps.active_inputs(spans, rows), window)
    assert built, "the history has active points"
    for n in range(-30, 420):
        o = day(n).toordinal()
        got = {u: s.on(o) for u, s in built.items() if s.on(o)}
        assert got == _active_by_definition(spans, cases, window, o), day(n)


def test_a_case_keeps_its_point_active_for_the_window_to_the_day():
    spans = [
        dict(
            site=1,
            village="V",
            unit="U",
            established_on=None,
            abolished_on=None,
            since=day(0),
            until=None,
        )
    ]
    built = steps.build_active(
        *steps.active_inputs(spans, [{"site": 1, "day": day(10).toordinal()}]), 90
    )
    on = [built["U"].on(day(n).toordinal()) for n in (9, 10, 99, 100)]
    assert on == [0, 1, 1, 0]
    assert steps.build_active(*steps.active_inputs(spans, []), 90) == {}


def test_totals_along_equal_the_sum_of_the_units_counts():
    rnd = random.Random(11)
    edges = []
    for unit in ("A", "B", "C"):
        for _ in range(30):
            flag = rnd.choice(steps.FLAGS)
            start = rnd.randrange(200)
            edges += [
                (flag, unit, day(start), 1),
                (flag, unit, day(start + rnd.randrange(1, 90)), -1),
            ]
    built = steps.build(edges)
    days = [day(n) for n in range(-5, 300, 7)]
    by_unit = steps.counts_along(built, days)
    expected = [sum_counts(per_day.values()) for per_day in by_unit]
    assert steps.totals_along(built.values(), days) == expected
    assert any(c.villages_total for c in expected)


def sum_counts(items):
    out = Counts()
    for c in items:
        out = Counts(**{f: getattr(out, f) + getattr(c, f) for f in Counts.__struct_fields__})
    return out
