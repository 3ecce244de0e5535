"""评选: a village selects its 清洁户 / 整洁庭院 for a month or quarter; each household gets the title's
points once per period."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from wangge.points import services
from wangge.points.models import PointBook, PointEntry, SelectedHousehold, Selection

from .conftest import TODAY, rule

pytestmark = pytest.mark.django_db
D = datetime.date


def select(pw, *households, code="clean_household", day=TODAY, by=None):
    return services.select_households(
        by=by or pw.users.village_a,
        village=pw.county.village_a,
        rule=rule(code),
        day=day,
        households=households,
    )


def test_selecting_awards_the_titles_points_once_per_household_and_period(pw):
    selection, added = select(pw, pw.h.a1, pw.h.a3)
    assert (selection.period_start, selection.period_end) == (D(2026, 5, 1), D(2026, 5, 31))
    assert [w.household for w in added] == [pw.h.a1, pw.h.a3]
    entry = added[0].entry
    assert (entry.kind, entry.points, entry.rule.code, entry.selection, entry.date) == (
        "award",
        10,
        "clean_household",
        selection,
        TODAY,
    )
    again, added_again = select(pw, pw.h.a1, pw.h.a2, day=D(2026, 5, 3))
    assert again == selection and [w.household for w in added_again] == [pw.h.a2]
    assert PointBook.objects.get(household=pw.h.a1).balance == 10
    assert SelectedHousehold.objects.filter(selection=selection).count() == 3
    # Another month is another period.
    _april, april_added = select(pw, pw.h.a1, day=D(2026, 4, 2))
    assert len(april_added) == 1 and PointBook.objects.get(household=pw.h.a1).balance == 20
    assert Selection.objects.count() == 2


def test_a_quarterly_title_is_selected_once_per_quarter(pw):
    selection, _ = select(pw, pw.h.a1, code="tidy_courtyard", day=D(2026, 4, 15))
    assert (selection.period_start, selection.period_end) == (D(2026, 4, 1), D(2026, 6, 30))
    _same, added = select(pw, pw.h.a1, code="tidy_courtyard", day=TODAY)
    assert added == [] and PointBook.objects.get(household=pw.h.a1).balance == 20
    earlier, added = select(pw, pw.h.a1, code="tidy_courtyard", day=D(2026, 3, 31))
    assert earlier.period_start == D(2026, 1, 1) and len(added) == 1
    # A quarter's award is dated within its quarter.
    assert added[0].entry.date == D(2026, 3, 31)


def test_a_withdrawn_selection_reverses_its_points_and_may_be_made_again(pw):
    _selection, (winner,) = select(pw, pw.h.a1)
    services.reverse_entry(by=pw.users.village_a, entry=winner.entry, note="复查不达标")
    winner.refresh_from_db()
    assert winner.withdrawn_at is not None
    assert PointBook.objects.get(household=pw.h.a1).balance == 0
    _selection, added = select(pw, pw.h.a1)
    assert len(added) == 1 and PointBook.objects.get(household=pw.h.a1).balance == 10
    assert PointEntry.objects.filter(book__household=pw.h.a1).count() == 3


def test_a_selection_lists_households_of_the_village_only(pw):
    with pytest.raises(ValidationError) as excinfo:
        select(pw, pw.h.a1, pw.h.c1, by=pw.users.township_a)
    assert (
        set(excinfo.value.message_dict) == {"households"}
        and "C1" in excinfo.value.message_dict["households"][0]
    )
    assert not SelectedHousehold.objects.exists() and not PointEntry.objects.exists()
    with pytest.raises(ValidationError) as excinfo:
        select(pw)
    assert set(excinfo.value.message_dict) == {"households"}


def test_a_selection_is_recorded_by_the_village_office_not_a_grid(pw):
    for user in (pw.users.grid_leader, pw.users.grid_worker, pw.users.village_b, pw.users.county):
        with pytest.raises(PermissionDenied):
            select(pw, pw.h.a1, by=user)
    _selection, added = select(pw, pw.h.a1, by=pw.users.township_a)
    assert len(added) == 1


def test_a_period_not_begun_or_a_rule_not_a_title_is_refused(pw):
    with pytest.raises(ValidationError) as excinfo:
        select(pw, pw.h.a1, day=D(2026, 6, 1))
    assert set(excinfo.value.message_dict) == {"day"}
    with pytest.raises(ValidationError) as excinfo:
        select(pw, pw.h.a1, code="volunteer_service")
    assert set(excinfo.value.message_dict) == {"rule"}
    with pytest.raises(ValidationError) as excinfo:
        services.select_households(
            by=pw.users.township_a,
            village=pw.county.grid_a1,
            rule=rule("clean_household"),
            day=TODAY,
            households=[pw.h.a1],
        )
    assert set(excinfo.value.message_dict) == {"unit"}
