from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission


class HasActivePost(BasePermission):
    """Signed-in users with at least one active post; everyone else is refused (401/403)."""

    message = _("You hold no active post, so there is nothing you may see.")

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and not user.scope.is_empty)
