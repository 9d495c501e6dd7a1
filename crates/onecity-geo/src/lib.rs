//! onecity-geo: boundaries, grids and "where is this point".
//!
//! Owns the boundary of each jurisdiction and the grids (网格) under them (GeoJSON
//! MultiPolygons, WGS-84 lon/lat, stored as text with a bounding box on both backends),
//! GeoJSON import with validation, generated square grids clipped to a boundary, and the
//! point → jurisdiction chain + grid lookup through an in-memory spatial index (an R-tree
//! of bounding boxes, then an exact test on an edge band index, see [`pip`]). The index is
//! a cache of the database, rebuilt per tenant on start, after each change on this node,
//! and on every node by polling the tenant's geometry version (`geo_versions`, bumped in
//! the same transaction as each change) every 5 s.

pub mod area;
pub mod demo_data;
mod index;
pub mod pip;
pub mod routes;
mod service;
mod store;
pub mod validity;

pub use index::{LookupResult, NamedRef};
pub use service::{Geo, GridImportOptions, GridSpec, ImportOptions, ImportReport};

/// Limits of the geography service.
pub mod service_limits {
    pub use crate::service::{MAX_GRID_CELLS, MAX_IMPORT_FEATURES};
}

use onecity_store::migrate::Migration;

const V1: &str = r#"
CREATE TABLE boundaries (
  jurisdiction_id TEXT PRIMARY KEY REFERENCES jurisdictions(id), tenant TEXT NOT NULL,
  geojson TEXT NOT NULL, min_lon DOUBLE PRECISION NOT NULL, min_lat DOUBLE PRECISION NOT NULL,
  max_lon DOUBLE PRECISION NOT NULL, max_lat DOUBLE PRECISION NOT NULL, vertices BIGINT NOT NULL,
  source TEXT, updated_at BIGINT NOT NULL);
CREATE INDEX boundaries_tenant ON boundaries (tenant);
CREATE TABLE grids (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, jurisdiction_id TEXT NOT NULL REFERENCES jurisdictions(id),
  code TEXT NOT NULL, name TEXT NOT NULL, generated BIGINT NOT NULL, geojson TEXT NOT NULL,
  min_lon DOUBLE PRECISION NOT NULL, min_lat DOUBLE PRECISION NOT NULL, max_lon DOUBLE PRECISION NOT NULL,
  max_lat DOUBLE PRECISION NOT NULL, created_at BIGINT NOT NULL, UNIQUE (tenant, code));
CREATE INDEX grids_jurisdiction ON grids (jurisdiction_id);
CREATE TABLE geo_versions (tenant TEXT PRIMARY KEY, version BIGINT NOT NULL);
"#;

/// Migrations of the `geo` component.
pub static MIGRATIONS: [Migration; 1] = [Migration {
    version: 1,
    name: "boundaries and grids",
    sqlite: V1,
    postgres: V1,
}];

#[cfg(test)]
mod fuzz;
