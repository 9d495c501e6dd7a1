"""End-to-end test of the data exchange dashboard (数据交换, /console/exchange) in headless
Chromium.

Setup goes through the JSON API: `admin` creates an open datastore table in tenant
hangzhou (CKAN datastore_create) and it is read three times anonymously (CKAN
datastore_search), which writes three exchange records. The dashboard must show that
dataset's row with three calls, in Chinese and in English. Runs against the server
tests/browser/run.sh starts.
"""

import secrets

from selenium.webdriver.common.by import By

from onecity_browser import (
    BASE_URL,
    admin_token,
    api,
    artifacts_on_exit,
    assert_no_page_error,
    body_data,
    choose_tenant,
    login,
    wait_for,
)

TENANT = "hangzhou"


def test_exchange_dashboard_shows_calls_per_dataset(driver):
    admin = admin_token()
    # Datastore tables belong to catalog resources: an open dataset of the data bureau first.
    _, pkg = api(
        "POST",
        "/api/3/action/package_create",
        {
            "name": f"e2e-exchange-{secrets.token_hex(4)}",
            "title": "区县人口 District population",
            "owner_org": "hz-sjj",
            "resources": [{"name": "人口表", "url": "https://data.example.cn/pop.csv", "format": "CSV"}],
        },
        token=admin,
        expect=(200,),
    )
    rid = pkg["result"]["resources"][0]["id"]
    api(
        "POST",
        "/api/3/action/datastore_create",
        {
            "resource_id": rid,
            "tenant": TENANT,
            "public": True,
            "records": [{"区县": "西湖区", "人口": 1162900}, {"区县": "上城区", "人口": 1323000}],
        },
        token=admin,
        expect=(200,),
    )
    for _ in range(3):
        _, body = api("POST", "/api/3/action/datastore_search", {"resource_id": rid}, expect=(200,))
        assert body["result"]["total"] == 2

    with artifacts_on_exit(driver, "exchange"):
        login(driver)
        for lang, heading in (("zh", "数据交换 Data exchange"), ("en", "Data exchange 数据交换")):
            driver.get(f"{BASE_URL}/console/exchange?lang={lang}")
            choose_tenant(driver, TENANT)
            wait_for(
                driver,
                lambda d: body_data(d, "tenant") == TENANT and body_data(d, "exchangeReady") == "1",
                what="exchange statistics",
            )
            assert_no_page_error(driver, "exchange")
            assert driver.find_element(By.ID, "exchange-heading").text == heading
            rows = driver.find_elements(By.CSS_SELECTOR, f"#exchange-table tbody tr[data-resource='{rid}']")
            assert len(rows) == 1, f"{len(rows)} rows for {rid}"
            cells = [c.text for c in rows[0].find_elements(By.TAG_NAME, "td")]
            assert cells[1] == rid
            assert cells[2] == "–"  # anonymous readers have no department
            assert cells[4] == "3" and cells[5] == "0" and cells[6] == "6", cells
            assert int(driver.find_element(By.ID, "sum-calls").text) >= 3
