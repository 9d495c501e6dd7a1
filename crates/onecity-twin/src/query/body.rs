//! The body of `POST /entityOperations/query` (GS CIM 009 §5.2.23 Query, §5.2.33
//! EntitySelector), checked and turned into the parameters of `GET /entities`.

use crate::ld::error::{NgsiError, NgsiResult};
use crate::ld::model;
use crate::query::params::Params;
use serde_json::{Map, Value};

fn bad(msg: impl Into<String>) -> NgsiError {
    NgsiError::bad_data(msg)
}

/// A string member or a non-empty array of strings, joined with `,` (§5.2.23 `attrs`,
/// `pick`, `omit`; §5.2.33 `id`). Errors: 400 BadRequestData for anything else.
fn string_list(k: &str, v: &Value) -> NgsiResult<String> {
    match v {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::Array(a) if !a.is_empty() => a
            .iter()
            .map(|x| {
                x.as_str()
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .ok_or_else(|| bad(format!("{k}: every element must be a non-empty string")))
            })
            .collect::<NgsiResult<Vec<_>>>()
            .map(|l| l.join(",")),
        _ => Err(bad(format!(
            "{k} must be a string or a non-empty array of strings"
        ))),
    }
}

/// Reads the `entities` selectors (§5.2.33): each an object with a `type` (mandatory), an
/// optional `id` (URI or array of URIs; it takes precedence over `idPattern`) and an
/// optional `idPattern`.
fn selectors(ents: &Value, p: &mut Params) -> NgsiResult<()> {
    let ents = ents
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| bad("entities must be a non-empty array of EntitySelectors"))?;
    let mut ids = Vec::new();
    let mut types = Vec::new();
    let mut pattern = None;
    for e in ents {
        let e = e
            .as_object()
            .ok_or_else(|| bad("an EntitySelector must be an object"))?;
        let ty = e
            .get("type")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad("an EntitySelector needs a type (a string)"))?;
        types.push(ty.to_string());
        if let Some(id) = e.get("id") {
            for one in string_list("id", id)?.split(',') {
                if !model::is_uri(one) {
                    return Err(bad(format!("id {one:?} is not a URI")));
                }
                ids.push(one.to_string());
            }
        } else if let Some(pat) = e.get("idPattern") {
            let pat = pat
                .as_str()
                .ok_or_else(|| bad("idPattern must be a string"))?;
            pattern = Some(pat.to_string());
        }
    }
    if !ids.is_empty() {
        p.0.insert("id".into(), ids.join(","));
    } else if let Some(pat) = pattern {
        p.0.insert("idPattern".into(), pat);
    }
    p.0.insert("type".into(), types.join(","));
    Ok(())
}

/// Copies each string member of `m` named in `keys` into `p` under its own name (the
/// Query members that are GET parameters as they are, §5.2.23); 400 BadRequestData when
/// one is not a string, naming it with the prefix `at` (e.g. `geoQ.`).
fn copy_strings(m: &Map<String, Value>, keys: &[&str], at: &str, p: &mut Params) -> NgsiResult<()> {
    for k in keys {
        if let Some(v) = m.get(*k) {
            let s = v
                .as_str()
                .ok_or_else(|| bad(format!("{at}{k} must be a string")))?;
            p.0.insert((*k).into(), s.into());
        }
    }
    Ok(())
}

/// Reads `ordering` (§5.2.43): `orderBy` (string or array of strings), `coordinates`
/// (a JSON array; the reference of distance ordering), `geometry` and `collation`
/// (strings).
fn ordering(o: &Value, p: &mut Params) -> NgsiResult<()> {
    let o = o
        .as_object()
        .ok_or_else(|| bad("ordering must be an object"))?;
    if let Some(v) = o.get("orderBy") {
        p.0.insert("orderBy".into(), string_list("orderBy", v)?);
    }
    if let Some(c) = o.get("coordinates") {
        if !c.is_array() {
            return Err(bad("ordering.coordinates must be a JSON array"));
        }
        p.0.insert("orderFrom".into(), c.to_string());
    }
    for k in ["geometry", "collation"] {
        if let Some(v) = o.get(k) {
            let s = v
                .as_str()
                .ok_or_else(|| bad(format!("ordering.{k} must be a string")))?;
            if k == "collation" {
                p.0.insert(k.into(), s.into());
            }
        }
    }
    Ok(())
}

/// Merges a Query body (§5.2.23) into `p`. Errors: 400 BadRequestData for a type other
/// than `Query`, invalid selectors, an empty `attrs`, a non-string `q`/`scopeQ`/`lang`/
/// `join`, a `joinLevel` that is not a positive integer, and `temporalQ` (only for the
/// temporal query, §5.7.4).
pub fn merge_into(body: &Value, p: &mut Params) -> NgsiResult<()> {
    let m = query_object(body)?;
    if m.contains_key("temporalQ") {
        return Err(bad(
            "temporalQ is only for the temporal query (GS CIM 009 §5.7.4)",
        ));
    }
    merge_members(m, p)
}

/// The members of a Query body (§5.2.23) of `POST /entityOperations/query` or
/// `POST /temporal/entityOperations/query`: 400 BadRequestData unless it is an object
/// whose `type` is `Query`.
pub fn query_object(body: &Value) -> NgsiResult<&Map<String, Value>> {
    let m = body
        .as_object()
        .ok_or_else(|| bad("the query must be an object"))?;
    if m.get("type").and_then(Value::as_str) != Some("Query") {
        return Err(bad("the body's type must be \"Query\""));
    }
    Ok(m)
}

/// Merges the members a Query body shares between `POST /entityOperations/query` and
/// `POST /temporal/entityOperations/query` (§5.2.23: `entities`, `attrs`, `pick`, `omit`,
/// `q`, `scopeQ`, `lang`, `join`, `joinLevel`, `ordering`, `geoQ`, `csf`) into `p`; the
/// caller has checked the body's `type`. Errors: as [`merge_into`].
pub fn merge_members(m: &Map<String, Value>, p: &mut Params) -> NgsiResult<()> {
    if let Some(ents) = m.get("entities") {
        selectors(ents, p)?;
    }
    for k in ["attrs", "pick", "omit"] {
        if let Some(v) = m.get(k) {
            p.0.insert(k.into(), string_list(k, v)?);
        }
    }
    copy_strings(m, &["q", "scopeQ", "lang", "join", "csf"], "", p)?;
    if let Some(v) = m.get("joinLevel") {
        match v.as_u64() {
            Some(n) if n > 0 => {
                p.0.insert("joinLevel".into(), n.to_string());
            }
            _ => return Err(bad("joinLevel must be a positive integer")),
        }
    }
    if let Some(o) = m.get("ordering") {
        ordering(o, p)?;
    }
    if let Some(g) = m.get("geoQ") {
        let g = g.as_object().ok_or_else(|| bad("geoQ must be an object"))?;
        copy_strings(g, &["georel", "geometry", "geoproperty"], "geoQ.", p)?;
        if let Some(c) = g.get("coordinates") {
            let s = match c {
                Value::String(s) => s.clone(),
                Value::Array(_) => c.to_string(),
                _ => return Err(bad("geoQ.coordinates must be an array")),
            };
            p.0.insert("coordinates".into(), s);
        }
    }
    Ok(())
}
