//! Principals: users with roles, app keys, login and authentication.

use crate::principal::{Grant, Principal, PrincipalKind};
use crate::roles::{Permission, Role};
use crate::store::principals as store;
use crate::{password, Iam, SYSTEM_TENANT};
use onecity_core::events::{EventEnvelope, PlatformEvent};
use onecity_core::page::{Page, PageQuery};
use onecity_core::{validate, Error, ErrorCode, Result};
use onecity_store::audit::AuditEntry;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

/// One role grant in a user creation request.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleGrantInput {
    /// `tenant_admin`, `staff` or `auditor` (`platform_admin` only by platform admins).
    pub role: String,
    /// Root of the subtree (default: the tenant's root).
    pub jurisdiction_id: Option<Uuid>,
    /// Limit to one department.
    pub department_id: Option<Uuid>,
}

/// Input of user creation.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login name, unique in the deployment (ASCII letters, digits, `-_.`).
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Password, 10 to 256 characters, within the configured password policy (see
    /// `mfa::SecurityPolicy`; 422 `password_policy` otherwise).
    pub password: String,
    /// `staff` (default), `citizen` or `company`.
    pub kind: Option<String>,
    /// Department of a staff member.
    pub department_id: Option<Uuid>,
    /// Role grants.
    #[serde(default)]
    pub roles: Vec<RoleGrantInput>,
    /// E-mail address for notifications.
    #[serde(default)]
    pub email: Option<String>,
}

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    /// Principal id.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// `staff`, `citizen`, `company`.
    pub kind: String,
    /// Tenant code.
    pub tenant: Option<String>,
    /// Department.
    pub department_id: Option<Uuid>,
    /// Role grants.
    pub roles: Vec<RoleGrantInput>,
    /// E-mail address for notifications.
    pub email: Option<String>,
}

/// Input of app-key creation.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// Name of the app.
    pub name: String,
    /// Scopes, e.g. `["geo:read", "jurisdiction:read"]`.
    pub scopes: Vec<String>,
    /// Subtree the key works in (default: the tenant's root).
    pub jurisdiction_id: Option<Uuid>,
    /// Requests per minute (default 600, 1..=1,000,000).
    pub rate_per_minute: Option<i64>,
}

/// A created key; `key` is shown once and never stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiKeyCreated {
    /// Key id.
    pub id: Uuid,
    /// The secret key, `oc_<id>_<secret>`; send as `Authorization: Bearer <key>`,
    /// `Authorization: <key>` or `X-Api-Key: <key>`.
    pub key: String,
    /// Scopes.
    pub scopes: Vec<String>,
}

/// A key as listed (no secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiKeyInfo {
    /// Key id.
    pub id: Uuid,
    /// App name.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Subtree root.
    pub jurisdiction_id: Option<Uuid>,
    /// Requests per minute.
    pub rate_per_minute: i64,
    /// Revoked?
    pub revoked: bool,
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

impl Iam {
    /// Creates the first platform admin `admin` if it does not exist. Its password is
    /// `password` when given, otherwise generated and returned (to be printed once).
    pub async fn bootstrap_admin(&self, password: Option<&str>) -> Result<Option<String>> {
        if store::admin_exists(&self.inner.db).await? {
            return Ok(None);
        }
        let (pw, generated) = match password {
            Some(p) => (p.to_string(), false),
            None => (password::generate(20), true),
        };
        password::check_policy(&pw)
            .map_err(|_| Error::invalid("ONECITY_ADMIN_PASSWORD must be 10 to 256 characters"))?;
        let id = onecity_core::new_id();
        let now = onecity_core::time::now_micros();
        let mut tx = self.inner.db.begin().await?;
        store::insert_bootstrap_admin(&mut tx, id, &password::hash(&pw)?, now).await?;
        store::insert_grant(&mut tx, id, "platform_admin", None, None, now).await?;
        self.record(
            &mut tx,
            &AuditEntry {
                tenant: SYSTEM_TENANT,
                actor: "system",
                action: "principal.bootstrap_admin",
                resource_type: "principal",
                resource_id: &id.to_string(),
                ..Default::default()
            },
            Some(EventEnvelope::new(
                None,
                PlatformEvent::PrincipalCreated {
                    id,
                    kind: "staff".into(),
                },
            )),
        )
        .await?;
        tx.commit().await?;
        Ok(generated.then_some(pw))
    }

    /// Checks a username and password (the first step of every password sign-in).
    ///
    /// Order, so that a flood costs little and concurrent attempts cannot slip through:
    /// 1. one attempt is reserved, atomically, on the platform limiter for the client
    ///    address (`addr`, when known; `throttle_address_max_failures` per window) and for
    ///    the account (`throttle_max_failures` per window) — over either limit the answer is
    ///    429 at once, before any password is hashed;
    /// 2. a password-check slot is taken (at most `max_concurrent_hashes` at once); when
    ///    none frees up in time, the reservations are given back and the answer is 503;
    /// 3. the password is checked (Argon2id). An unknown username hashes nothing: it waits
    ///    as long as a real check takes (a moving average), holding a slot like one;
    /// 4. a success clears the account's counter and gives back the address's attempt; a
    ///    failure keeps both.
    ///
    /// Failures are recorded as counters, not rows per attempt, and audited in aggregate:
    /// one `auth.login_failed` record for the first failure of an account's window and one
    /// `auth.login_throttled` record (with the count) when its limit is reached. So one
    /// address can add at most `throttle_address_max_failures` counters and audit records
    /// per window, whatever it sends.
    ///
    /// Errors: `invalid_credentials` (401) for an unknown user or a wrong password, alike;
    /// `login_throttled` (429, with `Retry-After` = seconds left in the window) after too
    /// many failures for the account or from the address (shared by replicas: kept in the
    /// database); `login_busy` (503, `Retry-After: 1`) when too many checks run at once.
    ///
    /// This is the password step of a sign-in ([`Iam::login`]) and of a password change;
    /// it returns the account whose password was right. A wrong password for an existing
    /// account is also kept in its sign-in history.
    pub(crate) async fn check_password(
        &self,
        username: &str,
        pw: &str,
        addr: Option<std::net::IpAddr>,
    ) -> Result<crate::store::LoginAccount> {
        use crate::limiter::{Decision, Limit, Subject};
        const PURPOSE: &str = "login";
        let cfg = &self.inner.cfg;
        let limiter = &self.inner.limiter;
        let throttled = |retry_after_secs: u64, whom: &str| {
            metrics::counter!("onecity_login_throttled_total").increment(1);
            Error::new(
                ErrorCode::LoginThrottled,
                format!("too many failed logins {whom}; try again later"),
            )
            .with_retry_after(retry_after_secs)
        };
        let account = Subject::Account(username);
        let address = addr.map(Subject::Address);
        if let Some(address) = address {
            let limit = Limit {
                max: cfg.throttle_address_max_failures,
                window: cfg.throttle_window,
            };
            if let Decision::Refused {
                retry_after_secs, ..
            } = limiter.hit(PURPOSE, address, limit).await?
            {
                return Err(throttled(retry_after_secs, "from this address"));
            }
        }
        let limit = Limit {
            max: cfg.throttle_max_failures,
            window: cfg.throttle_window,
        };
        let account_decision = match limiter.hit(PURPOSE, account, limit).await {
            Ok(d) => d,
            Err(e) => {
                self.give_back(address).await;
                return Err(e);
            }
        };
        if let Decision::Refused {
            hits,
            retry_after_secs,
        } = account_decision
        {
            // The address's attempt was not evaluated: give it back.
            self.give_back(address).await;
            if hits == limit.max.max(1) + 1 {
                self.audit_login_failure(username, "auth.login_throttled", hits - 1)
                    .await?;
            }
            return Err(throttled(retry_after_secs, "for this account"));
        }
        let slot = match self.hash_slot().await {
            Ok(slot) => slot,
            Err(busy) => {
                self.give_back(address).await;
                if let Err(err) = limiter.release(PURPOSE, account).await {
                    tracing::warn!(%err, "login: giving back an account attempt failed");
                }
                return Err(busy);
            }
        };
        let row = crate::store::login_account(&self.inner.db, username).await?;
        let hash = row.as_ref().and_then(|r| r.password_hash.clone());
        let ok = match hash {
            Some(h) => {
                let pw_owned = pw.to_string();
                let started = Instant::now();
                let ok = tokio::task::spawn_blocking(move || password::verify(&pw_owned, &h))
                    .await
                    .map_err(Error::internal)?;
                self.note_verify_time(started.elapsed());
                ok
            }
            None => {
                self.imitate_verify(pw).await?;
                false
            }
        };
        drop(slot);
        let known = row.as_ref().map(|r| r.id);
        let account_row = row.filter(|r| ok && !r.disabled);
        let Some(account_row) = account_row else {
            if let Some(id) = known {
                self.note_sign_in(id, addr, "password", false).await?;
            }
            if account_decision.hits() == 1 {
                self.audit_login_failure(username, "auth.login_failed", 1)
                    .await?;
            }
            metrics::counter!("onecity_login_failures_total").increment(1);
            return Err(Error::new(
                ErrorCode::InvalidCredentials,
                "username or password is wrong",
            ));
        };
        limiter.reset(PURPOSE, account).await?;
        self.give_back(address).await;
        Ok(account_row)
    }

    /// Gives back the address's reserved login attempt (logged, not failed, on error).
    async fn give_back(&self, address: Option<crate::limiter::Subject<'_>>) {
        if let Some(address) = address {
            if let Err(err) = self.inner.limiter.release("login", address).await {
                tracing::warn!(%err, "login: giving back an address attempt failed");
            }
        }
    }

    /// Takes a password-check slot: at once when one is free; else waits up to `hash_wait`
    /// unless too many already wait. Error: 503 `login_busy` with `Retry-After: 1`.
    async fn hash_slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        use std::sync::atomic::Ordering;
        let busy = || {
            metrics::counter!("onecity_login_busy_total").increment(1);
            Error::new(
                ErrorCode::LoginBusy,
                "too many logins are being checked at once; try again in a second",
            )
            .with_retry_after(1)
        };
        let slots = self.inner.hash_slots.clone();
        if let Ok(permit) = slots.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let waiting = self.inner.hash_waiting.fetch_add(1, Ordering::AcqRel);
        let permit = if waiting < self.inner.hash_max_waiting {
            tokio::time::timeout(self.inner.cfg.hash_wait, slots.acquire_owned())
                .await
                .ok()
                .and_then(|p| p.ok())
        } else {
            None
        };
        self.inner.hash_waiting.fetch_sub(1, Ordering::AcqRel);
        permit.ok_or_else(busy)
    }

    /// Records how long a real password check took (moving average, 1/8 weight).
    fn note_verify_time(&self, took: std::time::Duration) {
        use std::sync::atomic::Ordering;
        let took = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
        let old = self.inner.verify_micros.load(Ordering::Relaxed);
        let new = if old == 0 {
            took
        } else {
            old - old / 8 + took / 8
        };
        self.inner.verify_micros.store(new, Ordering::Relaxed);
    }

    /// What an unknown username costs: as long as a real check, without its memory. The
    /// first one on a node, before any real check was timed, hashes against a dummy PHC
    /// string to measure it.
    async fn imitate_verify(&self, pw: &str) -> Result<()> {
        use std::sync::atomic::Ordering;
        const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2L8Fj4b0kvu1+M4wdWHVgwSyMN5dyK0M5c2ekJmIrM4";
        match self.inner.verify_micros.load(Ordering::Relaxed) {
            0 => {
                let pw_owned = pw.to_string();
                let started = Instant::now();
                tokio::task::spawn_blocking(move || password::verify(&pw_owned, DUMMY))
                    .await
                    .map_err(Error::internal)?;
                self.note_verify_time(started.elapsed());
            }
            micros => tokio::time::sleep(std::time::Duration::from_micros(micros)).await,
        }
        Ok(())
    }

    /// One aggregated audit record of failed logins for `username` (tenant of the
    /// account, else `_system`): `action` is `auth.login_failed` (first failure of a
    /// window) or `auth.login_throttled` (the limit was reached); `failures` counts them.
    async fn audit_login_failure(&self, username: &str, action: &str, failures: i64) -> Result<()> {
        let tenant = crate::store::login_account(&self.inner.db, username)
            .await?
            .and_then(|r| r.tenant)
            .unwrap_or_else(|| SYSTEM_TENANT.into());
        let uname: String = username.chars().take(64).collect();
        let window_secs = self.inner.cfg.throttle_window.as_secs();
        let after = serde_json::json!({"failures": failures, "window_secs": window_secs});
        let mut tx = self.inner.db.begin().await?;
        self.record(
            &mut tx,
            &AuditEntry {
                tenant: &tenant,
                actor: "anonymous",
                action,
                resource_type: "principal",
                resource_id: &uname,
                after: Some(&after),
                ..Default::default()
            },
            None,
        )
        .await?;
        tx.commit().await
    }

    /// Resolves a credential (session token, app key, or an access token of onecity's
    /// OpenID Connect provider, verified against the key store) into a principal.
    ///
    /// Errors: `invalid_credentials` (bad, expired, forged, revoked), `rate_limited`
    /// (app key over its rate, with `Retry-After`).
    pub async fn authenticate(&self, credential: &str) -> Result<Arc<Principal>> {
        if credential.starts_with("oc_") {
            return self.authenticate_key(credential).await;
        }
        if Iam::is_es256_jwt(credential) {
            return self.authenticate_access_token(credential).await;
        }
        let claims = self.inner.signer.check(credential)?;
        match claims.purpose.as_deref() {
            None => {}
            Some(crate::token::PURPOSE_MFA_ENROL) => {
                return Err(Error::new(
                    ErrorCode::MfaEnrolmentRequired,
                    "this session may only enrol a second factor (TOTP or a security key) \
                     under /api/v1/auth/me; sign in again afterwards",
                ))
            }
            Some(_) => {
                return Err(Error::new(
                    ErrorCode::InvalidCredentials,
                    "a sign-in challenge is not a session: complete it with \
                     POST /api/v1/auth/login/mfa",
                ))
            }
        }
        self.check_session(&claims).await?;
        self.principal_by_id(claims.sub).await
    }

    /// The person (staff, citizen or company account; never an app key) whose login name
    /// is `username`, with grants; `None` when there is none or it is disabled.
    pub async fn principal_by_username(&self, username: &str) -> Result<Option<Arc<Principal>>> {
        let Some(acc) =
            crate::store::identity::account_by_username(&self.inner.db, username).await?
        else {
            return Ok(None);
        };
        if acc.disabled {
            return Ok(None);
        }
        self.principal_by_id(acc.id).await.map(Some)
    }

    /// Loads a principal and its grants (cached per node for `cache_ttl`).
    pub async fn principal_by_id(&self, id: Uuid) -> Result<Arc<Principal>> {
        let ttl = self.inner.cfg.cache_ttl;
        if let Some((at, p)) = self.inner.principals.lock().expect("cache lock").get(&id) {
            if at.elapsed() < ttl {
                return Ok(p.clone());
            }
        }
        let db = &self.inner.db;
        let r = store::principal(db, id)
            .await?
            .filter(|r| !r.disabled)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidCredentials,
                    "the account no longer exists or is disabled",
                )
            })?;
        let tenant = r.tenant;
        let grants = store::grants_of(db, id)
            .await?
            .into_iter()
            .map(|g| {
                let perms = Role::parse(&g.role)
                    .map(|r| r.permissions().to_vec())
                    .unwrap_or_default();
                Grant {
                    tenant: if g.role == "platform_admin" {
                        None
                    } else {
                        tenant.clone()
                    },
                    role: g.role,
                    permissions: perms,
                    jurisdiction_id: g.jurisdiction_id,
                    path: g.path,
                    department_id: g.department_id,
                    twin_types: None,
                }
            })
            .collect::<Vec<_>>();
        let p = Arc::new(Principal {
            id,
            kind: PrincipalKind::parse(&r.kind).unwrap_or(PrincipalKind::Citizen),
            username: r.username,
            display_name: r.display_name,
            tenant,
            department_id: r.department_id,
            grants,
            rate_per_minute: None,
            assurance: r
                .assurance
                .and_then(|l| crate::assurance::AssuranceLevel::parse(&l)),
        });
        self.inner
            .principals
            .lock()
            .expect("cache lock")
            .insert(id, (Instant::now(), p.clone()));
        Ok(p)
    }

    async fn authenticate_key(&self, key: &str) -> Result<Arc<Principal>> {
        let bad = || Error::new(ErrorCode::InvalidCredentials, "the app key is not valid");
        let cached = {
            let keys = self.inner.keys.lock().expect("cache lock");
            keys.get(key)
                .filter(|(at, _)| at.elapsed() < self.inner.cfg.cache_ttl)
                .map(|(_, p)| p.clone())
        };
        let p = match cached {
            Some(p) => p,
            None => {
                let mut parts = key.splitn(3, '_');
                let (_, id, secret) = (
                    parts.next(),
                    parts.next().ok_or_else(bad)?,
                    parts.next().ok_or_else(bad)?,
                );
                let id = Uuid::try_parse(id).map_err(|_| bad())?;
                let r = store::active_api_key(&self.inner.db, id)
                    .await?
                    .ok_or_else(bad)?;
                let given = sha256_hex(secret);
                if !constant_eq(r.secret_sha256.as_bytes(), given.as_bytes()) {
                    return Err(bad());
                }
                let scopes: Vec<String> =
                    serde_json::from_str(&r.scopes).map_err(Error::internal)?;
                let p = Arc::new(Principal {
                    id,
                    kind: PrincipalKind::App,
                    username: r.name.clone(),
                    display_name: r.name.clone(),
                    tenant: r.tenant.clone(),
                    department_id: None,
                    grants: vec![Grant {
                        role: "app".into(),
                        permissions: scopes
                            .iter()
                            .filter_map(|s| Permission::from_scope(s))
                            .collect(),
                        tenant: r.tenant.clone(),
                        jurisdiction_id: r.jurisdiction_id,
                        path: r.path.clone(),
                        department_id: None,
                        twin_types: {
                            let typed: Vec<String> = scopes
                                .iter()
                                .filter_map(|s| crate::roles::twin_type_scope(s))
                                .map(|(_, t)| t.to_string())
                                .collect();
                            let untyped =
                                scopes.iter().any(|s| s == "twin:read" || s == "twin:write");
                            (!typed.is_empty() && !untyped).then_some(typed)
                        },
                    }],
                    rate_per_minute: Some(r.rate_per_minute),
                    assurance: None,
                });
                self.inner
                    .keys
                    .lock()
                    .expect("cache lock")
                    .insert(key.to_string(), (Instant::now(), p.clone()));
                p
            }
        };
        if let Some(wait) = self.take_token(p.id, p.rate_per_minute.unwrap_or(600)) {
            metrics::counter!("onecity_rate_limited_total").increment(1);
            return Err(Error::new(
                ErrorCode::RateLimited,
                "this app key is over its rate limit",
            )
            .with_retry_after(wait));
        }
        Ok(p)
    }

    /// Creates a user in `tenant` with role grants. Needs `user_write` over every granted
    /// subtree; only platform admins may grant `platform_admin`.
    pub async fn create_user(&self, p: &Principal, tenant: &str, n: &NewUser) -> Result<UserView> {
        let t = self.tenant(p, tenant).await?;
        validate::code("username", &n.username)?;
        validate::text("display_name", &n.display_name, 200)?;
        self.inner
            .cfg
            .security
            .password
            .check(&n.password, &n.username)?;
        if let Some(e) = &n.email {
            let (local, domain) = e.split_once('@').unwrap_or(("", ""));
            if e.len() > 254
                || local.is_empty()
                || !domain.contains('.')
                || e.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(Error::invalid(format!(
                    "email {:?} is not an e-mail address",
                    e.chars().take(64).collect::<String>()
                )));
            }
        }
        let kind = n.kind.clone().unwrap_or_else(|| "staff".into());
        if !matches!(kind.as_str(), "staff" | "citizen" | "company") {
            return Err(Error::invalid("kind must be staff, citizen or company"));
        }
        let root = self
            .jurisdiction_unchecked(tenant, t.root_jurisdiction_id)
            .await?;
        if !p.can_at(Permission::UserWrite, tenant, &root.path) && n.roles.is_empty() {
            return Err(Error::forbidden(
                "you may not create users at the tenant level",
            ));
        }
        let mut grants = Vec::new();
        for g in &n.roles {
            let role = Role::parse(&g.role).ok_or_else(|| {
                Error::invalid(format!(
                    "unknown role {:?}; use tenant_admin, staff or auditor",
                    g.role
                ))
            })?;
            if role == Role::PlatformAdmin {
                return Err(Error::forbidden(
                    "platform_admin cannot be granted through a tenant",
                ));
            }
            let j = self
                .jurisdiction_unchecked(tenant, g.jurisdiction_id.unwrap_or(root.id))
                .await
                .map_err(|_| {
                    Error::invalid(
                        "roles[].jurisdiction_id does not name a jurisdiction of this tenant",
                    )
                })?;
            if !p.can_at(Permission::UserWrite, tenant, &j.path) {
                return Err(Error::forbidden(format!(
                    "you may not grant roles in jurisdiction {}",
                    j.id
                )));
            }
            if let Some(d) = g.department_id {
                if !crate::store::department_in_tenant(&self.inner.db, tenant, d).await? {
                    return Err(Error::invalid(
                        "roles[].department_id does not name a department of this tenant",
                    ));
                }
            }
            grants.push((role, j.id, g.department_id));
        }
        if let Some(d) = n.department_id {
            if !crate::store::department_in_tenant(&self.inner.db, tenant, d).await? {
                return Err(Error::invalid(
                    "department_id does not name a department of this tenant",
                ));
            }
        }
        let pw = n.password.clone();
        let hash = tokio::task::spawn_blocking(move || password::hash(&pw))
            .await
            .map_err(Error::internal)??;
        let id = onecity_core::new_id();
        let now = onecity_core::time::now_micros();
        let mut tx = self.inner.db.begin().await?;
        store::insert_principal(
            &mut tx,
            &store::NewPrincipal {
                id,
                tenant,
                kind: &kind,
                username: &n.username,
                display_name: &n.display_name,
                password_hash: &hash,
                department_id: n.department_id,
                email: n.email.as_deref(),
                now,
            },
        )
        .await
        .map_err(|e| {
            if e.code == ErrorCode::Conflict {
                Error::conflict(format!("username {:?} is taken", n.username))
            } else {
                e
            }
        })?;
        for (role, j, d) in &grants {
            store::insert_grant(&mut tx, id, role.as_str(), Some(*j), *d, now).await?;
        }
        let view = UserView {
            id,
            username: n.username.clone(),
            display_name: n.display_name.clone(),
            kind: kind.clone(),
            tenant: Some(tenant.into()),
            department_id: n.department_id,
            email: n.email.clone(),
            roles: grants
                .iter()
                .map(|(r, j, d)| RoleGrantInput {
                    role: r.as_str().into(),
                    jurisdiction_id: Some(*j),
                    department_id: *d,
                })
                .collect(),
        };
        let after = serde_json::to_value(&view).map_err(Error::internal)?;
        self.record(
            &mut tx,
            &AuditEntry {
                tenant,
                actor: &p.actor(),
                action: "principal.create",
                resource_type: "principal",
                resource_id: &id.to_string(),
                after: Some(&after),
                ..Default::default()
            },
            Some(EventEnvelope::new(
                Some(tenant),
                PlatformEvent::PrincipalCreated { id, kind },
            )),
        )
        .await?;
        tx.commit().await?;
        self.inner.bus.poke();
        Ok(view)
    }

    /// Lists the users of a tenant the caller may read (those with a grant or department
    /// inside the caller's subtrees; tenant-wide readers see all).
    pub async fn list_users(
        &self,
        p: &Principal,
        tenant: &str,
        page: &PageQuery,
    ) -> Result<Page<UserView>> {
        self.tenant(p, tenant).await?;
        let limit = page.limit()?;
        let after: String = page.after()?.unwrap_or_default();
        let rows = store::users_page(&self.inner.db, tenant, &after, limit + 1).await?;
        let mut items = Vec::new();
        for r in &rows {
            let id = r.id;
            let g = store::grants_of(&self.inner.db, id).await?;
            let visible = g.iter().any(|g| {
                g.path
                    .as_deref()
                    .is_some_and(|path| p.can_at(Permission::UserRead, tenant, path))
            }) || p.subtrees(Permission::UserRead, tenant).is_none();
            if !visible {
                continue;
            }
            items.push(UserView {
                id,
                username: r.username.clone(),
                display_name: r.display_name.clone(),
                kind: r.kind.clone(),
                tenant: r.tenant.clone(),
                department_id: r.department_id,
                email: r.email.clone(),
                roles: g
                    .into_iter()
                    .map(|g| RoleGrantInput {
                        role: g.role,
                        jurisdiction_id: g.jurisdiction_id,
                        department_id: g.department_id,
                    })
                    .collect(),
            });
        }
        let last = rows
            .get(limit as usize)
            .map(|_| rows[limit as usize - 1].id.to_string());
        items.truncate(limit as usize);
        Ok(Page {
            items,
            next_cursor: last.map(|id| onecity_core::page::encode_cursor(&id)),
        })
    }

    /// Creates an app key in `tenant`. Needs `key_write` over the key's subtree; every
    /// requested scope must be one the caller holds there.
    pub async fn create_key(
        &self,
        p: &Principal,
        tenant: &str,
        n: &NewApiKey,
    ) -> Result<ApiKeyCreated> {
        let t = self.tenant(p, tenant).await?;
        validate::text("name", &n.name, 200)?;
        let rate = n.rate_per_minute.unwrap_or(600);
        if !(1..=1_000_000).contains(&rate) {
            return Err(Error::invalid(
                "rate_per_minute must be between 1 and 1000000",
            ));
        }
        let j = self
            .jurisdiction_unchecked(tenant, n.jurisdiction_id.unwrap_or(t.root_jurisdiction_id))
            .await
            .map_err(|_| {
                Error::invalid("jurisdiction_id does not name a jurisdiction of this tenant")
            })?;
        if !p.can_at(Permission::KeyWrite, tenant, &j.path) {
            return Err(Error::forbidden(
                "you may not create app keys in this jurisdiction",
            ));
        }
        for s in &n.scopes {
            let perm = Permission::from_scope(s)
                .ok_or_else(|| Error::invalid(format!("unknown scope {s:?}")))?;
            if perm == Permission::TenantWrite {
                return Err(Error::invalid("scope \"tenant:write\" acts for the whole deployment and cannot be given to a tenant's app key"));
            }
            if !p.can_at(perm, tenant, &j.path) {
                return Err(Error::forbidden(format!(
                    "you cannot grant scope {s:?} which you do not hold there"
                )));
            }
        }
        let id = onecity_core::new_id();
        let mut raw = [0u8; 24];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
        let secret = hex::encode(raw);
        let key = format!("oc_{}_{secret}", id.simple());
        let mut tx = self.inner.db.begin().await?;
        store::insert_api_key(
            &mut tx,
            &store::NewApiKeyRow {
                id,
                tenant,
                name: &n.name,
                secret_sha256: &sha256_hex(&secret),
                scopes: &serde_json::to_string(&n.scopes).map_err(Error::internal)?,
                jurisdiction_id: j.id,
                rate_per_minute: rate,
                created_by: &p.actor(),
                now: onecity_core::time::now_micros(),
            },
        )
        .await?;
        let after = serde_json::json!({"id": id, "name": n.name, "scopes": n.scopes, "jurisdiction_id": j.id, "rate_per_minute": rate});
        self.record(
            &mut tx,
            &AuditEntry {
                tenant,
                actor: &p.actor(),
                action: "api_key.create",
                resource_type: "api_key",
                resource_id: &id.to_string(),
                after: Some(&after),
                ..Default::default()
            },
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(ApiKeyCreated {
            id,
            key,
            scopes: n.scopes.clone(),
        })
    }

    /// Lists a tenant's app keys (needs `key_write` somewhere in the tenant).
    pub async fn list_keys(&self, p: &Principal, tenant: &str) -> Result<Vec<ApiKeyInfo>> {
        self.tenant(p, tenant).await?;
        let rows = store::api_keys_of(&self.inner.db, tenant).await?;
        rows.into_iter()
            .filter(|r| {
                r.path
                    .as_deref()
                    .is_some_and(|path| p.can_at(Permission::KeyWrite, tenant, path))
            })
            .map(|r| {
                Ok(ApiKeyInfo {
                    id: r.id,
                    name: r.name,
                    scopes: serde_json::from_str(&r.scopes).map_err(Error::internal)?,
                    jurisdiction_id: r.jurisdiction_id,
                    rate_per_minute: r.rate_per_minute,
                    revoked: r.revoked_at.is_some(),
                })
            })
            .collect()
    }

    /// Revokes an app key (takes effect on every node within the cache TTL).
    pub async fn revoke_key(&self, p: &Principal, tenant: &str, id: Uuid) -> Result<()> {
        let keys = self.list_keys(p, tenant).await?;
        if !keys.iter().any(|k| k.id == id) {
            return Err(Error::not_found(format!("app key {id} does not exist")));
        }
        let mut tx = self.inner.db.begin().await?;
        store::revoke_api_key(&mut tx, id, onecity_core::time::now_micros()).await?;
        self.record(
            &mut tx,
            &AuditEntry {
                tenant,
                actor: &p.actor(),
                action: "api_key.revoke",
                resource_type: "api_key",
                resource_id: &id.to_string(),
                ..Default::default()
            },
            None,
        )
        .await?;
        tx.commit().await?;
        self.invalidate_caches();
        Ok(())
    }
}

pub(crate) fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
