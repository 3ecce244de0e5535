"""The ledgers over the API: scope (dual grid), masking, exact search, filters and refusals."""

import datetime
import json

import pytest

from wangge.ledger import services
from wangge.ledger.choices import PlaceKind, Relation
from wangge.ledger.models import Household, Resident

pytestmark = pytest.mark.django_db

ENDPOINTS = ["households", "residents", "places", "organisations"]
SEARCH = "/api/v1/residents/search/"


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def numbers(response) -> set[str]:
    return {item["number"] for item in results(response)}


def names(response) -> set[str]:
    return {item["name"] for item in results(response)}


# --- scope ------------------------------------------------------------------------------------------


def test_a_grid_worker_sees_its_households_and_the_one_registered_in_its_grid(ledger, county, api):
    client = api(county.users.grid_worker)
    assert numbers(client.get("/api/v1/households/")) == {"A11-1", "A11-2", "B1-1"}
    assert client.get("/api/v1/households/B1-1/").status_code == 200
    other = client.get("/api/v1/households/A12-1/")
    missing = client.get("/api/v1/households/NOPE-1/")
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()


def test_a_grid_worker_sees_the_residents_of_its_grid_and_not_those_next_door(ledger, county, api):
    client = api(county.users.grid_worker)
    assert names(client.get("/api/v1/residents/")) == {"张伟", "李娜", "张小明", "陈租客", "孙丽"}
    assert client.get(f"/api/v1/residents/{ledger.residents.zhao.pk}/").status_code == 404
    assert client.get(f"/api/v1/residents/{ledger.residents.sun.pk}/").status_code == 200


def test_another_village_sees_none_of_the_first_villages_records(ledger, county, api):
    client = api(county.users.village_b)
    assert numbers(client.get("/api/v1/households/")) == {"B1-1"}
    assert names(client.get("/api/v1/places/")) == {"乙一村小学"}
    assert names(client.get("/api/v1/organisations/")) == set()
    assert client.get(f"/api/v1/residents/{ledger.residents.zhang.pk}/").status_code == 404
    assert client.get(f"/api/v1/places/{ledger.station.pk}/").status_code == 404
    assert client.get(f"/api/v1/organisations/{ledger.branch.pk}/").status_code == 404


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_anonymous_caller_gets_401(ledger, api, endpoint):
    assert api().get(f"/api/v1/{endpoint}/").status_code == 401


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("who", ["department", "outsider"])
def test_users_without_the_ledgers_get_403(ledger, county, api, endpoint, who):
    response = api(getattr(county.users, who)).get(f"/api/v1/{endpoint}/")
    assert response.status_code == 403


def test_a_department_user_is_refused_one_record_too(ledger, county, api):
    response = api(county.users.department).get(f"/api/v1/residents/{ledger.residents.zhang.pk}/")
    assert response.status_code == 403


# --- masking ----------------------------------------------------------------------------------------


def every_body(client, ledger) -> str:
    """Every list and record of the ledger API, as the caller gets them."""
    bodies = []
    for endpoint in ENDPOINTS:
        bodies.append(client.get(f"/api/v1/{endpoint}/?status=all").content.decode())
    for resident in vars(ledger.residents).values():
        bodies.append(client.get(f"/api/v1/residents/{resident.pk}/").content.decode())
        bodies.append(client.post(SEARCH, {"id_number": resident.id_number}, format="json").content.decode())
    for household in vars(ledger.households).values():
        bodies.append(client.get(f"/api/v1/households/{household.number}/").content.decode())
    bodies.append(client.post(SEARCH, {"phone": "13800001234"}, format="json").content.decode())
    return "\n".join(bodies)


@pytest.mark.parametrize("who", ["village_a", "sysadmin", "grid_worker"])
def test_id_numbers_and_phones_never_appear_unmasked(ledger, county, api, who):
    """Even for roles that may see them on the record's page."""
    body = every_body(api(getattr(county.users, who)), ledger)
    for resident in vars(ledger.residents).values():
        assert resident.id_number not in body
        assert resident.id_number_index not in body
        if resident.phone:
            assert resident.phone not in body
    assert "13900001111" not in body  # the landlord's phone
    assert "_index" not in body


def test_the_masked_values_keep_the_region_and_the_last_digits(ledger, county, api):
    zhang = ledger.residents.zhang
    data = api(county.users.village_a).get(f"/api/v1/residents/{zhang.pk}/").json()
    assert data["id_number"] == f"5002********{zhang.id_number[-4:]}"
    assert data["phone"] == "138****1234"
    household = api(county.users.village_a).get("/api/v1/households/A11-2/").json()
    assert household["landlord_phone"] == "139****1111"


def test_an_unmasked_value_is_never_logged_as_seen_through_the_api(ledger, county, api):
    from wangge.core.models import PersonalDataAccess

    every_body(api(county.users.village_a), ledger)
    assert not PersonalDataAccess.objects.exists()


# --- exact search -----------------------------------------------------------------------------------


def test_an_exact_id_number_finds_one_resident(ledger, county, api):
    zhang = ledger.residents.zhang
    found = api(county.users.village_a).post(SEARCH, {"id_number": zhang.id_number}, format="json").json()
    assert [(r["id"], r["name"]) for r in found] == [(zhang.pk, "张伟")]


def test_the_search_finds_nothing_outside_the_scope(ledger, county, api):
    zhang = ledger.residents.zhang
    response = api(county.users.village_b).post(SEARCH, {"id_number": zhang.id_number}, format="json")
    assert response.json() == []
    assert api(county.users.village_b).post(SEARCH, {"phone": "13800001234"}, format="json").json() == []


def test_a_phone_finds_its_resident_and_a_landlord_phone_its_household(ledger, county, api):
    client = api(county.users.village_a)
    found = client.post(SEARCH, {"phone": "138 0000 1234"}, format="json").json()
    assert {r["name"] for r in found} == {"张伟"}
    households = client.post("/api/v1/households/search/", {"phone": "13900001111"}, format="json").json()
    assert {h["number"] for h in households} == {"A11-2"}


def test_a_mistyped_id_number_is_named_not_just_unfound(ledger, county, api):
    zhang = ledger.residents.zhang
    wrong = zhang.id_number[:17] + ("1" if zhang.id_number[17] != "1" else "2")
    response = api(county.users.village_a).post(SEARCH, {"id_number": wrong}, format="json")
    assert response.status_code == 400
    assert "GB 11643" in json.dumps(response.json()["id_number"], ensure_ascii=False)


def test_a_malformed_phone_is_refused(ledger, county, api):
    response = api(county.users.village_a).post(SEARCH, {"phone": "12"}, format="json")
    assert response.status_code == 400 and "phone" in response.json()


# --- filters and fields -----------------------------------------------------------------------------


def test_residents_by_tag_unit_and_name(ledger, county, api):
    client = api(county.users.village_a)
    assert names(client.get("/api/v1/residents/", {"tag": "dibao"})) == {"张小明"}
    assert names(client.get("/api/v1/residents/", {"unit": county.cell_a12.code})) == {"赵强"}
    # 孙丽 lives in 乙一村 but is registered in 一格: she belongs to 一格's list (GRID-8).
    assert "孙丽" in names(client.get("/api/v1/residents/", {"unit": county.cell_a11.code}))
    assert names(client.get("/api/v1/residents/", {"name": "张"})) == {"张伟", "张小明"}


def test_a_unit_outside_the_scope_filters_to_nothing(ledger, county, api):
    client = api(county.users.village_b)
    assert results(client.get("/api/v1/households/", {"unit": county.village_a.code})) == []


def test_residents_who_moved_out_are_listed_only_when_asked(ledger, county, api):
    services.set_resident_status(
        ledger.residents.li, "moved_out", by=county.users.sysadmin, on=datetime.date(2025, 3, 1)
    )
    client = api(county.users.grid_worker)
    assert "李娜" not in names(client.get("/api/v1/residents/"))
    assert "李娜" in names(client.get("/api/v1/residents/", {"status": "all"}))
    assert names(client.get("/api/v1/residents/", {"status": "moved_out"})) == {"李娜"}
    assert client.get(f"/api/v1/residents/{ledger.residents.li.pk}/").status_code == 200


def test_places_and_organisations_by_kind_and_name(ledger, county, api):
    client = api(county.users.county)
    assert names(client.get("/api/v1/places/", {"kind": PlaceKind.SCHOOL})) == {"乙一村小学"}
    assert names(client.get("/api/v1/places/", {"name": "服务站"})) == {"甲一村党群服务站"}
    assert names(client.get("/api/v1/organisations/", {"kind": "party_branch"})) == {"甲一村网格党支部"}


def test_a_household_shows_its_grids_and_members(ledger, county, api):
    data = api(county.users.grid_worker).get("/api/v1/households/B1-1/").json()
    assert data["grid"] == {"code": county.grid_b1.code, "name": "乙一村网格"}
    assert data["registered_grid"] == {"code": county.cell_a11.code, "name": "一格"}
    assert data["member_count"] == 1
    assert data["status"] == "active"


def test_a_resident_shows_grids_tags_age_and_party(ledger, county, api):
    client = api(county.users.village_a)
    child = client.get(f"/api/v1/residents/{ledger.residents.child.pk}/").json()
    assert child["grid"] == {"code": county.cell_a11.code, "name": "一格"}
    assert child["registered_grid"] is None
    assert sorted(child["tags"]) == ["dibao", "left_behind_child"]
    assert child["age"] == ledger.residents.child.age
    assert child["household"]["number"] == "A11-1"
    assert "birth_date" not in child
    zhao = client.get(f"/api/v1/residents/{ledger.residents.zhao.pk}/").json()
    assert zhao["political_status"] == "party_member"
    assert zhao["party_organisation"] == {"id": ledger.branch.pk, "name": "甲一村网格党支部"}
    sun = api(county.users.grid_worker).get(f"/api/v1/residents/{ledger.residents.sun.pk}/").json()
    assert sun["registered_grid"] == {"code": county.cell_a11.code, "name": "一格"}


def test_a_party_branch_counts_its_members(ledger, county, api):
    data = api(county.users.village_a).get(f"/api/v1/organisations/{ledger.branch.pk}/").json()
    assert data["party_member_count"] == 1


def test_the_resident_list_takes_a_fixed_number_of_queries(
    ledger, county, api, django_assert_max_num_queries
):
    client = api(county.users.village_a)
    client.get("/api/v1/residents/")
    household = Household.objects.create(number="A11-9", grid=county.cell_a11, address="一格9号")
    Resident.objects.bulk_create(
        Resident(household=household, name=f"居民{i}", relation=Relation.CHILD) for i in range(30)
    )
    with django_assert_max_num_queries(8):
        assert len(results(client.get("/api/v1/residents/"))) == 36
    with django_assert_max_num_queries(8):
        assert len(results(client.get("/api/v1/households/"))) == 5  # with B1-1, registered in 一格


def test_a_number_in_the_query_string_is_refused_not_searched(ledger, county, api):
    zhang = ledger.residents.zhang
    response = api(county.users.village_a).get("/api/v1/residents/", {"id_number": zhang.id_number})
    assert response.status_code == 400
    assert "POST" in str(response.json()["id_number"])
    assert zhang.id_number not in response.content.decode()


def test_a_search_names_exactly_one_number(ledger, county, api):
    response = api(county.users.village_a).post(SEARCH, {}, format="json")
    assert response.status_code == 400
    assert (
        api(county.users.department).post(SEARCH, {"phone": "13800001234"}, format="json").status_code == 403
    )
