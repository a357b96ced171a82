"""Sign plates of sites: one site's plate (public), a county's order of the plates still missing
or non-conforming (its planners and the municipal centre), and how many each county still has
to replace (the municipal centre).

A site *needs a plate* once it exists on the ground: every status but ``planned`` and
``closed``. Of those, a plate is *to be replaced* when no sign was reported
(``signage_conforms`` NULL: missing) or the reported one is not the standard name (false). The
counts are one ``GROUP BY`` of the register (county, conformity), so they cannot drift from the
sites themselves. Rendering is :mod:`registry.sites.plates`; the QR code points to the site's
public page ``{base}/s/{division_code}``.
"""

from __future__ import annotations

from typing import Any

from piccolo.query.functions.aggregate import Count

from registry.core import clock
from registry.core.access import Actor, require_county, require_role, within_scope
from registry.core.errors import RuleViolation
from registry.core.params import code_or_none
from registry.core.settings import get_settings
from registry.formats.writers import write_xlsx
from registry.sites import plates
from registry.sites.schemas import CountySigns, SignSummary
from registry.sites.service import select_one
from registry.tables import Division
from registry.tables import Site as SiteRow

NEEDS_PLATE = ("under_construction", "built", "in_service", "standardized", "suspended")
QUANTITY = 1
ORDER_COLUMNS = (
    "序号",
    "乡镇(街道)",
    "站点编号",
    "区划代码",
    "标准名称",
    "现有标识",
    "问题",
    "版式",
    "尺寸(毫米)",
    "数量",
)
LAYOUT_ZH = {"horizontal": "横版", "vertical": "竖版"}


def public_base(request_base: str) -> str:
    """The base of public links: the deployment's ``public_base_url`` setting when it has
    one, else the base of the request."""
    configured = get_settings().public_base_url
    return (configured or request_base).rstrip("/")


def sign_font() -> str | None:
    """The TrueType face embedded in sign PDFs (``REGISTRY_SIGN_FONT`` or a Debian CJK face
    found on the machine); None: the CID fallback, not embedded."""
    return plates.find_font(get_settings().sign_font)


def page_url(base: str, division_code: str) -> str:
    """The site's public page, where its QR code leads."""
    return f"{base.rstrip('/')}/s/{division_code}"


async def sign(site_id: int, layout: str | None, base: str, fmt: str) -> tuple[bytes, str]:
    """One site's plate as ``svg`` or ``pdf`` and its file name (public: the standard name
    and the public page are public)."""
    layout = plates.check_layout(layout)
    site = await select_one(site_id)
    plate = plates.layout_plate(
        site["standard_name"], page_url(base, site["division_code"]), layout
    )
    filename = f"{site['standard_name']}-{plates.size_text(layout)}.{fmt}"
    if fmt == "svg":
        return plates.render_svg(plate).encode("utf-8"), filename
    return plates.render_pdf([plate], site["standard_name"], sign_font()), filename


def _county(actor: Actor, county: str | None) -> str:
    """The county asked for (a planner's own by default), write-scoped like the register."""
    code = code_or_none(county, "county")
    if code is None and actor.is_planner:
        code = actor.scope
    if code is None:
        require_role(actor, "municipal", "county_planner")
        raise RuleViolation(
            "county_required", "请指定县(市、区)：county", "county is required", "county"
        )
    require_county(actor, code)
    return code


async def order_sites(actor: Actor, county: str | None) -> tuple[str, list[dict[str, Any]]]:
    """The county code and its sites whose plate is missing or non-conforming, by township
    and division code."""
    code = _county(actor, county)
    rows = (
        await SiteRow.select(
            SiteRow.id,
            SiteRow.division.as_alias("division_code"),
            SiteRow.township_code,
            SiteRow.standard_name,
            SiteRow.signage_name,
            SiteRow.signage_conforms,
            SiteRow.signage_problems,
        )
        .where(SiteRow.county_code == code)
        .where(SiteRow.status.is_in(list(NEEDS_PLATE)))
        .where((SiteRow.signage_conforms.is_null()) | (SiteRow.signage_conforms == False))  # noqa: E712
        .output(load_json=True)
        .order_by(SiteRow.township_code)
        .order_by(SiteRow.division)
    )
    names = await _names({r["township_code"] for r in rows} | {code})
    for row in rows:
        row["township_name"] = names.get(row["township_code"], row["township_code"])
        row["county_name"] = names.get(code, code)
    return code, rows


async def _names(codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = await Division.select(Division.code, Division.name).where(
        Division.code.is_in(sorted(codes))
    )
    return {r["code"]: r["name"] for r in rows}


def _problem_text(row: dict[str, Any]) -> str:
    if row["signage_conforms"] is None:
        return "未挂牌或未报告标识"
    problems = row.get("signage_problems") or []
    texts = [p.get("message_zh") or str(p.get("message", "")).partition(" / ")[0] for p in problems]
    return "；".join(t for t in texts if t) or "标识名称不规范"


async def orders_pdf(
    actor: Actor, county: str | None, layout: str | None, base: str
) -> tuple[bytes, str]:
    """Every plate the county still has to order, one page each at real size."""
    layout = plates.check_layout(layout)
    code, rows = await order_sites(actor, county)
    county_name = rows[0]["county_name"] if rows else (await _names({code})).get(code, code)
    pages = [
        plates.layout_plate(r["standard_name"], page_url(base, r["division_code"]), layout)
        for r in rows
    ]
    title = f"{county_name}便民服务站点标识牌（{len(pages)} 块，{plates.size_text(layout)} 毫米）"
    filename = f"标识牌-{county_name}-{clock.today().isoformat()}.pdf"
    return plates.render_pdf(pages, title, sign_font()), filename


async def orders_xlsx(actor: Actor, county: str | None, layout: str | None) -> tuple[bytes, str]:
    """The order sheet of the county's plates: one row a site (text cells stay text)."""
    layout = plates.check_layout(layout)
    code, rows = await order_sites(actor, county)
    county_name = rows[0]["county_name"] if rows else (await _names({code})).get(code, code)
    size = plates.size_text(layout)
    table = [
        (
            i,
            r["township_name"],
            r["id"],
            r["division_code"],
            r["standard_name"],
            r["signage_name"] or "",
            _problem_text(r),
            LAYOUT_ZH[layout],
            size,
            QUANTITY,
        )
        for i, r in enumerate(rows, start=1)
    ]
    today = clock.today()
    content = write_xlsx(ORDER_COLUMNS, table, "标识牌订制清单", stamp=today)
    return content, f"标识牌订制清单-{county_name}-{today.isoformat()}.xlsx"


async def summary(actor: Actor) -> SignSummary:
    """Per county of the actor's scope: sites needing a plate and how many are still to be
    replaced (one GROUP BY county and conformity)."""
    require_role(actor, "municipal", "county_planner")
    rows = (
        await SiteRow.select(
            SiteRow.county_code, SiteRow.signage_conforms, Count(SiteRow.id).as_alias("n")
        )
        .where(SiteRow.status.is_in(list(NEEDS_PLATE)))
        .group_by(SiteRow.county_code, SiteRow.signage_conforms)
    )
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        county = row["county_code"]
        if actor.is_planner and county != actor.scope:
            continue
        if actor.is_municipal and not within_scope(actor, county):
            continue
        slot = counts.setdefault(county, {"conforming": 0, "missing": 0, "nonconforming": 0})
        key = {None: "missing", True: "conforming", False: "nonconforming"}[
            None if row["signage_conforms"] is None else bool(row["signage_conforms"])
        ]
        slot[key] += int(row["n"])
    names = await _names(set(counts))
    items = [
        CountySigns(
            county_code=county,
            county_name=names.get(county, county),
            sites=sum(c.values()),
            conforming=c["conforming"],
            missing=c["missing"],
            nonconforming=c["nonconforming"],
            to_replace=c["missing"] + c["nonconforming"],
        )
        for county, c in sorted(counts.items())
    ]
    return SignSummary(
        items=items,
        sites=sum(i.sites for i in items),
        to_replace=sum(i.to_replace for i in items),
    )
