"""The daily rollup of the case figures (decision 0014): each administrative unit's day counts, rebuilt from
the cases by the worker, so that a county's year is a few hundred stored rows instead of a scan of a
hundred thousand cases.

The rollup is a cache, never a source: `rebuild` recomputes every cell of a range of days from the cases
with the same `DayTally` the live figures use, so rollup and live agree by construction. The worker sweep
`refresh_rollup` rebuilds the last `WANGGE_ROLLUP_WINDOW_DAYS` days every `WANGGE_ROLLUP_INTERVAL_MINUTES`
minutes and every day since the last full build once every `WANGGE_ROLLUP_FULL_EVERY_DAYS` days (cases
far in the past rarely change, but a reopened old case is caught then). `RollupState.complete_before`
says which days a reader may take from the rollup; later days are counted live.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from wangge.cases.models import Case
from wangge.units.models import Unit

from .figures import ROLLED_UP_KIND, DayTally, case_rows, zone
from .models import DailyCounts, RollupState

log = logging.getLogger(__name__)

STALE_CLAIM = datetime.timedelta(hours=1)
ONE_DAY = datetime.timedelta(days=1)


def _state() -> RollupState:
    state, _created = RollupState.objects.get_or_create(pk=1)
    return state


def _months(first_day: datetime.date, end_day: datetime.date):
    """[first, end) cut at month starts, so each piece is one transaction of moderate size."""
    start = first_day
    while start < end_day:
        following = (start.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
        yield start, min(following, end_day)
        start = following


def rebuild(first_day: datetime.date, end_day: datetime.date, today: datetime.date | None = None) -> int:
    """Recompute the cells of every administrative unit for the days of [first, end); returns the cells
    written. Each month is replaced in its own transaction: readers see it whole, before or after."""
    today = today or timezone.localdate()
    units = dict(Unit.objects.filter(kind=ROLLED_UP_KIND).values_list("path", "pk"))
    lengths = sorted({len(path) for path in units})
    written = 0
    for piece_first, piece_end in _months(first_day, end_day):
        tally = DayTally(piece_first, piece_end, today)
        for row in case_rows(Case.objects.all(), piece_first, piece_end).iterator(chunk_size=5000):
            path = row[0]
            tally.add([units[path[:n]] for n in lengths if path[:n] in units], row)
        cells = [
            DailyCounts(unit_id=unit_id, day=day, counts=dict(counts))
            for (unit_id, day), counts in tally.cells.items()
            if counts
        ]
        with transaction.atomic():
            DailyCounts.objects.filter(day__gte=piece_first, day__lt=piece_end).delete()
            DailyCounts.objects.bulk_create(cells, batch_size=2000)
        written += len(cells)
    return written


def first_case_day() -> datetime.date | None:
    """The local day of the earliest registration or rejection: nothing is counted before it (deadlines
    come after registration)."""
    found = Case.objects.aggregate(registered=Min("registered_at"), closed=Min("closed_at"))
    moments = [moment for moment in found.values() if moment is not None]
    return min(moments).astimezone(zone()).date() if moments else None


def refresh(now: datetime.datetime | None = None, *, full: bool = False) -> int | None:
    """Bring the rollup up to today: the recent window, or everything when `full` (or never built).
    Returns the cells written, or None when another worker is at it."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    state = _state()
    claimed = (
        RollupState.objects.filter(pk=state.pk)
        .filter(Q(running_since__isnull=True) | Q(running_since__lt=now - STALE_CLAIM))
        .update(running_since=now)
    )
    if not claimed:
        return None
    try:
        full = full or state.full_built_at is None or state.complete_before is None
        if full:
            first = first_case_day() or today
        else:
            window = datetime.timedelta(days=settings.WANGGE_ROLLUP_WINDOW_DAYS)
            # Days the last build did not reach (the worker was down) are rebuilt too.
            first = min(today - window, state.complete_before)
        written = rebuild(first, today, today) if first < today else 0
    except Exception:
        RollupState.objects.filter(pk=state.pk).update(running_since=None)
        raise
    changes = {"complete_before": today, "refreshed_at": now, "running_since": None}
    if full:
        changes["full_built_at"] = now
    RollupState.objects.filter(pk=state.pk).update(**changes)
    log.info("rollup %s: %d daily cells from %s", "built" if full else "refreshed", written, first)
    return written


def refresh_rollup(now: datetime.datetime) -> int:
    """Worker sweep: refresh when the interval has passed or the day has turned; a full build when the
    last one is old enough."""
    state = _state()
    today = timezone.localdate(now)
    interval = datetime.timedelta(minutes=settings.WANGGE_ROLLUP_INTERVAL_MINUTES)
    full_every = datetime.timedelta(days=settings.WANGGE_ROLLUP_FULL_EVERY_DAYS)
    full = state.full_built_at is None or now - state.full_built_at >= full_every
    fresh = state.refreshed_at is not None and now - state.refreshed_at < interval
    if fresh and not full and state.complete_before == today:
        return 0
    return refresh(now, full=full) or 0
