//! The catalog as the datastore sees it: [`onecity_datastore::ResourceCatalog`] implemented
//! by [`Catalog`], so the datastore learns a resource's dataset, owner, grade, personal
//! fields and negative-list entry without reading catalog tables.

use crate::store::datasets as store;
use crate::Catalog;
use futures::future::BoxFuture;
use onecity_core::Result;
use onecity_datastore::{CatalogLink, NegativeEntry, ResourceCatalog};

impl ResourceCatalog for Catalog {
    /// The active dataset that holds resource `resource_id`, with its schema fields flagged
    /// as personal data (个人信息).
    fn link<'a>(&'a self, resource_id: &'a str) -> BoxFuture<'a, Result<Option<CatalogLink>>> {
        Box::pin(async move {
            let db = self.iam().db();
            let Some(r) = store::resource_link(db, resource_id).await? else {
                return Ok(None);
            };
            let personal = store::personal_field_names(db, &r.dataset_id)
                .await?
                .into_iter()
                .collect();
            Ok(Some(CatalogLink {
                dataset_id: r.dataset_id,
                dataset_name: r.name,
                tenant: r.tenant,
                owner_department: r.owner_department_id,
                grade: r.grade,
                personal,
            }))
        })
    }

    /// The negative list (负面清单) entry of the resource's dataset: the whole dataset, or
    /// listed fields ([`Catalog::negative_list_blocks`]). A resource id that is no catalog
    /// resource has no entry.
    fn negative<'a>(&'a self, resource_id: &'a str) -> BoxFuture<'a, Result<NegativeEntry>> {
        Box::pin(async move {
            let Some(dataset_id) = store::resource_dataset(self.iam().db(), resource_id).await?
            else {
                return Ok(NegativeEntry::default());
            };
            let Ok(dataset_id) = dataset_id.parse::<uuid::Uuid>() else {
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
