"""Case rules: state machine, timestamp order, ratings, fees, derived deadlines, fingerprints."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.cases.rules import timeline as rules
from registry.cases.rules.resident import keyed_hash
from registry.cases.rules.timeline import Timeline

NOW = datetime(2014, 10, 20, 8, 0, tzinfo=UTC)


def at(day: int, hour: int = 9, month: int = 10) -> datetime:
    """An instant in October 2014, China time (UTC+8)."""
    return datetime(2014, month, day, hour - 8, 0, tzinfo=UTC)


RECEIVED = Timeline(state="received", received_at=at(8))
FORWARDED = Timeline(state="forwarded", received_at=at(8), forwarded_at=at(9))
COMPLETED = Timeline(state="completed", received_at=at(8), forwarded_at=at(9), completed_at=at(13))
RETURNED = Timeline(
    state="returned",
    received_at=at(8),
    forwarded_at=at(9),
    returned_at=at(13),
    returned_reason="材料不全",
)
DELIVERED = Timeline(
    state="delivered",
    received_at=at(8),
    forwarded_at=at(9),
    completed_at=at(13),
    delivered_at=at(14),
    rating="satisfied",
)
DELIVERED_RETURN = Timeline(
    state="delivered",
    received_at=at(8),
    forwarded_at=at(9),
    returned_at=at(13),
    delivered_at=at(14),
    returned_reason="不符合条件",
)


def codes(t: Timeline) -> list[str]:
    return [p.code for p in rules.timeline_problems(t, NOW)]


@pytest.mark.parametrize(
    "t", [RECEIVED, FORWARDED, COMPLETED, RETURNED, DELIVERED, DELIVERED_RETURN]
)
def test_consistent_timelines_pass(t):
    assert codes(t) == []


def change(t: Timeline, **values) -> Timeline:
    import msgspec

    return msgspec.structs.replace(t, **values)


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (change(RECEIVED, state="done"), ["unknown_state"]),
        (change(FORWARDED, forwarded_at=None), ["timestamp_required"]),
        (change(COMPLETED, forwarded_at=None), ["timestamp_required"]),  # skipped forwarding
        (change(RECEIVED, completed_at=at(9)), ["timestamp_not_allowed"]),
        (change(FORWARDED, delivered_at=at(12)), ["timestamp_not_allowed"]),
        (change(COMPLETED, forwarded_at=at(14)), ["timestamps_out_of_order"]),
        (change(FORWARDED, forwarded_at=at(7)), ["timestamps_out_of_order"]),
        (change(DELIVERED, delivered_at=at(12)), ["timestamps_out_of_order"]),
        (change(DELIVERED, completed_at=None), ["timestamp_required"]),
        (
            change(DELIVERED, returned_at=at(13), returned_reason="x"),
            ["completed_and_returned"],
        ),
        (change(RETURNED, returned_reason=None), ["returned_reason_required"]),
        (change(RETURNED, returned_reason="  "), ["returned_reason_required"]),
        (change(COMPLETED, returned_reason="材料不全"), ["returned_reason_not_allowed"]),
        (change(COMPLETED, rating="satisfied"), ["rating_before_delivery"]),
        (change(RECEIVED, rating="very_satisfied"), ["rating_before_delivery"]),
        (change(DELIVERED, rating="great"), ["unknown_rating"]),
        (change(RECEIVED, received_at=NOW + timedelta(hours=1)), ["received_in_future"]),
        (change(FORWARDED, forwarded_at=NOW + timedelta(days=1)), ["timestamp_in_future"]),
    ],
)
def test_broken_rules_are_named(t, expected):
    assert codes(t) == expected


def test_a_few_minutes_of_device_clock_drift_is_tolerated():
    assert codes(change(RECEIVED, received_at=NOW + timedelta(minutes=5))) == []


@pytest.mark.parametrize(
    ("before", "after", "allowed"),
    [
        (RECEIVED, FORWARDED, True),
        (RECEIVED, DELIVERED, True),  # several steps at once (agent offline)
        (FORWARDED, COMPLETED, True),
        (COMPLETED, DELIVERED, True),
        (RETURNED, DELIVERED_RETURN, True),
        (COMPLETED, COMPLETED, True),  # an edit without a move
        (FORWARDED, RECEIVED, False),
        (DELIVERED, COMPLETED, False),
        (COMPLETED, RETURNED, False),  # outcome swapped
        (RETURNED, DELIVERED, False),  # delivered as completed after a return
        (DELIVERED_RETURN, DELIVERED, False),
    ],
)
def test_transitions(before, after, allowed):
    found = rules.transition_problems(before, after)
    assert (found == []) is allowed
    if not allowed:
        assert found[0].code == "state_transition_not_allowed"


@pytest.mark.parametrize(
    ("fee", "expected"),
    [
        (None, []),
        (0, []),
        (0.0, []),
        (0.01, ["fee_not_allowed"]),
        (20, ["fee_not_allowed"]),
        (-1, ["invalid_fee"]),
    ],
)
def test_agency_service_is_free(fee, expected):
    assert [p.code for p in rules.fee_problems(fee)] == expected


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("材料已齐全，转乡镇民政办", False),
        ("电话 138 1234 5678 联系", True),
        ("身份证 431202198001010018", True),
        ("联系张三明本人", True),
        ("编号 2014100800001", False),  # a 13-digit number is neither an ID nor a mobile
    ],
)
def test_personal_data_is_kept_out_of_free_text(text, flagged):
    found = rules.free_text_problems("note", text, ("张三明",))
    assert bool(found) is flagged


def test_derived_due_date_and_flags_over_national_day_2014():
    # Received Tuesday 30 September 2014; forwarded 10 October = 3 working days later: on time.
    t = Timeline(
        state="completed",
        received_at=datetime(2014, 9, 30, 2, 0, tzinfo=UTC),
        forwarded_at=datetime(2014, 10, 10, 2, 0, tzinfo=UTC),
        completed_at=datetime(2014, 10, 13, 2, 0, tzinfo=UTC),
    )
    d = rules.derive(t, 5)
    assert d.received_on == date(2014, 9, 30)
    assert d.due_on == date(2014, 10, 13)  # 8, 9, 10, 11 (make-up Saturday), 13
    assert d.forward_late is False
    assert d.completion_workdays == 5
    assert d.completed_on_time is True
    late = rules.derive(change(t, forwarded_at=datetime(2014, 10, 11, 2, 0, tzinfo=UTC)), 4)
    assert late.forward_late is True  # the make-up Saturday is the 4th working day
    assert late.completed_on_time is False  # due 11 October, completed the 13th


def test_received_date_is_the_china_date():
    # 17:30 UTC on 30 September is 01:30 on 1 October in China.
    t = Timeline(state="received", received_at=datetime(2014, 9, 30, 17, 30, tzinfo=UTC))
    assert rules.derive(t, 1).received_on == date(2014, 10, 1)
    assert rules.derive(t, 1).due_on == date(2014, 10, 8)


def test_naive_instants_are_china_time_to_the_second():
    assert rules.to_utc(datetime(2014, 10, 8, 9, 30, 15, 999)) == datetime(
        2014, 10, 8, 1, 30, 15, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("state", "due", "overdue"),
    [
        ("received", date(2014, 10, 19), True),
        ("forwarded", date(2014, 10, 19), True),
        ("forwarded", date(2014, 10, 20), False),  # due today: not yet overdue
        ("completed", date(2014, 10, 1), False),
        ("returned", date(2014, 10, 1), False),
    ],
)
def test_overdue_means_open_past_due(state, due, overdue):
    assert rules.is_overdue(state, due, date(2014, 10, 20)) is overdue


@pytest.mark.parametrize("status", [None, "planned", "built", "suspended", "closed"])
def test_cases_need_a_point_in_service(status):
    assert [p.code for p in rules.in_service_problems(status)] == ["site_not_in_service"]
    assert rules.in_service_problems("in_service") == []


def test_case_number():
    number = rules.case_number("431202102200", date(2014, 3, 5), 7)
    assert number == "431202102200-20140305-0007"
    assert rules.serial_of(number) == 7


def test_fingerprint_is_keyed_and_sensitive_to_every_field():
    content = {
        "id": uuid.UUID(int=1),
        "site_id": 3,
        "matter_code": "SB001",
        "resident": "r" * 64,
        "state": "received",
        "received_at": at(8),
        "note": None,
    }
    base = rules.fingerprint("k1", content)
    assert base == rules.fingerprint("k1", dict(content))
    assert base != rules.fingerprint("k2", content)
    for key, value in (("note", "x"), ("state", "forwarded"), ("received_at", at(9))):
        assert rules.fingerprint("k1", {**content, key: value}) != base


def test_fingerprint_of_a_fixed_case_is_the_one_first_stored():
    """Pinned: the text and digest the registry's first fingerprint (json.dumps of these fields,
    timestamps in UTC to the second) gave for this case, so a change of fields or format fails
    here even where the property test below, which compares texts, would not."""
    content = {
        "id": uuid.UUID(int=1),
        "site_id": 3,
        "matter_code": "SB001",
        "resident": "r" * 64,
        "state": "delivered",
        "received_at": datetime(2014, 10, 20, 16, 5, tzinfo=timezone(timedelta(hours=8))),
        "forwarded_at": datetime(2014, 10, 20, 9, 0, tzinfo=UTC),
        "completed_at": datetime(2014, 10, 21, 9, 0, tzinfo=UTC),
        "delivered_at": datetime(2014, 10, 22, 9, 0, 0, 250_000, tzinfo=UTC),
        "returned_at": None,
        "returned_reason": None,
        "rating": "satisfied",
        "note": '代办 "一"',
    }
    assert rules.fingerprint_text(content) == (
        '{"completed_at":"2014-10-21T09:00:00+00:00","delivered_at":"2014-10-22T09:00:00+00:00",'
        '"forwarded_at":"2014-10-20T09:00:00+00:00","id":"00000000-0000-0000-0000-000000000001",'
        '"matter_code":"SB001","note":"代办 \\"一\\"","rating":"satisfied",'
        '"received_at":"2014-10-20T08:05:00+00:00","resident":"' + "r" * 64 + '",'
        '"returned_at":null,"returned_reason":null,"site_id":3,"state":"delivered"}'
    )
    assert rules.fingerprint("k", content) == (
        "cb3f100be88be753b1f298d142fcd610e51573f3dd9bac1f484e29dd2ab0e518"
    )


def _text_as_first_made(content: dict) -> str:
    """The fingerprint's text as the registry first made it (json.dumps): every stored case's
    ``content_hash``; a replay of an old case must still be recognised as unchanged."""
    import json

    return json.dumps(
        json.loads(rules.fingerprint_text(content)),
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


# Text as agents type it: any character but lone surrogates (refused before a fingerprint).
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    note=st.none() | _TEXT,
    reason=st.none() | _TEXT,
    matter=_TEXT,
    rating=st.none() | st.integers(min_value=-(2**40), max_value=2**40),
    minutes=st.integers(min_value=0, max_value=10**6),
)
def test_fingerprint_is_the_one_stored_so_far_for_any_text(note, reason, matter, rating, minutes):
    content = {
        "id": uuid.UUID(int=minutes),
        "site_id": 3,
        "matter_code": matter,
        "resident": "r" * 64,
        "state": "completed",
        "received_at": at(8) + timedelta(minutes=minutes),
        "completed_at": at(9) + timedelta(minutes=minutes),
        "note": note,
        "returned_reason": reason,
        "rating": rating,
    }
    text = rules.fingerprint_text(content)
    assert text == _text_as_first_made(content)
    assert rules.fingerprint("k", content) == keyed_hash("k", "case\x1f" + text)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.none() | st.booleans() | st.integers() | _TEXT | st.dates(),
        max_size=6,
    )
)
def test_audit_changes_are_the_json_text_they_always_were(values):
    import json

    from registry.audit import service as audit

    changes = audit.diff({}, {f"f{n}": v for n, v in enumerate(values)})
    # A caller's own entry with a time in it (not through diff): ISO text with its offset.
    changes.append({"field": "at", "before": None, "after": at(8)})
    expected = json.dumps(
        changes, ensure_ascii=False, separators=(",", ":"), default=lambda d: d.isoformat()
    )
    assert audit.changes_json(changes) == expected


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.none() | st.booleans() | st.integers() | _TEXT | st.dates() | st.datetimes(),
        max_size=8,
    )
)
def test_a_new_entitys_changes_are_the_diff_from_nothing(values):
    from registry.audit import service as audit

    fields = tuple(f"f{n}" for n in range(len(values)))
    assert audit.created(fields, values) == audit.diff({}, dict(zip(fields, values, strict=True)))


def test_a_new_cases_audit_entry_lists_every_audited_field_it_has():
    """The entry of a created case, made without the view of an update, is the one the
    view and the diff from nothing give."""
    from registry.audit import service as audit
    from registry.cases import write
    from registry.core.access import Actor

    group = write.Group(Actor("agent", "village_agent", "5"), 5, [], via="sync", request="r1")
    case_id = uuid.uuid4()
    c = write.Candidate(index=0, raw_id=str(case_id), id=case_id, matter_code="M01")
    values = {key: None for key in write.AUDITED[3:]} | {
        "county_code": "431202",
        "resident_name_masked": "张*",
        "state": "received",
        "received_at": at(8),
        "due_on": date(2026, 12, 9),
        "forward_late": False,
        "rating": 0,
    }
    view = write._audit_view({**values, "case_number": "431202-20261208-0001"}, 5, "M01")
    expected = write._audit_entry(group, "create", case_id, audit.diff({}, view), "431202", at(9))
    entry = write._created_entry(group, c, values, "431202-20261208-0001", at(9))
    assert entry == expected
    assert '"field":"rating","before":null,"after":0' in entry[audit.COLUMNS.index("changes")]
