"""End-to-end test of the citizen pages at phone width (375 px): a citizen registers on
/citizen/register with a one-time code read from the local SMS receiver
(tests/browser/sms_receiver.py, which run.sh starts and names in ONECITY_SMS_RECEIVER),
reaches real-name level `substantial` on /citizen/real-name (a wrong check digit is
refused first), and registers a company on /citizen/companies, on the demo tenant
`hangzhou`. Screenshots go to ONECITY_ARTIFACTS."""

import json
import os
import random
import re
import time
import urllib.request

from selenium.webdriver.common.by import By

from onecity_browser import BASE_URL, artifacts_on_exit, body_data, save_artifacts, wait_for

RECEIVER = os.environ.get("ONECITY_SMS_RECEIVER", "")


def messages():
    with urllib.request.urlopen(f"{RECEIVER}/messages", timeout=10) as r:
        return json.loads(r.read())


def code_for(to, after):
    """The 6-digit code of the first message to `to` after the first `after` messages."""
    deadline = time.time() + 15
    while time.time() < deadline:
        for m in messages()[after:]:
            if m["to"] == to:
                found = re.search(r"\d{6}", m["text"])
                assert found, m
                return found.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no SMS to {to}")


def assert_fits(drv, what):
    """The page is at most 375 px wide and does not scroll sideways."""
    width, scroll = drv.execute_script(
        "return [document.documentElement.clientWidth, document.documentElement.scrollWidth];"
    )
    assert width <= 375, f"{what}: viewport {width} px"
    assert scroll <= width, f"{what}: scrolls sideways ({scroll} > {width} px)"


def test_citizen_registers_at_phone_width_and_reaches_real_name(driver):
    assert RECEIVER, "ONECITY_SMS_RECEIVER is not set (run through tests/browser/run.sh)"
    driver.set_window_size(375, 812)
    phone = "139" + "".join(random.choice("0123456789") for _ in range(8))
    with artifacts_on_exit(driver, "onecity-citizen"):
        driver.get(f"{BASE_URL}/citizen/register?tenant=hangzhou&lang=zh")
        wait_for(driver, lambda d: body_data(d, "citizenReady") == "1", what="register page")
        assert "注册" in driver.find_element(By.ID, "citizen-heading").text
        assert driver.find_element(By.ID, "citizen-tenant").get_attribute("value") == "hangzhou"
        assert_fits(driver, "register")
        seen = len(messages())
        driver.find_element(By.ID, "phone").send_keys(phone)
        driver.find_element(By.ID, "send-code").click()
        wait_for(driver, lambda d: body_data(d, "codeSent") == "1", what="code sent")
        sent = driver.find_element(By.ID, "code-sent").text
        assert phone[-4:] in sent and "验证码已发送" in sent, sent
        code = code_for(f"+86{phone}", seen)
        driver.find_element(By.ID, "code").send_keys(code)
        save_artifacts(driver, "onecity-citizen-1-code")
        driver.find_element(By.ID, "register-submit").click()

        # Signed in at level low, on the real-name page.
        wait_for(
            driver,
            lambda d: "/citizen/real-name" in d.current_url and body_data(d, "level") == "low",
            what="real-name page at level low",
        )
        assert_fits(driver, "real-name")
        assert "低" in driver.find_element(By.ID, "assurance-level").text
        save_artifacts(driver, "onecity-citizen-2-low")

        # A wrong check digit is refused with the server's message (zh and en).
        driver.find_element(By.ID, "real-name").send_keys("李四")
        idn = driver.find_element(By.ID, "id-number")
        idn.send_keys("440308199003070026")
        driver.find_element(By.ID, "real-name-submit").click()
        error = driver.find_element(By.ID, "real-name-error")
        wait_for(driver, lambda d: error.is_displayed() and error.text, what="check digit error")
        assert "校验码错误" in error.text and "check digit" in error.text, error.text
        save_artifacts(driver, "onecity-citizen-3-wrong-check-digit")

        idn.clear()
        idn.send_keys("440308199003070021")
        driver.find_element(By.ID, "real-name-submit").click()
        wait_for(driver, lambda d: body_data(d, "level") == "substantial", what="level substantial")
        assert driver.find_element(By.ID, "rn-id").text == "440308********0021"
        assert "较高" in driver.find_element(By.ID, "assurance-level").text
        assert_fits(driver, "real-name done")
        save_artifacts(driver, "onecity-citizen-4-substantial")
        me = driver.execute_async_script(
            "var done = arguments[0];"
            "window.onecity.api('/api/v1/auth/me').then(done, function (e) { done(String(e)); });"
        )
        assert me["kind"] == "citizen" and me["assurance"] == "substantial", me

        # The companies page: a wrong credit code is refused, a right one opens mandates.
        driver.find_element(By.ID, "to-companies").click()
        wait_for(driver, lambda d: body_data(d, "citizenReady") == "1" and "/citizen/companies" in d.current_url,
                 what="companies page")
        assert_fits(driver, "companies")
        code_input = driver.find_element(By.ID, "credit-code")
        code_input.send_keys("91350100M000100Y44")
        driver.find_element(By.ID, "company-name").send_keys("杭州示例科技有限公司")
        driver.find_element(By.ID, "company-submit").click()
        error = driver.find_element(By.ID, "company-error")
        wait_for(driver, lambda d: error.is_displayed() and error.text, what="credit code error")
        assert "校验码错误" in error.text, error.text
        # Another valid code per run (the check character computed as GB 32100-2015 says).
        body = "91330100MA" + "".join(random.choice("0123456789") for _ in range(7))
        alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
        s = sum(alphabet.index(c) * pow(3, i, 31) for i, c in enumerate(body))
        code_input.clear()
        code_input.send_keys(body + alphabet[(31 - s % 31) % 31])
        driver.find_element(By.ID, "company-submit").click()
        wait_for(driver, lambda d: body_data(d, "mandates") == "0", what="mandates of the new company")
        assert_fits(driver, "mandates")
        save_artifacts(driver, "onecity-citizen-5-company")
