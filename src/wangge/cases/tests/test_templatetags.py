"""The badges shown wherever a case is listed (CASE-7): green, yellow (临期), red (超期), and the status."""

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone

from wangge.cases.choices import CaseState, UrgeLevel
from wangge.cases.models import Case
from wangge.cases.testing import local

# The working-day calendar reads the local overrides table.
pytestmark = pytest.mark.django_db

MONDAY_10 = local(2026, 3, 2, 10, 0)  # an ordinary working week


def render(source: str, **context) -> str:
    return Template("{% load cases %}" + source).render(Context(context))


def badge(case, now=None) -> str:
    if now is None:
        return render("{% deadline_badge case %}", case=case)
    return render("{% deadline_badge case now %}", case=case, now=now)


def colour(html: str) -> str:
    for status in ("green", "yellow", "red", "paused"):
        if f'data-deadline="{status}"' in html:
            return status
    return ""


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (local(2026, 3, 2, 9, 0), "red"),  # an hour ago
        (local(2026, 3, 2, 23, 59, 59), "yellow"),  # tonight: within one working day
        (local(2026, 3, 3, 9, 59), "yellow"),  # just inside the working day from now
        (local(2026, 3, 3, 23, 59, 59), "green"),  # tomorrow night: more than a working day away
        (local(2026, 3, 6, 23, 59, 59), "green"),
    ],
)
def test_deadline_colours_on_crafted_deadlines(due, expected):
    case = Case(state=CaseState.HANDLING, stage_due_at=due)
    assert colour(badge(case, MONDAY_10)) == expected


def test_a_deadline_after_the_national_day_holiday_is_due_soon_in_working_days():
    """Eight calendar days away, but only the rest of 30 September is working time before it."""
    eve = local(2026, 9, 30, 10, 0)
    assert (
        colour(badge(Case(state=CaseState.HANDLING, stage_due_at=local(2026, 10, 8, 9, 0)), eve)) == "yellow"
    )
    assert (
        colour(badge(Case(state=CaseState.HANDLING, stage_due_at=local(2026, 10, 9, 23, 59)), eve)) == "green"
    )


def test_the_badge_shows_the_local_deadline_and_says_its_colour_in_words():
    html = badge(Case(state=CaseState.REGISTERED, stage_due_at=local(2026, 3, 2, 9, 0)), MONDAY_10)
    assert "deadline-red" in html
    assert "03-02 09:00" in html  # Asia/Shanghai, not UTC
    assert "2026-03-02T09:00:00+08:00" in html
    assert "Overdue" in html or "超期" in html


@pytest.mark.parametrize("state", [CaseState.CLOSED, CaseState.REJECTED])
def test_finished_cases_show_no_deadline(state):
    assert badge(Case(state=state, stage_due_at=local(2026, 3, 2, 9, 0)), MONDAY_10).strip() == ""


def test_a_case_in_long_term_management_shows_its_clock_paused():
    assert colour(badge(Case(state=CaseState.ON_HOLD, stage_due_at=None), MONDAY_10)) == "paused"


def test_a_case_without_a_deadline_shows_nothing():
    assert badge(Case(state=CaseState.REPORTED, stage_due_at=None), MONDAY_10).strip() == ""


def test_without_an_explicit_time_the_badge_uses_now():
    soon = Case(state=CaseState.HANDLING, stage_due_at=timezone.now() - timedelta(minutes=1))
    assert colour(badge(soon)) == "red"


def test_state_badge_names_the_status():
    html = render("{% state_badge case %}", case=Case(state=CaseState.SUBMITTED))
    assert 'data-state="submitted"' in html and "state-submitted" in html
    assert str(CaseState.SUBMITTED.label) in html


def test_urge_badge_shows_the_card_only_while_one_is_in_force():
    assert 'data-urge="red"' in render("{% urge_badge case %}", case=Case(urge_level=UrgeLevel.RED))
    assert render("{% urge_badge case %}", case=Case(urge_level="")).strip() == ""


def test_badges_escape_nothing_they_should_not():
    case = Case(state=CaseState.HANDLING, stage_due_at=local(2026, 3, 6, 23, 59, 59))
    html = badge(case, MONDAY_10)
    assert html.startswith('<span class="deadline deadline-green"') and "&lt;" not in html


def test_role_and_action_filters():
    assert render("{{ 'grid_leader'|role_label }}").strip() in ("Grid leader", "网格长")
    assert render("{{ 'retired_role'|role_label }}").strip() == "retired_role"
    assert render("{{ 'return_'|action_label }}").strip() in ("Returned", "退回")
