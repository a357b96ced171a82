"""Pure geometry helpers: CRS conversion, administrative boundaries and RFC 7946 GeoJSON.

Depends only on the standard library, numpy, shapely and geojson.
"""

from __future__ import annotations

from geo.boundaries import (
    BoundaryIndex,
    Containment,
    Region,
    distance_m,
    load_regions_geojson,
    simplify_coverage,
    swapped_latlon,
)
from geo.crs import (
    CRS_VALUES,
    from_wgs84,
    from_wgs84_arrays,
    out_of_china,
    to_wgs84,
    to_wgs84_arrays,
    transform_geometry,
)
from geo.geojson_io import (
    GeometryError,
    feature,
    feature_collection,
    geometry_to_geojson,
    parse_geometry,
    validate,
)

__all__ = [
    "CRS_VALUES",
    "BoundaryIndex",
    "Containment",
    "GeometryError",
    "Region",
    "distance_m",
    "feature",
    "feature_collection",
    "from_wgs84",
    "from_wgs84_arrays",
    "geometry_to_geojson",
    "load_regions_geojson",
    "out_of_china",
    "parse_geometry",
    "simplify_coverage",
    "swapped_latlon",
    "to_wgs84",
    "to_wgs84_arrays",
    "transform_geometry",
    "validate",
]
