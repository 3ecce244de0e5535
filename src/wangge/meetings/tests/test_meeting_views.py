"""The meeting pages: scope (anonymous → login, no post → 403, another village → 404), recording through
the forms, the resolution steps, the weekly list of grids without a meeting, and the admin."""

import datetime
import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from wangge.cases.choices import Source
from wangge.cases.models import Case
from wangge.core.testing import make_user
from wangge.meetings import services
from wangge.meetings.choices import MeetingKind, ResolutionStatus
from wangge.meetings.models import Meeting
from wangge.people.roles import Role

TODAY = datetime.date(2026, 3, 4)  # Wednesday of ISO week 10

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch, settings):
    settings.WANGGE_MEETING_EDIT_DAYS = 30
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


def record(county, kind=MeetingKind.WEEKLY, unit=None, by=None, held_on=TODAY, **kwargs):
    kwargs.setdefault("minutes", "例会纪要")
    if kind == MeetingKind.WEEKLY:
        unit, by = unit or county.grid_a1, by or county.users.grid_leader
    else:
        unit, by = unit or county.town_a, by or county.users.township_a
    meeting, _ = services.record_meeting(by=by, kind=kind, unit=unit, held_on=held_on, **kwargs)
    return meeting


def meeting_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-meeting="(\d+)"', response.content.decode())]


# --- scope ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["meetings:list", "meetings:create", "meetings:due"])
def test_anonymous_visitors_are_sent_to_sign_in(client, county, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_user_without_a_post_gets_403(county, login):
    meeting = record(county)
    client = login(county.users.outsider)
    for url in (
        reverse("meetings:list"),
        reverse("meetings:due"),
        reverse("meetings:create"),
        reverse("meetings:detail", args=[meeting.pk]),
    ):
        assert client.get(url).status_code == 403, url


def test_another_villages_meeting_answers_404(county, login):
    meeting = record(county, resolutions=["清理河道"])
    resolution = meeting.resolutions.get()
    client = login(county.users.village_b)
    assert client.get(reverse("meetings:detail", args=[meeting.pk])).status_code == 404
    assert client.get(reverse("meetings:edit", args=[meeting.pk])).status_code == 404
    assert (
        client.post(reverse("meetings:add_resolution", args=[meeting.pk]), {"text": "x"}).status_code == 404
    )
    assert client.get(reverse("meetings:spawn", args=[resolution.pk])).status_code == 404
    assert client.post(reverse("meetings:close_resolution", args=[resolution.pk])).status_code == 404
    assert meeting_ids(client.get(reverse("meetings:list"))) == []


def test_the_list_shows_meetings_in_scope_with_filters(county, login):
    mine = record(county, attendees=[county.users.grid_worker], resolutions=["一", "二"])
    village = record(
        county, unit=county.village_a, by=county.users.village_a, held_on=TODAY - datetime.timedelta(days=9)
    )
    town = record(county, kind=MeetingKind.JOINT)
    other = record(county, unit=county.grid_b1, by=county.users.village_b)
    client = login(county.users.village_a)
    response = client.get(reverse("meetings:list"))
    assert meeting_ids(response) == [mine.pk, village.pk]  # not the township's, not 乙一村's
    assert f'data-meeting="{mine.pk}" data-meeting-kind="weekly"' in response.content.decode()

    county_client = login(county.users.county)
    assert set(meeting_ids(county_client.get(reverse("meetings:list")))) == {
        mine.pk,
        village.pk,
        town.pk,
        other.pk,
    }
    filtered = county_client.get(reverse("meetings:list"), {"kind": "joint"})
    assert meeting_ids(filtered) == [town.pk]
    filtered = county_client.get(reverse("meetings:list"), {"unit": county.village_b.code})
    assert meeting_ids(filtered) == [other.pk]
    filtered = county_client.get(reverse("meetings:list"), {"start": "2026-02-20", "end": "2026-02-28"})
    assert meeting_ids(filtered) == [village.pk]
    refused = login(county.users.village_b).get(reverse("meetings:list"), {"unit": county.village_a.code})
    assert 'data-error="unit"' in refused.content.decode() and meeting_ids(refused) == []


def test_the_list_takes_the_same_queries_for_more_meetings(county, login, django_assert_num_queries):
    client = login(county.users.county)
    for _ in range(3):
        record(county, attendees=[county.users.grid_worker], resolutions=["一"])
    client.get(reverse("meetings:list"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("meetings:list"))
    for _ in range(12):
        record(county, kind=MeetingKind.JOINT, attendees=[county.users.township_a], resolutions=["一", "二"])
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("meetings:list"))
    assert len(meeting_ids(response)) == 15
    assert len(many) == len(few)


def test_a_department_sees_the_meetings_that_give_it_work(world, login):
    county = world.county
    meeting = record(county, kind=MeetingKind.JOINT)
    other = record(county, kind=MeetingKind.JOINT, unit=county.town_b, by=county.users.township_b)
    services.add_resolution(
        meeting, by=county.users.township_a, text="应急局牵头", responsible_department=world.department
    )
    client = login(world.users.department)
    assert meeting_ids(client.get(reverse("meetings:list"))) == [meeting.pk]
    assert client.get(reverse("meetings:detail", args=[other.pk])).status_code == 404


# --- recording -------------------------------------------------------------------------------------------------


def test_recording_a_weekly_meeting_through_the_form(county, login):
    client = login(county.users.grid_leader)
    chooser = client.get(reverse("meetings:create"))
    assert chooser.status_code == 200
    page = chooser.content.decode()
    assert (
        f'value="weekly:{county.grid_a1.code}"' in page and f'value="weekly:{county.cell_a11.code}"' in page
    )
    assert f"weekly:{county.grid_a2.code}" not in page

    url = reverse("meetings:create") + f"?target=weekly:{county.grid_a1.code}"
    form = client.get(url)
    assert form.status_code == 200
    body = form.content.decode()
    assert f'data-unit="{county.grid_a1.code}"' in body and "grid_worker" in body
    response = client.post(
        url,
        {
            "held_on": "2026-03-02",
            "chaired_by": county.users.grid_leader.pk,
            "place": "一组网格工作站",
            "agenda": "本周工作",
            "minutes": "通报巡查情况",
            "attendees": [county.users.grid_leader.pk, county.users.grid_worker.pk],
            "resolutions": "清理河道垃圾\n走访独居老人",
            "client_uuid": str(uuid.uuid4()),
        },
    )
    meeting = Meeting.objects.get()
    assert response.status_code == 302 and response.url == reverse("meetings:detail", args=[meeting.pk])
    assert meeting.held_on == datetime.date(2026, 3, 2) and meeting.resolutions.count() == 2
    detail = client.get(response.url).content.decode()
    assert (
        "清理河道垃圾" in detail and 'data-attendee="grid_worker"' in detail and "data-edit-meeting" in detail
    )


def test_the_form_shows_the_services_refusal_on_its_field(county, login):
    client = login(county.users.grid_leader)
    url = reverse("meetings:create") + f"?kind=weekly&unit={county.grid_a1.code}"
    response = client.post(
        url, {"held_on": "2026-01-01", "minutes": "补录", "client_uuid": str(uuid.uuid4())}
    )
    assert response.status_code == 200 and 'data-field="held_on"' in response.content.decode()
    assert "has-error" in response.content.decode() and not Meeting.objects.exists()


def test_recording_is_refused_to_those_the_rule_excludes(county, login):
    worker = login(county.users.grid_worker)
    assert worker.get(reverse("meetings:create")).status_code == 403
    assert (
        worker.get(reverse("meetings:create") + f"?kind=weekly&unit={county.cell_a11.code}").status_code
        == 403
    )
    village = login(county.users.village_a)
    assert (
        village.get(reverse("meetings:create") + f"?kind=joint&unit={county.town_a.code}").status_code == 404
    )
    assert (
        village.get(reverse("meetings:create") + f"?kind=weekly&unit={county.grid_b1.code}").status_code
        == 404
    )


def test_editing_within_the_window_and_not_after(county, login, settings):
    meeting = record(
        county, held_on=TODAY - datetime.timedelta(days=10), attendees=[county.users.grid_worker]
    )
    client = login(county.users.grid_leader)
    url = reverse("meetings:edit", args=[meeting.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "held_on": meeting.held_on.isoformat(),
            "minutes": "修改后的纪要",
            "attendees": [county.users.grid_worker.pk],
        },
    )
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.minutes == "修改后的纪要"
    assert login(county.users.grid_worker).get(url).status_code == 403  # an attendee sees it, may not edit it
    settings.WANGGE_MEETING_EDIT_DAYS = 7
    client = login(county.users.grid_leader)
    response = client.get(url)
    assert response.status_code == 302 and response.url == reverse("meetings:detail", args=[meeting.pk])
    assert "data-edit-meeting" not in client.get(response.url).content.decode()


# --- resolutions ------------------------------------------------------------------------------------------------


def test_adding_a_resolution_and_raising_a_case_from_it(world, login):
    county = world.county
    meeting = record(county, kind=MeetingKind.JOINT)
    client = login(county.users.township_a)
    response = client.post(
        reverse("meetings:add_resolution", args=[meeting.pk]),
        {"text": "排查沿河危房", "responsible_unit": county.village_a.pk, "due_on": "2026-03-20"},
    )
    assert response.status_code == 302
    resolution = meeting.resolutions.get()
    assert resolution.responsible_unit == county.village_a
    detail = client.get(reverse("meetings:detail", args=[meeting.pk])).content.decode()
    assert f'data-spawn="{resolution.pk}"' in detail

    spawn_url = reverse("meetings:spawn", args=[resolution.pk])
    assert client.get(spawn_url).status_code == 200
    response = client.post(spawn_url, {"category": world.category.pk})
    case = Case.objects.get()
    assert response.status_code == 302 and response.url == reverse("cases:detail", args=[case.pk])
    assert case.source == Source.MEETING and case.unit == county.village_a
    assert client.get(spawn_url).url == reverse("cases:detail", args=[case.pk])  # once only
    detail = client.get(reverse("meetings:detail", args=[meeting.pk])).content.decode()
    assert f'data-case="{case.pk}"' in detail and f'data-spawn="{resolution.pk}"' not in detail
    assert login(county.users.village_a).post(spawn_url).status_code == 403  # responsible, not the recorder


def test_raising_a_case_is_refused_to_others(world, login):
    county = world.county
    meeting = record(county, kind=MeetingKind.JOINT, resolutions=["排查"])
    resolution = meeting.resolutions.get()
    client = login(county.users.village_a)  # sees it through nothing: not responsible, not in scope
    assert client.get(reverse("meetings:spawn", args=[resolution.pk])).status_code == 404
    services.add_resolution(
        meeting, by=county.users.township_a, text="甲一村负责", responsible_unit=county.village_a
    )
    assert client.get(reverse("meetings:spawn", args=[resolution.pk])).status_code == 403
    assert not Case.objects.exists()


def test_marking_a_resolution_done(county, login):
    meeting = record(county, resolutions=["清理河道"], attendees=[county.users.grid_worker])
    resolution = meeting.resolutions.get()
    client = login(county.users.grid_leader)
    response = client.post(reverse("meetings:close_resolution", args=[resolution.pk]), {"note": "已清理"})
    assert response.status_code == 302
    resolution.refresh_from_db()
    assert resolution.status == ResolutionStatus.DONE and resolution.close_note == "已清理"
    # The worker of 一格 attended 一组's meeting, so he sees it; marking its resolutions done is not his.
    assert (
        login(county.users.grid_worker)
        .post(reverse("meetings:close_resolution", args=[resolution.pk]))
        .status_code
        == 403
    )


# --- who has not met --------------------------------------------------------------------------------------------


def due_codes(response) -> list[str]:
    return re.findall(r'data-due-grid="(\d+)"', response.content.decode())


def test_the_weekly_list_of_grids_without_a_meeting(county, login):
    make_user("leader_b", (county.grid_b1, Role.GRID_LEADER))
    client = login(county.users.county)
    response = client.get(reverse("meetings:due"))
    assert response.status_code == 200 and 'data-week="2026-W10"' in response.content.decode()
    assert due_codes(response) == [county.grid_a1.code, county.grid_b1.code]
    record(county, held_on=datetime.date(2026, 3, 1))  # Sunday of week 9
    assert due_codes(client.get(reverse("meetings:due"))) == [county.grid_a1.code, county.grid_b1.code]
    week_9 = client.get(reverse("meetings:due"), {"week": "2026-02-27"})
    assert due_codes(week_9) == [county.grid_b1.code]
    village = client.get(reverse("meetings:due"), {"unit": county.village_a.code, "week": "2026-02-27"})
    assert due_codes(village) == []
    assert "data-none-due" in village.content.decode()
    holiday = client.get(reverse("meetings:due"), {"week": "2026-02-18"})
    assert "data-no-working-day" in holiday.content.decode()


def test_the_weekly_list_is_scoped(county, login):
    make_user("leader_b", (county.grid_b1, Role.GRID_LEADER))
    village = login(county.users.village_a)
    assert due_codes(village.get(reverse("meetings:due"))) == [county.grid_a1.code]
    refused = village.get(reverse("meetings:due"), {"unit": county.village_b.code})
    assert 'data-error="unit"' in refused.content.decode() and due_codes(refused) == []
    assert login(county.users.department).get(reverse("meetings:due")).status_code == 403


# --- admin -----------------------------------------------------------------------------------------------------


def test_the_admin_lists_meetings_in_scope_only(county, login):
    mine = record(county)
    other = record(county, unit=county.grid_b1, by=county.users.village_b)
    client = login(county.users.village_a)
    listing = client.get(reverse("admin:meetings_meeting_changelist"))
    assert listing.status_code == 200
    assert reverse("admin:meetings_meeting_change", args=[mine.pk]) in listing.content.decode()
    assert reverse("admin:meetings_meeting_change", args=[other.pk]) not in listing.content.decode()
    assert client.get(reverse("admin:meetings_meeting_change", args=[other.pk])).status_code == 404
    assert client.get(reverse("admin:meetings_meeting_change", args=[mine.pk])).status_code == 200
    assert (
        login(county.users.grid_worker).get(reverse("admin:meetings_meeting_changelist")).status_code == 302
    )


# --- the scope matrix ----------------------------------------------------------------------------------------

ROUTES = {
    "list": ("get", lambda m, r: reverse("meetings:list")),
    "create": ("get", lambda m, r: reverse("meetings:create")),
    "due": ("get", lambda m, r: reverse("meetings:due")),
    "detail": ("get", lambda m, r: reverse("meetings:detail", args=[m.pk])),
    "edit": ("get", lambda m, r: reverse("meetings:edit", args=[m.pk])),
    "add_resolution": ("post", lambda m, r: reverse("meetings:add_resolution", args=[m.pk])),
    "spawn": ("get", lambda m, r: reverse("meetings:spawn", args=[r.pk])),
    "close_resolution": ("post", lambda m, r: reverse("meetings:close_resolution", args=[r.pk])),
}
OBJECT_ROUTES = ["detail", "edit", "add_resolution", "spawn", "close_resolution"]


def test_the_matrix_covers_every_meeting_route():
    from wangge.meetings import urls

    assert {p.name for p in urls.urlpatterns} == set(ROUTES)


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_every_route_is_closed_to_anonymous_visitors_and_users_without_a_post(county, client, login, route):
    meeting = record(county, resolutions=["清理河道"])
    method, url = ROUTES[route]
    target = url(meeting, meeting.resolutions.get())
    response = getattr(client, method)(target, {"text": "x"})
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert getattr(login(county.users.outsider), method)(target, {"text": "x"}).status_code == 403


@pytest.mark.parametrize("route", OBJECT_ROUTES)
def test_every_route_answers_404_for_another_villages_meeting(county, login, route):
    meeting = record(county, resolutions=["清理河道"])
    method, url = ROUTES[route]
    client = login(county.users.village_b)
    assert getattr(client, method)(url(meeting, meeting.resolutions.get()), {"text": "x"}).status_code == 404
    assert meeting.resolutions.count() == 1 and meeting.resolutions.get().status == ResolutionStatus.OPEN
