"""The build-status machine and status-as-of-a-date."""

from __future__ import annotations

from datetime import date

import pytest

from registry.core.errors import RuleViolation
from registry.sites.rules.status import (
    DatedStatus,
    allowed_next,
    check_effective_date,
    check_initial,
    check_transition,
    status_on,
)

CENTRE = "township_centre"
POINT = "village_point"

ALLOWED = [
    # previous, new, kind, note, skipped, backward
    ("planned", "under_construction", POINT, None, [], False),
    ("planned", "in_service", POINT, None, ["under_construction", "built"], False),
    ("built", "in_service", CENTRE, None, [], False),
    ("in_service", "standardized", CENTRE, None, [], False),
    ("in_service", "suspended", POINT, None, [], False),
    ("standardized", "suspended", CENTRE, None, [], False),
    ("suspended", "in_service", POINT, None, [], False),
    ("suspended", "standardized", CENTRE, None, [], False),
    ("in_service", "closed", POINT, None, [], False),
    ("built", "under_construction", POINT, "返工重建", [], True),
    ("suspended", "built", POINT, "设备搬迁", [], True),
]


@pytest.mark.parametrize(("previous", "new", "kind", "note", "skipped", "backward"), ALLOWED)
def test_allowed_transitions(previous, new, kind, note, skipped, backward):
    t = check_transition(previous, new, kind, note)
    assert (t.status, t.skipped, t.backward) == (new, skipped, backward)
    assert new in allowed_next(previous, kind)


REFUSED = [
    ("in_service", "standardized", POINT, None, "status_not_for_kind"),
    ("built", "standardized", CENTRE, None, "standardize_requires_in_service"),
    ("planned", "suspended", POINT, None, "status_transition_not_allowed"),
    ("closed", "in_service", POINT, None, "site_closed"),
    ("in_service", "in_service", POINT, None, "status_unchanged"),
    ("in_service", "built", POINT, None, "note_required"),
    ("suspended", "planned", POINT, None, "note_required"),
    ("planned", "demolished", POINT, None, "unknown_status"),
]


@pytest.mark.parametrize(("previous", "new", "kind", "note", "code"), REFUSED)
def test_refused_transitions_name_the_rule(previous, new, kind, note, code):
    with pytest.raises(RuleViolation) as info:
        check_transition(previous, new, kind, note)
    assert info.value.code == code


def test_new_site_may_start_at_any_stage_up_to_in_service():
    assert check_initial("in_service", POINT).skipped == ["planned", "under_construction", "built"]
    with pytest.raises(RuleViolation) as info:
        check_initial("standardized", CENTRE)
    assert info.value.code == "standardize_requires_in_service"
    with pytest.raises(RuleViolation):
        check_initial("closed", POINT)


@pytest.mark.parametrize(
    ("effective", "last", "code"),
    [
        (date(2026, 1, 2), None, "effective_date_in_future"),
        (date(2014, 1, 1), date(2014, 2, 1), "effective_date_before_previous"),
    ],
)
def test_effective_date_rules(effective, last, code):
    with pytest.raises(RuleViolation) as info:
        check_effective_date(effective, date(2026, 1, 1), last)
    assert info.value.code == code


def test_effective_date_may_equal_previous_or_today():
    check_effective_date(date(2014, 2, 1), date(2026, 1, 1), date(2014, 2, 1))
    check_effective_date(date(2026, 1, 1), date(2026, 1, 1), None)


HISTORY = [
    DatedStatus("planned", date(2013, 5, 1), 1),
    DatedStatus("built", date(2013, 9, 1), 2),
    DatedStatus("in_service", date(2013, 10, 1), 3),
    DatedStatus("suspended", date(2014, 3, 1), 4),
    DatedStatus("in_service", date(2014, 3, 1), 5),  # same day: the later event wins
]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2013, 4, 30), None),
        (date(2013, 5, 1), "planned"),
        (date(2013, 9, 30), "built"),
        (date(2013, 10, 1), "in_service"),
        (date(2014, 3, 1), "in_service"),
        (date(2020, 1, 1), "in_service"),
    ],
)
def test_status_on_a_date_comes_from_the_events(day, expected):
    assert status_on(reversed(HISTORY), day) == expected
