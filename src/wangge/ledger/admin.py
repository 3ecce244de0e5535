"""The ledgers in the admin: the attention tags are configuration; every ledger record is read-only here.

Households, residents, places, organisations, special-population records, key-person listings and
imports are written only through ledger.services (the ledger pages, the import, the API's callers): the
admin lists what the user's scope holds (ScopedAdmin, `visible_to`), answers 404 outside it, and shows
ID numbers and phones masked only — and so, for a person with an ID number, the year of birth only: the
masked ID hides the county digits and the date of birth, and the county digits are in every grid code.
Searching residents goes by name, never by a personal number.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from wangge.core.admin import ConfigurationAdmin, ScopedAdmin, can
from wangge.people.roles import Capability

from . import privacy
from .models import (
    SPECIAL_RECORD_MODELS,
    AttentionTag,
    Household,
    ImportRun,
    KeyPersonListing,
    Organisation,
    Place,
    Resident,
)
from .views import birth_date_shown


@admin.register(AttentionTag)
class AttentionTagAdmin(ConfigurationAdmin):
    """关注标签: an editable list. A tag in use is retired with "in use", never deleted; its code is fixed
    once made, because the special-population records and the visit regime name tags by code."""

    list_display = ["name", "code", "group", "sort_order", "is_active"]
    list_editable = ["sort_order", "is_active"]
    list_filter = ["group", "is_active"]
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False


class LedgerReadOnlyAdmin(ScopedAdmin):
    """A ledger model read in the admin: the admin and the ledgers both needed, nothing written."""

    def has_module_permission(self, request):
        return can(request, Capability.USE_ADMIN) and can(request, Capability.VIEW_LEDGERS)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def masked_column(field: str, description):
    """A list or page column showing an encrypted value masked, for everyone."""

    @admin.display(description=description)
    def column(self, obj):
        return privacy.masked(getattr(obj, field, "") or "", field) or "—"

    column.__name__ = f"masked_{field}"
    return column


@admin.register(Household)
class HouseholdAdmin(LedgerReadOnlyAdmin):
    list_display = ["number", "address", "grid", "registered_grid", "is_rental", "status"]
    list_filter = ["status", "is_rental"]
    search_fields = ["number", "address"]
    list_select_related = ["grid", "registered_grid"]
    exclude = ["landlord_phone"]
    readonly_fields = ["masked_landlord_phone"]
    masked_landlord_phone = masked_column("landlord_phone", _("landlord's phone"))


@admin.register(Resident)
class ResidentAdmin(LedgerReadOnlyAdmin):
    list_display = [
        "name",
        "masked_id_number",
        "masked_phone",
        "household",
        "relation",
        "residence_type",
        "status",
    ]
    list_filter = ["status", "residence_type", "political_status", "relation"]
    search_fields = ["name"]
    list_select_related = ["household"]
    exclude = ["id_number", "phone", "birth_date"]
    readonly_fields = ["masked_id_number", "masked_phone", "shown_birth_date"]
    masked_id_number = masked_column("id_number", _("ID number"))
    masked_phone = masked_column("phone", _("phone"))

    @admin.display(description=_("date of birth"))
    def shown_birth_date(self, obj):
        """The pages' rule, never unmasked: the admin shows ID numbers masked to everyone."""
        return birth_date_shown(obj, unmasked=False) or "—"


@admin.register(Place)
class PlaceAdmin(LedgerReadOnlyAdmin):
    list_display = ["name", "kind", "unit", "contact_name", "contact_phone", "risk_level"]
    list_filter = ["kind", "risk_level"]
    search_fields = ["name", "address"]
    list_select_related = ["unit"]


@admin.register(Organisation)
class OrganisationAdmin(LedgerReadOnlyAdmin):
    list_display = ["name", "kind", "unit", "contact_name", "contact_phone", "member_count"]
    list_filter = ["kind"]
    search_fields = ["name", "address"]
    list_select_related = ["unit"]


class SpecialRecordAdmin(LedgerReadOnlyAdmin):
    list_display = ["resident", "attention_level", "helper_name", "is_closed", "updated_at"]
    list_filter = ["attention_level", "is_closed"]
    search_fields = ["resident__name"]
    list_select_related = ["resident"]


def register_special_record(model) -> None:
    """One read-only admin per 9+X kind, its encrypted fields (guardians' phones) shown masked."""
    encrypted = [f.name for f in model._meta.fields if f.name in privacy.PERSONAL_FIELDS]
    attributes = {
        "exclude": encrypted,
        "readonly_fields": [f"masked_{name}" for name in encrypted],
        **{
            f"masked_{name}": masked_column(name, model._meta.get_field(name).verbose_name)
            for name in encrypted
        },
    }
    admin.site.register(model, type(f"{model.__name__}Admin", (SpecialRecordAdmin,), attributes))


for special_model in SPECIAL_RECORD_MODELS:
    register_special_record(special_model)


@admin.register(KeyPersonListing)
class KeyPersonListingAdmin(LedgerReadOnlyAdmin):
    list_display = ["resident", "category", "state", "attention_level", "applying_unit", "applied_at"]
    list_filter = ["state", "category", "attention_level"]
    search_fields = ["resident__name"]
    list_select_related = ["resident", "applying_unit"]
    date_hierarchy = "applied_at"


@admin.register(ImportRun)
class ImportRunAdmin(LedgerReadOnlyAdmin):
    """Import reports hold masked values only; the uploaded file itself is not reachable here."""

    list_display = [
        "file_name",
        "kind",
        "unit",
        "user",
        "status",
        "row_count",
        "error_row_count",
        "created_at",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["file_name"]
    list_select_related = ["unit", "user"]
    exclude = ["stored_file"]
