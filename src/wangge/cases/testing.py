"""Case fixtures on top of the crafted test county: one category with known limits, a second department."""

from __future__ import annotations

import datetime
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from wangge.core.testing import make_user
from wangge.people.models import Department
from wangge.people.roles import Role

from .choices import HandlerLevel, Source, Stage
from .models import Category, TimeLimit

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Limits in working days for the test category, per stage and level (CASE-7's 3 and 5 for handling).
TEST_LIMITS = {
    Stage.DISPATCH: {
        HandlerLevel.GRID: 1,
        HandlerLevel.VILLAGE: 1,
        HandlerLevel.TOWNSHIP: 1,
        HandlerLevel.COUNTY: 1,
    },
    Stage.HANDLING: {
        HandlerLevel.GRID: 3,
        HandlerLevel.VILLAGE: 3,
        HandlerLevel.TOWNSHIP: 5,
        HandlerLevel.COUNTY: 5,
        HandlerLevel.DEPARTMENT: 5,
    },
    Stage.VERIFICATION: {
        HandlerLevel.GRID: 2,
        HandlerLevel.VILLAGE: 2,
        HandlerLevel.TOWNSHIP: 2,
        HandlerLevel.COUNTY: 2,
    },
}


def local(*args) -> datetime.datetime:
    """An aware datetime in Asia/Shanghai: local(2026, 3, 2, 10) is 10:00 on 2 March 2026, local time."""
    return datetime.datetime(*args, tzinfo=SHANGHAI)


def build_case_world(county) -> SimpleNamespace:
    top = Category.objects.create(code="99", name="测试大类")
    category = Category.objects.create(
        code="9901",
        name="测试小类",
        parent=top,
        register_condition="有明确地点和事实",
        close_condition="现场核查已整改",
        default_department="县应急管理局",
    )
    for stage, levels in TEST_LIMITS.items():
        for level, days in levels.items():
            TimeLimit.objects.create(
                category=category, stage=stage, handler_level=level, value=Decimal(days), unit="working_days"
            )
    police = Department.objects.create(name="县公安局", code="gongan", unit=county.county)
    township_office = Department.objects.create(name="甲镇综治中心", code="jia-zongzhi", unit=county.town_a)
    users = county.users
    users.police = make_user("police", (county.county, Role.DEPARTMENT_USER, police))
    users.grid_worker_b = make_user("grid_worker_b", (county.grid_b1, Role.GRID_WORKER_FULL_TIME))
    return SimpleNamespace(
        county=county,
        users=users,
        category=category,
        top_category=top,
        police=police,
        township_office=township_office,
        department=county.department,
        # Points inside the crafted grids.
        point_a11=(108.02, 31.05),
        point_a12=(108.07, 31.05),
        point_b1=(108.3, 31.1),
        outside=(109.5, 31.1),
    )


def patrol_case(world, *, by=None, point=None, register=True, now=None, **kwargs):
    """A case a grid worker found on patrol in 一格, registered at once unless told otherwise."""
    from . import services

    by = by or world.users.grid_worker
    lng, lat = point or world.point_a11
    case, _ = services.report_case(
        reporter=by,
        source=kwargs.pop("source", Source.PATROL),
        description=kwargs.pop("description", "路灯损坏，夜间行人有安全隐患"),
        category=kwargs.pop("category", world.category),
        lng=lng,
        lat=lat,
        register_now=register,
        now=now,
        **kwargs,
    )
    return case
