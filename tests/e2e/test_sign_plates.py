"""End to end, on both engines: a county planner downloads a site's sign plate in Chromium (the
PDF renders with pdftoppm, its QR code decodes with zbarimg to the site's public page, its
Chinese face is embedded), the county's order sheet opens in openpyxl, and a resident at 375 px
finds the new point by its name and opens its public page without JavaScript."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_ADMIN_URL, _pg_url, pg_available
from tests.e2e.conftest import seed_home, serve
from tests.e2e.support import E2E_USER, bearer, make_account, open_context, screenshot, sign_in

pytestmark = pytest.mark.e2e

YUANLING = "431222000000"
WIDE = {"width": 1400, "height": 900}
PHONE_375 = {"width": 375, "height": 812}
IN_CI = os.environ.get("CI", "").lower() == "true"


def _tools() -> None:
    missing = [t for t in ("pdftoppm", "zbarimg", "pdffonts") if not shutil.which(t)]
    if missing and not IN_CI:
        pytest.skip("needs " + ", ".join(missing) + " (poppler-utils, zbar-tools)")


def _pg_sql(sql: str) -> None:
    """One statement on the PostgreSQL server, outside this process (playwright's sync API
    keeps an event loop of its own in this one)."""
    code = (
        "import asyncio, asyncpg, sys\n"
        "async def main():\n"
        "    c = await asyncpg.connect(sys.argv[1])\n"
        "    await c.execute(sys.argv[2])\n"
        "    await c.close()\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, "-c", code, PG_ADMIN_URL, sql], check=True, timeout=60)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine_server(
    request: pytest.FixtureRequest, seeded_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """SQLite: a copy of the demo database. PostgreSQL: a new database with the real register
    of 怀化 (no demo) and the e2e municipal account."""
    home = tmp_path_factory.mktemp(f"e2e-signs-{request.param}")
    if request.param == "sqlite":
        for item in seeded_home.iterdir():
            copy = shutil.copytree if item.is_dir() else shutil.copy2
            copy(item, home / item.name)
        yield from serve(home)
        return
    if not pg_available():
        if IN_CI:
            pytest.fail("PostgreSQL must answer under CI=true")
        pytest.skip("no PostgreSQL server")
    name = f"registry_e2e_signs_{uuid.uuid4().hex[:10]}"
    _pg_sql(f'CREATE DATABASE "{name}"')
    url = _pg_url(name)
    try:
        user = ["user", "create", "--username", E2E_USER, "--role", "municipal"]
        seed_home(
            home, ["migrate"], ["seed"], [*user, "--scope", "431200"], REGISTRY_DATABASE_URL=url
        )
        yield from serve(home, REGISTRY_DATABASE_URL=url)
    finally:
        _pg_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def new_point(engine_server):
    """A planner of 沅陵县 registers an in-service point on a village that had none, with a
    sign that is not the standard one (so it is on the county's order)."""
    from shapely.geometry import shape

    server = engine_server
    username, password = make_account(
        server, f"e2e_signs_{uuid.uuid4().hex[:6]}", "county_planner", YUANLING
    )
    headers = bearer(server, username, password)
    taken = set()
    offset = 0
    while True:
        page = httpx.get(
            server + "/api/sites", params={"county": YUANLING, "limit": 1000, "offset": offset}
        ).json()
        taken |= {s["division_code"] for s in page["items"]}
        offset += 1000
        if offset >= page["total"]:
            break
    townships = httpx.get(
        server + "/api/divisions", params={"level": "township", "parent": YUANLING, "limit": 100}
    ).json()["items"]
    free = []
    for township in townships:
        villages = httpx.get(
            server + "/api/divisions",
            params={"level": "village", "parent": township["code"], "limit": 500},
        ).json()["items"]
        free += [v for v in villages if v["code"] not in taken and not v["abolished_on"]]
        if free:
            break
    assert free, "every village of 沅陵县 has a point"
    village = free[0]
    outline = httpx.get(f"{server}/api/divisions/{YUANLING}/boundary").json()
    inside = shape(outline["geometry"]).representative_point()
    response = httpx.post(
        server + "/api/sites",
        json={
            "division_code": village["code"],
            "lon": round(inside.x, 6),
            "lat": round(inside.y, 6),
            "signage_name": village["name"] + "服务站",
            "status": "in_service",
            "effective_date": "2014-05-01",
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    site = response.json()
    assert site["signage_conforms"] is False
    return {
        "server": server,
        "username": username,
        "password": password,
        "site": site,
        "village": village,
    }


def _qr_and_fonts(pdf: Path) -> tuple[str, str]:
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "30",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(pdf.with_suffix("")),
        ],
        check=True,
        capture_output=True,
    )
    qr = subprocess.run(
        ["zbarimg", "-q", "--raw", str(pdf.with_suffix(".png"))], capture_output=True, text=True
    ).stdout.strip()
    fonts = subprocess.run(
        ["pdffonts", str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    return qr, fonts


def test_a_planner_downloads_the_plate_and_the_order_sheet(browser, new_point, tmp_path):
    from openpyxl import load_workbook
    from playwright.sync_api import expect

    _tools()
    server, site = new_point["server"], new_point["site"]
    context, watch = open_context(browser, server, WIDE)
    page = watch.page(context.new_page())
    sign_in(page, server, new_point["username"], new_point["password"], "/planner")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator(f"#facts-site option[value='{site['id']}']")).to_have_count(1)
    page.select_option("#facts-site", str(site["id"]))

    with page.expect_download() as info:
        page.click("#sign-pdf")
    download = info.value
    assert download.suggested_filename == f"{site['standard_name']}-1200×400.pdf"
    pdf = tmp_path / "plate.pdf"
    download.save_as(pdf)
    expect(page.locator("#sign-result")).to_contain_text("已下载")
    qr, fonts = _qr_and_fonts(pdf)
    assert qr == f"{server}/s/{site['division_code']}"
    embedded = [line for line in fonts.splitlines()[2:] if " yes " in line]
    assert embedded and "TrueType" in embedded[0], fonts

    # The county's order: the new point is on the sheet, one plate of 1200×400 mm.
    with page.expect_download() as info:
        page.click("#orders-xlsx")
    sheet_file = tmp_path / info.value.suggested_filename
    info.value.save_as(sheet_file)
    sheet = load_workbook(sheet_file).worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header = rows[0]
    mine = [r for r in rows if site["standard_name"] in r]
    assert len(mine) == 1, header
    assert mine[0][header.index("尺寸(毫米)")] == "1200×400"
    assert mine[0][header.index("数量")] == 1
    assert mine[0][header.index("现有标识")] == new_point["village"]["name"] + "服务站"
    screenshot(page, tmp_path, "planner-sign-download", docs=False)
    context.close()
    watch.check()


def test_a_resident_finds_the_point_and_its_page_without_javascript(browser, new_point, tmp_path):
    from playwright.sync_api import expect

    server, site, village = new_point["server"], new_point["site"], new_point["village"]
    context, watch = open_context(browser, server, PHONE_375)
    page = watch.page(context.new_page())
    page.goto(server + "/find")
    page.fill("#q", village["name"])
    page.press("#q", "Enter")
    card = page.locator("#results article", has_text=village["name"]).first
    expect(card).to_contain_text("本村的代办点")
    expect(card).to_contain_text(site["standard_name"])
    context.close()
    watch.check()

    context, watch = open_context(browser, server, PHONE_375, java_script_enabled=False)
    page = watch.page(context.new_page())
    page.goto(f"{server}/s/{site['division_code']}")
    expect(page.locator("h1")).to_contain_text(village["name"])
    expect(page.locator("body")).to_contain_text(site["standard_name"])
    screenshot(page, tmp_path, "resident-site-new-point", docs=False)
    context.close()
    watch.check()
