//! Sharing (共享): a consumer department requests a dataset's table (fields, row filter,
//! purpose, expiry, daily quota); the owner department approves (and a data-security
//! officer for grade `important`/`core`); the approval makes a grant; reads through the
//! grant are masked, filtered, limited by quota and expiry, and each leaves an exchange
//! record (交换记录), written with its audit record in one transaction. Statistics per
//! dataset, department and day come from the exchange records.

use crate::datastore::Datastore;
use crate::datastore_store::TableMeta;
use crate::masking::MaskPolicy;
use onecity_core::{Error, ErrorCode, Result};
use onecity_iam::Principal;
use onecity_store::audit::AuditEntry;
use onecity_store::{args, Db};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// An active grant as the read path uses it.
#[derive(Debug, Clone)]
pub struct GrantScope {
    /// Grant id.
    pub id: String,
    /// Consumer department.
    pub consumer_department: String,
    /// Provider department.
    pub provider_department: Option<String>,
    /// Granted fields (empty: all not on the negative list).
    pub fields: HashSet<String>,
    /// Mandatory equality filter.
    pub row_filter: Map<String, Value>,
    /// Masks by field.
    pub masks: MaskPolicy,
    /// Calls per UTC day.
    pub quota_per_day: i64,
    /// Expiry (µs since the epoch).
    pub expires_at: i64,
}

/// Hex SHA-256 of a query's canonical text (the exchange record's query digest).
pub fn digest(q: &str) -> String {
    hex::encode(Sha256::digest(q.as_bytes()))
}

fn day_of(micros: i64) -> String {
    onecity_core::time::to_datetime(micros)
        .format("%Y-%m-%d")
        .to_string()
}

/// The caller's department's active (unrevoked, unexpired) grant on `m`, if any.
pub async fn active_grant(db: &Db, p: &Principal, m: &TableMeta) -> Result<Option<GrantScope>> {
    let Some(dept) = p.department_id else {
        return Ok(None);
    };
    let now = onecity_core::time::now_micros();
    let r = db
        .fetch_optional(
            "SELECT id, consumer_department, provider_department, fields, row_filter, masks, quota_per_day, expires_at FROM share_grants \
             WHERE tenant = $1 AND resource_id = $2 AND consumer_department = $3 AND revoked_at IS NULL AND expires_at > $4 ORDER BY created_at DESC LIMIT 1",
            args![m.tenant.clone(), m.resource_id.clone(), dept.to_string(), now],
        )
        .await?;
    let Some(r) = r else {
        // an expired grant is reported as such
        let old = db
            .fetch_optional(
                "SELECT id FROM share_grants WHERE tenant = $1 AND resource_id = $2 AND consumer_department = $3 AND revoked_at IS NULL AND expires_at <= $4 LIMIT 1",
                args![m.tenant.clone(), m.resource_id.clone(), dept.to_string(), now],
            )
            .await?;
        if old.is_some() {
            return Err(Error::forbidden(
                "your department's sharing grant for this dataset has expired",
            ));
        }
        return Ok(None);
    };
    let fields: Vec<String> = serde_json::from_str(&r.text("fields")?).map_err(Error::internal)?;
    Ok(Some(GrantScope {
        id: r.text("id")?,
        consumer_department: r.text("consumer_department")?,
        provider_department: r.opt_text("provider_department")?,
        fields: fields.into_iter().collect(),
        row_filter: serde_json::from_str(&r.text("row_filter")?).map_err(Error::internal)?,
        masks: serde_json::from_str(&r.text("masks")?).map_err(Error::internal)?,
        quota_per_day: r.i64("quota_per_day")?,
        expires_at: r.i64("expires_at")?,
    }))
}

/// Refuses a call beyond the grant's daily quota (`rate_limited`, 429).
pub async fn check_quota(db: &Db, g: &GrantScope) -> Result<()> {
    let day = day_of(onecity_core::time::now_micros());
    let n = db
        .fetch_optional(
            "SELECT COUNT(*) AS n FROM exchange_records WHERE grant_id = $1 AND day = $2 AND outcome = 'ok'",
            args![g.id.clone(), day],
        )
        .await?
        .map(|r| r.i64("n"))
        .transpose()?
        .unwrap_or(0);
    if n >= g.quota_per_day {
        return Err(Error::new(
            ErrorCode::RateLimited,
            format!(
                "the grant's quota of {} calls per day is used up",
                g.quota_per_day
            ),
        ));
    }
    Ok(())
}

/// Writes one exchange record and its audit record in one transaction.
#[allow(clippy::too_many_arguments)]
pub async fn record_exchange(
    ds: &Datastore,
    consumer: &str,
    consumer_department: Option<String>,
    m: &TableMeta,
    grant: Option<&GrantScope>,
    channel: &str,
    query_digest: &str,
    rows: i64,
    bytes: i64,
    started: std::time::Instant,
    outcome: &str,
) -> Result<()> {
    let now = onecity_core::time::now_micros();
    let id = onecity_core::new_id().to_string();
    let mut tx = ds.db().begin().await?;
    tx.execute(
        "INSERT INTO exchange_records (id, tenant, at, day, consumer, consumer_department, provider_department, resource_id, grant_id, channel, query_digest, row_count, bytes, duration_us, outcome) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        args![
            id.clone(),
            m.tenant.clone(),
            now,
            day_of(now),
            consumer,
            consumer_department.or_else(|| grant.map(|g| g.consumer_department.clone())),
            m.owner_department.clone(),
            m.resource_id.clone(),
            grant.map(|g| g.id.clone()),
            channel,
            query_digest,
            rows,
            bytes,
            started.elapsed().as_micros() as i64,
            outcome
        ],
    )
    .await?;
    let detail = format!("{channel} {outcome} rows={rows} bytes={bytes}");
    ds.iam
        .record(
            &mut tx,
            &AuditEntry {
                tenant: &m.tenant,
                actor: consumer,
                action: "datastore.exchange",
                resource_type: "datastore_table",
                resource_id: &m.resource_id,
                detail: Some(&detail),
                ..Default::default()
            },
            None,
        )
        .await?;
    tx.commit().await
}

/// Exchange statistics: one row per day, dataset, consumer and provider department.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExchangeStat {
    /// UTC day `YYYY-MM-DD`.
    pub day: String,
    /// Resource id.
    pub resource_id: String,
    /// Consumer department (null: anonymous or staff without one).
    pub consumer_department: Option<String>,
    /// Provider (owner) department.
    pub provider_department: Option<String>,
    /// Calls.
    pub calls: i64,
    /// Calls refused.
    pub denied: i64,
    /// Rows returned.
    pub rows: i64,
    /// Bytes returned.
    pub bytes: i64,
}

/// Exchange statistics of a tenant between two days (inclusive, `YYYY-MM-DD`), at most 1000
/// rows, newest day first.
pub async fn stats(db: &Db, tenant: &str, from: &str, to: &str) -> Result<Vec<ExchangeStat>> {
    let rows = db
        .fetch_all(
            "SELECT day, resource_id, consumer_department, provider_department, COUNT(*) AS calls, \
             CAST(SUM(CASE WHEN outcome = 'denied' THEN 1 ELSE 0 END) AS BIGINT) AS denied, CAST(SUM(row_count) AS BIGINT) AS nrows, CAST(SUM(bytes) AS BIGINT) AS nbytes \
             FROM exchange_records WHERE tenant = $1 AND day >= $2 AND day <= $3 \
             GROUP BY day, resource_id, consumer_department, provider_department ORDER BY day DESC, resource_id LIMIT 1000",
            args![tenant, from, to],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ExchangeStat {
                day: r.text("day")?,
                resource_id: r.text("resource_id")?,
                consumer_department: r.opt_text("consumer_department")?,
                provider_department: r.opt_text("provider_department")?,
                calls: r.i64("calls")?,
                denied: r.opt_i64("denied")?.unwrap_or(0),
                rows: r.opt_i64("nrows")?.unwrap_or(0),
                bytes: r.opt_i64("nbytes")?.unwrap_or(0),
            })
        })
        .collect()
}
