"""Sites: register, read, list, edit, dated status changes (the history: ``sites.history``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import msgspec
from msgspec import UNSET

from geo.geojson_io import feature_collection, point_feature
from registry.audit import service as audit
from registry.core import clock
from registry.core.access import Actor, require_county
from registry.core.codes import normalise_code
from registry.core.errors import Conflict, NotFound, RuleViolation
from registry.core.params import code_or_none, one_of, page
from registry.core.settings import get_settings
from registry.core.text import check_no_personal_data, clean_text
from registry.db.engines import integrity_kind
from registry.db.transactions import write_transaction
from registry.divisions import service as divisions
from registry.divisions.rules import SITE_KINDS, site_kind_for
from registry.sites import facts as site_facts
from registry.sites.rules import signage
from registry.sites.rules import status as status_rules
from registry.sites.rules.facts import check_division_open, check_facts
from registry.sites.rules.location import (
    borrowed_outline_note,
    check_coord_method,
    containment_warning,
    no_boundary_warning,
    to_wgs84_checked,
    with_note,
)
from registry.sites.schemas import (
    SignageCheck,
    Site,
    SiteCreate,
    SiteList,
    SiteUpdate,
    StatusChange,
    is_public_site_field,
    public_site_values,
)
from registry.sites.schemas import (
    StatusEvent as StatusEventOut,
)
from registry.tables import Division, StatusEvent
from registry.tables import Site as SiteRow

SITE_COLUMNS = (
    SiteRow.id,
    SiteRow.division.as_alias("division_code"),
    SiteRow.division.name.as_alias("division_name"),
    SiteRow.kind,
    SiteRow.standard_name,
    SiteRow.signage_name,
    SiteRow.signage_conforms,
    SiteRow.signage_problems,
    SiteRow.lon,
    SiteRow.lat,
    SiteRow.crs,
    SiteRow.coord_method,
    SiteRow.collected_on,
    SiteRow.location_warning,
    SiteRow.address,
    SiteRow.hall_area_m2,
    SiteRow.staff_count,
    SiteRow.contact_phone,
    SiteRow.status,
    SiteRow.status_since,
    SiteRow.county_code,
    SiteRow.township_code,
    SiteRow.version,
    SiteRow.is_demo,
    SiteRow.created_at,
    SiteRow.updated_at,
    # Public facts for residents (registry/sites/facts.py).
    SiteRow.opening_hours,
    SiteRow.public_phone,
    SiteRow.excluded_matters,
)
# Fields a PATCH may change, with their cleaning rules.
_TEXT_FIELDS = {"address": 300, "contact_phone": 30, "signage_name": 200}
# Free text shown to the public: no identity or mobile numbers (a phone goes in contact_phone).
_FREE_TEXT = ("address", "signage_name")
_OPEN_STATUSES = tuple(s for s in status_rules.STATUSES if s != "closed")


@dataclass
class SiteFilters:
    """Filters shared by the site list, the GeoJSON and exports."""

    county: str | None = None
    township: str | None = None
    kind: str | None = None
    status: str | None = None
    signage_conforms: bool | None = None
    q: str | None = None

    @classmethod
    def parse(
        cls,
        county: str | None = None,
        township: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        signage_conforms: bool | None = None,
        q: str | None = None,
    ) -> SiteFilters:
        return cls(
            county=code_or_none(county, "county"),
            township=code_or_none(township, "township"),
            kind=one_of(kind, SITE_KINDS, "kind"),
            status=one_of(status, status_rules.STATUSES, "status"),
            signage_conforms=signage_conforms,
            q=clean_text(q, "q", max_length=50),
        )

    def where(self) -> list[Any]:
        clauses = []
        if self.county:
            clauses.append(SiteRow.county_code == self.county)
        if self.township:
            clauses.append(SiteRow.township_code == self.township)
        if self.kind:
            clauses.append(SiteRow.kind == self.kind)
        if self.status:
            clauses.append(SiteRow.status == self.status)
        if self.signage_conforms is not None:
            clauses.append(SiteRow.signage_conforms == self.signage_conforms)
        if self.q:
            escaped = self.q.replace("\\", "").replace("%", "").replace("_", "")
            if escaped:
                clauses.append(SiteRow.standard_name.like(f"%{escaped}%"))
        return clauses


def _to_site(row: dict[str, Any], actor: Actor, warnings: list[str] | None = None) -> Site:
    row = dict(row)
    if isinstance(row.get("signage_problems"), str):
        row["signage_problems"] = json.loads(row["signage_problems"])
    for problem in row.get("signage_problems") or ():
        # Problems stored before message_zh/message_en existed carry only "zh / en".
        if not problem.get("message_zh"):
            zh, _, en = str(problem.get("message", "")).partition(" / ")
            problem["message_zh"], problem["message_en"] = zh, en
    if actor.anonymous:
        # Public readers see the public fields of the register (contact phones withheld).
        row = {k: (v if is_public_site_field(k) else None) for k, v in row.items()}
    row["warnings"] = warnings or []
    return msgspec.convert(row, Site, from_attributes=False)


async def select_one(site_id: int) -> dict[str, Any]:
    row = (
        await SiteRow.select(*SITE_COLUMNS)
        .where(SiteRow.id == site_id)
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("site_not_found", f"站点 {site_id} 不存在", f"site {site_id} not found")
    return row


async def get_site(site_id: int, actor: Actor) -> Site:
    return _to_site(await select_one(site_id), actor)


async def list_sites(
    filters: SiteFilters, limit: int | None, offset: int | None, actor: Actor
) -> SiteList:
    limit, offset = page(limit, offset)
    clauses = filters.where()
    query = SiteRow.select(*SITE_COLUMNS).output(load_json=True).order_by(SiteRow.id)
    count = SiteRow.count()
    for clause in clauses:
        query = query.where(clause)
        count = count.where(clause)
    rows = await query.limit(limit).offset(offset)
    total = await count
    return SiteList(
        items=[_to_site(r, actor) for r in rows], total=total, limit=limit, offset=offset
    )


GEOJSON_MAX = 200_000


async def sites_geojson(filters: SiteFilters, actor: Actor) -> dict[str, Any]:
    """All matching sites as an RFC 7946 FeatureCollection of points."""
    query = SiteRow.select(
        SiteRow.id,
        SiteRow.division.as_alias("division_code"),
        SiteRow.kind,
        SiteRow.standard_name,
        SiteRow.signage_name,
        SiteRow.signage_conforms,
        SiteRow.status,
        SiteRow.status_since,
        SiteRow.county_code,
        SiteRow.township_code,
        SiteRow.lon,
        SiteRow.lat,
    ).order_by(SiteRow.id)
    for clause in filters.where():
        query = query.where(clause)
    rows = await query.limit(GEOJSON_MAX)
    features = []
    for row in rows:
        # A public output: only the public fields of a site, whoever asks.
        properties = public_site_values(row)
        lon, lat = properties.pop("lon"), properties.pop("lat")
        properties["status_since"] = properties["status_since"].isoformat()
        features.append(point_feature(lon, lat, properties, row["id"]))
    return feature_collection(features)


async def _division(code: str) -> dict[str, Any]:
    row = await Division.select().where(Division.code == code).first()
    if row is None:
        raise RuleViolation(
            "unknown_division",
            f"区划 {code} 不存在",
            f"division {code} does not exist",
            "division_code",
        )
    return row


async def _locate_checked(
    lon: float, lat: float, crs: str | None, county_code: str, county_name: str
) -> tuple[float, float, str, str | None]:
    """Convert to WGS-84 and check the point against its county's boundary (or the one it
    borrows)."""
    wlon, wlat, datum = to_wgs84_checked(lon, lat, crs)
    index = await divisions.county_index()
    note = None
    if county_code not in index:
        # A unit without an outline of its own is checked against the one it lies in
        # (怀化市洪江管理区 → 洪江市), and the site says so.
        borrowed = await divisions.borrowed_outline(county_code)
        if borrowed is None or borrowed[0] not in index:
            return wlon, wlat, datum, no_boundary_warning(county_name)
        note = borrowed_outline_note(county_name, borrowed[1])
        county_code, county_name = borrowed
    tolerance = get_settings().boundary_tolerance_m
    result = index.check(county_code, wlon, wlat, tolerance_m=tolerance)
    located = None
    if not result.accepted:
        region = index.locate(wlon, wlat)
        located = (region.code, region.name) if region else None
    warning = containment_warning(result, county_name, tolerance, located)
    return wlon, wlat, datum, with_note(note, warning) if note else warning


async def _county_name(county_code: str) -> str:
    row = await Division.select(Division.name).where(Division.code == county_code).first()
    return row["name"] if row else county_code


def _check_signage(division: dict[str, Any], name: str | None) -> signage.SignageCheck:
    return signage.check(division["name"], division["kind"], name)


async def create_site(actor: Actor, data: SiteCreate) -> Site:
    """Register a site on a division (one open site per division)."""
    code = normalise_code(data.division_code, field="division_code")
    division = await _division(code)
    kind = site_kind_for(division["kind"], division["level"])
    county_code = division["county_code"]
    require_county(actor, county_code)
    today = clock.today()
    check_division_open(
        division["name"], division["established_on"], division["abolished_on"], today
    )
    signage_name = check_no_personal_data(
        clean_text(data.signage_name, "signage_name", max_length=200), "signage_name"
    )
    address = check_no_personal_data(clean_text(data.address, "address", max_length=300), "address")
    phone = clean_text(data.contact_phone, "contact_phone", max_length=30)
    note = _clean_note(data.note)
    method = check_coord_method(data.coord_method)
    check_facts(data.hall_area_m2, data.staff_count, data.collected_on, today)
    initial = status_rules.check_initial(data.status, kind)
    effective = data.effective_date or today
    status_rules.check_effective_date(effective, today, None)
    county_name = await _county_name(county_code)
    lon, lat, datum, warning = await _locate_checked(
        data.lon, data.lat, data.crs, county_code, county_name
    )
    sign = _check_signage(division, signage_name)
    now = clock.now()

    try:
        async with write_transaction():
            existing = await _open_site(code)
            if existing is not None:
                raise _site_exists(division, existing)
            row = SiteRow(
                division=code,
                open_division=code,
                kind=kind,
                county_code=county_code,
                township_code=division["township_code"],
                standard_name=sign.standard_name,
                signage_name=signage_name,
                signage_conforms=sign.conforms,
                signage_problems=msgspec.to_builtins(sign.problems),
                lon=lon,
                lat=lat,
                crs=datum,
                coord_method=method,
                collected_on=data.collected_on,
                location_warning=warning,
                address=address,
                hall_area_m2=data.hall_area_m2,
                staff_count=data.staff_count,
                contact_phone=phone,
                status=initial.status,
                status_since=effective,
                version=1,
                created_by=actor.username,
                created_at=now,
                updated_at=now,
            )
            await row.save()
            await StatusEvent.insert(
                StatusEvent(
                    site=row.id,
                    status=initial.status,
                    previous_status=None,
                    effective_date=effective,
                    note=note,
                    skipped=initial.skipped,
                    actor=actor.username,
                    recorded_at=now,
                )
            )
            fields = {
                "division_code": code,
                "kind": kind,
                "signage_name": signage_name,
                "lon": lon,
                "lat": lat,
                "crs": datum,
                "address": address,
                "status": initial.status,
                "effective_date": effective,
                "coord_method": method,
                "collected_on": data.collected_on,
                "hall_area_m2": data.hall_area_m2,
                "staff_count": data.staff_count,
                "contact_phone": phone,
            }
            await audit.record(
                actor,
                "create",
                "site",
                row.id,
                audit.diff({}, {k: v for k, v in fields.items() if v is not None}),
                county_code=county_code,
                note=note,
            )
    except Exception as exc:
        # Registered by a concurrent request between our check and our insert (PostgreSQL:
        # the UNIQUE open_division refuses the second): the same answer as the check's, with
        # the winner's id.
        if integrity_kind(exc) != "unique":
            raise
        winner = await _open_site(code)
        if winner is None:
            raise
        raise _site_exists(division, winner) from None
    return _to_site(await select_one(row.id), actor, [warning] if warning else [])


async def _open_site(code: str) -> int | None:
    """The id of the division's open site, if any."""
    row = await SiteRow.select(SiteRow.id).where(SiteRow.open_division == code).first()
    return row["id"] if row else None


def _site_exists(division: dict[str, Any], site_id: int) -> Conflict:
    return Conflict(
        "site_exists",
        f"{division['name']} 已有未撤销的站点（编号 {site_id}）",
        f"{division['name']} already has an open site (id {site_id})",
        existing_site_id=site_id,
    )


def _clean_note(value: str | None) -> str | None:
    """A note of a status event or an edit: shown in the public history and kept in the audit,
    so no personal data."""
    return check_no_personal_data(
        clean_text(value, "note", max_length=1000, multiline=True), "note"
    )


async def _lock_site(site_id: int) -> dict[str, Any]:
    """Inside a write transaction: bump the row so concurrent writers queue, then read it."""
    await SiteRow.update({SiteRow.version: SiteRow.version + 0}).where(SiteRow.id == site_id)
    return await select_one(site_id)


async def update_site(actor: Actor, site_id: int, data: SiteUpdate) -> Site:
    """Edit a site's location, signage or facts; every changed field is audited."""
    before = await select_one(site_id)
    require_county(actor, before["county_code"])
    today = clock.today()
    changes: dict[str, Any] = {}
    for field, limit in _TEXT_FIELDS.items():
        value = getattr(data, field)
        if value is not UNSET:
            changes[field] = clean_text(value, field, max_length=limit)
            if field in _FREE_TEXT:
                check_no_personal_data(changes[field], field)
    if data.coord_method is not UNSET:
        changes["coord_method"] = check_coord_method(data.coord_method)
    for field in ("collected_on", "hall_area_m2", "staff_count"):
        value = getattr(data, field)
        if value is not UNSET:
            changes[field] = value
    check_facts(
        changes.get("hall_area_m2"), changes.get("staff_count"), changes.get("collected_on"), today
    )
    changes.update(await site_facts.fact_changes(data))
    note = None if data.note is UNSET else _clean_note(data.note)
    warning_out: list[str] = []
    if data.lon is not UNSET or data.lat is not UNSET or data.crs is not UNSET:
        if data.lon is UNSET or data.lat is UNSET:
            raise RuleViolation(
                "coordinates_incomplete",
                "经度和纬度须同时提供",
                "lon and lat must be given together",
                "lon",
            )
        crs = None if data.crs is UNSET else data.crs
        lon, lat, datum, warning = await _locate_checked(
            data.lon,
            data.lat,
            crs,
            before["county_code"],
            await _county_name(before["county_code"]),
        )
        changes.update(lon=lon, lat=lat, crs=datum, location_warning=warning)
        if warning:
            warning_out.append(warning)
    if "signage_name" in changes:
        division = await _division(before["division_code"])
        sign = _check_signage(division, changes["signage_name"])
        changes["signage_conforms"] = sign.conforms
        changes["signage_problems"] = msgspec.to_builtins(sign.problems)

    async with write_transaction():
        current_row = await _lock_site(site_id)
        if data.version is not UNSET and data.version != current_row["version"]:
            raise Conflict(
                "version_conflict",
                f"站点已被他人修改（当前版本 {current_row['version']}），请刷新后重试",
                f"the site was changed by someone else (now version {current_row['version']}); "
                "reload and retry",
                current_version=current_row["version"],
            )
        effective = {k: v for k, v in changes.items() if current_row.get(k) != v}
        if effective:
            values = {getattr(SiteRow, k): v for k, v in effective.items()}
            values[SiteRow.version] = current_row["version"] + 1
            values[SiteRow.updated_at] = clock.now()
            await SiteRow.update(values).where(SiteRow.id == site_id)
            audited = {
                k: v
                for k, v in effective.items()
                if k not in ("signage_problems", "location_warning")
            }
            await audit.record(
                actor,
                "update",
                "site",
                site_id,
                audit.diff(current_row, audited),
                county_code=current_row["county_code"],
                note=_provenance_note(current_row, effective, note),
            )
    return _to_site(await select_one(site_id), actor, warning_out)


def _provenance_note(row: dict[str, Any], changes: dict[str, Any], note: str | None) -> str | None:
    """For a site already in service, say which located/signed facts changed and how."""
    if row["status"] not in ("in_service", "standardized", "suspended"):
        return note
    moved = [k for k in ("lon", "lat", "signage_name") if k in changes]
    if not moved:
        return note
    method = changes.get("coord_method", row.get("coord_method")) or "unknown"
    text = (
        f"已运行站点变更 {', '.join(moved)}（方式 {method}） / in-service site changed "
        f"{', '.join(moved)} (method {method})"
    )
    return f"{text}; {note}" if note else text


async def change_status(actor: Actor, site_id: int, data: StatusChange) -> StatusEventOut:
    """Record a dated status change (the site's current status derives from its events)."""
    site = await select_one(site_id)
    require_county(actor, site["county_code"])
    note = _clean_note(data.note)
    today = clock.today()
    async with write_transaction():
        site = await _lock_site(site_id)
        last = (
            await StatusEvent.select(StatusEvent.effective_date)
            .where(StatusEvent.site == site_id)
            .order_by(StatusEvent.effective_date, ascending=False)
            .order_by(StatusEvent.id, ascending=False)
            .first()
        )
        status_rules.check_effective_date(
            data.effective_date, today, last["effective_date"] if last else None
        )
        transition = status_rules.check_transition(site["status"], data.status, site["kind"], note)
        status_rules.check_closing_note(transition.status, note)
        now = clock.now()
        event = StatusEvent(
            site=site_id,
            status=transition.status,
            previous_status=transition.previous,
            effective_date=data.effective_date,
            note=note,
            skipped=transition.skipped,
            actor=actor.username,
            recorded_at=now,
        )
        await event.save()
        values: dict[Any, Any] = {
            SiteRow.status: transition.status,
            SiteRow.status_since: data.effective_date,
            SiteRow.version: site["version"] + 1,
            SiteRow.updated_at: now,
        }
        if transition.status == "closed":
            values[SiteRow.open_division] = None
        await SiteRow.update(values).where(SiteRow.id == site_id)
        await audit.record(
            actor,
            "status",
            "site",
            site_id,
            [
                {"field": "status", "before": site["status"], "after": transition.status},
                {
                    "field": "effective_date",
                    "before": None,
                    "after": data.effective_date.isoformat(),
                },
            ],
            county_code=site["county_code"],
            note=note,
        )
    return StatusEventOut(
        id=event.id,
        site_id=site_id,
        status=event.status,
        previous_status=event.previous_status,
        effective_date=event.effective_date,
        note=note,
        skipped=transition.skipped,
        actor=actor.username,
        recorded_at=now,
    )


STATUS_ON_SQL = """
SELECT site, status FROM (
    SELECT site, status,
           ROW_NUMBER() OVER (PARTITION BY site ORDER BY effective_date DESC, id DESC) AS rn
    FROM status_event WHERE effective_date <= {}
) latest WHERE rn = 1
"""


async def statuses_on(day: date) -> dict[int, str]:
    """Every site's status on ``day``, from the dated events (sites not yet registered absent)."""
    rows = await StatusEvent.raw(STATUS_ON_SQL, day)
    return {row["site"]: row["status"] for row in rows}


async def check_signage(division_code: str, name: str | None) -> SignageCheck:
    """The signage check of a reported name against a division's standard name."""
    code = normalise_code(division_code, field="division_code")
    row = (
        await Division.select(Division.name, Division.kind, Division.level)
        .where(Division.code == code)
        .first()
    )
    if row is None:
        raise NotFound("division_not_found", f"区划 {code} 不存在", f"division {code} not found")
    site_kind_for(row["kind"], row["level"])
    name = clean_text(name, "name", max_length=200)
    result = signage.check(row["name"], row["kind"], name)
    return msgspec.convert({**msgspec.to_builtins(result), "division_code": code}, SignageCheck)
