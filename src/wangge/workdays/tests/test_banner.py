"""A year without national data is said loudly in the UI: a banner on every page for signed-in users."""

import re

import chinese_calendar
import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from wangge.workdays.context_processors import calendar_warning


@pytest.fixture
def no_national_data(monkeypatch):
    """The package as it would be if it did not cover the current year yet."""

    def unsupported(day):
        raise NotImplementedError(f"no available data for year {day.year}")

    monkeypatch.setattr(chinese_calendar, "is_workday", unsupported)


def test_signed_in_users_see_the_warning_naming_the_year(county, login, no_national_data):
    response = login(county.users.township_a).get(reverse("home"), follow=True)
    assert response.status_code == 200
    banner = re.search(r'<p class="message warning" role="alert">(.*?)</p>', response.content.decode(), re.S)
    assert banner is not None
    assert str(timezone.localdate().year) in banner.group(1)


def test_no_banner_while_the_calendar_has_data(county, login, monkeypatch):
    monkeypatch.setattr(chinese_calendar, "is_workday", lambda day: day.weekday() < 5)
    response = login(county.users.township_a).get(reverse("home"), follow=True)
    assert response.status_code == 200
    assert "calendar_warning" not in response.context
    assert 'role="alert"' not in response.content.decode()


def test_anonymous_visitors_get_no_warning(no_national_data):
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    assert calendar_warning(request) == {}
