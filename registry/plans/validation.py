"""Cleaning and checking a JSON plan body before it is written: every problem at once.

Item problems keep the position of the item in the submitted list (``items[i]``), even when
earlier items were dropped while cleaning. Free text (title, item notes and funding sources,
the reasons of ``missing_explained``) may not carry identity or mobile numbers
(``personal_data_in_text``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from registry.core.codes import normalise_code
from registry.core.errors import InvalidInput, RuleViolation
from registry.core.text import check_no_personal_data, clean_text
from registry.plans import rules
from registry.plans import schemas as out
from registry.plans.queries import county_divisions, problem_out
from registry.plans.rules import CampaignInfo, ItemIn, Problem
from registry.plans.schemas import PlanItemIn

PERSONAL_DATA = "personal_data_in_text"


@dataclass(frozen=True)
class Content:
    """A validated plan body: what a version holds."""

    title: str
    items: list[ItemIn]
    explained: dict[str, str]


def _shift(problem: Problem, positions: Sequence[int]) -> Problem:
    """Renumber an item problem from its position among cleaned items to the submitted one."""
    if problem.index is None:
        return problem
    original = positions[problem.index]
    return msgspec.structs.replace(
        problem,
        index=original,
        field=problem.field.replace(f"items[{problem.index}]", f"items[{original}]", 1),
    )


def _clean_items(items: Sequence[PlanItemIn]) -> tuple[list[ItemIn], list[int], list[Problem]]:
    cleaned: list[ItemIn] = []
    positions: list[int] = []
    problems: list[Problem] = []
    if len(items) > rules.MAX_ITEMS:
        problems.append(
            Problem(
                "too_many_items",
                f"规划条目不能超过 {rules.MAX_ITEMS} 条",
                f"a plan has at most {rules.MAX_ITEMS} items",
                "items",
            )
        )
        return cleaned, positions, problems
    for i, item in enumerate(items):
        prefix = f"items[{i}]"
        try:
            code = normalise_code(item.division_code, field=f"{prefix}.division_code")
            target = clean_text(item.target, f"{prefix}.target", max_length=20, required=True)
            funding = check_no_personal_data(
                clean_text(
                    item.funding_source, f"{prefix}.funding_source", max_length=rules.FUNDING_MAX
                ),
                f"{prefix}.funding_source",
            )
            note = check_no_personal_data(
                clean_text(item.note, f"{prefix}.note", max_length=rules.NOTE_MAX, multiline=True),
                f"{prefix}.note",
            )
        except RuleViolation as exc:
            problems.append(
                Problem(exc.code, exc.zh, exc.en, exc.field or prefix, index=i, division_code=None)
            )
            continue
        cleaned.append(
            ItemIn(
                division_code=code,
                target=target or "",
                target_date=item.target_date,
                budget_yuan=item.budget_yuan,
                funding_source=funding,
                note=note,
            )
        )
        positions.append(i)
    return cleaned, positions, problems


def _clean_explained(raw: dict[str, str]) -> tuple[dict[str, str], list[Problem]]:
    explained: dict[str, str] = {}
    problems: list[Problem] = []
    for key, reason in raw.items():
        field = f"missing_explained.{key[:20]}"
        try:
            code = normalise_code(key, field=field)
            text = check_no_personal_data(
                clean_text(
                    reason, field, max_length=rules.REASON_MAX, multiline=True, required=True
                ),
                field,
            )
        except RuleViolation as exc:
            problems.append(Problem(exc.code, exc.zh, exc.en, exc.field or field))
            continue
        explained[code] = text or ""
    return explained, problems


def error_list(problems: Sequence[out.Problem]) -> list[dict[str, Any]]:
    """Problems as error-body entries (fields without a value left out)."""
    return [{k: v for k, v in msgspec.to_builtins(p).items() if v is not None} for p in problems]


def _invalid(problems: Sequence[Problem]) -> InvalidInput:
    """422 listing every problem: ``invalid_plan``, or ``personal_data_in_text`` when personal
    data in free text is all that is wrong."""
    if all(p.code == PERSONAL_DATA for p in problems):
        return InvalidInput(
            PERSONAL_DATA,
            f"规划有 {len(problems)} 处文字含身份证号或手机号等个人信息，未保存",
            f"{len(problems)} text(s) of the plan carry identity or mobile numbers; nothing "
            "was saved",
            errors=error_list([problem_out(p) for p in problems]),
        )
    return InvalidInput(
        "invalid_plan",
        f"规划有 {len(problems)} 处错误，未保存",
        f"the plan has {len(problems)} error(s); nothing was saved",
        errors=error_list([problem_out(p) for p in problems]),
    )


def personal_data_problems(content: Content) -> list[Problem]:
    """Free text of a version's content carrying an identity or a mobile number: the title,
    each item's note and funding source (``index``: the item's position) and each reason of
    ``missing_explained`` (``division_code``: its division), as a workbook import can locate
    them by row."""
    texts: list[tuple[str, str | None, int | None, str | None]] = [
        ("title", content.title, None, None)
    ]
    for i, item in enumerate(content.items):
        texts.append((f"items[{i}].note", item.note, i, item.division_code))
        texts.append((f"items[{i}].funding_source", item.funding_source, i, item.division_code))
    texts += [
        (f"missing_explained.{code}", reason, None, code)
        for code, reason in content.explained.items()
    ]
    problems = []
    for field, text, index, division in texts:
        try:
            check_no_personal_data(text, field)
        except RuleViolation as exc:
            problems.append(
                Problem(exc.code, exc.zh, exc.en, field, index=index, division_code=division)
            )
    return problems


def content_checked(content: Content) -> Content:
    """The last check of a version's content before it is written, whatever it came from (a
    JSON body, a workbook): no personal data in its free text (422
    ``personal_data_in_text``)."""
    problems = personal_data_problems(content)
    if problems:
        raise _invalid(problems)
    return content


async def validated(
    county_code: str,
    campaign: CampaignInfo,
    title: str | None,
    items: Sequence[PlanItemIn],
    explained_raw: dict[str, str],
) -> Content:
    """Clean and check a JSON plan body; 422 ``invalid_plan`` listing every problem."""
    problems: list[Problem] = []
    try:
        clean_title = check_no_personal_data(
            clean_text(title, "title", max_length=rules.TITLE_MAX, required=True), "title"
        )
    except RuleViolation as exc:
        problems.append(Problem(exc.code, exc.zh, exc.en, "title"))
        clean_title = None
    cleaned, positions, item_problems = _clean_items(items)
    explained, explained_problems = _clean_explained(explained_raw)
    problems += item_problems + explained_problems
    divisions = await county_divisions(county_code)
    problems += [
        _shift(p, positions) for p in rules.check_items(county_code, campaign, cleaned, divisions)
    ]
    problems += rules.check_explanations(county_code, campaign, explained, cleaned, divisions)
    if problems:
        problems.sort(key=lambda p: p.index if p.index is not None else -1)
        raise _invalid(problems)
    return Content(title=clean_title or "", items=cleaned, explained=explained)
