//! Server secrets shared by every replica (token signing key, audit anchoring key),
//! stored in the database so that N replicas agree without a shared file.
//!
//! A secret is 32 random bytes (hex), created on first use; `INSERT … ON CONFLICT DO
//! NOTHING` makes concurrent first starts agree on one value.

use crate::{args, Db};
use onecity_core::Result;
use rand::RngCore;

/// Returns the secret `name`, creating it on first use.
pub async fn get_or_create(db: &Db, name: &str) -> Result<Vec<u8>> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    db.execute(
        "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        args![name, hex::encode(bytes), onecity_core::time::now_micros()],
    )
    .await?;
    let row = db
        .fetch_optional(
            "SELECT value FROM server_secrets WHERE name = $1",
            args![name],
        )
        .await?
        .ok_or_else(|| onecity_core::Error::internal("secret vanished"))?;
    hex::decode(row.text("value")?).map_err(onecity_core::Error::internal)
}
