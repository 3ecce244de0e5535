"""Ratings in the admin: providers edited through the service, ratings read-only and scoped, and a
department never shown who rated it."""

import uuid

import pytest
from django.urls import reverse

from wangge.core.audit import history_for
from wangge.core.models import ChangeAction
from wangge.core.testing import make_user
from wangge.people.roles import Role
from wangge.ratings import services
from wangge.ratings.choices import ProviderKind
from wangge.ratings.models import DepartmentRating, ResidentRating, ServiceProvider

from .conftest import finished_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def ratings(world):
    """One rating in 甲镇 (by grid_worker) and one in 乙镇 (by grid_worker_b), both of 县应急管理局."""
    a = finished_case(world)
    b = finished_case(world, point=world.point_b1)
    marks = {"speed": 4, "result": 4, "attitude": 4}
    in_a, _ = services.rate_department(
        by=world.users.grid_worker, case=a, department=world.department, **marks
    )
    in_b, _ = services.rate_department(
        by=world.users.grid_worker_b, case=b, department=world.department, **marks
    )
    return in_a, in_b


def test_ratings_are_listed_in_scope_and_read_only(world, ratings, login):
    in_a, in_b = ratings
    client = login(world.users.township_a)
    html = client.get(reverse("admin:ratings_departmentrating_changelist")).content.decode()
    assert f"/{in_a.pk}/change/" in html and f"/{in_b.pk}/change/" not in html
    assert client.get(reverse("admin:ratings_departmentrating_change", args=[in_b.pk])).status_code == 404
    assert client.get(reverse("admin:ratings_departmentrating_change", args=[in_a.pk])).status_code == 200
    response = client.post(reverse("admin:ratings_departmentrating_change", args=[in_a.pk]), {"speed": 1})
    assert response.status_code == 403
    assert client.get(reverse("admin:ratings_departmentrating_add")).status_code == 403
    in_a.refresh_from_db()
    assert in_a.speed == 4
    county = (
        login(world.users.county).get(reverse("admin:ratings_departmentrating_changelist")).content.decode()
    )
    assert f"/{in_a.pk}/change/" in county and f"/{in_b.pk}/change/" in county


def test_a_department_sees_nothing_of_its_raters_in_the_admin(world, ratings, login):
    # A department user has no admin at all.
    response = login(world.users.department).get(reverse("admin:ratings_departmentrating_changelist"))
    assert response.status_code == 302
    # A village cadre who also serves in the department rated: its ratings are not listed for them.
    both = make_user(
        "both",
        (world.county.village_a, Role.VILLAGE_ADMIN),
        (world.county.county, Role.DEPARTMENT_USER, world.department),
    )
    client = login(both)
    response = client.get(reverse("admin:ratings_departmentrating_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"/{ratings[0].pk}/change/" not in html and "grid_worker" not in html
    assert (
        client.get(reverse("admin:ratings_departmentrating_change", args=[ratings[0].pk])).status_code == 404
    )


def test_grid_staff_have_no_admin_for_ratings(world, ratings, login):
    response = login(world.users.grid_worker).get(reverse("admin:ratings_departmentrating_changelist"))
    assert response.status_code == 302


def test_resident_ratings_are_scoped_by_the_place_they_came_from(world, login):
    c = world.county
    provider = ServiceProvider.objects.create(name="县自来水公司", kind=ProviderKind.WATER, unit=c.county)
    marks = {"quality": 3, "responsiveness": 3, "transparency": 3}
    in_a, _ = services.rate_provider(provider=provider, unit=c.cell_a11, client_uuid=uuid.uuid4(), **marks)
    in_b, _ = services.rate_provider(provider=provider, unit=c.grid_b1, client_uuid=uuid.uuid4(), **marks)
    client = login(world.users.township_a)
    html = client.get(reverse("admin:ratings_residentrating_changelist")).content.decode()
    assert f"/{in_a.pk}/change/" in html and f"/{in_b.pk}/change/" not in html
    assert client.get(reverse("admin:ratings_residentrating_change", args=[in_b.pk])).status_code == 404
    assert ResidentRating.objects.count() == 2


def provider_form(unit, **fields):
    return {
        "name": "县燃气公司",
        "kind": ProviderKind.GAS,
        "unit": unit.pk,
        "phone": "96777",
        "is_active": "on",
        **fields,
    }


def test_the_county_adds_and_changes_a_provider_through_the_service(world, login):
    client = login(world.users.county)
    response = client.post(reverse("admin:ratings_serviceprovider_add"), provider_form(world.county.county))
    assert response.status_code == 302
    provider = ServiceProvider.objects.get()
    assert (provider.name, provider.kind, provider.unit, provider.phone) == (
        "县燃气公司",
        ProviderKind.GAS,
        world.county.county,
        "96777",
    )
    response = client.post(
        reverse("admin:ratings_serviceprovider_change", args=[provider.pk]),
        provider_form(world.county.county, name="县燃气有限公司", is_active=""),
    )
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.name == "县燃气有限公司" and not provider.is_active
    assert [e.action for e in history_for(provider)] == [ChangeAction.UPDATE, ChangeAction.CREATE]


def test_a_provider_serves_a_county_or_a_township_of_ones_own(world, login):
    client = login(world.users.sysadmin)
    response = client.post(
        reverse("admin:ratings_serviceprovider_add"), provider_form(world.county.village_a)
    )
    assert response.status_code == 200 and "unit" in response.context["adminform"].form.errors
    client = login(world.users.township_a)
    response = client.post(reverse("admin:ratings_serviceprovider_add"), provider_form(world.county.town_b))
    assert response.status_code == 200 and "unit" in response.context["adminform"].form.errors
    response = client.post(reverse("admin:ratings_serviceprovider_add"), provider_form(world.county.town_a))
    assert response.status_code == 302
    assert list(ServiceProvider.objects.values_list("unit", flat=True)) == [world.county.town_a.pk]


def test_a_township_reads_but_does_not_change_the_countys_providers(world, login):
    c = world.county
    county_provider = ServiceProvider.objects.create(
        name="县自来水公司", kind=ProviderKind.WATER, unit=c.county
    )
    other_township = ServiceProvider.objects.create(name="乙镇供水站", kind=ProviderKind.WATER, unit=c.town_b)
    client = login(world.users.township_a)
    html = client.get(reverse("admin:ratings_serviceprovider_changelist")).content.decode()
    assert "县自来水公司" in html and "乙镇供水站" not in html
    assert (
        client.get(reverse("admin:ratings_serviceprovider_change", args=[other_township.pk])).status_code
        == 404
    )
    response = client.post(
        reverse("admin:ratings_serviceprovider_change", args=[county_provider.pk]),
        provider_form(c.county, name="改名"),
    )
    assert response.status_code == 403
    county_provider.refresh_from_db()
    assert county_provider.name == "县自来水公司"
    assert not DepartmentRating.objects.exists()
