"""Geometry helpers: GeoJSON in, shapely out, areas in square metres.

Boundaries are stored as GeoJSON in WGS 84 (longitude, latitude). Areas and tolerances are computed on
a local equirectangular projection around the shape, which is accurate to well under 1% at county size.
"""

from __future__ import annotations

import json
import math

import shapely
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from shapely.geometry import shape

METRES_PER_DEGREE_LAT = 110_574.0
METRES_PER_DEGREE_LNG_AT_EQUATOR = 111_320.0
POLYGON_TYPES = {"Polygon", "MultiPolygon"}


def to_shape(geojson: dict | None):
    if not geojson:
        return None
    return shape(geojson)


def to_geojson(geom) -> dict | None:
    if geom is None or geom.is_empty:
        return None
    return json.loads(shapely.to_geojson(geom))


def parse_boundary(geojson, field: str = "geometry"):
    """Validate a GeoJSON boundary from a user; returns the shapely geometry or raises a field error."""
    if geojson in (None, "", {}):
        return None
    if isinstance(geojson, dict) and geojson.get("type") == "Feature":
        geojson = geojson.get("geometry")
    if not isinstance(geojson, dict) or geojson.get("type") not in POLYGON_TYPES:
        raise ValidationError({field: _("A boundary must be a GeoJSON Polygon or MultiPolygon.")})
    try:
        geom = shape(geojson)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ValidationError(
            {field: _("The boundary is not valid GeoJSON: %(error)s") % {"error": exc}}
        ) from exc
    if geom.is_empty:
        raise ValidationError({field: _("The boundary is empty.")})
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValidationError({field: _("Coordinates must be longitude, latitude in degrees (WGS 84).")})
    if not geom.is_valid:
        raise ValidationError(
            {field: _("The boundary crosses itself: %(reason)s") % {"reason": shapely.is_valid_reason(geom)}}
        )
    return geom


def square_metres_per_square_degree(lat: float) -> float:
    return METRES_PER_DEGREE_LAT * METRES_PER_DEGREE_LNG_AT_EQUATOR * math.cos(math.radians(lat))


def area_m2(geom) -> float:
    if geom is None or geom.is_empty:
        return 0.0
    lat = (geom.bounds[1] + geom.bounds[3]) / 2
    return geom.area * square_metres_per_square_degree(lat)


def centroid(geom) -> tuple[float, float] | tuple[None, None]:
    if geom is None or geom.is_empty:
        return None, None
    point = geom.representative_point() if not geom.centroid.within(geom) else geom.centroid
    return round(point.x, 7), round(point.y, 7)


def reading_order_key(lng: float | None, lat: float | None) -> tuple:
    """Order for generated codes: north to south in bands, west to east within a band (GRID-5)."""
    if lng is None or lat is None:
        return (1, 0, 0)
    band = round(-lat, 2)  # ~1 km bands, north first
    return (0, band, lng)
