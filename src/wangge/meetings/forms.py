"""Forms of the meeting pages. The services decide; their ValidationErrors land on the field they name."""

from __future__ import annotations

import datetime

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from wangge.cases.forms import CategoryField, departments_serving, units_below
from wangge.people.models import Post, User
from wangge.units.models import Unit

from .choices import MeetingKind

# The longest period the list filters over, and how far the due list looks back.
MAX_PERIOD_DAYS = 366
JOINT_RANKS = (1, 2)


def _date(label, required=True):
    return forms.DateField(label=label, required=required, widget=forms.DateInput(attrs={"type": "date"}))


def _text(label, required=False, rows=3, help_text=""):
    return forms.CharField(
        label=label,
        required=required,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
        max_length=8000,
    )


class MeetingFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind of meeting"), required=False, choices=[("", _("All kinds")), *MeetingKind.choices]
    )
    unit = forms.CharField(label=_("Unit code"), required=False, max_length=40)
    start = _date(_("From"), required=False)
    end = _date(_("To"), required=False)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end of the period comes before its start."))
        return data


class DueFilterForm(forms.Form):
    unit = forms.CharField(label=_("Unit code"), required=False, max_length=40)
    week = _date(_("A day of the week"), required=False)

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        week = data.get("week") or today
        if week > today:
            self.add_error("week", _("Choose a week that has begun."))
        elif (today - week).days > MAX_PERIOD_DAYS:
            self.add_error("week", _("Choose a week within the last year."))
        data["week"] = week
        return data


class ChooseUnitForm(forms.Form):
    """Step one of recording: which meeting, where (the pairs the user may record)."""

    target = forms.ChoiceField(label=_("Meeting"))

    def __init__(self, *args, pairs, **kwargs):
        super().__init__(*args, **kwargs)
        self.pairs = {f"{kind}:{unit.code}": (kind, unit) for kind, unit in pairs}
        self.fields["target"].choices = [
            (key, f"{MeetingKind(kind).label} · {unit.name} ({unit.level.name})")
            for key, (kind, unit) in self.pairs.items()
        ]


def staff_choices(unit: Unit, on: datetime.date, extra=()) -> tuple[list[User], list[User]]:
    """(attendee candidates, chair candidates) for a meeting at `unit`: staff posted at the unit and one
    level below it (a county's or township's meeting) or two (a village's or grid's); the chair may also
    sit above the unit. `extra` users (the attendees already recorded) are always offered."""
    depth = unit.depth + (1 if unit.level.rank in JOINT_RANKS else 2)
    posts = (
        Post.objects.active(on=on)
        .filter(
            Q(unit__path__startswith=unit.path, unit__depth__lte=depth)
            | Q(unit__path__in=Unit.path_prefixes(unit.path, include_self=False))
        )
        .select_related("user", "unit")
        .order_by("unit__path", "user__full_name", "user_id")
    )
    attendees: dict[int, User] = {}
    chairs: dict[int, User] = {}
    for post in posts:
        if not post.user.is_active:
            continue
        post.user.post_label = f"{post.user} · {post.title or post.get_role_display()} · {post.unit.name}"
        chairs.setdefault(post.user_id, post.user)
        if post.unit.path.startswith(unit.path):
            attendees.setdefault(post.user_id, post.user)
    for user in extra:
        attendees.setdefault(user.pk, user)
        user.post_label = getattr(user, "post_label", str(user))
    return list(attendees.values()), list(chairs.values())


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return getattr(obj, "post_label", str(obj))


class UsersChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return getattr(obj, "post_label", str(obj))


class MeetingForm(forms.Form):
    held_on = _date(_("Held on"))
    chaired_by = UserChoiceField(label=_("Chaired by"), queryset=User.objects.none(), required=False)
    place = forms.CharField(label=pgettext_lazy("meeting", "Place"), required=False, max_length=100)
    agenda = _text(_("Agenda"))
    minutes = _text(
        pgettext_lazy("meeting", "Minutes"),
        required=True,
        rows=6,
        help_text=_("What was reported, discussed and decided."),
    )
    attendees = UsersChoiceField(
        label=_("Attendees"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    other_attendees = _text(
        _("Other attendees"),
        rows=2,
        help_text=_("Departments, residents' representatives and others without an account."),
    )

    def __init__(self, *args, unit: Unit, attendees: list[User], chairs: list[User], **kwargs):
        super().__init__(*args, **kwargs)
        self.unit = unit
        self.fields["attendees"].queryset = User.objects.filter(pk__in=[u.pk for u in attendees])
        self.fields["chaired_by"].queryset = User.objects.filter(pk__in=[u.pk for u in chairs])
        # Offer the labelled users themselves (with their posts), in tree order, without another query.
        self.fields["attendees"].choices = [(u.pk, u.post_label) for u in attendees]
        self.fields["chaired_by"].choices = [("", "—"), *((u.pk, u.post_label) for u in chairs)]


class NewMeetingForm(MeetingForm):
    resolutions = _text(
        _("Resolutions"),
        rows=4,
        help_text=_("One per line; each can later be given a responsible unit, a due date or a case."),
    )
    client_uuid = forms.UUIDField(widget=forms.HiddenInput)


class ResolutionForm(forms.Form):
    text = _text(_("Resolution"), required=True)
    responsible_unit = forms.ChoiceField(label=_("Responsible unit"), required=False)
    responsible_department = forms.ChoiceField(label=_("Responsible department"), required=False)
    due_on = _date(_("Due on"), required=False)

    def __init__(self, *args, meeting, **kwargs):
        super().__init__(*args, **kwargs)
        unit = meeting.unit
        below = units_below([unit], depth=1 if unit.level.rank == 1 else 2)
        self.units = {str(u.pk): u for u in [unit, *below]}
        self.fields["responsible_unit"].choices = [("", _("The meeting's own unit"))] + [
            (str(u.pk), f"{u.parent_name} › {u.name}" if getattr(u, "parent_name", "") else u.name)
            for u in [unit, *below]
        ]
        self.departments = {str(d.pk): d for d in departments_serving([unit])}
        self.fields["responsible_department"].choices = [("", "—")] + [
            (key, f"{d.name} · {d.unit.name}") for key, d in self.departments.items()
        ]

    def clean_responsible_unit(self):
        value = self.cleaned_data["responsible_unit"]
        return self.units.get(value) if value else None

    def clean_responsible_department(self):
        value = self.cleaned_data["responsible_department"]
        return self.departments.get(value) if value else None


class SpawnForm(forms.Form):
    category = CategoryField(
        label=_("Category"),
        required=False,
        help_text=_("With a category the case is registered at once; without one it waits for registration."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].load()


class CloseForm(forms.Form):
    note = _text(_("How it was carried out"), rows=2)
