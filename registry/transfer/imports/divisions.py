"""Import of divisions (province, city, county, township, village) with, from GeoJSON, their
boundaries.

Divisions are matched by code: a new code is created, a known one updated, an unchanged one
left alone. A row's parent is the one given or the one its code's structure implies, and must
exist one level up, in the file or the registry. A code must lie within the deployment's root
and within its parent (start with its digits; under a township, with its county's, since a
village's statistical code may carry another township code than civil affairs'). An existing
division never moves to another county. Boundaries are stored in WGS-84 (converted from the
file's ``crs``) with a simplified copy for maps; an outline without a ``crs`` that sits a
GCJ-02 (or BD-09) offset away from the stored outline of the same code is imported with a
warning saying so. A renamed division renames its sites' standard names in the same
transaction.
"""

from __future__ import annotations

import json
from functools import partial
from types import MappingProxyType
from typing import Any

import msgspec
import shapely

from geo.boundaries import apparent_datum
from geo.geojson_io import geometry_to_geojson
from registry.audit.service import COLUMNS as AUDIT_COLUMNS
from registry.audit.service import diff
from registry.audit.service import row as audit_row
from registry.core.codes import county_of, covers, level_of_code, prefix
from registry.core.settings import get_settings
from registry.db import bulk
from registry.db.sql import select_in
from registry.divisions import service as division_service
from registry.divisions.rules import LEVELS
from registry.sites.rules import signage
from registry.tables import AuditEntry, Division, DivisionBoundary, Site
from registry.transfer.imports.cells import map_columns, row_cells
from registry.transfer.imports.division_rows import (
    DIVISION_COLUMNS,
    DIVISION_DERIVED,
    DivisionIn,
    parse_divisions,
    structural_parent,
)
from registry.transfer.imports.job import (
    Job,
    as_rows,
    in_scope,
    insert_records,
    off_loop,
    out_of_scope,
)
from registry.transfer.imports.report import Outcome

MAP_TOLERANCE_DEG = 0.001
"""Simplification tolerance of a boundary's map copy (as the seed loader's)."""

# What an imported boundary replaces of a stored one (the row keyed by ``division``).
BOUNDARY_UPDATE = ("geometry", "simplified", "min_lon", "min_lat", "max_lon", "max_lat", "source")

_LEVEL_RANK = MappingProxyType({level: rank for rank, level in enumerate(LEVELS)})


def _wanted_codes(rows: list[DivisionIn]) -> list[str]:
    """The codes to look up: the rows' own, their parents' given and implied."""
    wanted = {r.code for r in rows} | {r.parent_code for r in rows if r.parent_code}
    wanted |= {structural_parent(r) for r in rows if structural_parent(r)}
    return sorted(c for c in wanted if c)


class DivisionJob(Job):
    what = "divisions"

    def _committed(self, outcome: Outcome) -> None:
        if outcome.boundaries:
            division_service.invalidate()

    def _parse(self) -> list[DivisionIn] | None:
        """The file's valid rows with their boundaries (None: its columns are wrong); in a
        worker thread."""
        positions = map_columns(self.table, DIVISION_COLUMNS, DIVISION_DERIVED, self.issues)
        if self.issues.errors:
            return None
        rows = parse_divisions(
            self.table, row_cells(self.table, positions, self.issues), self.issues
        )
        self.progress("check", len(self.table.rows), len(self.table.rows))
        return rows

    # ----------------------------------------------------------------------- planning

    async def _plan(self, rows: list[DivisionIn], outcome: Outcome) -> Any:
        wanted = await off_loop(partial(_wanted_codes, rows))
        existing_rows = await select_in(
            Division.code,
            wanted,
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
        existing = {r["code"]: r for r in existing_rows}
        creates, updates = await off_loop(partial(self._decide, rows, existing))
        boundaries = await self._boundary_plan(rows)
        await off_loop(partial(self._count, rows, creates, updates, boundaries, outcome))
        return creates, updates, boundaries

    def _count(
        self,
        rows: list[DivisionIn],
        creates: list[DivisionIn],
        updates: list[tuple[DivisionIn, dict[str, Any], dict[str, Any]]],
        boundaries: list[tuple[dict[str, Any], bool]],
        outcome: Outcome,
    ) -> None:
        """What the file changes (in a worker thread)."""
        outcome.created = len(creates)
        outcome.updated = len(updates)
        outcome.boundaries = len(boundaries)
        # A boundary alone makes an otherwise unchanged division "updated".
        changed = {u[0].code for u in updates} | {c.code for c in creates}
        outcome.updated += sum(1 for b, _ in boundaries if b["division"] not in changed)
        valid = sum(1 for r in rows if r.row not in self.issues.bad_rows)
        outcome.unchanged = max(0, valid - outcome.created - outcome.updated)

    def _decide(
        self, rows: list[DivisionIn], existing: dict[str, dict[str, Any]]
    ) -> tuple[list[DivisionIn], list[tuple[DivisionIn, dict[str, Any], dict[str, Any]]]]:
        """New and changed divisions (in a worker thread)."""
        by_code = {r.code: r for r in rows}
        root = get_settings().root_code
        creates: list[DivisionIn] = []
        updates: list[tuple[DivisionIn, dict[str, Any], dict[str, Any]]] = []
        for item in sorted(rows, key=lambda r: (_LEVEL_RANK[r.level], r.code)):
            if not self._in_root(item, root):
                continue
            if not self._resolve_parent(item, by_code, existing):
                continue
            if not self._within_parent(item):
                continue
            if not in_scope(self.actor, item.code, item.county_code, item.level):
                self.issues.add(item.row, "code", out_of_scope(self.actor))
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
                    "不能把已有区划移到另一个县",
                    "an existing division cannot move to another county",
                )
                continue
            changes = {k: v for k, v in after.items() if before.get(k) != v}
            if changes:
                updates.append((item, before, changes))
        return creates, updates

    def _in_root(self, item: DivisionIn, root: str) -> bool:
        """The code lies within the registry's root."""
        if covers(root, item.code):
            return True
        self.issues.error(
            item.row,
            "code",
            "outside_root",
            f"代码 {item.code} 不属于本系统所辖范围（{prefix(root) or '全国'}）",
            f"the code {item.code} lies outside the registry's root {root}",
        )
        return False

    def _within_parent(self, item: DivisionIn) -> bool:
        """A code lies within its parent: starts with its digits — under a township, with its
        county's: a village's statistical code may carry another township code than the
        civil-affairs code of its township (431202101001 under 黄金坳镇 431202102000)."""
        parent = item.parent_code
        if not (item.explicit_parent and parent):
            return True
        if level_of_code(parent) == "township":
            inside = county_of(parent) == county_of(item.code)
        else:
            inside = covers(parent, item.code)
        if not inside:
            self.issues.error(
                item.row,
                "code",
                "code_outside_parent",
                f"代码 {item.code} 与上级区划 {parent} 不符：下级代码应以上级代码开头",
                f"the code {item.code} does not lie within its parent {parent}: a code "
                "starts with its parent's digits",
            )
        return inside

    def _resolve_parent(
        self,
        item: DivisionIn,
        by_code: dict[str, DivisionIn],
        existing: dict[str, dict[str, Any]],
    ) -> bool:
        """Parent (given or by code structure) must exist, in the file or the database, one
        level up; the county and township codes follow from it."""
        if item.level in ("province", "city") and (
            item.code == get_settings().root_code or item.level == "province"
        ):
            if item.explicit_parent:
                self.issues.error(
                    item.row,
                    "parent_code",
                    "invalid_parent",
                    "该区划是登记范围的最上级，没有上级区划",
                    "this division is the top of the registry and has no parent",
                )
                return False
            item.parent_code = None
            return True
        parent_code = item.parent_code or structural_parent(item)
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
                f"上级区划 {parent_code} 不存在（数据库和本文件中都没有）",
                f"parent division {parent_code} does not exist (neither in the registry "
                "nor in this file)",
            )
            return False
        expected = LEVELS[_LEVEL_RANK[item.level] - 1]
        if item.level == "township" and level_of_code(parent_code or "") == "city":
            expected = "city"  # a city without counties (东莞): townships under the city
        if parent_level != expected:
            self.issues.error(
                item.row,
                "parent_code",
                "invalid_parent",
                f"上级区划 {parent_code} 是 {parent_level} 级，应为 {expected} 级",
                f"parent {parent_code} is a {parent_level}, expected a {expected}",
            )
            return False
        item.parent_code = parent_code
        if item.level in ("county", "city", "province"):
            item.county_code = item.code if item.level == "county" else None
        elif item.level == "township":
            item.county_code, item.township_code = parent_code, item.code
        else:
            item.county_code, item.township_code = parent_county, parent_code
        return True

    async def _boundary_plan(self, rows: list[DivisionIn]) -> list[tuple[dict[str, Any], bool]]:
        """Boundary records of the rows whose geometry differs from the stored one, each with
        whether a boundary is stored (then it is replaced)."""
        with_geometry = [
            r for r in rows if r.geometry is not None and r.row not in self.issues.bad_rows
        ]
        if not with_geometry:
            return []
        stored = {
            r["code"]: r["geometry"]
            for r in await select_in(
                DivisionBoundary.division,
                [r.code for r in with_geometry],
                DivisionBoundary.division.as_alias("code"),
                DivisionBoundary.geometry,
            )
        }
        return await off_loop(partial(self._boundary_records, with_geometry, stored))

    def _boundary_records(
        self, with_geometry: list[DivisionIn], stored: dict[str, str]
    ) -> list[tuple[dict[str, Any], bool]]:
        """Each outline as stored and simplified, unless unchanged (in a worker thread)."""
        out = []
        for item in with_geometry:
            if not item.crs_given and item.code in stored:
                datum = apparent_datum(item.geometry, shapely.from_geojson(stored[item.code]))
                if datum is not None:
                    label = {"gcj02": "GCJ-02（高德、腾讯）", "bd09": "BD-09（百度）"}[datum]
                    self.issues.warn(
                        item.row,
                        "geometry",
                        "looks_like_" + datum,
                        f"边界未注明坐标系，按 WGS-84 导入；但它与已存边界相差一个 {label} 偏移，"
                        f"看起来是 {label} 坐标：请在 crs 列注明 {datum} 后重新导入",
                        f"the outline has no crs and was imported as WGS-84, but it sits a "
                        f"{datum} offset away from the stored outline: it looks like {datum}; "
                        f"give crs={datum} and import it again",
                    )
            text = json.dumps(geometry_to_geojson(item.geometry), separators=(",", ":"))
            if stored.get(item.code) == text:
                continue
            simple = shapely.simplify(item.geometry, MAP_TOLERANCE_DEG, preserve_topology=True)
            min_lon, min_lat, max_lon, max_lat = item.geometry.bounds
            record = {
                "division": item.code,
                "geometry": text,
                "simplified": json.dumps(
                    geometry_to_geojson(simple, ndigits=4), separators=(",", ":")
                ),
                "min_lon": min_lon,
                "min_lat": min_lat,
                "max_lon": max_lon,
                "max_lat": max_lat,
                "source": f"import {self.table.format}",
            }
            out.append((record, item.code in stored))
        return out

    # ----------------------------------------------------------------------- writing

    async def _write(self, planned: Any, outcome: Outcome) -> None:
        creates, updates, boundaries = planned
        self.progress("write", 0, len(creates) + len(updates))
        records = await off_loop(partial(self._records, creates))
        await insert_records(Division, records)
        for item, _before, changes in updates:
            await Division.update({getattr(Division, k): v for k, v in changes.items()}).where(
                Division.code == item.code
            )
        renamed = [item for item, _, changes in updates if "name" in changes or "kind" in changes]
        await self._resign_sites(renamed)
        await insert_records(DivisionBoundary, [b for b, exists in boundaries if not exists])
        await bulk.update_rows(
            DivisionBoundary,
            BOUNDARY_UPDATE,
            "division",
            as_rows((*BOUNDARY_UPDATE, "division"), [b for b, exists in boundaries if exists]),
        )
        audit = await off_loop(partial(self._audit_rows, creates, updates))
        await bulk.insert_rows(AuditEntry, AUDIT_COLUMNS, audit)
        await self.summary_audit(outcome)
        self.progress("write", len(creates) + len(updates), len(creates) + len(updates))

    def _records(self, creates: list[DivisionIn]) -> list[dict[str, Any]]:
        """The division records to insert (in a worker thread)."""
        return [
            {
                "code": c.code,
                "name": c.name,
                "level": c.level,
                "kind": c.kind,
                "parent": c.parent_code,
                "county_code": c.county_code,
                "township_code": c.township_code,
                "established_on": c.established_on,
                "abolished_on": c.abolished_on,
                "is_demo": bool(c.is_demo),
                "source": "import",
            }
            for c in creates
        ]

    def _audit_rows(
        self,
        creates: list[DivisionIn],
        updates: list[tuple[DivisionIn, dict[str, Any], dict[str, Any]]],
    ) -> list[tuple[Any, ...]]:
        """The audit rows of the created and changed divisions (in a worker thread)."""
        return [
            audit_row(
                self.actor,
                "create",
                "division",
                c.code,
                diff({}, {"name": c.name, "kind": c.kind, "parent": c.parent_code}),
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
                diff(before, changes),
                item.county_code,
                "import",
                self.now,
            )
            for item, before, changes in updates
        ]

    async def _resign_sites(self, renamed: list[DivisionIn]) -> None:
        """A renamed division changes its site's standard name and signage conformity."""
        if not renamed:
            return
        by_code = {r.code: r for r in renamed}
        sites = await select_in(
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
