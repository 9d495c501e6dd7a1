//! Every SQL statement of the key store's table (`iam_signing_keys`), with typed rows.
//! Private keys arrive here already sealed (AES-256-GCM under the master key, see
//! `keystore`); this module never sees a plain private key.

use onecity_core::Result;
use onecity_store::{args, Executor};
use serde::Deserialize;

/// One stored signing key.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct KeyRow {
    /// Key id (RFC 7638 JWK thumbprint, base64url).
    pub kid: String,
    /// What the key signs (`oidc`, later `credential`).
    pub purpose: String,
    /// JWS algorithm (`ES256`).
    pub alg: String,
    /// The public key as a JWK (JSON text).
    pub public_jwk: String,
    /// `v1:` + base64 of nonce ‖ AES-256-GCM ciphertext of the PKCS#8 document.
    pub private_sealed: String,
    /// Creation (= activation) time, µs since the epoch.
    pub created_at: i64,
    /// When it stopped signing; `None` for the active key.
    pub retired_at: Option<i64>,
    /// Until when a retired key stays published and accepted, µs since the epoch.
    pub publish_until: Option<i64>,
}

const COLUMNS: &str =
    "kid, purpose, alg, public_jwk, private_sealed, created_at, retired_at, publish_until";

/// Every key of every purpose, oldest first.
pub(crate) async fn all(mut ex: impl Executor) -> Result<Vec<KeyRow>> {
    ex.fetch_all_as(
        &format!("SELECT {COLUMNS} FROM iam_signing_keys ORDER BY created_at, kid"),
        &[],
    )
    .await
}

/// Inserts a new active key. Fails with `conflict` when the purpose already has an
/// unretired key (the partial unique index), so two nodes never both create one.
pub(crate) async fn insert(mut ex: impl Executor, k: &KeyRow) -> Result<()> {
    ex.execute(
        "INSERT INTO iam_signing_keys (kid, purpose, alg, public_jwk, private_sealed, created_at, retired_at, publish_until) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![
            k.kid.clone(),
            k.purpose.clone(),
            k.alg.clone(),
            k.public_jwk.clone(),
            k.private_sealed.clone(),
            k.created_at,
            k.retired_at,
            k.publish_until
        ],
    )
    .await?;
    Ok(())
}

/// Retires the purpose's active key at `now`, published until `publish_until`; returns
/// how many keys were retired (0 or 1).
pub(crate) async fn retire_active(
    mut ex: impl Executor,
    purpose: &str,
    now: i64,
    publish_until: i64,
) -> Result<u64> {
    ex.execute(
        "UPDATE iam_signing_keys SET retired_at = $1, publish_until = $2 \
         WHERE purpose = $3 AND retired_at IS NULL",
        args![now, publish_until, purpose],
    )
    .await
}
