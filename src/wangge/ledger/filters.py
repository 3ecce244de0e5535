"""The filters of the ledger lists: households, residents, places and organisations.

Each FilterSet runs on a queryset already passed through `visible_to(user)`, so a filter can only narrow
what the user may see. A unit filter takes a unit code and means the unit with everything below it; for
households and residents it follows dual-grid membership (lived in or registered in the subtree).
A form with an error filters to nothing and shows the error, never the unfiltered list.
"""

from __future__ import annotations

import re
import unicodedata

import django_filters
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from wangge.core.forms import apply_service_errors
from wangge.core.pii import normalise_id_number, normalise_phone
from wangge.units.models import Unit

from . import services
from .choices import HouseholdStatus, OrganisationKind, PlaceKind, ResidenceType, ResidentStatus
from .models import AttentionTag, Household, Organisation, Place, Resident, subtree_condition

ANY_STATUS = "all"

# What the one search box of the ledger index understands: an ID number, a phone number, or a name.
_ID_LIKE = re.compile(r"^[0-9]{15,17}[0-9X]?$")
_PHONE_LIKE = re.compile(r"^[0-9]{7,12}$")
# Dashes people type inside an ID number (ASCII, Unicode dashes and the minus sign).
_DASHES = re.compile(r"[\-\u2010-\u2015\u2212]")
# A name never holds this many digits: such a value is part of a number and must not become a URL.
NUMBER_DIGITS = 7
# A blind index as it travels in a URL (see wangge.core.pii.blind_index).
BLIND_KEY = re.compile(r"[0-9a-f]{40}")
# The resident list's exact search travels as blind-index keys; these plaintext parameters never search.
EXACT_SEARCH_KEYS = ("id_key", "phone_key")
PLAINTEXT_SEARCH_PARAMS = ("id_number", "phone", "q")


def id_number_typed(value: str) -> str:
    """An ID number as typed, with spaces, dashes and full-width characters taken out."""
    return _DASHES.sub("", normalise_id_number(value))


def classify_search(value: str) -> str:
    """Which resident filter a free-text search means: "id_number", "phone" or "name"."""
    value = (value or "").strip()
    if _ID_LIKE.match(id_number_typed(value)):
        return "id_number"
    if _PHONE_LIKE.match(normalise_phone(value).replace("-", "")):
        return "phone"
    return "name"


def digit_count(value: str) -> int:
    return sum(ch in "0123456789" for ch in unicodedata.normalize("NFKC", value or ""))


def subtree_q(model, lookups, path: str) -> Q:
    """Rows reaching the subtree at `path` through any of `lookups` (see ledger.models.subtree_condition)."""
    return subtree_condition(model, lookups, (path,))


def subtree_ids(path: str):
    """The units below (and at) `path`, retired versions too, as a subquery for `…__in`."""
    return Unit.objects.filter(path__startswith=path).values("pk")


# --- dual-grid membership (GRID-8): one definition for the lists and the dossier ---------------------

MEMBERSHIP_ANY = "any"
MEMBERSHIP_LIVING = "living"
MEMBERSHIP_REGISTERED = "registered"
MEMBERSHIP_CHOICES = [
    (MEMBERSHIP_ANY, _("Living or registered there")),
    (MEMBERSHIP_LIVING, _("Living there")),
    (MEMBERSHIP_REGISTERED, _("Registered there, living elsewhere")),
]


def household_membership(sub) -> dict[str, Q]:
    """Households of the units `sub` (a subquery of unit ids): living there, registered there and living
    elsewhere, or either."""
    living = Q(grid__in=sub)
    registered = Q(registered_grid__in=sub)
    return {
        MEMBERSHIP_LIVING: living,
        MEMBERSHIP_REGISTERED: registered & ~living,
        MEMBERSHIP_ANY: living | registered,
    }


def resident_registered_in(sub) -> Q:
    """Whose 户籍 lies in the units `sub`: a person's own grid of registration wins over the household's;
    with neither, people registered where they live (人户一致, 户在人不在) are registered in the household's
    grid, while 人户分离 and floating people without a grid are registered outside these grids."""
    return (
        Q(registered_grid__in=sub)
        | Q(registered_grid__isnull=True, household__registered_grid__in=sub)
        | Q(
            registered_grid__isnull=True,
            household__registered_grid__isnull=True,
            household__grid__in=sub,
            residence_type__in=[ResidenceType.REGISTERED, ResidenceType.ABROAD],
        )
    )


def resident_membership(sub) -> dict[str, Q]:
    """Residents of the units `sub`: living there (their household's grid, unless they are away: 户在人不在),
    registered there and living elsewhere, or either as the ledger scope reaches them (any grid of theirs)."""
    living = Q(household__grid__in=sub) & ~Q(residence_type=ResidenceType.ABROAD)
    return {
        MEMBERSHIP_LIVING: living,
        MEMBERSHIP_REGISTERED: resident_registered_in(sub) & ~living,
        MEMBERSHIP_ANY: Q(household__grid__in=sub)
        | Q(registered_grid__in=sub)
        | Q(household__registered_grid__in=sub),
    }


# --- review (核查, INFO-2): one definition for the household list and the dossier ------------------------

REVIEW_CURRENT = "current"
REVIEW_OVERDUE = "overdue"
REVIEW_CHOICES = [
    (REVIEW_OVERDUE, _("Overdue: never reviewed, or not within the period")),
    (REVIEW_CURRENT, _("Reviewed within the period")),
]


def household_review(cutoff) -> dict[str, Q]:
    """Households reviewed (or changed) at or after `cutoff` (services.review_cutoff), and the others."""
    return {
        REVIEW_CURRENT: Q(reviewed_at__gte=cutoff),
        REVIEW_OVERDUE: Q(reviewed_at__isnull=True) | Q(reviewed_at__lt=cutoff),
    }


class LedgerFilterForm(forms.Form):
    """Checks a unit code names a unit of the user's area, so a mistyped code says so instead of listing
    nothing silently. A unit outside the area gets the same answer as a missing one: the filter does not
    tell which codes exist elsewhere. `user` is set by the FilterSet."""

    user = None

    def clean_unit(self):
        code = (self.cleaned_data.get("unit") or "").strip()
        self.unit_path = None
        if not code:
            return code
        units = Unit.objects.visible_to(self.user) if self.user is not None else Unit.objects.none()
        unit = units.filter(code=code).only("path").first()
        if unit is None:
            raise ValidationError(
                _("No unit with the code %(code)s lies in your area.") % {"code": code}, code="outside"
            )
        self.unit_path = unit.path
        return code


class LedgerFilterSet(django_filters.FilterSet):
    """Common behaviour: a default status, and nothing (plus the error) when the form is invalid."""

    unit_lookups: tuple[str, ...] = ("unit__path",)
    # Households and residents: the membership conditions of a subtree (see household_membership).
    membership_of = None
    default_status = ""

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and self.default_status and "status" not in data:
            data = data.copy()
            data["status"] = self.default_status
        super().__init__(data, *args, **kwargs)

    @property
    def form(self):
        form = super().form
        form.user = getattr(self.request, "user", None)
        return form

    def filter_queryset(self, queryset):
        if not self.form.is_valid():
            return queryset.none()
        return super().filter_queryset(queryset)

    def filter_unit(self, qs, name, value):
        path = getattr(self.form, "unit_path", None) if value else None
        if not path:
            return qs
        if self.membership_of is None:
            return qs.filter(subtree_q(qs.model, self.unit_lookups, path))
        membership = self.form.cleaned_data.get("membership") or MEMBERSHIP_ANY
        return qs.filter(self.membership_of(subtree_ids(path))[membership])

    def filter_membership(self, qs, name, value):
        """Applied with the unit (filter_unit): without a unit it narrows nothing."""
        return qs

    def filter_status(self, qs, name, value):
        return qs if not value or value == ANY_STATUS else qs.filter(status=value)

    @property
    def filtered(self) -> bool:
        """Whether the user narrowed the list beyond the defaults (the filter panel then opens)."""
        data = self.data or {}
        defaults = {"status": self.default_status, "membership": MEMBERSHIP_ANY}
        return any(
            value and name in self.filters and value != defaults.get(name) for name, value in data.items()
        )


def membership_filter(help_text):
    return django_filters.ChoiceFilter(
        label=_("How they belong to the unit"),
        choices=MEMBERSHIP_CHOICES,
        method="filter_membership",
        empty_label=None,
        help_text=help_text,
    )


class HouseholdFilter(LedgerFilterSet):
    q = django_filters.CharFilter(label=_("Household number or address"), method="filter_q")
    unit = django_filters.CharFilter(
        label=_("Unit code (with everything below it)"),
        method="filter_unit",
        help_text=_("Households living or registered there."),
    )
    membership = membership_filter(_("With a unit code: which of its households to list."))
    is_rental = django_filters.BooleanFilter(
        label=_("Rented out only"), method="filter_rental", widget=forms.CheckboxInput
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"),
        choices=[*HouseholdStatus.choices, (ANY_STATUS, _("Any status"))],
        method="filter_status",
        empty_label=None,
    )
    review = django_filters.ChoiceFilter(
        label=_("Review (核查)"),
        choices=REVIEW_CHOICES,
        method="filter_review",
        empty_label=_("Reviewed or not"),
    )

    unit_lookups = Household.scope_path_lookups
    membership_of = staticmethod(household_membership)
    default_status = HouseholdStatus.ACTIVE

    class Meta:
        model = Household
        fields = []
        form = LedgerFilterForm

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        months = settings.WANGGE_REVIEW_MONTHS
        self.filters["review"].extra["help_text"] = ngettext(
            "The period: the last %(months)s month. Editing a household counts as a review.",
            "The period: the last %(months)s months. Editing a household counts as a review.",
            months,
        ) % {"months": months}

    def filter_q(self, qs, name, value):
        value = value.strip()
        return qs.filter(Q(number__icontains=value) | Q(address__icontains=value)) if value else qs

    def filter_rental(self, qs, name, value):
        return qs.filter(is_rental=True) if value else qs

    def filter_review(self, qs, name, value):
        return qs.filter(household_review(services.review_cutoff())[value]) if value else qs


class ResidentFilterForm(LedgerFilterForm):
    """An exact search arrives as a blind-index key; anything but 40 lowercase hex digits is refused."""

    def _clean_key(self, name):
        value = (self.cleaned_data.get(name) or "").strip()
        if value and not BLIND_KEY.fullmatch(value):
            raise ValidationError(
                _("This exact search is not valid (any more): search again by ID number or phone.")
            )
        return value

    def clean_id_key(self):
        return self._clean_key("id_key")

    def clean_phone_key(self):
        return self._clean_key("phone_key")


class ResidentFilter(LedgerFilterSet):
    """The GET filters of the resident list. There is no plaintext ID-number or phone filter: an exact
    search is POSTed (ExactSearchForm) and comes back as the value's blind index (`id_key`, `phone_key`),
    a keyed HMAC that is useless without the server's key, so no full number reaches a URL."""

    name = django_filters.CharFilter(label=_("Name contains"), field_name="name", lookup_expr="icontains")
    tag = django_filters.ModelChoiceFilter(
        label=_("Attention tag"),
        queryset=AttentionTag.objects.all(),
        to_field_name="code",
        field_name="tags",
        empty_label=_("Any tag"),
    )
    unit = django_filters.CharFilter(
        label=_("Unit code (with everything below it)"),
        method="filter_unit",
        help_text=_("People living or registered there."),
    )
    membership = membership_filter(_("With a unit code: which of its people to list."))
    status = django_filters.ChoiceFilter(
        label=_("Status"),
        choices=[*ResidentStatus.choices, (ANY_STATUS, _("Any status"))],
        method="filter_status",
        empty_label=None,
    )
    id_key = django_filters.CharFilter(
        label=_("Exact ID-number search"), field_name="id_number_index", widget=forms.HiddenInput
    )
    phone_key = django_filters.CharFilter(
        label=_("Exact phone search"), field_name="phone_index", widget=forms.HiddenInput
    )

    unit_lookups = Resident.scope_path_lookups
    membership_of = staticmethod(resident_membership)
    default_status = ResidentStatus.PRESENT

    class Meta:
        model = Resident
        fields = []
        form = ResidentFilterForm


class NoEchoTextInput(forms.TextInput):
    """A text box that never writes the typed value back into the page: an ID number or phone typed
    into the exact search appears in no response, not even next to the message naming its mistake."""

    def format_value(self, value):
        return None


class ExactSearchForm(forms.Form):
    """The exact search by ID number or phone, POSTed to the resident list (and the index's one box,
    `q`, which classify_search routes to a name, an ID number or a phone). Valid values become
    `search_params`: the GET parameters of the list to redirect to (a name, or blind-index keys)."""

    q = forms.CharField(
        label=_("Name, ID number or phone"),
        required=False,
        max_length=100,
        widget=NoEchoTextInput(attrs={"autocomplete": "off"}),
    )
    id_number = forms.CharField(
        label=_("ID number (exact)"),
        required=False,
        max_length=40,
        widget=NoEchoTextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label=_("Phone (exact)"),
        required=False,
        max_length=30,
        widget=NoEchoTextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )

    def clean(self):
        cleaned = super().clean()
        self.search_params: dict[str, str] = {}
        q = (cleaned.get("q") or "").strip()
        if q and not cleaned.get("id_number") and not cleaned.get("phone"):
            kind = classify_search(q)
            if kind == "name":
                if digit_count(q) >= NUMBER_DIGITS:
                    # Part of a number, or a number with something around it: it must not travel to
                    # the list as a name in the URL, and it is not written back into the page.
                    raise ValidationError(
                        _(
                            "This is neither a name nor a full ID number or phone number. Type the "
                            "whole number alone, or search by name."
                        ),
                        code="partial_number",
                    )
                self.search_params = {"name": q}
                return cleaned
            cleaned[kind] = q
        if cleaned.get("id_number"):
            cleaned["id_number"] = id_number_typed(cleaned["id_number"])
        id_number, phone = cleaned.get("id_number"), cleaned.get("phone")
        if not id_number and not phone:
            raise ValidationError(_("Type a full ID number or phone number to search for."))
        if id_number:
            try:
                self.search_params["id_key"] = services.identity(id_number, field="id_number").index
            except ValidationError as exc:
                apply_service_errors(self, exc)
        if phone:
            try:
                self.search_params["phone_key"] = services.phone_and_index(phone, field="phone")[1]
            except ValidationError as exc:
                apply_service_errors(self, exc)
        return cleaned


class PlaceFilter(LedgerFilterSet):
    q = django_filters.CharFilter(label=_("Name or address"), method="filter_q")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=PlaceKind.choices, empty_label=_("Any kind"))
    unit = django_filters.CharFilter(label=_("Unit code (with everything below it)"), method="filter_unit")

    class Meta:
        model = Place
        fields = []
        form = LedgerFilterForm

    def filter_q(self, qs, name, value):
        value = value.strip()
        return qs.filter(Q(name__icontains=value) | Q(address__icontains=value)) if value else qs


class OrganisationFilter(PlaceFilter):
    kind = django_filters.ChoiceFilter(
        label=_("Kind"), choices=OrganisationKind.choices, empty_label=_("Any kind")
    )

    class Meta:
        model = Organisation
        fields = []
        form = LedgerFilterForm
