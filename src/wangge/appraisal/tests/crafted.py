"""The crafted March 2026 of test_scorecards' docstring, built once per test that asks for it."""

import datetime
from decimal import Decimal

from wangge.appraisal import services
from wangge.cases import services as case_services
from wangge.cases.testing import local, patrol_case
from wangge.fieldwork.models import Visit, WorkLog
from wangge.fieldwork.services import working_days
from wangge.ledger.models import Household
from wangge.units.models import UnitLevel

MARCH = (datetime.date(2026, 3, 1), datetime.date(2026, 3, 31))
NOW = local(2026, 4, 15, 12)
d = Decimal


def build_march(world):
    c, users = world.county, world.users
    days = working_days(*MARCH)
    assert len(days) == 22
    for day in days[::2]:
        WorkLog.objects.create(
            author=users.grid_worker, grid=c.cell_a11, date=day, patrolled="巡查一格", submitted_at=NOW
        )
    households = [
        Household.objects.create(number=f"A11{i}", grid=c.cell_a11, address=f"一格{i}号") for i in range(4)
    ]
    grid4 = UnitLevel.objects.get(key="grid4")
    for i, household in enumerate(households[:3]):
        Visit.objects.create(
            household=household,
            grid=c.cell_a11,
            visitor=users.grid_worker,
            post_level=grid4,
            date=datetime.date(2026, 1 + i, 10),
            purposes=["policy"],
        )
    c1 = patrol_case(world, now=local(2026, 3, 2, 9))
    c1 = case_services.handle_in_place(c1, by=users.grid_worker, result="已处理", now=local(2026, 3, 2, 15))
    case_services.rate(c1, rating="basically_satisfied", now=local(2026, 3, 2, 18))
    c2 = patrol_case(world, now=local(2026, 3, 3, 10))
    c3 = patrol_case(world, now=local(2026, 3, 4, 10))
    assert (c2.kpi_due_at.date(), c3.kpi_due_at.date()) == (
        datetime.date(2026, 3, 6),
        datetime.date(2026, 3, 9),
    )
    services.record_inspection(
        by=users.township_a,
        unit=c.village_a,
        inspected_on=datetime.date(2026, 3, 20),
        checked="台账、日志、公示牌",
        findings=[
            services.FindingDraft("一格民情日志缺记", d("2"), users.grid_worker),
            services.FindingDraft("公示牌电话未更新", d("1")),
        ],
        today=datetime.date(2026, 3, 20),
    )
    return world
