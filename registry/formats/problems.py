"""What a file reader refuses, and the limits it refuses by.

A file-level fault is a :class:`FileProblem` (invalid input: nothing of the file is used); a file
over its size limit is :class:`~registry.core.errors.TooLarge`. Neither knows HTTP: the web
layer maps the kinds to status codes, an import report lists them as file-level issues.

The limits bound what one upload may cost the server (memory, and CPU time in the worker thread
that reads it). Each is far above what a county — or a province — ever needs, and each is
checked while reading, so a file over a limit is refused as soon as it passes it:

=====================  ==========  ==========================================================
limit                  value       why this value
=====================  ==========  ==========================================================
file size              50 MB       checked before reading (the body is refused as it streams)
data rows / features   100,000     a county has at most a few thousand divisions and sites; a
                                   whole province fits (Hunan: 27,537 divisions)
columns                100         the widest file the registry writes has 22 columns
non-empty cells        3,000,000   100,000 rows of the widest export, with room to spare
characters per cell    32,767      Excel's own limit for one cell
characters in all      52,428,800  no more text than the largest CSV (50 MB) can hold, however
cells                              an XLSX repeats its shared strings
vertices per geometry  100,000     five times the most detailed county outline of Hunan
                                   (19,374); a public GET of a boundary costs ~1 µs per vertex
nesting of a GeoJSON   32          a MultiPolygon needs 6 levels; deeper JSON is no table
feature
=====================  ==========  ==========================================================
"""

from __future__ import annotations

from typing import Any

from registry.core.errors import InvalidInput, TooLarge

MAX_FILE_BYTES = 50 * 1024 * 1024
"""Largest import file accepted (CSV, XLSX or GeoJSON), checked before reading it."""
MAX_ROWS = 100_000
"""Most data rows (or GeoJSON features) of one file."""
MAX_COLUMNS = 100
"""Most columns with a value in one row (trailing empty cells are not counted)."""
MAX_CELLS = 3_000_000
"""Most non-empty cells of one file."""
MAX_CELL_CHARS = 32_767
"""Longest text of one cell (Excel's limit)."""
MAX_TEXT_CHARS = MAX_FILE_BYTES
"""Most characters in all text cells of one file."""
MAX_VERTICES = 100_000
"""Most vertices (positions) of one geometry."""
MAX_DEPTH = 32
"""Deepest nesting of arrays and objects in one GeoJSON feature."""


class FileProblem(InvalidInput):
    """A file-level fault: nothing of the file is used.

    ``row`` and ``column`` (in ``extra``), when given, say where the reader stopped.
    """

    def __init__(self, code: str, zh: str, en: str, **extra: Any) -> None:
        super().__init__(code, zh, en, **extra)


def too_large(size: int, limit: int = MAX_FILE_BYTES) -> TooLarge:
    """The refusal of a ``size``-byte file over the import limit (advice: split it)."""
    mb, limit_mb = size / 1024 / 1024, limit // 1024 // 1024
    return TooLarge(
        "file_too_large",
        f"文件过大（{mb:.1f} MB），导入上限为 {limit_mb} MB：请按县拆分后分批导入",
        f"the file is {mb:.1f} MB; the import limit is {limit_mb} MB — split it (e.g. by county)",
        size_bytes=size,
        limit_bytes=limit,
    )


def too_many_rows(limit: int = MAX_ROWS) -> FileProblem:
    return FileProblem(
        "too_many_rows",
        f"行数超过上限 {limit}：请按县拆分后分批导入",
        f"more than {limit} rows; split the file (e.g. by county)",
        limit=limit,
    )


def too_many_columns(row: int, columns: int) -> FileProblem:
    return FileProblem(
        "too_many_columns",
        f"第 {row} 行有 {columns} 列数据，上限为 {MAX_COLUMNS} 列",
        f"row {row} has values in {columns} columns; at most {MAX_COLUMNS} are read",
        row=row,
        limit=MAX_COLUMNS,
    )


def too_many_cells(row: int) -> FileProblem:
    return FileProblem(
        "too_many_cells",
        f"文件的非空单元格超过上限 {MAX_CELLS}（至第 {row} 行）：请拆分后分批导入",
        f"more than {MAX_CELLS} non-empty cells (by row {row}); split the file",
        row=row,
        limit=MAX_CELLS,
    )


def cell_too_long(row: int, column: int, length: int) -> FileProblem:
    return FileProblem(
        "cell_too_long",
        f"第 {row} 行第 {column} 列有 {length} 个字符，单元格上限为 {MAX_CELL_CHARS} 个字符",
        f"the cell in row {row}, column {column} holds {length} characters; "
        f"the limit is {MAX_CELL_CHARS}",
        row=row,
        limit=MAX_CELL_CHARS,
    )


def too_much_text(row: int) -> FileProblem:
    return FileProblem(
        "too_much_text",
        f"文件中的文字超过上限 {MAX_TEXT_CHARS} 个字符（至第 {row} 行）：请拆分后分批导入",
        f"the cells hold more than {MAX_TEXT_CHARS} characters (by row {row}); split the file",
        row=row,
        limit=MAX_TEXT_CHARS,
    )


def geometry_too_complex(row: int, vertices: int | None) -> FileProblem:
    counted = f"{vertices} 个" if vertices is not None else "过多"
    counted_en = f"{vertices}" if vertices is not None else "too many"
    return FileProblem(
        "geometry_too_complex",
        f"第 {row} 个要素的几何有 {counted}顶点，上限为 {MAX_VERTICES} 个：请先简化边界",
        f"the geometry of feature {row} has {counted_en} vertices; the limit is "
        f"{MAX_VERTICES} — simplify the outline first",
        row=row,
        limit=MAX_VERTICES,
    )


def too_deeply_nested(row: int | None) -> FileProblem:
    where_zh = f"第 {row} 个要素" if row is not None else "GeoJSON"
    where_en = f"feature {row}" if row is not None else "the GeoJSON"
    return FileProblem(
        "too_deeply_nested",
        f"{where_zh}嵌套层数超过上限 {MAX_DEPTH}",
        f"{where_en} is nested more than {MAX_DEPTH} levels deep",
        row=row,
        limit=MAX_DEPTH,
    )


def malformed_xlsx(exc: BaseException | None = None) -> FileProblem:
    """An archive or a sheet that cannot be read (truncated, corrupt, undefined entities…)."""
    detail = f": {type(exc).__name__}" if exc is not None else ""
    return FileProblem(
        "malformed_xlsx",
        f"XLSX 文件已损坏或无法读取{detail}",
        f"the XLSX file is damaged or cannot be read{detail}",
    )


def empty_file() -> FileProblem:
    return FileProblem("empty_file", "文件为空（没有表头）", "the file is empty (no header row)")
