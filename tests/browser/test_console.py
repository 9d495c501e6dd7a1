"""End-to-end tests of the onecity web console in headless Chromium.

Needs a running server with the demo data (tests/browser/run.sh starts one):
  ONECITY_URL             base URL, e.g. http://127.0.0.1:8080
  ONECITY_ADMIN_PASSWORD  password of the `admin` user
  ONECITY_ARTIFACTS       where screenshots and browser logs go (default /tmp)
Uses Debian's chromium and chromedriver (/usr/bin); selenium-manager downloads nothing.
The `driver` fixture is in conftest.py, shared helpers in onecity_browser.py.
"""

import time

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from onecity_browser import (
    BASE_URL,
    MAP_TIMEOUT,
    artifacts_on_exit,
    body_data,
    choose_tenant,
    login,
    wait_for,
)

# Layer ids of crates/onecity-web/assets/js/map.js.
BOUNDARY_FILL_LAYER = "boundaries-fill"


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
