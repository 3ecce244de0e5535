"""The only writers of meetings and resolutions, and the "which grids have not met this week" list.

Who records what (seeds 000 and 002):
- a weekly grid meeting (网格周例会, WORK-2) is held at a grid or a village and recorded by a leader or
  deputy leader of that grid or of a grid above it, or by the village's administrator;
- a joint meeting (联席会议, WORK-3) is held at the county or a township and recorded by staff who
  dispatch cases there (the county command centre, the township's administrator);
- another meeting is recorded by anyone who reports cases from a territorial post over its unit.

A meeting is recorded or changed up to `settings.WANGGE_MEETING_EDIT_DAYS` calendar days after it was
held (30 by default); after that its minutes stand, though its resolutions are still followed up: each
may raise one case (`spawn_case`) and is marked done when carried out.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.audit import diff, record_change, snapshot
from wangge.core.models import ChangeAction
from wangge.core.scope import scope_for
from wangge.people.models import Department, Post, User
from wangge.people.roles import ROLE_CAPABILITIES, Capability, Role
from wangge.units.choices import UnitKind
from wangge.units.models import Unit
from wangge.workdays.calendar import is_workday

from .choices import MeetingKind, ResolutionStatus
from .models import Meeting, MeetingAttendee, Resolution

WEEKLY_ROLES = frozenset({Role.GRID_LEADER, Role.DEPUTY_GRID_LEADER, Role.VILLAGE_ADMIN})
LEADER_ROLES = frozenset({Role.GRID_LEADER, Role.DEPUTY_GRID_LEADER})
JOINT_RANKS = (1, 2)
VILLAGE_RANK = 3
EDITABLE_FIELDS = ("held_on", "chaired_by", "place", "agenda", "minutes", "other_attendees")
# Spawned cases get a client id derived from the resolution: a retry or a race finds the first case.
RESOLUTION_CASE_NAMESPACE = uuid.UUID("7f1d0c2e-5b7a-4c38-9a55-3b1e6d2f8a41")
ONE_DAY = datetime.timedelta(days=1)


def edit_days() -> int:
    return int(getattr(settings, "WANGGE_MEETING_EDIT_DAYS", 30))


def edit_window_start(today: datetime.date | None = None) -> datetime.date:
    """The oldest meeting day that may still be recorded or changed."""
    return (today or timezone.localdate()) - datetime.timedelta(days=edit_days())


def can_edit(meeting: Meeting, today: datetime.date | None = None) -> bool:
    return meeting.held_on >= edit_window_start(today)


# ---------------------------------------------------------------------------------------------------
# Who records


def _posts_over(user, unit: Unit, capability: str, roles=None) -> list[tuple[str, str]]:
    """The user's territorial posts at `unit` or above it whose role grants `capability` (and is one of
    `roles` when given), as (role, path)."""
    return [
        (role, path)
        for role, path in scope_for(user).posts
        if role != Role.DEPARTMENT_USER
        and unit.path.startswith(path)
        and capability in ROLE_CAPABILITIES.get(role, frozenset())
        and (roles is None or role in roles)
    ]


def check_unit(kind: str, unit: Unit) -> None:
    """The level rule of each kind of meeting; ValidationError on "kind" or "unit"."""
    if kind not in MeetingKind.values:
        raise ValidationError({"kind": _("Choose the kind of meeting.")})
    if unit is None:
        raise ValidationError({"unit": _("Choose the unit that held the meeting.")})
    if not unit.is_current:
        raise ValidationError({"unit": _("%(unit)s is no longer in force.") % {"unit": unit.name}})
    rank = unit.level.rank
    if kind == MeetingKind.WEEKLY and not (unit.is_grid or rank == VILLAGE_RANK):
        raise ValidationError(
            {
                "unit": _("A weekly grid meeting is held at a grid or a village/community, not at %(unit)s.")
                % {"unit": unit.name}
            }
        )
    if kind == MeetingKind.JOINT and rank not in JOINT_RANKS:
        raise ValidationError(
            {
                "unit": _("A joint meeting is held at the county or a township, not at %(unit)s.")
                % {"unit": unit.name}
            }
        )


def refusal(user, kind: str, unit: Unit) -> str | None:
    """Why `user` may not record a meeting of `kind` at `unit`, naming the rule; None when they may."""
    if user is None or not user.is_authenticated:
        return _("Sign in to record meetings.")
    if scope_for(user).is_global:
        return None
    if kind == MeetingKind.WEEKLY:
        if _posts_over(user, unit, Capability.REPORT_CASES, WEEKLY_ROLES):
            return None
        return _(
            "A weekly grid meeting of %(unit)s is recorded by a leader or deputy leader of the grid (or of a "
            "grid above it) or by the administrator of its village/community."
        ) % {"unit": unit.name}
    if kind == MeetingKind.JOINT:
        if _posts_over(user, unit, Capability.DISPATCH_CASES):
            return None
        return _(
            "A joint meeting of %(unit)s is recorded by county or township staff who dispatch cases there."
        ) % {"unit": unit.name}
    if _posts_over(user, unit, Capability.REPORT_CASES):
        return None
    return _("A meeting of %(unit)s is recorded by staff posted at %(unit)s or above it.") % {
        "unit": unit.name
    }


def may_record(user, kind: str, unit: Unit) -> bool:
    return refusal(user, kind, unit) is None


def _check_may_record(user, kind: str, unit: Unit) -> None:
    reason = refusal(user, kind, unit)
    if reason:
        raise PermissionDenied(reason)


def recordable_units(user) -> list[tuple[str, Unit]]:
    """(kind, unit) pairs the user may record meetings for, for the create page's chooser: weekly
    meetings at the grids and villages under their leader and village posts, joint meetings at the
    county and townships they dispatch for. System administrators get the county and the townships
    (anything else is reached through a unit's own link)."""
    scope = scope_for(user)
    pairs: list[tuple[str, Unit]] = []
    if scope.is_global:
        for unit in Unit.objects.current().filter(level__rank__in=JOINT_RANKS).select_related("level"):
            pairs.append((MeetingKind.JOINT, unit))
        return pairs
    weekly = [path for role, path in scope.posts if role in WEEKLY_ROLES]
    joint = [
        path
        for role, path in scope.posts
        if role != Role.DEPARTMENT_USER
        and Capability.DISPATCH_CASES in ROLE_CAPABILITIES.get(role, frozenset())
    ]
    if weekly:
        below = (
            Unit.objects.current()
            .filter(_under(weekly))
            .filter(Q(level__rank=VILLAGE_RANK) | ~Q(kind=UnitKind.DIVISION))
        )
        pairs += [(MeetingKind.WEEKLY, unit) for unit in below.select_related("level").order_by("path")]
    if joint:
        below = Unit.objects.current().filter(_under(joint), level__rank__in=JOINT_RANKS)
        pairs += [(MeetingKind.JOINT, unit) for unit in below.select_related("level").order_by("path")]
    return pairs


def _under(paths: Iterable[str]) -> Q:
    condition = Q(pk__in=[])
    for path in paths:
        condition |= Q(path__startswith=path)
    return condition


# ---------------------------------------------------------------------------------------------------
# Input checks


def _posted_on(day: datetime.date):
    return Post.objects.active(on=day)


def attendee_candidates(unit: Unit, on: datetime.date | None = None):
    """Staff who may be named as attendees: those holding a post in the unit's subtree on the day."""
    return (
        User.objects.filter(
            is_active=True,
            posts__in=_posted_on(on or timezone.localdate()).filter(unit__path__startswith=unit.path),
        )
        .distinct()
        .order_by("full_name", "username")
    )


def _check_held_on(held_on, today: datetime.date) -> None:
    if not isinstance(held_on, datetime.date):
        raise ValidationError({"held_on": _("Give the day the meeting was held.")})
    if held_on > today:
        raise ValidationError({"held_on": _("A meeting is recorded once it has been held, not before.")})
    if held_on < edit_window_start(today):
        raise ValidationError(
            {
                "held_on": _(
                    "A meeting of %(date)s can no longer be recorded or changed: meetings close %(days)s days "
                    "after they are held."
                )
                % {"date": held_on.isoformat(), "days": edit_days()}
            }
        )


def _check_chair(chair: User | None, unit: Unit, held_on: datetime.date) -> None:
    if chair is None:
        return
    posted = _posted_on(held_on).filter(user=chair)
    if not posted.filter(
        Q(unit__path__startswith=unit.path) | Q(unit__path__in=Unit.path_prefixes(unit.path))
    ).exists():
        raise ValidationError(
            {
                "chaired_by": _("%(name)s held no post at %(unit)s or above it on that day.")
                % {"name": chair, "unit": unit.name}
            }
        )


def _check_attendees(attendees: Sequence[User], unit: Unit, held_on: datetime.date) -> list[User]:
    unique = list({user.pk: user for user in attendees}.values())
    if not unique:
        return unique
    posted = set(
        _posted_on(held_on)
        .filter(user__in=[u.pk for u in unique], unit__path__startswith=unit.path)
        .values_list("user_id", flat=True)
    )
    strangers = [user for user in unique if user.pk not in posted]
    if strangers:
        raise ValidationError(
            {
                "attendees": _(
                    "%(names)s held no post in %(unit)s on that day; name them under other attendees."
                )
                % {"names": "、".join(str(u) for u in strangers), "unit": unit.name}
            }
        )
    return unique


def _clean_text(value, limit: int | None = None) -> str:
    value = (value or "").strip()
    return value[:limit] if limit else value


def _require_minutes(minutes: str) -> str:
    minutes = _clean_text(minutes)
    if not minutes:
        raise ValidationError({"minutes": _("Write the minutes: what was reported, discussed and decided.")})
    return minutes


# ---------------------------------------------------------------------------------------------------
# Recording and editing


def record_meeting(
    *,
    by,
    kind: str,
    unit: Unit,
    held_on: datetime.date,
    minutes: str,
    chaired_by: User | None = None,
    place: str = "",
    agenda: str = "",
    attendees: Sequence[User] = (),
    other_attendees: str = "",
    resolutions: Sequence[str] = (),
    client_uuid=None,
    today: datetime.date | None = None,
) -> tuple[Meeting, bool]:
    """Record a meeting with its attendees and, optionally, resolutions (one text each, carried out by the
    meeting's own unit). Returns (meeting, created); a retried submission (same client_uuid) returns the
    meeting it made."""
    if client_uuid is not None:
        existing = Meeting.objects.filter(client_uuid=client_uuid).first()
        if existing is not None:
            if existing.recorded_by_id != by.pk:
                raise ValidationError({"client_uuid": _("This submission id belongs to another meeting.")})
            return existing, False
    today = today or timezone.localdate()
    check_unit(kind, unit)
    _check_may_record(by, kind, unit)
    _check_held_on(held_on, today)
    minutes = _require_minutes(minutes)
    chaired_by = chaired_by or by
    _check_chair(chaired_by, unit, held_on)
    attendees = _check_attendees(attendees, unit, held_on)
    texts = [text.strip() for text in resolutions if text and text.strip()]
    try:
        with transaction.atomic():
            meeting = Meeting.objects.create(
                unit=unit,
                kind=kind,
                held_on=held_on,
                chaired_by=chaired_by,
                place=_clean_text(place, 100),
                agenda=_clean_text(agenda),
                minutes=minutes,
                other_attendees=_clean_text(other_attendees),
                recorded_by=by,
                client_uuid=client_uuid,
            )
            MeetingAttendee.objects.bulk_create([MeetingAttendee(meeting=meeting, user=u) for u in attendees])
            Resolution.objects.bulk_create(
                [Resolution(meeting=meeting, text=text, added_by=by) for text in texts]
            )
            record_change(
                meeting,
                ChangeAction.CREATE,
                by,
                {
                    "after": snapshot(meeting),
                    "attendees": sorted(u.pk for u in attendees),
                    "resolutions": texts,
                },
                acting_unit=unit,
            )
    except IntegrityError:
        existing = Meeting.objects.filter(client_uuid=client_uuid).first() if client_uuid else None
        if existing is None:
            raise
        return existing, False  # the same submission raced us: the other request made it
    return meeting, True


def update_meeting(
    meeting: Meeting, *, by, attendees: Sequence[User] | None = None, today=None, **fields
) -> Meeting:
    """Correct a meeting's record within the edit window. Fields: held_on, chaired_by, place, agenda,
    minutes, other_attendees; `attendees` replaces the list when given."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"update_meeting() got unexpected fields: {', '.join(sorted(unknown))}")
    today = today or timezone.localdate()
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().select_related("unit__level").get(pk=meeting.pk)
        _check_may_record(by, meeting.kind, meeting.unit)
        if not can_edit(meeting, today):
            raise ValidationError(
                {
                    "held_on": _(
                        "The meeting of %(date)s can no longer be changed: meetings close %(days)s days after "
                        "they are held."
                    )
                    % {"date": meeting.held_on.isoformat(), "days": edit_days()}
                }
            )
        before = snapshot(meeting, list(EDITABLE_FIELDS))
        held_on = fields.get("held_on", meeting.held_on)
        _check_held_on(held_on, today)
        if "minutes" in fields:
            fields["minutes"] = _require_minutes(fields["minutes"])
        for name in ("place", "agenda", "other_attendees"):
            if name in fields:
                fields[name] = _clean_text(fields[name], 100 if name == "place" else None)
        chair = fields.get("chaired_by", meeting.chaired_by)
        _check_chair(chair, meeting.unit, held_on)
        for name, value in fields.items():
            setattr(meeting, name, value)
        meeting.save()
        changes = diff(before, snapshot(meeting, list(EDITABLE_FIELDS)))
        if attendees is not None:
            attendees = _check_attendees(attendees, meeting.unit, held_on)
            old = set(MeetingAttendee.objects.filter(meeting=meeting).values_list("user_id", flat=True))
            new = {u.pk for u in attendees}
            if old != new:
                MeetingAttendee.objects.filter(meeting=meeting, user_id__in=old - new).delete()
                MeetingAttendee.objects.bulk_create(
                    [MeetingAttendee(meeting=meeting, user_id=pk) for pk in new - old]
                )
                changes["attendees"] = [sorted(old), sorted(new)]
        elif "held_on" in fields:
            _check_attendees(list(meeting.attendees.all()), meeting.unit, held_on)
        if changes:
            record_change(meeting, ChangeAction.UPDATE, by, changes, acting_unit=meeting.unit)
    return meeting


# ---------------------------------------------------------------------------------------------------
# Resolutions


def add_resolution(
    meeting: Meeting,
    *,
    by,
    text: str,
    responsible_unit: Unit | None = None,
    responsible_department: Department | None = None,
    due_on: datetime.date | None = None,
    today=None,
) -> Resolution:
    """Add a resolution to a meeting, within the meeting's edit window."""
    today = today or timezone.localdate()
    meeting = Meeting.objects.select_related("unit__level").get(pk=meeting.pk)
    _check_may_record(by, meeting.kind, meeting.unit)
    if not can_edit(meeting, today):
        raise ValidationError(
            {"text": _("Resolutions are added within %(days)s days of the meeting.") % {"days": edit_days()}}
        )
    text = _clean_text(text)
    if not text:
        raise ValidationError({"text": _("Write what was decided.")})
    if responsible_unit is not None and not responsible_unit.path.startswith(meeting.unit.path):
        raise ValidationError(
            {
                "responsible_unit": _("The responsible unit must be %(unit)s or a unit below it.")
                % {"unit": meeting.unit.name}
            }
        )
    if responsible_department is not None:
        where = responsible_department.unit.path
        if not (meeting.unit.path.startswith(where) or where.startswith(meeting.unit.path)):
            raise ValidationError(
                {
                    "responsible_department": _("%(dept)s does not serve %(unit)s.")
                    % {"dept": responsible_department.name, "unit": meeting.unit.name}
                }
            )
    if due_on is not None and due_on < meeting.held_on:
        raise ValidationError({"due_on": _("The due date cannot come before the meeting.")})
    with transaction.atomic():
        resolution = Resolution.objects.create(
            meeting=meeting,
            text=text,
            responsible_unit=responsible_unit,
            responsible_department=responsible_department,
            due_on=due_on,
            added_by=by,
        )
        record_change(
            resolution, ChangeAction.CREATE, by, {"after": snapshot(resolution)}, acting_unit=meeting.unit
        )
    return resolution


def _lock_resolution(resolution: Resolution) -> Resolution:
    Resolution.objects.select_for_update().filter(pk=resolution.pk).values_list("pk", flat=True).get()
    return Resolution.objects.select_related(
        "meeting__unit__level", "responsible_unit__level", "responsible_department", "case"
    ).get(pk=resolution.pk)


def may_close(user, resolution: Resolution) -> bool:
    """Whoever may record the meeting, or the unit or department responsible for the resolution."""
    meeting = resolution.meeting
    if may_record(user, meeting.kind, meeting.unit):
        return True
    if resolution.responsible_unit_id and _posts_over(
        user, resolution.responsible_unit, Capability.HANDLE_CASES
    ):
        return True
    return bool(
        resolution.responsible_department_id
        and resolution.responsible_department_id in scope_for(user).department_ids
    )


def close_resolution(resolution: Resolution, *, by, note: str = "", now=None) -> Resolution:
    """Mark a resolution carried out."""
    with transaction.atomic():
        resolution = _lock_resolution(resolution)
        if not may_close(by, resolution):
            raise PermissionDenied(
                _(
                    "A resolution is marked done by whoever records the meeting's minutes, or by the unit or "
                    "department responsible for it."
                )
            )
        if resolution.status == ResolutionStatus.DONE:
            raise ValidationError({"status": _("This resolution is already marked done.")})
        before = snapshot(resolution, ["status", "closed_by", "closed_at", "close_note"])
        resolution.status = ResolutionStatus.DONE
        resolution.closed_by, resolution.closed_at = by, now or timezone.now()
        resolution.close_note = _clean_text(note)
        resolution.save()
        record_change(
            resolution,
            ChangeAction.UPDATE,
            by,
            diff(before, snapshot(resolution, ["status", "closed_by", "closed_at", "close_note"])),
            acting_unit=resolution.meeting.unit,
        )
    return resolution


def resolution_case_uuid(resolution: Resolution) -> uuid.UUID:
    return uuid.uuid5(RESOLUTION_CASE_NAMESPACE, str(resolution.pk))


def case_description(resolution: Resolution) -> str:
    meeting = resolution.meeting
    reference = _("Resolution of the %(kind)s of %(unit)s held on %(date)s (meeting no. %(number)s).") % {
        "kind": meeting.get_kind_display(),
        "unit": meeting.unit.name,
        "date": meeting.held_on.isoformat(),
        "number": meeting.pk,
    }
    lines = [resolution.text, "", reference]
    if resolution.responsible_department_id:
        lines.append(
            _("Responsible department: %(dept)s.") % {"dept": resolution.responsible_department.name}
        )
    if resolution.due_on:
        lines.append(_("Due on %(date)s.") % {"date": resolution.due_on.isoformat()})
    return "\n".join(lines)


def spawn_case(resolution: Resolution, by, category=None, *, now=None):
    """Raise a case from a resolution (source: meeting resolution), at its responsible unit or else the
    meeting's unit, and link it. A resolution raises at most one case: a second call, a retry or a
    concurrent call returns the first one. Returns (case, created)."""
    from wangge.cases import services as case_services
    from wangge.cases.choices import Source

    with transaction.atomic():
        resolution = _lock_resolution(resolution)
        meeting = resolution.meeting
        _check_may_record(by, meeting.kind, meeting.unit)
        if resolution.case_id is not None:
            return resolution.case, False
        if resolution.status == ResolutionStatus.DONE:
            raise ValidationError({"status": _("A resolution already carried out raises no case.")})
        first_line = resolution.text.splitlines()[0].strip()
        case, created = case_services.report_case(
            reporter=by,
            source=Source.MEETING,
            title=first_line[:40],
            description=case_description(resolution),
            category=category,
            unit=resolution.responsible_unit or meeting.unit,
            client_uuid=resolution_case_uuid(resolution),
            register_now=category is not None,
            now=now,
        )
        before = snapshot(resolution, ["status", "case"])
        resolution.case, resolution.status = case, ResolutionStatus.SPAWNED
        resolution.save(update_fields=["case", "status"])
        record_change(
            resolution,
            ChangeAction.UPDATE,
            by,
            diff(before, snapshot(resolution, ["status", "case"])),
            acting_unit=meeting.unit,
        )
    return case, created


# ---------------------------------------------------------------------------------------------------
# Who has not met


@dataclass
class DueGrid:
    """A grid with a leader posted and no weekly meeting recorded in the week asked."""

    unit: Unit
    leaders: list[User] = field(default_factory=list)


def week_bounds(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """Monday and Sunday of the ISO week of `day`."""
    monday = day - datetime.timedelta(days=day.weekday())
    return monday, monday + datetime.timedelta(days=6)


def is_working_week(day: datetime.date) -> bool:
    monday, _sunday = week_bounds(day)
    return any(is_workday(monday + ONE_DAY * i) for i in range(7))


def meetings_due(unit: Unit, week: datetime.date) -> list[DueGrid]:
    """The grids under `unit` (itself included) that had a grid leader or deputy posted during the ISO week
    of `week` and no weekly meeting recorded in that week, in tree order. A week without a working day
    owes no meeting. Two queries whatever the size: the leaders' posts, and the grids that met."""
    monday, sunday = week_bounds(week)
    if not is_working_week(week):
        return []
    posts = (
        Post.objects.filter(
            role__in=LEADER_ROLES,
            unit__path__startswith=unit.path,
            start_date__lte=sunday,
            unit__effective_from__lte=sunday,
        )
        .exclude(unit__kind=UnitKind.DIVISION)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=monday))
        .filter(Q(unit__effective_to__isnull=True) | Q(unit__effective_to__gt=monday))
        .select_related("user", "unit")
        .order_by("unit__path", "user__full_name", "user_id")
    )
    met = set(
        Meeting.objects.filter(
            kind=MeetingKind.WEEKLY,
            held_on__gte=monday,
            held_on__lte=sunday,
            unit__path__startswith=unit.path,
        ).values_list("unit_id", flat=True)
    )
    due: dict[int, DueGrid] = {}
    for post in posts:
        if post.unit_id in met:
            continue
        entry = due.setdefault(post.unit_id, DueGrid(unit=post.unit))
        if post.user not in entry.leaders:
            entry.leaders.append(post.user)
    return list(due.values())
