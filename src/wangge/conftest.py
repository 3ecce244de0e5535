import pytest
from django.utils import translation
from rest_framework.test import APIClient

from wangge.core.testing import PASSWORD, build_test_county
from wangge.people.models import User


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Hashing is deliberately slow; tests create many users and do not test its strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the deployment's language: a request (LocaleMiddleware, the language switch)
    leaves its language active on the thread, which would otherwise leak into the next test."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def fresh_calendar():
    """Each test starts from an empty working-day override cache and an unlogged fallback.

    A test's overrides vanish with its transaction without a post_delete signal, so the cache is
    cleared after the test too, or the next test would see them.
    """
    from wangge.workdays.calendar import clear_cache

    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def county(db):
    """The crafted test county (see wangge.core.testing) with one user per role and no households."""
    return build_test_county()


@pytest.fixture
def county_with_households(db):
    return build_test_county(households_per_grid=40)


@pytest.fixture
def ledger(county):
    """The test county plus a small ledger (see wangge.ledger.testing): households, residents with tags,
    a dual-grid household, a party branch, places."""
    from wangge.ledger.testing import build_ledger_world

    return build_ledger_world(county)


@pytest.fixture
def api():
    """`api(user)`: an APIClient signed in as a fresh copy of `user` (so no scope is cached across
    calls); `api()` is anonymous."""

    def _api(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(User.objects.get(pk=user.pk))
        return client

    return _api


@pytest.fixture
def login(client):
    """`login(user)` signs the Django test client in as `user` and returns the client."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def world(county):
    """The test county plus a case category with known limits, a second department and users (cases)."""
    from wangge.cases.testing import build_case_world

    return build_case_world(county)


@pytest.fixture(scope="module")
def restore_migrated_rows(django_db_blocker):
    """For modules of transactional tests (`transaction=True, serialized_rollback=True`): put the
    migrations' rows (unit levels, categories …) back once the module is done, because the flush after
    such a test takes them away from whatever test runs next in this process."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for conn in connections.all(initialized_only=True):
            contents = getattr(conn, "_test_serialized_contents", None)
            if contents is not None:
                conn.creation.deserialize_db_from_string(contents)
