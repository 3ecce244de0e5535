"""Household visits, patrols and publicity records, and the visit regime's due lists and coverage (WORK-2,
WORK-6). The only writers of those records; views, the demo and tests call them.

The regime is data (`VisitRule`, loaded from `data/visit_rules.json`): each rule binds the holders of grid
posts at one unit level and asks, once per calendar month, quarter or year, for a patrol of their grids or
a visit to each active household below their post (all households, or those with a tagged member or
rented out). A household is covered for a rule's period when a visit in that period came from a post at
the rule's level (from anyone when the rule names no level).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.audit import record_change, snapshot
from wangge.core.models import ChangeAction
from wangge.core.scope import scope_for
from wangge.ledger.choices import HouseholdStatus, ResidentStatus
from wangge.ledger.models import Household, Resident
from wangge.people.roles import Capability
from wangge.units.models import Unit

from .choices import DutyKind, Period, PublicityMethod, VisitPurpose
from .models import PatrolRecord, PublicityRecord, Visit, VisitRule
from .services import edit_window_start, grid_posts, grid_posts_during

# --- periods --------------------------------------------------------------------------------------------


def period_bounds(period: str, day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The calendar month, quarter or year holding `day`, as (first day, last day)."""
    if period == Period.YEAR:
        return datetime.date(day.year, 1, 1), datetime.date(day.year, 12, 31)
    if period == Period.QUARTER:
        first_month = 3 * ((day.month - 1) // 3) + 1
        start = datetime.date(day.year, first_month, 1)
    elif period == Period.MONTH:
        start = day.replace(day=1)
    else:
        raise ValueError(f"unknown period {period!r}")
    months = 3 if period == Period.QUARTER else 1
    year, month = divmod(start.month - 1 + months, 12)
    end = datetime.date(start.year + year, month + 1, 1) - datetime.timedelta(days=1)
    return start, end


def previous_periods(
    period: str, day: datetime.date, count: int
) -> list[tuple[datetime.date, datetime.date]]:
    """The `count` periods up to and including the one holding `day`, oldest first."""
    bounds = [period_bounds(period, day)]
    while len(bounds) < count:
        bounds.append(period_bounds(period, bounds[-1][0] - datetime.timedelta(days=1)))
    return bounds[::-1]


def period_label(period: str, start: datetime.date) -> str:
    if period == Period.YEAR:
        return _("%(year)s") % {"year": start.year}
    if period == Period.QUARTER:
        return _("Q%(quarter)s %(year)s") % {"quarter": (start.month - 1) // 3 + 1, "year": start.year}
    return start.strftime("%Y-%m")


# --- whom a rule asks about -----------------------------------------------------------------------------


def active_rules(kind: str | None = None) -> list[VisitRule]:
    rules = VisitRule.objects.filter(is_active=True).select_related("level").prefetch_related("tags")
    if kind is not None:
        rules = rules.filter(kind=kind)
    return list(rules)


def rule_binds(rule: VisitRule, unit: Unit) -> bool:
    """True when a grid post at `unit` owes this rule."""
    return rule.level_id is None or unit.level_id == rule.level_id


def target_households(rule: VisitRule, unit: Unit):
    """Active households below `unit` that the rule asks to visit.

    A rule with a level asks about the households below units of that level only (a household of a
    三级网格 without 四级网格 is nobody's 季遍访); a selective rule, about rentals and households with a
    member on the register carrying one of its tags.
    """
    households = Household.objects.filter(status=HouseholdStatus.ACTIVE, grid__path__startswith=unit.path)
    if rule.level_id is not None and unit.level_id != rule.level_id:
        depth = rule.level.rank
        if unit.depth > depth:
            return households.none()
        ancestors = Unit.objects.filter(level_id=rule.level_id, path__startswith=unit.path, depth=depth)
        households = households.annotate(_level_path=Substr("grid__path", 1, depth * Unit.steplen)).filter(
            _level_path__in=ancestors.values("path")
        )
    if rule.is_selective:
        selected = Q(pk__in=[])
        if rule.include_rental:
            selected |= Q(is_rental=True)
        if rule.selected_tag_ids:
            tagged = Resident.tags.through.objects.filter(
                resident__status=ResidentStatus.PRESENT, attentiontag_id__in=rule.selected_tag_ids
            )
            selected |= Q(pk__in=tagged.values("resident__household_id"))
        households = households.filter(selected)
    return households


def counting_visits(rule: VisitRule, start: datetime.date, end: datetime.date):
    """The visits that count for `rule` in [start, end]."""
    visits = Visit.objects.filter(date__gte=start, date__lte=end)
    if rule.level_id is not None:
        visits = visits.filter(post_level_id=rule.level_id)
    if rule.purpose:
        # JSON containment is not portable to SQLite; the purposes list is stored compact, in order.
        visits = visits.filter(purposes__icontains=f'"{rule.purpose}"')
    return visits


def _covered(rule, start, end, unit: Unit | None = None) -> Q:
    """Households with a counting visit in the period, as `pk IN (visits…)`: the database reads the
    period's visits once (a hashed subplan on PostgreSQL, an ephemeral index on SQLite) instead of
    probing the visits once per household. Below the top of the tree the visits are read by the grids
    of `unit`, not across the county."""
    visits = counting_visits(rule, start, end)
    if unit is not None and unit.depth > 1:
        visits = visits.filter(grid__in=Unit.objects.filter(path__startswith=unit.path).values("pk"))
    return Q(pk__in=visits.values("household_id"))


# --- due lists ------------------------------------------------------------------------------------------


@dataclass
class DueHousehold:
    household: Household
    last_visit: datetime.date | None


@dataclass
class Duty:
    """One rule owed through one post, in the period holding the day asked about."""

    rule: VisitRule
    unit: Unit
    start: datetime.date
    end: datetime.date
    total: int = 0
    done: int = 0
    pending: list[DueHousehold] = field(default_factory=list)
    last_patrol: datetime.date | None = None

    @property
    def remaining(self) -> int:
        return self.total - self.done

    @property
    def label(self) -> str:
        return period_label(self.rule.period, self.start)

    @property
    def percent(self) -> float | None:
        return round(100 * self.done / self.total, 1) if self.total else None


def due_list(user, on: datetime.date | None = None) -> list[Duty]:
    """What the user still owes this period under each rule, per grid post: households not yet visited
    (with their last visit, oldest first) and grids not yet patrolled. A few queries per post and rule."""
    on = on or timezone.localdate()
    rules = active_rules()
    duties: list[Duty] = []
    for post in grid_posts(user, on):
        for rule in rules:
            if not rule_binds(rule, post.unit):
                continue
            start, end = period_bounds(rule.period, on)
            duty = Duty(rule=rule, unit=post.unit, start=start, end=end)
            if rule.kind == DutyKind.PATROL:
                duty.total = 1
                duty.last_patrol = (
                    PatrolRecord.objects.filter(patroller=user, grid__path__startswith=post.unit.path)
                    .filter(date__lte=on)
                    .aggregate(last=Max("date"))["last"]
                )
                duty.done = int(duty.last_patrol is not None and duty.last_patrol >= start)
            else:
                _fill_households(duty, rule, post.unit)
            duties.append(duty)
    return duties


def _fill_households(duty: Duty, rule: VisitRule, unit: Unit) -> None:
    """A post's households and their visits this period by id: a worker's few hundred households are
    looked up through the visits' household index, never by scanning the period's visits."""
    households = {h.pk: h for h in target_households(rule, unit).select_related("grid")}
    ids = list(households)
    done: set[int] = set()
    last: dict[int, datetime.date] = {}
    for chunk in _chunks(ids):
        done.update(
            counting_visits(rule, duty.start, duty.end)
            .filter(household_id__in=chunk)
            .values_list("household_id", flat=True)
        )
        last.update(
            Visit.objects.filter(household_id__in=chunk)
            .values("household_id")
            .annotate(last=Max("date"))
            .values_list("household_id", "last")
        )
    duty.total, duty.done = len(ids), len(done)
    pending = [DueHousehold(h, last.get(pk)) for pk, h in households.items() if pk not in done]
    # Never visited first, then the longest ago; by number within.
    pending.sort(key=lambda d: (d.last_visit or datetime.date.min, d.household.number))
    duty.pending = pending


def _chunks(ids: list[int], size: int = 900):
    """Id lists small enough for one IN (SQLite's bound-parameter limit)."""
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


# --- coverage -------------------------------------------------------------------------------------------


@dataclass
class CoverageRow:
    unit: Unit | None
    total: int
    covered: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.covered / self.total, 1) if self.total else None


@dataclass
class RuleCoverage:
    rule: VisitRule
    start: datetime.date
    end: datetime.date
    total: CoverageRow
    children: list[CoverageRow] = field(default_factory=list)
    history: list[tuple[str, CoverageRow]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return period_label(self.rule.period, self.start)


def household_coverage(
    rule: VisitRule, unit: Unit, start: datetime.date, end: datetime.date, by_child: bool = False
) -> tuple[CoverageRow, list[CoverageRow]]:
    """Households the rule asks about below `unit`, and how many had a counting visit in [start, end];
    with `by_child`, the same per child unit."""
    totals, children = household_coverage_history(rule, unit, [(start, end)], by_child=by_child)
    return totals[0], children


def household_coverage_history(
    rule: VisitRule,
    unit: Unit,
    bounds: Sequence[tuple[datetime.date, datetime.date]],
    by_child: bool = False,
) -> tuple[list[CoverageRow], list[CoverageRow]]:
    """Coverage of `unit` in each period of `bounds`, and, with `by_child`, of each child unit in the
    last one. One query: the households grouped by child unit, with one count per period of those
    `IN (the period's counting visits)`; the unit's figures are the sums of the groups."""
    width = (unit.depth + 1) * Unit.steplen
    periods = {f"p{i}": Count("pk", filter=_covered(rule, s, e, unit)) for i, (s, e) in enumerate(bounds)}
    grouped = (
        target_households(rule, unit)
        .annotate(_child=Substr("grid__path", 1, width))
        .values("_child")
        .annotate(total=Count("pk"), **periods)
        .order_by()
    )
    figures = {row["_child"]: row for row in grouped}
    total = sum(row["total"] for row in figures.values())
    totals = [CoverageRow(unit, total, sum(row[key] for row in figures.values())) for key in periods]
    if not by_child:
        return totals, []
    last = f"p{len(bounds) - 1}"
    children = []
    for child in unit.children().current().select_related("level").order_by("path"):
        row = figures.get(child.path, {"total": 0, last: 0})
        children.append(CoverageRow(child, row["total"], row[last]))
    return totals, children


def patrol_coverage(rule: VisitRule, unit: Unit, start: datetime.date, end: datetime.date) -> CoverageRow:
    """Grid posts below `unit` bound by the rule and active during the period, and how many of their
    holders recorded a patrol of the post's area in it."""
    posts = [
        post
        for post in grid_posts_during(unit, start, end).select_related("unit")
        if rule_binds(rule, post.unit)
    ]
    if not posts:
        return CoverageRow(unit, 0, 0)
    patrolled: dict[int, set[str]] = defaultdict(set)
    rows = PatrolRecord.objects.filter(
        date__gte=start, date__lte=end, grid__path__startswith=unit.path
    ).values_list("patroller_id", "grid__path")
    for user_id, path in rows:
        patrolled[user_id].add(path)
    covered = sum(
        1
        for post in posts
        if any(path.startswith(post.unit.path) for path in patrolled.get(post.user_id, ()))
    )
    return CoverageRow(unit, len(posts), covered)


# How many periods the trend shows, the current one included.
HISTORY = {Period.MONTH: 6, Period.QUARTER: 4, Period.YEAR: 2}


def coverage_report(
    unit: Unit, on: datetime.date | None = None, history: int | None = None
) -> list[RuleCoverage]:
    """Every rule in force for `unit`: this period's coverage in total and per child unit, and the trend
    over the last periods up to this one (households for visit rules, posts for patrol rules). One
    query per visit rule whatever the number of periods."""
    on = on or timezone.localdate()
    report = []
    for rule in active_rules():
        start, end = period_bounds(rule.period, on)
        bounds = previous_periods(rule.period, on, history or HISTORY[rule.period])
        if rule.kind == DutyKind.PATROL:
            rows = [patrol_coverage(rule, unit, s, e) for s, e in bounds]
            children = []
        else:
            rows, children = household_coverage_history(rule, unit, bounds, by_child=True)
        total = rows[-1]  # the last period of the trend is this one
        trend = [(period_label(rule.period, s), row) for (s, _e), row in zip(bounds, rows, strict=True)]
        report.append(RuleCoverage(rule, start, end, total, children, trend))
    return report


def household_visits(household: Household, limit: int = 5) -> list[Visit]:
    """The last visits of a household, newest first, for its ledger page."""
    return list(
        Visit.objects.filter(household=household)
        .select_related("visitor", "case")
        .order_by("-date", "-id")[:limit]
    )


# --- writing --------------------------------------------------------------------------------------------


def _check_day(date: datetime.date, field_name: str = "date") -> None:
    today = timezone.localdate()
    if date > today:
        raise ValidationError({field_name: _("A record cannot be dated in the future.")})
    if date < edit_window_start(today):
        raise ValidationError(
            {
                field_name: _("Records older than %(days)s days can no longer be entered or changed.")
                % {"days": settings.WANGGE_WORK_LOG_EDIT_DAYS}
            }
        )


def _serving_level(user, unit: Unit) -> int | None:
    """The level of the user's deepest active territorial post at `unit` or above it; failing that, of
    the post the user covers there today as its B (AB岗): a cover's visit counts for the absent A's duty."""
    from wangge.people.models import Post
    from wangge.people.roles import Role

    prefixes = Unit.path_prefixes(unit.path)
    post = (
        Post.objects.active()
        .filter(user=user, unit__path__in=prefixes)
        .exclude(role=Role.DEPARTMENT_USER)
        .select_related("unit")
        .order_by("-unit__depth")
        .first()
    )
    if post is not None:
        return post.unit.level_id
    covered = [cover.path for cover in scope_for(user).covering if cover.path in prefixes]
    if not covered:
        return None
    return Unit.objects.filter(path=max(covered, key=len)).values_list("level_id", flat=True).first()


def _require_field_post(user, unit: Unit, capability: str = Capability.VIEW_LEDGERS):
    if not scope_for(user).grants(capability, unit.path):
        raise PermissionDenied(
            _("Only the staff serving %(unit)s record its field work.") % {"unit": unit.name}
        )
    return _serving_level(user, unit)


def _clean_purposes(purposes: Iterable[str]) -> list[str]:
    values = list(dict.fromkeys(p for p in purposes if p))
    unknown = [p for p in values if p not in VisitPurpose.values]
    if unknown:
        raise ValidationError({"purposes": _("Unknown purpose “%(value)s”.") % {"value": unknown[0]}})
    if not values:
        raise ValidationError({"purposes": _("Choose at least one purpose of the visit.")})
    return values


@dataclass
class CaseDraft:
    """A case to raise from a visit or patrol: what the case form of the record page asks."""

    description: str
    category: object = None
    title: str = ""


def _raise_case(draft: CaseDraft | None, *, by, unit: Unit, households: Sequence = (), now=None):
    if draft is None:
        return None
    from wangge.cases.choices import Source
    from wangge.cases.services import report_case

    try:
        case, _created = report_case(
            reporter=by,
            source=Source.VISIT if households else Source.PATROL,
            description=draft.description,
            title=draft.title,
            category=draft.category,
            unit=unit,
            households=households,
            register_now=True,
            now=now,
        )
    except ValidationError as error:
        # The case form's fields sit under a "case_" prefix on the record pages.
        raise ValidationError(
            {f"case_{name}": messages for name, messages in error.message_dict.items()}
        ) from error
    return case


def _earlier_submission(model, owner: str, client_uuid, by):
    """The record a retried submission (the same client id) already made, or None. The phone sends a
    fresh id with each form; an id that belongs to another user's record is refused."""
    if client_uuid is None:
        return None
    earlier = model.objects.filter(client_uuid=client_uuid).first()
    if earlier is not None and getattr(earlier, f"{owner}_id") != by.pk:
        raise ValidationError({"client_uuid": _("This submission id belongs to another record.")})
    return earlier


def _create_once(model, client_uuid, write, *, by, unit: Unit, case: CaseDraft | None = None, households=()):
    """Create a record with `write()`, the case raised from it and its change-log row, in one transaction;
    returns (record, created). When a concurrent submission with the same client id won the race, its
    record is returned instead."""
    try:
        with transaction.atomic():
            record = write()
            raised = _raise_case(case, by=by, unit=unit, households=households)
            if raised is not None:
                record.case = raised
                record.save(update_fields=["case", "updated_at"])
            record_change(record, ChangeAction.CREATE, by, {"after": snapshot(record)}, acting_unit=unit)
    except IntegrityError:
        existing = model.objects.filter(client_uuid=client_uuid).first() if client_uuid else None
        if existing is None:
            raise
        return existing, False
    return record, True


def record_visit(
    *,
    by,
    household: Household,
    date: datetime.date,
    purposes: Iterable[str],
    findings: str = "",
    people_met: Iterable[Resident] = (),
    others_met: str = "",
    case: CaseDraft | None = None,
    client_uuid=None,
) -> tuple[Visit, bool]:
    """Record a visit of `household` by `by`, optionally raising a case from it in the same transaction.

    Returns (visit, created); a retried submission (same `client_uuid`) returns the first visit. Refused
    for a household outside the visitor's posts, a closed household, a day in the future or past the edit
    window, no purpose, or people met who are not on the household's register.
    """
    earlier = _earlier_submission(Visit, "visitor", client_uuid, by)
    if earlier is not None:
        return earlier, False
    grid = household.grid
    level_id = _require_field_post(by, grid)
    if household.status != HouseholdStatus.ACTIVE:
        raise ValidationError({"household": _("This household is closed (销户): it is no longer visited.")})
    _check_day(date)
    purposes = _clean_purposes(purposes)
    people = list(people_met)
    strangers = [p for p in people if p.household_id != household.pk or p.status != ResidentStatus.PRESENT]
    if strangers:
        raise ValidationError(
            {"people_met": _("%(name)s is not on this household's register.") % {"name": strangers[0].name}}
        )

    def write() -> Visit:
        visit = Visit.objects.create(
            household=household,
            grid=grid,
            visitor=by,
            post_level_id=level_id,
            date=date,
            purposes=purposes,
            findings=findings.strip(),
            others_met=others_met.strip()[:200],
            client_uuid=client_uuid,
        )
        if people:
            visit.people_met.set(people)
        return visit

    return _create_once(Visit, client_uuid, write, by=by, unit=grid, case=case, households=[household])


def record_patrol(
    *,
    by,
    grid: Unit,
    date: datetime.date,
    route: str,
    minutes: int | None = None,
    findings: str = "",
    case: CaseDraft | None = None,
    client_uuid=None,
) -> tuple[PatrolRecord, bool]:
    """Record a patrol of `grid` (WORK-2's monthly patrol), optionally raising a case found on it."""
    earlier = _earlier_submission(PatrolRecord, "patroller", client_uuid, by)
    if earlier is not None:
        return earlier, False
    if not grid.is_current:
        raise ValidationError({"grid": _("Patrols are recorded for units in force.")})
    _require_field_post(by, grid, Capability.REPORT_CASES)
    _check_day(date)
    route = (route or "").strip()
    if not route:
        raise ValidationError({"route": _("Say where the patrol went.")})
    if minutes is not None and (not isinstance(minutes, int) or not 0 < minutes <= 24 * 60):
        raise ValidationError({"minutes": _("A patrol lasts between 1 minute and 24 hours.")})

    def write() -> PatrolRecord:
        return PatrolRecord.objects.create(
            grid=grid,
            patroller=by,
            date=date,
            route=route[:200],
            minutes=minutes,
            findings=findings.strip(),
            client_uuid=client_uuid,
        )

    return _create_once(PatrolRecord, client_uuid, write, by=by, unit=grid, case=case)


def record_publicity(
    *,
    by,
    unit: Unit,
    date: datetime.date,
    topic: str,
    method: str,
    audience: str,
    reached: int = 0,
    notes: str = "",
    client_uuid=None,
) -> tuple[PublicityRecord, bool]:
    """Record a policy publicity activity (政策宣传, WORK-6): what, how, to whom, how many reached."""
    earlier = _earlier_submission(PublicityRecord, "author", client_uuid, by)
    if earlier is not None:
        return earlier, False
    if not unit.is_current:
        raise ValidationError({"unit": _("Publicity is recorded for units in force.")})
    _require_field_post(by, unit, Capability.REPORT_CASES)
    _check_day(date)
    topic, audience = (topic or "").strip(), (audience or "").strip()
    if not topic:
        raise ValidationError({"topic": _("Say which policy or topic was publicised.")})
    if method not in PublicityMethod.values:
        raise ValidationError({"method": _("Choose how it was publicised.")})
    if not audience:
        raise ValidationError({"audience": _("Say to whom it was publicised.")})
    if not isinstance(reached, int) or reached < 0:
        raise ValidationError({"reached": _("The number of people reached is a whole number.")})

    def write() -> PublicityRecord:
        return PublicityRecord.objects.create(
            unit=unit,
            author=by,
            date=date,
            topic=topic[:200],
            method=method,
            audience=audience[:200],
            reached=reached,
            notes=notes.strip(),
            client_uuid=client_uuid,
        )

    return _create_once(PublicityRecord, client_uuid, write, by=by, unit=unit)
