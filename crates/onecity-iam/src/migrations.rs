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

/// Second factors, sessions and sign-in history for staff (issue 13; GB/T 22239-2019
/// identity authentication): TOTP enrolments (secret sealed, last accepted time step),
/// recovery-code digests, WebAuthn credentials and pending ceremonies, issued sessions
/// (idle timeout, concurrent-session limit), password history and change time, and
/// sign-in attempts.
const V6: &str = r#"
ALTER TABLE principals ADD COLUMN password_changed_at BIGINT;
CREATE TABLE iam_totp (
  principal_id TEXT PRIMARY KEY REFERENCES principals(id), secret_sealed TEXT NOT NULL,
  confirmed_at BIGINT, last_step BIGINT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE iam_recovery_codes (
  principal_id TEXT NOT NULL REFERENCES principals(id), code_sha256 TEXT NOT NULL,
  used_at BIGINT, created_at BIGINT NOT NULL, PRIMARY KEY (principal_id, code_sha256));
CREATE TABLE iam_webauthn_credentials (
  id TEXT PRIMARY KEY, principal_id TEXT NOT NULL REFERENCES principals(id),
  credential_id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, passkey TEXT NOT NULL,
  created_at BIGINT NOT NULL, last_used_at BIGINT);
CREATE INDEX iam_webauthn_principal ON iam_webauthn_credentials (principal_id);
CREATE TABLE iam_webauthn_pending (
  id TEXT PRIMARY KEY, principal_id TEXT NOT NULL REFERENCES principals(id),
  purpose TEXT NOT NULL, state TEXT NOT NULL, expires_at BIGINT NOT NULL);
CREATE INDEX iam_webauthn_pending_expiry ON iam_webauthn_pending (expires_at);
CREATE TABLE iam_sessions (
  id TEXT PRIMARY KEY, principal_id TEXT NOT NULL REFERENCES principals(id),
  method TEXT NOT NULL, address TEXT, created_at BIGINT NOT NULL, last_seen_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL, revoked_at BIGINT);
CREATE INDEX iam_sessions_principal ON iam_sessions (principal_id, created_at);
CREATE TABLE iam_password_history (
  principal_id TEXT NOT NULL REFERENCES principals(id), password_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL);
CREATE INDEX iam_password_history_principal ON iam_password_history (principal_id, created_at);
CREATE TABLE iam_sign_ins (
  id TEXT PRIMARY KEY, principal_id TEXT NOT NULL REFERENCES principals(id), at BIGINT NOT NULL,
  address TEXT, method TEXT NOT NULL, success BIGINT NOT NULL);
CREATE INDEX iam_sign_ins_principal ON iam_sign_ins (principal_id, at);
"#;

/// Citizens, real-name records, companies and mandates (issue 13): the assurance level and
/// phone of a principal; one-time codes (hashed, expiring, single-use, counted attempts);
/// real-name records (identity number masked for display and keyed-hashed, never in
/// clear); companies by unified social credit code with their legal representative;
/// mandates (授权) of agents to act for a company; company actions (each naming the person
/// and the mandate); the assurance level a datastore resource requires to be read.
const V4: &str = r#"
ALTER TABLE principals ADD COLUMN assurance TEXT;
ALTER TABLE principals ADD COLUMN phone TEXT;
CREATE TABLE iam_codes (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL REFERENCES tenants(code), identifier TEXT NOT NULL,
  purpose TEXT NOT NULL, code_hash TEXT NOT NULL, attempts BIGINT NOT NULL,
  created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT);
CREATE INDEX iam_codes_identifier ON iam_codes (tenant, identifier, created_at);
CREATE INDEX iam_codes_expiry ON iam_codes (expires_at);
CREATE TABLE iam_real_names (
  principal_id TEXT PRIMARY KEY REFERENCES principals(id), tenant TEXT NOT NULL REFERENCES tenants(code),
  name TEXT NOT NULL, id_number_masked TEXT NOT NULL, id_number_hmac TEXT NOT NULL UNIQUE,
  birth_date TEXT NOT NULL, level TEXT NOT NULL, verifier TEXT NOT NULL, synthetic BIGINT NOT NULL,
  verified_at BIGINT NOT NULL);
CREATE TABLE iam_companies (
  id TEXT PRIMARY KEY REFERENCES principals(id), tenant TEXT NOT NULL REFERENCES tenants(code),
  credit_code TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
  legal_rep_id TEXT NOT NULL REFERENCES principals(id), created_at BIGINT NOT NULL);
CREATE TABLE iam_mandates (
  id TEXT PRIMARY KEY, company_id TEXT NOT NULL REFERENCES iam_companies(id),
  tenant TEXT NOT NULL REFERENCES tenants(code), agent_id TEXT NOT NULL REFERENCES principals(id),
  actions TEXT NOT NULL, valid_until BIGINT NOT NULL, granted_by TEXT NOT NULL,
  created_at BIGINT NOT NULL, revoked_at BIGINT, revoked_by TEXT);
CREATE INDEX iam_mandates_company ON iam_mandates (company_id, agent_id);
CREATE TABLE iam_company_actions (
  id TEXT PRIMARY KEY, company_id TEXT NOT NULL REFERENCES iam_companies(id),
  tenant TEXT NOT NULL REFERENCES tenants(code), person_id TEXT NOT NULL REFERENCES principals(id),
  mandate_id TEXT REFERENCES iam_mandates(id), action TEXT NOT NULL, detail TEXT NOT NULL,
  created_at BIGINT NOT NULL);
CREATE INDEX iam_company_actions_company ON iam_company_actions (company_id, created_at);
CREATE TABLE iam_read_assurance (
  tenant TEXT NOT NULL REFERENCES tenants(code), resource_id TEXT NOT NULL, min_level TEXT NOT NULL,
  set_by TEXT NOT NULL, set_at BIGINT NOT NULL, PRIMARY KEY (tenant, resource_id));
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
pub static MIGRATIONS: [Migration; 6] = [
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
        version: 4,
        name: "citizens, codes, real names, companies, mandates, read assurance",
        sqlite: V4,
        postgres: V4,
    },
    Migration {
        version: 5,
        name: "key store, OpenID Connect provider clients, codes and tokens, SSO sign-ins",
        sqlite: V5,
        postgres: V5,
    },
    Migration {
        version: 6,
        name: "second factors, sessions, password history and sign-in history",
        sqlite: V6,
        postgres: V6,
    },
];
