//! Configuration: defaults < TOML file < `ONECITY_*` environment < command-line flags.
//!
//! Every key of [`Config`] can be set in the TOML file (same name) and in the environment
//! as `ONECITY_<KEY>` (upper case); the common ones also as `serve` flags
//! (`--<key-with-dashes>`, see `onecity serve --help`). The loader
//! takes the environment as a parameter ([`load`]) so that it can be tested. Variables
//! named `ONECITY_TEST_*` belong to the test suite, and `ONECITY_ADMIN_PASSWORD` is the
//! first admin's password (read once at first start), so neither is a config key.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

macro_rules! config {
    ($( $(#[$m:meta])* $field:ident : $ty:ty = $default:expr ),+ $(,)?) => {
        /// The effective configuration.
        #[derive(Debug, Clone, Serialize)]
        pub struct Config { $( $(#[$m])* pub $field: $ty ),+ }

        /// A partial configuration from one source; `None` = not set there.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Partial { $( #[allow(missing_docs)] pub $field: Option<$ty> ),+ }

        impl Default for Config {
            fn default() -> Self { Config { $( $field: $default ),+ } }
        }

        impl Config {
            fn apply(&mut self, p: Partial) {
                $( if let Some(v) = p.$field { self.$field = v; } )+
            }
        }

        /// Every config key.
        pub const KEYS: &[&str] = &[ $( stringify!($field) ),+ ];
    };
}

config! {
    /// Directory of the embedded store (SQLite files). Default `./onecity-data`.
    data_dir: PathBuf = PathBuf::from("./onecity-data"),
    /// Address to listen on. Default `127.0.0.1:8080`.
    listen: SocketAddr = "127.0.0.1:8080".parse().expect("valid"),
    /// PostgreSQL URL; when set, used instead of the embedded store.
    database_url: Option<String> = None,
    /// NATS URL; when set, events go through NATS JetStream.
    nats_url: Option<String> = None,
    /// JetStream stream name (subjects `<stream>.>`). Default `ONECITY`.
    nats_stream: String = "ONECITY".into(),
    /// Load the demo tenants at start.
    demo: bool = false,
    /// Folder of the real demo data. Default `../shared/data`.
    demo_data: PathBuf = PathBuf::from("../shared/data"),
    /// Largest request body in bytes for ordinary API calls (default 1 MiB; imports have
    /// their own limit).
    max_body_bytes: usize = 1024 * 1024,
    /// Request timeout in seconds (default 30).
    request_timeout_secs: u64 = 30,
    /// How long shutdown waits for in-flight requests and background work (default 20 s).
    shutdown_grace_secs: u64 = 20,
    /// Database connections (PostgreSQL pool or SQLite readers). Default 16.
    db_max_connections: u32 = 16,
    /// Embedded store durability: `full` (default: an acknowledged write survives a power
    /// cut or OS crash) or `normal` (faster; the last commits can be lost on a power cut or
    /// OS crash, never on a process kill). PostgreSQL keeps its own `synchronous_commit`.
    sqlite_synchronous: String = "full".to_string(),
    /// Session token lifetime in seconds (default 43200 = 12 h).
    token_ttl_secs: i64 = 43_200,
    /// Failed logins from one client address within 15 minutes before 429 (default 100),
    /// beside the 5 per account.
    login_address_max_failures: i64 = 100,
    /// Password checks (Argon2id, 19 MiB each) running at once; more wait up to 5 s or get
    /// 503 `login_busy`. Default 0 = one per CPU core, between 2 and 13 (256 MiB).
    login_max_concurrent_hashes: usize = 0,
    /// Proxies whose `X-Forwarded-For` gives the client address (comma-separated
    /// addresses or CIDR ranges, e.g. `10.0.0.0/8`). Default empty: the TCP peer's address.
    trusted_proxies: String = String::new(),
    /// Roles whose holders must pass a second factor (TOTP, security key or recovery code)
    /// to sign in, comma-separated, e.g. `platform_admin,tenant_admin` (what a 等保 level-3
    /// deployment sets). A holder with no factor yet gets an enrolment-only session.
    /// Default empty, in the demo too (its admin signs in with the password alone, so the
    /// demo and the browser tests work out of the box; turn it on to try the second step).
    mfa_required_roles: String = String::new(),
    /// Fewest characters of a new password, 10 to 256 (default 10; level 3: 12).
    password_min_length: usize = 10,
    /// Character classes (upper, lower, digit, other) a new password must mix, 0 to 4
    /// (default 0; level 3: 3).
    password_min_classes: u8 = 0,
    /// A new password must differ from this many previous ones (default 0; level 3: 5).
    password_history: u32 = 0,
    /// Days after which a password must be changed before signing in (default 0 =
    /// never; level 3: 90).
    password_max_age_days: u32 = 0,
    /// Seconds a session may stay unused before it ends (default 0 = no idle timeout;
    /// level 3: 1800). Precision about 30 s.
    session_idle_timeout_secs: u64 = 0,
    /// Most concurrent sessions per user; signing in beyond it ends the oldest (default 0
    /// = no limit; level 3: e.g. 3).
    max_sessions_per_user: u32 = 0,
    /// Origin of the web pages for WebAuthn security keys, e.g.
    /// `https://city.example.org` (its host is the relying-party id). Default: none, and
    /// WebAuthn is off; with `demo` and none set, `http://localhost:<listen port>`.
    webauthn_origin: Option<String> = None,
    /// Issuer shown in authenticator apps for TOTP. Default `onecity`.
    totp_issuer: String = "onecity".into(),
    /// The key store's key-encryption key (32 bytes as 64 hex digits or base64), usually
    /// given as `ONECITY_MASTER_KEY`. Never stored in the database. Unset, and without
    /// `master_key_file`: the key file `<data_dir>.master-key` beside the data directory is
    /// read, or created on first start (development only; a warning is logged).
    #[serde(skip_serializing)]
    master_key: Option<String> = None,
    /// A file holding the master key (same forms as `master_key`).
    master_key_file: Option<PathBuf> = None,
    /// Seconds a retired signing key stays published in the JWKS and accepted (default
    /// 604800 = 7 days).
    key_publish_grace_secs: u64 = 7 * 24 * 3600,
    /// The OpenID Connect provider's issuer: this server's public base URL, e.g.
    /// `https://id.city.gov.cn` (no trailing slash). Default `http://<listen address>`.
    oidc_issuer: Option<String> = None,
    /// ID token lifetime in seconds (default 300).
    oidc_id_token_ttl_secs: i64 = 300,
    /// Access token lifetime in seconds (default 3600).
    oidc_access_token_ttl_secs: i64 = 3600,
    /// Staff single sign-on: the external OpenID Connect provider's issuer URL (a city
    /// directory, Keycloak, another onecity). Unset: single sign-on is off.
    sso_issuer: Option<String> = None,
    /// Our client id at the SSO provider.
    sso_client_id: Option<String> = None,
    /// Our client secret at the SSO provider (unset: a public client, PKCE only).
    #[serde(skip_serializing)]
    sso_client_secret: Option<String> = None,
    /// Our callback URL registered at the provider. Default `<oidc_issuer>/auth/oidc/callback`.
    sso_redirect_url: Option<String> = None,
    /// The tenant whose staff sign in through SSO.
    sso_tenant: Option<String> = None,
    /// The claim giving the user name (default `preferred_username`).
    sso_username_claim: String = "preferred_username".into(),
    /// The claim mapped to roles, a string or an array of strings (default `groups`).
    sso_role_claim: String = "groups".into(),
    /// Claim values to roles: `value=role[@DEPARTMENT_CODE],…`, e.g.
    /// `roads-team=staff@ROADS,it-admins=tenant_admin`. A user with no mapped value is refused.
    sso_role_map: String = String::new(),
    /// The SSO button's label on the sign-in page.
    sso_label: String = "统一身份认证 Single sign-on".into(),
    /// `text` or `json` log lines. Default `text`.
    log_format: String = "text".into(),
    /// Log filter (tracing `EnvFilter` syntax). Default `info`.
    log_level: String = "info".into(),
    /// SMTP relay for notification e-mails, `smtp://host:port` (plain SMTP).
    smtp_url: Option<String> = None,
    /// Sender of notification e-mails.
    smtp_from: String = "onecity <onecity@localhost>".into(),
    /// URL that receives a JSON POST for every workflow notification.
    notify_webhook_url: Option<String> = None,
    /// Secret for the webhook's `X-Onecity-Signature: sha256=<hmac>` header.
    notify_webhook_secret: Option<String> = None,
    /// The SMS gateway (短信网关): URL that receives a JSON `POST {to, text, purpose}` per
    /// message (citizen codes; later the services' notifications). Default: none (code
    /// requests answer 502 `sms_gateway_failed`).
    sms_gateway_url: Option<String> = None,
    /// Bearer token sent to the SMS gateway, if any.
    sms_gateway_token: Option<String> = None,
    /// Time limit of one SMS gateway request in seconds (default 5).
    sms_gateway_timeout_secs: u64 = 5,
    /// How long a citizen's one-time code is valid, in seconds (default 300).
    code_ttl_secs: u64 = 300,
    /// Tries on one code before it is dead (default 5).
    code_max_attempts: i64 = 5,
    /// Codes sent to one phone number or e-mail per hour (default 5; 20 per client
    /// address).
    code_send_max_per_hour: i64 = 5,
    /// Identity verification service for the real-name check (实名认证): URL that receives
    /// `POST {name, id_number, tenant}` and answers `{"match": true|false}`. Default: none.
    identity_verifier_url: Option<String> = None,
    /// Bearer token sent to the identity verification service, if any.
    identity_verifier_token: Option<String> = None,
    /// Demo only: the datastore resource id of the synthetic register's persons table
    /// (columns `name`, `id_number`); when set (and `identity_verifier_url` is not), the
    /// real-name check looks people up there and labels results `synthetic`.
    identity_verifier_synthetic: Option<String> = None,
    /// Seconds between SLA scans (the job `flow.sla_scan`; default 5).
    sla_scan_secs: u64 = 5,
    /// Seconds between rounds of the job `brain.metro_forecast` (default 600, one 10-minute
    /// slot): forecasts for every tenant with metro stations, then evacuation advice and
    /// the transport work orders due. The job is registered only when
    /// `<demo_data>/metro/hangzhou_flow.csv` exists.
    brain_forecast_secs: u64 = 600,
    /// Milliseconds between passes of the job scheduler (default 500): how late a due
    /// tick, retry or event-triggered run may start.
    jobs_poll_ms: u64 = 500,
    /// Days of job run history kept (the daily job `jobs.history_purge`; 0 keeps all).
    /// Default 7.
    jobs_history_days: u64 = 7,
    /// Interval of the built-in job `ops.probe` in seconds (a database round trip and the
    /// outbox backlog); 0 (default) leaves it registered but off (still runnable by hand).
    jobs_probe_every_secs: u64 = 0,
    /// `ops.probe` fails on purpose while its attempt number is at most this (to see
    /// retries work in a deployment). Default 0.
    jobs_probe_fail_first: u32 = 0,
    /// Attempts per tick of `ops.probe` (default 3).
    jobs_probe_max_attempts: u32 = 3,
    /// Seconds before the first retry of `ops.probe`, doubled per further retry (default 1).
    jobs_probe_backoff_secs: u64 = 1,
    /// Testing only: delay the outbox relay by this many milliseconds after each wake-up
    /// (used to kill a server between commit and publish). Default 0.
    outbox_relay_delay_ms: u64 = 0,
    /// Open the NGSI-LD API (`/ngsi-ld/v1`) without credentials (for a conformance run or
    /// a closed network). Default false: callers need `twin:read` / `twin:write`.
    ngsi_ld_open: bool = false,
    /// Largest NGSI-LD request body in bytes (default 8 MiB; an entity of 3,000
    /// attributes is about 0.2 MiB).
    ngsi_ld_max_body_bytes: usize = 8 * 1024 * 1024,
    /// Largest NGSI-LD `limit` (default 1000); above it a query answers 403 TooManyResults.
    ngsi_ld_max_limit: usize = 1000,
    /// Most attribute instances of one entity in one temporal answer (default 1000: a
    /// day of 10-minute samples of several attributes); beyond it the answer is 206
    /// Partial Content with a `Content-Range` (GS CIM 009 §6.3.10).
    ngsi_ld_temporal_page: usize = 1000,
    /// JSON file mapping `@context` URLs to local files (paths relative to the file), for
    /// air-gapped deployments: `{"https://example.org/ctx.jsonld": "ctx.jsonld"}`.
    ngsi_ld_context_map: Option<PathBuf> = None,
    /// Fetch other remote `@context` URLs over HTTP(S) (cached in memory). Default true.
    ngsi_ld_fetch_contexts: bool = true,
    /// Largest remote `@context` document in bytes (default 1 MiB); larger is 504.
    ngsi_ld_context_max_bytes: usize = 1024 * 1024,
    /// Memory budget of the `@context` caches in bytes (default 16 MiB); the oldest
    /// entries are evicted beyond it.
    ngsi_ld_context_cache_bytes: usize = 16 * 1024 * 1024,
    /// Time limit of one remote `@context` fetch in seconds (default 5).
    ngsi_ld_context_timeout_secs: u64 = 5,
    /// Hosts and address ranges remote `@context` fetches may reach although they are
    /// denied by default (loopback, private, link-local, unique-local, metadata):
    /// comma-separated host names, addresses or CIDR ranges. Default empty.
    ngsi_ld_context_allow: String = String::new(),
    /// MQTT device ingestion: `mqtt://host:port/prefix`; the server subscribes to
    /// `prefix/#` and maps `prefix/<type>/<id>` messages to entity updates (see
    /// `onecity_twin::ingest`). Default: off.
    ngsi_ld_ingest_mqtt: Option<String> = None,
}

/// Parses a comma-separated list of addresses or CIDR ranges (a bare address is a /32 or
/// /128 range); `key` names the setting in errors.
pub fn ip_ranges(key: &str, list: &str) -> anyhow::Result<Vec<ipnet::IpNet>> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| anyhow::anyhow!("{key}: {s:?} is not an address or CIDR range"))
        })
        .collect()
}

/// Errors of loading configuration.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ConfigError {}

/// Reads `ONECITY_*` variables from `env` into a partial config.
///
/// Values are read as TOML values where they parse as one (numbers, booleans), else as
/// strings. Unknown `ONECITY_*` names give a warning, not an error.
pub fn from_env(
    env: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<Partial, ConfigError> {
    let mut table = toml::Table::new();
    for (k, v) in env {
        let Some(key) = k.strip_prefix("ONECITY_") else {
            continue;
        };
        if key.starts_with("TEST_")
            || matches!(key, "ADMIN_PASSWORD" | "CONFIG" | "NEW_USER_PASSWORD")
        {
            continue;
        }
        let key = key.to_ascii_lowercase();
        if !KEYS.contains(&key.as_str()) {
            warnings.push(format!("unknown environment variable {k} ignored"));
            continue;
        }
        let val = if let Ok(i) = v.parse::<i64>() {
            toml::Value::Integer(i)
        } else if let Ok(b) = v.parse::<bool>() {
            toml::Value::Boolean(b)
        } else {
            toml::Value::String(v.clone())
        };
        table.insert(key, val);
    }
    toml::Value::Table(table)
        .try_into()
        .map_err(|e| ConfigError(format!("environment: {e}")))
}

/// Reads a TOML file into a partial config. Errors name the file and the problem.
pub fn from_file(path: &Path) -> Result<Partial, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| ConfigError(format!("config file {}: {e}", path.display())))
}

/// Loads the effective config: defaults < `file` < `env` < `flags`. Returns the config
/// and warnings (unknown variables, default or weak secrets, exposed listeners).
pub fn load(
    file: Option<&Path>,
    env: &BTreeMap<String, String>,
    flags: Partial,
) -> Result<(Config, Vec<String>), ConfigError> {
    let mut warnings = Vec::new();
    let mut c = Config::default();
    if let Some(f) = file {
        c.apply(from_file(f)?);
    }
    c.apply(from_env(env, &mut warnings)?);
    c.apply(flags);
    if !matches!(c.log_format.as_str(), "text" | "json") {
        return Err(ConfigError(format!(
            "log_format must be text or json, got {:?}",
            c.log_format
        )));
    }
    if c.max_body_bytes < 1024 {
        return Err(ConfigError("max_body_bytes must be at least 1024".into()));
    }
    if let Some(u) = &c.database_url {
        if !u.starts_with("postgres://") && !u.starts_with("postgresql://") {
            return Err(ConfigError(
                "database_url must start with postgres:// or postgresql://".into(),
            ));
        }
        for weak in [":postgres@", ":password@", ":admin@", ":changeme@"] {
            if u.contains(weak) {
                warnings.push(format!(
                    "database_url uses a default password ({}); change it in production",
                    weak.trim_matches(|c| c == ':' || c == '@')
                ));
            }
        }
    }
    if let Some(pw) = env.get("ONECITY_ADMIN_PASSWORD") {
        let lower = pw.to_ascii_lowercase();
        if ["admin", "password", "changeme", "onecity", "123456"]
            .iter()
            .any(|d| lower.contains(d))
        {
            warnings.push(
                "ONECITY_ADMIN_PASSWORD looks like a default password; choose a strong one".into(),
            );
        }
    }
    if !c.listen.ip().is_loopback() {
        warnings.push(format!(
            "listening on {} (not loopback): put a TLS-terminating proxy in front",
            c.listen
        ));
    }
    Ok((c, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let (c, w) = load(None, &env(&[]), Partial::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./onecity-data"));
        assert!(c.database_url.is_none());
        assert!(w.is_empty());
    }

    #[test]
    fn layers_override_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            "listen = \"127.0.0.1:9000\"\nmax_body_bytes = 2048\nlog_level = \"debug\"\n",
        )
        .unwrap();
        let e = env(&[
            ("ONECITY_MAX_BODY_BYTES", "4096"),
            ("ONECITY_LOG_LEVEL", "warn"),
            ("ONECITY_TEST_DATABASE_URL", "x"),
            ("PATH", "/bin"),
        ]);
        let flags = Partial {
            log_level: Some("error".into()),
            ..Default::default()
        };
        let (c, w) = load(Some(&f), &e, flags).unwrap();
        assert_eq!(c.listen.port(), 9000, "file beats default");
        assert_eq!(c.max_body_bytes, 4096, "env beats file");
        assert_eq!(c.log_level, "error", "flag beats env");
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn bad_values_and_warnings() {
        assert!(load(
            None,
            &env(&[("ONECITY_LISTEN", "nowhere")]),
            Partial::default()
        )
        .is_err());
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "no_such_key = 1\n").unwrap();
        assert!(load(Some(&f), &env(&[]), Partial::default())
            .unwrap_err()
            .0
            .contains("no_such_key"));
        let (_, w) = load(
            None,
            &env(&[
                ("ONECITY_ADMIN_PASSWORD", "admin12345678"),
                ("ONECITY_DATABASE_URL", "postgres://u:postgres@h/db"),
                ("ONECITY_FOO", "1"),
            ]),
            Partial::default(),
        )
        .unwrap();
        assert_eq!(w.len(), 3, "{w:?}");
    }
}
