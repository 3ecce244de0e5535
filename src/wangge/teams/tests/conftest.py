import datetime

import pytest
from django.utils import timezone

from wangge.ledger.models import Household

# A Saturday in 2026; the test county's posts start on 2020-01-01.
TODAY = datetime.date(2026, 5, 16)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


def add_households(grid, count: int, *, closed: int = 0) -> None:
    """`count` active and `closed` closed households in `grid`."""
    Household.objects.bulk_create(
        Household(
            number=f"{grid.code}{i:04d}",
            grid=grid,
            address=f"{grid.name}{i}号",
            status="closed" if i >= count else "active",
        )
        for i in range(count + closed)
    )
