"""The ledgers in the admin: read-only and scoped, personal numbers masked; tags are configuration."""

import datetime

import pytest
from django.urls import reverse

from wangge.ledger import services
from wangge.ledger.choices import DrugControlStatus
from wangge.ledger.models import AttentionTag, DrugUserRecord, Resident

pytestmark = pytest.mark.django_db

LEDGER_LISTS = [
    "admin:ledger_household_changelist",
    "admin:ledger_resident_changelist",
    "admin:ledger_place_changelist",
    "admin:ledger_organisation_changelist",
    "admin:ledger_druguserrecord_changelist",
    "admin:ledger_keypersonlisting_changelist",
    "admin:ledger_importrun_changelist",
]


def test_another_village_does_not_see_zhang_wei(ledger, county, login):
    client = login(county.users.village_b)
    page = client.get(reverse("admin:ledger_resident_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "孙丽" in html and "张伟" not in html
    zhang = ledger.residents.zhang
    assert client.get(reverse("admin:ledger_resident_change", args=[zhang.pk])).status_code == 404
    assert client.get(reverse("admin:ledger_household_change", args=[zhang.household_id])).status_code == 404


def test_the_village_reads_its_resident_with_masked_numbers(ledger, county, login):
    zhang = ledger.residents.zhang
    client = login(county.users.village_a)
    listing = client.get(reverse("admin:ledger_resident_changelist")).content.decode()
    masked = f"5002********{zhang.id_number[-4:]}"
    assert "张伟" in listing and masked in listing and "138****1234" in listing
    assert zhang.id_number not in listing and zhang.phone not in listing
    page = client.get(reverse("admin:ledger_resident_change", args=[zhang.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert masked in html and "138****1234" in html
    assert zhang.id_number not in html and zhang.phone not in html
    assert zhang.id_number_index not in html and zhang.phone_index not in html


def test_the_landlords_and_guardians_phones_are_masked(ledger, county, login):
    record = DrugUserRecord.objects.create(
        resident=ledger.residents.tenant,
        control_status=DrugControlStatus.COMMUNITY_REHAB,
        first_found=datetime.date(2020, 5, 1),
    )
    client = login(county.users.village_a)
    household = client.get(reverse("admin:ledger_household_change", args=[ledger.households.a11_2.pk]))
    assert "139****1111" in household.content.decode()
    assert "13900001111" not in household.content.decode()
    special = client.get(reverse("admin:ledger_druguserrecord_change", args=[record.pk]))
    assert special.status_code == 200 and "陈租客" in special.content.decode()


def test_residents_are_searched_by_name_only(ledger, county, login):
    zhang = ledger.residents.zhang
    client = login(county.users.village_a)
    url = reverse("admin:ledger_resident_changelist")
    assert "张伟" in client.get(url, {"q": "张伟"}).content.decode()
    by_number = client.get(url, {"q": zhang.id_number}).content.decode()
    assert "张伟" not in by_number


def test_ledger_records_cannot_be_added_changed_or_deleted(ledger, county, login):
    zhang = ledger.residents.zhang
    client = login(county.users.sysadmin)
    assert client.get(reverse("admin:ledger_resident_add")).status_code == 403
    response = client.post(reverse("admin:ledger_resident_change", args=[zhang.pk]), {"name": "改掉"})
    assert response.status_code == 403
    delete = client.post(reverse("admin:ledger_resident_delete", args=[zhang.pk]), {"post": "yes"})
    assert delete.status_code == 403
    assert Resident.objects.get(pk=zhang.pk).name == "张伟"
    assert client.get(reverse("admin:ledger_household_add")).status_code == 403


@pytest.mark.parametrize("route", LEDGER_LISTS)
def test_a_department_user_is_refused(ledger, county, login, route):
    response = login(county.users.department).get(reverse(route))
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("route", LEDGER_LISTS)
def test_the_village_reads_every_ledger_list(ledger, county, login, route):
    assert login(county.users.village_a).get(reverse(route)).status_code == 200


def test_only_system_administrators_edit_the_tags(ledger, county, login):
    route = reverse("admin:ledger_attentiontag_changelist")
    assert login(county.users.township_a).get(route).status_code == 403
    assert login(county.users.county).get(route).status_code == 403
    assert login(county.users.sysadmin).get(route).status_code == 200


def test_an_administrator_adds_a_tag_and_retires_one(ledger, county, login):
    client = login(county.users.sysadmin)
    response = client.post(
        reverse("admin:ledger_attentiontag_add"),
        {
            "code": "pregnant",
            "name": "孕产妇",
            "group": "care",
            "description": "",
            "sort_order": "120",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    assert AttentionTag.objects.get(code="pregnant").is_active
    tekun = AttentionTag.objects.get(code="tekun")
    response = client.post(
        reverse("admin:ledger_attentiontag_change", args=[tekun.pk]),
        {"code": "renamed", "name": "特困供养", "group": "care", "description": "", "sort_order": "20"},
    )
    assert response.status_code == 302
    tekun.refresh_from_db()
    # Retired (the box left unticked) and renamed; the code stays.
    assert (tekun.code, tekun.name, tekun.is_active) == ("tekun", "特困供养", False)
    assert (
        client.post(reverse("admin:ledger_attentiontag_delete", args=[tekun.pk]), {"post": "yes"}).status_code
        == 403
    )


def test_the_admin_shows_an_id_holders_year_of_birth_only(ledger, county, login):
    """The admin shows ID numbers masked to everyone, so a date of birth read from one shows as its year."""
    zhang = ledger.residents.zhang  # born 1970-01-01
    html = login(county.users.village_a).get(reverse("admin:ledger_resident_change", args=[zhang.pk]))
    html = html.content.decode()
    assert "field-shown_birth_date" in html
    shown = html.split("field-shown_birth_date")[1].split('<div class="form-row')[0]
    assert "1970" in shown
    for full in ("1970-01-01", "1970年1月1日", "Jan. 1, 1970", "1970/01/01"):
        assert full not in html
    without_id = services.create_resident(
        by=county.users.sysadmin,
        household=ledger.households.a11_1,
        name="吴无证",
        birth_date=datetime.date(1944, 4, 14),
    )
    html = login(county.users.village_a).get(reverse("admin:ledger_resident_change", args=[without_id.pk]))
    assert "1944-04-14" in html.content.decode()
