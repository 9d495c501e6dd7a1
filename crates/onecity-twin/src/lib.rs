//! onecity-twin: the digital twin, an NGSI-LD context broker (ETSI GS CIM 009 v1.8).
//!
//! Layers, each importing only the layers after it in `http → service → store → query →
//! ld` (checked by `scripts/check-rules.py`):
//! - [`ld`]: the NGSI-LD data model — entities and attributes, parsing and rendering,
//!   geometry, expiry, `@context` handling, NGSI-LD errors. Imports nothing of the crate.
//! - [`query`]: pure and in memory — query parameters, the q language and scopeQ,
//!   geo-queries, ordering, joins, query bodies, paging links, temporal selection and
//!   aggregation, and the typed [`Query`] with [`Query::matches`].
//! - [`store`]: every SQL statement of the twin's tables and both migration components
//!   (`twin`, `twin_sub`).
//! - [`service`]: the [`Twin`] service (in-memory index rebuilt from the database, a
//!   group-commit writer, history for the temporal API, the change hook
//!   [`Twin::changes`] plus `PlatformEvent::TwinEntityChanged`/`TwinEntityDeleted`
//!   through the outbox), linking, subscriptions and notification, ingestion and replay.
//! - [`http`]: the `/ngsi-ld/v1` API, the only module naming axum.
//!
//! The module paths of earlier versions (`context`, `geoq`, `routes`, `subscription`, …)
//! are kept as re-exports for the binary and the tests.

pub mod http;
pub mod ld;
pub mod query;
pub mod service;
pub mod store;

pub use ld::error::{NgsiError, NgsiResult, ProblemKind};
pub use ld::{context, error, model};
pub use query::{geo as geoq, join, order, q, Query};
pub use service::{
    append_op, create_op, delete_op, replace_op, update_op, AttrInfo, ChangeKind, EntityChange,
    EntityOp, OpFn, Outcome, Slot, Twin, TwinConfig, UpdateReport,
};
pub use service::{index, ingest, notification, notify, provision, replay, subscription};
pub use store::migrations::MIGRATIONS;

/// The HTTP API under its earlier name.
pub use self::http as routes;

/// The temporal API under its earlier path: handlers in [`http::temporal`], selection and
/// aggregation in [`query::temporal`], history reads and the retention purge in
/// [`service::temporal`].
pub mod temporal {
    pub use crate::http::temporal::*;
    pub use crate::query::temporal::*;
    pub use crate::service::temporal::{has_history, history, history_type, purge};
    pub use crate::store::history::MAX_HISTORY_ROWS;
}
