//! The [`Twin`] service: the entity store (an in-memory index rebuilt from the database,
//! written through a group-commit writer), its write methods, queries, and the change hook.
//!
//! Writes: every write is a list of per-entity operations sent to one writer task. The
//! writer drains what is queued (up to [`TwinConfig::group_max_ops`] operations), applies
//! them in order to the current state (later operations see earlier ones), writes the
//! resulting entity rows, history rows and outbox events in **one transaction**, commits,
//! and only then updates the in-memory index, publishes the changes and answers the
//! callers. So nothing is acknowledged before it is durable, and concurrent writers share
//! one commit (SQLite has one writer).
//!
//! Change hook: after each commit, every changed entity is published as an
//! [`EntityChange`] on an in-process `tokio::sync::broadcast` channel ([`Twin::changes`];
//! subscriptions consume it) and, in the same transaction as the change, as
//! `PlatformEvent::TwinEntityChanged` / `TwinEntityDeleted` through the outbox.

pub mod index;
pub mod ingest;
pub mod link;
pub mod notification;
pub mod notify;
pub mod provision;
pub mod replay;
pub mod subscription;
pub mod temporal;

use crate::ld::context::Context;
use crate::ld::error::{NgsiError, NgsiResult, ProblemKind};
use crate::ld::model::{key_value, Attribute, Entity};
pub use crate::query::Query;
use crate::service::index::TenantIndex;
use onecity_core::events::{EventEnvelope, PlatformEvent};
use onecity_iam::Iam;
use onecity_store::audit::AuditEntry;
use onecity_store::{Db, Val};
use parking_lot::RwLock;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot};

/// Settings of the twin.
#[derive(Debug, Clone)]
pub struct TwinConfig {
    /// Largest `limit` of a query; above it the answer is 403 TooManyResults. Default 1000.
    pub max_limit: usize,
    /// `limit` when none is given. Default 20.
    pub default_limit: usize,
    /// Largest number of entities in one batch operation. Default 10,000.
    pub max_batch: usize,
    /// Map of `@context` URL → local file (air-gapped deployments).
    pub context_files: HashMap<String, PathBuf>,
    /// Fetch other remote `@context` URLs over HTTP(S) (cached). Default true.
    pub fetch_contexts: bool,
    /// Limits of remote `@context` fetching and of the context cache.
    pub context_limits: crate::ld::context::ContextLimits,
    /// Keep attribute history (temporal API). Default true.
    pub history: bool,
    /// Most operations one group commit takes. Default 4096.
    pub group_max_ops: usize,
    /// Capacity of the in-process change channel (slow receivers lag). Default 65,536.
    pub change_capacity: usize,
    /// Most attribute instances of one entity in one temporal answer; beyond it the answer
    /// is 206 Partial Content with a `Content-Range` (GS CIM 009 §6.3.10). Default 1000.
    pub temporal_page: usize,
}

impl Default for TwinConfig {
    fn default() -> Self {
        Self {
            max_limit: 1000,
            default_limit: 20,
            max_batch: 10_000,
            context_files: HashMap::new(),
            fetch_contexts: true,
            context_limits: crate::ld::context::ContextLimits::default(),
            history: true,
            group_max_ops: 4096,
            change_capacity: 65_536,
            temporal_page: 1000,
        }
    }
}

/// What kind of change an [`EntityChange`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The entity was created.
    Created,
    /// Attributes were added, updated or deleted.
    Updated,
    /// The entity was replaced as a whole.
    Replaced,
    /// The entity was deleted.
    Deleted,
}

/// A committed change, as published on [`Twin::changes`].
#[derive(Debug, Clone)]
pub struct EntityChange {
    /// NGSI-LD tenant (`""` = default tenant).
    pub tenant: String,
    /// Entity id.
    pub entity_id: String,
    /// Expanded entity types (after the change; before it for deletions).
    pub entity_types: Vec<String>,
    /// The kind of change.
    pub kind: ChangeKind,
    /// Expanded names of the attributes whose instances were added, changed or removed.
    pub changed_attrs: Vec<String>,
    /// The entity before the change (`None` when created).
    pub before: Option<Arc<Entity>>,
    /// The entity after the change (`None` when deleted).
    pub after: Option<Arc<Entity>>,
    /// Commit time, µs since the epoch.
    pub at: i64,
}

/// Which attributes an update changed and which it did not (with the reason), expanded
/// names (GS CIM 009 §5.2.18 UpdateResult).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateReport {
    /// Attributes written.
    pub updated: Vec<String>,
    /// Attributes not written: (name, reason).
    pub not_updated: Vec<(String, String)>,
}

/// What an entity operation decided.
pub enum Outcome {
    /// Store this entity (created, updated or replaced).
    Put {
        /// The new state.
        entity: Entity,
        /// The kind of change.
        kind: ChangeKind,
        /// Attribute names changed.
        changed: Vec<String>,
        /// The report for the caller.
        report: UpdateReport,
    },
    /// Delete the entity.
    Delete,
    /// Record history instances (temporal API). `entity` is the new state when the
    /// operation changed the entity itself (a temporal upsert naming new types,
    /// GS CIM 009 §5.6.11.4); `None` leaves the state as it is.
    History {
        /// The new state, if any.
        entity: Option<Entity>,
        /// Every instance to record.
        history: Vec<(String, Attribute)>,
    },
    /// Create the entity with this state and record these history instances (temporal
    /// create: the state holds the latest instance of each attribute).
    CreateWithHistory {
        /// The new state.
        entity: Entity,
        /// Every instance to record.
        history: Vec<(String, Attribute)>,
    },
    /// Nothing to write (e.g. every attribute was refused).
    Nothing(UpdateReport),
}

/// One operation on one entity: given the current state (or `None`) and the commit time,
/// decide the outcome.
pub type OpFn = Box<dyn FnOnce(Option<&Entity>, i64) -> NgsiResult<Outcome> + Send>;

/// An operation on one entity of one tenant.
pub struct EntityOp {
    /// NGSI-LD tenant.
    pub tenant: String,
    /// Entity id.
    pub id: String,
    /// The decision.
    pub f: OpFn,
}

type Reply = oneshot::Sender<Vec<NgsiResult<UpdateReport>>>;

struct Job {
    ops: Vec<EntityOp>,
    reply: oneshot::Sender<Vec<NgsiResult<UpdateReport>>>,
}

pub use crate::service::index::Slot;

type Index = HashMap<String, TenantIndex>;

struct Shared {
    db: Db,
    iam: Iam,
    index: RwLock<Index>,
    changes: broadcast::Sender<Arc<EntityChange>>,
    cfg: TwinConfig,
    location: String,
}

/// The digital-twin service (cheap to clone).
#[derive(Clone)]
pub struct Twin {
    shared: Arc<Shared>,
    writer: mpsc::Sender<Job>,
    /// `@context` resolution.
    pub contexts: Arc<crate::ld::context::ContextStore>,
}

fn location_bbox(e: &Entity, location: &str) -> Option<(f64, f64, f64, f64)> {
    let a = e.attrs.get(location)?.first()?;
    crate::query::geo::bbox_of(&a.value)
}

/// The numeric value of an instance recorded in `twin_history.num` (aggregations, §4.5.19).
pub(crate) fn num_of(a: &Attribute) -> Option<f64> {
    match a.plain_value() {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

impl Twin {
    /// Builds the service over a migrated store: loads every entity into the index and
    /// starts the writer task (needs a Tokio runtime).
    pub async fn new(iam: Iam, cfg: TwinConfig) -> NgsiResult<Twin> {
        let db = iam.db().clone();
        let location = Context::core().expand("location");
        let rows = crate::store::entities::load_all(&db).await?;
        let mut loaded: HashMap<String, BTreeMap<String, Slot>> = HashMap::new();
        for r in rows {
            let tenant = r.tenant;
            match serde_json::from_str::<Entity>(&r.body) {
                Ok(e) => {
                    let bbox = location_bbox(&e, &location);
                    loaded.entry(tenant).or_default().insert(
                        e.id.clone(),
                        Slot {
                            entity: Arc::new(e),
                            bbox,
                        },
                    );
                }
                Err(err) => tracing::error!(%err, "twin: unreadable stored entity skipped"),
            }
        }
        let index: Index = loaded
            .into_iter()
            .map(|(t, ents)| (t, TenantIndex::from_slots(ents)))
            .collect();
        let (changes, _) = broadcast::channel(cfg.change_capacity.max(16));
        let contexts = Arc::new(crate::ld::context::ContextStore::with_limits(
            cfg.context_files.clone(),
            cfg.fetch_contexts,
            cfg.context_limits.clone(),
        ));
        let shared = Arc::new(Shared {
            db,
            iam,
            index: RwLock::new(index),
            changes,
            cfg,
            location,
        });
        let (tx, rx) = mpsc::channel::<Job>(1024);
        tokio::spawn(writer_loop(shared.clone(), rx));
        Ok(Twin {
            shared,
            writer: tx,
            contexts,
        })
    }

    /// The settings.
    pub fn config(&self) -> &TwinConfig {
        &self.shared.cfg
    }

    /// The store.
    pub fn db(&self) -> &Db {
        &self.shared.db
    }

    /// The identity service (for access checks in the routes).
    pub fn iam(&self) -> &Iam {
        &self.shared.iam
    }

    /// Subscribes to committed changes (in-process; a slow receiver gets `Lagged`).
    pub fn changes(&self) -> broadcast::Receiver<Arc<EntityChange>> {
        self.shared.changes.subscribe()
    }

    /// Runs entity operations through the group-commit writer; one result per operation,
    /// in order. Each operation succeeds or fails on its own; a store failure fails all.
    pub async fn apply(&self, ops: Vec<EntityOp>) -> Vec<NgsiResult<UpdateReport>> {
        let n = ops.len();
        let (reply, rx) = oneshot::channel();
        if self.writer.send(Job { ops, reply }).await.is_err() {
            return (0..n)
                .map(|_| Err(NgsiError::internal("the twin writer stopped")))
                .collect();
        }
        rx.await.unwrap_or_else(|_| {
            (0..n)
                .map(|_| Err(NgsiError::internal("the twin writer stopped")))
                .collect()
        })
    }

    async fn apply_one(&self, tenant: &str, id: &str, f: OpFn) -> NgsiResult<UpdateReport> {
        self.apply(vec![EntityOp {
            tenant: tenant.into(),
            id: id.into(),
            f,
        }])
        .await
        .pop()
        .unwrap_or_else(|| Err(NgsiError::internal("no result")))
    }

    /// Creates an entity (GS CIM 009 §5.6.1). Errors: 409 AlreadyExists.
    pub async fn create_entity(&self, tenant: &str, e: Entity) -> NgsiResult<()> {
        let id = e.id.clone();
        self.apply_one(tenant, &id, create_op(e)).await.map(|_| ())
    }

    /// Replaces an entity as a whole (§5.6.18, PUT /entities/{id}), keeping createdAt.
    /// Errors: 404 ResourceNotFound.
    pub async fn replace_entity(&self, tenant: &str, e: Entity) -> NgsiResult<()> {
        let id = e.id.clone();
        self.apply_one(tenant, &id, replace_op(e, false))
            .await
            .map(|_| ())
    }

    /// Deletes an entity (§5.6.6). Errors: 404 ResourceNotFound.
    pub async fn delete_entity(&self, tenant: &str, id: &str) -> NgsiResult<()> {
        self.apply_one(tenant, id, delete_op()).await.map(|_| ())
    }

    /// Appends attributes (§5.6.3, POST /entities/{id}/attrs): adds new attributes and,
    /// unless `no_overwrite`, overwrites existing instances (same datasetId).
    /// Errors: 404 ResourceNotFound.
    pub async fn append_attrs(
        &self,
        tenant: &str,
        id: &str,
        attrs: Vec<(String, Attribute)>,
        no_overwrite: bool,
    ) -> NgsiResult<UpdateReport> {
        self.apply_one(tenant, id, append_op(attrs, no_overwrite))
            .await
    }

    /// Updates existing attributes (§5.6.2, PATCH /entities/{id}/attrs): instances that
    /// do not exist are reported in `not_updated`. Errors: 404 ResourceNotFound.
    pub async fn update_attrs(
        &self,
        tenant: &str,
        id: &str,
        attrs: Vec<(String, Attribute)>,
    ) -> NgsiResult<UpdateReport> {
        self.apply_one(tenant, id, update_op(attrs)).await
    }

    /// Partially updates one attribute instance (§5.6.4, PATCH /entities/{id}/attrs/{attr}):
    /// the members given in `patch` (normalized attribute fragment: `value`/`object`/…,
    /// `observedAt`, `unitCode`, sub-attributes) replace those of the stored instance.
    /// Errors: 404 when the entity or instance does not exist; 400 when the result is not
    /// a valid attribute (the entity is left unchanged).
    pub async fn partial_update_attr(
        &self,
        tenant: &str,
        id: &str,
        attr: &str,
        patch: Map<String, Value>,
        ctx: Arc<Context>,
    ) -> NgsiResult<()> {
        let attr = attr.to_string();
        self.apply_one(
            tenant,
            id,
            Box::new(move |cur, now| {
                let cur = cur.ok_or_else(|| NgsiError::not_found("no such entity"))?;
                let dataset = patch
                    .get("datasetId")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let old = cur.instance(&attr, dataset.as_deref()).ok_or_else(|| {
                    NgsiError::not_found(format!(
                        "entity {} has no attribute {}{}",
                        cur.id,
                        ctx.compact(&attr),
                        dataset
                            .map(|d| format!(" with datasetId {d}"))
                            .unwrap_or_default()
                    ))
                })?;
                // With sysAttrs, so that system members kept as sub-attributes
                // (`expiresAt`, §4.22) survive; the timestamps are set anew below.
                let full = crate::ld::model::RenderOpts {
                    sys_attrs: true,
                    ..Default::default()
                };
                let mut merged = match crate::ld::model::render_attribute(old, &ctx, &full) {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                merged.remove("createdAt");
                merged.remove("modifiedAt");
                if let Some(t) = patch.get("type") {
                    if t.as_str() != Some(old.kind.as_str()) {
                        return Err(NgsiError::bad_data(format!(
                            "attribute {}: the type cannot change from {} to {t}",
                            ctx.compact(&attr),
                            old.kind.as_str()
                        )));
                    }
                }
                for (k, v) in patch {
                    merged.insert(k, v);
                }
                let mut a = crate::ld::model::parse_attribute(
                    &ctx.compact(&attr),
                    &Value::Object(merged),
                    &ctx,
                    now,
                )?;
                a.created_at = old.created_at;
                let mut e = cur.clone();
                e.put_instance(&attr, a);
                let report = UpdateReport {
                    updated: vec![attr],
                    not_updated: vec![],
                };
                Ok(updated_outcome(e, report, now, true))
            }),
        )
        .await
        .map(|_| ())
    }

    /// Deletes an attribute (§5.6.5): the instance with `dataset_id`, or every instance
    /// when `all`. Errors: 404 when the entity or the instance does not exist.
    pub async fn delete_attr(
        &self,
        tenant: &str,
        id: &str,
        attr: &str,
        dataset_id: Option<String>,
        all: bool,
    ) -> NgsiResult<()> {
        let attr = attr.to_string();
        self.apply_one(
            tenant,
            id,
            Box::new(move |cur, now| {
                let cur = cur.ok_or_else(|| NgsiError::not_found("no such entity"))?;
                let mut e = cur.clone();
                let list = e.attrs.get_mut(&attr).ok_or_else(|| {
                    NgsiError::not_found(format!("entity {} has no attribute {attr}", cur.id))
                })?;
                if all {
                    list.clear();
                } else {
                    let before = list.len();
                    list.retain(|a| a.dataset_id != dataset_id);
                    if list.len() == before {
                        return Err(NgsiError::not_found(format!(
                            "attribute {attr} has no instance with datasetId {}",
                            dataset_id.as_deref().unwrap_or("(default)")
                        )));
                    }
                }
                if list.is_empty() {
                    e.attrs.remove(&attr);
                }
                let report = UpdateReport {
                    updated: vec![attr],
                    not_updated: vec![],
                };
                Ok(updated_outcome(e, report, now, true))
            }),
        )
        .await
        .map(|_| ())
    }

    /// Temporal append (§5.6.11/§5.6.12): records every given instance in the history.
    /// When the entity does not exist it is created with the latest instance (by
    /// observedAt) of each attribute as its current state; otherwise its current state is
    /// left as it is.
    pub async fn append_history(
        &self,
        tenant: &str,
        id: &str,
        types: Vec<String>,
        instances: Vec<(String, Attribute)>,
        create: bool,
    ) -> NgsiResult<()> {
        let eid = id.to_string();
        self.apply_one(
            tenant,
            id,
            Box::new(move |cur, now| {
                if let Some(cur) = cur {
                    let new_types: Vec<String> = types
                        .into_iter()
                        .filter(|t| !cur.types.contains(t))
                        .collect();
                    let entity = (!new_types.is_empty()).then(|| {
                        let mut e = cur.clone();
                        e.types.extend(new_types);
                        e.modified_at = now;
                        e
                    });
                    return Ok(Outcome::History {
                        entity,
                        history: instances,
                    });
                }
                if !create {
                    return Err(NgsiError::not_found("no such entity"));
                }
                if types.is_empty() {
                    return Err(NgsiError::bad_data("a new temporal entity needs a type"));
                }
                let mut e = Entity {
                    id: eid,
                    types,
                    scope: Vec::new(),
                    created_at: now,
                    modified_at: now,
                    attrs: BTreeMap::new(),
                };
                for (name, a) in &instances {
                    let newer = match e.instance(name, a.dataset_id.as_deref()) {
                        Some(old) => a.observed_micros() >= old.observed_micros(),
                        None => true,
                    };
                    if newer {
                        e.put_instance(name, a.clone());
                    }
                }
                Ok(Outcome::CreateWithHistory {
                    entity: e,
                    history: instances,
                })
            }),
        )
        .await
        .map(|_| ())
    }

    /// One entity (`None` when it does not exist).
    pub fn get(&self, tenant: &str, id: &str) -> Option<Arc<Entity>> {
        let now = onecity_core::time::now_micros();
        self.shared
            .index
            .read()
            .get(tenant)?
            .get(id)
            .and_then(|s| crate::service::provision::live_view(&s.entity, now))
    }

    /// Runs a query; returns the page `[offset, offset+limit)` in id order and the total
    /// count of matches. The order is the entity id (stable across pages while nothing
    /// changes).
    pub fn query(
        &self,
        tenant: &str,
        q: &Query,
        ctx: &Context,
        offset: usize,
        limit: usize,
    ) -> (Vec<Arc<Entity>>, usize) {
        let idx = self.shared.index.read();
        let Some(ents) = idx.get(tenant) else {
            return (Vec::new(), 0);
        };
        let mut out = Vec::new();
        let mut total = 0usize;
        // The bounding box lives in the index node itself: test it before touching the
        // entity (a pointer away), so a geo-query over 100k entities reads few of them.
        let bbox_pre = q
            .geo
            .as_ref()
            .filter(|g| g.geoproperty == self.shared.location);
        let now = onecity_core::time::now_micros();
        let bound = q.bind(ctx);
        let mut check = |s: &Slot| {
            if let Some(g) = bbox_pre {
                match s.bbox {
                    Some(b) if g.bbox_may_match(b) => {}
                    _ => return,
                }
            }
            let Some(live) = crate::ld::expiry::live_view(&s.entity, now) else {
                return;
            };
            if !bound.matches(&live) {
                return;
            }
            if total >= offset && out.len() < limit {
                out.push(live.clone());
            }
            total += 1;
        };
        if q.ids.is_empty() {
            // A geo-query on `location` whose matches lie in a box takes its candidates
            // from the R-tree (id order, like the scan); the others scan every entity.
            match bbox_pre.filter(|g| g.bbox_prefilters()) {
                Some(g) => {
                    let r = &g.bbox;
                    let b = (r.min().x, r.min().y, r.max().x, r.max().y);
                    ents.in_box(b).into_iter().for_each(&mut check);
                }
                None => ents.values().for_each(&mut check),
            }
        } else {
            let ids: BTreeSet<&String> = q.ids.iter().collect();
            for id in ids {
                if let Some(s) = ents.get(id) {
                    check(s);
                }
            }
        }
        (out, total)
    }

    /// Entity types of a tenant with their entity counts and attribute names (expanded).
    /// With `allowed` (a key scoped to types, `twin:read:<Type>`), only the entities
    /// holding an allowed type count, and only the allowed types are listed.
    pub fn types(
        &self,
        tenant: &str,
        allowed: Option<&[String]>,
    ) -> BTreeMap<String, (usize, BTreeSet<String>)> {
        let idx = self.shared.index.read();
        let mut out: BTreeMap<String, (usize, BTreeSet<String>)> = BTreeMap::new();
        if let Some(ents) = idx.get(tenant) {
            for s in ents.values() {
                for t in &s.entity.types {
                    if allowed.is_some_and(|l| !crate::query::params::type_matches(l, t)) {
                        continue;
                    }
                    let slot = out.entry(t.clone()).or_default();
                    slot.0 += 1;
                    slot.1.extend(s.entity.attrs.keys().cloned());
                }
            }
        }
        out
    }

    /// Attribute names of a tenant with their counts, kinds and the types using them.
    /// With `allowed` (a key scoped to types), only entities holding an allowed type are
    /// read, and only allowed types are named.
    pub fn attributes(
        &self,
        tenant: &str,
        allowed: Option<&[String]>,
    ) -> BTreeMap<String, AttrInfo> {
        let idx = self.shared.index.read();
        let mut out: BTreeMap<String, AttrInfo> = BTreeMap::new();
        let visible = |t: &String| allowed.is_none_or(|l| crate::query::params::type_matches(l, t));
        if let Some(ents) = idx.get(tenant) {
            for s in ents.values() {
                if !s.entity.types.iter().any(visible) {
                    continue;
                }
                for (name, list) in &s.entity.attrs {
                    let info = out.entry(name.clone()).or_default();
                    info.count += 1;
                    info.types
                        .extend(s.entity.types.iter().filter(|t| visible(t)).cloned());
                    for a in list {
                        info.kinds.insert(a.kind.as_str());
                    }
                }
            }
        }
        out
    }

    /// Whether the NGSI-LD tenant has ever been written to (since this node started or as
    /// loaded from the database).
    pub fn has_tenant(&self, tenant: &str) -> bool {
        tenant.is_empty() || self.shared.index.read().contains_key(tenant)
    }

    /// Number of entities of a tenant.
    pub fn count(&self, tenant: &str) -> usize {
        self.shared
            .index
            .read()
            .get(tenant)
            .map_or(0, TenantIndex::len)
    }
}

/// Attribute discovery (§5.7.8).
#[derive(Debug, Clone, Default)]
pub struct AttrInfo {
    /// Entities holding it.
    pub count: usize,
    /// Expanded types of those entities.
    pub types: BTreeSet<String>,
    /// Attribute kinds seen.
    pub kinds: BTreeSet<&'static str>,
}

/// Create: 409 when the entity exists.
pub fn create_op(e: Entity) -> OpFn {
    Box::new(move |cur, now| {
        // §4.22: the id of an expired transient entity is free again.
        if cur.is_some_and(|c| !crate::service::provision::expired(c, now)) {
            return Err(NgsiError::new(
                ProblemKind::AlreadyExists,
                format!("entity {} already exists", e.id),
            ));
        }
        let mut e = e;
        stamp(&mut e, now, None);
        let changed = e.attrs.keys().cloned().collect();
        Ok(Outcome::Put {
            entity: e,
            kind: ChangeKind::Created,
            changed,
            report: UpdateReport::default(),
        })
    })
}

/// Replace (or, when `upsert`, create when missing).
pub fn replace_op(e: Entity, upsert: bool) -> OpFn {
    Box::new(move |cur, now| {
        let mut e = e;
        match cur {
            None if !upsert => Err(NgsiError::not_found(format!(
                "entity {} does not exist",
                e.id
            ))),
            None => {
                stamp(&mut e, now, None);
                let changed = e.attrs.keys().cloned().collect();
                Ok(Outcome::Put {
                    entity: e,
                    kind: ChangeKind::Created,
                    changed,
                    report: UpdateReport::default(),
                })
            }
            Some(old) => {
                stamp(&mut e, now, Some(old));
                let mut changed: BTreeSet<String> = e.attrs.keys().cloned().collect();
                changed.extend(
                    old.attrs
                        .keys()
                        .filter(|k| !e.attrs.contains_key(*k))
                        .cloned(),
                );
                Ok(Outcome::Put {
                    entity: e,
                    kind: ChangeKind::Replaced,
                    changed: changed.into_iter().collect(),
                    report: UpdateReport::default(),
                })
            }
        }
    })
}

/// Delete: 404 when missing.
pub fn delete_op() -> OpFn {
    Box::new(|cur, _| match cur {
        None => Err(NgsiError::not_found("no such entity")),
        Some(_) => Ok(Outcome::Delete),
    })
}

/// Purge of attributes (§5.6.21 with `keep`/`drop`): removes the attributes named in
/// `drop`, or every attribute not named in `keep` (expanded names). An entity the purge
/// leaves unchanged is not rewritten; a missing entity (deleted meanwhile) is 404.
pub fn purge_attrs_op(keep: Option<Vec<String>>, drop: Vec<String>) -> OpFn {
    Box::new(move |cur, now| {
        let cur = cur.ok_or_else(|| NgsiError::not_found("no such entity"))?;
        let mut e = cur.clone();
        let gone: Vec<String> = e
            .attrs
            .keys()
            .filter(|k| match &keep {
                Some(keep) => !keep.contains(k),
                None => drop.contains(k),
            })
            .cloned()
            .collect();
        for k in &gone {
            e.attrs.remove(k);
        }
        let report = UpdateReport {
            updated: gone,
            not_updated: vec![],
        };
        Ok(updated_outcome(e, report, now, false))
    })
}

/// Append attributes (batch update with `noOverwrite` too); 404 when missing.
pub fn append_op(attrs: Vec<(String, Attribute)>, no_overwrite: bool) -> OpFn {
    Box::new(move |cur, now| {
        let cur = cur.ok_or_else(|| NgsiError::not_found("no such entity"))?;
        let mut e = cur.clone();
        let mut report = UpdateReport::default();
        for (name, mut a) in attrs {
            let old = e.instance(&name, a.dataset_id.as_deref()).cloned();
            if old.is_some() && no_overwrite {
                report
                    .not_updated
                    .push((name, "the attribute exists and noOverwrite is set".into()));
                continue;
            }
            a.created_at = old.map_or(now, |o| o.created_at);
            a.modified_at = now;
            e.put_instance(&name, a);
            if !report.updated.contains(&name) {
                report.updated.push(name);
            }
        }
        Ok(updated_outcome(e, report, now, false))
    })
}

/// Update existing attribute instances only; 404 when the entity is missing.
pub fn update_op(attrs: Vec<(String, Attribute)>) -> OpFn {
    Box::new(move |cur, now| {
        let cur = cur.ok_or_else(|| NgsiError::not_found("no such entity"))?;
        let mut e = cur.clone();
        let mut report = UpdateReport::default();
        for (name, mut a) in attrs {
            let Some(old) = e.instance(&name, a.dataset_id.as_deref()).cloned() else {
                report.not_updated.push((
                    name,
                    "the attribute (with this datasetId) does not exist".into(),
                ));
                continue;
            };
            a.created_at = old.created_at;
            a.modified_at = now;
            e.put_instance(&name, a);
            if !report.updated.contains(&name) {
                report.updated.push(name);
            }
        }
        Ok(updated_outcome(e, report, now, false))
    })
}

/// The end of an operation on an entity's attributes (GS CIM 009 §5.6.2 to §5.6.5,
/// §5.6.21): when the report lists no changed attribute and nothing else was `touched`,
/// the entity is left as it is ([`Outcome::Nothing`]); otherwise it is stamped modified
/// at `now` and stored, the attributes the report lists as updated being the change.
pub(crate) fn updated_outcome(
    mut e: Entity,
    report: UpdateReport,
    now: i64,
    touched: bool,
) -> Outcome {
    if report.updated.is_empty() && !touched {
        return Outcome::Nothing(report);
    }
    e.modified_at = now;
    let changed = report.updated.clone();
    Outcome::Put {
        entity: e,
        kind: ChangeKind::Updated,
        changed,
        report,
    }
}

fn stamp(e: &mut Entity, now: i64, old: Option<&Entity>) {
    e.created_at = old.map_or(now, |o| o.created_at);
    e.modified_at = now;
    for (name, list) in e.attrs.iter_mut() {
        for a in list.iter_mut() {
            a.created_at = old
                .and_then(|o| o.instance(name, a.dataset_id.as_deref()))
                .map_or(now, |x| x.created_at);
            a.modified_at = now;
        }
    }
}

struct Applied {
    tenant: String,
    id: String,
    before: Option<Arc<Entity>>,
    after: Option<Arc<Entity>>,
    kind: ChangeKind,
    changed: Vec<String>,
    history: Vec<(String, Attribute)>,
    /// The history comes from the temporal API: an instance given with an `observedAt`
    /// replaces a recorded instance of the same attribute, datasetId and time.
    temporal: bool,
}

async fn writer_loop(shared: Arc<Shared>, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        let mut n = jobs[0].ops.len();
        while n < shared.cfg.group_max_ops {
            match rx.try_recv() {
                Ok(j) => {
                    n += j.ops.len();
                    jobs.push(j);
                }
                Err(_) => break,
            }
        }
        process(&shared, jobs).await;
    }
}

async fn process(shared: &Shared, jobs: Vec<Job>) {
    let now = onecity_core::time::now_micros();
    // Staged state per (tenant, id): Some(entity) or None (deleted).
    let mut staged: HashMap<(String, String), Option<Arc<Entity>>> = HashMap::new();
    let mut applied: Vec<Applied> = Vec::new();
    let mut results: Vec<(Reply, Vec<NgsiResult<UpdateReport>>)> = Vec::new();
    {
        let idx = shared.index.read();
        for job in jobs {
            let mut res = Vec::with_capacity(job.ops.len());
            for op in job.ops {
                let key = (op.tenant, op.id);
                let cur: Option<Arc<Entity>> = match staged.get(&key) {
                    Some(s) => s.clone(),
                    None => idx
                        .get(&key.0)
                        .and_then(|m| m.get(&key.1))
                        .map(|s| s.entity.clone()),
                };
                let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    (op.f)(cur.as_deref(), now)
                }))
                .unwrap_or_else(|_| Err(NgsiError::internal("entity operation panicked")));
                match out {
                    Err(e) => res.push(Err(e)),
                    Ok(Outcome::Nothing(r)) => res.push(Ok(r)),
                    Ok(Outcome::Delete) => {
                        staged.insert(key.clone(), None);
                        let changed = cur
                            .as_ref()
                            .map(|c| c.attrs.keys().cloned().collect())
                            .unwrap_or_default();
                        applied.push(Applied {
                            tenant: key.0,
                            id: key.1,
                            before: cur,
                            after: None,
                            kind: ChangeKind::Deleted,
                            changed,
                            history: vec![],
                            temporal: false,
                        });
                        res.push(Ok(UpdateReport::default()));
                    }
                    Ok(Outcome::CreateWithHistory { entity, history }) => {
                        let after = Arc::new(entity);
                        staged.insert(key.clone(), Some(after.clone()));
                        let changed = after.attrs.keys().cloned().collect();
                        applied.push(Applied {
                            tenant: key.0,
                            id: key.1,
                            before: cur,
                            after: Some(after),
                            kind: ChangeKind::Created,
                            changed,
                            history,
                            temporal: true,
                        });
                        res.push(Ok(UpdateReport::default()));
                    }
                    Ok(Outcome::History { entity, history }) => {
                        let after = match entity {
                            Some(e) => {
                                let e = Arc::new(e);
                                staged.insert(key.clone(), Some(e.clone()));
                                Some(e)
                            }
                            None => cur.clone(),
                        };
                        applied.push(Applied {
                            tenant: key.0,
                            id: key.1,
                            before: cur,
                            after,
                            kind: ChangeKind::Updated,
                            changed: vec![],
                            history,
                            temporal: true,
                        });
                        res.push(Ok(UpdateReport::default()));
                    }
                    Ok(Outcome::Put {
                        entity,
                        kind,
                        changed,
                        report,
                    }) => {
                        let after = Arc::new(entity);
                        let mut history = Vec::new();
                        for name in &changed {
                            if let Some(list) = after.attrs.get(name) {
                                for a in list {
                                    if a.modified_at == now {
                                        history.push((name.clone(), a.clone()));
                                    }
                                }
                            }
                        }
                        staged.insert(key.clone(), Some(after.clone()));
                        applied.push(Applied {
                            tenant: key.0,
                            id: key.1,
                            before: cur,
                            after: Some(after),
                            kind,
                            changed,
                            history,
                            temporal: false,
                        });
                        res.push(Ok(report));
                    }
                }
            }
            results.push((job.reply, res));
        }
    }
    if !applied.is_empty() {
        let slots = staged_slots(shared, staged);
        if let Err(e) = persist(shared, &slots, &applied, now).await {
            tracing::error!(error = %e, "twin: group commit failed");
            for (reply, res) in results {
                let n = res.len();
                let _ = reply.send(
                    (0..n)
                        .map(|_| Err(NgsiError::internal(format!("store: {e}"))))
                        .collect(),
                );
            }
            return;
        }
        {
            let mut idx = shared.index.write();
            for ((tenant, id), st) in slots {
                match st {
                    Some(slot) => idx.entry(tenant).or_default().insert(id, slot),
                    None => {
                        if let Some(m) = idx.get_mut(&tenant) {
                            m.remove(&id);
                        }
                    }
                }
            }
        }
        for a in applied {
            if a.kind != ChangeKind::Updated || !a.changed.is_empty() {
                let types = a
                    .after
                    .as_ref()
                    .or(a.before.as_ref())
                    .map(|e| e.types.clone())
                    .unwrap_or_default();
                let _ = shared.changes.send(Arc::new(EntityChange {
                    tenant: a.tenant,
                    entity_id: a.id,
                    entity_types: types,
                    kind: a.kind,
                    changed_attrs: a.changed,
                    before: a.before,
                    after: a.after,
                    at: now,
                }));
            }
        }
    }
    for (reply, res) in results {
        let _ = reply.send(res);
    }
}

/// The staged states as index slots, each `location` box computed once: an entity whose
/// `location` is unchanged keeps the box it has in the index (no geometry parse).
type Staged = Vec<((String, String), Option<Slot>)>;

fn staged_slots(shared: &Shared, staged: HashMap<(String, String), Option<Arc<Entity>>>) -> Staged {
    let loc = &shared.location;
    let idx = shared.index.read();
    staged
        .into_iter()
        .map(|(key, st)| {
            let slot = st.map(|entity| {
                let old = idx.get(&key.0).and_then(|m| m.get(&key.1));
                let bbox = match old {
                    Some(o) if o.entity.attrs.get(loc) == entity.attrs.get(loc) => o.bbox,
                    _ => location_bbox(&entity, loc),
                };
                Slot { entity, bbox }
            });
            (key, slot)
        })
        .collect()
}

fn envelope(a: &Applied, now: i64) -> Option<EventEnvelope> {
    let core = Context::core();
    let tenant = (!a.tenant.is_empty()).then_some(a.tenant.as_str());
    match (&a.after, a.kind) {
        (_, ChangeKind::Deleted) => {
            let b = a.before.as_ref()?;
            Some(EventEnvelope::new(
                tenant,
                PlatformEvent::TwinEntityDeleted {
                    entity_id: a.id.clone(),
                    entity_type: core.compact(b.main_type()),
                },
            ))
        }
        (Some(e), _) => {
            if a.changed.is_empty() && a.history.is_empty() {
                return None;
            }
            let mut values = Map::new();
            let mut observed: Option<i64> = None;
            let names: Vec<&String> = if a.changed.is_empty() {
                a.history.iter().map(|(n, _)| n).collect()
            } else {
                a.changed.iter().collect()
            };
            for name in names {
                let inst = a
                    .history
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, x)| x)
                    .or_else(|| e.attrs.get(name).and_then(|l| l.first()));
                match inst {
                    Some(x) => {
                        if let Some(t) = x.observed_micros() {
                            observed = Some(observed.map_or(t, |o: i64| o.max(t)));
                        }
                        values.insert(core.compact(name), key_value(x, None));
                    }
                    None => {
                        values.insert(core.compact(name), Value::Null);
                    }
                }
            }
            Some(EventEnvelope::new(
                tenant,
                PlatformEvent::TwinEntityChanged {
                    entity_id: a.id.clone(),
                    entity_type: core.compact(e.main_type()),
                    values: Value::Object(values),
                    observed_at: observed.unwrap_or(now),
                },
            ))
        }
        _ => None,
    }
}

async fn persist(
    shared: &Shared,
    staged: &Staged,
    applied: &[Applied],
    now: i64,
) -> onecity_core::Result<()> {
    let db = &shared.db;
    let mut tx = db.begin().await?;
    let puts: Vec<(&(String, String), &Slot)> = staged
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|s| (k, s)))
        .collect();
    let puts: Vec<crate::store::entities::EntityPut<'_>> = puts
        .iter()
        .map(|((tenant, id), slot)| (tenant.as_str(), id.as_str(), &*slot.entity, slot.bbox))
        .collect();
    crate::store::entities::upsert(&mut tx, &puts).await?;
    for ((tenant, id), v) in staged {
        if v.is_none() {
            crate::store::entities::delete(&mut tx, tenant, id).await?;
        }
    }
    if shared.cfg.history {
        write_history(&mut tx, applied, now).await?;
    }
    let envs: Vec<EventEnvelope> = applied.iter().filter_map(|a| envelope(a, now)).collect();
    onecity_store::outbox::enqueue_many(&mut tx, &envs).await?;
    for a in applied.iter().filter(|a| a.kind == ChangeKind::Deleted) {
        let before = a
            .before
            .as_ref()
            .and_then(|b| serde_json::to_value(&**b).ok());
        let tenant = if a.tenant.is_empty() {
            onecity_iam::SYSTEM_TENANT
        } else {
            a.tenant.as_str()
        };
        shared
            .iam
            .auditor()
            .append(
                &mut tx,
                &AuditEntry {
                    tenant,
                    actor: "ngsi-ld",
                    action: "twin.entity_delete",
                    resource_type: "twin_entity",
                    resource_id: &a.id,
                    before: before.as_ref(),
                    after: None,
                    detail: None,
                },
            )
            .await?;
    }
    tx.commit().await
}

/// A new attribute instance id (GS CIM 009 §4.5.7: assigned by the broker, a URI).
pub fn new_instance_id() -> String {
    format!("urn:ngsi-ld:Instance:{}", uuid::Uuid::new_v4().simple())
}

/// Records the history instances of a group commit in `twin_history`, each with a new
/// `instanceId`. An instance written through the temporal API with an `observedAt`
/// replaces the recorded instance of the same attribute, datasetId and time (a temporal
/// upsert, GS CIM 009 §5.6.11, overwrites what it names rather than duplicating it).
async fn write_history(
    tx: &mut onecity_store::Tx,
    applied: &[Applied],
    now: i64,
) -> onecity_core::Result<()> {
    use crate::store::history::COLS;
    let mut hist: Vec<[Val; COLS]> = Vec::new();
    for a in applied {
        let etype = a
            .after
            .as_ref()
            .or(a.before.as_ref())
            .map(|e| e.main_type().to_string())
            .unwrap_or_default();
        if a.temporal {
            replace_same_time(tx, a).await?;
        }
        for (name, inst) in &a.history {
            let instance = serde_json::to_string(inst).map_err(onecity_core::Error::internal)?;
            hist.push([
                Val::from(a.tenant.as_str()),
                Val::from(a.id.as_str()),
                Val::from(etype.as_str()),
                Val::from(name.as_str()),
                Val::from(inst.dataset_id.clone().unwrap_or_default()),
                Val::from(inst.observed_micros().unwrap_or(now)),
                Val::from(now),
                Val::F64(num_of(inst)),
                Val::from(instance),
                Val::from(new_instance_id()),
            ]);
        }
    }
    crate::store::history::insert(&mut *tx, hist).await?;
    Ok(())
}

/// Deletes the recorded instances that the temporal instances of `a` (those with an
/// `observedAt`) replace: same entity, attribute, datasetId and time.
async fn replace_same_time(tx: &mut onecity_store::Tx, a: &Applied) -> onecity_core::Result<()> {
    let mut keys: BTreeMap<(&str, String), Vec<i64>> = BTreeMap::new();
    for (name, inst) in &a.history {
        if let Some(t) = inst.observed_micros() {
            keys.entry((name.as_str(), inst.dataset_id.clone().unwrap_or_default()))
                .or_default()
                .push(t);
        }
    }
    for ((attr, ds), times) in keys {
        crate::store::history::delete_at_times(&mut *tx, &a.tenant, &a.id, attr, &ds, &times)
            .await?;
    }
    Ok(())
}
