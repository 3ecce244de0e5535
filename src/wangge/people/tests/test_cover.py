"""AB岗 (TEAM-3): pairing, absences and their rules, and the cover at work by date — scope, notifications,
case pages, the reminder sweep — plus the AB and absence pages and the admin, with their scope."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from wangge.cases import services as case_services
from wangge.cases import sweeps
from wangge.cases.choices import ActionKind, Source
from wangge.cases.models import Case, CaseAction
from wangge.cases.testing import local
from wangge.core.audit import history_for
from wangge.core.models import ChangeAction
from wangge.core.scope import scope_for
from wangge.core.testing import make_user
from wangge.ledger.models import Household
from wangge.notices.models import Notification, NotificationKind
from wangge.notices.services import notify
from wangge.people import services
from wangge.people.models import Absence, AbsenceReason, CoverPair, Post, User
from wangge.people.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.urls("wangge.people.tests.urls")]

D = datetime.date
FIRST, LAST = D(2026, 12, 1), D(2026, 12, 5)


@pytest.fixture
def day(monkeypatch):
    """`day(date)` makes `date` today for the services, the scope and the notifications."""

    def _set(date):
        monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: date)

    _set(D(2026, 11, 30))
    return _set


@pytest.fixture
def ab(county, day):
    """A = the full-time worker of 一格 (grid_worker); B = the worker of 二格 next to it, same village."""
    b = make_user("worker_b", (county.cell_a12, Role.GRID_WORKER_FULL_TIME), full_name="乙岗员")
    a_post = county.users.grid_worker.posts.get()
    pair = services.pair_posts(a_post, b, by=county.users.village_a, start=D(2026, 11, 1))
    absence = services.record_absence(
        a_post, by=county.users.village_a, start=FIRST, end=LAST, reason=AbsenceReason.TRAINING
    )
    return county, a_post, b, pair, absence


def fresh(user) -> User:
    """The user as a new request loads them: no scope cached."""
    return User.objects.get(pk=user.pk)


def field_error(excinfo) -> str:
    return next(iter(excinfo.value.message_dict))


# --- pairs ---------------------------------------------------------------------------------------------------


def test_pairing_records_the_pair_and_its_history(ab):
    county, a_post, b, pair, absence = ab
    assert (pair.a_post, pair.b_user, pair.start_date, pair.end_date) == (a_post, b, D(2026, 11, 1), None)
    assert history_for(pair).get().action == ChangeAction.CREATE
    assert absence.cover == b and absence.pair == pair and absence.recorded_by == county.users.village_a


def test_a_new_b_replaces_the_current_one_from_its_first_day(ab):
    county, a_post, b, pair, _absence = ab
    c = make_user("worker_c", (county.grid_a1, Role.GRID_WORKER_PART_TIME))
    new = services.pair_posts(a_post, c, by=county.users.village_a, start=D(2026, 12, 10))
    pair.refresh_from_db()
    assert pair.end_date == D(2026, 12, 9) and new.b_user == c
    assert CoverPair.objects.active(D(2026, 12, 10)).get(a_post=a_post).b_user == c
    # The absence recorded under the old pair keeps who covered it.
    assert Absence.objects.get().cover == b


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("not_a_grid_post", "a_post"),
        ("own_b", "b_user"),
        ("other_village", "b_user"),
        ("department_only", "b_user"),
        ("ends_before_start", "end_date"),
        ("post_not_held", "start_date"),
        ("clash", "start_date"),
    ],
)
def test_refused_pairs(county, day, case, field):
    a_post = county.users.grid_worker.posts.get()
    b = make_user("worker_b", (county.cell_a12, Role.GRID_WORKER_FULL_TIME))
    start, end = D(2026, 11, 1), None
    if case == "not_a_grid_post":
        a_post = county.users.village_a.posts.get()
    elif case == "own_b":
        b = county.users.grid_worker
    elif case == "other_village":
        b = make_user("far", (county.grid_a2_only, Role.GRID_WORKER_FULL_TIME))  # 甲二村
    elif case == "department_only":
        b = county.users.department
    elif case == "ends_before_start":
        end = D(2026, 10, 1)
    elif case == "post_not_held":
        start = D(2019, 6, 1)  # the post starts in 2020
    elif case == "clash":
        services.pair_posts(a_post, b, by=county.users.village_a, start=D(2026, 12, 1), end=D(2026, 12, 31))
        b = make_user("worker_c", (county.grid_a1, Role.GRID_WORKER_PART_TIME))
    before = CoverPair.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        services.pair_posts(a_post, b, by=county.users.village_a, start=start, end=end)
    assert field_error(excinfo) == field
    assert CoverPair.objects.count() == before


def test_only_whoever_keeps_the_staff_of_the_unit_pairs(county, day):
    a_post = county.users.grid_worker.posts.get()
    b = make_user("worker_b", (county.cell_a12, Role.GRID_WORKER_FULL_TIME))
    for user in (
        county.users.grid_leader,
        county.users.village_b,
        county.users.township_b,
        county.users.outsider,
    ):
        with pytest.raises(PermissionDenied):
            services.pair_posts(a_post, b, by=user, start=D(2026, 11, 1))
    for i, user in enumerate((county.users.township_a, county.users.county, county.users.sysadmin)):
        pair = services.pair_posts(a_post, b, by=user, start=D(2026, 11, 1 + i))
        services.end_pair(pair, by=user, end=D(2026, 11, 1 + i))
    assert CoverPair.objects.count() == 3


def test_ending_a_pair(ab):
    county, _a_post, _b, pair, _absence = ab
    with pytest.raises(ValidationError) as excinfo:
        services.end_pair(pair, by=county.users.village_a, end=D(2026, 10, 1))
    assert field_error(excinfo) == "end_date"
    services.end_pair(pair, by=county.users.village_a, end=D(2026, 12, 31))
    pair.refresh_from_db()
    assert pair.end_date == D(2026, 12, 31)
    with pytest.raises(ValidationError):
        services.end_pair(pair, by=county.users.village_a, end=D(2027, 1, 31))  # only shortened
    assert [log.action for log in history_for(pair)] == [ChangeAction.UPDATE, ChangeAction.CREATE]


# --- absences ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("end_before_start", "end"),
        ("overlap", "start"),
        ("no_b", "post"),
        ("b_away", "cover"),
        ("a_covers", "start"),
        ("bad_reason", "reason"),
    ],
)
def test_refused_absences(ab, case, field):
    county, a_post, b, _pair, _absence = ab
    village = county.users.village_a
    post, start, end, reason = a_post, D(2026, 12, 10), D(2026, 12, 12), AbsenceReason.LEAVE
    if case == "end_before_start":
        end = D(2026, 12, 9)
    elif case == "overlap":
        start, end = D(2026, 12, 4), D(2026, 12, 8)  # the 1–5 December absence
    elif case == "no_b":
        post = county.users.grid_leader.posts.get()
    elif case == "b_away":
        # B is paired too (A is B's B) and away 11–13 December.
        b_post = b.posts.get()
        services.pair_posts(b_post, county.users.grid_worker, by=village, start=D(2026, 11, 1))
        services.record_absence(b_post, by=village, start=D(2026, 12, 11), end=D(2026, 12, 13), reason="sick")
    elif case == "a_covers":
        # A is the grid leader's B and covers the leader on 11–13 December: A cannot be away then.
        leader_post = county.users.grid_leader.posts.get()
        services.pair_posts(leader_post, county.users.grid_worker, by=village, start=D(2026, 11, 1))
        services.record_absence(
            leader_post, by=village, start=D(2026, 12, 11), end=D(2026, 12, 13), reason="sick"
        )
    elif case == "bad_reason":
        reason = "holiday"
    before = Absence.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        services.record_absence(post, by=village, start=start, end=end, reason=reason)
    assert field_error(excinfo) == field
    assert Absence.objects.count() == before


def test_an_absence_can_only_be_recorded_by_a_keeper_of_the_staff(ab):
    county, a_post, _b, _pair, _absence = ab
    for user in (county.users.grid_worker, county.users.grid_leader, county.users.village_b):
        with pytest.raises(PermissionDenied):
            services.record_absence(
                a_post, by=user, start=D(2026, 12, 10), end=D(2026, 12, 10), reason="leave"
            )


def test_cancelling_an_absence_before_during_and_after(ab, day):
    county, _a_post, _b, _pair, absence = ab
    village = county.users.village_a
    day(D(2026, 12, 3))  # under way: A is back today, the two days away stay
    services.cancel_absence(absence, by=village)
    absence.refresh_from_db()
    assert absence.end == D(2026, 12, 2) and absence.cancelled_at is None
    day(D(2026, 12, 4))
    with pytest.raises(ValidationError) as excinfo:
        services.cancel_absence(absence, by=village)  # over now
    assert field_error(excinfo) == "end"
    later = services.record_absence(
        absence.post, by=village, start=D(2026, 12, 20), end=D(2026, 12, 22), reason="leave"
    )
    services.cancel_absence(later, by=village)
    later.refresh_from_db()
    assert later.is_cancelled and later.cancelled_by == village and later.end == D(2026, 12, 22)
    # A cancelled absence no longer blocks the same days.
    services.record_absence(
        absence.post, by=village, start=D(2026, 12, 21), end=D(2026, 12, 21), reason="sick"
    )


def test_covering_and_away_cover_by_date(ab):
    county, a_post, b, _pair, _absence = ab
    a = county.users.grid_worker
    for date, expected in [
        (D(2026, 11, 30), False),
        (FIRST, True),
        (D(2026, 12, 3), True),
        (LAST, True),
        (D(2026, 12, 6), False),
    ]:
        assert ([p.pk for p in services.covering(b, date)] == [a_post.pk]) is expected, date
        assert (services.away_cover([a.pk, b.pk], date) == {a.pk: b}) is expected, date
        if not expected:
            assert services.away_cover([a.pk, b.pk], date) == {}


# --- the cover at work -----------------------------------------------------------------------------------------


def test_scope_opens_a_s_grid_to_b_on_the_days_of_the_absence_only(ab, day):
    county, a_post, b, _pair, _absence = ab
    grid = county.cell_a11
    household = Household.objects.create(number="A11-9", grid=grid, address="一格9号")
    assert not scope_for(fresh(b)).covers_path(grid.path)
    assert not Household.objects.visible_to(fresh(b)).filter(pk=household.pk).exists()
    day(FIRST)
    # B reads and keeps A's ledger on those days (A's full-time post keeps ledgers).
    assert Household.objects.visible_to(fresh(b)).filter(pk=household.pk).exists()
    assert Household.objects.writable_by(fresh(b)).filter(pk=household.pk).exists()
    scope = scope_for(fresh(b))
    assert scope.covers_path(grid.path) and grid.path in scope.territorial_paths
    assert (Role.GRID_WORKER_FULL_TIME, grid.path) in scope.posts
    assert [c.post_id for c in scope.covering] == [a_post.pk] and scope.covering[0].until == LAST
    assert scope.roles == frozenset({Role.GRID_WORKER_FULL_TIME})  # B's own roles only
    assert not scope.covers_path(county.grid_a2.path)
    day(D(2026, 12, 6))
    assert not scope_for(fresh(b)).covers_path(grid.path) and not scope_for(fresh(b)).covering


def test_the_scope_with_its_cover_duties_costs_one_query(ab, day, django_assert_num_queries):
    _county, _a_post, b, _pair, _absence = ab
    day(FIRST)
    user = fresh(b)
    with django_assert_num_queries(1):
        scope = scope_for(user)
        scope_for(user)  # cached on the user object
    assert scope.covering


def _report_in_a_grid(county):
    case, _ = case_services.report_case(
        reporter=None,
        source=Source.RESIDENT,
        description="一格路灯不亮",
        unit=county.cell_a11,
        reporter_name="李女士",
    )
    return case


def _reported_to(case) -> dict[str, str]:
    return dict(
        Notification.objects.filter(case=case, kind=NotificationKind.REPORTED).values_list(
            "recipient__username", "title"
        )
    )


@pytest.mark.parametrize(
    ("date", "b_told"),
    [(D(2026, 11, 30), False), (FIRST, True), (LAST, True), (D(2026, 12, 6), False)],
)
def test_a_new_case_in_a_s_grid_reaches_b_during_the_absence(ab, day, date, b_told):
    county, _a_post, _b, _pair, _absence = ab
    day(date)
    told = _reported_to(_report_in_a_grid(county))
    assert "grid_worker" in told  # A keeps the notification
    assert ("worker_b" in told) is b_told
    if b_told:
        marker = gettext("[covering for %(name)s]") % {"name": county.users.grid_worker.get_full_name()}
        assert told["worker_b"] == f"{marker} {told['grid_worker']}"


def test_notify_adds_the_cover_once_and_never_twice(ab, day):
    county, _a_post, b, _pair, _absence = ab
    day(FIRST)
    a = county.users.grid_worker
    assert notify([a, a], NotificationKind.URGED, "催办") == 2
    assert notify([a, b], NotificationKind.URGED, "又催办") == 2  # B is told once, as B
    titles = list(Notification.objects.filter(recipient=b).order_by("id").values_list("title", flat=True))
    assert titles[0].endswith(" 催办") and titles[0] != "催办" and titles[1] == "又催办"


def test_b_opens_and_acts_on_a_s_case_during_the_absence_and_not_after(ab, day, login):
    county, _a_post, b, _pair, _absence = ab
    case = _report_in_a_grid(county)
    url = reverse("cases:detail", args=[case.pk])
    client = login(b)
    assert client.get(url).status_code == 404  # 30 November: not yet
    day(D(2026, 12, 2))
    assert client.get(url).status_code == 200
    response = client.post(
        reverse("cases:act", args=[case.pk, "verify"]),
        {"note": "现场核实：路灯不亮", "expected_version": case.version},
    )
    assert response.status_code == 302
    action = CaseAction.objects.get(case=case, kind=ActionKind.VERIFY)
    assert action.actor == b
    day(D(2026, 12, 6))
    assert client.get(url).status_code == 404
    assert not Case.objects.visible_to(fresh(b)).filter(pk=case.pk).exists()


def test_the_reminder_sweep_reaches_b(ab, day):
    county, _a_post, _b, _pair, _absence = ab
    case = _report_in_a_grid(county)
    Case.objects.filter(pk=case.pk).update(stage_due_at=local(2026, 12, 2, 17, 30))
    day(D(2026, 12, 2))
    result = sweeps.sweep_due_soon(now=local(2026, 12, 2, 9))
    assert result.warned == [case.pk]
    told = set(
        Notification.objects.filter(case=case, kind=NotificationKind.DUE_SOON).values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"grid_worker", "worker_b"}


# --- pages ---------------------------------------------------------------------------------------------------


def test_ab_page_lists_pairs_absences_and_who_is_away_today(ab, day, login):
    county, _a_post, _b, pair, absence = ab
    day(D(2026, 12, 2))
    html = (
        login(county.users.village_a).get(reverse("staff:ab", args=[county.village_a.code])).content.decode()
    )
    assert f'data-pair="{pair.pk}" data-pair-a="grid_worker" data-pair-b="worker_b"' in html
    assert 'data-away="grid_worker" data-cover="worker_b"' in html
    assert f'data-absence="{absence.pk}" data-absence-cover="worker_b"' in html
    assert "data-unpaired=" in html  # the grid leader's post has no B
    assert 'id="pair-form"' in html and 'id="absence-form"' in html
    html = login(county.users.county).get(reverse("staff:ab", args=[county.county.code])).content.decode()
    assert f'data-pair="{pair.pk}"' in html and "data-open-village" in html


def test_ab_page_pairs_and_records_absences(county, day, login):
    b = make_user("worker_b", (county.cell_a12, Role.GRID_WORKER_FULL_TIME))
    a_post = county.users.grid_worker.posts.get()
    client = login(county.users.village_a)
    url = reverse("staff:ab", args=[county.village_a.code])
    response = client.post(
        url,
        {"action": "pair", "pair-a_post": a_post.pk, "pair-b_user": b.pk, "pair-start_date": "2026-11-30"},
    )
    assert response.status_code == 302
    pair = CoverPair.objects.get()
    data = {
        "action": "absence",
        "absence-post": a_post.pk,
        "absence-start": "2026-12-01",
        "absence-end": "2026-11-29",
        "absence-reason": "sick",
    }
    page = client.post(url, data)
    assert page.status_code == 200 and 'data-error="end"' in page.content.decode()
    assert client.post(url, {**data, "absence-end": "2026-12-03"}).status_code == 302
    absence = Absence.objects.get()
    assert (absence.cover, absence.end) == (b, D(2026, 12, 3))
    assert client.post(url, {"action": "cancel", "absence": absence.pk}).status_code == 302
    absence.refresh_from_db()
    assert absence.is_cancelled
    assert (
        client.post(url, {"action": "end_pair", "pair": pair.pk, "end_date": "2026-12-31"}).status_code == 302
    )
    pair.refresh_from_db()
    assert pair.end_date == D(2026, 12, 31)


def test_ab_page_permissions(ab, login, client):
    county = ab[0]
    url = reverse("staff:ab", args=[county.village_a.code])
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    for name in ("grid_worker", "grid_leader", "department", "outsider"):
        assert login(getattr(county.users, name)).get(url).status_code == 403
    assert login(county.users.village_b).get(url).status_code == 404  # another village
    assert login(county.users.township_b).get(url).status_code == 404
    assert login(county.users.village_b).get(reverse("staff:ab", args=["999999"])).status_code == 404
    assert login(county.users.township_a).get(url).status_code == 200
    # Another village's pair cannot be ended from one's own page.
    pair = ab[3]
    other = reverse("staff:ab", args=[county.village_b.code])
    response = login(county.users.village_b).post(
        other, {"action": "end_pair", "pair": pair.pk, "end_date": "2026-12-31"}
    )
    assert response.status_code == 404


def test_absence_page_shows_who_covered_and_what_they_did(ab, day, login):
    county, _a_post, b, _pair, absence = ab
    case = _report_in_a_grid(county)
    elsewhere, _ = case_services.report_case(
        reporter=None, source=Source.RESIDENT, description="二组井盖缺失", unit=county.grid_a2
    )
    day(D(2026, 12, 2))
    case_services.verify(case, by=fresh(b), note="已核实", now=local(2026, 12, 2, 10))
    day(D(2026, 12, 7))
    url = reverse("staff:absence", args=[absence.pk])
    html = login(county.users.village_a).get(url).content.decode()
    assert 'data-cover="worker_b"' in html and 'data-dates="2026-12-01/2026-12-05"' in html
    assert f'data-case="{case.pk}"' in html and f'data-case="{elsewhere.pk}"' not in html
    # The absent holder and the cover see it too; nobody else without the right.
    assert login(b).get(url).status_code == 200
    assert login(county.users.grid_worker).get(url).status_code == 200
    assert login(county.users.grid_leader).get(url).status_code == 403
    assert login(county.users.village_b).get(url).status_code == 404


def test_the_profile_shows_the_cover_duty_of_the_day(ab, day, login):
    _county, a_post, b, _pair, absence = ab
    day(D(2026, 12, 2))
    html = login(b).get(reverse("people:profile")).content.decode()
    assert f'data-covering="{a_post.pk}"' in html and 'data-b-of="grid_worker"' in html
    html = login(ab[0].users.grid_worker).get(reverse("people:profile")).content.decode()
    assert f'data-my-absence="{absence.pk}"' in html


# --- admin ----------------------------------------------------------------------------------------------------


def test_admin_lists_pairs_and_absences_in_scope_only(ab, login):
    county, _a_post, _b, pair, absence = ab
    for model, obj in (("coverpair", pair), ("absence", absence)):
        changelist = reverse(f"admin:people_{model}_changelist")
        change = reverse(f"admin:people_{model}_change", args=[obj.pk])
        assert login(county.users.village_a).get(changelist).status_code == 200
        assert login(county.users.village_a).get(change).status_code == 200
        assert login(county.users.village_b).get(change).status_code == 404
        html = login(county.users.village_b).get(changelist).content.decode()
        assert f"/{obj.pk}/change/" not in html
        assert login(county.users.grid_worker).get(changelist).status_code == 302  # no admin at all


def test_admin_adds_a_pair_through_the_rules(county, day, login):
    b = make_user("worker_b", (county.cell_a12, Role.GRID_WORKER_FULL_TIME))
    far = make_user("far", (county.grid_a2_only, Role.GRID_WORKER_FULL_TIME))
    a_post = county.users.grid_worker.posts.get()
    client = login(county.users.village_a)
    url = reverse("admin:people_coverpair_add")
    data = {"a_post": a_post.pk, "b_user": far.pk, "start_date": "2026-11-30", "end_date": ""}
    page = client.post(url, data)
    assert page.status_code == 200 and not CoverPair.objects.exists()
    assert client.post(url, {**data, "b_user": b.pk}).status_code == 302
    pair = CoverPair.objects.get()
    assert pair.b_user == b and history_for(pair).get().user == county.users.village_a
    absence_url = reverse("admin:people_absence_add")
    data = {"post": a_post.pk, "start": "2026-12-01", "end": "2026-12-02", "reason": "leave", "note": ""}
    assert client.post(absence_url, data).status_code == 302
    assert Absence.objects.get().cover == b


def test_the_cover_is_kept_when_the_pair_changes(ab):
    county, a_post, b, pair, absence = ab
    services.end_pair(pair, by=county.users.village_a, end=D(2026, 12, 7))
    c = make_user("worker_c", (county.grid_a1, Role.GRID_WORKER_PART_TIME))
    services.pair_posts(a_post, c, by=county.users.village_a, start=D(2026, 12, 8))
    absence.refresh_from_db()
    assert absence.cover == b
    assert Post.objects.get(pk=a_post.pk).cover_pairs.count() == 2


def test_the_staff_desk_opens_on_the_top_unit_one_keeps(county, login, client):
    url = reverse("staff:home")
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert login(county.users.grid_worker).get(url).status_code == 403
    response = login(county.users.village_a).get(url)
    assert response["Location"] == reverse("staff:ab", args=[county.village_a.code])
    response = login(county.users.township_a).get(url)
    assert response["Location"] == reverse("staff:ab", args=[county.town_a.code])
