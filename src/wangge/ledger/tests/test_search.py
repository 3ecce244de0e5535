"""Resident search: by name, tag, unit subtree and status (GET), and by exact ID number or phone (POST,
answered with a 303 to the list filtered by the value's blind index) — always masked, never reaching
outside the user's area, naming a mistyped ID's rule, and never putting a full number in a URL or page."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from wangge.core.models import PersonalDataAccess
from wangge.core.pii import mask_id_number
from wangge.ledger import services
from wangge.ledger.choices import ResidentStatus
from wangge.ledger.filters import classify_search

pytestmark = pytest.mark.django_db

ZHANG_PHONE = "13800001234"
GB11643_CHECK_DIGIT = "The check digit of the ID number is wrong (GB 11643)"


@pytest.fixture(autouse=True)
def english(client):
    """The pages are asserted in English (the deployment's default language is Chinese)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def search(client, **params):
    """A GET of the resident list with plain filters (name, tag, unit, status, id_key, phone_key)."""
    response = client.get(reverse("ledger:residents"), params)
    assert response.status_code == 200
    return response


def post_search(client, query: str = "", **data):
    """POST an exact search (or the index's `q`) to the resident list; `query` is the list's GET query."""
    url = reverse("ledger:residents") + (f"?{query}" if query else "")
    return client.post(url, data)


def exact(client, query: str = "", **data):
    """POST an exact search, check it is answered by a 303 to a URL without the typed value, follow it."""
    response = post_search(client, query, **data)
    assert response.status_code == 303
    location = response["Location"]
    for value in data.values():
        digits = re.sub(r"\D", "", value)
        assert value not in location and (len(digits) < 7 or digits not in location)
    followed = client.get(location)
    assert followed.status_code == 200
    return followed


def names(response) -> list[str]:
    return [r.name for r in response.context["page"]]


def next_value(response) -> str:
    """The `next` field of the language form in base.html (the page's own address)."""
    return re.search(r'name="next" type="hidden" value="([^"]*)"', response.content.decode()).group(1)


# --- exact search by POST ------------------------------------------------------------------------------


def test_an_exact_id_number_is_posted_and_comes_back_as_its_blind_index(ledger, county, login):
    zhang = ledger.residents.zhang
    client = login(county.users.village_a)
    response = post_search(client, id_number=zhang.id_number)
    assert response.status_code == 303
    location = response["Location"]
    assert urlsplit(location).path == reverse("ledger:residents")
    assert parse_qs(urlsplit(location).query) == {"id_key": [zhang.id_number_index]}
    assert zhang.id_number not in location
    followed = client.get(location)
    assert names(followed) == ["张伟"]
    page = followed.content.decode()
    assert mask_id_number(zhang.id_number) in page and "138****1234" in page
    assert "Searching by an exact ID number." in page
    assert zhang.id_number not in page and ZHANG_PHONE not in page
    # The GET filter form keeps the key, so narrowing further by tag or status keeps the exact search.
    assert f'<input type="hidden" name="id_key" value="{zhang.id_number_index}"' in page
    assert 'name="phone_key"' not in page


def test_an_id_number_with_a_lowercase_x_or_spaces_is_normalised(ledger, county, login):
    zhang = ledger.residents.zhang
    spaced = f"{zhang.id_number[:6]} {zhang.id_number[6:14]} {zhang.id_number[14:]}".lower()
    assert names(exact(login(county.users.village_a), id_number=spaced)) == ["张伟"]


def test_an_exact_phone_finds_the_one_resident(ledger, county, login):
    client = login(county.users.village_a)
    followed = exact(client, phone=ZHANG_PHONE)
    assert names(followed) == ["张伟"]
    assert "Searching by an exact phone number." in followed.content.decode()
    assert names(exact(client, phone="+86 138 0000 1234")) == ["张伟"]
    assert names(exact(client, phone="13800001235")) == []


def test_the_page_never_shows_a_full_number_not_even_in_the_language_forms_next(ledger, county, login):
    zhang = ledger.residents.zhang
    for who in ("sysadmin", "village_a", "grid_worker", "county"):
        client = login(getattr(county.users, who))
        for data in ({"id_number": zhang.id_number}, {"phone": ZHANG_PHONE}, {"q": zhang.id_number}):
            followed = exact(client, **data)
            page = followed.content.decode()
            assert zhang.id_number not in page and ZHANG_PHONE not in page
            assert mask_id_number(zhang.id_number) in page and "138****1234" in page
            assert "_key=" in next_value(followed) and zhang.id_number not in next_value(followed)
    assert not PersonalDataAccess.objects.exists()  # a list is never an unmasked view


def test_the_pagination_links_keep_the_key_and_never_the_phone(ledger, county, login):
    for i in range(55):
        services.create_resident(
            by=county.users.sysadmin,
            household=ledger.households.a12_1,
            name=f"王{i:02d}",
            phone="13911112222",
        )
    client = login(county.users.village_a)
    followed = exact(client, phone="139 1111 2222")
    assert followed.context["page"].paginator.count == 55
    page = followed.content.decode()
    key = services.phone_and_index("13911112222")[1]
    assert re.search(rf'\?page=2&amp;[^"]*phone_key={key}', page)
    assert "13911112222" not in page
    second = client.get(reverse("ledger:residents"), {"phone_key": key, "page": 2})
    assert len(second.context["page"]) == 5 and "13911112222" not in second.content.decode()


def test_a_mistyped_id_number_names_the_rule_and_lists_nobody(ledger, county, login):
    zhang = ledger.residents.zhang
    wrong = zhang.id_number[:17] + ("0" if zhang.id_number[17] != "0" else "1")
    client = login(county.users.village_a)
    response = post_search(client, id_number=wrong)
    assert response.status_code == 200  # the page again, with the error: no redirect
    assert GB11643_CHECK_DIGIT in response.context["search_form"].errors["id_number"][0]
    page = response.content.decode()
    assert GB11643_CHECK_DIGIT in page and 'class="field has-error" data-field="id_number"' in page
    assert names(response) == []  # an invalid search lists nobody rather than everybody
    assert wrong not in page  # what was typed is not written back into the page
    response = post_search(client, id_number="51010219901")
    assert "An ID number has 17 digits followed by a digit or X." in response.content.decode()
    assert names(response) == []


def test_a_mistyped_phone_names_the_rule(ledger, county, login):
    response = post_search(login(county.users.village_a), phone="12345")
    assert response.status_code == 200
    assert "A phone number is an 11-digit mobile number" in response.content.decode()
    assert 'class="field has-error" data-field="phone"' in response.content.decode()
    assert names(response) == []


def test_an_empty_exact_search_says_what_to_type(ledger, county, login):
    response = post_search(login(county.users.village_a), id_number="  ", phone="")
    assert response.status_code == 200
    assert "Type a full ID number or phone number to search for." in response.content.decode()
    assert names(response) == []


def test_the_exact_search_keeps_the_other_filters_and_replaces_an_earlier_key(ledger, county, login):
    li, zhang = ledger.residents.li, ledger.residents.zhang
    services.set_resident_status(li, ResidentStatus.MOVED_OUT, by=county.users.sysadmin)
    client = login(county.users.village_a)
    # By default only people on the register: 李娜 has moved out.
    assert names(exact(client, id_number=li.id_number)) == []
    query = f"status=all&page=2&id_key={zhang.id_number_index}"
    response = post_search(client, query, id_number=li.id_number)
    assert parse_qs(urlsplit(response["Location"]).query) == {
        "status": ["all"],
        "id_key": [li.id_number_index],
    }
    assert names(client.get(response["Location"])) == ["李娜"]
    # The search form posts to the list with the current filters, and offers a way out of the search.
    followed = client.get(response["Location"])
    page = followed.content.decode()
    assert 'action="/ledger/residents/?status=all"' in page
    assert 'id="clear-exact" href="?status=all"' in page or 'href="?status=all" id="clear-exact"' in page
    assert "李娜" in names(search(client, status="all")) and len(names(search(client, status="all"))) > 1


def test_the_exact_search_needs_the_csrf_token(ledger, county):
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(county.users.village_a)
    url = reverse("ledger:residents")
    assert client.post(url, {"id_number": ledger.residents.zhang.id_number}).status_code == 403
    client.get(reverse("ledger:index"))
    token = client.cookies["csrftoken"].value
    response = client.post(url, {"id_number": ledger.residents.zhang.id_number, "csrfmiddlewaretoken": token})
    assert response.status_code == 303


# --- the key in the URL ---------------------------------------------------------------------------------


def test_a_bad_key_is_a_form_error_not_a_crash(ledger, county, login):
    client = login(county.users.village_a)
    zhang = ledger.residents.zhang
    for bad in ("xyz", zhang.id_number_index.upper(), zhang.id_number_index + "0", zhang.id_number):
        for name in ("id_key", "phone_key"):
            response = search(client, **{name: bad})
            assert names(response) == []
            assert "This exact search is not valid (any more)" in response.content.decode()
            assert name in response.context["filter"].form.errors
            assert f'<input type="hidden" name="{name}"' not in response.content.decode()
    # A well-formed key of nobody (or of someone outside the area) simply finds nobody.
    assert names(search(client, id_key="0" * 40)) == []


def test_the_old_plaintext_parameters_never_search_and_are_not_echoed(ledger, county, login):
    zhang = ledger.residents.zhang
    client = login(county.users.village_a)
    everybody = names(search(client))
    for name, value in (("id_number", zhang.id_number), ("phone", ZHANG_PHONE), ("q", zhang.id_number)):
        response = client.get(reverse("ledger:residents"), {name: value, "tag": "dibao"})
        assert response.status_code == 302 and value not in response["Location"]
        assert parse_qs(urlsplit(response["Location"]).query) == {"tag": ["dibao"]}
        followed = client.get(response["Location"])
        assert names(followed) == ["张小明"]  # the tag filtered; the number did not
        assert value not in followed.content.decode()
        bare = client.get(reverse("ledger:residents"), {name: value}, follow=True)
        assert names(bare) == everybody and value not in bare.content.decode()


# --- scope ------------------------------------------------------------------------------------------------


def test_a_search_finds_nobody_outside_ones_area(ledger, county, login):
    client = login(county.users.village_b)
    zhang = ledger.residents.zhang
    assert names(exact(client, id_number=zhang.id_number)) == []
    assert names(exact(client, phone=ZHANG_PHONE)) == []
    assert names(exact(client, q=zhang.id_number)) == []
    assert names(search(client, id_key=zhang.id_number_index)) == []
    assert names(search(client, name="张")) == []
    # Another village's units are not village B's to filter by: answered like a code that does not exist.
    for code in (county.cell_a12.code, county.cell_a11.code, "999999999"):
        response = search(client, unit=code)
        assert names(response) == [] and "unit" in response.context["filter"].form.errors
    # 孙丽 lives in 乙一村 and is registered in 一格: she counts for both, and village B finds her at home.
    assert names(search(client, unit=county.grid_b1.code)) == ["孙丽"]


def test_the_exact_search_is_closed_to_users_without_the_ledgers(ledger, county, login, client):
    url = reverse("ledger:residents")
    id_number = ledger.residents.zhang.id_number
    anonymous = client.post(url, {"id_number": id_number})
    assert anonymous.status_code == 302 and id_number not in anonymous["Location"]
    assert login(county.users.department).post(url, {"id_number": id_number}).status_code == 403
    assert login(county.users.outsider).post(url, {"id_number": id_number}).status_code == 403


# --- the index's one search box -------------------------------------------------------------------------


def test_the_index_search_box_posts_to_the_resident_list(ledger, county, login):
    client = login(county.users.village_a)
    index = client.get(reverse("ledger:index")).content.decode()
    form = index.split('id="resident-search"')[0].rsplit("<form", 1)[1]
    assert 'method="post"' in form and f'action="{reverse("ledger:residents")}"' in form
    assert 'name="q"' in index and "csrfmiddlewaretoken" in index


def test_the_index_search_box_with_a_name_goes_to_the_name_filter(ledger, county, login):
    client = login(county.users.village_a)
    response = post_search(client, q=" 张 ")
    assert response.status_code == 303
    assert parse_qs(urlsplit(response["Location"]).query) == {"name": ["张"]}
    assert names(client.get(response["Location"])) == ["张伟", "张小明"]


def test_the_index_search_box_with_an_id_number_or_phone_goes_by_key(ledger, county, login):
    client = login(county.users.village_a)
    zhang = ledger.residents.zhang
    assert names(exact(client, q=zhang.id_number)) == ["张伟"]
    assert names(exact(client, q="138 0000 1234")) == ["张伟"]
    wrong = zhang.id_number[:17] + ("0" if zhang.id_number[17] != "0" else "1")
    response = post_search(client, q=wrong)
    assert response.status_code == 200 and names(response) == []
    assert GB11643_CHECK_DIGIT in response.context["search_form"].errors["id_number"][0]
    assert wrong not in response.content.decode()


def test_classify_search_tells_ids_phones_and_names_apart(ledger):
    assert classify_search(ledger.residents.zhang.id_number) == "id_number"
    assert classify_search("50022919700101111x") == "id_number"
    assert classify_search("13800001234") == "phone"
    assert classify_search("023-12345678") == "phone"
    assert classify_search("张伟") == "name"


# --- the GET filters ---------------------------------------------------------------------------------------


def test_search_by_name_tag_and_unit_subtree(ledger, county, login):
    client = login(county.users.township_a)
    assert names(search(client, name="小明")) == ["张小明"]
    assert names(search(client, tag="dibao")) == ["张小明"]
    assert names(search(client, tag="floating")) == ["陈租客"]
    # 一组 (grid_a1) holds 一格 and 二格; 孙丽 of B1-1 is registered in 一格 and counts there too.
    assert names(search(client, unit=county.cell_a12.code)) == ["赵强"]
    assert set(names(search(client, unit=county.grid_a1.code))) == {
        "张伟",
        "李娜",
        "张小明",
        "陈租客",
        "赵强",
        "孙丽",
    }


def test_the_grid_worker_finds_the_person_registered_in_his_grid(ledger, county, login):
    client = login(county.users.grid_worker)
    assert names(search(client, unit=county.cell_a11.code, name="孙")) == ["孙丽"]


def test_status_defaults_to_people_on_the_register(ledger, county, login):
    services.set_resident_status(ledger.residents.li, ResidentStatus.MOVED_OUT, by=county.users.sysadmin)
    client = login(county.users.village_a)
    assert "李娜" not in names(search(client))
    assert names(search(client, status=ResidentStatus.MOVED_OUT)) == ["李娜"]
    assert "李娜" in names(search(client, status="all"))
    assert names(exact(client, q=ledger.residents.li.id_number)) == []
    assert names(exact(client, "status=all", q=ledger.residents.li.id_number)) == ["李娜"]


def test_the_filters_are_kept_in_the_pagination_links(ledger, county, login):
    for i in range(55):
        services.create_resident(
            by=county.users.sysadmin,
            household=ledger.households.a12_1,
            name=f"王{i:02d}",
            tags=[ledger.tags["veteran"]],
        )
    client = login(county.users.village_a)
    response = search(client, tag="veteran")
    assert response.context["page"].paginator.count == 55 and len(response.context["page"]) == 50
    page = response.content.decode()
    assert "?page=2&amp;tag=veteran" in page or "?page=2&amp;status=present&amp;tag=veteran" in page
    assert len(search(client, tag="veteran", page=2).context["page"]) == 5


@pytest.mark.parametrize(
    "value",
    [
        "张伟 50022919700101",  # a name with part of a number
        "500229 19700101",  # part of an ID number, neither an ID nor a phone
        "身份证500229197001011",
        "１３８０００１２３４５６７８",  # full-width digits count too
    ],
)
def test_the_index_box_refuses_a_value_with_part_of_a_number(ledger, county, login, value):
    client = login(county.users.village_a)
    response = post_search(client, q=value)
    assert response.status_code == 200  # no redirect: the value never reaches a URL
    page = response.content.decode()
    assert 'id="search-errors"' in page and response.context["search_form"].non_field_errors()
    assert value not in page and value.split()[-1] not in page
    assert names(response) == []


def test_the_index_box_still_takes_a_name_with_a_few_digits(ledger, county, login):
    response = post_search(login(county.users.village_a), q="张伟2号")
    assert response.status_code == 303
    assert parse_qs(urlsplit(response["Location"]).query) == {"name": ["张伟2号"]}


def test_an_id_number_typed_with_dashes_or_spaces_is_recognised(ledger, county, login):
    zhang = ledger.residents.zhang
    number = zhang.id_number
    client = login(county.users.village_a)
    for typed in (
        f"{number[:6]}-{number[6:14]}-{number[14:]}",
        f"{number[:6]} {number[6:14]} {number[14:]}",
        f"{number[:6]}－{number[6:14]}－{number[14:]}",  # full-width dashes of a Chinese input method
    ):
        assert classify_search(typed) == "id_number"
        assert names(exact(client, q=typed)) == ["张伟"]
        assert names(exact(client, id_number=typed)) == ["张伟"]
