"""Import of divisions (city, county, township, village) with, from GeoJSON, their boundaries.

Divisions are matched by code: a new code is created, a known one updated, an unchanged one
left alone. A row's parent is the one given or the one its code's structure implies, and must
exist one level up, in the file or the registry; an existing division never moves to another
county. Boundaries are stored in WGS-84 (converted from the file's ``crs``) with a simplified
copy for maps. A renamed division renames its sites' standard names in the same transaction.
"""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import msgspec
import shapely

from geo.geojson_io import geometry_to_geojson
from registry.audit.service import COLUMNS as AUDIT_COLUMNS
from registry.audit.service import diff
from registry.audit.service import row as audit_row
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
from registry.transfer.imports.job import Job, as_rows, in_scope, insert_records, out_of_scope
from registry.transfer.imports.report import Outcome

MAP_TOLERANCE_DEG = 0.001
"""Simplification tolerance of a boundary's map copy (as the seed loader's)."""

# What an imported boundary replaces of a stored one (the row keyed by ``division``).
BOUNDARY_UPDATE = ("geometry", "simplified", "min_lon", "min_lat", "max_lon", "max_lat", "source")

_LEVEL_RANK = MappingProxyType({level: rank for rank, level in enumerate(LEVELS)})


class DivisionJob(Job):
    what = "divisions"

    async def run(self, dry_run: bool, outcome: Outcome) -> bool:
        positions = map_columns(self.table, DIVISION_COLUMNS, DIVISION_DERIVED, self.issues)
        if self.issues.errors:
            return False
        rows = parse_divisions(
            self.table, row_cells(self.table, positions, self.issues), self.issues
        )
        self.progress("check", len(self.table.rows), len(self.table.rows))

        async def plan() -> Any:
            return await self._plan(rows, outcome)

        async def write(planned: Any) -> None:
            await self._write(planned, outcome)

        committed = await self.write_in_transaction(plan, write, dry_run)
        if committed and outcome.boundaries:
            division_service.invalidate()
        return committed

    # ----------------------------------------------------------------------- planning

    async def _plan(self, rows: list[DivisionIn], outcome: Outcome) -> Any:
        codes = {r.code for r in rows}
        wanted = codes | {r.parent_code for r in rows if r.parent_code}
        wanted |= {structural_parent(r) for r in rows if structural_parent(r)}
        existing = {
            r["code"]: r
            for r in await select_in(
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
        creates: list[DivisionIn] = []
        updates: list[tuple[DivisionIn, dict[str, Any], dict[str, Any]]] = []
        for item in sorted(rows, key=lambda r: (_LEVEL_RANK[r.level], r.code)):
            if not self._resolve_parent(item, by_code, existing):
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
        boundaries = await self._boundary_plan(rows)
        outcome.created = len(creates)
        outcome.updated = len(updates)
        outcome.boundaries = len(boundaries)
        # A boundary alone makes an otherwise unchanged division "updated".
        changed = {u[0].code for u in updates} | {c.code for c in creates}
        outcome.updated += sum(1 for b, _ in boundaries if b["division"] not in changed)
        valid = sum(1 for r in rows if r.row not in self.issues.bad_rows)
        outcome.unchanged = max(0, valid - outcome.created - outcome.updated)
        return creates, updates, boundaries

    def _resolve_parent(
        self,
        item: DivisionIn,
        by_code: dict[str, DivisionIn],
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
                    "市级区划没有上级（省级不在登记范围内）",
                    "a city has no parent in the registry (provinces are not registered)",
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
        if item.level == "county":
            item.county_code = item.code
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
        out = []
        for item in with_geometry:
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
        records = [
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
        audit = [
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
        await bulk.insert_rows(AuditEntry, AUDIT_COLUMNS, audit)
        await self.summary_audit(outcome)
        self.progress("write", len(creates) + len(updates), len(creates) + len(updates))

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
