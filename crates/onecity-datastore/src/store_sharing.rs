//! Every SQL statement of the sharing tables (`share_requests`, `share_grants`,
//! `exchange_records`), with typed rows decoded through serde.
//!
//! Each function takes any [`Executor`]: `&db` outside a transaction, `&mut tx` inside one
//! (an exchange record and a grant are written in the caller's transaction together with
//! their audit record). Times are µs since the epoch (UTC); days are `YYYY-MM-DD` (UTC).

use crate::masking::MaskPolicy;
use onecity_core::Result;
use onecity_store::decode::json_text;
use onecity_store::{args, Executor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// An unrevoked grant as stored.
#[derive(Debug, Clone, Deserialize)]
pub struct GrantRow {
    /// Grant id.
    pub id: String,
    /// Consumer department.
    pub consumer_department: String,
    /// Provider (owner) department.
    pub provider_department: Option<String>,
    /// Granted fields (JSON list; empty: all not on the negative list).
    #[serde(with = "json_text")]
    pub fields: Vec<String>,
    /// Mandatory equality filter (JSON object).
    #[serde(with = "json_text")]
    pub row_filter: Map<String, Value>,
    /// Masks by field (JSON object).
    #[serde(with = "json_text")]
    pub masks: MaskPolicy,
    /// Calls per UTC day.
    pub quota_per_day: i64,
    /// Expiry.
    pub expires_at: i64,
}

/// The newest active (unrevoked, unexpired at `now`) grant of `consumer_department` on a
/// resource, if any.
pub async fn active_grant(
    mut ex: impl Executor,
    tenant: &str,
    resource_id: &str,
    consumer_department: &str,
    now: i64,
) -> Result<Option<GrantRow>> {
    ex.fetch_optional_as(
        "SELECT id, consumer_department, provider_department, fields, row_filter, masks, \
         quota_per_day, expires_at FROM share_grants \
         WHERE tenant = $1 AND resource_id = $2 AND consumer_department = $3 \
         AND revoked_at IS NULL AND expires_at > $4 ORDER BY created_at DESC LIMIT 1",
        args![tenant, resource_id, consumer_department, now],
    )
    .await
}

/// Whether `consumer_department` holds an unrevoked grant on a resource that expired at or
/// before `now` (so a refusal can say so).
pub async fn has_expired_grant(
    mut ex: impl Executor,
    tenant: &str,
    resource_id: &str,
    consumer_department: &str,
    now: i64,
) -> Result<bool> {
    Ok(ex
        .fetch_optional(
            "SELECT id FROM share_grants WHERE tenant = $1 AND resource_id = $2 \
             AND consumer_department = $3 AND revoked_at IS NULL AND expires_at <= $4 LIMIT 1",
            args![tenant, resource_id, consumer_department, now],
        )
        .await?
        .is_some())
}

/// Successful calls through grant `grant_id` on `day`.
pub async fn ok_calls_on(mut ex: impl Executor, grant_id: &str, day: &str) -> Result<i64> {
    #[derive(Deserialize)]
    struct Count {
        n: i64,
    }
    let c: Option<Count> = ex
        .fetch_optional_as(
            "SELECT COUNT(*) AS n FROM exchange_records \
             WHERE grant_id = $1 AND day = $2 AND outcome = 'ok'",
            args![grant_id, day],
        )
        .await?;
    Ok(c.map_or(0, |c| c.n))
}

/// An exchange record (交换记录) to insert.
pub struct NewExchange<'a> {
    /// Record id.
    pub id: &'a str,
    /// Tenant.
    pub tenant: &'a str,
    /// Time of the call.
    pub at: i64,
    /// UTC day of `at`.
    pub day: &'a str,
    /// Who called (principal actor text).
    pub consumer: &'a str,
    /// The caller's department, if any.
    pub consumer_department: Option<String>,
    /// Provider (owner) department.
    pub provider_department: Option<String>,
    /// Resource read.
    pub resource_id: &'a str,
    /// Grant used, if any.
    pub grant_id: Option<String>,
    /// `api`, `sql`, …
    pub channel: &'a str,
    /// SHA-256 of the query's canonical text.
    pub query_digest: &'a str,
    /// Rows returned.
    pub row_count: i64,
    /// Bytes returned.
    pub bytes: i64,
    /// Duration in µs.
    pub duration_us: i64,
    /// `ok` or `denied`.
    pub outcome: &'a str,
}

/// Inserts one exchange record.
pub async fn insert_exchange(mut ex: impl Executor, e: &NewExchange<'_>) -> Result<()> {
    ex.execute(
        "INSERT INTO exchange_records (id, tenant, at, day, consumer, consumer_department, \
         provider_department, resource_id, grant_id, channel, query_digest, row_count, bytes, \
         duration_us, outcome) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        args![
            e.id,
            e.tenant,
            e.at,
            e.day,
            e.consumer,
            e.consumer_department.clone(),
            e.provider_department.clone(),
            e.resource_id,
            e.grant_id.clone(),
            e.channel,
            e.query_digest,
            e.row_count,
            e.bytes,
            e.duration_us,
            e.outcome
        ],
    )
    .await?;
    Ok(())
}

/// One group of exchange records: day, resource, consumer and provider department.
#[derive(Debug, Clone, Deserialize)]
pub struct ExchangeStatRow {
    /// UTC day.
    pub day: String,
    /// Resource id.
    pub resource_id: String,
    /// Consumer department.
    pub consumer_department: Option<String>,
    /// Provider department.
    pub provider_department: Option<String>,
    /// Calls.
    pub calls: i64,
    /// Calls refused.
    pub denied: Option<i64>,
    /// Rows returned.
    pub nrows: Option<i64>,
    /// Bytes returned.
    pub nbytes: Option<i64>,
}

/// Exchange statistics of a tenant between two days (inclusive), at most 1000 groups,
/// newest day first.
pub async fn exchange_stats(
    mut ex: impl Executor,
    tenant: &str,
    from: &str,
    to: &str,
) -> Result<Vec<ExchangeStatRow>> {
    ex.fetch_all_as(
        "SELECT day, resource_id, consumer_department, provider_department, COUNT(*) AS calls, \
         CAST(SUM(CASE WHEN outcome = 'denied' THEN 1 ELSE 0 END) AS BIGINT) AS denied, \
         CAST(SUM(row_count) AS BIGINT) AS nrows, CAST(SUM(bytes) AS BIGINT) AS nbytes \
         FROM exchange_records WHERE tenant = $1 AND day >= $2 AND day <= $3 \
         GROUP BY day, resource_id, consumer_department, provider_department \
         ORDER BY day DESC, resource_id LIMIT 1000",
        args![tenant, from, to],
    )
    .await
}

/// A sharing request to insert (state `pending`).
pub struct NewShareRequest<'a> {
    /// Request id.
    pub id: &'a str,
    /// Tenant.
    pub tenant: &'a str,
    /// Resource requested.
    pub resource_id: &'a str,
    /// Consumer department.
    pub consumer_department: &'a str,
    /// Provider (owner) department.
    pub provider_department: &'a str,
    /// Fields wanted, as JSON text.
    pub fields: String,
    /// `[row_filter, masks]`, as JSON text.
    pub row_filter: String,
    /// Purpose.
    pub purpose: &'a str,
    /// Expiry of the grant asked for.
    pub expires_at: i64,
    /// Calls per UTC day.
    pub quota_per_day: i64,
    /// The approval case.
    pub case_id: String,
    /// Who asked (actor text).
    pub requested_by: &'a str,
    /// Creation time.
    pub created_at: i64,
}

/// Inserts a pending sharing request.
pub async fn insert_request(mut ex: impl Executor, r: &NewShareRequest<'_>) -> Result<()> {
    ex.execute(
        "INSERT INTO share_requests (id, tenant, resource_id, consumer_department, \
         provider_department, fields, row_filter, purpose, expires_at, quota_per_day, state, \
         case_id, requested_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12, $13)",
        args![
            r.id,
            r.tenant,
            r.resource_id,
            r.consumer_department,
            r.provider_department,
            r.fields.clone(),
            r.row_filter.clone(),
            r.purpose,
            r.expires_at,
            r.quota_per_day,
            r.case_id.clone(),
            r.requested_by,
            r.created_at
        ],
    )
    .await?;
    Ok(())
}

/// A sharing request as stored.
#[derive(Debug, Clone, Deserialize)]
pub struct ShareRequestRow {
    /// Request id.
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// Resource requested.
    pub resource_id: String,
    /// Consumer department.
    pub consumer_department: String,
    /// Provider (owner) department.
    pub provider_department: Option<String>,
    /// Fields wanted, as JSON text (copied into the grant as is).
    pub fields: String,
    /// `[row_filter, masks]`, as JSON text.
    pub row_filter: String,
    /// Expiry of the grant asked for.
    pub expires_at: i64,
    /// Calls per UTC day.
    pub quota_per_day: i64,
    /// Purpose.
    pub purpose: String,
    /// `pending`, `granted` or `rejected`.
    pub state: String,
    /// The approval case.
    pub case_id: Option<String>,
}

/// A sharing request by id.
pub async fn share_request(mut ex: impl Executor, id: &str) -> Result<Option<ShareRequestRow>> {
    ex.fetch_optional_as(
        "SELECT id, tenant, resource_id, consumer_department, provider_department, fields, \
         row_filter, expires_at, quota_per_day, purpose, state, case_id \
         FROM share_requests WHERE id = $1",
        args![id],
    )
    .await
}

/// Marks a pending request granted; returns 1 when this call did it, 0 when another did.
pub async fn mark_granted(mut ex: impl Executor, id: &str, now: i64) -> Result<u64> {
    ex.execute(
        "UPDATE share_requests SET state = 'granted', decided_at = $1 \
         WHERE id = $2 AND state = 'pending'",
        args![now, id],
    )
    .await
}

/// Marks a pending request rejected.
pub async fn mark_rejected(mut ex: impl Executor, id: &str, now: i64) -> Result<u64> {
    ex.execute(
        "UPDATE share_requests SET state = 'rejected', decided_at = $1 \
         WHERE id = $2 AND state = 'pending'",
        args![now, id],
    )
    .await
}

/// A grant to insert, made from an approved request.
pub struct NewGrant<'a> {
    /// Grant id.
    pub id: &'a str,
    /// The request it answers.
    pub request_id: &'a str,
    /// Tenant.
    pub tenant: &'a str,
    /// Resource.
    pub resource_id: &'a str,
    /// Consumer department.
    pub consumer_department: &'a str,
    /// Provider department.
    pub provider_department: Option<String>,
    /// Granted fields, JSON text.
    pub fields: &'a str,
    /// Row filter, JSON text.
    pub row_filter: String,
    /// Masks, JSON text.
    pub masks: String,
    /// Purpose.
    pub purpose: &'a str,
    /// Expiry.
    pub expires_at: i64,
    /// Calls per UTC day.
    pub quota_per_day: i64,
    /// Creation time.
    pub created_at: i64,
}

/// Inserts a grant.
pub async fn insert_grant(mut ex: impl Executor, g: &NewGrant<'_>) -> Result<()> {
    ex.execute(
        "INSERT INTO share_grants (id, request_id, tenant, resource_id, consumer_department, \
         provider_department, fields, row_filter, masks, purpose, expires_at, quota_per_day, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        args![
            g.id,
            g.request_id,
            g.tenant,
            g.resource_id,
            g.consumer_department,
            g.provider_department.clone(),
            g.fields,
            g.row_filter.clone(),
            g.masks.clone(),
            g.purpose,
            g.expires_at,
            g.quota_per_day,
            g.created_at
        ],
    )
    .await?;
    Ok(())
}

/// The id of the grant made for request `request_id`, if any.
pub async fn grant_of_request(mut ex: impl Executor, request_id: &str) -> Result<Option<String>> {
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    let r: Option<Id> = ex
        .fetch_optional_as(
            "SELECT id FROM share_grants WHERE request_id = $1",
            args![request_id],
        )
        .await?;
    Ok(r.map(|r| r.id))
}

/// Ids of the pending requests of `consumer_department` on a resource.
pub async fn pending_requests(
    mut ex: impl Executor,
    tenant: &str,
    resource_id: &str,
    consumer_department: &str,
) -> Result<Vec<String>> {
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    let rows: Vec<Id> = ex
        .fetch_all_as(
            "SELECT id FROM share_requests WHERE tenant = $1 AND resource_id = $2 \
             AND consumer_department = $3 AND state = 'pending'",
            args![tenant, resource_id, consumer_department],
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}
