"""核查 (INFO-2): a household's record is reviewed when unchanged and counts as reviewed when changed; a
review older than WANGGE_REVIEW_MONTHS is overdue, on the record's page and in the household list."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from wangge.core.audit import history_for
from wangge.core.models import ChangeAction
from wangge.ledger import services
from wangge.ledger.models import Household
from wangge.people.models import User

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def fresh(user):
    """The user without a cached scope, as a new request would see them."""
    return User.objects.get(pk=user.pk)


def page_of(client, number: str) -> str:
    return client.get(reverse("ledger:household", args=[number])).content.decode()


def review_url(number: str) -> str:
    return reverse("ledger:household_review", args=[number])


def months_ago(months: int, days: int = 0) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=months * 31 + days)


# --- the service ----------------------------------------------------------------------------------------


def test_a_review_marks_when_and_who_and_writes_history(ledger, county):
    household = ledger.households.a11_1
    changed_at = Household.objects.get(pk=household.pk).updated_at
    before = timezone.now()
    reviewed = services.review_household(household, by=fresh(county.users.grid_worker), note=" 入户看过 ")
    reviewed.refresh_from_db()
    assert reviewed.reviewed_by == county.users.grid_worker
    assert before <= reviewed.reviewed_at <= timezone.now()
    # A review changes no data: the time of the last change stays.
    assert reviewed.updated_at == changed_at
    entry = history_for(reviewed).first()
    assert entry.action == ChangeAction.UPDATE
    assert entry.changes == {"reviewed": "入户看过"}
    assert entry.user == county.users.grid_worker


def test_a_review_without_a_note_records_an_empty_one(ledger, county):
    services.review_household(ledger.households.a12_1, by=fresh(county.users.village_a))
    assert history_for(ledger.households.a12_1).first().changes == {"reviewed": ""}


def test_registration_grid_staff_may_not_review(ledger, county):
    """B1-1 lives in 乙一村 and is registered in 一格: 一格's worker reads it, 乙一村 keeps it."""
    with pytest.raises(PermissionDenied):
        services.review_household(ledger.households.b1_1, by=fresh(county.users.grid_worker))
    assert Household.objects.get(pk=ledger.households.b1_1.pk).reviewed_at is None
    assert not history_for(ledger.households.b1_1).filter(changes__has_key="reviewed").exists()


def test_the_county_command_centre_may_not_review(ledger, county):
    with pytest.raises(PermissionDenied):
        services.review_household(ledger.households.a11_1, by=fresh(county.users.county))
    assert Household.objects.get(pk=ledger.households.a11_1.pk).reviewed_at is None


def test_another_village_cannot_reach_the_household(ledger, county):
    with pytest.raises(Household.DoesNotExist):
        services.review_household(ledger.households.a11_1, by=fresh(county.users.village_b))


def test_a_closed_household_is_not_reviewed(ledger, county):
    admin = county.users.sysadmin
    services.set_resident_status(ledger.residents.tenant, "moved_out", by=admin)
    services.close_household(ledger.households.a11_2, by=admin)
    with pytest.raises(ValidationError) as exc:
        services.review_household(ledger.households.a11_2, by=fresh(county.users.village_a))
    assert "status" in exc.value.message_dict


def test_a_long_note_is_refused_naming_the_field(ledger, county):
    with pytest.raises(ValidationError) as exc:
        services.review_household(ledger.households.a11_1, by=fresh(county.users.village_a), note="很" * 501)
    assert "500" in exc.value.message_dict["note"][0]
    assert Household.objects.get(pk=ledger.households.a11_1.pk).reviewed_at is None


def test_an_update_counts_as_a_review(ledger, county):
    Household.objects.filter(pk=ledger.households.a11_1.pk).update(reviewed_at=months_ago(20))
    updated = services.update_household(
        ledger.households.a11_1, by=fresh(county.users.grid_worker), door_number="1单元"
    )
    updated.refresh_from_db()
    assert updated.reviewed_by == county.users.grid_worker
    assert updated.reviewed_at >= services.review_cutoff()
    moved = services.move_household(
        ledger.households.a12_1, county.cell_a11, by=fresh(county.users.village_a)
    )
    moved.refresh_from_db()
    assert moved.reviewed_by == county.users.village_a


@pytest.mark.parametrize(
    "now, months, cutoff",
    [
        (datetime.datetime(2025, 6, 15, 9, 0, tzinfo=SHANGHAI), 12, datetime.datetime(2024, 6, 15, 9, 0)),
        (datetime.datetime(2025, 3, 31, 9, 0, tzinfo=SHANGHAI), 1, datetime.datetime(2025, 2, 28, 9, 0)),
        (datetime.datetime(2024, 2, 29, 9, 0, tzinfo=SHANGHAI), 12, datetime.datetime(2023, 2, 28, 9, 0)),
        (datetime.datetime(2025, 1, 10, 9, 0, tzinfo=SHANGHAI), 3, datetime.datetime(2024, 10, 10, 9, 0)),
    ],
)
def test_the_period_counts_calendar_months_in_local_time(settings, now, months, cutoff):
    settings.WANGGE_REVIEW_MONTHS = months
    assert services.review_cutoff(now) == cutoff.replace(tzinfo=SHANGHAI)


# --- the household page and its button ------------------------------------------------------------------


def test_the_keeper_records_a_review_from_the_household_page(ledger, county, login):
    client = login(county.users.grid_worker)
    html = page_of(client, "A11-1")
    assert 'id="review-form"' in html and 'data-overdue="1"' in html  # never reviewed: overdue
    response = client.post(review_url("A11-1"), {"note": "入户核对，无变化"})
    assert response.status_code == 302 and response["Location"] == reverse("ledger:household", args=["A11-1"])
    html = page_of(client, "A11-1")
    today = timezone.localdate().isoformat()
    assert f'data-reviewed="{today}"' in html
    assert 'data-overdue="1"' not in html
    review = html[html.index('id="review"') :]
    assert today in review[:400] and "grid_worker" in review[:400]
    history = html[html.index('id="history"') :]
    assert "核查无变化" in history and "入户核对，无变化" in history


def test_an_old_review_is_shown_overdue(ledger, county, login, settings):
    settings.WANGGE_REVIEW_MONTHS = 6
    Household.objects.filter(pk=ledger.households.a11_1.pk).update(
        reviewed_at=months_ago(7), reviewed_by=county.users.grid_worker
    )
    Household.objects.filter(pk=ledger.households.a11_2.pk).update(
        reviewed_at=months_ago(5), reviewed_by=county.users.grid_worker
    )
    client = login(county.users.village_a)
    assert 'data-overdue="1"' in page_of(client, "A11-1")
    assert 'data-overdue="1"' not in page_of(client, "A11-2")


def test_registration_grid_staff_see_the_review_but_no_button_and_are_refused(ledger, county, login):
    client = login(county.users.grid_worker)
    html = page_of(client, "B1-1")
    assert 'id="review"' in html and 'id="review-form"' not in html
    response = client.post(review_url("B1-1"))
    assert response.status_code == 403
    assert 'id="not-kept"' in response.content.decode()
    assert Household.objects.get(number="B1-1").reviewed_at is None


def test_the_county_command_centre_is_refused(ledger, county, login):
    client = login(county.users.county)
    assert 'id="review-form"' not in page_of(client, "A11-1")
    assert client.post(review_url("A11-1")).status_code == 403
    assert Household.objects.get(number="A11-1").reviewed_at is None


def test_another_village_gets_404_and_a_get_is_not_a_review(ledger, county, login):
    assert login(county.users.village_b).post(review_url("A11-1")).status_code == 404
    assert login(county.users.village_a).get(review_url("A11-1")).status_code == 405
    assert Household.objects.get(number="A11-1").reviewed_at is None


def test_a_refused_review_says_why_on_the_page(ledger, county, login):
    client = login(county.users.village_a)
    response = client.post(review_url("A11-1"), {"note": "很" * 501}, follow=True)
    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert Household.objects.get(number="A11-1").reviewed_at is None


# --- the household list's filter ------------------------------------------------------------------------


def crafted_reviews(ledger, county):
    """A11-1 reviewed a month ago, A11-2 thirteen months ago, A12-1 never, B1-1 today (12-month period)."""
    worker = county.users.grid_worker
    Household.objects.filter(pk=ledger.households.a11_1.pk).update(
        reviewed_at=months_ago(1), reviewed_by=worker
    )
    Household.objects.filter(pk=ledger.households.a11_2.pk).update(
        reviewed_at=months_ago(13), reviewed_by=worker
    )
    Household.objects.filter(pk=ledger.households.b1_1.pk).update(
        reviewed_at=timezone.now(), reviewed_by=county.users.village_b
    )


def listed(client, **params) -> list[str]:
    response = client.get(reverse("ledger:households"), params)
    assert not response.context["filter"].form.errors
    return [h.number for h in response.context["page"]]


def test_the_household_list_filters_by_review(ledger, county, login, settings):
    settings.WANGGE_REVIEW_MONTHS = 12
    crafted_reviews(ledger, county)
    client = login(county.users.village_a)
    # B1-1 is registered in 一格, so 甲一村 sees it too.
    assert listed(client, review="overdue") == ["A11-2", "A12-1"]
    assert listed(client, review="current") == ["A11-1", "B1-1"]
    assert listed(client) == ["A11-1", "A11-2", "A12-1", "B1-1"]
    code = county.cell_a11.code
    assert listed(client, unit=code, membership="living", review="overdue") == ["A11-2"]
    settings.WANGGE_REVIEW_MONTHS = 24
    assert listed(client, review="overdue") == ["A12-1"]


def test_an_unknown_review_value_is_refused_not_ignored(ledger, county, login):
    response = login(county.users.village_a).get(reverse("ledger:households"), {"review": "someday"})
    assert response.context["filter"].form.errors
    assert response.context["page"].paginator.count == 0
