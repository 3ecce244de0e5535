"""The staff ledger of the loaded demo county: agreements, badges, training and a few pipeline flags.

Reads the units and posts already loaded and writes with bulk inserts (the demo is loaded inside one
transaction by `wangge demo`), so a county of ≈6,000 posts takes seconds. The rules of the services hold
for what is written: one agreement per person, employing township and year; one badge held per person
with a unique number; every plan filed with the county and acknowledged by its command centre; every
holder of a grid post attended a session in the months before the post started (a pre-posting session,
岗前培训); a flag only on a holder of a grid post, one open per kind.
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

from .choices import FlagKind
from .models import (
    AppointmentAgreement,
    Badge,
    PipelineFlag,
    TrainingAttendance,
    TrainingPlan,
    TrainingSession,
)
from .services import months_before, training_valid_months

BATCH = 2000
# Share of this year's agreements not yet signed, so the ledger's "agreement missing" filter finds some.
MISSING_AGREEMENTS = 0.03
ATTENDANCE_RATE = 0.9
TOPICS = (
    "网格员职责与工作规范",
    "基础信息采集与台账更新",
    "矛盾纠纷排查化解实务",
    "安全隐患排查与事件上报",
    "政策法规宣传与便民代办",
    "应急处置与平战转换演练",
    "个人信息保护与保密纪律",
    "入户走访与群众工作方法",
)
PLACES = ("党群服务中心会议室", "综治中心培训室", "新时代文明实践站", "便民服务中心二楼")
PLAN_CONTENT = (
    "一、培训对象：辖区网格长、专职和兼职网格员、新聘网格员（岗前培训）。\n"
    "二、培训内容：网格员职责、信息采集、矛盾纠纷化解、安全隐患排查、事件上报流程、政策宣传。\n"
    "三、培训安排：每季度集中培训一次，新聘人员上岗前须参加岗前培训。\n"
    "四、考核：培训签到留档，纳入年度考核。"
)
FLAG_REASONS = {
    FlagKind.PARTY_DEVELOPMENT: "工作积极主动，群众评价好，本人递交入党申请书，推荐为发展对象。",
    FlagKind.CADRE_RESERVE: "熟悉村情民意，事件办结及时，年度考核优秀，推荐纳入村级后备力量。",
}


def _day(rnd: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    span = (end - start).days
    return start + datetime.timedelta(days=rnd.randint(0, max(span, 0)))


def _at(day: datetime.date, hour: int = 9) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def build_staffing_demo(seed: int, today: datetime.date) -> dict[str, int]:
    rnd = random.Random(seed)
    counts = dict.fromkeys(
        (
            "agreements",
            "badges",
            "training_plans",
            "training_sessions",
            "training_attendance",
            "pipeline_flags",
        ),
        0,
    )
    county = Unit.objects.filter(depth=1).order_by("path").first()
    townships = list(
        Unit.objects.current(today)
        .filter(depth=2)
        .order_by("path")
        .values_list("pk", "path", "code", "name", "effective_from")
    )
    if county is None or not townships:
        return counts
    width = len(townships[0][1])
    township_of = {path: (pk, code, name) for pk, path, code, name, _since in townships}
    # Nothing is held by a township before it takes effect (the demo's units all start on one date).
    since_of = {path: since for _pk, path, _code, _name, since in townships}

    posts = list(
        Post.objects.filter(unit__path__startswith=county.path)
        .filter(role__in=[*GRID_ROLES, Role.VILLAGE_ADMIN, Role.TOWNSHIP_ADMIN, Role.COUNTY_COMMAND])
        .values_list("pk", "user_id", "role", "unit__path", "start_date", "end_date")
        .order_by("unit__path", "pk")
    )
    by_township: dict[str, list[tuple]] = defaultdict(list)
    township_admin: dict[str, int] = {}
    county_command = None
    for post in posts:
        _pk, user_id, role, path, _start, _end = post
        if role == Role.COUNTY_COMMAND:
            county_command = county_command or user_id
            continue
        key = path[:width]
        if key not in township_of:
            continue
        if role == Role.TOWNSHIP_ADMIN:
            township_admin.setdefault(key, user_id)
            continue
        by_township[key].append(post)

    def active(post, day):
        return post[4] <= day and (post[5] is None or post[5] >= day)

    # --- agreements: this year's for every current grid and village post (a few missing), and last year's.
    agreements, seen = [], set()
    for key, township_posts in by_township.items():
        township_id = township_of[key][0]
        for pk, user_id, _role, _path, start, _end in township_posts:
            for year in (today.year - 1, today.year):
                day = datetime.date(year, 12, 31) if year < today.year else today
                post = (pk, user_id, _role, _path, start, _end)
                if not active(post, day) or (user_id, township_id, year) in seen:
                    continue
                if year == today.year and rnd.random() < MISSING_AGREEMENTS:
                    continue
                seen.add((user_id, township_id, year))
                signed = min(_day(rnd, datetime.date(year, 1, 2), datetime.date(year, 1, 25)), today)
                agreements.append(
                    AppointmentAgreement(
                        user_id=user_id,
                        unit_id=township_id,
                        year=year,
                        post_id=pk,
                        signed_on=signed,
                        valid_from=datetime.date(year, 1, 1),
                        valid_to=datetime.date(year, 12, 31),
                    )
                )
    AppointmentAgreement.objects.bulk_create(agreements, batch_size=BATCH)
    counts["agreements"] = len(agreements)

    # --- badges: one held by each current holder of a grid or village post, issued when first posted.
    badges, badged = [], set()
    for key, township_posts in by_township.items():
        township_id, code, _name = township_of[key]
        number = 0
        for post in township_posts:
            user_id = post[1]
            if user_id in badged or not active(post, today):
                continue
            badged.add(user_id)
            number += 1
            badges.append(
                Badge(
                    user_id=user_id,
                    number=f"WG{code}{number:04d}",
                    issued_on=min(post[4], today),
                    unit_id=township_id,
                )
            )
    Badge.objects.bulk_create(badges, batch_size=BATCH)
    counts["badges"] = len(badges)

    # --- training: plans per township and year, a pre-posting session before each group of post starts,
    # and 2–4 sessions a year attended by most of the township's staff.
    months = training_valid_months()
    grid_posts = {key: [p for p in ps if p[2] in GRID_ROLES] for key, ps in by_township.items()}
    first_year = min((p[4] for ps in grid_posts.values() for p in ps), default=today).year
    first_year = min(first_year - 1, today.year)
    plans: list[TrainingPlan] = []
    plan_key: list[tuple[str, int]] = []
    for key, (township_id, _code, name) in township_of.items():
        filer = township_admin.get(key)
        if filer is None or county_command is None:
            continue
        for year in range(max(first_year, since_of[key].year), today.year + 1):
            filed = _day(rnd, datetime.date(year - 1, 12, 10), datetime.date(year - 1, 12, 28))
            filed = min(max(filed, since_of[key]), today)
            acknowledged = min(filed + datetime.timedelta(days=rnd.randint(1, 7)), today)
            plans.append(
                TrainingPlan(
                    unit_id=township_id,
                    year=year,
                    title=f"{name}{year}年度网格员培训计划",
                    content=PLAN_CONTENT,
                    filed_with_id=county.pk,
                    filed_at=_at(filed),
                    filed_by_id=filer,
                    acknowledged_at=_at(acknowledged, 15),
                    acknowledged_by_id=county_command,
                )
            )
            plan_key.append((key, year))
    TrainingPlan.objects.bulk_create(plans, batch_size=BATCH)
    plan_ids = {k: plan.pk for k, plan in zip(plan_key, plans, strict=True)}
    counts["training_plans"] = len(plans)

    sessions: list[TrainingSession] = []
    attendees: list[list[tuple[int, bool]]] = []
    for key, (township_id, _code, name) in township_of.items():
        staff = by_township.get(key, [])
        recorder = township_admin.get(key)
        # Pre-posting sessions: grid posts grouped by the month they start; the session falls in the days
        # before the first start of the month, inside every start's training window.
        starts: dict[tuple[int, int], list[tuple]] = defaultdict(list)
        for post in grid_posts.get(key, []):
            starts[(post[4].year, post[4].month)].append(post)
        for (_y, _m), group in sorted(starts.items()):
            first = min(p[4] for p in group)
            latest = max(p[4] for p in group)
            day = min(first - datetime.timedelta(days=rnd.randint(3, 25)), today)
            day = min(max(day, months_before(latest, months), since_of[key]), first)
            sessions.append(
                TrainingSession(
                    unit_id=township_id,
                    plan_id=plan_ids.get((key, day.year)),
                    date=day,
                    topic=f"新聘网格员岗前培训（{TOPICS[0]}）",
                    hours=Decimal("4.0"),
                    place=f"{name}{rnd.choice(PLACES)}",
                    recorded_by_id=recorder,
                )
            )
            attendees.append(sorted({(p[1], True) for p in group}))
        # Regular sessions: 2–4 a year from the year posts began, spread over the quarters, up to today.
        for year in range(max(first_year + 1, since_of[key].year), today.year + 1):
            n = rnd.randint(2, 4)
            for i in range(n):
                lo = datetime.date(year, 1, 10) + datetime.timedelta(days=i * 340 // n)
                hi = datetime.date(year, 1, 10) + datetime.timedelta(days=(i + 1) * 340 // n - 1)
                day = _day(rnd, lo, hi)
                if day > today or day < since_of[key]:
                    continue
                present = sorted({p[1] for p in staff if active(p, day)})
                if not present:
                    continue
                sessions.append(
                    TrainingSession(
                        unit_id=township_id,
                        plan_id=plan_ids.get((key, year)),
                        date=day,
                        topic=rnd.choice(TOPICS[1:]),
                        hours=Decimal(rnd.choice(("2.0", "2.5", "3.0", "4.0"))),
                        place=f"{name}{rnd.choice(PLACES)}",
                        recorded_by_id=recorder,
                    )
                )
                attendees.append([(uid, rnd.random() < ATTENDANCE_RATE) for uid in present])
    TrainingSession.objects.bulk_create(sessions, batch_size=BATCH)
    counts["training_sessions"] = len(sessions)
    rows = [
        TrainingAttendance(session_id=session.pk, user_id=user_id, attended=attended)
        for session, people in zip(sessions, attendees, strict=True)
        for user_id, attended in people
    ]
    TrainingAttendance.objects.bulk_create(rows, batch_size=BATCH)
    counts["training_attendance"] = len(rows)

    # --- flags: a handful of outstanding grid workers, about one in each of a few townships.
    flags, flagged = [], set()
    kinds = (FlagKind.PARTY_DEVELOPMENT, FlagKind.CADRE_RESERVE)
    keys = sorted(grid_posts)
    for i, key in enumerate(rnd.sample(keys, min(len(keys), max(3, len(keys) // 3)))):
        candidates = [
            p
            for p in grid_posts[key]
            if p[2] != Role.GRID_LEADER and active(p, today) and p[1] not in flagged
        ]
        if not candidates:
            continue
        _pk, user_id, _role, path, _start, _end = rnd.choice(candidates)
        village_path = path[: width + Unit.steplen]
        kind = kinds[i % 2]
        flagged.add(user_id)
        flags.append((user_id, kind, village_path, township_admin.get(key) or county_command))
    village_ids = dict(Unit.objects.filter(path__in=[f[2] for f in flags]).values_list("path", "pk"))
    flag_rows = [
        PipelineFlag(
            user_id=user_id,
            kind=kind,
            reason=FLAG_REASONS[kind],
            unit_id=village_ids[village_path],
            flagged_by_id=by,
            flagged_on=_day(rnd, datetime.date(today.year, 1, 1), today),
        )
        for user_id, kind, village_path, by in flags
        if by is not None and village_path in village_ids
    ]
    PipelineFlag.objects.bulk_create(flag_rows, batch_size=BATCH)
    counts["pipeline_flags"] = len(flag_rows)
    return counts
