import pytest

from wangge.workdays.calendar import clear_cache


@pytest.fixture(autouse=True)
def fresh_calendar():
    """Each test starts from an empty override cache and an unlogged fallback.

    A test's overrides vanish with its transaction without a post_delete signal, so the cache is
    cleared after the test too, or the next test (in any app) would see them.
    """
    clear_cache()
    yield
    clear_cache()
