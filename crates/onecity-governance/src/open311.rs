//! Open311 GeoReport v2 at `/open311/v2` (<http://wiki.open311.org/GeoReport_v2>).
//!
//! | method and path | spec section |
//! |---|---|
//! | `GET discovery.{json,xml}` | Service Discovery |
//! | `GET services.{json,xml}?jurisdiction_id=` | GET Service List |
//! | `GET services/{code}.{json,xml}` | GET Service Definition |
//! | `POST requests.{json,xml}` (form-encoded; JSON accepted as our extension) | POST Service Request |
//! | `GET tokens/{token}.{json,xml}` | GET request_id from a token |
//! | `GET requests.{json,xml}` with `service_request_id`, `service_code`, `start_date`, `end_date`, `status` | GET Service Requests |
//! | `GET requests/{id}.{json,xml}` | GET Service Request |
//!
//! `jurisdiction_id` names a tenant (its code). Errors use the spec's error list
//! (`[{"code":400,"description":"…"}]`, or `<errors><error><code>…`), never problem
//! details. POSTs need `api_key`: a platform app key holding the scope `open311`.
//! Without `start_date`/`end_date`/`service_request_id`, `GET requests` covers the last 90
//! days (spec default); every answer holds at most 1,000 requests (extension: `page`,
//! from 1, and `page_size` ≤ 1,000). Times are shown in the jurisdiction's zone.

use crate::model::{Contact, NewEvent};
use crate::service::Limits;
use crate::store;
use crate::timefmt;
use crate::Gov;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use onecity_core::{Error, ErrorCode};
use onecity_iam::{Permission, Principal};
use serde_json::{json, Map, Value};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The Open311 router (state: [`Gov`]).
pub fn routes() -> OpenApiRouter<Gov> {
    OpenApiRouter::new()
        .routes(routes!(get_root, post_root))
        .routes(routes!(get_service))
        .routes(routes!(get_request))
        .routes(routes!(get_token))
}

/// Response format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`.
    Json,
    /// `text/xml`.
    Xml,
}

/// An Open311 error: HTTP status and description.
#[derive(Debug, Clone)]
pub struct O311Error(pub u16, pub String, pub Format);

impl IntoResponse for O311Error {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0).unwrap_or(StatusCode::BAD_REQUEST);
        let list = json!([{"code": self.0, "description": self.1}]);
        render(status, self.2, &list, "errors", "error")
    }
}

/// Maps by class (no wildcard: a new class must be decided here). GeoReport v2 answers
/// every request problem, a missing API key included, with 400, and a wrong key with 403.
fn from_core(e: Error, f: Format) -> O311Error {
    use onecity_core::ErrorClass as K;
    let status = match e.code.class() {
        K::BadRequest if e.code == ErrorCode::MethodNotAllowed => 405,
        K::BadRequest | K::Invalid => 400,
        K::Unauthenticated if e.code == ErrorCode::Unauthenticated => 400,
        K::Unauthenticated | K::Forbidden => 403,
        K::NotFound => 404,
        K::Conflict => 409,
        K::TooLarge => 413,
        K::UnsupportedMedia => 415,
        K::RateLimited => 429,
        K::Unavailable => 503,
        K::Internal => 500,
    };
    if status >= 500 {
        tracing::error!(code = e.code.code(), detail = %e.detail, "open311 request failed");
    }
    O311Error(status, e.public_detail(), f)
}

/// Splits `name.json` / `name.xml`.
fn split(file: &str) -> Result<(&str, Format), O311Error> {
    if let Some(n) = file.strip_suffix(".json") {
        Ok((n, Format::Json))
    } else if let Some(n) = file.strip_suffix(".xml") {
        Ok((n, Format::Xml))
    } else {
        Err(O311Error(
            404,
            format!("{file:?}: the format must be .json or .xml"),
            Format::Json,
        ))
    }
}

fn pairs(q: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(q).into_owned().collect()
}

fn first<'a>(p: &'a [(String, String)], k: &str) -> Option<&'a str> {
    p.iter()
        .find(|(a, _)| a == k)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Renders a JSON value, or XML with `root` holding `item` elements for a top-level array.
pub fn render(status: StatusCode, f: Format, v: &Value, root: &str, item: &str) -> Response {
    match f {
        Format::Json => (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            v.to_string(),
        )
            .into_response(),
        Format::Xml => {
            let mut s = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            match v {
                Value::Array(xs) => {
                    s.push_str(&format!("<{root}>"));
                    for x in xs {
                        xml_value(&mut s, item, x);
                    }
                    s.push_str(&format!("</{root}>"));
                }
                other => xml_value(&mut s, root, other),
            }
            (
                status,
                [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
                s,
            )
                .into_response()
        }
    }
}

fn child_name(list: &str) -> &str {
    match list {
        "attributes" => "attribute",
        "values" => "value",
        "endpoints" => "endpoint",
        "formats" => "format",
        "keywords" => "keyword",
        _ => "item",
    }
}

fn xml_value(s: &mut String, name: &str, v: &Value) {
    match v {
        Value::Null => s.push_str(&format!("<{name}/>")),
        Value::Object(m) => {
            s.push_str(&format!("<{name}>"));
            for (k, x) in m {
                xml_value(s, k, x);
            }
            s.push_str(&format!("</{name}>"));
        }
        Value::Array(xs) => {
            s.push_str(&format!("<{name}>"));
            for x in xs {
                xml_value(s, child_name(name), x);
            }
            s.push_str(&format!("</{name}>"));
        }
        Value::String(t) => s.push_str(&format!(
            "<{name}>{}</{name}>",
            quick_xml::escape::escape(t.as_str())
        )),
        other => s.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

async fn tenant_of(g: &Gov, p: &[(String, String)], f: Format) -> Result<String, O311Error> {
    let j = first(p, "jurisdiction_id").ok_or_else(|| {
        O311Error(
            400,
            "jurisdiction_id is required (the city's code)".into(),
            f,
        )
    })?;
    g.iam()
        .tenant_unchecked(j)
        .await
        .map(|t| t.code)
        .map_err(|_| O311Error(404, format!("jurisdiction_id {j:?} is not served here"), f))
}

fn base_url(h: &HeaderMap) -> String {
    match h.get(header::HOST).and_then(|v| v.to_str().ok()) {
        Some(host) => format!("http://{host}/open311/v2"),
        None => "/open311/v2".into(),
    }
}

/// Discovery, service list or requests (GET).
#[utoipa::path(get, path = "/open311/v2/{file}", tag = "open311",
    params(("file" = String, Path, description = "`discovery.json|xml`, `services.json|xml` or `requests.json|xml`"),
           ("jurisdiction_id" = Option<String>, Query, description = "tenant code"),
           ("service_request_id" = Option<String>, Query, description = "comma-separated ids (overrides the other filters)"),
           ("service_code" = Option<String>, Query, description = "comma-separated codes"),
           ("start_date" = Option<String>, Query, description = "earliest requested_datetime (W3C, inclusive)"),
           ("end_date" = Option<String>, Query, description = "latest requested_datetime (W3C, inclusive)"),
           ("status" = Option<String>, Query, description = "open, closed or both comma-separated")),
    responses((status = 200, description = "GeoReport v2 list (JSON or XML)"), (status = 400, description = "error list"), (status = 404, description = "error list")))]
async fn get_root(
    State(g): State<Gov>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, O311Error> {
    let (name, f) = split(&file)?;
    let p = pairs(q.unwrap_or_default().as_bytes());
    match name {
        "discovery" => {
            let d = json!({
                "changeset": "2026-01-01T00:00:00Z",
                "contact": "onecity operators",
                "key_service": "app keys with the scope open311: /api/v1/tenants/{tenant}/keys",
                "endpoints": [{
                    "specification": "http://wiki.open311.org/GeoReport_v2",
                    "url": base_url(&headers),
                    "changeset": "2026-01-01T00:00:00Z",
                    "type": "production",
                    "formats": ["application/json", "text/xml"]
                }]
            });
            Ok(render(StatusCode::OK, f, &d, "discovery", "discovery"))
        }
        "services" => {
            let t = tenant_of(&g, &p, f).await?;
            let list: Vec<Value> = g
                .services(&t)
                .await
                .map_err(|e| from_core(e, f))?
                .into_iter()
                .map(|s| {
                    json!({"service_code": s.code, "service_name": s.name, "description": s.description.unwrap_or_default(),
                           "metadata": !s.attributes.is_empty(), "type": s.kind.unwrap_or_else(|| "realtime".into()),
                           "keywords": s.keywords.unwrap_or_default(), "group": s.group.unwrap_or_default()})
                })
                .collect();
            Ok(render(
                StatusCode::OK,
                f,
                &Value::Array(list),
                "services",
                "service",
            ))
        }
        "requests" => {
            let t = tenant_of(&g, &p, f).await?;
            let list = requests(&g, &t, &p, f).await?;
            Ok(render(
                StatusCode::OK,
                f,
                &Value::Array(list),
                "service_requests",
                "request",
            ))
        }
        _ => Err(O311Error(404, format!("no resource {file:?}"), f)),
    }
}

/// `GET requests` with the spec's filters.
async fn requests(
    g: &Gov,
    tenant: &str,
    p: &[(String, String)],
    f: Format,
) -> Result<Vec<Value>, O311Error> {
    let bad = |m: String| O311Error(400, m, f);
    let mut filter = store::events::RequestFilter::default();
    let list = |v: &str| -> Vec<String> {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    if let Some(ids) = first(p, "service_request_id") {
        let ids = list(ids);
        if ids.len() > Limits::OPEN311_MAX {
            return Err(bad(format!(
                "at most {} service_request_id values",
                Limits::OPEN311_MAX
            )));
        }
        filter.request_ids = Some(ids);
    } else {
        if let Some(c) = first(p, "service_code") {
            filter.service_codes = Some(list(c));
        }
        if let Some(s) = first(p, "status") {
            let st = list(s);
            if let Some(x) = st.iter().find(|x| *x != "open" && *x != "closed") {
                return Err(bad(format!("status {x:?} must be open or closed")));
            }
            filter.statuses = Some(st);
        }
        let date = |k: &str| -> Result<Option<i64>, O311Error> {
            match first(p, k) {
                None => Ok(None),
                Some(v) => timefmt::parse_w3c(v).map(Some).ok_or_else(|| {
                    O311Error(
                        400,
                        format!("{k} {v:?} is not a W3C date-time (e.g. 2011-03-01T16:45:01.017Z)"),
                        f,
                    )
                }),
            }
        };
        let (start, end) = (date("start_date")?, date("end_date")?);
        if let (Some(s), Some(e)) = (start, end) {
            if s > e {
                return Err(bad("start_date is after end_date".into()));
            }
        }
        let (start, end) = match (start, end) {
            (None, None) => {
                let now = onecity_core::time::now_micros();
                (Some(now - 90 * 86_400_000_000), None)
            }
            x => x,
        };
        filter.requested_from = start;
        filter.requested_to = end;
    }
    let page_size = match first(p, "page_size") {
        None => Limits::OPEN311_MAX,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=Limits::OPEN311_MAX).contains(n))
            .ok_or_else(|| bad(format!("page_size must be 1..{}", Limits::OPEN311_MAX)))?,
    };
    let page = match first(p, "page") {
        None => 1,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| bad("page must be a positive integer".into()))?,
    };
    let rows = store::events::requests(
        g.iam().db(),
        tenant,
        &filter,
        page_size,
        (page - 1) * page_size,
    )
    .await
    .map_err(|e| from_core(e, f))?;
    let jurisdictions: Vec<Option<uuid::Uuid>> =
        rows.iter().map(|row| row.jurisdiction_id).collect();
    let zones = g
        .zones_of(tenant, &jurisdictions)
        .await
        .map_err(|e| from_core(e, f))?;
    rows.iter()
        .zip(zones)
        .map(|(r, tz)| request_json(r, tz))
        .collect::<onecity_core::Result<Vec<_>>>()
        .map_err(|e| from_core(e, f))
}

/// One event as a GeoReport v2 request (times in the event's zone `zone`).
fn request_json(
    row: &store::events::RequestRow,
    zone: chrono_tz::Tz,
) -> onecity_core::Result<Value> {
    let local = |micros: Option<i64>| -> Value {
        micros
            .map(|m| Value::String(timefmt::in_zone(m, zone)))
            .unwrap_or(Value::Null)
    };
    let number = |value: Option<f64>| -> Value { value.map(|x| json!(x)).unwrap_or(Value::Null) };
    Ok(json!({
        "service_request_id": row.request_id,
        "status": row.status,
        "status_notes": row.status_notes,
        "service_name": row.service_name,
        "service_code": row.service_code,
        "description": row.description,
        "agency_responsible": row.agency,
        "service_notice": Value::Null,
        "requested_datetime": local(Some(row.requested_at)),
        "updated_datetime": local(Some(row.updated_at)),
        "expected_datetime": local(row.due_at),
        "address": row.address,
        "address_id": row.address_id,
        "zipcode": row.zipcode,
        "lat": number(row.lat),
        "long": number(row.lon),
        "media_url": row.media_url.clone().unwrap_or_default(),
    }))
}

/// One service definition.
#[utoipa::path(get, path = "/open311/v2/services/{file}", tag = "open311",
    params(("file" = String, Path, description = "`{service_code}.json` or `.xml`"), ("jurisdiction_id" = String, Query, description = "tenant code")),
    responses((status = 200, description = "service definition"), (status = 404, description = "error list")))]
async fn get_service(
    State(g): State<Gov>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, O311Error> {
    let (code, f) = split(&file)?;
    let p = pairs(q.unwrap_or_default().as_bytes());
    let t = tenant_of(&g, &p, f).await?;
    let s = g
        .service(&t, code)
        .await
        .map_err(|e| from_core(e, f))?
        .ok_or_else(|| O311Error(404, format!("service_code {code:?} not found"), f))?;
    let attrs: Vec<Value> = s
        .attributes
        .iter()
        .map(|a| {
            json!({"variable": a.variable, "code": a.code, "datatype": a.datatype, "required": a.required,
                   "datatype_description": a.datatype_description.clone().unwrap_or_default(), "order": a.order,
                   "description": a.description, "values": a.values.iter().map(|v| json!({"key": v.key, "name": v.name})).collect::<Vec<_>>()})
        })
        .collect();
    let d = json!({"service_code": s.code, "attributes": attrs});
    Ok(render(
        StatusCode::OK,
        f,
        &d,
        "service_definition",
        "service_definition",
    ))
}

/// One request.
#[utoipa::path(get, path = "/open311/v2/requests/{file}", tag = "open311",
    params(("file" = String, Path, description = "`{service_request_id}.json` or `.xml`"), ("jurisdiction_id" = String, Query, description = "tenant code")),
    responses((status = 200, description = "a list with the request"), (status = 404, description = "error list")))]
async fn get_request(
    State(g): State<Gov>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, O311Error> {
    let (id, f) = split(&file)?;
    let mut p = pairs(q.unwrap_or_default().as_bytes());
    let t = tenant_of(&g, &p, f).await?;
    p.retain(|(k, _)| k == "jurisdiction_id");
    p.push(("service_request_id".into(), id.replace(',', "")));
    let list = requests(&g, &t, &p, f).await?;
    if list.is_empty() {
        return Err(O311Error(
            404,
            format!("service_request_id {id:?} not found"),
            f,
        ));
    }
    Ok(render(
        StatusCode::OK,
        f,
        &Value::Array(list),
        "service_requests",
        "request",
    ))
}

/// The request id behind a token.
#[utoipa::path(get, path = "/open311/v2/tokens/{file}", tag = "open311",
    params(("file" = String, Path, description = "`{token}.json` or `.xml`"), ("jurisdiction_id" = String, Query, description = "tenant code")),
    responses((status = 200, description = "`[{service_request_id, token}]`"), (status = 404, description = "error list")))]
async fn get_token(
    State(g): State<Gov>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, O311Error> {
    let (token, f) = split(&file)?;
    let p = pairs(q.unwrap_or_default().as_bytes());
    let t = tenant_of(&g, &p, f).await?;
    let request_id = store::events::request_id_by_token(g.iam().db(), &t, token)
        .await
        .map_err(|e| from_core(e, f))?
        .ok_or_else(|| O311Error(404, format!("token {token:?} not found"), f))?;
    let v = json!([{"service_request_id": request_id, "token": token}]);
    Ok(render(StatusCode::OK, f, &v, "service_requests", "request"))
}

/// Reads a POST body into name/value pairs: form-encoded (the spec), or a JSON object (our
/// extension; strings, numbers, booleans, and arrays for `attribute[code]` values).
fn body_pairs(
    headers: &HeaderMap,
    body: &[u8],
    f: Format,
) -> Result<Vec<(String, String)>, O311Error> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/x-www-form-urlencoded")
        .to_ascii_lowercase();
    if ct.starts_with("application/json") {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| O311Error(400, format!("the body is not valid JSON: {e}"), f))?;
        let Value::Object(m) = v else {
            return Err(O311Error(400, "the JSON body must be an object".into(), f));
        };
        let mut out = Vec::new();
        let scalar = |v: &Value| -> Option<String> {
            match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            }
        };
        for (k, v) in m {
            match (&v, k.as_str()) {
                (Value::Object(attrs), "attribute") => {
                    for (code, av) in attrs {
                        match av {
                            Value::Array(xs) => {
                                for x in xs {
                                    let s = scalar(x).ok_or_else(|| O311Error(400, format!("attribute {code:?}: values must be strings or numbers"), f))?;
                                    out.push((format!("attribute[{code}][]"), s));
                                }
                            }
                            x => {
                                let s = scalar(x).ok_or_else(|| {
                                    O311Error(
                                        400,
                                        format!(
                                            "attribute {code:?}: value must be a string or number"
                                        ),
                                        f,
                                    )
                                })?;
                                out.push((format!("attribute[{code}]"), s));
                            }
                        }
                    }
                }
                (Value::Null, _) => {}
                _ => {
                    let s = scalar(&v).ok_or_else(|| {
                        O311Error(400, format!("{k:?} must be a string or a number"), f)
                    })?;
                    out.push((k, s));
                }
            }
        }
        Ok(out)
    } else if ct.starts_with("application/x-www-form-urlencoded") {
        if std::str::from_utf8(body).is_err() {
            return Err(O311Error(400, "the form body is not UTF-8".into(), f));
        }
        Ok(pairs(body))
    } else {
        Err(O311Error(
            415,
            format!(
                "content type {ct:?}: send application/x-www-form-urlencoded (or application/json)"
            ),
            f,
        ))
    }
}

/// Maps POST fields onto a [`NewEvent`]; `attribute[code]=v` and `attribute[code][]=v`
/// (multivaluelist, repeated) become attribute answers.
pub fn new_event_of(p: &[(String, String)]) -> Result<NewEvent, String> {
    let num = |k: &str| -> Result<Option<f64>, String> {
        match first(p, k) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Some)
                .ok_or_else(|| format!("{k} {v:?} is not a number")),
        }
    };
    let s = |k: &str| first(p, k).map(str::to_string);
    let mut attributes = Map::new();
    for (k, v) in p {
        let Some(rest) = k.strip_prefix("attribute[") else {
            continue;
        };
        if let Some(code) = rest.strip_suffix("][]") {
            let e = attributes
                .entry(code.to_string())
                .or_insert_with(|| Value::Array(vec![]));
            if let Value::Array(xs) = e {
                xs.push(Value::String(v.clone()));
            }
        } else if let Some(code) = rest.strip_suffix(']') {
            attributes.insert(code.to_string(), Value::String(v.clone()));
        } else {
            return Err(format!("{k:?} is not attribute[code] or attribute[code][]"));
        }
    }
    let service_code = s("service_code").ok_or("service_code is required")?;
    Ok(NewEvent {
        service_code,
        description: s("description"),
        lat: num("lat")?,
        long: num("long")?,
        address_string: s("address_string"),
        address_id: s("address_id"),
        zipcode: s("zipcode"),
        media_url: s("media_url"),
        attributes,
        attachments: vec![],
        contact: Contact {
            email: s("email"),
            first_name: s("first_name"),
            last_name: s("last_name"),
            phone: s("phone"),
            device_id: s("device_id"),
            account_id: s("account_id"),
        },
        source: Some("open311".into()),
        requested_at: None,
    })
}

/// Create a service request (form-encoded `api_key`, `jurisdiction_id`, `service_code`,
/// `lat`/`long` or `address_string`/`address_id`, `description`, contact fields,
/// `attribute[code]` and `attribute[code][]`).
#[utoipa::path(post, path = "/open311/v2/{file}", tag = "open311",
    params(("file" = String, Path, description = "`requests.json` or `requests.xml`")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "GeoReport v2 fields"),
    responses((status = 201, description = "`[{service_request_id, token, service_notice, account_id}]`"), (status = 400, description = "error list"), (status = 403, description = "error list")))]
async fn post_root(
    State(g): State<Gov>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, O311Error> {
    let (name, f) = split(&file)?;
    if name != "requests" {
        return Err(O311Error(404, format!("cannot POST to {file:?}"), f));
    }
    let mut p = body_pairs(&headers, &body, f)?;
    // Parameters in the query string count too (some clients send api_key there).
    p.extend(pairs(q.unwrap_or_default().as_bytes()));
    let key = first(&p, "api_key")
        .map(str::to_string)
        .or_else(|| onecity_iam::http::credential(&headers).map(str::to_string))
        .ok_or_else(|| O311Error(400, "api_key is required".into(), f))?;
    let principal = g.iam().authenticate(&key).await.map_err(|e| {
        O311Error(
            if e.code == ErrorCode::RateLimited {
                429
            } else {
                403
            },
            e.detail,
            f,
        )
    })?;
    let t = tenant_of(&g, &p, f).await?;
    authorise(&principal, &t).map_err(|m| O311Error(403, m, f))?;
    let n = new_event_of(&p).map_err(|m| O311Error(400, m, f))?;
    let c = g
        .create_event(&principal, &t, &n)
        .await
        .map_err(|e| from_core(e, f))?;
    let notice = if c.duplicates.is_empty() {
        Value::Null
    } else {
        json!(format!(
            "{} similar open request(s) nearby",
            c.duplicates.len()
        ))
    };
    let v = json!([{"service_request_id": c.event.service_request_id, "token": c.token,
                     "service_notice": notice, "account_id": n.contact.account_id}]);
    Ok(render(
        StatusCode::CREATED,
        f,
        &v,
        "service_requests",
        "request",
    ))
}

fn authorise(p: &Principal, tenant: &str) -> Result<(), String> {
    if !p.has(Permission::Open311) {
        return Err("this api_key lacks the scope \"open311\"".into());
    }
    if !p.sees_tenant(tenant) {
        return Err("this api_key is not valid for this jurisdiction_id".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_map_to_an_event() {
        let body = "api_key=k&jurisdiction_id=nyc&service_code=pothole&lat=40.7&long=-73.9&description=L%C3%A4nk+till+%C3%A4rendet+%E8%B7%AF%E9%9D%A2%E5%9D%91%E6%B4%BC&attribute[size]=l&attribute[hazards][]=water&attribute[hazards][]=glass";
        let p = pairs(body.as_bytes());
        let n = new_event_of(&p).unwrap();
        assert_eq!(n.description.as_deref(), Some("Länk till ärendet 路面坑洼"));
        assert_eq!(n.attributes["hazards"], json!(["water", "glass"]));
        assert_eq!(n.attributes["size"], json!("l"));
        assert_eq!(n.lat, Some(40.7));
        let e = new_event_of(&pairs(b"service_code=x&lat=north")).unwrap_err();
        assert!(e.contains("lat"));
    }

    #[test]
    fn json_with_leading_zero_numbers_is_a_clear_400() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        let e = body_pairs(&h, br#"{"service_code":001}"#, Format::Json).unwrap_err();
        assert_eq!(e.0, 400);
        assert!(e.1.contains("not valid JSON"), "{}", e.1);
    }

    #[test]
    fn xml_rendering_escapes_and_names_items() {
        let v = json!([{"service_code": "a&b", "attributes": [{"values": [{"key": "1", "name": "<x>"}]}]}]);
        let r = render(
            StatusCode::OK,
            Format::Xml,
            &v,
            "service_definitions",
            "service_definition",
        );
        assert_eq!(r.status(), 200);
        let mut s = String::new();
        xml_value(&mut s, "x", &v[0]);
        assert!(s.contains("<service_code>a&amp;b</service_code>"));
        assert!(s.contains("<attributes><attribute><values><value><key>1</key><name>&lt;x&gt;</name></value></values></attribute></attributes>"));
    }
}
