"""Pay and subsidies in the admin. Rules are edited here, through `payroll.services` (the service runs when
the form validates, inside the admin's transaction, so its field errors show on the form): an override of a
unit by a holder of MANAGE_PAY at or above it, a deployment-wide rule by a system administrator, and a
version already paid by a finalised sheet is read-only. Rewards are added here or on the reward page; sheets
and their lines are read-only (they are computed and finalised on the payroll pages). Every list is the
model's `visible_to`, so a village's keeper never sees another village's sheet or reward.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import ModelFormMetaclass
from django.utils.translation import gettext_lazy as _

from wangge.core.admin import ScopedAdmin, can
from wangge.people.roles import Capability

from . import services
from .models import AllowanceRule, InformationReward, PayLine, PayRule, PaySheet, pay_condition


class _AbstractModelFormMetaclass(ModelFormMetaclass, ABCMeta):
    """Lets a model form declare abstract methods."""


class ServiceForm(forms.ModelForm, metaclass=_AbstractModelFormMetaclass):
    """A model form whose validation is the service call itself (add and change alike)."""

    request = None
    saved = None

    @abstractmethod
    def write(self, by, instance, values):
        """Write through the service (`instance` None for an addition) and return the record; raise the
        service's ValidationError as is."""

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        values = {name: data.get(name) for name in self._meta.fields}
        try:
            self.saved = self.write(self.request.user, self.instance if self.instance.pk else None, values)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        except PermissionDenied as error:
            self.add_error(None, str(error) or _("Your role does not allow this."))
        return data

    def _post_clean(self):
        # The service validates (and writes); the model's own checks would only repeat its rules.
        pass


class PayRuleForm(ServiceForm):
    class Meta:
        model = PayRule
        fields = list(services.PAY_RULE_FIELDS)

    def write(self, by, instance, values):
        return services.save_pay_rule(by=by, rule=instance, **values)


class AllowanceRuleForm(ServiceForm):
    class Meta:
        model = AllowanceRule
        fields = list(services.ALLOWANCE_RULE_FIELDS)

    def write(self, by, instance, values):
        return services.save_allowance_rule(by=by, rule=instance, **values)


class RewardForm(ServiceForm):
    class Meta:
        model = InformationReward
        fields = ["person", "unit", "month", "amount", "reason", "case"]

    def write(self, by, instance, values):
        return services.grant_reward(by=by, **values)


class ServiceAdmin(ScopedAdmin):
    change_capability = Capability.MANAGE_PAY

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        return type(form_class.__name__, (form_class,), {"request": request})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "unit":
            kwargs["queryset"] = services.pay_units(request.user).select_related("level")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        obj.pk = form.saved.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        pass


class RuleAdmin(ServiceAdmin):
    list_select_related = ["unit"]

    def has_add_permission(self, request):
        return can(request, Capability.MANAGE_PAY) or can(request, Capability.CONFIGURE)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return self.has_add_permission(request)
        return services.can_edit_rule(request.user, obj) and not services.rule_is_paid(obj)

    def has_delete_permission(self, request, obj=None):
        if obj is None:
            return self.has_add_permission(request)
        return services.can_edit_rule(request.user, obj) and not obj.items.exists()

    def delete_model(self, request, obj):
        services.delete_rule(by=request.user, rule=obj)

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            services.delete_rule(by=request.user, rule=rule)


@admin.register(PayRule)
class PayRuleAdmin(RuleAdmin):
    form = PayRuleForm
    list_display = ["role", "unit", "valid_from", "pay_kind", "base_pay", "insurance_rate", "insurance_base"]
    list_filter = ["role", "pay_kind", "valid_from"]
    search_fields = ["unit__name", "unit__code", "source"]


@admin.register(AllowanceRule)
class AllowanceRuleAdmin(RuleAdmin):
    form = AllowanceRuleForm
    list_display = ["kind", "category", "unit", "valid_from", "amount", "monthly_cap"]
    list_filter = ["kind", "valid_from"]
    search_fields = ["unit__name", "unit__code", "category__name", "source"]
    list_select_related = ["unit", "category"]


@admin.register(InformationReward)
class InformationRewardAdmin(ServiceAdmin):
    form = RewardForm
    list_display = ["person", "unit", "month", "amount", "case", "granted_by", "withdrawn_at"]
    list_filter = ["month", ("withdrawn_at", admin.EmptyFieldListFilter)]
    search_fields = ["person__full_name", "person__username", "reason"]
    list_select_related = ["person", "unit", "case", "granted_by"]
    raw_id_fields = ["person", "case"]

    def get_queryset(self, request):
        # Keepers of pay only (a person's own rewards are shown on "my pay", not here).
        queryset = super().get_queryset(request)
        condition = pay_condition(request.user, "unit__path")
        return queryset if condition is None else queryset.filter(condition)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [f.name for f in self.model._meta.fields if f.name != "id"]
        return []

    def has_change_permission(self, request, obj=None):
        # A saved reward is withdrawn on the reward page, never edited.
        return obj is None and super().has_change_permission(request, obj)


class ReadOnlyAdmin(ScopedAdmin):
    change_capability = Capability.MANAGE_PAY

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        condition = pay_condition(request.user, self.model.scope_path_lookup)
        return queryset if condition is None else queryset.filter(condition)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PaySheet)
class PaySheetAdmin(ReadOnlyAdmin):
    list_display = [
        "unit",
        "month",
        "status",
        "people",
        "total",
        "budget_total",
        "computed_at",
        "finalised_at",
    ]
    list_filter = ["status", "month"]
    search_fields = ["unit__name", "unit__code"]
    list_select_related = ["unit"]
    date_hierarchy = "month"


@admin.register(PayLine)
class PayLineAdmin(ReadOnlyAdmin):
    list_display = ["person", "sheet", "unit", "base", "insurance", "allowance", "rewards", "total"]
    list_filter = ["sheet__month", "sheet__status"]
    search_fields = ["person__full_name", "person__username", "sheet__unit__name"]
    list_select_related = ["person", "sheet", "sheet__unit", "unit"]
    raw_id_fields = ["sheet", "person", "unit"]
    exclude = ["reward_records"]
