"""One name per thing, and names instead of codes (both engines): the in-service status is
"已运行" on every page, script, report and message (never 运行, 运行中, 投入运行); the audit
trail's actions and fields have Chinese names (a state change is 状态变更); reports name the
campaign, not its code; accounts name their scope (a point by its sign and township, a county,
the centre's city)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from registry.audit import rules as audit_rules
from registry.web.pages import STATIC

# "运行" not preceded by "已": another name for the in-service status.
VARIANT = re.compile(r"(?<!已)运行")
PAGES = ["/", "/login", "/agent", "/planner", "/municipal"]
AS_OF = "2014-04-18"


def vocab(client) -> dict:
    source = client.get("/static/vocab.js").text
    found = {}
    for name, value in re.findall(r"export const (\w+) = frozen\((.*)\);", source):
        found[name] = json.loads(value)
    return found


def test_pages_and_scripts_call_in_service_one_name(client):
    labels = vocab(client)
    assert labels["STATUS_LABELS"]["in_service"] == "已运行"
    texts = {path: client.get(path).text for path in PAGES}
    for script in sorted(Path(STATIC).glob("*.js")):
        texts[script.name] = client.get(f"/static/{script.name}").text
    texts["vocab.js"] = client.get("/static/vocab.js").text
    for where, text in texts.items():
        assert not VARIANT.findall(text), (where, VARIANT.findall(text))
    assert "已运行代办点" in texts["dashboard.js"]


def test_reports_use_the_one_name_and_the_campaigns_name(client):
    xlsx = client.get(
        "/api/reports/coverage.xlsx", params={"as_of": AS_OF}, headers=client.auth("municipal")
    )
    assert xlsx.status_code == 200, xlsx.text
    book = load_workbook(io.BytesIO(xlsx.content))
    cells = [
        str(c.value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(max_row=3)
        for c in row
        if c.value is not None
    ]
    assert not [c for c in cells if VARIANT.search(c)]
    assert "已运行代办点" in cells
    subtitle = book.worksheets[0]["A2"].value
    assert "专项行动：村(居)便民服务代办点两年内全面建成" in subtitle
    assert "agency-points-2013" not in subtitle
    text = client.get(
        "/api/reports/coverage.csv", params={"as_of": AS_OF}, headers=client.auth("municipal")
    ).content.decode("utf-8-sig")
    assert not VARIANT.search(text)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["专项行动"] for r in rows} == {"村(居)便民服务代办点两年内全面建成"}


def test_a_refused_suspension_names_the_status_as_the_pages_do(client):
    site = client.post(
        "/api/sites",
        json={
            "division_code": "431202102000",
            "lon": 109.99,
            "lat": 27.55,
            "effective_date": "2013-06-01",
        },
        headers=client.auth("planner_hecheng"),
    ).json()
    refused = client.post(
        f"/api/sites/{site['id']}/status",
        json={"status": "suspended", "effective_date": "2014-01-01"},
        headers=client.auth("planner_hecheng"),
    )
    assert refused.status_code == 422, refused.text
    message = refused.json()["detail_zh"] + json.dumps(refused.json()["errors"], ensure_ascii=False)
    assert "已运行" in message
    assert not VARIANT.search(message)


def test_the_audit_trail_has_chinese_names_for_what_it_records(client):
    labels = vocab(client)
    assert labels["AUDIT_ACTION_LABELS"]["status"] == "状态变更"
    assert labels["AUDIT_ACTION_LABELS"]["update"] == "修改"
    assert labels["AUDIT_FIELD_LABELS"]["state"] == "状态"
    assert labels["AUDIT_FIELD_LABELS"]["kind"] == "类型"
    # Every action and field the trail holds after ordinary work has a name.
    client.post(
        "/api/sites",
        json={
            "division_code": "431202102000",
            "lon": 109.99,
            "lat": 27.55,
            "effective_date": "2013-06-01",
        },
        headers=client.auth("planner_hecheng"),
    )
    entered = client.put(
        "/api/calendar/2031",
        json={"holidays": [{"date": "2031-01-01", "name": "元旦"}], "workdays": []},
        headers=client.auth("municipal"),
    )
    assert entered.status_code == 200, entered.text
    entries = client.get(
        "/api/audit", params={"limit": 200}, headers=client.auth("municipal")
    ).json()["items"]
    assert entries
    for entry in entries:
        assert entry["action"] in audit_rules.ACTION_LABELS_ZH, entry["action"]
        assert entry["entity"] in audit_rules.ENTITY_LABELS_ZH, entry["entity"]
        for change in entry["changes"]:
            assert change["field"] in audit_rules.FIELD_LABELS_ZH, change["field"]


@pytest.mark.parametrize("via", ["list", "one"])
def test_accounts_name_their_scope(client, via):
    listed = client.get("/api/users", params={"limit": 100}, headers=client.auth("municipal"))
    assert listed.status_code == 200, listed.text
    accounts = {a["username"]: a for a in listed.json()["items"]}
    if via == "one":
        accounts = {
            name: client.get(f"/api/users/{a['id']}", headers=client.auth("municipal")).json()
            for name, a in accounts.items()
        }
    assert accounts["municipal"]["scope_name"] == "怀化市"
    assert accounts["planner_hecheng"]["scope_name"] == "鹤城区"
    assert accounts["planner_zhongfang"]["scope_name"] == "中方县"
    point = client.get(f"/api/sites/{accounts['agent_hecheng']['scope']}").json()
    township = client.get(f"/api/divisions/{point['township_code']}").json()["name"]
    assert accounts["agent_hecheng"]["scope_name"] == f"{township} · {point['standard_name']}"
