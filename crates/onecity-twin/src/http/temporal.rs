//! The temporal API (GS CIM 009 §6.18–§6.22): every attribute change is appended to
//! `twin_history`; this module reads it back as temporal entities.
//!
//! Parameters: `timerel` = `before` | `after` | `between` with `timeAt` (and `endTimeAt`
//! for `between`; RFC 3339), `lastN` (the last N instances per attribute), `attrs`,
//! `options=temporalValues` (simplified `values: [[value, time], …]`),
//! `options=aggregatedValues` with `aggrMethods` (totalCount, distinctCount, sum, avg,
//! min, max, stddev, sumsq) and `aggrPeriodDuration` (ISO 8601 duration, e.g. `PT1H`,
//! `P1D`; months count 30 days and years 365 days; default: the whole interval).
//! The time axis is `observedAt` (the commit time when an instance has none).
//!
//! Retention: `PUT /ngsi-ld/v1/ext/retention/{type}` `{"keepSeconds": n}` keeps history of
//! that entity type for n seconds (per tenant); [`purge`] deletes what is older.

use super::NgsiRequest;
use super::{Params, TwinState};
use crate::ld::context::Context;
use crate::ld::error::{NgsiError, NgsiResult};
use crate::ld::model::{self, Attribute, Format, RenderOpts};
use crate::query::temporal::*;
use crate::service::temporal::{has_history, history, history_type};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The time of one instance as the client gave it (its `observedAt`), else the axis time.
fn instance_time(r: &HistRow) -> String {
    r.instance
        .observed_at
        .clone()
        .unwrap_or_else(|| format_time(r.at))
}

/// The member holding the pairs of the simplified temporal representation of a kind
/// (§4.5.9): `values`, `objects`, `languageMaps`, `vocabs`, `valueLists`, `objectLists`, `jsons`.
fn values_key(kind: model::AttrKind) -> &'static str {
    use model::AttrKind as K;
    match kind {
        K::Property | K::GeoProperty => "values",
        K::Relationship => "objects",
        K::LanguageProperty => "languageMaps",
        K::VocabProperty => "vocabs",
        K::ListProperty => "valueLists",
        K::ListRelationship => "objectLists",
        K::JsonProperty => "jsons",
    }
}

/// One `[value, time]` pair (§4.5.9): the bare value, except for LanguageProperty,
/// VocabProperty and JsonProperty, whose value keeps its member name
/// (`{"languageMap": …}`, `{"vocab": …}`, `{"json": …}`).
fn value_pair(r: &HistRow, ctx: &Context, ro: &RenderOpts) -> Value {
    use model::AttrKind as K;
    let kind = r.instance.kind;
    let key = kind.value_key();
    let rendered = model::render_attribute(&r.instance, ctx, ro);
    let v = rendered.get(key).cloned().unwrap_or(Value::Null);
    let v = match kind {
        K::LanguageProperty | K::VocabProperty | K::JsonProperty => json!({ key: v }),
        K::ListRelationship => model::bare_object_list(&v),
        _ => v,
    };
    json!([v, instance_time(r)])
}

/// Renders the instances of one attribute with one datasetId in the simplified or the
/// aggregated representation.
fn render_group(
    list: &[&HistRow],
    dataset: Option<&str>,
    ctx: &Context,
    ro: &RenderOpts,
    o: &TemporalOpts,
) -> Value {
    let kind = list
        .first()
        .map(|r| r.instance.kind)
        .unwrap_or(model::AttrKind::Property);
    let mut m = Map::new();
    m.insert("type".into(), json!(kind.as_str()));
    if let Some(d) = dataset {
        m.insert("datasetId".into(), json!(d));
    }
    if o.fmt == TemporalFormat::Values {
        let pairs: Vec<Value> = list.iter().map(|r| value_pair(r, ctx, ro)).collect();
        m.insert(values_key(kind).into(), Value::Array(pairs));
        return Value::Object(m);
    }
    let samples: Vec<Sample> = list
        .iter()
        .map(|r| (r.at, r.num, r.instance.value.clone()))
        .collect();
    let first = samples.first().map(|s| s.0).unwrap_or(0);
    let start = match (o.between, o.tf.from) {
        (true, Some(f)) => f,
        _ => first,
    };
    let end =
        o.tf.to
            .unwrap_or_else(|| samples.last().map(|s| s.0).unwrap_or(start));
    m.extend(aggregate(&samples, &o.methods, start, o.period, end));
    Value::Object(m)
}

/// Renders one temporal entity; `emptied` names attributes whose instances the page cut
/// entirely: they are shown without instances.
fn temporal_entity(
    e: &model::Entity,
    rows: &[&HistRow],
    emptied: &[&HistRow],
    ctx: &Context,
    o: &TemporalOpts,
) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(e.id));
    let types: Vec<String> = e.types.iter().map(|t| ctx.compact(t)).collect();
    m.insert(
        "type".into(),
        if types.len() == 1 {
            json!(types[0])
        } else {
            json!(types)
        },
    );
    // attribute → datasetId (None = the default instance) → instances in time order
    let mut by_attr: BTreeMap<&str, BTreeMap<Option<&str>, Vec<&HistRow>>> = BTreeMap::new();
    for r in rows {
        by_attr
            .entry(r.attr.as_str())
            .or_default()
            .entry(r.instance.dataset_id.as_deref())
            .or_default()
            .push(r);
    }
    let ro = RenderOpts {
        format: Format::Normalized,
        sys_attrs: o.sys_attrs,
        ..Default::default()
    };
    for (attr, groups) in by_attr {
        let v = if o.fmt == TemporalFormat::Normalized {
            let mut all: Vec<&HistRow> = groups.into_values().flatten().collect();
            all.sort_by_key(|r| r.at);
            Value::Array(
                all.iter()
                    .map(|r| {
                        let mut x = model::render_attribute(&r.instance, ctx, &ro);
                        if let Value::Object(xm) = &mut x {
                            xm.entry("observedAt")
                                .or_insert_with(|| json!(format_time(r.at)));
                            if let Some(iid) = &r.instance_id {
                                xm.insert("instanceId".into(), json!(iid));
                            }
                        }
                        x
                    })
                    .collect(),
            )
        } else {
            let mut out: Vec<Value> = groups
                .iter()
                .map(|(d, list)| render_group(list, *d, ctx, &ro, o))
                .collect();
            if out.len() == 1 {
                out.pop().unwrap_or(Value::Null)
            } else {
                Value::Array(out)
            }
        };
        m.insert(ctx.compact(attr), v);
    }
    for r in emptied {
        let name = ctx.compact(&r.attr);
        if !m.contains_key(&name) {
            let kind = r.instance.kind;
            let v = match o.fmt {
                TemporalFormat::Normalized => json!([]),
                _ => json!({"type": kind.as_str(), values_key(kind): []}),
            };
            m.insert(name, v);
        }
    }
    o.project(&mut m);
    Value::Object(m)
}

/// Answers a temporal retrieval or query: 200, or 206 with `Content-Range` when the page
/// cut it (§6.3.10).
fn temporal_response(
    body: Value,
    ctx: &Context,
    acc: super::Accept,
    range: Option<String>,
    mut extra: Vec<(&'static str, String)>,
) -> Response {
    let status = match range {
        Some(r) => {
            extra.push(("content-range", r));
            StatusCode::PARTIAL_CONTENT
        }
        None => StatusCode::OK,
    };
    super::respond(status, body, ctx, acc, extra)
}

/// GET /temporal/entities/{id} (§6.19.3.1). 400 when the id is not a URI; 404 when the
/// entity has neither a current state nor history, when none of the `attrs` exists, or
/// when `pick`/`omit` leave nothing.
pub async fn get_temporal(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path(id): Path<String>,
) -> NgsiResult<Response> {
    if !model::is_uri(&id) {
        return Err(NgsiError::bad_data(format!("{id:?} is not a URI")));
    }
    let p = &r.params;
    super::check_projections(p)?;
    let acc = r.accept()?;
    let ctx = r.context(&st.twin).await?;
    let o = temporal_opts(p)?;
    let tenant = r.tenant.clone();
    let attrs: Vec<String> = p.list("attrs").iter().map(|a| ctx.expand(a)).collect();
    let rows = history(&st.twin, &tenant, std::slice::from_ref(&id), &attrs, o.tf).await?;
    let e = match st.twin.get(&tenant, &id) {
        Some(e) => (*e).clone(),
        None => {
            // Any history at all (the time range or attrs may exclude every row).
            let Some(ety) = history_type(&st.twin, &tenant, &id).await? else {
                return Err(NgsiError::not_found(format!(
                    "entity {id} has no temporal representation"
                )));
            };
            model::Entity {
                id: id.clone(),
                types: vec![ety],
                scope: vec![],
                created_at: 0,
                modified_at: 0,
                attrs: BTreeMap::new(),
            }
        }
    };
    if !attrs.is_empty()
        && rows.is_empty()
        && !attrs.iter().any(|a| e.attrs.contains_key(a))
        && !has_history(&st.twin, &tenant, &id, &attrs).await?
    {
        return Err(NgsiError::not_found(format!(
            "entity {id} has none of the attributes {}",
            p.list("attrs").join(", ")
        )));
    }
    let selected = select_rows(&rows, &o);
    let (kept, range) = page_rows(&selected, &o, st.twin.config().temporal_page);
    let emptied: &[&HistRow] = if range.is_some() { &selected } else { &[] };
    let body = temporal_entity(&e, &kept, emptied, &ctx, &o);
    if body.as_object().is_some_and(Map::is_empty) {
        return Err(NgsiError::not_found(format!(
            "pick/omit leave nothing of entity {id}"
        )));
    }
    Ok(temporal_response(body, &ctx, acc, range, vec![]))
}

/// GET /temporal/entities (§6.18.3.2): entities selected as in GET /entities (type, id,
/// idPattern, q, geo-query, …; limit/offset over entities, ordered by id), each with the
/// history of its attributes.
pub async fn query_temporal(State(st): State<TwinState>, r: NgsiRequest) -> NgsiResult<Response> {
    let p = &r.params;
    let ctx = r.context(&st.twin).await?;
    run_temporal_query(&st, &r, p, &ctx).await
}

/// Runs a temporal query (§5.7.4) given as parameters, for GET /temporal/entities and
/// POST /temporal/entityOperations/query. Needs type, attrs, q, a geo-query or
/// `local=true` (ids alone are not enough: 400 BadRequestData).
pub(crate) async fn run_temporal_query(
    st: &TwinState,
    r: &super::NgsiRequest,
    p: &Params,
    ctx: &Context,
) -> NgsiResult<Response> {
    super::check_projections(p)?;
    super::check_query_scope(p)?;
    let acc = r.accept()?;
    let o = temporal_opts(p)?;
    let desc = temporal_order(p)?;
    if let Some(csf) = p.get("csf") {
        crate::query::q::parse(csf)
            .map_err(|e| NgsiError::bad_data(format!("csf {csf:?}: {}", e.detail)))?;
    }
    let tenant = r.tenant.clone();
    let mut q = super::build_query(p, ctx)?;
    q.allowed_types = r.types.clone();
    let attrs: Vec<String> = q.attrs.clone();
    q.attrs.clear();
    if q.types.is_empty()
        && q.q.is_none()
        && q.geo.is_none()
        && q.scope_q.is_none()
        && attrs.is_empty()
        && p.get("local") != Some("true")
    {
        return Err(NgsiError::bad_data(
            "a temporal query needs at least one of type, attrs, q, a geo-query or local=true",
        ));
    }
    let (limit, offset) = super::paging(p, &st.twin)?;
    // q and the geo-query are checked against the instances in the time range (§5.7.4.4
    // S2), not the current state: select on the rest, then filter over the history.
    let values_filter = (q.q.take().map(|x| x.bound(ctx)), q.geo.take());
    let (page, total) = if values_filter.0.is_some() || values_filter.1.is_some() {
        let (all, _) = st.twin.query(&tenant, &q, ctx, 0, usize::MAX);
        let ids: Vec<String> = all.iter().map(|e| e.id.clone()).collect();
        let rows = history(&st.twin, &tenant, &ids, &[], o.tf).await?;
        let mut by_entity: BTreeMap<&str, Vec<&HistRow>> = BTreeMap::new();
        for r in &rows {
            by_entity.entry(r.entity_id.as_str()).or_default().push(r);
        }
        let mut hits: Vec<_> = all
            .into_iter()
            .filter(|e| {
                let rows = by_entity.get(e.id.as_str()).map_or(&[][..], Vec::as_slice);
                matches_over_time(e, rows, &values_filter, ctx)
            })
            .collect();
        if desc {
            hits.reverse();
        }
        let total = hits.len();
        (hits.into_iter().skip(offset).take(limit).collect(), total)
    } else if desc {
        let (_, total) = st.twin.query(&tenant, &q, ctx, 0, 0);
        let end = total.saturating_sub(offset);
        let from = end.saturating_sub(limit);
        let (mut page, _) = st.twin.query(&tenant, &q, ctx, from, end - from);
        page.reverse();
        (page, total)
    } else {
        st.twin.query(&tenant, &q, ctx, offset, limit)
    };
    let ids: Vec<String> = page.iter().map(|e| e.id.clone()).collect();
    let rows = history(&st.twin, &tenant, &ids, &attrs, o.tf).await?;
    let selected_rows = select_rows(&rows, &o);
    let (kept, range) = page_rows(&selected_rows, &o, st.twin.config().temporal_page);
    let mut by_entity: BTreeMap<&str, Vec<&HistRow>> = BTreeMap::new();
    for r in kept {
        by_entity.entry(r.entity_id.as_str()).or_default().push(r);
    }
    let mut selected: BTreeMap<&str, Vec<&HistRow>> = BTreeMap::new();
    for r in selected_rows {
        selected.entry(r.entity_id.as_str()).or_default().push(r);
    }
    // An entity without instances in the time range is left out; one whose instances the
    // page cut is shown with its attributes empty.
    let items: Vec<Value> = page
        .iter()
        .filter_map(|e| {
            let all = selected.get(e.id.as_str())?;
            let rows = by_entity.get(e.id.as_str()).map_or(&[][..], Vec::as_slice);
            let emptied = if range.is_some() { all.as_slice() } else { &[] };
            Some(temporal_entity(e, rows, emptied, ctx, &o))
        })
        .collect();
    let mut extra = Vec::new();
    if p.get("count") == Some("true") {
        extra.push(("ngsild-results-count", total.to_string()));
    }
    Ok(temporal_response(
        Value::Array(items),
        ctx,
        acc,
        range,
        extra,
    ))
}

fn temporal_instances(v: &Value, ctx: &Context) -> NgsiResult<Vec<(String, Attribute)>> {
    let m = v
        .as_object()
        .ok_or_else(|| NgsiError::bad_data("a temporal entity must be an object"))?;
    let now = onecity_core::time::now_micros();
    let mut out = Vec::new();
    for (k, x) in m {
        if matches!(
            k.as_str(),
            "@context" | "id" | "type" | "scope" | "createdAt" | "modifiedAt"
        ) {
            continue;
        }
        if k == "expiresAt" {
            // An Entity member, not an Attribute (§4.22); the "urn:ngsi-ld:null" marker
            // is legal only in fragments (§5.5.4), so only a DateTime is accepted here.
            if x.as_str().and_then(model::parse_datetime).is_none() {
                return Err(NgsiError::bad_data(format!(
                    "expiresAt {x} is not an RFC 3339 date-time"
                )));
            }
            continue;
        }
        let name = model::attr_name(k, ctx)?;
        let list: Vec<&Value> = match x {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for inst in list {
            out.push((
                name.clone(),
                model::parse_temporal_attribute(k, inst, ctx, now)?,
            ));
        }
    }
    Ok(out)
}

/// POST /temporal/entities (§6.18.3.1): creates a temporal entity (201) or appends to one
/// (204); every instance goes to the history.
pub async fn post_temporal(
    State(st): State<TwinState>,
    r: NgsiRequest,
    b: super::RawBody,
) -> NgsiResult<Response> {
    let body = r.body(b)?;
    let ctx = r.body_context(&st.twin, &body, &body.value).await?;
    let id = body
        .value
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| model::is_uri(s))
        .ok_or_else(|| NgsiError::bad_data("a temporal entity needs an id (a URI)"))?
        .to_string();
    let types = model::parse_types(body.value.get("type"), &ctx)?
        .ok_or_else(|| NgsiError::bad_data("a temporal entity needs a type"))?;
    let inst = temporal_instances(&body.value, &ctx)?;
    let tenant = r.tenant.clone();
    let existed = st.twin.get(&tenant, &id).is_some();
    st.twin
        .append_history(&tenant, &id, types, inst, true)
        .await?;
    if existed {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let mut resp = StatusCode::CREATED.into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("/ngsi-ld/v1/temporal/entities/{id}"))
    {
        resp.headers_mut().insert("location", v);
    }
    Ok(resp)
}

/// POST /temporal/entities/{id}/attrs (§6.20.3.1): appends instances; 204; 404.
pub async fn append_temporal_attrs(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path(id): Path<String>,
    b: super::RawBody,
) -> NgsiResult<Response> {
    super::check_id(&id)?;
    let body = r.body(b)?;
    let ctx = r.body_context(&st.twin, &body, &body.value).await?;
    let inst = temporal_instances(&body.value, &ctx)?;
    st.twin
        .append_history(&r.tenant, &id, vec![], inst, false)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// DELETE /temporal/entities/{id} (§6.19.3.2): deletes the history and the entity; 204; 404.
pub async fn delete_temporal(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path(id): Path<String>,
) -> NgsiResult<Response> {
    super::check_id(&id)?;
    let tenant = r.tenant.clone();
    let n = crate::store::history::delete_entity(st.twin.db(), &tenant, &id).await?;
    let had = st.twin.get(&tenant, &id).is_some();
    if had {
        st.twin.delete_entity(&tenant, &id).await?;
    }
    if n == 0 && !had {
        return Err(NgsiError::not_found(format!(
            "entity {id} has no temporal representation"
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// GET /ngsi-ld/v1/ext/retention/{type}: `{"type": …, "keepSeconds": n}`; 404 when none.
pub async fn get_retention(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path(ty): Path<String>,
) -> NgsiResult<Response> {
    let ctx = r.context(&st.twin).await?;
    let iri = ctx.expand(&ty);
    let keep = crate::store::retention::get(st.twin.db(), &r.tenant, &iri)
        .await?
        .ok_or_else(|| NgsiError::not_found(format!("no retention policy for type {ty}")))?;
    Ok(super::respond(
        StatusCode::OK,
        json!({"type": ty, "keepSeconds": keep}),
        &ctx,
        super::Accept::Json,
        vec![],
    ))
}

/// PUT /ngsi-ld/v1/ext/retention/{type} `{"keepSeconds": n}` (n ≥ 60): sets the policy; 204.
pub async fn put_retention(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path(ty): Path<String>,
    b: super::RawBody,
) -> NgsiResult<Response> {
    let body = r.body(b)?;
    let ctx = r.context(&st.twin).await?;
    let keep = body
        .value
        .get("keepSeconds")
        .and_then(Value::as_i64)
        .filter(|n| *n >= 60)
        .ok_or_else(|| NgsiError::bad_data("keepSeconds must be an integer of at least 60"))?;
    let iri = ctx.expand(&ty);
    crate::store::retention::put(
        st.twin.db(),
        &r.tenant,
        &iri,
        keep,
        onecity_core::time::now_micros(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// DELETE /ngsi-ld/v1/ext/retention/{type}: removes the policy (history is kept); 204; 404.
pub async fn delete_retention(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path(ty): Path<String>,
) -> NgsiResult<Response> {
    let ctx = r.context(&st.twin).await?;
    let n = crate::store::retention::delete(st.twin.db(), &r.tenant, &ctx.expand(&ty)).await?;
    if n == 0 {
        return Err(NgsiError::not_found(format!(
            "no retention policy for type {ty}"
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
