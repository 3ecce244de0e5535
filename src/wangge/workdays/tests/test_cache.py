"""The override table is read once per year per process, and an administrator's edit takes effect."""

import datetime

import pytest

from wangge.workdays import calendar
from wangge.workdays.calendar import TimeUnit, deadline, is_workday
from wangge.workdays.models import WorkdayOverride

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
TUESDAY = datetime.date(2026, 3, 10)


def test_deadlines_read_the_overrides_once_per_year(django_assert_num_queries):
    start = datetime.datetime(2026, 12, 28, 9, 0, tzinfo=SHANGHAI)
    with django_assert_num_queries(2):  # 2026 and 2027
        deadline(start, 30, TimeUnit.WORKING_DAYS)
    with django_assert_num_queries(0):
        for day in range(1, 28):
            deadline(start.replace(day=day), 30, TimeUnit.WORKING_DAYS)


def test_saving_and_deleting_an_override_takes_effect_at_once():
    assert is_workday(TUESDAY)  # now cached
    override = WorkdayOverride.objects.create(date=TUESDAY, is_workday=False, reason="停电")
    assert not is_workday(TUESDAY)
    override.is_workday = True
    override.save()
    assert is_workday(TUESDAY)
    WorkdayOverride.objects.filter(pk=override.pk).delete()  # a queryset delete sends post_delete too
    assert is_workday(TUESDAY)
    override.pk = None
    override.is_workday = False
    override.save()
    assert not is_workday(TUESDAY)
    override.delete()
    assert is_workday(TUESDAY)


def test_an_edit_by_another_process_shows_after_the_cache_expires(monkeypatch):
    override = WorkdayOverride.objects.create(date=TUESDAY, is_workday=False, reason="停电")
    assert not is_workday(TUESDAY)
    # update() sends no signal: like an edit made in another process.
    WorkdayOverride.objects.filter(pk=override.pk).update(is_workday=True)
    assert not is_workday(TUESDAY)
    now = calendar.time.monotonic()
    monkeypatch.setattr(calendar.time, "monotonic", lambda: now + calendar.OVERRIDE_CACHE_SECONDS + 1)
    assert is_workday(TUESDAY)
