//! The data rail's catalog (数据目录): every dataset a city's departments hold (one catalog
//! and three lists: demand, responsibility, negative), catalog search, harvesting, and the
//! standard APIs (CKAN Action API at `/api/3/action`, DCAT-AP 3 at `/catalog.jsonld` and
//! `/catalog.ttl`).
//!
//! The datastore, masking and sharing are `onecity-datastore`'s; the catalog tells it what
//! it needs to know about resources by implementing
//! [`onecity_datastore::ResourceCatalog`], and the CKAN dispatcher ([`ckan`]) answers its
//! `datastore_*` actions beside the catalog's own. See docs/ARCHITECTURE.md.

pub mod ckan;
pub mod dataset;
pub mod dataset_routes;
mod datastore_link;
pub mod dcat;
pub mod demo;
pub mod harvest;
pub mod lists;
mod migrations;
pub mod model;
pub mod search;
pub mod slug;
mod store;
pub mod topic;

pub use dataset::Catalog;
pub use migrations::MIGRATIONS;
