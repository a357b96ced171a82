"""Case statistics and activity, computed in the database.

The figures are grouped by SQL per point (``GROUP BY`` over the cases the reader may see, the
same conditions a list uses: :mod:`registry.cases.filters`) and rolled up to townships,
counties and the total in Python: every figure summed is additive, the rates are derived last.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from registry.cases.filters import CaseFilters, readable
from registry.cases.matters import matters_by_code
from registry.cases.rules import timeline as rules
from registry.cases.schemas import CaseFigures, CaseStats, UnitFigures
from registry.core import clock
from registry.core.access import Actor
from registry.core.codes import county_of, normalise_code
from registry.tables import Case as CaseRow
from registry.tables import Division, Site

ACTIVE_WINDOW_DAYS = 90


def _sql_list(values: tuple[str, ...]) -> str:
    """A tuple of the rules' own constant words as an SQL list (never user input)."""
    return ", ".join(f"'{v}'" for v in values)


_MEASURES_SQL = """
SELECT site, county_code, township_code,
       COUNT(*) AS cases,
       SUM(CASE WHEN completed_at IS NOT NULL THEN 1 ELSE 0 END) AS completed,
       SUM(CASE WHEN completed_on_time THEN 1 ELSE 0 END) AS completed_on_time,
       SUM(CASE WHEN completed_at IS NOT NULL THEN completion_workdays ELSE 0 END)
           AS workdays_sum,
       SUM(CASE WHEN returned_at IS NOT NULL THEN 1 ELSE 0 END) AS returned,
       SUM(CASE WHEN forward_late THEN 1 ELSE 0 END) AS forward_late,
       SUM(CASE WHEN state IN (<open>) AND due_on < {} THEN 1 ELSE 0 END)
           AS overdue,
       SUM(CASE WHEN rating IS NOT NULL THEN 1 ELSE 0 END) AS rated,
       SUM(CASE WHEN rating IN (<satisfied>) THEN 1 ELSE 0 END) AS satisfied
FROM service_case WHERE {where}
GROUP BY site, county_code, township_code
""".replace("<open>", _sql_list(rules.OPEN_STATES)).replace(
    "<satisfied>", _sql_list(rules.SATISFIED_RATINGS)
)
_BY_SQL = (
    "SELECT site, {key} AS k, COUNT(*) AS n FROM service_case WHERE {where} GROUP BY site, {key}"
)
_MONTH = "SUBSTR(CAST(received_on AS TEXT), 1, 7)"
_ADDITIVE = (
    "cases",
    "completed",
    "completed_on_time",
    "workdays_sum",
    "returned",
    "forward_late",
    "overdue",
    "rated",
    "satisfied",
)


async def active_site_ids(day: date, county_code: str | None = None) -> set[int]:
    """Points that received at least one case in the 90 days up to ``day`` (``day - 89`` …
    ``day``, China dates), optionally of one county."""
    start = day - timedelta(days=ACTIVE_WINDOW_DAYS - 1)
    query = (
        CaseRow.select(CaseRow.site)
        .distinct()
        .where((CaseRow.received_on >= start) & (CaseRow.received_on <= day))
    )
    if county_code:
        query = query.where(CaseRow.county_code == normalise_code(county_code, "county"))
    return {r["site"] for r in await query}


def _blank() -> dict[str, Any]:
    return {
        **dict.fromkeys(_ADDITIVE, 0),
        "by_state": dict.fromkeys(rules.STATES, 0),
        "by_matter": {},
        "by_month": {},
    }


def _add(into: dict[str, Any], part: dict[str, Any]) -> None:
    for key in _ADDITIVE:
        into[key] += part[key]
    for key in ("by_state", "by_matter", "by_month"):
        for k, n in part[key].items():
            into[key][k] = into[key].get(k, 0) + n


def _ratio(num: int, den: int, digits: int = 4) -> float | None:
    return None if den == 0 else round(num / den, digits)


def _figures(acc: dict[str, Any]) -> CaseFigures:
    return CaseFigures(
        cases=acc["cases"],
        by_state=acc["by_state"],
        by_matter=dict(sorted(acc["by_matter"].items())),
        by_month=dict(sorted(acc["by_month"].items())),
        completed=acc["completed"],
        completed_on_time=acc["completed_on_time"],
        on_time_rate=_ratio(acc["completed_on_time"], acc["completed"]),
        avg_workdays_to_completion=_ratio(acc["workdays_sum"], acc["completed"], 2),
        returned=acc["returned"],
        forward_late=acc["forward_late"],
        overdue=acc["overdue"],
        rated=acc["rated"],
        satisfied=acc["satisfied"],
        satisfaction_share=_ratio(acc["satisfied"], acc["rated"]),
    )


async def _per_site(
    clause: str, args: list[Any], today: date
) -> tuple[dict[int, dict[str, Any]], dict[int, tuple[str, str]]]:
    """The figures of each point with cases under ``clause``, and each point's county and
    township codes."""
    measures = await CaseRow.raw(_MEASURES_SQL.replace("{where}", clause), today, *args)
    per_site: dict[int, dict[str, Any]] = {}
    place: dict[int, tuple[str, str]] = {}
    for row in measures:
        acc = _blank()
        for key in _ADDITIVE:
            acc[key] = int(row[key] or 0)
        per_site[row["site"]] = acc
        place[row["site"]] = (row["county_code"], row["township_code"])
    for key, target in (("state", "by_state"), ("matter", "by_matter"), (_MONTH, "by_month")):
        sql = _BY_SQL.replace("{key}", key).replace("{where}", clause)
        for row in await CaseRow.raw(sql, *args):
            per_site[row["site"]][target][str(row["k"])] = int(row["n"])
    return per_site, place


async def stats(
    actor: Actor,
    county: str | None,
    site: int | None,
    date_from: date | None,
    date_to: date | None,
) -> CaseStats:
    """Counts by state, matter and month per point, township and county; rates. SQL-grouped
    per point, rolled up in Python (every figure summed is additive)."""
    filters = CaseFilters.parse(site=site, county=county, date_from=date_from, date_to=date_to)
    today = clock.today()
    clause, args = readable(actor, filters, today).sql()
    per_site, place = await _per_site(clause, args, today)

    total = _blank()
    counties: dict[str, dict[str, Any]] = defaultdict(_blank)
    townships: dict[str, dict[str, Any]] = defaultdict(_blank)
    for site_id, acc in per_site.items():
        county_code, township_code = place[site_id]
        _add(total, acc)
        _add(counties[county_code], acc)
        _add(townships[township_code], acc)
    names = {
        r["code"]: r["name"]
        for r in await Division.select(Division.code, Division.name).where(
            Division.code.is_in(sorted({*counties, *townships}) or [""])
        )
    }
    site_rows = await Site.select(
        Site.id, Site.division.as_alias("code"), Site.standard_name
    ).where(Site.id.is_in(sorted(per_site) or [0]))
    site_info = {r["id"]: r for r in site_rows}
    matter_codes = sorted({m for acc in per_site.values() for m in acc["by_matter"]})
    matter_names = {
        code: row["name"] for code, row in (await matters_by_code(set(matter_codes))).items()
    }
    return CaseStats(
        county=filters.county,
        site_id=filters.site,
        date_from=filters.date_from,
        date_to=filters.date_to,
        as_of=today,
        total=_figures(total),
        counties=[
            UnitFigures(code=code, name=names.get(code, code), figures=_figures(acc))
            for code, acc in sorted(counties.items())
        ],
        townships=[
            UnitFigures(
                code=code,
                name=names.get(code, code),
                figures=_figures(acc),
                county_code=county_of(code),
            )
            for code, acc in sorted(townships.items())
        ],
        sites=[
            UnitFigures(
                code=site_info[site_id]["code"],
                name=site_info[site_id]["standard_name"],
                figures=_figures(acc),
                county_code=place[site_id][0],
                township_code=place[site_id][1],
                site_id=site_id,
            )
            for site_id, acc in sorted(per_site.items())
        ],
        matters=matter_names,
    )
