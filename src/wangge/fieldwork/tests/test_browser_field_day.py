"""A grid worker's day on a 360-px phone in a real browser: today's work log, then a household visit from
the due list that finds a hazard and raises a case."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from wangge.cases.choices import CaseState, Source
from wangge.cases.models import Category
from wangge.core.browser import console_errors, wait_for
from wangge.core.testing import build_test_county
from wangge.fieldwork.models import Visit, WorkLog
from wangge.ledger.models import Household

pytestmark = pytest.mark.browser

TODAY = datetime.date(2026, 3, 30)  # a Monday: a working day whatever day the suite runs


@pytest.fixture
def county(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)
    return build_test_county(households_per_grid=3)


def remaining(driver) -> str | None:
    return driver.execute_script(
        "const e = document.querySelector('[data-duty=\"quarterly_visit\"]'); return e && e.dataset.remaining"
    )


def test_a_grid_worker_records_todays_log_and_a_visit_that_raises_a_case(
    county, phone_browser, live_server, browser_login
):
    worker = county.users.grid_worker
    category = Category.objects.filter(parent__isnull=False, is_active=True).order_by("code").first()
    phone = phone_browser
    browser_login(phone, live_server, worker)

    # 1. Today's log: where I patrolled, what I found.
    phone.get(live_server.url + "/work/log/")
    form = wait_for(phone, lambda d: d.find_element(By.CSS_SELECTOR, "form[data-log-form]"))
    form.find_element(By.NAME, "patrolled").send_keys("一格沿河路段、村小学周边")
    form.find_element(By.NAME, "found").send_keys("张家屋后边坡有新裂缝")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(
        phone,
        lambda d: (
            d.find_element(By.CSS_SELECTOR, f"[data-recent-day='{TODAY:%Y-%m-%d}']").get_attribute(
                "data-written"
            )
            == "yes"
        ),
    )
    log = WorkLog.objects.get(author=worker, date=TODAY)
    assert log.found == "张家屋后边坡有新裂缝"

    # 2. The due list: three households still to visit this quarter; open the first one.
    phone.get(live_server.url + "/work/visits/")
    wait_for(phone, lambda d: remaining(d) == "3")
    home = Household.objects.filter(grid=county.cell_a11).order_by("number").first()
    phone.find_element(By.CSS_SELECTOR, f"[data-due-household='{home.number}'] a").click()
    form = wait_for(phone, lambda d: d.find_element(By.ID, "visit-form"))
    assert phone.execute_script("return document.documentElement.scrollWidth") <= 360

    # 3. The visit: checking for hazards, what was found, and a case raised from it.
    form.find_element(By.CSS_SELECTOR, "input[name=purposes][value=hazards]").click()
    form.find_element(By.NAME, "findings").send_keys("屋后边坡裂缝约两米，雨后有滑坡危险")
    form.find_element(By.NAME, "raise_case").click()
    Select(form.find_element(By.NAME, "case_category")).select_by_value(category.code)
    form.find_element(By.NAME, "case_description").send_keys("张家屋后边坡裂缝，需地灾排查")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    link = wait_for(phone, lambda d: d.find_element(By.CSS_SELECTOR, "#visit [data-case]"))
    visit = Visit.objects.get()
    assert visit.household == home and visit.purposes == ["hazards"]
    case = visit.case
    assert case.source == Source.VISIT and case.state == CaseState.REGISTERED and case.category == category
    assert link.get_attribute("data-case") == str(case.pk)
    assert not console_errors(phone)

    # 4. Back on the due list, one fewer to visit; the visit shows among the recent ones.
    phone.get(live_server.url + "/work/visits/")
    wait_for(phone, lambda d: remaining(d) == "2")
    assert phone.find_elements(By.CSS_SELECTOR, f"#recent-visits [data-visit='{visit.pk}']")
