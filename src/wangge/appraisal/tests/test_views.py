"""Appraisal pages, exports and admin: what each role sees, and every forbidden path closed."""

import datetime
import io
import uuid

import openpyxl
import pytest
from django.utils import timezone
from pypdf import PdfReader

from wangge.appraisal import services
from wangge.appraisal.models import Inspection, MonthlyScore, ScoringScheme

from .crafted import NOW

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 4, 15)


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: TODAY)
    monkeypatch.setattr(timezone, "now", lambda: NOW)


@pytest.fixture
def scored(march):
    services.compute_month(datetime.date(2026, 3, 1), march.county.county, now=NOW)
    return march


def test_the_hub_shows_what_each_post_allows(march, login):
    def links(user):
        html = login(user).get("/appraisal/").content.decode()
        return (
            {
                link
                for link in ("annual-mine", "annual", "payroll", "rate", "ratings", "points")
                if f'data-link="{link}"' in html
            },
            "my-appraisal" in html,
            'id="appraise"' in html,
        )

    users = march.users
    assert links(users.village_a) == (
        {"annual-mine", "annual", "payroll", "rate", "ratings", "points"},
        False,
        True,
    )
    assert links(users.grid_worker) == ({"annual-mine", "payroll", "rate", "points"}, True, False)
    assert links(users.department) == ({"annual-mine", "payroll", "ratings"}, False, False)


def test_anonymous_goes_to_login_and_a_post_less_user_is_refused(march, client, login):
    assert client.get("/appraisal/").status_code == 302
    assert login(march.users.outsider).get("/appraisal/").status_code == 403
    assert login(march.users.outsider).get("/appraisal/ranking/").status_code == 403
    assert login(march.users.department).get("/appraisal/scorecard/").status_code == 403


def test_a_village_reads_its_scorecard_drills_down_and_compares(march, login):
    client = login(march.users.village_a)
    page = client.get("/appraisal/scorecard/", {"unit": march.county.village_a.code, "on": "2026-03-15"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-indicator="log_rate" data-value="0.2500"' in html
    assert f'data-child="{march.county.grid_a1.code}"' in html  # the grids below, to drill into
    assert "/cases/?reporter=" not in html  # a unit's card links to its unit's cases
    assert f"unit={march.county.village_a.code}" in html
    # A grid's page lists its grid workers.
    grid = client.get("/appraisal/scorecard/", {"unit": march.county.cell_a11.code, "on": "2026-03-15"})
    assert 'data-worker="grid_worker"' in grid.content.decode()


def test_a_village_cannot_read_another_villages_scorecard_or_ranking(scored, login):
    client = login(scored.users.village_b)
    other = scored.county.village_a.code
    assert client.get("/appraisal/scorecard/", {"unit": other}).status_code == 404
    assert client.get("/appraisal/scorecard/", {"unit": scored.county.town_a.code}).status_code == 404
    for path in ("/appraisal/ranking/", "/appraisal/ranking.xlsx", "/appraisal/ranking.pdf"):
        assert client.get(path, {"unit": other, "month": "2026-03"}).status_code == 404
    assert client.post("/appraisal/ranking/compute/", {"unit": other, "month": "2026-03"}).status_code == 404
    # Their own ranking holds only their own grid worker.
    own = client.get("/appraisal/ranking/", {"month": "2026-03"}).content.decode()
    assert 'data-name="grid_worker_b"' in own and 'data-name="grid_worker"' not in own


def test_a_grid_worker_sees_their_own_scorecard_and_no_one_elses(scored, login):
    users = scored.users
    client = login(users.grid_worker)
    assert client.get("/appraisal/scorecard/").url == f"/appraisal/people/{users.grid_worker.pk}/"
    page = client.get(f"/appraisal/people/{users.grid_worker.pk}/", {"on": "2026-03-10"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-indicator="cases_found" data-value="3"' in html
    assert 'data-month="2026-03" data-total="53.50"' in html  # the stored March score
    assert client.get(f"/appraisal/people/{users.grid_leader.pk}/").status_code == 404
    assert client.get("/appraisal/scorecard/", {"unit": scored.county.cell_a11.code}).status_code == 403
    assert client.get("/appraisal/ranking/").status_code == 403
    # Whoever appraises the grid reads the worker's card; another township does not.
    assert login(users.township_a).get(f"/appraisal/people/{users.grid_worker.pk}/").status_code == 200
    assert login(users.township_b).get(f"/appraisal/people/{users.grid_worker.pk}/").status_code == 404


def test_a_post_that_ended_before_the_period_opens_nothing(scored, login):
    """grid_worker served 乙一村 until 2023: 乙一村 may not read their 2026 scorecard or scores."""
    from wangge.people.models import Post
    from wangge.people.roles import Role

    users, c = scored.users, scored.county
    Post.objects.create(
        user=users.grid_worker,
        unit=c.grid_b1,
        role=Role.GRID_WORKER_PART_TIME,
        start_date=datetime.date(2022, 1, 1),
        end_date=datetime.date(2023, 6, 30),
    )
    village_b = login(users.village_b)
    assert (
        village_b.get(f"/appraisal/people/{users.grid_worker.pk}/", {"on": "2026-03-10"}).status_code == 404
    )
    old = village_b.get(f"/appraisal/people/{users.grid_worker.pk}/", {"on": "2023-03-10"})
    assert old.status_code == 200  # they did appraise that worker in 2023
    assert 'data-month="2026-03"' not in old.content.decode()  # but not the 2026 score, stored at 一格


def test_the_ranking_page_and_its_exports(scored, login):
    client = login(scored.users.county)
    params = {"unit": scored.county.county.code, "month": "2026-03", "subject": "worker"}
    html = client.get("/appraisal/ranking/", params).content.decode()
    assert html.index('data-name="grid_worker_b"') < html.index('data-name="grid_worker"')
    assert 'data-rank="2" data-total="53.50"' in html

    xlsx = client.get("/appraisal/ranking.xlsx", params)
    assert xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [row[:2] for row in rows[1:]] == [(1, "grid_worker_b"), (2, "grid_worker"), (3, "grid_leader")]
    assert rows[2][4] == 53.5

    pdf = client.get("/appraisal/ranking.pdf", params)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "grid_worker_b" in text and "53.50" in text

    villages = client.get("/appraisal/ranking/", {**params, "subject": "village"}).content.decode()
    assert f'data-rank="3" data-total="36.08" data-name="{scored.county.village_a.code}"' in villages


def test_only_the_county_scores_last_month_again(march, login):
    """A partial run would rank one township on fresher data than the rest: the county runs it all."""
    c = march.county
    township = login(march.users.township_a)
    assert (
        township.post("/appraisal/ranking/compute/", {"unit": c.town_a.code, "month": "2026-03"}).status_code
        == 403
    )
    assert not MonthlyScore.objects.exists()
    county = login(march.users.county)
    response = county.post("/appraisal/ranking/compute/", {"unit": c.town_a.code, "month": "2026-03"})
    assert response.status_code == 302
    assert MonthlyScore.objects.filter(
        month=datetime.date(2026, 3, 1), unit=c.village_b
    ).exists()  # all of it
    county.post("/appraisal/ranking/compute/", {"unit": c.county.code, "month": "2026-04"})
    assert not MonthlyScore.objects.filter(month=datetime.date(2026, 4, 1)).exists()  # still running
    page = county.get("/appraisal/ranking/", {"month": "2026-03"}).content.decode()
    assert 'id="compute"' in page
    assert 'id="compute"' not in county.get("/appraisal/ranking/", {"month": "2026-02"}).content.decode()
    township = login(march.users.township_a)  # the one test client, signed in again
    assert 'id="compute"' not in township.get("/appraisal/ranking/", {"month": "2026-03"}).content.decode()


def _inspection_post(unit, **extra):
    data = {
        "client_uuid": str(uuid.uuid4()),
        "unit": unit.code,
        "inspected_on": "2026-04-14",
        "checked": "民情日志、走访记录",
        "summary": "",
        "findings-TOTAL_FORMS": "3",
        "findings-INITIAL_FORMS": "0",
        "findings-MIN_NUM_FORMS": "0",
        "findings-MAX_NUM_FORMS": "20",
        "findings-0-description": "日志内容空泛",
        "findings-0-deduction": "1.5",
        "findings-0-responsible": "grid_worker",
        "findings-0-rectify_by": "2026-04-20",
    }
    data.update(extra)
    return data


def test_the_township_records_an_inspection_and_the_village_sees_and_rectifies_it(march, login):
    c = march.county
    client = login(march.users.township_a)
    data = _inspection_post(c.village_a)
    response = client.post("/appraisal/inspections/new/", data)
    assert response.status_code == 302
    inspection = Inspection.objects.get(client_uuid=data["client_uuid"])
    assert (inspection.inspecting_unit, inspection.total_deduction) == (c.town_a, 1.5)
    assert client.post("/appraisal/inspections/new/", data).status_code == 302  # a retry: still one
    assert Inspection.objects.filter(unit=c.village_a, inspected_on=datetime.date(2026, 4, 14)).count() == 1

    village = login(march.users.village_a)
    detail = village.get(f"/appraisal/inspections/{inspection.pk}/")
    assert detail.status_code == 200
    finding = inspection.findings.get()
    village.post(f"/appraisal/findings/{finding.pk}/rectified/")
    finding.refresh_from_db()
    assert finding.rectified_on == TODAY
    listing = village.get("/appraisal/inspections/", {"responsible": "grid_worker"}).content.decode()
    assert f'data-inspection="{inspection.pk}"' in listing

    other = login(march.users.village_b)
    assert other.get(f"/appraisal/inspections/{inspection.pk}/").status_code == 404
    assert other.post(f"/appraisal/findings/{finding.pk}/rectified/").status_code == 404
    assert f'data-inspection="{inspection.pk}"' not in other.get("/appraisal/inspections/").content.decode()


def test_the_inspection_form_names_the_field_and_the_rule(march, login):
    c = march.county
    village = login(march.users.village_a)
    # A village does not inspect itself; its township does.
    before = Inspection.objects.count()  # the crafted month's one
    page = village.post("/appraisal/inspections/new/", _inspection_post(c.village_a)).content.decode()
    assert 'data-field="unit"' in page and "has-error" in page
    assert Inspection.objects.count() == before
    township = login(march.users.township_a)
    cases = [
        (_inspection_post(c.village_b), "unit"),  # not theirs
        (_inspection_post(c.village_a, inspected_on="2026-04-16"), "inspected_on"),  # tomorrow
        (
            _inspection_post(c.village_a, **{"findings-0-responsible": "grid_worker_b"}),
            None,
        ),  # not a 甲一村 post
        (_inspection_post(c.village_a, **{"findings-0-deduction": "-1"}), None),
    ]
    for data, field in cases:
        response = township.post("/appraisal/inspections/new/", data)
        assert response.status_code == 200, data
        html = response.content.decode()
        assert 'role="alert"' in html
        if field:
            assert f'data-field="{field}"' in html
    assert Inspection.objects.count() == before


def test_villages_not_inspected_this_week(march, login):
    c = march.county
    services.record_inspection(
        by=march.users.township_a, unit=c.cell_a11, inspected_on=TODAY, checked="台账", today=TODAY
    )
    html = login(march.users.township_a).get("/appraisal/inspections/").content.decode()
    assert f'data-not-inspected="{c.village_a2.code}"' in html
    assert f'data-not-inspected="{c.village_a.code}"' not in html  # a grid of it was inspected
    assert f'data-not-inspected="{c.village_b.code}"' not in html  # another township's


def test_a_new_scheme_version_cannot_reach_back_into_a_scored_month(scored, login):
    sysadmin = login(scored.users.sysadmin)
    data = {
        "subject": "worker",
        "name": "倒签版本",
        "valid_from": "2026-03-01",
        "note": "",
        "items-TOTAL_FORMS": "0",
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
    }
    page = sysadmin.post("/admin/appraisal/scoringscheme/add/", data)
    assert page.status_code == 200 and "2026-03" in page.content.decode()
    assert not ScoringScheme.objects.filter(name="倒签版本").exists()
    assert (
        sysadmin.post("/admin/appraisal/scoringscheme/add/", {**data, "valid_from": "2026-04-01"}).status_code
        == 302
    )
    # The ranking names the scheme March was scored with, not the one now in force.
    used = MonthlyScore.objects.filter(subject="worker").first().scheme
    html = login(scored.users.county).get("/appraisal/ranking/", {"month": "2026-03"}).content.decode()
    assert f'data-scheme="{used.pk}"' in html


def test_the_admin_keeps_used_schemes_and_scopes_scores(scored, login):
    used = ScoringScheme.objects.get(subject="worker")
    sysadmin = login(scored.users.sysadmin)
    page = sysadmin.get(f"/admin/appraisal/scoringscheme/{used.pk}/change/")
    assert page.status_code == 200
    assert 'name="name"' not in page.content.decode()  # read-only: it has scored March
    response = sysadmin.post(
        f"/admin/appraisal/scoringscheme/{used.pk}/change/",
        {"name": "改", "subject": "worker", "valid_from": "2026-01-01"},
    )
    assert response.status_code == 403
    assert ScoringScheme.objects.get(pk=used.pk).name != "改"
    assert login(scored.users.village_a).get("/admin/appraisal/scoringscheme/").status_code == 403

    score = MonthlyScore.objects.get(user=scored.users.grid_worker)
    assert (
        login(scored.users.village_a).get(f"/admin/appraisal/monthlyscore/{score.pk}/change/").status_code
        == 200
    )
    assert (
        login(scored.users.village_b).get(f"/admin/appraisal/monthlyscore/{score.pk}/change/").status_code
        == 404
    )
    listing = login(scored.users.village_b).get("/admin/appraisal/monthlyscore/").content.decode()
    assert "grid_worker_b" in listing and ">grid_worker<" not in listing


def test_each_figure_links_to_the_records_behind_it(march, login):
    """The village's desk follows a figure to the cases it counts."""
    import re

    from wangge.appraisal.indicators import Indicator
    from wangge.appraisal.scorecards import Batch, unit_scorecards, worker_scorecards
    from wangge.cases.models import Case

    from .crafted import MARCH

    c = march.county
    batch = Batch(c.county, *MARCH, today=TODAY, now=NOW)
    (village,) = unit_scorecards(batch, [c.village_a])
    client = login(march.users.village_a)

    def cases_behind(figure):
        html = client.get(figure.url).content.decode()
        return {int(pk) for pk in re.findall(r'data-case="(\d+)"', html)}

    reported = set(Case.objects.filter(reporter=march.users.grid_worker).values_list("pk", flat=True))
    assert len(reported) == 3
    assert cases_behind(village.figures[Indicator.CASES_FOUND]) == reported
    in_place = set(Case.objects.filter(resolved_in_place=True).values_list("pk", flat=True))
    assert cases_behind(village.figures[Indicator.RESOLVED_IN_PLACE]) == in_place
    assert cases_behind(village.figures[Indicator.SATISFACTION]) == in_place  # c1, the one rated
    worker = next(card for card in worker_scorecards(batch) if card.user == march.users.grid_worker)
    assert cases_behind(worker.figures[Indicator.CASES_FOUND]) == reported
    assert cases_behind(worker.figures[Indicator.RESOLVED_IN_PLACE]) == in_place
    open_cases = set(
        Case.objects.filter(reporter=march.users.grid_worker, closed_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    assert cases_behind(village.figures[Indicator.OVERDUE]) == open_cases  # c2 and c3, the 2 counted
    april = Batch(c.county, datetime.date(2026, 4, 1), datetime.date(2026, 4, 30), today=TODAY, now=NOW)
    (worker_april,) = [card for card in worker_scorecards(april) if card.user == march.users.grid_worker]
    assert worker_april.value(Indicator.RESOLVED_IN_PLACE) == 0
    assert cases_behind(worker_april.figures[Indicator.RESOLVED_IN_PLACE]) == set()
    logs = client.get(village.figures[Indicator.LOG_RATE].url)
    assert logs.status_code == 200


def test_the_annual_appraisal_shows_the_ordinary_score_of_the_year(scored, login):
    """平时考核: the annual entry page shows the average of the person's scored months."""
    from wangge.annual import services as annual

    round = annual.open_round(by=scored.users.village_a, unit=scored.county.village_a, year=2026, today=TODAY)
    entry = round.entries.get(user=scored.users.grid_worker)
    html = login(scored.users.village_a).get(f"/annual/entries/{entry.pk}/").content.decode()
    assert 'data-ordinary-score="53.50"' in html  # March, the only month scored
    leader = round.entries.get(user=scored.users.grid_leader)
    page = login(scored.users.village_a).get(f"/annual/entries/{leader.pk}/").content.decode()
    assert 'data-ordinary-score="33.00"' in page


def test_the_ranking_comes_a_page_at_a_time_and_the_exports_hold_every_row(scored, login, monkeypatch):
    from wangge.appraisal import views

    monkeypatch.setattr(views, "RANKING_PAGE_SIZE", 2)
    client = login(scored.users.county)
    params = {"unit": scored.county.county.code, "month": "2026-03", "subject": "worker"}
    first = client.get("/appraisal/ranking/", params).content.decode()
    assert first.count("data-rank=") == 2 and 'id="ranking-pager"' in first
    second = client.get("/appraisal/ranking/", {**params, "page": "2"}).content.decode()
    assert 'data-rank="3" data-total="33.00" data-name="grid_leader"' in second
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/appraisal/ranking.xlsx", params).content)).active
    assert sheet.max_row == 1 + 3
