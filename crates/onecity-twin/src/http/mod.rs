//! The NGSI-LD HTTP API under `/ngsi-ld/v1` (GS CIM 009 §6): context information
//! provision and consumption, batch operations, discovery and the temporal API.
//!
//! The API is a standard one, described by ETSI's own OpenAPI document, so its routes are
//! a plain axum router and not repeated in `/api/openapi.json`. Errors are NGSI-LD problem
//! details (`application/json`, see [`crate::ld::error`]).
//!
//! Headers: `NGSILD-Tenant` selects the tenant; `Link: <url>; rel="http://www.w3.org/ns/json-ld#context"`
//! gives the `@context` of `application/json` requests (an `application/ld+json` body
//! carries it as `@context`); `Accept: application/ld+json` puts `@context` in the body of
//! answers, `application/geo+json` answers GeoJSON. Access: see [`access`].

pub mod access;
pub mod attributes;
pub mod batch;
pub mod discovery;
pub mod entities;
pub mod info;
pub mod ingest;
pub mod render;
pub mod request;
pub mod subscriptions;
pub mod temporal;
pub mod temporal_attrs;
pub mod temporal_query;

use crate::ld::error::{NgsiError, NgsiResult};
pub use crate::query::paging::{page_links, prev_next_links};
pub use crate::query::params::{
    build_query, check_id, check_pattern, check_projection, check_projections, check_query_scope,
    discovery_params, type_matches, view, Params, View, OPTIONS, QUERY_PARAMS,
};
use crate::service::notify::Notifier;
use crate::service::Twin;
use axum::extract::Request;
use axum::routing::{get, post};
use axum::Router;
use onecity_iam::Iam;

pub use access::{access, Tenant};
use attributes::{append_attrs, delete_attr, partial_attr, replace_attr, update_attrs};
use batch::{batch_create, batch_delete, batch_merge, batch_update, batch_upsert};
use discovery::{attribute_info, list_attributes, list_types, type_info};
use entities::{
    create_entity, delete_entity, get_entity, merge_entity, missing_entity_id, post_query,
    purge_entities, query_entities, replace_entity,
};
pub(crate) use render::respond;
pub use request::{negotiate, NgsiRequest};
pub(crate) use request::{Accept, RawBody};

/// State of the NGSI-LD router.
#[derive(Clone)]
pub struct TwinState {
    /// The service.
    pub twin: Twin,
    /// `ngsi_ld_open`: no credentials needed (the conformance suite sends none).
    pub open: bool,
}

impl axum::extract::FromRef<TwinState> for Iam {
    fn from_ref(s: &TwinState) -> Iam {
        s.twin.iam().clone()
    }
}

/// The one router of the NGSI-LD API, to be nested at `/ngsi-ld/v1`: entities, batch
/// operations, discovery, the temporal API, subscriptions and `/ext/` routes behind the
/// [`access`] middleware, its own fallback (404 ResourceNotFound) and content negotiation
/// ([`negotiate`]) on every answer. `max_body` is the NGSI-LD body limit in bytes.
pub fn router(state: TwinState, notifier: Notifier, max_body: usize) -> Router {
    info::mark_started();
    Router::new()
        .route(
            "/entities",
            post(create_entity)
                .get(query_entities)
                .delete(purge_entities)
                .put(missing_entity_id)
                .patch(missing_entity_id),
        )
        .route(
            "/entities/{id}",
            get(get_entity)
                .put(replace_entity)
                .patch(merge_entity)
                .delete(delete_entity),
        )
        .route(
            "/entities/{id}/attrs",
            post(append_attrs).patch(update_attrs),
        )
        .route(
            "/entities/{id}/attrs/{attr}",
            axum::routing::patch(partial_attr)
                .put(replace_attr)
                .delete(delete_attr),
        )
        .route("/entityOperations/create", post(batch_create))
        .route("/entityOperations/upsert", post(batch_upsert))
        .route("/entityOperations/update", post(batch_update))
        .route("/entityOperations/delete", post(batch_delete))
        .route("/entityOperations/merge", post(batch_merge))
        .route("/entityOperations/query", post(post_query))
        .route("/types", get(list_types))
        .route("/types/{type}", get(type_info))
        .route("/attributes", get(list_attributes))
        .route("/attributes/{attr}", get(attribute_info))
        .route("/info/sourceIdentity", get(info::source_identity))
        .route(
            "/temporal/entities",
            get(temporal::query_temporal).post(temporal::post_temporal),
        )
        .route(
            "/temporal/entities/{id}",
            get(temporal::get_temporal).delete(temporal::delete_temporal),
        )
        .route(
            "/temporal/entities/{id}/attrs",
            post(temporal::append_temporal_attrs),
        )
        .route(
            "/temporal/entities/{id}/attrs/{attr}",
            axum::routing::delete(temporal_attrs::delete_attr),
        )
        .route(
            "/temporal/entities/{id}/attrs/{attr}/{instance}",
            axum::routing::patch(temporal_attrs::patch_instance)
                .delete(temporal_attrs::delete_instance),
        )
        .route(
            "/temporal/entityOperations/query",
            post(temporal_query::post_temporal_query),
        )
        .route(
            "/ext/retention/{type}",
            get(temporal::get_retention)
                .put(temporal::put_retention)
                .delete(temporal::delete_retention),
        )
        .route("/ext/ingest", post(ingest::ingest_http))
        .merge(subscriptions::routes(state.clone(), notifier))
        .layer(axum::middleware::from_fn_with_state(
            (state.clone(), max_body),
            access,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .with_state(state)
        .fallback(not_found)
        .layer(axum::middleware::from_fn(negotiate))
}

/// Parses `limit` and `offset` with the twin's default and maximum (see
/// [`crate::query::params::paging`]).
pub fn paging(p: &Params, twin: &Twin) -> NgsiResult<(usize, usize)> {
    let cfg = twin.config();
    crate::query::params::paging(p, cfg.default_limit, cfg.max_limit)
}

/// Strips one or more trailing `/` from an NGSI-LD request path (`/ngsi-ld/…/`), keeping
/// the query string: `POST /ngsi-ld/v1/entities/` is `POST /ngsi-ld/v1/entities`, as the
/// ETSI conformance suite and clients such as ngsildclient send it (GS CIM 009 §6 names the
/// resources without a trailing slash; they are the same resource). Other paths, and a
/// path that is nothing but slashes after the prefix, are returned unchanged.
pub fn strip_trailing_slash(mut req: Request) -> Request {
    let uri = req.uri();
    let path = uri.path();
    if !path.starts_with("/ngsi-ld/") || !path.ends_with('/') {
        return req;
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.len() <= "/ngsi-ld".len() {
        return req;
    }
    let pq = match uri.query() {
        Some(q) => format!("{trimmed}?{q}"),
        None => trimmed.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(v) = pq.parse() {
        parts.path_and_query = Some(v);
        if let Ok(u) = axum::http::Uri::from_parts(parts) {
            *req.uri_mut() = u;
        }
    }
    req
}

/// The answer to a path under `/ngsi-ld/` that names no NGSI-LD resource: 404 with the
/// NGSI-LD problem type `ResourceNotFound` (GS CIM 009 §5.5.2, §6.3.2), not onecity's own
/// `route_not_found`, so that NGSI-LD clients can map it.
pub async fn not_found(uri: axum::http::Uri) -> NgsiError {
    NgsiError::not_found(format!("no NGSI-LD resource at {}", uri.path()))
}
