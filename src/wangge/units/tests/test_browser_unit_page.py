"""Browser journeys for the unit page (PLAT-4: usable on a 360-px phone and at a desk)."""

import pytest
from selenium.webdriver.common.by import By

from wangge.core.browser import console_errors, wait_for

pytestmark = pytest.mark.browser


def test_a_village_admin_on_a_phone_sees_the_grid_polygons(phone_browser, live_server, browser_login, county):
    browser_login(phone_browser, live_server, county.users.village_a)
    phone_browser.get(live_server.url + county.village_a.get_absolute_url())
    polygons = wait_for(
        phone_browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#unit-map path.leaflet-interactive")
    )
    assert len(polygons) == 2  # the village's two 三级网格
    assert phone_browser.execute_script("return document.documentElement.scrollWidth") <= 360
    assert "甲一村" in phone_browser.find_element(By.TAG_NAME, "h1").text
    assert not console_errors(phone_browser)


def test_clicking_a_grid_on_the_map_opens_it(browser, live_server, browser_login, county):
    browser_login(browser, live_server, county.users.village_a)
    browser.get(live_server.url + county.grid_a1.get_absolute_url())
    polygons = wait_for(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#unit-map path.leaflet-interactive")
    )
    polygons[0].click()
    wait_for(browser, lambda d: "/units/5002291000010010" in d.current_url)
    assert browser.find_element(By.TAG_NAME, "h1").text in {"一格", "二格"}
