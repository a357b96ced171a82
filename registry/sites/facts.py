"""A site's public facts for residents: opening hours, "open today", public telephone, address
and the matters it handles.

The facts are columns of the site (``opening_hours``, ``public_phone``, ``excluded_matters``)
edited with the site (``PATCH /api/sites/{id}`` with its version, scope-checked and audited by
:func:`registry.sites.service.update_site`); this module checks the submitted values
(:func:`fact_changes`) and shapes what residents read (:func:`public_facts`,
:func:`site_guides`). All of them are public (``PUBLIC_SITE_FIELDS``); the private
``contact_phone`` is never part of them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from msgspec import UNSET

from registry.cases import service as cases
from registry.cases.schemas import Matter
from registry.core import clock
from registry.core.errors import RuleViolation
from registry.sites.rules.hours import (
    WorkdayCalendar,
    check_opening_hours,
    check_public_phone,
    day_kind,
    describe_day,
    opening_today,
)
from registry.sites.schemas import SiteFacts, SiteUpdate

FACT_FIELDS = ("opening_hours", "public_phone", "excluded_matters")
MAX_EXCLUDED = 200


async def check_excluded_matters(codes: list[str]) -> list[str]:
    """Codes of the catalogue, upper case, sorted, without repeats.

    Raises:
        RuleViolation: ``too_many_excluded_matters`` or ``unknown_matter`` (listing them).
    """
    cleaned = sorted({c.strip().upper() for c in codes if c and c.strip()})
    if len(cleaned) > MAX_EXCLUDED:
        raise RuleViolation(
            "too_many_excluded_matters",
            f"不办理的事项最多 {MAX_EXCLUDED} 项",
            f"at most {MAX_EXCLUDED} excluded matters",
            "excluded_matters",
        )
    known = await cases.matter_codes()
    unknown = [c for c in cleaned if c not in known]
    if unknown:
        listed = "、".join(unknown[:10])
        raise RuleViolation(
            "unknown_matter",
            f"事项目录中没有：{listed}",
            f"not in the matter catalogue: {', '.join(unknown[:10])}",
            "excluded_matters",
            unknown=unknown,
        )
    return cleaned


async def fact_changes(data: SiteUpdate) -> dict[str, Any]:
    """The public facts a site edit sets, checked (before any write).

    Raises:
        RuleViolation: ``invalid_opening_hours``, ``hours_end_before_start``,
            ``hours_overlap``, ``invalid_public_phone`` or ``unknown_matter``.
    """
    changes: dict[str, Any] = {}
    if data.opening_hours is not UNSET:
        changes["opening_hours"] = check_opening_hours(data.opening_hours)
    if data.public_phone is not UNSET:
        changes["public_phone"] = check_public_phone(data.public_phone)
    if data.excluded_matters is not UNSET:
        changes["excluded_matters"] = await check_excluded_matters(data.excluded_matters)
    return changes


def public_facts(
    site: dict[str, Any], day: date | None = None, calendar: WorkdayCalendar | None = None
) -> dict[str, Any]:
    """What residents read about a site (a row of ``registry.sites.service.select_one`` or
    any mapping with these columns): address, public telephone, weekly hours, the intervals
    it is open on ``day`` (today in China by default) and what kind of day that is
    (``workday``, ``weekend``, ``holiday``, ``makeup``), and the matters it does not handle.
    Never ``contact_phone``."""
    day = day or clock.today()
    hours = site.get("opening_hours")
    return {
        "address": site.get("address"),
        "public_phone": site.get("public_phone"),
        "opening_hours": hours,
        "hours_recorded": hours is not None,
        "day": day.isoformat(),
        "day_kind": day_kind(day, calendar),
        "open_today": [list(i) for i in opening_today(hours, day, calendar)],
        "today_text": describe_day(hours, day, calendar),
        "excluded_matters": list(site.get("excluded_matters") or []),
    }


async def site_guides(site: dict[str, Any]) -> list[Matter]:
    """The active matters a site handles, each with its service guide: the catalogue less the
    site's ``excluded_matters``."""
    return await cases.guides_for(list(site.get("excluded_matters") or []))


async def site_facts(site_id: int, day: date | None = None) -> SiteFacts:
    """A site's public facts and the guides of the matters it handles (anyone may read)."""
    from registry.sites.service import select_one  # the service imports this module

    site = await select_one(site_id)
    facts = public_facts(site, day, await cases.working_calendar())
    guides = await site_guides(site)
    return SiteFacts(
        site_id=site["id"],
        division_code=site["division_code"],
        standard_name=site["standard_name"],
        address=facts["address"],
        public_phone=facts["public_phone"],
        opening_hours=facts["opening_hours"],
        hours_recorded=facts["hours_recorded"],
        day=date.fromisoformat(facts["day"]),
        day_kind=facts["day_kind"],
        open_today=facts["open_today"],
        today_text=facts["today_text"],
        excluded_matters=facts["excluded_matters"],
        matters=guides,
    )
