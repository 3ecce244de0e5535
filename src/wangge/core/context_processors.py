from django.conf import settings

from wangge.people.roles import Capability


def wangge(request):
    user = getattr(request, "user", None)
    return {
        "tile_url": settings.WANGGE_TILE_URL,
        "tile_attribution": settings.WANGGE_TILE_ATTRIBUTION,
        "can_use_admin": bool(user and user.is_authenticated and user.has_capability(Capability.USE_ADMIN)),
        "nav_can_view_ledgers": bool(
            user and user.is_authenticated and user.has_capability(Capability.VIEW_LEDGERS)
        ),
    }
