//! The `/subscriptions` resource (GS CIM 009 §5.8, §6.10, §6.11): create, list, read,
//! update and delete subscriptions; validation and storage are the service's
//! ([`crate::service::subscription`], [`crate::service::notify::Notifier`]).

use super::{respond, NgsiRequest, RawBody, TwinState};
use crate::ld::error::{NgsiError, NgsiResult, ProblemKind};
use crate::ld::model;
use crate::service::notify::Notifier;
use crate::service::subscription::*;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{Map, Value};

/// The routes of `/subscriptions`, merged into [`super::router`] (behind the same access
/// control as the entities: `twin:read` to read, `twin:write` to change).
pub(super) fn routes(state: TwinState, notifier: Notifier) -> Router<TwinState> {
    let st = SubState {
        twin: state,
        notifier,
    };
    Router::new()
        .route("/subscriptions", get(list_subs).post(create_sub))
        .route(
            "/subscriptions/{id}",
            get(get_sub).patch(patch_sub).delete(delete_sub),
        )
        .with_state(st)
}

#[derive(Clone)]
struct SubState {
    twin: TwinState,
    notifier: Notifier,
}

/// Subscriptions are not limited by entity type: credentials limited to some types
/// (`twin:read:<Type>`) may not read them (writes are refused by the access layer, as
/// `Subscription` is not one of their types).
fn no_type_limit(r: &NgsiRequest) -> NgsiResult<()> {
    if r.types.is_some() {
        return Err(NgsiError::new(
            ProblemKind::Forbidden,
            "credentials limited to some entity types cannot use subscriptions",
        ));
    }
    Ok(())
}

/// The members of a Subscription a client may set (§5.2.12 Table 5.2.12-1).
const CLIENT_MEMBERS: [&str; 20] = [
    "id",
    "type",
    "subscriptionName",
    "description",
    "entities",
    "watchedAttributes",
    "notificationTrigger",
    "timeInterval",
    "q",
    "geoQ",
    "csf",
    "isActive",
    "notification",
    "expiresAt",
    "throttling",
    "temporalQ",
    "scopeQ",
    "lang",
    "datasetId",
    "jsonldContext",
];

/// The read-only members of NotificationParams (§5.2.14), provided by the broker.
const NOTIFICATION_STATUS_MEMBERS: [&str; 6] = [
    "timesSent",
    "timesFailed",
    "lastNotification",
    "lastFailure",
    "lastSuccess",
    "status",
];

/// The members of a request body the subscription keeps: `@context`, read-only members
/// (§5.2.12 Table 5.2.12-2: `status`, the notification status) and anything that is not a
/// Subscription member are left out, so they are neither stored nor shown.
fn strip_context(v: &Value) -> NgsiResult<Map<String, Value>> {
    let mut m = v
        .as_object()
        .cloned()
        .ok_or_else(|| NgsiError::bad_data("a subscription is a JSON object"))?;
    m.retain(|k, _| CLIENT_MEMBERS.contains(&k.as_str()));
    if let Some(Value::Object(n)) = m.get_mut("notification") {
        n.retain(|k, _| !NOTIFICATION_STATUS_MEMBERS.contains(&k.as_str()));
    }
    Ok(m)
}

/// POST /subscriptions (§6.10.3.1): 201 with `Location`; 409 AlreadyExists; 400.
async fn create_sub(
    State(st): State<SubState>,
    r: NgsiRequest,
    b: RawBody,
) -> NgsiResult<Response> {
    let body = r.body(b)?;
    let ctx = r.body_context(&st.twin.twin, &body, &body.value).await?;
    let mut m = strip_context(&body.value)?;
    let now = onecity_core::time::now_micros();
    let id = match m.get("id") {
        None => format!("urn:ngsi-ld:Subscription:{}", uuid::Uuid::new_v4()),
        Some(Value::String(s)) if model::is_uri(s) => s.clone(),
        Some(x) => return Err(NgsiError::bad_data(format!("id {x} is not a URI"))),
    };
    m.insert("id".into(), Value::String(id.clone()));
    let tenant = r.tenant.clone();
    check_jsonld_context(&st.twin.twin, &m).await?;
    let sub = parse(&tenant, &id, &m, ctx.clone(), now, true)?;
    st.notifier.create(sub, &m, &ctx.echo(), now).await?;
    let mut resp = StatusCode::CREATED.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/ngsi-ld/v1/subscriptions/{id}")) {
        resp.headers_mut().insert("location", v);
    }
    Ok(resp)
}

/// GET /subscriptions (§6.10.3.2): `limit`, `offset`, `count=true`
/// (`NGSILD-Results-Count`), in id order.
async fn list_subs(State(st): State<SubState>, r: NgsiRequest) -> NgsiResult<Response> {
    no_type_limit(&r)?;
    let p = &r.params;
    let acc = r.accept()?;
    let ctx = r.context(&st.twin.twin).await?;
    let (limit, offset) = super::paging(p, &st.twin.twin)?;
    let all = st.notifier.list(&r.tenant, &ctx);
    let total = all.len();
    let page: Vec<Value> = all.into_iter().skip(offset).take(limit).collect();
    let mut extra = list_links(acc, offset, limit, total);
    if p.get("count") == Some("true") {
        extra.push(("ngsild-results-count", total.to_string()));
    }
    extra.extend(preference_applied(&r.headers));
    Ok(respond(
        StatusCode::OK,
        Value::Array(page),
        &ctx,
        acc,
        extra,
    ))
}

/// GET /subscriptions/{id} (§6.11.3.1): 200; 404.
async fn get_sub(
    State(st): State<SubState>,
    r: NgsiRequest,
    Path(id): Path<String>,
) -> NgsiResult<Response> {
    if !model::is_uri(&id) {
        return Err(NgsiError::bad_data(format!("{id:?} is not a URI")));
    }
    no_type_limit(&r)?;
    let acc = r.accept()?;
    let ctx = r.context(&st.twin.twin).await?;
    st.notifier.settle(&r.tenant, &id).await;
    let v = st
        .notifier
        .render(&r.tenant, &id, &ctx)
        .ok_or_else(|| NgsiError::not_found(format!("subscription {id} does not exist")))?;
    Ok(respond(
        StatusCode::OK,
        v,
        &ctx,
        acc,
        preference_applied(&r.headers),
    ))
}

/// The `Link` headers of a page of `GET /subscriptions` (§5.8.4, §6.3.x pagination):
/// `rel="prev"` unless it is the first page, `rel="next"` unless it is the last.
fn list_links(
    acc: super::Accept,
    offset: usize,
    limit: usize,
    total: usize,
) -> Vec<(&'static str, String)> {
    let media = match acc {
        super::Accept::JsonLd => "application/ld+json",
        _ => "application/json",
    };
    super::prev_next_links(offset, limit, total, media, |o| {
        format!("/ngsi-ld/v1/subscriptions?limit={limit}&offset={o}")
    })
}

/// The NGSI-LD version a request prefers (`Prefer: ngsi-ld=<version>`, GS CIM 009
/// §6.3.6 with RFC 7240): preference names are case-insensitive, values may be quoted,
/// parameters after `;` and other preferences are skipped.
pub fn preferred_version(h: &HeaderMap) -> Option<String> {
    h.get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|pref| {
            let head = pref.split(';').next().unwrap_or("");
            let (name, value) = head.split_once('=')?;
            if !name.trim().eq_ignore_ascii_case("ngsi-ld") {
                return None;
            }
            let value = value.trim().trim_matches('"').trim();
            (!value.is_empty()).then(|| value.to_string())
        })
}

/// `Preference-Applied: ngsi-ld=<version>` when a version was preferred: a Subscription
/// has no version fallbacks (§4.3.6.8), so it is served unaltered under any version.
fn preference_applied(h: &HeaderMap) -> Vec<(&'static str, String)> {
    preferred_version(h)
        .map(|v| vec![("preference-applied", format!("ngsi-ld={v}"))])
        .unwrap_or_default()
}

/// PATCH /subscriptions/{id} (§6.11.3.2): the given members replace the stored ones (a
/// `null` member is removed); the result is validated as a whole. 204; 404; 400.
async fn patch_sub(
    State(st): State<SubState>,
    r: NgsiRequest,
    Path(id): Path<String>,
    b: RawBody,
) -> NgsiResult<Response> {
    if !model::is_uri(&id) {
        return Err(NgsiError::bad_data(format!("{id:?} is not a URI")));
    }
    let body = r.body(b)?;
    let _ = r.body_context(&st.twin.twin, &body, &body.value).await?;
    let frag = strip_context(&body.value)?;
    if frag.is_empty() {
        return Err(NgsiError::bad_data("the PATCH body has no members"));
    }
    if let Some(x) = frag.get("id") {
        if x.as_str() != Some(id.as_str()) {
            return Err(NgsiError::bad_data(
                "the id of a subscription cannot change",
            ));
        }
    }
    if frag.get("watchedAttributes").is_some_and(Value::is_null) {
        return Err(NgsiError::bad_data(
            "watchedAttributes is null: leave it out, or give a non-empty array",
        ));
    }
    check_jsonld_context(&st.twin.twin, &frag).await?;
    st.notifier.update(&r.tenant, &id, frag).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// DELETE /subscriptions/{id} (§6.11.3.3): 204; 404.
async fn delete_sub(
    State(st): State<SubState>,
    r: NgsiRequest,
    Path(id): Path<String>,
) -> NgsiResult<Response> {
    if !model::is_uri(&id) {
        return Err(NgsiError::bad_data(format!("{id:?} is not a URI")));
    }
    if !st.notifier.delete(&r.tenant, &id).await? {
        return Err(NgsiError::new(
            ProblemKind::ResourceNotFound,
            format!("subscription {id} does not exist"),
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
