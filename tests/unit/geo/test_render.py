"""The SVG choropleth: parsed back with xml.etree — paths, names, classes, legend, scale bar."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
import shapely
from shapely.geometry import box

from geo.boundaries import distance_m
from geo.geojson_io import geometry_to_geojson
from geo.render import Area, ClassScheme, MapPoint, PointStyle, render_choropleth

# The caller's vocabulary (the registry's lives in registry.coverage.rules / sites.status).
COVERAGE_CLASSES = ClassScheme(
    name="固定区间",
    breaks=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
    colours=("#ffffcc", "#d9f0a3", "#addd8e", "#78c679", "#31a354", "#006837"),
    labels=("0–20%", "20–40%", "40–60%", "60–80%", "80–<100%", "100%（完成）"),
)
STATUS_COLOURS = {"in_service": "#2171b5", "standardized": "#08306b"}
STYLE = PointStyle(
    colours=STATUS_COLOURS,
    labels={"in_service": "已运行", "standardized": "已达标"},
    title="站点状态",
    large_kinds=frozenset({"township_centre"}),
)

NS = {"svg": "http://www.w3.org/2000/svg"}
WEST = box(109.0, 27.0, 109.5, 27.5)
EAST = box(109.5, 27.0, 110.0, 27.5)
ISLANDS = shapely.MultiPolygon([box(110.0, 27.0, 110.2, 27.2), box(110.3, 27.3, 110.4, 27.4)])
HOLED = shapely.Polygon(
    [(109.0, 27.5), (110.0, 27.5), (110.0, 28.0), (109.0, 28.0)],
    [[(109.4, 27.6), (109.6, 27.6), (109.6, 27.8), (109.4, 27.8)]],
)
AREAS = [
    Area("431201", "西区", WEST, 0.25, "25.0%"),
    Area("431202", "东区", geometry_to_geojson(EAST), 1.0, "100.0%"),
    Area("431203", "群岛县", ISLANDS, None, "无数据"),
    Area("431204", "环<县>&", HOLED, 0.799, "79.9%"),
]


def parse(svg: str) -> ET.Element:
    assert svg.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(svg.encode("utf-8"))


def areas(root: ET.Element) -> list[ET.Element]:
    return root.findall("svg:g[@id='areas']/svg:path", NS)


@pytest.fixture
def root() -> ET.Element:
    return parse(
        render_choropleth(
            AREAS, scheme=COVERAGE_CLASSES, title="测试专项 · 截至 2014年4月18日", subtitle="覆盖率"
        )
    )


def test_every_area_is_a_path_with_its_code_and_chinese_name(root):
    paths = areas(root)
    assert [p.get("data-code") for p in paths] == ["431201", "431202", "431203", "431204"]
    assert [p.get("data-name") for p in paths] == ["西区", "东区", "群岛县", "环<县>&"]
    for path in paths:
        d = path.get("d")
        assert d.startswith("M") and d.endswith("Z")
        assert path.find("svg:title", NS).text.startswith(path.get("data-name"))


def test_multipolygons_and_holes_become_subpaths(root):
    by_code = {p.get("data-code"): p for p in areas(root)}
    assert by_code["431203"].get("d").count("M") == 2  # two islands
    assert by_code["431204"].get("d").count("M") == 2  # exterior and hole
    assert by_code["431204"].get("fill-rule") == "evenodd"


@pytest.mark.parametrize(
    ("value", "index"),
    [
        (0.0, 0),
        (0.1999, 0),
        (0.2, 1),
        (0.5, 2),
        (0.799, 3),
        (0.8, 4),
        (0.9999, 4),
        (1.0, 5),
        (None, None),
    ],
)
def test_fixed_classes_with_inclusive_lower_bounds(value, index):
    assert COVERAGE_CLASSES.classify(value) == index


def test_fill_follows_the_class_scheme(root):
    by_code = {p.get("data-code"): p for p in areas(root)}
    assert by_code["431201"].get("fill") == COVERAGE_CLASSES.colours[1]
    assert by_code["431202"].get("fill") == COVERAGE_CLASSES.colours[5]
    assert by_code["431204"].get("fill") == COVERAGE_CLASSES.colours[3]
    assert by_code["431203"].get("fill") == "url(#nodata)"
    assert by_code["431203"].get("data-class") == ""
    assert by_code["431201"].get("data-value") == "0.2500"


def test_names_are_labelled_and_escaped(root):
    names = [t.text for t in root.findall("svg:g[@id='labels']/svg:text[@class='area-name']", NS)]
    assert names == ["西区", "东区", "群岛县", "环<县>&"]
    captions = [
        t.text for t in root.findall("svg:g[@id='labels']/svg:text[@class='area-caption']", NS)
    ]
    assert captions == ["25.0%", "100.0%", "无数据", "79.9%"]


def test_title_and_subtitle(root):
    assert root.find("svg:title", NS).text == "测试专项 · 截至 2014年4月18日"
    assert root.find(".//svg:text[@id='map-title']", NS).text == "测试专项 · 截至 2014年4月18日"
    assert root.find(".//svg:text[@id='map-subtitle']", NS).text == "覆盖率"


def test_legend_lists_every_class_and_no_data(root):
    legend = root.find("svg:g[@id='legend']", NS)
    swatches = legend.findall("svg:rect[@class='legend-class']", NS)
    assert [s.get("fill") for s in swatches] == [*COVERAGE_CLASSES.colours, "url(#nodata)"]
    texts = [t.text for t in legend.findall("svg:text", NS)]
    for label in (*COVERAGE_CLASSES.labels, "无数据"):
        assert label in texts


def test_scale_bar_is_true_to_the_map(root):
    bar = root.find("svg:g[@id='scale-bar']", NS)
    metres = float(bar.get("data-metres"))
    pixels = float(bar.get("data-pixels"))
    assert str(int(metres / 1000)) + " 公里" in [t.text for t in bar.findall("svg:text", NS)]
    # Measure the same pixels on the map: the West area is 0.5° wide at 27.25°N.
    west = areas(root)[0].get("d")
    xs = [float(x) for x in re.findall(r"[ML]([-\d.]+),", west)]
    width_px = max(xs) - min(xs)
    width_m = distance_m(109.0, 27.25, 109.5, 27.25)
    assert metres / pixels == pytest.approx(width_m / width_px, rel=0.01)
    assert metres in (1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5)


def test_map_keeps_proportions_north_up():
    root = parse(
        render_choropleth(
            [Area("1", "甲", box(109.0, 27.0, 110.0, 28.0), 0.5)],
            scheme=COVERAGE_CLASSES,
            title="t",
        )
    )
    d = areas(root)[0].get("d")
    pts = [tuple(map(float, p.split(","))) for p in re.findall(r"[-\d.]+,[-\d.]+", d)]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    # One degree of longitude at 27.5°N is cos(27.5°) ≈ 0.887 of a degree of latitude.
    assert (max(xs) - min(xs)) / (max(ys) - min(ys)) == pytest.approx(0.887, abs=0.01)
    # North up: the first vertex (109, 27), the south-west corner, has the largest y.
    assert pts[0][1] == max(ys)


def test_points_are_drawn_by_status_only_when_given(root):
    assert root.find("svg:g[@id='points']", NS) is None
    svg = render_choropleth(
        AREAS,
        title="t",
        scheme=COVERAGE_CLASSES,
        point_style=STYLE,
        points=[
            MapPoint(109.2, 27.2, "village_point", "in_service", "大坪村便民服务代办点"),
            MapPoint(109.7, 27.3, "township_centre", "standardized", "黄金坳镇便民服务中心"),
        ],
    )
    circles = parse(svg).findall("svg:g[@id='points']/svg:circle", NS)
    assert [c.get("data-status") for c in circles] == ["in_service", "standardized"]
    assert circles[0].get("fill") == STATUS_COLOURS["in_service"]
    assert float(circles[1].get("r")) > float(circles[0].get("r"))
    assert circles[0].find("svg:title", NS).text == "大坪村便民服务代办点"


def test_render_is_pure_and_deterministic():
    a = render_choropleth(AREAS, scheme=COVERAGE_CLASSES, title="t", note="n")
    b = render_choropleth(AREAS, scheme=COVERAGE_CLASSES, title="t", note="n")
    assert a == b
    assert "http://" not in a.replace("http://www.w3.org/2000/svg", "")
