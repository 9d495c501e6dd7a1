//! Linked entity retrieval (GS CIM 009 §4.5.23, §5.7.1.4, §5.7.2.4): `join=inline|flat`
//! with `joinLevel`, and the nested `pick`/`omit` projections that address linked
//! entities (§4.21, `locatedAt{id,name}`).

use crate::context::Context;
use crate::error::{NgsiError, NgsiResult};
use crate::model::{self, AttrKind, Entity, Format, RenderOpts};
use crate::routes::{type_matches, Params};
use crate::service::Twin;
use serde_json::Value;
use std::collections::HashSet;

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

/// Follows Relationships of rendered entities to their targets (GS CIM 009 §4.5.23).
pub struct Linker<'a> {
    /// The broker.
    pub twin: &'a Twin,
    /// The tenant.
    pub tenant: &'a str,
    /// The request's @context (compaction).
    pub ctx: &'a Context,
    /// join and joinLevel.
    pub join: Join,
    /// Representation, sysAttrs and lang of the request (attrs and projections are
    /// taken per level).
    pub base: &'a RenderOpts,
    /// The entity types the caller may read (`None` = all).
    pub allowed: Option<&'a [String]>,
}

impl Linker<'_> {
    /// Adds the linked entities of the rendered root entities `rendered` (in the order of
    /// `roots`): inline into them, or, for a flat join, returned as the entities to append
    /// (breadth first, each once, none of the roots).
    pub fn link(&self, roots: &[&Entity], rendered: &mut [Value], proj: &Projection) -> Vec<Value> {
        let mut flat = Vec::new();
        for (e, v) in roots.iter().zip(rendered.iter_mut()) {
            let mut path = vec![e.id.clone()];
            self.attach(e, v, proj, 0, &mut path, &mut flat);
        }
        flat.sort_by_key(|(level, _, _)| *level);
        let mut seen: HashSet<String> = roots.iter().map(|e| e.id.clone()).collect();
        flat.into_iter()
            .filter(|(_, id, _)| seen.insert(id.clone()))
            .map(|(_, _, v)| v)
            .collect()
    }

    fn attach(
        &self,
        e: &Entity,
        out: &mut Value,
        proj: &Projection,
        level: usize,
        path: &mut Vec<String>,
        flat: &mut Vec<(usize, String, Value)>,
    ) {
        if level >= self.join.level {
            return;
        }
        let Value::Object(m) = out else { return };
        for (name, list) in &e.attrs {
            if !list.iter().any(|a| a.kind == AttrKind::Relationship) {
                continue;
            }
            let short = self.ctx.compact(name);
            let Some(slot) = m.get_mut(&short) else {
                continue;
            };
            let sub = proj.linked(&short);
            self.link_slot(slot, &sub, level, path, flat);
        }
    }

    fn link_slot(
        &self,
        slot: &mut Value,
        proj: &Projection,
        level: usize,
        path: &mut Vec<String>,
        flat: &mut Vec<(usize, String, Value)>,
    ) {
        match slot {
            Value::Array(items) => {
                for it in items {
                    self.link_slot(it, proj, level, path, flat);
                }
            }
            Value::Object(m) => {
                let Some(id) = m.get("object").and_then(Value::as_str) else {
                    return;
                };
                if let Some(v) = self.target(id.to_string(), proj, level, path, flat) {
                    m.insert("entity".into(), v);
                }
            }
            Value::String(id) if self.base.format == Format::KeyValues => {
                if let Some(v) = self.target(id.clone(), proj, level, path, flat) {
                    *slot = v;
                }
            }
            _ => {}
        }
    }

    /// Renders the entity `id` one level down; `Some` only for an inline join.
    fn target(
        &self,
        id: String,
        proj: &Projection,
        level: usize,
        path: &mut Vec<String>,
        flat: &mut Vec<(usize, String, Value)>,
    ) -> Option<Value> {
        if path.contains(&id) {
            return None;
        }
        let e = self.twin.get(self.tenant, &id)?;
        if let Some(l) = self.allowed {
            if !e.types.iter().any(|t| type_matches(l, t)) {
                return None;
            }
        }
        let o = RenderOpts {
            attrs: None,
            pick: proj.pick_names(),
            omit: proj.omit_names(),
            ..self.base.clone()
        };
        let mut v = model::render_entity(&e, self.ctx, &o);
        path.push(id.clone());
        self.attach(&e, &mut v, proj, level + 1, path, flat);
        path.pop();
        match self.join.kind {
            JoinKind::Inline => Some(v),
            JoinKind::Flat => {
                flat.push((level + 1, id, v));
                None
            }
        }
    }
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
