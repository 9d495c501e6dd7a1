//! Citizen self-registration and code sign-in (phone or e-mail, one-time codes through the
//! SMS gateway), and the real-name step (实名认证) that raises a citizen to `substantial`.
//!
//! Codes: 6 random digits (OS randomness), stored only as HMAC-SHA-256 under a server
//! secret (`iam_identity_hmac`), valid [`crate::IamConfig::code_ttl`] (5 min), single-use,
//! dead after [`crate::IamConfig::code_max_attempts`] wrong tries; only the latest code of
//! an identifier counts. Sending is limited per identifier and per client address, and so
//! is guessing (the platform limiter, purposes `code_send` and `code_verify`).
//!
//! Privacy: `start` answers the same 202 body whether or not the identifier has an
//! account, and sends a code either way. `verify` with a right code signs the existing
//! citizen in, or creates the citizen (level `low`) when none exists: registering an
//! existing phone logs into that account. A password given to `register/verify` becomes
//! the account's password (a code-proven reset when the account existed; audited as such).
//! One account per phone or e-mail in the deployment (its login name is the normalized
//! identifier, so `POST /auth/login` with phone + password works too); its home tenant is
//! the one it registered in.

use crate::assurance::{AssuranceLevel, Verification};
use crate::limiter::{Decision, Limit, Subject};
use crate::store::identity as db;
use crate::{password, Iam, Principal, PrincipalKind};
use hmac::{Hmac, Mac};
use onecity_core::{Error, ErrorCode, Result};
use onecity_store::audit::AuditEntry;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::net::IpAddr;
use uuid::Uuid;

/// A normalized identifier a citizen registers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    /// E.164 phone number, e.g. `+8613812345678`.
    Phone(String),
    /// E-mail address, lower case.
    Email(String),
}

impl Identifier {
    /// Normalizes a phone number (E.164 `+<8 to 15 digits>`, or a Chinese 11-digit mobile
    /// number `1[3-9]xxxxxxxxx`, which becomes `+86…`; spaces and `-` are ignored) or an
    /// e-mail address (lower-cased; `local@domain.tld`, at most 254 bytes).
    ///
    /// Errors: `invalid_input` naming the accepted forms.
    pub fn parse(raw: &str) -> Result<Identifier> {
        let t = raw.trim();
        if t.contains('@') {
            let e = t.to_lowercase();
            let (local, domain) = e.split_once('@').unwrap_or(("", ""));
            let ok = e.len() <= 254
                && !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && e.chars().all(|c| !c.is_whitespace() && !c.is_control());
            return if ok {
                Ok(Identifier::Email(e))
            } else {
                Err(Error::invalid(
                    "邮箱地址无效 / the e-mail address is not valid",
                ))
            };
        }
        let compact: String = t.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let digits = compact.strip_prefix('+');
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        match digits {
            Some(d) if all_digits(d) && (8..=15).contains(&d.len()) && !d.starts_with('0') => {
                if let Some(cn) = d.strip_prefix("86") {
                    if !is_cn_mobile(cn) {
                        return Err(bad_phone());
                    }
                }
                Ok(Identifier::Phone(format!("+{d}")))
            }
            None if is_cn_mobile(&compact) => Ok(Identifier::Phone(format!("+86{compact}"))),
            _ => Err(bad_phone()),
        }
    }

    /// The normalized text (the citizen's login name).
    pub fn as_str(&self) -> &str {
        match self {
            Identifier::Phone(s) | Identifier::Email(s) => s,
        }
    }

    /// The identifier for display: `+86138****5678`, `z***@example.cn`.
    pub fn masked(&self) -> String {
        match self {
            Identifier::Phone(p) => {
                let n = p.len();
                format!("{}****{}", &p[..n - 8], &p[n - 4..])
            }
            Identifier::Email(e) => {
                let (local, domain) = e.split_once('@').unwrap_or((e, ""));
                let first: String = local.chars().take(1).collect();
                format!("{first}***@{domain}")
            }
        }
    }
}

fn is_cn_mobile(s: &str) -> bool {
    s.len() == 11
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.starts_with('1')
        && matches!(s.as_bytes()[1], b'3'..=b'9')
}

fn bad_phone() -> Error {
    Error::invalid(
        "手机号无效 / not a phone number: use E.164 (+8613812345678) or an 11-digit Chinese mobile number (13812345678), or an e-mail address",
    )
}

/// Why a code is sent: the SMS text differs, the flow is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CodePurpose {
    /// Registration (注册).
    Register,
    /// Sign-in (登录).
    SignIn,
}

impl CodePurpose {
    fn as_str(self) -> &'static str {
        match self {
            CodePurpose::Register => "register",
            CodePurpose::SignIn => "sign_in",
        }
    }
}

/// The answer to a code request, the same whether or not an account exists.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CodeSent {
    /// The identifier, masked (`+86138****5678`).
    pub sent_to: String,
    /// Seconds the code stays valid.
    pub expires_in_secs: u64,
    /// Digits in the code (6).
    pub code_length: u32,
}

/// A session from a verified code.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CitizenSession {
    /// Session token; send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Expiry, RFC 3339 UTC.
    pub expires_at: String,
    /// The citizen's principal id.
    pub principal_id: Uuid,
    /// The citizen's assurance level.
    pub assurance: AssuranceLevel,
}

/// A real-name record as shown to its owner (the full number is never shown or kept).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RealNameView {
    /// Name as checked.
    pub name: String,
    /// The identity number masked: `110105********002X`.
    pub id_number_masked: String,
    /// Birth date from the number, `YYYY-MM-DD`.
    pub birth_date: String,
    /// Level reached.
    pub level: AssuranceLevel,
    /// Which verifier confirmed it (`http`, `synthetic`).
    pub verifier: String,
    /// Confirmed against the synthetic (demo) register.
    pub synthetic: bool,
    /// When, RFC 3339 UTC.
    pub verified_at: String,
}

/// Number of digits in a code.
pub const CODE_DIGITS: u32 = 6;

fn throttled(retry_after_secs: u64, what: &str) -> Error {
    metrics::counter!("onecity_code_throttled_total").increment(1);
    Error::new(
        ErrorCode::CodeThrottled,
        format!("操作过于频繁 / too many {what}; try again later"),
    )
    .with_retry_after(retry_after_secs)
}

fn wrong_code() -> Error {
    Error::new(
        ErrorCode::CodeInvalid,
        "验证码错误或已过期 / the code is wrong, expired or already used; request a new one",
    )
}

impl Iam {
    /// HMAC-SHA-256 under the server's identity secret, hex.
    pub(crate) fn identity_hmac(&self, parts: &[&str]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.inner.identity_key)
            .expect("HMAC takes any key length");
        for p in parts {
            mac.update(p.as_bytes());
            mac.update(&[0]);
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// Counts one hit of `subject` under `purpose` in its own transaction; `code_throttled`
    /// (429, with the retry delay) when over `limit`. `what` names the counted thing.
    async fn limit(
        &self,
        purpose: &str,
        subject: Subject<'_>,
        limit: Limit,
        what: &str,
    ) -> Result<()> {
        if let Decision::Refused {
            retry_after_secs, ..
        } = self.inner.limiter.hit(purpose, subject, limit).await?
        {
            return Err(throttled(retry_after_secs, what));
        }
        Ok(())
    }

    /// Counts one hit per check inside `tx`, in order, and returns the refusal of the first
    /// check over its limit (later checks are then not counted). The caller commits `tx`
    /// in both cases, so that refused attempts count too.
    async fn refusal_in(
        &self,
        tx: &mut onecity_store::Tx,
        checks: &[(&str, Subject<'_>, Limit, &str)],
    ) -> Result<Option<Error>> {
        for (purpose, subject, limit, what) in checks {
            if let Decision::Refused {
                retry_after_secs, ..
            } = self
                .inner
                .limiter
                .hit_in(tx, purpose, *subject, *limit)
                .await?
            {
                return Ok(Some(throttled(retry_after_secs, what)));
            }
        }
        Ok(None)
    }

    /// Sends a one-time code to a phone number or e-mail address for registration or
    /// sign-in in `tenant` (see the module docs). The answer never tells whether an
    /// account exists.
    ///
    /// Errors: `tenant_not_found`; `invalid_input` for an identifier that is neither a
    /// phone number nor an e-mail address; `code_throttled` (429, `Retry-After`) after
    /// `code_send_max` codes for the identifier or `code_send_address_max` from the
    /// address within an hour; `sms_gateway_failed` (503) when the gateway fails or none
    /// is configured.
    pub async fn start_citizen_code(
        &self,
        tenant: &str,
        raw_identifier: &str,
        purpose: CodePurpose,
        addr: Option<IpAddr>,
    ) -> Result<CodeSent> {
        let t = self.tenant_unchecked(tenant).await?;
        let id = Identifier::parse(raw_identifier)?;
        let cfg = &self.inner.cfg;
        let hour = std::time::Duration::from_secs(3600);
        let mut checks = Vec::with_capacity(2);
        if let Some(a) = addr {
            checks.push((
                "code_send",
                Subject::Address(a),
                Limit {
                    max: cfg.code_send_address_max,
                    window: hour,
                },
                "codes requested from this address",
            ));
        }
        checks.push((
            "code_send",
            Subject::Phone(id.as_str()),
            Limit {
                max: cfg.code_send_max,
                window: hour,
            },
            "codes requested for this phone number or e-mail",
        ));
        // One transaction for the limiter's hits, the code and its audit record: one
        // commit per request (BENCHMARKS.md, code sign-in).
        let mut tx = self.inner.db.begin().await?;
        if let Some(refused) = self.refusal_in(&mut tx, &checks).await? {
            tx.commit().await?;
            return Err(refused);
        }
        let Some(gateway) = self.inner.sms.as_ref() else {
            tx.commit().await?;
            return Err(Error::new(
                ErrorCode::SmsGatewayFailed,
                "no SMS gateway is configured (sms_gateway_url)",
            ));
        };
        let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32));
        let code_id = onecity_core::new_id();
        let now = onecity_core::time::now_micros();
        let ttl = cfg.code_ttl;
        let expires = now + i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX / 4);
        let minutes = ttl.as_secs().div_ceil(60);
        let text = format!(
            "【{}】验证码 {code}，{minutes}分钟内有效，请勿告诉他人。Your onecity code is {code}, valid for {minutes} min; never share it.",
            t.name
        );
        db::insert_code(
            &mut tx,
            code_id,
            tenant,
            id.as_str(),
            purpose.as_str(),
            &self.identity_hmac(&["code", &code_id.to_string(), &code]),
            now,
            expires,
        )
        .await?;
        // Purge old codes now and then (1 in 64 requests).
        if rand::rngs::OsRng.gen_range(0..64) == 0 {
            db::purge_codes(&mut tx, now - 86_400_000_000).await?;
        }
        self.record(
            &mut tx,
            &AuditEntry {
                tenant,
                actor: "anonymous",
                action: "citizen.code_sent",
                resource_type: "identifier",
                resource_id: &id.masked(),
                after: Some(&serde_json::json!({"purpose": purpose.as_str()})),
                ..Default::default()
            },
            None,
        )
        .await?;
        tx.commit().await?;
        // Sent after the commit (no transaction waits on the gateway); a failed send kills
        // the code.
        let sent = gateway
            .send(&crate::sms::SmsMessage {
                to: id.as_str(),
                text: &text,
                purpose: purpose.as_str(),
            })
            .await;
        if let Err(e) = sent {
            db::use_code(&self.inner.db, code_id, now).await?;
            return Err(e);
        }
        Ok(CodeSent {
            sent_to: id.masked(),
            expires_in_secs: ttl.as_secs(),
            code_length: CODE_DIGITS,
        })
    }

    /// Checks a one-time code and signs the citizen in, creating the citizen (kind
    /// `citizen`, level `low`, login name = the normalized identifier) when none exists.
    /// `password` (10 to 256 characters, optional) becomes the account's password;
    /// `display_name` (optional, at most 200 characters) names a new account.
    ///
    /// Errors: `invalid_input` (identifier, password policy, display name); `code_invalid`
    /// (401) for a wrong, expired, used or exhausted code, or an identifier that belongs to
    /// a staff account or a disabled one; `code_throttled` (429) after
    /// `code_verify_max` tries for the identifier or `code_verify_address_max` from the
    /// address within 15 minutes.
    #[allow(clippy::too_many_arguments)]
    pub async fn verify_citizen_code(
        &self,
        tenant: &str,
        raw_identifier: &str,
        code: &str,
        password_new: Option<&str>,
        display_name: Option<&str>,
        addr: Option<IpAddr>,
    ) -> Result<CitizenSession> {
        self.tenant_unchecked(tenant).await?;
        let id = Identifier::parse(raw_identifier)?;
        if let Some(pw) = password_new {
            password::check_policy(pw)?;
        }
        if let Some(n) = display_name {
            onecity_core::validate::text("display_name", n, 200)?;
        }
        let cfg = &self.inner.cfg;
        let window = std::time::Duration::from_secs(15 * 60);
        let mut checks = Vec::with_capacity(2);
        if let Some(a) = addr {
            checks.push((
                "code_verify",
                Subject::Address(a),
                Limit {
                    max: cfg.code_verify_address_max,
                    window,
                },
                "code attempts from this address",
            ));
        }
        checks.push((
            "code_verify",
            Subject::Phone(id.as_str()),
            Limit {
                max: cfg.code_verify_max,
                window,
            },
            "code attempts for this phone number or e-mail",
        ));
        let code = code.trim();
        let now = onecity_core::time::now_micros();
        // First transaction: the limiter's hits and the attempt on the code, committed
        // whatever the outcome (a wrong guess must count).
        let mut tx = self.inner.db.begin().await?;
        if let Some(refused) = self.refusal_in(&mut tx, &checks).await? {
            tx.commit().await?;
            return Err(refused);
        }
        let Some(row) = db::latest_code(&mut tx, tenant, id.as_str()).await? else {
            tx.commit().await?;
            return Err(wrong_code());
        };
        db::count_attempt(&mut tx, row.id).await?;
        let given = self.identity_hmac(&["code", &row.id.to_string(), code]);
        let right = crate::users::constant_eq(given.as_bytes(), row.code_hash.as_bytes());
        if !right || row.expires_at <= now || row.attempts >= cfg.code_max_attempts {
            if row.attempts + 1 == cfg.code_max_attempts {
                self.audit_anonymous_in(&mut tx, tenant, "citizen.code_exhausted", &id.masked())
                    .await?;
            }
            tx.commit().await?;
            return Err(wrong_code());
        }
        tx.commit().await?;
        // The password is hashed outside any transaction (Argon2id takes tens of ms and
        // must not hold SQLite's one writer).
        let hash = match password_new {
            Some(pw) => {
                let pw = pw.to_string();
                Some(
                    tokio::task::spawn_blocking(move || password::hash(&pw))
                        .await
                        .map_err(Error::internal)??,
                )
            }
            None => None,
        };
        // Second transaction: the code used, the account created or signed in, its audit
        // record and event, the limiter's counter reset and the session opened: one commit.
        let mut tx = self.inner.db.begin().await?;
        if !db::use_code(&mut tx, row.id, now).await? {
            return Err(wrong_code());
        }
        let (pid, home, action) = match db::account_by_username(&mut tx, id.as_str()).await? {
            Some(acc) => {
                if acc.kind != "citizen" || acc.disabled {
                    return Err(wrong_code());
                }
                if let Some(h) = &hash {
                    db::set_password(&mut tx, acc.id, h).await?;
                }
                let tenant_of = acc.tenant.unwrap_or_else(|| tenant.to_string());
                (acc.id, tenant_of, "citizen.sign_in")
            }
            None => {
                let pid = onecity_core::new_id();
                let (phone, email) = match &id {
                    Identifier::Phone(p) => (Some(p.as_str()), None),
                    Identifier::Email(e) => (None, Some(e.as_str())),
                };
                db::insert_citizen(
                    &mut tx,
                    &db::NewCitizen {
                        id: pid,
                        tenant,
                        username: id.as_str(),
                        display_name: display_name.unwrap_or(&id.masked()),
                        password_hash: hash.as_deref(),
                        phone,
                        email,
                        now,
                    },
                )
                .await?;
                (pid, tenant.to_string(), "citizen.register")
            }
        };
        let after = serde_json::json!({
            "identifier": id.masked(),
            "purpose": row.purpose,
            "password_set": hash.is_some(),
        });
        self.record(
            &mut tx,
            &AuditEntry {
                tenant: &home,
                actor: &format!("user:{pid}"),
                action,
                resource_type: "principal",
                resource_id: &pid.to_string(),
                after: Some(&after),
                ..Default::default()
            },
            (action == "citizen.register").then(|| {
                onecity_core::events::EventEnvelope::new(
                    Some(&home),
                    onecity_core::events::PlatformEvent::PrincipalCreated {
                        id: pid,
                        kind: "citizen".into(),
                    },
                )
            }),
        )
        .await?;
        self.inner
            .limiter
            .reset_in(&mut tx, "code_verify", Subject::Phone(id.as_str()))
            .await?;
        // `open_session_in` uses only the id, kind and tenant of the principal.
        let signed_in = Principal {
            id: pid,
            kind: PrincipalKind::Citizen,
            username: id.as_str().to_string(),
            display_name: String::new(),
            tenant: Some(home.clone()),
            department_id: None,
            grants: Vec::new(),
            rate_per_minute: None,
            assurance: None,
        };
        let (token, exp) = self
            .open_session_in(&mut tx, &signed_in, addr, "code")
            .await?;
        tx.commit().await?;
        self.forget_principal(pid);
        let p = self.principal_by_id(pid).await?;
        Ok(CitizenSession {
            token,
            expires_at: onecity_core::time::rfc3339(exp * 1_000_000),
            principal_id: pid,
            assurance: p.assurance.unwrap_or(AssuranceLevel::Low),
        })
    }

    async fn audit_anonymous_in(
        &self,
        tx: &mut onecity_store::Tx,
        tenant: &str,
        action: &str,
        resource: &str,
    ) -> Result<()> {
        self.record(
            tx,
            &AuditEntry {
                tenant,
                actor: "anonymous",
                action,
                resource_type: "identifier",
                resource_id: resource,
                ..Default::default()
            },
            None,
        )
        .await
    }

    /// Forgets one cached principal (after its level or grants changed on this node).
    pub(crate) fn forget_principal(&self, id: Uuid) {
        self.inner
            .principals
            .lock()
            .expect("cache lock")
            .remove(&id);
    }

    /// The real-name check (实名认证) of the calling citizen: `name` (1 to 50 characters)
    /// and the 18-character resident identity number. The number's check digit and birth
    /// date are verified first (GB 11643-1999); then the configured
    /// [`crate::assurance::IdentityVerifier`] is asked. A confirmation stores the name,
    /// the number masked (`110105********002X`) and its HMAC-SHA-256 under the server's
    /// identity secret (the full number is never stored), and raises the citizen to the
    /// verifier's level (`substantial`). Attempts are limited to `real_name_max` per
    /// citizen per day.
    ///
    /// Errors: `forbidden` for callers that are not citizens; `invalid_id_number` (422,
    /// message in Chinese and English); `identity_not_confirmed` (422) when the register
    /// does not hold this name and number; `conflict` when another account holds the
    /// number; `identity_check_unavailable` (503) when no verifier is configured or it
    /// fails; `code_throttled` (429) over the daily attempts.
    pub async fn verify_real_name(
        &self,
        p: &Principal,
        name: &str,
        id_number: &str,
    ) -> Result<RealNameView> {
        if p.kind != PrincipalKind::Citizen {
            return Err(Error::forbidden(
                "only citizens take the real-name check (实名认证)",
            ));
        }
        let tenant = p
            .tenant
            .clone()
            .ok_or_else(|| Error::forbidden("a citizen without a tenant"))?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 50 || name.chars().any(char::is_control) {
            return Err(Error::invalid(
                "姓名应为1到50个字符 / name must be 1 to 50 characters",
            ));
        }
        let today = chrono::Utc::now().format("%Y%m%d").to_string();
        let idn = crate::idnum::check_id_number(id_number, &today)?;
        let pid = p.id.to_string();
        self.limit(
            "real_name",
            Subject::Account(&pid),
            Limit {
                max: self.inner.cfg.real_name_max,
                window: std::time::Duration::from_secs(86_400),
            },
            "real-name attempts today",
        )
        .await?;
        let verifier = self
            .inner
            .verifier
            .read()
            .expect("verifier lock")
            .clone()
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::IdentityCheckUnavailable,
                    "no identity verification service is configured",
                )
            })?;
        let v: Verification = verifier.verify(&tenant, name, &idn.number).await?;
        if !v.confirmed {
            self.audit_real_name(p, &tenant, "citizen.real_name_refused", &idn.masked(), &v)
                .await?;
            return Err(Error::new(
                ErrorCode::IdentityNotConfirmed,
                "姓名与身份证号不匹配 / the identity register does not hold this name with this identity number",
            ));
        }
        let now = onecity_core::time::now_micros();
        let mut tx = self.inner.db.begin().await?;
        let current = db::assurance_of(&mut tx, p.id)
            .await?
            .and_then(|l| AssuranceLevel::parse(&l));
        let level = current.map_or(v.level, |c| c.max(v.level));
        db::upsert_real_name(
            &mut tx,
            &db::NewRealName {
                principal_id: p.id,
                tenant: &tenant,
                name,
                masked: &idn.masked(),
                hmac: &self.identity_hmac(&["id_number", &idn.number]),
                birth_date: &idn.birth_date,
                level: v.level.as_str(),
                verifier: &v.source,
                synthetic: v.synthetic,
                now,
            },
        )
        .await
        .map_err(|e| {
            if e.code == ErrorCode::Conflict {
                Error::conflict(
                    "该身份证号已被其他账号实名 / another account has already been verified with this identity number",
                )
            } else {
                e
            }
        })?;
        db::set_assurance(&mut tx, p.id, level.as_str(), name).await?;
        self.record(
            &mut tx,
            &AuditEntry {
                tenant: &tenant,
                actor: &p.actor(),
                action: "citizen.real_name",
                resource_type: "principal",
                resource_id: &pid,
                after: Some(&serde_json::json!({
                    "id_number": idn.masked(), "level": level.as_str(),
                    "verifier": v.source, "synthetic": v.synthetic
                })),
                detail: Some(&format!(
                    "id_number={} level={} verifier={} synthetic={}",
                    idn.masked(),
                    level.as_str(),
                    v.source,
                    v.synthetic
                )),
                ..Default::default()
            },
            None,
        )
        .await?;
        tx.commit().await?;
        self.forget_principal(p.id);
        self.real_name_of(p.id)
            .await?
            .ok_or_else(|| Error::internal("real-name record vanished"))
    }

    async fn audit_real_name(
        &self,
        p: &Principal,
        tenant: &str,
        action: &str,
        masked: &str,
        v: &Verification,
    ) -> Result<()> {
        let mut tx = self.inner.db.begin().await?;
        self.record(
            &mut tx,
            &AuditEntry {
                tenant,
                actor: &p.actor(),
                action,
                resource_type: "principal",
                resource_id: &p.id.to_string(),
                after: Some(&serde_json::json!({
                    "id_number": masked, "verifier": v.source, "synthetic": v.synthetic
                })),
                ..Default::default()
            },
            None,
        )
        .await?;
        tx.commit().await
    }

    /// A principal's real-name record, if any.
    pub async fn real_name_of(&self, id: Uuid) -> Result<Option<RealNameView>> {
        let Some(r) = db::real_name(&self.inner.db, id).await? else {
            return Ok(None);
        };
        Ok(Some(RealNameView {
            name: r.name,
            id_number_masked: r.id_number_masked,
            birth_date: r.birth_date,
            level: AssuranceLevel::parse(&r.level).unwrap_or(AssuranceLevel::Substantial),
            verifier: r.verifier,
            synthetic: r.synthetic,
            verified_at: onecity_core::time::rfc3339(r.verified_at),
        }))
    }

    /// The level reading datastore resource `resource_id` of `tenant` requires, if any.
    pub async fn read_assurance(
        &self,
        tenant: &str,
        resource_id: &str,
    ) -> Result<Option<AssuranceLevel>> {
        Ok(db::read_assurance(&self.inner.db, tenant, resource_id)
            .await?
            .and_then(|l| AssuranceLevel::parse(&l)))
    }

    /// Sets (`Some`) or clears (`None`) the level reading `resource_id` of `tenant`
    /// requires (datastore search, SQL, dump). Needs `datastore:write` in the tenant.
    /// Errors: `forbidden`, `tenant_not_found`, `invalid_input` (resource id over 200
    /// characters).
    pub async fn set_read_assurance(
        &self,
        p: &Principal,
        tenant: &str,
        resource_id: &str,
        level: Option<AssuranceLevel>,
    ) -> Result<()> {
        let t = self.tenant(p, tenant).await?;
        let root = self
            .jurisdiction_unchecked(tenant, t.root_jurisdiction_id)
            .await?;
        if !p.can_at(crate::Permission::DatastoreWrite, tenant, &root.path) {
            return Err(Error::forbidden(format!(
                "you lack datastore:write over tenant {tenant:?}"
            )));
        }
        if resource_id.is_empty() || resource_id.len() > 200 {
            return Err(Error::invalid("resource_id must be 1 to 200 characters"));
        }
        let now = onecity_core::time::now_micros();
        let mut tx = self.inner.db.begin().await?;
        let before = db::read_assurance(&mut tx, tenant, resource_id).await?;
        db::set_read_assurance(
            &mut tx,
            tenant,
            resource_id,
            level.map(AssuranceLevel::as_str),
            &p.actor(),
            now,
        )
        .await?;
        self.record(
            &mut tx,
            &AuditEntry {
                tenant,
                actor: &p.actor(),
                action: "datastore.read_assurance",
                resource_type: "datastore_resource",
                resource_id,
                before: Some(&serde_json::json!({ "min_level": before })),
                after: Some(&serde_json::json!({ "min_level": level })),
                ..Default::default()
            },
            None,
        )
        .await?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_normalize() {
        let p = |s: &str| Identifier::parse(s).map(|i| i.as_str().to_string());
        assert_eq!(p("13812345678").unwrap(), "+8613812345678");
        assert_eq!(p(" 138-1234-5678 ").unwrap(), "+8613812345678");
        assert_eq!(p("+86 138 1234 5678").unwrap(), "+8613812345678");
        assert_eq!(p("+4915112345678").unwrap(), "+4915112345678");
        assert_eq!(p("Zhang.San@Example.CN").unwrap(), "zhang.san@example.cn");
        for bad in [
            "12812345678",
            "1381234567",
            "+86123",
            "+8612812345678",
            "+0123456789",
            "abc",
            "",
            "a@b",
            "@example.cn",
            "+1234567890123456",
        ] {
            assert!(Identifier::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Identifier::parse("13812345678").unwrap().masked(),
            "+86138****5678"
        );
        assert_eq!(
            Identifier::parse("zhang@example.cn").unwrap().masked(),
            "z***@example.cn"
        );
    }
}
