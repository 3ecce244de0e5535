"""The administration site, restricted the same way as every other route.

Access needs the `use_admin` capability (a manager's post), not Django's is_staff; each model admin
lists only what `.visible_to(user)` returns, and an object outside the scope answers 404.
"""

from django.contrib import admin
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from wangge.people.roles import Capability

from .models import ChangeLog, PersonalDataAccess


def can(request, capability: str) -> bool:
    """Anonymous visitors (the admin's own login page) have no capabilities."""
    return request.user.is_authenticated and request.user.has_capability(capability)


class WanggeAdminSite(admin.AdminSite):
    site_header = _("Wangge administration")
    site_title = _("Wangge")
    index_title = _("Configuration and records")

    def has_permission(self, request):
        user = request.user
        return user.is_active and can(request, Capability.USE_ADMIN)


class ScopedAdmin(admin.ModelAdmin):
    """Base of every model admin: scope on the queryset, capabilities instead of Django's model perms."""

    view_capability = Capability.USE_ADMIN
    change_capability = Capability.MANAGE_UNITS
    allow_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404  # out of scope and missing look the same
        return obj

    def has_module_permission(self, request):
        return can(request, self.view_capability)

    def has_view_permission(self, request, obj=None):
        return can(request, self.view_capability)

    def has_add_permission(self, request):
        return can(request, self.change_capability)

    def has_change_permission(self, request, obj=None):
        return can(request, self.change_capability)

    def has_delete_permission(self, request, obj=None):
        return self.allow_delete and can(request, self.change_capability)


class ConfigurationAdmin(admin.ModelAdmin):
    """Deployment-wide configuration (levels, standards): system administrators only."""

    def has_module_permission(self, request):
        return can(request, Capability.CONFIGURE)

    def has_view_permission(self, request, obj=None):
        return can(request, Capability.CONFIGURE)

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission


@admin.register(ChangeLog)
class ChangeLogAdmin(admin.ModelAdmin):
    list_display = ["time", "action", "object_repr", "user", "acting_unit"]
    list_filter = ["action", "content_type"]
    search_fields = ["object_repr", "object_id", "request_id"]
    date_hierarchy = "time"

    def has_module_permission(self, request):
        return can(request, Capability.CONFIGURE)

    def has_view_permission(self, request, obj=None):
        return can(request, Capability.CONFIGURE)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ChangeLogAdmin):
    """Who saw or exported personal data unmasked: read-only, for system administrators."""

    list_display = ["time", "purpose", "object_repr", "fields", "user", "acting_unit"]
    list_filter = ["purpose", "content_type"]
    search_fields = ["object_repr", "object_id", "request_id", "user__username"]
