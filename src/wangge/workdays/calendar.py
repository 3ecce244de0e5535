"""The working-day calendar: which days count, and the deadlines and durations measured in them.

A date is a working day according to, in this order:

1. a `WorkdayOverride` for that date (the local administrator's word wins);
2. the chinese-calendar package (national holidays and 调休 make-up days);
3. for a year the package has no data for, Monday to Friday. That is wrong around every holiday, so it
   is logged (a WARNING, once per year per process) and shown to signed-in users
   (`calendar_warning_text`) until the package is upgraded.

Deadlines are "the end of the Nth working day after registration, local time" (DESIGN.md): datetimes
go in aware and come out aware in the local zone (settings.TIME_ZONE, Asia/Shanghai). Day boundaries
and office hours are wall-clock times; Asia/Shanghai has had no daylight saving since 1991, so
wall-clock arithmetic is exact there.

Everything here is a pure function of its arguments and the calendar. The only database access is the
override table, read one year at a time and cached per process: deadlines are computed for very many
cases and must not cost a query per day scanned. Saving or deleting an override clears this process's
cache; other processes (web workers, `wangge worker`) pick the change up within
`OVERRIDE_CACHE_SECONDS`.
"""

from __future__ import annotations

import datetime
import logging
import math
import re
import threading
import time
from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

import chinese_calendar
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import WorkdayOverride

logger = logging.getLogger(__name__)

OVERRIDE_CACHE_SECONDS = 60
ONE_DAY = datetime.timedelta(days=1)
END_OF_DAY = datetime.time(23, 59, 59)


class TimeUnit(models.TextChoices):
    """How a time limit is counted (the unit of a category's or an action's limit)."""

    WORKING_HOURS = "working_hours", gettext_lazy("Working hours")
    WORKING_DAYS = "working_days", gettext_lazy("Working days")
    NATURAL_DAYS = "natural_days", gettext_lazy("Natural days")
    URGENT_HOURS = "urgent_hours", gettext_lazy("Urgent hours")


# --- which days are working days ----------------------------------------------------------------------

_lock = threading.Lock()
# year -> (monotonic time loaded, {date: is_workday}); replaced whole, never mutated, so readers need
# no lock.
_override_cache: dict[int, tuple[float, dict[datetime.date, bool]]] = {}
# Bumped on every invalidation, so a load that raced with an admin edit does not store stale rows.
_generation = 0
_warned_years: set[int] = set()


def _overrides(year: int) -> dict[datetime.date, bool]:
    entry = _override_cache.get(year)
    now = time.monotonic()
    if entry is not None and now - entry[0] < OVERRIDE_CACHE_SECONDS:
        return entry[1]
    generation = _generation
    days = dict(
        WorkdayOverride.objects.filter(
            date__gte=datetime.date(year, 1, 1), date__lte=datetime.date(year, 12, 31)
        ).values_list("date", "is_workday")
    )
    with _lock:
        if generation == _generation:
            _override_cache[year] = (now, days)
    return days


def _invalidate_overrides() -> None:
    global _generation
    with _lock:
        _generation += 1
        _override_cache.clear()


@receiver(post_save, sender=WorkdayOverride, dispatch_uid="workdays-override-saved")
@receiver(post_delete, sender=WorkdayOverride, dispatch_uid="workdays-override-deleted")
def _override_changed(sender, **kwargs) -> None:
    # Now, so this request already computes with the new row; and again after the commit, because
    # another thread may have re-read the old committed rows in between.
    _invalidate_overrides()
    transaction.on_commit(_invalidate_overrides)


def clear_cache() -> None:
    """Forget the cached overrides and which fallback years were already logged (for tests)."""
    _invalidate_overrides()
    _national_workday.cache_clear()
    with _lock:
        _warned_years.clear()


@lru_cache(maxsize=8192)
def _national_workday(day: datetime.date) -> bool | None:
    # The package's data is fixed for the life of the process; caching also spares the exception it
    # raises on every call for a year it does not cover.
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return None


def national_is_workday(day: datetime.date) -> bool | None:
    """What the national calendar says of `day`, ignoring local overrides; None when it has no data."""
    return _national_workday(_as_date(day))


def _warn_fallback(year: int) -> None:
    if year in _warned_years:
        return
    with _lock:
        if year in _warned_years:
            return
        _warned_years.add(year)
    logger.warning(
        "chinese-calendar %s has no national holiday data for %s: counting Monday to Friday as working "
        "days. Upgrade the chinese-calendar package, or enter that year's holidays as working-day "
        "overrides meanwhile.",
        _chinese_calendar_version(),
        year,
    )


def _chinese_calendar_version() -> str:
    try:
        return package_version("chinese-calendar")
    except PackageNotFoundError:  # pragma: no cover - installed without metadata
        return "(unknown version)"


def is_workday(day: datetime.date) -> bool:
    """Whether `day` is a working day: local override, else national calendar, else Monday–Friday."""
    day = _as_date(day)
    override = _overrides(day.year).get(day)
    if override is not None:
        return override
    national = _national_workday(day)
    if national is not None:
        return national
    _warn_fallback(day.year)
    return day.weekday() < 5


def add_workdays(day: datetime.date, count: int) -> datetime.date:
    """The `count`-th working day after `day` (`day` itself never counts; 0 gives `day`)."""
    day = _as_date(day)
    if count < 0:
        raise ValueError(_("A number of working days cannot be negative."))
    while count:
        day += ONE_DAY
        if is_workday(day):
            count -= 1
    return day


# --- data coverage and the warning ------------------------------------------------------------------


def years_without_data(years: Iterable[int]) -> list[int]:
    """The years among `years` for which chinese-calendar has no national data, ascending.

    Local overrides do not count as data: an administrator may enter a few days of a year, and nothing
    tells a complete year from a partial one. The warning therefore stays until the package covers the
    year — entering the holidays as overrides makes the deadlines right meanwhile, upgrading the package
    is the fix. No flag was added for "this year is complete locally"; add one if a deployment ever has
    to live without package upgrades.
    """
    return sorted({year for year in years if _national_workday(datetime.date(year, 1, 1)) is None})


def calendar_warning_text(today: datetime.date | None = None) -> str | None:
    """The warning to show users when this year (or, in December, next year) has no national data.

    December is when the State Council's holiday notice appears and when cases start getting deadlines
    in the new year, so the warning comes a month early. None when there is nothing to warn about.
    """
    today = today or timezone.localdate()
    years = [today.year, today.year + 1] if today.month == 12 else [today.year]
    missing = years_without_data(years)
    if not missing:
        return None
    return _(
        "The working-day calendar has no national holiday data for %(years)s, so deadlines there count "
        "only Saturdays and Sundays as days off. Ask the system administrator to upgrade the "
        "chinese-calendar package, or to enter the holidays as working-day overrides meanwhile."
    ) % {"years": ", ".join(str(year) for year in missing)}


# --- office hours --------------------------------------------------------------------------------------

_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@lru_cache(maxsize=8)
def parse_office_hours(spec: str) -> tuple[tuple[datetime.timedelta, datetime.timedelta], ...]:
    """ "08:30-12:00,14:00-17:30" as (opening, closing) offsets from midnight, in order.

    "24:00" may close the last interval (an office open round the clock is "00:00-24:00"). A malformed
    setting would make every working-hours deadline wrong, so it fails loudly, naming the setting.
    """
    intervals = []
    for part in spec.split(","):
        match = _INTERVAL.match(part)
        if not match:
            raise ImproperlyConfigured(
                f"WANGGE_OFFICE_HOURS: {part.strip()!r} is not an interval like 08:30-12:00 (in {spec!r})."
            )
        h1, m1, h2, m2 = (int(group) for group in match.groups())
        if m1 > 59 or m2 > 59 or h1 > 23 or h2 > 24 or (h2 == 24 and m2):
            raise ImproperlyConfigured(f"WANGGE_OFFICE_HOURS: {part.strip()!r} is not a valid time range.")
        opening = datetime.timedelta(hours=h1, minutes=m1)
        closing = datetime.timedelta(hours=h2, minutes=m2)
        if opening >= closing:
            raise ImproperlyConfigured(f"WANGGE_OFFICE_HOURS: {part.strip()!r} closes before it opens.")
        if intervals and opening < intervals[-1][1]:
            raise ImproperlyConfigured(
                f"WANGGE_OFFICE_HOURS: intervals must be in order and not overlap (in {spec!r})."
            )
        intervals.append((opening, closing))
    return tuple(intervals)


def office_hours() -> tuple[tuple[datetime.timedelta, datetime.timedelta], ...]:
    return parse_office_hours(settings.WANGGE_OFFICE_HOURS)


# --- deadlines -----------------------------------------------------------------------------------------


def _as_date(day: datetime.date) -> datetime.date:
    # A datetime is also a date, but never equal to one as a dict key: reduce it to its local date.
    if isinstance(day, datetime.datetime):
        return timezone.localtime(day, _zone()).date() if timezone.is_aware(day) else day.date()
    return day


def _zone() -> datetime.tzinfo:
    # The deployment's zone, not the request's activated one: a deadline must not depend on who looks.
    return timezone.get_default_timezone()


def _local(moment: datetime.datetime) -> datetime.datetime:
    if not isinstance(moment, datetime.datetime):
        raise TypeError(f"expected a datetime, got {type(moment).__name__}")
    if timezone.is_naive(moment):
        raise ValueError(f"{moment!r} is naive: the working-day calendar needs aware datetimes")
    return moment.astimezone(_zone())


def _midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=_zone())


def end_of_day(day: datetime.date) -> datetime.datetime:
    """23:59:59 local time on `day` (microsecond 0): the moment a deadline falling on `day` expires."""
    return datetime.datetime.combine(_as_date(day), END_OF_DAY, tzinfo=_zone())


def _limit(value: int | float | Decimal, unit: TimeUnit) -> int | float | Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise TypeError(f"a time limit is a number, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(
            _("A time limit must be a finite number of 0 or more (got %(value)s).") % {"value": value}
        )
    if unit in (TimeUnit.WORKING_DAYS, TimeUnit.NATURAL_DAYS) and value != int(value):
        raise ValueError(_("A time limit in days must be a whole number (got %(value)s).") % {"value": value})
    return value


def deadline(
    start: datetime.datetime, value: int | float | Decimal, unit: TimeUnit | str
) -> datetime.datetime:
    """When a limit of `value` `unit`s that starts at `start` expires (aware in, aware local out).

    - working days: the end of the Nth working day after start's local date; the start day never
      counts, even when it is a working day, and N = 0 is the end of the start day;
    - natural days: the end of the Nth calendar day after start's local date;
    - urgent hours: start + N clock hours, night, weekend or holiday;
    - working hours: N hours counted only inside office hours (settings.WANGGE_OFFICE_HOURS) of working
      days, from start on; a limit used up exactly at closing time expires then, not at next opening.
    """
    start = _local(start)
    unit = TimeUnit(unit)
    value = _limit(value, unit)
    if unit == TimeUnit.WORKING_DAYS:
        return end_of_day(add_workdays(start.date(), int(value)))
    if unit == TimeUnit.NATURAL_DAYS:
        return end_of_day(start.date() + int(value) * ONE_DAY)
    hours = datetime.timedelta(hours=float(value))
    if unit == TimeUnit.URGENT_HOURS:
        return start + hours
    return _add_office_time(start, hours)


def _add_office_time(start: datetime.datetime, remaining: datetime.timedelta) -> datetime.datetime:
    if not remaining:
        return start
    intervals = office_hours()
    day = start.date()
    while True:
        if is_workday(day):
            midnight = _midnight(day)
            for opening, closing in intervals:
                closes_at = midnight + closing
                if closes_at <= start:
                    continue
                counting_from = max(midnight + opening, start)
                available = closes_at - counting_from
                if remaining <= available:
                    return counting_from + remaining
                remaining -= available
        day += ONE_DAY


# --- elapsed working time -----------------------------------------------------------------------------


def working_days_between(start: datetime.datetime, end: datetime.datetime) -> float:
    """Working time from `start` to `end`, in working days (negative when `end` is before `start`).

    Each working day contributes its overlap with [00:00, 24:00) local time divided by 24 hours, so a
    whole working day is 1.0 and weekends and holidays add nothing. This is the measure of "average
    handling time in working days": it does not depend on office hours.
    """
    start, end = _local(start), _local(end)
    if end < start:
        return -working_days_between(end, start)
    elapsed = datetime.timedelta(0)
    day, last = start.date(), end.date()
    while day <= last:
        if is_workday(day):
            midnight = _midnight(day)
            overlap = min(end, midnight + ONE_DAY) - max(start, midnight)
            if overlap > datetime.timedelta(0):
                elapsed += overlap
        day += ONE_DAY
    return elapsed / ONE_DAY


def add_working_duration(start: datetime.datetime, days: float) -> datetime.datetime:
    """The moment `days` working days (as measured by `working_days_between`) after `start`.

    Non-working days are skipped: from a Friday noon, 1.0 ends on Monday noon. Of the moments that are
    exactly `days` away, the earliest is returned (a span ending at midnight after a working day ends
    there, not after the weekend). Negative `days` counts backwards, returning the latest such moment.
    Used to re-place a deadline after a paused clock: remaining = working_days_between(pause, deadline),
    new deadline = add_working_duration(resume, remaining).
    """
    start = _local(start)
    if isinstance(days, bool) or not isinstance(days, (int, float, Decimal)) or not math.isfinite(days):
        raise ValueError(f"a working duration is a finite number of days, got {days!r}")
    remaining = datetime.timedelta(days=abs(float(days)))
    if not remaining:
        return start
    forward = days > 0
    day, cursor = start.date(), start
    while True:
        if is_workday(day):
            available = (_midnight(day) + ONE_DAY - cursor) if forward else (cursor - _midnight(day))
            if remaining <= available:
                return cursor + remaining if forward else cursor - remaining
            remaining -= available
        if forward:
            day += ONE_DAY
            cursor = _midnight(day)
        else:
            day -= ONE_DAY
            cursor = _midnight(day) + ONE_DAY
