"""The appraisal pages, exports and admin: what each user sees and may do, and that another village's
round stays closed by every route (anonymous → sign in, no APPRAISE → 403, another village → 404)."""

import io
import re

import openpyxl
import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from pypdf import PdfReader

from wangge.annual import services
from wangge.annual.choices import Rating, RoundStatus, Voting
from wangge.annual.models import AppraisalRound, Award, Ballot
from wangge.core.testing import make_user
from wangge.people.roles import Role
from wangge.teams.choices import FlagKind
from wangge.teams.models import PipelineFlag

from .conftest import YEAR, entry_of, fresh, grid_staff, open_village_round, ready

pytestmark = pytest.mark.django_db


@pytest.fixture
def round_b(county, today):
    """乙一村's round (village_b's), over one grid worker of 乙一村网格."""
    make_user("worker_b", (county.grid_b1, Role.GRID_WORKER_FULL_TIME), full_name="乙村网格员")
    return services.open_round(
        by=county.users.village_b, unit=county.village_b, year=YEAR, voting=Voting.COUNTS
    )


def round_urls(round) -> list[str]:
    entry = round.entries.first()
    return [
        reverse("annual:detail", args=[round.pk]),
        reverse("annual:report", args=[round.pk]),
        reverse("annual:report_xlsx", args=[round.pk]),
        reverse("annual:report_pdf", args=[round.pk]),
        reverse("annual:entry", args=[entry.pk]),
    ]


def post_urls(round) -> list[tuple[str, dict]]:
    entry = round.entries.first()
    return [
        (reverse("annual:add_person", args=[round.pk]), {"user": entry.user_id}),
        (reverse("annual:finalise", args=[round.pk]), {}),
        (reverse("annual:remove_entry", args=[entry.pk]), {}),
        (reverse("annual:self_report", args=[entry.pk]), {"self_report": "越权"}),
        (
            reverse("annual:votes", args=[entry.pk]),
            {"votes_excellent": 9, "votes_competent": 0, "votes_incompetent": 0},
        ),
        (reverse("annual:onsite", args=[entry.pk]), {"onsite_findings": "越权"}),
        (reverse("annual:rate", args=[entry.pk]), {"rating": Rating.EXCELLENT}),
        (reverse("annual:dismiss", args=[entry.pk]), {"dismissed_on": "2026-12-15"}),
        (reverse("annual:notice", args=[entry.pk]), {"notice_text": "越权"}),
        (reverse("annual:award", args=[entry.pk]), {"title": "优秀网格员"}),
        (reverse("annual:flag", args=[entry.pk]), {"kind": FlagKind.CADRE_RESERVE}),
    ]


# --- who may enter ---------------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, village_round):
    for url in [
        *round_urls(village_round),
        reverse("annual:list"),
        reverse("annual:create"),
        reverse("annual:ballot"),
        reverse("annual:mine"),
        reverse("annual:awards"),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response["Location"], url


def test_staff_without_appraise_get_403_on_the_appraisers_pages(login, county, village_round):
    client = login(county.users.grid_worker)
    for url in [reverse("annual:list"), reverse("annual:create"), *round_urls(village_round)[:4]]:
        assert client.get(url).status_code == 403, url
    outsider = login(county.users.outsider)
    for url in [reverse("annual:ballot"), reverse("annual:awards"), reverse("annual:list")]:
        assert outsider.get(url).status_code == 403, url


def test_another_villages_round_is_404_by_every_route(login, county, village_round, round_b):
    client = login(county.users.village_a)
    for url in round_urls(round_b):
        assert client.get(url).status_code == 404, url
    for url, data in post_urls(round_b):
        assert client.post(url, data).status_code == 404, url
    listing = client.get(reverse("annual:list")).content.decode()
    assert f'data-round="{village_round.pk}"' in listing and f'data-round="{round_b.pk}"' not in listing
    # The admin lists and opens only what the pages show.
    admin = client.get(reverse("admin:annual_appraisalround_changelist")).content.decode()
    assert village_round.title in admin and round_b.title not in admin
    assert client.get(reverse("admin:annual_appraisalround_change", args=[round_b.pk])).status_code == 404
    entry_b = round_b.entries.first()
    assert client.get(reverse("admin:annual_appraisalentry_change", args=[entry_b.pk])).status_code == 404
    entries = client.get(reverse("admin:annual_appraisalentry_changelist")).content.decode()
    assert "worker_b" not in entries and "grid_worker" in entries
    # Nor can its staff vote on 甲一村's people, nor see them on the ballot page.
    worker_b = login(fresh(entry_b.user))
    page = worker_b.get(reverse("annual:ballot")).content.decode()
    assert "grid_worker" not in page and "data-no-ballots" in page


def test_the_county_sees_every_round_and_the_township_its_villages(login, county, village_round, round_b):
    county_page = login(county.users.county).get(reverse("annual:list")).content.decode()
    assert f'data-round="{village_round.pk}"' in county_page and f'data-round="{round_b.pk}"' in county_page
    client = login(county.users.township_a)
    assert client.get(reverse("annual:detail", args=[village_round.pk])).status_code == 200
    assert client.get(reverse("annual:detail", args=[round_b.pk])).status_code == 404


# --- rounds ------------------------------------------------------------------------------------------------------


def test_an_appraiser_opens_a_round_from_the_page(login, county, today):
    client = login(county.users.village_a)
    page = client.get(reverse("annual:create"))
    assert page.status_code == 200 and county.village_a.name in page.content.decode()
    response = client.post(
        reverse("annual:create"),
        {"unit": county.village_a.pk, "year": YEAR, "voting": Voting.BALLOTS, "title": ""},
    )
    round = AppraisalRound.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("annual:detail", args=[round.pk])
    refused = client.post(
        reverse("annual:create"), {"unit": county.village_a.pk, "year": YEAR, "voting": Voting.BALLOTS}
    )
    assert refused.status_code == 200 and 'data-error="year"' in refused.content.decode()
    # Units outside the user's appraisal are not offered and not accepted.
    other = client.post(
        reverse("annual:create"), {"unit": county.village_b.pk, "year": YEAR, "voting": Voting.BALLOTS}
    )
    assert 'data-error="unit"' in other.content.decode() and AppraisalRound.objects.count() == 1


def test_the_round_page_shows_each_persons_progress_and_the_cap(login, county, village_round):
    users = county.users
    services.write_self_report(entry_of(village_round, users.grid_worker), by=users.grid_worker, text="述职")
    page = login(users.village_a).get(reverse("annual:detail", args=[village_round.pk])).content.decode()
    worker = re.search(r'<tr data-entry="\d+" data-person="grid_worker">.*?</tr>', page, re.S).group(0)
    assert (
        'data-step="self_report" data-done="yes"' in worker and 'data-step="votes" data-done="no"' in worker
    )
    assert 'data-cap="0"' in page and "data-small-round" in page  # two people: none can be 优秀
    assert "add-person" not in page  # nobody left to add
    assert "data-not-finalisable" in page


def test_people_are_added_on_the_round_page_until_the_first_rating(login, county, village_round):
    users = county.users
    newcomer = make_user("newcomer", (county.cell_a12, Role.GRID_WORKER_PART_TIME))
    client = login(users.village_a)
    assert 'id="add-person"' in client.get(reverse("annual:detail", args=[village_round.pk])).content.decode()
    response = client.post(reverse("annual:add_person", args=[village_round.pk]), {"user": newcomer.pk})
    assert response.status_code == 302 and village_round.entries.filter(user=newcomer).exists()
    entry = entry_of(village_round, newcomer)
    assert client.post(reverse("annual:remove_entry", args=[entry.pk])).status_code == 302
    assert not village_round.entries.filter(user=newcomer).exists()
    ready(village_round)
    services.rate(entry_of(village_round, users.grid_worker), by=users.village_a, rating=Rating.COMPETENT)
    page = client.get(reverse("annual:detail", args=[village_round.pk])).content.decode()
    assert 'id="add-person"' not in page and "data-remove" not in page


def test_the_round_page_does_not_query_per_person(login, county, today, django_assert_max_num_queries):
    grid_staff(county.cell_a12, 40)
    round = open_village_round(county)
    client = login(county.users.village_a)
    client.get(reverse("annual:detail", args=[round.pk]))  # warm the session and the scope
    with django_assert_max_num_queries(25):
        response = client.get(reverse("annual:detail", args=[round.pk]))
    assert response.content.decode().count("data-entry=") == 42


# --- one entry ---------------------------------------------------------------------------------------------------


def test_the_steps_are_taken_on_the_entry_page(login, county, counts_round):
    users = county.users
    entry = entry_of(counts_round, users.grid_worker)
    client = login(users.village_a)
    url = reverse("annual:entry", args=[entry.pk])
    page = client.get(url).content.decode()
    assert 'id="self-report-form"' in page and 'id="votes-form"' in page and "data-not-ready" in page
    assert (
        client.post(reverse("annual:self_report", args=[entry.pk]), {"self_report": "纸质述职"}).status_code
        == 302
    )
    votes = {"votes_excellent": 2, "votes_competent": 8, "votes_incompetent": 1}
    assert client.post(reverse("annual:votes", args=[entry.pk]), votes).status_code == 302
    onsite = {"onsite_findings": "台账齐全", "onsite_score": 90}
    assert client.post(reverse("annual:onsite", args=[entry.pk]), onsite).status_code == 302
    refused = client.post(reverse("annual:rate", args=[entry.pk]), {"rating": Rating.EXCELLENT})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert 'data-error="rating"' in body and services.cap_message(2, 15, 0) in body
    assert (
        client.post(reverse("annual:rate", args=[entry.pk]), {"rating": Rating.COMPETENT}).status_code == 302
    )
    entry.refresh_from_db()
    assert (entry.self_report, entry.votes_total, entry.onsite_score, entry.rating) == (
        "纸质述职",
        11,
        90,
        Rating.COMPETENT,
    )
    page = client.get(url).content.decode()
    assert 'data-step="rating" data-done="yes"' in page and 'id="self-report-form"' not in page


def test_the_place_for_the_ordinary_score_shows_only_when_given(county, village_round):
    from wangge.annual.views import _entry_context

    entry = entry_of(village_round, county.users.grid_worker)
    request = RequestFactory().get("/")
    request.user = fresh(county.users.village_a)
    context = _entry_context(request, entry)
    assert 'data-step="ordinary"' not in render_to_string("annual/entry.html", context, request=request)
    html = render_to_string("annual/entry.html", {**context, "ordinary_score": "91.5"}, request=request)
    assert 'data-ordinary-score="91.5"' in html


def test_consequences_are_recorded_from_the_entry_page(login, county, today):
    users = county.users
    grid_staff(county.cell_a12, 5)
    round = open_village_round(county, voting=Voting.COUNTS)
    ready(round)
    services.rate(entry_of(round, users.grid_leader), by=users.village_a, rating=Rating.EXCELLENT)
    services.rate(
        entry_of(round, users.grid_worker), by=users.village_a, rating=Rating.INCOMPETENT, note="缺勤"
    )
    for entry in round.entries.filter(rating="").select_related("round__unit", "user"):
        services.rate(entry, by=users.village_a, rating=Rating.COMPETENT)
    client = login(users.village_a)
    assert client.post(reverse("annual:finalise", args=[round.pk])).status_code == 302
    round.refresh_from_db()
    assert round.status == RoundStatus.FINALISED

    bad = entry_of(round, users.grid_worker)
    page = client.get(reverse("annual:entry", args=[bad.pk])).content.decode()
    assert 'id="dismiss-form"' in page and 'id="notice-form"' in page and "award-form" not in page
    assert (
        client.post(reverse("annual:dismiss", args=[bad.pk]), {"dismissed_on": today.isoformat()}).status_code
        == 302
    )
    assert client.post(reverse("annual:notice", args=[bad.pk]), {"notice_text": "通报"}).status_code == 302
    refused = client.post(
        reverse("annual:award", args=[bad.pk]), {"unit": county.village_a.pk, "title": "优秀网格员"}
    )
    assert refused.status_code == 400 and not Award.objects.exists()
    page = client.get(reverse("annual:entry", args=[bad.pk])).content.decode()
    assert f'data-dismissed="{today.isoformat()}"' in page and f'data-noticed="{today.isoformat()}"' in page

    good = entry_of(round, users.grid_leader)
    page = client.get(reverse("annual:entry", args=[good.pk])).content.decode()
    assert 'id="award-form"' in page and 'id="flag-form"' in page and "data-consequence" in page
    response = client.post(
        reverse("annual:award", args=[good.pk]), {"unit": county.village_a.pk, "title": "优秀网格员"}
    )
    assert response.status_code == 302 and Award.objects.get().user == users.grid_leader
    response = client.post(
        reverse("annual:flag", args=[good.pk]), {"kind": FlagKind.CADRE_RESERVE, "reason": ""}
    )
    assert response.status_code == 302 and PipelineFlag.objects.get().user == users.grid_leader
    page = client.get(reverse("annual:entry", args=[good.pk])).content.decode()
    assert 'data-flag="cadre_reserve"' in page and "data-award=" in page
    awards = client.get(reverse("annual:awards")).content.decode()
    assert 'data-person="grid_leader"' in awards
    # Finalised: the steps are closed on the page too.
    frozen = client.post(reverse("annual:self_report", args=[good.pk]), {"self_report": "补充"})
    assert frozen.status_code == 400 and 'data-error="self_report"' in frozen.content.decode()


# --- the staff's pages -------------------------------------------------------------------------------------------


def test_the_ballot_page_lists_colleagues_and_casts_votes(login, county, village_round):
    users = county.users
    client = login(users.grid_worker)
    page = client.get(reverse("annual:ballot")).content.decode()
    leader = entry_of(village_round, users.grid_leader)
    own = entry_of(village_round, users.grid_worker)
    assert f'name="vote_{leader.pk}"' in page and f'name="vote_{own.pk}"' not in page
    response = client.post(reverse("annual:ballot"), {f"vote_{leader.pk}": Rating.EXCELLENT})
    assert response.status_code == 302
    leader.refresh_from_db()
    assert leader.votes_excellent == 1 and Ballot.objects.get().voter == users.grid_worker
    page = client.get(reverse("annual:ballot")).content.decode()
    assert "data-nothing-pending" in page and 'data-voted="1"' in page
    # A vote for oneself sent by hand is not a field of the form: nothing is cast.
    client.post(reverse("annual:ballot"), {f"vote_{own.pk}": Rating.EXCELLENT})
    assert Ballot.objects.count() == 1


def test_my_appraisal_is_where_the_person_writes_and_later_reads(login, county, counts_round):
    users = county.users
    client = login(users.grid_worker)
    entry = entry_of(counts_round, users.grid_worker)
    page = client.get(reverse("annual:mine")).content.decode()
    assert f'data-self-report-form="{entry.pk}"' in page and "data-rating-pending" in page
    response = client.post(reverse("annual:mine"), {"entry": entry.pk, "self_report": "全年走访300户次"})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.self_report == "全年走访300户次" and entry.self_report_by == users.grid_worker
    # Someone else's entry cannot be written from here.
    other = entry_of(counts_round, users.grid_leader)
    assert client.post(reverse("annual:mine"), {"entry": other.pk, "self_report": "x"}).status_code == 403
    # The entry page of one's own entry leads here; nobody else's is reachable.
    assert client.get(reverse("annual:entry", args=[entry.pk]))["Location"] == reverse("annual:mine")
    assert client.get(reverse("annual:entry", args=[other.pk])).status_code == 404
    assert (
        client.post(reverse("annual:rate", args=[entry.pk]), {"rating": Rating.EXCELLENT}).status_code == 403
    )

    ready(counts_round)
    for e in counts_round.entries.select_related("round__unit", "user"):
        services.rate(e, by=users.village_a, rating=Rating.COMPETENT)
    page = client.get(reverse("annual:mine")).content.decode()
    assert 'data-rating=""' not in page and "data-rating-pending" in page  # rated, not yet final
    services.finalise(counts_round, by=users.village_a)
    page = client.get(reverse("annual:mine")).content.decode()
    assert 'data-rating="competent"' in page and "data-self-report-form" not in page


# --- exports -----------------------------------------------------------------------------------------------------


@pytest.fixture
def reported(county, counts_round):
    users = county.users
    ready(counts_round)
    services.record_onsite_check(
        entry_of(counts_round, users.grid_leader), by=users.village_a, findings="台账规范", score=93
    )
    services.rate(entry_of(counts_round, users.grid_leader), by=users.village_a, rating=Rating.COMPETENT)
    services.rate(
        entry_of(counts_round, users.grid_worker), by=users.village_a, rating=Rating.INCOMPETENT, note="缺勤"
    )
    services.finalise(counts_round, by=users.village_a)
    services.dismiss(entry_of(counts_round, users.grid_worker), by=users.village_a)
    return counts_round


def test_the_report_page_lists_each_persons_steps_and_rating(login, county, reported):
    page = login(county.users.village_a).get(reverse("annual:report", args=[reported.pk])).content.decode()
    assert (
        '<tr data-entry="' in page
        and 'data-rating="incompetent"' in page
        and 'data-rating="competent"' in page
    )
    assert 'data-figure="incompetent"' in page and "台账规范" in page


def test_the_report_exports_to_excel(login, county, reported):
    response = login(county.users.village_a).get(reverse("annual:report_xlsx", args=[reported.pk]))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    people, figures = workbook.worksheets
    rows = list(people.iter_rows(min_row=2, values_only=True))
    assert [row[1] for row in rows] == ["grid_leader", "grid_worker"]
    leader, worker = rows
    assert leader[8] == 93 and leader[9] == "台账规范" and leader[10] == str(Rating.COMPETENT.label)
    assert worker[10] == str(Rating.INCOMPETENT.label) and worker[11] == "缺勤" and worker[12]
    values = {row[0]: row[1] for row in figures.iter_rows(values_only=True)}
    assert values[str(Rating.INCOMPETENT.label)] == 1 and values[str(Rating.COMPETENT.label)] == 1


def test_the_report_exports_to_pdf(login, county, reported):
    response = login(county.users.village_a).get(reverse("annual:report_pdf", args=[reported.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert reported.title.replace(" ", "") in text.replace(" ", "").replace("\n", "")
    assert "grid_leader" in text and "grid_worker" in text and "台账规范" in text


# --- admin -------------------------------------------------------------------------------------------------------


def test_a_finalised_round_is_read_only_in_the_admin(login, county, reported):
    client = login(county.users.village_a)
    url = reverse("admin:annual_appraisalround_change", args=[reported.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(url, {"title": "改名"}).status_code == 403
    reported.refresh_from_db()
    assert reported.title != "改名"


def test_a_round_under_way_is_renamed_in_the_admin_through_the_service(login, county, village_round):
    client = login(county.users.village_a)
    url = reverse("admin:annual_appraisalround_change", args=[village_round.pk])
    page = client.get(url).content.decode()
    assert 'name="title"' in page
    data = {"title": "甲一村网格员年度考核", "entries-TOTAL_FORMS": 2, "entries-INITIAL_FORMS": 2}
    for i, entry in enumerate(village_round.entries.order_by("unit__path", "user__full_name", "id")):
        data[f"entries-{i}-id"] = entry.pk
        data[f"entries-{i}-round"] = village_round.pk
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    village_round.refresh_from_db()
    assert village_round.title == "甲一村网格员年度考核"


def test_the_admin_adds_an_award_through_the_service(login, county, today):
    users = county.users
    grid_staff(county.cell_a12, 5)
    round = open_village_round(county, voting=Voting.COUNTS)
    ready(round)
    services.rate(
        entry_of(round, users.grid_worker), by=users.village_a, rating=Rating.INCOMPETENT, note="缺勤"
    )
    services.rate(entry_of(round, users.grid_leader), by=users.village_a, rating=Rating.EXCELLENT)
    for entry in round.entries.filter(rating="").select_related("round__unit", "user"):
        services.rate(entry, by=users.village_a, rating=Rating.COMPETENT)
    services.finalise(round, by=users.village_a)
    client = login(users.village_a)
    url = reverse("admin:annual_award_add")
    refused = client.post(url, {"entry": entry_of(round, users.grid_worker).pk, "title": "优秀网格员"})
    assert refused.status_code == 200 and not Award.objects.exists()
    response = client.post(url, {"entry": entry_of(round, users.grid_leader).pk, "title": ""})
    assert response.status_code == 302
    assert Award.objects.get().title == services.default_award_title()


def test_ballots_have_no_admin_page(login, county, village_round):
    """Even without the voter, one sheet's rows cast together (time, consecutive ids, the one colleague
    missing) would name who cast them: the admin shows no ballots at all."""
    services.cast_ballot(
        entry_of(village_round, county.users.grid_leader),
        voter=county.users.grid_worker,
        choice=Rating.EXCELLENT,
    )
    client = login(county.users.village_a)
    assert client.get("/admin/annual/ballot/").status_code == 404
    assert client.get(f"/admin/annual/ballot/{Ballot.objects.get().pk}/change/").status_code == 404
    assert "annual/ballot" not in client.get("/admin/").content.decode()
