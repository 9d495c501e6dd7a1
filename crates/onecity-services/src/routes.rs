//! HTTP API of the service hall under `/api/v1/tenants/{tenant}/services/…` (and the
//! public `/api/v1/services/tenants`). Thin handlers over [`Hall`]'s methods.
//!
//! Reads of published items, their history and guides need no login; a caller who sends
//! a credential is authenticated (a bad one is 401, never silently anonymous) so that
//! editors can read drafts. Writes need `service_admin` (`Authorized<perm::ServiceAdmin>`),
//! and the service checks it over the owner department's jurisdiction.

use crate::guide::{Guide, GuideOptions};
use crate::item::*;
use crate::Hall;
use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use onecity_core::page::Page;
use onecity_core::{Error, ErrorCode, Problem};
use onecity_http::{ApiError, ApiResult, Json, Path, Query};
use onecity_iam::http::{perm, Authorized};
use onecity_iam::{Iam, Principal};
use serde::Deserialize;
use std::sync::Arc;
use utoipa_axum::{router::OpenApiRouter, routes};

impl FromRef<Hall> for Iam {
    fn from_ref(h: &Hall) -> Iam {
        h.iam.clone()
    }
}

/// The router of the service hall's API.
pub fn routes() -> OpenApiRouter<Hall> {
    OpenApiRouter::new()
        .routes(routes!(hall_tenants))
        .routes(routes!(browse))
        .routes(routes!(list_items, create_item))
        .routes(routes!(get_item, update_item))
        .routes(routes!(publish_item))
        .routes(routes!(withdraw_item))
        .routes(routes!(item_history))
        .routes(routes!(item_guide))
        .merge(crate::assistant::http::routes())
        .merge(crate::forms::http::routes())
}

/// The caller if it sent a credential, else anonymous (public reads).
pub struct Viewer(pub Option<Arc<Principal>>);

impl<S> FromRequestParts<S> for Viewer
where
    Iam: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match onecity_iam::http::credential(&parts.headers).filter(|c| !c.is_empty()) {
            None => Ok(Viewer(None)),
            Some(c) => Ok(Viewer(Some(Iam::from_ref(state).authenticate(c).await?))),
        }
    }
}

const T: &str = "tenant code";
const C: &str = "item code, e.g. 330100-20-WJW-001-000";

/// The tenants that have a public service hall (published items).
#[utoipa::path(get, path = "/api/v1/services/tenants", tag = "services",
    responses((status = 200, body = Vec<HallTenant>)))]
async fn hall_tenants(State(h): State<Hall>) -> ApiResult<Json<Vec<HallTenant>>> {
    Ok(Json(h.hall_tenants().await?))
}

/// Browse the hall: published items counted by department, life event and target.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/services/browse", tag = "services",
    params(("tenant" = String, Path, description = T)),
    responses((status = 200, body = Browse), (status = 404, body = Problem)))]
async fn browse(State(h): State<Hall>, Path(tenant): Path<String>) -> ApiResult<Json<Browse>> {
    Ok(Json(h.browse(&tenant).await?))
}

/// List service items (事项) with plain filters: the published version of each public
/// item; `drafts=true` lists every item's newest version (`service_admin` over the tenant).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/services/items", tag = "services",
    params(("tenant" = String, Path, description = T), ItemQuery),
    responses((status = 200, body = Page<ItemSummary>), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_items(
    State(h): State<Hall>,
    Viewer(v): Viewer,
    Path(tenant): Path<String>,
    Query(q): Query<ItemQuery>,
) -> ApiResult<Json<Page<ItemSummary>>> {
    Ok(Json(h.list_items(v.as_deref(), &tenant, &q).await?))
}

/// Create a service item: version 1, a draft. 422 `invalid_input` lists every problem in
/// `errors: [{pointer, message, message_zh}]`.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/services/items", tag = "services",
    params(("tenant" = String, Path, description = T)), request_body = ItemBody,
    responses((status = 201, body = Item), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_item(
    State(h): State<Hall>,
    p: Authorized<perm::ServiceAdmin>,
    Path(tenant): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> ApiResult<(StatusCode, Json<Item>)> {
    Ok((
        StatusCode::CREATED,
        Json(h.create_item(&p, &tenant, &body).await?),
    ))
}

/// `version`: `published` (default), `latest` or a number.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VersionParam {
    /// `published` (default), `latest` (editors) or a version number.
    pub version: Option<String>,
}

/// A service item: its published version, or `?version=` (drafts for editors only).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/services/items/{code}", tag = "services",
    params(("tenant" = String, Path, description = T), ("code" = String, Path, description = C), VersionParam),
    responses((status = 200, body = Item), (status = 404, body = Problem)))]
async fn get_item(
    State(h): State<Hall>,
    Viewer(v): Viewer,
    Path((tenant, code)): Path<(String, String)>,
    Query(q): Query<VersionParam>,
) -> ApiResult<Json<Item>> {
    let sel = VersionSel::parse(q.version.as_deref())?;
    Ok(Json(h.item(v.as_deref(), &tenant, &code, sel).await?))
}

/// Optimistic concurrency for an edit.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BaseVersion {
    /// The newest version the editor started from; 409 when another edit came first.
    pub base_version: Option<i64>,
}

/// Edit a service item: writes the next version (the published one stays public until
/// the new one is published).
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/services/items/{code}", tag = "services",
    params(("tenant" = String, Path, description = T), ("code" = String, Path, description = C), BaseVersion),
    request_body = ItemBody,
    responses((status = 200, body = Item), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn update_item(
    State(h): State<Hall>,
    p: Authorized<perm::ServiceAdmin>,
    Path((tenant, code)): Path<(String, String)>,
    Query(q): Query<BaseVersion>,
    Json(body): Json<serde_json::Value>,
) -> ApiResult<Json<Item>> {
    Ok(Json(
        h.update_item(&p, &tenant, &code, &body, q.base_version)
            .await?,
    ))
}

/// Which version to publish.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    /// Version to publish (default: the newest).
    pub version: Option<i64>,
}

/// Publish a version of a service item (default: the newest).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/services/items/{code}/publish", tag = "services",
    params(("tenant" = String, Path, description = T), ("code" = String, Path, description = C)),
    request_body = PublishBody,
    responses((status = 200, body = Item), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn publish_item(
    State(h): State<Hall>,
    p: Authorized<perm::ServiceAdmin>,
    Path((tenant, code)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Item>> {
    let version = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<PublishBody>(&body)
            .map_err(|e| {
                let code = if e.is_syntax() || e.is_eof() {
                    ErrorCode::MalformedBody
                } else {
                    ErrorCode::InvalidInput
                };
                Error::new(code, format!("the body is not valid: {e}"))
            })?
            .version
    };
    let item = h.publish_item(&p, &tenant, &code, version).await?;
    // The assistant answers from the new version at once on this node.
    h.reindex_guides(&tenant).await?;
    Ok(Json(item))
}

/// Withdraw a service item from the hall.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/services/items/{code}/withdraw", tag = "services",
    params(("tenant" = String, Path, description = T), ("code" = String, Path, description = C)),
    responses((status = 200, body = Item), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn withdraw_item(
    State(h): State<Hall>,
    p: Authorized<perm::ServiceAdmin>,
    Path((tenant, code)): Path<(String, String)>,
) -> ApiResult<Json<Item>> {
    let item = h.withdraw_item(&p, &tenant, &code).await?;
    // The assistant stops answering with a withdrawn guide at once on this node.
    h.reindex_guides(&tenant).await?;
    Ok(Json(item))
}

/// The versions of a service item, newest first (published ones for the public, all for
/// editors).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/services/items/{code}/history", tag = "services",
    params(("tenant" = String, Path, description = T), ("code" = String, Path, description = C)),
    responses((status = 200, body = Vec<ItemVersion>), (status = 404, body = Problem)))]
async fn item_history(
    State(h): State<Hall>,
    Viewer(v): Viewer,
    Path((tenant, code)): Path<(String, String)>,
) -> ApiResult<Json<Vec<ItemVersion>>> {
    Ok(Json(h.item_history(v.as_deref(), &tenant, &code).await?))
}

/// Guide parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GuideParams {
    /// `zh` (default) or `en`.
    pub lang: Option<String>,
    /// `published` (default), `latest` (editors) or a version number.
    pub version: Option<String>,
    /// Count the time limits from this day (`YYYY-MM-DD`; default: now).
    pub applied_on: Option<String>,
}

/// The guide (办事指南) of a service item in Chinese or English, with its time limits
/// counted on the item's working-day calendar.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/services/items/{code}/guide", tag = "services",
    params(("tenant" = String, Path, description = T), ("code" = String, Path, description = C), GuideParams),
    responses((status = 200, body = Guide), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn item_guide(
    State(h): State<Hall>,
    Viewer(v): Viewer,
    Path((tenant, code)): Path<(String, String)>,
    Query(q): Query<GuideParams>,
) -> ApiResult<Json<Guide>> {
    let lang = match q.lang.as_deref() {
        None | Some("") | Some("zh") => Lang::Zh,
        Some("en") => Lang::En,
        Some(other) => {
            return Err(Error::new(
                ErrorCode::InvalidQuery,
                format!("lang must be zh or en, got {other:?}"),
            )
            .into())
        }
    };
    let opts = GuideOptions {
        lang,
        version: VersionSel::parse(q.version.as_deref())?,
        applied_on: match q.applied_on.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(s.parse::<chrono::NaiveDate>().map_err(|_| {
                Error::new(
                    ErrorCode::InvalidQuery,
                    format!("applied_on must be a date YYYY-MM-DD, got {s:?}"),
                )
            })?),
        },
    };
    Ok(Json(h.guide(v.as_deref(), &tenant, &code, opts).await?))
}
