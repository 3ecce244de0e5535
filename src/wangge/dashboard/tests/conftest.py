"""The crafted week of the command centre's tests: Monday 2 to Friday 6 March 2026, looked at on Monday
9 March. Every case is made through the services at a given time; the expected figures are worked out by
hand in test_figures.py's docstring."""

import datetime
from types import SimpleNamespace

import pytest

from wangge.cases import services
from wangge.cases.choices import Source
from wangge.cases.models import Category
from wangge.cases.testing import local, patrol_case

MONDAY, FRIDAY = datetime.date(2026, 3, 2), datetime.date(2026, 3, 6)
TODAY = datetime.date(2026, 3, 9)
NOW = local(2026, 3, 9, 10)


@pytest.fixture
def week(world):
    users = world.users
    dispute = Category.objects.get(code="0101")  # 矛盾纠纷 › 邻里纠纷
    petition = Category.objects.get(code="1701")  # 信访事项登记
    repeated = Category.objects.get(code="1702")  # 重复信访与信访积案

    # D1: a neighbours' quarrel settled in the grid the same day, rated basically satisfied.
    d1 = patrol_case(world, category=dispute, now=local(2026, 3, 2, 9))
    d1 = services.handle_in_place(
        d1, by=users.grid_worker, result="已调解", mediation_outcome="succeeded", now=local(2026, 3, 2, 15)
    )
    services.rate(d1, rating="basically_satisfied", now=local(2026, 3, 2, 18))

    # D2: a major dispute taken up to the village, whose mediation fails the next day.
    d2 = patrol_case(world, category=dispute, severity="major", now=local(2026, 3, 3, 10))
    d2 = services.escalate(d2, by=users.grid_worker, reason="双方情绪激动", now=local(2026, 3, 3, 11))
    d2 = services.escalate(d2, by=users.grid_leader, reason="需村调委会", now=local(2026, 3, 3, 11, 30))
    services.handle_in_place(
        d2,
        by=users.village_a,
        result="调解未达成协议，引导诉讼",
        mediation_outcome="failed",
        now=local(2026, 3, 4, 10),
    )

    # D3: a petition assigned from above, received online, still open.
    d3 = patrol_case(
        world, category=petition, source=Source.HIGHER_LEVEL, register=False, now=local(2026, 3, 4, 9)
    )
    services.register(d3, by=users.grid_worker, petition_channel="online", now=local(2026, 3, 4, 10))

    # D4: a repeated petition raised in person with the grid worker of 乙一村, still open.
    patrol_case(
        world, by=world.users.grid_worker_b, point=world.point_b1, category=repeated, now=local(2026, 3, 5, 9)
    )

    # D5: a street lamp in 二格, left open past its deadline (Thursday 5 March).
    patrol_case(world, by=users.grid_leader, point=world.point_a12, now=local(2026, 3, 2, 10))

    # D6: a resident's report found not to be a case.
    d6, _ = services.report_case(
        reporter=None,
        source=Source.RESIDENT,
        description="楼上装修噪音",
        lng=108.02,
        lat=31.05,
        now=local(2026, 3, 3, 8),
    )
    services.reject(d6, by=users.grid_worker, reason="not_a_case", note="已协商", now=local(2026, 3, 3, 9))

    # D7: registered the Thursday before, handled in place on Monday: closed in the week, not its cohort.
    d7 = patrol_case(world, now=local(2026, 2, 26, 9))
    services.handle_in_place(d7, by=users.grid_worker, result="已修复", now=local(2026, 3, 2, 11))

    return SimpleNamespace(world=world, units=world.county, county=world.county.county)
