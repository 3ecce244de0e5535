"""The staff pages: scope of every page and the export (another village 404, a department 403, anonymous
to the login page), the ledger's rows and filters, the Excel file, and the forms writing through services."""

import datetime
import io

import openpyxl
import pytest
from django.urls import reverse

from wangge.core.testing import make_user
from wangge.people.roles import Role
from wangge.teams import services
from wangge.teams.choices import FlagKind
from wangge.teams.models import AppointmentAgreement, Badge, PipelineFlag, TrainingAttendance, TrainingPlan

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def records(county):
    """The worker of 一格 signed for 2026, holds a badge, trained in 2026 and flagged; the leader has none."""
    u = county.users
    u.grid_worker.phone = "13800001111"
    u.grid_worker.save()
    services.sign_agreement(
        by=u.township_a, user=u.grid_worker, unit=county.town_a, year=2026, signed_on=D(2026, 1, 3)
    )
    badge = services.issue_badge(
        by=u.township_a, user=u.grid_worker, number="WG100", issued_on=D(2026, 1, 3), unit=county.town_a
    )
    session = services.record_session(
        by=u.township_a,
        unit=county.town_a,
        date=D(2026, 2, 1),
        topic="职责",
        hours=2,
        attended=[u.grid_worker],
        absent=[u.grid_leader],
    )
    flag = services.flag_worker(
        by=u.village_a,
        user=u.grid_worker,
        kind=FlagKind.PARTY_DEVELOPMENT,
        reason="好",
        unit=county.village_a,
    )
    plan = services.file_training_plan(
        by=u.village_a, unit=county.village_a, year=2026, title="村计划", content="c"
    )
    return type("Records", (), {"badge": badge, "session": session, "flag": flag, "plan": plan})


def ledger_users(response) -> list[str]:
    return [post.user.username for post in response.context["page"].object_list]


# --- who reaches which page ------------------------------------------------------------------------------


def page_urls(county, records):
    worker = county.users.grid_worker
    return [
        reverse("teams:ledger") + f"?unit={county.village_a.code}",
        reverse("teams:export") + f"?unit={county.village_a.code}",
        reverse("teams:staffing", args=[county.village_a.code]),
        reverse("teams:person", args=[worker.pk]),
        reverse("teams:training") + f"?unit={county.village_a.code}",
        reverse("teams:session", args=[records.session.pk]),
    ]


def test_anonymous_visitors_are_sent_to_the_login_page(county, records, client):
    for url in page_urls(county, records):
        response = client.get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"], url


def test_a_department_user_and_someone_without_a_post_get_403(county, records, login):
    for user in (county.users.department, county.users.outsider):
        client = login(user)
        for url in page_urls(county, records):
            assert client.get(url).status_code == 403, (user, url)


def test_another_village_gets_404(county, records, login):
    client = login(county.users.village_b)
    for url in page_urls(county, records):
        assert client.get(url).status_code == 404, url


def test_the_village_and_the_levels_above_read_every_page(county, records, login):
    for user in (county.users.village_a, county.users.township_a, county.users.county, county.users.sysadmin):
        client = login(user)
        for url in page_urls(county, records):
            assert client.get(url).status_code == 200, (user, url)


def test_a_grid_worker_reads_the_ledger_of_the_grid_not_of_the_village(county, records, login):
    client = login(county.users.grid_worker)
    assert client.get(reverse("teams:ledger")).context["unit"] == county.cell_a11
    assert client.get(reverse("teams:ledger"), {"unit": county.village_a.code}).status_code == 404
    assert client.get(reverse("teams:staffing", args=[county.cell_a11.code])).status_code == 200


# --- the ledger and its export ----------------------------------------------------------------------------------


def test_the_ledger_lists_the_posts_under_the_unit_with_their_records(county, records, login):
    client = login(county.users.village_a)
    response = client.get(reverse("teams:ledger"))
    assert response.context["unit"] == county.village_a
    assert ledger_users(response) == ["village_a", "grid_leader", "grid_worker"]
    html = response.content.decode()
    assert 'data-user="grid_worker" data-agreement="signed" data-trained="yes"' in html
    assert 'data-user="grid_leader" data-agreement="missing" data-trained="no"' in html
    assert "WG100" in html and "13800001111" in html and 'data-flag="party_development"' in html


def test_the_ledger_filters(county, records, login):
    client = login(county.users.township_a)
    url = reverse("teams:ledger")
    base = {"unit": county.town_a.code}
    assert ledger_users(client.get(url, base)) == ["township_a", "village_a", "grid_leader", "grid_worker"]
    assert ledger_users(client.get(url, base | {"agreement_missing": "on"})) == [
        "township_a",
        "village_a",
        "grid_leader",
    ]
    assert ledger_users(client.get(url, base | {"untrained": "on"})) == [
        "township_a",
        "village_a",
        "grid_leader",
    ]
    assert ledger_users(client.get(url, base | {"flagged": "on"})) == ["grid_worker"]
    assert ledger_users(client.get(url, base | {"role": Role.GRID_LEADER})) == ["grid_leader"]


def test_a_training_older_than_the_validity_makes_a_worker_untrained(county, records, login, settings):
    settings.WANGGE_TRAINING_VALID_MONTHS = 3  # the session of 1 February is 3½ months old
    response = login(county.users.village_a).get(reverse("teams:ledger"), {"untrained": "on"})
    assert "grid_worker" in ledger_users(response)


def test_the_ledger_is_paginated_in_a_fixed_number_of_queries(
    county, records, login, django_assert_max_num_queries
):
    for i in range(60):
        make_user(f"extra{i:02d}", (county.grid_a2, Role.GRID_WORKER_PART_TIME))
    client = login(county.users.village_a)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("teams:ledger"))
    assert len(response.context["page"].object_list) == 50 and response.context["page"].paginator.count == 63


def test_the_export_has_the_pages_rows_and_filters(county, records, login):
    client = login(county.users.village_a)
    response = client.get(reverse("teams:export"), {"unit": county.village_a.code})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert len(rows) == 4
    names = [r[0] for r in rows[1:]]
    assert names == ["village_a", "grid_leader", "grid_worker"]
    worker = rows[3]
    assert worker[4] == county.cell_a11.code and worker[5] == "四级网格" and worker[6] == "13800001111"
    assert worker[7].date() == D(2020, 1, 1) and worker[9] == "WG100" and worker[10].date() == D(2026, 2, 1)
    assert rows[2][9] is None and rows[2][10] is None
    filtered = client.get(reverse("teams:export"), {"unit": county.village_a.code, "flagged": "on"})
    rows = list(openpyxl.load_workbook(io.BytesIO(filtered.content)).active.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["grid_worker"]


def test_the_export_escapes_formulas(county, records, login):
    county.users.grid_worker.full_name = "=HYPERLINK(1)"
    county.users.grid_worker.save()
    response = login(county.users.village_a).get(reverse("teams:export"))
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert "'=HYPERLINK(1)" in [r[0] for r in rows]


# --- staffing page -----------------------------------------------------------------------------------------


def test_the_staffing_page_highlights_shortfalls_and_links_each_grid_to_its_staff(county, records, login):
    from .conftest import add_households

    add_households(county.cell_a11, 150)
    response = login(county.users.village_a).get(reverse("teams:staffing", args=[county.village_a.code]))
    html = response.content.decode()
    assert f'data-grid="{county.cell_a11.code}" data-short="yes" data-workers="1" data-needed="2"' in html
    assert f'href="{reverse("teams:ledger")}?unit={county.cell_a11.code}"' in html
    only_short = login(county.users.village_a).get(
        reverse("teams:staffing", args=[county.village_a.code]), {"short": "1"}
    )
    assert len(only_short.context["page"].object_list) == 3


# --- person page and forms --------------------------------------------------------------------------------------


def test_the_person_page_shows_posts_agreements_badges_trainings_and_flags(county, records, login):
    response = login(county.users.village_a).get(reverse("teams:person", args=[county.users.grid_worker.pk]))
    html = response.content.decode()
    assert 'data-agreement="2026"' in html and 'data-badge="WG100"' in html
    assert (
        'data-training="2026-02-01" data-attended="yes"' in html and 'data-flag="party_development"' in html
    )
    assert reverse("teams:sign_agreement", args=[county.users.grid_worker.pk]) in html


def test_a_person_outside_the_scope_is_404(county, records, login):
    assert (
        login(county.users.village_a)
        .get(reverse("teams:person", args=[county.users.village_b.pk]))
        .status_code
        == 404
    )
    assert (
        login(county.users.village_a)
        .get(reverse("teams:person", args=[county.users.outsider.pk]))
        .status_code
        == 404
    )


def test_forms_need_manage_staff_in_scope(county, records, login):
    worker = county.users.grid_worker
    urls = [
        reverse("teams:sign_agreement", args=[worker.pk]),
        reverse("teams:issue_badge", args=[worker.pk]),
        reverse("teams:flag", args=[worker.pk]),
        reverse("teams:file_plan") + f"?unit={county.village_a.code}",
        reverse("teams:record_session") + f"?unit={county.village_a.code}",
    ]
    leader = login(county.users.grid_leader)
    for url in urls[:3]:
        assert leader.get(url).status_code == 403, url
    assert leader.get(reverse("teams:file_plan") + f"?unit={county.grid_a1.code}").status_code == 403
    assert leader.post(reverse("teams:withdraw_flag", args=[records.flag.pk])).status_code == 403
    assert (
        leader.post(
            reverse("teams:return_badge", args=[records.badge.pk]), {"returned_on": "2026-05-01"}
        ).status_code
        == 403
    )
    other = login(county.users.village_b)
    for url in urls:
        assert other.get(url).status_code == 404, url
    assert other.post(reverse("teams:withdraw_flag", args=[records.flag.pk])).status_code == 404
    assert other.post(reverse("teams:acknowledge_plan", args=[records.plan.pk])).status_code == 404
    department = login(county.users.department)
    for url in urls:
        assert department.get(url).status_code == 403, url
    village = login(county.users.village_a)
    for url in urls:
        assert village.get(url).status_code == 200, url


def test_signing_an_agreement_through_the_form(county, records, login):
    client = login(county.users.village_a)
    url = reverse("teams:sign_agreement", args=[county.users.grid_leader.pk])
    form = client.get(url).context["form"]
    assert list(form.fields["unit"].queryset) == [county.village_a, county.town_a]
    data = {
        "unit": county.town_a.pk,
        "post": county.users.grid_leader.posts.get().pk,
        "year": 2026,
        "signed_on": "2026-05-10",
    }
    assert client.post(url, data).status_code == 302
    assert AppointmentAgreement.objects.filter(
        user=county.users.grid_leader, unit=county.town_a, year=2026
    ).exists()
    again = client.post(url, data)
    assert again.status_code == 400 and "year" in again.context["form"].errors


def test_issuing_and_returning_a_badge_and_withdrawing_a_flag_through_the_pages(county, records, login):
    client = login(county.users.township_a)
    leader = county.users.grid_leader
    response = client.post(
        reverse("teams:issue_badge", args=[leader.pk]),
        {"number": "WG100", "unit": county.town_a.pk, "issued_on": "2026-05-01"},
    )
    assert response.status_code == 400 and "number" in response.context["form"].errors
    client.post(
        reverse("teams:issue_badge", args=[leader.pk]),
        {"number": "WG101", "unit": county.town_a.pk, "issued_on": "2026-05-01"},
    )
    assert Badge.objects.get(number="WG101").user == leader
    client.post(reverse("teams:return_badge", args=[records.badge.pk]), {"returned_on": "2026-05-15"})
    assert Badge.objects.get(number="WG100").returned_on == D(2026, 5, 15)
    village = login(county.users.village_a)
    village.post(reverse("teams:withdraw_flag", args=[records.flag.pk]))
    assert PipelineFlag.objects.get(pk=records.flag.pk).withdrawn_on == D(2026, 5, 16)


def test_flagging_through_the_form(county, records, login):
    client = login(county.users.village_a)
    url = reverse("teams:flag", args=[county.users.grid_leader.pk])
    assert list(client.get(url).context["form"].fields["unit"].queryset) == [county.village_a]
    response = client.post(
        url, {"kind": FlagKind.CADRE_RESERVE, "reason": "带头作用", "unit": county.village_a.pk}
    )
    assert response.status_code == 302
    assert PipelineFlag.objects.get(user=county.users.grid_leader).kind == FlagKind.CADRE_RESERVE


# --- training pages --------------------------------------------------------------------------------------------


def test_filing_and_acknowledging_a_plan_through_the_pages(county, records, login):
    village = login(county.users.village_a)
    url = reverse("teams:file_plan") + f"?unit={county.village_a.code}"
    assert village.post(url, {"year": 2027, "title": "2027 计划", "content": "内容"}).status_code == 302
    plan = TrainingPlan.objects.get(title="2027 计划")
    assert plan.filed_with == county.town_a
    ack = reverse("teams:acknowledge_plan", args=[plan.pk])
    assert village.post(ack).status_code == 403  # its filer's own unit is not the level above
    assert login(county.users.county).post(ack).status_code == 403
    page = login(county.users.township_a).get(reverse("teams:training") + f"?unit={county.town_a.code}")
    assert f'data-plan="{plan.pk}" data-acknowledged="no"' in page.content.decode()
    assert login(county.users.township_a).post(ack).status_code == 302
    plan.refresh_from_db()
    assert plan.acknowledged_by == county.users.township_a


def test_recording_a_session_ticks_the_staff_of_the_unit(county, records, login):
    client = login(county.users.village_a)
    url = reverse("teams:record_session") + f"?unit={county.village_a.code}"
    staff = [user.username for user in client.get(url).context["form"].fields["attended"].queryset]
    assert staff == ["grid_leader", "grid_worker", "village_a"]
    response = client.post(
        url,
        {
            "date": "2026-05-10",
            "topic": "入户走访",
            "hours": "2",
            "attended": [county.users.grid_leader.pk],
            "others": "outsider",
        },
    )
    assert response.status_code == 302
    rows = dict(
        TrainingAttendance.objects.filter(session__topic="入户走访").values_list("user__username", "attended")
    )
    assert rows == {"grid_leader": True, "outsider": True, "grid_worker": False, "village_a": False}


def test_a_session_page_of_the_township_is_read_but_not_changed_by_the_village(county, records, login):
    url = reverse("teams:session", args=[records.session.pk])
    village = login(county.users.village_a)
    assert village.get(url).context["form"] is None
    assert village.post(url, {"attended": [county.users.grid_leader.pk]}).status_code == 403
    township = login(county.users.township_a)
    assert township.post(url, {"attended": [county.users.grid_leader.pk]}).status_code == 302
    assert TrainingAttendance.objects.get(session=records.session, user=county.users.grid_leader).attended
