//! Every SQL statement of tenants, the jurisdiction tree and departments (`tenants`,
//! `jurisdictions`, `departments`). Each function takes any [`Executor`] (`&db` or
//! `&mut tx`); times are µs since the epoch. Rows map into the `onecity-core` model types
//! field by field.

use onecity_core::model::{Department, Jurisdiction, Tenant};
use onecity_core::Result;
use onecity_store::{args, Executor, Row, Val};
use uuid::Uuid;

/// Every column of `tenants` a [`Tenant`] reads.
const TENANT_COLUMNS: &str = "id, code, name, name_en, root_jurisdiction_id";

/// Every column of `jurisdictions` a [`Jurisdiction`] reads.
const JURISDICTION_COLUMNS: &str =
    "id, tenant, parent_id, level, code, name, name_en, path, has_boundary";

/// Every column of `departments` a [`Department`] reads, qualified by the alias `d`.
const DEPARTMENT_COLUMNS_D: &str = "d.id, d.tenant, d.jurisdiction_id, d.code, d.name, d.name_en";

fn tenant_from_row(r: &Row) -> Result<Tenant> {
    Ok(Tenant {
        id: r.uuid("id")?,
        code: r.text("code")?,
        name: r.text("name")?,
        name_en: r.opt_text("name_en")?,
        root_jurisdiction_id: r.uuid("root_jurisdiction_id")?,
    })
}

fn jurisdiction_from_row(r: &Row) -> Result<Jurisdiction> {
    Ok(Jurisdiction {
        id: r.uuid("id")?,
        tenant: r.text("tenant")?,
        parent_id: r.opt_uuid("parent_id")?,
        level: r.text("level")?,
        code: r.text("code")?,
        name: r.text("name")?,
        name_en: r.opt_text("name_en")?,
        path: r.text("path")?,
        has_boundary: r.bool("has_boundary")?,
    })
}

fn department_from_row(r: &Row) -> Result<Department> {
    Ok(Department {
        id: r.uuid("id")?,
        tenant: r.text("tenant")?,
        jurisdiction_id: r.uuid("jurisdiction_id")?,
        code: r.text("code")?,
        name: r.text("name")?,
        name_en: r.opt_text("name_en")?,
    })
}

/// Appends a filter restricting `col` (a jurisdiction path) to the subtrees rooted at
/// `roots` (each root path itself or anything under it); `None` adds nothing.
fn push_subtree_filter(roots: Option<&[String]>, sql: &mut String, a: &mut Vec<Val>, col: &str) {
    let Some(roots) = roots else {
        return;
    };
    let mut parts = Vec::new();
    for r in roots {
        a.push(Val::from(r.clone()));
        let i = a.len();
        a.push(Val::from(format!("{r}/%")));
        parts.push(format!("({col} = ${i} OR {col} LIKE ${})", i + 1));
    }
    sql.push_str(&format!(" AND ({})", parts.join(" OR ")));
}

/// The tenant with code `code`.
pub(crate) async fn tenant_by_code(mut ex: impl Executor, code: &str) -> Result<Option<Tenant>> {
    ex.fetch_optional(
        &format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE code = $1"),
        args![code],
    )
    .await?
    .as_ref()
    .map(tenant_from_row)
    .transpose()
}

/// Up to `limit` tenants with a code after `after`, by code.
pub(crate) async fn tenants_after(
    mut ex: impl Executor,
    after: &str,
    limit: u32,
) -> Result<Vec<Tenant>> {
    ex.fetch_all(
        &format!(
            "SELECT {TENANT_COLUMNS} FROM tenants WHERE code > $1 ORDER BY code LIMIT {limit}"
        ),
        args![after],
    )
    .await?
    .iter()
    .map(tenant_from_row)
    .collect()
}

/// The code of every tenant, in order.
pub(crate) async fn tenant_codes(mut ex: impl Executor) -> Result<Vec<String>> {
    ex.fetch_all("SELECT code FROM tenants ORDER BY code", &[])
        .await?
        .iter()
        .map(|r| r.text("code"))
        .collect()
}

/// Inserts a tenant row (its root jurisdiction is inserted with [`insert_jurisdiction`]).
pub(crate) async fn insert_tenant(mut ex: impl Executor, t: &Tenant, now: i64) -> Result<()> {
    ex.execute(
        "INSERT INTO tenants (id, code, name, name_en, root_jurisdiction_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        args![
            t.id,
            t.code.clone(),
            t.name.clone(),
            t.name_en.clone(),
            t.root_jurisdiction_id,
            now
        ],
    )
    .await?;
    Ok(())
}

/// Inserts a jurisdiction row at `depth` (0 for a root). Errors: `conflict` when its code
/// is already used in the tenant.
pub(crate) async fn insert_jurisdiction(
    mut ex: impl Executor,
    j: &Jurisdiction,
    depth: i64,
    now: i64,
) -> Result<()> {
    ex.execute(
        "INSERT INTO jurisdictions (id, tenant, parent_id, level, code, name, name_en, path, depth, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        args![
            j.id,
            j.tenant.clone(),
            j.parent_id,
            j.level.clone(),
            j.code.clone(),
            j.name.clone(),
            j.name_en.clone(),
            j.path.clone(),
            depth,
            now
        ],
    )
    .await?;
    Ok(())
}

/// The jurisdiction `id` of `tenant`.
pub(crate) async fn jurisdiction(
    mut ex: impl Executor,
    tenant: &str,
    id: Uuid,
) -> Result<Option<Jurisdiction>> {
    ex.fetch_optional(
        &format!("SELECT {JURISDICTION_COLUMNS} FROM jurisdictions WHERE tenant = $1 AND id = $2"),
        args![tenant, id],
    )
    .await?
    .as_ref()
    .map(jurisdiction_from_row)
    .transpose()
}

/// The jurisdiction of `tenant` with official code `code`.
pub(crate) async fn jurisdiction_by_code(
    mut ex: impl Executor,
    tenant: &str,
    code: &str,
) -> Result<Option<Jurisdiction>> {
    ex.fetch_optional(
        &format!(
            "SELECT {JURISDICTION_COLUMNS} FROM jurisdictions WHERE tenant = $1 AND code = $2"
        ),
        args![tenant, code],
    )
    .await?
    .as_ref()
    .map(jurisdiction_from_row)
    .transpose()
}

/// Every jurisdiction of `tenant`, by path.
pub(crate) async fn jurisdictions_of(
    mut ex: impl Executor,
    tenant: &str,
) -> Result<Vec<Jurisdiction>> {
    ex.fetch_all(
        &format!(
            "SELECT {JURISDICTION_COLUMNS} FROM jurisdictions WHERE tenant = $1 ORDER BY path"
        ),
        args![tenant],
    )
    .await?
    .iter()
    .map(jurisdiction_from_row)
    .collect()
}

/// Up to `limit` jurisdictions of `tenant` with an id after `after`, by id: optionally the
/// children of `parent_id`, of one `level`, inside the subtrees `roots` (`None`: all).
pub(crate) async fn jurisdictions_page(
    mut ex: impl Executor,
    tenant: &str,
    after: &str,
    parent_id: Option<Uuid>,
    level: Option<&str>,
    roots: Option<&[String]>,
    limit: u32,
) -> Result<Vec<Jurisdiction>> {
    let mut sql =
        format!("SELECT {JURISDICTION_COLUMNS} FROM jurisdictions WHERE tenant = $1 AND id > $2");
    let mut a: Vec<Val> = vec![tenant.into(), after.into()];
    if let Some(pid) = parent_id {
        a.push(pid.into());
        sql.push_str(&format!(" AND parent_id = ${}", a.len()));
    }
    if let Some(l) = level {
        a.push(l.into());
        sql.push_str(&format!(" AND level = ${}", a.len()));
    }
    push_subtree_filter(roots, &mut sql, &mut a, "path");
    sql.push_str(&format!(" ORDER BY id LIMIT {limit}"));
    ex.fetch_all(&sql, &a)
        .await?
        .iter()
        .map(jurisdiction_from_row)
        .collect()
}

/// Marks the jurisdiction `id` as having a boundary.
pub(crate) async fn set_has_boundary(mut ex: impl Executor, id: Uuid) -> Result<()> {
    ex.execute(
        "UPDATE jurisdictions SET has_boundary = 1 WHERE id = $1",
        args![id],
    )
    .await?;
    Ok(())
}

/// Inserts a department row. Errors: `conflict` when its code is already used in the
/// tenant.
pub(crate) async fn insert_department(
    mut ex: impl Executor,
    d: &Department,
    now: i64,
) -> Result<()> {
    ex.execute(
        "INSERT INTO departments (id, tenant, jurisdiction_id, code, name, name_en, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            d.id,
            d.tenant.clone(),
            d.jurisdiction_id,
            d.code.clone(),
            d.name.clone(),
            d.name_en.clone(),
            now
        ],
    )
    .await?;
    Ok(())
}

/// The department `id` of `tenant` and its jurisdiction's path.
pub(crate) async fn department_with_path(
    mut ex: impl Executor,
    tenant: &str,
    id: Uuid,
) -> Result<Option<(Department, String)>> {
    let Some(r) = ex
        .fetch_optional(
            &format!(
                "SELECT {DEPARTMENT_COLUMNS_D}, j.path AS jpath FROM departments d \
                 JOIN jurisdictions j ON j.id = d.jurisdiction_id WHERE d.tenant = $1 AND d.id = $2"
            ),
            args![tenant, id],
        )
        .await?
    else {
        return Ok(None);
    };
    let path = r.text("jpath")?;
    Ok(Some((department_from_row(&r)?, path)))
}

/// Renames a department (its code and jurisdiction stay). Returns whether a row changed.
pub(crate) async fn rename_department(
    mut ex: impl Executor,
    tenant: &str,
    id: Uuid,
    name: &str,
    name_en: Option<&str>,
) -> Result<bool> {
    let n = ex
        .execute(
            "UPDATE departments SET name = $3, name_en = $4 WHERE tenant = $1 AND id = $2",
            args![tenant, id, name, name_en],
        )
        .await?;
    Ok(n > 0)
}

/// The department of `tenant` with code `code`.
pub(crate) async fn department_by_code(
    mut ex: impl Executor,
    tenant: &str,
    code: &str,
) -> Result<Option<Department>> {
    ex.fetch_optional(
        &format!(
            "SELECT {DEPARTMENT_COLUMNS_D} FROM departments d WHERE d.tenant = $1 AND d.code = $2"
        ),
        args![tenant, code],
    )
    .await?
    .as_ref()
    .map(department_from_row)
    .transpose()
}

/// Up to `limit` departments of `tenant` with an id after `after`, by id: optionally those
/// of one jurisdiction, inside the subtrees `roots` (`None`: all).
pub(crate) async fn departments_page(
    mut ex: impl Executor,
    tenant: &str,
    after: &str,
    jurisdiction_id: Option<Uuid>,
    roots: Option<&[String]>,
    limit: u32,
) -> Result<Vec<Department>> {
    let mut sql = format!(
        "SELECT {DEPARTMENT_COLUMNS_D} FROM departments d JOIN jurisdictions j ON j.id = d.jurisdiction_id \
         WHERE d.tenant = $1 AND d.id > $2"
    );
    let mut a: Vec<Val> = vec![tenant.into(), after.into()];
    if let Some(j) = jurisdiction_id {
        a.push(j.into());
        sql.push_str(&format!(" AND d.jurisdiction_id = ${}", a.len()));
    }
    push_subtree_filter(roots, &mut sql, &mut a, "j.path");
    sql.push_str(&format!(" ORDER BY d.id LIMIT {limit}"));
    ex.fetch_all(&sql, &a)
        .await?
        .iter()
        .map(department_from_row)
        .collect()
}
