//! Schema of the `twin` component.
//!
//! - `twin_entities`: one row per entity: NGSI-LD tenant (`''` = default), id, first type
//!   (expanded IRI), the entity in stored form (JSON of [`crate::model::Entity`]), the
//!   bounding box of its `location` (geo prefilter for SQL readers), times in µs.
//! - `twin_history`: one row per attribute instance change (temporal API): the instance in
//!   stored form, its numeric value when it has one (aggregations), observedAt (or the
//!   commit time) in µs.
//! - `twin_retention`: per tenant and entity type, how long history is kept.

use onecity_store::migrate::Migration;

const V1: &str = r#"
CREATE TABLE twin_entities (
  tenant TEXT NOT NULL, id TEXT NOT NULL, etype TEXT NOT NULL, body TEXT NOT NULL,
  min_lon DOUBLE PRECISION, min_lat DOUBLE PRECISION, max_lon DOUBLE PRECISION, max_lat DOUBLE PRECISION,
  created_at BIGINT NOT NULL, modified_at BIGINT NOT NULL,
  PRIMARY KEY (tenant, id));
CREATE INDEX twin_entities_type ON twin_entities (tenant, etype);
CREATE TABLE twin_history (
  tenant TEXT NOT NULL, entity_id TEXT NOT NULL, etype TEXT NOT NULL, attr TEXT NOT NULL,
  dataset_id TEXT NOT NULL, observed_at BIGINT NOT NULL, recorded_at BIGINT NOT NULL,
  num DOUBLE PRECISION, instance TEXT);
CREATE INDEX twin_history_entity ON twin_history (tenant, entity_id, attr, observed_at);
CREATE INDEX twin_history_type ON twin_history (tenant, etype, observed_at);
CREATE TABLE twin_retention (
  tenant TEXT NOT NULL, etype TEXT NOT NULL, keep_secs BIGINT NOT NULL, updated_at BIGINT NOT NULL,
  PRIMARY KEY (tenant, etype));
"#;

/// The component's migrations.
pub static MIGRATIONS: [Migration; 1] = [Migration {
    version: 1,
    name: "twin entities, attribute history, retention",
    sqlite: V1,
    postgres: V1,
}];
