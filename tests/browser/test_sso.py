"""Sign-in through single sign-on in headless Chromium.

- The console's sign-in page keeps a session token handed back by the SSO callback
  (`/login#sso_token=…`), drops it from the address bar and lands on the map; its SSO button
  stays hidden while no provider is configured (this server has none).
- The OpenID Connect provider's sign-in form (/oidc/authorize) works at phone width (375 px):
  no horizontal scrolling, Chinese beside English, and signing in redirects to the client.
"""

import base64
import hashlib
import secrets
import urllib.parse

from selenium.webdriver.common.by import By

from onecity_browser import ADMIN_PASSWORD, BASE_URL, admin_token, api, artifacts_on_exit, save_artifacts, wait_for


def test_sso_token_in_the_fragment_signs_the_console_in(driver):
    with artifacts_on_exit(driver, "onecity-sso-fragment"):
        driver.get(f"{BASE_URL}/login")
        wait_for(driver, lambda d: d.find_element(By.ID, "login-submit").is_displayed(), what="login form")
        assert not driver.find_element(By.ID, "sso-box").is_displayed(), "no provider, no SSO button"
        token = admin_token()
        driver.get(f"{BASE_URL}/login#sso_token={token}")
        wait_for(driver, lambda d: d.current_url.startswith(f"{BASE_URL}/console/map"), what="the map")
        assert "sso_token" not in driver.current_url
        stored = driver.execute_script(
            "return Object.keys(localStorage).map(function (k) { return localStorage.getItem(k); });")
        assert token in stored


def test_provider_sign_in_form_at_phone_width(driver):
    with artifacts_on_exit(driver, "onecity-oidc-form-375"):
        redirect = "http://127.0.0.1:9/cb"
        _, client = api("POST", "/api/v1/oidc/clients", {"name": "掌上办 Mobile app", "redirect_uris": [redirect],
                                                          "public": True}, admin_token(), expect=(201,))
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        q = urllib.parse.urlencode({"response_type": "code", "client_id": client["client_id"],
                                    "redirect_uri": redirect, "scope": "openid", "state": "xyz",
                                    "code_challenge": challenge, "code_challenge_method": "S256"})
        driver.set_window_size(375, 812)
        driver.get(f"{BASE_URL}/oidc/authorize?{q}")
        wait_for(driver, lambda d: d.find_element(By.ID, "username").is_displayed(), what="sign-in form")
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "用户名" in body and "Username" in body and "掌上办 Mobile app" in body
        width = driver.execute_script("return document.documentElement.scrollWidth")
        viewport = driver.execute_script("return window.innerWidth")
        assert width <= viewport, f"horizontal scroll at phone width: {width} > {viewport}"
        # The form itself (the "-ok" picture at the end shows the browser at the client's URL).
        save_artifacts(driver, "onecity-oidc-form-375-form")
        driver.find_element(By.ID, "username").send_keys("admin")
        driver.find_element(By.ID, "password").send_keys(ADMIN_PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        # The browser follows the redirect to the client (nothing listens there): the URL says.
        wait_for(driver, lambda d: d.current_url.startswith(redirect + "?code="), what="redirect to the client")
        assert "state=xyz" in driver.current_url
