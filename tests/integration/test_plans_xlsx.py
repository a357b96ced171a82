"""Plan spreadsheets: template, filled upload, export round trip, refused files, the CLI."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from functools import lru_cache

import pytest
from openpyxl import Workbook, load_workbook

HECHENG = "431202000000"
POINTS = "agency-points-2013"
CENTRES = "centres-2015"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = ["区划代码", "所属乡镇(街道)", "区划名称", "建设目标", "目标日期", "预算(元)", "资金来源"]
ZHONGFANG_VILLAGE_PREFIX = "431221"


def template(client, county="431202", campaign=POINTS, who="planner_hecheng"):
    response = client.get(
        "/api/plans/template.xlsx",
        params={"county": county, "campaign": campaign},
        headers=client.auth(who),
    )
    assert response.status_code == 200, response.text
    return response.content


def open_book(content):
    return load_workbook(io.BytesIO(content))


def save(wb):
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def upload(client, content, who="planner_hecheng", **params):
    return client.post(
        "/api/plans/import",
        content=content,
        params=params,
        headers={**client.auth(who), "Content-Type": XLSX},
    )


def fill(content, explain=2, target="已运行", day=datetime(2014, 12, 31)):
    """Fill every pre-filled row but the last ``explain`` (those get only a reason)."""
    wb = open_book(content)
    ws = wb["规划"]
    rows = [r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value]
    for n, r in enumerate(rows):
        if n >= len(rows) - explain:
            ws.cell(r, 8).value = "拟与邻村合并暂不单独设点"
            continue
        ws.cell(r, 4).value = target
        ws.cell(r, 5).value = day if n % 2 else datetime(2014, 6, 30)
        ws.cell(r, 6).value = 50_000 + n
        ws.cell(r, 7).value = "县财政"
    return wb, rows


# --------------------------------------------------------------------------- template


def test_template_prefills_every_village_with_validation(client):
    response = client.get(
        "/api/plans/template.xlsx",
        params={"county": "431202", "campaign": POINTS},
        headers=client.auth("planner_hecheng"),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(XLSX)
    assert "plan-431202-agency-points-2013-template.xlsx" in response.headers["content-disposition"]
    wb = open_book(response.content)
    assert wb.sheetnames == ["规划", "说明"]
    ws = wb["规划"]
    assert [c.value for c in ws[1]][:7] == HEADERS
    assert ws.cell(1, 8).value == "备注/未列入原因"
    codes = [ws.cell(r, 1).value for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value]
    assert len(codes) == 128  # 鹤城区's official villages and communities (NBS 2023)
    assert all(isinstance(c, str) and len(c) == 12 and c.startswith("431202") for c in codes)
    assert ws.cell(2, 2).value == "城中街道" and ws.cell(2, 3).value.endswith("社区")
    assert all(ws.cell(r, 4).value is None for r in range(2, 130))
    validations = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    assert validations["D2"].type == "list"
    assert validations["D2"].formula1 == '"已运行,已建成"'
    assert validations["E2"].type == "date"
    # Excel serial numbers of the campaign's start and deadline.
    assert (validations["E2"].formula1, validations["E2"].formula2) == ("41382", "42112")
    info = {r[2].value: r[1].value for r in wb["说明"].iter_rows(max_row=7)}
    assert info["county_code"] == HECHENG and info["campaign"] == POINTS
    assert info["title"] == "鹤城区村(社区)便民服务代办点建设规划"


def test_centres_template_lists_townships_with_the_standardized_target(client):
    ws = open_book(template(client, campaign=CENTRES))["规划"]
    codes = [ws.cell(r, 1).value for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value]
    assert len(codes) == 10 and codes[0] == "431202001000"
    lists = [dv.formula1 for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert lists == ['"已达标,已运行,已建成"']


def test_template_refusals(client):
    for who, params, status, code in [
        ("planner_zhongfang", {"county": "431202", "campaign": POINTS}, 403, "out_of_scope"),
        (None, {"county": "431202", "campaign": POINTS}, 401, "not_authenticated"),
        ("municipal", {"county": "431202", "campaign": "nope"}, 422, "unknown_campaign"),
        ("municipal", {"county": "431202102", "campaign": POINTS}, 422, "unknown_county"),
    ]:
        response = client.get("/api/plans/template.xlsx", params=params, headers=client.auth(who))
        assert (response.status_code, response.json()["code"]) == (status, code), (who, params)


# --------------------------------------------------------------------------- round trip


def test_filled_template_uploads_exports_and_round_trips(client):
    wb, rows = fill(template(client))
    # Text that looks like a formula (a text cell) is kept as text, never evaluated.
    wb["规划"].cell(rows[0], 8).value = "=1+1 (文字)"
    wb["规划"].cell(rows[0], 8).data_type = "s"
    content = save(wb)

    before = client.snapshot()
    dry = upload(client, content, dry_run="true")
    assert dry.status_code == 200, dry.text
    assert (dry.json()["action"], dry.json()["dry_run"], dry.json()["plan"]) == (
        "create",
        True,
        None,
    )
    assert dry.json()["check"]["ok"] is True
    assert client.snapshot() == before

    response = upload(client, content)
    assert response.status_code == 201, response.text
    result = response.json()
    assert (result["action"], result["items"], result["explained"]) == ("create", 126, 2)
    assert result["check"] == {
        "ok": True,
        "errors": [],
        "warnings": [],
        "expected": 128,
        "planned": 126,
        "explained": 2,
    }
    plan = result["plan"]
    assert plan["title"] == "鹤城区村(社区)便民服务代办点建设规划"
    assert plan["state"] == "draft" and plan["version"] == 1
    sheet = wb["规划"]
    by_code = {i["division_code"]: i for i in plan["items"]}
    first = sheet.cell(rows[0], 1).value
    township_code = client.get(f"/api/divisions/{first}").json()["township_code"]
    township = client.get(f"/api/divisions/{township_code}").json()
    assert by_code[first] == {
        "division_code": first,
        "division_name": sheet.cell(rows[0], 3).value,
        "township_code": township["code"],
        "township_name": township["name"],
        "target": "in_service",
        "target_date": "2014-06-30",
        "budget_yuan": 50_000,
        "funding_source": "县财政",
        "note": "=1+1 (文字)",
    }
    assert by_code[sheet.cell(rows[1], 1).value]["target_date"] == "2014-12-31"
    explained = {sheet.cell(r, 1).value for r in rows[-2:]}
    assert set(plan["missing_explained"]) == explained

    exported = client.get(f"/api/plans/{plan['id']}/export.xlsx", headers=client.auth("municipal"))
    assert exported.status_code == 200
    assert "plan-431202-agency-points-2013-v1.xlsx" in exported.headers["content-disposition"]
    back = open_book(exported.content)["规划"]
    assert back.cell(rows[0], 8).data_type == "s"
    for r in rows:
        original = [sheet.cell(r, c).value for c in range(1, 9)]
        again = [back.cell(r, c).value for c in range(1, 9)]
        assert again == original, r
    info = {r[2].value: r[1].value for r in open_book(exported.content)["说明"].iter_rows()}
    assert (info["version"], info["state"]) == ("1", "draft")

    # The export uploads again unchanged; then the plan goes through review.
    snapshot = client.snapshot()
    again = upload(client, exported.content)
    assert again.status_code == 200, again.text
    assert again.json()["action"] == "unchanged"
    assert client.snapshot() == snapshot
    pid = plan["id"]
    submitted = client.post(
        f"/api/plans/{pid}/submit", json={}, headers=client.auth("planner_hecheng")
    )
    assert submitted.status_code == 200, submitted.text

    # Submitted: an upload cannot change it.
    refused = upload(client, exported.content)
    assert refused.status_code == 409 and refused.json()["code"] == "plan_not_editable"
    assert client.snapshot() != snapshot  # the submission itself
    client.post(f"/api/plans/{pid}/approve", json={}, headers=client.auth("municipal"))

    # Approved: an upload opens version 2 with the changes.
    wb2 = open_book(exported.content)
    wb2["规划"].cell(rows[0], 5).value = datetime(2015, 3, 31)
    amended = upload(client, save(wb2))
    assert amended.status_code == 201, amended.text
    assert amended.json()["action"] == "new_version"
    v2 = amended.json()["plan"]
    assert (v2["version"], v2["amends"], v2["state"]) == (2, pid, "draft")
    diff = client.get(
        f"/api/plans/{pid}/compare", params={"with": v2["id"]}, headers=client.auth("municipal")
    ).json()
    assert [c["division_code"] for c in diff["changed"]] == [first]
    assert diff["added"] == [] and diff["removed"] == []


def test_incomplete_upload_is_saved_with_warnings(client):
    wb, rows = fill(template(client), explain=0)
    wb["规划"].cell(rows[3], 4).value = None
    wb["规划"].cell(rows[3], 5).value = None
    wb["规划"].cell(rows[3], 6).value = None
    wb["规划"].cell(rows[3], 7).value = None
    response = upload(client, save(wb))
    assert response.status_code == 201, response.text
    check = response.json()["check"]
    assert check["ok"] is False
    assert [w["division_code"] for w in check["warnings"]] == [wb["规划"].cell(rows[3], 1).value]


# --------------------------------------------------------------------------- refused files


def _zip(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@lru_cache(maxsize=1)
def zip_bomb():
    """100 MB of zeros that compresses to about 100 kB, dressed as a workbook."""
    return _zip(
        {
            "[Content_Types].xml": b"<Types/>",
            "xl/workbook.xml": b"<workbook/>",
            "xl/worksheets/sheet1.xml": bytes(100_000_000),
        }
    )


@lru_cache(maxsize=1)
def fifty_thousand_rows():
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("规划")
    ws.append(HEADERS)
    for n in range(50_000):
        ws.append([f"431202{n:06d}", "", "", "已运行", date(2014, 6, 30)])
    info = wb.create_sheet("说明")
    info.append(["县(市、区)代码", HECHENG, "county_code"])
    info.append(["专项代码", POINTS, "campaign"])
    info.append(["规划名称", "大表", "title"])
    return save(wb)


BAD_FILES = [
    ("plain text", lambda: "区划代码,建设目标\n431202001200,已运行\n".encode(), 422, "not_xlsx"),
    ("old .xls", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), 422, "not_xlsx"),
    ("a zip that is no workbook", lambda: _zip({"a.txt": b"x"}), 422, "not_xlsx"),
    (
        "a corrupt workbook",
        lambda: _zip({"[Content_Types].xml": b"<", "xl/workbook.xml": b"<"}),
        422,
        "not_xlsx",
    ),
    ("empty body", lambda: b"", 422, "not_xlsx"),
    ("zip bomb", zip_bomb, 413, "xlsx_too_large"),
    ("over 5 MB", lambda: b"PK\x03\x04" + bytes(5_000_001), 413, "body_too_large"),
    ("50,000 rows", fifty_thousand_rows, 422, "too_many_rows"),
]


def test_files_that_are_not_acceptable_workbooks_are_refused(client):
    before = client.snapshot()
    for name, content, status, code in BAD_FILES:
        response = upload(client, content())
        assert (response.status_code, response.json()["code"]) == (status, code), name
        assert client.snapshot() == before, name


def _merge(wb, rows):
    wb["规划"].merge_cells(f"D{rows[0]}:E{rows[0]}")


def _formula(wb, rows):
    wb["规划"].cell(rows[1], 5).value = "=DATE(2014,6,30)"


def _text_date(wb, rows):
    wb["规划"].cell(rows[2], 5).value = "2014年6月30日"


def _number_date(wb, rows):
    cell = wb["规划"].cell(rows[2], 5)
    cell.value = 41820
    cell.number_format = "General"


def _other_county(wb, rows):
    wb["规划"].cell(rows[4], 1).value = "431221100200"


def _missing_column(wb, rows):
    wb["规划"].delete_cols(5)


def _township_in_points(wb, rows):
    wb["规划"].cell(rows[4], 1).value = "431202102000"


def _duplicate(wb, rows):
    wb["规划"].cell(rows[5], 1).value = wb["规划"].cell(rows[4], 1).value


def _bad_target(wb, rows):
    wb["规划"].cell(rows[4], 4).value = "已达标"


def _date_after_deadline(wb, rows):
    wb["规划"].cell(rows[4], 5).value = datetime(2015, 5, 1)


def _target_without_date(wb, rows):
    wb["规划"].cell(rows[4], 5).value = None


def _budget_text(wb, rows):
    wb["规划"].cell(rows[4], 6).value = "五万"


def _no_info_sheet(wb, rows):
    del wb["说明"]


def _blank_title(wb, rows):
    wb["说明"]["B5"].value = None


CELL_CASES = [
    # (name, change, expected (code, row index or header row, column))
    ("merged cells", _merge, ("merged_cells", 0, "D")),
    ("formula", _formula, ("formula_not_allowed", 1, "目标日期")),
    ("text in a date cell", _text_date, ("date_is_text", 2, "目标日期")),
    ("number in a date cell", _number_date, ("date_not_a_date", 2, "目标日期")),
    ("another county's code", _other_county, ("division_outside_county", 4, "区划代码")),
    ("missing column", _missing_column, ("missing_column", "header", "目标日期")),
    ("township in a points plan", _township_in_points, ("wrong_level", 4, "区划代码")),
    ("duplicate", _duplicate, ("duplicate_division", 5, "区划代码")),
    ("centre target on a point", _bad_target, ("target_not_allowed", 4, "建设目标")),
    ("after the deadline", _date_after_deadline, ("target_date_outside_campaign", 4, "目标日期")),
    ("target without a date", _target_without_date, ("required", 4, "目标日期")),
    ("budget as text", _budget_text, ("budget_not_a_number", 4, "预算(元)")),
    ("no 说明 sheet", _no_info_sheet, ("missing_sheet", None, None)),
    ("blank title", _blank_title, ("required", ("说明", 5), "B")),
]


def test_bad_cells_are_refused_with_row_and_column(client):
    filled = fill(template(client))
    content, rows = save(filled[0]), filled[1]
    before = client.snapshot()
    for name, change, (code, row, column) in CELL_CASES:
        wb = open_book(content)
        change(wb, rows)
        response = upload(client, save(wb))
        assert response.status_code == 422, (name, response.text)
        body = response.json()
        assert body["code"] == "xlsx_invalid", name
        if row == "header":
            row = 1
        elif isinstance(row, int):
            row = rows[row]
        elif isinstance(row, tuple):
            row = row[1]
        found = [(e["code"], e.get("row"), e.get("column")) for e in body["errors"]]
        assert (code, row, column) in found, (name, found)
        assert all(e["message"] for e in body["errors"]), name
        assert client.snapshot() == before, name


def test_only_the_countys_planner_uploads(client):
    own = save(fill(template(client, county="431202", who="municipal"))[0])
    other = save(fill(template(client, county="431221", who="municipal"))[0])
    before = client.snapshot()
    for who, content, status, code in [
        ("planner_hecheng", other, 403, "out_of_scope"),
        ("municipal", own, 403, "wrong_role"),
        ("agent_hecheng", own, 403, "wrong_role"),
        (None, own, 401, "not_authenticated"),
    ]:
        response = upload(client, content, who=who)
        assert (response.status_code, response.json()["code"]) == (status, code), who
        assert client.snapshot() == before, who


# --------------------------------------------------------------------------- command line


def test_registry_import_and_export_plan_commands(
    client, database_url, tmp_path, capsys, base_settings
):
    from registry import cli

    path = tmp_path / "plan.xlsx"
    path.write_bytes(save(fill(template(client))[0]))
    # The command reads the active runtime's settings: the client's database.
    before = client.snapshot()
    cli.main(["import", "plan", str(path), "--dry-run"])
    assert "would create" in capsys.readouterr().out
    assert client.snapshot() == before
    cli.main(["import", "plan", str(path), "--user", "planner_hecheng"])
    out = capsys.readouterr().out
    assert out.startswith("create: plan ") and "126 items, 2 explained" in out
    plan_id = int(out.split("plan ")[1].split()[0])
    target = tmp_path / "out.xlsx"
    cli.main(["export", "plan", str(target), "--plan", str(plan_id)])
    assert open_book(target.read_bytes())["规划"].cell(1, 1).value == "区划代码"
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["import", "plan", str(bad)])
    assert "not_xlsx" in str(exit_info.value)
