"""The public notice board on a resident's phone: it renders under the CSP (inline QR code, the print
button's script from a static file) with nothing blocked."""

import datetime

import pytest

from wangge.core.browser import console_errors, wait_for
from wangge.core.testing import make_user
from wangge.people import services
from wangge.people.roles import Role

pytestmark = pytest.mark.browser


def test_a_resident_opens_the_board_on_a_phone(phone_browser, live_server, county):
    county.users.grid_worker.full_name, county.users.grid_worker.phone = "王网格", "13800000001"
    county.users.grid_worker.save()
    b = make_user("worker_b", (county.cell_a12, Role.GRID_WORKER_FULL_TIME), full_name="乙岗员")
    services.pair_posts(
        county.users.grid_worker.posts.get(), b, by=county.users.village_a, start=datetime.date(2020, 1, 1)
    )
    phone_browser.get(f"{live_server.url}/p/grid/{county.cell_a11.code}/")
    wait_for(phone_browser, lambda d: d.find_elements("css selector", ".board-qr svg.qr"))
    page = phone_browser.page_source
    assert "王网格" in page and "13800000001" in page and "乙岗员" in page
    qr = phone_browser.find_element("css selector", ".board-qr svg.qr")
    assert qr.size["width"] >= 100  # sized by the stylesheet, not by the SVG
    assert phone_browser.find_elements("css selector", "[data-print]")
    assert not console_errors(phone_browser)  # no script or style blocked by the CSP
    assert phone_browser.execute_script("return document.documentElement.scrollWidth") <= 360
