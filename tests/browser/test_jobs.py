"""End-to-end test of the jobs page (作业, /console/jobs) in headless Chromium.

As the platform admin: the page lists the platform's jobs (the SLA scan among them, with
its schedule), runs the built-in `ops.probe` job with the "Run now" button, and shows that
job's run history with a duration and the outcome, in Chinese and in English. Runs
against the server tests/browser/run.sh starts.
"""

from selenium.webdriver.common.by import By

from onecity_browser import (
    BASE_URL,
    admin_token,
    api,
    assert_no_page_error,
    body_data,
    login,
    save_artifacts,
    wait_for,
)

LABELS = {
    "zh": {"heading": "作业 Jobs", "history": "运行历史 Run history", "ok": "成功", "manual": "手动", "run": "立即运行"},
    "en": {"heading": "Jobs 作业", "history": "Run history 运行历史", "ok": "ok", "manual": "manual", "run": "Run now"},
}


def visible(el):
    return el.is_displayed() and el.size["width"] > 0 and el.size["height"] > 0


def test_jobs_page_lists_jobs_and_runs_one_with_its_history(driver):
    token = admin_token()
    _, jobs = api("GET", "/api/v1/jobs", token=token, expect=(200,))
    names = {j["name"] for j in jobs["items"]}
    assert {"flow.sla_scan", "audit.anchor", "ops.probe"} <= names, names
    login(driver)
    for lang, label in LABELS.items():
        driver.get(f"{BASE_URL}/console/jobs?lang={lang}")
        wait_for(driver, lambda d: body_data(d, "jobsReady") == "1", what="jobs list")
        assert_no_page_error(driver, f"jobs {lang}")
        assert driver.find_element(By.ID, "jobs-heading").text == label["heading"]
        table = driver.find_element(By.ID, "jobs-table")
        assert visible(table)
        sla = driver.find_element(By.CSS_SELECTOR, "#jobs-table tr[data-job='flow.sla_scan']")
        cells = [c.text for c in sla.find_elements(By.TAG_NAME, "td")]
        assert cells[0].startswith("flow.sla_scan"), cells
        assert cells[1] == "every 5 s", cells
        # Run the probe with the button; its history is then shown.
        before = len(api("GET", "/api/v1/jobs/ops.probe/runs?limit=500", token=token, expect=(200,))[1]["items"])
        button = driver.find_element(By.CSS_SELECTOR, "button[data-run-job='ops.probe']")
        assert button.text == label["run"]
        button.click()
        wait_for(
            driver,
            lambda d: body_data(d, "runsJob") == "ops.probe"
            and body_data(d, "runsReady") == "1"
            and int(body_data(d, "runsCount") or "0") == before + 1,
            what="the probe's run history",
        )
        assert_no_page_error(driver, f"jobs run {lang}")
        assert driver.find_element(By.ID, "runs-heading").text.startswith(label["history"])
        newest = driver.find_element(By.CSS_SELECTOR, "#runs-table tbody tr[data-run]")
        assert newest.get_attribute("data-outcome") == "ok"
        cells = [c.text for c in newest.find_elements(By.TAG_NAME, "td")]
        assert cells[0].startswith("manual:"), cells
        assert cells[1] == "1" and cells[2] == label["manual"], cells
        assert cells[5].isdigit(), f"duration in ms: {cells}"
        assert cells[6] == label["ok"], cells
        assert cells[7].startswith("ping_us="), cells
        assert visible(driver.find_element(By.ID, "runs-table"))
        row = driver.find_element(By.CSS_SELECTOR, "#jobs-table tr[data-job='ops.probe']")
        assert label["ok"] in [c.text for c in row.find_elements(By.TAG_NAME, "td")]
        save_artifacts(driver, f"onecity-jobs-{lang}")
