//! The catalog service [`Catalog`]: datasets with their fields, resources, tags and change
//! history; visibility; slugs. Every change writes its history row, an audit record and a
//! `dataset_changed` outbox event in one transaction.

use crate::model::*;
use crate::slug;
use onecity_core::events::{EventEnvelope, PlatformEvent};
use onecity_core::time::{now_micros, rfc3339};
use onecity_core::{Error, Result};
use onecity_iam::{Iam, Permission, Principal};
use onecity_store::audit::AuditEntry;
use onecity_store::{args, Row, Tx, Val};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// Max tags per dataset.
pub const MAX_TAGS: usize = 100;
/// Max schema fields per dataset.
pub const MAX_FIELDS: usize = 500;
/// Max resources per dataset.
pub const MAX_RESOURCES: usize = 200;

/// The catalog service; cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    pub(crate) iam: Iam,
    pub(crate) search: Arc<crate::search::SearchIndex>,
}

impl axum::extract::FromRef<Catalog> for Iam {
    fn from_ref(c: &Catalog) -> Iam {
        c.iam.clone()
    }
}

/// Who reads: `None` is an anonymous caller (public metadata only).
pub type Viewer<'a> = Option<&'a Principal>;

/// The department a dataset is owned by, as the catalog needs it.
#[derive(Debug, Clone)]
pub struct OwnerDept {
    /// Department id.
    pub id: Uuid,
    /// Tenant.
    pub tenant: String,
    /// Department code.
    pub code: String,
    /// Name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Jurisdiction id.
    pub jurisdiction_id: Uuid,
    /// Jurisdiction path (ancestor ids `/`-joined).
    pub path: String,
}

fn opt_nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn check_len(field: &str, v: &Option<String>, max: usize) -> Result<()> {
    if let Some(s) = v {
        if s.chars().count() > max {
            return Err(Error::invalid(format!(
                "{field} is longer than {max} characters"
            )));
        }
    }
    Ok(())
}

/// Normalises and validates a dataset body; returns the errors per field (CKAN style).
pub fn validate(d: &NewDataset) -> Result<()> {
    let title = d.title.trim();
    if title.is_empty() || title.chars().count() > 500 {
        return Err(
            Error::invalid("title must be 1-500 characters").with_extra("field", "title".into())
        );
    }
    if let Some(n) = &d.name {
        slug::check(n).map_err(|e| e.with_extra("field", "name".into()))?;
    }
    check_len("title_en", &d.title_en, 500)?;
    check_len("notes", &d.notes, 100_000)?;
    check_len("notes_en", &d.notes_en, 100_000)?;
    check_len("license_id", &d.license_id, 200)?;
    check_len("version", &d.version, 100)?;
    check_len("publisher", &d.publisher, 500)?;
    check_len("source", &d.source, 2_000)?;
    if let Some(t) = &d.topic {
        slug::check(t).map_err(|_| {
            Error::invalid(format!(
                "topic {t:?} must be a group name: 2-100 characters of a-z, 0-9, '-', '_'"
            ))
        })?;
    }
    if let Some(s) = d.sensitivity {
        if !(1..=4).contains(&s) {
            return Err(
                Error::invalid("sensitivity must be 1-4").with_extra("field", "sensitivity".into())
            );
        }
    }
    if d.tags.len() > MAX_TAGS {
        return Err(Error::invalid(format!("at most {MAX_TAGS} tags")));
    }
    for t in &d.tags {
        let n = t.trim().chars().count();
        if n == 0 || n > 100 {
            return Err(
                Error::invalid(format!("tag {t:?} must be 1-100 characters"))
                    .with_extra("field", "tags".into()),
            );
        }
    }
    if d.fields.len() > MAX_FIELDS {
        return Err(Error::invalid(format!(
            "at most {MAX_FIELDS} schema fields"
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for f in &d.fields {
        let n = f.name.trim();
        if n.is_empty() || n.chars().count() > 64 {
            return Err(Error::invalid(format!(
                "field name {n:?} must be 1-64 characters"
            )));
        }
        if !seen.insert(n.to_string()) {
            return Err(Error::invalid(format!("field {n:?} appears twice")));
        }
    }
    if d.resources.len() > MAX_RESOURCES {
        return Err(Error::invalid(format!("at most {MAX_RESOURCES} resources")));
    }
    for r in &d.resources {
        check_len("resource url", &r.url, 2_000)?;
        check_len("resource name", &r.name, 200)?;
        if let Some(s) = r.size {
            if s < 0 {
                return Err(Error::invalid("resource size must be >= 0"));
            }
        }
    }
    Ok(())
}

fn dedup_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim().to_string();
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

impl Catalog {
    /// The service over the identity service's (migrated) database.
    pub fn new(iam: Iam) -> Catalog {
        Catalog {
            iam,
            search: Arc::new(crate::search::SearchIndex::default()),
        }
    }

    /// The identity service.
    pub fn iam(&self) -> &Iam {
        &self.iam
    }

    /// The owner department by id, with its jurisdiction path (no access check).
    /// Errors: `invalid_input` when it does not exist.
    pub async fn owner_dept(&self, id: Uuid) -> Result<OwnerDept> {
        let r = self
            .iam
            .db()
            .fetch_optional(
                "SELECT d.id, d.tenant, d.code, d.name, d.name_en, d.jurisdiction_id, j.path FROM departments d JOIN jurisdictions j ON j.id = d.jurisdiction_id WHERE d.id = $1",
                args![id],
            )
            .await?
            .ok_or_else(|| Error::invalid(format!("owner department {id} does not exist")).with_extra("field", "owner_org".into()))?;
        dept_from_row(&r)
    }

    /// Every department of every tenant (CKAN organizations), in code order.
    pub async fn departments(&self) -> Result<Vec<OwnerDept>> {
        self.iam
            .db()
            .fetch_all(
                "SELECT d.id, d.tenant, d.code, d.name, d.name_en, d.jurisdiction_id, j.path FROM departments d JOIN jurisdictions j ON j.id = d.jurisdiction_id ORDER BY d.code, d.tenant",
                &[],
            )
            .await?
            .iter()
            .map(dept_from_row)
            .collect()
    }

    /// True when `viewer` may see `d`'s metadata: active, opened (unconditionally or on
    /// conditions) and not on the negative list as a whole; or the viewer holds
    /// `catalog_read` over the owner's jurisdiction.
    pub fn may_see(&self, viewer: Viewer<'_>, d: &Dataset, path: &str, negative: bool) -> bool {
        if let Some(p) = viewer {
            if p.can_at(Permission::CatalogRead, &d.tenant, path) {
                return true;
            }
        }
        d.state == "active" && d.open_level != OpenLevel::NotOpen && !negative
    }

    async fn load_row(&self, id_or_name: &str) -> Result<Option<Row>> {
        let db = self.iam.db();
        if let Ok(id) = Uuid::parse_str(id_or_name) {
            if let Some(r) = db
                .fetch_optional("SELECT * FROM catalog_datasets WHERE id = $1", args![id])
                .await?
            {
                return Ok(Some(r));
            }
        }
        db.fetch_optional(
            "SELECT * FROM catalog_datasets WHERE name = $1",
            args![id_or_name],
        )
        .await
    }

    /// Reads a full dataset by its row.
    pub(crate) async fn hydrate(&self, r: &Row) -> Result<Dataset> {
        let id = r.uuid("id")?;
        let db = self.iam.db();
        let fields = db
            .fetch_all(
                "SELECT * FROM catalog_fields WHERE dataset_id = $1 ORDER BY position",
                args![id],
            )
            .await?
            .iter()
            .map(field_from_row)
            .collect::<Result<Vec<_>>>()?;
        let resources = db
            .fetch_all(
                "SELECT * FROM catalog_resources WHERE dataset_id = $1 ORDER BY position",
                args![id],
            )
            .await?
            .iter()
            .map(resource_from_row)
            .collect::<Result<Vec<_>>>()?;
        let tags = db
            .fetch_all(
                "SELECT tag FROM catalog_tags WHERE dataset_id = $1 ORDER BY tag",
                args![id],
            )
            .await?
            .iter()
            .map(|t| t.text("tag"))
            .collect::<Result<Vec<_>>>()?;
        dataset_from_row(r, tags, fields, resources)
    }

    /// A dataset by id or name as `viewer` may see it (deleted ones only to staff with
    /// `catalog_read` there). Errors: `not_found`.
    pub async fn get(&self, viewer: Viewer<'_>, id_or_name: &str) -> Result<Dataset> {
        let nf = || Error::not_found(format!("dataset {id_or_name:?} does not exist"));
        let r = self.load_row(id_or_name).await?.ok_or_else(nf)?;
        let d = self.hydrate(&r).await?;
        let path = r.text("jurisdiction_path")?;
        let negative = self.dataset_negative(d.id).await?;
        if !self.may_see(viewer, &d, &path, negative) {
            return Err(nf());
        }
        Ok(d)
    }

    /// A dataset by id without visibility checks (for other modules: datastore, sharing).
    pub async fn get_unchecked(&self, id: Uuid) -> Result<Dataset> {
        let r = self
            .load_row(&id.to_string())
            .await?
            .ok_or_else(|| Error::not_found(format!("dataset {id} does not exist")))?;
        self.hydrate(&r).await
    }

    /// Checks that `p` may write datasets of department `dept`.
    fn check_write(p: &Principal, dept: &OwnerDept) -> Result<()> {
        if p.can_at(Permission::CatalogWrite, &dept.tenant, &dept.path) {
            Ok(())
        } else {
            Err(Error::forbidden(format!(
                "you may not write datasets of department {}",
                dept.code
            )))
        }
    }

    async fn unique_name(&self, tx: &mut Tx, base: &str, except: Option<Uuid>) -> Result<String> {
        let mut n = 1;
        loop {
            let cand = if n == 1 {
                base.to_string()
            } else {
                format!("{base}-{n}")
            };
            let hit = tx
                .fetch_optional(
                    "SELECT id FROM catalog_datasets WHERE name = $1",
                    args![&cand],
                )
                .await?;
            match hit {
                None => return Ok(cand),
                Some(r) if Some(r.uuid("id")?) == except => return Ok(cand),
                _ => n += 1,
            }
            if n > 10_000 {
                return Err(Error::conflict(format!("no free name for {base:?}")));
            }
        }
    }

    /// Creates a dataset. `id` may be given (CKAN load keeps ids). The name is the given
    /// one (409 `conflict` when taken) or a unique slug of the title.
    ///
    /// Errors: `invalid_input` (validation, unknown department), `forbidden` (no
    /// `catalog_write` over the owner's jurisdiction), `conflict` (name or id taken).
    pub async fn create(&self, p: &Principal, id: Option<Uuid>, n: &NewDataset) -> Result<Dataset> {
        validate(n)?;
        let dept = self.owner_dept(n.owner_department_id).await?;
        Self::check_write(p, &dept)?;
        let id = id.unwrap_or_else(onecity_core::new_id);
        let now = now_micros();
        let mut tx = self.iam.db().begin().await?;
        if tx
            .fetch_optional("SELECT id FROM catalog_datasets WHERE id = $1", args![id])
            .await?
            .is_some()
        {
            return Err(Error::conflict(format!("dataset id {id} is taken")));
        }
        let name = match &n.name {
            Some(name) => {
                if tx
                    .fetch_optional(
                        "SELECT id FROM catalog_datasets WHERE name = $1",
                        args![name],
                    )
                    .await?
                    .is_some()
                {
                    return Err(Error::conflict(format!("name {name:?} is already in use"))
                        .with_extra("field", "name".into()));
                }
                name.clone()
            }
            None => {
                self.unique_name(&mut tx, &slug::slugify(&n.title), None)
                    .await?
            }
        };
        tx.execute(
            "INSERT INTO catalog_datasets (id, tenant, name, title, owner_department_id, jurisdiction_id, jurisdiction_path, domain, grade, sensitivity, open_level, update_frequency, revision, state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'G', 'general', 1, 'not_open', 'irregular', 0, 'active', $8, $8)",
            args![id, &dept.tenant, &name, n.title.trim(), dept.id, dept.jurisdiction_id, &dept.path, now],
        )
        .await?;
        let d = self
            .write_body(&mut tx, id, &name, &dept, n, now, 1, p, "create", None)
            .await?;
        tx.commit().await?;
        self.iam.bus().poke();
        Ok(d)
    }

    /// Replaces a dataset's metadata (CKAN `package_update`): fields absent from `n` take
    /// their defaults; resources keep their ids when given. `owner_department_id` may move
    /// the dataset to another department the caller may write.
    ///
    /// Errors: as [`Catalog::create`], and `not_found`.
    pub async fn update(&self, p: &Principal, id_or_name: &str, n: &NewDataset) -> Result<Dataset> {
        validate(n)?;
        let cur = self.get(Some(p), id_or_name).await?;
        let old_dept = self.owner_dept(cur.owner_department_id).await?;
        Self::check_write(p, &old_dept)?;
        let dept = self.owner_dept(n.owner_department_id).await?;
        Self::check_write(p, &dept)?;
        if dept.tenant != cur.tenant {
            return Err(Error::invalid("a dataset cannot move to another tenant"));
        }
        let now = now_micros();
        let mut tx = self.iam.db().begin().await?;
        let name = match &n.name {
            Some(name) if *name != cur.name => {
                if tx
                    .fetch_optional(
                        "SELECT id FROM catalog_datasets WHERE name = $1",
                        args![name],
                    )
                    .await?
                    .is_some()
                {
                    return Err(Error::conflict(format!("name {name:?} is already in use")));
                }
                name.clone()
            }
            _ => cur.name.clone(),
        };
        let rev = tx
            .fetch_optional(
                &format!(
                    "SELECT revision FROM catalog_datasets WHERE id = $1{}",
                    tx.for_update()
                ),
                args![cur.id],
            )
            .await?
            .ok_or_else(|| Error::not_found("dataset vanished"))?
            .i64("revision")?;
        tx.execute(
            "UPDATE catalog_datasets SET name = $2, title = $3, owner_department_id = $4, jurisdiction_id = $5, jurisdiction_path = $6, state = 'active', deleted_at = NULL WHERE id = $1",
            args![cur.id, &name, n.title.trim(), dept.id, dept.jurisdiction_id, &dept.path],
        )
        .await?;
        let d = self
            .write_body(
                &mut tx,
                cur.id,
                &name,
                &dept,
                n,
                now,
                rev + 1,
                p,
                "update",
                Some(&cur),
            )
            .await?;
        tx.commit().await?;
        self.iam.bus().poke();
        Ok(d)
    }

    /// Marks a dataset deleted (CKAN `package_delete`: state `deleted`, still readable by
    /// its owners). Errors: `not_found`, `forbidden`.
    pub async fn delete(&self, p: &Principal, id_or_name: &str) -> Result<Dataset> {
        let cur = self.get(Some(p), id_or_name).await?;
        let dept = self.owner_dept(cur.owner_department_id).await?;
        Self::check_write(p, &dept)?;
        let now = now_micros();
        let mut tx = self.iam.db().begin().await?;
        let rev = cur.revision + 1;
        tx.execute(
            "UPDATE catalog_datasets SET state = 'deleted', deleted_at = $2, updated_at = $2, revision = $3 WHERE id = $1",
            args![cur.id, now, rev],
        )
        .await?;
        let mut d = cur.clone();
        d.state = "deleted".into();
        d.revision = rev;
        d.updated_at = rfc3339(now);
        self.finish(&mut tx, p, &d, Some(&cur), "delete", now)
            .await?;
        tx.commit().await?;
        self.iam.bus().poke();
        Ok(d)
    }

    /// The change history of a dataset, newest first: `(revision, time, actor, change,
    /// snapshot)`.
    pub async fn history(&self, viewer: Viewer<'_>, id_or_name: &str) -> Result<Vec<Value>> {
        let d = self.get(viewer, id_or_name).await?;
        let rows = self
            .iam
            .db()
            .fetch_all(
                "SELECT * FROM catalog_history WHERE dataset_id = $1 ORDER BY revision DESC",
                args![d.id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(serde_json::json!({
                    "revision": r.i64("revision")?,
                    "at": rfc3339(r.i64("at")?),
                    "actor": r.text("actor")?,
                    "change": r.text("change")?,
                    "dataset": serde_json::from_str::<Value>(&r.text("snapshot")?).map_err(Error::internal)?,
                }))
            })
            .collect()
    }

    /// Writes everything but the key columns: metadata, fields, tags, resources; then the
    /// history row, audit record and event.
    #[allow(clippy::too_many_arguments)]
    async fn write_body(
        &self,
        tx: &mut Tx,
        id: Uuid,
        name: &str,
        dept: &OwnerDept,
        n: &NewDataset,
        now: i64,
        revision: i64,
        p: &Principal,
        change: &str,
        before: Option<&Dataset>,
    ) -> Result<Dataset> {
        tx.execute(
            "UPDATE catalog_datasets SET title_en = $2, notes = $3, notes_en = $4, domain = $5, topic = $6, grade = $7, sensitivity = $8, open_level = $9, update_frequency = $10, license_id = $11, version = $12, publisher = $13, source = $14, revision = $15, updated_at = $16 WHERE id = $1",
            args![
                id,
                opt_nonempty(&n.title_en),
                opt_nonempty(&n.notes),
                opt_nonempty(&n.notes_en),
                n.domain.unwrap_or(Domain::G).as_str(),
                opt_nonempty(&n.topic),
                n.grade.unwrap_or(Grade::General).as_str(),
                n.sensitivity.unwrap_or(1),
                n.open_level.unwrap_or(OpenLevel::NotOpen).as_str(),
                n.update_frequency.unwrap_or(Frequency::Irregular).as_str(),
                opt_nonempty(&n.license_id),
                opt_nonempty(&n.version),
                opt_nonempty(&n.publisher),
                opt_nonempty(&n.source),
                revision,
                now
            ],
        )
        .await?;
        tx.execute(
            "DELETE FROM catalog_fields WHERE dataset_id = $1",
            args![id],
        )
        .await?;
        for (i, f) in n.fields.iter().enumerate() {
            tx.execute(
                "INSERT INTO catalog_fields (dataset_id, position, name, title, field_type, unit, code_table, personal, description) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                args![id, i as i64, f.name.trim(), opt_nonempty(&f.title), f.field_type.as_str(), opt_nonempty(&f.unit), opt_nonempty(&f.code_table), f.personal, opt_nonempty(&f.description)],
            )
            .await?;
        }
        tx.execute("DELETE FROM catalog_tags WHERE dataset_id = $1", args![id])
            .await?;
        for t in dedup_tags(&n.tags) {
            tx.execute(
                "INSERT INTO catalog_tags (dataset_id, tag) VALUES ($1, $2)",
                args![id, t],
            )
            .await?;
        }
        // Resources: keep ids (and creation times) of those given back, drop the rest.
        let old: HashMap<Uuid, i64> = tx
            .fetch_all(
                "SELECT id, created_at FROM catalog_resources WHERE dataset_id = $1",
                args![id],
            )
            .await?
            .iter()
            .map(|r| Ok((r.uuid("id")?, r.i64("created_at")?)))
            .collect::<Result<_>>()?;
        tx.execute(
            "DELETE FROM catalog_resources WHERE dataset_id = $1",
            args![id],
        )
        .await?;
        for (i, r) in n.resources.iter().enumerate() {
            let rid = r.id.unwrap_or_else(onecity_core::new_id);
            let created = match old.get(&rid) {
                Some(c) => *c,
                None => {
                    if tx
                        .fetch_optional(
                            "SELECT id FROM catalog_resources WHERE id = $1",
                            args![rid],
                        )
                        .await?
                        .is_some()
                    {
                        return Err(Error::conflict(format!(
                            "resource id {rid} belongs to another dataset"
                        )));
                    }
                    now
                }
            };
            let rname = opt_nonempty(&r.name)
                .or_else(|| {
                    r.url.as_deref().and_then(|u| {
                        u.trim_end_matches('/')
                            .rsplit('/')
                            .next()
                            .map(str::to_string)
                    })
                })
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("resource {}", i + 1));
            let format = opt_nonempty(&r.format).map(|f| f.trim_start_matches('.').to_uppercase());
            tx.execute(
                "INSERT INTO catalog_resources (id, dataset_id, tenant, position, name, description, url, format, mimetype, kind, size, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                args![rid, id, &dept.tenant, i as i64, rname, opt_nonempty(&r.description), opt_nonempty(&r.url), format, opt_nonempty(&r.mimetype), r.kind.unwrap_or(ResourceKind::File).as_str(), r.size, created, now],
            )
            .await?;
        }
        let row = tx
            .fetch_optional("SELECT * FROM catalog_datasets WHERE id = $1", args![id])
            .await?
            .ok_or_else(|| Error::internal("dataset row vanished"))?;
        let fields = tx
            .fetch_all(
                "SELECT * FROM catalog_fields WHERE dataset_id = $1 ORDER BY position",
                args![id],
            )
            .await?
            .iter()
            .map(field_from_row)
            .collect::<Result<Vec<_>>>()?;
        let resources = tx
            .fetch_all(
                "SELECT * FROM catalog_resources WHERE dataset_id = $1 ORDER BY position",
                args![id],
            )
            .await?
            .iter()
            .map(resource_from_row)
            .collect::<Result<Vec<_>>>()?;
        let mut tags = dedup_tags(&n.tags);
        tags.sort();
        let d = dataset_from_row(&row, tags, fields, resources)?;
        debug_assert_eq!(d.name, name);
        self.finish(tx, p, &d, before, change, now).await?;
        Ok(d)
    }

    async fn finish(
        &self,
        tx: &mut Tx,
        p: &Principal,
        d: &Dataset,
        before: Option<&Dataset>,
        change: &str,
        now: i64,
    ) -> Result<()> {
        let after = serde_json::to_value(d).map_err(Error::internal)?;
        let before = before
            .map(serde_json::to_value)
            .transpose()
            .map_err(Error::internal)?;
        let actor = p.actor();
        tx.execute(
            "INSERT INTO catalog_history (dataset_id, revision, at, actor, change, snapshot) VALUES ($1, $2, $3, $4, $5, $6)",
            args![d.id, d.revision, now, &actor, change, after.to_string()],
        )
        .await?;
        let action = format!("dataset.{change}");
        let rid = d.id.to_string();
        self.iam
            .record(
                tx,
                &AuditEntry {
                    tenant: &d.tenant,
                    actor: &actor,
                    action: &action,
                    resource_type: "dataset",
                    resource_id: &rid,
                    before: before.as_ref(),
                    after: Some(&after),
                    detail: Some(&d.name),
                },
                Some(EventEnvelope::new(
                    Some(&d.tenant),
                    PlatformEvent::DatasetChanged {
                        id: d.id,
                        name: d.name.clone(),
                        change: change.to_string(),
                        revision: d.revision,
                    },
                )),
            )
            .await
    }

    /// Marks a dataset's data refreshed now (the datastore calls this after a load), which
    /// the responsibility list's freshness check reads.
    pub async fn touch_data(&self, dataset_id: Uuid) -> Result<()> {
        self.iam
            .db()
            .execute(
                "UPDATE catalog_datasets SET data_updated_at = $2 WHERE id = $1",
                args![dataset_id, now_micros()],
            )
            .await?;
        Ok(())
    }

    /// A resource by id, with its dataset, as `viewer` may see it. Errors: `not_found`.
    pub async fn resource(&self, viewer: Viewer<'_>, id: &str) -> Result<(Resource, Dataset)> {
        let nf = || Error::not_found(format!("resource {id:?} does not exist"));
        let rid = Uuid::parse_str(id).map_err(|_| nf())?;
        let r = self
            .iam
            .db()
            .fetch_optional(
                "SELECT dataset_id FROM catalog_resources WHERE id = $1",
                args![rid],
            )
            .await?
            .ok_or_else(nf)?;
        let d = self
            .get(viewer, &r.uuid("dataset_id")?.to_string())
            .await
            .map_err(|_| nf())?;
        let res = d
            .resources
            .iter()
            .find(|x| x.id == rid)
            .cloned()
            .ok_or_else(nf)?;
        Ok((res, d))
    }
}

pub(crate) fn dept_from_row(r: &Row) -> Result<OwnerDept> {
    Ok(OwnerDept {
        id: r.uuid("id")?,
        tenant: r.text("tenant")?,
        code: r.text("code")?,
        name: r.text("name")?,
        name_en: r.opt_text("name_en")?,
        jurisdiction_id: r.uuid("jurisdiction_id")?,
        path: r.text("path")?,
    })
}

fn field_from_row(r: &Row) -> Result<Field> {
    Ok(Field {
        name: r.text("name")?,
        title: r.opt_text("title")?,
        field_type: FieldType::parse(&r.text("field_type")?)?,
        unit: r.opt_text("unit")?,
        code_table: r.opt_text("code_table")?,
        personal: r.bool("personal")?,
        description: r.opt_text("description")?,
    })
}

fn resource_from_row(r: &Row) -> Result<Resource> {
    Ok(Resource {
        id: r.uuid("id")?,
        dataset_id: r.uuid("dataset_id")?,
        position: r.i64("position")?,
        name: r.text("name")?,
        description: r.opt_text("description")?,
        url: r.opt_text("url")?,
        format: r.opt_text("format")?,
        mimetype: r.opt_text("mimetype")?,
        kind: ResourceKind::parse(&r.text("kind")?)?,
        size: r.opt_i64("size")?,
        created_at: rfc3339(r.i64("created_at")?),
        updated_at: rfc3339(r.i64("updated_at")?),
    })
}

pub(crate) fn dataset_from_row(
    r: &Row,
    tags: Vec<String>,
    fields: Vec<Field>,
    resources: Vec<Resource>,
) -> Result<Dataset> {
    Ok(Dataset {
        id: r.uuid("id")?,
        tenant: r.text("tenant")?,
        name: r.text("name")?,
        title: r.text("title")?,
        title_en: r.opt_text("title_en")?,
        notes: r.opt_text("notes")?,
        notes_en: r.opt_text("notes_en")?,
        owner_department_id: r.uuid("owner_department_id")?,
        jurisdiction_id: r.uuid("jurisdiction_id")?,
        domain: Domain::parse(&r.text("domain")?)?,
        topic: r.opt_text("topic")?,
        grade: Grade::parse(&r.text("grade")?)?,
        sensitivity: r.i64("sensitivity")?,
        open_level: OpenLevel::parse(&r.text("open_level")?)?,
        update_frequency: Frequency::parse(&r.text("update_frequency")?)?,
        license_id: r.opt_text("license_id")?,
        version: r.opt_text("version")?,
        publisher: r.opt_text("publisher")?,
        source: r.opt_text("source")?,
        tags,
        fields,
        resources,
        data_updated_at: r.opt_i64("data_updated_at")?.map(rfc3339),
        revision: r.i64("revision")?,
        state: r.text("state")?,
        created_at: rfc3339(r.i64("created_at")?),
        updated_at: rfc3339(r.i64("updated_at")?),
    })
}

/// Helper for `Val` conversions of optional text.
#[allow(dead_code)]
pub(crate) fn ov(s: Option<&str>) -> Val {
    s.into()
}
