from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PayrollConfig(AppConfig):
    name = "wangge.payroll"
    verbose_name = _("Pay and subsidies")
