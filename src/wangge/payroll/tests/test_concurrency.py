"""Concurrent payroll writes on PostgreSQL: two computations of one new sheet make one sheet; a reward granted
while the sheet over it is finalised is either paid by the frozen sheet or refused — never lost."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from wangge.core.testing import run_together
from wangge.payroll import services
from wangge.payroll.models import InformationReward, PayLine, PaySheet

from .conftest import D

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="two concurrent write transactions need PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("restore_migrated_rows"),
]


def test_two_concurrent_computations_make_one_sheet(county):
    u = county.users
    results, errors = run_together(
        lambda: services.compute_sheet(by=u.village_a, unit=county.village_a, month=D(2026, 3, 1)),
        lambda: services.compute_sheet(by=u.township_a, unit=county.village_a, month=D(2026, 3, 1)),
    )
    assert not errors, errors
    assert len({sheet.pk for sheet in results}) == 1
    sheet = PaySheet.objects.get()
    assert sheet.people == 2 and PayLine.objects.count() == 2  # one computation's lines, not both
    assert sheet.total == Decimal("1999.96")


def test_a_reward_racing_a_finalisation_is_paid_or_refused(county):
    u = county.users
    sheet = services.compute_sheet(by=u.village_a, unit=county.village_a, month=D(2026, 3, 1))
    _results, errors = run_together(
        lambda: services.finalise_sheet(by=u.village_a, sheet=sheet),
        lambda: services.grant_reward(
            by=u.township_a,
            person=u.grid_worker,
            unit=county.village_a,
            month=D(2026, 3, 1),
            amount="90",
            reason="信息",
        ),
    )
    assert all(isinstance(error, ValidationError) for error in errors), errors
    sheet.refresh_from_db()
    assert sheet.status == "final"
    if InformationReward.objects.exists():  # granted first: the finalisation recomputed and paid it
        assert not errors and sheet.reward_total == Decimal("90.00")
    else:  # finalised first: the reward was refused
        assert len(errors) == 1 and sheet.reward_total == Decimal("0.00")
