"""The closed loop through the services: every transition, its role rules and its records (CASE-1 … CASE-11)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from wangge.cases import services
from wangge.cases.choices import (
    ActionKind,
    AssignmentStatus,
    CaseState,
    HandlerLevel,
    Rating,
    RejectReason,
    Source,
    Stage,
)
from wangge.cases.models import Case, CaseAction
from wangge.cases.services import StaleCase, TransitionRefused
from wangge.cases.testing import local, patrol_case
from wangge.notices.models import Notification

pytestmark = pytest.mark.django_db

MONDAY = local(2026, 3, 2, 10, 0)  # an ordinary working week: 2–6 March 2026


def kinds(case):
    return list(case.actions.values_list("kind", flat=True))


def test_patrol_report_finds_the_smallest_grid_and_registers_with_a_number(world):
    """CASE-1, CASE-2: the point decides the grid; registration numbers the case and starts the clock."""
    case = patrol_case(world, now=MONDAY)
    assert case.unit == world.county.cell_a11
    assert case.owner_unit == world.county.cell_a11
    assert case.state == CaseState.REGISTERED
    assert case.number == "5002292026030200001"
    assert case.registered_at == MONDAY
    # Grid level handles within 3 working days: end of Thursday 5 March.
    assert case.due_at == local(2026, 3, 5, 23, 59, 59)
    assert case.stage == Stage.HANDLING and case.stage_due_at == case.due_at
    assert kinds(case) == [ActionKind.REPORT, ActionKind.REGISTER]
    second = patrol_case(world, now=MONDAY, point=world.point_a12, by=world.users.grid_leader)
    assert second.number == "5002292026030200002"
    assert second.unit == world.county.cell_a12


def test_point_outside_every_grid_is_refused_or_attached_to_own_unit_on_request(world):
    with translation.override("en"), pytest.raises(ValidationError) as error:
        patrol_case(world, point=world.outside)
    assert "location" in error.value.message_dict
    assert "outside every grid" in error.value.message_dict["location"][0]
    assert not Case.objects.exists()
    case = patrol_case(world, point=world.outside, attach_to_own_unit=True)
    assert case.unit == world.county.cell_a11  # the grid worker's own post


def test_a_find_in_another_grid_goes_to_that_grid_and_waits_for_its_staff(world):
    case = patrol_case(world, point=world.point_b1)
    assert case.unit == world.county.grid_b1 and case.state == CaseState.REPORTED
    assert Notification.objects.filter(
        recipient=world.users.grid_worker_b, case=case, kind="reported"
    ).exists()
    assert (
        Case.objects.visible_to(world.users.grid_worker).filter(pk=case.pk).exists()
    )  # the reporter follows it
    case = services.register(case, by=world.users.grid_worker_b)
    assert case.state == CaseState.REGISTERED


def test_create_is_idempotent_by_client_uuid(world):
    """DESIGN: a retry after a lost connection never makes a second record."""
    import uuid

    client_id = uuid.uuid4()
    first = patrol_case(world, client_uuid=client_id)
    again, created = services.report_case(
        reporter=world.users.grid_worker,
        source=Source.PATROL,
        description="重发",
        lng=108.02,
        lat=31.05,
        client_uuid=client_id,
    )
    assert not created and again.pk == first.pk
    assert Case.objects.count() == 1
    with pytest.raises(ValidationError):
        services.report_case(
            reporter=world.users.village_b,
            source=Source.PATROL,
            description="x",
            unit=world.county.village_b,
            client_uuid=client_id,
        )


def test_resident_report_needs_on_site_verification_before_registration(world):
    """CASE-1 筛选: a resident's report is verified by the grid worker, then registered."""
    case, _ = services.report_case(
        reporter=None,
        source=Source.RESIDENT,
        description="小区门口井盖丢失",
        lng=108.02,
        lat=31.05,
        reporter_name="王女士",
    )
    assert case.state == CaseState.REPORTED and case.number is None
    assert len(case.tracking_code) == 8
    worker = world.users.grid_worker
    # The grid worker was told at once.
    assert Notification.objects.filter(recipient=worker, case=case, kind="reported").exists()
    with pytest.raises(PermissionDenied):
        services.register(case, by=worker, category=world.category)
    case = services.verify(case, by=worker, note="现场确认井盖缺失")
    case = services.register(case, by=worker, category=world.category)
    assert case.state == CaseState.REGISTERED and case.number


def test_registration_needs_a_subcategory(world):
    case, _ = services.report_case(
        reporter=world.users.grid_worker, source=Source.PATROL, description="x", lng=108.02, lat=31.05
    )
    with pytest.raises(ValidationError) as error:
        services.register(case, by=world.users.grid_worker)
    assert "category" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.register(case, by=world.users.grid_worker, category=world.top_category)
    case.refresh_from_db()
    assert case.state == CaseState.REPORTED and case.number is None


@pytest.mark.parametrize("reason", [RejectReason.NOT_A_CASE, RejectReason.OUT_OF_SCOPE])
def test_rejection_keeps_the_reason(world, reason):
    case = patrol_case(world, register=False)
    case = services.reject(case, by=world.users.village_a, reason=reason, note="不属于网格事项")
    assert case.state == CaseState.REJECTED and case.reject_reason == reason
    assert case.actions.last().note == "不属于网格事项"


def test_duplicate_links_to_the_original(world):
    original = patrol_case(world)
    copy = patrol_case(world, register=False)
    with pytest.raises(ValidationError) as error:
        services.reject(copy, by=world.users.grid_worker, reason=RejectReason.DUPLICATE, note="重复")
    assert "duplicate_of" in error.value.message_dict
    copy = services.reject(
        copy, by=world.users.grid_worker, reason=RejectReason.DUPLICATE, note="重复", duplicate_of=original
    )
    assert copy.duplicate_of == original


def test_handled_in_place_closes_at_grid_level(world):
    """CASE-6 小事不出网格."""
    case = patrol_case(world)
    case = services.handle_in_place(case, by=world.users.grid_worker, result="已更换灯泡")
    assert case.state == CaseState.CLOSED
    assert case.resolved_level == HandlerLevel.GRID and case.resolved_in_place
    assert case.closed_at is not None


def test_escalation_goes_up_level_by_level_and_restarts_the_clock(world):
    """CASE-6: grid → grid above → village → township → county; the county is the top."""
    c = world.county
    case = patrol_case(world, now=MONDAY)
    chain = []
    actors = [world.users.grid_worker, world.users.grid_leader, world.users.village_a, world.users.township_a]
    for actor in actors:
        case = services.escalate(case, by=actor, reason="需上级协调", now=MONDAY)
        chain.append(case.owner_unit)
    assert chain == [c.grid_a1, c.village_a, c.town_a, c.county]
    assert case.escalation_count == 4
    # At the county the dispatch stage runs (1 working day), the handling limit is the county's 5.
    assert case.stage == Stage.DISPATCH
    assert case.stage_due_at == local(2026, 3, 3, 23, 59, 59)
    assert case.due_at == local(2026, 3, 9, 23, 59, 59)
    with pytest.raises(PermissionDenied):  # the county is the root: there is no level above
        services.escalate(case, by=world.users.county, reason="再上报")
    escalations = case.actions.filter(kind=ActionKind.ESCALATE)
    assert [a["data"]["to_unit"] for a in escalations.values("data")] == [u.code for u in chain]


def test_escalation_is_refused_to_a_worker_of_another_grid(world):
    case = patrol_case(world)
    with pytest.raises(PermissionDenied):
        services.escalate(case, by=world.users.grid_worker_b, reason="x")
    with pytest.raises(ValidationError):
        services.escalate(case, by=world.users.grid_worker, reason="   ")


def _to_township(world, now=MONDAY):
    case = patrol_case(world, now=now)
    case = services.escalate(case, by=world.users.grid_worker, reason="需要协调", now=now)
    case = services.escalate(case, by=world.users.grid_leader, reason="需要协调", now=now)
    return services.escalate(case, by=world.users.village_a, reason="超出村级能力", now=now)


def test_full_loop_dispatch_accept_handle_check_close_rate(world):
    """CASE-8, CASE-11: dispatched by the township, handled by the department, checked by the reporter."""
    users = world.users
    case = _to_township(world)
    case = services.dispatch(
        case, by=users.township_a, lead=world.department, instructions="请现场处置", now=MONDAY
    )
    assert case.state == CaseState.DISPATCHED
    assert case.dispatched_from == world.county.town_a
    assert case.due_at == local(2026, 3, 9, 23, 59, 59)  # department: 5 working days
    assert Notification.objects.filter(recipient=users.department, kind="dispatched", case=case).exists()
    with pytest.raises(PermissionDenied):
        services.accept(case, by=users.police)
    case = services.accept(case, by=users.department)
    assert case.state == CaseState.HANDLING
    case = services.submit(case, by=users.department, result="已修复")
    assert case.state == CaseState.SUBMITTED and case.stage == Stage.VERIFICATION
    assert Notification.objects.filter(recipient=users.grid_worker, kind="submitted", case=case).exists()
    case = services.check(case, by=users.grid_worker, passed=True, note="现场核查通过")
    assert case.state == CaseState.CLOSED
    assert case.resolved_level == HandlerLevel.TOWNSHIP and not case.resolved_in_place
    case = services.rate(case, by=users.grid_worker, rating=Rating.SATISFIED)
    assert case.rating == Rating.SATISFIED
    assert kinds(case)[-5:] == [
        ActionKind.DISPATCH,
        ActionKind.ACCEPT,
        ActionKind.SUBMIT,
        ActionKind.CHECK_PASS,
        ActionKind.RATE,
    ]
    accept = case.actions.get(kind=ActionKind.ACCEPT)
    assert accept.actor == users.department and accept.actor_department == world.department
    assert accept.from_state == CaseState.DISPATCHED and accept.to_state == CaseState.HANDLING


def test_failed_check_sends_back_for_rework(world):
    users = world.users
    case = _to_township(world)
    case = services.dispatch(case, by=users.township_a, lead=world.department)
    case = services.accept(case, by=users.department)
    case = services.submit(case, by=users.department, result="处理了")
    case = services.check(case, by=users.township_a, passed=False, note="仍有隐患")
    assert case.state == CaseState.HANDLING and case.rework_count == 1
    assert Notification.objects.filter(recipient=users.department, kind="check_failed").exists()
    case = services.submit(case, by=users.department, result="彻底整改")
    case = services.check(case, by=users.township_a, passed=True, note="通过")
    assert case.state == CaseState.CLOSED and case.rework_count == 1


def test_return_goes_back_to_the_dispatcher_and_counts_as_wrong_dispatch(world):
    users = world.users
    case = _to_township(world)
    case = services.dispatch(case, by=users.township_a, lead=world.police)
    case = services.return_case(case, by=users.police, reason="不属于公安职责")
    assert case.state == CaseState.REGISTERED and case.owner_unit == world.county.town_a
    assert case.return_count == 1 and case.wrong_dispatch_count == 1
    assert case.lead_assignment is None
    assert case.assignments.get().status == AssignmentStatus.RETURNED
    assert Notification.objects.filter(recipient=users.township_a, kind="returned").exists()
    case = services.dispatch(case, by=users.township_a, lead=world.department)
    assert case.dispatch_count == 2


def test_whistle_dispatch_waits_for_every_co_handler(world):
    """CASE-9 吹哨报到: the lead submits only once each co-handler has reported back."""
    users = world.users
    case = _to_township(world)
    case = services.dispatch(case, by=users.township_a, lead=world.department, co_handlers=[world.police])
    assert case.assignments.count() == 2
    assert Notification.objects.filter(recipient=users.police, kind="dispatched").exists()
    case = services.accept(case, by=users.department)
    with pytest.raises(ValidationError) as error:
        services.submit(case, by=users.department, result="完成")
    assert "县公安局" in error.value.message_dict["result"][0]
    with pytest.raises(PermissionDenied):
        services.report_back(case, by=users.department, note="x")  # the lead is not a co-handler
    case = services.report_back(case, by=users.police, note="已配合疏导交通")
    case = services.submit(case, by=users.department, result="完成")
    assert case.state == CaseState.SUBMITTED


def test_dispatch_targets_must_be_in_the_dispatchers_area(world):
    case = _to_township(world)
    with pytest.raises(ValidationError) as error:
        services.dispatch(case, by=world.users.township_a, lead=world.county.village_b)
    assert "lead" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.dispatch(
            case, by=world.users.township_a, lead=world.department, co_handlers=[world.department]
        )
    with pytest.raises(PermissionDenied):
        services.dispatch(case, by=world.users.township_b, lead=world.department)


def test_illegal_transition_lists_the_allowed_steps(world):
    case = patrol_case(world)
    with pytest.raises(TransitionRefused) as refused:
        services.accept(case, by=world.users.grid_worker)
    assert "handle_in_place" in refused.value.allowed and "escalate" in refused.value.allowed
    assert "accept" not in refused.value.allowed


def test_stale_version_is_a_conflict(world):
    case = patrol_case(world)
    seen = case.version
    services.handle_in_place(case, by=world.users.grid_worker, result="已处理", expected_version=seen)
    with pytest.raises(StaleCase):
        services.escalate(case, by=world.users.grid_worker, reason="x", expected_version=seen)


def test_unsatisfied_rating_lets_the_dispatcher_reopen(world):
    users = world.users
    case = _to_township(world)
    case = services.dispatch(case, by=users.township_a, lead=world.department)
    case = services.accept(case, by=users.department)
    case = services.submit(case, by=users.department, result="完成")
    case = services.check(case, by=users.township_a, passed=True, note="通过")
    with pytest.raises(TransitionRefused):
        services.reopen(case, by=users.township_a, note="x")  # only after an unsatisfied rating
    case = services.rate(
        case, rating=Rating.UNSATISFIED, comment="问题依旧"
    )  # the resident, by tracking code
    assert Notification.objects.filter(recipient=users.township_a, kind="reopened").exists()
    case = services.reopen(case, by=users.township_a, note="群众不满意，重新派单")
    assert case.state == CaseState.REGISTERED and case.reopen_count == 1 and case.closed_at is None
    assert case.owner_unit == world.county.town_a


def test_long_term_management_pauses_and_resumes_the_clock(world):
    """CASE-10: a hard case is held by the county; resuming moves its deadlines by the paused working time."""
    users = world.users
    case = patrol_case(world, now=MONDAY)  # due end of Thursday 5 March
    with pytest.raises(PermissionDenied):
        services.hold(case, by=users.township_a, reason="历史遗留")
    case = services.hold(case, by=users.county, reason="历史遗留问题", now=local(2026, 3, 3, 0, 0))
    assert case.state == CaseState.ON_HOLD
    case = services.follow_up(case, by=users.grid_worker, note="每月走访一次")
    case = services.resume(case, by=users.county, note="条件成熟", now=local(2026, 3, 9, 0, 0))
    # Paused at the start of Tuesday with 3 working days left; resumed at the start of the next Monday.
    assert case.state == CaseState.REGISTERED
    assert case.due_at == local(2026, 3, 11, 23, 59, 59)
    assert ActionKind.FOLLOW_UP in kinds(case)


def test_extension_needs_approval_and_keeps_the_original_deadline(world):
    users = world.users
    case = _to_township(world)
    case = services.dispatch(case, by=users.township_a, lead=world.department, now=MONDAY)
    case = services.accept(case, by=users.department)
    original = case.due_at
    services.request_extension(case, by=users.department, working_days=3, reason="需采购材料")
    with pytest.raises(TransitionRefused):  # one pending request at a time
        services.request_extension(case, by=users.department, working_days=2, reason="again")
    with pytest.raises(PermissionDenied):
        services.decide_extension(case, by=users.department, approve=True)
    case = services.decide_extension(case, by=users.township_a, approve=True, note="同意", now=MONDAY)
    assert case.due_at == local(2026, 3, 12, 23, 59, 59)
    assert case.kpi_due_at == original and case.extension_count == 1
    assert Notification.objects.filter(recipient=users.department, kind="extension").exists()


def test_urge_levels_notify_the_handler(world):
    users = world.users
    case = _to_township(world)
    case = services.dispatch(case, by=users.township_a, lead=world.department)
    case = services.urge(case, by=users.county, level="yellow", note="请加快")
    assert case.urge_level == "yellow"
    case = services.urge(case, by=users.county, level="normal", note="再催")
    assert case.urge_level == "yellow"  # the highest level stays
    assert Notification.objects.filter(recipient=users.department, kind="urged").count() == 2
    with pytest.raises(PermissionDenied):
        services.urge(case, by=users.grid_worker, level="red", note="x")


def test_publish_refuses_personal_data(world):
    case = patrol_case(world)
    case = services.handle_in_place(case, by=world.users.grid_worker, result="已处理")
    with translation.override("en"), pytest.raises(ValidationError) as error:
        services.publish(case, by=world.users.village_a, summary="张三 13812345678 反映的路灯已修复")
    assert "mobile" in error.value.message_dict["summary"][0]
    case = services.publish(case, by=world.users.village_a, summary="一组路灯损坏已修复")
    assert case.published_at and case.public_summary == "一组路灯损坏已修复"


def test_actions_are_append_only(world):
    case = patrol_case(world)
    action = case.actions.first()
    action.note = "changed"
    with pytest.raises(ValidationError):
        action.save()
    with pytest.raises(ValidationError):
        action.delete()
    assert CaseAction.objects.filter(pk=action.pk, note="").exists()


def test_photos_must_be_images_within_the_size_limit(world, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from wangge.cases.services import Photo

    with pytest.raises(ValidationError) as error:
        patrol_case(world, photos=[Photo(SimpleUploadedFile("a.jpg", b"not an image"))])
    assert "photos" in error.value.message_dict
    assert not Case.objects.exists()


def test_households_involved_must_be_in_the_reporters_grids(county_with_households):
    from wangge.cases.testing import build_case_world
    from wangge.ledger.models import Household

    world = build_case_world(county_with_households)
    own = Household.objects.filter(grid=county_with_households.cell_a11)[:2]
    case = patrol_case(world, households=list(own))
    assert set(case.households.all()) == set(own)
    foreign = Household.objects.filter(grid=county_with_households.grid_b1).first()
    with pytest.raises(ValidationError) as error:
        patrol_case(world, households=[foreign])
    assert "households" in error.value.message_dict
    assert Case.objects.count() == 1


def test_an_unsatisfied_rating_on_a_grid_case_reaches_the_dispatcher_who_can_reopen_it(world):
    case = services.handle_in_place(patrol_case(world), by=world.users.grid_worker, result="已处理")
    services.rate(case, rating=Rating.UNSATISFIED, comment="没修好")
    told = set(Notification.objects.filter(kind="reopened").values_list("recipient__username", flat=True))
    assert told == {"township_a"}


def test_department_liaisons_at_a_unit_are_not_told_of_its_own_checks(world):
    from wangge.core.testing import make_user
    from wangge.people.roles import Role

    liaison = make_user("liaison", (world.county.town_a, Role.DEPARTMENT_USER, world.township_office))
    case = _to_township(world)
    case = services.dispatch(case, by=world.users.township_a, lead=world.department)
    case = services.accept(case, by=world.users.department)
    services.submit(case, by=world.users.department, result="完成")
    assert Notification.objects.filter(recipient=world.users.township_a, kind="submitted").exists()
    assert not Notification.objects.filter(recipient=liaison).exists()


def test_a_township_dispatching_a_grid_case_takes_it_over(world):
    """The level that dispatches owns the case: returns, extensions and the check come back to it."""
    case = services.dispatch(patrol_case(world, now=MONDAY), by=world.users.township_a, lead=world.department)
    assert case.owner_unit == world.county.town_a and case.dispatched_from == world.county.town_a
    assert case.actions.get(kind=ActionKind.DISPATCH).data["taken_over_from"] == world.county.cell_a11.code
    case = services.accept(case, by=world.users.department)
    case = services.submit(case, by=world.users.department, result="完成")
    case = services.check(case, by=world.users.township_a, passed=True, note="通过")
    assert case.resolved_level == HandlerLevel.TOWNSHIP


def test_the_level_above_does_not_accept_for_a_unit_and_nobody_checks_their_own_work(world):
    users = world.users
    case = services.dispatch(patrol_case(world), by=users.township_a, lead=world.county.grid_a1)
    with pytest.raises(PermissionDenied):
        services.accept(case, by=users.township_a)  # supervises 一组, does not accept in its name
    case = services.accept(case, by=users.grid_worker)  # posted in 一组's 一格
    case = services.submit(case, by=users.grid_worker, result="已修复")
    with pytest.raises(PermissionDenied):
        services.check(case, by=users.grid_worker, passed=True, note="自查")  # the reporter, but he did it
    case = services.check(case, by=users.township_a, passed=True, note="核查通过")
    assert case.state == CaseState.CLOSED


def test_a_pending_extension_lapses_when_the_case_is_returned(world):
    from wangge.cases.choices import ExtensionStatus

    users = world.users
    case = services.dispatch(_to_township(world), by=users.township_a, lead=world.police)
    request = services.request_extension(case, by=users.police, working_days=5, reason="人手不足")
    case = services.return_case(case, by=users.police, reason="不属于公安职责")
    request.refresh_from_db()
    assert request.status == ExtensionStatus.WITHDRAWN
    case = services.dispatch(case, by=users.township_a, lead=world.department)
    case = services.accept(case, by=users.department)
    services.request_extension(case, by=users.department, working_days=2, reason="待材料")  # not blocked


def test_a_redispatch_never_moves_the_kpi_deadline_later(world):
    users = world.users
    case = services.dispatch(_to_township(world), by=users.township_a, lead=world.police, now=MONDAY)
    first = case.kpi_due_at
    case = services.return_case(case, by=users.police, reason="派错", now=local(2026, 3, 6, 10, 0))
    case = services.dispatch(case, by=users.township_a, lead=world.department, now=local(2026, 3, 6, 11, 0))
    assert case.due_at > first and case.kpi_due_at == first


def test_resuming_moves_even_a_deadline_that_had_passed(world):
    case = patrol_case(world, now=MONDAY)  # due end of Thursday 5 March
    case = services.hold(case, by=world.users.county, reason="历史遗留", now=local(2026, 3, 6, 0, 0))
    case = services.resume(case, by=world.users.county, note="恢复", now=local(2026, 3, 9, 0, 0))
    # Paused from Friday 00:00 to Monday 00:00: one working day (Friday) stood still.
    assert case.due_at == local(2026, 3, 6, 23, 59, 59)


def test_an_approved_extension_moves_the_handlers_deadline_too(world):
    users = world.users
    case = services.dispatch(_to_township(world), by=users.township_a, lead=world.department, now=MONDAY)
    case = services.accept(case, by=users.department)
    services.request_extension(case, by=users.department, working_days=3, reason="需采购材料")
    case = services.decide_extension(case, by=users.township_a, approve=True, note="同意", now=MONDAY)
    assert case.assignments.get(is_lead=True).due_at == case.due_at


def test_a_redispatch_starts_without_the_last_handlers_card(world):
    users = world.users
    case = services.dispatch(_to_township(world), by=users.township_a, lead=world.police)
    case = services.urge(case, by=users.county, level="red", note="尽快")
    case = services.return_case(case, by=users.police, reason="派错")
    case = services.dispatch(case, by=users.township_a, lead=world.department)
    assert case.urge_level == ""
