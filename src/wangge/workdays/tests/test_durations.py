"""Elapsed working time (average handling time in working days) and its inverse (re-placing a deadline)."""

import datetime

import pytest

from wangge.workdays.calendar import TimeUnit, add_working_duration, deadline, working_days_between

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SHANGHAI)


def test_part_of_one_working_day():
    assert working_days_between(local(2026, 3, 10, 8, 0), local(2026, 3, 10, 20, 0)) == 0.5


def test_the_weekend_adds_nothing():
    assert working_days_between(local(2026, 3, 13, 12, 0), local(2026, 3, 16, 12, 0)) == 1.0


def test_the_spring_festival_adds_nothing_and_the_make_up_saturday_a_whole_day():
    assert working_days_between(local(2026, 2, 13, 0, 0), local(2026, 2, 24, 0, 0)) == 2.0
    assert working_days_between(local(2026, 2, 16, 0, 0), local(2026, 2, 17, 0, 0)) == 0.0


def test_backwards_is_negative():
    assert working_days_between(local(2026, 3, 16, 12, 0), local(2026, 3, 13, 12, 0)) == -1.0


def test_instants_in_another_zone_are_measured_in_local_days():
    # 16:00 UTC on Fri Mar 13 is Sat 00:00 in Shanghai: the whole Friday lies before it.
    end = datetime.datetime(2026, 3, 13, 16, 0, tzinfo=datetime.timezone.utc)
    assert working_days_between(local(2026, 3, 13, 0, 0), end) == 1.0


def test_adding_a_working_day_skips_the_weekend_and_the_festival():
    assert add_working_duration(local(2026, 3, 13, 12, 0), 1.0) == local(2026, 3, 16, 12, 0)
    assert add_working_duration(local(2026, 2, 13, 12, 0), 1.0) == local(2026, 2, 14, 12, 0)
    assert add_working_duration(local(2026, 2, 14, 12, 0), 1.0) == local(2026, 2, 24, 12, 0)


def test_a_clock_started_on_a_holiday_runs_from_the_next_working_day():
    assert add_working_duration(local(2026, 2, 16, 10, 0), 0.25) == local(2026, 2, 24, 6, 0)


def test_a_span_ending_at_midnight_ends_there_not_after_the_weekend():
    assert add_working_duration(local(2026, 3, 13, 0, 0), 1.0) == local(2026, 3, 14, 0, 0)


def test_negative_durations_count_backwards():
    assert add_working_duration(local(2026, 3, 16, 12, 0), -1.0) == local(2026, 3, 13, 12, 0)


def test_zero_is_the_start_and_nonsense_is_refused():
    start = local(2026, 3, 14, 10, 0)
    assert add_working_duration(start, 0) == start
    with pytest.raises(ValueError):
        add_working_duration(start, float("nan"))


@pytest.mark.parametrize(
    "start",
    [
        local(2026, 2, 12, 9, 30),
        local(2026, 2, 15, 3, 0),
        local(2026, 9, 18, 23, 0),
        local(2026, 12, 30, 14, 0),
    ],
)
@pytest.mark.parametrize("days", [0.1, 0.5, 1.0, 2.75, 7.0, 12.3])
def test_the_round_trip_gives_back_the_duration(start, days):
    assert working_days_between(start, add_working_duration(start, days)) == pytest.approx(days, abs=1e-9)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (local(2026, 2, 12, 9, 30), local(2026, 2, 25, 11, 0)),
        (local(2026, 9, 28, 8, 0), local(2026, 10, 10, 16, 45)),
        (local(2026, 3, 10, 8, 0), local(2026, 3, 10, 9, 0)),
    ],
)
def test_adding_the_measured_duration_lands_on_the_end(start, end):
    assert add_working_duration(start, working_days_between(start, end)) == end


def test_a_paused_deadline_is_replaced_by_the_working_time_that_was_left():
    """CASE-7: paused 2 working days before the deadline; resumed after the National Day holidays."""
    registered = local(2026, 9, 21, 10, 0)
    due = deadline(registered, 5, TimeUnit.WORKING_DAYS)
    assert due == local(2026, 9, 29, 23, 59, 59)  # Sep 22, 23, 24, 28, 29 (Sep 25–27 Mid-Autumn)
    paused = local(2026, 9, 28, 0, 0, 1)
    left = working_days_between(paused, due)
    assert left == pytest.approx(2.0 - 2 / 86400)
    resumed = local(2026, 10, 8, 0, 0, 1)
    assert add_working_duration(resumed, left) == local(2026, 10, 9, 23, 59, 59)
