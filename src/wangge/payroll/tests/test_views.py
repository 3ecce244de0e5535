"""The payroll pages and exports: who reaches what (anonymous to the login page, no MANAGE_PAY 403, another
village 404 by every route), what the pages show, the forms, and "my pay"."""

import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from wangge.payroll import services
from wangge.payroll.choices import SheetStatus
from wangge.payroll.models import InformationReward, PayRule, PaySheet

from .conftest import FULL_TIME, D, local, make_case, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def sheets(county):
    """March sheets of 甲一村 (finalised, with a case and a reward) and 乙一村 (a draft)."""
    u = county.users
    person("worker_b", (county.grid_b1, FULL_TIME, D(2025, 1, 1)), full_name="乙网格员")
    case = make_case(county.cell_a11, reporter=u.grid_worker, registered_at=local(2026, 3, 9, 9))
    services.grant_reward(
        by=u.village_a,
        person=u.grid_worker,
        unit=county.village_a,
        month=D(2026, 3, 1),
        amount="200",
        reason="信息",
        case=case,
    )
    a = services.compute_sheet(by=u.village_a, unit=county.village_a, month=D(2026, 3, 1))
    a = services.finalise_sheet(by=u.village_a, sheet=a)
    b = services.compute_sheet(by=u.village_b, unit=county.village_b, month=D(2026, 3, 1))
    return type("Sheets", (), {"a": a, "b": b, "case": case, "line": a.lines.get(person=u.grid_worker)})


def urls(sheets) -> list[str]:
    a = sheets.a
    return [
        reverse("payroll:sheet", args=[a.pk]),
        reverse("payroll:line", args=[a.pk, sheets.line.pk]),
        reverse("payroll:export_xlsx", args=[a.pk]),
        reverse("payroll:export_pdf", args=[a.pk]),
    ]


# --- who reaches which page -----------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login_page(client, sheets):
    for url in [
        *urls(sheets),
        reverse("payroll:sheets"),
        reverse("payroll:rewards"),
        reverse("payroll:reward_new"),
        reverse("payroll:budget"),
        reverse("payroll:rules"),
        reverse("payroll:mine"),
        reverse("payroll:my_line", args=[sheets.line.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response["Location"], url


def test_it_refuses_staff_without_the_right_to_keep_pay(county, sheets, login):
    for user in (county.users.grid_worker, county.users.department, county.users.outsider):
        client = login(user)
        for url in [
            *urls(sheets),
            reverse("payroll:sheets"),
            reverse("payroll:rewards"),
            reverse("payroll:budget"),
        ]:
            assert client.get(url).status_code == 403, (user.username, url)
        assert client.post(reverse("payroll:finalise", args=[sheets.b.pk])).status_code == 403


def test_it_rejects_another_village_by_every_route(county, sheets, login):
    client = login(county.users.village_b)
    for url in urls(sheets):
        assert client.get(url).status_code == 404, url
    code = county.village_a.code
    for name in ("payroll:sheets", "payroll:rewards", "payroll:budget", "payroll:reward_new"):
        assert client.get(f"{reverse(name)}?unit={code}").status_code == 404, name
    assert client.post(reverse("payroll:recompute", args=[sheets.a.pk])).status_code == 404
    assert client.post(reverse("payroll:compute"), {"unit": code, "month": "2026-04"}).status_code == 404
    reward = InformationReward.objects.get()
    assert client.post(reverse("payroll:reward_withdraw", args=[reward.pk])).status_code == 404
    # Its own list holds its own sheet only.
    listed = client.get(reverse("payroll:sheets"), {"year": 2026}).context["page"].object_list
    assert [sheet.pk for sheet in listed] == [sheets.b.pk]


def test_the_village_and_the_levels_above_see_the_villages_sheet(county, sheets, login):
    for user in (county.users.village_a, county.users.township_a, county.users.county, county.users.sysadmin):
        client = login(user)
        for url in urls(sheets):
            assert client.get(url).status_code == 200, (user.username, url)
    assert login(county.users.township_b).get(urls(sheets)[0]).status_code == 404


# --- the pages ------------------------------------------------------------------------------------------


def test_the_sheet_page_shows_each_line_and_links_its_figures(county, sheets, login):
    response = login(county.users.village_a).get(reverse("payroll:sheet", args=[sheets.a.pk]))
    html = response.content.decode()
    assert 'data-status="final"' in html and 'data-figure="total" data-value="2204.96"' in html
    assert (
        'data-user="grid_worker" data-base="1580.00" data-insurance="419.96" data-allowance="5.00" '
        'data-cases="1" data-rewards="200.00" data-total="2204.96"'
    ) in html
    line_url = reverse("payroll:line", args=[sheets.a.pk, sheets.line.pk])
    assert f'href="{line_url}#allowances"' in html and f'href="{line_url}#rewards"' in html
    assert 'id="finalise-form"' not in html  # final


def test_the_line_page_lists_the_cases_and_rewards_behind_the_figures(county, sheets, login):
    html = (
        login(county.users.township_a)
        .get(reverse("payroll:line", args=[sheets.a.pk, sheets.line.pk]))
        .content.decode()
    )
    assert f'data-case="{sheets.case.pk}"' in html and reverse("cases:detail", args=[sheets.case.pk]) in html
    assert 'data-kind="found"' in html and 'data-count="1"' in html
    assert 'data-role="grid_worker_full_time"' in html and 'data-days="31"' in html
    assert 'data-amount="200.00"' in html and "信息" in html


def test_the_list_computes_and_the_detail_finalises(county, login):
    client = login(county.users.village_a)
    page = client.get(reverse("payroll:sheets"))
    assert page.context["unit"] == county.village_a and page.context["months"][0] == D(2026, 5, 1)
    response = client.post(reverse("payroll:compute"), {"unit": county.village_a.code, "month": "2026-04"})
    sheet = PaySheet.objects.get(unit=county.village_a, month=D(2026, 4, 1))
    assert response.status_code == 302 and response["Location"] == reverse("payroll:sheet", args=[sheet.pk])
    detail = client.get(response["Location"]).content.decode()
    assert 'id="finalise-form"' in detail and 'name="expected_total" value="1999.96"' in detail
    client.post(reverse("payroll:finalise", args=[sheet.pk]), {"expected_total": "1999.96"})
    sheet.refresh_from_db()
    assert sheet.status == SheetStatus.FINAL
    # A month still running is computed but not finalised.
    client.post(reverse("payroll:compute"), {"unit": county.village_a.code, "month": "2026-05"})
    may = PaySheet.objects.get(unit=county.village_a, month=D(2026, 5, 1))
    assert 'id="finalise-form"' not in client.get(reverse("payroll:sheet", args=[may.pk])).content.decode()
    client.post(reverse("payroll:finalise", args=[may.pk]), {"expected_total": str(may.total)})
    may.refresh_from_db()
    assert may.status == SheetStatus.DRAFT


def test_the_reward_form_grants_a_reward_linked_to_a_case(county, login):
    case = make_case(county.cell_a11, reporter=county.users.grid_worker, registered_at=local(2026, 5, 3, 9))
    client = login(county.users.village_a)
    url = f"{reverse('payroll:reward_new')}?unit={county.village_a.code}"
    form = client.get(url).context["form"]
    assert set(form.fields["person"].queryset.values_list("username", flat=True)) == {
        "village_a",
        "grid_leader",
        "grid_worker",
    }
    data = {
        "person": county.users.grid_worker.pk,
        "month": "2026-05",
        "amount": "150",
        "reason": "报告线索",
        "case_number": case.number,
    }
    response = client.post(url, data)
    assert response.status_code == 302
    reward = InformationReward.objects.get()
    assert (reward.amount, reward.case, reward.month, reward.granted_by) == (
        Decimal("150.00"),
        case,
        D(2026, 5, 1),
        county.users.village_a,
    )
    bad = client.post(url, data | {"case_number": "NOPE", "amount": "10"})
    assert "case_number" in bad.context["form"].errors
    future = client.post(url, data | {"month": "2026-07", "case_number": ""})
    assert "month" in future.context["form"].errors


def test_rewards_are_listed_and_withdrawn_by_the_keeper(county, sheets, login):
    u = county.users
    granted = services.grant_reward(
        by=u.village_a,
        person=u.grid_worker,
        unit=county.village_a,
        month=D(2026, 4, 1),
        amount="30",
        reason="线索",
    )
    client = login(u.village_a)
    listed = client.get(reverse("payroll:rewards"), {"year": 2026}).context["page"].object_list
    assert len(listed) == 2
    client.post(reverse("payroll:reward_withdraw", args=[granted.pk]))
    granted.refresh_from_db()
    assert granted.withdrawn_by == u.village_a
    # March is finalised: that reward stays.
    march = InformationReward.objects.get(month=D(2026, 3, 1))
    client.post(reverse("payroll:reward_withdraw", args=[march.pk]))
    march.refresh_from_db()
    assert march.withdrawn_at is None


def test_the_budget_page_shows_each_month_and_the_yearly_budget(county, sheets, login):
    response = login(county.users.village_a).get(reverse("payroll:budget"), {"year": 2026})
    budget = response.context["budget"]
    # 12 × 1,999.96 + 5.00 + 200.00
    assert budget.yearly_budget == Decimal("24204.52")
    html = response.content.decode()
    assert 'data-figure="yearly_budget" data-value="24204.52"' in html
    assert f'data-month="2026-03" data-sheet="{sheets.a.pk}" data-total="2204.96"' in html


# --- exports --------------------------------------------------------------------------------------------


def test_the_excel_export_holds_the_lines_and_totals(county, sheets, login):
    response = login(county.users.township_a).get(reverse("payroll:export_xlsx", args=[sheets.a.pk]))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    by_name = {row[0]: row for row in rows[2:]}
    worker = by_name["grid_worker"]
    assert worker[1:3] == ("一格", county.cell_a11.code)
    assert [Decimal(str(v)) for v in (worker[4], worker[5], worker[7], worker[8], worker[9])] == [
        Decimal("1580.00"),
        Decimal("419.96"),
        Decimal("5.00"),
        Decimal("200.00"),
        Decimal("2204.96"),
    ]
    assert worker[6] == 1
    assert Decimal(str(rows[-2][9])) == Decimal("2204.96")  # the totals row
    assert len(rows) == 2 + 2 + 2  # title, header, two lines, totals, budget


def test_the_pdf_export_holds_the_lines_and_totals(county, sheets, login):
    from pypdf import PdfReader

    response = login(county.users.village_a).get(reverse("payroll:export_pdf", args=[sheets.a.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "grid_worker" in text and "2,204.96" in text and "1,580.00" in text and "甲一村" in text


# --- my pay and the rules -------------------------------------------------------------------------------


def test_a_worker_sees_their_own_lines_only(county, sheets, login):
    u = county.users
    services.compute_sheet(by=u.township_a, unit=county.town_a, month=D(2026, 3, 1))  # lists them again
    client = login(u.grid_worker)
    lines = client.get(reverse("payroll:mine")).context["page"].object_list
    assert [(line.sheet.unit, line.person) for line in lines] == [
        (county.village_a, u.grid_worker)
    ]  # the village's
    assert client.get(reverse("payroll:my_line", args=[sheets.line.pk])).status_code == 200
    leader_line = sheets.a.lines.get(person=u.grid_leader)
    assert client.get(reverse("payroll:my_line", args=[leader_line.pk])).status_code == 404
    assert client.get(reverse("payroll:line", args=[sheets.a.pk, sheets.line.pk])).status_code == 403
    html = client.get(reverse("payroll:my_line", args=[sheets.line.pk])).content.decode()
    assert 'data-figure="total" data-value="2204.96"' in html and f'data-case="{sheets.case.pk}"' in html


def test_the_rules_page_shows_the_rules_that_concern_the_users_posts(county, login):
    u = county.users
    own = PayRule.objects.create(
        role=FULL_TIME, unit=county.town_a, valid_from=D(2026, 1, 1), base_pay="1700"
    )
    other = PayRule.objects.create(
        role=FULL_TIME, unit=county.town_b, valid_from=D(2026, 1, 1), base_pay="1750"
    )
    future = PayRule.objects.create(
        role=FULL_TIME, unit=county.town_a, valid_from=D(2026, 9, 1), base_pay="1720"
    )
    response = login(u.grid_worker).get(reverse("payroll:rules"))
    shown = {rule.pk: rule.status for rule in response.context["pay_page"].object_list}
    assert shown[own.pk] == "in_force" and shown[future.pk] == "future" and other.pk not in shown
    deployment = PayRule.objects.get(role=FULL_TIME, unit=None)
    assert shown[deployment.pk] == "in_force"  # still in force where no override applies
    assert len(response.context["allowance_page"].object_list) == 3
    assert login(u.outsider).get(reverse("payroll:rules")).status_code == 403
    assert other.pk in {
        rule.pk for rule in login(u.township_b).get(reverse("payroll:rules")).context["pay_page"]
    }


def test_the_sheet_page_does_not_grow_in_queries_with_its_lines(county, login, django_assert_max_num_queries):
    for i in range(30):
        person(f"w{i}", (county.cell_a12, FULL_TIME, D(2025, 1, 1)))
    sheet = services.compute_sheet(by=county.users.village_a, unit=county.village_a, month=D(2026, 3, 1))
    client = login(county.users.village_a)
    with django_assert_max_num_queries(20):
        assert client.get(reverse("payroll:sheet", args=[sheet.pk])).status_code == 200


def test_a_township_reward_is_paid_on_the_village_sheet_or_refused_once_it_is_final(county, sheets, login):
    """A reward follows the person: a township's reward shows on the village sheet too, and once the
    village's month is final, the township cannot add one to it any more (it goes to a later month)."""
    from django.core.exceptions import ValidationError

    u = county.users
    with pytest.raises(ValidationError) as excinfo:
        services.grant_reward(
            by=u.township_a,
            person=u.grid_worker,
            unit=county.town_a,
            month=D(2026, 3, 1),
            amount="500",
            reason="重要线索",
        )
    assert "month" in excinfo.value.message_dict and "甲一村" in excinfo.value.message_dict["month"][0]
    reward = services.grant_reward(
        by=u.township_a,
        person=u.grid_worker,
        unit=county.town_a,
        month=D(2026, 4, 1),
        amount="500",
        reason="重要线索",
        today=D(2026, 4, 20),
    )
    april = services.compute_sheet(by=u.village_a, unit=county.village_a, month=D(2026, 4, 1))
    line = april.lines.get(person=u.grid_worker)
    assert line.rewards == Decimal("500.00")
    assert reward.amount == Decimal("500.00")
