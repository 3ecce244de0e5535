"""In a real browser: a grid worker rates a department on a 360-px phone by tapping stars; a resident
rates the water company from a grid's link; the county reads the results on a desk. No console errors
(the CSP forbids inline scripts and styles)."""

from __future__ import annotations

import os

import pytest
from selenium.webdriver.common.by import By

from wangge.cases.testing import build_case_world
from wangge.core.browser import console_errors, wait_for
from wangge.core.testing import build_test_county
from wangge.ratings.choices import ProviderKind
from wangge.ratings.models import DepartmentRating, ResidentRating, ServiceProvider

from .conftest import finished_case

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("WANGGE_RATINGS_SHOTS", "")  # a directory: save screenshots there to look at them


def shot(driver, name: str) -> None:
    if SHOTS:
        driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))


@pytest.fixture
def world():
    return build_case_world(build_test_county())


def tap_stars(driver, name: str, value: int) -> None:
    driver.find_element(By.CSS_SELECTOR, f"label[for='id_{name}_{value - 1}']").click()


def test_a_grid_worker_rates_on_the_phone_and_the_county_reads_the_results(
    world, phone_browser, browser, live_server, browser_login
):
    case = finished_case(world)
    phone = phone_browser
    browser_login(phone, live_server, world.users.grid_worker)
    phone.get(live_server.url + "/ratings/")
    wait_for(
        phone, lambda d: d.find_element(By.CSS_SELECTOR, f"[data-pending-case='{case.pk}'] a.button")
    ).click()
    form = wait_for(phone, lambda d: d.find_element(By.ID, "rating-form"))
    shot(phone, "rate-phone")
    for name, value in (("speed", 5), ("result", 4), ("attitude", 2)):
        tap_stars(phone, name, value)
    form.find_element(By.NAME, "comment").send_keys("到场快，态度一般")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(phone, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-nothing-to-rate]"))
    rating = DepartmentRating.objects.get()
    assert (rating.speed, rating.result, rating.attitude, rating.comment) == (5, 4, 2, "到场快，态度一般")
    assert console_errors(phone) == []

    browser_login(browser, live_server, world.users.county)
    browser.get(live_server.url + "/ratings/results/")
    row = wait_for(
        browser, lambda d: d.find_element(By.CSS_SELECTOR, f"[data-result='{world.department.pk}']")
    )
    assert row.get_attribute("data-count") == "1" and row.get_attribute("data-overall") == "3.67"
    shot(browser, "results-desk")
    assert console_errors(browser) == []


def test_a_resident_rates_the_water_company_on_the_phone(world, phone_browser, live_server):
    provider = ServiceProvider.objects.create(
        name="县自来水公司", kind=ProviderKind.WATER, unit=world.county.county
    )
    phone = phone_browser
    phone.get(f"{live_server.url}/ratings/p/?unit={world.county.cell_a11.code}")
    form = wait_for(phone, lambda d: d.find_element(By.ID, "provider-rating-form"))
    form.find_element(By.CSS_SELECTOR, f"input[name='provider'][value='{provider.pk}']").click()
    for name, value in (("quality", 4), ("responsiveness", 3), ("transparency", 5)):
        tap_stars(phone, name, value)
    shot(phone, "public-phone")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(phone, lambda d: d.find_elements(By.ID, "rated"))
    rating = ResidentRating.objects.get()
    assert (rating.provider, rating.unit, rating.quality, rating.transparency) == (
        provider,
        world.county.cell_a11,
        4,
        5,
    )
    assert console_errors(phone) == []
