"""A year of resident points for the demo county: in about 30% of the villages, a points shop with 5–10
goods, and about 30% of their households with a point book — good deeds awarded by their grid staff every
month, a few deductions, redemptions at the shop when the points allow, a few reversed entries, the balance
of the paper 存折 carried over for some, rewards for reported hazards that became registered cases, and the
village's monthly 清洁户 and quarterly 整洁庭院 selections.

    build_points_demo(seed, today) -> {"villages": …, "items": …, "books": …, "entries": …, …}

It reads the loaded units, posts, households and cases, computes every book in order in Python — each
entry's balance-after is the running sum, never below zero, the book's balance the last of them, the rules'
yearly caps respected and the stock never below zero — and writes the rows in bulk (through the demo's
`insert_rows`, which keeps the timestamps given), without change-log rows: a system load of a county's
history, not the work of its users. Everything random comes from one `random.Random(seed)`.
"""

from __future__ import annotations

import datetime
import heapq
import random
from bisect import bisect
from collections import defaultdict
from dataclasses import dataclass
from itertools import accumulate
from typing import NamedTuple

from django.utils import timezone

from wangge.ledger.choices import HouseholdStatus
from wangge.ledger.models import Household
from wangge.people.models import Post
from wangge.people.roles import GRID_ROLES, Role
from wangge.units.models import Unit

from .choices import EntryKind
from .models import PointBook, PointEntry, PointRule, SelectedHousehold, Selection, ShopItem
from .services import VILLAGE_RANK, period_bounds, period_label

DAY = datetime.timedelta(days=1)
VILLAGE_SHARE = 0.3  # villages that run a points shop
HOUSEHOLD_SHARE = 0.3  # of their households, those with a point book
CARRIED_OVER = 0.25  # books that start with the balance of a paper 存折
CLEAN_SHARE = 0.06  # households selected 清洁户 each month
COURTYARD_SHARE = 0.04  # households selected 整洁庭院 each quarter
SHOP_VISITS = 0.35  # months in which a household goes to the shop (it redeems if its points allow)
REVERSED = 0.01  # awards reversed a few days later (entered twice, wrong household)
HAZARD_SHARE = 0.5  # registered cases naming a household with a book whose reporter is rewarded

# (rule code, weight): what grid staff award most.
DEEDS = (
    ("garbage_sorting", 4),
    ("public_labour", 4),
    ("volunteer_service", 3),
    ("policy_participation", 3),
    ("elder_care", 2),
    ("mediation_help", 0.5),
    ("custom_reform", 0.3),
    ("good_deed", 0.3),
)
# (rule code, monthly chance per book)
DEDUCTIONS = (("littering", 0.015), ("illegal_burning", 0.003), ("lavish_events", 0.002))
# (name, price, stock or None for goods not counted, description)
GOODS = (
    ("肥皂", 10, 60, "上海硫磺皂"),
    ("洗衣粉", 15, 50, "1kg"),
    ("牙膏", 8, 60, "120g"),
    ("毛巾", 12, 40, "纯棉"),
    ("酱油", 10, 40, "500ml"),
    ("洗洁精", 10, 40, "1.5kg"),
    ("卫生纸", 20, 40, "10卷装"),
    ("食用油", 80, 15, "5L菜籽油"),
    ("大米", 60, 20, "10kg"),
    ("保温杯", 40, 10, "500ml"),
    ("雨伞", 30, 10, "折叠伞"),
    ("扫帚", 15, 20, "竹扫帚"),
    ("垃圾桶", 25, 15, "分类垃圾桶"),
    ("电饭煲", 200, 3, "3L"),
    ("理发券", 10, None, "村便民理发点使用"),
)
NOTES = {
    "garbage_sorting": ("垃圾分类检查合格", ""),
    "public_labour": ("参加河道清理", "参加村道保洁", "参加义务植树"),
    "volunteer_service": ("敬老院志愿服务", "防疫志愿服务", "交通劝导志愿服务"),
    "policy_participation": ("参加院坝会", "参加法治宣传活动", "参加村民代表会议"),
    "elder_care": ("照顾独居老人", "帮助邻居老人就医"),
    "mediation_help": ("协助调解邻里纠纷", "协助调解家庭矛盾"),
    "custom_reform": ("婚事新办", "丧事简办"),
    "good_deed": ("拾金不昧", "扶贫济困"),
    "littering": ("柴草乱堆乱放，劝导未整改",),
    "illegal_burning": ("焚烧秸秆",),
    "lavish_events": ("办酒席超标，劝导不改",),
}
KEEPER_ROLES = (Role.VILLAGE_ADMIN, Role.TOWNSHIP_ADMIN)


def _local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=timezone.get_default_timezone())


class Event(NamedTuple):
    """One thing that happens to a household's book; ordered by day, minute and the order drawn (unique)."""

    date: datetime.date
    minute: int
    order: int
    kind: str
    data: dict | None = None


class _Rows:
    def __init__(self):
        from wangge.demo.cases import next_id

        self.next = {
            model: next_id(model) for model in (ShopItem, PointBook, PointEntry, Selection, SelectedHousehold)
        }
        self.items: list[tuple] = []
        self.books: list[tuple] = []
        self.entries: list[tuple] = []
        self.selections: list[tuple] = []
        self.selected: list[tuple] = []

    def id(self, model) -> int:
        pk = self.next[model]
        self.next[model] += 1
        return pk


ITEM_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "unit_id",
    "name",
    "description",
    "price",
    "stock",
    "is_active",
    "sort_order",
)
BOOK_COLUMNS = ("id", "created_at", "updated_at", "household_id", "balance", "entry_count")
ENTRY_COLUMNS = (
    "id",
    "book_id",
    "seq",
    "kind",
    "points",
    "balance_after",
    "date",
    "recorded_at",
    "recorded_by_id",
    "unit_id",
    "rule_id",
    "item_id",
    "quantity",
    "case_id",
    "selection_id",
    "reverses_id",
    "note",
    "client_uuid",
)
SELECTION_COLUMNS = (
    "id",
    "unit_id",
    "rule_id",
    "period_start",
    "period_end",
    "made_by_id",
    "made_at",
    "note",
)
SELECTED_COLUMNS = (
    "id",
    "selection_id",
    "household_id",
    "rule_id",
    "period_start",
    "entry_id",
    "withdrawn_at",
)


def build_points_demo(seed: int, today: datetime.date | datetime.datetime | None = None) -> dict[str, int]:
    """Write a year of points up to `today` for the county loaded in the database; returns counts."""
    from wangge.demo.cases import insert_rows, reset_sequences

    if isinstance(today, datetime.datetime):
        today = timezone.localdate(today)
    today = today or timezone.localdate()
    rnd = random.Random(seed)
    start = today - datetime.timedelta(days=364)
    rules = {r.code: r for r in PointRule.objects.filter(is_active=True, unit__isnull=True)}

    villages = list(
        Unit.objects.current(on=today)
        .filter(level__rank=VILLAGE_RANK)
        .order_by("path")
        .values_list("pk", "path", "name")
    )
    staff = _staff(today)
    chosen = [v for v in villages if rnd.random() < VILLAGE_SHARE and _keeper(staff, v[1])]
    if not chosen:
        chosen = [v for v in villages if _keeper(staff, v[1])][:1]
    by_path = {path: (pk, name) for pk, path, name in chosen}
    lengths = sorted({len(path) for path in by_path})
    members: dict[int, list[tuple[int, str]]] = defaultdict(list)  # village -> [(household, grid path)]
    for pk, grid_path in (
        Household.objects.filter(status=HouseholdStatus.ACTIVE, grid__isnull=False)
        .order_by("pk")
        .values_list("pk", "grid__path")
    ):
        for length in lengths:
            village = by_path.get(grid_path[:length])
            if village is not None:
                members[village[0]].append((pk, grid_path))
                break

    rows = _Rows()
    stock: dict[int, int | None] = {}
    shops: dict[int, list[tuple[int, int]]] = {}  # village -> [(item id, price)]
    events: dict[int, list[Event]] = defaultdict(list)  # household -> its events
    village_of: dict[int, tuple[int, str]] = {}  # household -> (village id, village path)
    counter = iter(range(10**9))
    spans = _month_spans(start, today)
    known = [(code, weight) for code, weight in DEEDS if code in rules]
    deeds = ([code for code, _ in known], list(accumulate(weight for _, weight in known)))
    deductions = [(code, chance) for code, chance in DEDUCTIONS if code in rules]

    for village_pk, village_path, _name in chosen:
        shops[village_pk] = _shop(rows, rnd, village_pk, start, stock)
        books = [h for h in members[village_pk] if rnd.random() < HOUSEHOLD_SHARE]
        for household, _grid_path in books:
            village_of[household] = (village_pk, village_path)
            _draw_household(events[household], rnd, deeds, deductions, spans, start, counter)
        _draw_selections(
            rows, rnd, rules, staff, village_pk, village_path, books, start, today, events, counter
        )
    _draw_hazards(rnd, rules, village_of, start, today, events, counter)

    grid_paths = {h: p for v in chosen for h, p in members[v[0]]}
    for household in sorted(events):
        village_pk, village_path = village_of[household]
        _post_book(
            rows,
            rnd,
            rules,
            staff,
            household,
            grid_paths[household],
            village_pk,
            village_path,
            events[household],
            shops[village_pk],
            stock,
            today,
        )

    rows.items = [(*row[:7], stock[row[0]], *row[8:]) for row in rows.items]
    insert_rows(ShopItem, ITEM_COLUMNS, rows.items)
    insert_rows(PointBook, BOOK_COLUMNS, rows.books)
    insert_rows(Selection, SELECTION_COLUMNS, rows.selections)
    insert_rows(PointEntry, ENTRY_COLUMNS, rows.entries)
    insert_rows(SelectedHousehold, SELECTED_COLUMNS, rows.selected)
    reset_sequences(ShopItem, PointBook, PointEntry, Selection, SelectedHousehold)
    kinds = defaultdict(int)
    for row in rows.entries:
        kinds[row[3]] += 1
    return {
        "villages": len(chosen),
        "items": len(rows.items),
        "books": len(rows.books),
        "entries": len(rows.entries),
        "awards": kinds[EntryKind.AWARD],
        "redemptions": kinds[EntryKind.REDEMPTION],
        "reversals": kinds[EntryKind.REVERSAL],
        "selections": len(rows.selections),
        "selected": len(rows.selected),
    }


# --- who acts ---------------------------------------------------------------------------------------------


@dataclass
class _Staff:
    grid: dict[str, list[int]]  # unit path -> holders of grid posts there
    keepers: dict[str, list[int]]  # unit path -> village and township administrators there


def _staff(today: datetime.date) -> _Staff:
    grid, keepers = defaultdict(list), defaultdict(list)
    for role, path, user_id in (
        Post.objects.active(on=today)
        .filter(role__in=[*GRID_ROLES, *KEEPER_ROLES])
        .order_by("unit__path", "id")
        .values_list("role", "unit__path", "user_id")
    ):
        (grid if role in GRID_ROLES else keepers)[path].append(user_id)
    return _Staff(grid, keepers)


def _keeper(staff: _Staff, path: str) -> int | None:
    """The village's administrator, or its township's: who keeps the shop and records selections."""
    for prefix in reversed(Unit.path_prefixes(path)):
        if staff.keepers.get(prefix):
            return staff.keepers[prefix][0]
    return None


def _awarder(staff: _Staff, grid_path: str, cache: dict) -> int | None:
    """The grid staff nearest the household's grid, else the village's or township's administrator."""
    if grid_path not in cache:
        found = None
        for prefix in reversed(Unit.path_prefixes(grid_path)):
            if staff.grid.get(prefix):
                found = staff.grid[prefix][0]
                break
        cache[grid_path] = found or _keeper(staff, grid_path)
    return cache[grid_path]


# --- drawing the year -------------------------------------------------------------------------------------


def _shop(rows: _Rows, rnd: random.Random, village_pk: int, start: datetime.date, stock: dict) -> list:
    goods = sorted(rnd.sample(GOODS, rnd.randint(5, 10)), key=lambda g: g[1])
    opened = _local(start, 9)
    items = []
    for order, (name, price, initial, description) in enumerate(goods, start=1):
        pk = rows.id(ShopItem)
        stock[pk] = None if initial is None else initial + rnd.randint(0, initial)
        rows.items.append(
            (pk, opened, opened, village_pk, name, description, price, stock[pk], True, order * 10)
        )
        items.append((pk, price))
    return items


def _months(start: datetime.date, today: datetime.date) -> list[datetime.date]:
    months, day = [], start.replace(day=1)
    while day <= today:
        months.append(day)
        day = (day + datetime.timedelta(days=32)).replace(day=1)
    return months


def _month_spans(start: datetime.date, today: datetime.date) -> list[tuple[datetime.date, int]]:
    """(first day, days after it) of each month from `start` to `today`, both cut to the window."""
    spans = []
    for month in _months(start, today):
        first = max(month, start)
        last = min((month + datetime.timedelta(days=32)).replace(day=1) - DAY, today)
        spans.append((first, (last - first).days))
    return spans


def _draw_household(events: list, rnd: random.Random, deeds, deductions, spans, start, counter) -> None:
    """A household's year: deeds each month (how many depends on its activity), rare deductions, visits to
    the shop, and for some the paper book carried over at the start."""
    codes, weights = deeds
    total = weights[-1]
    activity = min(2.5, max(0.2, rnd.gauss(1.0, 0.5)))  # how often this household earns points
    how_many = list(accumulate((5, 3 * activity, 1.5 * activity, 0.5 * activity)))
    random_ = rnd.random
    randint = rnd.randint
    if random_() < CARRIED_OVER:
        events.append(Event(start, 8 * 60, next(counter), "adjust", {"points": randint(2, 16) * 5}))
    for first, span in spans:
        for _ in range(bisect(how_many, random_() * how_many[-1])):
            code = codes[bisect(weights, random_() * total)]
            day = first + datetime.timedelta(days=randint(0, span))
            events.append(Event(day, randint(9 * 60, 17 * 60), next(counter), "rule", {"code": code}))
        for code, chance in deductions:
            if random_() < chance:
                day = first + datetime.timedelta(days=randint(0, span))
                events.append(Event(day, randint(9 * 60, 17 * 60), next(counter), "rule", {"code": code}))
        if random_() < SHOP_VISITS:  # a visit to the shop, when the points allow
            day = first + datetime.timedelta(days=randint(0, span))
            events.append(Event(day, randint(9 * 60, 17 * 60), next(counter), "redeem"))


def _draw_selections(rows, rnd, rules, staff, village_pk, village_path, books, start, today, events, counter):
    """Monthly 清洁户 and quarterly 整洁庭院 for the periods that ended since the start, among the books."""
    keeper = _keeper(staff, village_path)
    households = [h for h, _ in books]
    if keeper is None or not households:
        return
    for code, share in (("clean_household", CLEAN_SHARE), ("tidy_courtyard", COURTYARD_SHARE)):
        rule = rules.get(code)
        if rule is None or not rule.period:
            continue
        day = start
        while True:
            period_start, period_end = period_bounds(rule.period, day)
            day = period_end + DAY
            if period_end >= today:
                break
            if period_start < start:
                continue
            count = max(1, round(len(households) * share))
            chosen = sorted(rnd.sample(households, min(count, len(households))))
            selection = rows.id(Selection)
            made_at = _local(period_end, 16, rnd.randint(0, 59))
            rows.selections.append(
                (selection, village_pk, rule.pk, period_start, period_end, keeper, made_at, "")
            )
            label = f"{rule.name} {period_label(rule.period, period_start)}"
            for household in chosen:
                events[household].append(
                    Event(
                        period_end,
                        made_at.hour * 60 + made_at.minute,
                        next(counter),
                        "select",
                        {
                            "selection": selection,
                            "code": code,
                            "by": keeper,
                            "note": label,
                            "period_start": period_start,
                        },
                    )
                )


def _draw_hazards(rnd, rules, village_of, start, today, events, counter) -> None:
    """Registered cases naming a household with a book, in its village: the reporter's points."""
    rule = rules.get("hazard_report")
    if rule is None or not village_of:
        return
    from wangge.cases.models import Case

    through = Case.households.through
    rewarded: set[int] = set()
    for case_id, household, registered_at, unit_path in (
        through.objects.filter(household_id__in=list(village_of), case__registered_at__isnull=False)
        .order_by("case_id", "household_id")
        .values_list("case_id", "household_id", "case__registered_at", "case__unit__path")
    ):
        day = timezone.localdate(registered_at)
        if (
            case_id in rewarded
            or not start <= day <= today
            or not unit_path.startswith(village_of[household][1])
        ):
            continue
        if rnd.random() < HAZARD_SHARE:
            rewarded.add(case_id)
            minute = registered_at.astimezone(timezone.get_default_timezone())
            events[household].append(
                Event(
                    day,
                    minute.hour * 60 + minute.minute,
                    next(counter),
                    "rule",
                    {"code": "hazard_report", "case": case_id},
                )
            )


# --- posting a book ---------------------------------------------------------------------------------------


def _post_book(
    rows, rnd, rules, staff, household, grid_path, village_pk, village_path, events, shop, stock, today
):
    """Walk one household's events in order, posting the entries the services would have posted."""
    awarders: dict = {}
    keeper = _keeper(staff, village_path)
    book = rows.id(PointBook)
    balance, seq = 0, 0
    used: dict[tuple[str, int], int] = defaultdict(int)  # (rule, year) -> points, the yearly cap
    posted: list[tuple] = []

    def post(event, kind, points, by, **fields):
        nonlocal balance, seq
        balance += points
        seq += 1
        recorded_at = _local(event.date, event.minute // 60, event.minute % 60)
        row = (
            rows.id(PointEntry),
            book,
            seq,
            kind,
            points,
            balance,
            event.date,
            recorded_at,
            by,
            village_pk,
            fields.get("rule"),
            fields.get("item"),
            fields.get("quantity", 1),
            fields.get("case"),
            fields.get("selection"),
            fields.get("reverses"),
            fields.get("note", ""),
            None,
        )
        posted.append(row)
        return row

    queue = list(events)
    heapq.heapify(queue)
    while queue:
        event = heapq.heappop(queue)
        if event.kind == "adjust":
            post(event, EntryKind.ADJUSTMENT, event.data["points"], keeper, note="纸质存折余额结转")
        elif event.kind in ("rule", "select"):
            rule = rules[event.data["code"]]
            points = rule.signed_points
            key = (rule.code, event.date.year)
            if rule.yearly_cap is not None and used[key] + abs(points) > rule.yearly_cap:
                continue
            if balance + points < 0:
                continue
            used[key] += abs(points)
            if event.kind == "select":
                row = post(
                    event,
                    EntryKind.AWARD,
                    points,
                    event.data["by"],
                    rule=rule.pk,
                    selection=event.data["selection"],
                    note=event.data["note"],
                )
                rows.selected.append(
                    (
                        rows.id(SelectedHousehold),
                        event.data["selection"],
                        household,
                        rule.pk,
                        event.data["period_start"],
                        row[0],
                        None,
                    )
                )
                continue
            kind = EntryKind.DEDUCTION if points < 0 else EntryKind.AWARD
            note = rnd.choice(NOTES.get(rule.code, ("",)))
            row = post(
                event,
                kind,
                points,
                _awarder(staff, grid_path, awarders),
                rule=rule.pk,
                case=event.data.get("case"),
                note=note,
            )
            if kind == EntryKind.AWARD and rnd.random() < REVERSED:
                later = event.date + datetime.timedelta(days=rnd.randint(1, 5))
                if later <= today:
                    heapq.heappush(
                        queue,
                        Event(
                            later, 10 * 60, event.order, "reverse", {"row": row, "key": key, "points": points}
                        ),
                    )
        elif event.kind == "redeem":
            affordable = [(pk, price) for pk, price in shop if price <= balance and stock[pk] != 0]
            if not affordable:
                continue
            pk, price = rnd.choice(affordable)
            quantity = (
                2
                if balance >= 2 * price and rnd.random() < 0.2 and (stock[pk] is None or stock[pk] >= 2)
                else 1
            )
            if stock[pk] is not None:
                stock[pk] -= quantity
            post(event, EntryKind.REDEMPTION, -price * quantity, keeper, item=pk, quantity=quantity)
        elif event.kind == "reverse":
            original = event.data["row"]
            if balance < event.data["points"]:
                continue
            used[event.data["key"]] -= event.data["points"]
            post(
                event,
                EntryKind.REVERSAL,
                -event.data["points"],
                keeper,
                rule=original[10],
                reverses=original[0],
                note="录入错误，冲正",
            )
    if not posted:
        rows.next[PointBook] -= 1  # nothing happened: no book (ids are handed out in order)
        return
    rows.entries.extend(posted)
    rows.books.append((book, posted[0][7], posted[-1][7], household, balance, seq))
