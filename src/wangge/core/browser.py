"""Browser tests: Selenium driving Debian's headless Chromium against pytest-django's live server.

Loaded as a pytest plugin (``-p wangge.core.browser`` in pyproject's addopts), so its fixtures are
available to every test module and its hooks also run in pytest-xdist's controller process.

Writing a browser test::

    import pytest

    from wangge.core.browser import wait_for

    pytestmark = pytest.mark.browser


    def test_a_grid_worker_sees_the_map(phone_browser, live_server, browser_login, county):
        browser_login(phone_browser, live_server, county.users.grid_worker)
        phone_browser.get(live_server.url + county.cell_a11.get_absolute_url())
        wait_for(phone_browser, lambda d: d.find_elements("css selector", ".leaflet-container"))

Fixtures
    ``browser``          a desk-size Chromium window, 1366×900.
    ``phone_browser``    a phone: Chrome's mobile emulation at 360×740 CSS pixels, device pixel ratio 2,
                         touch and an Android user agent (``window.innerWidth == 360``).
    ``browser_factory``  ``browser_factory(width=1920, height=1080, mobile=False, lang="zh-CN")`` for any
                         other size (a wall screen, an English browser); each call starts a new browser.
    ``browser_login``    ``browser_login(driver, live_server, user)`` signs the browser in as ``user``
                         without typing a password: Django's test client makes a real session
                         (``Client.force_login``) and its cookie is copied into the browser. Also
                         importable from this module.
    ``live_server``      pytest-django's: one threaded server per xdist worker on a free port, serving
                         static files (node_modules/leaflet/dist included) through StaticFilesHandler.

Every browser is a fresh Chromium with its own empty profile (cookies, localStorage, IndexedDB and
service workers never leak from one test to the next), Accept-Language zh-CN unless ``lang`` says
otherwise, and is closed after the test. Helpers: ``wait_for(driver, condition)`` and
``console_errors(driver)`` (the browser console's errors, e.g. a script blocked by the CSP).

Mark every test that needs a browser with ``@pytest.mark.browser`` (or ``pytestmark``). When
/usr/bin/chromium or /usr/bin/chromedriver is missing those tests are skipped, not failed, and the run
ends with a line saying how many were skipped; ``.ci/run`` installs both, so on CI they run. The
paths can be overridden with WANGGE_CHROMIUM and WANGGE_CHROMEDRIVER.

When a test using a browser fails, a screenshot and the page's HTML land in var/screenshots/ (the
paths are printed with the failure).

Database: a test that uses ``live_server`` is a transactional test (the server thread must see what the
test wrote), and Django empties every table after such a test, including rows that data migrations
made (the unit level scheme). This plugin therefore gives such tests serialized rollback and restores
the migrated data as soon as they finish, so any test running after them in the same worker still
finds it, whatever order xdist hands out the files in.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path(os.environ.get("WANGGE_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("WANGGE_CHROMEDRIVER", "/usr/bin/chromedriver"))
SKIP_REASON = "Chromium/ChromeDriver not installed: apt-get install chromium chromium-driver"

DESK_SIZE = (1366, 900)
PHONE_SIZE = (360, 740)
PHONE_PIXEL_RATIO = 2.0
PHONE_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)

# Headless, as root, with no network but loopback: no sandbox (root), no GPU, no /dev/shm (small in
# containers), and nothing that phones home (refused connections otherwise pile up at every start).
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--password-store=basic",
    "--mute-audio",
)

PAGE_LOAD_TIMEOUT = 30
SCRIPT_TIMEOUT = 15

_drivers_key = pytest.StashKey[list]()
_transactional_key = pytest.StashKey[bool]()


def missing_browser() -> str | None:
    """Why browser tests cannot run here, or None when Chromium and ChromeDriver are both present."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (path.is_file() and os.access(path, os.X_OK)):
            return SKIP_REASON
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: pip install -e '.[dev]'"
    return None


def start_browser(
    width: int = DESK_SIZE[0],
    height: int = DESK_SIZE[1],
    *,
    mobile: bool = False,
    lang: str = "zh-CN",
) -> WebDriver:
    """A new headless Chromium with an empty profile; the caller quits it (``driver.quit()``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="wangge-chromium-")
    options = webdriver.ChromeOptions()
    # Both paths are given, so Selenium Manager never runs (it would try to download a browser).
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--lang={lang}")
    options.add_experimental_option("prefs", {"intl.accept_languages": f"{lang},{lang.split('-')[0]}"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if mobile:
        options.add_experimental_option(
            "mobileEmulation",
            {
                "deviceMetrics": {
                    "width": width,
                    "height": height,
                    "pixelRatio": PHONE_PIXEL_RATIO,
                    "touch": True,
                },
                "userAgent": PHONE_USER_AGENT,
            },
        )
    else:
        options.add_argument(f"--window-size={width},{height}")
    service = Service(executable_path=str(CHROMEDRIVER), log_output=subprocess.DEVNULL)
    try:
        driver = webdriver.Chrome(service=service, options=options)
    except Exception:
        shutil.rmtree(profile, ignore_errors=True)
        raise
    driver._wangge_profile = profile  # removed by stop_browser()
    driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT)
    driver.set_script_timeout(SCRIPT_TIMEOUT)
    if not mobile:
        # --window-size sets the outer window; make the viewport itself the size asked for.
        inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
        outer = driver.get_window_size()
        if inner != [width, height]:
            driver.set_window_size(
                outer["width"] + width - inner[0],
                outer["height"] + height - inner[1],
            )
    return driver


def stop_browser(driver: WebDriver) -> None:
    """Quit the browser and its chromedriver and remove its profile; a browser that died is no error."""
    try:
        driver.quit()
    except Exception:  # already gone (crashed, or killed by a timeout): nothing left to stop
        pass
    finally:
        profile = getattr(driver, "_wangge_profile", None)
        if profile:
            shutil.rmtree(profile, ignore_errors=True)


def browser_login(driver: WebDriver, live_server: Any, user: Any) -> None:
    """Sign ``driver`` in as ``user`` on ``live_server`` through a real session, no password typed."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    # A cookie can only be set for the page's own origin, so open a cheap page of the server first.
    driver.get(live_server.url + "/healthz")
    driver.delete_cookie(settings.SESSION_COOKIE_NAME)
    driver.add_cookie(
        {
            "name": settings.SESSION_COOKIE_NAME,
            "value": session_key,
            "path": settings.SESSION_COOKIE_PATH,
            "httpOnly": True,
            "secure": False,
            "sameSite": settings.SESSION_COOKIE_SAMESITE or "Lax",
        }
    )


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], timeout: float = 10) -> Any:
    """Wait until ``condition(driver)`` is truthy and return it (Selenium's WebDriverWait).

    An element of the page being left goes stale while the next one loads: that is "not yet", like a
    missing element, not a failure. Chromium sometimes reports such an element not as stale but as an
    inspector error ("Node with given id does not belong to the document"): the same "not yet".
    """
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
        WebDriverException,
    )
    from selenium.webdriver.support.wait import WebDriverWait

    def settled(d):
        try:
            return condition(d)
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return False
            raise

    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, ignored_exceptions=ignored).until(settled)


def console_errors(driver: WebDriver) -> list[str]:
    """Messages logged at SEVERE in the browser console since the last call (favicon misses ignored)."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]
    ]


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def browser_factory(request: pytest.FixtureRequest) -> Iterator[Callable[..., WebDriver]]:
    """``browser_factory(width, height, mobile=False, lang="zh-CN")``: new browsers, closed after the test."""
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    started: list[WebDriver] = request.node.stash.setdefault(_drivers_key, [])

    def factory(
        width: int = DESK_SIZE[0], height: int = DESK_SIZE[1], *, mobile: bool = False, lang: str = "zh-CN"
    ) -> WebDriver:
        driver = start_browser(width, height, mobile=mobile, lang=lang)
        started.append(driver)
        return driver

    yield factory
    while started:
        stop_browser(started.pop())


@pytest.fixture
def browser(browser_factory: Callable[..., WebDriver]) -> WebDriver:
    """A desk-size (1366×900) headless Chromium."""
    return browser_factory(*DESK_SIZE)


@pytest.fixture
def phone_browser(browser_factory: Callable[..., WebDriver]) -> WebDriver:
    """A phone: 360×740 CSS pixels at pixel ratio 2, touch, mobile user agent."""
    return browser_factory(*PHONE_SIZE, mobile=True)


@pytest.fixture(name="browser_login")
def _browser_login_fixture() -> Callable[[WebDriver, Any, Any], None]:
    """``browser_login(driver, live_server, user)``: sign a browser in without a password."""
    return browser_login


# ------------------------------------------------------------------------------------------------- hooks


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    try:
        from django.conf import settings

        db = settings.DATABASES["default"]
        server = f" at {db['HOST']}:{db.get('PORT') or 'default port'}" if db.get("HOST") else ""
        lines.append(f"database: {db['ENGINE'].rsplit('.', 1)[-1]}{server} (a fresh test database)")
    except Exception:  # Django not configured (-p no:django): the header is only information
        pass
    reason = missing_browser()
    if reason:
        return [*lines, f"browser: none — {reason}"]
    try:
        version = subprocess.run(
            [str(CHROMIUM), "--version"], capture_output=True, text=True, timeout=20, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        version = "version unknown"
    return [*lines, f"browser: {version or CHROMIUM} via {CHROMEDRIVER}"]


def _uses_live_server(item: pytest.Item) -> bool:
    return "live_server" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = missing_browser()
    for item in items:
        if reason and item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.skip(reason=reason))
        if _uses_live_server(item):
            # Serialized rollback: the data migrations' rows are serialized when the test database is
            # made and put back after the flush that ends every transactional test (see the teardown
            # hook below). Keep whatever else the test's own django_db marker asks for.
            marker = item.get_closest_marker("django_db")
            kwargs = dict(marker.kwargs) if marker else {}
            if not kwargs.get("serialized_rollback"):
                kwargs.update(transaction=True, serialized_rollback=True)
                item.add_marker(
                    pytest.mark.django_db(*(marker.args if marker else ()), **kwargs), append=False
                )
            item.stash[_transactional_key] = True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    try:
        return (yield)
    finally:
        # After the last test the session fixtures have just destroyed the test databases and the
        # connections point at the real ones again: never write then.
        if nextitem is not None and item.stash.get(_transactional_key, False):
            _restore_serialized_databases(item.config)


def _restore_serialized_databases(config: pytest.Config) -> None:
    from django.db import connections
    from pytest_django.plugin import blocking_manager_key

    with config.stash[blocking_manager_key].unblock():
        for connection in connections.all(initialized_only=True):
            contents = getattr(connection, "_test_serialized_contents", None)
            if contents is not None:
                connection.creation.deserialize_db_from_string(contents)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    report = yield
    drivers = item.stash.get(_drivers_key, [])
    if report.failed and report.when in ("setup", "call") and drivers:
        report.sections.append(("browser evidence", "\n".join(_save_failure_evidence(item, drivers))))
    return report


def _save_failure_evidence(item: pytest.Item, drivers: list[WebDriver]) -> list[str]:
    """A screenshot and the HTML of every browser of a failed test, in var/screenshots/."""
    from django.conf import settings

    folder = Path(getattr(settings, "VAR_DIR", "var")) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_")[:180]
    lines = []
    for index, driver in enumerate(drivers):
        base = folder / (stem if len(drivers) == 1 else f"{stem}-{index + 1}")
        try:
            url = driver.current_url
            png = Path(f"{base}.png")
            driver.save_screenshot(str(png))
            html = Path(f"{base}.html")
            html.write_text(driver.page_source, encoding="utf-8")
            lines.append(f"{url}\n  screenshot: {png}\n  page source: {html}")
        except Exception as exc:  # the browser may be what broke: say so, never mask the failure
            lines.append(f"could not save page evidence: {exc!r}")
    return lines


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    skipped = sum(
        1 for report in terminalreporter.stats.get("skipped", []) if SKIP_REASON in str(report.longrepr)
    )
    if skipped:
        terminalreporter.write_line(
            f"browser tests skipped: {skipped} (Chromium not installed: apt-get install chromium chromium-driver)",
            yellow=True,
            bold=True,
        )
        return
    ran = sum(
        1
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        if getattr(report, "when", None) == "call" and "browser" in getattr(report, "keywords", {})
    )
    if ran:
        terminalreporter.write_line(f"browser tests run in headless Chromium: {ran}")
