//! Schema of the `iam` component: tenants, the jurisdiction tree, departments, principals,
//! role grants, app keys and the platform limiter's counters (login throttling).

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

/// The platform limiter's counters (see `limiter`): one row per limited key, holding the
/// hits of the current window and when that window ends (µs since the epoch). The keys are
/// `<purpose>:<kind>:<SHA-256 hex of the subject>`, so a row is at most ~100 bytes whatever
/// the subject; expired rows are purged by the limiter. The old per-attempt
/// `login_failures` rows (one per failed login, unbounded) are replaced by these counters.
const V3: &str = r#"
CREATE TABLE iam_limits (
  limit_key TEXT PRIMARY KEY, hits BIGINT NOT NULL, window_start BIGINT NOT NULL,
  expires_at BIGINT NOT NULL);
CREATE INDEX iam_limits_expiry ON iam_limits (expires_at);
DROP TABLE login_failures;
"#;

/// The key store and single sign-on (issue 13): signing keys sealed under the master key
/// (`iam_signing_keys`: at most one unretired key per purpose, by a partial unique index),
/// the OpenID Connect provider's registered clients, authorization codes (kept hashed, 60 s
/// lifetime, used once) and issued access tokens (so a reused code revokes them), the
/// relying party's pending sign-ins (state, nonce and PKCE verifier for 10 minutes), and the
/// external subject (`<issuer> <sub>`) of staff created by single sign-on.
const V5: &str = r#"
CREATE TABLE iam_signing_keys (
  kid TEXT PRIMARY KEY, purpose TEXT NOT NULL, alg TEXT NOT NULL, public_jwk TEXT NOT NULL,
  private_sealed TEXT NOT NULL, created_at BIGINT NOT NULL, retired_at BIGINT,
  publish_until BIGINT);
CREATE UNIQUE INDEX iam_signing_keys_active ON iam_signing_keys (purpose) WHERE retired_at IS NULL;
CREATE TABLE oidc_clients (
  client_id TEXT PRIMARY KEY, name TEXT NOT NULL, secret_sha256 TEXT, redirect_uris TEXT NOT NULL,
  scopes TEXT NOT NULL, created_by TEXT NOT NULL, created_at BIGINT NOT NULL, revoked_at BIGINT);
CREATE TABLE oidc_codes (
  code_sha256 TEXT PRIMARY KEY, client_id TEXT NOT NULL, principal_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL, scope TEXT NOT NULL, nonce TEXT, code_challenge TEXT NOT NULL,
  created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT);
CREATE INDEX oidc_codes_expiry ON oidc_codes (expires_at);
CREATE TABLE oidc_tokens (
  jti TEXT PRIMARY KEY, code_sha256 TEXT NOT NULL, client_id TEXT NOT NULL,
  principal_id TEXT NOT NULL, issued_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
  revoked_at BIGINT);
CREATE INDEX oidc_tokens_code ON oidc_tokens (code_sha256);
CREATE TABLE oidc_rp_logins (
  state_sha256 TEXT PRIMARY KEY, nonce TEXT NOT NULL, code_verifier TEXT NOT NULL,
  created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);
ALTER TABLE principals ADD COLUMN external_subject TEXT;
CREATE UNIQUE INDEX principals_external_subject ON principals (external_subject);
"#;

/// The component's migrations.
pub static MIGRATIONS: [Migration; 4] = [
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
    Migration {
        version: 3,
        name: "platform limiter counters replace per-attempt login failures",
        sqlite: V3,
        postgres: V3,
    },
    Migration {
        version: 5,
        name: "key store, OpenID Connect provider clients, codes and tokens, SSO sign-ins",
        sqlite: V5,
        postgres: V5,
    },
];
