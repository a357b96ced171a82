"""The county planner's page: a site registered by clicking the county map (standard sign name
shown, a wrong one flagged live), a status change recorded, and the county's plan downloaded as
the xlsx template, filled (openpyxl), uploaded with row errors, corrected and submitted."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO

import httpx
import pytest
from shapely.geometry import shape

from tests.e2e.support import (
    PHONE,
    bearer,
    make_account,
    open_context,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.e2e

XUPU = "431224000000"  # 溆浦县: the demo leaves some of its villages without a point

# Client (viewport) coordinates of a lon/lat on the map: the SVG's user units are (lon·k, −lat).
TO_SCREEN = """([lon, lat]) => {
  const svg = document.getElementById("map");
  const k = parseFloat(svg.getAttribute("data-k"));
  const m = svg.getScreenCTM();
  const x = lon * k, y = -lat;
  return [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f];
}"""
HIT = "([x, y]) => (document.elementFromPoint(x, y) || {}).getAttribute?.('class') || ''"


def county_villages(server: str) -> list[dict]:
    townships = httpx.get(
        server + "/api/divisions", params={"parent": XUPU, "level": "township", "limit": 1000}
    ).json()["items"]
    villages = []
    for township in townships:
        villages += httpx.get(
            server + "/api/divisions", params={"parent": township["code"], "limit": 1000}
        ).json()["items"]
    return villages


def village_without_point(server: str, villages: list[dict]) -> dict:
    sites = httpx.get(server + "/api/sites", params={"county": XUPU, "limit": 1000}).json()
    taken = {s["division_code"] for s in sites["items"] if s["status"] != "closed"}
    for village in villages:
        if village["code"] not in taken and not village["abolished_on"]:
            return village
    raise AssertionError("every village of the county has a point")


def click_inside_county(page, server: str) -> tuple[float, float]:
    """Click an empty spot of the county on the map; return the lon/lat aimed at."""
    boundary = httpx.get(
        f"{server}/api/divisions/{XUPU}/boundary", params={"simplified": "true"}
    ).json()
    inside = shape(boundary["geometry"]).representative_point()
    x, y = page.evaluate(TO_SCREEN, [inside.x, inside.y])
    for dx, dy in [(0, 0), (12, 0), (0, 12), (-12, 0), (0, -12), (12, 12), (-12, -12)]:
        if "county" in page.evaluate(HIT, [x + dx, y + dy]):
            page.mouse.click(x + dx, y + dy)
            return inside.x, inside.y
    raise AssertionError("no free spot near the representative point")


def fill_template(content: bytes, late: set[str], broken: bool = False) -> tuple[bytes, int]:
    """Plan every pre-filled row; villages set up after the campaign (``late``) and the last row
    get a reason instead. Returns the workbook and the number of rows planned."""
    from openpyxl import load_workbook

    book = load_workbook(BytesIO(content))
    sheet = book["规划"]
    rows = [r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value]
    planned = 0
    for n, r in enumerate(rows):
        if n == len(rows) - 1 or sheet.cell(r, 1).value in late:
            sheet.cell(r, 8).value = "拟与邻村合并或新设，暂不列入本期"
            continue
        sheet.cell(r, 4).value = "已运行"
        sheet.cell(r, 5).value = datetime(2015, 3, 31)
        sheet.cell(r, 6).value = 30_000
        sheet.cell(r, 7).value = "县财政"
        planned += 1
    if broken:
        sheet.cell(rows[1], 5).value = "明年上半年"  # text in a date cell
    out = BytesIO()
    book.save(out)
    return out.getvalue(), planned


def test_planner_registers_a_site_on_the_map_and_submits_a_plan(server, browser, tmp_path):
    from playwright.sync_api import expect

    username, password = make_account(server, "e2e_planner_xupu", "county_planner", XUPU)
    villages = county_villages(server)
    village = village_without_point(server, villages)
    late = {v["code"] for v in villages if (v["established_on"] or "") > "2015-03-31"}
    standard = village["name"] + "便民服务代办点"
    context, watch = open_context(browser, server)
    page = watch.page(context.new_page())
    sign_in(page, server, username, password, "/planner")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#page-title")).to_contain_text("溆浦县")
    expect(page.locator("#map path.county")).to_have_count(1)
    total = httpx.get(server + "/api/sites", params={"county": XUPU, "limit": 1}).json()["total"]
    expect(page.locator("#sites-count")).to_contain_text(f"共 {total} 个")

    # Pick the division: the standard sign name appears; a wrong name is flagged live.
    page.select_option("#township", village["parent_code"])
    page.select_option("#division", village["code"])
    expect(page.locator("#standard-name")).to_have_text(standard)
    page.fill("#signage", village["name"] + "服务点")
    expect(page.locator("#signage-hint")).to_contain_text("不规范")
    expect(page.locator("#signage")).to_have_attribute("aria-invalid", "true")
    page.fill("#signage", standard)
    expect(page.locator("#signage-hint")).to_contain_text("符合标准名称")

    # Click the map: the click becomes WGS-84 coordinates inside the county.
    lon, lat = click_inside_county(page, server)
    expect(page.locator("#coord-hint")).to_contain_text("位于溆浦县")
    assert page.input_value("#crs") == "wgs84"
    assert abs(float(page.input_value("#lon")) - lon) < 0.01
    assert abs(float(page.input_value("#lat")) - lat) < 0.01
    page.select_option("#status-new", "planned")
    page.fill("#effective-date", "2026-03-01")
    page.click("#site-save")
    expect(page.locator("#site-result")).to_contain_text("已登记：" + standard)
    site_id = page.locator("#site-result").get_attribute("data-site-id")
    site = httpx.get(f"{server}/api/sites/{site_id}").json()
    assert site["division_code"] == village["code"]
    assert site["signage_conforms"] is True
    assert site["coord_method"] == "map_pick"
    assert abs(site["lon"] - lon) < 0.01 and abs(site["lat"] - lat) < 0.01
    expect(page.locator(f"#map circle.site[data-id='{site_id}']")).to_have_class("site selected")
    expect(page.locator("#sites-count")).to_contain_text(f"共 {total + 1} 个")

    # Record a status change with its date.
    page.select_option("#status-next", "under_construction")
    page.fill("#status-date", "2026-05-10")
    page.click("#status-save")
    expect(page.locator("#status-result")).to_contain_text("已记录：在建（2026-05-10）")
    history = httpx.get(f"{server}/api/sites/{site_id}/history").json()
    assert [(e["status"], e["effective_date"]) for e in history["events"]] == [
        ("planned", "2026-03-01"),
        ("under_construction", "2026-05-10"),
    ]
    screenshot(page, tmp_path, "planner-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, tmp_path, "planner-phone")
    page.set_viewport_size({"width": 1366, "height": 900})

    # The plan: template down, filled, uploaded with an error, corrected, submitted.
    page.click("#tab-btn-plan")
    expect(page.locator("#plan-state")).to_have_attribute("data-state", "none")
    with page.expect_download() as info:
        page.click("#template-download")
    info.value.save_as(tmp_path / "template.xlsx")
    template = (tmp_path / "template.xlsx").read_bytes()
    assert info.value.suggested_filename.endswith(".xlsx")

    (tmp_path / "broken.xlsx").write_bytes(fill_template(template, late, broken=True)[0])
    watch.provoke(422)  # the broken workbook is refused with its row errors
    page.set_input_files("#plan-file", str(tmp_path / "broken.xlsx"))
    page.click("#upload")
    expect(page.locator("#upload-result")).to_contain_text("未导入任何数据")
    errors = page.locator("#row-errors tbody tr")
    expect(errors.first).to_contain_text("第3行")
    expect(errors.first).to_contain_text("目标日期")
    screenshot(page, tmp_path, "planner-plan-errors-desktop", docs=False)

    filled, planned = fill_template(template, late)
    (tmp_path / "plan.xlsx").write_bytes(filled)
    page.set_input_files("#plan-file", str(tmp_path / "plan.xlsx"))
    page.click("#upload")
    expect(page.locator("#upload-result")).to_contain_text("已创建规划")
    expect(page.locator("#upload-result")).to_contain_text("可以提交审核")
    expect(page.locator("#row-errors")).to_be_hidden()
    expect(page.locator("#plan-state")).to_have_attribute("data-state", "draft")
    page.fill("#submit-comment", "按模板填报，请审核")
    page.click("#plan-submit")
    expect(page.locator("#submit-result")).to_contain_text("已提交审核")
    expect(page.locator("#plan-state")).to_have_attribute("data-state", "submitted")
    expect(page.locator("#reviews li[data-action=submit]")).to_contain_text("按模板填报")
    overview = httpx.get(
        server + "/api/plans",
        params={"county": XUPU, "campaign": "agency-points-2013"},
        headers=bearer(server),
    ).json()["items"][0]
    assert overview["state"] == "submitted"
    assert overview["item_count"] == planned
    screenshot(page, tmp_path, "planner-plan-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, tmp_path, "planner-plan-phone", docs=False)
    context.close()
    watch.check()
