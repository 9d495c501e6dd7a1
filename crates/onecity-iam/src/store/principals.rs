//! Every SQL statement of principals, their role grants and app keys (`principals`,
//! `grants`, `api_keys`) outside the login path (see the parent module) and second factors
//! (see `mfa`). Each function takes any [`Executor`] (`&db` or `&mut tx`); times are µs
//! since the epoch.

use onecity_core::Result;
use onecity_store::{args, Executor, Row};
use serde::Deserialize;
use uuid::Uuid;

/// The columns of `principals` a [`PrincipalRow`] reads.
const PRINCIPAL_COLUMNS: &str =
    "id, tenant, kind, username, display_name, department_id, disabled, email, assurance";

/// The columns of `api_keys` (alias `k`) and of the key's jurisdiction (alias `j`) an
/// [`ApiKeyRow`] reads.
const API_KEY_COLUMNS: &str = "k.id, k.tenant, k.name, k.secret_sha256, k.scopes, \
     k.jurisdiction_id, k.rate_per_minute, k.revoked_at, j.path";

/// The grants of one principal, with the path of each grant's jurisdiction.
const GRANTS_OF: &str = "SELECT g.role, g.jurisdiction_id, g.department_id, j.path \
     FROM grants g LEFT JOIN jurisdictions j ON j.id = g.jurisdiction_id \
     WHERE g.principal_id = $1";

/// A principal as loaded for authentication and user lists.
#[derive(Debug, Clone)]
pub(crate) struct PrincipalRow {
    /// Principal id.
    pub id: Uuid,
    /// Home tenant (`None` for deployment-level accounts).
    pub tenant: Option<String>,
    /// `staff`, `citizen`, `company` or `app`.
    pub kind: String,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Department of a staff member.
    pub department_id: Option<Uuid>,
    /// Disabled accounts never authenticate (a value that does not read counts as
    /// disabled).
    pub disabled: bool,
    /// E-mail address for notifications.
    pub email: Option<String>,
    /// Identity assurance level (`assurance::AssuranceLevel` name).
    pub assurance: Option<String>,
}

fn principal_from_row(r: &Row) -> Result<PrincipalRow> {
    Ok(PrincipalRow {
        id: r.uuid("id")?,
        tenant: r.opt_text("tenant")?,
        kind: r.text("kind")?,
        username: r.text("username")?,
        display_name: r.text("display_name")?,
        department_id: r.opt_uuid("department_id")?,
        disabled: r.bool("disabled").unwrap_or(true),
        email: r.opt_text("email")?,
        assurance: r.opt_text("assurance")?,
    })
}

/// One role grant of a principal.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct GrantRow {
    /// Role name.
    pub role: String,
    /// Root of the granted subtree (`None` for deployment-wide roles).
    pub jurisdiction_id: Option<Uuid>,
    /// Department the grant is limited to.
    pub department_id: Option<Uuid>,
    /// The path of `jurisdiction_id`.
    pub path: Option<String>,
}

/// An app key with the path of its jurisdiction.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ApiKeyRow {
    /// Key id.
    pub id: Uuid,
    /// Tenant code.
    pub tenant: Option<String>,
    /// App name.
    pub name: String,
    /// SHA-256 hex of the secret.
    pub secret_sha256: String,
    /// Scopes as JSON text (an array of strings).
    pub scopes: String,
    /// Subtree root.
    pub jurisdiction_id: Option<Uuid>,
    /// Requests per minute.
    pub rate_per_minute: i64,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// The path of `jurisdiction_id`.
    pub path: Option<String>,
}

/// A principal to insert.
pub(crate) struct NewPrincipal<'a> {
    /// Principal id.
    pub id: Uuid,
    /// Home tenant.
    pub tenant: &'a str,
    /// `staff`, `citizen` or `company`.
    pub kind: &'a str,
    /// Login name.
    pub username: &'a str,
    /// Display name.
    pub display_name: &'a str,
    /// PHC string of the password.
    pub password_hash: &'a str,
    /// Department of a staff member.
    pub department_id: Option<Uuid>,
    /// E-mail address.
    pub email: Option<&'a str>,
    /// Creation time.
    pub now: i64,
}

/// An app key to insert.
pub(crate) struct NewApiKeyRow<'a> {
    /// Key id.
    pub id: Uuid,
    /// Tenant code.
    pub tenant: &'a str,
    /// App name.
    pub name: &'a str,
    /// SHA-256 hex of the secret.
    pub secret_sha256: &'a str,
    /// Scopes as JSON text.
    pub scopes: &'a str,
    /// Subtree root.
    pub jurisdiction_id: Uuid,
    /// Requests per minute.
    pub rate_per_minute: i64,
    /// Who created it.
    pub created_by: &'a str,
    /// Creation time.
    pub now: i64,
}

/// Whether the platform admin `admin` exists.
pub(crate) async fn admin_exists(mut ex: impl Executor) -> Result<bool> {
    Ok(ex
        .fetch_optional("SELECT id FROM principals WHERE username = 'admin'", &[])
        .await?
        .is_some())
}

/// Inserts the platform admin `admin` (tenant-less staff) unless the username is taken.
pub(crate) async fn insert_bootstrap_admin(
    mut ex: impl Executor,
    id: Uuid,
    password_hash: &str,
    now: i64,
) -> Result<()> {
    ex.execute(
        "INSERT INTO principals (id, tenant, kind, username, display_name, password_hash, created_at) \
         VALUES ($1, NULL, 'staff', 'admin', 'Administrator', $2, $3) \
         ON CONFLICT (username) DO NOTHING",
        args![id, password_hash, now],
    )
    .await?;
    Ok(())
}

/// Inserts a principal. Errors: `conflict` when the username is taken.
pub(crate) async fn insert_principal(mut ex: impl Executor, n: &NewPrincipal<'_>) -> Result<()> {
    ex.execute(
        "INSERT INTO principals (id, tenant, kind, username, display_name, password_hash, department_id, created_at, email) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args![
            n.id,
            n.tenant,
            n.kind,
            n.username,
            n.display_name,
            n.password_hash,
            n.department_id,
            n.now,
            n.email.map(str::to_string)
        ],
    )
    .await?;
    Ok(())
}

/// Inserts a role grant.
pub(crate) async fn insert_grant(
    mut ex: impl Executor,
    principal: Uuid,
    role: &str,
    jurisdiction_id: Option<Uuid>,
    department_id: Option<Uuid>,
    now: i64,
) -> Result<()> {
    ex.execute(
        "INSERT INTO grants (principal_id, role, jurisdiction_id, department_id, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
        args![principal, role, jurisdiction_id, department_id, now],
    )
    .await?;
    Ok(())
}

/// The principal `id` (enabled or disabled).
pub(crate) async fn principal(mut ex: impl Executor, id: Uuid) -> Result<Option<PrincipalRow>> {
    ex.fetch_optional(
        &format!("SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE id = $1"),
        args![id],
    )
    .await?
    .as_ref()
    .map(principal_from_row)
    .transpose()
}

/// Up to `limit` non-app principals of `tenant` with an id after `after`, by id.
pub(crate) async fn users_page(
    mut ex: impl Executor,
    tenant: &str,
    after: &str,
    limit: u32,
) -> Result<Vec<PrincipalRow>> {
    ex.fetch_all(
        &format!(
            "SELECT {PRINCIPAL_COLUMNS} FROM principals \
             WHERE tenant = $1 AND id > $2 AND kind <> 'app' ORDER BY id LIMIT {limit}"
        ),
        args![tenant, after],
    )
    .await?
    .iter()
    .map(principal_from_row)
    .collect()
}

/// The role grants of `principal`.
pub(crate) async fn grants_of(mut ex: impl Executor, principal: Uuid) -> Result<Vec<GrantRow>> {
    ex.fetch_all_as(GRANTS_OF, args![principal]).await
}

/// The unrevoked app key `id`.
pub(crate) async fn active_api_key(mut ex: impl Executor, id: Uuid) -> Result<Option<ApiKeyRow>> {
    ex.fetch_optional_as(
        &format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys k LEFT JOIN jurisdictions j ON j.id = k.jurisdiction_id \
             WHERE k.id = $1 AND k.revoked_at IS NULL"
        ),
        args![id],
    )
    .await
}

/// Every app key of `tenant` (revoked ones too), by id.
pub(crate) async fn api_keys_of(mut ex: impl Executor, tenant: &str) -> Result<Vec<ApiKeyRow>> {
    ex.fetch_all_as(
        &format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys k LEFT JOIN jurisdictions j ON j.id = k.jurisdiction_id \
             WHERE k.tenant = $1 ORDER BY k.id"
        ),
        args![tenant],
    )
    .await
}

/// Inserts an app key.
pub(crate) async fn insert_api_key(mut ex: impl Executor, k: &NewApiKeyRow<'_>) -> Result<()> {
    ex.execute(
        "INSERT INTO api_keys (id, tenant, name, secret_sha256, scopes, jurisdiction_id, rate_per_minute, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args![
            k.id,
            k.tenant,
            k.name,
            k.secret_sha256,
            k.scopes,
            k.jurisdiction_id,
            k.rate_per_minute,
            k.created_by,
            k.now
        ],
    )
    .await?;
    Ok(())
}

/// Revokes the app key `id` at `now`.
pub(crate) async fn revoke_api_key(mut ex: impl Executor, id: Uuid, now: i64) -> Result<()> {
    ex.execute(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2",
        args![now, id],
    )
    .await?;
    Ok(())
}
