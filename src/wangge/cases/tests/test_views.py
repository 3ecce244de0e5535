"""The desk pages of the case loop, through HTTP: scope of every route, every step's form end to end,
conflicts, batch dispatch, filters and the queue's query count (CASE-2 … CASE-11, DESIGN scope rules)."""

import datetime
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from wangge.cases import services
from wangge.cases import urls as case_urls
from wangge.cases.choices import ActionKind, AssignmentStatus, AttachmentKind, CaseState, Rating, Source
from wangge.cases.models import Case, CaseAction, CaseAttachment, Category
from wangge.cases.testing import patrol_case

pytestmark = pytest.mark.django_db

# Every route of the desk pages, by what it needs. The meta-test below fails when a route is added
# without joining the scope matrix.
LIST_ROUTES = ["queue", "assigned", "long_term"]
CASE_ROUTES = ["detail", "act", "attachment"]
POST_ROUTES = ["batch_dispatch"]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def png(name="photo.png", color=(200, 30, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), color).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def fresh(case):
    return Case.objects.get(pk=case.pk)


def act(client, case, action, data=None, **extra):
    """POST one step with the version the page would carry."""
    payload = {"expected_version": fresh(case).version, **(data or {})}
    return client.post(reverse("cases:act", args=[case.pk, action]), payload, **extra)


def to_township(world):
    case = patrol_case(world)
    case = services.escalate(case, by=world.users.grid_worker, reason="需要协调")
    case = services.escalate(case, by=world.users.grid_leader, reason="需要协调")
    return services.escalate(case, by=world.users.village_a, reason="超出村级能力")


def dispatched(world, **kwargs):
    case = to_township(world)
    return services.dispatch(case, by=world.users.township_a, lead=world.department, **kwargs)


def handling(world):
    return services.accept(dispatched(world), by=world.users.department)


@pytest.fixture
def case_with_photo(world):
    """A registered case in 甲一村's 一格 with one photo, seen by village_a and not by village_b."""
    return patrol_case(world, photos=[services.Photo(png())])


def route_url(route, case):
    if route in LIST_ROUTES or route in POST_ROUTES:
        return reverse(f"cases:{route}")
    if route == "detail":
        return reverse("cases:detail", args=[case.pk])
    if route == "act":
        return reverse("cases:act", args=[case.pk, "handle_in_place"])
    attachment = case.attachments.first()
    return reverse("cases:attachment", args=[case.pk, attachment.pk])


# ---------------------------------------------------------------------------------------------------
# The scope matrix


def test_the_scope_matrix_covers_every_case_route():
    # The admission list's routes have their own scope matrix in test_admission_views.py.
    admission_routes = [
        "admission",
        "admission_request",
        "admission_decide",
        "admission_add_item",
        "admission_remove_item",
    ]
    assert {p.name for p in case_urls.urlpatterns} == set(
        LIST_ROUTES + CASE_ROUTES + POST_ROUTES + admission_routes
    )


@pytest.mark.parametrize("route", LIST_ROUTES + CASE_ROUTES)
def test_a_village_admin_reads_their_own_case_by_every_route(case_with_photo, world, login, route):
    client = login(world.users.village_a)
    response = client.get(route_url(route, case_with_photo))
    assert response.status_code == 200


@pytest.mark.parametrize("route", CASE_ROUTES)
def test_another_villages_case_answers_404_by_every_route(case_with_photo, world, login, route):
    client = login(world.users.village_b)
    assert client.get(route_url(route, case_with_photo)).status_code == 404
    if route == "act":
        response = act(client, case_with_photo, "handle_in_place", {"result": "越权处置"})
        assert response.status_code == 404
        assert fresh(case_with_photo).state == CaseState.REGISTERED


@pytest.mark.parametrize("route", LIST_ROUTES)
def test_another_villages_case_is_on_none_of_their_lists(case_with_photo, world, login, route):
    client = login(world.users.village_b)
    response = client.get(route_url(route, case_with_photo), {"tab": "all"})
    assert response.status_code == 200
    assert reverse("cases:detail", args=[case_with_photo.pk]) not in response.content.decode()


def test_another_villages_case_cannot_be_dispatched_in_a_batch(case_with_photo, world, login):
    client = login(world.users.township_b)
    response = client.post(
        reverse("cases:batch_dispatch"),
        {"cases": [case_with_photo.pk], "lead": f"d:{world.department.pk}"},
        follow=True,
    )
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert len(errors) == 1 and f"#{case_with_photo.pk}" in errors[0]
    assert fresh(case_with_photo).state == CaseState.REGISTERED


@pytest.mark.parametrize("route", CASE_ROUTES)
def test_a_missing_case_looks_the_same_as_a_forbidden_one(case_with_photo, world, login, route):
    client = login(world.users.village_a)
    url = route_url(route, case_with_photo).replace(f"/{case_with_photo.pk}/", "/999999/", 1)
    assert client.get(url).status_code == 404


def test_a_missing_attachment_of_a_visible_case_is_404(case_with_photo, world, login):
    other = patrol_case(world, photos=[services.Photo(png())])
    client = login(world.users.village_a)
    foreign = other.attachments.first()
    # An attachment is served only under its own case.
    assert client.get(reverse("cases:attachment", args=[case_with_photo.pk, foreign.pk])).status_code == 404


@pytest.mark.parametrize("route", LIST_ROUTES + CASE_ROUTES + POST_ROUTES)
def test_a_user_without_a_post_is_refused(case_with_photo, world, login, route):
    client = login(world.users.outsider)
    url = route_url(route, case_with_photo)
    response = client.post(url, {"cases": [case_with_photo.pk]}) if route in POST_ROUTES else client.get(url)
    assert response.status_code == 403


@pytest.mark.parametrize("route", LIST_ROUTES + CASE_ROUTES + POST_ROUTES)
def test_anonymous_visitors_are_sent_to_sign_in(case_with_photo, client, route):
    url = route_url(route, case_with_photo)
    response = client.post(url) if route in POST_ROUTES else client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_batch_dispatch_takes_only_post(world, login):
    assert login(world.users.township_a).get(reverse("cases:batch_dispatch")).status_code == 405


def test_an_unknown_step_is_404(case_with_photo, world, login):
    client = login(world.users.village_a)
    assert client.get(reverse("cases:act", args=[case_with_photo.pk, "teleport"])).status_code == 404


def test_the_attachment_is_served_with_its_image_type(case_with_photo, world, login):
    client = login(world.users.village_a)
    response = client.get(route_url("attachment", case_with_photo))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "private" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    assert Image.open(io.BytesIO(body)).size == (4, 3)


def test_the_timeline_shows_small_versions_of_the_photos(world, login):
    big = io.BytesIO()
    Image.new("RGB", (1600, 1200), (20, 120, 40)).save(big, format="JPEG")
    case = patrol_case(world, photos=[services.Photo(SimpleUploadedFile("big.jpg", big.getvalue()))])
    client = login(world.users.village_a)
    url = reverse("cases:attachment", args=[case.pk, case.attachments.get().pk])
    assert f'src="{url}?size=thumb"' in client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    for _ in range(2):  # made once, then served from storage
        response = client.get(url, {"size": "thumb"})
        assert response["Content-Type"] == "image/jpeg"
        assert max(Image.open(io.BytesIO(b"".join(response.streaming_content))).size) == 256
    full = client.get(url)
    assert Image.open(io.BytesIO(b"".join(full.streaming_content))).size == (1600, 1200)


# ---------------------------------------------------------------------------------------------------
# The case page


def test_the_case_page_shows_facts_map_data_timeline_and_only_allowed_forms(case_with_photo, world, login):
    """CASE-2, CASE-7: number, code, category with its conditions, grid path, deadlines, the history."""
    case = case_with_photo
    client = login(world.users.grid_worker)
    response = client.get(reverse("cases:detail", args=[case.pk]))
    page = response.content.decode()
    assert case.number in page and case.formatted_tracking_code in page
    assert "测试小类" in page and "有明确地点和事实" in page and "现场核查已整改" in page
    assert "甲一村" in page and "一格" in page  # the grid's path
    assert 'id="case-map-data"' in page and '"point": [108.02, 31.05]' in page
    assert "<script>" not in page.replace('<script id="case-map-data" type="application/json">', "")
    assert 'data-deadline="green"' in page
    attachment = case.attachments.get()
    assert reverse("cases:attachment", args=[case.pk, attachment.pk]) in page
    assert "grid_worker" in page  # the reporter, and the actor of the timeline rows
    assert [f.action for f in response.context["action_forms"]] == ["handle_in_place", "escalate"]
    assert f'action="/cases/{case.pk}/act/handle_in_place/"' in page
    assert "/act/dispatch/" not in page  # a grid worker does not dispatch


def test_photo_inputs_open_the_camera_and_carry_the_gps_fields(world, login):
    case = handling(world)
    services.submit(case, by=world.users.department, result="已修复")
    page = login(world.users.grid_worker).get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert 'accept="image/*"' in page and 'capture="environment"' in page
    assert 'name="lng"' in page and 'name="lat"' in page and "data-geolocate" in page
    assert 'value="before"' in page and 'value="after"' in page
    assert "/act/check_fail/" in page  # the same form's second button


def test_a_residents_report_shows_their_given_name(world, login):
    case, _ = services.report_case(
        reporter=None,
        source=Source.RESIDENT,
        description="井盖丢失",
        lng=108.02,
        lat=31.05,
        reporter_name="王女士",
    )
    page = login(world.users.village_a).get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "王女士" in page
    assert case.formatted_tracking_code in page


def test_the_single_step_page_works_without_javascript(case_with_photo, world, login):
    client = login(world.users.grid_worker)
    response = client.get(reverse("cases:act", args=[case_with_photo.pk, "escalate"]))
    assert response.status_code == 200
    assert 'name="reason"' in response.content.decode()


# ---------------------------------------------------------------------------------------------------
# Every step through the view


def test_verify_then_register_a_residents_report(world, login):
    """CASE-1 筛选: verified on site, then registered with a category and a number."""
    case, _ = services.report_case(
        reporter=None,
        source=Source.RESIDENT,
        description="路面塌陷",
        lng=108.02,
        lat=31.05,
        reporter_name="李先生",
    )
    client = login(world.users.grid_worker)
    response = act(client, case, "verify", {"note": "现场确认", "photos": [png()]})
    assert response.status_code == 302 and response["Location"] == reverse("cases:detail", args=[case.pk])
    assert fresh(case).state == CaseState.VERIFIED
    response = act(client, case, "register", {"category": world.category.pk, "severity": "major", "note": ""})
    assert response.status_code == 302
    case = fresh(case)
    assert case.state == CaseState.REGISTERED and case.number and case.severity == "major"
    page = client.get(response["Location"]).content.decode()
    assert case.number in page  # and the success message names it
    assert case.actions.get(kind=ActionKind.VERIFY).attachments.count() == 1


def test_registration_offers_only_subcategories(world, login):
    case = patrol_case(world, register=False, category=None)
    client = login(world.users.grid_worker)
    response = act(client, case, "register", {"category": world.top_category.pk, "severity": "general"})
    assert response.status_code == 200
    assert 'class="field has-error" data-field="category"' in response.content.decode()
    assert fresh(case).state == CaseState.REPORTED


def test_handle_in_place_with_a_photo_closes_the_case(world, login):
    """CASE-6 小事不出网格."""
    case = patrol_case(world)
    client = login(world.users.grid_worker)
    response = act(client, case, "handle_in_place", {"result": "已更换灯泡", "photos": [png(), png("b.png")]})
    assert response.status_code == 302
    case = fresh(case)
    assert case.state == CaseState.CLOSED and case.resolved_in_place
    assert case.attachments.count() == 2


def test_escalate_moves_the_case_to_the_level_above(world, login):
    case = patrol_case(world)
    response = act(login(world.users.grid_worker), case, "escalate", {"reason": "需要村里协调"})
    assert response.status_code == 302
    assert fresh(case).owner_unit == world.county.grid_a1


def test_an_empty_reason_is_shown_on_its_field(world, login):
    case = patrol_case(world)
    response = act(login(world.users.grid_worker), case, "escalate", {"reason": "  "})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="action-escalate" open' in page
    assert 'class="field has-error" data-field="reason"' in page
    assert fresh(case).owner_unit == world.county.cell_a11


def test_dispatch_offers_units_below_and_departments_above_with_the_default_department(world, login):
    case = to_township(world)
    client = login(world.users.township_a)
    response = client.get(reverse("cases:detail", args=[case.pk]))
    form = next(f for f in response.context["action_forms"] if f.action == "dispatch")
    values = {value for _group, options in form.fields["lead"].choices[1:] for value, _label in options}
    assert f"d:{world.department.pk}" in values and f"d:{world.police.pk}" in values
    assert f"d:{world.township_office.pk}" in values  # the township's own office, at its level
    assert f"u:{world.county.village_a.pk}" in values and f"u:{world.county.grid_a1.pk}" in values
    assert f"u:{world.county.village_b.pk}" not in values and f"u:{world.county.town_a.pk}" not in values
    assert form.fields["lead"].initial == f"d:{world.department.pk}"  # the category's 县应急管理局


def test_whistle_dispatch_accept_submit_and_check_with_a_photo(world, login):
    """CASE-8, CASE-9, CASE-11: the whole middle of the loop, each step through its form."""
    users = world.users
    case = to_township(world)
    due = timezone.localdate() + timedelta(days=20)
    response = act(
        login(users.township_a),
        case,
        "dispatch",
        {
            "lead": f"d:{world.department.pk}",
            "co_handlers": [f"d:{world.police.pk}"],
            "due_at": due.isoformat(),
            "instructions": "请现场处置",
        },
    )
    assert response.status_code == 302
    case = fresh(case)
    assert case.state == CaseState.DISPATCHED and case.assignments.count() == 2
    assert timezone.localtime(case.due_at).date() == due

    assert act(login(users.department), case, "accept", {"note": ""}).status_code == 302
    assert fresh(case).state == CaseState.HANDLING
    assert act(login(users.police), case, "report_back", {"note": "已疏导交通"}).status_code == 302
    response = act(login(users.department), case, "submit", {"result": "已修复", "photos": [png()]})
    assert response.status_code == 302
    assert fresh(case).state == CaseState.SUBMITTED

    response = act(
        login(users.grid_worker),
        case,
        "check_pass",
        {"note": "现场核查通过", "kind": "after", "lng": "108.0201", "lat": "31.0502", "photos": [png()]},
    )
    assert response.status_code == 302
    case = fresh(case)
    assert case.state == CaseState.CLOSED
    photo = CaseAttachment.objects.get(action__kind=ActionKind.CHECK_PASS)
    assert photo.kind == AttachmentKind.AFTER and photo.lng == pytest.approx(108.0201)
    assert photo.lat == pytest.approx(31.0502)
    page = login(users.township_a).get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert reverse("cases:attachment", args=[case.pk, photo.pk]) in page


def test_a_failed_check_sends_the_case_back(world, login):
    case = handling(world)
    services.submit(case, by=world.users.department, result="处理了")
    response = act(login(world.users.township_a), case, "check_fail", {"note": "仍有隐患", "kind": "before"})
    assert response.status_code == 302
    case = fresh(case)
    assert case.state == CaseState.HANDLING and case.rework_count == 1


def test_a_check_without_a_note_comes_back_with_both_buttons(world, login):
    case = handling(world)
    services.submit(case, by=world.users.department, result="处理了")
    response = act(login(world.users.township_a), case, "check_fail", {"note": "", "kind": "after"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="action-check" open' in page and 'data-field="note"' in page
    assert f'formaction="/cases/{case.pk}/act/check_pass/"' in page
    assert f'formaction="/cases/{case.pk}/act/check_fail/"' in page
    assert fresh(case).state == CaseState.SUBMITTED


def test_return_with_a_reason(world, login):
    case = dispatched(world)
    response = act(
        login(world.users.department), case, "return_", {"reason": "不属于本部门", "wrongly_dispatched": "on"}
    )
    assert response.status_code == 302
    case = fresh(case)
    assert case.state == CaseState.REGISTERED and case.wrong_dispatch_count == 1


def test_a_deadline_in_the_past_is_shown_on_the_deadline_field(world, login):
    case = to_township(world)
    response = act(
        login(world.users.township_a),
        case,
        "dispatch",
        {
            "lead": f"d:{world.department.pk}",
            "due_at": (timezone.localdate() - timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 200
    assert 'class="field has-error" data-field="due_at"' in response.content.decode()
    assert fresh(case).state == CaseState.REGISTERED


def test_a_file_that_is_not_an_image_is_refused_on_the_photos_field(world, login):
    case = patrol_case(world)
    bad = SimpleUploadedFile("notes.png", b"plain text", content_type="image/png")
    response = act(
        login(world.users.grid_worker), case, "handle_in_place", {"result": "已处理", "photos": [bad]}
    )
    assert response.status_code == 200
    assert 'class="field has-error" data-field="photos"' in response.content.decode()
    assert fresh(case).state == CaseState.REGISTERED and not CaseAttachment.objects.exists()


def test_rate_after_closing(world, login):
    case = patrol_case(world)
    services.handle_in_place(case, by=world.users.grid_worker, result="已处理")
    response = act(
        login(world.users.grid_worker), case, "rate", {"rating": Rating.SATISFIED, "comment": "很快"}
    )
    assert response.status_code == 302
    assert fresh(case).rating == Rating.SATISFIED


def test_urge_shows_the_card_on_the_queue(world, login):
    case = dispatched(world)
    client = login(world.users.county)
    response = act(client, case, "urge", {"level": "yellow", "note": "请加快办理"})
    assert response.status_code == 302
    assert fresh(case).urge_level == "yellow"
    page = client.get(reverse("cases:queue"), {"tab": "all"}).content.decode()
    assert 'data-urge="yellow"' in page


def test_hold_and_resume_through_the_long_term_list(world, login):
    """CASE-10."""
    case = patrol_case(world)
    client = login(world.users.county)
    assert act(client, case, "hold", {"reason": "历史遗留问题"}).status_code == 302
    assert fresh(case).state == CaseState.ON_HOLD
    page = client.get(reverse("cases:long_term")).content.decode()
    assert f'data-case="{case.pk}"' in page
    detail = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert 'data-deadline="paused"' in detail
    assert act(login(world.users.grid_worker), case, "follow_up", {"note": "本月走访"}).status_code == 302
    assert act(login(world.users.county), case, "resume", {"note": "条件成熟"}).status_code == 302
    assert fresh(case).state == CaseState.REGISTERED


def test_extension_request_and_decision(world, login):
    case = handling(world)
    original = case.kpi_due_at
    response = act(
        login(world.users.department),
        case,
        "request_extension",
        {"working_days": "3", "reason": "需采购材料"},
    )
    assert response.status_code == 302
    client = login(world.users.township_a)
    page = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert 'id="pending-extension"' in page and "需采购材料" in page
    assert act(client, case, "decide_extension", {"decision": "approve", "note": "同意"}).status_code == 302
    case = fresh(case)
    assert case.extension_count == 1 and case.kpi_due_at == original and case.due_at > original
    page = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert (
        timezone.localtime(original).strftime("%Y-%m-%d %H:%M") in page
    )  # the original deadline stays shown


def test_refusing_an_extension_needs_a_reason(world, login):
    case = handling(world)
    services.request_extension(case, by=world.users.department, working_days=2, reason="x")
    response = act(
        login(world.users.township_a), case, "decide_extension", {"decision": "refuse", "note": ""}
    )
    assert response.status_code == 200
    assert 'data-field="note"' in response.content.decode()
    assert fresh(case).extension_count == 0


# ---------------------------------------------------------------------------------------------------
# Conflicts and refusals


def test_a_stale_page_gets_a_409_with_the_fresh_case(world, login):
    """DESIGN: two people acting on one case at once: one wins, the other gets a clear conflict."""
    case = patrol_case(world)
    seen = case.version
    services.escalate(case, by=world.users.grid_worker, reason="已上报")
    client = login(world.users.village_a)
    response = client.post(
        reverse("cases:act", args=[case.pk, "handle_in_place"]), {"expected_version": seen, "result": "处置"}
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert 'id="conflict"' in page
    assert response.context["case"].version == seen + 1  # the fresh case
    assert fresh(case).state == CaseState.REGISTERED
    assert not CaseAction.objects.filter(case=case, kind=ActionKind.HANDLE_IN_PLACE).exists()


def test_a_step_the_state_does_not_allow_is_409_with_the_allowed_steps(world, login):
    case = patrol_case(world)
    response = act(login(world.users.grid_worker), case, "accept")
    assert response.status_code == 409
    conflict = response.context["conflict"]
    assert "网格内自行处置" in conflict  # the allowed steps, named in the user's language


def test_a_forbidden_step_is_403(world, login):
    case = patrol_case(world)
    response = act(login(world.users.grid_worker), case, "dispatch", {"lead": f"d:{world.department.pk}"})
    assert response.status_code == 403
    assert (
        login(world.users.grid_worker).get(reverse("cases:act", args=[case.pk, "dispatch"])).status_code
        == 403
    )
    assert fresh(case).state == CaseState.REGISTERED


# ---------------------------------------------------------------------------------------------------
# The queue, batch dispatch and the other lists


def test_the_queue_waits_on_the_users_own_level(world, login):
    at_township = to_township(world)
    in_grid = patrol_case(world)
    client = login(world.users.township_a)
    response = client.get(reverse("cases:queue"))
    listed = [c.pk for c in response.context["page"]]
    assert listed == [at_township.pk]
    assert response.context["counts"]["waiting"] == 1
    all_listed = [c.pk for c in client.get(reverse("cases:queue"), {"tab": "all"}).context["page"]]
    assert set(all_listed) == {at_township.pk, in_grid.pk}


def test_in_progress_lists_dispatched_cases(world, login):
    case = dispatched(world)
    response = login(world.users.township_a).get(reverse("cases:queue"), {"tab": "in_progress"})
    assert [c.pk for c in response.context["page"]] == [case.pk]


def test_batch_dispatch_reports_each_outcome(world, login):
    """CASE-8: a case that cannot be dispatched is reported and does not stop the others."""
    good = to_township(world)
    already = dispatched(world)
    client = login(world.users.township_a)
    response = client.post(
        reverse("cases:batch_dispatch"),
        {
            "cases": [already.pk, good.pk],
            "lead": f"d:{world.department.pk}",
            "instructions": "统一派单",
            "next": reverse("cases:queue") + "?tab=all",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("cases:queue") + "?tab=all"
    assert fresh(good).state == CaseState.DISPATCHED
    assert fresh(already).dispatch_count == 1
    texts = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert any(tag == "success" and good.number in text for tag, text in texts)
    assert any(tag == "error" and already.number in text for tag, text in texts)


def test_batch_dispatch_needs_a_ticked_case_and_a_lead(world, login):
    client = login(world.users.township_a)
    response = client.post(reverse("cases:batch_dispatch"), {"lead": ""}, follow=True)
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert len(errors) == 2


def test_batch_dispatch_is_refused_without_the_dispatch_capability(world, login):
    case = patrol_case(world)
    response = login(world.users.village_a).post(
        reverse("cases:batch_dispatch"), {"cases": [case.pk], "lead": f"u:{world.county.grid_a1.pk}"}
    )
    assert response.status_code == 403


def test_the_batch_form_is_shown_to_dispatchers_only(world, login):
    to_township(world)
    assert 'id="batch-form"' in login(world.users.township_a).get(reverse("cases:queue")).content.decode()
    page = login(world.users.village_a).get(reverse("cases:queue"), {"tab": "all"}).content.decode()
    assert 'id="batch-form"' not in page


@pytest.fixture
def spread(world):
    """Cases with crafted deadlines and categories for the filters."""
    now = timezone.now()
    other_top = Category.objects.create(code="98", name="其他大类")
    other = Category.objects.create(code="9801", name="其他小类", parent=other_top)
    overdue = patrol_case(world, description="超期的")
    soon = patrol_case(world, description="临期的")
    later = patrol_case(world, description="不急的", category=other)
    in_a2 = patrol_case(world, by=world.users.village_a, point=(108.05, 31.15), description="二组的")
    Case.objects.filter(pk=overdue.pk).update(stage_due_at=now - timedelta(hours=2))
    Case.objects.filter(pk=soon.pk).update(stage_due_at=now + timedelta(hours=2))
    Case.objects.filter(pk__in=[later.pk, in_a2.pk]).update(stage_due_at=now + timedelta(days=30))
    return {"overdue": overdue, "soon": soon, "later": later, "in_a2": in_a2}


def listed(client, **params):
    response = client.get(reverse("cases:queue"), {"tab": "all", **params})
    assert response.status_code == 200
    return {c.pk for c in response.context["page"]}


def test_filter_overdue_and_due_soon(spread, world, login):
    client = login(world.users.village_a)
    assert listed(client, due="overdue") == {spread["overdue"].pk}
    assert listed(client, due="due_soon") == {spread["soon"].pk}
    overdue_tab = client.get(reverse("cases:queue"), {"tab": "overdue"})
    assert [c.pk for c in overdue_tab.context["page"]] == [spread["overdue"].pk]
    assert overdue_tab.context["counts"]["overdue"] == 1


def test_filter_by_category_prefix(spread, world, login):
    client = login(world.users.village_a)
    assert listed(client, category="98") == {spread["later"].pk}
    assert listed(client, category="9901") == {spread["overdue"].pk, spread["soon"].pk, spread["in_a2"].pk}
    assert listed(client, category="99") == {spread["overdue"].pk, spread["soon"].pk, spread["in_a2"].pk}


def test_filter_by_unit_subtree(spread, world, login):
    client = login(world.users.village_a)
    assert listed(client, unit=world.county.grid_a2.code) == {spread["in_a2"].pk}
    assert spread["in_a2"].pk not in listed(client, unit=world.county.grid_a1.code)
    assert len(listed(client, unit=world.county.grid_a1.code)) == 3


def test_filter_by_text_and_status(spread, world, login):
    client = login(world.users.village_a)
    assert listed(client, q="二组") == {spread["in_a2"].pk}
    assert listed(client, q=spread["soon"].number) == {spread["soon"].pk}
    services.handle_in_place(spread["later"], by=world.users.grid_worker, result="已处理")
    assert listed(client, state="closed") == {spread["later"].pk}


def test_the_queue_rows_carry_the_deadline_colours(spread, world, login):
    page = login(world.users.village_a).get(reverse("cases:queue"), {"tab": "all"}).content.decode()
    assert page.count('data-deadline="red"') == 1
    assert page.count('data-deadline="yellow"') == 1
    assert page.count('data-deadline="green"') == 2


def test_the_department_desk_lists_its_assignments_pending_first(world, login):
    accepted = handling(world)
    pending = dispatched(world)
    services.dispatch(to_township(world), by=world.users.township_a, lead=world.police)
    client = login(world.users.department)
    response = client.get(reverse("cases:assigned"))
    rows = list(response.context["page"])
    assert [a.case_id for a in rows] == [pending.pk, accepted.pk]
    assert rows[0].status == AssignmentStatus.PENDING
    queue = client.get(reverse("cases:queue"))
    assert queue.status_code == 200 and queue.context["department_only"]


def test_co_handlers_see_their_part_on_the_desk(world, login):
    case = dispatched(world, co_handlers=[world.police])
    rows = list(login(world.users.police).get(reverse("cases:assigned")).context["page"])
    assert [(a.case_id, a.is_lead) for a in rows] == [(case.pk, False)]


def test_the_long_term_list_highlights_cases_without_a_recent_follow_up(world, login, settings):
    settings.WANGGE_LONG_TERM_FOLLOW_UP_DAYS = 30
    now = timezone.now()
    neglected = patrol_case(world, description="久未回访")
    followed = patrol_case(world, description="刚回访")
    for case in (neglected, followed):
        services.hold(case, by=world.users.county, reason="历史遗留", now=now - timedelta(days=60))
    services.follow_up(followed, by=world.users.county, note="走访", now=now - timedelta(days=3))
    services.follow_up(neglected, by=world.users.county, note="走访", now=now - timedelta(days=31))
    client = login(world.users.county)
    response = client.get(reverse("cases:long_term"))
    rows = list(response.context["page"])
    assert [c.pk for c in rows] == [neglected.pk, followed.pk]
    assert [c.follow_up_due for c in rows] == [True, False]
    page = response.content.decode()
    assert page.count("data-follow-up-due") == 1
    due = client.get(reverse("cases:long_term"), {"tab": "follow_up_due"})
    assert [c.pk for c in due.context["page"]] == [neglected.pk]
    settings.WANGGE_LONG_TERM_FOLLOW_UP_DAYS = 45
    assert [c.follow_up_due for c in client.get(reverse("cases:long_term")).context["page"]] == [False, False]


def test_the_queue_query_count_does_not_grow_with_its_rows(world, login, django_assert_max_num_queries):
    base = datetime.datetime.now(tz=timezone.get_current_timezone())
    for i in range(30):
        patrol_case(world, description=f"第{i}件", now=base)
    client = login(world.users.township_a)
    with django_assert_max_num_queries(15):
        response = client.get(reverse("cases:queue"), {"tab": "all"})
    assert len(response.context["page"]) == 30


def test_the_case_page_query_count_does_not_grow_with_its_history(
    world, login, django_assert_max_num_queries
):
    case = handling(world)
    for i in range(10):
        services.urge(case, by=world.users.county, level="normal", note=f"第{i}次催办")
    services.request_extension(case, by=world.users.department, working_days=2, reason="需采购")
    client = login(world.users.township_a)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("cases:detail", args=[case.pk]))
    assert len(response.context["timeline"]) > 15
