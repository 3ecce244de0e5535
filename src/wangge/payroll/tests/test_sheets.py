"""Sheets, rules and rewards through the services: rule versioning (a finalised sheet keeps its figures, a
recomputed draft takes the new rule), what may not change, who may act, and the change log."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from wangge.core.audit import history_for
from wangge.core.models import ChangeAction
from wangge.payroll import services
from wangge.payroll.choices import AllowanceKind, SheetStatus
from wangge.payroll.models import AllowanceRule, PayRule, PaySheet

from .conftest import FULL_TIME, D, category, local, make_case

pytestmark = pytest.mark.django_db


def field_of(excinfo) -> str:
    return next(iter(excinfo.value.message_dict))


def deployment_rule(role=FULL_TIME) -> PayRule:
    return PayRule.objects.get(role=role, unit=None, valid_from=D(2022, 7, 1))


def compute(county, unit, month, by=None):
    return services.compute_sheet(by=by or county.users.village_a, unit=unit, month=month)


# --- versioning -----------------------------------------------------------------------------------------


def test_a_finalised_sheet_keeps_its_figures_when_the_rules_change(county):
    u = county.users
    march = compute(county, county.village_a, D(2026, 3, 1))
    april = compute(county, county.village_a, D(2026, 4, 1))
    services.finalise_sheet(by=u.village_a, sheet=march)
    # A raise from March, and a higher allowance: a new version of each.
    services.save_pay_rule(
        by=u.sysadmin,
        role=FULL_TIME,
        unit=None,
        valid_from=D(2026, 3, 1),
        base_pay="1800.00",
        insurance_rate="0.2658",
    )
    make_case(county.cell_a11, reporter=u.grid_worker, registered_at=local(2026, 3, 9, 9))

    march.refresh_from_db()
    worker = march.lines.get(person=u.grid_worker)
    assert (march.status, march.total, worker.base, worker.allowance) == (
        SheetStatus.FINAL,
        Decimal("1999.96"),
        Decimal("1580.00"),
        Decimal("0.00"),
    )
    assert worker.items.get().rule == deployment_rule()
    with pytest.raises(ValidationError) as excinfo:
        compute(county, county.village_a, D(2026, 3, 1))
    assert field_of(excinfo) == "month"

    # The April draft takes the new version when recomputed: 1,800 + 1,800 × 0.2658 = 478.44.
    assert april.lines.get(person=u.grid_worker).base == Decimal("1580.00")
    april = compute(county, county.village_a, D(2026, 4, 1))
    item = april.lines.get(person=u.grid_worker).items.get()
    assert (item.base, item.insurance, item.base_pay) == (
        Decimal("1800.00"),
        Decimal("478.44"),
        Decimal("1800.00"),
    )
    assert april.total == Decimal("2278.44")


def test_a_rule_version_paid_in_a_finalised_sheet_cannot_change_or_go(county):
    u = county.users
    services.finalise_sheet(by=u.village_a, sheet=compute(county, county.village_a, D(2026, 3, 1)))
    rule = deployment_rule()
    with pytest.raises(ValidationError) as excinfo:
        services.save_pay_rule(by=u.sysadmin, rule=rule, base_pay="2000.00")
    assert field_of(excinfo) == "valid_from"
    with pytest.raises(ValidationError):
        services.delete_rule(by=u.sysadmin, rule=rule)
    rule.refresh_from_db()
    assert rule.base_pay == Decimal("1580.00")


def test_an_unpaid_version_can_be_corrected_and_the_change_is_logged(county):
    u = county.users
    rule = services.save_pay_rule(
        by=u.township_a, role=FULL_TIME, unit=county.town_a, valid_from=D(2026, 6, 1), base_pay="1650.00"
    )
    assert history_for(rule).get().action == ChangeAction.CREATE
    services.save_pay_rule(by=u.township_a, rule=rule, base_pay="1660.00")
    rule.refresh_from_db()
    assert rule.base_pay == Decimal("1660.00")
    update = history_for(rule).filter(action=ChangeAction.UPDATE).get()
    assert update.changes == {"base_pay": ["1650.00", "1660.00"]} and update.user == u.township_a
    services.delete_rule(by=u.township_a, rule=rule)
    assert not PayRule.objects.filter(pk=rule.pk).exists()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"valid_from": D(2026, 6, 15)}, "valid_from"),
        ({"base_pay": "-1"}, "base_pay"),
        ({"base_pay": "1580.005"}, "base_pay"),
        ({"insurance_rate": "1.2"}, "insurance_rate"),
        ({"insurance_rate": "0.26585"}, "insurance_rate"),
        ({"role": "system_admin"}, "role"),
        ({"valid_from": D(2022, 7, 1), "unit": None}, "valid_from"),  # that version exists
    ],
)
def test_a_pay_rule_is_refused_naming_the_field_at_fault(county, values, field):
    fields = {"role": FULL_TIME, "unit": None, "valid_from": D(2026, 6, 1), "base_pay": "1600.00"} | values
    with pytest.raises(ValidationError) as excinfo:
        services.save_pay_rule(by=county.users.sysadmin, **fields)
    assert field_of(excinfo) == field


def test_who_may_set_a_rule_for_which_unit(county):
    u = county.users
    rule = {"role": FULL_TIME, "valid_from": D(2026, 6, 1), "base_pay": "1600.00"}
    with pytest.raises(ValidationError) as excinfo:  # deployment-wide: system administrators only
        services.save_pay_rule(by=u.township_a, unit=None, **rule)
    assert field_of(excinfo) == "unit"
    with pytest.raises(ValidationError):  # another township
        services.save_pay_rule(by=u.township_a, unit=county.town_b, **rule)
    with pytest.raises(ValidationError):  # a grid: pay is kept by villages and above
        services.save_pay_rule(by=u.township_a, unit=county.grid_a1, **rule)
    with pytest.raises(ValidationError):  # a village keeper cannot set its township's rule
        services.save_pay_rule(by=u.village_a, unit=county.town_a, **rule)
    assert services.save_pay_rule(by=u.village_a, unit=county.village_a, **rule).unit == county.village_a
    township_rule = services.save_pay_rule(by=u.township_a, unit=county.town_a, **rule)
    with pytest.raises(PermissionDenied):  # the village keeper cannot change the township's version
        services.save_pay_rule(by=u.village_a, rule=township_rule, base_pay="1.00")


def test_a_mediation_allowance_names_its_dispute_category(county):
    with pytest.raises(ValidationError) as excinfo:
        services.save_allowance_rule(
            by=county.users.sysadmin, kind=AllowanceKind.MEDIATED, valid_from=D(2026, 6, 1), amount="30"
        )
    assert field_of(excinfo) == "category"
    rule = services.save_allowance_rule(
        by=county.users.township_a,
        kind=AllowanceKind.MEDIATED,
        category=category("01"),
        unit=county.town_a,
        valid_from=D(2026, 6, 1),
        amount="30",
        monthly_cap="",
    )
    assert (rule.amount, rule.monthly_cap) == (Decimal("30"), None)
    assert AllowanceRule.objects.filter(kind=AllowanceKind.MEDIATED).count() == 2


# --- finalising -----------------------------------------------------------------------------------------


def test_a_sheet_is_finalised_once_its_month_has_ended_and_only_once(county):
    u = county.users
    may = compute(county, county.village_a, D(2026, 5, 1))
    with pytest.raises(ValidationError) as excinfo:
        services.finalise_sheet(by=u.village_a, sheet=may)
    assert field_of(excinfo) == "month"
    april = services.finalise_sheet(by=u.village_a, sheet=compute(county, county.village_a, D(2026, 4, 1)))
    assert (april.status, april.finalised_by) == (SheetStatus.FINAL, u.village_a)
    with pytest.raises(ValidationError) as excinfo:
        services.finalise_sheet(by=u.village_a, sheet=april)
    assert field_of(excinfo) == "status"


def test_finalising_refuses_figures_the_user_has_not_seen(county):
    u = county.users
    sheet = compute(county, county.village_a, D(2026, 3, 1))
    seen = sheet.total
    make_case(county.cell_a11, reporter=u.grid_worker, registered_at=local(2026, 3, 9, 9))  # registered late
    with pytest.raises(ValidationError) as excinfo:
        services.finalise_sheet(by=u.village_a, sheet=sheet, expected_total=seen)
    assert field_of(excinfo) == "total"
    sheet.refresh_from_db()
    assert (sheet.status, sheet.total) == (SheetStatus.DRAFT, seen + Decimal("5.00"))  # recomputed, not final
    services.finalise_sheet(by=u.village_a, sheet=sheet, expected_total=sheet.total)
    sheet.refresh_from_db()
    assert sheet.status == SheetStatus.FINAL
    actions = list(history_for(sheet).values_list("action", flat=True))
    assert actions.count(ChangeAction.UPDATE) == 2 and ChangeAction.CREATE in actions


def test_a_recomputed_draft_replaces_its_lines(county):
    u = county.users
    sheet = compute(county, county.village_a, D(2026, 3, 1))
    first = set(sheet.lines.values_list("pk", flat=True))
    sheet = compute(county, county.village_a, D(2026, 3, 1))
    assert PaySheet.objects.filter(unit=county.village_a, month=D(2026, 3, 1)).count() == 1
    assert not first & set(sheet.lines.values_list("pk", flat=True)) and sheet.people == 2
    assert sheet.computed_by == u.village_a


# --- who may compute ------------------------------------------------------------------------------------


def test_who_may_compute_which_sheet_for_which_month(county):
    u = county.users
    with pytest.raises(PermissionDenied):
        services.compute_sheet(by=u.grid_worker, unit=county.village_a, month=D(2026, 3, 1))
    with pytest.raises(ValidationError) as excinfo:
        services.compute_sheet(by=u.village_a, unit=county.village_b, month=D(2026, 3, 1))
    assert field_of(excinfo) == "unit"
    with pytest.raises(ValidationError) as excinfo:
        services.compute_sheet(by=u.village_a, unit=county.grid_a1, month=D(2026, 3, 1))
    assert field_of(excinfo) == "unit"
    with pytest.raises(ValidationError) as excinfo:
        services.compute_sheet(by=u.village_a, unit=county.village_a, month=D(2026, 6, 1))
    assert field_of(excinfo) == "month"
    with pytest.raises(ValidationError) as excinfo:
        services.compute_sheet(by=u.village_a, unit=county.village_a, month=D(2026, 3, 2))
    assert field_of(excinfo) == "month"
    assert services.compute_sheet(by=u.township_a, unit=county.village_a, month=D(2026, 3, 1)).people == 2


# --- rewards --------------------------------------------------------------------------------------------


def reward(county, **values):
    fields = {
        "by": county.users.village_a,
        "person": county.users.grid_worker,
        "unit": county.village_a,
        "month": D(2026, 3, 1),
        "amount": "100",
        "reason": "信息",
    } | values
    return services.grant_reward(**fields)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"reason": "  "}, "reason"),
        ({"month": D(2026, 6, 1)}, "month"),
        ({"month": D(2026, 3, 5)}, "month"),
    ],
)
def test_a_reward_is_refused_naming_the_field_at_fault(county, values, field):
    with pytest.raises(ValidationError) as excinfo:
        reward(county, **values)
    assert field_of(excinfo) == field


def test_a_reward_goes_to_someone_posted_under_the_unit_for_a_case_that_happened_there(county):
    u = county.users
    with pytest.raises(ValidationError) as excinfo:
        reward(county, person=u.village_b)
    assert field_of(excinfo) == "person"
    elsewhere = make_case(county.grid_b1, registered_at=local(2026, 3, 9, 9))
    with pytest.raises(ValidationError) as excinfo:
        reward(county, case=elsewhere)
    assert field_of(excinfo) == "case"
    with pytest.raises(ValidationError) as excinfo:
        reward(county, by=u.village_b)
    assert field_of(excinfo) == "unit"
    with pytest.raises(PermissionDenied):
        reward(county, by=u.grid_leader)
    granted = reward(county)
    assert history_for(granted).get().action == ChangeAction.CREATE


def test_no_reward_is_granted_or_withdrawn_for_a_month_already_finalised_above_the_unit(county):
    u = county.users
    granted = reward(county)
    services.finalise_sheet(
        by=u.township_a, sheet=compute(county, county.town_a, D(2026, 3, 1), by=u.township_a)
    )
    with pytest.raises(ValidationError) as excinfo:
        reward(county)
    assert field_of(excinfo) == "month"
    with pytest.raises(ValidationError):
        services.withdraw_reward(by=u.village_a, reward=granted)
    assert reward(county, month=D(2026, 4, 1)).month == D(2026, 4, 1)
    # The township's finalised sheet paid the reward and keeps it.
    assert PaySheet.objects.get(unit=county.town_a, month=D(2026, 3, 1)).reward_total == Decimal("100.00")
