"""The command centre's figures on the crafted week (conftest.py), worked out by hand.

The week is Monday 2 to Friday 6 March 2026, seen on Monday 9 March. Deadlines are the end of the third
working day after registration (the grid's and village's limit).

    case  where       category        registered   closed / now            deadline   counted
    D1    一格 (甲一村) 0101 dispute    Mon 09:00    in place Mon 15:00      Thu 5      grid, mediation ok, rated 基本满意
    D2    一格 (甲一村) 0101 major      Tue 10:00    village in place Wed 10 Fri 6      village, mediation failed
    D3    一格 (甲一村) 1701 petition   Wed 10:00    open                    Mon 9      from above, online
    D4    乙一村       1702 petition   Thu 09:00    open                    Tue 10     patrol → in person
    D5    二格 (甲一村) 9901 test       Mon 10:00    open                    Thu 5      overdue
    D6    一格         (resident)      —            not registered Tue 09:00
    D7    一格 (甲一村) 9901 test       Thu 26 Feb   in place Mon 11:00      Mon 2      closed in the week only

Saturday 28 February 2026 is a working day (调休 after the Spring Festival), so D7's three working days
are Friday, Saturday and Monday.

County, the week:
- registered 5 (D1–D5): closed 2, registered 3; patrol 4, assigned from above 1; 矛盾纠纷 2, 信访与维稳 2,
  测试大类 1. Not registered 1 (D6).
- closed 3 (D1, D2, D7): grid 2, village 1; on time 3; resolved in the grid 2 (D1, D7); rated 1, satisfied 1.
- working days from registration to closure: D1 6 h = 0.25; D2 Tue 10:00 → Wed 10:00 = 1.00; D7 Thu 15 h
  (0.625) + Fri 1 + Sat 1 + Mon 11 h (0.4583) = 3.0833. Average (0.25 + 1 + 3.0833) / 3 = 1.4444 → 1.44;
  median 1.00.
- deadlines before today: D7 Mon (met), D1 Thu (met), D5 Thu (overdue), D2 Fri (met); D3 and D4 fall
  due on or after today. Due 4, met 3, overdue 1: on-time closure 0.75.
- disputes 2, closed 2, both at 乡村两级 (grid, village) but D2's mediation failed: resolved locally 1,
  0.5 (target 0.90); mediated 2, succeeded 1: 0.5
  (target 0.95); major disputes 1 (D2), resolved 0: 0.0 (target 0.85); petitions 2, online 1: 0.5
  (target 0.60).
"""

import datetime
from decimal import Decimal

import pytest

from wangge.dashboard.figures import figures, previous_range, unit_figures
from wangge.dashboard.kpis import Kpi
from wangge.dashboard.models import KpiTarget
from wangge.dashboard.rollup import refresh

from .conftest import FRIDAY, MONDAY, NOW, TODAY

pytestmark = pytest.mark.django_db


def parts(breakdown):
    return {part.key: part.count for part in breakdown if part.count}


def test_the_county_week_is_what_the_docstring_says(week):
    f = figures(week.county, MONDAY, FRIDAY, today=TODAY)
    assert f.registered == 5 and f.rejected == 1
    assert parts(f.by_status) == {"closed": 2, "registered": 3}
    assert parts(f.by_source) == {"patrol": 4, "higher_level": 1}
    assert [(p.key, p.label, p.count) for p in f.by_category] == [
        ("01", "矛盾纠纷", 2),
        ("17", "信访与维稳", 2),
        ("99", "测试大类", 1),
    ]
    assert f.closed == 3 and parts(f.by_level) == {"grid": 2, "village": 1}
    assert f.resolved_share["grid"] == Decimal("0.6667") and f.resolved_share["county"] == Decimal("0")
    assert f.closed_on_time == 3 and f.self_resolved == 2
    assert f.average_days == Decimal("1.44") and f.median_days == Decimal("1.00")
    assert (f.due, f.n("due_met"), f.overdue) == (4, 3, 1)

    kpis = {k.kpi: k for k in f.kpis}
    assert (kpis[Kpi.ON_TIME_CLOSURE].numerator, kpis[Kpi.ON_TIME_CLOSURE].denominator) == (3, 4)
    assert kpis[Kpi.ON_TIME_CLOSURE].value == Decimal("0.7500")
    assert kpis[Kpi.SATISFACTION].value == Decimal("1.0000")
    assert kpis[Kpi.DISPUTES_RESOLVED_LOCALLY].value == Decimal("0.5000")
    assert kpis[Kpi.MEDIATION_SUCCESS].value == Decimal("0.5000")
    assert kpis[Kpi.MAJOR_DISPUTES_RESOLVED].value == Decimal("0.0000")
    assert kpis[Kpi.ONLINE_PETITIONS].value == Decimal("0.5000")


def test_each_kpi_carries_the_seed_target_and_whether_it_is_met(week):
    kpis = {k.kpi: k for k in figures(week.county, MONDAY, FRIDAY, today=TODAY).kpis}
    assert kpis[Kpi.DISPUTES_RESOLVED_LOCALLY].target == Decimal("0.9000")
    assert kpis[Kpi.DISPUTES_RESOLVED_LOCALLY].meets_target is False
    assert (kpis[Kpi.MEDIATION_SUCCESS].target, kpis[Kpi.MEDIATION_SUCCESS].meets_target) == (
        Decimal("0.95"),
        False,
    )
    assert kpis[Kpi.MAJOR_DISPUTES_RESOLVED].target == Decimal("0.85")
    assert kpis[Kpi.ONLINE_PETITIONS].target == Decimal("0.60")
    assert kpis[Kpi.ON_TIME_CLOSURE].target is None and kpis[Kpi.ON_TIME_CLOSURE].meets_target is None

    # The targets are data: an administrator lowers one and the line moves.
    KpiTarget.objects.filter(kpi=Kpi.MEDIATION_SUCCESS).update(target_percent=Decimal("50"))
    KpiTarget.objects.filter(kpi=Kpi.ON_TIME_CLOSURE).update(target_percent=Decimal("80"))
    kpis = {k.kpi: k for k in figures(week.county, MONDAY, FRIDAY, today=TODAY).kpis}
    assert kpis[Kpi.MEDIATION_SUCCESS].meets_target is True
    assert (kpis[Kpi.ON_TIME_CLOSURE].target, kpis[Kpi.ON_TIME_CLOSURE].meets_target) == (
        Decimal("0.8"),
        False,
    )


def test_each_unit_counts_its_own_subtree(week):
    w = week.units
    found = unit_figures(
        [w.town_a, w.town_b, w.village_a, w.village_a2, w.cell_a11, w.cell_a12], MONDAY, FRIDAY, today=TODAY
    )
    assert found[w.town_a].registered == found[w.village_a].registered == 4  # D1, D2, D3, D5
    assert found[w.town_b].registered == 1 and found[w.town_b].petitions == 1  # D4
    assert found[w.village_a2].registered == 0 and found[w.village_a2].average_days is None
    assert found[w.cell_a11].registered == 3 and found[w.cell_a11].closed == 3  # D1, D2, D7 happened in 一格
    assert found[w.cell_a12].overdue == 1  # D5


def test_a_range_ending_today_counts_no_deadline_of_today(week):
    """D3 falls due at the end of Monday 9 March: not yet due while that day runs."""
    f = figures(week.county, MONDAY, TODAY, today=TODAY)
    assert f.due == 4 and f.registered == 5
    tomorrow = figures(week.county, MONDAY, TODAY, today=TODAY + datetime.timedelta(days=1))
    assert tomorrow.due == 5 and tomorrow.overdue == 2  # D3 is now overdue too


def test_the_previous_period_is_as_long_and_just_before(week):
    assert previous_range(MONDAY, FRIDAY) == (datetime.date(2026, 2, 25), datetime.date(2026, 3, 1))
    before = figures(week.county, *previous_range(MONDAY, FRIDAY), today=TODAY)
    assert before.registered == 1 and before.closed == 0  # D7, closed the week after
    assert parts(before.by_status) == {"closed": 1}


def test_the_rollup_gives_exactly_the_live_figures(week):
    refresh(NOW, full=True)
    w = week.units
    units = [w.county, w.town_a, w.town_b, w.village_a, w.village_a2, w.village_b, w.grid_a1, w.cell_a11]
    for first, last in [
        (MONDAY, FRIDAY),
        (datetime.date(2026, 2, 1), TODAY),  # the rollup up to Sunday, today live
        (datetime.date(2026, 3, 4), datetime.date(2026, 3, 4)),
        (TODAY, TODAY),
    ]:
        rolled = unit_figures(units, first, last, today=TODAY)
        live = unit_figures(units, first, last, today=TODAY, use_rollup=False)
        for unit in units:
            assert rolled[unit].counts == live[unit].counts, (unit, first, last)
    assert figures(w.county, MONDAY, FRIDAY, today=TODAY).registered == 5


def test_the_county_reads_its_week_from_the_rollup_in_a_fixed_number_of_queries(
    week, django_assert_max_num_queries
):
    refresh(NOW, full=True)
    with django_assert_max_num_queries(6):
        f = figures(week.county, MONDAY, FRIDAY, today=TODAY)
        categories = f.by_category
    assert f.registered == 5 and len(categories) == 3


@pytest.mark.parametrize(
    "histogram, median",
    [
        ({"h.25": 1, "h.100": 2, "h.301": 1}, Decimal("1.00")),  # positions 2 and 3 of 4 are both 1.00
        ({"h.25": 1, "h.100": 1}, Decimal("0.63")),  # (0.25 + 1.00) / 2 = 0.625, rounded half up
        ({"h.7": 3}, Decimal("0.07")),
    ],
)
def test_the_median_is_that_of_the_spans_rounded_to_hundredths(world, histogram, median):
    from collections import Counter

    from wangge.dashboard.figures import Figures

    counts = Counter({"closed": sum(histogram.values()), **histogram})
    assert Figures(world.county.county, MONDAY, FRIDAY, counts).median_days == median


@pytest.mark.parametrize(
    ("first", "last", "before"),
    [
        ((2026, 3, 2), (2026, 3, 6), ((2026, 2, 25), (2026, 3, 1))),  # any days: as many just before
        ((2026, 10, 1), (2026, 10, 31), ((2026, 9, 1), (2026, 9, 30))),  # a month: the month before
        ((2026, 3, 1), (2026, 3, 31), ((2026, 2, 1), (2026, 2, 28))),
        ((2026, 11, 1), (2026, 11, 21), ((2026, 10, 1), (2026, 10, 21))),  # this month so far
        ((2026, 3, 1), (2026, 3, 30), ((2026, 2, 1), (2026, 2, 28))),  # no 30 February
        ((2026, 10, 1), (2026, 11, 21), ((2026, 7, 1), (2026, 8, 21))),  # this quarter so far
        ((2026, 7, 1), (2026, 9, 30), ((2026, 4, 1), (2026, 6, 30))),  # a quarter
        ((2026, 1, 1), (2026, 11, 21), ((2025, 1, 1), (2025, 11, 21))),  # this year so far
        ((2026, 9, 1), (2026, 10, 31), ((2026, 7, 1), (2026, 8, 31))),  # two months
    ],
)
def test_a_range_is_compared_with_the_calendar_period_before(first, last, before):
    day = datetime.date
    assert previous_range(day(*first), day(*last)) == (day(*before[0]), day(*before[1]))
