"""The payroll arithmetic: which rule applies, proration, caps and rounding — pure functions over rows read
in a few queries, used by `services.compute_sheet` for one sheet and by the demo for every sheet at once.

Definitions (TEAM-7; the decisions are in docs/decisions, the words in the glossary)
---------------------------------------------------------------------------------
- Month: a sheet pays the calendar month M, from local midnight of its first day to that of the next.
- Rule in force: of the versions with `valid_from` on or before the first of M, for a post type at a unit,
  the versions at the unit itself or above it (or deployment-wide) compete; the most specific unit wins,
  and of its versions the latest. A per-case allowance rule is chosen per case: the one naming the most
  specific category that covers the case's category (a 小类 before its 大类 before none), then the most
  specific unit above the place of the case (`Case.unit`), then the latest version.
- Paid post: a post of the sheet's subtree active on at least one day of M whose post type has a pay rule
  in force there (a rule of 0 yuan puts a post type on the payroll for allowances without pay of its own).
- Days held: for each post type, the calendar days of M covered by at least one of the person's posts of
  that type in the subtree (two posts of one type — 多格一员 — are paid once; posts of two types are each
  paid by their own rule). The rule of a post type comes from the post held most days of M (ties: the
  first in tree order).
- Base = monthly amount × days held ÷ days in M; insurance = insurance base (the monthly amount unless the
  rule fixes one) × employer's rate × days held ÷ days in M; each rounded half up to the fen once, at the
  end (a full month gives exactly the monthly amount).
- Case allowances, for holders of a paid post in the subtree, over cases that happened in the subtree:
  found = cases they reported registered in M; in place = cases they handled in place (HANDLE_IN_PLACE) in
  M; mediated = cases of a category a mediation rule names, closed in M, that they handled (handled in
  place or submitted the handling). A case counts once per person and kind. Per person and rule: number
  of cases × amount per case, at most the rule's monthly cap. Kinds add up (one dispute found and
  mediated in place pays found, in place and mediated).
- Rewards: the information rewards of M granted at a unit of the subtree and not withdrawn; a person with
  a reward but no paid post still gets a line.
"""

from __future__ import annotations

import calendar
import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q
from django.utils import timezone

from wangge.cases.choices import ActionKind, CaseState
from wangge.cases.models import Case, CaseAction
from wangge.people.models import Post

from .choices import AllowanceKind
from .models import AllowanceRule, InformationReward, PayRule

FEN = Decimal("0.01")
ZERO = Decimal("0.00")


def fen(value: Decimal) -> Decimal:
    """Rounded half up to the fen (0.005 → 0.01)."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def next_month(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def days_in_month(month: datetime.date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def month_end(month: datetime.date) -> datetime.date:
    return month.replace(day=days_in_month(month))


def local_bounds(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[local midnight of the month's first day, that of the next month's), as aware datetimes."""
    tz = timezone.get_default_timezone()
    start = datetime.datetime.combine(month, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(next_month(month), datetime.time.min, tzinfo=tz)
    return start, end


def prorate(amount: Decimal, days: int, month_days: int) -> Decimal:
    if days == month_days:
        return fen(amount)
    return fen(amount * days / month_days)


# --- the rule book --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleRow:
    rule: PayRule | AllowanceRule
    unit_path: str
    category_code: str
    valid_from: datetime.date


class RuleBook:
    """Every rule version, read once (the tables hold a handful of rows per post type and kind)."""

    def __init__(self, pay_rules, allowance_rules):
        self._pay: dict[str, list[RuleRow]] = defaultdict(list)
        for rule in pay_rules:
            self._pay[rule.role].append(
                RuleRow(rule, rule.unit.path if rule.unit_id else "", "", rule.valid_from)
            )
        self._allowance: dict[str, list[RuleRow]] = defaultdict(list)
        for rule in allowance_rules:
            row = RuleRow(
                rule,
                rule.unit.path if rule.unit_id else "",
                rule.category.code if rule.category_id else "",
                rule.valid_from,
            )
            self._allowance[rule.kind].append(row)
        self._pay_cache: dict = {}
        self._allowance_cache: dict = {}

    @classmethod
    def load(cls) -> RuleBook:
        return cls(
            PayRule.objects.select_related("unit").order_by("pk"),
            AllowanceRule.objects.select_related("unit", "category").order_by("pk"),
        )

    @property
    def paid_roles(self) -> set[str]:
        return set(self._pay)

    def pay_rule(self, role: str, path: str, month: datetime.date) -> PayRule | None:
        key = (role, path, month)
        if key not in self._pay_cache:
            candidates = [
                row
                for row in self._pay.get(role, ())
                if row.valid_from <= month and path.startswith(row.unit_path)
            ]
            best = max(candidates, key=lambda row: (len(row.unit_path), row.valid_from), default=None)
            self._pay_cache[key] = best.rule if best else None
        return self._pay_cache[key]

    def allowance_rule(self, kind: str, path: str, code: str, month: datetime.date) -> AllowanceRule | None:
        key = (kind, path, code, month)
        if key not in self._allowance_cache:
            candidates = [
                row
                for row in self._allowance.get(kind, ())
                if row.valid_from <= month
                and path.startswith(row.unit_path)
                and code.startswith(row.category_code)
            ]
            best = max(
                candidates,
                key=lambda row: (len(row.category_code), len(row.unit_path), row.valid_from),
                default=None,
            )
            self._allowance_cache[key] = best.rule if best else None
        return self._allowance_cache[key]

    def has_kind(self, kind: str, month: datetime.date) -> bool:
        return any(row.valid_from <= month for row in self._allowance.get(kind, ()))

    def mediation_categories(self, month: datetime.date) -> list[str]:
        """The category codes mediation rules in force name (every mediation rule names one)."""
        return sorted(
            {
                row.category_code
                for row in self._allowance.get(AllowanceKind.MEDIATED, ())
                if row.valid_from <= month
            }
            - {""}
        )


# --- the month's rows -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostRow:
    pk: int
    user_id: int
    role: str
    unit_id: int
    path: str
    start: datetime.date
    end: datetime.date | None


@dataclass(frozen=True)
class CaseRow:
    person_id: int
    case_id: int
    path: str
    code: str


@dataclass(frozen=True)
class RewardRow:
    pk: int
    person_id: int
    unit_id: int
    path: str
    amount: Decimal


@dataclass
class MonthRows:
    """What a month's sheets are computed from, for one subtree; `under(path)` narrows it to a unit below."""

    posts: list[PostRow] = field(default_factory=list)
    found: list[CaseRow] = field(default_factory=list)
    in_place: list[CaseRow] = field(default_factory=list)
    mediated: list[CaseRow] = field(default_factory=list)
    rewards: list[RewardRow] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    root: str = ""
    _index: dict = field(default_factory=dict, repr=False)

    def add_rewards(self, rewards: list[RewardRow]) -> None:
        """Rewards granted after the rows were read (the demo grants before it computes)."""
        self.rewards.extend(rewards)
        self._index.clear()

    def under(self, path: str) -> MonthRows:
        """The rows under `path` (grouped once per path length, so narrowing to every unit of a level costs
        one pass over the rows)."""
        if path == self.root:
            return self
        width = len(path)
        groups = self._index.get(width)
        if groups is None:
            groups = self._index[width] = defaultdict(lambda: MonthRows(names=self.names))
            for name in ("posts", "found", "in_place", "mediated", "rewards"):
                for row in getattr(self, name):
                    getattr(groups[row.path[:width]], name).append(row)
            for prefix, rows in groups.items():
                rows.root = prefix
        return groups.get(path) or MonthRows(names=self.names, root=path)


def load_month(root_path: str, month: datetime.date, book: RuleBook) -> MonthRows:
    """The rows of `month` under `root_path`, in five queries (four when no mediation rule is in force)."""
    start, end = local_bounds(month)
    last = month_end(month)
    rows = MonthRows(root=root_path)
    posts = (
        Post.objects.filter(unit__path__startswith=root_path, role__in=book.paid_roles, start_date__lte=last)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=month))
        .order_by("unit__path", "pk")
        .values_list(
            "pk",
            "user_id",
            "role",
            "unit_id",
            "unit__path",
            "start_date",
            "end_date",
            "user__full_name",
            "user__username",
        )
    )
    post_path: dict[int, str] = {}
    for pk, user_id, role, unit_id, path, start_date, end_date, full_name, username in posts:
        rows.posts.append(PostRow(pk, user_id, role, unit_id, path, start_date, end_date))
        rows.names[user_id] = full_name or username
        post_path.setdefault(user_id, path)

    cases = Case.objects.filter(unit__path__startswith=root_path)
    if book.has_kind(AllowanceKind.FOUND, month):
        found = cases.filter(
            registered_at__gte=start, registered_at__lt=end, reporter__isnull=False
        ).values_list("reporter_id", "pk", "unit__path", "category__code")
        rows.found = [CaseRow(person, case, path, code or "") for person, case, path, code in found]
    actions = CaseAction.objects.filter(actor__isnull=False, case__unit__path__startswith=root_path)
    columns = ("actor_id", "case_id", "case__unit__path", "case__category__code")
    if book.has_kind(AllowanceKind.IN_PLACE, month):
        in_place = actions.filter(kind=ActionKind.HANDLE_IN_PLACE, time__gte=start, time__lt=end).values_list(
            *columns
        )
        rows.in_place = [CaseRow(person, case, path, code or "") for person, case, path, code in in_place]
    prefixes = book.mediation_categories(month)
    if prefixes:
        disputes = Q(pk__in=[])
        for prefix in prefixes:
            disputes |= Q(case__category__code__startswith=prefix)
        mediated = (
            actions.filter(disputes)
            .filter(
                kind__in=[ActionKind.HANDLE_IN_PLACE, ActionKind.SUBMIT],
                case__state=CaseState.CLOSED,
                case__closed_at__gte=start,
                case__closed_at__lt=end,
            )
            .values_list(*columns)
        )
        rows.mediated = [CaseRow(person, case, path, code or "") for person, case, path, code in mediated]

    # A reward is paid with the person's pay: on every sheet over their post, whoever granted it (a
    # township's reward shows on the village sheet too), so it sits at the person's post below.
    rewards = (
        InformationReward.objects.live()
        .filter(month=month)
        .filter(Q(unit__path__startswith=root_path) | Q(person_id__in=list(post_path)))
        .order_by("pk")
        .values_list(
            "pk", "person_id", "unit_id", "unit__path", "amount", "person__full_name", "person__username"
        )
    )
    for pk, person_id, unit_id, path, amount, full_name, username in rewards:
        rows.rewards.append(RewardRow(pk, person_id, unit_id, post_path.get(person_id, path), amount))
        rows.names.setdefault(person_id, full_name or username)
    return rows


# --- lines ----------------------------------------------------------------------------------------------


@dataclass
class ItemDraft:
    role: str
    rule: PayRule
    days: int
    month_days: int
    base: Decimal
    insurance: Decimal
    unit_id: int
    unit_path: str
    post_pk: int


@dataclass
class AllowanceDraft:
    rule: AllowanceRule
    kind: str
    case_ids: list[int]
    amount: Decimal

    @property
    def count(self) -> int:
        return len(self.case_ids)


@dataclass
class LineDraft:
    person_id: int
    name: str
    unit_id: int
    unit_path: str
    items: list[ItemDraft] = field(default_factory=list)
    allowances: list[AllowanceDraft] = field(default_factory=list)
    reward_ids: list[int] = field(default_factory=list)
    rewards: Decimal = ZERO

    @property
    def base(self) -> Decimal:
        return sum((item.base for item in self.items), ZERO)

    @property
    def insurance(self) -> Decimal:
        return sum((item.insurance for item in self.items), ZERO)

    @property
    def allowance(self) -> Decimal:
        return sum((item.amount for item in self.allowances), ZERO)

    @property
    def allowance_count(self) -> int:
        return sum(item.count for item in self.allowances)

    @property
    def total(self) -> Decimal:
        return self.base + self.insurance + self.allowance + self.rewards


@dataclass
class SheetTotals:
    people: int = 0
    base: Decimal = ZERO
    insurance: Decimal = ZERO
    allowance: Decimal = ZERO
    allowance_count: int = 0
    rewards: Decimal = ZERO

    @property
    def recurring(self) -> Decimal:
        return self.base + self.insurance

    @property
    def total(self) -> Decimal:
        return self.base + self.insurance + self.allowance + self.rewards


def totals_of(lines: list[LineDraft]) -> SheetTotals:
    totals = SheetTotals(people=len(lines))
    for line in lines:
        totals.base += line.base
        totals.insurance += line.insurance
        totals.allowance += line.allowance
        totals.allowance_count += line.allowance_count
        totals.rewards += line.rewards
    return totals


def _days_held(posts: list[PostRow], month: datetime.date) -> tuple[int, dict[int, int]]:
    """Days of `month` covered by any of `posts` (the union), and each post's own days."""
    first, last = month, month_end(month)
    own: dict[int, int] = {}
    spans = []
    for post in posts:
        start = max(post.start, first)
        end = min(post.end, last) if post.end else last
        if start > end:
            continue
        spans.append((start, end))
        own[post.pk] = (end - start).days + 1
    covered, reach = 0, None
    for start, end in sorted(spans):
        if reach is not None and start <= reach:
            if end > reach:
                covered += (end - reach).days
                reach = end
            continue
        covered += (end - start).days + 1
        reach = end
    return covered, own


def build_lines(book: RuleBook, rows: MonthRows, month: datetime.date) -> list[LineDraft]:
    """The lines of the sheet of `rows`' subtree for `month`, in tree order of the person's main post, then
    by name."""
    month_days = days_in_month(month)
    paid: dict[tuple[int, str], list[tuple[PostRow, PayRule]]] = defaultdict(list)
    for post in rows.posts:
        rule = book.pay_rule(post.role, post.path, month)
        if rule is not None:
            paid[(post.user_id, post.role)].append((post, rule))

    lines: dict[int, LineDraft] = {}
    for (person_id, role), held in paid.items():
        days, own = _days_held([post for post, _rule in held], month)
        if days == 0:
            continue
        post, rule = min(held, key=lambda pair: (-own.get(pair[0].pk, 0), pair[0].path, pair[0].pk))
        base = prorate(rule.base_pay, days, month_days)
        insurance = prorate(rule.effective_insurance_base * rule.insurance_rate, days, month_days)
        item = ItemDraft(role, rule, days, month_days, base, insurance, post.unit_id, post.path, post.pk)
        line = lines.get(person_id)
        if line is None:
            line = lines[person_id] = LineDraft(
                person_id, rows.names.get(person_id, ""), post.unit_id, post.path
            )
        line.items.append(item)
    for line in lines.values():
        main = min(line.items, key=lambda item: (-item.days, item.unit_path, item.post_pk))
        line.unit_id, line.unit_path = main.unit_id, main.unit_path
        line.items.sort(key=lambda item: item.role)

    for kind, case_rows in (
        (AllowanceKind.FOUND, rows.found),
        (AllowanceKind.IN_PLACE, rows.in_place),
        (AllowanceKind.MEDIATED, rows.mediated),
    ):
        counted: dict[tuple[int, int], set[int]] = defaultdict(set)
        rules: dict[int, AllowanceRule] = {}
        for row in case_rows:
            if row.person_id not in lines:
                continue
            rule = book.allowance_rule(kind, row.path, row.code, month)
            if rule is None:
                continue
            rules[rule.pk] = rule
            counted[(row.person_id, rule.pk)].add(row.case_id)
        for (person_id, rule_pk), case_ids in sorted(counted.items()):
            rule = rules[rule_pk]
            amount = rule.amount * len(case_ids)
            if rule.monthly_cap is not None and amount > rule.monthly_cap:
                amount = rule.monthly_cap
            lines[person_id].allowances.append(AllowanceDraft(rule, kind, sorted(case_ids), fen(amount)))

    for reward in rows.rewards:
        line = lines.get(reward.person_id)
        if line is None:
            line = lines[reward.person_id] = LineDraft(
                reward.person_id, rows.names.get(reward.person_id, ""), reward.unit_id, reward.path
            )
        line.reward_ids.append(reward.pk)
        line.rewards += reward.amount

    return sorted(lines.values(), key=lambda line: (line.unit_path, line.name, line.person_id))
