"""以下看上 (EVAL-3): the only writers of ratings and providers, who may rate what, and the results.

Departments (部门评议). A department's work on a case is *finished* when one of its assignments on the case
is done (the lead submitted its result) or reported back (a co-handler of a 吹哨 dispatch did its part);
the latest such finish counts. A holder of RATE_DEPARTMENTS through a post whose subtree holds the case's
unit (township and village offices, grid staff) may then rate that department on that case — speed,
result and attitude, 1–5 stars each, and a comment — for WANGGE_RATING_OPEN_DAYS after the finish. One
rating per case, department and rater; its rater may change it for WANGGE_RATING_EDIT_DAYS after giving
it, then it is frozen. Nobody rates a department they work for. A rating given stays when the check later
sends the work back for rework; the rater may change it within its edit window.

Who sees the raters: the rater, and the holders of APPRAISE (county command, township and village
offices) for the cases in their subtrees (`DepartmentRating.objects.visible_to`); a department sees only
anonymous aggregates of its own ratings, never who gave them.

Providers (居民评价水、电、气、通讯). Residents rate an active provider serving the unit they rate from on
service quality, responsiveness and the transparency of prices and charges, without an account; the
client id makes a retry harmless, and nothing about the resident is kept but the unit.

Results. `department_results` and `provider_results` turn a queryset the caller has scoped (see
`results_access`, `department_ratings_for`, `provider_ratings_for`) into one table each, with one GROUP BY
query: per department or provider, the number of ratings, the average mark of each dimension, the overall
average (of all marks), the share of marks at 4 or 5 stars, and the rank by overall average among the rows
with at least WANGGE_RATING_RANK_MIN_COUNT ratings (providers ranked within their kind). A rating belongs
to the period of the day it was given (local time). Averages are Decimals rounded half up to 2 places,
shares to 4 places (0.8333 for 83.33 %).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.cases.choices import AssignmentStatus
from wangge.cases.models import Assignment, Case
from wangge.cases.redact import find_personal_data
from wangge.core.audit import diff, record_change, snapshot
from wangge.core.models import ChangeAction
from wangge.core.scope import scope_for
from wangge.people.models import Department
from wangge.people.roles import ROLE_CAPABILITIES, Capability
from wangge.units.models import Unit

from .choices import GOOD_MARK, DepartmentDimension, ProviderDimension, ProviderKind, Stars
from .models import DepartmentRating, ResidentRating, ServiceProvider

DEFAULT_EDIT_DAYS = 7
DEFAULT_OPEN_DAYS = 30
DEFAULT_RANK_MIN_COUNT = 5
COMMENT_MAX = 500
PROVIDER_RANKS = (1, 2)  # a provider serves a county or a township

FINISHED_STATUSES = (AssignmentStatus.DONE, AssignmentStatus.REPORTED_BACK)
DEPARTMENT_MARKS = tuple(DepartmentDimension.values)
PROVIDER_MARKS = tuple(ProviderDimension.values)
PROVIDER_FIELDS = ("name", "kind", "unit", "phone", "is_active")

TWO_PLACES = Decimal("0.01")
FOUR_PLACES = Decimal("0.0001")


# --- policy numbers -------------------------------------------------------------------------------------


def edit_days() -> int:
    """How many days after it was given a department rating can still be changed."""
    return int(getattr(settings, "WANGGE_RATING_EDIT_DAYS", DEFAULT_EDIT_DAYS))


def open_days() -> int:
    """How many days after a department finished its work on a case the grassroots may rate it."""
    return int(getattr(settings, "WANGGE_RATING_OPEN_DAYS", DEFAULT_OPEN_DAYS))


def rank_min_count() -> int:
    """The fewest ratings in a period for a department or provider to be ranked."""
    return int(getattr(settings, "WANGGE_RATING_RANK_MIN_COUNT", DEFAULT_RANK_MIN_COUNT))


# --- who may rate what ----------------------------------------------------------------------------------


def rating_paths(user) -> tuple[str, ...] | None:
    """The subtrees whose cases the user may rate departments on (None: everywhere)."""
    scope = scope_for(user)
    if scope.is_global:
        return None
    return scope.paths_for(Capability.RATE_DEPARTMENTS)


def may_rate(user) -> bool:
    paths = rating_paths(user)
    return paths is None or bool(paths)


def rateable_cases(user) -> QuerySet:
    """The cases on which the user may rate departments: those under their RATE_DEPARTMENTS posts."""
    paths = rating_paths(user)
    if paths is None:
        return Case.objects.all()
    return Case.objects.filter(scope_for(user).path_q("unit__path", paths)) if paths else Case.objects.none()


def finished_assignments() -> QuerySet:
    """Departments' assignments whose part is finished: done, or reported back by a co-handler."""
    return Assignment.objects.filter(
        department__isnull=False, status__in=FINISHED_STATUSES, finished_at__isnull=False
    )


def finished_at(case, department) -> datetime.datetime | None:
    """When the department last finished its work on the case (None: it has not)."""
    return (
        finished_assignments()
        .filter(case=case, department=department)
        .aggregate(last=Max("finished_at"))["last"]
    )


def _rater_unit(user, case) -> Unit | None:
    """The unit of the deepest post through which the user rates on the case (None for a global user
    without such a post)."""
    paths = [
        path
        for role, path in scope_for(user).posts
        if Capability.RATE_DEPARTMENTS in ROLE_CAPABILITIES.get(role, frozenset())
        and case.unit.path.startswith(path)
    ]
    if not paths:
        return None
    return Unit.objects.filter(path=max(paths, key=len)).first()


def _check_rater(by, case, department) -> None:
    scope = scope_for(by)
    if not scope.grants(Capability.RATE_DEPARTMENTS, case.unit.path):
        raise PermissionDenied(
            _("Your posts do not allow rating departments on the cases of %(unit)s.")
            % {"unit": case.unit.name}
        )
    if department.pk in scope.department_ids:
        raise ValidationError(
            {
                "department": _("A department does not rate itself: you work for %(dept)s.")
                % {"dept": department}
            }
        )


def _clean_marks(marks: dict, labels: dict) -> dict[str, int]:
    errors, cleaned = {}, {}
    for name, value in marks.items():
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = None
        if isinstance(value, bool) or number not in Stars.values or str(number) != str(value).strip():
            errors[name] = _("%(dimension)s: give 1 to 5 stars.") % {"dimension": labels[name]}
        else:
            cleaned[name] = number
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_comment(comment: str | None) -> str:
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ValidationError(
            {"comment": _("A comment has at most %(max)s characters.") % {"max": COMMENT_MAX}}
        )
    return comment


# --- rating a department ----------------------------------------------------------------------------------


@dataclass
class RatingSlot:
    """One department's finished work on one case, as one rater sees it: their rating if given, and
    whether they may (still) give or change it."""

    case: Case
    department: Department
    finished_at: datetime.datetime
    rating: DepartmentRating | None
    now: datetime.datetime
    own_department: bool = False

    @property
    def open_until(self) -> datetime.datetime:
        return self.finished_at + datetime.timedelta(days=open_days())

    @property
    def frozen_at(self) -> datetime.datetime | None:
        return self.rating.rated_at + datetime.timedelta(days=edit_days()) if self.rating else None

    @property
    def can_rate(self) -> bool:
        if self.own_department:
            return False
        if self.rating is not None:
            return self.now <= self.frozen_at
        return self.now <= self.open_until


def rating_slot(user, case, department, now=None) -> RatingSlot | None:
    """The user's slot for rating `department` on `case`; None when the department has no finished work
    on the case (nothing to rate). The caller has checked that the case lies in the user's rating area."""
    now = now or timezone.now()
    finished = finished_at(case, department)
    if finished is None:
        return None
    rating = DepartmentRating.objects.filter(case=case, department=department, rater=user).first()
    own = department.pk in scope_for(user).department_ids
    return RatingSlot(case, department, finished, rating, now, own_department=own)


def rate_department(
    *, by, case, department, speed, result, attitude, comment: str = "", now=None
) -> tuple[DepartmentRating, bool]:
    """Give or change `by`'s rating of `department`'s work on `case`; returns (rating, created).

    Raises PermissionDenied when the case lies outside the user's rating area, and ValidationError naming
    the field: `department` (their own department, no finished work, or too long after it finished),
    `speed`/`result`/`attitude` (not 1–5 stars), `comment` (too long), `rating` (frozen).
    """
    now = now or timezone.now()
    _check_rater(by, case, department)
    marks = _clean_marks(
        {"speed": speed, "result": result, "attitude": attitude},
        dict(DepartmentDimension.choices),
    )
    comment = _clean_comment(comment)
    finished = finished_at(case, department)
    if finished is None:
        raise ValidationError(
            {
                "department": _(
                    "%(dept)s has not finished its work on this case: there is nothing to rate yet."
                )
                % {"dept": department}
            }
        )
    try:
        with transaction.atomic():
            return _write_department_rating(by, case, department, finished, marks, comment, now)
    except IntegrityError:
        # A concurrent first rating by the same person won the race: this one is now an edit of it.
        with transaction.atomic():
            return _write_department_rating(by, case, department, finished, marks, comment, now)


def _write_department_rating(by, case, department, finished, marks, comment, now):
    rating = (
        DepartmentRating.objects.select_for_update()
        .filter(case=case, department=department, rater=by)
        .first()
    )
    rater_unit = _rater_unit(by, case)
    if rating is None:
        if now > finished + datetime.timedelta(days=open_days()):
            raise ValidationError(
                {
                    "department": _(
                        "%(dept)s finished on %(date)s and can no longer be rated: ratings are open "
                        "%(days)s days after the department finishes."
                    )
                    % {
                        "dept": department,
                        "date": timezone.localtime(finished).date().isoformat(),
                        "days": open_days(),
                    }
                }
            )
        rating = DepartmentRating.objects.create(
            case=case,
            department=department,
            rater=by,
            rater_unit=rater_unit,
            unit=case.unit,
            comment=comment,
            rated_at=now,
            **marks,
        )
        record_change(rating, ChangeAction.CREATE, by, {"after": snapshot(rating)}, acting_unit=rater_unit)
        return rating, True
    if now > rating.rated_at + datetime.timedelta(days=edit_days()):
        raise ValidationError(
            {
                "rating": _(
                    "Your rating of %(dept)s on this case was given on %(date)s and is frozen: a rating can "
                    "be changed for %(days)s days."
                )
                % {
                    "dept": department,
                    "date": timezone.localtime(rating.rated_at).date().isoformat(),
                    "days": edit_days(),
                }
            }
        )
    editable = [*DEPARTMENT_MARKS, "comment"]
    before = snapshot(rating, editable)
    for name, value in marks.items():
        setattr(rating, name, value)
    rating.comment = comment
    changes = diff(before, snapshot(rating, editable))
    if changes:
        rating.changed_at = now
        rating.save(update_fields=[*editable, "changed_at"])
        record_change(rating, ChangeAction.UPDATE, by, changes, acting_unit=rater_unit)
    return rating, False


# --- what is left to rate ---------------------------------------------------------------------------------


def pending_ratings(user, now=None) -> QuerySet:
    """(case_id, department_id, finished) of the departments' finished work on cases in the user's rating
    area that is still open to rating and that the user has not rated, latest finish first. One grouped
    query; paginate it, then `slots_for` the page."""
    now = now or timezone.now()
    scope = scope_for(user)
    since = now - datetime.timedelta(days=open_days())
    assignments = finished_assignments().filter(finished_at__gte=since, finished_at__lte=now)
    paths = rating_paths(user)
    if paths is not None:
        assignments = assignments.filter(scope.path_q("case__unit__path", paths))
    if scope.department_ids:
        assignments = assignments.exclude(department_id__in=scope.department_ids)
    rated = DepartmentRating.objects.filter(
        case_id=OuterRef("case_id"), department_id=OuterRef("department_id"), rater=user
    )
    return (
        assignments.filter(~Exists(rated))
        .order_by()
        .values("case_id", "department_id")
        .annotate(finished=Max("finished_at"))
        .order_by("-finished", "-case_id", "department_id")
    )


def slots_for(rows: Iterable[dict], now=None) -> list[RatingSlot]:
    """The rows of `pending_ratings` as slots, with their cases and departments (two queries)."""
    now = now or timezone.now()
    rows = list(rows)
    cases = Case.objects.select_related("unit", "category").in_bulk({row["case_id"] for row in rows})
    departments = Department.objects.in_bulk({row["department_id"] for row in rows})
    return [
        RatingSlot(cases[row["case_id"]], departments[row["department_id"]], row["finished"], None, now)
        for row in rows
    ]


def open_ratings(user, now=None) -> QuerySet:
    """The user's own ratings that can still be changed, newest first."""
    now = now or timezone.now()
    return (
        DepartmentRating.objects.filter(rater=user, rated_at__gte=now - datetime.timedelta(days=edit_days()))
        .select_related("case", "department")
        .order_by("-rated_at", "-id")
    )


def case_ratings(user, case, now=None) -> dict:
    """The context of `ratings/_case_ratings.html` for one case on its detail page: the departments that
    finished work on it which the user may rate (with their own rating, if given), and the ratings with
    their raters the user may read (`visible_to`: never those of their own departments). At most four
    queries; none for a user who can neither rate nor read ratings here."""
    now = now or timezone.now()
    scope = scope_for(user)
    slots: list[RatingSlot] = []
    if scope.grants(Capability.RATE_DEPARTMENTS, case.unit.path):
        finished = dict(
            finished_assignments()
            .filter(case=case)
            .exclude(department_id__in=scope.department_ids)
            .order_by()
            .values("department_id")
            .annotate(last=Max("finished_at"))
            .values_list("department_id", "last")
        )
        if finished:
            mine = {
                r.department_id: r
                for r in DepartmentRating.objects.filter(case=case, rater=user, department_id__in=finished)
            }
            departments = Department.objects.in_bulk(list(finished))
            for pk, last in finished.items():
                slot = RatingSlot(case, departments[pk], last, mine.get(pk), now)
                if slot.rating is not None or slot.can_rate:
                    slots.append(slot)
            slots.sort(key=lambda s: (s.department.name, s.department.pk))
    readable = scope.is_global or bool(scope.paths_for(Capability.APPRAISE))
    ratings = (
        list(
            DepartmentRating.objects.visible_to(user)
            .filter(case=case)
            .exclude(rater=user)
            .select_related("department", "rater", "rater_unit")
            .order_by("department__name", "rated_at")
        )
        if readable
        else []
    )
    return {"case": case, "slots": slots, "ratings": ratings, "edit_days": edit_days()}


# --- providers --------------------------------------------------------------------------------------------


def _check_provider(by, provider: ServiceProvider | None, values: dict) -> dict:
    errors = {}
    scope = scope_for(by)
    if provider is not None and not scope.grants(Capability.MANAGE_UNITS, provider.unit.path):
        raise PermissionDenied(_("This provider is kept by a level above yours."))
    name = (values.get("name") or "").strip()
    if not name:
        errors["name"] = _("Give the provider's name.")
    if values.get("kind") not in ProviderKind.values:
        errors["kind"] = _(
            "Choose what the provider supplies: water, electricity, gas, telecommunications or other."
        )
    unit = values.get("unit")
    if unit is None:
        errors["unit"] = _("Choose the county or township the provider serves.")
    elif unit.level.rank not in PROVIDER_RANKS:
        errors["unit"] = _("A provider serves a county or a township, not a %(level)s.") % {
            "level": unit.level.name
        }
    elif not scope.grants(Capability.MANAGE_UNITS, unit.path):
        errors["unit"] = _("%(unit)s is outside the area you manage.") % {"unit": unit.name}
    elif (
        name
        and ServiceProvider.objects.filter(unit=unit, name=name)
        .exclude(pk=provider.pk if provider else None)
        .exists()
    ):
        errors["name"] = _("%(unit)s already has a provider of this name.") % {"unit": unit.name}
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "kind": values["kind"],
        "unit": unit,
        "phone": (values.get("phone") or "").strip(),
        "is_active": bool(values.get("is_active", True)),
    }


def check_provider(*, by, provider: ServiceProvider | None = None, **values) -> None:
    """Validate a provider's fields for `by` without writing (the admin's form calls it)."""
    _check_provider(by, provider, values)


def save_provider(*, by, provider: ServiceProvider | None = None, **values) -> ServiceProvider:
    """Add a provider (provider=None) or change one; `by` needs MANAGE_UNITS at its unit (and at the
    unit it had). Fields: name, kind, unit, phone, is_active."""
    unknown = set(values) - set(PROVIDER_FIELDS)
    if unknown:
        raise TypeError(f"save_provider() got unexpected fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        if provider is not None:
            provider = ServiceProvider.objects.select_for_update().select_related("unit").get(pk=provider.pk)
        cleaned = _check_provider(by, provider, values)
        if provider is None:
            provider = ServiceProvider.objects.create(**cleaned)
            record_change(
                provider, ChangeAction.CREATE, by, {"after": snapshot(provider)}, acting_unit=provider.unit
            )
            return provider
        before = snapshot(provider)
        for name, value in cleaned.items():
            setattr(provider, name, value)
        provider.save()
        changes = diff(before, snapshot(provider))
        if changes:
            record_change(provider, ChangeAction.UPDATE, by, changes, acting_unit=provider.unit)
    return provider


def providers_serving(unit: Unit) -> QuerySet:
    return ServiceProvider.objects.serving(unit).order_by("kind", "name", "pk")


# --- residents rating a provider --------------------------------------------------------------------------


def rate_provider(
    *, provider, unit, quality, responsiveness, transparency, comment: str = "", client_uuid, now=None
) -> tuple[ResidentRating, bool]:
    """A resident's rating of `provider` from `unit`; returns (rating, created). A retry with the same
    client id returns the rating it made. Raises ValidationError naming the field: `provider` (not active
    or not serving the unit), `quality`/`responsiveness`/`transparency` (not 1–5 stars), `comment` (too
    long, or holding a phone or ID number — no personal data is kept)."""
    existing = ResidentRating.objects.filter(uuid=client_uuid).first()
    if existing is not None:
        return existing, False
    if provider is None or not provider.is_active or not unit.path.startswith(provider.unit.path):
        raise ValidationError(
            {"provider": _("Choose one of the providers that serve %(unit)s.") % {"unit": unit.name}}
        )
    marks = _clean_marks(
        {"quality": quality, "responsiveness": responsiveness, "transparency": transparency},
        dict(ProviderDimension.choices),
    )
    comment = _clean_comment(comment)
    found = find_personal_data(comment)
    if found:
        raise ValidationError(
            {
                "comment": _("Do not write personal data in the comment; remove %(items)s.")
                % {"items": "、".join(found)}
            }
        )
    now = now or timezone.now()
    try:
        with transaction.atomic():
            rating = ResidentRating.objects.create(
                uuid=client_uuid, provider=provider, unit=unit, comment=comment, rated_at=now, **marks
            )
            record_change(rating, ChangeAction.CREATE, None, {"after": snapshot(rating)}, acting_unit=unit)
    except IntegrityError:
        # The same submission arrived twice at once: the first one made it.
        existing = ResidentRating.objects.filter(uuid=client_uuid).first()
        if existing is None:
            raise
        return existing, False
    return rating, True


# --- results ----------------------------------------------------------------------------------------------


def _round(value: Fraction, places: Decimal) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(places, rounding=ROUND_HALF_UP)


@dataclass
class ResultRow:
    """One department's or provider's figures over a period."""

    key: int
    name: str
    count: int
    sums: dict[str, int]
    good_marks: int
    dimensions: tuple[str, ...]
    kind: str = ""
    rank: int | None = None
    averages: dict[str, Decimal] = field(init=False)

    def __post_init__(self):
        self.averages = {
            name: _round(Fraction(self.sums[name], self.count), TWO_PLACES) for name in self.dimensions
        }

    @property
    def marks(self) -> int:
        return self.count * len(self.dimensions)

    @property
    def exact_overall(self) -> Fraction:
        return Fraction(sum(self.sums.values()), self.marks)

    @property
    def overall(self) -> Decimal:
        """The average of all marks given (each dimension of each rating weighs the same)."""
        return _round(self.exact_overall, TWO_PLACES)

    @property
    def good_share(self) -> Decimal:
        """The share of marks at 4 or 5 stars, as a fraction rounded half up to 4 places."""
        return _round(Fraction(self.good_marks, self.marks), FOUR_PLACES)

    @property
    def average_list(self) -> list[Decimal]:
        return [self.averages[name] for name in self.dimensions]

    @property
    def kind_label(self) -> str:
        return str(ProviderKind(self.kind).label) if self.kind else ""


def day_bounds(start: datetime.date, end: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[start 00:00, the day after end 00:00) in local time, for filtering timestamps by days."""
    zone = timezone.get_current_timezone()
    return (
        datetime.datetime.combine(start, datetime.time.min, tzinfo=zone),
        datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone),
    )


def _aggregate(
    queryset, *, key: str, name: str, marks: Sequence[str], kind: str | None = None
) -> list[ResultRow]:
    """One GROUP BY query: per `key`, the count, the sum of each mark and the number of good marks."""
    annotations = {"n": Count("id")}
    for mark in marks:
        annotations[f"sum_{mark}"] = Sum(mark)
        annotations[f"good_{mark}"] = Count("id", filter=Q(**{f"{mark}__gte": GOOD_MARK}))
    columns = [key, name] + ([kind] if kind else [])
    rows = queryset.order_by().values(*columns).annotate(**annotations)
    return [
        ResultRow(
            key=row[key],
            name=row[name],
            kind=row[kind] if kind else "",
            count=row["n"],
            sums={mark: row[f"sum_{mark}"] for mark in marks},
            good_marks=sum(row[f"good_{mark}"] for mark in marks),
            dimensions=tuple(marks),
        )
        for row in rows
    ]


def _rank(rows: list[ResultRow], minimum: int) -> None:
    """Competition ranking (1, 2, 2, 4) by the exact overall average, highest first, among rows with at
    least `minimum` ratings; the others stay unranked."""
    ranked = sorted((r for r in rows if r.count >= minimum), key=lambda r: r.exact_overall, reverse=True)
    previous = None
    for position, row in enumerate(ranked, start=1):
        row.rank = previous.rank if previous and previous.exact_overall == row.exact_overall else position
        previous = row


def _ordered(rows: list[ResultRow]) -> list[ResultRow]:
    return sorted(rows, key=lambda r: (r.kind, r.rank is None, r.rank or 0, -r.count, r.name, r.key))


def department_results(ratings: QuerySet, start: datetime.date, end: datetime.date) -> list[ResultRow]:
    """The department table over the days [start, end] of an already scoped DepartmentRating queryset."""
    low, high = day_bounds(start, end)
    rows = _aggregate(
        ratings.filter(rated_at__gte=low, rated_at__lt=high),
        key="department_id",
        name="department__name",
        marks=DEPARTMENT_MARKS,
    )
    _rank(rows, rank_min_count())
    return _ordered(rows)


def provider_results(ratings: QuerySet, start: datetime.date, end: datetime.date) -> list[ResultRow]:
    """The provider table over the days [start, end] of an already scoped ResidentRating queryset;
    providers are ranked among those of the same kind."""
    low, high = day_bounds(start, end)
    rows = _aggregate(
        ratings.filter(rated_at__gte=low, rated_at__lt=high),
        key="provider_id",
        name="provider__name",
        kind="provider__kind",
        marks=PROVIDER_MARKS,
    )
    minimum = rank_min_count()
    for kind in {row.kind for row in rows}:
        _rank([row for row in rows if row.kind == kind], minimum)
    return _ordered(rows)


@dataclass
class ResultsAccess:
    """Which results a user reads: the subtrees where they appraise (None: everywhere; empty: none), and
    the departments they work for (each sees its own anonymous aggregate)."""

    paths: tuple[str, ...] | None
    departments: list[Department]

    @property
    def territorial(self) -> bool:
        return self.paths is None or bool(self.paths)

    def covers(self, path: str) -> bool:
        return self.paths is None or any(path.startswith(prefix) for prefix in self.paths)


def results_access(user) -> ResultsAccess:
    """Raises PermissionDenied for a user who appraises nowhere and works for no department."""
    scope = scope_for(user)
    paths = None if scope.is_global else scope.paths_for(Capability.APPRAISE)
    departments = (
        list(Department.objects.filter(pk__in=scope.department_ids).select_related("unit").order_by("name"))
        if scope.department_ids
        else []
    )
    access = ResultsAccess(paths, departments)
    if not access.territorial and not departments:
        raise PermissionDenied(_("Your posts do not allow reading the rating results."))
    return access


def _in_area(queryset: QuerySet, access: ResultsAccess, unit: Unit | None) -> QuerySet:
    if access.paths is not None:
        queryset = queryset.filter(_under_paths(access.paths))
    if unit is not None:
        queryset = queryset.filter(unit__path__startswith=unit.path)
    return queryset


def _under_paths(paths: tuple[str, ...]) -> Q:
    condition = Q(pk__in=[])
    for prefix in paths:
        condition |= Q(unit__path__startswith=prefix)
    return condition


def department_ratings_for(access: ResultsAccess, unit: Unit | None = None) -> QuerySet:
    """The department ratings given on cases in the user's appraisal area (optionally under `unit`)."""
    if not access.territorial:
        return DepartmentRating.objects.none()
    return _in_area(DepartmentRating.objects.all(), access, unit)


def provider_ratings_for(access: ResultsAccess, unit: Unit | None = None) -> QuerySet:
    """The residents' ratings given from units in the user's appraisal area (optionally under `unit`)."""
    if not access.territorial:
        return ResidentRating.objects.none()
    return _in_area(ResidentRating.objects.all(), access, unit)


@dataclass
class OwnResult:
    """A department's own anonymous aggregate, ranked among the departments rated in its area."""

    department: Department
    row: ResultRow | None
    ranked: int

    @property
    def rows(self) -> list[ResultRow]:
        return [self.row] if self.row is not None else []


def own_department_result(department: Department, start: datetime.date, end: datetime.date) -> OwnResult:
    """The department's row of the table of its area (the subtree of its unit), and how many are ranked."""
    table = department_results(
        DepartmentRating.objects.filter(unit__path__startswith=department.unit.path), start, end
    )
    row = next((r for r in table if r.key == department.pk), None)
    return OwnResult(department, row, sum(1 for r in table if r.rank is not None))


def ratings_nav(user) -> dict[str, bool]:
    """Which rating pages the user may open (the pages' own tabs and the appraisal hub)."""
    scope = user.scope
    appraises = scope.is_global or bool(scope.paths_for(Capability.APPRAISE))
    rates = may_rate(user)
    return {
        "rate": rates,
        "given": appraises or rates,
        "results": appraises or bool(scope.department_ids),
        "providers": appraises,
    }
