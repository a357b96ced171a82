"""The municipal centre's page: a submitted county plan is returned with a comment (which the
planner then reads on their page), approved once resubmitted, and a later version is reviewed
against it (diff); accounts are created and disabled; the audit trail is searched."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO

import httpx
import pytest

from tests.e2e.support import (
    E2E_PASSWORD,
    E2E_USER,
    PHONE,
    bearer,
    make_account,
    open_context,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.e2e

ZHONGFANG = "431221000000"  # 中方县
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RETURN_COMMENT = "请补充资金来源并核对目标日期"


def filled_plan(server: str, headers: dict, day: datetime, changed: int = 0) -> bytes:
    """The county's template with every village planned (``changed`` rows get another date)."""
    from openpyxl import load_workbook

    template = httpx.get(
        server + "/api/plans/template.xlsx",
        params={"county": ZHONGFANG, "campaign": "agency-points-2013"},
        headers=headers,
    )
    assert template.status_code == 200, template.text
    villages = {}
    for t in httpx.get(
        server + "/api/divisions", params={"parent": ZHONGFANG, "level": "township"}
    ).json()["items"]:
        for v in httpx.get(
            server + "/api/divisions", params={"parent": t["code"], "limit": 1000}
        ).json()["items"]:
            villages[v["code"]] = v
    book = load_workbook(BytesIO(template.content))
    sheet = book["规划"]
    rows = [r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value]
    for n, r in enumerate(rows):
        village = villages.get(sheet.cell(r, 1).value, {})
        if (village.get("established_on") or "") > "2015-03-31":
            sheet.cell(r, 8).value = "新设村，纳入下一期"
            continue
        sheet.cell(r, 4).value = "已运行"
        sheet.cell(r, 5).value = datetime(2014, 12, 31) if n < changed else day
        sheet.cell(r, 6).value = 20_000
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def upload_and_submit(server: str, headers: dict, content: bytes, comment: str) -> dict:
    imported = httpx.post(
        server + "/api/plans/import", content=content, headers={**headers, "Content-Type": XLSX}
    )
    assert imported.status_code in (200, 201), imported.text
    plan = imported.json()["plan"]
    submitted = httpx.post(
        f"{server}/api/plans/{plan['id']}/submit", json={"comment": comment}, headers=headers
    )
    assert submitted.status_code == 200, submitted.text
    return submitted.json()


@pytest.fixture(scope="module")
def planner(server):
    username, password = make_account(server, "e2e_planner_zf", "county_planner", ZHONGFANG)
    headers = bearer(server, username, password)
    return {"username": username, "password": password, "headers": headers}


def test_municipal_returns_then_approves_a_plan_and_reviews_the_next_version(
    server, browser, planner, tmp_path
):
    from playwright.sync_api import expect

    content = filled_plan(server, planner["headers"], datetime(2015, 3, 31))
    first = upload_and_submit(server, planner["headers"], content, "第一稿")
    context, watch = open_context(browser, server)
    page = watch.page(context.new_page())
    sign_in(page, server, E2E_USER, E2E_PASSWORD, "/municipal")
    page.wait_for_selector("body[data-ready=true]")
    row = page.locator(f"#queue tbody tr[data-plan='{first['id']}']")
    expect(row).to_contain_text("中方县")
    row.click()
    expect(page.locator("#detail-heading")).to_contain_text("中方县")
    expect(page.locator("#detail-body")).to_contain_text("提交检查通过")
    expect(page.locator("#diff")).to_contain_text("这是第一版")

    # Return: a comment is required, then the plan goes back to the county.
    page.click("#return")
    expect(page.locator("#review-result")).to_contain_text("退回须填写审核意见")
    page.fill("#review-comment", RETURN_COMMENT)
    page.click("#return")
    expect(page.locator("#review-result")).to_contain_text("已退回：中方县 第 1 版")
    expect(page.locator("#detail-state")).to_have_attribute("data-state", "returned")
    expect(page.locator("#review-form")).to_be_hidden()
    expect(page.locator(f"#queue tbody tr[data-plan='{first['id']}']")).to_have_count(0)

    # The planner reads the comment on their page.
    other, other_watch = open_context(browser, server)
    planner_page = other_watch.page(other.new_page())
    sign_in(planner_page, server, planner["username"], planner["password"], "/planner")
    planner_page.click("#tab-btn-plan")
    expect(planner_page.locator("#plan-state")).to_have_attribute("data-state", "returned")
    expect(planner_page.locator("#reviews li[data-action=return]")).to_contain_text(RETURN_COMMENT)
    other.close()
    other_watch.check()

    # Resubmitted, it is approved.
    again = httpx.post(
        f"{server}/api/plans/{first['id']}/submit",
        json={"comment": "已补充", "confirm_unchanged": True},
        headers=planner["headers"],
    )
    assert again.status_code == 200, again.text
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    page.locator(f"#queue tbody tr[data-plan='{first['id']}']").click()
    expect(page.locator("#detail-reviews")).to_contain_text(RETURN_COMMENT)
    # Newest first, as on the planner's page: the resubmission, then the return, then the first.
    expect(page.locator("#detail-reviews li")).to_have_count(3)
    assert page.locator("#detail-reviews li").evaluate_all(
        "items => items.map(li => li.dataset.action)"
    ) == ["submit", "return", "submit"]
    expect(page.locator("#detail-reviews li").first).to_contain_text("已补充")
    page.fill("#review-comment", "同意")
    page.click("#approve")
    expect(page.locator("#review-result")).to_contain_text("已批准：中方县 第 1 版")
    approved = httpx.get(f"{server}/api/plans/{first['id']}", headers=bearer(server)).json()
    assert approved["state"] == "approved"
    assert [r["action"] for r in approved["reviews"]] == ["submit", "return", "submit", "approve"]

    # A second version: the review shows what changed against the approved one.
    second = upload_and_submit(
        server,
        planner["headers"],
        filled_plan(server, planner["headers"], datetime(2015, 3, 31), changed=5),
        "调整五个村的目标日期",
    )
    assert second["version"] == 2
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    page.locator(f"#queue tbody tr[data-plan='{second['id']}']").click()
    expect(page.locator("#diff-summary")).to_contain_text("对比第 1 版")
    expect(page.locator("#diff-summary")).to_contain_text("修改 5 项")
    expect(page.locator("#diff li.warn").first).to_contain_text("目标日期 2015-03-31 → 2014-12-31")
    screenshot(page, tmp_path, "municipal-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, tmp_path, "municipal-phone")
    context.close()
    watch.check()


def test_municipal_creates_and_disables_an_agent_and_finds_it_in_the_audit(
    server, browser, tmp_path
):
    from playwright.sync_api import expect

    context, watch = open_context(browser, server)
    page = watch.page(context.new_page())
    sign_in(page, server, E2E_USER, E2E_PASSWORD, "/municipal")
    page.wait_for_selector("body[data-ready=true]")
    page.click("#tab-btn-accounts")
    expect(page.locator("#users tbody tr").first).to_be_visible()

    page.check("input[name=role][value=village_agent]")
    page.select_option("#new-county", "431202000000")
    expect(page.locator("#new-point option").nth(1)).to_be_attached()
    point = page.locator("#new-point option").nth(1).get_attribute("value")
    page.select_option("#new-point", point)
    page.fill("#new-username", "e2e_new_agent")
    page.fill("#new-display", "<b>新</b>代办员")
    page.fill("#new-password", "Agent-Pass-2026!")
    page.click("#user-create")
    expect(page.locator("#user-result")).to_contain_text("已创建 e2e_new_agent")
    row = page.locator("#users tbody tr[data-user=e2e_new_agent]")
    expect(row).to_contain_text("<b>新</b>代办员")  # shown as text, never as markup
    assert row.locator("b").count() == 0
    assert (
        httpx.post(
            server + "/api/auth/token",
            json={"username": "e2e_new_agent", "password": "Agent-Pass-2026!"},
        ).json()["scope"]
        == point
    )

    row.get_by_role("button", name="停用").click()
    expect(page.locator("#users-result")).to_contain_text("已停用 e2e_new_agent")
    expect(row).to_contain_text("已停用")
    refused = httpx.post(
        server + "/api/auth/token",
        json={"username": "e2e_new_agent", "password": "Agent-Pass-2026!"},
    )
    assert refused.status_code == 401 and refused.json()["code"] == "account_disabled"
    screenshot(page, tmp_path, "municipal-accounts-desktop")

    page.click("#tab-btn-audit")
    page.select_option("#audit-entity", "account")
    page.fill("#audit-actor", E2E_USER)
    page.fill("#audit-q", "e2e_new_agent")  # an account by its username, not its id
    page.click("#audit-search")
    rows = page.locator("#audit tbody tr[data-entity=account]")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("修改")
    expect(rows.first).to_contain_text("账号状态：启用 → 停用")
    expect(rows.nth(1)).to_contain_text("新建")
    screenshot(page, tmp_path, "municipal-audit-desktop", docs=False)
    context.close()
    watch.check()
