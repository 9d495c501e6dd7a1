//! The scheduler on a real SQLite store, driven by a manual clock: once per tick across
//! two nodes, catch-up, restart, retries with backoff, lease takeover, event triggers.

use super::*;
use crate::bus::EventBus;
use crate::DbOptions;
use onecity_core::events::PlatformEvent;
use std::sync::atomic::AtomicU32;

/// 2026-12-08T00:00:00.5Z: half a second past a whole minute.
const T0: i64 = 1_796_688_000_500_000;
const SEC: i64 = 1_000_000;

async fn store() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_sqlite(dir.path(), &DbOptions::default())
        .await
        .unwrap();
    crate::migrate::run(&db, "store", crate::migrations())
        .await
        .unwrap();
    (dir, db)
}

fn node(db: &Db, clock: &Arc<ManualClock>, name: &str) -> Jobs {
    Jobs::with_clock(db.clone(), clock.clone(), name.into())
}

/// A job that counts its runs and fails while its attempt is at most `fail_first`.
async fn counting(jobs: &Jobs, name: &str, spec: JobSpec, fail_first: u32) -> Arc<AtomicU32> {
    let count = Arc::new(AtomicU32::new(0));
    let c = count.clone();
    jobs.register(name, spec, move |ctx: RunContext| {
        let c = c.clone();
        async move {
            let n = c.fetch_add(1, Ordering::SeqCst) + 1;
            if ctx.attempt <= fail_first {
                return Err(Error::invalid(format!(
                    "failing on purpose (attempt {})",
                    ctx.attempt
                )));
            }
            Ok(format!("run {n}"))
        }
    })
    .await
    .unwrap();
    count
}

async fn all_runs(db: &Db, job: &str) -> Vec<RunRow> {
    store::runs(db, job, None, 1000).await.unwrap()
}

#[tokio::test]
async fn each_tick_runs_once_across_two_nodes_and_missed_ticks_run_once() {
    let (_dir, db) = store().await;
    let clock = ManualClock::new(T0);
    let (a, b) = (node(&db, &clock, "a:1"), node(&db, &clock, "b:2"));
    let ca = counting(&a, "probe", JobSpec::every(10, "test"), 0).await;
    let cb = counting(&b, "probe", JobSpec::every(10, "test"), 0).await;
    assert!(
        a.pass().await.unwrap().is_empty(),
        "the tick before registration is not run"
    );
    for _ in 0..3 {
        clock.advance(Duration::from_secs(10));
        let (ra, rb) = (a.pass().await.unwrap(), b.pass().await.unwrap());
        assert_eq!(ra.len() + rb.len(), 1, "one run per tick across the nodes");
        assert!(a.pass().await.unwrap().is_empty() && b.pass().await.unwrap().is_empty());
    }
    assert_eq!(ca.load(Ordering::SeqCst) + cb.load(Ordering::SeqCst), 3);
    let runs = all_runs(&db, "probe").await;
    let ticks: Vec<&str> = runs.iter().map(|r| r.tick.as_str()).collect();
    assert_eq!(
        ticks,
        [
            "2026-12-08T00:00:30.000000Z",
            "2026-12-08T00:00:20.000000Z",
            "2026-12-08T00:00:10.000000Z"
        ]
    );
    assert!(runs
        .iter()
        .all(|r| r.outcome == "ok" && r.attempt == 1 && r.cause == "schedule"));
    // Down for 55 s (five ticks missed): the latest of them runs once.
    clock.advance(Duration::from_secs(55));
    let caught_up = a.pass().await.unwrap();
    assert_eq!(caught_up.len(), 1);
    assert_eq!(caught_up[0].tick, "2026-12-08T00:01:20.000000Z");
    assert!(b.pass().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_restarted_node_resumes_without_rerunning_a_finished_tick() {
    let (_dir, db) = store().await;
    let clock = ManualClock::new(T0);
    let first = node(&db, &clock, "a:1");
    counting(&first, "probe", JobSpec::every(10, "test"), 0).await;
    clock.advance(Duration::from_secs(10));
    assert_eq!(first.pass().await.unwrap().len(), 1);
    drop(first);
    // The same process restarted within the same interval: nothing to do.
    let again = node(&db, &clock, "a:3");
    let count = counting(&again, "probe", JobSpec::every(10, "test"), 0).await;
    assert!(
        again.pass().await.unwrap().is_empty(),
        "a done tick is not run again"
    );
    clock.advance(Duration::from_secs(10));
    assert_eq!(again.pass().await.unwrap()[0].node, "a:3");
    assert_eq!(count.load(Ordering::SeqCst), 1);
    let jobs = again.list().await.unwrap();
    assert_eq!(jobs[0].name, "probe");
    assert_eq!(jobs[0].next_due, Some(T0 - SEC / 2 + 30 * SEC));
    assert_eq!(jobs[0].last_run.as_ref().unwrap().outcome, "ok");
}

#[tokio::test]
async fn a_failing_run_is_retried_with_backoff_and_each_attempt_is_recorded() {
    let (_dir, db) = store().await;
    let clock = ManualClock::new(T0);
    let jobs = node(&db, &clock, "a:1");
    let spec = JobSpec::every(3600, "test").retries(3, Duration::from_secs(1));
    counting(&jobs, "flaky", spec, 2).await;
    let first = jobs.run_now("flaky").await.unwrap();
    assert_eq!(
        (first.attempt, first.outcome.as_str(), first.cause.as_str()),
        (1, "error", "manual")
    );
    assert_eq!(
        first.error.as_deref(),
        Some("failing on purpose (attempt 1)")
    );
    assert!(
        jobs.pass().await.unwrap().is_empty(),
        "not before the backoff"
    );
    clock.advance(Duration::from_secs(1));
    let second = jobs.pass().await.unwrap();
    assert_eq!(
        (second[0].attempt, second[0].outcome.as_str()),
        (2, "error")
    );
    clock.advance(Duration::from_secs(1));
    assert!(
        jobs.pass().await.unwrap().is_empty(),
        "the second backoff is 2 s"
    );
    let listed = jobs.list().await.unwrap();
    assert_eq!(
        listed[0].next_due,
        Some(T0 + 3 * SEC),
        "the pending retry is next"
    );
    clock.advance(Duration::from_secs(1));
    let third = jobs.pass().await.unwrap();
    assert_eq!((third[0].attempt, third[0].outcome.as_str()), (3, "ok"));
    assert_eq!(third[0].detail.as_deref(), Some("run 3"));
    let history = all_runs(&db, "flaky").await;
    let attempts: Vec<(i64, &str)> = history
        .iter()
        .map(|r| (r.attempt, r.outcome.as_str()))
        .collect();
    assert_eq!(attempts, [(3, "ok"), (2, "error"), (1, "error")]);
    assert!(history
        .iter()
        .all(|r| r.tick == first.tick && r.duration_ms.is_some()));
}

#[tokio::test]
async fn a_tick_fails_for_good_after_its_last_attempt() {
    let (_dir, db) = store().await;
    let clock = ManualClock::new(T0);
    let jobs = node(&db, &clock, "a:1");
    let spec = JobSpec::new(Schedule::Manual, "test").retries(2, Duration::from_secs(1));
    let count = counting(&jobs, "broken", spec, u32::MAX).await;
    jobs.run_now("broken").await.unwrap();
    clock.advance(Duration::from_secs(1));
    assert_eq!(jobs.pass().await.unwrap().len(), 1);
    clock.advance(Duration::from_secs(3600));
    assert!(jobs.pass().await.unwrap().is_empty());
    assert_eq!(count.load(Ordering::SeqCst), 2);
    let state = db
        .fetch_optional("SELECT state FROM job_ticks WHERE job = 'broken'", &[])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.text("state").unwrap(), "failed");
}

#[tokio::test]
async fn a_dead_nodes_tick_is_taken_over_after_its_lease() {
    let (_dir, db) = store().await;
    let clock = ManualClock::new(T0);
    let (dead, alive) = (node(&db, &clock, "dead:1"), node(&db, &clock, "alive:2"));
    let spec = || JobSpec::every(10, "test").lease(Duration::from_secs(30));
    counting(&dead, "probe", spec(), 0).await;
    counting(&alive, "probe", spec(), 0).await;
    clock.advance(Duration::from_secs(10));
    // The first node claims the tick and dies before running it.
    let claims = dead.claim_due().await.unwrap();
    assert_eq!(claims.len(), 1);
    drop(claims);
    assert!(alive.pass().await.unwrap().is_empty(), "the lease holds");
    clock.advance(Duration::from_secs(31));
    let runs = alive.pass().await.unwrap();
    let taken = runs
        .iter()
        .find(|r| r.tick == "2026-12-08T00:00:10.000000Z")
        .unwrap();
    assert_eq!((taken.attempt, taken.node.as_str()), (2, "alive:2"));
    let history = all_runs(&db, "probe").await;
    let lost = history.iter().find(|r| r.node == "dead:1").unwrap();
    assert_eq!(lost.outcome, "lost");
    assert!(lost.error.as_deref().unwrap().contains("dead:1"));
}

#[tokio::test]
async fn an_event_runs_its_job_once() {
    let (_dir, db) = store().await;
    let clock = ManualClock::new(T0);
    let jobs = node(&db, &clock, "a:1");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    jobs.register(
        "on_tenant",
        JobSpec::on_event("onecity.iam.tenant_created", "test"),
        move |ctx: RunContext| {
            let s = s.clone();
            async move {
                let Some(env) = ctx.event else {
                    return Err(Error::invalid("no event"));
                };
                s.lock()
                    .unwrap()
                    .push(env.tenant.clone().unwrap_or_default());
                Ok::<_, Error>("seen".to_string())
            }
        },
    )
    .await
    .unwrap();
    let handlers = jobs.event_handlers();
    assert_eq!(handlers.len(), 1);
    assert_eq!(handlers[0].name(), "jobs.on_tenant");
    let bus = EventBus::local(db.clone());
    bus.register(handlers[0].name()).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let created = EventEnvelope::new(
        Some("hz"),
        PlatformEvent::TenantCreated { code: "hz".into() },
    );
    crate::outbox::enqueue(&mut tx, &created).await.unwrap();
    let other = EventEnvelope::new(
        Some("hz"),
        PlatformEvent::DepartmentCreated {
            id: onecity_core::new_id(),
            jurisdiction_id: onecity_core::new_id(),
        },
    );
    crate::outbox::enqueue(&mut tx, &other).await.unwrap();
    tx.commit().await.unwrap();
    bus.relay_once().await.unwrap();
    assert_eq!(bus.consume_local_once(&*handlers[0]).await.unwrap(), 2);
    // A redelivery of the same event queues nothing more.
    let mut tx = db.begin().await.unwrap();
    handlers[0].handle(&mut tx, &created).await.unwrap();
    tx.commit().await.unwrap();
    let runs = jobs.pass().await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].tick, format!("event:{}", created.id));
    assert_eq!(runs[0].cause, "event");
    assert_eq!(*seen.lock().unwrap(), ["hz"]);
    assert!(jobs.pass().await.unwrap().is_empty());
}

#[tokio::test]
async fn history_pages_and_purge() {
    let (_dir, db) = store().await;
    let clock = ManualClock::new(T0);
    let jobs = node(&db, &clock, "a:1");
    counting(&jobs, "manual", JobSpec::new(Schedule::Manual, "test"), 0).await;
    for _ in 0..5 {
        jobs.run_now("manual").await.unwrap();
        clock.advance(Duration::from_secs(1));
    }
    let page = jobs.runs("manual", None, 2).await.unwrap();
    assert_eq!(page.len(), 3, "limit + 1 for the next cursor");
    let after = (page[1].started_at, page[1].id.clone());
    let rest = jobs.runs("manual", Some(after), 10).await.unwrap();
    assert_eq!(rest.len(), 3);
    assert!(rest[0].started_at < page[1].started_at);
    assert_eq!(
        jobs.runs("nothing", None, 10).await.unwrap_err().code,
        onecity_core::ErrorCode::NotFound
    );
    assert_eq!(
        jobs.run_now("nothing").await.unwrap_err().code,
        onecity_core::ErrorCode::NotFound
    );
    // Everything that ended before T0 + 2.5 s: the first three runs and their ticks.
    assert_eq!(jobs.purge_history(T0 + 5 * SEC / 2).await.unwrap(), 6);
    assert_eq!(all_runs(&db, "manual").await.len(), 2);
}

#[tokio::test]
async fn registration_refuses_bad_names_and_schedules() {
    let (_dir, db) = store().await;
    let jobs = Jobs::new(db);
    let ok = |_: RunContext| async { Ok::<_, Error>(String::new()) };
    let e = jobs
        .register("no spaces", JobSpec::every(5, "x"), ok)
        .await
        .unwrap_err();
    assert!(e.detail.contains("no spaces"), "{}", e.detail);
    let e = jobs
        .register("x", JobSpec::every(0, "x"), ok)
        .await
        .unwrap_err();
    assert!(e.detail.contains("interval"), "{}", e.detail);
    assert!(jobs.names().is_empty());
}
