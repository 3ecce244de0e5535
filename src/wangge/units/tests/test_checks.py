"""The grid checker (GRID-3, GRID-4, GRID-5): each kind of fault crafted on the test county.

The services refuse most bad data, so the faults are written straight into the tables with the ORM.
"""

import datetime
import json
from io import StringIO

import pytest
import shapely
from django.core.management import CommandError, call_command
from django.utils import translation

from wangge.core.testing import box
from wangge.ledger.models import Household
from wangge.units import geometry as geo
from wangge.units import services
from wangge.units.checks import Violation, ViolationKind, check_subtree
from wangge.units.models import HouseholdStandard, Unit

SINCE = datetime.date(2020, 1, 1)


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English; the catalogue may translate them into Chinese."""
    with translation.override("en"):
        yield


@pytest.fixture
def clean(county_with_households):
    """The test county with 40 households per lowest grid and nothing wrong.

    The three 三级 grids without 四级 cells hold 40 households, below the rural 三级 standard of 60–250,
    so each gets its own minimum of 30 (GRID-3 allows a per-unit override).
    """
    c = county_with_households
    Unit.objects.filter(pk__in=[c.grid_a2.pk, c.grid_a2_only.pk, c.grid_b1.pk]).update(min_households=30)
    return c


def set_geometry(unit, geometry):
    Unit.objects.filter(pk=unit.pk).update(geometry=geometry)


def polygon(*geoms) -> dict:
    """The union of several GeoJSON boxes, as one GeoJSON polygon."""
    return geo.to_geojson(shapely.union_all([geo.to_shape(g) for g in geoms]))


def kinds(violations):
    return {v.kind for v in violations}


def only(violations, kind):
    return [v for v in violations if v.kind == kind]


def test_a_clean_county_has_no_violations(clean):
    """GRID-3, GRID-4, GRID-5: the crafted county is fully covered, without overlap, codes in order."""
    assert check_subtree(clean.county) == []


def test_an_empty_county_reports_only_grids_below_their_standard(county):
    """GRID-3: with no households every comprehensive grid is below its minimum; the rest is clean."""
    found = check_subtree(county.county)
    assert kinds(found) == {ViolationKind.HOUSEHOLD_STANDARD}
    assert {v.unit_code for v in found} == {
        u.code
        for u in (
            county.grid_a1,
            county.grid_a2,
            county.cell_a11,
            county.cell_a12,
            county.grid_a2_only,
            county.grid_b1,
        )
    }


def test_it_reports_a_child_reaching_outside_its_parent(clean):
    """GRID-4: 二格 is pushed 0.01° south, outside 一组 (and the whole county)."""
    set_geometry(clean.cell_a12, box(108.05, 30.99, 108.1, 31.1))
    [violation] = check_subtree(clean.county)
    assert violation.kind == ViolationKind.OUTSIDE_PARENT
    assert violation.unit_code == clean.cell_a12.code
    assert violation.other_code == clean.grid_a1.code
    expected = geo.area_m2(geo.to_shape(box(108.05, 30.99, 108.1, 31.0)))
    assert violation.measure == pytest.approx(expected, rel=1e-6)
    assert f"{expected:.0f} m²" in violation.message


def test_it_reports_two_overlapping_siblings(clean):
    """GRID-4: 一格 reaches into the north of 二格, where no household lives."""
    set_geometry(clean.cell_a11, polygon(box(108.0, 31.0, 108.05, 31.1), box(108.05, 31.06, 108.06, 31.1)))
    [violation] = check_subtree(clean.county)
    assert violation.kind == ViolationKind.SIBLING_OVERLAP
    assert violation.unit_code == clean.cell_a11.code
    assert violation.other_code == clean.cell_a12.code
    expected = geo.area_m2(geo.to_shape(box(108.05, 31.06, 108.06, 31.1)))
    # The overlap also holds the shared edge below the notch, which shifts the latitude of the local
    # projection a little.
    assert violation.measure == pytest.approx(expected, rel=1e-3)


def test_siblings_sharing_only_an_edge_do_not_overlap(clean):
    """GRID-4: the crafted grids all share edges; touching is not overlapping."""
    assert only(check_subtree(clean.county), ViolationKind.SIBLING_OVERLAP) == []


def test_an_overlap_within_the_tolerance_is_ignored(clean):
    """GRID-4: a sliver smaller than the tolerance is rounding, not a fault."""
    set_geometry(clean.cell_a11, polygon(box(108.0, 31.0, 108.05, 31.1), box(108.05, 31.06, 108.06, 31.1)))
    area = check_subtree(clean.county)[0].measure
    assert check_subtree(clean.county, tolerance_m2=area + 1) == []


def test_it_reports_a_parent_its_children_leave_uncovered(clean):
    """GRID-4 (无盲区): 二格 shrinks away from the north edge of 一组."""
    set_geometry(clean.cell_a12, box(108.05, 31.0, 108.1, 31.09))
    [violation] = check_subtree(clean.county)
    assert violation.kind == ViolationKind.PARENT_NOT_COVERED
    assert violation.unit_code == clean.grid_a1.code
    expected = geo.area_m2(geo.to_shape(box(108.05, 31.09, 108.1, 31.1)))
    assert violation.measure == pytest.approx(expected, rel=1e-6)
    assert "5.0%" in violation.message  # a twentieth of 一组


def test_a_unit_without_children_is_not_uncovered(clean):
    """GRID-4: a lowest grid has no children to cover it."""
    assert only(check_subtree(clean.county), ViolationKind.PARENT_NOT_COVERED) == []


def add_household(number, grid, lng, lat):
    return Household.objects.create(number=number, grid=grid, address=number, lng=lng, lat=lat)


def test_it_reports_a_household_attached_to_a_division(clean):
    """GRID-4: a household must belong to a grid, not to a village."""
    add_household("H-VILLAGE", clean.village_a, 108.02, 31.05)
    [violation] = check_subtree(clean.county)
    assert violation.kind == ViolationKind.HOUSEHOLD_NO_GRID
    assert violation.unit_code == clean.village_a.code
    assert violation.other_code == "H-VILLAGE"
    assert "not a grid" in violation.message


def test_it_reports_a_household_attached_to_a_grid_that_has_grid_children(clean):
    """GRID-4: 一组 is divided into 四级 cells, so its households belong in a cell."""
    add_household("H-PARENT", clean.grid_a1, 108.02, 31.05)
    [violation] = check_subtree(clean.county)
    assert (violation.kind, violation.unit_code, violation.other_code) == (
        ViolationKind.HOUSEHOLD_NO_GRID,
        clean.grid_a1.code,
        "H-PARENT",
    )


def test_it_reports_a_household_attached_to_a_retired_grid(clean):
    """GRID-4: a household left on a retired grid is in no grid that is in force."""
    old = services.create_unit(
        parent=clean.village_b, level=clean.levels["grid3"], name="旧网格", effective_from=SINCE
    )
    services.retire_unit(old, on=datetime.date(2024, 1, 1))
    add_household("H-RETIRED", old, None, None)
    [violation] = check_subtree(clean.county)
    assert (violation.kind, violation.unit_code, violation.other_code) == (
        ViolationKind.HOUSEHOLD_NO_GRID,
        old.code,
        "H-RETIRED",
    )
    assert "not in force" in violation.message


def test_it_reports_a_household_without_grid_inside_the_county(clean):
    """GRID-4 (无盲区): a household with no grid but a point in the county is reported at the root."""
    add_household("H-NONE", None, 108.3, 31.1)
    add_household("H-FAR-AWAY", None, 110.0, 35.0)
    add_household("H-NO-POINT", None, None, None)
    [violation] = check_subtree(clean.county)
    assert (violation.kind, violation.unit_code, violation.other_code) == (
        ViolationKind.HOUSEHOLD_NO_GRID,
        clean.county.code,
        "H-NONE",
    )
    assert check_subtree(clean.village_a) == []


def test_it_reports_a_household_whose_point_lies_in_no_grid(clean):
    """GRID-4: a household of 一格 whose point lies west of the county."""
    Household.objects.filter(number=f"{clean.cell_a11.code}001").update(lng=107.9)
    [violation] = check_subtree(clean.county)
    assert (violation.kind, violation.unit_code, violation.other_code) == (
        ViolationKind.HOUSEHOLD_NO_GRID,
        clean.cell_a11.code,
        f"{clean.cell_a11.code}001",
    )


def test_it_reports_households_inside_two_overlapping_grids(clean):
    """GRID-4: 一格 grows over the western fifth of 二格, where 8 of its households live."""
    set_geometry(clean.cell_a11, box(108.0, 31.0, 108.06, 31.1))
    found = check_subtree(clean.county)
    assert kinds(found) == {ViolationKind.SIBLING_OVERLAP, ViolationKind.HOUSEHOLD_TWO_GRIDS}
    doubled = only(found, ViolationKind.HOUSEHOLD_TWO_GRIDS)
    assert len(doubled) == 8
    assert {v.unit_code for v in doubled} == {clean.cell_a12.code}
    assert all(clean.cell_a11.code in v.message for v in doubled)


def test_a_household_on_the_edge_between_two_grids_is_in_neither_twice(clean):
    """GRID-4: a point on a shared edge is covered by both grids but inside neither."""
    add_household("H-EDGE", clean.cell_a11, 108.05, 31.05)
    assert check_subtree(clean.county) == []


def test_it_reports_a_household_outside_its_grid_naming_where_it_lies(clean):
    """GRID-4: a household of 一格 whose point lies in 二格."""
    Household.objects.filter(number=f"{clean.cell_a11.code}001").update(lng=108.07)
    [violation] = check_subtree(clean.county)
    assert violation.kind == ViolationKind.HOUSEHOLD_OUTSIDE_GRID
    assert violation.unit_code == clean.cell_a11.code
    assert violation.other_code == f"{clean.cell_a11.code}001"
    assert clean.cell_a12.code in violation.message


def test_it_reports_a_grid_below_its_household_standard(clean):
    """GRID-3: 一格 keeps 25 households, under the rural 四级 minimum of 30."""
    Household.objects.filter(grid=clean.cell_a11, number__gt=f"{clean.cell_a11.code}025").delete()
    [violation] = check_subtree(clean.county)
    assert violation.kind == ViolationKind.HOUSEHOLD_STANDARD
    assert violation.unit_code == clean.cell_a11.code
    assert violation.measure == 25
    assert "25" in violation.message
    assert "30–50" in violation.message


def test_a_parent_grid_counts_the_households_of_its_whole_subtree(clean):
    """GRID-3: 一组 holds no household itself but 80 in its cells; a maximum of 79 is exceeded."""
    Unit.objects.filter(pk=clean.grid_a1.pk).update(max_households=79)
    [violation] = check_subtree(clean.county)
    assert (violation.kind, violation.unit_code, violation.measure) == (
        ViolationKind.HOUSEHOLD_STANDARD,
        clean.grid_a1.code,
        80,
    )
    assert "60–79" in violation.message


def test_a_unit_override_replaces_the_standard(clean):
    """GRID-3: 二格's own maximum of 39 wins over the 30–50 standard of its level."""
    Unit.objects.filter(pk=clean.cell_a12.pk).update(max_households=39)
    [violation] = check_subtree(clean.county)
    assert (violation.kind, violation.unit_code, violation.measure) == (
        ViolationKind.HOUSEHOLD_STANDARD,
        clean.cell_a12.code,
        40,
    )


def test_dedicated_grids_and_grids_without_a_standard_are_exempt(clean):
    """GRID-3: the standard applies to comprehensive grids of a level and area type that has one."""
    Unit.objects.filter(pk=clean.grid_b1.pk).update(kind="dedicated", dedicated_type="market")
    Unit.objects.filter(pk__in=[clean.grid_b1.pk, clean.grid_a2_only.pk]).update(min_households=None)
    HouseholdStandard.objects.filter(level=clean.levels["grid3"], area_type="rural").delete()
    assert check_subtree(clean.county) == []


def test_it_reports_a_code_with_other_characters_than_digits(clean):
    """GRID-5: a code is digits only."""
    Unit.objects.filter(pk=clean.cell_a12.pk).update(code="500229100001001X2")
    [violation] = check_subtree(clean.county)
    assert (violation.kind, violation.unit_code) == (ViolationKind.CODE_RULE, "500229100001001X2")
    assert "digits" in violation.message


def test_it_reports_a_code_of_the_wrong_length(clean):
    """GRID-5: a 四级 code is its 三级 parent's 15 digits plus 2."""
    Unit.objects.filter(pk=clean.cell_a12.pk).update(code="500229100001001002")
    [violation] = check_subtree(clean.county)
    assert (violation.kind, violation.unit_code, violation.measure) == (
        ViolationKind.CODE_RULE,
        "500229100001001002",
        18,
    )
    assert "17" in violation.message


def test_a_moved_unit_keeps_its_code_without_a_violation(clean):
    """GRID-5: codes are stable, so a grid moved to another village keeps its (now foreign) prefix."""
    services.move_unit(clean.grid_a2, clean.village_a2)
    moved = Unit.objects.get(pk=clean.grid_a2.pk)
    assert moved.code == "500229100001002"
    assert only(check_subtree(clean.county), ViolationKind.CODE_RULE) == []


def test_it_reports_a_grid_hanging_directly_under_a_township(clean):
    """GRID-5 and GRID-1: a 三级网格 belongs under a village; old data may hang one under a township."""
    stray = Unit.objects.add_child(
        Unit.objects.get(pk=clean.town_a.pk),
        instance=Unit(
            name="错挂网格",
            code="500229100009",
            level=clean.levels["grid3"],
            kind="comprehensive",
            effective_from=SINCE,
            min_households=0,
        ),
    )
    [violation] = check_subtree(clean.county)
    assert (violation.kind, violation.unit_code, violation.other_code) == (
        ViolationKind.CODE_RULE,
        stray.code,
        clean.town_a.code,
    )
    assert "村/社区" in violation.message


def test_a_retired_grid_is_ignored_but_counts_on_a_date_it_was_in_force(clean):
    """GRID-4: only units in force on the day are checked; history keeps the old faults."""
    old = services.create_unit(
        parent=clean.village_b,
        level=clean.levels["grid3"],
        name="旧网格",
        geometry=box(108.2, 31.0, 108.3, 31.2),
        effective_from=SINCE,
    )
    services.retire_unit(old, on=datetime.date(2024, 1, 1))
    Unit.objects.filter(pk=old.pk).update(code="OLD")
    assert check_subtree(clean.county) == []
    then = check_subtree(clean.county, on=datetime.date(2023, 6, 1))
    overlaps = only(then, ViolationKind.SIBLING_OVERLAP)
    assert [(v.unit_code, v.other_code) for v in overlaps] == [(clean.grid_b1.code, "OLD")]
    assert "OLD" in {v.unit_code for v in only(then, ViolationKind.CODE_RULE)}


def test_checking_a_subtree_sees_only_its_units(clean):
    """GRID-4: a fault in 乙镇 is not reported when checking 甲镇."""
    set_geometry(clean.grid_b1, box(108.2, 31.0, 108.4, 31.19))
    assert check_subtree(clean.town_a) == []
    assert kinds(check_subtree(clean.town_b)) == {ViolationKind.PARENT_NOT_COVERED}


def test_checking_a_unit_measures_it_against_its_own_parent(clean):
    """GRID-4: the root of a check is a child too; its overhang shows when checking it alone."""
    set_geometry(clean.village_b, box(108.2, 31.0, 108.41, 31.2))
    found = check_subtree(clean.village_b)
    # Its one grid no longer covers the widened village either.
    assert [(v.kind, v.unit_code, v.other_code) for v in found] == [
        (ViolationKind.OUTSIDE_PARENT, clean.village_b.code, clean.town_b.code),
        (ViolationKind.PARENT_NOT_COVERED, clean.village_b.code, None),
    ]


def test_a_retired_root_has_nothing_to_check(clean):
    """GRID-4: a unit out of force on the day has no current subtree to check."""
    Unit.objects.filter(pk=clean.grid_b1.pk).update(effective_to=datetime.date(2021, 1, 1))
    assert check_subtree(clean.grid_b1) == []


def test_a_self_crossing_boundary_in_old_data_does_not_stop_the_check(clean):
    """GRID-4: services refuse such a boundary, but the admin or an import may have stored one."""
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[108.05, 31.0], [108.1, 31.1], [108.1, 31.0], [108.05, 31.1], [108.05, 31.0]]],
    }
    set_geometry(clean.cell_a12, bowtie)
    found = check_subtree(clean.county)
    assert clean.grid_a1.code in {v.unit_code for v in only(found, ViolationKind.PARENT_NOT_COVERED)}


def test_violations_are_sorted_by_kind_then_tree_position(clean):
    """GRID-3, GRID-5: the report is stable: by kind, then by place in the tree."""
    Unit.objects.filter(pk=clean.cell_a12.pk).update(code="X")
    Unit.objects.filter(pk=clean.cell_a11.pk).update(max_households=1)
    Unit.objects.filter(pk=clean.grid_b1.pk).update(max_households=1)
    found = check_subtree(clean.county)
    assert [(v.kind, v.unit_code) for v in found] == [
        (ViolationKind.HOUSEHOLD_STANDARD, clean.cell_a11.code),
        (ViolationKind.HOUSEHOLD_STANDARD, clean.grid_b1.code),
        (ViolationKind.CODE_RULE, "X"),
        (ViolationKind.CODE_RULE, "X"),
    ]


def test_the_check_reads_a_bounded_number_of_queries(clean, django_assert_max_num_queries):
    """Performance: units, households, levels and standards each in one query, whatever the size."""
    with django_assert_max_num_queries(8):
        check_subtree(clean.county)


# --- the command ------------------------------------------------------------------------------------


def run(*args):
    """Run the command; returns (exit status, output)."""
    out = StringIO()
    try:
        call_command("check_grids", *args, stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


def test_the_command_exits_0_on_a_clean_net(clean):
    """GRID-4: `wangge check-grids` with no code checks every top-level unit."""
    services.create_unit(
        parent=None, level=clean.levels["county"], name="邻县", code="500230", effective_from=SINCE
    )
    status, output = run()
    assert status == 0
    assert "500229" in output
    assert "500230" in output
    assert "No violations" in output


def test_the_command_exits_1_and_lists_each_violation_with_a_summary(clean):
    """GRID-4: one line per violation, then a count by kind."""
    set_geometry(clean.cell_a12, box(108.05, 31.0, 108.1, 31.09))
    Unit.objects.filter(pk=clean.cell_a11.pk).update(max_households=1)
    status, output = run(clean.county.code)
    assert status == 1
    lines = output.splitlines()
    assert any(
        clean.grid_a1.code in line and str(ViolationKind.PARENT_NOT_COVERED.label) in line for line in lines
    )
    assert any(clean.cell_a11.code in line and "Holds 40 households" in line for line in lines)
    assert "2 violations found" in output
    assert f"{ViolationKind.HOUSEHOLD_STANDARD.label}: 1" in output


def test_the_command_checks_only_the_named_subtree(clean):
    """GRID-3: `wangge check-grids 500229100` checks 甲镇 alone."""
    Unit.objects.filter(pk=clean.grid_b1.pk).update(max_households=1)
    assert run(clean.town_a.code)[0] == 0
    assert run(clean.town_b.code)[0] == 1


def test_the_command_refuses_an_unknown_code(clean):
    """GRID-5: the code names the unit; an unknown one is an error that says which."""
    with pytest.raises(CommandError, match="999999") as err:
        call_command("check_grids", "999999", stdout=StringIO())
    assert err.value.returncode == 2  # "could not check", apart from 1 for "found violations"


def test_the_command_refuses_a_malformed_date(clean):
    """GRID-4: --date takes YYYY-MM-DD."""
    with pytest.raises(CommandError):
        call_command("check_grids", "--date", "2024-13-01", stdout=StringIO())


def test_the_command_takes_a_date_and_a_tolerance(clean):
    """GRID-4: a retired overlapping grid counts only on a date it was in force; the tolerance applies."""
    old = services.create_unit(
        parent=clean.village_b,
        level=clean.levels["grid3"],
        name="旧网格",
        geometry=box(108.2, 31.0, 108.3, 31.2),
        effective_from=SINCE,
        kind="dedicated",
        dedicated_type="market",
    )
    services.retire_unit(old, on=datetime.date(2024, 1, 1))
    assert run()[0] == 0
    status, output = run("--date", "2023-06-01", "--format", "json")
    assert status == 1
    assert ViolationKind.SIBLING_OVERLAP.value in {v["kind"] for v in json.loads(output)}
    set_geometry(clean.cell_a12, box(108.05, 31.0, 108.1, 31.09))
    assert run("--tolerance", "1e12")[0] == 0


def test_the_command_prints_json(clean):
    """GRID-4: --format json lists each violation as an object."""
    Household.objects.filter(number=f"{clean.cell_a11.code}001").update(lng=108.07)
    status, output = run(clean.county.code, "--format", "json")
    assert status == 1
    assert json.loads(output) == [
        {
            "kind": "household_outside_grid",
            "unit_code": clean.cell_a11.code,
            "unit_name": "一格",
            "message": f"Household {clean.cell_a11.code}001 lies outside its grid's boundary, "
            f"in 二格 ({clean.cell_a12.code}).",
            "other_code": f"{clean.cell_a11.code}001",
            "measure": None,
        }
    ]


def test_the_command_prints_an_empty_json_list_on_a_clean_net(clean):
    """GRID-4: a clean net in JSON is an empty list, with exit status 0."""
    status, output = run("--format", "json")
    assert (status, json.loads(output)) == (0, [])


def test_a_violation_serialises_to_the_documented_fields():
    """GRID-4: the JSON fields the command and the report page share."""
    violation = Violation(
        kind=ViolationKind.SIBLING_OVERLAP, unit_code="1", unit_name="a", message="m", other_code="2"
    )
    assert violation.as_dict() == {
        "kind": "sibling_overlap",
        "unit_code": "1",
        "unit_name": "a",
        "message": "m",
        "other_code": "2",
        "measure": None,
    }
