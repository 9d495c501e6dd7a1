//! Every SQL statement of citizens, one-time codes, real-name records, companies, mandates,
//! company actions and read-assurance requirements (migration 4), with typed rows. Each
//! function takes any [`Executor`]: `&db` outside a transaction, `&mut tx` inside one.

use onecity_core::Result;
use onecity_store::{args, Executor};
use serde::Deserialize;
use uuid::Uuid;

/// A principal as the citizen flows need it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AccountRow {
    /// Principal id.
    pub id: Uuid,
    /// Kind (`citizen`, `staff`, …).
    pub kind: String,
    /// Home tenant.
    pub tenant: Option<String>,
    /// Disabled accounts never sign in.
    pub disabled: bool,
}

/// The account whose login name is `username` (any kind but apps).
pub(crate) async fn account_by_username(
    mut ex: impl Executor,
    username: &str,
) -> Result<Option<AccountRow>> {
    ex.fetch_optional_as(
        "SELECT id, kind, tenant, disabled FROM principals WHERE username = $1 AND kind <> 'app'",
        args![username],
    )
    .await
}

/// A citizen to insert.
pub(crate) struct NewCitizen<'a> {
    pub id: Uuid,
    pub tenant: &'a str,
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub now: i64,
}

/// Inserts a citizen at level `low`.
pub(crate) async fn insert_citizen(mut ex: impl Executor, c: &NewCitizen<'_>) -> Result<()> {
    ex.execute(
        "INSERT INTO principals (id, tenant, kind, username, display_name, password_hash, \
         created_at, email, phone, assurance) \
         VALUES ($1, $2, 'citizen', $3, $4, $5, $6, $7, $8, 'low')",
        args![
            c.id,
            c.tenant,
            c.username,
            c.display_name,
            c.password_hash,
            c.now,
            c.email,
            c.phone
        ],
    )
    .await?;
    Ok(())
}

/// Sets a principal's password hash.
pub(crate) async fn set_password(mut ex: impl Executor, id: Uuid, hash: &str) -> Result<()> {
    ex.execute(
        "UPDATE principals SET password_hash = $1 WHERE id = $2",
        args![hash, id],
    )
    .await?;
    Ok(())
}

/// Raises a principal's assurance level to `level` (never lowers a known one: the caller
/// decides), and optionally its display name.
pub(crate) async fn set_assurance(
    mut ex: impl Executor,
    id: Uuid,
    level: &str,
    display_name: &str,
) -> Result<()> {
    ex.execute(
        "UPDATE principals SET assurance = $1, display_name = $2 WHERE id = $3",
        args![level, display_name, id],
    )
    .await?;
    Ok(())
}

/// A principal's stored assurance level.
pub(crate) async fn assurance_of(mut ex: impl Executor, id: Uuid) -> Result<Option<String>> {
    Ok(ex
        .fetch_optional("SELECT assurance FROM principals WHERE id = $1", args![id])
        .await?
        .map(|r| r.opt_text("assurance"))
        .transpose()?
        .flatten())
}

/// A one-time code row.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CodeRow {
    pub id: Uuid,
    pub purpose: String,
    pub code_hash: String,
    pub attempts: i64,
    pub expires_at: i64,
}

/// Stores a new code; earlier unused codes of the identifier stop working (only the latest
/// counts).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_code(
    mut ex: impl Executor,
    id: Uuid,
    tenant: &str,
    identifier: &str,
    purpose: &str,
    code_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    ex.execute(
        "UPDATE iam_codes SET used_at = $1 WHERE tenant = $2 AND identifier = $3 AND used_at IS NULL",
        args![now, tenant, identifier],
    )
    .await?;
    ex.execute(
        "INSERT INTO iam_codes (id, tenant, identifier, purpose, code_hash, attempts, created_at, \
         expires_at, used_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, NULL)",
        args![id, tenant, identifier, purpose, code_hash, now, expires_at],
    )
    .await?;
    Ok(())
}

/// The latest unused code of an identifier, if any (expired ones included: the caller
/// decides).
pub(crate) async fn latest_code(
    mut ex: impl Executor,
    tenant: &str,
    identifier: &str,
) -> Result<Option<CodeRow>> {
    ex.fetch_optional_as(
        "SELECT id, purpose, code_hash, attempts, expires_at FROM iam_codes \
         WHERE tenant = $1 AND identifier = $2 AND used_at IS NULL \
         ORDER BY created_at DESC LIMIT 1",
        args![tenant, identifier],
    )
    .await
}

/// Counts one attempt on a code; returns whether the code was still unused (so that of
/// two concurrent right guesses only one wins, callers consume with [`use_code`]).
pub(crate) async fn count_attempt(mut ex: impl Executor, id: Uuid) -> Result<()> {
    ex.execute(
        "UPDATE iam_codes SET attempts = attempts + 1 WHERE id = $1",
        args![id],
    )
    .await?;
    Ok(())
}

/// Marks a code used; returns false when it already was (a concurrent use won).
pub(crate) async fn use_code(mut ex: impl Executor, id: Uuid, now: i64) -> Result<bool> {
    Ok(ex
        .execute(
            "UPDATE iam_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL",
            args![now, id],
        )
        .await?
        == 1)
}

/// Deletes codes that expired before `before`.
pub(crate) async fn purge_codes(mut ex: impl Executor, before: i64) -> Result<u64> {
    ex.execute("DELETE FROM iam_codes WHERE expires_at < $1", args![before])
        .await
}

/// A real-name record to insert.
pub(crate) struct NewRealName<'a> {
    pub principal_id: Uuid,
    pub tenant: &'a str,
    pub name: &'a str,
    pub masked: &'a str,
    pub hmac: &'a str,
    pub birth_date: &'a str,
    pub level: &'a str,
    pub verifier: &'a str,
    pub synthetic: bool,
    pub now: i64,
}

/// Inserts or replaces a principal's real-name record. A `conflict` error means another
/// principal holds the same identity number.
pub(crate) async fn upsert_real_name(mut ex: impl Executor, r: &NewRealName<'_>) -> Result<()> {
    ex.execute(
        "DELETE FROM iam_real_names WHERE principal_id = $1",
        args![r.principal_id],
    )
    .await?;
    ex.execute(
        "INSERT INTO iam_real_names (principal_id, tenant, name, id_number_masked, id_number_hmac, \
         birth_date, level, verifier, synthetic, verified_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        args![
            r.principal_id,
            r.tenant,
            r.name,
            r.masked,
            r.hmac,
            r.birth_date,
            r.level,
            r.verifier,
            r.synthetic,
            r.now
        ],
    )
    .await?;
    Ok(())
}

/// A stored real-name record (no full number: only its mask).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RealNameRow {
    pub name: String,
    pub id_number_masked: String,
    pub birth_date: String,
    pub level: String,
    pub verifier: String,
    pub synthetic: bool,
    pub verified_at: i64,
}

/// A principal's real-name record.
pub(crate) async fn real_name(mut ex: impl Executor, id: Uuid) -> Result<Option<RealNameRow>> {
    ex.fetch_optional_as(
        "SELECT name, id_number_masked, birth_date, level, verifier, synthetic, verified_at \
         FROM iam_real_names WHERE principal_id = $1",
        args![id],
    )
    .await
}

/// A company row.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CompanyRow {
    pub id: Uuid,
    pub tenant: String,
    pub credit_code: String,
    pub name: String,
    pub legal_rep_id: Uuid,
    pub created_at: i64,
}

/// Inserts a company: its principal (kind `company`, login name = credit code, no
/// password: people act for it) and its row.
pub(crate) async fn insert_company(mut ex: impl Executor, c: &CompanyRow) -> Result<()> {
    ex.execute(
        "INSERT INTO principals (id, tenant, kind, username, display_name, password_hash, \
         created_at, assurance) VALUES ($1, $2, 'company', $3, $4, NULL, $5, NULL)",
        args![
            c.id,
            c.tenant.clone(),
            c.credit_code.clone(),
            c.name.clone(),
            c.created_at
        ],
    )
    .await?;
    ex.execute(
        "INSERT INTO iam_companies (id, tenant, credit_code, name, legal_rep_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        args![
            c.id,
            c.tenant.clone(),
            c.credit_code.clone(),
            c.name.clone(),
            c.legal_rep_id,
            c.created_at
        ],
    )
    .await?;
    Ok(())
}

/// The company of `tenant` with credit code `code`.
pub(crate) async fn company_by_code(
    mut ex: impl Executor,
    tenant: &str,
    code: &str,
) -> Result<Option<CompanyRow>> {
    ex.fetch_optional_as(
        "SELECT id, tenant, credit_code, name, legal_rep_id, created_at FROM iam_companies \
         WHERE tenant = $1 AND credit_code = $2",
        args![tenant, code],
    )
    .await
}

/// A mandate row.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MandateRow {
    pub id: Uuid,
    pub company_id: Uuid,
    pub agent_id: Uuid,
    pub actions: String,
    pub valid_until: i64,
    pub granted_by: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

const MANDATE_COLUMNS: &str =
    "id, company_id, agent_id, actions, valid_until, granted_by, created_at, revoked_at";

/// Inserts a mandate (`actions` as JSON text).
pub(crate) async fn insert_mandate(
    mut ex: impl Executor,
    m: &MandateRow,
    tenant: &str,
) -> Result<()> {
    ex.execute(
        "INSERT INTO iam_mandates (id, company_id, tenant, agent_id, actions, valid_until, \
         granted_by, created_at, revoked_at, revoked_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)",
        args![
            m.id,
            m.company_id,
            tenant,
            m.agent_id,
            m.actions.clone(),
            m.valid_until,
            m.granted_by.clone(),
            m.created_at
        ],
    )
    .await?;
    Ok(())
}

/// Mandates of a company, newest first (at most 500).
pub(crate) async fn mandates_of(
    mut ex: impl Executor,
    company_id: Uuid,
) -> Result<Vec<MandateRow>> {
    let sql = format!(
        "SELECT {MANDATE_COLUMNS} FROM iam_mandates WHERE company_id = $1 \
         ORDER BY created_at DESC LIMIT 500"
    );
    ex.fetch_all_as(&sql, args![company_id]).await
}

/// Mandates of one agent for a company, newest first.
pub(crate) async fn mandates_of_agent(
    mut ex: impl Executor,
    company_id: Uuid,
    agent_id: Uuid,
) -> Result<Vec<MandateRow>> {
    let sql = format!(
        "SELECT {MANDATE_COLUMNS} FROM iam_mandates WHERE company_id = $1 AND agent_id = $2 \
         ORDER BY created_at DESC LIMIT 500"
    );
    ex.fetch_all_as(&sql, args![company_id, agent_id]).await
}

/// Revokes a mandate; returns false when it does not exist for the company or was already
/// revoked.
pub(crate) async fn revoke_mandate(
    mut ex: impl Executor,
    company_id: Uuid,
    id: Uuid,
    by: &str,
    now: i64,
) -> Result<bool> {
    Ok(ex
        .execute(
            "UPDATE iam_mandates SET revoked_at = $1, revoked_by = $2 \
             WHERE id = $3 AND company_id = $4 AND revoked_at IS NULL",
            args![now, by, id, company_id],
        )
        .await?
        == 1)
}

/// Records one company action.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_company_action(
    mut ex: impl Executor,
    id: Uuid,
    company_id: Uuid,
    tenant: &str,
    person_id: Uuid,
    mandate_id: Option<Uuid>,
    action: &str,
    detail: &str,
    now: i64,
) -> Result<()> {
    ex.execute(
        "INSERT INTO iam_company_actions (id, company_id, tenant, person_id, mandate_id, action, \
         detail, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![id, company_id, tenant, person_id, mandate_id, action, detail, now],
    )
    .await?;
    Ok(())
}

/// The level reading a resource of `tenant` requires, if any.
pub(crate) async fn read_assurance(
    mut ex: impl Executor,
    tenant: &str,
    resource_id: &str,
) -> Result<Option<String>> {
    ex.fetch_optional(
        "SELECT min_level FROM iam_read_assurance WHERE tenant = $1 AND resource_id = $2",
        args![tenant, resource_id],
    )
    .await?
    .map(|r| r.text("min_level"))
    .transpose()
}

/// Sets (`Some`) or clears (`None`) the level reading a resource requires.
pub(crate) async fn set_read_assurance(
    mut ex: impl Executor,
    tenant: &str,
    resource_id: &str,
    level: Option<&str>,
    by: &str,
    now: i64,
) -> Result<()> {
    ex.execute(
        "DELETE FROM iam_read_assurance WHERE tenant = $1 AND resource_id = $2",
        args![tenant, resource_id],
    )
    .await?;
    if let Some(level) = level {
        ex.execute(
            "INSERT INTO iam_read_assurance (tenant, resource_id, min_level, set_by, set_at) \
             VALUES ($1, $2, $3, $4, $5)",
            args![tenant, resource_id, level, by, now],
        )
        .await?;
    }
    Ok(())
}
