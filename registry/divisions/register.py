"""The official register in the registry: the statistical lists (NBS 2023) loaded, reconciled
with the civil-affairs townships, and a newer list applied as a dated diff.

One import takes the lists of one or more levels (counties, townships, villages) and:

1. keeps the rows inside the deployment's root (the others are counted, not errors);
2. reconciles the statistical townships with the register's (:mod:`.rules.reconcile`): aliases
   for other codes and names, new township-level units for statistical-only, unmatched and
   moved ones — a moved civil-affairs township with nothing attached is re-keyed, one with
   villages, sites or plans is abolished and succeeded;
3. names each village by its place (:mod:`.rules.names`), its parent the township its
   statistical township resolves to (a village under an unknown township is a row error);
4. compares the villages with the register's existing ones of the same counties
   (:mod:`.rules.changes`) and, unless it is a dry run, applies every change in ONE write
   transaction at the list's date (``as_of``; none for the first load: the register then has
   always existed), with successions and one audit entry. Open sites of abolished villages are
   listed, never closed. Importing the same list again changes nothing.

Any row error (or a file problem) and nothing is written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from registry.audit import service as audit
from registry.core.access import Actor
from registry.core.codes import covers
from registry.core.settings import get_settings
from registry.db import bulk
from registry.db.sql import select_in
from registry.db.transactions import write_transaction
from registry.divisions import nbs
from registry.divisions.rules import (
    ABOLISHED_MARK,
    STATISTICAL_COUNTY,
    county_kind,
    statistical_county,
    township_kind,
)
from registry.divisions.rules.changes import Change, Unit, diff, summary
from registry.divisions.rules.names import village_place
from registry.divisions.rules.reconcile import (
    STATISTICAL_KIND,
    Match,
    Reconciliation,
    Township,
    reconcile,
)
from registry.divisions.schemas import (
    RegisterChange,
    RegisterError,
    RegisterMatch,
    RegisterReport,
    RegisterSite,
)
from registry.tables import Division, DivisionAlias, DivisionSuccession, PlanItem, Site

Progress = Callable[[str, int, int], None]
SOURCE = "nbs2023"


def _quiet(_stage: str, _done: int, _total: int) -> None:
    return None


@dataclass
class Plan:
    """What an import would do, before it does it."""

    as_of: date | None
    root: str
    counties: list[nbs.NbsRow] = field(default_factory=list)
    reconciliation: Reconciliation | None = None
    townships: dict[str, str] = field(default_factory=dict)  # statistical code → division
    villages: list[Unit] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    errors: list[RegisterError] = field(default_factory=list)
    skipped: int = 0
    files: dict[str, int] = field(default_factory=dict)


def _error(level: str, e: nbs.RowError) -> RegisterError:
    return RegisterError(level=level, row=e.row, column=e.column, code=e.code, message=e.message)


async def _register_townships(counties: set[str]) -> list[Township]:
    rows = await select_in(
        Division.county_code,
        sorted(counties),
        Division.code,
        Division.name,
        Division.county_code,
        Division.level,
        Division.abolished_on,
    )
    return [
        Township(r["code"], r["name"], r["county_code"], r["abolished_on"] is not None)
        for r in rows
        if r["level"] == "township"
    ]


async def _register_villages(counties: set[str]) -> list[Unit]:
    rows = await select_in(
        Division.county_code,
        sorted(counties),
        Division.code,
        Division.name,
        Division.level,
        Division.township_code,
        Division.county_code,
        Division.kind,
        Division.official_name,
        Division.abolished_on,
    )
    return [
        Unit(
            r["code"],
            r["name"],
            r["township_code"],
            r["county_code"],
            r["kind"],
            r["official_name"] or "",
        )
        for r in rows
        if r["level"] == "village" and r["abolished_on"] is None
    ]


async def plan(
    lists: Sequence[nbs.NbsFile], as_of: date | None, progress: Progress = _quiet
) -> Plan:
    """Everything an import of ``lists`` would change (reads only)."""
    root = get_settings().root_code
    by_level = {f.level: f for f in lists}
    result = Plan(as_of=as_of, root=root)
    for f in lists:
        result.files[f.level] = len(f.rows)
        result.errors.extend(_error(f.level, e) for e in f.errors)

    def inside(rows: list[nbs.NbsRow]) -> list[nbs.NbsRow]:
        kept = [r for r in rows if covers(root, r.code)]
        result.skipped += len(rows) - len(kept)
        return kept

    counties = inside(by_level["county"].rows) if "county" in by_level else []
    townships = inside(by_level["township"].rows) if "township" in by_level else []
    villages = inside(by_level["village"].rows) if "village" in by_level else []
    result.counties = counties
    scope = (
        {r.county for r in townships} | {r.county for r in villages} | {r.code for r in counties}
    )
    known_counties = {
        r["code"] for r in await select_in(Division.code, sorted(scope), Division.code)
    } | {r.code for r in counties}
    progress("townships", 0, len(townships))
    register = await _register_townships(scope)
    if townships:
        nbs_townships = [Township(r.code, r.name, r.county) for r in townships]
        for r in townships:
            if r.county not in known_counties:
                result.errors.append(
                    RegisterError(
                        level="township",
                        row=r.row,
                        column="areaCode",
                        code="nbs_unknown_county",
                        message=f"上级县级单位 {r.county[:6]} 不在登记中，也不在所导入的县级文件中"
                        f" / the county {r.county[:6]} is neither registered nor in the list",
                    )
                )
        result.reconciliation = reconcile(register, nbs_townships)
        result.townships = {m.nbs.code: m.division for m in result.reconciliation.matches}
    aliases = await DivisionAlias.select(DivisionAlias.code, DivisionAlias.division).where(
        DivisionAlias.system == "nbs"
    )
    # A village's parent is a statistical township code: its own alias wins over a civil-affairs
    # township that happens to carry the same digits (统计 431221111 is 袁家镇, not 中方镇).
    resolve = {t.code: t.code for t in register if not t.abolished}
    resolve.update({a["code"]: a["division"] for a in aliases})
    resolve.update(result.townships)
    county_of_township = {t.code: t.county for t in register}
    for m in result.reconciliation.matches if result.reconciliation else []:
        county_of_township[m.division] = m.nbs.county
    progress("villages", 0, len(villages))
    units: list[Unit] = []
    for r in villages:
        township = resolve.get(r.parent)
        if township is None:
            result.errors.append(
                RegisterError(
                    level="village",
                    row=r.row,
                    column="streetCode",
                    code="nbs_unknown_township",
                    message=f"所属乡镇 {r.parent[:9]} 不在登记中，也不在所导入的乡镇文件中 / "
                    f"the township {r.parent[:9]} is neither registered nor in the list",
                )
            )
            continue
        place = village_place(r.name)
        units.append(
            Unit(
                r.code,
                place.name,
                township,
                county_of_township.get(township, r.county),
                place.kind,
                r.name if r.name != place.name else "",
            )
        )
    result.villages = units
    if villages:
        current = await _register_villages({u.county for u in units} | scope)
        result.changes = diff(current, units)
    return result


def report(p: Plan, written: bool, open_sites: list[RegisterSite]) -> RegisterReport:
    """The dry-run or import report of a plan."""
    rec = p.reconciliation
    names = {u.code: u.name for u in p.villages}
    return RegisterReport(
        as_of=p.as_of,
        root=p.root,
        written=written,
        files=p.files,
        skipped_outside_root=p.skipped,
        reconciliation=rec.by_rule() if rec else {},
        townships=[
            RegisterMatch(
                nbs_code=m.nbs.code,
                nbs_name=m.nbs.name,
                rule=m.rule,
                division_code=m.division,
                division_name=m.register.name if m.register else m.nbs.name,
                note=m.note,
            )
            for m in (rec.matches if rec else [])
        ]
        + [
            RegisterMatch(
                nbs_code="",
                nbs_name="",
                rule="register_only",
                division_code=t.code,
                division_name=t.name,
                note="已撤销" if t.abolished else "统计用区划中没有",
            )
            for t in (rec.register_only if rec else [])
        ],
        changes=summary(p.changes),
        village_changes=[
            RegisterChange(
                change=c.change,
                code=c.code,
                name=(c.after or c.before).name,  # type: ignore[union-attr]
                before_name=c.before.name if c.before else None,
                township_code=(c.after or c.before).parent,  # type: ignore[union-attr]
                predecessors=[f"{code} {names.get(code, '')}".strip() for code in c.predecessors],
            )
            for c in p.changes
        ],
        open_sites_of_abolished=open_sites,
        errors=p.errors,
    )


async def _open_sites(codes: Sequence[str]) -> list[RegisterSite]:
    rows = await select_in(
        Site.division, codes, Site.id, Site.division, Site.standard_name, Site.status
    )
    return [
        RegisterSite(
            site_id=r["id"],
            division_code=r["division"],
            standard_name=r["standard_name"],
            status=r["status"],
        )
        for r in rows
        if r["status"] != "closed"
    ]


def _gone(changes: Sequence[Change]) -> list[str]:
    out: list[str] = []
    for c in changes:
        if c.change == "abolished":
            out.append(c.code)
        elif c.change in ("moved", "merged"):
            out.extend(c.predecessors)
    return out


async def _attached(codes: Sequence[str]) -> set[str]:
    """Of ``codes``, the divisions something refers to (villages, sites, plan items)."""
    used = {
        r["township_code"]
        for r in await select_in(
            Division.township_code, codes, Division.township_code, Division.level
        )
        if r["level"] == "village"
    }
    used |= {r["division"] for r in await select_in(Site.division, codes, Site.division)}
    used |= {r["division"] for r in await select_in(PlanItem.division, codes, PlanItem.division)}
    return used & set(codes)


async def _apply_townships(p: Plan, rows: dict[str, dict[str, Any]]) -> int:
    """New township-level units, moved ones, aliases; returns how many divisions were added."""
    assert p.reconciliation is not None
    existing = {
        r["code"]
        for r in await select_in(
            Division.code, [m.division for m in p.reconciliation.matches], Division.code
        )
    }
    new: list[dict[str, Any]] = []
    successions: list[tuple[str, str, str]] = []
    moved = [m for m in p.reconciliation.matches if m.rule == "moved" and m.register]
    attached = await _attached([m.register.code for m in moved if m.register])
    for m in p.reconciliation.matches:
        if m.division in existing:
            continue
        kind = STATISTICAL_KIND if m.rule == "statistical" else _township_kind(m)
        new.append(
            {
                "code": m.division,
                "name": m.register.name if m.register else m.nbs.name,
                "level": "township",
                "kind": kind,
                "parent": m.nbs.county,
                "county_code": m.nbs.county,
                "township_code": m.division,
                "established_on": p.as_of,
                "source": SOURCE,
            }
        )
    if new:
        # In chunks: the nation's ~4,000 new townships at once exceed PostgreSQL's 32,767
        # parameters of a statement.
        await bulk.insert_many(Division, [Division(**r) for r in new])
    for m in moved:
        old = m.register.code  # type: ignore[union-attr]
        if old not in rows:
            continue
        if old in attached or p.as_of is not None:
            await Division.update({Division.abolished_on: p.as_of or date.today()}).where(
                Division.code == old
            )
            successions.append((old, m.division, "moved"))
        else:
            await Division.delete().where(Division.code == old)
    for pred, succ, change in successions:
        await _succession(pred, succ, p.as_of or date.today(), change)
    await _aliases(p.reconciliation.matches)
    return len(new)


def _township_kind(m: Match) -> str:
    name = m.register.name if m.register else m.nbs.name
    try:
        return township_kind(name.removesuffix(ABOLISHED_MARK))
    except Exception:
        return STATISTICAL_KIND


async def _aliases(matches: Sequence[Match]) -> None:
    wanted: dict[tuple[str, str], tuple[str, str, str]] = {}
    for m in matches:
        if m.nbs.code != m.division:
            wanted[("nbs", m.nbs.code)] = (m.division, m.rule, m.note)
        if m.register is not None and m.register.code != m.division:
            wanted[("mca", m.register.code)] = (m.division, m.rule, m.note)
    if not wanted:
        return
    have = {
        (r["system"], r["code"]): r["division"]
        for r in await DivisionAlias.select(
            DivisionAlias.system, DivisionAlias.code, DivisionAlias.division
        )
    }
    for (system, code), (division, rule, note) in wanted.items():
        if have.get((system, code)) == division:
            continue
        if (system, code) in have:
            await DivisionAlias.update(
                {DivisionAlias.division: division, DivisionAlias.rule: rule}
            ).where((DivisionAlias.system == system) & (DivisionAlias.code == code))
        else:
            await DivisionAlias.insert(
                DivisionAlias(system=system, code=code, division=division, rule=rule, note=note)
            )


async def _succession(predecessor: str, successor: str, on: date, change: str) -> None:
    exists = await DivisionSuccession.exists().where(
        (DivisionSuccession.predecessor == predecessor)
        & (DivisionSuccession.successor == successor)
    )
    if not exists:
        await DivisionSuccession.insert(
            DivisionSuccession(
                predecessor=predecessor, successor=successor, effective_on=on, change=change
            )
        )


async def _apply_counties(p: Plan) -> int:
    codes = [r.code for r in p.counties]
    have = {r["code"] for r in await select_in(Division.code, codes, Division.code)}
    new = [
        Division(
            code=r.code,
            name=r.name,
            level="county",
            kind=STATISTICAL_COUNTY if statistical_county(r.code) else county_kind(r.name),
            parent=r.parent,
            county_code=r.code,
            established_on=p.as_of,
            source=SOURCE,
        )
        for r in p.counties
        if r.code not in have
    ]
    if new:
        await bulk.insert_many(Division, new)
    return len(new)


async def _apply_villages(p: Plan) -> dict[str, int]:
    """Apply the village changes; returns counts by change."""
    day = p.as_of
    by_code = {u.code: u for u in p.villages}
    new_rows = []
    for c in p.changes:
        if c.change in ("new", "moved", "merged"):
            u = c.after
            assert u is not None
            new_rows.append(
                (
                    u.code,
                    u.name,
                    "village",
                    u.kind,
                    u.parent,
                    u.county,
                    u.parent,
                    day,
                    None,
                    False,
                    SOURCE,
                    u.official_name or None,
                )
            )
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
            "official_name",
        ),
        new_rows,
    )
    renamed = [c for c in p.changes if c.change == "renamed"]
    await bulk.update_rows(
        Division,
        ("name", "official_name", "parent", "township_code"),
        "code",
        [
            (
                c.after.name,  # type: ignore[union-attr]
                c.after.official_name or None,  # type: ignore[union-attr]
                c.after.parent,  # type: ignore[union-attr]
                c.after.parent,  # type: ignore[union-attr]
                c.code,
            )
            for c in renamed
        ],
    )
    gone = _gone(p.changes)
    if gone:
        await bulk.update_rows(
            Division, ("abolished_on",), "code", [(day or date.today(), code) for code in gone]
        )
    for c in p.changes:
        for pred in c.predecessors:
            await _succession(pred, c.code, day or date.today(), c.change)
    # Keep official titles current (not a change of the place).
    current = {
        r["code"]: r["official_name"]
        for r in await select_in(
            Division.code, list(by_code), Division.code, Division.official_name
        )
    }
    titles = [
        (u.official_name or None, u.code)
        for u in p.villages
        if u.code in current and (current[u.code] or "") != u.official_name
    ]
    await bulk.update_rows(Division, ("official_name",), "code", titles)
    return summary(p.changes)


async def import_lists(
    actor: Actor,
    lists: Sequence[nbs.NbsFile],
    as_of: date | None,
    dry_run: bool = False,
    progress: Progress = _quiet,
) -> RegisterReport:
    """Import the statistical lists (see the module doc); the report says what changed."""
    p = await plan(lists, as_of, progress)
    open_sites = await _open_sites(_gone(p.changes))
    if p.errors or dry_run:
        return report(p, False, open_sites)
    async with write_transaction():
        counties = await _apply_counties(p)
        rows = {
            r["code"]: r
            for r in await select_in(
                Division.code,
                [
                    m.register.code
                    for m in (p.reconciliation.matches if p.reconciliation else [])
                    if m.register
                ],
                Division.code,
            )
        }
        townships = await _apply_townships(p, rows) if p.reconciliation else 0
        progress("villages", 0, len(p.villages))
        changes = await _apply_villages(p)
        await _outlines()
        if not (counties or townships or any(changes.values())):
            return report(p, True, open_sites)  # the same list again: nothing to record
        await audit.record(
            actor,
            "import",
            "division_register",
            "nbs",
            county_code=None,
            changes=[
                {"field": "counties_added", "before": None, "after": counties},
                {"field": "townships_added", "before": None, "after": townships},
                *[{"field": k, "before": None, "after": v} for k, v in changes.items()],
            ],
            note=f"统计用区划代码导入（{as_of or '初始'}）",
        )
    return report(p, True, open_sites)


async def _outlines() -> None:
    """A county-level unit without an outline borrows the one civil affairs files its
    townships under (怀化市洪江管理区 → 洪江市): from the ``mca`` aliases of its townships."""
    rows = await DivisionAlias.select(
        DivisionAlias.code, DivisionAlias.division.county_code.as_alias("county")
    ).where(DivisionAlias.system == "mca")
    borrowed: dict[str, str] = {}
    for r in rows:
        owner = r["code"][:6] + "000000"
        if r["county"] and owner != r["county"]:
            borrowed.setdefault(r["county"], owner)
    for county, owner in borrowed.items():
        await Division.update({Division.outline_code: owner}).where(
            (Division.code == county) & Division.outline_code.is_null()
        )


def by_level(files: Iterable[nbs.NbsFile]) -> dict[str, nbs.NbsFile]:
    """The lists by level (a level given twice: the last one)."""
    out: dict[str, nbs.NbsFile] = defaultdict()
    for f in files:
        out[f.level] = f
    return dict(out)
