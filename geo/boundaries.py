"""Administrative boundaries: point location, containment checks and distances in metres.

All geometries handled here are WGS-84 longitude/latitude (use :func:`load_regions_geojson` to
convert GCJ-02 source files).

Distances:
    * :func:`distance_m` is the haversine great-circle distance on a sphere of radius
      :data:`EARTH_RADIUS_M` (mean Earth radius, 6 371 008.8 m).
    * Point-to-polygon distances first look for the nearest boundary point in a local
      equirectangular plane (:func:`local_xy_m`: x scaled by ``cos(lat0)``, y unscaled, both in
      metres) centred on the region, then measure the haversine distance from the point to that
      boundary point. Over a county (≤ ~1.5° of latitude) the plane's scale error is ≤ ~2 %,
      which only affects *which* boundary point is chosen; the reported distance is the true
      distance to a real boundary point, so its error is second order (well under a metre at
      the 200 m scale, and < 1 % at tens of kilometres).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geo.crs import out_of_china, transform_geometry

__all__ = [
    "EARTH_RADIUS_M",
    "METRES_PER_DEGREE",
    "BoundaryIndex",
    "Containment",
    "Region",
    "distance_m",
    "load_regions_geojson",
    "local_lonlat",
    "local_xy_m",
    "metres_per_degree_lon",
    "simplify_coverage",
    "swapped_latlon",
]

EARTH_RADIUS_M = 6371008.8
"""Mean Earth radius (IUGG) used for haversine distances."""

METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180.0
"""Length of one degree of latitude (and of longitude at the equator), ≈ 111 195 m."""

FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------- metric helpers


def metres_per_degree_lon(lat: float) -> float:
    """Return the length in metres of one degree of longitude at latitude ``lat``.

    Args:
        lat: Latitude in degrees.

    Returns:
        ``METRES_PER_DEGREE * cos(lat)``.
    """
    return METRES_PER_DEGREE * math.cos(math.radians(lat))


def distance_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> Any:
    """Haversine distance in metres (element-wise for arrays).

    Args:
        lon1: Longitude of the first point(s), degrees.
        lat1: Latitude of the first point(s), degrees.
        lon2: Longitude of the second point(s), degrees.
        lat2: Latitude of the second point(s), degrees.

    Returns:
        A float for scalar inputs, else a float64 array.
    """
    phi1 = np.radians(np.asarray(lat1, dtype=np.float64))
    phi2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dphi = phi2 - phi1
    dlmb = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    h = np.sin(dphi / 2.0) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2.0) ** 2
    d = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return float(d) if np.ndim(d) == 0 else d


def local_xy_m(lons: Any, lats: Any, lon0: float, lat0: float) -> tuple[Any, Any]:
    """Project lon/lat to a local equirectangular plane in metres centred on (lon0, lat0).

    ``x = (lon - lon0) * cos(lat0) * M``, ``y = (lat - lat0) * M`` with
    ``M = METRES_PER_DEGREE``. Accurate to ~1 % within ±1° of latitude around ``lat0``.

    Args:
        lons: Longitudes (scalar or array).
        lats: Latitudes (scalar or array).
        lon0: Origin longitude.
        lat0: Origin latitude (sets the x scale).

    Returns:
        ``(x, y)`` in metres.
    """
    kx = METRES_PER_DEGREE * math.cos(math.radians(lat0))
    return (np.asarray(lons) - lon0) * kx, (np.asarray(lats) - lat0) * METRES_PER_DEGREE


def local_lonlat(xs: Any, ys: Any, lon0: float, lat0: float) -> tuple[Any, Any]:
    """Inverse of :func:`local_xy_m`.

    Args:
        xs: Easting in metres.
        ys: Northing in metres.
        lon0: Origin longitude.
        lat0: Origin latitude.

    Returns:
        ``(lons, lats)`` in degrees.
    """
    kx = METRES_PER_DEGREE * math.cos(math.radians(lat0))
    return np.asarray(xs) / kx + lon0, np.asarray(ys) / METRES_PER_DEGREE + lat0


def _project_geometry(geom: BaseGeometry, lon0: float, lat0: float) -> BaseGeometry:
    """Apply :func:`local_xy_m` to every vertex of ``geom``."""

    def _fn(coords: FloatArray) -> FloatArray:
        x, y = local_xy_m(coords[:, 0], coords[:, 1], lon0, lat0)
        return np.column_stack([x, y])

    return shapely.transform(geom, _fn)


# --------------------------------------------------------------------------- data classes


@dataclass(frozen=True)
class Region:
    """An administrative region with a WGS-84 (multi)polygon.

    Attributes:
        code: Administrative division code as given by the source (e.g. ``"431202"``).
        name: Chinese name (e.g. ``"鹤城区"``).
        geometry: Shapely Polygon or MultiPolygon in WGS-84 lon/lat.
    """

    code: str
    name: str
    geometry: BaseGeometry


@dataclass(frozen=True)
class Containment:
    """Result of checking that a point lies in the region it claims.

    Attributes:
        inside: The point is inside the region or on its border.
        distance_m: 0.0 when inside, else metres from the point to the region's boundary.
        accepted: Inside, or outside by at most the tolerance.
        warning: None when inside; a bilingual (Chinese / English) message stating the
            distance in whole metres otherwise (also for refused points, explaining why).
    """

    inside: bool
    distance_m: float
    accepted: bool
    warning: str | None


def _format_m(value: float) -> str:
    return f"{value:.0f}"


def _containment(region: Region, distance: float, tolerance_m: float) -> Containment:
    """Build the :class:`Containment` for a point ``distance`` metres outside ``region``."""
    if distance <= 0.0:
        return Containment(inside=True, distance_m=0.0, accepted=True, warning=None)
    d, tol = _format_m(distance), _format_m(tolerance_m)
    where = f"{region.name}（{region.code}）"
    where_en = f"{region.name} ({region.code})"
    if distance <= tolerance_m:
        warning = (
            f"坐标位于{where}边界外约 {d} 米，在 {tol} 米容差内，已接受，请核实。"
            f" / The point is about {d} m outside the boundary of {where_en}, within the"
            f" {tol} m tolerance; accepted, please double-check."
        )
        return Containment(inside=False, distance_m=distance, accepted=True, warning=warning)
    warning = (
        f"坐标位于{where}边界外约 {d} 米，超出 {tol} 米容差，不予接受。"
        f" / The point is about {d} m outside the boundary of {where_en}, beyond the"
        f" {tol} m tolerance; rejected."
    )
    return Containment(inside=False, distance_m=distance, accepted=False, warning=warning)


# --------------------------------------------------------------------------- index


class _BoxGrid:
    """Regions' bounding boxes bucketed in a uniform grid: candidate (point, region) pairs
    for many points by array arithmetic (no geometries), the pairs whose box holds the point.
    """

    CELLS = 64  # per side: a Hunan county box spans a few cells

    def __init__(self, boxes: FloatArray) -> None:
        self.boxes = boxes
        self.x0, self.y0 = float(boxes[:, 0].min()), float(boxes[:, 1].min())
        width = max(float(boxes[:, 2].max()) - self.x0, 1e-9)
        height = max(float(boxes[:, 3].max()) - self.y0, 1e-9)
        self.dx, self.dy = width / self.CELLS, height / self.CELLS
        ix0, iy0 = self._cell(boxes[:, 0], boxes[:, 1])
        ix1, iy1 = self._cell(boxes[:, 2], boxes[:, 3])
        cells: list[list[int]] = [[] for _ in range(self.CELLS * self.CELLS)]
        for r in range(len(boxes)):
            for iy in range(iy0[r], iy1[r] + 1):
                for ix in range(ix0[r], ix1[r] + 1):
                    cells[iy * self.CELLS + ix].append(r)
        counts = np.array([len(c) for c in cells], dtype=np.int64)
        self.start = np.concatenate([[0], np.cumsum(counts)])
        self.regions = np.array([r for c in cells for r in c], dtype=np.int64)

    def _cell(self, xs: FloatArray, ys: FloatArray) -> tuple[npt.NDArray[np.int64], ...]:
        last = self.CELLS - 1
        ix = np.clip(((xs - self.x0) / self.dx).astype(np.int64), 0, last)
        iy = np.clip(((ys - self.y0) / self.dy).astype(np.int64), 0, last)
        return ix, iy

    def candidates(
        self, xs: FloatArray, ys: FloatArray
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """``(point_idx, region_idx)`` of every point inside a region's bounding box."""
        finite = np.isfinite(xs) & np.isfinite(ys)
        xs_f = np.where(finite, xs, self.x0 - 1.0)
        ys_f = np.where(finite, ys, self.y0 - 1.0)
        ix, iy = self._cell(xs_f, ys_f)
        cell = iy * self.CELLS + ix
        counts = self.start[cell + 1] - self.start[cell]
        counts[~finite] = 0
        point_idx = np.repeat(np.arange(xs.size, dtype=np.int64), counts)
        # Position of each pair in self.regions: its cell's start plus its rank in the cell.
        offsets = np.repeat(self.start[cell] - (np.cumsum(counts) - counts), counts)
        region_idx = self.regions[offsets + np.arange(point_idx.size, dtype=np.int64)]
        box = self.boxes[region_idx]
        px, py = xs_f[point_idx], ys_f[point_idx]
        inside = (px >= box[:, 0]) & (px <= box[:, 2]) & (py >= box[:, 1]) & (py <= box[:, 3])
        return point_idx[inside], region_idx[inside]


class BoundaryIndex:
    """Spatial index over a set of :class:`Region` objects (built once, then read-only).

    Holds an ``STRtree`` of the region geometries, prepared geometries for fast
    point-in-polygon tests and, per region, a copy projected to a local metric plane
    (:func:`local_xy_m` centred on the region) whose boundary segments get their own
    ``STRtree`` (built on first use) for distances.

    When regions overlap or a point lies exactly on a shared border, the region with the
    smallest code wins, so results are deterministic.
    """

    def __init__(self, regions: Iterable[Region]) -> None:
        """Build the index.

        Args:
            regions: Regions with unique codes and WGS-84 geometries.

        Raises:
            ValueError: On duplicate codes or empty / missing geometries.
        """
        regs = list(regions)
        self._by_code: dict[str, int] = {}
        for i, reg in enumerate(regs):
            if reg.code in self._by_code:
                raise ValueError(f"duplicate region code {reg.code!r}")
            if reg.geometry is None or reg.geometry.is_empty:
                raise ValueError(f"region {reg.code!r} has an empty geometry")
            self._by_code[reg.code] = i
        self._regions: tuple[Region, ...] = tuple(regs)
        # rank[i] = position of region i when sorted by code (tie-break: smallest code wins).
        order = sorted(range(len(regs)), key=lambda i: regs[i].code)
        self._rank = np.empty(len(regs), dtype=np.int64)
        self._rank[order] = np.arange(len(regs))
        # _code_by_rank[rank] = code; the extra last slot (rank == len) means "no region".
        self._code_by_rank = np.array([regs[i].code for i in order] + [None], dtype=object)

        self._geoms = np.array([r.geometry for r in regs], dtype=object)
        shapely.prepare(self._geoms)
        self._tree = shapely.STRtree(self._geoms)
        self._grid = _BoxGrid(shapely.bounds(self._geoms)) if regs else None

        # Local metric frames (origin at each region's bounding-box centre).
        self._origins: list[tuple[float, float]] = []
        projected = []
        for reg in regs:
            minx, miny, maxx, maxy = reg.geometry.bounds
            lon0, lat0 = (minx + maxx) / 2.0, (miny + maxy) / 2.0
            self._origins.append((lon0, lat0))
            projected.append(_project_geometry(reg.geometry, lon0, lat0))
        self._projected = np.array(projected, dtype=object)
        self._segment_trees: dict[int, tuple[npt.NDArray[np.object_], shapely.STRtree]] = {}

    # ------------------------------------------------------------------ container protocol

    @property
    def regions(self) -> tuple[Region, ...]:
        """The indexed regions, in construction order."""
        return self._regions

    @property
    def tree(self) -> shapely.STRtree:
        """The underlying ``STRtree`` (items are positions in :attr:`regions`)."""
        return self._tree

    def __len__(self) -> int:
        return len(self._regions)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Region:
        """Return the region with ``code``.

        Args:
            code: Region code.

        Returns:
            The region.

        Raises:
            KeyError: If the code is unknown.
        """
        return self._regions[self._index(code)]

    def _index(self, code: str) -> int:
        try:
            return self._by_code[code]
        except KeyError:
            raise KeyError(f"unknown region code {code!r}") from None

    # ------------------------------------------------------------------ location

    def locate(self, lon: float, lat: float) -> Region | None:
        """Return the region covering the point (border included), or None.

        Args:
            lon: WGS-84 longitude.
            lat: WGS-84 latitude.

        Returns:
            The covering region with the smallest code, or None if no region covers it.
        """
        code = self.locate_many([lon], [lat])[0]
        return None if code is None else self._regions[self._by_code[code]]

    def locate_many(self, lons: npt.ArrayLike, lats: npt.ArrayLike) -> list[str | None]:
        """Locate many points at once.

        A grid of the regions' bounding boxes gives (point, region) candidate pairs by
        bounding box from the coordinates alone (numpy, no point geometries: making 100,000
        shapely points cost more than the rest), then a single vectorised
        ``shapely.intersects_xy`` on the prepared region geometries keeps the pairs whose
        point is inside or on the border. Same relation as
        ``STRtree.query(points, predicate="intersects")``, about 4x faster than it.

        Args:
            lons: WGS-84 longitudes.
            lats: WGS-84 latitudes (same length).

        Returns:
            For each point, the code of the covering region (smallest code on shared borders),
            or None.
        """
        lon_arr = np.asarray(lons, dtype=np.float64).ravel()
        lat_arr = np.asarray(lats, dtype=np.float64).ravel()
        if lon_arr.shape != lat_arr.shape:
            raise ValueError("lons and lats must have the same length")
        n = lon_arr.size
        if n == 0 or len(self._regions) == 0:
            return [None] * n
        assert self._grid is not None
        point_idx, region_idx = self._grid.candidates(lon_arr, lat_arr)
        hit = shapely.intersects_xy(self._geoms[region_idx], lon_arr[point_idx], lat_arr[point_idx])
        point_idx, region_idx = point_idx[hit], region_idx[hit]
        no_hit = len(self._regions)
        best = np.full(n, no_hit, dtype=np.int64)
        np.minimum.at(best, point_idx, self._rank[region_idx])
        return self._code_by_rank[best].tolist()

    # ------------------------------------------------------------------ distances

    def _outside_distances(self, i: int, lons: FloatArray, lats: FloatArray) -> FloatArray:
        """Metres from points (all outside region ``i``) to the region's boundary."""
        if lons.size == 0:
            return np.empty(0, dtype=np.float64)
        lon0, lat0 = self._origins[i]
        xs, ys = local_xy_m(lons, lats, lon0, lat0)
        points = shapely.points(xs, ys)
        segments, tree = self._segment_tree(i)
        point_idx, seg_idx = tree.query_nearest(points, all_matches=False)
        lines = shapely.shortest_line(segments[seg_idx], points[point_idx])
        ends = shapely.get_coordinates(lines).reshape(-1, 2, 2)
        near_lon, near_lat = local_lonlat(ends[:, 0, 0], ends[:, 0, 1], lon0, lat0)
        dist = np.full(lons.shape, np.nan)
        dist[point_idx] = distance_m(lons[point_idx], lats[point_idx], near_lon, near_lat)
        # A point outside is never at distance 0 (guards against rounding on the border).
        return np.maximum(dist, np.finfo(np.float64).tiny)

    def _segment_tree(self, i: int) -> tuple[npt.NDArray[np.object_], shapely.STRtree]:
        """Boundary segments of region ``i`` in its metric frame and their STRtree (cached).

        Finding the nearest segment through a tree is ~4x faster than ``shortest_line`` to a
        polygon with a thousand vertices, which scans every segment.
        """
        cached = self._segment_trees.get(i)
        if cached is None:
            rings = shapely.get_rings(shapely.get_parts(self._projected[i]))
            pairs = []
            for ring in rings:
                coords = shapely.get_coordinates(ring)
                pairs.append(np.stack([coords[:-1], coords[1:]], axis=1))
            segments = shapely.linestrings(np.concatenate(pairs))
            cached = (segments, shapely.STRtree(segments))
            self._segment_trees[i] = cached
        return cached

    def _distances(self, i: int, lons: FloatArray, lats: FloatArray) -> FloatArray:
        """0.0 for points inside/on region ``i``, else metres to its boundary."""
        inside = shapely.intersects_xy(self._geoms[i], lons, lats)
        out = np.zeros(lons.shape, dtype=np.float64)
        outside = ~inside
        out[outside] = self._outside_distances(i, lons[outside], lats[outside])
        return out

    def distance_outside_m(self, code: str, lon: float, lat: float) -> float:
        """Distance from a point to a region, 0.0 if inside or on its border.

        Args:
            code: Region code.
            lon: WGS-84 longitude.
            lat: WGS-84 latitude.

        Returns:
            0.0 inside / on the border, else metres to the region's boundary.

        Raises:
            KeyError: If ``code`` is unknown.
            ValueError: If a coordinate is not finite.
        """
        i = self._index(code)
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise ValueError("coordinates must be finite numbers")
        return float(self._distances(i, np.array([lon], float), np.array([lat], float))[0])

    def check(self, code: str, lon: float, lat: float, tolerance_m: float = 200.0) -> Containment:
        """Check that a point lies in region ``code``, tolerating small boundary errors.

        Args:
            code: Region code the point claims to be in.
            lon: WGS-84 longitude.
            lat: WGS-84 latitude.
            tolerance_m: Maximum accepted distance outside the boundary, metres.

        Returns:
            Inside → accepted without warning; outside within tolerance → accepted with a
            bilingual warning; farther → refused (with a bilingual explanation).

        Raises:
            KeyError: If ``code`` is unknown.
            ValueError: If ``tolerance_m`` is negative or a coordinate is not finite.
        """
        return self.check_many([code], [lon], [lat], tolerance_m)[0]

    def check_many(
        self,
        codes: Sequence[str],
        lons: npt.ArrayLike,
        lats: npt.ArrayLike,
        tolerance_m: float = 200.0,
    ) -> list[Containment]:
        """Vectorised :meth:`check`: points are grouped by code, one array operation per group.

        Args:
            codes: Claimed region code of each point.
            lons: WGS-84 longitudes.
            lats: WGS-84 latitudes.
            tolerance_m: Maximum accepted distance outside the boundary, metres.

        Returns:
            One :class:`Containment` per point, in input order.

        Raises:
            KeyError: If any code is unknown (the message lists them).
            ValueError: If lengths differ, a coordinate is not finite or ``tolerance_m`` is
                negative.
        """
        if tolerance_m < 0:
            raise ValueError("tolerance_m must be >= 0")
        code_list = [str(c) for c in codes]
        lon_arr = np.asarray(lons, dtype=np.float64).ravel()
        lat_arr = np.asarray(lats, dtype=np.float64).ravel()
        if not len(code_list) == lon_arr.size == lat_arr.size:
            raise ValueError("codes, lons and lats must have the same length")
        if not (np.isfinite(lon_arr).all() and np.isfinite(lat_arr).all()):
            raise ValueError("coordinates must be finite numbers")
        unknown = sorted({c for c in code_list if c not in self._by_code})
        if unknown:
            raise KeyError(f"unknown region code(s): {', '.join(unknown)}")
        if not code_list:
            return []
        region_of = np.fromiter((self._by_code[c] for c in code_list), np.int64, len(code_list))
        dist = np.zeros(lon_arr.size, dtype=np.float64)
        for i in np.unique(region_of):
            members = np.flatnonzero(region_of == i)
            dist[members] = self._distances(int(i), lon_arr[members], lat_arr[members])
        return [
            _containment(self._regions[r], float(d), tolerance_m)
            for r, d in zip(region_of.tolist(), dist.tolist(), strict=True)
        ]


# --------------------------------------------------------------------------- loading


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Make ``geom`` valid and keep only its polygonal parts."""
    if shapely.is_valid(geom):
        return geom
    fixed = shapely.make_valid(geom)
    if fixed.geom_type in ("Polygon", "MultiPolygon"):
        return fixed
    parts = [g for g in shapely.get_parts(fixed) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else fixed


def load_regions_geojson(
    path_or_dict: str | PathLike[str] | Mapping[str, Any],
    crs: str = "gcj02",
    level: str | None = None,
) -> list[Region]:
    """Load regions from a GeoJSON FeatureCollection and convert them to WGS-84.

    Args:
        path_or_dict: Path to a UTF-8 GeoJSON file or an already parsed FeatureCollection.
            Feature properties must contain ``code`` and ``name`` (``level`` optional).
        crs: CRS of the file's coordinates (see :data:`geo.crs.CRS_VALUES`).
        level: Keep only features whose ``level`` property equals this (e.g. ``"county"``).

    Returns:
        Regions in file order, geometries in WGS-84 and valid (``make_valid`` if needed).
        Codes are ``str(code)`` as in the file (no padding).

    Raises:
        ValueError: If the document is not a FeatureCollection or a feature lacks code/name
            or geometry, or ``crs`` is unknown.
    """
    if isinstance(path_or_dict, Mapping):
        doc = path_or_dict
    else:
        doc = json.loads(Path(path_or_dict).read_text(encoding="utf-8"))
    if doc.get("type") != "FeatureCollection":
        raise ValueError("expected a GeoJSON FeatureCollection")
    regions: list[Region] = []
    for n, feat in enumerate(doc.get("features") or []):
        props = feat.get("properties") or {}
        if level is not None and props.get("level") != level:
            continue
        if props.get("code") is None or props.get("name") is None:
            raise ValueError(f"feature #{n} lacks a 'code' or 'name' property")
        if not feat.get("geometry"):
            raise ValueError(f"feature #{n} ({props['code']}) has no geometry")
        geom = transform_geometry(shape(feat["geometry"]), crs, "wgs84")
        regions.append(Region(str(props["code"]), str(props["name"]), _polygonal(geom)))
    return regions


# --------------------------------------------------------------------------- misc helpers


def swapped_latlon(lon: float, lat: float) -> bool:
    """Tell whether (lon, lat) looks like a point in China given as (lat, lon).

    Args:
        lon: The value supplied as longitude.
        lat: The value supplied as latitude.

    Returns:
        True when ``(lat, lon)`` is inside China's rectangle while ``(lon, lat)`` is not.
    """
    return out_of_china(lon, lat) and not out_of_china(lat, lon)


def simplify_coverage(geoms: Sequence[BaseGeometry], tolerance_deg: float) -> list[BaseGeometry]:
    """Simplify adjacent polygons so that shared borders stay shared.

    Uses ``shapely.coverage_simplify`` (GEOS ≥ 3.12) when available, else falls back to
    ``simplify(preserve_topology=True)`` per geometry (borders may then drift apart by up to
    the tolerance). Any geometry that comes out invalid is repaired with ``make_valid``.

    Args:
        geoms: Polygons / MultiPolygons forming a coverage (no overlaps).
        tolerance_deg: Simplification tolerance in degrees.

    Returns:
        Simplified valid geometries, in input order.
    """
    arr = np.array(list(geoms), dtype=object)
    if arr.size == 0:
        return []
    if hasattr(shapely, "coverage_simplify"):
        out = shapely.coverage_simplify(arr, tolerance_deg)
    else:  # pragma: no cover - shapely < 2.1
        out = shapely.simplify(arr, tolerance_deg, preserve_topology=True)
    return [_polygonal(g) for g in out]


def apparent_datum(
    geom: BaseGeometry, reference: BaseGeometry, datums: Sequence[str] = ("gcj02", "bd09")
) -> str | None:
    """The datum an outline said to be WGS-84 seems really to be in, judged against a WGS-84
    outline of the same place: the datum whose conversion to WGS-84 brings its centroid within
    100 m of the reference's when it is more than 100 m away as given (a GCJ-02 outline sits
    ~500 m off around 怀化). None when the outline already matches, or nothing explains it."""
    given, ref = geom.centroid, reference.centroid
    off = float(distance_m(given.x, given.y, ref.x, ref.y))
    if off <= 100.0:
        return None
    for datum in datums:
        moved = transform_geometry(geom, datum, "wgs84").centroid
        if float(distance_m(moved.x, moved.y, ref.x, ref.y)) <= min(100.0, off / 3):
            return datum
    return None
