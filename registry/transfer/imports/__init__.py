"""Bulk import of divisions and sites from CSV, XLSX or GeoJSON.

A file is checked completely before anything is written: file-level problems (size, encoding,
XLSX bomb, columns) and row-level problems (each with row, column, code and message) end up in
one report. A file with any error writes nothing; a valid file is written in ONE transaction.
Re-importing updates what exists (divisions by code, sites by the division's open site), so
a file can be imported again after corrections without duplicating anything.

Every rule is the registry's own (the divisions' and sites' rules modules): codes, kinds from
names, signage, status transitions, coordinates and containment — the geometry in bulk (one
STRtree query for all points).

:mod:`.cells` reads cells and maps columns, :mod:`.report` collects the issues, :mod:`.job` is
what both imports share, :mod:`.division_rows`/:mod:`.divisions` and
:mod:`.site_rows`/:mod:`.sites` parse, plan and write each kind.

Reading, parsing and checking are CPU work of up to seconds for a file at the limits of
:mod:`registry.formats.problems`, never done on the event loop, so that the server keeps
answering while a file is checked: the file is read in a worker process
(:func:`registry.formats.isolated.read_table_isolated`), its rows are parsed and checked in a
worker thread (:func:`.job.off_loop`); only the database statements run on the loop.
"""

from __future__ import annotations

import time

from registry.core.access import Actor, require_role
from registry.core.errors import TooLarge
from registry.formats.isolated import read_table_isolated
from registry.formats.problems import FileProblem
from registry.formats.readers import RawTable
from registry.transfer.imports.divisions import DivisionJob
from registry.transfer.imports.job import Job, Progress, off_loop, release
from registry.transfer.imports.report import Issues, Outcome
from registry.transfer.imports.sites import SiteJob
from registry.transfer.schemas import ImportReport

WHAT = ("divisions", "sites")


async def import_file(
    actor: Actor,
    what: str,
    data: bytes | bytearray,
    *,
    name: str | None = None,
    fmt: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Check an import file and, unless ``dry_run`` or any error, write it in one transaction.

    Args:
        actor: a county planner (rows of their county only) or the municipal centre.
        what: ``divisions`` or ``sites``.
        data: the file's bytes (size checked by the caller; checked again here).
        name: file name (its suffix tells the format).
        fmt: explicit format (``csv``, ``xlsx``, ``geojson``), overriding the name.
        dry_run: check everything, write nothing.
        progress: called with (stage, done, total) for long files.
    """
    require_role(actor, "municipal", "county_planner")
    started = time.perf_counter()
    issues = Issues()
    outcome = Outcome()
    table: RawTable | None = None
    committed = False
    rows_count = 0
    try:
        table = await read_table_isolated(data, name, fmt)
        for number in table.blank_rows:
            issues.warn(number, None, "blank_row", "空行已跳过", "blank row skipped")
        job: Job
        if what == "divisions":
            job = DivisionJob(actor, table, issues, progress)
        elif what == "sites":
            job = SiteJob(actor, table, issues, progress)
        else:
            raise ValueError(f"unknown import {what!r}")
        rows_count = len(table.rows)
        committed = await job.run(dry_run, outcome)
    except (FileProblem, TooLarge) as exc:
        issues.add(None, None, exc)
    if issues.errors:
        outcome = Outcome()
    sorted_issues = await off_loop(issues.sorted)
    report = ImportReport(
        what=what,
        format=table.format if table else None,
        encoding=table.encoding if table else None,
        dry_run=dry_run,
        committed=committed,
        rows=rows_count,
        valid_rows=rows_count - len(issues.bad_rows) if table else 0,
        created=outcome.created,
        updated=outcome.updated,
        unchanged=outcome.unchanged,
        status_events=outcome.status_events,
        boundaries=outcome.boundaries,
        errors=issues.errors,
        warnings=len(issues.items) - issues.errors,
        issues=sorted_issues,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    # The file's rows die here: freed off the loop, a slice at a time.
    if table is not None:
        await release(table.rows, table.geometries)
    await release(issues.items)
    return report
