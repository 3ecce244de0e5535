"""The demo's appraisals on the crafted test county: last year's finalised village rounds within the cap,
awards and flags on 优秀 only, this year's ballot rounds with valid ballots, and determinism."""

import datetime
from collections import Counter

import pytest
from django.db.models import Count

from wangge.annual import demo, services
from wangge.annual.choices import Rating, RoundStatus, Voting
from wangge.annual.demo import build_annual_demo
from wangge.annual.models import AppraisalEntry, AppraisalRound, Award, Ballot
from wangge.people.models import Post
from wangge.teams.models import PipelineFlag

from .conftest import DAY, grid_staff

pytestmark = pytest.mark.django_db
LAST = DAY.year - 1


@pytest.fixture
def staffed(county, today):
    """甲一村 with 15 grid staff (2 may be 优秀), 甲二村 with 7 (1), 乙一村 with 6 (none)."""
    grid_staff(county.cell_a12, 13, prefix="a")
    grid_staff(county.grid_a2_only, 7, prefix="b")
    grid_staff(county.grid_b1, 6, prefix="c")
    return county


def snapshot():
    return (
        list(
            AppraisalRound.objects.order_by("id").values_list("unit_id", "year", "status", "voting", "title")
        ),
        list(
            AppraisalEntry.objects.order_by("id").values_list(
                "user_id",
                "year",
                "rating",
                "votes_excellent",
                "votes_competent",
                "onsite_score",
                "self_report",
            )
        ),
        list(Ballot.objects.order_by("id").values_list("voter_id", "choice")),
        list(Award.objects.order_by("id").values_list("user_id", "title", "unit_id")),
    )


def test_last_year_every_village_was_appraised_within_the_cap(staffed):
    county = staffed
    counts = build_annual_demo(3, DAY)
    last = AppraisalRound.objects.filter(year=LAST)
    assert set(last.values_list("unit_id", flat=True)) == {
        county.village_a.pk,
        county.village_a2.pk,
        county.village_b.pk,
    }
    assert all(r.status == RoundStatus.FINALISED and r.voting == Voting.COUNTS for r in last)
    assert (
        counts["rounds"] == AppraisalRound.objects.count()
        and counts["entries"] == AppraisalEntry.objects.count()
    )
    for round in last:
        figures = services.round_figures(round)
        assert figures.unrated == 0 and figures.self_reports == figures.people == figures.voted
        assert figures.excellent <= figures.cap
        assert round.finalised_at.date() <= DAY
    people = Counter(AppraisalEntry.objects.filter(year=LAST).values_list("round__unit_id", flat=True))
    assert people == {county.village_a.pk: 15, county.village_a2.pk: 7, county.village_b.pk: 6}
    assert not AppraisalEntry.objects.filter(round__unit=county.village_b, rating=Rating.EXCELLENT).exists()
    # Nobody twice in a year, and 不合格 only with grounds.
    assert not AppraisalEntry.objects.values("year", "user").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert not AppraisalEntry.objects.filter(rating=Rating.INCOMPETENT, rating_note="").exists()


def test_awards_and_flags_go_to_the_excellent_only(staffed):
    build_annual_demo(3, DAY)
    for honour in Award.objects.select_related("entry__round"):
        assert honour.entry.rating == Rating.EXCELLENT and honour.entry.round.is_finalised
        assert honour.user_id == honour.entry.user_id and honour.year == LAST
    excellent = set(AppraisalEntry.objects.filter(rating=Rating.EXCELLENT).values_list("user_id", flat=True))
    demo_flags = PipelineFlag.objects.filter(reason__startswith="上年度考核优秀")
    assert set(demo_flags.values_list("user_id", flat=True)) <= excellent


def test_an_incompetent_rating_ends_the_posts(staffed, monkeypatch):
    monkeypatch.setattr(demo, "INCOMPETENT_RATE", 1.0)
    counts = build_annual_demo(3, DAY)
    bad = AppraisalEntry.objects.filter(rating=Rating.INCOMPETENT).select_related("round__unit")
    assert counts["incompetent"] == counts["dismissed"] == bad.count() == 3  # every round has 5 or more
    for entry in bad:
        assert entry.notice_text and entry.noticed_on and entry.dismissed_on
        assert not Post.objects.active(DAY + datetime.timedelta(days=1)).filter(
            user=entry.user, unit__path__startswith=entry.round.unit.path
        )
        assert not entry.user.username.startswith("demo-")
        # …and they are not among this year's people appraised.
        assert not AppraisalEntry.objects.filter(user=entry.user, year=DAY.year).exists()


def test_this_year_ballot_rounds_are_under_way_with_valid_ballots(staffed):
    county = staffed
    build_annual_demo(3, DAY)
    current = AppraisalRound.objects.filter(year=DAY.year)
    assert county.town_a.pk in set(current.values_list("unit_id", flat=True))  # the first township
    assert all(r.status == RoundStatus.OPEN and r.voting == Voting.BALLOTS for r in current)
    entries = AppraisalEntry.objects.filter(year=DAY.year)
    assert entries.exists() and not entries.exclude(rating="").exists()
    assert 0 < entries.filter(self_report_at__isnull=False).count() <= entries.count()
    for ballot in Ballot.objects.select_related("entry"):
        assert ballot.voter_id != ballot.entry.user_id
    assert not Ballot.objects.values("entry", "voter").annotate(n=Count("id")).filter(n__gt=1).exists()
    for entry in entries:
        tally = Counter(Ballot.objects.filter(entry=entry).values_list("choice", flat=True))
        assert (entry.votes_excellent, entry.votes_competent, entry.votes_incompetent) == (
            tally[Rating.EXCELLENT],
            tally[Rating.COMPETENT],
            tally[Rating.INCOMPETENT],
        )
    # The rounds work with the services afterwards: a new ballot from a colleague who has not voted.
    sheets = services.ballot_sheets(county.users.grid_worker, DAY)
    assert all(sheet.round.year == DAY.year for sheet in sheets)


def test_the_same_seed_gives_the_same_appraisals(staffed):
    build_annual_demo(11, DAY)
    first = snapshot()
    Award.objects.all().delete()
    PipelineFlag.objects.all().delete()
    AppraisalRound.objects.all().delete()
    build_annual_demo(11, DAY)
    assert snapshot() == first
