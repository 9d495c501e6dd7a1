//! The transactional outbox: events are written in the same transaction as the change they
//! describe, so an event is published if and only if its change committed. The relay in
//! [`crate::bus`] publishes them afterwards, at least once, also after a crash.

use crate::{args, Tx};
use onecity_core::events::EventEnvelope;
use onecity_core::Result;

/// Writes `env` to the outbox inside `tx`.
pub async fn enqueue(tx: &mut Tx, env: &EventEnvelope) -> Result<()> {
    let payload = serde_json::to_string(env).map_err(onecity_core::Error::internal)?;
    tx.execute(
        "INSERT INTO outbox (id, tenant, topic, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
        args![
            env.id,
            env.tenant.clone(),
            env.event.topic(),
            payload,
            env.at
        ],
    )
    .await?;
    Ok(())
}
