"""The digital twin console page (/console/twin) in headless Chromium, on the demo server:
the demo loads the first window of the real series into NGSI-LD tenant `hangzhou`
(onecity_twin::replay::DEMO_WINDOWS), so the page lists the 80 Hangzhou metro stations,
shows an entity's attributes and charts its inflow history: 18 ten-minute slots of
2019-01-01 and the 12 of 2019-01-22 the brain's demo replays (onecity_brain::service::demo)."""

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from onecity_browser import BASE_URL, MAP_TIMEOUT, artifacts_on_exit, body_data, login, wait_for


def test_twin_browser_attributes_and_history(driver):
    with artifacts_on_exit(driver, "onecity-console-twin"):
        login(driver)
        driver.get(BASE_URL + "/console/twin")
        wait_for(driver, lambda d: body_data(d, "twinReady") == "1", timeout=MAP_TIMEOUT, what="twin page")
        err = driver.find_element(By.ID, "page-error")
        assert not (err.is_displayed() and err.text), err.text
        Select(driver.find_element(By.ID, "twin-type")).select_by_value("MetroStationFlow")
        driver.find_element(By.CSS_SELECTOR, "#twin-filter button").click()
        wait_for(driver, lambda d: body_data(d, "twinCount") == "80", what="80 metro stations")
        driver.find_element(By.CSS_SELECTOR, "#twin-list a[data-id='urn:ngsi-ld:MetroStationFlow:HZ-0']").click()
        wait_for(driver, lambda d: body_data(d, "historyPoints") == "30", what="30 history points")
        attrs = driver.find_element(By.ID, "twin-attrs").text
        assert "inflow" in attrs and "placed" in attrs, attrs
        assert driver.find_elements(By.CSS_SELECTOR, "#twin-history polyline")
