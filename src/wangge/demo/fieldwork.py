"""A year of the demo county's field work: daily work logs, household visits, patrols and publicity records.

    build_field_work(seed, today=None) -> FieldWorkSummary      inside the demo's transaction

Rates are what a county office would call a working net, not a perfect one: each grid worker has a
diligence drawn between 70% and 98%; they write the log of that share of working days, visit that share
of their households in each quarter (季遍访, grid4 posts) and of the year (年遍访, grid3 leaders), pay a
care visit to most rentals and tagged households once a year (年慰问), and patrol their grid one to four
times a month. The current period is as far along as the calendar is, so due lists are real: about half a
quarter's households are still to visit in the middle of a quarter.

Like the ledgers, rows go in through `wangge.demo.ledger.insert` (raw `executemany`), without change-log
rows: this is a system load of a county's history, not the work of its users.
"""

from __future__ import annotations

import datetime
import random
import time
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from wangge.fieldwork.choices import PublicityMethod, VisitPurpose
from wangge.fieldwork.models import PatrolRecord, PublicityRecord, Visit, WorkLog
from wangge.ledger.choices import HouseholdStatus, ResidentStatus
from wangge.ledger.models import Household, Resident
from wangge.people.models import Post
from wangge.people.roles import GRID_ROLES
from wangge.units.models import UnitLevel
from wangge.workdays.calendar import is_workday

from .ledger import insert, stamp

DAYS = 365
CARE_TAGS = (
    "dibao",
    "tekun",
    "hardship",
    "poverty_monitored",
    "empty_nest_elderly",
    "living_alone_elderly",
    "key_person",
    "community_correction",
    "released_prisoner",
    "severe_mental_disorder",
    "drug_user",
    "key_youth",
)
PATROLLED = ("沿村道巡查一圈", "巡查河堤和山塘", "巡查小区楼道和消防通道", "走访沿街商铺", "巡查学校周边")
FOUND = (
    "",
    "",
    "路灯不亮一处",
    "楼道堆放杂物",
    "邻里因排水沟发生口角",
    "发现独居老人身体不适",
    "河边护栏松动",
)
SERVED = ("", "代办医保缴费", "帮助老人申领高龄补贴", "协助办理居住证", "上门测量血压", "调解邻里纠纷")
FINDINGS = (
    "家庭情况稳定",
    "反映道路积水",
    "老人行动不便，需定期关注",
    "子女外出务工",
    "无异常",
    "反映噪音扰民",
)
ROUTES = ("村道—河堤—学校", "小区东门—地下车库—西门", "沿街商铺一线", "山塘水库周边", "集贸市场周边")
TOPICS = (
    "防范电信网络诈骗",
    "防溺水安全",
    "城乡居民医保缴费",
    "森林防火",
    "燃气安全",
    "反邪教宣传",
    "秸秆禁烧",
)
AUDIENCES = ("全体村民", "小区居民", "沿街商户", "老年人", "中小学生家长")


@dataclass
class FieldWorkSummary:
    logs: int = 0
    visits: int = 0
    patrols: int = 0
    publicity: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        return [
            f"Field work: {self.logs} work logs, {self.visits} household visits, {self.patrols} patrols, "
            f"{self.publicity} publicity records in {self.seconds:.1f} s."
        ]


def quarter_start(day: datetime.date) -> datetime.date:
    return datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def periods(
    first: datetime.date, today: datetime.date, months: int
) -> list[tuple[datetime.date, datetime.date]]:
    """Calendar periods of `months` months overlapping [first, today], each clipped to that window."""
    out = []
    start = quarter_start(first) if months == 3 else datetime.date(first.year, 1, 1)
    while start <= today:
        year, month = divmod(start.month - 1 + months, 12)
        following = datetime.date(start.year + year, month + 1, 1)
        out.append((max(start, first), min(following - datetime.timedelta(days=1), today), start, following))
        start = following
    return out


class _Builder:
    def __init__(self, seed: int, today: datetime.date):
        self.rnd = random.Random(seed * 7919 + 5)
        self.today = today
        self.first = today - datetime.timedelta(days=DAYS)
        self.workdays = [
            self.first + datetime.timedelta(days=i)
            for i in range(DAYS + 1)
            if is_workday(self.first + datetime.timedelta(days=i))
        ]
        self.now = stamp(timezone.now())
        self.levels = dict(UnitLevel.objects.values_list("pk", "key"))
        self.posts = list(
            Post.objects.filter(role__in=GRID_ROLES, end_date__isnull=True)
            .values_list("user_id", "unit_id", "unit__path", "unit__level_id", "start_date")
            .order_by("unit__path", "user_id")
        )
        self.diligence = {}
        for user_id, *_rest in self.posts:
            self.diligence.setdefault(user_id, 0.70 + 0.28 * self.rnd.random())
        # Households by grid path, in id order: the bulk of the data, read once.
        self.homes: dict[str, list[tuple[int, int]]] = defaultdict(list)
        rows = (
            Household.objects.filter(status=HouseholdStatus.ACTIVE)
            .values_list("pk", "grid_id", "grid__path")
            .order_by("pk")
        )
        for pk, grid_id, path in rows.iterator(chunk_size=20_000):
            self.homes[path].append((pk, grid_id))
        self.paths = sorted(self.homes)
        tagged = Resident.tags.through.objects.filter(
            attentiontag__code__in=CARE_TAGS, resident__status=ResidentStatus.PRESENT
        ).values_list("resident__household_id", flat=True)
        rentals = Household.objects.filter(is_rental=True).values_list("pk", flat=True)
        self.care = set(tagged.iterator(chunk_size=20_000)) | set(rentals.iterator(chunk_size=20_000))

    def households_under(self, path: str) -> list[tuple[int, int]]:
        from bisect import bisect_left

        out = []
        for grid_path in self.paths[bisect_left(self.paths, path) :]:
            if not grid_path.startswith(path):
                break
            out.extend(self.homes[grid_path])
        return out

    def day_between(self, start: datetime.date, end: datetime.date) -> datetime.date:
        return start + datetime.timedelta(days=self.rnd.randrange((end - start).days + 1))

    def moment(self, day: datetime.date, hour: int):
        minute = self.rnd.randrange(60)
        return stamp(timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute))))

    # --- rows ---------------------------------------------------------------------------------------

    def logs(self):
        """One log per worker and working day (for the grid of their first post) at their diligence."""
        seen = set()
        for user_id, unit_id, _path, _level, since in self.posts:
            if user_id in seen:
                continue
            seen.add(user_id)
            rate = self.diligence[user_id]
            grid_id = unit_id  # the demo's grid posts sit at grids
            for day in self.workdays:
                if day < since or self.rnd.random() > (rate if day < self.today else rate * 0.6):
                    continue
                yield (
                    self.now,
                    self.now,
                    user_id,
                    grid_id,
                    day,
                    self.rnd.choice(PATROLLED),
                    self.rnd.choice(FOUND),
                    self.rnd.choice(SERVED),
                    self.rnd.randrange(7),
                    "",
                    self.moment(day, 17 + self.rnd.randrange(3)),
                )

    def visits(self):
        """季遍访 by grid4 posts, 年遍访 by grid3 posts, 年慰问 of rentals and tagged households."""
        quarters = periods(self.first, self.today, 3)
        years = periods(self.first, self.today, 12)
        for user_id, _unit_id, path, level_id, since in self.posts:
            key = self.levels.get(level_id)
            if key not in ("grid3", "grid4"):
                continue
            rate = self.diligence[user_id]
            homes = self.households_under(path)
            windows = quarters if key == "grid4" else years
            for start, end, period_start, following in windows:
                start = max(start, since)
                if start > end:
                    continue
                # The current period is as far along as the calendar: its share of visits so far.
                elapsed = (end - period_start).days + 1
                share = min(1.0, elapsed / (following - period_start).days)
                chance = rate * (share if end == self.today else 1.0)
                for pk, grid_id in homes:
                    if self.rnd.random() < chance:
                        yield self._visit(pk, grid_id, user_id, level_id, self.day_between(start, end))
            if key == "grid4":  # the care visits fall to the worker who knows the household
                for pk, grid_id in homes:
                    if pk in self.care and self.rnd.random() < 0.8 * rate:
                        day = self.day_between(max(self.first, since), self.today)
                        yield self._visit(pk, grid_id, user_id, level_id, day, care=True)

    def _visit(self, household_id, grid_id, user_id, level_id, day, care=False):
        purposes = [VisitPurpose.CARE] if care else self.rnd.sample(VISIT_PURPOSES, self.rnd.randint(1, 2))
        return (
            self.now,
            self.now,
            household_id,
            grid_id,
            user_id,
            level_id,
            day,
            [str(p) for p in purposes],
            self.rnd.choice(FINDINGS),
            "",
        )

    def patrols(self):
        for user_id, grid_id, _path, _level, since in self.posts:
            rate = self.diligence[user_id]
            for start, end in self._months():
                start = max(start, since)
                if start > end:
                    continue
                for _ in range(self.rnd.randint(1, 4)):
                    if self.rnd.random() < rate:
                        yield (
                            self.now,
                            self.now,
                            grid_id,
                            user_id,
                            self.day_between(start, end),
                            self.rnd.choice(ROUTES),
                            self.rnd.choice((30, 45, 60, 90, 120)),
                            self.rnd.choice(FOUND),
                        )

    def _months(self):
        start = self.first.replace(day=1)
        while start <= self.today:
            following = (start + datetime.timedelta(days=32)).replace(day=1)
            yield max(start, self.first), min(following - datetime.timedelta(days=1), self.today)
            start = following

    def publicity(self, villages: list[tuple[int, int]]):
        """Two to three campaigns a month in each village, recorded by one of its staff."""
        for village_id, user_id in villages:
            for start, end in self._months():
                for _ in range(self.rnd.randint(2, 3)):
                    yield (
                        self.now,
                        self.now,
                        village_id,
                        user_id,
                        self.day_between(start, end),
                        self.rnd.choice(TOPICS),
                        self.rnd.choice(PublicityMethod.values),
                        self.rnd.choice(AUDIENCES),
                        self.rnd.randint(20, 400),
                        "",
                    )


VISIT_PURPOSES = [p for p in VisitPurpose.values if p != VisitPurpose.CARE]
LOG_COLUMNS = (
    "created_at",
    "updated_at",
    "author_id",
    "grid_id",
    "date",
    "patrolled",
    "found",
    "served",
    "households_visited",
    "notes",
    "submitted_at",
)
VISIT_COLUMNS = (
    "created_at",
    "updated_at",
    "household_id",
    "grid_id",
    "visitor_id",
    "post_level_id",
    "date",
    "purposes",
    "findings",
    "others_met",
)
PATROL_COLUMNS = (
    "created_at",
    "updated_at",
    "grid_id",
    "patroller_id",
    "date",
    "route",
    "minutes",
    "findings",
)
PUBLICITY_COLUMNS = (
    "created_at",
    "updated_at",
    "unit_id",
    "author_id",
    "date",
    "topic",
    "method",
    "audience",
    "reached",
    "notes",
)


def build_field_work(seed: int, today: datetime.date | None = None) -> FieldWorkSummary:
    """Load a year of field work up to `today` for the county just loaded (its posts and households)."""
    started = time.perf_counter()
    builder = _Builder(seed, today or timezone.localdate())
    summary = FieldWorkSummary()
    summary.logs = insert(
        WorkLog, LOG_COLUMNS, builder.logs(), ready=("created_at", "updated_at", "submitted_at")
    )
    summary.visits = insert(Visit, VISIT_COLUMNS, builder.visits())
    summary.patrols = insert(PatrolRecord, PATROL_COLUMNS, builder.patrols())
    villages = list(
        Post.objects.filter(unit__level__key="village", end_date__isnull=True)
        .filter(~Q(role="department_user"))
        .order_by("unit__path", "id")
        .values_list("unit_id", "user_id")
    )
    first_staff = dict(reversed(villages))  # one recorder per village: its first post
    summary.publicity = insert(
        PublicityRecord, PUBLICITY_COLUMNS, builder.publicity(sorted(first_staff.items()))
    )
    from .generator import analyze

    analyze(WorkLog, Visit, PatrolRecord, PublicityRecord)
    summary.seconds = time.perf_counter() - started
    return summary
