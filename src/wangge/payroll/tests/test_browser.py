"""The payroll pages in a real browser: "my pay" fits a 360-pixel phone, the sheet page loads its styles
without a console error (the CSP allows no inline script or style)."""

import os

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from wangge.core.browser import console_errors
from wangge.payroll import services

from .conftest import D, local, make_case

pytestmark = pytest.mark.browser


@pytest.fixture
def sheet(county):
    u = county.users
    make_case(county.cell_a11, reporter=u.grid_worker, registered_at=local(2026, 3, 9, 9))
    services.grant_reward(
        by=u.village_a,
        person=u.grid_worker,
        unit=county.village_a,
        month=D(2026, 3, 1),
        amount="200",
        reason="信息",
    )
    return services.compute_sheet(by=u.village_a, unit=county.village_a, month=D(2026, 3, 1))


def _shot(driver, name):
    folder = os.environ.get("WANGGE_SCREENSHOTS")
    if folder:
        driver.save_screenshot(os.path.join(folder, name))


def test_my_pay_fits_a_phone(phone_browser, live_server, browser_login, county, sheet):
    browser_login(phone_browser, live_server, county.users.grid_worker)
    phone_browser.get(live_server.url + reverse("payroll:mine"))
    assert phone_browser.find_elements(By.CSS_SELECTOR, "tr[data-line]")
    width = phone_browser.execute_script("return document.documentElement.scrollWidth")
    assert width == 360  # the table scrolls inside its own box
    _shot(phone_browser, "payroll-mine.png")
    line = sheet.lines.get(person=county.users.grid_worker)
    phone_browser.get(live_server.url + reverse("payroll:my_line", args=[line.pk]))
    assert phone_browser.find_element(By.CSS_SELECTOR, '[data-figure="total"]').text == "2,204.96"
    assert phone_browser.execute_script("return document.documentElement.scrollWidth") == 360
    _shot(phone_browser, "payroll-my-line.png")
    assert not console_errors(phone_browser)


def test_the_sheet_page_on_a_desk(browser, live_server, browser_login, county, sheet):
    browser_login(browser, live_server, county.users.village_a)
    browser.get(live_server.url + reverse("payroll:sheet", args=[sheet.pk]))
    total = browser.find_element(By.CSS_SELECTOR, '#totals [data-figure="total"]')
    assert total.text == "2,204.96"
    assert browser.find_element(By.ID, "lines").value_of_css_property("border-radius") == "8px"  # styled
    _shot(browser, "payroll-sheet.png")
    browser.get(live_server.url + reverse("payroll:budget"))
    _shot(browser, "payroll-budget.png")
    assert not console_errors(browser)
