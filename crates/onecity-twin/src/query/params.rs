//! Query parameters of the NGSI-LD API (GS CIM 009 §6.3): the parsed query string, the
//! allowed parameter and `options` tables, and the checks and conversions every read
//! shares: the typed [`Query`] (`build_query`), the rendering [`View`], `limit`/`offset`
//! and the "too wide" rule. Pure: no HTTP types, no store.

use crate::ld::context::Context;
use crate::ld::error::{NgsiError, NgsiResult, ProblemKind};
use crate::ld::model::{self, Format, RenderOpts};
use crate::query::join::{Join, Projection};
use crate::query::Query;
use serde_json::Value;
use std::collections::HashMap;

/// Parsed query string, decoded as an HTML form (WHATWG URL, as clients encode it): `+`
/// is a space and `%2B` a plus sign (so `q=name=="Eiffel+Tower"` compares with a space and
/// `scopeQ=/Madrid/%2B/Park` holds the one-level wildcard).
#[derive(Debug, Default)]
pub struct Params(pub HashMap<String, String>);

impl Params {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Params {
        let mut m = HashMap::new();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let pair = pair.replace('+', " ");
            let (k, v) = pair.split_once('=').unwrap_or((&pair, ""));
            let k = percent_encoding::percent_decode_str(k)
                .decode_utf8_lossy()
                .to_string();
            let v = percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .to_string();
            m.insert(k, v);
        }
        Params(m)
    }
    /// One parameter.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|s| !s.is_empty())
    }
    /// A comma-separated list parameter.
    pub fn list(&self, k: &str) -> Vec<String> {
        self.get(k)
            .map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
    /// Whether `options` (or `format`) holds `opt`.
    pub fn option(&self, opt: &str) -> bool {
        self.list("options").iter().any(|o| o == opt) || self.get("format") == Some(opt)
    }
}

/// The query parameters of the NGSI-LD API (GS CIM 009 §6.3 to §6.31); any other one is
/// 400 InvalidRequest (§6.3.20). Routes under `/ext/` (onecity's own) are not checked.
pub const QUERY_PARAMS: &[&str] = &[
    "type",
    "id",
    "idPattern",
    "attrs",
    "q",
    "georel",
    "geometry",
    "coordinates",
    "geoproperty",
    "geometryProperty",
    "csf",
    "limit",
    "offset",
    "count",
    "options",
    "format",
    "lang",
    "pick",
    "omit",
    "scopeQ",
    "join",
    "joinLevel",
    "containedBy",
    "datasetId",
    "deleteAll",
    "entityMap",
    "local",
    "via",
    "details",
    "timerel",
    "timeAt",
    "endTimeAt",
    "timeproperty",
    "lastN",
    "aggrMethods",
    "aggrPeriodDuration",
    "keep",
    "drop",
    "orderBy",
    "orderFrom",
    "collation",
    "expandValues",
    "jsonKeys",
    "observedAt",
    "temporalQ",
];

/// The query parameters of the discovery routes (GS CIM 009 §6.25 to §6.28, §6.3.20):
/// `/types` and `/attributes` take `details`, `local` and `via`; `/types/{type}` and
/// `/attributes/{attr}` only `local` and `via`. `None` for other paths.
pub fn discovery_params(path: &str) -> Option<&'static [&'static str]> {
    let path = path.trim_end_matches('/');
    let rest = path.split_once("/ngsi-ld/v1/").map_or(path, |(_, r)| r);
    let mut parts = rest.trim_start_matches('/').split('/');
    let head = parts.next()?;
    if head != "types" && head != "attributes" {
        return None;
    }
    Some(match parts.next() {
        None => &["details", "local", "via"],
        Some(_) => &["local", "via"],
    })
}

/// The values of `options` and `format` (GS CIM 009 §6.3.7, §6.3.12, §6.3.13, §6.31):
/// representations, `sysAttrs`, `noOverwrite`, and `update`/`replace` of batch upsert.
/// Any other value is 400 InvalidRequest (as an undefined parameter, §6.3.20).
pub const OPTIONS: &[&str] = &[
    "normalized",
    "keyValues",
    "simplified",
    "concise",
    "sysAttrs",
    "noOverwrite",
    "temporalValues",
    "aggregatedValues",
    "update",
    "replace",
];

/// Whether an entity type IRI (or a short name) is one the limit names: equal, or ending
/// with `/<name>`, `#<name>` or `:<name>`.
pub fn type_matches(limit: &[String], ty: &str) -> bool {
    limit.iter().any(|t| {
        ty == t
            || ty
                .strip_suffix(t.as_str())
                .is_some_and(|head| head.ends_with(['/', '#', ':']))
    })
}

/// Checks one projection (`pick` or `omit`, GS CIM 009 §4.21, see
/// [`crate::query::join::parse_projection`]). Returns whether the projection is nested (addresses
/// a linked entity). Errors: 400 BadRequestData.
pub fn check_projection(k: &str, s: &str) -> NgsiResult<bool> {
    Ok(crate::query::join::depth(&crate::query::join::parse_projection(k, s)?) > 0)
}

/// Validates `pick`, `omit`, `attrs`, `join` and `joinLevel` together (§4.21, §5.7.2.4):
/// pick or omit with attrs, or the same member in pick and omit, is ambiguous; a nested
/// (linked-entity) projection needs `join` and at most `joinLevel` levels. Returns the
/// parsed join and projection. Errors: 400 BadRequestData.
pub fn check_projections(p: &Params) -> NgsiResult<(Option<Join>, Projection)> {
    let pick = p.0.get("pick").map(String::as_str);
    let omit = p.0.get("omit").map(String::as_str);
    if p.get("attrs").is_some() {
        if let Some(k) = [("pick", pick), ("omit", omit)]
            .iter()
            .find_map(|(k, v)| v.map(|_| k))
        {
            return Err(NgsiError::bad_data(format!(
                "{k} cannot be used together with attrs"
            )));
        }
    }
    let join = crate::query::join::parse_join(p)?;
    let proj = Projection::from_params(p, join)?;
    if let (Some(a), Some(b)) = (pick, omit) {
        let b: Vec<&str> = b.split(',').collect();
        if let Some(x) = a.split(',').find(|x| b.contains(x)) {
            return Err(NgsiError::bad_data(format!(
                "{x:?} is both in pick and in omit"
            )));
        }
    }
    Ok((join, proj))
}

/// What a read renders: the representation options, the projection and the join.
pub struct View {
    pub opts: RenderOpts,
    pub proj: Projection,
    pub join: Option<Join>,
}

/// The [`View`] of a read request: `options`/`format`, `attrs`, `pick`/`omit`, `lang`,
/// `join`/`joinLevel` (GS CIM 009 §4.5, §4.21, §4.5.23). Errors: 400 BadRequestData.
pub fn view(p: &Params, ctx: &Context) -> NgsiResult<View> {
    let (join, proj) = check_projections(p)?;
    if p.get("pick").is_some() && p.get("omit").is_some() {
        return Err(NgsiError::bad_data("pick and omit cannot be used together"));
    }
    let format = if p.option("keyValues") || p.option("simplified") {
        Format::KeyValues
    } else if p.option("concise") {
        Format::Concise
    } else {
        Format::Normalized
    };
    let attrs: Vec<String> = p.list("attrs").iter().map(|a| ctx.expand(a)).collect();
    let opts = RenderOpts {
        format,
        sys_attrs: p.option("sysAttrs"),
        attrs: if attrs.is_empty() { None } else { Some(attrs) },
        lang: p.get("lang").map(str::to_string),
        pick: proj.pick_names(),
        omit: proj.omit_names(),
        dataset_ids: p.get("datasetId").map(|_| p.list("datasetId")),
    };
    Ok(View { opts, proj, join })
}

/// An entity id given in a request path must be a URI (GS CIM 009 §4.5.1): else 400
/// BadRequestData.
pub fn check_id(id: &str) -> NgsiResult<()> {
    if !model::is_uri(id) {
        return Err(NgsiError::bad_data(format!("{id:?} is not a URI")));
    }
    Ok(())
}

/// Rejects an `idPattern` with a quantifier that follows another one (`a**`, `a+*`):
/// POSIX ERE and ECMA 262 patterns (§4.9) do not allow it, though the `regex` crate would.
/// A `?` after a quantifier (lazy) is allowed. Errors: 400 BadRequestData.
pub fn check_pattern(pat: &str) -> NgsiResult<()> {
    let mut prev_quant = false;
    let mut escaped = false;
    let mut in_class = false;
    for c in pat.chars() {
        if escaped {
            escaped = false;
            prev_quant = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '*' | '+' if !in_class => {
                if prev_quant {
                    return Err(NgsiError::bad_data(format!(
                        "idPattern {pat:?}: a quantifier cannot follow another quantifier"
                    )));
                }
                prev_quant = true;
                continue;
            }
            '}' if !in_class => {
                prev_quant = true;
                continue;
            }
            _ => {}
        }
        prev_quant = false;
    }
    Ok(())
}

/// Builds a [`Query`] from parameters (shared by GET /entities and the temporal API).
pub fn build_query(p: &Params, ctx: &Context) -> NgsiResult<Query> {
    let mut q = Query {
        ids: p.list("id"),
        ..Default::default()
    };
    for id in &q.ids {
        check_id(id)?;
    }
    if let Some(pat) = p.get("idPattern") {
        check_pattern(pat)?;
        q.id_pattern = Some(
            regex::Regex::new(pat).map_err(|e| NgsiError::bad_data(format!("idPattern: {e}")))?,
        );
    }
    if let Some(ty) = p.get("type").filter(|t| *t != "*") {
        for x in ty
            .split([',', '|', ';'])
            .map(|s| s.trim_matches(|c| c == '(' || c == ')'))
        {
            if !model::is_valid_name(x) {
                return Err(NgsiError::bad_data(format!(
                    "type {x:?} is not a valid name"
                )));
            }
            q.types.push(ctx.expand(x));
        }
        if ty.contains(';') {
            // §4.17: `,` or `|` separate alternatives, `;` joins types an entity must all
            // have; parentheses group.
            q.type_groups = ty
                .split([',', '|'])
                .map(|alt| {
                    alt.trim_matches(|c| c == '(' || c == ')')
                        .split(';')
                        .map(|x| ctx.expand(x.trim_matches(|c| c == '(' || c == ')')))
                        .collect()
                })
                .collect();
        }
    }
    q.attrs = p.list("attrs").iter().map(|a| ctx.expand(a)).collect();
    if let Some(x) = p.get("q") {
        q.q = Some(crate::query::q::parse(x)?);
    }
    if let Some(georel) = p.get("georel") {
        let coords: Value = p
            .get("coordinates")
            .map(|c| {
                // A `+` in a query string is a space (form encoding: `[2.29,+48.85]`).
                serde_json::from_str(&c.replace('+', " "))
                    .map_err(|e| NgsiError::bad_data(format!("coordinates: not a JSON array: {e}")))
            })
            .transpose()?
            .ok_or_else(|| NgsiError::bad_data("a geo-query needs coordinates"))?;
        q.geo = Some(crate::query::geo::parse(
            georel,
            p.get("geometry"),
            Some(&coords),
            p.get("geoproperty"),
            ctx,
        )?);
    } else if p.get("geometry").is_some() || p.get("coordinates").is_some() {
        return Err(NgsiError::bad_data("geometry and coordinates need georel"));
    }
    if let Some(s) = p.get("scopeQ") {
        q.scope_q = Some(crate::query::q::parse_scope_q(s)?);
    }
    Ok(q)
}

/// Parses `limit` and `offset`. Errors: 400 for non-numbers; 403 TooManyResults above
/// the maximum.
pub fn paging(p: &Params, default_limit: usize, max_limit: usize) -> NgsiResult<(usize, usize)> {
    let limit = match p.get("limit") {
        None => default_limit,
        Some(s) => s.parse::<usize>().map_err(|_| {
            NgsiError::bad_data(format!("limit {s:?} is not a non-negative integer"))
        })?,
    };
    if limit > max_limit {
        return Err(NgsiError::new(
            ProblemKind::TooManyResults,
            format!("limit {limit} is above the maximum {max_limit}"),
        ));
    }
    let offset = match p.get("offset") {
        None => 0,
        Some(s) => s.parse::<usize>().map_err(|_| {
            NgsiError::bad_data(format!("offset {s:?} is not a non-negative integer"))
        })?,
    };
    Ok((limit, offset))
}

/// Members every entity has or that the broker sets itself: a purge filtered only by
/// them would select the whole tenant (§5.6.21.4).
pub fn is_system_member(a: &str) -> bool {
    matches!(
        a,
        "id" | "type" | "createdAt" | "modifiedAt" | "deletedAt" | "@id" | "@type"
    )
}

/// The "too wide" check of a query (§5.7.2.4, §5.7.4): it needs an entity id or
/// idPattern, a type, `attrs` naming a non-system attribute, `q` over a non-system
/// attribute, a geo-query or `local=true`; a `q` on linked entities (`a{b}`) needs `join`.
/// Errors: 400 BadRequestData.
pub fn check_query_scope(p: &Params) -> NgsiResult<()> {
    if p.get("q").is_some_and(|q| q.contains('{')) && p.get("join").is_none() {
        return Err(NgsiError::bad_data(
            "q on linked entities ({…}) needs join (too deep query)",
        ));
    }
    let q_narrows = match p.get("q") {
        Some(x) => crate::query::q::parse(x)?
            .attributes()
            .iter()
            .any(|a| !is_system_member(a)),
        None => false,
    };
    let attrs_narrow = p.list("attrs").iter().any(|a| !is_system_member(a));
    if p.get("type").is_some()
        || p.get("id").is_some()
        || p.get("idPattern").is_some()
        || attrs_narrow
        || q_narrows
        || p.get("georel").is_some()
        || p.get("local") == Some("true")
    {
        return Ok(());
    }
    Err(NgsiError::bad_data(
        "the query is too wide: give type, id, idPattern, attrs (a non-system attribute), q (over a non-system attribute), a geo-query or local=true",
    ))
}
