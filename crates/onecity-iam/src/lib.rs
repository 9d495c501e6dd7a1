//! onecity-iam: who is where, and who may do what.
//!
//! Owns tenants and their jurisdiction trees, departments, principals (staff, citizens,
//! companies, apps), role grants scoped to a jurisdiction subtree (and optionally a
//! department), password login (Argon2id) issuing HS256 session tokens, app keys with
//! scopes and a per-key rate limit, login throttling, and the axum extractors that prove a
//! caller holds a permission ([`http::Authorized`]).
//!
//! Everything that changes writes an audit record and an outbox event in the same
//! transaction (see `onecity-store`).

pub mod http;
mod migrations;
mod org;
pub mod password;
mod principal;
pub mod roles;
pub mod routes;
pub mod token;
mod users;

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
    /// Login throttling window (default 15 min).
    pub throttle_window: Duration,
}

impl Default for IamConfig {
    fn default() -> Self {
        IamConfig {
            token_ttl_secs: 12 * 3600,
            cache_ttl: Duration::from_secs(30),
            throttle_max_failures: 5,
            throttle_window: Duration::from_secs(15 * 60),
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
        Ok(Iam {
            inner: Arc::new(Inner {
                db,
                auditor,
                bus,
                signer: token::TokenSigner::new(&secret),
                cfg,
                principals: Mutex::new(HashMap::new()),
                keys: Mutex::new(HashMap::new()),
                tenants: Mutex::new(HashMap::new()),
                buckets: Mutex::new(HashMap::new()),
            }),
        })
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
        self.inner.keys.lock().expect("cache lock").clear();
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
