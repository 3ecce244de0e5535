"""以下看上: who may rate which department on which case, once, within the windows; the pages that do it."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from wangge.cases import services as case_services
from wangge.cases.choices import AssignmentStatus
from wangge.cases.testing import patrol_case
from wangge.core.audit import history_for
from wangge.core.models import ChangeAction
from wangge.core.testing import make_user
from wangge.people.roles import Role
from wangge.ratings import services
from wangge.ratings.models import DepartmentRating

from .conftest import finish, finished_case

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def rate(user, case, department, now=None, **marks):
    values = {"speed": 4, "result": 5, "attitude": 3, **marks}
    return services.rate_department(by=user, case=case, department=department, now=now, **values)


def field_of(excinfo) -> str:
    return next(iter(excinfo.value.message_dict))


# --- the service ------------------------------------------------------------------------------------------


def test_a_grid_worker_rates_a_department_on_a_case_of_their_grid(world):
    case = finished_case(world)
    rating, created = rate(world.users.grid_worker, case, world.department, comment="  到场及时  ")
    assert created
    assert (rating.speed, rating.result, rating.attitude, rating.comment) == (4, 5, 3, "到场及时")
    assert rating.rater == world.users.grid_worker
    assert rating.rater_unit == world.county.cell_a11  # the post it was given through
    assert rating.unit == case.unit == world.county.cell_a11
    assert [entry.action for entry in history_for(rating)] == [ChangeAction.CREATE]


def test_the_work_becomes_rateable_when_the_department_submits_or_reports_back(world):
    users = world.users
    case = case_services.dispatch(
        patrol_case(world), by=users.township_a, lead=world.department, co_handlers=[world.police]
    )
    case = case_services.accept(case, by=users.department)
    with pytest.raises(ValidationError) as excinfo:
        rate(users.grid_worker, case, world.department)
    assert field_of(excinfo) == "department"
    case = case_services.report_back(case, by=users.police, note="已派员配合")
    _rating, created = rate(users.grid_worker, case, world.police)  # a co-handler's part is done
    assert created
    case = case_services.submit(case, by=users.department, result="已修复")
    _rating, created = rate(users.grid_worker, case, world.department)
    assert created
    assert DepartmentRating.objects.filter(case=case).count() == 2


def test_a_case_outside_the_raters_subtree_is_refused(world):
    case = finished_case(world, point=world.point_b1)  # 乙镇
    for user in (world.users.grid_worker, world.users.village_a, world.users.township_a):
        with pytest.raises(PermissionDenied):
            rate(user, case, world.department)
    _rating, created = rate(world.users.grid_worker_b, case, world.department)
    assert created


def test_county_command_and_departments_do_not_rate(world):
    case = finished_case(world)
    for user in (world.users.county, world.users.department, world.users.outsider):
        with pytest.raises(PermissionDenied):
            rate(user, case, world.department)
    assert not DepartmentRating.objects.exists()


@pytest.mark.parametrize(
    "status",
    [
        AssignmentStatus.PENDING,
        AssignmentStatus.ACCEPTED,
        AssignmentStatus.RETURNED,
        AssignmentStatus.WITHDRAWN,
    ],
)
def test_work_that_is_not_finished_cannot_be_rated(world, status):
    case = patrol_case(world)
    finish(case, world.department, status=status)
    with pytest.raises(ValidationError) as excinfo:
        rate(world.users.grid_worker, case, world.department)
    assert field_of(excinfo) == "department"
    # A department that never had the case is not rateable on it either.
    with pytest.raises(ValidationError):
        rate(world.users.grid_worker, case, world.police)


def test_one_rating_per_case_department_and_rater(world):
    case = finished_case(world)
    first, created = rate(world.users.grid_worker, case, world.department)
    again, created_again = rate(world.users.grid_worker, case, world.department, speed=2, comment="再评")
    assert created and not created_again and again.pk == first.pk
    first.refresh_from_db()
    assert first.speed == 2 and first.comment == "再评" and first.changed_at is not None
    assert [e.action for e in history_for(first)] == [ChangeAction.UPDATE, ChangeAction.CREATE]
    # The same values again change nothing and log nothing.
    rate(world.users.grid_worker, case, world.department, speed=2, comment="再评")
    assert history_for(first).count() == 2
    # Another rater has a rating of their own.
    _other, created = rate(world.users.grid_leader, case, world.department)
    assert created and DepartmentRating.objects.count() == 2


def test_a_rating_can_be_changed_for_the_edit_days_then_it_is_frozen(world, settings):
    settings.WANGGE_RATING_EDIT_DAYS = 3
    now = timezone.now()
    case = finished_case(world, at=now - DAY)
    rating, _ = rate(world.users.grid_worker, case, world.department, now=now)
    rate(world.users.grid_worker, case, world.department, now=now + 3 * DAY, speed=1)
    rating.refresh_from_db()
    assert rating.speed == 1
    with pytest.raises(ValidationError) as excinfo:
        rate(
            world.users.grid_worker, case, world.department, now=now + 3 * DAY + datetime.timedelta(minutes=1)
        )
    assert field_of(excinfo) == "rating"
    rating.refresh_from_db()
    assert rating.speed == 1


def test_work_finished_longer_ago_than_the_open_days_cannot_be_rated(world, settings):
    settings.WANGGE_RATING_OPEN_DAYS = 10
    now = timezone.now()
    old = finished_case(world, at=now - 11 * DAY)
    with pytest.raises(ValidationError) as excinfo:
        rate(world.users.grid_worker, old, world.department, now=now)
    assert field_of(excinfo) == "department"
    recent = finished_case(world, at=now - 9 * DAY)
    assert rate(world.users.grid_worker, recent, world.department, now=now)[1]


def test_each_mark_is_one_to_five_stars_and_errors_name_the_field(world):
    case = finished_case(world)
    with pytest.raises(ValidationError) as excinfo:
        rate(world.users.grid_worker, case, world.department, speed=0, result=6, attitude="很好")
    assert set(excinfo.value.message_dict) == {"speed", "result", "attitude"}
    with pytest.raises(ValidationError) as excinfo:
        rate(world.users.grid_worker, case, world.department, comment="长" * 501)
    assert field_of(excinfo) == "comment"
    assert not DepartmentRating.objects.exists()


def test_a_department_does_not_rate_itself(world):
    # A village cadre who also serves in the county emergency bureau.
    both = make_user(
        "both",
        (world.county.village_a, Role.VILLAGE_ADMIN),
        (world.county.county, Role.DEPARTMENT_USER, world.department),
    )
    case = finished_case(world)
    finish(case, world.police)
    with pytest.raises(ValidationError) as excinfo:
        rate(both, case, world.department)
    assert field_of(excinfo) == "department"
    assert rate(both, case, world.police)[1]


def test_a_township_office_rates_from_its_post(world):
    case = finished_case(world)
    rating, _ = rate(world.users.township_a, case, world.department)
    assert rating.rater_unit == world.county.town_a


# --- what is left to rate ---------------------------------------------------------------------------------


def test_the_list_holds_finished_work_in_the_area_not_yet_rated(world, settings):
    settings.WANGGE_RATING_OPEN_DAYS = 10
    now = timezone.now()
    waiting = finished_case(world, at=now - DAY)
    finish(waiting, world.police, at=now - 2 * DAY, status=AssignmentStatus.REPORTED_BACK, lead=False)
    rated = finished_case(world, at=now - DAY)
    rate(world.users.grid_worker, rated, world.department)
    finished_case(world, at=now - 11 * DAY)  # too old
    finished_case(world, point=world.point_b1)  # another township
    unfinished = patrol_case(world)
    finish(unfinished, world.department, status=AssignmentStatus.ACCEPTED)

    rows = list(services.pending_ratings(world.users.grid_worker, now))
    assert [(r["case_id"], r["department_id"]) for r in rows] == [
        (waiting.pk, world.department.pk),
        (waiting.pk, world.police.pk),
    ]
    # The grid leader above has not rated anything yet.
    assert {r["case_id"] for r in services.pending_ratings(world.users.grid_leader, now)} == {
        waiting.pk,
        rated.pk,
    }
    assert not services.pending_ratings(world.users.county, now).exists()


def test_the_to_rate_page(world, login, django_assert_max_num_queries):
    for _ in range(3):
        finished_case(world)
    rated = finished_case(world)
    rate(world.users.grid_worker, rated, world.department)
    client = login(world.users.grid_worker)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("ratings:to_rate"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("data-pending-case=") == 3
    assert f'data-pending-case="{rated.pk}"' not in html
    assert html.count("data-my-rating=") == 1


def test_the_rating_pages_are_closed_to_who_may_not_rate(world, login):
    case = finished_case(world)
    url = reverse("ratings:rate", args=[case.pk, world.department.pk])
    assert Client().get(reverse("ratings:to_rate")).status_code == 302  # anonymous: to the login page
    assert Client().get(url).status_code == 302
    for user in (world.users.county, world.users.department, world.users.outsider):
        client = login(user)
        assert client.get(reverse("ratings:to_rate")).status_code == 403
        assert client.get(url).status_code == 403
    client = login(world.users.village_b)  # may rate, but not in 甲镇
    assert client.get(url).status_code == 404
    assert client.post(url, {"speed": 5, "result": 5, "attitude": 5}).status_code == 404
    assert not DepartmentRating.objects.exists()


def test_unfinished_work_has_no_rating_page(world, login):
    case = patrol_case(world)
    finish(case, world.department, status=AssignmentStatus.ACCEPTED)
    client = login(world.users.grid_worker)
    assert client.get(reverse("ratings:rate", args=[case.pk, world.department.pk])).status_code == 404


def test_rating_through_the_form(world, login):
    case = finished_case(world)
    client = login(world.users.grid_worker)
    url = reverse("ratings:rate", args=[case.pk, world.department.pk])
    page = client.get(url).content.decode()
    assert 'id="rating-form"' in page and 'name="speed"' in page

    response = client.post(url, {"speed": 7, "result": 5, "comment": "x"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-error="speed"' in html and 'data-error="attitude"' in html
    assert not DepartmentRating.objects.exists()

    detail = reverse("cases:detail", args=[case.pk])
    response = client.post(url, {"speed": 5, "result": 4, "attitude": 4, "comment": "好", "next": detail})
    assert response.status_code == 302 and response["Location"] == detail
    rating = DepartmentRating.objects.get()
    assert (rating.speed, rating.result, rating.attitude, rating.comment) == (5, 4, 4, "好")
    # Foreign next addresses are ignored.
    response = client.post(url, {"speed": 3, "result": 4, "attitude": 4, "next": "https://evil.example/"})
    assert response["Location"] == reverse("ratings:to_rate")
    page = client.get(url).content.decode()
    assert 'value="3" class="stars" required id="id_speed_2" checked' in page  # the form shows the rating


def test_a_frozen_rating_shows_without_a_form(world, login, settings):
    case = finished_case(world)
    rating, _ = rate(world.users.grid_worker, case, world.department)
    DepartmentRating.objects.filter(pk=rating.pk).update(rated_at=timezone.now() - 8 * DAY)
    client = login(world.users.grid_worker)
    url = reverse("ratings:rate", args=[case.pk, world.department.pk])
    html = client.get(url).content.decode()
    assert "data-frozen" in html and 'id="rating-form"' not in html
    response = client.post(url, {"speed": 1, "result": 1, "attitude": 1})
    assert 'data-error="__all__"' in response.content.decode()
    rating.refresh_from_db()
    assert rating.speed == 4


def test_a_department_user_with_a_village_post_gets_no_form_for_their_department(world, login):
    both = make_user(
        "both",
        (world.county.village_a, Role.VILLAGE_ADMIN),
        (world.county.county, Role.DEPARTMENT_USER, world.department),
    )
    case = finished_case(world)
    html = login(both).get(reverse("ratings:rate", args=[case.pk, world.department.pk])).content.decode()
    assert 'data-refused="own-department"' in html and 'id="rating-form"' not in html


# --- the case detail's panel ------------------------------------------------------------------------------


def test_the_case_panel_offers_rating_and_shows_raters_to_who_appraises(world, login):
    case = finished_case(world)
    finish(case, world.police)
    rate(world.users.grid_leader, case, world.police, comment="配合好")

    context = services.case_ratings(world.users.grid_worker, case)
    assert [s.department for s in context["slots"]] == [world.police, world.department]  # by name
    assert context["ratings"] == []  # grid staff do not read the others' ratings

    html = login(world.users.grid_worker).get(reverse("ratings:case_panel", args=[case.pk])).content.decode()
    assert html.count('data-slot-state="open"') == 2 and "data-rater=" not in html

    html = login(world.users.township_a).get(reverse("ratings:case_panel", args=[case.pk])).content.decode()
    assert 'data-rater="grid_leader"' in html

    # The department rated sees nothing of who rated it; a case it never saw is a 404.
    html = login(world.users.police).get(reverse("ratings:case_panel", args=[case.pk])).content.decode()
    assert "data-rater" not in html and "grid_leader" not in html
    assert services.case_ratings(world.users.police, case) == {
        "case": case,
        "slots": [],
        "ratings": [],
        "edit_days": 7,
    }
    other = finished_case(world, point=world.point_b1)
    assert (
        login(world.users.grid_worker).get(reverse("ratings:case_panel", args=[other.pk])).status_code == 404
    )
