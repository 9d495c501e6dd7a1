//! The catalog as the datastore sees it: [`onecity_datastore::ResourceCatalog`] implemented
//! by [`Catalog`], so the datastore learns a resource's dataset, owner, grade, personal
//! fields and negative-list entry without reading catalog tables.

use crate::Catalog;
use futures::future::BoxFuture;
use onecity_core::Result;
use onecity_datastore::{CatalogLink, NegativeEntry, ResourceCatalog};
use onecity_store::args;
use std::collections::HashSet;

impl ResourceCatalog for Catalog {
    /// The active dataset that holds resource `resource_id`, with its schema fields flagged
    /// as personal data (个人信息).
    fn link<'a>(&'a self, resource_id: &'a str) -> BoxFuture<'a, Result<Option<CatalogLink>>> {
        Box::pin(async move {
            let db = self.iam().db();
            let Some(r) = db
                .fetch_optional(
                    "SELECT d.id AS dataset_id, d.name, d.tenant, d.owner_department_id, d.grade \
                     FROM catalog_resources r JOIN catalog_datasets d ON d.id = r.dataset_id \
                     WHERE r.id = $1 AND d.state = 'active'",
                    args![resource_id],
                )
                .await?
            else {
                return Ok(None);
            };
            let dataset_id = r.text("dataset_id")?;
            let personal = db
                .fetch_all(
                    "SELECT name FROM catalog_fields WHERE dataset_id = $1 AND personal <> 0",
                    args![dataset_id.clone()],
                )
                .await?
                .iter()
                .map(|r| r.text("name"))
                .collect::<Result<HashSet<_>>>()?;
            Ok(Some(CatalogLink {
                dataset_id,
                dataset_name: r.text("name")?,
                tenant: r.text("tenant")?,
                owner_department: r.text("owner_department_id")?,
                grade: r.text("grade")?,
                personal,
            }))
        })
    }

    /// The negative list (负面清单) entry of the resource's dataset: the whole dataset, or
    /// listed fields ([`Catalog::negative_list_blocks`]). A resource id that is no catalog
    /// resource has no entry.
    fn negative<'a>(&'a self, resource_id: &'a str) -> BoxFuture<'a, Result<NegativeEntry>> {
        Box::pin(async move {
            let Some(r) = self
                .iam()
                .db()
                .fetch_optional(
                    "SELECT dataset_id FROM catalog_resources WHERE id = $1",
                    args![resource_id],
                )
                .await?
            else {
                return Ok(NegativeEntry::default());
            };
            let Ok(dataset_id) = r.text("dataset_id")?.parse::<uuid::Uuid>() else {
                return Ok(NegativeEntry::default());
            };
            let b = self.negative_list_blocks(dataset_id, &[]).await?;
            Ok(NegativeEntry {
                whole: b.dataset_blocked,
                fields: b.blocked_fields.into_iter().collect(),
            })
        })
    }
}
