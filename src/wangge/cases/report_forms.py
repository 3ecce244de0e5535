"""Forms of the reporting pages: the grid worker's phone report, the resident's report, tracking and rating.

They only shape input; the rules (where a point belongs, who may register, idempotency by client id)
are in cases.services, whose ValidationErrors the views put back on these forms.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Count, Min
from django.utils.translation import gettext_lazy as _

from wangge.people.roles import GRID_ROLES, Role
from wangge.units.models import Unit

from .choices import Rating, Severity, Source
from .forms import PhotosField
from .models import Category
from .services import normalise_tracking_code

MAX_FIELD_PHOTOS = 6
MAX_PUBLIC_PHOTOS = settings.WANGGE_MAX_PUBLIC_PHOTOS
# Above this many units in a user's area the manual place picker lists administrative units only:
# a county desk does not scroll through 5,000 grids, and a GPS fix or an address finds the grid anyway.
MAX_UNIT_CHOICES = 600

# Which sources each role enters (CASE-5). Grid staff find things on patrol or on a household visit;
# desk staff also type in what came by the 12345 hotline, WeChat groups, the talk office, video, the
# level above or a department; a department user reports as the department.
_FIELD_SOURCES = (Source.PATROL, Source.VISIT)
_DESK_SOURCES = (
    Source.PATROL,
    Source.HOTLINE,
    Source.WECHAT,
    Source.TALK_OFFICE,
    Source.VIDEO,
    Source.HIGHER_LEVEL,
    Source.DEPARTMENT,
)
ROLE_SOURCES: dict[str, tuple[str, ...]] = {
    Role.SYSTEM_ADMIN: _DESK_SOURCES,
    Role.COUNTY_COMMAND: _DESK_SOURCES,
    Role.TOWNSHIP_ADMIN: _DESK_SOURCES,
    Role.VILLAGE_ADMIN: _DESK_SOURCES,
    Role.GRID_INSTRUCTOR: _FIELD_SOURCES,
    Role.LIAISON_CADRE: _FIELD_SOURCES,
    Role.DEPARTMENT_USER: (Source.DEPARTMENT,),
    **dict.fromkeys(GRID_ROLES, _FIELD_SOURCES),
}
SOURCE_ORDER = [
    Source.PATROL,
    Source.VISIT,
    Source.HOTLINE,
    Source.WECHAT,
    Source.TALK_OFFICE,
    Source.VIDEO,
    Source.HIGHER_LEVEL,
    Source.DEPARTMENT,
]


def sources_for(user) -> list[str]:
    """The sources a user may enter, in a fixed order, patrol first when they may patrol."""
    roles = set(user.scope.roles)
    if user.is_superuser:
        roles.add(Role.SYSTEM_ADMIN)
    allowed = {source for role in roles for source in ROLE_SOURCES.get(role, ())}
    return [source for source in SOURCE_ORDER if source in allowed]


def reporting_units(user):
    """The current units a user may put a report at by hand, in tree order, grids left out if too many;
    with their number and the depth of the shallowest (for indentation)."""
    units = Unit.objects.visible_to(user).current().select_related("level").order_by("path")
    stats = units.aggregate(n=Count("id"), depth=Min("depth"))
    if stats["n"] > MAX_UNIT_CHOICES:
        units = units.filter(level__is_grid=False)
        stats = units.aggregate(n=Count("id"), depth=Min("depth"))
    return units, stats["n"], stats["depth"] or 1


class UnitChoiceField(forms.ModelChoiceField):
    """Units indented by depth, so a village's grids read as a tree inside one select."""

    def __init__(self, *args, base_depth: int = 1, **kwargs):
        self.base_depth = base_depth
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj):
        # U+3000 survives HTML whitespace collapsing inside <option>, unlike an ordinary space.
        return "\u3000" * max(obj.depth - self.base_depth, 0) + obj.name


def category_choices(blank_label) -> tuple[list, dict[str, Category]]:
    """Active 小类 grouped under their 大类 (one <optgroup> each), and the categories by code."""
    leaves = (
        Category.objects.filter(is_active=True, parent__isnull=False, parent__is_active=True)
        .select_related("parent")
        .order_by("code")
    )
    groups: dict[Category, list[tuple[str, str]]] = {}
    by_code: dict[str, Category] = {}
    for category in leaves:
        groups.setdefault(category.parent, []).append((category.code, category.name))
        by_code[category.code] = category
    return [("", blank_label), *((parent.name, items) for parent, items in groups.items())], by_code


def category_conditions(categories: dict[str, Category]) -> dict[str, dict[str, str]]:
    """What the page shows under the picker for the chosen 小类: its 大类 and its 立案条件."""
    return {
        code: {"parent": c.parent.name, "register": c.register_condition, "close": c.close_condition}
        for code, c in categories.items()
    }


class PointMixin(forms.Form):
    """A GPS fix filled in by the page's script; both or neither, the service says which is missing."""

    lng = forms.FloatField(
        required=False,
        widget=forms.HiddenInput,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    lat = forms.FloatField(
        required=False,
        widget=forms.HiddenInput,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    uuid = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.location_errors: list[str] = []

    def clean_category(self):
        code = self.cleaned_data.get("category") or ""
        if not code:
            return None
        category = self.categories.get(code)
        if category is None:
            raise forms.ValidationError(_("Choose a category from the list."), code="invalid_choice")
        return category

    def add_service_errors(self, error) -> None:
        """A service's ValidationError: "location" goes to the place section, fields to their field,
        everything else (the hidden client id included) on top of the form."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for field, messages in error.message_dict.items():
            if field in ("location", "unit"):
                self.location_errors.extend(messages)
            elif field in self.fields and not self.fields[field].widget.is_hidden:
                self.add_error(field, messages)
            else:
                self.add_error(None, messages)


class FieldReportForm(PointMixin):
    """采集上报 on a phone: category, photos, place, description, severity; a few taps."""

    category = forms.ChoiceField(label=_("Category"))
    photos = PhotosField(
        label=_("Photos"), required=False, max_files=MAX_FIELD_PHOTOS, help_text=_("Take or choose photos.")
    )
    description = forms.CharField(
        label=_("What did you find?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    severity = forms.ChoiceField(
        label=_("Severity"),
        required=False,
        widget=forms.RadioSelect,
        choices=[("", _("Usual for the category")), *Severity.choices],
    )
    address = forms.CharField(
        label=_("Address"), required=False, max_length=200, help_text=_("Optional: house number, landmark.")
    )
    source = forms.ChoiceField(label=_("Source"))
    attach_to_own_unit = forms.BooleanField(label=_("Attach it to my own unit"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        choices, self.categories = category_choices(_("Choose a category"))
        self.fields["category"].choices = choices
        sources = sources_for(user)
        self.fields["source"].choices = [(s, Source(s).label) for s in sources]
        self.fields["source"].initial = sources[0] if sources else None
        units, count, base_depth = reporting_units(user)
        self.fields["unit"] = UnitChoiceField(
            label=_("Or choose the place"),
            queryset=units,
            to_field_name="code",
            required=False,
            base_depth=base_depth,
            empty_label=_("Choose when there is no GPS fix"),
        )
        if count == 1:  # a grid worker with one grid: the fallback is obvious, save the tap
            self.fields["unit"].initial = units.values_list("code", flat=True).first()
        self.own_unit = user.primary_unit()

    @property
    def only_source(self):
        """The one source a user has (a department user), shown as text instead of a choice."""
        choices = self.fields["source"].choices
        return choices[0][1] if len(choices) == 1 else None


class PublicReportForm(PointMixin):
    """群众点单: what a resident tells us, with no account and no phone number (PIPL: not stored yet)."""

    description = forms.CharField(
        label=_("What is the problem?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Where exactly, what you saw, since when."),
    )
    photos = PhotosField(label=_("Photos"), required=False, max_files=MAX_PUBLIC_PHOTOS)
    address = forms.CharField(
        label=_("Address or landmark"),
        required=False,
        max_length=200,
        help_text=_("Optional if you share your location."),
    )
    category = forms.ChoiceField(label=_("Kind of problem"), required=False)
    reporter_name = forms.CharField(
        label=_("How should we address you?"),
        required=False,
        max_length=50,
        help_text=_("Optional, e.g. 王女士. Do not write phone or ID numbers."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices, self.categories = category_choices(_("I don't know"))
        self.fields["category"].choices = choices


class TrackForm(forms.Form):
    code = forms.CharField(
        label=_("Tracking code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false"}
        ),
    )

    def clean_code(self):
        code = normalise_tracking_code(self.cleaned_data["code"])
        if len(code) != 8:
            raise forms.ValidationError(
                _("A tracking code has 8 letters and digits, e.g. 7KQ2-M9XD."), code="invalid"
            )
        return code


class RatingForm(forms.Form):
    rating = forms.ChoiceField(
        label=_("How satisfied are you?"), choices=Rating.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
