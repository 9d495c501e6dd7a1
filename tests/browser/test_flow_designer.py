"""End-to-end test of the flow designer (流程设计器, /console/flows) in headless Chromium,
on the demo tenant hangzhou and its shipped `multi-dept-approval` flow (出生一件事).

A tenant admin (flow_admin, and the flow role WINDOW) opens the flow as a diagram, adds a
review state (复核) with a deadline of 2 working days and the actions into and out of it,
and saves; through the API a new case then follows the new version into the review state
with its deadline counted on the mainland-China working-day calendar, while a case made
before keeps its version. Then an invalid change (a state no action reaches, an action to
an undefined state) is refused, and the page lists every problem the engine returns for
that definition, in Chinese and in English. Screenshots at 1280 px (zh, en) and 375 px.
Runs against the server tests/browser/run.sh starts.
"""

import datetime
import json
import os
import urllib.parse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

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
FLOW = "multi-dept-approval"
FLOWS = f"/api/v1/tenants/{TENANT}/flows"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CALENDAR = os.path.join(ROOT, "crates", "onecity-flow", "calendars", "cn_2025_2026.json")
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
CLOSE = datetime.time(17, 30)


# ---------------------------------------------------------------------- working days


def load_calendar():
    with open(CALENDAR, encoding="utf-8") as f:
        years = json.load(f)["years"]
    off, on = set(), set()
    for year in years.values():
        on.update(year.get("workdays", []))
        for holiday in year.get("holidays", []):
            off.update(holiday["days"])
    return off, on


def is_working_day(day, calendar):
    off, on = calendar
    iso = day.isoformat()
    if iso in on:
        return True
    if iso in off:
        return False
    return day.weekday() < 5


def add_working_days(start, n, calendar):
    """The engine's rule: the end (17:30 Shanghai) of the n-th working day after the start
    day; a start after closing time or on a day off starts on the next working day."""
    local = start.astimezone(SHANGHAI)
    day = local.date()
    if not is_working_day(day, calendar) or local.time() >= CLOSE:
        day += datetime.timedelta(days=1)
        while not is_working_day(day, calendar):
            day += datetime.timedelta(days=1)
    counted = 0
    while counted < n:
        day += datetime.timedelta(days=1)
        if is_working_day(day, calendar):
            counted += 1
    return datetime.datetime.combine(day, CLOSE, tzinfo=SHANGHAI)


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---------------------------------------------------------------------- page helpers


@pytest.fixture(scope="module")
def designer_user():
    """A tenant admin of hangzhou (flow_admin) who also holds the flow role WINDOW."""
    admin = admin_token()
    user_id, password = ensure_user(
        admin, TENANT, "flowdesigner-e2e", "staff", roles=[{"role": "tenant_admin"}], display_name="流程管理员 Flow admin"
    )
    grant_flow_role(admin, TENANT, user_id, "WINDOW")
    return user_id, password


def wait_list(drv):
    def ready(d):
        assert_no_page_error(d, "flows")
        return body_data(d, "tenant") == TENANT and body_data(d, "flowsReady") == "1"

    wait_for(drv, ready, what=f"flows of {TENANT}")


def wait_checked(drv):
    """The designer is open and the engine's last check has answered."""

    def done(d):
        assert_no_page_error(d, "flows")
        return body_data(d, "designerReady") == "1" and body_data(d, "checking") == "0"

    wait_for(drv, done, what="the engine's check")


def type_into(drv, element_id, text, commit=True):
    """Replaces a field's text as a person would (select all, type); TAB leaves the field."""
    field = drv.find_element(By.ID, element_id)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text)
    if commit:
        field.send_keys(Keys.TAB)


def click_id(drv, element_id):
    drv.find_element(By.ID, element_id).click()


def node(drv, key):
    return drv.find_element(By.CSS_SELECTOR, f"#diagram .fd-node[data-state='{key}']")


def click_node(drv, key):
    """Selects a state in the diagram once the engine's check has answered (an answer
    that changes the highlights draws the diagram again)."""
    wait_checked(drv)
    node(drv, key).click()


def page_definition(drv):
    return drv.execute_script("return window.onecityFlows.definition();")


def listed_problems(drv):
    """The problems the page lists: (code, state, action, role) and the text of each."""
    items = drv.find_elements(By.CSS_SELECTOR, "#problem-list li.fd-problem")
    return [
        (
            (li.get_attribute("data-code"), li.get_attribute("data-state"), li.get_attribute("data-action"), li.get_attribute("data-role")),
            li.text,
        )
        for li in items
    ]


def engine_problems(token, definition):
    """What the engine lists for `definition` (a dry run through the API)."""
    _, check = api("POST", FLOWS + "?validate_only=true", definition, token, expect=(200,))
    assert check["valid"] is False, check
    return [(p["code"], p.get("state"), p.get("action"), p.get("role")) for p in check["problems"]], check["problems"]


def latest(token):
    _, infos = api("GET", FLOWS, token=token, expect=(200,))
    versions = [i["version"] for i in infos if i["key"] == FLOW]
    return max(versions)


def get_definition(token, version):
    _, definition = api("GET", f"{FLOWS}/{FLOW}?version={version}", token=token, expect=(200,))
    return definition


def create_case(token, title):
    _, case = api(
        "POST", f"/api/v1/tenants/{TENANT}/cases", {"flow": FLOW, "title": title}, token, expect=(201,)
    )
    return case


def act(token, case_id, body, expect=(200,)):
    return api("POST", f"/api/v1/tenants/{TENANT}/cases/{urllib.parse.quote(case_id)}/actions", body, token, expect=expect)


def make_invalid_change(drv):
    """A state no action reaches, and an action from REVIEW to a state nobody defined."""
    click_id(drv, "add-state")
    wait_for(drv, lambda d: d.find_elements(By.ID, "st-key"), what="new state form")
    type_into(drv, "st-key", "ORPHAN")
    type_into(drv, "st-name-zh", "孤立", commit=False)
    click_node(drv, "REVIEW")
    click_id(drv, "add-action")
    wait_for(drv, lambda d: d.find_elements(By.ID, "act-key"), what="new action form")
    type_into(drv, "act-key", "JUMP")
    type_into(drv, "act-to", "NOWHERE")
    click_id(drv, "act-role-WINDOW")


# ---------------------------------------------------------------------- the test


def test_flow_designer_adds_a_state_with_a_deadline_and_lists_every_problem(driver, designer_user):
    user_id, password = designer_user
    token = api_login("flowdesigner-e2e", password)
    calendar = load_calendar()
    v1 = latest(token)
    before = get_definition(token, v1)
    assert not any(s["key"] == "REVIEW" for s in before["states"]), "the test needs a fresh demo server"
    old_case = create_case(token, "出生一件事（改版前） Newborn bundle, before the change")
    assert old_case["flow_version"] == v1

    with artifacts_on_exit(driver, "onecity-flows"):
        login(driver, "flowdesigner-e2e", password)
        driver.get(f"{BASE_URL}/console/flows?lang=zh")
        choose_tenant(driver, TENANT)
        wait_list(driver)
        row = driver.find_element(By.CSS_SELECTOR, f"#flows-table tbody tr[data-key='{FLOW}']")
        assert "多部门联办审批" in row.text and f"v{v1}" in row.text
        row.click()
        wait_checked(driver)
        assert body_data(driver, "flowVersion") == str(v1)
        assert body_data(driver, "readOnly") == "0"

        # Opened unchanged: the diagram shows the flow, and the definition is the stored one.
        assert page_definition(driver) == before
        assert body_data(driver, "problemCount") == "0"
        assert driver.find_element(By.ID, "problems-none").is_displayed()
        assert not driver.find_element(By.ID, "save-flow").is_enabled()
        nodes = driver.find_elements(By.CSS_SELECTOR, "#diagram .fd-node")
        assert sorted(n.get_attribute("data-state") for n in nodes) == sorted(s["key"] for s in before["states"])
        assert "fd-start" in node(driver, "SUBMITTED").get_attribute("class")
        assert "开始" in node(driver, "SUBMITTED").text
        assert "fd-terminal" in node(driver, "ISSUED").get_attribute("class")
        assert "2 个工作日" in node(driver, "POLICE_REVIEW").text
        arrows = driver.find_elements(By.CSS_SELECTOR, "#diagram .fd-edge-label")
        assert len(arrows) == sum(len(a["from"]) for a in before["actions"])

        # Add the review state with its deadline and a warning 4 working hours before.
        click_id(driver, "add-state")
        wait_for(driver, lambda d: d.find_elements(By.ID, "st-key"), what="new state form")
        type_into(driver, "st-key", "REVIEW")
        type_into(driver, "st-name-zh", "复核", commit=False)
        type_into(driver, "st-name", "Review", commit=False)
        click_id(driver, "st-sla-on")
        type_into(driver, "st-sla-n", "2", commit=False)
        Select(driver.find_element(By.ID, "st-sla-unit")).select_by_value("working_days")
        wait_for(driver, lambda d: d.find_element(By.ID, "st-warn-on").is_enabled(), what="warning switch")
        click_id(driver, "st-warn-on")
        Select(driver.find_element(By.ID, "st-warn-unit")).select_by_value("working_hours")
        type_into(driver, "st-warn-n", "4", commit=False)

        # An action into it from SUBMITTED, and one out of it to the health review.
        click_node(driver, "SUBMITTED")
        click_id(driver, "add-action")
        wait_for(driver, lambda d: d.find_elements(By.ID, "act-key"), what="new action form")
        type_into(driver, "act-key", "PRECHECK")
        type_into(driver, "act-to", "REVIEW")
        click_id(driver, "act-role-WINDOW")
        click_node(driver, "REVIEW")
        click_id(driver, "add-action")
        wait_for(driver, lambda d: d.find_element(By.ID, "editor-heading").text.endswith("NEW_ACTION"), what="second action form")
        type_into(driver, "act-key", "REVIEW_PASS")
        type_into(driver, "act-to", "HEALTH_REVIEW")
        click_id(driver, "act-role-WINDOW")
        type_into(driver, "act-required", "comment")
        wait_checked(driver)
        wait_for(driver, lambda d: body_data(d, "problemCount") == "0", what="no problems left")
        review = node(driver, "REVIEW")
        assert "复核" in review.text and "2 个工作日" in review.text and "提前 4 个工作小时提醒" in review.text, review.text
        labels = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#diagram .fd-edge-label")]
        assert "PRECHECK" in labels and "REVIEW_PASS" in labels
        driver.execute_script("document.getElementById('designer').scrollIntoView();")
        save_artifacts(driver, "onecity-flows-zh-1280")

        # Save: a new version, equal to the old one plus what was added.
        click_id(driver, "save-flow")
        wait_for(driver, lambda d: body_data(d, "saveState") in ("saved", "refused", "error"), what="save")
        assert body_data(driver, "saveState") == "saved", driver.find_element(By.ID, "save-error").text
        v2 = latest(token)
        assert v2 == v1 + 1
        assert body_data(driver, "flowVersion") == str(v2)
        assert f"第 {v2} 版" in driver.find_element(By.ID, "save-status").text
        saved = get_definition(token, v2)
        review_state = next(s for s in saved["states"] if s["key"] == "REVIEW")
        assert review_state["name_zh"] == "复核" and review_state["name"] == "Review"
        assert review_state["sla"] == {"due": {"working_days": 2}, "warn_before": {"working_hours": 4.0}}
        added = {a["key"]: a for a in saved["actions"] if a["key"] in ("PRECHECK", "REVIEW_PASS")}
        assert added["PRECHECK"]["from"] == ["SUBMITTED"] and added["PRECHECK"]["to"] == "REVIEW"
        assert added["PRECHECK"]["roles"] == ["WINDOW"]
        assert added["REVIEW_PASS"]["from"] == ["REVIEW"] and added["REVIEW_PASS"]["to"] == "HEALTH_REVIEW"
        assert added["REVIEW_PASS"]["required"] == ["comment"]
        # Everything the designer did not touch (escalations, clocks, …) is as it was.
        unchanged = dict(saved)
        unchanged["states"] = [s for s in saved["states"] if s["key"] != "REVIEW"]
        unchanged["actions"] = [a for a in saved["actions"] if a["key"] not in added]
        assert unchanged == before

        # A new case follows the new version into the review state, due in 2 working days.
        case = create_case(token, "出生一件事 Newborn bundle")
        assert case["flow_version"] == v2
        assert "PRECHECK" in case["allowed_actions"]
        _, case = act(token, case["id"], {"action": "PRECHECK"})
        assert case["state"] == "REVIEW" and case["state_name"] == "Review"
        entered = parse_time(case["state_entered_at"])
        assert parse_time(case["state_due_at"]) == add_working_days(entered, 2, calendar), case
        status, problem = act(token, case["id"], {"action": "REVIEW_PASS"}, expect=(422,))
        assert problem["code"] == "invalid_input"
        _, case = act(token, case["id"], {"action": "REVIEW_PASS", "comment": "材料齐全 documents complete"})
        assert case["state"] == "HEALTH_REVIEW"
        # The case made before the change keeps its version.
        _, old = api("GET", f"/api/v1/tenants/{TENANT}/cases/{old_case['id']}", token=token, expect=(200,))
        assert old["case"]["flow_version"] == v1 and "PRECHECK" not in old["case"]["allowed_actions"]

        # An invalid change is refused, and the page lists every problem the engine lists.
        make_invalid_change(driver)
        wait_checked(driver)
        click_id(driver, "save-flow")
        wait_for(driver, lambda d: body_data(d, "saveState") in ("saved", "refused", "error"), what="refused save")
        assert body_data(driver, "saveState") == "refused"
        assert latest(token) == v2, "nothing stored"
        bad = page_definition(driver)
        want, raw = engine_problems(token, bad)
        shown = listed_problems(driver)
        assert [named for named, _ in shown] == want
        assert ("to_undefined_state", "NOWHERE", "JUMP", None) in want
        assert ("unreachable_state", "ORPHAN", None, None) in want
        assert ("dead_end", "ORPHAN", None, None) in want
        texts = [text for _, text in shown]
        assert "动作 JUMP 指向未定义的状态 NOWHERE。" in texts, texts
        assert "从开始状态出发，没有任何动作能到达状态 ORPHAN。" in texts, texts
        assert f"{len(want)} 个问题" in driver.find_element(By.ID, "save-error").text
        assert "fd-has-problem" in node(driver, "ORPHAN").get_attribute("class")
        assert "fd-ghost" in node(driver, "NOWHERE").get_attribute("class")
        jump = driver.find_element(By.CSS_SELECTOR, "#diagram .fd-edge-label[data-action='JUMP']")
        assert "fd-bad" in jump.get_attribute("class")
        driver.execute_script("document.getElementById('designer').scrollIntoView();")
        save_artifacts(driver, "onecity-flows-problems-zh-1280")

        # The same in English: the expert JSON view takes the invalid definition.
        driver.get(f"{BASE_URL}/console/flows?lang=en&flow={FLOW}")
        wait_list(driver)
        wait_checked(driver)
        assert body_data(driver, "flowVersion") == str(v2)
        assert "2 working days" in node(driver, "REVIEW").text
        assert "warn 4 working hours before" in node(driver, "REVIEW").text
        driver.find_element(By.CSS_SELECTOR, "#json-view summary").click()
        driver.execute_script(
            "document.getElementById('json-text').value = arguments[0];", json.dumps(bad, ensure_ascii=False, indent=1)
        )
        click_id(driver, "json-apply")
        wait_checked(driver)
        assert page_definition(driver) == bad
        click_id(driver, "save-flow")
        wait_for(driver, lambda d: body_data(d, "saveState") == "refused", what="refused save (en)")
        shown = listed_problems(driver)
        assert [named for named, _ in shown] == want
        texts = [text for _, text in shown]
        assert "Action JUMP leads to state NOWHERE, which is not defined." in texts, texts
        assert "State ORPHAN is not terminal, but no action leaves it." in texts, texts
        assert len(texts) == len(raw)
        driver.execute_script("document.getElementById('json-view').open = false;")
        driver.execute_script("document.getElementById('designer').scrollIntoView();")
        save_artifacts(driver, "onecity-flows-problems-en-1280")

        # Deleting the orphan state and the stray action gives back version 2 exactly.
        click_node(driver, "ORPHAN")
        click_id(driver, "st-delete")
        wait_checked(driver)
        assert [named for named, _ in listed_problems(driver)] == [("to_undefined_state", "NOWHERE", "JUMP", None)]
        driver.find_element(By.CSS_SELECTOR, "#diagram .fd-edge-label[data-action='JUMP']").click()
        wait_for(driver, lambda d: d.find_elements(By.ID, "act-delete"), what="JUMP's form")
        click_id(driver, "act-delete")
        wait_checked(driver)
        assert body_data(driver, "problemCount") == "0"
        assert body_data(driver, "dirty") == "0"
        assert page_definition(driver) == saved
        assert not driver.find_element(By.ID, "save-flow").is_enabled()

        # At phone width the designer says it wants a wider screen but does not break.
        driver.set_window_size(375, 812)
        driver.get(f"{BASE_URL}/console/flows?lang=zh&flow={FLOW}")
        wait_list(driver)
        wait_checked(driver)
        assert driver.find_element(By.ID, "narrow-note").is_displayed()
        width, scroll = driver.execute_script(
            "return [document.documentElement.clientWidth, document.documentElement.scrollWidth];"
        )
        assert scroll <= width, f"the page scrolls sideways at 375 px ({scroll} > {width})"
        save_artifacts(driver, "onecity-flows-zh-375")
        driver.execute_script("document.getElementById('diagram').scrollIntoView();")
        save_artifacts(driver, "onecity-flows-zh-375-diagram")
