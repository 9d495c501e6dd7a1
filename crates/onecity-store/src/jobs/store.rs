//! Every SQL statement of the jobs layer's tables (`jobs`, `job_ticks`, `job_runs`).
//!
//! `job_ticks` has one row per (job, tick): the run-once lease. Its `state` is `pending`
//! (due at `next_try_at`), `running` (held by `node` until `lease_until`, the attempt
//! `run_id`), `done` or `failed`. Rows move between states only through guarded
//! `UPDATE … WHERE attempts = <seen>` statements, so of two replicas racing for a row one
//! changes it and the other sees zero rows affected. `job_runs` has one row per attempt.

use crate::{args, Executor, Result, Row, Val};
use serde::{Deserialize, Serialize};

/// The migration creating the jobs layer's tables (component `store`, version 4).
pub const MIGRATION_SQL: &str = r#"
CREATE TABLE jobs (
  name TEXT PRIMARY KEY, schedule TEXT NOT NULL, description TEXT NOT NULL,
  max_attempts BIGINT NOT NULL, enabled BIGINT NOT NULL,
  registered_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE job_ticks (
  job TEXT NOT NULL, tick TEXT NOT NULL, due_at BIGINT NOT NULL, cause TEXT NOT NULL,
  payload TEXT, state TEXT NOT NULL, attempts BIGINT NOT NULL, node TEXT, run_id TEXT,
  lease_until BIGINT, next_try_at BIGINT NOT NULL, created_at BIGINT NOT NULL,
  finished_at BIGINT, PRIMARY KEY (job, tick));
CREATE INDEX job_ticks_due ON job_ticks (state, next_try_at);
CREATE INDEX job_ticks_finished ON job_ticks (finished_at);
CREATE TABLE job_runs (
  id TEXT PRIMARY KEY, job TEXT NOT NULL, tick TEXT NOT NULL, attempt BIGINT NOT NULL,
  cause TEXT NOT NULL, node TEXT NOT NULL, started_at BIGINT NOT NULL, finished_at BIGINT,
  duration_ms BIGINT, outcome TEXT NOT NULL, detail TEXT, error TEXT);
CREATE INDEX job_runs_by_job ON job_runs (job, started_at, id);
"#;

/// A registered job as stored.
#[derive(Debug, Clone, Deserialize)]
pub struct JobRow {
    pub name: String,
    pub schedule: String,
    pub description: String,
    pub max_attempts: i64,
    pub enabled: i64,
}

/// One attempt of one tick.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunRow {
    /// Run id (UUIDv7).
    pub id: String,
    /// Job name.
    pub job: String,
    /// Tick key: the scheduled instant (RFC 3339 UTC), `event:<event id>` or
    /// `manual:<id>`.
    pub tick: String,
    /// Attempt number, from 1.
    pub attempt: i64,
    /// What made it run: `schedule`, `event` or `manual`.
    pub cause: String,
    /// The node that ran it (`host:pid`).
    pub node: String,
    /// Start, µs since the epoch.
    pub started_at: i64,
    /// End, µs since the epoch (absent while running).
    pub finished_at: Option<i64>,
    /// Wall time in milliseconds (absent while running).
    pub duration_ms: Option<i64>,
    /// `running`, `ok`, `error` (retried while attempts remain), or `lost` (its node
    /// stopped renewing the lease; the tick was taken over).
    pub outcome: String,
    /// The job's own summary of a successful run.
    pub detail: Option<String>,
    /// The error of a failed run.
    pub error: Option<String>,
}

/// A tick that can be claimed now.
#[derive(Debug, Clone, Deserialize)]
pub struct DueTick {
    pub job: String,
    pub tick: String,
    pub due_at: i64,
    pub cause: String,
    pub payload: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub run_id: Option<String>,
    pub node: Option<String>,
}

const RUN_COLUMNS: &str = "id, job, tick, attempt, cause, node, started_at, finished_at, duration_ms, outcome, detail, error";

/// Inserts or refreshes a job's registration; returns its first registration time.
pub async fn upsert_job(mut ex: impl Executor, job: &JobRow, now: i64) -> Result<i64> {
    ex.execute(
        "INSERT INTO jobs (name, schedule, description, max_attempts, enabled, registered_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (name) DO UPDATE SET schedule = excluded.schedule, \
         description = excluded.description, max_attempts = excluded.max_attempts, \
         enabled = excluded.enabled, updated_at = excluded.updated_at",
        args![
            &job.name,
            &job.schedule,
            &job.description,
            job.max_attempts,
            job.enabled,
            now
        ],
    )
    .await?;
    let row = ex
        .fetch_optional(
            "SELECT registered_at FROM jobs WHERE name = $1",
            args![&job.name],
        )
        .await?;
    match row {
        Some(r) => r.i64("registered_at"),
        None => Err(onecity_core::Error::internal("job registration vanished")),
    }
}

/// Every registered job, by name.
pub async fn list_jobs(mut ex: impl Executor) -> Result<Vec<JobRow>> {
    ex.fetch_all_as(
        "SELECT name, schedule, description, max_attempts, enabled FROM jobs ORDER BY name",
        &[],
    )
    .await
}

/// Inserts the scheduled tick `tick` of `job` as pending unless the tick exists or a tick
/// of the job is still running under a live lease (no overlap of a job with itself);
/// returns rows inserted (0 or 1).
pub async fn insert_scheduled_tick(
    mut ex: impl Executor,
    job: &str,
    tick: &str,
    due_at: i64,
    now: i64,
) -> Result<u64> {
    // The WHERE clause also keeps SQLite from reading ON CONFLICT as a join constraint.
    ex.execute(
        "INSERT INTO job_ticks (job, tick, due_at, cause, state, attempts, next_try_at, created_at) \
         SELECT $1, $2, $3, 'schedule', 'pending', 0, $3, $4 WHERE NOT EXISTS \
         (SELECT 1 FROM job_ticks WHERE job = $1 AND state = 'running' AND lease_until >= $4) \
         ON CONFLICT (job, tick) DO NOTHING",
        args![job, tick, due_at, now],
    )
    .await
}

/// Inserts an event or manual tick as pending (due now); a tick that exists already
/// (a redelivered event) is left alone. Returns rows inserted.
pub async fn insert_tick(
    mut ex: impl Executor,
    job: &str,
    tick: &str,
    due_at: i64,
    cause: &str,
    payload: Option<&str>,
    now: i64,
) -> Result<u64> {
    ex.execute(
        "INSERT INTO job_ticks (job, tick, due_at, cause, payload, state, attempts, next_try_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) ON CONFLICT (job, tick) DO NOTHING",
        args![job, tick, due_at, cause, payload, now],
    )
    .await
}

/// Inserts a manual tick already claimed by `node` for its first attempt `run_id` (so no
/// scheduler pass can take it between insertion and claim).
pub async fn insert_claimed_tick(
    mut ex: impl Executor,
    job: &str,
    tick: &str,
    node: &str,
    run_id: &str,
    lease_until: i64,
    now: i64,
) -> Result<()> {
    ex.execute(
        "INSERT INTO job_ticks (job, tick, due_at, cause, state, attempts, node, run_id, lease_until, next_try_at, created_at) \
         VALUES ($1, $2, $3, 'manual', 'running', 1, $4, $5, $6, $3, $3)",
        args![job, tick, now, node, run_id, lease_until],
    )
    .await?;
    Ok(())
}

/// Whether tick `tick` of `job` exists (in any state).
pub async fn tick_exists(mut ex: impl Executor, job: &str, tick: &str) -> Result<bool> {
    Ok(ex
        .fetch_optional(
            "SELECT 1 AS one FROM job_ticks WHERE job = $1 AND tick = $2",
            args![job, tick],
        )
        .await?
        .is_some())
}

/// Ticks of the named jobs that can be claimed at `now`: pending and due, or running
/// under an expired lease. Oldest first, at most `limit`.
pub async fn due_ticks(
    mut ex: impl Executor,
    jobs: &[String],
    now: i64,
    limit: i64,
) -> Result<Vec<DueTick>> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let names = crate::numbered(3, jobs.len());
    let sql = format!(
        "SELECT job, tick, due_at, cause, payload, state, attempts, run_id, node FROM job_ticks \
         WHERE ((state = 'pending' AND next_try_at <= $1) OR (state = 'running' AND lease_until < $1)) \
         AND job IN ({names}) ORDER BY next_try_at LIMIT $2"
    );
    let mut a: Vec<Val> = vec![now.into(), limit.into()];
    a.extend(jobs.iter().map(Val::from));
    ex.fetch_all_as(&sql, &a).await
}

/// Claims a due tick for attempt `seen_attempts + 1` by `node` under run `run_id` until
/// `lease_until`; true when this caller won it.
#[allow(clippy::too_many_arguments)]
pub async fn claim(
    mut ex: impl Executor,
    job: &str,
    tick: &str,
    seen_attempts: i64,
    node: &str,
    run_id: &str,
    lease_until: i64,
    now: i64,
) -> Result<bool> {
    let n = ex
        .execute(
            "UPDATE job_ticks SET state = 'running', attempts = attempts + 1, node = $1, run_id = $2, \
             lease_until = $3 WHERE job = $4 AND tick = $5 AND attempts = $6 \
             AND ((state = 'pending' AND next_try_at <= $7) OR (state = 'running' AND lease_until < $7))",
            args![node, run_id, lease_until, job, tick, seen_attempts, now],
        )
        .await?;
    Ok(n == 1)
}

/// Gives up a tick whose last attempt's node died after its final attempt: `failed`.
/// True when this caller changed it.
pub async fn fail_abandoned(
    mut ex: impl Executor,
    job: &str,
    tick: &str,
    seen_attempts: i64,
    now: i64,
) -> Result<bool> {
    let n = ex
        .execute(
            "UPDATE job_ticks SET state = 'failed', finished_at = $1, lease_until = NULL \
             WHERE job = $2 AND tick = $3 AND attempts = $4 AND state = 'running' AND lease_until < $1",
            args![now, job, tick, seen_attempts],
        )
        .await?;
    Ok(n == 1)
}

/// Extends the lease of attempt `run_id`; false when the tick is no longer held by it.
pub async fn renew_lease(
    mut ex: impl Executor,
    job: &str,
    tick: &str,
    run_id: &str,
    lease_until: i64,
) -> Result<bool> {
    let n = ex
        .execute(
            "UPDATE job_ticks SET lease_until = $1 WHERE job = $2 AND tick = $3 AND run_id = $4 AND state = 'running'",
            args![lease_until, job, tick, run_id],
        )
        .await?;
    Ok(n == 1)
}

/// Ends the tick held by attempt `run_id`: `done`, `failed`, or back to `pending` until
/// `retry_at`. False when the attempt had lost its lease (another node took over).
pub async fn settle_tick(
    mut ex: impl Executor,
    job: &str,
    tick: &str,
    run_id: &str,
    state: &str,
    retry_at: Option<i64>,
    now: i64,
) -> Result<bool> {
    let n = ex
        .execute(
            "UPDATE job_ticks SET state = $1, next_try_at = COALESCE($2, next_try_at), lease_until = NULL, \
             finished_at = CASE WHEN $1 = 'pending' THEN NULL ELSE $3 END \
             WHERE job = $4 AND tick = $5 AND run_id = $6 AND state = 'running'",
            args![state, retry_at, now, job, tick, run_id],
        )
        .await?;
    Ok(n == 1)
}

/// Records the start of an attempt (outcome `running`).
pub async fn insert_run(mut ex: impl Executor, run: &RunRow) -> Result<()> {
    ex.execute(
        &format!("INSERT INTO job_runs ({RUN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"),
        args![
            &run.id,
            &run.job,
            &run.tick,
            run.attempt,
            &run.cause,
            &run.node,
            run.started_at,
            run.finished_at,
            run.duration_ms,
            &run.outcome,
            run.detail.clone(),
            run.error.clone()
        ],
    )
    .await?;
    Ok(())
}

/// Records the end of attempt `run.id` (finish, duration, outcome, detail, error).
pub async fn finish_run(mut ex: impl Executor, run: &RunRow) -> Result<()> {
    ex.execute(
        "UPDATE job_runs SET finished_at = $1, duration_ms = $2, outcome = $3, detail = $4, error = $5 WHERE id = $6",
        args![
            run.finished_at,
            run.duration_ms,
            &run.outcome,
            run.detail.clone(),
            run.error.clone(),
            &run.id
        ],
    )
    .await?;
    Ok(())
}

/// Marks a still-running attempt as `lost` (its node stopped renewing the lease).
pub async fn mark_lost(mut ex: impl Executor, run_id: &str, now: i64, error: &str) -> Result<()> {
    ex.execute(
        "UPDATE job_runs SET outcome = 'lost', finished_at = $1, error = $2 WHERE id = $3 AND outcome = 'running'",
        args![now, error, run_id],
    )
    .await?;
    Ok(())
}

/// One attempt by id.
pub async fn run_by_id(mut ex: impl Executor, id: &str) -> Result<Option<RunRow>> {
    ex.fetch_optional_as(
        &format!("SELECT {RUN_COLUMNS} FROM job_runs WHERE id = $1"),
        args![id],
    )
    .await
}

/// The newest attempts of `job`, newest first, after the cursor `(started_at, id)`;
/// fetches `limit` rows.
pub async fn runs(
    mut ex: impl Executor,
    job: &str,
    after: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<RunRow>> {
    match after {
        None => {
            ex.fetch_all_as(
                &format!("SELECT {RUN_COLUMNS} FROM job_runs WHERE job = $1 ORDER BY started_at DESC, id DESC LIMIT $2"),
                args![job, limit],
            )
            .await
        }
        Some((at, id)) => {
            ex.fetch_all_as(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM job_runs WHERE job = $1 AND (started_at < $2 OR (started_at = $2 AND id < $3)) \
                     ORDER BY started_at DESC, id DESC LIMIT $4"
                ),
                args![job, at, id, limit],
            )
            .await
        }
    }
}

/// The earliest time a pending tick of `job` is due (a retry or a queued event), if any.
pub async fn next_pending(mut ex: impl Executor, job: &str) -> Result<Option<i64>> {
    let row: Option<Row> = ex
        .fetch_optional(
            "SELECT MIN(next_try_at) AS at FROM job_ticks WHERE job = $1 AND state = 'pending'",
            args![job],
        )
        .await?;
    match row {
        Some(r) => r.opt_i64("at"),
        None => Ok(None),
    }
}

/// Deletes finished ticks and attempts that ended before `before`; returns rows deleted.
pub async fn purge_before(mut ex: impl Executor, before: i64) -> Result<u64> {
    let runs = ex
        .execute(
            "DELETE FROM job_runs WHERE finished_at IS NOT NULL AND finished_at < $1",
            args![before],
        )
        .await?;
    let ticks = ex
        .execute(
            "DELETE FROM job_ticks WHERE state IN ('done', 'failed') AND finished_at < $1",
            args![before],
        )
        .await?;
    Ok(runs + ticks)
}
