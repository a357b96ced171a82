"""The village agent's page on a phone: cases logged with the network cut are kept on the device
(IndexedDB, through a reload), sent once the connection returns and stored exactly once; the
device then holds no clear resident data; a conflict is shown side by side and resolved."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.support import (
    DESKTOP,
    PHONE,
    bearer,
    make_account,
    open_context,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.e2e

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


RESIDENTS = [
    ("龙春花", resident_id("43120219850312002"), "13807451234", "SB001"),
    ("杨德胜", resident_id("43122119621105003"), "", "最低生活"),
    ("舒小红", resident_id("43122720010730004"), "0745-2712345", "残疾人证"),
]
BAD_CHECKSUM = RESIDENTS[0][1][:17] + ("0" if RESIDENTS[0][1][17] != "0" else "1")

DUMP_INDEXEDDB = """async () => {
  const db = await new Promise((ok, no) => {
    const r = indexedDB.open("registry-agent");
    r.onsuccess = () => ok(r.result);
    r.onerror = () => no(r.error);
  });
  const out = {};
  for (const name of db.objectStoreNames) {
    out[name] = await new Promise((ok) => {
      const r = db.transaction(name).objectStore(name).getAll();
      r.onsuccess = () => ok(r.result);
    });
  }
  db.close();
  return JSON.stringify(out);
}"""


@pytest.fixture(scope="module")
def agent(server):
    """A new agent account for an in-service village point of 鹤城区."""
    sites = httpx.get(
        server + "/api/sites",
        params={"county": "431202", "kind": "village_point", "status": "in_service", "limit": 1},
    ).json()["items"]
    username, password = make_account(server, "e2e_agent", "village_agent", str(sites[0]["id"]))
    return {"username": username, "password": password, "site": sites[0]}


def our_cases(server, agent):
    response = httpx.get(
        server + "/api/cases",
        params={"site": agent["site"]["id"], "limit": 1000},
        headers=bearer(server),
    )
    assert response.status_code == 200, response.text
    return [c for c in response.json()["items"] if c["created_by"] == agent["username"]]


def log_case(page, expect, name, number, phone, matter_words):
    page.fill("#matter-search", matter_words)
    first = page.locator("#matter-list input[name=matter]").first
    expect(page.locator("#matter-list label").first).to_contain_text(matter_words)
    first.check()
    expect(page.locator("#matter-info")).to_contain_text("办理时限")
    page.fill("#resident-name", name)
    page.fill("#resident-id", number)
    expect(page.locator("#resident-id-hint")).to_contain_text("校验通过")
    page.fill("#resident-phone", phone)
    page.click("#case-save")
    expect(page.locator("#form-status")).to_contain_text("已保存到本机（离线）")


def test_agent_logs_three_cases_offline_and_each_is_stored_exactly_once(
    server, browser, agent, tmp_path
):
    from playwright.sync_api import expect

    context, watch = open_context(browser, server, PHONE)
    page = watch.page(context.new_page())

    # The page asks for sign-in, then the agent lands on it; the service worker takes over.
    page.goto(server + "/agent")
    page.wait_for_url("**/login?next=%2Fagent")
    sign_in(page, server, agent["username"], agent["password"], "/agent")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("body[data-offline-ready=true]")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    expect(page.locator("#point-name")).to_contain_text(str(agent["site"]["id"]))
    before = len(our_cases(server, agent))
    assert before == 0
    screenshot(page, tmp_path, "agent-phone")

    # The network is cut: three cases are logged on the phone.
    context.set_offline(True)
    expect(page.locator("#net-text")).to_contain_text("离线")
    page.click("#tab-btn-new")
    page.fill("#resident-id", BAD_CHECKSUM)
    expect(page.locator("#resident-id-hint")).to_contain_text("校验码不符")
    expect(page.locator("#resident-id")).to_have_attribute("aria-invalid", "true")
    page.click("#case-save")
    expect(page.locator("#form-status")).to_contain_text("请选择代办事项")
    for name, number, phone, words in RESIDENTS:
        log_case(page, expect, name, number, phone, words)
    expect(page.locator("#pending-count")).to_have_text("3")
    screenshot(page, tmp_path, "agent-new-case-phone")

    # A reload while still offline: the page comes from the service worker, the records from
    # IndexedDB; one of them is forwarded on the spot (the record itself changes).
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#net-text")).to_contain_text("离线 · 3 条待同步")
    page.click("#tab-btn-cases")
    local = page.locator("#case-list li.local")
    expect(local).to_have_count(3)
    local.first.get_by_role("button", name="转办（报送乡镇）").click()
    expect(page.locator("#status")).to_contain_text("已转办：已保存到本机")
    page.click("#tab-btn-sync")
    expect(page.locator("#outbox-list li[data-status=pending]")).to_have_count(3)
    stored = page.evaluate(DUMP_INDEXEDDB)
    assert all(number in stored for _, number, _, _ in RESIDENTS)
    assert our_cases(server, agent) == []
    screenshot(page, tmp_path, "agent-sync-offline-phone", docs=False)

    # The tab is closed while offline; a new tab (no session: sign-in is per tab) still shows
    # the three records from IndexedDB.
    page.close()
    page = watch.page(context.new_page())
    page.goto(server + "/agent#tab-sync")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#account-name")).to_contain_text("离线，未登录")
    expect(page.locator("#outbox-list li[data-status=pending]")).to_have_count(3)

    # Back online: sign in again, and the records are sent at once, each result shown, each
    # case stored exactly once.
    context.set_offline(False)
    expect(page.locator("#sync-status")).to_contain_text("未登录")
    page.click("#relogin a")
    page.fill("#username", agent["username"])
    page.fill("#password", agent["password"])
    page.click("#login-submit")
    page.wait_for_url(server + "/agent", timeout=60_000)
    page.wait_for_selector("body[data-ready=true]")
    page.click("#tab-btn-sync")
    expect(page.locator("#pending-count")).to_have_text("0", timeout=20_000)
    expect(page.locator("#log-list li[data-result=created]")).to_have_count(3)
    expect(page.locator("#sync-status")).to_contain_text("全部记录已同步")
    cases = our_cases(server, agent)
    assert len(cases) == 3
    assert len({c["id"] for c in cases}) == 3
    assert sorted(c["resident_name_masked"] for c in cases) == sorted(
        n[0] + "*" + n[-1] for n, *_ in RESIDENTS
    )
    assert sorted(c["state"] for c in cases) == ["forwarded", "received", "received"]
    assert {c["resident_id_masked"][-4:] for c in cases} == {r[1][-4:] for r in RESIDENTS}

    # Acknowledged: no clear resident data is left on the device.
    stored = page.evaluate(DUMP_INDEXEDDB)
    for name, number, phone, _ in RESIDENTS:
        assert number not in stored and name not in stored
        assert not phone or phone not in stored
    assert json.loads(stored)["outbox"] == []

    # Syncing again sends nothing twice.
    page.click("#sync-now")
    expect(page.locator("#sync-status")).to_contain_text("全部记录已同步")
    assert len(our_cases(server, agent)) == 3

    # A conflict: completed here offline while another device changed the same case.
    forwarded = next(c for c in cases if c["state"] == "forwarded")
    page.click("#tab-btn-cases")
    card = page.locator(f"#case-list li[data-id='{forwarded['id']}']")
    expect(card).to_contain_text("已转办")
    context.set_offline(True)
    expect(page.locator("#net-text")).to_contain_text("离线")
    card.get_by_role("button", name="办结").click()
    expect(page.locator("#pending-count")).to_have_text("1")
    elsewhere = httpx.patch(
        f"{server}/api/cases/{forwarded['id']}",
        json={"version": forwarded["version"], "note": "乡镇已收件"},
        headers=bearer(server, agent["username"], agent["password"]),
    )
    assert elsewhere.status_code == 200, elsewhere.text
    watch.provoke(409)  # the edit based on the older version is refused with the server copy
    context.set_offline(False)
    page.click("#tab-btn-sync")
    conflict = page.locator("#outbox-list li[data-status=conflict]")
    expect(conflict).to_have_count(1, timeout=20_000)
    expect(conflict.locator(".compare")).to_contain_text("本机的")
    expect(conflict.locator(".compare")).to_contain_text("服务器上的")
    expect(conflict.locator(".compare")).to_contain_text("乡镇已收件")
    screenshot(page, tmp_path, "agent-conflict-phone")
    conflict.get_by_role("button", name="保留我的").click()
    expect(page.locator("#pending-count")).to_have_text("0", timeout=20_000)
    after = httpx.get(f"{server}/api/cases/{forwarded['id']}", headers=bearer(server)).json()
    assert after["state"] == "completed"
    assert after["note"] == "乡镇已收件"
    assert after["version"] == forwarded["version"] + 2

    # The point's monthly counts.
    page.click("#tab-btn-stats")
    expect(page.locator("#stats-table tbody tr")).to_have_count(12)
    stats = httpx.get(
        server + "/api/cases/stats", params={"site": agent["site"]["id"]}, headers=bearer(server)
    ).json()
    month = stats["as_of"][:7]
    assert stats["total"]["by_month"][month] >= 3
    first = page.locator("#stats-table tbody tr").first
    expect(first.locator("td").first).to_have_text(month)
    expect(first.locator("td.num")).to_have_text(str(stats["total"]["by_month"][month]))
    screenshot(page, tmp_path, "agent-stats-phone", docs=False)

    page.set_viewport_size(DESKTOP)
    page.click("#tab-btn-cases")
    page.locator("[data-filter=today]").click()
    expect(page.locator("#case-list li.item").nth(2)).to_be_visible()
    screenshot(page, tmp_path, "agent-desktop")
    context.close()
    watch.check()
