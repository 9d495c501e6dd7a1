//! Reading a request: content negotiation (`Accept`), the body (JSON, `application/ld+json`)
//! and its `@context` (body or `Link` header), and the checks on read parameters.

use crate::ld::context::Context;
use crate::ld::error::{NgsiError, NgsiResult, ProblemKind};
use crate::service::Twin;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;
use std::sync::Arc;

use super::access::Tenant;
use super::Params;

/// The request's `@context` from the `Link` header.
pub(crate) fn link_context(h: &HeaderMap) -> NgsiResult<Option<Value>> {
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

pub(crate) fn accept_among(h: &HeaderMap, geo: bool) -> NgsiResult<Accept> {
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

pub(crate) fn body_json(h: &HeaderMap, bytes: &Bytes) -> NgsiResult<Body> {
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
        crate::ld::context::check_no_scoped_context(c)?;
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

pub(crate) type RawBody = Result<Bytes, axum::extract::rejection::BytesRejection>;

/// Checks the read parameters that depend on others (GS CIM 009 §5.7.1.4, §5.7.2.4,
/// §6.3.15): `geometryProperty` only with a GeoJSON answer; `csf` must be a valid filter.
/// Errors: 400 BadRequestData.
pub(crate) fn check_read_params(p: &Params, acc: Accept) -> NgsiResult<()> {
    if p.get("geometryProperty").is_some() && acc != Accept::GeoJson {
        return Err(NgsiError::bad_data(
            "geometryProperty is only for a GeoJSON representation (Accept: application/geo+json)",
        ));
    }
    if let Some(csf) = p.get("csf") {
        crate::query::q::parse(csf)
            .map_err(|e| NgsiError::bad_data(format!("csf is not a valid filter: {e}")))?;
    }
    Ok(())
}

/// What every NGSI-LD handler reads before its own work: the tenant and the entity types
/// the caller is limited to (set by [`super::access`]), the query parameters and the
/// headers (`Accept`, `Link`, `Content-Type`, `Prefer`). It replaces the prologue each
/// handler used to repeat (the tenant extension and its `Ten` alias, `Params::parse` of the
/// raw query, the `HeaderMap`).
/// Extraction cannot fail: each handler still answers its own errors in its own order (an
/// invalid id before an unacceptable `Accept`, as the conformance suite expects), through
/// [`NgsiRequest::accept`], [`NgsiRequest::context`] and [`NgsiRequest::body`].
pub struct NgsiRequest {
    /// The NGSI-LD tenant (`""` = the default tenant).
    pub tenant: String,
    /// The entity types the caller is limited to (`None` = all).
    pub types: Option<Arc<Vec<String>>>,
    /// The query string, decoded.
    pub params: Params,
    /// The request headers.
    pub headers: HeaderMap,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for NgsiRequest {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let t = parts.extensions.get::<Tenant>();
        Ok(NgsiRequest {
            tenant: t.map(|t| t.0.clone()).unwrap_or_default(),
            types: t.and_then(|t| t.1.clone()),
            params: Params::parse(parts.uri.query()),
            headers: parts.headers.clone(),
        })
    }
}

impl NgsiRequest {
    /// The representation the client accepts (406 NotAcceptable otherwise).
    pub(crate) fn accept(&self) -> NgsiResult<Accept> {
        accept(&self.headers)
    }

    /// The `@context` of the `Link` header (or the core context).
    pub(crate) async fn context(&self, twin: &Twin) -> NgsiResult<Arc<Context>> {
        header_context(twin, &self.headers).await
    }

    /// The JSON body (400, 413 or 415 when it cannot be read).
    pub(crate) fn body(&self, raw: RawBody) -> NgsiResult<Body> {
        read_body(&self.headers, raw)
    }

    /// The `@context` of a body member `obj` of `body` (in the body for
    /// `application/ld+json`, else in the `Link` header).
    pub(crate) async fn body_context(
        &self,
        twin: &Twin,
        body: &Body,
        obj: &Value,
    ) -> NgsiResult<Arc<Context>> {
        body_context(twin, &self.headers, body, obj).await
    }
}
