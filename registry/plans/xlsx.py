"""Plan spreadsheets: the county template / version export, and the reading of an upload.

No database access here: the plan service gives the divisions and checks the parsed items.

Layout (the same for template, export and upload, so an export can be edited and uploaded):

- sheet ``规划``: one header row, then one row per division of the campaign's level — 区划代码 ·
  所属乡镇(街道) · 区划名称 · 建设目标 · 目标日期 · 预算(元) · 资金来源 · 备注/未列入原因.
  Codes are text cells; target and date cells carry data validation (a list; dates within the
  campaign). A row with a target and a date is an item. A row with neither but with a note is a
  division deliberately left out, the note being the reason (``missing_explained``). A row with
  only the pre-filled code and names is a division not yet planned.
- sheet ``说明``: key/value rows (county code, campaign code, plan title …, machine keys in the
  hidden column C) and instructions.

Refused uploads: not an xlsx (``not_xlsx``), a zip whose content inflates beyond limits
(``xlsx_too_large``), more than MAX_ROWS data rows (``too_many_rows``); cell-level problems
(merged cells, formulas, text or numbers in date cells, missing columns …) are collected as
``{row, column, message}`` errors and the whole file is refused.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from registry.core.codes import normalise_code
from registry.core.errors import InvalidInput, RuleViolation, TooLarge
from registry.core.text import clean_text, compact
from registry.plans.rules import (
    FUNDING_MAX,
    LEVEL_LABELS_ZH,
    NOTE_MAX,
    TARGET_LABELS_ZH,
    TARGETS_BY_LEVEL,
    TITLE_MAX,
    ItemIn,
)

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD_BYTES = 5_000_000
MAX_UNCOMPRESSED_BYTES = 60_000_000
MAX_ZIP_ENTRIES = 500
MAX_ROWS = 10_000
# Rows (even empty, formatted ones) and header columns read at most.
MAX_PHYSICAL_ROWS = 100_000
MAX_COLUMNS = 50
PLAN_SHEET = "规划"
INFO_SHEET = "说明"
# Rows below the pre-filled ones that still carry the validation (room for additions).
SPARE_ROWS = 50
EXCEL_EPOCH = date(1899, 12, 30)


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    width: int
    required: bool = False


COLUMNS = (
    Column("division_code", "区划代码", 16, required=True),
    Column("township_name", "所属乡镇(街道)", 16),
    Column("division_name", "区划名称", 16),
    Column("target", "建设目标", 12, required=True),
    Column("target_date", "目标日期", 13, required=True),
    Column("budget_yuan", "预算(元)", 13),
    Column("funding_source", "资金来源", 18),
    Column("note", "备注/未列入原因", 36),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
# A header is recognised by its Chinese text (white space ignored) or its machine key.
_HEADER_KEYS = {compact(c.header): c.key for c in COLUMNS} | {c.key: c.key for c in COLUMNS}
_TARGET_WORDS = {
    "已建成": "built",
    "建成": "built",
    "已运行": "in_service",
    "运行": "in_service",
    "投入运行": "in_service",
    "已达标": "standardized",
    "达标": "standardized",
    "标准化": "standardized",
    "标准化达标": "standardized",
} | {t: t for t in TARGET_LABELS_ZH}

INFO_KEYS = (
    ("county_code", "县(市、区)代码"),
    ("county_name", "县(市、区)"),
    ("campaign", "专项代码"),
    ("campaign_name", "专项名称"),
    ("title", "规划名称"),
    ("version", "版本"),
    ("state", "状态"),
)
_INFO_LABELS = {label: key for key, label in INFO_KEYS}


class XlsxRejected(InvalidInput):
    """The upload as a whole is refused (not an xlsx, unreadable); too large: :class:`TooLarge`."""


@dataclass(frozen=True)
class CellError:
    row: int | None
    column: str | None
    code: str
    zh: str
    en: str
    sheet: str = PLAN_SHEET
    division_code: str | None = None

    @property
    def message(self) -> str:
        return f"{self.zh} / {self.en}"

    @property
    def field(self) -> str:
        where = self.sheet
        if self.row is not None:
            where += f" 第{self.row}行"
        if self.column:
            where += f" {self.column}"
        return where


@dataclass
class SheetMeta:
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


@dataclass(frozen=True)
class SheetRow:
    division_code: str
    township_name: str
    division_name: str
    target: str | None = None
    target_date: date | None = None
    budget_yuan: int | None = None
    funding_source: str | None = None
    note: str | None = None


@dataclass
class ParsedPlan:
    county_code: str | None = None
    campaign: str | None = None
    title: str | None = None
    items: list[ItemIn] = field(default_factory=list)
    item_rows: list[int] = field(default_factory=list)
    explained: dict[str, str] = field(default_factory=dict)
    explained_rows: dict[str, int] = field(default_factory=dict)
    info_rows: dict[str, int] = field(default_factory=dict)
    errors: list[CellError] = field(default_factory=list)


# --------------------------------------------------------------------------- writing


def _excel_serial(day: date) -> int:
    return (day - EXCEL_EPOCH).days


def _text(cell: Any, value: str | None) -> None:
    """Write user text as a string cell, never as a formula (``=…`` stays text)."""
    cell.value = value
    if value is not None:
        cell.data_type = "s"


def build_workbook(meta: SheetMeta, rows: list[SheetRow]) -> bytes:
    """The template (rows without targets) or the export of a version (rows filled)."""
    wb = Workbook()
    ws = wb.active
    ws.title = PLAN_SHEET
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for col, column in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=col, value=column.header)
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center")
        ws.column_dimensions[get_column_letter(col)].width = column.width
    ws.freeze_panes = "A2"
    index = {c.key: i for i, c in enumerate(COLUMNS, start=1)}
    for r, row in enumerate(rows, start=2):
        code_cell = ws.cell(row=r, column=index["division_code"])
        _text(code_cell, row.division_code)
        code_cell.number_format = "@"
        _text(ws.cell(row=r, column=index["township_name"]), row.township_name)
        _text(ws.cell(row=r, column=index["division_name"]), row.division_name)
        _text(
            ws.cell(row=r, column=index["target"]),
            TARGET_LABELS_ZH[row.target] if row.target else None,
        )
        date_cell = ws.cell(row=r, column=index["target_date"])
        date_cell.value = row.target_date
        date_cell.number_format = "yyyy-mm-dd"
        budget_cell = ws.cell(row=r, column=index["budget_yuan"], value=row.budget_yuan)
        budget_cell.number_format = "0"
        _text(ws.cell(row=r, column=index["funding_source"]), row.funding_source)
        _text(ws.cell(row=r, column=index["note"]), row.note)
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
        info.cell(row=r, column=1, value=label).font = header_font
        _text(info.cell(row=r, column=2), values[key])
        info.cell(row=r, column=3, value=key)
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
        "5. 填好后上传（POST /api/plans/import），或在命令行执行 registry import plan 文件名。",
    )
    start = len(INFO_KEYS) + 2
    for offset, line in enumerate(instructions):
        info.cell(row=start + offset, column=1, value=line)
    info.cell(row=start, column=1).font = header_font
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- reading


def _check_container(data: bytes) -> None:
    """Refuse what is not an xlsx, and zips that would inflate beyond the limits."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge(
            "xlsx_too_large",
            f"文件超过 {MAX_UPLOAD_BYTES // 1_000_000} MB",
            f"the file is larger than {MAX_UPLOAD_BYTES} bytes",
        )
    not_xlsx = XlsxRejected(
        "not_xlsx",
        "文件不是 Excel 工作簿（.xlsx）；WPS/Excel 中请另存为 .xlsx",
        "the file is not an xlsx workbook; save it as .xlsx",
    )
    if not data.startswith(b"PK\x03\x04"):
        raise not_xlsx
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise not_xlsx from None
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise not_xlsx
    inflated = sum(i.file_size for i in infos)
    if len(infos) > MAX_ZIP_ENTRIES or inflated > MAX_UNCOMPRESSED_BYTES:
        raise TooLarge(
            "xlsx_too_large",
            "文件解压后过大（疑似压缩炸弹），已拒绝",
            f"the workbook inflates to {inflated} bytes in {len(infos)} parts; refused",
        )


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Za-z]+[0-9]+(?::[A-Za-z]+[0-9]+)?)"')


def _merged_ranges(ws: Any) -> list[str]:
    """Merged ranges of a read-only sheet, found by streaming its XML (read-only sheets do not
    parse <mergeCells>, and a full load of a hostile file could use a lot of memory)."""
    found: list[str] = []
    tail = b""
    with ws.parent._archive.open(ws._worksheet_path) as src:
        while chunk := src.read(1 << 20):
            # A tag cut at a chunk's end does not match (no closing quote); the carried tail
            # lets it match whole in the next round. Duplicates are removed below.
            buffer = tail + chunk
            found.extend(m.group(1).decode("ascii") for m in _MERGE.finditer(buffer))
            tail = buffer[-256:]
    return list(dict.fromkeys(found))


def _open(data: bytes) -> Any:
    _check_container(data)
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds on a corrupt file
        raise XlsxRejected(
            "not_xlsx",
            "无法读取该 Excel 文件（文件已损坏或格式不受支持）",
            f"the workbook cannot be read ({type(exc).__name__})",
        ) from None


def _is_formula(cell: Any) -> bool:
    return cell.data_type == "f" or isinstance(cell.value, ArrayFormula | DataTableFormula)


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def parse_workbook(data: bytes) -> ParsedPlan:
    """Read an uploaded plan workbook (streamed, read-only: memory stays bounded).

    Raises:
        XlsxRejected: the file as a whole is refused.

    Returns:
        The parsed plan; ``errors`` lists every cell-level problem (the upload is refused when
        it is not empty). Items are not yet checked against the divisions.
    """
    wb = _open(data)
    try:
        parsed = ParsedPlan()
        if PLAN_SHEET not in wb.sheetnames:
            parsed.errors.append(
                CellError(
                    None,
                    None,
                    "missing_sheet",
                    f"缺少工作表“{PLAN_SHEET}”",
                    f"the sheet {PLAN_SHEET!r} is missing",
                )
            )
            return parsed
        _read_info(wb, parsed)
        _read_plan(wb[PLAN_SHEET], parsed)
        return parsed
    except (XlsxRejected, TooLarge):
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise XlsxRejected(
            "not_xlsx",
            "无法读取该 Excel 文件（文件已损坏或格式不受支持）",
            f"the workbook cannot be read ({type(exc).__name__})",
        ) from None
    finally:
        wb.close()


def _read_info(wb: Any, parsed: ParsedPlan) -> None:
    if INFO_SHEET not in wb.sheetnames:
        parsed.errors.append(
            CellError(
                None,
                None,
                "missing_sheet",
                f"缺少工作表“{INFO_SHEET}”（县代码、专项和规划名称）",
                f"the sheet {INFO_SHEET!r} (county, campaign, title) is missing",
                sheet=INFO_SHEET,
            )
        )
        return
    ws = wb[INFO_SHEET]
    keys = dict(INFO_KEYS)
    found: dict[str, tuple[int, Any]] = {}
    for row, (label, value, key) in enumerate(
        ws.iter_rows(min_row=1, max_row=40, max_col=3), start=1
    ):
        name = key.value if key.value in keys else None
        if name is None and isinstance(label.value, str):
            name = _INFO_LABELS.get(compact(label.value))
        if name is None or name in found:
            continue
        if _is_formula(value):
            parsed.errors.append(
                CellError(
                    row,
                    "B",
                    "formula_not_allowed",
                    f"说明!B{row} 不能使用公式，请填写数值",
                    f"B{row} holds a formula; enter the value",
                    sheet=INFO_SHEET,
                )
            )
            found[name] = (row, None)
            continue
        found[name] = (row, value.value)
    for name in ("county_code", "campaign", "title"):
        row, raw = found.get(name, (None, None))
        label = keys[name]
        if row is not None:
            parsed.info_rows[name] = row
        if _blank(raw):
            if not any(e.sheet == INFO_SHEET and e.row == row for e in parsed.errors):
                parsed.errors.append(
                    CellError(
                        row,
                        "B",
                        "required",
                        f"“{label}”不能为空",
                        f"{name} is required",
                        sheet=INFO_SHEET,
                    )
                )
            continue
        text = _cell_text(raw)
        try:
            if name == "county_code":
                parsed.county_code = normalise_code(text, field="county_code")
            elif name == "campaign":
                parsed.campaign = clean_text(text, "campaign", max_length=40)
            else:
                parsed.title = clean_text(text, "title", max_length=TITLE_MAX)
        except RuleViolation as exc:
            parsed.errors.append(CellError(row, "B", exc.code, exc.zh, exc.en, sheet=INFO_SHEET))


def _read_plan(ws: Any, parsed: ParsedPlan) -> None:
    for ref in _merged_ranges(ws):
        first = ref.split(":")[0]
        letters = first.rstrip("0123456789")
        parsed.errors.append(
            CellError(
                int(first[len(letters) :]),
                letters.upper(),
                "merged_cells",
                f"不能合并单元格（{ref}）",
                f"merged cells are not allowed ({ref})",
            )
        )
    header = next(ws.iter_rows(min_row=1, max_row=1, max_col=MAX_COLUMNS, values_only=True), ())
    columns: dict[str, int] = {}
    for col, value in enumerate(header, start=1):
        if not isinstance(value, str):
            continue
        key = _HEADER_KEYS.get(compact(value))
        if key is None:
            continue
        if key in columns:
            parsed.errors.append(
                CellError(
                    1,
                    get_column_letter(col),
                    "duplicate_column",
                    f"列“{value}”重复",
                    f"the column {COLUMN_BY_KEY[key].header!r} appears twice",
                )
            )
            continue
        columns[key] = col
    missing = [c for c in COLUMNS if c.required and c.key not in columns]
    for column in missing:
        parsed.errors.append(
            CellError(
                1,
                column.header,
                "missing_column",
                f"缺少列“{column.header}”",
                f"the column {column.header!r} ({column.key}) is missing",
            )
        )
    if missing:
        return
    letters = {key: get_column_letter(col) for key, col in columns.items()}
    width = max(columns.values())
    data_rows = 0
    for row, cells in enumerate(ws.iter_rows(min_row=2, max_col=width), start=2):
        if row > MAX_PHYSICAL_ROWS or (
            any(not _blank(c.value) for c in cells) and (data_rows := data_rows + 1) > MAX_ROWS
        ):
            raise XlsxRejected(
                "too_many_rows",
                f"数据行超过 {MAX_ROWS} 行",
                f"the sheet has more than {MAX_ROWS} data rows",
            )
        _read_row(row, {key: cells[col - 1] for key, col in columns.items()}, letters, parsed)


def _read_row(row: int, cells: dict[str, Any], letters: dict[str, str], parsed: ParsedPlan) -> None:
    errors: list[CellError] = []

    def error(key: str, code: str, zh: str, en: str) -> None:
        errors.append(CellError(row, COLUMN_BY_KEY[key].header, code, zh, en))

    values: dict[str, Any] = {}
    for key, cell in cells.items():
        if _is_formula(cell):
            error(
                key,
                "formula_not_allowed",
                f"{letters[key]}{row} 不能使用公式，请填写数值",
                f"{letters[key]}{row} holds a formula; enter the value instead",
            )
            values[key] = None
        elif cell.data_type == "e":
            error(key, "cell_error", "单元格为错误值", f"the cell holds the error {cell.value}")
            values[key] = None
        else:
            values[key] = None if _blank(cell.value) else cell.value
    content = ("target", "target_date", "budget_yuan", "funding_source", "note")
    if all(values.get(k) is None for k in content) and not errors:
        return  # a pre-filled division not planned, or an empty row

    code = None
    raw_code = values.get("division_code")
    if raw_code is None:
        if not errors:
            error("division_code", "required", "区划代码不能为空", "division_code is required")
    else:
        try:
            code = normalise_code(_cell_text(raw_code), field="division_code")
        except RuleViolation as exc:
            error("division_code", exc.code, exc.zh, exc.en)

    target = None
    raw_target = values.get("target")
    if raw_target is not None:
        text = compact(str(raw_target))
        target = _TARGET_WORDS.get(text, text)

    target_date = None
    raw_date = values.get("target_date")
    if raw_date is not None:
        if isinstance(raw_date, datetime):
            target_date = raw_date.date()
        elif isinstance(raw_date, date):
            target_date = raw_date
        elif isinstance(raw_date, str):
            error(
                "target_date",
                "date_is_text",
                f"目标日期“{raw_date[:20]}”是文字，请填写日期格式的单元格",
                f"the target date {raw_date[:20]!r} is text; enter a date cell",
            )
        else:
            error(
                "target_date",
                "date_not_a_date",
                "目标日期是数字而不是日期，请将单元格设为日期格式",
                "the target date is a number, not a date; format the cell as a date",
            )

    budget = None
    raw_budget = values.get("budget_yuan")
    if raw_budget is not None:
        if isinstance(raw_budget, bool) or not isinstance(raw_budget, int | float):
            error(
                "budget_yuan",
                "budget_not_a_number",
                "预算应为数字（元）",
                "budget_yuan must be a number of yuan",
            )
        elif isinstance(raw_budget, float) and not raw_budget.is_integer():
            error(
                "budget_yuan", "budget_not_whole", "预算应为整数（元）", "budget_yuan is whole yuan"
            )
        else:
            budget = int(raw_budget)

    texts: dict[str, str | None] = {}
    for key, limit in (("funding_source", FUNDING_MAX), ("note", NOTE_MAX)):
        try:
            texts[key] = clean_text(
                _cell_text(values.get(key)), key, max_length=limit, multiline=key == "note"
            )
        except RuleViolation as exc:
            error(key, exc.code, exc.zh, exc.en)
            texts[key] = None

    has_target = raw_target is not None or raw_date is not None
    if not has_target:
        if budget is not None or texts.get("funding_source"):
            error(
                "target",
                "target_required",
                "填写了预算或资金来源，但未填建设目标和目标日期",
                "a budget or funding source is given without a target and target date",
            )
        elif texts.get("note") and code and not errors:
            if code in parsed.explained:
                error(
                    "division_code",
                    "duplicate_division",
                    f"区划 {code} 重复",
                    f"division {code} appears twice",
                )
            else:
                parsed.explained[code] = texts["note"] or ""
                parsed.explained_rows[code] = row
    else:
        if raw_target is None:
            error("target", "required", "建设目标不能为空", "target is required")
        if raw_date is None:
            error("target_date", "required", "目标日期不能为空", "target_date is required")
        if not errors and code and target and target_date:
            parsed.items.append(
                ItemIn(
                    division_code=code,
                    target=target,
                    target_date=target_date,
                    budget_yuan=budget,
                    funding_source=texts.get("funding_source"),
                    note=texts.get("note"),
                )
            )
            parsed.item_rows.append(row)
    for e in errors:
        parsed.errors.append(CellError(e.row, e.column, e.code, e.zh, e.en, division_code=code))
