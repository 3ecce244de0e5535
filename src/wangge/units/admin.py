import json

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from wangge.core.admin import ConfigurationAdmin, ScopedAdmin

from . import services
from .forms import GeoJSONField
from .models import HouseholdStandard, Unit, UnitLevel


class UnitAdminForm(forms.ModelForm):
    parent = forms.ModelChoiceField(queryset=Unit.objects.none(), label=_("Parent"), required=False)
    geometry = GeoJSONField(label=_("Boundary"))

    class Meta:
        model = Unit
        fields = [
            "name",
            "code",
            "level",
            "kind",
            "dedicated_type",
            "area_type",
            "min_households",
            "max_households",
            "effective_from",
            "description",
        ]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].required = False
        self.fields["code"].help_text = _("Leave empty to take the next free number under the parent.")
        if self.instance.pk:
            # Codes are stable and the tree position changes by "move" on the unit page.
            self.fields["code"].disabled = True
            self.fields["level"].disabled = True
            self.fields["effective_from"].disabled = True
            del self.fields["parent"]
            self.initial["geometry"] = (
                json.dumps(self.instance.geometry, ensure_ascii=False) if self.instance.geometry else ""
            )
        else:
            self.fields["parent"].queryset = Unit.objects.visible_to(user).current().select_related("level")

    def clean(self):
        data = super().clean()
        probe = Unit(
            kind=data.get("kind") or "",
            dedicated_type=data.get("dedicated_type") or "",
            level=data.get("level") or self.instance.level,
            min_households=data.get("min_households"),
            max_households=data.get("max_households"),
        )
        try:
            probe.clean()
            if self.instance.pk:
                services.geo.parse_boundary(data.get("geometry"))
            elif data.get("level"):
                services.validate_new_unit(
                    data.get("parent"), data["level"], data.get("code") or None, data.get("geometry")
                )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return data

    def _post_clean(self):
        # The tree rules need the parent, which the model form does not know: the services check them.
        pass


@admin.register(Unit)
class UnitAdmin(ScopedAdmin):
    form = UnitAdminForm
    list_display = ["name", "code", "level", "kind", "area_type", "effective_from", "effective_to"]
    list_filter = ["level", "kind", "area_type", ("effective_to", admin.EmptyFieldListFilter)]
    search_fields = ["name", "code"]
    list_select_related = ["level"]
    ordering = ["path"]
    readonly_fields = ["path", "depth"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)

        class BoundForm(form_class):
            def __init__(self, *args, **kw):
                super().__init__(*args, user=request.user, **kw)

        return BoundForm

    def get_fields(self, request, obj=None):
        fields = (
            list(self.form.base_fields)
            if obj is None
            else [f for f in self.form.base_fields if f != "parent"]
        )
        if obj is None:
            fields = ["parent", *[f for f in fields if f != "parent"]]
        return [*fields, "geometry"] if "geometry" not in fields else fields

    def has_change_permission(self, request, obj=None):
        if obj is not None and not request.user.can_manage_unit(obj):
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if change:
                editable = {f: data[f] for f in form.changed_data if f in services.EDITABLE_FIELDS}
                saved = services.update_unit(obj, by=request.user, **editable)
                if "geometry" in form.changed_data:
                    saved = services.redraw_boundary(saved, data["geometry"], by=request.user)
            else:
                saved = services.create_unit(
                    parent=data.get("parent"),
                    level=data["level"],
                    name=data["name"],
                    by=request.user,
                    code=data.get("code") or None,
                    kind=data["kind"],
                    dedicated_type=data["dedicated_type"],
                    area_type=data["area_type"],
                    geometry=data["geometry"],
                    effective_from=data["effective_from"],
                    description=data["description"],
                    min_households=data["min_households"],
                    max_households=data["max_households"],
                )
        except PermissionDenied:
            raise
        obj.pk = saved.pk
        obj.refresh_from_db()


class HouseholdStandardInline(admin.TabularInline):
    model = HouseholdStandard
    extra = 0


@admin.register(UnitLevel)
class UnitLevelAdmin(ConfigurationAdmin):
    list_display = ["name", "key", "rank", "is_grid", "code_digits"]
    filter_horizontal = ["allowed_parents"]
    inlines = [HouseholdStandardInline]


@admin.register(HouseholdStandard)
class HouseholdStandardAdmin(ConfigurationAdmin):
    list_display = ["level", "area_type", "min_households", "max_households", "source"]
    list_filter = ["level", "area_type"]
