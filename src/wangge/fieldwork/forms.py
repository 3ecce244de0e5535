from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.ledger.choices import ResidentStatus
from wangge.ledger.models import Resident
from wangge.units.models import Unit

from .choices import PublicityMethod, VisitPurpose

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
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

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


class CaseFieldsMixin(forms.Form):
    """The optional case raised from a visit or a patrol (prefixed "case_", as the service's errors)."""

    raise_case = forms.BooleanField(label=_("Raise a case from this"), required=False)
    case_category = forms.ChoiceField(label=_("Category"), required=False)
    case_description = forms.CharField(
        label=_("What has to be handled?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from wangge.cases.report_forms import category_choices

        choices, self.categories = category_choices(_("Choose a category"))
        self.fields["case_category"].choices = choices

    def clean(self):
        data = super().clean()
        if data.get("raise_case"):
            if not data.get("case_category"):
                self.add_error("case_category", _("Choose the category of the case to raise."))
            if not (data.get("case_description") or "").strip():
                self.add_error("case_description", _("Describe what has to be handled."))
        return data

    def case_draft(self):
        from .visits import CaseDraft

        data = self.cleaned_data
        if not data.get("raise_case"):
            return None
        return CaseDraft(
            description=data["case_description"], category=self.categories[data["case_category"]]
        )


class VisitForm(CaseFieldsMixin):
    client_uuid = forms.UUIDField(widget=forms.HiddenInput)
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    purposes = forms.MultipleChoiceField(
        label=_("Purpose"), choices=VisitPurpose.choices, widget=forms.CheckboxSelectMultiple
    )
    people_met = forms.ModelMultipleChoiceField(
        label=_("People met"),
        queryset=Resident.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    others_met = forms.CharField(label=_("Others met"), required=False, max_length=200)
    findings = forms.CharField(
        label=_("What did you find or hear?"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    field_order = ["date", "purposes", "people_met", "others_met", "findings"]

    def __init__(self, *args, household, **kwargs):
        super().__init__(*args, **kwargs)
        # Names only: the visit form never shows a member's ID or phone number.
        self.fields["people_met"].queryset = household.members.filter(status=ResidentStatus.PRESENT).order_by(
            "relation", "id"
        )
        self.fields["people_met"].label_from_instance = lambda resident: resident.name
        if not self.fields["people_met"].queryset.exists():  # nobody on the register yet: nothing to tick
            del self.fields["people_met"]


class PatrolForm(CaseFieldsMixin):
    client_uuid = forms.UUIDField(widget=forms.HiddenInput)
    grid = forms.ModelChoiceField(label=_("Grid"), queryset=Unit.objects.none(), empty_label=None)
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    route = forms.CharField(label=_("Route or area"), max_length=200)
    minutes = forms.IntegerField(label=_("Minutes"), required=False, min_value=1, max_value=24 * 60)
    findings = forms.CharField(label=_("Findings"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    field_order = ["grid", "date", "route", "minutes", "findings"]

    def __init__(self, *args, grids: list[Unit], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grid"].queryset = Unit.objects.filter(pk__in=[grid.pk for grid in grids])
        if len(grids) == 1:
            self.fields["grid"].widget = forms.HiddenInput()


class PublicityForm(forms.Form):
    client_uuid = forms.UUIDField(widget=forms.HiddenInput)
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.none(), empty_label=None)
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    topic = forms.CharField(label=_("Policy or topic"), max_length=200)
    method = forms.ChoiceField(label=_("Method"), choices=PublicityMethod.choices)
    audience = forms.CharField(label=_("To whom"), max_length=200)
    reached = forms.IntegerField(label=_("People reached"), min_value=0, max_value=1_000_000, initial=0)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, units: list[Unit], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.filter(pk__in=[unit.pk for unit in units])


class CoverageForm(forms.Form):
    unit = forms.CharField(label=_("Unit code"), required=False, max_length=32)
    on = forms.DateField(
        label=_("Period holding"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
