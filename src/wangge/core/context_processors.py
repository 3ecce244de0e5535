from django.conf import settings

from wangge.people.roles import GRID_ROLES, Capability


def wangge(request):
    user = getattr(request, "user", None)
    return {
        "tile_url": settings.WANGGE_TILE_URL,
        "tile_attribution": settings.WANGGE_TILE_ATTRIBUTION,
        "can_use_admin": bool(user and user.is_authenticated and user.has_capability(Capability.USE_ADMIN)),
        # A grid post writes the daily work log; any territorial post reads the logs in its area.
        "nav_writes_work_log": bool(
            user and user.is_authenticated and (user.scope.roles & GRID_ROLES or user.scope.is_global)
        ),
        "nav_reads_work_logs": bool(
            user and user.is_authenticated and (user.scope.territorial_paths or user.scope.is_global)
        ),
        "nav_manages_staff": bool(
            user and user.is_authenticated and user.has_capability(Capability.MANAGE_STAFF)
        ),
        "nav_views_dashboard": bool(
            user and user.is_authenticated and user.has_capability(Capability.VIEW_DASHBOARD)
        ),
        "nav_can_view_ledgers": bool(
            user and user.is_authenticated and user.has_capability(Capability.VIEW_LEDGERS)
        ),
    }
