"""The demo county's AB岗, absences, emergency reserves, duties and supervision phones (TEAM-3, 4, 6).

    build_cover_demo(seed, today) -> {name: rows written}

Reads the county, posts, staff and ledger already loaded by `wangge demo` and bulk-inserts (batches of
2000) what the services would have written, like the rest of the demo: no change-log rows, a system load.
The rules the services enforce hold for every row: B holds a post in A's village; one B per post at a
time; absences of one post never overlap; a B is never away while covering, and nobody away covers.

- AB pairs: the grid posts of sibling grids (the 四级 grids of one 三级 grid, the 三级 grids of one village)
  pair up two by two, each the other's B (2人互为补充); an odd one out takes the first of its group as B.
- Absences: about one pair in six had one in the last ten months, a few are away today or soon. The
  demo grid worker (demo-gridworker) is away today, and the demo grid leader (demo-gridleader) covers a
  neighbouring grid's leader today, so both logins show cover at work.
- Reserve: 5–15 members per 三级 grid — its B posts, Party members and veterans from its ledger, and
  helpers, retired cadres, volunteers, doctors and police officers with synthetic names and phones.
- Duties on every grid post, 监督电话 on the county (the 12345 hotline) and on every township.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict

from wangge.core.pii import blind_index
from wangge.demo import names
from wangge.ledger.choices import PARTY_STATUSES, ResidentStatus
from wangge.ledger.models import Resident
from wangge.ledger.services import PHONE_INDEX_KIND
from wangge.units.models import Unit

from .models import Absence, AbsenceReason, CoverPair, Post, ReserveKind, ReserveMember, User
from .roles import GRID_ROLES, Role

BATCH = 2000
ONE_DAY = datetime.timedelta(days=1)
PAST_SHARE, NOW_SHARE, SOON_SHARE = 0.16, 0.02, 0.02
REASONS = (
    (AbsenceReason.LEAVE, 45),
    (AbsenceReason.SICK, 25),
    (AbsenceReason.TRAINING, 25),
    (AbsenceReason.OTHER, 5),
)
NOTES = {
    AbsenceReason.LEAVE: ("年休假", "事假：家中有事", "探亲"),
    AbsenceReason.SICK: ("病假", "住院治疗", "门诊输液"),
    AbsenceReason.TRAINING: ("参加县网格员业务培训", "参加镇综治业务培训", "党校学习"),
    AbsenceReason.OTHER: ("外出办事", "借调参加专项工作"),
}
DUTIES = {
    Role.GRID_LEADER: "统筹本网格工作：组织巡查走访，督促网格内问题及时发现、及时处置，对网格工作负总责。",
    Role.DEPUTY_GRID_LEADER: "协助网格长开展工作，网格长不在岗时代行职责。",
    Role.GRID_WORKER_FULL_TIME: (
        "当好信息员、宣传员、调解员、服务员：每日巡查，定期入户走访，采集更新基础信息，发现上报问题隐患，"
        "调解矛盾纠纷，为群众代办便民服务。"
    ),
    Role.GRID_WORKER_PART_TIME: "协助开展巡查走访，收集社情民意，发现问题及时上报，参与矛盾调解和政策宣传。",
}
SYNTHETIC_KINDS = (
    (ReserveKind.DEPARTMENT_HELPER, 2),
    (ReserveKind.RETIRED_CADRE, 2),
    (ReserveKind.VOLUNTEER, 5),
    (ReserveKind.DOCTOR, 1),
    (ReserveKind.POLICE, 1),
    (ReserveKind.NEW_EMPLOYMENT, 1),
    (ReserveKind.VETERAN, 1),
)
SKILLS = {
    ReserveKind.B_POST: ("熟悉网格住户", "逐户排查", "信息采集"),
    ReserveKind.PARTY_MEMBER: ("政策宣传", "逐户排查", "物资分发", "卡口值守"),
    ReserveKind.DEPARTMENT_HELPER: ("物资保障", "政策解读", "协调联络"),
    ReserveKind.RETIRED_CADRE: ("群众工作", "矛盾调解", "政策宣传"),
    ReserveKind.VETERAN: ("应急救援", "卡口值守", "治安巡逻"),
    ReserveKind.NEW_EMPLOYMENT: ("物资配送", "信息传递"),
    ReserveKind.VOLUNTEER: ("物资分发", "卡口值守", "照看老人", "区域消杀"),
    ReserveKind.DOCTOR: ("急救", "慢病随访", "健康监测"),
    ReserveKind.POLICE: ("治安巡逻", "应急疏散", "交通管制"),
}
MOBILE_PREFIXES = ("130", "131", "133", "135", "136", "138", "139", "151", "157", "177", "180", "187", "199")


def _phone(rnd: random.Random) -> str:
    return f"{rnd.choice(MOBILE_PREFIXES)}{rnd.randrange(100_000_000):08d}"


def _weighted(rnd: random.Random, table):
    values, weights = zip(*table, strict=True)
    return rnd.choices(values, weights=weights)[0]


def _batched(rows: list, size: int = BATCH):
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


class _Calendar:
    """Who is away and who covers on which days, so the generated absences keep the services' rules."""

    def __init__(self):
        self.away: dict[int, list[tuple[datetime.date, datetime.date]]] = defaultdict(list)
        self.covering: dict[int, list[tuple[datetime.date, datetime.date]]] = defaultdict(list)

    @staticmethod
    def _clash(spans, start, end) -> bool:
        return any(s <= end and e >= start for s, e in spans)

    def allows(self, a_user: int, b_user: int, start, end) -> bool:
        return not (
            self._clash(self.away[a_user], start, end)
            or self._clash(self.covering[a_user], start, end)
            or self._clash(self.away[b_user], start, end)
        )

    def book(self, a_user: int, b_user: int, start, end) -> None:
        self.away[a_user].append((start, end))
        self.covering[b_user].append((start, end))


def build_cover_demo(seed: int, today: datetime.date) -> dict[str, int]:
    rnd = random.Random(seed)
    counts = {"supervision_phones": _supervision_phones(rnd), "duties": _duties()}
    pairs = _pairs(rnd, today)
    counts["cover_pairs"] = len(pairs)
    counts["absences"] = _absences(rnd, today, pairs)
    counts["reserve_members"] = _reserves(rnd, pairs)
    return counts


def _supervision_phones(rnd: random.Random) -> int:
    units = list(Unit.objects.filter(level__rank__lte=2, effective_to__isnull=True).order_by("path"))
    for unit in units:
        unit.supervision_phone = (
            "12345" if unit.depth == 1 else f"023-{rnd.randrange(60_000_000, 80_000_000)}"
        )
    Unit.objects.bulk_update(units, ["supervision_phone"], batch_size=BATCH)
    return len(units)


def _duties() -> int:
    return sum(Post.objects.filter(role=role, duties="").update(duties=text) for role, text in DUTIES.items())


def _pairs(rnd: random.Random, today: datetime.date) -> list[CoverPair]:
    """Sibling grids' posts, two by two (see the module's doc)."""
    posts = {
        post.pk: post
        for post in Post.objects.active(today)
        .filter(role__in=GRID_ROLES, unit__level__is_grid=True, unit__effective_to__isnull=True)
        .select_related("unit", "user")
        .order_by("unit__path", "id")
    }
    groups: dict[tuple[str, int], list[Post]] = defaultdict(list)
    for post in posts.values():
        groups[(post.unit.parent_path, post.unit.level_id)].append(post)
    pairs = []
    for _key, members in sorted(groups.items()):
        if len(members) < 2:
            continue
        partners = [(members[i], members[i ^ 1]) for i in range(len(members) - len(members) % 2)]
        if len(members) % 2:
            partners.append((members[-1], members[0]))
        for a_post, b_post in partners:
            if a_post.user_id == b_post.user_id:
                continue
            start = max(
                a_post.start_date, b_post.start_date, today - datetime.timedelta(days=rnd.randint(300, 420))
            )
            pairs.append(CoverPair(a_post=a_post, b_user_id=b_post.user_id, start_date=start))
    for batch in _batched(pairs):
        CoverPair.objects.bulk_create(batch)
    return pairs


def _absences(rnd: random.Random, today: datetime.date, pairs: list[CoverPair]) -> int:
    recorders = dict(
        Post.objects.active(today).filter(role=Role.VILLAGE_ADMIN).values_list("unit__path", "user_id")
    )
    village_depth = 3
    calendar = _Calendar()
    rows: list[Absence] = []

    def add(pair: CoverPair, start: datetime.date, end: datetime.date, reason=None) -> bool:
        a_post = pair.a_post
        if start < pair.start_date or not calendar.allows(a_post.user_id, pair.b_user_id, start, end):
            return False
        reason = reason or _weighted(rnd, REASONS)
        calendar.book(a_post.user_id, pair.b_user_id, start, end)
        rows.append(
            Absence(
                post=a_post,
                start=start,
                end=end,
                reason=reason,
                note=rnd.choice(NOTES[reason]),
                cover_id=pair.b_user_id,
                pair=pair,
                recorded_by_id=recorders.get(a_post.unit.path[: Unit.steplen * village_depth]),
            )
        )
        return True

    # The demo logins first, so their cover today is sure to fit.
    demo_users = dict(
        User.objects.filter(username__in=["demo-gridworker", "demo-gridleader"]).values_list("username", "pk")
    )
    worker, leader = demo_users.get("demo-gridworker"), demo_users.get("demo-gridleader")
    for pair in pairs:
        if pair.a_post.user_id == worker:
            add(pair, today - ONE_DAY, today + 3 * ONE_DAY, AbsenceReason.TRAINING)
    for pair in pairs:
        if (
            pair.b_user_id == leader
            and pair.a_post.user_id != worker
            and add(pair, today, today + 2 * ONE_DAY, AbsenceReason.LEAVE)
        ):
            break
    for pair in pairs:
        draw = rnd.random()
        length = datetime.timedelta(days=rnd.choice((1, 1, 2, 2, 3, 3, 4, 5, 7)) - 1)
        if draw < PAST_SHARE:
            start = today - datetime.timedelta(days=rnd.randint(10, 300))
            add(pair, start, min(start + length, today - 2 * ONE_DAY))
        elif draw < PAST_SHARE + NOW_SHARE:
            start = today - datetime.timedelta(days=rnd.randint(0, 2))
            add(pair, start, max(start + length, today))
        elif draw < PAST_SHARE + NOW_SHARE + SOON_SHARE:
            start = today + datetime.timedelta(days=rnd.randint(7, 30))
            add(pair, start, start + length)
    for batch in _batched(rows):
        Absence.objects.bulk_create(batch)
    return len(rows)


def _reserves(rnd: random.Random, pairs: list[CoverPair]) -> int:
    grid3s = list(
        Unit.objects.filter(level__key="grid3", effective_to__isnull=True)
        .order_by("path")
        .values_list("pk", "path")
    )
    if not grid3s:
        return 0
    depth_len = len(grid3s[0][1])
    by_path = {path: pk for pk, path in grid3s}
    users = dict(User.objects.filter(pk__in={p.b_user_id for p in pairs}).values_list("pk", "full_name"))
    user_phones = dict(User.objects.filter(pk__in=users).values_list("pk", "phone"))
    b_users: dict[str, list[int]] = defaultdict(list)
    for pair in pairs:
        grid3 = pair.a_post.unit.path[:depth_len]
        if grid3 in by_path and pair.b_user_id not in b_users[grid3]:
            b_users[grid3].append(pair.b_user_id)

    candidates: dict[str, dict[str, list[tuple[int, str]]]] = defaultdict(lambda: defaultdict(list))
    present = Resident.objects.filter(status=ResidentStatus.PRESENT, household__grid__isnull=False)
    party = present.filter(political_status__in=PARTY_STATUSES)
    veterans = present.filter(tags__code="veteran").exclude(political_status__in=PARTY_STATUSES)
    for kind, rows in ((ReserveKind.PARTY_MEMBER, party), (ReserveKind.VETERAN, veterans)):
        for pk, name, path in rows.values_list("pk", "name", "household__grid__path").order_by("pk"):
            candidates[path[:depth_len]][kind].append((pk, name))

    members: list[ReserveMember] = []
    from_ledger: list[ReserveMember] = []
    for unit_id, path in grid3s:
        size = rnd.randint(5, 15)
        taken = [
            ReserveMember(
                unit_id=unit_id,
                name=users[user_id],
                kind=ReserveKind.B_POST,
                user_id=user_id,
                phone=user_phones.get(user_id) or _phone(rnd),
            )
            for user_id in b_users.get(path, [])[:3]
        ]
        for kind, limit in ((ReserveKind.PARTY_MEMBER, 4), (ReserveKind.VETERAN, 2)):
            pool = candidates[path][kind]
            for pk, name in rnd.sample(pool, min(limit, len(pool), max(0, size - len(taken)))):
                member = ReserveMember(unit_id=unit_id, name=name, kind=kind, resident_id=pk)
                taken.append(member)
                from_ledger.append(member)
        while len(taken) < size:
            kind = _weighted(rnd, SYNTHETIC_KINDS)
            taken.append(
                ReserveMember(unit_id=unit_id, name=names.person_name(rnd), kind=kind, phone=_phone(rnd))
            )
        members.extend(taken)
    resident_phones: dict[int, str] = {}
    for batch in _batched([m.resident_id for m in from_ledger]):
        resident_phones.update(Resident.objects.filter(pk__in=batch).values_list("pk", "phone"))
    for member in from_ledger:
        member.phone = resident_phones.get(member.resident_id) or _phone(rnd)
    for member in members:
        member.skills = "、".join(rnd.sample(SKILLS[member.kind], k=min(2, len(SKILLS[member.kind]))))
        member.available = rnd.random() < 0.9
        member.phone_index = blind_index(PHONE_INDEX_KIND, member.phone)
    for batch in _batched(members):
        ReserveMember.objects.bulk_create(batch)
    return len(members)
