"""Scoring schemes are configuration (system administrators, Capability.CONFIGURE): a version that has
scored a month is shown read-only, and a change is a new version from a later month. Monthly scores and
inspections are records: scoped, read-only here (the pages and the worker write them through services)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from wangge.core.admin import ConfigurationAdmin, ScopedAdmin
from wangge.people.roles import Capability

from . import services
from .models import Inspection, InspectionFinding, MonthlyScore, SchemeItem, ScoringScheme


class SchemeItemInline(admin.TabularInline):
    model = SchemeItem
    extra = 0
    fields = ["position", "indicator", "weight", "target", "deduction"]

    def _locked(self, obj) -> bool:
        return obj is not None and obj.is_used()

    def has_add_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_delete_permission(request, obj)

    def has_view_permission(self, request, obj=None):
        return True


class SchemeForm(forms.ModelForm):
    class Meta:
        model = ScoringScheme
        fields = ["subject", "name", "valid_from", "note"]

    def clean(self):
        data = super().clean()
        services.check_scheme_editable(self.instance)
        if data.get("subject") and data.get("valid_from"):
            services.check_scheme_start(data["subject"], data["valid_from"], self.instance)
        return data


@admin.register(ScoringScheme)
class ScoringSchemeAdmin(ConfigurationAdmin):
    form = SchemeForm
    list_display = ["name", "subject", "valid_from", "used"]
    list_filter = ["subject"]
    inlines = [SchemeItemInline]

    @admin.display(boolean=True, description=_("in use"))
    def used(self, obj):
        return obj.is_used()

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_used():
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_used():
            return False
        return super().has_delete_permission(request, obj)


class ReadOnlyScopedAdmin(ScopedAdmin):
    view_capability = Capability.APPRAISE

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MonthlyScore)
class MonthlyScoreAdmin(ReadOnlyScopedAdmin):
    list_display = ["month", "subject", "user", "unit", "total", "scheme"]
    list_filter = ["subject", "month"]
    search_fields = ["user__username", "user__full_name", "unit__code", "unit__name"]
    list_select_related = ["user", "unit", "scheme"]


class FindingInline(admin.TabularInline):
    model = InspectionFinding
    extra = 0
    can_delete = False
    fields = ["description", "deduction", "responsible", "rectify_by", "rectified_on", "case"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Inspection)
class InspectionAdmin(ReadOnlyScopedAdmin):
    list_display = ["inspected_on", "unit", "inspecting_unit", "recorded_by"]
    list_filter = ["inspected_on"]
    search_fields = ["unit__code", "unit__name"]
    list_select_related = ["unit", "inspecting_unit", "recorded_by"]
    inlines = [FindingInline]
