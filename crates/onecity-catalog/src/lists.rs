//! The three lists (三清单) beside the one catalog: the demand list (需求清单: what a
//! department needs, why, on what legal basis, matched to a dataset or to the department
//! that should provide it), the responsibility list (责任清单: who must keep which dataset
//! how fresh; overdue entries are flagged by a periodic check) and the negative list (负面清单:
//! datasets or fields that must never be shared or opened).
//!
//! [`Catalog::negative_list_blocks`] is the one check every path by which data leaves
//! (datastore API, SQL, export, sharing, DCAT, search snippets) calls.

use crate::dataset::Catalog;
use crate::model::Frequency;
use crate::store::datasets;
use crate::store::lists::{self as store, DemandRow, NegativeRow, ResponsibilityRow};
use onecity_core::time::{now_micros, rfc3339};
use onecity_core::{Error, Result};
use onecity_iam::{Permission, Principal};
use onecity_store::audit::AuditEntry;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What the negative list says about reading some fields of a dataset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NegativeBlock {
    /// The whole dataset is on the negative list: nothing of it may leave.
    pub dataset_blocked: bool,
    /// Requested fields that are on the negative list (in request order). When the
    /// request named no fields, every listed field of the dataset.
    pub blocked_fields: Vec<String>,
    /// The ids of the entries that matched.
    pub entries: Vec<Uuid>,
}

impl NegativeBlock {
    /// True when nothing is blocked.
    pub fn is_clear(&self) -> bool {
        !self.dataset_blocked && self.blocked_fields.is_empty()
    }
}

/// A negative-list entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NegativeEntry {
    /// Entry id.
    pub id: Uuid,
    /// Tenant.
    pub tenant: String,
    /// Dataset.
    pub dataset_id: Uuid,
    /// Field name; absent = the whole dataset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why (e.g. 涉及国家秘密 / state secret).
    pub reason: String,
    /// Legal basis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    /// Creation time.
    pub created_at: String,
}

/// Body of a new negative-list entry.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNegative {
    /// Dataset id or name.
    pub dataset: String,
    /// Field name (must be in the dataset's schema); absent = the whole dataset.
    #[serde(default)]
    pub field: Option<String>,
    /// Reason (1–500 characters).
    pub reason: String,
    /// Legal basis.
    #[serde(default)]
    pub legal_basis: Option<String>,
}

/// A demand-list entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Demand {
    /// Entry id.
    pub id: Uuid,
    /// Tenant.
    pub tenant: String,
    /// The department that needs the data.
    pub requester_department_id: Uuid,
    /// What is needed.
    pub title: String,
    /// Purpose (用途).
    pub purpose: String,
    /// Legal basis (依据).
    pub legal_basis: String,
    /// Fields needed.
    pub fields: Vec<String>,
    /// The dataset found to meet it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_dataset_id: Option<Uuid>,
    /// The department that should provide it (the matched dataset's owner, or named).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_department_id: Option<Uuid>,
    /// `matched` (a dataset holds every field), `assigned` (a provider department is
    /// named but no dataset matches) or `open`.
    pub status: String,
    /// Creation time.
    pub created_at: String,
}

/// Body of a new demand.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDemand {
    /// The requesting department.
    pub requester_department_id: Uuid,
    /// What is needed (1–500 characters).
    pub title: String,
    /// Purpose (1–2,000 characters).
    pub purpose: String,
    /// Legal basis (1–2,000 characters).
    pub legal_basis: String,
    /// Field names needed (≤ 200).
    #[serde(default)]
    pub fields: Vec<String>,
    /// The department that should provide it, when known.
    #[serde(default)]
    pub provider_department_id: Option<Uuid>,
}

/// A responsibility-list entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Responsibility {
    /// Entry id.
    pub id: Uuid,
    /// Tenant.
    pub tenant: String,
    /// Responsible department.
    pub department_id: Uuid,
    /// Dataset it must keep fresh (absent: still to be catalogued).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_id: Option<Uuid>,
    /// What must be provided.
    pub title: String,
    /// Freshness SLA: the data may be at most this old, in seconds.
    pub max_age_secs: i64,
    /// Flagged overdue by the last check.
    pub overdue: bool,
    /// Since when (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue_since: Option<String>,
    /// Last check (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
}

/// Body of a new responsibility entry.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResponsibility {
    /// Responsible department.
    pub department_id: Uuid,
    /// Dataset id or name.
    #[serde(default)]
    pub dataset: Option<String>,
    /// What must be provided (1–500 characters).
    pub title: String,
    /// Freshness SLA in seconds (≥ 60); default: from the dataset's update frequency.
    #[serde(default)]
    pub max_age_secs: Option<i64>,
}

fn neg_from_row(r: NegativeRow) -> NegativeEntry {
    NegativeEntry {
        id: r.id,
        tenant: r.tenant,
        dataset_id: r.dataset_id,
        field: r.field,
        reason: r.reason,
        legal_basis: r.legal_basis,
        created_at: rfc3339(r.created_at),
    }
}

fn demand_from_row(r: DemandRow) -> Demand {
    Demand {
        id: r.id,
        tenant: r.tenant,
        requester_department_id: r.requester_department_id,
        title: r.title,
        purpose: r.purpose,
        legal_basis: r.legal_basis,
        fields: r.fields,
        matched_dataset_id: r.matched_dataset_id,
        provider_department_id: r.provider_department_id,
        status: r.status,
        created_at: rfc3339(r.created_at),
    }
}

fn resp_from_row(r: ResponsibilityRow) -> Responsibility {
    Responsibility {
        id: r.id,
        tenant: r.tenant,
        department_id: r.department_id,
        dataset_id: r.dataset_id,
        title: r.title,
        max_age_secs: r.max_age_secs,
        overdue: r.overdue,
        overdue_since: r.overdue_since.map(rfc3339),
        checked_at: r.checked_at.map(rfc3339),
    }
}

fn text_1(field: &str, v: &str, max: usize) -> Result<()> {
    let n = v.trim().chars().count();
    if v.contains('\0') {
        return Err(Error::invalid(format!(
            "{field} must not contain NUL characters"
        )));
    }
    if n == 0 || n > max {
        return Err(Error::invalid(format!(
            "{field} must be 1-{max} characters"
        )));
    }
    Ok(())
}

impl Catalog {
    /// The negative-list check for reading `fields` of dataset `dataset_id` (an empty
    /// slice = every field). Read-only and cheap (one indexed query); callers on every
    /// path by which data leaves must drop `blocked_fields` and refuse when
    /// `dataset_blocked`, and record the refusal in their exchange record.
    pub async fn negative_list_blocks(
        &self,
        dataset_id: Uuid,
        fields: &[&str],
    ) -> Result<NegativeBlock> {
        let rows = store::negatives_of_dataset(self.iam.db(), dataset_id).await?;
        let mut b = NegativeBlock::default();
        let mut listed = Vec::new();
        for (id, field) in rows {
            match field {
                None => {
                    b.dataset_blocked = true;
                    b.entries.push(id);
                }
                Some(f) => listed.push((id, f)),
            }
        }
        if fields.is_empty() {
            for (id, f) in listed {
                b.entries.push(id);
                b.blocked_fields.push(f);
            }
        } else {
            for want in fields {
                if let Some((id, f)) = listed.iter().find(|(_, f)| f == want) {
                    b.entries.push(*id);
                    b.blocked_fields.push(f.clone());
                }
            }
        }
        Ok(b)
    }

    /// True when the whole dataset is on the negative list.
    pub(crate) async fn dataset_negative(&self, dataset_id: Uuid) -> Result<bool> {
        Ok(self
            .negative_list_blocks(dataset_id, &[])
            .await?
            .dataset_blocked)
    }

    async fn require_write_in(&self, p: &Principal, tenant: &str, path: &str) -> Result<()> {
        if p.can_at(Permission::CatalogWrite, tenant, path) {
            Ok(())
        } else {
            Err(Error::forbidden("you may not change the lists here"))
        }
    }

    /// Adds a negative-list entry. Errors: `not_found` (dataset), `invalid_input`
    /// (unknown field), `forbidden`.
    pub async fn add_negative(&self, p: &Principal, n: &NewNegative) -> Result<NegativeEntry> {
        text_1("reason", &n.reason, 500)?;
        let d = self.get(Some(p), &n.dataset).await?;
        let dept = self.owner_dept(d.owner_department_id).await?;
        self.require_write_in(p, &d.tenant, &dept.path).await?;
        if let Some(f) = &n.field {
            if !d.fields.iter().any(|x| &x.name == f) {
                return Err(Error::invalid(format!(
                    "dataset {} has no field {f:?}",
                    d.name
                )));
            }
        }
        let row = NegativeRow {
            id: onecity_core::new_id(),
            tenant: d.tenant.clone(),
            dataset_id: d.id,
            field: n.field.clone(),
            reason: n.reason.trim().to_string(),
            legal_basis: n.legal_basis.clone(),
            created_at: now_micros(),
        };
        let mut tx = self.iam.db().begin().await?;
        store::insert_negative(&mut tx, &row, &p.actor()).await?;
        // Touch the dataset so that caches (search, DCAT) drop it or its fields.
        datasets::touch(&mut tx, d.id, now_micros()).await?;
        let e = neg_from_row(row);
        let after = serde_json::to_value(&e).map_err(Error::internal)?;
        self.iam
            .record(
                &mut tx,
                &AuditEntry {
                    tenant: &e.tenant,
                    actor: &p.actor(),
                    action: "negative_list.add",
                    resource_type: "dataset",
                    resource_id: &d.id.to_string(),
                    after: Some(&after),
                    detail: e.field.as_deref(),
                    ..Default::default()
                },
                None,
            )
            .await?;
        tx.commit().await?;
        Ok(e)
    }

    /// The negative list of a tenant. Errors: `forbidden` without `catalog_read` there.
    pub async fn negatives(&self, p: &Principal, tenant: &str) -> Result<Vec<NegativeEntry>> {
        if p.subtrees(Permission::CatalogRead, tenant)
            .is_some_and(|v| v.is_empty())
        {
            return Err(Error::forbidden("catalog_read is needed"));
        }
        Ok(store::negatives_of_tenant(self.iam.db(), tenant)
            .await?
            .into_iter()
            .map(neg_from_row)
            .collect())
    }

    /// Records a demand and matches it: the first dataset of the tenant (not on the
    /// negative list) whose schema holds every requested field (or, with no fields, whose
    /// title contains the demand's title) → `matched`, provider = its owner; else the named
    /// provider → `assigned`; else `open`.
    pub async fn add_demand(&self, p: &Principal, n: &NewDemand) -> Result<Demand> {
        text_1("title", &n.title, 500)?;
        text_1("purpose", &n.purpose, 2000)?;
        text_1("legal_basis", &n.legal_basis, 2000)?;
        if n.fields.len() > 200 {
            return Err(Error::invalid("at most 200 fields"));
        }
        let dept = self.owner_dept(n.requester_department_id).await?;
        self.require_write_in(p, &dept.tenant, &dept.path).await?;
        if let Some(pd) = n.provider_department_id {
            if self.owner_dept(pd).await?.tenant != dept.tenant {
                return Err(Error::invalid(
                    "the provider department is in another tenant",
                ));
            }
        }
        let db = self.iam.db();
        let mut matched = None;
        let rows = datasets::active_datasets(db, &dept.tenant).await?;
        for r in &rows {
            let (id, owner) = (r.id, r.owner_department_id);
            if owner == dept.id {
                continue;
            }
            let blocks = self.negative_list_blocks(id, &[]).await?;
            if blocks.dataset_blocked {
                continue;
            }
            let ok = if n.fields.is_empty() {
                r.title.contains(n.title.trim())
            } else {
                let have = datasets::field_names(db, id).await?;
                n.fields
                    .iter()
                    .all(|f| have.contains(f) && !blocks.blocked_fields.contains(f))
            };
            if ok {
                matched = Some((id, owner));
                break;
            }
        }
        let (status, ds, provider) = match (matched, n.provider_department_id) {
            (Some((id, owner)), _) => ("matched", Some(id), Some(owner)),
            (None, Some(pd)) => ("assigned", None, Some(pd)),
            (None, None) => ("open", None, None),
        };
        let id = onecity_core::new_id();
        let now = now_micros();
        let mut tx = db.begin().await?;
        store::insert_demand(
            &mut tx,
            &store::NewDemandRow {
                id,
                tenant: &dept.tenant,
                requester_department_id: dept.id,
                title: n.title.trim(),
                purpose: n.purpose.trim(),
                legal_basis: n.legal_basis.trim(),
                fields: serde_json::to_string(&n.fields).map_err(Error::internal)?,
                matched_dataset_id: ds,
                provider_department_id: provider,
                status,
                created_by: &p.actor(),
                now,
            },
        )
        .await?;
        self.iam
            .record(
                &mut tx,
                &AuditEntry {
                    tenant: &dept.tenant,
                    actor: &p.actor(),
                    action: "demand.create",
                    resource_type: "demand",
                    resource_id: &id.to_string(),
                    detail: Some(status),
                    ..Default::default()
                },
                None,
            )
            .await?;
        tx.commit().await?;
        let r = store::demand(db, id)
            .await?
            .ok_or_else(|| Error::internal("demand vanished"))?;
        Ok(demand_from_row(r))
    }

    /// The demand list of a tenant (needs `catalog_read` there).
    pub async fn demands(&self, p: &Principal, tenant: &str) -> Result<Vec<Demand>> {
        if p.subtrees(Permission::CatalogRead, tenant)
            .is_some_and(|v| v.is_empty())
        {
            return Err(Error::forbidden("catalog_read is needed"));
        }
        Ok(store::demands_of_tenant(self.iam.db(), tenant)
            .await?
            .into_iter()
            .map(demand_from_row)
            .collect())
    }

    /// Adds a responsibility entry (freshness SLA for a dataset of a department).
    pub async fn add_responsibility(
        &self,
        p: &Principal,
        n: &NewResponsibility,
    ) -> Result<Responsibility> {
        text_1("title", &n.title, 500)?;
        let dept = self.owner_dept(n.department_id).await?;
        self.require_write_in(p, &dept.tenant, &dept.path).await?;
        let ds = match &n.dataset {
            Some(x) => Some(self.get(Some(p), x).await?),
            None => None,
        };
        let max_age = match (n.max_age_secs, &ds) {
            (Some(s), _) if s >= 60 => s,
            (Some(_), _) => return Err(Error::invalid("max_age_secs must be at least 60")),
            (None, Some(d)) => d.update_frequency.max_age_secs().ok_or_else(|| {
                Error::invalid("the dataset has no regular update frequency: give max_age_secs")
            })?,
            (None, None) => Frequency::Monthly.max_age_secs().unwrap_or(2_678_400),
        };
        let id = onecity_core::new_id();
        let mut tx = self.iam.db().begin().await?;
        store::insert_responsibility(
            &mut tx,
            &store::NewResponsibilityRow {
                id,
                tenant: &dept.tenant,
                department_id: dept.id,
                dataset_id: ds.as_ref().map(|d| d.id),
                title: n.title.trim(),
                max_age_secs: max_age,
                created_by: &p.actor(),
                now: now_micros(),
            },
        )
        .await?;
        self.iam
            .record(
                &mut tx,
                &AuditEntry {
                    tenant: &dept.tenant,
                    actor: &p.actor(),
                    action: "responsibility.create",
                    resource_type: "responsibility",
                    resource_id: &id.to_string(),
                    ..Default::default()
                },
                None,
            )
            .await?;
        tx.commit().await?;
        self.check_freshness(now_micros()).await?;
        let r = store::responsibility(self.iam.db(), id)
            .await?
            .ok_or_else(|| Error::internal("responsibility vanished"))?;
        Ok(resp_from_row(r))
    }

    /// The responsibility list of a tenant (needs `catalog_read` there).
    pub async fn responsibilities(
        &self,
        p: &Principal,
        tenant: &str,
    ) -> Result<Vec<Responsibility>> {
        if p.subtrees(Permission::CatalogRead, tenant)
            .is_some_and(|v| v.is_empty())
        {
            return Err(Error::forbidden("catalog_read is needed"));
        }
        Ok(store::responsibilities_of_tenant(self.iam.db(), tenant)
            .await?
            .into_iter()
            .map(resp_from_row)
            .collect())
    }

    /// The periodic freshness check (run by the server every few minutes): an entry is
    /// overdue when its dataset is missing, or its data (`data_updated_at`, else the
    /// dataset's creation) is older than `max_age_secs` at `now` (µs). Newly overdue
    /// entries are flagged with an audit record; entries fresh again are cleared.
    /// Returns the number of entries overdue now.
    pub async fn check_freshness(&self, now: i64) -> Result<usize> {
        let db = self.iam.db();
        let rows = store::freshness(db).await?;
        let mut overdue_now = 0;
        for r in rows {
            let max_age = r.max_age_secs;
            let last = r.data_updated_at.or(r.d_created);
            let live = r.d_state.as_deref() == Some("active");
            let late = match last {
                Some(t) if live => now - t > max_age * 1_000_000,
                _ => true,
            };
            let was = r.overdue;
            let id = r.id;
            if late {
                overdue_now += 1;
            }
            if late && !was {
                let tenant = r.tenant;
                let mut tx = db.begin().await?;
                store::mark_overdue(&mut tx, id, now).await?;
                self.iam
                    .record(
                        &mut tx,
                        &AuditEntry {
                            tenant: &tenant,
                            actor: "system",
                            action: "responsibility.overdue",
                            resource_type: "responsibility",
                            resource_id: &id.to_string(),
                            ..Default::default()
                        },
                        None,
                    )
                    .await?;
                tx.commit().await?;
            } else if !late && was {
                store::clear_overdue(db, id, now).await?;
            } else {
                store::mark_checked(db, id, now).await?;
            }
        }
        Ok(overdue_now)
    }
}
