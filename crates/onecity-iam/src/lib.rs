//! onecity-iam: who is where, and who may do what.
//!
//! Owns tenants and their jurisdiction trees, departments, principals (staff, citizens,
//! companies, apps), role grants scoped to a jurisdiction subtree (and optionally a
//! department), password login (Argon2id) issuing HS256 session tokens, app keys with
//! scopes and a per-key rate limit, the platform's limiter ([`limiter::Limiter`], shared
//! through the database) with login throttling per account and per client address, the
//! bound on concurrent password hashing, and the axum extractors that prove a caller holds
//! a permission ([`http::Authorized`]); second factors for staff (TOTP, recovery codes,
//! WebAuthn), required by role, the password policy, session limits and sign-in history
//! ([`mfa`]).
//!
//! Everything that changes writes an audit record and an outbox event in the same
//! transaction (see `onecity-store`).

pub mod assurance;
pub mod citizen;
pub mod citizen_routes;
pub mod company;
pub mod http;
pub mod idnum;
pub mod keystore;
pub mod limiter;
mod membership;
pub mod mfa;
mod mfa_routes;
mod migrations;
pub mod oidc;
pub mod oidc_http;
mod org;
pub mod password;
mod principal;
pub mod roles;
pub mod routes;
pub mod sms;
pub mod sso;
mod store;
pub mod synthetic;
pub mod token;
mod users;

pub use assurance::{AssuranceLevel, IdentityVerifier};
pub use company::MandateUse;
pub use migrations::MIGRATIONS;
pub use org::{NewDepartment, NewJurisdiction, NewTenant};
pub use principal::{Grant, Principal, PrincipalKind};
pub use roles::{Permission, Role};
pub use users::{ApiKeyCreated, ApiKeyInfo, NewApiKey, NewUser, RoleGrantInput, UserView};

use onecity_core::events::EventEnvelope;
use onecity_core::Result;
use onecity_store::audit::{AuditEntry, Auditor};
use onecity_store::bus::EventBus;
use onecity_store::{Db, Tx};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Settings of the identity service.
#[derive(Debug, Clone)]
pub struct IamConfig {
    /// Session token lifetime in seconds (default 12 h).
    pub token_ttl_secs: i64,
    /// How long a resolved principal or app key is cached per node (default 30 s): a
    /// revoked role or key stops working within this time.
    pub cache_ttl: Duration,
    /// Failed logins per account within `throttle_window` before 429 (default 5).
    pub throttle_max_failures: i64,
    /// Login throttling window (default 15 min), for accounts and addresses alike.
    pub throttle_window: Duration,
    /// Failed logins from one client address within `throttle_window` before 429
    /// (default 100): beside the per-account limit, it bounds how many usernames one
    /// address can try (and so the counters and audit records a flood can write).
    pub throttle_address_max_failures: i64,
    /// Password checks (Argon2id, [`password::MEMORY_KIB`] KiB each) running at once;
    /// `0` = [`default_max_concurrent_hashes`]. Attempts beyond it wait up to
    /// `hash_wait`, at most `4 ×` this many at a time; the others are answered at once with
    /// 503 `login_busy` and `Retry-After: 1`.
    pub max_concurrent_hashes: usize,
    /// How long a login waits for a password-check slot before 503 `login_busy`
    /// (default 5 s).
    pub hash_wait: Duration,
    /// Proxies whose `X-Forwarded-For` is believed (addresses or CIDR ranges). Empty
    /// (default): the client address is the TCP peer's, and `X-Forwarded-For` is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Second factors, password policy and session limits (see [`mfa::SecurityPolicy`]).
    pub security: mfa::SecurityPolicy,
    /// The SMS gateway for one-time codes (and the services' notifications); `None`:
    /// code requests answer 503 `sms_gateway_failed`.
    pub sms: Option<sms::SmsConfig>,
    /// How long a one-time code is valid (default 5 min).
    pub code_ttl: Duration,
    /// Tries on one code before it is dead (default 5).
    pub code_max_attempts: i64,
    /// Codes sent to one phone number or e-mail per hour (default 5).
    pub code_send_max: i64,
    /// Codes requested from one client address per hour (default 20).
    pub code_send_address_max: i64,
    /// Code tries for one phone number or e-mail per 15 minutes, across codes (default 10).
    pub code_verify_max: i64,
    /// Code tries from one client address per 15 minutes (default 100).
    pub code_verify_address_max: i64,
    /// Real-name attempts per citizen per day (default 5): bounds probing the register.
    pub real_name_max: i64,
    /// The key-encryption key of the key store ([`keystore`]). `None`: no key store, and
    /// the OpenID Connect provider answers 503 `signing_key_unavailable`.
    pub master_key: Option<keystore::MasterKey>,
    /// Key store settings (publication grace of retired keys).
    pub keys: keystore::KeyStoreConfig,
    /// The OpenID Connect provider's settings (issuer, token lifetimes).
    pub oidc: oidc::ProviderConfig,
    /// Single sign-on for staff through an external OpenID Connect provider (`None`: off).
    pub sso: Option<sso::SsoConfig>,
}

/// Memory the password checks may use at once, by default: 256 MiB.
pub const HASH_MEMORY_BUDGET_KIB: usize = 256 * 1024;

/// The default bound on concurrent password checks: one per CPU core (Argon2id is
/// CPU-bound, more at once do not finish sooner), and at most as many as fit in
/// [`HASH_MEMORY_BUDGET_KIB`] at [`password::MEMORY_KIB`] each (256 MiB / 19 MiB = 13);
/// at least 2.
pub fn default_max_concurrent_hashes() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    cores.clamp(
        2,
        (HASH_MEMORY_BUDGET_KIB / password::MEMORY_KIB as usize).max(2),
    )
}

impl Default for IamConfig {
    fn default() -> Self {
        IamConfig {
            token_ttl_secs: 12 * 3600,
            cache_ttl: Duration::from_secs(30),
            throttle_max_failures: 5,
            throttle_window: Duration::from_secs(15 * 60),
            throttle_address_max_failures: 100,
            max_concurrent_hashes: 0,
            hash_wait: Duration::from_secs(5),
            trusted_proxies: Vec::new(),
            security: mfa::SecurityPolicy::default(),
            sms: None,
            code_ttl: Duration::from_secs(300),
            code_max_attempts: 5,
            code_send_max: 5,
            code_send_address_max: 20,
            code_verify_max: 10,
            code_verify_address_max: 100,
            real_name_max: 5,
            master_key: None,
            keys: keystore::KeyStoreConfig::default(),
            oidc: oidc::ProviderConfig::default(),
            sso: None,
        }
    }
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

pub(crate) struct Inner {
    pub(crate) db: Db,
    pub(crate) auditor: Auditor,
    pub(crate) bus: EventBus,
    pub(crate) signer: token::TokenSigner,
    pub(crate) cfg: IamConfig,
    pub(crate) principals: Mutex<HashMap<Uuid, (Instant, Arc<Principal>)>>,
    pub(crate) keys: Mutex<HashMap<String, (Instant, Arc<Principal>)>>,
    /// Tenants by code (tenants are never changed or removed, so entries never go stale).
    pub(crate) tenants: Mutex<HashMap<String, onecity_core::model::Tenant>>,
    buckets: Mutex<HashMap<Uuid, Bucket>>,
    /// The platform limiter (login throttling).
    pub(crate) limiter: limiter::Limiter,
    /// Slots for concurrent password checks.
    pub(crate) hash_slots: Arc<tokio::sync::Semaphore>,
    /// Logins waiting for a slot now.
    pub(crate) hash_waiting: std::sync::atomic::AtomicUsize,
    /// Most logins allowed to wait for a slot.
    pub(crate) hash_max_waiting: usize,
    /// Moving average of a real password check in µs (0 = none measured yet): what an
    /// unknown username waits instead of hashing.
    pub(crate) verify_micros: std::sync::atomic::AtomicU64,
    /// Key sealing TOTP secrets at rest (see [`mfa`]).
    pub(crate) mfa_key: [u8; 32],
    /// The WebAuthn relying party, when `security.webauthn_origin` is set.
    pub(crate) webauthn: Option<webauthn_rs::Webauthn>,
    /// Sessions checked recently on this node (session policy on): `jti` → when.
    pub(crate) sessions: Mutex<HashMap<Uuid, Instant>>,
    /// The SMS gateway, when configured.
    pub(crate) sms: Option<sms::SmsGateway>,
    /// The real-name check, when wired ([`Iam::set_identity_verifier`]).
    pub(crate) verifier: std::sync::RwLock<Option<Arc<dyn assurance::IdentityVerifier>>>,
    /// Key of the HMACs over one-time codes and identity numbers (secret
    /// `iam_identity_hmac`, kept in the database's secrets table).
    pub(crate) identity_key: Vec<u8>,
    /// The key store (when a master key is configured).
    pub(crate) keystore: Option<keystore::KeyStore>,
    /// Verified OIDC access tokens: token → (checked at, expiry µs, principal id).
    pub(crate) access_tokens: Mutex<HashMap<String, (Instant, i64, Uuid)>>,
    /// The external provider's discovery document and JWKS (single sign-on), cached.
    pub(crate) sso_cache: tokio::sync::Mutex<Option<sso::ProviderInfo>>,
}

/// The identity and organisation service; cheap to clone.
#[derive(Clone)]
pub struct Iam {
    pub(crate) inner: Arc<Inner>,
}

/// The tenant code of deployment-level audit records.
pub const SYSTEM_TENANT: &str = "_system";

impl Iam {
    /// Builds the service over a migrated database.
    pub async fn new(db: Db, auditor: Auditor, bus: EventBus, cfg: IamConfig) -> Result<Iam> {
        let secret = onecity_store::secrets::get_or_create(&db, "session_token_hs256").await?;
        let mfa_key = mfa::seal_key(&db).await?;
        let webauthn = mfa::relying_party(&cfg.security)?;
        let identity_key = onecity_store::secrets::get_or_create(&db, "iam_identity_hmac").await?;
        let sms = cfg.sms.clone().map(sms::SmsGateway::new).transpose()?;
        let keystore = match &cfg.master_key {
            Some(master) => {
                Some(keystore::KeyStore::open(db.clone(), master.clone(), cfg.keys.clone()).await?)
            }
            None => None,
        };
        let slots = match cfg.max_concurrent_hashes {
            0 => default_max_concurrent_hashes(),
            n => n,
        };
        let iam = Iam {
            inner: Arc::new(Inner {
                db: db.clone(),
                auditor,
                bus,
                signer: token::TokenSigner::new(&secret),
                cfg,
                principals: Mutex::new(HashMap::new()),
                keys: Mutex::new(HashMap::new()),
                tenants: Mutex::new(HashMap::new()),
                buckets: Mutex::new(HashMap::new()),
                limiter: limiter::Limiter::new(db.clone()),
                hash_slots: Arc::new(tokio::sync::Semaphore::new(slots)),
                hash_waiting: std::sync::atomic::AtomicUsize::new(0),
                hash_max_waiting: slots * 4,
                verify_micros: std::sync::atomic::AtomicU64::new(0),
                mfa_key,
                webauthn,
                sessions: Mutex::new(HashMap::new()),
                sms,
                verifier: std::sync::RwLock::new(None),
                identity_key,
                keystore,
                access_tokens: Mutex::new(HashMap::new()),
                sso_cache: tokio::sync::Mutex::new(None),
            }),
        };
        if let Some(ks) = &iam.inner.keystore {
            ks.ensure_active(&iam, keystore::PURPOSE_OIDC).await?;
        }
        Ok(iam)
    }

    /// The key store. Error: `signing_key_unavailable` when no master key is configured.
    pub fn keystore(&self) -> Result<&keystore::KeyStore> {
        self.inner.keystore.as_ref().ok_or_else(|| {
            onecity_core::Error::new(
                onecity_core::ErrorCode::SigningKeyUnavailable,
                "the key store has no master key (set ONECITY_MASTER_KEY or master_key_file)",
            )
        })
    }

    /// The platform limiter (shared through the database, so replicas agree).
    pub fn limiter(&self) -> &limiter::Limiter {
        &self.inner.limiter
    }

    /// The platform's SMS gateway, when configured (for the services' notifications too).
    pub fn sms(&self) -> Option<&sms::SmsGateway> {
        self.inner.sms.as_ref()
    }

    /// Wires the real-name check (实名认证): a configured HTTP service
    /// ([`assurance::HttpIdentityVerifier`]) or, in the demo, the synthetic register
    /// ([`assurance::SyntheticRegisterVerifier`]). Without one, real-name requests answer
    /// 503 `identity_check_unavailable`.
    pub fn set_identity_verifier(&self, v: Arc<dyn assurance::IdentityVerifier>) {
        *self.inner.verifier.write().expect("verifier lock") = Some(v);
    }

    /// The settings this service runs with.
    pub fn config(&self) -> &IamConfig {
        &self.inner.cfg
    }

    /// The database handle (for modules that build on the organisation model).
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The auditor (for modules that write their own audit records).
    pub fn auditor(&self) -> &Auditor {
        &self.inner.auditor
    }

    /// The event bus.
    pub fn bus(&self) -> &EventBus {
        &self.inner.bus
    }

    /// Writes an audit record and, when given, an outbox event inside `tx`.
    pub async fn record(
        &self,
        tx: &mut Tx,
        entry: &AuditEntry<'_>,
        event: Option<EventEnvelope>,
    ) -> Result<()> {
        self.inner.auditor.append(tx, entry).await?;
        if let Some(e) = event {
            onecity_store::outbox::enqueue(tx, &e).await?;
        }
        Ok(())
    }

    /// Forgets cached principals and keys (after role or key changes on this node).
    pub fn invalidate_caches(&self) {
        self.inner.principals.lock().expect("cache lock").clear();
        self.inner.sessions.lock().expect("cache lock").clear();
        self.inner.keys.lock().expect("cache lock").clear();
        self.inner.access_tokens.lock().expect("cache lock").clear();
    }

    /// Token-bucket rate limit per app key (capacity = rate per minute, refilled
    /// continuously). Per node: with N replicas behind a balancer a key gets up to N× its
    /// rate. Returns the seconds to wait when the bucket is empty.
    pub(crate) fn take_token(&self, key: Uuid, per_minute: i64) -> Option<u64> {
        let cap = per_minute.max(1) as f64;
        let rate = cap / 60.0;
        let now = Instant::now();
        let mut b = self.inner.buckets.lock().expect("bucket lock");
        let e = b.entry(key).or_insert(Bucket {
            tokens: cap,
            last: now,
        });
        e.tokens = (e.tokens + now.duration_since(e.last).as_secs_f64() * rate).min(cap);
        e.last = now;
        if e.tokens >= 1.0 {
            e.tokens -= 1.0;
            None
        } else {
            Some(((1.0 - e.tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

/// Checks a key purpose: 1 to 32 characters of `a-z`, `0-9`, `_`, `-`.
pub(crate) fn validate_purpose(purpose: &str) -> Result<()> {
    if purpose.is_empty()
        || purpose.len() > 32
        || !purpose
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err(onecity_core::Error::invalid(
            "purpose must be 1 to 32 characters of a-z, 0-9, _ and -",
        ));
    }
    Ok(())
}
