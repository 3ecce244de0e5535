"""Forms of the ledger pages. They only parse input for a service call: the services validate the rules,
write, and log; their ValidationErrors come back onto these forms (core.forms.apply_service_errors).

Grids and units are chosen by code in a text field checked against the units the user keeps ledgers for
(services.ledger_units), with a <datalist> of those units when they are few enough to list. ID numbers and
phones are shown in an edit form only as the user may see them (masked, or unmasked and logged); a
masked value sent back unchanged means "keep the stored value".
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from . import privacy, services
from .choices import PARTY_ORGANISATION_KINDS, ResidentStatus, TagGroup
from .models import AttentionTag, Household, Organisation, Place, Resident

# Above this many units the datalist would weigh more than it helps: the user types the code.
DATALIST_LIMIT = 500


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

    def __init__(self, *, units=None, grids_only=False, **kwargs):
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)
        self.grids_only = grids_only
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
            raise ValidationError(
                _("No unit with the code %(code)s lies in your area.") % {"code": code}, code="outside"
            )
        return unit


class ServiceForm(forms.ModelForm):
    """A model's fields, parsed for a service. The form never builds, validates or saves the instance:
    `service_kwargs()` hands the cleaned values to the service, which does all of that."""

    unit_fields: dict[str, bool] = {}  # field name -> grids only
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
            self.fields[name] = UnitCodeField(
                units=units,
                grids_only=grids_only,
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
    personal_fields = ("landlord_phone",)

    class Meta:
        model = Household
        fields = [
            "number",
            "grid",
            "registered_grid",
            "address",
            "door_number",
            "lng",
            "lat",
            "is_rental",
            "landlord_name",
            "landlord_phone",
            "notes",
        ]
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
    unit_fields = {"registered_grid": True}
    personal_fields = ("id_number", "phone")

    class Meta:
        model = Resident
        fields = [
            "name",
            "id_number",
            "phone",
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
            "tags": forms.CheckboxSelectMultiple,
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "sex": _("Taken from the ID number when one is given."),
            "registered_grid": _("Only when the person's 户籍 lies in another grid than their household's."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["id_number"].help_text = self.fields["id_number"].help_text or _(
            "18 characters (GB 11643); the date of birth and sex are read from it."
        )
        # Tags of special populations and key persons follow their records and listings, not this form.
        editable = AttentionTag.objects.filter(is_active=True).exclude(group=TagGroup.SPECIAL)
        self.fields["tags"].queryset = editable
        self.fields["tags"].required = False
        self.kept_tags = (
            list(self.instance.tags.exclude(pk__in=editable.values("pk"))) if self.instance.pk else []
        )
        parties = Organisation.objects.visible_to(self.user).filter(kind__in=PARTY_ORGANISATION_KINDS)
        field = self.fields["party_organisation"]
        field.queryset = parties.select_related("unit").order_by("unit__path", "name")
        field.label_from_instance = lambda org: f"{org.name} · {org.unit.name}"
        field.help_text = _("For party members: the party branch or group they belong to.")

    def service_kwargs(self) -> dict:
        data = super().service_kwargs()
        data["tags"] = [*data.get("tags", []), *self.kept_tags]
        return data


class UnitLedgerForm(ServiceForm):
    """Places and organisations sit on any unit of the user's area."""

    unit_fields = {"unit": False}


class PlaceForm(UnitLedgerForm):
    class Meta:
        model = Place
        fields = [
            "unit",
            "kind",
            "name",
            "address",
            "lng",
            "lat",
            "contact_name",
            "contact_phone",
            "risk_level",
            "notes",
        ]
        widgets = {
            "contact_phone": forms.TextInput(attrs={"inputmode": "tel"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }


class OrganisationForm(UnitLedgerForm):
    class Meta:
        model = Organisation
        fields = [
            "unit",
            "kind",
            "name",
            "address",
            "lng",
            "lat",
            "contact_name",
            "contact_phone",
            "member_count",
            "notes",
        ]
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
