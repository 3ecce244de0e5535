"""A village administrator imports residents from Excel in a real browser: the dry run names the two bad
rows, the fixed file checks clean, and the all-or-nothing import creates the four people."""

from __future__ import annotations

import openpyxl
import pytest
from django.utils import translation
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from wangge.core.browser import console_errors, wait_for
from wangge.core.pii import id_number_problem
from wangge.ledger.columns import columns_for
from wangge.ledger.models import ImportKind, ImportRun, ImportStatus, Resident
from wangge.ledger.testing import make_id_number

pytestmark = pytest.mark.browser


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def residents_file(path, rows):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    columns = columns_for(ImportKind.RESIDENTS)
    sheet.append([column.header for column in columns])
    for row in rows:
        sheet.append([row.get(column.key) for column in columns])
    workbook.save(path)
    return str(path)


def problems(driver):
    return {
        (int(tr.get_attribute("data-row")), tr.get_attribute("data-column")): tr.find_element(
            By.CSS_SELECTOR, ".rule"
        ).text
        for tr in driver.find_elements(By.CSS_SELECTOR, "#problem-list tbody tr")
    }


def upload(driver, live_server, path):
    driver.get(live_server.url + "/ledger/import/")
    Select(driver.find_element(By.NAME, "kind")).select_by_value(ImportKind.RESIDENTS)
    driver.find_element(By.NAME, "file").send_keys(path)
    driver.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()
    wait_for(driver, lambda d: d.find_elements(By.ID, "run-counts"))


def test_a_village_admin_fixes_two_bad_rows_and_imports(
    ledger, county, browser, live_server, browser_login, tmp_path, media_root
):
    good_id = make_id_number(born="19850315", order="412")
    typo_id = good_id[:17] + ("0" if good_id[17] != "0" else "1")
    rows = [
        {"id_number": make_id_number(born="19790101", order="135"), "household": "A11-1", "name": "周一"},
        {"id_number": typo_id, "household": "A11-1", "name": "吴二"},
        {"household": "A12-1", "name": "郑三", "birth_date": "2001-02-03"},
        {"id_number": make_id_number(born="19601212", order="246"), "household": "A99-9", "name": "冯四"},
    ]
    browser_login(browser, live_server, county.users.village_a)
    upload(browser, live_server, residents_file(tmp_path / "居民.xlsx", rows))

    found = problems(browser)
    with translation.override("zh-hans"):
        expected_id_rule = id_number_problem(typo_id)
    assert set(found) == {(3, "身份证号"), (5, "户编号")}
    assert found[(3, "身份证号")] == expected_id_rule
    assert county.village_a.name in found[(5, "户编号")]
    assert typo_id not in browser.page_source
    assert not Resident.objects.filter(name__in=["周一", "吴二", "郑三", "冯四"]).exists()

    rows[1]["id_number"] = good_id
    rows[3]["household"] = "A12-1"
    upload(browser, live_server, residents_file(tmp_path / "居民-改.xlsx", rows))
    assert browser.find_elements(By.ID, "no-problems")
    assert browser.find_element(By.CSS_SELECTOR, "[data-count=created]").text == "4"

    mode = browser.find_element(By.CSS_SELECTOR, "input[name=mode][value=all_or_nothing]")
    assert mode.is_selected()
    browser.find_element(By.CSS_SELECTOR, "#apply-form button[type=submit]").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "run-status").get_attribute("data-status") == "applied")
    assert browser.find_element(By.CSS_SELECTOR, "[data-count=created]").text == "4"
    assert "4" in browser.find_element(By.CSS_SELECTOR, ".messages .success").text
    assert ImportRun.objects.filter(status=ImportStatus.APPLIED, created_count=4).count() == 1

    browser.get(live_server.url + "/ledger/residents/")
    listing = wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "main")).text
    for name in ("周一", "吴二", "郑三", "冯四"):
        assert name in listing
    assert not console_errors(browser)
