//! HTTP routes of the datastore: the CKAN DataStore actions at
//! `/api/3/action/datastore_*` (CKAN envelope `{"help", "success", "result"}`, errors
//! `{"success": false, "error": {"__type", "message"}}` with CKAN's statuses: 409
//! validation, 403 authorization, 404 not found), file uploads with load-job progress,
//! sharing requests and exchange statistics under
//! `/api/v1/datastore`.

use crate::load::{FieldType, Format};
use crate::masking::MaskRule;
use crate::service::{Datastore, Job, LoadOptions};
use crate::sharing::{ExchangeStat, ShareRequestBody, ShareRequestView};
use crate::store_query::SearchParams;
use axum::body::Bytes;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onecity_core::{Error, Problem};
use onecity_http::{ApiResult, Json, Path, Query};
use onecity_iam::http::Auth;
use onecity_iam::Iam;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use utoipa_axum::{router::OpenApiRouter, routes};

impl FromRef<Datastore> for Iam {
    fn from_ref(d: &Datastore) -> Iam {
        d.iam.clone()
    }
}

/// The router of the datastore (state: [`Datastore`]).
pub fn routes() -> OpenApiRouter<Datastore> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .routes(routes!(dump))
        .routes(routes!(job))
        .routes(routes!(request_share))
        .routes(routes!(get_share_request))
        .routes(routes!(decide_share))
        .routes(routes!(exchange_stats))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::load::MAX_UPLOAD_BYTES,
        ))
}

/// Rows a dump holds at most (the datastore_search offset limit).
pub const DUMP_MAX_ROWS: u64 = 100_000;

/// CSV of a table (CKAN's `/datastore/dump/{resource_id}`), as the caller may read it:
/// same access, masks and negative list as `datastore_search` (each page of 1,000 rows is
/// one exchange record); header row of the visible fields, then the rows in `_id` order, at
/// most [`DUMP_MAX_ROWS`]. Errors as problem details (403, 404).
#[utoipa::path(get, path = "/datastore/dump/{resource_id}", tag = "datastore",
    params(("resource_id" = String, Path, description = "resource id")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn dump(
    State(ds): State<Datastore>,
    headers: axum::http::HeaderMap,
    Path(rid): Path<String>,
) -> ApiResult<Response> {
    let p = match onecity_iam::http::credential(&headers) {
        None => None,
        Some(c) => Some(ds.iam.authenticate(c).await?),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut offset = 0u64;
    let mut header: Option<Vec<String>> = None;
    loop {
        let params = SearchParams {
            resource_id: rid.clone(),
            sort: Some("_id".into()),
            limit: Some(1000),
            offset: Some(offset),
            ..Default::default()
        };
        let r = ds.search(p.as_deref(), &params).await?;
        let cols = header.get_or_insert_with(|| {
            r.fields
                .iter()
                .filter_map(|f| f.get("id").and_then(Value::as_str).map(str::to_string))
                .filter(|f| f != "_id")
                .collect()
        });
        if offset == 0 {
            w.write_record(cols.iter()).map_err(Error::internal)?;
        }
        for rec in &r.records {
            let row: Vec<String> = cols
                .iter()
                .map(|c| match rec.get(c) {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                })
                .collect();
            w.write_record(&row).map_err(Error::internal)?;
        }
        offset += r.records.len() as u64;
        if r.records.len() < 1000 || offset >= DUMP_MAX_ROWS {
            break;
        }
    }
    let body = w.into_inner().map_err(Error::internal)?;
    Ok((
        StatusCode::OK,
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}.csv\"",
                    rid.replace(['"', '\\'], "_")
                ),
            ),
        ],
        body,
    )
        .into_response())
}

/// Upload options.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// `csv` (default), `json` or `xlsx`.
    pub format: Option<String>,
    /// Tenant (default: the caller's).
    pub tenant: Option<String>,
    /// Open data.
    pub public: Option<bool>,
    /// `general`, `important` or `core`.
    pub grade: Option<String>,
    /// Explicit types, JSON `{"field": "int"}`.
    pub schema: Option<String>,
    /// Masks, JSON `{"field": "mobile"}`.
    pub masks: Option<String>,
    /// Wait for the load to finish (201 with the table) instead of 202 with a job.
    pub wait: Option<bool>,
}

/// Upload a CSV, JSON or XLSX file (raw body, ≤ 200 MiB) into a resource's table, replacing
/// it. 202 with a job to poll (`/api/v1/datastore/jobs/{id}`), or 201 with `wait=true`.
#[utoipa::path(post, path = "/api/v1/datastore/{resource_id}/upload", tag = "datastore",
    params(("resource_id" = String, Path, description = "resource id"), UploadQuery),
    request_body(content = String, content_type = "application/octet-stream", description = "file bytes"),
    responses((status = 201, body = Object), (status = 202, body = Job), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn upload(
    State(ds): State<Datastore>,
    Auth(p): Auth,
    Path(rid): Path<String>,
    Query(q): Query<UploadQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    let format = match q.format.as_deref() {
        None => Format::Csv,
        Some(f) => {
            Format::parse(f).ok_or_else(|| Error::invalid("format must be csv, json or xlsx"))?
        }
    };
    let mut schema = HashMap::new();
    if let Some(s) = &q.schema {
        let m: HashMap<String, String> =
            serde_json::from_str(s).map_err(|e| Error::invalid(format!("schema: {e}")))?;
        for (k, v) in m {
            schema.insert(
                k,
                FieldType::parse(&v)
                    .ok_or_else(|| Error::invalid(format!("schema: unknown type {v:?}")))?,
            );
        }
    }
    let masks: HashMap<String, MaskRule> = match &q.masks {
        None => HashMap::new(),
        Some(s) => serde_json::from_str(s).map_err(|e| Error::invalid(format!("masks: {e}")))?,
    };
    let opts = LoadOptions {
        tenant: q.tenant.clone(),
        schema,
        owner_department: None,
        public: q.public.unwrap_or(false),
        grade: q.grade.clone(),
        masks,
    };
    let tenant = q
        .tenant
        .clone()
        .or_else(|| p.tenant.clone())
        .ok_or_else(|| Error::invalid("tenant is required"))?;
    // Refused at once (not in the job) when the id is no catalog resource.
    ds.catalog_link(&rid).await?;
    if q.wait.unwrap_or(false) {
        let m = ds.load_file(&p, &rid, &body, format, &opts, None).await?;
        return Ok((
            StatusCode::CREATED,
            axum::Json(
                json!({"resource_id": m.resource_id, "fields": m.fields, "row_count": m.row_count}),
            ),
        )
            .into_response());
    }
    crate::service::check_resource_id(&rid)?;
    let job_id = ds.start_job(&p, &rid, &tenant).await?;
    let (ds2, jid) = (ds.clone(), job_id.clone());
    tokio::spawn(async move {
        if let Err(e) = ds2
            .load_file(&p, &rid, &body, format, &opts, Some(&jid))
            .await
        {
            let _ = ds2
                .job_update(&jid, "failed", None, 0, None, Some(&e.detail))
                .await;
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(ds.job_unchecked(&job_id).await?),
    )
        .into_response())
}

/// Progress of a load job: state (`parsing`, `loading`, `done`, `failed`), rows total and
/// written, detected encoding, error.
#[utoipa::path(get, path = "/api/v1/datastore/jobs/{id}", tag = "datastore", params(("id" = String, Path, description = "job id")),
    responses((status = 200, body = Job), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn job(
    State(ds): State<Datastore>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Job>> {
    Ok(Json(ds.job(&p, &id).await?))
}

/// Request sharing of a resource's table for the caller's department (fields, row filter,
/// purpose, expiry, daily quota); opens an approval case in the owner department's inbox.
#[utoipa::path(post, path = "/api/v1/datastore/{resource_id}/share-requests", tag = "datastore",
    params(("resource_id" = String, Path, description = "resource id")), request_body = ShareRequestBody,
    responses((status = 201, body = ShareRequestView), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn request_share(
    State(ds): State<Datastore>,
    Auth(p): Auth,
    Path(rid): Path<String>,
    Json(b): Json<ShareRequestBody>,
) -> ApiResult<(StatusCode, Json<ShareRequestView>)> {
    Ok((
        StatusCode::CREATED,
        Json(ds.request_share(&p, &rid, &b).await?),
    ))
}

/// A sharing request, brought up to date with its approval case.
#[utoipa::path(get, path = "/api/v1/datastore/share-requests/{id}", tag = "datastore",
    params(("id" = String, Path, description = "request id")),
    responses((status = 200, body = ShareRequestView), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn get_share_request(
    State(ds): State<Datastore>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ShareRequestView>> {
    let v = ds.share_request(&id).await?;
    if !p.sees_tenant(&v.tenant) {
        return Err(Error::not_found("no such sharing request").into());
    }
    Ok(Json(v))
}

/// A decision on a sharing request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    /// `APPROVE` or `REJECT` (the flow's actions).
    pub action: String,
    /// Comment (required to reject).
    #[serde(default)]
    pub comment: Option<String>,
}

/// Approve or reject a sharing request (acts on its approval case; the workflow engine
/// checks the `DATA_OWNER` / `DATA_SECURITY_OFFICER` roles).
#[utoipa::path(post, path = "/api/v1/datastore/share-requests/{id}/decision", tag = "datastore",
    params(("id" = String, Path, description = "request id")), request_body = DecideBody,
    responses((status = 200, body = ShareRequestView), (status = 403, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
async fn decide_share(
    State(ds): State<Datastore>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Json(b): Json<DecideBody>,
) -> ApiResult<Json<ShareRequestView>> {
    Ok(Json(ds.decide_share(&p, &id, &b.action, b.comment).await?))
}

/// Days of the statistics.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// First day, `YYYY-MM-DD` (default: 30 days ago).
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today, UTC).
    pub to: Option<String>,
}

/// Exchange statistics (交换统计) of a tenant per day, dataset and department.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/exchange-stats", tag = "datastore",
    params(("tenant" = String, Path, description = "tenant code"), StatsQuery),
    responses((status = 200, body = Vec<ExchangeStat>), (status = 403, body = Problem)), security(("bearer" = [])))]
async fn exchange_stats(
    State(ds): State<Datastore>,
    Auth(p): Auth,
    Path(tenant): Path<String>,
    Query(q): Query<StatsQuery>,
) -> ApiResult<Json<Vec<ExchangeStat>>> {
    let today = chrono::Utc::now().date_naive();
    let from = q
        .from
        .unwrap_or_else(|| (today - chrono::Duration::days(30)).to_string());
    let to = q.to.unwrap_or_else(|| today.to_string());
    Ok(Json(ds.exchange_stats(&p, &tenant, &from, &to).await?))
}
