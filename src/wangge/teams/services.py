"""The only writers of the staff ledger, and its two checks: "1+n+N" staffing and trained before posted.

Writes need the MANAGE_STAFF capability reaching the unit through a post that grants it
(`scope.paths_for`); each is atomic and writes the change log. A refusal is a ValidationError naming the
field and the rule, or PermissionDenied.

Policy numbers are settings: WANGGE_HOUSEHOLDS_PER_GRID_WORKER (the "n" of 1+n+N: one grid worker per
this many households, seed 002: 100) and WANGGE_TRAINING_VALID_MONTHS (a training counts for a post
starting within this many months after it, and keeps a worker "trained" on the ledger as long; 12).
"""

from __future__ import annotations

import bisect
import calendar
import datetime
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.audit import diff, record_change, snapshot
from wangge.core.models import ChangeAction
from wangge.ledger.choices import HouseholdStatus
from wangge.ledger.models import Household
from wangge.people.models import Post, User
from wangge.people.roles import GRID_ROLES, ROLE_CAPABILITIES, Capability, Role
from wangge.people.services import can_manage_staff
from wangge.units.models import Unit

from .choices import (
    LEADER_ROLES,
    LEDGER_EXCLUDED_ROLES,
    OTHER_FORCE_ROLES,
    WORKER_ROLES,
    FlagKind,
    Staffing,
)
from .models import (
    AppointmentAgreement,
    Badge,
    PipelineFlag,
    TrainingAttendance,
    TrainingPlan,
    TrainingSession,
)

# Ranks of the level scheme (UnitLevel.rank): a grid's "1" and "n" come from within its village, its "N"
# from within its township (a county-wide force is not a grid's own).
TOWNSHIP_RANK = 2
VILLAGE_RANK = 3
MAX_SESSION_HOURS = Decimal("100")


def households_per_worker() -> int:
    return int(getattr(settings, "WANGGE_HOUSEHOLDS_PER_GRID_WORKER", 100))


def training_valid_months() -> int:
    return int(getattr(settings, "WANGGE_TRAINING_VALID_MONTHS", 12))


def months_before(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` calendar months earlier (31 March less one month is the last of February)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def person_name(user) -> str:
    return user.full_name or user.username


# --- permissions -----------------------------------------------------------------------------------------


def manages(user, unit) -> bool:
    """Whether `user` keeps the staff ledger of `unit`: the one rule of who keeps a unit's staff."""
    return unit is not None and can_manage_staff(user, unit)


def require_manages(user, unit) -> None:
    if not manages(user, unit):
        raise PermissionDenied(
            _("Your posts do not allow keeping the staff ledger of %(unit)s.") % {"unit": unit.name}
        )


def managed_units(user):
    """The current units whose staff ledger the user keeps."""
    return Unit.objects.current().granting(user, Capability.MANAGE_STAFF)


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


def _not_a_grid(unit, field_name: str, errors: dict) -> None:
    if unit.is_grid:
        errors[field_name] = _("This is signed by the township or the village/community, not by a grid.")


# --- appointment agreements (年度聘任协议) ------------------------------------------------------------------


def sign_agreement(
    *,
    by,
    user,
    unit,
    year: int,
    signed_on: datetime.date,
    valid_from: datetime.date | None = None,
    valid_to: datetime.date | None = None,
    post: Post | None = None,
    notes: str = "",
) -> AppointmentAgreement:
    """Record `user`'s appointment agreement with the employing `unit` for `year` (one per person, unit and
    year). The post, when given, is the person's and lies under the employing unit; the writer keeps the
    staff of the employing unit or of the post's unit (the village signs together with the township)."""
    if not (manages(by, unit) or (post is not None and manages(by, post.unit))):
        require_manages(by, unit)
    errors: dict = {}
    _not_a_grid(unit, "unit", errors)
    valid_from = valid_from or datetime.date(year, 1, 1)
    valid_to = valid_to or datetime.date(year, 12, 31)
    if valid_from.year != year:
        errors["valid_from"] = _("The agreement of %(year)s starts within %(year)s.") % {"year": year}
    if valid_to.year != year:
        errors["valid_to"] = _("The agreement of %(year)s ends within %(year)s.") % {"year": year}
    elif valid_to < valid_from:
        errors["valid_to"] = _("The agreement ends before it starts.")
    if signed_on > valid_to:
        errors["signed_on"] = _("An agreement is signed before the end of the period it covers.")
    if post is not None:
        if post.user_id != user.pk:
            errors["post"] = _("The post must be held by %(name)s.") % {"name": person_name(user)}
        elif not post.unit.path.startswith(unit.path):
            errors["post"] = _("The post must lie at the employing unit or below it.")
    _raise(errors)
    duplicate = ValidationError(
        {
            "year": _("%(name)s already has an agreement with %(unit)s for %(year)s.")
            % {"name": person_name(user), "unit": unit.name, "year": year}
        }
    )
    try:
        with transaction.atomic():
            if AppointmentAgreement.objects.filter(user=user, unit=unit, year=year).exists():
                raise duplicate
            agreement = AppointmentAgreement.objects.create(
                user=user,
                unit=unit,
                year=year,
                post=post,
                signed_on=signed_on,
                valid_from=valid_from,
                valid_to=valid_to,
                notes=(notes or "").strip(),
            )
            record_change(
                agreement, ChangeAction.CREATE, by, {"after": snapshot(agreement)}, acting_unit=unit
            )
    except IntegrityError as exc:  # a concurrent signature of the same agreement won
        raise duplicate from exc
    return agreement


# --- badges (统一证件和胸牌) --------------------------------------------------------------------------------


def issue_badge(*, by, user, number: str, issued_on: datetime.date, unit) -> Badge:
    """Issue the staff card and badge `number` to `user`, who serves under `unit` and holds no other."""
    require_manages(by, unit)
    number = (number or "").strip()
    errors: dict = {}
    _not_a_grid(unit, "unit", errors)
    if not number:
        errors["number"] = _("Give the number printed on the badge.")
    serves = (
        Post.objects.filter(user=user, unit__path__startswith=unit.path)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=issued_on))
        .exists()
    )
    if not serves:
        errors["user"] = _("%(name)s holds no post at %(unit)s or below it on %(date)s.") % {
            "name": person_name(user),
            "unit": unit.name,
            "date": issued_on.isoformat(),
        }
    _raise(errors)
    try:
        with transaction.atomic():
            held = Badge.objects.filter(user=user, returned_on__isnull=True).first()
            if held is not None:
                raise ValidationError(
                    {
                        "user": _("%(name)s still holds badge %(number)s: record its return first.")
                        % {"name": person_name(user), "number": held.number}
                    }
                )
            if Badge.objects.filter(number=number).exists():
                raise ValidationError({"number": _("Badge number %(number)s is taken.") % {"number": number}})
            badge = Badge.objects.create(user=user, number=number, issued_on=issued_on, unit=unit)
            record_change(badge, ChangeAction.CREATE, by, {"after": snapshot(badge)}, acting_unit=unit)
    except IntegrityError as exc:
        raise ValidationError(
            {"number": _("Badge number %(number)s is taken.") % {"number": number}}
        ) from exc
    return badge


def return_badge(badge: Badge, *, by, returned_on: datetime.date | None = None) -> Badge:
    """The badge is handed back (the person leaves, or gets a new one)."""
    require_manages(by, badge.unit)
    returned_on = returned_on or timezone.localdate()
    with transaction.atomic():
        badge = Badge.objects.select_for_update().get(pk=badge.pk)
        if badge.returned_on is not None:
            raise ValidationError(
                {"returned_on": _("This badge was returned on %(date)s.") % {"date": badge.returned_on}}
            )
        if returned_on < badge.issued_on:
            raise ValidationError({"returned_on": _("A badge is returned after it was issued.")})
        before = snapshot(badge, ["returned_on"])
        badge.returned_on = returned_on
        badge.save(update_fields=["returned_on", "updated_at"])
        record_change(
            badge,
            ChangeAction.UPDATE,
            by,
            diff(before, snapshot(badge, ["returned_on"])),
            acting_unit=badge.unit,
        )
    return badge


# --- training (TEAM-8) ---------------------------------------------------------------------------------


def file_training_plan(*, by, unit, year: int, title: str, content: str) -> TrainingPlan:
    """File `unit`'s training plan for `year` with the level above, which then acknowledges it."""
    require_manages(by, unit)
    errors: dict = {}
    parent = unit.parent_unit()
    if parent is None:
        errors["unit"] = _("%(unit)s has no level above to file a plan with.") % {"unit": unit.name}
    title, content = (title or "").strip(), (content or "").strip()
    if not title:
        errors["title"] = _("Give the plan a title.")
    if not content:
        errors["content"] = _("Say what the plan holds: topics, who is trained, when.")
    if not 2000 <= year <= 2100:
        errors["year"] = _("Give the year the plan is for.")
    _raise(errors)
    with transaction.atomic():
        plan = TrainingPlan.objects.create(
            unit=unit,
            year=year,
            title=title,
            content=content,
            filed_with=parent,
            filed_at=timezone.now(),
            filed_by=by,
        )
        record_change(plan, ChangeAction.CREATE, by, {"after": snapshot(plan)}, acting_unit=unit)
    return plan


def can_acknowledge(user, plan: TrainingPlan) -> bool:
    """Only the staff of the unit the plan is filed with, with MANAGE_STAFF there, and not its filer."""
    if user is None or not getattr(user, "is_authenticated", False) or plan.filed_by_id == user.pk:
        return False
    return any(
        path == plan.filed_with.path and Capability.MANAGE_STAFF in ROLE_CAPABILITIES.get(role, frozenset())
        for role, path in user.scope.posts
    )


def acknowledge_plan(plan: TrainingPlan, *, by) -> TrainingPlan:
    """The level above acknowledges a plan filed with it."""
    if not can_acknowledge(by, plan):
        raise PermissionDenied(
            _("Only the staff of %(unit)s, the level the plan is filed with, acknowledge it.")
            % {"unit": plan.filed_with.name}
        )
    with transaction.atomic():
        plan = TrainingPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.acknowledged_at is not None:
            raise ValidationError({"acknowledged_at": _("This plan is already acknowledged.")})
        plan.acknowledged_at, plan.acknowledged_by = timezone.now(), by
        plan.save(update_fields=["acknowledged_at", "acknowledged_by", "updated_at"])
        record_change(
            plan,
            ChangeAction.UPDATE,
            by,
            {"acknowledged_by": [None, by.pk]},
            acting_unit=plan.filed_with,
        )
    return plan


def _hours(value) -> Decimal:
    try:
        hours = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({"hours": _("Give the length in hours, e.g. 2 or 1.5.")}) from exc
    if not Decimal("0") < hours <= MAX_SESSION_HOURS:
        raise ValidationError(
            {
                "hours": _("A session lasts more than 0 and at most %(max)s hours.")
                % {"max": MAX_SESSION_HOURS}
            }
        )
    return hours.quantize(Decimal("0.1"))


def record_session(
    *,
    by,
    unit,
    date: datetime.date,
    topic: str,
    hours,
    place: str = "",
    plan: TrainingPlan | None = None,
    attended=(),
    absent=(),
) -> TrainingSession:
    """Record a training session held by `unit` and who attended it (`attended`, `absent`: users)."""
    require_manages(by, unit)
    errors: dict = {}
    topic = (topic or "").strip()
    if not topic:
        errors["topic"] = _("Give the topic of the session.")
    if date > timezone.localdate():
        errors["date"] = _("A session is recorded once it has taken place.")
    try:
        hours = _hours(hours)
    except ValidationError as error:
        errors.update(error.message_dict)
    if plan is not None:
        if not unit.path.startswith(plan.unit.path):
            errors["plan"] = _("The plan must be that of %(unit)s or of a level above it.") % {
                "unit": unit.name
            }
        elif plan.year != date.year:
            errors["plan"] = _("The plan is for %(year)s; the session is on %(date)s.") % {
                "year": plan.year,
                "date": date.isoformat(),
            }
    _raise(errors)
    with transaction.atomic():
        session = TrainingSession.objects.create(
            unit=unit,
            plan=plan,
            date=date,
            topic=topic,
            hours=hours,
            place=(place or "").strip(),
            recorded_by=by,
        )
        counts = _set_attendance(session, attended, absent)
        record_change(
            session,
            ChangeAction.CREATE,
            by,
            {"after": snapshot(session), "attendance": counts},
            acting_unit=unit,
        )
    return session


def record_attendance(session: TrainingSession, *, by, attended=(), absent=()) -> dict:
    """Mark who attended (`attended`) and who was expected but absent (`absent`); others stay as they are."""
    require_manages(by, session.unit)
    with transaction.atomic():
        TrainingSession.objects.select_for_update().filter(pk=session.pk).first()
        before = dict(session.attendance.values_list("user_id", "attended"))
        counts = _set_attendance(session, attended, absent)
        after = dict(session.attendance.values_list("user_id", "attended"))
        changed = {
            str(uid): [before.get(uid), value] for uid, value in after.items() if before.get(uid) != value
        }
        if changed:
            record_change(session, ChangeAction.UPDATE, by, {"attendance": changed}, acting_unit=session.unit)
    return counts


def _set_attendance(session: TrainingSession, attended, absent) -> dict:
    present_ids = {user.pk for user in attended}
    absent_ids = {user.pk for user in absent}
    both = present_ids & absent_ids
    if both:
        names = ", ".join(sorted(person_name(u) for u in attended if u.pk in both))
        raise ValidationError(
            {"attended": _("Marked both present and absent: %(names)s.") % {"names": names}}
        )
    wanted = dict.fromkeys(present_ids, True) | dict.fromkeys(absent_ids, False)
    existing = {row.user_id: row for row in session.attendance.filter(user_id__in=list(wanted))}
    new_rows, changed_rows = [], []
    for uid, value in wanted.items():
        row = existing.get(uid)
        if row is None:
            new_rows.append(TrainingAttendance(session=session, user_id=uid, attended=value))
        elif row.attended != value:
            row.attended = value
            changed_rows.append(row)
    TrainingAttendance.objects.bulk_create(new_rows)
    TrainingAttendance.objects.bulk_update(changed_rows, ["attended"])
    return {"attended": len(present_ids), "absent": len(absent_ids)}


def last_training(user_id: int, on: datetime.date) -> datetime.date | None:
    return (
        TrainingAttendance.objects.filter(user_id=user_id, attended=True, session__date__lte=on)
        .order_by("-session__date")
        .values_list("session__date", flat=True)
        .first()
    )


def check_trained_before_posted(post: Post) -> None:
    """TEAM-8 "train before posting": a post of a grid role is assigned only to someone who attended a
    training session on or before its start date and at most WANGGE_TRAINING_VALID_MONTHS months before.

    Called from Post.clean (the admin's post form). An existing post whose holder, role and start date
    stay as they were is not checked again (ending or retitling an old post stays possible)."""
    if post.role not in GRID_ROLES or not post.user_id or not post.start_date:
        return
    if post.pk:
        old = Post.objects.filter(pk=post.pk).values("user_id", "role", "start_date").first()
        if (
            old
            and old["user_id"] == post.user_id
            and old["start_date"] == post.start_date
            and old["role"] in GRID_ROLES
        ):
            return
    start = post.start_date
    months = training_valid_months()
    earliest = months_before(start, months)
    trained = TrainingAttendance.objects.filter(
        user_id=post.user_id, attended=True, session__date__lte=start, session__date__gte=earliest
    ).exists()
    if trained:
        return
    user = User.objects.filter(pk=post.user_id).first()
    raise ValidationError(
        {
            "user": _(
                "%(name)s has attended no training session between %(earliest)s and %(start)s: a grid post "
                "is given only to someone trained within the %(months)s months before it starts."
            )
            % {
                "name": person_name(user) if user else post.user_id,
                "earliest": earliest.isoformat(),
                "start": start.isoformat(),
                "months": months,
            }
        }
    )


# --- pipeline (TEAM-9) -------------------------------------------------------------------------------------


def flag_worker(*, by, user, kind: str, reason: str, unit, on: datetime.date | None = None) -> PipelineFlag:
    """Put an outstanding grid worker forward for party development or the village cadre reserve."""
    require_manages(by, unit)
    on = on or timezone.localdate()
    reason = (reason or "").strip()
    errors: dict = {}
    if kind not in FlagKind.values:
        errors["kind"] = _("Choose party-member development or the village cadre reserve pool.")
    if not reason:
        errors["reason"] = _("Say what makes this worker outstanding.")
    serves = (
        Post.objects.active(on)
        .filter(user=user, role__in=GRID_ROLES, unit__path__startswith=unit.path)
        .exists()
    )
    if not serves:
        errors["user"] = _("%(name)s holds no grid post at %(unit)s or below it.") % {
            "name": person_name(user),
            "unit": unit.name,
        }
    # Seed 002: 不合格 in the annual appraisal bars every honour that year, the pipeline included.
    from wangge.annual.services import barred_from_awards

    if "user" not in errors and barred_from_awards(user, on.year):
        errors["user"] = _("%(name)s was rated incompetent in the %(year)d annual appraisal.") % {
            "name": person_name(user),
            "year": on.year,
        }
    _raise(errors)
    duplicate = ValidationError(
        {
            "kind": _("%(name)s is already flagged for %(kind)s.")
            % {"name": person_name(user), "kind": FlagKind(kind).label}
        }
    )
    try:
        with transaction.atomic():
            if PipelineFlag.objects.filter(user=user, kind=kind, withdrawn_on__isnull=True).exists():
                raise duplicate
            flag = PipelineFlag.objects.create(
                user=user, kind=kind, reason=reason, unit=unit, flagged_by=by, flagged_on=on
            )
            record_change(flag, ChangeAction.CREATE, by, {"after": snapshot(flag)}, acting_unit=unit)
    except IntegrityError as exc:
        raise duplicate from exc
    return flag


def withdraw_flag(flag: PipelineFlag, *, by, on: datetime.date | None = None) -> PipelineFlag:
    require_manages(by, flag.unit)
    on = on or timezone.localdate()
    with transaction.atomic():
        flag = PipelineFlag.objects.select_for_update().get(pk=flag.pk)
        if flag.withdrawn_on is not None:
            raise ValidationError({"withdrawn_on": _("This flag is already withdrawn.")})
        if on < flag.flagged_on:
            raise ValidationError({"withdrawn_on": _("A flag is withdrawn after it was set.")})
        flag.withdrawn_on, flag.withdrawn_by = on, by
        flag.save(update_fields=["withdrawn_on", "withdrawn_by", "updated_at"])
        record_change(
            flag, ChangeAction.UPDATE, by, {"withdrawn_on": [None, on.isoformat()]}, acting_unit=flag.unit
        )
    return flag


# --- the staff ledger (网格员队伍台账) -------------------------------------------------------------------


def ledger_posts(
    unit,
    *,
    on: datetime.date | None = None,
    role: str = "",
    agreement_missing: bool = False,
    untrained: bool = False,
    flagged: bool = False,
):
    """One row per active post under `unit` (the unit included), with this year's agreement, the badge
    held, the last training attended, whether it is recent enough, and the open flags — one query."""
    on = on or timezone.localdate()
    cutoff = months_before(on, training_valid_months())
    person = OuterRef("user_id")
    attended = TrainingAttendance.objects.filter(user_id=person, attended=True, session__date__lte=on)
    open_flags = PipelineFlag.objects.filter(user_id=person, withdrawn_on__isnull=True)
    posts = (
        Post.objects.active(on)
        .filter(unit__path__startswith=unit.path)
        .exclude(role__in=LEDGER_EXCLUDED_ROLES)
        .select_related("user", "unit", "unit__level")
        .annotate(
            has_agreement=Exists(AppointmentAgreement.objects.filter(user_id=person, year=on.year)),
            badge_number=Subquery(
                Badge.objects.filter(user_id=person, returned_on__isnull=True).values("number")[:1]
            ),
            last_trained=Subquery(attended.order_by("-session__date").values("session__date")[:1]),
            is_trained=Exists(attended.filter(session__date__gte=cutoff)),
            party_flag=Exists(open_flags.filter(kind=FlagKind.PARTY_DEVELOPMENT)),
            reserve_flag=Exists(open_flags.filter(kind=FlagKind.CADRE_RESERVE)),
        )
    )
    if role:
        posts = posts.filter(role=role)
    if agreement_missing:
        posts = posts.filter(has_agreement=False)
    if untrained:
        posts = posts.filter(is_trained=False)
    if flagged:
        posts = posts.filter(Q(party_flag=True) | Q(reserve_flag=True))
    return posts.order_by("unit__path", "role", "user__full_name", "id")


# --- "1+n+N" and 一格一员 / 多格一员 (TEAM-1, TEAM-2) --------------------------------------------------------


@dataclass(frozen=True)
class StaffMember:
    user_id: int
    name: str
    role: str
    unit_code: str
    unit_name: str

    @property
    def role_label(self) -> str:
        return Role(self.role).label


@dataclass
class GridStaffing:
    """One smallest grid: its households, its "1" (leaders), "n" (grid workers) and "N" (other forces)."""

    grid: Unit
    households: int
    needed: int
    leaders: list[StaffMember] = field(default_factory=list)
    leader_above: bool = False
    workers: list[StaffMember] = field(default_factory=list)
    others: list[StaffMember] = field(default_factory=list)
    staffing: str = Staffing.NONE
    shared_worker_ids: frozenset[int] = frozenset()
    # Workers' time this grid gets: a worker serving k smallest grids counts 1/k in each (多格一员), so
    # one worker posted above three grids does not meet "one per 100 households" three times.
    capacity: float | None = None

    @property
    def has_leader(self) -> bool:
        return bool(self.leaders)

    @property
    def has_others(self) -> bool:
        return bool(self.others)

    @property
    def workers_short(self) -> int:
        capacity = len(self.workers) if self.capacity is None else self.capacity
        return max(0, math.ceil(round(self.needed - capacity, 6)))

    @property
    def is_short(self) -> bool:
        """Short of the "1" or of the "n"."""
        return not self.has_leader or self.workers_short > 0

    @property
    def is_complete(self) -> bool:
        return not self.is_short and self.has_others

    @property
    def staffing_label(self) -> str:
        return Staffing(self.staffing).label


@dataclass
class SharedWorker:
    """A grid worker serving several smallest grids (多格一员): `grids` are those under the unit checked."""

    member: StaffMember
    grids: list[Unit]
    grid_count: int


@dataclass
class StaffingReport:
    unit: Unit
    on: datetime.date
    households_per_worker: int
    rows: list[GridStaffing]
    shared_workers: list[SharedWorker]

    @property
    def grids(self) -> int:
        return len(self.rows)

    @property
    def households(self) -> int:
        return sum(row.households for row in self.rows)

    @property
    def without_leader(self) -> int:
        return sum(1 for row in self.rows if not row.has_leader)

    @property
    def short_of_workers(self) -> int:
        return sum(1 for row in self.rows if row.workers_short)

    @property
    def workers_needed(self) -> int:
        return sum(row.needed for row in self.rows)

    @property
    def workers_short(self) -> int:
        return sum(row.workers_short for row in self.rows)

    @property
    def without_others(self) -> int:
        return sum(1 for row in self.rows if not row.has_others)

    @property
    def short(self) -> int:
        return sum(1 for row in self.rows if row.is_short)

    @property
    def complete(self) -> int:
        return sum(1 for row in self.rows if row.is_complete)

    @property
    def workers(self) -> int:
        return len({member.user_id for row in self.rows for member in row.workers})

    def count(self, staffing: str) -> int:
        return sum(1 for row in self.rows if row.staffing == staffing)

    @property
    def one_per_grid(self) -> int:
        return self.count(Staffing.ONE_PER_GRID)

    @property
    def shared(self) -> int:
        return self.count(Staffing.SHARED)

    @property
    def unstaffed(self) -> int:
        return self.count(Staffing.NONE)


def _leaves(paths: list[str]) -> set[str]:
    """The paths with no other path below them (`paths` of current grids)."""
    ordered = sorted(paths)
    return {
        path for i, path in enumerate(ordered) if i + 1 == len(ordered) or not ordered[i + 1].startswith(path)
    }


def staffing_check(unit, on: datetime.date | None = None) -> StaffingReport:
    """The "1+n+N" check of every smallest grid (基础网格: a current grid with no grid below it) under
    `unit`, and how each is staffed (一格一员 / 多格一员 / none).

    - 1: a grid leader or deputy posted at the grid, or else at the nearest unit above it within the
      village; n: the full- and part-time grid workers posted at the grid or above it within the village,
      against ceil(active households / WANGGE_HOUSEHOLDS_PER_GRID_WORKER), at least one; N: instructors,
      liaison cadres, law enforcement and compound heads posted at the grid or above it within the township.
    - 一格一员: a worker serves only this grid; 多格一员: its workers each serve several smallest grids (one
      post above several, or posts in several); none: no worker serves it.

    A fixed handful of queries whatever the size: the grids, grouped household counts, the posts, and the
    other posts of the workers found (with the grids below those posts when they lie outside `unit`).
    """
    on = on or timezone.localdate()
    per_worker = households_per_worker()
    grids = list(
        Unit.objects.current(on)
        .grids()
        .filter(path__startswith=unit.path)
        .select_related("level")
        .order_by("path")
    )
    leaf_paths = _leaves([grid.path for grid in grids])
    leaves = [grid for grid in grids if grid.path in leaf_paths]

    counts = dict(
        Household.objects.filter(status=HouseholdStatus.ACTIVE, grid__path__startswith=unit.path)
        .order_by()
        .values("grid_id")
        .annotate(n=Count("id"))
        .values_list("grid_id", "n")
    )

    roles = (*LEADER_ROLES, *WORKER_ROLES, *OTHER_FORCE_ROLES)
    above = Unit.path_prefixes(unit.path, include_self=False)
    posts = (
        Post.objects.active(on)
        .filter(role__in=roles)
        .filter(Q(unit__path__startswith=unit.path) | Q(unit__path__in=above))
        .values_list(
            "user_id",
            "user__full_name",
            "user__username",
            "role",
            "unit__path",
            "unit__code",
            "unit__name",
            "unit__level__rank",
        )
        .order_by("unit__path", "role", "user__full_name", "user_id")
    )
    by_path: dict[str, list[tuple[StaffMember, int]]] = defaultdict(list)
    for user_id, full_name, username, role, path, code, name, rank in posts:
        by_path[path].append((StaffMember(user_id, full_name or username, role, code, name), rank))

    rows: list[GridStaffing] = []
    for grid in leaves:
        row = GridStaffing(grid=grid, households=counts.get(grid.pk, 0), needed=0)
        row.needed = max(1, math.ceil(row.households / per_worker))
        workers: dict[int, StaffMember] = {}
        others: dict[int, StaffMember] = {}
        for prefix in reversed(Unit.path_prefixes(grid.path)):  # the grid first, then upwards
            for member, rank in by_path.get(prefix, ()):
                if (
                    member.role in LEADER_ROLES
                    and rank >= VILLAGE_RANK
                    and (not row.leaders or row.leaders[0].unit_code == member.unit_code)
                ):
                    row.leaders.append(member)
                    row.leader_above = prefix != grid.path
                elif member.role in WORKER_ROLES and rank >= VILLAGE_RANK:
                    workers.setdefault(member.user_id, member)
                elif member.role in OTHER_FORCE_ROLES and rank >= TOWNSHIP_RANK:
                    others.setdefault(member.user_id, member)
        row.leaders.sort(key=lambda m: (LEADER_ROLES.index(m.role), m.name))
        row.workers, row.others = list(workers.values()), list(others.values())
        rows.append(row)

    served = _grids_served({m.user_id for row in rows for m in row.workers}, unit, grids, leaf_paths, on)
    by_grid_path = {grid.path: grid for grid in leaves}
    shared_ids = {user_id for user_id, paths in served.items() if len(paths) > 1}
    for row in rows:
        row.shared_worker_ids = frozenset(m.user_id for m in row.workers if m.user_id in shared_ids)
        row.capacity = sum(1 / max(1, len(served.get(m.user_id, ()))) for m in row.workers)
        if any(m.user_id not in shared_ids for m in row.workers):
            row.staffing = Staffing.ONE_PER_GRID
        elif row.workers:
            row.staffing = Staffing.SHARED
        else:
            row.staffing = Staffing.NONE

    members = {m.user_id: m for row in rows for m in row.workers}
    shared_workers = [
        SharedWorker(
            member=members[user_id],
            grids=[by_grid_path[path] for path in sorted(served[user_id]) if path in by_grid_path],
            grid_count=len(served[user_id]),
        )
        for user_id in sorted(shared_ids, key=lambda uid: (members[uid].unit_code, members[uid].name))
    ]
    return StaffingReport(unit, on, per_worker, rows, shared_workers)


def _grids_served(
    user_ids: set[int], unit, grids: list[Unit], leaf_paths: set[str], on
) -> dict[int, set[str]]:
    """For each worker, the paths of the smallest grids their worker posts cover (anywhere)."""
    if not user_ids:
        return {}
    posts = list(
        Post.objects.active(on)
        .filter(user_id__in=list(user_ids), role__in=WORKER_ROLES, unit__level__rank__gte=VILLAGE_RANK)
        .values_list("user_id", "unit__path")
    )
    outside = sorted({path for _uid, path in posts if not path.startswith(unit.path)})
    outside_leaves: set[str] = set()
    if outside:
        condition = Q(pk__in=[])
        for path in outside:
            condition |= Q(path__startswith=path)
        outside_leaves = _leaves(
            list(Unit.objects.current(on).grids().filter(condition).values_list("path", flat=True))
        )
    all_leaves = sorted(leaf_paths | outside_leaves)
    served: dict[int, set[str]] = defaultdict(set)
    for user_id, path in posts:
        # The grids below a path are one contiguous run of the sorted paths.
        i = bisect.bisect_left(all_leaves, path)
        while i < len(all_leaves) and all_leaves[i].startswith(path):
            served[user_id].add(all_leaves[i])
            i += 1
    return served
