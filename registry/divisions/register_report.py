"""What a register import says: the report's rows (a sheet or a CSV) and its lines (the
command line)."""

from __future__ import annotations

from typing import Any

from registry.divisions.rules.changes import CHANGE_LABELS_ZH
from registry.divisions.rules.reconcile import RULE_LABELS_ZH
from registry.divisions.schemas import RegisterReport

REPORT_COLUMNS = ("类别", "统计用代码", "统计用名称", "规则或变更", "区划代码", "区划名称", "说明")
_SECTION = {"township": "乡镇对照", "change": "村(社区)变更", "site": "待处理站点", "error": "错误"}


def report_rows(report: RegisterReport) -> list[tuple[Any, ...]]:
    """The report as one table (a sheet or a CSV): township reconciliation, village changes,
    open sites of abolished villages, row errors."""
    rows: list[tuple[Any, ...]] = [
        (
            _SECTION["township"],
            m.nbs_code,
            m.nbs_name,
            RULE_LABELS_ZH.get(m.rule, m.rule),
            m.division_code,
            m.division_name,
            m.note,
        )
        for m in report.townships
    ]
    rows += [
        (
            _SECTION["change"],
            c.code,
            c.name,
            CHANGE_LABELS_ZH.get(c.change, c.change),
            c.township_code,
            c.before_name or "",
            "；".join(c.predecessors),
        )
        for c in report.village_changes
    ]
    rows += [
        (_SECTION["site"], s.division_code, s.standard_name, s.status, str(s.site_id), "", "")
        for s in report.open_sites_of_abolished
    ]
    rows += [
        (_SECTION["error"], "", e.level, e.code, f"第 {e.row} 行", e.column, e.message)
        for e in report.errors
    ]
    return rows


def text_lines(report: RegisterReport, dry_run: bool, limit: int = 50) -> list[str]:
    """A summary for the command line: counts, the awkward townships, the first changes."""
    lines = ["files: " + ", ".join(f"{level} {n}" for level, n in report.files.items())]
    if report.skipped_outside_root:
        lines.append(f"outside the root {report.root[:6]}, skipped: {report.skipped_outside_root}")
    if report.reconciliation:
        lines.append(
            "townships: " + ", ".join(f"{k} {v}" for k, v in report.reconciliation.items())
        )
        lines += [
            f"  {m.rule:13} {m.nbs_code or '-':12} {m.nbs_name} → {m.division_code} "
            f"{m.division_name} {m.note}".rstrip()
            for m in report.townships
            if m.rule not in ("matched", "aliased")
        ]
    lines.append("villages: " + ", ".join(f"{k} {v}" for k, v in report.changes.items()))
    for c in report.village_changes[:limit]:
        before = f" (was {c.before_name})" if c.before_name else ""
        after = f" ← {', '.join(c.predecessors)}" if c.predecessors else ""
        lines.append(f"  {c.change:9} {c.code} {c.name}{before}{after}")
    if len(report.village_changes) > limit:
        lines.append(f"  … {len(report.village_changes) - limit} more (use --report FILE for all)")
    lines += [
        f"  open site {s.site_id} on abolished {s.division_code}: {s.standard_name}"
        for s in report.open_sites_of_abolished
    ]
    lines += [
        f"  error {e.level} row {e.row} [{e.column}] {e.code}: {e.message}"
        for e in report.errors[:limit]
    ]
    state = (
        "written"
        if report.written
        else "dry run, nothing written"
        if dry_run
        else ("nothing written")
    )
    lines.append(f"{len(report.errors)} errors — {state}")
    return lines
