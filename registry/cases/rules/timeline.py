"""Proxy-service cases (代办): the state machine, timestamp order, deadlines, fees, fingerprints.

``received`` (受理) → ``forwarded`` (转办/报送) → ``completed`` (办结) or ``returned`` (退回, a
reason required) → ``delivered`` (回复). A record carries the timestamps of every step it has
reached and none of the later ones, in order; a rating (好差评) only once delivered. Clients send
the whole record, so several steps may be taken at once (an agent offline for a week), but an
update never moves a case back nor swaps its outcome (completed ↔ returned).

Instants without a time zone are China time (Asia/Shanghai); all are kept in UTC to the second.
Deadlines count working days (:mod:`registry.cases.rules.workdays`) from the China date of
receipt.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec

from registry.cases.rules import workdays
from registry.cases.rules.resident import keyed_hash, masked_name_in
from registry.core.clock import CHINA, china_date
from registry.core.errors import RuleViolation
from registry.core.text import personal_data_in

STATES = ("received", "forwarded", "completed", "returned", "delivered")
OPEN_STATES = ("received", "forwarded")
RATINGS = (
    "very_satisfied",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
    "very_dissatisfied",
)
SATISFIED_RATINGS = ("very_satisfied", "satisfied")
STATE_LABELS_ZH = {
    "received": "受理",
    "forwarded": "转办",
    "completed": "办结",
    "returned": "退回",
    "delivered": "回复",
}
RANK = {"received": 0, "forwarded": 1, "completed": 2, "returned": 2, "delivered": 3}
TIMESTAMPS = ("received_at", "forwarded_at", "completed_at", "returned_at", "delivered_at")
# Timestamps each state needs (delivered also needs completed_at or returned_at) and forbids.
REQUIRED = {
    "received": ("received_at",),
    "forwarded": ("received_at", "forwarded_at"),
    "completed": ("received_at", "forwarded_at", "completed_at"),
    "returned": ("received_at", "forwarded_at", "returned_at"),
    "delivered": ("received_at", "forwarded_at", "delivered_at"),
}
FORBIDDEN = {
    "received": ("forwarded_at", "completed_at", "returned_at", "delivered_at"),
    "forwarded": ("completed_at", "returned_at", "delivered_at"),
    "completed": ("returned_at", "delivered_at"),
    "returned": ("completed_at", "delivered_at"),
    "delivered": (),
}
# A forward later than this many working days after receipt is flagged.
FORWARD_WITHIN_WORKDAYS = 3
# Device clocks drift: an instant up to this far ahead of the server is not "in the future".
CLOCK_SKEW = timedelta(minutes=10)
NOTE_MAX = 1000
REASON_MAX = 500
# Identity numbers and mobile numbers do not belong in free text.


class Timeline(msgspec.Struct, frozen=True):
    """The state and dated steps of a case (UTC instants)."""

    state: str
    received_at: datetime
    forwarded_at: datetime | None = None
    completed_at: datetime | None = None
    returned_at: datetime | None = None
    delivered_at: datetime | None = None
    returned_reason: str | None = None
    rating: str | None = None


class Derived(msgspec.Struct, frozen=True):
    """What the server derives from a timeline and the matter's time limit."""

    received_on: date
    due_on: date
    forward_late: bool
    completion_workdays: int | None
    completed_on_time: bool | None


def to_utc(instant: datetime) -> datetime:
    """UTC to the second; a naive instant is China time (what an agent's phone shows)."""
    if instant.tzinfo is UTC and not instant.microsecond:
        return instant  # already (most instants are: those of a checked timeline)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=CHINA)
    return instant.astimezone(UTC).replace(microsecond=0)


def _v(code: str, zh: str, en: str, field: str | None, **extra: object) -> RuleViolation:
    return RuleViolation(code, zh, en, field, **extra)


def timeline_problems(t: Timeline, now: datetime) -> list[RuleViolation]:
    """Every rule the timeline breaks: state, required/forbidden steps, order, future, rating."""
    if t.state not in STATES:
        return [
            _v(
                "unknown_state",
                f"未知办理状态（可选：{'、'.join(STATES)}）",
                f"unknown state; one of {', '.join(STATES)}",
                "state",
                allowed=list(STATES),
            )
        ]
    found: list[RuleViolation] = []
    label = STATE_LABELS_ZH[t.state]
    for field in REQUIRED[t.state]:
        if getattr(t, field) is None:
            found.append(
                _v(
                    "timestamp_required",
                    f"状态为“{label}”时须填写 {field}",
                    f"a case in state {t.state} needs {field}",
                    field,
                )
            )
    for field in FORBIDDEN[t.state]:
        if getattr(t, field) is not None:
            found.append(
                _v(
                    "timestamp_not_allowed",
                    f"状态为“{label}”的事项不能有 {field}（状态与时间不一致）",
                    f"a case in state {t.state} cannot have {field} (state and steps disagree)",
                    field,
                )
            )
    if t.state == "delivered":
        if t.completed_at is None and t.returned_at is None:
            found.append(
                _v(
                    "timestamp_required",
                    "回复前须已办结或退回：填写 completed_at 或 returned_at",
                    "a delivered case needs completed_at or returned_at",
                    "completed_at",
                )
            )
        elif t.completed_at is not None and t.returned_at is not None:
            found.append(
                _v(
                    "completed_and_returned",
                    "事项不能既办结又退回",
                    "a case cannot be both completed and returned",
                    "returned_at",
                )
            )
    # Order: each step no earlier than the one before it.
    steps = [
        ("received_at", t.received_at),
        ("forwarded_at", t.forwarded_at),
        (
            "completed_at" if t.completed_at is not None else "returned_at",
            t.completed_at if t.completed_at is not None else t.returned_at,
        ),
        ("delivered_at", t.delivered_at),
    ]
    previous: tuple[str, datetime] | None = None
    for field, instant in steps:
        if instant is None:
            continue
        if previous is not None and instant < previous[1]:
            found.append(
                _v(
                    "timestamps_out_of_order",
                    f"{field} 早于 {previous[0]}",
                    f"{field} is earlier than {previous[0]}",
                    field,
                )
            )
        previous = (field, instant)
    limit = now + CLOCK_SKEW
    for field in TIMESTAMPS:
        instant = getattr(t, field)
        if instant is not None and instant > limit:
            code = "received_in_future" if field == "received_at" else "timestamp_in_future"
            found.append(_v(code, f"{field} 晚于当前时间", f"{field} is in the future", field))
    returned = t.returned_at is not None or t.state == "returned"
    if returned and not (t.returned_reason or "").strip():
        found.append(
            _v(
                "returned_reason_required",
                "退回须填写原因",
                "a returned case needs a reason",
                "returned_reason",
            )
        )
    if not returned and t.returned_reason:
        found.append(
            _v(
                "returned_reason_not_allowed",
                "未退回的事项不能填写退回原因",
                "only a returned case has a return reason",
                "returned_reason",
            )
        )
    if t.rating is not None:
        if t.rating not in RATINGS:
            found.append(
                _v(
                    "unknown_rating",
                    f"评价取值无效（可选：{'、'.join(RATINGS)}）",
                    f"unknown rating; one of {', '.join(RATINGS)}",
                    "rating",
                    allowed=list(RATINGS),
                )
            )
        elif t.state != "delivered":
            found.append(
                _v(
                    "rating_before_delivery",
                    "回复居民之后才能评价",
                    "a case can be rated only after delivery to the resident",
                    "rating",
                )
            )
    return found


def _outcome(t: Timeline) -> str | None:
    if t.completed_at is not None or t.state == "completed":
        return "completed"
    if t.returned_at is not None or t.state == "returned":
        return "returned"
    return None


def transition_problems(previous: Timeline, new: Timeline) -> list[RuleViolation]:
    """An update never moves a case back nor changes its outcome (completed ↔ returned)."""
    if new.state not in RANK or previous.state not in RANK:
        return []
    found: list[RuleViolation] = []
    if RANK[new.state] < RANK[previous.state] or (
        _outcome(previous) is not None and _outcome(new) not in (None, _outcome(previous))
    ):
        found.append(
            _v(
                "state_transition_not_allowed",
                f"事项已“{STATE_LABELS_ZH[previous.state]}”，不能改为"
                f"“{STATE_LABELS_ZH[new.state]}”",
                f"a case that is {previous.state} cannot become {new.state}",
                "state",
                previous_state=previous.state,
            )
        )
    return found


def immutable_problems(before: dict[str, Any], after: dict[str, Any]) -> list[RuleViolation]:
    """Site, matter and receipt time are fixed at creation (the case number depends on them)."""
    return [
        _v(
            "field_immutable",
            f"{field} 在受理后不能更改",
            f"{field} cannot change once the case is received",
            field,
        )
        for field in ("site_id", "matter_code", "received_at")
        if before.get(field) != after.get(field)
    ]


def fee_problems(fee_yuan: float | None) -> list[RuleViolation]:
    """Agency service is free (免费代办): any fee above zero is refused."""
    if fee_yuan is None or fee_yuan == 0:
        return []
    if fee_yuan > 0:
        return [
            _v(
                "fee_not_allowed",
                "代办服务一律免费，不得收取费用",
                "agency service is free: no fee may be charged",
                "fee_yuan",
            )
        ]
    return [_v("invalid_fee", "费用不能为负数", "a fee cannot be negative", "fee_yuan")]


def free_text_problems(
    field: str,
    value: str | None,
    resident: tuple[str, ...] = (),
    masked: tuple[str, ...] = (),
) -> list[RuleViolation]:
    """Notes and reasons may not carry identity or mobile numbers, nor the resident's data:
    found however they are separated or written (:func:`registry.core.text.personal_data_in`),
    the resident's name also by its stored mask (``masked``) when the clear name is not at hand.
    """
    if not value:
        return []
    if personal_data_in(value, resident) or any(masked_name_in(value, m) for m in masked):
        return [
            _v(
                "personal_data_in_text",
                f"{field} 不能包含身份证号、手机号或居民姓名",
                f"{field} cannot contain identity numbers, mobile numbers or the resident's name",
                field,
            )
        ]
    return []


def in_service_problems(status_on_received: str | None) -> list[RuleViolation]:
    """A case can be received only on a day the point is in service (from its dated events)."""
    if status_on_received in ("in_service", "standardized"):
        return []
    return [
        _v(
            "site_not_in_service",
            "受理日期时该代办点不是已运行状态（未建成、暂停或已撤销）",
            "the point was not in service on the received date",
            "received_at",
            status_on_received_date=status_on_received,
        )
    ]


def rederive(
    received_on: date,
    due_on: date,
    forwarded_at: datetime | None,
    completed_at: datetime | None,
    calendar: workdays.Calendar,
) -> tuple[bool, int | None, bool | None]:
    """A stored case's late-forward flag, working days to completion and on-time flag under
    ``calendar`` (after a year's arrangement is entered), from its dates and due date; the
    same rules as :func:`derive`."""
    forward_late = forwarded_at is not None and china_date(forwarded_at) > calendar.add_workdays(
        received_on, FORWARD_WITHIN_WORKDAYS
    )
    if completed_at is None:
        return forward_late, None, None
    completed_on = china_date(completed_at)
    return (
        forward_late,
        calendar.workdays_between(received_on, completed_on),
        completed_on <= due_on,
    )


def derive(t: Timeline, limit_days: int, calendar: workdays.Calendar | None = None) -> Derived:
    """Received date, due date, late-forward flag and completion figures (``calendar``: the
    registry's working days; default the package's alone)."""
    calendar = calendar or workdays.LIBRARY
    received_on = china_date(t.received_at)
    due_on = calendar.add_workdays(received_on, limit_days)
    forward_late = t.forwarded_at is not None and china_date(
        t.forwarded_at
    ) > calendar.add_workdays(received_on, FORWARD_WITHIN_WORKDAYS)
    completion_workdays = None
    on_time = None
    if t.completed_at is not None:
        completed_on = china_date(t.completed_at)
        completion_workdays = calendar.workdays_between(received_on, completed_on)
        on_time = completed_on <= due_on
    return Derived(
        received_on=received_on,
        due_on=due_on,
        forward_late=forward_late,
        completion_workdays=completion_workdays,
        completed_on_time=on_time,
    )


def is_overdue(state: str, due_on: date, today: date) -> bool:
    """Open (received or forwarded) past its due date."""
    return state in OPEN_STATES and today > due_on


def case_number(division_code: str, received_on: date, serial: int) -> str:
    """``{point's division code}-{YYYYMMDD}-{serial}``, serial per point and day from 0001."""
    day = received_on  # its fields formatted (strftime cost more, once per new case)
    return f"{division_code}-{day.year:04d}{day.month:02d}{day.day:02d}-{serial:04d}"


def serial_of(number: str) -> int:
    return int(number.rsplit("-", 1)[1])


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else to_utc(instant).isoformat()


def fingerprint(secret: str, content: dict[str, Any]) -> str:
    """Keyed hash of a case's full content, to recognise a replayed record.

    ``content`` holds ``id``, ``site_id``, ``matter_code``, ``resident`` (the keyed hash of the
    resident's name, ID and phone), the timeline fields and ``note`` — no clear personal data.
    """
    return keyed_hash(secret, "case\x1f" + fingerprint_text(content))


def fingerprint_text(content: dict[str, Any]) -> str:
    """The text :func:`fingerprint` hashes: the content's fields as compact JSON, keys sorted."""
    get = content.get
    # Built in the keys' sorted order (the encoder keeps it: sorting every record cost more).
    canonical = {
        "completed_at": _iso(get("completed_at")),
        "delivered_at": _iso(get("delivered_at")),
        "forwarded_at": _iso(get("forwarded_at")),
        "id": str(content["id"]),
        "matter_code": content["matter_code"],
        "note": get("note"),
        "rating": get("rating"),
        "received_at": _iso(get("received_at")),
        "resident": content["resident"],
        "returned_at": _iso(get("returned_at")),
        "returned_reason": get("returned_reason"),
        "site_id": int(content["site_id"]),
        "state": content["state"],
    }
    return _CANONICAL.encode(canonical).decode()


# The fingerprint's text: compact JSON, keys sorted, non-ASCII as is — the very text of
# ``json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))``, which
# made the fingerprints stored so far (a test holds the two equal), at a tenth of its cost.
_CANONICAL = msgspec.json.Encoder()


# ------------------------------------------------------------------------------ matters

_MATTER_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,19}$")


def check_matter_code(code: str) -> str:
    """A catalogue code: 2–20 of A–Z, 0–9 and ``-`` (upper-cased).

    Raises:
        RuleViolation: ``invalid_matter_code``.
    """
    text = (code or "").strip().upper()
    if not _MATTER_CODE.match(text):
        raise RuleViolation(
            "invalid_matter_code",
            "事项编码应为 2–20 位大写字母、数字或连字符",
            "a matter code is 2–20 characters of A–Z, 0–9 and -",
            "code",
        )
    return text


def check_time_limit(days: int) -> int:
    """A matter's time limit: 0 (即办, same day) to 365 working days.

    Raises:
        RuleViolation: ``invalid_time_limit``.
    """
    if not 0 <= days <= workdays.MAX_LIMIT_DAYS:
        raise RuleViolation(
            "invalid_time_limit",
            f"办理时限应在 0 到 {workdays.MAX_LIMIT_DAYS} 个工作日之间",
            f"the time limit must be 0 to {workdays.MAX_LIMIT_DAYS} working days",
            "time_limit_days",
        )
    return days
