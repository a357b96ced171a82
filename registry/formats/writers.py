"""Writing tables and documents: CSV, XLSX, JSON and GeoJSON, as bytes.

CSV is UTF-8 with a BOM and CRLF line ends (so Excel opens Chinese text correctly); XLSX is one
sheet in write-only mode and keeps codes as text; JSON and GeoJSON are compact UTF-8 with
Chinese text unescaped.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from geo.geojson_io import feature_collection

XLSX_MAX_ROWS = 1_048_575
"""Data rows an Excel sheet holds: its limit, less the header row."""


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def write_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with BOM (so Excel opens Chinese text correctly), CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell_text(v) for v in row])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def write_xlsx(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str) -> bytes:
    """A one-sheet workbook (write-only mode: constant memory per row). Codes stay text."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append(list(columns))
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, list | dict):
                value = json.dumps(value, ensure_ascii=False)
            elif isinstance(value, datetime) and value.tzinfo is not None:
                value = value.isoformat()
            cells.append(value)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def write_json(document: Any) -> bytes:
    """Compact UTF-8 JSON (values already JSON-ready)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def write_geojson(features: Iterable[Mapping[str, Any]]) -> bytes:
    """An RFC 7946 FeatureCollection of ``features``, compact UTF-8."""
    return write_json(feature_collection(features))
