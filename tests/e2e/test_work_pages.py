"""Sign-in and the work pages as a whole: each role lands on its own page, a page without a
valid token goes back to /login, another role's page says so, user text is never markup, and
every page's weight (HTML + JS + CSS, as sent and gzip-compressed) stays small."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.support import (
    DESKTOP,
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

HECHENG = "431202000000"
# What each page loads: its HTML, styles and ES modules, every page sharing common.js and the
# generated vocabulary (the agent page also fetches its service worker).
MODULES = ["/static/common.js", "/static/vocab.js"]
PAGES = {
    "/login": ["/login", "/static/work.css", *MODULES, "/static/login.js"],
    "/agent": ["/agent", "/static/work.css", *MODULES, "/static/agent.js", "/agent-sw.js"],
    "/planner": ["/planner", "/static/work.css", *MODULES, "/static/planner.js"],
    "/municipal": ["/municipal", "/static/work.css", *MODULES, "/static/municipal.js"],
    "/": ["/", "/static/dashboard.css", *MODULES, "/static/dashboard.js"],
}
# Budget per page, compressed as sent (a 2G link moves ~6 KB/s).
GZIP_BUDGET = 40_000


@pytest.fixture(scope="module")
def accounts(server):
    site = httpx.get(
        server + "/api/sites",
        params={"county": HECHENG, "kind": "village_point", "status": "in_service", "limit": 1},
    ).json()["items"][0]
    return {
        "county_planner": make_account(server, "e2e_planner_hc", "county_planner", HECHENG),
        "village_agent": make_account(server, "e2e_agent_hc", "village_agent", str(site["id"])),
        "municipal": (E2E_USER, E2E_PASSWORD),
    }


@pytest.mark.parametrize(
    ("role", "landing"),
    [("municipal", "/municipal"), ("county_planner", "/planner"), ("village_agent", "/agent")],
)
def test_each_role_lands_on_its_own_page(server, browser, accounts, role, landing):
    from playwright.sync_api import expect

    context, watch = open_context(browser, server, PHONE)
    page = watch.page(context.new_page())
    username, password = accounts[role]
    sign_in(page, server, username, password, landing)
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#account-name")).to_contain_text(username)
    # Signing out forgets the token: the page asks for sign-in again.
    page.click("#sign-out")
    page.wait_for_url(server + "/login")
    page.goto(server + landing)
    page.wait_for_url(f"{server}/login?next=%2F{landing[1:]}")
    context.close()
    watch.check()


def test_sign_in_page_refuses_a_wrong_password_and_keeps_the_destination(
    server, browser, accounts, tmp_path
):
    from playwright.sync_api import expect

    context, watch = open_context(browser, server, PHONE)
    page = watch.page(context.new_page())
    page.goto(server + "/planner#tab-plan")
    page.wait_for_url("**/login?next=%2Fplanner%23tab-plan")
    screenshot(page, tmp_path, "login-phone")
    username, password = accounts["county_planner"]
    watch.provoke(401)
    page.fill("#username", username)
    page.fill("#password", "not-the-password")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_contain_text("用户名或密码错误")
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_url(server + "/planner#tab-plan")
    expect(page.locator("#tab-btn-plan")).to_have_attribute("aria-selected", "true")
    page.set_viewport_size(DESKTOP)
    page.goto(server + "/login")
    expect(page.locator("#signed-in")).to_contain_text("已登录：" + username)
    screenshot(page, tmp_path, "login-desktop")
    context.close()
    watch.check()


def test_a_stale_token_goes_back_to_sign_in_and_another_role_is_told(server, browser, accounts):
    from playwright.sync_api import expect

    context, watch = open_context(browser, server)
    page = watch.page(context.new_page())
    page.goto(server + "/login")
    page.evaluate(
        """() => {
        sessionStorage.setItem("registry.token", "not.a.token");
        sessionStorage.setItem("registry.token.who", '{"username":"x","role":"municipal"}');
    }"""
    )
    watch.provoke(401)
    page.goto(server + "/municipal")
    page.wait_for_url("**/login?next=%2Fmunicipal")
    assert page.evaluate("sessionStorage.getItem('registry.token')") is None

    # A planner opening the municipal page is pointed to their own.
    username, password = accounts["county_planner"]
    sign_in(page, server, username, password, "/planner")
    page.goto(server + "/municipal")
    expect(page.locator("main")).to_contain_text("该页面需要市政务服务中心角色")
    expect(page.locator("main a[href='/planner']")).to_be_visible()
    context.close()
    watch.check()


def test_planner_page_shows_hostile_sign_names_as_text(server, browser, accounts):
    from playwright.sync_api import expect

    sites = httpx.get(server + "/api/sites", params={"county": HECHENG, "limit": 1}).json()
    hostile = '<img src=x onerror="window.__xss=1">代办点'
    edited = httpx.patch(
        f"{server}/api/sites/{sites['items'][0]['id']}",
        json={"signage_name": hostile},
        headers=bearer(server),
    )
    assert edited.status_code == 200, edited.text
    context, watch = open_context(browser, server)
    page = watch.page(context.new_page())
    username, password = accounts["county_planner"]
    sign_in(page, server, username, password, "/planner")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#site-table")).to_contain_text("<img src=x")
    page.locator(f"#site-table tr[data-id='{sites['items'][0]['id']}']").click()
    expect(page.locator("#signage")).to_have_value(hostile)
    assert page.locator("#site-table img, #map img, #history img").count() == 0
    assert page.evaluate("() => window.__xss === undefined")
    context.close()
    watch.check()


def test_page_weights_are_small(server):
    """HTML + JS + CSS of each page as served: bytes, and bytes sent with gzip."""
    lines = ["page        files  bytes    gzip"]
    for page, paths in PAGES.items():
        raw = sent = 0
        for path in paths:
            response = httpx.get(server + path, headers={"Accept-Encoding": "gzip"})
            assert response.status_code == 200, path
            raw += len(response.content)
            sent += response.num_bytes_downloaded
        lines.append(f"{page:<11} {len(paths):>5} {raw:>6} {sent:>7}")
        assert sent < GZIP_BUDGET, (page, sent)
        assert sent < raw / 2, (page, "not compressed")
    print("\n" + "\n".join(lines))


def _id(first17: str) -> str:
    from registry.cases.rules.resident_id import with_check_character

    return with_check_character(first17)


ID_NUMBERS = [
    _id("43120219800101001"),  # valid (鹤城区, 1980)
    _id("11010519491231002"),  # valid, check character X
    _id("11010519491231002").lower(),  # lower-case x
    " ".join(_id("43122119900215003")),  # spaces
    "".join(chr(ord(c) + 0xFEE0) for c in _id("43122119900215003")),  # full-width digits
    _id("43120219800101001")[:17] + "0",  # wrong check character
    _id("43120219800101001")[:17],  # 17 digits
    "4312021980010100AB",  # letters
    _id("99120219800101001"),  # unknown province
    _id("43120219800230001"),  # 30 February
    _id("43120218890101001"),  # born before 1890
    _id("43120221000101001"),  # born in the future
    "99120219800230001" + "0",  # several problems at once
]


def test_the_agent_page_checks_identity_numbers_like_the_server(server, browser):
    """The on-device check (common.js) gives the same verdicts as cases.rules.resident_id."""
    from registry.cases.rules.resident_id import problems
    from registry.core.clock import today

    day = today().isoformat()
    context, watch = open_context(browser, server)
    page = watch.page(context.new_page())
    page.goto(server + "/login")
    found = page.evaluate(
        """async ([numbers, day]) => {
            const { idProblems } = await import("/static/common.js");
            return numbers.map((n) => idProblems(n, day));
        }""",
        [ID_NUMBERS, day],
    )
    expected = [[p.zh for p in problems(n, today())] for n in ID_NUMBERS]
    assert found == expected
    assert [bool(x) for x in expected] == [False] * 5 + [True] * 8
    context.close()
    watch.check()


# A grid over China's rectangle (72.004–137.8347 E, 0.8293–55.8271 N) off the round degrees,
# and points outside it, which neither side may move.
CHINA_GRID = [
    (round(73.3 + 1.7 * i, 6), round(1.9 + 1.3 * j, 6)) for i in range(38) for j in range(42)
]
OUTSIDE_CHINA = [
    (2.3522, 48.8566),  # Paris
    (-74.006, 40.7128),  # New York
    (151.2093, -33.8688),  # Sydney
    (139.6917, 35.6895),  # Tokyo: east of 137.8347
    (71.9, 30.0),  # just west of the rectangle
    (110.0, 55.9),  # just north of it
    (0.0, 0.0),
    (-179.9, -89.9),
]
DATUMS = ["gcj02", "bd09"]


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance between two nearby lon/lat points (local equirectangular, metres)."""
    import math

    dx = (a[0] - b[0]) * math.cos(math.radians((a[1] + b[1]) / 2))
    return math.hypot(dx, a[1] - b[1]) * 111_195.0


def test_the_pages_convert_datums_like_the_server(server, browser):
    """common.js's GCJ-02 / BD-09 ↔ WGS-84 (the planner's preview marker) against geo/crs.py:
    to well under a metre over China, and points outside China left exactly as they are."""
    from geo.crs import from_wgs84, to_wgs84

    context, watch = open_context(browser, server)
    page = watch.page(context.new_page())
    page.goto(server + "/login")
    points = CHINA_GRID + OUTSIDE_CHINA
    found = page.evaluate(
        """async ([points, datums]) => {
            const { fromWgs84, toWgs84 } = await import("/static/common.js");
            return points.map(([lon, lat]) =>
                datums.map((crs) => [toWgs84(lon, lat, crs), fromWgs84(lon, lat, crs)]));
        }""",
        [points, DATUMS],
    )
    worst = {(crs, way): 0.0 for crs in DATUMS for way in ("to", "from")}
    for (lon, lat), per_datum in zip(points, found, strict=True):
        for crs, (js_to, js_from) in zip(DATUMS, per_datum, strict=True):
            py_to, py_from = to_wgs84(lon, lat, crs), from_wgs84(lon, lat, crs)
            if (lon, lat) in OUTSIDE_CHINA:
                assert tuple(js_to) == tuple(py_to) == (lon, lat), (crs, lon, lat)
                assert tuple(js_from) == tuple(py_from) == (lon, lat), (crs, lon, lat)
                continue
            # Inside China the shift is real (tens to hundreds of metres) ...
            assert _metres(py_to, (lon, lat)) > 1.0, (crs, lon, lat)
            # ... and both sides agree on it.
            worst[crs, "to"] = max(worst[crs, "to"], _metres(js_to, py_to))
            worst[crs, "from"] = max(worst[crs, "from"], _metres(js_from, py_from))
    print("\nlargest JS − server difference (m):", {f"{c} {w}": v for (c, w), v in worst.items()})
    assert max(worst.values()) < 0.001, worst
    context.close()
    watch.check()
