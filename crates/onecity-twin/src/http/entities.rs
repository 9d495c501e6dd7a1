//! Entities (GS CIM 009 §5.6.1, §5.6.6, §5.6.17, §5.6.21, §5.7.1, §5.7.2, §6.4, §6.5):
//! `/entities`, `/entities/{id}` and `POST /entityOperations/query`.

use super::NgsiRequest;
use crate::ld::context::Context;
use crate::ld::error::{NgsiError, NgsiResult, ProblemKind};
use crate::ld::model::{self, Entity};
use crate::query::join::JoinKind;
use crate::service::provision;
use crate::service::{self, EntityOp};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::Arc;

use super::attributes::apply_fragment;
use super::render::{geojson_context, geojson_feature, no_content, render_joined, respond};
use super::request::{accept, check_read_params, Accept, RawBody};
use super::{
    build_query, check_id, check_query_scope, page_links, paging, view, Params, TwinState,
};
use crate::query::params::is_system_member;

/// POST /entities (§6.4.3.1): 201 with `Location`; 409 AlreadyExists; 400 BadRequestData.
pub(crate) async fn create_entity(
    State(st): State<TwinState>,
    r: NgsiRequest,
    b: RawBody,
) -> NgsiResult<Response> {
    let body = r.body(b)?;
    if !body.value.is_object() {
        return Err(NgsiError::invalid(
            "the body of a create is one entity, a JSON object",
        ));
    }
    let ctx = r.body_context(&st.twin, &body, &body.value).await?;
    let now = onecity_core::time::now_micros();
    let e = model::parse_entity(&body.value, &ctx, now)?;
    let id = e.id.clone();
    st.twin.create_entity(&r.tenant, e).await?;
    let mut resp = StatusCode::CREATED.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/ngsi-ld/v1/entities/{id}")) {
        resp.headers_mut().insert("location", v);
    }
    Ok(resp)
}

/// GET /entities/{id} (§6.5.3.1).
pub(crate) async fn get_entity(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path(id): Path<String>,
) -> NgsiResult<Response> {
    check_id(&id)?;
    let p = &r.params;
    let acc = r.accept()?;
    check_read_params(p, acc)?;
    let ctx = r.context(&st.twin).await?;
    let v = view(p, &ctx)?;
    let e = st
        .twin
        .get(&r.tenant, &id)
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
        geojson_context(&r.headers, &ctx, &mut f);
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
        let limit = r.types.clone();
        let mut l = render_joined(
            &st.twin,
            &r.tenant,
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

pub(crate) async fn run_query(
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
    if let Some(d) = p
        .get("q")
        .map(crate::query::q::linked_depth)
        .filter(|d| *d > 0)
    {
        let level = v.join.map_or(0, |j| j.level);
        if d > level {
            return Err(NgsiError::bad_data(format!(
                "q addresses {d} linked-entity levels, more than the join allows ({level}): too deep query (§5.7.2.4)"
            )));
        }
    }
    let order = p
        .get("orderBy")
        .map(|o| crate::query::order::OrderBy::parse(o, p.get("orderFrom"), p.get("collation")))
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
pub(crate) async fn query_entities(
    State(st): State<TwinState>,
    r: NgsiRequest,
) -> NgsiResult<Response> {
    let p = &r.params;
    check_query_scope(p)?;
    let ctx = r.context(&st.twin).await?;
    run_query(
        &st,
        &r.tenant,
        p,
        &r.headers,
        ctx,
        "/ngsi-ld/v1/entities",
        r.types.clone(),
    )
    .await
}

/// DELETE /entities (§5.6.21 Purge Entities, §6.4.3.3): deletes every entity matching
/// the query (`type`, `id`, `idPattern`, `attrs`, `q`, geo-query, `scopeQ`), or with
/// `drop=a,b` removes those attributes from them, or with `keep=a,b` every other one.
/// At least one of `type`, `attrs` (a non-system attribute), `q` (over a non-system
/// attribute), `georel` or `local=true` is needed: a purge by id or idPattern alone is
/// refused as too wide. 204; errors: 400 BadRequestData (too wide, `keep` with `drop`,
/// linked-entity `{…}` projections or queries, bad query parameters). The changes go
/// through the writer like any other change (history, events, notifications).
pub(crate) async fn purge_entities(
    State(st): State<TwinState>,
    r: NgsiRequest,
) -> NgsiResult<Response> {
    let p = &r.params;
    let ctx = r.context(&st.twin).await?;
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
        Some(x) => crate::query::q::parse(x)?
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
    let mut q = build_query(p, &ctx)?;
    q.allowed_types = r.types.clone();
    let tenant = r.tenant.clone();
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
pub(crate) async fn post_query(
    State(st): State<TwinState>,
    mut r: NgsiRequest,
    b: RawBody,
) -> NgsiResult<Response> {
    let body = r.body(b)?;
    let ctx = r.body_context(&st.twin, &body, &body.value).await?;
    let mut p = std::mem::take(&mut r.params);
    crate::query::body::merge_into(&body.value, &mut p)?;
    run_query(
        &st,
        &r.tenant,
        &p,
        &r.headers,
        ctx,
        "/ngsi-ld/v1/entityOperations/query",
        r.types.clone(),
    )
    .await
}

/// PUT /entities/{id} (§6.5.3.4): replaces the entity; 204; 404 when missing.
pub(crate) async fn replace_entity(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path(id): Path<String>,
    b: RawBody,
) -> NgsiResult<Response> {
    check_id(&id)?;
    let mut body = r.body(b)?;
    let ctx = r.body_context(&st.twin, &body, &body.value).await?;
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
            if let Some(cur) = st.twin.get(&r.tenant, &id) {
                m.insert(
                    "type".into(),
                    json!(cur.types.iter().map(|x| ctx.compact(x)).collect::<Vec<_>>()),
                );
            }
        }
    }
    let e = model::parse_entity(&body.value, &ctx, onecity_core::time::now_micros())?;
    st.twin.replace_entity(&r.tenant, e).await?;
    Ok(no_content())
}

/// PATCH /entities/{id} (§6.5.3.4, merge §5.6.17): attributes given are added or merged
/// into the existing ones, instances set to the NGSI-LD Null are deleted, types added,
/// `scope` replaced; 204; 404 when the entity does not exist.
pub(crate) async fn merge_entity(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path(id): Path<String>,
    b: RawBody,
) -> NgsiResult<Response> {
    check_id(&id)?;
    let body = r.body(b)?;
    let ctx = r.body_context(&st.twin, &body, &body.value).await?;
    let f = provision::parse_fragment(&body.value, &ctx, onecity_core::time::now_micros(), true)?;
    apply_fragment(&st, &r.tenant, &id, f, provision::Mode::Merge).await?;
    Ok(no_content())
}

/// PUT or PATCH /entities without an entity id (§6.5.3: the id is part of the path):
/// 400 BadRequestData.
pub(crate) async fn missing_entity_id() -> NgsiError {
    NgsiError::bad_data("the entity id is missing from the path /entities/{entityId}")
}

/// DELETE /entities/{id} (§6.5.3.2): 204; 404.
pub(crate) async fn delete_entity(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path(id): Path<String>,
) -> NgsiResult<Response> {
    check_id(&id)?;
    let p = &r.params;
    let tenant = r.tenant.clone();
    if p.get("type").is_some() {
        let ctx = r.context(&st.twin).await?;
        provision::check_type_selector(&st.twin, &tenant, &id, p.get("type"), &ctx)?;
    }
    st.twin.delete_entity(&tenant, &id).await?;
    Ok(no_content())
}
