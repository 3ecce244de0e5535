"""The pages of visits, patrols, publicity and coverage: what a grid worker and a desk see, and who may not."""

import datetime
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from wangge.cases.models import Case, Category
from wangge.core.testing import build_test_county
from wangge.fieldwork import visits
from wangge.fieldwork.choices import PublicityMethod, VisitPurpose
from wangge.fieldwork.models import PatrolRecord, PublicityRecord, Visit
from wangge.ledger.models import Household

TODAY = datetime.date(2026, 3, 30)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


@pytest.fixture
def world(db):
    county = build_test_county(households_per_grid=3)
    county.home = Household.objects.filter(grid=county.cell_a11).order_by("number").first()
    county.far_home = Household.objects.filter(grid=county.grid_b1).first()
    return county


def leaf_category():
    return Category.objects.filter(parent__isnull=False, is_active=True).order_by("code").first()


def visit_data(**extra):
    data = {"client_uuid": str(uuid.uuid4()), "date": TODAY.isoformat(), "purposes": [VisitPurpose.OPINIONS]}
    data.update(extra)
    return data


@pytest.mark.django_db
def test_the_due_list_shows_what_is_left_this_quarter(world, client, login):
    login(world.users.grid_worker)
    page = client.get(reverse("fieldwork:visits")).content.decode()
    code = world.cell_a11.code
    assert f'data-duty="quarterly_visit" data-unit="{code}" data-remaining="3"' in page
    assert f'data-due-household="{world.home.number}"' in page
    assert "还需走访" in page


@pytest.mark.django_db
def test_recording_a_visit_from_the_phone(world, client, login):
    login(world.users.grid_worker)
    url = reverse("fieldwork:new_visit", args=[world.home.number])
    assert client.get(url).status_code == 200
    response = client.post(url, visit_data(findings="老人独居，需关注"))
    visit = Visit.objects.get()
    assert response.status_code == 302 and response.url == reverse("fieldwork:visit", args=[visit.pk])
    assert visit.findings == "老人独居，需关注" and visit.visitor == world.users.grid_worker
    page = client.get(reverse("fieldwork:visits")).content.decode()
    assert 'data-remaining="2"' in page


@pytest.mark.django_db
def test_a_visit_raising_a_case(world, client, login):
    login(world.users.grid_worker)
    url = reverse("fieldwork:new_visit", args=[world.home.number])
    response = client.post(url, visit_data(raise_case="on", case_description="化粪池外溢"))
    assert response.status_code == 200 and 'data-field="case_category"' in response.content.decode()
    assert not Visit.objects.exists()

    category = leaf_category()
    response = client.post(
        url, visit_data(raise_case="on", case_category=category.code, case_description="化粪池外溢")
    )
    visit = Visit.objects.get()
    assert visit.case is not None and visit.case.category == category
    detail = client.get(response.url).content.decode()
    assert f'data-case="{visit.case.pk}"' in detail
    assert Case.objects.get().households.get() == world.home


@pytest.mark.django_db
def test_visit_pages_are_closed_outside_ones_area(world, client, login):
    visit, _ = visits.record_visit(
        by=world.users.grid_worker, household=world.home, date=TODAY, purposes=[VisitPurpose.SERVICE]
    )
    detail = reverse("fieldwork:visit", args=[visit.pk])
    # anonymous → login
    assert client.get(reverse("fieldwork:visits")).status_code == 302
    assert client.get(detail).status_code == 302
    # another village's admin sees nothing of it; its household has no form here either
    login(world.users.village_b)
    assert client.get(detail).status_code == 404
    assert client.get(reverse("fieldwork:new_visit", args=[world.home.number])).status_code == 404
    assert f'data-visit="{visit.pk}"' not in client.get(reverse("fieldwork:visit_list")).content.decode()
    # the worker may not visit another village's household
    login(world.users.grid_worker)
    assert client.get(reverse("fieldwork:new_visit", args=[world.far_home.number])).status_code == 404
    # departments keep no households: 403 on every desk page
    login(world.users.department)
    for name in ("visit_list", "coverage", "publicity"):
        assert client.get(reverse(f"fieldwork:{name}")).status_code == 403
    assert client.get(detail).status_code == 403
    # no grid post: no visit list of one's own
    login(world.users.village_a)
    assert client.get(reverse("fieldwork:visits")).status_code == 403
    assert client.get(detail).status_code == 200
    assert f'data-visit="{visit.pk}"' in client.get(reverse("fieldwork:visit_list")).content.decode()
    login(world.users.county)
    assert client.get(detail).status_code == 200


@pytest.mark.django_db
def test_the_coverage_page(world, client, login):
    visits.record_visit(
        by=world.users.grid_worker, household=world.home, date=TODAY, purposes=[VisitPurpose.SERVICE]
    )
    login(world.users.village_a)
    page = client.get(reverse("fieldwork:coverage")).content.decode()
    assert 'data-rule="quarterly_visit" data-total="6" data-covered="1"' in page
    assert f'data-child="{world.grid_a1.code}" data-child-total="6" data-child-covered="1"' in page
    page = client.get(reverse("fieldwork:coverage"), {"unit": world.grid_a1.code}).content.decode()
    assert f'data-child="{world.cell_a11.code}" data-child-total="3" data-child-covered="1"' in page
    # another village's code is not in the area: an error on the field, and no figures of it
    page = client.get(reverse("fieldwork:coverage"), {"unit": world.village_b.code}).content.decode()
    assert 'data-field="unit"' in page and "has-error" in page
    login(world.users.township_b)
    page = client.get(reverse("fieldwork:coverage"), {"unit": world.village_a.code}).content.decode()
    assert f'data-child="{world.grid_a1.code}"' not in page


@pytest.mark.django_db
def test_patrol_and_publicity_forms(world, client, login):
    login(world.users.grid_worker)
    response = client.post(
        reverse("fieldwork:new_patrol"),
        {"client_uuid": str(uuid.uuid4()), "grid": world.cell_a11.pk, "date": TODAY.isoformat(), "route": ""},
    )
    assert response.status_code == 200 and 'data-field="route"' in response.content.decode()
    response = client.post(
        reverse("fieldwork:new_patrol"),
        {
            "client_uuid": str(uuid.uuid4()),
            "grid": world.cell_a11.pk,
            "date": TODAY.isoformat(),
            "route": "河堤",
        },
    )
    assert response.status_code == 302 and PatrolRecord.objects.get().route == "河堤"

    response = client.post(
        reverse("fieldwork:publicity"),
        {
            "client_uuid": str(uuid.uuid4()),
            "unit": world.cell_a11.pk,
            "date": TODAY.isoformat(),
            "topic": "防溺水",
            "method": PublicityMethod.LOUDSPEAKER,
            "audience": "一格村民",
            "reached": 60,
        },
    )
    assert response.status_code == 302
    record = PublicityRecord.objects.get()
    login(world.users.village_b)
    assert f'data-publicity="{record.pk}"' not in client.get(reverse("fieldwork:publicity")).content.decode()
    login(world.users.township_a)
    assert f'data-publicity="{record.pk}"' in client.get(reverse("fieldwork:publicity")).content.decode()


@pytest.mark.django_db
def test_the_household_page_lists_its_visits(world, client, login):
    visit, _ = visits.record_visit(
        by=world.users.grid_worker, household=world.home, date=TODAY, purposes=[VisitPurpose.CARE]
    )
    login(world.users.village_a)
    page = client.get(reverse("ledger:household", args=[world.home.number])).content.decode()
    assert f'data-visit="{visit.pk}"' in page and 'id="record-visit"' in page
