"""Import report bodies."""

from __future__ import annotations

import msgspec


class ImportIssue(msgspec.Struct):
    """One problem found in an import file.

    ``row`` is the spreadsheet row (header = 1) or the GeoJSON feature number; None for a
    file-level problem. ``level`` is ``error`` (nothing is written) or ``warning``.
    """

    row: int | None
    column: str | None
    code: str
    message: str
    level: str = "error"


class ImportReport(msgspec.Struct):
    """What an import found and did. ``committed`` is true only when the whole file was
    written (one transaction); any error means nothing was written."""

    what: str
    format: str | None
    encoding: str | None
    dry_run: bool
    committed: bool
    rows: int
    valid_rows: int
    created: int
    updated: int
    unchanged: int
    status_events: int
    boundaries: int
    errors: int
    warnings: int
    issues: list[ImportIssue]
    elapsed_ms: float
