"""The worker's deadline sweeps (CASE-7, COMM-2): overdue cases escalate or get a card, once."""

import pytest
from django.core.management import call_command

from wangge.cases import services, sweeps
from wangge.cases.choices import ActionKind, CaseState, UrgeLevel
from wangge.cases.models import Case
from wangge.cases.testing import local, patrol_case
from wangge.notices.models import Notification

pytestmark = pytest.mark.django_db

MONDAY = local(2026, 3, 2, 10, 0)
FRIDAY = local(2026, 3, 6, 9, 0)  # after the grid's 3 working days (due end of Thursday)


def test_an_overdue_case_in_a_grids_queue_goes_up_one_level_once(world):
    case = patrol_case(world, now=MONDAY)
    result = sweeps.sweep_overdue(now=FRIDAY)
    assert result.escalated == [case.pk]
    case.refresh_from_db()
    assert case.owner_unit == world.county.grid_a1 and case.escalation_count == 1
    escalation = case.actions.get(kind=ActionKind.ESCALATE)
    assert escalation.actor is None and escalation.data["automatic"] is True
    assert Notification.objects.filter(
        recipient=world.users.grid_leader, kind="escalated", case=case
    ).exists()
    # The grid above has its own new deadline, so a second pass at the same moment changes nothing.
    again = sweeps.sweep_overdue(now=FRIDAY)
    assert again.escalated == [] and again.urged == []
    case.refresh_from_db()
    assert case.escalation_count == 1


def test_an_overdue_dispatched_case_gets_a_yellow_card_then_nothing_more_for_that_stage(world):
    users = world.users
    case = patrol_case(world, now=MONDAY)
    for actor in (users.grid_worker, users.grid_leader, users.village_a):
        case = services.escalate(case, by=actor, reason="上报", now=MONDAY)
    case = services.dispatch(case, by=users.township_a, lead=world.department, now=MONDAY)  # due Mon 9 March
    late = local(2026, 3, 10, 9, 0)
    result = sweeps.sweep_overdue(now=late)
    assert result.urged == [case.pk]
    case.refresh_from_db()
    assert case.urge_level == UrgeLevel.YELLOW and case.overdue_at == late
    assert Notification.objects.filter(recipient=users.department, kind="urged", case=case).count() == 1
    # The supervisors of the dispatching township (the county command) hear about it too.
    assert Notification.objects.filter(recipient=users.county, kind="overdue", case=case).exists()
    assert sweeps.sweep_overdue(now=local(2026, 3, 11, 9, 0)).urged == []
    assert Notification.objects.filter(recipient=users.department, kind="urged", case=case).count() == 1


def test_a_second_overdue_stage_after_a_yellow_card_gets_a_red_card(world):
    users = world.users
    case = patrol_case(world, now=MONDAY)
    for actor in (users.grid_worker, users.grid_leader, users.village_a):
        case = services.escalate(case, by=actor, reason="上报", now=MONDAY)
    case = services.dispatch(case, by=users.township_a, lead=world.department, now=MONDAY)
    case = services.accept(case, by=users.department)
    sweeps.sweep_overdue(now=local(2026, 3, 10, 9, 0))
    case = services.submit(case, by=users.department, result="完成", now=local(2026, 3, 10, 10, 0))
    case = services.check(
        case, by=users.township_a, passed=False, note="未整改到位", now=local(2026, 3, 10, 11, 0)
    )
    sweeps.sweep_overdue(now=local(2026, 3, 10, 12, 0))  # rework: the handling deadline had already passed
    case.refresh_from_db()
    assert case.urge_level == UrgeLevel.RED


def test_the_top_level_cannot_escalate_so_it_is_urged(world):
    users = world.users
    case = patrol_case(world, now=MONDAY)
    for actor in (users.grid_worker, users.grid_leader, users.village_a, users.township_a):
        case = services.escalate(case, by=actor, reason="上报", now=MONDAY)
    result = sweeps.sweep_overdue(now=local(2026, 3, 4, 9, 0))  # the county's 1-day dispatch stage passed
    assert result.urged == [case.pk] and result.escalated == []
    case.refresh_from_db()
    assert case.owner_unit == world.county.county and case.urge_level == UrgeLevel.YELLOW


def test_closed_rejected_and_held_cases_are_left_alone(world):
    users = world.users
    closed = services.handle_in_place(patrol_case(world, now=MONDAY), by=users.grid_worker, result="已处理")
    held = services.hold(patrol_case(world, now=MONDAY), by=users.county, reason="历史遗留", now=MONDAY)
    result = sweeps.sweep_overdue(now=local(2026, 4, 1, 9, 0))
    assert result.escalated == [] and result.urged == []
    assert Case.objects.get(pk=closed.pk).state == CaseState.CLOSED
    assert Case.objects.get(pk=held.pk).state == CaseState.ON_HOLD


def test_a_claim_fails_when_the_case_changed_after_it_was_read(world):
    """Two workers read the same candidate; only the one whose conditional UPDATE hits the row acts."""
    case = patrol_case(world, now=MONDAY)
    assert sweeps._claim(case.pk, case.version, FRIDAY, overdue_at=None)
    assert not sweeps._claim(case.pk, case.version, FRIDAY, overdue_at=None)


def test_due_soon_reminder_is_sent_once_per_stage(world):
    case = patrol_case(world, now=MONDAY)  # due end of Thursday
    thursday = local(2026, 3, 5, 9, 0)  # within one working day of the end of Thursday
    assert sweeps.sweep_due_soon(now=local(2026, 3, 4, 9, 0)).warned == []
    assert sweeps.sweep_due_soon(now=thursday).warned == [case.pk]
    assert sweeps.sweep_due_soon(now=thursday).warned == []
    assert Notification.objects.filter(recipient=world.users.grid_worker, kind="due_soon").count() == 1


def test_deadline_status_colours(world):
    case = patrol_case(world, now=MONDAY)
    assert services.deadline_status(case, now=local(2026, 3, 2, 12, 0)) == "green"
    assert services.deadline_status(case, now=local(2026, 3, 4, 9, 0)) == "green"
    assert services.deadline_status(case, now=local(2026, 3, 5, 9, 0)) == "yellow"
    assert services.deadline_status(case, now=FRIDAY) == "red"
    closed = services.handle_in_place(case, by=world.users.grid_worker, result="ok")
    assert services.deadline_status(closed, now=FRIDAY) == ""


def test_worker_once_runs_every_sweep(world, capsys):
    patrol_case(world, now=MONDAY)
    call_command("worker", "--once")
    out = capsys.readouterr().out
    assert "wangge.cases.sweeps.sweep_overdue: escalated=1" in out
    assert "wangge.cases.sweeps.sweep_due_soon" in out


def test_an_overdue_report_still_to_be_verified_gets_a_card(world):
    from wangge.cases.choices import Source

    case, _ = services.report_case(
        reporter=None, source=Source.RESIDENT, description="路灯不亮", lng=108.02, lat=31.05, now=MONDAY
    )
    result = sweeps.sweep_overdue(now=FRIDAY)
    assert result.urged == [case.pk] and result.failed == []
    case.refresh_from_db()
    assert case.state == CaseState.REPORTED and case.urge_level == UrgeLevel.YELLOW
    assert Notification.objects.filter(recipient=world.users.grid_worker, kind="urged", case=case).exists()


def test_one_case_that_fails_does_not_stop_the_sweep(world, monkeypatch):
    first = patrol_case(world, now=MONDAY)
    second = patrol_case(world, now=MONDAY, point=world.point_a12, by=world.users.grid_leader)
    real_escalate = services.escalate

    def broken_for_first(case, **kwargs):
        if case.pk == first.pk:
            raise RuntimeError("boom")
        return real_escalate(case, **kwargs)

    monkeypatch.setattr(services, "escalate", broken_for_first)
    result = sweeps.sweep_overdue(now=FRIDAY, batch_size=1)
    assert result.failed == [first.pk] and result.escalated == [second.pk]
    first.refresh_from_db()
    assert first.overdue_at is None  # rolled back: the next pass tries again


def test_a_due_soon_reminder_leaves_the_version_so_an_open_page_stays_valid(world):
    case = patrol_case(world, now=MONDAY)
    seen = case.version
    sweeps.sweep_due_soon(now=local(2026, 3, 5, 9, 0))
    case.refresh_from_db()
    assert case.due_soon_notified_at is not None and case.version == seen
    services.handle_in_place(case, by=world.users.grid_worker, result="已处理", expected_version=seen)
