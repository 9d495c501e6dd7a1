"""End-to-end test of the event console and dispatch desk (一网统管 事件与派单,
/console/events) in headless Chromium, on the demo NYC tenant (the 999 real 311
requests imported at start). Runs against the server tests/browser/run.sh starts."""

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from onecity_browser import (
    BASE_URL,
    artifacts_on_exit,
    assert_no_page_error,
    body_data,
    choose_tenant,
    login,
    wait_for,
)


def rows(drv):
    return drv.find_elements(By.CSS_SELECTOR, "#events-table tbody tr[data-id]")


def test_event_console_filters_and_dispatch(driver):
    with artifacts_on_exit(driver, "onecity-console-events"):
        login(driver)
        driver.get(f"{BASE_URL}/console/events?lang=en")
        choose_tenant(driver, "nyc")

        def ready(d):
            assert_no_page_error(d, "events")
            return body_data(d, "tenant") == "nyc" and body_data(d, "eventsReady") == "1"

        wait_for(driver, ready, what="events of nyc")
        assert int(body_data(driver, "eventCount")) == 100, "a first page of 100 events"
        # Rows with coordinates are drawn on the map (294 of the 999 have none).
        assert int(body_data(driver, "eventPoints")) > 0
        assert driver.execute_script("return !!window.onecityEventsMap.getSource('events');")

        # Filter: open events only (10 in the real sample: 5 Assigned + 5 Pending).
        Select(driver.find_element(By.ID, "filter-status")).select_by_value("open")
        wait_for(driver, lambda d: body_data(d, "eventCount") == "10", what="10 open events")
        assert all("Open" in r.text for r in rows(driver))

        # Select one: its facts and history (imported) show.
        first = rows(driver)[0]
        event_id = first.get_attribute("data-id")
        first.click()
        wait_for(
            driver,
            lambda d: d.find_element(By.ID, "event-detail").is_displayed()
            and d.find_elements(By.CSS_SELECTOR, "#event-history li[data-kind='import']"),
            what="event detail with its history",
        )
        assert body_data(driver, "selected") == event_id
        assert "America/New_York" in driver.find_element(By.ID, "event-meta").text

        # Dispatch desk: a reason is required; then re-dispatch to Emergency Management.
        driver.find_element(By.ID, "dispatch-submit").click()
        wait_for(driver, lambda d: d.find_element(By.ID, "event-error").is_displayed(), what="reason required")
        dept = Select(driver.find_element(By.ID, "dispatch-department"))
        target = next(o for o in dept.options if "NYC-OEM" in o.text)
        dept.select_by_value(target.get_attribute("value"))
        driver.find_element(By.ID, "dispatch-reason").send_keys("退单 returned: needs the emergency office")
        driver.find_element(By.ID, "dispatch-submit").click()
        wait_for(
            driver,
            lambda d: d.find_element(By.ID, "event-status").is_displayed()
            and d.find_elements(By.CSS_SELECTOR, "#event-history li[data-kind='dispatch']"),
            what="dispatched, with the dispatch in the history",
        )
        assert "Emergency Management" in driver.find_element(By.ID, "event-meta").text

        # Work-order view: the dispatch opened (or moved) the event's work order; its
        # state, queue and history show under the event.
        wait_for(
            driver,
            lambda d: d.find_element(By.ID, "work-order").is_displayed()
            and d.find_elements(By.CSS_SELECTOR, "#wo-history li[data-action='CREATE']"),
            what="work order with its history",
        )
        assert body_data(driver, "workOrder") != ""
        assert "Emergency Management" in driver.find_element(By.ID, "wo-meta").text
