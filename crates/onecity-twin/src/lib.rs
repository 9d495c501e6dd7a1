//! onecity-twin: the digital twin, an NGSI-LD context broker (ETSI GS CIM 009 v1.8).
//!
//! Owns NGSI-LD entities and their attributes ([`model`]: Property, Relationship,
//! GeoProperty, LanguageProperty, VocabProperty, ListProperty, ListRelationship,
//! JsonProperty; multi-attributes by datasetId; observedAt, unitCode, sub-attributes),
//! `@context` expansion and compaction with the core contexts v1.6–v1.9 compiled in
//! ([`context`]), the q language and scopeQ ([`q`]) and geo-queries ([`geoq`]) evaluated on
//! one entity in memory, the [`Twin`] service (an in-memory index rebuilt from the
//! database, a group-commit writer, history for the temporal API, the change hook
//! [`Twin::changes`] plus `PlatformEvent::TwinEntityChanged`/`TwinEntityDeleted` through the
//! outbox), NGSI-LD errors ([`error`]), and the HTTP API at `/ngsi-ld/v1` ([`routes`]).
//!
//! Subscriptions, notifications, device ingestion and replay build on [`Twin::changes`],
//! [`q::Expr::matches`] and [`geoq::GeoQuery::matches`].

pub mod context;
pub mod error;
pub mod geoq;
pub mod index;
pub mod info;
pub mod ingest;
pub mod join;
mod migrations;
pub mod model;
pub mod notification;
pub mod notify;
pub mod order;
pub mod provision;
pub mod q;
pub mod query_body;
pub mod replay;
pub mod routes;
mod service;
pub mod subscription;
pub mod temporal;
pub mod temporal_attrs;
pub mod temporal_query;

pub use error::{NgsiError, NgsiResult, ProblemKind};
pub use migrations::MIGRATIONS;
pub use service::{
    append_op, create_op, delete_op, replace_op, update_op, AttrInfo, ChangeKind, EntityChange,
    EntityOp, OpFn, Outcome, Query, Slot, Twin, TwinConfig, UpdateReport,
};
