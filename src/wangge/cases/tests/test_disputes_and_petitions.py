"""What the dispute and petition KPIs need from each case (CASE-13, CASE-14): a dispute's mediation
outcome with its result, a petition's channel at registration, and the categories that are which."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from wangge.cases import services
from wangge.cases.choices import ActionKind, CaseState, Source, StatisticsGroup
from wangge.cases.models import Case, Category
from wangge.cases.testing import patrol_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def dispute():
    return Category.objects.get(code="0101")  # 矛盾纠纷 › 邻里纠纷


@pytest.fixture
def petition():
    return Category.objects.get(code="1701")  # 信访与维稳 › 信访事项登记


def test_the_shipped_categories_put_disputes_and_petitions_in_their_groups():
    assert Category.objects.get(code="01").statistics_group == StatisticsGroup.DISPUTE
    # Every 小类 of 矛盾纠纷 counts as a dispute through its 大类.
    assert {c.group for c in Category.objects.filter(parent__code="01")} == {StatisticsGroup.DISPUTE}
    petitions = Category.objects.filter(statistics_group=StatisticsGroup.PETITION)
    assert sorted(petitions.values_list("code", flat=True)) == ["1701", "1702", "1705"]
    # 群体性事件苗头 is under 信访与维稳 but is not a petition received.
    assert Category.objects.get(code="1703").group == ""


def test_a_dispute_handled_in_place_records_whether_mediation_succeeded(world, dispute):
    case = patrol_case(world, category=dispute)
    with pytest.raises(ValidationError) as refused:
        services.handle_in_place(case, by=world.users.grid_worker, result="双方各退一步")
    assert "mediation_outcome" in refused.value.message_dict
    assert Case.objects.get(pk=case.pk).state == CaseState.REGISTERED  # nothing half-written

    case = services.handle_in_place(
        case, by=world.users.grid_worker, result="双方各退一步", mediation_outcome="succeeded"
    )
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED and case.mediation_outcome == "succeeded"
    action = case.actions.get(kind=ActionKind.HANDLE_IN_PLACE)
    assert action.data == {"mediation_outcome": "succeeded"}


def test_only_a_dispute_has_a_mediation_outcome(world):
    case = patrol_case(world)  # 测试小类, no group
    with pytest.raises(ValidationError) as refused:
        services.handle_in_place(
            case, by=world.users.grid_worker, result="已修复", mediation_outcome="succeeded"
        )
    assert "mediation_outcome" in refused.value.message_dict
    with pytest.raises(ValidationError) as unknown:
        services.handle_in_place(case, by=world.users.grid_worker, result="已修复", mediation_outcome="maybe")
    assert "maybe" in unknown.value.message_dict["mediation_outcome"][0]


def test_a_dispatched_dispute_submits_its_outcome_through_the_page(world, dispute, login):
    case = patrol_case(world, category=dispute)
    case = services.escalate(case, by=world.users.grid_worker, reason="需要协调")
    case = services.escalate(case, by=world.users.grid_leader, reason="需要协调")
    case = services.escalate(case, by=world.users.village_a, reason="超出村级能力")
    case = services.dispatch(case, by=world.users.township_a, lead=world.department)
    case = services.accept(case, by=world.users.department)
    client = login(world.users.department)
    page = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert 'name="mediation_outcome"' in page and "调解成功" in page

    url = reverse("cases:act", args=[case.pk, "submit"])
    missing = client.post(url, {"expected_version": case.version, "result": "已组织调解"})
    assert missing.status_code in (200, 400) and Case.objects.get(pk=case.pk).state == CaseState.HANDLING
    assert "调解" in missing.content.decode()

    client.post(
        url, {"expected_version": case.version, "result": "已组织调解", "mediation_outcome": "failed"}
    )
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED and case.mediation_outcome == "failed"
    detail = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert 'data-outcome="failed"' in detail


def test_the_result_form_of_another_case_does_not_ask_about_mediation(world, login):
    case = patrol_case(world)
    page = login(world.users.grid_worker).get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert 'name="mediation_outcome"' not in page


def test_a_petition_takes_its_channel_from_a_source_that_tells(world, petition):
    by_grid_worker = patrol_case(world, category=petition)  # raised with the grid worker in person
    assert by_grid_worker.petition_channel == "visit"
    resident, _ = services.report_case(
        reporter=None, source=Source.RESIDENT, description="要求解决土地补偿问题", lng=108.02, lat=31.05
    )
    resident = services.verify(resident, by=world.users.grid_worker, note="属实")
    resident = services.register(resident, by=world.users.grid_worker, category=petition)
    assert resident.petition_channel == "online"
    action = resident.actions.get(kind=ActionKind.REGISTER)
    assert action.data["petition_channel"] == "online"


def test_a_petition_from_above_must_say_how_it_came(world, petition):
    case = patrol_case(world, source=Source.HIGHER_LEVEL, register=False)
    with pytest.raises(ValidationError) as refused:
        services.register(case, by=world.users.grid_worker, category=petition)
    message = refused.value.message_dict["petition_channel"][0]
    assert "Assigned by the level above" in message or "上级交办" in message
    assert Case.objects.get(pk=case.pk).state == CaseState.REPORTED

    case = services.register(case, by=world.users.grid_worker, category=petition, petition_channel="letter")
    assert case.petition_channel == "letter"


def test_only_a_petition_records_a_channel(world):
    case = patrol_case(world, register=False)
    with pytest.raises(ValidationError) as refused:
        services.register(case, by=world.users.grid_worker, petition_channel="online")
    assert "petition_channel" in refused.value.message_dict
    assert services.register(case, by=world.users.grid_worker).petition_channel == ""


def test_the_api_takes_and_shows_both(world, api, dispute, petition):
    client = api(world.users.grid_worker)
    case = patrol_case(world, source=Source.HIGHER_LEVEL, register=False)
    refused = client.post(
        f"/api/v1/cases/{case.pk}/register/",
        {"category": "1701", "expected_version": case.version},
        format="json",
    )
    assert refused.status_code == 400 and "petition_channel" in refused.json()
    done = client.post(
        f"/api/v1/cases/{case.pk}/register/",
        {"category": "1701", "petition_channel": "online", "expected_version": case.version},
        format="json",
    )
    assert done.status_code == 200, done.json()
    assert client.get(f"/api/v1/cases/{case.pk}/").json()["petition_channel"] == "online"

    quarrel = patrol_case(world, category=dispute)
    body = {"result": "已调解", "expected_version": quarrel.version}
    missing = client.post(f"/api/v1/cases/{quarrel.pk}/handle_in_place/", body, format="json")
    assert missing.status_code == 400 and "mediation_outcome" in missing.json()
    body["mediation_outcome"] = "succeeded"
    assert client.post(f"/api/v1/cases/{quarrel.pk}/handle_in_place/", body, format="json").status_code == 200
    assert client.get(f"/api/v1/cases/{quarrel.pk}/").json()["mediation_outcome"] == "succeeded"
