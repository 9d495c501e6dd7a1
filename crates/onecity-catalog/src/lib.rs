//! The data rail (数据高铁): the catalog of every dataset a city's departments hold (one
//! catalog and three lists: demand, responsibility, negative), sharing with masking and an
//! exchange record for every call, the datastore of typed tables, catalog search, and the
//! standard APIs (CKAN Action API at `/api/3/action`, DCAT-AP 3 at `/catalog.jsonld` and
//! `/catalog.ttl`).
//!
//! Modules are added as the catalog issue lands in steps; see docs/ARCHITECTURE.md.

pub mod ckan;
pub mod dataset;
pub mod dataset_routes;
pub mod datastore;
pub mod datastore_load;
pub mod datastore_query;
pub mod datastore_routes;
pub mod datastore_store;
pub mod dcat;
pub mod demo;
pub mod harvest;
pub mod lists;
pub mod masking;
mod migrations;
pub mod model;
pub mod search;
pub mod sharing;
pub mod slug;
pub mod sql;

pub use dataset::Catalog;
pub use datastore::Datastore;
pub use datastore_load::FieldType;
pub use datastore_store::{Field, TableMeta};
pub use masking::{MaskPolicy, MaskRule};
pub use migrations::MIGRATIONS;
