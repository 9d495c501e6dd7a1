//! The jobs layer: one scheduler for the whole platform (issue 15).
//!
//! A job is a name, a [`JobSpec`] (a [`Schedule`], retries, a lease) and a handler, an
//! async function returning a one-line summary or an error. Every node registers the same
//! jobs ([`Jobs::register`]) and runs one scheduler loop ([`Jobs::run`]); the database
//! decides which node runs what:
//!
//! - **Run once per tick.** A timed schedule's tick is an instant every node computes alike
//!   (see [`schedule`]). The first node to see it inserts the row `(job, tick)` into
//!   `job_ticks` with `INSERT … ON CONFLICT DO NOTHING`; then every node may try to claim
//!   it with a guarded `UPDATE … WHERE attempts = <seen>`, which exactly one wins.
//! - **Leases.** The winner holds the tick until `lease_until` and renews it every third
//!   of the lease while the handler runs. A node that dies stops renewing; once the lease
//!   has expired another node takes the tick over as the next attempt, and the dead
//!   node's attempt is recorded as `lost`.
//! - **Retries.** A failed attempt puts the tick back to `pending` after a backoff of
//!   `backoff × 2^(attempt − 1)` (capped at one hour), until `max_attempts`; then the tick
//!   is `failed`. Each attempt is one row of `job_runs` (job, tick, attempt, node, start,
//!   end, duration, outcome, detail or error).
//! - **No overlap.** A new tick of a job is not inserted while an earlier tick of the same
//!   job runs under a live lease; it is inserted at the first pass after that run ends
//!   (if still in the same interval) — a slow run delays, it does not pile up.
//! - **Catch-up rule.** A node inserts only the *latest* tick at or before now. After a
//!   restart (or any pause) the ticks missed meanwhile are not replayed one by one: the
//!   latest of them runs once, as soon as the scheduler is back; a tick already `done` is
//!   never run again. Ticks before a job's first registration are never run (a new daily
//!   job does not fire at once for this morning's time).
//! - **Event triggers.** A job with [`Schedule::OnEvent`] gets a durable consumer of the
//!   event bus ([`Jobs::event_handlers`], consumer name `jobs.<job>`); each delivered event
//!   of its topic inserts a tick `event:<event id>` in the consumer's own transaction, so
//!   a redelivered event does not run the job twice.
//!
//! The time comes from a [`Clock`], so tests drive the scheduler with a [`ManualClock`]
//! and [`Jobs::pass`] instead of waiting.

pub mod schedule;
mod store;

pub use schedule::Schedule;
pub use store::RunRow;

use crate::bus;
use crate::{Db, Tx};
use futures::future::BoxFuture;
use futures::FutureExt;
use onecity_core::events::EventEnvelope;
use onecity_core::{Error, Result};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

/// The SQL of the jobs layer's migration (component `store`, version 4).
pub use store::MIGRATION_SQL;

/// The time source of the scheduler (µs since the Unix epoch).
pub trait Clock: Send + Sync + 'static {
    /// Now, in µs since the epoch.
    fn now_micros(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_micros(&self) -> i64 {
        onecity_core::time::now_micros()
    }
}

/// A clock that moves only when told (tests).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock standing at `micros`.
    pub fn new(micros: i64) -> Arc<ManualClock> {
        Arc::new(ManualClock(AtomicI64::new(micros)))
    }
    /// Moves the clock by `d`.
    pub fn advance(&self, d: Duration) {
        self.0.fetch_add(d.as_micros() as i64, Ordering::SeqCst);
    }
    /// Sets the clock to `micros`.
    pub fn set(&self, micros: i64) {
        self.0.store(micros, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_micros(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// What a job is and how it is retried.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// When it runs.
    pub schedule: Schedule,
    /// One line on what it does (shown in the console).
    pub description: String,
    /// Attempts per tick, including the first (1 = no retry).
    pub max_attempts: u32,
    /// Delay before the first retry; doubled for each further one (capped at one hour).
    pub backoff: Duration,
    /// How long a node holds a tick without renewing; after it, another node may take
    /// the tick over. Renewed every third of it while the handler runs.
    pub lease: Duration,
    /// False: never scheduled nor triggered by events (still runnable by hand).
    pub enabled: bool,
}

impl JobSpec {
    /// A spec for `schedule`: 3 attempts, 5 s backoff, 60 s lease, enabled.
    pub fn new(schedule: Schedule, description: impl Into<String>) -> JobSpec {
        JobSpec {
            schedule,
            description: description.into(),
            max_attempts: 3,
            backoff: Duration::from_secs(5),
            lease: Duration::from_secs(60),
            enabled: true,
        }
    }
    /// Every `secs` seconds (epoch-aligned).
    pub fn every(secs: u64, description: impl Into<String>) -> JobSpec {
        JobSpec::new(Schedule::Every { secs }, description)
    }
    /// Daily at `at` (`HH:MM`) in time zone `tz`.
    pub fn daily(at: &str, tz: &str, description: impl Into<String>) -> JobSpec {
        JobSpec::new(
            Schedule::Daily {
                at: at.into(),
                tz: tz.into(),
            },
            description,
        )
    }
    /// Once per delivered event of `topic`.
    pub fn on_event(topic: &str, description: impl Into<String>) -> JobSpec {
        JobSpec::new(
            Schedule::OnEvent {
                topic: topic.into(),
            },
            description,
        )
    }
    /// Sets the attempts per tick and the first retry's delay.
    pub fn retries(mut self, max_attempts: u32, backoff: Duration) -> JobSpec {
        self.max_attempts = max_attempts.max(1);
        self.backoff = backoff;
        self
    }
    /// Sets the lease.
    pub fn lease(mut self, lease: Duration) -> JobSpec {
        self.lease = lease;
        self
    }
    /// Enables or disables the schedule.
    pub fn enabled(mut self, enabled: bool) -> JobSpec {
        self.enabled = enabled;
        self
    }

    /// The delay before retrying after failed attempt `attempt` (1-based).
    pub fn retry_delay(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(20);
        self.backoff
            .saturating_mul(factor)
            .min(Duration::from_secs(3600))
    }
}

/// Why a run happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// Its schedule's tick came.
    Schedule,
    /// An event of its topic arrived.
    Event,
    /// Someone ran it by hand.
    Manual,
}

impl Cause {
    fn as_str(self) -> &'static str {
        match self {
            Cause::Schedule => "schedule",
            Cause::Event => "event",
            Cause::Manual => "manual",
        }
    }
    fn parse(s: &str) -> Cause {
        match s {
            "event" => Cause::Event,
            "manual" => Cause::Manual,
            _ => Cause::Schedule,
        }
    }
}

/// What a handler is told about the run.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// Job name.
    pub job: String,
    /// Tick key.
    pub tick: String,
    /// The tick's instant (scheduled time, event time or request time), µs.
    pub due_at: i64,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// Why it runs.
    pub cause: Cause,
    /// The triggering event, for [`Schedule::OnEvent`] jobs.
    pub event: Option<EventEnvelope>,
    /// The scheduler's clock at the start of the run, µs.
    pub now: i64,
}

/// A handler's future: a one-line summary of what it did, or the error.
pub type JobFuture = BoxFuture<'static, Result<String>>;
/// A job's handler.
pub type JobHandler = Arc<dyn Fn(RunContext) -> JobFuture + Send + Sync>;

struct Registered {
    spec: JobSpec,
    handler: JobHandler,
    registered_at: i64,
}

struct Inner {
    db: Db,
    clock: Arc<dyn Clock>,
    node: String,
    poll: Duration,
    jobs: RwLock<BTreeMap<String, Arc<Registered>>>,
    /// Per job, the last tick this node inserted or saw inserted.
    seen_tick: Mutex<HashMap<String, i64>>,
    wake: Notify,
}

/// The jobs service; cheap to clone.
#[derive(Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

/// A registered job with its last run and next due time (the jobs list).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobView {
    /// Job name, e.g. `flow.sla_scan`.
    pub name: String,
    /// Its schedule.
    pub schedule: Schedule,
    /// The schedule in words, e.g. `every 5 s`.
    pub schedule_text: String,
    /// What it does.
    pub description: String,
    /// Whether its schedule or trigger is on.
    pub enabled: bool,
    /// Attempts per tick.
    pub max_attempts: i64,
    /// The newest attempt, if any.
    pub last_run: Option<RunRow>,
    /// When it is next due (µs): the earliest pending retry or event, else the next tick
    /// of its schedule; absent for manual jobs with nothing pending and disabled jobs.
    pub next_due: Option<i64>,
}

/// A claimed attempt, ready to run.
struct Claim {
    job: Arc<Registered>,
    name: String,
    tick: String,
    due_at: i64,
    cause: Cause,
    payload: Option<String>,
    attempt: u32,
    run_id: String,
}

/// The node name used in leases and history: `<host>:<pid>`.
pub fn node_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into());
    format!("{host}:{}", std::process::id())
}

impl Jobs {
    /// A jobs service on `db` with the system clock, this process's node name and a
    /// scheduler pass every 500 ms.
    pub fn new(db: Db) -> Jobs {
        Jobs::with_clock(db, Arc::new(SystemClock), node_name())
    }

    /// A jobs service with the given clock and node name (tests: two nodes in one
    /// process, a [`ManualClock`]).
    pub fn with_clock(db: Db, clock: Arc<dyn Clock>, node: String) -> Jobs {
        Jobs {
            inner: Arc::new(Inner {
                db,
                clock,
                node,
                poll: Duration::from_millis(500),
                jobs: RwLock::new(BTreeMap::new()),
                seen_tick: Mutex::new(HashMap::new()),
                wake: Notify::new(),
            }),
        }
    }

    /// Sets the time between scheduler passes (at least 10 ms). Call before [`Jobs::run`].
    pub fn with_poll(mut self, poll: Duration) -> Jobs {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.poll = poll.max(Duration::from_millis(10));
        }
        self
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.inner.node
    }

    /// The store.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Registers job `name` (letters, digits, `.`, `_`, `-`; up to 64) with its spec and
    /// handler, and records it in the store (`jobs`). Registering a name again replaces
    /// it. Errors: `invalid_input` for a bad name or schedule.
    pub async fn register<F, Fut>(&self, name: &str, spec: JobSpec, handler: F) -> Result<()>
    where
        F: Fn(RunContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String>> + Send + 'static,
    {
        validate_name(name)?;
        spec.schedule.validate()?;
        let schedule = serde_json::to_string(&spec.schedule).map_err(Error::internal)?;
        let row = store::JobRow {
            name: name.to_string(),
            schedule,
            description: spec.description.clone(),
            max_attempts: i64::from(spec.max_attempts),
            enabled: i64::from(spec.enabled),
        };
        let now = self.inner.clock.now_micros();
        let registered_at = store::upsert_job(&self.inner.db, &row, now).await?;
        let boxed: JobHandler = Arc::new(move |ctx| handler(ctx).boxed());
        let job = Arc::new(Registered {
            spec,
            handler: boxed,
            registered_at,
        });
        self.write_jobs().insert(name.to_string(), job);
        self.inner.wake.notify_one();
        Ok(())
    }

    /// The names of the jobs registered on this node.
    pub fn names(&self) -> Vec<String> {
        self.read_jobs().keys().cloned().collect()
    }

    fn read_jobs(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Registered>>> {
        self.inner.jobs.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_jobs(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<Registered>>> {
        self.inner.jobs.write().unwrap_or_else(|e| e.into_inner())
    }

    fn job(&self, name: &str) -> Result<Arc<Registered>> {
        self.read_jobs()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("no job named {name:?}")))
    }

    /// Inserts the due ticks of the timed jobs and claims what this node can run now.
    async fn claim_due(&self) -> Result<Vec<Claim>> {
        let now = self.inner.clock.now_micros();
        let jobs: Vec<(String, Arc<Registered>)> = self
            .read_jobs()
            .iter()
            .map(|(n, j)| (n.clone(), j.clone()))
            .collect();
        for (name, job) in &jobs {
            if !job.spec.enabled {
                continue;
            }
            let Some(due) = job.spec.schedule.last_tick(now) else {
                continue;
            };
            if due < job.registered_at || self.seen(name) >= due {
                continue;
            }
            let key = schedule::tick_key(due);
            let inserted =
                store::insert_scheduled_tick(&self.inner.db, name, &key, due, now).await?;
            if inserted == 1 || store::tick_exists(&self.inner.db, name, &key).await? {
                self.inner
                    .seen_tick
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(name.clone(), due);
            }
        }
        let names: Vec<String> = jobs.iter().map(|(n, _)| n.clone()).collect();
        let due = store::due_ticks(&self.inner.db, &names, now, 64).await?;
        let mut claims = Vec::new();
        for tick in due {
            let Some(job) = jobs
                .iter()
                .find(|(n, _)| *n == tick.job)
                .map(|(_, j)| j.clone())
            else {
                continue;
            };
            if let Some(claim) = self.try_claim(job, tick, now).await? {
                claims.push(claim);
            }
        }
        Ok(claims)
    }

    fn seen(&self, name: &str) -> i64 {
        self.inner
            .seen_tick
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .copied()
            .unwrap_or(i64::MIN)
    }

    /// Claims one due tick; `None` when another node won it (or it was given up).
    async fn try_claim(
        &self,
        job: Arc<Registered>,
        tick: store::DueTick,
        now: i64,
    ) -> Result<Option<Claim>> {
        let db = &self.inner.db;
        let taken_over = tick.state == "running";
        if taken_over && tick.attempts >= i64::from(job.spec.max_attempts) {
            let mut tx = db.begin().await?;
            if store::fail_abandoned(&mut tx, &tick.job, &tick.tick, tick.attempts, now).await? {
                if let Some(old) = &tick.run_id {
                    store::mark_lost(&mut tx, old, now, &lost_message(&tick)).await?;
                }
                tracing::warn!(job = %tick.job, tick = %tick.tick, "job tick abandoned by its node after its last attempt; failed");
            }
            tx.commit().await?;
            return Ok(None);
        }
        let run_id = onecity_core::new_id().to_string();
        let lease_until = now + job.spec.lease.as_micros() as i64;
        let mut tx = db.begin().await?;
        let won = store::claim(
            &mut tx,
            &tick.job,
            &tick.tick,
            tick.attempts,
            &self.inner.node,
            &run_id,
            lease_until,
            now,
        )
        .await?;
        if !won {
            return Ok(None);
        }
        if taken_over {
            if let Some(old) = &tick.run_id {
                store::mark_lost(&mut tx, old, now, &lost_message(&tick)).await?;
            }
        }
        let attempt = tick.attempts as u32 + 1;
        let cause = Cause::parse(&tick.cause);
        store::insert_run(
            &mut tx,
            &self.new_run(&run_id, &tick.job, &tick.tick, attempt, cause, now),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(Claim {
            job,
            name: tick.job,
            tick: tick.tick,
            due_at: tick.due_at,
            cause,
            payload: tick.payload,
            attempt,
            run_id,
        }))
    }

    /// Runs a claimed attempt to its end (renewing the lease meanwhile) and records it.
    async fn execute(&self, claim: Claim) -> Result<RunRow> {
        let started = Instant::now();
        let now = self.inner.clock.now_micros();
        let event = claim
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str::<EventEnvelope>(p).ok());
        let ctx = RunContext {
            job: claim.name.clone(),
            tick: claim.tick.clone(),
            due_at: claim.due_at,
            attempt: claim.attempt,
            cause: claim.cause,
            event,
            now,
        };
        let work = std::panic::AssertUnwindSafe((claim.job.handler)(ctx)).catch_unwind();
        let renew_every = (claim.job.spec.lease / 3).max(Duration::from_millis(100));
        let mut work = std::pin::pin!(work);
        let outcome = loop {
            tokio::select! {
                r = &mut work => break r,
                _ = tokio::time::sleep(renew_every) => {
                    let until = self.inner.clock.now_micros() + claim.job.spec.lease.as_micros() as i64;
                    match store::renew_lease(&self.inner.db, &claim.name, &claim.tick, &claim.run_id, until).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(job = %claim.name, tick = %claim.tick, "job lease lost while running"),
                        Err(e) => tracing::warn!(job = %claim.name, error = %e, "job lease renewal failed"),
                    }
                }
            }
        };
        let result: Result<String> = match outcome {
            Ok(r) => r,
            Err(_) => Err(Error::internal("the job panicked")),
        };
        let finished = self.inner.clock.now_micros();
        let duration_ms = started.elapsed().as_millis() as i64;
        let mut run = store::run_by_id(&self.inner.db, &claim.run_id)
            .await?
            .ok_or_else(|| Error::internal("job run vanished"))?;
        run.finished_at = Some(finished);
        run.duration_ms = Some(duration_ms);
        let (state, retry_at) = match &result {
            Ok(summary) => {
                run.outcome = "ok".into();
                run.detail = Some(summary.clone());
                ("done", None)
            }
            Err(e) => {
                run.outcome = "error".into();
                run.error = Some(recorded_error(e));
                if claim.attempt < claim.job.spec.max_attempts {
                    let delay = claim.job.spec.retry_delay(claim.attempt);
                    ("pending", Some(finished + delay.as_micros() as i64))
                } else {
                    ("failed", None)
                }
            }
        };
        let mut tx = self.inner.db.begin().await?;
        let held = store::settle_tick(
            &mut tx,
            &claim.name,
            &claim.tick,
            &claim.run_id,
            state,
            retry_at,
            finished,
        )
        .await?;
        if !held && run.outcome == "ok" {
            run.detail = Some(format!(
                "{} (finished after its lease was taken over)",
                run.detail.as_deref().unwrap_or_default()
            ));
        }
        store::finish_run(&mut tx, &run).await?;
        tx.commit().await?;
        metrics::counter!("onecity_job_runs_total", "job" => claim.name.clone(), "outcome" => run.outcome.clone())
            .increment(1);
        match &result {
            Ok(summary) => {
                tracing::debug!(job = %claim.name, tick = %claim.tick, attempt = claim.attempt, duration_ms, summary = %summary, "job ran")
            }
            Err(e) => {
                tracing::warn!(job = %claim.name, tick = %claim.tick, attempt = claim.attempt, duration_ms, error = %e.detail, retry = retry_at.is_some(), "job failed")
            }
        }
        if retry_at.is_some() {
            self.inner.wake.notify_one();
        }
        Ok(run)
    }

    /// One scheduler pass: inserts due ticks, claims what this node can run and runs it
    /// to the end. Returns the attempts it ran (tests drive the scheduler with it).
    pub async fn pass(&self) -> Result<Vec<RunRow>> {
        let claims = self.claim_due().await?;
        let runs = futures::future::join_all(claims.into_iter().map(|c| self.execute(c))).await;
        runs.into_iter().collect()
    }

    /// The scheduler loop of this node, until `shutdown` turns true; then waits for the
    /// runs in flight (the caller bounds the wait; an unfinished run's lease expires and
    /// another node takes it over).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut in_flight = tokio::task::JoinSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.claim_due().await {
                Ok(claims) => {
                    for claim in claims {
                        let me = self.clone();
                        in_flight.spawn(async move {
                            if let Err(e) = me.execute(claim).await {
                                tracing::warn!(error = %e, "job run could not be recorded");
                            }
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "job scheduler pass failed; retrying"),
            }
            while in_flight.try_join_next().is_some() {}
            tokio::select! {
                _ = tokio::time::sleep(self.inner.poll) => {}
                _ = self.inner.wake.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
        while in_flight.join_next().await.is_some() {}
    }

    /// Runs job `name` now on this node (a tick `manual:<id>`) and returns the attempt.
    /// A failed attempt is retried by the scheduler like any other.
    /// Errors: `not_found` for a job not registered here.
    pub async fn run_now(&self, name: &str) -> Result<RunRow> {
        let job = self.job(name)?;
        let now = self.inner.clock.now_micros();
        let tick = format!("manual:{}", onecity_core::new_id());
        let run_id = onecity_core::new_id().to_string();
        let lease_until = now + job.spec.lease.as_micros() as i64;
        let mut tx = self.inner.db.begin().await?;
        store::insert_claimed_tick(
            &mut tx,
            name,
            &tick,
            &self.inner.node,
            &run_id,
            lease_until,
            now,
        )
        .await?;
        store::insert_run(
            &mut tx,
            &self.new_run(&run_id, name, &tick, 1, Cause::Manual, now),
        )
        .await?;
        tx.commit().await?;
        self.execute(Claim {
            job,
            name: name.to_string(),
            tick,
            due_at: now,
            cause: Cause::Manual,
            payload: None,
            attempt: 1,
            run_id,
        })
        .await
    }

    /// The history row of an attempt that starts now (outcome `running`).
    fn new_run(
        &self,
        run_id: &str,
        job: &str,
        tick: &str,
        attempt: u32,
        cause: Cause,
        now: i64,
    ) -> RunRow {
        RunRow {
            id: run_id.to_string(),
            job: job.to_string(),
            tick: tick.to_string(),
            attempt: i64::from(attempt),
            cause: cause.as_str().to_string(),
            node: self.inner.node.clone(),
            started_at: now,
            finished_at: None,
            duration_ms: None,
            outcome: "running".into(),
            detail: None,
            error: None,
        }
    }

    /// Every job in the store with its last attempt and when it is next due.
    pub async fn list(&self) -> Result<Vec<JobView>> {
        let now = self.inner.clock.now_micros();
        let mut out = Vec::new();
        for row in store::list_jobs(&self.inner.db).await? {
            let schedule: Schedule =
                serde_json::from_str(&row.schedule).unwrap_or(Schedule::Manual);
            let last_run = store::runs(&self.inner.db, &row.name, None, 1)
                .await?
                .into_iter()
                .next();
            let pending = store::next_pending(&self.inner.db, &row.name).await?;
            let enabled = row.enabled != 0;
            let next_tick = if enabled {
                schedule.next_tick(now)
            } else {
                None
            };
            let next_due = match (pending, next_tick) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            out.push(JobView {
                schedule_text: schedule.describe(),
                name: row.name,
                schedule,
                description: row.description,
                enabled,
                max_attempts: row.max_attempts,
                last_run,
                next_due,
            });
        }
        Ok(out)
    }

    /// The attempts of job `name`, newest first, `limit` + 1 of them after the cursor
    /// `(started_at, id)` (for `Page::from_overfetch`). Errors: `not_found` for a job
    /// unknown to the store.
    pub async fn runs(
        &self,
        name: &str,
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<RunRow>> {
        if !store::list_jobs(&self.inner.db)
            .await?
            .iter()
            .any(|j| j.name == name)
        {
            return Err(Error::not_found(format!("no job named {name:?}")));
        }
        store::runs(&self.inner.db, name, after, i64::from(limit) + 1).await
    }

    /// Deletes finished ticks and attempts that ended before `before` (µs); returns rows.
    pub async fn purge_history(&self, before: i64) -> Result<u64> {
        let mut tx = self.inner.db.begin().await?;
        let n = store::purge_before(&mut tx, before).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// One durable event-bus consumer (`jobs.<job>`) per enabled [`Schedule::OnEvent`]
    /// job registered so far; run them with `EventBus::run_consumer`.
    pub fn event_handlers(&self) -> Vec<Arc<dyn bus::Handler>> {
        self.read_jobs()
            .iter()
            .filter(|(_, j)| j.spec.enabled)
            .filter_map(|(name, j)| match &j.spec.schedule {
                Schedule::OnEvent { topic } => Some(Arc::new(EventTrigger {
                    consumer: format!("jobs.{name}"),
                    job: name.clone(),
                    topic: topic.clone(),
                    clock: self.inner.clock.clone(),
                }) as Arc<dyn bus::Handler>),
                _ => None,
            })
            .collect()
    }
}

/// The error text kept in the history (shown to admins): the detail, except for internal
/// errors, whose detail (driver or SQL text) goes to the log only.
fn recorded_error(e: &Error) -> String {
    if e.code == onecity_core::ErrorCode::Internal {
        "internal error (the detail is in the server log)".into()
    } else {
        e.detail.clone()
    }
}

fn lost_message(tick: &store::DueTick) -> String {
    format!(
        "node {} stopped renewing its lease; taken over",
        tick.node.as_deref().unwrap_or("?")
    )
}

fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "a job name is 1 to 64 letters, digits, '.', '_' or '-', not {name:?}"
        )))
    }
}

/// The bus consumer of an event-triggered job: queues one tick per event of its topic.
struct EventTrigger {
    consumer: String,
    job: String,
    topic: String,
    clock: Arc<dyn Clock>,
}

impl bus::Handler for EventTrigger {
    fn name(&self) -> &str {
        &self.consumer
    }

    fn handle<'a>(&'a self, tx: &'a mut Tx, env: &'a EventEnvelope) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if env.event.topic() != self.topic {
                return Ok(());
            }
            let payload = serde_json::to_string(env).map_err(Error::internal)?;
            let tick = format!("event:{}", env.id);
            store::insert_tick(
                tx,
                &self.job,
                &tick,
                env.at,
                Cause::Event.as_str(),
                Some(&payload),
                self.clock.now_micros(),
            )
            .await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests;
