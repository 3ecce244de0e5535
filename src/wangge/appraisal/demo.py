"""Appraisal in the demo county: half a year of the townships' weekly inspections (周查) of their villages
and grids, with findings, deductions and rectifications, and the monthly scores of the last months, so the
ranking pages have something to rank.

    build_appraisal_demo(seed, today) -> {"inspections": …, "findings": …, "scores": …}

Run it after the field work and the case history: the scores are computed from them by the same
`services.compute_month` the worker runs. Everything random comes from one `random.Random(seed)`.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from decimal import Decimal

from django.utils import timezone

from wangge.people.models import Post
from wangge.people.roles import GRID_ROLES, Role
from wangge.units.models import Unit
from wangge.workdays.calendar import is_workday

from . import services
from .models import Inspection, InspectionFinding

DAY = datetime.timedelta(days=1)
WEEKS = 26  # half a year of weekly inspections
SCORED_MONTHS = 3  # the months before this one scored in the demo; the worker scores the next ones
BATCH = 2000

CHECKED = (
    "民情日志、走访记录、网格台账",
    "公示牌、民情联系卡发放、网格员在岗情况",
    "矛盾纠纷排查台账、隐患整改情况",
    "重点人员走访、特殊人群关爱记录",
    "案件办理时限、群众评价回访",
)
FINDINGS = (
    ("民情日志记录不全", "1.0"),
    ("走访记录与实际不符", "2.0"),
    ("公示牌信息未及时更新", "0.5"),
    ("出租屋信息未采集", "1.5"),
    ("隐患整改不到位", "3.0"),
    ("网格员未按要求在岗", "2.0"),
    ("重点人员走访不及时", "1.5"),
)


def _working_day_of_week(monday: datetime.date, rnd: random.Random) -> datetime.date | None:
    days = [monday + i * DAY for i in range(5) if is_workday(monday + i * DAY)]
    return rnd.choice(days) if days else None


def build_appraisal_demo(seed: int, today: datetime.date | None = None) -> dict[str, int]:
    rnd = random.Random(seed * 7919 + 6)
    today = today or timezone.localdate()
    townships = list(Unit.objects.current().filter(level__rank=2).order_by("path"))
    villages_of: dict[str, list[Unit]] = defaultdict(list)
    for village in Unit.objects.current().filter(level__rank=3).order_by("path"):
        villages_of[village.path[: 2 * Unit.steplen]].append(village)
    inspectors: dict[int, list[int]] = defaultdict(list)
    for post in Post.objects.filter(role=Role.TOWNSHIP_ADMIN, unit__in=townships).only("unit_id", "user_id"):
        inspectors[post.unit_id].append(post.user_id)
    workers: dict[str, list[int]] = defaultdict(list)
    for path, user_id in Post.objects.filter(role__in=GRID_ROLES, end_date__isnull=True).values_list(
        "unit__path", "user_id"
    ):
        workers[path[: 3 * Unit.steplen]].append(user_id)

    this_monday = today - datetime.timedelta(days=today.weekday())
    inspections: list[Inspection] = []
    planned: list[tuple[int, list]] = []  # (index of the inspection, its findings)
    for township in townships:
        recorder = (inspectors.get(township.pk) or [None])[0]
        villages = villages_of.get(township.path, [])
        if recorder is None or not villages:
            continue
        for week in range(WEEKS, 0, -1):
            day = _working_day_of_week(this_monday - week * 7 * DAY, rnd)
            if day is None:
                continue
            for village in rnd.sample(villages, min(len(villages), rnd.choice((1, 2, 2, 3)))):
                inspections.append(
                    Inspection(
                        unit=village,
                        inspecting_unit=township,
                        inspected_on=day,
                        checked=rnd.choice(CHECKED),
                        summary="总体情况良好，发现问题已当场反馈。",
                        recorded_by_id=recorder,
                    )
                )
                found = []
                for description, points in rnd.sample(FINDINGS, rnd.choice((0, 0, 1, 1, 2, 3))):
                    staff = workers.get(village.path) or [None]
                    rectified = day + rnd.randint(2, 10) * DAY
                    found.append(
                        InspectionFinding(
                            description=description,
                            deduction=Decimal(points),
                            responsible_id=rnd.choice(staff) if rnd.random() < 0.6 else None,
                            rectify_by=day + 7 * DAY,
                            rectified_on=rectified if rectified < today and rnd.random() < 0.9 else None,
                        )
                    )
                planned.append((len(inspections) - 1, found))
    Inspection.objects.bulk_create(inspections, batch_size=BATCH)
    through = Inspection.inspectors.through
    links, findings = [], []
    for index, found in planned:
        inspection = inspections[index]
        links.append(through(inspection_id=inspection.pk, user_id=inspection.recorded_by_id))
        for finding in found:
            finding.inspection_id = inspection.pk
            findings.append(finding)
    through.objects.bulk_create(links, batch_size=BATCH)
    InspectionFinding.objects.bulk_create(findings, batch_size=BATCH)

    scores = 0
    month = services.month_start(today)
    now = timezone.now()
    for _ in range(SCORED_MONTHS):
        month = services.month_start(month - DAY)
        for root in Unit.objects.current().filter(depth=1):
            scores += services.compute_month(month, root, now=now)
    return {"inspections": len(inspections), "findings": len(findings), "scores": scores}
