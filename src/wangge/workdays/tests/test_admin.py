"""The local overrides are deployment-wide configuration: only system administrators edit them."""

import datetime

from django.urls import reverse
from django.utils import translation

from wangge.workdays.calendar import is_workday
from wangge.workdays.models import WorkdayOverride


def test_a_township_administrator_cannot_open_the_overrides(county, login):
    client = login(county.users.township_a)
    assert client.get(reverse("admin:workdays_workdayoverride_changelist")).status_code == 403
    assert client.get(reverse("admin:workdays_workdayoverride_add")).status_code == 403
    response = client.post(
        reverse("admin:workdays_workdayoverride_add"),
        {"date": "2026-03-10", "is_workday": "", "reason": "擅自放假"},
    )
    assert response.status_code == 403
    assert not WorkdayOverride.objects.exists()


def test_the_system_administrator_adds_an_override_that_takes_effect(county, login):
    client = login(county.users.sysadmin)
    assert is_workday(datetime.date(2026, 3, 10))
    response = client.post(
        reverse("admin:workdays_workdayoverride_add"),
        {"date": "2026-03-10", "reason": "县庆"},  # an unticked box is absent from the form data
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not WorkdayOverride.objects.get(date=datetime.date(2026, 3, 10)).is_workday
    assert not is_workday(datetime.date(2026, 3, 10))


def test_the_list_shows_what_the_national_calendar_says(county, login):
    WorkdayOverride.objects.create(date=datetime.date(2026, 2, 16), is_workday=True, reason="防汛值守")
    WorkdayOverride.objects.create(date=datetime.date(2027, 1, 1), is_workday=False, reason="元旦")
    response = login(county.users.sysadmin).get(reverse("admin:workdays_workdayoverride_changelist"))
    assert response.status_code == 200
    rows = response.context["cl"].result_list
    admin = response.context["cl"].model_admin
    with translation.override("en"):
        assert [str(admin.national_calendar(row)) for row in rows] == ["day off", "no data"]
    assert "防汛值守" in response.content.decode()
