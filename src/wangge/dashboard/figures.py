"""The command centre's figures (PLAT-1, PLAT-5, CASE-6, CASE-13, CASE-14): the one query layer under the
dashboard, the map, the wall screen, the monthly report and the API.

A unit's figures over a range of local days [first, last] are sums of *day counts*: for each case under
the unit, what happened to it on each day — registered, closed, not registered, fell due. Counting by the
day something happened makes every count additive over days, so the same counts can come from the cases
themselves (live) or from the daily rollup of administrative units (`DailyCounts`, decision 0014), and a
range is the rollup's days plus the days since it was last built, computed live. Nothing here checks who
may see what: callers pass units the user may see (`wangge.dashboard.services.may_view`).

Day counts (the names in `DailyCounts.counts`)
---------------------------------------------
On the day a case was registered (立案), the *cohort* of the range:

- registered; status.<state> (its state now), source.<source>, category.<大类 code>;
- disputes (its category's statistics group is 矛盾纠纷), major_disputes (of those, severity major or
  grave), major_disputes_resolved (of those, closed now with a mediation that did not fail);
- petitions (group 信访), petitions_online (of those, received as 网上信访).

On the day a case was closed (结案, a registered case now closed):

- closed; level.<level> (the level that resolved it, CASE-6); closed_on_time (closed by its original
  deadline, or it had none); self_resolved (handled in place at grid level, 小事不出网格); rated and
  satisfied (satisfied or basically satisfied);
- span_us, the working time from registration to closure in microseconds (as
  `wangge.cases.metrics.WorkingClock` measures it: weekends and holidays add nothing), and h.<n>, how
  many took n hundredths of a working day (rounded half up): the average is span_us ÷ closed, the median
  the median of these rounded values;
- disputes_closed, disputes_closed_locally (resolved at grid, village or township level: 乡村两级, and
  not closed by a failed mediation),
  mediated (a mediation outcome recorded), mediation_succeeded.

On the day a report was not registered (不予立案): rejected.

On the day a registered case's original deadline (`kpi_due_at`) fell, for days before today only (a
deadline today has not passed yet), unless the case is in long-term management: due, due_met (closed by
that deadline and still closed), overdue (the others: still open, or closed late, or reopened).

KPIs (`wangge.dashboard.kpis`) are shares of two of these. Counts of a day in the rollup are those of
the moment it was last rebuilt (`RollupState`); a case that changes afterwards moves them at the next
rebuild, within the refresh interval.

Figures that are not case counts (`work_figures`, `staff_activity`, `attention_tags`,
`attention_lists`) are computed live.
"""

from __future__ import annotations

import calendar
import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from wangge.cases.choices import (
    CaseState,
    HandlerLevel,
    MediationOutcome,
    PetitionChannel,
    Severity,
    Source,
    StatisticsGroup,
)
from wangge.cases.metrics import DAY_US, REGISTERED_STATES, SATISFIED_RATINGS, WorkingClock
from wangge.cases.models import Case, Category
from wangge.units.models import Unit, UnitKind

from .kpis import CASE_KPI_PARTS, KpiValue, ratio, targets
from .models import DailyCounts, RollupState

ONE_DAY = datetime.timedelta(days=1)
DAYS_PLACES = Decimal("0.01")
MAJOR_SEVERITIES = (Severity.MAJOR, Severity.GRAVE)
LOCAL_LEVELS = (HandlerLevel.GRID, HandlerLevel.VILLAGE, HandlerLevel.TOWNSHIP)  # 乡村两级
HISTOGRAM = "h."

# What each case row carries, in this order.
CASE_COLUMNS = (
    "unit__path",
    "registered_at",
    "closed_at",
    "kpi_due_at",
    "state",
    "source",
    "severity",
    "resolved_level",
    "resolved_in_place",
    "rating",
    "mediation_outcome",
    "petition_channel",
    "top_code",
    "group",
)


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def midnight(day: datetime.date) -> datetime.datetime:
    """The start of a local day, as an aware datetime."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=zone())


def case_rows(cases, first_day: datetime.date, end_day: datetime.date):
    """The rows of the cases (of the queryset given) with something to count on a day of [first, end)."""
    start, end = midnight(first_day), midnight(end_day)
    return (
        cases.filter(
            Q(registered_at__gte=start, registered_at__lt=end)
            | Q(closed_at__gte=start, closed_at__lt=end)
            | Q(kpi_due_at__gte=start, kpi_due_at__lt=end)
        )
        .annotate(
            top_code=Coalesce("category__parent__code", "category__code"),
            group=Coalesce(
                NullIf("category__statistics_group", Value("")), "category__parent__statistics_group"
            ),
        )
        .order_by()
        .values_list(*CASE_COLUMNS)
    )


class DayTally:
    """Day counts of cases, by (key, day), for the days of [first, end); deadlines count up to `today`."""

    def __init__(self, first_day: datetime.date, end_day: datetime.date, today: datetime.date):
        self.first_day, self.end_day = first_day, end_day
        self.due_end = min(end_day, today)
        self.cells: dict[tuple, Counter] = defaultdict(Counter)
        self.clock = WorkingClock()
        self.zone = zone()

    def _day(
        self, moment: datetime.datetime | None, end: datetime.date | None = None
    ) -> datetime.date | None:
        if moment is None:
            return None
        day = moment.astimezone(self.zone).date()
        return day if self.first_day <= day < (end or self.end_day) else None

    def add(self, keys: Iterable, row: tuple) -> None:
        """Count one case row (CASE_COLUMNS) into the cells of each key."""
        keys = list(keys)
        if not keys:
            return
        (
            _path,
            registered_at,
            closed_at,
            kpi_due_at,
            state,
            source,
            severity,
            level,
            in_place,
            rating,
            outcome,
            channel,
            top_code,
            group,
        ) = row
        events: list[tuple[datetime.date, list[str], int]] = []
        is_dispute, is_petition = group == StatisticsGroup.DISPUTE, group == StatisticsGroup.PETITION

        day = self._day(registered_at)
        if day is not None:
            names = ["registered", f"status.{state}", f"source.{source}", f"category.{top_code or ''}"]
            if is_dispute:
                names.append("disputes")
                if severity in MAJOR_SEVERITIES:
                    names.append("major_disputes")
                    if state == CaseState.CLOSED and outcome != MediationOutcome.FAILED:
                        names.append("major_disputes_resolved")
            if is_petition:
                names.append("petitions")
                if channel == PetitionChannel.ONLINE:
                    names.append("petitions_online")
            events.append((day, names, 0))

        day = self._day(closed_at)
        if day is not None and state == CaseState.REJECTED:
            events.append((day, ["rejected"], 0))
        elif day is not None and state == CaseState.CLOSED and registered_at is not None:
            span = max(0, self.clock.span(registered_at, closed_at))
            names = ["closed", HISTOGRAM + str((span * 100 + DAY_US // 2) // DAY_US)]
            if level:
                names.append(f"level.{level}")
            if kpi_due_at is None or closed_at <= kpi_due_at:
                names.append("closed_on_time")
            if in_place and level == HandlerLevel.GRID:
                names.append("self_resolved")
            if rating:
                names.append("rated")
                if rating in SATISFIED_RATINGS:
                    names.append("satisfied")
            if is_dispute:
                names.append("disputes_closed")
                # 化解 at 乡村两级: closed at grid, village or township level, and not by a failed mediation.
                if level in LOCAL_LEVELS and outcome != MediationOutcome.FAILED:
                    names.append("disputes_closed_locally")
                if outcome:
                    names.append("mediated")
                    if outcome == MediationOutcome.SUCCEEDED:
                        names.append("mediation_succeeded")
            events.append((day, names, span))

        if registered_at is not None and state != CaseState.ON_HOLD:
            day = self._day(kpi_due_at, self.due_end)
            if day is not None:
                met = state == CaseState.CLOSED and closed_at is not None and closed_at <= kpi_due_at
                events.append((day, ["due", "due_met" if met else "overdue"], 0))

        for key in keys:
            for day, names, span in events:
                cell = self.cells[key, day]
                for name in names:
                    cell[name] += 1
                if span:
                    cell["span_us"] += span

    def totals(self) -> dict:
        """{key: Counter} summed over the days."""
        found: dict = defaultdict(Counter)
        for (key, _day), counts in self.cells.items():
            found[key].update(counts)
        return found


# ---------------------------------------------------------------------------------------------------
# A unit's counts over a range: the rollup's days, then live


# The rollup keeps administrative units (county, township, village); grids are counted live.
ROLLED_UP_KIND = UnitKind.DIVISION


def is_rolled_up(unit: Unit) -> bool:
    return unit.kind == ROLLED_UP_KIND


def unit_counts(
    units: Iterable[Unit],
    first_day: datetime.date,
    last_day: datetime.date,
    *,
    today: datetime.date | None = None,
    use_rollup: bool = True,
) -> dict[Unit, Counter]:
    """{unit: Counter of day counts summed over [first_day, last_day]} for each unit, in the order given."""
    units = list(units)
    if first_day > last_day:
        raise ValueError(f"the range must not end before it starts ({first_day} … {last_day})")
    today = today or timezone.localdate()
    end_day = last_day + ONE_DAY
    complete_before = RollupState.complete_before_day() if use_rollup else None
    totals: dict[int, Counter] = {unit.pk: Counter() for unit in units}

    rolled = [u for u in units if complete_before is not None and is_rolled_up(u)]
    split = first_day if not rolled else min(max(complete_before, first_day), end_day)
    if rolled and split > first_day:
        rows = DailyCounts.objects.filter(unit__in=rolled, day__gte=first_day, day__lt=split).values_list(
            "unit_id", "counts"
        )
        for unit_id, counts in rows:
            totals[unit_id].update(counts)

    live_ranges: dict[datetime.date, list[Unit]] = defaultdict(list)
    for unit in units:
        live_ranges[split if unit in rolled else first_day].append(unit)
    for live_first, group in live_ranges.items():
        if live_first < end_day:
            for unit, counts in _live_counts(group, live_first, end_day, today).items():
                totals[unit.pk].update(counts)
    return {unit: totals[unit.pk] for unit in units}


def _live_counts(units: list[Unit], first_day, end_day, today) -> dict[Unit, Counter]:
    """Day counts of cases under each unit, read once under the units' common ancestor."""
    steplen = Unit.steplen
    common = _common_path([u.path for u in units], steplen)
    by_path = {u.path: u for u in units}
    lengths = sorted({len(u.path) for u in units})
    tally = DayTally(first_day, end_day, today)
    cases = Case.objects.filter(unit__path__startswith=common) if common else Case.objects.all()
    for row in case_rows(cases, first_day, end_day).iterator(chunk_size=5000):
        path = row[0]
        tally.add([by_path[path[:n]] for n in lengths if path[:n] in by_path], row)
    totals = tally.totals()
    return {unit: totals.get(unit, Counter()) for unit in units}


def _common_path(paths: list[str], steplen: int) -> str:
    if not paths:
        return ""
    shortest = min(paths, key=len)
    length = 0
    while length < len(shortest) and all(
        p[: length + steplen] == shortest[: length + steplen] for p in paths
    ):
        length += steplen
    return shortest[:length]


# ---------------------------------------------------------------------------------------------------
# Figures from the counts


@dataclass(frozen=True)
class Part:
    """One slice of a breakdown: its key, label and count."""

    key: str
    label: str
    count: int


@dataclass
class Figures:
    """The case figures of one unit over [first_day, last_day], from its summed day counts."""

    unit: Unit
    first_day: datetime.date
    last_day: datetime.date
    counts: Counter
    targets: dict = field(default_factory=dict, repr=False)
    # {大类 code: name}, read once for all the units of a `unit_figures` call; None reads them when needed.
    category_names: dict | None = field(default=None, repr=False)

    def n(self, name: str) -> int:
        return self.counts.get(name, 0)

    @property
    def registered(self) -> int:
        return self.n("registered")

    @property
    def closed(self) -> int:
        return self.n("closed")

    @property
    def rejected(self) -> int:
        return self.n("rejected")

    @property
    def overdue(self) -> int:
        return self.n("overdue")

    @property
    def due(self) -> int:
        return self.n("due")

    @property
    def closed_on_time(self) -> int:
        return self.n("closed_on_time")

    @property
    def self_resolved(self) -> int:
        return self.n("self_resolved")

    @property
    def disputes(self) -> int:
        return self.n("disputes")

    @property
    def disputes_closed(self) -> int:
        return self.n("disputes_closed")

    @property
    def petitions(self) -> int:
        return self.n("petitions")

    @property
    def by_status(self) -> list[Part]:
        return [Part(s, CaseState(s).label, self.n(f"status.{s}")) for s in REGISTERED_STATES]

    @property
    def by_source(self) -> list[Part]:
        return [Part(s, Source(s).label, self.n(f"source.{s}")) for s in Source.values]

    @property
    def by_level(self) -> list[Part]:
        return [Part(lv, HandlerLevel(lv).label, self.n(f"level.{lv}")) for lv in HandlerLevel.values]

    @property
    def resolved_share(self) -> dict[str, Decimal | None]:
        return {part.key: ratio(part.count, self.closed) for part in self.by_level}

    @property
    def by_category(self) -> list[Part]:
        """The cohort by 大类, largest first, the categories that occur only."""
        codes = {name[9:]: count for name, count in self.counts.items() if name.startswith("category.")}
        names = self.category_names if self.category_names is not None else _top_category_names()
        parts = [Part(code, names.get(code, code), count) for code, count in codes.items() if count]
        return sorted(parts, key=lambda p: (-p.count, p.key))

    @cached_property
    def _histogram(self) -> list[tuple[int, int]]:
        size = len(HISTOGRAM)
        return sorted(
            (int(name[size:]), n) for name, n in self.counts.items() if name.startswith(HISTOGRAM) and n
        )

    @property
    def average_days(self) -> Decimal | None:
        """Working days from registration to closure, averaged over the cases closed in the range."""
        if not self.closed:
            return None
        days = Decimal(self.n("span_us")) / Decimal(DAY_US * self.closed)
        return days.quantize(DAYS_PLACES, rounding=ROUND_HALF_UP)

    @property
    def median_days(self) -> Decimal | None:
        """The median of those spans, each rounded half up to a hundredth of a working day."""
        histogram = self._histogram
        total = sum(n for _value, n in histogram)
        if not total:
            return None
        middle = [(total - 1) // 2, total // 2]  # the two middle positions (the same one for an odd count)
        values, seen = [], 0
        for value, n in histogram:
            while middle and middle[0] < seen + n:
                values.append(value)
                middle.pop(0)
            seen += n
        hundredths = Decimal(values[0] + values[1]) / 2
        return (hundredths / 100).quantize(DAYS_PLACES, rounding=ROUND_HALF_UP)

    def kpi(self, kpi: str) -> KpiValue:
        numerator, denominator = CASE_KPI_PARTS[kpi]
        top, bottom = self.n(numerator), self.n(denominator)
        return KpiValue(kpi, top, bottom, ratio(top, bottom), self.targets.get(kpi))

    @property
    def kpis(self) -> list[KpiValue]:
        return [self.kpi(kpi) for kpi in CASE_KPI_PARTS]


def _top_category_names() -> dict[str, str]:
    return dict(Category.objects.filter(parent__isnull=True).values_list("code", "name"))


def unit_figures(
    units: Iterable[Unit],
    first_day: datetime.date,
    last_day: datetime.date,
    *,
    today: datetime.date | None = None,
    use_rollup: bool = True,
    kpi_targets: dict | None = None,
) -> dict[Unit, Figures]:
    """{unit: Figures} over [first_day, last_day] for each unit, with the KPI targets (read if not given)."""
    found = unit_counts(units, first_day, last_day, today=today, use_rollup=use_rollup)
    kpi_targets = targets() if kpi_targets is None else kpi_targets
    names = _top_category_names()
    return {
        unit: Figures(unit, first_day, last_day, counts, kpi_targets, names) for unit, counts in found.items()
    }


def figures(unit: Unit, first_day: datetime.date, last_day: datetime.date, **kwargs) -> Figures:
    return unit_figures([unit], first_day, last_day, **kwargs)[unit]


def _shift_months(day: datetime.date, months: int, *, to_month_end: bool = False) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return datetime.date(year, month + 1, last if to_month_end else min(day.day, last))


def _calendar_months(first_day: datetime.date, last_day: datetime.date) -> int | None:
    """How many months back a range that starts on the first of a month is compared: a month (so far)
    with the month before, a quarter (so far) with the quarter before, a year (so far) with the year
    before, other whole months with as many months before. None for a range starting on another day."""
    if first_day.day != 1:
        return None
    span = (last_day.year - first_day.year) * 12 + last_day.month - first_day.month + 1
    for months in (1, 3, 12):
        if span <= months and (first_day.month - 1) % months == 0:
            return months
    return span


def previous_range(first_day: datetime.date, last_day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """What a range is compared with: the same days of the month, quarter or year before for a range
    starting on the first of a month (October with September, 1–21 November with 1–21 October, the year
    so far with the same days last year), else the same number of days just before."""
    months = _calendar_months(first_day, last_day)
    if months is None:
        length = (last_day - first_day).days + 1
        return first_day - datetime.timedelta(days=length), first_day - ONE_DAY
    month_end = (last_day + ONE_DAY).day == 1
    return _shift_months(first_day, -months), _shift_months(last_day, -months, to_month_end=month_end)
