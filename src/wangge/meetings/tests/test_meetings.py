"""Meetings (WORK-2, WORK-3): who records which kind where, the edit window, resolutions raising one case
each, and the weekly list of grids that have not met, across an ISO week boundary."""

import datetime
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from wangge.cases.choices import CaseState, Source
from wangge.cases.models import Case
from wangge.core.audit import history_for
from wangge.core.models import ChangeAction
from wangge.core.testing import make_user, run_together
from wangge.meetings import services
from wangge.meetings.choices import MeetingKind, ResolutionStatus
from wangge.meetings.models import Meeting, Resolution
from wangge.people.models import Department
from wangge.people.roles import Role

# A Wednesday in ISO week 10 of 2026; Sunday 1 March closes week 9 and Monday 2 March opens week 10.
TODAY = datetime.date(2026, 3, 4)
D = datetime.date


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch, settings):
    settings.WANGGE_MEETING_EDIT_DAYS = 30
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


def weekly(county, by=None, unit=None, held_on=TODAY, **kwargs):
    kwargs.setdefault("minutes", "通报本周巡查情况，部署下周工作")
    meeting, _created = services.record_meeting(
        by=by or county.users.grid_leader,
        kind=MeetingKind.WEEKLY,
        unit=unit or county.grid_a1,
        held_on=held_on,
        **kwargs,
    )
    return meeting


def joint(county, by=None, unit=None, held_on=TODAY, **kwargs):
    kwargs.setdefault("minutes", "研判本月矛盾纠纷排查情况")
    meeting, _created = services.record_meeting(
        by=by or county.users.township_a,
        kind=MeetingKind.JOINT,
        unit=unit or county.town_a,
        held_on=held_on,
        **kwargs,
    )
    return meeting


def field_of(excinfo) -> str:
    return next(iter(excinfo.value.message_dict))


# --- recording rules --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_grid_leader_records_the_weekly_meeting_with_attendees_and_resolutions(county):
    users = county.users
    meeting = weekly(
        county,
        attendees=[users.grid_leader, users.grid_worker],
        agenda="一、本周工作\n二、下周安排",
        place="一组网格工作站",
        resolutions=["清理河道垃圾", "", "  走访独居老人  "],
    )
    assert meeting.kind == MeetingKind.WEEKLY and meeting.chaired_by == users.grid_leader
    assert set(meeting.attendees.values_list("username", flat=True)) == {"grid_leader", "grid_worker"}
    assert list(meeting.resolutions.values_list("text", "status")) == [
        ("清理河道垃圾", ResolutionStatus.OPEN),
        ("走访独居老人", ResolutionStatus.OPEN),
    ]
    entry = history_for(meeting).get()
    assert entry.action == ChangeAction.CREATE and entry.changes["resolutions"] == [
        "清理河道垃圾",
        "走访独居老人",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "unit", "allowed"),
    [
        ("grid_leader", "grid_a1", True),
        ("grid_leader", "cell_a11", True),  # a grid below his own
        ("grid_leader", "grid_a2", False),  # the neighbouring grid
        ("village_a", "grid_a2", True),  # the village administrator
        ("village_a", "village_a", True),  # the village's own weekly meeting
        ("grid_worker", "cell_a11", False),  # a grid worker attends, the leader records
        ("township_a", "grid_a1", False),  # the township holds joint meetings, not grid meetings
        ("village_b", "grid_a1", False),
        ("sysadmin", "grid_a1", True),
    ],
)
def test_who_records_a_weekly_meeting(county, who, unit, allowed):
    user, unit = getattr(county.users, who), getattr(county, unit)
    if allowed:
        assert weekly(county, by=user, unit=unit).unit == unit
    else:
        with pytest.raises(PermissionDenied) as excinfo:
            weekly(county, by=user, unit=unit)
        assert unit.name in str(excinfo.value)
        assert not Meeting.objects.exists()


@pytest.mark.django_db
def test_a_deputy_grid_leader_records_too(county):
    deputy = make_user("deputy", (county.grid_a2, Role.DEPUTY_GRID_LEADER))
    assert weekly(county, by=deputy, unit=county.grid_a2).recorded_by == deputy


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "unit", "allowed"),
    [
        ("township_a", "town_a", True),
        ("county", "town_a", True),  # the county dispatches in every township
        ("county", "county", True),
        ("township_a", "county", False),  # a township does not hold the county's joint meeting
        ("township_b", "town_a", False),
        ("village_a", "town_a", False),  # no dispatching right
        ("department", "county", False),  # a department post is not territorial
    ],
)
def test_who_records_a_joint_meeting(county, who, unit, allowed):
    user, unit = getattr(county.users, who), getattr(county, unit)
    if allowed:
        assert joint(county, by=user, unit=unit).kind == MeetingKind.JOINT
    else:
        with pytest.raises(PermissionDenied) as excinfo:
            joint(county, by=user, unit=unit)
        assert unit.name in str(excinfo.value)


@pytest.mark.django_db
def test_each_kind_is_held_at_its_levels(county):
    with pytest.raises(ValidationError) as excinfo:
        weekly(county, by=county.users.township_a, unit=county.town_a)
    assert field_of(excinfo) == "unit"
    with pytest.raises(ValidationError) as excinfo:
        joint(county, by=county.users.township_a, unit=county.village_a)
    assert field_of(excinfo) == "unit"
    with pytest.raises(ValidationError) as excinfo:
        services.record_meeting(
            by=county.users.grid_leader, kind="party", unit=county.grid_a1, held_on=TODAY, minutes="x"
        )
    assert field_of(excinfo) == "kind"


@pytest.mark.django_db
def test_attendees_come_from_the_units_staff_and_the_chair_may_sit_above(county):
    users = county.users
    meeting = weekly(county, chaired_by=users.village_a, attendees=[users.grid_worker])
    assert meeting.chaired_by == users.village_a
    with pytest.raises(ValidationError) as excinfo:
        weekly(county, attendees=[users.grid_worker, users.village_b])
    assert field_of(excinfo) == "attendees" and str(users.village_b) in excinfo.value.messages[0]
    with pytest.raises(ValidationError) as excinfo:
        weekly(county, chaired_by=users.village_b)
    assert field_of(excinfo) == "chaired_by"
    with pytest.raises(ValidationError) as excinfo:
        weekly(county, minutes="   ")
    assert field_of(excinfo) == "minutes"


@pytest.mark.django_db
def test_a_retried_submission_returns_the_first_meeting(county):
    key = uuid.uuid4()
    first, created = services.record_meeting(
        by=county.users.grid_leader,
        kind=MeetingKind.WEEKLY,
        unit=county.grid_a1,
        held_on=TODAY,
        minutes="例会",
        client_uuid=key,
    )
    again, created_again = services.record_meeting(
        by=county.users.grid_leader,
        kind=MeetingKind.WEEKLY,
        unit=county.grid_a1,
        held_on=TODAY,
        minutes="例会",
        client_uuid=key,
    )
    assert created and not created_again and again.pk == first.pk and Meeting.objects.count() == 1


# --- the edit window --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_meetings_are_recorded_and_changed_within_the_edit_window(county, settings):
    oldest = TODAY - datetime.timedelta(days=30)
    meeting = weekly(county, held_on=oldest)
    with pytest.raises(ValidationError) as excinfo:
        weekly(county, held_on=oldest - datetime.timedelta(days=1))
    assert field_of(excinfo) == "held_on" and "30" in excinfo.value.messages[0]
    with pytest.raises(ValidationError) as excinfo:
        weekly(county, held_on=TODAY + datetime.timedelta(days=1))
    assert field_of(excinfo) == "held_on"

    services.update_meeting(meeting, by=county.users.grid_leader, minutes="补充：河道清理已完成")
    meeting.refresh_from_db()
    assert meeting.minutes == "补充：河道清理已完成"
    assert [e.action for e in history_for(meeting)] == [ChangeAction.UPDATE, ChangeAction.CREATE]

    settings.WANGGE_MEETING_EDIT_DAYS = 7  # the window is policy: a setting
    with pytest.raises(ValidationError) as excinfo:
        services.update_meeting(meeting, by=county.users.grid_leader, minutes="再改")
    assert field_of(excinfo) == "held_on"
    with pytest.raises(ValidationError):
        services.add_resolution(meeting, by=county.users.grid_leader, text="迟到的决议")


@pytest.mark.django_db
def test_only_those_who_may_record_change_a_meeting(county):
    meeting = weekly(county)
    with pytest.raises(PermissionDenied):
        services.update_meeting(meeting, by=county.users.grid_worker, minutes="改")
    services.update_meeting(meeting, by=county.users.village_a, attendees=[county.users.grid_worker])
    assert list(meeting.attendees.values_list("username", flat=True)) == ["grid_worker"]


# --- resolutions and cases --------------------------------------------------------------------------------


@pytest.fixture
def town_resolution(world):
    county = world.county
    meeting = joint(county, attendees=[county.users.township_a, county.users.village_a])
    return services.add_resolution(
        meeting,
        by=county.users.township_a,
        text="甲一村牵头排查沿河危房\n年底前完成",
        responsible_unit=county.village_a,
        responsible_department=world.department,
        due_on=D(2026, 3, 31),
    )


@pytest.mark.django_db
def test_a_resolution_raises_one_case_at_its_responsible_unit(world, town_resolution):
    township = world.users.township_a
    case, created = services.spawn_case(town_resolution, by=township, category=world.category)
    assert created and case.source == Source.MEETING and case.unit == world.county.village_a
    assert case.state == CaseState.REGISTERED and case.number  # a category registers it at once
    assert case.title == "甲一村牵头排查沿河危房"
    assert case.description.startswith(town_resolution.text)
    for words in ("甲镇", "2026-03-04", str(town_resolution.meeting.pk), world.department.name, "2026-03-31"):
        assert words in case.description
    town_resolution.refresh_from_db()
    assert town_resolution.case == case and town_resolution.status == ResolutionStatus.SPAWNED

    again, created_again = services.spawn_case(town_resolution, by=township, category=world.category)
    assert not created_again and again.pk == case.pk and Case.objects.count() == 1


@pytest.mark.django_db
def test_a_case_made_by_a_concurrent_spawn_is_linked_not_duplicated(world, town_resolution):
    """The other request created the case (same derived client id) before this one locked the row."""
    from wangge.cases import services as case_services

    other, _ = case_services.report_case(
        reporter=world.users.township_a,
        source=Source.MEETING,
        description="同一决议",
        unit=world.county.village_a,
        client_uuid=services.resolution_case_uuid(town_resolution),
    )
    case, created = services.spawn_case(town_resolution, by=world.users.township_a)
    assert not created and case.pk == other.pk and Case.objects.count() == 1
    town_resolution.refresh_from_db()
    assert town_resolution.case_id == other.pk


@pytest.mark.django_db
def test_without_a_category_the_case_waits_for_registration(world, town_resolution):
    case, _ = services.spawn_case(town_resolution, by=world.users.county)
    assert case.state == CaseState.REPORTED and case.category is None


@pytest.mark.django_db
def test_who_raises_and_closes_resolutions(world, town_resolution):
    users = world.users
    with pytest.raises(PermissionDenied):
        services.spawn_case(town_resolution, by=users.village_a)  # responsible, but not the recorder
    with pytest.raises(PermissionDenied):
        services.close_resolution(town_resolution, by=users.village_b)
    done = services.close_resolution(town_resolution, by=users.village_a, note="已排查12户")
    assert done.status == ResolutionStatus.DONE and done.closed_by == users.village_a
    with pytest.raises(ValidationError) as excinfo:
        services.close_resolution(town_resolution, by=users.township_a)
    assert field_of(excinfo) == "status"
    with pytest.raises(ValidationError):
        services.spawn_case(town_resolution, by=users.township_a)
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_the_responsible_department_closes_its_resolution(world, town_resolution):
    assert (
        services.close_resolution(town_resolution, by=world.users.department).status == ResolutionStatus.DONE
    )


@pytest.mark.django_db
def test_a_resolution_names_a_unit_below_and_a_department_serving_the_meeting(world):
    county = world.county
    meeting = weekly(county)
    with pytest.raises(ValidationError) as excinfo:
        services.add_resolution(
            meeting, by=county.users.grid_leader, text="x", responsible_unit=county.grid_a2
        )
    assert field_of(excinfo) == "responsible_unit"
    elsewhere = Department.objects.create(name="乙镇综治中心", code="yi-zongzhi", unit=county.town_b)
    with pytest.raises(ValidationError) as excinfo:
        services.add_resolution(
            meeting, by=county.users.grid_leader, text="x", responsible_department=elsewhere
        )
    assert field_of(excinfo) == "responsible_department"
    served = services.add_resolution(
        meeting, by=county.users.grid_leader, text="x", responsible_department=world.township_office
    )
    assert served.responsible == world.township_office  # 甲镇综治中心 serves 一组
    resolution = services.add_resolution(meeting, by=county.users.grid_leader, text="x", due_on=TODAY)
    assert resolution.responsible == county.grid_a1
    with pytest.raises(ValidationError) as excinfo:
        services.add_resolution(meeting, by=county.users.grid_leader, text="x", due_on=D(2026, 3, 1))
    assert field_of(excinfo) == "due_on"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="two concurrent write transactions need PostgreSQL"
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("restore_migrated_rows")
def test_two_concurrent_spawns_make_one_case(world, town_resolution):
    def spawn():
        return services.spawn_case(Resolution.objects.get(pk=town_resolution.pk), by=world.users.township_a)

    results, errors = run_together(spawn, spawn)
    assert not errors, errors
    assert sorted(created for _case, created in results) == [False, True]
    assert Case.objects.count() == 1


# --- who has not met ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_grids_due_follow_the_iso_week_across_its_boundary(county):
    users = county.users
    deputy_b = make_user("deputy_b", (county.grid_b1, Role.DEPUTY_GRID_LEADER), full_name="乙副网格长")
    weekly(county, held_on=D(2026, 3, 1))  # Sunday: the last day of week 9

    week_9 = services.meetings_due(county.county, D(2026, 2, 25))
    assert [row.unit for row in week_9] == [county.grid_b1]
    assert week_9[0].leaders == [deputy_b]

    week_10 = services.meetings_due(county.county, D(2026, 3, 2))  # Monday: a new week, a new meeting due
    assert [row.unit for row in week_10] == [county.grid_a1, county.grid_b1]
    assert week_10[0].leaders == [users.grid_leader]

    assert [row.unit for row in services.meetings_due(county.town_a, D(2026, 3, 2))] == [county.grid_a1]
    weekly(county, held_on=D(2026, 3, 2))
    assert services.meetings_due(county.town_a, TODAY) == []


@pytest.mark.django_db
def test_only_weekly_meetings_at_the_grid_itself_count(county):
    weekly(county, by=county.users.village_a, unit=county.village_a)  # the village's meeting
    weekly(county, unit=county.cell_a11)  # a meeting of a grid below
    joint(county)
    assert [row.unit for row in services.meetings_due(county.village_a, TODAY)] == [county.grid_a1]


@pytest.mark.django_db
def test_a_week_without_a_working_day_owes_no_meeting(county):
    assert services.meetings_due(county.county, D(2026, 2, 18)) == []  # Spring Festival week of 2026
    assert services.meetings_due(county.county, D(2026, 2, 24))  # the week after: due again


@pytest.mark.django_db
def test_a_leader_posted_after_the_week_owes_nothing_for_it(county):
    late = make_user("late", (county.grid_a2, Role.GRID_LEADER))
    late.posts.update(start_date=D(2026, 3, 2))
    assert county.grid_a2 not in [row.unit for row in services.meetings_due(county.county, D(2026, 2, 25))]
    assert county.grid_a2 in [row.unit for row in services.meetings_due(county.county, D(2026, 3, 2))]


@pytest.mark.django_db
def test_the_due_list_takes_a_few_queries_whatever_the_size(county, django_assert_max_num_queries):
    for i in range(12):
        grid = county.grid_a2 if i % 2 else county.grid_b1
        make_user(f"leader{i}", (grid, Role.GRID_LEADER))
    services.meetings_due(county.county, TODAY)  # warm the calendar cache
    with django_assert_max_num_queries(3):
        rows = services.meetings_due(county.county, TODAY)
    assert {row.unit for row in rows} == {county.grid_a1, county.grid_a2, county.grid_b1}
