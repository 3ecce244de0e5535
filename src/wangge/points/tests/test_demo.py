"""The demo's year of points on a tiny demo county: consistent books (each entry's balance-after the running
sum, the book's balance the last), stock never below zero, monthly 清洁户, determinism, and the services
working on what the bulk load wrote."""

import datetime
from collections import defaultdict

import pytest
from django.db import transaction
from django.db.models import Count, Sum
from django.test import override_settings

from wangge.demo.generator import Scale, generate, load, read_levels, read_standards
from wangge.points import services
from wangge.points.choices import EntryKind
from wangge.points.demo import build_points_demo
from wangge.points.models import PointBook, PointEntry, PointRule, SelectedHousehold, Selection, ShopItem

DAY = datetime.date(2026, 11, 21)
TINY = Scale(
    townships=2, communities=(2, 2), villages=(2, 2), grid3_rural=(2, 2), grid3_urban=(2, 2), dedicated=(1, 1)
)


def snapshot():
    return (
        list(
            PointEntry.objects.order_by("id").values_list(
                "book__household_id", "seq", "kind", "points", "date"
            )
        ),
        list(ShopItem.objects.order_by("id").values_list("unit_id", "name", "price", "stock")),
        list(SelectedHousehold.objects.order_by("id").values_list("household_id", "rule_id", "period_start")),
    )


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        load(generate(TINY, 5, read_standards()), read_levels())
        counts = build_points_demo(5, DAY)
        yield counts, snapshot()
        transaction.set_rollback(True)


def test_the_counts_match_the_rows(demo, db):
    counts, _ = demo
    assert counts["books"] == PointBook.objects.count() > 0
    assert counts["entries"] == PointEntry.objects.count()
    assert counts["items"] == ShopItem.objects.count()
    assert counts["selections"] == Selection.objects.count() > 0
    assert counts["selected"] == SelectedHousehold.objects.count()
    assert counts["redemptions"] == PointEntry.objects.filter(kind=EntryKind.REDEMPTION).count() > 0


def test_every_book_is_consistent_and_never_negative(demo, db):
    running = defaultdict(int)
    last_seq = defaultdict(int)
    for book_id, seq, points, after, date in PointEntry.objects.order_by("book_id", "seq").values_list(
        "book_id", "seq", "points", "balance_after", "date"
    ):
        running[book_id] += points
        assert seq == last_seq[book_id] + 1
        last_seq[book_id] = seq
        assert after == running[book_id] >= 0
        assert DAY - datetime.timedelta(days=365) <= date <= DAY
    for book_id, balance, count in PointBook.objects.values_list("pk", "balance", "entry_count"):
        assert balance == running[book_id] and count == last_seq[book_id]
    totals = dict(PointEntry.objects.values_list("book_id").annotate(s=Sum("points")))
    assert totals == dict(PointBook.objects.values_list("pk", "balance"))


def test_each_shop_has_five_to_ten_goods_and_no_stock_below_zero(demo, db):
    per_shop = ShopItem.objects.values("unit_id").annotate(n=Count("id"))
    assert per_shop and all(5 <= row["n"] <= 10 for row in per_shop)
    assert not ShopItem.objects.filter(stock__lt=0).exists()
    for item in ShopItem.objects.filter(stock__isnull=False):
        assert item.unit.level.rank == services.VILLAGE_RANK
    redeemed_villages = set(
        PointEntry.objects.filter(kind=EntryKind.REDEMPTION).values_list("unit_id", flat=True)
    )
    assert redeemed_villages <= set(per_shop.values_list("unit_id", flat=True))


def test_clean_households_are_selected_every_month_once(demo, db):
    clean = PointRule.objects.get(code="clean_household")
    months = Selection.objects.filter(rule=clean).values("unit_id").annotate(n=Count("id"))
    assert months and all(11 <= row["n"] <= 12 for row in months)
    pairs = SelectedHousehold.objects.values_list("rule_id", "household_id", "period_start")
    assert len(set(pairs)) == len(pairs)
    for winner in SelectedHousehold.objects.select_related("entry", "selection")[:50]:
        assert (
            winner.entry.selection_id == winner.selection_id
            and winner.entry.points == winner.selection.rule.points
        )


def test_yearly_caps_hold_in_the_demo(demo, db):
    for rule in PointRule.objects.filter(yearly_cap__isnull=False):
        used = (
            PointEntry.objects.filter(rule=rule, kind__in=services.RULED, reversal__isnull=True)
            .values("book_id", "date__year")
            .annotate(s=Sum("points"))
        )
        assert all(abs(row["s"]) <= rule.yearly_cap for row in used), rule.code


def test_the_services_continue_the_demo_books(demo, db, monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: DAY)
    book = PointBook.objects.filter(balance__gte=10).select_related("household__grid").first()
    village = services.village_of(book.household.grid.path)
    item = ShopItem.objects.filter(unit=village, price__lte=book.balance).exclude(stock=0).first()
    from wangge.people.models import User

    sysadmin = User.objects.create_superuser("points_demo_admin", password="x")
    entry, _ = services.redeem(by=sysadmin, household=book.household, item=item)
    assert entry.seq == book.entry_count + 1 and entry.balance_after == book.balance - item.price


def test_the_same_seed_gives_the_same_points(demo, db):
    _, first = demo
    with transaction.atomic():
        SelectedHousehold.objects.all().delete()
        PointEntry.objects.all()._raw_delete(PointEntry.objects.db)
        PointBook.objects.all().delete()
        Selection.objects.all().delete()
        ShopItem.objects.all().delete()
        build_points_demo(5, DAY)
        assert snapshot() == first
        transaction.set_rollback(True)
