"""Sign plates: one site's plate (SVG, PDF) with a QR code to its public page, a county's order
(PDF and order sheet) of the plates still missing or non-conforming, and the per-county counts
(both engines). The PDF is rendered with pdftoppm and its QR code read with zbarimg."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from registry.sites.plates import PLATES

HECHENG = "431202000000"
ZHONGFANG = "431221000000"
GOLDEN = "431202102000"  # 黄金坳镇
INSIDE_HECHENG = (109.99, 27.55)
BASE = "http://testserver.local"

# Skipped without the tools outside CI; under CI=true they must be there (.ci/run installs them).
needs_tools = pytest.mark.skipif(
    not (shutil.which("pdftoppm") and shutil.which("zbarimg"))
    and os.environ.get("CI", "").lower() != "true",
    reason="pdftoppm (poppler-utils) and zbarimg (zbar-tools) are needed",
)


def villages(client, township=GOLDEN):
    body = client.get("/api/divisions", params={"parent": township, "limit": 100}).json()
    return [
        v
        for v in body["items"]
        if v["kind"] == "村" and v["established_on"] is None and v["abolished_on"] is None
    ]


def register(client, code, **extra):
    body = {"division_code": code, "lon": INSIDE_HECHENG[0], "lat": INSIDE_HECHENG[1], **extra}
    response = client.post("/api/sites", json=body, headers=client.auth("planner_hecheng"))
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def hecheng_sites(client):
    """鹤城区: the template's point (in service, no sign), a conforming point, a point whose
    sign is wrong (its name begins like a formula), a planned point (no plate yet) and the
    黄金坳镇 centre (built, standard sign). 中方县: the template's point (no sign)."""
    found = [v for v in villages(client) if v["code"] != client.template.villages["hecheng"]]
    good = register(
        client,
        found[0]["code"],
        signage_name=found[0]["name"] + "便民服务代办点",
        status="in_service",
        effective_date="2014-01-01",
    )
    wrong = register(
        client,
        found[1]["code"],
        signage_name="=" + found[1]["name"] + "服务站",
        status="built",
        effective_date="2014-01-01",
    )
    planned = register(client, found[2]["code"])
    centre = register(
        client,
        GOLDEN,
        signage_name="黄金坳镇便民服务中心",
        status="built",
        effective_date="2014-01-01",
    )
    assert good["signage_conforms"] is True and wrong["signage_conforms"] is False
    return {
        "template": client.template.sites["hecheng"],
        "good": good,
        "wrong": wrong,
        "planned": planned,
        "centre": centre,
    }


def render_and_decode(pdf: bytes, tmp_path: Path, page: int = 1, dpi: int = 30) -> str:
    source = tmp_path / "sign.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            str(dpi),
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            str(source),
            str(tmp_path / "page"),
        ],
        check=True,
        capture_output=True,
    )
    decoded = subprocess.run(
        ["zbarimg", "-q", "--raw", str(tmp_path / "page.png")], capture_output=True, text=True
    )
    return decoded.stdout.strip()


def embedded_fonts(pdf: bytes, tmp_path: Path) -> list[str]:
    """The fonts pdffonts lists as embedded."""
    source = tmp_path / "fonts.pdf"
    source.write_bytes(pdf)
    listed = subprocess.run(
        ["pdffonts", str(source)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    return [line.split()[0] for line in listed if " yes " in line]


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    source = tmp_path / "text.pdf"
    source.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", str(source), "-"], capture_output=True, text=True, check=True
    ).stdout


def page_sizes_mm(pdf: bytes) -> list[tuple[float, float]]:
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    return [(round(float(w) / 72 * 25.4), round(float(h) / 72 * 25.4)) for w, h in boxes]


# ------------------------------------------------------------------------------ one plate


@needs_tools
@pytest.mark.parametrize("layout", ["horizontal", "vertical"])
def test_the_pdf_plate_is_real_size_and_its_qr_leads_to_the_public_page(client, tmp_path, layout):
    site_id = client.template.sites["hecheng"]
    site = client.get(f"/api/sites/{site_id}").json()
    response = client.get(f"{BASE}/api/sites/{site_id}/sign.pdf", params={"layout": layout})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    assert page_sizes_mm(response.content) == [PLATES[layout]]
    assert render_and_decode(response.content, tmp_path) == f"{BASE}/s/{site['division_code']}"
    # Ready for a sign maker: the Chinese face is in the file (the glyphs used), and the text
    # is the standard name (extractable, so the maker can check it).
    assert embedded_fonts(response.content, tmp_path), "no embedded font"
    text = pdf_text(response.content, tmp_path)
    flat = "".join(text.split())
    if layout == "horizontal":  # two lines: the place, the suffix
        assert site["standard_name"] in flat, flat
    else:  # one character a line, in two columns
        assert set(site["standard_name"]) <= set(flat), flat
    assert "扫码查看办事指南" in text


@needs_tools
def test_the_qr_code_leads_to_the_configured_public_address(client, tmp_path):
    """Behind a proxy the registry does not know the address residents use: the QR code takes
    REGISTRY_PUBLIC_BASE_URL."""
    runtime = client.app.state.runtime
    runtime.settings = replace(runtime.settings, public_base_url="https://bmfw.example.gov.cn")
    site_id = client.template.sites["hecheng"]
    site = client.get(f"/api/sites/{site_id}").json()
    response = client.get(f"/api/sites/{site_id}/sign.pdf")
    assert response.status_code == 200, response.text
    expected = f"https://bmfw.example.gov.cn/s/{site['division_code']}"
    assert render_and_decode(response.content, tmp_path) == expected
    assert expected in client.get(f"/api/sites/{site_id}/sign.svg").text


def test_the_svg_plate_names_the_site_at_real_size(client):
    site_id = client.template.sites["hecheng"]
    site = client.get(f"/api/sites/{site_id}").json()
    response = client.get(f"/api/sites/{site_id}/sign.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    svg = response.text
    assert 'width="1200mm" height="400mm" viewBox="0 0 1200 400"' in svg
    place = site["standard_name"].removesuffix("便民服务代办点")
    assert f">{place}<" in svg and ">便民服务代办点<" in svg
    assert f"/s/{site['division_code']}" in svg
    assert '<path d="M' in svg  # the QR code as vector squares
    vertical = client.get(f"/api/sites/{site_id}/sign.svg", params={"layout": "vertical"}).text
    assert 'width="400mm" height="1200mm"' in vertical


def test_a_plate_is_public_and_a_bad_layout_or_site_is_refused(client):
    site_id = client.template.sites["hecheng"]
    assert client.get(f"/api/sites/{site_id}/sign.svg").status_code == 200
    response = client.get(f"/api/sites/{site_id}/sign.pdf", params={"layout": "diagonal"})
    assert (response.status_code, response.json()["code"]) == (422, "invalid_layout")
    assert response.json()["detail_zh"] and response.json()["detail_en"]
    assert client.get("/api/sites/999999/sign.pdf").status_code == 404


# ------------------------------------------------------------------------------ county orders


def test_the_order_sheet_lists_the_missing_and_nonconforming_plates(client, hecheng_sites):
    import openpyxl

    response = client.get(
        "/api/signs/orders.xlsx",
        params={"county": HECHENG},
        headers=client.auth("planner_hecheng"),
    )
    assert response.status_code == 200, response.text
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "序号",
        "乡镇(街道)",
        "站点编号",
        "区划代码",
        "标准名称",
        "现有标识",
        "问题",
        "版式",
        "尺寸(毫米)",
        "数量",
    )
    body = rows[1:]
    assert sorted(r[2] for r in body) == sorted(
        [hecheng_sites["template"], hecheng_sites["wrong"]["id"]]
    )
    wrong = next(r for r in body if r[2] == hecheng_sites["wrong"]["id"])
    assert wrong[1] == "黄金坳镇"
    assert wrong[3] == hecheng_sites["wrong"]["division_code"]  # a code stays text
    assert wrong[4] == hecheng_sites["wrong"]["standard_name"]
    assert wrong[5].startswith("=")  # text, never a live formula
    assert wrong[7:] == ("横版", "1200×400", 1)
    for row in sheet.iter_rows(min_row=2):
        assert row[5].data_type != "f"
    missing = next(r for r in body if r[2] == hecheng_sites["template"])
    assert missing[5] == "" or missing[5] is None
    assert "未挂牌" in missing[6]


@needs_tools
def test_the_order_pdf_has_one_real_size_page_per_plate(client, hecheng_sites, tmp_path):
    response = client.get(
        f"{BASE}/api/signs/orders.pdf",
        params={"layout": "vertical"},  # a planner's own county by default
        headers=client.auth("planner_hecheng"),
    )
    assert response.status_code == 200, response.text
    assert page_sizes_mm(response.content) == [PLATES["vertical"]] * 2
    urls = {render_and_decode(response.content, tmp_path, page) for page in (1, 2)}
    assert urls == {
        f"{BASE}/s/{client.template.villages['hecheng']}",
        f"{BASE}/s/{hecheng_sites['wrong']['division_code']}",
    }


@pytest.mark.parametrize(
    ("who", "county", "status", "code"),
    [
        ("planner_zhongfang", HECHENG, 403, "out_of_scope"),
        ("agent_hecheng", HECHENG, 403, "wrong_role"),
        (None, HECHENG, 401, "not_authenticated"),
        ("municipal", None, 422, "county_required"),
        ("municipal", "12", 422, None),
    ],
)
def test_orders_are_for_the_countys_planners_and_the_centre(client, who, county, status, code):
    params = {"county": county} if county else {}
    for path in ("/api/signs/orders.xlsx", "/api/signs/orders.pdf"):
        response = client.get(path, params=params, headers=client.auth(who))
        assert response.status_code == status, response.text
        if code:
            assert response.json()["code"] == code


def test_the_municipal_centre_orders_for_any_county(client, hecheng_sites):
    response = client.get(
        "/api/signs/orders.xlsx", params={"county": ZHONGFANG}, headers=client.auth("municipal")
    )
    assert response.status_code == 200
    import openpyxl

    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.values)
    assert [r[2] for r in rows[1:]] == [client.template.sites["zhongfang"]]


# ------------------------------------------------------------------------------ summary


def test_the_summary_counts_what_each_county_still_has_to_replace(client, hecheng_sites):
    response = client.get("/api/signs/summary", headers=client.auth("municipal"))
    assert response.status_code == 200, response.text
    body = response.json()
    by_county = {i["county_code"]: i for i in body["items"]}
    assert by_county[HECHENG] == {
        "county_code": HECHENG,
        "county_name": "鹤城区",
        "sites": 4,  # the planned point needs no plate yet
        "conforming": 2,
        "missing": 1,
        "nonconforming": 1,
        "to_replace": 2,
    }
    assert by_county[ZHONGFANG]["to_replace"] == 1
    assert body["to_replace"] == sum(i["to_replace"] for i in body["items"])
    # Against a direct count of the register.
    sites = client.get("/api/sites", params={"county": HECHENG, "limit": 500}).json()["items"]
    direct = [
        s
        for s in sites
        if s["status"] not in ("planned", "closed") and s["signage_conforms"] is not True
    ]
    assert len(direct) == by_county[HECHENG]["to_replace"]


def test_a_corrected_sign_leaves_the_order(client, hecheng_sites):
    wrong = hecheng_sites["wrong"]
    response = client.patch(
        f"/api/sites/{wrong['id']}",
        json={"version": wrong["version"], "signage_name": wrong["standard_name"]},
        headers=client.auth("planner_hecheng"),
    )
    assert response.status_code == 200, response.text
    summary = client.get("/api/signs/summary", headers=client.auth("municipal")).json()
    assert {i["county_code"]: i["to_replace"] for i in summary["items"]}[HECHENG] == 1


def test_a_planner_sees_only_their_countys_count(client, hecheng_sites):
    body = client.get("/api/signs/summary", headers=client.auth("planner_zhongfang")).json()
    assert [i["county_code"] for i in body["items"]] == [ZHONGFANG]
    assert client.get("/api/signs/summary").status_code == 401
