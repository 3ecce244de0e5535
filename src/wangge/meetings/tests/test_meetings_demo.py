"""The demo's year of meetings, on the crafted test county: rates, levels, determinism, linked cases."""

import datetime

import pytest

from wangge.cases.choices import Source
from wangge.cases.models import Case
from wangge.meetings import services
from wangge.meetings.choices import MeetingKind, ResolutionStatus
from wangge.meetings.demo import build_meetings_demo
from wangge.meetings.models import Meeting, MeetingAttendee, Resolution
from wangge.workdays.calendar import is_workday

TODAY = datetime.date(2026, 11, 20)  # a Friday

pytestmark = pytest.mark.django_db


def snapshot():
    return list(
        Meeting.objects.order_by("id").values_list("unit_id", "kind", "held_on", "chaired_by_id", "minutes")
    ), list(
        Resolution.objects.order_by("id").values_list("meeting_id", "text", "status", "responsible_unit_id")
    )


def test_a_year_of_weekly_and_joint_meetings(world):
    county = world.county
    counts = build_meetings_demo(5, TODAY)
    assert counts["meetings"] == Meeting.objects.count() == counts["weekly"] + counts["joint"]
    assert counts["attendees"] == MeetingAttendee.objects.count()

    weekly = Meeting.objects.filter(kind=MeetingKind.WEEKLY)
    assert set(weekly.values_list("unit_id", flat=True)) == {county.grid_a1.pk}  # the only grid with a leader
    days = list(weekly.values_list("held_on", flat=True))
    assert all(is_workday(day) and day <= TODAY for day in days)
    weeks = {day.isocalendar()[:2] for day in days}
    assert len(weeks) == len(days)  # at most one a week
    working_weeks = {
        (TODAY - datetime.timedelta(days=n)).isocalendar()[:2]
        for n in range(365)
        if is_workday(TODAY - datetime.timedelta(days=n))
    }
    assert 0.55 <= len(weeks) / len(working_weeks) <= 1
    meeting = weekly.first()
    assert meeting.chaired_by == world.users.grid_leader
    assert set(meeting.attendees.values_list("username", flat=True)) == {"grid_leader", "grid_worker"}

    joint = Meeting.objects.filter(kind=MeetingKind.JOINT)
    assert 12 <= joint.filter(unit=county.town_a).count() <= 13  # monthly
    assert 4 <= joint.filter(unit=county.county).count() <= 5  # quarterly
    assert joint.filter(unit=county.town_a).first().chaired_by == world.users.township_a

    old = Resolution.objects.filter(meeting__held_on__lt=TODAY - datetime.timedelta(days=60))
    assert old.filter(status=ResolutionStatus.DONE).count() >= old.count() * 0.7
    assert counts["cases"] == Case.objects.filter(source=Source.MEETING).count()
    for resolution in Resolution.objects.filter(case__isnull=False).select_related("case", "meeting"):
        assert resolution.status == ResolutionStatus.SPAWNED and resolution.meeting.kind == MeetingKind.JOINT
        assert resolution.case.created_at.date() >= resolution.meeting.held_on


def test_the_same_seed_gives_the_same_meetings(world):
    build_meetings_demo(11, TODAY)
    first = snapshot()
    Resolution.objects.all().delete()
    Case.objects.filter(source=Source.MEETING).delete()
    Meeting.objects.all().delete()
    build_meetings_demo(11, TODAY)
    assert snapshot()[0] == first[0]
    assert [row[1:] for row in snapshot()[1]] == [row[1:] for row in first[1]]


def test_the_due_list_is_real_after_the_demo(world):
    build_meetings_demo(5, TODAY)
    monday, _ = services.week_bounds(TODAY)
    met = Meeting.objects.filter(kind=MeetingKind.WEEKLY, held_on__gte=monday).exists()
    due = services.meetings_due(world.county.county, TODAY)
    assert [row.unit for row in due] == ([] if met else [world.county.grid_a1])
