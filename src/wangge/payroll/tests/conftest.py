"""Crafted payroll data on the test county: cases and actions written directly with the times a test needs,
posts with chosen dates, and today frozen in May 2026 (January to April can be finalised)."""

import datetime
import itertools
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from wangge.cases.choices import ActionKind, CaseState, Source
from wangge.cases.models import Case, CaseAction, Category
from wangge.people.models import Post, User
from wangge.people.roles import Role

TODAY = datetime.date(2026, 5, 16)  # a Saturday
SHANGHAI = ZoneInfo("Asia/Shanghai")
D = datetime.date
_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SHANGHAI)


def category(code: str) -> Category:
    return Category.objects.get(code=code)


def make_case(
    unit,
    *,
    reporter=None,
    registered_at=None,
    code: str = "0101",
    state: str = CaseState.REGISTERED,
    closed_at=None,
) -> Case:
    n = next(_serial)
    return Case.objects.create(
        number=f"T{n:06d}" if registered_at else None,
        tracking_code=f"P{n:07d}",
        title=f"事件{n}",
        description="测试",
        source=Source.PATROL,
        unit=unit,
        owner_unit=unit,
        reporter=reporter,
        registered_at=registered_at,
        category=category(code) if code else None,
        state=state,
        closed_at=closed_at,
    )


def act(case, kind: str, actor, time, to_state: str = CaseState.CLOSED) -> CaseAction:
    return CaseAction.objects.create(case=case, kind=kind, actor=actor, time=time, to_state=to_state)


def handled_in_place(unit, actor, time, code: str = "0101", reporter=None) -> Case:
    case = make_case(
        unit, reporter=reporter, registered_at=time, code=code, state=CaseState.CLOSED, closed_at=time
    )
    act(case, ActionKind.HANDLE_IN_PLACE, actor, time)
    return case


def person(username: str, *posts, full_name: str = "") -> User:
    """A user with posts given as (unit, role, start, end)."""
    user = User.objects.create_user(username=username, password="x", full_name=full_name or username)
    for unit, role, start, *rest in posts:
        Post.objects.create(
            user=user, unit=unit, role=role, start_date=start, end_date=rest[0] if rest else None
        )
    return user


FULL_TIME = Role.GRID_WORKER_FULL_TIME
PART_TIME = Role.GRID_WORKER_PART_TIME
