"""A year of meetings for the demo county: weekly grid meetings (网格周例会) in about 85% of each 三级网格's
working weeks, a joint meeting (联席会议) every month in every township and every quarter at the county,
with attendees, minutes and resolutions; a few recent resolutions of township meetings have raised cases.

    build_meetings_demo(seed, today) -> {"meetings": …, "attendees": …, "resolutions": …, "cases": …}

It reads the loaded units and posts and writes rows in bulk (explicit ids and timestamps, through the
demo's `insert_rows`: bulk_create would stamp created_at with the wall clock), so the county scale
(≈1,700 grids × 50 weeks) takes seconds. The few cases go through `services.spawn_case`, so they are
what the services make. Run it after the case history (it takes the next case numbers of those days).
Everything random comes from one `random.Random(seed)`; the same seed and `today` give the same rows.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict

from django.utils import timezone

from wangge.cases.models import Category
from wangge.people.models import Department, Post, User
from wangge.people.roles import GRID_ROLES, Role
from wangge.units.models import Unit
from wangge.workdays.calendar import is_workday

from .choices import MeetingKind, ResolutionStatus
from .models import Meeting, MeetingAttendee, Resolution

DAY = datetime.timedelta(days=1)
HISTORY_DAYS = 365
WEEKLY_RATE = 0.85  # the share of working weeks in which a grid records its weekly meeting
SPAWNED_CASES = 3  # recent township resolutions that have raised a case
DESK_ROLES = frozenset({Role.COUNTY_COMMAND, Role.TOWNSHIP_ADMIN, Role.VILLAGE_ADMIN})

WEEKLY_TOPICS = (
    "出租屋人员信息核查",
    "独居老人关爱走访",
    "汛期隐患排查",
    "电动车违规停放充电劝导",
    "矛盾纠纷排查化解",
    "森林防火宣传",
    "燃气安全入户检查",
    "反电信诈骗宣传",
    "人居环境卫生整治",
    "城乡居民医保缴费动员",
    "重点人员动态走访",
    "消防通道清理",
)
WEEKLY_NEXT = ("入户走访", "隐患复查", "政策宣传", "信息采集", "重点人群帮扶")
WEEKLY_RESOLUTIONS = (
    "对{topic}开展专项排查，本周五前汇总上报。",
    "网格员分片包户，完成{topic}，下次例会通报。",
    "{topic}中发现的问题建立台账，逐一销号。",
)
JOINT_TOPICS = (
    "通报本月网格事件办理情况和超期事件",
    "研判矛盾纠纷排查化解形势",
    "部署汛期地质灾害隐患排查",
    "研究信访积案化解措施",
    "协调解决沿河危房排查中的跨部门问题",
    "部署节假日安全稳定工作",
    "研究农村自建房安全整治推进措施",
    "通报网格员履职考核情况",
)
JOINT_RESOLUTIONS = (
    "{village}牵头，对辖区{topic}逐户排查，月底前报送结果。",
    "{dept}派员下沉网格，配合做好{topic}。",
    "对超期未办结事件逐件督办，限期办结。",
    "{village}建立问题清单，明确责任人和完成时限。",
)
OTHER_ATTENDEES = ("派出所、司法所、综治中心相关负责人", "县级包联部门联络员", "村民代表2名", "")
DONE_NOTES = ("已按要求完成。", "已排查完毕，问题已整改。", "已落实，纳入日常巡查。")


def _local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=timezone.get_default_timezone())


def _working_days(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    days, day = [], start
    while day <= end:
        if is_workday(day):
            days.append(day)
        day += DAY
    return days


class _Rows:
    """Rows of the three tables with ids handed out here, so attendees and resolutions can name them."""

    def __init__(self):
        from wangge.demo.cases import next_id

        self.meeting_id = next_id(Meeting)
        self.attendee_id = next_id(MeetingAttendee)
        self.resolution_id = next_id(Resolution)
        self.meetings: list[tuple] = []
        self.attendees: list[tuple] = []
        self.resolutions: list[tuple] = []

    def meeting(
        self, *, unit_id, kind, held_on, chair, place, agenda, minutes, other, recorded_at, attendees
    ):
        pk = self.meeting_id
        self.meeting_id += 1
        self.meetings.append(
            (
                pk,
                recorded_at,
                recorded_at,
                unit_id,
                kind,
                held_on,
                chair,
                place,
                agenda,
                minutes,
                other,
                chair,
                None,
            )
        )
        for user_id in dict.fromkeys(attendees):
            self.attendees.append((self.attendee_id, pk, user_id))
            self.attendee_id += 1
        return pk

    def resolution(self, *, meeting_id, text, unit_id, dept_id, due_on, by, added_at, done_at=None, note=""):
        pk = self.resolution_id
        self.resolution_id += 1
        status = ResolutionStatus.DONE if done_at else ResolutionStatus.OPEN
        self.resolutions.append(
            (
                pk,
                meeting_id,
                text,
                unit_id,
                dept_id,
                due_on,
                status,
                None,
                by,
                added_at,
                by if done_at else None,
                done_at,
                note,
            )
        )
        return pk


MEETING_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "unit_id",
    "kind",
    "held_on",
    "chaired_by_id",
    "place",
    "agenda",
    "minutes",
    "other_attendees",
    "recorded_by_id",
    "client_uuid",
)
ATTENDEE_COLUMNS = ("id", "meeting_id", "user_id")
RESOLUTION_COLUMNS = (
    "id",
    "meeting_id",
    "text",
    "responsible_unit_id",
    "responsible_department_id",
    "due_on",
    "status",
    "case_id",
    "added_by_id",
    "added_at",
    "closed_by_id",
    "closed_at",
    "close_note",
)


def build_meetings_demo(seed: int, today: datetime.date | datetime.datetime | None = None) -> dict[str, int]:
    """Write a year of meetings up to `today` for the county loaded in the database; returns counts."""
    from wangge.demo.cases import insert_rows, reset_sequences

    if isinstance(today, datetime.datetime):
        today = timezone.localdate(today)
    today = today or timezone.localdate()
    rnd = random.Random(seed)
    start = today - datetime.timedelta(days=HISTORY_DAYS)
    step = Unit.steplen

    units = {
        u["pk"]: u
        for u in Unit.objects.current(on=today).values(
            "pk", "path", "name", "depth", "level__key", "level__rank"
        )
    }
    by_path = {u["path"]: u for u in units.values()}
    posts = list(
        Post.objects.active(on=today)
        .exclude(role=Role.DEPARTMENT_USER)
        .filter(unit_id__in=list(units))
        .values_list("role", "unit_id", "user_id")
        .order_by("unit__path", "id")
    )
    leader: dict[int, int] = {}
    workers_at: dict[int, list[int]] = defaultdict(list)  # grid staff, who attend their grid's meeting
    desk_at: dict[int, list[int]] = defaultdict(list)  # county, township and village administrators
    for role, unit_id, user_id in posts:
        if role in GRID_ROLES:
            workers_at[unit_id].append(user_id)
        if role in DESK_ROLES:
            desk_at[unit_id].append(user_id)
        if role == Role.GRID_LEADER:
            leader.setdefault(unit_id, user_id)
    names = dict(User.objects.filter(pk__in={p[2] for p in posts}).values_list("pk", "full_name"))
    children: dict[str, list[int]] = defaultdict(list)
    for u in units.values():
        if u["depth"] > 1:
            children[u["path"][:-step]].append(u["pk"])
    county_departments = list(
        Department.objects.filter(unit__depth=1).order_by("name").values_list("pk", "name")
    )

    rows = _Rows()
    weeks: dict[datetime.date, list[datetime.date]] = {}
    monday = start - datetime.timedelta(days=start.weekday())
    while monday <= today:
        days = _working_days(max(monday, start), min(monday + 6 * DAY, today))
        if days:
            weeks[monday] = days
        monday += 7 * DAY

    # Weekly grid meetings at every 三级网格 with a leader.
    grid3 = sorted(
        (u for u in units.values() if u["level__key"] == "grid3" and u["pk"] in leader),
        key=lambda u: u["path"],
    )
    for grid in grid3:
        chair = leader[grid["pk"]]
        workers = [user for child in children[grid["path"]] for user in workers_at[child]]
        attendees = [chair, *workers]
        rate = min(0.98, max(0.6, rnd.gauss(WEEKLY_RATE, 0.07)))
        village = by_path.get(grid["path"][:-step])
        place = rnd.choice((f"{grid['name']}网格工作站", f"{village['name'] if village else ''}村委会会议室"))
        for days in weeks.values():
            if rnd.random() >= rate:
                continue
            held_on = rnd.choice(days[:3])
            topic, follow = rnd.choice(WEEKLY_TOPICS), rnd.choice(WEEKLY_NEXT)
            visited, found = rnd.randint(8, 40), rnd.randint(0, 6)
            reporters = "、".join(names.get(w, "") for w in workers) or names.get(chair, "")
            minutes = (
                f"{names.get(chair, '')}主持召开网格周例会。{reporters}汇报本周巡查走访情况：走访住户{visited}户，"
                f"发现问题{found}件，已当场处置{max(0, found - 1)}件。会议研究了{topic}工作，部署下周{follow}。"
            )
            pk = rows.meeting(
                unit_id=grid["pk"],
                kind=MeetingKind.WEEKLY,
                held_on=held_on,
                chair=chair,
                place=place,
                agenda=f"一、通报本周巡查走访情况\n二、{topic}\n三、部署下周工作",
                minutes=minutes,
                other="" if rnd.random() < 0.8 else "村民代表2名",
                recorded_at=_local(held_on, 17, rnd.randrange(0, 60)),
                attendees=attendees,
            )
            if rnd.random() < 0.1:
                _resolution(
                    rows, rnd, today, pk, held_on, chair, rnd.choice(WEEKLY_RESOLUTIONS).format(topic=topic)
                )

    # Joint meetings: monthly in each township, quarterly at the county.
    townships = sorted((u for u in units.values() if u["level__rank"] == 2), key=lambda u: u["path"])
    counties = [u for u in units.values() if u["level__rank"] == 1]
    months = sorted({(d.year, d.month) for days in weeks.values() for d in days})
    joint_units = [(t, months) for t in townships] + [
        (c, [m for m in months if m[1] in (1, 4, 7, 10)]) for c in counties
    ]
    recent: list[tuple[int, int, datetime.date, int]] = []  # (resolution, township admin, day, village)
    for unit, unit_months in joint_units:
        chairs = desk_at.get(unit["pk"], [])
        if not chairs:
            continue
        chair = chairs[0]
        below = children[unit["path"]]
        attendees = [chair, *(user for child in below for user in desk_at[child][:1])]
        for year, month in unit_months:
            days = [
                d
                for d in _working_days(datetime.date(year, month, 1), datetime.date(year, month, 15))
                if d <= today
            ]
            if not days:
                continue
            held_on = rnd.choice(days)
            topics = rnd.sample(JOINT_TOPICS, 2)
            minutes = (
                f"{names.get(chair, '')}主持召开{unit['name']}网格化服务管理联席会议。会议{topics[0]}，"
                f"并就{topics[1]}进行了专题研究，明确了责任单位和完成时限。"
            )
            pk = rows.meeting(
                unit_id=unit["pk"],
                kind=MeetingKind.JOINT,
                held_on=held_on,
                chair=chair,
                place=f"{unit['name']}综治中心会议室",
                agenda="\n".join(f"{i + 1}、{t}" for i, t in enumerate(topics)),
                minutes=minutes,
                other=rnd.choice(OTHER_ATTENDEES[:2]),
                recorded_at=_local(held_on, 18, rnd.randrange(0, 60)),
                attendees=attendees,
            )
            for _ in range(rnd.randint(1, 3)):
                village = units[rnd.choice(below)] if below else None
                dept_id, dept_name = rnd.choice(county_departments) if county_departments else (None, "")
                pattern = rnd.choice(JOINT_RESOLUTIONS)
                text = pattern.format(
                    village=village["name"] if village else unit["name"], dept=dept_name, topic=topics[1]
                )
                to_dept = "{dept}" in pattern and dept_id is not None
                resolution = _resolution(
                    rows,
                    rnd,
                    today,
                    pk,
                    held_on,
                    chair,
                    text,
                    unit_id=None if to_dept or village is None else village["pk"],
                    dept_id=dept_id if to_dept else None,
                )
                if unit["level__rank"] == 2 and village is not None and not to_dept:
                    recent.append((resolution, chair, held_on, village["pk"]))

    insert_rows(Meeting, MEETING_COLUMNS, rows.meetings)
    insert_rows(MeetingAttendee, ATTENDEE_COLUMNS, rows.attendees)
    insert_rows(Resolution, RESOLUTION_COLUMNS, rows.resolutions)
    reset_sequences(Meeting, MeetingAttendee, Resolution)
    cases = _spawn_recent(recent, rnd, today)
    return {
        "meetings": len(rows.meetings),
        "weekly": sum(1 for row in rows.meetings if row[4] == MeetingKind.WEEKLY),
        "joint": sum(1 for row in rows.meetings if row[4] == MeetingKind.JOINT),
        "attendees": len(rows.attendees),
        "resolutions": len(rows.resolutions),
        "cases": cases,
    }


def _resolution(rows, rnd, today, meeting_id, held_on, by, text, unit_id=None, dept_id=None) -> int:
    """A resolution due within two weeks; most of those older than three weeks have been carried out."""
    due_on = held_on + datetime.timedelta(days=rnd.choice((5, 7, 10, 14)))
    done_at = None
    if (today - held_on).days > 21 and rnd.random() < 0.9:
        done_day = min(due_on, today)
        done_at = _local(done_day, 16, rnd.randrange(0, 60))
    return rows.resolution(
        meeting_id=meeting_id,
        text=text,
        unit_id=unit_id,
        dept_id=dept_id,
        due_on=due_on,
        by=by,
        added_at=_local(held_on, 18),
        done_at=done_at,
        note=rnd.choice(DONE_NOTES) if done_at else "",
    )


def _spawn_recent(recent, rnd, today) -> int:
    """A few open resolutions of the last weeks' township meetings raise a case, through the service."""
    from wangge.cases.models import Case

    from .services import spawn_case

    leaves = list(Category.objects.filter(parent__isnull=False, is_active=True, default_level="village"))
    if not leaves:
        return 0
    candidates = [r for r in recent if (today - r[2]).days <= 30]
    open_ids = set(
        Resolution.objects.filter(
            pk__in=[r[0] for r in candidates], status=ResolutionStatus.OPEN
        ).values_list("pk", flat=True)
    )
    candidates = [r for r in candidates if r[0] in open_ids]
    count = 0
    users = {u.pk: u for u in User.objects.filter(pk__in={r[1] for r in candidates})}
    for resolution_id, chair, held_on, _village in rnd.sample(
        candidates, min(SPAWNED_CASES, len(candidates))
    ):
        moment = _local(min(held_on + DAY, today), 9, 30)
        case, created = spawn_case(
            Resolution.objects.get(pk=resolution_id), by=users[chair], category=rnd.choice(leaves), now=moment
        )
        if created:
            Case.objects.filter(pk=case.pk).update(created_at=moment, updated_at=moment)
            count += 1
    return count
