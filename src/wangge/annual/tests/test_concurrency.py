"""The cap on 优秀 under concurrency: two appraisers rating the last free place at the same moment — one
wins, the other is refused with the cap's message (the round's row is locked while rating). Also two
voters' ballots on one colleague both count. PostgreSQL only: SQLite serialises writers anyway."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from wangge.annual import services
from wangge.annual.choices import Rating, Voting
from wangge.annual.models import AppraisalEntry
from wangge.core.testing import make_user, run_together
from wangge.people.roles import Role

from .conftest import entry_of, fresh, grid_staff, open_village_round, ready

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent write transactions need PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("restore_migrated_rows"),
]


def test_two_appraisers_rating_the_last_excellent_place_at_once_one_wins(county, today):
    users = county.users
    grid_staff(county.cell_a12, 5)  # 7 people: one 优秀 allowed
    second = make_user("village_a_deputy", (county.village_a, Role.VILLAGE_ADMIN))
    round = open_village_round(county, voting=Voting.COUNTS)
    ready(round)
    first_entry, second_entry = entry_of(round, users.grid_leader), entry_of(round, users.grid_worker)

    results, errors = run_together(
        lambda: services.rate(
            AppraisalEntry.objects.get(pk=first_entry.pk), by=fresh(users.village_a), rating=Rating.EXCELLENT
        ),
        lambda: services.rate(
            AppraisalEntry.objects.get(pk=second_entry.pk), by=fresh(second), rating=Rating.EXCELLENT
        ),
    )
    assert len(results) == 1 and len(errors) == 1, errors
    assert isinstance(errors[0], ValidationError)
    assert errors[0].message_dict["rating"] == [services.cap_message(7, 15, 1)]
    assert round.entries.filter(rating=Rating.EXCELLENT).count() == 1


def test_two_ballots_on_one_colleague_at_once_both_count(county, today):
    users = county.users
    round = open_village_round(county)
    entry = entry_of(round, users.grid_worker)
    _results, errors = run_together(
        lambda: services.cast_ballot(entry, voter=fresh(users.grid_leader), choice=Rating.EXCELLENT),
        lambda: services.cast_ballot(entry, voter=fresh(users.village_a), choice=Rating.EXCELLENT),
    )
    assert not errors, errors
    entry.refresh_from_db()
    assert entry.votes_excellent == 2
