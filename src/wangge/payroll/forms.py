"""Forms of the payroll pages; the rules they enforce live in `payroll.services`."""

from __future__ import annotations

import datetime
import re

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wangge.people.models import User

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


class MonthInput(forms.TextInput):
    input_type = "month"

    def format_value(self, value):
        if isinstance(value, datetime.date):
            return f"{value:%Y-%m}"
        return super().format_value(value)


class MonthField(forms.Field):
    """A month as YYYY-MM, cleaned to its first day."""

    widget = MonthInput
    default_error_messages = {"invalid": _("Give a month as YYYY-MM, e.g. 2026-03.")}

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, datetime.date):
            return value.replace(day=1)
        match = MONTH_RE.match(str(value).strip())
        if not match:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12 or year < 2000:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return datetime.date(year, month, 1)


class UnitYearForm(forms.Form):
    """Which unit (by code) and year a list or the budget shows."""

    unit = forms.CharField(label=_("Unit code"), max_length=40, required=False)
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100, required=False)


class ComputeForm(forms.Form):
    unit = forms.CharField(widget=forms.HiddenInput, max_length=40)
    month = MonthField(label=_("Month"))


class FinaliseForm(forms.Form):
    expected_total = forms.DecimalField(widget=forms.HiddenInput, max_digits=14, decimal_places=2)


class RewardForm(forms.Form):
    person = forms.ModelChoiceField(label=_("Person"), queryset=User.objects.none())
    month = MonthField(label=_("Paid in month"))
    amount = forms.DecimalField(label=_("Amount (yuan)"), max_digits=12, decimal_places=2, min_value=0)
    reason = forms.CharField(
        label=_("Important information reported"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )
    case_number = forms.CharField(
        label=_("Case number"), max_length=24, required=False, help_text=_("Optional: the case it led to.")
    )

    def __init__(self, *args, unit, since: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        # People holding a post under the unit now or since `since` (the services check the month itself).
        self.fields["person"].queryset = (
            User.objects.filter(posts__unit__path__startswith=unit.path)
            .filter(Q(posts__end_date__isnull=True) | Q(posts__end_date__gte=since))
            .distinct()
            .order_by("full_name", "username")
        )
        self.fields["person"].label_from_instance = lambda user: (
            f"{user.full_name or user.username} ({user.username})"
        )
