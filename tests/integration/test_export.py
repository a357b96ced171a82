"""Exports (both engines), the export → import → export round trip into an empty database,
and the import/export commands as real processes."""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime

import openpyxl
import pytest

from tests.conftest import _pg_admin, _pg_url
from tests.integration.test_import import (
    GOLDEN,
    INSIDE_HECHENG,
    INSIDE_ZHONGFANG,
    SITES_HEADER,
    csv_bytes,
    upload,
    village_codes,
)

HECHENG = "431202000000"


def registry(database_url, *args):
    env = {**os.environ, "REGISTRY_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "registry.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def export(client, name, who=None, **params):
    return client.get(f"/api/export/{name}", params=params, headers=client.auth(who))


def add_sites(client):
    """A varied register in 鹤城区: points, a standardized centre, a suspended point, a closed
    site with its successor on the same village, coordinates from GCJ-02."""
    villages = village_codes(client, n=6)
    lines = []
    for n, code in enumerate(villages):
        lon, lat = INSIDE_HECHENG[0] + n * 0.002, INSIDE_HECHENG[1] + n * 0.001
        status, day = [
            ("in_service", "2014-03-01"),
            ("built", "2013-11-20"),
            ("suspended", "2015-02-01"),
            ("planned", "2013-06-01"),
            ("under_construction", "2014-01-15"),
            ("in_service", "2014-09-09"),
        ][n]
        lines.append(f"{code},{lon},{lat},wgs84,{status},{day},{'某某村便民服务代办点'}\n")
    lines.append(
        f"{villages[0]},{INSIDE_HECHENG[0]},{INSIDE_HECHENG[1]},wgs84,closed,2013-12-01,\n"
    )
    lines.append(f"{GOLDEN},109.991,27.551,gcj02,standardized,2015-06-30,黄金坳镇便民服务中心\n")
    response = upload(client, "sites", csv_bytes(SITES_HEADER + "".join(lines)))
    assert response.status_code == 200, response.text
    # The template's 中方县 point lies outside its county: put it where it belongs.
    site_id = client.template.sites["zhongfang"]
    moved = client.patch(
        f"/api/sites/{site_id}",
        json={"lon": INSIDE_ZHONGFANG[0], "lat": INSIDE_ZHONGFANG[1]},
        headers=client.auth("municipal"),
    )
    assert moved.status_code == 200, moved.text


@pytest.fixture
def empty_database_url(template, tmp_path):
    """A migrated database with nothing in it, on the same engine as the template."""
    if template.engine == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        yield url
        return
    name = f"registry_e_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_export_then_import_into_an_empty_database_gives_the_same_data(
    client, empty_database_url, tmp_path
):
    add_sites(client)
    divisions = export(client, "divisions.geojson", "municipal")
    sites = export(client, "sites.csv", "municipal")
    assert divisions.status_code == sites.status_code == 200
    (tmp_path / "divisions.geojson").write_bytes(divisions.content)
    (tmp_path / "sites.csv").write_bytes(sites.content)

    steps = [
        ("migrate",),
        ("import", "divisions", str(tmp_path / "divisions.geojson")),
        ("import", "sites", str(tmp_path / "sites.csv")),
        ("export", "divisions", str(tmp_path / "again.geojson")),
        ("export", "sites", str(tmp_path / "again.csv")),
    ]
    for step in steps:
        result = registry(empty_database_url, *step)
        assert result.returncode == 0, (step, result.stdout, result.stderr)

    first = json.loads(divisions.content)
    again = json.loads((tmp_path / "again.geojson").read_bytes())
    assert len(again["features"]) == len(first["features"]) > 2000
    assert again == first
    assert sum(1 for f in again["features"] if f["geometry"]) == 13
    assert (tmp_path / "again.csv").read_bytes() == sites.content


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "geojson"])
def test_reimporting_an_export_changes_nothing(client, fmt):
    add_sites(client)
    exported = export(client, f"sites.{fmt}", "municipal")
    before = client.snapshot()
    response = upload(client, "sites", exported.content, format=fmt, dry_run="true")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["created"] == report["updated"] == report["status_events"] == 0
    assert report["unchanged"] == report["rows"] == 10
    assert client.snapshot() == before


def test_csv_export_is_utf8_with_bom_for_excel_and_public_without_phones(client):
    response = export(client, "sites.csv")
    assert response.status_code == 200
    assert response.content.startswith(codecs.BOM_UTF8)
    assert 'filename="sites.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 2 and "contact_phone" not in rows[0]
    signed_in = export(client, "sites.csv", "planner_hecheng").content.decode("utf-8-sig")
    assert "contact_phone" in signed_in.splitlines()[0]


def test_xlsx_export_keeps_codes_as_text(client):
    response = export(client, "divisions.xlsx", county="431202")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["code", "name", "level"]
    codes = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert codes[0] == HECHENG and all(isinstance(c, str) and len(c) == 12 for c in codes)
    assert int(response.headers["x-row-count"]) == len(codes)


def test_geojson_and_json_exports(client):
    collection = export(client, "sites.geojson").json()
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 2
    assert collection["features"][0]["geometry"]["type"] == "Point"
    listing = export(client, "divisions.json", county="431221").json()
    assert listing["total"] == len(listing["items"]) > 10
    assert {i["county_code"] for i in listing["items"]} == {"431221000000"}


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("parcels.csv", 404, "unknown_export"),
        ("sites.pdf", 422, "unsupported_format"),
        ("sites", 422, "unsupported_format"),
    ],
)
def test_unknown_exports_and_formats_are_refused(client, name, status, code):
    response = export(client, name)
    assert response.status_code == status
    assert response.json()["code"] == code


def test_history_export_needs_sign_in_and_a_planner_sees_their_county(client):
    add_sites(client)
    assert export(client, "history.csv").status_code == 401
    assert export(client, "history.csv", "agent_hecheng").json()["code"] == "wrong_role"
    own = export(client, "history.json", "planner_hecheng").json()
    assert own["total"] > 5 and {i["county_code"] for i in own["items"]} == {HECHENG}
    other = export(client, "history.json", "planner_hecheng", county="431221")
    assert other.status_code == 403 and other.json()["code"] == "out_of_scope"
    everything = export(client, "history.json", "municipal").json()
    assert everything["total"] > own["total"]


def test_cases_export_only_when_cases_exist_and_only_masked(client):
    response = export(client, "cases.csv", "municipal")
    assert response.status_code == 404 and response.json()["code"] == "no_cases"

    async def add_case():
        from registry.tables import Case, Matter

        await Matter.insert(
            Matter(
                code="T001", name="测试事项", category="测试", department="测试", time_limit_days=5
            )
        )
        now = datetime(2014, 3, 3, 2, 0, tzinfo=UTC)
        await Case.insert(
            Case(
                id=uuid.uuid4(),
                site=client.template.sites["hecheng"],
                matter="T001",
                case_number="431202102001-20140303-001",
                county_code=HECHENG,
                township_code=GOLDEN,
                resident_name_masked="张*明",
                resident_id_hash="f" * 64,
                resident_id_masked="4312**********123X",
                resident_phone_masked="138****5678",
                received_at=now,
                state="received",
                note="张三明 13812345678",
                due_on=date(2014, 3, 10),
                content_hash="e" * 64,
            )
        )

    client.run(add_case)
    assert export(client, "cases.csv").status_code == 401
    text = export(client, "cases.csv", "municipal").content.decode("utf-8-sig")
    header = text.splitlines()[0].split(",")
    assert "resident_name_masked" in header and "case_number" in header
    assert not {"resident_id_hash", "content_hash", "note"} & set(header)
    assert "张*明" in text and "张三明" not in text and "f" * 64 not in text
    zhongfang = export(client, "cases.json", "planner_zhongfang")
    assert zhongfang.status_code == 404


def test_cli_import_reports_rows_and_exits_non_zero_on_any_invalid_row(database_url, tmp_path):
    bad = tmp_path / "villages.csv"
    bad.write_bytes("区划代码,名称\n431202102901,大坪村\n431202199901,孤村\n".encode("gbk"))
    report = tmp_path / "report.csv"
    result = registry(database_url, "import", "divisions", str(bad), "--report", str(report))
    assert result.returncode == 1
    assert "row 3" in result.stdout and "unknown_parent" in result.stdout
    assert "nothing written" in result.stdout
    assert "unknown_parent" in report.read_bytes().decode("utf-8-sig")
    dry = registry(database_url, "import", "divisions", str(bad).replace("villages", "x"))
    assert dry.returncode != 0 and dry.stderr.startswith("registry:")


def test_cli_refuses_a_200_mb_file_without_reading_it(database_url, tmp_path):
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as fh:
        fh.truncate(200 * 1024 * 1024)  # sparse: no disk, and never read
    result = registry(database_url, "import", "sites", str(huge))
    assert result.returncode != 0
    assert "file_too_large" in result.stderr and "50 MB" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_dry_run_and_progress_bar(database_url, tmp_path):
    rows = "".join(f"431202102{n:03d},新{n}村\n" for n in range(900, 999))
    path = tmp_path / "v.csv"
    path.write_text("code,name\n" + rows, encoding="utf-8")
    result = registry(database_url, "import", "divisions", str(path), "--dry-run", "--progress")
    assert result.returncode == 0, result.stderr
    assert "created 99" in result.stdout and "dry run" in result.stdout
    assert "[" in result.stderr and "100.0%" in result.stderr
    export_path = tmp_path / "d.json"
    exported = registry(database_url, "export", "divisions", str(export_path))
    assert exported.returncode == 0
    assert not any(
        i["code"].startswith("4312021029") for i in json.loads(export_path.read_text())["items"]
    )
