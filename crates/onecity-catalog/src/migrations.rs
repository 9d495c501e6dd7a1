//! Schema of the `catalog` component: datasets (= CKAN packages = DCAT datasets), their
//! schema fields, resources and tags, change history, topics (CKAN groups) and the three
//! lists (demand, responsibility, negative).
//!
//! Other components read these tables: the datastore keys its tables by
//! `catalog_resources.id`, sharing keys grants by `catalog_datasets.id` and reads
//! `grade`, `owner_department_id` and `catalog_fields.personal`.

use onecity_store::migrate::Migration;

const V1: &str = r#"
CREATE TABLE catalog_datasets (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL, title_en TEXT, notes TEXT, notes_en TEXT,
  owner_department_id TEXT NOT NULL, jurisdiction_id TEXT NOT NULL, jurisdiction_path TEXT NOT NULL,
  domain TEXT NOT NULL, topic TEXT, grade TEXT NOT NULL, sensitivity BIGINT NOT NULL,
  open_level TEXT NOT NULL, update_frequency TEXT NOT NULL,
  license_id TEXT, version TEXT, publisher TEXT, source TEXT,
  data_updated_at BIGINT, revision BIGINT NOT NULL, state TEXT NOT NULL,
  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, deleted_at BIGINT);
CREATE INDEX catalog_datasets_tenant ON catalog_datasets (tenant, state);
CREATE INDEX catalog_datasets_owner ON catalog_datasets (owner_department_id);
CREATE INDEX catalog_datasets_updated ON catalog_datasets (updated_at);
CREATE TABLE catalog_fields (
  dataset_id TEXT NOT NULL, position BIGINT NOT NULL, name TEXT NOT NULL, title TEXT,
  field_type TEXT NOT NULL, unit TEXT, code_table TEXT, personal BIGINT NOT NULL,
  description TEXT, PRIMARY KEY (dataset_id, position));
CREATE UNIQUE INDEX catalog_fields_name ON catalog_fields (dataset_id, name);
CREATE TABLE catalog_resources (
  id TEXT PRIMARY KEY, dataset_id TEXT NOT NULL, tenant TEXT NOT NULL, position BIGINT NOT NULL,
  name TEXT NOT NULL, description TEXT, url TEXT, format TEXT, mimetype TEXT, kind TEXT NOT NULL,
  size BIGINT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE INDEX catalog_resources_dataset ON catalog_resources (dataset_id, position);
CREATE TABLE catalog_tags (dataset_id TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (dataset_id, tag));
CREATE INDEX catalog_tags_tag ON catalog_tags (tag);
CREATE TABLE catalog_history (
  dataset_id TEXT NOT NULL, revision BIGINT NOT NULL, at BIGINT NOT NULL, actor TEXT NOT NULL,
  change TEXT NOT NULL, snapshot TEXT NOT NULL, PRIMARY KEY (dataset_id, revision));
CREATE TABLE catalog_topics (
  tenant TEXT NOT NULL, name TEXT NOT NULL, title TEXT NOT NULL, title_en TEXT, description TEXT,
  created_at BIGINT NOT NULL, PRIMARY KEY (tenant, name));
CREATE TABLE catalog_demands (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, requester_department_id TEXT NOT NULL,
  title TEXT NOT NULL, purpose TEXT NOT NULL, legal_basis TEXT NOT NULL, fields TEXT NOT NULL,
  matched_dataset_id TEXT, provider_department_id TEXT, status TEXT NOT NULL,
  created_by TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE INDEX catalog_demands_tenant ON catalog_demands (tenant, status);
CREATE TABLE catalog_responsibilities (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, department_id TEXT NOT NULL, dataset_id TEXT,
  title TEXT NOT NULL, max_age_secs BIGINT NOT NULL, overdue BIGINT NOT NULL DEFAULT 0,
  overdue_since BIGINT, checked_at BIGINT, created_by TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE INDEX catalog_responsibilities_tenant ON catalog_responsibilities (tenant, overdue);
CREATE TABLE catalog_negatives (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, dataset_id TEXT NOT NULL, field TEXT,
  reason TEXT NOT NULL, legal_basis TEXT, created_by TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE INDEX catalog_negatives_dataset ON catalog_negatives (dataset_id);
"#;

/// The component's migrations.
pub static MIGRATIONS: [Migration; 1] = [Migration {
    version: 1,
    name: "datasets, fields, resources, tags, history, topics, the three lists",
    sqlite: V1,
    postgres: V1,
}];
