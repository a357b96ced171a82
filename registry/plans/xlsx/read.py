"""Reading an uploaded plan workbook: streamed, read-only, memory bounded.

Refused uploads: not an xlsx (``not_xlsx``), larger than MAX_UPLOAD_BYTES or a zip whose content
inflates beyond the limits (``xlsx_too_large``; the zip-bomb guard is the shared
:func:`registry.formats.archive.check_xlsx_archive`), more than MAX_ROWS data rows
(``too_many_rows``); cell-level problems (merged cells, formulas, text or numbers in date cells,
missing columns …) are collected as ``{row, column, message}`` errors and the whole file is
refused. Whatever a damaged or hostile file makes openpyxl, the zip module or the XML parser
raise (truncated XML, an undefined entity, a ``NaN`` number, a member that cannot be inflated)
is ``not_xlsx``, never an unexpected error.

Parsing is CPU work: the server calls :func:`parse_workbook` in a worker thread.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from registry.core.codes import normalise_code
from registry.core.errors import InvalidInput, RegistryError, RuleViolation, TooLarge
from registry.core.text import clean_text, compact
from registry.formats.archive import check_xlsx_archive
from registry.formats.problems import FileProblem
from registry.plans.rules import FUNDING_MAX, NOTE_MAX, TARGET_LABELS_ZH, TITLE_MAX, ItemIn
from registry.plans.xlsx import (
    COLUMN_BY_KEY,
    COLUMNS,
    INFO_KEYS,
    INFO_SHEET,
    MAX_UPLOAD_BYTES,
    PLAN_SHEET,
)

# Stricter than the shared guard's defaults: a plan is one county's divisions.
MAX_UNCOMPRESSED_BYTES = 60_000_000
MAX_ZIP_ENTRIES = 500
MAX_ROWS = 10_000
# Rows (even empty, formatted ones) and header columns read at most.
MAX_PHYSICAL_ROWS = 100_000
MAX_COLUMNS = 50
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
_INFO_LABELS = {label: key for key, label in INFO_KEYS}


class XlsxRejected(InvalidInput):
    """The upload as a whole is refused (not an xlsx, unreadable); too large: :class:`TooLarge`."""


@dataclass(frozen=True)
class CellError:
    """A problem with one cell (or row, or sheet) of the upload."""

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
class ParsedPlan:
    """What an upload holds: items and explanations with the sheet rows they came from."""

    county_code: str | None = None
    campaign: str | None = None
    title: str | None = None
    items: list[ItemIn] = field(default_factory=list)
    item_rows: list[int] = field(default_factory=list)
    explained: dict[str, str] = field(default_factory=dict)
    explained_rows: dict[str, int] = field(default_factory=dict)
    info_rows: dict[str, int] = field(default_factory=dict)
    errors: list[CellError] = field(default_factory=list)


def _not_xlsx() -> XlsxRejected:
    return XlsxRejected(
        "not_xlsx",
        "文件不是 Excel 工作簿（.xlsx）；WPS/Excel 中请另存为 .xlsx",
        "the file is not an xlsx workbook; save it as .xlsx",
    )


def _unreadable(exc: Exception) -> XlsxRejected:
    return XlsxRejected(
        "not_xlsx",
        "无法读取该 Excel 文件（文件已损坏或格式不受支持）",
        f"the workbook cannot be read ({type(exc).__name__})",
    )


def _check_container(data: bytes) -> None:
    """Refuse what is not an xlsx, and zips that would inflate beyond the limits."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge(
            "xlsx_too_large",
            f"文件超过 {MAX_UPLOAD_BYTES // 1_000_000} MB",
            f"the file is larger than {MAX_UPLOAD_BYTES} bytes",
        )
    if not data.startswith(b"PK\x03\x04"):
        raise _not_xlsx()
    try:
        # No ratio limit: 5 MB that inflate to at most 60 MB already bound the inflation.
        check_xlsx_archive(
            data,
            max_members=MAX_ZIP_ENTRIES,
            max_uncompressed=MAX_UNCOMPRESSED_BYTES,
            max_ratio=None,
        )
    except FileProblem as exc:
        if exc.code == "xlsx_bomb":
            raise TooLarge("xlsx_too_large", exc.zh, exc.en) from None
        raise _not_xlsx() from None


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
        raise _unreadable(exc) from None


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
    except RegistryError:  # XlsxRejected, TooLarge: refused on purpose
        raise
    except Exception as exc:  # a damaged file: truncated XML, an undefined entity, NaN, zlib…
        raise _unreadable(exc) from None
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
