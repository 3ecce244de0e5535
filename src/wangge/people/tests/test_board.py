"""The grid's public notice board (公示牌, TEAM-6): who is on it, A/B marks, photos, the supervision phone
and the QR code; as a page without sign-in and as a PDF; nothing of the ledgers on it."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from wangge.core.testing import make_user
from wangge.people import cards, services
from wangge.people.models import AbsenceReason, Post, User
from wangge.people.roles import Role
from wangge.units.models import Unit

pytestmark = [pytest.mark.django_db, pytest.mark.urls("wangge.people.tests.urls")]

TODAY = datetime.date(2026, 12, 2)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def image(size=(900, 1200), fmt="PNG", name="me.png") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=fmt)
    return SimpleUploadedFile(name, out.getvalue(), content_type=f"image/{fmt.lower()}")


@pytest.fixture
def board_world(county):
    users = county.users
    users.grid_worker.full_name, users.grid_worker.phone = "王网格", "13800000001"
    users.grid_worker.save()
    users.grid_leader.full_name, users.grid_leader.phone = "李组长", "13800000002"
    users.grid_leader.save()
    Post.objects.filter(user=users.grid_worker).update(duties="负责一格28户的走访和信息采集")
    b = make_user("worker_b", (county.cell_a12, Role.GRID_WORKER_FULL_TIME), full_name="乙岗员")
    instructor = make_user("instructor", (county.village_a, Role.GRID_INSTRUCTOR), full_name="周指导")
    police = make_user("police_a", (county.village_a, Role.LAW_ENFORCEMENT), full_name="吴民警")
    services.pair_posts(
        users.grid_worker.posts.get(), b, by=users.village_a, start=datetime.date(2026, 11, 1)
    )
    Unit.objects.filter(pk=county.county.pk).update(supervision_phone="12345")
    Unit.objects.filter(pk=county.town_a.pk).update(supervision_phone="023-66661111")
    return county, b, instructor, police


def test_the_supervision_phone_comes_from_the_nearest_unit_that_has_one(board_world):
    county = board_world[0]
    assert services.supervision_phone(Unit.objects.get(pk=county.cell_a11.pk)) == "023-66661111"
    assert services.supervision_phone(Unit.objects.get(pk=county.grid_b1.pk)) == "12345"
    Unit.objects.filter(pk=county.grid_a1.pk).update(supervision_phone="023-77778888")
    assert services.supervision_phone(Unit.objects.get(pk=county.cell_a11.pk)) == "023-77778888"


def test_the_board_lists_the_staff_up_to_the_village_with_a_and_b(board_world):
    county, b, instructor, police = board_world
    board = services.build_board(Unit.objects.get(pk=county.cell_a11.pk))
    assert [e.user.username for e in board.leaders] == ["grid_leader"]
    assert [e.user.username for e in board.workers] == ["grid_worker", "worker_b"]
    assert [e.user for e in board.guides] == [instructor] and [e.user for e in board.forces] == [police]
    a, b_entry = board.workers
    assert a.is_a and a.b_user == b and a.duties == "负责一格28户的走访和信息采集"
    assert b_entry.is_b and b_entry.covers_for == [county.users.grid_worker]
    assert board.leaders[0].duties  # the default duties of a grid leader
    assert board.supervision_phone == "023-66661111"
    # The grid above lists the grids below too; the village admin (an office post) is not on a board.
    names = {e.user.username for e in services.build_board(Unit.objects.get(pk=county.grid_a1.pk)).entries}
    assert names == {"grid_leader", "grid_worker", "worker_b", "instructor", "police_a"}


def test_the_board_says_who_covers_an_absent_worker(board_world):
    county = board_world[0]
    services.record_absence(
        county.users.grid_worker.posts.get(),
        by=county.users.village_a,
        start=TODAY,
        end=TODAY + datetime.timedelta(days=2),
        reason=AbsenceReason.SICK,
    )
    entry = services.build_board(Unit.objects.get(pk=county.cell_a11.pk)).workers[0]
    assert entry.away_until == TODAY + datetime.timedelta(days=2) and entry.covered_by.username == "worker_b"


def test_the_public_board_needs_no_sign_in_and_shows_no_resident_data(board_world, ledger, client):
    county = board_world[0]
    response = client.get(reverse("staff_public:board", args=[county.cell_a11.code]))
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "王网格",
        "13800000001",
        "李组长",
        "13800000002",
        "乙岗员",
        "周指导",
        "吴民警",
        "负责一格28户",
    ):
        assert text in html
    worker, b = county.users.grid_worker, User.objects.get(username="worker_b")
    assert f'data-person="{worker.pk}" data-ab-a="{b.pk}"' in html
    assert f'data-person="{b.pk}" data-ab-b="{worker.pk}"' in html
    assert "grid_worker" not in html and "worker_b" not in html  # login names stay private
    assert 'data-supervision-phone="023-66661111"' in html
    report = "http://testserver" + reverse("public:report", args=[county.cell_a11.code])
    assert f'data-qr-url="{report}"' in html and '<svg viewBox="0 0' in html and "style=" not in html
    for resident in vars(ledger.residents).values():
        assert resident.name not in html
    for number in ("13800001234", "13700005678", "13900001111", "A11-1", "一格1号"):
        assert number not in html


def test_a_retired_an_unknown_or_a_township_code_has_no_board(board_world, client):
    county = board_world[0]
    assert client.get(reverse("staff_public:board", args=["500229999999"])).status_code == 404
    assert client.get(reverse("staff_public:board", args=[county.town_a.code])).status_code == 404
    Unit.objects.filter(pk=county.grid_b1.pk).update(effective_to=datetime.date(2026, 1, 1))
    assert client.get(reverse("staff_public:board", args=[county.grid_b1.code])).status_code == 404
    assert client.get(reverse("staff_public:board", args=[county.village_a.code])).status_code == 200


def test_the_board_as_a_pdf(board_world, client, monkeypatch):
    from pypdf import PdfReader

    county = board_world[0]
    services.set_photo(county.users.grid_worker, image(), by=county.users.grid_worker)
    encoded = []
    original = cards.segno.make
    monkeypatch.setattr(cards.segno, "make", lambda data, **kw: encoded.append(data) or original(data, **kw))
    response = client.get(reverse("staff_public:board_pdf", args=[county.cell_a11.code]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "王网格" in text and "13800000001" in text and "023-66661111" in text
    report = "http://testserver" + reverse("public:report", args=[county.cell_a11.code])
    assert encoded == [report] and report in text
    assert any(page.images for page in reader.pages)  # the photo is in


def test_photos_are_checked_shrunk_and_served_only_for_the_board(
    board_world, client, settings, django_capture_on_commit_callbacks
):
    county = board_world[0]
    worker = county.users.grid_worker
    with pytest.raises(ValidationError) as excinfo:
        services.set_photo(worker, SimpleUploadedFile("x.png", b"not an image"), by=worker)
    assert "photo" in excinfo.value.message_dict
    settings.WANGGE_MAX_UPLOAD_BYTES = 100
    with pytest.raises(ValidationError):
        services.set_photo(worker, image(), by=worker)
    settings.WANGGE_MAX_UPLOAD_BYTES = 10 * 2**20
    with pytest.raises(PermissionDenied):
        services.set_photo(worker, image(), by=county.users.village_b)
    services.set_photo(worker, image(), by=county.users.village_a)  # keeps the staff of 甲一村
    worker.refresh_from_db()
    assert worker.photo.name.startswith("staff/") and worker.photo.name.endswith(".jpg")
    with worker.photo.open("rb") as handle, Image.open(handle) as stored:
        assert stored.format == "JPEG" and max(stored.size) <= services.PHOTO_MAX_PX
    url = reverse("staff_public:photo", args=[county.cell_a11.code, worker.pk])
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    html = client.get(reverse("staff_public:board", args=[county.cell_a11.code])).content.decode()
    assert url in html
    # Somebody not on this board: no photo from here.
    far = make_user("far", (county.grid_b1, Role.GRID_WORKER_FULL_TIME))
    services.set_photo(far, image(), by=far)
    assert client.get(reverse("staff_public:photo", args=[county.cell_a11.code, far.pk])).status_code == 404
    old = worker.photo.name
    with django_capture_on_commit_callbacks(execute=True):
        services.remove_photo(worker, by=worker)
    worker.refresh_from_db()
    assert not worker.photo and not worker.photo.storage.exists(old)
    assert client.get(url).status_code == 404


def test_staff_put_up_their_own_photo(board_world, login, client):
    county = board_world[0]
    response = client.post(reverse("people:photo"), {"photo": image()})
    assert response.status_code == 302 and "/login/" in response["Location"]
    client = login(county.users.grid_worker)
    assert client.post(reverse("people:photo"), {"photo": image()}).status_code == 302
    assert User.objects.get(pk=county.users.grid_worker.pk).photo
    assert "data-has-photo" in client.get(reverse("people:profile")).content.decode()
    client.post(reverse("people:photo"), {"photo": SimpleUploadedFile("x.png", b"junk")})
    assert User.objects.get(pk=county.users.grid_worker.pk).photo  # the bad file changed nothing
    assert client.post(reverse("people:photo"), {"remove": "1"}).status_code == 302
    assert not User.objects.get(pk=county.users.grid_worker.pk).photo


def test_duties_and_photo_are_editable_in_the_admin(board_world, login):
    county = board_world[0]
    post = county.users.grid_worker.posts.get()
    html = (
        login(county.users.township_a)
        .get(reverse("admin:people_post_change", args=[post.pk]))
        .content.decode()
    )
    assert 'name="duties"' in html
    client = login(county.users.sysadmin)
    page = client.get(
        reverse("admin:people_user_change", args=[county.users.grid_worker.pk])
    ).content.decode()
    assert 'name="photo"' in page


def _count_queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_board_and_the_ab_page_take_the_same_queries_for_more_staff(board_world, login, client):
    county = board_world[0]
    board = reverse("staff_public:board", args=[county.grid_a1.code])
    ab_url = reverse("staff:ab", args=[county.village_a.code])
    services.record_absence(
        county.users.grid_worker.posts.get(), by=county.users.village_a, start=TODAY, end=TODAY, reason="sick"
    )
    before = (_count_queries(client, board), _count_queries(login(county.users.village_a), ab_url))
    for i in range(5):
        post = make_user(f"extra{i}", (county.cell_a12, Role.GRID_WORKER_PART_TIME)).posts.get()
        services.pair_posts(post, county.users.grid_leader, by=county.users.village_a)
        services.record_absence(
            post, by=county.users.village_a, start=TODAY, end=TODAY, reason=AbsenceReason.LEAVE
        )
    client.logout()
    after = (_count_queries(client, board), _count_queries(login(county.users.village_a), ab_url))
    assert after == before
