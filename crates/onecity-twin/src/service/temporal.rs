//! Temporal reads and retention on the service (GS CIM 009 §5.7.3, §5.7.4): history of
//! entities from the store, the type recorded with a history, and the retention purge
//! the binary runs every 60 s.

use crate::ld::error::NgsiResult;
use crate::query::temporal::{HistRow, TimeFilter};
use crate::service::Twin;

pub use crate::store::history::MAX_HISTORY_ROWS;

/// Reads history rows of entities (ordered by entity, attribute, time).
pub async fn history(
    twin: &Twin,
    tenant: &str,
    ids: &[String],
    attrs: &[String],
    tf: TimeFilter,
) -> NgsiResult<Vec<HistRow>> {
    crate::store::history::read(twin.db(), tenant, ids, attrs, tf).await
}

/// The type recorded with the entity's history, if it has any.
pub async fn history_type(twin: &Twin, tenant: &str, id: &str) -> NgsiResult<Option<String>> {
    Ok(crate::store::history::entity_type(twin.db(), tenant, id).await?)
}

/// Whether any of `attrs` of the entity has history at any time.
pub async fn has_history(
    twin: &Twin,
    tenant: &str,
    id: &str,
    attrs: &[String],
) -> NgsiResult<bool> {
    let rows = history(
        twin,
        tenant,
        &[id.to_string()],
        attrs,
        TimeFilter::default(),
    )
    .await?;
    Ok(!rows.is_empty())
}

/// Deletes history older than each (tenant, type) retention; returns rows deleted.
pub async fn purge(twin: &Twin, now: i64) -> NgsiResult<u64> {
    let rows = crate::store::retention::all(twin.db()).await?;
    let mut n = 0;
    for r in rows {
        let cutoff = now - r.keep_secs.saturating_mul(1_000_000);
        n += crate::store::history::delete_older(twin.db(), &r.tenant, &r.etype, cutoff).await?;
    }
    Ok(n)
}
