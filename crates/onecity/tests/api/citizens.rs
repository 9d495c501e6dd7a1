//! Citizens (issue 13): code registration through a local SMS receiver, real-name through a
//! local verification service, the read that requires `substantial`, companies and
//! mandates.

use crate::{assert_problem, fixture, server_with};
use onecity_testkit::{Options, TestServer};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

type Inbox = Arc<Mutex<Vec<Value>>>;

/// A local SMS gateway: records every JSON body (and the bearer token) it receives.
async fn sms_receiver() -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    let i = inbox.clone();
    let app = axum::Router::new().route(
        "/sms",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::Json<Value>| {
                let i = i.clone();
                async move {
                    let mut b = body.0;
                    b["authorization"] = json!(headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or(""));
                    i.lock().unwrap().push(b);
                    axum::http::StatusCode::ACCEPTED
                }
            },
        ),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, inbox)
}

/// A local identity verification service that knows two (synthetic) persons.
async fn verifier() -> String {
    let app = axum::Router::new().route(
        "/verify",
        axum::routing::post(|body: axum::Json<Value>| async move {
            let known = [
                ("张三", "11010519491231002X"),
                ("李四", "440308199003070021"),
            ];
            let m = known
                .iter()
                .any(|(n, id)| body["name"] == *n && body["id_number"] == *id);
            axum::Json(json!({ "match": m }))
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/verify", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    url
}

async fn start() -> (TestServer, Inbox) {
    let (sms, inbox) = sms_receiver().await;
    let v = verifier().await;
    let s = server_with(Options {
        env: vec![
            ("ONECITY_SMS_GATEWAY_URL".into(), sms),
            ("ONECITY_SMS_GATEWAY_TOKEN".into(), "gw-token".into()),
            ("ONECITY_IDENTITY_VERIFIER_URL".into(), v),
        ],
        ..Default::default()
    })
    .await;
    (s, inbox)
}

/// The 6-digit code of the latest message to `to`.
fn code_for(inbox: &Inbox, to: &str) -> String {
    let msgs = inbox.lock().unwrap();
    let m = msgs
        .iter()
        .rev()
        .find(|m| m["to"] == to)
        .unwrap_or_else(|| panic!("no SMS to {to}: {msgs:?}"));
    let text = m["text"].as_str().unwrap();
    let digits: Vec<char> = text.chars().collect();
    for w in digits.windows(6) {
        if w.iter().all(char::is_ascii_digit) {
            return w.iter().collect();
        }
    }
    panic!("no code in {text}");
}

async fn post_anon(s: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    let r = s
        .http
        .post(format!("{}{path}", s.url))
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

/// Registers a citizen of t1 with `phone` (11 digits); returns its token.
async fn register(s: &TestServer, inbox: &Inbox, phone: &str) -> String {
    let (st, body) = post_anon(
        s,
        "/api/v1/tenants/t1/citizens/register/start",
        &json!({ "identifier": phone }),
    )
    .await;
    assert_eq!(st, 202, "{body}");
    let code = code_for(inbox, &format!("+86{phone}"));
    let (st, body) = post_anon(
        s,
        "/api/v1/tenants/t1/citizens/register/verify",
        &json!({ "identifier": phone, "code": code }),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    body["token"].as_str().unwrap().to_string()
}

async fn ckan(s: &TestServer, action: &str, cred: &str, body: &Value) -> (u16, Value) {
    let r = s
        .http
        .post(format!("{}/api/3/action/{action}", s.url))
        .header("Authorization", format!("Bearer {cred}"))
        .json(body)
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap())
}

#[tokio::test]
async fn a_citizen_registers_by_code_reaches_real_name_and_then_reads_a_guarded_table() {
    let (s, inbox) = start().await;
    let f = fixture(&s).await;

    // A public datastore table whose reading requires `substantial`.
    let (_, pkg) = ckan(&s, "package_create", &f.admin, &json!({
        "name": "social-benefits", "title": "社保待遇 Social benefits", "owner_org": f.dept_a, "domain": "G",
        "grade": "general", "open_level": "unconditional", "update_frequency": "daily",
        "fields": [{"name": "item", "type": "text"}, {"name": "amount", "type": "integer"}],
        "resources": [{"url": "https://data.example.cn/benefits.csv", "format": "csv", "name": "待遇"}]
    })).await;
    assert_eq!(pkg["success"], true, "{pkg}");
    let rid = pkg["result"]["resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, body) = ckan(&s, "datastore_create", &f.admin, &json!({
        "resource_id": rid, "tenant": "t1", "public": true, "records": [{"item": "养老金", "amount": 3200}]
    })).await;
    assert_eq!(st, 200, "{body}");
    let r = s
        .http
        .put(format!("{}/api/v1/tenants/t1/read-assurance/{rid}", s.url))
        .bearer_auth(&f.admin)
        .json(&json!({"min_level": "substantial"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Staff without datastore:write may not change it.
    let r = s
        .http
        .put(format!("{}/api/v1/tenants/t1/read-assurance/{rid}", s.url))
        .bearer_auth(&f.staff_a)
        .json(&json!({"min_level": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Register: the code goes to the local SMS gateway, with the bearer token.
    let (st, sent) = post_anon(
        &s,
        "/api/v1/tenants/t1/citizens/register/start",
        &json!({"identifier": "138 1234 5678"}),
    )
    .await;
    assert_eq!(st, 202, "{sent}");
    assert_eq!(
        sent,
        json!({"sent_to": "+86138****5678", "expires_in_secs": 300, "code_length": 6})
    );
    {
        let msgs = inbox.lock().unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0]["to"], "+8613812345678");
        assert_eq!(msgs[0]["purpose"], "register");
        assert_eq!(msgs[0]["authorization"], "Bearer gw-token");
        assert!(msgs[0]["text"].as_str().unwrap().contains("验证码"));
    }
    let code = code_for(&inbox, "+8613812345678");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (st, body) = post_anon(
        &s,
        "/api/v1/tenants/t1/citizens/register/verify",
        &json!({"identifier": "13812345678", "code": wrong}),
    )
    .await;
    assert_problem(st, &body, 401, "code_invalid");
    let (st, session) = post_anon(
        &s,
        "/api/v1/tenants/t1/citizens/register/verify",
        &json!({"identifier": "+8613812345678", "code": code, "password": "Citizen-Pw-2026", "display_name": "张三"}),
    )
    .await;
    assert_eq!(st, 200, "{session}");
    assert_eq!(session["assurance"], "low");
    let token = session["token"].as_str().unwrap().to_string();
    // Single use.
    let (st, body) = post_anon(
        &s,
        "/api/v1/tenants/t1/citizens/register/verify",
        &json!({"identifier": "13812345678", "code": code}),
    )
    .await;
    assert_problem(st, &body, 401, "code_invalid");
    let (st, me) = s.get("/api/v1/auth/me", &token).await.unwrap();
    assert_eq!(st, 200);
    assert_eq!(me["kind"], "citizen");
    assert_eq!(me["assurance"], "low");
    assert_eq!(me["tenant"], "t1");
    assert_eq!(me["username"], "+8613812345678");
    // The password set at registration works with the phone as login name.
    s.login("+8613812345678", "Citizen-Pw-2026").await.unwrap();

    // Start answers alike for a registered and an unregistered phone.
    let (st1, a) = post_anon(
        &s,
        "/api/v1/tenants/t1/citizens/sign-in/start",
        &json!({"identifier": "13812345678"}),
    )
    .await;
    let (st2, b) = post_anon(
        &s,
        "/api/v1/tenants/t1/citizens/sign-in/start",
        &json!({"identifier": "13900001111"}),
    )
    .await;
    assert_eq!((st1, st2), (202, 202));
    assert_eq!(a["expires_in_secs"], b["expires_in_secs"]);
    assert_eq!(
        a.as_object().unwrap().keys().collect::<Vec<_>>(),
        b.as_object().unwrap().keys().collect::<Vec<_>>()
    );
    // Code sign-in reaches the same account.
    let code = code_for(&inbox, "+8613812345678");
    let (st, again) = post_anon(
        &s,
        "/api/v1/tenants/t1/citizens/sign-in/verify",
        &json!({"identifier": "13812345678", "code": code}),
    )
    .await;
    assert_eq!(st, 200, "{again}");
    assert_eq!(again["principal_id"], session["principal_id"]);

    // Read refused below substantial: problem+json for the dump, the CKAN error for search.
    let (st, body) = s
        .get(&format!("/datastore/dump/{rid}"), &token)
        .await
        .unwrap();
    assert_problem(st, &body, 403, "assurance_too_low");
    assert_eq!(body["required_level"], "substantial");
    assert_eq!(body["current_level"], "low");
    let (st, body) = ckan(&s, "datastore_search", &token, &json!({"resource_id": rid})).await;
    assert_eq!(st, 403, "{body}");
    assert_eq!(body["error"]["code"], "assurance_too_low");
    assert_eq!(body["error"]["required_level"], "substantial");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("substantial"));
    let (st, body) = ckan(
        &s,
        "datastore_search_sql",
        &token,
        &json!({"sql": format!("SELECT item FROM \"{rid}\"")}),
    )
    .await;
    assert_eq!(st, 403, "{body}");

    // Real-name: a wrong check digit is refused with a message in zh and en.
    let (st, body) = s
        .post(
            "/api/v1/auth/real-name",
            &token,
            &json!({"name": "张三", "id_number": "110105194912310021"}),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 422, "invalid_id_number");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("校验码错误") && detail.contains("check digit"),
        "{detail}"
    );
    // A valid number with another name: not confirmed by the register.
    let (st, body) = s
        .post(
            "/api/v1/auth/real-name",
            &token,
            &json!({"name": "王五", "id_number": "11010519491231002X"}),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 422, "identity_not_confirmed");
    let (st, rn) = s
        .post(
            "/api/v1/auth/real-name",
            &token,
            &json!({"name": "张三", "id_number": "11010519491231002x"}),
        )
        .await
        .unwrap();
    assert_eq!(st, 200, "{rn}");
    assert_eq!(rn["level"], "substantial");
    assert_eq!(rn["id_number_masked"], "110105********002X");
    assert_eq!(rn["birth_date"], "1949-12-31");
    assert_eq!(rn["verifier"], "http");
    assert_eq!(rn["synthetic"], false);
    let (_, me) = s.get("/api/v1/auth/me", &token).await.unwrap();
    assert_eq!(me["assurance"], "substantial");
    assert_eq!(me["display_name"], "张三");
    // Now the read is allowed.
    let (st, body) = ckan(&s, "datastore_search", &token, &json!({"resource_id": rid})).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["result"]["records"][0]["item"], "养老金");
    let (st, _) = s
        .get(&format!("/datastore/dump/{rid}"), &token)
        .await
        .unwrap();
    assert_eq!(st, 200);
    // Another account may not take the same identity number.
    let other = register(&s, &inbox, "13700002222").await;
    let (st, body) = s
        .post(
            "/api/v1/auth/real-name",
            &other,
            &json!({"name": "张三", "id_number": "11010519491231002X"}),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 409, "conflict");

    // The audit trail holds the registration and the real-name record (masked number).
    let (st, audit) = s
        .get(
            "/api/v1/tenants/t1/audit?action=citizen.real_name",
            &f.admin,
        )
        .await
        .unwrap();
    assert_eq!(st, 200);
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{audit}");
    assert_eq!(
        items[0]["detail"],
        "id_number=110105********002X level=substantial verifier=http synthetic=false"
    );
    assert!(!audit.to_string().contains("11010519491231002X"));
}

#[tokio::test]
async fn codes_expire_after_attempts_and_sending_is_limited() {
    let (s, inbox) = start().await;
    fixture(&s).await;
    let start_code = |id: &'static str| {
        let s = &s;
        async move {
            post_anon(
                s,
                "/api/v1/tenants/t1/citizens/register/start",
                &json!({ "identifier": id }),
            )
            .await
        }
    };
    // Bad identifiers are named.
    let (st, body) = start_code("12345").await;
    assert_problem(st, &body, 422, "invalid_input");
    assert!(body["detail"].as_str().unwrap().contains("E.164"));
    // E-mail goes through the same gateway.
    let (st, _) = start_code("Li.Si@Example.cn").await;
    assert_eq!(st, 202);
    assert_eq!(code_for(&inbox, "li.si@example.cn").len(), 6);
    // Five wrong tries kill the code: the right one then fails too.
    let (st, _) = start_code("13600003333").await;
    assert_eq!(st, 202);
    let code = code_for(&inbox, "+8613600003333");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let (st, body) = post_anon(
            &s,
            "/api/v1/tenants/t1/citizens/sign-in/verify",
            &json!({"identifier": "13600003333", "code": wrong}),
        )
        .await;
        assert_problem(st, &body, 401, "code_invalid");
    }
    let (st, body) = post_anon(
        &s,
        "/api/v1/tenants/t1/citizens/sign-in/verify",
        &json!({"identifier": "13600003333", "code": code}),
    )
    .await;
    assert_problem(st, &body, 401, "code_invalid");
    // A new code works (and only the latest code counts).
    let (st, _) = start_code("13600003333").await;
    assert_eq!(st, 202);
    let code2 = code_for(&inbox, "+8613600003333");
    let (st, body) = post_anon(
        &s,
        "/api/v1/tenants/t1/citizens/sign-in/verify",
        &json!({"identifier": "13600003333", "code": code2}),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    // Sending: 5 codes per phone per hour, then 429 with Retry-After.
    for _ in 0..3 {
        assert_eq!(start_code("13600003333").await.0, 202);
    }
    let r = s
        .http
        .post(format!(
            "{}/api/v1/tenants/t1/citizens/register/start",
            s.url
        ))
        .json(&json!({"identifier": "13600003333"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "code_throttled");
    // Guessing: 10 tries per phone per 15 minutes across codes.
    let (st, _) = start_code("13500004444").await;
    assert_eq!(st, 202);
    let mut last = 0;
    for i in 0..11 {
        let (st, _) = post_anon(
            &s,
            "/api/v1/tenants/t1/citizens/sign-in/verify",
            &json!({"identifier": "13500004444", "code": format!("{:06}", 999_990 + i)}),
        )
        .await;
        last = st;
    }
    assert_eq!(last, 429);
    // Unknown tenant.
    let (st, body) = post_anon(
        &s,
        "/api/v1/tenants/nope/citizens/register/start",
        &json!({"identifier": "13812345678"}),
    )
    .await;
    assert_eq!(st, 404, "{body}");
}

#[tokio::test]
async fn company_staff_act_under_a_mandate_until_it_is_revoked() {
    let (s, inbox) = start().await;
    let f = fixture(&s).await;
    let rep = register(&s, &inbox, "13812345678").await;
    let agent = register(&s, &inbox, "13900001111").await;
    let (_, agent_me) = s.get("/api/v1/auth/me", &agent).await.unwrap();
    let agent_id = agent_me["id"].as_str().unwrap().to_string();
    // Below substantial, nobody registers a company.
    let company = json!({"credit_code": "91350100M000100Y43", "name": "福州示例科技有限公司"});
    let (st, body) = s
        .post("/api/v1/tenants/t1/companies", &rep, &company)
        .await
        .unwrap();
    assert_problem(st, &body, 403, "assurance_too_low");
    let (st, body) = s
        .post(
            "/api/v1/auth/real-name",
            &rep,
            &json!({"name": "张三", "id_number": "11010519491231002X"}),
        )
        .await
        .unwrap();
    assert_eq!(st, 200, "{body}");
    // A wrong check character is refused, in zh and en, naming the right one.
    let (st, body) = s
        .post(
            "/api/v1/tenants/t1/companies",
            &rep,
            &json!({"credit_code": "91350100M000100Y44", "name": "福州示例科技有限公司"}),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 422, "invalid_credit_code");
    let d = body["detail"].as_str().unwrap();
    assert!(d.contains("校验码错误") && d.contains("should be 3"), "{d}");
    let (st, c) = s
        .post("/api/v1/tenants/t1/companies", &rep, &company)
        .await
        .unwrap();
    assert_eq!(st, 201, "{c}");
    assert_eq!(c["credit_code"], "91350100M000100Y43");
    let (st, body) = s
        .post("/api/v1/tenants/t1/companies", &rep, &company)
        .await
        .unwrap();
    assert_problem(st, &body, 409, "conflict");
    let base = "/api/v1/tenants/t1/companies/91350100M000100Y43";
    // The legal representative acts without a mandate.
    let decl = json!({"item": "SB001", "content": {"year": 2026, "employees": 12}});
    let (st, body) = s
        .post(&format!("{base}/declarations"), &rep, &decl)
        .await
        .unwrap();
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["capacity"], "legal_representative");
    assert_eq!(body["mandate_id"], Value::Null);
    // The agent has no mandate yet.
    let (st, body) = s
        .post(&format!("{base}/declarations"), &agent, &decl)
        .await
        .unwrap();
    assert_problem(st, &body, 403, "no_mandate");
    // Only the representative grants.
    let until = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let grant = json!({"agent": "13900001111", "actions": ["SB001"], "valid_until": until});
    let (st, _) = s
        .post(&format!("{base}/mandates"), &agent, &grant)
        .await
        .unwrap();
    assert_eq!(st, 403);
    let (st, m) = s
        .post(&format!("{base}/mandates"), &rep, &grant)
        .await
        .unwrap();
    assert_eq!(st, 201, "{m}");
    assert_eq!(m["agent_id"], agent_id.as_str());
    assert_eq!(m["state"], "active");
    let mandate = m["id"].as_str().unwrap().to_string();
    // The agent acts under it, for the covered item only.
    let (st, act) = s
        .post(&format!("{base}/declarations"), &agent, &decl)
        .await
        .unwrap();
    assert_eq!(st, 201, "{act}");
    assert_eq!(act["capacity"], "mandate");
    assert_eq!(act["mandate_id"], mandate.as_str());
    assert_eq!(act["person_id"], agent_id.as_str());
    let (st, body) = s
        .post(
            &format!("{base}/declarations"),
            &agent,
            &json!({"item": "SB002", "content": {}}),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 403, "no_mandate");
    // The agent sees the company; the audit record names the person and the mandate.
    let (st, _) = s.get(base, &agent).await.unwrap();
    assert_eq!(st, 200);
    let (_, audit) = s
        .get("/api/v1/tenants/t1/audit?action=company.act", &f.admin)
        .await
        .unwrap();
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{audit}");
    assert_eq!(items[1]["actor"], format!("user:{agent_id}"));
    assert_eq!(
        items[1]["detail"],
        format!("action=SB001 person=user:{agent_id} mandate={mandate}")
    );
    assert_eq!(
        items[0]["detail"],
        format!(
            "action=SB001 person=user:{} mandate=legal_representative",
            c["legal_representative_id"].as_str().unwrap()
        )
    );
    // Revoked: refused at once.
    let r = s
        .http
        .delete(format!("{}{base}/mandates/{mandate}", s.url))
        .bearer_auth(&rep)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (st, body) = s
        .post(&format!("{base}/declarations"), &agent, &decl)
        .await
        .unwrap();
    assert_problem(st, &body, 403, "mandate_revoked");
    assert!(body["detail"].as_str().unwrap().contains("授权已撤销"));
    // Expired: a mandate valid two seconds is refused after it.
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let (st, _) = s
        .post(
            &format!("{base}/mandates"),
            &rep,
            &json!({"agent": agent_id, "actions": ["*"], "valid_until": soon}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201);
    let (st, _) = s
        .post(&format!("{base}/declarations"), &agent, &decl)
        .await
        .unwrap();
    assert_eq!(st, 201);
    tokio::time::sleep(std::time::Duration::from_millis(2000)).await;
    let (st, body) = s
        .post(&format!("{base}/declarations"), &agent, &decl)
        .await
        .unwrap();
    assert_problem(st, &body, 403, "mandate_expired");
    let (st, list) = s.get(&format!("{base}/mandates"), &rep).await.unwrap();
    assert_eq!(st, 200);
    let states: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["expired", "revoked"]);
    let (_, refused) = s
        .get(
            "/api/v1/tenants/t1/audit?action=company.act_refused",
            &f.admin,
        )
        .await
        .unwrap();
    assert_eq!(refused["items"].as_array().unwrap().len(), 4, "{refused}");
}
