//! Sharing (共享): a consumer department requests a dataset's table (fields, row filter,
//! purpose, expiry, daily quota); the owner department approves (and a data-security
//! officer for grade `important`/`core`); the approval makes a grant; reads through the
//! grant are masked, filtered, limited by quota and expiry, and each leaves an exchange
//! record (交换记录), written with its audit record in one transaction. Statistics per
//! dataset, department and day come from the exchange records.

use crate::masking::MaskPolicy;
use crate::service::Datastore;
use crate::store::TableMeta;
use crate::store_sharing as store;
use onecity_core::{Error, ErrorCode, Result};
use onecity_iam::Principal;
use onecity_store::audit::AuditEntry;
use onecity_store::Db;
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
    let dept = dept.to_string();
    let Some(r) = store::active_grant(db, &m.tenant, &m.resource_id, &dept, now).await? else {
        // an expired grant is reported as such
        if store::has_expired_grant(db, &m.tenant, &m.resource_id, &dept, now).await? {
            return Err(Error::forbidden(
                "your department's sharing grant for this dataset has expired",
            ));
        }
        return Ok(None);
    };
    Ok(Some(GrantScope {
        id: r.id,
        consumer_department: r.consumer_department,
        provider_department: r.provider_department,
        fields: r.fields.into_iter().collect(),
        row_filter: r.row_filter,
        masks: r.masks,
        quota_per_day: r.quota_per_day,
        expires_at: r.expires_at,
    }))
}

/// Refuses a call beyond the grant's daily quota (`rate_limited`, 429).
pub async fn check_quota(db: &Db, g: &GrantScope) -> Result<()> {
    let day = day_of(onecity_core::time::now_micros());
    let n = store::ok_calls_on(db, &g.id, &day).await?;
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
    store::insert_exchange(
        &mut tx,
        &store::NewExchange {
            id: &id,
            tenant: &m.tenant,
            at: now,
            day: &day_of(now),
            consumer,
            consumer_department: consumer_department
                .or_else(|| grant.map(|g| g.consumer_department.clone())),
            provider_department: m.owner_department.clone(),
            resource_id: &m.resource_id,
            grant_id: grant.map(|g| g.id.clone()),
            channel,
            query_digest,
            row_count: rows,
            bytes,
            duration_us: started.elapsed().as_micros() as i64,
            outcome,
        },
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
    Ok(store::exchange_stats(db, tenant, from, to)
        .await?
        .into_iter()
        .map(|r| ExchangeStat {
            day: r.day,
            resource_id: r.resource_id,
            consumer_department: r.consumer_department,
            provider_department: r.provider_department,
            calls: r.calls,
            denied: r.denied.unwrap_or(0),
            rows: r.nrows.unwrap_or(0),
            bytes: r.nbytes.unwrap_or(0),
        })
        .collect())
}

/// The sharing flows (onecity-flow definitions): owner approval; owner then data-security
/// officer for grade `important`/`core`.
pub fn flows() -> [(&'static str, &'static str); 2] {
    [
        ("data-share", include_str!("../flows/data-share.json")),
        (
            "data-share-important",
            include_str!("../flows/data-share-important.json"),
        ),
    ]
}

/// A consumer department's request (POST body).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareRequestBody {
    /// Fields wanted (empty: every field not on the negative list).
    #[serde(default)]
    pub fields: Vec<String>,
    /// Equality row filter `{field: value | [values]}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub row_filter: Map<String, Value>,
    /// Purpose (用途), 1–500 characters.
    pub purpose: String,
    /// Expiry, RFC 3339, within a year.
    pub expires_at: String,
    /// Calls per UTC day, 1–1,000,000.
    pub quota_per_day: i64,
    /// Masks by field (defaults: the fields' own `info.mask`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub masks: MaskPolicy,
}

/// A sharing request as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShareRequestView {
    /// Request id.
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// Resource id.
    pub resource_id: String,
    /// The catalog dataset the resource belongs to (id).
    pub dataset_id: Option<String>,
    /// The catalog dataset's name (slug), e.g. `vehicle-owners`.
    pub dataset: Option<String>,
    /// Consumer department.
    pub consumer_department: String,
    /// Provider (owner) department.
    pub provider_department: Option<String>,
    /// `pending`, `granted` or `rejected`.
    pub state: String,
    /// The approval case in the workflow engine (shows in the approvers' to-do inbox).
    pub case_id: Option<String>,
    /// Flow key of the case.
    pub flow: String,
    /// Grant id once granted.
    pub grant_id: Option<String>,
}

impl Datastore {
    async fn ensure_flows(&self, tenant: &str) -> Result<()> {
        let flow = self.flow()?;
        for (key, json) in flows() {
            if flow.definition(tenant, key, None).await.is_err() {
                flow.put_definition(&Principal::system(), tenant, json)
                    .await?;
            }
        }
        Ok(())
    }

    /// Files a sharing request for the caller's department and opens its approval case.
    pub async fn request_share(
        &self,
        p: &Principal,
        resource_id: &str,
        b: &ShareRequestBody,
    ) -> Result<ShareRequestView> {
        let m = self.meta(resource_id).await?;
        let dept = p.department_id.ok_or_else(|| {
            Error::invalid("sharing requests come from a department: your account has none")
        })?;
        if !p.sees_tenant(&m.tenant) {
            return Err(Error::not_found(format!(
                "no datastore table for resource {resource_id:?}"
            )));
        }
        let owner = m.owner_department.clone().ok_or_else(|| {
            Error::invalid("this table has no owner department to approve sharing")
        })?;
        if owner == dept.to_string() {
            return Err(Error::invalid(
                "your department owns this table; it needs no grant",
            ));
        }
        let neg = self.catalog.negative(resource_id).await?;
        if neg.whole {
            return Err(Error::forbidden(
                "this dataset is on the negative list (负面清单) and cannot be shared",
            ));
        }
        for f in &b.fields {
            if !m.fields.iter().any(|x| &x.id == f) {
                return Err(Error::invalid(format!("field {f:?} does not exist")));
            }
            if neg.fields.contains(f) {
                return Err(Error::invalid(format!(
                    "field {f:?} is on the negative list (负面清单) and cannot be shared"
                )));
            }
        }
        for (k, v) in &b.row_filter {
            let fd =
                m.fields.iter().find(|x| &x.id == k).ok_or_else(|| {
                    Error::invalid(format!("row filter field {k:?} does not exist"))
                })?;
            match v {
                Value::Array(a) => {
                    for x in a {
                        crate::store_query::json_to_val(x, fd.ty, k)?;
                    }
                }
                x => {
                    crate::store_query::json_to_val(x, fd.ty, k)?;
                }
            }
        }
        for k in b.masks.0.keys() {
            if !m.fields.iter().any(|x| &x.id == k) {
                return Err(Error::invalid(format!("mask field {k:?} does not exist")));
            }
        }
        onecity_core::validate::text("purpose", &b.purpose, 500)?;
        let now = onecity_core::time::now_micros();
        let exp = onecity_core::time::parse_rfc3339(&b.expires_at, "expires_at")?;
        if exp <= now || exp > now + 366 * 86_400_000_000 {
            return Err(Error::invalid(
                "expires_at must be in the future and within a year",
            ));
        }
        if !(1..=1_000_000).contains(&b.quota_per_day) {
            return Err(Error::invalid("quota_per_day must be 1 to 1,000,000"));
        }
        // Grade and owner as the catalog has them now (they may have changed since the
        // table was loaded).
        let link = self.catalog_link(resource_id).await?;
        let owner = link.owner_department.clone();
        let key = if link.grade == "general" {
            "data-share"
        } else {
            "data-share-important"
        };
        self.ensure_flows(&m.tenant).await?;
        let owner_uuid = uuid::Uuid::parse_str(&owner).ok();
        let mut data = Map::new();
        data.insert("resource_id".into(), Value::from(resource_id));
        data.insert("consumer_department".into(), Value::from(dept.to_string()));
        data.insert("purpose".into(), Value::from(b.purpose.clone()));
        data.insert("fields".into(), serde_json::json!(b.fields));
        data.insert("grade".into(), Value::from(link.grade.clone()));
        data.insert("dataset_id".into(), Value::from(link.dataset_id.clone()));
        data.insert("dataset".into(), Value::from(link.dataset_name.clone()));
        let case = self
            .flow()?
            .create_case(
                p,
                &m.tenant,
                &onecity_flow::model::NewCase {
                    flow: key.into(),
                    title: format!("数据共享申请 Data sharing: {}", link.dataset_name),
                    data: Some(data),
                    jurisdiction_id: None,
                    department_id: owner_uuid,
                    action: None,
                },
            )
            .await?;
        let id = onecity_core::new_id().to_string();
        let mut tx = self.db().begin().await?;
        store::insert_request(
            &mut tx,
            &store::NewShareRequest {
                id: &id,
                tenant: &m.tenant,
                resource_id,
                consumer_department: &dept.to_string(),
                provider_department: &owner,
                fields: serde_json::to_string(&b.fields).map_err(Error::internal)?,
                row_filter: serde_json::to_string(&(&b.row_filter, &b.masks))
                    .map_err(Error::internal)?,
                purpose: &b.purpose,
                expires_at: exp,
                quota_per_day: b.quota_per_day,
                case_id: case.id.to_string(),
                requested_by: &p.actor(),
                created_at: now,
            },
        )
        .await?;
        let after = serde_json::json!({"resource_id": resource_id, "dataset_id": link.dataset_id, "dataset": link.dataset_name, "fields": b.fields, "purpose": b.purpose, "case": case.id});
        self.iam
            .record(
                &mut tx,
                &AuditEntry {
                    tenant: &m.tenant,
                    actor: &p.actor(),
                    action: "share.request",
                    resource_type: "share_request",
                    resource_id: &id,
                    after: Some(&after),
                    ..Default::default()
                },
                None,
            )
            .await?;
        tx.commit().await?;
        Ok(ShareRequestView {
            id,
            tenant: m.tenant,
            resource_id: resource_id.into(),
            dataset_id: Some(link.dataset_id.clone()),
            dataset: Some(link.dataset_name.clone()),
            consumer_department: dept.to_string(),
            provider_department: Some(owner),
            state: "pending".into(),
            case_id: Some(case.id.to_string()),
            flow: key.into(),
            grant_id: None,
        })
    }

    /// A request, brought up to date with its approval case (a case that reached
    /// `GRANTED` makes the grant; `REJECTED` closes the request).
    pub async fn share_request(&self, id: &str) -> Result<ShareRequestView> {
        let r = store::share_request(self.db(), id)
            .await?
            .ok_or_else(|| Error::not_found("no such sharing request"))?;
        let tenant = r.tenant.clone();
        let mut state = r.state.clone();
        let case_id = r.case_id.clone();
        let m = self.meta(&r.resource_id).await?;
        let key = if m.grade == "general" {
            "data-share"
        } else {
            "data-share-important"
        };
        if state == "pending" {
            if let Some(c) = case_id
                .as_deref()
                .and_then(|c| uuid::Uuid::parse_str(c).ok())
            {
                let case = self.flow()?.case(&Principal::system(), &tenant, c).await?;
                let now = onecity_core::time::now_micros();
                match case.case.state.as_str() {
                    "GRANTED" => {
                        let (filter, masks): (Map<String, Value>, MaskPolicy) =
                            serde_json::from_str(&r.row_filter).map_err(Error::internal)?;
                        let mut tx = self.db().begin().await?;
                        let n = store::mark_granted(&mut tx, id, now).await?;
                        if n == 1 {
                            let gid = onecity_core::new_id().to_string();
                            store::insert_grant(
                                &mut tx,
                                &store::NewGrant {
                                    id: &gid,
                                    request_id: id,
                                    tenant: &tenant,
                                    resource_id: &m.resource_id,
                                    consumer_department: &r.consumer_department,
                                    provider_department: r.provider_department.clone(),
                                    fields: &r.fields,
                                    row_filter: serde_json::to_string(&filter)
                                        .map_err(Error::internal)?,
                                    masks: serde_json::to_string(&masks)
                                        .map_err(Error::internal)?,
                                    purpose: &r.purpose,
                                    expires_at: r.expires_at,
                                    quota_per_day: r.quota_per_day,
                                    created_at: now,
                                },
                            )
                            .await?;
                            self.iam
                                .record(
                                    &mut tx,
                                    &AuditEntry {
                                        tenant: &tenant,
                                        actor: "system",
                                        action: "share.grant",
                                        resource_type: "share_grant",
                                        resource_id: &gid,
                                        detail: Some(id),
                                        ..Default::default()
                                    },
                                    None,
                                )
                                .await?;
                        }
                        tx.commit().await?;
                        state = "granted".into();
                    }
                    "REJECTED" => {
                        store::mark_rejected(self.db(), id, now).await?;
                        state = "rejected".into();
                    }
                    _ => {}
                }
            }
        }
        let grant_id = store::grant_of_request(self.db(), id).await?;
        let link = self.catalog_link(&m.resource_id).await.ok();
        Ok(ShareRequestView {
            id: id.into(),
            tenant,
            dataset_id: link.as_ref().map(|l| l.dataset_id.clone()),
            dataset: link.map(|l| l.dataset_name),
            resource_id: m.resource_id,
            consumer_department: r.consumer_department,
            provider_department: r.provider_department,
            state,
            case_id,
            flow: key.into(),
            grant_id,
        })
    }

    /// Brings the caller's department's pending requests on `m` up to date.
    pub(crate) async fn sync_pending(&self, p: &Principal, m: &TableMeta) -> Result<()> {
        let Some(dept) = p.department_id else {
            return Ok(());
        };
        if self.flow.is_none() {
            return Ok(());
        }
        let ids = store::pending_requests(self.db(), &m.tenant, &m.resource_id, &dept.to_string())
            .await?;
        for id in ids {
            self.share_request(&id).await?;
        }
        Ok(())
    }

    /// Approves or rejects a request by acting on its case (as `p`, role-checked by the
    /// workflow engine: `DATA_OWNER` of the owner department, then `DATA_SECURITY_OFFICER`
    /// for important/core data).
    pub async fn decide_share(
        &self,
        p: &Principal,
        id: &str,
        action: &str,
        comment: Option<String>,
    ) -> Result<ShareRequestView> {
        let v = self.share_request(id).await?;
        let case = v
            .case_id
            .as_deref()
            .and_then(|c| uuid::Uuid::parse_str(c).ok())
            .ok_or_else(|| Error::conflict("the request has no open case"))?;
        if v.state != "pending" {
            return Err(Error::conflict(format!(
                "the request is already {}",
                v.state
            )));
        }
        self.flow()?
            .act(
                p,
                &v.tenant,
                case,
                &onecity_flow::model::ActionRequest {
                    action: action.into(),
                    comment,
                    fields: Map::new(),
                    attachments: vec![],
                    expected_version: None,
                },
            )
            .await?;
        self.share_request(id).await
    }

    /// Exchange statistics of a tenant (needs `datastore:read` there).
    pub async fn exchange_stats(
        &self,
        p: &Principal,
        tenant: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<ExchangeStat>> {
        if !p.grants.iter().any(|g| {
            (g.permissions
                .contains(&onecity_iam::Permission::DatastoreRead)
                || g.permissions.contains(&onecity_iam::Permission::AuditRead))
                && g.tenant.as_deref().is_none_or(|t| t == tenant)
        }) {
            return Err(Error::forbidden(
                "exchange statistics need datastore:read or audit:read in the tenant",
            ));
        }
        for d in [from, to] {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| Error::invalid("from and to are days, YYYY-MM-DD"))?;
        }
        stats(self.db(), tenant, from, to).await
    }
}
