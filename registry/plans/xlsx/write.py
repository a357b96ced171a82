"""Writing a plan workbook: the county template (rows without targets) or a version's export.

Every cell is written by the shared cell helper of :mod:`registry.formats.writers`: user text is
a text cell, never a formula, so a title or a note beginning with ``=`` comes back as the same
text; the workbook is saved deterministically (its document time is the data's date).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from registry.formats.writers import save_workbook, set_cell
from registry.plans.rules import LEVEL_LABELS_ZH, TARGET_LABELS_ZH, TARGETS_BY_LEVEL
from registry.plans.xlsx import COLUMNS, INFO_KEYS, INFO_SHEET, PLAN_SHEET

# Rows below the pre-filled ones that still carry the validation (room for additions).
SPARE_ROWS = 50
EXCEL_EPOCH = date(1899, 12, 30)


@dataclass
class SheetMeta:
    """The sheet 说明's values and what the validations need (level, campaign dates)."""

    county_code: str
    county_name: str
    campaign: str
    campaign_name: str
    level: str
    start_on: date
    deadline: date
    title: str
    version: int | None = None
    state: str | None = None
    # The data's date: the workbook's created/modified time (same content, same bytes).
    as_of: date | datetime | None = None


@dataclass(frozen=True)
class SheetRow:
    """One row of the sheet 规划: a division, with its item or its reason if any."""

    division_code: str
    township_name: str
    division_name: str
    target: str | None = None
    target_date: date | None = None
    budget_yuan: int | None = None
    funding_source: str | None = None
    note: str | None = None


def _excel_serial(day: date) -> int:
    return (day - EXCEL_EPOCH).days


def build_workbook(meta: SheetMeta, rows: list[SheetRow]) -> bytes:
    """The template (rows without targets) or the export of a version (rows filled)."""
    wb = Workbook()
    ws = wb.active
    ws.title = PLAN_SHEET
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for col, column in enumerate(COLUMNS, start=1):
        cell = set_cell(ws.cell(row=1, column=col), column.header)
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center")
        ws.column_dimensions[get_column_letter(col)].width = column.width
    ws.freeze_panes = "A2"
    index = {c.key: i for i, c in enumerate(COLUMNS, start=1)}
    for r, row in enumerate(rows, start=2):
        code_cell = set_cell(ws.cell(row=r, column=index["division_code"]), row.division_code)
        code_cell.number_format = "@"
        set_cell(ws.cell(row=r, column=index["township_name"]), row.township_name)
        set_cell(ws.cell(row=r, column=index["division_name"]), row.division_name)
        set_cell(
            ws.cell(row=r, column=index["target"]),
            TARGET_LABELS_ZH[row.target] if row.target else None,
        )
        date_cell = set_cell(ws.cell(row=r, column=index["target_date"]), row.target_date)
        date_cell.number_format = "yyyy-mm-dd"
        budget_cell = set_cell(ws.cell(row=r, column=index["budget_yuan"]), row.budget_yuan)
        budget_cell.number_format = "0"
        set_cell(ws.cell(row=r, column=index["funding_source"]), row.funding_source)
        set_cell(ws.cell(row=r, column=index["note"]), row.note)
    last = len(rows) + 1 + SPARE_ROWS
    for r in range(len(rows) + 2, last + 1):
        ws.cell(row=r, column=index["division_code"]).number_format = "@"
        ws.cell(row=r, column=index["target_date"]).number_format = "yyyy-mm-dd"

    targets = TARGETS_BY_LEVEL[meta.level]
    labels = ",".join(TARGET_LABELS_ZH[t] for t in targets)
    target_dv = DataValidation(
        type="list",
        formula1=f'"{labels}"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="建设目标",
        error=f"请从列表中选择：{labels}",
        promptTitle="建设目标",
        prompt=f"可选：{labels}；不列入规划的请留空并在备注中说明原因",
    )
    date_dv = DataValidation(
        type="date",
        operator="between",
        formula1=str(_excel_serial(meta.start_on)),
        formula2=str(_excel_serial(meta.deadline)),
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="目标日期",
        error=f"目标日期应在 {meta.start_on} 至 {meta.deadline} 之间，且为日期格式",
        promptTitle="目标日期",
        prompt=f"日期格式，{meta.start_on} 至 {meta.deadline}",
    )
    budget_dv = DataValidation(
        type="whole",
        operator="greaterThanOrEqual",
        formula1="0",
        allow_blank=True,
        showErrorMessage=True,
        error="预算为不小于 0 的整数（元）",
    )
    for dv, key in ((target_dv, "target"), (date_dv, "target_date"), (budget_dv, "budget_yuan")):
        letter = get_column_letter(index[key])
        dv.add(f"{letter}2:{letter}{last}")
        ws.add_data_validation(dv)

    info = wb.create_sheet(INFO_SHEET)
    values = {
        "county_code": meta.county_code,
        "county_name": meta.county_name,
        "campaign": meta.campaign,
        "campaign_name": meta.campaign_name,
        "title": meta.title,
        "version": str(meta.version) if meta.version is not None else "",
        "state": meta.state or "",
    }
    for r, (key, label) in enumerate(INFO_KEYS, start=1):
        set_cell(info.cell(row=r, column=1), label).font = header_font
        set_cell(info.cell(row=r, column=2), values[key])
        set_cell(info.cell(row=r, column=3), key)
    info.column_dimensions["A"].width = 16
    info.column_dimensions["B"].width = 48
    info.column_dimensions["C"].hidden = True
    level = LEVEL_LABELS_ZH[meta.level]
    instructions = (
        "填表说明",
        f"1. 每行一个{level}；区划代码、所属乡镇和区划名称已预先填好，请勿修改代码。",
        f"2. 建设目标从下拉列表选择（{labels}），目标日期填日期（{meta.start_on} 至 "
        f"{meta.deadline}），不要填文字。",
        "3. 不列入规划的区划：建设目标和目标日期留空，在“备注/未列入原因”中写明原因。",
        "4. 不要合并单元格，不要使用公式；“规划名称”可在本页修改。",
        "5. 填好后保存，在“站点与规划”页面的“建设规划”中点“上传”，"
        "检查无误后点“提交市政务服务中心审核”。",
    )
    start = len(INFO_KEYS) + 2
    for offset, line in enumerate(instructions):
        set_cell(info.cell(row=start + offset, column=1), line)
    info.cell(row=start, column=1).font = header_font
    return save_workbook(wb, meta.as_of)
