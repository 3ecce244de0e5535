"""Resident points in the admin: rules and goods are edited here (through the services, scoped to the units
the user keeps), point books and their entries are read only — an entry is never changed or deleted; the
village's keepers reverse it on the point book page."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from wangge.core.admin import ScopedAdmin
from wangge.people.roles import Capability
from wangge.units.models import Unit

from . import services
from .models import PointBook, PointEntry, PointRule, ShopItem


def _add_errors(form, error) -> None:
    if isinstance(error, PermissionDenied):
        form.add_error(None, str(error) or _("Your role does not allow this."))
        return
    for name, messages in error.message_dict.items():
        form.add_error(name if name in form.fields else None, messages)


class RequestFormMixin:
    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        return type(form_class.__name__, (form_class,), {"request": request})


RULE_FIELDS = [
    "code",
    "name",
    "kind",
    "points",
    "unit",
    "yearly_cap",
    "period",
    "requires_case",
    "description",
    "is_active",
    "sort_order",
    "source",
]


class RuleForm(forms.ModelForm):
    request = None

    class Meta:
        model = PointRule
        fields = RULE_FIELDS

    def clean(self):
        data = super().clean()
        if "unit" in self.fields:
            try:
                services.check_rule_keeper(self.request.user, data.get("unit"))
            except ValidationError as error:
                _add_errors(self, error)
        return data


@admin.register(PointRule)
class PointRuleAdmin(RequestFormMixin, ScopedAdmin):
    """A village or township keeps its own rules; deployment-wide ones are kept by system administrators.
    A rule is never deleted (its entries name it): it is taken out of force."""

    form = RuleForm
    change_capability = Capability.MANAGE_POINTS_SHOP
    list_display = ["name", "code", "kind", "points", "yearly_cap", "period", "unit", "is_active"]
    list_filter = ["kind", "is_active", "period"]
    search_fields = ["name", "code", "unit__name"]
    list_select_related = ["unit"]
    fields = RULE_FIELDS

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or services.may_edit_rule(request.user, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "unit":
            kwargs["queryset"] = (
                Unit.objects.current()
                .granting(request.user, Capability.MANAGE_POINTS_SHOP)
                .filter(level__rank__lte=services.VILLAGE_RANK)
                .select_related("level")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        services.save_rule(by=request.user, rule=obj)


class ItemForm(forms.ModelForm):
    """Validated by the service itself: the goods are written when the form validates (inside the
    admin's transaction), so the service's field errors show on the form."""

    request = None
    saved = None

    class Meta:
        model = ShopItem
        fields = ["unit", "name", "description", "price", "stock", "is_active", "sort_order"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        user = self.request.user
        try:
            if self.instance.pk is None:
                self.saved = services.create_item(
                    by=user, **{name: data.get(name) for name in self.Meta.fields}
                )
            else:
                changes = {name: data[name] for name in services.ITEM_FIELDS if name in data}
                self.saved = services.update_item(by=user, item=self.instance, **changes)
        except (ValidationError, PermissionDenied) as error:
            _add_errors(self, error)
        return data

    def _post_clean(self):
        pass


@admin.register(ShopItem)
class ShopItemAdmin(RequestFormMixin, ScopedAdmin):
    """Goods of the villages' points shops. The stock is set when the goods are added; afterwards it moves
    by redemptions and by restocking on the shop page, both logged."""

    form = ItemForm
    change_capability = Capability.MANAGE_POINTS_SHOP
    list_display = ["name", "unit", "price", "stock", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "unit__name", "unit__code"]
    list_select_related = ["unit"]

    def get_readonly_fields(self, request, obj=None):
        return ["unit", "stock"] if obj is not None else []

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or services.may_keep(request.user, obj.unit)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "unit":
            kwargs["queryset"] = (
                Unit.objects.current()
                .granting(request.user, Capability.MANAGE_POINTS_SHOP)
                .filter(level__rank=services.VILLAGE_RANK)
                .select_related("level")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        obj.pk = form.saved.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        pass


class ReadOnlyAdmin(ScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PointBook)
class PointBookAdmin(ReadOnlyAdmin):
    """积分存折: read only; its entries are listed under point entries."""

    list_display = ["household", "balance", "entry_count", "updated_at"]
    search_fields = ["household__number", "household__address"]
    list_select_related = ["household"]
    fields = ["household", "balance", "entry_count", "created_at", "updated_at", "entries"]
    readonly_fields = fields

    @admin.display(description=_("entries"))
    def entries(self, obj):
        url = reverse("admin:points_pointentry_changelist") + f"?book__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Entries of this book"))


@admin.register(PointEntry)
class PointEntryAdmin(ReadOnlyAdmin):
    """Every movement of the point books: never changed, never deleted."""

    list_display = ["book", "seq", "date", "kind", "points", "balance_after", "rule", "item", "recorded_by"]
    list_filter = ["kind", "date"]
    search_fields = ["book__household__number", "note"]
    list_select_related = ["book__household", "rule", "item", "recorded_by"]
    date_hierarchy = "date"
    readonly_fields = [
        "book",
        "seq",
        "kind",
        "points",
        "balance_after",
        "date",
        "recorded_at",
        "recorded_by",
        "unit",
        "rule",
        "item",
        "quantity",
        "case",
        "selection",
        "reverses",
        "note",
        "client_uuid",
    ]
    fields = readonly_fields
