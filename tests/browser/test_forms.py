"""End-to-end test of forms (表单, issue 14) in headless Chromium: a staff member holding
service_admin (a tenant_admin of hangzhou) builds the 出生医学证明 form in the designer
(/console/services/forms) without typing JSON: questions of several types, one moved up,
and one branch ("father's ID number only when 父亲信息已知 = 是"), sees the branch work in
the preview and saves it. Every stored form also round-trips through the designer's
model in the browser. Then a citizen fills the form at phone width
(/citizen/forms/{key}): the branch appears when its condition holds, a file is uploaded,
a first submit with a wrong check digit and a missing answer lists both problems (from
the browser's check, then from the server's), and the corrected answers are stored.
Screenshots at 375 and 1280 px in zh and en go to ONECITY_ARTIFACTS."""

import os
import secrets
import tempfile
import urllib.parse

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
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
    login,
    save_artifacts,
    wait_for,
)

TENANT = "hangzhou"
PNG = (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89"
       b"\0\0\0\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82")


def by_id(drv, id_):
    return drv.find_element(By.ID, id_)


def set_text(drv, id_, value):
    field = by_id(drv, id_)
    field.clear()
    field.send_keys(value)


def add_question(drv, qtype, qid, zh, en, required=True):
    Select(by_id(drv, "add-type")).select_by_value(qtype)
    Select(by_id(drv, "add-where")).select_by_value("")
    by_id(drv, "add-question").click()
    wait_for(drv, lambda d: d.find_element(By.ID, "question-editor").is_displayed(), what="question editor")
    set_text(drv, "q-id", qid)
    set_text(drv, "q-label-zh", zh)
    set_text(drv, "q-label-en", en)
    if required:
        by_id(drv, "q-required").click()


def set_options(drv, options):
    """Sets the first len(options) options of the selected choice question: (value, zh, en)."""
    for j, (value, zh, en) in enumerate(options):
        set_text(drv, f"opt-value-{j}", value)
        set_text(drv, f"opt-zh-{j}", zh)
        set_text(drv, f"opt-en-{j}", en)


def assert_fits(drv, what, width):
    inner, scroll = drv.execute_script(
        "return [document.documentElement.clientWidth, document.documentElement.scrollWidth];")
    assert inner <= width, f"{what}: viewport {inner} px"
    assert scroll <= inner, f"{what}: scrolls sideways ({scroll} > {inner} px)"


def question_wrap(drv, qid):
    return drv.find_element(By.CSS_SELECTOR, f"#form-questions .fq[data-question='{qid}']")


def test_staff_build_the_birth_form_with_a_branch_and_a_citizen_fills_it(driver):
    admin = admin_token()
    _, designer_pw = ensure_user(admin, TENANT, "forms-designer-e2e", "staff",
                                 roles=[{"role": "tenant_admin"}], display_name="表单设计 e2e")
    key = "e2e-birth-" + secrets.token_hex(3)
    driver.set_window_size(1280, 900)

    with artifacts_on_exit(driver, "onecity-forms-designer"):
        login(driver, "forms-designer-e2e", designer_pw)
        driver.get(f"{BASE_URL}/console/services/forms?lang=en")
        choose_tenant(driver, TENANT)
        wait_for(driver, lambda d: body_data(d, "designerReady") == "1" and body_data(d, "tenant") == TENANT,
                 what="designer ready")
        assert_no_page_error(driver, "designer")

        # Every stored form (the demo's designer files) round-trips through the browser's
        # designer model: schema → questions → schema and hints, equal JSON.
        checked = driver.execute_async_script("""
            var done = arguments[0], F = window.onecityForms;
            window.onecity.api('/api/v1/tenants/hangzhou/services/forms').then(async function (list) {
              var out = [];
              for (var i = 0; i < list.length; i++) {
                var f = list[i];
                var read = F.fromSchema(f.schema, f.ui, 'en');
                out.push([f.key, read.problems.length, F.sameJson(F.toSchema(read.questions), f.schema),
                          F.sameJson(F.toUi(read.questions), f.ui)]);
              }
              done(out);
            }, function (e) { done(String(e)); });
        """)
        assert isinstance(checked, list), checked
        keys = [c[0] for c in checked]
        for demo in ("birth-medical-certificate", "birth-registration", "newborn-medical-insurance"):
            assert demo in keys, keys
        for k, problems, same_schema, same_ui in checked:
            assert problems == 0 and same_schema and same_ui, (k, problems, same_schema, same_ui)

        # A new form, built question by question.
        by_id(driver, "form-new").click()
        set_text(driver, "form-key", key)
        set_text(driver, "form-item-code", "330100-20-WJW-001-000")
        set_text(driver, "form-title-zh", "出生医学证明首次签发申请")
        set_text(driver, "form-title-en", "Medical Certificate of Birth (first issue)")

        add_question(driver, "text", "newborn_name", "新生儿姓名", "Newborn's name")
        set_text(driver, "q-max-length", "20")
        add_question(driver, "choice", "newborn_sex", "新生儿性别", "Newborn's sex")
        set_options(driver, [("male", "男", "Male"), ("female", "女", "Female")])
        add_question(driver, "date", "birth_date", "出生日期", "Date of birth")
        add_question(driver, "address", "birth_address", "出生地点", "Place of birth")
        add_question(driver, "id_number", "mother_id_number", "母亲身份证号", "Mother's identity number")
        add_question(driver, "choice", "father_known", "父亲信息已知", "Father's details known")
        add_question(driver, "id_number", "father_id_number", "父亲身份证号", "Father's identity number")
        # The branch, chosen from lists: shown when 父亲信息已知 is 是.
        Select(by_id(driver, "q-cond-question")).select_by_value("father_known")
        Select(by_id(driver, "q-cond-value")).select_by_value("yes")
        add_question(driver, "file", "birth_proof", "出生证明材料", "Proof of birth")
        add_question(driver, "text", "mother_name", "母亲姓名", "Mother's name")
        # Reorder: the mother's name goes up above her identity number.
        for _ in range(4):
            row = driver.find_element(By.CSS_SELECTOR, "li.q-row[data-question='mother_name'] > .q-head .q-up")
            row.click()
        order = driver.execute_script("return window.formDesigner.questions().map(function (q) { return q.id; });")
        assert order == ["newborn_name", "newborn_sex", "birth_date", "birth_address", "mother_name",
                         "mother_id_number", "father_known", "father_id_number", "birth_proof"], order
        cond = driver.find_element(By.CSS_SELECTOR, "li.q-row[data-question='father_id_number'] .q-cond").text
        assert "Father's details known" in cond and "Yes" in cond, cond

        # The preview shows the form as a citizen sees it; the branch follows the answer.
        wait_for(driver, lambda d: body_data(d, "previewReady") == "1", what="preview")
        assert body_data(driver, "designProblems") == "0"
        father = driver.find_element(By.CSS_SELECTOR, "#preview .fq[data-question='father_id_number']")
        assert not father.is_displayed()
        driver.find_element(By.CSS_SELECTOR, "#preview .fq[data-question='father_known'] input[value='yes']").click()
        wait_for(driver, lambda d: father.is_displayed(), what="branch shown in the preview")
        save_artifacts(driver, "onecity-forms-1-designer-1280-en")

        by_id(driver, "form-save").click()
        wait_for(driver, lambda d: body_data(d, "savedVersion") == "1", what="saved version 1")
        assert "version 1" in by_id(driver, "save-status").text
        save_artifacts(driver, "onecity-forms-2-designer-saved-1280-en")

        # What the server stored is the designer's schema, branch included.
        token = driver.execute_script("return localStorage.getItem('onecity.token');")
        _, stored = api("GET", f"/api/v1/tenants/{TENANT}/services/forms/{key}", token=token, expect=(200,))
        assert stored["version"] == 1 and stored["item_code"] == "330100-20-WJW-001-000"
        assert stored["schema"]["allOf"] == [{
            "if": {"properties": {"father_known": {"const": "yes"}}, "required": ["father_known"]},
            "then": {"required": ["father_id_number"]},
            "else": {"properties": {"father_id_number": False}},
        }]
        assert stored["ui"]["order"][4] == "mother_name"
        assert stored["schema"]["properties"]["birth_proof"]["maxItems"] == 3

        # The designer in Chinese, with the saved form open; and at phone width.
        driver.get(f"{BASE_URL}/console/services/forms?lang=zh")
        wait_for(driver, lambda d: body_data(d, "designerReady") == "1", what="designer (zh)")
        driver.find_element(By.CSS_SELECTOR, f"button.form-open[data-key='{key}']").click()
        wait_for(driver, lambda d: body_data(d, "formKey") == key and body_data(d, "previewReady") == "1",
                 what="saved form opened")
        driver.find_element(By.CSS_SELECTOR, "li.q-row[data-question='father_id_number'] .q-select").click()
        assert Select(by_id(driver, "q-cond-question")).first_selected_option.get_attribute("value") == "father_known"
        assert "当“父亲信息已知”为“是”时显示" in driver.find_element(
            By.CSS_SELECTOR, "li.q-row[data-question='father_id_number'] .q-cond").text
        save_artifacts(driver, "onecity-forms-3-designer-1280-zh")
        driver.set_window_size(375, 812)
        assert_fits(driver, "designer", 375)
        save_artifacts(driver, "onecity-forms-4-designer-375-zh")

    # ---------------------------------------------------------------- the citizen
    _, citizen_pw = ensure_user(admin, TENANT, "forms-citizen-e2e", "citizen", display_name="王女士")
    citizen = api_login("forms-citizen-e2e", citizen_pw)
    driver.set_window_size(375, 812)
    fill = f"{BASE_URL}/citizen/forms/{key}?tenant={TENANT}"
    with artifacts_on_exit(driver, "onecity-forms-citizen"):
        driver.get(f"{BASE_URL}/login?lang=zh")
        driver.execute_script("localStorage.clear(); localStorage.setItem('onecity.token', arguments[0]);"
                              "localStorage.setItem('onecity.tenant', 'hangzhou');", citizen)
        driver.get(fill + "&lang=zh")
        wait_for(driver, lambda d: body_data(d, "formReady") == "1", what="fill page")
        assert by_id(driver, "form-title").text == "出生医学证明首次签发申请"
        assert_fits(driver, "fill page", 375)
        father = question_wrap(driver, "father_id_number")
        assert not father.is_displayed(), "the branch is hidden until its condition holds"

        question_wrap(driver, "newborn_name").find_element(By.TAG_NAME, "input").send_keys("王小明")
        question_wrap(driver, "newborn_sex").find_element(By.CSS_SELECTOR, "input[value='male']").click()
        date = question_wrap(driver, "birth_date").find_element(By.TAG_NAME, "input")
        driver.execute_script("arguments[0].value = '2025-03-14';"
                              "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", date)
        address = question_wrap(driver, "birth_address")
        address.find_element(By.CSS_SELECTOR, "input.fq-address-text").send_keys("杭州市上城区学士路1号")
        map_el = address.find_element(By.CSS_SELECTOR, ".fq-map")
        wait_for(driver, lambda d: map_el.get_attribute("data-map-ready") == "1", timeout=90, what="map")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", map_el)
        ActionChains(driver).move_to_element_with_offset(map_el, 20, 10).click().perform()
        wait_for(driver, lambda d: address.get_attribute("data-picked") == "1", what="map pick")
        assert "已选位置" in address.find_element(By.CSS_SELECTOR, ".fq-coords").text
        question_wrap(driver, "mother_name").find_element(By.TAG_NAME, "input").send_keys("王丽")
        mother_id = question_wrap(driver, "mother_id_number").find_element(By.TAG_NAME, "input")
        mother_id.send_keys("440308199003070026")  # wrong check digit
        question_wrap(driver, "father_known").find_element(By.CSS_SELECTOR, "input[value='yes']").click()
        wait_for(driver, lambda d: father.is_displayed(), what="the branch appears")
        with tempfile.NamedTemporaryFile(suffix=".png", prefix="出生证明-", delete=False) as f:
            f.write(PNG)
            png_path = f.name
        try:
            proof = question_wrap(driver, "birth_proof")
            proof.find_element(By.CSS_SELECTOR, "input[type='file']").send_keys(png_path)
            wait_for(driver, lambda d: proof.get_attribute("data-files") == "1", what="upload")
        finally:
            os.unlink(png_path)
        assert "PNG" in proof.find_element(By.CSS_SELECTOR, ".fq-files").text

        # First submit: the browser's check lists both problems at their questions.
        by_id(driver, "form-submit").click()
        wait_for(driver, lambda d: body_data(d, "problemCount") == "2", what="two problems")
        assert body_data(driver, "problemSource") == "browser"
        listed = by_id(driver, "form-problems").text
        assert "母亲身份证号: 身份证号校验码错误" in listed, listed
        assert "父亲身份证号: 此项必填（因为“父亲信息已知”选择了“是”）" in listed, listed
        assert "校验码错误" in question_wrap(driver, "mother_id_number").find_element(By.CSS_SELECTOR, ".fq-error").text
        save_artifacts(driver, "onecity-forms-5-citizen-problems-375-zh")

        # The server checks again and refuses with the same problems, shown by question.
        driver.execute_async_script(
            "var done = arguments[0]; window.citizenForm.submitToServer().then(function () { done(); });")
        wait_for(driver, lambda d: body_data(d, "problemSource") == "server", what="server's problems")
        assert body_data(driver, "problemCount") == "2"
        assert body_data(driver, "unplaced") == "0"
        father_error = father.find_element(By.CSS_SELECTOR, ".fq-error")
        assert father_error.is_displayed() and "此项必填" in father_error.text
        save_artifacts(driver, "onecity-forms-6-citizen-server-problems-375-zh")
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", question_wrap(driver, "mother_id_number"))
        save_artifacts(driver, "onecity-forms-6b-citizen-problems-at-fields-375-zh")

        # Corrected, the answers are stored.
        mother_id.clear()
        mother_id.send_keys("440308199003070021")
        father.find_element(By.TAG_NAME, "input").send_keys("11010519491231002X")
        by_id(driver, "form-submit").click()
        wait_for(driver, lambda d: body_data(d, "submitted") == "1", what="submitted")
        sid = body_data(driver, "submissionId")
        assert sid in by_id(driver, "form-done-text").text
        save_artifacts(driver, "onecity-forms-7-citizen-submitted-375-zh")
        _, sub = api("GET", f"/api/v1/tenants/{TENANT}/services/submissions/{urllib.parse.quote(sid)}",
                     token=citizen, expect=(200,))
        answers = sub["answers"]
        assert answers["father_id_number"] == "11010519491231002X"
        assert answers["mother_name"] == "王丽" and answers["newborn_sex"] == "male"
        assert answers["birth_address"]["text"] == "杭州市上城区学士路1号"
        assert 25 < answers["birth_address"]["lat"] < 35 and 115 < answers["birth_address"]["lon"] < 125
        assert answers["birth_proof"][0]["media_type"] == "image/png"
        assert sub["version"] == 1

        # The fill page in English at phone width, and at 1280 px in both languages.
        for width, lang in ((375, "en"), (1280, "zh"), (1280, "en")):
            driver.set_window_size(width, 900)
            driver.get(fill + f"&lang={lang}")
            wait_for(driver, lambda d: body_data(d, "formReady") == "1", what=f"fill page {width} {lang}")
            if lang == "en":
                assert by_id(driver, "form-title").text == "Medical Certificate of Birth (first issue)"
            question_wrap(driver, "father_known").find_element(By.CSS_SELECTOR, "input[value='yes']").click()
            by_id(driver, "form-submit").click()
            wait_for(driver, lambda d: int(body_data(d, "problemCount") or 0) > 0, what="problems listed")
            if lang == "en":
                assert "this question is required because" in by_id(driver, "form-problems").text
            assert_fits(driver, f"fill page {width} {lang}", width)
            driver.execute_script("window.scrollTo(0, 0);")
            save_artifacts(driver, f"onecity-forms-8-citizen-{width}-{lang}")
