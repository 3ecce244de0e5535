from django.contrib import admin

from wangge.core.admin import ScopedAdmin

from .models import Meeting, Resolution


class ResolutionInline(admin.TabularInline):
    model = Resolution
    fields = ["text", "responsible_unit", "responsible_department", "due_on", "status", "case"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Meeting)
class MeetingAdmin(ScopedAdmin):
    """Meetings are read here; they are recorded and corrected on the meeting pages, by the services."""

    list_display = ["held_on", "kind", "unit", "chaired_by", "recorded_by"]
    list_filter = ["kind"]
    search_fields = ["unit__name", "unit__code", "minutes"]
    date_hierarchy = "held_on"
    list_select_related = ["unit", "chaired_by", "recorded_by"]
    inlines = [ResolutionInline]
    exclude = ["attendees"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Resolution)
class ResolutionAdmin(ScopedAdmin):
    list_display = ["__str__", "meeting", "responsible_unit", "responsible_department", "due_on", "status"]
    list_filter = ["status"]
    list_select_related = ["meeting__unit", "responsible_unit", "responsible_department"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
