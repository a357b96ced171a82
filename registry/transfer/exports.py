"""Exports of divisions, sites, status history and (masked) cases as CSV, XLSX, GeoJSON or JSON.

CSV is UTF-8 with a BOM so that Excel opens the Chinese text correctly; XLSX keeps codes as
text. Both are written by :mod:`registry.formats.writers`: a name or a note that begins like a
formula stays text (and comes back unchanged on import), and the same rows give the same bytes.
Division and site exports are what the import reads back (same column names), so an export
imported into an empty registry and exported again gives the same file. The file is built in a
worker thread: a large export does not hold the event loop.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

import anyio.to_thread

from geo.geojson_io import point_feature
from registry.core.access import Actor, can_read_county, require_role
from registry.core.errors import Forbidden, InvalidInput, NotFound
from registry.core.params import code_or_none
from registry.formats.writers import (
    XLSX_MAX_ROWS,
    write_csv,
    write_geojson,
    write_json,
    write_xlsx,
)
from registry.sites.schemas import is_public_site_field
from registry.tables import Case, Division, DivisionBoundary, Site, StatusEvent

WHAT = ("divisions", "sites", "cases", "history")
FORMATS = ("csv", "xlsx", "geojson", "json")
# A row and its JSON-ready properties → a GeoJSON Feature.
ToFeature = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]

DIVISION_COLUMNS = (
    "code",
    "name",
    "level",
    "kind",
    "parent_code",
    "county_code",
    "township_code",
    "established_on",
    "abolished_on",
    "is_demo",
)
SITE_COLUMNS = (
    "id",
    "division_code",
    "division_name",
    "kind",
    "standard_name",
    "signage_name",
    "signage_conforms",
    "lon",
    "lat",
    "crs",
    "status",
    "status_since",
    "address",
    "coord_method",
    "collected_on",
    "hall_area_m2",
    "staff_count",
    "contact_phone",
    "county_code",
    "township_code",
    "location_warning",
    "is_demo",
)
HISTORY_COLUMNS = (
    "id",
    "site_id",
    "division_code",
    "county_code",
    "status",
    "previous_status",
    "effective_date",
    "note",
    "actor",
    "recorded_at",
)
# Case columns never exported: keyed hashes (linkable pseudonyms) and free text that may name
# a resident. Any other ``resident_*`` column is exported only in its ``*_masked`` form.
CASE_COLUMNS_WITHHELD = frozenset(
    {"resident_id_hash", "content_hash", "note", "returned_reason", "created_by"}
)


@dataclass
class ExportFile:
    """An export's bytes, its file name (``what.format``: the suffix tells the media type) and
    its number of rows."""

    content: bytes
    filename: str
    rows: int


def parse_target(name: str) -> tuple[str, str]:
    """``sites.csv`` → (``sites``, ``csv``); refuses unknown names and formats."""
    what, _, fmt = name.rpartition(".")
    if not what:
        what, fmt = fmt, ""
    if what not in WHAT:
        raise NotFound(
            "unknown_export",
            f"没有名为 {what} 的导出（可选：{'、'.join(WHAT)}）",
            f"no export named {what!r}; one of {', '.join(WHAT)}",
        )
    if fmt not in FORMATS:
        raise InvalidInput(
            "unsupported_format",
            f"不支持的导出格式 {fmt!r}（可选：{'、'.join(FORMATS)}）",
            f"unsupported export format {fmt!r}; one of {', '.join(FORMATS)}",
        )
    return what, fmt


async def export(actor: Actor, what: str, fmt: str, county: str | None = None) -> ExportFile:
    """Build an export file. Divisions and sites are public; history and cases need a
    planner (own county) or the municipal centre."""
    county = code_or_none(county, "county")
    if what == "divisions":
        columns, rows = await division_rows(county)
        geometries = await _division_geometries(county) if fmt == "geojson" else {}

        def boundary(row: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
            return {
                "type": "Feature",
                "id": row["code"],
                "geometry": geometries.get(row["code"]),
                "properties": properties,
            }

        return await _build(what, fmt, columns, rows, boundary)
    if what == "sites":
        columns, rows = await site_rows(actor, county)
        return await _build(what, fmt, columns, rows, _site_point)
    county = _restricted(actor, county)
    if what == "history":
        columns, rows = await history_rows(county)
    else:
        columns, rows = await case_rows(county)
    if fmt == "geojson":
        raise InvalidInput(
            "unsupported_format",
            f"{what} 没有地理位置，不能导出为 GeoJSON",
            f"{what} has no geometry; export it as csv, xlsx or json",
        )
    return await _build(what, fmt, columns, rows, None)


async def _build(
    what: str,
    fmt: str,
    columns: list[str],
    rows: list[dict[str, Any]],
    to_feature: ToFeature | None,
) -> ExportFile:
    """:func:`_file` in a worker thread (a large export is seconds of CPU work)."""
    return await anyio.to_thread.run_sync(partial(_file, what, fmt, columns, rows, to_feature))


def _restricted(actor: Actor, county: str | None) -> str | None:
    require_role(actor, "municipal", "county_planner")
    if actor.is_planner:
        if county and county != actor.scope:
            raise Forbidden(
                "out_of_scope",
                "规划员只能导出本县的数据",
                "a planner can export only their own county",
            )
        return actor.scope
    if county and actor.scope and not can_read_county(actor, county):
        raise Forbidden("out_of_scope", "无权导出该县的数据", f"may not export county {county}")
    return county


async def division_rows(county: str | None) -> tuple[list[str], list[dict[str, Any]]]:
    query = Division.select(
        Division.code,
        Division.name,
        Division.level,
        Division.kind,
        Division.parent.as_alias("parent_code"),
        Division.county_code,
        Division.township_code,
        Division.established_on,
        Division.abolished_on,
        Division.is_demo,
    ).order_by(Division.code)
    if county:
        query = query.where(Division.county_code == county)
    return list(DIVISION_COLUMNS), await query


async def _division_geometries(county: str | None) -> dict[str, Any]:
    query = DivisionBoundary.select(
        DivisionBoundary.division.as_alias("code"), DivisionBoundary.geometry
    )
    if county:
        query = query.where(DivisionBoundary.division.county_code == county)
    return {r["code"]: json.loads(r["geometry"]) for r in await query}


async def site_rows(actor: Actor, county: str | None) -> tuple[list[str], list[dict[str, Any]]]:
    query = Site.select(
        Site.id,
        Site.division.as_alias("division_code"),
        Site.division.name.as_alias("division_name"),
        Site.kind,
        Site.standard_name,
        Site.signage_name,
        Site.signage_conforms,
        Site.lon,
        Site.lat,
        Site.status,
        Site.status_since,
        Site.address,
        Site.coord_method,
        Site.collected_on,
        Site.hall_area_m2,
        Site.staff_count,
        Site.contact_phone,
        Site.county_code,
        Site.township_code,
        Site.location_warning,
        Site.is_demo,
    ).order_by(Site.id)
    if county:
        query = query.where(Site.county_code == county)
    rows = await query
    columns = list(SITE_COLUMNS)
    if actor.anonymous:
        # The public register, as the site list shows it: the public fields of a site only.
        columns = [c for c in columns if is_public_site_field(c)]
    for row in rows:
        row["crs"] = "wgs84"
        row["lon"] = round(row["lon"], 7)
        row["lat"] = round(row["lat"], 7)
    return columns, rows


async def history_rows(county: str | None) -> tuple[list[str], list[dict[str, Any]]]:
    query = StatusEvent.select(
        StatusEvent.id,
        StatusEvent.site.as_alias("site_id"),
        StatusEvent.site.division.as_alias("division_code"),
        StatusEvent.site.county_code.as_alias("county_code"),
        StatusEvent.status,
        StatusEvent.previous_status,
        StatusEvent.effective_date,
        StatusEvent.note,
        StatusEvent.actor,
        StatusEvent.recorded_at,
    ).order_by(StatusEvent.id)
    if county:
        query = query.where(StatusEvent.site.county_code == county)
    return list(HISTORY_COLUMNS), await query


def case_columns() -> list[str]:
    """Whatever columns the ``service_case`` table has, masked fields only."""
    out = []
    for column in Case._meta.columns:
        name = column._meta.db_column_name
        if name in CASE_COLUMNS_WITHHELD:
            continue
        if name.startswith("resident_") and not name.endswith("_masked"):
            continue
        out.append(name)
    return out


async def case_rows(county: str | None) -> tuple[list[str], list[dict[str, Any]]]:
    exists = Case.exists()
    if county:
        exists = exists.where(Case.county_code == county)
    if not await exists:
        raise NotFound(
            "no_cases",
            "没有可导出的代办事项记录",
            "there are no cases to export (the table is empty)",
        )
    names = case_columns()
    columns = [getattr(Case, n) for n in names if hasattr(Case, n)]
    query = Case.select(*columns).order_by(Case.received_at).order_by(Case.id)
    if county:
        query = query.where(Case.county_code == county)
    rows = await query
    for row in rows:
        for key, value in row.items():
            if not isinstance(value, str | int | float | bool | date | datetime | type(None)):
                row[key] = str(value)
    return names, rows


def _site_point(row: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    lon, lat = properties.pop("lon"), properties.pop("lat")
    return point_feature(lon, lat, properties, row["id"], ndigits=7)


def _file(
    what: str,
    fmt: str,
    columns: list[str],
    rows: list[dict[str, Any]],
    to_feature: ToFeature | None,
) -> ExportFile:
    """The rows as a file of ``fmt``; ``to_feature`` makes the GeoJSON features (None: the rows
    have no geometry and the caller has refused GeoJSON)."""
    if fmt == "csv":
        content = write_csv(columns, ([r.get(c) for c in columns] for r in rows))
    elif fmt == "xlsx":
        if len(rows) > XLSX_MAX_ROWS:
            raise InvalidInput(
                "too_many_rows_for_xlsx",
                f"{len(rows)} 行超过 Excel 工作表上限 {XLSX_MAX_ROWS}：请导出为 CSV 或按县导出",
                f"{len(rows)} rows exceed Excel's sheet limit of {XLSX_MAX_ROWS}; "
                "export CSV or one county at a time",
            )
        content = write_xlsx(columns, ([r.get(c) for c in columns] for r in rows), what)
    elif fmt == "json":
        items = [{c: _json_value(r.get(c)) for c in columns} for r in rows]
        content = write_json(
            {"what": what, "columns": columns, "items": items, "total": len(items)}
        )
    else:
        assert to_feature is not None
        content = write_geojson(
            to_feature(r, {c: _json_value(r.get(c)) for c in columns}) for r in rows
        )
    return ExportFile(content, f"{what}.{fmt}", len(rows))


def _json_value(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value
