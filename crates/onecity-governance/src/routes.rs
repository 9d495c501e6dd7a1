//! HTTP routes of the governance API (`/api/v1/tenants/{tenant}/events|governance/…|alerts`,
//! `/api/v1/alerts/{id}.cap.xml`). Errors are RFC 9457 problem details.

use crate::import::ImportReport;
use crate::model::*;
use crate::Gov;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use onecity_core::{Error, Problem};
use onecity_http::{ApiResult, Json, Path, Query};
use onecity_iam::http::{perm, Auth, Authorized};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

/// The router of this module (state: [`Gov`]), Open311 included.
pub fn routes() -> OpenApiRouter<Gov> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(list_services, put_service))
        .routes(routes!(import_services))
        .routes(routes!(list_events, create_event))
        .routes(routes!(get_event))
        .routes(routes!(event_history))
        .routes(routes!(merge_event))
        .routes(routes!(dispatch_event))
        .routes(routes!(rate_event))
        .routes(routes!(extend_event))
        .routes(routes!(add_rule))
        .routes(routes!(import_nyc311))
        .routes(routes!(stats))
        .routes(routes!(list_plans, put_plan))
        .routes(routes!(add_alert_rule))
        .routes(routes!(list_alerts, post_cap))
        .routes(routes!(cap_xml))
        .merge(crate::open311::routes())
}

const T: &str = "tenant code";

/// Governance settings of a tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/governance/settings", tag = "governance",
    params(("tenant" = String, Path, description = T)), responses((status = 200, body = Settings), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn get_settings(
    State(g): State<Gov>,
    Auth(p): Auth,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Settings>> {
    g.iam().tenant(&p, &tenant).await?;
    Ok(Json(g.settings(&tenant).await?))
}

/// Replace the governance settings (zone, duplicate radius/window, border distance, attachment limits).
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/governance/settings", tag = "governance",
    params(("tenant" = String, Path, description = T)), request_body = Settings,
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn put_settings(
    State(g): State<Gov>,
    p: Authorized<perm::GovernanceAdmin>,
    Path(tenant): Path<String>,
    Json(s): Json<Settings>,
) -> ApiResult<StatusCode> {
    g.put_settings(&p, &tenant, &s).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Event categories (Open311 services with their attributes).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/governance/services", tag = "governance",
    params(("tenant" = String, Path, description = T)), responses((status = 200, body = Vec<ServiceDef>)), security(("bearer" = [])))]
async fn list_services(
    State(g): State<Gov>,
    Auth(p): Auth,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<ServiceDef>>> {
    g.iam().tenant(&p, &tenant).await?;
    Ok(Json(g.services(&tenant).await?))
}

/// Create or replace a category.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/governance/services", tag = "governance",
    params(("tenant" = String, Path, description = T)), request_body = ServiceDef,
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn put_service(
    State(g): State<Gov>,
    p: Authorized<perm::GovernanceAdmin>,
    Path(tenant): Path<String>,
    Json(s): Json<ServiceDef>,
) -> ApiResult<StatusCode> {
    g.put_service(&p, &tenant, &s).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One entry of a GeoReport v2 service list.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GeoReportService {
    /// Code.
    pub service_code: String,
    /// Name.
    pub service_name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Type.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Keywords.
    #[serde(default)]
    pub keywords: Option<String>,
    /// Group.
    #[serde(default)]
    pub group: Option<String>,
}

/// Import categories from a GeoReport v2 `services.json` list (e.g. another city's).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/governance/services/import", tag = "governance",
    params(("tenant" = String, Path, description = T)), request_body = Vec<GeoReportService>,
    responses((status = 200, description = "`{imported}`"), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn import_services(
    State(g): State<Gov>,
    p: Authorized<perm::GovernanceAdmin>,
    Path(tenant): Path<String>,
    Json(list): Json<Vec<GeoReportService>>,
) -> ApiResult<Json<serde_json::Value>> {
    for s in &list {
        let def = ServiceDef {
            code: s.service_code.clone(),
            name: s.service_name.clone(),
            name_zh: None,
            description: s.description.clone(),
            keywords: s.keywords.clone(),
            group: s.group.clone(),
            kind: s.kind.clone(),
            deadline_working_days: None,
            attributes: vec![],
        };
        g.put_service(&p, &tenant, &def).await?;
    }
    Ok(Json(serde_json::json!({"imported": list.len()})))
}

/// Event list filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// `open` or `closed`.
    pub status: Option<String>,
    /// Category.
    pub service_code: Option<String>,
    /// Jurisdiction code.
    pub jurisdiction_code: Option<String>,
    /// Grid code.
    pub grid_code: Option<String>,
    /// Only events flagged near a border (or not).
    pub near_border: Option<bool>,
    /// Page size 1..500 (default 50).
    pub limit: Option<usize>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// A page of events.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventPage {
    /// Events, newest first.
    pub items: Vec<EventView>,
    /// Cursor of the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// Events of a tenant (newest first, cursor pagination).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/events", tag = "governance",
    params(("tenant" = String, Path, description = T), EventQuery),
    responses((status = 200, body = EventPage), (status = 400, body = Problem)), security(("bearer" = [])))]
async fn list_events(
    State(g): State<Gov>,
    Auth(p): Auth,
    Path(tenant): Path<String>,
    Query(q): Query<EventQuery>,
) -> ApiResult<Json<EventPage>> {
    let (items, next_cursor) = g
        .list_events(
            &p,
            &tenant,
            q.status.as_deref(),
            q.service_code.as_deref(),
            q.jurisdiction_code.as_deref(),
            q.grid_code.as_deref(),
            q.near_border,
            q.limit.unwrap_or(50),
            q.cursor.as_deref(),
        )
        .await?;
    Ok(Json(EventPage { items, next_cursor }))
}

/// Enter an event (staff, inspectors, hotline operators): placed, checked for duplicates,
/// dispatched by the rules, with a work order in the responsible department's inbox.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/events", tag = "governance",
    params(("tenant" = String, Path, description = T)), request_body = NewEvent,
    responses((status = 201, body = Created), (status = 403, body = Problem), (status = 404, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn create_event(
    State(g): State<Gov>,
    p: Authorized<perm::EventWrite>,
    Path(tenant): Path<String>,
    Json(n): Json<NewEvent>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    Ok((
        StatusCode::CREATED,
        Json(g.create_event(&p, &tenant, &n).await?),
    ))
}

/// One event.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/events/{id}", tag = "governance",
    params(("tenant" = String, Path, description = T), ("id" = Uuid, Path, description = "event id")),
    responses((status = 200, body = EventView), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn get_event(
    State(g): State<Gov>,
    Auth(p): Auth,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> ApiResult<Json<EventView>> {
    Ok(Json(g.event(&p, &tenant, id).await?))
}

/// The history of an event (creation, dispatches, merges, work-order steps, rating).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/events/{id}/history", tag = "governance",
    params(("tenant" = String, Path, description = T), ("id" = Uuid, Path, description = "event id")),
    responses((status = 200, description = "`[{seq, at, actor, kind, detail}]`"), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn event_history(
    State(g): State<Gov>,
    Auth(p): Auth,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> ApiResult<Json<Vec<serde_json::Value>>> {
    Ok(Json(g.history(&p, &tenant, id).await?))
}

/// Merge a duplicate into another event (the duplicate is closed).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/events/{id}/merge", tag = "governance",
    params(("tenant" = String, Path, description = T), ("id" = Uuid, Path, description = "event id")), request_body = MergeRequest,
    responses((status = 200, body = EventView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn merge_event(
    State(g): State<Gov>,
    p: Authorized<perm::EventWrite>,
    Path((tenant, id)): Path<(String, Uuid)>,
    Json(m): Json<MergeRequest>,
) -> ApiResult<Json<EventView>> {
    Ok(Json(g.merge(&p, &tenant, id, m.into).await?))
}

/// Re-dispatch an event (after a return, 退单) with a reason; co-handling departments optional.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/events/{id}/dispatch", tag = "governance",
    params(("tenant" = String, Path, description = T), ("id" = Uuid, Path, description = "event id")), request_body = DispatchRequest,
    responses((status = 200, body = EventView), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn dispatch_event(
    State(g): State<Gov>,
    p: Authorized<perm::EventWrite>,
    Path((tenant, id)): Path<(String, Uuid)>,
    Json(d): Json<DispatchRequest>,
) -> ApiResult<Json<EventView>> {
    Ok(Json(g.dispatch(&p, &tenant, id, &d).await?))
}

/// Ask for more working days before the deadline expires (延期申请).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/events/{id}/extension", tag = "governance",
    params(("tenant" = String, Path, description = T), ("id" = Uuid, Path, description = "event id")), request_body = ExtensionRequest,
    responses((status = 200, body = EventView), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn extend_event(
    State(g): State<Gov>,
    p: Authorized<perm::EventWrite>,
    Path((tenant, id)): Path<(String, Uuid)>,
    Json(r): Json<ExtensionRequest>,
) -> ApiResult<Json<EventView>> {
    Ok(Json(g.extend(&p, &tenant, id, &r).await?))
}

/// Rate a closed event (1..5).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/events/{id}/rating", tag = "governance",
    params(("tenant" = String, Path, description = T), ("id" = Uuid, Path, description = "event id")), request_body = RatingRequest,
    responses((status = 200, body = EventView), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn rate_event(
    State(g): State<Gov>,
    Auth(p): Auth,
    Path((tenant, id)): Path<(String, Uuid)>,
    Json(r): Json<RatingRequest>,
) -> ApiResult<Json<EventView>> {
    Ok(Json(g.rate(&p, &tenant, id, &r).await?))
}

/// Add a dispatch rule (category + area → department; priority where rules overlap).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/governance/rules", tag = "governance",
    params(("tenant" = String, Path, description = T)), request_body = NewRule,
    responses((status = 201, body = Rule), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn add_rule(
    State(g): State<Gov>,
    p: Authorized<perm::GovernanceAdmin>,
    Path(tenant): Path<String>,
    Json(r): Json<NewRule>,
) -> ApiResult<(StatusCode, Json<Rule>)> {
    Ok((
        StatusCode::CREATED,
        Json(g.add_rule(&p, &tenant, &r).await?),
    ))
}

/// Import historical requests from a NYC 311 CSV (body: the CSV, `text/csv`).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/governance/import/nyc311", tag = "governance",
    params(("tenant" = String, Path, description = T)), request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn import_nyc311(
    State(g): State<Gov>,
    p: Authorized<perm::GovernanceAdmin>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> ApiResult<Json<ImportReport>> {
    Ok(Json(g.import_nyc311(&p, &tenant, &body).await?))
}

/// Statistics by category, department, grid and month; hot spots.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/governance/stats", tag = "governance",
    params(("tenant" = String, Path, description = T), StatsQuery),
    responses((status = 200, body = Stats), (status = 400, body = Problem)), security(("bearer" = [])))]
async fn stats(
    State(g): State<Gov>,
    Auth(p): Auth,
    Path(tenant): Path<String>,
    Query(q): Query<StatsQuery>,
) -> ApiResult<Json<Stats>> {
    Ok(Json(g.stats(&p, &tenant, &q).await?))
}

/// Linkage plans (预案).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/governance/plans", tag = "governance",
    params(("tenant" = String, Path, description = T)), responses((status = 200, body = Vec<Plan>)), security(("bearer" = [])))]
async fn list_plans(
    State(g): State<Gov>,
    Auth(p): Auth,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<Plan>>> {
    Ok(Json(g.plans(&p, &tenant).await?))
}

/// Create or replace the plan of an alert type and level.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/governance/plans", tag = "governance",
    params(("tenant" = String, Path, description = T)), request_body = Plan,
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn put_plan(
    State(g): State<Gov>,
    p: Authorized<perm::GovernanceAdmin>,
    Path(tenant): Path<String>,
    Json(plan): Json<Plan>,
) -> ApiResult<StatusCode> {
    g.put_plan(&p, &tenant, &plan).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add an alert rule on twin data (entity type + numeric attribute + level thresholds).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/governance/alert-rules", tag = "governance",
    params(("tenant" = String, Path, description = T)), request_body = AlertRule,
    responses((status = 201, description = "`{id}`"), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn add_alert_rule(
    State(g): State<Gov>,
    p: Authorized<perm::GovernanceAdmin>,
    Path(tenant): Path<String>,
    Json(r): Json<AlertRule>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let id = g.add_alert_rule(&p, &tenant, &r).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"id": id}))))
}

/// Alerts of a tenant (newest first, at most 200).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/alerts", tag = "governance",
    params(("tenant" = String, Path, description = T)), responses((status = 200, body = Vec<AlertView>)), security(("bearer" = [])))]
async fn list_alerts(
    State(g): State<Gov>,
    Auth(p): Auth,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<AlertView>>> {
    Ok(Json(g.alerts(&p, &tenant).await?))
}

/// Consume a CAP 1.2 alert (body: the XML); its plan's tasks open as work orders.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/alerts", tag = "governance",
    params(("tenant" = String, Path, description = T)), request_body(content = String, content_type = "application/xml"),
    responses((status = 201, body = AlertView), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn post_cap(
    State(g): State<Gov>,
    p: Authorized<perm::EventWrite>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<AlertView>)> {
    let xml =
        std::str::from_utf8(&body).map_err(|_| Error::invalid("the CAP body is not UTF-8"))?;
    Ok((
        StatusCode::CREATED,
        Json(g.consume_cap(&p, &tenant, xml).await?),
    ))
}

/// An alert as CAP 1.2 XML (public: alerts are public warnings). Path: `{id}.cap.xml`.
#[utoipa::path(get, path = "/api/v1/alerts/{file}", tag = "governance",
    params(("file" = String, Path, description = "`{alert id}.cap.xml`")),
    responses((status = 200, description = "CAP 1.2 alert", content_type = "application/cap+xml"), (status = 404, body = Problem)))]
async fn cap_xml(State(g): State<Gov>, Path(file): Path<String>) -> ApiResult<Response> {
    let id = file
        .strip_suffix(".cap.xml")
        .and_then(|i| Uuid::parse_str(i).ok())
        .ok_or_else(|| crate::cap::not_found(&file))?;
    let xml = g.cap_xml(id).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/cap+xml; charset=utf-8")],
        xml,
    )
        .into_response())
}
