"""What a file reader refuses, and the limits it refuses by.

A file-level fault is a :class:`FileProblem` (invalid input: nothing of the file is used); a file
over its size limit is :class:`~registry.core.errors.TooLarge`. Neither knows HTTP: the web
layer maps the kinds to status codes, an import report lists them as file-level issues.
"""

from __future__ import annotations

from typing import Any

from registry.core.errors import InvalidInput, TooLarge

MAX_FILE_BYTES = 50 * 1024 * 1024
"""Largest import file accepted (CSV, XLSX or GeoJSON), checked before reading it."""
MAX_ROWS = 1_000_000
"""Most data rows (or GeoJSON features) of one file."""


class FileProblem(InvalidInput):
    """A file-level fault: nothing of the file is used."""

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


def too_many_rows() -> FileProblem:
    return FileProblem(
        "too_many_rows",
        f"行数超过上限 {MAX_ROWS}",
        f"more than {MAX_ROWS} rows; split the file",
    )


def empty_file() -> FileProblem:
    return FileProblem("empty_file", "文件为空（没有表头）", "the file is empty (no header row)")
