"""End-to-end tests of the to-do inbox (一体办公 待办, /console/inbox) in headless Chromium.

Setup goes through the JSON API as `admin` (standard library only): in tenant hangzhou,
a citizen files a DIGIT PGR grievance (APPLY), and a grievance routing officer (flow
role GRO) assigns it from the inbox to a last-mile employee (PGR_LME); the case then
leaves the GRO's inbox. Runs against the server tests/browser/run.sh starts.
"""

import secrets
import urllib.parse

import pytest
from selenium.webdriver.common.by import By

from onecity_browser import (
    BASE_URL,
    admin_token,
    api,
    api_login,
    artifacts_on_exit,
    assert_no_page_error,
    body_data,
    choose_tenant,
    ensure_user,
    grant_flow_role,
    login,
    save_artifacts,
    wait_for,
)

TENANT = "hangzhou"


@pytest.fixture(scope="module")
def pgr_people():
    """Users of the PGR flow in hangzhou: {name: (id, password)}."""
    admin = admin_token()
    people = {
        # staff without any IAM role: only workflow roles (may not list tenants or users)
        "gro": ensure_user(admin, TENANT, "gro-e2e", "staff", display_name="GRO e2e 派单员"),
        # staff with the built-in `staff` role (reads the organisation, e.g. users)
        "gro_staff": ensure_user(
            admin, TENANT, "gro-staff-e2e", "staff", roles=[{"role": "staff"}], display_name="GRO staff e2e"
        ),
        # listed to gro-staff-e2e: the users API shows users with a grant in the caller's subtree
        "lme": ensure_user(admin, TENANT, "lme-e2e", "staff", roles=[{"role": "staff"}], display_name="LME e2e 处理人"),
        "citizen": ensure_user(admin, TENANT, "citizen-e2e", "citizen", display_name="Citizen e2e 市民"),
    }
    grant_flow_role(admin, TENANT, people["gro"][0], "GRO")
    grant_flow_role(admin, TENANT, people["gro_staff"][0], "GRO")
    grant_flow_role(admin, TENANT, people["lme"][0], "PGR_LME")
    return people


def file_grievance(people, title):
    """The citizen creates a pgr case and applies at once; returns the CaseView."""
    citizen = api_login("citizen-e2e", people["citizen"][1])
    _, case = api(
        "POST",
        f"/api/v1/tenants/{urllib.parse.quote(TENANT)}/cases",
        {"flow": "pgr", "title": title, "action": {"action": "APPLY", "fields": {"description": "路灯不亮 The streetlight is dark"}}},
        citizen,
        expect=(201,),
    )
    assert case["state"] == "PENDINGFORASSIGNMENT", case
    return case


def wait_inbox_ready(drv):
    def ready(d):
        assert_no_page_error(d, "inbox")
        return body_data(d, "tenant") == TENANT and body_data(d, "inboxReady") == "1"

    wait_for(drv, ready, what=f"inbox of {TENANT}")


def inbox_row(drv, case_id):
    rows = drv.find_elements(By.CSS_SELECTOR, f"#inbox-table tbody tr[data-id='{case_id}']")
    return rows[0] if rows else None


def open_case(drv, case_id, state):
    inbox_row(drv, case_id).find_element(By.CSS_SELECTOR, "button[data-open]").click()

    def shown(d):
        panel = d.find_element(By.ID, "case-detail")
        return (
            panel.is_displayed()
            and panel.get_attribute("data-case-id") == case_id
            and panel.get_attribute("data-loading") == "0"
            and panel.get_attribute("data-state") == state
        )

    wait_for(drv, shown, what=f"case {case_id} in #case-detail")
    return drv.find_element(By.ID, "case-detail")


def action_error(drv):
    el = drv.find_element(By.ID, "action-error")
    return el.text if el.is_displayed() else ""


def assert_assigned_and_gone(drv, case_id, before):
    """After ASSIGN: the panel shows PENDINGATLME and the case left this GRO's inbox."""

    def moved(d):
        if action_error(d):
            raise AssertionError(f"action failed: {action_error(d)}")
        return d.find_element(By.ID, "case-detail").get_attribute("data-state") == "PENDINGATLME"

    wait_for(drv, moved, what="state PENDINGATLME in #case-detail")
    assert "PENDINGATLME" in drv.find_element(By.ID, "case-state").text
    wait_for(
        drv,
        lambda d: body_data(d, "inboxCount") == str(before - 1) and inbox_row(d, case_id) is None,
        what=f"the case to leave the inbox (count {before} -> {before - 1})",
    )
    assert drv.find_element(By.ID, "count-total").text == str(before - 1)
    wait_for(
        drv,
        lambda d: d.find_element(By.ID, "case-detail").get_attribute("data-loading") == "0"
        and d.find_elements(By.CSS_SELECTOR, "#case-history li[data-action='ASSIGN']"),
        what="ASSIGN in the case history",
    )


def test_gro_assigns_grievance_from_inbox(driver, pgr_people):
    title = f"Streetlight out 路灯不亮 e2e-{secrets.token_hex(3)}"
    case = file_grievance(pgr_people, title)
    lme_id = pgr_people["lme"][0]

    with artifacts_on_exit(driver, "onecity-console-inbox"):
        # no token yet: the inbox sends the browser to /login?next=/console/inbox
        driver.get(f"{BASE_URL}/console/inbox")
        login(driver, "gro-e2e", pgr_people["gro"][1], landing="/console/inbox", start=False)
        # gro-e2e may not list tenants: the switcher offers its home tenant
        choose_tenant(driver, TENANT)
        wait_inbox_ready(driver)

        before = int(body_data(driver, "inboxCount"))
        assert before >= 1
        assert driver.find_element(By.ID, "count-total").text == str(before)
        row = inbox_row(driver, case["id"])
        assert row is not None, f"case {title!r} is not in the GRO's inbox"
        assert title in row.text
        assert "PENDINGFORASSIGNMENT" in row.text
        assert driver.find_element(By.ID, "notification-list").find_elements(By.TAG_NAME, "li")

        panel = open_case(driver, case["id"], "PENDINGFORASSIGNMENT")
        assert title in panel.find_element(By.ID, "case-title").text
        assert "The streetlight is dark" in panel.find_element(By.ID, "case-data").text
        assert panel.find_elements(By.CSS_SELECTOR, "#case-history li[data-action='APPLY']")
        assert driver.find_element(By.ID, "claim-button").is_displayed()  # unassigned: 签收
        assert panel.find_elements(By.CSS_SELECTOR, "button[data-action='REJECT']")

        panel.find_element(By.CSS_SELECTOR, "button[data-action='ASSIGN']").click()
        wait_for(
            driver,
            lambda d: d.find_elements(By.CSS_SELECTOR, "#action-form [name='assignee']"),
            what="the assignee field",
        )
        assignee = driver.find_element(By.CSS_SELECTOR, "#action-form [name='assignee']")
        # gro-e2e may not list users, so the assignee is asked for by user id
        assert assignee.tag_name == "input"

        # submitting without the assignee: the server's 422 detail is shown
        driver.find_element(By.ID, "action-submit").click()
        wait_for(driver, lambda d: "assignee" in action_error(d), what="the missing-field error")
        assert assignee.get_attribute("aria-invalid") == "true"
        assert driver.find_element(By.ID, "case-detail").get_attribute("data-state") == "PENDINGFORASSIGNMENT"

        assignee.send_keys(lme_id)
        driver.find_element(By.CSS_SELECTOR, "#action-form textarea[name='comment']").send_keys("请尽快处理 Please fix")
        save_artifacts(driver, "onecity-console-inbox-assign-form")
        driver.find_element(By.ID, "action-submit").click()
        assert_assigned_and_gone(driver, case["id"], before)
        assert not driver.find_element(By.ID, "claim-button").is_displayed()  # now the LME's

    # the API agrees
    gro = api_login("gro-e2e", pgr_people["gro"][1])
    _, detail = api("GET", f"/api/v1/tenants/{TENANT}/cases/{case['id']}", token=gro, expect=(200,))
    assert detail["case"]["state"] == "PENDINGATLME"
    assert detail["case"]["assignee_id"] == lme_id
    assert detail["history"][-1]["comment"] == "请尽快处理 Please fix"


def test_gro_picks_assignee_in_chinese_ui(driver, pgr_people):
    title = f"井盖缺失 Missing manhole cover e2e-{secrets.token_hex(3)}"
    case = file_grievance(pgr_people, title)

    with artifacts_on_exit(driver, "onecity-console-inbox-zh"):
        driver.get(f"{BASE_URL}/login?lang=zh&next=%2Fconsole%2Finbox")
        login(driver, "gro-staff-e2e", pgr_people["gro_staff"][1], landing="/console/inbox", start=False)
        choose_tenant(driver, TENANT)
        wait_inbox_ready(driver)
        assert driver.find_element(By.CSS_SELECTOR, "nav a[aria-current='page']").text == "待办 To-do"

        before = int(body_data(driver, "inboxCount"))
        assert before >= 1
        row = inbox_row(driver, case["id"])
        assert row is not None and title in row.text
        assert "待派单" in row.text  # the state's Chinese name from the flow definition

        panel = open_case(driver, case["id"], "PENDINGFORASSIGNMENT")
        panel.find_element(By.CSS_SELECTOR, "button[data-action='ASSIGN']").click()
        # with the `staff` role the users are listed: the assignee is picked by name
        option = wait_for(
            driver,
            lambda d: d.find_elements(By.CSS_SELECTOR, "#action-form select[name='assignee'] option[data-username='lme-e2e']"),
            what="lme-e2e among the assignees",
        )[0]
        option.click()
        driver.find_element(By.ID, "action-submit").click()
        assert_assigned_and_gone(driver, case["id"], before)
        assert "处理中" in driver.find_element(By.ID, "case-state").text
