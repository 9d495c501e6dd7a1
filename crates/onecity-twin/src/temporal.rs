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

use crate::context::Context;
use crate::error::{NgsiError, NgsiResult};
use crate::model::{self, Attribute, Format, RenderOpts};
use crate::routes::{self, Params, TwinState};
use crate::service::Twin;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use onecity_store::{args, Val};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Largest number of history rows one temporal request reads.
pub const MAX_HISTORY_ROWS: usize = 1_000_000;

/// One history row.
#[derive(Debug, Clone)]
pub struct HistRow {
    /// Entity id.
    pub entity_id: String,
    /// Expanded attribute name.
    pub attr: String,
    /// observedAt (or commit time), µs.
    pub at: i64,
    /// Numeric value when the value is a number (or a boolean, as 0/1).
    pub num: Option<f64>,
    /// The instance.
    pub instance: Attribute,
    /// The instance's `instanceId` (GS CIM 009 §4.5.7), assigned when it was recorded.
    pub instance_id: Option<String>,
}

/// A time filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeFilter {
    /// Inclusive lower bound (µs).
    pub from: Option<i64>,
    /// Exclusive upper bound (µs).
    pub to: Option<i64>,
}

/// Parses `timerel`, `timeAt`, `endTimeAt`. Errors: 400 BadRequestData.
pub fn time_filter(p: &Params) -> NgsiResult<TimeFilter> {
    let t = |k: &str| -> NgsiResult<Option<i64>> {
        p.get(k)
            .map(|s| {
                model::parse_datetime(s).ok_or_else(|| {
                    NgsiError::bad_data(format!("{k} {s:?} is not an RFC 3339 date-time"))
                })
            })
            .transpose()
    };
    let at = t("timeAt").or_else(|_| t("time"))?;
    let end = t("endTimeAt").or_else(|_| t("endTime"))?;
    match p.get("timerel") {
        None => {
            if at.is_some() {
                return Err(NgsiError::bad_data("timeAt needs timerel"));
            }
            Ok(TimeFilter::default())
        }
        Some("before") => Ok(TimeFilter {
            from: None,
            to: Some(at.ok_or_else(|| NgsiError::bad_data("timerel=before needs timeAt"))?),
        }),
        Some("after") => Ok(TimeFilter {
            from: Some(
                at.ok_or_else(|| NgsiError::bad_data("timerel=after needs timeAt"))?
                    .saturating_add(1),
            ),
            to: None,
        }),
        Some("between") => {
            let a = at.ok_or_else(|| NgsiError::bad_data("timerel=between needs timeAt"))?;
            let b = end.ok_or_else(|| NgsiError::bad_data("timerel=between needs endTimeAt"))?;
            if b <= a {
                return Err(NgsiError::bad_data("endTimeAt must be after timeAt"));
            }
            Ok(TimeFilter {
                from: Some(a),
                to: Some(b),
            })
        }
        Some(x) => Err(NgsiError::bad_data(format!(
            "timerel {x:?} is not before, after or between"
        ))),
    }
}

/// Reads history rows of entities (ordered by entity, attribute, time).
pub async fn history(
    twin: &Twin,
    tenant: &str,
    ids: &[String],
    attrs: &[String],
    tf: TimeFilter,
) -> NgsiResult<Vec<HistRow>> {
    let db = twin.db();
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let mut sql = String::from("SELECT entity_id, attr, observed_at, num, instance, instance_id FROM twin_history WHERE tenant = $1");
        let mut a: Vec<Val> = vec![tenant.into()];
        sql.push_str(&format!(
            " AND entity_id IN ({})",
            onecity_store::numbered(2, chunk.len())
        ));
        a.extend(chunk.iter().map(|s| Val::from(s.as_str())));
        if !attrs.is_empty() {
            sql.push_str(&format!(
                " AND attr IN ({})",
                onecity_store::numbered(a.len() + 1, attrs.len())
            ));
            a.extend(attrs.iter().map(|s| Val::from(s.as_str())));
        }
        if let Some(f) = tf.from {
            sql.push_str(&format!(" AND observed_at >= ${}", a.len() + 1));
            a.push(f.into());
        }
        if let Some(t) = tf.to {
            sql.push_str(&format!(" AND observed_at < ${}", a.len() + 1));
            a.push(t.into());
        }
        sql.push_str(&format!(
            " ORDER BY entity_id, attr, observed_at LIMIT {}",
            MAX_HISTORY_ROWS + 1
        ));
        for r in db.fetch_all(&sql, &a).await? {
            let inst: Attribute = match serde_json::from_str(&r.text("instance")?) {
                Ok(x) => x,
                Err(_) => continue,
            };
            out.push(HistRow {
                entity_id: r.text("entity_id")?,
                attr: r.text("attr")?,
                at: r.i64("observed_at")?,
                num: opt_f64(&r, "num"),
                instance: inst,
                instance_id: r.opt_text("instance_id")?,
            });
            if out.len() > MAX_HISTORY_ROWS {
                return Err(NgsiError::new(
                    crate::ProblemKind::TooManyResults,
                    format!("more than {MAX_HISTORY_ROWS} history rows; narrow the time range"),
                ));
            }
        }
    }
    Ok(out)
}

/// Parses an ISO 8601 duration (`P1DT2H`, `PT10M`, `P1W`, `PT0.5S`) to µs.
pub fn parse_duration(s: &str) -> Option<i64> {
    let rest = s.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total = 0f64;
    let mut any = false;
    let mut num = String::new();
    for c in date.chars() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let n: f64 = num.parse().ok()?;
        num.clear();
        any = true;
        total += n * match c {
            'Y' => 365.0 * 86400.0,
            'M' => 30.0 * 86400.0,
            'W' => 7.0 * 86400.0,
            'D' => 86400.0,
            _ => return None,
        };
    }
    if !num.is_empty() {
        return None;
    }
    if let Some(t) = time {
        for c in t.chars() {
            if c.is_ascii_digit() || c == '.' {
                num.push(c);
                continue;
            }
            let n: f64 = num.parse().ok()?;
            num.clear();
            any = true;
            total += n * match c {
                'H' => 3600.0,
                'M' => 60.0,
                'S' => 1.0,
                _ => return None,
            };
        }
        if !num.is_empty() {
            return None;
        }
    }
    (any && total > 0.0).then_some((total * 1e6) as i64)
}

/// One sample for aggregation: time (µs), numeric value, value.
pub type Sample = (i64, Option<f64>, Value);

/// The aggregation methods.
pub const AGGR_METHODS: &[&str] = &[
    "totalCount",
    "distinctCount",
    "sum",
    "avg",
    "min",
    "max",
    "stddev",
    "sumsq",
];

/// Aggregates `(time, num, value)` samples over periods of `period` µs starting at `start`.
/// Returns per method a list of `[value, periodStart, periodEnd]`.
pub fn aggregate(
    samples: &[(i64, Option<f64>, Value)],
    methods: &[String],
    start: i64,
    period: Option<i64>,
    end: i64,
) -> Map<String, Value> {
    let mut buckets: BTreeMap<i64, Vec<&Sample>> = BTreeMap::new();
    for s in samples {
        let k = match period {
            Some(p) if p > 0 => start + ((s.0 - start).max(0) / p) * p,
            _ => start,
        };
        buckets.entry(k).or_default().push(s);
    }
    let mut out = Map::new();
    for m in methods {
        let mut list = Vec::new();
        for (k, b) in &buckets {
            let pend = match period {
                Some(p) if p > 0 => k + p,
                _ => end.max(*k),
            };
            let nums: Vec<f64> = b.iter().filter_map(|s| s.1).collect();
            let v = match m.as_str() {
                "totalCount" => json!(b.len()),
                "distinctCount" => {
                    let mut seen: Vec<String> = b.iter().map(|s| s.2.to_string()).collect();
                    seen.sort();
                    seen.dedup();
                    json!(seen.len())
                }
                _ if nums.is_empty() => Value::Null,
                "sum" => json!(nums.iter().sum::<f64>()),
                "avg" => json!(nums.iter().sum::<f64>() / nums.len() as f64),
                "min" => json!(nums.iter().copied().fold(f64::INFINITY, f64::min)),
                "max" => json!(nums.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
                "sumsq" => json!(nums.iter().map(|x| x * x).sum::<f64>()),
                "stddev" => {
                    let n = nums.len() as f64;
                    let mean = nums.iter().sum::<f64>() / n;
                    json!((nums.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt())
                }
                _ => continue,
            };
            list.push(json!([
                v,
                model::format_micros(*k),
                model::format_micros(pend)
            ]));
        }
        out.insert(m.clone(), Value::Array(list));
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum TemporalFormat {
    Normalized,
    Values,
    Aggregated,
}

struct TemporalOpts {
    fmt: TemporalFormat,
    last_n: Option<usize>,
    methods: Vec<String>,
    period: Option<i64>,
    tf: TimeFilter,
    sys_attrs: bool,
}

fn temporal_opts(p: &Params) -> NgsiResult<TemporalOpts> {
    let fmt = if p.option("aggregatedValues") {
        TemporalFormat::Aggregated
    } else if p.option("temporalValues") {
        TemporalFormat::Values
    } else {
        TemporalFormat::Normalized
    };
    let last_n = p
        .get("lastN")
        .map(|s| {
            s.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                NgsiError::bad_data(format!("lastN {s:?} is not a positive integer"))
            })
        })
        .transpose()?;
    let methods = p.list("aggrMethods");
    for m in &methods {
        if !AGGR_METHODS.contains(&m.as_str()) {
            return Err(NgsiError::bad_data(format!(
                "aggrMethods: {m:?} is not one of {}",
                AGGR_METHODS.join(", ")
            )));
        }
    }
    if fmt == TemporalFormat::Aggregated && methods.is_empty() {
        return Err(NgsiError::bad_data(
            "options=aggregatedValues needs aggrMethods",
        ));
    }
    let period = p
        .get("aggrPeriodDuration")
        .map(|s| {
            parse_duration(s).ok_or_else(|| {
                NgsiError::bad_data(format!(
                    "aggrPeriodDuration {s:?} is not an ISO 8601 duration"
                ))
            })
        })
        .transpose()?;
    Ok(TemporalOpts {
        fmt,
        last_n,
        methods,
        period,
        tf: time_filter(p)?,
        sys_attrs: p.option("sysAttrs"),
    })
}

fn temporal_entity(e: &model::Entity, rows: &[&HistRow], ctx: &Context, o: &TemporalOpts) -> Value {
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
    let mut by_attr: BTreeMap<&str, Vec<&HistRow>> = BTreeMap::new();
    for r in rows {
        by_attr.entry(r.attr.as_str()).or_default().push(r);
    }
    let ro = RenderOpts {
        format: Format::Normalized,
        sys_attrs: o.sys_attrs,
        ..Default::default()
    };
    for (attr, mut list) in by_attr {
        if let Some(n) = o.last_n {
            if list.len() > n {
                list = list.split_off(list.len() - n);
            }
        }
        let kind = list
            .first()
            .map(|r| r.instance.kind)
            .unwrap_or(model::AttrKind::Property);
        let v = match o.fmt {
            TemporalFormat::Normalized => Value::Array(
                list.iter()
                    .map(|r| {
                        let mut x = model::render_attribute(&r.instance, ctx, &ro);
                        if let Value::Object(xm) = &mut x {
                            xm.entry("observedAt")
                                .or_insert_with(|| json!(model::format_micros(r.at)));
                            if let Some(iid) = &r.instance_id {
                                xm.insert("instanceId".into(), json!(iid));
                            }
                        }
                        x
                    })
                    .collect(),
            ),
            TemporalFormat::Values => {
                let key = match kind {
                    model::AttrKind::Relationship => "objects",
                    model::AttrKind::LanguageProperty => "languageMaps",
                    _ => "values",
                };
                let vals: Vec<Value> = list
                    .iter()
                    .map(|r| json!([r.instance.value, model::format_micros(r.at)]))
                    .collect();
                json!({"type": kind.as_str(), key: vals})
            }
            TemporalFormat::Aggregated => {
                let samples: Vec<(i64, Option<f64>, Value)> = list
                    .iter()
                    .map(|r| (r.at, r.num, r.instance.value.clone()))
                    .collect();
                let start =
                    o.tf.from
                        .unwrap_or_else(|| samples.first().map(|s| s.0).unwrap_or(0));
                let end =
                    o.tf.to
                        .unwrap_or_else(|| samples.last().map(|s| s.0 + 1).unwrap_or(start));
                let mut agg = aggregate(&samples, &o.methods, start, o.period, end);
                agg.insert("type".into(), json!(kind.as_str()));
                Value::Object(agg)
            }
        };
        m.insert(ctx.compact(attr), v);
    }
    Value::Object(m)
}

/// GET /temporal/entities/{id} (§6.19.3.1). 404 when the entity has neither a current
/// state nor history.
pub async fn get_temporal(
    State(st): State<TwinState>,
    t: routes::Ten,
    h: HeaderMap,
    Path(id): Path<String>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> NgsiResult<Response> {
    let p = Params::parse(raw.as_deref());
    routes::check_projections(&p)?;
    let acc = routes::accept(&h)?;
    let ctx = routes::header_context(&st.twin, &h).await?;
    let o = temporal_opts(&p)?;
    let tenant = routes::tenant_of(&t);
    let attrs: Vec<String> = p.list("attrs").iter().map(|a| ctx.expand(a)).collect();
    let rows = history(&st.twin, &tenant, std::slice::from_ref(&id), &attrs, o.tf).await?;
    let e = match st.twin.get(&tenant, &id) {
        Some(e) => (*e).clone(),
        None => {
            if rows.is_empty() {
                return Err(NgsiError::not_found(format!(
                    "entity {id} has no temporal representation"
                )));
            }
            let ety = history_type(&st.twin, &tenant, &id).await?;
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
    let refs: Vec<&HistRow> = rows.iter().collect();
    let body = temporal_entity(&e, &refs, &ctx, &o);
    Ok(routes::respond(StatusCode::OK, body, &ctx, acc, vec![]))
}

async fn history_type(twin: &Twin, tenant: &str, id: &str) -> NgsiResult<String> {
    let r = twin
        .db()
        .fetch_optional(
            "SELECT etype FROM twin_history WHERE tenant = $1 AND entity_id = $2 LIMIT 1",
            args![tenant, id],
        )
        .await?;
    Ok(r.map(|r| r.text("etype")).transpose()?.unwrap_or_default())
}

/// GET /temporal/entities (§6.18.3.2): entities selected as in GET /entities (type, id,
/// idPattern, q, geo-query, …; limit/offset over entities, ordered by id), each with the
/// history of its attributes.
pub async fn query_temporal(
    State(st): State<TwinState>,
    t: routes::Ten,
    h: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> NgsiResult<Response> {
    let p = Params::parse(raw.as_deref());
    routes::check_projections(&p)?;
    routes::check_query_scope(&p)?;
    let acc = routes::accept(&h)?;
    let ctx = routes::header_context(&st.twin, &h).await?;
    let o = temporal_opts(&p)?;
    let tenant = routes::tenant_of(&t);
    let mut q = routes::build_query(&p, &ctx)?;
    q.allowed_types = routes::type_limit(&t);
    let attrs: Vec<String> = q.attrs.clone();
    q.attrs.clear();
    if q.ids.is_empty()
        && q.id_pattern.is_none()
        && q.types.is_empty()
        && q.q.is_none()
        && q.geo.is_none()
        && attrs.is_empty()
    {
        return Err(NgsiError::bad_data(
            "a temporal query needs at least one of id, idPattern, type, attrs, q or georel",
        ));
    }
    if p.get("timerel").is_none() && p.get("lastN").is_none() && o.fmt != TemporalFormat::Aggregated
    {
        // Allowed by 1.8 (whole history), kept bounded by MAX_HISTORY_ROWS.
    }
    let (limit, offset) = routes::paging(&p, &st.twin)?;
    let (page, total) = st.twin.query(&tenant, &q, &ctx, offset, limit);
    let ids: Vec<String> = page.iter().map(|e| e.id.clone()).collect();
    let rows = history(&st.twin, &tenant, &ids, &attrs, o.tf).await?;
    let mut by_entity: BTreeMap<&str, Vec<&HistRow>> = BTreeMap::new();
    for r in &rows {
        by_entity.entry(r.entity_id.as_str()).or_default().push(r);
    }
    let items: Vec<Value> = page
        .iter()
        .map(|e| {
            temporal_entity(
                e,
                by_entity
                    .get(e.id.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
                &ctx,
                &o,
            )
        })
        .collect();
    let mut extra = Vec::new();
    if p.get("count") == Some("true") {
        extra.push(("ngsild-results-count", total.to_string()));
    }
    Ok(routes::respond(
        StatusCode::OK,
        Value::Array(items),
        &ctx,
        acc,
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
    t: routes::Ten,
    h: HeaderMap,
    b: routes::RawBody,
) -> NgsiResult<Response> {
    let body = routes::read_body(&h, b)?;
    let ctx = routes::body_context(&st.twin, &h, &body, &body.value).await?;
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
    let tenant = routes::tenant_of(&t);
    let existed = st.twin.get(&tenant, &id).is_some();
    st.twin
        .append_history(&tenant, &id, types, inst, true)
        .await?;
    if existed {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let mut r = StatusCode::CREATED.into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("/ngsi-ld/v1/temporal/entities/{id}"))
    {
        r.headers_mut().insert("location", v);
    }
    Ok(r)
}

/// POST /temporal/entities/{id}/attrs (§6.20.3.1): appends instances; 204; 404.
pub async fn append_temporal_attrs(
    State(st): State<TwinState>,
    t: routes::Ten,
    h: HeaderMap,
    Path(id): Path<String>,
    b: routes::RawBody,
) -> NgsiResult<Response> {
    routes::check_id(&id)?;
    let body = routes::read_body(&h, b)?;
    let ctx = routes::body_context(&st.twin, &h, &body, &body.value).await?;
    let inst = temporal_instances(&body.value, &ctx)?;
    st.twin
        .append_history(&routes::tenant_of(&t), &id, vec![], inst, false)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// DELETE /temporal/entities/{id} (§6.19.3.2): deletes the history and the entity; 204; 404.
pub async fn delete_temporal(
    State(st): State<TwinState>,
    t: routes::Ten,
    Path(id): Path<String>,
) -> NgsiResult<Response> {
    routes::check_id(&id)?;
    let tenant = routes::tenant_of(&t);
    let n = st
        .twin
        .db()
        .execute(
            "DELETE FROM twin_history WHERE tenant = $1 AND entity_id = $2",
            args![tenant.as_str(), id.as_str()],
        )
        .await?;
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

/// Deletes history older than each (tenant, type) retention; returns rows deleted.
pub async fn purge(twin: &Twin, now: i64) -> NgsiResult<u64> {
    let rows = twin
        .db()
        .fetch_all("SELECT tenant, etype, keep_secs FROM twin_retention", &[])
        .await?;
    let mut n = 0;
    for r in rows {
        let cutoff = now - r.i64("keep_secs")?.saturating_mul(1_000_000);
        n += twin
            .db()
            .execute(
                "DELETE FROM twin_history WHERE tenant = $1 AND etype = $2 AND observed_at < $3",
                args![r.text("tenant")?, r.text("etype")?, cutoff],
            )
            .await?;
    }
    Ok(n)
}

/// GET /ngsi-ld/v1/ext/retention/{type}: `{"type": …, "keepSeconds": n}`; 404 when none.
pub async fn get_retention(
    State(st): State<TwinState>,
    t: routes::Ten,
    h: HeaderMap,
    Path(ty): Path<String>,
) -> NgsiResult<Response> {
    let ctx = routes::header_context(&st.twin, &h).await?;
    let iri = ctx.expand(&ty);
    let r = st
        .twin
        .db()
        .fetch_optional(
            "SELECT keep_secs FROM twin_retention WHERE tenant = $1 AND etype = $2",
            args![routes::tenant_of(&t), iri.as_str()],
        )
        .await?
        .ok_or_else(|| NgsiError::not_found(format!("no retention policy for type {ty}")))?;
    Ok(routes::respond(
        StatusCode::OK,
        json!({"type": ty, "keepSeconds": r.i64("keep_secs")?}),
        &ctx,
        routes::Accept::Json,
        vec![],
    ))
}

/// PUT /ngsi-ld/v1/ext/retention/{type} `{"keepSeconds": n}` (n ≥ 60): sets the policy; 204.
pub async fn put_retention(
    State(st): State<TwinState>,
    t: routes::Ten,
    h: HeaderMap,
    Path(ty): Path<String>,
    b: routes::RawBody,
) -> NgsiResult<Response> {
    let body = routes::read_body(&h, b)?;
    let ctx = routes::header_context(&st.twin, &h).await?;
    let keep = body
        .value
        .get("keepSeconds")
        .and_then(Value::as_i64)
        .filter(|n| *n >= 60)
        .ok_or_else(|| NgsiError::bad_data("keepSeconds must be an integer of at least 60"))?;
    let iri = ctx.expand(&ty);
    st.twin
        .db()
        .execute(
            "INSERT INTO twin_retention (tenant, etype, keep_secs, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant, etype) DO UPDATE SET keep_secs = excluded.keep_secs, updated_at = excluded.updated_at",
            args![routes::tenant_of(&t), iri.as_str(), keep, onecity_core::time::now_micros()],
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// DELETE /ngsi-ld/v1/ext/retention/{type}: removes the policy (history is kept); 204; 404.
pub async fn delete_retention(
    State(st): State<TwinState>,
    t: routes::Ten,
    h: HeaderMap,
    Path(ty): Path<String>,
) -> NgsiResult<Response> {
    let ctx = routes::header_context(&st.twin, &h).await?;
    let n = st
        .twin
        .db()
        .execute(
            "DELETE FROM twin_retention WHERE tenant = $1 AND etype = $2",
            args![routes::tenant_of(&t), ctx.expand(&ty)],
        )
        .await?;
    if n == 0 {
        return Err(NgsiError::not_found(format!(
            "no retention policy for type {ty}"
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn opt_f64(r: &onecity_store::Row, k: &str) -> Option<f64> {
    r.f64(k).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_aggregation() {
        assert_eq!(parse_duration("PT1H"), Some(3_600_000_000));
        assert_eq!(parse_duration("P1DT30M"), Some((86400 + 1800) * 1_000_000));
        assert_eq!(parse_duration("PT10M"), Some(600_000_000));
        assert_eq!(parse_duration("P1W"), Some(7 * 86400 * 1_000_000));
        assert_eq!(parse_duration("1H"), None);
        assert_eq!(parse_duration("P"), None);
        let h = 3_600_000_000i64;
        let s = vec![
            (0, Some(1.0), json!(1)),
            (h / 2, Some(3.0), json!(3)),
            (h, Some(10.0), json!(10)),
        ];
        let m: Vec<String> = [
            "avg",
            "min",
            "max",
            "sum",
            "totalCount",
            "distinctCount",
            "stddev",
            "sumsq",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let a = aggregate(&s, &m, 0, Some(h), 2 * h);
        assert_eq!(a["avg"][0][0], json!(2.0));
        assert_eq!(a["avg"][1][0], json!(10.0));
        assert_eq!(a["sum"][0][0], json!(4.0));
        assert_eq!(a["totalCount"][0][0], json!(2));
        assert_eq!(a["stddev"][0][0], json!(1.0));
        assert_eq!(a["sumsq"][0][0], json!(10.0));
        assert_eq!(a["avg"][0][1], json!("1970-01-01T00:00:00.000Z"));
        assert_eq!(a["avg"][0][2], json!("1970-01-01T01:00:00.000Z"));
    }
}
