"""The payroll arithmetic on crafted data, every expected figure computed by hand: base pay and insurance
(seed 001's 2.4 million), proration by calendar days, overlapping posts, rounding half up to the fen, the
most specific rule, per-case allowances (found, in place, mediated, category subtree, caps) and rewards."""

from decimal import Decimal

import pytest

from wangge.cases.choices import ActionKind, CaseState
from wangge.payroll import services
from wangge.payroll.choices import AllowanceKind, PayKind
from wangge.payroll.models import AllowanceItem, AllowanceRule, PayLine, PayRule
from wangge.people.models import Post
from wangge.people.roles import Role

from .conftest import FULL_TIME, PART_TIME, D, act, category, handled_in_place, local, make_case, person

pytestmark = pytest.mark.django_db


def sheet_of(county, unit, month, today=None):
    return services.compute_sheet(by=county.users.sysadmin, unit=unit, month=month, today=today)


def line(sheet, user) -> PayLine:
    return sheet.lines.get(person=user)


def money(text: str) -> Decimal:
    return Decimal(text)


# --- base pay and insurance -------------------------------------------------------------------------------


def test_a_full_month_pays_the_monthly_amount_and_the_employers_insurance(county):
    sheet = sheet_of(county, county.village_a, D(2026, 3, 1))
    worker = line(sheet, county.users.grid_worker)
    # Seed 001's rule: 1,580.00 and 26.58 % of it, 419.964 → 419.96.
    assert (worker.base, worker.insurance, worker.total) == (
        money("1580.00"),
        money("419.96"),
        money("1999.96"),
    )
    item = worker.items.get()
    assert (item.role, item.days, item.month_days, item.pay_kind) == (FULL_TIME, 31, 31, PayKind.SALARY)
    # The grid leader's post type is on the payroll at 0 yuan (兼任), so it can earn case allowances.
    leader = line(sheet, county.users.grid_leader)
    assert (leader.base, leader.insurance, leader.total) == (money("0.00"), money("0.00"), money("0.00"))
    # Village and township administrators hold no paid post: no line.
    assert not sheet.lines.filter(person=county.users.village_a).exists()
    assert (sheet.people, sheet.total) == (2, money("1999.96"))


def test_seed_001_hundred_full_time_workers_cost_about_2_4_million_a_year(county):
    """100 × 12 × (1,580.00 + round(1,580 × 0.2658 = 419.964) = 419.96) = 100 × 12 × 1,999.96."""
    Post.objects.bulk_create(
        Post(user=person(f"w{i:03d}"), unit=county.grid_a2_only, role=FULL_TIME, start_date=D(2025, 1, 1))
        for i in range(100)
    )
    december = D(2026, 12, 15)
    sheets = [
        sheet_of(county, county.village_a2, D(2026, month, 1), today=december) for month in range(1, 13)
    ]
    for sheet in sheets:
        assert sheet.people == 100
        assert (sheet.base_total, sheet.insurance_total) == (money("158000.00"), money("41996.00"))
        assert sheet.total == money("199996.00")
        assert sheet.budget_total == money("2399952.00")  # 12 × 199,996.00, no allowances or rewards
    assert sum(sheet.total for sheet in sheets) == money("2399952.00")
    budget = services.year_budget(county.village_a2, 2026)
    assert budget.yearly_budget == budget.computed_total == money("2399952.00")


def test_a_post_starting_mid_month_is_paid_for_its_calendar_days(county):
    new = person("new", (county.cell_a12, FULL_TIME, D(2026, 3, 16)))
    worker = line(sheet_of(county, county.village_a, D(2026, 3, 1)), new)
    item = worker.items.get()
    assert (item.days, item.month_days) == (16, 31)
    # 1,580 × 16/31 = 815.4838… → 815.48; 1,580 × 0.2658 × 16/31 = 216.7556… → 216.76
    assert (worker.base, worker.insurance) == (money("815.48"), money("216.76"))
    assert not sheet_of(county, county.village_a, D(2026, 2, 1)).lines.filter(person=new).exists()


def test_a_post_ending_mid_month_is_paid_up_to_its_last_day(county):
    leaving = person("leaving", (county.cell_a12, FULL_TIME, D(2024, 1, 1), D(2026, 4, 10)))
    worker = line(sheet_of(county, county.village_a, D(2026, 4, 1)), leaving)
    # April has 30 days: 1,580 × 10/30 = 526.666… → 526.67; 419.964 × 10/30 = 139.988 → 139.99
    assert (worker.base, worker.insurance) == (money("526.67"), money("139.99"))


def test_two_posts_of_one_type_are_paid_once_for_the_days_either_covers(county):
    overlapping = person(
        "overlap",
        (county.cell_a11, FULL_TIME, D(2026, 3, 1), D(2026, 3, 20)),
        (county.cell_a12, FULL_TIME, D(2026, 3, 15)),
    )
    gap = person(
        "gap",
        (county.cell_a11, FULL_TIME, D(2026, 3, 1), D(2026, 3, 10)),
        (county.cell_a12, FULL_TIME, D(2026, 3, 21)),
    )
    sheet = sheet_of(county, county.village_a, D(2026, 3, 1))
    assert (line(sheet, overlapping).base, line(sheet, overlapping).items.get().days) == (
        money("1580.00"),
        31,
    )
    # 10 + 11 = 21 days: 1,580 × 21/31 = 1,070.3225… → 1,070.32; 419.964 × 21/31 = 284.4917… → 284.49
    paid = line(sheet, gap)
    assert (paid.base, paid.insurance, paid.items.get().days) == (money("1070.32"), money("284.49"), 21)
    assert paid.unit == county.cell_a12  # the post held most days of the month (11 against 10)


def test_posts_of_two_types_are_each_paid_by_their_own_rule(county):
    both = person(
        "both", (county.cell_a12, FULL_TIME, D(2025, 1, 1)), (county.grid_a2, PART_TIME, D(2025, 1, 1))
    )
    paid = line(sheet_of(county, county.village_a, D(2026, 3, 1)), both)
    assert sorted(paid.items.values_list("role", "base", "insurance")) == [
        (FULL_TIME, money("1580.00"), money("419.96")),
        (PART_TIME, money("300.00"), money("0.00")),
    ]
    assert paid.total == money("2299.96")


def test_amounts_are_rounded_half_up_to_the_fen(county):
    PayRule.objects.create(
        role=PART_TIME,
        unit=county.village_a,
        valid_from=D(2026, 1, 1),
        pay_kind=PayKind.LOST_TIME,
        base_pay=money("101.01"),
        insurance_rate=money("0.1000"),
        insurance_base=money("4321.05"),
    )
    whole = person("whole", (county.cell_a12, PART_TIME, D(2025, 1, 1)))
    half = person("half", (county.cell_a12, PART_TIME, D(2026, 4, 16)))
    sheet = sheet_of(county, county.village_a, D(2026, 4, 1))
    # 4,321.05 × 0.1 = 432.105 → 432.11 (half even would give 432.10)
    assert (line(sheet, whole).base, line(sheet, whole).insurance) == (money("101.01"), money("432.11"))
    # 101.01 × 15/30 = 50.505 → 50.51; 432.105 × 15/30 = 216.0525 → 216.05
    assert (line(sheet, half).base, line(sheet, half).insurance) == (money("50.51"), money("216.05"))


def test_the_rule_of_the_most_specific_unit_wins_and_stays_until_its_next_version(county):
    person("worker_b", (county.grid_b1, FULL_TIME, D(2025, 1, 1)))
    for unit, valid_from, amount in (
        (county.town_a, D(2026, 1, 1), "1700.00"),
        (county.village_a, D(2026, 3, 1), "1800.00"),
        (None, D(2026, 4, 1), "1600.00"),
    ):
        PayRule.objects.create(
            role=FULL_TIME,
            unit=unit,
            valid_from=valid_from,
            base_pay=money(amount),
            insurance_rate=money("0"),
        )
    paid = {
        month: {
            sheet_line.person.username: sheet_line.base
            for sheet_line in sheet_of(county, county.county, D(2026, month, 1)).lines.select_related(
                "person"
            )
        }
        for month in (1, 2, 3, 4)
    }
    assert paid[1]["grid_worker"] == paid[2]["grid_worker"] == money("1700.00")  # the township's override
    assert paid[3]["grid_worker"] == paid[4]["grid_worker"] == money("1800.00")  # the village's, from March
    assert paid[3]["worker_b"] == money("1580.00")  # 乙镇 keeps the deployment-wide rule …
    assert paid[4]["worker_b"] == money("1600.00")  # … and takes its new version from April


def test_a_sheet_covers_its_subtree_only(county):
    worker_b = person("worker_b", (county.grid_b1, FULL_TIME, D(2025, 1, 1)))
    village = sheet_of(county, county.village_a, D(2026, 3, 1))
    town_b = sheet_of(county, county.town_b, D(2026, 3, 1))
    whole = sheet_of(county, county.county, D(2026, 3, 1))
    assert set(village.lines.values_list("person__username", flat=True)) == {"grid_worker", "grid_leader"}
    assert set(town_b.lines.values_list("person__username", flat=True)) == {worker_b.username}
    assert whole.people == 3 and whole.total == village.total + town_b.total


# --- per-case allowances ----------------------------------------------------------------------------------


def allowances(sheet_line) -> dict[str, tuple[int, Decimal]]:
    return {item.kind: (item.count, item.amount) for item in sheet_line.allowances.all()}


def test_cases_found_count_in_the_month_they_are_registered_local_time(county):
    worker = county.users.grid_worker
    cell = county.cell_a11
    counted = [
        make_case(cell, reporter=worker, registered_at=local(2026, 3, 1, 0, 0)),
        make_case(cell, reporter=worker, registered_at=local(2026, 3, 31, 23, 59)),
    ]
    make_case(cell, reporter=worker, registered_at=local(2026, 2, 28, 23, 59))
    make_case(cell, reporter=worker, registered_at=local(2026, 4, 1, 0, 0))
    make_case(cell, reporter=worker, registered_at=None, state=CaseState.REPORTED)  # not registered
    make_case(cell, reporter=county.users.grid_leader, registered_at=local(2026, 3, 5, 9))  # someone else's
    paid = line(sheet_of(county, county.village_a, D(2026, 3, 1)), worker)
    assert allowances(paid) == {AllowanceKind.FOUND: (2, money("10.00"))}  # 2 × 5.00
    assert sorted(paid.allowances.get().cases.values_list("pk", flat=True)) == sorted(c.pk for c in counted)
    assert (paid.allowance, paid.allowance_count, paid.total) == (money("10.00"), 2, money("2009.96"))
    assert allowances(line(sheet_of(county, county.village_a, D(2026, 3, 1)), county.users.grid_leader)) == {
        AllowanceKind.FOUND: (1, money("5.00"))
    }


def test_cases_resolved_in_place_count_once_each_in_the_month_of_the_action(county):
    worker = county.users.grid_worker
    first = handled_in_place(county.cell_a11, worker, local(2026, 3, 2, 10), code="0201")
    act(first, ActionKind.HANDLE_IN_PLACE, worker, local(2026, 3, 9, 10))  # reopened and handled again
    handled_in_place(county.cell_a11, worker, local(2026, 3, 20, 10), code="0201")
    handled_in_place(county.cell_a11, worker, local(2026, 4, 2, 10), code="0201")
    paid = line(sheet_of(county, county.village_a, D(2026, 3, 1)), worker)
    assert allowances(paid) == {AllowanceKind.IN_PLACE: (2, money("20.00"))}  # 2 × 10.00


def test_disputes_closed_in_the_month_pay_the_mediation_allowance_to_who_handled_them(county):
    worker = county.users.grid_worker
    # A dispute (01 矛盾纠纷 › 0101) mediated in place: in place 10.00 and mediated 20.00 add up.
    handled_in_place(county.cell_a11, worker, local(2026, 3, 3, 10), code="0101")
    # A dispute handled after dispatch: submitted in February, checked and closed in March.
    submitted = make_case(
        county.cell_a11,
        registered_at=local(2026, 2, 20, 9),
        code="0102",
        state=CaseState.CLOSED,
        closed_at=local(2026, 3, 2, 9),
    )
    act(submitted, ActionKind.SUBMIT, worker, local(2026, 2, 27, 9), to_state=CaseState.SUBMITTED)
    # Not a dispute, and a dispute not closed: no mediation allowance.
    other = make_case(
        county.cell_a11,
        registered_at=local(2026, 3, 1, 9),
        code="0201",
        state=CaseState.CLOSED,
        closed_at=local(2026, 3, 5),
    )
    act(other, ActionKind.SUBMIT, worker, local(2026, 3, 4, 9), to_state=CaseState.SUBMITTED)
    open_dispute = make_case(
        county.cell_a11, registered_at=local(2026, 3, 1, 9), code="0101", state=CaseState.SUBMITTED
    )
    act(open_dispute, ActionKind.SUBMIT, worker, local(2026, 3, 4, 9), to_state=CaseState.SUBMITTED)
    paid = line(sheet_of(county, county.village_a, D(2026, 3, 1)), worker)
    assert allowances(paid) == {
        AllowanceKind.IN_PLACE: (1, money("10.00")),
        AllowanceKind.MEDIATED: (2, money("40.00")),
    }
    mediated = paid.allowances.get(kind=AllowanceKind.MEDIATED)
    assert mediated.rule.category == category("01")


def test_a_rule_naming_a_category_covers_its_subtree_and_the_most_specific_category_wins(county):
    worker = county.users.grid_worker
    AllowanceRule.objects.create(
        kind=AllowanceKind.FOUND, category=category("01"), valid_from=D(2026, 1, 1), amount=money("8.00")
    )
    AllowanceRule.objects.create(
        kind=AllowanceKind.FOUND, category=category("0102"), valid_from=D(2026, 1, 1), amount=money("12.00")
    )
    for code in ("0101", "0101", "0102", "0201"):
        make_case(county.cell_a11, reporter=worker, registered_at=local(2026, 3, 10, 9), code=code)
    paid = line(sheet_of(county, county.village_a, D(2026, 3, 1)), worker)
    by_category = {
        (item.rule.category.code if item.rule.category else ""): (item.count, item.amount)
        for item in AllowanceItem.objects.filter(line=paid).select_related("rule__category")
    }
    # 2 × 8.00 (大类 01 covers 0101), 1 × 12.00 (小类 0102 before its 大类), 1 × 5.00 (the general rule)
    assert by_category == {"01": (2, money("16.00")), "0102": (1, money("12.00")), "": (1, money("5.00"))}
    assert (paid.allowance, paid.allowance_count) == (money("33.00"), 4)


def test_the_monthly_cap_limits_what_one_person_earns_by_one_rule(county):
    worker = county.users.grid_worker
    for day in range(1, 26):
        make_case(county.cell_a11, reporter=worker, registered_at=local(2026, 3, day, 9), code="0201")
    paid = line(sheet_of(county, county.village_a, D(2026, 3, 1)), worker)
    item = paid.allowances.get()
    # 25 × 5.00 = 125.00, capped at 100.00; the 25 cases are still listed.
    assert (item.count, item.amount, item.is_capped, item.monthly_cap) == (
        25,
        money("100.00"),
        True,
        money("100.00"),
    )
    assert paid.allowance_count == 25 and paid.allowance == money("100.00")


def test_cases_count_where_they_happened_and_only_for_holders_of_a_paid_post(county):
    worker = county.users.grid_worker
    make_case(county.grid_b1, reporter=worker, registered_at=local(2026, 3, 10, 9))  # across the border
    make_case(county.cell_a11, reporter=county.users.village_a, registered_at=local(2026, 3, 10, 9))
    village = sheet_of(county, county.village_a, D(2026, 3, 1))
    assert line(village, worker).allowance_count == 0
    assert not village.lines.filter(person=county.users.village_a).exists()
    assert line(sheet_of(county, county.county, D(2026, 3, 1)), worker).allowance_count == 1


def test_an_allowance_rule_of_zero_stops_paying_from_its_month(county):
    worker = county.users.grid_worker
    AllowanceRule.objects.create(
        kind=AllowanceKind.FOUND, unit=county.town_a, valid_from=D(2026, 4, 1), amount=money("0")
    )
    make_case(county.cell_a11, reporter=worker, registered_at=local(2026, 3, 10, 9))
    make_case(county.cell_a11, reporter=worker, registered_at=local(2026, 4, 10, 9))
    assert line(sheet_of(county, county.village_a, D(2026, 3, 1)), worker).allowance == money("5.00")
    assert line(sheet_of(county, county.village_a, D(2026, 4, 1)), worker).allowance == money("0.00")


# --- rewards ----------------------------------------------------------------------------------------------


def test_a_reward_is_paid_in_its_month_by_the_sheets_over_its_unit(county):
    worker = county.users.grid_worker
    case = make_case(county.cell_a11, reporter=worker, registered_at=local(2026, 3, 10, 9))
    reward = services.grant_reward(
        by=county.users.village_a,
        person=worker,
        unit=county.village_a,
        month=D(2026, 3, 1),
        amount="200.00",
        reason="及时报告山体滑坡隐患",
        case=case,
    )
    march = line(sheet_of(county, county.village_a, D(2026, 3, 1)), worker)
    assert march.rewards == money("200.00") and list(march.reward_records.all()) == [reward]
    assert march.total == money("1580.00") + money("419.96") + money("5.00") + money("200.00")
    assert line(sheet_of(county, county.village_a, D(2026, 4, 1)), worker).rewards == money("0.00")
    assert line(sheet_of(county, county.town_a, D(2026, 3, 1)), worker).rewards == money("200.00")
    assert sheet_of(county, county.town_b, D(2026, 3, 1)).reward_total == money("0.00")


def test_a_reward_to_someone_without_a_paid_post_still_gets_a_line(county):
    admin = county.users.village_a
    services.grant_reward(
        by=county.users.township_a,
        person=admin,
        unit=county.village_a,
        month=D(2026, 3, 1),
        amount="80",
        reason="信息",
    )
    paid = line(sheet_of(county, county.village_a, D(2026, 3, 1)), admin)
    assert (paid.base, paid.rewards, paid.total, paid.unit) == (
        money("0.00"),
        money("80.00"),
        money("80.00"),
        county.village_a,
    )
    assert not paid.items.exists()


def test_a_withdrawn_reward_is_not_paid(county):
    reward = services.grant_reward(
        by=county.users.village_a,
        person=county.users.grid_worker,
        unit=county.village_a,
        month=D(2026, 3, 1),
        amount="50",
        reason="信息",
    )
    services.withdraw_reward(by=county.users.village_a, reward=reward)
    assert sheet_of(county, county.village_a, D(2026, 3, 1)).reward_total == money("0.00")


def test_the_yearly_budget_is_12_months_of_recurring_cost_plus_the_years_variable_pay(county):
    worker = county.users.grid_worker
    make_case(county.cell_a11, reporter=worker, registered_at=local(2026, 1, 10, 9))  # January: 5.00
    services.grant_reward(
        by=county.users.village_a,
        person=worker,
        unit=county.village_a,
        month=D(2026, 2, 1),
        amount="100",
        reason="信息",
    )
    Post.objects.create(
        user=person("part"), unit=county.cell_a12, role=Role.GRID_WORKER_PART_TIME, start_date=D(2026, 3, 1)
    )
    for month in (1, 2, 3):
        march = sheet_of(county, county.village_a, D(2026, month, 1))
    # March: 1,999.96 + 300.00 recurring; 5.00 + 100.00 variable since January.
    assert march.recurring_total == money("2299.96")
    assert march.year_variable_total == money("105.00")
    assert march.budget_total == 12 * money("2299.96") + money("105.00") == money("27704.52")
    assert services.year_budget(county.village_a, 2026).yearly_budget == money("27704.52")
