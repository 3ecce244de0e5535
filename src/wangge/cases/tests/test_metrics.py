"""The loop's figures (CASE-6, CASE-13, PLAT-5) on a crafted week, checked against hand-computed values.

The week is Monday 2 to Sunday 8 March 2026, an ordinary working week (no holiday in March 2026), so a
working day is simply 24 hours of a weekday: 10:00 to 16:00 on one day is 0.25, Friday 16:00 to Monday
10:00 is 0.75. The village of 甲一村 has these cases (all in 一格 unless said):

    C1  registered Mon 09:00 (大类 01), handled in place Mon 15:00                      due Thu 5
    C2  registered Mon 10:00, escalated to 甲镇, dispatched to 县应急管理局 Tue 10:00,
        accepted Wed 10:00, submitted Wed 16:00, check passed Thu 10:00                 due Tue 10
    C3  registered Mon 10:00, escalated, dispatched to 县公安局 Tue 10:00, returned as
        wrongly dispatched Tue 16:00, redispatched to 县应急管理局 Wed 10:00 (due Thu 5),
        accepted Wed 16:00, submitted Thu 10:00, check failed Thu 16:00 (rework),
        submitted Fri 10:00, check passed Fri 16:00 — handled and closed late             due Thu 5
    C4  registered Mon 10:00, escalated, dispatched to 县公安局 Wed 10:00 (due Fri 6),
        returned Wed 16:00 (not a wrong dispatch), put into long-term management Thu 10:00 due Fri 6
    C5  registered Mon 10:00, escalated, dispatched to 县应急管理局 Tue 10:00 (due Thu 5),
        accepted Tue 16:00, extension of 2 working days approved Wed 16:00, submitted
        Thu 16:00 (on time by the original deadline), not yet checked                   due Thu 5
    C6  reported Mon 10:00, rejected Tue 10:00 (not a case)
    C7  registered Sun 1 March 23:59, just before the period (大类 01), handled in place
        Mon 12:00                                                                       due Wed 4
    C8  registered Mon 9 March 00:00, the moment the period ends                         due Thu 12
    C9  a resident's report (大类 01), verified and registered Mon 10:00, untouched      due Thu 5
    C12 registered Fri 27 February 10:00, escalated, dispatched to 县应急管理局 Fri 16:00,
        accepted Mon 2 March 10:00, still being handled                                 due Thu 5

and 乙一村, another village: C10 registered Mon 10:00 and handled in place Mon 16:00 (due Thu 5), C11
registered Tue 10:00 and untouched (due Fri 6).

Saturday 28 February 2026 is a make-up working day (调休, Spring Festival): C12's five working days are
28 February and 2–5 March, and its Friday-to-Monday wait counts that Saturday.
"""

from decimal import Decimal
from types import SimpleNamespace

import pytest

from wangge.cases import services
from wangge.cases.choices import CaseState, HandlerLevel, RejectReason, Source
from wangge.cases.metrics import (
    COUNT_FIGURES,
    FIGURE_LABELS,
    RATE_FIGURES,
    CaseFigures,
    CategoryCount,
    StageSpan,
    StageTime,
    case_figures,
    figures_by_unit,
)
from wangge.cases.models import Case, Category
from wangge.cases.testing import local, patrol_case
from wangge.workdays import calendar

pytestmark = pytest.mark.django_db

START = local(2026, 3, 2)  # Monday 00:00
END = local(2026, 3, 9)  # the next Monday 00:00
NOW = local(2026, 3, 16, 12, 0)  # a week later: every deadline of the period has passed


def d(value: str) -> Decimal:
    return Decimal(value)


def _to_township(world, now, **kwargs):
    case = patrol_case(world, now=now, **kwargs)
    case = services.escalate(case, by=world.users.grid_worker, reason="需要协调", now=now)
    case = services.escalate(case, by=world.users.grid_leader, reason="需要协调", now=now)
    return services.escalate(case, by=world.users.village_a, reason="超出村级能力", now=now)


@pytest.fixture
def week(world):
    """The cases of the module docstring."""
    users, dept, police = world.users, world.department, world.police
    disputes = Category.objects.get(code="0101")  # 矛盾纠纷 › 邻里纠纷, with the default limits
    township = users.township_a

    c1 = patrol_case(world, now=local(2026, 3, 2, 9), category=disputes)
    c1 = services.handle_in_place(
        c1, by=users.grid_worker, result="已调解", mediation_outcome="succeeded", now=local(2026, 3, 2, 15)
    )
    c1 = services.rate(c1, rating="basically_satisfied", now=local(2026, 3, 2, 18))

    c2 = _to_township(world, local(2026, 3, 2, 10))
    c2 = services.dispatch(c2, by=township, lead=dept, now=local(2026, 3, 3, 10))
    c2 = services.accept(c2, by=users.department, now=local(2026, 3, 4, 10))
    c2 = services.submit(c2, by=users.department, result="已整改", now=local(2026, 3, 4, 16))
    c2 = services.check(c2, by=township, passed=True, note="通过", now=local(2026, 3, 5, 10))
    c2 = services.rate(c2, rating="unsatisfied", comment="太慢", now=local(2026, 3, 5, 12))

    thursday_end = local(2026, 3, 5, 23, 59, 59)
    c3 = _to_township(world, local(2026, 3, 2, 10))
    c3 = services.dispatch(c3, by=township, lead=police, now=local(2026, 3, 3, 10))
    c3 = services.return_case(c3, by=users.police, reason="不属于公安职责", now=local(2026, 3, 3, 16))
    c3 = services.dispatch(c3, by=township, lead=dept, due_at=thursday_end, now=local(2026, 3, 4, 10))
    c3 = services.accept(c3, by=users.department, now=local(2026, 3, 4, 16))
    c3 = services.submit(c3, by=users.department, result="处理了", now=local(2026, 3, 5, 10))
    c3 = services.check(c3, by=township, passed=False, note="仍有隐患", now=local(2026, 3, 5, 16))
    c3 = services.submit(c3, by=users.department, result="彻底整改", now=local(2026, 3, 6, 10))
    c3 = services.check(c3, by=township, passed=True, note="通过", now=local(2026, 3, 6, 16))

    c4 = _to_township(world, local(2026, 3, 2, 10))
    c4 = services.dispatch(
        c4, by=township, lead=police, due_at=local(2026, 3, 6, 23, 59, 59), now=local(2026, 3, 4, 10)
    )
    c4 = services.return_case(
        c4,
        by=users.police,
        reason="当事人已搬离，待核实",
        wrongly_dispatched=False,
        now=local(2026, 3, 4, 16),
    )
    c4 = services.hold(c4, by=users.county, reason="历史遗留问题", now=local(2026, 3, 5, 10))

    c5 = _to_township(world, local(2026, 3, 2, 10))
    c5 = services.dispatch(c5, by=township, lead=dept, due_at=thursday_end, now=local(2026, 3, 3, 10))
    c5 = services.accept(c5, by=users.department, now=local(2026, 3, 3, 16))
    services.request_extension(
        c5, by=users.department, working_days=2, reason="需采购材料", now=local(2026, 3, 4, 10)
    )
    c5 = services.decide_extension(c5, by=township, approve=True, note="同意", now=local(2026, 3, 4, 16))
    c5 = services.submit(c5, by=users.department, result="已修复", now=local(2026, 3, 5, 16))

    c6 = patrol_case(world, register=False, now=local(2026, 3, 2, 10))
    c6 = services.reject(
        c6,
        by=users.village_a,
        reason=RejectReason.NOT_A_CASE,
        note="不属于网格事项",
        now=local(2026, 3, 3, 10),
    )

    c7 = patrol_case(world, now=local(2026, 3, 1, 23, 59), category=disputes)
    c7 = services.handle_in_place(
        c7, by=users.grid_worker, result="已调解", mediation_outcome="succeeded", now=local(2026, 3, 2, 12)
    )

    c8 = patrol_case(world, now=END)

    c9, _ = services.report_case(
        reporter=None,
        source=Source.RESIDENT,
        description="楼上漏水，邻里争执",
        lng=world.point_a11[0],
        lat=world.point_a11[1],
        reporter_name="王女士",
        now=local(2026, 3, 2, 9, 30),
    )
    c9 = services.verify(c9, by=users.grid_worker, note="属实", now=local(2026, 3, 2, 10))
    c9 = services.register(c9, by=users.grid_worker, category=disputes, now=local(2026, 3, 2, 10))

    c12 = _to_township(world, local(2026, 2, 27, 10))
    c12 = services.dispatch(c12, by=township, lead=dept, now=local(2026, 2, 27, 16))
    c12 = services.accept(c12, by=users.department, now=local(2026, 3, 2, 10))

    worker_b = users.grid_worker_b
    c10 = patrol_case(world, by=worker_b, point=world.point_b1, now=local(2026, 3, 2, 10))
    c10 = services.handle_in_place(c10, by=worker_b, result="已处理", now=local(2026, 3, 2, 16))
    c11 = patrol_case(world, by=worker_b, point=world.point_b1, now=local(2026, 3, 3, 10))

    return SimpleNamespace(
        c1=c1, c2=c2, c3=c3, c4=c4, c5=c5, c6=c6, c7=c7, c8=c8, c9=c9, c10=c10, c11=c11, c12=c12
    )


def village_cases(world):
    """What a 甲一村 desk sees: the caller scopes, the figures follow."""
    return Case.objects.visible_to(world.users.village_a)


def test_the_crafted_week_is_what_the_docstring_says(world, week):
    """Guards the hand computations below: deadlines, states and levels as the services left them."""
    due = {name: getattr(week, name).kpi_due_at for name in ("c1", "c2", "c3", "c4", "c5", "c7", "c8", "c9")}
    assert due == {
        "c1": local(2026, 3, 5, 23, 59, 59),
        "c2": local(2026, 3, 10, 23, 59, 59),
        "c3": local(2026, 3, 5, 23, 59, 59),
        "c4": local(2026, 3, 6, 23, 59, 59),
        "c5": local(2026, 3, 5, 23, 59, 59),
        "c7": local(2026, 3, 4, 23, 59, 59),
        "c8": local(2026, 3, 12, 23, 59, 59),
        "c9": local(2026, 3, 5, 23, 59, 59),
    }
    assert week.c12.kpi_due_at == local(2026, 3, 5, 23, 59, 59)  # 调休: Saturday 28 February counts
    assert week.c5.due_at == local(2026, 3, 9, 23, 59, 59)  # extended; the KPI deadline is not
    assert [week.c4.state, week.c5.state, week.c9.state, week.c12.state] == [
        CaseState.ON_HOLD,
        CaseState.SUBMITTED,
        CaseState.REGISTERED,
        CaseState.HANDLING,
    ]
    assert (week.c3.resolved_level, week.c7.resolved_level) == (HandlerLevel.TOWNSHIP, HandlerLevel.GRID)


def test_every_figure_of_the_week(world, week):
    """CASE-6, PLAT-5: each figure against its hand-computed value (the reasoning is in each comment)."""
    f = case_figures(village_cases(world), START, END, now=NOW)
    counts = {name: getattr(f, name) for name in COUNT_FIGURES}
    assert counts == {
        "registered": 6,  # C1 C2 C3 C4 C5 C9; not C7 (before), C8 (at the end), C6 (rejected), C12
        "rejected": 1,  # C6
        "dispatches": 5,  # C2, C3 twice, C4, C5; C12's was on 27 February
        "accurate_dispatches": 4,  # all but C3's first, returned as wrongly dispatched
        "returned_dispatches": 2,  # C3's first and C4's
        "handled": 4,  # of the six: C1 C2 C3 closed, C5 submitted
        "due_to_handle": 8,  # handled in the week: C1 C2 C3 C5 C7; due in it, not handled: C4 C9 C12
        "handled_on_time": 4,  # C1, C2 (Wed ≤ Tue 10), C5 (Thu 16:00 ≤ Thu), C7; C3 was late
        "closed": 3,  # of the six: C1 C2 C3
        "due_to_close": 8,  # closed in the week: C1 C2 C3 C7; due in it, open: C4 C5 C9 C12
        "closed_on_time": 3,  # C1 C2 C7; C3 closed Friday, due Thursday
        "on_hold": 1,  # C4, due Friday, in long-term management
        "checked": 2,  # C2, C3
        "reworked": 1,  # C3
        "extended": 1,  # C5
        "escalated": 4,  # C2 C3 C4 C5
        "overdue": 4,  # due in the week, not on hold, not closed by the deadline: C3 (late), C5, C9, C12
        "closed_in_period": 4,  # C1 C2 C3 C7
        "self_resolved": 2,  # C1 C7, handled in place in the grid
        "rated": 2,  # C1, C2
        "satisfied": 1,  # C1 (basically satisfied); C2 unsatisfied
    }
    rates = {name: getattr(f, name) for name in RATE_FIGURES}
    assert rates == {
        "accurate_dispatch_rate": d("0.8000"),  # 4 / 5
        "handled_rate": d("0.6667"),  # 4 / 6
        "handled_on_time_rate": d("0.5714"),  # 4 / (8 − 1)
        "closed_rate": d("0.5000"),  # 3 / 6
        "closed_on_time_rate": d("0.4286"),  # 3 / (8 − 1)
        "rework_rate": d("0.5000"),  # 1 / 2
        "extension_rate": d("0.1667"),  # 1 / 6
        "return_rate": d("0.4000"),  # 2 / 5
        "escalation_rate": d("0.6667"),  # 4 / 6
        "satisfaction_rate": d("0.5000"),  # 1 / 2
    }
    assert f.resolved_by_level == {"grid": 2, "village": 0, "township": 2, "county": 0, "department": 0}
    assert f.resolved_share == {
        "grid": d("0.5"),
        "village": d("0"),
        "township": d("0.5"),
        "county": d("0"),
        "department": d("0"),
    }
    assert f.stage_times == {
        # C2 C3 C5 one working day, C4 two; C12 was first dispatched in February.
        StageSpan.REGISTER_DISPATCH: StageTime(4, d("1.25"), d("1.00")),
        # C2 1.0; C3, C5 0.25; C12 Friday 16:00 to Monday 10:00 over the make-up Saturday, 1.75.
        # Average 3.25 / 4 = 0.8125; median (0.25 + 1.0) / 2 = 0.625, rounded half up.
        StageSpan.DISPATCH_ACCEPT: StageTime(4, d("0.81"), d("0.63")),
        # C2 0.25; C3 0.75, and its rework from the failed check 0.75; C5 2.0.
        StageSpan.ACCEPT_SUBMIT: StageTime(4, d("0.94"), d("0.75")),
        # C2 0.75; C3 0.25 and 0.25.
        StageSpan.SUBMIT_CHECK: StageTime(3, d("0.42"), d("0.25")),
        # C1 0.25; C2 3.0; C3 4.25; C7 from Sunday 23:59 to Monday noon, 0.5.
        StageSpan.REGISTER_CLOSE: StageTime(4, d("2.00"), d("1.75")),
    }
    assert f.by_status == {
        "registered": 1,  # C9
        "dispatched": 0,
        "handling": 0,
        "submitted": 1,  # C5
        "closed": 3,
        "on_hold": 1,  # C4
    }
    assert f.by_source == dict.fromkeys(Source.values, 0) | {"patrol": 5, "resident": 1}
    assert f.by_category == (CategoryCount("01", "矛盾纠纷", 2), CategoryCount("99", "测试大类", 4))
    assert (f.start, f.end, f.now) == (START, END, NOW)


def test_period_boundaries_are_start_inclusive_end_exclusive(world, week):
    """C7 was registered a minute before the period and C8 at its end: neither is in 立案数."""
    cases = village_cases(world)
    assert case_figures(cases, START, END, now=NOW).registered == 6
    assert case_figures(cases, local(2026, 3, 1, 23, 59), END, now=NOW).registered == 7  # C7 at start
    assert case_figures(cases, START, local(2026, 3, 9, 0, 0, 1), now=NOW).registered == 7  # C8 in


def test_a_return_after_the_period_still_counts_against_its_dispatch(world, week):
    """准确派遣率 follows each dispatch: C3's Tuesday 10:00 dispatch was returned at 16:00, after the end."""
    f = case_figures(village_cases(world), START, local(2026, 3, 3, 12), now=NOW)
    assert (f.dispatches, f.accurate_dispatches, f.returned_dispatches) == (3, 2, 1)  # C2, C3, C5
    assert (f.accurate_dispatch_rate, f.return_rate) == (d("0.6667"), d("0.3333"))


def test_a_running_period_counts_only_deadlines_already_passed(world):
    """按期结案率 mid-week: a case due on Thursday is not yet missed on Tuesday."""
    done = patrol_case(world, now=local(2026, 3, 2, 10))
    services.handle_in_place(done, by=world.users.grid_worker, result="已处理", now=local(2026, 3, 2, 16))
    patrol_case(world, now=local(2026, 3, 2, 10))  # due Thursday 5 March, left open
    cases = village_cases(world)

    tuesday = case_figures(cases, START, END, now=local(2026, 3, 3, 12))
    assert (tuesday.due_to_close, tuesday.closed_on_time, tuesday.closed_on_time_rate) == (1, 1, d("1"))
    assert (tuesday.due_to_handle, tuesday.handled_on_time_rate) == (1, d("1"))
    friday = case_figures(cases, START, END, now=local(2026, 3, 6, 12))
    assert (friday.due_to_close, friday.closed_on_time, friday.closed_on_time_rate) == (2, 1, d("0.5"))
    assert (friday.due_to_handle, friday.handled_on_time_rate) == (2, d("0.5"))


def assert_empty(f: CaseFigures) -> None:
    assert all(getattr(f, name) == 0 for name in COUNT_FIGURES)
    assert all(getattr(f, name) is None for name in RATE_FIGURES)
    assert set(f.resolved_by_level.values()) == {0}
    assert set(f.resolved_share.values()) == {None}
    assert set(f.stage_times.values()) == {StageTime(0, None, None)}
    assert set(f.by_status.values()) == set(f.by_source.values()) == {0}
    assert f.by_category == ()


def test_zero_denominators_give_none_not_zero(world, week):
    """An empty period, an empty queryset: no rate is invented from nothing."""
    assert_empty(case_figures(village_cases(world), local(2026, 1, 5), local(2026, 1, 12), now=NOW))
    assert_empty(case_figures(Case.objects.none(), START, END, now=NOW))
    assert_empty(case_figures(Case.objects.visible_to(world.users.outsider), START, END, now=NOW))


def town_b_expected() -> dict:
    """乙一村: C10 registered Monday and handled in place the same afternoon, C11 registered Tuesday, open."""
    return {
        "registered": 2,
        "rejected": 0,
        "dispatches": 0,
        "accurate_dispatches": 0,
        "returned_dispatches": 0,
        "handled": 1,
        "due_to_handle": 2,  # C10 handled in the week; C11 due Friday, not handled
        "handled_on_time": 1,
        "closed": 1,
        "due_to_close": 2,
        "closed_on_time": 1,
        "on_hold": 0,
        "checked": 0,
        "reworked": 0,
        "extended": 0,
        "escalated": 0,
        "overdue": 1,  # C11, due Friday, still open
        "closed_in_period": 1,
        "self_resolved": 1,
        "rated": 0,
        "satisfied": 0,
        "accurate_dispatch_rate": None,  # nothing was dispatched
        "handled_rate": d("0.5"),
        "handled_on_time_rate": d("0.5"),
        "closed_rate": d("0.5"),
        "closed_on_time_rate": d("0.5"),
        "rework_rate": None,  # nothing was checked
        "extension_rate": d("0"),
        "return_rate": None,
        "escalation_rate": d("0"),
        "satisfaction_rate": None,  # nobody rated
    }


def figures_of(f: CaseFigures) -> dict:
    return {name: getattr(f, name) for name in (*COUNT_FIGURES, *RATE_FIGURES)}


def test_the_callers_queryset_decides_the_scope(world, week):
    """Cases of 乙一村 never reach 甲一村's figures; the county sees both villages."""
    village_b = case_figures(Case.objects.visible_to(world.users.village_b), START, END, now=NOW)
    assert figures_of(village_b) == town_b_expected()
    assert village_b.resolved_share["grid"] == d("1")
    assert village_b.stage_times[StageSpan.REGISTER_CLOSE] == StageTime(1, d("0.25"), d("0.25"))
    county = case_figures(Case.objects.visible_to(world.users.county), START, END, now=NOW)
    assert (county.registered, county.self_resolved, county.closed_in_period) == (8, 3, 5)


def test_figures_by_unit_rank_the_townships_and_villages(world, week):
    c = world.county
    everything = Case.objects.all()
    towns = figures_by_unit(everything, [c.town_b, c.town_a], START, END, now=NOW)
    assert list(towns) == [c.town_b, c.town_a]
    assert towns[c.town_a] == case_figures(village_cases(world), START, END, now=NOW)
    assert figures_of(towns[c.town_b]) == town_b_expected()
    assert towns[c.town_b].by_category == (CategoryCount("99", "测试大类", 2),)

    # Units of different depths, and one without cases.
    mixed = figures_by_unit(everything, [c.village_a, c.village_a2, c.town_b], START, END, now=NOW)
    assert mixed[c.village_a] == towns[c.town_a]
    assert mixed[c.town_b] == towns[c.town_b]
    assert_empty(mixed[c.village_a2])

    # The caller's scope still holds: 甲一村's desk ranking the townships sees nothing of 乙镇.
    scoped = figures_by_unit(village_cases(world), [c.town_a, c.town_b], START, END, now=NOW)
    assert scoped[c.town_a] == towns[c.town_a]
    assert_empty(scoped[c.town_b])


def test_a_late_case_is_overdue_once_in_the_period_it_fell_due(world):
    """Due 6 March, closed 6 May: overdue in March only, not again in May when it closes."""
    case = patrol_case(world, now=local(2026, 3, 3, 10))
    assert case.kpi_due_at.date().isoformat() == "2026-03-06"
    case = services.handle_in_place(
        case, by=world.users.grid_worker, result="迟办", now=local(2026, 5, 6, 10)
    )
    later = local(2026, 6, 15)
    months = [(local(2026, m, 1), local(2026, m + 1, 1)) for m in (3, 4, 5)]
    overdue = [case_figures(Case.objects.all(), start, end, now=later).overdue for start, end in months]
    assert overdue == [1, 0, 0]


def test_query_count_does_not_grow_with_cases_or_units(world, week, django_assert_num_queries):
    """4 queries for the figures; ranking units, 2 per depth (counts, categories) and 2 for the actions of
    all depths together (the calendar is cached per year)."""
    calendar.is_workday(START)  # the year's working-day overrides, read once per process
    c = world.county
    cases = village_cases(world)
    with django_assert_num_queries(4):
        case_figures(cases, START, END, now=NOW)
    with django_assert_num_queries(4):
        figures_by_unit(Case.objects.all(), [c.town_a, c.town_b], START, END, now=NOW)
    with django_assert_num_queries(6):
        figures_by_unit(Case.objects.all(), [c.village_a, c.village_a2, c.town_b], START, END, now=NOW)


def test_stage_times_measure_exactly_what_working_days_between_measures(db):
    """The figures sum working time on a cumulative line; it must agree with the calendar's own measure
    to the last bit, across weekends, the 2026 Spring Festival with its make-up Saturdays, National Day,
    and a local override."""
    import datetime
    import random

    from wangge.cases.metrics import DAY_US, WorkingClock
    from wangge.workdays.models import WorkdayOverride

    WorkdayOverride.objects.create(date=datetime.date(2026, 3, 11), is_workday=False, reason="县庆")
    rng = random.Random(2026)
    origin = local(2026, 1, 20)
    moments = [origin + datetime.timedelta(minutes=rng.randrange(300 * 24 * 60)) for _ in range(400)]
    moments += [local(2026, 2, 14, 9), local(2026, 2, 28, 23, 59, 59), local(2026, 3, 11, 12), START, END]
    clock = WorkingClock()
    for _ in range(600):
        start, end = rng.choice(moments), rng.choice(moments)
        assert clock.span(start, end) / DAY_US == calendar.working_days_between(start, end), (start, end)
    assert clock.span(local(2026, 3, 10, 12), local(2026, 3, 12, 12)) == DAY_US  # the 11th is off


def test_a_period_must_be_aware_and_forward(world):
    import datetime

    with pytest.raises(ValueError, match="aware"):
        case_figures(Case.objects.all(), datetime.datetime(2026, 3, 2), END)
    with pytest.raises(ValueError, match="end after it starts"):
        case_figures(Case.objects.all(), END, START)


def test_every_figure_has_a_translatable_label():
    """The dashboard shows FIGURE_LABELS; every figure of CaseFigures has one."""
    import dataclasses

    fields = {f.name for f in dataclasses.fields(CaseFigures)} - {"start", "end", "now"}
    assert set(FIGURE_LABELS) == fields
    assert set(COUNT_FIGURES) | set(RATE_FIGURES) <= fields
    assert all(str(label) for label in [*FIGURE_LABELS.values(), *StageSpan.labels])
