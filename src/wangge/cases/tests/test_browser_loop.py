"""The whole loop in real browsers (CASE-1 … CASE-11, PLAT-4): a grid worker reports on a phone with a
photo, the township dispatches at a desk, the department handles it, the reporter checks it on site,
and the case shows closed."""

import pytest
from PIL import Image
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from wangge.cases import services
from wangge.cases.choices import ActionKind, CaseState
from wangge.cases.models import Case
from wangge.core.browser import console_errors, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _photo(path, colour):
    Image.new("RGB", (48, 36), colour).save(path, format="PNG")
    return str(path)


def _at(driver, lng, lat, live_server):
    driver.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": live_server.url, "permissions": ["geolocation"]}
    )
    driver.execute_cdp_cmd(
        "Emulation.setGeolocationOverride", {"latitude": lat, "longitude": lng, "accuracy": 8}
    )


def _open_step(driver, step):
    """Unfold a step's form on the case page and return the form element."""
    details = driver.find_element(By.ID, f"action-{step}")
    if not details.get_attribute("open"):
        details.find_element(By.TAG_NAME, "summary").click()
    return details.find_element(By.TAG_NAME, "form")


def _state_label(driver):
    """The case page's status, or None while the next page is still loading.

    Read in one script call: an element handle found first could belong to the page being left."""
    try:
        return driver.execute_script(
            "const e = document.querySelector('[data-state]'); return e && e.dataset.state"
        )
    except WebDriverException:  # the document is being replaced under the script
        return None


def test_report_on_a_phone_dispatch_at_a_desk_handle_check_and_close(
    world, phone_browser, browser, browser_factory, live_server, browser_login, tmp_path, media_root
):
    users, lng_lat = world.users, world.point_a11

    # 1. The grid worker reports on a 360-px phone: GPS fix, category, photo, description.
    phone = phone_browser
    _at(phone, *lng_lat, live_server)
    browser_login(phone, live_server, users.grid_worker)
    phone.get(live_server.url + "/field/report/")
    wait_for(phone, lambda d: "ok" in d.find_element(By.ID, "gps-status").get_attribute("class"))
    Select(phone.find_element(By.NAME, "category")).select_by_value(world.category.code)
    phone.find_element(By.NAME, "photos").send_keys(_photo(tmp_path / "found.png", (190, 40, 30)))
    phone.find_element(By.NAME, "description").send_keys("一组路口井盖破损，夜间有行人跌落风险")
    assert phone.execute_script("return document.documentElement.scrollWidth") <= 360
    phone.find_element(By.CSS_SELECTOR, "button.send").click()
    wait_for(phone, lambda d: "/cases/" in d.current_url)
    case = Case.objects.get()
    assert case.state == CaseState.REGISTERED and case.unit == world.county.cell_a11
    assert case.attachments.count() == 1
    assert not console_errors(phone)

    # Beyond the grid's means: it goes up to the township (the escalation chain is tested elsewhere).
    for actor in (users.grid_worker, users.grid_leader, users.village_a):
        case = services.escalate(case, by=actor, reason="需要乡镇协调相关部门")

    # 2. The township dispatcher finds it waiting in the queue and dispatches it to the department.
    desk = browser
    browser_login(desk, live_server, users.township_a)
    desk.get(live_server.url + "/cases/")
    row = wait_for(desk, lambda d: d.find_element(By.CSS_SELECTOR, f"tr[data-case='{case.pk}']"))
    row.find_element(By.CSS_SELECTOR, "a").click()
    wait_for(desk, lambda d: f"/cases/{case.pk}/" in d.current_url)
    form = _open_step(desk, "dispatch")
    lead = Select(form.find_element(By.NAME, "lead"))
    assert lead.first_selected_option.text.startswith(world.department.name)  # the category's default
    form.find_element(By.NAME, "instructions").send_keys("请于时限内修复并反馈")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(desk, lambda d: _state_label(d) == CaseState.DISPATCHED)
    assert not console_errors(desk)

    # 3. The department accepts it on its desk list and submits the result with a photo.
    department = browser_factory()
    browser_login(department, live_server, users.department)
    department.get(live_server.url + "/cases/assigned/")
    wait_for(department, lambda d: d.find_element(By.CSS_SELECTOR, f"tr[data-case='{case.pk}'] a")).click()
    _open_step(department, "accept").find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(department, lambda d: _state_label(d) == CaseState.HANDLING)
    form = _open_step(department, "submit")
    form.find_element(By.NAME, "result").send_keys("已更换井盖并设置警示标志")
    form.find_element(By.NAME, "photos").send_keys(_photo(tmp_path / "fixed.png", (40, 160, 60)))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(department, lambda d: _state_label(d) == CaseState.SUBMITTED)

    # 4. The reporter was told, goes back on the phone and checks it on site: passed, closed.
    phone.get(live_server.url + "/notices/")
    wait_for(phone, lambda d: case.display_number in d.find_element(By.TAG_NAME, "main").text)
    phone.get(live_server.url + f"/cases/{case.pk}/")
    form = _open_step(phone, "check")
    form.find_element(By.NAME, "photos").send_keys(_photo(tmp_path / "after.png", (40, 60, 160)))
    form.find_element(By.NAME, "note").send_keys("现场核查，井盖已更换")
    wait_for(phone, lambda d: form.find_element(By.NAME, "lng").get_attribute("value"))
    form.find_element(By.CSS_SELECTOR, "button.primary").click()
    wait_for(phone, lambda d: _state_label(d) == CaseState.CLOSED)
    assert phone.execute_script("return document.documentElement.scrollWidth") <= 360
    assert not console_errors(phone)

    case.refresh_from_db()
    assert case.state == CaseState.CLOSED and case.resolved_level == "township"
    kinds = list(case.actions.values_list("kind", flat=True))
    assert kinds[-4:] == [ActionKind.DISPATCH, ActionKind.ACCEPT, ActionKind.SUBMIT, ActionKind.CHECK_PASS]
    check_photo = case.attachments.get(action__kind=ActionKind.CHECK_PASS)
    assert check_photo.kind == "after"
    assert (check_photo.lng, check_photo.lat) == pytest.approx(lng_lat)
