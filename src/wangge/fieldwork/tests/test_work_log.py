"""The daily work log (民情日志, WORK-1): writing it, the rules that refuse it, who has not written, scope."""

import datetime
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from wangge.core.audit import history_for
from wangge.core.models import ChangeAction
from wangge.core.testing import make_user
from wangge.fieldwork import services
from wangge.fieldwork.models import WorkLog
from wangge.people.models import Post
from wangge.people.roles import Role
from wangge.workdays.calendar import is_workday

# A Wednesday. The national-day holiday of 2025 ran 1–8 October; Saturday 11 October was a 调休 working day.
TODAY = datetime.date(2025, 10, 22)
D = datetime.date


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch, settings):
    settings.WANGGE_WORK_LOG_EDIT_DAYS = 7
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


def write(user, grid, date=TODAY, **fields):
    fields.setdefault("patrolled", "沿河路段")
    return services.save_log(by=user, grid=grid, date=date, **fields)


def field_error(excinfo) -> str:
    return next(iter(excinfo.value.message_dict))


@pytest.mark.django_db
def test_save_and_edit_todays_log(county):
    worker = county.users.grid_worker
    log, created = write(worker, county.cell_a11, found="井盖缺失", households_visited=3)
    assert created and log.date == TODAY and log.grid == county.cell_a11 and log.households_visited == 3

    again, created = write(worker, county.cell_a11, found="井盖缺失，已上报", served="代办医保")
    assert not created and again.pk == log.pk
    log.refresh_from_db()
    assert log.found == "井盖缺失，已上报" and log.served == "代办医保" and log.households_visited == 0
    assert WorkLog.objects.count() == 1
    actions = list(history_for(log).values_list("action", flat=True))
    assert actions == [ChangeAction.UPDATE, ChangeAction.CREATE]


@pytest.mark.django_db
def test_a_retry_with_the_same_client_uuid_returns_the_same_log(county):
    worker, key = county.users.grid_worker, uuid.uuid4()
    first, created = write(worker, county.cell_a11, client_uuid=key, found="路灯不亮")
    retry, created_again = write(worker, county.cell_a11, client_uuid=key, found="路灯不亮")
    assert created and not created_again and retry.pk == first.pk
    assert WorkLog.objects.count() == 1 and history_for(first).count() == 1


@pytest.mark.django_db
def test_a_grid_post_at_a_higher_grid_covers_the_grids_below(county):
    leader = county.users.grid_leader  # 网格长 of 一组, which holds 一格 and 二格
    log, _ = write(leader, county.cell_a12)
    assert log.grid == county.cell_a12
    assert [grid.pk for grid in services.log_grids(leader)] == [county.grid_a1.pk]


@pytest.mark.django_db
def test_a_make_up_saturday_is_a_working_day(county, settings):
    settings.WANGGE_WORK_LOG_EDIT_DAYS = 14
    assert is_workday(D(2025, 10, 11))
    _log, created = write(county.users.grid_worker, county.cell_a11, date=D(2025, 10, 11))
    assert created


def a_saturday_off_in_the_edit_window() -> datetime.date:
    day = TODAY
    while not (day.weekday() == 5 and not is_workday(day)):
        day -= datetime.timedelta(days=1)
    assert (TODAY - day).days <= 7
    return day


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("future", "date"),
        ("day_off", "date"),
        ("too_old", "date"),
        ("empty", "patrolled"),
        ("foreign_grid", "grid"),
        ("no_grid_post", "grid"),
    ],
)
def test_refused_logs(county, case, field):
    worker, grid, date = county.users.grid_worker, county.cell_a11, TODAY
    fields = {"patrolled": "沿河路段"}
    if case == "future":
        date = TODAY + datetime.timedelta(days=1)
    elif case == "day_off":
        date = a_saturday_off_in_the_edit_window()
    elif case == "too_old":
        date = TODAY - datetime.timedelta(days=8)
        assert is_workday(date)
    elif case == "empty":
        fields = {"patrolled": "  ", "found": "", "served": "", "notes": "只有备注"}
    elif case == "foreign_grid":
        grid = county.cell_a12  # the neighbouring cell: not the worker's
    elif case == "no_grid_post":
        worker = county.users.village_a  # a village administrator holds no grid post
    with pytest.raises(ValidationError) as excinfo:
        services.save_log(by=worker, grid=grid, date=date, **fields)
    assert field_error(excinfo) == field
    if case == "day_off":
        assert date.isoformat() in excinfo.value.message_dict["date"][0]
    assert not WorkLog.objects.exists()


@pytest.mark.django_db
def test_missing_logs_over_a_crafted_week(county, django_assert_max_num_queries):
    # 6–12 October 2025: Monday to Wednesday are the national holiday, Saturday is a make-up working day.
    assert [d.day for d in services.working_days(D(2025, 10, 6), D(2025, 10, 12))] == [9, 10, 11]
    worker, leader = county.users.grid_worker, county.users.grid_leader
    newcomer = make_user("newcomer")
    Post.objects.create(
        user=newcomer, unit=county.cell_a12, role=Role.GRID_WORKER_PART_TIME, start_date=D(2025, 10, 10)
    )
    make_user("far_worker", (county.grid_b1, Role.GRID_WORKER_FULL_TIME))
    now = timezone.now()
    for author, grid, day in [
        (worker, county.cell_a11, 9),
        (worker, county.cell_a11, 11),
        (leader, county.cell_a12, 10),
        (leader, county.grid_a1, 10),  # two grids the same day count once
    ]:
        WorkLog.objects.create(
            author=author, grid=grid, date=D(2025, 10, day), patrolled="x", submitted_at=now
        )

    with django_assert_max_num_queries(3):
        rows = services.missing_logs(county.village_a, D(2025, 10, 6), D(2025, 10, 12))
    result = {
        row.worker.username: ([d.day for d in row.due_days], [d.day for d in row.missing]) for row in rows
    }
    assert result == {
        "grid_leader": ([9, 10, 11], [9, 11]),
        "grid_worker": ([9, 10, 11], [10]),
        "newcomer": ([10, 11], [10, 11]),
    }


@pytest.mark.django_db
def test_log_page_saves_todays_log_and_a_retry_makes_no_second(county, login):
    client = login(county.users.grid_worker)
    page = client.get(reverse("fieldwork:log"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "data-log-form" in html and 'name="grid"' in html and "<select" not in html  # one grid: no chooser
    key = str(uuid.uuid4())
    data = {
        "grid": county.cell_a11.pk,
        "date": TODAY.isoformat(),
        "client_uuid": key,
        "patrolled": "一格沿街商铺",
        "found": "",
        "served": "帮老人办理高龄补贴",
        "households_visited": "4",
        "notes": "",
    }
    assert client.post(reverse("fieldwork:log"), data).status_code == 302
    assert client.post(reverse("fieldwork:log"), data).status_code == 302
    log = WorkLog.objects.get()
    assert (log.author, log.grid, log.date, log.households_visited) == (
        county.users.grid_worker,
        county.cell_a11,
        TODAY,
        4,
    )
    html = client.get(reverse("fieldwork:log")).content.decode()
    assert f'data-recent-day="{TODAY:%Y-%m-%d}" data-written="yes"' in html
    assert 'data-recent-day="2025-10-21" data-written="no"' in html
    assert 'data-recent-day="2025-10-18"' not in html  # a Saturday off is not listed
    assert "一格沿街商铺" in html  # today's form shows the saved log for editing


@pytest.mark.django_db
def test_log_page_shows_the_service_error_on_the_form(county, login):
    client = login(county.users.grid_worker)
    data = {"grid": county.cell_a11.pk, "date": TODAY.isoformat(), "client_uuid": str(uuid.uuid4())}
    page = client.post(reverse("fieldwork:log"), data)
    assert page.status_code == 200 and 'data-error="patrolled"' in page.content.decode()
    old = {**data, "date": "2025-10-14", "patrolled": "补写"}
    page = client.post(reverse("fieldwork:log"), old)
    assert page.status_code == 200 and 'data-error="date"' in page.content.decode()
    assert not WorkLog.objects.exists()


@pytest.mark.django_db
def test_log_page_offers_a_grid_chooser_to_a_worker_of_several_grids(county, login):
    worker = county.users.grid_worker
    Post.objects.create(
        user=worker, unit=county.cell_a12, role=Role.GRID_WORKER_PART_TIME, start_date=D(2020, 1, 1)
    )
    html = login(worker).get(reverse("fieldwork:log")).content.decode()
    assert '<select name="grid"' in html
    assert f'value="{county.cell_a11.pk}"' in html and f'value="{county.cell_a12.pk}"' in html


@pytest.mark.django_db
def test_log_page_edit_link_only_within_the_window(county, login):
    html = login(county.users.grid_worker).get(reverse("fieldwork:log") + "?date=2025-10-14").content.decode()
    assert "data-not-editable" in html and "data-log-form" not in html


@pytest.mark.django_db
def test_log_page_permissions(county, login, client):
    url = reverse("fieldwork:log")
    assert client.get(url).status_code == 302 and "/login/" in client.get(url)["Location"]
    for name in ("village_a", "department", "outsider"):
        assert login(getattr(county.users, name)).get(url).status_code == 403


@pytest.mark.django_db
def test_desk_page_lists_logs_in_scope_and_missing_logs(county, login):
    write(county.users.grid_worker, county.cell_a11)
    write(county.users.grid_worker, county.cell_a11, date=D(2025, 10, 21))
    url = reverse("fieldwork:logs")

    html = login(county.users.village_a).get(url).content.decode()
    assert html.count("data-log=") == 2
    assert 'data-period="2025-10-20/2025-10-22"' in html  # this week's working days up to today
    assert 'data-missing-worker="grid_worker" data-missing-days="2025-10-20"' in html
    assert 'data-missing-worker="grid_leader" data-missing-days="2025-10-20,2025-10-21,2025-10-22"' in html

    html = (
        login(county.users.township_a).get(url, {"start": "2025-10-22", "end": "2025-10-22"}).content.decode()
    )
    assert html.count("data-log=") == 1 and 'data-missing-worker="grid_worker"' not in html

    html = login(county.users.county).get(url, {"unit": county.village_a.code}).content.decode()
    assert html.count("data-log=") == 2 and f'data-unit="{county.village_a.code}"' in html


@pytest.mark.django_db
def test_another_village_sees_no_log_of_jia_yi_cun(county, login):
    write(county.users.grid_worker, county.cell_a11)
    village_b = county.users.village_b
    assert not WorkLog.objects.visible_to(village_b).exists()
    assert WorkLog.objects.visible_to(county.users.village_a).count() == 1
    url = reverse("fieldwork:logs")
    html = login(village_b).get(url).content.decode()
    assert "data-log=" not in html and 'data-missing-worker="grid_worker"' not in html
    html = login(village_b).get(url, {"unit": county.village_a.code}).content.decode()
    assert "data-log=" not in html and 'data-error="unit"' in html


@pytest.mark.django_db
def test_desk_page_permissions(county, login, client):
    url = reverse("fieldwork:logs")
    assert client.get(url).status_code == 302 and "/login/" in client.get(url)["Location"]
    assert login(county.users.department).get(url).status_code == 403
    assert login(county.users.outsider).get(url).status_code == 403


@pytest.mark.django_db
def test_a_grid_post_at_a_village_covers_its_grids(county):
    worker = make_user("village_grid_worker", (county.village_a, Role.GRID_WORKER_FULL_TIME))
    grids = {grid.pk for grid in services.log_grids(worker)}
    assert grids == {county.grid_a1.pk, county.grid_a2.pk, county.cell_a11.pk, county.cell_a12.pk}
    log, created = write(worker, county.grid_a2)
    assert created and log.grid == county.grid_a2
    with pytest.raises(ValidationError) as excinfo:
        write(worker, county.grid_a2_only)  # 甲二村: another village
    assert field_error(excinfo) == "grid"


def test_the_navigation_leads_grid_workers_to_their_log_and_desks_to_the_logs(county, login):
    from django.urls import reverse

    worker_page = login(county.users.grid_worker).get(reverse("home"), follow=True).content.decode()
    assert reverse("fieldwork:log") in worker_page
    desk_page = login(county.users.village_a).get(reverse("home"), follow=True).content.decode()
    assert reverse("fieldwork:logs") in desk_page and reverse("fieldwork:log") not in desk_page
    assert (
        reverse("fieldwork:logs")
        not in login(county.users.department).get(reverse("home"), follow=True).content.decode()
    )
