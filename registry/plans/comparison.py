"""Comparing two versions of a plan's content: item changes and the snapshot kept when a plan is
returned (to tell a resubmission that changes nothing). Pure rules: no Litestar, no SQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import msgspec

from registry.core.errors import RuleViolation
from registry.plans.rules import ItemIn, WorkflowError

ITEM_FIELDS = ("target", "target_date", "budget_yuan", "funding_source", "note")


class FieldChange(msgspec.Struct, frozen=True):
    field: str
    before: Any
    after: Any


class ItemChange(msgspec.Struct, frozen=True):
    division_code: str
    changes: list[FieldChange]


class Comparison(msgspec.Struct, frozen=True):
    added: list[str]
    removed: list[str]
    changed: list[ItemChange]
    unchanged: int


def compare_items(before: Sequence[ItemIn], after: Sequence[ItemIn]) -> Comparison:
    """Items added, removed and changed from one version to another, by division code."""
    old = {i.division_code: i for i in before}
    new = {i.division_code: i for i in after}
    changed = []
    unchanged = 0
    for code in sorted(old.keys() & new.keys()):
        diffs = [
            FieldChange(f, getattr(old[code], f), getattr(new[code], f))
            for f in ITEM_FIELDS
            if getattr(old[code], f) != getattr(new[code], f)
        ]
        if diffs:
            changed.append(ItemChange(code, diffs))
        else:
            unchanged += 1
    return Comparison(
        added=sorted(new.keys() - old.keys()),
        removed=sorted(old.keys() - new.keys()),
        changed=changed,
        unchanged=unchanged,
    )


# --------------------------------------------------------------------------- returned content


def content_snapshot(
    title: str, items: Sequence[ItemIn], explained: Mapping[str, str]
) -> dict[str, Any]:
    """A version's content as JSON-ready values (kept when the version is returned)."""
    return {
        "title": title,
        "items": [
            {
                "division_code": i.division_code,
                "target": i.target,
                "target_date": i.target_date.isoformat(),
                "budget_yuan": i.budget_yuan,
                "funding_source": i.funding_source,
                "note": i.note,
            }
            for i in sorted(items, key=lambda i: i.division_code)
        ],
        "missing_explained": dict(sorted(explained.items())),
    }


def snapshot_items(snapshot: Mapping[str, Any]) -> list[ItemIn]:
    """The items of a :func:`content_snapshot`."""
    return [
        ItemIn(
            division_code=i["division_code"],
            target=i["target"],
            target_date=date.fromisoformat(i["target_date"]),
            budget_yuan=i.get("budget_yuan"),
            funding_source=i.get("funding_source"),
            note=i.get("note"),
        )
        for i in snapshot.get("items", [])
    ]


def unchanged_since_return(
    returned: Mapping[str, Any] | None,
    title: str,
    items: Sequence[ItemIn],
    explained: Mapping[str, str],
) -> bool:
    """Whether a returned version is about to be resubmitted with the very content the
    reviewer returned (title, items and explanations all equal); False without a snapshot."""
    if not returned:
        return False
    return content_snapshot(title, items, explained) == {
        "title": returned.get("title"),
        "items": sorted(returned.get("items", []), key=lambda i: i["division_code"]),
        "missing_explained": dict(sorted((returned.get("missing_explained") or {}).items())),
    }


def unchanged_refusal() -> RuleViolation:
    """409-kind refusal: resubmitting a returned version with its returned content."""
    return WorkflowError(
        "plan_unchanged",
        "规划自退回以来没有任何修改，确认要原样重新提交吗？（如上传修改稿失败，请先改正后重新上传）",
        "the plan is unchanged since it was returned; confirm (confirm_unchanged) to resubmit "
        "it as it is",
        "confirm_unchanged",
    )
