"""The agent's page as a clerk lives with it, on a 375 px phone (issue 19): the received time is
"now" when the form is opened and saved, the save confirmation is in view, a resident's name in
a note is caught on the device, the return reason survives a tab switch and Enter confirms it,
sync errors name fields in Chinese, a stale edit is a conflict to choose from, the network
state is told truthfully, the statistics are labelled; and the municipal centre's 节假日安排."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.support import bearer, make_account, open_context, screenshot, sign_in
from tests.e2e.test_agent_page import RESIDENTS

pytestmark = pytest.mark.e2e

PHONE_375 = {"width": 375, "height": 740}
NAME, NUMBER, _, _ = RESIDENTS[0]


@pytest.fixture(scope="module")
def clerk(server):
    """A new agent account for an in-service village point of 鹤城区."""
    sites = httpx.get(
        server + "/api/sites",
        params={"county": "431202", "kind": "village_point", "status": "in_service", "limit": 1},
    ).json()["items"]
    username, password = make_account(server, "e2e_clerk", "village_agent", str(sites[0]["id"]))
    return {"username": username, "password": password, "site": sites[0]}


def signed_in(browser, server, clerk, clock_at=None):
    context, watch = open_context(browser, server, PHONE_375)
    page = watch.page(context.new_page())
    if clock_at is not None:
        page.clock.install(time=clock_at)
    sign_in(page, server, clerk["username"], clerk["password"], "/agent")
    page.wait_for_selector("body[data-ready=true]")
    return context, watch, page


def server_case(server, clerk, state="received", matter="SB001"):
    """A case of the clerk's point made through the API (as another device would)."""
    headers = bearer(server, clerk["username"], clerk["password"])
    body = {
        "id": str(uuid.uuid4()),
        "site_id": clerk["site"]["id"],
        "matter_code": matter,
        "resident_name": NAME,
        "resident_id_number": NUMBER,
        "received_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
    }
    case = httpx.post(server + "/api/cases", json=body, headers=headers).json()
    if state == "forwarded":
        case = httpx.patch(
            f"{server}/api/cases/{case['id']}",
            json={
                "version": 1,
                "state": "forwarded",
                "forwarded_at": datetime.now(UTC).isoformat(),
            },
            headers=headers,
        ).json()
    return case


def in_view(page, selector) -> bool:
    return page.evaluate(
        """(s) => { const r = document.querySelector(s).getBoundingClientRect();
        return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; }""",
        selector,
    )


def test_received_time_is_now_when_saved_and_the_confirmation_is_in_view(
    server, browser, clerk, tmp_path
):
    from playwright.sync_api import expect

    opened = datetime.now(UTC) - timedelta(hours=2)
    context, watch, page = signed_in(browser, server, clerk, clock_at=opened)
    expect(page.locator("#status")).to_be_hidden()  # no empty band under the header
    # The page stays open two hours; the next resident comes.
    page.clock.fast_forward("02:00:00")
    page.click("#tab-btn-new")
    page.fill("#matter-search", "SB001")
    page.locator("#matter-list input[name=matter]").first.check()
    page.fill("#resident-name", NAME)
    page.fill("#resident-id", NUMBER)
    page.click("#case-save")
    expect(page.locator("#form-status")).to_contain_text("已保存到本机")
    assert in_view(page, "#form-status")
    page.click("#tab-btn-sync")
    expect(page.locator("#log-list li[data-result=created]")).to_have_count(1, timeout=20_000)
    cases = httpx.get(
        server + "/api/cases",
        params={"site": clerk["site"]["id"], "limit": 1000},
        headers=bearer(server),
    ).json()["items"]
    mine = [c for c in cases if c["created_by"] == clerk["username"]]
    received = datetime.fromisoformat(mine[0]["received_at"])
    assert abs(received - datetime.now(UTC)) < timedelta(minutes=10), received
    context.close()
    watch.check()


def test_common_names_find_matters_and_a_name_in_a_note_is_caught_on_the_device(
    server, browser, clerk, tmp_path
):
    from playwright.sync_api import expect

    context, watch, page = signed_in(browser, server, clerk)
    page.click("#tab-btn-new")
    # The common names clerks type find their matters (the catalogue's aliases).
    for words, name in (
        ("低保", "最低生活保障申请"),
        ("社保卡", "社会保障卡申领"),
        ("医保", "城乡居民基本医疗保险"),
    ):
        page.fill("#matter-search", words)
        expect(page.locator("#matter-list label").first).to_contain_text(name)
    page.fill("#matter-search", "SB001")
    page.locator("#matter-list input[name=matter]").first.check()
    page.fill("#resident-name", NAME)
    page.fill("#resident-id", NUMBER)
    page.fill("#case-note", f"{NAME[0]} · {NAME[1:]} 本人来办")
    page.click("#case-save")
    expect(page.locator("#form-status")).to_contain_text("备注不能包含居民姓名")
    expect(page.locator("#case-note")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#pending-count")).to_have_text("0")
    screenshot(page, tmp_path, "agent-note-name-phone")
    context.close()
    watch.check()


def test_return_reason_survives_a_tab_switch_enter_confirms_and_errors_say_chinese(
    server, browser, clerk, tmp_path
):
    from playwright.sync_api import expect

    case = server_case(server, clerk, "forwarded")
    context, watch, page = signed_in(browser, server, clerk)
    page.click("#tab-btn-cases")
    card = page.locator(f"#case-list li[data-id='{case['id']}']")
    card.get_by_role("button", name="退回").click()
    reason = card.locator("input[id^=reason-]")
    # The resident's name: the device has only the mask; the server refuses it at sync.
    reason.fill(f"{NAME}材料不全")
    page.click("#tab-btn-sync")
    page.click("#sync-now")  # a sync re-renders the list
    expect(page.locator("#sync-status")).to_contain_text("全部记录已同步")
    page.click("#tab-btn-cases")
    expect(card.locator("input[id^=reason-]")).to_have_value(f"{NAME}材料不全")
    watch.provoke(422)
    card.locator("input[id^=reason-]").press("Enter")
    expect(page.locator("#status")).to_contain_text("已退回")
    page.click("#tab-btn-sync")
    invalid = page.locator("#outbox-list li[data-status=invalid]")
    expect(invalid).to_have_count(1, timeout=20_000)
    expect(invalid).to_contain_text("退回原因不能包含")
    assert "returned_reason" not in invalid.inner_text()
    lines = invalid.locator("div.bad").all_inner_texts()
    assert len(lines) == 1, lines  # the point said once
    screenshot(page, tmp_path, "agent-sync-error-phone")
    invalid.get_by_role("button", name="放弃此记录").click()
    invalid.get_by_role("button", name="确认放弃（不可恢复）").click()
    context.close()
    watch.check()


def test_stale_step_is_a_conflict_with_both_copies(server, browser, clerk, tmp_path):
    from playwright.sync_api import expect

    case = server_case(server, clerk)
    # 30 working days from December 2026 end in 2027, whose arrangement is not yet known.
    long = server_case(server, clerk, matter="MZ001")
    assert long["due_provisional"] is True, long
    context, watch, page = signed_in(browser, server, clerk)
    page.click("#tab-btn-cases")
    expect(page.locator(f"#case-list li[data-id='{long['id']}']")).to_contain_text(
        f"办结期限 {long['due_on']}（预计）"
    )
    card = page.locator(f"#case-list li[data-id='{case['id']}']")
    expect(card).to_be_visible()
    context.set_offline(True)
    card.get_by_role("button", name="转办（报送乡镇）").click()
    # Device B takes 转办 then 退回 meanwhile.
    headers = bearer(server, clerk["username"], clerk["password"])
    now = datetime.now(UTC).isoformat()
    step = httpx.patch(
        f"{server}/api/cases/{case['id']}",
        json={"version": 1, "state": "forwarded", "forwarded_at": now},
        headers=headers,
    )
    step = httpx.patch(
        f"{server}/api/cases/{case['id']}",
        json={"version": 2, "state": "returned", "returned_at": now, "returned_reason": "材料不全"},
        headers=headers,
    )
    assert step.status_code == 200, step.text
    watch.provoke(409)
    context.set_offline(False)
    page.click("#tab-btn-sync")
    conflict = page.locator("#outbox-list li[data-status=conflict]")
    expect(conflict).to_have_count(1, timeout=20_000)
    expect(conflict.locator(".compare")).to_contain_text("服务器上的")
    expect(conflict.get_by_role("button", name="采用服务器的")).to_be_visible()
    expect(page.locator("#outbox-list li[data-status=invalid]")).to_have_count(0)
    screenshot(page, tmp_path, "agent-stale-conflict-phone")
    conflict.get_by_role("button", name="采用服务器的").click()
    expect(page.locator("#pending-count")).to_have_text("0")
    context.close()
    watch.check()


def test_network_state_is_told_truthfully_and_statistics_are_labelled(
    server, browser, clerk, tmp_path
):
    from playwright.sync_api import expect

    case = server_case(server, clerk)
    # 30 working days from December 2026 end in 2027, whose arrangement is not yet known.
    long = server_case(server, clerk, matter="MZ001")
    assert long["due_provisional"] is True, long
    context, watch, page = signed_in(browser, server, clerk)
    page.click("#tab-btn-cases")
    expect(page.locator(f"#case-list li[data-id='{long['id']}']")).to_contain_text(
        f"办结期限 {long['due_on']}（预计）"
    )
    card = page.locator(f"#case-list li[data-id='{case['id']}']")
    card.get_by_role("button", name="转办（报送乡镇）").click()
    expect(page.locator("#status")).to_contain_text("同步完成", timeout=20_000)
    context.set_offline(True)
    expect(page.locator("#net-text")).to_contain_text("离线")
    expect(page.locator("#status")).not_to_contain_text("同步完成")
    card.get_by_role("button", name="办结").click()
    # A new tab opened offline (no session in it): offline, never 在线.
    other = watch.page(context.new_page())
    other.goto(server + "/agent")
    other.wait_for_selector("body[data-ready=true]")
    expect(other.locator("#account-name")).to_contain_text("未登录")
    expect(other.locator("#net-text")).to_have_text("离线 · 1 条待同步")
    screenshot(other, tmp_path, "agent-offline-tab-phone")
    # The connection returns: the pill and the account name agree (signed out, not offline).
    context.set_offline(False)
    expect(other.locator("#net-text")).to_have_text("在线 · 1 条登录后同步")
    expect(other.locator("#account-name")).not_to_contain_text("离线")
    other.close()
    page.click("#tab-btn-stats")
    expect(page.locator("#stats-total-heading")).to_have_text("累计（全部时间）")
    expect(page.locator("#stats-months-heading")).to_have_text("近 12 个月每月受理数")
    screenshot(page, tmp_path, "agent-stats-labelled-phone")
    context.close()
    watch.check()


def test_municipal_centre_enters_next_years_holidays(server, browser, tmp_path):
    from playwright.sync_api import expect

    from tests.e2e.support import E2E_PASSWORD, E2E_USER

    context, watch = open_context(browser, server, {"width": 1366, "height": 900})
    page = watch.page(context.new_page())
    sign_in(page, server, E2E_USER, E2E_PASSWORD, "/municipal")
    calendar = httpx.get(server + "/api/calendar").json()
    year = calendar["next_year"]
    # A tab of its own, marked from every tab while next year's arrangement is missing.
    expect(page.locator("#calendar")).to_be_hidden()
    if calendar["next_year_missing"]:
        expect(page.locator("#calendar-badge")).to_have_text(f"缺 {year} 年")
    page.click("#tab-btn-calendar")
    section = page.locator("#calendar")
    expect(section.locator("h2")).to_have_text("节假日安排")
    if calendar["next_year_missing"]:
        expect(page.locator("#calendar-warning")).to_contain_text(f"尚未录入 {year} 年")
    expect(page.locator("#calendar-year")).to_have_value(str(year))
    page.fill("#calendar-holidays", f"{year}-01-01 元旦\n{year + 1}-01-01 元旦")
    watch.provoke(422)
    page.click("#calendar-save")
    expect(page.locator("#calendar-status")).to_contain_text(f"不在 {year} 年内")
    page.fill("#calendar-holidays", f"{year}-01-01 元旦")
    page.click("#calendar-save")
    expect(page.locator("#calendar-status")).to_contain_text(f"已保存 {year} 年")
    expect(page.locator("#calendar-warning")).to_be_hidden()
    expect(page.locator("#calendar-badge")).to_be_hidden()
    expect(page.locator(f"#calendar-years tr[data-year='{year}']")).to_contain_text("本系统录入")
    section.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "municipal-calendar.png"))
    assert httpx.get(server + "/api/calendar").json()["next_year_missing"] is False
    context.close()
    watch.check()
