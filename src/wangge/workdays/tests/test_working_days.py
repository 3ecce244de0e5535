"""CASE-7: deadlines in working days follow the national calendar, 调休 make-up days and local overrides.

The expected dates are worked out by hand from the State Council's 2026 holiday notice (as carried by
chinese-calendar 1.11): Spring Festival Feb 15–23 off, Sat Feb 14 and Sat Feb 28 worked; Mid-Autumn
Sep 25–27 off; National Day Oct 1–7 off, Sun Sep 20 and Sat Oct 10 worked.
"""

import datetime
import logging
from decimal import Decimal

import pytest
from django.utils import translation

from wangge.workdays import calendar
from wangge.workdays.calendar import TimeUnit, add_workdays, deadline, end_of_day, is_workday
from wangge.workdays.models import WorkdayOverride

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
FALLBACK_YEAR = 2027  # the first year chinese-calendar 1.11 has no data for


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SHANGHAI)


def test_end_of_day_is_the_last_second_of_the_local_date():
    moment = end_of_day(datetime.date(2026, 2, 25))
    assert moment == local(2026, 2, 25, 23, 59, 59)
    assert moment.microsecond == 0
    assert moment.utcoffset() == datetime.timedelta(hours=8)


def test_spring_festival_make_up_saturday_counts_and_the_holiday_does_not():
    """CASE-7: registered Fri 2026-02-13 with 3 working days: Sat Feb 14 (调休), Tue Feb 24, Wed Feb 25."""
    assert deadline(local(2026, 2, 13, 10, 0), 3, TimeUnit.WORKING_DAYS) == local(2026, 2, 25, 23, 59, 59)
    assert is_workday(datetime.date(2026, 2, 14))
    assert not is_workday(datetime.date(2026, 2, 16))
    assert is_workday(datetime.date(2026, 2, 28))


def test_national_day_2026_five_working_days():
    """CASE-7: registered Wed 2026-09-30 with 5: Oct 8, Oct 9, Sat Oct 10 (调休), Oct 12, Oct 13."""
    assert deadline(local(2026, 9, 30, 16, 0), 5, TimeUnit.WORKING_DAYS) == local(2026, 10, 13, 23, 59, 59)
    assert is_workday(datetime.date(2026, 9, 20))  # a Sunday worked for National Day
    assert not is_workday(datetime.date(2026, 10, 11))


def test_the_registration_day_never_counts_and_zero_is_its_end():
    """CASE-7: a limit of 1 working day from a Tuesday morning ends on Wednesday night, not Tuesday."""
    assert deadline(local(2026, 3, 10, 8, 0), 1, "working_days") == local(2026, 3, 11, 23, 59, 59)
    assert deadline(local(2026, 3, 10, 8, 0), 0, TimeUnit.WORKING_DAYS) == local(2026, 3, 10, 23, 59, 59)


def test_the_start_day_is_the_local_date_not_the_utc_one():
    """17:00 UTC on Feb 13 is 01:00 on Sat Feb 14 in Shanghai: the next working day is Feb 24."""
    start = datetime.datetime(2026, 2, 13, 17, 0, tzinfo=datetime.timezone.utc)
    assert deadline(start, 1, TimeUnit.WORKING_DAYS) == local(2026, 2, 24, 23, 59, 59)


def test_natural_days_count_holidays():
    assert deadline(local(2026, 2, 13, 10, 0), 3, TimeUnit.NATURAL_DAYS) == local(2026, 2, 16, 23, 59, 59)


def test_urgent_hours_run_round_the_clock():
    start = local(2026, 2, 13, 22, 0)
    assert deadline(start, 4, TimeUnit.URGENT_HOURS) == local(2026, 2, 14, 2, 0)
    assert deadline(start, Decimal("0.5"), TimeUnit.URGENT_HOURS) == local(2026, 2, 13, 22, 30)
    assert deadline(start, 26.25, TimeUnit.URGENT_HOURS) == local(2026, 2, 15, 0, 15)


def test_a_local_override_wins_over_the_national_calendar():
    """CASE-7: the county calls staff in on a festival day and gives a normal Tuesday off."""
    WorkdayOverride.objects.create(date=datetime.date(2026, 2, 16), is_workday=True, reason="防汛值守")
    WorkdayOverride.objects.create(date=datetime.date(2026, 2, 24), is_workday=False, reason="地方节日")
    assert is_workday(datetime.date(2026, 2, 16))
    assert not is_workday(datetime.date(2026, 2, 24))
    # Sat Feb 14 (调休) and Mon Feb 16 (override); without the overrides it would be Feb 24.
    assert deadline(local(2026, 2, 13, 10, 0), 2, TimeUnit.WORKING_DAYS) == local(2026, 2, 16, 23, 59, 59)
    # Feb 14, Feb 16, then Feb 24 is skipped: Feb 25.
    assert deadline(local(2026, 2, 13, 10, 0), 3, TimeUnit.WORKING_DAYS) == local(2026, 2, 25, 23, 59, 59)


def test_a_year_without_national_data_falls_back_to_weekends_and_logs_it_once(caplog):
    assert calendar.years_without_data([2026, FALLBACK_YEAR]) == [FALLBACK_YEAR], (
        "chinese-calendar now covers this year: move FALLBACK_YEAR on to the first year it does not."
    )
    with caplog.at_level(logging.WARNING, logger="wangge.workdays.calendar"):
        assert is_workday(datetime.date(2027, 1, 1))  # a Friday; New Year's Day is unknown without data
        assert not is_workday(datetime.date(2027, 1, 2))
        assert is_workday(datetime.date(2027, 1, 4))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "2027" in r.getMessage()]
    assert len(warnings) == 1
    assert "chinese-calendar" in warnings[0].getMessage()


def test_a_deadline_runs_into_the_fallback_year():
    """Dec 29, 30, 31 (national data), then Fri Jan 1 and Mon Jan 4 2027 by the weekday fallback."""
    assert deadline(local(2026, 12, 28, 9, 0), 5, TimeUnit.WORKING_DAYS) == local(2027, 1, 4, 23, 59, 59)


def test_overrides_fill_in_a_year_without_national_data():
    WorkdayOverride.objects.create(date=datetime.date(2027, 1, 1), is_workday=False, reason="元旦")
    assert deadline(local(2026, 12, 31, 9, 0), 1, TimeUnit.WORKING_DAYS) == local(2027, 1, 4, 23, 59, 59)


def test_the_warning_names_the_year_without_data():
    assert calendar.calendar_warning_text(datetime.date(2026, 11, 21)) is None
    december = calendar.calendar_warning_text(datetime.date(2026, 12, 1))
    assert december is not None
    assert "2027" in december
    assert "2026" not in december
    assert "2027" in calendar.calendar_warning_text(datetime.date(2027, 3, 1))


def test_overrides_do_not_silence_the_warning():
    """Entered overrides fix the deadlines, but only the upgraded package makes the year complete."""
    WorkdayOverride.objects.create(date=datetime.date(2027, 1, 1), is_workday=False, reason="元旦")
    assert calendar.years_without_data([2027]) == [2027]
    assert calendar.calendar_warning_text(datetime.date(2027, 1, 5)) is not None


@pytest.mark.parametrize(
    ("value", "unit", "rule"),
    [
        (-1, TimeUnit.WORKING_DAYS, "0 or more"),
        (Decimal("-0.5"), TimeUnit.WORKING_HOURS, "0 or more"),
        (float("nan"), TimeUnit.URGENT_HOURS, "finite"),
        (float("inf"), TimeUnit.NATURAL_DAYS, "finite"),
        (1.5, TimeUnit.WORKING_DAYS, "whole number"),
        (Decimal("2.5"), TimeUnit.NATURAL_DAYS, "whole number"),
    ],
)
def test_bad_limits_are_refused_naming_the_rule(value, unit, rule):
    with translation.override("en"), pytest.raises(ValueError, match=rule):
        deadline(local(2026, 3, 10, 9, 0), value, unit)


def test_naive_datetimes_and_unknown_units_are_refused():
    with pytest.raises(ValueError, match="naive"):
        deadline(datetime.datetime(2026, 3, 10, 9, 0), 1, TimeUnit.WORKING_DAYS)
    with pytest.raises(ValueError):
        deadline(local(2026, 3, 10, 9, 0), 1, "fortnights")


def test_whole_decimal_days_are_accepted():
    assert deadline(local(2026, 3, 10, 9, 0), Decimal("2"), TimeUnit.WORKING_DAYS) == local(
        2026, 3, 12, 23, 59, 59
    )
    assert add_workdays(datetime.date(2026, 9, 30), 3) == datetime.date(2026, 10, 10)
