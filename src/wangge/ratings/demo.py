"""The demo's ratings (以下看上): the grassroots' ratings of the departments on a share of the year's
department-handled cases, the public service providers of each county, and a few thousand residents'
ratings of them at county scale.

    build_ratings_demo(seed, today) -> {"providers": …, "department_ratings": …, "resident_ratings": …}

Departments differ in quality (each has its own mean mark and a lean per dimension), so the results
rank them; so do the providers. A department's finished work is rated by a grid worker above the case
(sometimes by the village office instead, sometimes by both), within the rating window after it finished;
the last days' work is rated less often, so the grid staff have some left to rate. Rows go in through
the demo's `insert_rows` (explicit ids and times), so the county scale takes seconds. Everything random
comes from one `random.Random(seed)`; the same seed and `today` give the same rows. Run it after the case
history and the staff.
"""

from __future__ import annotations

import datetime
import random
import uuid
from collections import defaultdict

from django.utils import timezone

from wangge.people.models import Department, Post
from wangge.people.roles import GRID_ROLES, ROLE_CAPABILITIES, Capability, Role
from wangge.units.models import Unit

from . import services
from .choices import ProviderKind
from .models import DepartmentRating, ResidentRating, ServiceProvider

HISTORY_DAYS = 365
RATED_SHARE = 0.45  # of the departments' finished work, rated by the grassroots
RECENT_DAYS = 10  # work finished in the last days is rated less often: some is left to rate
RECENT_SHARE = 0.2
SECOND_RATER_SHARE = 0.15  # the village office rates the same work too
DESK_RATER_SHARE = 0.15  # the village office rates instead of the grid worker
COMMENT_SHARE = 0.25
RESIDENT_RATINGS_PER_GRID = 0.6
RESIDENT_RATINGS = (40, 4000)  # at least, at most

DEPARTMENT_COMMENTS = {
    "good": (
        "响应及时，处置到位。",
        "部门派员当天到场，群众满意。",
        "配合网格工作主动，沟通顺畅。",
        "办理规范，反馈及时。",
    ),
    "fair": ("基本按期办结，反馈稍慢。", "处置结果一般，还需跟进。", "需多次催办才到场。"),
    "poor": ("推诿扯皮，多次催办仍未到场。", "处置不彻底，群众仍有意见。", "态度生硬，不配合网格员工作。"),
}
RESIDENT_COMMENTS = {
    "good": ("报修后很快就来修了。", "收费清楚，服务热情。", "营业厅办事方便。"),
    "fair": ("停水停电前通知不够及时。", "客服电话不好打通。"),
    "poor": ("账单看不明白，多收费用解释不清。", "故障报修两天才有人来。", "信号差，投诉后没有改善。"),
}

DEPARTMENT_COLUMNS = (
    "id",
    "case_id",
    "department_id",
    "rater_id",
    "rater_unit_id",
    "unit_id",
    "speed",
    "result",
    "attitude",
    "comment",
    "rated_at",
    "changed_at",
)
RESIDENT_COLUMNS = (
    "id",
    "uuid",
    "provider_id",
    "unit_id",
    "quality",
    "responsiveness",
    "transparency",
    "comment",
    "rated_at",
)


def _mark(rnd: random.Random, mean: float) -> int:
    return max(1, min(5, round(rnd.gauss(mean, 0.85))))


def _comment(rnd: random.Random, marks, table) -> str:
    if rnd.random() >= COMMENT_SHARE:
        return ""
    average = sum(marks) / len(marks)
    tone = "good" if average >= 4 else "fair" if average >= 3 else "poor"
    return rnd.choice(table[tone])


def _local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=timezone.get_default_timezone())


def build_ratings_demo(seed: int, today: datetime.date | datetime.datetime | None = None) -> dict[str, int]:
    """Write the providers and a year of ratings up to `today` for the county in the database."""
    from wangge.demo.cases import insert_rows, next_id, reset_sequences

    if isinstance(today, datetime.datetime):
        today = timezone.localdate(today)
    today = today or timezone.localdate()
    rnd = random.Random(seed)
    limit = min(_local(today, 20), max(timezone.now(), _local(today, 0)))
    start = limit - datetime.timedelta(days=HISTORY_DAYS)

    providers = _providers(rnd, today)
    department_rows = _department_ratings(rnd, today, start, limit, next_id(DepartmentRating))
    insert_rows(DepartmentRating, DEPARTMENT_COLUMNS, department_rows)
    resident_rows = _resident_ratings(rnd, today, start, limit, providers, next_id(ResidentRating))
    insert_rows(ResidentRating, RESIDENT_COLUMNS, resident_rows)
    reset_sequences(DepartmentRating, ResidentRating)
    return {
        "providers": len(providers),
        "department_ratings": len(department_rows),
        "resident_ratings": len(resident_rows),
    }


# --- providers --------------------------------------------------------------------------------------------


def _providers(rnd: random.Random, today: datetime.date) -> list[tuple[ServiceProvider, float]]:
    """Each county's companies (water, electricity, gas, the three carriers, cable), a few townships' own
    water works and one township's gas station; with the mean mark each earns. Existing ones are kept."""
    units = list(
        Unit.objects.current(on=today).filter(level__rank__in=(1, 2)).select_related("level").order_by("path")
    )
    planned: list[tuple[ServiceProvider, float]] = []
    for county in (u for u in units if u.level.rank == 1):
        short = county.name.removesuffix("县").removesuffix("区") or county.name
        planned += [
            (
                ServiceProvider(
                    name=f"{short}自来水有限公司", kind=ProviderKind.WATER, unit=county, phone=_phone(rnd)
                ),
                3.7,
            ),
            (
                ServiceProvider(
                    name=f"国网{short}供电公司", kind=ProviderKind.POWER, unit=county, phone="95598"
                ),
                4.1,
            ),
            (
                ServiceProvider(
                    name=f"{short}天然气有限责任公司", kind=ProviderKind.GAS, unit=county, phone=_phone(rnd)
                ),
                3.5,
            ),
            (
                ServiceProvider(
                    name=f"中国移动{short}分公司", kind=ProviderKind.TELECOM, unit=county, phone="10086"
                ),
                3.9,
            ),
            (
                ServiceProvider(
                    name=f"中国联通{short}分公司", kind=ProviderKind.TELECOM, unit=county, phone="10010"
                ),
                3.4,
            ),
            (
                ServiceProvider(
                    name=f"中国电信{short}分公司", kind=ProviderKind.TELECOM, unit=county, phone="10000"
                ),
                3.7,
            ),
            (
                ServiceProvider(
                    name=f"{short}广电网络公司", kind=ProviderKind.OTHER, unit=county, phone=_phone(rnd)
                ),
                3.2,
            ),
        ]
        townships = [u for u in units if u.level.rank == 2 and u.path.startswith(county.path)]
        for township in rnd.sample(townships, min(len(townships), rnd.randint(2, 4))):
            mean = rnd.uniform(2.9, 4.1)
            planned.append(
                (
                    ServiceProvider(
                        name=f"{township.name}供水站",
                        kind=ProviderKind.WATER,
                        unit=township,
                        phone=_phone(rnd),
                    ),
                    mean,
                )
            )
        if townships:
            township = rnd.choice(townships)
            planned.append(
                (
                    ServiceProvider(
                        name=f"{township.name}液化气供应站",
                        kind=ProviderKind.GAS,
                        unit=township,
                        phone=_phone(rnd),
                    ),
                    rnd.uniform(3.0, 4.0),
                )
            )
    existing = {(p.unit_id, p.name): p for p in ServiceProvider.objects.all()}
    new = [p for p, _mean in planned if (p.unit_id, p.name) not in existing]
    ServiceProvider.objects.bulk_create(new, batch_size=2000)
    saved = {
        (p.unit_id, p.name): p for p in ServiceProvider.objects.filter(is_active=True).select_related("unit")
    }
    return [(saved[(p.unit_id, p.name)], mean) for p, mean in planned if (p.unit_id, p.name) in saved]


def _phone(rnd: random.Random) -> str:
    return f"023-{rnd.randint(6000_0000, 6999_9999)}"


# --- department ratings -----------------------------------------------------------------------------------


def _raters(today: datetime.date):
    """Who rates, by the path of their post's unit: grid staff, and the village and township offices."""
    roles = [
        role
        for role, capabilities in ROLE_CAPABILITIES.items()
        if Capability.RATE_DEPARTMENTS in capabilities and role != Role.SYSTEM_ADMIN
    ]
    grid_staff: dict[str, list[tuple[int, int]]] = defaultdict(list)
    desk: dict[str, list[tuple[int, int]]] = defaultdict(list)
    posts = (
        Post.objects.active(on=today)
        .filter(role__in=roles)
        .values_list("user_id", "unit_id", "unit__path", "role")
        .order_by("unit__path", "id")
    )
    for user_id, unit_id, path, role in posts:
        (grid_staff if role in GRID_ROLES else desk)[path].append((user_id, unit_id))
    return grid_staff, desk


def _nearest(table: dict[str, list], path: str) -> list:
    for prefix in reversed(Unit.path_prefixes(path)):
        if table.get(prefix):
            return table[prefix]
    return []


def _department_ratings(rnd, today, start, limit, first_id: int) -> list[tuple]:
    finished: dict[tuple[int, int], tuple[datetime.datetime, int, str]] = {}
    rows = (
        services.finished_assignments()
        .filter(finished_at__gte=start, finished_at__lte=limit)
        .order_by("finished_at", "id")
        .values_list("case_id", "department_id", "finished_at", "case__unit_id", "case__unit__path")
    )
    for case_id, department_id, at, unit_id, path in rows:
        finished[case_id, department_id] = (at, unit_id, path)  # the latest finish wins
    if not finished:
        return []
    # Each department's standard: a mean mark and a lean per dimension (slow but thorough, quick but curt …).
    quality = {}
    for pk in sorted(
        Department.objects.filter(pk__in={d for _c, d in finished}).values_list("pk", flat=True)
    ):
        quality[pk] = (rnd.uniform(2.8, 4.6), [rnd.gauss(0, 0.3) for _ in range(3)])
    grid_staff, desk = _raters(today)
    window = datetime.timedelta(days=services.open_days())
    recent = limit - datetime.timedelta(days=RECENT_DAYS)
    result: list[tuple] = []
    next_pk = first_id
    for (case_id, department_id), (at, unit_id, path) in sorted(
        finished.items(), key=lambda item: (item[1][0], item[0])
    ):
        if rnd.random() >= (RECENT_SHARE if at >= recent else RATED_SHARE):
            continue
        staff, offices = _nearest(grid_staff, path), _nearest(desk, path)
        first = staff if staff and rnd.random() >= DESK_RATER_SHARE else offices or staff
        if not first:
            continue
        raters = [rnd.choice(first)]
        if offices and rnd.random() < SECOND_RATER_SHARE:
            other = rnd.choice(offices)
            if other[0] != raters[0][0]:
                raters.append(other)
        mean, lean = quality[department_id]
        for rater_id, rater_unit_id in raters:
            rated_at = at + datetime.timedelta(minutes=rnd.randint(60, 60 * 24 * 6))
            if rated_at > limit or rated_at > at + window:
                continue
            marks = [_mark(rnd, mean + lean[i]) for i in range(3)]
            changed = rated_at + datetime.timedelta(hours=rnd.randint(1, 48)) if rnd.random() < 0.05 else None
            if changed is not None and changed > limit:
                changed = None
            result.append(
                (
                    next_pk,
                    case_id,
                    department_id,
                    rater_id,
                    rater_unit_id,
                    unit_id,
                    *marks,
                    _comment(rnd, marks, DEPARTMENT_COMMENTS),
                    rated_at,
                    changed,
                )
            )
            next_pk += 1
    return result


# --- residents' ratings -----------------------------------------------------------------------------------


def _resident_ratings(rnd, today, start, limit, providers, first_id: int) -> list[tuple]:
    if not providers:
        return []
    units = list(
        Unit.objects.current(on=today)
        .values_list("pk", "path", "level__rank", "level__is_grid")
        .order_by("path")
    )
    by_path = {path: pk for pk, path, _rank, _grid in units}
    grids = [(pk, path) for pk, path, _rank, is_grid in units if is_grid]
    if not grids:
        return []
    count = max(RESIDENT_RATINGS[0], min(RESIDENT_RATINGS[1], round(len(grids) * RESIDENT_RATINGS_PER_GRID)))
    weights = {
        ProviderKind.TELECOM: 1.4,
        ProviderKind.POWER: 1.2,
        ProviderKind.WATER: 1.0,
        ProviderKind.GAS: 0.7,
        ProviderKind.OTHER: 0.5,
    }
    serving_cache: dict[str, list] = {}
    span = int((limit - start).total_seconds())
    result: list[tuple] = []
    for index in range(count):
        grid_id, grid_path = rnd.choice(grids)
        serving = serving_cache.get(grid_path)
        if serving is None:
            serving = [(p, mean) for p, mean in providers if grid_path.startswith(p.unit.path)]
            serving_cache[grid_path] = serving
        if not serving:
            continue
        provider, mean = rnd.choices(serving, weights=[weights[p.kind] for p, _mean in serving])[0]
        # Most come by a grid's QR code; some pick their township on the page, a few their village.
        choice = rnd.random()
        step = Unit.steplen
        if choice < 0.6:
            unit_id = grid_id
        elif choice < 0.75:
            unit_id = by_path.get(grid_path[: 3 * step], grid_id)
        else:
            unit_id = by_path.get(grid_path[: 2 * step], grid_id)
        marks = [_mark(rnd, mean + lean) for lean in (0.1, -0.2, -0.1)]
        rated_at = start + datetime.timedelta(seconds=rnd.randrange(span))
        result.append(
            (
                first_id + index,
                uuid.UUID(int=rnd.getrandbits(128), version=4),
                provider.pk,
                unit_id,
                *marks,
                _comment(rnd, marks, RESIDENT_COMMENTS),
                rated_at,
            )
        )
    return result
