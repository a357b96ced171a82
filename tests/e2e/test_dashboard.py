"""End to end: the public dashboard in headless Chromium on a real server (fixtures in
conftest.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.support import E2E_PASSWORD, E2E_USER, token

pytestmark = pytest.mark.e2e

XINHUANG = "431227000000"  # 新晃侗族自治县, the demo's stalled county


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def test_dashboard_maps_the_counties_and_drills_down(server, browser, tmp_path):
    from playwright.sync_api import expect

    host = urlsplit(server).netloc
    context = browser.new_context(viewport={"width": 1400, "height": 1600}, locale="zh-CN")
    foreign: list[str] = []

    def only_ours(route):  # every request must go to the registry itself
        url = urlsplit(route.request.url)
        if url.scheme in ("data", "blob") or url.netloc == host:
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    context.route("**/*", only_ours)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))

    page.goto(server + "/")
    expect(page.locator("#status")).to_contain_text("数据截至", timeout=30_000)

    # Twelve county shapes, each drawn and coloured (怀化市洪江管理区 has no outline of its own).
    counties = page.locator("#map path.county")
    expect(counties).to_have_count(12)
    today = httpx.get(server + "/api/coverage").json()
    names = {c["code"]: c["name"] for c in today["counties"]}
    for i in range(12):
        shape = counties.nth(i)
        assert len(shape.get_attribute("d") or "") > 100
        assert shape.get_attribute("fill", timeout=1000).startswith("#")
        assert names[shape.get_attribute("data-code")] == shape.get_attribute("data-name")
    # Thirteen county-level units in the table: and 洪江管理区.
    expect(page.locator("#county-table tbody tr")).to_have_count(13)
    expect(page.locator("#county-table tfoot tr td").first).to_have_text("怀化市")
    expect(page.locator("#chart path.actual")).to_have_count(1)

    # Hover: the county's figures in a tooltip.
    xinhuang = page.locator(f"#map path.county[data-code='{XINHUANG}']")
    xinhuang.hover()
    expect(page.locator("#tooltip")).to_be_visible()
    expect(page.locator("#tooltip")).to_contain_text("新晃侗族自治县")

    # Click: the county's figures, its townships and its points.
    xinhuang.click()
    expect(page.locator("#status")).to_contain_text("已选择 新晃侗族自治县")
    expect(page.locator("#detail-title")).to_contain_text("新晃侗族自治县")
    unit = httpx.get(server + "/api/coverage", params={"county": XINHUANG}).json()
    expected = unit["counties"][0]
    expect(page.locator("#detail-figure")).to_have_text(pct(expected["figure"]))
    expect(page.locator("#detail-figures")).to_contain_text(str(expected["villages_total"]))
    expect(page.locator("#township-table tbody tr")).to_have_count(len(unit["townships"]))
    assert page.locator("#site-points circle").count() > 50
    expect(page.locator("#chart-title")).to_contain_text("新晃侗族自治县")
    page.screenshot(path=str(tmp_path / "dashboard-county.png"), full_page=False)

    # Any past date: the same county on the campaign's first anniversary.
    page.fill("#as-of", "2014-04-18")
    expect(page.locator("#status")).to_contain_text("2014-04-18")
    past = httpx.get(
        server + "/api/coverage", params={"county": XINHUANG, "as_of": "2014-04-18"}
    ).json()["counties"][0]
    expect(page.locator("#detail-figure")).to_have_text(pct(past["figure"]))
    behind = httpx.get(server + "/api/coverage", params={"as_of": "2014-04-18"}).json()
    lagging = [c for c in behind["counties"] if c["on_track"] is False]
    expect(page.locator("#behind-counties li")).to_have_count(len(lagging))

    # Sortable table: by figure, descending then ascending.
    header = page.locator("#county-table th[data-key='figure'] button")
    header.click()
    order = [c["code"] for c in sorted(behind["counties"], key=lambda c: (-c["figure"], c["code"]))]
    rows = page.locator("#county-table tbody tr")
    expect(rows.first).to_have_attribute("data-code", order[0])
    assert [rows.nth(i).get_attribute("data-code") for i in range(13)] == order
    header.click()
    expect(rows.first).to_have_attribute("data-code", order[-1])

    # Non-conforming signs are listed (the demo has some).
    assert page.locator("#signage-table tbody tr").count() > 0

    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    context.close()

    assert errors == [], errors
    assert foreign == [], foreign
    assert all(urlsplit(u).netloc in (host, "") for u in requests), requests


def test_dashboard_is_xss_safe_with_hostile_sign_names(server, browser):
    """A sign name with markup is shown as text, never run."""
    from playwright.sync_api import expect

    # The register's signs are written by planners; an injected one must stay inert.
    token_ = token(server)
    sites = httpx.get(
        server + "/api/sites", params={"county": XINHUANG, "limit": 1, "kind": "village_point"}
    ).json()["items"]
    hostile = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">代办点'
    response = httpx.patch(
        f"{server}/api/sites/{sites[0]['id']}",
        json={"signage_name": hostile},
        headers={"Authorization": f"Bearer {token_}"},
    )
    assert response.status_code == 200, response.text
    context = browser.new_context()
    page = context.new_page()
    page.goto(server + f"/#county={XINHUANG}")
    expect(page.locator("#signage-table")).to_contain_text("<img src=x", timeout=30_000)
    expect(page.locator("#signage-table")).to_contain_text("<script>window.__xss=1</script>")
    assert page.locator("#signage-table img").count() == 0
    assert page.locator("#signage-table script").count() == 0
    assert page.evaluate("() => window.__xss === undefined")
    context.close()


def test_signed_in_municipal_downloads_the_report(server, browser, tmp_path):
    """Public readers see no report button; the municipal centre signs in and downloads it."""
    from openpyxl import load_workbook
    from playwright.sync_api import expect

    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server + "/#as_of=2015-04-18")
    expect(page.locator("#status")).to_contain_text("数据截至 2015-04-18", timeout=30_000)
    expect(page.locator("#report-xlsx")).to_be_hidden()
    page.click("#sign-in-toggle")
    page.fill("#username", E2E_USER)
    page.fill("#password", E2E_PASSWORD)
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#account-name")).to_contain_text(E2E_USER)
    expect(page.locator("#report-xlsx")).to_be_visible()
    with page.expect_download() as info:
        page.click("#report-xlsx")
    download = info.value
    assert download.suggested_filename == "coverage-agency-points-2013-2015-04-18.xlsx"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    sheet = load_workbook(target)["各县市区"]
    assert "2015年4月18日" in sheet["A1"].value
    assert sheet.cell(sheet.max_row, 2).value == "全市合计"
    page.click("#sign-out")
    expect(page.locator("#report-xlsx")).to_be_hidden()
    context.close()
    assert errors == [], errors
