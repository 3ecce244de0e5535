"""Forms of the special-population records and of the key-person steps. They collect input; the rules are
in ledger.specials, whose ValidationErrors land on the named field (core.forms.apply_service_errors)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from . import specials
from .choices import AttentionLevel, KeyPersonCategory, ListingState

_DATE_FIELDS = ("release_date", "handover_date", "start_date", "end_date", "first_found")
_TEXTAREAS = ("help_notes",)


def special_record_form_class(kind: str) -> type[forms.Form]:
    """A form with the kind's data items and the shared fields, built from the model's fields."""
    model = specials.SPECIAL_KINDS[kind]
    names = specials.kind_fields(kind)
    widgets = {name: forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d") for name in _DATE_FIELDS}
    widgets.update({name: forms.Textarea(attrs={"rows": 4}) for name in _TEXTAREAS})
    fields = forms.fields_for_model(model, fields=names, widgets=widgets)
    for name in specials.SPECIAL_PERSONAL_FIELDS:
        if name in fields:
            label = model._meta.get_field(name).verbose_name
            fields[name] = forms.CharField(label=label, required=False, max_length=32)
    return type(f"{model.__name__}Form", (SpecialRecordForm,), {**fields, "kind": kind})


class SpecialRecordForm(forms.Form):
    """Guardian phones: shown in full only to those who may unmask; for others the field starts empty,
    shows the masked number as a placeholder, and left empty keeps the recorded number."""

    kind = ""

    def __init__(self, *args, masked_values: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.keep_when_empty = set()
        for name, shown in (masked_values or {}).items():
            if name in self.fields:
                self.keep_when_empty.add(name)
                if shown:
                    self.fields[name].widget.attrs["placeholder"] = shown
                    self.fields[name].help_text = _("Leave empty to keep the recorded number.")

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        for name in self.keep_when_empty:
            if not data.get(name):
                data.pop(name, None)
        return data


class KeyPersonApplyForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=KeyPersonCategory.choices)
    attention_level = forms.ChoiceField(
        label=_("Attention level"), choices=AttentionLevel.choices, initial=AttentionLevel.MEDIUM
    )
    reason = forms.CharField(label=_("Reason for listing"), widget=forms.Textarea(attrs={"rows": 5}))


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("Decision note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class DelistingForm(forms.Form):
    reason = forms.CharField(label=_("Reason for delisting"), widget=forms.Textarea(attrs={"rows": 3}))


def act_form_class(action: str) -> type[forms.Form]:
    return DelistingForm if action == "apply_delisting" else DecisionForm


class KeyPersonFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("Open listings")), ("all", _("All")), *ListingState.choices],
    )
    q = forms.CharField(label=_("Name"), required=False, max_length=64)
