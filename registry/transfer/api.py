"""Bulk import (file upload) and export (file download)."""

from __future__ import annotations

from itertools import islice
from typing import Any

import anyio.to_thread
import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromPath, FromQuery

from registry.core.access import require_role
from registry.core.errors import InvalidInput
from registry.formats.problems import MAX_FILE_BYTES, too_large
from registry.formats.readers import FORMATS as IMPORT_FORMATS
from registry.http.deps import CurrentActor
from registry.http.errors import body as error_body
from registry.http.files import download, format_of
from registry.transfer import service as transfer
from registry.transfer.imports.job import release
from registry.transfer.imports.report import shown_issues
from registry.transfer.schemas import ImportReport

# Row-level errors listed in a refused import's ``errors`` (the report has them all).
FIRST_ERRORS = 50


async def _read_upload(request: Request) -> bytearray:
    """The raw body, refused (413) from its Content-Length or as soon as it passes the limit —
    a 200 MB upload is never held in memory. Gathered in a bytearray as it arrives: joining
    50 MB of chunks at the end would hold the event loop for one long copy."""
    try:
        announced = request.content_length
    except Exception:
        announced = None
    if announced is not None and announced > MAX_FILE_BYTES:
        raise too_large(announced)
    body = bytearray()
    async for chunk in request.stream():
        if len(body) + len(chunk) > MAX_FILE_BYTES:
            raise too_large(len(body) + len(chunk))
        body += chunk
    return body


def _summary(report: ImportReport) -> dict[str, Any]:
    """The report as JSON, kept small whatever the file: the counts and at most
    :data:`SHOWN_ISSUES` issues (errors first); ``issues_total`` says how many there are and
    the full list is the csv/xlsx report (``report=csv`` or ``report=xlsx``)."""
    body = msgspec.to_builtins(msgspec.structs.replace(report, issues=shown_issues(report.issues)))
    body["issues_total"] = len(report.issues)
    body["issues_truncated"] = len(report.issues) > len(body["issues"])
    return body


def _refused(summary: dict[str, Any], report: ImportReport) -> Response:
    """422: the error body every refusal has, the first row-level errors and the report's
    ``summary``."""
    first = [
        {
            "field": f"row {i.row}: {i.column}" if i.row else (i.column or "file"),
            "message": i.message,
        }
        for i in islice((i for i in report.issues if i.level == "error"), FIRST_ERRORS)
    ]
    content = {
        **error_body(
            422,
            "import_invalid",
            f"导入文件有 {report.errors} 处错误，未写入任何数据",
            f"the file has {report.errors} error(s); nothing was written",
            first,
        ),
        "report": summary,
    }
    return Response(content, status_code=422, media_type=MediaType.JSON)


class ImportController(Controller):
    path = "/api/import"
    tags = ["import/export"]

    @post(
        "/{what:str}",
        operation_id="importFile",
        summary="Import divisions or sites from a CSV, XLSX or GeoJSON file (raw body)",
        request_max_body_size=None,
        status_code=200,
    )
    async def import_file(
        self,
        actor: CurrentActor,
        request: Request,
        what: FromPath[str],
        dry_run: FromQuery[bool] = False,
        format: FromQuery[str | None] = None,
        filename: FromQuery[str | None] = None,
        report: FromQuery[str] = "json",
    ) -> Response:
        """Send the file itself as the request body (`Content-Type` e.g. `text/csv`), up to
        50 MB and 100,000 rows. The whole file is written in one transaction, or nothing when
        any row is invalid (422 with the report). `dry_run=true` checks without writing. The
        JSON report lists at most 200 issues, errors first (`issues_total`,
        `issues_truncated`); `report=csv` or `report=xlsx` returns the full row-level report
        as a file instead. Planners import rows of their own county only; the municipal
        centre any row of the city."""
        if what not in transfer.IMPORTS:
            raise InvalidInput(
                "unknown_import",
                f"只能导入 divisions 或 sites，收到 {what}",
                f"import divisions or sites, not {what!r}",
            )
        if report not in transfer.REPORT_FORMATS:
            raise InvalidInput(
                "invalid_report_format",
                "report 应为 json、csv 或 xlsx",
                "report must be json, csv or xlsx",
            )
        require_role(actor, "municipal", "county_planner")
        data = await _read_upload(request)
        hint = format or format_of(request.headers.get("content-type"), IMPORT_FORMATS)
        result = await transfer.import_file(
            actor, what, data, name=filename, fmt=hint, dry_run=dry_run
        )
        status = 422 if result.errors else 200
        try:
            if report != "json":
                return download(
                    await anyio.to_thread.run_sync(transfer.report_file, result, report),
                    f"import-{result.what}-report.{report}",
                    status_code=status,
                )
            if status == 422:
                return _refused(await anyio.to_thread.run_sync(_summary, result), result)
            return Response(await anyio.to_thread.run_sync(_summary, result), status_code=200)
        finally:
            # A report of 100,000 issues: freed off the loop, a slice at a time.
            await release(result.issues)


class ExportController(Controller):
    path = "/api/export"
    tags = ["import/export"]

    @get(
        "/{name:str}",
        operation_id="exportFile",
        summary="Export divisions, sites, history or cases: name is what.format",
    )
    async def export_file(
        self, actor: CurrentActor, name: FromPath[str], county: FromQuery[str | None] = None
    ) -> Response[bytes]:
        """`divisions` and `sites` are public (`.csv` `.xlsx` `.geojson` `.json`);
        `history` (status events) and `cases` (masked resident data only) need a planner
        (own county) or the municipal centre. CSV is UTF-8 with BOM for Excel."""
        what, fmt = transfer.parse_target(name)
        result = await transfer.export(actor, what, fmt, county)
        return download(result.content, result.filename, headers={"X-Row-Count": str(result.rows)})
