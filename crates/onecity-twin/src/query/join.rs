//! Linked entity retrieval (GS CIM 009 §4.5.23, §5.7.1.4, §5.7.2.4): `join=inline|flat`
//! with `joinLevel`, and the nested `pick`/`omit` projections that address linked
//! entities (§4.21, `locatedAt{id,name}`).

use crate::ld::error::{NgsiError, NgsiResult};
use crate::ld::model::{self};
use crate::query::params::Params;

/// The highest `joinLevel` the broker accepts (§5.7.2.4 leaves the bound to the broker).
pub const MAX_JOIN_LEVEL: usize = 10;

/// One member of a `pick` or `omit` projection (GS CIM 009 §4.21): an entity member or an
/// attribute name, with the projection of the linked entity when written `name{…}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member or (compacted) attribute name.
    pub name: String,
    /// The projection applied to the entity linked by this Relationship, if any.
    pub nested: Option<Vec<Member>>,
}

fn bad_member(k: &str, name: &str) -> NgsiError {
    NgsiError::bad_data(format!(
        "{k}: {name:?} is not an attribute name or entity member (empty member, invalid character or misplaced brace)"
    ))
}

/// Parses one projection (`pick` or `omit`, GS CIM 009 §4.21): a list (separated by `,` or
/// `|`) of
/// entity members or attribute names, each optionally followed by `{…}` holding the
/// projection of the linked entity. Errors: 400 BadRequestData for an empty member, an
/// invalid character, an unbalanced or doubled brace, an empty `{}`.
pub fn parse_projection(k: &str, s: &str) -> NgsiResult<Vec<Member>> {
    fn list(k: &str, b: &[u8], i: &mut usize, depth: usize) -> NgsiResult<Vec<Member>> {
        let mut out = Vec::new();
        loop {
            let start = *i;
            while *i < b.len() && !matches!(b[*i], b',' | b'|' | b'{' | b'}') {
                *i += 1;
            }
            let name = std::str::from_utf8(&b[start..*i]).unwrap_or("");
            if name.is_empty() || !model::is_valid_name(name) {
                return Err(bad_member(k, name));
            }
            let mut nested = None;
            if *i < b.len() && b[*i] == b'{' {
                *i += 1;
                nested = Some(list(k, b, i, depth + 1)?);
                if *i >= b.len() || b[*i] != b'}' {
                    return Err(NgsiError::bad_data(format!("{k}: unclosed brace")));
                }
                *i += 1;
            }
            out.push(Member {
                name: name.to_string(),
                nested,
            });
            if *i >= b.len() {
                if depth > 0 {
                    return Err(NgsiError::bad_data(format!("{k}: unclosed brace")));
                }
                return Ok(out);
            }
            match b[*i] {
                b',' | b'|' => *i += 1,
                b'}' if depth > 0 => return Ok(out),
                c => {
                    return Err(NgsiError::bad_data(format!(
                        "{k}: unexpected {:?}",
                        c as char
                    )))
                }
            }
        }
    }
    let mut i = 0;
    list(k, s.as_bytes(), &mut i, 0)
}

/// How many linked-entity hops a projection addresses (0 for a flat list).
pub fn depth(members: &[Member]) -> usize {
    members
        .iter()
        .map(|m| m.nested.as_deref().map_or(0, |n| 1 + depth(n)))
        .max()
        .unwrap_or(0)
}

/// The `pick`/`omit` projection of one entity level (GS CIM 009 §4.21).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    /// `pick`: the members to keep; `None` = all.
    pub pick: Option<Vec<Member>>,
    /// `omit`: the members to drop.
    pub omit: Vec<Member>,
}

impl Projection {
    /// Parses and checks the `pick` and `omit` parameters (§4.21, §5.7.2.4): a nested
    /// projection needs `join` and may not address more hops than `joinLevel`.
    /// Errors: 400 BadRequestData.
    pub fn from_params(p: &Params, join: Option<Join>) -> NgsiResult<Projection> {
        let mut out = Projection::default();
        for k in ["pick", "omit"] {
            let Some(v) = p.0.get(k).map(String::as_str) else {
                continue;
            };
            let members = parse_projection(k, v)?;
            let d = depth(&members);
            match join {
                None if d > 0 => {
                    return Err(NgsiError::bad_data(format!(
                        "{k}: a linked-entity projection {{…}} needs join"
                    )))
                }
                Some(j) if d > j.level => {
                    return Err(NgsiError::bad_data(format!(
                        "{k}: the projection addresses {d} linked-entity levels, more than joinLevel {}",
                        j.level
                    )))
                }
                _ => {}
            }
            if k == "pick" {
                out.pick = Some(members);
            } else {
                out.omit = members;
            }
        }
        Ok(out)
    }

    /// The names kept at this level (`None` = all).
    pub fn pick_names(&self) -> Option<Vec<String>> {
        self.pick
            .as_ref()
            .map(|l| l.iter().map(|m| m.name.clone()).collect())
    }

    /// The names dropped at this level: an omitted member with a nested projection is
    /// kept (the projection applies to its linked entity).
    pub fn omit_names(&self) -> Vec<String> {
        self.omit
            .iter()
            .filter(|m| m.nested.is_none())
            .map(|m| m.name.clone())
            .collect()
    }

    /// The projection of the entity linked by the attribute `short` (compacted name).
    pub fn linked(&self, short: &str) -> Projection {
        let nested = |l: &[Member]| {
            l.iter()
                .find(|m| m.name == short)
                .and_then(|m| m.nested.clone())
        };
        Projection {
            pick: self.pick.as_deref().and_then(nested),
            omit: nested(&self.omit).unwrap_or_default(),
        }
    }
}

/// How linked entities are returned (GS CIM 009 §4.5.23).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// Inside the Relationship (`entity` member; in keyValues the Relationship's value).
    Inline,
    /// As further entities of the answer, after the ones asked for.
    Flat,
}

/// A linked entity retrieval request: `join` and `joinLevel` (§5.7.1.4, §5.7.2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Join {
    /// inline or flat.
    pub kind: JoinKind,
    /// How many Relationship hops are followed (1 to [`MAX_JOIN_LEVEL`]).
    pub level: usize,
}

/// Parses `join` (`inline`, `flat` or `@none`) and `joinLevel` (a positive integer,
/// default 1). Errors: 400 BadRequestData for another value.
pub fn parse_join(p: &Params) -> NgsiResult<Option<Join>> {
    let level = match p.get("joinLevel") {
        None => 1,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=MAX_JOIN_LEVEL).contains(&n) => n,
            _ => {
                return Err(NgsiError::bad_data(format!(
                    "joinLevel {s:?} is not an integer from 1 to {MAX_JOIN_LEVEL}"
                )))
            }
        },
    };
    let kind = match p.get("join") {
        None | Some("@none") => return Ok(None),
        Some("inline") => JoinKind::Inline,
        Some("flat") => JoinKind::Flat,
        Some(other) => {
            return Err(NgsiError::bad_data(format!(
                "join {other:?} is not inline, flat or @none"
            )))
        }
    };
    Ok(Some(Join { kind, level }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_projection_parses_and_measures_depth() {
        let l = parse_projection("pick", "id,locatedAt{id,name,isInCountry{id}}").unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(depth(&l), 2);
        let p = Projection {
            pick: Some(l),
            omit: Vec::new(),
        };
        assert_eq!(
            p.pick_names(),
            Some(vec!["id".to_string(), "locatedAt".to_string()])
        );
        let sub = p.linked("locatedAt");
        assert_eq!(
            sub.pick_names(),
            Some(vec![
                "id".to_string(),
                "name".to_string(),
                "isInCountry".to_string()
            ])
        );
        assert!(parse_projection("pick", "a{b").is_err());
        assert!(parse_projection("pick", "a{}").is_err());
        assert!(parse_projection("pick", "a||b").is_err());
        assert_eq!(parse_projection("pick", "a|b").unwrap().len(), 2);
        let o = Projection {
            pick: None,
            omit: parse_projection("omit", "type,locatedAt{name}").unwrap(),
        };
        assert_eq!(o.omit_names(), vec!["type".to_string()]);
        assert_eq!(o.linked("locatedAt").omit_names(), vec!["name".to_string()]);
    }
}
