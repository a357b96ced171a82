"""The coverage report the municipal centre sends to the province: xlsx (two sheets) and CSV.

Sheet 1 ``各县市区``: a title with the campaign and date, one row per county with every figure,
a total row (全市合计, or 全省/全国合计 for a province or the nation). Sheet 2
``乡镇(街道)明细``: the same figures per township. Shares are numbers formatted as percentages;
a null share is left empty with the reason in ``说明``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from registry.core.access import Actor, require_role
from registry.core.errors import RuleViolation
from registry.coverage import rules as maths
from registry.coverage import service
from registry.coverage.figures import TOTAL_WORDS
from registry.coverage.schemas import Coverage, TownshipCoverage, UnitFigures
from registry.formats.writers import save_workbook, set_cell, write_csv

FORMATS = ("xlsx", "csv")
LEVELS = ("county", "township")


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else ("是" if value else "否")


def _flags(unit: UnitFigures) -> str:
    return "；".join(maths.FLAG_LABELS_ZH.get(f, f) for f in unit.flags)


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[UnitFigures], Any]
    kind: str = "int"  # int, share, text, date
    width: float = 12


FIGURE_COLUMNS: tuple[Column, ...] = (
    Column("村(社区)总数", lambda u: u.villages_total),
    Column("已建成代办点", lambda u: u.points_built),
    Column("已运行代办点", lambda u: u.points_in_service),
    Column("活跃代办点(近90天有办件)", lambda u: u.points_active, width=14),
    Column("代办点覆盖率", lambda u: u.agency_coverage, "share"),
    Column("乡镇(街道)总数", lambda u: u.townships_total),
    Column("已运行便民服务中心", lambda u: u.centres_in_service, width=14),
    Column("达标便民服务中心", lambda u: u.centres_standardized, width=14),
    Column("中心标准化率", lambda u: u.standardization, "share"),
    Column("目标进度", lambda u: u.target, "share"),
    Column("目标来源", lambda u: "已批准规划" if u.target_source == "plan" else "线性", "text"),
    Column("是否达到目标进度", lambda u: _yes_no(u.on_track), "text", 14),
    Column("是否完成", lambda u: _yes_no(u.achieved), "text", 10),
    Column("预计完成日期", lambda u: u.projected_completion, "date", 13),
    Column("说明", _flags, "text", 28),
)
COUNTY_COLUMNS: tuple[Column, ...] = (
    Column("区划代码", lambda u: u.code, "text", 15),
    Column("县市区", lambda u: u.name, "text", 18),
    *FIGURE_COLUMNS,
)
TOWNSHIP_COLUMNS: tuple[Column, ...] = (
    Column("县市区", lambda u: u.county_name or "", "text", 18),
    Column("乡镇(街道)代码", lambda u: u.code, "text", 15),
    Column("乡镇(街道)", lambda u: u.name, "text", 16),
    *FIGURE_COLUMNS,
)


def total_label(report: Coverage) -> str:
    """The total row's label: 全市合计, 全省合计 or 全国合计."""
    return TOTAL_WORDS[report.total.level] + "合计"


def title(report: Coverage) -> str:
    day = report.as_of
    return (
        f"{report.total.name}{report.campaign_info.name}进展统计表"
        f"（截至 {day.year}年{day.month}月{day.day}日）"
    )


def subtitle(report: Coverage) -> str:
    info = report.campaign_info
    return (
        f"专项行动：{info.name}（{info.start_on} 至 {info.deadline}）；考核指标："
        f"{info.figure_label}；统计日期：{report.as_of}；口径：按截至统计日期的状态变更记录统计，"
        "覆盖率=已运行代办点村数/村(社区)总数，标准化率=达标中心数/乡镇(街道)总数，"
        "目标为已批准规划的累计目标，无规划时按开始日至截止日线性推进。"
    )


# --------------------------------------------------------------------------- xlsx

_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_TOTAL_FILL = PatternFill("solid", fgColor="FFF2CC")
_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def _write_sheet(
    ws: Worksheet,
    heading: str,
    note: str,
    columns: Sequence[Column],
    rows: Sequence[UnitFigures],
    total: UnitFigures | None,
) -> None:
    width = len(columns)
    set_cell(ws.cell(1, 1), heading)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.cell(1, 1).font = Font(bold=True, size=14)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    set_cell(ws.cell(2, 1), note)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    ws.cell(2, 1).alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[2].height = 45
    for i, column in enumerate(columns, start=1):
        cell = set_cell(ws.cell(3, i), column.header)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(i)].width = column.width
    body = list(rows)
    if total is not None:
        body.append(total)
    for r, unit in enumerate(body, start=4):
        is_total = total is not None and r == 3 + len(body)
        for i, column in enumerate(columns, start=1):
            value = column.value(unit)
            if is_total and column.header in ("区划代码", "乡镇(街道)代码"):
                value = unit.code
            if is_total and column.header in ("县市区",):
                value = TOTAL_WORDS[unit.level] + "合计"
            cell = set_cell(ws.cell(r, i), value)
            cell.border = _BORDER
            if column.kind == "share":
                cell.number_format = "0.0%"
            elif column.kind == "date":
                cell.number_format = "yyyy-mm-dd"
            if is_total:
                cell.font = _BOLD
                cell.fill = _TOTAL_FILL
    ws.freeze_panes = "C4"
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def coverage_xlsx(report: Coverage, townships: TownshipCoverage) -> bytes:
    """The two-sheet workbook, written by the shared cell helper (a name is text, never a
    formula) and deterministic: its document times and zip member times are the report's
    date, so one date gives one content (ETag)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "各县市区"
    _write_sheet(ws, title(report), subtitle(report), COUNTY_COLUMNS, report.counties, report.total)
    detail = wb.create_sheet("乡镇(街道)明细")
    _write_sheet(
        detail,
        title(report).replace("进展统计表", "进展统计表·乡镇(街道)明细"),
        subtitle(report) + "乡镇(街道)的目标进度取其所在县市区的目标。",
        TOWNSHIP_COLUMNS,
        townships.items,
        None,
    )
    wb.properties.title = title(report)
    wb.properties.creator = "怀化便民服务登记系统"
    return save_workbook(wb, report.as_of)


# --------------------------------------------------------------------------- CSV


def _csv_value(column: Column, unit: UnitFigures) -> Any:
    value = column.value(unit)
    if value is not None and column.kind == "share":
        return f"{value:.6f}"
    return value


def coverage_csv(report: Coverage, townships: TownshipCoverage | None, level: str) -> bytes:
    """One row per county plus the total row (or one row per township), with the date and
    campaign on every row. UTF-8 with a BOM so that Excel reads the Chinese headers; written by
    the shared CSV writer (a name beginning like a formula is escaped)."""
    columns = COUNTY_COLUMNS if level == "county" else TOWNSHIP_COLUMNS
    header = [*(c.header for c in columns), "统计日期", "专项行动"]
    units = list(report.counties) if level == "county" else list(townships.items)  # type: ignore[union-attr]
    tail = [report.as_of, report.campaign_info.name]  # the campaign by its name, not its code
    rows = [[*(_csv_value(c, unit) for c in columns), *tail] for unit in units]
    if level == "county":
        total = [_csv_value(c, report.total) for c in columns]
        total[1] = total_label(report)
        rows.append([*total, *tail])
    return write_csv(header, rows)


# --------------------------------------------------------------------------- entry points


def _choice(value: str | None, allowed: Sequence[str], field: str, default: str) -> str:
    value = (value or "").strip() or default
    if value not in allowed:
        raise RuleViolation(
            "invalid_filter",
            f"{field} 取值无效：{value[:20]}（可选：{'、'.join(allowed)}）",
            f"invalid {field} {value[:20]!r}; one of {', '.join(allowed)}",
            field,
            allowed=list(allowed),
        )
    return value


async def coverage_report(
    actor: Actor,
    as_of: str | None,
    campaign: str | None,
    fmt: str = "xlsx",
    level: str | None = None,
) -> tuple[bytes, str]:
    """(content, filename, media type) of the coverage report; planners and municipal."""
    require_role(actor, "municipal", "county_planner")
    fmt = _choice(fmt, FORMATS, "format", "xlsx")
    level = _choice(level, LEVELS, "level", "county")
    report = await service.coverage(as_of, campaign)
    townships = await service.township_coverage(report.as_of.isoformat(), report.campaign)
    name = f"coverage-{report.campaign}-{report.as_of.isoformat()}"
    # Building the file is CPU work: in a worker thread, not on the event loop.
    if fmt == "xlsx":
        content = await anyio.to_thread.run_sync(coverage_xlsx, report, townships)
        return content, f"{name}.xlsx"
    suffix = "" if level == "county" else "-townships"
    content = await anyio.to_thread.run_sync(coverage_csv, report, townships, level)
    return content, f"{name}{suffix}.csv"
