"""Pure plan rules: checks, completeness, workflow, plan in force, target share, results."""

from __future__ import annotations

from datetime import date

import pytest

from registry.core.errors import RuleViolation
from registry.plans import comparison
from registry.plans import rules as plans
from registry.plans.rules import (
    CampaignInfo,
    DivisionInfo,
    ItemIn,
    VersionRef,
    WorkflowError,
)

COUNTY = "431202000000"
POINTS = CampaignInfo(
    "agency-points-2013", "代办点", date(2013, 4, 18), date(2015, 4, 18), "agency_coverage"
)
CENTRES = CampaignInfo(
    "centres-2015", "中心", date(2013, 4, 18), date(2015, 12, 31), "standardization"
)
TOWN = DivisionInfo("431202102000", "黄金坳镇", "township", "镇", COUNTY, "431202102000")
V1 = DivisionInfo("431202102200", "黄塘村", "village", "村", COUNTY, TOWN.code)
V2 = DivisionInfo("431202102201", "低江村", "village", "村", COUNTY, TOWN.code)
MERGED = DivisionInfo(
    "431202102202", "新坪村", "village", "村", COUNTY, TOWN.code, abolished_on=date(2014, 7, 1)
)
NEW = DivisionInfo(
    "431202102380", "新村", "village", "村", COUNTY, TOWN.code, established_on=date(2014, 7, 1)
)
DIVISIONS = {d.code: d for d in (TOWN, V1, V2, MERGED, NEW)}
TODAY = date(2015, 1, 1)


def item(code=V1.code, target="in_service", day=date(2014, 6, 30), **extra):
    return ItemIn(division_code=code, target=target, target_date=day, **extra)


def codes(problems):
    return [(p.code, p.field) for p in problems]


# --------------------------------------------------------------------------- item checks


def test_valid_items_have_no_problems():
    items = [item(), item(V2.code, "built"), item(MERGED.code, day=date(2014, 6, 30))]
    assert plans.check_items(COUNTY, POINTS, items, DIVISIONS) == []


@pytest.mark.parametrize(
    ("items", "campaign", "expected"),
    [
        ([item(TOWN.code)], POINTS, [("wrong_level", "items[0].division_code")]),
        (
            [item(V1.code, "standardized", date(2015, 6, 1))],
            CENTRES,
            [("wrong_level", "items[0].division_code")],
        ),
        ([item("431221100200")], POINTS, [("division_outside_county", "items[0].division_code")]),
        ([item("431202102399")], POINTS, [("unknown_division", "items[0].division_code")]),
        ([item(), item()], POINTS, [("duplicate_division", "items[1].division_code")]),
        ([item(target="standardized")], POINTS, [("target_not_allowed", "items[0].target")]),
        (
            [item(day=date(2013, 4, 17))],
            POINTS,
            [("target_date_outside_campaign", "items[0].target_date")],
        ),
        (
            [item(day=date(2015, 4, 19))],
            POINTS,
            [("target_date_outside_campaign", "items[0].target_date")],
        ),
        ([item(budget_yuan=-5)], POINTS, [("invalid_budget", "items[0].budget_yuan")]),
        # A merged village cannot be targeted after it ceased to exist; a new one not before.
        (
            [item(MERGED.code, day=date(2014, 7, 1))],
            POINTS,
            [("division_not_existing", "items[0].division_code")],
        ),
        (
            [item(NEW.code, day=date(2014, 6, 30))],
            POINTS,
            [("division_not_existing", "items[0].division_code")],
        ),
    ],
)
def test_item_errors(items, campaign, expected):
    assert codes(plans.check_items(COUNTY, campaign, items, DIVISIONS)) == expected


def test_campaign_boundaries_are_inclusive():
    items = [item(day=POINTS.start_on), item(V2.code, day=POINTS.deadline)]
    assert plans.check_items(COUNTY, POINTS, items, DIVISIONS) == []


def test_centres_accept_every_target_and_points_two():
    assert plans.allowed_targets(CENTRES) == ("standardized", "in_service", "built")
    assert plans.allowed_targets(POINTS) == ("in_service", "built")


def test_a_campaign_without_a_plannable_figure_is_refused():
    with pytest.raises(RuleViolation) as info:
        plans.campaign_level("case_volume")
    assert info.value.code == "campaign_not_plannable"


# --------------------------------------------------------------------------- completeness


def test_expected_divisions_exist_today_at_the_campaigns_level():
    expected = plans.expected_divisions(COUNTY, POINTS, DIVISIONS.values(), TODAY)
    assert [d.code for d in expected] == [V1.code, V2.code, NEW.code]
    assert [
        d.code for d in plans.expected_divisions(COUNTY, CENTRES, DIVISIONS.values(), TODAY)
    ] == [TOWN.code]


def test_missing_divisions_are_warnings_unless_explained():
    report = plans.check_plan(COUNTY, POINTS, [item()], {}, DIVISIONS, TODAY)
    assert report.errors == []
    assert [w.division_code for w in report.warnings] == [V2.code, NEW.code]
    assert {w.severity for w in report.warnings} == {"warning"}
    assert report.ok is False
    explained = {V2.code: "并入黄塘村", NEW.code: "2016年建设"}
    report = plans.check_plan(COUNTY, POINTS, [item()], explained, DIVISIONS, TODAY)
    assert report.ok is True


@pytest.mark.parametrize(
    ("explained", "code"),
    [
        ({V1.code: "已列入"}, "explained_division_has_item"),
        ({TOWN.code: "乡镇"}, "wrong_level"),
        ({"431221100200": "外县"}, "division_outside_county"),
        ({"431202102399": "不存在"}, "unknown_division"),
    ],
)
def test_explanations_must_be_for_divisions_left_out(explained, code):
    problems = plans.check_explanations(COUNTY, POINTS, explained, [item()], DIVISIONS)
    assert [p.code for p in problems] == [code]


# --------------------------------------------------------------------------- workflow


@pytest.mark.parametrize(
    ("state", "action", "after"),
    [
        ("draft", "submit", "submitted"),
        ("returned", "submit", "submitted"),
        ("submitted", "approve", "approved"),
        ("submitted", "return", "returned"),
    ],
)
def test_allowed_transitions(state, action, after):
    assert plans.next_state(state, action, "意见") == after


@pytest.mark.parametrize(
    ("state", "action", "code"),
    [
        ("submitted", "submit", "plan_not_submittable"),
        ("approved", "submit", "plan_not_submittable"),
        ("superseded", "submit", "plan_not_submittable"),
        ("draft", "approve", "plan_not_submitted"),
        ("returned", "approve", "plan_not_submitted"),
        ("approved", "return", "plan_not_submitted"),
    ],
)
def test_refused_transitions(state, action, code):
    with pytest.raises(WorkflowError) as info:
        plans.next_state(state, action, "意见")
    assert info.value.code == code


@pytest.mark.parametrize("comment", [None, "", "  \n "])
def test_returning_needs_a_comment(comment):
    with pytest.raises(RuleViolation) as info:
        plans.next_state("submitted", "return", comment)
    assert info.value.code == "comment_required"
    assert not isinstance(info.value, WorkflowError)


@pytest.mark.parametrize(
    ("state", "mode"),
    [("draft", "in_place"), ("returned", "in_place"), ("approved", "new_version")],
)
def test_edit_modes(state, mode):
    assert plans.edit_mode(state) == mode


@pytest.mark.parametrize("state", ["submitted", "superseded"])
def test_submitted_and_superseded_versions_are_not_editable(state):
    with pytest.raises(WorkflowError) as info:
        plans.edit_mode(state)
    assert info.value.code == "plan_not_editable"


def test_plan_in_force_is_the_highest_approved_version():
    versions = [
        VersionRef(1, 1, "superseded"),
        VersionRef(2, 2, "approved"),
        VersionRef(3, 3, "draft"),
    ]
    assert plans.plan_in_force(versions) == VersionRef(2, 2, "approved")
    # Even if two were approved (data from before supersession), the higher one is in force.
    assert plans.plan_in_force([VersionRef(1, 1, "approved"), VersionRef(5, 2, "approved")]).id == 5
    assert plans.plan_in_force([VersionRef(1, 1, "submitted")]) is None
    assert plans.plan_in_force([]) is None


def test_review_is_overdue_after_fifteen_days():
    submitted = date(2014, 3, 1)
    assert plans.review_due_on(submitted) == date(2014, 3, 16)
    assert not plans.review_overdue("submitted", submitted, date(2014, 3, 16))
    assert plans.review_overdue("submitted", submitted, date(2014, 3, 17))
    assert not plans.review_overdue("approved", submitted, date(2014, 6, 1))
    assert plans.overview_state(None) == "none"


# --------------------------------------------------------------------------- targets, results


def test_cumulative_target_share_by_hand():
    dates = [date(2014, 6, 30), date(2014, 6, 30), date(2014, 12, 31), date(2015, 4, 18)]
    days = [
        date(2013, 4, 18),
        date(2014, 6, 29),
        date(2014, 6, 30),
        date(2015, 1, 1),
        date(2016, 1, 1),
    ]
    assert plans.cumulative_target_share(dates, days) == [0.0, 0.0, 0.5, 0.75, 1.0]
    assert plans.cumulative_target_share([], days) is None
    assert plans.cumulative_target_share(dates, []) == []


@pytest.mark.parametrize(
    ("target", "status", "reached"),
    [
        ("built", "built", True),
        ("built", "in_service", True),
        ("built", "standardized", True),
        ("built", "under_construction", False),
        ("built", "suspended", False),
        ("in_service", "built", False),
        ("in_service", "in_service", True),
        ("in_service", "standardized", True),
        ("in_service", "closed", False),
        ("standardized", "in_service", False),
        ("standardized", "standardized", True),
        ("standardized", None, False),
    ],
)
def test_which_status_reaches_which_target(target, status, reached):
    assert plans.satisfies(target, status) is reached


@pytest.mark.parametrize(
    ("reached", "target_date", "as_of", "result"),
    [
        (True, date(2014, 6, 30), date(2015, 1, 1), "met"),
        (True, date(2015, 6, 30), date(2015, 1, 1), "met"),  # reached early
        (False, date(2014, 6, 30), date(2015, 1, 1), "late"),
        (False, date(2015, 1, 1), date(2015, 1, 1), "pending"),  # the target day itself
        (False, date(2015, 6, 30), date(2015, 1, 1), "pending"),
    ],
)
def test_item_results(reached, target_date, as_of, result):
    assert plans.item_result("built", target_date, reached, as_of) == result


def test_quarters_span_whole_calendar_quarters():
    quarters = plans.quarters(date(2013, 4, 18), date(2014, 1, 5))
    assert [(q.label, q.start, q.end) for q in quarters] == [
        ("2013Q2", date(2013, 4, 1), date(2013, 6, 30)),
        ("2013Q3", date(2013, 7, 1), date(2013, 9, 30)),
        ("2013Q4", date(2013, 10, 1), date(2013, 12, 31)),
        ("2014Q1", date(2014, 1, 1), date(2014, 3, 31)),
    ]


def test_compare_items_by_division():
    before = [item(), item(V2.code, budget_yuan=1)]
    after = [item(V2.code, budget_yuan=2), item(NEW.code, day=date(2015, 1, 1))]
    diff = comparison.compare_items(before, after)
    assert diff.added == [NEW.code]
    assert diff.removed == [V1.code]
    assert [
        (c.division_code, [(f.field, f.before, f.after) for f in c.changes]) for c in diff.changed
    ] == [(V2.code, [("budget_yuan", 1, 2)])]
    assert diff.unchanged == 0
