from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.core.models import TimeStampedModel


class WorkdayOverride(TimeStampedModel):
    """A local exception to the national calendar, entered by a system administrator.

    It wins over the chinese-calendar data for its date: a county may give a day off the State Council
    did not (a local festival, a disaster) or call staff in on a holiday. It is also how the holidays of
    a year the package has no data for can be entered until the package is upgraded.
    """

    date = models.DateField(_("date"), unique=True)
    is_workday = models.BooleanField(
        _("working day"), help_text=_("Ticked: a working day. Unticked: a day off.")
    )
    reason = models.CharField(_("reason"), max_length=100)

    class Meta:
        verbose_name = _("working-day override")
        verbose_name_plural = _("working-day overrides")
        ordering = ["date"]

    def __str__(self):
        kind = _("working day") if self.is_workday else _("day off")
        return f"{self.date.isoformat()} {kind} · {self.reason}"
