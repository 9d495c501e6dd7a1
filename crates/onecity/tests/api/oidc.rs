//! The key store, the OpenID Connect provider (code flow with PKCE, refusals), access
//! tokens on the ordinary Bearer path, and staff single sign-on through a second onecity.

use crate::{server, server_with, BIN};
use base64::Engine;
use onecity_testkit::{Options, TestServer};
use serde_json::{json, Value};
use sha2::Digest;

const REDIRECT: &str = "http://127.0.0.1:9/cb";
const VERIFIER: &str = "k3y-verifier.abcdefghijklmnopqrstuvwxyz0123456789_~";

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn challenge(v: &str) -> String {
    b64(&sha2::Sha256::digest(v.as_bytes()))
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `name=value` of a Set-Cookie header named `name`.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("{name} in {html}"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].replace("&amp;", "&")
}

fn query_of(location: &str) -> std::collections::HashMap<String, String> {
    let q = location.split_once('?').map(|x| x.1).unwrap_or("");
    form_pairs(q)
}

fn form_pairs(q: &str) -> std::collections::HashMap<String, String> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            let dec = |s: &str| percent_decode(&s.replace('+', " "));
            (dec(k), dec(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn jwt_part(t: &str, i: usize) -> Value {
    let p = t.split('.').nth(i).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p)
            .unwrap(),
    )
    .unwrap()
}

async fn register(s: &TestServer, admin: &str, redirect: &str, public: bool) -> (String, String) {
    let (st, c) = s
        .post(
            "/api/v1/oidc/clients",
            admin,
            &json!({"name": "路政系统 Roads app", "redirect_uris": [redirect], "public": public}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{c}");
    (
        c["client_id"].as_str().unwrap().to_string(),
        c["client_secret"].as_str().unwrap_or("").to_string(),
    )
}

fn authorize_url(s: &TestServer, client: &str, extra: &[(&str, &str)]) -> String {
    let mut q = vec![
        ("response_type", "code".to_string()),
        ("client_id", client.to_string()),
        ("redirect_uri", REDIRECT.to_string()),
        ("scope", "openid profile email".to_string()),
        ("state", "st-1".to_string()),
        ("nonce", "n-1".to_string()),
        ("code_challenge", challenge(VERIFIER)),
        ("code_challenge_method", "S256".to_string()),
    ];
    for (k, v) in extra {
        q.retain(|(x, _)| x != k);
        if !v.is_empty() {
            q.push((k, v.to_string()));
        }
    }
    let qs: Vec<String> = q
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.replace(':', "%3A")
                    .replace('/', "%2F")
                    .replace(' ', "%20")
            )
        })
        .collect();
    format!("{}/oidc/authorize?{}", s.url, qs.join("&"))
}

/// Signs in through the form and returns the redirect location (with the code).
async fn sign_in(s: &TestServer, url: &str, user: &str, pw: &str) -> String {
    let http = no_redirects();
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csrf_cookie = set_cookie(&r, "oc_oidc_csrf").expect("csrf cookie");
    let html = r.text().await.unwrap();
    assert!(html.contains("登录") && html.contains("Sign in"), "{html}");
    let mut form: Vec<(String, String)> = [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "csrf",
    ]
    .iter()
    .map(|k| (k.to_string(), hidden(&html, k)))
    .collect();
    form.push(("username".into(), user.into()));
    form.push(("password".into(), pw.into()));
    let r = http
        .post(format!("{}/oidc/authorize", s.url))
        .header("cookie", csrf_cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert!(set_cookie(&r, "oc_oidc_session").is_some());
    r.headers()["location"].to_str().unwrap().to_string()
}

async fn exchange(
    s: &TestServer,
    client: &str,
    secret: &str,
    code: &str,
    verifier: &str,
) -> (u16, Value) {
    let r = no_redirects()
        .post(format!("{}/oidc/token", s.url))
        .basic_auth(client, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn code_flow_with_pkce_gives_tokens_that_verify_and_work_on_the_api() {
    let s = server().await;
    let admin = s.admin_token().await.unwrap();
    let (client, secret) = register(&s, &admin, REDIRECT, false).await;
    assert!(client.starts_with("ocid_") && secret.len() >= 43);

    let (st, disc) = s
        .get("/.well-known/openid-configuration", "")
        .await
        .unwrap();
    assert_eq!(st, 200);
    assert_eq!(disc["issuer"], s.url.as_str());
    assert_eq!(disc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(disc["jwks_uri"], format!("{}/oidc/jwks", s.url));

    let loc = sign_in(
        &s,
        &authorize_url(&s, &client, &[]),
        "admin",
        &s.admin_password,
    )
    .await;
    assert!(loc.starts_with(&format!("{REDIRECT}?code=")), "{loc}");
    let q = query_of(&loc);
    assert_eq!(q["state"], "st-1");
    assert_eq!(q["iss"], s.url);
    let (st, tok) = exchange(&s, &client, &secret, &q["code"], VERIFIER).await;
    assert_eq!(st, 200, "{tok}");
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["expires_in"], 3600);
    let id = tok["id_token"].as_str().unwrap();
    let at = tok["access_token"].as_str().unwrap();
    let (h, c) = (jwt_part(id, 0), jwt_part(id, 1));
    assert_eq!(h["alg"], "ES256");
    assert_eq!(c["iss"], s.url.as_str());
    assert_eq!(c["aud"], client.as_str());
    assert_eq!(c["nonce"], "n-1");
    assert_eq!(c["preferred_username"], "admin");
    assert_eq!(jwt_part(at, 0)["typ"], "at+jwt");

    // The JWKS holds the signing key (verify the signature with ring through jsonwebtoken).
    let (_, jwks) = s.get("/oidc/jwks", "").await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], h["kid"]);
    assert_eq!(keys[0]["crv"], "P-256");

    // The access token works on the ordinary Bearer path; /auth/me answers as for a session.
    let (st, me) = s.get("/api/v1/auth/me", at).await.unwrap();
    assert_eq!(st, 200, "{me}");
    assert_eq!(me["username"], "admin");
    let (st, _) = s.get("/api/v1/auth/me", id).await.unwrap();
    assert_eq!(st, 401, "an ID token is not an access token");

    let r = s
        .http
        .get(format!("{}/oidc/userinfo", s.url))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ui: Value = r.json().await.unwrap();
    assert_eq!(ui["sub"], c["sub"]);
    assert_eq!(ui["preferred_username"], "admin");

    // A signed-in session skips the form.
    // Rotation: a new key signs, the old one stays published, old tokens keep working.
    let (st, k) = s
        .post("/api/v1/keys/rotate", &admin, &json!({"purpose": "oidc"}))
        .await
        .unwrap();
    assert_eq!(st, 200, "{k}");
    assert_ne!(k["kid"], h["kid"]);
    assert_eq!(k["state"], "active");
    let (_, jwks) = s.get("/oidc/jwks", "").await.unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(
        kids,
        vec![k["kid"].as_str().unwrap(), h["kid"].as_str().unwrap()]
    );
    let (st, _) = s.get("/api/v1/auth/me", at).await.unwrap();
    assert_eq!(st, 200, "tokens of the retired key still verify");
    let loc = sign_in(
        &s,
        &authorize_url(&s, &client, &[]),
        "admin",
        &s.admin_password,
    )
    .await;
    let (_, tok2) = exchange(&s, &client, &secret, &query_of(&loc)["code"], VERIFIER).await;
    assert_eq!(
        jwt_part(tok2["id_token"].as_str().unwrap(), 0)["kid"],
        k["kid"]
    );

    // The CLI rotates too (same store, same development key file).
    let (code, out, err) = s.cli(&["keys", "rotate", "--purpose", "oidc"]).unwrap();
    assert_eq!(code, 0, "{out}{err}");
    let (_, keys) = s.get("/api/v1/keys?purpose=oidc", &admin).await.unwrap();
    let states: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["retired", "retired", "active"]);

    // Audited.
    let (_, audit) = s
        .get("/api/v1/tenants/_system/audit?action=key.rotate", &admin)
        .await
        .unwrap();
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "{audit}");
    let (_, audit) = s
        .get("/api/v1/tenants/_system/audit?action=oidc.token", &admin)
        .await
        .unwrap();
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "{audit}");
}

#[tokio::test]
async fn the_provider_refuses_bad_requests() {
    let s = server().await;
    let admin = s.admin_token().await.unwrap();
    let (client, secret) = register(&s, &admin, REDIRECT, false).await;
    let http = no_redirects();

    // Unknown redirect URI and unknown client: an error page, never a redirect.
    for url in [
        authorize_url(&s, &client, &[("redirect_uri", "https://evil.example/cb")]),
        authorize_url(&s, &client, &[("redirect_uri", "http://127.0.0.1:9/cb/")]),
        authorize_url(&s, "ocid_nope", &[]),
    ] {
        let r = http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), if url.contains("nope") { 401 } else { 400 });
        assert!(r.headers().get("location").is_none());
        let html = r.text().await.unwrap();
        assert!(!html.contains("evil.example"), "{html}");
        assert!(
            html.contains("data-code=\"invalid_redirect_uri\"")
                || html.contains("data-code=\"invalid_client\""),
            "{html}"
        );
    }
    // Missing or plain PKCE, no openid: an error back to the registered URI, no code.
    for (extra, error) in [
        (
            vec![("code_challenge", ""), ("code_challenge_method", "")],
            "invalid_request",
        ),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge", "short")], "invalid_request"),
        (vec![("scope", "profile")], "invalid_scope"),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
    ] {
        let r = http
            .get(authorize_url(&s, &client, &extra))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{extra:?}");
        let loc = r.headers()["location"].to_str().unwrap();
        let q = query_of(loc);
        assert!(loc.starts_with(REDIRECT), "{loc}");
        assert_eq!(q["error"], error, "{extra:?}");
        assert_eq!(q["state"], "st-1");
        assert!(!q.contains_key("code"));
    }
    // The form without its CSRF cookie is refused.
    let r = http
        .get(authorize_url(&s, &client, &[]))
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    let r = http
        .post(format!("{}/oidc/authorize", s.url))
        .form(&[
            ("response_type", "code"),
            ("client_id", client.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("code_challenge", challenge(VERIFIER).as_str()),
            ("code_challenge_method", "S256"),
            ("csrf", hidden(&html, "csrf").as_str()),
            ("username", "admin"),
            ("password", s.admin_password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("location").is_none());

    // A wrong verifier, another client's secret, a reused code, an expired code.
    let loc = sign_in(
        &s,
        &authorize_url(&s, &client, &[]),
        "admin",
        &s.admin_password,
    )
    .await;
    let code = query_of(&loc)["code"].clone();
    let (st, e) = exchange(&s, &client, &secret, &code, &format!("{VERIFIER}x")).await;
    assert_eq!(
        (st, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    let (st, e) = exchange(&s, &client, "wrong-secret", &code, VERIFIER).await;
    assert_eq!(
        (st, e["error"].as_str()),
        (401, Some("invalid_client")),
        "{e}"
    );
    let (st, tok) = exchange(&s, &client, &secret, &code, VERIFIER).await;
    assert_eq!(st, 200, "{tok}");
    let at = tok["access_token"].as_str().unwrap();
    assert_eq!(s.get("/api/v1/auth/me", at).await.unwrap().0, 200);
    let (st, e) = exchange(&s, &client, &secret, &code, VERIFIER).await;
    assert_eq!(
        (st, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    assert!(e["error_description"]
        .as_str()
        .unwrap()
        .contains("already used"));
    let (st, _) = s.get("/api/v1/auth/me", at).await.unwrap();
    assert_eq!(st, 401, "tokens of a reused code are revoked");
    let (_, audit) = s
        .get(
            "/api/v1/tenants/_system/audit?action=oidc.code_reused",
            &admin,
        )
        .await
        .unwrap();
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit["items"][0]["actor"], format!("oidc_client:{client}"));

    let loc = sign_in(
        &s,
        &authorize_url(&s, &client, &[]),
        "admin",
        &s.admin_password,
    )
    .await;
    let code = query_of(&loc)["code"].clone();
    let db = s.open_store().await.unwrap();
    db.execute(
        "UPDATE oidc_codes SET expires_at = 1 WHERE used_at IS NULL",
        &[],
    )
    .await
    .unwrap();
    let (st, e) = exchange(&s, &client, &secret, &code, VERIFIER).await;
    assert_eq!(
        (st, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    assert!(e["error_description"].as_str().unwrap().contains("expired"));

    // Other grant types and unknown codes.
    let r = http
        .post(format!("{}/oidc/token", s.url))
        .basic_auth(&client, Some(&secret))
        .form(&[("grant_type", "password"), ("username", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    let (st, e) = exchange(&s, &client, &secret, "made-up", VERIFIER).await;
    assert_eq!((st, e["error"].as_str()), (400, Some("invalid_grant")));

    // Only platform admins manage clients; bad redirect URIs are refused at registration.
    let (st, body) = s
        .post(
            "/api/v1/oidc/clients",
            &admin,
            &json!({"name": "x", "redirect_uris": ["http://app.example/cb"]}),
        )
        .await
        .unwrap();
    assert_eq!(st, 422, "{body}");
    let (st, _) = s.get("/api/v1/oidc/clients", "").await.unwrap();
    assert_eq!(st, 401);
    // A revoked client signs nobody in.
    let r = http
        .delete(format!("{}/api/v1/oidc/clients/{client}", s.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = http
        .get(authorize_url(&s, &client, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("location").is_none());
}

#[tokio::test]
async fn a_wrong_master_key_refuses_to_start() {
    let key_a = "11".repeat(32);
    let mut s = server_with(Options {
        env: vec![("ONECITY_MASTER_KEY".into(), key_a.clone())],
        ..Default::default()
    })
    .await;
    let (_, jwks) = s.get("/oidc/jwks", "").await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    let err = s
        .restart(&[("ONECITY_MASTER_KEY", &"22".repeat(32))])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not decrypt signing key"), "{err}");
    // The private key is not in the database in clear.
    let db = s.open_store().await.unwrap();
    let row = db
        .fetch_optional("SELECT private_sealed FROM iam_signing_keys", &[])
        .await
        .unwrap()
        .unwrap();
    assert!(row.text("private_sealed").unwrap().starts_with("v1:"));
    s.restart(&[("ONECITY_MASTER_KEY", &key_a)]).await.unwrap();
    let (_, again) = s.get("/oidc/jwks", "").await.unwrap();
    assert_eq!(again["keys"][0]["kid"], jwks["keys"][0]["kid"]);
}

#[tokio::test]
async fn staff_sign_in_to_a_second_onecity_through_the_first() {
    // The provider: a onecity with the staff user alice.
    let idp = server().await;
    let admin = idp.admin_token().await.unwrap();
    let (st, _) = idp
        .post(
            "/api/v1/tenants",
            &admin,
            &json!({"code": "idp", "name": "身份市", "root_code": "970100"}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201);
    let (st, body) = idp
        .post(
            "/api/v1/tenants/idp/users",
            &admin,
            &json!({"username": "alice", "display_name": "王丽 Alice", "password": "Wonderland-Passw0rd-1", "email": "alice@city.example"}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{body}");
    // Our callback as registered there; the test carries the browser to the real port.
    let callback = "http://127.0.0.1:1/auth/oidc/callback";
    let (client, secret) = register(&idp, &admin, callback, false).await;

    let rp = server_with(Options {
        env: vec![
            ("ONECITY_SSO_ISSUER".into(), idp.url.clone()),
            ("ONECITY_SSO_CLIENT_ID".into(), client.clone()),
            ("ONECITY_SSO_CLIENT_SECRET".into(), secret.clone()),
            ("ONECITY_SSO_REDIRECT_URL".into(), callback.into()),
            ("ONECITY_SSO_TENANT".into(), "rp".into()),
            ("ONECITY_SSO_ROLE_CLAIM".into(), "preferred_username".into()),
            ("ONECITY_SSO_ROLE_MAP".into(), "alice=staff@ROADS".into()),
        ],
        ..Default::default()
    })
    .await;
    let rp_admin = rp.admin_token().await.unwrap();
    let (st, _) = rp
        .post(
            "/api/v1/tenants",
            &rp_admin,
            &json!({"code": "rp", "name": "依赖市", "root_code": "960100"}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201);
    let (_, t) = rp.get("/api/v1/tenants/rp", &rp_admin).await.unwrap();
    let (st, dept) = rp
        .post(
            "/api/v1/tenants/rp/departments",
            &rp_admin,
            &json!({"jurisdiction_id": t["root_jurisdiction_id"], "code": "ROADS", "name": "路政局"}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{dept}");
    let (_, cfg) = rp.get("/auth/oidc/config", "").await.unwrap();
    assert_eq!(cfg["enabled"], true);

    let http = no_redirects();
    let mut principal_id = Value::Null;
    for round in 0..2 {
        let r = http
            .get(format!("{}/auth/oidc/login", rp.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let to_idp = r.headers()["location"].to_str().unwrap().to_string();
        assert!(
            to_idp.starts_with(&format!("{}/oidc/authorize?", idp.url)),
            "{to_idp}"
        );
        let q = query_of(&to_idp);
        assert_eq!(q["code_challenge_method"], "S256");
        let back = sign_in(&idp, &to_idp, "alice", "Wonderland-Passw0rd-1").await;
        let back = back.replacen("http://127.0.0.1:1", &rp.url, 1);
        let r = http
            .get(&back)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "round {round}: {}",
            r.text().await.unwrap()
        );
        let body: Value = r.json().await.unwrap();
        let token = body["token"].as_str().unwrap();
        let (st, me) = rp.get("/api/v1/auth/me", token).await.unwrap();
        assert_eq!(st, 200, "{me}");
        assert_eq!(me["username"], "alice");
        assert_eq!(me["display_name"], "王丽 Alice");
        assert_eq!(me["kind"], "staff");
        assert_eq!(me["tenant"], "rp");
        assert_eq!(me["department_id"], dept["id"]);
        assert_eq!(me["grants"][0]["role"], "staff");
        assert_eq!(me["grants"][0]["department_id"], dept["id"]);
        if round == 1 {
            assert_eq!(
                me["id"], principal_id,
                "the second sign-in finds the same staff"
            );
        }
        principal_id = me["id"].clone();
        // The same callback again (state used) is refused.
        let r = http
            .get(&back)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "sso_failed");
    }
    let _ = BIN;
}
