from django.conf import settings


def wangge(request):
    return {
        "tile_url": settings.WANGGE_TILE_URL,
        "tile_attribution": settings.WANGGE_TILE_ATTRIBUTION,
    }
