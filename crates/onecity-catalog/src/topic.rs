//! Topics (主题) of a tenant's catalog, which CKAN calls groups: a name unique in the
//! tenant, a title in zh and en, a description. A dataset belongs to at most one topic
//! (`Dataset::topic`); a topic can exist before any dataset is in it. CKAN's
//! `group_create`, `group_show`, `group_list` and `member_create` (object type `package`)
//! are answered from here and from the search index (`onecity_catalog::ckan`).

use crate::dataset::Catalog;
use crate::store::topics as store;
use onecity_core::events::EventEnvelope;
use onecity_core::time::{now_micros, rfc3339};
use onecity_core::{validate, Error, ErrorCode, Result};
use onecity_iam::{Permission, Principal};
use onecity_store::audit::AuditEntry;
use serde::Serialize;

/// A topic (CKAN group).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Topic {
    /// Tenant code.
    pub tenant: String,
    /// Name: the slug rules of dataset names (`slug::check`), unique in the tenant.
    pub name: String,
    /// Title (1–200 characters).
    pub title: String,
    /// English title.
    pub title_en: Option<String>,
    /// Description (≤ 4,000 characters).
    pub description: Option<String>,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
}

/// A topic to create.
#[derive(Debug, Clone, Default)]
pub struct NewTopic {
    /// Name (see [`Topic::name`]).
    pub name: String,
    /// Title; the name when absent.
    pub title: Option<String>,
    /// English title.
    pub title_en: Option<String>,
    /// Description.
    pub description: Option<String>,
}

impl From<store::TopicRow> for Topic {
    fn from(r: store::TopicRow) -> Topic {
        Topic {
            tenant: r.tenant,
            name: r.name,
            title: r.title,
            title_en: r.title_en,
            description: r.description,
            created_at: rfc3339(r.created_at),
        }
    }
}

impl Catalog {
    /// Creates a topic in `tenant`. Needs `catalog_write` over the whole tenant (topics
    /// span departments). Writes an audit record in the same transaction.
    ///
    /// Errors: `invalid_input` (name or texts), `forbidden`, `conflict` (name taken in the
    /// tenant), `tenant_not_found`.
    pub async fn create_topic(&self, p: &Principal, tenant: &str, n: &NewTopic) -> Result<Topic> {
        crate::slug::check(&n.name).map_err(|e| e.with_extra("field", "name".into()))?;
        let title = n.title.clone().filter(|t| !t.trim().is_empty());
        let title = title.unwrap_or_else(|| n.name.clone());
        validate::text("title", &title, 200)?;
        if let Some(t) = &n.title_en {
            validate::text("title_en", t, 200)?;
        }
        if let Some(d) = &n.description {
            if d.chars().count() > 4000 {
                return Err(
                    Error::invalid("description must be at most 4,000 characters")
                        .with_extra("field", "description".into()),
                );
            }
        }
        let t = self.iam().tenant(p, tenant).await?;
        let root = self
            .iam()
            .jurisdiction_unchecked(tenant, t.root_jurisdiction_id)
            .await?;
        if !p.can_at(Permission::CatalogWrite, tenant, &root.path) {
            return Err(Error::forbidden(
                "creating a topic needs catalog_write over the whole tenant",
            ));
        }
        let row = store::TopicRow {
            tenant: tenant.to_string(),
            name: n.name.clone(),
            title: title.trim().to_string(),
            title_en: n.title_en.clone(),
            description: n.description.clone(),
            created_at: now_micros(),
        };
        let topic = Topic::from(row.clone());
        let mut tx = self.iam().db().begin().await?;
        store::insert_topic(&mut tx, &row).await.map_err(|e| {
            if e.code == ErrorCode::Conflict {
                Error::conflict(format!("Group name already exists in database: {}", n.name))
                    .with_extra("field", "name".into())
            } else {
                e
            }
        })?;
        let after = serde_json::to_value(&topic).map_err(Error::internal)?;
        self.iam()
            .record(
                &mut tx,
                &AuditEntry {
                    tenant,
                    actor: &p.actor(),
                    action: "topic.create",
                    resource_type: "topic",
                    resource_id: &n.name,
                    after: Some(&after),
                    ..Default::default()
                },
                None::<EventEnvelope>,
            )
            .await?;
        tx.commit().await?;
        Ok(topic)
    }

    /// The topic `name` of `tenant`, if it was created (topics named only by datasets
    /// have no row).
    pub async fn topic(&self, tenant: &str, name: &str) -> Result<Option<Topic>> {
        Ok(self
            .topics()
            .await?
            .into_iter()
            .find(|t| t.tenant == tenant && t.name == name))
    }

    /// Every created topic of every tenant, by tenant then name.
    pub async fn topics(&self) -> Result<Vec<Topic>> {
        Ok(store::all_topics(self.iam().db())
            .await?
            .into_iter()
            .map(Topic::from)
            .collect())
    }
}
