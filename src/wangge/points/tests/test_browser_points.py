"""On a phone: a grid worker finds a household, awards points for a good deed and redeems them at the
village's points shop; every page fits a 360-pixel screen and runs without console errors."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from wangge.core.browser import console_errors, wait_for
from wangge.points.models import PointBook

from .conftest import rule

pytestmark = pytest.mark.browser


def fits(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth") <= 360


def test_a_grid_worker_awards_and_redeems_on_a_phone(phone_browser, live_server, browser_login, pw):
    driver = phone_browser
    browser_login(driver, live_server, pw.users.grid_worker)

    driver.get(live_server.url + "/points/award/")
    assert fits(driver)
    driver.find_element(By.NAME, "number").send_keys("A1")
    driver.find_element(By.CSS_SELECTOR, "#household-form button[type=submit]").click()
    wait_for(driver, lambda d: d.find_elements(By.ID, "award-form"))
    assert fits(driver)
    Select(driver.find_element(By.NAME, "rule")).select_by_value(str(rule("volunteer_service").pk))
    quantity = driver.find_element(By.NAME, "quantity")
    quantity.clear()
    quantity.send_keys("6")
    driver.find_element(By.NAME, "note").send_keys("敬老院打扫卫生")
    driver.find_element(By.CSS_SELECTOR, "#award-form button[type=submit]").click()
    balance = wait_for(driver, lambda d: d.find_elements(By.ID, "balance"))[0]
    assert balance.get_attribute("data-balance") == "30"
    assert fits(driver)

    driver.find_element(By.ID, "redeem-link").click()
    wait_for(driver, lambda d: d.find_elements(By.ID, "redeem-form"))
    assert fits(driver)
    assert driver.find_element(By.NAME, "household").get_attribute("value") == "A1"
    Select(driver.find_element(By.NAME, "item")).select_by_value(str(pw.items.soap.pk))
    driver.find_element(By.CSS_SELECTOR, "#redeem-form button[type=submit]").click()
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".message.success"))
    assert (
        driver.find_element(By.CSS_SELECTOR, f'[data-item="{pw.items.soap.pk}"]').get_attribute("data-stock")
        == "4"
    )
    assert PointBook.objects.get(household=pw.h.a1).balance == 20
    assert not console_errors(driver)
