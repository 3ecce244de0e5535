import pytest
from django.urls import reverse

from wangge.api.tests.conftest import codes
from wangge.core.models import ChangeLog
from wangge.core.testing import box
from wangge.units import services
from wangge.units.models import Unit, UnitBoundaryVersion

UNITS = "/api/v1/units/"


def unit_url(code: str, suffix: str = "") -> str:
    return f"{UNITS}{code}/{suffix}"


# --- scope ------------------------------------------------------------------------------------------


def test_a_village_admin_lists_only_the_units_of_its_village(county, api):
    response = api(county.users.village_a).get(UNITS)
    assert response.status_code == 200
    assert codes(response) == {
        county.village_a.code,
        county.grid_a1.code,
        county.grid_a2.code,
        county.cell_a11.code,
        county.cell_a12.code,
    }
    assert response.json()["count"] == 5


def test_it_rejects_another_villages_unit_exactly_like_a_missing_code(county, api):
    client = api(county.users.village_a)
    assert client.get(unit_url(county.village_a.code)).status_code == 200
    other = client.get(unit_url(county.grid_b1.code))
    missing = client.get(unit_url("500229999999"))
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()


def test_a_grid_worker_sees_only_its_grid_cell(county, api):
    client = api(county.users.grid_worker)
    assert codes(client.get(UNITS)) == {county.cell_a11.code}
    assert client.get(unit_url(county.grid_a1.code)).status_code == 404
    assert client.get(unit_url(county.cell_a12.code)).status_code == 404


def test_a_user_without_a_post_is_refused_with_403(county, api):
    client = api(county.users.outsider)
    assert client.get(UNITS).status_code == 403
    assert client.get(unit_url(county.village_a.code)).status_code == 403


def test_an_anonymous_caller_gets_401_with_a_token_challenge(county, api):
    response = api().get(UNITS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_an_invalid_token_gets_401(county, api):
    client = api()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get(UNITS).status_code == 401


# --- representation ---------------------------------------------------------------------------------


def test_the_detail_shows_level_parent_standard_and_boundary(county, api):
    response = api(county.users.village_a).get(unit_url(county.cell_a11.code))
    assert response.status_code == 200
    data = response.json()
    assert data["code"] == county.cell_a11.code
    assert data["name"] == "一格"
    assert data["level"] == {"key": "grid4", "name": "四级网格"}
    assert data["kind"] == "comprehensive"
    assert data["dedicated_type"] == ""
    assert data["area_type"] == "rural"
    assert data["parent_code"] == county.grid_a1.code
    assert data["depth"] == 5
    assert data["effective_from"] == "2020-01-01"
    assert data["effective_to"] is None
    assert data["is_current"] is True
    assert data["household_standard"] == {"min_households": 30, "max_households": 50, "source": "standard"}
    assert data["geometry"] == box(108.0, 31.0, 108.05, 31.1)
    assert data["url"].endswith(unit_url(county.cell_a11.code))


def test_a_units_own_household_range_overrides_the_standard(county, api):
    services.update_unit(county.cell_a11, max_households=60)
    data = api(county.users.village_a).get(unit_url(county.cell_a11.code)).json()
    assert data["household_standard"] == {"min_households": 30, "max_households": 60, "source": "unit"}


def test_a_division_has_no_household_standard_and_the_root_no_parent(county, api):
    data = api(county.users.county).get(unit_url(county.county.code)).json()
    assert data["household_standard"] is None
    assert data["parent_code"] is None


def test_the_list_leaves_boundaries_out_unless_asked(county, api):
    client = api(county.users.village_a)
    plain = client.get(UNITS).json()["results"]
    assert all("geometry" not in item for item in plain)
    with_geometry = client.get(UNITS, {"geometry": "1"}).json()["results"]
    by_code = {item["code"]: item for item in with_geometry}
    assert by_code[county.grid_a1.code]["geometry"] == box(108.0, 31.0, 108.1, 31.1)


# --- filters ----------------------------------------------------------------------------------------


def test_it_filters_by_parent_level_kind_area_type_and_name(county, api):
    client = api(county.users.county)
    assert codes(client.get(UNITS, {"parent": county.town_a.code})) == {
        county.village_a.code,
        county.village_a2.code,
    }
    assert codes(client.get(UNITS, {"level": "grid3", "parent": county.village_a.code})) == {
        county.grid_a1.code,
        county.grid_a2.code,
    }
    assert client.get(UNITS, {"kind": "comprehensive"}).json()["count"] == 6
    assert client.get(UNITS, {"kind": "dedicated"}).json()["count"] == 0
    assert client.get(UNITS, {"area_type": "urban"}).json()["count"] == 0
    assert codes(client.get(UNITS, {"q": "乙"})) == {
        county.town_b.code,
        county.village_b.code,
        county.grid_b1.code,
    }


def test_the_parent_filter_gives_nothing_for_a_unit_outside_the_scope(county, api):
    client = api(county.users.village_a)
    assert client.get(UNITS, {"parent": county.village_b.code}).json()["count"] == 0
    assert client.get(UNITS, {"parent": county.town_a.code}).json()["count"] == 0


def test_retired_units_are_listed_only_on_request_but_stay_readable(county, api):
    grid = services.create_unit(parent=county.village_a, level=county.levels["grid3"], name="三组")
    services.retire_unit(grid)
    client = api(county.users.village_a)
    assert grid.code not in codes(client.get(UNITS))
    assert codes(client.get(UNITS, {"current": "false"})) == {grid.code}
    detail = client.get(unit_url(grid.code))
    assert detail.status_code == 200
    assert detail.json()["is_current"] is False


# --- create -----------------------------------------------------------------------------------------


def test_a_village_admin_creates_a_grid_under_its_village(county, api):
    response = api(county.users.village_a).post(
        UNITS,
        {"parent": county.village_a.code, "level": "grid3", "name": "三组", "geometry": None},
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["code"] == "500229100001003"
    assert data["parent_code"] == county.village_a.code
    assert data["kind"] == "comprehensive"
    assert response["Location"] == data["url"]
    unit = Unit.objects.get(code=data["code"])
    entry = ChangeLog.objects.get(object_id=str(unit.pk), action="create")
    assert entry.user == county.users.village_a


def test_creating_under_another_village_answers_404_naming_the_parent(county, api):
    response = api(county.users.village_a).post(
        UNITS, {"parent": county.village_b.code, "level": "grid3", "name": "越权"}, format="json"
    )
    assert response.status_code == 404
    assert "parent" in response.json()
    assert not Unit.objects.filter(name="越权").exists()


def test_creating_in_scope_without_the_right_answers_403(county, api):
    response = api(county.users.grid_leader).post(
        UNITS, {"parent": county.grid_a1.code, "level": "grid4", "name": "三格"}, format="json"
    )
    assert response.status_code == 403
    assert not Unit.objects.filter(name="三格").exists()


def test_a_bad_boundary_answers_400_naming_the_geometry_field(county, api):
    response = api(county.users.village_a).post(
        UNITS,
        {
            "parent": county.village_a.code,
            "level": "grid3",
            "name": "三组",
            "geometry": {"type": "Point", "coordinates": [108.0, 31.0]},
        },
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["geometry"]


def test_a_self_crossing_boundary_answers_400_naming_the_geometry_field(county, api):
    bow_tie = {
        "type": "Polygon",
        "coordinates": [[[108.0, 31.0], [108.1, 31.1], [108.1, 31.0], [108.0, 31.1], [108.0, 31.0]]],
    }
    response = api(county.users.village_a).patch(
        unit_url(county.grid_a1.code), {"geometry": bow_tie}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["geometry"]


def test_a_code_that_breaks_the_rule_answers_400_naming_the_code(county, api):
    response = api(county.users.village_a).post(
        UNITS,
        {"parent": county.village_a.code, "level": "grid3", "name": "三组", "code": "500229101001009"},
        format="json",
    )
    assert response.status_code == 400
    assert "code" in response.json()


def test_a_level_that_may_not_hang_there_answers_400_naming_the_parent(county, api):
    response = api(county.users.township_a).post(
        UNITS, {"parent": county.town_a.code, "level": "grid3", "name": "错挂"}, format="json"
    )
    assert response.status_code == 400
    assert "parent" in response.json()


def test_an_unknown_level_answers_400_naming_the_level(county, api):
    response = api(county.users.village_a).post(
        UNITS, {"parent": county.village_a.code, "level": "grid9", "name": "三组"}, format="json"
    )
    assert response.status_code == 400
    assert "level" in response.json()


# --- edit -------------------------------------------------------------------------------------------


def test_a_patch_renames_the_unit_and_logs_the_change(county, api):
    response = api(county.users.village_a).patch(
        unit_url(county.grid_a1.code), {"name": "一组（新）"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["name"] == "一组（新）"
    entry = ChangeLog.objects.get(object_id=str(county.grid_a1.pk), action="update")
    assert entry.changes["name"] == ["一组", "一组（新）"]
    assert entry.user == county.users.village_a


def test_a_patch_with_a_boundary_redraws_it_and_keeps_the_old_one(county, api):
    new = box(108.0, 31.0, 108.1, 31.12)
    response = api(county.users.village_a).patch(
        unit_url(county.grid_a1.code), {"geometry": new}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["geometry"] == new
    old = UnitBoundaryVersion.objects.get(unit=county.grid_a1)
    assert old.geometry == box(108.0, 31.0, 108.1, 31.1)
    assert ChangeLog.objects.filter(object_id=str(county.grid_a1.pk), action="redraw").exists()


def test_a_patch_is_all_or_nothing(county, api, monkeypatch):
    def fail(*args, **kwargs):
        from django.core.exceptions import ValidationError

        raise ValidationError({"geometry": "refused"})

    monkeypatch.setattr(services, "redraw_boundary", fail)
    response = api(county.users.village_a).patch(
        unit_url(county.grid_a1.code),
        {"name": "半途", "geometry": box(108.0, 31.0, 108.1, 31.12)},
        format="json",
    )
    assert response.status_code == 400
    assert Unit.objects.get(pk=county.grid_a1.pk).name == "一组"
    assert not ChangeLog.objects.filter(object_id=str(county.grid_a1.pk), action="update").exists()


def test_a_patch_refuses_fields_it_cannot_change(county, api):
    response = api(county.users.village_a).patch(
        unit_url(county.grid_a1.code), {"code": "500229100001009", "parent": county.village_a2.code}
    )
    assert response.status_code == 400
    assert set(response.json()) == {"code", "parent"}


def test_a_patch_that_breaks_a_model_rule_answers_400_naming_the_field(county, api):
    response = api(county.users.village_a).patch(
        unit_url(county.grid_a1.code), {"kind": "division"}, format="json"
    )
    assert response.status_code == 400
    assert "kind" in response.json()


def test_a_village_admin_may_not_edit_its_own_village(county, api):
    client = api(county.users.village_a)
    response = client.patch(unit_url(county.village_a.code), {"name": "改名"}, format="json")
    assert response.status_code == 403
    assert client.patch(unit_url(county.village_b.code), {"name": "越权"}).status_code == 404
    assert Unit.objects.get(pk=county.village_a.pk).name == "甲一村"


def test_an_empty_patch_is_still_permission_checked(county, api):
    response = api(county.users.grid_worker).patch(unit_url(county.cell_a11.code), {}, format="json")
    assert response.status_code == 403


# --- move -------------------------------------------------------------------------------------------


def test_a_township_admin_moves_a_grid_to_another_village(county, api):
    response = api(county.users.township_a).post(
        unit_url(county.grid_a1.code, "move/"), {"parent": county.village_a2.code}, format="json"
    )
    assert response.status_code == 200
    data = response.json()
    assert data["code"] == county.grid_a1.code
    assert data["parent_code"] == county.village_a2.code
    assert ChangeLog.objects.filter(object_id=str(county.grid_a1.pk), action="move").exists()


def test_moving_under_a_parent_outside_the_scope_answers_404(county, api):
    response = api(county.users.township_a).post(
        unit_url(county.grid_a1.code, "move/"), {"parent": county.village_b.code}, format="json"
    )
    assert response.status_code == 404
    assert "parent" in response.json()
    assert Unit.objects.get(pk=county.grid_a1.pk).path.startswith(county.village_a.path)


def test_moving_a_unit_below_itself_answers_400(county, api):
    response = api(county.users.township_a).post(
        unit_url(county.village_a.code, "move/"), {"parent": county.grid_a1.code}, format="json"
    )
    assert response.status_code == 400
    assert "parent" in response.json()


def test_moving_to_the_current_parent_changes_nothing(county, api):
    response = api(county.users.village_a).post(
        unit_url(county.grid_a1.code, "move/"), {"parent": county.village_a.code}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["parent_code"] == county.village_a.code
    assert not ChangeLog.objects.filter(object_id=str(county.grid_a1.pk), action="move").exists()


def test_moving_needs_the_right_to_manage_units(county, api):
    response = api(county.users.grid_leader).post(
        unit_url(county.cell_a11.code, "move/"), {"parent": county.grid_a1.code}, format="json"
    )
    assert response.status_code == 403


# --- GeoJSON ----------------------------------------------------------------------------------------


def test_the_children_geojson_is_a_feature_collection_of_current_children(county, api):
    retired = services.create_unit(parent=county.village_a, level=county.levels["grid3"], name="三组")
    services.retire_unit(retired)
    response = api(county.users.village_a).get(unit_url(county.village_a.code, "children/"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/geo+json")
    data = response.json()
    assert data["type"] == "FeatureCollection"
    features = {feature["id"]: feature for feature in data["features"]}
    assert set(features) == {county.grid_a1.code, county.grid_a2.code}
    first = features[county.grid_a1.code]
    assert first["type"] == "Feature"
    assert first["geometry"] == box(108.0, 31.0, 108.1, 31.1)
    assert first["properties"] == {
        "code": county.grid_a1.code,
        "name": "一组",
        "kind": "comprehensive",
        "level": "grid3",
        "level_name": "三级网格",
    }


def test_the_children_geojson_of_a_unit_outside_the_scope_is_404(county, api):
    response = api(county.users.village_a).get(unit_url(county.village_b.code, "children/"))
    assert response.status_code == 404


# --- query counts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "queries"),
    [
        # the caller's scope, the count, the page (parent codes by subquery), the household standards
        ({}, 4),
        ({"geometry": "1"}, 4),
        # … and the parent filter's own lookup
        ({"parent": "500229100001"}, 5),
    ],
)
def test_the_unit_list_takes_a_fixed_number_of_queries(
    county, api, django_assert_max_num_queries, params, queries
):
    for i in range(10):
        services.create_unit(parent=county.village_a, level=county.levels["grid3"], name=f"新{i}")
    client = api(county.users.county)
    with django_assert_max_num_queries(queries):
        response = client.get(UNITS, params)
    assert response.status_code == 200
    assert response.json()["count"] >= 10


def test_the_children_geojson_takes_a_fixed_number_of_queries(county, api, django_assert_max_num_queries):
    for i in range(10):
        services.create_unit(parent=county.village_a, level=county.levels["grid3"], name=f"新{i}")
    client = api(county.users.village_a)
    with django_assert_max_num_queries(3):
        response = client.get(unit_url(county.village_a.code, "children/"))
    assert len(response.json()["features"]) == 12


def test_unit_urls_are_built_from_the_code(county):
    assert reverse("api-v1:unit-detail", args=[county.village_a.code]) == unit_url(county.village_a.code)
