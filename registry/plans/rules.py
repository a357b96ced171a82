"""Construction plans: states and workflow, item and completeness checks, the plan in force,
cumulative target shares, plan-vs-actual results, quarters and version comparison.

Pure rules: no Litestar, no SQL. A plan is one *version* of a county's plan for a campaign;
versions of the same county and campaign form its *lineage*.

- States: ``draft`` → ``submitted`` → ``approved`` or ``returned`` (comment required) →
  edited and resubmitted. Editing an approved version opens a new draft version; when that one is
  approved the version it replaces becomes ``superseded``. The *plan in force* is the approved
  version with the highest version number.
- A campaign's level follows its figure: ``agency_coverage`` → village-level divisions (村/社区),
  ``standardization`` → township-level divisions (乡/镇/街道).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import msgspec

from registry.core.errors import RuleViolation
from registry.divisions.rules import STATISTICAL_TOWNSHIP, exists_on

STATES = ("draft", "submitted", "approved", "returned", "superseded")
PENDING_STATES = ("draft", "submitted", "returned")
EDITABLE_STATES = ("draft", "returned")
# What the municipal overview shows for a county without any plan.
NO_PLAN = "none"

TARGET_LABELS_ZH = {"built": "已建成", "in_service": "已运行", "standardized": "已达标"}
# Site statuses that count as reaching a target (the same sets the coverage figures use:
# built = built or in service; a suspended or closed site reaches nothing).
SATISFYING: dict[str, tuple[str, ...]] = {
    "built": ("built", "in_service", "standardized"),
    "in_service": ("in_service", "standardized"),
    "standardized": ("standardized",),
}
LEVEL_BY_FIGURE = {"agency_coverage": "village", "standardization": "township"}
TARGETS_BY_LEVEL: dict[str, tuple[str, ...]] = {
    "village": ("in_service", "built"),
    "township": ("standardized", "in_service", "built"),
}
LEVEL_LABELS_ZH = {"village": "村(社区)", "township": "乡镇(街道)"}

# Days the municipal centre has to decide on a submitted plan before the review is overdue.
REVIEW_DAYS = 15
MAX_ITEMS = 10_000
MAX_BUDGET_YUAN = 10_000_000_000
TITLE_MAX = 200
NOTE_MAX = 1000
FUNDING_MAX = 200
REASON_MAX = 500


class CampaignInfo(msgspec.Struct, frozen=True):
    code: str
    name: str
    start_on: date
    deadline: date
    figure: str

    @property
    def level(self) -> str:
        return campaign_level(self.figure)


class DivisionInfo(msgspec.Struct, frozen=True):
    code: str
    name: str
    level: str
    kind: str
    county_code: str | None
    township_code: str | None = None
    established_on: date | None = None
    abolished_on: date | None = None


class ItemIn(msgspec.Struct, frozen=True):
    """A plan item after text cleaning (codes already 12 digits when well-formed)."""

    division_code: str
    target: str
    target_date: date
    budget_yuan: int | None = None
    funding_source: str | None = None
    note: str | None = None


class Problem(msgspec.Struct, frozen=True):
    """One finding of a plan check; ``index`` is the item's position (None: plan-level)."""

    code: str
    zh: str
    en: str
    field: str
    severity: str = "error"
    index: int | None = None
    division_code: str | None = None

    @property
    def message(self) -> str:
        return f"{self.zh} / {self.en}"


class CheckReport(msgspec.Struct, frozen=True):
    errors: list[Problem]
    warnings: list[Problem]

    @property
    def ok(self) -> bool:
        """Submittable: no errors and no unexplained missing divisions."""
        return not self.errors and not self.warnings


class WorkflowError(RuleViolation):
    """A state transition the workflow refuses (services answer 409)."""


class VersionRef(msgspec.Struct, frozen=True):
    id: int
    version: int
    state: str


# --------------------------------------------------------------------------- campaigns


def campaign_level(figure: str) -> str:
    """The division level a campaign's plans list: ``village`` or ``township``."""
    try:
        return LEVEL_BY_FIGURE[figure]
    except KeyError:
        raise RuleViolation(
            "campaign_not_plannable",
            f"专项的指标 {figure} 不支持建设规划",
            f"campaigns with figure {figure!r} have no construction plans",
            "campaign",
        ) from None


def allowed_targets(campaign: CampaignInfo) -> tuple[str, ...]:
    return TARGETS_BY_LEVEL[campaign.level]


# --------------------------------------------------------------------------- checks


def _item_problem(
    code: str, zh: str, en: str, index: int, field: str, division_code: str | None
) -> Problem:
    return Problem(
        code=code,
        zh=zh,
        en=en,
        field=f"items[{index}].{field}",
        index=index,
        division_code=division_code,
    )


def check_items(
    county_code: str,
    campaign: CampaignInfo,
    items: Sequence[ItemIn],
    divisions: Mapping[str, DivisionInfo],
) -> list[Problem]:
    """Row errors of a plan's items.

    Args:
        county_code: the plan's county (12 digits).
        campaign: the plan's campaign.
        items: the items, in submitted order.
        divisions: every division the items might name, by code (at least the county's).

    Returns:
        Errors, in item order: ``division_outside_county``, ``unknown_division``,
        ``wrong_level``, ``division_not_existing`` (not existing on the target date),
        ``duplicate_division``, ``target_not_allowed``, ``target_date_outside_campaign``,
        ``invalid_budget``.
    """
    problems: list[Problem] = []
    if len(items) > MAX_ITEMS:
        problems.append(
            Problem(
                "too_many_items",
                f"规划条目不能超过 {MAX_ITEMS} 条",
                f"a plan has at most {MAX_ITEMS} items",
                "items",
            )
        )
        return problems
    level = campaign.level
    targets = allowed_targets(campaign)
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        code = item.division_code

        def add(code_: str, zh: str, en: str, field: str, _i: int = index, _c: str = code) -> None:
            problems.append(_item_problem(code_, zh, en, _i, field, _c))

        division = divisions.get(code)
        if code[:6] != county_code[:6]:
            add(
                "division_outside_county",
                f"区划 {code} 不属于本县(市、区)",
                f"division {code} is not in county {county_code}",
                "division_code",
            )
        elif division is None:
            add(
                "unknown_division",
                f"区划 {code} 不存在",
                f"division {code} does not exist",
                "division_code",
            )
        elif division.level != level or division.kind == STATISTICAL_TOWNSHIP:
            add(
                "wrong_level",
                f"{division.name}（{division.kind}）不是{LEVEL_LABELS_ZH[level]}，"
                f"不能列入{campaign.name}",
                f"{code} is a {division.level}; the campaign {campaign.code} lists {level}-level "
                "divisions",
                "division_code",
            )
        elif not exists_on(division.established_on, division.abolished_on, item.target_date):
            add(
                "division_not_existing",
                f"{division.name}在目标日期 {item.target_date} 不存在（已撤销或尚未设立）",
                f"{code} does not exist on the target date {item.target_date}",
                "division_code",
            )
        if code in seen:
            add(
                "duplicate_division",
                f"区划 {code} 重复（与第 {seen[code] + 1} 条重复）",
                f"division {code} is listed twice (also item {seen[code]})",
                "division_code",
            )
        else:
            seen[code] = index
        if item.target not in targets:
            labels = "或".join(f"“{TARGET_LABELS_ZH[t]}”" for t in targets)
            given = TARGET_LABELS_ZH.get(item.target, item.target)
            add(
                "target_not_allowed",
                f"{campaign.name}的建设目标应为{labels}，不能为“{given}”",
                f"target must be one of {', '.join(targets)} for {campaign.code}, "
                f"got {item.target!r}",
                "target",
            )
        if not campaign.start_on <= item.target_date <= campaign.deadline:
            add(
                "target_date_outside_campaign",
                f"目标日期 {item.target_date} 不在专项期限 {campaign.start_on} 至 "
                f"{campaign.deadline} 之内",
                f"target date {item.target_date} is outside the campaign "
                f"({campaign.start_on} to {campaign.deadline})",
                "target_date",
            )
        if item.budget_yuan is not None and not 0 <= item.budget_yuan <= MAX_BUDGET_YUAN:
            add(
                "invalid_budget",
                f"预算应在 0 到 {MAX_BUDGET_YUAN} 元之间",
                f"budget_yuan must be between 0 and {MAX_BUDGET_YUAN}",
                "budget_yuan",
            )
    return problems


def expected_divisions(
    county_code: str, campaign: CampaignInfo, divisions: Iterable[DivisionInfo], today: date
) -> list[DivisionInfo]:
    """Divisions a complete plan covers: the county's, of the campaign's level, existing today."""
    level = campaign.level
    return sorted(
        (
            d
            for d in divisions
            if d.county_code == county_code
            and d.level == level
            and d.kind != STATISTICAL_TOWNSHIP  # a farm or a development zone has no centre
            and exists_on(d.established_on, d.abolished_on, today)
        ),
        key=lambda d: d.code,
    )


def check_explanations(
    county_code: str,
    campaign: CampaignInfo,
    explained: Mapping[str, str],
    items: Sequence[ItemIn],
    divisions: Mapping[str, DivisionInfo],
) -> list[Problem]:
    """Errors in ``missing_explained``: codes outside the county, of another level, unknown,
    or of a division that has an item (an explanation is for a division left out)."""
    problems = []
    planned = {i.division_code for i in items}
    for code in explained:
        field = f"missing_explained.{code}"
        division = divisions.get(code)
        if code[:6] != county_code[:6]:
            problems.append(
                Problem(
                    "division_outside_county",
                    f"区划 {code} 不属于本县(市、区)",
                    f"division {code} is not in county {county_code}",
                    field,
                    division_code=code,
                )
            )
        elif division is None:
            problems.append(
                Problem(
                    "unknown_division",
                    f"区划 {code} 不存在",
                    f"division {code} does not exist",
                    field,
                    division_code=code,
                )
            )
        elif division.level != campaign.level:
            problems.append(
                Problem(
                    "wrong_level",
                    f"{division.name}不是{LEVEL_LABELS_ZH[campaign.level]}",
                    f"{code} is a {division.level}, not a {campaign.level}",
                    field,
                    division_code=code,
                )
            )
        elif code in planned:
            problems.append(
                Problem(
                    "explained_division_has_item",
                    f"{division.name}已列入规划，无需说明未列入原因",
                    f"{code} has an item; an explanation is only for a division left out",
                    field,
                    division_code=code,
                )
            )
    return problems


def place_name(division: DivisionInfo, divisions: Mapping[str, DivisionInfo] | None) -> str:
    """A division's name as a clerk tells it apart: a village with its township before it
    (a county may have several villages of one name)."""
    township = (divisions or {}).get(division.township_code or "")
    if township is not None and township.code != division.code:
        return f"{township.name}{division.name}"
    return division.name


def missing_warnings(
    expected: Sequence[DivisionInfo],
    items: Sequence[ItemIn],
    explained: Mapping[str, str],
    divisions: Mapping[str, DivisionInfo] | None = None,
) -> list[Problem]:
    """Completeness: a warning for each expected division with no item and no explanation."""
    planned = {i.division_code for i in items}
    return [
        Problem(
            "division_missing",
            f"{place_name(d, divisions)}未列入规划，也未说明原因",
            f"{d.name} ({d.code}) has no target and no explanation in missing_explained",
            f"missing_explained.{d.code}",
            severity="warning",
            division_code=d.code,
        )
        for d in expected
        if d.code not in planned and d.code not in explained
    ]


def check_plan(
    county_code: str,
    campaign: CampaignInfo,
    items: Sequence[ItemIn],
    explained: Mapping[str, str],
    divisions: Mapping[str, DivisionInfo],
    today: date,
) -> CheckReport:
    """Everything checked on submission: row errors, explanation errors, completeness."""
    errors = check_items(county_code, campaign, items, divisions)
    errors += check_explanations(county_code, campaign, explained, items, divisions)
    expected = expected_divisions(county_code, campaign, divisions.values(), today)
    return CheckReport(
        errors=errors, warnings=missing_warnings(expected, items, explained, divisions)
    )


# --------------------------------------------------------------------------- workflow


def _refuse(code: str, zh: str, en: str, **extra: Any) -> WorkflowError:
    return WorkflowError(code, zh, en, "state", **extra)


def edit_mode(state: str) -> str:
    """How an edit applies to a version in ``state``: ``in_place`` or ``new_version``.

    Raises:
        WorkflowError: ``plan_not_editable`` for a submitted (must be returned first) or a
            superseded version.
    """
    if state in EDITABLE_STATES:
        return "in_place"
    if state == "approved":
        return "new_version"
    if state == "submitted":
        raise _refuse(
            "plan_not_editable",
            "规划已报送审查，须由市政务服务中心退回后才能修改",
            "the plan is submitted for review; it must be returned before it can be edited",
            state=state,
        )
    raise _refuse(
        "plan_not_editable",
        "该版本已被新版本取代，不能修改",
        f"a {state} version cannot be edited",
        state=state,
    )


def next_state(state: str, action: str, comment: str | None = None) -> str:
    """The state after a workflow ``action`` (submit, approve, return).

    Raises:
        WorkflowError: the action is not allowed from ``state`` (``plan_not_submittable``,
            ``plan_not_submitted``).
        RuleViolation: ``comment_required`` when returning without a comment.
    """
    if action == "submit":
        if state not in EDITABLE_STATES:
            raise _refuse(
                "plan_not_submittable",
                f"只有草稿或被退回的规划可以报送（当前状态 {state}）",
                f"only a draft or returned plan can be submitted (state is {state})",
                state=state,
            )
        return "submitted"
    if action in ("approve", "return"):
        if state != "submitted":
            raise _refuse(
                "plan_not_submitted",
                f"只能审查已报送的规划（当前状态 {state}）",
                f"only a submitted plan can be approved or returned (state is {state})",
                state=state,
            )
        if action == "return" and not (comment or "").strip():
            raise RuleViolation(
                "comment_required",
                "退回规划须填写意见",
                "returning a plan needs a comment",
                "comment",
            )
        return "approved" if action == "approve" else "returned"
    raise ValueError(f"unknown action {action!r}")


def plan_in_force(versions: Iterable[VersionRef]) -> VersionRef | None:
    """The approved version with the highest version number (None when none is approved)."""
    approved = [v for v in versions if v.state == "approved"]
    return max(approved, key=lambda v: v.version) if approved else None


def overview_state(latest_state: str | None) -> str:
    """What the municipal overview shows for a county: the state of its newest version."""
    if latest_state is None:
        return NO_PLAN
    return latest_state


def review_due_on(submitted_on: date) -> date:
    return submitted_on + timedelta(days=REVIEW_DAYS)


def review_overdue(state: str, submitted_on: date | None, today: date) -> bool:
    """A submitted plan not decided within REVIEW_DAYS days of its submission."""
    return state == "submitted" and submitted_on is not None and today > review_due_on(submitted_on)


# --------------------------------------------------------------------------- targets


def cumulative_target_share(
    target_dates: Sequence[date], days: Sequence[date]
) -> list[float] | None:
    """Share of items whose target date is on or before each day.

    ``share(D) = #items with target_date ≤ D / #items``; None for a plan without items (the
    ratio is undefined). This is the county's target line in the coverage figures.
    """
    if not target_dates:
        return None
    ordered = sorted(target_dates)
    total = len(ordered)
    return [bisect.bisect_right(ordered, day) / total for day in days]


def satisfies(target: str, status: str | None) -> bool:
    """Whether a site status reaches a plan target."""
    return status is not None and status in SATISFYING[target]


def item_result(target: str, target_date: date, reached_on_deadline: bool, as_of: date) -> str:
    """``met``, ``late`` or ``pending`` for one item.

    Args:
        target: the item's target.
        target_date: the item's target date.
        reached_on_deadline: whether the division's status on ``min(target_date, as_of)``
            reaches the target.
        as_of: the day progress is measured on.

    ``met``: the target is reached on the target date (or already, before it). ``late``: the
    target date has passed (before ``as_of``) without the target reached on it. ``pending``:
    not reached yet and the target date is ``as_of`` or later.
    """
    if reached_on_deadline:
        return "met"
    return "late" if target_date < as_of else "pending"


class Quarter(msgspec.Struct, frozen=True):
    label: str
    start: date
    end: date


def quarters(start: date, end: date) -> list[Quarter]:
    """Calendar quarters from the one containing ``start`` to the one containing ``end``."""
    result = []
    year, q = start.year, (start.month - 1) // 3
    while (year, q) <= (end.year, (end.month - 1) // 3):
        first = date(year, 3 * q + 1, 1)
        last = (date(year + 1, 1, 1) if q == 3 else date(year, 3 * q + 4, 1)) - timedelta(days=1)
        result.append(Quarter(label=f"{year}Q{q + 1}", start=first, end=last))
        year, q = (year + 1, 0) if q == 3 else (year, q + 1)
    return result
