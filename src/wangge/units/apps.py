from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UnitsConfig(AppConfig):
    name = "wangge.units"
    verbose_name = _("Governance units")

    def ready(self):
        from . import locate  # noqa: F401  (connects the signal that clears the point locator)
