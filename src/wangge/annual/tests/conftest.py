"""Fixtures of the annual appraisal tests: a frozen day in December 2026 and rounds on the test county.

The test county's 甲一村 (village_a) has two grid staff (grid_leader at 一组, grid_worker at 一格) and its
administrator village_a; 乙一村 (village_b) has only its administrator.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from wangge.annual import services
from wangge.annual.choices import Voting
from wangge.annual.models import AppraisalEntry
from wangge.core.testing import make_user
from wangge.people.models import User
from wangge.people.roles import Role

DAY = datetime.date(2026, 12, 15)
YEAR = 2026


@pytest.fixture
def today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: DAY)
    return DAY


def fresh(user) -> User:
    """The user again, without the scope cached on the object."""
    return User.objects.get(pk=user.pk)


def grid_staff(unit, n: int, prefix: str = "w") -> list[User]:
    return [
        make_user(f"{prefix}{i:03d}", (unit, Role.GRID_WORKER_PART_TIME), full_name=f"网格员{prefix}{i:03d}")
        for i in range(n)
    ]


def ready(round) -> None:
    """Every entry of the round has a self-report and votes (test set-up, not a step under test)."""
    now = timezone.now()
    AppraisalEntry.objects.filter(round=round).update(
        self_report="全年走访", self_report_at=now, votes_competent=5, votes_entered_at=now
    )


def open_village_round(county, voting=Voting.BALLOTS, **kwargs):
    return services.open_round(
        by=county.users.village_a, unit=county.village_a, year=YEAR, voting=voting, **kwargs
    )


@pytest.fixture
def village_round(county, today):
    """甲一村's 2026 ballot round: grid_leader and grid_worker."""
    return open_village_round(county)


@pytest.fixture
def counts_round(county, today):
    """甲一村's 2026 round with entered vote counts."""
    return open_village_round(county, voting=Voting.COUNTS)


def entry_of(round, user) -> AppraisalEntry:
    return AppraisalEntry.objects.select_related("round__unit", "user").get(round=round, user=user)
