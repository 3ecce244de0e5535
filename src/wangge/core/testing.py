"""A small crafted county for tests: rectangles whose areas and households are easy to reason about.

    测试县 500229                      lng 108.0–108.4, lat 31.0–31.2
    ├── 甲镇 500229100                 lng 108.0–108.2
    │   ├── 甲一村 500229100001         lng 108.0–108.1
    │   │   ├── 一组 …001001 (三级)      lat 31.0–31.1
    │   │   │   ├── 一格 …00100101      lng 108.00–108.05
    │   │   │   └── 二格 …00100102      lng 108.05–108.10
    │   │   └── 二组 …001002 (三级)      lat 31.1–31.2
    │   └── 甲二村 500229100002         lng 108.1–108.2 (one 三级 grid covering it)
    └── 乙镇 500229101                 lng 108.2–108.4
        └── 乙一村 500229101001         (one 三级 grid covering it)

Users, one per role, plus `outsider` who holds no post. Every demo and test password is PASSWORD.
"""

from __future__ import annotations

import datetime
import threading
from types import SimpleNamespace

from django.db import connection

from wangge.ledger.models import Household
from wangge.people.models import Department, Post, User
from wangge.people.roles import Role
from wangge.units import services
from wangge.units.models import UnitLevel

PASSWORD = "wangge-demo-2026"
POST_START = datetime.date(2020, 1, 1)


def box(minx, miny, maxx, maxy) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [[[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]],
    }


def make_user(username: str, *posts, full_name: str = "") -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, full_name=full_name or username)
    for unit, role, *rest in posts:
        department = rest[0] if rest else None
        Post.objects.create(user=user, unit=unit, role=role, department=department, start_date=POST_START)
    return user


def build_test_county(households_per_grid: int = 0) -> SimpleNamespace:
    levels = {level.key: level for level in UnitLevel.objects.all()}
    since = datetime.date(2020, 1, 1)

    def unit(parent, level, name, geometry, **kw):
        return services.create_unit(
            parent=parent, level=levels[level], name=name, geometry=geometry, effective_from=since, **kw
        )

    county = unit(None, "county", "测试县", box(108.0, 31.0, 108.4, 31.2), code="500229")
    town_a = unit(county, "township", "甲镇", box(108.0, 31.0, 108.2, 31.2), code="500229100")
    town_b = unit(county, "township", "乙镇", box(108.2, 31.0, 108.4, 31.2), code="500229101")
    village_a = unit(town_a, "village", "甲一村", box(108.0, 31.0, 108.1, 31.2), code="500229100001")
    village_a2 = unit(town_a, "village", "甲二村", box(108.1, 31.0, 108.2, 31.2))
    village_b = unit(town_b, "village", "乙一村", box(108.2, 31.0, 108.4, 31.2))
    grid_a1 = unit(village_a, "grid3", "一组", box(108.0, 31.0, 108.1, 31.1))
    grid_a2 = unit(village_a, "grid3", "二组", box(108.0, 31.1, 108.1, 31.2))
    cell_a11 = unit(grid_a1, "grid4", "一格", box(108.0, 31.0, 108.05, 31.1))
    cell_a12 = unit(grid_a1, "grid4", "二格", box(108.05, 31.0, 108.1, 31.1))
    grid_a2_only = unit(village_a2, "grid3", "甲二村网格", box(108.1, 31.0, 108.2, 31.2))
    grid_b1 = unit(village_b, "grid3", "乙一村网格", box(108.2, 31.0, 108.4, 31.2))

    department = Department.objects.create(name="县应急管理局", code="yingji", unit=county)
    users = SimpleNamespace(
        sysadmin=make_user("sysadmin", (county, Role.SYSTEM_ADMIN)),
        county=make_user("county", (county, Role.COUNTY_COMMAND)),
        township_a=make_user("township_a", (town_a, Role.TOWNSHIP_ADMIN)),
        township_b=make_user("township_b", (town_b, Role.TOWNSHIP_ADMIN)),
        village_a=make_user("village_a", (village_a, Role.VILLAGE_ADMIN)),
        village_b=make_user("village_b", (village_b, Role.VILLAGE_ADMIN)),
        grid_leader=make_user("grid_leader", (grid_a1, Role.GRID_LEADER)),
        grid_worker=make_user("grid_worker", (cell_a11, Role.GRID_WORKER_FULL_TIME)),
        department=make_user("department", (county, Role.DEPARTMENT_USER, department)),
        outsider=make_user("outsider"),
    )

    for cell in (cell_a11, cell_a12, grid_a2, grid_a2_only, grid_b1):
        minx, miny, maxx, maxy = _bounds(cell.geometry)
        for i in range(households_per_grid):
            Household.objects.create(
                number=f"{cell.code}{i + 1:03d}",
                grid=cell,
                address=f"{cell.name}{i + 1}号",
                lng=minx + (maxx - minx) * (i + 0.5) / households_per_grid,
                lat=(miny + maxy) / 2,
            )

    return SimpleNamespace(
        levels=levels,
        county=county,
        town_a=town_a,
        town_b=town_b,
        village_a=village_a,
        village_a2=village_a2,
        village_b=village_b,
        grid_a1=grid_a1,
        grid_a2=grid_a2,
        cell_a11=cell_a11,
        cell_a12=cell_a12,
        grid_a2_only=grid_a2_only,
        grid_b1=grid_b1,
        department=department,
        users=users,
    )


def _bounds(geometry: dict) -> tuple[float, float, float, float]:
    xs = [p[0] for p in geometry["coordinates"][0]]
    ys = [p[1] for p in geometry["coordinates"][0]]
    return min(xs), min(ys), max(xs), max(ys)


def run_together(*calls) -> tuple[list, list]:
    """Run each call in its own thread, all released at once by a barrier (a race between requests, for
    the PostgreSQL concurrency tests); returns (results, exceptions). Each thread closes its connection."""
    barrier = threading.Barrier(len(calls), timeout=30)
    results, errors = [], []

    def run(call):
        try:
            barrier.wait()
            results.append(call())
        except BaseException as exc:  # collected for the test's assertions
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors
