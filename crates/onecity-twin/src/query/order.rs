//! Ordering of query results (GS CIM 009 §4.23): `orderBy` (entity members, attributes,
//! sub-attributes, `attr.createdAt`-style metadata, compound members `attr[key]`, each
//! `;asc`, `;desc`, or for a GeoProperty `;dist-asc`/`;dist-desc` from `orderFrom`), and
//! `collation`.
//!
//! Values rank by datatype first (§4.23.2): numbers, then strings, then booleans, then
//! other values; an absent value is last in either direction. Strings compare by code
//! point, or, with a collation, first with Latin diacritics and case folded (the root
//! collation's primary strength for Latin-1 letters), then by code point.

use crate::ld::context::Context;
use crate::ld::error::{NgsiError, NgsiResult};
use crate::ld::model::{Attribute, Entity};
use serde_json::Value;
use std::cmp::Ordering;

/// What one ordering key reads.
#[derive(Debug, Clone, PartialEq)]
enum Path {
    Id,
    Type,
    CreatedAt,
    ModifiedAt,
    /// An attribute (as written), then a sub-attribute or metadata path, then a path into
    /// a compound value.
    Attr {
        name: String,
        sub: Vec<String>,
        compound: Vec<String>,
    },
}

/// One `orderBy` item.
#[derive(Debug, Clone, PartialEq)]
struct Key {
    path: Path,
    desc: bool,
    distance: bool,
}

/// A parsed ordering request (§4.23).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    keys: Vec<Key>,
    origin: Option<(f64, f64)>,
    collate: bool,
}

fn bad(m: impl Into<String>) -> NgsiError {
    NgsiError::bad_data(m)
}

/// Whether `s` looks like a BCP 47 language tag (`und`, `de-u-co-phonebk`).
fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let first = parts.next().unwrap_or("");
    (2..=8).contains(&first.len())
        && first.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

impl OrderBy {
    /// Parses `orderBy`, `orderFrom` (a JSON coordinate array, needed by distance
    /// ordering) and `collation`. Errors: 400 BadRequestData for an empty item, an unknown
    /// direction, distance ordering without `orderFrom`, a malformed `orderFrom` or an
    /// invalid collation tag.
    pub fn parse(
        order_by: &str,
        order_from: Option<&str>,
        collation: Option<&str>,
    ) -> NgsiResult<OrderBy> {
        let mut keys = Vec::new();
        for item in order_by.split(',') {
            let (path, dir) = item.split_once(';').unwrap_or((item, "asc"));
            let (desc, distance) = match dir {
                "asc" => (false, false),
                "desc" => (true, false),
                "dist-asc" => (false, true),
                "dist-desc" => (true, true),
                other => {
                    return Err(bad(format!(
                        "orderBy: {other:?} is not asc, desc, dist-asc or dist-desc"
                    )))
                }
            };
            keys.push(Key {
                path: parse_path(path)?,
                desc,
                distance,
            });
        }
        let origin = match order_from {
            None => None,
            Some(s) => {
                let v: Value = serde_json::from_str(s)
                    .map_err(|_| bad("orderFrom must be a JSON array [longitude, latitude]"))?;
                let a = v.as_array().filter(|a| a.len() >= 2 && a.len() <= 3);
                let c: Option<Vec<f64>> = a.map(|a| a.iter().filter_map(Value::as_f64).collect());
                match c {
                    Some(c) if c.len() == a.map_or(0, Vec::len) => Some((c[0], c[1])),
                    _ => return Err(bad("orderFrom must be a JSON array [longitude, latitude]")),
                }
            }
        };
        if keys.iter().any(|k| k.distance) && origin.is_none() {
            return Err(bad(
                "ordering by distance needs the reference coordinates (orderFrom)",
            ));
        }
        let collate = match collation {
            None => false,
            Some(c) if is_language_tag(c) => true,
            Some(c) => return Err(bad(format!("collation {c:?} is not a BCP 47 language tag"))),
        };
        Ok(OrderBy {
            keys,
            origin,
            collate,
        })
    }

    /// Sorts entities in place (stable: ties keep their id order).
    pub fn sort<E: AsRef<Entity>>(&self, list: &mut [E], ctx: &Context) {
        let keys: Vec<(Key, Option<String>)> = self
            .keys
            .iter()
            .map(|k| {
                let iri = match &k.path {
                    Path::Attr { name, .. } => Some(ctx.expand(name)),
                    _ => None,
                };
                (k.clone(), iri)
            })
            .collect();
        list.sort_by(|a, b| {
            for (k, iri) in &keys {
                let va = self.value_of(a.as_ref(), k, iri.as_deref());
                let vb = self.value_of(b.as_ref(), k, iri.as_deref());
                let o = self.compare(&va, &vb, k.desc);
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
    }

    fn value_of(&self, e: &Entity, k: &Key, iri: Option<&str>) -> Option<Value> {
        match &k.path {
            Path::Id => Some(Value::String(e.id.clone())),
            Path::Type => Some(Value::String(e.main_type().to_string())),
            Path::CreatedAt => Some(Value::from(e.created_at)),
            Path::ModifiedAt => Some(Value::from(e.modified_at)),
            Path::Attr { sub, compound, .. } => {
                let list = e.attrs.get(iri?)?;
                let a = list
                    .iter()
                    .find(|a| a.dataset_id.is_none())
                    .or(list.first())?;
                if k.distance {
                    let (lon, lat) = self.origin?;
                    return crate::query::geo::distance_from(&a.value, lon, lat).map(Value::from);
                }
                let mut v = attr_path(a, sub)?;
                for c in compound {
                    v = v.get(c)?.clone();
                }
                Some(v)
            }
        }
    }

    fn compare(&self, a: &Option<Value>, b: &Option<Value>, desc: bool) -> Ordering {
        match (a, b) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => {
                let o = rank(x).cmp(&rank(y)).then_with(|| match (x, y) {
                    (Value::Number(p), Value::Number(q)) => p
                        .as_f64()
                        .partial_cmp(&q.as_f64())
                        .unwrap_or(Ordering::Equal),
                    (Value::String(p), Value::String(q)) if self.collate => {
                        fold(p).cmp(&fold(q)).then_with(|| p.cmp(q))
                    }
                    (Value::String(p), Value::String(q)) => p.cmp(q),
                    (Value::Bool(p), Value::Bool(q)) => p.cmp(q),
                    _ => x.to_string().cmp(&y.to_string()),
                });
                if desc {
                    o.reverse()
                } else {
                    o
                }
            }
        }
    }
}

/// The value at `sub` under an attribute: its value, a sub-attribute's, or metadata.
fn attr_path(a: &Attribute, sub: &[String]) -> Option<Value> {
    let Some((head, rest)) = sub.split_first() else {
        return Some(a.plain_value().clone());
    };
    match head.as_str() {
        "createdAt" if rest.is_empty() => Some(Value::from(a.created_at)),
        "modifiedAt" if rest.is_empty() => Some(Value::from(a.modified_at)),
        "observedAt" if rest.is_empty() => a.observed_micros().map(Value::from),
        "unitCode" if rest.is_empty() => a.unit_code.clone().map(Value::String),
        "datasetId" if rest.is_empty() => a.dataset_id.clone().map(Value::String),
        _ => {
            let s = a
                .sub
                .iter()
                .find(|(k, _)| {
                    k.as_str() == head
                        || k.ends_with(&format!("/{head}"))
                        || k.ends_with(&format!("#{head}"))
                })?
                .1;
            attr_path(s, rest)
        }
    }
}

fn parse_path(p: &str) -> NgsiResult<Path> {
    let (base, compound) = match p.split_once('[') {
        Some((b, rest)) => {
            let inner = rest
                .strip_suffix(']')
                .ok_or_else(|| bad(format!("orderBy: {p:?} has an unclosed [")))?;
            (b, inner.split('.').map(str::to_string).collect::<Vec<_>>())
        }
        None => (p, Vec::new()),
    };
    let mut parts = base.split('.');
    let name = parts.next().unwrap_or("");
    let sub: Vec<String> = parts.map(str::to_string).collect();
    if name.is_empty() || sub.iter().chain(&compound).any(String::is_empty) {
        return Err(bad(format!("orderBy: {p:?} is not an attribute path")));
    }
    Ok(match (name, sub.is_empty() && compound.is_empty()) {
        ("id", true) => Path::Id,
        ("type", true) => Path::Type,
        ("createdAt", true) => Path::CreatedAt,
        ("modifiedAt", true) => Path::ModifiedAt,
        _ => Path::Attr {
            name: name.to_string(),
            sub,
            compound,
        },
    })
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Number(_) => 0,
        Value::String(_) => 1,
        Value::Bool(_) => 2,
        _ => 3,
    }
}

/// Folds case and the diacritics of Latin-1 letters (`Á` → `a`), for collated order.
fn fold(s: &str) -> String {
    const FROM: &str = "ÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖØòóôõöøÙÚÛÜùúûüÝýÿ";
    const TO: &str = "aaaaaaaaaaaacceeeeeeeeiiiiiiiinnoooooooooooouuuuuuuuyyy";
    s.chars()
        .map(|c| match FROM.chars().position(|x| x == c) {
            Some(i) => TO.chars().nth(i).unwrap_or(c),
            None => c.to_lowercase().next().unwrap_or(c),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert!(OrderBy::parse("name;desc,createdAt", None, None).is_ok());
        assert!(OrderBy::parse("location;dist-asc", None, None).is_err());
        assert!(OrderBy::parse("location;dist-asc", Some("[8,40]"), None).is_ok());
        assert!(OrderBy::parse("name;sideways", None, None).is_err());
        assert!(OrderBy::parse("name", None, Some("!!nope")).is_err());
        assert!(OrderBy::parse("name", None, Some("de-u-co-phonebk")).is_ok());
        assert_eq!(fold("Ähre"), "ahre");
        assert_eq!(fold("ÀÿÑ"), "ayn");
    }
}
