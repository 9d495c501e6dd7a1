//! Schema of the `iam` component: tenants, the jurisdiction tree, departments, principals,
//! role grants, app keys and login throttling.

use onecity_store::migrate::Migration;

const V1: &str = r#"
CREATE TABLE tenants (
  id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, name TEXT NOT NULL, name_en TEXT,
  root_jurisdiction_id TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE jurisdictions (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL REFERENCES tenants(code), parent_id TEXT REFERENCES jurisdictions(id),
  level TEXT NOT NULL, code TEXT NOT NULL, name TEXT NOT NULL, name_en TEXT, path TEXT NOT NULL,
  depth BIGINT NOT NULL, has_boundary BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL,
  UNIQUE (tenant, code));
CREATE INDEX jurisdictions_parent ON jurisdictions (parent_id);
CREATE INDEX jurisdictions_path ON jurisdictions (tenant, path);
CREATE TABLE departments (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL REFERENCES tenants(code), jurisdiction_id TEXT NOT NULL REFERENCES jurisdictions(id),
  code TEXT NOT NULL, name TEXT NOT NULL, name_en TEXT, created_at BIGINT NOT NULL, UNIQUE (tenant, code));
CREATE TABLE principals (
  id TEXT PRIMARY KEY, tenant TEXT REFERENCES tenants(code), kind TEXT NOT NULL, username TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL, password_hash TEXT, department_id TEXT REFERENCES departments(id),
  disabled BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL);
CREATE TABLE grants (
  principal_id TEXT NOT NULL REFERENCES principals(id), role TEXT NOT NULL,
  jurisdiction_id TEXT REFERENCES jurisdictions(id), department_id TEXT REFERENCES departments(id),
  created_at BIGINT NOT NULL);
CREATE INDEX grants_principal ON grants (principal_id);
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY, tenant TEXT REFERENCES tenants(code), name TEXT NOT NULL, secret_sha256 TEXT NOT NULL,
  scopes TEXT NOT NULL, jurisdiction_id TEXT REFERENCES jurisdictions(id), rate_per_minute BIGINT NOT NULL,
  created_by TEXT NOT NULL, created_at BIGINT NOT NULL, revoked_at BIGINT);
CREATE TABLE login_failures (username TEXT NOT NULL, at BIGINT NOT NULL);
CREATE INDEX login_failures_user ON login_failures (username, at);
"#;

const V2: &str = "ALTER TABLE principals ADD COLUMN email TEXT;";

/// The component's migrations.
pub static MIGRATIONS: [Migration; 2] = [
    Migration {
        version: 1,
        name: "tenants, jurisdictions, departments, principals, grants, keys",
        sqlite: V1,
        postgres: V1,
    },
    Migration {
        version: 2,
        name: "principal e-mail addresses",
        sqlite: V2,
        postgres: V2,
    },
];
