//! SQL of `catalog_topics`: the topics (主题) of a tenant's catalog, which the CKAN API
//! calls groups. A dataset names its topic in `catalog_datasets.topic`; a topic row gives
//! it a title and a description and lets it exist before any dataset is in it.

use onecity_core::Result;
use onecity_store::{args, Executor};
use serde::Deserialize;

/// A `catalog_topics` row.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TopicRow {
    pub tenant: String,
    pub name: String,
    pub title: String,
    pub title_en: Option<String>,
    pub description: Option<String>,
    pub created_at: i64,
}

/// Inserts a topic. Errors: `conflict` when the tenant already has one of that name.
pub(crate) async fn insert_topic(mut ex: impl Executor, t: &TopicRow) -> Result<()> {
    ex.execute(
        "INSERT INTO catalog_topics (tenant, name, title, title_en, description, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        args![
            t.tenant.clone(),
            t.name.clone(),
            t.title.clone(),
            t.title_en.clone(),
            t.description.clone(),
            t.created_at
        ],
    )
    .await?;
    Ok(())
}

/// Every topic of every tenant, by tenant then name.
pub(crate) async fn all_topics(mut ex: impl Executor) -> Result<Vec<TopicRow>> {
    ex.fetch_all_as(
        "SELECT tenant, name, title, title_en, description, created_at FROM catalog_topics \
         ORDER BY tenant, name",
        args![],
    )
    .await
}
