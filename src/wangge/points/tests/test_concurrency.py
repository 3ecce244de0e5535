"""Two redemptions at the same moment on PostgreSQL: the book and the stock are locked and debited by
conditional UPDATEs, so neither goes below zero — when the balance (or the stock) covers one, one wins and
the other is refused naming the balance (or the stock)."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from wangge.core.testing import run_together
from wangge.ledger.models import Household
from wangge.people.models import User
from wangge.points import services
from wangge.points.models import PointBook, PointEntry, ShopItem

from .conftest import give, rule

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="two concurrent write transactions need PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("restore_migrated_rows"),
]


def race(*calls):
    """(results, validation errors, other errors) of the calls run together."""
    results, errors = run_together(*calls)
    refused = [error for error in errors if isinstance(error, ValidationError)]
    return results, refused, [error for error in errors if not isinstance(error, ValidationError)]


def fresh(model, pk):
    return model.objects.select_related(*(["unit"] if model is ShopItem else ["grid"])).get(pk=pk)


def test_two_redemptions_when_the_balance_covers_one(pw):
    give(pw, pw.h.a1, 30)
    towel = pw.items.towel  # 20 points, stock not counted

    def redeem():
        return services.redeem(
            by=User.objects.get(pk=pw.users.grid_worker.pk),
            household=fresh(Household, pw.h.a1.pk),
            item=fresh(ShopItem, towel.pk),
            client_uuid=uuid.uuid4(),
        )

    results, refused, errors = race(redeem, redeem)
    assert not errors, errors
    assert len(results) == 1 and len(refused) == 1
    assert set(refused[0].message_dict) == {"balance"}
    book = PointBook.objects.get(household=pw.h.a1)
    assert book.balance == 10 and book.entry_count == 2
    assert [e.balance_after for e in PointEntry.objects.filter(book=book).order_by("seq")] == [30, 10]


def test_two_redemptions_when_the_stock_covers_one(pw):
    give(pw, pw.h.a1, 100)
    give(pw, pw.h.a2, 100)
    oil = pw.items.oil  # 50 points, one in stock

    def redeem(household):
        return lambda: services.redeem(
            by=User.objects.get(pk=pw.users.grid_worker.pk),
            household=fresh(Household, household.pk),
            item=fresh(ShopItem, oil.pk),
        )

    results, refused, errors = race(redeem(pw.h.a1), redeem(pw.h.a2))
    assert not errors, errors
    assert len(results) == 1 and len(refused) == 1
    assert set(refused[0].message_dict) == {"stock"}
    assert ShopItem.objects.get(pk=oil.pk).stock == 0
    balances = sorted(
        PointBook.objects.filter(household__in=[pw.h.a1, pw.h.a2]).values_list("balance", flat=True)
    )
    assert balances == [50, 100]


def test_a_retried_award_racing_itself_is_recorded_once(pw):
    client_uuid = uuid.uuid4()

    def award():
        return services.award_points(
            by=User.objects.get(pk=pw.users.grid_worker.pk),
            household=fresh(Household, pw.h.a1.pk),
            rule=rule("elder_care"),
            client_uuid=client_uuid,
        )

    results, refused, errors = race(award, award)
    assert not errors and not refused, (errors, refused)
    assert sorted(created for _entry, created in results) == [False, True]
    assert PointEntry.objects.count() == 1 and PointBook.objects.get(household=pw.h.a1).balance == 5
