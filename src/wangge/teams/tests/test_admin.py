"""The staff ledger in the admin: lists in scope, 404 outside it, additions through the services only."""

import datetime

import pytest
from django.urls import reverse

from wangge.core.audit import history_for
from wangge.teams import services
from wangge.teams.models import AppointmentAgreement, Badge

pytestmark = pytest.mark.django_db
D = datetime.date

LISTS = [
    "admin:teams_appointmentagreement_changelist",
    "admin:teams_badge_changelist",
    "admin:teams_trainingplan_changelist",
    "admin:teams_trainingsession_changelist",
    "admin:teams_trainingattendance_changelist",
    "admin:teams_pipelineflag_changelist",
]


@pytest.fixture
def badges(county):
    u = county.users
    a = services.issue_badge(
        by=u.county, user=u.grid_worker, number="A-1", issued_on=D(2026, 1, 1), unit=county.town_a
    )
    b = services.issue_badge(
        by=u.county, user=u.village_b, number="B-1", issued_on=D(2026, 1, 1), unit=county.town_b
    )
    return a, b


def test_every_list_opens_for_a_village_and_shows_its_own_records_only(county, badges, login):
    client = login(county.users.village_a)
    for name in LISTS:
        assert client.get(reverse(name)).status_code == 200, name
    html = client.get(reverse("admin:teams_badge_changelist")).content.decode()
    assert "A-1" in html and "B-1" not in html


def test_another_villages_record_is_404_in_the_admin(county, badges, login):
    a, b = badges
    client = login(county.users.village_a)
    assert client.get(reverse("admin:teams_badge_change", args=[b.pk])).status_code == 404
    assert client.get(reverse("admin:teams_badge_change", args=[a.pk])).status_code == 200


def test_a_saved_record_is_read_only_in_the_admin(county, badges, login):
    a, _ = badges
    client = login(county.users.county)
    response = client.post(reverse("admin:teams_badge_change", args=[a.pk]), {"number": "CHANGED"})
    assert response.status_code == 403
    assert Badge.objects.get(pk=a.pk).number == "A-1"
    assert client.post(reverse("admin:teams_badge_delete", args=[a.pk]), {"post": "yes"}).status_code == 403


def test_an_addition_in_the_admin_goes_through_the_service(county, login):
    client = login(county.users.village_a)
    url = reverse("admin:teams_appointmentagreement_add")
    data = {
        "user": county.users.grid_worker.pk,
        "unit": county.village_a.pk,
        "year": 2026,
        "post": "",
        "signed_on": "2026-01-05",
        "valid_from": "",
        "valid_to": "",
        "notes": "",
    }
    assert client.post(url, data).status_code == 302
    agreement = AppointmentAgreement.objects.get()
    assert agreement.valid_to == D(2026, 12, 31) and history_for(agreement).count() == 1
    again = client.post(url, data)
    assert again.status_code == 200 and "year" in again.context["adminform"].form.errors
    # A unit outside the village's reach is not among the choices.
    outside = client.post(url, data | {"unit": county.town_a.pk, "year": 2025})
    assert "unit" in outside.context["adminform"].form.errors
    assert AppointmentAgreement.objects.count() == 1


def test_the_admin_needs_a_manager_and_manage_staff_to_add(county, badges, login):
    response = login(county.users.grid_worker).get(reverse("admin:teams_badge_changelist"))
    assert response.status_code == 302 and "login" in response["Location"]
    assert login(county.users.department).get(reverse("admin:teams_badge_changelist")).status_code in (
        302,
        403,
    )
    assert login(county.users.village_a).get(reverse("admin:teams_trainingattendance_add")).status_code == 403
