"""The municipal page as the centre's clerk lives with it (1400 px): the audit trail found by a
case number, a site's name or a division code and shown in words (Chinese field names and
values, China time only); a reversed period explained; accounts named by their scope (a point's
sign and township, the city), their buttons on one line; a page of another role says which role
it needs; the sign-in page says the wait in minutes when one clerk's typos pause their account
(and only theirs)."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import serve
from tests.e2e.support import (
    E2E_PASSWORD,
    E2E_USER,
    bearer,
    make_account,
    open_context,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.e2e

WIDE = {"width": 1400, "height": 1000}
HECHENG = "431202000000"
# Raw codes and times that must not reach the page.
RAW = re.compile(
    r"received|forwarded|village_point|in_service|true|false|\+00:00|UTC|T\d\d:\d\d|代办点 \d"
)


@pytest.fixture(scope="module")
def agent_case(server) -> dict:
    """An agent of a 鹤城区 point, and a case they logged and then edited."""
    point = httpx.get(
        server + "/api/sites",
        params={"county": HECHENG, "kind": "village_point", "status": "in_service", "limit": 1},
    ).json()["items"][0]
    username, password = make_account(server, "e2e_clerk_agent", "village_agent", str(point["id"]))
    headers = bearer(server, username, password)
    received = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    created = httpx.post(
        server + "/api/cases",
        json={
            "id": str(uuid.uuid4()),
            "site_id": point["id"],
            "matter_code": "SB001",
            "resident_name": "张三明",
            "resident_id_number": "431202198001010018",
            "resident_phone": "13812345678",
            "received_at": received,
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    case = created.json()
    edited = httpx.patch(
        server + f"/api/cases/{case['id']}",
        json={"version": case["version"], "note": "已电话告知办理进度"},
        headers=headers,
    )
    assert edited.status_code == 200, edited.text
    return {"case": case, "point": point, "username": username, "password": password}


def open_municipal(browser, server, tab: str):
    context, watch = open_context(browser, server, WIDE)
    page = watch.page(context.new_page())
    sign_in(page, server, E2E_USER, E2E_PASSWORD, "/municipal")
    page.wait_for_selector("body[data-ready=true]")
    page.click(tab)
    return context, watch, page


def test_the_audit_trail_finds_a_case_by_its_number_and_speaks_chinese(
    server, browser, agent_case, tmp_path
):
    from playwright.sync_api import expect

    context, watch, page = open_municipal(browser, server, "#tab-btn-audit")
    number = agent_case["case"]["case_number"]
    page.fill("#audit-q", number)
    page.click("#audit-search")
    rows = page.locator("#audit tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#audit-note")).to_contain_text("共 2 条")
    expect(rows.nth(1)).to_contain_text("新建")
    expect(rows.nth(1)).to_contain_text(f"代办事项 {number}")
    expect(rows.nth(1)).to_contain_text("状态：已受理")
    point = agent_case["point"]
    expect(rows.nth(1)).to_contain_text(
        "代办点：" + (point["signage_name"] or point["standard_name"])
    )
    expect(rows.nth(1)).to_contain_text("事项：城乡居民基本养老保险参保登记")
    expect(rows.nth(1)).to_contain_text("办件编号")
    expect(rows.first).to_contain_text("修改")
    expect(rows.first).to_contain_text(f"代办事项 {number}")
    expect(rows.first).to_contain_text("备注：（空） → 已电话告知办理进度")
    text = page.locator("#audit tbody").inner_text()
    assert agent_case["case"]["id"] not in text  # no internal id
    assert not RAW.findall(text), RAW.findall(text)
    # Times in China time only: "YYYY-MM-DD HH:MM".
    for when in page.locator("#audit tbody td.when").all_inner_texts():
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", when), when
    screenshot(page, tmp_path, "municipal-audit-desktop")

    # An account by its username (the agent's, made by the fixture: its creation is an entry
    # whatever ran before; a site's name finds only the entries of sites of that name, and the
    # fixture's point has one only if an earlier test wrote it); everything of a village by
    # its code.
    page.fill("#audit-q", agent_case["username"])
    page.click("#audit-search")
    expect(page.locator("#audit-note")).to_contain_text("共 ")
    expect(page.locator("#audit tbody tr[data-entity=account]").first).to_be_visible()
    page.fill("#audit-q", number.split("-")[0])
    page.click("#audit-search")
    expect(
        page.locator(f"#audit tbody tr[data-entity=case][data-id='{agent_case['case']['id']}']")
    ).to_have_count(2)

    # A reversed period says so (and asks nothing of the server).
    page.fill("#audit-q", "")
    page.fill("#audit-since", "2026-12-01")
    page.fill("#audit-until", "2026-11-01")
    page.click("#audit-search")
    expect(page.locator("#audit-note")).to_have_text("截止日期早于起始日期，请交换两个日期。")
    expect(page.locator("#audit-until")).to_have_attribute("aria-invalid", "true")
    expect(rows).to_have_count(0)
    context.close()
    watch.check()


def test_accounts_are_named_by_their_scope_with_buttons_on_one_line(
    server, browser, agent_case, tmp_path
):
    from playwright.sync_api import expect

    context, watch, page = open_municipal(browser, server, "#tab-btn-accounts")
    agent = page.locator(f"#users tbody tr[data-user={agent_case['username']}]")
    expect(agent).to_be_visible()
    point = agent_case["point"]
    township = httpx.get(server + f"/api/divisions/{point['township_code']}").json()["name"]
    sign = point["signage_name"] or point["standard_name"]
    expect(agent.locator("td").nth(3)).to_have_text(f"{township} · {sign}")
    centre = page.locator(f"#users tbody tr[data-user={E2E_USER}]")
    expect(centre.locator("td").nth(3)).to_have_text("怀化市")
    scopes = page.locator("#users tbody td:nth-child(4)").all_inner_texts()
    assert scopes and not [s for s in scopes if re.search(r"\d", s)], scopes
    # Each 停用/启用 button on one line.
    for button in page.locator("#users tbody button").all()[:20]:
        box = button.bounding_box()
        assert box["height"] < 40, box
        assert button.evaluate("b => b.scrollWidth <= b.clientWidth + 1")
    # The point to choose for a new agent is named by its sign, not by an internal number.
    page.check("input[name=role][value=village_agent]")
    page.select_option("#new-county", HECHENG)
    expect(page.locator("#new-point option").nth(1)).to_be_attached()
    assert "编号" not in page.locator("#new-point").inner_text()
    screenshot(page, tmp_path, "municipal-accounts-desktop")
    context.close()
    watch.check()


def test_a_page_of_another_role_says_which_role_it_needs(server, browser, agent_case):
    from playwright.sync_api import expect

    context, watch = open_context(browser, server, WIDE)
    page = watch.page(context.new_page())
    # Nothing of the centre's is asked for (no 403 in the console): the page's blocks wait
    # until it has signed in with its role.
    sign_in(page, server, agent_case["username"], agent_case["password"], "/agent")
    page.goto(server + "/municipal")
    note = page.locator("#wrong-role")
    expect(note).to_contain_text("该页面需要市政务服务中心角色")
    expect(page.get_by_text("正在加载")).to_have_count(0)
    page.click("#sign-in-again")
    page.wait_for_url(re.compile(r"/login\?next=%2Fmunicipal"))
    sign_in_box = page.locator("#username")
    expect(sign_in_box).to_be_visible()
    expect(page.locator("#signed-in")).to_be_hidden()  # the agent was signed out
    context.close()
    watch.check()


# ------------------------------------------------------------------------------ sign-in wait


@pytest.fixture(scope="module")
def strict_server(seeded_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with the default throttle (5 failures of an account from one address)."""
    home = tmp_path_factory.mktemp("e2e-strict")
    for item in seeded_home.iterdir():
        if item.is_dir():
            shutil.copytree(item, home / item.name)
        else:
            shutil.copy2(item, home / item.name)
    yield from serve(home, REGISTRY_LOGIN_MAX_FAILURES="5")


@pytest.mark.parametrize("viewport", [{"width": 1400, "height": 900}])
def test_the_sign_in_page_says_the_wait_in_minutes(strict_server, browser, viewport, tmp_path):
    from playwright.sync_api import expect

    server = strict_server
    make_account(server, "e2e_typo_planner", "county_planner", HECHENG)
    context, watch = open_context(browser, server, viewport)
    watch.provoke(401)
    watch.provoke(429)
    page = watch.page(context.new_page())
    page.goto(server + "/login")
    expect(page.locator("#login-throttle-note")).to_contain_text("等待 1 分钟")
    error = page.locator("#login-error")
    for attempt in range(5):
        page.fill("#username", "e2e_typo_planner")
        page.fill("#password", f"wrong-{attempt}")
        page.click("#login-submit")
        expect(error).to_have_text("用户名或密码错误")
        expect(page.locator("#password")).to_have_value("")
    page.fill("#password", "Work-Pages-2026!")  # even the right password waits now
    page.click("#login-submit")
    expect(error).to_have_text("登录失败次数过多，请 1 分钟后再试")
    expect(page.locator("#login-submit")).to_be_disabled()
    screenshot(page, tmp_path, "login-wait-desktop")
    # The colleagues at the same address sign in as usual.
    colleague = httpx.post(
        server + "/api/auth/token", json={"username": E2E_USER, "password": E2E_PASSWORD}
    )
    assert colleague.status_code == 200
    context.close()
    watch.check()
