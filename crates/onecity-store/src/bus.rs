//! The platform event bus, fed from the outbox; at-least-once, surviving restarts.
//!
//! Two backends:
//! - **local** (default): the relay moves each committed outbox row into a durable
//!   per-consumer inbox (`event_inbox`) in one transaction, then each consumer handles its
//!   pending rows and marks them done in the same transaction as its own effects.
//! - **NATS JetStream** (`--nats-url`): the relay publishes each row to the stream with the
//!   event id as `Nats-Msg-Id` (the server drops duplicates within its window) and marks it
//!   published; each consumer is a durable pull consumer that records the event id in its
//!   inbox in the same transaction as its effects, so a redelivered event is skipped.
//!
//! Either way a process killed between commit and publish publishes on restart, and each
//! consumer handles each event once.

use crate::{args, Db, Tx, Val};
use futures::future::BoxFuture;
use futures::StreamExt;
use onecity_core::events::EventEnvelope;
use onecity_core::{Error, Result};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// A subscriber: handles one event inside the transaction that marks it done.
pub trait Handler: Send + Sync + 'static {
    /// Durable consumer name (stable across restarts), e.g. `governance.twin-alerts`.
    fn name(&self) -> &str;
    /// Handles one event; an error rolls the batch back and it is retried later.
    fn handle<'a>(&'a self, tx: &'a mut Tx, env: &'a EventEnvelope) -> BoxFuture<'a, Result<()>>;
}

#[derive(Clone)]
enum Backend {
    Local,
    Nats {
        js: Box<async_nats::jetstream::Context>,
        stream: String,
    },
}

/// The event bus: relay plus consumer runners.
#[derive(Clone)]
pub struct EventBus {
    db: Db,
    backend: Backend,
    wake: Arc<Notify>,
    relay_delay: Duration,
}

/// How long the relay and consumers sleep when idle (they also wake on local commits).
const POLL: Duration = Duration::from_millis(250);

impl EventBus {
    /// A bus on the database alone.
    pub fn local(db: Db) -> Self {
        EventBus {
            db,
            backend: Backend::Local,
            wake: Arc::new(Notify::new()),
            relay_delay: Duration::ZERO,
        }
    }

    /// A bus on NATS JetStream; creates the stream `stream` (subjects `<stream>.>`) if missing.
    pub async fn nats(db: Db, url: &str, stream: &str) -> Result<Self> {
        let client = async_nats::connect(url)
            .await
            .map_err(|e| Error::internal(format!("cannot connect to NATS at {url}: {e}")))?;
        let js = async_nats::jetstream::new(client);
        js.get_or_create_stream(async_nats::jetstream::stream::Config {
            name: stream.to_string(),
            subjects: vec![format!("{stream}.>")],
            duplicate_window: Duration::from_secs(600),
            ..Default::default()
        })
        .await
        .map_err(|e| Error::internal(format!("cannot create JetStream stream {stream}: {e}")))?;
        Ok(EventBus {
            db,
            backend: Backend::Nats {
                js: Box::new(js),
                stream: stream.to_string(),
            },
            wake: Arc::new(Notify::new()),
            relay_delay: Duration::ZERO,
        })
    }

    /// Delays publishing by `d` after each wake-up (fault injection for crash tests).
    pub fn with_relay_delay(mut self, d: Duration) -> Self {
        self.relay_delay = d;
        self
    }

    /// `"local"` or `"nats"`.
    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Local => "local",
            Backend::Nats { .. } => "nats",
        }
    }

    /// Tells the relay that new outbox rows committed (saves a poll interval).
    pub fn poke(&self) {
        self.wake.notify_waiters();
    }

    /// Registers a durable consumer name, so that the local relay fans events out to it
    /// even while it is not running.
    pub async fn register(&self, name: &str) -> Result<()> {
        self.db
            .execute(
                "INSERT INTO event_consumers (name, registered_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                args![name, onecity_core::time::now_micros()],
            )
            .await?;
        Ok(())
    }

    /// Publishes every committed, unpublished outbox row; returns how many.
    pub async fn relay_once(&self) -> Result<usize> {
        let mut tx = self.db.begin().await?;
        let lock = tx.sql("", " FOR UPDATE SKIP LOCKED");
        let rows = tx
            .fetch_all(
                &format!("SELECT seq, id, topic, payload FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT 500{lock}"),
                &[],
            )
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let now = onecity_core::time::now_micros();
        // `now` then the relayed seqs, for the two set-based statements below (one each per
        // batch instead of one per row and consumer).
        let mut now_and_seqs = Vec::with_capacity(rows.len() + 1);
        now_and_seqs.push(Val::from(now));
        for r in &rows {
            now_and_seqs.push(Val::from(r.i64("seq")?));
        }
        let params = crate::placeholders(tx.backend(), 1, now_and_seqs.len());
        let (now_ph, seq_ph) = params.split_once(", ").unwrap_or((&params, ""));
        match &self.backend {
            Backend::Local => {
                // The WHERE clause also keeps SQLite from reading ON CONFLICT as a join
                // constraint.
                tx.execute(
                    &format!(
                        "INSERT INTO event_inbox (consumer, event_id, seq, payload, received_at) \
                         SELECT c.name, o.id, o.seq, o.payload, {now_ph} FROM outbox o CROSS JOIN event_consumers c \
                         WHERE o.seq IN ({seq_ph}) ON CONFLICT (consumer, event_id) DO NOTHING"
                    ),
                    &now_and_seqs,
                )
                .await?;
            }
            Backend::Nats { js, stream } => {
                for r in &rows {
                    let mut headers = async_nats::HeaderMap::new();
                    headers.insert(async_nats::header::NATS_MESSAGE_ID, r.text("id")?.as_str());
                    let subject = format!("{stream}.{}", r.text("topic")?);
                    js.publish_with_headers(
                        subject,
                        headers,
                        r.text("payload")?.into_bytes().into(),
                    )
                    .await
                    .map_err(|e| Error::internal(format!("NATS publish: {e}")))?
                    .await
                    .map_err(|e| Error::internal(format!("NATS publish ack: {e}")))?;
                }
            }
        }
        tx.execute(
            &format!("UPDATE outbox SET published_at = {now_ph} WHERE seq IN ({seq_ph})"),
            &now_and_seqs,
        )
        .await?;
        tx.commit().await?;
        metrics::counter!("onecity_events_published_total").increment(rows.len() as u64);
        self.wake.notify_waiters();
        Ok(rows.len())
    }

    /// Runs the relay until `shutdown` turns true; drains once more before returning.
    pub async fn run_relay(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            if !self.relay_delay.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(self.relay_delay) => {}
                    _ = shutdown.changed() => break,
                }
            }
            match self.relay_once().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "outbox relay failed; retrying"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => {}
            }
        }
        if self.relay_delay.is_zero() {
            if let Err(e) = self.relay_once().await {
                tracing::warn!(error = %e, "final outbox relay failed");
            }
        }
    }

    /// Handles up to 100 pending local-inbox events of `h`; returns how many.
    pub async fn consume_local_once(&self, h: &dyn Handler) -> Result<usize> {
        let mut tx = self.db.begin().await?;
        // SKIP LOCKED: replicas sharing a PostgreSQL store split the pending events instead
        // of handling one twice.
        let lock = tx.sql("", " FOR UPDATE SKIP LOCKED");
        let rows = tx
            .fetch_all(
                &format!("SELECT event_id, payload FROM event_inbox WHERE consumer = $1 AND done_at IS NULL ORDER BY seq LIMIT 100{lock}"),
                args![h.name()],
            )
            .await?;
        for r in &rows {
            let env: EventEnvelope =
                serde_json::from_str(&r.text("payload")?).map_err(Error::internal)?;
            h.handle(&mut tx, &env).await?;
            tx.execute(
                "UPDATE event_inbox SET done_at = $1 WHERE consumer = $2 AND event_id = $3",
                args![
                    onecity_core::time::now_micros(),
                    h.name(),
                    r.text("event_id")?
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }

    /// Runs consumer `h` until shutdown: local inbox polling or a JetStream durable consumer.
    pub async fn run_consumer(self, h: Arc<dyn Handler>, mut shutdown: watch::Receiver<bool>) {
        if let Err(e) = self.register(h.name()).await {
            tracing::error!(error = %e, consumer = h.name(), "cannot register consumer");
        }
        match self.backend.clone() {
            Backend::Local => loop {
                if *shutdown.borrow() {
                    break;
                }
                match self.consume_local_once(&*h).await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, consumer = h.name(), "consumer failed; retrying")
                    }
                }
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(POLL) => {}
                    _ = shutdown.changed() => {}
                }
            },
            Backend::Nats { js, stream } => {
                if let Err(e) = self
                    .run_nats_consumer(&js, &stream, &*h, &mut shutdown)
                    .await
                {
                    tracing::error!(error = %e, consumer = h.name(), "NATS consumer stopped");
                }
            }
        }
    }

    async fn run_nats_consumer(
        &self,
        js: &async_nats::jetstream::Context,
        stream: &str,
        h: &dyn Handler,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<()> {
        use async_nats::jetstream::consumer::{pull, AckPolicy};
        let nats_err = |e: &dyn std::fmt::Display| Error::internal(format!("NATS: {e}"));
        let s = js.get_stream(stream).await.map_err(|e| nats_err(&e))?;
        let durable: String = h
            .name()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let consumer = s
            .get_or_create_consumer(
                &durable,
                pull::Config {
                    durable_name: Some(durable.clone()),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(30),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| nats_err(&e))?;
        let mut messages = consumer.messages().await.map_err(|e| nats_err(&e))?;
        loop {
            let next = tokio::select! {
                m = messages.next() => m,
                _ = shutdown.changed() => return Ok(()),
            };
            let Some(msg) = next else { return Ok(()) };
            let msg = msg.map_err(|e| nats_err(&e))?;
            let env: EventEnvelope = match serde_json::from_slice(&msg.payload) {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(error = %e, "undecodable event on the bus; acknowledged and skipped");
                    let _ = msg.ack().await;
                    continue;
                }
            };
            let seq = msg.info().map(|i| i.stream_sequence as i64).unwrap_or(0);
            let result: Result<()> = async {
                let mut tx = self.db.begin().await?;
                let now = onecity_core::time::now_micros();
                let fresh = tx
                    .execute(
                        "INSERT INTO event_inbox (consumer, event_id, seq, payload, received_at, done_at) VALUES ($1, $2, $3, $4, $5, $5) \
                         ON CONFLICT (consumer, event_id) DO NOTHING",
                        args![h.name(), env.id, seq, String::from_utf8_lossy(&msg.payload).to_string(), now],
                    )
                    .await?;
                if fresh == 1 {
                    h.handle(&mut tx, &env).await?;
                }
                tx.commit().await
            }
            .await;
            match result {
                Ok(()) => {
                    let _ = msg.ack().await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, consumer = h.name(), "handler failed; NATS will redeliver")
                }
            }
        }
    }
}
