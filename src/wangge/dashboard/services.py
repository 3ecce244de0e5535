"""Who may open which unit's dashboard, and the dashboard of a unit assembled from the query layer
(`wangge.dashboard.figures`) for the page, the wall screen, the monthly report and the API alike."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from wangge.appraisal.indicators import Indicator
from wangge.appraisal.scorecards import Batch, work_figures
from wangge.cases.models import Case, CaseAction
from wangge.core.scope import scope_for
from wangge.fieldwork.models import PatrolRecord, Visit, WorkLog
from wangge.ledger.dossier import Figure as TagFigure
from wangge.ledger.dossier import subtree_ids, tag_counts
from wangge.people.models import Post
from wangge.people.roles import GRID_ROLES, Capability
from wangge.units.models import Unit

from .figures import Figures, midnight, previous_range, unit_figures
from .kpis import Kpi, KpiValue, targets

LIST_LIMIT = 20


def may_view(user, unit: Unit) -> bool:
    """The dashboard of `unit` is open to holders of VIEW_DASHBOARD at the unit or above it."""
    if not user.is_authenticated:
        return False
    return scope_for(user).grants(Capability.VIEW_DASHBOARD, unit.path)


def viewable_units(user):
    """The current units whose dashboard the user may open."""
    return Unit.objects.current().granting(user, Capability.VIEW_DASHBOARD)


def home_unit(user) -> Unit | None:
    """The unit a user's dashboard opens on: the highest they may view."""
    return viewable_units(user).select_related("level").order_by("depth", "path").first()


def children(unit: Unit, on: datetime.date | None = None) -> list[Unit]:
    """The unit's current children, for the drill-down."""
    return list(unit.children().current(on).select_related("level").order_by("path"))


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
    staff_ids = staff.values("user_id")
    start, end = midnight(today), midnight(today + datetime.timedelta(days=1))
    active: set[int] = set()
    for queryset, column in (
        (WorkLog.objects.filter(date=today), "author_id"),
        (Visit.objects.filter(date=today), "visitor_id"),
        (PatrolRecord.objects.filter(date=today), "patroller_id"),
        (CaseAction.objects.filter(time__gte=start, time__lt=end), "actor_id"),
    ):
        active.update(
            queryset.filter(**{f"{column}__in": staff_ids}).values_list(column, flat=True).distinct()
        )
    return StaffActivity(staff.values("user_id").distinct().count(), len(active))


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


# ---------------------------------------------------------------------------------------------------
# The whole dashboard of a unit


@dataclass
class Dashboard:
    unit: Unit
    first_day: datetime.date
    last_day: datetime.date
    figures: Figures
    previous: Figures
    children: list[Figures]
    kpis: list[KpiValue]
    previous_kpis: dict[str, KpiValue]
    staff: StaffActivity
    tags: list[TagFigure]
    overdue: CaseList
    due_soon: CaseList


def build_dashboard(user, unit: Unit, first_day, last_day, *, today=None, now=None) -> Dashboard:
    """Everything the dashboard of `unit` shows over [first_day, last_day], with the period before it."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    before_first, before_last = previous_range(first_day, last_day)
    kids = children(unit, today)
    kpi_targets = targets()
    current = unit_figures([unit, *kids], first_day, last_day, today=today, kpi_targets=kpi_targets)
    previous = unit_figures([unit], before_first, before_last, today=today, kpi_targets=kpi_targets)[unit]
    kpis = [*current[unit].kpis, *work_kpis(unit, first_day, last_day, kpi_targets, today=today)]
    previous_kpis = {k.kpi: k for k in previous.kpis}
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
        tags=attention_tags(user, unit),
        overdue=overdue_cases(unit, now),
        due_soon=due_soon_cases(unit, now),
    )
