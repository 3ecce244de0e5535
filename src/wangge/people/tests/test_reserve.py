"""The emergency reserve (应急预备队, TEAM-4): members and their rules, the candidates drawn from B posts and
the ledgers, the page with its counts, masked and revealed phones, and the scope of page and admin."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from wangge.core.audit import history_for
from wangge.core.models import ChangeAction, PersonalDataAccess
from wangge.core.testing import make_user
from wangge.people import services
from wangge.people.models import ReserveKind, ReserveMember
from wangge.people.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.urls("wangge.people.tests.urls")]

TODAY = datetime.date(2026, 12, 1)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


@pytest.fixture
def world(county, ledger):
    """The ledger's 一组 (grid_a1) with a B post: worker_b covers the grid worker of 一格."""
    b = make_user("worker_b", (county.cell_a12, Role.GRID_WORKER_FULL_TIME), full_name="乙岗员")
    b.phone = "13611112222"
    b.save()
    services.pair_posts(
        county.users.grid_worker.posts.get(), b, by=county.users.village_a, start=datetime.date(2026, 11, 1)
    )
    zhang = ledger.residents.zhang
    zhang.tags.add(ledger.tags["veteran"])
    return county, ledger, b


def add(county, **values):
    values.setdefault("kind", ReserveKind.VOLUNTEER)
    return services.add_reserve_member(county.grid_a1, by=county.users.village_a, **values)


def test_adding_a_member_keeps_the_phone_encrypted_and_logs_it(world):
    county, _ledger, _b = world
    member = add(county, name="王志愿", phone="139 0000 1234", skills="物资分发")
    assert member.phone == "13900001234" and member.phone_index
    assert history_for(member).get().action == ChangeAction.CREATE
    assert "139****1234" in str(history_for(member).get().changes)  # the log keeps the masked number
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT phone FROM {ReserveMember._meta.db_table} WHERE id = %s", [member.pk])
        (raw,) = cursor.fetchone()
    assert raw and "13900001234" not in raw


def test_a_member_from_staff_or_ledger_takes_name_and_phone_from_there(world):
    county, ledger, b = world
    from_staff = add(county, kind=ReserveKind.B_POST, user=b)
    assert (from_staff.name, from_staff.phone) == ("乙岗员", "13611112222")
    from_ledger = add(county, kind=ReserveKind.PARTY_MEMBER, resident=ledger.residents.zhao)
    assert (from_ledger.name, from_ledger.phone) == ("赵强", "13700005678")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": "", "phone": "13900001234"}, "name"),
        ({"name": "无电话"}, "phone"),
        ({"name": "错号", "phone": "12345"}, "phone"),
        ({"name": "怪类", "phone": "13900001234", "kind": "astronaut"}, "kind"),
        ({"name": "无账号", "phone": "13900001234", "kind": ReserveKind.B_POST}, "user"),
    ],
)
def test_refused_members(world, values, field):
    county = world[0]
    with pytest.raises(ValidationError) as excinfo:
        add(county, **values)
    assert next(iter(excinfo.value.message_dict)) == field
    assert not ReserveMember.objects.exists()


def test_nobody_joins_one_reserve_twice_and_nobody_from_another_ledger(world):
    county, ledger, b = world
    add(county, kind=ReserveKind.B_POST, user=b)
    with pytest.raises(ValidationError) as excinfo:
        add(county, kind=ReserveKind.B_POST, user=b)
    assert "user" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        services.add_reserve_member(
            county.grid_b1,
            by=county.users.village_b,
            kind=ReserveKind.PARTY_MEMBER,
            resident=ledger.residents.zhao,
        )
    assert "resident" in excinfo.value.message_dict


def test_only_keepers_of_the_staff_change_a_reserve(world):
    county = world[0]
    member = add(county, name="王志愿", phone="13900001234")
    for user in (county.users.grid_leader, county.users.village_b, county.users.outsider):
        with pytest.raises(PermissionDenied):
            services.add_reserve_member(
                county.grid_a1, by=user, kind="volunteer", name="x", phone="13900001234"
            )
        with pytest.raises(PermissionDenied):
            services.remove_reserve_member(member, by=user)
    services.update_reserve_member(member, by=county.users.township_a, available=False)
    member.refresh_from_db()
    assert not member.available and member.phone == "13900001234"
    services.remove_reserve_member(member, by=county.users.village_a)
    assert not ReserveMember.objects.exists()


def test_candidates_are_b_posts_party_members_and_veterans_without_a_post(world):
    county, _ledger, b = world
    assert [c.user for c in services.b_candidates(county.grid_a1)] == [b]
    residents = services.resident_candidates(county.grid_a1, county.users.village_a)
    assert {r.name: services.suggested_kind(r) for r in residents} == {
        "赵强": ReserveKind.PARTY_MEMBER,
        "张伟": ReserveKind.VETERAN,
    }
    # Somebody already holding a post here is no candidate; nor is somebody in the reserve.
    make_user("zhao_staff", (county.cell_a12, Role.GRID_WORKER_PART_TIME), full_name="赵强")
    add(county, kind=ReserveKind.B_POST, user=b)
    assert services.b_candidates(county.grid_a1) == []
    assert [r.name for r in services.resident_candidates(county.grid_a1, county.users.village_a)] == ["张伟"]
    # Another village's ledger is out of reach.
    assert not services.resident_candidates(county.grid_a1, county.users.village_b).exists()


def test_reserve_page_counts_members_by_kind_and_masks_phones(world, login):
    county, ledger, _b = world
    add(county, name="王志愿", phone="13900001234")
    add(county, name="刘医生", phone="13900005678", kind=ReserveKind.DOCTOR, available=False)
    add(county, kind=ReserveKind.PARTY_MEMBER, resident=ledger.residents.zhao)
    client = login(county.users.village_a)
    url = reverse("staff:reserve", args=[county.grid_a1.code])
    html = client.get(url).content.decode()
    assert 'data-total="3" data-ready="2"' in html
    assert 'data-kind="doctor" data-count="1" data-ready="0"' in html
    assert "139****1234" in html and "13900001234" not in html
    assert 'data-candidate-user="worker_b"' in html
    assert f'data-candidate-resident="{ledger.residents.zhang.pk}"' in html
    assert f'data-candidate-resident="{ledger.residents.zhao.pk}"' not in html  # already in
    assert "110101" not in html and ledger.residents.zhang.id_number not in html  # no ID numbers
    html = client.get(url, {"reveal": "1"}).content.decode()
    assert "13900001234" in html
    assert PersonalDataAccess.objects.filter(user=county.users.village_a).count() == 3
    # The county centre works on aggregates: no unmasked numbers.
    html = login(county.users.county).get(url, {"reveal": "1"}).content.decode()
    assert "13900001234" not in html and "data-reveal" not in html
    html = client.get(reverse("staff:reserve", args=[county.village_a.code])).content.decode()
    assert f'data-below="{county.grid_a1.code}"' in html


def test_reserve_page_adds_edits_and_removes(world, login):
    county, ledger, b = world
    client = login(county.users.village_a)
    url = reverse("staff:reserve", args=[county.grid_a1.code])
    response = client.post(url, {"action": "add", "name": "王志愿", "kind": "volunteer", "phone": "1390000"})
    assert response.status_code == 200 and 'data-error="phone"' in response.content.decode()
    data = {"action": "add", "name": "王志愿", "kind": "volunteer", "phone": "13900001234", "available": "on"}
    assert client.post(url, data).status_code == 302
    assert client.post(url, {"action": "add_user", "user": b.pk}).status_code == 302
    assert (
        client.post(url, {"action": "add_resident", "resident": ledger.residents.zhang.pk}).status_code == 302
    )
    kinds = dict(ReserveMember.objects.values_list("name", "kind"))
    assert kinds == {"王志愿": "volunteer", "乙岗员": "b_post", "张伟": "veteran"}
    # A resident of another village cannot be slipped in.
    assert (
        client.post(url, {"action": "add_resident", "resident": ledger.residents.sun.pk}).status_code == 404
    )
    member = ReserveMember.objects.get(name="王志愿")
    edit = reverse("staff:reserve_member", args=[member.pk])
    assert "13900001234" in client.get(edit).content.decode()
    data = {"name": "王志愿", "kind": "volunteer", "phone": "", "skills": "卡口值守", "notes": ""}
    response = client.post(edit, data)  # the village may see the number: it is required
    assert response.status_code == 200 and 'data-error="phone"' in response.content.decode()
    assert client.post(edit, {**data, "phone": "13900009999"}).status_code == 302
    member.refresh_from_db()
    assert (member.phone, member.skills, member.available) == ("13900009999", "卡口值守", False)
    assert client.post(reverse("staff:reserve_remove", args=[member.pk])).status_code == 302
    assert not ReserveMember.objects.filter(pk=member.pk).exists()


def test_reserve_pages_permissions(world, login, client):
    county = world[0]
    member = add(county, name="王志愿", phone="13900001234")
    page = reverse("staff:reserve", args=[county.grid_a1.code])
    edit = reverse("staff:reserve_member", args=[member.pk])
    remove = reverse("staff:reserve_remove", args=[member.pk])
    for url in (page, edit):
        client.logout()
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
        for name in ("grid_worker", "grid_leader", "department", "outsider"):
            assert login(getattr(county.users, name)).get(url).status_code == 403
        assert login(county.users.village_b).get(url).status_code == 404
    assert login(county.users.village_b).post(remove).status_code == 404
    assert login(county.users.grid_leader).post(remove).status_code == 403
    assert ReserveMember.objects.filter(pk=member.pk).exists()


def test_reserve_admin_scope_and_rules(world, login):
    county = world[0]
    member = add(county, name="王志愿", phone="13900001234")
    change = reverse("admin:people_reservemember_change", args=[member.pk])
    assert login(county.users.village_a).get(change).status_code == 200
    assert login(county.users.village_b).get(change).status_code == 404
    assert (
        f"/{member.pk}/change/"
        not in login(county.users.village_b)
        .get(reverse("admin:people_reservemember_changelist"))
        .content.decode()
    )
    client = login(county.users.village_a)
    add_url = reverse("admin:people_reservemember_add")
    data = {
        "unit": county.grid_a1.pk,
        "name": "刘医生",
        "kind": "doctor",
        "phone": "bad",
        "skills": "",
        "notes": "",
    }
    assert client.post(add_url, data).status_code == 200
    assert client.post(add_url, {**data, "phone": "13900005678"}).status_code == 302
    doctor = ReserveMember.objects.get(name="刘医生")
    assert doctor.phone == "13900005678" and history_for(doctor).get().user == county.users.village_a
    response = client.post(
        change,
        {
            "name": "王志愿",
            "kind": "volunteer",
            "phone": "",
            "skills": "照看老人",
            "notes": "",
            "available": "on",
        },
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.phone == "13900001234" and member.skills == "照看老人"


def test_the_reserve_page_takes_the_same_queries_for_more_members(world, login):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    county, ledger, _b = world
    client = login(county.users.village_a)
    url = reverse("staff:reserve", args=[county.grid_a1.code])
    add(county, name="王志愿", phone="13900001234")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    before = count()
    for i in range(10):
        add(
            county,
            name=f"志愿者{i}",
            phone=f"1390000{i:04d}",
            kind=ReserveKind.VOLUNTEER if i % 2 else "doctor",
        )
    add(county, kind=ReserveKind.PARTY_MEMBER, resident=ledger.residents.zhao)
    assert count() == before
