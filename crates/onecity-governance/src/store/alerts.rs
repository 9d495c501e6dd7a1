//! Statements of the alert tables: `gov_alerts` (CAP alerts, pending their plan),
//! `gov_alert_rules` (thresholds on twin data), `gov_plans` (linkage plans, 预案) and
//! `gov_alert_tasks` (the work order each plan task opened).

use onecity_core::Result;
use onecity_store::{args, Executor};
use serde::Deserialize;
use uuid::Uuid;

/// The columns of [`AlertRow`].
const ALERT_COLUMNS: &str = "id, tenant, source, alert_type, level, headline, description, \
     area_desc, polygons, circles, sent_at, work_orders";

/// An alert as stored. JSON columns are kept as their text; times are µs.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AlertRow {
    /// Alert id (UUIDv7).
    pub id: Uuid,
    /// Tenant code.
    pub tenant: String,
    /// `twin` or `cap`.
    pub source: String,
    /// Alert type (e.g. `flood`).
    pub alert_type: String,
    /// Colour level (`blue` … `red`).
    pub level: String,
    /// Headline.
    pub headline: String,
    /// Description.
    pub description: Option<String>,
    /// Area description.
    pub area_desc: String,
    /// Polygons (JSON text).
    pub polygons: String,
    /// Circles (JSON text).
    pub circles: String,
    /// When sent.
    pub sent_at: i64,
    /// Work orders opened for it (JSON array text of case ids).
    pub work_orders: String,
}

/// An alert to insert (pending its plan, no work orders yet).
pub(crate) struct NewAlertRow<'a> {
    /// Alert id.
    pub id: Uuid,
    /// Tenant code.
    pub tenant: &'a str,
    /// `twin` or `cap`.
    pub source: &'a str,
    /// Reference in the source (unique per tenant and source).
    pub source_ref: &'a str,
    /// Alert type.
    pub alert_type: &'a str,
    /// Colour level.
    pub level: &'a str,
    /// Headline.
    pub headline: &'a str,
    /// Description.
    pub description: Option<&'a str>,
    /// Area description.
    pub area_desc: &'a str,
    /// Polygons (JSON text).
    pub polygons: String,
    /// Circles (JSON text).
    pub circles: String,
    /// When sent (µs).
    pub sent_at: i64,
    /// When stored (µs).
    pub created_at: i64,
}

/// The alert `(tenant, source, source_ref)`, if stored.
pub(crate) async fn alert_id_by_source(
    mut ex: impl Executor,
    tenant: &str,
    source: &str,
    source_ref: &str,
) -> Result<Option<Uuid>> {
    let row = ex
        .fetch_optional(
            "SELECT id FROM gov_alerts WHERE tenant = $1 AND source = $2 AND source_ref = $3",
            args![tenant, source, source_ref],
        )
        .await?;
    row.map(|r| r.uuid("id")).transpose()
}

/// Inserts an alert, pending (1) its plan.
pub(crate) async fn insert_alert(mut ex: impl Executor, alert: &NewAlertRow<'_>) -> Result<()> {
    ex.execute(
        "INSERT INTO gov_alerts (id, tenant, source, source_ref, alert_type, level, headline, \
         description, area_desc, polygons, circles, sent_at, cap_xml, work_orders, pending, \
         created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, '[]', 1, $13)",
        args![
            alert.id,
            alert.tenant,
            alert.source,
            alert.source_ref,
            alert.alert_type,
            alert.level,
            alert.headline,
            alert.description,
            alert.area_desc,
            alert.polygons.as_str(),
            alert.circles.as_str(),
            alert.sent_at,
            alert.created_at
        ],
    )
    .await?;
    Ok(())
}

/// One alert of a tenant, if it exists.
pub(crate) async fn alert(
    mut ex: impl Executor,
    tenant: &str,
    id: Uuid,
) -> Result<Option<AlertRow>> {
    ex.fetch_optional_as(
        &format!("SELECT {ALERT_COLUMNS} FROM gov_alerts WHERE tenant = $1 AND id = $2"),
        args![tenant, id],
    )
    .await
}

/// One alert of any tenant, if it exists.
pub(crate) async fn alert_any_tenant(mut ex: impl Executor, id: Uuid) -> Result<Option<AlertRow>> {
    ex.fetch_optional_as(
        &format!("SELECT {ALERT_COLUMNS} FROM gov_alerts WHERE id = $1"),
        args![id],
    )
    .await
}

/// The newest alerts of a tenant, at most `limit`.
pub(crate) async fn alerts(
    mut ex: impl Executor,
    tenant: &str,
    limit: usize,
) -> Result<Vec<AlertRow>> {
    ex.fetch_all_as(
        &format!(
            "SELECT {ALERT_COLUMNS} FROM gov_alerts WHERE tenant = $1 ORDER BY id DESC LIMIT {limit}"
        ),
        args![tenant],
    )
    .await
}

/// Alerts waiting for their plan: pending (1), or claimed (2) with no claim time or a
/// claim older than `stale_before` (µs); oldest first, at most `limit`.
pub(crate) async fn pending_alerts(
    mut ex: impl Executor,
    stale_before: i64,
    limit: usize,
) -> Result<Vec<AlertRow>> {
    ex.fetch_all_as(
        &format!(
            "SELECT {ALERT_COLUMNS} FROM gov_alerts WHERE pending = 1 OR (pending = 2 AND \
             (claimed_at IS NULL OR claimed_at < $1)) ORDER BY id LIMIT {limit}"
        ),
        args![stale_before],
    )
    .await
}

/// Claims a pending alert (or re-claims a stale claim) at `now`; false when another runner
/// holds it.
pub(crate) async fn claim_alert(
    mut ex: impl Executor,
    id: Uuid,
    now: i64,
    stale_before: i64,
) -> Result<bool> {
    let claimed = ex
        .execute(
            "UPDATE gov_alerts SET pending = 2, claimed_at = $1 WHERE id = $2 AND (pending = 1 \
             OR (pending = 2 AND (claimed_at IS NULL OR claimed_at < $3)))",
            args![now, id, stale_before],
        )
        .await?;
    Ok(claimed > 0)
}

/// Marks an alert handled (0) with its work orders (JSON array text of case ids).
pub(crate) async fn finish_alert(mut ex: impl Executor, id: Uuid, work_orders: &str) -> Result<()> {
    ex.execute(
        "UPDATE gov_alerts SET pending = 0, work_orders = $1 WHERE id = $2",
        args![work_orders, id],
    )
    .await?;
    Ok(())
}

// ------------------------------------------------------------------------ alert rules

/// A threshold rule on twin data.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AlertRuleRow {
    /// Rule id.
    pub id: Uuid,
    /// Attribute whose number is compared.
    pub attribute: String,
    /// Alert type raised.
    pub alert_type: String,
    /// Thresholds by colour (JSON object text).
    pub thresholds: String,
}

/// The alert rules of a tenant on one entity type, by id.
pub(crate) async fn alert_rules(
    mut ex: impl Executor,
    tenant: &str,
    entity_type: &str,
) -> Result<Vec<AlertRuleRow>> {
    ex.fetch_all_as(
        "SELECT id, attribute, alert_type, thresholds FROM gov_alert_rules \
         WHERE tenant = $1 AND entity_type = $2 ORDER BY id",
        args![tenant, entity_type],
    )
    .await
}

/// Inserts an alert rule (`thresholds` as JSON object text, `now` µs).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_alert_rule(
    mut ex: impl Executor,
    id: Uuid,
    tenant: &str,
    entity_type: &str,
    attribute: &str,
    alert_type: &str,
    thresholds: &str,
    now: i64,
) -> Result<()> {
    ex.execute(
        "INSERT INTO gov_alert_rules (id, tenant, entity_type, attribute, alert_type, thresholds, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            id,
            tenant,
            entity_type,
            attribute,
            alert_type,
            thresholds,
            now
        ],
    )
    .await?;
    Ok(())
}

// ------------------------------------------------------------------------ plans

/// A linkage plan.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PlanRow {
    /// Alert type.
    pub alert_type: String,
    /// Colour level.
    pub level: String,
    /// Name.
    pub name: String,
    /// Tasks (JSON array text).
    pub tasks: String,
}

/// Replaces the plan of `(tenant, alert_type, level)`; `tasks` is JSON array text.
pub(crate) async fn replace_plan(
    mut ex: impl Executor,
    tenant: &str,
    plan: &PlanRow,
    now: i64,
) -> Result<()> {
    ex.execute(
        "DELETE FROM gov_plans WHERE tenant = $1 AND alert_type = $2 AND level = $3",
        args![tenant, plan.alert_type.as_str(), plan.level.as_str()],
    )
    .await?;
    ex.execute(
        "INSERT INTO gov_plans (id, tenant, alert_type, level, name, tasks, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            onecity_core::new_id(),
            tenant,
            plan.alert_type.as_str(),
            plan.level.as_str(),
            plan.name.as_str(),
            plan.tasks.as_str(),
            now
        ],
    )
    .await?;
    Ok(())
}

/// The plans of a tenant, by alert type and level.
pub(crate) async fn plans(mut ex: impl Executor, tenant: &str) -> Result<Vec<PlanRow>> {
    ex.fetch_all_as(
        "SELECT alert_type, level, name, tasks FROM gov_plans WHERE tenant = $1 \
         ORDER BY alert_type, level",
        args![tenant],
    )
    .await
}

/// The plan of `(tenant, alert_type, level)`, if any.
pub(crate) async fn plan(
    mut ex: impl Executor,
    tenant: &str,
    alert_type: &str,
    level: &str,
) -> Result<Option<PlanRow>> {
    ex.fetch_optional_as(
        "SELECT alert_type, level, name, tasks FROM gov_plans WHERE tenant = $1 \
         AND alert_type = $2 AND level = $3",
        args![tenant, alert_type, level],
    )
    .await
}

/// `(task number, work order)` of the plan tasks already opened for an alert.
pub(crate) async fn alert_tasks(mut ex: impl Executor, alert_id: Uuid) -> Result<Vec<(i64, Uuid)>> {
    #[derive(Deserialize)]
    struct TaskRow {
        task_no: i64,
        case_id: Uuid,
    }
    let rows: Vec<TaskRow> = ex
        .fetch_all_as(
            "SELECT task_no, case_id FROM gov_alert_tasks WHERE alert_id = $1",
            args![alert_id],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.task_no, row.case_id))
        .collect())
}

/// Records the work order opened for task `task_no` of an alert.
pub(crate) async fn insert_alert_task(
    mut ex: impl Executor,
    alert_id: Uuid,
    task_no: i64,
    case_id: Uuid,
) -> Result<()> {
    ex.execute(
        "INSERT INTO gov_alert_tasks (alert_id, task_no, case_id) VALUES ($1, $2, $3)",
        args![alert_id, task_no, case_id],
    )
    .await?;
    Ok(())
}
