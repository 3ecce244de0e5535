"""准入事项清单 (WORK-4): a village or grid is dispatched only task types on the list in force above it;
a request, once approved by the keeper, lets the dispatch through. Departments, townships and units with
no list in force are not restricted."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework.test import APIClient

from wangge.cases import admission, services
from wangge.cases.choices import AdmissionBasis, AdmissionRequestStatus, CaseState
from wangge.cases.models import AdmissionItem, AdmissionRequest, Category
from wangge.cases.testing import patrol_case
from wangge.core.audit import history_for
from wangge.core.models import ChangeAction, ChangeLog
from wangge.notices.models import Notification
from wangge.people.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def county_list(world):
    """The county keeps a list that admits 邻里纠纷 (0101) but not the test category 9901."""
    return admission.add_item(
        keeper=world.county.county,
        category=Category.objects.get(code="0101"),
        by=world.users.county,
        basis=AdmissionBasis.LAW,
        note="《人民调解法》",
    )


def refusal(excinfo, field="lead") -> str:
    messages = excinfo.value.message_dict[field]
    assert len(messages) == 1
    return messages[0]


def test_a_category_outside_the_list_is_not_dispatched_to_a_village_or_grid(world, county_list):
    case = patrol_case(world)
    for target in (world.county.village_a, world.county.grid_a1, world.county.cell_a11):
        with pytest.raises(ValidationError) as excinfo:
            services.dispatch(case, by=world.users.township_a, lead=target)
        message = refusal(excinfo)
        assert world.category.name in message and "测试县" in message
        assert message == admission.refusal_message(world.category, world.county.county)
    case.refresh_from_db()
    assert case.state == CaseState.REGISTERED and not case.assignments.exists()


def test_departments_and_townships_are_not_restricted(world, county_list):
    case = services.dispatch(patrol_case(world), by=world.users.township_a, lead=world.department)
    assert case.state == CaseState.DISPATCHED
    case = services.dispatch(patrol_case(world), by=world.users.county, lead=world.county.town_a)
    assert case.lead_assignment.unit == world.county.town_a


def test_without_a_list_in_force_nothing_is_restricted(world):
    assert admission.keeper_in_force(world.county.village_a) is None
    case = services.dispatch(patrol_case(world), by=world.users.township_a, lead=world.county.village_a)
    assert case.lead_assignment.unit == world.county.village_a


def test_an_admitted_category_and_a_top_category_admit_the_dispatch(world, county_list):
    admission.add_item(
        keeper=world.county.county,
        category=world.top_category,
        by=world.users.county,
        basis=AdmissionBasis.SUPERIOR,
    )
    case = services.dispatch(patrol_case(world), by=world.users.township_a, lead=world.county.village_a)
    assert case.state == CaseState.DISPATCHED  # 9901 comes in through its top category 99


def test_a_co_handler_grid_is_checked_too(world, county_list):
    with pytest.raises(ValidationError) as excinfo:
        services.dispatch(
            patrol_case(world),
            by=world.users.township_a,
            lead=world.department,
            co_handlers=[world.county.grid_a1],
        )
    assert world.category.name in refusal(excinfo, "co_handlers")


def test_the_nearest_list_is_in_force(world, county_list):
    town_a, county = world.county.town_a, world.county.county
    admission.add_item(
        keeper=town_a, category=world.category, by=world.users.township_a, basis=AdmissionBasis.APPROVED
    )
    assert admission.keeper_in_force(world.county.cell_a11) == town_a
    assert admission.keeper_in_force(world.county.grid_b1) == county  # 乙镇 keeps none: the county's
    case = services.dispatch(patrol_case(world), by=world.users.township_a, lead=world.county.village_a)
    assert case.state == CaseState.DISPATCHED
    other = patrol_case(world, by=world.users.grid_worker_b, point=world.point_b1)
    with pytest.raises(ValidationError) as excinfo:
        services.dispatch(other, by=world.users.township_b, lead=world.county.village_b)
    assert "测试县" in refusal(excinfo)

    # 甲镇's own list replaces the county's for its villages: 邻里纠纷 is not on it.
    neighbours = patrol_case(world, category=Category.objects.get(code="0101"))
    with pytest.raises(ValidationError) as excinfo:
        services.dispatch(neighbours, by=world.users.township_a, lead=world.county.village_a)
    assert "甲镇" in refusal(excinfo) and "邻里纠纷" in refusal(excinfo)


def test_a_request_approved_by_the_keeper_lets_the_dispatch_through(world, county_list):
    users, case = world.users, patrol_case(world)
    request = admission.request_admission(
        keeper=world.county.county,
        category=world.category,
        by=users.township_a,
        reason="路灯维护需网格巡查",
        case=case,
    )
    assert request.status == AdmissionRequestStatus.PENDING and request.requesting_unit == world.county.town_a
    assert Notification.objects.filter(
        recipient=users.county, url__contains=world.county.county.code
    ).exists()
    with pytest.raises(ValidationError):  # until approved, still refused
        services.dispatch(case, by=users.township_a, lead=world.county.village_a)

    with pytest.raises(PermissionDenied):
        admission.decide_request(request, by=users.township_a, approve=True)  # not the keeper
    admission.decide_request(request, by=users.county, approve=True, note="同意纳入")
    request.refresh_from_db()
    assert request.status == AdmissionRequestStatus.APPROVED and request.decided_by == users.county
    item = AdmissionItem.objects.get(keeper=world.county.county, category=world.category)
    assert item.basis == AdmissionBasis.APPROVED and item.request == request and item.added_by == users.county
    assert Notification.objects.filter(recipient=users.township_a, case=case).exists()
    assert [e.action for e in history_for(request)] == [ChangeAction.UPDATE, ChangeAction.CREATE]

    case = services.dispatch(case, by=users.township_a, lead=world.county.village_a)
    assert case.state == CaseState.DISPATCHED
    with pytest.raises(ValidationError) as excinfo:
        admission.decide_request(request, by=users.county, approve=False, note="再议")
    assert "status" in excinfo.value.message_dict


def test_a_refused_request_keeps_the_dispatch_refused(world, county_list):
    users = world.users
    request = admission.request_admission(
        keeper=world.county.county, category=world.category, by=users.township_a, reason="需要网格协助"
    )
    with pytest.raises(ValidationError) as excinfo:
        admission.decide_request(request, by=users.county, approve=False)
    assert "decision_note" in excinfo.value.message_dict
    admission.decide_request(request, by=users.county, approve=False, note="属部门职责，不纳入网格")
    request.refresh_from_db()
    assert request.status == AdmissionRequestStatus.REFUSED
    assert Notification.objects.filter(recipient=users.township_a, body="属部门职责，不纳入网格").exists()
    with pytest.raises(ValidationError):
        services.dispatch(patrol_case(world), by=users.township_a, lead=world.county.village_a)
    # Refused, it may be asked again.
    again = admission.request_admission(
        keeper=world.county.county, category=world.category, by=users.township_a, reason="情况有变"
    )
    assert again.status == AdmissionRequestStatus.PENDING


def test_one_pending_request_per_keeper_and_category(world, county_list):
    admission.request_admission(
        keeper=world.county.county, category=world.category, by=world.users.township_a, reason="一"
    )
    with pytest.raises(ValidationError) as excinfo:
        admission.request_admission(
            keeper=world.county.county, category=world.category, by=world.users.township_b, reason="二"
        )
    assert "township_a" in excinfo.value.message_dict["category"][0]
    assert AdmissionRequest.objects.count() == 1


def test_who_may_request(world, county_list):
    county, users = world.county.county, world.users
    request = admission.request_admission(
        keeper=county, category=world.category, by=users.department, reason="应急巡查"
    )
    assert request.requesting_department == world.department
    for user in (users.grid_worker, users.village_a, users.outsider):  # no dispatching right, or no post
        with pytest.raises(PermissionDenied):
            admission.request_admission(keeper=county, category=world.top_category, by=user, reason="x")
    with pytest.raises(PermissionDenied):  # 乙镇 dispatches under the county's list, not under 甲镇's
        admission.request_admission(
            keeper=world.county.town_a, category=world.category, by=users.township_b, reason="x"
        )


def test_who_keeps_a_list_and_what_it_holds(world, county_list):
    users, county = world.users, world.county
    with pytest.raises(PermissionDenied):
        admission.add_item(keeper=county.county, category=world.category, by=users.township_a, basis="law")
    with pytest.raises(PermissionDenied):
        admission.add_item(keeper=county.town_a, category=world.category, by=users.township_b, basis="law")
    admission.add_item(keeper=county.town_a, category=world.top_category, by=users.county, basis="superior")
    with pytest.raises(ValidationError) as excinfo:  # the county keeps its own list, not a village's
        admission.add_item(keeper=county.village_a, category=world.category, by=users.county, basis="law")
    assert "keeper" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:  # admitted through its top category already
        admission.add_item(keeper=county.town_a, category=world.category, by=users.county, basis="law")
    assert world.top_category.name in excinfo.value.message_dict["category"][0]
    with pytest.raises(ValidationError) as excinfo:
        admission.add_item(keeper=county.county, category=world.category, by=users.county, basis="whim")
    assert "basis" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        admission.request_admission(
            keeper=county.county, category=Category.objects.get(code="0101"), by=users.township_a, reason="x"
        )
    assert "category" in excinfo.value.message_dict

    pk = county_list.pk
    admission.remove_item(county_list, by=users.county)
    assert admission.keeper_in_force(county.village_b) is None  # the county's list is empty again
    removed = ChangeLog.objects.filter(object_id=str(pk), object_repr__contains="邻里纠纷").first()
    assert removed.action == ChangeAction.DELETE and removed.changes["before"]["basis"] == "law"


# --- the API ------------------------------------------------------------------------------------------------


def test_the_api_dispatch_answers_400_naming_the_lead(world, county_list):
    case = patrol_case(world)
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=world.users.township_a.pk))
    url = f"/api/v1/cases/{case.pk}/dispatch/"
    response = client.post(url, {"lead": {"unit": world.county.village_a.code}}, format="json")
    assert response.status_code == 400
    assert response.json()["lead"] == [admission.refusal_message(world.category, world.county.county)]
    response = client.post(url, {"lead": {"department": world.department.code}}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "dispatched"


def test_the_case_page_shows_the_refusal_on_the_lead_field(world, county_list, login):
    case = patrol_case(world)
    case = services.escalate(case, by=world.users.grid_worker, reason="需要协调")
    case = services.escalate(case, by=world.users.grid_leader, reason="需要协调")
    case = services.escalate(case, by=world.users.village_a, reason="超出村级能力")  # now in 甲镇's queue
    client = login(world.users.township_a)
    response = client.post(
        f"/cases/{case.pk}/act/dispatch/",
        {"lead": f"u:{world.county.village_a.pk}", "expected_version": case.version},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="field has-error" data-field="lead"' in page
    assert admission.refusal_message(world.category, world.county.county) in page
