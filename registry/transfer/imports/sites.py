"""Import of sites (convenience service centres and agency points) with their status history.

A row names its division; the site is matched by the division's open site (a ``closed`` row:
by the division's latest closed site, or its open one if the file opens no other). A new site
starts with the recorded transitions up to its status; an existing one is updated in the
columns the file has, and a status change adds a dated event (its effective date required, no
earlier than the last). Coordinates are converted to WGS-84 and checked against the county
boundary in bulk (one STRtree query for all points).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

import msgspec

from registry.audit.service import COLUMNS as AUDIT_COLUMNS
from registry.audit.service import diff
from registry.audit.service import row as audit_row
from registry.core.errors import RuleViolation
from registry.core.settings import get_settings
from registry.db import bulk
from registry.db.sql import select_in
from registry.divisions import service as division_service
from registry.divisions.rules import site_kind_for
from registry.sites.rules import signage
from registry.sites.rules import status as status_rules
from registry.sites.rules.facts import check_division_open
from registry.sites.rules.location import check_containment_many, to_wgs84_checked_many
from registry.sites.rules.signage import SignageCheck
from registry.sites.rules.status import Transition
from registry.tables import AuditEntry, Division, Site, StatusEvent
from registry.transfer.imports.cells import map_columns, row_cells
from registry.transfer.imports.job import (
    Job,
    as_rows,
    in_scope,
    insert_columns,
    insert_records,
    off_loop,
    out_of_scope,
)
from registry.transfer.imports.report import Outcome
from registry.transfer.imports.site_rows import SITE_COLUMNS, SITE_DERIVED, SiteIn, parse_sites

# Columns a file may change on an existing site (when the file has the column).
SITE_MUTABLE = (
    "signage_name",
    "address",
    "coord_method",
    "collected_on",
    "hall_area_m2",
    "staff_count",
    "contact_phone",
)
SITE_UPDATE = (
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
)


@dataclass
class SiteCreate:
    """A new site: its row, division, kind, status and the transitions recorded up to it."""

    item: SiteIn
    division: dict[str, Any]
    kind: str
    status: str
    effective: date
    sign: SignageCheck
    events: list[Transition]


@dataclass
class SiteUpdate:
    """An existing site's changed columns and, for a new status, its transition."""

    item: SiteIn
    site: dict[str, Any]
    changes: dict[str, Any]
    event: Transition | None


Located = tuple[SiteIn, dict[str, Any], str]  # a row, its division and the site kind


class SiteJob(Job):
    what = "sites"

    def _parse(self) -> list[SiteIn] | None:
        """The file's valid rows (None: its columns are wrong). In a worker thread."""
        positions = map_columns(self.table, SITE_COLUMNS, SITE_DERIVED, self.issues)
        if self.issues.errors:
            return None
        rows = parse_sites(
            self.table,
            row_cells(self.table, positions, self.issues),
            set(positions),
            self.issues,
            self.today,
        )
        self.progress("check", len(self.table.rows) // 2, len(self.table.rows))
        return rows

    # ----------------------------------------------------------------------- planning

    async def _plan(
        self, rows: list[SiteIn], outcome: Outcome
    ) -> tuple[list[SiteCreate], list[SiteUpdate]]:
        division_rows = await select_in(
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
        divisions = {r["code"]: r for r in division_rows}
        county_codes = sorted({d["county_code"] for d in divisions.values() if d["county_code"]})
        county_names = {
            r["code"]: r["name"]
            for r in await select_in(Division.code, county_codes, Division.code, Division.name)
        }
        index = await division_service.county_index()
        ready = await off_loop(partial(self._locate, rows, divisions, county_names, index))
        return await self._match(ready, outcome)

    def _locate(
        self,
        rows: list[SiteIn],
        divisions: dict[str, dict[str, Any]],
        county_names: dict[str, str],
        index: Any,
    ) -> list[Located]:
        """The rows whose division, scope and point are right (in a worker thread)."""
        # Division checks (existence, kind, scope).
        candidates: list[Located] = []
        for item in rows:
            division = divisions.get(item.division_code)
            if division is None:
                self.issues.error(
                    item.row,
                    "division_code",
                    "unknown_division",
                    f"区划 {item.division_code} 不存在",
                    f"division {item.division_code} does not exist",
                )
                continue
            try:
                kind = site_kind_for(division["kind"], division["level"])
            except RuleViolation as exc:
                self.issues.rule(item.row, exc, "division_code")
                continue
            if not in_scope(self.actor, item.division_code, division["county_code"], "village"):
                self.issues.add(item.row, "division_code", out_of_scope(self.actor))
                continue
            candidates.append((item, division, kind))
        self.progress("check", len(rows) * 2 // 3, len(rows))
        # Coordinates in bulk: conversion, swapped axes, ranges, then containment.
        checked = to_wgs84_checked_many(
            [c[0].lon for c in candidates],
            [c[0].lat for c in candidates],
            [c[0].crs for c in candidates],
        )
        located: list[Located] = []
        for i, (item, division, kind) in enumerate(candidates):
            error = checked.errors[i]
            if error is not None:
                self.issues.rule(item.row, error)
                continue
            item.wlon, item.wlat = float(checked.lons[i]), float(checked.lats[i])
            item.datum = checked.datums[i] or "wgs84"
            located.append((item, division, kind))
        containment = check_containment_many(
            index,
            [d["county_code"] for _, d, _ in located],
            [county_names.get(d["county_code"], d["county_code"]) for _, d, _ in located],
            [i.wlon for i, _, _ in located],
            [i.wlat for i, _, _ in located],
            get_settings().boundary_tolerance_m,
        )
        ready: list[Located] = []
        for n, entry in enumerate(located):
            if containment.errors[n] is not None:
                self.issues.rule(entry[0].row, containment.errors[n], "lon")
                continue
            entry[0].warning = containment.warnings[n]
            if entry[0].warning:
                self.issues.warn_text(entry[0].row, "lon", "location_warning", entry[0].warning)
            ready.append(entry)
        return ready

    async def _match(
        self, ready: list[Located], outcome: Outcome
    ) -> tuple[list[SiteCreate], list[SiteUpdate]]:
        """Each row's site: a new one, a changed one, or unchanged."""
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
        wanted = {item.division_code for item, _, _ in ready}
        counties = sorted({division["county_code"] for _, division, _ in ready})
        sites = [
            s
            for s in await select_in(Site.county_code, counties, *site_columns)
            if s["division"] in wanted
        ]
        last_dates = await self._last_event_dates([s["id"] for s in sites])
        return await off_loop(partial(self._decide, ready, sites, last_dates, outcome))

    def _decide(
        self,
        ready: list[Located],
        sites: list[dict[str, Any]],
        last_dates: dict[int, date],
        outcome: Outcome,
    ) -> tuple[list[SiteCreate], list[SiteUpdate]]:
        """Each row: a new site, a changed one or unchanged (in a worker thread)."""
        open_by_division = {s["division"]: s for s in sites if s["open_division"] is not None}
        closed_by_division: dict[str, dict[str, Any]] = {}
        for s in sorted(sites, key=lambda s: s["id"]):
            if s["open_division"] is None:
                closed_by_division[s["division"]] = s
        file_open = {item.division_code for item, _, _ in ready if item.status != "closed"}
        creates: list[SiteCreate] = []
        updates: list[SiteUpdate] = []
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
        outcome.status_events = sum(len(c.events) for c in creates) + sum(
            1 for u in updates if u.event is not None
        )
        return creates, updates

    async def _last_event_dates(self, site_ids: list[int]) -> dict[int, date]:
        out: dict[int, date] = {}
        for r in await select_in(
            StatusEvent.site, site_ids, StatusEvent.site, StatusEvent.effective_date
        ):
            if r["site"] not in out or r["effective_date"] > out[r["site"]]:
                out[r["site"]] = r["effective_date"]
        return out

    def _new_site(self, item: SiteIn, division: dict[str, Any], kind: str) -> SiteCreate:
        status = item.status or "planned"
        if status != "closed":
            check_division_open(
                division["name"], division["established_on"], division["abolished_on"], self.today
            )
        transitions = status_rules.recorded_start(status, kind)
        sign = signage.check(division["name"], division["kind"], item.values.get("signage_name"))
        return SiteCreate(
            item=item,
            division=division,
            kind=kind,
            status=transitions[-1].status,
            effective=item.effective_date or self.today,
            sign=sign,
            events=transitions,
        )

    def _changes(
        self, item: SiteIn, division: dict[str, Any], site: dict[str, Any], last: date | None
    ) -> SiteUpdate | None:
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
            event = status_rules.check_transition(
                site["status"], item.status, site["kind"], item.note
            )
        if not changes and event is None:
            return None
        return SiteUpdate(item=item, site=site, changes=changes, event=event)

    # ----------------------------------------------------------------------- writing

    def _event(
        self, site_id: int, transition: Transition, effective: date, note: str | None
    ) -> dict[str, Any]:
        return {
            "site": site_id,
            "status": transition.status,
            "previous_status": transition.previous,
            "effective_date": effective,
            "note": note,
            "skipped": json.dumps(transition.skipped),
            "actor": self.actor.username,
            "recorded_at": self.now,
        }

    def _site_record(self, c: SiteCreate) -> dict[str, Any]:
        item, values = c.item, c.item.values
        return {
            "division": item.division_code,
            "open_division": None if c.status == "closed" else item.division_code,
            "kind": c.kind,
            "county_code": c.division["county_code"],
            "township_code": c.division["township_code"],
            "standard_name": c.sign.standard_name,
            "signage_name": values.get("signage_name"),
            "signage_conforms": c.sign.conforms,
            "signage_problems": json.dumps(
                msgspec.to_builtins(c.sign.problems), ensure_ascii=False
            ),
            "lon": item.wlon,
            "lat": item.wlat,
            "crs": item.datum,
            "coord_method": values.get("coord_method"),
            "collected_on": values.get("collected_on"),
            "location_warning": item.warning,
            "address": values.get("address"),
            "hall_area_m2": values.get("hall_area_m2"),
            "staff_count": values.get("staff_count"),
            "contact_phone": values.get("contact_phone"),
            "status": c.status,
            "status_since": c.effective,
            "version": 1,
            "is_demo": False,
            "created_by": self.actor.username,
            "created_at": self.now,
            "updated_at": self.now,
        }

    async def _write(
        self, planned: tuple[list[SiteCreate], list[SiteUpdate]], outcome: Outcome
    ) -> None:
        creates, updates = planned
        total = len(creates) + len(updates)
        self.progress("write", 0, total)
        records = await off_loop(lambda: [self._site_record(c) for c in creates])
        ids: list[int] = []
        if records:
            columns = insert_columns(Site, records[0])
            site_rows = await off_loop(partial(as_rows, columns, records))
            ids = await bulk.insert_returning_ids(Site, columns, site_rows)
        self.progress("write", len(creates) // 2, total)
        events, audit, changed = await off_loop(partial(self._records, ids, creates, updates))
        await bulk.update_rows(
            Site, SITE_UPDATE, "id", await off_loop(partial(as_rows, (*SITE_UPDATE, "id"), changed))
        )
        await insert_records(StatusEvent, events)
        await bulk.insert_rows(AuditEntry, AUDIT_COLUMNS, audit)
        await self.summary_audit(outcome)
        self.progress("write", total, total)

    def _records(
        self, ids: list[int], creates: list[SiteCreate], updates: list[SiteUpdate]
    ) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]], list[dict[str, Any]]]:
        """Status events, audit rows and changed sites to write (in a worker thread)."""
        events = []
        audit = []
        for site_id, c in zip(ids, creates, strict=True):
            item = c.item
            events.extend(self._event(site_id, t, c.effective, item.note) for t in c.events)
            fields = {
                "division_code": item.division_code,
                "kind": c.kind,
                "lon": item.wlon,
                "lat": item.wlat,
                "crs": item.datum,
                "status": c.status,
                "effective_date": c.effective,
                **{k: v for k, v in item.values.items() if v is not None},
            }
            audit.append(
                audit_row(
                    self.actor,
                    "create",
                    "site",
                    site_id,
                    diff({}, fields),
                    c.division["county_code"],
                    item.note,
                    self.now,
                )
            )
        changed = []
        for u in updates:
            site, changes, event, item = u.site, u.changes, u.event, u.item
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
                        diff(site, audited),
                        site["county_code"],
                        item.note,
                        self.now,
                    )
                )
            if event is not None:
                merged["status"] = event.status
                merged["status_since"] = item.effective_date
                events.append(self._event(site["id"], event, item.effective_date, item.note))
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
            merged.update(
                signage_problems=problems,
                open_division=None if merged["status"] == "closed" else site["open_division"],
                version=site["version"] + 1,
                updated_at=self.now,
            )
            changed.append(merged)
        return events, audit, changed
