"""The command centre's figures over the API: the page's figures for other platforms, and its scope."""

import pytest
from django.urls import reverse

from .conftest import FRIDAY, MONDAY

pytestmark = pytest.mark.django_db

WEEK = {"start": MONDAY.isoformat(), "end": FRIDAY.isoformat()}


def url(unit):
    return reverse("api-v1:dashboard", args=[unit.code])


def test_the_county_figures_of_the_week_are_those_of_the_page(week, api, login):
    units = week.units
    response = api(units.users.county).get(url(week.county), WEEK)
    assert response.status_code == 200
    data = response.json()
    page = login(units.users.county).get(reverse("dashboard:unit", args=[week.county.code]), WEEK)
    board = page.context["dashboard"]
    assert data["unit"] == {"code": week.county.code, "name": "测试县", "level": week.county.level.name}
    assert data["range"] == {"start": "2026-03-02", "end": "2026-03-06"}
    assert data["previous_range"] == {"start": "2026-02-25", "end": "2026-03-01"}
    figures = data["figures"]
    assert (
        (figures["registered"], figures["closed"], figures["rejected"])
        == (
            board.figures.registered,
            board.figures.closed,
            board.figures.rejected,
        )
        == (5, 3, 1)
    )
    assert data["previous_figures"]["registered"] == 1
    assert figures["median_days"] == str(board.figures.median_days)
    kpis = {k["kpi"]: k for k in data["kpis"]}
    # Seed 004: ≥90 % of disputes resolved at township and village level; of the two closed there, D2's
    # mediation failed, so one was resolved.
    local = kpis["disputes_resolved_locally"]
    assert (local["numerator"], local["denominator"], local["value"], local["target"]) == (
        "1.00",
        "2.00",
        "0.5000",
        "0.9000",
    )
    assert local["meets_target"] is False
    # One of the two petitions came online: 50 % against the 60 % target.
    assert kpis["online_petitions"]["value"] == "0.5000" and kpis["online_petitions"]["meets_target"] is False
    assert [c["unit"]["code"] for c in data["children"]] == [units.town_a.code, units.town_b.code]
    assert data["children"][0]["figures"]["registered"] == 4
    assert data["children"][0]["kpis"]["on_time_closure"] == str(
        board.children[0].kpi("on_time_closure").value
    )
    assert set(data["open_now"]) == {"overdue", "due_soon"} and set(data["staff_today"]) == {
        "on_duty",
        "active",
    }


def test_a_bad_range_is_refused_naming_the_field(county, api):
    response = api(county.users.county).get(url(county.county), {"start": "2026-03-06", "end": "2026-03-02"})
    assert response.status_code == 400 and "end" in response.json()


def test_a_village_admin_cannot_read_another_village_and_a_grid_worker_nothing(county, api):
    assert api(county.users.village_a).get(url(county.village_a)).status_code == 200
    assert api(county.users.village_a).get(url(county.village_b)).status_code == 404
    assert api(county.users.village_a).get(url(county.town_a)).status_code == 404
    assert api(county.users.grid_worker).get(url(county.cell_a11)).status_code == 403
    assert api(county.users.department).get(url(county.county)).status_code == 403
    assert api().get(url(county.county)).status_code in (401, 403)


def test_the_endpoint_is_in_the_schema(county, api):
    schema = api(county.users.county).get(reverse("api-schema"), {"format": "json"})
    assert "/api/v1/dashboard/{code}/" in schema.json()["paths"]
