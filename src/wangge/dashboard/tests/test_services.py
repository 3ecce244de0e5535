"""Who may open which dashboard, the dashboard assembled for a unit, and the rollup's refresh."""

import datetime

import pytest

from wangge.cases.testing import local, patrol_case
from wangge.dashboard import services
from wangge.dashboard.figures import figures
from wangge.dashboard.kpis import Kpi
from wangge.dashboard.models import DailyCounts, RollupState
from wangge.dashboard.rollup import refresh, refresh_rollup

from .conftest import FRIDAY, MONDAY, NOW, TODAY

pytestmark = pytest.mark.django_db


def test_a_desk_sees_the_dashboards_of_its_own_unit_and_below_only(county):
    users = county.users
    assert services.may_view(users.county, county.village_b)
    assert services.may_view(users.village_a, county.village_a) and services.may_view(
        users.village_a, county.cell_a11
    )
    assert not services.may_view(users.village_a, county.village_b)
    assert not services.may_view(users.village_a, county.town_a)  # not upwards either
    assert services.may_view(users.grid_leader, county.cell_a12)
    assert not services.may_view(users.grid_worker, county.cell_a11)  # a grid worker has no dashboard
    assert not services.may_view(users.department, county.county)  # nor a department
    assert services.home_unit(users.township_a) == county.town_a
    assert services.home_unit(users.grid_worker) is None


def test_the_dashboard_of_the_county_holds_its_week_its_townships_and_its_lists(week):
    units = week.units
    board = services.build_dashboard(units.users.county, week.county, MONDAY, FRIDAY, today=TODAY, now=NOW)
    assert board.figures.registered == 5 and board.previous.registered == 1
    assert [(f.unit, f.registered) for f in board.children] == [(units.town_a, 4), (units.town_b, 1)]
    assert [k.kpi for k in board.kpis] == [
        Kpi.ON_TIME_CLOSURE,
        Kpi.SATISFACTION,
        Kpi.DISPUTES_RESOLVED_LOCALLY,
        Kpi.MEDIATION_SUCCESS,
        Kpi.MAJOR_DISPUTES_RESOLVED,
        Kpi.ONLINE_PETITIONS,
        Kpi.LOG_SUBMISSION,
        Kpi.VISIT_COVERAGE,
    ]
    # On Monday 9 March at 10:00 the street lamp (due Thursday) is overdue; the online petition, due at
    # the end of today, is within the one working day of 临期; the repeated petition (Tuesday night) not.
    assert [c.title for c in board.overdue.cases] == [
        "路灯损坏，夜间行人有安全隐患"
    ] and board.overdue.total == 1
    assert board.due_soon.total == 1 and board.due_soon.cases[0].category.code == "1701"
    village = services.build_dashboard(
        units.users.village_a, units.village_b, MONDAY, FRIDAY, today=TODAY, now=NOW
    )
    assert village.figures.petitions == 1 and village.overdue.total == 0


def test_staff_active_today_are_those_who_did_something_today(world):
    patrol_case(world)  # the grid worker of 一格 reports now
    activity = services.staff_activity(world.county.county)
    assert activity.on_duty == 3  # the grid leader and the two grid workers
    assert activity.active == 1
    assert services.staff_activity(world.county.village_b).active == 0


def test_a_refresh_claims_the_rollup_and_a_second_worker_keeps_off(week):
    RollupState.objects.create(pk=1, running_since=NOW - datetime.timedelta(minutes=5))
    assert refresh(NOW) is None  # another worker is building
    assert not DailyCounts.objects.exists()
    RollupState.objects.filter(pk=1).update(running_since=NOW - datetime.timedelta(hours=2))
    assert refresh(NOW) > 0  # an abandoned claim is taken over
    state = RollupState.objects.get(pk=1)
    assert (state.complete_before, state.running_since) == (TODAY, None) and state.full_built_at == NOW


def test_the_sweep_rebuilds_the_window_and_everything_once_a_week(week, settings):
    settings.WANGGE_ROLLUP_WINDOW_DAYS = 3
    assert refresh_rollup(NOW) > 0  # never built: everything
    assert refresh_rollup(NOW + datetime.timedelta(minutes=1)) == 0  # fresh
    # Wednesday 4 March's cells go stale (as when an old case changes): outside the three-day window.
    DailyCounts.objects.filter(day=datetime.date(2026, 3, 4)).update(counts={})
    later = NOW + datetime.timedelta(minutes=20)
    refresh_rollup(later)
    assert figures(week.county, MONDAY, FRIDAY, today=TODAY).closed == 2  # the window left Wednesday alone
    refresh_rollup(later + datetime.timedelta(days=7))  # a week on: a full build puts it right
    assert figures(week.county, MONDAY, FRIDAY, today=TODAY).closed == 3


def test_days_the_worker_missed_are_rebuilt_with_the_window(week, settings):
    settings.WANGGE_ROLLUP_WINDOW_DAYS = 1
    refresh(local(2026, 3, 3, 7), full=True)  # built on Tuesday morning: Monday and before
    assert RollupState.complete_before_day() == datetime.date(2026, 3, 3)
    refresh(NOW)  # next run a week later: from Tuesday on, not only Sunday
    rolled = figures(week.county, MONDAY, FRIDAY, today=TODAY)
    live = figures(week.county, MONDAY, FRIDAY, today=TODAY, use_rollup=False)
    assert rolled.counts == live.counts
