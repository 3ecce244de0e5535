import json

import pytest
from django.urls import reverse

from wangge.core.testing import box
from wangge.units import urls as unit_urls
from wangge.units.models import Unit

# Every route of the unit pages takes a unit code; the scope matrix below walks all of them, so a new
# route cannot escape the scope rule unnoticed.
READ_ROUTES = ["detail", "geojson", "export", "check"]
WRITE_ROUTES = ["create", "edit", "redraw", "move", "split", "merge", "retire"]


def test_the_scope_matrix_covers_every_unit_route():
    assert {p.name for p in unit_urls.urlpatterns} == set(READ_ROUTES + WRITE_ROUTES)


@pytest.mark.parametrize("route", READ_ROUTES + WRITE_ROUTES)
def test_it_answers_404_for_another_villages_unit_by_every_route(county, login, route):
    client = login(county.users.village_a)
    response = client.get(reverse(f"units:{route}", args=[county.grid_b1.code]))
    assert response.status_code == 404


@pytest.mark.parametrize("route", READ_ROUTES + WRITE_ROUTES)
def test_a_missing_code_looks_the_same_as_a_forbidden_one(county, login, route):
    client = login(county.users.village_a)
    assert client.get(reverse(f"units:{route}", args=["999999"])).status_code == 404


@pytest.mark.parametrize("route", READ_ROUTES)
def test_a_village_admin_reads_their_own_grid_by_every_route(county, login, route):
    client = login(county.users.village_a)
    assert client.get(reverse(f"units:{route}", args=[county.grid_a1.code])).status_code == 200


@pytest.mark.parametrize("route", READ_ROUTES + WRITE_ROUTES)
def test_a_user_without_a_post_is_refused(county, login, route):
    client = login(county.users.outsider)
    assert client.get(reverse(f"units:{route}", args=[county.grid_a1.code])).status_code == 403


@pytest.mark.parametrize("route", READ_ROUTES + WRITE_ROUTES)
def test_anonymous_visitors_are_sent_to_sign_in(county, client, route):
    response = client.get(reverse(f"units:{route}", args=[county.grid_a1.code]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("route", ["edit", "redraw", "move", "split", "retire"])
def test_a_grid_worker_may_look_but_not_change(county, login, route):
    client = login(county.users.grid_worker)
    assert client.get(reverse("units:detail", args=[county.cell_a11.code])).status_code == 200
    assert client.get(reverse(f"units:{route}", args=[county.cell_a11.code])).status_code == 403


def test_a_grid_worker_sees_only_their_grid(county, login):
    client = login(county.users.grid_worker)
    assert client.get(reverse("units:detail", args=[county.cell_a12.code])).status_code == 404
    assert client.get(reverse("units:detail", args=[county.village_a.code])).status_code == 404


def test_the_unit_page_shows_breadcrumbs_children_and_staff(county, login):
    client = login(county.users.village_a)
    page = client.get(reverse("units:detail", args=[county.grid_a1.code])).content.decode()
    assert "测试县" in page and "甲镇" in page  # ancestors, shown as names above one's scope
    assert f'href="/units/{county.village_a.code}/"' in page  # one's own village is a link
    assert f'href="/units/{county.town_a.code}/"' not in page  # the township above is not
    assert "一格" in page and "二格" in page
    assert "grid_leader" in page


def test_the_map_data_holds_the_unit_and_its_children(county, login):
    client = login(county.users.village_a)
    data = client.get(reverse("units:geojson", args=[county.grid_a1.code])).json()
    roles = {f["properties"]["code"]: f["properties"]["role"] for f in data["features"]}
    assert roles == {
        county.grid_a1.code: "self",
        county.cell_a11.code: "child",
        county.cell_a12.code: "child",
    }


def test_the_export_lists_the_subtree_with_household_counts(county_with_households, login):
    c = county_with_households
    client = login(c.users.village_a)
    body = client.get(reverse("units:export", args=[c.grid_a1.code])).content.decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert len(lines) == 4  # header, the grid and its two cells
    assert f"{c.cell_a11.code},一格" in body
    assert c.grid_b1.code not in body


def test_the_home_page_sends_a_user_to_their_unit(county, login):
    response = login(county.users.village_a).get("/")
    assert response.status_code == 302
    assert response["Location"] == county.village_a.get_absolute_url()


def test_a_user_without_posts_is_told_why_they_see_nothing(county, login):
    response = login(county.users.outsider).get("/")
    assert response.status_code == 403
    assert "岗位" in response.content.decode() or "post" in response.content.decode()


def test_creating_a_grid_from_the_unit_page(county, login):
    client = login(county.users.village_a)
    response = client.post(
        reverse("units:create", args=[county.village_a.code]),
        {
            "level": county.levels["grid3"].pk,
            "name": "三组",
            "code": "",
            "kind": "comprehensive",
            "dedicated_type": "",
            "area_type": "rural",
            "geometry": "",
        },
    )
    created = Unit.objects.get(name="三组")
    assert response.status_code == 302
    assert created.code == "500229100001003"
    assert created.parent_unit() == county.village_a


def test_a_bad_code_is_shown_on_the_code_field(county, login):
    client = login(county.users.village_a)
    response = client.post(
        reverse("units:create", args=[county.village_a.code]),
        {
            "level": county.levels["grid3"].pk,
            "name": "三组",
            "code": "12AB",
            "kind": "comprehensive",
            "area_type": "rural",
        },
    )
    assert response.status_code == 200
    assert "code" in response.context["form"].errors
    assert not Unit.objects.filter(name="三组").exists()


def test_a_malformed_boundary_names_the_field(county, login):
    client = login(county.users.village_a)
    response = client.post(reverse("units:redraw", args=[county.grid_a1.code]), {"geometry": "{not json"})
    assert "geometry" in response.context["form"].errors


def test_splitting_from_the_unit_page(county_with_households, login):
    c = county_with_households
    client = login(c.users.village_b)
    response = client.post(
        reverse("units:split", args=[c.grid_b1.code]),
        {
            "parts-TOTAL_FORMS": "2",
            "parts-INITIAL_FORMS": "0",
            "parts-MIN_NUM_FORMS": "2",
            "parts-MAX_NUM_FORMS": "12",
            "parts-0-name": "西片",
            "parts-0-geometry": json.dumps(box(108.2, 31.0, 108.3, 31.2)),
            "parts-1-name": "东片",
            "parts-1-geometry": json.dumps(box(108.3, 31.0, 108.4, 31.2)),
        },
    )
    assert response.status_code == 302
    assert set(c.village_b.children().current().values_list("name", flat=True)) == {"西片", "东片"}


def test_moving_to_a_unit_outside_ones_scope_is_refused_on_the_form(county, login):
    client = login(county.users.village_a)
    response = client.post(
        reverse("units:move", args=[county.grid_a1.code]), {"parent_code": county.village_b.code}
    )
    assert response.status_code == 200
    assert "parent_code" in response.context["form"].errors
    assert Unit.objects.get(pk=county.grid_a1.pk).parent_unit() == county.village_a


def test_the_unit_page_query_count_does_not_grow_with_children(county, login, django_assert_max_num_queries):
    client = login(county.users.county)
    with django_assert_max_num_queries(16):
        client.get(reverse("units:detail", args=[county.village_a.code]))
