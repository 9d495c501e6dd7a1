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

use crate::store::{self, NotificationRow};
use hmac::{Hmac, Mac};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use onecity_core::{time, Error, Result};
use onecity_iam::Iam;
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
    iam: Iam,
    cfg: NotifyConfig,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    http: reqwest::Client,
}

impl Notifier {
    /// A notifier over the store behind `iam` (which it also asks for e-mail addresses);
    /// `None` when neither SMTP nor a webhook is configured.
    ///
    /// Errors: `invalid_input` for an SMTP URL that is not `smtp://host[:port]`.
    pub fn new(iam: Iam, cfg: NotifyConfig) -> Result<Option<Notifier>> {
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
            iam,
            cfg,
            smtp,
            http,
        }))
    }

    /// Delivers up to 100 pending notifications; returns how many were fully delivered.
    pub async fn deliver_once(&self) -> Result<usize> {
        let db = self.iam.db();
        let by_email = self.smtp.is_some();
        let by_webhook = self.cfg.webhook_url.is_some();
        let rows = store::undelivered_notifications(db, by_email, by_webhook, MAX_ATTEMPTS).await?;
        let mut done = 0;
        for note in rows {
            let id = note.id;
            let mut ok = true;
            if by_email && note.emailed_at.is_none() {
                match self.email(&note).await {
                    Ok(()) => store::mark_emailed(db, id, time::now_micros()).await?,
                    Err(e) => {
                        ok = false;
                        tracing::warn!(error = %e, notification = %id, "e-mail delivery failed; will retry");
                    }
                }
            }
            if by_webhook && note.webhooked_at.is_none() {
                match self.webhook(&note).await {
                    Ok(()) => store::mark_webhooked(db, id, time::now_micros()).await?,
                    Err(e) => {
                        ok = false;
                        tracing::warn!(error = %e, notification = %id, "webhook delivery failed; will retry");
                    }
                }
            }
            if ok {
                done += 1;
            } else {
                store::count_attempt(db, id).await?;
            }
        }
        Ok(done)
    }

    /// E-mail addresses of a notification's recipients: the addressed principal, or every
    /// holder of the addressed role whose grant covers the case's department.
    async fn recipients(&self, note: &NotificationRow) -> Result<Vec<String>> {
        let principal_ids = if let Some(principal_id) = note.principal_id {
            vec![principal_id]
        } else if let Some(role) = &note.role {
            store::role_holders(self.iam.db(), &note.tenant, role, note.department_id).await?
        } else {
            vec![]
        };
        self.iam.emails_of(&principal_ids).await
    }

    async fn email(&self, note: &NotificationRow) -> Result<()> {
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
            note.kind,
            note.message.chars().take(120).collect::<String>()
        );
        let body = format!(
            "{}\n\ncase: {}\ntenant: {}\n",
            note.message, note.case_id, note.tenant
        );
        for to in self.recipients(note).await? {
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

    async fn webhook(&self, note: &NotificationRow) -> Result<()> {
        let Some(url) = &self.cfg.webhook_url else {
            return Ok(());
        };
        let payload = json!({
            "id": note.id, "tenant": note.tenant, "case_id": note.case_id, "kind": note.kind,
            "message": note.message, "principal_id": note.principal_id, "role": note.role,
            "department_id": note.department_id, "created_at": time::rfc3339(note.created_at),
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
