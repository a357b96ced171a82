"""The public dashboard as people use it: on a 375 px phone (no sideways scroll, text at least
11 px, a tapped county's tooltip closed by a second tap or a tap elsewhere); the drill-down in
the URL (Back and Forward, a pasted link, a lagging county's link brings its figures into view);
the non-conforming signs paged, in Chinese, their headings over their columns."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.e2e.support import open_context, screenshot

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 800}
WIDE = {"width": 1400, "height": 1000}
XINHUANG = "431227000000"  # 新晃侗族自治县
HECHENG = "431202000000"  # 鹤城区

# Every visible text smaller than 11 px on screen (SVG text scaled by its drawing's width).
SMALL_TEXT = """() => {
  const small = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const parent = node.parentElement;
    if (!text || !parent || parent.closest("[hidden], option, script, title")) continue;
    const box = parent.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    let size = parseFloat(getComputedStyle(parent).fontSize);
    const drawing = parent.closest("svg");
    if (drawing) {
      const view = drawing.viewBox.baseVal;
      size *= drawing.getBoundingClientRect().width / view.width;
    }
    if (size < 10.95) small.push(text + " " + size.toFixed(1));
  }
  return small;
}"""


# Where a cell's text starts on screen.
TEXT_LEFT = """n => {
  const r = document.createRange();
  r.selectNodeContents(n);
  return r.getBoundingClientRect().left;
}"""


def ready(page) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#status")).to_contain_text("数据截至", timeout=60_000)


def test_the_dashboard_fits_a_phone(server, browser, tmp_path):
    from playwright.sync_api import expect

    context, watch = open_context(browser, server, PHONE, has_touch=True, is_mobile=True)
    page = watch.page(context.new_page())
    page.goto(server + "/")
    ready(page)
    expect(page.locator("#chart path.actual")).to_be_attached()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
    # The campaign select within the screen, its label on one line.
    select = page.locator("#campaign").bounding_box()
    assert select["x"] >= 0 and select["x"] + select["width"] <= 375
    label = page.locator(".campaign-field > span").bounding_box()
    assert label["height"] < 30 and label["width"] > 40
    assert page.evaluate(SMALL_TEXT) == []
    screenshot(page, tmp_path, "dashboard-phone")

    # A tap shows a county's tooltip; a second tap on it, or a tap elsewhere, closes it.
    county = page.locator(f"#map path.county[data-code='{XINHUANG}']")
    tooltip = page.locator("#tooltip")
    county.tap()
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text("新晃侗族自治县")
    page.locator("#map-heading").tap()
    expect(tooltip).to_be_hidden()
    county.tap()
    expect(tooltip).to_be_visible()
    county.tap()
    expect(tooltip).to_be_hidden()
    ready(page)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
    assert page.evaluate(SMALL_TEXT) == []
    context.close()
    watch.check()


def test_the_drill_down_follows_the_url(server, browser):
    from playwright.sync_api import expect

    context, watch = open_context(browser, server, WIDE)
    page = watch.page(context.new_page())
    page.goto(server + "/")
    ready(page)
    title = page.locator("#detail-title")
    expect(title).to_contain_text("怀化市")

    page.click(f"#county-table tbody tr[data-code='{HECHENG}']")
    expect(title).to_contain_text("鹤城区")
    expect(page).to_have_url(re.compile(f"county={HECHENG}"))
    page.go_back()
    expect(title).to_contain_text("怀化市")
    expect(page).not_to_have_url(re.compile("county="))
    expect(page.locator("#county-table tbody tr.selected")).to_have_count(0)
    page.go_forward()
    expect(title).to_contain_text("鹤城区")

    # A pasted link (the fragment changes in the same tab) shows what it names.
    page.evaluate(f"window.location.hash = '#county={XINHUANG}'")
    expect(title).to_contain_text("新晃侗族自治县")
    expect(page.locator(f"#map path.county.selected[data-code='{XINHUANG}']")).to_have_count(1)
    page.go_back()
    expect(title).to_contain_text("鹤城区")

    # A lagging county's link shows its figures, in view.
    page.goto(server + "/")
    ready(page)
    link = page.locator("#behind-counties a.link").first
    name = link.inner_text()
    link.scroll_into_view_if_needed()
    link.click()
    expect(title).to_contain_text(name)
    expect(title).to_be_in_viewport()
    page.go_back()
    expect(title).to_contain_text("怀化市")
    context.close()
    watch.check()


def test_the_non_conforming_signs_are_paged_in_chinese(server, browser):
    from playwright.sync_api import expect

    total = httpx.get(
        server + "/api/sites", params={"signage_conforms": "false", "limit": 1}
    ).json()["total"]
    assert total > 100
    context, watch = open_context(browser, server, WIDE)
    page = watch.page(context.new_page())
    page.goto(server + "/")
    ready(page)
    note = page.locator("#signage-note")
    rows = page.locator("#signage-table tbody tr")
    expect(note).to_have_text(f"共 {total} 个，显示第 1–50 个。")
    expect(rows).to_have_count(50)
    first = rows.first.inner_text()
    page.click("#signage-next")
    expect(note).to_have_text(f"共 {total} 个，显示第 51–100 个。")
    assert rows.first.inner_text() != first
    expect(page.locator("#signage-prev")).to_be_enabled()
    page.click("#signage-prev")
    expect(note).to_have_text(f"共 {total} 个，显示第 1–50 个。")
    # Chinese only in the problems column.
    problems = page.locator("#signage-table tbody td:nth-child(3)").all_inner_texts()
    assert problems and not [p for p in problems if re.search("[A-Za-z]", p)]
    # Each heading starts where its column's cells start.
    heads = page.locator("#signage-table thead th")
    cells = rows.first.locator("td")
    for i in range(heads.count()):
        head = heads.nth(i).evaluate(
            "n => n.getBoundingClientRect().left + parseFloat(getComputedStyle(n).paddingLeft)"
        )
        cell = cells.nth(i).evaluate(
            "n => n.getBoundingClientRect().left + parseFloat(getComputedStyle(n).paddingLeft)"
        )
        text_head = heads.nth(i).evaluate(TEXT_LEFT)
        text_cell = cells.nth(i).evaluate(TEXT_LEFT)
        assert abs(head - cell) < 2 and abs(text_head - text_cell) < 2, (i, text_head, text_cell)
    context.close()
    watch.check()
