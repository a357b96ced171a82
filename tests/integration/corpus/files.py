"""Damaged and hostile files, uploaded to the bulk import and the plan import: each is refused
with a stable code (never a 500) and nothing changes. The builders are shared with
``tests/integration/test_hardening_files.py`` and the reader fuzz tests."""

from __future__ import annotations

import io
import struct
import zipfile
from functools import lru_cache, partial

import openpyxl

from tests.integration.corpus.rows import Row

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GEOJSON = "application/geo+json"
SHEET = "xl/worksheets/sheet1.xml"
P, M = "planner_hecheng", "municipal"


def _save(book: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@lru_cache(maxsize=1)
def base_xlsx() -> bytes:
    """A small, valid import workbook with a numeric cell (1.5) and a text cell."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["code", "name", "established_on"])
    sheet.append(["431202102936", "某村", 1.5])
    return _save(book)


@lru_cache(maxsize=1)
def base_plan_xlsx() -> bytes:
    """A small plan workbook (sheet 规划 first, so it is sheet1.xml) with a budget of 1.5."""
    book = openpyxl.Workbook()
    plan = book.active
    plan.title = "规划"
    plan.append(["区划代码", "所属乡镇(街道)", "区划名称", "建设目标", "目标日期", "预算(元)"])
    plan.append(["431202102001", "", "", "已运行", None, 1.5])
    info = book.create_sheet("说明")
    info.append(["县(市、区)代码", "431202", "county_code"])
    info.append(["专项代码", "agency-points-2013", "campaign"])
    info.append(["规划名称", "规划", "title"])
    return _save(book)


def rezip(data: bytes, member: str, change) -> bytes:
    """``data`` with ``member`` replaced by ``change(member bytes)`` (a consistent archive)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            archive.writestr(info, change(content) if info.filename == member else content)
    return out.getvalue()


def truncated_sheet_xlsx(base: bytes | None = None) -> bytes:
    return rezip(base or base_xlsx(), SHEET, lambda xml: xml[: len(xml) // 2])


def nan_xlsx(base: bytes | None = None) -> bytes:
    return rezip(base or base_xlsx(), SHEET, lambda xml: xml.replace(b"<v>1.5</v>", b"<v>NaN</v>"))


def entity_xlsx(base: bytes | None = None) -> bytes:
    return rezip(
        base or base_xlsx(), SHEET, lambda xml: xml.replace(b"<v>1.5</v>", b"<v>&boom;</v>")
    )


def _patch_directory(data: bytes, member: str, offset: int, value: int) -> bytes:
    """Set a 2-byte field of ``member``'s central directory entry (``offset`` from its
    signature) — and, for the compression method, of its local header too."""
    out = bytearray(data)
    name = member.encode()
    at = out.find(b"PK\x01\x02")
    while at != -1:
        (name_length,) = struct.unpack_from("<H", out, at + 28)
        if bytes(out[at + 46 : at + 46 + name_length]) == name:
            struct.pack_into("<H", out, at + offset, value)
            if offset == 10:  # compression method: the local header says it again
                (local,) = struct.unpack_from("<I", out, at + 42)
                struct.pack_into("<H", out, local + 8, value)
            return bytes(out)
        at = out.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"{member} not in the archive")


def damaged_directory_xlsx(base: bytes | None = None) -> bytes:
    """The sheet's directory entry claims it needs zip version 25.5 to extract: the zip module
    raises NotImplementedError (not BadZipFile) when it opens the archive."""
    return _patch_directory(base or base_xlsx(), SHEET, 6, 255)


def unsupported_method_xlsx(base: bytes | None = None) -> bytes:
    """The sheet is "compressed" by method 99 (AES): NotImplementedError when it is read."""
    return _patch_directory(base or base_xlsx(), SHEET, 10, 99)


DAMAGED_XLSX = [
    ("truncated worksheet XML", truncated_sheet_xlsx),
    ("NaN numeric cell", nan_xlsx),
    ("undefined entity", entity_xlsx),
    ("damaged central directory entry", damaged_directory_xlsx),
    ("member compressed by method 99", unsupported_method_xlsx),
]
"""Damaged variants of a workbook: (name, builder taking the workbook's bytes)."""


def deep_geojson() -> bytes:
    depth = 100_000
    return (
        b'{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,'
        b'"properties":{"code":"431202102937","name":' + b"[" * depth + b"]" * depth + b"}}]}"
    )


def nested_geometry_collection() -> bytes:
    """Geometry collections nested 200 deep: within the recursion limit, beyond the depth
    limit (the geometry checks would recurse through them)."""
    inner = b'{"type":"Point","coordinates":[110.0,27.5]}'
    for _ in range(200):
        inner = b'{"type":"GeometryCollection","geometries":[' + inner + b"]}"
    return (
        b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        b'{"code":"431202102938","name":"a"},"geometry":' + inner + b"}]}"
    )


ROWS: list[Row] = [
    *(
        Row(
            f"import: {name}",
            "POST",
            "/api/import/divisions?format=xlsx",
            M,
            422,
            "import_invalid",
            build,
            XLSX,
        )
        for name, build in DAMAGED_XLSX
    ),
    *(
        Row(
            f"plan import: {name}",
            "POST",
            "/api/plans/import",
            P,
            422,
            "not_xlsx",
            partial(build, base_plan_xlsx()),
            XLSX,
        )
        for name, build in DAMAGED_XLSX
    ),
    Row(
        "import: GeoJSON property nested 100,000 deep",
        "POST",
        "/api/import/divisions",
        M,
        422,
        "import_invalid",
        deep_geojson,
        GEOJSON,
    ),
    Row(
        "import: geometry collections nested 200 deep",
        "POST",
        "/api/import/divisions",
        M,
        422,
        "import_invalid",
        nested_geometry_collection,
        GEOJSON,
    ),
    Row(
        "import: GeoJSON with a lone surrogate",
        "POST",
        "/api/import/sites",
        P,
        422,
        "import_invalid",
        b'{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,'
        b'"properties":{"division_code":"\\ud800"}}]}',
        GEOJSON,
    ),
    Row(
        "import: CSV of NUL bytes",
        "POST",
        "/api/import/sites",
        P,
        422,
        "import_invalid",
        b"division_code,lon,lat\n\x00\x00\x00\n",
        "text/csv",
    ),
]
