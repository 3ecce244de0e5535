"""Scorecards computed from the data (WORK-5, EVAL-1): per grid worker, grid, village and township, over
any day, week, month, quarter or year. The definitions are in `wangge.appraisal.indicators`.

Everything is computed in batches, so a ranking of every grid worker of a county costs the same handful
of queries as one scorecard: `Batch(root, start, end)` reads the period's grid posts, logs, reports,
in-place handling, visit coverage and inspection findings under `root` once, grouped in the database;
`worker_scorecards` and `unit_scorecards` assemble cards from it, with the case figures of
`wangge.cases.metrics.figures_by_unit`. Nothing here checks who may see what: callers pass units and
workers the user may appraise.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Sum
from django.db.models.functions import Substr
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from wangge.cases.choices import ActionKind, Source
from wangge.cases.metrics import CaseFigures, figures_by_unit
from wangge.cases.models import Case, CaseAction
from wangge.fieldwork.choices import DutyKind
from wangge.fieldwork.services import grid_posts_during, log_records
from wangge.fieldwork.visits import active_rules, counting_visits, period_bounds
from wangge.ledger.choices import HouseholdStatus
from wangge.ledger.models import Household
from wangge.units.models import Unit

from .choices import ScorePeriod, Subject
from .indicators import Indicator
from .models import InspectionFinding

RATE_PLACES = Decimal("0.0001")
# A unit's cases found: those its staff found themselves, on patrol or on a household visit (主动发现).
FOUND_SOURCES = (Source.PATROL, Source.VISIT)
ONE_DAY = datetime.timedelta(days=1)


def period_range(period: str, day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The day, ISO week (Monday to Sunday), month, quarter or year holding `day`, as (first, last)."""
    if period == ScorePeriod.DAY:
        return day, day
    if period == ScorePeriod.WEEK:
        monday = day - datetime.timedelta(days=day.weekday())
        return monday, monday + datetime.timedelta(days=6)
    return period_bounds(period, day)


def previous_range(period: str, start: datetime.date) -> tuple[datetime.date, datetime.date]:
    return period_range(period, start - ONE_DAY)


@dataclass(frozen=True)
class Figure:
    """One indicator's value, with what it was computed from and the list of records behind it."""

    indicator: str
    value: Decimal | int | None
    numerator: Decimal | int | None = None
    denominator: Decimal | int | None = None
    link: tuple[str, dict] | None = None  # (url name, query): built when shown, not for every score

    @property
    def label(self):
        return Indicator(self.indicator).label

    @property
    def url(self) -> str:
        if self.link is None:
            return ""
        name, params = self.link
        query = {key: value for key, value in params.items() if value not in (None, "")}
        return f"{_reverse(name)}?{urlencode(query, doseq=True)}"


@dataclass
class Scorecard:
    subject: str
    unit: Unit
    start: datetime.date
    end: datetime.date
    user: object = None
    figures: dict[str, Figure] = field(default_factory=dict)

    def value(self, indicator: str):
        return self.figures[indicator].value

    @property
    def values(self) -> dict[str, Decimal | int | None]:
        return {code: figure.value for code, figure in self.figures.items()}


def _ratio(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    ratio = Decimal(numerator) / Decimal(denominator)
    return min(Decimal("1"), ratio).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


@lru_cache(maxsize=64)
def _reverse(name: str) -> str:
    return reverse(name)


def _link(name: str, **params) -> tuple[str, dict]:
    return name, params


def _cases(**params) -> tuple[str, dict]:
    """The case list of every state (not only the incoming tab), filtered."""
    return _link("cases:queue", tab="all", **params)


@dataclass
class _Coverage:
    households: int = 0
    covered: int = 0
    expected: Decimal = Decimal("0")

    def add(self, households: int, covered: int, elapsed: Decimal) -> None:
        self.households += households
        self.covered += covered
        self.expected += households * elapsed


# The case counts behind each case indicator, as (numerator, denominator) of a CaseFigures.
def _case_parts(f: CaseFigures) -> dict[str, tuple[int, int | None]]:
    return {
        Indicator.ON_TIME_RATE: (f.handled_on_time, f.due_to_handle - f.on_hold),
        Indicator.CLOSURE_RATE: (f.closed, f.registered),
        Indicator.REWORK_RATE: (f.reworked, f.checked),
        Indicator.ESCALATION_RATE: (f.escalated, f.registered),
        Indicator.SATISFACTION: (f.satisfied, f.rated),
        Indicator.OVERDUE: (f.overdue, None),
    }


class Batch:
    """The period's raw material under one unit, read once and grouped in the database."""

    def __init__(self, root: Unit, start: datetime.date, end: datetime.date, *, today=None, now=None):
        if start > end:
            raise ValueError(f"the period must not end before it starts ({start} … {end})")
        self.root, self.start, self.end = root, start, end
        self.today = today or timezone.localdate()
        self.now = now or timezone.now()
        zone = ZoneInfo(settings.TIME_ZONE)
        self.start_at = datetime.datetime.combine(start, datetime.time.min, tzinfo=zone)
        self.end_at = datetime.datetime.combine(end + ONE_DAY, datetime.time.min, tzinfo=zone)
        self._figures: dict[str, CaseFigures] = {}

    # --- per worker --------------------------------------------------------------------------------

    @cached_property
    def posts(self) -> list:
        return list(
            grid_posts_during(self.root, self.start, self.end)
            .select_related("user", "unit", "unit__level")
            .order_by("unit__path", "user__full_name", "user_id")
        )

    @cached_property
    def logs(self):
        return log_records(self.posts, self.start, self.end)

    @cached_property
    def worker_units(self) -> dict[int, list[Unit]]:
        """Each worker's post units, without a unit that lies under another of theirs."""
        units: dict[int, list[Unit]] = defaultdict(list)
        for post in self.posts:
            if post.unit not in units[post.user_id]:
                units[post.user_id].append(post.unit)
        return {
            user_id: [u for u in held if not any(u.path.startswith(o.path) and u != o for o in held)]
            for user_id, held in units.items()
        }

    def _worker_ids(self):
        return grid_posts_during(self.root, self.start, self.end).values("user_id")

    @cached_property
    def found(self) -> dict[int, int]:
        rows = (
            Case.objects.filter(
                reporter_id__in=self._worker_ids(),
                registered_at__gte=self.start_at,
                registered_at__lt=self.end_at,
            )
            .values("reporter_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
        return {row["reporter_id"]: row["n"] for row in rows}

    @cached_property
    def in_place(self) -> dict[int, int]:
        rows = (
            CaseAction.objects.filter(
                kind=ActionKind.HANDLE_IN_PLACE,
                actor_id__in=self._worker_ids(),
                time__gte=self.start_at,
                time__lt=self.end_at,
            )
            .values("actor_id")
            .annotate(n=Count("case_id", distinct=True))
            .order_by()
        )
        return {row["actor_id"]: row["n"] for row in rows}

    @cached_property
    def worker_deductions(self) -> dict[int, Decimal]:
        rows = (
            self._findings()
            .filter(responsible__isnull=False)
            .values("responsible_id")
            .annotate(points=Sum("deduction"))
            .order_by()
        )
        return {row["responsible_id"]: row["points"] for row in rows}

    # --- per unit ----------------------------------------------------------------------------------

    def _findings(self):
        return InspectionFinding.objects.filter(
            inspection__inspected_on__gte=self.start,
            inspection__inspected_on__lte=self.end,
            inspection__unit__path__startswith=self.root.path,
        )

    def unit_deductions(self, units: list[Unit]) -> dict[str, Decimal]:
        """{unit path: points deducted by findings of inspections of the unit or below it}."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for length in {len(u.path) for u in units}:
            rows = (
                self._findings()
                .annotate(prefix=Substr("inspection__unit__path", 1, length))
                .values("prefix")
                .annotate(points=Sum("deduction"))
                .order_by()
            )
            for row in rows:
                totals[row["prefix"]] += row["points"] or 0
        return totals

    @cached_property
    def coverage_by_unit(self) -> dict[str, tuple[int, int, Decimal]]:
        """{path of a unit at a rule's level: (households, covered, elapsed share)} for every household
        rule that binds a post level, as of the scorecard's last day (or today, if earlier)."""
        as_of = min(self.end, self.today)
        found: dict[str, tuple[int, int, Decimal]] = {}
        for rule in active_rules(DutyKind.VISIT):
            if rule.level_id is None or rule.is_selective:
                continue
            first, last = period_bounds(rule.period, as_of)
            elapsed = Decimal((as_of - first).days + 1) / Decimal((last - first).days + 1)
            length = rule.level.rank * Unit.steplen
            households = Household.objects.filter(
                status=HouseholdStatus.ACTIVE, grid__path__startswith=self.root.path
            ).annotate(prefix=Substr("grid__path", 1, length))
            visited = counting_visits(rule, first, as_of).values("household_id")
            totals = dict(
                households.values("prefix").annotate(n=Count("pk")).order_by().values_list("prefix", "n")
            )
            covered = dict(
                households.filter(pk__in=visited)
                .values("prefix")
                .annotate(n=Count("pk"))
                .order_by()
                .values_list("prefix", "n")
            )
            level_paths = Unit.objects.filter(
                level_id=rule.level_id, path__startswith=self.root.path[:length]
            ).values_list("path", flat=True)
            for path in level_paths:
                if path in totals:
                    found[path] = (totals[path], covered.get(path, 0), elapsed)
        return found

    def figures(self, units: list[Unit]) -> dict[Unit, CaseFigures]:
        """The case figures of each unit; a unit asked for before is not computed again, and units asked
        for together share one read of the period's actions (`figures_by_unit`)."""
        missing = [unit for unit in units if unit.path not in self._figures]
        if missing:
            found = figures_by_unit(Case.objects.all(), missing, self.start_at, self.end_at, now=self.now)
            self._figures.update((unit.path, figures) for unit, figures in found.items())
        return {unit: self._figures[unit.path] for unit in units}

    # --- links -------------------------------------------------------------------------------------

    def dates(self, prefix: str) -> dict[str, str]:
        return {f"{prefix}_after": self.start.isoformat(), f"{prefix}_before": self.end.isoformat()}


def _visit_figure(coverage: _Coverage, unit: Unit) -> Figure:
    value = _ratio(coverage.covered, coverage.expected) if coverage.households else None
    return Figure(
        Indicator.VISIT_COVERAGE,
        value,
        coverage.covered,
        coverage.households,
        _link("fieldwork:coverage", unit=unit.code),
    )


def _case_figures(batch: Batch, f: CaseFigures, unit: Unit) -> dict[str, Figure]:
    cohort = _cases(unit=unit.code, **batch.dates("registered"))
    links = {
        Indicator.ON_TIME_RATE: _cases(unit=unit.code, **batch.dates("due")),
        Indicator.CLOSURE_RATE: cohort,
        Indicator.REWORK_RATE: _cases(unit=unit.code, **batch.dates("closed")),
        Indicator.ESCALATION_RATE: _cases(unit=unit.code, escalated="true", **batch.dates("registered")),
        Indicator.SATISFACTION: _cases(unit=unit.code, rated="true", **batch.dates("closed")),
        Indicator.OVERDUE: _cases(unit=unit.code, late="true", **batch.dates("due")),
    }
    figures = {}
    for code, (numerator, denominator) in _case_parts(f).items():
        value = numerator if denominator is None else _ratio(numerator, denominator)
        figures[code] = Figure(code, value, numerator, denominator, links[code])
    return figures


def _summed_case_figures(batch: Batch, parts: list[CaseFigures], unit: Unit) -> dict[str, Figure]:
    """Case figures of several units added up (a worker serving more than one grid)."""
    if len(parts) == 1:
        return _case_figures(batch, parts[0], unit)
    sums: dict[str, list[int]] = {}
    for part in parts:
        for code, (numerator, denominator) in _case_parts(part).items():
            total = sums.setdefault(code, [0, 0 if denominator is not None else None])
            total[0] += numerator
            if denominator is not None:
                total[1] += denominator
    figures = _case_figures(batch, parts[0], unit)
    for code, (numerator, denominator) in sums.items():
        value = numerator if denominator is None else _ratio(numerator, denominator)
        figures[code] = Figure(code, value, numerator, denominator, figures[code].link)
    return figures


def worker_scorecards(batch: Batch, user_ids=None) -> list[Scorecard]:
    """A scorecard per holder of a grid post under the batch's root (or only those of `user_ids`)."""
    wanted = None if user_ids is None else set(user_ids)
    workers = {uid: units for uid, units in batch.worker_units.items() if wanted is None or uid in wanted}
    all_units = list({unit for units in workers.values() for unit in units})
    figures = batch.figures(all_units) if all_units else {}
    cards = []
    for user_id, units in workers.items():
        logs = batch.logs[user_id]
        first = units[0]
        worker = logs.worker
        coverage = _Coverage()
        for unit in units:
            if unit.path in batch.coverage_by_unit:
                coverage.add(*batch.coverage_by_unit[unit.path])
        due = len(logs.due_days)
        card = Scorecard(Subject.WORKER, first, batch.start, batch.end, user=worker)
        card.figures = {
            Indicator.LOG_RATE: Figure(
                Indicator.LOG_RATE,
                _ratio(logs.written, due),
                logs.written,
                due,
                _link("fieldwork:logs", unit=first.code, start=batch.start, end=batch.end),
            ),
            Indicator.VISIT_COVERAGE: _visit_figure(coverage, first),
            Indicator.CASES_FOUND: Figure(
                Indicator.CASES_FOUND,
                batch.found.get(user_id, 0),
                link=_cases(reporter=worker.username, **batch.dates("registered")),
            ),
            Indicator.RESOLVED_IN_PLACE: Figure(
                Indicator.RESOLVED_IN_PLACE,
                batch.in_place.get(user_id, 0),
                link=_cases(handled_in_place_by=worker.username, **batch.dates("closed")),
            ),
            **_summed_case_figures(batch, [figures[u] for u in units], first),
            Indicator.INSPECTION_DEDUCTIONS: Figure(
                Indicator.INSPECTION_DEDUCTIONS,
                batch.worker_deductions.get(user_id, Decimal("0")),
                link=_link(
                    "appraisal:inspections", responsible=worker.username, start=batch.start, end=batch.end
                ),
            ),
        }
        cards.append(card)
    return cards


def work_figures(batch: Batch, units: list[Unit]) -> dict[Unit, dict[str, Figure]]:
    """{unit: the log submission and visit coverage figures} of units under or equal to the batch's root:
    the field-work part of a unit's scorecard, also shown on the command centre's dashboard."""
    lengths = {len(u.path) for u in units}
    workers = _worker_totals_by_prefix(batch, lengths)
    coverage_sums: dict[str, _Coverage] = defaultdict(_Coverage)
    for path, entry in batch.coverage_by_unit.items():
        for length in lengths:
            if len(path) >= length:
                coverage_sums[path[:length]].add(*entry)
    found = {}
    for unit in units:
        written, due = workers.get(unit.path, (0, 0))
        found[unit] = {
            Indicator.LOG_RATE: Figure(
                Indicator.LOG_RATE,
                _ratio(written, due),
                written,
                due,
                _link("fieldwork:logs", unit=unit.code, start=batch.start, end=batch.end),
            ),
            Indicator.VISIT_COVERAGE: _visit_figure(coverage_sums.get(unit.path, _Coverage()), unit),
        }
    return found


def unit_scorecards(batch: Batch, units: list[Unit]) -> list[Scorecard]:
    """A scorecard per unit (each under or equal to the batch's root), in the order given."""
    units = list(units)
    figures = batch.figures(units) if units else {}
    deductions = batch.unit_deductions(units)
    work = work_figures(batch, units)
    cards = []
    for unit in units:
        subject = _unit_subject(unit)
        f = figures[unit]
        card = Scorecard(subject, unit, batch.start, batch.end)
        card.figures = {
            **work[unit],
            Indicator.CASES_FOUND: Figure(
                Indicator.CASES_FOUND,
                sum(figures[unit].by_source.get(source, 0) for source in FOUND_SOURCES),
                link=_cases(unit=unit.code, source=list(FOUND_SOURCES), **batch.dates("registered")),
            ),
            Indicator.RESOLVED_IN_PLACE: Figure(
                Indicator.RESOLVED_IN_PLACE,
                f.self_resolved,
                link=_cases(unit=unit.code, in_place="true", **batch.dates("closed")),
            ),
            **_case_figures(batch, f, unit),
            Indicator.INSPECTION_DEDUCTIONS: Figure(
                Indicator.INSPECTION_DEDUCTIONS,
                deductions.get(unit.path, Decimal("0")),
                link=_link("appraisal:inspections", unit=unit.code, start=batch.start, end=batch.end),
            ),
        }
        cards.append(card)
    return cards


def _worker_totals_by_prefix(batch: Batch, lengths: set[int]) -> dict[str, tuple[int, int]]:
    """{unit path: (logs written, log days due)} summed over the workers with a post under the unit, for
    units of the given path lengths; a worker counts once per unit."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for user_id, held in batch.worker_units.items():
        logs = batch.logs[user_id]
        prefixes = {u.path[:length] for u in held for length in lengths if len(u.path) >= length}
        for prefix in prefixes:
            entry = totals[prefix]
            entry[0] += logs.written
            entry[1] += len(logs.due_days)
    return {prefix: tuple(entry) for prefix, entry in totals.items()}


def _unit_subject(unit: Unit) -> str:
    rank = unit.level.rank
    if rank == 1:
        return Subject.COUNTY
    if rank == 2:
        return Subject.TOWNSHIP
    if rank == 3:
        return Subject.VILLAGE
    return Subject.GRID
