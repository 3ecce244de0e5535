from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    name = "wangge.dashboard"
    verbose_name = _("Command centre")
