"""The command centre in a real browser (PLAT-5, PLAT-6): the county's dashboard draws its charts and its
map with data, a click goes down to a village, and the wall screen refreshes by itself."""

import pytest
from django.test import override_settings
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from wangge.cases.testing import patrol_case
from wangge.core.browser import console_errors, wait_for

from .conftest import FRIDAY, MONDAY

pytestmark = pytest.mark.browser

WEEK = f"?start={MONDAY.isoformat()}&end={FRIDAY.isoformat()}"


def test_the_county_dashboard_draws_charts_and_map_and_drills_down_to_a_village(
    browser, live_server, browser_login, week
):
    units = week.units
    browser_login(browser, live_server, units.users.county)
    browser.get(f"{live_server.url}/dashboard/{week.county.code}/{WEEK}")
    for kind in ("kpis", "status", "category", "source", "level"):
        chart = wait_for(
            browser,
            lambda d, k=kind: d.find_element(By.CSS_SELECTOR, f'[data-chart="{k}"][data-rendered="{k}"]'),
        )
        assert chart.find_elements(By.TAG_NAME, "canvas"), kind
    # Hovering a chart shows its tooltip without breaking the CSP (no inline style attributes).
    for kind in ("kpis", "status"):
        ActionChains(browser).move_to_element(
            browser.find_element(By.CSS_SELECTOR, f'[data-chart="{kind}"]')
        ).perform()
    assert not console_errors(browser)
    # The map: the county's leaf grids shaded, its five located cases of the week in clusters or markers.
    map_element = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#dashboard-map[data-loaded]"))
    assert map_element.get_attribute("data-loaded") == "5"  # 一格, 二格, 二组, 甲二村网格, 乙一村网格
    assert map_element.get_attribute("data-cases") == "5"
    assert map_element.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers")
    Select(browser.find_element(By.ID, "map-metric")).select_by_value("overdue")
    assert map_element.get_attribute("data-metric") == "overdue"
    assert not console_errors(browser)

    browser.find_element(By.CSS_SELECTOR, f'#children a[href^="/dashboard/{units.town_a.code}/"]').click()
    wait_for(browser, lambda d: f"/dashboard/{units.town_a.code}/" in d.current_url)
    browser.find_element(By.CSS_SELECTOR, f'#children a[href^="/dashboard/{units.village_a.code}/"]').click()
    wait_for(browser, lambda d: f"/dashboard/{units.village_a.code}/" in d.current_url)
    assert "start=2026-03-02" in browser.current_url
    assert "甲一村" in browser.find_element(By.TAG_NAME, "h1").text
    crumbs = browser.find_elements(By.CSS_SELECTOR, "#dashboard-breadcrumbs a")
    assert [c.text for c in crumbs] == ["测试县", "甲镇"]
    tile = browser.find_element(By.CSS_SELECTOR, '[data-tile="registered"]')
    assert tile.get_attribute("data-value") == "4"
    wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, '#dashboard-map[data-loaded="3"]'))
    crumbs[0].click()  # and back up to the county
    wait_for(browser, lambda d: f"/dashboard/{week.county.code}/" in d.current_url)
    assert not console_errors(browser)


def test_the_wall_screen_refreshes_by_itself(browser, live_server, browser_login, world):
    browser_login(browser, live_server, world.users.county)
    with override_settings(WANGGE_WALL_REFRESH_SECONDS=1):
        browser.get(f"{live_server.url}/dashboard/{world.county.county.code}/wall/")
        wait_for(
            browser, lambda d: d.find_element(By.CSS_SELECTOR, '[data-chart="kpis"][data-rendered="kpis"]')
        )
        first = browser.find_element(By.CSS_SELECTOR, "[data-refreshed-at]").get_attribute(
            "data-refreshed-at"
        )
        assert browser.find_element(By.CSS_SELECTOR, '[data-tile="registered_today"] strong').text == "0"
        patrol_case(world, description="井盖缺失，需尽快补装")
        wait_for(
            browser,
            lambda d: d.find_element(By.CSS_SELECTOR, '[data-tile="registered_today"] strong').text == "1",
        )
        assert (
            browser.find_element(By.CSS_SELECTOR, "[data-refreshed-at]").get_attribute("data-refreshed-at")
            != first
        )
        assert "井盖缺失" in browser.find_element(By.ID, "wall-new-cases").text
        # The charts are drawn again in the fresh panel.
        wait_for(
            browser, lambda d: d.find_element(By.CSS_SELECTOR, '[data-chart="kpis"][data-rendered="kpis"]')
        )
    assert not console_errors(browser)
