use crate::{fixture, server_with};
use onecity_testkit::Options;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Kills the child process when dropped (also when an assertion fails).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An SMTP sink (aiosmtpd from PyPI) writing a Maildir; `None` (skipped) outside CI when
/// aiosmtpd is not installed.
fn smtp_sink(maildir: &std::path::Path) -> Option<(KillOnDrop, u16)> {
    let have = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !have {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("aiosmtpd is not installed (pip install aiosmtpd), and CI=true");
        }
        eprintln!("SKIPPED: aiosmtpd is not installed (pip install aiosmtpd)");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
            maildir.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    let child = KillOnDrop(child);
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "aiosmtpd did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some((child, port))
}

type Hits = Arc<Mutex<Vec<(String, String)>>>;

/// A webhook receiver recording (signature header, body).
async fn webhook_sink() -> (String, Hits) {
    let hits: Hits = Arc::default();
    let h = hits.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let h = h.clone();
            async move {
                let sig = headers
                    .get("x-onecity-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                h.lock().unwrap().push((sig, body));
                "ok"
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, hits)
}

#[tokio::test]
async fn an_sla_breach_is_mailed_to_the_assignee_and_posted_to_the_webhook() {
    let tmp = tempfile::tempdir().unwrap();
    let maildir = tmp.path().join("mail"); // aiosmtpd creates the Maildir when it is absent
    let Some((_smtp, port)) = smtp_sink(&maildir) else {
        return;
    };
    let (hook, hits) = webhook_sink().await;
    let env = vec![
        (
            "ONECITY_SMTP_URL".to_string(),
            format!("smtp://127.0.0.1:{port}"),
        ),
        ("ONECITY_NOTIFY_WEBHOOK_URL".to_string(), hook),
        (
            "ONECITY_NOTIFY_WEBHOOK_SECRET".to_string(),
            "s3cret".to_string(),
        ),
        ("ONECITY_SLA_SCAN_SECS".to_string(), "1".to_string()),
    ];
    let s = server_with(Options {
        env,
        ..Default::default()
    })
    .await;
    let f = fixture(&s).await;
    // A flow whose only state is due 2 seconds (wall clock) after the case is claimed.
    let quick = json!({"key":"quick","name":"Quick test flow","module":"test","roles":["HANDLER"],
        "states":[{"key":"OPEN","start":true,"clock":"on_claim","sla":{"due":{"hours":0.00055}}},{"key":"DONE","terminal":true}],
        "actions":[{"key":"FINISH","from":["OPEN"],"to":"DONE","roles":["HANDLER"]}]});
    let (st, body) = s
        .post("/api/v1/tenants/t1/flows", &f.admin, &quick)
        .await
        .unwrap();
    assert_eq!(st, 201, "{body}");
    let (st, u) = s.post("/api/v1/tenants/t1/users", &f.admin, &json!({"username":"handler-1","display_name":"处理人","password":"Passw0rd-H-123","email":"handler-1@example.cn","roles":[]})).await.unwrap();
    assert_eq!(st, 201, "{u}");
    let r = s
        .http
        .post(format!("{}/api/v1/tenants/t1/flow-roles", s.url))
        .bearer_auth(&f.admin)
        .json(&json!({"principal_id":u["id"],"role":"HANDLER"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let handler = s.login("handler-1", "Passw0rd-H-123").await.unwrap();
    let (st, case) = s
        .post(
            "/api/v1/tenants/t1/cases",
            &f.admin,
            &json!({"flow":"quick","title":"井盖缺失 Missing manhole cover"}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{case}");
    let id = case["id"].as_str().unwrap().to_string();
    let (st, claimed) = s
        .post(
            &format!("/api/v1/tenants/t1/cases/{id}/claim"),
            &handler,
            &json!({}),
        )
        .await
        .unwrap();
    assert_eq!(st, 200, "{claimed}");

    // Within a few scheduler and delivery passes: one e-mail, one signed webhook call.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mail = loop {
        let new = maildir.join("new");
        if let Some(entry) = std::fs::read_dir(&new).ok().and_then(|mut d| d.next()) {
            break std::fs::read_to_string(entry.unwrap().path()).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "no e-mail arrived; server log:\n{}",
            s.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(mail.contains("To: handler-1@example.cn"), "{mail}");
    assert!(mail.contains("sla_breached"), "{mail}");
    let (sig, body) = loop {
        if let Some(h) = hits.lock().unwrap().first().cloned() {
            break h;
        }
        assert!(Instant::now() < deadline, "no webhook call arrived");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["kind"].as_str(), v["case_id"].as_str()),
        (Some("sla_breached"), Some(id.as_str()))
    );
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(body.as_bytes());
    assert_eq!(
        sig,
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );
    // The handler also sees it in-app.
    let (_, notes) = s
        .get("/api/v1/tenants/t1/notifications", &handler)
        .await
        .unwrap();
    assert!(notes
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["kind"] == "sla_breached"));
}
