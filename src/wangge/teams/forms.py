from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.people.models import Post, User
from wangge.people.roles import Role
from wangge.units.models import Unit

from .choices import LEDGER_EXCLUDED_ROLES, FlagKind
from .models import TrainingPlan

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _this_year() -> int:
    return timezone.localdate().year


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name}（{obj.level.name}）"


class PostChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.title or obj.get_role_display()} · {obj.unit.name}（{obj.start_date:%Y-%m-%d}）"


class LedgerFilterForm(forms.Form):
    unit = forms.CharField(label=_("Unit code"), required=False, max_length=40)
    role = forms.ChoiceField(label=_("Role"), required=False)
    agreement_missing = forms.BooleanField(label=_("No agreement this year"), required=False)
    untrained = forms.BooleanField(label=_("Not trained recently"), required=False)
    flagged = forms.BooleanField(label=_("Flagged (TEAM-9)"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", _("All roles"))] + [
            (value, label) for value, label in Role.choices if value not in LEDGER_EXCLUDED_ROLES
        ]


class AgreementForm(forms.Form):
    unit = UnitChoiceField(label=_("Employing unit"), queryset=Unit.objects.none(), empty_label=None)
    post = PostChoiceField(label=_("Post"), queryset=Post.objects.none(), required=False)
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100, initial=_this_year)
    signed_on = forms.DateField(label=_("Signed on"), widget=DATE_INPUT, initial=timezone.localdate)
    valid_from = forms.DateField(
        label=_("Valid from"), widget=DATE_INPUT, required=False, help_text=_("Empty: 1 January of the year.")
    )
    valid_to = forms.DateField(
        label=_("Valid to"), widget=DATE_INPUT, required=False, help_text=_("Empty: 31 December of the year.")
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, units, posts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["post"].queryset = posts


class BadgeForm(forms.Form):
    number = forms.CharField(label=_("Badge number"), max_length=40)
    unit = UnitChoiceField(label=_("Issuing unit"), queryset=Unit.objects.none(), empty_label=None)
    issued_on = forms.DateField(label=_("Issued on"), widget=DATE_INPUT, initial=timezone.localdate)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class ReturnBadgeForm(forms.Form):
    returned_on = forms.DateField(label=_("Returned on"), widget=DATE_INPUT, initial=timezone.localdate)


class FlagForm(forms.Form):
    kind = forms.ChoiceField(label=_("Put forward for"), choices=FlagKind.choices, widget=forms.RadioSelect)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))
    unit = UnitChoiceField(label=_("Flagging unit"), queryset=Unit.objects.none(), empty_label=None)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class PlanForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100, initial=_this_year)
    title = forms.CharField(label=_("Title"), max_length=200)
    content = forms.CharField(label=_("Content"), widget=forms.Textarea(attrs={"rows": 6}))


class StaffChoiceField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj):
        return obj.full_name or obj.username


class AttendanceForm(forms.Form):
    attended = StaffChoiceField(label=_("Attended"), queryset=User.objects.none(), required=False)
    others = forms.CharField(
        label=_("Also attended (user names)"),
        required=False,
        help_text=_(
            "People not yet posted here (training comes before posting): their user names, "
            "separated by spaces or commas."
        ),
    )

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attended"].queryset = staff

    def clean_others(self):
        names = [
            name for name in self.cleaned_data["others"].replace(",", " ").replace("，", " ").split() if name
        ]
        users = {user.username: user for user in User.objects.filter(username__in=names, is_active=True)}
        unknown = [name for name in names if name not in users]
        if unknown:
            raise forms.ValidationError(_("No active user named: %(names)s.") % {"names": "、".join(unknown)})
        return list(users.values())


class SessionForm(AttendanceForm):
    date = forms.DateField(label=_("Date"), widget=DATE_INPUT, initial=timezone.localdate)
    topic = forms.CharField(label=_("Topic"), max_length=200)
    hours = forms.DecimalField(label=_("Hours"), min_value=0.5, max_value=100, decimal_places=1, initial=2)
    place = forms.CharField(label=_("Place"), max_length=200, required=False)
    plan = forms.ModelChoiceField(
        label=_("Training plan"), queryset=TrainingPlan.objects.none(), required=False
    )

    field_order = ["date", "topic", "hours", "place", "plan", "attended", "others"]

    def __init__(self, *args, plans, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = plans
