"""The review and submit buttons send the plan revision their page read: a plan changed behind
the page (returned, edited and resubmitted by others) is not approved unseen — the page says so
and shows the current plan, which can then be approved."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.support import E2E_PASSWORD, E2E_USER, bearer, make_account, open_context, sign_in

pytestmark = pytest.mark.e2e

CHENXI = "431223000000"  # 辰溪县


def _item(code: str) -> dict:
    return {"division_code": code, "target": "standardized", "target_date": "2015-06-30"}


def _townships(server: str) -> list[str]:
    body = httpx.get(
        server + "/api/divisions", params={"parent": CHENXI, "level": "township", "limit": 100}
    ).json()
    return [d["code"] for d in body["items"] if d["abolished_on"] is None]


def test_an_approval_based_on_a_stale_plan_is_refused_and_the_plan_reloaded(server, browser):
    from playwright.sync_api import expect

    username, password = make_account(server, "e2e_planner_cx", "county_planner", CHENXI)
    planner = bearer(server, username, password)
    townships = _townships(server)
    created = httpx.post(
        server + "/api/plans",
        json={
            "county_code": CHENXI,
            "campaign": "centres-2015",
            "title": "辰溪县规划",
            "items": [
                {
                    "division_code": townships[0],
                    "target": "standardized",
                    "target_date": "2015-06-30",
                }
            ],
            "missing_explained": {code: "另行安排" for code in townships[1:]},
        },
        headers=planner,
    )
    assert created.status_code == 201, created.text
    plan = created.json()
    submitted = httpx.post(f"{server}/api/plans/{plan['id']}/submit", json={}, headers=planner)
    assert submitted.status_code == 200, submitted.text

    context, watch = open_context(browser, server)
    page = watch.page(context.new_page())
    sign_in(page, server, E2E_USER, E2E_PASSWORD, "/municipal")
    page.wait_for_selector("body[data-ready=true]")
    page.locator(f"#queue tbody tr[data-plan='{plan['id']}']").click()
    expect(page.locator("#detail-heading")).to_contain_text("辰溪县")

    # Behind the page: returned, retitled and submitted again.
    municipal = bearer(server)
    returned = httpx.post(
        f"{server}/api/plans/{plan['id']}/return", json={"comment": "请修改标题"}, headers=municipal
    )
    assert returned.status_code == 200, returned.text
    edited = httpx.put(
        f"{server}/api/plans/{plan['id']}",
        json={
            "title": "辰溪县规划修改稿",
            "items": [
                {
                    "division_code": townships[0],
                    "target": "standardized",
                    "target_date": "2015-06-30",
                }
            ],
            "revision": returned.json()["revision"],
        },
        headers=planner,
    )
    assert edited.status_code == 200, edited.text
    again = httpx.post(f"{server}/api/plans/{plan['id']}/submit", json={}, headers=planner)
    assert again.status_code == 200, again.text

    watch.provoke(409)
    page.fill("#review-comment", "同意")
    page.click("#approve")
    expect(page.locator("#review-result")).to_contain_text("已被他人修改")
    expect(page.locator("#detail-body")).to_contain_text("辰溪县规划修改稿")
    stored = httpx.get(f"{server}/api/plans/{plan['id']}", headers=municipal).json()
    assert stored["state"] == "submitted"

    # Now the page shows the current plan: approving it works.
    page.fill("#review-comment", "同意")
    page.click("#approve")
    expect(page.locator("#review-result")).to_contain_text("已批准：辰溪县")
    stored = httpx.get(f"{server}/api/plans/{plan['id']}", headers=municipal).json()
    assert stored["state"] == "approved"
    context.close()
    watch.check()
