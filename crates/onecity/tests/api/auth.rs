use crate::{assert_problem, fixture, server};
use base64::Engine;
use serde_json::{json, Value};

#[tokio::test]
async fn login_gives_a_token_that_works_and_wrong_passwords_fail() {
    let s = server().await;
    let t = s.admin_token().await.unwrap();
    let (st, me) = s.get("/api/v1/auth/me", &t).await.unwrap();
    assert_eq!(st, 200);
    assert_eq!(me["username"], "admin");
    let (st, body) = s
        .post(
            "/api/v1/auth/login",
            "",
            &json!({"username":"admin","password":"wrong-password"}),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 401, "invalid_credentials");
    let (st, body) = s
        .post(
            "/api/v1/auth/login",
            "",
            &json!({"username":"nobody","password":"wrong-password"}),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 401, "invalid_credentials");
    let (st, body) = s.get("/api/v1/auth/me", "").await.unwrap();
    assert_eq!(st, 401, "{body}");
}

#[tokio::test]
async fn five_failed_logins_lock_the_account_with_retry_after() {
    let s = server().await;
    for _ in 0..5 {
        let (st, _) = s
            .post(
                "/api/v1/auth/login",
                "",
                &json!({"username":"admin","password":"bad-bad-bad"}),
            )
            .await
            .unwrap();
        assert_eq!(st, 401);
    }
    let r = s
        .http
        .post(format!("{}/api/v1/auth/login", s.url))
        .json(&json!({"username":"admin","password":s.admin_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        429,
        "even the right password is refused while throttled"
    );
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        retry > 800 && retry <= 900,
        "retry-after {retry} s within the 15 min window"
    );
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "login_throttled");
}

#[tokio::test]
async fn forged_expired_and_alg_none_tokens_are_rejected() {
    let s = server().await;
    let t = s.admin_token().await.unwrap();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = t.split('.').collect();
    let none = format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    let mut claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["exp"] = json!(1_600_000_000);
    let expired_unsigned = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(claims.to_string()),
        parts[2]
    );
    let forged_sig = format!("{}.{}.{}", parts[0], parts[1], b64.encode([7u8; 32]));
    for bad in [
        none.as_str(),
        expired_unsigned.as_str(),
        forged_sig.as_str(),
        "garbage",
        "oc_00000000000000000000000000000000_nope",
    ] {
        let (st, body) = s.get("/api/v1/auth/me", bad).await.unwrap();
        assert_problem(st, &body, 401, "invalid_credentials");
    }
}

#[tokio::test]
async fn app_keys_need_their_scope_and_are_rate_limited() {
    let s = server().await;
    let f = fixture(&s).await;
    let (st, k) = s
        .post(
            "/api/v1/tenants/t1/keys",
            &f.admin,
            &json!({"name":"map app","scopes":["geo:read"],"rate_per_minute":3}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{k}");
    let key = k["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("oc_"));
    // geo:read works; jurisdiction listing needs jurisdiction:read which the key lacks.
    let (st, _) = s
        .get("/api/v1/tenants/t1/boundaries.geojson", &key)
        .await
        .unwrap();
    assert_eq!(st, 200);
    let (st, body) = s
        .get("/api/v1/tenants/t1/jurisdictions", &key)
        .await
        .unwrap();
    assert_problem(st, &body, 403, "insufficient_scope");
    // The CKAN way (bare Authorization value) and X-Api-Key work too; the 3/min budget is
    // now spent, so the next call is limited.
    let r = s
        .http
        .get(format!("{}/api/v1/tenants/t1/grids.geojson", s.url))
        .header("authorization", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = s
        .http
        .get(format!("{}/api/v1/tenants/t1/grids.geojson", s.url))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // A key cannot carry a scope its creator lacks; a staff user cannot create keys.
    let (st, body) = s
        .post(
            "/api/v1/tenants/t1/keys",
            &f.staff_a,
            &json!({"name":"x","scopes":["geo:read"]}),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 403, "forbidden");
    // A revoked key stops working.
    let id = k["id"].as_str().unwrap();
    let r = s
        .http
        .delete(format!("{}/api/v1/tenants/t1/keys/{id}", s.url))
        .bearer_auth(&f.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (st, _) = s
        .get("/api/v1/tenants/t1/boundaries.geojson", &key)
        .await
        .unwrap();
    assert_eq!(st, 401);
}

#[tokio::test]
async fn cli_creates_keys_and_users() {
    let s = server().await;
    let f = fixture(&s).await;
    let (code, out, err) = s
        .cli(&[
            "admin",
            "key",
            "create",
            "--tenant",
            "t1",
            "--name",
            "cli app",
            "--scope",
            "jurisdiction:read",
            "--jurisdiction-code",
            "990101",
        ])
        .unwrap();
    assert_eq!(code, 0, "{err}");
    let key = out.trim();
    let (st, page) = s
        .get("/api/v1/tenants/t1/jurisdictions", key)
        .await
        .unwrap();
    assert_eq!(st, 200);
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![f.district_a.as_str()],
        "the key sees only its subtree"
    );
    let (code, out, err) = s
        .cli(&[
            "admin",
            "user",
            "create",
            "--tenant",
            "t1",
            "--username",
            "auditor1",
            "--role",
            "auditor",
        ])
        .unwrap();
    assert_eq!(code, 0, "{err}");
    let pw = out
        .lines()
        .find_map(|l| l.strip_prefix("password (shown once): "))
        .unwrap();
    let t = s.login("auditor1", pw).await.unwrap();
    let (st, audit) = s
        .get("/api/v1/tenants/t1/audit?action=department.create", &t)
        .await
        .unwrap();
    assert_eq!(st, 200, "{audit}");
    assert_eq!(audit["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn deployment_scopes_and_upper_case_tenant_codes_are_refused() {
    let s = server().await;
    let f = fixture(&s).await;
    let (st, body) = s
        .post(
            "/api/v1/tenants/t1/keys",
            &f.admin,
            &json!({"name":"x","scopes":["tenant:write"]}),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 422, "invalid_input");
    let (st, body) = s
        .post(
            "/api/v1/tenants",
            &f.admin,
            &json!({"code":"T1","name":"x"}),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 422, "invalid_input");
    let (_, k) = s
        .post(
            "/api/v1/tenants/t1/keys",
            &f.admin,
            &json!({"name":"geo only","scopes":["geo:read"]}),
        )
        .await
        .unwrap();
    let (st, body) = s
        .get("/api/v1/tenants", k["key"].as_str().unwrap())
        .await
        .unwrap();
    assert_problem(st, &body, 403, "insufficient_scope");
}

/// An app key over its rate gets 429 with `Retry-After` on the standard APIs too, each in
/// its own error shape: NGSI-LD problem details and CKAN's `success: false` envelope
/// (before the error classes, NGSI-LD answered 500 and lost `Retry-After`).
#[tokio::test]
async fn app_key_over_its_rate_is_429_with_retry_after_on_ngsi_ld_and_ckan() {
    let s = server().await;
    let f = fixture(&s).await;
    let (st, k) = s
        .post(
            "/api/v1/tenants/t1/keys",
            &f.admin,
            &json!({"name":"tide board","scopes":["twin:read","catalog:read"],"rate_per_minute":2}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{k}");
    let key = k["key"].as_str().unwrap().to_string();
    let retry_after = |r: &reqwest::Response| -> u64 {
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    };

    // A real reading: Venice, Punta della Salute (water/venice_punta_salute_tide.csv).
    let gauge = json!({"id": "urn:ngsi-ld:WaterObserved:punta-salute", "type": "WaterObserved",
        "height": {"type": "Property", "value": 0.32}});
    let r = s
        .http
        .post(format!("{}/ngsi-ld/v1/entities", s.url))
        .header("authorization", format!("Bearer {}", f.admin))
        .header("ngsild-tenant", "t1")
        .json(&gauge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let ngsi = |key: String| {
        let url = format!("{}/ngsi-ld/v1/entities?type=WaterObserved", s.url);
        let http = s.http.clone();
        async move {
            http.get(url)
                .header("authorization", format!("Bearer {key}"))
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..2 {
        let r = ngsi(key.clone()).await;
        assert_eq!(r.status(), 200);
        let found: Value = r.json().await.unwrap();
        assert_eq!(found[0]["height"]["value"], 0.32);
    }
    let r = ngsi(key.clone()).await;
    assert_eq!(r.status(), 429);
    assert!((1..=60).contains(&retry_after(&r)), "{:?}", r.headers());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], 429);
    assert_eq!(body["type"], "https://onecity.dev/problems/rate_limited");

    // A second key for CKAN, with a budget of one call a minute.
    let (_, k) = s
        .post(
            "/api/v1/tenants/t1/keys",
            &f.admin,
            &json!({"name":"open data mirror","scopes":["catalog:read"],"rate_per_minute":1}),
        )
        .await
        .unwrap();
    let key = k["key"].as_str().unwrap().to_string();
    let ckan = |key: String| {
        let url = format!("{}/api/3/action/package_list", s.url);
        let http = s.http.clone();
        async move {
            http.get(url)
                .header("x-ckan-api-key", key)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(ckan(key.clone()).await.status(), 200);
    let r = ckan(key.clone()).await;
    assert_eq!(r.status(), 429);
    assert!((1..=60).contains(&retry_after(&r)), "{:?}", r.headers());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["__type"], "Rate Limit Error");
}
