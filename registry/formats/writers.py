"""Writing tables and documents: CSV, XLSX, JSON and GeoJSON, as bytes.

Every CSV and XLSX file the registry writes — exports, import reports, the coverage report,
plan templates and exports — goes through this module, so that:

* **text stays text**: a value beginning like a formula (``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return) is escaped as :mod:`registry.formats.formulas` says — a quote prefix in CSV,
  a text cell with ``quotePrefix`` in XLSX (:func:`set_cell`, :func:`text_cell`), never a live
  formula; characters a workbook cannot hold are replaced, never an error;
* **a workbook is deterministic**: :func:`save_workbook` stamps its document properties
  (created, modified) with a time derived from the data and gives every zip member one fixed
  time, so the same content gives the same bytes (ETags, caches, "one content per date").

CSV is UTF-8 with a BOM and CRLF line ends (so Excel opens Chinese text correctly); XLSX is one
sheet in write-only mode and keeps codes as text; JSON and GeoJSON are compact UTF-8 with
Chinese text unescaped.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import shutil
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from geo.geojson_io import feature_collection
from registry.formats.formulas import ERROR_LITERALS, escape_csv, looks_like_formula, writable

XLSX_MAX_ROWS = 1_048_575
"""Data rows an Excel sheet holds: its limit, less the header row."""
NO_DATE = datetime(2000, 1, 1)
"""The document time of a workbook whose data carries no date (an import report)."""


# --------------------------------------------------------------------------- CSV


def csv_text(value: Any) -> str:
    """A value as a CSV cell: text escaped against formulas; numbers, dates and booleans as
    their plain text (a number is never a formula)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return escape_csv(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, list | dict):
        return escape_csv(json.dumps(value, ensure_ascii=False))
    if isinstance(value, int | float):
        return str(value)
    return escape_csv(str(value))


def write_csv(columns: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with BOM (so Excel opens Chinese text correctly), CRLF line ends; every cell by
    :func:`csv_text`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_text(c) for c in columns])
    for row in rows:
        writer.writerow([csv_text(v) for v in row])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8", "replace")


# --------------------------------------------------------------------------- XLSX cells


def xlsx_value(value: Any) -> Any:
    """A value as openpyxl can store it: lists and dicts as JSON text, an aware datetime as
    its ISO text (Excel has no time zones), other text made writable."""
    if isinstance(value, str):
        return writable(value)
    if isinstance(value, list | dict):
        return writable(json.dumps(value, ensure_ascii=False))
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.isoformat()
    return value


def _needs_text_cell(text: str) -> bool:
    # openpyxl makes "=…" a formula and "#N/A" an error value; Excel would re-read +, -, @ when
    # the cell is edited. Any of them: an explicit text cell with quotePrefix.
    return looks_like_formula(text) or text in ERROR_LITERALS


def text_cell(cell: Any, text: str) -> Any:
    """Put ``text`` into an openpyxl cell as a text cell — never a formula or an error value
    (``quotePrefix`` when it looks like one, so that editing it in Excel keeps it text)."""
    text = writable(text)
    cell.value = text
    cell.data_type = "s"
    if _needs_text_cell(text):
        cell.quotePrefix = True
    return cell


def set_cell(cell: Any, value: Any) -> Any:
    """Put any value into an openpyxl cell: text by :func:`text_cell`, the rest as themselves
    (numbers, dates, booleans keep their type)."""
    value = xlsx_value(value)
    if isinstance(value, str):
        return text_cell(cell, value)
    cell.value = value
    return cell


def _write_only_row(sheet: Any, row: Iterable[Any]) -> list[Any]:
    """A row for a write-only sheet: plain values, and a text cell where a text looks like a
    formula or an error value (rare: a cell object for those only)."""
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for value in row:
        value = xlsx_value(value)
        if isinstance(value, str) and _needs_text_cell(value):
            value = text_cell(WriteOnlyCell(sheet), value)
        cells.append(value)
    return cells


# --------------------------------------------------------------------------- XLSX files


def document_time(stamp: date | datetime | None) -> datetime:
    """The created/modified time of a workbook about data of ``stamp`` (naive UTC, seconds)."""
    if stamp is None:
        return NO_DATE
    if isinstance(stamp, datetime):
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(UTC).replace(tzinfo=None)
        return stamp.replace(microsecond=0)
    return datetime.combine(stamp, time(0))


def latest_date(values: Iterable[Any]) -> date | datetime | None:
    """The latest date or datetime among ``values`` (None when there is none): what a file's
    data is "as of"."""
    latest: datetime | None = None
    for value in values:
        if isinstance(value, date):
            moment = document_time(value)
            if latest is None or moment > latest:
                latest = moment
    return latest


class _FixedTimeZip(zipfile.ZipFile):
    """A zip whose members all carry one time (openpyxl writes them with the current time)."""

    def __init__(self, file: Any, moment: datetime) -> None:
        super().__init__(file, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        m = max(moment, datetime(1980, 1, 1))  # the earliest time a zip holds
        self._moment = (m.year, m.month, m.day, m.hour, m.minute, m.second)

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self._moment)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        return info

    def writestr(self, zinfo_or_arcname: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)

    def write(self, filename: Any, arcname: Any = None, *args: Any, **kwargs: Any) -> None:
        # Write-only sheets are streamed to a temporary file and added by name.
        info = self._info(arcname or os.path.basename(filename))
        size = os.path.getsize(filename)
        with open(filename, "rb") as src, self.open(info, "w", force_zip64=size > 2**31) as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)


def save_workbook(workbook: Any, stamp: date | datetime | None) -> bytes:
    """The workbook as bytes, the same for the same content: created and modified are
    ``stamp`` (the data's date; :data:`NO_DATE` without one), every zip member has that time.
    """
    from openpyxl.writer.excel import ExcelWriter

    moment = document_time(stamp)
    workbook.properties.created = moment
    workbook.properties.modified = moment
    buffer = io.BytesIO()
    archive = _FixedTimeZip(buffer, moment)
    # ExcelWriter, not openpyxl.save_workbook: that one stamps "modified" with the clock.
    ExcelWriter(workbook, archive).save()
    return buffer.getvalue()


def write_xlsx(
    columns: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    title: str,
    stamp: date | datetime | None = None,
) -> bytes:
    """A one-sheet workbook (write-only mode: constant memory per row). Codes stay text, text
    never becomes a formula. Its document time is ``stamp``, or else the latest date among
    the cells (so the same rows give the same bytes)."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append(_write_only_row(sheet, columns))
    latest: datetime | None = None
    for row in rows:
        values = list(row)
        if stamp is None:
            found = latest_date(values)
            if found is not None and (latest is None or document_time(found) > latest):
                latest = document_time(found)
        sheet.append(_write_only_row(sheet, values))
    return save_workbook(workbook, stamp if stamp is not None else latest)


# --------------------------------------------------------------------------- JSON


def write_json(document: Any) -> bytes:
    """Compact UTF-8 JSON (values already JSON-ready)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def write_geojson(features: Iterable[Mapping[str, Any]]) -> bytes:
    """An RFC 7946 FeatureCollection of ``features``, compact UTF-8."""
    return write_json(feature_collection(features))
