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

/// Parses `timerel`, `timeAt`, `endTimeAt` (GS CIM 009 §4.11; `time`/`endTime` are the
/// older names). `before` excludes `timeAt`, `after` includes it, `between` includes
/// `timeAt` and excludes `endTimeAt`. Errors: 400 BadRequestData, also for a date
/// without a time (a DateTime is needed).
pub fn time_filter(p: &Params) -> NgsiResult<TimeFilter> {
    let t = |k: &str| -> NgsiResult<Option<i64>> {
        p.get(k)
            .map(|s| {
                s.contains('T')
                    .then(|| model::parse_datetime(s))
                    .flatten()
                    .ok_or_else(|| {
                        NgsiError::bad_data(format!("{k} {s:?} is not an RFC 3339 date-time"))
                    })
            })
            .transpose()
    };
    let at = match t("timeAt")? {
        Some(x) => Some(x),
        None => t("time")?,
    };
    let end = match t("endTimeAt")? {
        Some(x) => Some(x),
        None => t("endTime")?,
    };
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
            from: Some(at.ok_or_else(|| NgsiError::bad_data("timerel=after needs timeAt"))?),
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

/// Parses an ISO 8601 duration (`P1DT2H`, `PT10M`, `P1W`, `PT0.5S`) to µs; `PT0S` is 0
/// (for `aggrPeriodDuration`: one period over the whole interval). `None` for anything
/// else, and for a duration longer than [`MAX_DURATION_MICROS`] (the caller answers 400).
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
    // At most MAX_DURATION_MICROS (about 3,000 years), so that period arithmetic on
    // instance times cannot overflow.
    let micros = total * 1e6;
    (any && micros <= MAX_DURATION_MICROS as f64).then_some(micros as i64)
}

/// The longest duration [`parse_duration`] accepts, in µs (10^17 µs, about 3,170 years).
pub const MAX_DURATION_MICROS: i64 = 100_000_000_000_000_000;

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
                Some(p) if p > 0 => k.saturating_add(p),
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
            list.push(json!([v, format_time(*k), format_time(pend)]));
        }
        out.insert(m.clone(), Value::Array(list));
    }
    out
}

/// The representation of a temporal answer (GS CIM 009 §4.5.8, §4.5.9, §4.5.19).
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum TemporalFormat {
    /// Every instance in full (normalized).
    Normalized,
    /// `options=temporalValues`: `[value, time]` pairs.
    Values,
    /// `options=aggregatedValues`: `[value, periodStart, periodEnd]` per method.
    Aggregated,
}

/// The options of a temporal retrieval or query, from its parameters.
#[derive(Debug)]
pub(crate) struct TemporalOpts {
    pub(crate) fmt: TemporalFormat,
    pub(crate) last_n: Option<usize>,
    methods: Vec<String>,
    period: Option<i64>,
    pub(crate) tf: TimeFilter,
    between: bool,
    sys_attrs: bool,
    /// `datasetId` filter: `None` = every instance; `Some(None)` in the list = the default one.
    datasets: Option<Vec<Option<String>>>,
    pick: Option<Vec<String>>,
    omit: Vec<String>,
}

/// The four temporal properties a temporal query may take as its time axis (§4.8).
const TIME_PROPERTIES: &[&str] = &["observedAt", "createdAt", "modifiedAt", "deletedAt"];

pub(crate) fn temporal_opts(p: &Params) -> NgsiResult<TemporalOpts> {
    // `format` takes precedence over a representation in `options` (§6.3.12).
    let fmt = match p.get("format") {
        Some("aggregatedValues") => TemporalFormat::Aggregated,
        Some("temporalValues") => TemporalFormat::Values,
        Some(_) => TemporalFormat::Normalized,
        None if p.option("aggregatedValues") => TemporalFormat::Aggregated,
        None if p.option("temporalValues") => TemporalFormat::Values,
        None => TemporalFormat::Normalized,
    };
    let last_n = p
        .get("lastN")
        .map(|s| {
            s.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                NgsiError::bad_data(format!("lastN {s:?} is not a positive integer"))
            })
        })
        .transpose()?;
    if let Some(tp) = p.get("timeproperty") {
        if !TIME_PROPERTIES.contains(&tp) {
            return Err(NgsiError::bad_data(format!(
                "timeproperty {tp:?} is not one of {}",
                TIME_PROPERTIES.join(", ")
            )));
        }
    }
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
        .transpose()?
        .filter(|d| *d > 0);
    let datasets = p.get("datasetId").map(|_| {
        p.list("datasetId")
            .into_iter()
            .map(|d| (d != "@none").then_some(d))
            .collect()
    });
    Ok(TemporalOpts {
        fmt,
        last_n,
        methods,
        period,
        tf: time_filter(p)?,
        between: p.get("timerel") == Some("between"),
        sys_attrs: p.option("sysAttrs"),
        datasets,
        pick: p.get("pick").map(|_| p.list("pick")),
        omit: p.list("omit"),
    })
}

impl TemporalOpts {
    fn wants_dataset(&self, d: Option<&str>) -> bool {
        match &self.datasets {
            None => true,
            Some(l) => l.iter().any(|x| x.as_deref() == d),
        }
    }
    /// Keeps the members `pick` names and drops those `omit` names (§4.21).
    fn project(&self, m: &mut Map<String, Value>) {
        if let Some(pick) = &self.pick {
            m.retain(|k, _| pick.iter().any(|p| p == k));
        }
        for k in &self.omit {
            m.remove(k);
        }
    }
}

/// Formats a time of a temporal answer: RFC 3339 UTC, with a fraction only when the
/// instant has one (`2020-08-01T12:03:00Z`, `…:00.5Z`).
pub(crate) fn format_time(us: i64) -> String {
    if us % 1_000_000 == 0 {
        chrono::DateTime::from_timestamp_micros(us)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    } else {
        model::format_micros(us)
    }
}

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

/// The rows a temporal answer selects: the `datasetId` filter, then the last N instances
/// per attribute and datasetId (`lastN`, GS CIM 009 §5.7.3).
pub(crate) fn select_rows<'a>(rows: &'a [HistRow], o: &TemporalOpts) -> Vec<&'a HistRow> {
    let mut groups: BTreeMap<(&str, &str, Option<&str>), Vec<&HistRow>> = BTreeMap::new();
    for r in rows {
        let ds = r.instance.dataset_id.as_deref();
        if o.wants_dataset(ds) {
            groups
                .entry((r.entity_id.as_str(), r.attr.as_str(), ds))
                .or_default()
                .push(r);
        }
    }
    let mut kept: Vec<&HistRow> = Vec::new();
    for (_, mut list) in groups {
        if let Some(n) = o.last_n {
            if list.len() > n {
                list = list.split_off(list.len() - n);
            }
        }
        kept.extend(list);
    }
    kept
}

/// Keeps at most [`TwinConfig::temporal_page`] of the selected instances per entity
/// (GS CIM 009 §6.3.10). When that page cuts the answer, returns the `Content-Range` value
/// too: `date-time <from>-<to>/<lastN or *>`, from the oldest instance onward, or with
/// `lastN` from the most recent one backward; the cut is a time that applies to every
/// attribute of every entity, so the range holds all their instances.
///
/// [`TwinConfig::temporal_page`]: crate::TwinConfig::temporal_page
pub(crate) fn page_rows<'a>(
    selected: &[&'a HistRow],
    o: &TemporalOpts,
    page: usize,
) -> (Vec<&'a HistRow>, Option<String>) {
    let mut kept = selected.to_vec();
    if o.fmt == TemporalFormat::Aggregated || page == 0 {
        return (kept, None);
    }
    let newest_first = o.last_n.is_some();
    let mut times: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for r in &kept {
        times.entry(r.entity_id.as_str()).or_default().push(r.at);
    }
    let mut cut: Option<i64> = None;
    for (_, mut t) in times {
        if t.len() <= page {
            continue;
        }
        t.sort_unstable();
        let c = if newest_first {
            t[t.len() - page]
        } else {
            t[page - 1]
        };
        cut = Some(match cut {
            None => c,
            Some(x) if newest_first => x.max(c),
            Some(x) => x.min(c),
        });
    }
    let Some(cut) = cut else {
        return (kept, None);
    };
    kept.retain(|r| {
        if newest_first {
            r.at >= cut
        } else {
            r.at <= cut
        }
    });
    let start = if newest_first {
        o.tf.to
            .or_else(|| kept.iter().map(|r| r.at).max())
            .unwrap_or(cut)
    } else {
        o.tf.from
            .or_else(|| kept.iter().map(|r| r.at).min())
            .unwrap_or(cut)
    };
    let size = o.last_n.map_or("*".to_string(), |n| n.to_string());
    let range = format!(
        "date-time {}-{}/{size}",
        format_time(start),
        format_time(cut)
    );
    (kept, Some(range))
}

/// Answers a temporal retrieval or query: 200, or 206 with `Content-Range` when the page
/// cut it (§6.3.10).
fn temporal_response(
    body: Value,
    ctx: &Context,
    acc: routes::Accept,
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
    routes::respond(status, body, ctx, acc, extra)
}

/// GET /temporal/entities/{id} (§6.19.3.1). 400 when the id is not a URI; 404 when the
/// entity has neither a current state nor history, when none of the `attrs` exists, or
/// when `pick`/`omit` leave nothing.
pub async fn get_temporal(
    State(st): State<TwinState>,
    t: routes::Ten,
    h: HeaderMap,
    Path(id): Path<String>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> NgsiResult<Response> {
    if !model::is_uri(&id) {
        return Err(NgsiError::bad_data(format!("{id:?} is not a URI")));
    }
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

/// The type recorded with the entity's history, if it has any.
async fn history_type(twin: &Twin, tenant: &str, id: &str) -> NgsiResult<Option<String>> {
    let r = twin
        .db()
        .fetch_optional(
            "SELECT etype FROM twin_history WHERE tenant = $1 AND entity_id = $2 LIMIT 1",
            args![tenant, id],
        )
        .await?;
    r.map(|r| r.text("etype")).transpose().map_err(Into::into)
}

/// Whether any of `attrs` of the entity has history at any time.
async fn has_history(twin: &Twin, tenant: &str, id: &str, attrs: &[String]) -> NgsiResult<bool> {
    let rows = history(
        twin,
        tenant,
        &[id.to_string()],
        attrs,
        TimeFilter::default(),
    )
    .await?;
    Ok(!rows.is_empty())
}

/// The `orderBy` of a temporal query (§5.7.4.4): only `id`, ascending or descending;
/// returns whether the order is descending. Errors: 400 BadRequestData.
fn temporal_order(p: &Params) -> NgsiResult<bool> {
    let mut desc = false;
    for item in p.list("orderBy") {
        let (member, dir) = item.split_once(';').unwrap_or((item.as_str(), "asc"));
        if member != "id" {
            return Err(NgsiError::bad_data(format!(
                "orderBy {member:?}: a temporal query can only be ordered by id"
            )));
        }
        desc = match dir {
            "asc" => false,
            "desc" => true,
            other => {
                return Err(NgsiError::bad_data(format!(
                    "orderBy direction {other:?} is not asc or desc"
                )))
            }
        };
    }
    Ok(desc)
}

/// Whether q and the geo-query hold at some instant of the time range (§5.7.4.4 S2): the
/// entity as its instances in the range make it at each instant an instance starts (per
/// attribute and datasetId, the latest instance up to that instant). An entity without
/// instances in the range never matches.
fn matches_over_time(
    e: &model::Entity,
    rows: &[&HistRow],
    filter: &(Option<crate::q::Expr>, Option<crate::geoq::GeoQuery>),
    ctx: &Context,
) -> bool {
    let mut sorted: Vec<&HistRow> = rows.to_vec();
    sorted.sort_by_key(|r| r.at);
    let mut state: BTreeMap<&str, BTreeMap<Option<&str>, &Attribute>> = BTreeMap::new();
    let mut snapshot = model::Entity {
        attrs: BTreeMap::new(),
        ..e.clone()
    };
    for (i, r) in sorted.iter().enumerate() {
        state
            .entry(r.attr.as_str())
            .or_default()
            .insert(r.instance.dataset_id.as_deref(), &r.instance);
        if sorted.get(i + 1).is_some_and(|n| n.at == r.at) {
            continue;
        }
        snapshot.attrs = state
            .iter()
            .map(|(k, v)| (k.to_string(), v.values().map(|a| (*a).clone()).collect()))
            .collect();
        let q_ok = filter.0.as_ref().is_none_or(|x| x.matches(&snapshot, ctx));
        let geo_ok = filter.1.as_ref().is_none_or(|g| g.matches(&snapshot));
        if q_ok && geo_ok {
            return true;
        }
    }
    false
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
    let ctx = routes::header_context(&st.twin, &h).await?;
    run_temporal_query(&st, &t, &h, &p, &ctx).await
}

/// Runs a temporal query (§5.7.4) given as parameters, for GET /temporal/entities and
/// POST /temporal/entityOperations/query. Needs type, attrs, q, a geo-query or
/// `local=true` (ids alone are not enough: 400 BadRequestData).
pub(crate) async fn run_temporal_query(
    st: &TwinState,
    t: &routes::Ten,
    h: &HeaderMap,
    p: &Params,
    ctx: &Context,
) -> NgsiResult<Response> {
    routes::check_projections(p)?;
    routes::check_query_scope(p)?;
    let acc = routes::accept(h)?;
    let o = temporal_opts(p)?;
    let desc = temporal_order(p)?;
    if let Some(csf) = p.get("csf") {
        crate::q::parse(csf)
            .map_err(|e| NgsiError::bad_data(format!("csf {csf:?}: {}", e.detail)))?;
    }
    let tenant = routes::tenant_of(t);
    let mut q = routes::build_query(p, ctx)?;
    q.allowed_types = routes::type_limit(t);
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
    let (limit, offset) = routes::paging(p, &st.twin)?;
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
        // Beyond about 3,170 years: refused (400), not an overflow in period arithmetic.
        assert_eq!(parse_duration("P99999999Y"), None);
        assert_eq!(
            parse_duration("P3000Y"),
            Some(3000 * 365 * 86400 * 1_000_000)
        );
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
        assert_eq!(a["avg"][0][1], json!("1970-01-01T00:00:00Z"));
        assert_eq!(a["avg"][0][2], json!("1970-01-01T01:00:00Z"));
        assert_eq!(parse_duration("PT0S"), Some(0));
        assert_eq!(format_time(1_500_000), "1970-01-01T00:00:01.500Z");
    }
}
