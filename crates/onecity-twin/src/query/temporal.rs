//! Temporal selection and aggregation (GS CIM 009 §4.5.8, §4.5.9, §4.5.19, §4.11,
//! §5.7.3, §5.7.4): the time filter (`timerel`), ISO 8601 durations, the options of a
//! temporal read (`lastN`, `aggrMethods`, `aggrPeriodDuration`, `datasetId`, pick/omit),
//! which history rows an answer selects and pages, aggregation per period, and whether
//! q and a geo-query hold at some instant. Pure: the rows come from the store.

use crate::ld::context::Context;
use crate::ld::error::{NgsiError, NgsiResult};
use crate::ld::model::{self, Attribute};
use crate::query::params::Params;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

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
pub enum TemporalFormat {
    /// Every instance in full (normalized).
    Normalized,
    /// `options=temporalValues`: `[value, time]` pairs.
    Values,
    /// `options=aggregatedValues`: `[value, periodStart, periodEnd]` per method.
    Aggregated,
}

/// The options of a temporal retrieval or query, from its parameters.
#[derive(Debug)]
pub struct TemporalOpts {
    pub fmt: TemporalFormat,
    pub last_n: Option<usize>,
    pub methods: Vec<String>,
    pub period: Option<i64>,
    pub tf: TimeFilter,
    pub between: bool,
    pub sys_attrs: bool,
    /// `datasetId` filter: `None` = every instance; `Some(None)` in the list = the default one.
    pub datasets: Option<Vec<Option<String>>>,
    pub pick: Option<Vec<String>>,
    pub omit: Vec<String>,
}

/// The four temporal properties a temporal query may take as its time axis (§4.8).
const TIME_PROPERTIES: &[&str] = &["observedAt", "createdAt", "modifiedAt", "deletedAt"];

pub fn temporal_opts(p: &Params) -> NgsiResult<TemporalOpts> {
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
    pub fn wants_dataset(&self, d: Option<&str>) -> bool {
        match &self.datasets {
            None => true,
            Some(l) => l.iter().any(|x| x.as_deref() == d),
        }
    }
    /// Keeps the members `pick` names and drops those `omit` names (§4.21).
    pub fn project(&self, m: &mut Map<String, Value>) {
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
pub fn format_time(us: i64) -> String {
    if us % 1_000_000 == 0 {
        chrono::DateTime::from_timestamp_micros(us)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    } else {
        model::format_micros(us)
    }
}

/// The rows a temporal answer selects: the `datasetId` filter, then the last N instances
/// per attribute and datasetId (`lastN`, GS CIM 009 §5.7.3).
pub fn select_rows<'a>(rows: &'a [HistRow], o: &TemporalOpts) -> Vec<&'a HistRow> {
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
pub fn page_rows<'a>(
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

/// The `orderBy` of a temporal query (§5.7.4.4): only `id`, ascending or descending;
/// returns whether the order is descending. Errors: 400 BadRequestData.
pub fn temporal_order(p: &Params) -> NgsiResult<bool> {
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
pub fn matches_over_time(
    e: &model::Entity,
    rows: &[&HistRow],
    filter: &(
        Option<crate::query::q::Expr>,
        Option<crate::query::geo::GeoQuery>,
    ),
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
