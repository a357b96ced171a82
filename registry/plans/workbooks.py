"""Plan workbooks on the database side: the county template, a version's export, and the import
of a filled workbook (checked like a JSON body, errors located by sheet row and column).

Building and reading a workbook, and checking its items, are CPU work (seconds for a hostile
5 MB file of 60 MB of cells), never done on the event loop: an upload is read in a worker
process, the rest runs in a worker thread.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from typing import Any

import anyio.to_thread

from registry.core import clock
from registry.core.access import Actor, require_role
from registry.core.errors import InvalidInput, RuleViolation
from registry.db.transactions import write_transaction
from registry.formats.isolated import in_process
from registry.plans import rules
from registry.plans import schemas as out
from registry.plans import xlsx as plan_xlsx
from registry.plans.queries import (
    campaign_info,
    check_out,
    check_report,
    county_divisions,
    county_name_of,
    known_county,
    plan_items,
    plan_out,
    plan_row,
)
from registry.plans.rules import CampaignInfo, Problem
from registry.plans.scope import require_author, require_reader
from registry.plans.validation import Content, personal_data_problems
from registry.plans.workflow import import_action, revise_plan, start_plan
from registry.plans.xlsx.read import ParsedPlan, parse_workbook
from registry.plans.xlsx.write import SheetMeta, SheetRow, build_workbook


def xlsx_filename(county_code: str, campaign: str, version: int | None) -> str:
    """The download name of a version's export (``version`` None: the template)."""
    suffix = f"-v{version}" if version is not None else "-template"
    return f"plan-{county_code[:6]}-{campaign}{suffix}.xlsx"


async def _sheet_rows(
    county_code: str,
    campaign: CampaignInfo,
    items: list[dict[str, Any]],
    explained: dict[str, str],
) -> list[SheetRow]:
    """One row per division of the campaign's level existing today, plus any item's."""
    divisions = await county_divisions(county_code)
    expected = rules.expected_divisions(county_code, campaign, divisions.values(), clock.today())
    by_code = {i["division_code"]: i for i in items}
    codes = sorted({d.code for d in expected} | by_code.keys() | explained.keys())
    rows = []
    for code in codes:
        division = divisions.get(code)
        township = divisions.get(division.township_code or "") if division else None
        item = by_code.get(code)
        rows.append(
            SheetRow(
                division_code=code,
                township_name=township.name if township else "",
                division_name=division.name if division else "",
                target=item["target"] if item else None,
                target_date=item["target_date"] if item else None,
                budget_yuan=item["budget_yuan"] if item else None,
                funding_source=item["funding_source"] if item else None,
                note=item["note"] if item else explained.get(code),
            )
        )
    return rows


def _meta(
    county_code: str,
    county_name: str,
    campaign: CampaignInfo,
    title: str,
    version: int | None = None,
    state: str | None = None,
    as_of: date | datetime | None = None,
) -> SheetMeta:
    """The sheet 说明's values of a template or an export (``as_of``: the data's date, the
    workbook's document time)."""
    return SheetMeta(
        county_code=county_code,
        county_name=county_name,
        campaign=campaign.code,
        campaign_name=campaign.name,
        level=campaign.level,
        start_on=campaign.start_on,
        deadline=campaign.deadline,
        title=title,
        version=version,
        state=state,
        as_of=as_of,
    )


async def template_xlsx(actor: Actor, county: str | None, campaign: str | None) -> bytes:
    """A blank plan workbook for a county: its divisions of the campaign's level pre-filled."""
    county_code, county_name = await known_county(county, field="county")
    require_reader(actor, county_code)
    info = await campaign_info(campaign)
    level = rules.LEVEL_LABELS_ZH[info.level]
    title = f"{county_name}{level}便民服务{'代办点' if info.level == 'village' else '中心'}建设规划"
    rows = await _sheet_rows(county_code, info, [], {})
    # The template lists the divisions existing today: today is its data's date.
    meta = _meta(county_code, county_name, info, title, as_of=clock.today())
    return await anyio.to_thread.run_sync(build_workbook, meta, rows)


async def export_xlsx(actor: Actor, plan_id: int) -> tuple[bytes, str]:
    """A version as a workbook (same layout as the template, so it can be edited and uploaded)."""
    row = await plan_row(plan_id)
    require_reader(actor, row["county_code"])
    info = await campaign_info(row["campaign"])
    items = await plan_items(plan_id)
    rows = await _sheet_rows(row["county_code"], info, items, dict(row["missing_explained"] or {}))
    meta = _meta(
        row["county_code"],
        await county_name_of(row["county_code"]),
        info,
        row["title"],
        row["version"],
        row["state"],
        as_of=row["updated_at"],
    )
    return (
        await anyio.to_thread.run_sync(build_workbook, meta, rows),
        xlsx_filename(row["county_code"], row["campaign"], row["version"]),
    )


# --------------------------------------------------------------------------- import


def _cell_problem(p: Problem, parsed: ParsedPlan) -> dict[str, Any]:
    """A domain problem located in the sheet: row of the item or explanation, column header."""
    row = None
    column = None
    if p.index is not None:
        row = parsed.item_rows[p.index]
        key = p.field.rsplit(".", 1)[-1]
        column = plan_xlsx.COLUMN_BY_KEY[key].header if key in plan_xlsx.COLUMN_BY_KEY else None
    elif p.field.startswith("missing_explained.") and p.division_code:
        row = parsed.explained_rows.get(p.division_code)
        column = plan_xlsx.COLUMN_BY_KEY["note"].header
    where = plan_xlsx.PLAN_SHEET + (f" 第{row}行" if row else "") + (f" {column}" if column else "")
    entry = {"field": where, "message": p.message, "code": p.code, "row": row, "column": column}
    if p.division_code:
        entry["division_code"] = p.division_code
    return entry


def _xlsx_invalid(errors: list[dict[str, Any]]) -> InvalidInput:
    return InvalidInput(
        "xlsx_invalid",
        f"表格有 {len(errors)} 处错误，未导入任何数据",
        f"the workbook has {len(errors)} error(s); nothing was imported",
        errors=errors,
    )


def _info_error(exc: RuleViolation, row: int | None) -> dict[str, Any]:
    """A refused value of the sheet 说明 (its values are in column B)."""
    return {
        "field": f"{plan_xlsx.INFO_SHEET} 第{row}行 B",
        "message": exc.message,
        "code": exc.code,
        "row": row,
        "column": "B",
        "sheet": plan_xlsx.INFO_SHEET,
    }


def _cell_errors(parsed: ParsedPlan) -> list[dict[str, Any]]:
    result = []
    for e in parsed.errors:
        entry = {
            "field": e.field,
            "message": e.message,
            "code": e.code,
            "row": e.row,
            "column": e.column,
            "sheet": e.sheet,
        }
        if e.division_code:
            entry["division_code"] = e.division_code
        result.append(entry)
    return result


def _error_order(entry: dict[str, Any]) -> tuple[int, int]:
    """The sheet 说明 first, then the plan's rows top to bottom (whole-sheet errors first)."""
    info = entry.get("sheet") == plan_xlsx.INFO_SHEET
    return (0 if info else 1, entry.get("row") or 0)


def parse_upload(data: bytes) -> ParsedPlan:
    """Parse an uploaded workbook; whole-file refusals become 413/422, cell errors 422."""
    parsed = parse_workbook(data)
    if parsed.errors:
        raise _xlsx_invalid(_cell_errors(parsed))
    return parsed


def _check_workbook(
    county_code: str, campaign: CampaignInfo, parsed: ParsedPlan, divisions: Any
) -> list[Problem]:
    """The items' and explanations' problems (pure rules; in a worker thread)."""
    problems = rules.check_items(county_code, campaign, parsed.items, divisions)
    return problems + rules.check_explanations(
        county_code, campaign, parsed.explained, parsed.items, divisions
    )


async def import_xlsx(actor: Actor, data: bytes, dry_run: bool = False) -> out.PlanImport:
    """Create or revise the county's plan from an uploaded workbook.

    The plan is the file's county and campaign (sheet 说明). No plan yet: a new plan (version
    1). Newest version a draft or returned: its content is replaced. Newest version approved: a
    new version opens. Newest version submitted: 409 ``plan_not_editable``. Any error: nothing
    is written, and the errors say which row and column.
    """
    require_role(actor, "county_planner")
    # Read in a worker process: a hostile 5 MB workbook is 60 MB of XML to parse.
    parsed = await in_process(parse_workbook, bytes(data))
    # Every problem of the file at once: the cells' own, then (when the county and campaign
    # can be read) the items' and explanations' against the divisions, and personal data.
    errors = _cell_errors(parsed)
    county_code = None
    campaign: CampaignInfo | None = None
    if parsed.county_code:
        try:
            county_code, _ = await known_county(parsed.county_code)
        except RuleViolation as exc:
            errors.append(_info_error(exc, parsed.info_rows.get("county_code")))
    if county_code:
        require_author(actor, county_code)
    if parsed.campaign:
        try:
            campaign = await campaign_info(parsed.campaign)
        except RuleViolation as exc:
            errors.append(_info_error(exc, parsed.info_rows.get("campaign")))
    problems: list[Problem] = []
    if county_code and campaign:
        divisions = await county_divisions(county_code)
        problems = await anyio.to_thread.run_sync(
            partial(_check_workbook, county_code, campaign, parsed, divisions)
        )
    content = Content(title=parsed.title or "", items=parsed.items, explained=parsed.explained)
    # No identity or mobile numbers in its text, located by row (dry runs included).
    problems += personal_data_problems(content)
    errors += [_cell_problem(p, parsed) for p in problems]
    if errors:
        raise _xlsx_invalid(sorted(errors, key=_error_order))
    assert county_code and campaign and parsed.title
    report, expected = await check_report(county_code, campaign, parsed.items, parsed.explained)
    check_result = check_out(report, expected, len(parsed.items), len(parsed.explained))

    if dry_run:
        action, _ = await import_action(county_code, campaign.code)
        plan = None
    else:
        async with write_transaction():
            action, plan_id = await import_action(county_code, campaign.code)
            if plan_id is None:
                written = await start_plan(actor, county_code, campaign.code, content)
            else:
                written, action = await revise_plan(actor, plan_id, content)
        plan = await plan_out(await plan_row(written))
    return out.PlanImport(
        action=action,
        dry_run=dry_run,
        county_code=county_code,
        campaign=campaign.code,
        items=len(parsed.items),
        explained=len(parsed.explained),
        check=check_result,
        plan=plan,
    )
