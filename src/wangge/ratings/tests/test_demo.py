"""The demo's ratings on a tiny demo county with a year of cases written in bulk: what the bulk rows hold
is what the services would allow, departments and providers differ, the same seed gives the same rows."""

import datetime
from collections import Counter

import pytest
from django.db import transaction
from django.test import override_settings

from wangge.cases.testing import local
from wangge.demo.cases import BulkEngine, build_case_history
from wangge.demo.generator import Scale, generate, load, read_levels, read_standards
from wangge.people.models import Post
from wangge.people.roles import ROLE_CAPABILITIES, Capability
from wangge.ratings import services
from wangge.ratings.demo import build_ratings_demo
from wangge.ratings.models import DepartmentRating, ResidentRating, ServiceProvider
from wangge.units.models import Unit

TODAY = local(2026, 11, 20, 15, 30)
SEED = 5
TINY = Scale(
    townships=2, communities=(2, 2), villages=(2, 2), grid3_rural=(2, 2), grid3_urban=(2, 2), dedicated=(1, 1)
)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with (
        django_db_blocker.unblock(),
        override_settings(
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"], WANGGE_RATING_OPEN_DAYS=30
        ),
        transaction.atomic(),
    ):
        load(generate(TINY, SEED, read_standards()), read_levels())
        build_case_history("county", SEED, today=TODAY, engine=BulkEngine(), annual=800)
        counts = build_ratings_demo(SEED, TODAY.date())
        yield counts
        transaction.set_rollback(True)


def rows():
    return list(
        DepartmentRating.objects.order_by("id").values_list(
            "case_id", "department_id", "rater_id", "speed", "result", "attitude", "rated_at"
        )
    ), list(
        ResidentRating.objects.order_by("id").values_list(
            "uuid", "provider_id", "unit_id", "quality", "rated_at"
        )
    )


def test_the_counts_match_the_rows(demo, db):
    assert demo == {
        "providers": ServiceProvider.objects.count(),
        "department_ratings": DepartmentRating.objects.count(),
        "resident_ratings": ResidentRating.objects.count(),
    }
    assert 8 <= demo["providers"] <= 12
    assert demo["department_ratings"] > 20 and demo["resident_ratings"] >= 40


def test_each_department_rating_is_one_the_service_would_have_taken(demo, db):
    raters = {}
    for user_id, role, path in Post.objects.values_list("user_id", "role", "unit__path"):
        if Capability.RATE_DEPARTMENTS in ROLE_CAPABILITIES.get(role, frozenset()):
            raters.setdefault(user_id, []).append(path)
    finished = {}
    for case_id, department_id, at in services.finished_assignments().values_list(
        "case_id", "department_id", "finished_at"
    ):
        finished[case_id, department_id] = max(at, finished.get((case_id, department_id), at))
    window = datetime.timedelta(days=30)
    ratings = DepartmentRating.objects.select_related("unit", "rater_unit")
    for rating in ratings:
        assert any(rating.unit.path.startswith(path) for path in raters[rating.rater_id])
        assert rating.unit.path.startswith(rating.rater_unit.path)
        at = finished[rating.case_id, rating.department_id]
        assert at <= rating.rated_at <= min(at + window, TODAY)
    pairs = Counter(ratings.values_list("case_id", "department_id", "rater_id"))
    assert max(pairs.values()) == 1
    # Some recent work is left for the grid staff to rate.
    recent = services.finished_assignments().filter(finished_at__gte=TODAY - datetime.timedelta(days=10))
    rated_recent = DepartmentRating.objects.filter(rated_at__gte=TODAY - datetime.timedelta(days=10)).count()
    assert recent.count() > rated_recent


def test_departments_and_providers_differ_in_quality(demo, db):
    county = Unit.objects.get(depth=1)
    start, end = (TODAY - datetime.timedelta(days=365)).date(), TODAY.date()
    access = services.ResultsAccess(None, [])
    departments = services.department_results(services.department_ratings_for(access), start, end)
    overall = [row.overall for row in departments if row.count >= 5]
    assert len(overall) >= 2 and max(overall) - min(overall) >= 0.3
    providers = services.provider_results(services.provider_ratings_for(access), start, end)
    assert {row.kind for row in providers} >= {"water", "power", "gas", "telecom"}
    assert ServiceProvider.objects.filter(unit=county).count() == 7
    for rating in ResidentRating.objects.select_related("provider__unit", "unit"):
        assert rating.unit.path.startswith(rating.provider.unit.path)


def test_the_same_seed_gives_the_same_rows(demo, db):
    first = rows()
    DepartmentRating.objects.all().delete()
    ResidentRating.objects.all().delete()
    again = build_ratings_demo(SEED, TODAY.date())
    assert rows() == first and again["providers"] == demo["providers"]
