//! Every SQL statement of second factors, sessions, password history and sign-in history
//! (migration 6): `iam_totp`, `iam_recovery_codes`, `iam_webauthn_credentials`,
//! `iam_webauthn_pending`, `iam_sessions`, `iam_password_history`, `iam_sign_ins` and
//! `principals.password_changed_at`. Each function takes any [`Executor`] (`&db` or
//! `&mut tx`); times are µs since the epoch.

use onecity_core::Result;
use onecity_store::{args, Executor};
use serde::Deserialize;
use uuid::Uuid;

/// A principal's TOTP enrolment.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TotpRow {
    /// The sealed secret (see `mfa::seal`).
    pub secret_sealed: String,
    /// When the first code confirmed it (`None`: enrolment started, not confirmed).
    pub confirmed_at: Option<i64>,
}

/// Loads a principal's TOTP enrolment.
pub(crate) async fn totp(mut ex: impl Executor, principal: Uuid) -> Result<Option<TotpRow>> {
    ex.fetch_optional_as(
        "SELECT secret_sealed, confirmed_at FROM iam_totp WHERE principal_id = $1",
        args![principal],
    )
    .await
}

/// Starts (or restarts) an enrolment: replaces any unconfirmed one. A confirmed
/// enrolment is kept (the caller refuses before calling).
pub(crate) async fn put_totp(
    mut ex: impl Executor,
    principal: Uuid,
    sealed: &str,
    now: i64,
) -> Result<()> {
    ex.execute(
        "DELETE FROM iam_totp WHERE principal_id = $1 AND confirmed_at IS NULL",
        args![principal],
    )
    .await?;
    ex.execute(
        "INSERT INTO iam_totp (principal_id, secret_sealed, confirmed_at, last_step, created_at) \
         VALUES ($1, $2, NULL, 0, $3)",
        args![principal, sealed, now],
    )
    .await?;
    Ok(())
}

/// Marks the enrolment confirmed with the step of its first code.
pub(crate) async fn confirm_totp(
    mut ex: impl Executor,
    principal: Uuid,
    step: i64,
    now: i64,
) -> Result<u64> {
    ex.execute(
        "UPDATE iam_totp SET confirmed_at = $1, last_step = $2 \
         WHERE principal_id = $3 AND confirmed_at IS NULL",
        args![now, step, principal],
    )
    .await
}

/// Takes time step `step` for a principal: succeeds (1 row) only when it is later than the
/// last accepted step, atomically, so a code is never accepted twice, even concurrently.
pub(crate) async fn take_totp_step(
    mut ex: impl Executor,
    principal: Uuid,
    step: i64,
) -> Result<u64> {
    ex.execute(
        "UPDATE iam_totp SET last_step = $1 \
         WHERE principal_id = $2 AND confirmed_at IS NOT NULL AND last_step < $1",
        args![step, principal],
    )
    .await
}

/// Removes a principal's TOTP enrolment.
pub(crate) async fn delete_totp(mut ex: impl Executor, principal: Uuid) -> Result<u64> {
    ex.execute(
        "DELETE FROM iam_totp WHERE principal_id = $1",
        args![principal],
    )
    .await
}

/// Replaces a principal's recovery codes with new digests.
pub(crate) async fn replace_recovery_codes(
    mut ex: impl Executor,
    principal: Uuid,
    digests: &[String],
    now: i64,
) -> Result<()> {
    ex.execute(
        "DELETE FROM iam_recovery_codes WHERE principal_id = $1",
        args![principal],
    )
    .await?;
    for d in digests {
        ex.execute(
            "INSERT INTO iam_recovery_codes (principal_id, code_sha256, used_at, created_at) \
             VALUES ($1, $2, NULL, $3)",
            args![principal, d.as_str(), now],
        )
        .await?;
    }
    Ok(())
}

/// Uses a recovery code: 1 row when it existed and was unused, 0 otherwise.
pub(crate) async fn use_recovery_code(
    mut ex: impl Executor,
    principal: Uuid,
    digest: &str,
    now: i64,
) -> Result<u64> {
    ex.execute(
        "UPDATE iam_recovery_codes SET used_at = $1 \
         WHERE principal_id = $2 AND code_sha256 = $3 AND used_at IS NULL",
        args![now, principal, digest],
    )
    .await
}

/// Removes a principal's recovery codes.
pub(crate) async fn delete_recovery_codes(mut ex: impl Executor, principal: Uuid) -> Result<u64> {
    ex.execute(
        "DELETE FROM iam_recovery_codes WHERE principal_id = $1",
        args![principal],
    )
    .await
}

#[derive(Deserialize)]
struct Count {
    n: i64,
}

/// Unused recovery codes of a principal.
pub(crate) async fn recovery_codes_left(mut ex: impl Executor, principal: Uuid) -> Result<i64> {
    let c: Option<Count> = ex
        .fetch_optional_as(
            "SELECT COUNT(*) AS n FROM iam_recovery_codes WHERE principal_id = $1 AND used_at IS NULL",
            args![principal],
        )
        .await?;
    Ok(c.map_or(0, |c| c.n))
}

/// A registered WebAuthn credential.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WebauthnRow {
    /// Row id.
    pub id: Uuid,
    /// Name the user gave it.
    pub name: String,
    /// The `webauthn_rs::prelude::Passkey` as JSON.
    pub passkey: String,
    /// Registered at.
    pub created_at: i64,
    /// Last used for a sign-in.
    pub last_used_at: Option<i64>,
}

/// A principal's WebAuthn credentials, oldest first.
pub(crate) async fn webauthn_credentials(
    mut ex: impl Executor,
    principal: Uuid,
) -> Result<Vec<WebauthnRow>> {
    ex.fetch_all_as(
        "SELECT id, name, passkey, created_at, last_used_at FROM iam_webauthn_credentials \
         WHERE principal_id = $1 ORDER BY created_at, id",
        args![principal],
    )
    .await
}

/// Stores a new WebAuthn credential (`credential_id` is unique in the deployment).
pub(crate) async fn insert_webauthn(
    mut ex: impl Executor,
    id: Uuid,
    principal: Uuid,
    credential_id: &str,
    name: &str,
    passkey: &str,
    now: i64,
) -> Result<()> {
    ex.execute(
        "INSERT INTO iam_webauthn_credentials (id, principal_id, credential_id, name, passkey, created_at, last_used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        args![id, principal, credential_id, name, passkey, now],
    )
    .await?;
    Ok(())
}

/// Updates a credential after a sign-in (its signature counter lives in `passkey`).
pub(crate) async fn touch_webauthn(
    mut ex: impl Executor,
    id: Uuid,
    passkey: &str,
    now: i64,
) -> Result<()> {
    ex.execute(
        "UPDATE iam_webauthn_credentials SET passkey = $1, last_used_at = $2 WHERE id = $3",
        args![passkey, now, id],
    )
    .await?;
    Ok(())
}

/// Removes one of a principal's credentials; 1 row when it was there.
pub(crate) async fn delete_webauthn(
    mut ex: impl Executor,
    principal: Uuid,
    id: Uuid,
) -> Result<u64> {
    ex.execute(
        "DELETE FROM iam_webauthn_credentials WHERE id = $1 AND principal_id = $2",
        args![id, principal],
    )
    .await
}

/// Stores the server side of a WebAuthn ceremony (registration or authentication).
pub(crate) async fn put_pending(
    mut ex: impl Executor,
    id: &str,
    principal: Uuid,
    purpose: &str,
    state: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    ex.execute(
        "DELETE FROM iam_webauthn_pending WHERE expires_at <= $1",
        args![now],
    )
    .await?;
    ex.execute(
        "INSERT INTO iam_webauthn_pending (id, principal_id, purpose, state, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
        args![id, principal, purpose, state, expires_at],
    )
    .await?;
    Ok(())
}

/// Whether a ceremony or marker `id` with `purpose` exists (expired or not).
pub(crate) async fn pending_exists(mut ex: impl Executor, id: &str, purpose: &str) -> Result<bool> {
    let row = ex
        .fetch_optional(
            "SELECT id FROM iam_webauthn_pending WHERE id = $1 AND purpose = $2",
            args![id, purpose],
        )
        .await?;
    Ok(row.is_some())
}

#[derive(Deserialize)]
struct PendingRow {
    state: String,
}

/// Takes (reads and deletes) a ceremony's state, if it exists, is the principal's, has
/// the purpose and has not expired: each ceremony is used at most once.
pub(crate) async fn take_pending(
    mut ex: impl Executor,
    id: &str,
    principal: Uuid,
    purpose: &str,
    now: i64,
) -> Result<Option<String>> {
    let row: Option<PendingRow> = ex
        .fetch_optional_as(
            "SELECT state FROM iam_webauthn_pending \
             WHERE id = $1 AND principal_id = $2 AND purpose = $3 AND expires_at > $4",
            args![id, principal, purpose, now],
        )
        .await?;
    let taken = ex
        .execute("DELETE FROM iam_webauthn_pending WHERE id = $1", args![id])
        .await?;
    Ok(row.filter(|_| taken == 1).map(|r| r.state))
}

/// A session to record.
pub(crate) struct NewSession<'a> {
    /// The token's `jti`.
    pub id: Uuid,
    /// Whose.
    pub principal: Uuid,
    /// How it was obtained (`password`, `password+totp`, …).
    pub method: &'a str,
    /// Client address, when known.
    pub address: Option<String>,
    /// Issued at.
    pub now: i64,
    /// Expiry.
    pub expires_at: i64,
}

/// Records an issued session and forgets the principal's expired ones.
pub(crate) async fn insert_session(mut ex: impl Executor, s: &NewSession<'_>) -> Result<()> {
    ex.execute(
        "DELETE FROM iam_sessions WHERE principal_id = $1 AND expires_at <= $2",
        args![s.principal, s.now],
    )
    .await?;
    ex.execute(
        "INSERT INTO iam_sessions (id, principal_id, method, address, created_at, last_seen_at, expires_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $5, $6, NULL)",
        args![s.id, s.principal, s.method, s.address.clone(), s.now, s.expires_at],
    )
    .await?;
    Ok(())
}

/// A live session's ids, newest first.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SessionId {
    /// The `jti`.
    pub id: Uuid,
}

/// The principal's live (unexpired, unrevoked) sessions, newest first.
pub(crate) async fn live_sessions(
    mut ex: impl Executor,
    principal: Uuid,
    now: i64,
) -> Result<Vec<SessionId>> {
    ex.fetch_all_as(
        "SELECT id FROM iam_sessions WHERE principal_id = $1 AND revoked_at IS NULL \
         AND expires_at > $2 ORDER BY created_at DESC, id DESC",
        args![principal, now],
    )
    .await
}

/// Revokes one session.
pub(crate) async fn revoke_session(mut ex: impl Executor, id: Uuid, now: i64) -> Result<u64> {
    ex.execute(
        "UPDATE iam_sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        args![now, id],
    )
    .await
}

/// A session as the token check sees it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SessionRow {
    /// Last request seen (updated at most once per cache period).
    pub last_seen_at: i64,
    /// Revoked at.
    pub revoked_at: Option<i64>,
}

/// Loads a session.
pub(crate) async fn session(mut ex: impl Executor, id: Uuid) -> Result<Option<SessionRow>> {
    ex.fetch_optional_as(
        "SELECT last_seen_at, revoked_at FROM iam_sessions WHERE id = $1",
        args![id],
    )
    .await
}

/// Notes activity on a session.
pub(crate) async fn touch_session(mut ex: impl Executor, id: Uuid, now: i64) -> Result<()> {
    ex.execute(
        "UPDATE iam_sessions SET last_seen_at = $1 WHERE id = $2",
        args![now, id],
    )
    .await?;
    Ok(())
}

/// One sign-in attempt to record.
pub(crate) struct NewSignIn<'a> {
    /// Whose account.
    pub principal: Uuid,
    /// When.
    pub at: i64,
    /// Client address, when known.
    pub address: Option<String>,
    /// `password`, `password+totp`, `password+recovery_code`, `password+webauthn`.
    pub method: &'a str,
    /// Whether it succeeded.
    pub success: bool,
}

/// Sign-in history is kept this long (µs): 180 days, the six months GB/T 22239-2019
/// asks audit records to be kept (the audit trail itself keeps everything).
pub(crate) const SIGN_IN_RETENTION_MICROS: i64 = 180 * 86_400 * 1_000_000;

/// Records a sign-in attempt and forgets the principal's attempts older than the
/// retention.
pub(crate) async fn insert_sign_in(mut ex: impl Executor, s: &NewSignIn<'_>) -> Result<()> {
    ex.execute(
        "DELETE FROM iam_sign_ins WHERE principal_id = $1 AND at < $2",
        args![s.principal, s.at - SIGN_IN_RETENTION_MICROS],
    )
    .await?;
    ex.execute(
        "INSERT INTO iam_sign_ins (id, principal_id, at, address, method, success) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        args![
            onecity_core::new_id(),
            s.principal,
            s.at,
            s.address.clone(),
            s.method,
            s.success
        ],
    )
    .await?;
    Ok(())
}

/// A recorded sign-in attempt.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SignInRow {
    /// When, µs since the epoch.
    pub at: i64,
    /// Client address.
    pub address: Option<String>,
    /// Method.
    pub method: String,
    /// Succeeded.
    pub success: bool,
}

/// A principal's latest `limit` sign-in attempts, newest first.
pub(crate) async fn sign_ins(
    mut ex: impl Executor,
    principal: Uuid,
    limit: i64,
) -> Result<Vec<SignInRow>> {
    ex.fetch_all_as(
        "SELECT at, address, method, success FROM iam_sign_ins WHERE principal_id = $1 \
         ORDER BY at DESC, id DESC LIMIT $2",
        args![principal, limit],
    )
    .await
}

/// The principal's previous password hashes, newest first (at most `n`).
pub(crate) async fn password_history(
    mut ex: impl Executor,
    principal: Uuid,
    n: i64,
) -> Result<Vec<String>> {
    #[derive(Deserialize)]
    struct H {
        password_hash: String,
    }
    let rows: Vec<H> = ex
        .fetch_all_as(
            "SELECT password_hash FROM iam_password_history WHERE principal_id = $1 \
             ORDER BY created_at DESC LIMIT $2",
            args![principal, n],
        )
        .await?;
    Ok(rows.into_iter().map(|h| h.password_hash).collect())
}

/// Keeps a password hash in the history.
pub(crate) async fn push_password_history(
    mut ex: impl Executor,
    principal: Uuid,
    hash: &str,
    now: i64,
) -> Result<()> {
    ex.execute(
        "INSERT INTO iam_password_history (principal_id, password_hash, created_at) VALUES ($1, $2, $3)",
        args![principal, hash, now],
    )
    .await?;
    Ok(())
}

/// Sets a principal's password and when it changed.
pub(crate) async fn set_password(
    mut ex: impl Executor,
    principal: Uuid,
    hash: &str,
    now: i64,
) -> Result<()> {
    ex.execute(
        "UPDATE principals SET password_hash = $1, password_changed_at = $2 WHERE id = $3",
        args![hash, now, principal],
    )
    .await?;
    Ok(())
}

/// Password facts of an account.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PasswordFacts {
    /// When the password last changed (`None`: set at creation, before migration 6, or
    /// never changed — then `created_at` counts).
    pub password_changed_at: Option<i64>,
    /// Creation time.
    pub created_at: i64,
}

/// Loads the password facts of a principal.
pub(crate) async fn password_facts(
    mut ex: impl Executor,
    principal: Uuid,
) -> Result<Option<PasswordFacts>> {
    ex.fetch_optional_as(
        "SELECT password_changed_at, created_at FROM principals WHERE id = $1",
        args![principal],
    )
    .await
}
