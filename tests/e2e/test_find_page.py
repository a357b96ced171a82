"""End to end: the residents' pages (/find and /s/{code}) in Chromium at 375 px on the demo
register: search by name and by initials, "use my location", a village without a point, the
site page with JavaScript off, keyboard use, axe-core, page weight and offline after a visit."""

from __future__ import annotations

import gzip
import re

import httpx
import pytest

from tests.e2e.support import bearer, open_context, screenshot

pytestmark = pytest.mark.e2e

PHONE_375 = {"width": 375, "height": 812}
YANGXIPU = "431222102204"
MAX_FIRST_LOAD_GZIP = 150 * 1024


def _axe_serious(page) -> list[str]:
    """axe-core's serious and critical violations of the page (axe bundled, run offline)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])})"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def _visible_latin(page) -> list[str]:
    text = page.locator("body").inner_text()
    words = set(re.findall(r"[A-Za-z]{3,}", text))
    return sorted(words - {"yangxipu", "yxp"})


def _village_without_point(server: str) -> dict:
    """A current village of the demo register with no agency point."""
    with_site: set[str] = set()
    offset = 0
    while True:
        page = httpx.get(
            server + "/api/sites", params={"limit": 1000, "offset": offset}, timeout=30
        ).json()
        with_site |= {s["division_code"] for s in page["items"]}
        offset += 1000
        if offset >= page["total"]:
            break
    offset = 0
    while True:
        page = httpx.get(
            server + "/api/divisions",
            params={"level": "village", "limit": 1000, "offset": offset},
            timeout=30,
        ).json()
        for d in page["items"]:
            if d["code"] not in with_site and not d["abolished_on"]:
                # Its name must find it first (unique enough among the results).
                found = httpx.get(server + "/api/find", params={"q": d["name"]}).json()
                if found["items"] and found["items"][0]["division_code"] == d["code"]:
                    return d
        offset += 1000
        if offset >= page["total"]:
            pytest.fail("every village of the demo has a point")


def _publish_hours_and_phone(server: str) -> None:
    """The municipal centre records 仰溪铺村's opening hours and public phone."""
    sites = httpx.get(server + "/api/sites", params={"q": "仰溪铺村", "limit": 5}).json()
    site = next(s for s in sites["items"] if s["division_code"] == YANGXIPU)
    week = {
        d: [["08:30", "12:00"], ["14:30", "17:30"]] for d in ("mon", "tue", "wed", "thu", "fri")
    }
    week |= {"sat": [["09:00", "12:00"]], "sun": []}
    response = httpx.patch(
        server + f"/api/sites/{site['id']}",
        json={"opening_hours": week, "public_phone": "0745-4561234", "address": "仰溪铺村村部一楼"},
        headers=bearer(server),
    )
    assert response.status_code == 200, response.text


def test_search_by_name_and_by_initials(server, browser, tmp_path):
    from playwright.sync_api import expect

    _publish_hours_and_phone(server)
    context, watch = open_context(browser, server, PHONE_375)
    page = watch.page(context.new_page())
    page.goto(server + "/find")
    expect(page.locator("h1")).to_have_text("找离您最近的便民服务点")
    page.fill("#q", "仰溪铺")
    page.press("#q", "Enter")
    card = page.locator("#results article").first
    expect(card.locator("h2")).to_have_text("仰溪铺村")
    expect(card).to_contain_text("本村的代办点")
    expect(card).to_contain_text("所属乡镇的便民服务中心")
    expect(card.locator("svg.map")).to_be_visible()
    expect(card.locator("a.tel").first).to_have_attribute("href", "tel:0745-4561234")

    page.fill("#q", "")
    page.fill("#q", "yxp")
    page.press("#q", "Enter")
    expect(page.locator("#results article h2").first).to_have_text("仰溪铺村")
    expect(page).to_have_url(re.compile(r"/find\?q=yxp$"))
    screenshot(page, tmp_path, "resident-find")
    assert _visible_latin(page) == []
    assert _axe_serious(page) == []
    # A county: its townships, each with its centre's state, linked to the centre's page.
    page.fill("#q", "沅陵县")
    page.press("#q", "Enter")
    county = page.locator("#results article").first
    expect(county.locator("h2")).to_have_text("沅陵县")
    towns = county.locator("ul.townships li")
    expect(towns.first).to_contain_text("便民服务中心")
    assert towns.count() >= 20
    screenshot(page, tmp_path, "resident-find-county")
    assert _axe_serious(page) == []
    page.fill("#q", "yxp")
    page.press("#q", "Enter")
    expect(page.locator("#results article h2").first).to_have_text("仰溪铺村")
    # The link to the site page and its matters.
    page.locator("#results article a.button").first.click()
    expect(page).to_have_url(re.compile(rf"/s/{YANGXIPU}#matters$"))
    expect(page.locator("#matters h2")).to_contain_text("可代办事项")
    watch.check()
    context.close()


def test_use_my_location_lists_the_nearest_points(server, browser, tmp_path):
    from playwright.sync_api import expect

    sites = httpx.get(server + "/api/sites", params={"status": "in_service", "limit": 1}).json()
    here = sites["items"][0]
    context, watch = open_context(
        browser,
        server,
        PHONE_375,
        geolocation={"longitude": here["lon"] + 0.001, "latitude": here["lat"]},
        permissions=["geolocation"],
    )
    page = watch.page(context.new_page())
    page.goto(server + "/find")
    page.click("#locate")
    nearby = page.locator("#results article").first
    expect(nearby.locator("h2")).to_have_text("离您最近的服务点")
    expect(nearby.locator(".point").first).to_contain_text(here["standard_name"])
    expect(nearby.locator(".point").first).to_contain_text("米")
    expect(page.locator("#status")).to_contain_text("找到离您最近的")
    screenshot(page, tmp_path, "resident-location")
    watch.check()
    context.close()


def test_a_location_outside_the_register_is_explained(server, browser):
    from playwright.sync_api import expect

    context, watch = open_context(
        browser,
        server,
        PHONE_375,
        geolocation={"longitude": 116.4, "latitude": 39.9},
        permissions=["geolocation"],
    )
    page = watch.page(context.new_page())
    watch.provoke(422)
    page.goto(server + "/find")
    page.click("#locate")
    expect(page.locator("#status")).to_contain_text("不在")
    expect(page.locator("#status")).to_contain_text("请输入村或乡镇名称")
    watch.check()
    context.close()


def test_a_village_without_a_point_names_the_nearest(server, browser, tmp_path):
    from playwright.sync_api import expect

    village = _village_without_point(server)
    context, watch = open_context(browser, server, PHONE_375)
    page = watch.page(context.new_page())
    page.goto(server + "/find")
    page.fill("#q", village["name"])
    page.press("#q", "Enter")
    card = page.locator("#results article").first
    expect(card.locator("h2")).to_have_text(village["name"])
    expect(card).to_contain_text("本村还没有设立便民服务代办点")
    expect(card).to_contain_text("最近的代办点")
    screenshot(page, tmp_path, "resident-no-point")
    watch.check()
    context.close()


def test_the_site_page_works_without_javascript_and_by_keyboard(server, browser, tmp_path):
    from playwright.sync_api import expect

    context, watch = open_context(browser, server, PHONE_375, java_script_enabled=False)
    page = watch.page(context.new_page())
    page.goto(server + f"/s/{YANGXIPU}")
    expect(page.locator("h1")).to_contain_text("仰溪铺村")
    expect(page.locator(".facts").first).to_contain_text("正在服务")
    expect(page.locator("svg.map")).to_be_visible()
    # Keyboard: the matters open with Enter on their summary (no script needed).
    first = page.locator("details.matter").first
    first.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(first).to_have_attribute("open", "")
    expect(first).to_contain_text("申请材料")
    screenshot(page, tmp_path, "resident-site")
    assert _visible_latin(page) == []
    # Printed: the header and buttons are left out.
    page.emulate_media(media="print")
    assert page.locator("header.bar").is_hidden()
    # Every guide prints with its materials, not only the matters' names.
    closed = page.locator("details.matter:not([open])").first
    expect(closed.locator("h4")).to_be_visible()
    expect(closed.locator("h4")).to_have_text("申请材料")
    page.emulate_media(media="screen")
    watch.check()
    context.close()

    context, watch = open_context(browser, server, PHONE_375)
    page = watch.page(context.new_page())
    page.goto(server + f"/s/{YANGXIPU}")
    assert _axe_serious(page) == []
    watch.provoke(404)
    page.goto(server + "/s/999999999999")
    expect(page.locator("h1")).to_have_text("没有找到这个服务点")
    assert _axe_serious(page) == []
    watch.check()
    context.close()


def test_the_search_page_answers_without_javascript(server, browser):
    from playwright.sync_api import expect

    context, watch = open_context(browser, server, PHONE_375, java_script_enabled=False)
    page = watch.page(context.new_page())
    page.goto(server + "/find")
    page.fill("#q", "yangxipu")
    page.press("#q", "Enter")
    expect(page).to_have_url(re.compile(r"/find\?q=yangxipu$"))
    expect(page.locator("#results article h2").first).to_have_text("仰溪铺村")
    page.locator("#results a.button").first.click()
    expect(page.locator("#matters")).to_be_visible()
    watch.check()
    context.close()


def test_the_search_page_is_usable_by_keyboard(server, browser):
    from playwright.sync_api import expect

    context, watch = open_context(browser, server, PHONE_375)
    page = watch.page(context.new_page())
    page.goto(server + "/find")
    page.keyboard.press("Tab")  # the skip link
    expect(page.locator("a.skip")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("yxp")
    page.keyboard.press("Enter")
    expect(page.locator("#results article h2").first).to_have_text("仰溪铺村")
    page.keyboard.press("Tab")
    expect(page.locator("button[type=submit]")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#locate")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#results a").first).to_be_focused()
    watch.check()
    context.close()


def test_first_load_weighs_less_than_150_kb_gzip(server):
    total = 0
    for path in ("/find", "/static/find.js", "/static/find.css"):
        raw = httpx.get(server + path, headers={"Accept-Encoding": "identity"}).content
        total += len(gzip.compress(raw, 6))
    answer = httpx.get(server + "/api/find", params={"q": "yxp"}).content
    total += len(gzip.compress(answer, 6))
    print(f"/find first load: {total} bytes gzip")
    assert total <= MAX_FIRST_LOAD_GZIP
    page = httpx.get(server + f"/s/{YANGXIPU}", headers={"Accept-Encoding": "identity"}).content
    print(f"/s/{YANGXIPU}: {len(gzip.compress(page, 6))} bytes gzip")
    assert len(gzip.compress(page, 6)) + 2_500 <= MAX_FIRST_LOAD_GZIP


def test_the_search_page_works_offline_after_a_visit(server, browser):
    from playwright.sync_api import expect

    context, _ = open_context(browser, server, PHONE_375)
    page = context.new_page()
    page.goto(server + "/find")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.fill("#q", "yxp")
    page.press("#q", "Enter")
    expect(page.locator("#results article h2").first).to_have_text("仰溪铺村")
    # Controlled from the next load on; search once more so the answer is kept.
    page.reload()
    expect(page.locator("#results article h2").first).to_have_text("仰溪铺村")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    context.set_offline(True)
    page.reload()
    expect(page.locator("h1")).to_have_text("找离您最近的便民服务点")
    expect(page.locator("#results article h2").first).to_have_text("仰溪铺村")
    # A search never made before says so, in Chinese.
    page.fill("#q", "hcq")
    page.press("#q", "Enter")
    expect(page.locator("#status")).to_contain_text("没有网络")
    context.set_offline(False)
    context.close()
