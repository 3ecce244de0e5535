import datetime
from types import SimpleNamespace

import pytest
from django.utils import timezone

from wangge.ledger.models import Household
from wangge.points import services
from wangge.points.models import PointRule

# A Wednesday in 2026; the test county's posts start on 2020-01-01.
TODAY = datetime.date(2026, 5, 20)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


def rule(code: str) -> PointRule:
    return PointRule.objects.get(code=code)


@pytest.fixture
def pw(county):
    """The test county with a few households and 甲一村's points shop.

    甲一村 (village_a): a1 and a2 in 一格 (cell_a11, the grid worker's), a3 in 二格 (cell_a12), a4 in 二组
    (grid_a2); 甲二村: c1; 乙一村: b1. The shop of 甲一村 sells soap (10 points, 5 in stock), oil (50, 1 in
    stock) and towels (20, stock not counted).
    """

    def household(number, grid):
        return Household.objects.create(number=number, grid=grid, address=f"{grid.name}{number}号")

    h = SimpleNamespace(
        a1=household("A1", county.cell_a11),
        a2=household("A2", county.cell_a11),
        a3=household("A3", county.cell_a12),
        a4=household("A4", county.grid_a2),
        c1=household("C1", county.grid_a2_only),
        b1=household("B1", county.grid_b1),
    )
    keeper = county.users.village_a
    items = SimpleNamespace(
        soap=services.create_item(by=keeper, unit=county.village_a, name="肥皂", price=10, stock=5),
        oil=services.create_item(by=keeper, unit=county.village_a, name="食用油", price=50, stock=1),
        towel=services.create_item(by=keeper, unit=county.village_a, name="毛巾", price=20),
    )
    return SimpleNamespace(county=county, users=county.users, h=h, items=items)


def give(pw, household, points: int, by=None):
    """Put `points` in a household's book by an adjustment of the village's keeper."""
    entry, _ = services.adjust_points(
        by=by or pw.users.village_a,
        household=household,
        points=points,
        note="纸质存折余额结转",
    )
    return entry
