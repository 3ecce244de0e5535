"""The demo's year of payroll on the crafted test county: which sheets, final and draft, the same figures as
the service, rewards paid, and the same rows for the same seed."""

from decimal import Decimal

import pytest

from wangge.payroll import demo, services
from wangge.payroll.choices import SheetStatus
from wangge.payroll.demo import build_payroll_demo
from wangge.payroll.models import AllowanceItem, InformationReward, PayLine, PaySheet

from .conftest import TODAY, D, local, make_case

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        list(
            PaySheet.objects.order_by("id").values_list("unit_id", "month", "status", "total", "budget_total")
        ),
        list(
            InformationReward.objects.order_by("id").values_list(
                "person_id", "month", "amount", "reason", "case_id"
            )
        ),
    )


def test_a_finalised_sheet_per_past_month_and_a_draft_for_this_month(county):
    for day in (5, 12):
        make_case(county.cell_a11, reporter=county.users.grid_worker, registered_at=local(2026, 3, day, 9))
    counts = build_payroll_demo(5, TODAY)
    units = {
        county.town_a.pk,
        county.town_b.pk,
        county.village_a.pk,
        county.village_a2.pk,
        county.village_b.pk,
    }
    sheets = PaySheet.objects.all()
    assert counts["sheets"] == sheets.count() == 5 * len(units)  # January to May
    assert set(sheets.values_list("unit_id", flat=True)) == units
    assert counts["final_sheets"] == sheets.filter(status=SheetStatus.FINAL).count() == 4 * len(units)
    assert set(sheets.filter(status=SheetStatus.DRAFT).values_list("month", flat=True)) == {D(2026, 5, 1)}
    assert all(
        sheet.finalised_by == county.users.village_a
        for sheet in sheets.filter(unit=county.village_a, status="final")
    )
    assert counts["lines"] == PayLine.objects.count()
    march = sheets.get(unit=county.village_a, month=D(2026, 3, 1))
    worker = march.lines.get(person=county.users.grid_worker)
    assert (worker.base, worker.insurance, worker.allowance, worker.allowance_count) == (
        Decimal("1580.00"),
        Decimal("419.96"),
        Decimal("10.00"),
        2,
    )
    assert AllowanceItem.objects.get(line=worker).cases.count() == 2


def test_the_demos_sheets_are_what_the_service_computes(county, monkeypatch):
    monkeypatch.setattr(demo, "REWARD_RATE", 1.0)  # every village rewards someone every month
    make_case(county.cell_a11, reporter=county.users.grid_worker, registered_at=local(2026, 5, 4, 9))
    counts = build_payroll_demo(7, TODAY)
    assert counts["rewards"] == InformationReward.objects.count() >= 5  # 甲一村 has paid staff every month
    stored = {
        sheet.unit_id: (sheet.total, sheet.reward_total, sheet.allowance_total, sheet.budget_total)
        for sheet in PaySheet.objects.filter(month=D(2026, 5, 1))
    }
    for unit in (county.village_a, county.town_a, county.town_b):
        sheet = services.compute_sheet(
            by=county.users.sysadmin, unit=unit, month=D(2026, 5, 1)
        )  # the draft again
        assert (sheet.total, sheet.reward_total, sheet.allowance_total, sheet.budget_total) == stored[unit.pk]
    a_reward = InformationReward.objects.filter(unit=county.village_a).first()
    assert a_reward.granted_by == county.users.village_a and a_reward.month <= D(2026, 5, 1)
    assert (
        PaySheet.objects.get(unit=county.village_a, month=a_reward.month)
        .lines.filter(reward_records=a_reward)
        .exists()
    )
    # New rows after the demo get fresh ids.
    assert services.compute_sheet(by=county.users.sysadmin, unit=county.county, month=D(2026, 5, 1)).pk


def test_the_same_seed_gives_the_same_payroll(county, monkeypatch):
    monkeypatch.setattr(demo, "REWARD_RATE", 0.5)
    build_payroll_demo(11, TODAY)
    first = snapshot()
    PaySheet.objects.all().delete()
    InformationReward.objects.all().delete()
    build_payroll_demo(11, TODAY)
    assert snapshot()[0] == first[0] and snapshot()[1] == first[1]
