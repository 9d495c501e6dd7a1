//! The NGSI-LD HTTP API under `/ngsi-ld/v1` (GS CIM 009 §6): context information
//! provision and consumption, batch operations, discovery and the temporal API.
//!
//! The API is a standard one, described by ETSI's own OpenAPI document, so its routes are
//! a plain axum router and not repeated in `/api/openapi.json`. Errors are NGSI-LD problem
//! details (`application/json`, see [`crate::error`]).
//!
//! Headers: `NGSILD-Tenant` selects the tenant; `Link: <url>; rel="http://www.w3.org/ns/json-ld#context"`
//! gives the `@context` of `application/json` requests (an `application/ld+json` body
//! carries it as `@context`); `Accept: application/ld+json` puts `@context` in the body of
//! answers, `application/geo+json` answers GeoJSON. Access: see [`access`].

use crate::context::Context;
use crate::error::{NgsiError, NgsiResult, ProblemKind};
use crate::join::{Join, JoinKind, Linker, Projection};
use crate::model::{self, Entity, Format, RenderOpts};
use crate::provision;
use crate::service::{self, EntityOp, Query, Twin, UpdateReport};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use onecity_iam::{Iam, Permission};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

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

/// The router, to be nested at `/ngsi-ld/v1`. `max_body` is the NGSI-LD body limit in bytes.
pub fn router(state: TwinState, max_body: usize) -> Router {
    crate::info::mark_started();
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
        .route("/info/sourceIdentity", get(crate::info::source_identity))
        .route(
            "/temporal/entities",
            get(crate::temporal::query_temporal).post(crate::temporal::post_temporal),
        )
        .route(
            "/temporal/entities/{id}",
            get(crate::temporal::get_temporal).delete(crate::temporal::delete_temporal),
        )
        .route(
            "/temporal/entities/{id}/attrs",
            post(crate::temporal::append_temporal_attrs),
        )
        .route(
            "/temporal/entities/{id}/attrs/{attr}",
            axum::routing::delete(crate::temporal_attrs::delete_attr),
        )
        .route(
            "/temporal/entities/{id}/attrs/{attr}/{instance}",
            axum::routing::patch(crate::temporal_attrs::patch_instance)
                .delete(crate::temporal_attrs::delete_instance),
        )
        .route(
            "/temporal/entityOperations/query",
            post(crate::temporal_query::post_temporal_query),
        )
        .route(
            "/ext/retention/{type}",
            get(crate::temporal::get_retention)
                .put(crate::temporal::put_retention)
                .delete(crate::temporal::delete_retention),
        )
        .layer(axum::middleware::from_fn_with_state(
            (state.clone(), max_body),
            access,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .with_state(state)
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

/// The query parameters of the NGSI-LD API (GS CIM 009 §6.3 to §6.31); any other one is
/// 400 InvalidRequest (§6.3.20). Routes under `/ext/` (onecity's own) are not checked.
pub const QUERY_PARAMS: &[&str] = &[
    "type",
    "id",
    "idPattern",
    "attrs",
    "q",
    "georel",
    "geometry",
    "coordinates",
    "geoproperty",
    "geometryProperty",
    "csf",
    "limit",
    "offset",
    "count",
    "options",
    "format",
    "lang",
    "pick",
    "omit",
    "scopeQ",
    "join",
    "joinLevel",
    "containedBy",
    "datasetId",
    "deleteAll",
    "entityMap",
    "local",
    "via",
    "details",
    "timerel",
    "timeAt",
    "endTimeAt",
    "timeproperty",
    "lastN",
    "aggrMethods",
    "aggrPeriodDuration",
    "keep",
    "drop",
    "orderBy",
    "orderFrom",
    "collation",
    "expandValues",
    "jsonKeys",
    "observedAt",
    "temporalQ",
];

/// The query parameters of the discovery routes (GS CIM 009 §6.25 to §6.28, §6.3.20):
/// `/types` and `/attributes` take `details`, `local` and `via`; `/types/{type}` and
/// `/attributes/{attr}` only `local` and `via`. `None` for other paths.
pub fn discovery_params(path: &str) -> Option<&'static [&'static str]> {
    let path = path.trim_end_matches('/');
    let rest = path.split_once("/ngsi-ld/v1/").map_or(path, |(_, r)| r);
    let mut parts = rest.trim_start_matches('/').split('/');
    let head = parts.next()?;
    if head != "types" && head != "attributes" {
        return None;
    }
    Some(match parts.next() {
        None => &["details", "local", "via"],
        Some(_) => &["local", "via"],
    })
}

/// The values of `options` and `format` (GS CIM 009 §6.3.7, §6.3.12, §6.3.13, §6.31):
/// representations, `sysAttrs`, `noOverwrite`, and `update`/`replace` of batch upsert.
/// Any other value is 400 InvalidRequest (as an undefined parameter, §6.3.20).
pub const OPTIONS: &[&str] = &[
    "normalized",
    "keyValues",
    "simplified",
    "concise",
    "sysAttrs",
    "noOverwrite",
    "temporalValues",
    "aggregatedValues",
    "update",
    "replace",
];

/// Access control: with `ngsi_ld_open` every request passes. Otherwise the caller sends a
/// platform token or an app key (`Authorization: Bearer …` or `X-Api-Key`) holding
/// `twin:read` (GET, HEAD, `POST /entityOperations/query`) or `twin:write` (other writes)
/// through a grant for the NGSI-LD tenant: deployment-level grants cover every tenant;
/// a tenant's grants cover the NGSI-LD tenant of the same code. Without `NGSILD-Tenant`,
/// a tenant-bound caller works in its home tenant and a deployment-level caller in the
/// default tenant. Errors: 401 Unauthorized, 403 Forbidden.
///
/// The `NGSILD-Tenant` of the request is echoed in the response, errors included
/// (GS CIM 009 §6.3.14).
pub async fn access(State(s): State<(TwinState, usize)>, req: Request, next: Next) -> Response {
    let echo = req.headers().get("ngsild-tenant").cloned();
    let standard = !req.uri().path().contains("/ext/");
    // §6.3.4: a request with a body names its length; chunked bodies are refused with a
    // bare 411 before anything else is looked at (the tenant included).
    if standard
        && matches!(*req.method(), Method::POST | Method::PATCH | Method::PUT)
        && !req
            .headers()
            .contains_key(axum::http::header::CONTENT_LENGTH)
    {
        return StatusCode::LENGTH_REQUIRED.into_response();
    }
    if standard {
        if let Some(raw) = req.uri().query() {
            let p = Params::parse(Some(raw));
            let bad_opt = p
                .list("options")
                .into_iter()
                .chain(p.get("format").map(str::to_string))
                .find(|o| !OPTIONS.contains(&o.as_str()));
            if let Some(o) = bad_opt {
                let mut r = NgsiError::invalid(format!(
                    "{o:?} is not an NGSI-LD option or format (one of {})",
                    OPTIONS.join(", ")
                ))
                .into_response();
                if let Some(v) = echo {
                    r.headers_mut().insert("ngsild-tenant", v);
                }
                return r;
            }
            let allowed = discovery_params(req.uri().path());
            if let Some(k) = p.0.keys().find(|k| {
                !QUERY_PARAMS.contains(&k.as_str())
                    || allowed.is_some_and(|a| !a.contains(&k.as_str()))
            }) {
                let mut r = NgsiError::invalid(format!(
                    "query parameter {k:?} is not defined by NGSI-LD for this broker (GS CIM 009 §6.3.20)"
                ))
                .into_response();
                if let Some(v) = echo {
                    r.headers_mut().insert("ngsild-tenant", v);
                }
                return r;
            }
        }
    }
    let mut resp = access_checked(s, req, next).await;
    if let Some(v) = echo {
        resp.headers_mut().insert("ngsild-tenant", v);
    }
    resp
}

async fn access_checked(
    (st, max_body): (TwinState, usize),
    mut req: Request,
    next: Next,
) -> Response {
    let header_tenant = req
        .headers()
        .get("ngsild-tenant")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(t) = &header_tenant {
        if t.is_empty()
            || t.len() > 64
            || !t
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/'))
        {
            return NgsiError::bad_data(
                "NGSILD-Tenant must be 1-64 characters of letters, digits, _ - . : /",
            )
            .into_response();
        }
    }
    let req_path = req.uri().path().to_string();
    let nonexistent = |method: &Method, t: Option<&String>| -> Option<Response> {
        let t = t?;
        let identity = req_path.ends_with("/info/sourceIdentity");
        (method == Method::GET && !identity && !st.twin.has_tenant(t)).then(|| {
            NgsiError::new(
                ProblemKind::NonexistentTenant,
                format!("NGSI-LD tenant {t:?} holds nothing"),
            )
            .into_response()
        })
    };
    if st.open {
        if let Some(r) = nonexistent(req.method(), header_tenant.as_ref()) {
            return r;
        }
        req.extensions_mut()
            .insert(Tenant(header_tenant.unwrap_or_default(), None));
        return next.run(req).await;
    }
    let Some(cred) = onecity_iam::http::credential(req.headers()) else {
        return NgsiError::new(
            ProblemKind::Unauthorized,
            "send Authorization: Bearer <token or app key> (or enable ngsi_ld_open)",
        )
        .into_response();
    };
    let p = match st.twin.iam().authenticate(cred).await {
        Ok(p) => p,
        Err(e) => return NgsiError::from(e).into_response(),
    };
    let write = !(req.method() == Method::GET
        || req.method() == Method::HEAD
        || req.uri().path().ends_with("/entityOperations/query"));
    let perm = if write {
        Permission::TwinWrite
    } else {
        Permission::TwinRead
    };
    let named = header_tenant.is_some();
    let tenant = header_tenant.unwrap_or_else(|| p.tenant.clone().unwrap_or_default());
    let grants: Vec<&onecity_iam::Grant> = p
        .grants
        .iter()
        .filter(|g| {
            g.permissions.contains(&perm)
                && match &g.tenant {
                    None => true,
                    Some(t) => *t == tenant,
                }
        })
        .collect();
    if grants.is_empty() {
        return NgsiError::new(
            ProblemKind::Forbidden,
            format!("you lack {} for NGSI-LD tenant {:?}", perm.scope(), tenant),
        )
        .into_response();
    }
    let limit: Option<Arc<Vec<String>>> = if grants.iter().any(|g| g.twin_types.is_none()) {
        None
    } else {
        Some(Arc::new(
            grants
                .iter()
                .flat_map(|g| g.twin_types.iter().flatten().cloned())
                .collect(),
        ))
    };
    if named {
        if let Some(r) = nonexistent(req.method(), Some(&tenant)) {
            return r;
        }
    }
    if let Some(l) = &limit {
        match check_types(&st, &tenant, l, write, req, max_body).await {
            Ok(r) => req = r,
            Err(e) => return e.into_response(),
        }
    }
    req.extensions_mut().insert(Tenant(tenant, limit));
    next.run(req).await
}

/// Whether an entity type IRI (or a short name) is one the limit names: equal, or ending
/// with `/<name>`, `#<name>` or `:<name>`.
pub fn type_matches(limit: &[String], ty: &str) -> bool {
    limit.iter().any(|t| {
        ty == t
            || ty
                .strip_suffix(t.as_str())
                .is_some_and(|head| head.ends_with(['/', '#', ':']))
    })
}

/// For callers limited to some entity types: entities addressed by id must be of those
/// types (else 404, as if absent); entities in write bodies must be of those types (else
/// 403). The body is buffered (up to the NGSI-LD limit) and handed on unchanged.
async fn check_types(
    st: &TwinState,
    tenant: &str,
    limit: &[String],
    write: bool,
    req: Request,
    max_body: usize,
) -> NgsiResult<Request> {
    let path = req.uri().path().to_string();
    let tail = path
        .strip_prefix("/entities/")
        .or_else(|| path.strip_prefix("/temporal/entities/"));
    if let Some(rest) = tail {
        let raw = rest.split('/').next().unwrap_or("");
        let id = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
        if let Some(e) = st.twin.get(tenant, &id) {
            if !e.types.iter().any(|t| type_matches(limit, t)) {
                return Err(NgsiError::not_found(format!("entity {id} does not exist")));
            }
        }
    }
    if !write || req.method() == Method::DELETE {
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, max_body).await.map_err(|_| {
        NgsiError::new(
            ProblemKind::PayloadTooLarge,
            "the body is larger than the configured NGSI-LD limit",
        )
    })?;
    if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
        let items: Vec<&Value> = match &v {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for it in items {
            match it {
                Value::String(id) if path.ends_with("/entityOperations/delete") => {
                    if let Some(e) = st.twin.get(tenant, id) {
                        if !e.types.iter().any(|t| type_matches(limit, t)) {
                            return Err(NgsiError::new(
                                ProblemKind::Forbidden,
                                format!("your credentials do not cover the type of entity {id}"),
                            ));
                        }
                    }
                }
                Value::Object(m) => {
                    let types: Vec<&str> = match m.get("type") {
                        Some(Value::String(t)) => vec![t.as_str()],
                        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                        _ => vec![],
                    };
                    if let Some(t) = types.iter().find(|t| !type_matches(limit, t)) {
                        return Err(NgsiError::new(
                            ProblemKind::Forbidden,
                            format!("your credentials do not cover entity type {t}"),
                        ));
                    }
                    if let Some(id) = m.get("id").and_then(Value::as_str) {
                        if let Some(e) = st.twin.get(tenant, id) {
                            if !e.types.iter().any(|t| type_matches(limit, t)) {
                                return Err(NgsiError::new(
                                    ProblemKind::Forbidden,
                                    format!(
                                        "your credentials do not cover the type of entity {id}"
                                    ),
                                ));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

/// The NGSI-LD tenant of a request and the entity types the caller is limited to
/// (`None` = all), set by [`access`].
#[derive(Clone, Debug)]
pub struct Tenant(pub String, pub Option<Arc<Vec<String>>>);

/// Parsed query string, decoded as an HTML form (WHATWG URL, as clients encode it): `+`
/// is a space and `%2B` a plus sign (so `q=name=="Eiffel+Tower"` compares with a space and
/// `scopeQ=/Madrid/%2B/Park` holds the one-level wildcard).
#[derive(Debug, Default)]
pub struct Params(pub HashMap<String, String>);

impl Params {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Params {
        let mut m = HashMap::new();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let pair = pair.replace('+', " ");
            let (k, v) = pair.split_once('=').unwrap_or((&pair, ""));
            let k = percent_encoding::percent_decode_str(k)
                .decode_utf8_lossy()
                .to_string();
            let v = percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .to_string();
            m.insert(k, v);
        }
        Params(m)
    }
    /// One parameter.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|s| !s.is_empty())
    }
    /// A comma-separated list parameter.
    pub fn list(&self, k: &str) -> Vec<String> {
        self.get(k)
            .map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
    /// Whether `options` (or `format`) holds `opt`.
    pub fn option(&self, opt: &str) -> bool {
        self.list("options").iter().any(|o| o == opt) || self.get("format") == Some(opt)
    }
}

/// The request's `@context` from the `Link` header.
fn link_context(h: &HeaderMap) -> NgsiResult<Option<Value>> {
    let Some(v) = h.get("link").and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    for part in v.split(',') {
        if part.contains("json-ld#context") {
            let url = part
                .split(';')
                .next()
                .map(|s| {
                    s.trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .trim()
                })
                .filter(|s| !s.is_empty())
                .ok_or_else(|| NgsiError::bad_data("the Link header has no context URL"))?;
            return Ok(Some(Value::String(url.to_string())));
        }
    }
    Ok(None)
}

/// What the caller accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accept {
    Json,
    JsonLd,
    GeoJson,
}

pub(crate) fn accept(h: &HeaderMap) -> NgsiResult<Accept> {
    accept_among(h, true)
}

/// Content negotiation of every NGSI-LD GET (GS CIM 009 §6.3.4): 406 NotAcceptable when
/// the `Accept` header admits none of application/json and application/ld+json, except
/// that Retrieve Entity and Query Entities (`/entities`, `/entities/{id}`) may also answer
/// application/geo+json. Applied to the whole `/ngsi-ld/v1` router, unknown paths included.
pub async fn negotiate(req: Request, next: Next) -> Response {
    if req.method() == Method::GET {
        let path = req.uri().path();
        let path = path.strip_prefix("/ngsi-ld/v1").unwrap_or(path);
        let rest = path.strip_prefix("/entities");
        let entity_read = rest.is_some_and(|r| {
            r.is_empty()
                || r.strip_prefix('/')
                    .is_some_and(|id| !id.is_empty() && !id.contains('/'))
        });
        if let Err(e) = accept_among(req.headers(), entity_read) {
            return e.into_response();
        }
    }
    next.run(req).await
}

fn accept_among(h: &HeaderMap, geo: bool) -> NgsiResult<Accept> {
    let Some(a) = h.get("accept").and_then(|v| v.to_str().ok()) else {
        return Ok(Accept::Json);
    };
    // GS CIM 009 §6.3.4 with RFC 9110 §12.5.1: each type we produce takes the weight of
    // its explicit entry, else of a matching wildcard; weight 0 excludes it; among equal
    // weights our order decides (application/json, application/ld+json,
    // application/geo+json), not the order of the client's list.
    let mut explicit: [Option<f32>; 3] = [None; 3];
    let mut wildcard: Option<f32> = None;
    for part in a.split(',') {
        let mut it = part.split(';');
        let mt = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q: f32 = it
            .filter_map(|p| p.trim().strip_prefix("q="))
            .next()
            .and_then(|q| q.trim().parse().ok())
            .unwrap_or(1.0);
        let slot = match mt.as_str() {
            "application/json" => 0,
            "application/ld+json" => 1,
            "application/geo+json" if geo => 2,
            "*/*" | "application/*" => {
                wildcard = Some(wildcard.map_or(q, |w: f32| w.max(q)));
                continue;
            }
            _ => continue,
        };
        explicit[slot] = Some(explicit[slot].map_or(q, |w: f32| w.max(q)));
    }
    let mut best: Option<(f32, Accept)> = None;
    for (i, kind) in [Accept::Json, Accept::JsonLd, Accept::GeoJson]
        .into_iter()
        .enumerate()
    {
        let Some(q) = explicit[i].or(wildcard) else {
            continue;
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, kind));
        }
    }
    best.map(|(_, k)| k).ok_or_else(|| {
        NgsiError::new(
            ProblemKind::NotAcceptable,
            if geo {
                "Accept must allow application/json, application/ld+json or application/geo+json"
            } else {
                "Accept must allow application/json or application/ld+json (application/geo+json is only for entities)"
            },
        )
    })
}

/// A parsed request body with its context.
pub(crate) struct Body {
    pub(crate) value: Value,
    pub(crate) ld: bool,
}

fn body_json(h: &HeaderMap, bytes: &Bytes) -> NgsiResult<Body> {
    let ct = h
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let ld = ct.starts_with("application/ld+json");
    if !ld && !ct.starts_with("application/json") && !ct.starts_with("application/merge-patch+json")
    {
        return Err(NgsiError::new(
            ProblemKind::UnsupportedMediaType,
            "Content-Type must be application/json or application/ld+json",
        ));
    }
    if bytes.is_empty() {
        return Err(NgsiError::invalid("the request body is empty"));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| NgsiError::invalid(format!("the body is not valid JSON: {e}")))?;
    Ok(Body { value, ld })
}

pub(crate) fn read_body(
    h: &HeaderMap,
    b: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> NgsiResult<Body> {
    let bytes = b.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            NgsiError::new(
                ProblemKind::PayloadTooLarge,
                "the body is larger than the configured NGSI-LD limit (ngsi_ld_max_body_bytes)",
            )
        } else {
            NgsiError::invalid(format!("cannot read the body: {e}"))
        }
    })?;
    body_json(h, &bytes)
}

/// Resolves the context of a body object: `@context` member (ld+json) or the Link header.
pub(crate) async fn body_context(
    twin: &Twin,
    h: &HeaderMap,
    body: &Body,
    obj: &Value,
) -> NgsiResult<Arc<Context>> {
    if body.ld {
        if link_context(h)?.is_some() {
            // §6.3.5: with application/ld+json the @context is in the body only.
            return Err(NgsiError::bad_data(
                "an application/ld+json body carries its @context itself: drop the Link header",
            ));
        }
        let c = obj
            .get("@context")
            .ok_or_else(|| NgsiError::bad_data("an application/ld+json body must hold @context"))?;
        crate::context::check_no_scoped_context(c)?;
        twin.contexts.resolve(Some(c)).await
    } else {
        if obj.get("@context").is_some() {
            return Err(NgsiError::bad_data(
                "@context in an application/json body: send it in a Link header, or use application/ld+json",
            ));
        }
        twin.contexts.resolve(link_context(h)?.as_ref()).await
    }
}

pub(crate) async fn header_context(twin: &Twin, h: &HeaderMap) -> NgsiResult<Arc<Context>> {
    twin.contexts.resolve(link_context(h)?.as_ref()).await
}

/// Checks one projection (`pick` or `omit`, GS CIM 009 §4.21, see
/// [`crate::join::parse_projection`]). Returns whether the projection is nested (addresses
/// a linked entity). Errors: 400 BadRequestData.
pub fn check_projection(k: &str, s: &str) -> NgsiResult<bool> {
    Ok(crate::join::depth(&crate::join::parse_projection(k, s)?) > 0)
}

/// Validates `pick`, `omit`, `attrs`, `join` and `joinLevel` together (§4.21, §5.7.2.4):
/// pick or omit with attrs, or the same member in pick and omit, is ambiguous; a nested
/// (linked-entity) projection needs `join` and at most `joinLevel` levels. Returns the
/// parsed join and projection. Errors: 400 BadRequestData.
pub fn check_projections(p: &Params) -> NgsiResult<(Option<Join>, Projection)> {
    let pick = p.0.get("pick").map(String::as_str);
    let omit = p.0.get("omit").map(String::as_str);
    if p.get("attrs").is_some() {
        if let Some(k) = [("pick", pick), ("omit", omit)]
            .iter()
            .find_map(|(k, v)| v.map(|_| k))
        {
            return Err(NgsiError::bad_data(format!(
                "{k} cannot be used together with attrs"
            )));
        }
    }
    let join = crate::join::parse_join(p)?;
    let proj = Projection::from_params(p, join)?;
    if let (Some(a), Some(b)) = (pick, omit) {
        let b: Vec<&str> = b.split(',').collect();
        if let Some(x) = a.split(',').find(|x| b.contains(x)) {
            return Err(NgsiError::bad_data(format!(
                "{x:?} is both in pick and in omit"
            )));
        }
    }
    Ok((join, proj))
}

/// What a read renders: the representation options, the projection and the join.
pub(crate) struct View {
    pub(crate) opts: RenderOpts,
    pub(crate) proj: Projection,
    pub(crate) join: Option<Join>,
}

/// The [`View`] of a read request: `options`/`format`, `attrs`, `pick`/`omit`, `lang`,
/// `join`/`joinLevel` (GS CIM 009 §4.5, §4.21, §4.5.23). Errors: 400 BadRequestData.
pub(crate) fn view(p: &Params, ctx: &Context) -> NgsiResult<View> {
    let (join, proj) = check_projections(p)?;
    if p.get("pick").is_some() && p.get("omit").is_some() {
        return Err(NgsiError::bad_data("pick and omit cannot be used together"));
    }
    let format = if p.option("keyValues") || p.option("simplified") {
        Format::KeyValues
    } else if p.option("concise") {
        Format::Concise
    } else {
        Format::Normalized
    };
    let attrs: Vec<String> = p.list("attrs").iter().map(|a| ctx.expand(a)).collect();
    let opts = RenderOpts {
        format,
        sys_attrs: p.option("sysAttrs"),
        attrs: if attrs.is_empty() { None } else { Some(attrs) },
        lang: p.get("lang").map(str::to_string),
        pick: proj.pick_names(),
        omit: proj.omit_names(),
        dataset_ids: p.get("datasetId").map(|_| p.list("datasetId")),
    };
    Ok(View { opts, proj, join })
}

fn geojson_feature(e: &Entity, ctx: &Context, o: &RenderOpts, geoprop: &str) -> Value {
    let mut props = model::render_entity(e, ctx, o);
    let id = props
        .as_object_mut()
        .and_then(|m| m.remove("id"))
        .unwrap_or(Value::Null);
    let geometry = e
        .attrs
        .get(&ctx.expand(geoprop))
        .and_then(|l| l.iter().find(|a| a.kind == model::AttrKind::GeoProperty))
        .map(|a| a.value.clone())
        .unwrap_or(Value::Null);
    json!({"id": id, "type": "Feature", "geometry": geometry, "properties": props})
}

/// GS CIM 009 §6.3.6, §6.3.15: a GeoJSON Feature or FeatureCollection carries the
/// @context in its body, unless the client sent `Prefer: body=json` (then only the Link
/// header conveys it).
fn geojson_context(h: &HeaderMap, ctx: &Context, body: &mut Value) {
    let body_json = h
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .any(|p| p.trim().eq_ignore_ascii_case("body=json"));
    if let (false, Value::Object(m)) = (body_json, body) {
        m.insert("@context".into(), ctx.echo());
    }
}

pub(crate) fn respond(
    status: StatusCode,
    body: Value,
    ctx: &Context,
    acc: Accept,
    extra: Vec<(&'static str, String)>,
) -> Response {
    let mut body = body;
    let ct = match acc {
        Accept::JsonLd => {
            let c = ctx.echo();
            match &mut body {
                Value::Object(m) => {
                    m.insert("@context".into(), c);
                }
                Value::Array(a) => {
                    for x in a.iter_mut() {
                        if let Value::Object(m) = x {
                            m.insert("@context".into(), c.clone());
                        }
                    }
                }
                _ => {}
            }
            "application/ld+json"
        }
        Accept::GeoJson => "application/geo+json",
        Accept::Json => "application/json",
    };
    let mut r = (status, body.to_string()).into_response();
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static(ct));
    if acc != Accept::JsonLd {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "<{}>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"",
            ctx.link_url()
        )) {
            h.insert("link", v);
        }
    }
    for (k, v) in extra {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.append(k, v);
        }
    }
    r
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn report_response(r: &UpdateReport, ctx: &Context) -> Response {
    if r.not_updated.is_empty() {
        return no_content();
    }
    let body = json!({
        "updated": r.updated.iter().map(|a| ctx.compact(a)).collect::<Vec<_>>(),
        "notUpdated": r.not_updated.iter().map(|(a, why)| json!({"attributeName": ctx.compact(a), "reason": why})).collect::<Vec<_>>(),
    });
    let mut resp = (StatusCode::MULTI_STATUS, body.to_string()).into_response();
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}

/// An entity id given in a request path must be a URI (GS CIM 009 §4.5.1): else 400
/// BadRequestData.
pub(crate) fn check_id(id: &str) -> NgsiResult<()> {
    if !model::is_uri(id) {
        return Err(NgsiError::bad_data(format!("{id:?} is not a URI")));
    }
    Ok(())
}

/// The entity types the caller is limited to (`None` = all).
pub(crate) fn type_limit(t: &Ten) -> Option<Arc<Vec<String>>> {
    t.as_ref().and_then(|t| t.0 .1.clone())
}

pub(crate) fn tenant_of(req_tenant: &Option<axum::Extension<Tenant>>) -> String {
    req_tenant
        .as_ref()
        .map(|t| t.0 .0.clone())
        .unwrap_or_default()
}

/// A batch member: its id and its parsed item with its context (or why it is invalid).
type ParsedItem<T> = (String, NgsiResult<(T, Arc<Context>)>);

/// A batch member parsed as an entity.
type Parsed = ParsedItem<Entity>;

pub(crate) type Ten = Option<axum::Extension<Tenant>>;
pub(crate) type RawBody = Result<Bytes, axum::extract::rejection::BytesRejection>;

/// POST /entities (§6.4.3.1): 201 with `Location`; 409 AlreadyExists; 400 BadRequestData.
async fn create_entity(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    b: RawBody,
) -> NgsiResult<Response> {
    let body = read_body(&h, b)?;
    if !body.value.is_object() {
        return Err(NgsiError::invalid(
            "the body of a create is one entity, a JSON object",
        ));
    }
    let ctx = body_context(&st.twin, &h, &body, &body.value).await?;
    let now = onecity_core::time::now_micros();
    let e = model::parse_entity(&body.value, &ctx, now)?;
    let id = e.id.clone();
    st.twin.create_entity(&tenant_of(&t), e).await?;
    let mut r = StatusCode::CREATED.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/ngsi-ld/v1/entities/{id}")) {
        r.headers_mut().insert("location", v);
    }
    Ok(r)
}

/// GET /entities/{id} (§6.5.3.1).
async fn get_entity(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    Path(id): Path<String>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> NgsiResult<Response> {
    check_id(&id)?;
    let p = Params::parse(raw.as_deref());
    let acc = accept(&h)?;
    check_read_params(&p, acc)?;
    let ctx = header_context(&st.twin, &h).await?;
    let v = view(&p, &ctx)?;
    let e = st
        .twin
        .get(&tenant_of(&t), &id)
        .ok_or_else(|| NgsiError::not_found(format!("entity {id} does not exist")))?;
    if let Some(ty) = p.get("type") {
        let want: Vec<String> = ty.split(',').map(|x| ctx.expand(x)).collect();
        if !e.types.iter().any(|x| want.contains(x)) {
            return Err(NgsiError::not_found(format!(
                "entity {id} is not of type {ty}"
            )));
        }
    }
    let body = if acc == Accept::GeoJson {
        let mut f = geojson_feature(
            &e,
            &ctx,
            &v.opts,
            p.get("geometryProperty").unwrap_or("location"),
        );
        geojson_context(&h, &ctx, &mut f);
        f
    } else {
        // §5.7.1.4: none of the requested attributes, or nothing left after pick/omit,
        // is ResourceNotFound.
        if let Some(a) = &v.opts.attrs {
            if !a.iter().any(|x| e.attrs.contains_key(x)) {
                return Err(NgsiError::not_found(format!(
                    "entity {id} has none of the requested attributes"
                )));
            }
        }
        if (v.opts.pick.is_some() || !v.opts.omit.is_empty())
            && model::render_entity(&e, &ctx, &v.opts)
                .as_object()
                .is_some_and(|m| m.is_empty())
        {
            return Err(NgsiError::not_found(format!(
                "pick/omit leave nothing of entity {id}"
            )));
        }
        let limit = type_limit(&t);
        let mut l = render_joined(
            &st.twin,
            &tenant_of(&t),
            &ctx,
            &v,
            limit.as_deref().map(Vec::as_slice),
            &[&e],
        );
        if v.join.map(|j| j.kind) == Some(JoinKind::Flat) && l.len() > 1 {
            Value::Array(l)
        } else {
            l.swap_remove(0)
        }
    };
    Ok(respond(StatusCode::OK, body, &ctx, acc, vec![]))
}

/// Renders `roots` with the view; with a join, adds their linked entities (GS CIM 009
/// §4.5.23): inline into them, or, for a flat join, after them.
pub(crate) fn render_joined(
    twin: &Twin,
    tenant: &str,
    ctx: &Context,
    v: &View,
    allowed: Option<&[String]>,
    roots: &[&Entity],
) -> Vec<Value> {
    let mut out: Vec<Value> = roots
        .iter()
        .map(|e| model::render_entity(e, ctx, &v.opts))
        .collect();
    if let Some(join) = v.join {
        let linker = Linker {
            twin,
            tenant,
            ctx,
            join,
            base: &v.opts,
            allowed,
        };
        let extra = linker.link(roots, &mut out, &v.proj);
        out.extend(extra);
    }
    out
}

/// Rejects an `idPattern` with a quantifier that follows another one (`a**`, `a+*`):
/// POSIX ERE and ECMA 262 patterns (§4.9) do not allow it, though the `regex` crate would.
/// A `?` after a quantifier (lazy) is allowed. Errors: 400 BadRequestData.
fn check_pattern(pat: &str) -> NgsiResult<()> {
    let mut prev_quant = false;
    let mut escaped = false;
    let mut in_class = false;
    for c in pat.chars() {
        if escaped {
            escaped = false;
            prev_quant = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '*' | '+' if !in_class => {
                if prev_quant {
                    return Err(NgsiError::bad_data(format!(
                        "idPattern {pat:?}: a quantifier cannot follow another quantifier"
                    )));
                }
                prev_quant = true;
                continue;
            }
            '}' if !in_class => {
                prev_quant = true;
                continue;
            }
            _ => {}
        }
        prev_quant = false;
    }
    Ok(())
}

/// Checks the read parameters that depend on others (GS CIM 009 §5.7.1.4, §5.7.2.4,
/// §6.3.15): `geometryProperty` only with a GeoJSON answer; `csf` must be a valid filter.
/// Errors: 400 BadRequestData.
fn check_read_params(p: &Params, acc: Accept) -> NgsiResult<()> {
    if p.get("geometryProperty").is_some() && acc != Accept::GeoJson {
        return Err(NgsiError::bad_data(
            "geometryProperty is only for a GeoJSON representation (Accept: application/geo+json)",
        ));
    }
    if let Some(csf) = p.get("csf") {
        crate::q::parse(csf)
            .map_err(|e| NgsiError::bad_data(format!("csf is not a valid filter: {e}")))?;
    }
    Ok(())
}

/// Builds a [`Query`] from parameters (shared by GET /entities and the temporal API).
pub fn build_query(p: &Params, ctx: &Context) -> NgsiResult<Query> {
    let mut q = Query {
        ids: p.list("id"),
        ..Default::default()
    };
    for id in &q.ids {
        check_id(id)?;
    }
    if let Some(pat) = p.get("idPattern") {
        check_pattern(pat)?;
        q.id_pattern = Some(
            regex::Regex::new(pat).map_err(|e| NgsiError::bad_data(format!("idPattern: {e}")))?,
        );
    }
    if let Some(ty) = p.get("type").filter(|t| *t != "*") {
        for x in ty
            .split([',', '|', ';'])
            .map(|s| s.trim_matches(|c| c == '(' || c == ')'))
        {
            if !model::is_valid_name(x) {
                return Err(NgsiError::bad_data(format!(
                    "type {x:?} is not a valid name"
                )));
            }
            q.types.push(ctx.expand(x));
        }
        if ty.contains(';') {
            // §4.17: `,` or `|` separate alternatives, `;` joins types an entity must all
            // have; parentheses group.
            q.type_groups = ty
                .split([',', '|'])
                .map(|alt| {
                    alt.trim_matches(|c| c == '(' || c == ')')
                        .split(';')
                        .map(|x| ctx.expand(x.trim_matches(|c| c == '(' || c == ')')))
                        .collect()
                })
                .collect();
        }
    }
    q.attrs = p.list("attrs").iter().map(|a| ctx.expand(a)).collect();
    if let Some(x) = p.get("q") {
        q.q = Some(crate::q::parse(x)?);
    }
    if let Some(georel) = p.get("georel") {
        let coords: Value = p
            .get("coordinates")
            .map(|c| {
                // A `+` in a query string is a space (form encoding: `[2.29,+48.85]`).
                serde_json::from_str(&c.replace('+', " "))
                    .map_err(|e| NgsiError::bad_data(format!("coordinates: not a JSON array: {e}")))
            })
            .transpose()?
            .ok_or_else(|| NgsiError::bad_data("a geo-query needs coordinates"))?;
        q.geo = Some(crate::geoq::parse(
            georel,
            p.get("geometry"),
            Some(&coords),
            p.get("geoproperty"),
            ctx,
        )?);
    } else if p.get("geometry").is_some() || p.get("coordinates").is_some() {
        return Err(NgsiError::bad_data("geometry and coordinates need georel"));
    }
    if let Some(s) = p.get("scopeQ") {
        q.scope_q = Some(crate::q::parse_scope_q(s)?);
    }
    Ok(q)
}

/// Parses `limit` and `offset`. Errors: 400 for non-numbers; 403 TooManyResults above
/// the maximum.
pub fn paging(p: &Params, twin: &Twin) -> NgsiResult<(usize, usize)> {
    let cfg = twin.config();
    let limit = match p.get("limit") {
        None => cfg.default_limit,
        Some(s) => s.parse::<usize>().map_err(|_| {
            NgsiError::bad_data(format!("limit {s:?} is not a non-negative integer"))
        })?,
    };
    if limit > cfg.max_limit {
        return Err(NgsiError::new(
            ProblemKind::TooManyResults,
            format!("limit {limit} is above the maximum {}", cfg.max_limit),
        ));
    }
    let offset = match p.get("offset") {
        None => 0,
        Some(s) => s.parse::<usize>().map_err(|_| {
            NgsiError::bad_data(format!("offset {s:?} is not a non-negative integer"))
        })?,
    };
    Ok((limit, offset))
}

/// The characters escaped in the query strings of paging links: those not allowed in a
/// URI query (RFC 3986 §3.4), the separators `&`, `=`, `+`, `;`, and `,` (which separates
/// the values of a `Link` header).
const LINK_QUERY: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'[')
    .add(b']')
    .add(b'&')
    .add(b'=')
    .add(b'+')
    .add(b';')
    .add(b',');

/// The `Link` headers `rel="prev"` and `rel="next"` of a page (GS CIM 009 §5.5.9, §4.12):
/// the request's parameters in name order with the page's `limit` and `offset`, and the
/// media type of the answer.
fn page_links(
    base: &str,
    p: &Params,
    offset: usize,
    limit: usize,
    total: usize,
    media: &str,
) -> Vec<(&'static str, String)> {
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, LINK_QUERY).to_string();
    prev_next_links(offset, limit, total, media, |off| {
        let mut all: Vec<(String, String)> =
            p.0.iter()
                .filter(|(k, _)| k.as_str() != "offset" && k.as_str() != "limit")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        all.push(("limit".into(), limit.to_string()));
        all.push(("offset".into(), off.to_string()));
        all.sort();
        let qs: Vec<String> = all
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        format!("{base}?{}", qs.join("&"))
    })
}

/// The paging `Link` headers of a list answer (GS CIM 009 §5.5.9, §4.12): `rel="prev"`
/// unless the page is the first, `rel="next"` unless it is the last, none when `limit`
/// is 0. `url` gives the address of the page starting at an offset; `media` is the
/// media type of the answer.
pub(crate) fn prev_next_links(
    offset: usize,
    limit: usize,
    total: usize,
    media: &str,
    url: impl Fn(usize) -> String,
) -> Vec<(&'static str, String)> {
    let link = |off: usize, rel: &str| {
        (
            "link",
            format!("<{}>; rel=\"{rel}\"; type=\"{media}\"", url(off)),
        )
    };
    let mut out = Vec::new();
    if limit > 0 && offset > 0 {
        out.push(link(offset.saturating_sub(limit), "prev"));
    }
    if limit > 0 && offset + limit < total {
        out.push(link(offset + limit, "next"));
    }
    out
}

async fn run_query(
    st: &TwinState,
    tenant: &str,
    p: &Params,
    h: &HeaderMap,
    ctx: Arc<Context>,
    base: &str,
    limit: Option<Arc<Vec<String>>>,
) -> NgsiResult<Response> {
    let acc = accept(h)?;
    let mut q = build_query(p, &ctx)?;
    let allowed = limit.clone();
    q.allowed_types = limit;
    // §5.7.2.4: id and idPattern select among entities of the given types; alone they
    // leave the query too wide.
    if p.get("type").is_none()
        && q.attrs.is_empty()
        && q.q.is_none()
        && q.geo.is_none()
        && q.scope_q.is_none()
        && p.get("local") != Some("true")
    {
        return Err(NgsiError::bad_data(
            "a query needs at least one of type, attrs, q, georel or scopeQ (or local=true)",
        ));
    }
    if p.get("type") == Some("*") && p.get("local") == Some("false") {
        return Err(NgsiError::bad_data(
            "type=* selects the entities of every type and cannot be combined with local=false (§4.17)",
        ));
    }
    check_read_params(p, acc)?;
    let (limit, offset) = paging(p, &st.twin)?;
    let v = view(p, &ctx)?;
    if let Some(d) = p.get("q").map(crate::q::linked_depth).filter(|d| *d > 0) {
        let level = v.join.map_or(0, |j| j.level);
        if d > level {
            return Err(NgsiError::bad_data(format!(
                "q addresses {d} linked-entity levels, more than the join allows ({level}): too deep query (§5.7.2.4)"
            )));
        }
    }
    let order = p
        .get("orderBy")
        .map(|o| crate::order::OrderBy::parse(o, p.get("orderFrom"), p.get("collation")))
        .transpose()?;
    let (page, total) = match &order {
        None => st.twin.query(tenant, &q, &ctx, offset, limit),
        Some(o) => {
            // §4.23: order every match, then page.
            let (mut all, total) = st.twin.query(tenant, &q, &ctx, 0, usize::MAX);
            o.sort(&mut all, &ctx);
            (all.into_iter().skip(offset).take(limit).collect(), total)
        }
    };
    let geoprop = p.get("geometryProperty").unwrap_or("location");
    let items: Vec<Value> = if acc == Accept::GeoJson {
        page.iter()
            .map(|e| geojson_feature(e, &ctx, &v.opts, geoprop))
            .collect()
    } else {
        let roots: Vec<&Entity> = page.iter().map(|e| e.as_ref()).collect();
        let mut l = render_joined(
            &st.twin,
            tenant,
            &ctx,
            &v,
            allowed.as_deref().map(Vec::as_slice),
            &roots,
        );
        // §4.21: an entity that pick/omit leave empty is not returned.
        l.retain(|x| x.as_object().is_none_or(|m| !m.is_empty()));
        l
    };
    let media = match acc {
        Accept::JsonLd => "application/ld+json",
        Accept::GeoJson => "application/geo+json",
        Accept::Json => "application/json",
    };
    let mut extra = page_links(base, p, offset, limit, total, media);
    if p.get("count") == Some("true") {
        extra.push(("ngsild-results-count", total.to_string()));
    }
    let body = if acc == Accept::GeoJson {
        let mut fc = json!({"type": "FeatureCollection", "features": items});
        geojson_context(h, &ctx, &mut fc);
        fc
    } else {
        Value::Array(items)
    };
    Ok(respond(StatusCode::OK, body, &ctx, acc, extra))
}

/// GET /entities (§6.4.3.2): query with type, id, idPattern, attrs, q, geo-query, scopeQ,
/// pick/omit, lang, options, count, limit/offset (order: entity id).
async fn query_entities(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> NgsiResult<Response> {
    let p = Params::parse(raw.as_deref());
    check_query_scope(&p)?;
    let ctx = header_context(&st.twin, &h).await?;
    run_query(
        &st,
        &tenant_of(&t),
        &p,
        &h,
        ctx,
        "/ngsi-ld/v1/entities",
        type_limit(&t),
    )
    .await
}

/// Members every entity has or that the broker sets itself: a purge filtered only by
/// them would select the whole tenant (§5.6.21.4).
fn is_system_member(a: &str) -> bool {
    matches!(
        a,
        "id" | "type" | "createdAt" | "modifiedAt" | "deletedAt" | "@id" | "@type"
    )
}

/// The "too wide" check of a query (§5.7.2.4, §5.7.4): it needs an entity id or
/// idPattern, a type, `attrs` naming a non-system attribute, `q` over a non-system
/// attribute, a geo-query or `local=true`; a `q` on linked entities (`a{b}`) needs `join`.
/// Errors: 400 BadRequestData.
pub fn check_query_scope(p: &Params) -> NgsiResult<()> {
    if p.get("q").is_some_and(|q| q.contains('{')) && p.get("join").is_none() {
        return Err(NgsiError::bad_data(
            "q on linked entities ({…}) needs join (too deep query)",
        ));
    }
    let q_narrows = match p.get("q") {
        Some(x) => crate::q::parse(x)?
            .attributes()
            .iter()
            .any(|a| !is_system_member(a)),
        None => false,
    };
    let attrs_narrow = p.list("attrs").iter().any(|a| !is_system_member(a));
    if p.get("type").is_some()
        || p.get("id").is_some()
        || p.get("idPattern").is_some()
        || attrs_narrow
        || q_narrows
        || p.get("georel").is_some()
        || p.get("local") == Some("true")
    {
        return Ok(());
    }
    Err(NgsiError::bad_data(
        "the query is too wide: give type, id, idPattern, attrs (a non-system attribute), q (over a non-system attribute), a geo-query or local=true",
    ))
}

/// DELETE /entities (§5.6.21 Purge Entities, §6.4.3.3): deletes every entity matching
/// the query (`type`, `id`, `idPattern`, `attrs`, `q`, geo-query, `scopeQ`), or with
/// `drop=a,b` removes those attributes from them, or with `keep=a,b` every other one.
/// At least one of `type`, `attrs` (a non-system attribute), `q` (over a non-system
/// attribute), `georel` or `local=true` is needed: a purge by id or idPattern alone is
/// refused as too wide. 204; errors: 400 BadRequestData (too wide, `keep` with `drop`,
/// linked-entity `{…}` projections or queries, bad query parameters). The changes go
/// through the writer like any other change (history, events, notifications).
async fn purge_entities(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> NgsiResult<Response> {
    let p = Params::parse(raw.as_deref());
    let ctx = header_context(&st.twin, &h).await?;
    for k in ["q", "attrs", "keep", "drop", "pick", "omit"] {
        if p.get(k).is_some_and(|v| v.contains('{')) {
            return Err(NgsiError::bad_data(format!(
                "{k}: linked-entity projections and queries are not allowed in a purge"
            )));
        }
    }
    if p.get("join").is_some() || p.get("joinLevel").is_some() {
        return Err(NgsiError::bad_data("join is not allowed in a purge"));
    }
    let keep = p.list("keep");
    let drop = p.list("drop");
    if !keep.is_empty() && !drop.is_empty() {
        return Err(NgsiError::bad_data("keep and drop cannot be used together"));
    }
    let local = p.get("local") == Some("true");
    let q_narrows = match p.get("q") {
        Some(x) => crate::q::parse(x)?
            .attributes()
            .iter()
            .any(|a| !is_system_member(a)),
        None => false,
    };
    let attrs_narrow = p.list("attrs").iter().any(|a| !is_system_member(a));
    if !(p.get("type").is_some() || attrs_narrow || q_narrows || p.get("georel").is_some() || local)
    {
        return Err(NgsiError::bad_data(
            "a purge needs type, attrs, q (over a non-system attribute), a geo-query or local=true; id or idPattern alone is too wide",
        ));
    }
    let mut q = build_query(&p, &ctx)?;
    q.allowed_types = type_limit(&t);
    let tenant = tenant_of(&t);
    let (ents, _) = st.twin.query(&tenant, &q, &ctx, 0, usize::MAX);
    let keep: Option<Vec<String>> =
        (!keep.is_empty()).then(|| keep.iter().map(|a| ctx.expand(a)).collect());
    let drop: Vec<String> = drop.iter().map(|a| ctx.expand(a)).collect();
    let ops = ents
        .iter()
        .map(|e| EntityOp {
            tenant: tenant.clone(),
            id: e.id.clone(),
            f: if keep.is_none() && drop.is_empty() {
                service::delete_op()
            } else {
                service::purge_attrs_op(keep.clone(), drop.clone())
            },
        })
        .collect();
    for r in st.twin.apply(ops).await {
        match r {
            Ok(_) => {}
            // Deleted by someone else meanwhile: what the purge wanted.
            Err(e) if e.kind == ProblemKind::ResourceNotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(no_content())
}

/// POST /entityOperations/query (§6.23): a `Query` body (`entities`, `attrs`, `q`,
/// `geoQ`, `scopeQ`, `lang`); options, count, limit and offset in the query string.
async fn post_query(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    b: RawBody,
) -> NgsiResult<Response> {
    let body = read_body(&h, b)?;
    let ctx = body_context(&st.twin, &h, &body, &body.value).await?;
    let mut p = Params::parse(raw.as_deref());
    crate::query_body::merge_into(&body.value, &mut p)?;
    run_query(
        &st,
        &tenant_of(&t),
        &p,
        &h,
        ctx,
        "/ngsi-ld/v1/entityOperations/query",
        type_limit(&t),
    )
    .await
}

/// PUT /entities/{id} (§6.5.3.4): replaces the entity; 204; 404 when missing.
async fn replace_entity(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    Path(id): Path<String>,
    b: RawBody,
) -> NgsiResult<Response> {
    check_id(&id)?;
    let mut body = read_body(&h, b)?;
    let ctx = body_context(&st.twin, &h, &body, &body.value).await?;
    if let Value::Object(m) = &mut body.value {
        match m.get("id").and_then(Value::as_str) {
            Some(bid) if bid != id => {
                return Err(NgsiError::bad_data("the body's id differs from the URL's"))
            }
            _ => {
                m.insert("id".into(), Value::String(id.clone()));
            }
        }
        if !m.contains_key("type") {
            if let Some(cur) = st.twin.get(&tenant_of(&t), &id) {
                m.insert(
                    "type".into(),
                    json!(cur.types.iter().map(|x| ctx.compact(x)).collect::<Vec<_>>()),
                );
            }
        }
    }
    let e = model::parse_entity(&body.value, &ctx, onecity_core::time::now_micros())?;
    st.twin.replace_entity(&tenant_of(&t), e).await?;
    Ok(no_content())
}

/// Applies an append/update/merge fragment to one entity (see [`provision::fragment_op`]).
async fn apply_fragment(
    st: &TwinState,
    tenant: &str,
    id: &str,
    f: provision::Fragment,
    mode: provision::Mode,
) -> NgsiResult<UpdateReport> {
    st.twin
        .apply(vec![EntityOp {
            tenant: tenant.to_string(),
            id: id.to_string(),
            f: provision::fragment_op(f, mode),
        }])
        .await
        .pop()
        .unwrap_or_else(|| Err(NgsiError::internal("no result")))
}

/// POST /entityOperations/merge (§5.6.20, batch merge): merges each entity of the array
/// into the existing one of the same id (attributes given are put, others kept). 204, or
/// 207 with `success` and `errors` (404 for entities that do not exist). Errors: 400 for
/// an empty array, a non-object item or an invalid entity.
async fn batch_merge(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    b: RawBody,
) -> NgsiResult<Response> {
    let parsed = batch_items(&st, &h, b, |x, ctx, now| {
        let id = x.get("id").and_then(Value::as_str).unwrap_or("");
        check_id(id)?;
        provision::parse_fragment(x, ctx, now, true)
    })
    .await?;
    let (res, mut errors) = run_batch(&st, &tenant_of(&t), parsed, |f| {
        provision::fragment_op(f, provision::Mode::Merge)
    })
    .await;
    let ok = split_outcomes(res, &mut errors);
    Ok(batch_response(StatusCode::NO_CONTENT, ok, errors, false))
}

/// PATCH /entities/{id} (§6.5.3.4, merge §5.6.17): attributes given are added or merged
/// into the existing ones, instances set to the NGSI-LD Null are deleted, types added,
/// `scope` replaced; 204; 404 when the entity does not exist.
async fn merge_entity(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    Path(id): Path<String>,
    b: RawBody,
) -> NgsiResult<Response> {
    check_id(&id)?;
    let body = read_body(&h, b)?;
    let ctx = body_context(&st.twin, &h, &body, &body.value).await?;
    let f = provision::parse_fragment(&body.value, &ctx, onecity_core::time::now_micros(), true)?;
    apply_fragment(&st, &tenant_of(&t), &id, f, provision::Mode::Merge).await?;
    Ok(no_content())
}

/// PUT or PATCH /entities without an entity id (§6.5.3: the id is part of the path):
/// 400 BadRequestData.
async fn missing_entity_id() -> NgsiError {
    NgsiError::bad_data("the entity id is missing from the path /entities/{entityId}")
}

/// DELETE /entities/{id} (§6.5.3.2): 204; 404.
async fn delete_entity(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    Path(id): Path<String>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> NgsiResult<Response> {
    check_id(&id)?;
    let p = Params::parse(raw.as_deref());
    let tenant = tenant_of(&t);
    if p.get("type").is_some() {
        let ctx = header_context(&st.twin, &h).await?;
        provision::check_type_selector(&st.twin, &tenant, &id, p.get("type"), &ctx)?;
    }
    st.twin.delete_entity(&tenant, &id).await?;
    Ok(no_content())
}

/// POST /entities/{id}/attrs (§6.6.3.1, append; `options=noOverwrite`): 204, or 207 with
/// the attributes not appended.
async fn append_attrs(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    Path(id): Path<String>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    b: RawBody,
) -> NgsiResult<Response> {
    check_id(&id)?;
    let p = Params::parse(raw.as_deref());
    let body = read_body(&h, b)?;
    let ctx = body_context(&st.twin, &h, &body, &body.value).await?;
    let f = provision::parse_fragment(&body.value, &ctx, onecity_core::time::now_micros(), false)?;
    let tenant = tenant_of(&t);
    provision::check_type_selector(&st.twin, &tenant, &id, p.get("type"), &ctx)?;
    let mode = provision::Mode::Append {
        no_overwrite: p.option("noOverwrite"),
    };
    let r = apply_fragment(&st, &tenant, &id, f, mode).await?;
    Ok(report_response(&r, &ctx))
}

/// PATCH /entities/{id}/attrs (§6.6.3.2, update §5.6.2): 204, or 207 with the attributes
/// that do not exist; NGSI-LD Null instances are deleted, types added, `scope` replaced.
async fn update_attrs(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    Path(id): Path<String>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    b: RawBody,
) -> NgsiResult<Response> {
    check_id(&id)?;
    let p = Params::parse(raw.as_deref());
    let body = read_body(&h, b)?;
    let ctx = body_context(&st.twin, &h, &body, &body.value).await?;
    let f = provision::parse_fragment(&body.value, &ctx, onecity_core::time::now_micros(), false)?;
    let tenant = tenant_of(&t);
    provision::check_type_selector(&st.twin, &tenant, &id, p.get("type"), &ctx)?;
    let r = apply_fragment(&st, &tenant, &id, f, provision::Mode::Update).await?;
    Ok(report_response(&r, &ctx))
}

/// PATCH /entities/{id}/attrs/{attr} (§6.7.3.1, partial update §5.6.4): 204; 404 when the
/// entity or attribute (datasetId) does not exist; 400 for a malformed fragment or `scope`
/// (nothing changes). A fragment whose value is the NGSI-LD Null deletes the instance.
async fn partial_attr(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    Path((id, attr)): Path<(String, String)>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    b: RawBody,
) -> NgsiResult<Response> {
    check_id(&id)?;
    not_scope(&attr)?;
    let p = Params::parse(raw.as_deref());
    let body = read_body(&h, b)?;
    let ctx = body_context(&st.twin, &h, &body, &body.value).await?;
    let Value::Object(mut m) = body.value else {
        return Err(NgsiError::bad_data(
            "the attribute fragment must be an object",
        ));
    };
    m.remove("@context");
    if m.is_empty() {
        return Err(NgsiError::bad_data("the attribute fragment is empty"));
    }
    let name = model::attr_name(&attr, &ctx)?;
    if m.get("datasetId") == Some(&json!(provision::NGSI_LD_NULL)) {
        return Err(NgsiError::bad_data(
            "a datasetId cannot be deleted with the NGSI-LD Null (GS CIM 009 §5.5.8)",
        ));
    }
    let tenant = tenant_of(&t);
    provision::check_type_selector(&st.twin, &tenant, &id, p.get("type"), &ctx)?;
    if let Some(ds) = provision::null_instance(&Value::Object(m.clone())) {
        st.twin.delete_attr(&tenant, &id, &name, ds, false).await?;
        return Ok(no_content());
    }
    st.twin
        .partial_update_attr(&tenant, &id, &name, m, ctx)
        .await?;
    Ok(no_content())
}

/// `scope` is an entity member, not an attribute: it cannot be addressed as
/// `/attrs/scope` (GS CIM 009 §4.18, §5.6.4): 400 BadRequestData.
fn not_scope(attr: &str) -> NgsiResult<()> {
    if attr == "scope" {
        return Err(NgsiError::bad_data(
            "scope is not an attribute; change it with an update or merge of the entity",
        ));
    }
    Ok(())
}

/// PUT /entities/{id}/attrs/{attr} (§6.7.3.3, replace attribute): 204; 404.
async fn replace_attr(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    Path((id, attr)): Path<(String, String)>,
    b: RawBody,
) -> NgsiResult<Response> {
    check_id(&id)?;
    not_scope(&attr)?;
    let body = read_body(&h, b)?;
    let ctx = body_context(&st.twin, &h, &body, &body.value).await?;
    let mut v = body.value;
    if let Value::Object(m) = &mut v {
        m.remove("@context");
    }
    let name = model::attr_name(&attr, &ctx)?;
    let list = model::parse_attribute_list(&attr, &v, &ctx, onecity_core::time::now_micros())?;
    let attrs: Vec<(String, model::Attribute)> =
        list.into_iter().map(|a| (name.clone(), a)).collect();
    let r = st.twin.update_attrs(&tenant_of(&t), &id, attrs).await?;
    if !r.not_updated.is_empty() {
        return Err(NgsiError::not_found(format!(
            "entity {id} has no attribute {attr}"
        )));
    }
    Ok(no_content())
}

/// DELETE /entities/{id}/attrs/{attr}?datasetId=…&deleteAll=true (§6.7.3.2): 204; 404.
async fn delete_attr(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    Path((id, attr)): Path<(String, String)>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> NgsiResult<Response> {
    check_id(&id)?;
    let p = Params::parse(raw.as_deref());
    let ctx = header_context(&st.twin, &h).await?;
    provision::check_type_selector(&st.twin, &tenant_of(&t), &id, p.get("type"), &ctx)?;
    if attr == "scope" {
        let r = apply_fragment(
            &st,
            &tenant_of(&t),
            &id,
            provision::Fragment::default(),
            provision::Mode::DeleteScope,
        )
        .await?;
        if !r.not_updated.is_empty() {
            return Err(NgsiError::not_found(format!("entity {id} has no scope")));
        }
        return Ok(no_content());
    }
    let name = model::attr_name(&attr, &ctx)?;
    let ds = p.get("datasetId").map(str::to_string);
    st.twin
        .delete_attr(
            &tenant_of(&t),
            &id,
            &name,
            ds,
            p.get("deleteAll") == Some("true"),
        )
        .await?;
    Ok(no_content())
}

/// One entity of a batch body with its own context (ld+json) and parse result.
async fn batch_entities(st: &TwinState, h: &HeaderMap, b: RawBody) -> NgsiResult<Vec<Parsed>> {
    batch_items(st, h, b, model::parse_entity).await
}

/// The items of a batch body (§5.6.7 ff.), each parsed by `parse` with its own context;
/// 400 for a body that is not a non-empty array of objects.
async fn batch_items<T>(
    st: &TwinState,
    h: &HeaderMap,
    b: RawBody,
    parse: impl Fn(&Value, &Context, i64) -> NgsiResult<T>,
) -> NgsiResult<Vec<ParsedItem<T>>> {
    let body = read_body(h, b)?;
    let arr = body
        .value
        .as_array()
        .ok_or_else(|| NgsiError::bad_data("a batch body must be an array of entities"))?;
    if arr.is_empty() {
        return Err(NgsiError::bad_data(
            "a batch body must hold at least one entity",
        ));
    }
    if let Some(i) = arr.iter().position(|x| !x.is_object()) {
        return Err(NgsiError::bad_data(format!(
            "batch item {i} is not an entity object"
        )));
    }
    if body.ld && link_context(h)?.is_some() {
        return Err(NgsiError::bad_data(
            "an application/ld+json batch carries its @context in the body, not in a Link header",
        ));
    }
    if arr.len() > st.twin.config().max_batch {
        return Err(NgsiError::new(
            ProblemKind::TooManyResults,
            format!(
                "a batch holds at most {} entities",
                st.twin.config().max_batch
            ),
        ));
    }
    let now = onecity_core::time::now_micros();
    let mut out = Vec::with_capacity(arr.len());
    for x in arr {
        let id = x
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let r = async {
            let ctx = body_context(&st.twin, h, &body, x).await?;
            let e = parse(x, &ctx, now)?;
            Ok((e, ctx))
        }
        .await;
        out.push((id, r));
    }
    Ok(out)
}

fn batch_response(
    ok_status: StatusCode,
    ids_ok: Vec<String>,
    errors: Vec<(String, NgsiError)>,
    body_on_ok: bool,
) -> Response {
    if errors.is_empty() {
        if body_on_ok {
            let mut r = (ok_status, Value::from(ids_ok).to_string()).into_response();
            r.headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            return r;
        }
        return no_content();
    }
    let body = json!({
        "success": ids_ok,
        "errors": errors.iter().map(|(id, e)| json!({"entityId": id, "error": e.body()})).collect::<Vec<_>>(),
    });
    let mut r = (StatusCode::MULTI_STATUS, body.to_string()).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

/// Splits per-entity batch outcomes: the ids that succeeded (in order) are returned, the
/// failures are appended to `errors` for the 207 body.
fn split_outcomes(
    res: Vec<(String, NgsiResult<UpdateReport>)>,
    errors: &mut Vec<(String, NgsiError)>,
) -> Vec<String> {
    let mut ok = Vec::new();
    for (id, r) in res {
        match r {
            Ok(_) => ok.push(id),
            Err(e) => errors.push((id, e)),
        }
    }
    ok
}

async fn run_batch<T>(
    st: &TwinState,
    tenant: &str,
    parsed: Vec<ParsedItem<T>>,
    mk: impl Fn(T) -> service::OpFn,
) -> (
    Vec<(String, NgsiResult<UpdateReport>)>,
    Vec<(String, NgsiError)>,
) {
    let mut ops = Vec::new();
    let mut ids = Vec::new();
    let mut errors = Vec::new();
    for (id, r) in parsed {
        match r {
            Ok((e, _)) => {
                ids.push(id.clone());
                ops.push(EntityOp {
                    tenant: tenant.to_string(),
                    id,
                    f: mk(e),
                });
            }
            Err(e) => errors.push((id, e)),
        }
    }
    let res = st.twin.apply(ops).await;
    (ids.into_iter().zip(res).collect(), errors)
}

/// POST /entityOperations/create (§6.14): 201 with the ids; 207 with per-entity errors.
async fn batch_create(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    b: RawBody,
) -> NgsiResult<Response> {
    let parsed = batch_entities(&st, &h, b).await?;
    let (res, mut errors) = run_batch(&st, &tenant_of(&t), parsed, service::create_op).await;
    let ok = split_outcomes(res, &mut errors);
    Ok(batch_response(StatusCode::CREATED, ok, errors, true))
}

/// POST /entityOperations/upsert (§6.15; `options=update` merges attributes, default
/// `replace`): 201 with the ids created, 204 when all existed, 207 with errors.
async fn batch_upsert(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    b: RawBody,
) -> NgsiResult<Response> {
    let p = Params::parse(raw.as_deref());
    let update = p.option("update");
    let tenant = tenant_of(&t);
    let parsed = batch_entities(&st, &h, b).await?;
    let existed: std::collections::HashSet<String> = parsed
        .iter()
        .filter(|(id, _)| st.twin.get(&tenant, id).is_some())
        .map(|(id, _)| id.clone())
        .collect();
    let (res, mut errors) = run_batch(&st, &tenant, parsed, |e| {
        if update {
            upsert_update_op(e)
        } else {
            service::replace_op(e, true)
        }
    })
    .await;
    let mut created = Vec::new();
    let mut ok = Vec::new();
    for (id, r) in res {
        match r {
            Ok(_) => {
                if !existed.contains(&id) && !created.contains(&id) {
                    created.push(id.clone());
                }
                ok.push(id);
            }
            Err(e) => errors.push((id, e)),
        }
    }
    if errors.is_empty() {
        if created.is_empty() {
            return Ok(no_content());
        }
        return Ok(batch_response(StatusCode::CREATED, created, errors, true));
    }
    Ok(batch_response(StatusCode::MULTI_STATUS, ok, errors, false))
}

fn upsert_update_op(e: Entity) -> service::OpFn {
    Box::new(move |cur, now| match cur {
        None => service::replace_op(e, true)(None, now),
        Some(c) => provision::fragment_op(
            provision::Fragment::of_entity(e),
            provision::Mode::Append {
                no_overwrite: false,
            },
        )(Some(c), now),
    })
}

/// POST /entityOperations/update (§6.16; `options=noOverwrite`): 204; 207 with errors.
async fn batch_update(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    b: RawBody,
) -> NgsiResult<Response> {
    let p = Params::parse(raw.as_deref());
    let no_overwrite = p.option("noOverwrite");
    let parsed = batch_entities(&st, &h, b).await?;
    let (res, mut errors) = run_batch(&st, &tenant_of(&t), parsed, |e| {
        provision::fragment_op(
            provision::Fragment::of_entity(e),
            provision::Mode::Append { no_overwrite },
        )
    })
    .await;
    // §5.6.9: an entity whose attributes were (partly) kept by noOverwrite is reported.
    let res = res
        .into_iter()
        .map(|(id, r)| match r {
            Ok(rep) if !rep.not_updated.is_empty() => {
                let names: Vec<&str> = rep.not_updated.iter().map(|(n, _)| n.as_str()).collect();
                let e = NgsiError::bad_data(format!(
                    "not updated (noOverwrite, they exist): {}",
                    names.join(", ")
                ));
                (id, Err(e))
            }
            other => (id, other),
        })
        .collect();
    let ok = split_outcomes(res, &mut errors);
    Ok(batch_response(StatusCode::NO_CONTENT, ok, errors, false))
}

/// POST /entityOperations/delete (§6.17): body = array of ids; 204; 207 with errors.
async fn batch_delete(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    b: RawBody,
) -> NgsiResult<Response> {
    let body = read_body(&h, b)?;
    let arr = body
        .value
        .as_array()
        .ok_or_else(|| NgsiError::bad_data("the body must be an array of entity ids"))?;
    if arr.is_empty() {
        return Err(NgsiError::bad_data("the array of entity ids is empty"));
    }
    let tenant = tenant_of(&t);
    let mut ops = Vec::new();
    let mut ids = Vec::new();
    let mut errors = Vec::new();
    for x in arr {
        match x.as_str() {
            Some(id) if model::is_uri(id) => {
                ids.push(id.to_string());
                ops.push(EntityOp {
                    tenant: tenant.clone(),
                    id: id.to_string(),
                    f: service::delete_op(),
                });
            }
            _ => errors.push((
                x.as_str().unwrap_or("").to_string(),
                NgsiError::bad_data(format!("{x} is not an entity id (URI)")),
            )),
        }
    }
    let res = st.twin.apply(ops).await;
    let mut ok = Vec::new();
    for (id, r) in ids.into_iter().zip(res) {
        match r {
            Ok(_) => ok.push(id),
            Err(e) => errors.push((id, e)),
        }
    }
    Ok(batch_response(StatusCode::NO_CONTENT, ok, errors, false))
}

/// GET /types (§6.25): an `EntityTypeList`, or with `details=true` an array of
/// `EntityType`; a key scoped to types (`twin:read:<Type>`) sees only those types.
async fn list_types(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> NgsiResult<Response> {
    let p = Params::parse(raw.as_deref());
    let acc = accept(&h)?;
    let ctx = header_context(&st.twin, &h).await?;
    let limit = type_limit(&t);
    let types = st
        .twin
        .types(&tenant_of(&t), limit.as_deref().map(Vec::as_slice));
    let body = if p.get("details") == Some("true") {
        Value::Array(
            types
                .iter()
                .map(|(ty, (_, attrs))| {
                    json!({"id": ty, "type": "EntityType", "typeName": ctx.compact(ty),
                           "attributeNames": attrs.iter().map(|a| ctx.compact(a)).collect::<Vec<_>>()})
                })
                .collect(),
        )
    } else {
        json!({"id": format!("urn:ngsi-ld:EntityTypeList:{}", uuid_like(&tenant_of(&t))), "type": "EntityTypeList",
               "typeList": types.keys().map(|k| ctx.compact(k)).collect::<Vec<_>>()})
    };
    Ok(respond(StatusCode::OK, body, &ctx, acc, vec![]))
}

fn uuid_like(s: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// GET /types/{type} (§6.26): `EntityTypeInfo`; 404 when no entity has the type (or, for a
/// key scoped to types, no entity of an allowed type has it).
async fn type_info(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    Path(ty): Path<String>,
) -> NgsiResult<Response> {
    let acc = accept(&h)?;
    let ctx = header_context(&st.twin, &h).await?;
    let iri = ctx.expand(&ty);
    let tenant = tenant_of(&t);
    let type_scope = type_limit(&t);
    let limit = type_scope.as_deref().map(Vec::as_slice);
    let types = st.twin.types(&tenant, limit);
    let (count, attrs) = types
        .get(&iri)
        .ok_or_else(|| NgsiError::not_found(format!("no entity has type {ty}")))?;
    let infos = st.twin.attributes(&tenant, limit);
    let details: Vec<Value> = attrs
        .iter()
        .map(|a| {
            let kinds: Vec<&str> = infos.get(a).map(|i| i.kinds.iter().copied().collect()).unwrap_or_default();
            json!({"id": a, "type": "Attribute", "attributeName": ctx.compact(a), "attributeTypes": kinds})
        })
        .collect();
    let body = json!({"id": iri, "type": "EntityTypeInfo", "typeName": ctx.compact(&iri), "entityCount": count, "attributeDetails": details});
    Ok(respond(StatusCode::OK, body, &ctx, acc, vec![]))
}

/// GET /attributes (§6.27): an `AttributeList`, or with `details=true` an array of
/// `Attribute`; a key scoped to types reads only the entities of its types.
async fn list_attributes(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> NgsiResult<Response> {
    let p = Params::parse(raw.as_deref());
    let acc = accept(&h)?;
    let ctx = header_context(&st.twin, &h).await?;
    let limit = type_limit(&t);
    let infos = st
        .twin
        .attributes(&tenant_of(&t), limit.as_deref().map(Vec::as_slice));
    let body = if p.get("details") == Some("true") {
        // §5.7.9: the detailed list names each attribute and its entity types; counts
        // and attribute types are for GET /attributes/{attr} (§5.7.10).
        Value::Array(
            infos
                .iter()
                .map(|(a, i)| {
                    let mut v = attr_json(a, i, &ctx);
                    if let Some(m) = v.as_object_mut() {
                        m.remove("attributeCount");
                        m.remove("attributeTypes");
                    }
                    v
                })
                .collect(),
        )
    } else {
        json!({"id": format!("urn:ngsi-ld:AttributeList:{}", uuid_like(&tenant_of(&t))), "type": "AttributeList",
               "attributeList": infos.keys().map(|k| ctx.compact(k)).collect::<Vec<_>>()})
    };
    Ok(respond(StatusCode::OK, body, &ctx, acc, vec![]))
}

fn attr_json(a: &str, i: &service::AttrInfo, ctx: &Context) -> Value {
    json!({"id": a, "type": "Attribute", "attributeName": ctx.compact(a), "attributeCount": i.count,
           "attributeTypes": i.kinds.iter().collect::<Vec<_>>(),
           "typeNames": i.types.iter().map(|t| ctx.compact(t)).collect::<Vec<_>>()})
}

/// GET /attributes/{attr} (§6.28): `Attribute`; 404 when no entity has it.
async fn attribute_info(
    State(st): State<TwinState>,
    t: Ten,
    h: HeaderMap,
    Path(attr): Path<String>,
) -> NgsiResult<Response> {
    let acc = accept(&h)?;
    let ctx = header_context(&st.twin, &h).await?;
    let iri = ctx.expand(&attr);
    let limit = type_limit(&t);
    let infos = st
        .twin
        .attributes(&tenant_of(&t), limit.as_deref().map(Vec::as_slice));
    let i = infos
        .get(&iri)
        .ok_or_else(|| NgsiError::not_found(format!("no entity has attribute {attr}")))?;
    Ok(respond(
        StatusCode::OK,
        attr_json(&iri, i, &ctx),
        &ctx,
        acc,
        vec![],
    ))
}
