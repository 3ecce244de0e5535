"""`wangge check-calendar`: exit 0 when every year asked about has national data, 1 when one has not."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from wangge.workdays.calendar import years_without_data
from wangge.workdays.models import WorkdayOverride

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[int, str]:
    out = StringIO()
    with translation.override("en"):
        try:
            call_command("check_calendar", *args, stdout=out, no_color=True)
        except SystemExit as exit:
            return exit.code, out.getvalue()
    return 0, out.getvalue()


def test_a_year_with_data_passes_and_lists_its_overrides():
    WorkdayOverride.objects.create(date=datetime.date(2026, 3, 10), is_workday=False, reason="县庆")
    WorkdayOverride.objects.create(date=datetime.date(2025, 3, 10), is_workday=False, reason="去年的")
    code, output = run("2026")
    assert code == 0
    assert "2026: national holiday data present" in output
    assert "2026-03-10 day off · 县庆" in output
    assert "去年的" not in output


def test_a_year_without_data_fails():
    code, output = run("2026", "2027")
    assert code == 1
    assert "2027: no national holiday data" in output
    assert "No local overrides." in output


def test_by_default_this_year_and_next_are_checked():
    this_year = timezone.localdate().year
    code, output = run()
    assert f"{this_year}:" in output
    assert f"{this_year + 1}:" in output
    assert code == (1 if years_without_data([this_year, this_year + 1]) else 0)


def test_a_bad_year_is_a_usage_error():
    with pytest.raises(CommandError, match="not a year"):
        run("twenty")
