"""Serializer fields shared by the API's resources."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

GEOJSON_BOUNDARY_SCHEMA = {
    "type": "object",
    "description": "GeoJSON Polygon or MultiPolygon, longitude and latitude in WGS 84 (RFC 7946).",
    "properties": {
        "type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
        "coordinates": {"type": "array", "items": {}},
    },
    "required": ["type", "coordinates"],
}


@extend_schema_field(GEOJSON_BOUNDARY_SCHEMA, component_name="GeoJSONBoundary")
class GeoJSONBoundaryField(serializers.JSONField):
    """A boundary as GeoJSON. Input is checked by the domain layer (`units.geometry.parse_boundary`)."""
