//! SQL of `twin_retention`: per tenant and entity type, how long history is kept.

use onecity_core::Result;
use onecity_store::{args, Executor};
use serde::Deserialize;

/// A retention policy.
#[derive(Debug, Deserialize)]
pub struct RetentionRow {
    /// NGSI-LD tenant.
    pub tenant: String,
    /// Expanded entity type.
    pub etype: String,
    /// Seconds of history kept.
    pub keep_secs: i64,
}

/// Every policy of every tenant.
pub async fn all(mut ex: impl Executor) -> Result<Vec<RetentionRow>> {
    ex.fetch_all_as("SELECT tenant, etype, keep_secs FROM twin_retention", &[])
        .await
}

/// The seconds kept for a type, if a policy is set.
pub async fn get(mut ex: impl Executor, tenant: &str, etype: &str) -> Result<Option<i64>> {
    let r = ex
        .fetch_optional(
            "SELECT keep_secs FROM twin_retention WHERE tenant = $1 AND etype = $2",
            args![tenant, etype],
        )
        .await?;
    r.map(|r| r.i64("keep_secs")).transpose()
}

/// Sets the policy of a type.
pub async fn put(
    mut ex: impl Executor,
    tenant: &str,
    etype: &str,
    keep_secs: i64,
    now: i64,
) -> Result<u64> {
    ex.execute(
        "INSERT INTO twin_retention (tenant, etype, keep_secs, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant, etype) DO UPDATE SET keep_secs = excluded.keep_secs, updated_at = excluded.updated_at",
        args![tenant, etype, keep_secs, now],
    )
    .await
}

/// Removes the policy of a type; the number of rows deleted.
pub async fn delete(mut ex: impl Executor, tenant: &str, etype: &str) -> Result<u64> {
    ex.execute(
        "DELETE FROM twin_retention WHERE tenant = $1 AND etype = $2",
        args![tenant, etype],
    )
    .await
}
