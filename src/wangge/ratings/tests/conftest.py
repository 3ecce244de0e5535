"""Ratings fixtures on the case world: cases whose department work is finished, and a way to rate them."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.utils import timezone

from wangge.cases.choices import AssignmentStatus
from wangge.cases.models import Assignment
from wangge.cases.testing import patrol_case


@pytest.fixture(autouse=True)
def policy_numbers(settings):
    settings.WANGGE_RATING_EDIT_DAYS = 7
    settings.WANGGE_RATING_OPEN_DAYS = 30
    settings.WANGGE_RATING_RANK_MIN_COUNT = 2
    settings.WANGGE_PUBLIC_RATING_RATE = "20/hour"


@pytest.fixture(autouse=True)
def empty_throttle_cache():
    cache.clear()
    yield
    cache.clear()


def finish(case, department, *, at=None, status=AssignmentStatus.DONE, lead=True) -> Assignment:
    """An assignment of `case` to `department` that finished at `at` (default: a day ago)."""
    at = at or timezone.now() - datetime.timedelta(days=1)
    return Assignment.objects.create(
        case=case,
        department=department,
        is_lead=lead,
        status=status,
        dispatched_from=case.owner_unit,
        dispatched_at=at - datetime.timedelta(days=2),
        accepted_at=at - datetime.timedelta(days=1),
        finished_at=at if status in (AssignmentStatus.DONE, AssignmentStatus.REPORTED_BACK) else None,
    )


def finished_case(world, department=None, *, point=None, at=None, **kwargs):
    """A patrol case in 一格 (or at `point`, e.g. 乙镇's, found by its own grid worker) whose work by
    `department` (default 县应急管理局) is finished."""
    by = world.users.grid_worker_b if point == world.point_b1 else world.users.grid_worker
    case = patrol_case(world, by=by, point=point)
    finish(case, department or world.department, at=at, **kwargs)
    return case
