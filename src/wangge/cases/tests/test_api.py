"""The case loop over the REST API (issue 3 "API and rules"): every step, its refusals, idempotent
create, photo uploads, scope isolation, and the public resident endpoints with their rate limits."""

import io
import re
import uuid

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from wangge.cases import policy
from wangge.cases.choices import ActionKind, CaseState, Rating, Source
from wangge.cases.models import Case, CaseAttachment, Category
from wangge.cases.serializers import STEPS, api_steps
from wangge.cases.testing import patrol_case
from wangge.notices.models import Notification
from wangge.people.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    """`api(user)`: an APIClient signed in as a fresh copy of `user`; `api()` is anonymous."""

    def _api(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(User.objects.get(pk=user.pk))
        return client

    return _api


@pytest.fixture(autouse=True)
def media_and_throttles(settings, tmp_path):
    """Uploads go to a throwaway media root; throttle counters start from zero in every test."""
    settings.MEDIA_ROOT = tmp_path
    cache.clear()
    yield
    cache.clear()


def url(case=None, step=None):
    if case is None:
        return "/api/v1/cases/"
    pk = case if isinstance(case, int) else case.pk
    return f"/api/v1/cases/{pk}/{step}/" if step else f"/api/v1/cases/{pk}/"


def post(client, case, step, **body):
    return client.post(url(case, step), body, format="json")


def png(name="photo.png", size=(2, 2)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


def report_body(**extra):
    body = {
        "uuid": str(uuid.uuid4()),
        "source": "patrol",
        "description": "路灯损坏，夜间行人有安全隐患",
        "category": "9901",
        "lng": 108.02,
        "lat": 31.05,
    }
    body.update(extra)
    return body


def to_township(world, api):
    """A grid worker's find escalated level by level up to 甲镇 through the API."""
    users = world.users
    case = patrol_case(world)
    for user in (users.grid_worker, users.grid_leader, users.village_a):
        response = post(api(user), case, "escalate", reason="超出本级处置能力")
        assert response.status_code == 200, response.json()
    case.refresh_from_db()
    assert case.owner_unit == world.county.town_a
    return case


# --- listing and reading --------------------------------------------------------------------------


def test_the_list_is_scoped_village_b_sees_none_of_village_as_cases(world, api):
    """DESIGN scope: every list passes through Case.objects.visible_to."""
    in_a = patrol_case(world)
    in_b = patrol_case(world, by=world.users.grid_worker_b, point=world.point_b1)
    assert ids(api(world.users.village_b).get(url())) == {in_b.pk}
    assert ids(api(world.users.village_a).get(url())) == {in_a.pk}
    assert ids(api(world.users.county).get(url())) == {in_a.pk, in_b.pk}


def test_the_department_sees_only_cases_assigned_to_it(world, api):
    case = to_township(world, api)
    patrol_case(world)  # another case in the same grid, never dispatched
    department = api(world.users.department)
    assert ids(department.get(url())) == set()
    response = post(api(world.users.township_a), case, "dispatch", lead={"department": "yingji"})
    assert response.status_code == 200, response.json()
    assert ids(department.get(url())) == {case.pk}
    assert ids(api(world.users.police).get(url())) == set()


def test_the_list_takes_the_desk_filters(world, api):
    registered = patrol_case(world)
    reported = patrol_case(world, register=False, point=world.point_a12)
    client = api(world.users.county)
    assert ids(client.get(url(), {"state": "registered"})) == {registered.pk}
    assert ids(client.get(url(), {"state": "reported"})) == {reported.pk}
    assert ids(client.get(url(), {"unit": world.county.cell_a12.code})) == {reported.pk}
    assert ids(client.get(url(), {"q": registered.number})) == {registered.pk}
    row = client.get(url(), {"q": registered.number}).json()["results"][0]
    assert row["state"] == "registered" and row["deadline_status"] == "green"
    assert row["unit"] == {"code": world.county.cell_a11.code, "name": "一格"}


def test_detail_shows_version_deadline_timeline_and_the_callers_next_steps(world, api):
    case = patrol_case(world)
    data = api(world.users.grid_worker).get(url(case)).json()
    assert data["number"] == case.number and data["version"] == case.version
    assert data["state"] == "registered" and data["deadline_status"] == "green"
    assert [step["step"] for step in data["timeline"]] == ["report", "register"]
    assert data["timeline"][0]["actor"]["username"] == "grid_worker"
    assert "handle_in_place" in data["allowed_actions"] and "escalate" in data["allowed_actions"]
    assert "dispatch" not in data["allowed_actions"]
    township = api(world.users.township_a).get(url(case)).json()
    assert "dispatch" in township["allowed_actions"]


def test_a_case_in_another_village_answers_404_like_a_missing_one(world, api):
    case = patrol_case(world)
    client = api(world.users.village_b)
    assert client.get(url(case)).status_code == 404
    assert client.get(url(999999)).status_code == 404
    response = post(api(world.users.grid_worker_b), case, "handle_in_place", result="已处理")
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.state == CaseState.REGISTERED


def test_anonymous_and_postless_callers_are_refused(world, api):
    case = patrol_case(world)
    assert api().get(url()).status_code == 401
    assert api(world.users.outsider).get(url(case)).status_code == 403
    assert api(world.users.outsider).post(url(), report_body(), format="json").status_code == 403


# --- reporting ------------------------------------------------------------------------------------


def test_report_answers_201_and_a_retry_with_the_same_uuid_answers_200_with_the_same_case(world, api):
    """DESIGN idempotency: a retry after a lost connection never makes a second record."""
    client = api(world.users.grid_worker)
    body = report_body(register_now=True)
    first = client.post(url(), body, format="json")
    assert first.status_code == 201, first.json()
    assert first["Location"] == first.json()["url"]
    assert (
        first.json()["state"] == "registered" and first.json()["unit"]["code"] == world.county.cell_a11.code
    )
    again = client.post(url(), {**body, "description": "重发"}, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Case.objects.count() == 1
    stranger = api(world.users.grid_leader).post(url(), body, format="json")
    assert stranger.status_code == 400 and "uuid" in stranger.json()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"description": ""}, "description"),
        ({"uuid": "not-a-uuid"}, "uuid"),
        ({"category": "7777"}, "category"),
        ({"category": "99"}, "category"),  # a top category: cases take a subcategory
        ({"severity": "apocalyptic"}, "severity"),
        ({"lng": 109.5, "lat": 31.1}, "location"),  # outside every grid
        ({"lng": None, "lat": None, "unit": "500229101001"}, "unit"),  # 乙一村: not the worker's area
        ({"households": ["nope"]}, "households"),
    ],
)
def test_bad_report_input_answers_400_naming_the_field(world, api, change, field):
    response = api(world.users.grid_worker).post(url(), report_body(**change), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Case.objects.exists()


def test_a_point_outside_every_grid_is_attached_to_the_own_unit_on_request(world, api):
    body = report_body(lng=109.5, lat=31.1, attach_to_own_unit=True)
    response = api(world.users.grid_worker).post(url(), body, format="json")
    assert response.status_code == 201
    assert response.json()["unit"]["code"] == world.county.cell_a11.code


def test_a_report_by_unit_code_without_a_point(world, api):
    body = report_body(lng=None, lat=None, unit=world.county.cell_a12.code, source="hotline")
    response = api(world.users.village_a).post(url(), body, format="json")
    assert response.status_code == 201
    assert response.json()["unit"]["code"] == world.county.cell_a12.code
    assert response.json()["state"] == "reported"


# --- photos ---------------------------------------------------------------------------------------


def test_a_real_image_is_accepted_with_its_kind_and_gps(world, api, login):
    body = report_body(photos=[png("streetlamp.png"), png("b.png")], photo_kinds=["photo", "before"])
    body["photo_lngs"] = ["108.021", ""]  # the second photo was taken without a GPS fix
    body["photo_lats"] = ["31.051", ""]
    response = api(world.users.grid_worker).post(url(), body, format="multipart")
    assert response.status_code == 201, response.json()
    photos = response.json()["timeline"][0]["attachments"]
    assert [p["kind"] for p in photos] == ["photo", "before"]
    assert photos[0]["lng"] == 108.021 and photos[1]["lng"] is None
    stored = list(CaseAttachment.objects.order_by("id"))
    assert re.fullmatch(r"cases/\d{4}/\d{2}/[0-9a-f]{32}\.png", stored[0].image.name)  # generated names
    link = reverse("cases:attachment", args=[response.json()["id"], photos[0]["id"]])
    assert photos[0]["url"] == f"http://testserver{link}"
    image = login(world.users.grid_worker).get(link)
    assert image.status_code == 200 and image["Content-Type"] == "image/png"


def test_a_text_file_is_refused_on_photos(world, api):
    text = SimpleUploadedFile("notes.png", b"just some text", content_type="image/png")
    response = api(world.users.grid_worker).post(url(), report_body(photos=[text]), format="multipart")
    assert response.status_code == 400
    assert "photos" in response.json()
    assert not Case.objects.exists() and not CaseAttachment.objects.exists()


def test_an_oversize_image_is_refused_on_photos(world, api, settings):
    settings.WANGGE_MAX_UPLOAD_BYTES = 20
    response = api(world.users.grid_worker).post(url(), report_body(photos=[png()]), format="multipart")
    assert response.status_code == 400
    assert "photos" in response.json()
    assert not Case.objects.exists()


def test_photo_details_need_one_value_per_photo(world, api):
    body = report_body(photos=[png()], photo_kinds=["before", "after"])
    response = api(world.users.grid_worker).post(url(), body, format="multipart")
    assert response.status_code == 400
    assert "photo_kinds" in response.json()


def test_a_step_takes_photos_as_multipart(world, api):
    case = patrol_case(world)
    body = {"result": "已修复", "photos": [png()], "photo_kinds": ["after"]}
    response = api(world.users.grid_worker).post(url(case, "handle_in_place"), body, format="multipart")
    assert response.status_code == 200, response.json()
    assert response.json()["timeline"][-1]["attachments"][0]["kind"] == "after"
    assert CaseAttachment.objects.get().action.kind == ActionKind.HANDLE_IN_PLACE


# --- the steps ------------------------------------------------------------------------------------


def test_every_policy_action_has_an_endpoint_documented_with_its_own_body(db, client):
    assert set(api_steps(policy.RULES)) == set(STEPS)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    bodies = set()
    for step in STEPS:
        operation = schema["paths"][f"/api/v1/cases/{{id}}/{step}/"]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        bodies.add(body)
        assert set(operation["responses"]) >= {"200", "400", "403", "404", "409"}
        assert "expected_version" in schema["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]
    assert len(bodies) == len(STEPS)
    for path in [
        "/api/v1/cases/",
        "/api/v1/categories/",
        "/api/v1/notifications/",
        "/api/v1/notifications/read/",
        "/api/v1/public/units/{code}/reports/",
        "/api/v1/public/track/{code}/",
        "/api/v1/public/track/{code}/rate/",
    ]:
        assert path in schema["paths"]


def test_handled_in_place_then_published(world, api):
    case = patrol_case(world)
    response = post(api(world.users.grid_worker), case, "handle_in_place", result="已更换灯泡")
    assert response.status_code == 200
    data = response.json()
    assert data["state"] == "closed" and data["resolved_in_place"] and data["resolved_level"] == "grid"
    assert data["version"] == case.version + 1
    response = post(api(world.users.village_a), case, "publish", summary="一组路灯损坏已修复")
    assert response.status_code == 200
    assert response.json()["public_summary"] == "一组路灯损坏已修复"


def test_whistle_dispatch_through_to_close_rating_and_reopen(world, api):
    """CASE-8 … CASE-11 over the API: dispatch with a co-handler, report back, extension, urge,
    submit, failed and passed check, rating, reopening."""
    users = world.users
    case = to_township(world, api)
    township, department, police = api(users.township_a), api(users.department), api(users.police)

    response = post(
        township,
        case,
        "dispatch",
        lead={"department": "yingji"},
        co_handlers=[{"department": "gongan"}],
        instructions="请现场处置",
    )
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["state"] == "dispatched"
    assert [(a["assignee"]["department"], a["is_lead"]) for a in data["assignments"]] == [
        ("yingji", True),
        ("gongan", False),
    ]
    assert api(users.department).get(url(case)).json()["allowed_actions"][:2] == ["accept", "return"]

    assert post(department, case, "accept").json()["state"] == "handling"
    assert post(police, case, "report_back", note="已配合疏导交通").status_code == 200
    response = post(department, case, "request_extension", working_days=2, reason="需采购材料")
    assert response.status_code == 200 and response.json()["extensions"][0]["status"] == "pending"
    response = post(township, case, "decide_extension", approve=True, note="同意")
    assert response.json()["extension_count"] == 1
    response = post(api(users.county), case, "urge", level="yellow", note="请加快")
    assert response.json()["urge_level"] == "yellow"

    assert post(department, case, "submit", result="已整改").json()["state"] == "submitted"
    response = post(township, case, "check", passed=False, note="仍有隐患")
    assert response.json()["state"] == "handling" and response.json()["rework_count"] == 1
    post(department, case, "submit", result="彻底整改")
    response = post(api(users.grid_worker), case, "check", passed=True, note="现场核查通过")
    assert response.json()["state"] == "closed"

    response = post(api(users.grid_worker), case, "rate", rating="unsatisfied", comment="问题依旧")
    assert response.json()["rating"] == "unsatisfied"
    response = post(township, case, "reopen", note="群众不满意，重新派单")
    assert response.status_code == 200
    assert response.json()["state"] == "registered" and response.json()["reopen_count"] == 1
    steps = [step["step"] for step in response.json()["timeline"]]
    assert steps[-6:] == ["submit", "check_fail", "submit", "check_pass", "rate", "reopen"]


def test_dispatch_to_a_unit_by_code_and_return(world, api):
    case = to_township(world, api)
    township = api(world.users.township_a)
    response = post(township, case, "dispatch", lead={"unit": world.county.village_a.code})
    assert response.status_code == 200
    assert response.json()["assignments"][0]["assignee"]["unit"] == world.county.village_a.code
    response = post(api(world.users.village_a), case, "return", reason="不属于本村职责")
    assert response.status_code == 200
    data = response.json()
    assert data["state"] == "registered" and data["return_count"] == 1 and data["wrong_dispatch_count"] == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "lead"),
        ({"lead": {"department": "nope"}}, "lead"),
        ({"lead": {"unit": "500229100001", "department": "yingji"}}, "lead"),
        ({"lead": {"unit": "500229101001"}}, "lead"),  # 乙一村: outside 甲镇
        ({"lead": {"department": "yingji"}, "co_handlers": [{"department": "nope"}]}, "co_handlers"),
        ({"lead": {"department": "yingji"}, "co_handlers": [{"department": "yingji"}]}, "co_handlers"),
        ({"lead": {"department": "yingji"}, "due_at": "2020-01-01T12:00:00+08:00"}, "due_at"),
    ],
)
def test_bad_dispatch_input_answers_400_naming_the_field(world, api, body, field):
    case = to_township(world, api)
    response = post(api(world.users.township_a), case, "dispatch", **body)
    assert response.status_code == 400
    assert field in response.json()
    case.refresh_from_db()
    assert case.state == CaseState.REGISTERED and not case.assignments.exists()


def test_long_term_management_hold_follow_up_resume(world, api):
    case = patrol_case(world)
    county = api(world.users.county)
    assert post(county, case, "hold", reason="历史遗留问题").json()["state"] == "on_hold"
    response = post(api(world.users.grid_worker), case, "follow_up", note="每月走访一次")
    assert response.json()["timeline"][-1]["step"] == "follow_up"
    assert post(county, case, "resume", note="条件成熟").json()["state"] == "registered"


def test_resident_report_is_verified_registered_or_rejected_as_a_duplicate(world, api):
    code = world.county.cell_a11.code
    first = api().post(public_report_url(code), {"uuid": str(uuid.uuid4()), "description": "楼道堆放杂物"})
    second = api().post(public_report_url(code), {"uuid": str(uuid.uuid4()), "description": "楼道又堆杂物"})
    original, duplicate = Case.objects.order_by("id")
    worker = api(world.users.grid_worker)
    assert first.status_code == 201 and second.status_code == 201
    assert "register" not in worker.get(url(original)).json()["allowed_actions"]
    assert post(worker, original, "verify", note="现场确认").json()["state"] == "verified"
    response = post(worker, original, "register", category="9901", severity="major")
    assert response.json()["state"] == "registered" and response.json()["severity"] == "major"
    response = post(worker, duplicate, "reject", reason="duplicate", note="同一处", duplicate_of=original.pk)
    assert response.status_code == 200
    assert response.json()["rejection"] == {
        "reason": "duplicate",
        "reason_label": response.json()["rejection"]["reason_label"],
        "duplicate_of": original.pk,
    }


def test_reject_refuses_an_original_out_of_scope(world, api):
    resident = patrol_case(world, register=False, source=Source.HOTLINE)
    elsewhere = patrol_case(world, by=world.users.grid_worker_b, point=world.point_b1)
    response = post(
        api(world.users.grid_worker),
        resident,
        "reject",
        reason="duplicate",
        note="x",
        duplicate_of=elsewhere.pk,
    )
    assert response.status_code == 400 and "duplicate_of" in response.json()


# --- refusals -------------------------------------------------------------------------------------


def test_an_illegal_step_answers_409_with_the_allowed_steps(world, api):
    case = patrol_case(world)
    response = post(api(world.users.grid_worker), case, "accept")
    assert response.status_code == 409
    body = response.json()
    assert body["detail"]
    assert "handle_in_place" in body["allowed"] and "escalate" in body["allowed"]
    assert "accept" not in body["allowed"]


def test_a_stale_expected_version_answers_409_with_the_current_version(world, api):
    case = patrol_case(world)
    seen = case.version
    worker = api(world.users.grid_worker)
    assert post(worker, case, "escalate", reason="需要协调", expected_version=seen).status_code == 200
    response = post(api(world.users.grid_leader), case, "escalate", reason="需要协调", expected_version=seen)
    assert response.status_code == 409
    assert response.json()["version"] == seen + 1
    case.refresh_from_db()
    assert case.escalation_count == 1


def test_a_forbidden_step_answers_403(world, api):
    """The village sees the case but may not dispatch: only townships and the county do."""
    case = patrol_case(world)
    response = post(api(world.users.village_a), case, "dispatch", lead={"department": "yingji"})
    assert response.status_code == 403
    assert response.json()["detail"]


def test_missing_step_fields_answer_400_naming_them(world, api):
    case = patrol_case(world)
    worker = api(world.users.grid_worker)
    assert "result" in post(worker, case, "handle_in_place").json()
    assert "result" in post(worker, case, "handle_in_place", result="  ").json()  # the service's rule
    assert "reason" in post(worker, case, "escalate", reason="").json()
    assert "level" in post(api(world.users.county), case, "urge", level="purple", note="x").json()
    assert "expected_version" in post(worker, case, "escalate", reason="x", expected_version="v2").json()
    case.refresh_from_db()
    assert case.version == 2 and case.state == CaseState.REGISTERED


# --- public: residents without an account ---------------------------------------------------------


def public_report_url(code):
    return f"/api/v1/public/units/{code}/reports/"


def track_url(code):
    return f"/api/v1/public/track/{code}/"


def test_a_resident_reports_without_an_account_and_gets_only_a_tracking_code(world, api):
    body = {
        "uuid": str(uuid.uuid4()),
        "description": "小区门口井盖缺失",
        "reporter_name": "王阿姨",
        "photos": [png()],
    }
    response = api().post(public_report_url(world.county.village_a.code), body, format="multipart")
    assert response.status_code == 201, response.json()
    assert set(response.json()) == {"tracking_code"}
    case = Case.objects.get()
    assert response.json()["tracking_code"] == case.formatted_tracking_code
    assert case.source == Source.RESIDENT and case.reporter is None and case.reporter_name == "王阿姨"
    assert case.unit == world.county.village_a and case.state == CaseState.REPORTED
    assert case.attachments.count() == 1
    retry = {**body, "photos": [png()]}  # a retry sends the whole request again
    again = api().post(public_report_url(world.county.village_a.code), retry, format="multipart")
    assert again.status_code == 200 and again.json() == response.json()
    assert Case.objects.count() == 1


def test_a_resident_report_goes_to_the_grid_containing_its_point(world, api):
    body = {"uuid": str(uuid.uuid4()), "description": "路面塌陷", "lng": 108.07, "lat": 31.05}
    response = api().post(public_report_url(world.county.village_a.code), body, format="json")
    assert response.status_code == 201
    assert Case.objects.get().unit == world.county.cell_a12


def test_public_report_refusals(world, api):
    client = api()
    assert (
        client.post(public_report_url("999"), {"uuid": str(uuid.uuid4()), "description": "x"}).status_code
        == 404
    )
    response = client.post(public_report_url(world.county.village_a.code), {"uuid": str(uuid.uuid4())})
    assert response.status_code == 400 and "description" in response.json()
    staff_case = patrol_case(world, client_uuid=uuid.uuid4())
    response = client.post(
        public_report_url(world.county.village_a.code), {"uuid": str(staff_case.uuid), "description": "x"}
    )
    assert response.status_code == 400 and "uuid" in response.json()
    assert staff_case.tracking_code not in response.content.decode()


def test_tracking_shows_progress_without_names_notes_or_other_cases(world, api):
    users = world.users
    users.grid_worker.full_name = "李网格员"
    users.grid_worker.save()
    case = patrol_case(world, register=False, source=Source.HOTLINE)
    other = patrol_case(world, point=world.point_a12, description="另一件事")
    worker = api(users.grid_worker)
    post(worker, case, "verify", note="张三家门口，电话13812345678")
    post(worker, case, "register")
    post(api(users.county), case, "urge", level="red", note="内部督办意见")

    response = api().get(track_url(case.formatted_tracking_code.lower().replace("-", " ")))
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {
        "tracking_code",
        "title",
        "category",
        "state",
        "status",
        "timeline",
        "result",
        "due_at",
        "can_rate",
    }
    assert data["tracking_code"] == case.formatted_tracking_code
    assert data["category"] == "测试小类" and data["state"] == "registered" and data["status"]
    assert [step["step"] for step in data["timeline"]] == ["report", "verify", "register"]  # no 督办
    assert all(set(step) == {"step", "step_label", "time"} for step in data["timeline"])
    assert data["due_at"] and data["can_rate"] is False and data["result"] == ""
    text = response.content.decode()
    for secret in [
        "grid_worker",
        "李网格员",
        "张三",
        "13812345678",
        "内部督办",
        other.title,
        other.tracking_code,
    ]:
        assert secret not in text
    assert api().get(track_url("ZZZZ-ZZZZ")).status_code == 404


def test_a_resident_rates_a_closed_case_by_its_code_once(world, api):
    case = patrol_case(world)
    code = case.formatted_tracking_code
    rate = f"{track_url(code)}rate/"
    early = api().post(rate, {"rating": "satisfied"}, format="json")
    assert early.status_code == 409 and early.json()["allowed"] == []
    post(api(world.users.grid_worker), case, "handle_in_place", result="已更换灯泡")
    assert api().get(track_url(code)).json()["can_rate"] is True
    assert api().post(rate, {"rating": "great"}, format="json").json().keys() == {"rating"}
    response = api().post(rate, {"rating": "unsatisfied", "comment": "还是不亮"}, format="json")
    assert response.status_code == 200
    data = response.json()
    assert data["can_rate"] is False and data["result"] == "已更换灯泡"
    assert data["timeline"][-1]["step"] == "rate"
    case.refresh_from_db()
    assert case.rating == Rating.UNSATISFIED and case.rating_comment == "还是不亮"
    again = api().post(rate, {"rating": "satisfied"}, format="json")
    assert again.status_code == 409  # rated already: the step no longer exists


@pytest.fixture
def slow_public_rates(settings):
    settings.WANGGE_PUBLIC_REPORT_RATE = "2/min"
    settings.WANGGE_PUBLIC_TRACK_RATE = "2/min"


def test_public_reports_are_rate_limited(world, api, slow_public_rates):
    client = api()
    codes = []
    for _ in range(3):
        body = {"uuid": str(uuid.uuid4()), "description": "噪音扰民"}
        codes.append(client.post(public_report_url(world.county.village_a.code), body).status_code)
    assert codes == [201, 201, 429]
    assert Case.objects.count() == 2


def test_tracking_is_rate_limited(world, api, slow_public_rates):
    case = patrol_case(world)
    client = api()
    answers = [client.get(track_url(case.tracking_code)).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    # Guessing codes counts as well: an unknown code spends the same allowance.
    assert client.get(track_url("ZZZZZZZZ")).status_code == 429


def test_the_tracking_page_and_the_api_share_one_allowance(world, api, client, slow_public_rates):
    """Switching between the page and the API does not double what one address may try."""
    case = patrol_case(world)
    assert api().get(track_url(case.tracking_code)).status_code == 200
    assert client.get(reverse("public:tracking", args=[case.tracking_code])).status_code == 200
    assert api().get(track_url(case.tracking_code)).status_code == 429


def test_staff_endpoints_are_not_throttled_by_the_public_rates(world, api, slow_public_rates):
    client = api(world.users.grid_worker)
    assert all(client.get(url()).status_code == 200 for _ in range(4))


# --- categories and notifications -----------------------------------------------------------------


def test_categories_come_as_a_tree_of_those_in_use(world, api):
    Category.objects.create(code="9902", name="停用小类", parent=world.top_category, is_active=False)
    retired_top = Category.objects.create(code="98", name="停用大类", is_active=False)
    Category.objects.create(code="9801", name="孤儿小类", parent=retired_top)
    response = api(world.users.grid_worker).get("/api/v1/categories/")
    assert response.status_code == 200
    tree = {top["code"]: top for top in response.json()}
    assert "98" not in tree
    assert [child["code"] for child in tree["99"]["children"]] == ["9901"]
    assert tree["99"]["children"][0]["close_condition"] == "现场核查已整改"
    assert api().get("/api/v1/categories/").status_code == 401


def test_notifications_are_the_callers_own_and_can_be_marked_read(world, api):
    case = patrol_case(world, by=world.users.grid_worker_b, point=world.point_a11, register=False)
    assert Notification.objects.filter(recipient=world.users.grid_worker, case=case).exists()
    Notification.objects.create(recipient=world.users.village_b, kind="urged", title="not yours")
    client = api(world.users.grid_worker)
    inbox = client.get("/api/v1/notifications/", {"unread": "true"}).json()
    assert inbox["count"] == 1 and inbox["results"][0]["case"] == case.pk
    assert inbox["results"][0]["kind"] == "reported"
    response = client.post("/api/v1/notifications/read/", {}, format="json")
    assert response.json() == {"marked": 1}
    assert client.get("/api/v1/notifications/", {"unread": "true"}).json()["count"] == 0
    assert client.get("/api/v1/notifications/", {"unread": "false"}).json()["count"] == 1
    other = Notification.objects.get(recipient=world.users.village_b)
    client.post("/api/v1/notifications/read/", {"ids": [other.pk]}, format="json")
    other.refresh_from_db()
    assert other.read_at is None


def test_services_and_api_agree_on_the_refused_steps(world):
    """The 409's `allowed` uses the endpoint names: return, check (policy: return_, check_pass/fail)."""
    assert api_steps(["verify", "return_", "check_pass", "check_fail", "rate"]) == [
        "verify",
        "return",
        "check",
        "rate",
    ]


# --- query counts ---------------------------------------------------------------------------------


def count_queries(client, path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_list_and_detail_queries_do_not_grow_with_the_data(world, api):
    case = patrol_case(world)
    client = api(world.users.county)
    few_rows, short_timeline = count_queries(client, url()), count_queries(client, url(case))
    for _ in range(4):
        patrol_case(world)
    for user in (world.users.grid_worker, world.users.grid_leader, world.users.village_a):
        post(api(user), case, "escalate", reason="需要协调")
    post(
        api(world.users.township_a),
        case,
        "dispatch",
        lead={"department": "yingji"},
        co_handlers=[{"department": "gongan"}],
    )
    client = api(world.users.county)
    assert count_queries(client, url()) == few_rows
    assert count_queries(client, url(case)) == short_timeline
