"""Scorecards and monthly scores on a crafted March 2026 (22 working days, no holiday), by hand.

一格 (cell_a11, four households) is served by grid_worker; 一组 (grid_a1, above it) by grid_leader. In March
grid_worker writes a log on 11 of the 22 working days, grid_leader on none. In the first quarter
grid_worker visits three of 一格's four households (post level 四级网格), so the quarter's 季遍访 stands at
3/4 on 31 March. grid_worker reports three cases on patrol in 一格 (world.category: due three working days
after registration):

    c1  registered Mon 2 March 09:00, handled in place 15:00 (closed), rated basically satisfied
    c2  registered Tue 3 March 10:00, untouched, due Fri 6 March
    c3  registered Wed 4 March 10:00, untouched, due Mon 9 March

and the township's inspection of 甲一村 on 20 March deducts 2 points for a finding naming grid_worker and
1 point for one naming nobody.
"""

import datetime

import pytest
from django.core.exceptions import ValidationError

from wangge.appraisal import services
from wangge.appraisal.choices import Subject
from wangge.appraisal.indicators import Indicator, points_for
from wangge.appraisal.models import MonthlyScore, SchemeItem, ScoreRun, ScoringScheme
from wangge.appraisal.scorecards import Batch, period_range, unit_scorecards, worker_scorecards
from wangge.cases.testing import local

from .crafted import MARCH, NOW, d

pytestmark = pytest.mark.django_db


def test_a_grid_workers_month_by_hand(march):
    c = march.county
    batch = Batch(c.county, *MARCH, today=datetime.date(2026, 4, 15), now=NOW)
    cards = {card.user.username: card for card in worker_scorecards(batch)}
    assert set(cards) == {"grid_worker", "grid_leader", "grid_worker_b"}
    worker = cards["grid_worker"]
    assert worker.values == {
        Indicator.LOG_RATE: d("0.5000"),  # 11 of 22 working days
        Indicator.VISIT_COVERAGE: d("0.7500"),  # 3 of 4 households, the quarter fully gone by
        Indicator.CASES_FOUND: 3,
        Indicator.RESOLVED_IN_PLACE: 1,
        Indicator.ON_TIME_RATE: d("0.3333"),  # c1 on time; c2 and c3 fell due unhandled
        Indicator.CLOSURE_RATE: d("0.3333"),  # c1 of 3
        Indicator.REWORK_RATE: None,  # nothing checked
        Indicator.ESCALATION_RATE: d("0.0000"),
        Indicator.SATISFACTION: d("1.0000"),  # c1, basically satisfied
        Indicator.OVERDUE: 2,  # c2, c3
        Indicator.INSPECTION_DEDUCTIONS: d("2.00"),  # the finding naming them
    }
    assert (worker.figures[Indicator.LOG_RATE].numerator, worker.figures[Indicator.LOG_RATE].denominator) == (
        11,
        22,
    )
    assert worker.figures[Indicator.CASES_FOUND].url.startswith("/cases/?")
    assert "reporter=grid_worker" in worker.figures[Indicator.CASES_FOUND].url
    # grid_leader's 一组 holds 一格: the same cases, and no log written.
    leader = cards["grid_leader"]
    assert leader.value(Indicator.LOG_RATE) == d("0")
    assert leader.value(Indicator.CASES_FOUND) == 0
    assert leader.value(Indicator.OVERDUE) == 2
    # 年遍访 of 一组: no visit from a 三级网格 post yet, 90 of 365 days gone by.
    assert leader.value(Indicator.VISIT_COVERAGE) == d("0")

    scheme = services.scheme_for(Subject.WORKER, MARCH[0])
    scored = services.score(worker, scheme)
    assert scored.points == {
        Indicator.LOG_RATE: d("0.00"),  # 50 % vs 95: 45 points short at 1 each
        Indicator.VISIT_COVERAGE: d("7.50"),  # 75 vs 100: 25 × 0.5 off 20
        Indicator.CASES_FOUND: d("10.00"),  # 3 ≥ 2
        Indicator.RESOLVED_IN_PLACE: d("5.00"),
        Indicator.ON_TIME_RATE: d("0.00"),
        Indicator.CLOSURE_RATE: d("0.00"),  # 33.33 vs 90: 56.67 × 0.25 > 5
        Indicator.REWORK_RATE: d("5.00"),  # nothing to fault
        Indicator.ESCALATION_RATE: d("5.00"),
        Indicator.SATISFACTION: d("10.00"),
        Indicator.OVERDUE: d("3.00"),  # 2 cases × 1 off 5
        Indicator.INSPECTION_DEDUCTIONS: d("8.00"),
    }
    assert (scored.total, scored.full_marks) == (d("53.50"), d("100.00"))


def test_a_villages_month_sums_its_workers_and_grids(march):
    c = march.county
    batch = Batch(c.county, *MARCH, today=datetime.date(2026, 4, 15), now=NOW)
    (village,) = unit_scorecards(batch, [c.village_a])
    assert village.subject == Subject.VILLAGE
    assert village.value(Indicator.LOG_RATE) == d("0.2500")  # 11 of 44: two workers
    # 季遍访 3 of 4 (quarter over) plus 年遍访 0 of 4 with 90/365 of the year gone: 3 / (4 + 4 × 90/365).
    assert village.value(Indicator.VISIT_COVERAGE) == d("0.6016")
    assert village.value(Indicator.CASES_FOUND) == 3
    assert village.value(Indicator.RESOLVED_IN_PLACE) == 1
    assert village.value(Indicator.INSPECTION_DEDUCTIONS) == d("3.00")  # both findings
    (town_b,) = unit_scorecards(batch, [c.town_b])
    assert town_b.subject == Subject.TOWNSHIP
    assert town_b.value(Indicator.LOG_RATE) == d("0")  # grid_worker_b wrote nothing
    assert town_b.value(Indicator.CLOSURE_RATE) is None  # no case
    assert town_b.value(Indicator.VISIT_COVERAGE) is None  # no household
    assert town_b.value(Indicator.INSPECTION_DEDUCTIONS) == d("0")


def test_coverage_runs_against_the_calendar_within_the_quarter(march):
    """On 28 February, 59 of the quarter's 90 days are gone: 2 visited of 4 × 59/90 expected."""
    c = march.county
    batch = Batch(
        c.cell_a11, *period_range("month", datetime.date(2026, 2, 1)), today=datetime.date(2026, 4, 1)
    )
    (card,) = unit_scorecards(batch, [c.cell_a11])
    assert card.value(Indicator.VISIT_COVERAGE) == d("0.7627")  # 2 / 2.6222…
    assert card.figures[Indicator.VISIT_COVERAGE].numerator == 2


@pytest.mark.parametrize(
    "indicator,value,target,deduction,expected",
    [
        (Indicator.LOG_RATE, d("0.9"), d("95"), d("1"), d("10.00")),  # 5 points short
        (Indicator.LOG_RATE, d("0.9"), d("95"), None, d("14.21")),  # 15 × 90/95
        (Indicator.CASES_FOUND, 0, d("2"), None, d("0.00")),
        (Indicator.CASES_FOUND, 5, d("0"), None, d("15.00")),  # no target: full marks
        (Indicator.OVERDUE, 1, d("0"), None, d("0.00")),  # all or nothing
        (Indicator.OVERDUE, 0, d("0"), None, d("15.00")),
        (Indicator.REWORK_RATE, d("0.1"), d("5"), d("2"), d("5.00")),  # 5 points over at 2 each
        (Indicator.SATISFACTION, None, d("95"), d("1"), d("15.00")),  # nobody rated: nothing to fault
        (Indicator.INSPECTION_DEDUCTIONS, d("20"), d("0"), d("1"), d("0.00")),  # never below 0
    ],
)
def test_points_for_an_item(indicator, value, target, deduction, expected):
    assert points_for(indicator, value, weight=d("15"), target=target, deduction=deduction) == expected


def test_monthly_scores_keep_the_scheme_they_were_computed_with(march):
    c = march.county
    assert services.compute_month(datetime.date(2026, 3, 1), c.county, now=NOW) > 0
    stored = MonthlyScore.objects.get(month=datetime.date(2026, 3, 1), user=march.users.grid_worker)
    assert stored.total == d("53.50")
    assert stored.values["log_rate"] == "0.5000"
    first = stored.scheme
    with pytest.raises(ValidationError, match="不能再修改"):
        services.check_scheme_editable(first)

    # A new version from April weighs logs differently: March keeps its score, even when recomputed.
    second = ScoringScheme.objects.create(
        subject=Subject.WORKER, name="2026年4月版", valid_from=datetime.date(2026, 4, 1)
    )
    SchemeItem.objects.create(scheme=second, indicator=Indicator.LOG_RATE, weight=d("100"), target=d("50"))
    services.check_scheme_editable(second)  # unused: still editable
    services.compute_month(datetime.date(2026, 3, 1), c.county, now=NOW)
    stored = MonthlyScore.objects.get(month=datetime.date(2026, 3, 1), user=march.users.grid_worker)
    assert (stored.scheme, stored.total) == (first, d("53.50"))
    assert services.scheme_for(Subject.WORKER, datetime.date(2026, 4, 1)) == second


def test_a_month_is_scored_once_it_is_over_and_only_last_month_again(march):
    with pytest.raises(ValidationError) as error:
        services.compute_month(datetime.date(2026, 4, 1), march.county.county, now=NOW)
    assert "month" in error.value.message_dict
    services.compute_month(datetime.date(2026, 2, 1), march.county.county, now=NOW)  # never scored: fine
    with pytest.raises(ValidationError) as error:
        services.compute_month(datetime.date(2026, 2, 1), march.county.county, now=NOW)
    assert "2026-02" in error.value.message_dict["month"][0]


def test_a_worker_who_moved_keeps_one_score_when_a_township_is_scored(march):
    """grid_worker took a post in 乙一村 on 20 March: scoring 乙镇 replaces their score, never doubles it."""
    from wangge.people.models import Post
    from wangge.people.roles import Role

    c, users = march.county, march.users
    Post.objects.create(
        user=users.grid_worker,
        unit=c.grid_b1,
        role=Role.GRID_WORKER_PART_TIME,
        start_date=datetime.date(2026, 3, 20),
    )
    services.compute_month(datetime.date(2026, 3, 1), c.county, now=NOW)
    services.compute_month(datetime.date(2026, 3, 1), c.town_b, now=NOW)
    assert MonthlyScore.objects.filter(month=datetime.date(2026, 3, 1), user=users.grid_worker).count() == 1


def test_the_ranking_orders_and_ties(march):
    c = march.county
    services.compute_month(datetime.date(2026, 3, 1), c.county, now=NOW)
    workers = services.ranking(datetime.date(2026, 3, 1), Subject.WORKER, c.county)
    # grid_worker_b: no log (0 of 15), nothing found or resolved (0 of 10 and 5), no household or case
    # to fault (20 + 10 + 5 + 5 + 5 + 10 + 5), no finding (10): 70. grid_leader: no log, no 年遍访
    # visit, nothing found or resolved, 一组's cases (0 + 0 + 5 + 5 + 10 + 3), no finding (10): 33.
    assert [(r.rank, r.score.user.username, r.score.total) for r in workers] == [
        (1, "grid_worker_b", d("70.00")),
        (2, "grid_worker", d("53.50")),
        (3, "grid_leader", d("33.00")),
    ]
    # 甲二村: nothing to fault, 100. 乙一村: grid_worker_b's logs, 85. 甲一村: logs 25 % (0 of 15), visits
    # 60.16 % (20 − 39.84 × 0.5 = 0.08), on time and closure (0), rework and escalation (5 + 10),
    # satisfaction (10), 2 overdue (5 − 2 × 0.5 = 4), 3 points deducted (7): 36.08.
    villages = services.ranking(datetime.date(2026, 3, 1), Subject.VILLAGE, c.county)
    assert [(r.rank, r.score.unit, r.score.total) for r in villages] == [
        (1, c.village_a2, d("100.00")),
        (2, c.village_b, d("85.00")),
        (3, c.village_a, d("36.08")),
    ]
    # Grids rank within their level; 二组 and 甲二村网格 have nothing in March and share the first place.
    grids = services.ranking(datetime.date(2026, 3, 1), Subject.GRID, c.county, rank=4)
    assert [(r.rank, r.score.unit) for r in grids][:2] in (
        [(1, c.grid_a2), (1, c.grid_a2_only)],
        [(1, c.grid_a2_only), (1, c.grid_a2)],
    )
    assert [r.rank for r in grids] == [1, 1, 3, 4]
    # A township's ranking holds only its own subtree.
    town = services.ranking(datetime.date(2026, 3, 1), Subject.VILLAGE, c.town_b)
    assert [r.score.unit for r in town] == [c.village_b]


def test_the_worker_scores_last_month_once_on_the_first_working_day(march):
    # 1 April 2026 is a Wednesday, a working day.
    written = services.score_last_month(local(2026, 4, 1, 8))
    assert written == MonthlyScore.objects.filter(month=datetime.date(2026, 3, 1)).count() > 0
    assert services.score_last_month(local(2026, 4, 1, 9)) == 0  # done already
    assert ScoreRun.objects.get(month=datetime.date(2026, 3, 1)).scores == written
    # A worker that died half-way leaves a claim behind: after an hour another worker takes it over.
    ScoreRun.objects.filter(month=datetime.date(2026, 3, 1)).update(finished_at=None)
    assert services.score_last_month(local(2026, 4, 1, 8, 30)) == 0  # still someone's, for all we know
    assert services.score_last_month(local(2026, 4, 1, 11)) == written
    # 1 May 2026 is Labour Day: April waits for the first working day.
    assert services.score_last_month(local(2026, 5, 1, 9)) == 0
    assert not ScoreRun.objects.filter(month=datetime.date(2026, 4, 1)).exists()


def test_the_ordinary_score_of_a_year_averages_the_scored_months(march):
    c, users = march.county, march.users
    services.compute_month(datetime.date(2026, 3, 1), c.county, now=NOW)
    services.compute_month(datetime.date(2026, 2, 1), c.county, now=NOW)
    february = MonthlyScore.objects.get(month=datetime.date(2026, 2, 1), user=users.grid_worker).total
    ordinary = services.ordinary_scores([users.grid_worker.pk, users.outsider.pk], 2026)
    assert ordinary == {users.grid_worker.pk: ((february + d("53.50")) / 2).quantize(d("0.01"))}
    assert services.ordinary_scores([users.grid_worker.pk], 2025) == {}


def test_a_failed_monthly_run_is_tried_again(march, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "compute_month", broken)
    with pytest.raises(RuntimeError):
        services.score_last_month(local(2026, 4, 1, 8))
    assert not ScoreRun.objects.exists()
    monkeypatch.undo()
    assert services.score_last_month(local(2026, 4, 1, 8, 5)) > 0
