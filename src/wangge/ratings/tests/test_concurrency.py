"""Two submissions at once (a double tap, a retry racing the original) make one rating (PostgreSQL)."""

import uuid

import pytest
from django.db import connection

from wangge.core.testing import run_together
from wangge.ratings import services
from wangge.ratings.choices import ProviderKind
from wangge.ratings.models import DepartmentRating, ResidentRating, ServiceProvider

from .conftest import finished_case

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="two concurrent write transactions need PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("restore_migrated_rows"),
]


def test_two_concurrent_first_ratings_by_one_rater_make_one(world):
    case = finished_case(world)

    def rate(index):
        return services.rate_department(
            by=world.users.grid_worker,
            case=case,
            department=world.department,
            speed=3 + index,
            result=4,
            attitude=4,
        )

    results, errors = run_together(lambda: rate(0), lambda: rate(1))
    assert not errors, errors
    assert sorted(created for _rating, created in results) == [False, True]
    assert DepartmentRating.objects.count() == 1


def test_a_residents_submission_sent_twice_at_once_is_kept_once(world):
    provider = ServiceProvider.objects.create(
        name="县自来水公司", kind=ProviderKind.WATER, unit=world.county.county
    )
    key = uuid.uuid4()

    def rate(_index):
        return services.rate_provider(
            provider=provider,
            unit=world.county.cell_a11,
            quality=4,
            responsiveness=4,
            transparency=4,
            client_uuid=key,
        )

    results, errors = run_together(lambda: rate(0), lambda: rate(1))
    assert not errors, errors
    assert sorted(created for _rating, created in results) == [False, True]
    assert ResidentRating.objects.count() == 1
