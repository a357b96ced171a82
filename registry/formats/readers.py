"""Reading tables: CSV (UTF-8, UTF-8 with BOM, UTF-16, GBK/GB18030), XLSX and GeoJSON.

Readers turn a file into a header and numbered rows, or raise :class:`FileProblem` for a
file-level fault (encoding, bomb, structure, a limit of :mod:`registry.formats.problems`) and
``TooLarge`` for its size — for ANY damaged file: whatever a library raises on a truncated,
corrupt or hostile file becomes a ``FileProblem``, never an unexpected exception. Row numbers
are what a person sees: the spreadsheet row (header = 1, first data row = 2) or the GeoJSON
feature number (1-based).

The readers are synchronous and CPU-bound: the server calls them in a worker thread. So that the
event loop still gets its turn while they run (the GIL is handed over between Python steps, not
inside one long C call), a large file is never handed to one C call whole: CSV is decoded in
1 MiB pieces and read line by line, GeoJSON is split into its features first and each feature
decoded on its own (its size bounded before decoding).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from registry.core.errors import RegistryError
from registry.formats.archive import check_xlsx_archive
from registry.formats.formulas import unescape_csv
from registry.formats.problems import (
    MAX_CELL_CHARS,
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_ROWS,
    MAX_TEXT_CHARS,
    MAX_VERTICES,
    FileProblem,
    cell_too_long,
    empty_file,
    geometry_too_complex,
    malformed_xlsx,
    too_deeply_nested,
    too_large,
    too_many_cells,
    too_many_columns,
    too_many_rows,
    too_much_text,
)

FORMATS = ("csv", "xlsx", "geojson")
# Characters Excel and web forms leave in headers that nobody sees.
_INVISIBLE = ("\ufeff", "\u200b", "\u200c", "\u200d", "\u2060")
MAX_PHYSICAL_ROWS = 1_048_576
"""Lines (or sheet rows) read at most, blank ones included: an Excel sheet's height."""
DECODE_CHUNK = 1 << 20
"""Bytes decoded in one step (one short C call)."""
MAX_LINE_CHARS = MAX_COLUMNS * (MAX_CELL_CHARS + 3)
"""The longest line a row within the limits can have."""
# A feature's JSON with more commas than this holds more values than a geometry at the vertex
# limit (two per position, plus its properties): refused before it is decoded.
_MAX_FEATURE_COMMAS = 3 * MAX_VERTICES + MAX_CELLS // MAX_ROWS * 4


@dataclass
class RawTable:
    """A file read as text cells (values of XLSX cells keep their Python type)."""

    format: str
    columns: list[str]
    # Each row's cells as a tuple: a tuple of plain values is left alone by the garbage
    # collector (a file's 100,000 rows would otherwise be walked by every full collection,
    # which pauses the whole server).
    rows: list[tuple[int, Sequence[Any]]]
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
                f"不支持的文件格式：{hint[:20]}（可选 csv、xlsx、geojson）",
                f"unsupported format {hint[:20]!r}; use csv, xlsx or geojson",
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


def read_table(
    data: bytes | bytearray, name: str | None = None, hint: str | None = None
) -> RawTable:
    """Read an import file of any supported format (size already checked by the caller; an
    upload gathered in a bytearray is copied here, in the reader's thread)."""
    if len(data) > MAX_FILE_BYTES:
        raise too_large(len(data))
    data = bytes(data)
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


# --------------------------------------------------------------------------- rows and limits


def _blank(cells: Sequence[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


class _Rows:
    """The header, data rows and blank rows of one file as it is read, with the limits of
    :mod:`registry.formats.problems` applied row by row (a file is refused as soon as it
    passes one). Blank rows after the last data row cost nothing: they are kept as one run."""

    def __init__(self) -> None:
        self.header: list[Any] | None = None
        self.rows: list[tuple[int, Sequence[Any]]] = []
        self.blank: list[int] = []
        self.cells = 0
        self.chars = 0
        # The run of blank rows since the last non-blank one: (first row, count).
        self._run = (0, 0)

    def gap(self, first: int, last: int) -> None:
        """Rows ``first`` to ``last`` are blank (a sheet leaves empty rows out)."""
        if last > MAX_PHYSICAL_ROWS:
            raise too_many_rows(MAX_PHYSICAL_ROWS)
        start, count = self._run
        self._run = (start if count else first, count + last - first + 1)

    def add(self, number: int, cells: list[Any]) -> None:
        if number > MAX_PHYSICAL_ROWS:
            raise too_many_rows(MAX_PHYSICAL_ROWS)
        if _blank(cells):
            first, count = self._run
            self._run = (first if count else number, count + 1)
            return
        first, count = self._run
        if count:
            self._run = (0, 0)
            if self.header is not None:
                if len(self.rows) + len(self.blank) + count > MAX_ROWS:
                    raise too_many_rows()
                self.blank.extend(range(first, first + count))
        self.check(number, cells)
        if self.header is None:
            self.header = cells
            return
        self.rows.append((number, tuple(cells)))
        if len(self.rows) > MAX_ROWS:
            raise too_many_rows()

    def check(self, number: int, cells: list[Any]) -> None:
        """Refuse a row over the column, cell or text limits (its cells are counted)."""
        width = len(cells)
        while width and (cells[width - 1] is None or cells[width - 1] == ""):
            width -= 1
        if width > MAX_COLUMNS:
            raise too_many_columns(number, width)
        for position, value in enumerate(cells[:width], start=1):
            if value is None or value == "":
                continue
            self.cells += 1
            if isinstance(value, str):
                if len(value) > MAX_CELL_CHARS:
                    raise cell_too_long(number, position, len(value))
                self.chars += len(value)
        if self.cells > MAX_CELLS:
            raise too_many_cells(number)
        if self.chars > MAX_TEXT_CHARS:
            raise too_much_text(number)


# --------------------------------------------------------------------------- CSV


def _decode_chunks(data: bytes, start: int, codec: str, tried: str) -> list[str]:
    """``data[start:]`` decoded strictly in pieces of :data:`DECODE_CHUNK` bytes."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    view = memoryview(data)
    out = []
    offset = start
    try:
        while offset < len(data):
            out.append(decoder.decode(view[offset : offset + DECODE_CHUNK]))
            offset += DECODE_CHUNK
        out.append(decoder.decode(b"", final=True))
    except UnicodeDecodeError as exc:
        # The error's position counts from the bytes the decoder still held from the last piece.
        pending = len(decoder.getstate()[0])
        raise _bad_encoding(max(0, offset - pending + exc.start), tried) from None
    return out


def decode_chunks(data: bytes) -> tuple[list[str], str]:
    """Decode CSV bytes in pieces: a BOM decides; else strict UTF-8, else GB18030 (a superset
    of GBK, what Excel in China writes). Returns (pieces of text, encoding name)."""
    if data.startswith(codecs.BOM_UTF8):
        return _decode_chunks(data, len(codecs.BOM_UTF8), "utf-8", "UTF-8"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_chunks(data, 0, "utf-16", "UTF-16"), "utf-16"
    try:
        return _decode_chunks(data, 0, "utf-8", "UTF-8"), "utf-8"
    except FileProblem as utf8_error:
        try:
            return _decode_chunks(data, 0, "gb18030", "UTF-8 / GBK"), "gb18030"
        except FileProblem:
            raise FileProblem(
                utf8_error.code,
                utf8_error.zh.replace("UTF-8", "UTF-8 / GBK", 1),
                utf8_error.en.replace("UTF-8", "UTF-8 / GBK", 1),
                **utf8_error.extra,
            ) from None


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes (see :func:`decode_chunks`) into one string: (text, encoding name)."""
    pieces, encoding = decode_chunks(data)
    return "".join(pieces), encoding


def _bad_encoding(offset: int, tried: str) -> FileProblem:
    return FileProblem(
        "wrong_encoding",
        f"文件编码无法识别（已尝试 {tried}），第 {offset} 字节处无效："
        "请另存为 UTF-8 或 GBK 编码的 CSV",
        f"cannot decode the file (tried {tried}): invalid byte at offset {offset}; "
        "save it as CSV in UTF-8 or GBK",
        offset=offset,
    )


def _lines(pieces: list[str]) -> Iterator[str]:
    """The text's lines with their ends, as ``open(newline="")`` gives them (``\\r``, ``\\n``
    and ``\\r\\n`` end a line), one piece at a time."""
    carry = ""
    for number, piece in enumerate(pieces):
        pieces[number] = ""  # release the piece as it is read
        if "\x00" in piece:
            raise FileProblem(
                "binary_file",
                "文件含有二进制内容，不是 CSV 文本",
                "the file contains binary data; it is not CSV text",
            )
        lines = io.StringIO(carry + piece, newline="").readlines()
        # The last line may go on in the next piece (even "\r" may be half of "\r\n").
        carry = lines.pop() if lines else ""
        if len(carry) > MAX_LINE_CHARS:
            raise FileProblem(
                "malformed_csv",
                f"CSV 的一行超过 {MAX_LINE_CHARS} 个字符",
                f"a line of the CSV is longer than {MAX_LINE_CHARS} characters",
            )
        yield from lines
    if carry:
        yield carry


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(data: bytes) -> RawTable:
    pieces, encoding = decode_chunks(data)
    lines = _lines(pieces)
    first = next(lines, "")
    reader = csv.reader(itertools.chain([first], lines), delimiter=_delimiter(first))
    table = _Rows()
    try:
        for number, cells in enumerate(reader, start=1):
            # The OWASP quote our CSV writer puts before formula-like text comes off here.
            table.add(number, [unescape_csv(c) if c[:1] == "'" else c for c in cells])
    except csv.Error as exc:
        raise FileProblem(
            "malformed_csv",
            f"CSV 格式错误（第 {reader.line_num} 行）：{str(exc)[:100]}",
            f"malformed CSV at line {reader.line_num}: {str(exc)[:100]}",
        ) from None
    if table.header is None:
        raise empty_file()
    return RawTable("csv", table.header, table.rows, encoding=encoding, blank_rows=table.blank)


# --------------------------------------------------------------------------- XLSX


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    return value


def sheet_rows(sheet: Any) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """The rows of a read-only openpyxl worksheet as (row number, cells) — each cell a dict
    with ``column``, ``value`` and ``data_type`` — parsed one row at a time, only the rows the
    sheet holds (no padding to its declared dimensions, no filler rows for gaps).

    openpyxl's own ``iter_rows`` keeps the XML element of every row it has read (and pads
    each row to the sheet's declared width), and reads an inline string through objects that
    reference each other: 270,000 rows left cyclic garbage that only full collections free,
    and the garbage collector walked a growing heap again and again, pausing the whole server
    for up to 0.9 s at a time. Here each row's element is dropped as soon as openpyxl's own
    row parser has read it, and inline strings are read as plain text first.
    """
    from openpyxl.worksheet._reader import WorkSheetParser
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    row_tag = f"{{{SHEET_MAIN_NS}}}row"
    data_tag = f"{{{SHEET_MAIN_NS}}}sheetData"
    workbook = sheet.parent
    with sheet._get_source() as source:
        parser = WorkSheetParser(
            source,
            sheet._shared_strings,
            data_only=workbook.data_only,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        holder = None
        for event, element in iterparse(source, events=("start", "end")):
            if event == "start":
                if element.tag == data_tag:
                    holder = element
                continue
            if element.tag != row_tag:
                continue
            _plain_inline_strings(element, SHEET_MAIN_NS)
            number, cells = parser.parse_row(element)
            parser.row_dimensions.clear()  # row heights and styles: not needed, not kept
            element.clear()
            if holder is not None:
                holder.clear()  # the rows read so far
            yield number, cells


def _plain_inline_strings(row: Any, ns: str) -> None:
    """Rewrite the row's inline-string cells (``<c t="inlineStr"><is>…</is></c>``, what
    openpyxl itself writes) as plain string cells (``<c t="str"><v>…</v></c>``): the text of
    ``<is><t>`` followed by that of its rich-text runs ``<is><r><t>``, as openpyxl reads it."""
    inline_tag, text_tag, run_tag = f"{{{ns}}}is", f"{{{ns}}}t", f"{{{ns}}}r"
    for cell in row:
        if cell.get("t") != "inlineStr":
            continue
        inline = cell.find(inline_tag)
        if inline is None:
            continue
        parts = [t.text or "" for t in inline.findall(text_tag)]
        parts += [t.text or "" for t in inline.findall(f"{run_tag}/{text_tag}")]
        cell.remove(inline)
        cell.set("t", "str")
        value = cell.makeelement(f"{{{ns}}}v", {})
        value.text = "".join(parts)
        cell.append(value)


def read_xlsx(data: bytes) -> RawTable:
    """The first sheet's rows. Any failure of a damaged or hostile workbook (truncated XML, an
    undefined entity, a ``NaN`` number, a bad date, a member that cannot be inflated …) is a
    ``malformed_xlsx`` FileProblem; the limits are checked while reading."""
    check_xlsx_archive(data)
    import openpyxl

    table = _Rows()
    workbook = None
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        last = 0
        for number, found in sheet_rows(workbook.worksheets[0]):
            if number > last + 1:
                table.gap(last + 1, number - 1)  # rows the sheet leaves out: blank rows
            last = max(last, number)
            # Only the columns with a value count (the sheet's declared width is not trusted).
            filled = [c for c in found if c["value"] is not None]
            width = max((c["column"] for c in filled), default=0)
            if width > MAX_COLUMNS:
                raise too_many_columns(number, width)
            cells: list[Any] = [None] * width
            for cell in filled:
                cells[cell["column"] - 1] = _xlsx_cell(cell["value"])
            if table.header is None and not _blank(cells):
                cells = ["" if c is None else str(c) for c in cells]
            table.add(number, cells)
    except RegistryError:
        raise
    except Exception as exc:  # openpyxl, zipfile, zlib and the XML parser raise assorted types
        raise malformed_xlsx(exc) from None
    finally:
        if workbook is not None:
            workbook.close()
    if table.header is None:
        raise empty_file()
    return RawTable("xlsx", table.header, table.rows, blank_rows=table.blank)


# --------------------------------------------------------------------------- GeoJSON


class _Collection(msgspec.Struct):
    """A GeoJSON document split into its features, each kept as raw JSON."""

    type: Any = None
    features: list[msgspec.Raw] | None = None


def _malformed_geojson(en: str, zh: str = "GeoJSON 不是有效的 JSON") -> FileProblem:
    return FileProblem("malformed_geojson", zh, en[:300])


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8 (checked in pieces: the split into features does not
    check the text of what it skips)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    view = memoryview(data)
    try:
        for offset in range(0, len(data), DECODE_CHUNK):
            decoder.decode(view[offset : offset + DECODE_CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _as_utf8(data: bytes) -> tuple[bytes, str]:
    """A GeoJSON in another encoding as UTF-8 bytes (the raw features point into them)."""
    text, encoding = decode_text(data)
    return text.encode("utf-8", "surrogatepass"), encoding


def _split_features(data: bytes) -> tuple[list[msgspec.Raw], str]:
    """The features of a FeatureCollection, undecoded, and the file's encoding."""
    encoding = "utf-8"
    source: bytes | memoryview = data
    try:
        if data.startswith(codecs.BOM_UTF8):
            source, encoding = memoryview(data)[len(codecs.BOM_UTF8) :], "utf-8-sig"
        elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or not _is_utf8(data):
            # UTF-16, or GB18030 text (decode_text refuses what it cannot decode either).
            source, encoding = _as_utf8(data)
        doc = msgspec.json.decode(source, type=_Collection)
    except (msgspec.ValidationError, TypeError):
        raise _malformed_geojson(
            "the GeoJSON must be a FeatureCollection with a 'features' array",
            "GeoJSON 应为带 features 数组的 FeatureCollection",
        ) from None
    except FileProblem:
        raise _malformed_geojson("the GeoJSON is not valid JSON (nor UTF-8 or GBK text)") from None
    except RecursionError:
        raise too_deeply_nested(None) from None
    except Exception as exc:  # msgspec.DecodeError and whatever a hostile document causes
        raise _malformed_geojson(f"the GeoJSON is not valid JSON: {exc}") from None
    if doc.type != "FeatureCollection":
        raise _malformed_geojson(
            "the GeoJSON must be a FeatureCollection", "GeoJSON 应为 FeatureCollection"
        )
    if doc.features is None:
        raise _malformed_geojson("the FeatureCollection has no 'features'", "缺少 features 数组")
    return doc.features, encoding


def _measure(feature: Any, number: int) -> None:
    """Refuse a feature nested deeper than :data:`MAX_DEPTH` or whose geometry has more than
    :data:`MAX_VERTICES` positions (iteratively: no recursion on hostile input)."""
    stack: list[tuple[Any, int]] = [(feature, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise too_deeply_nested(number)
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, dict | list))
        else:
            stack.extend((v, depth + 1) for v in value if isinstance(v, dict | list))
    geometry = feature.get("geometry") if isinstance(feature, dict) else None
    vertices = 0
    pending = [geometry]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.append(item.get("coordinates"))
            members = item.get("geometries")
            if isinstance(members, list):
                pending.extend(members)
        elif isinstance(item, list):
            if item and not isinstance(item[0], list | dict):
                vertices += 1  # a position: [lon, lat(, height)]
            else:
                pending.extend(item)
        if vertices > MAX_VERTICES:
            raise geometry_too_complex(number, None)


def read_geojson(data: bytes) -> RawTable:
    """Features become rows: their properties are the columns, the geometry kept aside.

    The document is first split into its features (one quick scan), then each feature is
    decoded on its own — after a bound on its size, so that no feature takes long to decode —
    and measured (nesting, vertices) before anything else looks at it.
    """
    raw_features, encoding = _split_features(data)
    if len(raw_features) > MAX_ROWS:
        raise too_many_rows()
    table = _Rows()
    columns: list[str] = []
    seen: set[str] = set()
    props_list: list[dict[str, Any]] = []
    geometries: dict[int, Any] = {}
    for number, raw in enumerate(raw_features, start=1):
        raw_features[number - 1] = msgspec.Raw()  # release it as it is read
        if bytes(raw).count(b",") > _MAX_FEATURE_COMMAS:
            raise geometry_too_complex(number, None)
        try:
            feat = msgspec.json.decode(raw)
        except RecursionError:
            raise too_deeply_nested(number) from None
        except Exception as exc:
            raise _malformed_geojson(f"feature {number} is not valid JSON: {exc}") from None
        _measure(feat, number)
        props = feat.get("properties") if isinstance(feat, dict) else None
        props = props if isinstance(props, dict) else {}
        table.check(number, list(props.values()))
        props_list.append(props)
        for key in props:
            if key not in seen:
                seen.add(key)
                columns.append(key)
                if len(columns) > MAX_COLUMNS:
                    raise too_many_columns(number, len(columns))
        geometries[number] = feat if isinstance(feat, dict) else {"type": None}
    rows: list[tuple[int, Sequence[Any]]] = [
        (number, tuple(props.get(c) for c in columns))
        for number, props in enumerate(props_list, start=1)
    ]
    return RawTable("geojson", columns, rows, encoding=encoding, geometries=geometries)
