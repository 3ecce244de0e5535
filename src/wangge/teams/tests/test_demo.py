"""The demo staff ledger on a tiny demo county: the services' rules hold for what the bulk inserts wrote."""

import datetime
from collections import Counter

import pytest
from django.db import transaction
from django.test import override_settings

from wangge.demo.generator import Scale, generate, load, read_levels, read_standards
from wangge.people.models import Post
from wangge.people.roles import GRID_ROLES, Role
from wangge.teams import services
from wangge.teams.demo import build_staffing_demo
from wangge.teams.models import (
    AppointmentAgreement,
    Badge,
    PipelineFlag,
    TrainingAttendance,
    TrainingPlan,
    TrainingSession,
)
from wangge.units.models import Unit

DAY = datetime.date(2026, 11, 21)
TINY = Scale(
    townships=2, communities=(2, 2), villages=(2, 2), grid3_rural=(2, 2), grid3_urban=(2, 2), dedicated=(1, 1)
)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        load(generate(TINY, 5, read_standards()), read_levels())
        counts = build_staffing_demo(5, DAY)
        yield counts
        transaction.set_rollback(True)


@pytest.fixture
def today(monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: DAY)


def test_the_counts_match_the_rows(demo, db):
    assert demo == {
        "agreements": AppointmentAgreement.objects.count(),
        "badges": Badge.objects.count(),
        "training_plans": TrainingPlan.objects.count(),
        "training_sessions": TrainingSession.objects.count(),
        "training_attendance": TrainingAttendance.objects.count(),
        "pipeline_flags": PipelineFlag.objects.count(),
    }
    assert all(demo.values()), demo


def test_every_grid_post_holder_was_trained_before_the_post_started(demo, db):
    posts = list(Post.objects.filter(role__in=GRID_ROLES))
    assert posts
    for post in posts:
        services.check_trained_before_posted(_fresh(post))


def _fresh(post):
    """The post as if newly assigned, so the check runs."""
    return Post(user_id=post.user_id, unit_id=post.unit_id, role=post.role, start_date=post.start_date)


def test_most_grid_and_village_posts_have_this_years_agreement_and_a_badge(demo, db):
    holders = set(
        Post.objects.filter(role__in=[*GRID_ROLES, Role.VILLAGE_ADMIN]).values_list("user_id", flat=True)
    )
    signed = set(AppointmentAgreement.objects.filter(year=DAY.year).values_list("user_id", flat=True))
    assert signed <= holders and 0.9 * len(holders) <= len(signed) < len(holders)
    badged = set(Badge.objects.filter(returned_on__isnull=True).values_list("user_id", flat=True))
    assert badged == holders
    townships = dict(Unit.objects.filter(depth=2).values_list("pk", "path"))
    for unit_id, post_path in AppointmentAgreement.objects.values_list("unit_id", "post__unit__path"):
        assert post_path.startswith(townships[unit_id])


def test_plans_are_filed_with_the_county_and_acknowledged(demo, db):
    county = Unit.objects.get(depth=1)
    plans = TrainingPlan.objects.all()
    assert {plan.filed_with_id for plan in plans} == {county.pk}
    assert all(plan.is_acknowledged and plan.acknowledged_by_id != plan.filed_by_id for plan in plans)
    years = Counter(plan.unit_id for plan in plans)
    assert len(years) == 2 and len(set(years.values())) == 1


def test_two_to_four_sessions_a_year_per_township(demo, db):
    per_year = Counter(
        (unit_id, date.year)
        for unit_id, date, topic in TrainingSession.objects.values_list("unit_id", "date", "topic")
        if "岗前" not in topic
    )
    assert per_year and all(2 <= n <= 4 for (unit_id, year), n in per_year.items() if year < DAY.year)
    assert TrainingSession.objects.filter(date__gt=DAY).count() == 0


def test_flags_sit_on_active_grid_workers(demo, db):
    for flag in PipelineFlag.objects.select_related("unit"):
        assert (
            Post.objects.active(DAY)
            .filter(user_id=flag.user_id, role__in=GRID_ROLES, unit__path__startswith=flag.unit.path)
            .exists()
        )


def test_the_staffing_check_runs_on_the_demo(demo, db, today):
    report = services.staffing_check(Unit.objects.get(depth=1))
    assert report.grids > 0 and report.households > 0
    assert report.without_leader == 0


def test_nothing_is_held_before_the_township_takes_effect(demo, db):
    since = dict(Unit.objects.filter(depth=2).values_list("pk", "effective_from"))
    for unit_id, date in TrainingSession.objects.values_list("unit_id", "date"):
        assert date >= since[unit_id]
    for unit_id, year in TrainingPlan.objects.values_list("unit_id", "year"):
        assert year >= since[unit_id].year
