"""Sign plates (标识牌): the standard name and a QR code to the site's public page, laid out at
the plate's real size, as SVG and PDF. No database, no HTTP: values in, bytes out.

Two plates, sizes in millimetres (one SVG user unit = 1 mm; one PDF page = one plate at 1:1):

- ``horizontal`` 1200 × 400 (beside or above a door): the place name on the first line
  (黄金坳镇), the suffix on the second (便民服务中心 / 便民服务代办点), both white on the
  plate's blue; on the right a white panel with the QR code (300 mm with its quiet zone) and
  "扫码查看办事指南" under it;
- ``vertical`` 400 × 1200 (a door post): the name read top to bottom in two columns, the
  place name on the right, the suffix on the left (as vertical Chinese reads, right to left);
  the QR panel (320 mm) at the foot.

The QR code is vector: every run of dark modules is one rectangle (SVG path, PDF path), with
the standard quiet zone of four modules, error correction M (a plate weathers). The PDF uses
first TrueType CJK face it is given or finds (``REGISTRY_SIGN_FONT``, else WenQuanYi Micro Hei
from Debian's ``fonts-wqy-microhei``, WenQuanYi Zen Hei, AR PL UMing) and embeds the subset of
glyphs the plates use, so a sign maker's machine renders the name without Chinese fonts of its
own. A character the face lacks (24 of the 5,084 characters of the national register's names
are outside Micro Hei, all rare CJK Extension A/B) is set in reportlab's built-in CID font
STSong-Light, which a PDF reader supplies; so is everything when no face is found (the PDF then
needs a reader with Chinese fonts). The SVG names common CJK faces and falls back to sans-serif.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from xml.sax.saxutils import escape

import segno

from registry.core.errors import RuleViolation
from registry.sites.rules.signage import CENTRE_SUFFIX, POINT_SUFFIX

PLATES: dict[str, tuple[int, int]] = {"horizontal": (1200, 400), "vertical": (400, 1200)}
"""Plate sizes in millimetres (width, height) by layout."""
DEFAULT_LAYOUT = "horizontal"
BLUE = "#1f4e9c"
WHITE = "#ffffff"
DARK = "#000000"
CAPTION = "扫码查看办事指南"
QUIET_ZONE = 4
PDF_FONT = "STSong-Light"
"""The fallback: reportlab's built-in CID font, not embedded (the reader supplies the face)."""
EMBEDDED_FONT = "SignFace"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
"""TrueType CJK faces looked for, in order, when no font is configured (Debian paths)."""
SVG_FONTS = "'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei','SimHei',sans-serif"
# Ascent of a CJK face as a share of its size: where a baseline goes below a line's top.
_ASCENT = 0.88


def check_layout(layout: str | None) -> str:
    """``horizontal`` (default) or ``vertical``.

    Raises:
        RuleViolation: ``invalid_layout``.
    """
    if layout is None or layout == "":
        return DEFAULT_LAYOUT
    if layout not in PLATES:
        raise RuleViolation(
            "invalid_layout",
            "版式应为 horizontal（横版 1200×400 毫米）或 vertical（竖版 400×1200 毫米）",
            "layout must be horizontal (1200×400 mm) or vertical (400×1200 mm)",
            "layout",
            allowed=list(PLATES),
        )
    return layout


def size_text(layout: str) -> str:
    """``1200×400`` (millimetres)."""
    width, height = PLATES[layout]
    return f"{width}×{height}"


def split_name(name: str) -> tuple[str, str]:
    """The place (黄金坳镇) and the suffix (便民服务中心); a name without a standard suffix is
    all place."""
    for suffix in (POINT_SUFFIX, CENTRE_SUFFIX):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


def _ems(text: str) -> float:
    """Width of ``text`` in ems: CJK one, ASCII about half."""
    return sum(0.55 if ord(c) < 0x2E80 else 1.0 for c in text) or 1.0


# ------------------------------------------------------------------------------ layout


@dataclass(frozen=True)
class Text:
    """One line or glyph: centred at ``x``, baseline at ``y`` (mm from the top), ``size`` mm."""

    text: str
    x: float
    y: float
    size: float
    color: str = WHITE


@dataclass(frozen=True)
class Plate:
    """Everything drawn on one plate, in millimetres from its top-left corner."""

    layout: str
    width: float
    height: float
    texts: list[Text]
    panel: tuple[float, float, float]  # x, y, side of the white QR panel
    qr: tuple[float, float, float]  # x, y of the first module, module size
    modules: tuple[tuple[int, int, int], ...]  # (row, first column, length) of dark runs
    name: str
    url: str


@cache
def qr_runs(url: str) -> tuple[int, tuple[tuple[int, int, int], ...]]:
    """The QR code of ``url`` (error correction M): its side in modules and its dark runs
    ``(row, first column, length)``."""
    code = segno.make_qr(url, error="m", boost_error=False)
    matrix = code.matrix
    runs = []
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                runs.append((r, start, c - start))
            else:
                c += 1
    return len(matrix), tuple(runs)


def layout_plate(name: str, url: str, layout: str = DEFAULT_LAYOUT) -> Plate:
    """Where the name, the QR code and its caption go on a plate of ``layout``."""
    layout = check_layout(layout)
    width, height = PLATES[layout]
    side, runs = qr_runs(url)
    place, suffix = split_name(name)
    texts: list[Text] = []
    if layout == "horizontal":
        margin = 40.0
        panel = 300.0
        panel_x, panel_y = width - margin - panel, 28.0
        caption = 26.0
        texts.append(
            Text(CAPTION, panel_x + panel / 2, panel_y + panel + 8 + caption * _ASCENT, caption)
        )
        area_left, area_right = 60.0, panel_x - 50.0
        area = area_right - area_left
        centre = (area_left + area_right) / 2
        lines = [place, suffix] if suffix else [place]
        caps = [150.0, 105.0] if suffix else [190.0]
        sizes = [min(cap, area / _ems(t)) for t, cap in zip(lines, caps, strict=True)]
        gap = 34.0 if suffix else 0.0
        block = sum(sizes) + gap
        top = (height - block) / 2
        y = top
        for text, size in zip(lines, sizes, strict=True):
            texts.append(Text(text, centre, y + size * _ASCENT, size))
            y += size + gap
    else:
        margin = 40.0
        panel = 320.0
        caption = 26.0
        panel_x, panel_y = (width - panel) / 2, height - margin - caption - 14 - panel
        texts.append(Text(CAPTION, width / 2, panel_y + panel + 10 + caption * _ASCENT, caption))
        top, bottom = 50.0, panel_y - 40.0
        columns = [place, suffix] if suffix else [place]
        longest = max(len(c) for c in columns)
        size = min(140.0 if suffix else 200.0, (bottom - top) / (longest * 1.06))
        pitch = size * 1.06
        # Right column first (the place), then the suffix to its left.
        xs = [width / 2 + size * 0.7, width / 2 - size * 0.7] if suffix else [width / 2]
        for column, x in zip(columns, xs, strict=True):
            column_top = top + ((bottom - top) - pitch * len(column)) / 2 if not suffix else top
            for i, char in enumerate(column):
                texts.append(Text(char, x, column_top + i * pitch + size * _ASCENT, size))
    module = panel / (side + 2 * QUIET_ZONE)
    qr = (panel_x + QUIET_ZONE * module, panel_y + QUIET_ZONE * module, module)
    return Plate(layout, width, height, texts, (panel_x, panel_y, panel), qr, runs, name, url)


# ------------------------------------------------------------------------------ SVG


def _svg_qr_path(plate: Plate) -> str:
    # In module units; the group's transform places and scales it.
    return "".join(f"M{c} {r}h{n}v1h-{n}z" for r, c, n in plate.modules)


def render_svg(plate: Plate) -> str:
    """The plate as a standalone SVG document (1 user unit = 1 mm)."""
    x0, y0, module = plate.qr
    px, py, pside = plate.panel
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{plate.width}mm" '
        f'height="{plate.height}mm" viewBox="0 0 {plate.width} {plate.height}" '
        f'role="img" aria-label="{escape(plate.name)}">',
        f"<title>{escape(plate.name)}</title>",
        f"<desc>{escape(plate.url)}</desc>",
        f'<rect width="{plate.width}" height="{plate.height}" fill="{BLUE}"/>',
        f'<rect x="12" y="12" width="{plate.width - 24}" height="{plate.height - 24}" '
        f'fill="none" stroke="{WHITE}" stroke-width="4"/>',
        f'<rect x="{px:.2f}" y="{py:.2f}" width="{pside:.2f}" height="{pside:.2f}" '
        f'fill="{WHITE}"/>',
        f'<g transform="translate({x0:.3f} {y0:.3f}) scale({module:.5f})">'
        f'<path d="{_svg_qr_path(plate)}" fill="{DARK}" shape-rendering="crispEdges"/></g>',
        f'<g font-family="{SVG_FONTS}" font-weight="bold" text-anchor="middle">',
    ]
    for t in plate.texts:
        parts.append(
            f'<text x="{t.x:.2f}" y="{t.y:.2f}" font-size="{t.size:.2f}" '
            f'fill="{t.color}">{escape(t.text)}</text>'
        )
    parts += ["</g>", "</svg>", ""]
    return "\n".join(parts)


# ------------------------------------------------------------------------------ PDF


def find_font(configured: str = "") -> str | None:
    """The TrueType (.ttf/.ttc) face to embed: ``configured`` if given (the settings checked
    it exists), else the first of :data:`FONT_CANDIDATES` present; None when there is none."""
    from pathlib import Path

    if configured:
        return configured
    return next((c for c in FONT_CANDIDATES if Path(c).is_file()), None)


@cache
def _pdf_fonts(path: str | None) -> tuple[str | None, frozenset[int]]:
    """Register the fallback CID font and, with ``path``, the embedded face; the embedded
    face's name and the code points it has."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    if path is None:
        return None, frozenset()
    from reportlab.pdfbase.ttfonts import TTFont

    name = f"{EMBEDDED_FONT}-{abs(hash(path)) % 10**8}"
    face = TTFont(name, path, subfontIndex=0)
    pdfmetrics.registerFont(face)
    return name, frozenset(face.face.charToGlyph)


def font_runs(text: str, name: str | None, has: frozenset[int]) -> list[tuple[str, str]]:
    """``text`` cut into runs of (font, text): the embedded face where it has the character,
    the fallback CID font where not."""
    runs: list[tuple[str, str]] = []
    for char in text:
        font = name if name is not None and ord(char) in has else PDF_FONT
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + char)
        else:
            runs.append((font, char))
    return runs


def _draw_centred(canvas, text: str, x: float, y: float, size: float, fonts) -> None:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    runs = font_runs(text, *fonts)
    widths = [stringWidth(chunk, font, size) for font, chunk in runs]
    left = x - sum(widths) / 2
    for (font, chunk), width in zip(runs, widths, strict=True):
        canvas.setFont(font, size)
        canvas.drawString(left, y, chunk)
        left += width


def render_pdf(plates: list[Plate], title: str, font_path: str | None = None) -> bytes:
    """The plates as one PDF, one page per plate at its real size (1:1); the names set in the
    TrueType face at ``font_path`` (its used glyphs embedded), else in the CID fallback."""
    from reportlab.lib.colors import HexColor
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    fonts = _pdf_fonts(font_path)
    buffer = io.BytesIO()
    # invariant: no creation date or random id, so the same plates give the same bytes.
    canvas = Canvas(buffer, invariant=1, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor("便民服务站点登记系统")
    canvas.setSubject("标识牌 / sign plates")
    for plate in plates:
        height = plate.height
        canvas.setPageSize((plate.width * mm, height * mm))

        def box(x: float, y: float, w: float, h: float, h_page: float = height) -> tuple:
            """A rectangle given from the top-left, in PDF points from the bottom-left."""
            return (x * mm, (h_page - y - h) * mm, w * mm, h * mm)

        canvas.setFillColor(HexColor(BLUE))
        canvas.rect(*box(0, 0, plate.width, height), stroke=0, fill=1)
        canvas.setStrokeColor(HexColor(WHITE))
        canvas.setLineWidth(4 * mm)
        canvas.rect(*box(12, 12, plate.width - 24, height - 24), stroke=1, fill=0)
        px, py, pside = plate.panel
        canvas.setFillColor(HexColor(WHITE))
        canvas.rect(*box(px, py, pside, pside), stroke=0, fill=1)
        x0, y0, module = plate.qr
        path = canvas.beginPath()
        for r, c, n in plate.modules:
            path.rect(*box(x0 + c * module, y0 + r * module, n * module, module))
        canvas.setFillColor(HexColor(DARK))
        canvas.drawPath(path, stroke=0, fill=1)
        for t in plate.texts:
            canvas.setFillColor(HexColor(t.color))
            _draw_centred(canvas, t.text, t.x * mm, (height - t.y) * mm, t.size * mm, fonts)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
