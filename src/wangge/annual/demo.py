"""The annual appraisal of the demo county (年度考核, seed 002; 优秀网格员, seed 003).

    build_annual_demo(seed, today) -> {"rounds": …, "entries": …, "ballots": …, "awards": …, …}

Last year: every village/community ran its round over the holders of grid posts on 31 December, with
self-reports, vote counts from the village meeting, on-site checks for most, and ratings that respect
the cap on 优秀 (floor(share × people)); the rounds were finalised in January. About 1 in 30 rounds rated
someone 不合格: a notice was circulated and the person dismissed (their grid posts ended). About 40% of
the 优秀 became 优秀网格员 of their township (seed 003: 159 in the county), and a few were put forward for
party development or the cadre reserve (through teams.services.flag_worker, so its rules hold).

This year: the 街道 (where the demo logins serve) and two other townships have a ballot round under way,
with about half the self-reports written and about a third of the staff's ballots cast (each voter on
the colleagues of their own village).

Rows are written with the demo's `insert_rows` (explicit ids and timestamps), so the county scale takes
seconds. Everything random comes from one `random.Random(seed)`; the same seed and `today` give the same
rows. Run it after the staff (teams) demo: it leaves alone whoever is already flagged.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict

from django.utils import timezone

from wangge.people.models import Post, User
from wangge.people.roles import GRID_ROLES, Role
from wangge.teams.choices import FlagKind
from wangge.teams.models import PipelineFlag
from wangge.units.models import Unit

from .choices import Rating, RoundStatus, Voting
from .models import AppraisalEntry, AppraisalRound, Award, Ballot
from .services import NON_STAFF_ROLES, excellent_cap, excellent_share

TOWNSHIP_RANK, VILLAGE_RANK = 2, 3
INCOMPETENT_RATE = 1 / 30  # share of last year's rounds (of 5 people or more) with one 不合格
AWARD_RATE = 0.4  # share of last year's 优秀 honoured as 优秀网格员
FLAG_RATE = 0.06  # share of last year's 优秀 put forward (party development or cadre reserve)
ONSITE_RATE = 0.7
OPEN_TOWNSHIPS = 3
SELF_REPORT_RATE = 0.55
VOTER_RATE = 0.35

ROUND_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "unit_id",
    "year",
    "title",
    "reference_date",
    "voting",
    "excellent_share",
    "status",
    "opened_by_id",
    "finalised_at",
    "finalised_by_id",
)
ENTRY_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "round_id",
    "user_id",
    "year",
    "unit_id",
    "role",
    "post_title",
    "self_report",
    "self_report_at",
    "self_report_by_id",
    "votes_excellent",
    "votes_competent",
    "votes_incompetent",
    "votes_entered_at",
    "votes_entered_by_id",
    "onsite_score",
    "onsite_findings",
    "onsite_at",
    "onsite_by_id",
    "rating",
    "rating_note",
    "rated_at",
    "rated_by_id",
    "dismissed_on",
    "dismissed_by_id",
    "notice_text",
    "noticed_on",
    "noticed_by_id",
)
BALLOT_COLUMNS = ("id", "entry_id", "voter_id", "choice", "cast_at")
AWARD_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "year",
    "user_id",
    "title",
    "unit_id",
    "entry_id",
    "awarded_on",
    "awarded_by_id",
)

SELF_REPORTS = (
    "全年入户走访{visits}户次，及时更新住户和人员信息；排查上报矛盾纠纷和安全隐患{found}件，协助化解{solved}件；"
    "开展政策宣传和便民代办服务。不足是信息录入有时不够及时，明年加强。",
    "本年度坚持每月巡查网格，完成季度遍访；上报事件{found}件，其中当场解决{solved}件；"
    "参与汛期隐患排查和森林防火宣传，为独居老人代办事项多次。今后在矛盾调解方法上还需提高。",
    "按时填写民情日志，参加网格周例会和培训；走访{visits}户次，重点关注出租屋和困难家庭，"
    "发现问题{found}件并跟踪办结。存在问题：业务学习不够系统。",
)
ONSITE_FINDINGS = {
    Rating.EXCELLENT: (
        "台账齐全，住户信息准确，群众对网格员熟悉、评价好。",
        "公示牌、联系卡到位，走访记录完整，问题跟踪闭环。",
    ),
    Rating.COMPETENT: (
        "台账基本齐全，个别住户信息未及时更新。",
        "走访记录完整，公示牌信息需更新。",
        "群众知晓率较高，部分问题反馈不够及时。",
    ),
    Rating.INCOMPETENT: ("台账缺失较多，抽查住户多数不认识网格员。", "走访记录与实际不符，隐患未上报。"),
}
RATING_NOTES = {
    Rating.EXCELLENT: "履职突出，民主测评优秀票多，实地查看台账规范。",
    Rating.COMPETENT: "",
    Rating.INCOMPETENT: "全年走访和民情日志严重缺失，群众反映的问题多次未上报，民主测评不合格票过半。",
}
# Demo data is written in the language of the seeds, like the rest of the demo county.
TITLE = "{unit}{year}年度网格员考核"
AWARD_TITLE = "优秀网格员"
NOTICE = (
    "经年度考核，{name}（{grid}）{year}年度考核等次为不合格，予以解聘并通报，取消该年度各类评优评先资格。"
)


def _local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=timezone.get_default_timezone())


def _day_between(rnd: random.Random, first: datetime.date, last: datetime.date) -> datetime.date:
    if last <= first:
        return first
    return first + datetime.timedelta(days=rnd.randint(0, (last - first).days))


class _Ids:
    def __init__(self):
        from wangge.demo.cases import next_id

        self.round = next_id(AppraisalRound)
        self.entry = next_id(AppraisalEntry)
        self.ballot = next_id(Ballot)
        self.award = next_id(Award)

    def take(self, name: str) -> int:
        value = getattr(self, name)
        setattr(self, name, value + 1)
        return value


def _staff(on: datetime.date):
    """(user id, username, unit path, unit id, role, title, name, unit name) of the territorial posts
    held on `on`."""
    return list(
        Post.objects.active(on)
        .exclude(role__in=NON_STAFF_ROLES)
        .filter(user__is_active=True)
        .order_by("unit__path", "id")
        .values_list(
            "user_id",
            "user__username",
            "unit__path",
            "unit_id",
            "role",
            "title",
            "user__full_name",
            "unit__name",
        )
    )


def _deskholders(on: datetime.date) -> tuple[dict[str, int], int | None]:
    """{unit path: the user at its desk (village or township administrator)}, and a county-wide fallback."""
    desks: dict[str, int] = {}
    fallback = None
    for user_id, path, role in (
        Post.objects.active(on)
        .filter(role__in=(Role.VILLAGE_ADMIN, Role.TOWNSHIP_ADMIN, Role.COUNTY_COMMAND, Role.SYSTEM_ADMIN))
        .order_by("unit__path", "id")
        .values_list("user_id", "unit__path", "role")
    ):
        if role in (Role.COUNTY_COMMAND, Role.SYSTEM_ADMIN):
            fallback = fallback or user_id
        else:
            desks.setdefault(path, user_id)
    return desks, fallback


def _desk_for(path: str, desks: dict[str, int], fallback: int | None) -> int | None:
    for prefix in reversed(Unit.path_prefixes(path)):
        if prefix in desks:
            return desks[prefix]
    return fallback


def build_annual_demo(seed: int, today: datetime.date) -> dict[str, int]:
    from wangge.demo.cases import insert_rows, reset_sequences

    rnd = random.Random(seed)
    share = excellent_share()
    ids = _Ids()
    counts = dict.fromkeys(
        ("rounds", "entries", "ballots", "excellent", "incompetent", "dismissed", "awards", "flags"), 0
    )
    units = {
        u.path: u
        for u in Unit.objects.current(today)
        .filter(level__rank__in=(TOWNSHIP_RANK, VILLAGE_RANK), level__is_grid=False)
        .select_related("level")
        .order_by("path")
    }
    villages = [u for u in units.values() if u.level.rank == VILLAGE_RANK]
    townships = [u for u in units.values() if u.level.rank == TOWNSHIP_RANK]
    desks, fallback = _deskholders(today)
    if fallback is None and not desks:
        return counts

    last_year = today.year - 1
    reference = datetime.date(last_year, 12, 31)
    rounds, entries, ballots, awards = [], [], [], []
    dismissals: list[tuple[int, str, datetime.date]] = []
    excellent_entries: list[tuple[int, int, int, str, int]] = []  # (entry, user, village, path, desk)

    # --- last year: a finalised round in every village ---------------------------------------------------
    by_village: dict[str, list[tuple]] = defaultdict(list)
    seen: set[int] = set()
    for user_id, username, path, unit_id, role, title, name, unit_name in _staff(reference):
        if role not in GRID_ROLES or user_id in seen:
            continue
        village = _village_path(path, units)
        if village not in units or units[village].level.rank != VILLAGE_RANK:
            continue
        seen.add(user_id)
        by_village[village].append((user_id, username, unit_id, role, title, name, unit_name))
    january = datetime.date(today.year, 1, 1)
    for village in villages:
        people = by_village.get(village.path)
        if not people:
            continue
        desk = _desk_for(village.path, desks, fallback)
        if desk is None:
            continue
        n = len(people)
        cap = excellent_cap(n, share)
        opened = _local(
            _day_between(rnd, datetime.date(last_year, 12, 1), datetime.date(last_year, 12, 20)), 9
        )
        finalised_day = min(
            today,
            _day_between(rnd, january + datetime.timedelta(days=7), january + datetime.timedelta(days=24)),
        )
        rated_day = max(january, finalised_day - datetime.timedelta(days=2))
        finalised = _local(finalised_day, 16, rnd.randint(0, 59))
        round_id = ids.take("round")
        rounds.append(
            (
                round_id,
                opened,
                finalised,
                village.pk,
                last_year,
                TITLE.format(unit=village.name, year=last_year),
                reference,
                Voting.COUNTS,
                share,
                RoundStatus.FINALISED,
                desk,
                finalised,
                desk,
            )
        )
        counts["rounds"] += 1
        excellent_n = cap if cap and rnd.random() < 0.85 else max(cap - 1, 0)
        order = list(range(n))
        rnd.shuffle(order)
        ratings = [Rating.COMPETENT] * n
        for index in order[:excellent_n]:
            ratings[index] = Rating.EXCELLENT
        if n >= 5 and rnd.random() < INCOMPETENT_RATE:
            spare = [i for i in order[excellent_n:] if not people[i][1].startswith("demo-")]
            if spare:
                ratings[spare[0]] = Rating.INCOMPETENT
        voters = n + rnd.randint(0, 3)  # the grid staff and the village's desk, less oneself
        for (user_id, username, unit_id, role, title, name, unit_name), rating in zip(
            people, ratings, strict=True
        ):
            entry_id = ids.take("entry")
            if rating == Rating.EXCELLENT:
                e = rnd.randint(voters * 6 // 10, voters)
                i = 0
            elif rating == Rating.INCOMPETENT:
                i = rnd.randint(voters // 2 + 1, voters)
                e = 0
            else:
                e = rnd.randint(0, voters * 3 // 10)
                i = rnd.randint(0, max(voters // 10, 0))
            c = max(voters - e - i, 0)
            reported = _local(
                _day_between(rnd, opened.date(), datetime.date(last_year, 12, 28)), 20, rnd.randint(0, 59)
            )
            text = rnd.choice(SELF_REPORTS).format(
                visits=rnd.randint(80, 400), found=rnd.randint(3, 40), solved=rnd.randint(2, 30)
            )
            onsite = rating == Rating.INCOMPETENT or rnd.random() < ONSITE_RATE
            score = {
                Rating.EXCELLENT: rnd.randint(90, 98),
                Rating.COMPETENT: rnd.randint(72, 92),
                Rating.INCOMPETENT: rnd.randint(45, 65),
            }[rating]
            rated = _local(rated_day, 10, rnd.randint(0, 59))
            dismissed_on = notice = noticed_on = None
            if rating == Rating.INCOMPETENT:
                dismissed_on = noticed_on = finalised_day
                notice = NOTICE.format(name=name or username, grid=unit_name, year=last_year)
                dismissals.append((user_id, village.path, finalised_day))
                counts["incompetent"] += 1
                counts["dismissed"] += 1
            elif rating == Rating.EXCELLENT:
                counts["excellent"] += 1
                excellent_entries.append((entry_id, user_id, village.pk, village.path, desk))
            entries.append(
                (
                    entry_id,
                    opened,
                    finalised,
                    round_id,
                    user_id,
                    last_year,
                    unit_id,
                    role,
                    title,
                    text,
                    reported,
                    user_id,
                    e,
                    c,
                    i,
                    _local(datetime.date(last_year, 12, 29), 15),
                    desk,
                    score if onsite else None,
                    rnd.choice(ONSITE_FINDINGS[rating]) if onsite else "",
                    _local(datetime.date(last_year, 12, 30), 11) if onsite else None,
                    desk if onsite else None,
                    rating,
                    RATING_NOTES[rating],
                    rated,
                    desk,
                    dismissed_on,
                    desk if dismissed_on else None,
                    notice or "",
                    noticed_on,
                    desk if noticed_on else None,
                )
            )
    counts["entries"] = len(entries)

    # 优秀网格员: about 40% of the 优秀, honoured by their township.
    title = AWARD_TITLE
    for entry_id, user_id, _village_id, village_path, desk in excellent_entries:
        if rnd.random() >= AWARD_RATE:
            continue
        township = next(
            (
                units[p]
                for p in Unit.path_prefixes(village_path)
                if p in units and units[p].level.rank == TOWNSHIP_RANK
            ),
            None,
        )
        unit = township or units[village_path]
        by = _desk_for(unit.path, desks, fallback) or desk
        day = _day_between(
            rnd,
            min(today, january + datetime.timedelta(days=25)),
            min(today, january + datetime.timedelta(days=45)),
        )
        at = _local(day, 10)
        awards.append((ids.take("award"), at, at, last_year, user_id, title, unit.pk, entry_id, day, by))
    counts["awards"] = len(awards)

    # --- this year: ballot rounds under way in the 街道 and two other townships -------------------------------
    if townships:
        chosen = [townships[0], *rnd.sample(townships[1:], min(OPEN_TOWNSHIPS - 1, len(townships) - 1))]
        staff = _staff(today)
        dismissed_users = {user_id for user_id, _path, _day in dismissals}
        opened_day = max(datetime.date(today.year, 1, 1), today - datetime.timedelta(days=10))
        for township in chosen:
            desk = _desk_for(township.path, desks, fallback)
            if desk is None:
                continue
            posts = [
                row for row in staff if row[2].startswith(township.path) and row[0] not in dismissed_users
            ]
            people: dict[int, tuple] = {}
            for user_id, _username, path, unit_id, role, title_, *_names in posts:
                if role in GRID_ROLES:
                    people.setdefault(user_id, (user_id, path, unit_id, role, title_))
            if not people:
                continue
            opened = _local(opened_day, 9)
            round_id = ids.take("round")
            rounds.append(
                (
                    round_id,
                    opened,
                    opened,
                    township.pk,
                    today.year,
                    TITLE.format(unit=township.name, year=today.year),
                    today,
                    Voting.BALLOTS,
                    share,
                    RoundStatus.OPEN,
                    desk,
                    None,
                    None,
                )
            )
            counts["rounds"] += 1
            tallies: dict[int, list[int]] = {}
            village_of: dict[int, str] = {}
            entry_of: dict[int, int] = {}
            open_entries = []
            for user_id, path, unit_id, role, title_ in people.values():
                entry_id = ids.take("entry")
                entry_of[user_id] = entry_id
                village_of[entry_id] = _village_path(path, units)
                tallies[entry_id] = [0, 0, 0]
                written = rnd.random() < SELF_REPORT_RATE
                at = _local(_day_between(rnd, opened_day, today), 20, rnd.randint(0, 59)) if written else None
                text = (
                    rnd.choice(SELF_REPORTS).format(
                        visits=rnd.randint(80, 400), found=rnd.randint(3, 40), solved=rnd.randint(2, 30)
                    )
                    if written
                    else ""
                )
                open_entries.append(
                    [
                        entry_id,
                        opened,
                        opened,
                        round_id,
                        user_id,
                        today.year,
                        unit_id,
                        role,
                        title_,
                        text,
                        at,
                        user_id if written else None,
                    ]
                )
            voters = sorted({row[0] for row in posts})
            voter_paths = defaultdict(set)
            for user_id, _username, path, *_rest in posts:
                voter_paths[user_id].add(_village_path(path, units))
            for voter in voters:
                if rnd.random() >= VOTER_RATE:
                    continue
                cast = _local(_day_between(rnd, opened_day, today), 12, rnd.randint(0, 59))
                for entry_id in sorted(village_of):
                    if village_of[entry_id] not in voter_paths[voter] or entry_of.get(voter) == entry_id:
                        continue
                    roll = rnd.random()
                    choice = (
                        Rating.EXCELLENT
                        if roll < 0.25
                        else Rating.INCOMPETENT
                        if roll > 0.96
                        else Rating.COMPETENT
                    )
                    tallies[entry_id][
                        (Rating.EXCELLENT, Rating.COMPETENT, Rating.INCOMPETENT).index(choice)
                    ] += 1
                    ballots.append((ids.take("ballot"), entry_id, voter, choice, cast))
            for row in open_entries:
                e, c, i = tallies[row[0]]
                entries.append(
                    (
                        *row,
                        e,
                        c,
                        i,
                        None,
                        None,
                        None,
                        "",
                        None,
                        None,
                        "",
                        "",
                        None,
                        None,
                        None,
                        None,
                        "",
                        None,
                        None,
                    )
                )
        counts["entries"] = len(entries)
        counts["ballots"] = len(ballots)

    insert_rows(AppraisalRound, ROUND_COLUMNS, rounds)
    insert_rows(AppraisalEntry, ENTRY_COLUMNS, entries)
    insert_rows(Ballot, BALLOT_COLUMNS, ballots)
    insert_rows(Award, AWARD_COLUMNS, awards)
    reset_sequences(AppraisalRound, AppraisalEntry, Ballot, Award)

    # 解聘: the incompetent's grid posts under their village end on the day the round was finalised.
    for user_id, village_path, day in dismissals:
        Post.objects.filter(
            user_id=user_id, role__in=GRID_ROLES, unit__path__startswith=village_path, start_date__lte=day
        ).filter(end_date__isnull=True).update(end_date=day)

    counts["flags"] = _flags(rnd, excellent_entries, today)
    return counts


def _village_path(path: str, units: dict) -> str:
    """The path of the village/community at or above `path` (itself when there is none)."""
    return next(
        (p for p in Unit.path_prefixes(path) if p in units and units[p].level.rank == VILLAGE_RANK), path
    )


def _flags(rnd: random.Random, excellent_entries, today: datetime.date) -> int:
    """A few 优秀 put forward through teams.services.flag_worker, by their village's desk."""
    from wangge.teams.services import flag_worker

    flagged = set(PipelineFlag.objects.filter(withdrawn_on__isnull=True).values_list("user_id", "kind"))
    picks = [row for row in excellent_entries if rnd.random() < FLAG_RATE]
    if not picks:
        return 0
    users = User.objects.in_bulk({row[4] for row in picks} | {row[1] for row in picks})
    villages = Unit.objects.in_bulk({row[2] for row in picks})
    made = 0
    for _entry_id, user_id, village_id, _path, desk in picks:
        kind = rnd.choice((FlagKind.PARTY_DEVELOPMENT, FlagKind.CADRE_RESERVE))
        if (user_id, kind) in flagged:
            continue
        holds = Post.objects.active(today).filter(user_id=user_id, role__in=GRID_ROLES).exists()
        if not holds:
            continue
        reason = "上年度考核优秀，" + (
            "政治觉悟高、入党意愿强，推荐为党员发展对象。"
            if kind == FlagKind.PARTY_DEVELOPMENT
            else "表现突出，推荐纳入村（社区）“两委”后备人才库。"
        )
        flag_worker(
            by=users[desk], user=users[user_id], kind=kind, reason=reason, unit=villages[village_id], on=today
        )
        flagged.add((user_id, kind))
        made += 1
    return made
