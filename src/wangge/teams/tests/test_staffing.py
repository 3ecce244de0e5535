"""TEAM-1 and TEAM-2: the "1+n+N" check of every smallest grid and 一格一员 / 多格一员."""

import datetime

import pytest

from wangge.core.testing import make_user
from wangge.people.models import Post
from wangge.people.roles import Role
from wangge.teams.choices import Staffing
from wangge.teams.services import staffing_check

from .conftest import add_households

pytestmark = pytest.mark.django_db


def rows_by_code(report):
    return {row.grid.code: row for row in report.rows}


def test_a_grid_of_250_households_needs_three_workers(county):
    add_households(county.grid_a2, 250, closed=40)  # closed households do not count
    make_user("w1", (county.grid_a2, Role.GRID_WORKER_FULL_TIME))
    make_user("w2", (county.grid_a2, Role.GRID_WORKER_PART_TIME))
    row = rows_by_code(staffing_check(county.village_a))[county.grid_a2.code]
    assert (row.households, row.needed, len(row.workers), row.workers_short) == (250, 3, 2, 1)
    assert row.is_short

    make_user("w3", (county.grid_a2, Role.GRID_WORKER_FULL_TIME))
    make_user("leader", (county.grid_a2, Role.GRID_LEADER))
    row = rows_by_code(staffing_check(county.village_a))[county.grid_a2.code]
    assert (len(row.workers), row.workers_short, row.has_leader) == (3, 0, True)
    assert not row.is_short


def test_the_households_per_worker_is_a_setting(county, settings):
    settings.WANGGE_HOUSEHOLDS_PER_GRID_WORKER = 150
    add_households(county.grid_a2, 250)
    make_user("w1", (county.grid_a2, Role.GRID_WORKER_FULL_TIME))
    make_user("w2", (county.grid_a2, Role.GRID_WORKER_FULL_TIME))
    report = staffing_check(county.village_a)
    assert rows_by_code(report)[county.grid_a2.code].workers_short == 0
    assert report.households_per_worker == 150


def test_an_empty_grid_still_needs_one_worker(county):
    row = rows_by_code(staffing_check(county.village_a2))[county.grid_a2_only.code]
    assert (row.households, row.needed, row.workers_short, row.staffing) == (0, 1, 1, Staffing.NONE)


def test_only_the_smallest_grids_are_checked(county):
    codes = [row.grid.code for row in staffing_check(county.county).rows]
    assert codes == [
        county.cell_a11.code,
        county.cell_a12.code,
        county.grid_a2.code,
        county.grid_a2_only.code,
        county.grid_b1.code,
    ]


def test_the_leader_comes_from_the_grid_or_the_nearest_unit_above_it_in_the_village(county):
    # The fixture's 网格长 sits at 一组 (grid_a1), above both its cells.
    rows = rows_by_code(staffing_check(county.village_a))
    cell = rows[county.cell_a11.code]
    assert [m.name for m in cell.leaders] == ["grid_leader"] and cell.leader_above
    assert not rows[county.grid_a2.code].has_leader
    own = make_user("cell_deputy", (county.cell_a12, Role.DEPUTY_GRID_LEADER))
    row = rows_by_code(staffing_check(county.village_a))[county.cell_a12.code]
    assert [m.user_id for m in row.leaders] == [own.pk] and not row.leader_above
    # A leader posted at the village heads the grids that have none of their own.
    make_user("village_leader", (county.village_a, Role.GRID_LEADER))
    row = rows_by_code(staffing_check(county.village_a))[county.grid_a2.code]
    assert [m.name for m in row.leaders] == ["village_leader"] and row.leader_above
    # Not from outside the village: a township-level leader post is not a grid's "1".
    make_user("town_leader", (county.town_b, Role.GRID_LEADER))
    assert not rows_by_code(staffing_check(county.village_b))[county.grid_b1.code].has_leader


def test_other_forces_reach_a_grid_from_within_its_township(county):
    make_user("liaison", (county.village_a, Role.LIAISON_CADRE))
    make_user("police", (county.town_a, Role.LAW_ENFORCEMENT))
    make_user("county_police", (county.county, Role.LAW_ENFORCEMENT))
    make_user("compound", (county.grid_b1, Role.COMPOUND_HEAD))
    rows = rows_by_code(staffing_check(county.county))
    assert sorted(m.name for m in rows[county.cell_a11.code].others) == ["liaison", "police"]
    assert [m.name for m in rows[county.grid_a2_only.code].others] == ["police"]
    assert [m.name for m in rows[county.grid_b1.code].others] == ["compound"]


def test_one_worker_per_grid_several_grids_per_worker_and_none(county):
    # cell_a11 has its own worker (the fixture's grid_worker); a worker posted at 一组 serves both cells;
    # one person holds posts in two grids of different villages; grid_a2 has no worker.
    roving = make_user("roving", (county.grid_a1, Role.GRID_WORKER_PART_TIME))
    twice = make_user(
        "twice",
        (county.grid_a2_only, Role.GRID_WORKER_FULL_TIME),
        (county.grid_b1, Role.GRID_WORKER_PART_TIME),
    )
    report = staffing_check(county.county)
    rows = rows_by_code(report)
    assert rows[county.cell_a11.code].staffing == Staffing.ONE_PER_GRID
    assert rows[county.cell_a12.code].staffing == Staffing.SHARED
    assert rows[county.grid_a2.code].staffing == Staffing.NONE
    assert rows[county.grid_a2_only.code].staffing == Staffing.SHARED
    assert rows[county.grid_b1.code].staffing == Staffing.SHARED
    assert {s.member.user_id: s.grid_count for s in report.shared_workers} == {roving.pk: 2, twice.pk: 2}
    assert (report.one_per_grid, report.shared, report.unstaffed) == (1, 3, 1)
    assert report.workers == 3


def test_a_shared_worker_counts_once_not_in_every_grid(county):
    # 多格一员: one worker posted at 一组 serves cell_a11 and cell_a12 (the cell's own worker leaves);
    # with 60 households in each, each cell needs one worker and gets half of one.
    Post.objects.filter(user=county.users.grid_worker).update(end_date=datetime.date(2025, 12, 31))
    make_user("roving", (county.grid_a1, Role.GRID_WORKER_PART_TIME))
    add_households(county.cell_a11, 60)
    add_households(county.cell_a12, 60)
    rows = rows_by_code(staffing_check(county.grid_a1))
    for code in (county.cell_a11.code, county.cell_a12.code):
        assert rows[code].staffing == Staffing.SHARED and len(rows[code].workers) == 1
        assert rows[code].capacity == 0.5 and rows[code].workers_short == 1 and rows[code].is_short


def test_a_grid_checked_alone_still_sees_its_worker_serve_others(county):
    roving = make_user("roving", (county.grid_a1, Role.GRID_WORKER_PART_TIME))
    report = staffing_check(county.cell_a12)
    [row] = report.rows
    assert row.staffing == Staffing.SHARED and [m.user_id for m in row.workers] == [roving.pk]
    assert [(s.member.user_id, s.grid_count, [g.code for g in s.grids]) for s in report.shared_workers] == [
        (roving.pk, 2, [county.cell_a12.code])
    ]


def test_ended_posts_and_posts_not_yet_begun_do_not_staff_a_grid(county):
    add_households(county.grid_a2, 50)
    gone = make_user("gone", (county.grid_a2, Role.GRID_WORKER_FULL_TIME))
    Post.objects.filter(user=gone).update(end_date=datetime.date(2025, 12, 31))
    later = make_user("later", (county.grid_a2, Role.GRID_WORKER_FULL_TIME))
    Post.objects.filter(user=later).update(start_date=datetime.date(2026, 9, 1))
    row = rows_by_code(staffing_check(county.village_a))[county.grid_a2.code]
    assert row.workers == [] and row.staffing == Staffing.NONE
    assert (
        rows_by_code(staffing_check(county.village_a, on=datetime.date(2026, 9, 1)))[county.grid_a2.code]
        .workers[0]
        .name
        == "later"
    )


def test_unit_totals(county):
    add_households(county.cell_a11, 120)
    add_households(county.cell_a12, 30)
    report = staffing_check(county.village_a)
    assert (report.grids, report.households, report.workers_needed) == (3, 150, 4)
    # cell_a11: 1 worker of 2 needed; cell_a12 and grid_a2: none of 1.
    assert (report.workers, report.workers_short, report.short_of_workers) == (1, 3, 3)
    assert (report.without_leader, report.without_others, report.short, report.complete) == (1, 3, 3, 0)


def test_the_check_takes_a_handful_of_queries_whatever_the_size(county, django_assert_max_num_queries):
    for cell in (county.cell_a11, county.cell_a12, county.grid_a2, county.grid_a2_only, county.grid_b1):
        add_households(cell, 30)
        for i in range(3):
            make_user(f"w-{cell.code}-{i}", (cell, Role.GRID_WORKER_PART_TIME))
    make_user(
        "roving", (county.grid_a1, Role.GRID_WORKER_PART_TIME), (county.grid_b1, Role.GRID_WORKER_PART_TIME)
    )
    with django_assert_max_num_queries(5):
        report = staffing_check(county.county)
        assert report.grids == 5 and report.workers == 17  # 15, the roving one and grid_worker
    with django_assert_max_num_queries(5):
        staffing_check(county.cell_a12)  # the roving worker's other posts lie outside: one query more
