"""Pay and subsidies in the admin: sheets, lines and rewards in scope only (another village 404), rules
edited through the services (a village's own override; the deployment-wide rules for system administrators;
a paid version read-only)."""

import pytest
from django.urls import reverse

from wangge.core.audit import history_for
from wangge.payroll import services
from wangge.payroll.models import InformationReward, PayLine, PayRule

from .conftest import FULL_TIME, D, person

pytestmark = pytest.mark.django_db

LISTS = [
    "admin:payroll_payrule_changelist",
    "admin:payroll_allowancerule_changelist",
    "admin:payroll_informationreward_changelist",
    "admin:payroll_paysheet_changelist",
    "admin:payroll_payline_changelist",
]


@pytest.fixture
def sheets(county):
    u = county.users
    person("worker_b", (county.grid_b1, FULL_TIME, D(2025, 1, 1)))
    services.grant_reward(
        by=u.village_a,
        person=u.grid_worker,
        unit=county.village_a,
        month=D(2026, 3, 1),
        amount="60",
        reason="甲信息",
    )
    services.grant_reward(
        by=u.village_b,
        person=u.village_b,
        unit=county.village_b,
        month=D(2026, 3, 1),
        amount="70",
        reason="乙信息",
    )
    a = services.finalise_sheet(
        by=u.village_a,
        sheet=services.compute_sheet(by=u.village_a, unit=county.village_a, month=D(2026, 3, 1)),
    )
    b = services.compute_sheet(by=u.village_b, unit=county.village_b, month=D(2026, 3, 1))
    return a, b


def test_every_list_opens_for_a_village_and_shows_its_own_records_only(county, sheets, login):
    a, _b = sheets
    client = login(county.users.village_a)
    for name in LISTS:
        assert client.get(reverse(name)).status_code == 200, name
    listed = client.get(reverse("admin:payroll_paysheet_changelist")).context["cl"].result_list
    assert [sheet.pk for sheet in listed] == [a.pk]
    lines = client.get(reverse("admin:payroll_payline_changelist")).context["cl"].result_list
    assert {line.sheet_id for line in lines} == {a.pk}
    rewards = client.get(reverse("admin:payroll_informationreward_changelist")).context["cl"].result_list
    assert [reward.reason for reward in rewards] == ["甲信息"]


def test_another_villages_records_are_404_in_the_admin(county, sheets, login):
    a, b = sheets
    client = login(county.users.village_a)
    assert client.get(reverse("admin:payroll_paysheet_change", args=[b.pk])).status_code == 404
    assert client.get(reverse("admin:payroll_paysheet_change", args=[a.pk])).status_code == 200
    b_line = PayLine.objects.filter(sheet=b).first()
    assert client.get(reverse("admin:payroll_payline_change", args=[b_line.pk])).status_code == 404
    b_reward = InformationReward.objects.get(reason="乙信息")
    assert (
        client.get(reverse("admin:payroll_informationreward_change", args=[b_reward.pk])).status_code == 404
    )
    # The township above sees its village's sheet, the other township does not.
    assert (
        login(county.users.township_a).get(reverse("admin:payroll_paysheet_change", args=[a.pk])).status_code
        == 200
    )
    assert (
        login(county.users.township_b).get(reverse("admin:payroll_paysheet_change", args=[a.pk])).status_code
        == 404
    )


def test_sheets_and_lines_are_read_only_in_the_admin(county, sheets, login):
    a, _b = sheets
    client = login(county.users.sysadmin)
    assert (
        client.post(reverse("admin:payroll_paysheet_change", args=[a.pk]), {"total": "1"}).status_code == 403
    )
    assert (
        client.post(reverse("admin:payroll_paysheet_delete", args=[a.pk]), {"post": "yes"}).status_code == 403
    )
    assert client.get(reverse("admin:payroll_paysheet_add")).status_code == 403


def test_the_admin_needs_a_manager(county, sheets, login):
    response = login(county.users.grid_worker).get(reverse("admin:payroll_paysheet_changelist"))
    assert response.status_code == 302 and "login" in response["Location"]


def rule_form(unit, **values):
    return {
        "role": FULL_TIME,
        "unit": unit.pk if unit else "",
        "valid_from": "2026-06-01",
        "pay_kind": "salary",
        "base_pay": "1650.00",
        "insurance_rate": "0.2658",
        "insurance_base": "",
        "source": "村两委会议决定",
    } | values


def test_a_village_sets_its_own_override_in_the_admin_through_the_service(county, login):
    client = login(county.users.village_a)
    url = reverse("admin:payroll_payrule_add")
    assert client.post(url, rule_form(county.village_a)).status_code == 302
    rule = PayRule.objects.get(unit=county.village_a)
    assert rule.base_pay == 1650 and history_for(rule).get().user == county.users.village_a
    # Deployment-wide, another village, a mid-month start: refused on the form.
    assert "unit" in client.post(url, rule_form(None)).context["adminform"].form.errors
    assert "unit" in client.post(url, rule_form(county.village_b)).context["adminform"].form.errors
    mid = client.post(url, rule_form(county.village_a, valid_from="2026-07-15"))
    assert "valid_from" in mid.context["adminform"].form.errors
    # It changes its own unpaid version.
    change = reverse("admin:payroll_payrule_change", args=[rule.pk])
    assert client.post(change, rule_form(county.village_a, base_pay="1660.00")).status_code == 302
    rule.refresh_from_db()
    assert rule.base_pay == 1660


def test_a_paid_version_and_another_units_rule_are_read_only_in_the_admin(county, sheets, login):
    rule = PayRule.objects.get(role=FULL_TIME, unit=None)
    client = login(county.users.sysadmin)
    response = client.post(
        reverse("admin:payroll_payrule_change", args=[rule.pk]), rule_form(None, valid_from="2022-07-01")
    )
    assert response.status_code == 403
    rule.refresh_from_db()
    assert rule.base_pay == 1580
    town_rule = services.save_pay_rule(
        by=county.users.township_a,
        role=FULL_TIME,
        unit=county.town_a,
        valid_from=D(2026, 6, 1),
        base_pay="1700",
    )
    village = login(county.users.village_a)
    assert (
        village.get(reverse("admin:payroll_payrule_change", args=[town_rule.pk])).status_code == 200
    )  # view
    assert (
        village.post(
            reverse("admin:payroll_payrule_change", args=[town_rule.pk]), rule_form(county.town_a)
        ).status_code
        == 403
    )
    b_rule = services.save_pay_rule(
        by=county.users.township_b,
        role=FULL_TIME,
        unit=county.town_b,
        valid_from=D(2026, 6, 1),
        base_pay="1750",
    )
    assert village.get(reverse("admin:payroll_payrule_change", args=[b_rule.pk])).status_code == 404


def test_an_unused_rule_is_deleted_through_the_service(county, login):
    rule = services.save_pay_rule(
        by=county.users.village_a,
        role=FULL_TIME,
        unit=county.village_a,
        valid_from=D(2026, 6, 1),
        base_pay="1700",
    )
    client = login(county.users.village_a)
    assert (
        client.post(reverse("admin:payroll_payrule_delete", args=[rule.pk]), {"post": "yes"}).status_code
        == 302
    )
    assert not PayRule.objects.filter(pk=rule.pk).exists()
    assert history_for(rule).filter(action="delete").exists()


def test_a_reward_added_in_the_admin_goes_through_the_service(county, login):
    client = login(county.users.village_a)
    url = reverse("admin:payroll_informationreward_add")
    data = {
        "person": county.users.grid_worker.pk,
        "unit": county.village_a.pk,
        "month": "2026-04-01",
        "amount": "50",
        "reason": "线索",
        "case": "",
    }
    assert client.post(url, data).status_code == 302
    reward = InformationReward.objects.get()
    assert reward.granted_by == county.users.village_a and history_for(reward).count() == 1
    assert (
        "person"
        in client.post(url, data | {"person": county.users.village_b.pk}).context["adminform"].form.errors
    )
