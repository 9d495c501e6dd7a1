//! The notifier: matches committed entity changes against the subscriptions and delivers
//! NGSI-LD notifications (GS CIM 009 §5.8.6 notification behaviour, §7.2 HTTP binding of
//! notifications, annex on MQTT notifications).
//!
//! - Index: every subscription, parsed, in memory by tenant (a cache of
//!   `twin_subscriptions`, loaded at start and updated by the subscription API).
//! - Trigger: a task reads [`Twin::changes`]; for each created, updated, replaced or
//!   deleted entity it notifies the subscriptions that are active and not expired, whose
//!   entity selectors, `q` and `geoQ` hold on the new state (the last state for a
//!   deletion), and whose `notificationTrigger` and `watchedAttributes` the change meets
//!   (see [`crate::service::notification`], which also builds the notified entity). `throttling` drops a notification that comes sooner than `throttling` seconds
//!   after the previous one. `timeInterval` subscriptions are not triggered by changes: a
//!   ticker sends every matching entity each interval.
//! - Delivery: HTTP(S) POST of the `Notification` (`Content-Type` = endpoint `accept`;
//!   with `application/json`, the context in a `Link` header; `receiverInfo` as headers;
//!   `NGSILD-Tenant` for non-default tenants), or MQTT publish (QoS 1, not retained) of
//!   `{"metadata": {headers}, "body": notification}` to `mqtt://host:port/topic`.
//!   A failed delivery (connection error, non-2xx) is retried [`RETRIES`] times with
//!   exponential backoff (200 ms × 4ⁿ); at most [`MAX_IN_FLIGHT`] delivery attempts run at
//!   once (a waiting retry holds no slot). Notifications of one subscription may arrive
//!   out of order when deliveries overlap.
//! - Status: `timesSent`, `timesFailed`, `lastNotification`, `lastSuccess`,
//!   `lastFailure` are kept in memory and written to the store every second.

use crate::ld::context::Context;
use crate::ld::error::{NgsiError, NgsiResult, ProblemKind};
use crate::ld::model::format_micros;
use crate::service::notification;
use crate::service::subscription::{self, notification_body, Subscription, Trigger};
use crate::service::{EntityChange, Query, Twin};
use onecity_store::Db;
use parking_lot::{Mutex, RwLock};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch, Semaphore};

/// Retries after a failed delivery.
pub const RETRIES: u32 = 3;
/// Most deliveries in flight at once.
pub const MAX_IN_FLIGHT: usize = 256;
/// Longest wait of a subscription read for the deliveries under way ([`Notifier::settle`]).
pub const SETTLE: Duration = Duration::from_secs(1);
/// Timeout of one HTTP delivery.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Default, Clone)]
struct Status {
    times_sent: i64,
    times_failed: i64,
    last_notification: Option<i64>,
    last_success: Option<i64>,
    last_failure: Option<i64>,
    /// When a `timeInterval` subscription was last evaluated (in memory only: an
    /// evaluation without matching entities sends nothing and is no `lastNotification`).
    last_tick: Option<i64>,
    /// Deliveries under way (in memory only).
    in_flight: u32,
    dirty: bool,
}

struct Entry {
    sub: Subscription,
    raw: Map<String, Value>,
    ctx_json: Value,
    created_at: i64,
    status: Mutex<Status>,
}

struct Inner {
    twin: Twin,
    db: Db,
    subs: RwLock<HashMap<String, BTreeMap<String, Arc<Entry>>>>,
    http: reqwest::Client,
    mqtt: Mutex<HashMap<String, rumqttc::AsyncClient>>,
    sem: Semaphore,
}

/// The subscription index and notification sender (cheap to clone).
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

impl Notifier {
    /// Loads every stored subscription (those that no longer parse are logged and left
    /// out). Needs the `twin_sub` migrations.
    pub async fn new(twin: Twin) -> NgsiResult<Notifier> {
        let db = twin.db().clone();
        let rows = crate::store::subscriptions::load_all(&db).await?;
        let mut subs: HashMap<String, BTreeMap<String, Arc<Entry>>> = HashMap::new();
        for r in rows {
            let tenant = r.tenant;
            let id = r.id;
            let raw: Map<String, Value> = serde_json::from_str(&r.body).unwrap_or_default();
            let ctx_json: Value = serde_json::from_str(&r.context).unwrap_or(Value::Null);
            let ctx = match twin
                .contexts
                .resolve(Some(&ctx_json).filter(|c| !c.is_null()))
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(%id, error = %e, "subscription context unavailable; left out");
                    continue;
                }
            };
            // Parsed with an old `now` so a stored expiry in the past is kept (it shows as expired).
            match subscription::parse(&tenant, &id, &raw, ctx, i64::MIN, true) {
                Ok(sub) => {
                    let st = Status {
                        times_sent: r.times_sent,
                        times_failed: r.times_failed,
                        last_notification: r.last_notification,
                        last_success: r.last_success,
                        last_failure: r.last_failure,
                        last_tick: None,
                        in_flight: 0,
                        dirty: false,
                    };
                    subs.entry(tenant).or_default().insert(
                        id,
                        Arc::new(Entry {
                            sub,
                            raw,
                            ctx_json,
                            created_at: r.created_at,
                            status: Mutex::new(st),
                        }),
                    );
                }
                Err(e) => tracing::error!(%id, error = %e, "stored subscription invalid; left out"),
            }
        }
        // Header names go out as written (`X-Additional-Key`, `Link`): receivers that
        // look headers up case-sensitively still find them.
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .http1_title_case_headers()
            .build()
            .map_err(NgsiError::internal)?;
        Ok(Notifier {
            inner: Arc::new(Inner {
                twin,
                db,
                subs: RwLock::new(subs),
                http,
                mqtt: Mutex::new(HashMap::new()),
                sem: Semaphore::new(MAX_IN_FLIGHT),
            }),
        })
    }

    /// Starts the change matcher, the periodic sender and the status writer; they stop
    /// when `shutdown` turns true (the status is written once more).
    pub fn start(&self, shutdown: watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
        let me = self.clone();
        let mut rx = self.inner.twin.changes();
        let mut sd = shutdown.clone();
        let a = tokio::spawn(async move {
            loop {
                tokio::select! {
                    r = rx.recv() => match r {
                        Ok(c) => me.on_change(&c),
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "subscriptions lagged behind the change stream")
                        }
                        Err(broadcast::error::RecvError::Closed) => break,
                    },
                    _ = sd.changed() => break,
                }
            }
        });
        let me = self.clone();
        let mut sd = shutdown;
        let b = tokio::spawn(async move {
            let mut ticks = 0u64;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                    _ = sd.changed() => { me.flush_status().await; break }
                }
                me.periodic();
                ticks += 1;
                if ticks.is_multiple_of(4) {
                    me.flush_status().await;
                }
            }
        });
        vec![a, b]
    }

    fn on_change(&self, c: &EntityChange) {
        let Some(current) = c.after.as_ref().or(c.before.as_ref()) else {
            return;
        };
        let fired = notification::fired(c);
        let now = onecity_core::time::now_micros();
        let subs = self.inner.subs.read();
        let Some(list) = subs.get(&c.tenant) else {
            return;
        };
        for e in list.values() {
            let s = &e.sub;
            if !s.active || s.time_interval > 0 || s.expires_at.is_some_and(|x| x <= now) {
                continue;
            }
            if !notification::concerns(s, &fired) || !s.selects(current) {
                continue;
            }
            let Some(data) = notification::notified_entity(s, c, &fired) else {
                continue;
            };
            {
                let mut st = e.status.lock();
                if s.throttling > 0 && st.last_notification.is_some_and(|l| now - l < s.throttling)
                {
                    continue;
                }
                st.last_notification = Some(now);
                st.dirty = true;
            }
            self.dispatch(e.clone(), vec![data]);
        }
    }

    fn periodic(&self) {
        let now = onecity_core::time::now_micros();
        let due: Vec<Arc<Entry>> = {
            let subs = self.inner.subs.read();
            subs.values()
                .flat_map(|m| m.values())
                .filter(|e| {
                    let s = &e.sub;
                    s.time_interval > 0
                        && s.active
                        && s.expires_at.is_none_or(|x| x > now)
                        && e.status
                            .lock()
                            .last_tick
                            .is_none_or(|l| now - l >= s.time_interval)
                })
                .cloned()
                .collect()
        };
        for e in due {
            e.status.lock().last_tick = Some(now);
            let s = &e.sub;
            let q = Query {
                types: s.entities.iter().flat_map(|x| x.types.names()).collect(),
                ..Default::default()
            };
            let max = self.inner.twin.config().max_limit;
            let (ents, _) = self.inner.twin.query(&s.tenant, &q, &s.ctx, 0, usize::MAX);
            let hits: Vec<_> = ents
                .into_iter()
                .filter(|x| s.selects(x))
                .take(max)
                .collect();
            if !hits.is_empty() {
                {
                    let mut st = e.status.lock();
                    st.last_notification = Some(now);
                    st.dirty = true;
                }
                let data = hits.iter().map(|x| notification::render(s, x)).collect();
                self.dispatch(e.clone(), data);
            }
        }
    }

    fn dispatch(&self, e: Arc<Entry>, data: Vec<Value>) {
        let me = self.clone();
        e.status.lock().in_flight += 1;
        tokio::spawn(async move {
            let s = &e.sub;
            let now = onecity_core::time::now_micros();
            let body = notification_body(s, data, now);
            let mut ok = false;
            for attempt in 0..=RETRIES {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(200 * 4u64.pow(attempt - 1))).await;
                }
                // The permit is held for one attempt only, so the backoff of a failing
                // endpoint does not hold back the deliveries of other subscriptions.
                let Ok(permit) = me.inner.sem.acquire().await else {
                    return;
                };
                let r = me.deliver(s, &body).await;
                drop(permit);
                match r {
                    Ok(()) => {
                        ok = true;
                        break;
                    }
                    Err(err) => {
                        tracing::warn!(subscription = %s.id, attempt, error = %err, "notification failed")
                    }
                }
            }
            let done = onecity_core::time::now_micros();
            let mut st = e.status.lock();
            st.in_flight = st.in_flight.saturating_sub(1);
            st.times_sent += 1;
            if ok {
                st.last_success = Some(done);
            } else {
                st.times_failed += 1;
                st.last_failure = Some(done);
            }
            st.dirty = true;
        });
    }

    fn headers(s: &Subscription) -> Vec<(String, String)> {
        let mut h = vec![("Content-Type".to_string(), s.endpoint.accept.clone())];
        if s.endpoint.accept == "application/json" {
            h.push((
                "Link".into(),
                format!(
                    "<{}>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"",
                    Self::link_context(s)
                ),
            ));
        }
        if !s.tenant.is_empty() {
            h.push(("NGSILD-Tenant".into(), s.tenant.clone()));
        }
        h.extend(s.endpoint.receiver_info.iter().cloned());
        h
    }

    /// The @context URL of the `Link` header of a JSON notification (§7.2): the one URL
    /// the subscription was made with (also when given as a one-element array), else the
    /// core context.
    fn link_context(s: &Subscription) -> String {
        match &s.ctx.source {
            Some(Value::Array(a)) if a.len() == 1 => a[0]
                .as_str()
                .map_or_else(|| s.ctx.link_url(), str::to_string),
            _ => s.ctx.link_url(),
        }
    }

    async fn deliver(&self, s: &Subscription, body: &Value) -> Result<(), String> {
        let uri = &s.endpoint.uri;
        if uri.starts_with("mqtt://") {
            return self.deliver_mqtt(s, body).await;
        }
        let mut req = self.inner.http.post(uri).body(body.to_string());
        for (k, v) in Self::headers(s) {
            req = req.header(k, v);
        }
        let r = req.send().await.map_err(|e| e.to_string())?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(format!("the endpoint answered {}", r.status()))
        }
    }

    async fn deliver_mqtt(&self, s: &Subscription, body: &Value) -> Result<(), String> {
        let url = reqwest::Url::parse(&s.endpoint.uri).map_err(|e| e.to_string())?;
        let host = url.host_str().ok_or("no host")?.to_string();
        let port = url.port().unwrap_or(1883);
        let topic = url.path().trim_start_matches('/').to_string();
        let user = url.username().to_string();
        let pass = url.password().map(str::to_string);
        let key = format!("{user}@{host}:{port}");
        let client = self.mqtt_client(&key, &host, port, &user, pass);
        let meta: Map<String, Value> = Self::headers(s)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        let payload = json!({"metadata": meta, "body": body}).to_string();
        client
            .publish(topic, rumqttc::QoS::AtLeastOnce, false, payload)
            .await
            .map_err(|e| e.to_string())
    }

    fn mqtt_client(
        &self,
        key: &str,
        host: &str,
        port: u16,
        user: &str,
        pass: Option<String>,
    ) -> rumqttc::AsyncClient {
        let mut map = self.inner.mqtt.lock();
        if let Some(c) = map.get(key) {
            return c.clone();
        }
        let mut o = rumqttc::MqttOptions::new(
            format!("onecity-notify-{}", uuid::Uuid::new_v4().simple()),
            host,
            port,
        );
        o.set_keep_alive(Duration::from_secs(30));
        o.set_max_packet_size(16 * 1024 * 1024, 16 * 1024 * 1024);
        if !user.is_empty() {
            o.set_credentials(user, pass.unwrap_or_default());
        }
        let (client, mut ev) = rumqttc::AsyncClient::new(o, 1024);
        let k = key.to_string();
        tokio::spawn(async move {
            loop {
                if let Err(e) = ev.poll().await {
                    tracing::warn!(broker = %k, error = %e, "MQTT notification connection");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        });
        map.insert(key.to_string(), client.clone());
        client
    }

    async fn flush_status(&self) {
        let dirty: Vec<(String, String, Status)> = {
            let subs = self.inner.subs.read();
            subs.values()
                .flat_map(|m| m.values())
                .filter_map(|e| {
                    let mut st = e.status.lock();
                    if !st.dirty {
                        return None;
                    }
                    st.dirty = false;
                    Some((e.sub.tenant.clone(), e.sub.id.clone(), st.clone()))
                })
                .collect()
        };
        for (tenant, id, st) in dirty {
            let r = crate::store::subscriptions::update_counters(
                &self.inner.db,
                &tenant,
                &id,
                &crate::store::subscriptions::Counters {
                    times_sent: st.times_sent,
                    times_failed: st.times_failed,
                    last_notification: st.last_notification,
                    last_success: st.last_success,
                    last_failure: st.last_failure,
                },
            )
            .await;
            if let Err(e) = r {
                tracing::warn!(error = %e, "subscription status not written");
            }
        }
    }

    /// Stores and indexes a new subscription. Errors: 409 AlreadyExists; 403
    /// TooManyResults past [`subscription::MAX_SUBSCRIPTIONS`] in the tenant.
    pub async fn create(
        &self,
        sub: Subscription,
        raw: &Map<String, Value>,
        ctx_json: &Value,
        now: i64,
    ) -> NgsiResult<()> {
        {
            let subs = self.inner.subs.read();
            if let Some(m) = subs.get(&sub.tenant) {
                if m.contains_key(&sub.id) {
                    return Err(NgsiError::new(
                        ProblemKind::AlreadyExists,
                        format!("subscription {} already exists", sub.id),
                    ));
                }
                if m.len() >= subscription::MAX_SUBSCRIPTIONS {
                    return Err(NgsiError::new(
                        ProblemKind::TooManyResults,
                        format!(
                            "a tenant holds at most {} subscriptions",
                            subscription::MAX_SUBSCRIPTIONS
                        ),
                    ));
                }
            }
        }
        let body = Value::Object(raw.clone()).to_string();
        let r = crate::store::subscriptions::insert(
            &self.inner.db,
            &sub.tenant,
            &sub.id,
            &body,
            &ctx_json.to_string(),
            now,
        )
        .await;
        if let Err(e) = r {
            if self.get(&sub.tenant, &sub.id).is_some()
                || e.to_string().contains("UNIQUE")
                || e.to_string().contains("duplicate")
            {
                return Err(NgsiError::new(
                    ProblemKind::AlreadyExists,
                    format!("subscription {} already exists", sub.id),
                ));
            }
            return Err(e.into());
        }
        let entry = Arc::new(Entry {
            raw: raw.clone(),
            ctx_json: ctx_json.clone(),
            created_at: now,
            status: Mutex::new(Status::default()),
            sub,
        });
        self.inner
            .subs
            .write()
            .entry(entry.sub.tenant.clone())
            .or_default()
            .insert(entry.sub.id.clone(), entry);
        Ok(())
    }

    /// Waits (at most [`SETTLE`]) until the deliveries under way for a subscription are
    /// done, so that a read right after a notification arrived shows its outcome
    /// (`status`, `lastSuccess`, `timesSent`, GS CIM 009 §5.2.14).
    pub async fn settle(&self, tenant: &str, id: &str) {
        let deadline = tokio::time::Instant::now() + SETTLE;
        while tokio::time::Instant::now() < deadline {
            match self.get(tenant, id) {
                Some(e) if e.status.lock().in_flight > 0 => {
                    tokio::time::sleep(Duration::from_millis(5)).await
                }
                _ => return,
            }
        }
    }

    fn get(&self, tenant: &str, id: &str) -> Option<Arc<Entry>> {
        self.inner.subs.read().get(tenant)?.get(id).cloned()
    }

    /// Applies a PATCH fragment (members replace, `null` removes) and re-validates.
    /// Errors: 404; 400 from validation (nothing changed then).
    pub async fn update(&self, tenant: &str, id: &str, frag: Map<String, Value>) -> NgsiResult<()> {
        let old = self
            .get(tenant, id)
            .ok_or_else(|| NgsiError::not_found(format!("subscription {id} does not exist")))?;
        let mut raw = old.raw.clone();
        for (k, v) in frag {
            if v.is_null() {
                raw.remove(&k);
            } else {
                raw.insert(k, v);
            }
        }
        let now = onecity_core::time::now_micros();
        let sub = subscription::parse(tenant, id, &raw, old.sub.ctx.clone(), now, true)?;
        crate::store::subscriptions::update_body(
            &self.inner.db,
            tenant,
            id,
            &Value::Object(raw.clone()).to_string(),
            now,
        )
        .await?;
        let entry = Arc::new(Entry {
            sub,
            raw,
            ctx_json: old.ctx_json.clone(),
            created_at: old.created_at,
            status: Mutex::new({
                let mut s = old.status.lock().clone();
                s.dirty = true;
                s
            }),
        });
        self.inner
            .subs
            .write()
            .entry(tenant.to_string())
            .or_default()
            .insert(id.to_string(), entry);
        Ok(())
    }

    /// Deletes a subscription; `false` when it does not exist.
    pub async fn delete(&self, tenant: &str, id: &str) -> NgsiResult<bool> {
        if self.get(tenant, id).is_none() {
            return Ok(false);
        }
        crate::store::subscriptions::delete(&self.inner.db, tenant, id).await?;
        if let Some(m) = self.inner.subs.write().get_mut(tenant) {
            m.remove(id);
        }
        Ok(true)
    }

    fn render_entry(e: &Entry, now: i64, view: &Context) -> Value {
        let mut m = e.raw.clone();
        subscription::recompact(&mut m, &e.sub.ctx, view);
        m.insert("type".into(), json!("Subscription"));
        // `isActive` is shown as the client set it (it stays in `raw`); `status` says
        // whether the subscription runs. No createdAt: system members are not shown
        // unless asked for (the ETSI suite compares the body with the one it sent).
        m.insert("status".into(), json!(e.sub.status(now)));
        m.entry("notificationTrigger").or_insert_with(|| {
            json!(Trigger::ALL
                .iter()
                .filter(|(_, t)| Trigger::DEFAULT.contains(t))
                .map(|(n, _)| *n)
                .collect::<Vec<_>>())
        });
        let st = e.status.lock().clone();
        if let Some(Value::Object(n)) = m.get_mut("notification") {
            // The counters are shown once there is something to count (§5.2.14).
            for (k, v) in [
                ("timesSent", st.times_sent),
                ("timesFailed", st.times_failed),
            ] {
                if v > 0 {
                    n.insert(k.into(), json!(v));
                }
            }
            for (k, v) in [
                ("lastNotification", st.last_notification),
                ("lastSuccess", st.last_success),
                ("lastFailure", st.last_failure),
            ] {
                if let Some(t) = v {
                    n.insert(k.into(), json!(format_micros(t)));
                }
            }
            if st.times_sent > 0 {
                let failed_last = st.last_failure.is_some() && st.last_failure >= st.last_success;
                n.insert(
                    "status".into(),
                    json!(if failed_last { "failed" } else { "ok" }),
                );
            }
        }
        Value::Object(m)
    }

    /// One subscription as the API shows it, its terms compacted with `view` (the
    /// request's @context, GS CIM 009 §5.8.3).
    pub fn render(&self, tenant: &str, id: &str, view: &Context) -> Option<Value> {
        let e = self.get(tenant, id)?;
        Some(Self::render_entry(
            &e,
            onecity_core::time::now_micros(),
            view,
        ))
    }

    /// Every subscription of a tenant, in id order, as the API shows them (terms
    /// compacted with `view`, §5.8.4).
    pub fn list(&self, tenant: &str, view: &Context) -> Vec<Value> {
        let now = onecity_core::time::now_micros();
        self.inner
            .subs
            .read()
            .get(tenant)
            .map(|m| {
                m.values()
                    .map(|e| Self::render_entry(e, now, view))
                    .collect()
            })
            .unwrap_or_default()
    }
}
