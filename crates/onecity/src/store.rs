//! Every SQL statement of the binary's own table, `event_receipts` (component `ops`): one
//! receipt row per event the event-log consumer has seen, with a delivery count.

use onecity_store::{args, Executor, Result};
use uuid::Uuid;

/// Records one delivery of event `event_id` to `consumer`: a new receipt with
/// `deliveries = 1`, or the existing receipt's count plus one (redelivery after a crash).
pub async fn record_receipt(
    mut ex: impl Executor,
    consumer: &str,
    event_id: Uuid,
    topic: &str,
    at_micros: i64,
) -> Result<()> {
    ex.execute(
        "INSERT INTO event_receipts (consumer, event_id, topic, deliveries, first_at) \
         VALUES ($1, $2, $3, 1, $4) \
         ON CONFLICT (consumer, event_id) DO UPDATE SET deliveries = event_receipts.deliveries + 1",
        args![consumer, event_id, topic, at_micros],
    )
    .await?;
    Ok(())
}
