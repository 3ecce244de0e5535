from rest_framework.renderers import JSONRenderer


class GeoJSONRenderer(JSONRenderer):
    """JSON served as `application/geo+json` (RFC 7946), so map clients and GIS tools recognise it."""

    media_type = "application/geo+json"
    format = "geojson"
