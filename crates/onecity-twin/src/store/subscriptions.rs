//! SQL of `twin_subscriptions` (component `twin_sub`): one row per subscription with the
//! members as sent (JSON), its `@context` (JSON), times in µs and notification counters.

use onecity_core::Result;
use onecity_store::migrate::Migration;
use onecity_store::{args, Executor, Val};
use serde::Deserialize;

const V1: &str = r#"
CREATE TABLE twin_subscriptions (
  tenant TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, context TEXT NOT NULL,
  created_at BIGINT NOT NULL, modified_at BIGINT NOT NULL,
  times_sent BIGINT NOT NULL DEFAULT 0, times_failed BIGINT NOT NULL DEFAULT 0,
  last_notification BIGINT, last_success BIGINT, last_failure BIGINT,
  PRIMARY KEY (tenant, id));
"#;

/// Migrations of the `twin_sub` component: `twin_subscriptions`, one row per subscription
/// (tenant, id, the members as sent in JSON, the `@context` in JSON, times in µs and the
/// notification counters).
pub static MIGRATIONS: [Migration; 1] = [Migration {
    version: 1,
    name: "NGSI-LD subscriptions",
    sqlite: V1,
    postgres: V1,
}];

/// A stored subscription.
#[derive(Debug, Deserialize)]
pub struct SubscriptionRow {
    /// NGSI-LD tenant.
    pub tenant: String,
    /// Subscription id.
    pub id: String,
    /// The members as sent, JSON text.
    pub body: String,
    /// The `@context`, JSON text.
    pub context: String,
    /// Creation time, µs.
    pub created_at: i64,
    /// Notifications sent.
    pub times_sent: i64,
    /// Notifications failed.
    pub times_failed: i64,
    /// Last notification, µs.
    pub last_notification: Option<i64>,
    /// Last success, µs.
    pub last_success: Option<i64>,
    /// Last failure, µs.
    pub last_failure: Option<i64>,
}

/// Notification counters of one subscription.
pub struct Counters {
    /// Notifications sent.
    pub times_sent: i64,
    /// Notifications failed.
    pub times_failed: i64,
    /// Last notification, µs.
    pub last_notification: Option<i64>,
    /// Last success, µs.
    pub last_success: Option<i64>,
    /// Last failure, µs.
    pub last_failure: Option<i64>,
}

/// Every stored subscription.
pub async fn load_all(mut ex: impl Executor) -> Result<Vec<SubscriptionRow>> {
    ex.fetch_all_as(
        "SELECT tenant, id, body, context, created_at, times_sent, times_failed, \
         last_notification, last_success, last_failure FROM twin_subscriptions",
        &[],
    )
    .await
}

/// Writes the notification counters of a subscription.
pub async fn update_counters(
    mut ex: impl Executor,
    tenant: &str,
    id: &str,
    c: &Counters,
) -> Result<u64> {
    ex.execute(
        "UPDATE twin_subscriptions SET times_sent = $1, times_failed = $2, \
         last_notification = $3, last_success = $4, last_failure = $5 \
         WHERE tenant = $6 AND id = $7",
        &[
            c.times_sent.into(),
            c.times_failed.into(),
            Val::I64(c.last_notification),
            Val::I64(c.last_success),
            Val::I64(c.last_failure),
            tenant.into(),
            id.into(),
        ],
    )
    .await
}

/// Inserts a new subscription (`modified_at` = `created_at` = `now`).
pub async fn insert(
    mut ex: impl Executor,
    tenant: &str,
    id: &str,
    body: &str,
    context: &str,
    now: i64,
) -> Result<u64> {
    ex.execute(
        "INSERT INTO twin_subscriptions (tenant, id, body, context, created_at, modified_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
        args![tenant, id, body, context, now],
    )
    .await
}

/// Replaces the members of a subscription.
pub async fn update_body(
    mut ex: impl Executor,
    tenant: &str,
    id: &str,
    body: &str,
    now: i64,
) -> Result<u64> {
    ex.execute(
        "UPDATE twin_subscriptions SET body = $1, modified_at = $2 WHERE tenant = $3 AND id = $4",
        args![body, now, tenant, id],
    )
    .await
}

/// Deletes a subscription; the number of rows deleted.
pub async fn delete(mut ex: impl Executor, tenant: &str, id: &str) -> Result<u64> {
    ex.execute(
        "DELETE FROM twin_subscriptions WHERE tenant = $1 AND id = $2",
        args![tenant, id],
    )
    .await
}
