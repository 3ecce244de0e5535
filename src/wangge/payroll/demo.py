"""This year's payroll for the demo county: a finalised sheet for every past month of the year and a draft
for the current month, for every township and every village, and some information rewards.

    build_payroll_demo(seed, today) -> {"sheets": …, "final_sheets": …, "lines": …, "rewards": …}

It reads the loaded units, posts and cases and computes every sheet with the same arithmetic as
`services.compute_sheet` (`compute.load_month` once per month for the whole county, then `build_lines` for
each unit), writing rows in bulk with explicit ids and timestamps (the demo's `insert_rows`), so the county
scale (≈440 units × 12 months) takes seconds. Rewards are granted first, so the sheets pay them: about one
village in twelve a month rewards one of its paid staff, for a case they found that month when there is
one. Everything random comes from one `random.Random(seed)`; the same seed and `today` give the same rows.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.utils import timezone

from wangge.people.models import Post
from wangge.people.roles import Role
from wangge.units.models import Unit

from . import compute
from .choices import SheetStatus
from .compute import RewardRow, month_start, next_month
from .models import AllowanceItem, InformationReward, PayLine, PayLineItem, PaySheet

REWARD_RATE = 1 / 12  # the share of villages that grant a reward in a month
REWARD_AMOUNTS = ("50.00", "100.00", "100.00", "200.00", "300.00", "500.00")
REWARD_REASONS = (
    "及时报告山体滑坡隐患，提前组织群众转移",
    "发现并报告一起电信诈骗线索，协助民警挽回损失",
    "报告独居老人突发疾病，及时联系送医",
    "排查发现出租屋消防安全重大隐患并及时上报",
    "及时报告一起邻里纠纷苗头，避免矛盾激化",
    "报告河道非法采砂线索",
    "夜间巡查发现燃气泄漏并报告处置",
    "报告走失儿童线索，协助家属找回",
)
KEEPER_ROLES = (Role.VILLAGE_ADMIN, Role.TOWNSHIP_ADMIN, Role.COUNTY_COMMAND)


def _at(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=timezone.get_default_timezone())


def _keepers(county, today) -> dict[str, int]:
    """The user who keeps the pay of each unit path: its village or township administrator, or the nearest
    keeper above it."""
    posts = (
        Post.objects.active(today)
        .filter(unit__path__startswith=county.path, role__in=KEEPER_ROLES)
        .order_by("unit__path", "pk")
        .values_list("unit__path", "user_id")
    )
    keepers: dict[str, int] = {}
    for path, user_id in posts:
        keepers.setdefault(path, user_id)
    return keepers


def _keeper_of(path: str, keepers: dict[str, int]) -> int | None:
    for prefix in reversed(Unit.path_prefixes(path)):
        if prefix in keepers:
            return keepers[prefix]
    return None


class _Rows:
    """Rows of the payroll tables with ids handed out here, inserted at the end."""

    def __init__(self):
        from wangge.demo.cases import next_id

        self.ids = {
            model: next_id(model)
            for model in (
                InformationReward,
                PaySheet,
                PayLine,
                PayLineItem,
                AllowanceItem,
                PayLine.reward_records.through,
                AllowanceItem.cases.through,
            )
        }
        self.rows = {model: [] for model in self.ids}

    def add(self, model, *values) -> int:
        pk = self.ids[model]
        self.ids[model] += 1
        self.rows[model].append((pk, *values))
        return pk


COLUMNS = {
    InformationReward: (
        "id",
        "person_id",
        "unit_id",
        "month",
        "amount",
        "reason",
        "case_id",
        "granted_by_id",
        "created_at",
        "updated_at",
    ),
    PaySheet: (
        "id",
        "unit_id",
        "month",
        "status",
        "computed_at",
        "computed_by_id",
        "finalised_at",
        "finalised_by_id",
        "people",
        "base_total",
        "insurance_total",
        "allowance_total",
        "allowance_count",
        "reward_total",
        "total",
        "year_variable_total",
        "budget_total",
    ),
    PayLine: (
        "id",
        "sheet_id",
        "person_id",
        "unit_id",
        "base",
        "insurance",
        "allowance",
        "allowance_count",
        "rewards",
        "total",
    ),
    PayLineItem: (
        "id",
        "line_id",
        "role",
        "rule_id",
        "days",
        "month_days",
        "pay_kind",
        "base_pay",
        "insurance_rate",
        "insurance_base",
        "base",
        "insurance",
    ),
    AllowanceItem: ("id", "line_id", "rule_id", "kind", "count", "amount_per_case", "monthly_cap", "amount"),
    PayLine.reward_records.through: ("id", "payline_id", "informationreward_id"),
    AllowanceItem.cases.through: ("id", "allowanceitem_id", "case_id"),
}


def build_payroll_demo(seed: int, today: datetime.date) -> dict[str, int]:
    from wangge.demo.cases import insert_rows, reset_sequences

    rnd = random.Random(seed)
    counts = dict.fromkeys(("sheets", "final_sheets", "lines", "rewards"), 0)
    county = Unit.objects.filter(depth=1).order_by("path").first()
    if county is None:
        return counts
    units = list(
        Unit.objects.current(today)
        .filter(path__startswith=county.path, level__is_grid=False, level__rank__in=(2, 3))
        .order_by("path")
        .values_list("pk", "path", "level__rank")
    )
    keepers = _keepers(county, today)
    book = compute.RuleBook.load()
    rows = _Rows()
    current = month_start(today)
    variable: dict[int, Decimal] = {}

    month = today.replace(month=1, day=1)
    while month <= current:
        month_rows = compute.load_month(county.path, month, book)
        last_day = min(compute.month_end(month), today)
        # Rewards first, so that the sheets pay them.
        granted_rewards = []
        for unit_id, path, rank in units:
            if rank != 3 or rnd.random() >= REWARD_RATE:
                continue
            keeper = _keeper_of(path, keepers)
            village = month_rows.under(path)
            staff = sorted(
                {post.user_id for post in village.posts if book.pay_rule(post.role, post.path, month)}
            )
            if keeper is None or not staff:
                continue
            person_id = rnd.choice(staff)
            found = sorted(row.case_id for row in village.found if row.person_id == person_id)
            granted = _at(
                month + datetime.timedelta(days=rnd.randint(0, (last_day - month).days)), rnd.randint(9, 17)
            )
            amount = Decimal(rnd.choice(REWARD_AMOUNTS))
            pk = rows.add(
                InformationReward,
                person_id,
                unit_id,
                month,
                amount,
                rnd.choice(REWARD_REASONS),
                rnd.choice(found) if found else None,
                keeper,
                granted,
                granted,
            )
            granted_rewards.append(RewardRow(pk, person_id, unit_id, path, amount))
        month_rows.add_rewards(granted_rewards)
        counts["rewards"] += len(granted_rewards)

        final = month < current
        computed_at = _at(next_month(month), 9) if final else _at(today, 8)
        for unit_id, path, _rank in units:
            keeper = _keeper_of(path, keepers)
            if keeper is None:
                continue
            lines = compute.build_lines(book, month_rows.under(path), month)
            totals = compute.totals_of(lines)
            so_far = variable.get(unit_id, compute.ZERO) + totals.allowance + totals.rewards
            variable[unit_id] = so_far
            sheet_id = rows.add(
                PaySheet,
                unit_id,
                month,
                SheetStatus.FINAL if final else SheetStatus.DRAFT,
                computed_at,
                keeper,
                computed_at if final else None,
                keeper if final else None,
                totals.people,
                totals.base,
                totals.insurance,
                totals.allowance,
                totals.allowance_count,
                totals.rewards,
                totals.total,
                so_far,
                12 * totals.recurring + so_far,
            )
            counts["sheets"] += 1
            counts["final_sheets"] += final
            for line in lines:
                _add_line(rows, sheet_id, line)
            counts["lines"] += len(lines)
        month = next_month(month)

    for model, values in rows.rows.items():
        insert_rows(model, COLUMNS[model], values)
    reset_sequences(*rows.rows)
    return counts


def _add_line(rows: _Rows, sheet_id: int, line: compute.LineDraft) -> None:
    line_id = rows.add(
        PayLine,
        sheet_id,
        line.person_id,
        line.unit_id,
        line.base,
        line.insurance,
        line.allowance,
        line.allowance_count,
        line.rewards,
        line.total,
    )
    for item in line.items:
        rule = item.rule
        rows.add(
            PayLineItem,
            line_id,
            item.role,
            rule.pk,
            item.days,
            item.month_days,
            rule.pay_kind,
            rule.base_pay,
            rule.insurance_rate,
            rule.effective_insurance_base,
            item.base,
            item.insurance,
        )
    for allowance in line.allowances:
        item_id = rows.add(
            AllowanceItem,
            line_id,
            allowance.rule.pk,
            allowance.kind,
            allowance.count,
            allowance.rule.amount,
            allowance.rule.monthly_cap,
            allowance.amount,
        )
        for case_id in allowance.case_ids:
            rows.add(AllowanceItem.cases.through, item_id, case_id)
    for reward_id in line.reward_ids:
        rows.add(PayLine.reward_records.through, line_id, reward_id)
