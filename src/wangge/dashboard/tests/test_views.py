"""The command centre's pages: the dashboard of a unit over a range with its drill-down and comparison,
the map's data, the wall screen; and who may open them by any route (page, map, wall, its panel)."""

import datetime
import json

import pytest
from django.test import override_settings
from django.urls import reverse

from wangge.dashboard import services
from wangge.ledger.models import Household

from .conftest import FRIDAY, MONDAY, NOW, TODAY

pytestmark = pytest.mark.django_db

WEEK = {"start": MONDAY.isoformat(), "end": FRIDAY.isoformat()}


def _tiles(response) -> dict[str, str]:
    html = response.content.decode()
    found = {}
    for chunk in html.split('data-tile="')[1:]:
        key, rest = chunk.split('"', 1)
        found[key] = rest.split('data-value="', 1)[1].split('"', 1)[0]
    return found


def test_the_dashboard_opens_on_the_highest_unit_the_user_may_see(county, login):
    response = login(county.users.township_a).get(reverse("dashboard:home"))
    assert response.status_code == 302 and response.url == reverse(
        "dashboard:unit", args=[county.town_a.code]
    )


def test_the_county_dashboard_shows_the_week_beside_the_week_before_and_its_townships(week, login):
    units = week.units
    response = login(units.users.county).get(reverse("dashboard:unit", args=[week.county.code]), WEEK)
    assert response.status_code == 200
    tiles = _tiles(response)
    # Five cases registered in the week against one (D7) the week before; four closed (D1, D2, D7 and
    # the rejected D6 is not a closure) — see test_figures.py for the hand count.
    assert tiles["registered"] == "5"
    board = response.context["dashboard"]
    assert board.figures.closed == int(tiles["closed"]) == 3
    registered = next(t for t in response.context["tiles"] if t.key == "registered")
    assert (registered.previous, registered.trend) == (1, "up")
    html = response.content.decode()
    town_a_link = f"{reverse('dashboard:unit', args=[units.town_a.code])}?start=2026-03-02&amp;end=2026-03-06"
    assert town_a_link in html
    assert [c.unit for c in board.children] == [units.town_a, units.town_b]
    # Each KPI card carries its target from seed 004 (≥90 % of disputes resolved at township and village).
    assert 'data-kpi="disputes_resolved_locally"' in html and 'data-target="0.9000"' in html
    data = json.loads(
        html.split('id="dashboard-chart-data" type="application/json">', 1)[1].split("</script>")[0]
    )
    assert {k["key"]: k["target"] for k in data["kpis"]}["online_petitions"] == 60.0
    assert sum(part["value"] for part in data["status"]) == 5
    assert 'id="dashboard-map"' in html and reverse("dashboard:map", args=[week.county.code]) in html


def test_drilling_down_to_a_village_keeps_the_range_and_leads_back_up(week, login):
    units = week.units
    client = login(units.users.county)
    response = client.get(reverse("dashboard:unit", args=[units.village_a.code]), WEEK)
    assert response.status_code == 200
    crumbs = [u.code for u in response.context["breadcrumbs"]]
    assert crumbs == [week.county.code, units.town_a.code]
    assert response.context["dashboard"].figures.registered == 4
    html = response.content.decode()
    assert (
        f"{reverse('dashboard:unit', args=[units.town_a.code])}?start=2026-03-02&amp;end=2026-03-06" in html
    )
    # The village's children are its grids; the township's admin sees no crumb above the township.
    assert [c.unit for c in response.context["dashboard"].children] == [units.grid_a1, units.grid_a2]
    township = login(units.users.township_a).get(reverse("dashboard:unit", args=[units.village_a.code]), WEEK)
    assert [u.code for u in township.context["breadcrumbs"]] == [units.town_a.code]


def test_a_preset_range_and_the_previous_period(week, login):
    response = login(week.units.users.county).get(
        reverse("dashboard:unit", args=[week.county.code]), {"preset": "last_month"}
    )
    first, last = response.context["first_day"], response.context["last_day"]
    assert first.day == 1 and (last + datetime.timedelta(days=1)).day == 1 and last.month == first.month
    previous = response.context["dashboard"].previous
    assert previous.last_day == first - datetime.timedelta(days=1)
    assert previous.first_day.day == 1 and previous.first_day.month != first.month  # the whole month before


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2026-03-06", "end": "2026-03-02"}, "end"),
        ({"start": "2026-03-02", "end": "2999-01-01"}, "end"),
        ({"end": "2026-03-02"}, "start"),
        ({"start": "2 March"}, "start"),
        ({"preset": "decade"}, "preset"),
        ({"start": "0001-01-02", "end": "2026-03-02"}, "start"),
    ],
)
def test_a_bad_range_is_refused_naming_the_field(county, login, query, field):
    client = login(county.users.county)
    response = client.get(reverse("dashboard:unit", args=[county.county.code]), query)
    assert response.status_code == 400 and field in response.context["form"].errors
    if field != "preset":
        assert f'data-error-for="{field}"' in response.content.decode()
    answer = client.get(reverse("dashboard:map", args=[county.county.code]), query)
    assert answer.status_code == 400 and field in answer.json()["errors"]


def test_the_map_shades_the_leaf_grids_and_places_the_located_cases(week, login):
    units = week.units
    for i in range(4):
        Household.objects.create(number=f"A11{i}", grid=units.cell_a11, address=f"一格{i}号")
    for i in range(50):
        Household.objects.create(number=f"A12{i}", grid=units.cell_a12, address=f"二格{i}号")
    grids = services.grid_figures(units.village_a, MONDAY, FRIDAY, today=TODAY, now=NOW)
    # 一组 has cells below it: the map shades the cells and 二组, not 一组.
    found = {g.unit: (g.households, g.open, g.overdue, g.open_per_100) for g in grids}
    assert found == {
        units.cell_a11: (4, 1, 0, 25),  # the online petition D3, due today: open, not yet overdue
        units.cell_a12: (50, 1, 1, 2),  # the street lamp D5, overdue since Thursday
        units.grid_a2: (0, 0, 0, None),
    }
    points = services.case_points(units.village_a, MONDAY, FRIDAY, limit=2)
    assert points.total == 4  # D1, D2, D3, D5 (D7 registered the week before; D6 never registered)
    assert [c.registered_at.day for c in points.cases] == [4, 3]

    response = login(units.users.village_a).get(reverse("dashboard:map", args=[units.village_a.code]), WEEK)
    assert response.status_code == 200
    data = response.json()
    features = {f["properties"]["code"]: f["properties"] for f in data["grids"]["features"]}
    assert set(features) == {units.cell_a11.code, units.cell_a12.code, units.grid_a2.code}
    assert features[units.cell_a11.code]["open_per_100"] == 25.0
    assert features[units.cell_a12.code]["url"].startswith(
        reverse("dashboard:unit", args=[units.cell_a12.code])
    )
    assert {m["key"] for m in data["metrics"]} == {"open_per_100", "overdue", "visit_coverage"}
    assert data["cases"]["total"] == data["cases"]["shown"] == 4
    first = data["cases"]["items"][0]
    assert first["url"].startswith("/cases/") and first["lat"] == 31.05
    # Coordinates travel rounded to five places (about a metre).
    ring = data["grids"]["features"][0]["geometry"]["coordinates"][0]
    assert all(len(str(x).split(".")[-1]) <= 5 for point in ring for x in point)


def test_the_map_shows_only_the_newest_cases_beyond_the_limit(week, login):
    with override_settings(WANGGE_DASHBOARD_MAP_POINTS=3):
        data = (
            login(week.units.users.county).get(reverse("dashboard:map", args=[week.county.code]), WEEK).json()
        )
    assert (data["cases"]["total"], data["cases"]["shown"]) == (5, 3)


def test_the_wall_screen_and_its_panel_show_this_month_and_the_new_cases(week, login):
    units = week.units
    client = login(units.users.county)
    response = client.get(reverse("dashboard:wall", args=[week.county.code]))
    assert response.status_code == 200
    html = response.content.decode()
    panel_url = reverse("dashboard:wall_panel", args=[week.county.code])
    assert f'hx-get="{panel_url}"' in html and 'hx-trigger="every 60s"' in html
    assert 'class="wall"' in html and "data-refreshed-at" in html
    with override_settings(WANGGE_WALL_REFRESH_SECONDS=15):
        assert (
            'hx-trigger="every 15s"'
            in client.get(reverse("dashboard:wall", args=[week.county.code])).content.decode()
        )
    panel = client.get(panel_url)
    assert panel.status_code == 200 and b"<html" not in panel.content
    assert b'data-chart="kpis"' in panel.content and b'id="wall-chart-data"' in panel.content
    # The week's cases were registered in March: today's rolling list is of the last seven days.
    assert panel.context["new_cases"].total == 0


def test_the_nav_offers_the_command_centre_to_those_who_may_open_it(county, login):
    assert (
        reverse("dashboard:home").encode()
        in login(county.users.village_a).get(reverse("notices:inbox")).content
    )
    assert (
        reverse("dashboard:home").encode()
        not in login(county.users.grid_worker).get(reverse("notices:inbox")).content
    )


# --- scope: by every route ---------------------------------------------------------------------------


ROUTES = ("dashboard:unit", "dashboard:map", "dashboard:wall", "dashboard:wall_panel")


@pytest.mark.parametrize("route", ROUTES)
def test_a_village_admin_cannot_open_another_village_by_any_route(county, login, route):
    client = login(county.users.village_a)
    assert client.get(reverse(route, args=[county.village_a.code])).status_code == 200
    assert client.get(reverse(route, args=[county.village_b.code])).status_code == 404
    assert client.get(reverse(route, args=[county.town_a.code])).status_code == 404  # nor upwards
    assert client.get(reverse(route, args=["no-such-unit"])).status_code == 404


@pytest.mark.parametrize("route", ROUTES)
def test_without_the_dashboard_right_every_route_is_forbidden(county, login, route):
    for user in (county.users.grid_worker, county.users.department, county.users.outsider):
        assert login(user).get(reverse(route, args=[county.cell_a11.code])).status_code == 403
    assert login(county.users.grid_worker).get(reverse("dashboard:home")).status_code == 403


@pytest.mark.parametrize("route", ROUTES)
def test_anonymous_visitors_are_sent_to_sign_in(county, client, route):
    response = client.get(reverse(route, args=[county.county.code]))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_page_says_how_old_the_stored_days_are(week, login):
    from wangge.dashboard.rollup import refresh

    client = login(week.units.users.county)
    url = reverse("dashboard:unit", args=[week.county.code])
    assert b'id="rollup-age"' not in client.get(url, WEEK).content  # nothing stored yet: all counted live
    refresh(NOW, full=True)
    response = client.get(url, WEEK)
    assert b'id="rollup-age"' in response.content and b"2026-03-09 10:00" in response.content
    assert response.context["dashboard"].figures.registered == 5  # the same figures from the rollup
    grid = client.get(reverse("dashboard:unit", args=[week.units.cell_a11.code]), WEEK)
    assert b'id="rollup-age"' not in grid.content  # a grid is always counted live


def test_a_grid_leader_opens_a_cell_the_bottom_of_the_tree(week, login):
    units = week.units
    client = login(units.users.grid_leader)
    assert client.get(reverse("dashboard:home")).url == reverse("dashboard:unit", args=[units.grid_a1.code])
    response = client.get(reverse("dashboard:unit", args=[units.cell_a12.code]), WEEK)
    assert response.status_code == 200 and response.context["dashboard"].children == []
    assert 'id="drill-down"' not in response.content.decode()
    assert [u.code for u in response.context["breadcrumbs"]] == [units.grid_a1.code]
    grids = client.get(reverse("dashboard:map", args=[units.cell_a12.code]), WEEK).json()["grids"]["features"]
    assert [f["properties"]["code"] for f in grids] == [units.cell_a12.code]  # a leaf grid shades itself


@pytest.mark.parametrize(
    ("user", "allowed", "refused"),
    [
        ("grid_leader", "grid_a1", ("grid_a2", "village_a", "grid_b1")),  # not a sibling grid, nor upwards
        ("township_a", "village_a2", ("town_b", "village_b", "county")),
        ("village_b", "grid_b1", ("village_a", "cell_a11")),
    ],
)
def test_every_desk_stays_inside_its_own_subtree_by_every_route(county, login, user, allowed, refused):
    client = login(getattr(county.users, user))
    for route in ROUTES:
        assert client.get(reverse(route, args=[getattr(county, allowed).code])).status_code == 200
        for name in refused:
            assert client.get(reverse(route, args=[getattr(county, name).code])).status_code == 404, (
                route,
                name,
            )
