"""Coverage maths on hand-built histories: counts as of a date, ratios, targets, projection."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.core.errors import RuleViolation
from registry.coverage.rules import (
    NO_TOWNSHIPS,
    NO_VILLAGES,
    Campaign,
    Counts,
    DivisionSpan,
    SiteHistory,
    achieved,
    count_on,
    figures,
    history,
    linear_target,
    months_between,
    on_track,
    parse_as_of,
    projected_completion,
    ratio,
    series_days,
    weighted_target,
)

AGENCY = Campaign(
    "agency-points-2013", "代办点", date(2013, 4, 18), date(2015, 4, 18), "agency_coverage"
)
CENTRES = Campaign(
    "centres-2015", "中心标准化", date(2013, 4, 18), date(2015, 12, 31), "standardization"
)
TODAY = date(2016, 6, 30)
COUNTY = "431202000000"
TOWNSHIP = "431202102000"
POINT = "village_point"
CENTRE = "township_centre"


def village(serial: int, established: date | None = None, abolished: date | None = None):
    return DivisionSpan(
        code=f"431202102{serial:03d}",
        level="village",
        county_code=COUNTY,
        township_code=TOWNSHIP,
        established_on=established,
        abolished_on=abolished,
    )


TOWNSHIP_SPAN = DivisionSpan(TOWNSHIP, "township", COUNTY, TOWNSHIP)


def site(site_id, division, kind, steps, case_days=()):
    return SiteHistory(
        id=site_id,
        division_code=division.code,
        kind=kind,
        events=history(kind, steps, TODAY),
        case_days=list(case_days),
    )


def counts(day, divisions, sites) -> Counts:
    return count_on(day, divisions, sites).get(COUNTY, Counts())


# --------------------------------------------------------------------------- hand-built histories

# A village added mid-campaign (合村并组 on 2014-07-01): two old villages abolished that day, the
# new one established that day, its point in service from 2014-09-01.
MERGED = date(2014, 7, 1)
OLD_A = village(200, abolished=MERGED)
OLD_B = village(201, abolished=MERGED)
NEW_VILLAGE = village(380, established=MERGED)
STEADY = village(202)
MERGE_DIVISIONS = [OLD_A, OLD_B, NEW_VILLAGE, STEADY]
MERGE_SITES = [
    site(1, OLD_A, POINT, [("in_service", date(2013, 10, 1)), ("closed", MERGED)]),
    site(2, NEW_VILLAGE, POINT, [("planned", MERGED), ("in_service", date(2014, 9, 1))]),
    site(3, STEADY, POINT, [("built", date(2014, 1, 1)), ("in_service", date(2014, 3, 1))]),
]


@pytest.mark.parametrize(
    ("day", "total", "built", "in_service"),
    [
        (date(2013, 9, 30), 3, 0, 0),  # three old villages, nothing in service yet
        (date(2013, 10, 1), 3, 1, 1),  # OLD_A's point opens
        (date(2014, 1, 1), 3, 2, 1),  # STEADY built, not yet in service
        (date(2014, 6, 30), 3, 2, 2),  # last day before the merger
        (MERGED, 2, 1, 1),  # OLD_A and OLD_B gone, NEW_VILLAGE exists with a planned point
        (date(2014, 9, 1), 2, 2, 2),  # NEW_VILLAGE's point in service
    ],
)
def test_village_added_mid_campaign_enters_the_denominator_on_its_date(
    day, total, built, in_service
):
    c = counts(day, MERGE_DIVISIONS, MERGE_SITES)
    assert (c.villages_total, c.points_built, c.points_in_service) == (total, built, in_service)


def test_village_added_mid_campaign_changes_coverage_both_ways():
    before = counts(date(2014, 6, 30), MERGE_DIVISIONS, MERGE_SITES)
    after = counts(MERGED, MERGE_DIVISIONS, MERGE_SITES)
    assert ratio(before.points_in_service, before.villages_total) == pytest.approx(2 / 3)
    assert ratio(after.points_in_service, after.villages_total) == pytest.approx(1 / 2)


SUSPENDED_VILLAGE = village(210)
SUSPENDED = site(
    10,
    SUSPENDED_VILLAGE,
    POINT,
    [
        ("planned", date(2013, 5, 1)),
        ("in_service", date(2013, 12, 1)),
        ("suspended", date(2014, 3, 10)),
        ("in_service", date(2014, 5, 20)),
    ],
)


@pytest.mark.parametrize(
    ("day", "in_service", "built"),
    [
        (date(2013, 11, 30), 0, 0),
        (date(2013, 12, 1), 1, 1),
        (date(2014, 3, 9), 1, 1),
        (date(2014, 3, 10), 0, 0),  # suspended: neither built nor in service
        (date(2014, 5, 19), 0, 0),
        (date(2014, 5, 20), 1, 1),  # resumed
    ],
)
def test_point_suspended_then_resumed_counts_only_while_in_service(day, in_service, built):
    c = counts(day, [SUSPENDED_VILLAGE], [SUSPENDED])
    assert c.villages_total == 1
    assert (c.points_in_service, c.points_built) == (in_service, built)


def test_centre_standardized_before_it_was_in_service_is_refused():
    with pytest.raises(RuleViolation) as info:
        history(CENTRE, [("built", date(2013, 6, 1)), ("standardized", date(2014, 1, 1))], TODAY)
    assert info.value.code == "standardize_requires_in_service"
    with pytest.raises(RuleViolation) as info:
        history(CENTRE, [("standardized", date(2013, 6, 1))], TODAY)
    assert info.value.code == "standardize_requires_in_service"


def test_agency_point_cannot_be_standardized():
    with pytest.raises(RuleViolation) as info:
        history(
            POINT, [("in_service", date(2013, 6, 1)), ("standardized", date(2014, 1, 1))], TODAY
        )
    assert info.value.code == "status_not_for_kind"


@pytest.mark.parametrize(
    ("day", "in_service", "standardized"),
    [
        (date(2013, 6, 1), 0, 0),
        (date(2013, 9, 1), 1, 0),
        (date(2014, 2, 1), 1, 1),
        (date(2014, 8, 1), 0, 0),  # suspended
        (date(2014, 10, 1), 1, 1),  # back to standardized
    ],
)
def test_centre_in_service_then_standardized(day, in_service, standardized):
    centre = site(
        20,
        TOWNSHIP_SPAN,
        CENTRE,
        [
            ("under_construction", date(2013, 5, 1)),
            ("in_service", date(2013, 9, 1)),
            ("standardized", date(2014, 2, 1)),
            ("suspended", date(2014, 8, 1)),
            ("standardized", date(2014, 10, 1)),
        ],
    )
    c = counts(day, [TOWNSHIP_SPAN], [centre])
    assert c.townships_total == 1
    assert (c.centres_in_service, c.centres_standardized) == (in_service, standardized)


def test_events_on_one_day_apply_in_order():
    v = village(220)
    s = site(30, v, POINT, [("planned", date(2013, 6, 1)), ("in_service", date(2013, 6, 1))])
    assert counts(date(2013, 6, 1), [v], [s]).points_in_service == 1


def test_point_on_abolished_village_is_not_counted():
    v = village(230, abolished=date(2014, 1, 1))
    s = site(40, v, POINT, [("in_service", date(2013, 6, 1))])  # never closed
    assert counts(date(2013, 12, 31), [v], [s]).points_in_service == 1
    assert count_on(date(2014, 1, 1), [v], [s]) == {}


def test_village_with_a_closed_and_a_new_point_counts_once():
    v = village(240)
    old = site(50, v, POINT, [("in_service", date(2013, 6, 1)), ("closed", date(2014, 1, 1))])
    new = site(51, v, POINT, [("in_service", date(2013, 12, 1))])  # overlapping, backdated
    c = counts(date(2013, 12, 15), [v], [old, new])
    assert (c.villages_total, c.points_in_service) == (1, 1)


ACTIVE_DAY = date(2014, 6, 30)


@pytest.mark.parametrize(
    ("case_day", "active"),
    [
        (ACTIVE_DAY, 1),
        (ACTIVE_DAY - timedelta(days=89), 1),  # first day of the 90
        (ACTIVE_DAY - timedelta(days=90), 0),  # one day too early
        (ACTIVE_DAY + timedelta(days=1), 0),  # after the date
    ],
)
def test_point_is_active_with_a_case_in_the_90_days_up_to_the_date(case_day, active):
    v = village(250)
    s = site(60, v, POINT, [("in_service", date(2013, 6, 1))], case_days=[case_day])
    assert counts(ACTIVE_DAY, [v], [s]).points_active == active


def test_cases_of_a_suspended_point_do_not_make_it_active():
    c = counts(
        date(2014, 4, 1),
        [SUSPENDED_VILLAGE],
        [SiteHistory(10, SUSPENDED_VILLAGE.code, POINT, SUSPENDED.events, [date(2014, 3, 1)])],
    )
    assert (c.points_in_service, c.points_active) == (0, 0)


def test_counts_add_up():
    a = Counts(1, 2, 3, 4, 5, 6, 7)
    assert a + a == Counts(2, 4, 6, 8, 10, 12, 14)


# --------------------------------------------------------------------------- ratios and flags


def test_ratio_with_zero_denominator_is_null_with_a_flag():
    f = figures(Counts(), AGENCY, Fraction(1, 2))
    assert f.agency_coverage is None and f.standardization is None and f.figure is None
    assert f.flags == (NO_VILLAGES, NO_TOWNSHIPS)
    assert f.on_track is None and f.achieved is None
    assert f.target == 0.5


def test_only_the_missing_denominator_is_flagged():
    f = figures(Counts(villages_total=4, points_in_service=4), CENTRES, Fraction(1))
    assert f.agency_coverage == 1.0
    assert f.standardization is None and f.figure is None
    assert f.flags == (NO_TOWNSHIPS,)


@pytest.mark.parametrize(
    ("campaign", "figure", "achieved_"),
    [(AGENCY, 0.75, False), (CENTRES, 1.0, True)],
)
def test_campaign_decides_which_figure_counts(campaign, figure, achieved_):
    c = Counts(villages_total=4, points_in_service=3, townships_total=2, centres_standardized=2)
    f = figures(c, campaign, Fraction(1, 2))
    assert f.figure == figure
    assert f.on_track is True
    assert f.achieved is achieved_


@pytest.mark.parametrize(
    ("num", "den", "target", "expected"),
    [
        (1, 2, Fraction(1, 2), True),  # equal is on track
        (1, 2, 0.5, True),
        (1, 3, Fraction(1, 3), True),  # exact, no float rounding
        (332, 1000, Fraction(1, 3), False),
        (0, 5, 0, True),
        (0, 0, 0, None),
    ],
)
def test_on_track_is_figure_at_least_target(num, den, target, expected):
    assert on_track(num, den, target) is expected


@given(
    num=st.integers(min_value=0, max_value=10**6),
    den=st.integers(min_value=-(10**6), max_value=10**6),
    target=st.fractions(min_value=0, max_value=1)
    | st.floats(min_value=0, max_value=1, allow_nan=False),
)
def test_on_track_in_integers_is_the_comparison_of_fractions(num, den, target):
    """The integer comparison gives what comparing the exact fractions gives, for a Fraction
    target and for a float one (exact, not rounded)."""
    expected = None if den == 0 else Fraction(num, den) >= Fraction(target)
    assert on_track(num, den, target) is expected


def test_achieved_is_figure_equal_one():
    assert achieved(5, 5) is True
    assert achieved(4, 5) is False
    assert achieved(0, 0) is None


@pytest.mark.parametrize(
    ("day", "target"),
    [
        (date(2013, 1, 1), Fraction(0)),
        (date(2013, 4, 18), Fraction(0)),
        (date(2014, 4, 18), Fraction(365, 730)),
        (date(2015, 4, 18), Fraction(1)),
        (date(2020, 1, 1), Fraction(1)),
    ],
)
def test_linear_target_from_zero_at_start_to_one_at_deadline(day, target):
    assert linear_target(AGENCY, day) == target


def test_city_target_is_weighted_by_denominators():
    assert weighted_target([(Fraction(1), 1), (Fraction(0), 3)], Fraction(1, 2)) == Fraction(1, 4)
    assert weighted_target([(Fraction(1), 0)], Fraction(1, 2)) == Fraction(1, 2)


# --------------------------------------------------------------------------- projection


def month_points(values):
    days = months_between(date(2014, 1, 1), date(2014, 1, 1) + timedelta(days=31 * len(values)))
    return list(zip(days, values, strict=False))


def test_projection_of_a_straight_line_is_where_it_reaches_one():
    start = date(2014, 1, 1)
    points = [(start + timedelta(days=30 * k), Fraction(k, 10)) for k in range(6)]
    assert projected_completion(points) == start + timedelta(days=300)


def test_projection_uses_only_the_last_six_values():
    start = date(2014, 1, 1)
    early = [(start + timedelta(days=30 * k), Fraction(0)) for k in range(6)]
    late = [(start + timedelta(days=30 * (6 + k)), Fraction(k, 10)) for k in range(6)]
    assert projected_completion(early + late) == start + timedelta(days=30 * 6 + 300)


@pytest.mark.parametrize(
    "values",
    [
        [0.4] * 6,  # flat
        [1.0] * 6,  # flat at the goal
        [0.6, 0.5, 0.5, 0.4, 0.3, 0.3],  # falling
        [0.5],  # one value
        [],
        [None, None, 0.3],
    ],
)
def test_projection_is_null_when_flat_falling_or_too_short(values):
    assert projected_completion(month_points(values)) is None


def test_projection_skips_null_months():
    start = date(2014, 1, 1)
    points = [(start, None), (start + timedelta(days=10), 0.0), (start + timedelta(days=20), 0.5)]
    assert projected_completion(points) == start + timedelta(days=30)


def test_projection_from_figures_history():
    days = [date(2014, m, 28) for m in range(1, 7)]
    hist = [(d, Counts(villages_total=10, points_in_service=k + 1)) for k, d in enumerate(days)]
    f = figures(hist[-1][1], AGENCY, Fraction(1, 2), hist)
    assert f.projected_completion is not None
    assert date(2014, 10, 1) < f.projected_completion < date(2015, 3, 1)


# --------------------------------------------------------------------------- dates


def test_series_days_are_month_ends_and_the_as_of_date():
    days = series_days(date(2013, 4, 18), date(2013, 7, 15))
    assert days == [date(2013, 4, 30), date(2013, 5, 31), date(2013, 6, 30), date(2013, 7, 15)]
    assert series_days(date(2013, 4, 18), date(2013, 4, 18)) == [date(2013, 4, 18)]
    assert series_days(date(2013, 4, 18), date(2013, 4, 1)) == []


def test_months_between_handles_year_ends_and_leap_years():
    assert months_between(date(2015, 12, 5), date(2016, 2, 1)) == [
        date(2015, 12, 31),
        date(2016, 1, 31),
        date(2016, 2, 29),
    ]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("2014-13-01", "invalid_as_of"),
        ("2014-02-30", "invalid_as_of"),
        ("20140201", "invalid_as_of"),
        ("2014-2-1", "invalid_as_of"),
        ("yesterday", "invalid_as_of"),
        ("２０１４-０２-０１", "invalid_as_of"),  # full-width digits
        ("2016-07-01", "as_of_in_future"),
        ("2013-04-17", "as_of_before_campaign"),
    ],
)
def test_bad_as_of_is_refused_with_a_stable_code(raw, code):
    with pytest.raises(RuleViolation) as info:
        parse_as_of(raw, AGENCY, TODAY)
    assert info.value.code == code
    assert info.value.field == "as_of"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, TODAY),
        ("", TODAY),
        ("2016-06-30", TODAY),
        ("2013-04-18", AGENCY.start_on),
        (" 2014-02-01 ", date(2014, 2, 1)),
    ],
)
def test_as_of_defaults_to_today_and_accepts_campaign_dates(raw, expected):
    assert parse_as_of(raw, AGENCY, TODAY) == expected
