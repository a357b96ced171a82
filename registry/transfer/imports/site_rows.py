"""The rows of a site import file, read and checked on their own (no database yet).

Each row gives a division code and a point (``lon``/``lat`` columns, or a GeoJSON Point), and
optionally a status with its effective date, the signage name and the site's facts. A row with
any error is left out (and reported); at most one row per division and open/closed state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

from registry.core.errors import RuleViolation
from registry.core.text import clean_text
from registry.formats.readers import RawTable
from registry.sites.rules import status as status_rules
from registry.sites.rules.facts import check_facts
from registry.sites.rules.location import check_coord_method
from registry.transfer.imports.cells import (
    ColumnSpec,
    as_code,
    as_date,
    as_int,
    as_number,
    as_text,
)
from registry.transfer.imports.report import Issues

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
# Columns an export writes that an import accepts and ignores (they derive from the others).
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
# Free-text columns and their longest length.
_SITE_TEXT = MappingProxyType({"signage_name": 200, "address": 300, "contact_phone": 30})
_STATUS_BY_LABEL = MappingProxyType(
    {label: status for status, label in status_rules.LABELS_ZH.items()}
)


@dataclass
class SiteIn:
    """A valid row of the file; the WGS-84 point and its warning are filled while planning."""

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
    wlon: float = 0.0
    wlat: float = 0.0
    datum: str = "wgs84"
    warning: str | None = None


def parse_sites(
    table: RawTable,
    rows: list[tuple[int, dict[str, Any]]],
    given: set[str],
    issues: Issues,
    today: date,
) -> list[SiteIn]:
    """The valid rows of ``rows`` (cells by column; ``given``: the file's columns)."""
    parsed: list[SiteIn] = []
    seen: dict[tuple[str, bool], int] = {}
    for number, cells in rows:
        before = len(issues.bad_rows)
        try:
            code = as_code(cells.get("division_code"), "division_code")
        except RuleViolation as exc:
            issues.rule(number, exc, "division_code")
            code = None
        lon = lat = None
        feat = table.geometries.get(number)
        if feat is not None:
            lon, lat = _point(number, feat, issues)
        else:
            for column in ("lon", "lat"):
                try:
                    value = as_number(cells.get(column), column)
                    if value is None:
                        raise RuleViolation(
                            "required", f"{column} 不能为空", f"{column} is required", column
                        )
                    if column == "lon":
                        lon = value
                    else:
                        lat = value
                except RuleViolation as exc:
                    issues.rule(number, exc, column)
        values: dict[str, Any] = {}
        for column, limit in _SITE_TEXT.items():
            try:
                values[column] = clean_text(as_text(cells.get(column)), column, max_length=limit)
            except RuleViolation as exc:
                issues.rule(number, exc, column)
        note = status = effective = None
        try:
            note = clean_text(as_text(cells.get("note")), "note", max_length=1000, multiline=True)
            values["coord_method"] = check_coord_method(
                (as_text(cells.get("coord_method")) or "").strip() or None
            )
            values["collected_on"] = as_date(cells.get("collected_on"), "collected_on")
            values["hall_area_m2"] = as_number(cells.get("hall_area_m2"), "hall_area_m2")
            values["staff_count"] = as_int(cells.get("staff_count"), "staff_count")
            check_facts(
                values["hall_area_m2"], values["staff_count"], values["collected_on"], today
            )
        except RuleViolation as exc:
            issues.rule(number, exc)
        try:
            raw_status = (as_text(cells.get("status")) or "").strip()
            status = _STATUS_BY_LABEL.get(raw_status, raw_status) or None
            if status is not None and status not in status_rules.STATUSES:
                status_rules.check_status_value(status, "township_centre")
            effective = as_date(cells.get("effective_date"), "effective_date")
            if effective is not None:
                status_rules.check_effective_date(effective, today, None)
        except RuleViolation as exc:
            issues.rule(number, exc)
        crs = as_text(cells.get("crs"))
        if code is not None:
            key = (code, status == "closed")
            if key in seen:
                issues.error(
                    number,
                    "division_code",
                    "duplicate_code",
                    f"区划 {code} 的站点在第 {seen[key]} 行已出现",
                    f"a site of division {code} already appears on row {seen[key]}",
                )
            else:
                seen[key] = number
        if len(issues.bad_rows) != before or number in issues.bad_rows:
            continue
        assert code is not None and lon is not None and lat is not None
        parsed.append(
            SiteIn(
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


def _point(number: int, feat: Any, issues: Issues) -> tuple[float | None, float | None]:
    """A GeoJSON feature's Point as (lon, lat); an error for anything else."""
    geometry = feat.get("geometry") if isinstance(feat, dict) else None
    coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if (
        not isinstance(geometry, dict)
        or geometry.get("type") != "Point"
        or not isinstance(coords, list)
        or len(coords) not in (2, 3)
        or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords)
    ):
        issues.error(
            number,
            "geometry",
            "invalid_geometry",
            "站点应为 Point 要素（[经度, 纬度]）",
            "a site must be a Point feature with [lon, lat] coordinates",
        )
        return None, None
    return float(coords[0]), float(coords[1])
