"""月度通报: a unit's monthly report (issue 7) — its KPIs against their targets and last month, the headline
counts, the ranking of its subordinate units, the cases overdue when it is generated and the major cases
of the month — built from the command centre's query layer (`wangge.dashboard.figures`, `services`) and
frozen as a JSON document in a `MonthlyReport` row. The PDF and the .xlsx are drawn from the stored
document (`report_exports`), so a report reads the same however often it is downloaded.

The worker generates last month's report of every administrative unit down to the villages on the first
working day of a month (`issue_monthly_reports`); anyone who may open a unit's dashboard may generate a
finished month again on demand (`generate`), which replaces the stored document.

Settings: WANGGE_REPORT_OVERDUE_LIMIT (cases listed in the overdue list, default 50),
WANGGE_REPORT_NOTABLE_LIMIT (major cases listed, default 100), WANGGE_REPORT_SWEEP_BATCH (reports the
worker generates in one pass, default 50, so that the deadline sweeps are not held up; the rest follow
in the next passes).
"""

from __future__ import annotations

import datetime
import logging
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.appraisal.services import first_working_day, month_start
from wangge.cases.choices import CaseState
from wangge.cases.metrics import DAY_US, WorkingClock
from wangge.cases.models import Case
from wangge.core.scope import scope_for
from wangge.people.roles import Capability
from wangge.units.models import Unit, UnitKind

from .figures import MAJOR_SEVERITIES, Figures, midnight, previous_range, unit_figures
from .kpis import Kpi, KpiValue, targets
from .models import MonthlyReport
from .services import CaseList, children, overdue_cases, work_kpis

log = logging.getLogger("wangge.dashboard")

DOCUMENT_VERSION = 1
ONE_DAY = datetime.timedelta(days=1)
DAYS_PLACES = Decimal("0.01")
# The administrative levels the worker reports on: county (1), township (2), village (3).
SWEEP_MAX_RANK = 3
# The KPIs each subordinate unit is compared on, in the ranking's columns.
RANKING_KPIS = (Kpi.ON_TIME_CLOSURE, Kpi.DISPUTES_RESOLVED_LOCALLY, Kpi.SATISFACTION)


# ---------------------------------------------------------------------------------------------------
# Months


def month_end(day: datetime.date) -> datetime.date:
    """The last day of the month of `day`."""
    return (month_start(day) + datetime.timedelta(days=32)).replace(day=1) - ONE_DAY


def previous_month(day: datetime.date) -> datetime.date:
    """The first day of the month before the month of `day`."""
    return month_start(month_start(day) - ONE_DAY)


def check_month(unit: Unit, month: datetime.date, today: datetime.date) -> datetime.date:
    """The first day of `month`, when a report on it may be generated: the month is over and the unit was
    in force during it. Raises ValidationError on `month` otherwise."""
    first, last = month_start(month), month_end(month)
    if last >= today:
        raise ValidationError({"month": _("A month is reported on once it is over.")})
    if unit.effective_from > last or (unit.effective_to is not None and unit.effective_to <= first):
        raise ValidationError(
            {
                "month": _("%(unit)s was not in force in %(month)s.")
                % {"unit": unit.name, "month": f"{first:%Y-%m}"}
            }
        )
    return first


# ---------------------------------------------------------------------------------------------------
# The document


def _decimal(value) -> str | None:
    """A Decimal as its exact text in the document (JSON has no decimals); None stays None."""
    return None if value is None else str(value)


def _number(value) -> int | str | None:
    if value is None or isinstance(value, int):
        return value
    return str(value)


def _moment(value: datetime.datetime | None) -> str | None:
    return None if value is None else timezone.localtime(value).isoformat()


def _kpi(value: KpiValue, previous: KpiValue | None) -> dict:
    return {
        "kpi": value.kpi,
        "numerator": _number(value.numerator),
        "denominator": _number(value.denominator),
        "value": _decimal(value.value),
        "target": _decimal(value.target),
        "meets_target": value.meets_target,
        "previous": _decimal(previous.value) if previous is not None else None,
    }


def _headline(f: Figures, on_time: KpiValue) -> dict:
    return {
        "registered": f.registered,
        "closed": f.closed,
        "rejected": f.rejected,
        "closed_on_time": f.closed_on_time,
        "due": f.due,
        "due_met": on_time.numerator,
        "on_time_closure": _decimal(on_time.value),
        "overdue": f.overdue,
        "self_resolved": f.self_resolved,
        "average_days": _decimal(f.average_days),
        "median_days": _decimal(f.median_days),
    }


def rank_children(child_figures: list[Figures]) -> list[tuple[int | None, Figures]]:
    """The subordinate units by on-time closure rate, best first; equal rates share a rank (1, 2, 2, 4)
    and stand in the tree's order (the order of the codes); units with no deadline in the month have no
    rate and no rank and come last, in the tree's order."""
    rated, unrated = [], []
    for f in child_figures:
        (rated if f.kpi(Kpi.ON_TIME_CLOSURE).value is not None else unrated).append(f)
    rated.sort(key=lambda f: (-f.kpi(Kpi.ON_TIME_CLOSURE).value, f.unit.path))
    unrated.sort(key=lambda f: f.unit.path)
    ranked: list[tuple[int | None, Figures]] = []
    previous = None
    for position, f in enumerate(rated, start=1):
        value = f.kpi(Kpi.ON_TIME_CLOSURE).value
        rank = ranked[-1][0] if previous is not None and value == previous else position
        ranked.append((rank, f))
        previous = value
    return ranked + [(None, f) for f in unrated]


def _ranking_row(rank: int | None, f: Figures) -> dict:
    row = {
        "rank": rank,
        "code": f.unit.code,
        "name": f.unit.name,
        "registered": f.registered,
        "closed": f.closed,
        "due": f.due,
        "overdue": f.overdue,
        "self_resolved": f.self_resolved,
        "average_days": _decimal(f.average_days),
    }
    for kpi in RANKING_KPIS:
        row[kpi] = _decimal(f.kpi(kpi).value)
    return row


def _overdue_row(case: Case, now: datetime.datetime, clock: WorkingClock) -> dict:
    days = Decimal(max(0, clock.span(case.stage_due_at, now))) / DAY_US
    return {
        "number": case.number or "",
        "title": case.title,
        "unit": case.unit.name,
        "unit_code": case.unit.code,
        "owner_unit": case.owner_unit.name if case.owner_unit_id else "",
        "category": case.category.name if case.category_id else "",
        "state": case.state,
        "stage": case.stage,
        "stage_due_at": _moment(case.stage_due_at),
        "overdue_days": _decimal(days.quantize(DAYS_PLACES, rounding=ROUND_HALF_UP)),
    }


def notable_cases(unit: Unit, first_day: datetime.date, last_day: datetime.date, limit: int) -> CaseList:
    """重大案件: cases under the unit of major or grave severity registered in [first_day, last_day], in
    the order they were registered."""
    found = (
        Case.objects.filter(
            unit__path__startswith=unit.path,
            severity__in=MAJOR_SEVERITIES,
            registered_at__gte=midnight(first_day),
            registered_at__lt=midnight(last_day + ONE_DAY),
        )
        .select_related("unit", "category")
        .order_by("registered_at", "id")
    )
    return CaseList(found.count(), list(found[:limit]))


def _notable_row(case: Case) -> dict:
    return {
        "number": case.number or "",
        "title": case.title,
        "unit": case.unit.name,
        "unit_code": case.unit.code,
        "category": case.category.name if case.category_id else "",
        "severity": case.severity,
        "state": case.state,
        "closed": case.state == CaseState.CLOSED,
        "registered_at": _moment(case.registered_at),
        "closed_at": _moment(case.closed_at),
    }


def build_report(unit: Unit, month: datetime.date, *, now: datetime.datetime | None = None) -> dict:
    """The report of `unit` on the month of `month`, as a JSON-able document, as things stand at `now`."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    first, last = month_start(month), month_end(month)
    before_first, before_last = previous_range(first, last)  # the month before, as on the dashboard
    kpi_targets = targets()
    kids = children(unit, last)
    current = unit_figures([unit, *kids], first, last, today=today, kpi_targets=kpi_targets)
    before = unit_figures([unit], before_first, before_last, today=today, kpi_targets=kpi_targets)[unit]
    figures = current[unit]
    previous = {k.kpi: k for k in before.kpis}
    previous.update({k.kpi: k for k in work_kpis(unit, before_first, before_last, kpi_targets, today=today)})
    kpis = [*figures.kpis, *work_kpis(unit, first, last, kpi_targets, today=today)]

    overdue = overdue_cases(unit, now, settings.WANGGE_REPORT_OVERDUE_LIMIT)
    clock = WorkingClock()
    notable = notable_cases(unit, first, last, settings.WANGGE_REPORT_NOTABLE_LIMIT)
    return {
        "version": DOCUMENT_VERSION,
        "unit": {"code": unit.code, "name": unit.name, "level": unit.level.name},
        "month": f"{first:%Y-%m}",
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "previous_month": f"{before_first:%Y-%m}",
        "generated_at": _moment(now),
        "headline": _headline(figures, figures.kpi(Kpi.ON_TIME_CLOSURE)),
        "kpis": [_kpi(k, previous.get(k.kpi)) for k in kpis],
        "ranking": [_ranking_row(rank, f) for rank, f in rank_children([current[kid] for kid in kids])],
        "overdue": {
            "total": overdue.total,
            "limit": settings.WANGGE_REPORT_OVERDUE_LIMIT,
            "cases": [_overdue_row(case, now, clock) for case in overdue.cases],
        },
        "notable": {
            "total": notable.total,
            "limit": settings.WANGGE_REPORT_NOTABLE_LIMIT,
            "cases": [_notable_row(case) for case in notable.cases],
        },
    }


# ---------------------------------------------------------------------------------------------------
# Storing a report


def may_issue(user, unit: Unit) -> bool:
    """Generating a report (again) issues it in the unit's name and replaces the one issued before: the
    desks that appraise the unit (county command, township and village desks) may; a grid leader, who may
    read it, may not."""
    return user.is_authenticated and scope_for(user).grants(Capability.APPRAISE, unit.path)


def generate(
    unit: Unit, month: datetime.date, by=None, now: datetime.datetime | None = None
) -> MonthlyReport:
    """Generate the report of `unit` on a finished month now and store it, replacing the one stored before
    (the new document, who asked for it and when). `by` is None for the worker."""
    now = now or timezone.now()
    first = check_month(unit, month, timezone.localdate(now))
    document = build_report(unit, first, now=now)
    fields = {"document": document, "generated_at": now, "generated_by": by}
    with transaction.atomic():
        report = MonthlyReport.objects.select_for_update().filter(unit=unit, month=first).first()
        if report is None:
            try:
                with transaction.atomic():
                    return MonthlyReport.objects.create(unit=unit, month=first, **fields)
            except IntegrityError:  # the worker stored it meanwhile: replace its document
                report = MonthlyReport.objects.select_for_update().get(unit=unit, month=first)
        for name, value in fields.items():
            setattr(report, name, value)
        report.save(update_fields=list(fields))
    return report


def sweep_units(month: datetime.date):
    """The units the worker reports on for `month`: the administrative units down to the villages in
    force on its last day, from the top down."""
    return (
        Unit.objects.current(month_end(month))
        .filter(kind=UnitKind.DIVISION, level__rank__lte=SWEEP_MAX_RANK)
        .select_related("level")
        .order_by("path")
    )


def _issue(unit: Unit, month: datetime.date, now: datetime.datetime) -> bool:
    """Generate and store the report of one unit unless it exists, in one transaction; False when it
    exists or another worker holds the unit (the unit's row is the claim; the unique (unit, month) stops
    a second row where the database cannot lock, as on SQLite)."""
    with transaction.atomic():
        claimed = Unit.objects.select_for_update(skip_locked=True, no_key=True).filter(pk=unit.pk)
        if not claimed.exists() or MonthlyReport.objects.filter(unit=unit, month=month).exists():
            return False
        document = build_report(unit, month, now=now)
        try:
            with transaction.atomic():
                MonthlyReport.objects.create(unit=unit, month=month, document=document, generated_at=now)
        except IntegrityError:  # generated meanwhile, on demand or by another worker
            return False
    return True


def issue_monthly_reports(now: datetime.datetime) -> int:
    """Worker sweep: on or after the first working day of a month, generate last month's report of the
    county and of every township and village that has none yet, each in its own transaction, at most
    WANGGE_REPORT_SWEEP_BATCH in one pass (the next passes go on where this one stopped). A unit whose
    report fails is logged and tried again at the next pass; the others go ahead. Returns the reports
    generated."""
    today = timezone.localdate(now)
    this_month = month_start(today)
    if today < first_working_day(this_month):
        return 0
    month = previous_month(this_month)
    done = MonthlyReport.objects.filter(month=month).values("unit_id")
    pending = sweep_units(month).exclude(pk__in=done)
    issued, failed = 0, []
    for unit in pending:
        # The batch counts the reports made and, separately, the failures: a unit that keeps failing is
        # tried again each pass without holding back the units after it.
        if issued >= settings.WANGGE_REPORT_SWEEP_BATCH or len(failed) >= settings.WANGGE_REPORT_SWEEP_BATCH:
            break
        try:
            issued += _issue(unit, month, now)
        except Exception as exc:  # one unit's failure must not stop the reports of the others
            log.exception("monthly report of %s for %s failed", unit.code, f"{month:%Y-%m}")
            failed.append((unit, exc))
    if issued:
        log.info("monthly reports for %s: %d generated", f"{month:%Y-%m}", issued)
    if failed:
        codes = ", ".join(unit.code for unit, _exc in failed)
        raise RuntimeError(f"monthly reports for {month:%Y-%m} failed for {codes}") from failed[0][1]
    return issued
