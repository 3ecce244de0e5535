"""Household visits, patrols and publicity (WORK-2, WORK-6): the visit regime's due lists and coverage
across period boundaries, and the rules that refuse a record."""

import datetime
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from wangge.cases.choices import Source
from wangge.cases.models import Case, Category
from wangge.core.testing import build_test_county
from wangge.fieldwork import visits
from wangge.fieldwork.choices import Period, PublicityMethod, VisitPurpose
from wangge.fieldwork.models import PatrolRecord, PublicityRecord, Visit, VisitRule
from wangge.ledger import services as ledger
from wangge.ledger.choices import HouseholdStatus, Relation, ResidentStatus
from wangge.ledger.models import AttentionTag, Household

D = datetime.date
TODAY = D(2026, 3, 30)  # a Monday in the last week of the first quarter


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch, settings):
    settings.WANGGE_WORK_LOG_EDIT_DAYS = 7
    today = {"value": TODAY}
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: today["value"])
    return today


@pytest.fixture
def world(db):
    county = build_test_county(households_per_grid=3)
    county.homes = {
        code: list(Household.objects.filter(grid=getattr(county, code)).order_by("number"))
        for code in ("cell_a11", "cell_a12", "grid_a2", "grid_a2_only", "grid_b1")
    }
    return county


def visit(user, household, date=TODAY, **kw):
    kw.setdefault("purposes", [VisitPurpose.OPINIONS])
    return visits.record_visit(by=user, household=household, date=date, **kw)[0]


def duty(user, code, on=None):
    return next(d for d in visits.due_list(user, on) if d.rule.code == code)


def rule(code):
    return VisitRule.objects.get(code=code)


def leaf_category():
    return Category.objects.filter(parent__isnull=False, is_active=True).order_by("code").first()


def field_error(excinfo) -> str:
    return next(iter(excinfo.value.message_dict))


def test_period_bounds_and_history():
    assert visits.period_bounds(Period.MONTH, D(2026, 2, 14)) == (D(2026, 2, 1), D(2026, 2, 28))
    assert visits.period_bounds(Period.QUARTER, D(2026, 3, 31)) == (D(2026, 1, 1), D(2026, 3, 31))
    assert visits.period_bounds(Period.QUARTER, D(2026, 4, 1)) == (D(2026, 4, 1), D(2026, 6, 30))
    assert visits.period_bounds(Period.QUARTER, D(2026, 12, 31)) == (D(2026, 10, 1), D(2026, 12, 31))
    assert visits.period_bounds(Period.YEAR, D(2026, 7, 1)) == (D(2026, 1, 1), D(2026, 12, 31))
    assert visits.previous_periods(Period.QUARTER, D(2026, 2, 1), 3) == [
        (D(2025, 7, 1), D(2025, 9, 30)),
        (D(2025, 10, 1), D(2025, 12, 31)),
        (D(2026, 1, 1), D(2026, 3, 31)),
    ]


@pytest.mark.django_db
def test_the_default_regime_follows_seed_002(world):
    codes = {r.code: r for r in visits.active_rules()}
    assert codes["quarterly_visit"].level.key == "grid4" and codes["quarterly_visit"].period == Period.QUARTER
    assert codes["yearly_visit"].level.key == "grid3" and codes["yearly_visit"].period == Period.YEAR
    assert codes["monthly_patrol"].level is None and codes["monthly_patrol"].period == Period.MONTH
    care = codes["yearly_care"]
    assert care.include_rental and {"dibao", "empty_nest_elderly", "key_person"} <= {
        t.code for t in care.tags.all()
    }


@pytest.mark.django_db
def test_a_grid_workers_due_list_shrinks_with_each_visit(world):
    worker = world.users.grid_worker  # 四级网格 cell_a11: 季遍访 of its three households
    quarterly = duty(worker, "quarterly_visit")
    assert (quarterly.total, quarterly.done, quarterly.remaining) == (3, 0, 3)
    assert [d.household.number for d in quarterly.pending] == [h.number for h in world.homes["cell_a11"]]
    assert (quarterly.start, quarterly.end) == (D(2026, 1, 1), D(2026, 3, 31))

    visit(worker, world.homes["cell_a11"][1], date=D(2026, 3, 27))
    quarterly = duty(worker, "quarterly_visit")
    assert (quarterly.total, quarterly.done, quarterly.remaining) == (3, 1, 2)
    assert world.homes["cell_a11"][1].number not in [d.household.number for d in quarterly.pending]
    # The worker's own posts only: the leader's yearly duty is not on the worker's list.
    assert "yearly_visit" not in {d.rule.code for d in visits.due_list(worker)}


@pytest.mark.django_db
def test_a_visit_counts_in_its_own_quarter_only(world, frozen_today):
    worker, home = world.users.grid_worker, world.homes["cell_a11"][0]
    visit(worker, home, date=D(2026, 3, 30))
    assert duty(worker, "quarterly_visit").done == 1

    frozen_today["value"] = D(2026, 4, 1)  # the new quarter starts with everyone to visit again
    q2 = duty(worker, "quarterly_visit")
    assert (q2.start, q2.end, q2.done, q2.remaining) == (D(2026, 4, 1), D(2026, 6, 30), 0, 3)
    # Never visited first, then the oldest last visit.
    assert [d.last_visit for d in q2.pending] == [None, None, D(2026, 3, 30)]

    visit(worker, home, date=D(2026, 4, 1))
    assert duty(worker, "quarterly_visit").done == 1
    q1_total, _ = visits.household_coverage(
        rule("quarterly_visit"), world.village_a, D(2026, 1, 1), D(2026, 3, 31)
    )
    q2_total, _ = visits.household_coverage(
        rule("quarterly_visit"), world.village_a, D(2026, 4, 1), D(2026, 6, 30)
    )
    assert (q1_total.covered, q2_total.covered) == (1, 1)


@pytest.mark.django_db
def test_a_visit_counts_for_the_rule_of_the_visitors_level(world):
    leader, worker = world.users.grid_leader, world.users.grid_worker
    yearly = duty(leader, "yearly_visit")  # 三级网格 grid_a1: every household of cell_a11 and cell_a12
    assert (yearly.total, yearly.done) == (6, 0)

    visit(worker, world.homes["cell_a11"][0])
    assert duty(leader, "yearly_visit").done == 0  # a 四级 worker's visit is not the leader's 年遍访

    visit(leader, world.homes["cell_a11"][0])
    visit(leader, world.homes["cell_a12"][2])
    assert duty(leader, "yearly_visit").done == 2
    assert duty(worker, "quarterly_visit").done == 1  # …and the leader's visit is not the worker's 季遍访
    assert Visit.objects.filter(visitor=leader).first().post_level.key == "grid3"


@pytest.mark.django_db
def test_care_visits_ask_for_rentals_and_tagged_households_only(world):
    admin, worker = world.users.sysadmin, world.users.grid_worker
    first, second, third = world.homes["cell_a11"]
    dibao = AttentionTag.objects.get(code="dibao")
    ledger.create_resident(by=admin, household=first, name="困难户", relation=Relation.HEAD, tags=[dibao])
    Household.objects.filter(pk=second.pk).update(is_rental=True)
    gone = ledger.create_resident(
        by=admin, household=third, name="已迁出", relation=Relation.HEAD, tags=[dibao]
    )
    ledger.set_resident_status(gone, ResidentStatus.MOVED_OUT, by=admin)  # a moved-out member's tag: no

    care = duty(worker, "yearly_care")
    assert sorted(d.household.number for d in care.pending) == sorted([first.number, second.number])
    visit(worker, second, purposes=[VisitPurpose.OPINIONS])  # a 季遍访 visit is not the 慰问
    assert duty(worker, "yearly_care").done == 0
    visit(world.users.village_a, first, purposes=[VisitPurpose.SERVICE, VisitPurpose.CARE])  # anyone's
    care = duty(worker, "yearly_care")
    assert (care.total, care.done) == (2, 1)


@pytest.mark.django_db
def test_unit_coverage_by_child_and_history(world, frozen_today):
    worker = world.users.grid_worker
    for home in world.homes["cell_a11"][:2]:
        visit(worker, home, date=D(2026, 3, 26))
    report = {r.rule.code: r for r in visits.coverage_report(world.village_a, history=2)}
    quarterly = report["quarterly_visit"]
    # Households below 四级网格 only: grid_a2 (a 三级网格 without cells) owes no 季遍访.
    assert (quarterly.total.total, quarterly.total.covered, quarterly.total.percent) == (6, 2, 33.3)
    children = {row.unit.code: (row.total, row.covered) for row in quarterly.children}
    assert children == {world.grid_a1.code: (6, 2), world.grid_a2.code: (0, 0)}
    assert [(label, row.covered) for label, row in quarterly.history][-1][1] == 2
    assert quarterly.history[0][1].covered == 0

    patrol = report["monthly_patrol"]
    assert (patrol.total.total, patrol.total.covered) == (2, 0)  # grid_leader and grid_worker
    visits.record_patrol(by=worker, grid=world.cell_a11, date=TODAY, route="一格环线")
    patrol = {r.rule.code: r for r in visits.coverage_report(world.village_a)}["monthly_patrol"]
    assert (patrol.total.total, patrol.total.covered) == (2, 1)
    assert (
        duty(worker, "monthly_patrol").done == 1 and duty(world.users.grid_leader, "monthly_patrol").done == 0
    )

    county_report = {r.rule.code: r for r in visits.coverage_report(world.county, history=1)}
    assert county_report["quarterly_visit"].total.covered == 2
    assert {row.unit.code: row.total for row in county_report["quarterly_visit"].children} == {
        world.town_a.code: 6,
        world.town_b.code: 0,
    }


@pytest.mark.django_db
def test_a_visit_that_raises_a_case_writes_both_or_neither(world):
    worker, home = world.users.grid_worker, world.homes["cell_a11"][0]
    draft = visits.CaseDraft(description="屋后边坡有裂缝，雨后可能滑坡", category=leaf_category())
    record = visit(worker, home, purposes=[VisitPurpose.HAZARDS], findings="边坡裂缝", case=draft)
    case = record.case
    assert case.source == Source.VISIT and case.unit == world.cell_a11
    assert list(case.households.all()) == [home] and case.reporter == worker

    with pytest.raises(ValidationError) as excinfo:
        visit(worker, home, case=visits.CaseDraft(description="   ", category=leaf_category()))
    assert field_error(excinfo) == "case_description"
    assert Visit.objects.count() == 1 and Case.objects.count() == 1


@pytest.mark.django_db
def test_refusals_name_the_field(world, settings):
    worker, home = world.users.grid_worker, world.homes["cell_a11"][0]
    with pytest.raises(PermissionDenied):
        visit(worker, world.homes["grid_b1"][0])  # another village's household
    with pytest.raises(PermissionDenied):
        visit(world.users.department, home)  # departments keep no households
    cases = [
        ({"date": D(2026, 3, 31)}, "date"),  # tomorrow
        ({"date": D(2026, 3, 22)}, "date"),  # past the 7-day window
        ({"purposes": []}, "purposes"),
        ({"purposes": ["gossip"]}, "purposes"),
    ]
    for kwargs, expected in cases:
        with pytest.raises(ValidationError) as excinfo:
            visit(worker, home, **kwargs)
        assert field_error(excinfo) == expected
    stranger = ledger.create_resident(
        by=world.users.sysadmin, household=world.homes["cell_a11"][1], name="邻居", relation=Relation.HEAD
    )
    with pytest.raises(ValidationError) as excinfo:
        visit(worker, home, people_met=[stranger])
    assert field_error(excinfo) == "people_met" and "邻居" in str(excinfo.value)
    Household.objects.filter(pk=home.pk).update(status=HouseholdStatus.CLOSED)
    home.refresh_from_db()
    with pytest.raises(ValidationError) as excinfo:
        visit(worker, home)
    assert field_error(excinfo) == "household"
    assert not Visit.objects.exists()


@pytest.mark.django_db
def test_a_retried_submission_returns_the_first_record(world):
    worker, home, key = world.users.grid_worker, world.homes["cell_a11"][0], uuid.uuid4()
    first, created = visits.record_visit(
        by=worker, household=home, date=TODAY, purposes=[VisitPurpose.SERVICE], client_uuid=key
    )
    again, created_again = visits.record_visit(
        by=worker, household=home, date=TODAY, purposes=[VisitPurpose.SERVICE], client_uuid=key
    )
    assert created and not created_again and again.pk == first.pk and Visit.objects.count() == 1
    with pytest.raises(ValidationError):
        visits.record_visit(
            by=world.users.grid_leader, household=home, date=TODAY, purposes=["service"], client_uuid=key
        )


@pytest.mark.django_db
def test_patrol_and_publicity_records(world):
    worker = world.users.grid_worker
    patrol, _ = visits.record_patrol(
        by=worker,
        grid=world.cell_a11,
        date=TODAY,
        route="沿河路段",
        minutes=90,
        findings="护栏松动",
        case=visits.CaseDraft(description="沿河护栏松动", category=leaf_category()),
    )
    assert patrol.case.source == Source.PATROL and PatrolRecord.objects.count() == 1
    for kwargs, expected in [({"route": " "}, "route"), ({"minutes": 0}, "minutes")]:
        with pytest.raises(ValidationError) as excinfo:
            visits.record_patrol(by=worker, grid=world.cell_a11, date=TODAY, **{"route": "x", **kwargs})
        assert field_error(excinfo) == expected
    with pytest.raises(PermissionDenied):
        visits.record_patrol(by=worker, grid=world.grid_b1, date=TODAY, route="越界")

    record, _ = visits.record_publicity(
        by=worker,
        unit=world.cell_a11,
        date=TODAY,
        topic="防范电信网络诈骗",
        method=PublicityMethod.DOOR_TO_DOOR,
        audience="一格全体住户",
        reached=40,
    )
    assert PublicityRecord.objects.get().reached == 40 and record.unit == world.cell_a11
    for kwargs, expected in [
        ({"topic": ""}, "topic"),
        ({"method": "smoke"}, "method"),
        ({"audience": ""}, "audience"),
    ]:
        args = {"topic": "医保", "method": PublicityMethod.POSTER, "audience": "村民", **kwargs}
        with pytest.raises(ValidationError) as excinfo:
            visits.record_publicity(by=worker, unit=world.cell_a11, date=TODAY, **args)
        assert field_error(excinfo) == expected
