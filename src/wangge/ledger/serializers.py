"""The ledgers over the API (read-only): households, residents, places and organisations.

ID numbers and phones of people are ALWAYS masked here, whoever asks: reading them unmasked is an act
on the record's page, where it is allowed by role and logged. Blind indexes never leave the server.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# One "UnitRef" component in the schema for every {code, name} reference to a unit.
from wangge.cases.serializers import UnitRefSerializer

from . import privacy
from .choices import (
    HouseholdStatus,
    OrganisationKind,
    PlaceKind,
    PoliticalStatus,
    Relation,
    ResidenceType,
    ResidentStatus,
    RiskLevel,
    Sex,
)
from .models import Household, Organisation, Place, Resident

MASKED_HELP = _("Always masked in the API (e.g. 5101********1234, 138****5678).")


class LedgerVocabularyField(serializers.ChoiceField):
    """A value of one ledger vocabulary; an empty value is answered as null rather than ""."""

    def to_representation(self, value):
        return super().to_representation(value) if value else None


def vocabulary(component: str, choices) -> type[LedgerVocabularyField]:
    """A choice field that is one named OpenAPI enum wherever it appears, so field names like `kind` or
    `status` never clash across resources (as cases.serializers does for the case vocabularies)."""
    field = type(f"{component}Field", (LedgerVocabularyField,), {"vocabulary": choices})
    values = [value for value in choices.values if value]
    return extend_schema_field({"type": "string", "enum": values}, component_name=component)(field)


HouseholdStatusField = vocabulary("HouseholdStatusEnum", HouseholdStatus)
ResidentStatusField = vocabulary("ResidentStatusEnum", ResidentStatus)
SexField = vocabulary("SexEnum", Sex)
RelationField = vocabulary("RelationEnum", Relation)
ResidenceTypeField = vocabulary("ResidenceTypeEnum", ResidenceType)
PoliticalStatusField = vocabulary("PoliticalStatusEnum", PoliticalStatus)
PlaceKindField = vocabulary("PlaceKindEnum", PlaceKind)
RiskLevelField = vocabulary("RiskLevelEnum", RiskLevel)
OrganisationKindField = vocabulary("OrganisationKindEnum", OrganisationKind)


def choice(field_class, **kwargs):
    return field_class(choices=field_class.vocabulary.choices, read_only=True, **kwargs)


@extend_schema_field({"type": "string", "description": str(MASKED_HELP)})
class MaskedField(serializers.Field):
    """An encrypted personal value, answered masked; "" when none is recorded."""

    def __init__(self, mask: str, **kwargs):
        self.mask = mask
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("help_text", MASKED_HELP)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return privacy.masked(value or "", self.mask)


class HouseholdRefSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-v1:household-detail", lookup_field="number")

    class Meta:
        model = Household
        fields = ["number", "url"]
        read_only_fields = fields


class OrganisationRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name"]
        read_only_fields = fields


class HouseholdSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-v1:household-detail", lookup_field="number")
    grid = UnitRefSerializer(read_only=True, allow_null=True, help_text=_("Where the household lives."))
    registered_grid = UnitRefSerializer(
        read_only=True,
        allow_null=True,
        help_text=_("Where its household register (户籍) lies, when that is another grid (GRID-8)."),
    )
    landlord_phone = MaskedField("landlord_phone")
    status = choice(HouseholdStatusField)
    member_count = serializers.IntegerField(
        read_only=True, help_text=_("Members on the register (not moved out or deceased).")
    )

    class Meta:
        model = Household
        fields = [
            "url",
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
            "status",
            "member_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ResidentSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-v1:resident-detail")
    household = HouseholdRefSerializer(read_only=True)
    grid = UnitRefSerializer(
        source="household.grid", read_only=True, allow_null=True, help_text=_("Where the person lives.")
    )
    registered_grid = serializers.SerializerMethodField(
        help_text=_(
            "Where the person's household register (户籍) lies when that is another grid: their own, "
            "else their household's (GRID-8)."
        )
    )
    id_number = MaskedField("id_number")
    phone = MaskedField("phone")
    age = serializers.IntegerField(read_only=True, allow_null=True)
    sex = choice(SexField, allow_null=True)
    relation = choice(RelationField)
    residence_type = choice(ResidenceTypeField)
    political_status = choice(PoliticalStatusField)
    party_organisation = OrganisationRefSerializer(read_only=True, allow_null=True)
    tags = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="code", help_text=_("Codes of the attention tags.")
    )
    status = choice(ResidentStatusField)

    class Meta:
        model = Resident
        fields = [
            "url",
            "id",
            "name",
            "sex",
            "age",
            "id_number",
            "phone",
            "household",
            "relation",
            "grid",
            "registered_grid",
            "residence_type",
            "ethnicity",
            "occupation",
            "political_status",
            "party_organisation",
            "tags",
            "status",
            "status_date",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(UnitRefSerializer(allow_null=True))
    def get_registered_grid(self, resident) -> dict | None:
        unit = resident.registered_grid or resident.household.registered_grid
        return UnitRefSerializer(unit).data if unit else None


class PlaceSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-v1:place-detail")
    unit = UnitRefSerializer(read_only=True)
    kind = choice(PlaceKindField)
    risk_level = choice(RiskLevelField, allow_null=True)

    class Meta:
        model = Place
        fields = [
            "url",
            "id",
            "unit",
            "kind",
            "name",
            "address",
            "lng",
            "lat",
            "contact_name",
            "contact_phone",
            "risk_level",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "contact_phone": {"help_text": _("A published duty contact, not a private person's phone.")}
        }


class OrganisationSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-v1:organisation-detail")
    unit = UnitRefSerializer(read_only=True)
    kind = choice(OrganisationKindField)
    party_member_count = serializers.IntegerField(
        read_only=True,
        help_text=_("Party members on the register linked to this organisation (party branches and groups)."),
    )

    class Meta:
        model = Organisation
        fields = [
            "url",
            "id",
            "unit",
            "kind",
            "name",
            "address",
            "lng",
            "lat",
            "contact_name",
            "contact_phone",
            "member_count",
            "party_member_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "contact_phone": {"help_text": _("A published duty contact, not a private person's phone.")}
        }
