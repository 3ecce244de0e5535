"""Ratings in the admin: providers are edited through `ratings.services.save_provider` (the form's
validation is the service's check, so its field errors show on the form); ratings are read-only and
scoped — a department rating's rater is shown only to who may read it (`DepartmentRating.objects.visible_to`:
never to the department rated), and resident ratings by the unit they were given from."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from wangge.core.admin import ScopedAdmin, can
from wangge.people.roles import Capability
from wangge.units.models import Unit

from . import services
from .models import DepartmentRating, ResidentRating, ServiceProvider


class ServiceProviderForm(forms.ModelForm):
    request = None

    class Meta:
        model = ServiceProvider
        fields = list(services.PROVIDER_FIELDS)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        provider = self.instance if self.instance.pk else None
        try:
            services.check_provider(
                by=self.request.user,
                provider=provider,
                **{name: data.get(name) for name in services.PROVIDER_FIELDS},
            )
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        except PermissionDenied as error:
            self.add_error(None, str(error) or _("Your role does not allow this."))
        return data


@admin.register(ServiceProvider)
class ServiceProviderAdmin(ScopedAdmin):
    change_capability = Capability.MANAGE_UNITS
    form = ServiceProviderForm
    list_display = ["name", "kind", "unit", "phone", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "unit__name"]
    list_select_related = ["unit"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        return type(form_class.__name__, (form_class,), {"request": request})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "unit":
            kwargs["queryset"] = (
                Unit.objects.current()
                .granting(request.user, Capability.MANAGE_UNITS)
                .filter(level__rank__in=services.PROVIDER_RANKS)
                .select_related("level")
                .order_by("path")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        # Providers kept above the user's units (the county's, seen by a township) are read-only for them.
        return obj is None or request.user.scope.grants(Capability.MANAGE_UNITS, obj.unit.path)

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data.get(name) for name in services.PROVIDER_FIELDS}
        saved = services.save_provider(by=request.user, provider=obj if change else None, **values)
        obj.pk = saved.pk
        obj.refresh_from_db()


class ReadOnlyRatingAdmin(ScopedAdmin):
    """Ratings are given on the rating pages; the admin lists them, scoped, and changes nothing."""

    view_capability = Capability.APPRAISE

    def has_module_permission(self, request):
        return can(request, Capability.USE_ADMIN) and can(request, self.view_capability)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DepartmentRating)
class DepartmentRatingAdmin(ReadOnlyRatingAdmin):
    list_display = ["rated_at", "case", "department", "rater", "rater_unit", "speed", "result", "attitude"]
    list_filter = ["department"]
    search_fields = ["case__number", "department__name"]
    list_select_related = ["case", "department", "rater", "rater_unit"]
    date_hierarchy = "rated_at"


@admin.register(ResidentRating)
class ResidentRatingAdmin(ReadOnlyRatingAdmin):
    list_display = ["rated_at", "provider", "unit", "quality", "responsiveness", "transparency", "comment"]
    list_filter = ["provider__kind"]
    search_fields = ["provider__name", "unit__name"]
    list_select_related = ["provider", "unit"]
    date_hierarchy = "rated_at"
