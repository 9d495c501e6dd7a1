//! SQL of the item tables: `services_items` (one row per item code) and
//! `services_item_versions` (every version written).

use onecity_core::Result;
use onecity_store::{args, Executor, SqlBuilder};
use serde::Deserialize;
use uuid::Uuid;

/// The columns of [`ItemRow`].
macro_rules! item_columns {
    () => {
        "tenant, department_id, state, latest_version, published_version"
    };
}

/// The columns of [`VersionRow`] (prefixed `v.` where joined).
macro_rules! version_columns {
    ($p:literal) => {
        concat!(
            $p,
            "version, ",
            $p,
            "department_id, ",
            $p,
            "body, ",
            $p,
            "change, ",
            $p,
            "created_by, ",
            $p,
            "created_at, ",
            $p,
            "published_at, ",
            $p,
            "published_by"
        )
    };
}

/// A `services_items` row (the columns the service reads).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ItemRow {
    pub tenant: String,
    pub department_id: Uuid,
    pub state: String,
    pub latest_version: i64,
    pub published_version: Option<i64>,
}

/// A `services_item_versions` row (the filter columns are left out: the body has them).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct VersionRow {
    pub version: i64,
    pub department_id: Uuid,
    /// The [`crate::item::ItemBody`] as JSON text.
    pub body: String,
    pub change: String,
    pub created_by: String,
    pub created_at: i64,
    pub published_at: Option<i64>,
    pub published_by: Option<String>,
}

/// An item by tenant and code.
pub(crate) async fn item(
    mut ex: impl Executor,
    tenant: &str,
    code: &str,
) -> Result<Option<ItemRow>> {
    ex.fetch_optional_as(
        concat!(
            "SELECT ",
            item_columns!(),
            " FROM services_items WHERE tenant = $1 AND code = $2"
        ),
        args![tenant, code],
    )
    .await
}

/// An item locked for update on PostgreSQL (SQLite's one writer already serialises).
pub(crate) async fn item_for_update(
    mut ex: impl Executor,
    tenant: &str,
    code: &str,
) -> Result<Option<ItemRow>> {
    let sql = ex.sql(
        concat!(
            "SELECT ",
            item_columns!(),
            " FROM services_items WHERE tenant = $1 AND code = $2"
        ),
        concat!(
            "SELECT ",
            item_columns!(),
            " FROM services_items WHERE tenant = $1 AND code = $2 FOR UPDATE"
        ),
    );
    ex.fetch_optional_as(sql, args![tenant, code]).await
}

/// One version of an item.
pub(crate) async fn version(
    mut ex: impl Executor,
    tenant: &str,
    code: &str,
    version: i64,
) -> Result<Option<VersionRow>> {
    ex.fetch_optional_as(
        concat!(
            "SELECT ",
            version_columns!(""),
            " FROM services_item_versions WHERE tenant = $1 AND code = $2 AND version = $3"
        ),
        args![tenant, code, version],
    )
    .await
}

/// Every version of an item, newest first.
pub(crate) async fn versions(
    mut ex: impl Executor,
    tenant: &str,
    code: &str,
) -> Result<Vec<VersionRow>> {
    ex.fetch_all_as(
        concat!(
            "SELECT ",
            version_columns!(""),
            " FROM services_item_versions WHERE tenant = $1 AND code = $2 ORDER BY version DESC"
        ),
        args![tenant, code],
    )
    .await
}

/// A new item row (its first version is written with [`insert_version`]).
pub(crate) async fn insert_item(
    mut ex: impl Executor,
    tenant: &str,
    code: &str,
    department_id: Uuid,
    now: i64,
) -> Result<()> {
    ex.execute(
        "INSERT INTO services_items (tenant, code, department_id, state, latest_version, \
         published_version, created_at, updated_at) VALUES ($1, $2, $3, 'draft', 1, NULL, $4, $4)",
        args![tenant, code, department_id, now],
    )
    .await?;
    Ok(())
}

/// The filter columns and body of a version to write.
pub(crate) struct NewVersion<'a> {
    pub tenant: &'a str,
    pub code: &'a str,
    pub version: i64,
    pub department_id: Uuid,
    pub department_code: &'a str,
    pub name: &'a str,
    pub name_en: &'a str,
    pub item_type: &'a str,
    pub level: &'a str,
    /// `,citizen,company,`
    pub targets: String,
    /// `,birth,housing,`
    pub life_events: String,
    pub body: String,
    pub change: &'a str,
    pub created_by: &'a str,
    pub now: i64,
}

/// Writes a version.
pub(crate) async fn insert_version(mut ex: impl Executor, v: &NewVersion<'_>) -> Result<()> {
    ex.execute(
        "INSERT INTO services_item_versions (tenant, code, version, department_id, \
         department_code, name, name_en, item_type, level, targets, life_events, body, change, \
         created_by, created_at, published_at, published_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, NULL, NULL)",
        args![
            v.tenant,
            v.code,
            v.version,
            v.department_id,
            v.department_code,
            v.name,
            v.name_en,
            v.item_type,
            v.level,
            v.targets.as_str(),
            v.life_events.as_str(),
            v.body.as_str(),
            v.change,
            v.created_by,
            v.now
        ],
    )
    .await?;
    Ok(())
}

/// Points an item at a new latest version (and its department).
pub(crate) async fn set_latest(
    mut ex: impl Executor,
    tenant: &str,
    code: &str,
    version: i64,
    department_id: Uuid,
    now: i64,
) -> Result<()> {
    ex.execute(
        "UPDATE services_items SET latest_version = $3, department_id = $4, updated_at = $5 \
         WHERE tenant = $1 AND code = $2",
        args![tenant, code, version, department_id, now],
    )
    .await?;
    Ok(())
}

/// Sets an item's state and published version.
pub(crate) async fn set_state(
    mut ex: impl Executor,
    tenant: &str,
    code: &str,
    state: &str,
    published_version: Option<i64>,
    now: i64,
) -> Result<()> {
    ex.execute(
        "UPDATE services_items SET state = $3, published_version = $4, updated_at = $5 \
         WHERE tenant = $1 AND code = $2",
        args![tenant, code, state, published_version, now],
    )
    .await?;
    Ok(())
}

/// Stamps a version as published now.
pub(crate) async fn stamp_published(
    mut ex: impl Executor,
    tenant: &str,
    code: &str,
    version: i64,
    by: &str,
    now: i64,
) -> Result<()> {
    ex.execute(
        "UPDATE services_item_versions SET published_at = $4, published_by = $5 \
         WHERE tenant = $1 AND code = $2 AND version = $3",
        args![tenant, code, version, now, by],
    )
    .await?;
    Ok(())
}

/// Plain filters of a list (full-text search is the assistant's index).
#[derive(Debug, Default, Clone)]
pub(crate) struct ListFilter<'a> {
    /// List the latest versions of every item (editors) instead of the published ones.
    pub latest: bool,
    pub department_code: Option<&'a str>,
    pub life_event: Option<&'a str>,
    pub target: Option<&'a str>,
    pub item_type: Option<&'a str>,
    /// Lower-cased text matched as a substring of the code, the name or the English name.
    pub text: Option<&'a str>,
    /// Codes after this one (keyset page).
    pub after: Option<&'a str>,
    pub limit: u32,
}

/// A list row: the item's state with one version.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ListRow {
    pub state: String,
    pub version: i64,
    pub body: String,
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Items of a tenant in code order: the published version of each published item, or
/// with `latest` the newest version of every item.
pub(crate) async fn list(
    mut ex: impl Executor,
    tenant: &str,
    f: &ListFilter<'_>,
) -> Result<Vec<ListRow>> {
    let mut q = SqlBuilder::new(
        "SELECT i.state, v.version, v.body FROM services_items i \
         JOIN services_item_versions v ON v.tenant = i.tenant AND v.code = i.code AND v.version = ",
    );
    q.push(if f.latest {
        "i.latest_version"
    } else {
        "i.published_version"
    });
    q.push(" WHERE i.tenant = ").push_bind(tenant);
    if !f.latest {
        q.push(" AND i.state = 'published'");
    }
    if let Some(d) = f.department_code {
        q.push(" AND v.department_code = ").push_bind(d);
    }
    if let Some(e) = f.life_event {
        q.push(" AND v.life_events LIKE ")
            .push_bind(format!("%,{},%", like_escape(e)));
        q.push(" ESCAPE '\\'");
    }
    if let Some(t) = f.target {
        q.push(" AND v.targets LIKE ")
            .push_bind(format!("%,{},%", like_escape(t)));
        q.push(" ESCAPE '\\'");
    }
    if let Some(t) = f.item_type {
        q.push(" AND v.item_type = ").push_bind(t);
    }
    if let Some(text) = f.text {
        let pattern = q.bind(format!("%{}%", like_escape(text)));
        q.push(&format!(
            " AND (LOWER(v.code) LIKE {pattern} ESCAPE '\\' OR LOWER(v.name) LIKE {pattern} \
             ESCAPE '\\' OR LOWER(v.name_en) LIKE {pattern} ESCAPE '\\')"
        ));
    }
    if let Some(a) = f.after {
        q.push(" AND i.code > ").push_bind(a);
    }
    q.push(" ORDER BY i.code LIMIT ")
        .push_bind(i64::from(f.limit));
    let (sql, args) = q.into_parts();
    ex.fetch_all_as(&sql, &args).await
}

/// Counts of published items of a tenant per department code and per life-event list
/// (the browse page's facets are counted by the service from these rows).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FacetRow {
    pub department_code: String,
    pub life_events: String,
    pub targets: String,
}

/// The facet columns of every published item of a tenant.
pub(crate) async fn published_facets(mut ex: impl Executor, tenant: &str) -> Result<Vec<FacetRow>> {
    ex.fetch_all_as(
        "SELECT v.department_code, v.life_events, v.targets FROM services_items i \
         JOIN services_item_versions v ON v.tenant = i.tenant AND v.code = i.code \
         AND v.version = i.published_version WHERE i.tenant = $1 AND i.state = 'published'",
        args![tenant],
    )
    .await
}

/// Tenants with published items and their counts, by tenant code.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TenantCountRow {
    pub tenant: String,
    pub n: i64,
}

/// Every tenant that has published items, with how many.
pub(crate) async fn tenants_with_items(mut ex: impl Executor) -> Result<Vec<TenantCountRow>> {
    ex.fetch_all_as(
        "SELECT tenant, COUNT(*) AS n FROM services_items WHERE state = 'published' \
         GROUP BY tenant ORDER BY tenant",
        &[],
    )
    .await
}
