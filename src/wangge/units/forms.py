import json

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import AreaType, DedicatedType, UnitKind
from .models import Unit, UnitLevel
from .services import EDITABLE_FIELDS


class GeoJSONField(forms.CharField):
    """A GeoJSON boundary typed or pasted as text; the services validate the shape itself."""

    widget = forms.Textarea(attrs={"rows": 4, "class": "mono", "spellcheck": "false"})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            _(
                "GeoJSON Polygon or MultiPolygon in longitude/latitude (WGS 84), e.g. exported from a GIS tool."
            ),
        )
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, dict):
            return json.dumps(value, ensure_ascii=False)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("This is not valid JSON (line %(line)d, column %(col)d)."),
                params={"line": exc.lineno, "col": exc.colno},
            ) from exc


class UnitCreateForm(forms.Form):
    level = forms.ModelChoiceField(queryset=UnitLevel.objects.none(), label=_("Level"))
    name = forms.CharField(label=_("Name"), max_length=100)
    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        required=False,
        help_text=_("Leave empty to take the next free number under this unit."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=UnitKind.choices)
    dedicated_type = forms.ChoiceField(
        label=_("Dedicated grid type"), choices=[("", "—"), *DedicatedType.choices], required=False
    )
    area_type = forms.ChoiceField(label=_("Area type"), choices=AreaType.choices)
    effective_from = forms.DateField(
        label=_("Effective from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    geometry = GeoJSONField(label=_("Boundary"))

    def __init__(self, *args, parent: Unit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level"].queryset = UnitLevel.objects.filter(allowed_parents=parent.level)
        self.fields["area_type"].initial = parent.area_type
        if (
            parent.level.is_grid
            or UnitLevel.objects.filter(allowed_parents=parent.level, is_grid=True).exists()
        ):
            self.fields["kind"].initial = UnitKind.COMPREHENSIVE


class UnitEditForm(forms.ModelForm):
    class Meta:
        model = Unit
        fields = list(EDITABLE_FIELDS)
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class RedrawForm(forms.Form):
    geometry = GeoJSONField(label=_("New boundary"))
    on = forms.DateField(
        label=_("In force from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class MoveForm(forms.Form):
    parent_code = forms.CharField(label=_("Code of the new parent unit"), max_length=40)


class SplitPartForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    geometry = GeoJSONField(label=_("Boundary"))


SplitFormSet = forms.formset_factory(SplitPartForm, extra=2, min_num=2, validate_min=True, max_num=12)


class SplitDateForm(forms.Form):
    on = forms.DateField(
        label=_("In force from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class MergeForm(forms.Form):
    units = forms.ModelMultipleChoiceField(
        queryset=Unit.objects.none(), label=_("Units to merge"), widget=forms.CheckboxSelectMultiple
    )
    name = forms.CharField(label=_("Name of the merged unit"), max_length=100)
    on = forms.DateField(
        label=_("In force from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, parent: Unit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["units"].queryset = parent.children().current().select_related("level").order_by("code")
        self.fields["units"].label_from_instance = lambda u: f"{u.name} ({u.code})"
