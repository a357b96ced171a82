"""Bulk import of divisions and sites over HTTP (both engines): formats, re-import, scope,
and every kind of bad input — each refused with a row- or file-level error, nothing written."""

from __future__ import annotations

import codecs
import csv
import io
import json
import zipfile
from dataclasses import replace

import openpyxl
import pytest

from geo.boundaries import load_regions_geojson
from geo.crs import from_wgs84
from seed.loader import HUAIHUA

GOLDEN = "431202102000"  # 黄金坳镇, 鹤城区
ZHONGFANG_TOWNSHIP = "431221105000"
HECHENG = "431202000000"
REGIONS = {
    r.code.ljust(12, "0"): replace(r, code=r.code.ljust(12, "0"))
    for r in load_regions_geojson(HUAIHUA / "boundaries.gcj02.geojson", crs="gcj02")
}
INSIDE_HECHENG = (109.99, 27.55)
INSIDE_ZHONGFANG = REGIONS["431221000000"].geometry.representative_point().coords[0]
FAR_OUTSIDE_HECHENG = INSIDE_ZHONGFANG  # a point in 中方县, kilometres from 鹤城区
VILLAGES_HEADER = "code,name\n"
NEW_VILLAGES = "431202102901,大坪村\n431202102902,迎丰社区\n"
SITES_HEADER = "division_code,lon,lat,crs,status,effective_date,signage_name\n"


def csv_bytes(text: str, encoding: str = "utf-8") -> bytes:
    if encoding == "utf-8-sig":
        return codecs.BOM_UTF8 + text.encode("utf-8")
    return text.encode(encoding)


def upload(client, what, content, who="municipal", content_type="text/csv", **params):
    return client.post(
        f"/api/import/{what}",
        content=content,
        params=params,
        headers={**client.auth(who), "Content-Type": content_type},
    )


def division(client, code):
    return client.get(f"/api/divisions/{code}")


def codes_of(body):
    return [i["code"] for i in body["report"]["issues"] if i["level"] == "error"]


def xlsx_bytes(rows):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- divisions


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_municipal_imports_villages_from_csv_in_any_excel_encoding(client, encoding):
    response = upload(client, "divisions", csv_bytes(VILLAGES_HEADER + NEW_VILLAGES, encoding))
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["committed"] is True
    assert report["created"] == 2 and report["errors"] == 0
    assert report["encoding"] == {"gbk": "gb18030"}.get(encoding, encoding)
    village = division(client, "431202102901").json()
    assert village["name"] == "大坪村" and village["kind"] == "村"
    assert village["parent_code"] == GOLDEN and village["county_code"] == HECHENG
    assert division(client, "431202102902").json()["kind"] == "社区"


def test_chinese_headers_tabs_and_nine_digit_parent_codes_are_understood(client):
    text = "区划代码\t名称\t上级代码\n431202102903\t石门村\t431202102\n"
    response = upload(client, "divisions", csv_bytes(text, "gbk"))
    assert response.status_code == 200, response.text
    assert division(client, "431202102903").json()["parent_code"] == GOLDEN


def test_reimport_updates_instead_of_duplicating(client):
    upload(client, "divisions", csv_bytes(VILLAGES_HEADER + NEW_VILLAGES))
    total = client.get("/api/divisions", params={"parent": GOLDEN}).json()["total"]
    again = upload(client, "divisions", csv_bytes(VILLAGES_HEADER + NEW_VILLAGES))
    assert again.json()["unchanged"] == 2 and again.json()["created"] == 0
    renamed = upload(
        client, "divisions", csv_bytes(VILLAGES_HEADER + "431202102901,大坪新村\n")
    ).json()
    assert renamed["updated"] == 1
    assert client.get("/api/divisions", params={"parent": GOLDEN}).json()["total"] == total
    assert division(client, "431202102901").json()["name"] == "大坪新村"


def test_dry_run_checks_everything_and_writes_nothing(client):
    before = client.snapshot()
    response = upload(
        client, "divisions", csv_bytes(VILLAGES_HEADER + NEW_VILLAGES), dry_run="true"
    )
    assert response.status_code == 200
    assert response.json()["created"] == 2 and response.json()["committed"] is False
    assert client.snapshot() == before


BAD_DIVISION_FILES = [
    ("duplicate_code", VILLAGES_HEADER + NEW_VILLAGES + "431202102901,重复村\n"),
    ("unknown_parent", VILLAGES_HEADER + "431202199901,孤村\n"),
    ("unknown_parent", "code,name,parent_code\n431202102904,某村,431202199000\n"),
    ("invalid_parent", "code,name,parent_code\n431202102904,某村,431202000000\n"),
    ("unknown_column", "code,name,villages\n431202102904,某村,3\n"),
    ("missing_column", "code\n431202102904\n"),
    ("duplicate_column", "code,name,名称\n431202102904,某村,某村\n"),
    ("extra_cells", VILLAGES_HEADER + "431202102904,某村,多余\n"),
    ("missing_cells", "code,name,kind\n431202102904,某村\n"),
    ("invalid_code", VILLAGES_HEADER + "4312021029,某村\n"),
    ("unknown_division_kind", VILLAGES_HEADER + "431202102904,某组\n"),
    ("invalid_kind", "code,name,kind\n431202102904,某村,镇\n"),
    ("level_mismatch", "code,name,level\n431202102904,某村,township\n"),
    (
        "invalid_dates",
        "code,name,established_on,abolished_on\n431202102904,某村,2015-01-01,2014-01-01\n",
    ),
    ("invalid_date", "code,name,established_on\n431202102904,某村,去年\n"),
    ("control_character", VILLAGES_HEADER + "431202102904,某\x07村\n"),
    ("empty_file", ""),
]


@pytest.mark.parametrize(("code", "text"), BAD_DIVISION_FILES)
def test_bad_division_file_is_refused_with_its_code_and_nothing_changes(client, code, text):
    before = client.snapshot()
    response = upload(client, "divisions", csv_bytes(text))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "import_invalid"
    assert code in codes_of(body)
    assert body["report"]["committed"] is False
    assert client.snapshot() == before


def test_wrong_encoding_is_a_file_level_error(client):
    before = client.snapshot()
    latin1 = (VILLAGES_HEADER + "431202102904,Café é\n").encode("latin-1")
    body = upload(client, "divisions", latin1).json()
    issue = body["report"]["issues"][0]
    assert issue["code"] == "wrong_encoding" and issue["row"] is None
    assert client.snapshot() == before


def test_row_errors_name_the_spreadsheet_row_and_column(client):
    text = VILLAGES_HEADER + "431202102905,好村\n\n431202102906,某\x07村\n"
    body = upload(client, "divisions", csv_bytes(text)).json()
    errors = [i for i in body["report"]["issues"] if i["level"] == "error"]
    assert errors == [
        {
            "row": 4,
            "column": "name",
            "code": "control_character",
            "message": errors[0]["message"],
            "level": "error",
        }
    ]
    warnings = [i for i in body["report"]["issues"] if i["level"] == "warning"]
    assert [(w["row"], w["code"]) for w in warnings] == [(3, "blank_row")]


def test_blank_lines_are_skipped_with_a_warning(client):
    text = "\n" + VILLAGES_HEADER + "431202102901,大坪村\n\n\n431202102902,迎丰社区\n\n"
    response = upload(client, "divisions", csv_bytes(text))
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 2
    assert [i["code"] for i in response.json()["issues"]] == ["blank_row", "blank_row"]


def test_one_bad_row_at_the_end_writes_nothing_of_the_file(client):
    rows = "".join(f"431202102{900 + n:03d},新{n}村\n" for n in range(1, 60))
    before = client.snapshot()
    response = upload(client, "divisions", csv_bytes(VILLAGES_HEADER + rows + "bad,坏村\n"))
    assert response.status_code == 422
    assert response.json()["report"]["valid_rows"] == 59
    assert client.snapshot() == before


def test_parents_created_in_the_same_file_are_found(client):
    text = "code,name\n431202150000,新设镇\n431202150201,新设村\n431202150001,新设社区\n"
    response = upload(client, "divisions", csv_bytes(text))
    assert response.status_code == 200, response.text
    assert division(client, "431202150201").json()["parent_code"] == "431202150000"
    assert division(client, "431202150000").json()["kind"] == "镇"


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [(None, 401, "not_authenticated"), ("agent_hecheng", 403, "wrong_role")],
)
def test_only_planners_and_the_municipal_centre_may_import(client, who, status, code):
    before = client.snapshot()
    response = upload(client, "divisions", csv_bytes(VILLAGES_HEADER + NEW_VILLAGES), who=who)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert client.snapshot() == before


def test_planner_imports_only_rows_of_their_county(client):
    own = upload(
        client, "divisions", csv_bytes(VILLAGES_HEADER + NEW_VILLAGES), who="planner_hecheng"
    )
    assert own.status_code == 200, own.text
    before = client.snapshot()
    other = upload(
        client,
        "divisions",
        csv_bytes(VILLAGES_HEADER + "431202102907,本县村\n431221105901,外县村\n"),
        who="planner_hecheng",
    )
    assert other.status_code == 422
    issues = other.json()["report"]["issues"]
    assert [(i["row"], i["code"]) for i in issues] == [(3, "out_of_scope")]
    assert client.snapshot() == before


def test_xlsx_with_numeric_codes_and_dates_imports(client):
    content = xlsx_bytes(
        [
            ["区划代码", "名称", "设立日期"],
            [431202102908, "新合村", None],
            [None, None, None],
            [431202102909, "合并村", "2014-07-01"],
        ]
    )
    response = upload(
        client,
        "divisions",
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    assert response.status_code == 200, response.text
    assert response.json()["format"] == "xlsx" and response.json()["created"] == 2
    assert division(client, "431202102909").json()["established_on"] == "2014-07-01"


def _bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    return out.getvalue()


def test_xlsx_bomb_is_refused_before_inflating(client):
    before = client.snapshot()
    content = _bomb()
    assert len(content) < 100_000
    body = upload(client, "divisions", content, format="xlsx").json()
    assert body["report"]["issues"][0]["code"] == "xlsx_bomb"
    assert client.snapshot() == before


def test_upload_over_the_limit_is_refused_with_a_clear_message(client, monkeypatch):
    import registry.transfer.api as api

    monkeypatch.setattr(api, "MAX_FILE_BYTES", 1000)
    before = client.snapshot()
    response = upload(client, "divisions", b"code,name\n" + b"x" * 5000)
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "file_too_large" and "limit" in body["detail"]
    assert client.snapshot() == before


def _square(lon, lat, d=0.01):
    return {
        "type": "Polygon",
        "coordinates": [
            [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
        ],
    }


def test_geojson_divisions_bring_boundaries_converted_from_gcj02(client):
    lon, lat = from_wgs84(*INSIDE_HECHENG, "gcj02")
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "431202102910", "name": "边界村", "crs": "gcj02"},
                "geometry": _square(lon, lat),
            },
            {
                "type": "Feature",
                "properties": {"code": "431202102911", "name": "无界村"},
                "geometry": None,
            },
        ],
    }
    response = upload(
        client, "divisions", json.dumps(doc).encode(), content_type="application/geo+json"
    )
    assert response.status_code == 200, response.text
    assert response.json()["boundaries"] == 1
    feature = client.get("/api/divisions/431202102910/boundary").json()
    first = feature["geometry"]["coordinates"][0][0]
    assert abs(first[0] - INSIDE_HECHENG[0]) < 1e-5 and abs(first[1] - INSIDE_HECHENG[1]) < 1e-5


def test_geojson_self_intersecting_boundary_is_a_row_error(client):
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[110, 27.5], [110.1, 27.6], [110.1, 27.5], [110, 27.6], [110, 27.5]]],
    }
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "431202102912", "name": "坏界村"},
                "geometry": bowtie,
            }
        ],
    }
    before = client.snapshot()
    body = upload(client, "divisions", json.dumps(doc).encode(), format="geojson").json()
    assert [(i["row"], i["column"], i["code"]) for i in body["report"]["issues"]] == [
        (1, "geometry", "invalid_geometry")
    ]
    assert client.snapshot() == before


# --------------------------------------------------------------------------- sites


def village_codes(client, township=GOLDEN, n=3):
    items = client.get("/api/divisions", params={"parent": township, "limit": 100}).json()["items"]
    return [
        v["code"]
        for v in items
        if v["kind"] == "村" and v["abolished_on"] is None and v["established_on"] is None
    ][1 : n + 1]


def site_line(code, point=INSIDE_HECHENG, crs="wgs84", status="", day="", sign=""):
    lon, lat = from_wgs84(*point, crs) if crs != "wgs84" else point
    return f"{code},{lon},{lat},{crs},{status},{day},{sign}\n"


@pytest.mark.parametrize("crs", ["wgs84", "cgcs2000", "gcj02", "bd09"])
def test_sites_import_converts_every_datum_to_wgs84(client, crs):
    code = village_codes(client, n=1)[0]
    response = upload(client, "sites", csv_bytes(SITES_HEADER + site_line(code, crs=crs)))
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
    site = client.get("/api/sites", params={"township": GOLDEN, "status": "planned"}).json()
    found = next(s for s in site["items"] if s["division_code"] == code)
    assert abs(found["lon"] - INSIDE_HECHENG[0]) < 1e-6
    assert abs(found["lat"] - INSIDE_HECHENG[1]) < 1e-6
    assert found["crs"] == crs


def test_sites_reimport_updates_the_open_site_and_appends_a_status_event_only_on_change(client):
    code = village_codes(client, n=1)[0]
    first = SITES_HEADER + site_line(code, status="in_service", day="2014-03-01", sign="某某站")
    assert upload(client, "sites", csv_bytes(first)).json()["created"] == 1
    site = client.get("/api/sites", params={"township": GOLDEN, "status": "in_service"}).json()
    site_id = next(s["id"] for s in site["items"] if s["division_code"] == code)
    same = upload(client, "sites", csv_bytes(first)).json()
    assert (same["unchanged"], same["status_events"]) == (1, 0)
    moved = SITES_HEADER + site_line(code, status="suspended", day="2015-01-05", sign="某某站")
    changed = upload(client, "sites", csv_bytes(moved)).json()
    assert (changed["updated"], changed["status_events"], changed["created"]) == (1, 1, 0)
    history = client.get(f"/api/sites/{site_id}/history").json()
    assert [(e["status"], e["effective_date"]) for e in history["events"]] == [
        ("in_service", "2014-03-01"),
        ("suspended", "2015-01-05"),
    ]
    detail = client.get(f"/api/sites/{site_id}").json()
    assert detail["status"] == "suspended" and detail["signage_conforms"] is False


def test_status_change_on_reimport_needs_an_effective_date(client):
    code = village_codes(client, n=1)[0]
    upload(
        client, "sites", csv_bytes(SITES_HEADER + site_line(code, status="built", day="2014-01-01"))
    )
    before = client.snapshot()
    body = upload(
        client, "sites", csv_bytes(SITES_HEADER + site_line(code, status="in_service"))
    ).json()
    assert codes_of(body) == ["effective_date_required"]
    assert client.snapshot() == before


def test_chinese_status_labels_are_accepted(client):
    code = village_codes(client, n=1)[0]
    response = upload(
        client,
        "sites",
        csv_bytes(SITES_HEADER + site_line(code, status="已运行", day="2014-05-01")),
    )
    assert response.status_code == 200, response.text
    sites = client.get("/api/sites", params={"township": GOLDEN, "status": "in_service"}).json()
    assert code in [s["division_code"] for s in sites["items"]]


def bad_site_files(client):
    a, b, c = village_codes(client, n=3)
    swapped = f"{a},{INSIDE_HECHENG[1]},{INSIDE_HECHENG[0]},wgs84,,,\n"
    return {
        "coordinates_swapped": swapped,
        "outside_boundary": site_line(b, point=FAR_OUTSIDE_HECHENG),
        "unknown_division": site_line("431202102999"),
        "division_level_not_allowed": site_line(HECHENG),
        "duplicate_code": site_line(c) + site_line(c),
        "unknown_crs": site_line(a, crs="wgs84").replace(",wgs84,", ",utm,"),
        "not_a_number": f"{a},东经110度,27.5,wgs84,,,\n",
        "coordinates_out_of_range": f"{a},200,27.5,wgs84,,,\n",
        "unknown_status": site_line(a, status="done"),
        "status_not_for_kind": site_line(a, status="standardized", day="2014-01-01"),
        "effective_date_in_future": site_line(a, status="built", day="2999-01-01"),
    }


@pytest.mark.parametrize(
    "code",
    [
        "coordinates_swapped",
        "outside_boundary",
        "unknown_division",
        "division_level_not_allowed",
        "duplicate_code",
        "unknown_crs",
        "not_a_number",
        "coordinates_out_of_range",
        "unknown_status",
        "status_not_for_kind",
        "effective_date_in_future",
    ],
)
def test_bad_site_row_is_refused_with_its_code_and_nothing_changes(client, code):
    good = village_codes(client, n=4)[3]
    lines = bad_site_files(client)[code]
    text = SITES_HEADER + site_line(good) + lines
    before = client.snapshot()
    response = upload(client, "sites", csv_bytes(text))
    assert response.status_code == 422, response.text
    assert code in codes_of(response.json())
    assert client.snapshot() == before


def test_outside_boundary_says_where_the_point_falls(client):
    code = village_codes(client, n=1)[0]
    body = upload(
        client, "sites", csv_bytes(SITES_HEADER + site_line(code, point=FAR_OUTSIDE_HECHENG))
    ).json()
    message = body["report"]["issues"][0]["message"]
    assert "中方县" in message and "m outside" in message


def test_planner_cannot_import_sites_of_another_county(client):
    village = village_codes(client, township=ZHONGFANG_TOWNSHIP, n=1)[0]
    before = client.snapshot()
    body = upload(
        client,
        "sites",
        csv_bytes(SITES_HEADER + site_line(village, point=INSIDE_ZHONGFANG)),
        who="planner_hecheng",
    ).json()
    assert codes_of(body) == ["out_of_scope"]
    assert client.snapshot() == before


def test_report_downloads_as_csv_with_bom_and_as_xlsx(client):
    text = SITES_HEADER + site_line("431202102999") + site_line("431202102998")
    as_csv = upload(client, "sites", csv_bytes(text), report="csv")
    assert as_csv.status_code == 422
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.content.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[0] == ["row", "column", "level", "code", "message"]
    assert [(r[0], r[3]) for r in rows[1:]] == [
        ("2", "unknown_division"),
        ("3", "unknown_division"),
    ]
    as_xlsx = upload(client, "sites", csv_bytes(text), report="xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content)).active
    assert [c.value for c in sheet[1]] == ["row", "column", "level", "code", "message"]
    assert sheet.max_row == 3


def test_geojson_points_import_as_sites(client):
    code = village_codes(client, n=1)[0]
    lon, lat = from_wgs84(*INSIDE_HECHENG, "gcj02")
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "division_code": code,
                    "crs": "gcj02",
                    "status": "built",
                    "effective_date": "2014-06-01",
                },
            }
        ],
    }
    response = upload(
        client, "sites", json.dumps(doc).encode(), content_type="application/geo+json"
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1 and response.json()["status_events"] == 1


def test_geojson_site_without_a_point_is_a_row_error(client):
    code = village_codes(client, n=1)[0]
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": _square(110, 27.5),
                "properties": {"division_code": code},
            }
        ],
    }
    before = client.snapshot()
    body = upload(client, "sites", json.dumps(doc).encode(), format="geojson").json()
    assert codes_of(body) == ["invalid_geometry"]
    assert client.snapshot() == before


def test_import_is_audited_as_one_file_and_per_site(client):
    codes = village_codes(client, n=2)
    text = SITES_HEADER + "".join(site_line(c) for c in codes)
    assert upload(client, "sites", csv_bytes(text)).status_code == 200
    entries = client.get(
        "/api/audit",
        params={"entity": "site", "action": "create"},
        headers=client.auth("municipal"),
    ).json()
    assert entries["total"] == 2
    summary = client.get(
        "/api/audit", params={"action": "import"}, headers=client.auth("municipal")
    ).json()
    assert summary["items"][0]["entity"] == "sites"


def test_a_large_file_of_sites_across_counties_is_written_in_one_transaction(client):
    import numpy as np

    from seed.scale import _points

    rng = np.random.default_rng(1)
    everything = []
    for offset in range(0, 4000, 1000):
        params = {"level": "village", "limit": 1000, "offset": offset}
        everything += client.get("/api/divisions", params=params).json()["items"]
    lines = []
    for county, region in REGIONS.items():
        if county == "431200000000":
            continue
        villages = [
            v["code"]
            for v in everything
            if v["county_code"] == county
            and v["abolished_on"] is None
            and v["code"] != client.template.villages.get("hecheng")
            and v["code"] != client.template.villages.get("zhongfang")
        ][:60]
        for code, (lon, lat) in zip(
            villages, _points(region.geometry, len(villages), rng), strict=True
        ):
            lines.append(f"{code},{lon},{lat},wgs84,in_service,2014-05-01,\n")
    assert len(lines) > 450
    response = upload(client, "sites", csv_bytes(SITES_HEADER + "".join(lines)))
    assert response.status_code == 200, response.text
    assert response.json()["created"] == len(lines)
    assert response.json()["status_events"] == len(lines)
    listed = client.get("/api/sites", params={"status": "in_service", "limit": 1}).json()
    assert listed["total"] == len(lines) + 2
