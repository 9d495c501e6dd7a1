//! HTTP API of the assistant (智能客服) and of the hall's item search, under
//! `/api/v1/tenants/{tenant}/services/…`. Both are open to anonymous callers (a guide is
//! public once published); each request counts against the platform limiter of
//! onecity-iam per client address ([`ASK_LIMIT`]).

use super::{ItemHit, Lang, Reply, MAX_SEARCH_LIMIT};
use crate::Hall;
use axum::extract::State;
use onecity_core::{Error, ErrorCode, Problem, Result};
use onecity_http::{ApiResult, Json, Path, Query};
use onecity_iam::http::ClientAddr;
use onecity_iam::limiter::{Decision, Limit, Subject};
use serde::Deserialize;
use std::time::Duration;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Questions and searches per client address per minute.
pub const ASK_LIMIT: Limit = Limit {
    max: 60,
    window: Duration::from_secs(60),
};

/// The assistant's and the item search's routes (state: [`Hall`]).
pub fn routes() -> OpenApiRouter<Hall> {
    OpenApiRouter::new()
        .routes(routes!(ask))
        .routes(routes!(search_items))
}

/// A question to the assistant.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AskRequest {
    /// The question, 1–500 characters, Chinese or English.
    pub question: String,
    /// `zh` or `en`: the language of the reply; guessed from the question when absent.
    pub lang: Option<Lang>,
}

/// Item search parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Search text, 1–500 characters.
    pub q: String,
    /// At most this many hits, 1–50 (default 20).
    pub limit: Option<usize>,
    /// `zh` (default) or `en`: the language of titles and departments.
    pub lang: Option<Lang>,
}

async fn limited(hall: &Hall, tenant: &str, addr: Option<std::net::IpAddr>) -> Result<()> {
    hall.iam.tenant_unchecked(tenant).await?;
    if let Some(a) = addr {
        if let Decision::Refused {
            retry_after_secs, ..
        } = hall
            .iam
            .limiter()
            .hit("services_assistant", Subject::Address(a), ASK_LIMIT)
            .await?
        {
            return Err(Error::new(
                ErrorCode::RateLimited,
                "操作过于频繁，请稍后再试 / too many questions from this address; try again later",
            )
            .with_retry_after(retry_after_secs));
        }
    }
    hall.fresh_guides(tenant).await
}

/// Ask the assistant (智能客服): the published guide sections that answer the question
/// (item code, title, section, snippet, link `/hall/items/{code}#section`), or
/// `found: false` with the hand-off to the 12345 hotline. Anonymous; 60 requests per
/// client address per minute (429 `rate_limited` with `Retry-After`). 404
/// `tenant_not_found`; 422 `invalid_input` for an empty or over-long question.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/services/assistant", tag = "services",
    params(("tenant" = String, Path, description = "tenant code")), request_body = AskRequest,
    responses((status = 200, body = Reply), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
async fn ask(
    State(hall): State<Hall>,
    ClientAddr(addr): ClientAddr,
    Path(tenant): Path<String>,
    Json(req): Json<AskRequest>,
) -> ApiResult<Json<Reply>> {
    limited(&hall, &tenant, addr).await?;
    Ok(Json(hall.assistant.ask(
        &tenant,
        &req.question,
        req.lang,
    )?))
}

/// Search the tenant's published service items (the hall's search box): ranked by the
/// same engine and question analysis as the assistant, without its confidence cut.
/// Anonymous; shares the assistant's limit. 404 `tenant_not_found`; 422 `invalid_input`
/// for an empty or over-long `q` or a `limit` outside 1–50; 400 for unknown parameters.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/services/items/search", tag = "services",
    params(("tenant" = String, Path, description = "tenant code"), SearchParams),
    responses((status = 200, body = Vec<ItemHit>), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn search_items(
    State(hall): State<Hall>,
    ClientAddr(addr): ClientAddr,
    Path(tenant): Path<String>,
    Query(p): Query<SearchParams>,
) -> ApiResult<Json<Vec<ItemHit>>> {
    limited(&hall, &tenant, addr).await?;
    let limit = p.limit.unwrap_or(20.min(MAX_SEARCH_LIMIT));
    Ok(Json(hall.assistant.search_items(
        &tenant,
        &p.q,
        limit,
        p.lang.unwrap_or_default(),
    )?))
}
