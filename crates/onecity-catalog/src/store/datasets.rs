//! SQL of the dataset tables: `catalog_datasets`, `catalog_fields`, `catalog_resources`,
//! `catalog_tags` and `catalog_history`.

use onecity_core::Result;
use onecity_store::decode::json_text;
use onecity_store::{args, Executor, SqlBuilder};
use serde::Deserialize;
use uuid::Uuid;

/// The columns of [`DatasetRow`], in table order.
macro_rules! dataset_columns {
    () => {
        "id, tenant, name, title, title_en, notes, notes_en, owner_department_id, \
         jurisdiction_id, jurisdiction_path, domain, topic, grade, sensitivity, open_level, \
         update_frequency, license_id, version, publisher, source, data_updated_at, revision, \
         state, created_at, updated_at"
    };
}

/// The columns of [`FieldRow`].
macro_rules! field_columns {
    () => {
        "dataset_id, position, name, title, field_type, unit, code_table, personal, description"
    };
}

/// The columns of [`ResourceRow`].
macro_rules! resource_columns {
    () => {
        "id, dataset_id, position, name, description, url, format, mimetype, kind, size, \
         created_at, updated_at"
    };
}

/// A `catalog_datasets` row. Enumerations are their wire names (`domain`, `grade`,
/// `open_level`, `update_frequency`), parsed by the service.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DatasetRow {
    pub id: Uuid,
    pub tenant: String,
    pub name: String,
    pub title: String,
    pub title_en: Option<String>,
    pub notes: Option<String>,
    pub notes_en: Option<String>,
    pub owner_department_id: Uuid,
    pub jurisdiction_id: Uuid,
    /// The owner's jurisdiction path when the dataset was last written.
    pub jurisdiction_path: String,
    pub domain: String,
    pub topic: Option<String>,
    pub grade: String,
    pub sensitivity: i64,
    pub open_level: String,
    pub update_frequency: String,
    pub license_id: Option<String>,
    pub version: Option<String>,
    pub publisher: Option<String>,
    pub source: Option<String>,
    pub data_updated_at: Option<i64>,
    pub revision: i64,
    pub state: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A `catalog_fields` row (one schema field).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FieldRow {
    pub dataset_id: Uuid,
    pub name: String,
    pub title: Option<String>,
    pub field_type: String,
    pub unit: Option<String>,
    pub code_table: Option<String>,
    pub personal: bool,
    pub description: Option<String>,
}

/// A `catalog_resources` row.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ResourceRow {
    pub id: Uuid,
    pub dataset_id: Uuid,
    pub position: i64,
    pub name: String,
    pub description: Option<String>,
    pub url: Option<String>,
    pub format: Option<String>,
    pub mimetype: Option<String>,
    pub kind: String,
    pub size: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A `catalog_history` row.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct HistoryRow {
    pub revision: i64,
    pub at: i64,
    pub actor: String,
    pub change: String,
    /// The dataset as written (JSON).
    #[serde(with = "json_text")]
    pub snapshot: serde_json::Value,
}

#[derive(Deserialize)]
struct IdRow {
    id: Uuid,
}

#[derive(Deserialize)]
struct NameRow {
    name: String,
}

#[derive(Deserialize)]
struct DatasetIdRow {
    dataset_id: String,
}

/// A dataset by id.
pub(crate) async fn dataset_by_id(mut ex: impl Executor, id: Uuid) -> Result<Option<DatasetRow>> {
    ex.fetch_optional_as(
        concat!(
            "SELECT ",
            dataset_columns!(),
            " FROM catalog_datasets WHERE id = $1"
        ),
        args![id],
    )
    .await
}

/// A dataset by name (slug).
pub(crate) async fn dataset_by_name(
    mut ex: impl Executor,
    name: &str,
) -> Result<Option<DatasetRow>> {
    ex.fetch_optional_as(
        concat!(
            "SELECT ",
            dataset_columns!(),
            " FROM catalog_datasets WHERE name = $1"
        ),
        args![name],
    )
    .await
}

/// The datasets written at or after `since` (µs), oldest write first (the search index's
/// refresh).
pub(crate) async fn datasets_updated_since(
    mut ex: impl Executor,
    since: i64,
) -> Result<Vec<DatasetRow>> {
    ex.fetch_all_as(
        concat!(
            "SELECT ",
            dataset_columns!(),
            " FROM catalog_datasets WHERE updated_at >= $1 ORDER BY updated_at"
        ),
        args![since],
    )
    .await
}

/// The id of the dataset named `name`, if any.
pub(crate) async fn dataset_id_by_name(mut ex: impl Executor, name: &str) -> Result<Option<Uuid>> {
    let r: Option<IdRow> = ex
        .fetch_optional_as(
            "SELECT id FROM catalog_datasets WHERE name = $1",
            args![name],
        )
        .await?;
    Ok(r.map(|r| r.id))
}

/// Whether a dataset with id `id` exists (in any state).
pub(crate) async fn dataset_exists(mut ex: impl Executor, id: Uuid) -> Result<bool> {
    Ok(ex
        .fetch_optional("SELECT id FROM catalog_datasets WHERE id = $1", args![id])
        .await?
        .is_some())
}

/// The oldest active dataset of `tenant` harvested from `source`, if any.
pub(crate) async fn active_dataset_by_source(
    mut ex: impl Executor,
    tenant: &str,
    source: &str,
) -> Result<Option<Uuid>> {
    let r: Option<IdRow> = ex
        .fetch_optional_as(
            "SELECT id FROM catalog_datasets WHERE tenant = $1 AND source = $2 \
             AND state = 'active' ORDER BY created_at LIMIT 1",
            args![tenant, source],
        )
        .await?;
    Ok(r.map(|r| r.id))
}

/// The number of datasets of `tenant` (any state).
pub(crate) async fn count_datasets(mut ex: impl Executor, tenant: &str) -> Result<i64> {
    #[derive(Deserialize)]
    struct Count {
        n: i64,
    }
    let c: Option<Count> = ex
        .fetch_optional_as(
            "SELECT COUNT(*) AS n FROM catalog_datasets WHERE tenant = $1",
            args![tenant],
        )
        .await?;
    Ok(c.map_or(0, |c| c.n))
}

/// An active dataset as the demand matcher reads it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DatasetOwnerRow {
    pub id: Uuid,
    pub owner_department_id: Uuid,
    pub title: String,
}

/// The active datasets of `tenant` in id order, with owner and title.
pub(crate) async fn active_datasets(
    mut ex: impl Executor,
    tenant: &str,
) -> Result<Vec<DatasetOwnerRow>> {
    ex.fetch_all_as(
        "SELECT id, owner_department_id, title FROM catalog_datasets \
         WHERE tenant = $1 AND state = 'active' ORDER BY id",
        args![tenant],
    )
    .await
}

/// The revision of dataset `id`, locked for update on PostgreSQL (SQLite's writer lock
/// already serialises), or `None` when it is gone.
pub(crate) async fn revision_for_update(mut ex: impl Executor, id: Uuid) -> Result<Option<i64>> {
    #[derive(Deserialize)]
    struct Rev {
        revision: i64,
    }
    let sql = ex.sql(
        "SELECT revision FROM catalog_datasets WHERE id = $1",
        "SELECT revision FROM catalog_datasets WHERE id = $1 FOR UPDATE",
    );
    let r: Option<Rev> = ex.fetch_optional_as(sql, args![id]).await?;
    Ok(r.map(|r| r.revision))
}

/// The key columns of a new dataset; the rest start at their defaults until
/// [`update_body`] writes them.
pub(crate) struct NewDatasetRow<'a> {
    pub id: Uuid,
    pub tenant: &'a str,
    pub name: &'a str,
    pub title: &'a str,
    pub owner_department_id: Uuid,
    pub jurisdiction_id: Uuid,
    pub jurisdiction_path: &'a str,
    pub now: i64,
}

/// Inserts a new active dataset (domain G, grade general, sensitivity 1, not open,
/// irregular updates, revision 0).
pub(crate) async fn insert_dataset(mut ex: impl Executor, d: &NewDatasetRow<'_>) -> Result<()> {
    ex.execute(
        "INSERT INTO catalog_datasets (id, tenant, name, title, owner_department_id, \
         jurisdiction_id, jurisdiction_path, domain, grade, sensitivity, open_level, \
         update_frequency, revision, state, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'G', 'general', 1, 'not_open', 'irregular', 0, \
         'active', $8, $8)",
        args![
            d.id,
            d.tenant,
            d.name,
            d.title,
            d.owner_department_id,
            d.jurisdiction_id,
            d.jurisdiction_path,
            d.now
        ],
    )
    .await?;
    Ok(())
}

/// Rewrites a dataset's key columns and makes it active again (an update of a deleted
/// dataset revives it).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn update_key(
    mut ex: impl Executor,
    id: Uuid,
    name: &str,
    title: &str,
    owner_department_id: Uuid,
    jurisdiction_id: Uuid,
    jurisdiction_path: &str,
) -> Result<()> {
    ex.execute(
        "UPDATE catalog_datasets SET name = $2, title = $3, owner_department_id = $4, \
         jurisdiction_id = $5, jurisdiction_path = $6, state = 'active', deleted_at = NULL \
         WHERE id = $1",
        args![
            id,
            name,
            title,
            owner_department_id,
            jurisdiction_id,
            jurisdiction_path
        ],
    )
    .await?;
    Ok(())
}

/// The descriptive columns of a dataset, as [`update_body`] writes them.
pub(crate) struct DatasetBody<'a> {
    pub title_en: Option<String>,
    pub notes: Option<String>,
    pub notes_en: Option<String>,
    pub domain: &'a str,
    pub topic: Option<String>,
    pub grade: &'a str,
    pub sensitivity: i64,
    pub open_level: &'a str,
    pub update_frequency: &'a str,
    pub license_id: Option<String>,
    pub version: Option<String>,
    pub publisher: Option<String>,
    pub source: Option<String>,
    pub revision: i64,
    pub now: i64,
}

/// Writes a dataset's descriptive columns, revision and `updated_at`.
pub(crate) async fn update_body(
    mut ex: impl Executor,
    id: Uuid,
    b: &DatasetBody<'_>,
) -> Result<()> {
    ex.execute(
        "UPDATE catalog_datasets SET title_en = $2, notes = $3, notes_en = $4, domain = $5, \
         topic = $6, grade = $7, sensitivity = $8, open_level = $9, update_frequency = $10, \
         license_id = $11, version = $12, publisher = $13, source = $14, revision = $15, \
         updated_at = $16 WHERE id = $1",
        args![
            id,
            b.title_en.clone(),
            b.notes.clone(),
            b.notes_en.clone(),
            b.domain,
            b.topic.clone(),
            b.grade,
            b.sensitivity,
            b.open_level,
            b.update_frequency,
            b.license_id.clone(),
            b.version.clone(),
            b.publisher.clone(),
            b.source.clone(),
            b.revision,
            b.now
        ],
    )
    .await?;
    Ok(())
}

/// Marks a dataset deleted at `now` with revision `revision`.
pub(crate) async fn mark_deleted(
    mut ex: impl Executor,
    id: Uuid,
    now: i64,
    revision: i64,
) -> Result<()> {
    ex.execute(
        "UPDATE catalog_datasets SET state = 'deleted', deleted_at = $2, updated_at = $2, \
         revision = $3 WHERE id = $1",
        args![id, now, revision],
    )
    .await?;
    Ok(())
}

/// Sets `updated_at` (so that caches such as the search index re-read the dataset).
pub(crate) async fn touch(mut ex: impl Executor, id: Uuid, now: i64) -> Result<()> {
    ex.execute(
        "UPDATE catalog_datasets SET updated_at = $2 WHERE id = $1",
        args![id, now],
    )
    .await?;
    Ok(())
}

/// Sets `data_updated_at` (the data behind the dataset was refreshed).
pub(crate) async fn touch_data(mut ex: impl Executor, id: Uuid, now: i64) -> Result<()> {
    ex.execute(
        "UPDATE catalog_datasets SET data_updated_at = $2 WHERE id = $1",
        args![id, now],
    )
    .await?;
    Ok(())
}

/// The schema fields of a dataset in position order.
pub(crate) async fn fields_of(mut ex: impl Executor, dataset_id: Uuid) -> Result<Vec<FieldRow>> {
    ex.fetch_all_as(
        concat!(
            "SELECT ",
            field_columns!(),
            " FROM catalog_fields WHERE dataset_id = $1 ORDER BY position"
        ),
        args![dataset_id],
    )
    .await
}

/// The names of a dataset's schema fields (any order).
pub(crate) async fn field_names(mut ex: impl Executor, dataset_id: Uuid) -> Result<Vec<String>> {
    let rows: Vec<NameRow> = ex
        .fetch_all_as(
            "SELECT name FROM catalog_fields WHERE dataset_id = $1",
            args![dataset_id],
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

/// The names of a dataset's fields flagged as personal information (any order).
pub(crate) async fn personal_field_names(
    mut ex: impl Executor,
    dataset_id: &str,
) -> Result<Vec<String>> {
    let rows: Vec<NameRow> = ex
        .fetch_all_as(
            "SELECT name FROM catalog_fields WHERE dataset_id = $1 AND personal <> 0",
            args![dataset_id],
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

/// A schema field to write.
pub(crate) struct NewFieldRow<'a> {
    pub name: &'a str,
    pub title: Option<String>,
    pub field_type: &'a str,
    pub unit: Option<String>,
    pub code_table: Option<String>,
    pub personal: bool,
    pub description: Option<String>,
}

/// Replaces the schema fields of a dataset (positions in slice order).
pub(crate) async fn replace_fields(
    mut ex: impl Executor,
    dataset_id: Uuid,
    fields: &[NewFieldRow<'_>],
) -> Result<()> {
    ex.execute(
        "DELETE FROM catalog_fields WHERE dataset_id = $1",
        args![dataset_id],
    )
    .await?;
    for (i, f) in fields.iter().enumerate() {
        ex.execute(
            "INSERT INTO catalog_fields (dataset_id, position, name, title, field_type, unit, \
             code_table, personal, description) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            args![
                dataset_id,
                i as i64,
                f.name,
                f.title.clone(),
                f.field_type,
                f.unit.clone(),
                f.code_table.clone(),
                f.personal,
                f.description.clone()
            ],
        )
        .await?;
    }
    Ok(())
}

/// The tags of a dataset in tag order.
pub(crate) async fn tags_of(mut ex: impl Executor, dataset_id: Uuid) -> Result<Vec<String>> {
    #[derive(Deserialize)]
    struct Tag {
        tag: String,
    }
    let rows: Vec<Tag> = ex
        .fetch_all_as(
            "SELECT tag FROM catalog_tags WHERE dataset_id = $1 ORDER BY tag",
            args![dataset_id],
        )
        .await?;
    Ok(rows.into_iter().map(|t| t.tag).collect())
}

/// Replaces the tags of a dataset (`tags` without duplicates).
pub(crate) async fn replace_tags(
    mut ex: impl Executor,
    dataset_id: Uuid,
    tags: &[String],
) -> Result<()> {
    ex.execute(
        "DELETE FROM catalog_tags WHERE dataset_id = $1",
        args![dataset_id],
    )
    .await?;
    for t in tags {
        ex.execute(
            "INSERT INTO catalog_tags (dataset_id, tag) VALUES ($1, $2)",
            args![dataset_id, t],
        )
        .await?;
    }
    Ok(())
}

/// The resources of a dataset in position order.
pub(crate) async fn resources_of(
    mut ex: impl Executor,
    dataset_id: Uuid,
) -> Result<Vec<ResourceRow>> {
    ex.fetch_all_as(
        concat!(
            "SELECT ",
            resource_columns!(),
            " FROM catalog_resources WHERE dataset_id = $1 ORDER BY position"
        ),
        args![dataset_id],
    )
    .await
}

/// `(id, created_at)` of each resource of a dataset.
pub(crate) async fn resource_created_times(
    mut ex: impl Executor,
    dataset_id: Uuid,
) -> Result<Vec<(Uuid, i64)>> {
    #[derive(Deserialize)]
    struct Created {
        id: Uuid,
        created_at: i64,
    }
    let rows: Vec<Created> = ex
        .fetch_all_as(
            "SELECT id, created_at FROM catalog_resources WHERE dataset_id = $1",
            args![dataset_id],
        )
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.created_at)).collect())
}

/// Deletes every resource of a dataset.
pub(crate) async fn delete_resources(mut ex: impl Executor, dataset_id: Uuid) -> Result<()> {
    ex.execute(
        "DELETE FROM catalog_resources WHERE dataset_id = $1",
        args![dataset_id],
    )
    .await?;
    Ok(())
}

/// Whether a resource with id `id` exists (in any dataset).
pub(crate) async fn resource_exists(mut ex: impl Executor, id: Uuid) -> Result<bool> {
    Ok(ex
        .fetch_optional("SELECT id FROM catalog_resources WHERE id = $1", args![id])
        .await?
        .is_some())
}

/// The dataset id of resource `resource_id` (as stored text), if the resource exists.
pub(crate) async fn resource_dataset(
    mut ex: impl Executor,
    resource_id: &str,
) -> Result<Option<String>> {
    let r: Option<DatasetIdRow> = ex
        .fetch_optional_as(
            "SELECT dataset_id FROM catalog_resources WHERE id = $1",
            args![resource_id],
        )
        .await?;
    Ok(r.map(|r| r.dataset_id))
}

/// A resource to insert.
pub(crate) struct NewResourceRow<'a> {
    pub id: Uuid,
    pub dataset_id: Uuid,
    pub tenant: &'a str,
    pub position: i64,
    pub name: &'a str,
    pub description: Option<String>,
    pub url: Option<String>,
    pub format: Option<String>,
    pub mimetype: Option<String>,
    pub kind: &'a str,
    pub size: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Inserts a resource.
pub(crate) async fn insert_resource(mut ex: impl Executor, r: &NewResourceRow<'_>) -> Result<()> {
    ex.execute(
        "INSERT INTO catalog_resources (id, dataset_id, tenant, position, name, description, \
         url, format, mimetype, kind, size, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        args![
            r.id,
            r.dataset_id,
            r.tenant,
            r.position,
            r.name,
            r.description.clone(),
            r.url.clone(),
            r.format.clone(),
            r.mimetype.clone(),
            r.kind,
            r.size,
            r.created_at,
            r.updated_at
        ],
    )
    .await?;
    Ok(())
}

/// The active dataset holding a resource, as the datastore needs it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ResourceLinkRow {
    pub dataset_id: String,
    pub name: String,
    pub tenant: String,
    pub owner_department_id: String,
    pub grade: String,
}

/// The active dataset holding resource `resource_id`, if any.
pub(crate) async fn resource_link(
    mut ex: impl Executor,
    resource_id: &str,
) -> Result<Option<ResourceLinkRow>> {
    ex.fetch_optional_as(
        "SELECT d.id AS dataset_id, d.name, d.tenant, d.owner_department_id, d.grade \
         FROM catalog_resources r JOIN catalog_datasets d ON d.id = r.dataset_id \
         WHERE r.id = $1 AND d.state = 'active'",
        args![resource_id],
    )
    .await
}

/// Appends a history row (the dataset as written, JSON).
pub(crate) async fn insert_history(
    mut ex: impl Executor,
    dataset_id: Uuid,
    revision: i64,
    at: i64,
    actor: &str,
    change: &str,
    snapshot: &serde_json::Value,
) -> Result<()> {
    ex.execute(
        "INSERT INTO catalog_history (dataset_id, revision, at, actor, change, snapshot) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        args![
            dataset_id,
            revision,
            at,
            actor,
            change,
            snapshot.to_string()
        ],
    )
    .await?;
    Ok(())
}

/// The history of a dataset, newest revision first.
pub(crate) async fn history(mut ex: impl Executor, dataset_id: Uuid) -> Result<Vec<HistoryRow>> {
    ex.fetch_all_as(
        "SELECT revision, at, actor, change, snapshot FROM catalog_history \
         WHERE dataset_id = $1 ORDER BY revision DESC",
        args![dataset_id],
    )
    .await
}

/// `(dataset id, tag)` of the datasets `ids`, in tag order.
pub(crate) async fn tags_in(mut ex: impl Executor, ids: &[Uuid]) -> Result<Vec<(Uuid, String)>> {
    #[derive(Deserialize)]
    struct Tagged {
        dataset_id: Uuid,
        tag: String,
    }
    let mut q = SqlBuilder::new("SELECT dataset_id, tag FROM catalog_tags WHERE dataset_id IN ");
    q.push_list(ids.iter().copied()).push(" ORDER BY tag");
    let rows: Vec<Tagged> = ex.fetch_all_as(q.sql(), q.args()).await?;
    Ok(rows.into_iter().map(|t| (t.dataset_id, t.tag)).collect())
}

/// The schema fields of the datasets `ids`, in position order.
pub(crate) async fn fields_in(mut ex: impl Executor, ids: &[Uuid]) -> Result<Vec<FieldRow>> {
    let mut q = SqlBuilder::new(concat!(
        "SELECT ",
        field_columns!(),
        " FROM catalog_fields WHERE dataset_id IN "
    ));
    q.push_list(ids.iter().copied()).push(" ORDER BY position");
    ex.fetch_all_as(q.sql(), q.args()).await
}

/// The resources of the datasets `ids`, in position order.
pub(crate) async fn resources_in(mut ex: impl Executor, ids: &[Uuid]) -> Result<Vec<ResourceRow>> {
    let mut q = SqlBuilder::new(concat!(
        "SELECT ",
        resource_columns!(),
        " FROM catalog_resources WHERE dataset_id IN "
    ));
    q.push_list(ids.iter().copied()).push(" ORDER BY position");
    ex.fetch_all_as(q.sql(), q.args()).await
}
