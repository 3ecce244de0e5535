"""Units (治理单元) over the API: read what is in scope, write only through `wangge.units.services`."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Length, Substr
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from wangge.units import geometry as geo
from wangge.units import services
from wangge.units.choices import AreaType, DedicatedType, UnitKind
from wangge.units.models import HouseholdStandard, Unit, UnitLevel, household_range

from .authentication import AUTHENTICATION_CLASSES
from .errors import service_errors, validation_detail
from .fields import GeoJSONBoundaryField
from .pagination import BoundedLimitOffsetPagination
from .renderers import GeoJSONRenderer

TRUE_VALUES = {"1", "true", "yes", "on"}


def with_parent_code(queryset):
    """Annotate `parent_code` in the same query: the parent's path is the unit's path less one step."""
    parent = Unit.objects.filter(
        path=Substr(OuterRef("path"), 1, Length(OuterRef("path")) - Unit.steplen)
    ).values("code")[:1]
    return queryset.annotate(parent_code=Subquery(parent))


def household_range_data(unit: Unit, standards) -> dict | None:
    found = household_range(unit, standards)
    if found is None:
        return None
    low, high, source = found
    return {"min_households": low, "max_households": high, "source": source}


# --- serializers ------------------------------------------------------------------------------------


class UnitLevelSerializer(serializers.ModelSerializer):
    class Meta:
        model = UnitLevel
        fields = ["key", "name"]


class HouseholdRangeSerializer(serializers.Serializer):
    min_households = serializers.IntegerField(allow_null=True)
    max_households = serializers.IntegerField(allow_null=True)
    source = serializers.ChoiceField(
        choices=[("unit", gettext_lazy("Set on the unit")), ("standard", gettext_lazy("Household standard"))]
    )


class UnitSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-v1:unit-detail", lookup_field="code")
    level = UnitLevelSerializer(read_only=True)
    parent_code = serializers.CharField(read_only=True, allow_null=True)
    is_current = serializers.BooleanField(read_only=True)
    household_standard = serializers.SerializerMethodField()

    class Meta:
        model = Unit
        fields = [
            "url",
            "code",
            "name",
            "level",
            "kind",
            "dedicated_type",
            "area_type",
            "parent_code",
            "depth",
            "effective_from",
            "effective_to",
            "is_current",
            "household_standard",
        ]
        read_only_fields = fields

    @extend_schema_field(HouseholdRangeSerializer(allow_null=True))
    def get_household_standard(self, unit) -> dict | None:
        standards = self.context.get("household_standards")
        if standards is None:
            standards = HouseholdStandard.table()
        return household_range_data(unit, standards)


class UnitDetailSerializer(UnitSerializer):
    geometry = GeoJSONBoundaryField(read_only=True, allow_null=True)

    class Meta(UnitSerializer.Meta):
        fields = [*UnitSerializer.Meta.fields, "description", "geometry"]
        read_only_fields = fields


def validate_boundary(value):
    """Check a boundary early, so its errors come back together with the other fields' errors."""
    try:
        geo.parse_boundary(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(validation_detail(exc)["geometry"]) from exc
    return value


class UnitWriteSerializer(serializers.Serializer):
    """The attributes a manager may set on a unit (`units.services.EDITABLE_FIELDS`) and its boundary."""

    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=UnitKind.choices, required=False)
    dedicated_type = serializers.ChoiceField(choices=DedicatedType.choices, required=False, allow_blank=True)
    area_type = serializers.ChoiceField(choices=AreaType.choices, required=False)
    min_households = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    max_households = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    description = serializers.CharField(required=False, allow_blank=True)
    geometry = GeoJSONBoundaryField(required=False, allow_null=True, validators=[validate_boundary])

    def validate(self, attrs):
        """Refuse fields this request cannot change, instead of silently ignoring them."""
        if isinstance(self.initial_data, dict):
            unknown = sorted(set(self.initial_data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [self.unknown_field_message(name)] for name in unknown}
                )
        return attrs

    def unknown_field_message(self, name: str) -> str:
        return _("This field cannot be set here.")


class UnitCreateSerializer(UnitWriteSerializer):
    parent = serializers.CharField(
        allow_null=True, help_text=gettext_lazy("Code of the parent unit; null only for a top-level unit.")
    )
    level = serializers.SlugRelatedField(slug_field="key", queryset=UnitLevel.objects.all())
    code = serializers.CharField(
        max_length=40,
        required=False,
        help_text=gettext_lazy("Leave out to take the next free code under the parent (GRID-5)."),
    )


class UnitUpdateSerializer(UnitWriteSerializer):
    """PATCH: every field optional. A new boundary is a redraw: the old one is kept with its dates."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)

    def unknown_field_message(self, name: str) -> str:
        if name == "parent":
            return _("Use the move action to hang a unit under another parent.")
        if name in {"code", "level"}:
            return _("A unit's code and level never change.")
        return super().unknown_field_message(name)


class UnitMoveSerializer(serializers.Serializer):
    parent = serializers.CharField(help_text=gettext_lazy("Code of the new parent unit."))


class UnitFeaturePropertiesSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=UnitKind.choices)
    level = serializers.CharField(source="level.key")
    level_name = serializers.CharField(source="level.name")


class UnitFeatureSerializer(serializers.Serializer):
    type = serializers.SerializerMethodField()
    id = serializers.CharField(source="code")
    geometry = GeoJSONBoundaryField(allow_null=True)
    properties = UnitFeaturePropertiesSerializer(source="*")

    @extend_schema_field({"type": "string", "enum": ["Feature"]})
    def get_type(self, unit) -> str:
        return "Feature"


class UnitFeatureCollectionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["FeatureCollection"])
    features = UnitFeatureSerializer(many=True)


# --- filters ----------------------------------------------------------------------------------------


class UnitFilterSet(filters.FilterSet):
    parent = filters.CharFilter(
        method="filter_parent", help_text=gettext_lazy("Code of a unit: only its direct children.")
    )
    level = filters.CharFilter(field_name="level__key", help_text=gettext_lazy("Level key, e.g. grid3."))
    kind = filters.ChoiceFilter(choices=UnitKind.choices)
    area_type = filters.ChoiceFilter(choices=AreaType.choices)
    current = filters.BooleanFilter(
        method="filter_current",
        help_text=gettext_lazy(
            "true (the default): units in force today; false: retired units and units not yet in force."
        ),
    )
    q = filters.CharFilter(
        method="filter_q", help_text=gettext_lazy("Part of the name, or the beginning of the code.")
    )

    class Meta:
        model = Unit
        fields: list[str] = []

    def __init__(self, data=None, *args, **kwargs):
        data = data.copy() if data is not None else {}
        data.setdefault("current", "true")
        super().__init__(data, *args, **kwargs)

    def filter_parent(self, queryset, name, value):
        user = self.request.user if self.request else None
        parent = Unit.objects.visible_to(user).filter(code=value).values_list("path", "depth").first()
        if parent is None:  # missing or out of scope: the same empty answer
            return queryset.none()
        path, depth = parent
        return queryset.filter(path__startswith=path, depth=depth + 1)

    def filter_current(self, queryset, name, value):
        if value:
            return queryset.current()
        today = timezone.localdate()
        return queryset.filter(Q(effective_from__gt=today) | Q(effective_to__lte=today))

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(code__startswith=value))


# --- views ------------------------------------------------------------------------------------------


def wants_geometry(request) -> bool:
    return request is not None and request.query_params.get("geometry", "").lower() in TRUE_VALUES


@extend_schema_view(
    list=extend_schema(
        summary="List units",
        description=(
            "Units in the caller's scope, in tree order. Boundaries are left out unless `geometry=1`; "
            "then every result also carries `description` and `geometry` as in the detail."
        ),
        parameters=[
            OpenApiParameter(
                "geometry", OpenApiTypes.BOOL, description="Include each unit's boundary (GeoJSON)."
            )
        ],
    ),
    retrieve=extend_schema(summary="Read one unit by its code", responses=UnitDetailSerializer),
)
@extend_schema(tags=["units"])
class UnitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """治理单元. A unit outside the caller's scope answers 404, exactly like a missing code."""

    authentication_classes = AUTHENTICATION_CLASSES
    lookup_field = "code"
    pagination_class = BoundedLimitOffsetPagination
    filterset_class = UnitFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        queryset = with_parent_code(Unit.objects.visible_to(self.request.user).select_related("level"))
        if self.action == "list" and not wants_geometry(self.request):
            queryset = queryset.defer("geometry", "description")
        return queryset

    def filter_queryset(self, queryset):
        # Filters (with their default `current=true`) shape lists; a unit is always reachable by its
        # code, retired or not, as long as it is in scope.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def get_serializer_class(self):
        if self.action == "list" and not wants_geometry(self.request):
            return UnitSerializer
        return UnitDetailSerializer

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["household_standards"] = SimpleLazyObject(HouseholdStandard.table)
        return context

    def detail_response(self, unit: Unit, status_code: int = status.HTTP_200_OK) -> Response:
        """Answer with the unit as the caller now sees it, re-read through their scope."""
        unit = self.get_queryset().get(pk=unit.pk)
        data = UnitDetailSerializer(unit, context=self.get_serializer_context()).data
        headers = {"Location": data["url"]} if status_code == status.HTTP_201_CREATED else None
        return Response(data, status=status_code, headers=headers)

    def visible_unit_or_404(self, code: str, field: str) -> Unit:
        """A unit named in the request body: missing and out of scope give the same 404."""
        unit = Unit.objects.visible_to(self.request.user).select_related("level").filter(code=code).first()
        if unit is None:
            raise exceptions.NotFound({field: [_("No unit with the code %(code)s.") % {"code": code}]})
        return unit

    def check_still_visible(self, unit: Unit) -> None:
        """After a write, inside its transaction: nobody may move a unit out of their own scope."""
        if not Unit.objects.visible_to(self.request.user).filter(pk=unit.pk).exists():
            raise exceptions.PermissionDenied(_("The change would take the unit out of your scope."))

    @extend_schema(
        summary="Create a unit",
        request=UnitCreateSerializer,
        responses={201: UnitDetailSerializer},
        description=(
            "Creates a unit under `parent` through the unit services (code rule, level scheme, boundary "
            "checks, change log). A parent outside the caller's scope answers 404; a parent in scope "
            "where the caller may not create units answers 403."
        ),
    )
    def create(self, request, *args, **kwargs):
        serializer = UnitCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        parent_code = data.pop("parent")
        parent = self.visible_unit_or_404(parent_code, "parent") if parent_code else None
        with transaction.atomic(), service_errors():
            unit = services.create_unit(parent=parent, by=request.user, **data)
            self.check_still_visible(unit)
        return self.detail_response(unit, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Edit a unit",
        request=UnitUpdateSerializer,
        responses=UnitDetailSerializer,
        description=(
            "Changes a unit's attributes; a `geometry` redraws its boundary and keeps the old one with "
            "its dates. All of it happens in one transaction, or nothing does. The code, level and "
            "parent are not editable here (see `move`)."
        ),
    )
    def partial_update(self, request, *args, **kwargs):
        unit = self.get_object()
        serializer = UnitUpdateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        redraw = "geometry" in changes
        geometry = changes.pop("geometry", None)
        with transaction.atomic(), service_errors():
            # Called even with no attribute change, so an empty PATCH is still permission-checked.
            unit = services.update_unit(unit, by=request.user, **changes)
            if redraw:
                unit = services.redraw_boundary(unit, geometry, by=request.user)
            self.check_still_visible(unit)
        return self.detail_response(unit)

    @extend_schema(
        summary="Move a unit under another parent",
        request=UnitMoveSerializer,
        responses=UnitDetailSerializer,
        description=(
            "Hangs the unit and its subtree under `parent`. Codes do not change: they are stable "
            "identifiers. A parent outside the caller's scope answers 404."
        ),
    )
    @action(detail=True, methods=["post"])
    def move(self, request, *args, **kwargs):
        unit = self.get_object()
        serializer = UnitMoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        new_parent = self.visible_unit_or_404(serializer.validated_data["parent"], "parent")
        with transaction.atomic(), service_errors():
            unit = services.move_unit(unit, new_parent, by=request.user)
            self.check_still_visible(unit)
        return self.detail_response(unit)

    @extend_schema(
        summary="A unit's current children as GeoJSON",
        description=(
            "A GeoJSON FeatureCollection (`application/geo+json`) of the unit's children in force "
            "today, for maps. Each feature's id is the unit code."
        ),
        responses=UnitFeatureCollectionSerializer,
    )
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        pagination_class=None,
        renderer_classes=[GeoJSONRenderer, JSONRenderer],
    )
    def children(self, request, *args, **kwargs):
        unit = self.get_object()
        children = (
            Unit.objects.visible_to(request.user)
            .current()
            .filter(path__startswith=unit.path, depth=unit.depth + 1)
            .select_related("level")
            .only("code", "name", "kind", "geometry", "level__key", "level__name")
        )
        collection = {"type": "FeatureCollection", "features": children}
        return Response(UnitFeatureCollectionSerializer(collection).data)
