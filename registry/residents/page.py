"""A site's public page and the Chinese 404 page, rendered on the server as plain HTML.

No script: the page works with JavaScript off, on a weak signal and on paper (find.css has a
print style). The map is our own small SVG (the township's sites on a local plane, a scale bar,
north up): no tiles, nothing fetched. Every text from the database is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from geo.boundaries import local_xy_m
from registry.residents import rules
from registry.residents.schemas import Point

HEAD = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="theme-color" content="#0b5394">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/find.css">
</head>
<body>
<a class="skip" href="#main">跳到正文</a>
<header class="bar"><a href="/find" class="home">便民服务查询</a></header>
<main id="main">
"""
FOOT = """</main>
<footer class="foot"><p>信息来自便民服务登记系统，以服务点现场公示为准。</p>
<p><a href="/find">查找其他村、乡镇的服务点</a></p></footer>
</body>
</html>
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _tel(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit() or ch in "+-")


def phone_html(phone: str | None) -> str:
    if not phone:
        return "暂未公布"
    return f'<a class="tel" href="tel:{_e(_tel(phone))}">{_e(phone)}</a>'


def status_html(point: Point) -> str:
    cls = "ok" if point.serving else "no"
    words = "正在服务" if point.serving else f"暂未开放（{point.status_label}）"
    return f'<span class="badge {cls}">{_e(words)}</span>'


# ----------------------------------------------------------------------------- the map


def map_svg(
    points: Sequence[Point],
    focus: str,
    *,
    width: int = 320,
    height: int = 220,
    label: str = "位置示意图",
) -> str:
    """A small SVG of ``points`` (the one at division ``focus`` emphasised), north up, with a
    scale bar; our own drawing, nothing fetched."""
    pts = [p for p in points if math.isfinite(p.lon) and math.isfinite(p.lat)]
    if not pts:
        return ""
    lon0 = sum(p.lon for p in pts) / len(pts)
    lat0 = sum(p.lat for p in pts) / len(pts)
    xs, ys = local_xy_m([p.lon for p in pts], [p.lat for p in pts], lon0, lat0)
    xs, ys = [float(x) for x in xs], [float(y) for y in ys]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1000.0)
    pad = 28
    scale = min((width - 2 * pad) / span, (height - 2 * pad - 20) / span)
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2

    def at(i: int) -> tuple[float, float]:
        return width / 2 + (xs[i] - cx) * scale, (height - 20) / 2 - (ys[i] - cy) * scale

    out = [
        f'<svg class="map" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_e(label)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{_e(label)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f4f7fb" />',
        f'<text x="{width - 14}" y="20" font-size="12" text-anchor="middle" fill="#333">北</text>',
        f'<path d="M{width - 14} 24 l-5 12 h10 z" fill="#333" />',
    ]
    order = sorted(range(len(pts)), key=lambda i: pts[i].division_code == focus)
    for i in order:
        p = pts[i]
        x, y = at(i)
        colour = "#1a7f37" if p.serving else "#8a8a8a"
        title = f"<title>{_e(p.name)}（{_e('正在服务' if p.serving else p.status_label)}）</title>"
        if p.kind in ("township_centre", "street_centre"):
            shape = f'<rect x="{x - 7:.1f}" y="{y - 7:.1f}" width="14" height="14" fill="{colour}"'
            shape += ' stroke="#fff" stroke-width="2">'
        else:
            r = 8 if p.division_code == focus else 5
            shape = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}" '
            shape += 'stroke="#fff" stroke-width="2">'
        tag = "rect" if shape.startswith("<rect") else "circle"
        out.append(f"{shape}{title}</{tag}>")
        if p.division_code == focus or p.kind in ("township_centre", "street_centre"):
            out.append(
                f'<text x="{x + 10:.1f}" y="{y + 4:.1f}" font-size="12" fill="#111" '
                f'stroke="#fff" stroke-width="3" paint-order="stroke">{_e(p.division_name)}</text>'
            )
    # Scale bar: a round length about a quarter of the width.
    metres = (width / 4) / scale
    nice = 10 ** math.floor(math.log10(metres))
    for step in (5, 2, 1):
        if step * nice <= metres:
            nice *= step
            break
    bar = nice * scale
    text = rules.distance_text(nice).replace(" ", "")
    out.append(
        f'<path d="M12 {height - 12} h{bar:.1f}" stroke="#333" stroke-width="3" />'
        f'<text x="12" y="{height - 18}" font-size="11" fill="#333">{_e(text)}</text>'
    )
    out.append("</svg>")
    return "".join(out)


# ----------------------------------------------------------------------------- parts


def hours_table(point: Point, today_index: int) -> str:
    if point.opening_hours is None:
        return "<p>开放时间暂未登记，请先电话询问。</p>"
    rows = []
    for i, day in enumerate(rules.WEEKDAYS):
        periods = rules.hours_on(point.opening_hours, _weekday_date(i))
        mark = ' class="today"' if i == today_index else ""
        now = "（今天）" if i == today_index else ""
        rows.append(
            f'<tr{mark}><th scope="row">{rules.WEEKDAY_LABELS_ZH[i]}{now}</th>'
            f"<td>{_periods_html(periods)}</td></tr>"
        )
        del day
    return (
        '<table class="hours"><caption>每周开放时间</caption>'
        '<thead><tr><th scope="col">日期</th><th scope="col">开放时间</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _periods_html(periods: list[tuple[str, str]] | None) -> str:
    if not periods:
        return _e(rules.hours_text(periods))
    return "、".join(f'<span class="nw">{_e(a)}–{_e(b)}</span>' for a, b in periods)


def _weekday_date(i: int) -> Any:
    from datetime import date, timedelta

    return date(2024, 1, 1) + timedelta(days=i)  # 2024-01-01 was a Monday


def point_facts(point: Point) -> str:
    return (
        '<dl class="facts">'
        f"<dt>状态</dt><dd>{status_html(point)}</dd>"
        f"<dt>今天</dt><dd>{_e(point.hours_today)}</dd>"
        f"<dt>电话</dt><dd>{phone_html(point.public_phone)}</dd>"
        f"<dt>地址</dt><dd>{_e(point.address or '暂未登记')}</dd>"
        "</dl>"
    )


def point_card(point: Point, heading: str) -> str:
    return (
        f'<section class="card"><h2>{_e(heading)}</h2>'
        f'<p class="name"><a href="{_e(point.url)}">{_e(point.name)}</a></p>'
        f"{point_facts(point)}</section>"
    )


def matter_html(m: dict[str, Any]) -> str:
    materials = m.get("materials") or []
    items = "".join(f"<li>{_e(x)}</li>" for x in materials) or "<li>无需材料</li>"
    rows = [
        ("办理部门", m.get("department")),
        ("办理机构", m.get("decided_by")),
        (
            "承诺时限",
            f"{m.get('time_limit_days')} 个工作日" if m.get("time_limit_days") else "即办",
        ),
        ("收费", m.get("fees") or "不收费"),
        ("办理依据", m.get("legal_basis")),
        ("注意事项", m.get("notes")),
    ]
    facts = "".join(f"<dt>{k}</dt><dd>{_e(v)}</dd>" for k, v in rows if v)
    example = (
        '<p class="note">本指南为示例，请以窗口公示为准。</p>' if m.get("guide_is_example") else ""
    )
    return (
        f'<details class="matter"><summary>{_e(m.get("name"))}</summary>'
        f'<dl class="facts">{facts}</dl><h4>申请材料</h4><ul>{items}</ul>{example}</details>'
    )


def matters_html(matters: list[dict[str, Any]]) -> str:
    if not matters:
        return ""
    by_category: dict[str, list[dict[str, Any]]] = {}
    for m in matters:
        by_category.setdefault(m.get("category") or "其他", []).append(m)
    parts = [f'<section class="card" id="matters"><h2>可代办事项（{len(matters)} 项）</h2>']
    parts.append("<p>点开事项查看办事指南：需要带什么材料、多久办好、是否收费。</p>")
    for category, items in by_category.items():
        parts.append(f"<h3>{_e(category)}</h3>")
        parts.extend(matter_html(m) for m in items)
    parts.append("</section>")
    return "".join(parts)


# ----------------------------------------------------------------------------- pages


def site_page(data: Any) -> str:
    """The public page of a village's or township's site (:class:`service.SitePage`)."""
    point: Point | None = data.point
    where = "".join(f"<span>{_e(x)}</span>" for x in (data.county_name, data.township_name) if x)
    title = point.name if point else f"{data.division_name}便民服务"
    body = [f'<p class="where">{where}<span>{_e(data.division_name)}</span></p>']
    body.append(f"<h1>{_e(title)}</h1>")
    if point is not None:
        body.append(f'<section class="card main">{point_facts(point)}</section>')
        if not point.serving:
            body.append(
                '<p class="warn">这个服务点还没有开放，暂时不能办事。请到下面所列的服务点办理。</p>'
            )
        body.append(f'<section class="card">{hours_table(point, data.today.weekday())}</section>')
    else:
        kind = "代办点" if data.level == "village" else "便民服务中心"
        body.append(f'<p class="warn">{_e(data.division_name)}还没有设立便民服务{kind}。</p>')
    if data.nearest is not None:
        body.append(point_card(data.nearest, "最近的代办点"))
    if data.centre is not None:
        body.append(point_card(data.centre, "所属乡镇便民服务中心"))
    svg = map_svg(data.neighbours, data.division_code, label=f"{title}及周边服务点位置示意图")
    if svg:
        body.append(
            '<section class="card"><h2>位置示意</h2>'
            f"<figure>{svg}<figcaption>方块为乡镇便民服务中心，圆点为村（社区）代办点；"
            "绿色正在服务，灰色暂未开放。</figcaption></figure></section>"
        )
    body.append(matters_html(data.matters))
    return HEAD.format(title=_e(f"{title} · 便民服务")) + "".join(body) + FOOT


def not_found_page(code: str) -> str:
    """The Chinese page for a code that has no public site page."""
    del code  # never echoed: the page says what to do instead
    body = (
        "<h1>没有找到这个服务点</h1>"
        '<p class="warn">地址中的村或乡镇编号不存在，或者已经调整。</p>'
        '<p><a class="button" href="/find">按村名、乡镇名查找服务点</a></p>'
    )
    return HEAD.format(title="没有找到 · 便民服务") + body + FOOT


# ----------------------------------------------------------------------------- /find without script


def _hit_html(hit: Any) -> str:
    where = " ".join(x for x in (hit.county_name, hit.township_name) if x)
    parts = [
        f'<article class="card"><h2>{_e(hit.name)}</h2>'
        f'<p class="where">{_e(where + " · " if where else "")}{_e(hit.level_label)}</p>'
    ]
    if hit.level == "county":
        parts.append(_townships_html(hit.townships))
        parts.append("<p>请点乡镇名称，或继续输入村的名称，查看具体的服务点。</p></article>")
        return "".join(parts)
    if hit.point is not None:
        heading = "本村代办点" if hit.level == "village" else "便民服务中心"
        parts.append(_point_block(hit.point, heading))
    if hit.level == "village" and (hit.point is None or not hit.point.serving):
        text = "本村代办点还没有开放。" if hit.point else "本村还没有设立便民服务代办点。"
        parts.append(f'<p class="warn">{text}{"最近的代办点是：" if hit.nearest else ""}</p>')
        if hit.nearest is not None:
            parts.append(_point_block(hit.nearest, "最近的代办点"))
    if hit.level == "township" and hit.point is None:
        parts.append('<p class="warn">本乡镇还没有登记便民服务中心。</p>')
    if hit.centre is not None:
        parts.append(_point_block(hit.centre, "所属乡镇便民服务中心"))
    link = f'<a class="button" href="{_e(hit.url)}#matters">查看可办事项和办事指南</a>'
    parts.append(f"<p>{link}</p></article>")
    return "".join(parts)


def _townships_html(townships: list[Any]) -> str:
    """A county's townships, each linked to its centre's page, with the centre's state."""
    if not townships:
        return ""
    items = "".join(
        f'<li><a href="{_e(t.url)}">{_e(t.name)}</a> '
        f'<span class="{"ok" if t.serving else "muted"}">'
        f"便民服务中心{_e(t.centre_status_label)}</span></li>"
        for t in townships
    )
    return f'<h3>各乡镇（街道）</h3><ul class="townships">{items}</ul>'


def _point_block(point: Point, heading: str) -> str:
    return (
        f'<section class="point"><h3>{_e(heading)}</h3>'
        f'<p class="name"><a href="{_e(point.url)}">{_e(point.name)}</a></p>'
        f"{point_facts(point)}</section>"
    )


def find_page(shell: str, query: str, result: Any | None, problem: str | None) -> str:
    """The search page with the answer to ``?q=`` already in it (for browsers without
    script; the script replaces it with the same cards)."""
    shell = shell.replace('id="q" name="q"', f'id="q" name="q" value="{_e(query)}"', 1)
    if problem is not None:
        status = (
            f'<p id="status" class="status warn" role="status" aria-live="polite">{_e(problem)}'
        )
    elif result is not None and result.items:
        status = (
            '<p id="status" class="status" role="status" aria-live="polite">'
            f"找到 {len(result.items)} 个地方。"
        )
    else:
        status = (
            '<p id="status" class="status warn" role="status" aria-live="polite">'
            "没有找到，请检查名称，或试试拼音首字母。"
        )
    shell = shell.replace(
        '<p id="status" class="status" role="status" aria-live="polite">', status, 1
    )
    cards = "".join(_hit_html(h) for h in result.items) if result is not None else ""
    return shell.replace('<div id="results"></div>', f'<div id="results">{cards}</div>', 1)
