"""The monthly report (月度通报) of March 2026 on the crafted week (conftest.py), worked out by hand.

The week's cases (test_figures.py's docstring) plus two more:

    F1  一格      9901 major   registered Tue 10 Feb 09:00, handled in place 15:00; deadline Fri 13 Feb, met
    G   二格      9901 grave   registered Mon 30 Mar 09:00, open; deadline Thu 2 April

Generated on Wednesday 1 April 2026 at 10:00 (the first working day of April):

- March: registered 6 (D1–D5, G), closed 3 (D1, D2, D7), not registered 1 (D6). Deadlines in March, all
  before 1 April: D7, D1, D2 met; D5, D3 (Mon 9), D4 (Tue 10) missed: due 6, met 3, overdue 3 — on-time
  closure 3/6 = 50.0 %. G falls due in April. Average 1.44 working days, median 1.00 (as for the week).
- February (the previous month): F1 fell due and was met: on-time closure 1/1 = 100.0 %.
- Ranking of the county's townships: 甲镇 3/5 = 60.0 % (D3, D5 overdue) first, 乙镇 0/1 (D4) second.
- Overdue on 1 April 10:00 (open, stage deadline passed), oldest deadline first: D5 (Thu 5 March), D3
  (Mon 9), D4 (Tue 10); G's deadline is to come.
- Notable (major or grave, registered in March): D2 (major, closed), D4 (1702's default major, open),
  G (grave, open); F1 was registered in February.
"""

import datetime
import io
import json

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, pgettext
from pypdf import PdfReader

from wangge.cases import services as case_services
from wangge.cases.testing import local, patrol_case
from wangge.core.testing import run_together
from wangge.dashboard import reports
from wangge.dashboard.kpis import Kpi
from wangge.dashboard.models import MonthlyReport
from wangge.dashboard.report_exports import write_report_xlsx

pytestmark = pytest.mark.django_db

MARCH = datetime.date(2026, 3, 1)
FEBRUARY = datetime.date(2026, 2, 1)
GENERATED = local(2026, 4, 1, 10)


@pytest.fixture
def march(week):
    world, users = week.world, week.world.users
    f1 = patrol_case(world, severity="major", now=local(2026, 2, 10, 9))
    case_services.handle_in_place(f1, by=users.grid_worker, result="已修复", now=local(2026, 2, 10, 15))
    patrol_case(
        world,
        by=users.grid_leader,
        point=world.point_a12,
        severity="grave",
        description="山体滑坡隐患，威胁三户居民",
        now=local(2026, 3, 30, 9),
    )
    return week


def kpis_of(document) -> dict:
    return {k["kpi"]: k for k in document["kpis"]}


def test_the_county_report_of_march_holds_the_hand_computed_figures(march):
    document = reports.build_report(march.county, datetime.date(2026, 3, 17), now=GENERATED)
    json.dumps(document)  # stored as JSON as it is
    assert document["unit"] == {"code": "500229", "name": "测试县", "level": march.county.level.name}
    assert (document["month"], document["previous_month"]) == ("2026-03", "2026-02")
    assert document["generated_at"] == "2026-04-01T10:00:00+08:00"
    assert document["headline"] == {
        "registered": 6,
        "closed": 3,
        "rejected": 1,
        "closed_on_time": 3,
        "due": 6,
        "due_met": 3,
        "on_time_closure": "0.5000",
        "overdue": 3,
        "self_resolved": 2,
        "average_days": "1.44",
        "median_days": "1.00",
    }
    kpis = kpis_of(document)
    assert list(kpis) == [
        Kpi.ON_TIME_CLOSURE,
        Kpi.SATISFACTION,
        Kpi.DISPUTES_RESOLVED_LOCALLY,
        Kpi.MEDIATION_SUCCESS,
        Kpi.MAJOR_DISPUTES_RESOLVED,
        Kpi.ONLINE_PETITIONS,
        Kpi.LOG_SUBMISSION,
        Kpi.VISIT_COVERAGE,
    ]
    assert kpis[Kpi.ON_TIME_CLOSURE] == {
        "kpi": "on_time_closure",
        "numerator": 3,
        "denominator": 6,
        "value": "0.5000",
        "target": None,
        "meets_target": None,
        "previous": "1.0000",
    }
    assert kpis[Kpi.DISPUTES_RESOLVED_LOCALLY] | {"previous": "?"} == {
        "kpi": "disputes_resolved_locally",
        "numerator": 1,  # D2 was closed at the village by a failed mediation: not resolved
        "denominator": 2,
        "value": "0.5000",
        "target": "0.9000",
        "meets_target": False,
        "previous": "?",
    }
    assert kpis[Kpi.DISPUTES_RESOLVED_LOCALLY]["previous"] is None  # no dispute closed in February
    assert (kpis[Kpi.MEDIATION_SUCCESS]["value"], kpis[Kpi.MEDIATION_SUCCESS]["meets_target"]) == (
        "0.5000",
        False,
    )
    assert kpis[Kpi.MAJOR_DISPUTES_RESOLVED]["value"] == "0.0000"
    assert kpis[Kpi.ONLINE_PETITIONS]["value"] == "0.5000"
    # The three grid staff (grid leader, grid workers of 一格 and 乙一村) owed a log on each of March's 22
    # working days and wrote none.
    log = kpis[Kpi.LOG_SUBMISSION]
    assert (log["numerator"], log["denominator"], log["value"]) == (0, 66, "0.0000")


def test_the_townships_are_ranked_by_on_time_closure(march):
    document = reports.build_report(march.county, MARCH, now=GENERATED)
    assert [(r["rank"], r["name"], r["on_time_closure"]) for r in document["ranking"]] == [
        (1, "甲镇", "0.6000"),
        (2, "乙镇", "0.0000"),
    ]
    town_a = document["ranking"][0]
    assert (town_a["registered"], town_a["closed"], town_a["due"], town_a["overdue"]) == (5, 3, 5, 2)
    assert (town_a["disputes_resolved_locally"], town_a["satisfaction"]) == ("0.5000", "1.0000")
    town_b = document["ranking"][1]
    assert (town_b["registered"], town_b["overdue"], town_b["satisfaction"]) == (1, 1, None)


def test_equal_rates_share_a_rank_in_the_tree_order_and_units_without_deadlines_come_last(world):
    users = world.users
    a = patrol_case(world, now=local(2026, 3, 2, 9))
    case_services.handle_in_place(a, by=users.grid_worker, result="已修复", now=local(2026, 3, 2, 15))
    b = patrol_case(world, by=users.grid_worker_b, point=world.point_b1, now=local(2026, 3, 3, 9))
    case_services.handle_in_place(b, by=users.grid_worker_b, result="已修复", now=local(2026, 3, 3, 11))
    county = reports.build_report(world.county.county, MARCH, now=GENERATED)
    # Both townships closed their one case on time: rank 1 each, 甲镇 before 乙镇 as in the tree.
    assert [(r["rank"], r["name"], r["on_time_closure"]) for r in county["ranking"]] == [
        (1, "甲镇", "1.0000"),
        (1, "乙镇", "1.0000"),
    ]
    town = reports.build_report(world.county.town_a, MARCH, now=GENERATED)
    assert [(r["rank"], r["name"], r["on_time_closure"]) for r in town["ranking"]] == [
        (1, "甲一村", "1.0000"),
        (None, "甲二村", None),  # nothing fell due there: unranked, last
    ]


def test_the_overdue_list_is_capped_oldest_deadline_first_with_the_total(march, settings):
    settings.WANGGE_REPORT_OVERDUE_LIMIT = 2
    document = reports.build_report(march.county, MARCH, now=GENERATED)
    overdue = document["overdue"]
    assert (overdue["total"], overdue["limit"]) == (3, 2)
    assert [(c["unit"], c["category"], c["stage_due_at"][:10]) for c in overdue["cases"]] == [
        ("二格", "测试小类", "2026-03-05"),  # D5
        ("一格", "信访事项登记", "2026-03-09"),  # D3
    ]
    # D5's deadline was the end of Thursday 5 March: 18 working days (6–31 March) and 10 hours of
    # 1 April later.
    assert overdue["cases"][0]["overdue_days"] == "18.42"
    village_b = reports.build_report(march.units.village_b, MARCH, now=GENERATED)
    assert (
        village_b["overdue"]["total"] == 1
        and village_b["overdue"]["cases"][0]["category"] == "重复信访与信访积案"
    )


def test_notable_cases_are_the_major_and_grave_ones_registered_in_the_month(march):
    notable = reports.build_report(march.county, MARCH, now=GENERATED)["notable"]
    assert notable["total"] == 3
    assert [(c["unit"], c["severity"], c["state"], c["closed"]) for c in notable["cases"]] == [
        ("一格", "major", "closed", True),  # D2
        ("乙一村网格", "major", "registered", False),  # D4
        ("二格", "grave", "registered", False),  # G
    ]
    assert notable["cases"][2]["title"] == "山体滑坡隐患，威胁三户居民"
    assert notable["cases"][0]["closed_at"] == "2026-03-04T10:00:00+08:00"
    february = reports.build_report(march.county, FEBRUARY, now=GENERATED)["notable"]
    assert [(c["severity"], c["closed"]) for c in february["cases"]] == [("major", True)]  # F1


@pytest.mark.parametrize("month", [datetime.date(2026, 4, 1), datetime.date(2026, 5, 1)])
def test_the_current_or_a_future_month_is_refused(county, month):
    with pytest.raises(ValidationError) as refused:
        reports.generate(county.county, month, now=local(2026, 4, 30, 23))
    assert "month" in refused.value.message_dict
    assert not MonthlyReport.objects.exists()


def test_a_month_before_the_unit_existed_is_refused(county):
    with pytest.raises(ValidationError) as refused:
        reports.generate(county.county, datetime.date(2019, 12, 1), now=GENERATED)
    assert "month" in refused.value.message_dict


def test_generating_again_replaces_the_document_and_records_who_and_when(march):
    users = march.world.users
    first = reports.generate(march.county, MARCH, now=GENERATED)
    assert first.generated_by is None and first.document["headline"]["registered"] == 6
    # A case registered in March reaches the system late; the county generates March again.
    patrol_case(march.world, now=local(2026, 3, 31, 16))
    later = local(2026, 4, 2, 9)
    again = reports.generate(march.county, MARCH, by=users.county, now=later)
    assert again.pk == first.pk and MonthlyReport.objects.count() == 1
    stored = MonthlyReport.objects.get()
    assert (stored.generated_by, stored.generated_at) == (users.county, later)
    assert stored.document["headline"]["registered"] == 7
    assert stored.document["generated_at"] == "2026-04-02T09:00:00+08:00"


# --- the worker ----------------------------------------------------------------------------------------

ADMINISTRATIVE = ["500229", "500229100", "500229100001", "500229100002", "500229101", "500229101001"]


def stored_codes(month=FEBRUARY) -> list[str]:
    return sorted(MonthlyReport.objects.filter(month=month).values_list("unit__code", flat=True))


def test_the_worker_reports_last_month_from_the_first_working_day_once_per_unit(county):
    # Sunday 1 March is no working day: February waits for Monday.
    assert reports.issue_monthly_reports(local(2026, 3, 1, 9)) == 0
    assert not MonthlyReport.objects.exists()
    assert reports.issue_monthly_reports(local(2026, 3, 2, 8)) == 6
    codes = [
        county.county,
        county.town_a,
        county.village_a,
        county.village_a2,
        county.town_b,
        county.village_b,
    ]
    assert stored_codes() == sorted(unit.code for unit in codes) == ADMINISTRATIVE  # no grid
    assert set(MonthlyReport.objects.values_list("generated_by", flat=True)) == {None}
    assert reports.issue_monthly_reports(local(2026, 3, 2, 8, 1)) == 0  # the second pass does nothing
    assert reports.issue_monthly_reports(local(2026, 3, 20, 8)) == 0
    assert MonthlyReport.objects.count() == 6


def test_the_worker_goes_on_where_a_pass_stopped(county, settings):
    settings.WANGGE_REPORT_SWEEP_BATCH = 4
    assert reports.issue_monthly_reports(local(2026, 3, 2, 8)) == 4
    assert stored_codes() == ADMINISTRATIVE[:4]  # from the top of the tree down
    assert reports.issue_monthly_reports(local(2026, 3, 2, 8, 1)) == 2
    assert stored_codes() == ADMINISTRATIVE
    assert reports.issue_monthly_reports(local(2026, 3, 2, 8, 2)) == 0


def test_a_failing_unit_does_not_stop_the_others_and_is_done_at_the_next_pass(county, monkeypatch):
    build = reports.build_report

    def broken(unit, month, *, now=None):
        if unit.code == "500229100002":  # 甲二村
            raise RuntimeError("disk full")
        return build(unit, month, now=now)

    monkeypatch.setattr(reports, "build_report", broken)
    with pytest.raises(RuntimeError, match="500229100002"):
        reports.issue_monthly_reports(local(2026, 3, 2, 8))
    assert stored_codes() == [code for code in ADMINISTRATIVE if code != "500229100002"]
    monkeypatch.setattr(reports, "build_report", build)
    assert reports.issue_monthly_reports(local(2026, 3, 2, 9)) == 1
    assert stored_codes() == ADMINISTRATIVE
    times = dict(MonthlyReport.objects.values_list("unit__code", "generated_at"))
    assert times["500229100002"] == local(2026, 3, 2, 9) and times["500229"] == local(2026, 3, 2, 8)


def test_a_unit_that_keeps_failing_does_not_hold_back_the_units_after_it(county, monkeypatch, settings):
    settings.WANGGE_REPORT_SWEEP_BATCH = 2
    build = reports.build_report

    def broken(unit, month, *, now=None):
        if unit.code == "500229":  # the county, first in the tree's order, fails every time
            raise RuntimeError("disk full")
        return build(unit, month, now=now)

    monkeypatch.setattr(reports, "build_report", broken)
    for minute in range(3):
        with pytest.raises(RuntimeError, match="500229"):
            reports.issue_monthly_reports(local(2026, 3, 2, 8, minute))
    # Two reports a pass despite the county: all five units below it are done after three passes.
    assert stored_codes() == ADMINISTRATIVE[1:]


def test_a_report_stored_meanwhile_by_another_worker_is_kept(county, monkeypatch):
    build = reports.build_report
    theirs = {"from": "the other worker"}

    def racing(unit, month, *, now=None):
        if unit == county.town_a:  # the other worker stores 甲镇's report while this one builds it
            MonthlyReport.objects.create(unit=unit, month=month, document=theirs, generated_at=now)
        return build(unit, month, now=now)

    monkeypatch.setattr(reports, "build_report", racing)
    assert reports.issue_monthly_reports(local(2026, 3, 2, 8)) == 5
    assert MonthlyReport.objects.get(unit=county.town_a).document == theirs
    assert MonthlyReport.objects.count() == 6


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent workers need PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("restore_migrated_rows")
def test_two_workers_at_once_make_each_report_once(county):
    now = local(2026, 3, 2, 8)
    results, errors = run_together(
        lambda: reports.issue_monthly_reports(now), lambda: reports.issue_monthly_reports(now)
    )
    assert errors == [] and sum(results) == 6
    assert stored_codes() == ADMINISTRATIVE


# --- the files -------------------------------------------------------------------------------------------


def workbook_of(document):
    out = io.BytesIO()
    write_report_xlsx(document, out)
    out.seek(0)
    return openpyxl.load_workbook(out)


def test_the_workbook_holds_the_kpis_the_ranking_and_both_case_lists(march, settings):
    settings.WANGGE_REPORT_OVERDUE_LIMIT = 2
    book = workbook_of(reports.build_report(march.county, MARCH, now=GENERATED))
    assert book.sheetnames == [
        "指标",
        "排名",
        pgettext("monthly report", "Overdue cases"),
        gettext("Notable cases"),
    ]
    kpis = book["指标"]
    assert [c.value for c in kpis[1]][:4] == ["指标", gettext("Numerator"), gettext("Denominator"), "数值"]
    on_time = kpis[2]
    assert [c.value for c in on_time] == ["按期结案率", 3, 6, 0.5, None, None, 1.0]
    assert on_time[3].number_format == "0.0%" and on_time[6].number_format == "0.0%"
    disputes = kpis[4]
    assert [c.value for c in disputes][:5] == ["矛盾纠纷乡村两级化解率", 1, 2, 0.5, 0.9]
    assert disputes[5].value == gettext("Not met")
    headline = {row[0].value: row[1] for row in kpis.iter_rows(min_row=11) if row[0].value}
    assert headline["立案"].value == 6 and headline["结案"].value == 3 and headline["不予立案"].value == 1
    assert headline["按期结案率"].value == 0.5 and headline["按期结案率"].number_format == "0.0%"
    assert headline["平均用时（工作日）"].value == 1.44

    ranking = book["排名"]
    assert [c.value for c in ranking[1]][:3] == ["排名", "单元", "单位代码"]
    assert [c.value for c in ranking[2]][:8] == [1, "甲镇", "500229100", 5, 3, 5, 2, 0.6]
    assert ranking[2][7].number_format == "0.0%"
    assert [c.value for c in ranking[3]][:8] == [2, "乙镇", "500229101", 1, 0, 1, 1, 0]

    overdue = list(book.worksheets[2].iter_rows(values_only=True))
    assert overdue[1][2:5] == ("二格", "二格", "测试小类") and overdue[1][6] == datetime.datetime(
        2026, 3, 5, 23, 59, 59
    )
    assert overdue[2][4] == "信访事项登记"
    assert len(overdue) == 4 and "3" in overdue[3][0]  # the cap: 2 of 3 listed

    notable = list(book.worksheets[3].iter_rows(values_only=True))
    assert [(row[2], row[4], row[6]) for row in notable[1:]] == [
        ("一格", "较大", "是"),
        ("乙一村网格", "较大", "否"),
        ("二格", "重大", "否"),
    ]


# --- the pages -------------------------------------------------------------------------------------------


def last_month() -> datetime.date:
    return reports.previous_month(timezone.localdate())


def test_the_county_generates_march_and_downloads_it(march, login):
    client = login(march.world.users.county)
    url = reverse("dashboard:reports", args=["500229"])
    page = client.get(url)
    assert page.status_code == 200 and 'id="no-reports"' in page.content.decode()
    response = client.post(reverse("dashboard:report_generate", args=["500229"]), {"month": "2026-03"})
    assert response.status_code == 302 and response["Location"] == url
    stored = MonthlyReport.objects.get()
    assert (stored.unit, stored.month, stored.generated_by) == (march.county, MARCH, march.world.users.county)
    page = client.get(url).content.decode()
    assert 'data-month="2026-03"' in page and 'data-generated-by="county"' in page

    pdf = client.get(reverse("dashboard:report_pdf", args=["500229", MARCH]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert "500229-2026-03.pdf" in pdf["Content-Disposition"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "测试县" in text and "按期结案率" in text and "50.0%" in text and "甲镇" in text

    xlsx = client.get(reverse("dashboard:report_xlsx", args=["500229", MARCH]))
    assert xlsx.status_code == 200 and "500229-2026-03.xlsx" in xlsx["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert book["排名"]["B2"].value == "甲镇"


def test_the_current_month_cannot_be_generated_on_the_page(county, login):
    client = login(county.users.village_a)
    this_month = f"{timezone.localdate():%Y-%m}"
    response = client.post(
        reverse("dashboard:report_generate", args=[county.village_a.code]), {"month": this_month}
    )
    assert response.status_code == 400
    assert 'data-field="month"' in response.content.decode() and "has-error" in response.content.decode()
    bad = client.post(
        reverse("dashboard:report_generate", args=[county.village_a.code]), {"month": "2026-13"}
    )
    assert bad.status_code == 400 and "月份：请按 YYYY-MM 格式填写。" in bad.content.decode()
    assert not MonthlyReport.objects.exists()


def test_a_month_not_stored_answers_404_with_the_form_to_generate_it(county, login):
    client = login(county.users.village_a)
    response = client.get(reverse("dashboard:report_pdf", args=[county.village_a.code, MARCH]))
    assert response.status_code == 404
    page = response.content.decode()
    assert 'id="report-missing" data-month="2026-03"' in page
    assert (
        'value="2026-03"' in page
        and reverse("dashboard:report_generate", args=[county.village_a.code]) in page
    )
    assert (
        client.get(reverse("dashboard:report_xlsx", args=[county.village_a.code, MARCH])).status_code == 404
    )


def test_the_list_costs_the_same_queries_for_one_report_or_many(county, login, django_assert_max_num_queries):
    for month in (1, 2):
        reports.generate(county.village_a, datetime.date(2026, month, 1), by=county.users.village_a)
    client = login(county.users.village_a)
    url = reverse("dashboard:reports", args=[county.village_a.code])
    client.get(url)
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as two:
        client.get(url)
    reports.generate(county.village_a, datetime.date(2026, 3, 1), by=None)
    reports.generate(county.village_a, datetime.date(2026, 4, 1), by=county.users.county)
    with django_assert_max_num_queries(len(two.captured_queries)):
        page = client.get(url).content.decode()
    assert page.count("data-month=") == 4


# --- scope ---------------------------------------------------------------------------------------------


@pytest.fixture
def village_reports(county):
    month = last_month()
    for unit in (county.village_a, county.village_b):
        reports.generate(unit, month)
    return month


def test_a_village_reads_its_own_reports(county, login, village_reports):
    client = login(county.users.village_a)
    code = county.village_a.code
    page = client.get(reverse("dashboard:reports", args=[code]))
    assert page.status_code == 200 and f'data-month="{village_reports:%Y-%m}"' in page.content.decode()
    assert client.get(reverse("dashboard:report_pdf", args=[code, village_reports])).status_code == 200
    assert client.get(reverse("dashboard:report_xlsx", args=[code, village_reports])).status_code == 200


def test_it_rejects_another_villages_reports(county, login, village_reports):
    client = login(county.users.village_a)
    code = county.village_b.code
    before = MonthlyReport.objects.get(unit=county.village_b).generated_at
    assert client.get(reverse("dashboard:reports", args=[code])).status_code == 404
    assert client.get(reverse("dashboard:report_pdf", args=[code, village_reports])).status_code == 404
    assert client.get(reverse("dashboard:report_xlsx", args=[code, village_reports])).status_code == 404
    generate = client.post(
        reverse("dashboard:report_generate", args=[code]), {"month": f"{village_reports:%Y-%m}"}
    )
    assert generate.status_code == 404
    assert MonthlyReport.objects.get(unit=county.village_b).generated_at == before
    assert (
        client.get(reverse("dashboard:reports", args=[county.town_b.code])).status_code == 404
    )  # not upwards
    assert client.get(reverse("dashboard:reports", args=["999999"])).status_code == 404


def test_an_outsider_is_refused_and_a_visitor_goes_to_the_login(county, login, client, village_reports):
    url = reverse("dashboard:reports", args=[county.village_a.code])
    pdf = reverse("dashboard:report_pdf", args=[county.village_a.code, village_reports])
    anonymous = client.get(pdf)
    assert anonymous.status_code == 302 and reverse("login") in anonymous["Location"]
    outsider = login(county.users.outsider)
    assert outsider.get(url).status_code == 403 and outsider.get(pdf).status_code == 403
    assert (
        outsider.post(
            reverse("dashboard:report_generate", args=[county.village_a.code]), {"month": "2026-03"}
        ).status_code
        == 403
    )
    grid_worker = login(county.users.grid_worker)  # no dashboard either
    assert grid_worker.get(url).status_code == 403


def test_the_admin_shows_a_village_its_own_reports_only(county, login, village_reports):
    client = login(county.users.village_a)
    page = client.get(reverse("admin:dashboard_monthlyreport_changelist")).content.decode()
    assert county.village_a.code in page and county.village_b.code not in page
    theirs = MonthlyReport.objects.get(unit=county.village_b)
    assert client.get(reverse("admin:dashboard_monthlyreport_change", args=[theirs.pk])).status_code == 404
    filtered = client.get(
        reverse("admin:dashboard_monthlyreport_changelist"), {"month": f"{village_reports:%Y-%m}"}
    )
    assert filtered.status_code == 200 and county.village_a.code in filtered.content.decode()
    everything = login(county.users.sysadmin).get(reverse("admin:dashboard_monthlyreport_changelist"))
    assert county.village_b.code in everything.content.decode()


def test_the_admin_reads_reports_but_never_writes_them(county, login, village_reports):
    client = login(county.users.sysadmin)
    report = MonthlyReport.objects.get(unit=county.village_a)
    assert client.get(reverse("admin:dashboard_monthlyreport_add")).status_code == 403
    assert client.get(reverse("admin:dashboard_monthlyreport_change", args=[report.pk])).status_code == 200
    client.post(reverse("admin:dashboard_monthlyreport_change", args=[report.pk]), {"month": "2020-01-01"})
    assert (
        client.post(
            reverse("admin:dashboard_monthlyreport_delete", args=[report.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert MonthlyReport.objects.get(pk=report.pk).month == village_reports


def test_a_grid_leader_reads_the_reports_but_may_not_issue_one(march, login):
    units = march.units
    reports.generate(units.grid_a1, MARCH, now=GENERATED)
    client = login(units.users.grid_leader)
    page = client.get(reverse("dashboard:reports", args=[units.grid_a1.code]))
    assert page.status_code == 200 and b'data-month="2026-03"' in page.content
    assert b'id="report-generate"' not in page.content and "Generate again" not in page.content.decode()
    answer = client.post(
        reverse("dashboard:report_generate", args=[units.grid_a1.code]), {"month": "2026-03"}
    )
    assert answer.status_code == 403
    village = login(units.users.village_a).get(reverse("dashboard:reports", args=[units.grid_a1.code]))
    assert b'id="report-generate"' in village.content
