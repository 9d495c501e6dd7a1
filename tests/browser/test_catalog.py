"""Open-data portal (开放数据门户, public) and staff catalog admin (数据目录管理) in headless
Chromium against the demo (Hangzhou's catalog: harvested real catalogues plus the city's
own datasets; see crates/onecity-catalog/src/harvest.rs)."""

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


def wait_portal(drv):
    wait_for(drv, lambda d: body_data(d, "portalReady") == "1", what="portal ready")
    assert_no_page_error(drv, "portal")


def test_portal_search_facets_and_dataset_page(driver):
    with artifacts_on_exit(driver, "onecity-portal"):
        # Public: no token, no redirect to login; Chinese labels.
        driver.get(f"{BASE_URL}/portal?lang=zh")
        wait_portal(driver)
        assert driver.current_url.startswith(f"{BASE_URL}/portal")
        assert "开放数据门户" in driver.title
        total = int(body_data(driver, "portalCount"))
        assert total >= 18
        # Closed datasets are not listed.
        assert "常住人口基础信息" not in driver.find_element(By.ID, "portal-results").text
        # A Chinese word finds the city's bus dataset.
        box = driver.find_element(By.ID, "portal-q")
        box.send_keys("公交")
        driver.find_element(By.ID, "portal-submit").click()
        wait_for(driver, lambda d: "q=" in d.current_url and body_data(d, "portalReady") == "1", what="search results")
        assert body_data(driver, "portalCount") == "1"
        item = driver.find_element(By.CSS_SELECTOR, "#portal-results li.dataset")
        assert item.get_attribute("data-name") == "hang-zhou-shi-gong-jiao-xian-lu-yu-zhan-dian"
        assert "杭州市公交线路与站点" in item.text
        # The dataset page: metadata, resources, API help.
        item.find_element(By.TAG_NAME, "a").click()
        wait_for(driver, lambda d: "dataset=" in d.current_url and body_data(d, "portalReady") == "1", what="dataset page")
        detail = driver.find_element(By.ID, "dataset-detail")
        assert detail.is_displayed()
        assert driver.find_element(By.ID, "dataset-title").text == "杭州市公交线路与站点"
        assert "CSV" in driver.find_element(By.ID, "dataset-resources").text
        help_text = driver.find_element(By.ID, "api-help").text
        assert "/api/3/action/package_show?id=hang-zhou-shi-gong-jiao-xian-lu-yu-zhan-dian" in help_text
        assert "datastore_search?resource_id=" in help_text
        # A dataset with a datastore table (the real NYC COVID CSV): preview and CSV download.
        driver.get(f"{BASE_URL}/portal?lang=en&dataset=nyc-covid-by-modzcta")
        wait_portal(driver)
        assert driver.find_element(By.ID, "dataset-previews").get_attribute("data-previews") == "1"
        table = driver.find_element(By.CSS_SELECTOR, ".dataset-preview table.preview-table")
        heads = [th.text for th in table.find_elements(By.TAG_NAME, "th")]
        assert heads[:3] == ["MODIFIED_ZCTA", "NEIGHBORHOOD_NAME", "BOROUGH_GROUP"], heads
        rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert len(rows) == 10
        assert "Chelsea/NoMad/West Chelsea" in rows[0].text
        link = driver.find_element(By.CSS_SELECTOR, ".dataset-preview a.preview-download")
        assert link.get_attribute("href").endswith("/datastore/dump/" + table.find_element(By.XPATH, "..").get_attribute("data-resource"))
        assert "(177)" in link.text
        # A non-ASCII tag facet filters (German harvested keyword).
        driver.get(f"{BASE_URL}/portal?lang=en&q=gastronomie")
        wait_portal(driver)
        assert body_data(driver, "portalCount") == "1"
        tag = driver.find_element(By.CSS_SELECTOR, "ul.facet[data-facet='tags'] a[data-value='ökonomie']")
        tag.click()
        wait_for(driver, lambda d: "fq=" in d.current_url and body_data(d, "portalReady") == "1", what="facet filter")
        assert body_data(driver, "portalCount") == "1"
        assert "Liefer- und Abholservices" in driver.find_element(By.ID, "portal-results").text


def test_catalog_admin_lists_and_creates(driver):
    with artifacts_on_exit(driver, "onecity-catalog-admin"):
        login(driver)
        driver.get(f"{BASE_URL}/console/catalog?lang=zh")
        wait_for(driver, lambda d: body_data(d, "catalogReady") == "1" and body_data(d, "tenant"), what="catalog page")
        if body_data(driver, "tenant") != "hangzhou":
            choose_tenant(driver, "hangzhou")
        wait_for(driver, lambda d: body_data(d, "tenant") == "hangzhou" and body_data(d, "catalogReady") == "1", what="catalog table")
        assert_no_page_error(driver, "catalog")
        table = driver.find_element(By.ID, "catalog-table").text
        # Staff see the closed P-domain dataset too.
        assert "常住人口基础信息" in table and "不予开放" in table
        before = int(body_data(driver, "catalogCount"))
        form = driver.find_element(By.ID, "catalog-form")
        form.find_element(By.NAME, "title").send_keys("西湖区停车泊位")
        form.find_element(By.NAME, "tags").send_keys("停车，交通")
        driver.find_element(By.ID, "catalog-submit").click()
        wait_for(driver, lambda d: d.find_element(By.ID, "catalog-form-ok").is_displayed(), what="created message")
        assert "xi-hu-qu-ting-che-bo-wei" in driver.find_element(By.ID, "catalog-form-ok").text
        wait_for(driver, lambda d: body_data(d, "catalogCount") == str(before + 1), what="one more dataset")
        assert "西湖区停车泊位" in driver.find_element(By.ID, "catalog-table").text
