"""The demo's admission list: what the demo dispatches to villages is admitted; two requests wait."""

import datetime

import pytest

from wangge.cases import admission, services
from wangge.cases.admission_demo import build_admission_demo
from wangge.cases.choices import AdmissionRequestStatus
from wangge.cases.models import AdmissionItem, AdmissionRequest, Category
from wangge.cases.testing import patrol_case

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 20)


def test_the_county_list_admits_the_demos_grid_work_and_two_requests_wait(world):
    dispatched = services.dispatch(patrol_case(world), by=world.users.township_a, lead=world.county.village_a)
    counts = build_admission_demo(3, TODAY)
    county = world.county.county
    assert counts["items"] == AdmissionItem.objects.filter(keeper=county).count() > 0
    assert admission.keeper_in_force(world.county.cell_a11) == county
    assert admission.admits(county, dispatched.category)  # what the history gave a village is admitted
    assert admission.admits(county, Category.objects.get(code="0101"))  # 邻里纠纷: grid level
    assert not admission.admits(county, Category.objects.get(code="1201"))  # 涉恐涉暴线索: the police's
    pending = AdmissionRequest.objects.filter(status=AdmissionRequestStatus.PENDING)
    assert counts["pending_requests"] == pending.count() == 2
    assert {r.requested_by.username for r in pending} == {"township_a", "department"}
    assert all(not admission.admits(county, r.category) for r in pending)
    # The demo's dispatches keep working under the list.
    again = services.dispatch(patrol_case(world), by=world.users.township_a, lead=world.county.village_a)
    assert again.lead_assignment.unit == world.county.village_a
