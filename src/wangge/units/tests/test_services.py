import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from wangge.core.models import ChangeLog
from wangge.core.testing import box
from wangge.ledger.models import Household
from wangge.units import services
from wangge.units.models import Unit, UnitLineage


def test_generated_codes_append_a_fixed_width_sequence_to_the_parent_code(county):
    """GRID-5: 12-digit village code + 3 digits for a 三级网格 + 2 for a 四级网格."""
    assert county.village_a.code == "500229100001"
    assert county.grid_a1.code == "500229100001001"
    assert county.grid_a2.code == "500229100001002"
    assert county.cell_a12.code == "50022910000100102"


def test_it_refuses_a_grid_directly_under_a_township(county):
    with pytest.raises(ValidationError) as err:
        services.create_unit(parent=county.town_a, level=county.levels["grid3"], name="错挂网格")
    assert "parent" in err.value.message_dict


def test_it_refuses_a_code_that_breaks_the_rule(county):
    with pytest.raises(ValidationError) as err:
        services.create_unit(
            parent=county.village_a, level=county.levels["grid3"], name="x", code="500229100001"
        )
    assert "code" in err.value.message_dict
    with pytest.raises(ValidationError):
        services.create_unit(
            parent=county.village_a, level=county.levels["grid3"], name="x", code="500229101001009"
        )


def test_a_retired_code_is_never_handed_out_again(county):
    grid = services.create_unit(parent=county.village_a, level=county.levels["grid3"], name="三组")
    services.retire_unit(grid)
    again = services.create_unit(parent=county.village_a, level=county.levels["grid3"], name="四组")
    assert grid.code == "500229100001003"
    assert again.code == "500229100001004"


def test_subtree_queries_go_by_path(county, django_assert_num_queries):
    with django_assert_num_queries(1):
        codes = set(Unit.objects.subtree(county.town_a).values_list("code", flat=True))
    assert county.cell_a11.code in codes
    assert county.village_b.code not in codes


def test_a_village_admin_may_change_only_below_their_village(county):
    admin = county.users.village_a
    services.update_unit(county.grid_a1, by=admin, name="一组（新）")
    with pytest.raises(PermissionDenied):
        services.update_unit(county.village_a, by=admin, name="改名")
    with pytest.raises(PermissionDenied):
        services.update_unit(county.grid_b1, by=admin, name="越权")
    with pytest.raises(PermissionDenied):
        services.update_unit(county.grid_a1, by=county.users.grid_worker, name="越权")


def test_edits_are_logged_with_before_and_after(county):
    services.update_unit(county.grid_a1, by=county.users.village_a, name="一组（新）")
    entry = ChangeLog.objects.filter(object_id=str(county.grid_a1.pk), action="update").get()
    assert entry.changes["name"] == ["一组", "一组（新）"]
    assert entry.user == county.users.village_a
    assert entry.acting_unit == county.village_a


def test_moving_a_unit_keeps_its_code_and_carries_its_subtree(county):
    moved = services.move_unit(county.grid_a1, county.village_a2, by=county.users.township_a)
    assert moved.code == "500229100001001"
    assert moved.parent_unit() == county.village_a2
    assert Unit.objects.get(pk=county.cell_a11.pk).path.startswith(moved.path)


def test_it_refuses_to_move_a_unit_out_of_the_actors_scope(county):
    with pytest.raises(PermissionDenied):
        services.move_unit(county.grid_a1, county.village_b, by=county.users.village_a)


def test_redrawing_keeps_the_old_boundary_with_dates(county):
    old = county.grid_a2_only.geometry
    services.redraw_boundary(
        county.grid_a2_only, box(108.1, 31.0, 108.2, 31.15), on=datetime.date(2026, 3, 1)
    )
    version = county.grid_a2_only.boundary_versions.get()
    assert version.geometry == old
    assert version.valid_to == datetime.date(2026, 3, 1)


def test_splitting_retires_the_old_grid_and_rehomes_households_by_point(county_with_households):
    c = county_with_households
    on = datetime.date(2026, 6, 1)
    west, east = services.split_unit(
        c.grid_b1,
        [
            {"name": "乙一村西", "geometry": box(108.2, 31.0, 108.3, 31.2)},
            {"name": "乙一村东", "geometry": box(108.3, 31.0, 108.4, 31.2)},
        ],
        by=c.users.village_b,
        on=on,
    )[0]
    old = Unit.objects.get(pk=c.grid_b1.pk)
    assert old.effective_to == on
    assert Household.objects.filter(grid=old).count() == 0
    assert Household.objects.filter(grid=west).count() == 20
    assert Household.objects.filter(grid=east).count() == 20
    assert set(UnitLineage.objects.filter(predecessor=old).values_list("successor__code", flat=True)) == {
        west.code,
        east.code,
    }
    assert old not in Unit.objects.current()


def test_a_split_must_cover_the_grid_without_overlap(county):
    with pytest.raises(ValidationError) as err:
        services.split_unit(
            county.grid_b1,
            [
                {"name": "西", "geometry": box(108.2, 31.0, 108.3, 31.2)},
                {"name": "东", "geometry": box(108.32, 31.0, 108.4, 31.2)},
            ],
        )
    assert "uncovered" in str(err.value) or "未覆盖" in str(err.value)
    assert Unit.objects.get(pk=county.grid_b1.pk).is_current


def test_merging_unions_boundaries_and_moves_children(county):
    merged, _ = services.merge_units(
        [county.cell_a11, county.cell_a12], name="合并格", by=county.users.village_a
    )
    assert merged.parent_unit() == county.grid_a1
    assert merged.code == "50022910000100103"
    assert services.geo.area_m2(services.geo.to_shape(merged.geometry)) == pytest.approx(
        services.geo.area_m2(services.geo.to_shape(county.grid_a1.geometry)), rel=1e-6
    )
    assert not Unit.objects.current().filter(pk__in=[county.cell_a11.pk, county.cell_a12.pk]).exists()


def test_merging_refuses_units_of_different_parents(county):
    with pytest.raises(ValidationError):
        services.merge_units([county.grid_a1, county.grid_b1], name="跨村")


def test_a_self_crossing_boundary_is_refused_with_the_field_named(county):
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    with pytest.raises(ValidationError) as err:
        services.redraw_boundary(county.grid_b1, bowtie)
    assert "geometry" in err.value.message_dict


def test_nothing_new_hangs_under_a_retired_unit(county):
    services.retire_unit(county.grid_a2)
    retired = Unit.objects.get(pk=county.grid_a2.pk)
    with pytest.raises(ValidationError) as err:
        services.create_unit(parent=retired, level=county.levels["grid4"], name="新格")
    assert "parent" in err.value.message_dict
    with pytest.raises(ValidationError):
        services.move_unit(county.cell_a12, retired)
