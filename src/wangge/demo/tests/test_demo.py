"""The demo county: shape, household standards, codes, determinism, logins and geometric soundness.

One small demo is built per module and rolled back at its end; each test runs inside it.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from io import StringIO
from types import SimpleNamespace

import pytest
import shapely
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings

from wangge.core.testing import PASSWORD
from wangge.demo import generator
from wangge.demo.generator import DEMO_LOGINS, SCALES, DemoError, Scale, generate, read_standards
from wangge.ledger.models import Household
from wangge.people.models import Post, User
from wangge.people.roles import Role
from wangge.units import geometry as geo
from wangge.units.choices import AreaType, DedicatedType, UnitKind
from wangge.units.models import HouseholdStandard, Unit

SEED = 7
# The checks tolerance: overlaps and gaps below it are rounding (1 m² by default).
TOLERANCE_M2 = settings.WANGGE_GEOMETRY_TOLERANCE_M2
DIVISION_SUFFIXES = ("街道", "镇", "乡", "社区", "村")
TINY = Scale(
    townships=2, communities=(2, 2), villages=(2, 2), grid3_rural=(2, 2), grid3_urban=(2, 2), dedicated=(1, 1)
)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The small demo county, built once through the command; rolled back after the module."""
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        out = StringIO()
        call_command("demo", scale="small", seed=SEED, stdout=out)
        units = list(Unit.objects.select_related("level").order_by("path"))
        yield SimpleNamespace(output=out.getvalue(), units=units, county=units[0])
        transaction.set_rollback(True)


@pytest.fixture
def tree(demo, db):
    """Units by level key, children by parent path, and each unit's boundary as a shapely shape."""
    by_level = defaultdict(list)
    children = defaultdict(list)
    for unit in demo.units:
        by_level[unit.level.key].append(unit)
        if unit.depth > 1:
            children[unit.parent_path].append(unit)
    shapes = {unit.code: geo.to_shape(unit.geometry) for unit in demo.units}
    by_path = {unit.path: unit for unit in demo.units}
    return SimpleNamespace(by_level=by_level, children=children, shapes=shapes, by_path=by_path, **vars(demo))


def households_by_grid() -> Counter:
    return Counter(Household.objects.values_list("grid__code", flat=True))


# --- shape of the county ------------------------------------------------------------------------------


def test_small_demo_builds_every_level_with_one_urban_street(tree):
    counts = {key: len(units) for key, units in tree.by_level.items()}
    assert counts["county"] == 1
    assert 3 <= counts["township"] <= 4
    assert counts["village"] >= counts["township"]
    assert counts["grid3"] > counts["village"]
    assert counts["grid4"] > counts["grid3"] // 2
    streets = [t for t in tree.by_level["township"] if t.name.endswith("街道")]
    assert len(streets) == 1
    assert streets[0].area_type == AreaType.URBAN
    assert all(
        c.area_type == AreaType.URBAN and c.name.endswith("社区") for c in tree.children[streets[0].path]
    )
    assert "Built the demo county" in tree.output


def test_codes_extend_the_parent_code_in_the_gbt_2260_ranges(tree):
    assert tree.county.code == generator.COUNTY_CODE
    ranges = {"街道": range(1, 100), "镇": range(100, 200), "乡": range(200, 400)}
    for township in tree.by_level["township"]:
        suffix = next(s for s in ranges if township.name.endswith(s))
        assert int(township.code[6:]) in ranges[suffix], township
    for village in tree.by_level["village"]:
        expected = range(1, 200) if village.name.endswith("社区") else range(200, 400)
        assert len(village.code) == 12 and int(village.code[9:]) in expected, village
    for unit in tree.units[1:]:
        parent_code = tree.by_path[unit.parent_path].code
        assert unit.code.startswith(parent_code)
        assert len(unit.code) == len(parent_code) + unit.level.code_digits, unit


def test_siblings_are_numbered_north_to_south_then_west_to_east(tree):
    """Grids are numbered in reading order; townships and villages too, within each code range
    (街道/镇/乡, 社区/村)."""
    for siblings in tree.children.values():
        groups = defaultdict(list)
        for unit in siblings:
            groups[next((s for s in DIVISION_SUFFIXES if unit.name.endswith(s)), "grid")].append(unit)
        for group in groups.values():
            by_code = sorted(group, key=lambda u: u.code)
            by_position = sorted(group, key=lambda u: geo.reading_order_key(u.centroid_lng, u.centroid_lat))
            assert [u.code for u in by_code] == [u.code for u in by_position]


def test_dedicated_grids_sit_in_urban_communities_without_households_or_children(tree):
    dedicated = [g for g in tree.by_level["grid3"] if g.kind == UnitKind.DEDICATED]
    assert dedicated, "the 街道 should have some 专属网格"
    held = households_by_grid()
    for grid in dedicated:
        assert grid.area_type == AreaType.URBAN
        assert grid.dedicated_type in DedicatedType.values
        assert grid.name.endswith("专属网格")
        assert not tree.children[grid.path]
        assert held[grid.code] == 0


def test_every_comprehensive_grid_holds_households_within_its_standard(tree):
    standards = {
        (s.level.key, s.area_type): (s.min_households, s.max_households)
        for s in HouseholdStandard.objects.select_related("level")
    }
    held = households_by_grid()
    for grid4 in tree.by_level["grid4"]:
        low, high = standards["grid4", grid4.area_type]
        assert low <= held[grid4.code] <= high, grid4
    for grid3 in tree.by_level["grid3"]:
        if grid3.kind == UnitKind.COMPREHENSIVE:
            total = sum(held[g.code] for g in tree.children[grid3.path])
            low, high = standards["grid3", grid3.area_type]
            assert low <= total <= high, grid3
    assert sum(held.values()) == Household.objects.count()


def test_household_numbers_and_addresses_follow_their_grid(tree):
    grid_names = {g.code: g.name for g in tree.by_level["grid4"]}
    for number, grid_code, address in Household.objects.values_list("number", "grid__code", "address"):
        assert number[:-3] == grid_code and number[-3:].isdigit()
        assert grid_names[grid_code] in address
        assert address.endswith("号") or address[-3:].isdigit()  # 3组12号 or 5栋2单元301


# --- determinism --------------------------------------------------------------------------------------


def test_the_same_seed_builds_the_same_county(tree):
    plan = generate(SCALES["small"], SEED, read_standards())
    assert [u.code for u in plan.units()] == [u.code for u in tree.units]
    assert [u.name for u in plan.units()] == [u.name for u in tree.units]
    stored = Household.objects.order_by("number").values_list("number", flat=True)
    assert sorted(h.number for h in plan.households) == list(stored)
    again = generate(TINY, 3, read_standards())
    assert again.fingerprint() == generate(TINY, 3, read_standards()).fingerprint()


def test_a_different_seed_builds_a_different_county(db):
    standards = read_standards()
    first, second = generate(TINY, 1, standards), generate(TINY, 2, standards)
    assert first.fingerprint() != second.fingerprint()
    assert first.county.geometry != second.county.geometry
    assert [h.number for h in first.households] != [h.number for h in second.households]


# --- staff and logins ---------------------------------------------------------------------------------


def test_each_demo_login_signs_in_with_the_demo_password_and_holds_its_role(demo, db):
    for username, role in DEMO_LOGINS:
        user = authenticate(username=username, password=PASSWORD)
        assert user is not None, username
        assert list(user.posts.active().values_list("role", flat=True)) == [role]
    admin = User.objects.get(username="demo-admin")
    assert admin.is_superuser and admin.is_staff
    assert not User.objects.get(username="demo-county").is_superuser


def test_the_demo_logins_nest_from_township_down_to_grid(demo, db):
    units = {p.user.username: p.unit for p in Post.objects.select_related("user", "unit")}
    chain = ["demo-county", "demo-township", "demo-village", "demo-gridleader", "demo-gridworker"]
    for upper, lower in itertools.pairwise(chain):
        assert units[lower].parent_path == units[upper].path, (upper, lower)
    assert Post.objects.get(user__username="demo-department").department.name == "县应急管理局"


def test_every_unit_below_the_county_has_its_post(tree):
    roles = defaultdict(set)
    for unit_code, role in Post.objects.values_list("unit__code", "role"):
        roles[unit_code].add(role)
    expected = {"township": Role.TOWNSHIP_ADMIN, "village": Role.VILLAGE_ADMIN, "grid3": Role.GRID_LEADER}
    for key, role in expected.items():
        assert all(role in roles[u.code] for u in tree.by_level[key]), key
    for grid4 in tree.by_level["grid4"]:
        urban = grid4.area_type == AreaType.URBAN
        assert (Role.GRID_WORKER_FULL_TIME if urban else Role.GRID_WORKER_PART_TIME) in roles[grid4.code]
    assert {Role.SYSTEM_ADMIN, Role.COUNTY_COMMAND, Role.DEPARTMENT_USER} <= roles[tree.county.code]


def test_demo_logins_lists_each_login_with_its_chinese_role_and_unit(demo, db):
    out = StringIO()
    call_command("demo_logins", stdout=out)
    lines = out.getvalue().splitlines()
    for username, _role in DEMO_LOGINS:
        row = next(line for line in lines if line.startswith(username + " "))
        assert PASSWORD in row
    admin_row = next(line for line in lines if line.startswith("demo-admin"))
    assert "系统管理员" in admin_row and demo.county.name in admin_row and demo.county.code in admin_row


# --- never over existing data -------------------------------------------------------------------------


def test_if_empty_leaves_an_existing_tree_alone(demo, db):
    before = (Unit.objects.count(), Household.objects.count(), User.objects.count())
    out = StringIO()
    call_command("demo", scale="small", seed=SEED + 1, if_empty=True, stdout=out)
    assert "already holds" in out.getvalue()
    assert (Unit.objects.count(), Household.objects.count(), User.objects.count()) == before


def test_loading_over_existing_units_is_refused_without_deleting_anything(demo, db):
    before = Unit.objects.count()
    with pytest.raises(CommandError, match="already holds"):
        call_command("demo", scale="small", stdout=StringIO())
    assert Unit.objects.count() == before


def test_household_standards_that_cannot_be_met_are_reported(db):
    standards = read_standards() | {("grid3", AreaType.RURAL): (10, 20)}
    with pytest.raises(DemoError, match="cannot be met"):
        generate(TINY, 1, standards)


# --- geometric soundness ------------------------------------------------------------------------------


def test_every_child_lies_within_its_parent(tree):
    for unit in tree.units[1:]:
        parent = tree.by_path[unit.parent_path]
        outside = geo.area_m2(tree.shapes[unit.code].difference(tree.shapes[parent.code]))
        assert outside <= TOLERANCE_M2, (unit, outside)


def test_siblings_do_not_overlap(tree):
    for siblings in tree.children.values():
        shapes = [tree.shapes[u.code] for u in siblings]
        for i, a in enumerate(shapes):
            for j in range(i):
                overlap = geo.area_m2(a.intersection(shapes[j]))
                assert overlap <= TOLERANCE_M2, (siblings[i], siblings[j], overlap)


def test_children_cover_their_parent(tree):
    for unit in tree.units:
        children = tree.children[unit.path]
        if children:
            union = shapely.union_all([tree.shapes[c.code] for c in children])
            gap = geo.area_m2(tree.shapes[unit.code].difference(union))
            assert gap <= TOLERANCE_M2, (unit, gap)


def test_every_household_lies_inside_its_grid(tree):
    points = defaultdict(list)
    for code, lng, lat in Household.objects.values_list("grid__code", "lng", "lat"):
        points[code].append((lng, lat))
    assert points
    for code, xy in points.items():
        xs, ys = zip(*xy, strict=True)
        assert shapely.contains_xy(tree.shapes[code], xs, ys).all(), code


def test_the_county_sits_in_plausible_coordinates_and_size(tree):
    minx, miny, maxx, maxy = tree.shapes[tree.county.code].bounds
    assert 105 < minx < maxx < 112 and 29 < miny < maxy < 34
    assert 5e7 < geo.area_m2(tree.shapes[tree.county.code]) < 5e9


def test_the_grid_checker_finds_nothing_wrong(demo, db):
    checks = pytest.importorskip("wangge.units.checks")
    assert checks.check_subtree(demo.county) == []


def test_a_year_of_field_work_makes_real_due_lists_and_coverage(demo, db):
    from django.utils import timezone

    from wangge.fieldwork import visits
    from wangge.fieldwork.models import PatrolRecord, PublicityRecord, Visit, WorkLog

    today = timezone.localdate()
    assert "Field work:" in demo.output
    first = today - timezone.timedelta(days=365)
    assert not WorkLog.objects.filter(date__lt=first).exists()
    latest = WorkLog.objects.order_by("-date").values_list("date", flat=True).first()
    assert (today - latest).days <= 4  # up to the last working day
    assert Visit.objects.count() > Household.objects.count() and PatrolRecord.objects.exists()
    assert PublicityRecord.objects.exists()

    worker = User.objects.get(username="demo-gridworker")
    quarterly = next(d for d in visits.due_list(worker) if d.rule.code == "quarterly_visit")
    assert quarterly.total > 0 and 0 < quarterly.done <= quarterly.total
    # Last quarter is over: most households were visited, not all (diligence 70–98%).
    report = {r.rule.code: r for r in visits.coverage_report(demo.county)}
    last_quarter = report["quarterly_visit"].history[-2][1]
    assert 70 <= last_quarter.percent < 100
    care = report["yearly_care"].total
    assert care.total > 0 and 0 < care.covered < care.total


def test_the_command_centre_rollup_is_built_and_agrees_with_live_counting(demo, db):
    from django.utils import timezone

    from wangge.dashboard.figures import unit_figures
    from wangge.dashboard.models import DailyCounts, RollupState

    today = timezone.localdate()
    assert "daily rollup cells" in demo.output
    assert RollupState.complete_before_day() == today and DailyCounts.objects.exists()
    township = next(u for u in demo.units if u.depth == 2)
    first = today - timezone.timedelta(days=200)
    rolled = unit_figures([demo.county, township], first, today, today=today)
    live = unit_figures([demo.county, township], first, today, today=today, use_rollup=False)
    for unit in (demo.county, township):
        assert rolled[unit].counts == live[unit].counts
    assert rolled[demo.county].registered > rolled[township].registered > 0
