"""The grid worker's phone pages through HTTP: report in a few taps, my cases (CASE-1, CASE-5, DESIGN
idempotency and scope rules)."""

import io
import json
import re
import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from wangge.cases import field_urls, services
from wangge.cases.choices import AttachmentKind, CaseState, Severity, Source
from wangge.cases.models import Case, CaseAttachment
from wangge.cases.testing import patrol_case

pytestmark = pytest.mark.django_db

REPORT = reverse("field:report")
MINE = reverse("field:mine")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def png(name="photo.png"):
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (30, 120, 200)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def report_data(world, point=None, **overrides):
    lng, lat = point or world.point_a11
    data = {
        "category": world.category.code,
        "description": "路灯损坏，夜间行人有安全隐患",
        "severity": "",
        "source": Source.PATROL,
        "lng": lng,
        "lat": lat,
        "address": "",
        "unit": "",
        "uuid": str(uuid.uuid4()),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_every_field_route_is_covered_here():
    assert {p.name for p in field_urls.urlpatterns} == {"report", "mine"}


@pytest.mark.parametrize("url", [REPORT, MINE])
def test_anonymous_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("url", [REPORT, MINE])
def test_a_user_without_a_post_is_refused(county, login, url):
    assert login(county.users.outsider).get(url).status_code == 403


def test_the_phone_form_offers_camera_gps_categories_and_a_client_id(world, login):
    """CASE-1: category picker with its 立案条件, camera photos, GPS filled by the page's script."""
    page = login(world.users.grid_worker).get(REPORT).content.decode()
    assert 'accept="image/*"' in page and 'capture="environment"' in page and "multiple" in page
    assert f'<optgroup label="{world.top_category.name}">' in page
    assert f'value="{world.category.code}"' in page
    # The 小类's 立案条件, for the help under the picker.
    conditions = re.search(r'<script id="category-conditions" type="application/json">(.*?)</script>', page)
    assert json.loads(conditions.group(1))[world.category.code]["register"] == "有明确地点和事实"
    assert 'name="lng"' in page and 'name="lat"' in page
    assert 'name="uuid"' in page and "cases/field/report.js" in page
    assert world.county.cell_a11.name in page  # the manual fallback lists the worker's own grid
    # A grid worker finds things on patrol or on a visit; hotline and WeChat items are desk work.
    assert f'value="{Source.VISIT}"' in page and f'value="{Source.HOTLINE}"' not in page


def test_desk_staff_may_enter_hotline_and_other_sources(world, login):
    """CASE-5: operators enter 12345, WeChat-group, talk-office, video, higher-level, department items."""
    page = login(world.users.village_a).get(REPORT).content.decode()
    for source in (Source.HOTLINE, Source.WECHAT, Source.TALK_OFFICE, Source.VIDEO, Source.HIGHER_LEVEL):
        assert f'value="{source}"' in page
    assert f'value="{Source.RESIDENT}"' not in page  # residents use their own page


def test_phone_report_with_a_photo_registers_one_case_in_the_right_grid(world, login, media_root):
    """CASE-1, CASE-2: the point finds the smallest grid; the worker's own find is registered at once."""
    client = login(world.users.grid_worker)
    response = client.post(REPORT, {**report_data(world, severity=Severity.MAJOR), "photos": [png()]})
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:detail", args=[case.pk])
    assert case.unit == world.county.cell_a11
    assert case.state == CaseState.REGISTERED and case.number
    assert case.source == Source.PATROL and case.severity == Severity.MAJOR
    assert case.reporter == world.users.grid_worker
    photo = CaseAttachment.objects.get(case=case)
    assert photo.kind == AttachmentKind.PHOTO
    assert (photo.lng, photo.lat) == world.point_a11  # stamped with the report's GPS fix
    assert (media_root / photo.image.name).is_file()
    assert photo.image.name.endswith(".png") and "photo" not in photo.image.name  # generated names


def test_the_case_page_says_what_happened(world, login, english):
    client = login(world.users.grid_worker)
    response = client.post(REPORT, report_data(world), follow=True)
    case = Case.objects.get()
    assert f"Case {case.number} is registered in {world.county.cell_a11.name}" in response.content.decode()


def test_double_submit_with_the_same_client_id_makes_one_case(world, login, english):
    """DESIGN idempotency: a second tap or a retry after a lost answer never makes a second case."""
    client = login(world.users.grid_worker)
    data = report_data(world)
    first = client.post(REPORT, {**data, "photos": [png()]})
    second = client.post(REPORT, {**data, "photos": [png()]}, follow=True)
    case = Case.objects.get()
    assert first["Location"] == reverse("cases:detail", args=[case.pk])
    assert second.redirect_chain[0][0] == first["Location"]
    assert "already been received" in second.content.decode()
    assert CaseAttachment.objects.count() == 1


def test_a_point_outside_every_grid_is_refused_with_its_location_then_attached_on_request(
    world, login, english
):
    """CASE-1: outside every grid → a clear message; with the checkbox → the reporter's own unit."""
    client = login(world.users.grid_worker)
    data = report_data(world, point=world.outside)
    response = client.post(REPORT, data)
    page = response.content.decode()
    assert response.status_code == 200
    assert not Case.objects.exists()
    assert "(109.50000, 31.10000) is outside every grid" in page
    assert 'name="attach_to_own_unit"' in page  # the way out is offered with the error
    response = client.post(REPORT, {**data, "attach_to_own_unit": "on"})
    case = Case.objects.get()
    assert response.status_code == 302
    assert case.unit == world.county.cell_a11 and (case.lng, case.lat) == world.outside


def test_the_attach_option_is_not_shown_before_it_is_needed(world, login):
    page = login(world.users.grid_worker).get(REPORT).content.decode()
    assert 'name="attach_to_own_unit"' not in page


def test_without_gps_the_chosen_grid_is_the_place(world, login):
    client = login(world.users.grid_leader)
    data = report_data(world, lng="", lat="", unit=world.county.cell_a12.code)
    assert client.post(REPORT, data).status_code == 302
    assert Case.objects.get().unit == world.county.cell_a12


def test_a_grid_outside_ones_area_cannot_be_chosen(world, login):
    client = login(world.users.grid_worker)
    data = report_data(world, lng="", lat="", unit=world.county.grid_b1.code)
    response = client.post(REPORT, data)
    assert response.status_code == 200 and not Case.objects.exists()
    assert response.context["form"].errors["unit"]


def test_no_place_at_all_names_the_location(world, login, english):
    client = login(world.users.village_a)
    response = client.post(REPORT, report_data(world, lng="", lat=""))
    assert response.status_code == 200 and not Case.objects.exists()
    assert "Give the place" in response.content.decode()


def test_missing_fields_are_named(world, login):
    client = login(world.users.grid_worker)
    response = client.post(REPORT, report_data(world, category="", description=""))
    errors = response.context["form"].errors
    assert "category" in errors and "description" in errors
    assert not Case.objects.exists()


def test_a_top_category_or_an_unknown_code_is_refused(world, login):
    client = login(world.users.grid_worker)
    for code in (world.top_category.code, "0000"):
        response = client.post(REPORT, report_data(world, category=code))
        assert "category" in response.context["form"].errors
    assert not Case.objects.exists()


def test_a_file_that_is_not_an_image_is_refused_by_name(world, login):
    client = login(world.users.grid_worker)
    fake = SimpleUploadedFile("notes.png", b"not an image", content_type="image/png")
    response = client.post(REPORT, {**report_data(world), "photos": [fake]})
    assert response.status_code == 200 and not Case.objects.exists()
    assert "notes.png" in " ".join(response.context["form"].errors["photos"])


def test_a_source_the_user_may_not_enter_is_refused(world, login):
    client = login(world.users.grid_worker)
    response = client.post(REPORT, report_data(world, source=Source.HOTLINE))
    assert "source" in response.context["form"].errors


def test_a_hotline_item_waits_for_verification(world, login):
    """CASE-5, CASE-2: an operator's hotline item is verified on site before it is registered."""
    client = login(world.users.village_a)
    assert client.post(REPORT, report_data(world, source=Source.HOTLINE)).status_code == 302
    case = Case.objects.get()
    assert case.source == Source.HOTLINE and case.state == CaseState.REPORTED and case.number is None


def test_a_find_in_another_grid_waits_for_that_grids_staff(world, login):
    client = login(world.users.grid_worker)
    client.post(REPORT, report_data(world, point=world.point_b1))
    case = Case.objects.get()
    assert case.unit == world.county.grid_b1 and case.state == CaseState.REPORTED


def test_a_report_page_shown_again_forgets_what_was_received(world, login):
    """The page lists the client ids the server has, so the phone drops a draft that did arrive."""
    client = login(world.users.grid_worker)
    data = report_data(world)
    client.post(REPORT, data)
    page = client.get(REPORT)
    assert data["uuid"] in page.context["received_json"]
    assert page["Cache-Control"].startswith("max-age=0")  # Back fetches a fresh form and client id


# --- my cases -----------------------------------------------------------------------------------------


def section(page, name):
    start = page.index(f'id="{name}"')
    end = page.find("</section>", start)
    return page[start:end]


def test_my_cases_groups_work_waiting_for_me_and_what_i_follow(world, login):
    worker = world.users.grid_worker
    mine_open = patrol_case(world, description="井盖缺失")  # registered in my grid: handle or escalate
    elsewhere = patrol_case(world, point=world.point_b1, description="乙村的路灯")  # waits for 乙村
    done = patrol_case(world, description="垃圾堆放")
    services.handle_in_place(done, by=worker, result="已清理")
    page = login(worker).get(MINE).content.decode()
    assert mine_open.number in section(page, "to-act")
    assert "乙村的路灯" in section(page, "following") and elsewhere.formatted_tracking_code in page
    assert done.number in section(page, "closed")
    assert 'class="state state-registered"' in page  # the desk's badges
    assert 'data-deadline="green"' in page
    assert reverse("cases:detail", args=[mine_open.pk]) in page


def test_my_cases_include_what_waits_for_my_grids(world, login, english):
    """A resident's report in my grid waits for my verification, though I did not report it."""
    case, _ = services.report_case(
        reporter=None, source=Source.RESIDENT, description="楼道堆物", lng=108.02, lat=31.05
    )
    page = login(world.users.grid_worker).get(MINE).content.decode()
    to_act = section(page, "to-act")
    assert case.formatted_tracking_code in to_act
    assert "Next step: verify on site、register or not" in to_act  # what to do, on the list itself


def test_my_cases_include_dispatches_to_my_department(world, login):
    case = patrol_case(world)
    for by in (world.users.grid_worker, world.users.grid_leader, world.users.village_a):
        case = services.escalate(case, by=by, reason="需要协调")
    case = services.dispatch(case, by=world.users.township_a, lead=world.department)
    page = login(world.users.department).get(MINE).content.decode()
    assert case.number in section(page, "to-act")
    assert login(world.users.police).get(MINE).content.decode().count(case.number) == 0


def test_my_cases_never_show_another_villages_cases(world, login):
    theirs = patrol_case(world, by=world.users.grid_worker_b, point=world.point_b1)
    page = login(world.users.grid_worker).get(MINE).content.decode()
    assert theirs.number not in page


def test_closed_long_ago_drops_off_the_list(world, login):
    worker = world.users.grid_worker
    old = patrol_case(world, now=timezone.now() - timedelta(days=60))
    services.handle_in_place(old, by=worker, result="已处理", now=timezone.now() - timedelta(days=59))
    page = login(worker).get(MINE).content.decode()
    assert old.number not in page


# --- in a phone browser -------------------------------------------------------------------------------


@pytest.mark.browser
def test_a_grid_worker_reports_from_a_phone_with_gps_and_a_photo(
    world, phone_browser, live_server, browser_login, tmp_path
):
    """CASE-1 on a 360-px phone: the GPS fix fills the form, the photo is previewed, one tap sends."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from wangge.core.browser import console_errors, wait_for

    photo = tmp_path / "scene.png"
    Image.new("RGB", (40, 30), (200, 60, 20)).save(photo, format="PNG")
    lng, lat = world.point_a11
    phone_browser.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": live_server.url, "permissions": ["geolocation"]}
    )
    phone_browser.execute_cdp_cmd(
        "Emulation.setGeolocationOverride", {"latitude": lat, "longitude": lng, "accuracy": 12}
    )
    browser_login(phone_browser, live_server, world.users.grid_worker)
    phone_browser.get(live_server.url + REPORT)

    status = phone_browser.find_element(By.ID, "gps-status")
    wait_for(phone_browser, lambda d: "ok" in status.get_attribute("class"))
    assert "12" in status.text  # the accuracy, in metres
    assert float(phone_browser.find_element(By.NAME, "lng").get_attribute("value")) == pytest.approx(lng)
    assert phone_browser.find_element(By.NAME, "uuid").get_attribute("value")
    Select(phone_browser.find_element(By.NAME, "category")).select_by_value(world.category.code)
    help_text = phone_browser.find_element(By.ID, "category-help")
    assert help_text.is_displayed() and "有明确地点和事实" in help_text.text
    phone_browser.find_element(By.NAME, "photos").send_keys(str(photo))
    wait_for(phone_browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#photo-preview img[src^='data:']"))
    phone_browser.find_element(By.NAME, "description").send_keys("路边电线杆倾斜")
    width = phone_browser.execute_script("return document.documentElement.scrollWidth")
    assert width == 360  # nothing sticks out sideways on the phone
    assert not console_errors(phone_browser)  # no script or style blocked by the CSP

    phone_browser.find_element(By.CSS_SELECTOR, "button.send").click()
    wait_for(phone_browser, lambda d: "/cases/" in d.current_url)
    case = Case.objects.get()
    assert phone_browser.current_url == live_server.url + reverse("cases:detail", args=[case.pk])
    assert case.unit == world.county.cell_a11 and case.state == CaseState.REGISTERED
    assert case.attachments.count() == 1
    # The draft kept on the phone is dropped once the server has the report.
    phone_browser.get(live_server.url + REPORT)
    wait_for(phone_browser, lambda d: d.find_element(By.NAME, "uuid").get_attribute("value"))
    assert not phone_browser.find_element(By.ID, "draft-note").is_displayed()
    assert phone_browser.find_element(By.NAME, "description").get_attribute("value") == ""


def test_my_cases_costs_the_same_queries_for_one_or_many_cases_awaiting_my_check(
    world, login, django_assert_max_num_queries
):
    """Who may check depends on who submitted: the list reads that in its own query, not once per case."""
    users = world.users

    def submitted_case():
        case = services.dispatch(patrol_case(world), by=users.township_a, lead=world.department)
        case = services.accept(case, by=users.department)
        return services.submit(case, by=users.department, result="已处理")

    submitted_case()
    client = login(users.grid_worker)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        assert client.get(MINE).status_code == 200
    for _ in range(5):
        submitted_case()
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get(MINE)
    assert len(page.context["to_act"]) == 6  # the reporter checks each one
