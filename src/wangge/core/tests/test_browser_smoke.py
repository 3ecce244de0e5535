"""Smoke tests of the browser harness (wangge.core.browser): a real Chromium reaches the live server.

They prove the plumbing the journey tests stand on: a phone window really is 360 CSS pixels wide,
static files (the project's and node_modules' Leaflet) are served, the page is in Chinese by default,
and `browser_login` gives a browser a working session. The fixtures are documented in
wangge.core.browser.
"""

import pytest
from selenium.webdriver.common.by import By

from wangge.core.browser import console_errors

pytestmark = pytest.mark.browser


def test_the_sign_in_page_fits_a_360_pixel_phone(phone_browser, live_server):
    phone_browser.get(live_server.url + "/login/")

    assert phone_browser.find_element(By.NAME, "username").is_displayed()
    assert phone_browser.find_element(By.NAME, "password").is_displayed()
    page = phone_browser.execute_script(
        "return {inner: window.innerWidth, client: document.documentElement.clientWidth,"
        " scroll: document.documentElement.scrollWidth, ratio: window.devicePixelRatio,"
        " mobile: navigator.userAgent.includes('Mobile'), lang: document.documentElement.lang,"
        " styled: document.styleSheets.length > 0 && document.styleSheets[0].cssRules.length > 0}"
    )
    assert page == {
        "inner": 360,
        "client": 360,
        "scroll": 360,  # nothing sticks out sideways
        "ratio": 2,
        "mobile": True,
        "lang": "zh-hans",  # the browser asks for zh-CN, as a phone in China does
        "styled": True,  # the stylesheet came through the live server's static files handler
    }
    assert not console_errors(phone_browser)


def test_the_health_page_and_npm_static_files_are_served(browser, live_server):
    browser.get(live_server.url + "/healthz")
    assert '"status": "ok"' in browser.find_element(By.TAG_NAME, "body").text
    assert browser.execute_script("return window.innerWidth") == 1366

    status = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => done(r.status), e => done(String(e)));",
        live_server.url + "/static/vendor/leaflet/leaflet.js",
    )
    assert status == 200


def test_a_signed_in_user_gets_their_unit_and_a_stranger_the_sign_in_page(
    browser, live_server, browser_login, county
):
    browser.get(live_server.url + "/")
    assert browser.current_url == live_server.url + "/login/?next=/"
    assert browser.find_element(By.NAME, "username").is_displayed()

    browser_login(browser, live_server, county.users.village_a)
    browser.get(live_server.url + "/")

    assert browser.current_url == live_server.url + county.village_a.get_absolute_url()
    assert county.village_a.name in browser.find_element(By.TAG_NAME, "h1").text
