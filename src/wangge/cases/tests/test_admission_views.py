"""The admission list pages: who sees which list (another township's answers 404, no post 403), the
keepers' steps and the request form a refused dispatcher comes to; and the admin for these rows."""

import re

import pytest
from django.urls import reverse

from wangge.cases import admission
from wangge.cases.choices import AdmissionBasis, AdmissionRequestStatus
from wangge.cases.models import AdmissionItem, AdmissionRequest, Category
from wangge.cases.testing import patrol_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def lists(world):
    """The county admits 邻里纠纷; 甲镇 keeps its own list admitting the test category; one request is pending."""
    users, county = world.users, world.county
    neighbours = Category.objects.get(code="0101")
    county_item = admission.add_item(
        keeper=county.county,
        category=neighbours,
        by=users.county,
        basis=AdmissionBasis.LAW,
        note="《人民调解法》",
    )
    town_item = admission.add_item(
        keeper=county.town_a, category=world.category, by=users.township_a, basis=AdmissionBasis.APPROVED
    )
    pending = admission.request_admission(
        keeper=county.county, category=world.category, by=users.township_a, reason="路灯巡查需网格承担"
    )
    return county_item, town_item, pending


def list_url(keeper):
    return reverse("cases:admission") + f"?keeper={keeper.code}"


def items(response) -> list[str]:
    return re.findall(r'data-item="\d+" data-category="(\d+)"', response.content.decode())


@pytest.mark.parametrize("name", ["cases:admission", "cases:admission_request"])
def test_anonymous_visitors_are_sent_to_sign_in(client, county, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_user_without_a_post_gets_403(world, lists, login):
    client = login(world.users.outsider)
    assert client.get(reverse("cases:admission")).status_code == 403
    assert client.get(reverse("cases:admission_request")).status_code == 403
    _county_item, _town_item, pending = lists
    assert (
        client.post(reverse("cases:admission_decide", args=[pending.pk]), {"decision": "approve"}).status_code
        == 403
    )


def test_a_list_is_seen_at_above_and_below_its_keeper_only(world, lists, login):
    county = world.county
    village = login(world.users.village_a)
    response = village.get(reverse("cases:admission"))  # default: the list in force for 甲一村, 甲镇's
    assert response.status_code == 200 and f'data-keeper="{county.town_a.code}"' in response.content.decode()
    assert items(response) == [world.category.code]
    assert items(village.get(list_url(county.county))) == ["0101"]
    other = login(world.users.township_b)
    assert other.get(list_url(county.town_a)).status_code == 404
    assert other.get(list_url(county.county)).status_code == 200
    assert f'data-in-force="{county.county.code}"' in other.get(list_url(county.town_b)).content.decode()
    assert login(world.users.county).get(list_url(county.town_b)).status_code == 200
    assert other.get(list_url(county.village_b)).status_code == 404  # a village keeps no list


def test_the_keeper_sees_the_decision_forms_others_do_not(world, lists, login):
    _county_item, _town_item, pending = lists
    keeper_page = login(world.users.county).get(list_url(world.county.county)).content.decode()
    assert f'data-decide="{pending.pk}"' in keeper_page and 'id="add-item"' in keeper_page
    requester_page = login(world.users.township_a).get(list_url(world.county.county)).content.decode()
    assert f'data-request="{pending.pk}"' in requester_page and "data-decide" not in requester_page
    assert "data-remove" not in requester_page and "data-request-link" in requester_page
    village_page = login(world.users.village_a).get(list_url(world.county.county)).content.decode()
    assert "data-request-link" not in village_page  # a village administrator does not dispatch
    other_page = login(world.users.township_b).get(list_url(world.county.county)).content.decode()
    assert f'data-request="{pending.pk}"' not in other_page  # 甲镇's request is not 乙镇's business


def test_approving_a_request_adds_the_item(world, lists, login):
    _county_item, _town_item, pending = lists
    refused = login(world.users.township_a).post(
        reverse("cases:admission_decide", args=[pending.pk]), {"decision": "approve"}
    )
    assert refused.status_code == 403
    other = login(world.users.township_b).post(
        reverse("cases:admission_decide", args=[pending.pk]), {"decision": "approve"}
    )
    assert other.status_code == 404
    client = login(world.users.county)
    response = client.post(
        reverse("cases:admission_decide", args=[pending.pk]), {"decision": "approve", "note": "同意"}
    )
    assert response.status_code == 302 and response.url == list_url(world.county.county)
    pending.refresh_from_db()
    assert pending.status == AdmissionRequestStatus.APPROVED
    assert sorted(items(client.get(response.url))) == ["0101", world.category.code]


def test_refusing_needs_a_reason(world, lists, login):
    _county_item, _town_item, pending = lists
    client = login(world.users.county)
    client.post(reverse("cases:admission_decide", args=[pending.pk]), {"decision": "refuse"})
    pending.refresh_from_db()
    assert pending.status == AdmissionRequestStatus.PENDING
    client.post(
        reverse("cases:admission_decide", args=[pending.pk]), {"decision": "refuse", "note": "属部门职责"}
    )
    pending.refresh_from_db()
    assert pending.status == AdmissionRequestStatus.REFUSED and pending.decision_note == "属部门职责"


def test_keepers_add_and_remove_items(world, lists, login):
    _county_item, town_item, _pending = lists
    county = world.county
    add = reverse("cases:admission_add_item")
    body = {"keeper": county.county.code, "category": world.top_category.pk, "basis": "superior"}
    assert login(world.users.township_a).post(add, body).status_code == 403
    assert login(world.users.township_b).post(add, {**body, "keeper": county.town_a.code}).status_code == 404
    client = login(world.users.county)
    assert client.post(add, body).status_code == 302
    assert AdmissionItem.objects.filter(keeper=county.county, category=world.top_category).exists()
    remove = reverse("cases:admission_remove_item", args=[town_item.pk])
    assert login(world.users.township_b).post(remove).status_code == 404
    assert login(world.users.village_a).post(remove).status_code == 403
    assert login(world.users.township_a).post(remove).status_code == 302
    assert not AdmissionItem.objects.filter(pk=town_item.pk).exists()


def test_the_request_form_is_filled_from_the_refused_case(world, login):
    county = world.county
    admission.add_item(
        keeper=county.county, category=Category.objects.get(code="0101"), by=world.users.county, basis="law"
    )
    case = patrol_case(world)
    client = login(world.users.township_a)
    form = client.get(reverse("cases:admission_request") + f"?case={case.pk}")
    assert form.status_code == 200
    page = form.content.decode()
    assert f'<option value="{world.category.pk}" selected>' in page
    assert f'<option value="{county.county.code}" selected>' in page
    response = client.post(
        reverse("cases:admission_request"),
        {
            "keeper": county.county.code,
            "category": world.category.pk,
            "reason": "路灯需网格巡查",
            "case": case.pk,
        },
    )
    assert response.status_code == 302 and response.url == list_url(county.county)
    request = AdmissionRequest.objects.get()
    assert request.case == case and request.requested_by == world.users.township_a
    again = client.post(
        reverse("cases:admission_request"),
        {"keeper": county.county.code, "category": world.category.pk, "reason": "再次申请"},
    )
    assert again.status_code == 200 and 'data-field="category"' in again.content.decode()
    assert AdmissionRequest.objects.count() == 1
    assert login(world.users.grid_worker).get(reverse("cases:admission_request")).status_code == 403
    assert (
        login(world.users.township_b).get(reverse("cases:admission_request") + f"?case={case.pk}").status_code
        == 404
    )


def test_the_admin_lists_admission_rows_in_scope_only(world, lists, login):
    county_item, town_item, pending = lists
    client = login(world.users.village_b)
    listing = client.get(reverse("admin:cases_admissionitem_changelist")).content.decode()
    assert reverse("admin:cases_admissionitem_change", args=[county_item.pk]) in listing
    assert reverse("admin:cases_admissionitem_change", args=[town_item.pk]) not in listing
    assert client.get(reverse("admin:cases_admissionitem_change", args=[town_item.pk])).status_code == 404
    assert client.get(reverse("admin:cases_admissionrequest_change", args=[pending.pk])).status_code == 404
    keeper = login(world.users.county)
    assert keeper.get(reverse("admin:cases_admissionrequest_change", args=[pending.pk])).status_code == 200
    assert (
        login(world.users.grid_worker).get(reverse("admin:cases_admissionitem_changelist")).status_code == 302
    )


# --- the scope matrix of the admission routes ----------------------------------------------------------------

ADMISSION_ROUTES = {
    "admission": ("get", lambda lists: list_url(lists[1].keeper)),
    "admission_request": ("get", lambda lists: reverse("cases:admission_request")),
    "admission_decide": ("post", lambda lists: reverse("cases:admission_decide", args=[lists[3].pk])),
    "admission_add_item": ("post", lambda lists: reverse("cases:admission_add_item")),
    "admission_remove_item": (
        "post",
        lambda lists: reverse("cases:admission_remove_item", args=[lists[1].pk]),
    ),
}


@pytest.fixture
def town_lists(world, lists):
    """甲镇's item and a request to 甲镇's list, both out of 乙镇's sight."""
    county_item, town_item, pending = lists
    town_request = admission.request_admission(
        keeper=world.county.town_a, category=world.top_category, by=world.users.township_a, reason="网格巡查"
    )
    return county_item, town_item, pending, town_request


def test_the_matrix_covers_every_admission_route():
    from wangge.cases import urls

    assert {p.name for p in urls.urlpatterns if p.name.startswith("admission")} == set(ADMISSION_ROUTES)


@pytest.mark.parametrize("route", sorted(ADMISSION_ROUTES))
def test_every_admission_route_is_closed_to_anonymous_visitors_and_users_without_a_post(
    world, town_lists, client, login, route
):
    method, url = ADMISSION_ROUTES[route]
    response = getattr(client, method)(url(town_lists), {"keeper": world.county.town_a.code})
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    outsider = login(world.users.outsider)
    assert getattr(outsider, method)(url(town_lists), {"keeper": world.county.town_a.code}).status_code == 403


@pytest.mark.parametrize(
    "route", ["admission", "admission_decide", "admission_add_item", "admission_remove_item"]
)
def test_every_admission_route_answers_404_for_another_townships_list(world, town_lists, login, route):
    method, url = ADMISSION_ROUTES[route]
    client = login(world.users.township_b)
    response = getattr(client, method)(url(town_lists), {"keeper": world.county.town_a.code})
    assert response.status_code == 404
    assert AdmissionItem.objects.filter(pk=town_lists[1].pk).exists()
    assert AdmissionRequest.objects.get(pk=town_lists[3].pk).status == AdmissionRequestStatus.PENDING
