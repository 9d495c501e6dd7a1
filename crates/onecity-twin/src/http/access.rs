//! Access control and the tenant of a request: the [`access`] middleware (credentials,
//! permissions, type-limited keys, 411, unknown parameters), [`Tenant`] and its accessors.

use crate::ld::error::{NgsiError, NgsiResult, ProblemKind};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use onecity_iam::Permission;
use serde_json::Value;
use std::sync::Arc;

use super::{discovery_params, type_matches, Params, TwinState, OPTIONS, QUERY_PARAMS};

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

pub(crate) async fn access_checked(
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

/// For callers limited to some entity types: entities addressed by id must be of those
/// types (else 404, as if absent); entities in write bodies must be of those types (else
/// 403). The body is buffered (up to the NGSI-LD limit) and handed on unchanged.
pub(crate) async fn check_types(
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
