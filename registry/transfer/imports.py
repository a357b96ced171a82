"""Bulk import of divisions and sites from CSV, XLSX or GeoJSON.

A file is checked completely before anything is written: file-level problems (size, encoding,
XLSX bomb, columns) and row-level problems (each with row, column, code and message) end up in
one report. A file with any error writes nothing; a valid file is written in ONE transaction.
Re-importing updates what exists (divisions by code, sites by the division's open site), so
a file can be imported again after corrections without duplicating anything.

Every rule is the registry's own (registry.domain): codes, kinds from names, signage, status
transitions, coordinates and containment — the geometry in bulk (one STRtree query for all
points).
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import msgspec
import shapely

from geo.crs import transform_geometry
from geo.geojson_io import GeometryError, geometry_to_geojson, parse_geometry
from registry.audit.service import COLUMNS as AUDIT_COLUMNS
from registry.audit.service import row as audit_row
from registry.core import clock
from registry.core.access import Actor, in_city, require_role
from registry.core.codes import level_of_code, normalise_code
from registry.core.errors import RuleViolation
from registry.core.settings import get_settings
from registry.core.text import clean_text
from registry.db import bulk
from registry.db.transactions import write_transaction
from registry.divisions import service as division_service
from registry.divisions.rules import (
    LEVELS,
    check_kind,
    county_kind,
    site_kind_for,
    township_kind,
    village_kind,
)
from registry.formats.tabular import FileProblem, RawTable, normalise_header, read_table
from registry.sites.rules import signage
from registry.sites.rules import status as status_rules
from registry.sites.rules.facts import check_division_open, check_facts
from registry.sites.rules.location import (
    check_containment_many,
    check_coord_method,
    normalise_crs,
    to_wgs84_checked_many,
)
from registry.tables import AuditEntry, Division, DivisionBoundary, Site, StatusEvent
from registry.transfer.schemas import ImportIssue, ImportReport

WHAT = ("divisions", "sites")
Progress = Callable[[str, int, int], None]
LOOKUP_CHUNK = 2000
MAP_TOLERANCE_DEG = 0.001


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    aliases: tuple[str, ...] = ()
    required: bool = False


DIVISION_COLUMNS = (
    ColumnSpec("code", ("区划代码", "代码", "统计用区划代码", "division_code"), required=True),
    ColumnSpec("name", ("名称", "区划名称"), required=True),
    ColumnSpec("level", ("层级", "级别")),
    ColumnSpec("kind", ("类型", "区划类型")),
    ColumnSpec("parent_code", ("上级代码", "上级区划代码", "parent")),
    ColumnSpec("established_on", ("设立日期",)),
    ColumnSpec("abolished_on", ("撤销日期",)),
    ColumnSpec("is_demo", ("演示数据",)),
    ColumnSpec("crs", ("坐标系",)),
)
# Columns an export writes that an import accepts and ignores (they derive from the others).
DIVISION_DERIVED = ("county_code", "township_code", "has_boundary", "source", "id")

SITE_COLUMNS = (
    ColumnSpec("division_code", ("区划代码", "所在区划代码", "code"), required=True),
    ColumnSpec("lon", ("经度", "longitude", "lng"), required=True),
    ColumnSpec("lat", ("纬度", "latitude"), required=True),
    ColumnSpec("crs", ("坐标系",)),
    ColumnSpec("signage_name", ("标牌名称", "标识名称", "牌匾名称")),
    ColumnSpec("address", ("地址",)),
    ColumnSpec("status", ("状态", "建设状态")),
    ColumnSpec("effective_date", ("生效日期", "状态日期", "status_since")),
    ColumnSpec("note", ("备注",)),
    ColumnSpec("coord_method", ("坐标采集方式", "采集方式")),
    ColumnSpec("collected_on", ("采集日期", "坐标采集日期")),
    ColumnSpec("hall_area_m2", ("大厅面积", "服务大厅面积")),
    ColumnSpec("staff_count", ("工作人员数", "人员数")),
    ColumnSpec("contact_phone", ("联系电话", "电话")),
)
SITE_DERIVED = (
    "id",
    "division_name",
    "kind",
    "standard_name",
    "signage_conforms",
    "signage_problems",
    "county_code",
    "township_code",
    "location_warning",
    "version",
    "is_demo",
    "created_at",
    "updated_at",
)
_STATUS_BY_LABEL = {label: status for status, label in status_rules.LABELS_ZH.items()}
_LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}


# --------------------------------------------------------------------------- report


class _Issues:
    def __init__(self) -> None:
        self.items: list[ImportIssue] = []
        self.bad_rows: set[int] = set()

    def error(self, row: int | None, column: str | None, code: str, message: str) -> None:
        self.items.append(ImportIssue(row=row, column=column, code=code, message=message))
        if row is not None:
            self.bad_rows.add(row)

    def rule(self, row: int, exc: RuleViolation, column: str | None = None) -> None:
        self.error(row, column or exc.field, exc.code, f"{exc.zh} / {exc.en}")

    def warn(self, row: int | None, column: str | None, code: str, message: str) -> None:
        self.items.append(
            ImportIssue(row=row, column=column, code=code, message=message, level="warning")
        )

    @property
    def errors(self) -> int:
        return sum(1 for i in self.items if i.level == "error")

    def sorted(self) -> list[ImportIssue]:
        return sorted(self.items, key=lambda i: (i.row or 0, i.level != "error", i.column or ""))


@dataclass
class _Outcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    status_events: int = 0
    boundaries: int = 0


class _Invalid(Exception):
    """Raised inside the transaction when a check made against the database fails."""


# --------------------------------------------------------------------------- cell parsing


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


def _code(value: Any, column: str) -> str:
    text = _text(value)
    if text is None:
        raise RuleViolation("required", f"{column} 不能为空", f"{column} is required", column)
    return normalise_code(unicodedata.normalize("NFKC", text).strip(), field=column)


def _number(value: Any, column: str) -> float | None:
    if value is None or isinstance(value, bool):
        if value is None:
            return None
        raise _not_number(column, value)
    if isinstance(value, int | float):
        return float(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise _not_number(column, value) from None


def _not_number(column: str, value: Any) -> RuleViolation:
    shown = str(value)[:30]
    return RuleViolation(
        "not_a_number",
        f"{column} 应为数字，收到 {shown!r}",
        f"{column} must be a number, got {shown!r}",
        column,
    )


def _int(value: Any, column: str) -> int | None:
    number = _number(value, column)
    if number is None:
        return None
    if not number.is_integer():
        raise RuleViolation(
            "not_an_integer", f"{column} 应为整数", f"{column} must be a whole number", column
        )
    return int(number)


def _date(value: Any, column: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        return None
    for sep in ("/", ".", "年"):
        text = text.replace(sep, "-")
    text = text.replace("月", "-").rstrip("日")
    try:
        parts = [int(p) for p in text.split("-")]
        if len(parts) != 3:
            raise ValueError
        return date(*parts)
    except (ValueError, TypeError):
        raise RuleViolation(
            "invalid_date",
            f"{column} 日期格式应为 YYYY-MM-DD，收到 {str(value)[:30]!r}",
            f"{column} must be a date YYYY-MM-DD, got {str(value)[:30]!r}",
            column,
        ) from None


def _bool(value: Any, column: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("", "none"):
        return None
    if text in ("1", "true", "yes", "y", "是"):
        return True
    if text in ("0", "false", "no", "n", "否"):
        return False
    raise RuleViolation(
        "invalid_boolean",
        f"{column} 应为 是/否（true/false）",
        f"{column} must be true or false",
        column,
    )


# --------------------------------------------------------------------------- columns


def _map_columns(
    table: RawTable, specs: Sequence[ColumnSpec], derived: Sequence[str], issues: _Issues
) -> dict[str, int]:
    """Header → {canonical column: position}; file-level issues for unknown, duplicate or
    missing columns."""
    lookup: dict[str, str] = {}
    for spec in specs:
        lookup[spec.name] = spec.name
        for alias in spec.aliases:
            lookup[normalise_header(alias)] = spec.name
    ignored = set(derived)
    positions: dict[str, int] = {}
    unknown = []
    for position, raw in enumerate(table.columns):
        header = normalise_header(raw)
        if not header:
            if any(
                position < len(cells) and _text(cells[position]) for _, cells in table.rows[:1000]
            ):
                issues.error(
                    None,
                    f"#{position + 1}",
                    "unnamed_column",
                    _msg(
                        f"第 {position + 1} 列有数据但没有列名",
                        f"column {position + 1} has data but no header",
                    ),
                )
            continue
        name = lookup.get(header)
        if name is None:
            if header in ignored:
                continue
            unknown.append(str(raw))
            continue
        if name in positions:
            issues.error(
                None,
                str(raw),
                "duplicate_column",
                _msg(
                    f"列“{raw}”重复（与第 {positions[name] + 1} 列同为 {name}）",
                    f"column {raw!r} repeats {name} (column {positions[name] + 1})",
                ),
            )
            continue
        positions[name] = position
    allowed = ", ".join(s.name for s in specs)
    for raw in unknown:
        issues.error(
            None,
            raw,
            "unknown_column",
            _msg(
                f"未知列“{raw}”（可用列：{allowed}）",
                f"unknown column {raw!r}; the columns are: {allowed}",
            ),
        )
    for spec in specs:
        if spec.required and spec.name not in positions:
            if table.format == "geojson" and spec.name in ("lon", "lat"):
                continue  # from the Point geometry
            issues.error(
                None,
                spec.name,
                "missing_column",
                _msg(
                    f"缺少必需的列“{spec.name}”（或 {'、'.join(spec.aliases)}）",
                    f"missing required column {spec.name!r}",
                ),
            )
    return positions


def _msg(zh: str, en: str) -> str:
    return f"{zh} / {en}"


def _cells(
    table: RawTable, positions: dict[str, int], issues: _Issues
) -> list[tuple[int, dict[str, Any]]]:
    """Rows as {column: raw value}; rows with more or fewer cells than the header are errors."""
    width = len(table.columns)
    out = []
    for number, cells in table.rows:
        if table.format == "csv" and len(cells) != width:
            if len(cells) > width and not any(_text(c) for c in cells[width:]):
                pass  # trailing empty cells (a stray separator) carry nothing
            else:
                code = "extra_cells" if len(cells) > width else "missing_cells"
                issues.error(
                    number,
                    None,
                    code,
                    _msg(
                        f"该行有 {len(cells)} 个单元格，表头有 {width} 列",
                        f"the row has {len(cells)} cells, the header {width} columns",
                    ),
                )
                continue
        elif table.format == "xlsx" and len(cells) > width and any(_text(c) for c in cells[width:]):
            issues.error(
                number,
                None,
                "extra_cells",
                _msg(
                    "该行在表头范围之外还有数据", "the row has values beyond the header's columns"
                ),
            )
            continue
        out.append(
            (
                number,
                {name: (cells[p] if p < len(cells) else None) for name, p in positions.items()},
            )
        )
    return out


# --------------------------------------------------------------------------- entry point


async def import_file(
    actor: Actor,
    what: str,
    data: bytes,
    *,
    name: str | None = None,
    fmt: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Check an import file and, unless ``dry_run`` or any error, write it in one transaction.

    Args:
        actor: a county planner (rows of their county only) or the municipal centre.
        what: ``divisions`` or ``sites``.
        data: the file's bytes (size checked by the caller; checked again here).
        name: file name (its suffix tells the format).
        fmt: explicit format (``csv``, ``xlsx``, ``geojson``), overriding the name.
        dry_run: check everything, write nothing.
        progress: called with (stage, done, total) for long files.
    """
    require_role(actor, "municipal", "county_planner")
    started = time.perf_counter()
    issues = _Issues()
    outcome = _Outcome()
    table: RawTable | None = None
    committed = False
    rows_count = 0
    try:
        table = read_table(data, name, fmt)
        for number in table.blank_rows:
            issues.warn(number, None, "blank_row", _msg("空行已跳过", "blank row skipped"))
        if what == "divisions":
            job: _Job = _DivisionJob(actor, table, issues, progress)
        elif what == "sites":
            job = _SiteJob(actor, table, issues, progress)
        else:
            raise ValueError(f"unknown import {what!r}")
        rows_count = len(table.rows)
        committed = await job.run(dry_run, outcome)
    except FileProblem as exc:
        issues.error(None, None, exc.code, exc.message)
    if issues.errors:
        outcome = _Outcome()
    return ImportReport(
        what=what,
        format=table.format if table else None,
        encoding=table.encoding if table else None,
        dry_run=dry_run,
        committed=committed,
        rows=rows_count,
        valid_rows=rows_count - len(issues.bad_rows) if table else 0,
        created=outcome.created,
        updated=outcome.updated,
        unchanged=outcome.unchanged,
        status_events=outcome.status_events,
        boundaries=outcome.boundaries,
        errors=issues.errors,
        warnings=len(issues.items) - issues.errors,
        issues=issues.sorted(),
        elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
    )


def _in_scope(actor: Actor, code: str, county_code: str | None, level: str) -> bool:
    """Planners: rows of their own county below the county; municipal: rows of their city;
    the command line (system actor without scope): everything."""
    if actor.is_planner:
        return county_code == actor.scope and level in ("township", "village")
    if not actor.scope:
        return True
    return in_city(actor, code)


def _out_of_scope(actor: Actor) -> str:
    if actor.is_planner:
        return _msg(
            f"规划员只能导入本县（{actor.scope}）的乡镇和村(社区)",
            f"a county planner may import only townships and villages of county {actor.scope}",
        )
    return _msg(
        f"只能导入本市（{actor.scope}）的区划和站点",
        f"only divisions and sites of city {actor.scope} may be imported",
    )


async def _select_in(column: Any, values: Iterable[str], *columns: Any) -> list[dict[str, Any]]:
    values = list(values)
    table = column._meta.table
    out: list[dict[str, Any]] = []
    for start in range(0, len(values), LOOKUP_CHUNK):
        part = values[start : start + LOOKUP_CHUNK]
        out.extend(await table.select(*columns).where(column.is_in(part)))
    return out


def _diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"field": k, "before": before.get(k), "after": v}
        for k, v in after.items()
        if before.get(k) != v
    ]


class _Job:
    what = ""

    def __init__(
        self, actor: Actor, table: RawTable, issues: _Issues, progress: Progress | None
    ) -> None:
        self.actor = actor
        self.table = table
        self.issues = issues
        self.progress = progress or (lambda stage, done, total: None)
        self.today = clock.today()
        self.now = clock.now()

    async def run(self, dry_run: bool, outcome: _Outcome) -> bool:
        raise NotImplementedError

    async def _write_in_transaction(
        self, plan: Callable[[], Any], write: Callable[[Any], Any], dry_run: bool
    ) -> bool:
        """Checks against the database and the writes happen in one transaction; a dry run
        checks without one and writes nothing."""
        if dry_run:
            await plan()
            return False
        try:
            async with write_transaction():
                planned = await plan()
                if self.issues.errors:
                    raise _Invalid
                await write(planned)
        except _Invalid:
            return False
        return True

    async def _summary_audit(self, outcome: _Outcome, note: str | None = None) -> None:
        changes = [
            {"field": key, "before": None, "after": value}
            for key, value in (
                ("rows", len(self.table.rows)),
                ("created", outcome.created),
                ("updated", outcome.updated),
                ("unchanged", outcome.unchanged),
                ("status_events", outcome.status_events),
                ("boundaries", outcome.boundaries),
                ("format", self.table.format),
            )
        ]
        scope = self.actor.scope if self.actor.is_planner else None
        await bulk.insert_rows(
            AuditEntry,
            AUDIT_COLUMNS,
            [audit_row(self.actor, "import", self.what, "file", changes, scope, note, self.now)],
        )


# --------------------------------------------------------------------------- divisions


@dataclass
class _DivisionIn:
    row: int
    code: str
    name: str
    level: str
    kind: str
    parent_code: str | None
    explicit_parent: bool
    established_on: date | None
    abolished_on: date | None
    is_demo: bool | None
    geometry: Any = None
    county_code: str | None = None
    township_code: str | None = None


_KIND_FROM_NAME = {
    "city": lambda name: "市",
    "county": county_kind,
    "township": township_kind,
    "village": village_kind,
}


class _DivisionJob(_Job):
    what = "divisions"

    async def run(self, dry_run: bool, outcome: _Outcome) -> bool:
        positions = _map_columns(self.table, DIVISION_COLUMNS, DIVISION_DERIVED, self.issues)
        if self.issues.errors:
            return False
        rows = self._parse(_cells(self.table, positions, self.issues), positions)
        self.progress("check", len(self.table.rows), len(self.table.rows))

        async def plan() -> Any:
            return await self._plan(rows, outcome)

        async def write(planned: Any) -> None:
            await self._write(planned, outcome)

        committed = await self._write_in_transaction(plan, write, dry_run)
        if committed and outcome.boundaries:
            division_service.invalidate()
        return committed

    def _parse(
        self, rows: list[tuple[int, dict[str, Any]]], positions: dict[str, int]
    ) -> list[_DivisionIn]:
        parsed: list[_DivisionIn] = []
        seen: dict[str, int] = {}
        for number, cells in rows:
            errors = len(self.issues.items)
            try:
                code = _code(cells.get("code"), "code")
            except RuleViolation as exc:
                self.issues.rule(number, exc, "code")
                continue
            level = level_of_code(code)
            name = kind = None
            try:
                name = clean_text(_text(cells.get("name")), "name", max_length=100, required=True)
            except RuleViolation as exc:
                self.issues.rule(number, exc, "name")
            if level not in LEVELS:
                self.issues.error(
                    number,
                    "code",
                    "invalid_level",
                    _msg(
                        f"代码 {code} 是省级代码：只能导入市、县、乡镇、村(社区)",
                        f"{code} is a province code; import cities, counties, townships, villages",
                    ),
                )
                continue
            given_level = _text(cells.get("level"))
            if given_level and given_level.strip() != level:
                self.issues.error(
                    number,
                    "level",
                    "level_mismatch",
                    _msg(
                        f"层级“{given_level}”与代码 {code} 的层级 {level} 不符",
                        f"level {given_level!r} does not match the code's level {level}",
                    ),
                )
            given_kind = _text(cells.get("kind"))
            try:
                if given_kind:
                    kind = given_kind.strip()
                    check_kind(level, kind)
                elif name:
                    kind = _KIND_FROM_NAME[level](name)
            except RuleViolation as exc:
                self.issues.rule(number, exc, "kind" if given_kind else "name")
            parent = None
            explicit = False
            if _text(cells.get("parent_code")):
                try:
                    parent = _code(cells.get("parent_code"), "parent_code")
                    explicit = True
                except RuleViolation as exc:
                    self.issues.rule(number, exc, "parent_code")
            dates: dict[str, date | None] = {}
            for column in ("established_on", "abolished_on"):
                try:
                    dates[column] = _date(cells.get(column), column)
                except RuleViolation as exc:
                    self.issues.rule(number, exc, column)
            established, abolished = dates.get("established_on"), dates.get("abolished_on")
            if established and abolished and abolished <= established:
                self.issues.error(
                    number,
                    "abolished_on",
                    "invalid_dates",
                    _msg("撤销日期应晚于设立日期", "abolished_on must be after established_on"),
                )
            is_demo = None
            try:
                is_demo = _bool(cells.get("is_demo"), "is_demo")
            except RuleViolation as exc:
                self.issues.rule(number, exc, "is_demo")
            geometry = self._geometry(number, cells.get("crs"))
            if code in seen:
                self.issues.error(
                    number,
                    "code",
                    "duplicate_code",
                    _msg(
                        f"代码 {code} 在第 {seen[code]} 行已出现",
                        f"code {code} already appears on row {seen[code]}",
                    ),
                )
                continue
            seen[code] = number
            if len(self.issues.items) != errors and number in self.issues.bad_rows:
                continue
            assert name is not None and kind is not None
            parsed.append(
                _DivisionIn(
                    row=number,
                    code=code,
                    name=name,
                    level=level,
                    kind=kind,
                    parent_code=parent,
                    explicit_parent=explicit,
                    established_on=established,
                    abolished_on=abolished,
                    is_demo=is_demo,
                    geometry=geometry,
                )
            )
        return parsed

    def _geometry(self, number: int, crs_value: Any) -> Any:
        """The WGS-84 boundary of a GeoJSON feature (None: no geometry given)."""
        feat = self.table.geometries.get(number)
        if not feat or feat.get("geometry") is None:
            return None
        try:
            geom = parse_geometry(feat)
        except GeometryError as exc:
            problems = "; ".join(exc.problems[:3]) if hasattr(exc, "problems") else str(exc)
            self.issues.error(
                number, "geometry", "invalid_geometry", _msg("边界几何无效", problems)
            )
            return None
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            self.issues.error(
                number,
                "geometry",
                "invalid_geometry",
                _msg(
                    f"区划边界应为 Polygon 或 MultiPolygon，收到 {geom.geom_type}",
                    f"a division boundary must be a Polygon or MultiPolygon, got {geom.geom_type}",
                ),
            )
            return None
        try:
            crs = normalise_crs(_text(crs_value))
        except RuleViolation as exc:
            self.issues.rule(number, exc, "crs")
            return None
        return transform_geometry(geom, crs, "wgs84") if crs not in ("wgs84", "cgcs2000") else geom

    async def _plan(self, rows: list[_DivisionIn], outcome: _Outcome) -> Any:
        codes = {r.code for r in rows}
        wanted = codes | {r.parent_code for r in rows if r.parent_code}
        wanted |= {_structural_parent(r) for r in rows if _structural_parent(r)}
        existing = {
            r["code"]: r
            for r in await _select_in(
                Division.code,
                sorted(c for c in wanted if c),
                Division.code,
                Division.name,
                Division.level,
                Division.kind,
                Division.parent,
                Division.county_code,
                Division.township_code,
                Division.established_on,
                Division.abolished_on,
                Division.is_demo,
            )
        }
        by_code = {r.code: r for r in rows}
        creates: list[_DivisionIn] = []
        updates: list[tuple[_DivisionIn, dict[str, Any], dict[str, Any]]] = []
        for item in sorted(rows, key=lambda r: (_LEVEL_RANK[r.level], r.code)):
            if not self._resolve_parent(item, by_code, existing):
                continue
            if not _in_scope(self.actor, item.code, item.county_code, item.level):
                self.issues.error(item.row, "code", "out_of_scope", _out_of_scope(self.actor))
                continue
            before = existing.get(item.code)
            if before is None:
                creates.append(item)
                continue
            after = {
                "name": item.name,
                "kind": item.kind,
                "parent": item.parent_code,
                "established_on": item.established_on,
                "abolished_on": item.abolished_on,
            }
            if item.is_demo is not None:
                after["is_demo"] = item.is_demo
            if before["county_code"] != item.county_code:
                self.issues.error(
                    item.row,
                    "parent_code",
                    "county_change_not_allowed",
                    _msg(
                        "不能把已有区划移到另一个县",
                        "an existing division cannot move to another county",
                    ),
                )
                continue
            changes = {k: v for k, v in after.items() if before.get(k) != v}
            if changes:
                updates.append((item, before, changes))
        boundary_rows = await self._boundary_plan(rows)
        outcome.created = len(creates)
        outcome.updated = len(updates)
        outcome.boundaries = len(boundary_rows)
        # A boundary alone makes an otherwise unchanged division "updated".
        changed = {u[0].code for u in updates} | {c.code for c in creates}
        outcome.updated += sum(1 for r in boundary_rows if r[0] not in changed)
        valid = sum(1 for r in rows if r.row not in self.issues.bad_rows)
        outcome.unchanged = max(0, valid - outcome.created - outcome.updated)
        return creates, updates, boundary_rows

    def _resolve_parent(
        self,
        item: _DivisionIn,
        by_code: dict[str, _DivisionIn],
        existing: dict[str, dict[str, Any]],
    ) -> bool:
        """Parent (given or by code structure) must exist, in the file or the database, one
        level up; the county and township codes follow from it."""
        if item.level == "city":
            if item.explicit_parent:
                self.issues.error(
                    item.row,
                    "parent_code",
                    "invalid_parent",
                    _msg(
                        "市级区划没有上级（省级不在登记范围内）",
                        "a city has no parent in the registry (provinces are not registered)",
                    ),
                )
                return False
            item.parent_code = None
            return True
        parent_code = item.parent_code or _structural_parent(item)
        parent = by_code.get(parent_code) if parent_code else None
        parent_level = parent.level if parent else None
        parent_county = parent.county_code if parent else None
        if parent is None and parent_code in existing:
            row = existing[parent_code]
            parent_level, parent_county = row["level"], row["county_code"]
        if parent_level is None or (parent is not None and parent.row in self.issues.bad_rows):
            self.issues.error(
                item.row,
                "parent_code",
                "unknown_parent",
                _msg(
                    f"上级区划 {parent_code} 不存在（数据库和本文件中都没有）",
                    f"parent division {parent_code} does not exist (neither in the registry "
                    "nor in this file)",
                ),
            )
            return False
        expected = LEVELS[_LEVEL_RANK[item.level] - 1]
        if parent_level != expected:
            self.issues.error(
                item.row,
                "parent_code",
                "invalid_parent",
                _msg(
                    f"上级区划 {parent_code} 是 {parent_level} 级，应为 {expected} 级",
                    f"parent {parent_code} is a {parent_level}, expected a {expected}",
                ),
            )
            return False
        item.parent_code = parent_code
        if item.level == "county":
            item.county_code = item.code
        elif item.level == "township":
            item.county_code, item.township_code = parent_code, item.code
        else:
            item.county_code, item.township_code = parent_county, parent_code
        return True

    async def _boundary_plan(self, rows: list[_DivisionIn]) -> list[tuple[Any, ...]]:
        with_geometry = [
            r for r in rows if r.geometry is not None and r.row not in self.issues.bad_rows
        ]
        if not with_geometry:
            return []
        stored = {
            r["code"]: r["geometry"]
            for r in await _select_in(
                DivisionBoundary.division,
                [r.code for r in with_geometry],
                DivisionBoundary.division.as_alias("code"),
                DivisionBoundary.geometry,
            )
        }
        out = []
        for item in with_geometry:
            text = json.dumps(geometry_to_geojson(item.geometry), separators=(",", ":"))
            if stored.get(item.code) == text:
                continue
            simple = shapely.simplify(item.geometry, MAP_TOLERANCE_DEG, preserve_topology=True)
            min_lon, min_lat, max_lon, max_lat = item.geometry.bounds
            out.append(
                (
                    item.code,
                    text,
                    json.dumps(geometry_to_geojson(simple, ndigits=4), separators=(",", ":")),
                    min_lon,
                    min_lat,
                    max_lon,
                    max_lat,
                    f"import {self.table.format}",
                    item.code in stored,
                )
            )
        return out

    async def _write(self, planned: Any, outcome: _Outcome) -> None:
        creates, updates, boundary_rows = planned
        self.progress("write", 0, len(creates) + len(updates))
        await bulk.insert_rows(
            Division,
            (
                "code",
                "name",
                "level",
                "kind",
                "parent",
                "county_code",
                "township_code",
                "established_on",
                "abolished_on",
                "is_demo",
                "source",
            ),
            [
                (
                    c.code,
                    c.name,
                    c.level,
                    c.kind,
                    c.parent_code,
                    c.county_code,
                    c.township_code,
                    c.established_on,
                    c.abolished_on,
                    bool(c.is_demo),
                    "import",
                )
                for c in creates
            ],
        )
        for item, _before, changes in updates:
            await Division.update({getattr(Division, k): v for k, v in changes.items()}).where(
                Division.code == item.code
            )
        renamed = [item for item, _, changes in updates if "name" in changes or "kind" in changes]
        await self._resign_sites(renamed)
        new_boundaries = [r[:-1] for r in boundary_rows if not r[-1]]
        await bulk.insert_rows(
            DivisionBoundary,
            (
                "division",
                "geometry",
                "simplified",
                "min_lon",
                "min_lat",
                "max_lon",
                "max_lat",
                "source",
            ),
            new_boundaries,
        )
        await bulk.update_rows(
            DivisionBoundary,
            ("geometry", "simplified", "min_lon", "min_lat", "max_lon", "max_lat", "source"),
            "division",
            [(*r[1:-1], r[0]) for r in boundary_rows if r[-1]],
        )
        audit = [
            audit_row(
                self.actor,
                "create",
                "division",
                c.code,
                _diff({}, {"name": c.name, "kind": c.kind, "parent": c.parent_code}),
                c.county_code,
                "import",
                self.now,
            )
            for c in creates
        ] + [
            audit_row(
                self.actor,
                "update",
                "division",
                item.code,
                _diff(before, changes),
                item.county_code,
                "import",
                self.now,
            )
            for item, before, changes in updates
        ]
        await bulk.insert_rows(AuditEntry, AUDIT_COLUMNS, audit)
        await self._summary_audit(outcome)
        self.progress("write", len(creates) + len(updates), len(creates) + len(updates))

    async def _resign_sites(self, renamed: list[_DivisionIn]) -> None:
        """A renamed division changes its site's standard name and signage conformity."""
        if not renamed:
            return
        by_code = {r.code: r for r in renamed}
        sites = await _select_in(
            Site.division, list(by_code), Site.id, Site.division, Site.signage_name
        )
        rows = []
        for site in sites:
            item = by_code[site["division"]]
            check = signage.check(item.name, item.kind, site["signage_name"])
            rows.append(
                (
                    check.standard_name,
                    check.conforms,
                    json.dumps(msgspec.to_builtins(check.problems), ensure_ascii=False),
                    site["id"],
                )
            )
        await bulk.update_rows(
            Site, ("standard_name", "signage_conforms", "signage_problems"), "id", rows
        )


def _structural_parent(item: _DivisionIn) -> str | None:
    code = item.code
    if item.level == "village":
        return code[:9] + "000"
    if item.level == "township":
        return code[:6] + "000000"
    if item.level == "county":
        return code[:4] + "00000000"
    return None


# --------------------------------------------------------------------------- sites


@dataclass
class _SiteIn:
    row: int
    division_code: str
    lon: float
    lat: float
    crs: str | None
    values: dict[str, Any]
    status: str | None
    effective_date: date | None
    note: str | None
    given: set[str] = field(default_factory=set)
    # Filled while checking:
    wlon: float = 0.0
    wlat: float = 0.0
    datum: str = "wgs84"
    warning: str | None = None


_SITE_TEXT = {"signage_name": 200, "address": 300, "contact_phone": 30}
SITE_MUTABLE = (
    "signage_name",
    "address",
    "coord_method",
    "collected_on",
    "hall_area_m2",
    "staff_count",
    "contact_phone",
)


class _SiteJob(_Job):
    what = "sites"

    async def run(self, dry_run: bool, outcome: _Outcome) -> bool:
        positions = _map_columns(self.table, SITE_COLUMNS, SITE_DERIVED, self.issues)
        if self.issues.errors:
            return False
        rows = self._parse(_cells(self.table, positions, self.issues), set(positions))
        self.progress("check", len(self.table.rows) // 2, len(self.table.rows))

        async def plan() -> Any:
            return await self._plan(rows, outcome)

        async def write(planned: Any) -> None:
            await self._write(planned, outcome)

        return await self._write_in_transaction(plan, write, dry_run)

    def _parse(self, rows: list[tuple[int, dict[str, Any]]], given: set[str]) -> list[_SiteIn]:
        parsed: list[_SiteIn] = []
        seen: dict[tuple[str, bool], int] = {}
        for number, cells in rows:
            before = len(self.issues.bad_rows)
            try:
                code = _code(cells.get("division_code"), "division_code")
            except RuleViolation as exc:
                self.issues.rule(number, exc, "division_code")
                code = None
            lon = lat = None
            feat = self.table.geometries.get(number)
            if feat is not None:
                lon, lat = self._point(number, feat)
            else:
                for column in ("lon", "lat"):
                    try:
                        value = _number(cells.get(column), column)
                        if value is None:
                            raise RuleViolation(
                                "required", f"{column} 不能为空", f"{column} is required", column
                            )
                        if column == "lon":
                            lon = value
                        else:
                            lat = value
                    except RuleViolation as exc:
                        self.issues.rule(number, exc, column)
            values: dict[str, Any] = {}
            for column, limit in _SITE_TEXT.items():
                try:
                    values[column] = clean_text(_text(cells.get(column)), column, max_length=limit)
                except RuleViolation as exc:
                    self.issues.rule(number, exc, column)
            note = status = effective = None
            try:
                note = clean_text(_text(cells.get("note")), "note", max_length=1000, multiline=True)
                values["coord_method"] = check_coord_method(
                    (_text(cells.get("coord_method")) or "").strip() or None
                )
                values["collected_on"] = _date(cells.get("collected_on"), "collected_on")
                values["hall_area_m2"] = _number(cells.get("hall_area_m2"), "hall_area_m2")
                values["staff_count"] = _int(cells.get("staff_count"), "staff_count")
                check_facts(
                    values["hall_area_m2"],
                    values["staff_count"],
                    values["collected_on"],
                    self.today,
                )
            except RuleViolation as exc:
                self.issues.rule(number, exc)
            try:
                raw_status = (_text(cells.get("status")) or "").strip()
                status = _STATUS_BY_LABEL.get(raw_status, raw_status) or None
                if status is not None and status not in status_rules.STATUSES:
                    status_rules.check_status_value(status, "township_centre")
                effective = _date(cells.get("effective_date"), "effective_date")
                if effective is not None:
                    status_rules.check_effective_date(effective, self.today, None)
            except RuleViolation as exc:
                self.issues.rule(number, exc)
            crs = _text(cells.get("crs"))
            if code is not None:
                key = (code, status == "closed")
                if key in seen:
                    self.issues.error(
                        number,
                        "division_code",
                        "duplicate_code",
                        _msg(
                            f"区划 {code} 的站点在第 {seen[key]} 行已出现",
                            f"a site of division {code} already appears on row {seen[key]}",
                        ),
                    )
                else:
                    seen[key] = number
            if len(self.issues.bad_rows) != before or number in self.issues.bad_rows:
                continue
            assert code is not None and lon is not None and lat is not None
            parsed.append(
                _SiteIn(
                    row=number,
                    division_code=code,
                    lon=lon,
                    lat=lat,
                    crs=crs.strip() if crs else None,
                    values=values,
                    status=status,
                    effective_date=effective,
                    note=note,
                    given=given,
                )
            )
        return parsed

    def _point(self, number: int, feat: Any) -> tuple[float | None, float | None]:
        geometry = feat.get("geometry") if isinstance(feat, dict) else None
        coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if (
            not isinstance(geometry, dict)
            or geometry.get("type") != "Point"
            or not isinstance(coords, list)
            or len(coords) not in (2, 3)
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords)
        ):
            self.issues.error(
                number,
                "geometry",
                "invalid_geometry",
                _msg(
                    "站点应为 Point 要素（[经度, 纬度]）",
                    "a site must be a Point feature with [lon, lat] coordinates",
                ),
            )
            return None, None
        return float(coords[0]), float(coords[1])

    async def _plan(self, rows: list[_SiteIn], outcome: _Outcome) -> Any:
        divisions = {
            r["code"]: r
            for r in await _select_in(
                Division.code,
                sorted({r.division_code for r in rows}),
                Division.code,
                Division.name,
                Division.level,
                Division.kind,
                Division.county_code,
                Division.township_code,
                Division.established_on,
                Division.abolished_on,
            )
        }
        county_codes = sorted({d["county_code"] for d in divisions.values() if d["county_code"]})
        county_names = {
            r["code"]: r["name"]
            for r in await _select_in(Division.code, county_codes, Division.code, Division.name)
        }
        # Division checks (existence, kind, scope).
        candidates: list[tuple[_SiteIn, dict[str, Any], str]] = []
        for item in rows:
            division = divisions.get(item.division_code)
            if division is None:
                self.issues.error(
                    item.row,
                    "division_code",
                    "unknown_division",
                    _msg(
                        f"区划 {item.division_code} 不存在",
                        f"division {item.division_code} does not exist",
                    ),
                )
                continue
            try:
                kind = site_kind_for(division["kind"], division["level"])
            except RuleViolation as exc:
                self.issues.rule(item.row, exc, "division_code")
                continue
            if not _in_scope(self.actor, item.division_code, division["county_code"], "village"):
                self.issues.error(
                    item.row, "division_code", "out_of_scope", _out_of_scope(self.actor)
                )
                continue
            candidates.append((item, division, kind))
        self.progress("check", len(rows) * 2 // 3, len(rows))
        # Coordinates in bulk: conversion, swapped axes, ranges, then containment.
        checked = to_wgs84_checked_many(
            [c[0].lon for c in candidates],
            [c[0].lat for c in candidates],
            [c[0].crs for c in candidates],
        )
        located: list[tuple[_SiteIn, dict[str, Any], str]] = []
        for i, (item, division, kind) in enumerate(candidates):
            error = checked.errors[i]
            if error is not None:
                self.issues.rule(item.row, error, error.field if error.field != "crs" else "crs")
                continue
            item.wlon, item.wlat = float(checked.lons[i]), float(checked.lats[i])
            item.datum = checked.datums[i] or "wgs84"
            located.append((item, division, kind))
        index = await division_service.county_index()
        containment = check_containment_many(
            index,
            [d["county_code"] for _, d, _ in located],
            [county_names.get(d["county_code"], d["county_code"]) for _, d, _ in located],
            [i.wlon for i, _, _ in located],
            [i.wlat for i, _, _ in located],
            get_settings().boundary_tolerance_m,
        )
        ready: list[tuple[_SiteIn, dict[str, Any], str]] = []
        for n, entry in enumerate(located):
            if containment.errors[n] is not None:
                self.issues.rule(entry[0].row, containment.errors[n], "lon")
                continue
            entry[0].warning = containment.warnings[n]
            if entry[0].warning:
                self.issues.warn(entry[0].row, "lon", "location_warning", entry[0].warning)
            ready.append(entry)
        return await self._match(ready, outcome)

    async def _match(
        self, ready: list[tuple[_SiteIn, dict[str, Any], str]], outcome: _Outcome
    ) -> Any:
        codes = sorted({item.division_code for item, _, _ in ready})
        site_columns = (
            Site.id,
            Site.division,
            Site.open_division,
            Site.kind,
            Site.county_code,
            Site.status,
            Site.status_since,
            Site.lon,
            Site.lat,
            Site.crs,
            Site.location_warning,
            Site.version,
            Site.signage_conforms,
            Site.signage_problems,
            *[getattr(Site, c) for c in SITE_MUTABLE],
        )
        # By county, not by a list of thousands of division codes: PostgreSQL tests a long
        # IN (...) of parameters linearly per row (10 s for a province file, profiled).
        wanted = set(codes)
        counties = sorted({division["county_code"] for _, division, _ in ready})
        sites = [
            s
            for s in await _select_in(Site.county_code, counties, *site_columns)
            if s["division"] in wanted
        ]
        open_by_division = {s["division"]: s for s in sites if s["open_division"] is not None}
        closed_by_division: dict[str, dict[str, Any]] = {}
        for s in sorted(sites, key=lambda s: s["id"]):
            if s["open_division"] is None:
                closed_by_division[s["division"]] = s
        file_open = {item.division_code for item, _, _ in ready if item.status != "closed"}
        last_dates = await self._last_event_dates([s["id"] for s in sites])
        creates = []
        updates = []
        for item, division, kind in ready:
            if item.status == "closed":
                target = closed_by_division.get(item.division_code)
                if target is None and item.division_code not in file_open:
                    target = open_by_division.get(item.division_code)
            else:
                target = open_by_division.get(item.division_code)
            try:
                if target is None:
                    creates.append(self._new_site(item, division, kind))
                else:
                    change = self._changes(item, division, target, last_dates.get(target["id"]))
                    if change is None:
                        outcome.unchanged += 1
                    else:
                        updates.append(change)
            except RuleViolation as exc:
                self.issues.rule(item.row, exc)
        outcome.created = len(creates)
        outcome.updated = len(updates)
        outcome.status_events = sum(len(c["events"]) for c in creates) + sum(
            1 for u in updates if u["event"] is not None
        )
        return creates, updates

    async def _last_event_dates(self, site_ids: list[int]) -> dict[int, date]:
        out: dict[int, date] = {}
        for start in range(0, len(site_ids), LOOKUP_CHUNK):
            part = site_ids[start : start + LOOKUP_CHUNK]
            rows = await StatusEvent.select(StatusEvent.site, StatusEvent.effective_date).where(
                StatusEvent.site.is_in(part)
            )
            for r in rows:
                if r["site"] not in out or r["effective_date"] > out[r["site"]]:
                    out[r["site"]] = r["effective_date"]
        return out

    def _new_site(self, item: _SiteIn, division: dict[str, Any], kind: str) -> dict[str, Any]:
        status = item.status or "planned"
        if status != "closed":
            check_division_open(
                division["name"], division["established_on"], division["abolished_on"], self.today
            )
        transitions = status_rules.recorded_start(status, kind)
        effective = item.effective_date or self.today
        sign = signage.check(division["name"], division["kind"], item.values.get("signage_name"))
        return {
            "item": item,
            "division": division,
            "kind": kind,
            "status": transitions[-1].status,
            "effective": effective,
            "sign": sign,
            "events": transitions,
        }

    def _changes(
        self,
        item: _SiteIn,
        division: dict[str, Any],
        site: dict[str, Any],
        last: date | None,
    ) -> dict[str, Any] | None:
        changes: dict[str, Any] = {}
        for column in SITE_MUTABLE:
            if column in item.given and site[column] != item.values.get(column):
                changes[column] = item.values.get(column)
        if abs(site["lon"] - item.wlon) > 1e-7 or abs(site["lat"] - item.wlat) > 1e-7:
            changes.update(
                lon=item.wlon, lat=item.wlat, crs=item.datum, location_warning=item.warning
            )
        if "signage_name" in changes:
            sign = signage.check(division["name"], division["kind"], changes["signage_name"])
            changes["signage_conforms"] = sign.conforms
            changes["signage_problems"] = msgspec.to_builtins(sign.problems)
        event = None
        if item.status is not None and item.status != site["status"]:
            if item.effective_date is None:
                raise RuleViolation(
                    "effective_date_required",
                    "变更状态须填写生效日期",
                    "a status change needs an effective_date",
                    "effective_date",
                )
            status_rules.check_effective_date(item.effective_date, self.today, last)
            transition = status_rules.check_transition(
                site["status"], item.status, site["kind"], item.note
            )
            event = transition
        if not changes and event is None:
            return None
        return {"item": item, "site": site, "changes": changes, "event": event}

    async def _write(self, planned: Any, outcome: _Outcome) -> None:
        creates, updates = planned
        total = len(creates) + len(updates)
        self.progress("write", 0, total)
        user = self.actor.username
        columns = (
            "division",
            "open_division",
            "kind",
            "county_code",
            "township_code",
            "standard_name",
            "signage_name",
            "signage_conforms",
            "signage_problems",
            "lon",
            "lat",
            "crs",
            "coord_method",
            "collected_on",
            "location_warning",
            "address",
            "hall_area_m2",
            "staff_count",
            "contact_phone",
            "status",
            "status_since",
            "version",
            "is_demo",
            "created_by",
            "created_at",
            "updated_at",
        )
        rows = []
        for c in creates:
            item, division, sign = c["item"], c["division"], c["sign"]
            v = item.values
            rows.append(
                (
                    item.division_code,
                    None if c["status"] == "closed" else item.division_code,
                    c["kind"],
                    division["county_code"],
                    division["township_code"],
                    sign.standard_name,
                    v.get("signage_name"),
                    sign.conforms,
                    json.dumps(msgspec.to_builtins(sign.problems), ensure_ascii=False),
                    item.wlon,
                    item.wlat,
                    item.datum,
                    v.get("coord_method"),
                    v.get("collected_on"),
                    item.warning,
                    v.get("address"),
                    v.get("hall_area_m2"),
                    v.get("staff_count"),
                    v.get("contact_phone"),
                    c["status"],
                    c["effective"],
                    1,
                    False,
                    user,
                    self.now,
                    self.now,
                )
            )
        ids = await bulk.insert_returning_ids(Site, columns, rows)
        self.progress("write", len(creates) // 2, total)
        events = []
        audit = []
        for site_id, c in zip(ids, creates, strict=True):
            item = c["item"]
            for t in c["events"]:
                events.append(
                    (
                        site_id,
                        t.status,
                        t.previous,
                        c["effective"],
                        item.note,
                        json.dumps(t.skipped),
                        user,
                        self.now,
                    )
                )
            fields = {
                "division_code": item.division_code,
                "kind": c["kind"],
                "lon": item.wlon,
                "lat": item.wlat,
                "crs": item.datum,
                "status": c["status"],
                "effective_date": c["effective"],
                **{k: v for k, v in item.values.items() if v is not None},
            }
            audit.append(
                audit_row(
                    self.actor,
                    "create",
                    "site",
                    site_id,
                    _diff({}, fields),
                    c["division"]["county_code"],
                    item.note,
                    self.now,
                )
            )
        update_rows = []
        for u in updates:
            site, changes, event, item = u["site"], u["changes"], u["event"], u["item"]
            merged = {**site, **changes}
            if changes:
                audited = {
                    k: v
                    for k, v in changes.items()
                    if k not in ("signage_problems", "location_warning")
                }
                audit.append(
                    audit_row(
                        self.actor,
                        "update",
                        "site",
                        site["id"],
                        _diff(site, audited),
                        site["county_code"],
                        item.note,
                        self.now,
                    )
                )
            if event is not None:
                merged["status"] = event.status
                merged["status_since"] = item.effective_date
                events.append(
                    (
                        site["id"],
                        event.status,
                        event.previous,
                        item.effective_date,
                        item.note,
                        json.dumps(event.skipped),
                        user,
                        self.now,
                    )
                )
                audit.append(
                    audit_row(
                        self.actor,
                        "status",
                        "site",
                        site["id"],
                        [
                            {"field": "status", "before": site["status"], "after": event.status},
                            {
                                "field": "effective_date",
                                "before": None,
                                "after": item.effective_date,
                            },
                        ],
                        site["county_code"],
                        item.note,
                        self.now,
                    )
                )
            problems = merged["signage_problems"]
            if not isinstance(problems, str):
                problems = json.dumps(problems, ensure_ascii=False)
            update_rows.append(
                (
                    *[merged[c] for c in SITE_MUTABLE],
                    merged["lon"],
                    merged["lat"],
                    merged["crs"],
                    merged["location_warning"],
                    merged["signage_conforms"],
                    problems,
                    merged["status"],
                    merged["status_since"],
                    None if merged["status"] == "closed" else site["open_division"],
                    site["version"] + 1,
                    self.now,
                    site["id"],
                )
            )
        await bulk.update_rows(
            Site,
            (
                *SITE_MUTABLE,
                "lon",
                "lat",
                "crs",
                "location_warning",
                "signage_conforms",
                "signage_problems",
                "status",
                "status_since",
                "open_division",
                "version",
                "updated_at",
            ),
            "id",
            update_rows,
        )
        await bulk.insert_rows(
            StatusEvent,
            (
                "site",
                "status",
                "previous_status",
                "effective_date",
                "note",
                "skipped",
                "actor",
                "recorded_at",
            ),
            events,
        )
        await bulk.insert_rows(AuditEntry, AUDIT_COLUMNS, audit)
        await self._summary_audit(outcome)
        self.progress("write", total, total)
