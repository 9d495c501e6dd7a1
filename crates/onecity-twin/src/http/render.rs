//! Rendering answers: JSON, JSON-LD (`@context` in the body or a `Link` header) and
//! GeoJSON, update reports (207), and entities with their linked entities (join).

use crate::ld::context::Context;
use crate::ld::error::NgsiError;
use crate::ld::model::{self, Entity, RenderOpts};
use crate::service::link::Linker;
use crate::service::{Twin, UpdateReport};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::request::Accept;
use super::View;

pub(crate) fn geojson_feature(e: &Entity, ctx: &Context, o: &RenderOpts, geoprop: &str) -> Value {
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
pub(crate) fn geojson_context(h: &HeaderMap, ctx: &Context, body: &mut Value) {
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

pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) fn report_response(r: &UpdateReport, ctx: &Context) -> Response {
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

/// NGSI-LD problem details as an HTTP answer (`application/json`, GS CIM 009 §5.5.2),
/// with `Retry-After` when the error carries one; 5xx are logged, never detailed.
impl axum::response::IntoResponse for NgsiError {
    fn into_response(self) -> axum::response::Response {
        if self.kind.status() >= 500 {
            tracing::error!(kind = ?self.kind, detail = %self.detail, "NGSI-LD request failed");
        }
        let status = axum::http::StatusCode::from_u16(self.kind.status())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (
            status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            self.body().to_string(),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        resp
    }
}
