//! The datastore (数据存储) of the data rail: one typed table per catalog resource in the
//! store itself, loading and type inference (CSV, Excel, JSON, with encoding detection),
//! searches with filters, full text, keyset pages and aggregates, read-only SQL, field
//! masking (脱敏), sharing requests and grants (共享) with exchange records, its REST routes
//! under `/api/v1/datastore` and the CKAN DataStore actions (`datastore_*`) as plain
//! functions ([`ckan`]) that the catalog's CKAN dispatcher calls.
//!
//! It learns what it needs of the catalog (resource → dataset, owner, grade, personal
//! fields, negative list) through the narrow [`ResourceCatalog`] trait that
//! `onecity-catalog` implements, never through SQL on catalog tables. Dependencies point
//! one way: flow ← datastore ← catalog.

pub mod ckan;
pub mod http;
pub mod load;
pub mod masking;
pub mod service;
pub mod sharing;
pub mod sql;
pub mod store;
pub mod store_query;
pub mod store_sharing;

pub use load::FieldType;
pub use masking::{MaskPolicy, MaskRule};
pub use service::{
    CatalogLink, CreateRequest, Datastore, Job, LoadOptions, NegativeEntry, ResourceCatalog,
};
pub use store::{Field, TableMeta, MIGRATIONS};

#[cfg(test)]
mod fuzz;
