"""The point book's invariants: the balance is the sum of the entries and never negative, every movement is
a new entry (never changed, never deleted), retries do not award twice, caps and scope hold."""

import datetime
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum

from wangge.core.audit import history_for
from wangge.points import services
from wangge.points.choices import EntryKind
from wangge.points.models import ImmutableEntry, PointBook, PointEntry, PointRule, ShopItem

from .conftest import TODAY, give, rule

pytestmark = pytest.mark.django_db
D = datetime.date


def field_of(excinfo) -> set[str]:
    return set(excinfo.value.message_dict)


def assert_consistent(household):
    """Sum of entries = balance; each entry's balance-after = the running sum; sequence numbers 1..n."""
    book = PointBook.objects.get(household=household)
    running = 0
    entries = list(PointEntry.objects.filter(book=book).order_by("seq"))
    for seq, entry in enumerate(entries, start=1):
        running += entry.points
        assert entry.seq == seq
        assert entry.balance_after == running >= 0
    assert (
        book.balance == running == (PointEntry.objects.filter(book=book).aggregate(s=Sum("points"))["s"] or 0)
    )
    assert book.entry_count == len(entries)
    return book


def test_an_award_opens_the_book_and_records_who_when_what(pw):
    entry, created = services.award_points(
        by=pw.users.grid_worker,
        household=pw.h.a1,
        rule=rule("volunteer_service"),
        quantity=2,
        note="敬老院打扫",
    )
    assert created
    assert (entry.kind, entry.points, entry.balance_after, entry.quantity) == (EntryKind.AWARD, 10, 10, 2)
    assert entry.recorded_by == pw.users.grid_worker and entry.date == TODAY and entry.recorded_at
    assert entry.unit == pw.county.village_a and entry.rule.code == "volunteer_service"
    assert entry.note == "敬老院打扫"
    assert history_for(entry).count() == 1
    assert assert_consistent(pw.h.a1).balance == 10


def test_the_same_client_id_never_awards_twice(pw):
    client_uuid = uuid.uuid4()
    first, created = services.award_points(
        by=pw.users.grid_worker, household=pw.h.a1, rule=rule("elder_care"), client_uuid=client_uuid
    )
    again, created_again = services.award_points(
        by=pw.users.grid_worker, household=pw.h.a1, rule=rule("elder_care"), client_uuid=client_uuid
    )
    assert created and not created_again and again.pk == first.pk
    assert PointEntry.objects.count() == 1
    assert assert_consistent(pw.h.a1).balance == 5
    with pytest.raises(ValidationError) as excinfo:  # someone else's id
        services.award_points(
            by=pw.users.grid_leader, household=pw.h.a1, rule=rule("elder_care"), client_uuid=client_uuid
        )
    assert field_of(excinfo) == {"client_uuid"}


def test_a_yearly_cap_is_counted_per_household_and_year(pw):
    by, cap_rule = pw.users.grid_worker, rule("custom_reform")  # 20 points, 40 a year
    services.award_points(by=by, household=pw.h.a1, rule=cap_rule, date=D(2026, 5, 1))
    services.award_points(by=by, household=pw.h.a1, rule=cap_rule)
    with pytest.raises(ValidationError) as excinfo:
        services.award_points(by=by, household=pw.h.a1, rule=cap_rule)
    assert field_of(excinfo) == {"quantity"}
    assert "40" in excinfo.value.message_dict["quantity"][0]
    # Another household has its own cap; a reversed award no longer counts.
    services.award_points(by=by, household=pw.h.a2, rule=cap_rule, quantity=2)
    last = PointEntry.objects.filter(book__household=pw.h.a1).order_by("-seq").first()
    services.reverse_entry(by=pw.users.village_a, entry=last, note="录入重复")
    services.award_points(by=by, household=pw.h.a1, rule=cap_rule)
    assert_consistent(pw.h.a1)


def test_a_deduction_never_takes_the_balance_below_zero(pw):
    give(pw, pw.h.a1, 8)
    with pytest.raises(ValidationError) as excinfo:
        services.award_points(by=pw.users.grid_worker, household=pw.h.a1, rule=rule("littering"), quantity=2)
    assert field_of(excinfo) == {"balance"}
    entry, _ = services.award_points(by=pw.users.grid_worker, household=pw.h.a1, rule=rule("littering"))
    assert (entry.kind, entry.points, entry.balance_after) == (EntryKind.DEDUCTION, -5, 3)
    assert assert_consistent(pw.h.a1).balance == 3


def test_a_redemption_debits_the_book_and_the_stock(pw):
    give(pw, pw.h.a1, 100)
    soap = pw.items.soap
    entry, created = services.redeem(by=pw.users.grid_worker, household=pw.h.a1, item=soap, quantity=3)
    assert created and (entry.kind, entry.points, entry.balance_after) == (EntryKind.REDEMPTION, -30, 70)
    assert entry.item == soap and entry.quantity == 3 and entry.unit == pw.county.village_a
    assert ShopItem.objects.get(pk=soap.pk).stock == 2 and soap.stock == 2
    # Goods whose stock is not counted.
    services.redeem(by=pw.users.grid_worker, household=pw.h.a1, item=pw.items.towel, quantity=2)
    assert ShopItem.objects.get(pk=pw.items.towel.pk).stock is None
    assert assert_consistent(pw.h.a1).balance == 30


def test_a_redemption_the_balance_does_not_cover_is_refused_naming_the_balance(pw):
    give(pw, pw.h.a1, 15)
    with pytest.raises(ValidationError) as excinfo:
        services.redeem(by=pw.users.grid_worker, household=pw.h.a1, item=pw.items.soap, quantity=2)
    assert field_of(excinfo) == {"balance"}
    message = excinfo.value.message_dict["balance"][0]
    assert "15" in message and "20" in message
    assert ShopItem.objects.get(pk=pw.items.soap.pk).stock == 5
    assert assert_consistent(pw.h.a1).balance == 15
    with pytest.raises(ValidationError) as excinfo:  # a household that never had points has no book at all
        services.redeem(by=pw.users.grid_worker, household=pw.h.a2, item=pw.items.soap)
    assert field_of(excinfo) == {"balance"} and not PointBook.objects.filter(household=pw.h.a2).exists()


def test_a_redemption_the_stock_does_not_cover_is_refused_naming_the_stock_and_writes_nothing(pw):
    give(pw, pw.h.a1, 200)
    with pytest.raises(ValidationError) as excinfo:
        services.redeem(by=pw.users.grid_worker, household=pw.h.a1, item=pw.items.oil, quantity=2)
    assert field_of(excinfo) == {"stock"}
    assert "1" in excinfo.value.message_dict["stock"][0]
    assert ShopItem.objects.get(pk=pw.items.oil.pk).stock == 1
    assert PointEntry.objects.filter(kind=EntryKind.REDEMPTION).count() == 0
    assert assert_consistent(pw.h.a1).balance == 200


def test_a_household_redeems_at_its_own_villages_shop_only(pw):
    give(pw, pw.h.c1, 100, by=pw.users.township_a)
    with pytest.raises(ValidationError) as excinfo:
        services.redeem(by=pw.users.township_a, household=pw.h.c1, item=pw.items.soap)
    assert field_of(excinfo) == {"household"}
    # Grid staff redeem for the households of their grids, not for another grid's.
    give(pw, pw.h.a4, 100)
    with pytest.raises(PermissionDenied):
        services.redeem(by=pw.users.grid_worker, household=pw.h.a4, item=pw.items.soap)
    services.redeem(by=pw.users.village_a, household=pw.h.a4, item=pw.items.soap)


def test_goods_no_longer_on_offer_are_not_redeemed(pw):
    give(pw, pw.h.a1, 100)
    services.update_item(by=pw.users.village_a, item=pw.items.soap, is_active=False)
    with pytest.raises(ValidationError) as excinfo:
        services.redeem(
            by=pw.users.village_a, household=pw.h.a1, item=ShopItem.objects.get(pk=pw.items.soap.pk)
        )
    assert field_of(excinfo) == {"item"}


def test_a_reversal_is_a_new_opposite_entry_and_the_original_stays(pw):
    award, _ = services.award_points(by=pw.users.grid_worker, household=pw.h.a1, rule=rule("good_deed"))
    reversal = services.reverse_entry(by=pw.users.village_a, entry=award, note="核实有误")
    assert (reversal.kind, reversal.points, reversal.balance_after, reversal.reverses) == (
        EntryKind.REVERSAL,
        -20,
        0,
        award,
    )
    assert reversal.rule == award.rule and reversal.note == "核实有误"
    original = PointEntry.objects.get(pk=award.pk)
    assert (original.points, original.balance_after, original.note) == (20, 20, "")
    with pytest.raises(ValidationError) as excinfo:
        services.reverse_entry(by=pw.users.village_a, entry=award, note="again")
    assert field_of(excinfo) == {"entry"}
    with pytest.raises(ValidationError) as excinfo:
        services.reverse_entry(by=pw.users.village_a, entry=reversal, note="undo")
    assert field_of(excinfo) == {"entry"}
    with pytest.raises(ValidationError) as excinfo:  # a reason is required
        services.reverse_entry(by=pw.users.village_a, entry=PointEntry.objects.first(), note=" ")
    assert assert_consistent(pw.h.a1).balance == 0


def test_reversing_a_redemption_returns_the_goods_to_stock(pw):
    give(pw, pw.h.a1, 50)
    redemption, _ = services.redeem(by=pw.users.village_a, household=pw.h.a1, item=pw.items.soap, quantity=2)
    assert ShopItem.objects.get(pk=pw.items.soap.pk).stock == 3
    services.reverse_entry(by=pw.users.village_a, entry=redemption, note="登记错户")
    assert ShopItem.objects.get(pk=pw.items.soap.pk).stock == 5
    assert assert_consistent(pw.h.a1).balance == 50


def test_an_award_already_spent_cannot_be_reversed_below_zero(pw):
    award, _ = services.award_points(by=pw.users.grid_worker, household=pw.h.a1, rule=rule("good_deed"))
    services.redeem(by=pw.users.grid_worker, household=pw.h.a1, item=pw.items.soap)
    with pytest.raises(ValidationError) as excinfo:
        services.reverse_entry(by=pw.users.village_a, entry=award, note="核实有误")
    assert field_of(excinfo) == {"balance"}
    assert assert_consistent(pw.h.a1).balance == 10


def test_only_the_villages_keepers_reverse_and_adjust(pw):
    award, _ = services.award_points(by=pw.users.grid_worker, household=pw.h.a1, rule=rule("good_deed"))
    for user in (pw.users.grid_worker, pw.users.village_b, pw.users.county):
        with pytest.raises(PermissionDenied):
            services.reverse_entry(by=user, entry=award, note="x")
        with pytest.raises(PermissionDenied):
            services.adjust_points(by=user, household=pw.h.a1, points=5, note="x")
    services.reverse_entry(by=pw.users.township_a, entry=award, note="乡镇核查")


def test_an_adjustment_never_takes_the_balance_below_zero_and_needs_a_reason(pw):
    give(pw, pw.h.a1, 10)
    with pytest.raises(ValidationError) as excinfo:
        services.adjust_points(by=pw.users.village_a, household=pw.h.a1, points=-11, note="盘点")
    assert field_of(excinfo) == {"points"}
    with pytest.raises(ValidationError) as excinfo:
        services.adjust_points(by=pw.users.village_a, household=pw.h.a1, points=3, note="")
    assert field_of(excinfo) == {"note"}
    with pytest.raises(ValidationError) as excinfo:
        services.adjust_points(by=pw.users.village_a, household=pw.h.a1, points=0, note="x")
    assert field_of(excinfo) == {"points"}
    services.adjust_points(by=pw.users.village_a, household=pw.h.a1, points=-10, note="纸质存折重复结转")
    assert assert_consistent(pw.h.a1).balance == 0


def test_the_database_refuses_a_negative_balance_and_entries_are_immutable(pw):
    entry = give(pw, pw.h.a1, 10)
    with pytest.raises(IntegrityError), transaction.atomic():
        PointBook.objects.filter(household=pw.h.a1).update(balance=-1)
    with pytest.raises(ImmutableEntry):
        entry.note = "changed"
        entry.save()
    with pytest.raises(ImmutableEntry):
        entry.delete()
    with pytest.raises(ImmutableEntry):
        PointEntry.objects.filter(pk=entry.pk).update(points=99)
    with pytest.raises(ImmutableEntry):
        PointEntry.objects.all().delete()
    assert PointEntry.objects.get(pk=entry.pk).note == "纸质存折余额结转"


def test_awards_reach_only_the_households_below_the_awarders_posts(pw):
    users = pw.users
    with pytest.raises(PermissionDenied):  # another grid of the same village
        services.award_points(by=users.grid_worker, household=pw.h.a3, rule=rule("elder_care"))
    with pytest.raises(PermissionDenied):  # another village
        services.award_points(by=users.village_b, household=pw.h.a1, rule=rule("elder_care"))
    for user in (users.county, users.department, users.outsider):  # no AWARD_POINTS
        with pytest.raises(PermissionDenied):
            services.award_points(by=user, household=pw.h.a1, rule=rule("elder_care"))
    for user in (users.grid_leader, users.village_a, users.township_a, users.sysadmin):
        services.award_points(
            by=user, household=pw.h.a3 if user != users.grid_worker else pw.h.a1, rule=rule("elder_care")
        )
    assert assert_consistent(pw.h.a3).balance == 20


def test_titles_come_by_selection_and_local_rules_hold_in_their_subtree(pw):
    with pytest.raises(ValidationError) as excinfo:
        services.award_points(by=pw.users.village_a, household=pw.h.a1, rule=rule("clean_household"))
    assert field_of(excinfo) == {"rule"}
    local = services.save_rule(
        by=pw.users.village_b,
        rule=PointRule(
            code="yi_river_patrol", name="护河巡河", kind="deed", points=3, unit=pw.county.village_b
        ),
    )
    with pytest.raises(ValidationError) as excinfo:
        services.award_points(by=pw.users.township_a, household=pw.h.a1, rule=local)
    assert field_of(excinfo) == {"rule"}
    assert local not in services.applicable_rules(pw.h.a1)
    assert local in services.applicable_rules(pw.h.b1)
    entry, _ = services.award_points(by=pw.users.village_b, household=pw.h.b1, rule=local)
    assert entry.points == 3
    PointRule.objects.filter(pk=local.pk).update(is_active=False)
    with pytest.raises(ValidationError) as excinfo:
        services.award_points(
            by=pw.users.village_b, household=pw.h.b1, rule=PointRule.objects.get(pk=local.pk)
        )
    assert field_of(excinfo) == {"rule"}


def test_the_deed_day_is_past_and_within_the_backdating_window(pw, settings):
    settings.WANGGE_POINTS_BACKDATE_DAYS = 10
    by, deed = pw.users.grid_worker, rule("elder_care")
    with pytest.raises(ValidationError) as excinfo:
        services.award_points(by=by, household=pw.h.a1, rule=deed, date=TODAY + datetime.timedelta(days=1))
    assert field_of(excinfo) == {"date"}
    with pytest.raises(ValidationError) as excinfo:
        services.award_points(by=by, household=pw.h.a1, rule=deed, date=TODAY - datetime.timedelta(days=11))
    assert field_of(excinfo) == {"date"}
    entry, _ = services.award_points(
        by=by, household=pw.h.a1, rule=deed, date=TODAY - datetime.timedelta(days=10)
    )
    assert entry.date == D(2026, 5, 10)


def test_a_closed_household_takes_no_entries(pw):
    pw.h.a1.status = "closed"
    pw.h.a1.save()
    with pytest.raises(ValidationError) as excinfo:
        services.award_points(by=pw.users.grid_worker, household=pw.h.a1, rule=rule("elder_care"))
    assert field_of(excinfo) == {"household"}


def test_a_reported_hazard_is_rewarded_for_its_registered_case_once(pw, world):
    from wangge.cases import services as case_services
    from wangge.cases.choices import Source

    hazard = rule("hazard_report")
    by = pw.users.grid_worker
    with pytest.raises(ValidationError) as excinfo:
        services.award_points(by=by, household=pw.h.a1, rule=hazard)
    assert field_of(excinfo) == {"case"}
    case, _ = case_services.report_case(
        reporter=by,
        source=Source.VISIT,
        description="河边护栏松动",
        category=world.category,
        unit=pw.county.cell_a11,
    )
    with pytest.raises(ValidationError) as excinfo:  # reported, not registered yet
        services.award_points(by=by, household=pw.h.a1, rule=hazard, case=case)
    assert field_of(excinfo) == {"case"}
    case = case_services.register(case_services.verify(case, by=by, note="属实"), by=by)
    entry, _ = services.award_points(by=by, household=pw.h.a1, rule=hazard, case=case)
    assert entry.case == case and entry.points == 10
    with pytest.raises(ValidationError) as excinfo:  # one reward per case
        services.award_points(by=by, household=pw.h.a2, rule=hazard, case=case)
    assert field_of(excinfo) == {"case"} and "A1" in excinfo.value.message_dict["case"][0]
    # Given to the wrong household: reversed, it can go to the right one.
    services.reverse_entry(by=pw.users.village_a, entry=entry, note="报告人登记错户")
    services.award_points(by=by, household=pw.h.a2, rule=hazard, case=case)
    # A case of another village is not this village's hazard.
    other, _ = case_services.report_case(
        reporter=pw.users.village_b,
        source=Source.VISIT,
        description="乙村隐患",
        category=world.category,
        unit=pw.county.grid_b1,
    )
    with pytest.raises(ValidationError) as excinfo:
        services.award_points(by=pw.users.township_a, household=pw.h.a3, rule=hazard, case=other)
    assert field_of(excinfo) == {"case"}


def test_goods_and_stock_are_kept_by_the_villages_keepers(pw):
    with pytest.raises(PermissionDenied):
        services.create_item(by=pw.users.grid_worker, unit=pw.county.village_a, name="牙膏", price=8)
    with pytest.raises(PermissionDenied):
        services.create_item(by=pw.users.village_b, unit=pw.county.village_a, name="牙膏", price=8)
    with pytest.raises(ValidationError) as excinfo:
        services.create_item(by=pw.users.village_a, unit=pw.county.village_a, name="肥皂", price=8)
    assert field_of(excinfo) == {"name"}
    with pytest.raises(ValidationError) as excinfo:
        services.create_item(by=pw.users.township_a, unit=pw.county.town_a, name="牙膏", price=8)
    assert field_of(excinfo) == {"unit"}
    item = services.change_stock(by=pw.users.village_a, item=pw.items.soap, delta=10)
    assert ShopItem.objects.get(pk=item.pk).stock == 15
    with pytest.raises(ValidationError) as excinfo:
        services.change_stock(by=pw.users.village_a, item=pw.items.soap, delta=-16, note="盘点")
    assert field_of(excinfo) == {"delta"}
    with pytest.raises(ValidationError) as excinfo:
        services.change_stock(by=pw.users.village_a, item=pw.items.towel, delta=3)
    assert field_of(excinfo) == {"delta"}
    assert history_for(pw.items.soap).count() == 2


def test_a_deployment_wide_rule_is_kept_by_system_administrators_only(pw):
    with pytest.raises(ValidationError) as excinfo:
        services.save_rule(by=pw.users.village_a, rule=PointRule(code="x", name="x", kind="deed", points=1))
    assert field_of(excinfo) == {"unit"}
    existing = rule("volunteer_service")
    existing.points = 50
    with pytest.raises(PermissionDenied):
        services.save_rule(by=pw.users.village_a, rule=existing)
    services.save_rule(by=pw.users.sysadmin, rule=existing)
    assert rule("volunteer_service").points == 50
    with pytest.raises(ValidationError) as excinfo:
        services.save_rule(
            by=pw.users.village_a,
            rule=PointRule(
                code="title_x", name="卫生示范户", kind="title", points=5, unit=pw.county.village_a
            ),
        )
    assert field_of(excinfo) == {"period"}


def test_month_figures_count_by_kind_in_the_village_of_the_entry(pw):
    give(pw, pw.h.a1, 100)
    services.award_points(
        by=pw.users.grid_worker, household=pw.h.a1, rule=rule("volunteer_service"), quantity=2
    )
    services.award_points(by=pw.users.grid_worker, household=pw.h.a2, rule=rule("elder_care"))
    services.award_points(by=pw.users.grid_worker, household=pw.h.a1, rule=rule("littering"))
    services.redeem(by=pw.users.grid_worker, household=pw.h.a1, item=pw.items.soap, quantity=2)
    april = services.award_points(
        by=pw.users.grid_worker, household=pw.h.a2, rule=rule("elder_care"), date=D(2026, 4, 30)
    )[0]
    figures = services.month_figures([pw.county.village_a.pk, pw.county.village_b.pk], TODAY)
    may = figures[pw.county.village_a.pk]
    assert (may.awarded, may.deducted, may.redeemed, may.corrected, may.books) == (15, 5, 20, 100, 2)
    assert figures[pw.county.village_b.pk].entries == 0
    assert (
        services.month_figures([pw.county.village_a.pk], D(2026, 4, 1))[pw.county.village_a.pk].awarded == 5
    )
    assert services.earned_in_year([april.book_id], 2026) == {april.book_id: 10}
