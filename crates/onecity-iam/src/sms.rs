//! The platform's one SMS gateway (短信网关): an HTTP endpoint configured by URL that
//! receives a JSON `POST` per message and forwards it to the carrier (a city's SMS
//! platform, or a small adapter in front of a commercial provider).
//!
//! Request: `POST <url>` with `Content-Type: application/json`, `Authorization: Bearer
//! <token>` when a token is configured, and the body
//!
//! ```json
//! {"to": "+8613812345678", "text": "【onecity】验证码 123456 …", "purpose": "register"}
//! ```
//!
//! `to` is an E.164 phone number, or an e-mail address for identifiers that are e-mail
//! addresses (the gateway delivers both; a deployment without e-mail delivery points the
//! gateway at an adapter that sends mail). `purpose` is a short snake_case tag
//! (`register`, `sign_in`, and the services' notification kinds). Any 2xx answer means the
//! gateway took the message; its body is ignored.
//!
//! Used by the citizen codes here and, later, by the services for notifications: a plain
//! public type, cheap to clone.

use onecity_core::{Error, ErrorCode, Result};
use serde::Serialize;
use std::time::Duration;

/// Settings of the SMS gateway.
#[derive(Debug, Clone)]
pub struct SmsConfig {
    /// The gateway's URL (`http://` or `https://`).
    pub url: String,
    /// Bearer token sent as `Authorization: Bearer <token>`, if any.
    pub token: Option<String>,
    /// Time limit of one request, connection included (default 5 s).
    pub timeout: Duration,
}

/// One message.
#[derive(Debug, Clone, Serialize)]
pub struct SmsMessage<'a> {
    /// E.164 phone number (or e-mail address).
    pub to: &'a str,
    /// The text, at most [`MAX_TEXT_CHARS`] characters.
    pub text: &'a str,
    /// What the message is for, snake_case (`register`, `sign_in`, …).
    pub purpose: &'a str,
}

/// Longest text the gateway is given (a few concatenated SMS segments).
pub const MAX_TEXT_CHARS: usize = 500;

/// The HTTP SMS gateway client.
#[derive(Debug, Clone)]
pub struct SmsGateway {
    cfg: SmsConfig,
    http: reqwest::Client,
}

impl SmsGateway {
    /// A client for the gateway at `cfg.url`. Errors: `invalid_input` when the URL is not
    /// an `http(s)` URL.
    pub fn new(cfg: SmsConfig) -> Result<SmsGateway> {
        if !(cfg.url.starts_with("http://") || cfg.url.starts_with("https://")) {
            return Err(Error::invalid(format!(
                "sms_gateway_url {:?} must be an http:// or https:// URL",
                cfg.url
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(Error::internal)?;
        Ok(SmsGateway { cfg, http })
    }

    /// The gateway's URL.
    pub fn url(&self) -> &str {
        &self.cfg.url
    }

    /// Sends one message; returns when the gateway answered 2xx.
    ///
    /// Errors: `invalid_input` for an empty `to` or a text over [`MAX_TEXT_CHARS`];
    /// `sms_gateway_failed` (503) when the gateway is unreachable, does not answer within
    /// the timeout, or answers anything but 2xx (the cause is logged, not shown).
    pub async fn send(&self, msg: &SmsMessage<'_>) -> Result<()> {
        if msg.to.is_empty() || msg.text.chars().count() > MAX_TEXT_CHARS {
            return Err(Error::invalid(format!(
                "an SMS needs a recipient and at most {MAX_TEXT_CHARS} characters of text"
            )));
        }
        let mut req = self.http.post(&self.cfg.url).json(msg);
        if let Some(t) = &self.cfg.token {
            req = req.bearer_auth(t);
        }
        let failed = |why: String| {
            metrics::counter!("onecity_sms_failures_total").increment(1);
            tracing::warn!(purpose = msg.purpose, %why, "SMS gateway failed");
            Error::new(
                ErrorCode::SmsGatewayFailed,
                format!("the SMS gateway did not take the message: {why}"),
            )
        };
        match req.send().await {
            Ok(r) if r.status().is_success() => {
                metrics::counter!("onecity_sms_sent_total").increment(1);
                Ok(())
            }
            Ok(r) => Err(failed(format!("it answered HTTP {}", r.status().as_u16()))),
            Err(e) if e.is_timeout() => Err(failed(format!(
                "no answer within {} ms",
                self.cfg.timeout.as_millis()
            ))),
            Err(e) => Err(failed(e.without_url().to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    type Seen = Arc<Mutex<Vec<(Option<String>, serde_json::Value)>>>;

    /// A local receiver: records (authorization header, body) and answers `status`, after
    /// `delay`.
    async fn receiver(status: u16, delay: Duration) -> (String, Seen) {
        let seen: Seen = Arc::default();
        let s = seen.clone();
        let app = axum::Router::new().route(
            "/sms",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::Json<serde_json::Value>| {
                    let s = s.clone();
                    async move {
                        tokio::time::sleep(delay).await;
                        let auth = headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string);
                        s.lock().unwrap().push((auth, body.0));
                        axum::http::StatusCode::from_u16(status).unwrap()
                    }
                },
            ),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/sms", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        (url, seen)
    }

    fn gw(url: &str, token: Option<&str>, timeout_ms: u64) -> SmsGateway {
        SmsGateway::new(SmsConfig {
            url: url.into(),
            token: token.map(str::to_string),
            timeout: Duration::from_millis(timeout_ms),
        })
        .unwrap()
    }

    #[tokio::test]
    async fn posts_json_with_bearer_token() {
        let (url, seen) = receiver(202, Duration::ZERO).await;
        let g = gw(&url, Some("s3cret"), 2000);
        g.send(&SmsMessage {
            to: "+8613812345678",
            text: "验证码 123456",
            purpose: "register",
        })
        .await
        .unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0.as_deref(), Some("Bearer s3cret"));
        assert_eq!(
            seen[0].1,
            serde_json::json!({"to": "+8613812345678", "text": "验证码 123456", "purpose": "register"})
        );
    }

    #[tokio::test]
    async fn failures_are_catalogue_errors() {
        let msg = SmsMessage {
            to: "+8613812345678",
            text: "x",
            purpose: "sign_in",
        };
        // An error answer.
        let (url, _) = receiver(500, Duration::ZERO).await;
        let e = gw(&url, None, 2000).send(&msg).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::SmsGatewayFailed);
        assert!(e.detail.contains("HTTP 500"), "{}", e.detail);
        // Too slow.
        let (url, _) = receiver(200, Duration::from_millis(800)).await;
        let started = std::time::Instant::now();
        let e = gw(&url, None, 200).send(&msg).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::SmsGatewayFailed);
        assert!(started.elapsed() < Duration::from_millis(700));
        assert!(e.detail.contains("within 200 ms"), "{}", e.detail);
        // Nobody listening.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = gw(&format!("http://127.0.0.1:{port}/sms"), None, 1000)
            .send(&msg)
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::SmsGatewayFailed);
        // Bad settings and input.
        assert!(SmsGateway::new(SmsConfig {
            url: "ftp://x".into(),
            token: None,
            timeout: Duration::from_secs(1)
        })
        .is_err());
        let long = "字".repeat(MAX_TEXT_CHARS + 1);
        let e = gw(&url, None, 1000)
            .send(&SmsMessage {
                text: &long,
                ..msg.clone()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput);
    }
}
