"""End-to-end test of the governance statistics page (一网统管 统计分析, /console/stats)
in headless Chromium, on the demo NYC tenant (the 999 real 311 requests imported at
start). Runs against the server tests/browser/run.sh starts."""

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


def test_statistics_page_totals_table_and_chart(driver):
    with artifacts_on_exit(driver, "onecity-console-stats"):
        login(driver)
        # March 2011 in UTC days (the real sample's requests are all in March 2011).
        driver.get(f"{BASE_URL}/console/stats?lang=en&from=2011-03-01&to=2011-04-02")
        choose_tenant(driver, "nyc")

        def ready(d):
            assert_no_page_error(d, "stats")
            return body_data(d, "tenant") == "nyc" and body_data(d, "statsReady") == "1"

        wait_for(driver, ready, what="statistics of nyc")
        # The page shows what the API computes for the same period.
        api = driver.execute_async_script(
            "var done = arguments[0];"
            "window.onecity.api('/api/v1/tenants/nyc/governance/stats?from=2011-03-01T00:00:00Z&to=2011-04-02T00:00:00Z')"
            ".then(function (s) { done(s); }, function (e) { done(String(e)); });"
        )
        assert isinstance(api, dict), api
        assert int(body_data(driver, "statsEvents")) == api["total"]["events"]
        assert api["total"]["events"] >= 998, "the real March 2011 requests"
        total = driver.find_element(By.ID, "stats-total").text
        assert "Repeat rate" in total and "On-time rate" in total
        # Hot spots: one bar and one row per grid, most events first.
        hot = api["hot_spots"]
        assert hot, "the demo places events in grids"
        assert int(body_data(driver, "hotBars")) == len(hot)
        bars = driver.find_elements(By.CSS_SELECTOR, "#hot-chart rect.hot-bar")
        assert [int(b.get_attribute("data-events")) for b in bars] == [h["events"] for h in hot]
        rows = driver.find_elements(By.CSS_SELECTOR, "#hot-table tbody tr")
        assert [r.get_attribute("data-key") for r in rows] == [h["key"] for h in hot]
        cats = driver.find_elements(By.CSS_SELECTOR, "#cat-table tbody tr")
        assert len(cats) == len(api["by_category"]) and cats
        assert sum(int(r.find_elements(By.TAG_NAME, "td")[1].text) for r in cats) == api["total"]["events"]

        # Chinese page: labels in Chinese first.
        driver.get(f"{BASE_URL}/console/stats?lang=zh&from=2011-03-01&to=2011-04-02")
        wait_for(driver, ready, what="statistics of nyc (zh)")
        assert "统计分析" in driver.find_element(By.ID, "stats-heading").text
        assert "重复率" in driver.find_element(By.ID, "stats-total").text
