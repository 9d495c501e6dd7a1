//! Every SQL statement of single sign-on: the OpenID Connect provider's clients
//! (`oidc_clients`), authorization codes (`oidc_codes`), issued access tokens
//! (`oidc_tokens`), the relying party's pending sign-ins (`oidc_rp_logins`) and the
//! principals single sign-on creates (`principals.external_subject`). Secrets, codes and
//! states are stored as SHA-256 hex only.

use onecity_core::Result;
use onecity_store::{args, Executor};
use serde::Deserialize;
use uuid::Uuid;

/// A registered client.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ClientRow {
    /// Client id (`ocid_<hex>`).
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// SHA-256 hex of the secret; `None` for a public client (PKCE only).
    pub secret_sha256: Option<String>,
    /// JSON array of exact redirect URIs.
    pub redirect_uris: String,
    /// JSON array of allowed scopes.
    pub scopes: String,
    /// Creation time, µs.
    pub created_at: i64,
    /// Revocation time, µs.
    pub revoked_at: Option<i64>,
}

const CLIENT_COLUMNS: &str =
    "client_id, name, secret_sha256, redirect_uris, scopes, created_at, revoked_at";

/// Inserts a client.
pub(crate) async fn insert_client(
    mut ex: impl Executor,
    c: &ClientRow,
    created_by: &str,
) -> Result<()> {
    ex.execute(
        "INSERT INTO oidc_clients (client_id, name, secret_sha256, redirect_uris, scopes, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            &c.client_id,
            &c.name,
            c.secret_sha256.clone(),
            &c.redirect_uris,
            &c.scopes,
            created_by,
            c.created_at
        ],
    )
    .await?;
    Ok(())
}

/// One client, revoked or not.
pub(crate) async fn client(mut ex: impl Executor, client_id: &str) -> Result<Option<ClientRow>> {
    ex.fetch_optional_as(
        &format!("SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE client_id = $1"),
        args![client_id],
    )
    .await
}

/// Every client, oldest first.
pub(crate) async fn clients(mut ex: impl Executor) -> Result<Vec<ClientRow>> {
    ex.fetch_all_as(
        &format!("SELECT {CLIENT_COLUMNS} FROM oidc_clients ORDER BY created_at, client_id"),
        &[],
    )
    .await
}

/// Revokes a client; returns 1 when it was active.
pub(crate) async fn revoke_client(mut ex: impl Executor, client_id: &str, now: i64) -> Result<u64> {
    ex.execute(
        "UPDATE oidc_clients SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL",
        args![now, client_id],
    )
    .await
}

/// An authorization code as stored.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CodeRow {
    /// SHA-256 hex of the code.
    pub code_sha256: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The signed-in principal.
    pub principal_id: Uuid,
    /// The redirect URI of the authorization request.
    pub redirect_uri: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The request's nonce.
    pub nonce: Option<String>,
    /// PKCE S256 challenge (base64url SHA-256 of the verifier).
    pub code_challenge: String,
    /// Issue time, µs.
    pub created_at: i64,
    /// Expiry, µs.
    pub expires_at: i64,
    /// When it was exchanged.
    pub used_at: Option<i64>,
}

/// Inserts a code.
pub(crate) async fn insert_code(mut ex: impl Executor, c: &CodeRow) -> Result<()> {
    ex.execute(
        "INSERT INTO oidc_codes (code_sha256, client_id, principal_id, redirect_uri, scope, nonce, code_challenge, created_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)",
        args![
            &c.code_sha256,
            &c.client_id,
            c.principal_id,
            &c.redirect_uri,
            &c.scope,
            c.nonce.clone(),
            &c.code_challenge,
            c.created_at,
            c.expires_at
        ],
    )
    .await?;
    Ok(())
}

/// One code by its hash.
pub(crate) async fn code(mut ex: impl Executor, code_sha256: &str) -> Result<Option<CodeRow>> {
    ex.fetch_optional_as(
        "SELECT code_sha256, client_id, principal_id, redirect_uri, scope, nonce, code_challenge, created_at, expires_at, used_at \
         FROM oidc_codes WHERE code_sha256 = $1",
        args![code_sha256],
    )
    .await
}

/// Marks a code used; returns 1 for the first use, 0 when it was used before (atomic).
pub(crate) async fn use_code(mut ex: impl Executor, code_sha256: &str, now: i64) -> Result<u64> {
    ex.execute(
        "UPDATE oidc_codes SET used_at = $1 WHERE code_sha256 = $2 AND used_at IS NULL",
        args![now, code_sha256],
    )
    .await
}

/// Deletes codes that expired before `before` (µs).
pub(crate) async fn purge_codes(mut ex: impl Executor, before: i64) -> Result<u64> {
    ex.execute(
        "DELETE FROM oidc_codes WHERE expires_at < $1",
        args![before],
    )
    .await
}

/// Records an issued access token.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_token(
    mut ex: impl Executor,
    jti: Uuid,
    code_sha256: &str,
    client_id: &str,
    principal_id: Uuid,
    issued_at: i64,
    expires_at: i64,
) -> Result<()> {
    ex.execute(
        "INSERT INTO oidc_tokens (jti, code_sha256, client_id, principal_id, issued_at, expires_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        args![jti, code_sha256, client_id, principal_id, issued_at, expires_at],
    )
    .await?;
    Ok(())
}

/// Revokes every token issued from a code; returns how many.
pub(crate) async fn revoke_tokens_of_code(
    mut ex: impl Executor,
    code_sha256: &str,
    now: i64,
) -> Result<u64> {
    ex.execute(
        "UPDATE oidc_tokens SET revoked_at = $1 WHERE code_sha256 = $2 AND revoked_at IS NULL",
        args![now, code_sha256],
    )
    .await
}

/// Whether the token `jti` is known and not revoked.
pub(crate) async fn token_live(mut ex: impl Executor, jti: Uuid) -> Result<bool> {
    let row = ex
        .fetch_optional(
            "SELECT jti FROM oidc_tokens WHERE jti = $1 AND revoked_at IS NULL",
            args![jti],
        )
        .await?;
    Ok(row.is_some())
}

/// A pending relying-party sign-in.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RpLoginRow {
    /// The ID token's expected nonce.
    pub nonce: String,
    /// The PKCE verifier to send with the code.
    pub code_verifier: String,
    /// Expiry, µs.
    pub expires_at: i64,
}

/// Stores a pending sign-in under the state's hash.
pub(crate) async fn insert_rp_login(
    mut ex: impl Executor,
    state_sha256: &str,
    nonce: &str,
    code_verifier: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    ex.execute(
        "INSERT INTO oidc_rp_logins (state_sha256, nonce, code_verifier, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        args![state_sha256, nonce, code_verifier, now, expires_at],
    )
    .await?;
    Ok(())
}

/// Takes (reads and deletes) a pending sign-in; `None` when unknown or already taken.
pub(crate) async fn take_rp_login(
    mut ex: impl Executor,
    state_sha256: &str,
) -> Result<Option<RpLoginRow>> {
    let row: Option<RpLoginRow> = ex
        .fetch_optional_as(
            "SELECT nonce, code_verifier, expires_at FROM oidc_rp_logins WHERE state_sha256 = $1",
            args![state_sha256],
        )
        .await?;
    if row.is_some() {
        let n = ex
            .execute(
                "DELETE FROM oidc_rp_logins WHERE state_sha256 = $1",
                args![state_sha256],
            )
            .await?;
        if n == 0 {
            return Ok(None);
        }
    }
    Ok(row)
}

/// Deletes pending sign-ins that expired before `before` (µs).
pub(crate) async fn purge_rp_logins(mut ex: impl Executor, before: i64) -> Result<u64> {
    ex.execute(
        "DELETE FROM oidc_rp_logins WHERE expires_at < $1",
        args![before],
    )
    .await
}

/// The principal single sign-on created for `external_subject`, if any.
pub(crate) async fn principal_by_external(
    mut ex: impl Executor,
    external_subject: &str,
) -> Result<Option<Uuid>> {
    let row = ex
        .fetch_optional(
            "SELECT id FROM principals WHERE external_subject = $1",
            args![external_subject],
        )
        .await?;
    row.map(|r| r.uuid("id")).transpose()
}

/// A staff principal created by single sign-on (no password).
pub(crate) struct NewSsoPrincipal<'a> {
    pub id: Uuid,
    pub tenant: &'a str,
    pub username: &'a str,
    pub display_name: &'a str,
    pub email: Option<&'a str>,
    pub department_id: Option<Uuid>,
    pub external_subject: &'a str,
    pub now: i64,
}

/// Inserts a staff principal created by single sign-on.
pub(crate) async fn insert_sso_principal(
    mut ex: impl Executor,
    p: &NewSsoPrincipal<'_>,
) -> Result<()> {
    ex.execute(
        "INSERT INTO principals (id, tenant, kind, username, display_name, password_hash, department_id, created_at, email, external_subject) \
         VALUES ($1, $2, 'staff', $3, $4, NULL, $5, $6, $7, $8)",
        args![
            p.id,
            p.tenant,
            p.username,
            p.display_name,
            p.department_id,
            p.now,
            p.email,
            p.external_subject
        ],
    )
    .await?;
    Ok(())
}

/// Updates the name, e-mail and department of a single-sign-on principal.
pub(crate) async fn update_sso_principal(
    mut ex: impl Executor,
    id: Uuid,
    display_name: &str,
    email: Option<&str>,
    department_id: Option<Uuid>,
) -> Result<()> {
    ex.execute(
        "UPDATE principals SET display_name = $1, email = $2, department_id = $3 WHERE id = $4",
        args![display_name, email, department_id, id],
    )
    .await?;
    Ok(())
}

/// Replaces the grants of a principal by `grants` (role, jurisdiction, department).
pub(crate) async fn replace_grants(
    ex: &mut onecity_store::Tx,
    id: Uuid,
    grants: &[(String, Uuid, Option<Uuid>)],
    now: i64,
) -> Result<()> {
    ex.execute("DELETE FROM grants WHERE principal_id = $1", args![id])
        .await?;
    for (role, j, d) in grants {
        ex.execute(
            "INSERT INTO grants (principal_id, role, jurisdiction_id, department_id, created_at) VALUES ($1, $2, $3, $4, $5)",
            args![id, role.as_str(), *j, *d, now],
        )
        .await?;
    }
    Ok(())
}

/// The e-mail address of a principal, if it has one.
pub(crate) async fn email_of(mut ex: impl Executor, id: Uuid) -> Result<Option<String>> {
    let row = ex
        .fetch_optional("SELECT email FROM principals WHERE id = $1", args![id])
        .await?;
    Ok(row.map(|r| r.opt_text("email")).transpose()?.flatten())
}

/// The id of a department of `tenant` by its code.
pub(crate) async fn department_by_code(
    mut ex: impl Executor,
    tenant: &str,
    code: &str,
) -> Result<Option<Uuid>> {
    let row = ex
        .fetch_optional(
            "SELECT id FROM departments WHERE tenant = $1 AND code = $2",
            args![tenant, code],
        )
        .await?;
    row.map(|r| r.uuid("id")).transpose()
}
