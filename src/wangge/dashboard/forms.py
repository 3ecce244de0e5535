from __future__ import annotations

import datetime

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .services import RangePreset, preset_range

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class RangeForm(forms.Form):
    """The dashboard's date range: a preset, or a start and an end day (both inclusive)."""

    preset = forms.ChoiceField(label=_("Range"), choices=RangePreset.choices, required=False)
    start = forms.DateField(label=_("From"), required=False, widget=DATE_INPUT)
    end = forms.DateField(label=_("Until"), required=False, widget=DATE_INPUT)

    def __init__(self, *args, today: datetime.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if self.errors:
            return data
        if start is None and end is None:
            start, end = preset_range(data.get("preset") or RangePreset.THIS_MONTH, self.today)
        elif start is None:
            self.add_error("start", _("Give the first day of the range as well."))
        elif end is None:
            end = self.today
        if end is not None and end > self.today:
            self.add_error("end", _("The range cannot end after today (%(today)s).") % {"today": self.today})
        if start is not None and end is not None and start > end:
            self.add_error("end", _("The range must not end before it starts."))
        elif (
            start is not None and end is not None and (end - start).days >= settings.WANGGE_DASHBOARD_MAX_DAYS
        ):
            self.add_error(
                "start",
                _("A range may cover at most %(days)s days.") % {"days": settings.WANGGE_DASHBOARD_MAX_DAYS},
            )
        data["start"], data["end"] = start, end
        return data

    def range(self) -> tuple[datetime.date, datetime.date]:
        """The valid range; this month when the form was not filled in."""
        if self.is_bound and self.is_valid():
            return self.cleaned_data["start"], self.cleaned_data["end"]
        return preset_range(RangePreset.THIS_MONTH, self.today)
