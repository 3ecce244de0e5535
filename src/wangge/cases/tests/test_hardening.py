"""Closed paths found in review: personal data on public answers, hostile uploads, orphan files,
leaked tracking codes, malformed ids, and what a returned dispatch still opens."""

import io
import uuid

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from wangge.cases import services
from wangge.cases.choices import RejectReason, Source
from wangge.cases.models import Case
from wangge.cases.services import Photo
from wangge.cases.testing import patrol_case

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_and_throttles(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    cache.clear()
    yield
    cache.clear()


def png(size=(8, 8), mode="RGB"):
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG")
    return SimpleUploadedFile("p.png", buffer.getvalue(), content_type="image/png")


def stored_files(root):
    return [p for p in root.rglob("*") if p.is_file()]


def test_the_public_tracking_answer_masks_phone_and_id_numbers(world):
    case = patrol_case(world, description="x", title="王五 13812345678 家门口路灯坏了")
    services.handle_in_place(
        case, by=world.users.grid_worker, result="已联系户主 13812345678，身份证 500229199001011234"
    )
    answer = APIClient().get(f"/api/v1/public/track/{case.tracking_code}/").json()
    page = APIClient().get(f"/p/track/{case.tracking_code}/").content.decode()
    for text in (str(answer), page):
        assert "13812345678" not in text and "500229199001011234" not in text
    assert answer["title"].endswith("5678 家门口路灯坏了")


def test_a_decompression_bomb_is_refused_as_a_bad_photo(world, settings):
    settings.WANGGE_MAX_IMAGE_PIXELS = 1_000_000
    with pytest.raises(ValidationError) as error:
        services.validate_photos([Photo(png(size=(2000, 1000), mode="1"))])
    assert "photos" in error.value.message_dict


def test_too_many_photos_are_refused_and_residents_get_fewer(world, settings):
    settings.WANGGE_MAX_PHOTOS_PER_STEP = 2
    settings.WANGGE_MAX_PUBLIC_PHOTOS = 1
    with pytest.raises(ValidationError):
        services.validate_photos([Photo(png()) for _ in range(3)])
    with pytest.raises(ValidationError) as error:
        services.report_case(
            reporter=None,
            source=Source.RESIDENT,
            description="路灯坏了",
            lng=108.02,
            lat=31.05,
            photos=[Photo(png()), Photo(png())],
        )
    assert "photos" in error.value.message_dict
    assert not Case.objects.exists()


def test_a_step_that_fails_after_saving_photos_leaves_no_files(world, tmp_path):
    with pytest.raises(ValidationError) as error:
        services.report_case(
            reporter=world.users.grid_worker,
            source=Source.PATROL,
            description="井盖缺失",
            lng=108.02,
            lat=31.05,
            register_now=True,
            photos=[Photo(png())],  # no category: registration fails after the upload
        )
    assert "category" in error.value.message_dict
    assert not Case.objects.exists() and stored_files(tmp_path) == []


def test_a_duplicate_never_shows_the_originals_tracking_code(world, login):
    original, _ = services.report_case(
        reporter=None, source=Source.RESIDENT, description="井盖缺失", lng=108.07, lat=31.05
    )
    copy = patrol_case(world, point=world.point_a12, register=False)
    copy = services.reject(
        copy, by=world.users.village_a, reason=RejectReason.DUPLICATE, note="重复", duplicate_of=original
    )
    page = login(world.users.grid_worker).get(f"/cases/{copy.pk}/").content.decode()
    assert original.formatted_tracking_code not in page and original.tracking_code not in page
    assert f"/cases/{original.pk}/" not in page


def test_malformed_notification_ids_are_ignored_not_a_server_error(world, login):
    client = login(world.users.grid_worker)
    assert client.post("/notices/read/", {"id": ["²", str(10**30)]}).status_code in (302, 200)
    api = APIClient()
    api.force_authenticate(world.users.grid_worker)
    assert api.post("/api/v1/notifications/read/", {"ids": [10**30]}, format="json").status_code == 400


def test_batch_dispatch_refuses_an_id_no_database_can_hold(world, login):
    response = login(world.users.township_a).post(
        "/cases/batch-dispatch/", {"cases": [str(10**30)], "lead": f"d:{world.department.pk}"}
    )
    assert response.status_code in (200, 302)


def test_a_returned_dispatch_no_longer_opens_the_case(world):
    case = patrol_case(world)
    case = services.dispatch(case, by=world.users.township_a, lead=world.police)
    assert Case.objects.visible_to(world.users.police).filter(pk=case.pk).exists()
    services.return_case(case, by=world.users.police, reason="不属于公安职责")
    assert not Case.objects.visible_to(world.users.police).filter(pk=case.pk).exists()


def test_the_public_api_refuses_a_point_outside_the_units_page(world):
    response = APIClient().post(
        f"/api/v1/public/units/{world.county.grid_a1.code}/reports/",
        {"uuid": str(uuid.uuid4()), "description": "路灯坏了", "lng": 108.3, "lat": 31.1},
        format="json",
    )
    assert response.status_code == 400 and "location" in response.json()
    assert not Case.objects.exists()
