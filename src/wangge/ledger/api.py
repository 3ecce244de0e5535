"""The ledgers over the API, read-only: households, residents, places and organisations (INFO-1).

Lists start from `visible_to(request.user)` (territorial posts, dual-grid membership); one record out of
scope answers 404 like a missing one. The caller needs VIEW_LEDGERS: department users and users without
a post get 403, an anonymous caller 401. ID numbers and phones are always masked (see serializers); an
exact search by ID number or phone is a POST to `…/search/` (the number never goes into a URL, where
access logs and proxies would keep it) and goes through the blind index (`services.find_by_*`).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers as drf_serializers
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from wangge.api.authentication import AUTHENTICATION_CLASSES
from wangge.api.pagination import BoundedLimitOffsetPagination
from wangge.api.permissions import HasActivePost
from wangge.core.pii import id_number_problem, normalise_id_number, validate_phone
from wangge.people.roles import Capability
from wangge.units.models import Unit

from . import serializers as s
from . import services
from .choices import (
    PARTY_ORGANISATION_KINDS,
    HouseholdStatus,
    OrganisationKind,
    PlaceKind,
    PoliticalStatus,
    ResidenceType,
    ResidentStatus,
    RiskLevel,
)
from .filters import subtree_q
from .models import AttentionTag, Household, Organisation, Place, Resident

ANY_STATUS = "all"
MASKING_NOTE = (
    "ID numbers and phone numbers of people are ALWAYS masked in the API (e.g. 5101********1234, "
    "138****5678), whatever the caller's role: reading them unmasked is an act on the record's page, "
    "allowed by role and logged."
)
REFUSALS = {
    401: OpenApiResponse(description="No or invalid credentials."),
    403: OpenApiResponse(description="The caller holds no post, or none that opens the ledgers."),
}


class CanViewLedgers(HasActivePost):
    """A post that opens the ledgers (VIEW_LEDGERS): not department users, not users without a post."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if not request.user.has_capability(Capability.VIEW_LEDGERS):
            self.message = _("Your posts do not open the ledgers.")
            return False
        return True


# --- filters ----------------------------------------------------------------------------------------


class ExactSearchSerializer(drf_serializers.Serializer):
    """One exact value to find through the blind index; a malformed value is named (400), not just unfound."""

    id_number = drf_serializers.CharField(required=False, allow_blank=True, help_text=_("An ID number."))
    phone = drf_serializers.CharField(required=False, allow_blank=True, help_text=_("A phone number."))

    def validate_id_number(self, value):
        value = normalise_id_number(value)
        problem = id_number_problem(value) if value else None
        if problem:
            raise drf_serializers.ValidationError(problem)
        return value

    def validate_phone(self, value):
        value = value.strip()
        if not value:
            return value
        try:
            return validate_phone(value)
        except ValidationError as exc:
            raise drf_serializers.ValidationError(exc.message_dict["phone"]) from exc

    def validate(self, attrs):
        given = [key for key in ("id_number", "phone") if attrs.get(key)]
        if len(given) != 1:
            raise drf_serializers.ValidationError(_("Give exactly one of an ID number or a phone number."))
        return attrs


# Exact searches return what one number can match; more than this means the number is shared widely.
SEARCH_LIMIT = 100


class ExactSearchMixin:
    """POST …/search/ {"id_number": …} or {"phone": …}: the number travels in the body, never in a URL.

    A number in the query string of the list is refused with a pointer here, so a client that puts it
    there learns before a proxy log keeps it.
    """

    exact_search_fields = {"id_number": "id_number_index", "phone": "phone_index"}

    def list(self, request, *args, **kwargs):
        if leaked := [key for key in ("id_number", "phone") if key in request.query_params]:
            raise ApiValidationError(
                {
                    key: _("Send exact numbers by POST to the search endpoint, never in a URL.")
                    for key in leaked
                }
            )
        return super().list(request, *args, **kwargs)

    @action(detail=False, methods=["post"])
    def search(self, request):
        search = ExactSearchSerializer(data=request.data)
        search.is_valid(raise_exception=True)
        queryset = self.get_queryset()
        if id_number := search.validated_data.get("id_number"):
            if "id_number" not in self.exact_search_fields:
                raise ApiValidationError({"id_number": _("This list cannot be searched by ID number.")})
            queryset = services.find_by_id_number(queryset, id_number)
        else:
            queryset = services.find_by_phone(
                queryset, search.validated_data["phone"], field=self.exact_search_fields["phone"]
            )
        rows = queryset[:SEARCH_LIMIT]
        return Response(self.get_serializer(rows, many=True).data)


class LedgerFilterSet(filters.FilterSet):
    """`unit` narrows to a unit's subtree by code (a code missing or out of scope: nothing), `status` to
    one status with a default (`all` for any)."""

    unit_lookups: tuple[str, ...] = ("unit__path",)
    default_status = ""

    def __init__(self, data=None, *args, **kwargs):
        data = data.copy() if data is not None else {}
        if self.default_status:
            data.setdefault("status", self.default_status)
        super().__init__(data, *args, **kwargs)

    def filter_unit(self, queryset, name, value):
        user = self.request.user if self.request else None
        path = Unit.objects.visible_to(user).filter(code=value.strip()).values_list("path", flat=True).first()
        if path is None:  # missing or out of scope: the same empty answer
            return queryset.none()
        return queryset.filter(subtree_q(queryset.model, self.unit_lookups, path))

    def filter_status(self, queryset, name, value):
        return queryset if value == ANY_STATUS else queryset.filter(status=value)


def status_filter(choices, help_text):
    return filters.ChoiceFilter(
        choices=[*choices, (ANY_STATUS, _("Any status"))], method="filter_status", help_text=help_text
    )


class HouseholdFilterSet(LedgerFilterSet):
    unit = filters.CharFilter(
        method="filter_unit",
        help_text=_("Code of a unit: households living in its subtree or registered there (GRID-8)."),
    )
    status = status_filter(HouseholdStatus.choices, _("Default: active; `all` for any status."))
    is_rental = filters.BooleanFilter(help_text=_("Rented-out households (出租屋) only, or none of them."))
    address = filters.CharFilter(lookup_expr="icontains", help_text=_("Part of the address."))

    unit_lookups = Household.scope_path_lookups
    default_status = HouseholdStatus.ACTIVE

    class Meta:
        model = Household
        fields: list[str] = []


class ResidentFilterSet(LedgerFilterSet):
    unit = filters.CharFilter(
        method="filter_unit",
        help_text=_("Code of a unit: people living in its subtree or registered there (GRID-8)."),
    )
    status = status_filter(ResidentStatus.choices, _("Default: present; `all` for any status."))
    name = filters.CharFilter(lookup_expr="icontains", help_text=_("Part of the name."))
    tag = filters.ModelChoiceFilter(
        field_name="tags",
        to_field_name="code",
        queryset=AttentionTag.objects.all(),
        help_text=_("Code of an attention tag, e.g. dibao."),
    )
    household = filters.CharFilter(field_name="household__number", help_text=_("Household number."))
    residence_type = filters.ChoiceFilter(choices=ResidenceType.choices)
    political_status = filters.ChoiceFilter(choices=PoliticalStatus.choices)
    unit_lookups = Resident.scope_path_lookups
    default_status = ResidentStatus.PRESENT

    class Meta:
        model = Resident
        fields: list[str] = []


class PlaceFilterSet(LedgerFilterSet):
    unit = filters.CharFilter(method="filter_unit", help_text=_("Code of a unit: places in its subtree."))
    kind = filters.ChoiceFilter(choices=PlaceKind.choices)
    risk_level = filters.ChoiceFilter(choices=[c for c in RiskLevel.choices if c[0]])
    name = filters.CharFilter(lookup_expr="icontains", help_text=_("Part of the name."))

    class Meta:
        model = Place
        fields: list[str] = []


class OrganisationFilterSet(LedgerFilterSet):
    unit = filters.CharFilter(
        method="filter_unit", help_text=_("Code of a unit: organisations in its subtree.")
    )
    kind = filters.ChoiceFilter(choices=OrganisationKind.choices)
    name = filters.CharFilter(lookup_expr="icontains", help_text=_("Part of the name."))

    class Meta:
        model = Organisation
        fields: list[str] = []


# --- views ------------------------------------------------------------------------------------------


class LedgerViewSet(viewsets.ReadOnlyModelViewSet):
    authentication_classes = AUTHENTICATION_CLASSES
    permission_classes = [CanViewLedgers]
    pagination_class = BoundedLimitOffsetPagination
    lookup_value_regex = r"\d+"

    def filter_queryset(self, queryset):
        # Filters (with their status default) shape lists; a record in scope is reachable whatever its status.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)


@extend_schema_view(
    list=extend_schema(
        summary="List households",
        description="Households living or registered in the caller's area (dual grid), active by default. "
        + MASKING_NOTE,
        responses={200: s.HouseholdSerializer(many=True), **REFUSALS},
    ),
    search=extend_schema(
        summary="Find households by the landlord's exact phone",
        description='POST {"phone": …}: the number travels in the body, never in a URL. At most '
        f"{SEARCH_LIMIT} households in the caller's area. " + MASKING_NOTE,
        request=ExactSearchSerializer,
        responses={
            200: s.HouseholdSerializer(many=True),
            400: OpenApiResponse(description="A malformed value, named."),
            **REFUSALS,
        },
    ),
    retrieve=extend_schema(
        summary="Read one household by its number",
        description="A household outside the caller's area answers 404, like a missing one. " + MASKING_NOTE,
    ),
)
@extend_schema(tags=["ledgers"])
class HouseholdViewSet(ExactSearchMixin, LedgerViewSet):
    """户. A household outside the caller's area answers 404, exactly like a missing one."""

    serializer_class = s.HouseholdSerializer
    filterset_class = HouseholdFilterSet
    exact_search_fields = {"phone": "landlord_phone_index"}
    lookup_field = "number"
    lookup_value_regex = r"[^/]+"

    def get_queryset(self):
        return (
            Household.objects.visible_to(self.request.user)
            .select_related("grid", "registered_grid")
            .annotate(member_count=Count("members", filter=Q(members__status=ResidentStatus.PRESENT)))
            .order_by("number")
        )


@extend_schema_view(
    list=extend_schema(
        summary="List residents",
        description="People living or registered in the caller's area (dual grid), on the register by "
        "default. " + MASKING_NOTE,
        responses={200: s.ResidentSerializer(many=True), **REFUSALS},
    ),
    search=extend_schema(
        summary="Find residents by exact ID number or phone",
        description='POST {"id_number": …} or {"phone": …}: the number travels in the body, never '
        f"in a URL. At most {SEARCH_LIMIT} residents in the caller's area. " + MASKING_NOTE,
        request=ExactSearchSerializer,
        responses={
            200: s.ResidentSerializer(many=True),
            400: OpenApiResponse(description="A malformed value, named."),
            **REFUSALS,
        },
    ),
    retrieve=extend_schema(
        summary="Read one resident",
        description="A resident outside the caller's area answers 404, like a missing one. " + MASKING_NOTE,
    ),
)
@extend_schema(tags=["ledgers"])
class ResidentViewSet(ExactSearchMixin, LedgerViewSet):
    """人. A resident outside the caller's area answers 404, exactly like a missing one."""

    serializer_class = s.ResidentSerializer
    filterset_class = ResidentFilterSet

    def get_queryset(self):
        return (
            Resident.objects.visible_to(self.request.user)
            .select_related(
                "household__grid", "household__registered_grid", "registered_grid", "party_organisation"
            )
            .defer("household__landlord_phone")
            .prefetch_related(Prefetch("tags", queryset=AttentionTag.objects.only("pk", "code")))
            .order_by("household__number", "id")
        )


@extend_schema_view(
    list=extend_schema(
        summary="List places and things",
        description="Places in the caller's area; contact phones are published duty contacts.",
        responses={200: s.PlaceSerializer(many=True), **REFUSALS},
    ),
    retrieve=extend_schema(summary="Read one place"),
)
@extend_schema(tags=["ledgers"])
class PlaceViewSet(LedgerViewSet):
    """地、物. A place outside the caller's area answers 404, exactly like a missing one."""

    serializer_class = s.PlaceSerializer
    filterset_class = PlaceFilterSet

    def get_queryset(self):
        return (
            Place.objects.visible_to(self.request.user)
            .select_related("unit")
            .order_by("unit__path", "kind", "name", "id")
        )


@extend_schema_view(
    list=extend_schema(
        summary="List organisations",
        description="Organisations in the caller's area, with the party members linked to party branches "
        "and groups (GRID-9).",
        responses={200: s.OrganisationSerializer(many=True), **REFUSALS},
    ),
    retrieve=extend_schema(summary="Read one organisation"),
)
@extend_schema(tags=["ledgers"])
class OrganisationViewSet(LedgerViewSet):
    """组织. An organisation outside the caller's area answers 404, exactly like a missing one."""

    serializer_class = s.OrganisationSerializer
    filterset_class = OrganisationFilterSet

    def get_queryset(self):
        party = Q(kind__in=PARTY_ORGANISATION_KINDS)
        return (
            Organisation.objects.visible_to(self.request.user)
            .select_related("unit")
            .annotate(
                party_member_count=Count(
                    "party_members", filter=party & Q(party_members__status=ResidentStatus.PRESENT)
                )
            )
            .order_by("unit__path", "kind", "name", "id")
        )
