//! The query layer: pure and in memory (no HTTP types, no store, no service). It parses
//! what a request asks for — query parameters ([`params`]), the q language and scopeQ
//! ([`q`]), geo-queries ([`geo`]), `orderBy` ([`order`]), joins and projections
//! ([`join`]), `POST …/entityOperations/query` bodies ([`body`]), paging links
//! ([`paging`]), temporal selection and aggregation ([`temporal`]) — and evaluates it on
//! one entity: [`Query::matches`]. Imports only `crate::ld`.

pub mod body;
pub mod geo;
pub mod join;
pub mod order;
pub mod paging;
pub mod params;
pub mod q;
pub mod temporal;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;

use crate::ld::context::Context;
use crate::ld::model::Entity;
use geo::GeoQuery;
use q::{Expr, ScopeQuery};
use std::sync::Arc;

/// A query over the entities of one tenant (GS CIM 009 §5.7.2).
#[derive(Clone, Default)]
pub struct Query {
    /// Entity ids (any of).
    pub ids: Vec<String>,
    /// `idPattern` regular expression.
    pub id_pattern: Option<regex::Regex>,
    /// Expanded types (any of); empty = all.
    pub types: Vec<String>,
    /// Entity type selection with conjunctions (GS CIM 009 §4.17, `(A;B),C`): the entity
    /// must have every type of at least one group; empty = no such condition.
    pub type_groups: Vec<Vec<String>>,
    /// Expanded attribute names: entities having at least one of them; empty = no filter.
    pub attrs: Vec<String>,
    /// `q`.
    pub q: Option<Expr>,
    /// Geo-query.
    pub geo: Option<GeoQuery>,
    /// `scopeQ`.
    pub scope_q: Option<ScopeQuery>,
    /// Only entities modified at or after this time (µs), if set.
    pub modified_since: Option<i64>,
    /// Only entities of these types (names as in type-limited scopes, see
    /// [`params::type_matches`]); `None` = all.
    pub allowed_types: Option<Arc<Vec<String>>>,
}

/// A [`Query`] bound to the `@context` of its request for a run over many entities: `q`
/// is expanded once, not once per entity.
pub struct Bound<'a> {
    query: &'a Query,
    q: Option<Expr>,
    ctx: &'a Context,
}

impl Query {
    /// Binds the query to a context (expands the names of `q` once).
    pub fn bind<'a>(&'a self, ctx: &'a Context) -> Bound<'a> {
        Bound {
            query: self,
            q: self.q.as_ref().map(|x| x.bound(ctx)),
            ctx,
        }
    }

    /// Whether an entity (as served: expired instances already removed) satisfies every
    /// condition of the query but `ids` (the caller looks those up) — types and type
    /// groups, `idPattern`, the caller's allowed types, `attrs`, the modification time,
    /// the geo-query, scopeQ and `q`. For one entity; a scan uses [`Query::bind`].
    pub fn matches(&self, e: &Entity, ctx: &Context) -> bool {
        self.bind(ctx).matches(e)
    }
}

impl Bound<'_> {
    /// See [`Query::matches`]. Cheapest tests first; no allocation.
    pub fn matches(&self, e: &Entity) -> bool {
        let q = self.query;
        if !q.types.is_empty() && !e.types.iter().any(|t| q.types.contains(t)) {
            return false;
        }
        if !q.type_groups.is_empty()
            && !q
                .type_groups
                .iter()
                .any(|g| g.iter().all(|t| e.types.contains(t)))
        {
            return false;
        }
        if let Some(p) = &q.id_pattern {
            if !p.is_match(&e.id) {
                return false;
            }
        }
        if let Some(l) = &q.allowed_types {
            if !e.types.iter().any(|t| params::type_matches(l, t)) {
                return false;
            }
        }
        if !q.attrs.is_empty() && !q.attrs.iter().any(|a| e.attrs.contains_key(a)) {
            return false;
        }
        if let Some(ms) = q.modified_since {
            if e.modified_at < ms {
                return false;
            }
        }
        if let Some(g) = &q.geo {
            if !g.matches(e) {
                return false;
            }
        }
        if let Some(sq) = &q.scope_q {
            if !sq.matches(e) {
                return false;
            }
        }
        if let Some(x) = &self.q {
            if !x.matches(e, self.ctx) {
                return false;
            }
        }
        true
    }
}
