"""The ledger pages: who may open them, what each shows, and what the forms write (through the services)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from wangge.core.audit import record_change
from wangge.core.models import ChangeAction, ChangeLog, PersonalDataAccess
from wangge.core.pii import mask_id_number, mask_phone
from wangge.core.testing import make_user
from wangge.ledger import services, urls, views
from wangge.ledger.choices import HouseholdStatus, OrganisationKind, PlaceKind, Relation, ResidentStatus
from wangge.ledger.models import Household, Organisation, Place, Resident
from wangge.ledger.testing import make_id_number
from wangge.people.models import Post
from wangge.people.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(client):
    """The pages are asserted in English (the deployment's default language is Chinese)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def routes(ledger):
    """Every route served by ledger.views, with arguments naming a record of 一格 (A11-1 and its people)."""
    h = ledger.households.a11_1
    zhang = ledger.residents.zhang
    return {
        "index": [],
        "households": [],
        "household_new": [],
        "household": [h.number],
        "household_edit": [h.number],
        "household_move": [h.number],
        "household_close": [h.number],
        "resident_new": [h.number],
        "residents": [],
        "resident": [zhang.pk],
        "resident_edit": [zhang.pk],
        "resident_status": [zhang.pk],
        "places": [],
        "place_new": [],
        "place": [ledger.station.pk],
        "place_edit": [ledger.station.pk],
        "organisations": [],
        "organisation_new": [],
        "organisation": [ledger.branch.pk],
        "organisation_edit": [ledger.branch.pk],
        "catalogue": [],
    }


FORM_ROUTES = {
    "household_new",
    "household_edit",
    "household_move",
    "household_close",
    "resident_new",
    "resident_edit",
    "resident_status",
    "place_new",
    "place_edit",
    "organisation_new",
    "organisation_edit",
}
ROUTE_NAMES = sorted(
    {
        "index",
        "households",
        "household",
        "residents",
        "resident",
        "places",
        "place",
        "organisations",
        "organisation",
        "catalogue",
        *FORM_ROUTES,
    }
)
# POST-only steps, covered by test_review and the scope matrix.
ACTION_ROUTES = {"household_review"}
RECORD_ROUTES = [
    "household",
    "household_edit",
    "household_move",
    "household_close",
    "resident_new",
    "resident",
    "resident_edit",
    "resident_status",
]


def part_timer(county):
    """A part-time worker of 一格: may change the ledgers but sees ID numbers and phones masked."""
    return make_user("part_timer", (county.cell_a11, Role.GRID_WORKER_PART_TIME))


def url(ledger, name):
    return reverse(f"ledger:{name}", args=routes(ledger)[name])


def body(response) -> str:
    return response.content.decode()


def test_the_matrix_covers_every_route_of_the_ledger_pages():
    served = {p.name for p in urls.urlpatterns if p.callback.__module__ == views.__name__}
    assert served == set(ROUTE_NAMES) | ACTION_ROUTES


# --- permissions and scope --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ROUTE_NAMES)
def test_every_page_opens_for_a_village_admin_of_the_area(ledger, county, login, name):
    client = login(county.users.village_a)
    assert client.get(url(ledger, name)).status_code == 200


@pytest.mark.parametrize("name", ROUTE_NAMES)
def test_anonymous_visitors_are_sent_to_sign_in(ledger, client, name):
    response = client.get(url(ledger, name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ROUTE_NAMES)
@pytest.mark.parametrize("who", ["outsider", "department"])
def test_users_without_a_post_or_without_ledgers_are_refused(ledger, county, login, name, who):
    client = login(getattr(county.users, who))
    assert client.get(url(ledger, name)).status_code == 403


@pytest.mark.parametrize("name", sorted(FORM_ROUTES))
def test_a_role_that_may_only_look_gets_403_on_every_form(ledger, county, login, name):
    instructor = make_user("instructor", (county.village_a, Role.GRID_INSTRUCTOR))
    client = login(instructor)
    assert client.get(reverse("ledger:household", args=["A11-1"])).status_code == 200
    assert client.get(url(ledger, name)).status_code == 403
    assert client.post(url(ledger, name), {"address": "x"}).status_code == 403


@pytest.mark.parametrize("name", RECORD_ROUTES)
def test_another_villages_admin_gets_404_for_every_record_route(ledger, county, login, name):
    client = login(county.users.village_b)
    assert client.get(url(ledger, name)).status_code == 404


def test_the_grid_worker_sees_his_grid_and_who_is_registered_there(ledger, county, login):
    client = login(county.users.grid_worker)
    assert client.get(reverse("ledger:household", args=["A11-1"])).status_code == 200
    # B1-1 lives in 乙一村 but is registered in 一格: dual-grid management shows it to 一格's worker.
    page = client.get(reverse("ledger:household", args=["B1-1"]))
    assert page.status_code == 200
    assert "乙一村网格" in body(page) and "一格" in body(page)
    assert client.get(reverse("ledger:household", args=["A12-1"])).status_code == 404
    assert client.get(reverse("ledger:resident", args=[ledger.residents.zhao.pk])).status_code == 404
    listed = body(client.get(reverse("ledger:households")))
    assert "A11-1" in listed and "B1-1" in listed and "A12-1" not in listed


def test_village_b_sees_its_own_household_but_not_village_a(ledger, county, login):
    client = login(county.users.village_b)
    assert client.get(reverse("ledger:household", args=["B1-1"])).status_code == 200
    assert client.get(reverse("ledger:household", args=["A11-1"])).status_code == 404
    assert client.get(reverse("ledger:place", args=[ledger.station.pk])).status_code == 404
    assert client.get(reverse("ledger:organisation", args=[ledger.branch.pk])).status_code == 404
    listed = body(client.get(reverse("ledger:residents")))
    assert "孙丽" in listed and "张伟" not in listed


def test_a_missing_household_looks_like_a_forbidden_one(ledger, county, login):
    client = login(county.users.village_a)
    assert client.get(reverse("ledger:household", args=["NO-SUCH"])).status_code == 404


# --- the index ---------------------------------------------------------------------------------------


def test_the_index_counts_what_the_user_may_see(ledger, county, login):
    page = body(login(county.users.grid_worker).get(reverse("ledger:index")))
    # 一格: A11-1, A11-2, plus B1-1 registered there; 5 people on the register; no places of its own.
    assert 'data-count="households"><span class="n">3</span>' in page
    assert 'data-count="residents"><span class="n">5</span>' in page
    assert 'data-count="places"><span class="n">0</span>' in page
    assert 'data-tag="dibao">低保<span class="n">1</span>' in page
    assert reverse("ledger:dossier", args=[county.cell_a11.code]) in page
    assert reverse("ledger:export", args=["residents", "xlsx"]) in page
    assert reverse("ledger:import") in page
    assert reverse("ledger:key_persons") in page


def test_the_index_of_a_village_counts_its_places_and_organisations(ledger, county, login):
    page = body(login(county.users.village_a).get(reverse("ledger:index")))
    assert 'data-count="households"><span class="n">4</span>' in page
    assert 'data-count="places"><span class="n">1</span>' in page
    assert 'data-count="organisations"><span class="n">1</span>' in page
    assert reverse("ledger:dossier", args=[county.village_a.code]) in page


def test_the_index_offers_import_only_to_those_who_may_change_the_ledgers(ledger, county, login):
    instructor = make_user("instructor", (county.village_a, Role.GRID_INSTRUCTOR))
    page = body(login(instructor).get(reverse("ledger:index")))
    assert reverse("ledger:import") not in page
    assert reverse("ledger:export", args=["households", "csv"]) in page


# --- households ---------------------------------------------------------------------------------------


def test_the_household_list_filters_by_unit_text_rental_and_status(ledger, county, login):
    client = login(county.users.village_a)
    listed = client.get(reverse("ledger:households"), {"unit": county.cell_a12.code})
    assert [h.number for h in listed.context["page"]] == ["A12-1"]
    listed = client.get(reverse("ledger:households"), {"q": "一格2"})
    assert [h.number for h in listed.context["page"]] == ["A11-2"]
    listed = client.get(reverse("ledger:households"), {"is_rental": "on"})
    assert [h.number for h in listed.context["page"]] == ["A11-2"]
    rows = {h.number: h.member_count for h in client.get(reverse("ledger:households")).context["page"]}
    assert rows == {"A11-1": 3, "A11-2": 1, "A12-1": 1, "B1-1": 1}


def unit_errors(response, code) -> list[str]:
    """The unit filter's errors, with the code typed taken out (so two codes' answers compare)."""
    return [e.replace(code, "<code>") for e in response.context["filter"].form.errors.get("unit", [])]


@pytest.mark.parametrize("route", ["households", "residents", "places", "organisations"])
def test_a_unit_code_outside_ones_area_is_answered_like_an_unknown_one(ledger, county, login, route):
    client = login(county.users.village_a)
    unknown = client.get(reverse(f"ledger:{route}"), {"unit": "123456789"})
    outside = client.get(reverse(f"ledger:{route}"), {"unit": county.grid_b1.code})
    assert list(unknown.context["page"]) == [] and list(outside.context["page"]) == []
    assert unit_errors(unknown, "123456789") == unit_errors(outside, county.grid_b1.code)
    assert len(unit_errors(outside, county.grid_b1.code)) == 1
    assert 'id="filter-errors"' in body(unknown) and 'id="filter-errors"' in body(outside)
    # The grid worker sees B1-1 (registered in his grid) but 乙一村's grid is not his area to filter by.
    worker = login(county.users.grid_worker)
    refused = worker.get(reverse(f"ledger:{route}"), {"unit": county.grid_b1.code})
    assert list(refused.context["page"]) == [] and unit_errors(refused, county.grid_b1.code)


def test_closed_households_leave_the_default_list_but_stay_findable(ledger, county, login):
    admin = county.users.sysadmin
    services.set_resident_status(ledger.residents.tenant, ResidentStatus.MOVED_OUT, by=admin)
    services.close_household(ledger.households.a11_2, by=admin)
    client = login(county.users.village_a)
    assert "A11-2" not in body(client.get(reverse("ledger:households")))
    assert "A11-2" in body(client.get(reverse("ledger:households"), {"status": "closed"}))
    assert "A11-2" in body(client.get(reverse("ledger:households"), {"status": "all"}))


def test_the_household_list_does_not_query_per_row(ledger, county, login):
    client = login(county.users.village_a)
    client.get(reverse("ledger:households"))  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("ledger:households"))
    for i in range(12):
        household = services.create_household(
            by=county.users.sysadmin, number=f"X{i}", grid=county.cell_a12, address=f"二格{i}号"
        )
        services.create_resident(by=county.users.sysadmin, household=household, name=f"人{i}")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("ledger:households"))
    assert len(many) == len(few)


def test_the_resident_list_does_not_query_per_row(ledger, county, login):
    client = login(county.users.village_a)
    client.get(reverse("ledger:residents"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("ledger:residents"))
    for i in range(12):
        services.create_resident(
            by=county.users.sysadmin,
            household=ledger.households.a12_1,
            name=f"人{i}",
            tags=[ledger.tags["veteran"]],
        )
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("ledger:residents"))
    assert len(many) == len(few)


def test_the_household_page_shows_members_masked_grids_and_who_serves_it(ledger, county, login):
    county.users.grid_worker.phone = "13911112222"
    county.users.grid_worker.full_name = "网格员小周"
    county.users.grid_worker.save()
    Post.objects.filter(user=county.users.grid_leader).update(title="三级网格长")
    page = body(login(county.users.village_a).get(reverse("ledger:household", args=["A11-1"])))
    zhang = ledger.residents.zhang
    assert "张伟" in page and "李娜" in page and "张小明" in page
    assert mask_id_number(zhang.id_number) in page and zhang.id_number not in page  # members masked
    assert mask_phone(zhang.phone) in page and zhang.phone not in page
    serving = page.split('id="serving"')[1]
    assert "网格员小周" in serving and "13911112222" in serving  # the grid's own worker
    assert "三级网格长" in serving  # the 三级 grid above it
    assert "village_a" in serving  # and the village
    assert "township_a" not in serving  # not above the village
    assert "Same as the grid of residence" in page


def test_a_dual_grid_household_shows_both_grids_labelled(ledger, county, login):
    page = body(login(county.users.village_b).get(reverse("ledger:household", args=["B1-1"])))
    residence = page.split('id="residence-grid"')[1].split("</div>")[0]
    registration = page.split('id="registration-grid"')[1].split("</div>")[0]
    assert "乙一村网格" in residence and "一格" in registration
    assert "Where registered: 一格" in page and "Where living: 乙一村网格" in page


def test_the_landlords_phone_is_unmasked_and_logged_only_for_roles_that_may(ledger, county, login):
    household = ledger.households.a11_2
    page = body(login(county.users.village_a).get(reverse("ledger:household", args=["A11-2"])))
    assert "13900001111" in page and "王房东" in page
    assert (
        PersonalDataAccess.objects.filter(user=county.users.village_a, object_id=str(household.pk)).count()
        == 1
    )
    page = body(login(county.users.county).get(reverse("ledger:household", args=["A11-2"])))
    assert "13900001111" not in page and "139****1111" in page and "masked" in page
    assert not PersonalDataAccess.objects.filter(user=county.users.county).exists()


def test_the_household_page_lists_the_visible_cases_involving_it(ledger, world, county, login):
    from wangge.cases.testing import patrol_case

    case = patrol_case(world, households=[ledger.households.a11_1], title="楼道堆物")
    page = body(login(county.users.village_a).get(reverse("ledger:household", args=["A11-1"])))
    assert reverse("cases:detail", args=[case.pk]) in page and "楼道堆物" in page
    other = body(login(county.users.village_a).get(reverse("ledger:household", args=["A11-2"])))
    assert "楼道堆物" not in other


def test_the_household_page_shows_the_history_of_it_and_its_members(ledger, county, login):
    admin = county.users.sysadmin
    services.update_household(ledger.households.a11_1, by=admin, address="一格1号院")
    services.update_resident(ledger.residents.li, by=admin, occupation="教师")
    page = body(login(county.users.village_a).get(reverse("ledger:household", args=["A11-1"])))
    history = page.split('id="history"')[1]
    assert "Address:</span> 一格1号 → 一格1号院" in history
    assert "李娜" in history and "Occupation:</span> — → 教师" in history


def test_buttons_to_change_show_only_to_those_who_may(ledger, county, login):
    edit = reverse("ledger:household_edit", args=["A11-1"])
    assert edit in body(login(county.users.grid_worker).get(reverse("ledger:household", args=["A11-1"])))
    instructor = make_user("instructor", (county.village_a, Role.GRID_INSTRUCTOR))
    assert edit not in body(login(instructor).get(reverse("ledger:household", args=["A11-1"])))


def test_a_household_is_created_in_a_grid_of_ones_area(ledger, county, login):
    client = login(county.users.village_a)
    response = client.post(
        reverse("ledger:household_new"),
        {
            "number": "A12-9",
            "grid": county.cell_a12.code,
            "address": "二格9号",
            "lng": "108.07",
            "lat": "31.05",
        },
    )
    household = Household.objects.get(number="A12-9")
    assert response.status_code == 302 and response["Location"] == household.get_absolute_url()
    assert household.grid == county.cell_a12 and household.lng == 108.07
    assert ChangeLog.objects.filter(object_id=str(household.pk), action=ChangeAction.CREATE).exists()


def test_a_household_cannot_be_created_in_a_grid_outside_ones_area(ledger, county, login):
    client = login(county.users.grid_worker)
    response = client.post(
        reverse("ledger:household_new"),
        {"number": "A12-9", "grid": county.cell_a12.code, "address": "二格9号"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["grid"] == [
        f"No unit with the code {county.cell_a12.code} lies in your area."
    ]
    assert not Household.objects.filter(number="A12-9").exists()


def test_the_create_form_lists_the_users_grids(ledger, county, login):
    page = body(login(county.users.village_a).get(reverse("ledger:household_new")))
    assert 'list="id_grid-units"' in page
    grids = page.split('<datalist id="id_grid-units">')[1].split("</datalist>")[0]
    assert f'<option value="{county.cell_a12.code}">二格</option>' in grids
    assert f'<option value="{county.village_a.code}">' not in page  # grids only
    assert county.grid_b1.code not in grids
    # The grid of registration (户籍) may lie anywhere: every current grid is offered there.
    registration = page.split('<datalist id="id_registered_grid-units">')[1].split("</datalist>")[0]
    assert county.grid_b1.code in registration
    assert f'value="{county.village_a.code}"' not in registration


def test_a_service_refusal_lands_on_the_field_it_names(ledger, county, login):
    client = login(county.users.village_a)
    response = client.post(
        reverse("ledger:household_new"),
        {"number": "A11-1", "grid": county.cell_a11.code, "address": "重复"},
    )
    assert response.context["form"].errors["number"] == ["Household number A11-1 exists."]
    response = client.post(
        reverse("ledger:household_new"),
        {"number": "A11-8", "grid": county.village_a.code, "address": "村委"},
    )
    assert "is not a current grid" in response.context["form"].errors["grid"][0]
    assert not Household.objects.filter(number="A11-8").exists()


def test_editing_a_household_keeps_a_masked_landlord_phone_sent_back_unchanged(ledger, county, login):
    client = login(part_timer(county))  # may change the ledgers, sees numbers masked
    form_page = body(client.get(reverse("ledger:household_edit", args=["A11-2"])))
    assert "139****1111" in form_page and "13900001111" not in form_page
    response = client.post(
        reverse("ledger:household_edit", args=["A11-2"]),
        {
            "address": "一格2号",
            "door_number": "2单元",
            "is_rental": "on",
            "landlord_name": "王房东",
            "landlord_phone": "139****1111",
        },
    )
    assert response.status_code == 302
    household = Household.objects.get(number="A11-2")
    assert household.landlord_phone == "13900001111" and household.door_number == "2单元"


def test_moving_a_household_records_a_move_and_takes_it_out_of_the_old_grid(ledger, county, login):
    client = login(county.users.village_a)
    response = client.post(
        reverse("ledger:household_move", args=["A11-1"]), {"grid": county.cell_a12.code, "note": "搬到二格"}
    )
    assert response.status_code == 302
    household = Household.objects.get(number="A11-1")
    assert household.grid == county.cell_a12
    moves = ChangeLog.objects.filter(object_id=str(household.pk), action=ChangeAction.MOVE)
    assert moves.count() == 2  # the grid change and the note
    page = body(client.get(reverse("ledger:household", args=["A11-1"])))
    assert "搬到二格" in page and "Moved" in page
    worker = login(county.users.grid_worker)
    assert worker.get(reverse("ledger:household", args=["A11-1"])).status_code == 404
    assert worker.get(reverse("ledger:resident", args=[ledger.residents.zhang.pk])).status_code == 404


def test_a_grid_worker_cannot_move_a_household_out_of_his_grid(ledger, county, login):
    client = login(county.users.grid_worker)
    response = client.post(reverse("ledger:household_move", args=["A11-1"]), {"grid": county.cell_a12.code})
    assert response.status_code == 200 and "grid" in response.context["form"].errors
    assert Household.objects.get(number="A11-1").grid == county.cell_a11


def test_closing_a_household_waits_until_nobody_is_on_its_register(ledger, county, login):
    client = login(county.users.village_a)
    response = client.post(reverse("ledger:household_close", args=["A11-2"]), {"note": "拆迁"})
    assert response.status_code == 200
    assert "Move out or mark the members first" in body(response)
    assert Household.objects.get(number="A11-2").status == HouseholdStatus.ACTIVE
    services.set_resident_status(ledger.residents.tenant, ResidentStatus.MOVED_OUT, by=county.users.sysadmin)
    response = client.post(reverse("ledger:household_close", args=["A11-2"]), {"note": "拆迁"})
    assert response.status_code == 302
    assert Household.objects.get(number="A11-2").status == HouseholdStatus.CLOSED
    page = body(client.get(reverse("ledger:household", args=["A11-2"])))
    assert "拆迁" in page and reverse("ledger:resident_new", args=["A11-2"]) not in page
    again = client.post(reverse("ledger:household_close", args=["A11-2"]), {"note": "again"}, follow=True)
    assert "Household A11-2 is closed already." in body(again)
    assert (
        ChangeLog.objects.filter(
            action=ChangeAction.RETIRE, object_id=str(ledger.households.a11_2.pk)
        ).count()
        == 1
    )


# --- residents --------------------------------------------------------------------------------------


def test_a_village_admin_sees_the_full_id_and_the_view_is_logged(ledger, county, login):
    zhang = ledger.residents.zhang
    page = body(login(county.users.village_a).get(reverse("ledger:resident", args=[zhang.pk])))
    assert zhang.id_number in page and "13800001234" in page
    assert 'class="masked-mark"' not in page
    rows = PersonalDataAccess.objects.filter(user=county.users.village_a)
    assert rows.count() == 1
    assert rows.get().object_id == str(zhang.pk) and sorted(rows.get().fields) == ["id_number", "phone"]


def test_the_county_centre_sees_the_masked_id_and_nothing_is_logged(ledger, county, login):
    zhang = ledger.residents.zhang
    page = body(login(county.users.county).get(reverse("ledger:resident", args=[zhang.pk])))
    assert zhang.id_number not in page and mask_id_number(zhang.id_number) in page
    assert "138****1234" in page and 'class="masked-mark"' in page
    assert not PersonalDataAccess.objects.exists()


def test_the_resident_page_shows_the_person(ledger, county, login):
    zhao = ledger.residents.zhao
    page = body(login(county.users.village_a).get(reverse("ledger:resident", args=[zhao.pk])))
    assert "1965-06-06" in page and "Male" in page and str(zhao.age) in page
    assert "Communist Party member" in page
    assert reverse("ledger:organisation", args=[ledger.branch.pk]) in page
    assert reverse("ledger:household", args=["A12-1"]) in page
    assert 'id="special-population"' in page  # the special-population panel
    child = body(
        login(county.users.village_a).get(reverse("ledger:resident", args=[ledger.residents.child.pk]))
    )
    assert 'data-tag="dibao"' in child and 'data-tag="left_behind_child"' in child


def test_the_resident_page_shows_registration_apart_from_residence(ledger, county, login):
    sun = ledger.residents.sun
    page = body(login(county.users.grid_worker).get(reverse("ledger:resident", args=[sun.pk])))
    assert "乙一村网格" in page.split('id="residence-grid"')[1].split("</div>")[0]
    assert "一格" in page.split('id="registration-grid"')[1].split("</div>")[0]
    assert "Registered elsewhere in the county" in page


def resident_post(**changes):
    data = {
        "name": "王新",
        "id_number": make_id_number(born="19880808", order="777"),
        "phone": "13600001111",
        "sex": "",
        "relation": "child",
        "ethnicity": "汉族",
        "residence_type": "registered",
        "registered_grid": "",
        "registered_address": "",
        "occupation": "",
        "political_status": "masses",
        "party_organisation": "",
        "notes": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_a_member_is_added_with_birth_date_and_sex_from_the_id(ledger, county, login):
    client = login(county.users.grid_worker)
    response = client.post(
        reverse("ledger:resident_new", args=["A11-1"]), resident_post(tags=[str(ledger.tags["veteran"].pk)])
    )
    resident = Resident.objects.get(name="王新")
    assert response.status_code == 302 and response["Location"] == resident.get_absolute_url()
    assert resident.household == ledger.households.a11_1
    assert resident.birth_date == datetime.date(1988, 8, 8) and resident.sex == "male"
    assert [t.code for t in resident.tags.all()] == ["veteran"]


def test_a_bad_id_number_is_named_on_the_field_and_nothing_is_saved(ledger, county, login):
    good = make_id_number(born="19880808", order="777")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    client = login(county.users.grid_worker)
    response = client.post(reverse("ledger:resident_new", args=["A11-1"]), resident_post(id_number=bad))
    assert response.status_code == 200
    errors = response.context["form"].errors["id_number"]
    assert errors == ["The check digit of the ID number is wrong (GB 11643): the number is mistyped."]
    assert "GB 11643" in body(response)
    assert not Resident.objects.filter(name="王新").exists()


def test_a_duplicate_id_number_names_the_household_it_belongs_to(ledger, county, login):
    client = login(county.users.village_a)
    response = client.post(
        reverse("ledger:resident_new", args=["A11-2"]),
        resident_post(id_number=ledger.residents.zhang.id_number),
    )
    assert "already registered for 张伟 of household A11-1" in response.context["form"].errors["id_number"][0]
    assert not Resident.objects.filter(name="王新").exists()


def test_the_resident_form_offers_active_care_tags_and_visible_party_organisations(ledger, county, login):
    other = services.create_organisation(
        by=county.users.sysadmin,
        unit=county.village_b,
        kind=OrganisationKind.PARTY_BRANCH,
        name="乙一村党支部",
    )
    form = login(county.users.village_a).get(reverse("ledger:resident_edit", args=[ledger.residents.zhao.pk]))
    form = form.context["form"]
    assert list(form.fields["party_organisation"].queryset) == [ledger.branch]
    assert other not in form.fields["party_organisation"].queryset
    codes = {tag.code for tag in form.fields["tags"].queryset}
    assert "dibao" in codes and "veteran" in codes
    assert "community_correction" not in codes  # special tags follow their records


def test_editing_a_resident_keeps_the_masked_id_and_special_tags(ledger, county, login):
    zhang = ledger.residents.zhang
    services.add_tag(zhang, "key_person", by=county.users.sysadmin)
    client = login(part_timer(county))  # masked view, may change the ledgers
    form_page = body(client.get(reverse("ledger:resident_edit", args=[zhang.pk])))
    masked_id = mask_id_number(zhang.id_number)
    assert masked_id in form_page and zhang.id_number not in form_page
    response = client.post(
        reverse("ledger:resident_edit", args=[zhang.pk]),
        resident_post(
            name="张伟",
            id_number=masked_id,
            phone="138****1234",
            relation="head",
            occupation="村医",
            tags=[str(ledger.tags["veteran"].pk)],
        ),
    )
    assert response.status_code == 302
    zhang.refresh_from_db()
    assert zhang.id_number == ledger.residents.zhang.id_number and zhang.phone == "13800001234"
    assert zhang.occupation == "村医" and zhang.name == "张伟"
    assert {t.code for t in zhang.tags.all()} == {"veteran", "key_person"}
    assert not PersonalDataAccess.objects.exists()


def test_a_village_admin_editing_sees_the_real_number_and_the_view_is_logged(ledger, county, login):
    zhang = ledger.residents.zhang
    page = body(login(county.users.village_a).get(reverse("ledger:resident_edit", args=[zhang.pk])))
    assert zhang.id_number in page
    assert PersonalDataAccess.objects.filter(user=county.users.village_a).count() == 1


def test_marking_a_resident_deceased_keeps_the_record_and_writes_history(ledger, county, login):
    li = ledger.residents.li
    client = login(county.users.grid_worker)
    response = client.post(
        reverse("ledger:resident_status", args=[li.pk]),
        {"status": ResidentStatus.DECEASED, "status_date": "2025-03-01", "note": "病故"},
    )
    assert response.status_code == 302
    li.refresh_from_db()
    assert li.status == ResidentStatus.DECEASED and li.status_date == datetime.date(2025, 3, 1)
    present = client.get(reverse("ledger:residents")).context["page"]
    assert "李娜" not in [r.name for r in present]
    listed = body(client.get(reverse("ledger:residents"), {"status": ResidentStatus.DECEASED}))
    assert "李娜" in listed.split('id="resident-list"')[1]
    page = body(client.get(reverse("ledger:resident", args=[li.pk])))
    assert "Deceased" in page and "病故" in page and "2025-03-01" in page


def test_a_status_date_in_the_future_is_refused_on_its_field(ledger, county, login):
    li = ledger.residents.li
    tomorrow = datetime.date.today() + datetime.timedelta(days=2)
    response = login(county.users.grid_worker).post(
        reverse("ledger:resident_status", args=[li.pk]),
        {"status": ResidentStatus.MOVED_OUT, "status_date": tomorrow.isoformat()},
    )
    assert response.context["form"].errors["status_date"] == ["The date lies in the future."]
    li.refresh_from_db()
    assert li.status == ResidentStatus.PRESENT


# --- places and organisations -----------------------------------------------------------------------


def test_places_list_with_kind_and_unit_filters(ledger, county, login):
    client = login(county.users.township_a)
    services.create_place(
        by=county.users.sysadmin, unit=county.cell_a12, kind=PlaceKind.SHOP, name="二格小卖部"
    )
    names = [p.name for p in client.get(reverse("ledger:places")).context["page"]]
    assert names == ["甲一村党群服务站", "二格小卖部"]
    shops = client.get(reverse("ledger:places"), {"kind": PlaceKind.SHOP}).context["page"]
    assert [p.name for p in shops] == ["二格小卖部"]
    below = client.get(reverse("ledger:places"), {"unit": county.grid_a1.code}).context["page"]
    assert [p.name for p in below] == ["二格小卖部"]


def test_the_place_page_shows_the_point_and_contact(ledger, county, login):
    page = body(login(county.users.village_a).get(reverse("ledger:place", args=[ledger.station.pk])))
    assert "108.03000, 31.05000" in page and "周站长" in page and "02312345678" in page


def test_a_place_is_created_and_edited_through_the_services(ledger, county, login):
    client = login(county.users.village_a)
    response = client.post(
        reverse("ledger:place_new"),
        {
            "unit": county.cell_a11.code,
            "kind": PlaceKind.HAZARD_SOURCE,
            "name": "加油站",
            "risk_level": "high",
        },
    )
    place = Place.objects.get(name="加油站")
    assert response.status_code == 302 and place.unit == county.cell_a11
    response = client.post(
        reverse("ledger:place_edit", args=[place.pk]),
        {
            "unit": county.cell_a11.code,
            "kind": PlaceKind.HAZARD_SOURCE,
            "name": "加油站",
            "contact_phone": "123",
        },
    )
    assert response.status_code == 200
    assert "contact_phone" in response.context["form"].errors
    response = client.post(
        reverse("ledger:place_edit", args=[place.pk]),
        {"unit": county.cell_a11.code, "kind": PlaceKind.HAZARD_SOURCE, "name": "加油站", "lng": "108.02"},
    )
    assert response.context["form"].errors["lng"] == ["Give both longitude and latitude, or neither."]


def test_a_place_cannot_be_put_on_a_unit_outside_ones_area(ledger, county, login):
    response = login(county.users.village_a).post(
        reverse("ledger:place_new"), {"unit": county.village_b.code, "kind": PlaceKind.SHOP, "name": "外村"}
    )
    assert "unit" in response.context["form"].errors
    assert not Place.objects.filter(name="外村").exists()


def test_the_party_branch_lists_its_party_members(ledger, county, login):
    page = body(login(county.users.village_a).get(reverse("ledger:organisation", args=[ledger.branch.pk])))
    assert "赵强" in page.split('id="party-members"')[1]
    assert "张伟" not in page


def test_organisations_are_created_and_filtered_by_kind(ledger, county, login):
    client = login(county.users.village_a)
    response = client.post(
        reverse("ledger:organisation_new"),
        {
            "unit": county.village_a.code,
            "kind": OrganisationKind.VOLUNTEERS,
            "name": "志愿服务队",
            "member_count": "12",
        },
    )
    organisation = Organisation.objects.get(name="志愿服务队")
    assert response.status_code == 302 and organisation.member_count == 12
    listed = client.get(reverse("ledger:organisations"), {"kind": OrganisationKind.VOLUNTEERS}).context[
        "page"
    ]
    assert [o.name for o in listed] == ["志愿服务队"]
    page = body(client.get(reverse("ledger:organisation", args=[organisation.pk])))
    assert 'id="party-members"' not in page
    response = client.post(
        reverse("ledger:organisation_edit", args=[organisation.pk]),
        {
            "unit": county.village_a.code,
            "kind": OrganisationKind.VOLUNTEERS,
            "name": "志愿服务队",
            "member_count": "15",
        },
    )
    assert response.status_code == 302
    assert Organisation.objects.get(pk=organisation.pk).member_count == 15
    page = body(client.get(reverse("ledger:organisation", args=[organisation.pk])))
    assert "Members:</span> 12 → 15" in page


# --- dates of birth: with a masked ID number only the year (review finding 1) -----------------------------


def no_id_person(ledger, county, name="吴无证"):
    return services.create_resident(
        by=county.users.sysadmin,
        household=ledger.households.a11_1,
        name=name,
        birth_date=datetime.date(1944, 4, 14),
        relation=Relation.PARENT,
    )


def test_a_masked_id_holders_page_shows_the_year_of_birth_not_the_date(ledger, county, login):
    zhang = ledger.residents.zhang  # born 1970-01-01, by his ID number
    page = body(login(part_timer(county)).get(reverse("ledger:resident", args=[zhang.pk])))
    born = page.split('id="birth-date"')[1].split("</div>")[0]
    assert "1970-01-01" not in page and "data-year-only" in born and "1970" in born
    assert 'class="masked-mark"' in born
    # A mixed user: the county centre's post lets him read 二格, his grid post unmasks only 一格.
    mixed = make_user(
        "mixed", (county.county, Role.COUNTY_COMMAND), (county.cell_a11, Role.GRID_WORKER_FULL_TIME)
    )
    zhao = body(login(mixed).get(reverse("ledger:resident", args=[ledger.residents.zhao.pk])))
    assert "1965-06-06" not in zhao and "data-year-only" in zhao
    own = body(login(mixed).get(reverse("ledger:resident", args=[zhang.pk])))
    assert "1970-01-01" in own and "data-year-only" not in own


def test_the_full_date_shows_with_the_unmasked_id_or_without_any_id(ledger, county, login):
    zhang = ledger.residents.zhang
    page = body(login(county.users.village_a).get(reverse("ledger:resident", args=[zhang.pk])))
    assert "1970-01-01" in page.split('id="birth-date"')[1].split("</div>")[0]
    assert PersonalDataAccess.objects.filter(user=county.users.village_a, object_id=str(zhang.pk)).exists()
    wu = no_id_person(ledger, county)
    page = body(login(part_timer(county)).get(reverse("ledger:resident", args=[wu.pk])))
    assert "1944-04-14" in page and "data-year-only" not in page


def test_the_history_shows_birth_dates_in_full_only_beside_the_unmasked_number(ledger, county, login):
    """Older change-log rows hold full dates; pages show the year unless they show the ID unmasked."""
    zhang, wu = ledger.residents.zhang, no_id_person(ledger, county)
    for person in (zhang, wu):
        record_change(
            person, ChangeAction.UPDATE, county.users.sysadmin, {"birth_date": ["1969-12-31", "1970-01-01"]}
        )
    household = body(login(county.users.village_a).get(reverse("ledger:household", args=["A11-1"])))
    history = household.split('id="history"')[1]
    assert "1970-01-01" in history  # 吴无证 has no ID number: nothing to give back
    assert history.count("1970-01-01") == 1 and "1969 → 1970" in history  # 张伟's row: years only
    masked = body(login(part_timer(county)).get(reverse("ledger:resident", args=[zhang.pk])))
    assert "1970-01-01" not in masked and "1969 → 1970" in masked.split('id="history"')[1]
    unmasked = body(login(county.users.village_a).get(reverse("ledger:resident", args=[zhang.pk])))
    assert "1969-12-31 → 1970-01-01" in unmasked.split('id="history"')[1]


def test_the_edit_form_leaves_a_masked_id_holders_date_of_birth_out(ledger, county, login):
    zhang = ledger.residents.zhang
    masked = body(login(part_timer(county)).get(reverse("ledger:resident_edit", args=[zhang.pk])))
    assert "1970-01-01" not in masked and 'name="birth_date"' in masked
    unmasked = body(login(county.users.village_a).get(reverse("ledger:resident_edit", args=[zhang.pk])))
    assert 'value="1970-01-01"' in unmasked


# --- rights follow the post: buttons and forms only for those who keep the record (finding 2) -----------

WRITE_LINKS = ["household_edit", "household_move", "household_close", "resident_new"]


def test_registration_grid_staff_read_a_household_but_get_no_buttons_and_403(ledger, county, login):
    """B1-1 lives in 乙一村 and is registered in 一格: 一格's worker reads it, 乙一村 keeps it."""
    client = login(county.users.grid_worker)
    page = body(client.get(reverse("ledger:household", args=["B1-1"])))
    for name in WRITE_LINKS:
        assert reverse(f"ledger:{name}", args=["B1-1"]) not in page
    assert 'id="actions"' not in page and 'id="resident-new"' not in page
    for name in WRITE_LINKS:
        for method in ("get", "post"):
            response = getattr(client, method)(reverse(f"ledger:{name}", args=["B1-1"]))
            assert response.status_code == 403
            assert 'id="not-kept"' in body(response)
            assert reverse("ledger:household", args=["B1-1"]) in body(response)
    sun = ledger.residents.sun
    page = body(client.get(reverse("ledger:resident", args=[sun.pk])))
    assert reverse("ledger:resident_edit", args=[sun.pk]) not in page
    assert reverse("ledger:resident_status", args=[sun.pk]) not in page
    for name in ("resident_edit", "resident_status"):
        response = client.post(
            reverse(f"ledger:{name}", args=[sun.pk]), {"name": "改名", "status": "deceased"}
        )
        assert response.status_code == 403 and 'id="not-kept"' in body(response)
    sun.refresh_from_db()
    assert sun.name == "孙丽" and sun.status == ResidentStatus.PRESENT
    # 乙一村 keeps it: buttons and forms.
    keeper = login(county.users.village_b)
    assert reverse("ledger:household_edit", args=["B1-1"]) in body(
        keeper.get(reverse("ledger:household", args=["B1-1"]))
    )
    assert keeper.get(reverse("ledger:household_edit", args=["B1-1"])).status_code == 200


def test_a_second_post_elsewhere_lends_no_right_to_change_or_unmask(ledger, county, login):
    mixed = make_user(
        "mixed", (county.county, Role.COUNTY_COMMAND), (county.cell_a11, Role.GRID_WORKER_FULL_TIME)
    )
    client = login(mixed)
    zhao = ledger.residents.zhao  # 二格: read through the county post only
    page = body(client.get(reverse("ledger:resident", args=[zhao.pk])))
    assert zhao.id_number not in page and mask_id_number(zhao.id_number) in page
    assert reverse("ledger:resident_edit", args=[zhao.pk]) not in page
    assert client.get(reverse("ledger:resident_edit", args=[zhao.pk])).status_code == 403
    assert client.get(reverse("ledger:household_edit", args=["A12-1"])).status_code == 403
    assert reverse("ledger:household_edit", args=["A12-1"]) not in body(
        client.get(reverse("ledger:household", args=["A12-1"]))
    )
    for name, pk in (("place", ledger.station.pk), ("organisation", ledger.branch.pk)):
        assert reverse(f"ledger:{name}_edit", args=[pk]) not in body(
            client.get(reverse(f"ledger:{name}", args=[pk]))
        )
        response = client.get(reverse(f"ledger:{name}_edit", args=[pk]))
        assert response.status_code == 403 and 'id="not-kept"' in body(response)
    assert not PersonalDataAccess.objects.filter(user=mixed, object_id=str(zhao.pk)).exists()
    # His own grid: unmasked (and logged), and his to change.
    zhang = ledger.residents.zhang
    own = body(client.get(reverse("ledger:resident", args=[zhang.pk])))
    assert zhang.id_number in own and reverse("ledger:resident_edit", args=[zhang.pk]) in own
    assert client.get(reverse("ledger:resident_edit", args=[zhang.pk])).status_code == 200


# --- the resident form: party organisation, household, birth date, grid of registration (3, 4) ---------


def test_the_party_branch_above_the_grid_is_offered_and_kept_when_editing_another_field(
    ledger, county, login
):
    """The grid leader of 一组 does not see 甲一村's branch as a record, but 赵强 of 二格 belongs to it."""
    other = services.create_organisation(
        by=county.users.sysadmin,
        unit=county.village_b,
        kind=OrganisationKind.PARTY_BRANCH,
        name="乙一村党支部",
    )
    zhao = ledger.residents.zhao
    client = login(county.users.grid_leader)
    form = client.get(reverse("ledger:resident_edit", args=[zhao.pk])).context["form"]
    choices = list(form.fields["party_organisation"].queryset)
    assert ledger.branch in choices and other not in choices
    assert form.initial["party_organisation"] == ledger.branch.pk
    response = client.post(
        reverse("ledger:resident_edit", args=[zhao.pk]),
        resident_post(
            name="赵强",
            id_number=zhao.id_number,
            phone="13700005678",
            relation="head",
            political_status="party_member",
            party_organisation=str(ledger.branch.pk),
            occupation="农机手",
        ),
    )
    assert response.status_code == 302
    zhao.refresh_from_db()
    assert zhao.occupation == "农机手" and zhao.party_organisation == ledger.branch
    # A new member of 一格 may join the branch of the village too.
    new = client.get(reverse("ledger:resident_new", args=["A11-1"])).context["form"]
    assert ledger.branch in new.fields["party_organisation"].queryset


def test_a_person_moves_to_another_household_by_its_number(ledger, county, login):
    li = ledger.residents.li
    client = login(county.users.village_a)
    form_page = body(client.get(reverse("ledger:resident_edit", args=[li.pk])))
    assert 'name="household_number"' in form_page and 'value="A11-1"' in form_page
    data = resident_post(name="李娜", id_number=li.id_number, relation="spouse", household_number="A12-1")
    response = client.post(reverse("ledger:resident_edit", args=[li.pk]), data)
    assert response.status_code == 302
    li.refresh_from_db()
    assert li.household == ledger.households.a12_1
    assert ChangeLog.objects.filter(object_id=str(li.pk), action=ChangeAction.MOVE).exists()


@pytest.mark.parametrize("number", ["NO-SUCH", "B1-1", "A11-2-closed"])
def test_a_household_one_does_not_keep_or_that_is_closed_is_refused(ledger, county, login, number):
    if number == "A11-2-closed":
        services.set_resident_status(
            ledger.residents.tenant, ResidentStatus.MOVED_OUT, by=county.users.sysadmin
        )
        services.close_household(ledger.households.a11_2, by=county.users.sysadmin)
        number = "A11-2"
    zhang = ledger.residents.zhang
    client = login(county.users.grid_worker)  # reads B1-1 (registered in his grid), keeps only 一格
    data = resident_post(name="张伟", id_number=zhang.id_number, relation="head", household_number=number)
    response = client.post(reverse("ledger:resident_edit", args=[zhang.pk]), data)
    assert response.status_code == 200 and "household_number" in response.context["form"].errors
    zhang.refresh_from_db()
    assert zhang.household == ledger.households.a11_1


def test_a_person_without_an_id_number_gets_the_date_of_birth_typed(ledger, county, login):
    client = login(county.users.grid_worker)
    response = client.post(
        reverse("ledger:resident_new", args=["A11-1"]),
        resident_post(name="无证老人", id_number="", birth_date="1940-03-04", sex="female"),
    )
    assert response.status_code == 302
    assert Resident.objects.get(name="无证老人").birth_date == datetime.date(1940, 3, 4)
    # With an ID number the date typed is ignored: the number says when the person was born.
    client.post(reverse("ledger:resident_new", args=["A11-1"]), resident_post(birth_date="2001-01-01"))
    assert Resident.objects.get(name="王新").birth_date == datetime.date(1988, 8, 8)


def test_the_grid_of_registration_may_be_any_current_grid(ledger, county, login):
    client = login(county.users.grid_worker)  # 一格 only; the person's 户籍 lies in 乙一村
    response = client.post(
        reverse("ledger:resident_new", args=["A11-1"]), resident_post(registered_grid=county.grid_b1.code)
    )
    assert response.status_code == 302
    assert Resident.objects.get(name="王新").registered_grid == county.grid_b1
    for code in ("999999999", county.village_b.code):  # no such unit; not a grid
        response = client.post(
            reverse("ledger:resident_new", args=["A11-1"]),
            resident_post(name="另一人", id_number="", registered_grid=code),
        )
        assert response.status_code == 200 and "registered_grid" in response.context["form"].errors
    assert not Resident.objects.filter(name="另一人").exists()


# --- the householder (finding 9) ---------------------------------------------------------------------------


def test_the_household_page_warns_without_one_householder(ledger, county, login):
    client = login(county.users.village_a)
    assert 'id="head-warning"' not in body(client.get(reverse("ledger:household", args=["A11-1"])))
    none = body(client.get(reverse("ledger:household", args=["A11-2"])))  # only a tenant
    assert 'id="head-warning" data-heads="0"' in none and 'class="message warning"' in none
    services.update_resident(ledger.residents.li, by=county.users.sysadmin, relation=Relation.HEAD)
    two = body(client.get(reverse("ledger:household", args=["A11-1"])))
    assert 'id="head-warning" data-heads="2"' in two
    assert client.get(reverse("ledger:household", args=["A11-1"])).status_code == 200
