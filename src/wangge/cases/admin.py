from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from wangge.core.admin import ConfigurationAdmin, ScopedAdmin

from .models import AdmissionItem, AdmissionRequest, Case, CaseAction, Category, TimeLimit


class TimeLimitInline(admin.TabularInline):
    model = TimeLimit
    extra = 0


@admin.register(Category)
class CategoryAdmin(ConfigurationAdmin):
    list_display = [
        "code",
        "name",
        "parent",
        "default_level",
        "default_department",
        "default_severity",
        "statistics_group",
        "is_active",
    ]
    list_filter = ["default_level", "statistics_group", "is_active", "parent"]
    search_fields = ["code", "name"]
    inlines = [TimeLimitInline]

    def has_delete_permission(self, request, obj=None):
        return False  # cases keep their category; retire a category with "in use" instead


@admin.register(TimeLimit)
class TimeLimitAdmin(ConfigurationAdmin):
    list_display = ["category", "stage", "handler_level", "value", "unit"]
    list_filter = ["stage", "handler_level", "unit"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("category")


class CaseActionInline(admin.TabularInline):
    model = CaseAction
    fields = ["time", "kind", "actor", "actor_label", "actor_unit", "from_state", "to_state", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(ScopedAdmin):
    """Cases are read here; every step is taken on the case page or through the API, by the services."""

    list_display = [
        "display_number",
        "title",
        "category",
        "state",
        "unit",
        "owner_unit",
        "source",
        "created_at",
    ]
    list_filter = ["state", "source", "severity"]
    search_fields = ["number", "tracking_code", "title"]
    date_hierarchy = "created_at"
    list_select_related = ["category", "unit", "owner_unit"]
    inlines = [CaseActionInline]
    exclude = ["households"]

    @admin.display(description=_("case number"))
    def display_number(self, obj):
        return obj.display_number

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AdmissionItem)
class AdmissionItemAdmin(ScopedAdmin):
    """The admission lists are read here; they are kept on the admission list pages, by the services."""

    list_display = ["keeper", "category", "basis", "added_by", "added_at"]
    list_filter = ["basis"]
    search_fields = ["category__name", "category__code", "keeper__name"]
    list_select_related = ["keeper", "category", "added_by"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AdmissionRequest)
class AdmissionRequestAdmin(ScopedAdmin):
    list_display = ["keeper", "category", "requested_by", "requested_at", "status", "decided_by"]
    list_filter = ["status"]
    search_fields = ["category__name", "category__code", "keeper__name"]
    list_select_related = ["keeper", "category", "requested_by", "decided_by"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
