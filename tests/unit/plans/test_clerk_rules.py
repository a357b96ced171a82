"""Issue 19's pure rules: a returned plan's content and its unchanged resubmission, the words of
a refused target, same-named villages told apart, and which status moves need a note."""

from __future__ import annotations

from datetime import date

import pytest

from registry.core.errors import RuleViolation
from registry.plans import comparison, rules
from registry.plans.rules import CampaignInfo, DivisionInfo, ItemIn
from registry.sites.rules import status

POINTS = CampaignInfo(
    code="agency-points-2013",
    name="村(社区)便民服务代办点建设",
    start_on=date(2013, 4, 18),
    deadline=date(2015, 4, 18),
    figure="agency_coverage",
)
TOWN = DivisionInfo("431202001000", "城中街道", "township", "街道", "431202000000")
VILLAGE = DivisionInfo(
    "431202001001", "锦溪社区", "village", "社区", "431202000000", township_code=TOWN.code
)
DIVISIONS = {d.code: d for d in (TOWN, VILLAGE)}
ITEMS = [
    ItemIn("431202001002", "in_service", date(2014, 6, 30), 1000, "县财政", None),
    ItemIn("431202001001", "built", date(2014, 12, 31)),
]


def test_a_snapshot_round_trips_its_items():
    snap = comparison.content_snapshot("规划", ITEMS, {"431202001003": "拟撤并"})
    assert comparison.snapshot_items(snap) == sorted(ITEMS, key=lambda i: i.division_code)


@pytest.mark.parametrize(
    ("title", "items", "explained", "unchanged"),
    [
        ("规划", ITEMS, {"431202001003": "拟撤并"}, True),
        ("规划", list(reversed(ITEMS)), {"431202001003": "拟撤并"}, True),  # order is no change
        ("规划（修改）", ITEMS, {"431202001003": "拟撤并"}, False),
        ("规划", ITEMS[:1], {"431202001003": "拟撤并"}, False),
        ("规划", [ITEMS[0], ItemIn("431202001001", "built", date(2015, 1, 31))], {}, False),
        ("规划", ITEMS, {}, False),
    ],
)
def test_unchanged_since_return(title, items, explained, unchanged):
    returned = comparison.content_snapshot("规划", ITEMS, {"431202001003": "拟撤并"})
    assert comparison.unchanged_since_return(returned, title, items, explained) is unchanged


def test_never_returned_is_never_unchanged():
    assert comparison.unchanged_since_return(None, "规划", ITEMS, {}) is False


def test_a_refused_target_is_said_in_chinese_words():
    item = ItemIn(VILLAGE.code, "standardized", date(2014, 12, 31))
    [problem] = rules.check_items("431202000000", POINTS, [item], DIVISIONS)
    assert problem.code == "target_not_allowed"
    assert "已达标" in problem.zh and "已运行" in problem.zh and "已建成" in problem.zh
    assert not any(word in problem.zh for word in ("standardized", "in_service", "built"))


def test_a_missing_village_is_named_with_its_township_not_its_code():
    [warning] = rules.missing_warnings([VILLAGE], [], {}, DIVISIONS)
    assert warning.zh == "城中街道锦溪社区未列入规划，也未说明原因"
    assert VILLAGE.code not in warning.zh


@pytest.mark.parametrize(
    ("previous", "new", "needed"),
    [
        ("planned", "closed", True),
        ("in_service", "closed", True),
        ("built", "under_construction", True),
        ("suspended", "planned", True),
        ("suspended", "in_service", False),
        ("in_service", "suspended", False),
        ("planned", "built", False),
    ],
)
def test_which_moves_need_a_note(previous, new, needed):
    assert status.needs_note(previous, new) is needed


def test_closing_by_hand_needs_a_note():
    with pytest.raises(RuleViolation) as refused:
        status.check_closing_note("closed", "  ")
    assert refused.value.code == "note_required"
    status.check_closing_note("closed", "村已撤并")
    status.check_closing_note("built", None)


def test_suspension_is_not_offered_from_planned():
    assert "suspended" not in status.allowed_next("planned", "village_point")
