"""The rows of a division import file, read and checked on their own (no database yet).

Each row gives a code (its level follows from the code) and a name; the kind is given or follows
from the name; the parent is given or follows from the code's structure. From GeoJSON, a row
brings its boundary (Polygon or MultiPolygon), converted to WGS-84 from the row's ``crs``. A row
with any error is left out (and reported); a code appears once per file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any

from geo.crs import transform_geometry
from geo.geojson_io import GeometryError, parse_geometry
from registry.core.codes import level_of_code, parent_code_of
from registry.core.errors import RuleViolation
from registry.core.text import clean_text
from registry.divisions.rules import (
    LEVELS,
    check_kind,
    city_kind,
    county_kind,
    province_kind,
    township_kind,
    village_kind,
)
from registry.formats.readers import RawTable
from registry.sites.rules.location import normalise_crs
from registry.transfer.imports.cells import ColumnSpec, as_bool, as_code, as_date, as_text
from registry.transfer.imports.report import Issues

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
_KIND_FROM_NAME = MappingProxyType(
    {
        "province": province_kind,
        "city": city_kind,
        "county": county_kind,
        "township": township_kind,
        "village": village_kind,
    }
)


@dataclass
class DivisionIn:
    """A valid row of the file; county and township codes follow from its parent."""

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
    # Whether the row said which datum its geometry is in (else WGS-84 is assumed).
    crs_given: bool = False


def structural_parent(item: DivisionIn) -> str | None:
    """The parent code the code's structure implies (None for a province)."""
    return parent_code_of(item.code)


def parse_divisions(
    table: RawTable, rows: list[tuple[int, dict[str, Any]]], issues: Issues
) -> list[DivisionIn]:
    """The valid rows of ``rows`` (cells by column), with their boundaries in WGS-84."""
    parsed: list[DivisionIn] = []
    seen: dict[str, int] = {}
    for number, cells in rows:
        errors = len(issues.items)
        try:
            code = as_code(cells.get("code"), "code")
        except RuleViolation as exc:
            issues.rule(number, exc, "code")
            continue
        level = level_of_code(code)
        name = kind = None
        try:
            name = clean_text(as_text(cells.get("name")), "name", max_length=100, required=True)
        except RuleViolation as exc:
            issues.rule(number, exc, "name")
        if level not in LEVELS:
            issues.error(
                number,
                "code",
                "invalid_level",
                f"代码 {code} 不是省、市、县、乡镇或村(社区)的代码",
                f"{code} is no code of a province, city, county, township or village",
            )
            continue
        given_level = as_text(cells.get("level"))
        if given_level and given_level.strip() != level:
            issues.error(
                number,
                "level",
                "level_mismatch",
                f"层级“{given_level}”与代码 {code} 的层级 {level} 不符",
                f"level {given_level!r} does not match the code's level {level}",
            )
        given_kind = as_text(cells.get("kind"))
        try:
            if given_kind:
                kind = given_kind.strip()
                check_kind(level, kind)
            elif name:
                kind = _KIND_FROM_NAME[level](name)
        except RuleViolation as exc:
            issues.rule(number, exc, "kind" if given_kind else "name")
        parent = None
        explicit = False
        if as_text(cells.get("parent_code")):
            try:
                parent = as_code(cells.get("parent_code"), "parent_code")
                explicit = True
            except RuleViolation as exc:
                issues.rule(number, exc, "parent_code")
        dates: dict[str, date | None] = {}
        for column in ("established_on", "abolished_on"):
            try:
                dates[column] = as_date(cells.get(column), column)
            except RuleViolation as exc:
                issues.rule(number, exc, column)
        established, abolished = dates.get("established_on"), dates.get("abolished_on")
        if established and abolished and abolished <= established:
            issues.error(
                number,
                "abolished_on",
                "invalid_dates",
                "撤销日期应晚于设立日期",
                "abolished_on must be after established_on",
            )
        is_demo = None
        try:
            is_demo = as_bool(cells.get("is_demo"), "is_demo")
        except RuleViolation as exc:
            issues.rule(number, exc, "is_demo")
        geometry = _geometry(table, number, cells.get("crs"), issues)
        if code in seen:
            issues.error(
                number,
                "code",
                "duplicate_code",
                f"代码 {code} 在第 {seen[code]} 行已出现",
                f"code {code} already appears on row {seen[code]}",
            )
            continue
        seen[code] = number
        if len(issues.items) != errors and number in issues.bad_rows:
            continue
        assert name is not None and kind is not None
        parsed.append(
            DivisionIn(
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
                crs_given=bool(as_text(cells.get("crs"))),
            )
        )
    return parsed


def _geometry(table: RawTable, number: int, crs_value: Any, issues: Issues) -> Any:
    """The WGS-84 boundary of a GeoJSON feature (None: no geometry given)."""
    feat = table.geometries.get(number)
    if not feat or feat.get("geometry") is None:
        return None
    try:
        geom = parse_geometry(feat)
    except GeometryError as exc:
        problems = "; ".join(exc.problems[:3]) if hasattr(exc, "problems") else str(exc)
        issues.error(number, "geometry", "invalid_geometry", "边界几何无效", problems)
        return None
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        issues.error(
            number,
            "geometry",
            "invalid_geometry",
            f"区划边界应为 Polygon 或 MultiPolygon，收到 {geom.geom_type}",
            f"a division boundary must be a Polygon or MultiPolygon, got {geom.geom_type}",
        )
        return None
    try:
        crs = normalise_crs(as_text(crs_value))
    except RuleViolation as exc:
        issues.rule(number, exc, "crs")
        return None
    return transform_geometry(geom, crs, "wgs84") if crs not in ("wgs84", "cgcs2000") else geom
