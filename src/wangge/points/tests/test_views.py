"""The points pages: the book (and its PDF), the award form, the shop, selections and the village summary —
what each user sees and may do; anonymous → login, no capability → 403, another village → 404."""

import io
import uuid

import pytest
from django.urls import reverse

from wangge.points import services
from wangge.points.models import PointBook, PointEntry, SelectedHousehold, ShopItem

from .conftest import TODAY, give, rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked(pw):
    give(pw, pw.h.a1, 100)
    services.award_points(by=pw.users.grid_worker, household=pw.h.a1, rule=rule("volunteer_service"))
    services.redeem(by=pw.users.grid_worker, household=pw.h.a1, item=pw.items.soap)
    give(pw, pw.h.b1, 30, by=pw.users.village_b)
    return pw


def pages(pw):
    """Every read-only page of 甲一村 and its household A1."""
    va = pw.county.village_a.code
    return [
        reverse("points:book", args=["A1"]),
        reverse("points:book_pdf", args=["A1"]),
        reverse("points:summary", args=[va]),
        reverse("points:shop", args=[va]),
        reverse("points:selections", args=[va]),
    ]


def test_anonymous_visitors_are_sent_to_sign_in(stocked, client):
    entry = PointEntry.objects.filter(book__household=stocked.h.a1).first()
    writes = [
        reverse("points:award", args=["A1"]),
        reverse("points:adjust", args=["A1"]),
        reverse("points:reverse", args=[entry.pk]),
        reverse("points:item_new", args=[stocked.county.village_a.code]),
        reverse("points:item_edit", args=[stocked.items.soap.pk]),
        reverse("points:item_stock", args=[stocked.items.soap.pk]),
        reverse("points:selection", args=[1]),
    ]
    for url in [reverse("points:index"), reverse("points:award_start"), *pages(stocked), *writes]:
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"], url


def test_users_without_a_points_or_ledger_right_are_refused(stocked, login):
    for user in (stocked.users.outsider, stocked.users.department):
        client = login(user)
        for url in [reverse("points:index"), reverse("points:award_start"), *pages(stocked)]:
            assert client.get(url).status_code == 403, (user, url)


def test_another_village_answers_404_everywhere(stocked, login):
    client = login(stocked.users.village_b)
    for url in pages(stocked):
        assert client.get(url).status_code == 404, url
    entry = PointEntry.objects.filter(book__household=stocked.h.a1).first()
    assert client.get(reverse("points:reverse", args=[entry.pk])).status_code == 404
    assert client.get(reverse("points:award", args=["A1"])).status_code == 404
    assert client.get(reverse("points:adjust", args=["A1"])).status_code == 404
    assert client.get(reverse("points:item_edit", args=[stocked.items.soap.pk])).status_code == 404
    assert client.get(reverse("points:item_new", args=[stocked.county.village_a.code])).status_code == 404
    # Its own household opens.
    assert client.get(reverse("points:book", args=["B1"])).status_code == 200


def test_the_book_shows_the_balance_and_every_entry(stocked, login):
    html = login(stocked.users.grid_worker).get(reverse("points:book", args=["A1"])).content.decode()
    assert 'data-balance="95"' in html
    assert 'data-entry="1" data-kind="adjustment" data-points="100" data-balance-after="100"' in html
    assert 'data-entry="3" data-kind="redemption" data-points="-10" data-balance-after="95"' in html
    assert 'id="award-link"' in html and 'id="redeem-link"' in html
    assert "data-reverse-link" not in html and 'id="adjust-link"' not in html  # a grid worker keeps no book
    keeper = login(stocked.users.village_a).get(reverse("points:book", args=["A1"])).content.decode()
    assert 'data-reverse-link="2"' in keeper and 'id="adjust-link"' in keeper
    # The county centre reads the book, and awards nothing.
    county = login(stocked.users.county).get(reverse("points:book", args=["A1"])).content.decode()
    assert 'data-balance="95"' in county and 'id="award-link"' not in county


def test_a_household_without_a_book_shows_zero(stocked, login):
    html = login(stocked.users.grid_worker).get(reverse("points:book", args=["A2"])).content.decode()
    assert 'data-balance="0"' in html and "data-no-entries" in html


def test_the_book_prints_as_a_pdf(stocked, login):
    from pypdf import PdfReader

    response = login(stocked.users.grid_worker).get(reverse("points:book_pdf", args=["A1"]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "A1" in text and "95" in text and "志愿服务" in text and "肥皂" in text
    year = login(stocked.users.grid_worker).get(reverse("points:book_pdf", args=["A1"]) + "?year=2025")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(year.content)).pages)
    assert "志愿服务" not in text
    # Out of scope: the grid worker of 一格 does not print 二组's books.
    give(stocked, stocked.h.a4, 5)
    assert login(stocked.users.grid_worker).get(reverse("points:book_pdf", args=["A4"])).status_code == 404


def test_the_phone_form_awards_once_per_submission(stocked, login):
    client = login(stocked.users.grid_worker)
    url = reverse("points:award", args=["A2"])
    form = client.get(url)
    assert form.status_code == 200
    choices = [str(r.pk) for r in form.context["form"].fields["rule"].queryset]
    assert str(rule("elder_care").pk) in choices and str(rule("clean_household").pk) not in choices
    data = {
        "client_uuid": str(uuid.uuid4()),
        "rule": rule("elder_care").pk,
        "quantity": 2,
        "date": TODAY.isoformat(),
        "case": "",
        "note": "照顾独居老人",
    }
    response = client.post(url, data)
    assert response.status_code == 302 and response["Location"] == reverse("points:book", args=["A2"])
    assert client.post(url, data).status_code == 302  # the phone retried
    assert PointEntry.objects.filter(book__household=stocked.h.a2).count() == 1
    assert PointBook.objects.get(household=stocked.h.a2).balance == 10


def test_the_award_form_shows_the_services_errors_on_their_fields(stocked, login):
    client = login(stocked.users.grid_worker)
    url = reverse("points:award", args=["A2"])
    base = {"client_uuid": str(uuid.uuid4()), "quantity": 1, "date": TODAY.isoformat(), "note": ""}
    response = client.post(url, base | {"rule": rule("hazard_report").pk, "case": ""})
    assert response.status_code == 200 and "case" in response.context["form"].errors
    response = client.post(url, base | {"rule": rule("elder_care").pk, "case": "NOPE"})
    assert "case" in response.context["form"].errors
    response = client.post(url, base | {"rule": rule("littering").pk, "case": ""})
    assert "__all__" in response.context["form"].errors  # the balance: shown above the form
    assert not PointEntry.objects.filter(book__household=stocked.h.a2).exists()


def test_award_pages_need_the_right_and_the_household_in_scope(stocked, login):
    assert login(stocked.users.county).get(reverse("points:award", args=["A1"])).status_code == 403
    assert login(stocked.users.grid_worker).get(reverse("points:award", args=["A3"])).status_code == 404
    client = login(stocked.users.grid_worker)
    response = client.get(reverse("points:award_start"), {"number": "A3"})
    assert response.status_code == 200 and "number" in response.context["form"].errors
    response = client.get(reverse("points:award_start"), {"number": "A2"})
    assert response.status_code == 302 and response["Location"] == reverse("points:award", args=["A2"])


def test_a_redemption_at_the_shop(stocked, login):
    client = login(stocked.users.grid_worker)
    url = reverse("points:shop", args=[stocked.county.village_a.code])
    html = client.get(url + "?household=A1").content.decode()
    assert 'id="redeem-form"' in html and f'data-item="{stocked.items.soap.pk}" data-stock="4"' in html
    assert 'value="A1"' in html and 'id="item-new-link"' not in html
    data = {"client_uuid": str(uuid.uuid4()), "household": "A1", "item": stocked.items.oil.pk, "quantity": 1}
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302  # retried
    assert PointBook.objects.get(household=stocked.h.a1).balance == 45
    assert ShopItem.objects.get(pk=stocked.items.oil.pk).stock == 0
    # Out of stock now, and a balance short for another: both refused with the field named.
    again = client.post(url, data | {"client_uuid": str(uuid.uuid4())})
    assert again.status_code == 200 and "__all__" in again.context["form"].errors
    assert again.context["form"].errors["__all__"]
    other = client.post(url, data | {"client_uuid": str(uuid.uuid4()), "household": "A3"})
    assert "household" in other.context["form"].errors  # not a household of the worker's grid


def test_the_shop_is_read_by_the_villages_grid_staff_and_kept_by_its_office(stocked, login):
    url = reverse("points:shop", args=[stocked.county.village_a.code])
    keeper = login(stocked.users.village_a).get(url).content.decode()
    assert 'id="item-new-link"' in keeper
    county = login(stocked.users.county)
    page = county.get(url).content.decode()
    assert 'id="redeem-form"' not in page
    assert county.post(url, {"household": "A1"}).status_code == 403
    assert (
        login(stocked.users.grid_worker)
        .get(reverse("points:item_new", args=[stocked.county.village_a.code]))
        .status_code
        == 403
    )


def test_goods_are_added_edited_and_restocked_on_the_shop_pages(stocked, login):
    client = login(stocked.users.village_a)
    code = stocked.county.village_a.code
    response = client.post(
        reverse("points:item_new", args=[code]),
        {
            "name": "洗衣粉",
            "description": "1kg",
            "price": 15,
            "stock": 8,
            "is_active": "on",
            "sort_order": 100,
        },
    )
    assert response.status_code == 302
    item = ShopItem.objects.get(name="洗衣粉")
    assert (item.price, item.stock, item.unit) == (15, 8, stocked.county.village_a)
    duplicate = client.post(
        reverse("points:item_new", args=[code]), {"name": "洗衣粉", "price": 5, "sort_order": 100}
    )
    assert "name" in duplicate.context["form"].errors
    response = client.post(
        reverse("points:item_edit", args=[item.pk]),
        {
            "name": "洗衣粉",
            "description": "2kg",
            "price": 25,
            "stock": 999,
            "is_active": "on",
            "sort_order": 1,
        },
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.price, item.description, item.stock) == (25, "2kg", 8)  # the stock does not move by editing
    assert (
        client.post(reverse("points:item_stock", args=[item.pk]), {"delta": 12, "note": "补货"}).status_code
        == 302
    )
    assert ShopItem.objects.get(pk=item.pk).stock == 20


def test_reversing_an_entry_from_the_book(stocked, login):
    entry = PointEntry.objects.get(book__household=stocked.h.a1, seq=2)
    assert login(stocked.users.grid_worker).get(reverse("points:reverse", args=[entry.pk])).status_code == 403
    client = login(stocked.users.village_a)
    url = reverse("points:reverse", args=[entry.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"note": ""})
    assert response.status_code == 200 and "note" in response.context["form"].errors
    assert client.post(url, {"note": "核实有误"}).status_code == 302
    assert PointBook.objects.get(household=stocked.h.a1).balance == 90
    html = client.get(reverse("points:book", args=["A1"])).content.decode()
    assert (
        'data-entry="2" data-kind="award" data-points="5" data-balance-after="105" class="reversed"' in html
    )


def test_an_adjustment_from_the_book(stocked, login):
    client = login(stocked.users.village_a)
    url = reverse("points:adjust", args=["A2"])
    data = {"client_uuid": str(uuid.uuid4()), "points": 40, "note": "纸质存折余额结转"}
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302
    assert PointBook.objects.get(household=stocked.h.a2).balance == 40
    assert login(stocked.users.grid_leader).get(url).status_code == 403


def test_a_selection_from_the_selections_page(stocked, login):
    code = stocked.county.village_a.code
    url = reverse("points:selections", args=[code])
    client = login(stocked.users.village_a)
    data = {"rule": rule("clean_household").pk, "day": "2026-05", "households": "A1, A2\nA4", "note": ""}
    response = client.post(url, data)
    selection = SelectedHousehold.objects.first().selection
    assert response.status_code == 302 and response["Location"] == reverse(
        "points:selection", args=[selection.pk]
    )
    assert client.post(url, data).status_code == 302  # the same list again: nobody gets the points twice
    assert (
        SelectedHousehold.objects.count() == 3 and PointBook.objects.get(household=stocked.h.a4).balance == 10
    )
    wrong = client.post(url, data | {"households": "A1 C1 B1"})
    assert "households" in wrong.context["form"].errors
    # The grid worker reads the list and sees its own households only; it records no selection.
    worker = login(stocked.users.grid_worker)
    page = worker.get(url).content.decode()
    assert 'id="selection-form"' not in page and f'data-selection="{selection.pk}"' in page
    assert worker.post(url, data).status_code == 403
    detail = worker.get(reverse("points:selection", args=[selection.pk])).content.decode()
    assert 'data-winner="A1"' in detail and 'data-winner="A4"' not in detail and 'data-total="3"' in detail
    assert (
        login(stocked.users.village_b).get(reverse("points:selection", args=[selection.pk])).status_code
        == 404
    )


def test_the_village_summary(stocked, login):
    services.select_households(
        by=stocked.users.village_a,
        village=stocked.county.village_a,
        rule=rule("clean_household"),
        day=TODAY,
        households=[stocked.h.a4],
    )
    client = login(stocked.users.village_a)
    html = client.get(reverse("points:summary", args=[stocked.county.village_a.code])).content.decode()
    assert 'data-figure="awarded" data-value="15"' in html
    assert 'data-figure="redeemed" data-value="10"' in html
    assert 'data-figure="corrected" data-value="100"' in html
    assert 'data-top="A1" data-balance="95"' in html and 'data-top="A4" data-balance="10"' in html
    assert f'data-item="{stocked.items.soap.pk}" data-stock="4"' in html
    assert "data-selection=" in html
    # The grid worker sees the village's figures and only its own households in the ranking.
    worker = login(stocked.users.grid_worker).get(
        reverse("points:summary", args=[stocked.county.village_a.code])
    )
    page = worker.content.decode()
    assert 'data-figure="awarded" data-value="15"' in page and 'data-top="A4"' not in page
    april = client.get(reverse("points:summary", args=[stocked.county.village_a.code]), {"month": "2026-04"})
    assert 'data-figure="awarded" data-value="0"' in april.content.decode()


def test_the_index_lists_the_villages_of_the_users_territory(stocked, login):
    html = login(stocked.users.township_a).get(reverse("points:index")).content.decode()
    village_a = stocked.county.village_a.code
    assert f'data-village="{village_a}" data-awarded="5" data-redeemed="10"' in html
    assert f'data-village="{stocked.county.village_b.code}"' not in html
    worker = login(stocked.users.grid_worker)
    page = worker.get(reverse("points:index")).content.decode()
    assert (
        f'data-village="{village_a}"' in page
        and f'data-village="{stocked.county.village_a2.code}"' not in page
    )
    found = worker.get(reverse("points:index"), {"number": "A1"})
    assert found.status_code == 302 and found["Location"] == reverse("points:book", args=["A1"])
    assert "number" in worker.get(reverse("points:index"), {"number": "B1"}).context["form"].errors


def test_the_book_page_costs_the_same_queries_for_many_entries(stocked, login):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(stocked.users.village_a)
    url = reverse("points:book", args=["A1"])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(12):
        services.award_points(
            by=stocked.users.grid_worker, household=stocked.h.a1, rule=rule("garbage_sorting")
        )
    with CaptureQueriesContext(connection) as many:
        assert 'data-entry="15"' in client.get(url).content.decode()
    assert len(many) == len(few)


def test_a_household_seen_from_its_grid_of_registration_is_read_not_awarded(stocked, login):
    from wangge.ledger.models import Household

    Household.objects.create(
        number="A5", grid=stocked.county.grid_a2, registered_grid=stocked.county.cell_a11, address="二组5号"
    )
    client = login(stocked.users.grid_worker)
    assert client.get(reverse("points:book", args=["A5"])).status_code == 200
    assert client.get(reverse("points:award", args=["A5"])).status_code == 403


def test_withdrawing_a_selected_household_returns_to_the_selection(stocked, login):
    selection, (winner,) = services.select_households(
        by=stocked.users.village_a,
        village=stocked.county.village_a,
        rule=rule("clean_household"),
        day=TODAY,
        households=[stocked.h.a4],
    )
    client = login(stocked.users.village_a)
    detail = reverse("points:selection", args=[selection.pk])
    assert "data-withdraw-link" in client.get(detail).content.decode()
    response = client.post(
        reverse("points:reverse", args=[winner.entry_id]), {"note": "复查不达标", "next": detail}
    )
    assert response.status_code == 302 and response["Location"] == detail
    assert 'data-withdrawn="yes"' in client.get(detail).content.decode()
    assert PointBook.objects.get(household=stocked.h.a4).balance == 0


def test_the_years_book_carries_forward_by_date_when_a_deed_is_recorded_late(pw, login):
    """+5 for 2 January, then +5 recorded on 5 January for a deed of 20 December: the 2026 book carries
    forward 5 (December's) and reads 10 after 2 January, not a carried 10 beside a running 5."""
    import datetime

    from pypdf import PdfReader

    volunteer = rule("volunteer_service")
    grid_worker = pw.users.grid_worker
    services.award_points(
        by=grid_worker,
        household=pw.h.a1,
        rule=volunteer,
        date=datetime.date(2026, 1, 2),
        on=datetime.date(2026, 1, 2),
    )
    services.award_points(
        by=grid_worker,
        household=pw.h.a1,
        rule=volunteer,
        date=datetime.date(2025, 12, 20),
        on=datetime.date(2026, 1, 5),
    )
    response = login(grid_worker).get(reverse("points:book_pdf", args=["A1"]) + "?year=2026")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    carried = (
        text.split("上年结转")[1].split()[0]
        if "上年结转" in text
        else text.split("Carried forward")[1].split()[0]
    )
    assert carried == "5"
    row = next(line for line in text.splitlines() if "2026-01-02" in line)
    assert row.rstrip().endswith("10") or " 10 " in row
