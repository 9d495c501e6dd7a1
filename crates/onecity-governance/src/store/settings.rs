//! Statements of `gov_settings` (one JSON document per tenant), `gov_services` (categories,
//! Open311 services) and `gov_rules` (dispatch rules).

use onecity_core::Result;
use onecity_store::{args, Executor};
use serde::Deserialize;
use uuid::Uuid;

/// The settings document of a tenant (JSON text), if stored.
pub(crate) async fn settings(mut ex: impl Executor, tenant: &str) -> Result<Option<String>> {
    let row = ex
        .fetch_optional(
            "SELECT settings FROM gov_settings WHERE tenant = $1",
            args![tenant],
        )
        .await?;
    row.map(|r| r.text("settings")).transpose()
}

/// Replaces the settings document (JSON text) of a tenant, changed at `now` (µs).
pub(crate) async fn replace_settings(
    mut ex: impl Executor,
    tenant: &str,
    settings: &str,
    now: i64,
) -> Result<()> {
    ex.execute("DELETE FROM gov_settings WHERE tenant = $1", args![tenant])
        .await?;
    ex.execute(
        "INSERT INTO gov_settings (tenant, settings, updated_at) VALUES ($1, $2, $3)",
        args![tenant, settings, now],
    )
    .await?;
    Ok(())
}

// ------------------------------------------------------------------------ categories

/// A category as stored.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ServiceRow {
    /// Category code (unique in the tenant).
    pub code: String,
    /// Name.
    pub name: String,
    /// Chinese name.
    pub name_zh: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Keywords.
    pub keywords: Option<String>,
    /// Group.
    pub grp: Option<String>,
    /// `realtime`, `batch` or `blackbox`.
    pub kind: String,
    /// Deadline in working days.
    pub deadline_working_days: Option<i64>,
    /// Attribute definitions (JSON array text).
    pub attributes: String,
}

const SERVICE_COLUMNS: &str =
    "code, name, name_zh, description, keywords, grp, kind, deadline_working_days, attributes";

/// Creates or replaces the category `row.code` of a tenant, stored at `now` (µs).
pub(crate) async fn replace_service(
    mut ex: impl Executor,
    tenant: &str,
    row: &ServiceRow,
    now: i64,
) -> Result<()> {
    ex.execute(
        "DELETE FROM gov_services WHERE tenant = $1 AND code = $2",
        args![tenant, row.code.as_str()],
    )
    .await?;
    ex.execute(
        &format!(
            "INSERT INTO gov_services (tenant, {SERVICE_COLUMNS}, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ),
        args![
            tenant,
            row.code.as_str(),
            row.name.as_str(),
            row.name_zh.as_deref(),
            row.description.as_deref(),
            row.keywords.as_deref(),
            row.grp.as_deref(),
            row.kind.as_str(),
            row.deadline_working_days,
            row.attributes.as_str(),
            now
        ],
    )
    .await?;
    Ok(())
}

/// Every category of a tenant, by code.
pub(crate) async fn services(mut ex: impl Executor, tenant: &str) -> Result<Vec<ServiceRow>> {
    ex.fetch_all_as(
        &format!("SELECT {SERVICE_COLUMNS} FROM gov_services WHERE tenant = $1 ORDER BY code"),
        args![tenant],
    )
    .await
}

/// One category of a tenant, if it exists.
pub(crate) async fn service(
    mut ex: impl Executor,
    tenant: &str,
    code: &str,
) -> Result<Option<ServiceRow>> {
    ex.fetch_optional_as(
        &format!("SELECT {SERVICE_COLUMNS} FROM gov_services WHERE tenant = $1 AND code = $2"),
        args![tenant, code],
    )
    .await
}

// ------------------------------------------------------------------------ dispatch rules

/// A dispatch rule as stored.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RuleRow {
    /// Rule id.
    pub id: Uuid,
    /// Category it applies to (`None`: every category).
    pub service_code: Option<String>,
    /// Area it applies to (`None`: the whole tenant); kept as text, compared with path
    /// segments.
    pub jurisdiction_id: Option<String>,
    /// Responsible department.
    pub department_id: Uuid,
    /// Co-operating departments (JSON array text of ids).
    pub co_departments: String,
    /// Priority where rules overlap (higher first).
    pub priority: i64,
}

/// A dispatch rule to insert.
pub(crate) struct NewRuleRow<'a> {
    /// Rule id.
    pub id: Uuid,
    /// Tenant code.
    pub tenant: &'a str,
    /// Category, if limited to one.
    pub service_code: Option<&'a str>,
    /// Area, if limited to one.
    pub jurisdiction_id: Option<Uuid>,
    /// Responsible department.
    pub department_id: Uuid,
    /// Co-operating departments (JSON array text).
    pub co_departments: String,
    /// Priority.
    pub priority: i64,
    /// When (µs).
    pub created_at: i64,
}

/// Inserts a dispatch rule.
pub(crate) async fn insert_rule(mut ex: impl Executor, rule: &NewRuleRow<'_>) -> Result<()> {
    ex.execute(
        "INSERT INTO gov_rules (id, tenant, service_code, jurisdiction_id, department_id, \
         co_departments, priority, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![
            rule.id,
            rule.tenant,
            rule.service_code,
            rule.jurisdiction_id,
            rule.department_id,
            rule.co_departments.as_str(),
            rule.priority,
            rule.created_at
        ],
    )
    .await?;
    Ok(())
}

/// The rules of a tenant for category `service_code` (its own and those for any category).
pub(crate) async fn rules_for(
    mut ex: impl Executor,
    tenant: &str,
    service_code: &str,
) -> Result<Vec<RuleRow>> {
    ex.fetch_all_as(
        "SELECT id, service_code, jurisdiction_id, department_id, co_departments, priority \
         FROM gov_rules WHERE tenant = $1 AND (service_code IS NULL OR service_code = $2)",
        args![tenant, service_code],
    )
    .await
}
