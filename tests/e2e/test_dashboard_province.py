"""End to end: the dashboard of a registry whose root is a province (REGISTRY_ROOT=430000,
湖南's real register with demo histories): the province's cities in the table, a click opens a
city as an area of its own, a county its townships, and the back button climbs again."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import seed_home, serve

pytestmark = pytest.mark.e2e

ROOT = {"REGISTRY_ROOT": "430000"}
HUAIHUA = "431200000000"
XINHUANG = "431227000000"


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home: Path = tmp_path_factory.mktemp("e2e-province")
    seed_home(home, ["migrate"], ["seed", "--demo"], **ROOT)
    yield from serve(home, **ROOT)


def test_the_province_opens_city_by_city(province, browser, tmp_path):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 1600}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(province + "/")
    expect(page.locator("#status")).to_contain_text("数据截至", timeout=60_000)

    body = httpx.get(province + "/api/coverage", timeout=60).json()
    assert body["total"]["name"] == "湖南省"
    expect(page).to_have_title("湖南省便民服务中心与代办点建设进展")
    expect(page.locator("#page-title")).to_have_text("湖南省便民服务中心与代办点建设进展")
    expect(page.locator("#table-heading")).to_have_text("湖南省 · 各市州进展")
    expect(page.locator("#county-table thead th").first).to_have_text("市州")
    expect(page.locator("#county-table tbody tr")).to_have_count(len(body["cities"]))
    expect(page.locator("#county-table tfoot tr td").first).to_have_text("湖南省")
    # Every county of the province is on the map, unlabelled (122 names would not fit).
    outlined = sum(
        1
        for f in httpx.get(province + "/api/coverage.geojson?sites=false", timeout=60).json()[
            "features"
        ]
        if f["properties"].get("layer") == "county" and f["geometry"]
    )
    expect(page.locator("#map path.county")).to_have_count(outlined)
    assert outlined > 100
    assert page.locator("#county-labels text").count() == 0
    # Signs are described in Chinese only.
    expect(page.locator("#signage-table tbody tr").first).to_be_visible()
    assert " / " not in page.locator("#signage-table tbody").inner_text()
    page.screenshot(path=str(tmp_path / "province.png"), full_page=True)

    # A city opens as an area of its own: its counties, its townships behind target.
    page.click(f"#county-table tbody tr[data-code='{HUAIHUA}']")
    # The city's figures are loaded after the click: under the whole suite's load on a slow
    # machine that took over the default 5 s (the page said "正在加载 … 的数据").
    expect(page.locator("#status")).to_contain_text("数据截至", timeout=60_000)
    expect(page).to_have_title("怀化市便民服务中心与代办点建设进展", timeout=60_000)
    expect(page.locator("#table-heading")).to_have_text("怀化市 · 各县市区进展")
    expect(page.locator("#county-table tbody tr")).to_have_count(13)
    expect(page.locator("#county-labels text.label:not(.value)")).to_have_count(12)
    expect(page).to_have_url(re.compile("within=431200000000"))
    city = httpx.get(province + "/api/coverage", params={"within": HUAIHUA}).json()
    expect(page.locator("#detail-figures")).to_contain_text(str(city["total"]["villages_total"]))

    # A county shows its townships; back climbs to the city, then to the province.
    page.click(f"#map path.county[data-code='{XINHUANG}']")
    expect(page.locator("#detail-title")).to_contain_text("新晃侗族自治县")
    expect(page.locator("#back-to-city")).to_have_text("返回怀化市")
    page.click("#back-to-city")
    expect(page.locator("#detail-title")).to_contain_text("怀化市")
    expect(page.locator("#back-to-city")).to_have_text("返回上一级")
    page.click("#back-to-city")
    expect(page).to_have_title("湖南省便民服务中心与代办点建设进展")
    expect(page.locator("#back-to-city")).to_be_hidden()
    context.close()
    assert errors == [], errors
