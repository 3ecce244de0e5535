from django.contrib import admin

from wangge.core.admin import ConfigurationAdmin

from .models import KpiTarget


@admin.register(KpiTarget)
class KpiTargetAdmin(ConfigurationAdmin):
    """The targets drawn on the dashboards (seed 004's, and any an administrator sets)."""

    list_display = ["kpi", "target_percent", "source"]
    fields = ["kpi", "target_percent", "source"]
    readonly_fields = ["kpi"]

    def has_add_permission(self, request):
        return False  # one row per KPI, made by the migration

    def has_delete_permission(self, request, obj=None):
        return False  # empty the target instead
