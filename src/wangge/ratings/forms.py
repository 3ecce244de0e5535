"""Forms of the rating pages. They only shape input; the rules are in ratings.services, whose
ValidationErrors the views put back on these forms (`apply_service_errors`)."""

from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.fieldwork.visits import period_bounds

from .choices import ResultPeriod, Stars

MAX_RANGE_DAYS = 366 * 3


def stars_field(label):
    return forms.TypedChoiceField(
        label=label, choices=Stars.choices, coerce=int, widget=forms.RadioSelect(attrs={"class": "stars"})
    )


class DepartmentRatingForm(forms.Form):
    speed = stars_field(_("Speed: was it handled in time?"))
    result = stars_field(_("Result: was the problem solved?"))
    attitude = stars_field(_("Attitude: how did the department work with you?"))
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


class ProviderRatingForm(forms.Form):
    uuid = forms.UUIDField(widget=forms.HiddenInput)
    provider = forms.TypedChoiceField(label=_("Which provider?"), coerce=int, widget=forms.RadioSelect)
    quality = stars_field(_("Service quality"))
    responsiveness = stars_field(_("Responsiveness: repairs and complaints dealt with quickly"))
    transparency = stars_field(_("Prices and charges: clear and as published"))
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional. Do not write your name, phone or ID number."),
    )

    def __init__(self, *args, providers, **kwargs):
        super().__init__(*args, **kwargs)
        self.providers = {p.pk: p for p in providers}
        self.fields["provider"].choices = [(p.pk, f"{p.name}（{p.get_kind_display()}）") for p in providers]


class PickUnitForm(forms.Form):
    unit = forms.ChoiceField(label=_("Where do you live?"))

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", _("Choose your township or street"))] + [
            (u.code, u.name) for u in units
        ]


class ResultsFilterForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), choices=ResultPeriod.choices, required=False)
    on = forms.DateField(
        label=_("A day in the period"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    unit = forms.CharField(label=_("Unit code"), required=False, max_length=32)

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        period = data.get("period") or ResultPeriod.MONTH
        data["period"] = period
        if period == ResultPeriod.RANGE:
            start, end = data.get("start"), data.get("end")
            if start is None:
                self.add_error("start", _("Choose the first day of the date range."))
            if end is None:
                self.add_error("end", _("Choose the last day of the date range."))
            if start and end:
                if end < start:
                    self.add_error("end", _("The end of the period comes before its start."))
                elif (end - start).days >= MAX_RANGE_DAYS:
                    self.add_error("end", _("Choose a range of at most three years."))
        else:
            start, end = period_bounds(period, data.get("on") or today)
        data["start"], data["end"] = start, end
        return data

    @staticmethod
    def default_bounds() -> tuple[str, datetime.date, datetime.date]:
        start, end = period_bounds(ResultPeriod.MONTH, timezone.localdate())
        return ResultPeriod.MONTH, start, end
