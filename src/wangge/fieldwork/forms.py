from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.units.models import Unit

# The longest period the desk page computes missing logs for.
MAX_PERIOD_DAYS = 366


class WorkLogForm(forms.Form):
    grid = forms.ModelChoiceField(label=_("Grid"), queryset=Unit.objects.none(), empty_label=None)
    date = forms.DateField(widget=forms.HiddenInput)
    client_uuid = forms.UUIDField(widget=forms.HiddenInput)
    patrolled = forms.CharField(
        label=_("Where I patrolled"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    found = forms.CharField(label=_("What I found"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    served = forms.CharField(
        label=_("What I did for residents"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    households_visited = forms.IntegerField(
        label=_("Households visited"), min_value=0, max_value=10000, initial=0, required=False
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, grids: list[Unit], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grid"].queryset = Unit.objects.filter(pk__in=[grid.pk for grid in grids])
        if len(grids) == 1:
            self.fields["grid"].widget = forms.HiddenInput()


class LogFilterForm(forms.Form):
    unit = forms.CharField(label=_("Unit code"), required=False, max_length=32)
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        start = data.get("start") or today - datetime.timedelta(days=today.weekday())
        end = data.get("end") or today
        if end < start:
            self.add_error("end", _("The end of the period comes before its start."))
        elif (end - start).days >= MAX_PERIOD_DAYS:
            self.add_error("end", _("Choose a period of at most a year."))
        data["start"], data["end"] = start, end
        return data
