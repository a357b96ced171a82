"""Cells and columns of an import file: a cell's value as text, code, number, date or boolean,
and the file's header mapped onto the canonical columns (Chinese aliases accepted).

A cell that cannot be read raises :class:`RuleViolation` naming its column; column problems
(unknown, repeated, missing, unnamed with data) are file-level issues, and a row with more cells
than the header (or fewer, in a CSV file) is a row-level one.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from registry.core.codes import normalise_code
from registry.core.errors import RuleViolation
from registry.formats.readers import RawTable, normalise_header
from registry.transfer.imports.report import Issues

# Rows searched for data under a column without a name (a file's first rows tell).
UNNAMED_SAMPLE_ROWS = 1000
# Characters of a cell or header quoted in a message (a header may be 32,767 characters long).
SHOWN_CHARS = 30
HEADER_SHOWN_CHARS = 100


@dataclass(frozen=True)
class ColumnSpec:
    """A canonical column: its name, the headers also accepted for it, and whether a file
    must have it."""

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = False


# --------------------------------------------------------------------------- cell values


def shown_value(value: Any, limit: int = SHOWN_CHARS) -> str:
    """A cell or header as a message quotes it: at most ``limit`` characters."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def as_text(value: Any) -> str | None:
    """A cell as text; None for an empty or blank cell."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


def as_code(value: Any, column: str) -> str:
    """A required division code (full-width digits and spaces tolerated)."""
    text = as_text(value)
    if text is None:
        raise RuleViolation("required", f"{column} 不能为空", f"{column} is required", column)
    return normalise_code(unicodedata.normalize("NFKC", text).strip(), field=column)


def as_number(value: Any, column: str) -> float | None:
    """A number (thousands separators and full-width digits tolerated); None when empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise _not_number(column, value)
    if isinstance(value, int | float):
        number = _float(value)
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "")
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            raise _not_number(column, value) from None
    # NaN and infinities ("nan", "inf", 1e999, an XLSX <v>NaN</v>) are no numbers of a cell.
    if number is None or not math.isfinite(number):
        raise _not_number(column, value)
    return number


def _float(value: int | float) -> float | None:
    try:
        return float(value)
    except OverflowError:  # an integer beyond any float
        return None


def _not_number(column: str, value: Any) -> RuleViolation:
    shown = shown_value(value)
    return RuleViolation(
        "not_a_number",
        f"{column} 应为数字，收到 {shown!r}",
        f"{column} must be a number, got {shown!r}",
        column,
    )


def as_int(value: Any, column: str) -> int | None:
    """A whole number; None when empty."""
    number = as_number(value, column)
    if number is None:
        return None
    if not number.is_integer():
        raise RuleViolation(
            "not_an_integer", f"{column} 应为整数", f"{column} must be a whole number", column
        )
    return int(number)


def as_date(value: Any, column: str) -> date | None:
    """A date: a spreadsheet date, or YYYY-MM-DD written with -, /, . or 年月日."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        return None
    for sep in ("/", ".", "年"):
        text = text.replace(sep, "-")
    text = text.replace("月", "-").rstrip("日")
    try:
        parts = [int(p) for p in text.split("-")]
        if len(parts) != 3:
            raise ValueError
        return date(*parts)
    except (ValueError, TypeError, OverflowError):  # 99999999999999999999-1-1 overflows
        raise RuleViolation(
            "invalid_date",
            f"{column} 日期格式应为 YYYY-MM-DD，收到 {shown_value(value)!r}",
            f"{column} must be a date YYYY-MM-DD, got {shown_value(value)!r}",
            column,
        ) from None


def as_bool(value: Any, column: str) -> bool | None:
    """是/否, true/false, yes/no, 1/0; None when empty."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("", "none"):
        return None
    if text in ("1", "true", "yes", "y", "是"):
        return True
    if text in ("0", "false", "no", "n", "否"):
        return False
    raise RuleViolation(
        "invalid_boolean",
        f"{column} 应为 是/否（true/false）",
        f"{column} must be true or false",
        column,
    )


# --------------------------------------------------------------------------- columns


def map_columns(
    table: RawTable, specs: Sequence[ColumnSpec], derived: Sequence[str], issues: Issues
) -> dict[str, int]:
    """Header → {canonical column: position}; file-level issues for unknown, duplicate or
    missing columns. ``derived`` columns (what an export adds) are accepted and ignored."""
    lookup: dict[str, str] = {}
    for spec in specs:
        lookup[spec.name] = spec.name
        for alias in spec.aliases:
            lookup[normalise_header(alias)] = spec.name
    ignored = set(derived)
    positions: dict[str, int] = {}
    unknown = []
    for position, raw in enumerate(table.columns):
        header = normalise_header(raw)
        if not header:
            if any(
                position < len(cells) and as_text(cells[position])
                for _, cells in table.rows[:UNNAMED_SAMPLE_ROWS]
            ):
                issues.error(
                    None,
                    f"#{position + 1}",
                    "unnamed_column",
                    f"第 {position + 1} 列有数据但没有列名",
                    f"column {position + 1} has data but no header",
                )
            continue
        name = lookup.get(header)
        if name is None:
            if header not in ignored:
                unknown.append(shown_value(raw, HEADER_SHOWN_CHARS))
            continue
        if name in positions:
            raw = shown_value(raw, HEADER_SHOWN_CHARS)
            issues.error(
                None,
                raw,
                "duplicate_column",
                f"列“{raw}”重复（与第 {positions[name] + 1} 列同为 {name}）",
                f"column {raw!r} repeats {name} (column {positions[name] + 1})",
            )
            continue
        positions[name] = position
    allowed = ", ".join(s.name for s in specs)
    for raw in unknown:
        issues.error(
            None,
            raw,
            "unknown_column",
            f"未知列“{raw}”（可用列：{allowed}）",
            f"unknown column {raw!r}; the columns are: {allowed}",
        )
    for spec in specs:
        if spec.required and spec.name not in positions:
            if table.format == "geojson" and spec.name in ("lon", "lat"):
                continue  # from the Point geometry
            issues.error(
                None,
                spec.name,
                "missing_column",
                f"缺少必需的列“{spec.name}”（或 {'、'.join(spec.aliases)}）",
                f"missing required column {spec.name!r}",
            )
    return positions


def row_cells(
    table: RawTable, positions: dict[str, int], issues: Issues
) -> list[tuple[int, dict[str, Any]]]:
    """Rows as {column: raw value}; rows with more or fewer cells than the header are errors."""
    width = len(table.columns)
    out = []
    for number, cells in table.rows:
        if table.format == "csv" and len(cells) != width:
            # Trailing empty cells (a stray separator) carry nothing.
            if len(cells) < width or any(as_text(c) for c in cells[width:]):
                issues.error(
                    number,
                    None,
                    "extra_cells" if len(cells) > width else "missing_cells",
                    f"该行有 {len(cells)} 个单元格，表头有 {width} 列",
                    f"the row has {len(cells)} cells, the header {width} columns",
                )
                continue
        elif (
            table.format == "xlsx" and len(cells) > width and any(as_text(c) for c in cells[width:])
        ):
            issues.error(
                number,
                None,
                "extra_cells",
                "该行在表头范围之外还有数据",
                "the row has values beyond the header's columns",
            )
            continue
        out.append(
            (
                number,
                {name: (cells[p] if p < len(cells) else None) for name, p in positions.items()},
            )
        )
    return out
