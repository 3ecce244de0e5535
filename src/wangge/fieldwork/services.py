"""The only writers of work logs, and the "who has not written their log" computation.

A grid worker writes one log per grid and working day (民情日志, WORK-1). Which days count comes from
`wangge.workdays.calendar.is_workday` (national calendar, 调休 and local overrides). A log may be written
or corrected up to `settings.WANGGE_WORK_LOG_EDIT_DAYS` calendar days after its day.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.audit import diff, record_change, snapshot
from wangge.core.models import ChangeAction
from wangge.people.models import Post
from wangge.people.roles import GRID_ROLES
from wangge.units.models import Unit
from wangge.workdays.calendar import is_workday

from .models import WorkLog

CONTENT_FIELDS = ("patrolled", "found", "served")
EDITABLE_FIELDS = (*CONTENT_FIELDS, "households_visited", "notes")
ONE_DAY = datetime.timedelta(days=1)


def grid_posts(user, on: datetime.date | None = None):
    """The user's active grid posts (网格长, 副网格长, 专职/兼职网格员) with their units."""
    if user is None or not user.is_authenticated:
        return Post.objects.none()
    return (
        Post.objects.active(on)
        .filter(user=user, role__in=GRID_ROLES)
        .select_related("unit", "unit__level")
        .order_by("unit__path", "id")
    )


def log_grids(user) -> list[Unit]:
    """The grids the user writes logs for: the grid of each grid post, or the grids below a post that sits
    at a non-grid unit (a grid post at a village covers its grids). In tree order, without repeats."""
    posts = list(grid_posts(user))
    direct = [post.unit for post in posts if post.unit.is_grid]
    covering = [post.unit for post in posts if not post.unit.is_grid]
    grids = {unit.pk: unit for unit in direct}
    if covering:
        below = Unit.objects.current().grids().filter(reduce_or(Q(path__startswith=u.path) for u in covering))
        for unit in below.select_related("level"):
            grids.setdefault(unit.pk, unit)
    return sorted(grids.values(), key=lambda unit: unit.path)


def reduce_or(conditions) -> Q:
    result = Q(pk__in=[])
    for condition in conditions:
        result |= condition
    return result


def edit_window_start(today: datetime.date | None = None) -> datetime.date:
    """The oldest day whose log may still be written or corrected."""
    today = today or timezone.localdate()
    return today - datetime.timedelta(days=settings.WANGGE_WORK_LOG_EDIT_DAYS)


def can_edit_day(day: datetime.date, today: datetime.date | None = None) -> bool:
    today = today or timezone.localdate()
    return edit_window_start(today) <= day <= today and is_workday(day)


def _check_grid(by, grid: Unit) -> None:
    posts = list(grid_posts(by))
    if not posts:
        raise ValidationError({"grid": _("Only a holder of an active grid post writes a daily work log.")})
    if not grid.is_grid or not grid.is_current:
        raise ValidationError({"grid": _("A daily work log is written for a grid in force.")})
    if not any(grid.path.startswith(post.unit.path) for post in posts):
        raise ValidationError({"grid": _("%(grid)s is not a grid of your posts.") % {"grid": grid.name}})


def _check_date(date: datetime.date) -> None:
    today = timezone.localdate()
    if date > today:
        raise ValidationError({"date": _("A work log cannot be written for a day in the future.")})
    if not is_workday(date):
        raise ValidationError(
            {
                "date": _("%(date)s is not a working day: work logs are kept for working days only.")
                % {"date": date.isoformat()}
            }
        )
    if date < edit_window_start(today):
        raise ValidationError(
            {
                "date": _(
                    "The log of %(date)s can no longer be written or changed: logs close %(days)s days "
                    "after their day."
                )
                % {"date": date.isoformat(), "days": settings.WANGGE_WORK_LOG_EDIT_DAYS}
            }
        )


def _clean_fields(fields: dict) -> dict:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"save_log() got unexpected fields: {', '.join(sorted(unknown))}")
    values = {name: (fields.get(name) or "").strip() for name in (*CONTENT_FIELDS, "notes")}
    visited = fields.get("households_visited") or 0
    if not isinstance(visited, int) or visited < 0:
        raise ValidationError(
            {"households_visited": _("The number of households visited is a whole number.")}
        )
    values["households_visited"] = visited
    if not any(values[name] for name in CONTENT_FIELDS):
        raise ValidationError(
            {"patrolled": _("Fill in at least one of: where you patrolled, what you found, what you served.")}
        )
    return values


def save_log(*, by, grid: Unit, date: datetime.date, client_uuid=None, **fields) -> tuple[WorkLog, bool]:
    """Write or correct `by`'s log of `grid` on `date`; returns (log, created).

    A retried submission (same `client_uuid`) returns the log it made, unchanged. Fields: patrolled,
    found, served, households_visited, notes. Raises ValidationError naming the field at fault.
    """
    if client_uuid is not None:
        existing = WorkLog.objects.filter(client_uuid=client_uuid).first()
        if existing is not None:
            if existing.author_id != by.pk:
                raise ValidationError({"client_uuid": _("This submission id belongs to another log.")})
            return existing, False
    _check_grid(by, grid)
    _check_date(date)
    values = _clean_fields(fields)
    try:
        with transaction.atomic():
            return _write(by, grid, date, client_uuid, values)
    except IntegrityError:
        # A concurrent submission of the same log (or the same client id) won the race: it is now an edit
        # of that log, or a retry returning it.
        with transaction.atomic():
            if client_uuid is not None:
                existing = WorkLog.objects.filter(client_uuid=client_uuid).first()
                if existing is not None:
                    return existing, False
            return _write(by, grid, date, None, values)


def _write(by, grid, date, client_uuid, values) -> tuple[WorkLog, bool]:
    log = WorkLog.objects.select_for_update().filter(author=by, grid=grid, date=date).first()
    if log is None:
        log = WorkLog.objects.create(
            author=by, grid=grid, date=date, client_uuid=client_uuid, submitted_at=timezone.now(), **values
        )
        record_change(log, ChangeAction.CREATE, by, {"after": snapshot(log)}, acting_unit=grid)
        return log, True
    before = snapshot(log, list(EDITABLE_FIELDS))
    for name, value in values.items():
        setattr(log, name, value)
    if log.client_uuid is None and client_uuid is not None:
        log.client_uuid = client_uuid
    log.save()
    changed = diff(before, snapshot(log, list(EDITABLE_FIELDS)))
    if changed:
        record_change(log, ChangeAction.UPDATE, by, changed, acting_unit=grid)
    return log, False


# --- missing logs ---------------------------------------------------------------------------------------


@dataclass
class WorkerLogs:
    """One grid worker's log record over a period: the working days owed and those without a log."""

    worker: object
    units: list = field(default_factory=list)  # the units of the worker's grid posts under the unit asked
    due_days: list[datetime.date] = field(default_factory=list)
    missing: list[datetime.date] = field(default_factory=list)

    @property
    def written(self) -> int:
        return len(self.due_days) - len(self.missing)


def working_days(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    days, day = [], start
    while day <= end:
        if is_workday(day):
            days.append(day)
        day += ONE_DAY
    return days


def grid_posts_during(unit: Unit, start: datetime.date, end: datetime.date):
    """Grid posts under `unit` (the unit included) active on some day of [start, end]."""
    return Post.objects.filter(
        role__in=GRID_ROLES, unit__path__startswith=unit.path, start_date__lte=end
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=start))


def missing_logs(unit: Unit, start: datetime.date, end: datetime.date) -> list[WorkerLogs]:
    """For each holder of a grid post under `unit` (the unit included) active during [start, end], the
    working days of that period on which the post was active and the worker wrote no log at all.

    A worker owes one log a day, whichever grid it is written for. Two queries: the posts, and the
    (author, date) pairs that have a log. Sorted by the worker's first unit, then name.
    """
    posts = (
        grid_posts_during(unit, start, end)
        .select_related("user", "unit")
        .order_by("unit__path", "user__full_name", "user_id")
    )
    return list(log_records(posts, start, end).values())


def log_records(posts, start: datetime.date, end: datetime.date) -> dict[int, WorkerLogs]:
    """{user id: WorkerLogs} of the holders of `posts` (grid posts with user and unit loaded) over
    [start, end], in the order of the posts: the days each owed a log and those without one."""
    days = working_days(start, end)
    workers: dict[int, WorkerLogs] = {}
    owed: dict[int, set[datetime.date]] = defaultdict(set)
    for post in posts:
        entry = workers.setdefault(post.user_id, WorkerLogs(worker=post.user))
        if post.unit not in entry.units:
            entry.units.append(post.unit)
        owed[post.user_id].update(
            day for day in days if post.start_date <= day and (post.end_date is None or day <= post.end_date)
        )
    written: dict[int, set[datetime.date]] = defaultdict(set)
    if workers and days:
        pairs = (
            WorkLog.objects.filter(author_id__in=list(workers), date__gte=start, date__lte=end)
            .values_list("author_id", "date")
            .distinct()
        )
        for author_id, day in pairs:
            written[author_id].add(day)
    for user_id, entry in workers.items():
        entry.due_days = sorted(owed[user_id])
        entry.missing = [day for day in entry.due_days if day not in written[user_id]]
    return workers
