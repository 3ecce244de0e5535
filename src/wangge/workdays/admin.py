from django.contrib import admin
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from wangge.core.admin import ConfigurationAdmin

from . import calendar
from .models import WorkdayOverride


@admin.register(WorkdayOverride)
class WorkdayOverrideAdmin(ConfigurationAdmin):
    """Local exceptions to the national calendar: deployment-wide, so system administrators only."""

    list_display = ["date", "weekday", "is_workday", "national_calendar", "reason"]
    list_filter = ["is_workday"]
    search_fields = ["reason"]
    date_hierarchy = "date"
    fields = ["date", "is_workday", "reason"]

    @admin.display(description=_("weekday"))
    def weekday(self, obj):
        return formats.date_format(obj.date, "l")

    @admin.display(description=_("national calendar"))
    def national_calendar(self, obj):
        # Shown beside the override so an administrator sees what it changes (or that it changes nothing).
        national = calendar.national_is_workday(obj.date)
        if national is None:
            return _("no data")
        return _("working day") if national else _("day off")
