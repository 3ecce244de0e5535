from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkdaysConfig(AppConfig):
    name = "wangge.workdays"
    verbose_name = _("Working-day calendar")

    def ready(self):
        # Connects the receivers that clear the override cache when an administrator edits the table.
        from . import calendar  # noqa: F401
