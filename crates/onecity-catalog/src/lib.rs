//! The data rail (数据高铁): the catalog of every dataset a city's departments hold (one
//! catalog and three lists: demand, responsibility, negative), sharing with masking and an
//! exchange record for every call, the datastore of typed tables, catalog search, and the
//! standard APIs (CKAN Action API at `/api/3/action`, DCAT-AP 3 at `/catalog.jsonld` and
//! `/catalog.ttl`).
//!
//! Modules are added as the catalog issue lands in steps; see docs/ARCHITECTURE.md.

pub mod masking;

pub use masking::{MaskPolicy, MaskRule};
pub mod datastore_load;
pub mod datastore_store;

pub use datastore_load::FieldType;
pub use datastore_store::{Field, TableMeta};
pub mod datastore;
pub mod datastore_query;
pub mod sharing;
pub mod sql;

pub use datastore::Datastore;
pub mod datastore_routes;
