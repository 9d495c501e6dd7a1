"""The metro station pages (城市大脑 地铁客流预测, /console/brain/stations and
/console/brain/stations/{id}) in headless Chromium, on the demo server: the demo imports
the 80 Hangzhou stations, replays 2019-01-22 06:00-08:00 and forecasts 08:00-09:00
(onecity_brain::service::demo). The station page charts the 80 % and 95 % bands over the
actual flow and shows the evacuation advice panel ("no advice" while the advice API
answers 404). Runs against the server tests/browser/run.sh starts."""

from selenium.webdriver.common.by import By

from onecity_browser import (
    BASE_URL,
    artifacts_on_exit,
    assert_no_page_error,
    body_data,
    choose_tenant,
    login,
    wait_for,
)


def visible_size(drv, element_id):
    el = drv.find_element(By.ID, element_id)
    assert el.is_displayed(), element_id
    return el.size["width"], el.size["height"]


def test_station_list_and_forecast_chart_in_both_languages(driver):
    with artifacts_on_exit(driver, "onecity-console-station"):
        login(driver)
        for lang, heading, advice_none in (
            ("en", "Metro passenger-flow forecasts", "No advice"),
            ("zh", "地铁客流预测", "无建议"),
        ):
            driver.get(f"{BASE_URL}/console/brain/stations?lang={lang}")
            choose_tenant(driver, "hangzhou")

            def listed(d):
                assert_no_page_error(d, "stations")
                return body_data(d, "stationsReady") == "1" and body_data(d, "stationsCount") == "80"

            wait_for(driver, listed, what=f"80 stations ({lang})")
            assert heading in driver.find_element(By.ID, "stations-heading").text
            w, h = visible_size(driver, "stations-table")
            assert w > 0 and h > 0
            rows = driver.find_elements(By.CSS_SELECTOR, "#stations-table tbody tr")
            assert len(rows) == 80
            # Every demo station has a forecast for 08:00 Beijing time.
            assert "2019-01-22 08:00" in rows[12].text, rows[12].text
            driver.save_screenshot(f"{_artifacts()}/onecity-stations-{lang}.png")

            rows[12].find_element(By.TAG_NAME, "a").click()

            def charted(d):
                assert_no_page_error(d, "station")
                return body_data(d, "stationReady") == "1"

            wait_for(driver, charted, what=f"station HZ-12 ({lang})")
            assert driver.current_url.split("?")[0].endswith("/console/brain/stations/HZ-12")
            assert body_data(driver, "bandPoints") == "6"
            assert int(body_data(driver, "actualPoints")) >= 12, body_data(driver, "actualPoints")
            w, h = visible_size(driver, "station-chart")
            assert w > 300 and h > 100, (w, h)
            for band in ("band80", "band95", "actual-line", "forecast-line"):
                el = driver.find_element(By.ID, band)
                r = el.rect
                assert r["width"] > 0 and r["height"] > 0, (band, r)
            rows = driver.find_elements(By.CSS_SELECTOR, "#forecast-table tbody tr")
            assert len(rows) == 6
            # The advice API is another part's: without it the panel says "no advice".
            assert body_data(driver, "advice") in ("none", "shown"), body_data(driver, "advice")
            if body_data(driver, "advice") == "none":
                assert advice_none in driver.find_element(By.ID, "advice").text
            driver.save_screenshot(f"{_artifacts()}/onecity-station-HZ-12-{lang}.png")


def _artifacts():
    import onecity_browser

    return onecity_browser.ARTIFACTS
