//! Delivery of notifications beyond the in-app list: e-mail over SMTP and a webhook.
//!
//! The scheduler writes each notification to `flow_notifications` in the transaction that
//! fires its timer. [`Notifier::deliver_once`] then sends the undelivered ones: an e-mail
//! to each recipient with an address (the addressed user, or every holder of the addressed
//! role in the case's department), and a JSON POST to the configured webhook, signed with
//! HMAC-SHA-256 (`X-Onecity-Signature: sha256=<hex>`) when a secret is set. Each channel is
//! marked done separately; failures are retried on later passes, at most
//! [`MAX_ATTEMPTS`] times (at-least-once: a crash after sending and before marking sends
//! again).

use hmac::{Hmac, Mac};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use onecity_core::{time, Error, Result};
use onecity_store::{args, Db, Row};
use serde_json::json;
use sha2::Sha256;
use std::time::Duration;

/// Delivery attempts per notification before it is given up.
pub const MAX_ATTEMPTS: i64 = 10;

/// Where notifications go.
#[derive(Debug, Clone, Default)]
pub struct NotifyConfig {
    /// `smtp://host:port` of the relay (plain SMTP; put TLS in the relay).
    pub smtp_url: Option<String>,
    /// Sender address.
    pub smtp_from: String,
    /// URL receiving a JSON POST per notification.
    pub webhook_url: Option<String>,
    /// Secret for the webhook's HMAC signature.
    pub webhook_secret: Option<String>,
}

/// Sends undelivered notifications.
#[derive(Clone)]
pub struct Notifier {
    db: Db,
    cfg: NotifyConfig,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    http: reqwest::Client,
}

impl Notifier {
    /// A notifier; `None` when neither SMTP nor a webhook is configured.
    ///
    /// Errors: `invalid_input` for an SMTP URL that is not `smtp://host[:port]`.
    pub fn new(db: Db, cfg: NotifyConfig) -> Result<Option<Notifier>> {
        if cfg.smtp_url.is_none() && cfg.webhook_url.is_none() {
            return Ok(None);
        }
        let smtp = match &cfg.smtp_url {
            Some(u) => {
                let rest = u
                    .strip_prefix("smtp://")
                    .ok_or_else(|| Error::invalid("smtp_url must look like smtp://host:port"))?;
                let (host, port) = match rest.rsplit_once(':') {
                    Some((h, p)) => (
                        h.to_string(),
                        p.trim_end_matches('/')
                            .parse::<u16>()
                            .map_err(|_| Error::invalid("smtp_url has a bad port"))?,
                    ),
                    None => (rest.trim_end_matches('/').to_string(), 25),
                };
                Some(
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                        .port(port)
                        .timeout(Some(Duration::from_secs(10)))
                        .build(),
                )
            }
            None => None,
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(Error::internal)?;
        Ok(Some(Notifier {
            db,
            cfg,
            smtp,
            http,
        }))
    }

    /// Delivers up to 100 pending notifications; returns how many were fully delivered.
    pub async fn deliver_once(&self) -> Result<usize> {
        let mut cond = Vec::new();
        if self.smtp.is_some() {
            cond.push("emailed_at IS NULL");
        }
        if self.cfg.webhook_url.is_some() {
            cond.push("webhooked_at IS NULL");
        }
        let rows = self
            .db
            .fetch_all(
                &format!("SELECT * FROM flow_notifications WHERE ({}) AND attempts < $1 ORDER BY created_at LIMIT 100", cond.join(" OR ")),
                args![MAX_ATTEMPTS],
            )
            .await?;
        let mut done = 0;
        for r in rows {
            let id = r.text("id")?;
            let mut ok = true;
            if self.smtp.is_some() && r.opt_i64("emailed_at")?.is_none() {
                match self.email(&r).await {
                    Ok(()) => {
                        self.db
                            .execute(
                                "UPDATE flow_notifications SET emailed_at = $1 WHERE id = $2",
                                args![time::now_micros(), id.clone()],
                            )
                            .await?;
                    }
                    Err(e) => {
                        ok = false;
                        tracing::warn!(error = %e, notification = %id, "e-mail delivery failed; will retry");
                    }
                }
            }
            if self.cfg.webhook_url.is_some() && r.opt_i64("webhooked_at")?.is_none() {
                match self.webhook(&r).await {
                    Ok(()) => {
                        self.db
                            .execute(
                                "UPDATE flow_notifications SET webhooked_at = $1 WHERE id = $2",
                                args![time::now_micros(), id.clone()],
                            )
                            .await?;
                    }
                    Err(e) => {
                        ok = false;
                        tracing::warn!(error = %e, notification = %id, "webhook delivery failed; will retry");
                    }
                }
            }
            if ok {
                done += 1;
            } else {
                self.db
                    .execute(
                        "UPDATE flow_notifications SET attempts = attempts + 1 WHERE id = $1",
                        args![id],
                    )
                    .await?;
            }
        }
        Ok(done)
    }

    async fn recipients(&self, r: &Row) -> Result<Vec<String>> {
        let rows = if let Some(p) = r.opt_text("principal_id")? {
            self.db
                .fetch_all(
                    "SELECT email FROM principals WHERE id = $1 AND email IS NOT NULL",
                    args![p],
                )
                .await?
        } else if let Some(role) = r.opt_text("role")? {
            self.db
                .fetch_all(
                    "SELECT DISTINCT p.email FROM flow_role_grants g JOIN principals p ON p.id = g.principal_id \
                     WHERE g.tenant = $1 AND g.role = $2 AND p.email IS NOT NULL AND (g.department_id IS NULL OR $3 IS NULL OR g.department_id = $3)",
                    args![r.text("tenant")?, role, r.opt_text("department_id")?],
                )
                .await?
        } else {
            vec![]
        };
        rows.iter().map(|x| x.text("email")).collect()
    }

    async fn email(&self, r: &Row) -> Result<()> {
        let Some(smtp) = &self.smtp else {
            return Ok(());
        };
        let from: Mailbox = self
            .cfg
            .smtp_from
            .parse()
            .map_err(|e| Error::invalid(format!("smtp_from: {e}")))?;
        let subject = format!(
            "[onecity] {}: {}",
            r.text("kind")?,
            r.text("message")?.chars().take(120).collect::<String>()
        );
        let body = format!(
            "{}\n\ncase: {}\ntenant: {}\n",
            r.text("message")?,
            r.text("case_id")?,
            r.text("tenant")?
        );
        for to in self.recipients(r).await? {
            let Ok(to) = to.parse::<Mailbox>() else {
                tracing::warn!(address = %to, "skipping an unparsable e-mail address");
                continue;
            };
            let msg = Message::builder()
                .from(from.clone())
                .to(to)
                .subject(subject.clone())
                .body(body.clone())
                .map_err(Error::internal)?;
            smtp.send(msg)
                .await
                .map_err(|e| Error::internal(format!("SMTP: {e}")))?;
        }
        Ok(())
    }

    async fn webhook(&self, r: &Row) -> Result<()> {
        let Some(url) = &self.cfg.webhook_url else {
            return Ok(());
        };
        let payload = json!({
            "id": r.text("id")?, "tenant": r.text("tenant")?, "case_id": r.text("case_id")?, "kind": r.text("kind")?,
            "message": r.text("message")?, "principal_id": r.opt_text("principal_id")?, "role": r.opt_text("role")?,
            "department_id": r.opt_text("department_id")?, "created_at": time::rfc3339(r.i64("created_at")?),
        })
        .to_string();
        let mut req = self
            .http
            .post(url)
            .header("content-type", "application/json");
        if let Some(secret) = &self.cfg.webhook_secret {
            let mut mac =
                Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
            mac.update(payload.as_bytes());
            req = req.header(
                "x-onecity-signature",
                format!("sha256={}", hex::encode(mac.finalize().into_bytes())),
            );
        }
        let resp = req
            .body(payload)
            .send()
            .await
            .map_err(|e| Error::internal(format!("webhook: {e}")))?;
        if !resp.status().is_success() {
            return Err(Error::internal(format!(
                "webhook answered {}",
                resp.status()
            )));
        }
        Ok(())
    }
}
