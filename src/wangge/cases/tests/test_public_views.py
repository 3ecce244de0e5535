"""The resident's pages, no account: report to a unit, track by code, rate, the public board
(CASE-1 群众点单, CASE-8 反馈/回访 and publication; public endpoints rate-limited, never revealing other cases)."""

import io
import uuid

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from wangge.cases import public_urls, services
from wangge.cases.choices import CaseState, Rating, Source
from wangge.cases.models import Case, CaseAttachment
from wangge.cases.testing import patrol_case

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def fresh_rate_counts():
    """Throttle counts live in the cache, which outlives a test."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def png():
    buffer = io.BytesIO()
    Image.new("RGB", (3, 3), (10, 160, 60)).save(buffer, format="PNG")
    return SimpleUploadedFile("IMG_0001.png", buffer.getvalue(), content_type="image/png")


def report_url(unit):
    return reverse("public:report", args=[unit.code])


def tracking_url(case):
    return reverse("public:tracking", args=[case.tracking_code])


def resident_data(**overrides):
    data = {
        "description": "小区门口井盖丢失，晚上很危险",
        "uuid": str(uuid.uuid4()),
        "reporter_name": "王女士",
    }
    data.update(overrides)
    return data


def resident_case(world):
    case, _ = services.report_case(
        reporter=None,
        source=Source.RESIDENT,
        description="楼道里堆满杂物",
        lng=108.02,
        lat=31.05,
        reporter_name="王女士",
    )
    return case


def closed_case(world):
    """A resident's report, verified, registered and handled in the grid, with internal notes."""
    worker = world.users.grid_worker
    case = resident_case(world)
    case = services.verify(case, by=worker, note="内部备注：现场核实属实")
    case = services.register(case, by=worker, category=world.category)
    return services.handle_in_place(case, by=worker, result="已清理楼道杂物，联系电话13812345678")


def test_every_public_route_is_covered_here():
    assert {p.name for p in public_urls.urlpatterns} == {"report", "track", "tracking", "board"}


# --- reporting ----------------------------------------------------------------------------------------


def test_the_report_page_needs_no_account_and_asks_no_phone_number(world, client):
    response = client.get(report_url(world.county.village_a))
    page = response.content.decode()
    assert response.status_code == 200
    assert world.county.village_a.name in page
    assert 'name="description"' in page and 'name="reporter_name"' in page and 'name="photos"' in page
    assert 'name="lng"' in page and 'name="address"' in page and 'name="category"' in page
    assert "phone" not in " ".join(response.context["form"].fields)


def test_a_resident_report_gives_a_tracking_code(world, client, media_root):
    """CASE-1 群众点单: no login; the code is shown big, with a link to its page."""
    response = client.post(
        report_url(world.county.village_a),
        resident_data(lng=108.02, lat=31.05, photos=[png()], category=world.category.code),
    )
    case = Case.objects.get()
    page = response.content.decode()
    assert response.status_code == 200
    assert case.source == Source.RESIDENT and case.reporter is None and case.reporter_name == "王女士"
    assert case.unit == world.county.cell_a11  # the shared point finds the smallest grid in the village
    assert case.state == CaseState.REPORTED and case.category == world.category
    assert f'id="tracking-code">{case.formatted_tracking_code}<' in page
    assert tracking_url(case) in page
    photo = CaseAttachment.objects.get(case=case)
    assert (media_root / photo.image.name).is_file() and photo.uploaded_by is None


def test_without_a_location_the_report_goes_to_the_unit_itself(world, client):
    client.post(report_url(world.county.village_a), resident_data(address="甲一村3组12号旁"))
    case = Case.objects.get()
    assert case.unit == world.county.village_a and case.address == "甲一村3组12号旁"
    assert case.lng is None


def test_a_point_outside_the_units_area_is_refused_clearly(world, client, english):
    response = client.post(report_url(world.county.village_a), resident_data(lng=108.3, lat=31.1))
    page = response.content.decode()
    assert response.status_code == 200 and not Case.objects.exists()
    assert f"is not inside {world.county.village_a.name}" in page
    response = client.post(report_url(world.county.village_a), resident_data(lng=109.5, lat=31.1))
    assert not Case.objects.exists() and "is not inside" in response.content.decode()


def test_a_description_is_required(world, client):
    response = client.post(report_url(world.county.village_a), resident_data(description=""))
    assert "description" in response.context["form"].errors and not Case.objects.exists()


def test_sending_twice_makes_one_case_and_shows_the_same_code(world, client):
    data = resident_data()
    client.post(report_url(world.county.village_a), data)
    again = client.post(report_url(world.county.village_a), data)
    case = Case.objects.get()
    assert case.formatted_tracking_code in again.content.decode()


def test_another_users_client_id_never_reveals_their_case(world, client, english):
    staff_case = patrol_case(world, client_uuid=uuid.uuid4())
    response = client.post(report_url(world.county.village_a), resident_data(uuid=str(staff_case.uuid)))
    page = response.content.decode()
    assert staff_case.formatted_tracking_code not in page and staff_case.tracking_code not in page
    assert "expired" in page and Case.objects.count() == 1


def test_an_unknown_or_retired_unit_answers_404_with_the_same_look(world, client):
    response = client.get(reverse("public:report", args=["999999"]))
    assert response.status_code == 404
    assert "cases/public/not_found.html" in [t.name for t in response.templates]


def test_reports_are_rate_limited_per_client_address(world, client, settings, english):
    """Public endpoints are rate-limited: the third report within the minute gets a friendly 429."""
    settings.WANGGE_PUBLIC_REPORT_RATE = "2/min"
    url = report_url(world.county.village_a)
    assert client.post(url, resident_data()).status_code == 200
    assert client.post(url, resident_data()).status_code == 200
    refused = client.post(url, resident_data())
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "try again in 1 minute" in refused.content.decode()
    assert Case.objects.count() == 2
    assert client.get(url).status_code == 200  # reading the form costs nothing
    other = client.post(url, resident_data(), REMOTE_ADDR="10.1.2.3")
    assert other.status_code == 200 and Case.objects.count() == 3  # another address has its own count


# --- tracking -----------------------------------------------------------------------------------------


def test_the_track_form_goes_to_the_codes_page(world, client):
    case = resident_case(world)
    typed = case.formatted_tracking_code.lower()
    response = client.get(reverse("public:track"), {"code": typed})
    assert response.status_code == 302 and response["Location"] == tracking_url(case)


def test_a_malformed_code_is_explained(world, client):
    response = client.get(reverse("public:track"), {"code": "12"})
    assert response.status_code == 200 and "code" in response.context["form"].errors


def test_the_tracking_page_shows_progress_without_staff_names_or_notes(world, client, english):
    case = closed_case(world)
    page = client.get(tracking_url(case)).content.decode()
    assert case.title in page and world.category.name in page
    timeline = page[page.index('id="timeline"') :]
    for step in ("Reported", "Verified on site", "Registered", "Handled in the grid"):
        assert f"<li>{step}<time" in timeline
    assert "内部备注" not in page  # a staff note
    assert "grid_worker" not in page and world.users.grid_worker.full_name not in page
    assert case.number not in page  # the internal case number stays inside
    # The result is shown once closed, with personal data masked.
    assert "已清理楼道杂物" in page and "13812345678" not in page and "*******5678" in page


def test_internal_steps_are_left_out_of_the_public_timeline(world, client, english):
    case = patrol_case(world)
    services.urge(case, by=world.users.township_a, level="yellow", note="抓紧办理，领导关注")
    page = client.get(tracking_url(case)).content.decode()
    timeline = page[page.index('id="timeline"') :]
    assert "抓紧办理" not in page and "township_a" not in page
    assert "Urged" not in timeline and "<li>Registered<time" in timeline


def test_no_result_while_the_case_is_open(world, client):
    case = resident_case(world)
    page = client.get(tracking_url(case)).content.decode()
    assert 'id="result"' not in page and 'id="rating"' not in page


def test_an_unknown_code_answers_404_with_the_same_look(world, client):
    resident_case(world)
    response = client.get(reverse("public:tracking", args=["ZZZZZZZZ"]))
    assert response.status_code == 404
    assert "cases/public/not_found.html" in [t.name for t in response.templates]
    assert "楼道" not in response.content.decode()


def test_a_code_typed_with_a_dash_or_lower_case_leads_to_its_page(world, client):
    case = resident_case(world)
    response = client.get(reverse("public:tracking", args=[case.formatted_tracking_code.lower()]))
    assert response.status_code == 302 and response["Location"] == tracking_url(case)


def test_the_resident_rates_a_closed_case_once(world, client, english):
    """CASE-8 回访: 满意/基本满意/不满意 with a comment, by the holder of the code (rate(by=None))."""
    case = closed_case(world)
    url = tracking_url(case)
    page = client.get(url).content.decode()
    assert 'name="rating"' in page
    response = client.post(url, {"rating": Rating.UNSATISFIED, "comment": "还有一半没清理"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.rating == Rating.UNSATISFIED and case.rating_comment == "还有一半没清理"
    action = case.actions.get(kind="rate")
    assert action.actor is None and action.actor_label == "王女士"
    page = client.get(url).content.decode()
    assert 'name="rating"' not in page and "Unsatisfied" in page
    client.post(url, {"rating": Rating.SATISFIED})
    case.refresh_from_db()
    assert case.rating == Rating.UNSATISFIED  # rated once


def test_a_rating_needs_a_choice(world, client):
    case = closed_case(world)
    response = client.post(tracking_url(case), {"rating": "", "comment": "x"})
    assert response.status_code == 200 and "rating" in response.context["form"].errors
    case.refresh_from_db()
    assert not case.rating


def test_an_open_case_cannot_be_rated(world, client):
    case = resident_case(world)
    client.post(tracking_url(case), {"rating": Rating.SATISFIED})
    case.refresh_from_db()
    assert not case.rating


def test_tracking_is_rate_limited(world, client, settings, english):
    settings.WANGGE_PUBLIC_TRACK_RATE = "2/min"
    case = resident_case(world)
    assert client.get(tracking_url(case)).status_code == 200
    assert client.get(reverse("public:tracking", args=["ZZZZZZZZ"])).status_code == 404  # guesses count
    refused = client.get(tracking_url(case))
    assert refused.status_code == 429 and "Please wait a moment" in refused.content.decode()
    assert case.title not in refused.content.decode()  # nothing of the case behind the limit


# --- the public board ---------------------------------------------------------------------------------


def published(world, summary, **kwargs):
    case = patrol_case(world, **kwargs)
    by = world.users.grid_worker if case.unit.path.startswith(world.county.village_a.path) else None
    by = by or world.users.grid_worker_b
    case = services.handle_in_place(case, by=by, result="已处理")
    publisher = (
        world.users.village_a
        if case.unit.path.startswith(world.county.village_a.path)
        else world.users.village_b
    )
    return services.publish(case, by=publisher, summary=summary)


def test_the_board_shows_only_the_villages_published_cases(world, client):
    """CASE-8: closed results on the village's board, personal data removed; no other village's."""
    mine = published(world, "一组路灯已修复")
    unpublished = patrol_case(world, description="未公开的事")
    services.handle_in_place(unpublished, by=world.users.grid_worker, result="内部结果")
    other = published(
        world, "乙村道路已清扫", by=world.users.grid_worker_b, point=world.point_b1, description="乙村的事"
    )
    response = client.get(reverse("public:board", args=[world.county.village_a.code]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "一组路灯已修复" in page and world.category.name in page
    assert "未公开的事" not in page and "内部结果" not in page
    assert "乙村道路已清扫" not in page
    assert mine.title not in page and mine.number not in page  # summary, category and date only
    assert (
        "乙村道路已清扫"
        in client.get(reverse("public:board", args=[world.county.village_b.code])).content.decode()
    )
    assert other.pk


def test_the_board_pages_newest_first(world, client):
    from wangge.cases import public_views

    for i in range(public_views.BOARD_PAGE_SIZE + 2):
        published(world, f"第{i:02d}件已办结")
    url = reverse("public:board", args=[world.county.village_a.code])
    first = client.get(url).content.decode()
    assert f"第{public_views.BOARD_PAGE_SIZE + 1:02d}件已办结" in first and "第00件已办结" not in first
    second = client.get(url, {"page": 2}).content.decode()
    assert "第00件已办结" in second


def test_the_board_is_for_villages(world, client):
    for code in (world.county.town_a.code, world.county.cell_a11.code, "999999"):
        assert client.get(reverse("public:board", args=[code])).status_code == 404
