"""Shared helpers of the console's browser tests (tests/browser): configuration,
artifacts, waiting, logging in through the login page, and calling the JSON API with
the standard library (for test setup).

Configuration (tests/browser/run.sh sets the first two):
  ONECITY_URL             base URL, e.g. http://127.0.0.1:8080
  ONECITY_ADMIN_PASSWORD  password of the `admin` user
  ONECITY_ARTIFACTS       where screenshots and browser logs go (default /tmp)
"""

import hashlib
import hmac
import json
import os
import urllib.error
import urllib.parse
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE_URL = os.environ.get("ONECITY_URL", "http://127.0.0.1:8080").rstrip("/")
ADMIN_PASSWORD = os.environ.get("ONECITY_ADMIN_PASSWORD", "")
ARTIFACTS = os.environ.get("ONECITY_ARTIFACTS", "/tmp")
CHROMIUM = os.environ.get("ONECITY_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("ONECITY_CHROMEDRIVER", "/usr/bin/chromedriver")

PAGE_TIMEOUT = 30
MAP_TIMEOUT = 90


# ---------------------------------------------------------------------- artifacts


def artifact(name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    return os.path.join(ARTIFACTS, name)


def save_artifacts(drv, name):
    """Screenshot and browser console log, named `name`."""
    try:
        drv.save_screenshot(artifact(f"{name}.png"))
    except Exception as exc:  # the browser may be gone
        print(f"screenshot {name} failed: {exc}")
    try:
        with open(artifact(f"{name}.console.json"), "w", encoding="utf-8") as f:
            json.dump(drv.get_log("browser"), f, ensure_ascii=False, indent=1)
    except Exception as exc:
        print(f"browser log {name} failed: {exc}")


class artifacts_on_exit:
    """Saves `<name>-ok` on success and `<name>-failure` on failure."""

    def __init__(self, drv, name):
        self.drv, self.name = drv, name

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        save_artifacts(self.drv, f"{self.name}-{'ok' if exc_type is None else 'failure'}")
        return False


# ---------------------------------------------------------------------- browser


def wait_for(drv, condition, timeout=PAGE_TIMEOUT, what="condition"):
    return WebDriverWait(drv, timeout, poll_frequency=0.2).until(
        lambda d: condition(d), message=f"timed out waiting for {what}"
    )


def body_data(drv, key):
    return drv.execute_script("return document.body.dataset[arguments[0]] || null;", key)


def login(drv, username="admin", password=None, landing="/console/map", start=True):
    """Signs in through the login page and waits to land on `landing`. With
    `start=False` the browser is expected to be on (or redirecting to) the login page
    already, e.g. after opening a console page without a token."""
    password = ADMIN_PASSWORD if password is None else password
    assert password, "ONECITY_ADMIN_PASSWORD is not set"
    if start:
        drv.get(f"{BASE_URL}/login")
    wait_for(
        drv,
        lambda d: d.current_url.startswith(f"{BASE_URL}/login")
        and d.find_element(By.ID, "login-submit").is_displayed(),
        what="login form",
    )
    drv.find_element(By.ID, "username").send_keys(username)
    drv.find_element(By.ID, "password").send_keys(password)
    drv.find_element(By.ID, "login-submit").click()

    def landed(d):
        if d.current_url.startswith(f"{BASE_URL}{landing}"):
            return True
        errors = d.find_elements(By.ID, "login-error")
        if errors and errors[0].is_displayed() and errors[0].text:
            raise AssertionError(f"login of {username} failed: {errors[0].text}")
        return False

    wait_for(drv, landed, what=f"{landing} after login")
    token = drv.execute_script("return localStorage.getItem('onecity.token');")
    assert token, "no token stored after login"


def choose_tenant(drv, code):
    def has_option(d):
        select = d.find_element(By.ID, "tenant-switcher")
        return select.is_enabled() and select.find_elements(By.CSS_SELECTOR, f"option[value='{code}']")

    wait_for(drv, has_option, what=f"tenant {code} in the switcher")
    Select(drv.find_element(By.ID, "tenant-switcher")).select_by_value(code)


def assert_no_page_error(drv, what):
    errors = drv.find_elements(By.ID, "page-error")
    if errors and errors[0].is_displayed() and errors[0].text:
        raise AssertionError(f"{what} page error: {errors[0].text}")


# ---------------------------------------------------------------------- JSON API


def api(method, path, body=None, token=None, expect=None):
    """Calls the API; returns (status, parsed body or None). With `expect` (statuses),
    any other status fails the test with the problem body."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(f"{BASE_URL}{path}", data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            status, raw = res.status, res.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = raw.decode("utf-8", "replace")
    if expect is not None and status not in expect:
        raise AssertionError(f"{method} {path}: HTTP {status}: {payload}")
    return status, payload


def api_login(username, password):
    _, body = api("POST", "/api/v1/auth/login", {"username": username, "password": password}, expect=(200,))
    return body["token"]


def admin_token():
    assert ADMIN_PASSWORD, "ONECITY_ADMIN_PASSWORD is not set"
    return api_login("admin", ADMIN_PASSWORD)


def password_for(username):
    """A strong password for a test user, the same for the whole life of one server
    (derived from the admin password), so a rerun against it can log in again."""
    digest = hmac.new(ADMIN_PASSWORD.encode(), username.encode(), hashlib.sha256).hexdigest()
    return f"E2e-{digest[:28]}-Pw"


def find_user(token, tenant, username):
    path = f"/api/v1/tenants/{urllib.parse.quote(tenant)}/users?limit=500"
    cursor = None
    while True:
        _, page = api("GET", path + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else ""), token=token, expect=(200,))
        for user in page["items"]:
            if user["username"] == username:
                return user
        cursor = page.get("next_cursor")
        if not cursor:
            return None


def ensure_user(token, tenant, username, kind="staff", roles=(), display_name=None):
    """Creates a user (or finds the one an earlier run created); returns (id, password)."""
    password = password_for(username)
    body = {
        "username": username,
        "display_name": display_name or username,
        "password": password,
        "kind": kind,
        "roles": list(roles),
    }
    status, user = api("POST", f"/api/v1/tenants/{urllib.parse.quote(tenant)}/users", body, token)
    if status == 409:
        user = find_user(token, tenant, username)
        assert user, f"user {username} exists but is not listed in {tenant}"
    elif status != 201:
        raise AssertionError(f"creating user {username}: HTTP {status}: {user}")
    return user["id"], password


def grant_flow_role(token, tenant, principal_id, role):
    api(
        "POST",
        f"/api/v1/tenants/{urllib.parse.quote(tenant)}/flow-roles",
        {"principal_id": principal_id, "role": role},
        token,
        expect=(204, 409),
    )
