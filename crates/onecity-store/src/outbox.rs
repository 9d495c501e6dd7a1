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

/// Writes several events to the outbox inside `tx` (multi-row inserts of up to 256 rows,
/// in [`crate::shaped_chunks`] so that the statements stay prepared).
pub async fn enqueue_many(tx: &mut Tx, envs: &[EventEnvelope]) -> Result<()> {
    for chunk in crate::shaped_chunks(envs, 256) {
        let mut rows = Vec::with_capacity(chunk.len());
        let mut a: Vec<crate::Val> = Vec::with_capacity(chunk.len() * 5);
        for (i, env) in chunk.iter().enumerate() {
            rows.push(format!(
                "({})",
                crate::placeholders(tx.backend(), i * 5 + 1, 5)
            ));
            let payload = serde_json::to_string(env).map_err(onecity_core::Error::internal)?;
            a.extend([
                env.id.into(),
                env.tenant.clone().into(),
                env.event.topic().into(),
                payload.into(),
                crate::Val::from(env.at),
            ]);
        }
        let sql = format!(
            "INSERT INTO outbox (id, tenant, topic, payload, created_at) VALUES {}",
            rows.join(", ")
        );
        tx.execute(&sql, &a).await?;
    }
    Ok(())
}

/// How many committed events wait for the relay (unpublished outbox rows).
pub async fn backlog(mut ex: impl crate::Executor) -> Result<i64> {
    let row = ex
        .fetch_optional(
            "SELECT COUNT(*) AS n FROM outbox WHERE published_at IS NULL",
            &[],
        )
        .await?;
    row.map_or(Ok(0), |r| r.i64("n"))
}
