"""The statistical register as published: NBS 统计用区划代码和城乡划分代码 (2023) in the CSV
layout of the ``china-division`` package — one file per level:

=========  ===============================================  ============
level      columns                                          code digits
=========  ===============================================  ============
province   code, name                                       2
city       code, name, provinceCode                         4
county     code, name, cityCode, provinceCode               6
township   code, name, areaCode, provinceCode, cityCode     9
village    code, name, streetCode, provinceCode, cityCode,  12
           areaCode
=========  ===============================================  ============

The level is told by the columns; a file may be gzip-compressed. Every row is checked on its
own (code digits and length, the code starting with its parent's, no code twice, a name);
a missing column refuses the whole file. Codes come out padded to the registry's 12 digits. A
row whose code stands for a unit above its level (金门县 listed as its own township and
village: 350527000, 350527000000) is a placeholder, set aside, not an error.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from dataclasses import dataclass, field

from registry.core.codes import level_of_code
from registry.formats.problems import FileProblem
from registry.formats.readers import decode_text

COLUMNS: dict[str, tuple[str, ...]] = {
    "province": ("code", "name"),
    "city": ("code", "name", "provinceCode"),
    "county": ("code", "name", "cityCode", "provinceCode"),
    "township": ("code", "name", "areaCode", "provinceCode", "cityCode"),
    "village": ("code", "name", "streetCode", "provinceCode", "cityCode", "areaCode"),
}
DIGITS = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}
PARENT = {
    "city": "provinceCode",
    "county": "cityCode",
    "township": "areaCode",
    "village": "streetCode",
}
LEVEL_LABELS_ZH = {
    "province": "省",
    "city": "市",
    "county": "县",
    "township": "乡镇",
    "village": "村",
}
MAX_GZIP_BYTES = 200 * 1024 * 1024


def pad(code: str) -> str:
    """A statistical code of any level as the registry's 12 digits."""
    return code.ljust(12, "0")


@dataclass(frozen=True)
class NbsRow:
    """One unit of the list: codes padded to 12 digits (``parent`` empty for a province)."""

    row: int
    code: str
    name: str
    parent: str
    county: str


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    code: str
    zh: str
    en: str

    @property
    def message(self) -> str:
        return f"{self.zh} / {self.en}"


@dataclass
class NbsFile:
    """A list read: its level, its rows, its row errors, and the placeholder rows left out
    (a unit the statistics list under itself: 金门县 as its own township and village)."""

    level: str
    rows: list[NbsRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    placeholders: list[NbsRow] = field(default_factory=list)


def _unzip(data: bytes) -> bytes:
    if not data.startswith(b"\x1f\x8b"):
        return data
    try:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = inflater.decompress(data, MAX_GZIP_BYTES + 1)
    except (zlib.error, gzip.BadGzipFile, EOFError) as exc:
        raise FileProblem(
            "bad_gzip", "压缩文件已损坏", f"the gzip file is damaged ({exc})"
        ) from None
    if len(out) > MAX_GZIP_BYTES or inflater.unconsumed_tail:
        raise FileProblem(
            "file_too_large",
            "解压后文件过大（疑似压缩炸弹），已拒绝",
            f"the file inflates beyond {MAX_GZIP_BYTES} bytes; refused",
        )
    return out


def level_of(columns: list[str]) -> str:
    """The list's level from its header (the most specific level whose columns are present)."""
    present = set(columns)
    if "streetCode" in present:
        return "village"
    if "areaCode" in present:
        return "township"
    if "cityCode" in present:
        return "county"
    if "provinceCode" in present:
        return "city"
    return "province"


def read(data: bytes) -> NbsFile:
    """Read one list (CSV, UTF-8 or GBK, optionally gzip) and check its rows.

    Raises:
        FileProblem: not a statistical list, or a column of its level is missing.
    """
    text, _ = decode_text(_unzip(data))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip().lstrip("\ufeff") for c in (reader.fieldnames or [])]
    if "code" not in columns or "name" not in columns:
        raise FileProblem(
            "nbs_missing_column",
            "不是统计用区划代码文件：缺少 code 或 name 列",
            "not a statistical register file: the code or name column is missing",
            columns=columns,
        )
    level = level_of(columns)
    missing = [c for c in COLUMNS[level] if c not in columns]
    if missing:
        raise FileProblem(
            "nbs_missing_column",
            f"{LEVEL_LABELS_ZH[level]}级文件缺少列：{'、'.join(missing)}",
            f"the {level} file lacks the column(s) {', '.join(missing)}",
            columns=columns,
        )
    reader.fieldnames = columns
    out = NbsFile(level)
    seen: dict[str, int] = {}
    digits = DIGITS[level]
    parent_column = PARENT.get(level)
    for number, raw in enumerate(reader, start=2):
        code = (raw.get("code") or "").strip()
        name = (raw.get("name") or "").strip()
        parent = (raw.get(parent_column) or "").strip() if parent_column else ""

        def fail(column: str, error: str, zh: str, en: str, row: int = number) -> None:
            out.errors.append(RowError(row, column, error, zh, en))

        if not (code.isascii() and code.isdigit() and len(code) == digits):
            fail(
                "code",
                "nbs_bad_code",
                f"{LEVEL_LABELS_ZH[level]}级代码应为 {digits} 位数字，实为“{code}”",
                f"a {level} code has {digits} digits, got {code!r}",
            )
            continue
        if parent_column and not code.startswith(parent):
            fail(
                parent_column,
                "nbs_code_parent_mismatch",
                f"代码 {code} 与上级代码 {parent} 不符（应以上级代码开头）",
                f"the code {code} does not start with its parent's code {parent}",
            )
            continue
        if not name:
            fail("name", "nbs_missing_name", "名称为空", "the name is empty")
            continue
        if code in seen:
            fail(
                "code",
                "nbs_duplicate_code",
                f"代码 {code} 重复（另见第 {seen[code]} 行）",
                f"the code {code} appears twice (also row {seen[code]})",
            )
            continue
        seen[code] = number
        county = pad(code[:6]) if digits >= 6 else ""
        row = NbsRow(number, pad(code), name, pad(parent) if parent else "", county)
        if level_of_code(row.code) != level:
            out.placeholders.append(row)  # 350527000000 金门县 listed as its own village
            continue
        out.rows.append(row)
    return out
