"""Forms of the ledger pages. They only parse input for a service call: the services validate the rules,
write, and log; their ValidationErrors come back onto these forms (core.forms.apply_service_errors).

Grids and units are chosen by code in a text field checked against the units the user keeps ledgers for
(services.ledger_units), with a <datalist> of those units when they are few enough to list; a grid of
registration (户籍, GRID-8) may be any current grid of the deployment. ID numbers and phones are shown in an
edit form only as the user may see them (masked, or unmasked and logged); a masked value sent back
unchanged means "keep the stored value". So is the date of birth of a person with an ID number: the
masked number hides exactly the digits that the date and the county's grid codes would give back.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from wangge.units.models import Unit

from . import privacy, services
from .choices import PARTY_ORGANISATION_KINDS, HouseholdStatus, ResidentStatus, TagGroup
from .models import AttentionTag, Household, Organisation, Place, Resident

# Above this many units the datalist would weigh more than it helps: the user types the code.
DATALIST_LIMIT = 500
# 村/社区 in every scheme: a person may join the party branch of their grid or of a level up to the village.
VILLAGE_RANK = 3


class UnitCodeInput(forms.TextInput):
    """A text input for a unit code, followed by a <datalist> of the units to choose from."""

    def __init__(self, attrs=None):
        super().__init__(
            {"autocomplete": "off", "inputmode": "numeric", "class": "unit-code", **(attrs or {})}
        )
        self.units = None

    def options(self) -> list[tuple[str, str]]:
        if self.units is None:
            return []
        rows = list(self.units.order_by("path").values_list("code", "name")[: DATALIST_LIMIT + 1])
        return [] if len(rows) > DATALIST_LIMIT else rows

    def render(self, name, value, attrs=None, renderer=None):
        attrs = dict(attrs or {})
        options = self.options()
        list_id = f"{attrs.get('id') or name}-units"
        if options:
            attrs["list"] = list_id
        html = super().render(name, value, attrs, renderer)
        if not options:
            return html
        items = format_html_join("", '<option value="{}">{}</option>', options)
        return mark_safe(html + format_html('<datalist id="{}">{}</datalist>', list_id, items))


class UnitCodeField(forms.CharField):
    """A unit code naming one of `units` (the user's ledger units); cleans to the Unit or None."""

    widget = UnitCodeInput

    def __init__(self, *, units=None, grids_only=False, not_found=None, **kwargs):
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)
        self.grids_only = grids_only
        self.not_found = not_found or _("No unit with the code %(code)s lies in your area.")
        self.set_units(units)

    def set_units(self, units) -> None:
        self.units = units
        if units is not None:
            self.widget.units = units.filter(level__is_grid=True) if self.grids_only else units

    def __deepcopy__(self, memo):
        result = super().__deepcopy__(memo)
        result.set_units(self.units)
        return result

    def clean(self, value):
        code = super().clean(value).strip()
        if not code:
            return None
        unit = (
            self.units.select_related("level").filter(code=code).first() if self.units is not None else None
        )
        if unit is None:
            raise ValidationError(self.not_found % {"code": code}, code="outside")
        return unit


class ServiceForm(forms.ModelForm):
    """A model's fields, parsed for a service. The form never builds, validates or saves the instance:
    `service_kwargs()` hands the cleaned values to the service, which does all of that."""

    unit_fields: dict[str, bool] = {}  # field name -> grids only
    # Grids of registration (户籍): any current grid of the deployment, not only the user's area (GRID-8).
    registration_fields: tuple[str, ...] = ()
    personal_fields: tuple[str, ...] = ()

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        units = services.ledger_units(user)
        model = self._meta.model
        for name, grids_only in self.unit_fields.items():
            if name not in self.fields:
                continue
            model_field = model._meta.get_field(name)
            anywhere = name in self.registration_fields
            self.fields[name] = UnitCodeField(
                units=Unit.objects.current() if anywhere else units,
                grids_only=grids_only,
                not_found=_("No current grid has the code %(code)s.") if anywhere else None,
                label=self.fields[name].label,
                required=not model_field.blank,
                help_text=self.fields[name].help_text,
            )
            unit = getattr(self.instance, name) if getattr(self.instance, f"{name}_id", None) else None
            self.initial[name] = unit.code if unit else ""
        self._personal_initial()

    def _personal_initial(self) -> None:
        """An existing record's ID numbers and phones as this user may see them (unmasked ones logged)."""
        present = [f for f in self.personal_fields if f in self.fields]
        if not self.instance.pk or not present:
            return
        if self.is_bound:
            return
        shown = privacy.personal_values(self.instance, present, self.user, reveal=True)
        for name in present:
            self.initial[name] = shown[name].value
            if shown[name].is_masked:
                self.fields[name].help_text = _("Shown masked. Leave it as it is to keep the stored number.")

    def _post_clean(self):
        """The services validate; nothing is constructed on the instance here."""

    def _unchanged_personal(self, name: str, value: str) -> bool:
        stored = getattr(self.instance, name, "") or ""
        return bool(self.instance.pk) and bool(stored) and value in (stored, privacy.masked(stored, name))

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        for name in self.personal_fields:
            if name in data and self._unchanged_personal(name, data[name]):
                del data[name]
        return data


class HouseholdForm(ServiceForm):
    unit_fields = {"grid": True, "registered_grid": True}
    registration_fields = ("registered_grid",)
    personal_fields = ("landlord_phone",)

    class Meta:
        model = Household
        fields = list(services.HOUSEHOLD_FIELDS)
        widgets = {
            "landlord_phone": forms.TextInput(attrs={"inputmode": "tel"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The number is the household's key; the grid changes through the move form, with a note.
            del self.fields["number"]
            del self.fields["grid"]


class ResidentForm(ServiceForm):
    """A member of `household` (a new one) or the person `instance`, who may move to another active
    household the user keeps (by its number)."""

    unit_fields = {"registered_grid": True}
    registration_fields = ("registered_grid",)
    personal_fields = ("id_number", "phone")

    household_number = forms.CharField(
        label=_("Household"),
        max_length=40,
        required=False,
        help_text=_("The number of the household the person belongs to; change it to move them to another."),
    )

    class Meta:
        model = Resident
        fields = [
            "name",
            "id_number",
            "phone",
            "birth_date",
            "sex",
            "relation",
            "ethnicity",
            "residence_type",
            "registered_grid",
            "registered_address",
            "occupation",
            "political_status",
            "party_organisation",
            "tags",
            "notes",
        ]
        widgets = {
            "id_number": forms.TextInput(attrs={"autocomplete": "off", "maxlength": 18}),
            "phone": forms.TextInput(attrs={"inputmode": "tel"}),
            "birth_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "tags": forms.CheckboxSelectMultiple,
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "sex": _("Taken from the ID number when one is given."),
            "birth_date": _("Only for a person without an ID number: with one, the date is read from it."),
            "registered_grid": _(
                "Only when the person's 户籍 lies in another grid than their household's: any current grid, "
                "by its code."
            ),
        }

    def __init__(self, *args, household: Household | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.household = self.instance.household if self.instance.pk else household
        if self.instance.pk:
            self.order_fields(["household_number", *self.fields])
            self.initial["household_number"] = self.instance.household.number
        else:
            del self.fields["household_number"]  # a new member joins the household of the page
        self.fields["id_number"].help_text = self.fields["id_number"].help_text or _(
            "18 characters (GB 11643); the date of birth and sex are read from it."
        )
        self._birth_date_initial()
        # Tags of special populations and key persons follow their records and listings, not this form.
        editable = AttentionTag.objects.filter(is_active=True).exclude(group=TagGroup.SPECIAL)
        self.fields["tags"].queryset = editable
        self.fields["tags"].required = False
        self.kept_tags = (
            list(self.instance.tags.exclude(pk__in=editable.values("pk"))) if self.instance.pk else []
        )
        field = self.fields["party_organisation"]
        field.queryset = self._party_organisations()
        field.label_from_instance = lambda org: f"{org.name} · {org.unit.name}"
        field.help_text = _("For party members: the party branch or group they belong to.")

    def _birth_date_initial(self) -> None:
        """A stored date of birth read from an ID number is shown only to whom the ID is shown unmasked."""
        if not self.instance.pk or not self.instance.id_number or self.is_bound:
            return
        if not privacy.can_unmask(self.user, self.instance):
            self.initial["birth_date"] = None

    def _party_organisations(self):
        """The party branches and groups the user sees, those on the household's grid and the levels above
        it up to the village (services._party_organisation_reachable accepts them whoever edits), and the
        person's current one, so saving another field keeps it."""
        households = [self.household]
        chosen = self._chosen_household()
        if chosen is not None:
            households.append(chosen)
        paths = {
            prefix
            for household in households
            if household is not None and household.grid_id
            for prefix in Unit.path_prefixes(household.grid.path)
        }
        reachable = Q(pk__in=Organisation.objects.visible_to(self.user).values("pk"))
        if paths:
            reachable |= Q(unit__path__in=paths, unit__level__rank__gte=VILLAGE_RANK)
        if self.instance.pk and self.instance.party_organisation_id:
            reachable |= Q(pk=self.instance.party_organisation_id)
        return (
            Organisation.objects.filter(reachable, kind__in=PARTY_ORGANISATION_KINDS)
            .select_related("unit")
            .order_by("unit__path", "name")
        )

    def _kept_households(self):
        return Household.objects.writable_by(self.user).filter(status=HouseholdStatus.ACTIVE)

    def _chosen_household(self) -> Household | None:
        """The household a bound edit form names, when the user keeps it (for the party choices)."""
        if not self.is_bound or "household_number" not in self.fields:
            return None
        number = (self.data.get(self.add_prefix("household_number")) or "").strip()
        if not number or number == self.household.number:
            return None
        return self._kept_households().select_related("grid").filter(number=number).first()

    def clean_household_number(self):
        """Blank or unchanged keeps the household; another number must name an active one the user keeps."""
        number = self.cleaned_data["household_number"].strip()
        if not number or number == self.household.number:
            return self.household.number
        if not self._kept_households().filter(number=number).exists():
            raise ValidationError(
                _("No active household with the number %(number)s is kept in your area.")
                % {"number": number},
                code="household",
            )
        return number

    def service_kwargs(self) -> dict:
        data = super().service_kwargs()
        number = data.pop("household_number", None)
        if number is not None and number != self.household.number:
            data["household"] = self._kept_households().get(number=number)
        data["tags"] = [*data.get("tags", []), *self.kept_tags]
        return data


class UnitLedgerForm(ServiceForm):
    """Places and organisations sit on any unit of the user's area."""

    unit_fields = {"unit": False}


class PlaceForm(UnitLedgerForm):
    class Meta:
        model = Place
        fields = list(services.PLACE_FIELDS)
        widgets = {
            "contact_phone": forms.TextInput(attrs={"inputmode": "tel"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }


class OrganisationForm(UnitLedgerForm):
    class Meta:
        model = Organisation
        fields = list(services.ORGANISATION_FIELDS)
        widgets = {
            "contact_phone": forms.TextInput(attrs={"inputmode": "tel"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }


class MoveHouseholdForm(forms.Form):
    grid = UnitCodeField(label=_("New grid of residence"), grids_only=True)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why and where the household moved; kept in its history."),
    )

    def __init__(self, *args, user, household: Household, **kwargs):
        super().__init__(*args, **kwargs)
        self.household = household
        self.fields["grid"].set_units(services.ledger_units(user))

    def clean_grid(self):
        grid = self.cleaned_data["grid"]
        if grid is not None and grid.pk == self.household.grid_id:
            raise ValidationError(_("The household already lives in this grid."))
        return grid


class CloseHouseholdForm(forms.Form):
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why the household is closed (销户); kept in its history."),
    )


class ResidentStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=ResidentStatus.choices)
    status_date = forms.DateField(label=_("Since"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Where the person moved to, or what the certificate says; kept in the history."),
    )

    def __init__(self, *args, resident: Resident, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [
            (value, label) for value, label in ResidentStatus.choices if value != resident.status
        ]
        self.fields["status_date"].initial = timezone.localdate()
