"""One upload does not freeze the server: /healthz answers within 100 ms (p99) while the worst
uploads are read, checked and answered — or refused — by a real `registry serve`.

The uploads are the ones that froze it before the import moved off the event loop: a
1,000,000-row CSV (refused at the row limit), a CSV at the row limit (100,000 rows, read,
checked and answered with a summary), a 3 MB workbook holding 60 MB of cells (as an import and
as a plan), a village boundary of 10⁶ vertices, and a 200 MB body. A thread polls /healthz
every 20 ms meanwhile; the stated requirement is a p99 under 100 ms. This is the one timed test
of the suite (the requirement is a time); everything else about the uploads is checked too.
"""

from __future__ import annotations

import io
import json
import math
import multiprocessing
import os
import random
import shutil
import statistics
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Template
from tests.load.server import Server

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timed]

P99_BUDGET_S = 0.100
DIVISIONS = "100,000-row division CSV, dry run"
POLL_EVERY_S = 0.02
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HECHENG_POINT = (109.99, 27.55)


# ------------------------------------------------------------------------------ the files


def _csv(rows: int, codes: list[str]) -> bytes:
    lon, lat = HECHENG_POINT
    lines = [f"{codes[n % len(codes)]},{lon},{lat}\n" for n in range(rows)]
    return ("division_code,lon,lat\n" + "".join(lines)).encode()


def _xlsx_of_cells(
    sheet_name: str, header: list[str], rows: int, width: int, skip: int = 0
) -> bytes:
    """A workbook whose one sheet holds ``rows`` rows of ``width`` inline text cells (from
    column ``skip`` + 1) under ``header`` — written as XML directly (openpyxl would take
    minutes), compressed about 14:1."""
    rng = random.Random(7)
    words = [f"{rng.randrange(10**6):06d}村民小组" for _ in range(64)]
    letters = [chr(ord("A") + c) for c in range(skip + width)]

    def row(number: int, values: list[str], first: int = 0) -> str:
        cells = "".join(
            f'<c r="{letters[first + c]}{number}" t="inlineStr"><is><t>{v}</t></is></c>'
            for c, v in enumerate(values)
        )
        return f'<row r="{number}">{cells}</row>'

    body = [row(1, header)]
    body += [row(n, [words[(n + c) % 64] for c in range(width)], skip) for n in range(2, rows + 2)]
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<sheetData>" + "".join(body) + "</sheetData></worksheet>"
    )
    workbook = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{sheet_name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    )
    root_rels = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    types = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("_rels/.rels", root_rels)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", rels)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


def _boundary(vertices: int) -> bytes:
    lon, lat = HECHENG_POINT
    ring = [
        [round(lon + 0.01 * math.cos(a), 7), round(lat + 0.01 * math.sin(a), 7)]
        for a in (2 * math.pi * k / vertices for k in range(vertices))
    ]
    feature = {
        "type": "Feature",
        "properties": {"code": "431202102939", "name": "大边界村"},
        "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
    }
    return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()


@dataclass
class Upload:
    name: str
    path: str
    who: str
    content_type: str
    body: Callable[[], bytes]
    status: int
    check: Callable[[httpx.Response], None] = lambda _: None
    headers: dict[str, str] = field(default_factory=dict)


def _file_problem(code: str) -> Callable[[httpx.Response], None]:
    def check(response: httpx.Response) -> None:
        issues = response.json()["report"]["issues"]
        assert [(i["row"], i["code"]) for i in issues] == [(None, code)], response.text[:300]

    return check


def _summary(response: httpx.Response) -> None:
    report = response.json()["report"]
    assert report["rows"] == 100_000 and report["issues_truncated"], response.text[:300]
    assert len(report["issues"]) == 200 and len(response.content) < 200_000


def _code(code: str) -> Callable[[httpx.Response], None]:
    def check(response: httpx.Response) -> None:
        assert response.json()["code"] == code, response.text[:300]

    return check


def _division_rows(townships: list[str], rows: int) -> bytes:
    """``rows`` new villages (codes 100–999 under each township), a valid division file."""
    lines = [
        f"{township[:9]}{n:03d},新{n}村\n" for township in townships for n in range(100, 1000)
    ][:rows]
    return ("code,name\n" + "".join(lines)).encode()


def _checked(count: int) -> Callable[[httpx.Response], None]:
    def check(response: httpx.Response) -> None:
        report = response.json()
        assert report["valid_rows"] == count and report["errors"] == 0, response.text[:300]

    return check


def _uploads(villages: list[str]) -> list[Upload]:
    plan_header = ["区划代码", "所属乡镇(街道)", "区划名称", "建设目标", "目标日期"]
    return [
        Upload(
            "1,000,000-row CSV, dry run",
            "/api/import/sites?dry_run=true",
            "municipal",
            "text/csv",
            lambda: _csv(1_000_000, villages),
            422,
            _file_problem("too_many_rows"),
        ),
        Upload(
            "100,000-row CSV (the row limit), dry run",
            "/api/import/sites?dry_run=true",
            "municipal",
            "text/csv",
            lambda: _csv(100_000, villages),
            422,
            _summary,
        ),
        Upload(
            "4 MB workbook of 60 MB of cells, import",
            "/api/import/sites?dry_run=true",
            "municipal",
            XLSX,
            lambda: _xlsx_of_cells("Sheet1", ["division_code", "lon", "lat"], 270_000, 3),
            422,
            _file_problem("too_many_rows"),
        ),
        Upload(
            "4 MB workbook of 55 MB of cells, plan",
            "/api/plans/import?dry_run=true",
            "planner_hecheng",
            XLSX,
            # Beside the plan's columns: no data row, all 100,000 rows read.
            lambda: _xlsx_of_cells("规划", plan_header, 150_000, 5, skip=5),
            422,
            _code("too_many_rows"),
        ),
        Upload(
            "village boundary of 10^6 vertices",
            "/api/import/divisions?dry_run=true",
            "municipal",
            "application/geo+json",
            lambda: _boundary(1_000_000),
            422,
            _file_problem("geometry_too_complex"),
        ),
        Upload(
            "200 MB body",
            "/api/import/sites",
            "municipal",
            "text/csv",
            lambda: b"division_code,lon,lat\n" + b"x" * 200_000_000,
            413,
            _code("file_too_large"),
        ),
    ]


# ------------------------------------------------------------------------------ measuring


def poll_health(base_url: str, stop: Any, results: Any) -> None:
    """In a process of its own (the test's threads must not delay it): GET /healthz every
    :data:`POLL_EVERY_S` until ``stop`` is set; the latencies (s) and failures go to
    ``results``."""
    latencies: list[float] = []
    failures: list[str] = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                status = client.get("/healthz").status_code
            except httpx.HTTPError as exc:
                failures.append(repr(exc))
                continue
            latencies.append(time.perf_counter() - started)
            if status != 200:
                failures.append(f"status {status}")
            stop.wait(POLL_EVERY_S)
    results.put((latencies, failures))


class HealthPoller:
    """:func:`poll_health` in a spawned process, from :meth:`start` to :meth:`stop`."""

    def __init__(self, base_url: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.stop_event = context.Event()
        self.results = context.Queue()
        self.process = context.Process(
            target=poll_health, args=(base_url, self.stop_event, self.results), daemon=True
        )

    def start(self) -> None:
        self.process.start()

    def stop(self) -> tuple[list[float], list[str]]:
        self.stop_event.set()
        found = self.results.get(timeout=60)
        self.process.join(timeout=30)
        return found


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def _server(template: Template, tmp_path: Path) -> Server:
    target = tmp_path / "upload.sqlite3"
    shutil.copyfile(Path(template.url.removeprefix("sqlite:///")), target)
    return Server(
        f"sqlite:///{target}", os.environ["REGISTRY_SECRET_KEY"], tmp_path / "server"
    ).start()


def test_health_answers_within_100ms_while_the_worst_uploads_run(sqlite_template, tmp_path):
    template = sqlite_template
    server = _server(template, tmp_path)
    lines: list[str] = []
    results: list[tuple[str, float]] = []
    try:
        with httpx.Client(base_url=server.base_url, timeout=180) as client:
            villages = [
                d["code"]
                for d in client.get(
                    "/api/divisions", params={"parent": "431202102000", "limit": 100}
                ).json()["items"]
                if d["kind"] == "村"
            ]
            townships = [
                d["code"]
                for d in client.get(
                    "/api/divisions", params={"level": "township", "limit": 500}
                ).json()["items"]
            ]
            division_file = Upload(
                DIVISIONS,
                "/api/import/divisions?dry_run=true",
                "municipal",
                "text/csv",
                lambda: _division_rows(townships, 100_000),
                200,
                _checked(100_000),
            )
            for upload in [*_uploads(villages), division_file]:
                body = upload.body()
                poller = HealthPoller(server.base_url)
                poller.start()
                time.sleep(1.0)  # the poller's process starts and polls a quiet server first
                started = time.perf_counter()
                response = client.post(
                    upload.path,
                    content=body,
                    headers={
                        "Authorization": f"Bearer {template.tokens[upload.who]}",
                        "Content-Type": upload.content_type,
                    },
                )
                elapsed = time.perf_counter() - started
                time.sleep(0.1)
                latencies, failures = poller.stop()
                del body
                assert response.status_code == upload.status, (upload.name, response.text[:300])
                upload.check(response)
                assert not failures, (upload.name, failures[:3])
                worst = p99(latencies)
                results.append((upload.name, worst))
                lines.append(
                    f"{upload.name:45} {elapsed:6.2f} s  {len(latencies):4} polls  "
                    f"p99 {worst * 1000:6.1f} ms  max {max(latencies) * 1000:6.1f} ms"
                )
    finally:
        server.stop()
        print("\n/healthz while uploading:\n" + "\n".join(lines))
    for name, worst in results:
        assert worst < P99_BUDGET_S, f"{name}: /healthz p99 {worst * 1000:.1f} ms"
