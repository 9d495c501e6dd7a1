//! onecity's own catalog API (`/api/v1/...`, RFC 9457 errors): harvesting, dataset
//! history and the three lists. Datasets themselves are read and written through the
//! CKAN Action API ([`crate::ckan`]).

use crate::harvest::{HarvestFormat, HarvestReport};
use crate::lists::*;
use crate::Catalog;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use onecity_core::Problem;
use onecity_http::{ApiResult, Json, Path, Query};
use onecity_iam::http::{perm, Auth, Authorized};
use serde::Deserialize;
use utoipa_axum::router::UtoipaMethodRouterExt;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

/// The router (state: [`Catalog`]).
pub fn routes() -> OpenApiRouter<Catalog> {
    OpenApiRouter::new()
        .routes(routes!(harvest).layer(axum::extract::DefaultBodyLimit::max(
            crate::harvest::MAX_INPUT,
        )))
        .routes(routes!(history))
        .routes(routes!(list_negatives, add_negative))
        .routes(routes!(list_demands, add_demand))
        .routes(routes!(list_responsibilities, add_responsibility))
}

/// Harvest parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HarvestParams {
    /// Department that will own the harvested datasets.
    pub owner_department_id: Uuid,
    /// `turtle`, `rdfxml`, `jsonld` or `ckan`.
    pub format: HarvestFormat,
}

/// Harvest a DCAT (Turtle, RDF/XML, JSON-LD) or CKAN (package_search JSON) catalogue from
/// the request body (≤ 10 MiB) into datasets of one department.
#[utoipa::path(post, path = "/api/v1/catalog/harvest", tag = "catalog", params(HarvestParams),
    request_body(content = String, description = "the catalogue document"),
    responses((status = 200, body = HarvestReport), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn harvest(
    State(c): State<Catalog>,
    p: Authorized<perm::CatalogWrite>,
    Query(q): Query<HarvestParams>,
    body: Bytes,
) -> ApiResult<Json<HarvestReport>> {
    Ok(Json(
        c.harvest(&p, q.owner_department_id, q.format, &body)
            .await?,
    ))
}

/// The change history of a dataset (id or name), newest first, with a snapshot per revision.
#[utoipa::path(get, path = "/api/v1/catalog/datasets/{id}/history", tag = "catalog",
    params(("id" = String, Path, description = "dataset id or name")),
    responses((status = 200, body = Vec<serde_json::Value>), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn history(
    State(c): State<Catalog>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<serde_json::Value>>> {
    Ok(Json(c.history(Some(&p), &id).await?))
}

const T: &str = "tenant code";

/// The negative list (负面清单) of a tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/catalog/negative-list", tag = "catalog",
    params(("tenant" = String, Path, description = T)),
    responses((status = 200, body = Vec<NegativeEntry>), (status = 403, body = Problem)), security(("bearer" = [])))]
async fn list_negatives(
    State(c): State<Catalog>,
    p: Authorized<perm::CatalogRead>,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<NegativeEntry>>> {
    c.iam.tenant(&p, &tenant).await?;
    Ok(Json(c.negatives(&p, &tenant).await?))
}

/// Put a dataset, or one of its fields, on the negative list (audited).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/catalog/negative-list", tag = "catalog",
    params(("tenant" = String, Path, description = T)), request_body = NewNegative,
    responses((status = 201, body = NegativeEntry), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn add_negative(
    State(c): State<Catalog>,
    p: Authorized<perm::CatalogWrite>,
    Path(tenant): Path<String>,
    Json(n): Json<NewNegative>,
) -> ApiResult<(StatusCode, Json<NegativeEntry>)> {
    c.iam.tenant(&p, &tenant).await?;
    let e = c.add_negative(&p, &n).await?;
    if e.tenant != tenant {
        return Err(onecity_core::Error::not_found(format!(
            "dataset {} does not exist",
            n.dataset
        ))
        .into());
    }
    Ok((StatusCode::CREATED, Json(e)))
}

/// The demand list (需求清单) of a tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/catalog/demands", tag = "catalog",
    params(("tenant" = String, Path, description = T)),
    responses((status = 200, body = Vec<Demand>), (status = 403, body = Problem)), security(("bearer" = [])))]
async fn list_demands(
    State(c): State<Catalog>,
    p: Authorized<perm::CatalogRead>,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<Demand>>> {
    c.iam.tenant(&p, &tenant).await?;
    Ok(Json(c.demands(&p, &tenant).await?))
}

/// Record a demand; it is matched to a dataset holding every field, or to the named
/// provider department.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/catalog/demands", tag = "catalog",
    params(("tenant" = String, Path, description = T)), request_body = NewDemand,
    responses((status = 201, body = Demand), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn add_demand(
    State(c): State<Catalog>,
    p: Authorized<perm::CatalogWrite>,
    Path(tenant): Path<String>,
    Json(n): Json<NewDemand>,
) -> ApiResult<(StatusCode, Json<Demand>)> {
    c.iam.tenant(&p, &tenant).await?;
    if c.owner_dept(n.requester_department_id).await?.tenant != tenant {
        return Err(
            onecity_core::Error::invalid("the requesting department is in another tenant").into(),
        );
    }
    Ok((StatusCode::CREATED, Json(c.add_demand(&p, &n).await?)))
}

/// The responsibility list (责任清单) of a tenant, with overdue flags from the last check.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/catalog/responsibilities", tag = "catalog",
    params(("tenant" = String, Path, description = T)),
    responses((status = 200, body = Vec<Responsibility>), (status = 403, body = Problem)), security(("bearer" = [])))]
async fn list_responsibilities(
    State(c): State<Catalog>,
    p: Authorized<perm::CatalogRead>,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<Responsibility>>> {
    c.iam.tenant(&p, &tenant).await?;
    Ok(Json(c.responsibilities(&p, &tenant).await?))
}

/// Add a responsibility entry with a freshness SLA.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/catalog/responsibilities", tag = "catalog",
    params(("tenant" = String, Path, description = T)), request_body = NewResponsibility,
    responses((status = 201, body = Responsibility), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn add_responsibility(
    State(c): State<Catalog>,
    p: Authorized<perm::CatalogWrite>,
    Path(tenant): Path<String>,
    Json(n): Json<NewResponsibility>,
) -> ApiResult<(StatusCode, Json<Responsibility>)> {
    c.iam.tenant(&p, &tenant).await?;
    if c.owner_dept(n.department_id).await?.tenant != tenant {
        return Err(onecity_core::Error::invalid("the department is in another tenant").into());
    }
    Ok((
        StatusCode::CREATED,
        Json(c.add_responsibility(&p, &n).await?),
    ))
}
