"""Visits and the AB cover (TEAM-3): the B's visit during A's absence counts for A's duty; the visit form
is for ledger readers only."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from wangge.core.testing import build_test_county, make_user
from wangge.fieldwork import visits
from wangge.fieldwork.choices import VisitPurpose
from wangge.ledger.models import Household
from wangge.people import services
from wangge.people.models import AbsenceReason, User
from wangge.people.roles import Role

D = datetime.date
TODAY = D(2026, 3, 2)


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


@pytest.fixture
def world(db):
    county = build_test_county(households_per_grid=3)
    county.b = make_user("worker_b", (county.cell_a12, Role.GRID_WORKER_FULL_TIME), full_name="乙岗员")
    a_post = county.users.grid_worker.posts.get()
    services.pair_posts(a_post, county.b, by=county.users.village_a, start=D(2026, 3, 1))
    services.record_absence(
        a_post, by=county.users.village_a, start=TODAY, end=D(2026, 3, 10), reason=AbsenceReason.TRAINING
    )
    county.home = Household.objects.filter(grid=county.cell_a11).order_by("number").first()
    return county


@pytest.mark.django_db
def test_the_covers_visit_counts_for_the_absent_workers_quarterly_duty(world):
    cover = User.objects.get(pk=world.b.pk)
    visit, _ = visits.record_visit(
        by=cover, household=world.home, date=TODAY, purposes=[VisitPurpose.OPINIONS]
    )
    assert visit.post_level.key == "grid4"
    absent = User.objects.get(pk=world.users.grid_worker.pk)
    quarterly = next(d for d in visits.due_list(absent) if d.rule.code == "quarterly_visit")
    assert (quarterly.done, quarterly.total) == (1, 3)


@pytest.mark.django_db
def test_the_visit_form_is_closed_to_posts_that_do_not_read_ledgers(world, client, login):
    officer = make_user("officer", (world.village_a, Role.LAW_ENFORCEMENT))
    login(officer)
    response = client.get(reverse("fieldwork:new_visit", args=[world.home.number]))
    assert response.status_code == 403 and world.home.address not in response.content.decode()
