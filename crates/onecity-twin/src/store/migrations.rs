//! Schema of the `twin` component.
//!
//! - `twin_entities`: one row per entity: NGSI-LD tenant (`''` = default), id, first type
//!   (expanded IRI), the entity in stored form (JSON of [`crate::ld::model::Entity`]), the
//!   bounding box of its `location` (geo prefilter for SQL readers), times in µs.
//! - `twin_history`: one row per attribute instance change (temporal API): the instance in
//!   stored form, its numeric value when it has one (aggregations), observedAt (or the
//!   commit time) in µs; since v2 also the instance's `instanceId` (GS CIM 009 §4.5.7), a
//!   URI the broker assigns, by which one instance is modified or deleted (§5.6.14,
//!   §5.6.15). v2 gives the rows written before it an id of their own.
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

const V2_SQLITE: &str = r#"
ALTER TABLE twin_history ADD COLUMN instance_id TEXT;
UPDATE twin_history SET instance_id = 'urn:ngsi-ld:Instance:' || lower(hex(randomblob(16)));
"#;

const V2_POSTGRES: &str = r#"
ALTER TABLE twin_history ADD COLUMN instance_id TEXT;
UPDATE twin_history SET instance_id = 'urn:ngsi-ld:Instance:' || md5(random()::text || clock_timestamp()::text);
"#;

/// The component's migrations.
pub static MIGRATIONS: [Migration; 2] = [
    Migration {
        version: 1,
        name: "twin entities, attribute history, retention",
        sqlite: V1,
        postgres: V1,
    },
    Migration {
        version: 2,
        name: "twin history instance ids",
        sqlite: V2_SQLITE,
        postgres: V2_POSTGRES,
    },
];
