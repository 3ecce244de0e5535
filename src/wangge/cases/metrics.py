"""The case loop's figures (CASE-6, CASE-13, PLAT-5): the one query layer for appraisal and dashboards.

`case_figures(cases, start, end, now=None)` computes every figure over the period [start, end) for a
queryset of cases the caller has already scoped (e.g. ``Case.objects.visible_to(user)``, narrowed to a
unit's subtree with ``unit__path__startswith``); `figures_by_unit(cases, units, start, end, now=None)`
computes the same for each of several units at once, for rankings (a case belongs to the unit where it
happened, `Case.unit`). Nothing here checks who may see what: the queryset passed in decides that, and
narrowing it narrows the figures — e.g. to 大类 01 矛盾纠纷 for CASE-13's share of disputes resolved at
township and village level (the grid, village and township shares of `resolved_share`).

Definitions
-----------
"In the period" means start <= t < end. A *registered case* is one with a registration time (rejected
reports never have one). Figures use the cases as they stand in the database; `now` (default: the current
time) only decides which deadlines have already fallen due, so a period still running does not count
cases due later in it as missed: the *due window* is [start, min(end, now)). Deadlines are the case's
original handling deadline `kpi_due_at`, which an approved extension does not move.

Counts:

- registered (立案数): cases registered in the period. This is the *cohort* the rates over 立案数 follow.
- rejected (不予立案数): reports rejected (not registered) in the period.
- dispatches (派遣数): DISPATCH actions in the period; a redispatch after a return counts again, a 吹哨
  dispatch with co-handlers counts once.
- accurate_dispatches (准确派遣数): of those, the dispatches not returned as wrongly dispatched. A return
  belongs to the case's latest dispatch before it (a case can only be returned while dispatched), whenever
  it happens; "wrongly dispatched" is the RETURN action's ``data["wrongly_dispatched"]`` being true.
- returned_dispatches (回退数): the dispatches of the period that were returned, for whatever reason.
- handled (处置数): cohort cases whose handling is finished: submitted and awaiting check, or closed
  (handled in place, or checked and closed). A case sent back for rework, or reopened, is not handled
  until it is submitted or closed again.
- The *handling time* of a handled case is its latest SUBMIT or HANDLE_IN_PLACE action.
- due_to_handle (应处置数): registered cases handled in the period, plus registered cases not handled
  before the period began whose deadline lies in the due window (whether handled later or not at all).
- handled_on_time (按期处置数): cases handled in the period at or before their deadline (a case without a
  deadline has none to miss).
- closed (结案数): cohort cases that are closed.
- due_to_close (应结案数): registered cases closed in the period, plus registered cases not closed before
  the period began whose deadline lies in the due window.
- closed_on_time (按期结案数): cases closed in the period with closed_at <= kpi_due_at (or no deadline).
- on_hold (挂起数): registered cases in long-term management whose deadline lies in the due window. Their
  clock is paused, so they are deducted from both due populations (they are in both, never handled or
  closed).
- checked (核查数): cases checked on site (passed or failed) in the period.
- reworked (返工数): of those, the cases whose check failed at least once in the period.
- extended (延期数): cohort cases with at least one approved extension.
- escalated (上报数): cohort cases escalated to a higher level at least once.
- overdue (逾期数): registered cases whose deadline lies in the due window, not in long-term management,
  and not closed by that deadline (still open, or closed after it). A late case counts in the period its
  deadline fell in, once; not again in the period it is finally closed.
- closed_in_period (期内结案数): registered cases closed in the period, whenever they were registered: the
  population of the level shares, of 自行处置数 and of the registration-to-closure time.
- self_resolved (自行处置数): cases closed in the period that were handled in place at grid level
  (小事不出网格).
- rated (评价数): cases closed in the period that the resident rated; satisfied (满意数): of those, the
  ones rated satisfied or basically satisfied.
- resolved_by_level: closed_in_period by the level that resolved the case (CASE-6: grid, village,
  township, county; "department" is kept for completeness), and resolved_share each ÷ closed_in_period.
- by_status, by_source: the cohort by its current status (the states a registered case can be in) and by
  source; by_category: the cohort by 大类, only the categories that occur, by code. Each sums to
  `registered`.

Rates, each a Decimal fraction rounded half up to 4 places (0.8333 for 83.33 %), None when the
denominator is 0:

- accurate_dispatch_rate 准确派遣率 = accurate_dispatches ÷ dispatches
- handled_rate 处置率 = handled ÷ registered
- handled_on_time_rate 按期处置率 = handled_on_time ÷ (due_to_handle − on_hold)
- closed_rate 结案率 = closed ÷ registered
- closed_on_time_rate 按期结案率 = closed_on_time ÷ (due_to_close − on_hold)
- rework_rate 返工率 = reworked ÷ checked
- extension_rate 延期率 = extended ÷ registered
- escalation_rate 上报率 = escalated ÷ registered
- satisfaction_rate 群众满意率 = satisfied ÷ rated
- return_rate 回退率 = returned_dispatches ÷ dispatches

Working time per stage (`stage_times`), in working days as `wangge.workdays.calendar.working_days_between`
measures them (each working day's overlap with the span, a whole working day being 1; weekends and
holidays add nothing), each a count, average and median rounded half up to 2 places (None when nothing
was measured), over the stage occurrences that *ended* in the period:

- register_dispatch: registration → the case's first dispatch, when that dispatch is in the period;
- dispatch_accept: each acceptance in the period, from the dispatch it accepted;
- accept_submit: each submission in the period, from the acceptance or the failed check that started
  that round of handling (so rework is a round of its own);
- submit_check: each check (passed or failed) in the period, from the submission it checked;
- register_close: each case closed in the period, from its registration to its closure.

Cost
----
`case_figures` runs 4 queries whatever the number of cases (fewer when the queryset is empty):

1. one conditional aggregation (COUNT … FILTER) over the cases registered, closed, rejected or due in
   the period: every case-level count, status, source and level;
2. one GROUP BY of the cohort by 大类;
3. the state, registration, closure and deadline of the cases that had a dispatch, acceptance,
   submission, handling in place or check in the period, or fell due in it;
4. the kind, time and wrong-dispatch flag of those cases' dispatch, return, acceptance, submission,
   handling-in-place and check actions, in order: the per-dispatch, handling-time and stage-time
   figures need the order of the actions, so they are worked out in Python over these rows.

The working-day calendar adds one query per calendar year the process has not cached yet. Working time
is summed on a cumulative working-day line (`WorkingClock`), the same measure as `working_days_between`
at one lookup per instant. `figures_by_unit` runs queries 1 and 2 once per distinct depth among the units
(once for the children of one unit), grouping by materialized-path prefix in the database, and queries 3
and 4 once for all depths, tallying each case's actions into every unit it lies under.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import groupby
from operator import itemgetter

from django.db import models
from django.db.models import BooleanField, Count, F, Q, QuerySet, Value, When
from django.db.models import Case as CaseWhen
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.workdays.calendar import is_workday

from .choices import ActionKind, CaseState, HandlerLevel, Rating, Source
from .models import Case, CaseAction

RATE_PLACES = Decimal("0.0001")
DAYS_PLACES = Decimal("0.01")
DAY_US = 86_400_000_000
ONE_DAY = timedelta(days=1)

# Handling is finished: the result is submitted and awaits its check, or the case is closed.
HANDLED_STATES = (CaseState.SUBMITTED, CaseState.CLOSED)
# The states a registered case can be in, in the order of the loop (the by_status keys).
REGISTERED_STATES = (
    CaseState.REGISTERED,
    CaseState.DISPATCHED,
    CaseState.HANDLING,
    CaseState.SUBMITTED,
    CaseState.CLOSED,
    CaseState.ON_HOLD,
)
SATISFIED_RATINGS = (Rating.SATISFIED, Rating.BASICALLY_SATISFIED)
HANDLING_DONE_KINDS = (ActionKind.SUBMIT, ActionKind.HANDLE_IN_PLACE)
CHECK_KINDS = (ActionKind.CHECK_PASS, ActionKind.CHECK_FAIL)
# Actions that end a measured step; a case with one of them in the period has its actions fetched.
STEP_END_KINDS = (ActionKind.DISPATCH, ActionKind.ACCEPT, *HANDLING_DONE_KINDS, *CHECK_KINDS)
FETCHED_KINDS = (*STEP_END_KINDS, ActionKind.RETURN)


class StageSpan(models.TextChoices):
    """The measured stages of the loop, each from the action that starts it to the one that ends it."""

    REGISTER_DISPATCH = "register_dispatch", _("Registration to dispatch")
    DISPATCH_ACCEPT = "dispatch_accept", _("Dispatch to acceptance")
    ACCEPT_SUBMIT = "accept_submit", _("Acceptance to submission")
    SUBMIT_CHECK = "submit_check", _("Submission to check")
    REGISTER_CLOSE = "register_close", _("Registration to closure")


@dataclass(frozen=True)
class StageTime:
    """Working days a stage took: how many were measured, their average and median (None when none)."""

    count: int
    average: Decimal | None
    median: Decimal | None


@dataclass(frozen=True)
class CategoryCount:
    """Registered cases of one 大类."""

    code: str
    name: str
    count: int


@dataclass(frozen=True)
class CaseFigures:
    """The loop's figures over [start, end); see the module docstring for each definition."""

    start: datetime
    end: datetime
    now: datetime
    registered: int
    rejected: int
    dispatches: int
    accurate_dispatches: int
    returned_dispatches: int
    handled: int
    due_to_handle: int
    handled_on_time: int
    closed: int
    due_to_close: int
    closed_on_time: int
    on_hold: int
    checked: int
    reworked: int
    extended: int
    escalated: int
    overdue: int
    closed_in_period: int
    self_resolved: int
    rated: int
    satisfied: int
    accurate_dispatch_rate: Decimal | None
    handled_rate: Decimal | None
    handled_on_time_rate: Decimal | None
    closed_rate: Decimal | None
    closed_on_time_rate: Decimal | None
    rework_rate: Decimal | None
    extension_rate: Decimal | None
    return_rate: Decimal | None
    escalation_rate: Decimal | None
    satisfaction_rate: Decimal | None
    resolved_by_level: dict[str, int]
    resolved_share: dict[str, Decimal | None]
    stage_times: dict[str, StageTime]
    by_status: dict[str, int]
    by_source: dict[str, int]
    by_category: tuple[CategoryCount, ...]


# Display order for dashboards and exports; labels below.
COUNT_FIGURES = (
    "registered",
    "rejected",
    "dispatches",
    "accurate_dispatches",
    "returned_dispatches",
    "handled",
    "due_to_handle",
    "handled_on_time",
    "closed",
    "due_to_close",
    "closed_on_time",
    "on_hold",
    "checked",
    "reworked",
    "extended",
    "escalated",
    "overdue",
    "closed_in_period",
    "self_resolved",
    "rated",
    "satisfied",
)
RATE_FIGURES = (
    "accurate_dispatch_rate",
    "handled_rate",
    "handled_on_time_rate",
    "closed_rate",
    "closed_on_time_rate",
    "rework_rate",
    "extension_rate",
    "return_rate",
    "escalation_rate",
    "satisfaction_rate",
)

FIGURE_LABELS = {
    "registered": _("Cases registered"),
    "rejected": _("Reports not registered"),
    "dispatches": _("Dispatches"),
    "accurate_dispatches": _("Dispatches to the right handler"),
    "returned_dispatches": _("Dispatches returned"),
    "handled": _("Cases handled"),
    "due_to_handle": _("Cases due to be handled"),
    "handled_on_time": _("Cases handled on time"),
    "closed": _("Cases closed"),
    "due_to_close": _("Cases due to be closed"),
    "closed_on_time": _("Cases closed on time"),
    "on_hold": _("Due cases in long-term management"),
    "checked": _("Cases checked"),
    "reworked": _("Cases sent back for rework"),
    "extended": _("Cases with an approved extension"),
    "escalated": _("Cases escalated"),
    "overdue": _("Cases overdue"),
    "rated": _("Closed cases rated by the resident"),
    "satisfied": _("Rated satisfied or basically satisfied"),
    "closed_in_period": _("Cases closed in the period"),
    "self_resolved": _("Cases resolved in the grid"),
    "accurate_dispatch_rate": _("Accurate dispatch rate"),
    "handled_rate": _("Handling rate"),
    "handled_on_time_rate": _("On-time handling rate"),
    "closed_rate": _("Closure rate"),
    "closed_on_time_rate": _("On-time closure rate"),
    "rework_rate": _("Rework rate"),
    "extension_rate": _("Extension rate"),
    "return_rate": _("Return rate"),
    "escalation_rate": _("Escalation rate"),
    "satisfaction_rate": _("Residents' satisfaction"),
    "resolved_by_level": _("Cases resolved, by level"),
    "resolved_share": _("Share resolved, by level"),
    "stage_times": _("Working days per stage"),
    "by_status": _("Registered cases by status"),
    "by_source": _("Registered cases by source"),
    "by_category": _("Registered cases by category"),
}
STAGE_TIME_LABELS = {
    "count": _("Times measured"),
    "average": _("Average working days"),
    "median": _("Median working days"),
}


def case_figures(
    cases: QuerySet[Case], start: datetime, end: datetime, now: datetime | None = None
) -> CaseFigures:
    """The figures of `cases` (already scoped by the caller) over [start, end), taken at `now`."""
    now = _check_period(start, end, now)
    return _compute(cases, start, end, now, None)[None]


def figures_by_unit(
    cases: QuerySet[Case], units: Iterable, start: datetime, end: datetime, now: datetime | None = None
) -> dict:
    """{unit: CaseFigures} for each unit, over the cases (of `cases`) that happened in its subtree.

    Every unit gets an entry, in the order given, also when it has no cases. Units of one depth are
    grouped by path prefix in the database; nested units of different depths each count their whole
    subtree, and share one read of the actions.
    """
    now = _check_period(start, end, now)
    units = list(units)
    by_length: dict[int, list[str]] = defaultdict(list)
    for unit in units:
        by_length[len(unit.path)].append(unit.path)
    found = _compute(cases, start, end, now, dict(by_length)) if units else {}
    return {unit: found[unit.path] for unit in units}


# ---------------------------------------------------------------------------------------------------


def _check_period(start: datetime, end: datetime, now: datetime | None) -> datetime:
    now = now or timezone.now()
    for name, moment in (("start", start), ("end", end), ("now", now)):
        if timezone.is_naive(moment):
            raise ValueError(f"{name} must be an aware datetime, got {moment!r}")
    if start >= end:
        raise ValueError(f"the period must end after it starts ({start} … {end})")
    return now


def _ratio(numerator: int, denominator: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def _days(microseconds: int, divisor: int = 1) -> Decimal:
    """Working microseconds (summed over `divisor` spans) as working days, rounded half up."""
    return (Decimal(microseconds) / Decimal(DAY_US * divisor)).quantize(DAYS_PLACES, rounding=ROUND_HALF_UP)


def _stage_time(spans: list[int]) -> StageTime:
    if not spans:
        return StageTime(0, None, None)
    spans = sorted(spans)
    middle = len(spans) // 2
    # The mean of the two middle spans for an even count, as statistics.median; kept in integers.
    median = _days(spans[middle]) if len(spans) % 2 else _days(spans[middle - 1] + spans[middle], 2)
    return StageTime(len(spans), _days(sum(spans), len(spans)), median)


def _in(moment: datetime | None, start: datetime, end: datetime) -> bool:
    return moment is not None and start <= moment < end


class WorkingClock:
    """Working time as a position on a line, so that a span costs one subtraction.

    The position of an instant is the number of working days from a reference date to its local date,
    plus the part of its own day already gone when that day is a working day, in microseconds. The
    difference of two positions is exactly what `working_days_between` adds up (each working day's
    overlap with the span), and divided by a day's microseconds gives the same float; but each instant
    costs one dictionary lookup instead of one calendar lookup per day of the span, which matters over
    a year of a county's actions. Days are classified by `calendar.is_workday` (overrides, national
    calendar, fallback) once per computation. The tests hold the two measures equal.
    """

    def __init__(self):
        self.zone = timezone.get_default_timezone()
        self.days_before: dict[date, int] = {}  # working days from the reference date up to (excl.) a date
        self.first = self.last = None

    def position(self, moment: datetime) -> int:
        local = moment.astimezone(self.zone)
        day = local.date()
        known = self.days_before
        before, after = known.get(day), known.get(day + ONE_DAY)
        if before is None or after is None:
            self._extend_to(day)
            before, after = known[day], known[day + ONE_DAY]
        position = before * DAY_US
        if after != before:  # the day itself is a working day
            seconds = local.hour * 3600 + local.minute * 60 + local.second
            position += seconds * 1_000_000 + local.microsecond
        return position

    def span(self, start: datetime, end: datetime) -> int:
        """Working microseconds from start to end (negative when end comes first)."""
        return self.position(end) - self.position(start)

    def _extend_to(self, day: date) -> None:
        """Cover `day` and the day after it, keeping the known dates one unbroken range."""
        known = self.days_before
        if self.first is None:
            self.first = self.last = day
            known[day] = 0
        while self.last <= day:  # also fills in the day after `day`, which position() reads
            known[self.last + ONE_DAY] = known[self.last] + is_workday(self.last)
            self.last += ONE_DAY
        while self.first > day:
            self.first -= ONE_DAY
            known[self.first] = known[self.first + ONE_DAY] - is_workday(self.first)


def _case_aggregates(start: datetime, end: datetime, cutoff: datetime) -> dict:
    """The case-level counts as conditional aggregates over one scan of the cases."""
    registered_case = Q(registered_at__isnull=False)
    cohort = Q(registered_at__gte=start, registered_at__lt=end)
    due_window = Q(kpi_due_at__gte=start, kpi_due_at__lt=cutoff)
    closed_in_period = registered_case & Q(closed_at__gte=start, closed_at__lt=end)
    open_at_start = Q(closed_at__isnull=True) | Q(closed_at__gte=start)
    on_time = Q(kpi_due_at__isnull=True) | Q(closed_at__lte=F("kpi_due_at"))

    def count(condition: Q) -> Count:
        return Count("pk", filter=condition)

    aggregates = {
        "registered": count(cohort),
        "rejected": count(Q(state=CaseState.REJECTED, closed_at__gte=start, closed_at__lt=end)),
        "handled": count(cohort & Q(state__in=HANDLED_STATES)),
        "closed": count(cohort & Q(state=CaseState.CLOSED)),
        "extended": count(cohort & Q(extension_count__gt=0)),
        "escalated": count(cohort & Q(escalation_count__gt=0)),
        "overdue": count(
            registered_case
            & due_window
            & ~Q(state=CaseState.ON_HOLD)
            & (Q(closed_at__isnull=True) | Q(closed_at__gt=F("kpi_due_at")))
        ),
        "rated": count(closed_in_period & ~Q(rating="")),
        "satisfied": count(closed_in_period & Q(rating__in=SATISFIED_RATINGS)),
        "due_to_close": count(registered_case & (closed_in_period | (open_at_start & due_window))),
        "closed_on_time": count(closed_in_period & on_time),
        "on_hold": count(registered_case & Q(state=CaseState.ON_HOLD) & due_window),
        # The handled part of due_to_handle needs the handling time, from the actions.
        "due_unhandled": count(registered_case & due_window & ~Q(state__in=HANDLED_STATES)),
        "closed_in_period": count(closed_in_period),
        "self_resolved": count(
            closed_in_period & Q(resolved_in_place=True, resolved_level=HandlerLevel.GRID)
        ),
    }
    for level in HandlerLevel.values:
        aggregates[f"level_{level}"] = count(closed_in_period & Q(resolved_level=level))
    for state in REGISTERED_STATES:
        aggregates[f"status_{state}"] = count(cohort & Q(state=state))
    for source in Source.values:
        aggregates[f"source_{source}"] = count(cohort & Q(source=source))
    return aggregates


def _compute(
    cases: QuerySet[Case],
    start: datetime,
    end: datetime,
    now: datetime,
    buckets: dict[int, list[str]] | None,
) -> dict:
    """Figures keyed by bucket: None for the whole queryset, else by unit path, for the paths given per
    path length. The counts are grouped by path prefix in the database, once per length; the actions are
    read once and tallied in Python into every bucket their case falls in."""
    cutoff = min(end, now)
    due_window = Q(kpi_due_at__gte=start, kpi_due_at__lt=cutoff)
    cases = cases.order_by()
    groupings: list[tuple[int | None, list]] = [(None, [None])] if buckets is None else list(buckets.items())
    keys: list = [key for _length, group in groupings for key in group]
    if buckets is not None:
        shortest = min(buckets)
        prefixes = {path[:shortest] for group in buckets.values() for path in group}
        cases = cases.annotate(top=Substr("unit__path", 1, shortest)).filter(top__in=prefixes)

    # 1. Case-level counts: one conditional aggregation over every case any of them can count.
    relevant = cases.filter(
        Q(registered_at__gte=start, registered_at__lt=end)
        | Q(closed_at__gte=start, closed_at__lt=end)
        | due_window
    )
    aggregates = _case_aggregates(start, end, cutoff)
    counts: dict = {}
    categories: dict = defaultdict(list)
    for length, group in groupings:
        if length is None:
            counts[None] = relevant.aggregate(**aggregates)
            bucketed = cases
            bucket_column: list[str] = []
        else:
            bucketed = cases.annotate(bucket=Substr("unit__path", 1, length)).filter(bucket__in=group)
            bucket_column = ["bucket"]
            counts.update(
                (row.pop("bucket"), row)
                for row in relevant.annotate(bucket=Substr("unit__path", 1, length))
                .filter(bucket__in=group)
                .values("bucket")
                .annotate(**aggregates)
            )

        # 2. The cohort by 大类 (a 小类's parent; a category without one stands for itself).
        category_rows = (
            bucketed.filter(registered_at__gte=start, registered_at__lt=end)
            .annotate(
                top_code=Coalesce("category__parent__code", "category__code"),
                top_name=Coalesce("category__parent__name", "category__name"),
            )
            .values(*bucket_column, "top_code", "top_name")
            .annotate(n=Count("pk"))
            .order_by("top_code")
        )
        for row in category_rows:
            categories[row.get("bucket")].append(
                CategoryCount(row["top_code"] or "", row["top_name"] or "", row["n"])
            )

    # 3–4. The cases that had a step end in the period or fell due in it: their facts, then their
    # actions in order (facts once per case, not repeated on every action row).
    stepped = CaseAction.objects.filter(kind__in=STEP_END_KINDS, time__gte=start, time__lt=end)
    involved = cases.filter(Q(pk__in=stepped.values("case_id")) | due_window)
    path_column = [] if buckets is None else ["unit__path"]
    facts = {
        row[0]: row[1:]
        for row in involved.values_list(
            "pk", "state", "registered_at", "closed_at", "kpi_due_at", *path_column
        )
    }
    wrong = CaseWhen(
        When(kind=ActionKind.RETURN, data__wrongly_dispatched=True, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    rows = (
        CaseAction.objects.filter(case__in=involved.values("pk"), kind__in=FETCHED_KINDS)
        .annotate(wrong=wrong)
        .order_by("case_id", "time", "id")
        .values_list("case_id", "kind", "time", "wrong")
    )
    tallies = {key: _ActionTally(start, end, cutoff) for key in keys}
    lengths = [] if buckets is None else list(buckets)
    clock = WorkingClock()
    for case_id, steps in groupby(rows, key=itemgetter(0)):
        if case_id not in facts:
            continue  # it had its first step of the period between the two queries: next time
        state, registered_at, closed_at, kpi_due_at, *path = facts[case_id]
        targets = (
            [tallies[None]]
            if not path
            else [tallies[k] for k in {path[0][:n] for n in lengths} if k in tallies]
        )
        if not targets:
            continue
        steps = list(steps)
        for tally in targets:
            tally.add_case(clock, state, registered_at, closed_at, kpi_due_at, iter(steps))

    return {
        key: _figures(start, end, now, counts.get(key) or {}, categories.get(key, []), tallies[key])
        for key in keys
    }


class _ActionTally:
    """The figures that need a case's actions in order, summed over cases."""

    def __init__(self, start: datetime, end: datetime, cutoff: datetime):
        self.start, self.end, self.cutoff = start, end, cutoff
        self.dispatches = 0
        self.accurate_dispatches = 0
        self.returned_dispatches = 0
        self.due_handled = 0
        self.handled_on_time = 0
        self.checked = 0
        self.reworked = 0
        self.spans: dict[str, list[int]] = {span: [] for span in StageSpan.values}

    def add_case(self, clock, state, registered_at, closed_at, kpi_due_at, steps) -> None:
        start, end, spans = self.start, self.end, self.spans
        # Dispatches of the period as [returned, wrongly]; a return belongs to the latest dispatch.
        period_dispatches: list[list[bool]] = []
        latest_dispatch: list[bool] | None = None
        first_dispatch = True
        dispatch_time = round_start = submit_time = handled_at = None
        checked = reworked = False
        for _case, kind, time, wrong in steps:
            in_period = start <= time < end
            if kind == ActionKind.DISPATCH:
                latest_dispatch = [False, False]
                if in_period:
                    period_dispatches.append(latest_dispatch)
                    if first_dispatch and registered_at is not None:
                        spans[StageSpan.REGISTER_DISPATCH].append(clock.span(registered_at, time))
                first_dispatch, dispatch_time = False, time
            elif kind == ActionKind.RETURN:
                if latest_dispatch is not None:
                    latest_dispatch[:] = [True, bool(wrong)]
                    latest_dispatch = None
            elif kind == ActionKind.ACCEPT:
                if in_period and dispatch_time is not None:
                    spans[StageSpan.DISPATCH_ACCEPT].append(clock.span(dispatch_time, time))
                round_start = time
            elif kind == ActionKind.SUBMIT:
                if in_period and round_start is not None:
                    spans[StageSpan.ACCEPT_SUBMIT].append(clock.span(round_start, time))
                submit_time = handled_at = time
            elif kind == ActionKind.HANDLE_IN_PLACE:
                handled_at = time
            elif kind in CHECK_KINDS:
                if in_period:
                    checked = True
                    reworked = reworked or kind == ActionKind.CHECK_FAIL
                    if submit_time is not None:
                        spans[StageSpan.SUBMIT_CHECK].append(clock.span(submit_time, time))
                if kind == ActionKind.CHECK_FAIL:
                    round_start = time  # a new round of handling: the rework
        self.dispatches += len(period_dispatches)
        self.returned_dispatches += sum(returned for returned, _ in period_dispatches)
        self.accurate_dispatches += sum(not wrongly for _, wrongly in period_dispatches)
        self.checked += checked
        self.reworked += reworked
        if registered_at is None:
            return
        # Cases not handled (rework, reopened, never) are counted by the case aggregate, not here.
        if state in HANDLED_STATES and handled_at is not None:
            handled_in_period = start <= handled_at < end
            if handled_in_period or (handled_at >= start and _in(kpi_due_at, start, self.cutoff)):
                self.due_handled += 1
            if handled_in_period and (kpi_due_at is None or handled_at <= kpi_due_at):
                self.handled_on_time += 1
        if _in(closed_at, start, end):
            spans[StageSpan.REGISTER_CLOSE].append(clock.span(registered_at, closed_at))


def _figures(start, end, now, counts: dict, categories: list, tally: _ActionTally) -> CaseFigures:
    def n(key: str) -> int:
        return counts.get(key) or 0

    registered, closed_in_period, on_hold = n("registered"), n("closed_in_period"), n("on_hold")
    due_to_handle = n("due_unhandled") + tally.due_handled
    resolved = {level: n(f"level_{level}") for level in HandlerLevel.values}
    return CaseFigures(
        start=start,
        end=end,
        now=now,
        registered=registered,
        rejected=n("rejected"),
        dispatches=tally.dispatches,
        accurate_dispatches=tally.accurate_dispatches,
        returned_dispatches=tally.returned_dispatches,
        handled=n("handled"),
        due_to_handle=due_to_handle,
        handled_on_time=tally.handled_on_time,
        closed=n("closed"),
        due_to_close=n("due_to_close"),
        closed_on_time=n("closed_on_time"),
        on_hold=on_hold,
        checked=tally.checked,
        reworked=tally.reworked,
        extended=n("extended"),
        escalated=n("escalated"),
        overdue=n("overdue"),
        closed_in_period=closed_in_period,
        self_resolved=n("self_resolved"),
        rated=n("rated"),
        satisfied=n("satisfied"),
        accurate_dispatch_rate=_ratio(tally.accurate_dispatches, tally.dispatches),
        handled_rate=_ratio(n("handled"), registered),
        handled_on_time_rate=_ratio(tally.handled_on_time, due_to_handle - on_hold),
        closed_rate=_ratio(n("closed"), registered),
        closed_on_time_rate=_ratio(n("closed_on_time"), n("due_to_close") - on_hold),
        rework_rate=_ratio(tally.reworked, tally.checked),
        extension_rate=_ratio(n("extended"), registered),
        return_rate=_ratio(tally.returned_dispatches, tally.dispatches),
        escalation_rate=_ratio(n("escalated"), registered),
        satisfaction_rate=_ratio(n("satisfied"), n("rated")),
        resolved_by_level=resolved,
        resolved_share={level: _ratio(count, closed_in_period) for level, count in resolved.items()},
        stage_times={span: _stage_time(values) for span, values in tally.spans.items()},
        by_status={state: n(f"status_{state}") for state in REGISTERED_STATES},
        by_source={source: n(f"source_{source}") for source in Source.values},
        by_category=tuple(categories),
    )
