"""The filters of every case list, shared by the desk queue, the API and exports."""

from __future__ import annotations

import django_filters
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.units.models import Unit

from .choices import OPEN_STATES, ActionKind, CaseState, Severity, Source
from .models import Case, CaseAction
from .services import due_soon_threshold


class DueFilter(django_filters.ChoiceFilter):
    CHOICES = [
        ("overdue", _("Overdue")),
        ("due_soon", _("Due soon")),
        ("on_track", _("On track")),
    ]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", self.CHOICES)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        now = timezone.now()
        if value == "overdue":
            return qs.overdue(now)
        if value == "due_soon":
            return qs.due_soon(now)
        return qs.filter(state__in=OPEN_STATES, stage_due_at__gt=due_soon_threshold(now))


class CaseFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Number, code or title"), method="filter_q")
    state = django_filters.MultipleChoiceFilter(label=_("Status"), choices=CaseState.choices)
    category = django_filters.CharFilter(label=_("Category code"), method="filter_category")
    source = django_filters.MultipleChoiceFilter(label=_("Source"), choices=Source.choices)
    severity = django_filters.ChoiceFilter(label=_("Severity"), choices=Severity.choices)
    unit = django_filters.CharFilter(label=_("Unit code (with everything below it)"), method="filter_unit")
    owner = django_filters.CharFilter(label=_("Responsible unit code"), method="filter_owner")
    due = DueFilter(label=_("Deadline"))
    reported_after = django_filters.DateFilter(
        label=_("Reported from"), field_name="created_at", lookup_expr="date__gte"
    )
    reported_before = django_filters.DateFilter(
        label=_("Reported until"), field_name="created_at", lookup_expr="date__lte"
    )
    registered_after = django_filters.DateFilter(
        label=_("Registered from"), field_name="registered_at", lookup_expr="date__gte"
    )
    registered_before = django_filters.DateFilter(
        label=_("Registered until"), field_name="registered_at", lookup_expr="date__lte"
    )
    closed_after = django_filters.DateFilter(
        label=_("Closed from"), field_name="closed_at", lookup_expr="date__gte"
    )
    closed_before = django_filters.DateFilter(
        label=_("Closed until"), field_name="closed_at", lookup_expr="date__lte"
    )
    due_after = django_filters.DateFilter(
        label=_("Original deadline from"), field_name="kpi_due_at", lookup_expr="date__gte"
    )
    due_before = django_filters.DateFilter(
        label=_("Original deadline until"), field_name="kpi_due_at", lookup_expr="date__lte"
    )
    reporter = django_filters.CharFilter(
        label=_("Reported by (user name)"), field_name="reporter__username", lookup_expr="exact"
    )
    handled_in_place_by = django_filters.CharFilter(
        label=_("Handled in place by (user name)"), method="filter_handled_in_place_by"
    )
    in_place = django_filters.BooleanFilter(label=_("Resolved in the grid"), field_name="resolved_in_place")
    escalated = django_filters.BooleanFilter(label=_("Escalated"), method="filter_escalated")
    rated = django_filters.BooleanFilter(label=_("Rated by the resident"), method="filter_rated")
    late = django_filters.BooleanFilter(label=_("Not closed by the original deadline"), method="filter_late")
    open = django_filters.BooleanFilter(label=_("Still open"), method="filter_open")
    long_term = django_filters.BooleanFilter(label=_("Long-term management"), method="filter_long_term")

    class Meta:
        model = Case
        fields = []

    def filter_q(self, qs, name, value):
        value = value.strip()
        if not value:
            return qs
        code = "".join(ch for ch in value.upper() if ch.isalnum())
        return qs.filter(Q(number=value) | Q(tracking_code=code) | Q(title__icontains=value))

    def filter_category(self, qs, name, value):
        return qs.filter(category__code__startswith=value.strip()) if value.strip() else qs

    def _path_of(self, code):
        unit = Unit.objects.filter(code=code.strip()).only("path").first()
        return unit.path if unit else None

    def filter_unit(self, qs, name, value):
        path = self._path_of(value)
        return qs.filter(unit__path__startswith=path) if path else qs.none()

    def filter_owner(self, qs, name, value):
        path = self._path_of(value)
        return qs.filter(owner_unit__path=path) if path else qs.none()

    def filter_handled_in_place_by(self, qs, name, value):
        if not value.strip():
            return qs
        done = CaseAction.objects.filter(kind=ActionKind.HANDLE_IN_PLACE, actor__username=value.strip())
        return qs.filter(pk__in=done.values("case_id"))

    def filter_escalated(self, qs, name, value):
        if value is None:
            return qs
        return qs.filter(escalation_count__gt=0) if value else qs.filter(escalation_count=0)

    def filter_rated(self, qs, name, value):
        if value is None:
            return qs
        return qs.exclude(rating="") if value else qs.filter(rating="")

    def filter_late(self, qs, name, value):
        """Past the original deadline without being closed by it (long-term management aside): the
        overdue count of the case figures."""
        if value is None:
            return qs
        late = Q(kpi_due_at__lt=timezone.now(), registered_at__isnull=False) & ~Q(state=CaseState.ON_HOLD)
        late &= Q(closed_at__isnull=True) | Q(closed_at__gt=F("kpi_due_at"))
        return qs.filter(late) if value else qs.exclude(late)

    def filter_open(self, qs, name, value):
        if value is None:
            return qs
        return qs.filter(state__in=OPEN_STATES) if value else qs.exclude(state__in=OPEN_STATES)

    def filter_long_term(self, qs, name, value):
        if value is None:
            return qs
        return qs.filter(state=CaseState.ON_HOLD) if value else qs.exclude(state=CaseState.ON_HOLD)
