"""Resident points in the admin: rules and goods edited through the services within the user's units; books
and entries read only, never deleted; another village's records answer 404."""

import pytest
from django.urls import reverse

from wangge.core.audit import history_for
from wangge.points import services
from wangge.points.models import PointBook, PointEntry, PointRule, ShopItem

from .conftest import give, rule

pytestmark = pytest.mark.django_db

LISTS = [
    "admin:points_pointrule_changelist",
    "admin:points_shopitem_changelist",
    "admin:points_pointbook_changelist",
    "admin:points_pointentry_changelist",
]


@pytest.fixture
def books(pw):
    give(pw, pw.h.a1, 50)
    give(pw, pw.h.b1, 30, by=pw.users.village_b)
    services.create_item(by=pw.users.village_b, unit=pw.county.village_b, name="乙村肥皂", price=10, stock=3)
    return pw


def test_every_list_opens_for_a_village_and_shows_its_own_records_only(books, login):
    client = login(books.users.village_a)
    for name in LISTS:
        assert client.get(reverse(name)).status_code == 200, name
    items = client.get(reverse("admin:points_shopitem_changelist")).content.decode()
    assert "肥皂" in items and "乙村肥皂" not in items
    book_list = client.get(reverse("admin:points_pointbook_changelist")).content.decode()
    assert "A1" in book_list and "B1" not in book_list
    entries = client.get(reverse("admin:points_pointentry_changelist")).content.decode()
    assert "A1" in entries and "B1" not in entries


def test_another_villages_records_are_404_in_the_admin(books, login):
    client = login(books.users.village_a)
    b_book = PointBook.objects.get(household=books.h.b1)
    b_entry = PointEntry.objects.get(book=b_book)
    b_item = ShopItem.objects.get(name="乙村肥皂")
    assert client.get(reverse("admin:points_pointbook_change", args=[b_book.pk])).status_code == 404
    assert client.get(reverse("admin:points_pointentry_change", args=[b_entry.pk])).status_code == 404
    assert client.get(reverse("admin:points_shopitem_change", args=[b_item.pk])).status_code == 404
    a_book = PointBook.objects.get(household=books.h.a1)
    assert client.get(reverse("admin:points_pointbook_change", args=[a_book.pk])).status_code == 200
    entries = client.get(reverse("admin:points_pointentry_changelist"), {"book__id__exact": a_book.pk})
    assert entries.status_code == 200 and entries.context["cl"].result_count == 1


def test_books_and_entries_are_read_only_and_never_deleted(books, login):
    client = login(books.users.sysadmin)
    book = PointBook.objects.get(household=books.h.a1)
    entry = PointEntry.objects.get(book=book)
    response = client.post(reverse("admin:points_pointentry_change", args=[entry.pk]), {"points": 999})
    assert response.status_code == 403
    assert (
        client.post(reverse("admin:points_pointentry_delete", args=[entry.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert (
        client.post(reverse("admin:points_pointbook_delete", args=[book.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert client.get(reverse("admin:points_pointentry_add")).status_code == 403
    assert client.get(reverse("admin:points_pointbook_add")).status_code == 403
    assert PointEntry.objects.get(pk=entry.pk).points == 50
    assert PointBook.objects.get(pk=book.pk).balance == 50


def test_a_village_adds_its_own_rule_and_cannot_touch_deployment_wide_ones(books, login):
    client = login(books.users.village_a)
    url = reverse("admin:points_pointrule_add")
    data = {
        "code": "jia_river",
        "name": "护河巡河",
        "kind": "deed",
        "points": 3,
        "unit": books.county.village_a.pk,
        "yearly_cap": 30,
        "period": "",
        "description": "",
        "is_active": "on",
        "sort_order": 100,
        "source": "",
    }
    assert client.post(url, data).status_code == 302
    local = PointRule.objects.get(code="jia_river")
    assert local.unit == books.county.village_a and history_for(local).count() == 1
    # A title needs its period; any other rule has none.
    title = client.post(url, data | {"code": "jia_title", "kind": "title", "period": ""})
    assert "period" in title.context["adminform"].form.errors
    assert client.post(url, data | {"code": "jia_deed", "period": "month"}).status_code == 302
    assert PointRule.objects.get(code="jia_deed").period == ""
    # No unit (deployment-wide), or another village's: refused on the unit.
    wide = client.post(url, data | {"code": "wide", "unit": ""})
    assert "unit" in wide.context["adminform"].form.errors
    other = client.post(url, data | {"code": "other", "unit": books.county.village_b.pk})
    assert "unit" in other.context["adminform"].form.errors
    # A deployment-wide rule is shown but not changed.
    volunteer = rule("volunteer_service")
    change = reverse("admin:points_pointrule_change", args=[volunteer.pk])
    assert client.get(change).status_code == 200
    assert (
        client.post(change, data | {"code": "volunteer_service", "unit": "", "points": 99}).status_code == 403
    )
    assert rule("volunteer_service").points == 5
    # Its own rule is changed and logged; another village does not see it.
    edit = reverse("admin:points_pointrule_change", args=[local.pk])
    assert client.post(edit, data | {"points": 4}).status_code == 302
    assert PointRule.objects.get(pk=local.pk).points == 4 and history_for(local).count() == 2
    assert (
        client.post(reverse("admin:points_pointrule_delete", args=[local.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert login(books.users.village_b).get(edit).status_code == 404


def test_goods_are_added_in_the_admin_through_the_service(books, login):
    client = login(books.users.village_a)
    url = reverse("admin:points_shopitem_add")
    data = {
        "unit": books.county.village_a.pk,
        "name": "牙膏",
        "description": "",
        "price": 8,
        "stock": 10,
        "is_active": "on",
        "sort_order": 100,
    }
    assert client.post(url, data).status_code == 302
    item = ShopItem.objects.get(name="牙膏")
    assert item.stock == 10 and history_for(item).count() == 1
    assert "name" in client.post(url, data).context["adminform"].form.errors
    assert (
        "unit"
        in client.post(url, data | {"name": "x", "unit": books.county.village_b.pk})
        .context["adminform"]
        .form.errors
    )
    change = reverse("admin:points_shopitem_change", args=[item.pk])
    assert client.post(change, data | {"price": 9, "stock": 500}).status_code == 302
    item.refresh_from_db()
    assert (item.price, item.stock) == (9, 10)


def test_the_admin_needs_a_manager(books, login):
    response = login(books.users.grid_worker).get(reverse("admin:points_pointentry_changelist"))
    assert response.status_code == 302 and "login" in response["Location"]
    # The county centre reads (USE_ADMIN) but keeps no shop and no rules.
    client = login(books.users.county)
    assert client.get(reverse("admin:points_pointentry_changelist")).status_code == 200
    assert client.get(reverse("admin:points_shopitem_add")).status_code == 403
    assert client.get(reverse("admin:points_pointrule_add")).status_code == 403
