"""End-to-end tests of the onecity web console in headless Chromium.

Needs a running server with the demo data (tests/browser/run.sh starts one):
  ONECITY_URL             base URL, e.g. http://127.0.0.1:8080
  ONECITY_ADMIN_PASSWORD  password of the `admin` user
  ONECITY_ARTIFACTS       where screenshots and browser logs go (default /tmp)
Uses Debian's chromium and chromedriver (/usr/bin); selenium-manager downloads nothing.
"""

import json
import os
import shutil
import tempfile
import time

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE_URL = os.environ.get("ONECITY_URL", "http://127.0.0.1:8080").rstrip("/")
ADMIN_PASSWORD = os.environ.get("ONECITY_ADMIN_PASSWORD", "")
ARTIFACTS = os.environ.get("ONECITY_ARTIFACTS", "/tmp")
CHROMIUM = os.environ.get("ONECITY_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("ONECITY_CHROMEDRIVER", "/usr/bin/chromedriver")

# Layer ids of crates/onecity-web/assets/js/map.js.
BOUNDARY_FILL_LAYER = "boundaries-fill"

PAGE_TIMEOUT = 30
MAP_TIMEOUT = 90


@pytest.fixture
def driver(request):
    profile = tempfile.mkdtemp(prefix="onecity-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-unsafe-swiftshader",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        "--lang=en-US",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    drv.set_page_load_timeout(PAGE_TIMEOUT)
    try:
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


def artifact(name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    return os.path.join(ARTIFACTS, name)


def save_artifacts(drv, name):
    """Screenshot and browser console log, named `name`."""
    try:
        drv.save_screenshot(artifact(f"{name}.png"))
    except Exception as exc:  # the browser may be gone
        print(f"screenshot {name} failed: {exc}")
    try:
        with open(artifact(f"{name}.console.json"), "w", encoding="utf-8") as f:
            json.dump(drv.get_log("browser"), f, ensure_ascii=False, indent=1)
    except Exception as exc:
        print(f"browser log {name} failed: {exc}")


class artifacts_on_exit:
    """Saves `<name>-ok` on success and `<name>-failure` on failure."""

    def __init__(self, drv, name):
        self.drv, self.name = drv, name

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        save_artifacts(self.drv, f"{self.name}-{'ok' if exc_type is None else 'failure'}")
        return False


def wait_for(drv, condition, timeout=PAGE_TIMEOUT, what="condition"):
    return WebDriverWait(drv, timeout, poll_frequency=0.2).until(
        lambda d: condition(d), message=f"timed out waiting for {what}"
    )


def body_data(drv, key):
    return drv.execute_script("return document.body.dataset[arguments[0]] || null;", key)


def login(drv):
    assert ADMIN_PASSWORD, "ONECITY_ADMIN_PASSWORD is not set"
    drv.get(f"{BASE_URL}/login")
    wait_for(drv, lambda d: d.find_element(By.ID, "login-submit").is_displayed(), what="login form")
    drv.find_element(By.ID, "username").send_keys("admin")
    drv.find_element(By.ID, "password").send_keys(ADMIN_PASSWORD)
    drv.find_element(By.ID, "login-submit").click()

    def landed(d):
        if d.current_url.startswith(f"{BASE_URL}/console/map"):
            return True
        errors = d.find_elements(By.ID, "login-error")
        if errors and errors[0].is_displayed() and errors[0].text:
            raise AssertionError(f"login failed: {errors[0].text}")
        return False

    wait_for(drv, landed, what="the map page after login")
    token = drv.execute_script("return localStorage.getItem('onecity.token');")
    assert token, "no token stored after login"


def choose_tenant(drv, code):
    def has_option(d):
        select = d.find_element(By.ID, "tenant-switcher")
        return select.is_enabled() and select.find_elements(By.CSS_SELECTOR, f"option[value='{code}']")

    wait_for(drv, has_option, what=f"tenant {code} in the switcher")
    Select(drv.find_element(By.ID, "tenant-switcher")).select_by_value(code)


def wait_map_ready(drv, code):
    def ready(d):
        page_error = d.find_element(By.ID, "page-error")
        if page_error.is_displayed() and page_error.text:
            raise AssertionError(f"map page error: {page_error.text}")
        return body_data(d, "tenant") == code and body_data(d, "mapReady") == "1"

    wait_for(drv, ready, timeout=MAP_TIMEOUT, what=f"map of {code}")


def rendered_boundary_ids(drv):
    return drv.execute_script(
        """
        const features = window.onecityMap.queryRenderedFeatures({layers: [arguments[0]]});
        const ids = new Set(features.map(f => f.id !== undefined ? f.id : f.properties.id));
        return Array.from(ids, String);
        """,
        BOUNDARY_FILL_LAYER,
    )


def assert_tenant_rendered(drv, code, expected):
    choose_tenant(drv, code)
    wait_map_ready(drv, code)
    assert body_data(drv, "boundaryCount") == str(expected)
    ids = rendered_boundary_ids(drv)
    assert len(ids) == expected, f"{code}: rendered {len(ids)} boundaries, expected {expected}: {ids}"


def click_lng_lat(drv, lng, lat):
    canvas = drv.find_element(By.CSS_SELECTOR, "#map canvas.maplibregl-canvas")
    # Selenium 4 offsets are from the element's centre.
    dx, dy = drv.execute_script(
        """
        const p = window.onecityMap.project([arguments[0], arguments[1]]);
        const r = arguments[2].getBoundingClientRect();
        return [p.x - r.width / 2, p.y - r.height / 2];
        """,
        lng,
        lat,
        canvas,
    )
    ActionChains(drv).move_to_element_with_offset(canvas, round(dx), round(dy)).click().perform()


def test_login_map_and_lookup(driver):
    with artifacts_on_exit(driver, "onecity-console-map"):
        login(driver)
        assert_tenant_rendered(driver, "hangzhou", 13)
        assert_tenant_rendered(driver, "nyc", 5)

        click_lng_lat(driver, -73.82, 40.72)
        wait_for(
            driver,
            lambda d: "Queens" in d.find_element(By.ID, "lookup-result").text,
            what="Queens in #lookup-result",
        )
        # the popup shows the same result
        popup = driver.find_elements(By.CSS_SELECTOR, ".maplibregl-popup-content")
        assert popup and "Queens" in popup[0].text
        time.sleep(0.3)  # let the popup paint for the screenshot


def test_admin_lists_jurisdictions(driver):
    with artifacts_on_exit(driver, "onecity-console-admin"):
        login(driver)
        driver.get(f"{BASE_URL}/console/admin")
        choose_tenant(driver, "hangzhou")

        def loaded(d):
            if body_data(d, "tenant") != "hangzhou" or body_data(d, "adminReady") != "1":
                return False
            page_error = d.find_element(By.ID, "page-error")
            if page_error.is_displayed() and page_error.text:
                raise AssertionError(f"admin page error: {page_error.text}")
            return True

        wait_for(driver, loaded, what="admin tables of hangzhou")
        rows = driver.find_elements(By.CSS_SELECTOR, "#jurisdictions-table tbody tr[data-id]")
        assert len(rows) >= 1, "no jurisdictions listed for hangzhou"
        assert rows[0].text.strip()
