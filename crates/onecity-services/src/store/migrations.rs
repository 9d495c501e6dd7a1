//! Schema of the `services` component.
//!
//! v1 (items): `services_items` holds one row per item code of a tenant (its state, the
//! newest and the published version, the owner department of the newest version);
//! `services_item_versions` holds every version ever written, immutable once written
//! except for its publication stamp, with the columns the hall filters on (names, type,
//! level, department, targets and life events as `,a,b,` lists) beside the full body
//! (JSON text).

use onecity_store::migrate::Migration;

const V1_ITEMS: &str = r#"
CREATE TABLE services_items (
  tenant TEXT NOT NULL, code TEXT NOT NULL, department_id TEXT NOT NULL, state TEXT NOT NULL,
  latest_version BIGINT NOT NULL, published_version BIGINT,
  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
  PRIMARY KEY (tenant, code));
CREATE INDEX services_items_department ON services_items (tenant, department_id);
CREATE TABLE services_item_versions (
  tenant TEXT NOT NULL, code TEXT NOT NULL, version BIGINT NOT NULL,
  department_id TEXT NOT NULL, department_code TEXT NOT NULL,
  name TEXT NOT NULL, name_en TEXT NOT NULL, item_type TEXT NOT NULL, level TEXT NOT NULL,
  targets TEXT NOT NULL, life_events TEXT NOT NULL, body TEXT NOT NULL,
  change TEXT NOT NULL, created_by TEXT NOT NULL, created_at BIGINT NOT NULL,
  published_at BIGINT, published_by TEXT,
  PRIMARY KEY (tenant, code, version));
"#;

/// v1: service items and their versions.
pub(crate) const ITEMS: Migration = Migration {
    version: 1,
    name: "service items and their versions",
    sqlite: V1_ITEMS,
    postgres: V1_ITEMS,
};
