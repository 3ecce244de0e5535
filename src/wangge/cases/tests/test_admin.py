"""The admin shows cases read-only and scoped; categories and time limits are configuration."""

import pytest
from django.urls import reverse

from wangge.cases.models import Case
from wangge.cases.testing import patrol_case

pytestmark = pytest.mark.django_db


def test_cases_in_the_admin_follow_the_scope(world, login):
    in_a = patrol_case(world)
    in_b = patrol_case(world, by=world.users.grid_worker_b, point=world.point_b1)
    client = login(world.users.village_b)
    page = client.get(reverse("admin:cases_case_changelist")).content.decode()
    assert in_b.number in page and in_a.number not in page
    assert client.get(reverse("admin:cases_case_change", args=[in_a.pk])).status_code == 404
    assert client.get(reverse("admin:cases_case_change", args=[in_b.pk])).status_code == 200


def test_cases_cannot_be_added_changed_or_deleted_in_the_admin(world, login):
    """Every step goes through the services; the admin is for reading."""
    case = patrol_case(world)
    client = login(world.users.sysadmin)
    assert client.get(reverse("admin:cases_case_add")).status_code == 403
    response = client.post(reverse("admin:cases_case_change", args=[case.pk]), {"title": "改掉"})
    assert response.status_code == 403
    assert client.post(reverse("admin:cases_case_delete", args=[case.pk]), {"post": "yes"}).status_code == 403
    assert Case.objects.get(pk=case.pk).title != "改掉"


def test_a_grid_worker_has_no_admin(world, login):
    response = login(world.users.grid_worker).get(reverse("admin:cases_case_changelist"))
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("route", ["admin:cases_category_changelist", "admin:cases_timelimit_changelist"])
def test_only_system_administrators_configure_categories_and_limits(world, login, route):
    assert login(world.users.township_a).get(reverse(route)).status_code == 403
    assert login(world.users.county).get(reverse(route)).status_code == 403
    assert login(world.users.sysadmin).get(reverse(route)).status_code == 200


def test_an_administrator_edits_a_time_limit(world, login):
    limit = world.category.time_limits.get(stage="handling", handler_level="village")
    client = login(world.users.sysadmin)
    response = client.post(
        reverse("admin:cases_timelimit_change", args=[limit.pk]),
        {
            "category": world.category.pk,
            "stage": "handling",
            "handler_level": "village",
            "value": "4",
            "unit": "working_days",
        },
    )
    assert response.status_code == 302
    limit.refresh_from_db()
    assert limit.value == 4


def test_notifications_are_not_readable_by_a_township_admin_in_the_admin(world, login):
    assert (
        login(world.users.township_a).get(reverse("admin:notices_notification_changelist")).status_code == 403
    )
