"""Deadlines across holidays and local overrides (CASE-7), and who sees which case (DESIGN: scope)."""

import logging

import pytest

from wangge.cases import services
from wangge.cases.models import Case
from wangge.cases.testing import local, patrol_case
from wangge.workdays.models import WorkdayOverride

pytestmark = pytest.mark.django_db


def _to_township(world, now):
    case = patrol_case(world, now=now)
    for actor in (world.users.grid_worker, world.users.grid_leader, world.users.village_a):
        case = services.escalate(case, by=actor, reason="上报", now=now)
    return case


def test_spring_festival_2026_with_its_saturday_make_up_day(world):
    """Registered Friday 13 Feb: Sat 14 Feb is a make-up workday, 15–23 Feb are off → due end of 25 Feb."""
    case = patrol_case(world, now=local(2026, 2, 13, 10, 0))
    assert case.due_at == local(2026, 2, 25, 23, 59, 59)


def test_national_day_2026_dispatch_to_a_department(world):
    """Dispatched 30 Sep with 5 working days: 1–7 Oct off; 8, 9, Sat 10 (make-up), 12, 13 Oct count."""
    now = local(2026, 9, 30, 10, 0)
    case = _to_township(world, now)
    case = services.dispatch(case, by=world.users.township_a, lead=world.department, now=now)
    assert case.due_at == local(2026, 10, 13, 23, 59, 59)


def test_a_local_day_off_moves_the_deadline(world):
    WorkdayOverride.objects.create(date="2026-03-04", is_workday=False, reason="县运动会")
    case = patrol_case(world, now=local(2026, 3, 2, 10, 0))
    assert case.due_at == local(2026, 3, 6, 23, 59, 59)


def test_a_year_without_holiday_data_counts_weekends_only_and_warns(world, caplog):
    with caplog.at_level(logging.WARNING):
        case = patrol_case(world, now=local(2026, 12, 30, 10, 0))
    # 31 Dec, then Fri 1 Jan 2027 (no national data: an ordinary Friday), then Mon 4 Jan.
    assert case.due_at == local(2027, 1, 4, 23, 59, 59)
    assert any("2027" in record.getMessage() for record in caplog.records)


def _visible(user):
    return set(Case.objects.visible_to(user).values_list("pk", flat=True))


def test_each_user_sees_only_the_cases_of_their_area_or_their_department(world):
    users = world.users
    in_a = patrol_case(world)
    in_b = patrol_case(world, by=users.grid_worker_b, point=world.point_b1)
    assert _visible(users.grid_worker) == {in_a.pk}
    assert _visible(users.village_a) == {in_a.pk}
    assert _visible(users.township_a) == {in_a.pk}
    assert _visible(users.village_b) == {in_b.pk}
    assert _visible(users.county) == {in_a.pk, in_b.pk}
    assert _visible(users.sysadmin) == {in_a.pk, in_b.pk}
    assert _visible(users.outsider) == set()
    # Department posts sit at the county but open only what is assigned to the department.
    assert _visible(users.department) == set()
    assert _visible(users.police) == set()


def test_a_department_sees_a_case_once_it_is_assigned_lead_or_co_handler(world):
    users = world.users
    case = _to_township(world, local(2026, 3, 2, 10, 0))
    services.dispatch(case, by=users.township_a, lead=world.department, co_handlers=[world.police])
    assert _visible(users.department) == {case.pk}
    assert _visible(users.police) == {case.pk}


def test_a_reporter_follows_their_report_outside_their_grid(world):
    case = patrol_case(world, point=world.point_b1)
    assert case.pk in _visible(world.users.grid_worker)
    assert case.pk not in _visible(world.users.village_a)
