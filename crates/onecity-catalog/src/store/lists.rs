//! SQL of the three lists: `catalog_negatives` (负面清单), `catalog_demands` (需求清单) and
//! `catalog_responsibilities` (责任清单).

use onecity_core::Result;
use onecity_store::decode::json_text;
use onecity_store::{args, Executor, SqlBuilder};
use serde::Deserialize;
use uuid::Uuid;

/// A `catalog_negatives` row.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct NegativeRow {
    pub id: Uuid,
    pub tenant: String,
    pub dataset_id: Uuid,
    /// `None`: the whole dataset.
    pub field: Option<String>,
    pub reason: String,
    pub legal_basis: Option<String>,
    pub created_at: i64,
}

/// `(entry id, field)` of the negative-list entries of a dataset in id order (`None`
/// field: the whole dataset).
pub(crate) async fn negatives_of_dataset(
    mut ex: impl Executor,
    dataset_id: Uuid,
) -> Result<Vec<(Uuid, Option<String>)>> {
    #[derive(Deserialize)]
    struct Entry {
        id: Uuid,
        field: Option<String>,
    }
    let rows: Vec<Entry> = ex
        .fetch_all_as(
            "SELECT id, field FROM catalog_negatives WHERE dataset_id = $1 ORDER BY id",
            args![dataset_id],
        )
        .await?;
    Ok(rows.into_iter().map(|e| (e.id, e.field)).collect())
}

/// Those of the datasets `ids` that are on the negative list as a whole.
pub(crate) async fn wholly_negative_in(mut ex: impl Executor, ids: &[Uuid]) -> Result<Vec<Uuid>> {
    #[derive(Deserialize)]
    struct Ds {
        dataset_id: Uuid,
    }
    let mut q = SqlBuilder::new(
        "SELECT dataset_id FROM catalog_negatives WHERE field IS NULL AND dataset_id IN ",
    );
    q.push_list(ids.iter().copied());
    let rows: Vec<Ds> = ex.fetch_all_as(q.sql(), q.args()).await?;
    Ok(rows.into_iter().map(|r| r.dataset_id).collect())
}

/// The negative list of a tenant in id order.
pub(crate) async fn negatives_of_tenant(
    mut ex: impl Executor,
    tenant: &str,
) -> Result<Vec<NegativeRow>> {
    ex.fetch_all_as(
        "SELECT id, tenant, dataset_id, field, reason, legal_basis, created_at \
         FROM catalog_negatives WHERE tenant = $1 ORDER BY id",
        args![tenant],
    )
    .await
}

/// Inserts a negative-list entry.
pub(crate) async fn insert_negative(
    mut ex: impl Executor,
    e: &NegativeRow,
    created_by: &str,
) -> Result<()> {
    ex.execute(
        "INSERT INTO catalog_negatives (id, tenant, dataset_id, field, reason, legal_basis, \
         created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![
            e.id,
            &e.tenant,
            e.dataset_id,
            e.field.clone(),
            &e.reason,
            e.legal_basis.clone(),
            created_by,
            e.created_at
        ],
    )
    .await?;
    Ok(())
}

/// A `catalog_demands` row.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DemandRow {
    pub id: Uuid,
    pub tenant: String,
    pub requester_department_id: Uuid,
    pub title: String,
    pub purpose: String,
    pub legal_basis: String,
    /// Field names (JSON list).
    #[serde(with = "json_text")]
    pub fields: Vec<String>,
    pub matched_dataset_id: Option<Uuid>,
    pub provider_department_id: Option<Uuid>,
    pub status: String,
    pub created_at: i64,
}

/// The columns of [`DemandRow`].
macro_rules! demand_columns {
    () => {
        "id, tenant, requester_department_id, title, purpose, legal_basis, fields, \
         matched_dataset_id, provider_department_id, status, created_at"
    };
}

/// A demand to insert.
pub(crate) struct NewDemandRow<'a> {
    pub id: Uuid,
    pub tenant: &'a str,
    pub requester_department_id: Uuid,
    pub title: &'a str,
    pub purpose: &'a str,
    pub legal_basis: &'a str,
    /// Field names, JSON text.
    pub fields: String,
    pub matched_dataset_id: Option<Uuid>,
    pub provider_department_id: Option<Uuid>,
    pub status: &'a str,
    pub created_by: &'a str,
    pub now: i64,
}

/// Inserts a demand.
pub(crate) async fn insert_demand(mut ex: impl Executor, d: &NewDemandRow<'_>) -> Result<()> {
    ex.execute(
        "INSERT INTO catalog_demands (id, tenant, requester_department_id, title, purpose, \
         legal_basis, fields, matched_dataset_id, provider_department_id, status, created_by, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        args![
            d.id,
            d.tenant,
            d.requester_department_id,
            d.title,
            d.purpose,
            d.legal_basis,
            d.fields.clone(),
            d.matched_dataset_id,
            d.provider_department_id,
            d.status,
            d.created_by,
            d.now
        ],
    )
    .await?;
    Ok(())
}

/// A demand by id.
pub(crate) async fn demand(mut ex: impl Executor, id: Uuid) -> Result<Option<DemandRow>> {
    ex.fetch_optional_as(
        concat!(
            "SELECT ",
            demand_columns!(),
            " FROM catalog_demands WHERE id = $1"
        ),
        args![id],
    )
    .await
}

/// The demands of a tenant in id order.
pub(crate) async fn demands_of_tenant(
    mut ex: impl Executor,
    tenant: &str,
) -> Result<Vec<DemandRow>> {
    ex.fetch_all_as(
        concat!(
            "SELECT ",
            demand_columns!(),
            " FROM catalog_demands WHERE tenant = $1 ORDER BY id"
        ),
        args![tenant],
    )
    .await
}

/// A `catalog_responsibilities` row.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ResponsibilityRow {
    pub id: Uuid,
    pub tenant: String,
    pub department_id: Uuid,
    pub dataset_id: Option<Uuid>,
    pub title: String,
    pub max_age_secs: i64,
    pub overdue: bool,
    pub overdue_since: Option<i64>,
    pub checked_at: Option<i64>,
}

/// The columns of [`ResponsibilityRow`].
macro_rules! responsibility_columns {
    () => {
        "id, tenant, department_id, dataset_id, title, max_age_secs, overdue, overdue_since, \
         checked_at"
    };
}

/// A responsibility entry to insert.
pub(crate) struct NewResponsibilityRow<'a> {
    pub id: Uuid,
    pub tenant: &'a str,
    pub department_id: Uuid,
    pub dataset_id: Option<Uuid>,
    pub title: &'a str,
    pub max_age_secs: i64,
    pub created_by: &'a str,
    pub now: i64,
}

/// Inserts a responsibility entry (not overdue).
pub(crate) async fn insert_responsibility(
    mut ex: impl Executor,
    r: &NewResponsibilityRow<'_>,
) -> Result<()> {
    ex.execute(
        "INSERT INTO catalog_responsibilities (id, tenant, department_id, dataset_id, title, \
         max_age_secs, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![
            r.id,
            r.tenant,
            r.department_id,
            r.dataset_id,
            r.title,
            r.max_age_secs,
            r.created_by,
            r.now
        ],
    )
    .await?;
    Ok(())
}

/// A responsibility entry by id.
pub(crate) async fn responsibility(
    mut ex: impl Executor,
    id: Uuid,
) -> Result<Option<ResponsibilityRow>> {
    ex.fetch_optional_as(
        concat!(
            "SELECT ",
            responsibility_columns!(),
            " FROM catalog_responsibilities WHERE id = $1"
        ),
        args![id],
    )
    .await
}

/// The responsibility entries of a tenant in id order.
pub(crate) async fn responsibilities_of_tenant(
    mut ex: impl Executor,
    tenant: &str,
) -> Result<Vec<ResponsibilityRow>> {
    ex.fetch_all_as(
        concat!(
            "SELECT ",
            responsibility_columns!(),
            " FROM catalog_responsibilities WHERE tenant = $1 ORDER BY id"
        ),
        args![tenant],
    )
    .await
}

/// A responsibility entry with what the freshness check reads of its dataset.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FreshnessRow {
    pub id: Uuid,
    pub tenant: String,
    pub max_age_secs: i64,
    pub overdue: bool,
    /// The dataset's last data refresh.
    pub data_updated_at: Option<i64>,
    /// The dataset's creation.
    pub d_created: Option<i64>,
    /// The dataset's state (`None`: no dataset).
    pub d_state: Option<String>,
}

/// Every responsibility entry of every tenant, with its dataset's freshness.
pub(crate) async fn freshness(mut ex: impl Executor) -> Result<Vec<FreshnessRow>> {
    ex.fetch_all_as(
        "SELECT r.id, r.tenant, r.max_age_secs, r.overdue, d.data_updated_at, \
         d.created_at AS d_created, d.state AS d_state \
         FROM catalog_responsibilities r LEFT JOIN catalog_datasets d ON d.id = r.dataset_id",
        &[],
    )
    .await
}

/// Flags an entry overdue since `now`.
pub(crate) async fn mark_overdue(mut ex: impl Executor, id: Uuid, now: i64) -> Result<()> {
    ex.execute(
        "UPDATE catalog_responsibilities SET overdue = 1, overdue_since = $2, checked_at = $2 \
         WHERE id = $1",
        args![id, now],
    )
    .await?;
    Ok(())
}

/// Clears an entry's overdue flag (fresh again at `now`).
pub(crate) async fn clear_overdue(mut ex: impl Executor, id: Uuid, now: i64) -> Result<()> {
    ex.execute(
        "UPDATE catalog_responsibilities SET overdue = 0, overdue_since = NULL, \
         checked_at = $2 WHERE id = $1",
        args![id, now],
    )
    .await?;
    Ok(())
}

/// Records that an entry was checked at `now` (no change of state).
pub(crate) async fn mark_checked(mut ex: impl Executor, id: Uuid, now: i64) -> Result<()> {
    ex.execute(
        "UPDATE catalog_responsibilities SET checked_at = $2 WHERE id = $1",
        args![id, now],
    )
    .await?;
    Ok(())
}
