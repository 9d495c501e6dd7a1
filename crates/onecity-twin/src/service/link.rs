//! Linked entity retrieval (GS CIM 009 §4.5.23, `join=inline|flat`, `joinLevel`): the
//! [`Linker`] follows Relationships through the twin's index.

use crate::ld::context::Context;
use crate::ld::model::{self, AttrKind, Entity, Format, RenderOpts};
use crate::query::join::*;
use crate::query::params::type_matches;
use crate::service::Twin;
use serde_json::Value;
use std::collections::HashSet;

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
