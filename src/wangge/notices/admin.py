from django.contrib import admin

from wangge.core.admin import can
from wangge.people.roles import Capability

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only, for system administrators checking who was told what and when (and whether they read it).

    Notifications are written by the services and read by their recipient; nobody edits them here.
    """

    list_display = ["created_at", "recipient", "kind", "title", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["recipient__username", "recipient__full_name", "title"]
    date_hierarchy = "created_at"
    list_select_related = ["recipient"]
    raw_id_fields = ["recipient", "case"]

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
