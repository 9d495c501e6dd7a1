//! HTTP routes of the geography API (`/api/v1/tenants/{tenant}/…`).

use crate::{Geo, GridImportOptions, GridSpec, ImportOptions, ImportReport, LookupResult};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use onecity_core::Problem;
use onecity_http::{ApiResult, Json, Path, Query};
use onecity_iam::http::{perm, Authorized};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;
use uuid::Uuid;

/// Largest GeoJSON body an import accepts (64 MiB).
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

/// The router of this module (state: [`Geo`]).
pub fn routes() -> OpenApiRouter<Geo> {
    OpenApiRouter::new()
        .routes(routes!(lookup))
        .routes(routes!(boundaries))
        .routes(routes!(grids))
        .routes(routes!(import_boundaries).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)))
        .routes(routes!(generate_grids))
        .routes(routes!(import_grids).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)))
}

/// A point.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// Longitude, WGS-84 degrees, [-180, 180].
    #[param(minimum = -180, maximum = 180)]
    pub lon: f64,
    /// Latitude, WGS-84 degrees, [-90, 90].
    #[param(minimum = -90, maximum = 90)]
    pub lat: f64,
}

/// Which jurisdictions (root first) and which grid contain a point.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/lookup", tag = "geo",
    params(("tenant" = String, Path, description = "tenant code"), LookupQuery),
    responses((status = 200, body = LookupResult), (status = 400, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn lookup(
    State(geo): State<Geo>,
    p: Authorized<perm::GeoRead>,
    Path(tenant): Path<String>,
    Query(q): Query<LookupQuery>,
) -> ApiResult<Json<LookupResult>> {
    Ok(Json(geo.lookup(&p, &tenant, q.lon, q.lat).await?))
}

/// Output options of boundaries.geojson.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BoundaryQuery {
    /// Only this level.
    pub level: Option<String>,
    /// Simplification tolerance in degrees, 0..=0.1 (default 0.0001 ≈ 11 m; 0 = as stored).
    #[param(minimum = 0, maximum = 0.1)]
    pub simplify: Option<f64>,
}

fn geojson_response(v: serde_json::Value) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/geo+json")],
        v.to_string(),
    )
}

/// Boundaries the caller may read, as a GeoJSON FeatureCollection (RFC 7946).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/boundaries.geojson", tag = "geo",
    params(("tenant" = String, Path, description = "tenant code"), BoundaryQuery),
    responses((status = 200, description = "GeoJSON FeatureCollection", content_type = "application/geo+json", body = Object), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn boundaries(
    State(geo): State<Geo>,
    p: Authorized<perm::GeoRead>,
    Path(tenant): Path<String>,
    Query(q): Query<BoundaryQuery>,
) -> ApiResult<impl IntoResponse> {
    let tol = q.simplify.unwrap_or(0.0001);
    if !(0.0..=0.1).contains(&tol) {
        return Err(onecity_core::Error::new(
            onecity_core::ErrorCode::InvalidQuery,
            "simplify must be between 0 and 0.1",
        )
        .into());
    }
    Ok(geojson_response(
        geo.boundaries_geojson(&p, &tenant, q.level.as_deref(), tol)
            .await?,
    ))
}

/// Filter of grids.geojson.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GridQuery {
    /// Only grids of this jurisdiction.
    pub jurisdiction_id: Option<Uuid>,
}

/// Grids the caller may read, as a GeoJSON FeatureCollection (at most 20,000).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/grids.geojson", tag = "geo",
    params(("tenant" = String, Path, description = "tenant code"), GridQuery),
    responses((status = 200, description = "GeoJSON FeatureCollection", content_type = "application/geo+json", body = Object), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn grids(
    State(geo): State<Geo>,
    p: Authorized<perm::GeoRead>,
    Path(tenant): Path<String>,
    Query(q): Query<GridQuery>,
) -> ApiResult<impl IntoResponse> {
    Ok(geojson_response(
        geo.grids_geojson(&p, &tenant, q.jurisdiction_id).await?,
    ))
}

/// Import a GeoJSON FeatureCollection of boundaries (all or nothing; up to 64 MiB and
/// 10,000 features). Invalid geometry (open rings, self-intersections, latitudes beyond
/// ±90) gives 422 `invalid_geometry` with an `errors` list.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/boundaries/import", tag = "geo",
    params(("tenant" = String, Path, description = "tenant code"), ImportOptions),
    request_body(content = Object, description = "GeoJSON FeatureCollection", content_type = "application/json"),
    responses((status = 200, body = ImportReport), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn import_boundaries(
    State(geo): State<Geo>,
    p: Authorized<perm::GeoWrite>,
    Path(tenant): Path<String>,
    Query(o): Query<ImportOptions>,
    Json(fc): Json<serde_json::Value>,
) -> ApiResult<Json<ImportReport>> {
    Ok(Json(geo.import(&p, &tenant, &fc, &o).await?))
}

/// How many grid cells were generated.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GridsGenerated {
    /// Cells made.
    pub cells: usize,
}

/// Replace a jurisdiction's generated grids with square cells clipped to its boundary.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/jurisdictions/{id}/grids/generate", tag = "geo",
    params(("tenant" = String, Path, description = "tenant code"), ("id" = Uuid, Path, description = "jurisdiction id")),
    request_body = GridSpec,
    responses((status = 201, body = GridsGenerated), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn generate_grids(
    State(geo): State<Geo>,
    p: Authorized<perm::GeoWrite>,
    Path((tenant, id)): Path<(String, Uuid)>,
    Json(spec): Json<GridSpec>,
) -> ApiResult<(StatusCode, Json<GridsGenerated>)> {
    let cells = geo.generate_grids(&p, &tenant, id, &spec).await?;
    Ok((StatusCode::CREATED, Json(GridsGenerated { cells })))
}

/// Import surveyed grids from a GeoJSON FeatureCollection (all or nothing; up to 64 MiB
/// and 10,000 features); each grid goes under the jurisdiction its
/// `jurisdiction_code` names or, when absent, the one containing it.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/grids/import", tag = "geo",
    params(("tenant" = String, Path, description = "tenant code"), GridImportOptions),
    request_body(content = Object, description = "GeoJSON FeatureCollection", content_type = "application/json"),
    responses((status = 200, body = ImportReport), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn import_grids(
    State(geo): State<Geo>,
    p: Authorized<perm::GeoWrite>,
    Path(tenant): Path<String>,
    Query(o): Query<GridImportOptions>,
    Json(fc): Json<serde_json::Value>,
) -> ApiResult<Json<ImportReport>> {
    Ok(Json(geo.import_grids(&p, &tenant, &fc, &o).await?))
}
