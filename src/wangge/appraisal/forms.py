from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import ScorePeriod, Subject

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ScorecardForm(forms.Form):
    unit = forms.CharField(label=_("Unit code"), required=False, max_length=32)
    period = forms.ChoiceField(
        label=_("Period"), choices=ScorePeriod.choices, initial=ScorePeriod.MONTH, required=False
    )
    on = forms.DateField(label=_("Any day of the period"), required=False, widget=DATE_INPUT)


class RankingForm(forms.Form):
    unit = forms.CharField(label=_("Unit code"), required=False, max_length=32)
    subject = forms.ChoiceField(
        label=_("Ranked"),
        choices=[(s.value, s.label) for s in Subject if s != Subject.COUNTY],
        initial=Subject.WORKER,
        required=False,
    )
    month = forms.DateField(
        label=_("Month"),
        required=False,
        input_formats=["%Y-%m", "%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )


class InspectionFilterForm(forms.Form):
    unit = forms.CharField(label=_("Unit code"), required=False, max_length=32)
    responsible = forms.CharField(label=_("Responsible (user name)"), required=False, max_length=150)
    start = forms.DateField(label=_("From"), required=False, widget=DATE_INPUT)
    end = forms.DateField(label=_("Until"), required=False, widget=DATE_INPUT)


class InspectionForm(forms.Form):
    client_uuid = forms.UUIDField(widget=forms.HiddenInput)
    unit = forms.CharField(label=_("Unit inspected (code)"), max_length=32)
    inspected_on = forms.DateField(label=_("Inspected on"), widget=DATE_INPUT)
    checked = forms.CharField(
        label=_("What was checked"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("E.g. ledgers, daily logs, visit records, the notice board, open cases."),
    )
    summary = forms.CharField(label=_("Summary"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class FindingForm(forms.Form):
    description = forms.CharField(label=_("Finding"), max_length=300, required=False)
    deduction = forms.DecimalField(
        label=_("Points deducted"), min_value=0, max_digits=5, decimal_places=2, required=False
    )
    responsible = forms.CharField(
        label=_("Responsible grid worker (user name)"), required=False, max_length=150
    )
    rectify_by = forms.DateField(label=_("Rectify by"), required=False, widget=DATE_INPUT)


FindingFormSet = forms.formset_factory(FindingForm, extra=3, max_num=20)
