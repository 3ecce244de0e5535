"""Forms of the appraisal pages. The services decide; their ValidationErrors land on the field they name."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from wangge.teams.choices import FlagKind

from . import services
from .choices import Rating, Voting

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")  # what <input type=date> reads
TEXT_MAX = services.MAX_TEXT


def _text(label, *, required=True, rows=5, help_text=""):
    return forms.CharField(
        label=label,
        required=required,
        max_length=TEXT_MAX,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


class RoundForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Organising unit"), queryset=None, empty_label=None)
    year = forms.IntegerField(label=_("Year appraised"), min_value=2000, max_value=9999)
    reference_date = forms.DateField(
        label=_("Reference date"),
        required=False,
        widget=DATE_INPUT,
        help_text=_(
            "The people appraised are the holders of grid posts under the unit on this day; by default the "
            "last day of the year, or today for this year."
        ),
    )
    voting = forms.ChoiceField(
        label=_("Democratic rating"), choices=Voting.choices, widget=forms.RadioSelect, initial=Voting.BALLOTS
    )
    title = forms.CharField(
        label=pgettext_lazy("appraisal round", "Title"),
        required=False,
        max_length=120,
        help_text=_("Left empty: named after the unit and the year."),
    )

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["unit"].label_from_instance = lambda unit: f"{unit.name} ({unit.level.name})"


class AddPersonForm(forms.Form):
    user = forms.ChoiceField(label=_("Person"))

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.posts = {str(post.user_id): post for post in candidates}
        self.fields["user"].choices = [
            (key, f"{services.person_name(post.user)} · {post.unit.name}") for key, post in self.posts.items()
        ]

    def clean_user(self):
        return self.posts[self.cleaned_data["user"]].user


class SelfReportForm(forms.Form):
    self_report = _text(
        _("Self-report"),
        rows=10,
        help_text=_("What you did this year: visits, problems found and solved, services, what to improve."),
    )


class VotesForm(forms.Form):
    votes_excellent = forms.IntegerField(label=_("Votes for excellent"), min_value=0, initial=0)
    votes_competent = forms.IntegerField(label=_("Votes for competent"), min_value=0, initial=0)
    votes_incompetent = forms.IntegerField(label=_("Votes for incompetent"), min_value=0, initial=0)


class OnsiteForm(forms.Form):
    onsite_findings = _text(_("Findings of the on-site check"))
    onsite_score = forms.IntegerField(label=_("Score (0–100)"), required=False, min_value=0, max_value=100)


class RatingForm(forms.Form):
    rating = forms.ChoiceField(
        label=pgettext_lazy("appraisal", "Rating"), choices=Rating.choices, widget=forms.RadioSelect
    )
    rating_note = _text(
        _("Grounds for the rating"),
        required=False,
        rows=3,
        help_text=_("Required for an incompetent rating, which leads to dismissal."),
    )


class DismissForm(forms.Form):
    dismissed_on = forms.DateField(
        label=_("Posts end on"),
        widget=DATE_INPUT,
        help_text=_("The last day the person holds their grid posts under the organising unit."),
    )


class NoticeForm(forms.Form):
    notice_text = _text(_("Notice as circulated"), rows=4)


class AwardForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Awarding unit"), queryset=None, empty_label=None)
    title = forms.CharField(label=_("Honour"), max_length=64)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["unit"].label_from_instance = lambda unit: f"{unit.name} ({unit.level.name})"


class FlagForm(forms.Form):
    kind = forms.ChoiceField(label=_("Put forward for"), choices=FlagKind.choices, widget=forms.RadioSelect)
    reason = _text(_("Reason"), required=False, rows=3, help_text=_("Left empty: the rating and the round."))


class BallotForm(forms.Form):
    """One optional vote per colleague still to vote on, named vote_<entry id>."""

    def __init__(self, *args, entries, **kwargs):
        super().__init__(*args, **kwargs)
        self.entries = {entry.pk: entry for entry in entries}
        for entry in entries:
            self.fields[f"vote_{entry.pk}"] = forms.ChoiceField(
                label=f"{services.person_name(entry.user)} · {entry.unit.name}",
                choices=Rating.choices,
                widget=forms.RadioSelect,
                required=False,
            )

    def choices(self) -> dict:
        return {
            self.entries[int(name.removeprefix("vote_"))]: value
            for name, value in self.cleaned_data.items()
            if name.startswith("vote_") and value
        }
