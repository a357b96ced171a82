"""The file readers and writers on their own (no database): formula escapes round-trip, every
workbook is deterministic, the limits hold, and no damaged file — truncated at any offset,
bytes corrupted anywhere — makes a reader raise anything but a RegistryError."""

from __future__ import annotations

import contextlib
import io
import json
import random
import zipfile
from datetime import date, datetime

import anyio
import openpyxl
import pytest

from registry.core.errors import RegistryError
from registry.formats import readers
from registry.formats.formulas import FORMULA_STARTS, escape_csv, unescape_csv
from registry.formats.isolated import read_table_isolated
from registry.formats.problems import MAX_CELL_CHARS, MAX_COLUMNS, MAX_ROWS, FileProblem
from registry.formats.readers import read_table
from registry.formats.writers import write_csv, write_xlsx
from registry.plans.xlsx.read import parse_workbook
from tests.integration.corpus.files import base_plan_xlsx, rezip

ROWS = [
    ["431202102001", "大坪村", '=HYPERLINK("http://x","y")', 110.1, date(2014, 5, 1), True],
    ["431202102002", "迎丰社区", "+86 745 1234567", -3, None, False],
    ["431202102003", "'@quoted", "\t=1+2", 2.5, datetime(2015, 6, 30, 8, 0), None],
]
COLUMNS = ["code", "name", "text", "number", "day", "flag"]


# --------------------------------------------------------------------------- formulas

TEXTS = [
    "=1+2",
    "+1",
    "-1",
    "@A1",
    "\t=1",
    "\r=1",
    "'=1",
    "''+1",
    "'",
    "''",
    "'abc",
    "a=b",
    "",
    "大坪村",
    "'\t",
    "-",
    "=",
    "'''-x",
]


@pytest.mark.parametrize("text", TEXTS)
def test_the_csv_escape_is_reversible_and_never_starts_a_formula(text):
    escaped = escape_csv(text)
    assert unescape_csv(escaped) == text
    assert not escaped.startswith(FORMULA_STARTS)


def test_the_csv_escape_round_trips_random_text():
    rng = random.Random(5)
    alphabet = "'=+-@\t\rab村 "
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        assert unescape_csv(escape_csv(text)) == text


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_written_files_read_back_to_the_same_text(fmt):
    content = write_csv(COLUMNS, ROWS) if fmt == "csv" else write_xlsx(COLUMNS, ROWS, "t")
    table = read_table(content, hint=fmt)
    texts = [[c for c in cells[:3]] for _, cells in table.rows]
    assert texts == [[str(c) for c in row[:3]] for row in ROWS]


def test_xlsx_text_cells_are_never_formulas_or_error_values():
    content = write_xlsx(["a"], [["=1+2"], ["#N/A"], ["-5"], [-5], ["bell\x07"]], "t")
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and 't="e"' not in xml
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    values = [(c.value, c.data_type, bool(c.quotePrefix)) for (c,) in sheet.iter_rows(min_row=2)]
    assert values == [
        ("=1+2", "s", True),
        ("#N/A", "s", True),
        ("-5", "s", True),
        (-5, "n", False),
        ("bell\ufffd", "s", False),
    ]


# --------------------------------------------------------------------------- determinism


def test_a_workbook_is_stamped_with_its_data_date_not_the_clock():
    first = write_xlsx(COLUMNS, ROWS, "t")
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        core = archive.read("docProps/core.xml").decode()
        times = {i.date_time for i in archive.infolist()}
    # The latest date among the cells: 2015-06-30 08:00.
    assert '<dcterms:modified xsi:type="dcterms:W3CDTF">2015-06-30T08:00:00Z' in core
    assert '<dcterms:created xsi:type="dcterms:W3CDTF">2015-06-30T08:00:00Z' in core
    assert times == {(2015, 6, 30, 8, 0, 0)}
    assert write_xlsx(COLUMNS, ROWS, "t", stamp=date(2015, 6, 30)) != first
    assert write_xlsx(COLUMNS, ROWS, "t") == first


# --------------------------------------------------------------------------- limits


def test_a_row_wider_than_the_column_limit_is_refused():
    content = (",".join(f"c{n}" for n in range(MAX_COLUMNS + 1)) + "\n").encode()
    with pytest.raises(FileProblem) as refused:
        read_table(content, hint="csv")
    assert refused.value.code == "too_many_columns"


def test_a_cell_longer_than_excel_allows_is_refused():
    content = ("code,name\n1," + "x" * (MAX_CELL_CHARS + 1) + "\n").encode()
    with pytest.raises(FileProblem) as refused:
        read_table(content, hint="csv")
    assert refused.value.code == "cell_too_long"


def test_the_text_and_cell_limits(monkeypatch):
    content = ("code,name\n" + "1,abcdef\n" * 20).encode()
    monkeypatch.setattr(readers, "MAX_TEXT_CHARS", 50)
    with pytest.raises(FileProblem) as refused:
        read_table(content, hint="csv")
    assert refused.value.code == "too_much_text"
    monkeypatch.setattr(readers, "MAX_TEXT_CHARS", 10**9)
    monkeypatch.setattr(readers, "MAX_CELLS", 30)
    with pytest.raises(FileProblem) as refused:
        read_table(content, hint="csv")
    assert refused.value.code == "too_many_cells"


def _xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_workbook_claiming_the_whole_sheet_is_read_by_its_cells():
    """A sheet may declare A1:XFD1048576; its rows are not padded to 16,384 columns."""
    content = rezip(
        _xlsx([["code", "name"], *[[str(n), "村"] for n in range(50)]]),
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b'<dimension ref="A1:B51"/>', b'<dimension ref="A1:XFD1048576"/>'),
    )
    table = read_table(content, hint="xlsx")
    assert len(table.rows) == 50
    assert max(len(cells) for _, cells in table.rows) <= MAX_COLUMNS + 1


def test_a_row_number_beyond_a_sheet_is_refused_not_iterated_to():
    content = rezip(
        _xlsx([["code", "name"], ["1", "村"]]),
        "xl/worksheets/sheet1.xml",
        lambda xml: (
            xml.replace(b'<row r="2"', b'<row r="2000000"')
            .replace(b'r="A2"', b'r="A2000000"')
            .replace(b'r="B2"', b'r="B2000000"')
        ),
    )
    with pytest.raises(FileProblem) as refused:
        read_table(content, hint="xlsx")
    assert refused.value.code == "too_many_rows"


def _feature(geometry, **properties):
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def test_geojson_nesting_and_vertices_are_bounded():
    deep = {"a": []}
    inner = deep["a"]
    for _ in range(40):
        inner.append([])
        inner = inner[0]
    doc = {"type": "FeatureCollection", "features": [_feature(None, code="1", deep=deep)]}
    with pytest.raises(FileProblem) as refused:
        read_table(json.dumps(doc).encode(), hint="geojson")
    assert refused.value.code == "too_deeply_nested"
    line = {"type": "LineString", "coordinates": [[110 + n * 1e-6, 27.5] for n in range(100_001)]}
    doc = {"type": "FeatureCollection", "features": [_feature(line, code="1")]}
    with pytest.raises(FileProblem) as refused:
        read_table(json.dumps(doc).encode(), hint="geojson")
    assert refused.value.code == "geometry_too_complex"
    # A feature of a million values is refused before it is decoded.
    many = {"type": "MultiPoint", "coordinates": [[110, 27]] * 1_000_000}
    doc = {"type": "FeatureCollection", "features": [_feature(many, code="1")]}
    with pytest.raises(FileProblem) as refused:
        read_table(json.dumps(doc, separators=(",", ":")).encode(), hint="geojson")
    assert refused.value.code == "geometry_too_complex"


def test_geojson_reads_as_before():
    doc = {
        "type": "FeatureCollection",
        "features": [
            _feature({"type": "Point", "coordinates": [110.0, 27.5]}, code="1", name="大坪村"),
            _feature(None, code="2", note=None),
        ],
    }
    for data in (json.dumps(doc).encode(), b"\xef\xbb\xbf" + json.dumps(doc).encode()):
        table = read_table(data, hint="geojson")
        assert table.columns == ["code", "name", "note"]
        assert table.rows == [(1, ("1", "大坪村", None)), (2, ("2", None, None))]
        assert table.geometries[1]["geometry"]["coordinates"] == [110.0, 27.5]
    gbk = json.dumps(doc, ensure_ascii=False).encode("gb18030")
    assert read_table(gbk, hint="geojson").encoding == "gb18030"


def test_csv_lines_split_across_decoding_pieces(monkeypatch):
    monkeypatch.setattr(readers, "DECODE_CHUNK", 7)
    text = 'code,name\r\n1,"大坪\r\n村"\r\n2,迎丰\r3,x\n\n4,"a""b"\r\n'
    table = read_table(text.encode(), hint="csv")
    assert table.rows == [
        (2, ("1", "大坪\r\n村")),
        (3, ("2", "迎丰")),
        (4, ("3", "x")),
        (6, ("4", 'a"b')),
    ]
    assert table.blank_rows == [5]
    with pytest.raises(FileProblem) as refused:
        read_table("code\n1\n2\né".encode()[:-1], hint="csv")
    assert refused.value.code == "wrong_encoding"


# --------------------------------------------------------------------------- fuzzing


def _fuzzed(content: bytes, seed: int, variants: int):
    """``content`` truncated at many offsets, and with a few bytes changed at random."""
    rng = random.Random(seed)
    step = max(1, len(content) // 120)
    for end in range(0, len(content), step):
        yield content[:end]
    for _ in range(variants):
        damaged = bytearray(content)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        yield bytes(damaged)


def _only_registry_errors(read, content: bytes) -> None:
    with contextlib.suppress(RegistryError):
        read(content)


def test_damaged_workbooks_raise_only_registry_errors():
    for content in _fuzzed(write_xlsx(COLUMNS, ROWS * 20, "t"), seed=1, variants=300):
        _only_registry_errors(lambda c: read_table(c, hint="xlsx"), content)
    for content in _fuzzed(base_plan_xlsx(), seed=2, variants=300):
        _only_registry_errors(parse_workbook, content)


def test_damaged_csv_and_geojson_raise_only_registry_errors():
    csv_content = write_csv(COLUMNS, ROWS * 20)
    for content in _fuzzed(csv_content, seed=3, variants=300):
        _only_registry_errors(lambda c: read_table(c, hint="csv"), content)
    doc = {
        "type": "FeatureCollection",
        "features": [
            _feature({"type": "Polygon", "coordinates": [[[110, 27], [111, 27], [110, 9]]]}, c="1"),
            _feature({"type": "Point", "coordinates": [110, 27]}, code="2", name="村"),
        ],
    }
    for content in _fuzzed(json.dumps(doc, ensure_ascii=False).encode(), seed=4, variants=300):
        _only_registry_errors(lambda c: read_table(c, hint="geojson"), content)


# --------------------------------------------------------------------------- worker process


def test_a_file_read_in_a_worker_process_is_the_same_table_or_the_same_refusal():
    content = write_csv(COLUMNS, ROWS * 4000)  # more rows than one piece
    assert anyio.run(read_table_isolated, content, None, "csv") == read_table(content, hint="csv")
    features = [_feature(None, code=str(n)) for n in range(6000)]
    doc = {"type": "FeatureCollection", "features": features}
    geojson = json.dumps(doc).encode()
    assert anyio.run(read_table_isolated, geojson, None, "geojson") == read_table(geojson)
    with pytest.raises(FileProblem) as refused:
        anyio.run(read_table_isolated, b"code\n\x00\n", None, "csv")
    assert (refused.value.code, refused.value.message) == (
        "binary_file",
        "文件含有二进制内容，不是 CSV 文本 / the file contains binary data; it is not CSV text",
    )
    with pytest.raises(FileProblem) as refused:
        anyio.run(read_table_isolated, ("x\n" * (MAX_ROWS + 2)).encode(), None, "csv")
    assert refused.value.code == "too_many_rows" and refused.value.extra == {"limit": MAX_ROWS}
