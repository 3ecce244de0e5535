"""CASE-7: limits in working hours count only office hours (08:30–12:00, 14:00–17:30) of working days."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from wangge.workdays.calendar import TimeUnit, deadline, parse_office_hours

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SHANGHAI)


def hours_after(start, hours):
    return deadline(start, hours, TimeUnit.WORKING_HOURS)


def test_the_lunch_break_does_not_count():
    assert hours_after(local(2026, 3, 10, 11, 0), 2) == local(2026, 3, 10, 15, 0)


def test_the_night_does_not_count():
    assert hours_after(local(2026, 3, 10, 16, 30), 3) == local(2026, 3, 11, 10, 30)


def test_the_weekend_does_not_count():
    # Fri 16:00–17:30 is 1.5 h; the other 2.5 h from Monday 08:30.
    assert hours_after(local(2026, 3, 13, 16, 0), 4) == local(2026, 3, 16, 11, 0)


def test_a_make_up_saturday_counts_and_the_festival_does_not():
    assert hours_after(local(2026, 2, 13, 17, 0), 1) == local(2026, 2, 14, 9, 0)
    assert hours_after(local(2026, 2, 14, 17, 0), 1) == local(2026, 2, 24, 9, 0)


def test_a_report_outside_office_hours_starts_counting_at_the_next_opening():
    assert hours_after(local(2026, 3, 14, 10, 0), 1) == local(2026, 3, 16, 9, 30)  # a Saturday
    assert hours_after(local(2026, 3, 10, 6, 0), 1) == local(2026, 3, 10, 9, 30)
    assert hours_after(local(2026, 3, 10, 12, 30), 1) == local(2026, 3, 10, 15, 0)


def test_a_limit_used_up_at_closing_time_expires_then():
    assert hours_after(local(2026, 3, 10, 8, 30), 7) == local(2026, 3, 10, 17, 30)
    assert hours_after(local(2026, 3, 10, 8, 30), Decimal("3.5")) == local(2026, 3, 10, 12, 0)


def test_fractions_and_multi_day_limits():
    assert hours_after(local(2026, 3, 10, 9, 0), Decimal("0.25")) == local(2026, 3, 10, 9, 15)
    # 7 office hours a day: Tue 09:00 + 14 h is Thu 09:00.
    assert hours_after(local(2026, 3, 10, 9, 0), 14) == local(2026, 3, 12, 9, 0)


def test_zero_hours_is_the_start():
    start = local(2026, 3, 14, 10, 0)
    assert hours_after(start, 0) == start


def test_office_hours_come_from_the_setting(settings):
    settings.WANGGE_OFFICE_HOURS = "09:00-17:00"
    assert hours_after(local(2026, 3, 10, 16, 0), 2) == local(2026, 3, 11, 10, 0)


def test_a_round_the_clock_office_still_skips_days_off(settings):
    settings.WANGGE_OFFICE_HOURS = "00:00-24:00"
    assert hours_after(local(2026, 3, 13, 20, 0), 6) == local(2026, 3, 16, 2, 0)


@pytest.mark.parametrize(
    "spec", ["", "8-12", "08:30-12:00,11:00-17:30", "14:00-12:00", "08:60-12:00", "24:00-24:30"]
)
def test_a_malformed_office_hours_setting_fails_loudly(spec):
    with pytest.raises(ImproperlyConfigured, match="WANGGE_OFFICE_HOURS"):
        parse_office_hours(spec)


def test_the_default_setting_parses_into_two_intervals():
    assert parse_office_hours("08:30-12:00,14:00-17:30") == (
        (datetime.timedelta(hours=8, minutes=30), datetime.timedelta(hours=12)),
        (datetime.timedelta(hours=14), datetime.timedelta(hours=17, minutes=30)),
    )
