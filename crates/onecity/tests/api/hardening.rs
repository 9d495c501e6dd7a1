//! Hostile load (issue 12): login floods and races, remote `@context` fetching, and what a
//! type-scoped key learns from discovery. Each defect the probe found is one test, on real
//! numbers scaled to what CI affords.

use crate::twin::{assert_ngsi_error, call, Resp};
use crate::{server, server_with};
use onecity_testkit::{Options, TestServer};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn login_status(s: &TestServer, username: &str, password: &str) -> (u16, Option<String>) {
    let r = s
        .http
        .post(format!("{}/api/v1/auth/login", s.url))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (r.status().as_u16(), retry)
}

/// 40 wrong passwords sent at once for one account: the limiter reserves each attempt
/// before any password is checked, so at most 5 are evaluated (401) and the other 35 are
/// 429 with `Retry-After`; the right password sent among parallel wrong ones after that is
/// refused too.
#[tokio::test]
async fn parallel_wrong_passwords_get_at_most_five_evaluations() {
    let s = Arc::new(server().await);
    let wrong: Vec<_> = (0..40)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(
                async move { login_status(&s, "admin", &format!("wrong-password-{i}")).await },
            )
        })
        .collect();
    let mut unauthorized = 0;
    let mut throttled = 0;
    for t in wrong {
        match t.await.unwrap() {
            (401, _) => unauthorized += 1,
            (429, Some(retry)) => {
                let secs: u64 = retry.parse().unwrap();
                assert!((1..=900).contains(&secs), "retry-after {secs}");
                throttled += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(
        unauthorized <= 5,
        "{unauthorized} wrong passwords were evaluated"
    );
    assert_eq!(unauthorized + throttled, 40);
    // The right password among 10 parallel wrong ones, after the limit: all refused.
    let mut tasks = Vec::new();
    for i in 0..11 {
        let s = s.clone();
        let pw = if i == 5 {
            s.admin_password.clone()
        } else {
            format!("wrong-again-{i}")
        };
        tasks.push(tokio::spawn(
            async move { login_status(&s, "admin", &pw).await },
        ));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().0, 429);
    }
    // Failures are aggregated: the audit trail holds one failure record and one throttle
    // record for the account, not one per attempt.
    let db = s.open_store().await.unwrap();
    let rows = db
        .fetch_all(
            "SELECT action FROM audit_log WHERE action IN ('auth.login_failed', 'auth.login_throttled') ORDER BY action",
            &[],
        )
        .await
        .unwrap();
    let actions: Vec<String> = rows.iter().map(|r| r.text("action").unwrap()).collect();
    assert_eq!(actions, vec!["auth.login_failed", "auth.login_throttled"]);
    let counters = db
        .fetch_all("SELECT hits FROM iam_limits", &[])
        .await
        .unwrap();
    assert!(counters.len() <= 2, "one counter per account and address");
}

/// 256 logins for unknown usernames at a concurrency of 128 raise the server's resident
/// memory by less than 200 MB: unknown names hash nothing, password checks are bounded,
/// and excess attempts are answered at once (503 `login_busy` with `Retry-After`). The
/// per-address limit is raised here so that the flood reaches the password checks.
#[tokio::test]
async fn unknown_user_login_flood_stays_within_memory() {
    let s = Arc::new(
        server_with(Options {
            env: vec![("ONECITY_LOGIN_ADDRESS_MAX_FAILURES".into(), "100000".into())],
            ..Default::default()
        })
        .await,
    );
    // One real check first, as a running server has had (it also warms the allocator).
    assert_eq!(login_status(&s, "admin", "wrong-password-0").await.0, 401);
    let before = s.rss_kib().expect("VmRSS of the server");
    let gate = Arc::new(tokio::sync::Semaphore::new(128));
    let tasks: Vec<_> = (0..256)
        .map(|i| {
            let s = s.clone();
            let gate = gate.clone();
            tokio::spawn(async move {
                let _slot = gate.acquire().await.unwrap();
                login_status(
                    &s,
                    &format!("nobody-{i}-{}", uuid::Uuid::new_v4()),
                    "Wrong-pass-123",
                )
                .await
            })
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for t in tasks {
        let (status, retry) = t.await.unwrap();
        if status == 503 {
            assert_eq!(retry.as_deref(), Some("1"));
        }
        *statuses.entry(status).or_default() += 1;
    }
    let after = s.rss_kib().expect("VmRSS of the server");
    assert!(
        statuses.keys().all(|st| *st == 401 || *st == 503),
        "{statuses:?}"
    );
    assert!(statuses.get(&401).copied().unwrap_or(0) > 0, "{statuses:?}");
    let grown_mb = after.saturating_sub(before) / 1024;
    assert!(
        grown_mb < 200,
        "RSS grew by {grown_mb} MB ({before} → {after} KiB); {statuses:?}"
    );
    // The server still logs the admin in.
    assert_eq!(login_status(&s, "admin", &s.admin_password).await.0, 200);
}

/// A minimal HTTP server on 127.0.0.1 answering every request with `body` (and counting
/// requests); returns its base URL.
async fn serve_bytes(body: Arc<Vec<u8>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/ld+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
            });
        }
    });
    format!("http://{addr}")
}

async fn open_twin(extra: &[(&str, &str)]) -> TestServer {
    let mut env = vec![("ONECITY_NGSI_LD_OPEN".to_string(), "true".to_string())];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    server_with(Options {
        env,
        ..Default::default()
    })
    .await
}

async fn get_with_link(s: &TestServer, url: &str) -> Resp {
    let link = format!(
        "<{url}>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\""
    );
    call(s, "GET", "/types", &[("link", &link)], None).await
}

async fn metric(s: &TestServer, name: &str) -> f64 {
    let text = s
        .http
        .get(format!("{}/metrics", s.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

/// Remote `@context` fetching is bounded: a 4 MiB document is refused (504, the one
/// generic text); 1,000 distinct small contexts leave the cache within its byte budget
/// (256 KiB here); a small one from an allowed local server works.
#[tokio::test]
async fn remote_contexts_are_bounded_in_size_and_cache_bytes() {
    let budget = 256 * 1024;
    let s = open_twin(&[
        ("ONECITY_NGSI_LD_CONTEXT_ALLOW", "127.0.0.1"),
        ("ONECITY_NGSI_LD_CONTEXT_CACHE_BYTES", &budget.to_string()),
    ])
    .await;
    let mut big = br#"{"@context": {"pad": ""#.to_vec();
    big.extend(std::iter::repeat_n(b'x', 4 * 1024 * 1024));
    big.extend_from_slice(br#""}}"#);
    let big_url = serve_bytes(Arc::new(big)).await;
    let r = get_with_link(&s, &format!("{big_url}/big.jsonld")).await;
    assert_ngsi_error(&r, 504, "LdContextNotAvailable");
    let refused_detail = r.body["detail"].clone();

    let small = br#"{"@context": {"height": "https://example.org/height", "sdm": "https://smartdatamodels.org/"}}"#;
    let small_url = serve_bytes(Arc::new(small.to_vec())).await;
    let r = get_with_link(&s, &format!("{small_url}/ctx.jsonld")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for i in 0..1000 {
        let r = get_with_link(&s, &format!("{small_url}/ctx-{i}.jsonld")).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let cached = metric(&s, "onecity_twin_context_cache_bytes").await;
    assert!(
        cached > 0.0 && cached <= budget as f64,
        "cache holds {cached} bytes, budget {budget}"
    );
    // The refusal of the big document said nothing about why.
    let r = get_with_link(&s, "http://127.0.0.1:1/unreachable.jsonld").await;
    assert_ngsi_error(&r, 504, "LdContextNotAvailable");
    assert_eq!(r.body["detail"], refused_detail);
}

/// The broker is no port scanner: a `Link` to the PostgreSQL port on loopback, to a closed
/// port, to a private or metadata address, or with a `file:` URL all get the same answer,
/// byte for byte; with the default deny-list nothing local is even connected to, and with
/// loopback allowed the answer is still the same for an open and a closed port.
#[tokio::test]
async fn unreachable_and_denied_contexts_get_one_error_body() {
    let targets = [
        "http://127.0.0.1:5432/",
        "http://127.0.0.1:1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/ctx.jsonld",
        "http://[::1]:5432/",
        "http://localhost:5432/",
        "file:///etc/passwd",
        "ftp://example.org/ctx.jsonld",
    ];
    for allow in ["", "127.0.0.1"] {
        let s = open_twin(&[("ONECITY_NGSI_LD_CONTEXT_ALLOW", allow)]).await;
        let mut bodies: Vec<(String, Value)> = Vec::new();
        for url in targets {
            let r = get_with_link(&s, url).await;
            assert_ngsi_error(&r, 504, "LdContextNotAvailable");
            bodies.push((url.to_string(), r.body));
        }
        let first = &bodies[0].1;
        for (url, body) in &bodies {
            assert_eq!(body, first, "{url} (allow {allow:?}) answered differently");
        }
    }
}

/// A key scoped to one entity type (`twin:read:WaterObserved`) learns nothing of other
/// types from discovery: `/types`, `/types/{type}` (other types are 404, its own type's
/// `attributeDetails` only hold its attributes), `/attributes` (with and without
/// details) and `/attributes/{attr}`.
#[tokio::test]
async fn scoped_keys_discover_only_their_types() {
    let s = server().await;
    let f = crate::fixture(&s).await;
    let (st, key) = s
        .post(
            "/api/v1/tenants/t1/keys",
            &f.admin,
            &json!({"name": "tide gauges", "scopes": ["twin:read:WaterObserved"]}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{key}");
    let key = format!("Bearer {}", key["key"].as_str().unwrap());
    let admin = format!("Bearer {}", f.admin);
    let t1 = ("ngsild-tenant", "t1");
    for e in [
        json!({"id": "urn:ngsi-ld:AirQualityObserved:dongsi", "type": "AirQualityObserved",
               "pm10": {"type": "Property", "value": 42}, "no2": {"type": "Property", "value": 17}}),
        json!({"id": "urn:ngsi-ld:WaterObserved:venice", "type": "WaterObserved",
               "height": {"type": "Property", "value": 0.32}}),
    ] {
        let r = call(
            &s,
            "POST",
            "/entities",
            &[("authorization", &admin), t1],
            Some(e),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    // Every discovery call as the scoped key.
    let key_header = [("authorization", key.as_str())];
    let as_key = |path: &'static str| call(&s, "GET", path, &key_header, None);
    let r = as_key("/types").await;
    assert_eq!(r.body["typeList"], json!(["WaterObserved"]), "{}", r.body);
    let r = as_key("/types?details=true").await;
    assert_eq!(r.body.as_array().map(Vec::len), Some(1), "{}", r.body);
    assert_eq!(r.body[0]["typeName"], "WaterObserved");
    assert_eq!(r.body[0]["attributeNames"], json!(["height"]));
    let r = as_key("/types/AirQualityObserved").await;
    assert_ngsi_error(&r, 404, "ResourceNotFound");
    let r = as_key("/types/WaterObserved").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["entityCount"], 1);
    let names: Vec<&str> = r.body["attributeDetails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["attributeName"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["height"]);
    let r = as_key("/attributes").await;
    assert_eq!(r.body["attributeList"], json!(["height"]), "{}", r.body);
    let r = as_key("/attributes?details=true").await;
    assert_eq!(r.body.as_array().map(Vec::len), Some(1), "{}", r.body);
    assert_eq!(r.body[0]["attributeName"], "height");
    assert_eq!(r.body[0]["typeNames"], json!(["WaterObserved"]));
    let r = as_key("/attributes/pm10").await;
    assert_ngsi_error(&r, 404, "ResourceNotFound");
    let r = as_key("/attributes/height").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["typeNames"], json!(["WaterObserved"]));
    // The tenant's admin still sees both types.
    let r = call(&s, "GET", "/types", &[("authorization", &admin), t1], None).await;
    assert_eq!(
        r.body["typeList"],
        json!(["AirQualityObserved", "WaterObserved"]),
        "{}",
        r.body
    );
}
