//! Second factors and session policy for staff (issue 13; GB/T 22239-2019 8.1.4.1
//! identification and authentication: "应采用口令、密码技术、生物技术等两种或两种以上组合的
//! 鉴别技术", and login-failure and session-timeout handling).
//!
//! - **TOTP** (RFC 6238 over HOTP, RFC 4226): HMAC-SHA-1, 6 digits, 30-second steps, one
//!   step of clock skew either way, secrets of 160 bits. Enrolment returns the secret (base32),
//!   the `otpauth://` URI and its QR code as SVG *once*; afterwards the secret is never
//!   returned. At rest it is **sealed** with XChaCha20-Poly1305 under a 256-bit key kept in
//!   `server_secrets` (`mfa_totp_seal_key`), the principal id as associated data: a dump
//!   of the `iam_totp` table alone reveals no secret. That key lives in the same database;
//!   [`seal`]/[`open`] are the one place to switch to the platform key store (master key
//!   outside the database) when it lands. The last accepted time step is kept per user and
//!   taken atomically (`UPDATE … WHERE last_step < $step`), so a code is never accepted
//!   twice, and no earlier code after a later one.
//! - **Recovery codes**: 10 single-use codes of 10 characters (50 bits) from a 32-letter
//!   alphabet, shown once, stored as SHA-256 digests of `principal id ":" code`.
//! - **WebAuthn** (W3C Level 2) through `webauthn-rs` passkeys (user verification
//!   required), when `webauthn_origin` is configured.
//! - **Required by role**: holders of a role in [`SecurityPolicy::mfa_required_roles`]
//!   cannot finish a sign-in without a second factor. Anyone who enrolled a factor gets
//!   the second step too, whether the role requires it or not. A holder of a required
//!   role with no factor gets an **enrolment-only session** ([`ENROL_TTL_SECS`], token
//!   purpose `mfa_enrol`): every API answers it 403 `mfa_enrolment_required` except the
//!   enrolment routes under `/api/v1/auth/me`; confirming a first factor with it returns a
//!   full session. (Chosen over a plain refusal so that a new administrator can enrol
//!   without another administrator's help, while holding no other right until then.)
//! - **Second-factor guesses** are limited through [`crate::limiter::Limiter`] (purpose
//!   `mfa`, per account): `throttle_max_failures` per `throttle_window`, then 429
//!   `login_throttled`.
//! - **Sessions**: every issued session is recorded (`iam_sessions`). With an idle timeout
//!   or a concurrent-session limit configured, each request's token is checked against
//!   its record (at most once per `cache_ttl` per node, which is also the precision of
//!   the idle timeout and how late a revocation is seen by other nodes); beyond the limit
//!   the oldest sessions are revoked at sign-in (401 `session_ended`).
//! - **Sign-in history**: each password or second-factor attempt on an existing account
//!   (`iam_sign_ins`, 180 days), readable by its owner.

use crate::store::mfa as store;
use crate::{Iam, Principal, SYSTEM_TENANT};
use base64::Engine;
use onecity_core::{Error, ErrorCode, Result};
use onecity_store::audit::AuditEntry;
use onecity_store::Db;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// RFC 6238 time step in seconds.
pub const TOTP_STEP_SECS: u64 = 30;
/// Digits of a TOTP code.
pub const TOTP_DIGITS: usize = 6;
/// Steps of clock skew accepted either way.
pub const TOTP_SKEW: u8 = 1;
/// Bytes of a TOTP secret (160 bits, RFC 4226 §4 R6).
pub const TOTP_SECRET_BYTES: usize = 20;
/// Recovery codes issued at once.
pub const RECOVERY_CODES: usize = 10;
/// Lifetime of a sign-in challenge (the second step), seconds.
pub const CHALLENGE_TTL_SECS: i64 = 300;
/// Lifetime of an enrolment-only session, seconds.
pub const ENROL_TTL_SECS: i64 = 900;
/// Lifetime of a WebAuthn ceremony, seconds.
pub const WEBAUTHN_TTL_SECS: i64 = 300;
/// Most sign-in records one request returns.
pub const MAX_SIGN_INS: i64 = 200;

/// Second factors, password policy and session limits (all off by default).
#[derive(Debug, Clone, Default)]
pub struct SecurityPolicy {
    /// Roles whose holders must pass a second factor to sign in, e.g.
    /// `["platform_admin", "tenant_admin"]` (default empty).
    pub mfa_required_roles: Vec<String>,
    /// The password policy (default: 10 to 256 characters, not the username).
    pub password: crate::password::PasswordPolicy,
    /// A session unused this long ends (401 `session_ended`); zero = no idle timeout
    /// (default). Precision: the principal cache period (`cache_ttl`).
    pub session_idle_timeout: Duration,
    /// Most live sessions per user; signing in beyond it revokes the oldest. 0 = no limit
    /// (default).
    pub max_sessions_per_user: u32,
    /// Origin of the web pages for WebAuthn, e.g. `https://city.example.org`; its host is
    /// the relying-party id. `None` (default): WebAuthn is off (404 on its routes).
    pub webauthn_origin: Option<String>,
    /// Issuer shown in authenticator apps (default `onecity` when empty).
    pub totp_issuer: String,
}

impl SecurityPolicy {
    /// Whether sessions are checked against their records on each request.
    pub fn checks_sessions(&self) -> bool {
        !self.session_idle_timeout.is_zero() || self.max_sessions_per_user > 0
    }
}

/// The sealing key of TOTP secrets (created on first use).
pub(crate) async fn seal_key(db: &Db) -> Result<[u8; 32]> {
    let k = onecity_store::secrets::get_or_create(db, "mfa_totp_seal_key").await?;
    k.try_into()
        .map_err(|_| Error::internal("mfa_totp_seal_key is not 32 bytes"))
}

/// The relying party for `policy.webauthn_origin`, if set. Errors: `invalid_input` for an
/// origin that is not a URL with a host.
pub(crate) fn relying_party(policy: &SecurityPolicy) -> Result<Option<webauthn_rs::Webauthn>> {
    let Some(origin) = policy.webauthn_origin.as_deref().filter(|o| !o.is_empty()) else {
        return Ok(None);
    };
    let url = webauthn_rs::prelude::Url::parse(origin)
        .map_err(|e| Error::invalid(format!("webauthn_origin {origin:?}: {e}")))?;
    let host = url
        .host_str()
        .ok_or_else(|| Error::invalid(format!("webauthn_origin {origin:?} has no host")))?
        .to_string();
    let rp = webauthn_rs::WebauthnBuilder::new(&host, &url)
        .and_then(|b| b.rp_name("onecity").build())
        .map_err(|e| Error::invalid(format!("webauthn_origin {origin:?}: {e}")))?;
    Ok(Some(rp))
}

/// Seals a TOTP secret for `owner`: `v1:` + base64(24-byte nonce ‖ ciphertext+tag).
pub(crate) fn seal(key: &[u8; 32], owner: Uuid, secret: &[u8]) -> Result<String> {
    use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
    let cipher = chacha20poly1305::XChaCha20Poly1305::new(key.into());
    let nonce = chacha20poly1305::XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ct = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: secret,
                aad: owner.as_bytes(),
            },
        )
        .map_err(|_| Error::internal("sealing a TOTP secret failed"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    Ok(format!(
        "v1:{}",
        base64::engine::general_purpose::STANDARD.encode(out)
    ))
}

/// Opens a sealed TOTP secret of `owner`. Errors: `internal` when it was not sealed with
/// this key for this owner.
pub(crate) fn open(key: &[u8; 32], owner: Uuid, sealed: &str) -> Result<Vec<u8>> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let bad = || Error::internal("a sealed TOTP secret does not open");
    let raw = sealed
        .strip_prefix("v1:")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .filter(|r| r.len() > 24)
        .ok_or_else(bad)?;
    let cipher = chacha20poly1305::XChaCha20Poly1305::new(key.into());
    cipher
        .decrypt(
            chacha20poly1305::XNonce::from_slice(&raw[..24]),
            Payload {
                msg: &raw[24..],
                aad: owner.as_bytes(),
            },
        )
        .map_err(|_| bad())
}

fn totp(secret: Vec<u8>, account: &str, issuer: &str) -> Result<totp_rs::TOTP> {
    totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        TOTP_DIGITS,
        TOTP_SKEW,
        TOTP_STEP_SECS,
        secret,
        Some(issuer.replace(':', " ")),
        account.replace(':', " "),
    )
    .map_err(|e| Error::internal(format!("TOTP parameters: {e}")))
}

/// The RFC 6238 code of a base32 secret at `unix_secs` (for clients and tests).
/// `None` for a secret that is not base32 or shorter than 128 bits.
pub fn code_at(secret_base32: &str, unix_secs: u64) -> Option<String> {
    let bytes = totp_rs::Secret::Encoded(secret_base32.to_string())
        .to_bytes()
        .ok()?;
    Some(totp(bytes, "x", "x").ok()?.generate(unix_secs))
}

/// The time step a code matches at `unix_secs` (within [`TOTP_SKEW`] steps), if any.
fn matching_step(t: &totp_rs::TOTP, code: &str, unix_secs: u64) -> Option<i64> {
    let code = code.trim();
    if code.len() != TOTP_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = unix_secs / TOTP_STEP_SECS;
    let mut found = None;
    for step in now.saturating_sub(TOTP_SKEW as u64)..=now + TOTP_SKEW as u64 {
        let expect = t.generate(step * TOTP_STEP_SECS);
        let same = expect
            .bytes()
            .zip(code.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if same {
            found = Some(step as i64);
        }
    }
    found
}

fn unix_now() -> u64 {
    (onecity_core::time::now_micros() / 1_000_000).max(0) as u64
}

/// The digest a recovery code is stored as.
fn recovery_digest(owner: Uuid, code: &str) -> String {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex::encode(Sha256::digest(format!("{owner}:{norm}").as_bytes()))
}

/// Ten new recovery codes, `xxxxx-xxxxx`.
fn new_recovery_codes() -> Vec<String> {
    use rand::Rng;
    const ALPHA: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut r = rand::rngs::OsRng;
    (0..RECOVERY_CODES)
        .map(|_| {
            let s: String = (0..10)
                .map(|_| ALPHA[r.gen_range(0..ALPHA.len())] as char)
                .collect();
            format!("{}-{}", &s[..5], &s[5..])
        })
        .collect()
}

/// What a sign-in with a right password leads to.
#[derive(Debug, Clone)]
pub enum LoginOutcome {
    /// A full session.
    Session {
        /// Session token.
        token: String,
        /// Expiry, seconds since the epoch.
        expires_at: i64,
    },
    /// A second factor is needed: send `challenge` with one to `POST /api/v1/auth/login/mfa`.
    MfaRequired {
        /// The challenge token (not a session), valid [`CHALLENGE_TTL_SECS`], usable for
        /// one successful second step.
        challenge: String,
        /// Expiry, seconds since the epoch.
        expires_at: i64,
        /// Factors the account has: `totp`, `recovery_code`, `webauthn`.
        methods: Vec<&'static str>,
    },
    /// The account's role requires a second factor and it has none: an enrolment-only
    /// session.
    EnrolmentRequired {
        /// The enrolment-only session token, valid [`ENROL_TTL_SECS`].
        token: String,
        /// Expiry, seconds since the epoch.
        expires_at: i64,
    },
}

/// Second factors of an account as its owner sees them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MfaStatus {
    /// A confirmed TOTP enrolment exists.
    pub totp: bool,
    /// A TOTP enrolment was started and awaits its first code.
    pub totp_pending: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: i64,
    /// Registered security keys.
    pub webauthn: Vec<WebauthnKey>,
    /// Whether WebAuthn is configured on this server.
    pub webauthn_available: bool,
    /// Whether one of the account's roles requires a second factor.
    pub required: bool,
    /// Whether the caller holds an enrolment-only session.
    pub restricted: bool,
}

/// A registered security key.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebauthnKey {
    /// Id (for removal).
    pub id: Uuid,
    /// Name given at registration.
    pub name: String,
    /// Registered at, RFC 3339.
    pub created_at: String,
    /// Last used to sign in, RFC 3339.
    pub last_used_at: Option<String>,
}

/// A started TOTP enrolment: shown once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TotpEnrolment {
    /// The secret, base32 (RFC 4648), for manual entry.
    pub secret: String,
    /// `otpauth://totp/…` URI (Key Uri Format) for authenticator apps.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
}

/// A confirmed first factor (or new recovery codes).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FactorConfirmed {
    /// New recovery codes, shown once (empty when earlier ones are still unused).
    pub recovery_codes: Vec<String>,
    /// A full session, when the caller held an enrolment-only one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Its expiry, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// One sign-in attempt.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SignIn {
    /// When, RFC 3339.
    pub at: String,
    /// Client address, when known.
    pub address: Option<String>,
    /// `password`, `password+totp`, `password+recovery_code`, `password+webauthn`,
    /// `enrolment+totp`, `enrolment+webauthn`.
    pub method: String,
    /// Whether it succeeded.
    pub success: bool,
}

/// A second factor given at sign-in.
#[derive(Debug, Clone)]
pub enum SecondFactor {
    /// A TOTP code or a recovery code.
    Code(String),
    /// A WebAuthn assertion (`PublicKeyCredential` JSON).
    Webauthn(serde_json::Value),
}

fn mfa_failed(msg: &str) -> Error {
    Error::new(ErrorCode::MfaFailed, msg)
}

impl Iam {
    fn policy(&self) -> &SecurityPolicy {
        &self.inner.cfg.security
    }

    /// Signs in with a username and password: a session, or the next step (see
    /// [`LoginOutcome`]). Errors: those of the password check (`invalid_credentials`,
    /// `login_throttled`, `login_busy`) and 403 `password_expired` when the password is
    /// older than `password.max_age_days`.
    pub async fn login(
        &self,
        username: &str,
        pw: &str,
        addr: Option<IpAddr>,
    ) -> Result<LoginOutcome> {
        let account = self.check_password(username, pw, addr).await?;
        let id = account.id;
        self.refuse_expired_password(id).await?;
        let p = self.principal_by_id(id).await?;
        let methods = self.methods_of(id).await?;
        if !methods.is_empty() {
            let (challenge, claims) = self.inner.signer.issue_for(
                id,
                CHALLENGE_TTL_SECS,
                Some(crate::token::PURPOSE_MFA_CHALLENGE),
            )?;
            self.audit_self(&p, "auth.mfa_challenge", None).await?;
            return Ok(LoginOutcome::MfaRequired {
                challenge,
                expires_at: claims.exp,
                methods,
            });
        }
        if self.mfa_required(&p) {
            let (token, claims) = self.inner.signer.issue_for(
                id,
                ENROL_TTL_SECS,
                Some(crate::token::PURPOSE_MFA_ENROL),
            )?;
            self.audit_self(&p, "auth.mfa_enrolment_session", None)
                .await?;
            return Ok(LoginOutcome::EnrolmentRequired {
                token,
                expires_at: claims.exp,
            });
        }
        let (token, expires_at) = self.open_session(&p, addr, "password").await?;
        Ok(LoginOutcome::Session { token, expires_at })
    }

    /// Completes a sign-in with the challenge from [`Iam::login`] and a second factor;
    /// returns a session `(token, expires_at)`.
    ///
    /// Errors: 401 `mfa_failed` (challenge expired or forged, code wrong or already used,
    /// assertion not valid), 429 `login_throttled` after too many wrong factors.
    pub async fn login_mfa(
        &self,
        challenge: &str,
        factor: SecondFactor,
        addr: Option<IpAddr>,
    ) -> Result<(String, i64)> {
        let claims = self.challenge_claims(challenge)?;
        let jti = claims.jti.to_string();
        let db = &self.inner.db;
        if store::pending_exists(db, &jti, "challenge_used").await? {
            return Err(mfa_failed(
                "this sign-in challenge was used already; sign in again",
            ));
        }
        let p = self.principal_by_id(claims.sub).await?;
        let method = match factor {
            SecondFactor::Code(code) => self.verify_code(&p, &code, addr).await?,
            SecondFactor::Webauthn(cred) => {
                self.verify_assertion(&p, &jti, cred, addr).await?;
                "webauthn"
            }
        };
        let now = onecity_core::time::now_micros();
        store::put_pending(
            db,
            &jti,
            p.id,
            "challenge_used",
            "",
            now,
            claims.exp.saturating_mul(1_000_000) + 60_000_000,
        )
        .await
        .map_err(|e| {
            if e.code == ErrorCode::Conflict {
                mfa_failed("this sign-in challenge was used already; sign in again")
            } else {
                e
            }
        })?;
        self.open_session(&p, addr, &format!("password+{method}"))
            .await
    }

    fn challenge_claims(&self, challenge: &str) -> Result<crate::token::Claims> {
        let claims = self.inner.signer.check(challenge).map_err(|_| {
            mfa_failed("the sign-in challenge is not valid or has expired; sign in again")
        })?;
        if claims.purpose.as_deref() != Some(crate::token::PURPOSE_MFA_CHALLENGE) {
            return Err(mfa_failed("the sign-in challenge is not a challenge token"));
        }
        Ok(claims)
    }

    /// Whether one of `p`'s roles requires a second factor.
    pub fn mfa_required(&self, p: &Principal) -> bool {
        let roles = &self.policy().mfa_required_roles;
        p.grants.iter().any(|g| roles.iter().any(|r| r == &g.role))
    }

    /// The factors an account can sign in with.
    async fn methods_of(&self, id: Uuid) -> Result<Vec<&'static str>> {
        let db = &self.inner.db;
        let mut m = Vec::new();
        if store::totp(db, id)
            .await?
            .is_some_and(|t| t.confirmed_at.is_some())
        {
            m.push("totp");
        }
        if self.inner.webauthn.is_some() && !store::webauthn_credentials(db, id).await?.is_empty() {
            m.push("webauthn");
        }
        if !m.is_empty() && store::recovery_codes_left(db, id).await? > 0 {
            m.push("recovery_code");
        }
        Ok(m)
    }

    /// Reserves one second-factor attempt for `id` (429 over the limit).
    async fn mfa_attempt(&self, id: Uuid) -> Result<()> {
        use crate::limiter::{Decision, Limit, Subject};
        let cfg = &self.inner.cfg;
        let key = id.to_string();
        let limit = Limit {
            max: cfg.throttle_max_failures,
            window: cfg.throttle_window,
        };
        if let Decision::Refused {
            retry_after_secs, ..
        } = self
            .inner
            .limiter
            .hit("mfa", Subject::Account(&key), limit)
            .await?
        {
            return Err(Error::new(
                ErrorCode::LoginThrottled,
                "too many wrong second-factor codes for this account; try again later",
            )
            .with_retry_after(retry_after_secs));
        }
        Ok(())
    }

    async fn mfa_success(&self, id: Uuid) -> Result<()> {
        let key = id.to_string();
        self.inner
            .limiter
            .reset("mfa", crate::limiter::Subject::Account(&key))
            .await
    }

    async fn mfa_failure(&self, p: &Principal, addr: Option<IpAddr>, method: &str) -> Result<()> {
        self.note_sign_in(p.id, addr, method, false).await?;
        self.audit_self(
            p,
            "auth.mfa_failed",
            Some(&serde_json::json!({"method": method})),
        )
        .await
    }

    /// Checks a TOTP code (a later step than the last accepted one) or, failing that, a
    /// recovery code (used up); returns which. Rate-limited.
    async fn verify_code(
        &self,
        p: &Principal,
        code: &str,
        addr: Option<IpAddr>,
    ) -> Result<&'static str> {
        self.mfa_attempt(p.id).await?;
        let code = code.trim();
        if code.len() > 64 {
            self.mfa_failure(p, addr, "password+code").await?;
            return Err(mfa_failed("the code is wrong or already used"));
        }
        let db = &self.inner.db;
        if let Some(t) = store::totp(db, p.id)
            .await?
            .filter(|t| t.confirmed_at.is_some())
        {
            let secret = open(&self.inner.mfa_key, p.id, &t.secret_sealed)?;
            let gen = totp(secret, &p.username, self.totp_issuer())?;
            if let Some(step) = matching_step(&gen, code, unix_now()) {
                if store::take_totp_step(db, p.id, step).await? == 1 {
                    self.mfa_success(p.id).await?;
                    return Ok("totp");
                }
                self.mfa_failure(p, addr, "password+totp").await?;
                return Err(mfa_failed(
                    "this code was already used; wait for the next one (每个动态口令只能使用一次)",
                ));
            }
        }
        let digest = recovery_digest(p.id, code);
        let mut tx = db.begin().await?;
        if store::use_recovery_code(&mut tx, p.id, &digest, onecity_core::time::now_micros())
            .await?
            == 1
        {
            self.audit_self_in(&mut tx, p, "mfa.recovery_code_used", None)
                .await?;
            tx.commit().await?;
            self.mfa_success(p.id).await?;
            return Ok("recovery_code");
        }
        drop(tx);
        self.mfa_failure(p, addr, "password+code").await?;
        Err(mfa_failed("the code is wrong or already used"))
    }

    fn totp_issuer(&self) -> &str {
        let i = self.policy().totp_issuer.as_str();
        if i.is_empty() {
            "onecity"
        } else {
            i
        }
    }

    /// Audits an action of `p` on its own account.
    async fn audit_self(
        &self,
        p: &Principal,
        action: &str,
        after: Option<&serde_json::Value>,
    ) -> Result<()> {
        let mut tx = self.inner.db.begin().await?;
        self.audit_self_in(&mut tx, p, action, after).await?;
        tx.commit().await
    }

    async fn audit_self_in(
        &self,
        tx: &mut onecity_store::Tx,
        p: &Principal,
        action: &str,
        after: Option<&serde_json::Value>,
    ) -> Result<()> {
        self.record(
            tx,
            &AuditEntry {
                tenant: p.tenant.as_deref().unwrap_or(SYSTEM_TENANT),
                actor: &p.actor(),
                action,
                resource_type: "principal",
                resource_id: &p.id.to_string(),
                after,
                ..Default::default()
            },
            None,
        )
        .await
    }

    /// Records one sign-in attempt of an existing account.
    pub(crate) async fn note_sign_in(
        &self,
        id: Uuid,
        addr: Option<IpAddr>,
        method: &str,
        success: bool,
    ) -> Result<()> {
        store::insert_sign_in(
            &self.inner.db,
            &store::NewSignIn {
                principal: id,
                at: onecity_core::time::now_micros(),
                address: addr.map(|a| a.to_string()),
                method,
                success,
            },
        )
        .await
    }

    /// Issues a full session `(token, expires_at)` for `p` signed in by `method` (e.g.
    /// `password+totp`): records it (`iam_sessions`), its sign-in and the `auth.login`
    /// audit record in one transaction, and revokes the oldest sessions beyond
    /// `max_sessions_per_user`. Every sign-in path issues sessions through here, so that
    /// session limits and the sign-in history see them.
    pub async fn open_session(
        &self,
        p: &Principal,
        addr: Option<IpAddr>,
        method: &str,
    ) -> Result<(String, i64)> {
        let mut tx = self.inner.db.begin().await?;
        let out = self.open_session_in(&mut tx, p, addr, method).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// [`Iam::open_session`] inside the caller's transaction (the session is valid once
    /// `tx` commits). Uses only `p`'s id, kind and tenant, so a caller may pass a
    /// principal it created in the same transaction.
    pub(crate) async fn open_session_in(
        &self,
        tx: &mut onecity_store::Tx,
        p: &Principal,
        addr: Option<IpAddr>,
        method: &str,
    ) -> Result<(String, i64)> {
        let ttl = self.inner.cfg.token_ttl_secs;
        let (token, claims) = self.inner.signer.issue_for(p.id, ttl, None)?;
        let now = onecity_core::time::now_micros();
        store::insert_session(
            &mut *tx,
            &store::NewSession {
                id: claims.jti,
                principal: p.id,
                method,
                address: addr.map(|a| a.to_string()),
                now,
                expires_at: claims.exp.saturating_mul(1_000_000),
            },
        )
        .await?;
        store::insert_sign_in(
            &mut *tx,
            &store::NewSignIn {
                principal: p.id,
                at: now,
                address: addr.map(|a| a.to_string()),
                method,
                success: true,
            },
        )
        .await?;
        self.audit_self_in(
            &mut *tx,
            p,
            "auth.login",
            Some(&serde_json::json!({"method": method})),
        )
        .await?;
        let max = self.policy().max_sessions_per_user as usize;
        let mut revoked = 0;
        if max > 0 {
            let live = store::live_sessions(&mut *tx, p.id, now).await?;
            for s in live.iter().skip(max) {
                revoked += store::revoke_session(&mut *tx, s.id, now).await?;
                self.inner
                    .sessions
                    .lock()
                    .expect("cache lock")
                    .remove(&s.id);
            }
            if revoked > 0 {
                self.audit_self_in(
                    &mut *tx,
                    p,
                    "auth.sessions_revoked",
                    Some(&serde_json::json!({"revoked": revoked, "max_sessions_per_user": max})),
                )
                .await?;
            }
        }
        Ok((token, claims.exp))
    }

    /// Checks a session token's record when the session policy is on (idle timeout or
    /// concurrent-session limit); at most once per `cache_ttl` per session and node.
    pub(crate) async fn check_session(&self, claims: &crate::token::Claims) -> Result<()> {
        let policy = self.policy();
        if !policy.checks_sessions() {
            return Ok(());
        }
        let ttl = self.inner.cfg.cache_ttl;
        if let Some(at) = self
            .inner
            .sessions
            .lock()
            .expect("cache lock")
            .get(&claims.jti)
        {
            if at.elapsed() < ttl {
                return Ok(());
            }
        }
        let ended = |why: &str| {
            Error::new(
                ErrorCode::SessionEnded,
                format!("the session {why}; sign in again"),
            )
        };
        let db = &self.inner.db;
        let Some(s) = store::session(db, claims.jti).await? else {
            return Err(ended("is not known (issued before session limits were on)"));
        };
        if s.revoked_at.is_some() {
            return Err(ended("was ended because too many sessions were opened"));
        }
        let now = onecity_core::time::now_micros();
        let idle = i64::try_from(policy.session_idle_timeout.as_micros()).unwrap_or(i64::MAX);
        if !policy.session_idle_timeout.is_zero() && now - s.last_seen_at > idle {
            return Err(ended("was idle for too long"));
        }
        store::touch_session(db, claims.jti, now).await?;
        let mut cache = self.inner.sessions.lock().expect("cache lock");
        if cache.len() > 100_000 {
            cache.retain(|_, at| at.elapsed() < ttl);
        }
        cache.insert(claims.jti, Instant::now());
        Ok(())
    }

    async fn refuse_expired_password(&self, id: Uuid) -> Result<()> {
        let days = self.policy().password.max_age_days;
        if days == 0 {
            return Ok(());
        }
        let Some(f) = store::password_facts(&self.inner.db, id).await? else {
            return Ok(());
        };
        let since = f.password_changed_at.unwrap_or(f.created_at);
        let age = onecity_core::time::now_micros() - since;
        if age > i64::from(days) * 86_400 * 1_000_000 {
            return Err(Error::new(
                ErrorCode::PasswordExpired,
                format!(
                    "the password is older than {days} days; change it with POST /api/v1/auth/password \
                     (密码已过期，请修改密码)"
                ),
            ));
        }
        Ok(())
    }

    /// Changes a password given the current one (works for an expired password too).
    ///
    /// The password check is the sign-in's (throttled alike); the new password must meet
    /// the policy and differ from the current one and the last `password.history`.
    /// Errors: `invalid_credentials`, `login_throttled`, `login_busy`, 422
    /// `password_policy`.
    pub async fn change_password(
        &self,
        username: &str,
        current: &str,
        new: &str,
        addr: Option<IpAddr>,
    ) -> Result<()> {
        let policy = self.policy().password.clone();
        policy.check(new, username)?;
        let account = self.check_password(username, current, addr).await?;
        let id = account.id;
        let db = &self.inner.db;
        let mut previous = store::password_history(db, id, i64::from(policy.history)).await?;
        if let Some(h) = account.password_hash.clone() {
            previous.insert(0, h);
        }
        let new_owned = new.to_string();
        let reused = tokio::task::spawn_blocking(move || {
            previous
                .iter()
                .any(|h| crate::password::verify(&new_owned, h))
        })
        .await
        .map_err(Error::internal)?;
        if reused {
            return Err(Error::new(
                ErrorCode::PasswordPolicy,
                format!(
                    "the new password must differ from the current one and the last {} \
                     (新密码不得与最近使用过的密码相同)",
                    policy.history
                ),
            ));
        }
        let new_owned = new.to_string();
        let hash = tokio::task::spawn_blocking(move || crate::password::hash(&new_owned))
            .await
            .map_err(Error::internal)??;
        let p = self.principal_by_id(id).await?;
        let now = onecity_core::time::now_micros();
        let mut tx = db.begin().await?;
        if let Some(old) = &account.password_hash {
            if policy.history > 0 {
                store::push_password_history(&mut tx, id, old, now).await?;
            }
        }
        store::set_password(&mut tx, id, &hash, now).await?;
        self.audit_self_in(&mut tx, &p, "auth.password_change", None)
            .await?;
        tx.commit().await
    }

    /// The second-factor status of `p`'s account.
    pub async fn mfa_status(&self, p: &Principal, restricted: bool) -> Result<MfaStatus> {
        let db = &self.inner.db;
        let t = store::totp(db, p.id).await?;
        let keys = store::webauthn_credentials(db, p.id).await?;
        Ok(MfaStatus {
            totp: t.as_ref().is_some_and(|t| t.confirmed_at.is_some()),
            totp_pending: t.as_ref().is_some_and(|t| t.confirmed_at.is_none()),
            recovery_codes_left: store::recovery_codes_left(db, p.id).await?,
            webauthn: keys
                .iter()
                .map(|k| WebauthnKey {
                    id: k.id,
                    name: k.name.clone(),
                    created_at: onecity_core::time::rfc3339(k.created_at),
                    last_used_at: k.last_used_at.map(onecity_core::time::rfc3339),
                })
                .collect(),
            webauthn_available: self.inner.webauthn.is_some(),
            required: self.mfa_required(p),
            restricted,
        })
    }

    /// Starts (or restarts) a TOTP enrolment. Errors: 409 `conflict` when TOTP is already
    /// enabled (disable it first).
    pub async fn totp_enrol(&self, p: &Principal) -> Result<TotpEnrolment> {
        let db = &self.inner.db;
        if store::totp(db, p.id)
            .await?
            .is_some_and(|t| t.confirmed_at.is_some())
        {
            return Err(Error::conflict(
                "TOTP is already enabled for this account; disable it first",
            ));
        }
        let mut secret = vec![0u8; TOTP_SECRET_BYTES];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
        let sealed = seal(&self.inner.mfa_key, p.id, &secret)?;
        let gen = totp(secret, &p.username, self.totp_issuer())?;
        let uri = gen.get_url();
        let qr = qrcode::QrCode::new(uri.as_bytes())
            .map_err(|e| Error::internal(format!("QR code: {e}")))?
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .build();
        let mut tx = db.begin().await?;
        store::put_totp(&mut tx, p.id, &sealed, onecity_core::time::now_micros()).await?;
        self.audit_self_in(&mut tx, p, "mfa.totp_enrol", None)
            .await?;
        tx.commit().await?;
        Ok(TotpEnrolment {
            secret: gen.get_secret_base32(),
            otpauth_uri: uri,
            qr_svg: qr,
        })
    }

    /// Confirms a started TOTP enrolment with its first code. When the account had no
    /// unused recovery codes, ten are made and returned (once); an enrolment-only caller
    /// gets a full session. Errors: 404 `not_found` with no enrolment started, 401
    /// `mfa_failed` for a wrong code, 429 `login_throttled`.
    pub async fn totp_confirm(
        &self,
        p: &Principal,
        code: &str,
        restricted: bool,
        addr: Option<IpAddr>,
    ) -> Result<FactorConfirmed> {
        let db = &self.inner.db;
        let t = store::totp(db, p.id)
            .await?
            .filter(|t| t.confirmed_at.is_none())
            .ok_or_else(|| Error::not_found("no TOTP enrolment is waiting for confirmation"))?;
        self.mfa_attempt(p.id).await?;
        let secret = open(&self.inner.mfa_key, p.id, &t.secret_sealed)?;
        let gen = totp(secret, &p.username, self.totp_issuer())?;
        let Some(step) = matching_step(&gen, code, unix_now()) else {
            self.audit_self(
                p,
                "auth.mfa_failed",
                Some(&serde_json::json!({"method": "totp_confirm"})),
            )
            .await?;
            return Err(mfa_failed(
                "the code is wrong; check the device's clock and try the current code",
            ));
        };
        self.mfa_success(p.id).await?;
        let mut tx = db.begin().await?;
        if store::confirm_totp(&mut tx, p.id, step, onecity_core::time::now_micros()).await? != 1 {
            return Err(Error::conflict(
                "the enrolment was confirmed or replaced meanwhile",
            ));
        }
        self.audit_self_in(&mut tx, p, "mfa.totp_confirm", None)
            .await?;
        let codes = self.codes_if_none(&mut tx, p).await?;
        tx.commit().await?;
        self.first_factor_done(p, codes, restricted, addr, "enrolment+totp")
            .await
    }

    async fn codes_if_none(
        &self,
        tx: &mut onecity_store::Tx,
        p: &Principal,
    ) -> Result<Vec<String>> {
        if store::recovery_codes_left(&mut *tx, p.id).await? > 0 {
            return Ok(Vec::new());
        }
        self.replace_codes(tx, p).await
    }

    async fn replace_codes(
        &self,
        tx: &mut onecity_store::Tx,
        p: &Principal,
    ) -> Result<Vec<String>> {
        let codes = new_recovery_codes();
        let digests: Vec<String> = codes.iter().map(|c| recovery_digest(p.id, c)).collect();
        store::replace_recovery_codes(&mut *tx, p.id, &digests, onecity_core::time::now_micros())
            .await?;
        self.audit_self_in(
            tx,
            p,
            "mfa.recovery_codes_issue",
            Some(&serde_json::json!({"count": codes.len()})),
        )
        .await?;
        Ok(codes)
    }

    async fn first_factor_done(
        &self,
        p: &Principal,
        recovery_codes: Vec<String>,
        restricted: bool,
        addr: Option<IpAddr>,
        method: &str,
    ) -> Result<FactorConfirmed> {
        let (token, expires_at) = if restricted {
            let (t, e) = self.open_session(p, addr, method).await?;
            (Some(t), Some(onecity_core::time::rfc3339(e * 1_000_000)))
        } else {
            (None, None)
        };
        Ok(FactorConfirmed {
            recovery_codes,
            token,
            expires_at,
        })
    }

    /// Issues ten new recovery codes (the old ones stop working). Errors: 409 `conflict`
    /// when the account has no second factor.
    pub async fn regenerate_recovery_codes(&self, p: &Principal) -> Result<Vec<String>> {
        let methods = self.methods_of(p.id).await?;
        if !methods.iter().any(|m| *m == "totp" || *m == "webauthn") {
            return Err(Error::conflict(
                "recovery codes back up a second factor; enrol TOTP or a security key first",
            ));
        }
        let mut tx = self.inner.db.begin().await?;
        let codes = self.replace_codes(&mut tx, p).await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Disables TOTP after checking a current TOTP code or a recovery code. When no other
    /// factor remains, the recovery codes go too. Errors: 404 `not_found` without TOTP,
    /// 401 `mfa_failed`, 429 `login_throttled`.
    pub async fn totp_disable(
        &self,
        p: &Principal,
        code: &str,
        addr: Option<IpAddr>,
    ) -> Result<()> {
        let db = &self.inner.db;
        if store::totp(db, p.id).await?.is_none() {
            return Err(Error::not_found("TOTP is not enabled for this account"));
        }
        let pending = store::totp(db, p.id)
            .await?
            .is_some_and(|t| t.confirmed_at.is_none());
        if !pending {
            self.verify_code(p, code, addr).await?;
        }
        let keys = store::webauthn_credentials(db, p.id).await?;
        let mut tx = db.begin().await?;
        store::delete_totp(&mut tx, p.id).await?;
        if keys.is_empty() || self.inner.webauthn.is_none() {
            store::delete_recovery_codes(&mut tx, p.id).await?;
        }
        self.audit_self_in(&mut tx, p, "mfa.totp_disable", None)
            .await?;
        tx.commit().await
    }

    /// The latest sign-in attempts of `p`'s account, newest first (`limit` 1..=200,
    /// default 50).
    pub async fn sign_ins(&self, p: &Principal, limit: Option<u32>) -> Result<Vec<SignIn>> {
        let limit = i64::from(limit.unwrap_or(50));
        if !(1..=MAX_SIGN_INS).contains(&limit) {
            return Err(Error::new(
                ErrorCode::InvalidQuery,
                format!("limit must be between 1 and {MAX_SIGN_INS}"),
            ));
        }
        Ok(store::sign_ins(&self.inner.db, p.id, limit)
            .await?
            .into_iter()
            .map(|r| SignIn {
                at: onecity_core::time::rfc3339(r.at),
                address: r.address,
                method: r.method,
                success: r.success,
            })
            .collect())
    }

    /// Resolves a credential that may be an enrolment-only session: `(principal,
    /// restricted)`. App keys are refused (second factors are for people).
    pub async fn authenticate_for_enrolment(
        &self,
        credential: &str,
    ) -> Result<(Arc<Principal>, bool)> {
        if credential.starts_with("oc_") {
            return Err(Error::forbidden("app keys have no second factors"));
        }
        let claims = self.inner.signer.check(credential)?;
        match claims.purpose.as_deref() {
            None => Ok((self.authenticate(credential).await?, false)),
            Some(crate::token::PURPOSE_MFA_ENROL) => Ok((self.principal_by_id(claims.sub).await?, true)),
            Some(_) => Err(Error::new(
                ErrorCode::InvalidCredentials,
                "a sign-in challenge is not a session: complete it with POST /api/v1/auth/login/mfa",
            )),
        }
    }

    fn rp(&self) -> Result<&webauthn_rs::Webauthn> {
        self.inner.webauthn.as_ref().ok_or_else(|| {
            Error::not_found("WebAuthn is not configured on this server (set webauthn_origin)")
        })
    }

    fn passkeys(rows: &[store::WebauthnRow]) -> Result<Vec<(Uuid, webauthn_rs::prelude::Passkey)>> {
        rows.iter()
            .map(|r| {
                serde_json::from_str(&r.passkey)
                    .map(|k| (r.id, k))
                    .map_err(Error::internal)
            })
            .collect()
    }

    /// Starts registering a security key: `(ceremony id, PublicKeyCredentialCreationOptions
    /// JSON for navigator.credentials.create)`. Errors: 404 when WebAuthn is off.
    pub async fn webauthn_register_start(
        &self,
        p: &Principal,
    ) -> Result<(String, serde_json::Value)> {
        let rp = self.rp()?;
        let db = &self.inner.db;
        let existing = Self::passkeys(&store::webauthn_credentials(db, p.id).await?)?;
        let exclude = existing.iter().map(|(_, k)| k.cred_id().clone()).collect();
        let (options, state) = rp
            .start_passkey_registration(p.id, &p.username, &p.display_name, Some(exclude))
            .map_err(|e| Error::invalid(format!("WebAuthn registration: {e}")))?;
        let ceremony = onecity_core::new_id().to_string();
        let now = onecity_core::time::now_micros();
        store::put_pending(
            db,
            &ceremony,
            p.id,
            "register",
            &serde_json::to_string(&state).map_err(Error::internal)?,
            now,
            now + WEBAUTHN_TTL_SECS * 1_000_000,
        )
        .await?;
        Ok((
            ceremony,
            serde_json::to_value(options).map_err(Error::internal)?,
        ))
    }

    /// Finishes registering a security key with the browser's answer. Returns recovery
    /// codes when the account had none, and a full session for an enrolment-only caller.
    /// Errors: 404 (WebAuthn off, ceremony unknown or expired), 422 `invalid_input` (name,
    /// or an answer that does not verify), 409 `conflict` (the key is registered already).
    pub async fn webauthn_register_finish(
        &self,
        p: &Principal,
        ceremony: &str,
        name: &str,
        credential: serde_json::Value,
        restricted: bool,
        addr: Option<IpAddr>,
    ) -> Result<(Uuid, FactorConfirmed)> {
        let rp = self.rp()?;
        onecity_core::validate::text("name", name, 100)?;
        let db = &self.inner.db;
        let now = onecity_core::time::now_micros();
        let state = store::take_pending(db, ceremony, p.id, "register", now)
            .await?
            .ok_or_else(|| {
                Error::not_found("the registration has expired or was finished; start again")
            })?;
        let state: webauthn_rs::prelude::PasskeyRegistration =
            serde_json::from_str(&state).map_err(Error::internal)?;
        let reg: webauthn_rs::prelude::RegisterPublicKeyCredential =
            serde_json::from_value(credential).map_err(|e| {
                Error::invalid(format!("credential is not a PublicKeyCredential: {e}"))
            })?;
        let key = rp.finish_passkey_registration(&reg, &state).map_err(|e| {
            Error::invalid(format!("the security key's answer does not verify: {e}"))
        })?;
        let cred_id = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(key.cred_id().as_ref() as &[u8]);
        let id = onecity_core::new_id();
        let mut tx = db.begin().await?;
        store::insert_webauthn(
            &mut tx,
            id,
            p.id,
            &cred_id,
            name,
            &serde_json::to_string(&key).map_err(Error::internal)?,
            now,
        )
        .await
        .map_err(|e| {
            if e.code == ErrorCode::Conflict {
                Error::conflict("this security key is registered already")
            } else {
                e
            }
        })?;
        self.audit_self_in(
            &mut tx,
            p,
            "mfa.webauthn_register",
            Some(&serde_json::json!({"id": id, "name": name})),
        )
        .await?;
        let codes = self.codes_if_none(&mut tx, p).await?;
        tx.commit().await?;
        let done = self
            .first_factor_done(p, codes, restricted, addr, "enrolment+webauthn")
            .await?;
        Ok((id, done))
    }

    /// Removes a security key. Errors: 404 when it is not the caller's.
    pub async fn webauthn_remove(&self, p: &Principal, id: Uuid) -> Result<()> {
        let db = &self.inner.db;
        let mut tx = db.begin().await?;
        if store::delete_webauthn(&mut tx, p.id, id).await? != 1 {
            return Err(Error::not_found(format!(
                "security key {id} does not exist"
            )));
        }
        let totp_on = store::totp(&mut tx, p.id)
            .await?
            .is_some_and(|t| t.confirmed_at.is_some());
        if !totp_on && store::webauthn_credentials(&mut tx, p.id).await?.is_empty() {
            store::delete_recovery_codes(&mut tx, p.id).await?;
        }
        self.audit_self_in(
            &mut tx,
            p,
            "mfa.webauthn_remove",
            Some(&serde_json::json!({"id": id})),
        )
        .await?;
        tx.commit().await
    }

    /// Starts a WebAuthn assertion for a sign-in challenge: the
    /// PublicKeyCredentialRequestOptions JSON for navigator.credentials.get. Errors: 401
    /// `mfa_failed` (challenge), 404 (WebAuthn off or no key registered).
    pub async fn webauthn_login_start(&self, challenge: &str) -> Result<serde_json::Value> {
        let rp = self.rp()?;
        let claims = self.challenge_claims(challenge)?;
        let db = &self.inner.db;
        let keys = Self::passkeys(&store::webauthn_credentials(db, claims.sub).await?)?;
        if keys.is_empty() {
            return Err(Error::not_found("this account has no security key"));
        }
        let list: Vec<_> = keys.into_iter().map(|(_, k)| k).collect();
        let (options, state) = rp
            .start_passkey_authentication(&list)
            .map_err(|e| Error::invalid(format!("WebAuthn: {e}")))?;
        let now = onecity_core::time::now_micros();
        store::put_pending(
            db,
            &claims.jti.to_string(),
            claims.sub,
            "authenticate",
            &serde_json::to_string(&state).map_err(Error::internal)?,
            now,
            now + WEBAUTHN_TTL_SECS * 1_000_000,
        )
        .await
        .map_err(|e| {
            if e.code == ErrorCode::Conflict {
                mfa_failed(
                    "a security-key check was already started for this challenge; sign in again",
                )
            } else {
                e
            }
        })?;
        serde_json::to_value(options).map_err(Error::internal)
    }

    async fn verify_assertion(
        &self,
        p: &Principal,
        jti: &str,
        credential: serde_json::Value,
        addr: Option<IpAddr>,
    ) -> Result<()> {
        let rp = self.rp()?;
        self.mfa_attempt(p.id).await?;
        let db = &self.inner.db;
        let now = onecity_core::time::now_micros();
        let Some(state) = store::take_pending(db, jti, p.id, "authenticate", now).await? else {
            self.mfa_failure(p, addr, "password+webauthn").await?;
            return Err(mfa_failed(
                "no security-key check is waiting for this challenge; start one with POST /api/v1/auth/login/mfa/webauthn",
            ));
        };
        let state: webauthn_rs::prelude::PasskeyAuthentication =
            serde_json::from_str(&state).map_err(Error::internal)?;
        let answer: Result<webauthn_rs::prelude::PublicKeyCredential> =
            serde_json::from_value(credential)
                .map_err(|e| mfa_failed(&format!("not a PublicKeyCredential: {e}")));
        let result = answer.and_then(|a| {
            rp.finish_passkey_authentication(&a, &state)
                .map_err(|e| mfa_failed(&format!("the security key's answer does not verify: {e}")))
        });
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                self.mfa_failure(p, addr, "password+webauthn").await?;
                return Err(e);
            }
        };
        let rows = store::webauthn_credentials(db, p.id).await?;
        for (id, mut key) in Self::passkeys(&rows)? {
            if key.cred_id() == result.cred_id() {
                key.update_credential(&result);
                store::touch_webauthn(
                    db,
                    id,
                    &serde_json::to_string(&key).map_err(Error::internal)?,
                    now,
                )
                .await?;
            }
        }
        self.mfa_success(p.id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows (8 digits there; the 6-digit code is the last six).
    #[test]
    fn rfc6238_appendix_b_vectors() {
        let secret = b"12345678901234567890".to_vec();
        let t = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 8, 1, 30, secret, None, "x".into())
            .unwrap();
        for (time, code) in [
            (59u64, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ] {
            assert_eq!(t.generate(time), code, "T = {time}");
        }
        let b32 = totp_rs::Secret::Raw(b"12345678901234567890".to_vec())
            .to_encoded()
            .to_string();
        assert_eq!(code_at(&b32, 59).unwrap(), "287082");
        assert_eq!(code_at(&b32, 1111111109).unwrap(), "081804");
    }

    #[test]
    fn steps_match_within_skew_only() {
        let secret = b"12345678901234567890".to_vec();
        let t = totp(secret, "zhang", "onecity").unwrap();
        let now = 1_700_000_000u64;
        let code = t.generate(now);
        assert_eq!(matching_step(&t, &code, now), Some((now / 30) as i64));
        assert_eq!(matching_step(&t, &code, now + 30), Some((now / 30) as i64));
        assert_eq!(matching_step(&t, &code, now + 90), None);
        assert_eq!(matching_step(&t, "12345", now), None);
        assert_eq!(matching_step(&t, "abcdef", now), None);
    }

    #[test]
    fn sealed_secrets_open_only_for_their_owner() {
        let key = [7u8; 32];
        let a = Uuid::from_u128(1);
        let sealed = seal(&key, a, b"secret-bytes-160-bit").unwrap();
        assert!(sealed.starts_with("v1:"));
        assert_eq!(open(&key, a, &sealed).unwrap(), b"secret-bytes-160-bit");
        assert!(open(&key, Uuid::from_u128(2), &sealed).is_err());
        assert!(open(&[8u8; 32], a, &sealed).is_err());
        assert!(open(&key, a, "v1:short").is_err());
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_normalised() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let set: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(set.len(), 10);
        assert!(codes
            .iter()
            .all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'));
        let id = Uuid::from_u128(9);
        assert_eq!(
            recovery_digest(id, "abcde-fghjk"),
            recovery_digest(id, " ABCDEFGHJK ")
        );
        assert_ne!(
            recovery_digest(id, "abcde-fghjk"),
            recovery_digest(Uuid::from_u128(8), "abcde-fghjk")
        );
    }
}
