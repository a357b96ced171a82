"""SVG maps rendered on the server: a choropleth of areas with a legend, labels, optional points
and a scale bar. Pure (shapely and the standard library); no browser, no fonts, no network.

Projection: a local equirectangular plane centred on the map (:func:`geo.boundaries.local_xy_m`,
x scaled by ``cos(lat0)``), so distances on the map are metres to ~1 % over a city, and the
scale bar is exact at the centre latitude. North is up.

The caller brings its vocabulary: the class scheme of the shaded values (:class:`ClassScheme`:
breaks, colours, legend labels; areas without a value are grey and hatched) and the colours,
sizes and legend texts of the points (:class:`PointStyle`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geo.boundaries import local_xy_m

__all__ = [
    "Area",
    "ClassScheme",
    "MapPoint",
    "PointStyle",
    "render_choropleth",
]

FONT = (
    "'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei','PingFang SC',"
    "'WenQuanYi Micro Hei',SimHei,sans-serif"
)


@dataclass(frozen=True)
class ClassScheme:
    """Classes of a share: ``breaks[i] ≤ value < breaks[i+1]`` is class ``i``; a value at or
    above the last break is the last class (for shares: exactly 100 %)."""

    name: str
    breaks: tuple[float, ...]
    colours: tuple[str, ...]
    labels: tuple[str, ...]
    null_colour: str = "#d9d9d9"
    null_label: str = "无数据"

    def classify(self, value: float | None) -> int | None:
        """The class index of ``value`` (None for a null value)."""
        if value is None or math.isnan(value):
            return None
        if value >= self.breaks[-1]:
            return len(self.colours) - 1
        for i in range(len(self.breaks) - 1):
            if value < self.breaks[i + 1]:
                return i
        return len(self.colours) - 1

    def colour(self, value: float | None) -> str:
        index = self.classify(value)
        return self.null_colour if index is None else self.colours[index]


KIND_RADIUS_LARGE = 3.6
POINT_RADIUS = 1.8


@dataclass(frozen=True)
class PointStyle:
    """How the points of a map are drawn and explained: a colour per category (``status``),
    larger dots for some kinds, and the legend's texts. The caller's vocabulary, not geo's."""

    colours: Mapping[str, str]
    labels: Mapping[str, str]
    title: str
    large_kinds: frozenset[str] = frozenset()
    note: str = ""


@dataclass(frozen=True)
class Area:
    """One shaded area: a WGS-84 (Multi)Polygon as shapely or a GeoJSON geometry dict."""

    code: str
    name: str
    geometry: BaseGeometry | Mapping[str, Any]
    value: float | None
    caption: str = ""
    properties: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MapPoint:
    """A site drawn as a dot (centres larger); coloured by ``status``."""

    lon: float
    lat: float
    kind: str
    status: str
    label: str = ""


def _geometry(value: BaseGeometry | Mapping[str, Any]) -> BaseGeometry:
    return value if isinstance(value, BaseGeometry) else shape(value)


def _fmt(v: float) -> str:
    text = f"{v:.1f}"
    return "0" if text in ("-0.0", "0.0") else text.removesuffix(".0")


_PATHS_SIZE = 4096
_PATHS: dict[tuple[Any, ...], tuple[BaseGeometry, str]] = {}


class _Frame:
    """Lon/lat → SVG pixels for a map box (local equirectangular plane, north up)."""

    def __init__(self, bounds: tuple[float, float, float, float], box: tuple[float, ...]):
        min_lon, min_lat, max_lon, max_lat = bounds
        self.lon0 = (min_lon + max_lon) / 2
        self.lat0 = (min_lat + max_lat) / 2
        x0, y0 = local_xy_m(min_lon, min_lat, self.lon0, self.lat0)
        x1, y1 = local_xy_m(max_lon, max_lat, self.lon0, self.lat0)
        left, top, width, height = box
        self.scale = min(width / max(x1 - x0, 1e-9), height / max(y1 - y0, 1e-9))  # px / m
        # Centre the map in its box.
        self.ox = left + (width - (x1 - x0) * self.scale) / 2 - x0 * self.scale
        self.oy = top + (height - (y1 - y0) * self.scale) / 2 + y1 * self.scale

    def xy(self, lons: Any, lats: Any) -> tuple[Any, Any]:
        x, y = local_xy_m(lons, lats, self.lon0, self.lat0)
        return self.ox + x * self.scale, self.oy - y * self.scale

    def key(self) -> tuple[float, ...]:
        return (self.lon0, self.lat0, self.scale, self.ox, self.oy)

    def path(self, geom: BaseGeometry) -> str:
        """The SVG path data of ``geom`` in this frame (memoised per frame and geometry
        object: the same county outlines are drawn on every map)."""
        key = (self.key(), id(geom))
        found = _PATHS.get(key)
        if found is not None and found[0] is geom:
            return found[1]
        text = self._path(geom)
        if len(_PATHS) >= _PATHS_SIZE:
            _PATHS.pop(next(iter(_PATHS)))
        _PATHS[key] = (geom, text)  # the geometry is kept: its id cannot be reused meanwhile
        return text

    def _path(self, geom: BaseGeometry) -> str:
        parts = []
        polygons = getattr(geom, "geoms", [geom])
        for polygon in polygons:
            if polygon.geom_type != "Polygon" or polygon.is_empty:
                continue
            for ring in (polygon.exterior, *polygon.interiors):
                coords = shapely.get_coordinates(ring)
                xs, ys = self.xy(coords[:, 0], coords[:, 1])
                text = _ring_path(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
                if text:
                    parts.append(text)
        return "".join(parts)


# ".0" of a whole number before a separator or at the end (as _fmt drops it).
_WHOLE = re.compile(r"\.0(?=[,L]|$)")


def _ring_path(xs: np.ndarray, ys: np.ndarray) -> str | None:
    """``M x,y L … Z`` of one ring at 0.1 px, as :func:`_fmt` writes numbers; points that
    round onto the previous one are dropped; ``None`` when fewer than 3 are left.

    Vectorised: rounding and de-duplication in numpy, the text by one ``%`` format of all
    the numbers (a Hunan map has ~65,000 points: formatting them one by one in Python was
    most of a cold map's time).
    """
    rx = np.round(xs, 1) + 0.0  # + 0.0 turns -0.0 into 0.0
    ry = np.round(ys, 1) + 0.0
    keep = np.ones(len(rx), dtype=bool)
    keep[1:] = (rx[1:] != rx[:-1]) | (ry[1:] != ry[:-1])
    count = int(keep.sum())
    if count < 3:
        return None
    flat = np.empty(2 * count)
    flat[0::2] = rx[keep]
    flat[1::2] = ry[keep]
    text = ("%.1f,%.1fL" * count % tuple(flat.tolist()))[:-1]
    return "M" + _WHOLE.sub("", text) + "Z"


def _nice_length(max_m: float) -> float:
    """The largest 1/2/5 × 10^n metres not above ``max_m``."""
    exponent = math.floor(math.log10(max_m))
    for step in (5, 2, 1):
        value = step * 10**exponent
        if value <= max_m:
            return float(value)
    return float(10**exponent)


def _text(
    x: float, y: float, body: str, size: float = 12, anchor: str = "start", **attrs: str
) -> str:
    extra = "".join(f" {k.replace('_', '-')}={quoteattr(v)}" for k, v in attrs.items())
    return (
        f'<text x="{_fmt(x)}" y="{_fmt(y)}" font-size="{size:g}" text-anchor="{anchor}"{extra}>'
        f"{escape(body)}</text>"
    )


def render_choropleth(
    areas: Sequence[Area],
    *,
    title: str,
    subtitle: str = "",
    scheme: ClassScheme,
    legend_title: str = "",
    points: Sequence[MapPoint] = (),
    point_style: PointStyle | None = None,
    note: str = "",
    width: int = 960,
    height: int = 760,
) -> str:
    """Render a choropleth map as a standalone SVG document.

    Args:
        areas: the areas to shade, with their value (a share 0–1, or None).
        title: first line at the top (e.g. campaign and date).
        subtitle: second line (e.g. figure name and class scheme).
        scheme: the class scheme (breaks, colours, labels); shown in the legend.
        legend_title: heading of the legend.
        points: optional sites drawn over the areas, coloured by status.
        point_style: colours, sizes and legend texts of the points (required with points).
        note: small print at the bottom (sources, simplification).
        width: SVG width in pixels.
        height: SVG height in pixels.

    Returns:
        The SVG document as text (UTF-8, ``<?xml …?>`` declaration included).
    """
    geoms = [_geometry(a.geometry) for a in areas]
    header_h, footer_h, legend_w = 64, 34, 190
    box = (16.0, float(header_h), float(width - legend_w - 32), float(height - header_h - footer_h))
    bounds = shapely.total_bounds(geoms) if geoms else (0.0, 0.0, 1.0, 1.0)
    frame = _Frame(tuple(float(b) for b in bounds), box)  # type: ignore[arg-type]

    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" role="img" '
        f"aria-label={quoteattr(title)}>",
        f"<title>{escape(title)}</title>",
        '<defs><pattern id="nodata" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="'
        f'{scheme.null_colour}"/><line x1="0" y1="0" x2="0" y2="6" stroke="#969696" '
        'stroke-width="1.5"/></pattern></defs>',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        _text(16, 28, title, 20, font_weight="bold", id="map-title"),
    ]
    if subtitle:
        out.append(_text(16, 50, subtitle, 13, fill="#444444", id="map-subtitle"))

    # Areas.
    out.append('<g id="areas" stroke="#ffffff" stroke-width="1.2" stroke-linejoin="round">')
    for area, geom in zip(areas, geoms, strict=True):
        index = scheme.classify(area.value)
        fill = "url(#nodata)" if index is None else scheme.colours[index]
        value = "" if area.value is None else f"{area.value:.4f}"
        tooltip = f"{area.name} {area.caption}".strip()
        data = "".join(f" data-{escape(k)}={quoteattr(str(v))}" for k, v in area.properties.items())
        out.append(
            f'<path id={quoteattr("area-" + area.code)} class="area" '
            f"data-code={quoteattr(area.code)} data-name={quoteattr(area.name)} "
            f'data-value="{value}" data-class="{"" if index is None else index}"{data} '
            f'fill="{fill}" fill-rule="evenodd" d="{frame.path(geom)}">'
            f"<title>{escape(tooltip)}</title></path>"
        )
    out.append("</g>")

    # Points.
    if points:
        assert point_style is not None, "points need a point_style"
        out.append('<g id="points" stroke="#ffffff" stroke-width="0.5">')
        for p in points:
            x, y = frame.xy(p.lon, p.lat)
            r = KIND_RADIUS_LARGE if p.kind in point_style.large_kinds else POINT_RADIUS
            colour = point_style.colours.get(p.status, "#000000")
            label = f"<title>{escape(p.label)}</title>" if p.label else ""
            out.append(
                f'<circle class="site" data-kind={quoteattr(p.kind)} '
                f'data-status={quoteattr(p.status)} cx="{_fmt(float(x))}" cy="{_fmt(float(y))}" '
                f'r="{r:g}" fill="{colour}">{label}</circle>'
            )
        out.append("</g>")

    # Labels: the name and the caption at a point inside each area, with a white halo.
    out.append(
        '<g id="labels" fill="#1a1a1a" stroke="#ffffff" stroke-width="3" '
        'paint-order="stroke" stroke-linejoin="round">'
    )
    for area, geom in zip(areas, geoms, strict=True):
        if geom.is_empty:
            continue
        largest = max(getattr(geom, "geoms", [geom]), key=lambda g: g.area)
        anchor = largest.point_on_surface()
        x, y = frame.xy(anchor.x, anchor.y)
        out.append(
            _text(
                float(x),
                float(y),
                area.name,
                12,
                "middle",
                font_weight="bold",
                **{
                    "class": "area-name",
                    "data_code": area.code,
                },
            )
        )
        if area.caption:
            out.append(
                _text(
                    float(x),
                    float(y) + 14,
                    area.caption,
                    11,
                    "middle",
                    **{
                        "class": "area-caption",
                    },
                )
            )
    out.append("</g>")

    # Legend.
    lx, ly = width - legend_w - 8, header_h + 8
    out.append(f'<g id="legend" transform="translate({lx},{ly})">')
    out.append(_text(0, 12, legend_title or "图例", 13, font_weight="bold"))
    row = 0
    for i, (colour, label) in enumerate(zip(scheme.colours, scheme.labels, strict=True)):
        y = 24 + row * 22
        out.append(
            f'<rect class="legend-class" data-class="{i}" x="0" y="{y}" width="22" height="14" '
            f'fill="{colour}" stroke="#969696" stroke-width="0.5"/>'
        )
        out.append(_text(30, y + 12, label, 12))
        row += 1
    y = 24 + row * 22
    out.append(
        f'<rect class="legend-class" data-class="" x="0" y="{y}" width="22" height="14" '
        'fill="url(#nodata)" stroke="#969696" stroke-width="0.5"/>'
    )
    out.append(_text(30, y + 12, scheme.null_label, 12))
    row += 1
    out.append(_text(0, 24 + row * 22 + 8, scheme.name, 10, fill="#555555"))
    row += 1
    if points and point_style is not None:
        y0 = 24 + row * 22 + 16
        out.append(_text(0, y0, point_style.title, 13, font_weight="bold"))
        present = {p.status for p in points}
        shown = [s for s in point_style.colours if s in present]
        for j, status in enumerate(shown):
            y = y0 + 12 + j * 18
            out.append(
                f'<circle class="legend-status" cx="8" cy="{y + 4}" r="4" '
                f'fill="{point_style.colours[status]}"/>'
            )
            out.append(_text(20, y + 8, point_style.labels[status], 12))
        if point_style.note:
            y = y0 + 12 + len(shown) * 18 + 6
            out.append(_text(0, y, point_style.note, 10, fill="#555555"))
    out.append("</g>")

    # Scale bar: a round length no longer than a fifth of the map box.
    left, top, box_w, box_h = box
    length_m = _nice_length(box_w / 5 / frame.scale)
    bar_px = length_m * frame.scale
    sx, sy = left + 8, top + box_h - 12
    label = f"{length_m / 1000:g} 公里" if length_m >= 1000 else f"{length_m:g} 米"
    out.append(
        f'<g id="scale-bar" data-metres="{length_m:g}" data-pixels="{bar_px:.2f}">'
        f'<rect x="{_fmt(sx)}" y="{_fmt(sy)}" width="{_fmt(bar_px / 2)}" height="5" fill="#333"/>'
        f'<rect x="{_fmt(sx + bar_px / 2)}" y="{_fmt(sy)}" width="{_fmt(bar_px / 2)}" height="5" '
        'fill="#fff" stroke="#333" stroke-width="0.8"/>'
        + _text(sx, sy - 4, "0", 10, "middle")
        + _text(sx + bar_px, sy - 4, label, 10, "middle")
        + "</g>"
    )
    # North arrow.
    nx, ny = left + box_w - 16, top + 8
    out.append(
        f'<g id="north-arrow"><path d="M{_fmt(nx)},{_fmt(ny)}l-6,18l6,-5l6,5z" fill="#333"/>'
        + _text(nx, ny + 30, "北", 11, "middle")
        + "</g>"
    )
    if note:
        out.append(_text(16, height - 12, note, 10, fill="#666666", id="map-note"))
    out.append("</svg>")
    return "\n".join(out) + "\n"
