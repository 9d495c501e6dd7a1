"""End-to-end test of the assistant page (智能客服, /hall/assistant) at phone width (375 px)
on the demo tenant `hangzhou`, in Chinese and English: a citizen asks how to get the
newborn's birth certificate and sees the 出生医学证明 guide's link; asks something no guide
answers and sees the 12345 hand-off. Screenshots go to ONECITY_ARTIFACTS."""

from selenium.webdriver.common.by import By

from onecity_browser import BASE_URL, artifacts_on_exit, body_data, save_artifacts, wait_for


def assert_fits(drv, what):
    """The page is at most 375 px wide and does not scroll sideways."""
    width, scroll = drv.execute_script(
        "return [document.documentElement.clientWidth, document.documentElement.scrollWidth];"
    )
    assert width <= 375, f"{what}: viewport {width} px"
    assert scroll <= width, f"{what}: scrolls sideways ({scroll} > {width} px)"


def ask(drv, question):
    box = drv.find_element(By.ID, "assistant-question")
    box.clear()
    box.send_keys(question)
    drv.find_element(By.ID, "assistant-submit").click()
    wait_for(
        drv,
        lambda d: body_data(d, "assistantState") in ("found", "not-found", "error"),
        what=f"the reply to {question}",
    )
    return body_data(drv, "assistantState")


def test_assistant_answers_with_guides_and_hands_off_at_phone_width(driver):
    driver.set_window_size(375, 812)
    with artifacts_on_exit(driver, "onecity-assistant"):
        driver.get(f"{BASE_URL}/hall/assistant?tenant=hangzhou&lang=zh")
        wait_for(driver, lambda d: body_data(d, "assistantState") == "ready", what="assistant page")
        assert "智能客服" in driver.find_element(By.ID, "assistant-heading").text
        assert_fits(driver, "empty page")

        assert ask(driver, "怎么给宝宝办出生证明") == "found"
        answers = driver.find_elements(By.CSS_SELECTOR, "li.assistant-answer")
        assert answers, "no answers shown"
        first = answers[0]
        assert first.get_attribute("data-code") == "330100-20-WJW-001-000"
        link = first.find_element(By.CSS_SELECTOR, "a.assistant-guide")
        assert "出生医学证明" in link.text, link.text
        assert link.get_attribute("href").endswith(
            "/hall/items/330100-20-WJW-001-000#" + first.get_attribute("data-section").replace("_", "-")
        ), link.get_attribute("href")
        assert first.find_element(By.CSS_SELECTOR, ".assistant-snippet").text.strip()
        assert not driver.find_elements(By.CSS_SELECTOR, ".assistant-handoff")
        assert_fits(driver, "answer")
        save_artifacts(driver, "onecity-assistant-1-birth-zh")

        assert ask(driver, "怎么申请去月球旅游") == "not-found"
        handoff = driver.find_element(By.CSS_SELECTOR, ".assistant-handoff")
        assert "12345" in handoff.text, handoff.text
        hotline = driver.find_element(By.CSS_SELECTOR, "a.assistant-hotline")
        assert hotline.get_attribute("href") == "tel:12345"
        assert not driver.find_elements(By.CSS_SELECTOR, "li.assistant-answer")
        assert_fits(driver, "hand-off")
        save_artifacts(driver, "onecity-assistant-2-handoff-zh")

        driver.get(f"{BASE_URL}/hall/assistant?tenant=hangzhou&lang=en")
        wait_for(driver, lambda d: body_data(d, "assistantState") == "ready", what="English page")
        assert "Ask the service hall" in driver.find_element(By.ID, "assistant-heading").text
        assert ask(driver, "how do I get a birth certificate for my baby") == "found"
        first = driver.find_elements(By.CSS_SELECTOR, "li.assistant-answer")[0]
        assert first.get_attribute("data-code") == "330100-20-WJW-001-000"
        assert "Medical Certificate of Birth" in first.find_element(By.CSS_SELECTOR, "a.assistant-guide").text
        save_artifacts(driver, "onecity-assistant-3-birth-en")

        assert ask(driver, "what time does the library close") == "not-found"
        assert "12345" in driver.find_element(By.CSS_SELECTOR, ".assistant-handoff").text
        assert_fits(driver, "English hand-off")
        save_artifacts(driver, "onecity-assistant-4-handoff-en")
