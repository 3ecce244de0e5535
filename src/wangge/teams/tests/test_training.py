"""TEAM-8: plans filed with the level above and acknowledged by it, sessions and attendance, and "trained
before posted" checked when a grid post is assigned (Post.full_clean, the admin's post form)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from wangge.core.audit import history_for
from wangge.people.models import Post
from wangge.people.roles import Role
from wangge.teams import services
from wangge.teams.models import TrainingAttendance, TrainingPlan

pytestmark = pytest.mark.django_db
D = datetime.date
START = D(2026, 3, 1)


def session(county, date, *attended, absent=(), unit=None, by=None):
    return services.record_session(
        by=by or county.users.township_a,
        unit=unit or county.town_a,
        date=date,
        topic="网格员职责",
        hours="2.5",
        attended=attended,
        absent=absent,
    )


def new_post(county, user=None, role=Role.GRID_WORKER_PART_TIME, start=START, unit=None):
    return Post(user=user or county.users.outsider, unit=unit or county.cell_a12, role=role, start_date=start)


# --- plans ----------------------------------------------------------------------------------------------


def test_a_township_plan_is_filed_with_the_county_which_alone_acknowledges_it(county):
    plan = services.file_training_plan(
        by=county.users.township_a, unit=county.town_a, year=2026, title="年度培训计划", content="每季度一次"
    )
    assert plan.filed_with == county.county and not plan.is_acknowledged
    for user in (
        county.users.township_a,
        county.users.township_b,
        county.users.village_a,
        county.users.grid_leader,
    ):
        with pytest.raises(PermissionDenied):
            services.acknowledge_plan(plan, by=user)
    services.acknowledge_plan(plan, by=county.users.county)
    plan.refresh_from_db()
    assert plan.acknowledged_by == county.users.county and plan.is_acknowledged
    with pytest.raises(ValidationError) as err:
        services.acknowledge_plan(plan, by=county.users.county)
    assert "acknowledged_at" in err.value.message_dict
    assert history_for(plan).count() == 2


def test_a_village_plan_is_acknowledged_by_its_township_not_by_the_county(county):
    plan = services.file_training_plan(
        by=county.users.village_a, unit=county.village_a, year=2026, title="村培训计划", content="岗前培训"
    )
    assert plan.filed_with == county.town_a
    assert not services.can_acknowledge(county.users.county, plan)
    with pytest.raises(PermissionDenied):
        services.acknowledge_plan(plan, by=county.users.county)
    services.acknowledge_plan(plan, by=county.users.township_a)


def test_filing_needs_manage_staff_and_a_level_above(county):
    with pytest.raises(PermissionDenied):
        services.file_training_plan(
            by=county.users.grid_leader, unit=county.grid_a1, year=2026, title="t", content="c"
        )
    with pytest.raises(PermissionDenied):
        services.file_training_plan(
            by=county.users.village_b, unit=county.village_a, year=2026, title="t", content="c"
        )
    with pytest.raises(ValidationError) as err:
        services.file_training_plan(
            by=county.users.county, unit=county.county, year=2026, title="", content=""
        )
    assert set(err.value.message_dict) == {"unit", "title", "content"}


# --- sessions ------------------------------------------------------------------------------------------------


def test_a_session_records_who_attended_and_who_was_absent(county):
    worker, leader = county.users.grid_worker, county.users.grid_leader
    s = session(county, D(2026, 4, 1), worker, absent=[leader])
    assert dict(s.attendance.values_list("user__username", "attended")) == {
        "grid_worker": True,
        "grid_leader": False,
    }
    services.record_attendance(s, by=county.users.township_a, attended=[leader])
    assert TrainingAttendance.objects.filter(session=s, attended=True).count() == 2
    with pytest.raises(ValidationError) as err:
        services.record_attendance(s, by=county.users.township_a, attended=[worker], absent=[worker])
    assert "attended" in err.value.message_dict
    with pytest.raises(PermissionDenied):
        services.record_attendance(s, by=county.users.village_a, attended=[worker])


def test_a_session_is_recorded_after_it_took_place_with_a_plan_of_its_year(county):
    plan = services.file_training_plan(
        by=county.users.township_a, unit=county.town_a, year=2025, title="t", content="c"
    )
    with pytest.raises(ValidationError) as err:
        services.record_session(
            by=county.users.village_a, unit=county.village_a, date=D(2026, 6, 1), topic="", hours=0, plan=plan
        )
    assert set(err.value.message_dict) == {"date", "topic", "hours", "plan"}
    ok = services.record_session(
        by=county.users.village_a,
        unit=county.village_a,
        date=D(2025, 6, 1),
        topic="村内培训",
        hours=2,
        plan=plan,
    )
    assert ok.plan == plan
    with pytest.raises(PermissionDenied):
        services.record_session(
            by=county.users.village_a, unit=county.town_a, date=D(2026, 4, 1), topic="t", hours=1
        )


# --- trained before posted ---------------------------------------------------------------------------------


def test_a_grid_post_is_refused_without_training(county):
    with pytest.raises(ValidationError) as err:
        new_post(county).full_clean()
    assert list(err.value.message_dict) == ["user"]
    message = err.value.message_dict["user"][0]
    assert "outsider" in message and "2025-03-01" in message and "2026-03-01" in message


def test_training_after_the_start_date_or_too_old_does_not_count(county):
    outsider = county.users.outsider
    session(county, D(2026, 3, 2), outsider)
    session(county, D(2025, 2, 28), outsider)
    session(county, D(2026, 2, 1), absent=[outsider])
    with pytest.raises(ValidationError):
        new_post(county).full_clean()


@pytest.mark.parametrize("day", [D(2025, 3, 1), D(2025, 11, 20), START])
def test_training_within_the_months_before_the_start_is_accepted(county, day):
    session(county, day, county.users.outsider)
    new_post(county).full_clean()


def test_the_months_of_validity_are_a_setting(county, settings):
    settings.WANGGE_TRAINING_VALID_MONTHS = 3
    session(county, D(2025, 11, 20), county.users.outsider)
    with pytest.raises(ValidationError):
        new_post(county).full_clean()


def test_the_old_rules_of_a_post_still_apply_beside_training(county):
    with pytest.raises(ValidationError) as err:
        new_post(county, unit=county.town_a).full_clean()
    assert set(err.value.message_dict) == {"unit", "user"}


def test_other_roles_and_unchanged_existing_posts_are_not_checked(county):
    new_post(county, role=Role.LIAISON_CADRE, unit=county.village_a).full_clean()
    existing = county.users.grid_worker.posts.get()  # made before any training was recorded
    existing.end_date = D(2026, 6, 30)
    existing.full_clean()
    existing.start_date = D(2026, 4, 1)
    with pytest.raises(ValidationError):
        existing.full_clean()


def admin_post_form(unit, user, start="2026-03-01"):
    return {
        "user": user.pk,
        "unit": unit.pk,
        "role": Role.GRID_WORKER_PART_TIME,
        "title": "兼职网格员",
        "department": "",
        "start_date": start,
        "end_date": "",
    }


def test_the_admin_refuses_a_grid_post_for_someone_untrained(county, login):
    client = login(county.users.village_a)
    url = reverse("admin:people_post_add")
    response = client.post(url, admin_post_form(county.cell_a12, county.users.outsider))
    assert response.status_code == 200
    error = response.context["adminform"].form.errors["user"][0]
    assert "outsider" in error and "2026-03-01" in error and error in response.content.decode()
    assert not Post.objects.filter(user=county.users.outsider).exists()

    session(county, D(2026, 2, 10), county.users.outsider)
    response = client.post(url, admin_post_form(county.cell_a12, county.users.outsider))
    assert response.status_code == 302
    assert Post.objects.filter(user=county.users.outsider, unit=county.cell_a12).exists()


def test_plans_are_read_by_the_unit_below_and_the_level_above(county):
    plan = services.file_training_plan(
        by=county.users.township_a, unit=county.town_a, year=2026, title="t", content="c"
    )
    for user in (
        county.users.county,
        county.users.township_a,
        county.users.village_a,
        county.users.grid_worker,
    ):
        assert list(TrainingPlan.objects.visible_to(user)) == [plan], user
    for user in (
        county.users.township_b,
        county.users.village_b,
        county.users.department,
        county.users.outsider,
    ):
        assert not TrainingPlan.objects.visible_to(user).exists(), user
