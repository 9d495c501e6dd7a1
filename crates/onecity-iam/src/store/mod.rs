//! Every SQL statement of the limiter's table (`iam_limits`) and of the login path, with
//! typed rows. The same `$1`-style text runs on SQLite (≥ 3.35, for `RETURNING`) and
//! PostgreSQL.
//!
//! The submodules hold the rest of the crate's SQL: tenants, jurisdictions and departments
//! (`tenants`, `org`), principals, grants and app keys (`principals`), second factors and
//! sessions (`mfa`), citizens and companies (`identity`), the key store (`keys`) and
//! single sign-on (`oidc`).

pub(crate) mod identity;

use onecity_core::Result;
use onecity_store::{args, Db, Executor};

pub(crate) mod mfa;
pub(crate) mod org;
pub(crate) mod principals;
pub(crate) mod tenants;

/// Counts one hit for `limit_key` and returns the counter after it, in one statement: a
/// new key, or a key whose window ended (`expires_at <= now`), starts a window of one hit
/// ending at `$3`; otherwise the hit is added to the running window. `INSERT … ON
/// CONFLICT DO UPDATE … RETURNING` is atomic on both engines (PostgreSQL locks the row;
/// SQLite has one writer), so concurrent hits each see a distinct count.
const HIT: &str = "INSERT INTO iam_limits (limit_key, hits, window_start, expires_at) \
     VALUES ($1, 1, $2, $3) \
     ON CONFLICT (limit_key) DO UPDATE SET \
     hits = CASE WHEN iam_limits.expires_at <= $2 THEN 1 ELSE iam_limits.hits + 1 END, \
     window_start = CASE WHEN iam_limits.expires_at <= $2 THEN $2 \
     ELSE iam_limits.window_start END, \
     expires_at = CASE WHEN iam_limits.expires_at <= $2 THEN $3 \
     ELSE iam_limits.expires_at END \
     RETURNING hits, expires_at";

/// Gives one hit back within the running window (never below zero).
const RELEASE: &str = "UPDATE iam_limits SET hits = hits - 1 \
     WHERE limit_key = $1 AND hits > 0 AND expires_at > $2";

/// Forgets a key (its window starts afresh on the next hit).
const RESET: &str = "DELETE FROM iam_limits WHERE limit_key = $1";

/// Deletes the counters whose window ended.
const PURGE: &str = "DELETE FROM iam_limits WHERE expires_at <= $1";

/// The account row a login checks.
const LOGIN_ACCOUNT: &str = "SELECT id, tenant, password_hash, disabled FROM principals \
     WHERE username = $1 AND kind <> 'app'";

/// A limiter counter after a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CounterRow {
    /// Hits in the current window, this one included.
    pub hits: i64,
    /// End of the current window, µs since the epoch.
    pub expires_at: i64,
}

/// Counts a hit (see [`HIT`]) inside the caller's transaction, which must commit for the
/// hit to count.
pub(crate) async fn hit_in(
    mut ex: impl Executor,
    limit_key: &str,
    now: i64,
    window_end: i64,
) -> Result<CounterRow> {
    let row = ex
        .fetch_optional(HIT, args![limit_key, now, window_end])
        .await?
        .ok_or_else(|| onecity_core::Error::internal("limiter upsert returned no row"))?;
    Ok(CounterRow {
        hits: row.i64("hits")?,
        expires_at: row.i64("expires_at")?,
    })
}

/// Gives back one hit of the running window.
pub(crate) async fn release(db: &Db, limit_key: &str, now: i64) -> Result<()> {
    db.execute(RELEASE, args![limit_key, now]).await?;
    Ok(())
}

/// Deletes a key's counter.
pub(crate) async fn reset(mut ex: impl Executor, limit_key: &str) -> Result<()> {
    ex.execute(RESET, args![limit_key]).await?;
    Ok(())
}

/// Deletes every counter whose window ended before `now`; returns how many.
pub(crate) async fn purge(mut ex: impl Executor, now: i64) -> Result<u64> {
    ex.execute(PURGE, args![now]).await
}

/// The account a login names.
#[derive(Debug, Clone)]
pub(crate) struct LoginAccount {
    /// Principal id.
    pub id: uuid::Uuid,
    /// Home tenant (`None` for deployment-level accounts).
    pub tenant: Option<String>,
    /// PHC string, when the account has a password.
    pub password_hash: Option<String>,
    /// Disabled accounts never log in.
    pub disabled: bool,
}

/// Loads the non-app account called `username`.
pub(crate) async fn login_account(db: &Db, username: &str) -> Result<Option<LoginAccount>> {
    let Some(row) = db.fetch_optional(LOGIN_ACCOUNT, args![username]).await? else {
        return Ok(None);
    };
    Ok(Some(LoginAccount {
        id: row.uuid("id")?,
        tenant: row.opt_text("tenant")?,
        password_hash: row.opt_text("password_hash")?,
        disabled: row.bool("disabled")?,
    }))
}

/// Whether `principal_id` names a principal of `tenant` (any kind, enabled or disabled).
pub(crate) async fn principal_in_tenant(
    db: &Db,
    tenant: &str,
    principal_id: uuid::Uuid,
) -> Result<bool> {
    let found = db
        .fetch_optional(
            "SELECT id FROM principals WHERE id = $1 AND tenant = $2",
            args![principal_id, tenant],
        )
        .await?;
    Ok(found.is_some())
}

/// Whether `department_id` names a department of `tenant`.
pub(crate) async fn department_in_tenant(
    db: &Db,
    tenant: &str,
    department_id: uuid::Uuid,
) -> Result<bool> {
    let found = db
        .fetch_optional(
            "SELECT id FROM departments WHERE id = $1 AND tenant = $2",
            args![department_id, tenant],
        )
        .await?;
    Ok(found.is_some())
}

/// The distinct e-mail addresses of the principals `principal_ids` that have one.
pub(crate) async fn emails_of(db: &Db, principal_ids: &[uuid::Uuid]) -> Result<Vec<String>> {
    if principal_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut query =
        onecity_store::SqlBuilder::new("SELECT DISTINCT email FROM principals WHERE id IN ");
    query.push_list(principal_ids.iter().copied());
    query.push(" AND email IS NOT NULL");
    db.fetch_all(query.sql(), query.args())
        .await?
        .iter()
        .map(|row| row.text("email"))
        .collect()
}

pub(crate) mod keys;
pub(crate) mod oidc;
