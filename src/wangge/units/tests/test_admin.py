"""The admin follows the same scope: out of scope is 404, no manager post is no admin at all."""

from django.urls import reverse


def test_a_village_admin_gets_404_for_another_villages_unit_in_the_admin(county, login):
    client = login(county.users.village_a)
    assert client.get(reverse("admin:units_unit_change", args=[county.grid_b1.pk])).status_code == 404
    assert client.get(reverse("admin:units_unit_change", args=[county.grid_a1.pk])).status_code == 200


def test_the_admin_list_shows_only_units_in_scope(county, login):
    client = login(county.users.village_a)
    page = client.get(reverse("admin:units_unit_changelist")).content.decode()
    assert county.grid_a1.code in page
    assert county.grid_b1.code not in page
    assert county.town_b.code not in page


def test_a_grid_worker_cannot_enter_the_admin(county, login):
    response = login(county.users.grid_worker).get(reverse("admin:index"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_only_system_administrators_edit_the_level_scheme(county, login):
    assert login(county.users.village_a).get(reverse("admin:units_unitlevel_changelist")).status_code == 403
    assert login(county.users.sysadmin).get(reverse("admin:units_unitlevel_changelist")).status_code == 200


def new_grid_form(parent, level, name):
    return {
        "parent": parent.pk,
        "name": name,
        "code": "",
        "level": level.pk,
        "kind": "comprehensive",
        "dedicated_type": "",
        "area_type": "rural",
        "effective_from": "2026-01-01",
        "description": "",
        "geometry": "",
    }


def test_creating_a_unit_in_the_admin_goes_through_the_code_rule(county, login):
    client = login(county.users.village_a)
    response = client.post(
        reverse("admin:units_unit_add"), new_grid_form(county.village_a, county.levels["grid3"], "三组")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert county.village_a.children().filter(name="三组", code="500229100001003").exists()


def test_the_admin_refuses_a_grid_under_a_township(county, login):
    client = login(county.users.sysadmin)
    response = client.post(
        reverse("admin:units_unit_add"), new_grid_form(county.town_a, county.levels["grid3"], "错挂")
    )
    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors


def test_units_cannot_be_deleted_in_the_admin_only_retired(county, login):
    client = login(county.users.sysadmin)
    assert client.get(reverse("admin:units_unit_delete", args=[county.grid_a1.pk])).status_code == 403


def test_the_admin_sign_in_page_opens_for_anonymous_visitors(client, db):
    assert client.get(reverse("admin:login")).status_code == 200
    assert client.get(reverse("admin:index")).status_code == 302
