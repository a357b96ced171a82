"""Reading tables: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030), XLSX and GeoJSON.

Readers turn a file into a header and numbered rows, or raise :class:`FileProblem` for a
file-level fault (encoding, bomb, structure) and ``TooLarge`` for its size. Row numbers are what
a person sees: the spreadsheet row (header = 1, first data row = 2) or the GeoJSON feature number
(1-based).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from registry.formats.archive import check_xlsx_archive
from registry.formats.problems import (
    MAX_FILE_BYTES,
    MAX_ROWS,
    FileProblem,
    empty_file,
    too_large,
    too_many_rows,
)

FORMATS = ("csv", "xlsx", "geojson")
# Characters Excel and web forms leave in headers that nobody sees.
_INVISIBLE = ("\ufeff", "\u200b", "\u200c", "\u200d", "\u2060")


@dataclass
class RawTable:
    """A file read as text cells (values of XLSX cells keep their Python type)."""

    format: str
    columns: list[str]
    rows: list[tuple[int, list[Any]]]
    encoding: str | None = None
    blank_rows: list[int] = field(default_factory=list)
    # GeoJSON only: the geometry of each feature, by row number.
    geometries: dict[int, Any] = field(default_factory=dict)


def read_path(path: str | Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """Read a file after checking its size (a file over ``limit`` is never read)."""
    path = Path(path)
    size = path.stat().st_size
    if size > limit:
        raise too_large(size, limit)
    with path.open("rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:  # grew while reading
        raise too_large(len(data), limit)
    return data


def detect_format(data: bytes, name: str | None = None, hint: str | None = None) -> str:
    """``csv``, ``xlsx`` or ``geojson`` from an explicit hint, the file name, or the content."""
    if hint:
        hint = hint.lower().lstrip(".")
        if hint in ("json", "geo+json"):
            hint = "geojson"
        if hint not in FORMATS:
            raise FileProblem(
                "unsupported_format",
                f"不支持的文件格式：{hint}（可选 csv、xlsx、geojson）",
                f"unsupported format {hint!r}; use csv, xlsx or geojson",
            )
        return hint
    suffix = Path(name).suffix.lower().lstrip(".") if name else ""
    if suffix in ("csv", "txt", "tsv"):
        return "csv"
    if suffix in ("xlsx", "xlsm"):
        return "xlsx"
    if suffix in ("geojson", "json"):
        return "geojson"
    if suffix == "xls":
        raise FileProblem(
            "unsupported_format",
            "不支持旧版 .xls 文件：请在 Excel 中另存为 .xlsx 或 CSV",
            "old .xls files are not supported: save as .xlsx or CSV in Excel",
        )
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    head = data[:64].lstrip(codecs.BOM_UTF8).lstrip()
    if head[:1] in (b"{", b"["):
        return "geojson"
    return "csv"


def read_table(data: bytes, name: str | None = None, hint: str | None = None) -> RawTable:
    """Read an import file of any supported format (size already checked by the caller)."""
    if len(data) > MAX_FILE_BYTES:
        raise too_large(len(data))
    fmt = detect_format(data, name, hint)
    if fmt == "xlsx":
        return read_xlsx(data)
    if fmt == "geojson":
        return read_geojson(data)
    return read_csv(data)


def normalise_header(name: Any) -> str:
    """Header as compared: NFKC, no BOM or zero-width characters, trimmed, lower case."""
    text = unicodedata.normalize("NFKC", str(name or ""))
    for ch in _INVISIBLE:
        text = text.replace(ch, "")
    return text.strip().lower().replace(" ", "_")


# --------------------------------------------------------------------------- CSV


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes: a BOM decides; else strict UTF-8, else GB18030 (a superset of GBK,
    what Excel in China writes). Returns (text, encoding name)."""
    if data.startswith(codecs.BOM_UTF8):
        encoding, body = "utf-8-sig", data[len(codecs.BOM_UTF8) :]
        try:
            return body.decode("utf-8"), encoding
        except UnicodeDecodeError as exc:
            raise _bad_encoding(exc, "UTF-8") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise _bad_encoding(exc, "UTF-16") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            raise _bad_encoding(utf8_error, "UTF-8 / GBK") from None


def _bad_encoding(exc: UnicodeDecodeError, tried: str) -> FileProblem:
    return FileProblem(
        "wrong_encoding",
        f"文件编码无法识别（已尝试 {tried}），第 {exc.start} 字节处无效："
        "请另存为 UTF-8 或 GBK 编码的 CSV",
        f"cannot decode the file (tried {tried}): invalid byte at offset {exc.start}; "
        "save it as CSV in UTF-8 or GBK",
        offset=exc.start,
    )


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(data: bytes) -> RawTable:
    text, encoding = decode_text(data)
    if "\x00" in text:
        raise FileProblem(
            "binary_file",
            "文件含有二进制内容，不是 CSV 文本",
            "the file contains binary data; it is not CSV text",
        )
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    header: list[str] | None = None
    rows: list[tuple[int, list[Any]]] = []
    blank: list[int] = []
    try:
        for number, cells in enumerate(reader, start=1):
            if not any(c.strip() for c in cells):
                if header is not None:
                    blank.append(number)
                continue
            if header is None:
                header = cells
                continue
            rows.append((number, cells))
            if len(rows) > MAX_ROWS:
                raise too_many_rows()
    except csv.Error as exc:
        raise FileProblem(
            "malformed_csv",
            f"CSV 格式错误（第 {reader.line_num} 行）：{exc}",
            f"malformed CSV at line {reader.line_num}: {exc}",
        ) from None
    if header is None:
        raise empty_file()
    # Trailing blank lines are what editors leave behind: not worth a warning.
    last = rows[-1][0] if rows else 0
    blank = [n for n in blank if n < last]
    return RawTable("csv", header, rows, encoding=encoding, blank_rows=blank)


# --------------------------------------------------------------------------- XLSX


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    return value


def read_xlsx(data: bytes) -> RawTable:
    check_xlsx_archive(data)
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises assorted types for broken files
        raise FileProblem(
            "malformed_xlsx",
            f"XLSX 文件无法读取：{type(exc).__name__}",
            f"cannot read the XLSX file: {type(exc).__name__}: {str(exc)[:200]}",
        ) from None
    try:
        sheet = workbook.worksheets[0]
        header: list[str] | None = None
        rows: list[tuple[int, list[Any]]] = []
        blank: list[int] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_xlsx_cell(v) for v in values]
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                if header is not None:
                    blank.append(number)
                continue
            if header is None:
                while cells and cells[-1] is None:
                    cells.pop()
                header = ["" if c is None else str(c) for c in cells]
                continue
            rows.append((number, cells))
            if len(rows) > MAX_ROWS:
                raise too_many_rows()
    finally:
        workbook.close()
    if header is None:
        raise empty_file()
    last = rows[-1][0] if rows else 0
    return RawTable("xlsx", header, rows, blank_rows=[n for n in blank if n < last])


# --------------------------------------------------------------------------- GeoJSON


def read_geojson(data: bytes) -> RawTable:
    """Features become rows: their properties are the columns, the geometry kept aside."""
    try:
        text, encoding = decode_text(data)
        doc = json.loads(text)
    except (ValueError, FileProblem) as exc:
        raise FileProblem(
            "malformed_geojson",
            "GeoJSON 不是有效的 JSON",
            f"the GeoJSON is not valid JSON: {str(exc)[:200]}",
        ) from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise FileProblem(
            "malformed_geojson",
            "GeoJSON 应为 FeatureCollection",
            "the GeoJSON must be a FeatureCollection",
        )
    features = doc.get("features")
    if not isinstance(features, list):
        raise FileProblem(
            "malformed_geojson", "缺少 features 数组", "the FeatureCollection has no 'features'"
        )
    if len(features) > MAX_ROWS:
        raise too_many_rows()
    columns: list[str] = []
    seen: set[str] = set()
    props_list: list[dict[str, Any]] = []
    geometries: dict[int, Any] = {}
    for number, feat in enumerate(features, start=1):
        props = feat.get("properties") if isinstance(feat, dict) else None
        props = props if isinstance(props, dict) else {}
        props_list.append(props)
        for key in props:
            if key not in seen:
                seen.add(key)
                columns.append(key)
        geometries[number] = feat if isinstance(feat, dict) else {"type": None}
    rows = [
        (number, [props.get(c) for c in columns])
        for number, props in enumerate(props_list, start=1)
    ]
    return RawTable("geojson", columns, rows, encoding=encoding, geometries=geometries)
