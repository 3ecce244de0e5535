"""民情联系卡 (TEAM-6, INFO-4): one household's card and a grid's cards as PDF — who serves the household,
their work phones, the supervision phone and the QR code to the grid's report page — and who may print."""

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from wangge.core.testing import make_user
from wangge.people import cards
from wangge.people.roles import Role
from wangge.units.models import Unit

pytestmark = [pytest.mark.django_db, pytest.mark.urls("wangge.people.tests.urls")]


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: datetime.date(2026, 12, 2))


@pytest.fixture
def card_world(county, ledger):
    users = county.users
    users.grid_worker.full_name, users.grid_worker.phone = "王网格", "13800000001"
    users.grid_worker.save()
    users.grid_leader.full_name, users.grid_leader.phone = "李组长", "13800000002"
    users.grid_leader.save()
    Unit.objects.filter(pk=county.town_a.pk).update(supervision_phone="023-66661111")
    return county, ledger


@pytest.fixture
def qr_data(monkeypatch):
    """What the QR codes encode: every value handed to segno."""
    encoded = []
    original = cards.segno.make
    monkeypatch.setattr(cards.segno, "make", lambda data, **kw: encoded.append(data) or original(data, **kw))
    return encoded


def pdf_text(response) -> tuple[str, PdfReader]:
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return "".join(page.extract_text() for page in reader.pages), reader


def test_a_household_card_names_its_staff_phones_and_report_code(card_world, login, qr_data):
    county, _ledger = card_world
    response = login(county.users.grid_worker).get(reverse("staff:household_card", args=["A11-1"]))
    text, reader = pdf_text(response)
    assert len(reader.pages) == 1
    for expected in ("A11-1", "一格1号", "王网格", "13800000001", "李组长", "13800000002", "023-66661111"):
        assert expected in text
    assert "甲一村" in text and "一组" in text
    report = "http://testserver" + reverse("public:report", args=[county.cell_a11.code])
    assert qr_data == [report] and report in text


def test_a_grid_without_its_own_worker_is_served_from_above(card_world, login):
    county, _ledger = card_world
    text, _reader = pdf_text(
        login(county.users.village_a).get(reverse("staff:household_card", args=["A12-1"]))
    )
    # 二格 has no worker of its own: the grid leader of 一组 serves it.
    assert "A12-1" in text and "李组长" in text and "王网格" not in text
    make_user("worker_b", (county.cell_a12, Role.GRID_WORKER_PART_TIME), full_name="乙岗员")
    text, _reader = pdf_text(
        login(county.users.village_a).get(reverse("staff:household_card", args=["A12-1"]))
    )
    assert "乙岗员" in text


def test_the_cards_of_a_grid_in_one_pdf(card_world, login, qr_data, settings):
    county, _ledger = card_world
    response = login(county.users.village_a).get(reverse("staff:grid_cards", args=[county.grid_a1.code]))
    text, reader = pdf_text(response)
    assert len(reader.pages) == 1  # three cards, four to a page
    assert "A11-1" in text and "A11-2" in text and "A12-1" in text and "B1-1" not in text
    assert sorted(qr_data) == sorted(
        "http://testserver" + reverse("public:report", args=[grid.code])
        for grid in (county.cell_a11, county.cell_a12)
    )
    settings.WANGGE_CONTACT_CARDS_MAX = 2
    response = login(county.users.village_a).get(reverse("staff:grid_cards", args=[county.grid_a1.code]))
    assert response.status_code == 400 and 'data-too-many="3"' in response.content.decode()


def test_cards_are_printed_under_the_public_address_when_one_is_set(card_world, login, qr_data, settings):
    county, _ledger = card_world
    settings.WANGGE_PUBLIC_BASE_URL = "https://wangge.example.gov.cn/"
    login(county.users.grid_worker).get(reverse("staff:household_card", args=["A11-1"]))
    assert qr_data == [
        "https://wangge.example.gov.cn" + reverse("public:report", args=[county.cell_a11.code])
    ]


def test_many_cards_fill_several_pages(county_with_households, login):
    county = county_with_households
    response = login(county.users.village_a).get(reverse("staff:grid_cards", args=[county.cell_a11.code]))
    text, reader = pdf_text(response)
    assert len(reader.pages) == 10  # 40 households, 4 to a page
    assert f"{county.cell_a11.code}001" in text and f"{county.cell_a11.code}040" in text


def test_who_may_print_cards(card_world, login, client):
    county, _ledger = card_world
    card = reverse("staff:household_card", args=["A11-1"])
    grid = reverse("staff:grid_cards", args=[county.grid_a1.code])
    for url in (card, grid):
        client.logout()
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
        for name in ("outsider", "department"):
            assert login(getattr(county.users, name)).get(url).status_code == 403
        assert login(county.users.village_b).get(url).status_code == 404  # another village
    assert (
        login(county.users.grid_worker).get(reverse("staff:household_card", args=["A12-1"])).status_code
        == 404
    )
    assert (
        login(county.users.village_a).get(reverse("staff:household_card", args=["NOPE"])).status_code == 404
    )
    village = reverse("staff:grid_cards", args=[county.village_a.code])
    assert login(county.users.village_a).get(village).status_code == 404  # a village is not a grid
