//! Batch operations `/entityOperations/{create,upsert,update,delete,merge}` (GS CIM 009
//! §5.6.7 to §5.6.10, §5.6.20, §6.14 to §6.17, §6.31).

use super::NgsiRequest;
use crate::ld::context::Context;
use crate::ld::error::{NgsiError, NgsiResult, ProblemKind};
use crate::ld::model::{self, Entity};
use crate::service::provision;
use crate::service::{self, EntityOp, UpdateReport};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::Arc;

use super::render::no_content;
use super::request::{body_context, link_context, read_body, RawBody};
use super::{check_id, TwinState};

/// A batch member: its id and its parsed item with its context (or why it is invalid).
pub(crate) type ParsedItem<T> = (String, NgsiResult<(T, Arc<Context>)>);

/// A batch member parsed as an entity.
pub(crate) type Parsed = ParsedItem<Entity>;

/// One entity of a batch body with its own context (ld+json) and parse result.
pub(crate) async fn batch_entities(
    st: &TwinState,
    h: &HeaderMap,
    b: RawBody,
) -> NgsiResult<Vec<Parsed>> {
    batch_items(st, h, b, model::parse_entity).await
}

/// The items of a batch body (§5.6.7 ff.), each parsed by `parse` with its own context;
/// 400 for a body that is not a non-empty array of objects.
pub(crate) async fn batch_items<T>(
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

pub(crate) fn batch_response(
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
pub(crate) fn split_outcomes(
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

pub(crate) async fn run_batch<T>(
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
pub(crate) async fn batch_create(
    State(st): State<TwinState>,
    r: NgsiRequest,
    b: RawBody,
) -> NgsiResult<Response> {
    let parsed = batch_entities(&st, &r.headers, b).await?;
    let (res, mut errors) = run_batch(&st, &r.tenant, parsed, service::create_op).await;
    let ok = split_outcomes(res, &mut errors);
    Ok(batch_response(StatusCode::CREATED, ok, errors, true))
}

/// POST /entityOperations/upsert (§6.15; `options=update` merges attributes, default
/// `replace`): 201 with the ids created, 204 when all existed, 207 with errors.
pub(crate) async fn batch_upsert(
    State(st): State<TwinState>,
    r: NgsiRequest,
    b: RawBody,
) -> NgsiResult<Response> {
    let p = &r.params;
    let update = p.option("update");
    let tenant = r.tenant.clone();
    let parsed = batch_entities(&st, &r.headers, b).await?;
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

pub(crate) fn upsert_update_op(e: Entity) -> service::OpFn {
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
pub(crate) async fn batch_update(
    State(st): State<TwinState>,
    r: NgsiRequest,
    b: RawBody,
) -> NgsiResult<Response> {
    let p = &r.params;
    let no_overwrite = p.option("noOverwrite");
    let parsed = batch_entities(&st, &r.headers, b).await?;
    let (res, mut errors) = run_batch(&st, &r.tenant, parsed, |e| {
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
pub(crate) async fn batch_delete(
    State(st): State<TwinState>,
    r: NgsiRequest,
    b: RawBody,
) -> NgsiResult<Response> {
    let body = r.body(b)?;
    let arr = body
        .value
        .as_array()
        .ok_or_else(|| NgsiError::bad_data("the body must be an array of entity ids"))?;
    if arr.is_empty() {
        return Err(NgsiError::bad_data("the array of entity ids is empty"));
    }
    let tenant = r.tenant.clone();
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

/// POST /entityOperations/merge (§5.6.20, batch merge): merges each entity of the array
/// into the existing one of the same id (attributes given are put, others kept). 204, or
/// 207 with `success` and `errors` (404 for entities that do not exist). Errors: 400 for
/// an empty array, a non-object item or an invalid entity.
pub(crate) async fn batch_merge(
    State(st): State<TwinState>,
    r: NgsiRequest,
    b: RawBody,
) -> NgsiResult<Response> {
    let parsed = batch_items(&st, &r.headers, b, |x, ctx, now| {
        let id = x.get("id").and_then(Value::as_str).unwrap_or("");
        check_id(id)?;
        provision::parse_fragment(x, ctx, now, true)
    })
    .await?;
    let (res, mut errors) = run_batch(&st, &r.tenant, parsed, |f| {
        provision::fragment_op(f, provision::Mode::Merge)
    })
    .await;
    let ok = split_outcomes(res, &mut errors);
    Ok(batch_response(StatusCode::NO_CONTENT, ok, errors, false))
}
