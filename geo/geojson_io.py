"""RFC 7946 GeoJSON output, validation and parsing for shapely geometries.

Output follows RFC 7946: WGS-84 longitude/latitude only, no ``crs`` member, polygon exterior
rings counter-clockwise and holes clockwise, coordinates rounded to 6 decimals (~0.1 m).
Validation collects every problem it finds (with a JSON path) instead of stopping at the first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, TypeGuard

import geojson
import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

__all__ = [
    "GEOMETRY_TYPES",
    "GeometryError",
    "feature",
    "feature_collection",
    "geometry_to_geojson",
    "parse_geometry",
    "round_coords",
    "validate",
]

# Geometry type → number of array levels above a position in ``coordinates``.
_POSITION_DEPTH = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}
GEOMETRY_TYPES: tuple[str, ...] = (*_POSITION_DEPTH, "GeometryCollection")
"""The seven RFC 7946 geometry types."""

_OBJECT_TYPES = (*GEOMETRY_TYPES, "Feature", "FeatureCollection")
_MAX_MESSAGE = 200


class GeometryError(ValueError):
    """Invalid GeoJSON geometry; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        """Create the error.

        Args:
            problems: Human-readable problem descriptions (at least one).
        """
        self.problems = list(problems)
        super().__init__("invalid GeoJSON geometry: " + "; ".join(self.problems))


# --------------------------------------------------------------------------- output


def round_coords(geom: BaseGeometry, ndigits: int = 6) -> BaseGeometry:
    """Round every coordinate of ``geom`` to ``ndigits`` decimals (structure unchanged).

    Args:
        geom: Any shapely geometry.
        ndigits: Decimals to keep (6 ≈ 0.1 m).

    Returns:
        A new geometry with rounded coordinates (``-0.0`` normalised to ``0.0``).
    """

    def _round(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.round(coords, ndigits) + 0.0

    return shapely.transform(geom, _round, include_z=None)


def _orient(geom: BaseGeometry) -> BaseGeometry:
    """Orient polygon exteriors counter-clockwise and holes clockwise."""
    if hasattr(shapely, "orient_polygons"):
        return shapely.orient_polygons(geom, exterior_cw=False)
    # shapely < 2.1
    from shapely.geometry.polygon import orient

    if geom.geom_type == "Polygon":
        return orient(geom, 1.0)
    if geom.geom_type == "MultiPolygon":
        return shapely.multipolygons([orient(p, 1.0) for p in geom.geoms])
    if geom.geom_type == "GeometryCollection":
        return shapely.geometrycollections([_orient(g) for g in geom.geoms])
    return geom


def _listify(value: Any) -> Any:
    """Turn the nested tuples of ``shapely.geometry.mapping`` into lists."""
    if isinstance(value, tuple | list):
        return [_listify(v) for v in value]
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    return value


def geometry_to_geojson(geom: BaseGeometry, ndigits: int = 6) -> dict[str, Any]:
    """Serialise a WGS-84 shapely geometry as an RFC 7946 geometry object.

    Args:
        geom: Shapely geometry in WGS-84 lon/lat.
        ndigits: Decimals to keep.

    Returns:
        A JSON-ready dict (lists, floats) with CCW exteriors, CW holes and no ``crs`` member.

    Raises:
        ValueError: If a coordinate is not finite or outside the WGS-84 lon/lat range.
    """
    coords = shapely.get_coordinates(geom)
    if coords.size:
        if not np.isfinite(coords).all():
            raise ValueError("geometry has non-finite coordinates")
        if (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
            raise ValueError("geometry is not in WGS-84 lon/lat (coordinates out of range)")
    return _listify(mapping(_orient(round_coords(geom, ndigits))))


def feature(
    geom: BaseGeometry | Mapping[str, Any] | None,
    properties: Mapping[str, Any] | None,
    id: str | int | None = None,
    ndigits: int = 6,
) -> dict[str, Any]:
    """Build an RFC 7946 Feature.

    Args:
        geom: WGS-84 shapely geometry, an already-serialised RFC 7946 geometry dict (used
            as is), or None for an unlocated feature.
        properties: Feature properties (None allowed).
        id: Optional feature identifier (omitted when None).
        ndigits: Decimals to keep in coordinates.

    Returns:
        A JSON-ready Feature dict.
    """
    out: dict[str, Any] = {"type": "Feature"}
    if id is not None:
        out["id"] = id
    if geom is None or isinstance(geom, Mapping):
        out["geometry"] = None if geom is None else dict(geom)
    else:
        out["geometry"] = geometry_to_geojson(geom, ndigits)
    out["properties"] = None if properties is None else dict(properties)
    return out


def point_feature(
    lon: float,
    lat: float,
    properties: Mapping[str, Any] | None,
    id: str | int | None = None,
    ndigits: int = 6,
) -> dict[str, Any]:
    """A Point Feature built without shapely (fast for tens of thousands of sites)."""
    out: dict[str, Any] = {"type": "Feature"}
    if id is not None:
        out["id"] = id
    out["geometry"] = {"type": "Point", "coordinates": [round(lon, ndigits), round(lat, ndigits)]}
    out["properties"] = None if properties is None else dict(properties)
    return out


def feature_collection(
    features: Iterable[Mapping[str, Any]], /, **foreign_members: Any
) -> dict[str, Any]:
    """Build an RFC 7946 FeatureCollection.

    Args:
        features: Feature dicts (e.g. from :func:`feature`).
        **foreign_members: Extra top-level members (e.g. ``name="..."``); ``crs``, ``type``
            and ``features`` are not allowed.

    Returns:
        A JSON-ready FeatureCollection dict.

    Raises:
        ValueError: If a forbidden member name is given.
    """
    forbidden = {"crs", "type", "features"} & set(foreign_members)
    if forbidden:
        raise ValueError(f"forbidden FeatureCollection member(s): {', '.join(sorted(forbidden))}")
    return {"type": "FeatureCollection", "features": list(features), **foreign_members}


# --------------------------------------------------------------------------- validation


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Checker:
    """Collects problems while walking a GeoJSON object."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self._out_of_range: list[tuple[str, Any]] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    # -- positions and coordinate arrays; each returns True when structurally sound

    def position(self, pos: Any, path: str) -> bool:
        if not isinstance(pos, list | tuple):
            self.add(path, f"a position must be an array of numbers, got {_short(pos)}")
            return False
        if not 2 <= len(pos) <= 3:
            self.add(path, f"a position must have 2 or 3 numbers, got {len(pos)}")
            return False
        if not all(_is_number(v) and math.isfinite(v) for v in pos):
            self.add(path, f"position values must be finite numbers, got {_short(pos)}")
            return False
        if not (-180.0 <= pos[0] <= 180.0 and -90.0 <= pos[1] <= 90.0):
            self._out_of_range.append((path, pos))
        return True

    def array(self, value: Any, path: str, what: str) -> TypeGuard[list[Any] | tuple[Any, ...]]:
        if not isinstance(value, list | tuple):
            self.add(path, f"{what} must be an array, got {_short(value)}")
            return False
        return True

    def positions(self, value: Any, path: str, minimum: int, what: str) -> bool:
        if not self.array(value, path, what):
            return False
        ok = all([self.position(p, f"{path}[{i}]") for i, p in enumerate(value)])
        if len(value) < minimum:
            self.add(path, f"{what} has {len(value)} positions, needs at least {minimum}")
            ok = False
        return ok

    def ring(self, value: Any, path: str) -> bool:
        ok = self.positions(value, path, 4, "a linear ring")
        if ok and list(value[0]) != list(value[-1]):
            self.add(
                path,
                f"linear ring is not closed (first position {_short(list(value[0]))}"
                f" differs from last {_short(list(value[-1]))})",
            )
            ok = False
        return ok

    def polygon(self, value: Any, path: str) -> bool:
        if not self.array(value, path, "polygon coordinates"):
            return False
        return all([self.ring(r, f"{path}[{i}]") for i, r in enumerate(value)])

    def coordinates(self, gtype: str, value: Any, path: str) -> bool:
        if gtype not in ("Point", "LineString") and isinstance(value, list | tuple) and not value:
            return True  # RFC 7946 §3.1: empty coordinates may be read as a null geometry
        if gtype == "Point":
            return self.position(value, path)
        if gtype == "MultiPoint":
            return self.positions(value, path, 0, "MultiPoint coordinates")
        if gtype == "LineString":
            return self.positions(value, path, 2, "a LineString")
        if gtype == "MultiLineString":
            if not self.array(value, path, "MultiLineString coordinates"):
                return False
            return all(
                [self.positions(v, f"{path}[{i}]", 2, "a LineString") for i, v in enumerate(value)]
            )
        if gtype == "Polygon":
            return self.polygon(value, path)
        # MultiPolygon
        if not self.array(value, path, "MultiPolygon coordinates"):
            return False
        return all([self.polygon(v, f"{path}[{i}]") for i, v in enumerate(value)])

    # -- objects

    def check_crs(self, obj: Mapping[str, Any], path: str) -> None:
        if "crs" in obj:
            self.add(path, "RFC 7946 removed the 'crs' member; coordinates must be WGS-84")

    def geometry(self, obj: Any, path: str) -> None:
        if not isinstance(obj, Mapping):
            self.add(path, f"a geometry must be a JSON object, got {_short(obj)}")
            return
        gtype = obj.get("type")
        if gtype not in GEOMETRY_TYPES:
            self.add(
                path,
                f"unknown geometry type {_short(gtype)}; expected one of "
                + ", ".join(GEOMETRY_TYPES),
            )
            return
        self.check_crs(obj, path)
        if gtype == "GeometryCollection":
            geoms = obj.get("geometries")
            if self.array(geoms, f"{path}.geometries", "'geometries'"):
                for i, g in enumerate(geoms):
                    self.geometry(g, f"{path}.geometries[{i}]")
            return
        if "coordinates" not in obj:
            self.add(path, f"a {gtype} needs a 'coordinates' member")
            return
        coords = obj["coordinates"]
        cpath = f"{path}.coordinates"
        before = len(self._out_of_range)
        if gtype == "MultiPolygon" and isinstance(coords, list | tuple) and coords:
            # Check polygons one by one so that a broken part does not hide another's problem.
            parts_valid = True
            for i, part in enumerate(coords):
                part_path = f"{cpath}[{i}]"
                part_ok = self.polygon(part, part_path)
                part_ok = part_ok and self.shapely_validity("Polygon", part, part_path)
                parts_valid = parts_valid and part_ok
            self._flush_range(path, before)
            if parts_valid:  # parts fine on their own: check how they fit together
                self.shapely_validity(gtype, coords, path)
            return
        ok = self.coordinates(gtype, coords, cpath)
        self._flush_range(path, before)
        if ok:
            self.shapely_validity(gtype, coords, path)

    def _flush_range(self, path: str, before: int) -> None:
        bad = self._out_of_range[before:]
        del self._out_of_range[before:]
        if bad:
            first_path, first = bad[0]
            self.add(
                path,
                f"{len(bad)} position(s) outside the WGS-84 range (longitude -180..180,"
                f" latitude -90..90), first {_short(list(first))} at {first_path}"
                " (projected coordinates, or latitude and longitude swapped?)",
            )

    def shapely_validity(self, gtype: str, coords: Any, path: str) -> bool:
        try:
            geom = shape({"type": gtype, "coordinates": coords})
        except Exception as exc:  # report, do not raise
            self.add(path, f"cannot build {gtype}: {exc}")
            return False
        if shapely.is_valid(geom):
            return True
        self.add(path, f"invalid {gtype}: {shapely.is_valid_reason(geom)}")
        return False

    def feature(self, obj: Mapping[str, Any], path: str) -> None:
        self.check_crs(obj, path)
        if "geometry" not in obj:
            self.add(path, "a Feature needs a 'geometry' member (null allowed)")
        elif obj["geometry"] is not None:
            self.geometry(obj["geometry"], f"{path}.geometry")
        props = obj.get("properties")
        if props is not None and not isinstance(props, Mapping):
            self.add(f"{path}.properties", "properties must be a JSON object or null")
        fid = obj.get("id")
        if fid is not None and not (isinstance(fid, str) or _is_number(fid)):
            self.add(f"{path}.id", "id must be a string or a number")

    def any(self, obj: Any, path: str) -> None:
        if not isinstance(obj, Mapping):
            self.add(path, f"a GeoJSON object must be a JSON object, got {type(obj).__name__}")
            return
        otype = obj.get("type")
        if otype == "Feature":
            self.feature(obj, path)
        elif otype == "FeatureCollection":
            self.check_crs(obj, path)
            feats = obj.get("features")
            if self.array(feats, f"{path}.features", "'features'"):
                for i, f in enumerate(feats):
                    if isinstance(f, Mapping) and f.get("type") == "Feature":
                        self.feature(f, f"{path}.features[{i}]")
                    else:
                        self.add(f"{path}.features[{i}]", "expected a Feature object")
        elif otype in GEOMETRY_TYPES:
            self.geometry(obj, path)
        else:
            self.add(
                path,
                f"unknown GeoJSON type {_short(otype)}; expected one of "
                + ", ".join(_OBJECT_TYPES),
            )


def _geojson_package_problems(obj: Mapping[str, Any]) -> list[str]:
    """Problems reported by the ``geojson`` package (used as a cross-check)."""
    try:
        instance = geojson.GeoJSON.to_instance(obj, strict=True)
    except Exception as exc:  # the geojson package raises assorted exception types
        errors: Any = str(exc)
    else:
        try:
            if instance.is_valid:
                return []
            errors = instance.errors()
        except Exception:  # package limitation (e.g. GeometryCollection in geojson 3.x)
            return []
    if not errors:
        return []
    if isinstance(errors, str):
        errors = [errors]
    flat: list[str] = []
    for err in errors:
        text = str(err)
        text = text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."
        if text and f"geojson: {text}" not in flat:
            flat.append(f"geojson: {text}")
    return flat


def validate(obj: Any) -> list[str]:
    """Check a GeoJSON object (geometry, Feature or FeatureCollection) against RFC 7946.

    Checks: known ``type``; coordinate nesting; positions of 2–3 finite numbers inside the
    WGS-84 lon/lat range; LineStrings ≥ 2 and linear rings ≥ 4 positions; rings closed; no
    ``crs`` member; shapely validity (``shapely.is_valid_reason``, e.g. self-intersections) of
    every structurally sound geometry, per polygon for MultiPolygons. If this finds nothing,
    the ``geojson`` package's own validation (``GeoJSON.to_instance(...).errors()``) is run as
    a cross-check so its findings are never silently lost.

    Args:
        obj: Parsed JSON.

    Returns:
        Problem descriptions prefixed with a JSON path (``$`` is the root); empty when valid.
    """
    checker = _Checker()
    checker.any(obj, "$")
    if checker.problems:
        return checker.problems
    return _geojson_package_problems(obj)


def parse_geometry(obj: Any) -> BaseGeometry:
    """Validate a GeoJSON geometry (or a Feature's geometry) and return it as shapely.

    Args:
        obj: Parsed GeoJSON geometry object, or a Feature with a non-null geometry.

    Returns:
        The shapely geometry (coordinates as given, WGS-84).

    Raises:
        GeometryError: Once, listing every problem found.
    """
    if isinstance(obj, Mapping) and obj.get("type") == "Feature":
        problems = validate(obj)
        if not problems and obj.get("geometry") is None:
            problems = ["$.geometry: the Feature has no geometry"]
        if problems:
            raise GeometryError(problems)
        return shape(obj["geometry"])
    if isinstance(obj, Mapping) and obj.get("type") == "FeatureCollection":
        raise GeometryError(["$: expected a GeoJSON geometry or Feature, got FeatureCollection"])
    problems = validate(obj)
    if problems:
        raise GeometryError(problems)
    return shape(obj)
