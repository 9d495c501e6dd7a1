"""End-to-end test of the public service hall (网上办事大厅, issue 14) on the demo tenant
`hangzhou`, without signing in: the citizen home's first tile leads to the hall; a search
finds 出生医学证明; browsing by life event (出生) and by department narrows the list; the
出生医学证明 guide opens in Chinese and in English with its time limit, the materials the
government already holds marked 免提交, and the legal basis; all at phone width (375 px)
and at 1280 px. Screenshots go to ONECITY_ARTIFACTS."""

from selenium.webdriver.common.by import By

from onecity_browser import (
    BASE_URL,
    api,
    artifacts_on_exit,
    assert_no_page_error,
    body_data,
    save_artifacts,
    wait_for,
)

BIRTH = "330100-20-WJW-001-000"


def assert_fits(drv, what):
    """The page does not scroll sideways."""
    width, scroll = drv.execute_script(
        "return [document.documentElement.clientWidth, document.documentElement.scrollWidth];"
    )
    assert scroll <= width, f"{what}: scrolls sideways ({scroll} > {width} px)"


def ready(drv, what):
    wait_for(drv, lambda d: body_data(d, "hallReady") == "1", what=what)
    assert_no_page_error(drv, what)


def result_codes(drv):
    return [li.get_attribute("data-code") for li in drv.find_elements(By.CSS_SELECTOR, "#hall-results li.hall-item")]


def published_count():
    _, tenants = api("GET", "/api/v1/services/tenants", expect=(200,))
    return next(t["items"] for t in tenants if t["code"] == "hangzhou")


def hall_flow(drv, width, lang):
    tag = f"{width}-{lang}"
    drv.set_window_size(width, 900)
    total = published_count()
    assert total >= 40

    # The citizen home: the hall is the first tile.
    drv.get(f"{BASE_URL}/citizen?lang={lang}")
    ready(drv, "citizen home")
    tiles = drv.find_elements(By.CSS_SELECTOR, ".tiles a.tile")
    assert tiles[0].get_attribute("id") == "tile-hall"
    assert str(total) in drv.find_element(By.ID, "tile-hall-count").text
    assert_fits(drv, "citizen home")
    save_artifacts(drv, f"onecity-hall-{tag}-0-home")
    tiles[0].click()

    # The hall lists every published item.
    wait_for(drv, lambda d: d.current_url.split("?")[0].endswith("/hall"), what="hall")
    ready(drv, "hall")
    assert body_data(drv, "hallCount") == str(total)
    assert_fits(drv, "hall")
    save_artifacts(drv, f"onecity-hall-{tag}-1-all")

    # Search.
    box = drv.find_element(By.ID, "hall-q")
    box.clear()
    box.send_keys("出生医学证明" if lang == "zh" else "birth")
    drv.find_element(By.ID, "hall-submit").click()
    wait_for(drv, lambda d: "q=" in d.current_url and body_data(d, "hallReady") == "1", what="search")
    ready(drv, "search")
    codes = result_codes(drv)
    assert BIRTH in codes, codes
    assert len(codes) < total
    save_artifacts(drv, f"onecity-hall-{tag}-2-search")

    # Browse by life event: 出生 / birth.
    drv.get(f"{BASE_URL}/hall?lang={lang}")
    ready(drv, "hall again")
    drv.find_element(By.CSS_SELECTOR, "#hall-events a[data-life-event='birth']").click()
    wait_for(drv, lambda d: "life_event=birth" in d.current_url and body_data(d, "hallReady") == "1", what="birth")
    ready(drv, "life event")
    birth_codes = result_codes(drv)
    assert BIRTH in birth_codes and "330100-07-GAJ-001-000" in birth_codes, birth_codes
    assert all(c for c in birth_codes)
    assert ("出生" if lang == "zh" else "birth") in drv.find_element(By.ID, "hall-active-text").text
    assert_fits(drv, "life event")
    save_artifacts(drv, f"onecity-hall-{tag}-3-birth")

    # Browse by department: the health commission (the list starts folded at phone width).
    box = drv.find_element(By.ID, "hall-depts-box")
    assert (box.get_attribute("open") is not None) == (width > 720)
    if box.get_attribute("open") is None:
        box.find_element(By.TAG_NAME, "summary").click()
    drv.find_element(By.CSS_SELECTOR, "#hall-depts a[data-department='HZ-WJW']").click()
    wait_for(drv, lambda d: "department=HZ-WJW" in d.current_url and body_data(d, "hallReady") == "1", what="department")
    ready(drv, "department")
    dept_codes = result_codes(drv)
    assert dept_codes and all("-WJW-" in c for c in dept_codes), dept_codes

    # The guide.
    drv.find_element(By.CSS_SELECTOR, f"#hall-results li[data-code='{BIRTH}'] a").click()
    wait_for(drv, lambda d: f"/hall/items/{BIRTH}" in d.current_url, what="guide page")
    ready(drv, "guide")
    guide = drv.find_element(By.ID, "guide")
    assert guide.get_attribute("data-code") == BIRTH
    assert guide.get_attribute("data-version") == "1"
    title = drv.find_element(By.ID, "guide-title").text
    promised = drv.find_element(By.ID, "guide-promised").text
    materials = drv.find_element(By.ID, "guide-materials").text
    basis = drv.find_element(By.ID, "guide-basis").text
    version = drv.find_element(By.ID, "guide-version").text
    if lang == "zh":
        assert title == "出生医学证明首次签发"
        assert promised.startswith("承诺时限 3 个工作日：今天"), promised
        assert "无需提交（免提交）" in materials
        assert "《中华人民共和国母婴保健法》第二十三条" in basis
        assert "第 1 版" in version
    else:
        assert title == "Medical Certificate of Birth (first issue)"
        assert promised.startswith("Promised time limit 3 working days: applied today"), promised
        assert "No need to submit" in materials
        assert "Maternal and Infant Health Care, Article 23" in basis
        assert "version 1" in version
    assert drv.find_element(By.ID, "guide-print").is_displayed()
    assert_fits(drv, "guide")
    save_artifacts(drv, f"onecity-hall-{tag}-4-guide")
    # The whole guide, as far as the page is long.
    height = drv.execute_script("return document.documentElement.scrollHeight;")
    drv.set_window_size(width, min(max(height + 120, 900), 6000))
    save_artifacts(drv, f"onecity-hall-{tag}-5-guide-full")
    drv.set_window_size(width, 900)


def test_hall_at_phone_width_in_chinese(driver):
    with artifacts_on_exit(driver, "onecity-hall-375-zh"):
        hall_flow(driver, 375, "zh")


def test_hall_at_phone_width_in_english(driver):
    with artifacts_on_exit(driver, "onecity-hall-375-en"):
        hall_flow(driver, 375, "en")


def test_hall_at_desktop_width(driver):
    with artifacts_on_exit(driver, "onecity-hall-1280"):
        hall_flow(driver, 1280, "zh")
        hall_flow(driver, 1280, "en")


def test_guide_prints_without_the_page_chrome(driver):
    """The print stylesheet hides the top bar and the tools; the guide stays."""
    driver.set_window_size(1280, 900)
    driver.get(f"{BASE_URL}/hall/items/{BIRTH}?lang=zh")
    ready(driver, "guide")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not driver.find_element(By.CSS_SELECTOR, "header.topbar").is_displayed()
        assert not driver.find_element(By.ID, "guide-print").is_displayed()
        assert driver.find_element(By.ID, "guide-title").is_displayed()
        assert driver.find_element(By.ID, "guide-basis").is_displayed()
        save_artifacts(driver, "onecity-hall-print")
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
