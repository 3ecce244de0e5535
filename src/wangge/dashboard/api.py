"""The command centre's figures over the API, for other platforms (PLAT-6): the same `build_dashboard` the
page and the wall screen show. Without the dashboard right the answer is 403; a unit out of the caller's
reach 404, like one that does not exist; a bad range 400 naming the field."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from wangge.api.authentication import AUTHENTICATION_CLASSES

from . import services
from .forms import RangeForm

RATE = {"max_digits": 5, "decimal_places": 4, "allow_null": True}
DAYS = {"max_digits": 8, "decimal_places": 2, "allow_null": True}


class PartSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()


class FiguresSerializer(serializers.Serializer):
    """A unit's case figures over the range; counts are of the days things happened (decision 0014)."""

    registered = serializers.IntegerField(help_text=gettext_lazy("Cases registered (立案) in the range."))
    closed = serializers.IntegerField(help_text=gettext_lazy("Cases closed (结案) in the range."))
    rejected = serializers.IntegerField(help_text=gettext_lazy("Reports found not to be cases."))
    due = serializers.IntegerField(help_text=gettext_lazy("Original deadlines that fell in the range."))
    closed_on_time = serializers.IntegerField(help_text=gettext_lazy("Of those, met."))
    overdue = serializers.IntegerField(help_text=gettext_lazy("Of those, missed."))
    self_resolved = serializers.IntegerField(help_text=gettext_lazy("Closed where they were found."))
    disputes = serializers.IntegerField(help_text=gettext_lazy("Disputes (矛盾纠纷) registered."))
    disputes_closed = serializers.IntegerField(help_text=gettext_lazy("Disputes closed."))
    petitions = serializers.IntegerField(help_text=gettext_lazy("Petitions (信访) registered."))
    average_days = serializers.DecimalField(**DAYS, help_text=gettext_lazy("Average working days to close."))
    median_days = serializers.DecimalField(**DAYS, help_text=gettext_lazy("Median working days to close."))
    by_status = PartSerializer(many=True)
    by_source = PartSerializer(many=True)
    by_level = PartSerializer(many=True, help_text=gettext_lazy("Closed cases by level of resolution."))
    by_category = PartSerializer(many=True)


class KpiSerializer(serializers.Serializer):
    kpi = serializers.CharField()
    label = serializers.CharField()
    numerator = serializers.DecimalField(max_digits=12, decimal_places=2)
    denominator = serializers.DecimalField(max_digits=12, decimal_places=2)
    value = serializers.DecimalField(
        **RATE, help_text=gettext_lazy("A fraction; null when nothing was measured.")
    )
    target = serializers.DecimalField(**RATE, help_text=gettext_lazy("A fraction; null for no target."))
    meets_target = serializers.BooleanField(allow_null=True)
    previous_value = serializers.DecimalField(**RATE)


class DashboardUnitSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.CharField(source="level.name")


class ChildSerializer(serializers.Serializer):
    unit = DashboardUnitSerializer()
    figures = FiguresSerializer(source="*")
    kpis = serializers.SerializerMethodField()

    @extend_schema_field(serializers.DictField(child=serializers.DecimalField(**RATE)))
    def get_kpis(self, figures) -> dict:
        return {k.kpi: None if k.value is None else str(k.value) for k in figures.kpis}


class RangeSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()


class OpenNowSerializer(serializers.Serializer):
    overdue = serializers.IntegerField(help_text=gettext_lazy("Open cases whose deadline has passed."))
    due_soon = serializers.IntegerField(help_text=gettext_lazy("Open cases whose deadline is near (临期)."))


class StaffSerializer(serializers.Serializer):
    on_duty = serializers.IntegerField()
    active = serializers.IntegerField()


class TagSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()


class DashboardSerializer(serializers.Serializer):
    unit = DashboardUnitSerializer()
    range = RangeSerializer()
    previous_range = RangeSerializer()
    figures = FiguresSerializer()
    previous_figures = FiguresSerializer()
    kpis = KpiSerializer(many=True)
    children = ChildSerializer(many=True)
    open_now = OpenNowSerializer()
    staff_today = StaffSerializer()
    attention_tags = TagSerializer(many=True)


def dashboard_document(board: services.Dashboard) -> dict:
    previous = board.previous_kpis
    return {
        "unit": board.unit,
        "range": {"start": board.first_day, "end": board.last_day},
        "previous_range": {"start": board.previous.first_day, "end": board.previous.last_day},
        "figures": board.figures,
        "previous_figures": board.previous,
        "kpis": [
            {
                "kpi": k.kpi,
                "label": k.label,
                "numerator": k.numerator,
                "denominator": k.denominator,
                "value": k.value,
                "target": k.target,
                "meets_target": k.meets_target,
                "previous_value": previous[k.kpi].value if k.kpi in previous else None,
            }
            for k in board.kpis
        ],
        "children": board.children,
        "open_now": {"overdue": board.overdue.total, "due_soon": board.due_soon.total},
        "staff_today": board.staff,
        "attention_tags": board.tags,
    }


class DashboardView(APIView):
    authentication_classes = AUTHENTICATION_CLASSES

    @extend_schema(
        tags=["dashboard"],
        summary="A unit's command-centre figures over a date range",
        description=(
            "The figures of the dashboard page: case counts and breakdowns, handling times, the KPIs "
            "with their targets and the previous period's values, the units below, open cases overdue "
            "and due soon now, grid staff active today, residents by attention tag. Without `start` and "
            "`end` (or a `preset`), the current month."
        ),
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATE, description="First day (inclusive)."),
            OpenApiParameter("end", OpenApiTypes.DATE, description="Last day (inclusive), not after today."),
            OpenApiParameter(
                "preset", OpenApiTypes.STR, enum=services.RangePreset.values, description="A named range."
            ),
        ],
        responses=DashboardSerializer,
    )
    def get(self, request, code: str):
        user = request.user
        unit = services.unit_for(user, code)
        now = timezone.now()
        today = timezone.localdate(now)
        form = RangeForm(request.query_params or None, today=today)
        if form.is_bound and not form.is_valid():
            errors = form.errors.get_json_data()
            raise exceptions.ValidationError({f: [e["message"] for e in errs] for f, errs in errors.items()})
        first_day, last_day = form.range()
        board = services.build_dashboard(user, unit, first_day, last_day, today=today, now=now)
        return Response(DashboardSerializer(dashboard_document(board)).data)
