"""Coverage outputs on both engines: GeoJSON, the SVG map (ETag / 304), the xlsx and CSV
report, and `registry report coverage`. Files are parsed back (xml.etree, openpyxl, csv)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from openpyxl import load_workbook

from geo.geojson_io import validate
from registry.coverage.rules import COVERAGE_CLASSES

NS = {"svg": "http://www.w3.org/2000/svg"}
HECHENG = "431202000000"
ZHONGFANG = "431221000000"
COUNTY_NAMES = {
    "431202000000": "鹤城区",
    "431221000000": "中方县",
    "431222000000": "沅陵县",
    "431223000000": "辰溪县",
    "431224000000": "溆浦县",
    "431225000000": "会同县",
    "431226000000": "麻阳苗族自治县",
    "431227000000": "新晃侗族自治县",
    "431228000000": "芷江侗族自治县",
    "431229000000": "靖州苗族侗族自治县",
    "431230000000": "通道侗族自治县",
    "431281000000": "洪江市",
}
# County-level units: the twelve counties with their outlines, and 怀化市洪江管理区 (a unit of
# the statistics without an outline of its own: its feature has no geometry, the SVG no path).
UNIT_NAMES = {**COUNTY_NAMES, "431271000000": "怀化市洪江管理区"}
AS_OF = "2014-04-18"


def coverage(client, **params):
    response = client.get("/api/coverage", params={"as_of": AS_OF, **params})
    assert response.status_code == 200, response.text
    return response.json()


def decimals(value: float) -> int:
    text = repr(value)
    return len(text.split(".")[1]) if "." in text else 0


# --------------------------------------------------------------------------- GeoJSON


def test_geojson_is_rfc7946_with_every_figure_on_each_county(client):
    response = client.get("/api/coverage.geojson", params={"as_of": AS_OF})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    data = response.json()
    assert validate(data) == []
    assert data["type"] == "FeatureCollection" and "crs" not in data
    assert data["as_of"] == AS_OF and data["campaign"] == "agency-points-2013"
    assert "0.001°" in data["simplification"]
    counties = [f for f in data["features"] if f["properties"]["layer"] == "county"]
    assert {f["id"]: f["properties"]["name"] for f in counties} == UNIT_NAMES
    assert [f["id"] for f in counties if f["geometry"] is None] == ["431271000000"]
    figures = {c["code"]: c for c in coverage(client)["counties"]}
    for f in counties:
        props = f["properties"]
        expected = figures[f["id"]]
        for key in ("villages_total", "points_in_service", "agency_coverage", "standardization"):
            assert props[key] == expected[key], key
        assert props["target"] == expected["target"] and props["on_track"] == expected["on_track"]
        assert props["flags"] == "" and props["as_of"] == AS_OF
        if f["geometry"] is None:
            continue  # 洪江管理区
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
        ring = f["geometry"]["coordinates"][0]
        ring = ring[0] if f["geometry"]["type"] == "MultiPolygon" else ring
        assert all(decimals(x) <= 4 and decimals(y) <= 4 for x, y in ring)  # map precision
        assert 108 < props["label_lon"] < 111 and 25 < props["label_lat"] < 29


def test_geojson_sites_carry_kind_and_status_on_the_date(client):
    site = client.template.sites["hecheng"]  # in service since 2013-06-01

    def sites(as_of, **params):
        data = client.get("/api/coverage.geojson", params={"as_of": as_of, **params}).json()
        assert validate(data) == []
        return {f["id"]: f for f in data["features"] if f["properties"]["layer"] == "site"}

    assert f"site-{site}" not in sites("2013-05-31")  # not registered yet on that date
    found = sites(AS_OF)[f"site-{site}"]
    assert found["geometry"]["type"] == "Point"
    assert found["properties"]["kind"] == "village_point"
    assert found["properties"]["status"] == "in_service"
    assert found["properties"]["county_code"] == HECHENG
    assert set(sites(AS_OF, county="431221")) == {f"site-{client.template.sites['zhongfang']}"}
    assert sites(AS_OF, status="built") == {}
    assert sites(AS_OF, sites="false") == {}


def test_geojson_round_trips_through_shapely(client):
    from shapely.geometry import shape

    data = client.get("/api/coverage.geojson", params={"sites": "false"}).json()
    total = 0.0
    for f in data["features"]:
        if f["geometry"] is None:  # 洪江管理区: no outline of its own
            continue
        geom = shape(f["geometry"])
        assert geom.is_valid
        total += geom.area
    assert 2.0 < total < 3.5  # 怀化市 is about 27,600 km² ≈ 2.5 square degrees at 27°N


# --------------------------------------------------------------------------- SVG map


def svg_root(client, **params):
    response = client.get("/api/maps/coverage.svg", params={"as_of": AS_OF, **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    return ET.fromstring(response.content), response


def test_svg_map_has_twelve_named_counties_coloured_by_class(client):
    root, _ = svg_root(client)
    paths = root.findall("svg:g[@id='areas']/svg:path", NS)
    assert {p.get("data-code"): p.get("data-name") for p in paths} == COUNTY_NAMES
    figures = {c["code"]: c for c in coverage(client)["counties"]}
    for path in paths:
        figure = figures[path.get("data-code")]["figure"]
        assert path.get("fill") == COVERAGE_CLASSES.colours[COVERAGE_CLASSES.classify(figure)]
        assert path.get("d").startswith("M")
    labels = [t.text for t in root.findall(".//svg:text[@class='area-name']", NS)]
    assert sorted(labels) == sorted(COUNTY_NAMES.values())


def test_svg_map_title_names_campaign_and_date(client):
    root, _ = svg_root(client, campaign="centres-2015")
    title = root.find("svg:title", NS).text
    assert "乡镇(街道)便民服务中心标准化建设" in title
    assert "2014年4月18日" in title
    subtitle = root.find(".//svg:text[@id='map-subtitle']", NS).text
    assert "便民服务中心标准化率" in subtitle and "centres-2015" in subtitle
    assert root.find("svg:g[@id='scale-bar']", NS) is not None
    assert "公里" in "".join(t.text for t in root.findall("svg:g[@id='scale-bar']/svg:text", NS))
    legend = root.findall("svg:g[@id='legend']/svg:rect[@class='legend-class']", NS)
    assert len(legend) == len(COVERAGE_CLASSES.colours) + 1


def test_svg_map_points_by_kind_and_status(client):
    root, _ = svg_root(client)
    assert root.find("svg:g[@id='points']", NS) is None
    root, _ = svg_root(client, sites="true")
    circles = root.findall("svg:g[@id='points']/svg:circle", NS)
    assert len(circles) == 2  # the template's two agency points
    assert {c.get("data-status") for c in circles} == {"in_service"}
    root, _ = svg_root(client, sites="true", kind="township_centre")
    assert root.findall("svg:g[@id='points']/svg:circle", NS) == []


def test_svg_map_etag_changes_exactly_when_the_map_does(client):
    _, first = svg_root(client)
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    again = client.get(
        "/api/maps/coverage.svg", params={"as_of": AS_OF}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    other = client.get(
        "/api/maps/coverage.svg",
        params={"as_of": "2014-04-19"},
        headers={"If-None-Match": etag},
    )
    assert other.status_code == 200 and other.headers["etag"] != etag
    today = client.get("/api/maps/coverage.svg")
    assert today.status_code == 200
    # A point suspended in 2020 changes today's map, not the map of AS_OF (2014).
    response = client.post(
        f"/api/sites/{client.template.sites['hecheng']}/status",
        json={"status": "suspended", "effective_date": "2020-01-01"},
        headers=client.auth("planner_hecheng"),
    )
    assert response.status_code == 201, response.text
    unchanged = client.get(
        "/api/maps/coverage.svg", params={"as_of": AS_OF}, headers={"If-None-Match": etag}
    )
    assert unchanged.status_code == 304
    changed = client.get("/api/maps/coverage.svg", headers={"If-None-Match": today.headers["etag"]})
    assert changed.status_code == 200 and changed.headers["etag"] != today.headers["etag"]
    assert changed.content != today.content


def test_geojson_has_an_etag_too(client):
    first = client.get("/api/coverage.geojson", params={"sites": "false"})
    again = client.get(
        "/api/coverage.geojson",
        params={"sites": "false"},
        headers={"If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304


# --------------------------------------------------------------------------- xlsx and CSV


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [(None, 401, "not_authenticated"), ("agent_hecheng", 403, "wrong_role")],
)
@pytest.mark.parametrize("path", ["/api/reports/coverage.xlsx", "/api/reports/coverage.csv"])
def test_report_is_for_planners_and_municipal(client, who, status, code, path):
    response = client.get(path, headers=client.auth(who))
    assert response.status_code == status
    assert response.json()["code"] == code


def test_xlsx_report_has_counties_total_and_townships(client):
    response = client.get(
        "/api/reports/coverage.xlsx", params={"as_of": AS_OF}, headers=client.auth("municipal")
    )
    assert response.status_code == 200, response.text
    assert "coverage-agency-points-2013-2014-04-18.xlsx" in response.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["各县市区", "乡镇(街道)明细"]
    ws = wb["各县市区"]
    title = ws["A1"].value
    assert "村(居)便民服务代办点两年内全面建成" in title and "2014年4月18日" in title
    assert "专项行动：村(居)便民服务代办点两年内全面建成" in ws["A2"].value
    headers = [c.value for c in ws[3]]
    assert headers[:7] == [
        "区划代码",
        "县市区",
        "村(社区)总数",
        "已建成代办点",
        "已运行代办点",
        "活跃代办点(近90天有办件)",
        "代办点覆盖率",
    ]
    assert "目标进度" in headers and "是否达到目标进度" in headers and "预计完成日期" in headers
    body = coverage(client)
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    assert len(rows) == 14  # 13 county-level units and the total
    col = {h: i for i, h in enumerate(headers)}
    for row, county in zip(rows, body["counties"], strict=False):
        assert row[col["区划代码"]] == county["code"] and row[col["县市区"]] == county["name"]
        assert row[col["村(社区)总数"]] == county["villages_total"]
        assert row[col["已运行代办点"]] == county["points_in_service"]
        assert row[col["代办点覆盖率"]] == pytest.approx(county["agency_coverage"])
        assert row[col["中心标准化率"]] == pytest.approx(county["standardization"])
        assert row[col["目标进度"]] == pytest.approx(0.5)
        assert row[col["是否达到目标进度"]] == ("是" if county["on_track"] else "否")
    total = rows[-1]
    assert total[col["县市区"]] == "全市合计"
    assert total[col["村(社区)总数"]] == body["total"]["villages_total"]
    assert total[col["已运行代办点"]] == body["total"]["points_in_service"] == 2
    assert ws.cell(4, col["代办点覆盖率"] + 1).number_format == "0.0%"
    detail = wb["乡镇(街道)明细"]
    detail_rows = list(detail.iter_rows(min_row=4, values_only=True))
    assert len(detail_rows) == 213  # 207 current townships, 6 abolished after 2014
    dh = [c.value for c in detail[3]]
    assert dh[:3] == ["县市区", "乡镇(街道)代码", "乡镇(街道)"]
    golden = next(r for r in detail_rows if r[1] == "431202102000")
    assert golden[0] == "鹤城区" and golden[2] == "黄金坳镇"
    assert sum(r[dh.index("村(社区)总数")] for r in detail_rows) == body["total"]["villages_total"]


def test_xlsx_report_is_reproducible(client):
    get = lambda: client.get(  # noqa: E731
        "/api/reports/coverage.xlsx",
        params={"as_of": AS_OF},
        headers=client.auth("planner_zhongfang"),
    )
    first, second = get(), get()
    assert first.status_code == 200
    wb1, wb2 = (load_workbook(io.BytesIO(r.content)) for r in (first, second))
    for name in wb1.sheetnames:
        assert list(wb1[name].values) == list(wb2[name].values)


def test_csv_report_counties_and_townships(client):
    headers = client.auth("planner_hecheng")
    response = client.get(
        "/api/reports/coverage.csv",
        params={"as_of": AS_OF, "campaign": "centres-2015"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 14 and rows[-1]["县市区"] == "全市合计"
    body = coverage(client, campaign="centres-2015")
    for row, county in zip(rows, body["counties"], strict=False):
        assert row["区划代码"] == county["code"]
        assert int(row["乡镇(街道)总数"]) == county["townships_total"]
        assert float(row["中心标准化率"]) == pytest.approx(county["standardization"])
        assert row["统计日期"] == AS_OF and row["专项行动"] == "乡镇(街道)便民服务中心标准化建设"
    townships = client.get(
        "/api/reports/coverage.csv", params={"as_of": AS_OF, "level": "township"}, headers=headers
    )
    trows = list(csv.DictReader(io.StringIO(townships.content.decode("utf-8-sig"))))
    assert len(trows) == 213
    empty = [r for r in trows if r["村(社区)总数"] == "0"]
    assert len(empty) == 6 and all(r["代办点覆盖率"] == "" and r["说明"] for r in empty)
    bad = client.get("/api/reports/coverage.csv", params={"level": "village"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_filter"


# --------------------------------------------------------------------------- CLI


def cli(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": database_url,
        "REGISTRY_VAR_DIR": str(tmp_path / "var"),
    }
    return subprocess.run(
        [sys.executable, "-m", "registry.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_writes_the_report(client, database_url, tmp_path):
    out = tmp_path / "report.xlsx"
    result = cli(database_url, tmp_path, "report", "coverage", "--as-of", AS_OF, "-o", str(out))
    assert result.returncode == 0, result.stderr
    wb = load_workbook(out)
    rows = list(wb["各县市区"].iter_rows(min_row=4, values_only=True))
    assert rows[-1][1] == "全市合计" and rows[-1][4] == 2
    via_api = client.get(
        "/api/reports/coverage.xlsx", params={"as_of": AS_OF}, headers=client.auth("municipal")
    )
    api_rows = list(
        load_workbook(io.BytesIO(via_api.content))["各县市区"].iter_rows(values_only=True)
    )
    assert list(wb["各县市区"].iter_rows(values_only=True)) == api_rows
    csv_out = tmp_path / "report.csv"
    result = cli(database_url, tmp_path, "report", "coverage", "--as-of", AS_OF, "-o", str(csv_out))
    assert result.returncode == 0, result.stderr
    assert csv_out.read_bytes().startswith("\ufeff".encode())


@pytest.fixture
def sqlite_url(sqlite_template, tmp_path) -> str:
    """A copy of the SQLite template (argument handling needs one engine only)."""
    source = Path(sqlite_template.url.removeprefix("sqlite:///"))
    target = tmp_path / "cli.sqlite3"
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2014-02-30"], "invalid_as_of"),
        (["--as-of", "2099-01-01"], "as_of_in_future"),
        (["--as-of", AS_OF, "--campaign", "nope"], "unknown_campaign"),
        (["--as-of", AS_OF, "-o", "/no/such/dir/r.xlsx"], "no such directory"),
        (["--as-of", AS_OF, "-o", "report.pdf"], ".xlsx or .csv"),
    ],
)
def test_cli_refuses_bad_input_in_one_line(sqlite_url, tmp_path, args, message):
    out = tmp_path / "r.xlsx"
    if "-o" not in args:
        args = [*args, "-o", str(out)]
    result = cli(sqlite_url, tmp_path, "report", "coverage", *args)
    assert result.returncode != 0
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
