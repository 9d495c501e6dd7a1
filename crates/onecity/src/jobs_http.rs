//! HTTP API of the jobs layer under `/api/v1/jobs`: thin handlers over
//! [`onecity_store::jobs::Jobs`]. Every route needs `jobs_admin` (`jobs:admin`), held by
//! the platform admin only: a job serves every tenant, so no tenant admin may run it.

use axum::extract::{FromRef, State};
use onecity_core::page::{Page, PageQuery};
use onecity_core::Problem;
use onecity_http::{ApiResult, Json, Path, Query};
use onecity_iam::http::{perm, Authorized};
use onecity_iam::Iam;
use onecity_store::jobs::{JobView, Jobs, RunRow};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

/// State of the jobs routes.
#[derive(Clone)]
pub struct JobsApi {
    /// Authentication.
    pub iam: Iam,
    /// The scheduler.
    pub jobs: Jobs,
}

impl FromRef<JobsApi> for Iam {
    fn from_ref(s: &JobsApi) -> Iam {
        s.iam.clone()
    }
}

/// The jobs router.
pub fn routes() -> OpenApiRouter<JobsApi> {
    OpenApiRouter::new()
        .routes(routes!(list_jobs))
        .routes(routes!(job_runs))
        .routes(routes!(run_job))
}

/// The registered jobs.
#[derive(Serialize, utoipa::ToSchema)]
pub struct JobList {
    /// Every job, by name.
    pub items: Vec<JobView>,
}

const NAME: &str = "job name, e.g. `flow.sla_scan`";

/// The jobs: name, schedule, enabled, the last run with its outcome, and when next due.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs",
    responses((status = 200, body = JobList), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn list_jobs(
    State(s): State<JobsApi>,
    _p: Authorized<perm::JobsAdmin>,
) -> ApiResult<Json<JobList>> {
    Ok(Json(JobList {
        items: s.jobs.list().await?,
    }))
}

/// A job's run history, newest first, one row per attempt (`?limit=1..500&cursor=`).
/// 404 `not_found` for an unknown job; 400 `invalid_cursor` / `invalid_query`.
#[utoipa::path(get, path = "/api/v1/jobs/{name}/runs", tag = "jobs",
    params(("name" = String, Path, description = NAME), PageQuery),
    responses((status = 200, body = Page<RunRow>), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn job_runs(
    State(s): State<JobsApi>,
    _p: Authorized<perm::JobsAdmin>,
    Path(name): Path<String>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Page<RunRow>>> {
    let limit = page.limit()?;
    let rows = s.jobs.runs(&name, page.after()?, limit).await?;
    Ok(Json(Page::from_overfetch(rows, limit, |r| {
        (r.started_at, r.id.clone())
    })))
}

/// Runs a job now on the answering node and returns the attempt (outcome `ok` or
/// `error`; a failed attempt is retried by the scheduler). 404 `not_found` for an
/// unknown job.
#[utoipa::path(post, path = "/api/v1/jobs/{name}/run", tag = "jobs",
    params(("name" = String, Path, description = NAME)),
    responses((status = 200, body = RunRow), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn run_job(
    State(s): State<JobsApi>,
    _p: Authorized<perm::JobsAdmin>,
    Path(name): Path<String>,
) -> ApiResult<Json<RunRow>> {
    Ok(Json(s.jobs.run_now(&name).await?))
}
