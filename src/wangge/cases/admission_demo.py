"""The demo county's grid admission list (准入事项清单, WORK-4).

    build_admission_demo(seed, today) -> {"items": …, "pending_requests": …}

The county keeps the list. It admits every task type the demo's cases give to villages and grids — those
already dispatched to one in the case history, those whose usual handling level is the grid or the
village, and those without a department of their own (the demo planner dispatches them to the village) —
so the history and the demo's own dispatches stay consistent with the rule. A top category whose every
subcategory is admitted goes on the list whole. Two requests to admit more are left pending, one from a
township and one from a county department, so the keeper's page has something to decide.

Run it after the case history. Items are written in bulk (a system load writes no change-log rows); the two
requests go through `admission.request_admission`, so the keepers are notified as they would be.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict

from django.utils import timezone

from wangge.people.models import Department, Post
from wangge.people.roles import Role
from wangge.units.models import Unit

from . import admission
from .choices import AdmissionBasis, HandlerLevel
from .models import AdmissionItem, Assignment, Category

GRID_LEVELS = (HandlerLevel.GRID, HandlerLevel.VILLAGE)
NOTES = {
    AdmissionBasis.LAW: "法律法规明确规定由村（社区）协助办理的事项。",
    AdmissionBasis.SUPERIOR: "上级党委政府明确要求纳入网格化管理的事项。",
    AdmissionBasis.APPROVED: "经县网格化服务管理工作领导小组审核批准纳入。",
}
REASONS = (
    "该类事项点多面广，需依托网格日常巡查及时发现，请求纳入网格准入事项清单；本部门负责业务培训和指导。",
    "近期此类问题多发，需网格员协助摸排登记，请求准入；相关工作经费和信息支持由本单位保障。",
)


def build_admission_demo(seed: int, today: datetime.date | datetime.datetime | None = None) -> dict[str, int]:
    """Seed the county's admission list and two pending requests; returns counts."""
    if isinstance(today, datetime.datetime):
        today = timezone.localdate(today)
    today = today or timezone.localdate()
    rnd = random.Random(seed)
    county = Unit.objects.filter(depth=1).order_by("path").first()
    keeper_post = (
        Post.objects.active(on=today)
        .filter(unit=county, role=Role.COUNTY_COMMAND)
        .select_related("user")
        .order_by("id")
        .first()
    )
    if county is None or keeper_post is None:
        return {"items": 0, "pending_requests": 0}
    keeper = keeper_post.user

    leaves = list(Category.objects.filter(parent__isnull=False, is_active=True).order_by("code"))
    departments = set(Department.objects.filter(unit=county).values_list("name", flat=True))
    dispatched_to_grids = set(
        Assignment.objects.filter(unit__level__rank__gte=admission.GRID_RANK)
        .exclude(case__category__isnull=True)
        .values_list("case__category_id", flat=True)
        .distinct()
    )
    admitted = {
        c.pk
        for c in leaves
        if c.pk in dispatched_to_grids
        or c.default_level in GRID_LEVELS
        or not c.default_department
        or c.default_department not in departments
    }
    by_top: dict[int, list[Category]] = defaultdict(list)
    for leaf in leaves:
        by_top[leaf.parent_id].append(leaf)
    items: list[AdmissionItem] = []
    added_on = today - datetime.timedelta(days=300)
    added_at = datetime.datetime.combine(added_on, datetime.time(10), tzinfo=timezone.get_default_timezone())
    for top_id, children in sorted(by_top.items(), key=lambda kv: kv[1][0].code):
        chosen = [c for c in children if c.pk in admitted]
        if not chosen:
            continue
        whole = len(chosen) == len(children)
        for category_id in [top_id] if whole else [c.pk for c in chosen]:
            basis = rnd.choices(list(NOTES), weights=(4, 4, 2))[0]
            items.append(
                AdmissionItem(
                    keeper=county,
                    category_id=category_id,
                    basis=basis,
                    note=NOTES[basis],
                    added_by=keeper,
                    added_at=added_at,
                )
            )
    AdmissionItem.objects.bulk_create(items, batch_size=2000)

    outside = [c for c in leaves if c.pk not in admitted]
    requesters = []
    township_post = (
        Post.objects.active(on=today)
        .filter(role=Role.TOWNSHIP_ADMIN, unit__depth=2)
        .select_related("user")
        .order_by("unit__path", "id")
        .first()
    )
    if township_post is not None:
        requesters.append(township_post.user)
    department_post = (
        Post.objects.active(on=today)
        .filter(role=Role.DEPARTMENT_USER, department__unit=county)
        .select_related("user")
        .order_by("id")
        .first()
    )
    if department_post is not None:
        requesters.append(department_post.user)
    pending = 0
    for requester, category in zip(
        requesters, rnd.sample(outside, min(len(outside), len(requesters))), strict=False
    ):
        day = today - datetime.timedelta(days=rnd.randint(1, 6))
        admission.request_admission(
            keeper=county,
            category=category,
            by=requester,
            reason=rnd.choice(REASONS),
            now=datetime.datetime.combine(day, datetime.time(15), tzinfo=timezone.get_default_timezone()),
        )
        pending += 1
    return {"items": len(items), "pending_requests": pending}
