//! HTTP routes of the workflow API (`/api/v1/tenants/{tenant}/flows|cases|inbox|…`).

use crate::engine::{DefinitionInfo, DefinitionValidation};
use crate::inbox::InboxQuery;
use crate::model::*;
use crate::Flow;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onecity_core::Problem;
use onecity_http::{ApiResult, Json, Path, Query};
use onecity_iam::http::{perm, Auth, Authorized};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

/// The router of this module (state: [`Flow`]).
pub fn routes() -> OpenApiRouter<Flow> {
    OpenApiRouter::new()
        .routes(routes!(list_flows, put_flow))
        .routes(routes!(get_flow))
        .routes(routes!(flow_metrics))
        .routes(routes!(put_calendar))
        .routes(routes!(put_jurisdiction_calendar))
        .routes(routes!(grant_flow_role))
        .routes(routes!(create_case))
        .routes(routes!(get_case))
        .routes(routes!(act_on_case))
        .routes(routes!(claim_case))
        .routes(routes!(transfer_case))
        .routes(routes!(inbox))
        .routes(routes!(notifications))
}

const T: &str = "tenant code";

/// Flow definitions of a tenant (every version).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/flows", tag = "flow", params(("tenant" = String, Path, description = T)),
    responses((status = 200, body = Vec<DefinitionInfo>), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn list_flows(
    State(f): State<Flow>,
    Auth(p): Auth,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<DefinitionInfo>>> {
    Ok(Json(f.list_definitions(&p, &tenant).await?))
}

/// How to treat a posted definition.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SaveFlowQuery {
    /// Only check the definition (a dry run): 200 with `valid` and every problem, and
    /// nothing stored.
    #[serde(default)]
    pub validate_only: bool,
}

/// Store a new version of a flow definition (JSON; validated: 422 lists every problem in
/// `errors`, and in `problems` with codes and the states, actions and roles they name).
/// With `?validate_only=true` nothing is stored: 200 with a [`DefinitionValidation`]
/// (the flow designer's live check). Both need `flow_admin` over the tenant.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/flows", tag = "flow", params(("tenant" = String, Path, description = T), SaveFlowQuery),
    request_body = crate::definition::FlowDefinition,
    responses((status = 201, body = DefinitionInfo), (status = 200, description = "validate_only: the check", body = DefinitionValidation),
        (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn put_flow(
    State(f): State<Flow>,
    p: Authorized<perm::FlowAdmin>,
    Path(tenant): Path<String>,
    Query(q): Query<SaveFlowQuery>,
    Json(body): Json<serde_json::Value>,
) -> ApiResult<Response> {
    let text = body.to_string();
    if q.validate_only {
        let check = f.validate_definition(&p, &tenant, &text).await?;
        return Ok(Json(check).into_response());
    }
    let info = f.put_definition(&p, &tenant, &text).await?;
    Ok((StatusCode::CREATED, Json(info)).into_response())
}

/// Version selector.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// Version (default: latest).
    #[param(minimum = 1)]
    pub version: Option<i64>,
}

/// One flow definition.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/flows/{key}", tag = "flow",
    params(("tenant" = String, Path, description = T), ("key" = String, Path, description = "flow key"), VersionQuery),
    responses((status = 200, body = crate::definition::FlowDefinition), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn get_flow(
    State(f): State<Flow>,
    Auth(p): Auth,
    Path((tenant, key)): Path<(String, String)>,
    Query(q): Query<VersionQuery>,
) -> ApiResult<Json<crate::definition::FlowDefinition>> {
    f.iam.tenant(&p, &tenant).await?;
    Ok(Json(
        (*f.definition(&tenant, &key, q.version).await?.1).clone(),
    ))
}

/// Per-flow metrics: cases by state, on-time rate, mean time per state, breaches by department.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/flows/{key}/metrics", tag = "flow",
    params(("tenant" = String, Path, description = T), ("key" = String, Path, description = "flow key")),
    responses((status = 200, body = FlowMetrics), (status = 403, body = Problem)), security(("bearer" = [])))]
async fn flow_metrics(
    State(f): State<Flow>,
    p: Authorized<perm::CaseRead>,
    Path((tenant, key)): Path<(String, String)>,
) -> ApiResult<Json<FlowMetrics>> {
    Ok(Json(f.metrics(&p, &tenant, &key).await?))
}

/// Set the tenant's working-day calendar (JSON; see the calendar module docs).
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/calendar", tag = "flow", params(("tenant" = String, Path, description = T)),
    request_body(content = Object, description = "calendar JSON", content_type = "application/json"),
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn put_calendar(
    State(f): State<Flow>,
    p: Authorized<perm::FlowAdmin>,
    Path(tenant): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> ApiResult<StatusCode> {
    f.put_calendar(&p, &tenant, None, &body.to_string()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set the working-day calendar of one jurisdiction and its subtree (e.g. a region's own
/// holidays: `{"base": "china_mainland", "regional": {"region": …, "holidays": […]}}`).
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/jurisdictions/{id}/calendar", tag = "flow",
    params(("tenant" = String, Path, description = T), ("id" = Uuid, Path, description = "jurisdiction id")),
    request_body(content = Object, description = "calendar JSON", content_type = "application/json"),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn put_jurisdiction_calendar(
    State(f): State<Flow>,
    p: Authorized<perm::FlowAdmin>,
    Path((tenant, id)): Path<(String, Uuid)>,
    Json(body): Json<serde_json::Value>,
) -> ApiResult<StatusCode> {
    f.put_calendar(&p, &tenant, Some(id), &body.to_string())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A flow role grant.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowRoleGrant {
    /// The user.
    pub principal_id: Uuid,
    /// Flow role, e.g. `GRO`.
    pub role: String,
    /// Limit to one department's cases.
    #[serde(default)]
    pub department_id: Option<Uuid>,
}

/// Grant a flow role (e.g. DIGIT's `GRO`) to a user, optionally for one department.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/flow-roles", tag = "flow", params(("tenant" = String, Path, description = T)),
    request_body = FlowRoleGrant,
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn grant_flow_role(
    State(f): State<Flow>,
    p: Authorized<perm::FlowAdmin>,
    Path(tenant): Path<String>,
    Json(g): Json<FlowRoleGrant>,
) -> ApiResult<StatusCode> {
    f.grant_role(&p, &tenant, g.principal_id, &g.role, g.department_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a case (optionally taking its first action at once).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/cases", tag = "flow", params(("tenant" = String, Path, description = T)),
    request_body = NewCase,
    responses((status = 201, body = CaseView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn create_case(
    State(f): State<Flow>,
    Auth(p): Auth,
    Path(tenant): Path<String>,
    Json(n): Json<NewCase>,
) -> ApiResult<(StatusCode, Json<CaseView>)> {
    Ok((
        StatusCode::CREATED,
        Json(f.create_case(&p, &tenant, &n).await?),
    ))
}

/// A case with its history and the caller's allowed actions.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/cases/{id}", tag = "flow",
    params(("tenant" = String, Path, description = T), ("id" = Uuid, Path, description = "case id")),
    responses((status = 200, body = CaseDetail), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn get_case(
    State(f): State<Flow>,
    Auth(p): Auth,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> ApiResult<Json<CaseDetail>> {
    Ok(Json(f.case(&p, &tenant, id).await?))
}

/// Take an action. 409 `invalid_transition` or 403 or 422 carry `allowed_actions`;
/// 409 `conflict` when someone else changed the case first.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/cases/{id}/actions", tag = "flow",
    params(("tenant" = String, Path, description = T), ("id" = Uuid, Path, description = "case id")),
    request_body = ActionRequest,
    responses((status = 200, body = CaseView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn act_on_case(
    State(f): State<Flow>,
    Auth(p): Auth,
    Path((tenant, id)): Path<(String, Uuid)>,
    Json(req): Json<ActionRequest>,
) -> ApiResult<Json<CaseView>> {
    Ok(Json(f.act(&p, &tenant, id, &req).await?))
}

/// Optimistic concurrency for claims.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    /// The case version the caller saw.
    #[serde(default)]
    pub expected_version: Option<i64>,
}

/// Claim (sign for, 签收) a case: become its assignee; a state whose clock starts on claim starts it.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/cases/{id}/claim", tag = "flow",
    params(("tenant" = String, Path, description = T), ("id" = Uuid, Path, description = "case id")),
    request_body = ClaimRequest,
    responses((status = 200, body = CaseView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
async fn claim_case(
    State(f): State<Flow>,
    Auth(p): Auth,
    Path((tenant, id)): Path<(String, Uuid)>,
    Json(c): Json<ClaimRequest>,
) -> ApiResult<Json<CaseView>> {
    Ok(Json(f.claim(&p, &tenant, id, c.expected_version).await?))
}

/// Transfer a case to another person or department queue, with a reason.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/cases/{id}/transfer", tag = "flow",
    params(("tenant" = String, Path, description = T), ("id" = Uuid, Path, description = "case id")),
    request_body = TransferRequest,
    responses((status = 200, body = CaseView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn transfer_case(
    State(f): State<Flow>,
    Auth(p): Auth,
    Path((tenant, id)): Path<(String, Uuid)>,
    Json(t): Json<TransferRequest>,
) -> ApiResult<Json<CaseView>> {
    Ok(Json(f.transfer(&p, &tenant, id, &t).await?))
}

/// The caller's to-do inbox (一体办公) across every flow and module, soonest deadline first.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/inbox", tag = "flow", params(("tenant" = String, Path, description = T), InboxQuery),
    responses((status = 200, body = Inbox), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn inbox(
    State(f): State<Flow>,
    Auth(p): Auth,
    Path(tenant): Path<String>,
    Query(q): Query<InboxQuery>,
) -> ApiResult<Json<Inbox>> {
    Ok(Json(f.inbox(&p, &tenant, &q).await?))
}

/// The caller's in-app notifications (SLA warnings, breaches, escalations), newest first.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/notifications", tag = "flow", params(("tenant" = String, Path, description = T)),
    responses((status = 200, body = Vec<Notification>), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn notifications(
    State(f): State<Flow>,
    Auth(p): Auth,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<Notification>>> {
    Ok(Json(f.notifications(&p, &tenant).await?))
}
