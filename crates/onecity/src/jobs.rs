//! The platform's jobs, registered with the one scheduler (`onecity_store::jobs`).
//!
//! Every node registers the same jobs here and runs one scheduler loop
//! (`spawn_background`); the store makes each tick run on one node only. To add a job,
//! register it in [`register_builtin`] with a name `<module>.<job>`, a spec and an async
//! closure over the module's service:
//!
//! ```ignore
//! let brain = brain.clone();
//! jobs.register("brain.forecast", JobSpec::every(600, "metro flow forecasts 客流预测"), move |_ctx| {
//!     let brain = brain.clone();
//!     async move { brain.forecast_all().await.map(|n| format!("stations={n}")) }
//! }).await?;
//! ```
//!
//! What stays a plain loop in `server.rs`, and why: the Prometheus upkeep and the spatial
//! index refresh work on each process's memory, so every node must run them; the linkage
//! plan runner and the notification delivery drain queues every 1–2 s and already claim
//! their rows in the store (a run history of them would be noise).

use crate::config::Config;
use onecity_catalog::Catalog;
use onecity_core::{Error, Result};
use onecity_flow::Flow;
use onecity_iam::Iam;
use onecity_store::jobs::{JobSpec, Jobs, RunContext};
use onecity_store::Db;
use onecity_twin::Twin;
use std::time::{Duration, Instant};

/// How often moved audit chain heads are anchored (signed, stored and published), s.
pub const AUDIT_ANCHOR_SECS: u64 = 60;

/// The services the built-in jobs work on (see [`register_builtin`]).
pub struct JobServices<'a> {
    /// The store.
    pub db: &'a Db,
    /// Identity (tenants, the audit chain).
    pub iam: &'a Iam,
    /// Workflow engine (SLA scan).
    pub flow: &'a Flow,
    /// Digital twin (retention).
    pub twin: &'a Twin,
    /// Catalog (freshness of the responsibility list).
    pub catalog: &'a Catalog,
    /// Governance (the evacuation work orders).
    pub gov: &'a onecity_governance::Gov,
    /// The metro forecaster, when the data is loaded (`brain.metro_forecast`).
    pub metro: Option<std::sync::Arc<onecity_brain::MetroForecaster>>,
}

/// Creates the jobs service of this node and registers the built-in jobs:
///
/// | job | schedule | what it does |
/// |---|---|---|
/// | `flow.sla_scan` | every `sla_scan_secs` (5 s) | fires due SLA timers (warnings, breaches, escalations) |
/// | `audit.anchor` | every 60 s | anchors moved audit chain heads |
/// | `twin.retention` | every 60 s | deletes twin history past its retention |
/// | `catalog.freshness` | every 300 s | flags overdue responsibility-list entries (责任清单) |
/// | `jobs.history_purge` | daily 03:30 UTC | deletes job runs older than `jobs_history_days` |
/// | `brain.metro_forecast` | every `brain_forecast_secs` (600 s), when the metro data is loaded | forecasts for every tenant with metro stations, then evacuation advice and the transport work orders due |
/// | `ops.probe` | every `jobs_probe_every_secs` (off at 0) | database round trip and outbox backlog; fails on purpose while its attempt ≤ `jobs_probe_fail_first` |
pub async fn register_builtin(cfg: &Config, on: JobServices<'_>) -> anyhow::Result<Jobs> {
    let JobServices {
        db,
        iam,
        flow,
        twin,
        catalog,
        gov,
        metro,
    } = on;
    let jobs = Jobs::new(db.clone()).with_poll(Duration::from_millis(cfg.jobs_poll_ms.max(10)));
    if let Some(metro) = metro {
        let watch = std::sync::Arc::new(onecity_brain::service::advice::EvacuationWatch::new(
            metro,
            gov.clone(),
        ));
        let iam = iam.clone();
        jobs.register(
            "brain.metro_forecast",
            JobSpec::every(
                cfg.brain_forecast_secs.max(10),
                "metro flow forecasts, evacuation advice and work orders 客流预测与疏散建议",
            ),
            move |ctx: RunContext| {
                let (watch, iam) = (watch.clone(), iam.clone());
                async move { metro_round(&watch, &iam, ctx.now).await }
            },
        )
        .await?;
    }
    let flow = flow.clone();
    jobs.register(
        "flow.sla_scan",
        JobSpec::every(
            cfg.sla_scan_secs.max(1),
            "fire due SLA timers 时限预警与超时升级",
        ),
        move |ctx: RunContext| {
            let flow = flow.clone();
            async move {
                let r = flow.scan_sla(ctx.now).await?;
                Ok::<_, Error>(format!(
                    "fired={} warnings={} breaches={} escalations={}",
                    r.fired, r.warnings, r.breaches, r.escalations
                ))
            }
        },
    )
    .await?;
    let (anchor_db, auditor) = (db.clone(), iam.auditor().clone());
    jobs.register(
        "audit.anchor",
        JobSpec::every(
            AUDIT_ANCHOR_SECS,
            "anchor moved audit chain heads 审计链锚定",
        ),
        move |_ctx: RunContext| {
            let (db, auditor) = (anchor_db.clone(), auditor.clone());
            async move { Ok::<_, Error>(format!("heads={}", auditor.anchor(&db).await?)) }
        },
    )
    .await?;
    let twin = twin.clone();
    jobs.register(
        "twin.retention",
        JobSpec::every(60, "delete twin history past retention 孪生历史保留期清理"),
        move |ctx: RunContext| {
            let twin = twin.clone();
            async move {
                let rows = onecity_twin::temporal::purge(&twin, ctx.now)
                    .await
                    .map_err(|e| Error::internal(e.detail))?;
                Ok::<_, Error>(format!("rows={rows}"))
            }
        },
    )
    .await?;
    let catalog = catalog.clone();
    jobs.register(
        "catalog.freshness",
        JobSpec::every(
            300,
            "flag overdue responsibility-list entries 责任清单逾期检查",
        ),
        move |ctx: RunContext| {
            let catalog = catalog.clone();
            async move {
                Ok::<_, Error>(format!(
                    "overdue={}",
                    catalog.check_freshness(ctx.now).await?
                ))
            }
        },
    )
    .await?;
    let (purge_jobs, keep_days) = (jobs.clone(), cfg.jobs_history_days);
    jobs.register(
        "jobs.history_purge",
        JobSpec::daily("03:30", "UTC", "delete old job run history 作业历史清理")
            .enabled(keep_days > 0),
        move |ctx: RunContext| {
            let jobs = purge_jobs.clone();
            async move {
                let before = ctx.now - keep_days as i64 * 86_400_000_000;
                Ok::<_, Error>(format!("rows={}", jobs.purge_history(before).await?))
            }
        },
    )
    .await?;
    let (probe_db, fail_first) = (db.clone(), cfg.jobs_probe_fail_first);
    let probe_every = if cfg.jobs_probe_every_secs > 0 {
        cfg.jobs_probe_every_secs
    } else {
        60
    };
    let probe_spec = JobSpec::every(
        probe_every,
        "database round trip and outbox backlog 运行探针",
    )
    .retries(
        cfg.jobs_probe_max_attempts.max(1),
        Duration::from_secs(cfg.jobs_probe_backoff_secs),
    )
    .enabled(cfg.jobs_probe_every_secs > 0);
    jobs.register("ops.probe", probe_spec, move |ctx: RunContext| {
        let db = probe_db.clone();
        async move { probe(&db, &ctx, fail_first).await }
    })
    .await?;
    Ok(jobs)
}

/// One round of `brain.metro_forecast`: for every tenant whose twin holds the metro
/// stations, a forecast tick, then the evacuation watch (advice and work orders).
async fn metro_round(
    watch: &onecity_brain::service::advice::EvacuationWatch,
    iam: &Iam,
    now_micros: i64,
) -> Result<String> {
    let now = chrono::DateTime::from_timestamp_micros(now_micros)
        .ok_or_else(|| Error::internal("the job's time is out of range"))?;
    let forecaster = watch.forecaster();
    let mut parts = Vec::new();
    for tenant in iam.tenant_codes().await? {
        if forecaster
            .twin()
            .get(&tenant, &onecity_brain::station::entity_id(0))
            .is_none()
        {
            continue;
        }
        let tick = forecaster.tick(&tenant, now).await?;
        let w = watch.round(&tenant, now).await?;
        parts.push(format!(
            "{tenant}: stations={} forecasts={} stale={} advised={} triggered={} orders={}",
            tick.stations_forecast,
            tick.forecasts_written,
            tick.marked_stale,
            w.advised,
            w.triggered,
            w.orders_opened
        ));
    }
    Ok(if parts.is_empty() {
        "no tenant has metro stations".into()
    } else {
        parts.join("; ")
    })
}

/// The `ops.probe` job: one database round trip (`SELECT 1`) and the outbox backlog.
/// It fails on purpose while its attempt number is at most `fail_first`, to exercise
/// retries in a deployment (and in the tests).
async fn probe(db: &Db, ctx: &RunContext, fail_first: u32) -> Result<String> {
    let started = Instant::now();
    db.ping().await?;
    let ping_us = started.elapsed().as_micros();
    let backlog = onecity_store::outbox::backlog(db).await?;
    if ctx.attempt <= fail_first {
        // `conflict`: the probe's configuration, not a fault of the platform, refuses it.
        return Err(Error::new(
            onecity_core::ErrorCode::Conflict,
            format!(
                "failing on purpose: attempt {} of the first {fail_first} (jobs_probe_fail_first); ping_us={ping_us} outbox_backlog={backlog}",
                ctx.attempt
            ),
        ));
    }
    Ok(format!("ping_us={ping_us} outbox_backlog={backlog}"))
}
