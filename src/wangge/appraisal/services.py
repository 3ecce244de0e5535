"""Appraisal's domain operations: which scheme scores a month, scoring a scorecard, the monthly scores and
their ranking, and the weekly inspections. Views, the admin, the worker, the demo and tests call these.

Who may do what: scorecards, rankings and inspections of a unit need Capability.APPRAISE over it (the
county centre, township and village administrators); a grid worker sees their own scorecard and score.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Prefetch, Q
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.audit import record_change, snapshot
from wangge.core.models import ChangeAction
from wangge.core.scope import scope_for
from wangge.people.models import Post
from wangge.people.roles import GRID_ROLES, Capability
from wangge.units.models import Unit
from wangge.workdays.calendar import is_workday

from .choices import SUBJECT_RANKS, Subject
from .indicators import points_for
from .models import Inspection, InspectionFinding, MonthlyScore, SchemeItem, ScoreRun, ScoringScheme
from .scorecards import Batch, Scorecard, period_range, unit_scorecards, worker_scorecards

log = logging.getLogger("wangge.appraisal")
ONE_DAY = datetime.timedelta(days=1)


# --- who may appraise ---------------------------------------------------------------------------------


def may_appraise(user, unit: Unit) -> bool:
    """APPRAISE through a post at `unit` or above it."""
    return (
        user is not None and user.is_authenticated and scope_for(user).grants(Capability.APPRAISE, unit.path)
    )


def appraisable_units(user):
    """The units where the user may appraise (the top of each subtree)."""
    return Unit.objects.current().granting(user, Capability.APPRAISE)


def worker_posts_during(worker, start: datetime.date, end: datetime.date):
    """The worker's grid posts held on some day of [start, end]."""
    return Post.objects.filter(user=worker, role__in=GRID_ROLES, start_date__lte=end).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=start)
    )


def may_see_worker(user, worker, start: datetime.date, end: datetime.date) -> bool:
    """The worker themself, or whoever may appraise the unit of a grid post the worker held in the period
    (a post that ended before it opens nothing)."""
    if user.pk == worker.pk:
        return True
    units = Unit.objects.filter(pk__in=worker_posts_during(worker, start, end).values("unit_id"))
    return any(may_appraise(user, unit) for unit in units)


# --- schemes and scoring ------------------------------------------------------------------------------


def scheme_for(subject: str, month: datetime.date) -> ScoringScheme | None:
    """The scheme version in force for `subject` on the first day of `month`."""
    return (
        ScoringScheme.objects.filter(subject=subject, valid_from__lte=month.replace(day=1))
        .prefetch_related(Prefetch("items", queryset=SchemeItem.objects.order_by("position", "pk")))
        .order_by("-valid_from")
        .first()
    )


@dataclass(frozen=True)
class Scored:
    total: Decimal
    full_marks: Decimal
    points: dict[str, Decimal]


def score(card: Scorecard, scheme: ScoringScheme) -> Scored:
    points = {}
    for item in scheme.items.all():
        figure = card.figures.get(item.indicator)
        points[item.indicator] = points_for(
            item.indicator,
            None if figure is None else figure.value,
            weight=item.weight,
            target=item.target,
            deduction=item.deduction,
        )
    full = sum((item.weight for item in scheme.items.all()), Decimal("0"))
    return Scored(sum(points.values(), Decimal("0")), full, points)


def check_scheme_start(subject: str, valid_from: datetime.date, scheme: ScoringScheme | None = None) -> None:
    """A new version may not reach back into a month already scored: that month keeps its scheme."""
    scored = MonthlyScore.objects.filter(subject=subject, month__gte=month_start(valid_from))
    if scheme is not None and scheme.pk:
        scored = scored.exclude(scheme=scheme)
    latest = scored.order_by("-month").values_list("month", flat=True).first()
    if latest is not None:
        raise ValidationError(
            {
                "valid_from": _(
                    "%(month)s has been scored already: a new version comes into force from a later month."
                )
                % {"month": f"{latest:%Y-%m}"}
            }
        )


def check_scheme_editable(scheme: ScoringScheme) -> None:
    """A scheme that has scored a month is history: change it by adding a version from a later month."""
    if scheme.pk and scheme.is_used():
        raise ValidationError(
            _(
                "This scheme has scored %(count)d monthly results and can no longer change. Add a new "
                "version in force from a later month instead."
            )
            % {"count": scheme.scores.count()}
        )


# --- monthly scores -----------------------------------------------------------------------------------


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _unit_subjects(root: Unit) -> dict[str, list[Unit]]:
    """Every current township, village and grid under `root` (the root included), by subject."""
    units = Unit.objects.current().filter(path__startswith=root.path).select_related("level")
    found: dict[str, list[Unit]] = {subject: [] for subject in SUBJECT_RANKS}
    for unit in units.order_by("path"):
        for subject, ranks in SUBJECT_RANKS.items():
            if unit.level.rank in ranks:
                found[subject].append(unit)
    return found


def _value_json(value) -> str | int | None:
    if value is None or isinstance(value, int):
        return value
    return str(value)


def compute_month(month: datetime.date, root: Unit, *, now=None) -> int:
    """Score every grid worker and every unit under `root` for `month` and store the scores, replacing
    those stored for the same subjects before. Subjects without a scheme in force are not scored.
    Returns the number of scores written."""
    now = now or timezone.now()
    start, end = period_range("month", month)
    today = timezone.localdate(now)
    if end >= today:
        raise ValidationError({"month": _("A month is scored once it is over.")})
    last_month = month_start(month_start(today) - ONE_DAY)
    if start < last_month and MonthlyScore.objects.filter(month=start).exists():
        # Late corrections reach last month only; older scores stay as they were computed and published.
        raise ValidationError(
            {
                "month": _("The scores of %(month)s are final and are not computed again.")
                % {"month": f"{start:%Y-%m}"}
            }
        )
    batch = Batch(root, start, end, today=end, now=now)
    rows: list[MonthlyScore] = []

    def add(cards: list[Scorecard], subject: str):
        scheme = scheme_for(subject, start)
        if scheme is None:
            return
        for card in cards:
            scored = score(card, scheme)
            rows.append(
                MonthlyScore(
                    month=start,
                    subject=subject,
                    unit=card.unit,
                    user=card.user,
                    scheme=scheme,
                    values={code: _value_json(value) for code, value in card.values.items()},
                    points={code: str(points) for code, points in scored.points.items()},
                    total=scored.total,
                    computed_at=now,
                )
            )

    subjects = _unit_subjects(root)
    # Every unit's case figures in one pass over the month's actions: the workers' grids and each subject.
    batch.figures(
        list(
            {unit for held in batch.worker_units.values() for unit in held}
            | {u for us in subjects.values() for u in us}
        )
    )
    add(worker_scorecards(batch), Subject.WORKER)
    for subject, units in subjects.items():
        if units:
            add(unit_scorecards(batch, units), subject)
    with transaction.atomic():
        # A worker's score sits at their first grid, which may lie outside `root` when they moved.
        stale = MonthlyScore.objects.filter(month=start).filter(
            Q(unit__path__startswith=root.path) | Q(user_id__in=[row.user_id for row in rows if row.user_id])
        )
        stale.delete()
        MonthlyScore.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def first_working_day(month: datetime.date) -> datetime.date:
    day = month_start(month)
    while not is_workday(day):
        day += ONE_DAY
    return day


def score_last_month(now: datetime.datetime) -> int:
    """Worker sweep: on or after the first working day of a month, score the month before, once, for
    every top unit. The unique ScoreRun of the month decides which worker does it."""
    today = timezone.localdate(now)
    this_month = month_start(today)
    if today < first_working_day(this_month):
        return 0
    last_month = month_start(this_month - ONE_DAY)
    run = _claim_run(last_month, now)
    if run is None:
        return 0
    written = 0
    try:
        for root in Unit.objects.current().filter(depth=1):
            written += compute_month(last_month, root, now=now)
    except Exception:
        ScoreRun.objects.filter(pk=run.pk, finished_at__isnull=True).delete()  # the next pass tries again
        raise
    ScoreRun.objects.filter(pk=run.pk).update(finished_at=timezone.now(), scores=written)
    log.info("scored %s: %d monthly scores", last_month, written)
    return written


def ordinary_scores(user_ids, year: int) -> dict[int, Decimal]:
    """{user id: the average of their stored monthly scores in `year`} (平时考核, the ordinary part of
    the annual appraisal); people without a scored month are left out."""
    rows = (
        MonthlyScore.objects.filter(subject=Subject.WORKER, user_id__in=list(user_ids), month__year=year)
        .values("user_id")
        .annotate(average=Avg("total"), months=Count("pk"))
        .order_by()
    )
    return {row["user_id"]: Decimal(row["average"]).quantize(Decimal("0.01")) for row in rows}


STALE_RUN = datetime.timedelta(hours=1)


def _claim_run(month: datetime.date, now: datetime.datetime) -> ScoreRun | None:
    """Claim the scoring of `month`: a new run row, or one a worker started over an hour ago and never
    finished (it died); None when the month is done or another worker is at it."""
    try:
        with transaction.atomic():
            return ScoreRun.objects.create(month=month, started_at=now)
    except IntegrityError:
        pass
    claimed = ScoreRun.objects.filter(
        month=month, finished_at__isnull=True, started_at__lt=now - STALE_RUN
    ).update(started_at=now)
    return ScoreRun.objects.get(month=month) if claimed else None


@dataclass(frozen=True)
class RankedScore:
    rank: int
    score: MonthlyScore


def ranking(month: datetime.date, subject: str, root: Unit, *, rank: int | None = None) -> list[RankedScore]:
    """The month's stored scores of `subject` under `root`, best first, ranked 1, 2, 2, 4 on ties; grids
    of one level only when `rank` (the unit level's rank) is given."""
    scores = (
        MonthlyScore.objects.filter(
            month=month_start(month), subject=subject, unit__path__startswith=root.path
        )
        .select_related("unit", "unit__level", "user", "scheme")
        .order_by("-total", "unit__path", "user__full_name")
    )
    if rank is not None:
        scores = scores.filter(unit__level__rank=rank)
    ranked: list[RankedScore] = []
    previous = None
    for position, row in enumerate(scores, start=1):
        place = ranked[-1].rank if previous is not None and row.total == previous else position
        ranked.append(RankedScore(place, row))
        previous = row.total
    return ranked


# --- inspections (周查) --------------------------------------------------------------------------------


@dataclass
class FindingDraft:
    description: str
    deduction: Decimal = Decimal("0")
    responsible: object = None
    rectify_by: datetime.date | None = None


def inspecting_unit_for(user, unit: Unit) -> Unit:
    """The unit an inspection of `unit` is made from: the nearest unit above it where the user may
    appraise. A village cannot inspect itself; its township (or the county) does."""
    scope = scope_for(user)
    for path in reversed(Unit.path_prefixes(unit.path, include_self=False)):
        if scope.grants(Capability.APPRAISE, path):
            return Unit.objects.get(path=path)
    raise PermissionDenied(_("Only a level above may inspect this unit."))


def record_inspection(
    *,
    by,
    unit: Unit,
    inspected_on: datetime.date,
    checked: str,
    summary: str = "",
    inspectors=(),
    findings: list[FindingDraft] = (),
    client_uuid: uuid.UUID | None = None,
    today: datetime.date | None = None,
) -> tuple[Inspection, bool]:
    """Record an inspection of a village or grid with its findings; a retry with the same client id
    returns the first record."""
    if client_uuid is not None:
        earlier = Inspection.objects.filter(client_uuid=client_uuid).first()
        if earlier is not None:
            if earlier.recorded_by_id != by.pk:
                raise PermissionDenied
            return earlier, False
    if unit.level.rank < 3:
        raise ValidationError({"unit": _("Inspections are of villages and grids.")})
    inspecting = inspecting_unit_for(by, unit)
    today = today or timezone.localdate()
    if inspected_on > today:
        raise ValidationError({"inspected_on": _("An inspection cannot be recorded before it happens.")})
    if not checked.strip():
        raise ValidationError({"checked": _("Say what was checked.")})
    people = list(inspectors) or [by]
    for index, finding in enumerate(findings):
        if not finding.description.strip():
            raise ValidationError({"findings": _("Finding %(n)d has no description.") % {"n": index + 1}})
        if finding.deduction < 0:
            raise ValidationError(
                {"findings": _("Finding %(n)d deducts a negative number.") % {"n": index + 1}}
            )
        if (
            finding.responsible is not None
            and not Post.objects.filter(
                user=finding.responsible, role__in=GRID_ROLES, unit__path__startswith=unit.path
            ).exists()
        ):
            raise ValidationError(
                {"findings": _("Finding %(n)d names someone without a grid post here.") % {"n": index + 1}}
            )
    try:
        with transaction.atomic():
            inspection = Inspection.objects.create(
                unit=unit,
                inspecting_unit=inspecting,
                inspected_on=inspected_on,
                checked=checked.strip(),
                summary=summary.strip(),
                recorded_by=by,
                client_uuid=client_uuid,
            )
            inspection.inspectors.set(people)
            InspectionFinding.objects.bulk_create(
                InspectionFinding(
                    inspection=inspection,
                    description=f.description.strip(),
                    deduction=f.deduction,
                    responsible=f.responsible,
                    rectify_by=f.rectify_by,
                )
                for f in findings
            )
            record_change(inspection, ChangeAction.CREATE, by, snapshot(inspection), acting_unit=inspecting)
    except IntegrityError:
        if client_uuid is None:
            raise
        return Inspection.objects.get(client_uuid=client_uuid), False
    return inspection, True


def mark_rectified(finding: InspectionFinding, *, by, on: datetime.date | None = None) -> InspectionFinding:
    on = on or timezone.localdate()
    if not may_appraise(by, finding.inspection.unit) and not may_appraise(
        by, finding.inspection.inspecting_unit
    ):
        raise PermissionDenied
    if finding.rectified_on is not None:
        return finding
    if on < finding.inspection.inspected_on:
        raise ValidationError(
            {"rectified_on": _("A finding is rectified after the inspection that found it.")}
        )
    with transaction.atomic():
        InspectionFinding.objects.filter(pk=finding.pk, rectified_on__isnull=True).update(rectified_on=on)
        finding.refresh_from_db()
        record_change(
            finding.inspection,
            ChangeAction.UPDATE,
            by,
            {"rectified": [finding.description, on.isoformat()]},
            acting_unit=finding.inspection.unit,
        )
    return finding


def units_not_inspected(root: Unit, start: datetime.date, end: datetime.date, rank: int = 3):
    """Current units of `rank` (villages by default) under `root` with no inspection of them or of a grid
    under them in [start, end]."""
    inspected = (
        Inspection.objects.filter(inspected_on__gte=start, inspected_on__lte=end, unit__level__rank__gte=rank)
        .annotate(prefix=Substr("unit__path", 1, rank * Unit.steplen))
        .values("prefix")
    )
    return (
        Unit.objects.current()
        .filter(path__startswith=root.path, level__rank=rank)
        .exclude(path__in=inspected)
        .order_by("path")
    )
