"""End-to-end test of the linkage plan editor (应急联动预案, /console/plans) in headless
Chromium, on the demo NYC tenant (flood plans with tasks for the emergency office,
police and transport). Runs against the server tests/browser/run.sh starts."""

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


def api_plans(drv):
    plans = drv.execute_async_script(
        "var done = arguments[0];"
        "window.onecity.api('/api/v1/tenants/nyc/governance/plans')"
        ".then(function (p) { done(p); }, function (e) { done(String(e)); });"
    )
    assert isinstance(plans, list), plans
    return {p["alert_type"] + "/" + p["level"]: p for p in plans}


def row(drv, key):
    return drv.find_element(By.CSS_SELECTOR, f"#plans-table tbody tr[data-key='{key}']")


def tasks(drv):
    return drv.find_elements(By.CSS_SELECTOR, "#plan-tasks li.plan-task")


def test_plan_editor_lists_creates_and_edits_plans(driver):
    with artifacts_on_exit(driver, "onecity-console-plans"):
        login(driver)
        driver.get(f"{BASE_URL}/console/plans?lang=en")
        choose_tenant(driver, "nyc")

        def ready(d):
            assert_no_page_error(d, "plans")
            return body_data(d, "tenant") == "nyc" and body_data(d, "plansReady") == "1"

        wait_for(driver, ready, what="plans of nyc")
        before = api_plans(driver)
        assert "flood/red" in before and "flood/yellow" not in before
        assert int(body_data(driver, "planCount")) == len(before)

        # Open the red flood plan: its three department tasks load into the form.
        row(driver, "flood/red").click()
        wait_for(driver, lambda d: len(tasks(d)) == 3, what="three tasks of the red plan")
        first = tasks(driver)[0]
        assert Select(first.find_element(By.CLASS_NAME, "task-department")).first_selected_option.get_attribute("value") == "NYC-OEM"
        assert first.find_element(By.CLASS_NAME, "task-hours").get_attribute("value") == "1"

        # New yellow plan: a blank task is refused in the page; remove it, then save.
        driver.find_element(By.ID, "plan-new").click()
        driver.find_element(By.ID, "plan-type").send_keys("flood")
        Select(driver.find_element(By.ID, "plan-level")).select_by_value("yellow")
        driver.find_element(By.ID, "plan-name").send_keys("Flood response level III 防汛IV级以上")
        t0 = tasks(driver)[0]
        Select(t0.find_element(By.CLASS_NAME, "task-department")).select_by_value("NYC-DEP")
        t0.find_element(By.CLASS_NAME, "task-title").send_keys("Clear catch basins 疏通雨水口")
        hours = t0.find_element(By.CLASS_NAME, "task-hours")
        hours.clear()
        hours.send_keys("6")
        driver.find_element(By.ID, "task-add").click()
        driver.find_element(By.ID, "plan-save").click()
        wait_for(driver, lambda d: d.find_element(By.ID, "plan-error").is_displayed(), what="blank task refused")
        assert "2: required" in driver.find_element(By.ID, "plan-error").text
        tasks(driver)[1].find_element(By.CLASS_NAME, "task-remove").click()
        driver.find_element(By.ID, "plan-save").click()
        wait_for(driver, lambda d: d.find_element(By.ID, "plan-status").is_displayed(), what="plan saved")
        wait_for(driver, lambda d: body_data(d, "planCount") == str(len(before) + 1), what="one more plan listed")
        saved = api_plans(driver)["flood/yellow"]
        assert saved["name"] == "Flood response level III 防汛IV级以上"
        assert saved["tasks"] == [{"department_code": "NYC-DEP", "title": "Clear catch basins 疏通雨水口", "deadline_hours": 6}]

        # Edit it: the deadline becomes 8 hours.
        row(driver, "flood/yellow").click()
        wait_for(driver, lambda d: d.find_element(By.ID, "plan-type").get_attribute("value") == "flood" and len(tasks(d)) == 1, what="yellow plan loaded")
        hours = tasks(driver)[0].find_element(By.CLASS_NAME, "task-hours")
        hours.clear()
        hours.send_keys("8")
        driver.find_element(By.ID, "plan-save").click()
        wait_for(driver, lambda d: api_plans(d)["flood/yellow"]["tasks"][0]["deadline_hours"] == 8, what="deadline edited")
        assert int(body_data(driver, "planCount")) == len(before) + 1, "replaced, not added"

        # Chinese page.
        driver.get(f"{BASE_URL}/console/plans?lang=zh")
        wait_for(driver, ready, what="plans of nyc (zh)")
        assert "预案" in driver.find_element(By.ID, "plans-heading").text
        assert "红色" in row(driver, "flood/red").text
