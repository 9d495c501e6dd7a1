//! Forms and files (issue 14): a form saved from the designer's questions (the demo's
//! 出生医学证明 design file), answers checked with every problem at its JSON pointer in
//! Chinese and English, the ID number's check digit, the branch required only when its
//! condition holds, versions and breaking changes, uploads (limits, type by content, path
//! tricks), reads audited when not the owner, and where the store keeps the bytes
//! (disk on SQLite, the database on PostgreSQL).

use crate::{assert_problem, fixture, server, Fixture};
use onecity_services::forms::{demo_designs, design, FormDesign, QuestionType};
use onecity_testkit::TestServer;
use serde_json::{json, Value};

const FORMS: &str = "/api/v1/tenants/t1/services/forms";
const FILES: &str = "/api/v1/tenants/t1/files";

/// A 1×1 PNG, a small PDF and a JPEG header: real magic bytes.
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";

fn birth_design() -> FormDesign {
    demo_designs()
        .unwrap()
        .into_iter()
        .find(|d| d.key == "birth-medical-certificate")
        .unwrap()
}

/// The save body the designer sends for `d`.
fn save_body(d: &FormDesign, expected: Option<i64>) -> Value {
    let mut b = json!({
        "item_code": d.item_code,
        "title": d.title,
        "schema": design::to_schema(&d.questions),
        "ui": design::to_ui(&d.questions),
    });
    if let Some(v) = expected {
        b["expected_version"] = json!(v);
    }
    b
}

async fn post_lang(
    s: &TestServer,
    path: &str,
    cred: &str,
    body: &Value,
    accept_language: &str,
) -> (u16, Value) {
    let r = s
        .http
        .post(format!("{}{path}", s.url))
        .bearer_auth(cred)
        .header("Accept-Language", accept_language)
        .json(body)
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    let text = r.text().await.unwrap();
    if st >= 400 {
        onecity_testkit::assert_no_internals(&text);
    }
    (st, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn upload(
    s: &TestServer,
    cred: &str,
    query: &str,
    name: Option<&str>,
    bytes: &[u8],
) -> (u16, Value) {
    let mut req = s
        .http
        .post(format!("{}{FILES}{query}", s.url))
        .bearer_auth(cred)
        .header("Content-Type", "image/png")
        .body(bytes.to_vec());
    if let Some(n) = name {
        req = req.header("X-File-Name", n);
    }
    let r = req.send().await.unwrap();
    let st = r.status().as_u16();
    let text = r.text().await.unwrap();
    if st >= 400 {
        onecity_testkit::assert_no_internals(&text);
    }
    (st, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn pointers(problems: &Value) -> Vec<String> {
    problems
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pointer"].as_str().unwrap().to_string())
        .collect()
}

fn file_ref(f: &Value) -> Value {
    json!({"id": f["id"], "name": f["name"], "media_type": f["media_type"], "size": f["size"]})
}

/// A citizen of t1 (created by the admin), signed in.
async fn citizen(s: &TestServer, f: &Fixture, name: &str) -> (String, String) {
    let (st, u) = s
        .post(
            "/api/v1/tenants/t1/users",
            &f.admin,
            &json!({"username": name, "display_name": name, "password": "Citizen-Pass-123",
                    "kind": "citizen", "roles": []}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{u}");
    let token = s.login(name, "Citizen-Pass-123").await.unwrap();
    (token, format!("user:{}", u["id"].as_str().unwrap()))
}

async fn audit(s: &TestServer, f: &Fixture, action: &str) -> Vec<Value> {
    let (st, page) = s
        .get(
            &format!("/api/v1/tenants/t1/audit?action={action}&limit=500"),
            &f.admin,
        )
        .await
        .unwrap();
    assert_eq!(st, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

/// Valid answers to the birth form, with the citizen's uploaded scan.
fn valid_answers(scan: &Value) -> Value {
    json!({
        "newborn_name": "王小明",
        "newborn_sex": "male",
        "birth_date": "2025-03-14",
        "birth_weight": 3350,
        "birth_place_type": "hospital",
        "hospital_name": "浙江大学医学院附属妇产科医院",
        "birth_address": {"text": "杭州市上城区学士路1号", "lat": 30.2563, "lon": 120.1696},
        "mother_name": "李四",
        "mother_id_number": "440308199003070021",
        "mother_id_scan": [file_ref(scan)],
        "father_known": "no",
        "contact_phone": "13812345678"
    })
}

#[tokio::test]
async fn forms_are_saved_as_versions_and_answers_get_every_problem_by_pointer_in_both_languages() {
    let s = server().await;
    let f = fixture(&s).await;
    let d = birth_design();
    let path = format!("{FORMS}/{}/versions", d.key);

    // Only holders of service_admin save forms.
    let (st, body) = s
        .post(&path, &f.staff_a, &save_body(&d, None))
        .await
        .unwrap();
    assert_problem(st, &body, 403, "forbidden");
    let (st, v1) = s
        .post(&path, &f.admin, &save_body(&d, Some(0)))
        .await
        .unwrap();
    assert_eq!(st, 201, "{v1}");
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["item_code"], "330100-20-WJW-001-000");
    assert_eq!(v1["breaking_changes"], json!([]));
    assert_eq!(v1["schema"]["$schema"], design::DIALECT);
    let audited = audit(&s, &f, "form.version").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0]["resource_id"], "birth-medical-certificate/v1");

    // Anyone of the tenant reads it, a citizen too; the list names its item.
    let (cit, cit_actor) = citizen(&s, &f, "citizen-wang").await;
    let (st, got) = s.get(&format!("{FORMS}/{}", d.key), &cit).await.unwrap();
    assert_eq!(st, 200, "{got}");
    assert_eq!(got["schema"], v1["schema"]);
    assert_eq!(
        got["ui"]["questions"]["father_id_number"]["label"]["zh"],
        "父亲身份证号"
    );
    let (_, list) = s
        .get(
            &format!("{FORMS}?item_code=330100-20-WJW-001-000"),
            &f.staff_b,
        )
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (st, body) = s.get(&format!("{FORMS}/no-such-form"), &cit).await.unwrap();
    assert_problem(st, &body, 404, "not_found");

    // Nothing answered: every required question, by pointer, in Chinese and in English.
    let sub = format!("{FORMS}/{}/submissions", d.key);
    let (st, zh) = post_lang(&s, &sub, &cit, &json!({"answers": {}}), "zh-CN,zh;q=0.9").await;
    assert_problem(st, &zh, 422, "invalid_input");
    let expected = [
        "/newborn_name",
        "/newborn_sex",
        "/birth_date",
        "/birth_weight",
        "/birth_place_type",
        "/birth_address",
        "/mother_name",
        "/mother_id_number",
        "/mother_id_scan",
        "/father_known",
        "/contact_phone",
    ];
    assert_eq!(pointers(&zh["problems"]), expected);
    assert!(zh["problems"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["message"] == "此项必填" && p["keyword"] == "required"));
    assert_eq!(zh["detail"], "答案有11处问题，未提交");
    let (st, en) = post_lang(&s, &sub, &cit, &json!({"answers": {}, "lang": "en"}), "zh").await;
    assert_eq!(st, 422);
    assert_eq!(pointers(&en["problems"]), expected);
    assert_eq!(en["problems"][0]["message"], "this question is required");
    assert_eq!(
        en["detail"],
        "the answers have 11 problems and were not submitted"
    );

    // The citizen's scan, then answers that pass.
    let (st, scan) = upload(
        &s,
        &cit,
        "?form=birth-medical-certificate&question=mother_id_scan",
        Some("%E8%BA%AB%E4%BB%BD%E8%AF%81.png"),
        PNG,
    )
    .await;
    assert_eq!(st, 201, "{scan}");
    assert_eq!(scan["name"], "身份证.png");
    assert_eq!(scan["owner"], cit_actor);
    let good = valid_answers(&scan);

    // A wrong check digit is refused, in both languages, and nothing is stored.
    let mut bad = good.clone();
    bad["mother_id_number"] = json!("440308199003070026");
    let (st, zh) = post_lang(&s, &sub, &cit, &json!({"answers": bad}), "zh").await;
    assert_eq!(st, 422, "{zh}");
    assert_eq!(pointers(&zh["problems"]), ["/mother_id_number"]);
    assert_eq!(zh["problems"][0]["keyword"], "format");
    assert_eq!(zh["problems"][0]["message"], "身份证号校验码错误");
    let (_, en) = post_lang(&s, &sub, &cit, &json!({"answers": bad}), "en").await;
    assert_eq!(
        en["problems"][0]["message"],
        "the check digit of the identity number is wrong (GB 11643-1999): the last character should be 1, not 6"
    );
    assert!(audit(&s, &f, "form.submit").await.is_empty());

    // The branch: father's details are required only when 父亲信息已知 = 是 …
    let mut yes = good.clone();
    yes["father_known"] = json!("yes");
    let (_, r) = post_lang(&s, &sub, &cit, &json!({"answers": yes}), "zh").await;
    assert_eq!(
        pointers(&r["problems"]),
        ["/father_name", "/father_id_number"]
    );
    assert_eq!(
        r["problems"][0]["message"],
        "此项必填（因为“父亲信息已知”选择了“是”）"
    );
    // … and refused when it does not hold.
    let mut stray = good.clone();
    stray["father_name"] = json!("王五");
    let (_, r) = post_lang(&s, &sub, &cit, &json!({"answers": stray}), "en").await;
    assert_eq!(pointers(&r["problems"]), ["/father_name"]);
    assert_eq!(r["problems"][0]["keyword"], "falseSchema");
    // The other branch of the form: a home birth asks for the attendant and a proof.
    let mut home = good.clone();
    home["birth_place_type"] = json!("home");
    let (_, r) = post_lang(&s, &sub, &cit, &json!({"answers": home}), "en").await;
    assert_eq!(
        pointers(&r["problems"]),
        [
            "/hospital_name",
            "/home_birth_attendant",
            "/home_birth_proof"
        ]
    );

    // The check endpoint answers the same without storing.
    let (st, c) = post_lang(
        &s,
        &format!("{FORMS}/{}/check", d.key),
        &cit,
        &json!({"answers": yes}),
        "en",
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(c["valid"], false);
    assert_eq!(c["problems"].as_array().unwrap().len(), 2);

    // With the father's details, the answers are stored, pinned to version 1.
    yes["father_name"] = json!("王五");
    yes["father_id_number"] = json!("11010519491231002X");
    let (st, saved) = post_lang(&s, &sub, &cit, &json!({"answers": yes}), "zh").await;
    assert_eq!(st, 201, "{saved}");
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["submitter"], cit_actor);
    let sid = saved["id"].as_str().unwrap();
    let (st, back) = s
        .get(
            &format!("/api/v1/tenants/t1/services/submissions/{sid}"),
            &cit,
        )
        .await
        .unwrap();
    assert_eq!(st, 200);
    assert_eq!(back["answers"], yes);
    let (st, _) = s
        .get(
            &format!("/api/v1/tenants/t1/services/submissions/{sid}"),
            &f.staff_a,
        )
        .await
        .unwrap();
    assert_eq!(st, 404);
    let (st, _) = s
        .get(
            &format!("/api/v1/tenants/t1/services/submissions/{sid}"),
            &f.admin,
        )
        .await
        .unwrap();
    assert_eq!(st, 200);
    assert_eq!(audit(&s, &f, "form.submit").await.len(), 1);

    // Another's file cannot be named in one's answers.
    let (other, _) = citizen(&s, &f, "citizen-li").await;
    let (st, r) = post_lang(&s, &sub, &other, &json!({"answers": good}), "en").await;
    assert_eq!(st, 422);
    assert_eq!(pointers(&r["problems"]), ["/mother_id_scan/0"]);
    assert_eq!(r["problems"][0]["keyword"], "file");
    // Nor a file reference that lies about the stored file.
    let mut lie = good.clone();
    lie["mother_id_scan"][0]["size"] = json!(99);
    let (_, r) = post_lang(&s, &sub, &cit, &json!({"answers": lie}), "en").await;
    assert_eq!(
        r["problems"][0]["message"],
        "does not match the uploaded file"
    );

    // Versions: removing a question and retyping another is a new version with its
    // breaking changes; version 1 is unchanged and answers can still be checked on it.
    let mut d2 = d.clone();
    d2.questions.retain(|q| q.id != "contact_phone");
    let weight = d2
        .questions
        .iter_mut()
        .find(|q| q.id == "birth_weight")
        .unwrap();
    weight.integer = false;
    let (st, body) = s
        .post(&path, &f.admin, &save_body(&d2, Some(0)))
        .await
        .unwrap();
    assert_problem(st, &body, 409, "conflict");
    let (st, v2) = s
        .post(&path, &f.admin, &save_body(&d2, Some(1)))
        .await
        .unwrap();
    assert_eq!(st, 201, "{v2}");
    assert_eq!(v2["version"], 2);
    assert_eq!(
        v2["breaking_changes"],
        json!([
            {"question": "birth_weight", "change": "retyped", "detail": "integer → number"},
            {"question": "contact_phone", "change": "removed", "detail": "text"}
        ])
    );
    let (_, old) = s
        .get(&format!("{FORMS}/{}?version=1", d.key), &cit)
        .await
        .unwrap();
    assert_eq!(old["schema"], v1["schema"]);
    let (_, versions) = s
        .get(&format!("{FORMS}/{}/versions", d.key), &cit)
        .await
        .unwrap();
    assert_eq!(versions.as_array().unwrap().len(), 2);
    let mut no_phone = good.clone();
    no_phone.as_object_mut().unwrap().remove("contact_phone");
    let (_, r) = post_lang(
        &s,
        &format!("{FORMS}/{}/check", d.key),
        &cit,
        &json!({"answers": no_phone, "version": 1}),
        "en",
    )
    .await;
    assert_eq!(pointers(&r["problems"]), ["/contact_phone"]);
    let (_, r) = post_lang(
        &s,
        &format!("{FORMS}/{}/check", d.key),
        &cit,
        &json!({"answers": no_phone}),
        "en",
    )
    .await;
    assert_eq!(r["valid"], true, "{r}");
    assert_eq!(r["version"], 2);
    let audited = audit(&s, &f, "form.version").await;
    assert!(audited[1]["detail"]
        .as_str()
        .unwrap()
        .contains("contact_phone"));
}

#[tokio::test]
async fn schemas_the_designer_cannot_show_are_refused_with_every_problem() {
    let s = server().await;
    let f = fixture(&s).await;
    let d = birth_design();
    let path = format!("{FORMS}/{}/versions", d.key);
    // A hand edit: a property not in the hints, and a changed keyword.
    let mut body = save_body(&d, None);
    body["schema"]["properties"]["extra"] = json!({"type": "string"});
    body["schema"]["properties"]["newborn_name"]["minLength"] = json!(5);
    let (st, r) = post_lang(&s, &path, &f.admin, &body, "en").await;
    assert_problem(st, &r, 422, "invalid_input");
    assert_eq!(pointers(&r["problems"]), ["/schema/properties/extra"]);
    body["schema"]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("extra");
    let (_, r) = post_lang(&s, &path, &f.admin, &body, "zh").await;
    assert_eq!(
        pointers(&r["problems"]),
        ["/schema/properties/newborn_name/minLength"]
    );
    assert!(r["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("设计器"));
    // Design problems: a condition on a later question, a duplicate id, a bad item code.
    let mut bad = d.clone();
    bad.item_code = "has spaces".into();
    bad.questions[1].id = "newborn_name".into();
    bad.questions[5].show_when.as_mut().unwrap().question = "father_known".into();
    let (_, r) = post_lang(&s, &path, &f.admin, &save_body(&bad, None), "en").await;
    let ps = pointers(&r["problems"]);
    assert!(ps.contains(&"/item_code".to_string()), "{ps:?}");
    assert!(ps.contains(&"/questions/1/id".to_string()), "{ps:?}");
    assert!(
        ps.contains(&"/questions/5/show_when/question".to_string()),
        "{ps:?}"
    );
    // Nothing was saved.
    let (st, _) = s
        .get(&format!("{FORMS}/{}", d.key), &f.admin)
        .await
        .unwrap();
    assert_eq!(st, 404);
    assert!(audit(&s, &f, "form.version").await.is_empty());
}

#[tokio::test]
async fn uploads_are_checked_by_content_size_count_and_name_and_reads_by_others_are_audited() {
    let s = server().await;
    let f = fixture(&s).await;
    // A form whose scan question takes one or two PNG or JPEG images of at most 200 bytes.
    let mut d = birth_design();
    d.key = "images-only".into();
    let scan = d
        .questions
        .iter_mut()
        .find(|q| q.id == "mother_id_scan")
        .unwrap();
    assert_eq!(scan.kind, QuestionType::File);
    scan.accept = vec!["image/png".into(), "image/jpeg".into()];
    scan.max_size = Some(200);
    let (st, body) = s
        .post(
            &format!("{FORMS}/images-only/versions"),
            &f.admin,
            &save_body(&d, None),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{body}");
    let q = "?form=images-only&question=mother_id_scan";

    // By content: a .png name over PDF bytes is a PDF (the default policy takes it as one;
    // the images-only question refuses it); text named .png is no accepted type at all.
    let (st, pdf) = upload(&s, &f.staff_a, "", Some("scan.png"), PDF).await;
    assert_eq!(st, 201, "{pdf}");
    assert_eq!(pdf["media_type"], "application/pdf");
    let (st, r) = upload(&s, &f.staff_a, q, Some("scan.png"), PDF).await;
    assert_problem(st, &r, 415, "unsupported_media_type");
    assert!(r["detail"].as_str().unwrap().contains("PDF"), "{r}");
    assert!(r["detail"].as_str().unwrap().contains("PNG, JPEG"), "{r}");
    let (st, r) = upload(
        &s,
        &f.staff_a,
        "",
        Some("photo.png"),
        b"just text, not an image",
    )
    .await;
    assert_problem(st, &r, 415, "unsupported_media_type");
    // Size.
    let mut big = PNG.to_vec();
    big.resize(201, 0);
    let (st, r) = upload(&s, &f.staff_a, q, Some("big.png"), &big).await;
    assert_problem(st, &r, 413, "payload_too_large");
    // Names with path tricks, NUL, control characters; a missing name.
    for name in [
        "../x.png",
        "a%2Fb.png",
        "..%5C..%5Cboot.png",
        "%2Fetc%2Fpasswd",
        "C%3A%5Cx.png",
        "x%00.png",
        "a%0Ab.png",
        "..",
    ] {
        let (st, r) = upload(&s, &f.staff_a, "", Some(name), PNG).await;
        assert_problem(st, &r, 422, "invalid_input");
        let detail = r["detail"].as_str().unwrap();
        assert!(detail.contains("file name"), "{name}: {detail}");
    }
    let (st, r) = upload(&s, &f.staff_a, "", None, PNG).await;
    assert_problem(st, &r, 422, "invalid_input");
    assert!(r["detail"].as_str().unwrap().contains("X-File-Name"));
    let (st, r) = upload(&s, &f.staff_a, "?form=images-only", Some("x.png"), PNG).await;
    assert_problem(st, &r, 400, "invalid_query");
    let (st, r) = upload(
        &s,
        &f.staff_a,
        "?form=images-only&question=newborn_name",
        Some("x.png"),
        PNG,
    )
    .await;
    assert_problem(st, &r, 422, "invalid_input");

    // Count: the question takes at most two files.
    let mut refs = Vec::new();
    let mut owner = Value::Null;
    for i in 0..3 {
        let (st, up) = upload(&s, &f.staff_a, q, Some(&format!("scan-{i}.png")), PNG).await;
        assert_eq!(st, 201, "{up}");
        assert_eq!(up["media_type"], "image/png");
        owner = up["owner"].clone();
        refs.push(file_ref(&up));
    }
    let mut answers = valid_answers(&Value::Null);
    answers["mother_id_scan"] = json!(refs);
    let (_, r) = post_lang(
        &s,
        &format!("{FORMS}/images-only/check"),
        &f.staff_a,
        &json!({"answers": answers}),
        "en",
    )
    .await;
    assert_eq!(pointers(&r["problems"]), ["/mother_id_scan"]);
    assert_eq!(r["problems"][0]["message"], "upload at most 2 files");
    answers["mother_id_scan"] = json!([refs[0], refs[1]]);
    let (_, r) = post_lang(
        &s,
        &format!("{FORMS}/images-only/check"),
        &f.staff_a,
        &json!({"answers": answers}),
        "en",
    )
    .await;
    assert_eq!(r["valid"], true, "{r}");

    // Reads: the owner's is not audited; another staff member without service_admin gets
    // 404; the tenant admin reads it, and that read is audited.
    let id = refs[0]["id"].as_str().unwrap();
    let r = s
        .http
        .get(format!("{}{FILES}/{id}", s.url))
        .bearer_auth(&f.staff_a)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);
    assert!(audit(&s, &f, "file.read").await.is_empty());
    let (st, body) = s.get(&format!("{FILES}/{id}"), &f.staff_b).await.unwrap();
    assert_problem(st, &body, 404, "not_found");
    let (st, _) = s
        .get(&format!("{FILES}/{id}/meta"), &f.staff_b)
        .await
        .unwrap();
    assert_eq!(st, 404);
    let r = s
        .http
        .get(format!("{}{FILES}/{id}", s.url))
        .bearer_auth(&f.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);
    let reads = audit(&s, &f, "file.read").await;
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0]["resource_id"], id);
    assert_ne!(reads[0]["actor"], owner);
    assert!(reads[0]["detail"].as_str().unwrap().contains("scan-0.png"));
    assert_eq!(audit(&s, &f, "file.upload").await.len(), 4);
    // Another tenant's path does not find it.
    let (st, _) = s
        .get(&format!("/api/v1/tenants/nowhere/files/{id}"), &f.admin)
        .await
        .unwrap();
    assert_eq!(st, 404);

    // Where the bytes are: on SQLite a file named by its SHA-256 under the data directory;
    // on PostgreSQL a row of the database, read back by a file store on that database.
    let sha = pdf["sha256"].as_str().unwrap();
    let db = s.open_store().await.unwrap();
    let store = onecity_store::files::FileStore::new(db.clone());
    assert_eq!(store.content(sha).await.unwrap(), PDF);
    let on_disk = s.data_dir.path().join("files").join(&sha[..2]).join(sha);
    match s.database_url {
        None => assert_eq!(std::fs::read(&on_disk).unwrap(), PDF),
        Some(_) => {
            assert!(store.path_of(sha).is_none());
            assert!(!s.data_dir.path().join("files").exists());
        }
    }
    db.close().await;
}
