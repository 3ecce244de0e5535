"""The annual appraisal's rules (年度考核, seed 002): who is appraised, the steps, the ballots, the 15% cap
on 优秀, finalising, and what follows the rating — dismissal, notice, awards and pipeline flags."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from wangge.annual import services
from wangge.annual.choices import Rating, RoundStatus, Voting
from wangge.annual.models import AppraisalEntry, AppraisalRound, Award, Ballot
from wangge.core.audit import history_for
from wangge.core.models import ChangeAction
from wangge.core.testing import make_user
from wangge.notices.models import Notification, NotificationKind
from wangge.people.models import Post
from wangge.people.roles import Role
from wangge.teams.choices import FlagKind
from wangge.teams.models import PipelineFlag

from .conftest import DAY, YEAR, entry_of, fresh, grid_staff, open_village_round, ready

pytestmark = pytest.mark.django_db


def field_of(excinfo) -> str:
    return next(iter(excinfo.value.message_dict))


def message_of(excinfo) -> str:
    return next(iter(excinfo.value.message_dict.values()))[0]


def finalised(round, by):
    """Rate everyone competent (by `by`) and finalise."""
    ready(round)
    for entry in round.entries.select_related("round__unit", "user"):
        if not entry.rating:
            services.rate(entry, by=by, rating=Rating.COMPETENT)
    return services.finalise(round, by=by)


# --- who is appraised ---------------------------------------------------------------------------------------


def test_opening_fixes_one_entry_per_holder_of_a_grid_post(county, today):
    users = county.users
    Post.objects.create(
        user=users.grid_leader, unit=county.cell_a12, role=Role.GRID_WORKER_PART_TIME, start_date=DAY
    )  # a second post: still one entry
    gone = make_user("gone", (county.cell_a12, Role.GRID_WORKER_PART_TIME))
    Post.objects.filter(user=gone).update(end_date=datetime.date(2026, 6, 30))
    round = open_village_round(county)

    assert round.year == YEAR and round.reference_date == DAY and round.excellent_share == 15
    assert round.status == RoundStatus.OPEN and round.opened_by == users.village_a
    entries = {e.user.username: e for e in round.entries.select_related("user", "unit")}
    assert set(entries) == {"grid_leader", "grid_worker"}  # not the administrator, not who left in June
    assert entries["grid_leader"].unit == county.grid_a1 and entries["grid_leader"].role == Role.GRID_LEADER
    assert entries["grid_worker"].unit == county.cell_a11
    assert [c.action for c in history_for(round)] == [ChangeAction.CREATE]
    assert history_for(round).get().changes["people"] == 2


def test_the_people_are_asked_to_report_and_the_staff_to_vote(county, today):
    open_village_round(county)
    users = county.users
    asked = Notification.objects.filter(url="/annual/mine/")
    assert set(asked.values_list("recipient__username", flat=True)) == {"grid_leader", "grid_worker"}
    voters = Notification.objects.filter(url="/annual/ballot/")
    assert set(voters.values_list("recipient__username", flat=True)) == {"village_a"}
    assert {n.kind for n in Notification.objects.all()} == {NotificationKind.APPRAISAL}
    assert not Notification.objects.filter(recipient=users.village_b).exists()


def test_a_counts_round_asks_nobody_to_vote(county, today):
    open_village_round(county, voting=Voting.COUNTS)
    assert not Notification.objects.filter(url="/annual/ballot/").exists()


def test_nobody_is_appraised_twice_in_a_year(county, today):
    village = open_village_round(county)
    extra = make_user("a2_worker", (county.grid_a2_only, Role.GRID_WORKER_FULL_TIME))
    town = services.open_round(by=county.users.township_a, unit=county.town_a, year=YEAR)
    assert list(town.entries.values_list("user__username", flat=True)) == ["a2_worker"]
    with pytest.raises(ValidationError) as excinfo:
        services.add_person(town, by=county.users.township_a, user=county.users.grid_worker)
    assert field_of(excinfo) == "user" and village.title in message_of(excinfo)
    assert AppraisalEntry.objects.filter(user=extra).count() == 1


@pytest.mark.parametrize(
    ("unit_name", "year", "reference", "field"),
    [
        ("grid_a1", YEAR, None, "unit"),
        ("village_a", YEAR + 1, None, "year"),
        ("village_a", YEAR, datetime.date(2025, 12, 31), "reference_date"),
        ("village_a", YEAR, datetime.date(2026, 12, 20), "reference_date"),  # after today
    ],
)
def test_rounds_are_opened_by_divisions_for_a_year_that_has_begun(
    county, today, unit_name, year, reference, field
):
    with pytest.raises(ValidationError) as excinfo:
        services.open_round(
            by=county.users.village_a, unit=getattr(county, unit_name), year=year, reference_date=reference
        )
    assert field_of(excinfo) == field
    assert not AppraisalRound.objects.exists()


def test_a_unit_runs_one_round_a_year_and_only_its_appraisers_open_it(county, today):
    open_village_round(county)
    with pytest.raises(ValidationError) as excinfo:
        open_village_round(county)
    assert field_of(excinfo) == "year"
    for outsider in (county.users.village_b, county.users.grid_leader, county.users.department):
        with pytest.raises(PermissionDenied):
            services.open_round(by=outsider, unit=county.village_a, year=YEAR - 1)


def test_a_round_with_nobody_to_appraise_is_refused(county, today):
    with pytest.raises(ValidationError) as excinfo:
        services.open_round(by=county.users.village_b, unit=county.village_b, year=YEAR)
    assert field_of(excinfo) == "unit"


def test_people_are_added_and_removed_until_the_first_rating(village_round, county):
    users = county.users
    leaver = make_user("leaver", (county.cell_a12, Role.GRID_WORKER_PART_TIME))
    Post.objects.filter(user=leaver).update(end_date=datetime.date(2026, 5, 31))  # served part of the year
    assert [p.user for p in services.candidates(village_round)] == [leaver]
    entry = services.add_person(village_round, by=users.village_a, user=leaver)
    assert entry.unit == county.cell_a12 and services.candidates(village_round) == []
    with pytest.raises(ValidationError) as excinfo:
        services.add_person(village_round, by=users.village_a, user=users.village_b)  # no grid post there
    assert field_of(excinfo) == "user"
    services.remove_entry(entry, by=users.village_a)
    assert not AppraisalEntry.objects.filter(user=leaver).exists()
    assert [c.action for c in history_for(entry)] == [ChangeAction.DELETE, ChangeAction.CREATE]

    ready(village_round)
    services.rate(entry_of(village_round, users.grid_worker), by=users.village_a, rating=Rating.COMPETENT)
    with pytest.raises(ValidationError) as excinfo:
        services.add_person(village_round, by=users.village_a, user=leaver)
    assert field_of(excinfo) == "user"
    with pytest.raises(ValidationError):
        services.remove_entry(entry_of(village_round, users.grid_leader), by=users.village_a)
    assert village_round.entries.count() == 2


# --- the 15% cap on 优秀 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("people", "cap"), [(100, 15), (99, 14), (20, 3), (14, 2), (13, 1), (7, 1), (6, 0), (1, 0)]
)
def test_the_cap_rounds_down(people, cap):
    assert services.excellent_cap(people, 15) == cap


def test_a_16th_excellent_out_of_100_is_refused_and_says_why(county, today):
    grid_staff(county.cell_a12, 98)
    round = open_village_round(county)
    assert round.entries.count() == 100
    ready(round)
    entries = list(round.entries.select_related("round__unit", "user").order_by("id"))
    for entry in entries[:15]:
        services.rate(entry, by=county.users.village_a, rating=Rating.EXCELLENT)
    with pytest.raises(ValidationError) as excinfo:
        services.rate(entries[15], by=county.users.village_a, rating=Rating.EXCELLENT)
    assert field_of(excinfo) == "rating"
    assert message_of(excinfo) == services.cap_message(100, 15, 15)
    assert all(figure in message_of(excinfo) for figure in ("15%", "100", "15"))
    assert round.entries.filter(rating=Rating.EXCELLENT).count() == 15
    # Rating one of the fifteen again does not count it twice; moving it down frees the place.
    services.rate(entries[0], by=county.users.village_a, rating=Rating.EXCELLENT, note="再次确认")
    services.rate(entries[0], by=county.users.village_a, rating=Rating.COMPETENT)
    services.rate(entries[15], by=county.users.village_a, rating=Rating.EXCELLENT)
    assert round.entries.filter(rating=Rating.EXCELLENT).count() == 15


def test_seven_people_allow_one_excellent(county, today):
    grid_staff(county.cell_a12, 5)
    round = open_village_round(county)
    ready(round)
    first, second = list(round.entries.select_related("round__unit", "user").order_by("id"))[:2]
    services.rate(first, by=county.users.village_a, rating=Rating.EXCELLENT)
    with pytest.raises(ValidationError) as excinfo:
        services.rate(second, by=county.users.village_a, rating=Rating.EXCELLENT)
    assert message_of(excinfo) == services.cap_message(7, 15, 1)


def test_six_people_allow_none_and_the_message_points_to_the_level_above(county, today):
    grid_staff(county.cell_a12, 4)
    round = open_village_round(county)
    ready(round)
    entry = round.entries.select_related("round__unit", "user").first()
    with pytest.raises(ValidationError) as excinfo:
        services.rate(entry, by=county.users.village_a, rating=Rating.EXCELLENT)
    message = message_of(excinfo)
    assert message == services.cap_message(6, 15, 0)
    assert "6" in message and "0" in message
    assert services.cap_message(6, 15, 0) != services.cap_message(7, 15, 0)  # the small-unit wording


def test_the_share_is_a_setting_kept_by_each_round(county, today, settings):
    settings.WANGGE_EXCELLENT_SHARE_PERCENT = 50
    grid_staff(county.cell_a12, 2)  # 4 people: 2 at 50%
    round = open_village_round(county)
    assert round.excellent_share == 50
    settings.WANGGE_EXCELLENT_SHARE_PERCENT = 15  # a later change leaves the round as it opened
    ready(round)
    first, second, third = list(round.entries.select_related("round__unit", "user").order_by("id"))[:3]
    services.rate(first, by=county.users.village_a, rating=Rating.EXCELLENT)
    services.rate(second, by=county.users.village_a, rating=Rating.EXCELLENT)
    with pytest.raises(ValidationError):
        services.rate(third, by=county.users.village_a, rating=Rating.EXCELLENT)


# --- the steps ----------------------------------------------------------------------------------------------


def test_the_person_writes_the_self_report_or_an_appraiser_enters_it(village_round, county):
    users = county.users
    mine = entry_of(village_round, users.grid_worker)
    services.write_self_report(mine, by=users.grid_worker, text="全年走访320户次")
    mine.refresh_from_db()
    assert mine.self_report == "全年走访320户次" and mine.self_report_by == users.grid_worker
    theirs = entry_of(village_round, users.grid_leader)
    services.write_self_report(theirs, by=users.village_a, text="按纸质述职录入")
    assert entry_of(village_round, users.grid_leader).self_report_by == users.village_a
    with pytest.raises(PermissionDenied):
        services.write_self_report(theirs, by=users.grid_worker, text="替别人写")
    with pytest.raises(PermissionDenied):
        services.write_self_report(theirs, by=users.village_b, text="外村")
    with pytest.raises(ValidationError) as excinfo:
        services.write_self_report(mine, by=users.grid_worker, text="   ")
    assert field_of(excinfo) == "self_report"


def test_counts_on_site_check_and_rating_in_order(counts_round, county):
    users = county.users
    entry = entry_of(counts_round, users.grid_worker)
    with pytest.raises(ValidationError) as excinfo:
        services.rate(entry, by=users.village_a, rating=Rating.COMPETENT)
    assert field_of(excinfo) == "rating"  # no self-report yet
    services.write_self_report(entry, by=users.grid_worker, text="述职")
    with pytest.raises(ValidationError) as excinfo:
        services.rate(entry, by=users.village_a, rating=Rating.COMPETENT)
    assert field_of(excinfo) == "rating"  # no votes yet
    with pytest.raises(ValidationError) as excinfo:
        services.enter_votes(entry, by=users.village_a, excellent=0, competent=0, incompetent=0)
    assert field_of(excinfo) == "votes_excellent"
    services.enter_votes(entry, by=users.village_a, excellent=3, competent=9, incompetent=1)
    with pytest.raises(ValidationError) as excinfo:
        services.record_onsite_check(entry, by=users.village_a, findings="台账齐全", score=101)
    assert field_of(excinfo) == "onsite_score"
    services.record_onsite_check(entry, by=users.village_a, findings="台账齐全", score=88)
    with pytest.raises(ValidationError) as excinfo:
        services.rate(entry, by=users.village_a, rating=Rating.INCOMPETENT)
    assert field_of(excinfo) == "rating_note"  # dismissal needs its grounds
    services.rate(entry, by=users.village_a, rating=Rating.COMPETENT)
    entry.refresh_from_db()
    assert (entry.votes_excellent, entry.votes_competent, entry.votes_incompetent) == (3, 9, 1)
    assert entry.onsite_score == 88 and entry.rating == Rating.COMPETENT and entry.rated_by == users.village_a
    assert len(history_for(entry)) == 5  # opened, then self-report, votes, on-site check, rating

    # A rated entry's steps are closed; its rating may still change until the round is finalised.
    for call in (
        lambda: services.write_self_report(entry, by=users.grid_worker, text="改"),
        lambda: services.enter_votes(entry, by=users.village_a, excellent=1, competent=1, incompetent=1),
        lambda: services.record_onsite_check(entry, by=users.village_a, findings="再查"),
    ):
        with pytest.raises(ValidationError):
            call()
    services.rate(entry, by=users.village_a, rating=Rating.INCOMPETENT, note="群众反映多")


def test_vote_counts_are_not_entered_in_a_ballot_round(village_round, county):
    with pytest.raises(ValidationError) as excinfo:
        services.enter_votes(
            entry_of(village_round, county.users.grid_worker),
            by=county.users.village_a,
            excellent=1,
            competent=2,
            incompetent=0,
        )
    assert field_of(excinfo) == "votes_excellent"


def test_an_appraiser_does_not_decide_their_own_appraisal(county, today):
    users = county.users
    Post.objects.create(user=users.village_a, unit=county.grid_a2, role=Role.GRID_LEADER, start_date=DAY)
    round = services.open_round(by=users.township_a, unit=county.town_a, year=YEAR, voting=Voting.COUNTS)
    ready(round)
    own = entry_of(round, users.village_a)
    for call in (
        lambda: services.rate(own, by=fresh(users.village_a), rating=Rating.EXCELLENT),
        lambda: services.record_onsite_check(own, by=fresh(users.village_a), findings="自查"),
        lambda: services.enter_votes(own, by=fresh(users.village_a), excellent=9, competent=0, incompetent=0),
    ):
        with pytest.raises(PermissionDenied):
            call()
    services.write_self_report(own, by=fresh(users.village_a), text="本人述职")  # the one step that is theirs


# --- ballots ------------------------------------------------------------------------------------------------


def test_a_ballot_adds_to_the_tally_once_per_voter(village_round, county):
    users = county.users
    leader = entry_of(village_round, users.grid_leader)
    services.cast_ballot(leader, voter=users.grid_worker, choice=Rating.EXCELLENT)
    services.cast_ballot(leader, voter=users.village_a, choice=Rating.COMPETENT)
    leader.refresh_from_db()
    assert (leader.votes_excellent, leader.votes_competent, leader.votes_incompetent) == (1, 1, 0)
    with pytest.raises(ValidationError) as excinfo:
        services.cast_ballot(leader, voter=users.grid_worker, choice=Rating.INCOMPETENT)
    assert field_of(excinfo) == "voter"
    leader.refresh_from_db()
    assert leader.votes_total == 2 and Ballot.objects.count() == 2
    # The change log says who voted, never what.
    logged = [history_for(ballot).get() for ballot in Ballot.objects.all()]
    assert {row.user for row in logged} == {users.grid_worker, users.village_a}
    assert all(
        str(Rating.EXCELLENT.label) not in row.object_repr and "choice" not in row.changes for row in logged
    )


def test_nobody_votes_on_themself(village_round, county):
    with pytest.raises(ValidationError) as excinfo:
        services.cast_ballot(
            entry_of(village_round, county.users.grid_worker),
            voter=county.users.grid_worker,
            choice=Rating.EXCELLENT,
        )
    assert field_of(excinfo) == "voter"
    assert not Ballot.objects.exists()


@pytest.mark.parametrize("voter", ["village_b", "township_b", "department", "outsider"])
def test_only_the_staff_of_the_unit_vote(village_round, county, voter):
    with pytest.raises((ValidationError, PermissionDenied)):
        services.cast_ballot(
            entry_of(village_round, county.users.grid_worker),
            voter=getattr(county.users, voter),
            choice=Rating.COMPETENT,
        )
    assert not Ballot.objects.exists()


def test_staff_above_the_unit_do_not_vote_but_staff_below_do(county, today):
    users = county.users
    round = open_village_round(county)
    entry = entry_of(round, users.grid_worker)
    with pytest.raises(ValidationError):
        services.cast_ballot(entry, voter=users.township_a, choice=Rating.COMPETENT)  # above 甲一村
    services.cast_ballot(entry, voter=users.grid_leader, choice=Rating.COMPETENT)  # below it


def test_several_votes_are_cast_all_or_none(village_round, county):
    users = county.users
    worker, leader = entry_of(village_round, users.grid_worker), entry_of(village_round, users.grid_leader)
    with pytest.raises(ValidationError) as excinfo:
        services.cast_ballots(
            voter=users.grid_leader, choices={worker: Rating.EXCELLENT, leader: Rating.EXCELLENT}
        )
    assert set(excinfo.value.message_dict) == {f"vote_{leader.pk}"}
    assert not Ballot.objects.exists()
    worker.refresh_from_db()
    assert worker.votes_total == 0


def test_votes_stop_once_the_person_is_rated(village_round, county):
    users = county.users
    ready(village_round)
    entry = entry_of(village_round, users.grid_worker)
    services.rate(entry, by=users.village_a, rating=Rating.COMPETENT)
    with pytest.raises(ValidationError) as excinfo:
        services.cast_ballot(entry, voter=users.grid_leader, choice=Rating.EXCELLENT)
    assert field_of(excinfo) == "entry"


def test_a_counts_round_takes_no_ballots(county, today):
    round = open_village_round(county, voting=Voting.COUNTS)
    with pytest.raises(ValidationError) as excinfo:
        services.cast_ballot(
            entry_of(round, county.users.grid_worker), voter=county.users.grid_leader, choice=Rating.COMPETENT
        )
    assert field_of(excinfo) == "entry"


def test_the_ballot_sheet_lists_colleagues_not_oneself(village_round, county):
    users = county.users
    sheets = services.ballot_sheets(users.grid_worker)
    assert [s.round for s in sheets] == [village_round]
    assert [e.user for e in sheets[0].pending] == [users.grid_leader]
    services.cast_ballot(sheets[0].pending[0], voter=users.grid_worker, choice=Rating.EXCELLENT)
    sheet = services.ballot_sheets(users.grid_worker)[0]
    assert sheet.pending == [] and [e.user for e in sheet.voted] == [users.grid_leader]
    assert services.ballot_sheets(users.village_b) == []
    assert [e.user.username for e in services.ballot_sheets(users.village_a)[0].pending] == [
        "grid_leader",
        "grid_worker",
    ]


# --- finalising ---------------------------------------------------------------------------------------------


def test_finalising_needs_everyone_rated_and_freezes_the_round(village_round, county):
    users = county.users
    ready(village_round)
    worker, leader = entry_of(village_round, users.grid_worker), entry_of(village_round, users.grid_leader)
    services.rate(worker, by=users.village_a, rating=Rating.COMPETENT)
    with pytest.raises(ValidationError) as excinfo:
        services.finalise(village_round, by=users.village_a)
    assert field_of(excinfo) == "status"
    services.rate(leader, by=users.village_a, rating=Rating.COMPETENT)
    with pytest.raises(PermissionDenied):
        services.finalise(village_round, by=users.village_b)
    round = services.finalise(village_round, by=users.village_a)
    assert round.status == RoundStatus.FINALISED and round.finalised_by == users.village_a
    assert history_for(round).first().changes["ratings"] == {Rating.COMPETENT: 2}

    for call in (
        lambda: services.rate(worker, by=users.village_a, rating=Rating.INCOMPETENT, note="改"),
        lambda: services.write_self_report(worker, by=users.grid_worker, text="补充"),
        lambda: services.update_round(round, by=users.village_a, title="新名称"),
        lambda: services.finalise(round, by=users.village_a),
        lambda: services.cast_ballot(worker, voter=users.grid_leader, choice=Rating.EXCELLENT),
    ):
        with pytest.raises(ValidationError):
            call()
    worker.refresh_from_db()
    assert worker.rating == Rating.COMPETENT


# --- consequences -------------------------------------------------------------------------------------------


@pytest.fixture
def decided(county, today):
    """甲一村's round finalised with grid_leader 合格 and grid_worker 不合格; grid_worker also serves in 甲二村."""
    users = county.users
    Post.objects.create(
        user=users.grid_worker, unit=county.grid_a2_only, role=Role.GRID_WORKER_PART_TIME, start_date=DAY
    )
    round = open_village_round(county, voting=Voting.COUNTS)
    ready(round)
    services.rate(
        entry_of(round, users.grid_worker), by=users.village_a, rating=Rating.INCOMPETENT, note="走访记录缺失"
    )
    return finalised(round, users.village_a)


def test_dismissal_ends_the_grid_posts_under_the_round_and_logs_them(decided, county):
    users = county.users
    entry = entry_of(decided, users.grid_worker)
    assert services.barred_from_awards(users.grid_worker, YEAR)
    ended = services.dismiss(entry, by=users.village_a, on=DAY)
    assert [p.unit for p in ended] == [county.cell_a11]
    assert Post.objects.get(user=users.grid_worker, unit=county.cell_a11).end_date == DAY
    assert (
        Post.objects.get(user=users.grid_worker, unit=county.grid_a2_only).end_date is None
    )  # another village
    later = DAY + datetime.timedelta(days=1)
    assert not Post.objects.active(later).filter(
        user=users.grid_worker, unit__path__startswith=county.village_a.path
    )
    assert history_for(ended[0]).first().changes["end_date"] == [None, DAY.isoformat()]
    entry.refresh_from_db()
    assert entry.dismissed_on == DAY and entry.dismissed_by == users.village_a
    with pytest.raises(ValidationError) as excinfo:
        services.dismiss(entry, by=users.village_a, on=DAY)
    assert field_of(excinfo) == "dismissed_on"


def test_only_the_incompetent_are_dismissed_by_their_appraisers(decided, county):
    users = county.users
    with pytest.raises(ValidationError):
        services.dismiss(entry_of(decided, users.grid_leader), by=users.village_a)
    with pytest.raises(PermissionDenied):
        services.dismiss(entry_of(decided, users.grid_worker), by=users.village_b)
    assert Post.objects.filter(user=users.grid_worker, end_date__isnull=True).count() == 2


def test_dismissal_before_finalising_is_refused(counts_round, county):
    users = county.users
    ready(counts_round)
    entry = entry_of(counts_round, users.grid_worker)
    services.rate(entry, by=users.village_a, rating=Rating.INCOMPETENT, note="缺勤")
    with pytest.raises(ValidationError) as excinfo:
        services.dismiss(entry, by=users.village_a)
    assert field_of(excinfo) == "dismissed_on"


def test_the_notice_is_recorded_once_for_an_incompetent_rating(decided, county):
    users = county.users
    entry = services.circulate_notice(
        entry_of(decided, users.grid_worker), by=users.village_a, text="予以通报"
    )
    assert entry.noticed_on == DAY and entry.notice_text == "予以通报"
    with pytest.raises(ValidationError):
        services.circulate_notice(entry, by=users.village_a, text="再次通报")
    with pytest.raises(ValidationError):
        services.circulate_notice(entry_of(decided, users.grid_leader), by=users.village_a, text="通报")


@pytest.fixture
def excellent(county, today):
    """甲一村 with 7 people (one 优秀 allowed): grid_leader rated 优秀, the round finalised."""
    grid_staff(county.cell_a12, 5)
    round = open_village_round(county, voting=Voting.COUNTS)
    ready(round)
    services.rate(
        entry_of(round, county.users.grid_leader), by=county.users.village_a, rating=Rating.EXCELLENT
    )
    services.rate(
        entry_of(round, county.users.grid_worker),
        by=county.users.village_a,
        rating=Rating.INCOMPETENT,
        note="缺勤",
    )
    return finalised(round, county.users.village_a)


def test_the_excellent_are_awarded_by_the_round_or_a_unit_above(excellent, county):
    users = county.users
    entry = entry_of(excellent, users.grid_leader)
    honour = services.award(entry, by=users.village_a)
    assert (honour.year, honour.user, honour.unit, honour.title) == (
        YEAR,
        users.grid_leader,
        county.village_a,
        services.default_award_title(),
    )
    assert history_for(honour).get().action == ChangeAction.CREATE
    town = services.award(entry, by=users.township_a, unit=county.town_a, title="优秀网格长")
    assert town.unit == county.town_a
    with pytest.raises(ValidationError) as excinfo:
        services.award(entry, by=users.village_a)
    assert field_of(excinfo) == "title"  # the same honour twice
    with pytest.raises(PermissionDenied):
        services.award(
            entry, by=users.village_a, unit=county.town_a, title="乡镇表彰"
        )  # not an appraiser there
    with pytest.raises(ValidationError) as excinfo:
        services.award(entry, by=users.village_b, unit=county.village_b)
    assert field_of(excinfo) == "unit"


def test_an_award_to_someone_rated_incompetent_that_year_is_refused(excellent, county):
    users = county.users
    with pytest.raises(ValidationError) as excinfo:
        services.award(entry_of(excellent, users.grid_worker), by=users.village_a)
    assert field_of(excinfo) == "user" and str(YEAR) in message_of(excinfo)
    competent = (
        excellent.entries.filter(rating=Rating.COMPETENT).select_related("round__unit", "user").first()
    )
    with pytest.raises(ValidationError) as excinfo:
        services.award(competent, by=users.village_a)
    assert field_of(excinfo) == "user"
    assert not Award.objects.exists()


def test_awards_wait_for_the_final_rating(county, today):
    grid_staff(county.cell_a12, 5)
    round = open_village_round(county, voting=Voting.COUNTS)
    ready(round)
    entry = entry_of(round, county.users.grid_leader)
    services.rate(entry, by=county.users.village_a, rating=Rating.EXCELLENT)
    with pytest.raises(ValidationError):
        services.award(entry, by=county.users.village_a)
    with pytest.raises(ValidationError):
        services.flag_entry(entry, by=county.users.village_a, kind=FlagKind.CADRE_RESERVE)


def test_the_excellent_are_put_forward_through_the_staff_ledger(excellent, county):
    users = county.users
    flag = services.flag_entry(
        entry_of(excellent, users.grid_leader), by=users.village_a, kind=FlagKind.PARTY_DEVELOPMENT
    )
    assert isinstance(flag, PipelineFlag) and flag.user == users.grid_leader and flag.unit == county.village_a
    assert excellent.title in flag.reason
    with pytest.raises(ValidationError) as excinfo:
        services.flag_entry(
            entry_of(excellent, users.grid_worker), by=users.village_a, kind=FlagKind.CADRE_RESERVE
        )
    assert field_of(excinfo) == "kind"
    with pytest.raises(ValidationError):  # teams' own rule: one open flag per kind
        services.flag_entry(
            entry_of(excellent, users.grid_leader), by=users.village_a, kind=FlagKind.PARTY_DEVELOPMENT
        )
    assert PipelineFlag.objects.count() == 1


def test_the_staff_ledger_refuses_a_flag_for_someone_rated_incompetent(excellent, county):
    """The bar holds when the flag is made in the staff ledger directly, not only from the entry."""
    from wangge.teams import services as teams

    with pytest.raises(ValidationError) as excinfo:
        teams.flag_worker(
            by=county.users.village_a,
            user=county.users.grid_worker,
            kind=FlagKind.CADRE_RESERVE,
            reason="工作积极",
            unit=county.village_a,
            on=DAY,
        )
    assert field_of(excinfo) == "user" and str(YEAR) in message_of(excinfo)
    assert not PipelineFlag.objects.exists()


def test_figures_count_steps_ratings_and_consequences(excellent, county):
    services.award(entry_of(excellent, county.users.grid_leader), by=county.users.village_a)
    services.dismiss(entry_of(excellent, county.users.grid_worker), by=county.users.village_a)
    figures = services.round_figures(excellent)
    assert (figures.people, figures.cap, figures.excellent, figures.unrated) == (7, 1, 1, 0)
    assert figures.by_rating == {Rating.EXCELLENT: 1, Rating.COMPETENT: 5, Rating.INCOMPETENT: 1}
    assert (figures.self_reports, figures.voted, figures.dismissed, figures.awards) == (7, 7, 1, 1)
    assert services.final_rating(county.users.grid_leader, YEAR) == Rating.EXCELLENT
    assert services.final_rating(county.users.grid_leader, YEAR - 1) == ""


def test_a_self_report_timestamp_marks_the_step(village_round, county):
    entry = entry_of(village_round, county.users.grid_worker)
    assert not entry.has_self_report
    services.write_self_report(entry, by=county.users.grid_worker, text="述职")
    entry.refresh_from_db()
    assert entry.has_self_report and entry.self_report_at <= timezone.now()
