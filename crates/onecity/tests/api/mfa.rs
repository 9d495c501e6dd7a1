//! Second factors, password policy, session limits and sign-in history (issue 13).

use crate::{assert_problem, fixture, server_with};
use onecity_testkit::{Options, TestServer};
use serde_json::{json, Value};

fn env(pairs: &[(&str, &str)]) -> Options {
    Options {
        env: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn login(s: &TestServer, user: &str, pw: &str) -> (u16, Value) {
    s.post(
        "/api/v1/auth/login",
        "",
        &json!({"username": user, "password": pw}),
    )
    .await
    .unwrap()
}

async fn second_step(s: &TestServer, challenge: &str, code: &str) -> (u16, Value) {
    s.post(
        "/api/v1/auth/login/mfa",
        "",
        &json!({"challenge": challenge, "code": code}),
    )
    .await
    .unwrap()
}

/// Creates `boss` (tenant_admin of t1, password `Chief-Passw0rd-1`).
async fn boss(s: &TestServer) {
    let f = fixture(s).await;
    let (st, body) = s
        .post(
            "/api/v1/tenants/t1/users",
            &f.admin,
            &json!({"username":"boss","display_name":"局长","password":"Chief-Passw0rd-1",
                    "roles":[{"role":"tenant_admin"}]}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{body}");
}

#[tokio::test]
async fn a_role_that_requires_totp_cannot_sign_in_with_the_password_alone() {
    let s = server_with(env(&[("ONECITY_MFA_REQUIRED_ROLES", "tenant_admin")])).await;
    boss(&s).await;
    // Staff and the platform admin (roles not listed) still sign in with a password.
    let (st, body) = login(&s, "staff-a", "Passw0rd-A-123").await;
    assert_eq!(
        (st, body["step"].as_str()),
        (200, Some("session")),
        "{body}"
    );

    // The password alone gives an enrolment-only session, not a session.
    let (st, body) = login(&s, "boss", "Chief-Passw0rd-1").await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["step"], "mfa_enrolment_required");
    assert!(body.get("token").is_none(), "no session token: {body}");
    let enrol = body["enrolment_token"].as_str().unwrap().to_string();
    let (st, body) = s.get("/api/v1/auth/me", &enrol).await.unwrap();
    assert_problem(st, &body, 403, "mfa_enrolment_required");
    let (st, body) = s.get("/api/v1/tenants/t1/users", &enrol).await.unwrap();
    assert_problem(st, &body, 403, "mfa_enrolment_required");
    let (st, status) = s.get("/api/v1/auth/me/mfa", &enrol).await.unwrap();
    assert_eq!(st, 200, "{status}");
    assert_eq!(status["required"], true);
    assert_eq!(status["restricted"], true);
    assert_eq!(status["totp"], false);

    // Enrol TOTP: secret, otpauth URI and QR code once.
    let (st, e) = s
        .post("/api/v1/auth/me/totp", &enrol, &json!({}))
        .await
        .unwrap();
    assert_eq!(st, 200, "{e}");
    let secret = e["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 32, "160-bit secret in base32");
    let uri = e["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(e["qr_svg"].as_str().unwrap().contains("<svg"));
    let (st, body) = s
        .post(
            "/api/v1/auth/me/totp/confirm",
            &enrol,
            &json!({"code": "000000"}),
        )
        .await
        .unwrap();
    let wrong = onecity_iam::mfa::code_at(&secret, now()).unwrap() == "000000";
    if !wrong {
        assert_problem(st, &body, 401, "mfa_failed");
    }
    let t0 = now();
    let first = onecity_iam::mfa::code_at(&secret, t0).unwrap();
    let (st, done) = s
        .post(
            "/api/v1/auth/me/totp/confirm",
            &enrol,
            &json!({"code": first}),
        )
        .await
        .unwrap();
    assert_eq!(st, 200, "{done}");
    let codes: Vec<String> = done["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    let session = done["token"].as_str().unwrap();
    let (st, me) = s.get("/api/v1/auth/me", session).await.unwrap();
    assert_eq!((st, me["username"].as_str()), (200, Some("boss")));
    // The secret is never shown again.
    let (st, status) = s.get("/api/v1/auth/me/mfa", session).await.unwrap();
    assert_eq!(st, 200);
    assert_eq!(status["totp"], true);
    assert_eq!(status["recovery_codes_left"], 10);
    assert!(!status.to_string().contains(&secret));
    let (st, body) = s
        .post("/api/v1/auth/me/totp", session, &json!({}))
        .await
        .unwrap();
    assert_problem(st, &body, 409, "conflict");

    // Now the password leads to a challenge, which is not a session.
    let (st, body) = login(&s, "boss", "Chief-Passw0rd-1").await;
    assert_eq!(
        (st, body["step"].as_str()),
        (200, Some("mfa_required")),
        "{body}"
    );
    assert!(body.get("token").is_none());
    assert_eq!(body["methods"], json!(["totp", "recovery_code"]));
    let challenge = body["challenge"].as_str().unwrap().to_string();
    let (st, body) = s.get("/api/v1/auth/me", &challenge).await.unwrap();
    assert_problem(st, &body, 401, "invalid_credentials");
    // The confirmation's code was used: refused.
    let (st, body) = second_step(&s, &challenge, &first).await;
    assert_problem(st, &body, 401, "mfa_failed");
    // The next code works, once.
    let next = onecity_iam::mfa::code_at(&secret, t0 + 30).unwrap();
    let (st, body) = second_step(&s, &challenge, &next).await;
    assert_eq!(
        (st, body["step"].as_str()),
        (200, Some("session")),
        "{body}"
    );
    let (st, me) = s
        .get("/api/v1/auth/me", body["token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!((st, me["username"].as_str()), (200, Some("boss")));
    // The challenge works once; the code too, with a fresh challenge.
    let (st, body) = second_step(&s, &challenge, &next).await;
    assert_problem(st, &body, 401, "mfa_failed");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("challenge was used"),
        "{body}"
    );
    let (_, body) = login(&s, "boss", "Chief-Passw0rd-1").await;
    let fresh = body["challenge"].as_str().unwrap().to_string();
    let (st, body) = second_step(&s, &fresh, &next).await;
    assert_problem(st, &body, 401, "mfa_failed");
    assert!(
        body["detail"].as_str().unwrap().contains("already used"),
        "{body}"
    );
    // A forged challenge is refused.
    let (st, body) = second_step(&s, "not-a-challenge", &next).await;
    assert_problem(st, &body, 401, "mfa_failed");

    // A recovery code works once.
    let (_, body) = login(&s, "boss", "Chief-Passw0rd-1").await;
    let challenge = body["challenge"].as_str().unwrap().to_string();
    let (st, body) = second_step(&s, &challenge, &codes[3].to_uppercase()).await;
    assert_eq!(
        (st, body["step"].as_str()),
        (200, Some("session")),
        "{body}"
    );
    let token = body["token"].as_str().unwrap().to_string();
    let (_, body) = login(&s, "boss", "Chief-Passw0rd-1").await;
    let challenge = body["challenge"].as_str().unwrap().to_string();
    let (st, body) = second_step(&s, &challenge, &codes[3]).await;
    assert_problem(st, &body, 401, "mfa_failed");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("wrong or already used"),
        "{body}"
    );
    let (_, status) = s.get("/api/v1/auth/me/mfa", &token).await.unwrap();
    assert_eq!(status["recovery_codes_left"], 9);

    // Sign-in history: successes and failures, newest first, with the method.
    let (st, hist) = s.get("/api/v1/auth/me/sign-ins", &token).await.unwrap();
    assert_eq!(st, 200, "{hist}");
    let rows = hist.as_array().unwrap();
    // Newest first: the refused second use of the recovery code, then its first use.
    assert_eq!(rows[0]["method"], "password+code");
    assert_eq!(rows[0]["success"], false);
    assert_eq!(rows[1]["method"], "password+recovery_code");
    assert_eq!(rows[1]["success"], true);
    let methods: Vec<(&str, bool)> = rows
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap(),
                r["success"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(methods.contains(&("password+totp", true)), "{methods:?}");
    assert!(methods.contains(&("password+totp", false)), "{methods:?}");
    assert!(methods.contains(&("enrolment+totp", true)), "{methods:?}");
    assert!(rows
        .iter()
        .all(|r| r["at"].as_str().unwrap().ends_with('Z')));
    let (st, body) = s
        .get("/api/v1/auth/me/sign-ins?limit=0", &token)
        .await
        .unwrap();
    assert_problem(st, &body, 400, "invalid_query");

    // Disabling TOTP needs a code; afterwards the role asks for enrolment again.
    let (st, body) = s
        .post(
            "/api/v1/auth/me/totp/disable",
            &token,
            &json!({"code": "zzzzz-zzzzz"}),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 401, "mfa_failed");
    let (st, body) = s
        .post(
            "/api/v1/auth/me/totp/disable",
            &token,
            &json!({"code": codes[5]}),
        )
        .await
        .unwrap();
    assert_eq!(st, 204, "{body}");
    let (_, body) = login(&s, "boss", "Chief-Passw0rd-1").await;
    assert_eq!(body["step"], "mfa_enrolment_required");
}

#[tokio::test]
async fn wrong_second_factors_are_throttled() {
    let s = server_with(env(&[("ONECITY_MFA_REQUIRED_ROLES", "tenant_admin")])).await;
    boss(&s).await;
    let (_, body) = login(&s, "boss", "Chief-Passw0rd-1").await;
    let enrol = body["enrolment_token"].as_str().unwrap().to_string();
    let (_, e) = s
        .post("/api/v1/auth/me/totp", &enrol, &json!({}))
        .await
        .unwrap();
    let secret = e["secret"].as_str().unwrap();
    let code = onecity_iam::mfa::code_at(secret, now()).unwrap();
    let (st, _) = s
        .post(
            "/api/v1/auth/me/totp/confirm",
            &enrol,
            &json!({"code": code}),
        )
        .await
        .unwrap();
    assert_eq!(st, 200);
    let (_, body) = login(&s, "boss", "Chief-Passw0rd-1").await;
    let challenge = body["challenge"].as_str().unwrap().to_string();
    for _ in 0..5 {
        let (st, body) = second_step(&s, &challenge, "abcde-abcde").await;
        assert_problem(st, &body, 401, "mfa_failed");
    }
    let good = onecity_iam::mfa::code_at(secret, now() + 30).unwrap();
    let (st, body) = second_step(&s, &challenge, &good).await;
    assert_problem(st, &body, 429, "login_throttled");
}

#[tokio::test]
async fn the_password_policy_refuses_weak_reused_and_username_passwords() {
    let s = server_with(env(&[
        ("ONECITY_PASSWORD_MIN_LENGTH", "12"),
        ("ONECITY_PASSWORD_MIN_CLASSES", "3"),
        ("ONECITY_PASSWORD_HISTORY", "2"),
    ]))
    .await;
    let f = fixture(&s).await;
    let mk = |pw: &str| json!({"username":"clerk","display_name":"办事员","password":pw,"roles":[{"role":"staff"}]});
    for (pw, why) in [
        ("Sh0rt-pw", "too short"),
        ("alllowercase12345", "two classes"),
        ("Clerk-Passw0rd-9", "contains the username"),
    ] {
        let (st, body) = s
            .post("/api/v1/tenants/t1/users", &f.admin, &mk(pw))
            .await
            .unwrap();
        assert_problem(st, &body, 422, "password_policy");
        assert!(
            body["detail"].as_str().unwrap().contains("password"),
            "{why}: {body}"
        );
    }
    let (st, body) = s
        .post("/api/v1/tenants/t1/users", &f.admin, &mk("Good-Passw0rd-1"))
        .await
        .unwrap();
    assert_eq!(st, 201, "{body}");
    let change =
        |cur: &str, new: &str| json!({"username":"clerk","password":cur,"new_password":new});
    let (st, body) = s
        .post(
            "/api/v1/auth/password",
            "",
            &change("Good-Passw0rd-1", "Good-Passw0rd-1"),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 422, "password_policy");
    let (st, body) = s
        .post(
            "/api/v1/auth/password",
            "",
            &change("wrong-password", "Next-Passw0rd-2"),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 401, "invalid_credentials");
    let (st, body) = s
        .post(
            "/api/v1/auth/password",
            "",
            &change("Good-Passw0rd-1", "Next-Passw0rd-2"),
        )
        .await
        .unwrap();
    assert_eq!(st, 204, "{body}");
    // Back to the previous one: within the history of 2.
    let (st, body) = s
        .post(
            "/api/v1/auth/password",
            "",
            &change("Next-Passw0rd-2", "Good-Passw0rd-1"),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 422, "password_policy");
    let (st, body) = login(&s, "clerk", "Next-Passw0rd-2").await;
    assert_eq!(
        (st, body["step"].as_str()),
        (200, Some("session")),
        "{body}"
    );
    let (st, body) = login(&s, "clerk", "Good-Passw0rd-1").await;
    assert_problem(st, &body, 401, "invalid_credentials");
}

#[tokio::test]
async fn sessions_beyond_the_limit_and_idle_sessions_end() {
    let s = server_with(env(&[
        ("ONECITY_MAX_SESSIONS_PER_USER", "2"),
        ("ONECITY_SESSION_IDLE_TIMEOUT_SECS", "2"),
    ]))
    .await;
    let mut tokens = Vec::new();
    for _ in 0..3 {
        tokens.push(s.admin_token().await.unwrap());
    }
    let (st, body) = s.get("/api/v1/auth/me", &tokens[0]).await.unwrap();
    assert_problem(st, &body, 401, "session_ended");
    for t in &tokens[1..] {
        let (st, body) = s.get("/api/v1/auth/me", t).await.unwrap();
        assert_eq!(st, 200, "{body}");
    }
    // A fresh session left unused for longer than the idle timeout ends.
    let idle = s.admin_token().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(3000)).await;
    let (st, body) = s.get("/api/v1/auth/me", &idle).await.unwrap();
    assert_problem(st, &body, 401, "session_ended");
}

#[tokio::test]
async fn without_settings_sign_in_is_unchanged_and_history_is_kept() {
    let s = crate::server().await;
    let (st, body) = login(&s, "admin", &s.admin_password).await;
    assert_eq!(
        (st, body["step"].as_str()),
        (200, Some("session")),
        "{body}"
    );
    let token = body["token"].as_str().unwrap().to_string();
    let (st, _) = login(&s, "admin", "wrong-password").await;
    assert_eq!(st, 401);
    let (st, hist) = s.get("/api/v1/auth/me/sign-ins", &token).await.unwrap();
    assert_eq!(st, 200, "{hist}");
    assert_eq!(hist[0]["method"], "password");
    assert_eq!(hist[0]["success"], false);
    assert_eq!(hist[1]["success"], true);
    let (st, status) = s.get("/api/v1/auth/me/mfa", &token).await.unwrap();
    assert_eq!(st, 200);
    assert_eq!(status["required"], false);
    assert_eq!(status["webauthn_available"], false);
    // WebAuthn is off without webauthn_origin.
    let (st, body) = s
        .post("/api/v1/auth/me/webauthn/register", &token, &json!({}))
        .await
        .unwrap();
    assert_problem(st, &body, 404, "not_found");
    // Recovery codes need a factor first.
    let (st, body) = s
        .post("/api/v1/auth/me/recovery-codes", &token, &json!({}))
        .await
        .unwrap();
    assert_problem(st, &body, 409, "conflict");
}
