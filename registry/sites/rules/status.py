"""Build status of a site: the transition rules and status-as-of-a-date from dated events.

``planned → under_construction → built → in_service``; centres only: ``in_service →
standardized`` (达标验收, which needs a centre in service); ``suspended`` from in_service or
standardized and back; ``closed`` is final. Forward skips are allowed and recorded; backward
moves other than a return from suspension need a note.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import msgspec

from registry.core.errors import RuleViolation
from registry.divisions.rules import CENTRE_KINDS

PROGRESSION = ("planned", "under_construction", "built", "in_service", "standardized")
STATUSES = (*PROGRESSION, "suspended", "closed")
INITIAL_STATUSES = ("planned", "under_construction", "built", "in_service", "standardized")
RANK = {status: rank for rank, status in enumerate(PROGRESSION)}

LABELS_ZH = {
    "planned": "规划中",
    "under_construction": "在建",
    "built": "已建成",
    "in_service": "已运行",
    "standardized": "已达标",
    "suspended": "暂停",
    "closed": "已撤销",
}
# Colours of the statuses on maps and pages (ColorBrewer Blues for the progression; orange for
# a suspension, grey for a closure). The pages get them with the labels from /static/vocab.js.
COLOURS = {
    "planned": "#bdbdbd",
    "under_construction": "#fdae6b",
    "built": "#6baed6",
    "in_service": "#2171b5",
    "standardized": "#08306b",
    "suspended": "#e6550d",
    "closed": "#636363",
}


class Transition(msgspec.Struct, frozen=True):
    """An accepted status change: what was skipped, whether it moved backward."""

    previous: str | None
    status: str
    skipped: list[str]
    backward: bool


class DatedStatus(msgspec.Struct, frozen=True):
    """A status event reduced to what the as-of computation needs."""

    status: str
    effective_date: date
    seq: int = 0


def _violation(
    code: str, zh: str, en: str, field: str = "status", **extra: object
) -> RuleViolation:
    return RuleViolation(code, zh, en, field, **extra)


def check_status_value(status: str, site_kind: str) -> None:
    """Refuse unknown statuses and statuses the site kind cannot have."""
    if status not in STATUSES:
        raise _violation(
            "unknown_status",
            f"未知状态：{status}",
            f"unknown status {status!r}; one of {', '.join(STATUSES)}",
            allowed=list(STATUSES),
        )
    if status == "standardized" and site_kind not in CENTRE_KINDS:
        raise _violation(
            "status_not_for_kind",
            "只有便民服务中心可以标准化达标验收，代办点不适用",
            "only centres can be standardized; agency points cannot",
        )


def check_initial(status: str, site_kind: str) -> Transition:
    """The status a new site may be registered with (its history may begin at any stage)."""
    check_status_value(status, site_kind)
    if status not in INITIAL_STATUSES:
        raise _violation(
            "status_transition_not_allowed",
            f"新登记的站点不能处于“{LABELS_ZH[status]}”状态",
            f"a new site cannot start as {status}",
        )
    if status == "standardized":
        raise _violation(
            "standardize_requires_in_service",
            "达标验收前中心须已运行：请先登记“已运行”，再登记“已达标”",
            "a centre must be in service before it is standardized: record in_service first",
        )
    skipped = list(PROGRESSION[: RANK[status]])
    return Transition(previous=None, status=status, skipped=skipped, backward=False)


def check_transition(
    previous: str,
    status: str,
    site_kind: str,
    note: str | None,
) -> Transition:
    """Validate a move from ``previous`` to ``status``.

    Args:
        previous: the site's current status.
        status: the requested status.
        site_kind: the site's kind (standardized is for centres only).
        note: the note given with the change (needed for backward moves).

    Raises:
        RuleViolation: with a stable code naming the broken rule.
    """
    check_status_value(status, site_kind)
    allowed_from = allowed_next(previous, site_kind)
    if previous == "closed":
        raise _violation(
            "site_closed",
            "站点已撤销，状态不能再变更",
            "the site is closed; its status can no longer change",
            allowed=[],
        )
    if status == previous:
        raise _violation(
            "status_unchanged",
            f"站点已处于“{LABELS_ZH[status]}”状态",
            f"the site is already {status}",
            allowed=allowed_from,
        )
    if status == "standardized" and previous not in ("in_service", "suspended"):
        raise _violation(
            "standardize_requires_in_service",
            "达标验收前中心须已运行",
            "a centre must be in service before it is standardized",
            allowed=allowed_from,
        )
    if status == "suspended" and previous not in ("in_service", "standardized"):
        raise _violation(
            "status_transition_not_allowed",
            "只有已运行或已达标的站点可以暂停",
            "only a site in service or standardized can be suspended",
            allowed=allowed_from,
        )
    if status == "closed":
        return Transition(previous=previous, status=status, skipped=[], backward=False)

    if previous == "suspended":
        # Resuming service (in_service, or standardized for a centre) is not a backward move.
        if status in ("in_service", "standardized"):
            return Transition(previous=previous, status=status, skipped=[], backward=False)
        return _backward(previous, status, note, allowed_from)

    if status == "suspended":
        return Transition(previous=previous, status=status, skipped=[], backward=False)

    if RANK[status] > RANK[previous]:
        skipped = list(PROGRESSION[RANK[previous] + 1 : RANK[status]])
        return Transition(previous=previous, status=status, skipped=skipped, backward=False)
    return _backward(previous, status, note, allowed_from)


def _backward(previous: str, status: str, note: str | None, allowed: list[str]) -> Transition:
    if not note:
        raise _violation(
            "note_required",
            f"从“{LABELS_ZH[previous]}”退回“{LABELS_ZH[status]}”须填写说明",
            f"moving back from {previous} to {status} needs a note",
            field="note",
            allowed=allowed,
        )
    return Transition(previous=previous, status=status, skipped=[], backward=True)


def allowed_next(previous: str, site_kind: str) -> list[str]:
    """Statuses reachable from ``previous`` (backward ones need a note)."""
    if previous == "closed":
        return []
    result = []
    for status in STATUSES:
        if status == previous:
            continue
        if status == "standardized" and (
            site_kind not in CENTRE_KINDS or previous not in ("in_service", "suspended")
        ):
            continue
        if status == "suspended" and previous not in ("in_service", "standardized"):
            continue
        result.append(status)
    return result


def needs_note(previous: str, status: str) -> bool:
    """Whether a move recorded by hand needs a note: a closure (final, it cannot be undone) and
    every backward move other than a return from suspension."""
    if status == "closed":
        return True
    if previous == "suspended":
        return status not in ("in_service", "standardized")
    if status == "suspended" or previous not in RANK or status not in RANK:
        return False
    return RANK[status] < RANK[previous]


def check_closing_note(status: str, note: str | None) -> None:
    """A site closed by hand says why (``note_required``): a closure is final. Historical
    imports may record closures without one."""
    if status == "closed" and not (note or "").strip():
        raise _violation(
            "note_required",
            "撤销站点是最终状态，不能恢复，须填写说明（撤销原因）",
            "closing a site is final and needs a note (the reason)",
            field="note",
        )


def check_effective_date(effective: date, today: date, last: date | None) -> None:
    """An effective date is never in the future and never before the previous event."""
    if effective > today:
        raise RuleViolation(
            "effective_date_in_future",
            f"生效日期 {effective} 晚于今天 {today}",
            f"effective date {effective} is in the future (today is {today})",
            "effective_date",
        )
    if last is not None and effective < last:
        raise RuleViolation(
            "effective_date_before_previous",
            f"生效日期 {effective} 早于上一次状态变更（{last}）",
            f"effective date {effective} is before the site's previous event ({last})",
            "effective_date",
            previous_effective_date=last.isoformat(),
        )


def status_on(events: Iterable[DatedStatus], day: date) -> str | None:
    """The status on ``day``: that of the latest event effective on or before it.

    Events on one date apply in ``seq`` order. None when the site did not exist yet.
    """
    best: DatedStatus | None = None
    for event in events:
        if event.effective_date > day:
            continue
        if best is None or (event.effective_date, event.seq) > (best.effective_date, best.seq):
            best = event
    return best.status if best else None


def recorded_start(status: str, site_kind: str) -> list[Transition]:
    """The events that register a site already at ``status`` (bulk import of a register).

    A site imported as ``standardized`` or ``suspended`` was in service first, so its history
    records ``in_service`` and then that status on the same date; a site imported as
    ``closed`` (a historical record) starts closed. Every other status is an ordinary first
    event (:func:`check_initial`).
    """
    check_status_value(status, site_kind)
    if status in ("standardized", "suspended"):
        first = check_initial("in_service", site_kind)
        return [first, Transition(previous="in_service", status=status, skipped=[], backward=False)]
    if status == "closed":
        return [Transition(previous=None, status="closed", skipped=[], backward=False)]
    return [check_initial(status, site_kind)]
