"""Who may open which unit's dashboard, and the dashboard of a unit assembled from the query layer
(`wangge.dashboard.figures`) for the page, the wall screen, the monthly report and the API alike."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.appraisal.indicators import Indicator
from wangge.appraisal.scorecards import Batch, work_figures
from wangge.cases.models import Case, CaseAction
from wangge.core.scope import scope_for
from wangge.fieldwork.models import PatrolRecord, Visit, WorkLog
from wangge.ledger.choices import HouseholdStatus
from wangge.ledger.dossier import Figure as TagFigure
from wangge.ledger.dossier import subtree_ids, tag_counts
from wangge.ledger.models import Household
from wangge.people.models import Post
from wangge.people.roles import GRID_ROLES, Capability
from wangge.units.models import Unit

from .figures import Figures, midnight, previous_range, unit_figures
from .kpis import Kpi, KpiValue, ratio, targets

LIST_LIMIT = 20


def may_view(user, unit: Unit) -> bool:
    """The dashboard of `unit` is open to holders of VIEW_DASHBOARD at the unit or above it."""
    if not user.is_authenticated:
        return False
    return scope_for(user).grants(Capability.VIEW_DASHBOARD, unit.path)


def unit_for(user, code: str, *, current: bool = True) -> Unit:
    """The unit of a URL when the user may open its dashboard: PermissionDenied (403) for a user who may
    open none, Http404 for a unit out of the user's reach or unknown, like every scoped page. `current`
    False also finds a retired unit (its old reports stay readable)."""
    if not user.is_authenticated or not user.has_capability(Capability.VIEW_DASHBOARD):
        raise PermissionDenied
    units = Unit.objects.current() if current else Unit.objects.all()
    unit = units.select_related("level").filter(code=code).order_by("-effective_from").first()
    if unit is None or not may_view(user, unit):
        raise Http404
    return unit


def viewable_units(user):
    """The current units whose dashboard the user may open."""
    return Unit.objects.current().granting(user, Capability.VIEW_DASHBOARD)


def home_unit(user) -> Unit | None:
    """The unit a user's dashboard opens on: the highest they may view."""
    return viewable_units(user).select_related("level").order_by("depth", "path").first()


def children(unit: Unit, on: datetime.date | None = None) -> list[Unit]:
    """The unit's current children, for the drill-down."""
    return list(unit.children().current(on).select_related("level").order_by("path"))


def breadcrumbs(user, unit: Unit) -> list[Unit]:
    """The unit's ancestors whose dashboard the user may open, county first: the way back up."""
    above = (
        Unit.objects.filter(path__in=Unit.path_prefixes(unit.path)).select_related("level").order_by("path")
    )
    return [u for u in above if may_view(user, u)]


class RangePreset(models.TextChoices):
    """The ranges a command centre looks at most, each ending today."""

    THIS_MONTH = "month", _("This month")
    LAST_MONTH = "last_month", _("Last month")
    LAST_7_DAYS = "7d", _("Last 7 days")
    LAST_30_DAYS = "30d", _("Last 30 days")
    THIS_QUARTER = "quarter", _("This quarter")
    THIS_YEAR = "year", _("This year")


def preset_range(preset: str, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """[first, last] of a preset; last month ends on its last day, the others today."""
    if preset == RangePreset.LAST_MONTH:
        last = today.replace(day=1) - datetime.timedelta(days=1)
        return last.replace(day=1), last
    if preset == RangePreset.LAST_7_DAYS:
        return today - datetime.timedelta(days=6), today
    if preset == RangePreset.LAST_30_DAYS:
        return today - datetime.timedelta(days=29), today
    if preset == RangePreset.THIS_QUARTER:
        return today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1), today
    if preset == RangePreset.THIS_YEAR:
        return today.replace(month=1, day=1), today
    return today.replace(day=1), today


# ---------------------------------------------------------------------------------------------------
# Live figures beside the case counts


def work_kpis(unit: Unit, first_day, last_day, kpi_targets: dict, today=None) -> list[KpiValue]:
    """Log submission and visit coverage of the unit over the range (as the unit's scorecard counts them)."""
    batch = Batch(unit, first_day, last_day, today=today)
    found = work_figures(batch, [unit])[unit]
    pairs = ((Kpi.LOG_SUBMISSION, Indicator.LOG_RATE), (Kpi.VISIT_COVERAGE, Indicator.VISIT_COVERAGE))
    values = []
    for kpi, indicator in pairs:
        figure = found[indicator]
        values.append(
            KpiValue(kpi, figure.numerator or 0, figure.denominator or 0, figure.value, kpi_targets.get(kpi))
        )
    return values


@dataclass(frozen=True)
class StaffActivity:
    """Grid staff on duty under a unit today, and how many of them have done something today."""

    on_duty: int
    active: int


def staff_activity(unit: Unit, today: datetime.date | None = None) -> StaffActivity:
    """在岗 and 今日活跃: the holders of a grid post under the unit today, and those of them who wrote a work
    log, visited a household, patrolled or acted on a case today."""
    today = today or timezone.localdate()
    staff = Post.objects.active(today).filter(role__in=GRID_ROLES, unit__path__startswith=unit.path)
    staff_ids = set(staff.values_list("user_id", flat=True))
    start, end = midnight(today), midnight(today + datetime.timedelta(days=1))
    # A day's actors of the whole county are a few thousand ids: read them by the day's index and keep
    # the unit's staff in Python, rather than one IN (posts under the unit) per table.
    active: set[int] = set()
    for queryset, column in (
        (WorkLog.objects.filter(date=today), "author_id"),
        (Visit.objects.filter(date=today), "visitor_id"),
        (PatrolRecord.objects.filter(date=today), "patroller_id"),
        (CaseAction.objects.filter(time__gte=start, time__lt=end), "actor_id"),
    ):
        active.update(queryset.order_by().values_list(column, flat=True).distinct())
    return StaffActivity(len(staff_ids), len(active & staff_ids))


def attention_tags(user, unit: Unit) -> list[TagFigure]:
    """Residents under the unit per attention tag (重点人群), as the user's ledger scope sees them."""
    return tag_counts(user, subtree_ids(unit))


@dataclass
class CaseList:
    total: int
    cases: list[Case]


def _case_list(found, limit: int) -> CaseList:
    found = found.select_related("unit", "owner_unit", "category").order_by("stage_due_at", "id")
    return CaseList(found.count(), list(found[:limit]))


def overdue_cases(unit: Unit, now=None, limit: int = LIST_LIMIT) -> CaseList:
    """Open cases under the unit whose stage deadline has passed, the longest overdue first."""
    cases = Case.objects.filter(unit__path__startswith=unit.path)
    return _case_list(cases.overdue(now or timezone.now()), limit)


def due_soon_cases(unit: Unit, now=None, limit: int = LIST_LIMIT) -> CaseList:
    """Open cases under the unit whose stage deadline falls within the 临期 span, the soonest first."""
    cases = Case.objects.filter(unit__path__startswith=unit.path)
    return _case_list(cases.due_soon(now or timezone.now()), limit)


def new_cases(unit: Unit, since: datetime.datetime, limit: int = LIST_LIMIT) -> CaseList:
    """Cases registered under the unit since a moment, the newest first: the wall screen's rolling list."""
    found = Case.objects.filter(unit__path__startswith=unit.path, registered_at__gte=since)
    rows = found.select_related("unit", "category").order_by("-registered_at", "-id")
    return CaseList(found.count(), list(rows[:limit]))


# ---------------------------------------------------------------------------------------------------
# The map


class MapMetric(models.TextChoices):
    """What the map shades its grids by."""

    OPEN_PER_100 = "open_per_100", _("Open cases per 100 households")
    OVERDUE = "overdue", _("Overdue cases")
    VISIT_COVERAGE = "visit_coverage", _("Visit coverage")


@dataclass
class GridFigures:
    """One grid on the map: its open and overdue cases now, its households and its visit coverage over
    the range."""

    unit: Unit
    households: int
    open: int
    overdue: int
    visit_coverage: Decimal | None

    @property
    def open_per_100(self) -> Decimal | None:
        value = ratio(self.open * 100, self.households)
        return None if value is None else value.quantize(Decimal("0.01"))

    def metric(self, name: str):
        return getattr(self, name)


def leaf_grids(unit: Unit, on: datetime.date | None = None) -> list[Unit]:
    """The unit's current grids that have no current grid below them: the cells the map shades."""
    grids = list(
        Unit.objects.current(on)
        .grids()
        .filter(path__startswith=unit.path)
        .select_related("level")
        .order_by("path")
    )
    # Ordered by path, a grid's descendants follow it at once.
    return [
        grid
        for grid, after in zip(grids, [*grids[1:], None], strict=True)
        if after is None or not after.path.startswith(grid.path)
    ]


def _count_by(queryset, column: str) -> dict[int, int]:
    return dict(queryset.values_list(column).annotate(n=Count("pk")).values_list(column, "n"))


def grid_figures(unit: Unit, first_day, last_day, *, today=None, now=None) -> list[GridFigures]:
    """The map's figures of every leaf grid under the unit, each read in one grouped query."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    grids = leaf_grids(unit, today)
    if not grids:
        return []
    cases = Case.objects.filter(unit__path__startswith=unit.path)
    open_by_unit = _count_by(cases.open(), "unit_id")
    overdue_by_unit = _count_by(cases.overdue(now), "unit_id")
    households = _count_by(
        Household.objects.filter(grid__path__startswith=unit.path, status=HouseholdStatus.ACTIVE), "grid_id"
    )
    work = work_figures(Batch(unit, first_day, last_day, today=today, now=now), grids)
    return [
        GridFigures(
            unit=grid,
            households=households.get(grid.pk, 0),
            open=open_by_unit.get(grid.pk, 0),
            overdue=overdue_by_unit.get(grid.pk, 0),
            visit_coverage=work[grid][Indicator.VISIT_COVERAGE].value,
        )
        for grid in grids
    ]


@dataclass
class CasePoints:
    total: int
    cases: list[Case]


def case_points(unit: Unit, first_day, last_day, limit: int | None = None) -> CasePoints:
    """Cases registered under the unit over the range that have a location, the newest first, at most
    `WANGGE_DASHBOARD_MAP_POINTS` of them (a browser clusters a few thousand markers smoothly)."""
    limit = limit or settings.WANGGE_DASHBOARD_MAP_POINTS
    found = Case.objects.filter(
        unit__path__startswith=unit.path,
        registered_at__gte=midnight(first_day),
        registered_at__lt=midnight(last_day + datetime.timedelta(days=1)),
        lat__isnull=False,
        lng__isnull=False,
    )
    rows = found.only("id", "number", "title", "state", "lat", "lng").order_by("-registered_at", "-id")
    return CasePoints(found.count(), list(rows[:limit]))


# ---------------------------------------------------------------------------------------------------
# The whole dashboard of a unit


@dataclass
class Dashboard:
    unit: Unit
    first_day: datetime.date
    last_day: datetime.date
    figures: Figures
    previous: Figures | None  # None when built without the comparison (the wall screen)
    children: list[Figures]
    kpis: list[KpiValue]
    previous_kpis: dict[str, KpiValue]
    staff: StaffActivity
    tags: list[TagFigure]
    overdue: CaseList
    due_soon: CaseList


def build_dashboard(
    user,
    unit: Unit,
    first_day,
    last_day,
    *,
    today=None,
    now=None,
    compare=True,
    tags=True,
    list_limit=LIST_LIMIT,
) -> Dashboard:
    """Everything the dashboard of `unit` shows over [first_day, last_day], with the period before it.
    The wall screen, which refreshes every minute and shows neither, asks for no comparison, no tags
    and only the totals of the case lists (`list_limit=0`)."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    kids = children(unit, today)
    kpi_targets = targets()
    current = unit_figures([unit, *kids], first_day, last_day, today=today, kpi_targets=kpi_targets)
    kpis = [*current[unit].kpis, *work_kpis(unit, first_day, last_day, kpi_targets, today=today)]
    previous, previous_kpis = None, {}
    if compare:
        before_first, before_last = previous_range(first_day, last_day)
        previous = unit_figures([unit], before_first, before_last, today=today, kpi_targets=kpi_targets)[unit]
        previous_work = work_kpis(unit, before_first, before_last, kpi_targets, today=today)
        previous_kpis = {k.kpi: k for k in [*previous.kpis, *previous_work]}
    return Dashboard(
        unit=unit,
        first_day=first_day,
        last_day=last_day,
        figures=current[unit],
        previous=previous,
        children=[current[kid] for kid in kids],
        kpis=kpis,
        previous_kpis=previous_kpis,
        staff=staff_activity(unit, today),
        tags=attention_tags(user, unit) if tags else [],
        overdue=overdue_cases(unit, now, list_limit),
        due_soon=due_soon_cases(unit, now, list_limit),
    )
