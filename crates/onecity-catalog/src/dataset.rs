//! The catalog service [`Catalog`]: datasets with their fields, resources, tags and change
//! history; visibility; slugs. Every change writes its history row, an audit record and a
//! `dataset_changed` outbox event in one transaction.

use crate::model::*;
use crate::slug;
use crate::store::datasets::{self as store, DatasetRow, FieldRow, ResourceRow};
use onecity_core::events::{EventEnvelope, PlatformEvent};
use onecity_core::time::{now_micros, rfc3339};
use onecity_core::{Error, Result};
use onecity_iam::{Iam, Permission, Principal};
use onecity_store::audit::AuditEntry;
use onecity_store::{Tx, Val};
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
        let (d, path) = self.iam.department_with_path(id).await?.ok_or_else(|| {
            Error::invalid(format!("owner department {id} does not exist"))
                .with_extra("field", "owner_org".into())
        })?;
        Ok(owner_dept(d, path))
    }

    /// Every department of every tenant (CKAN organizations), in code order.
    pub async fn departments(&self) -> Result<Vec<OwnerDept>> {
        Ok(self
            .iam
            .departments_with_paths()
            .await?
            .into_iter()
            .map(|(d, path)| owner_dept(d, path))
            .collect())
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

    async fn load_row(&self, id_or_name: &str) -> Result<Option<DatasetRow>> {
        let db = self.iam.db();
        if let Ok(id) = Uuid::parse_str(id_or_name) {
            if let Some(r) = store::dataset_by_id(db, id).await? {
                return Ok(Some(r));
            }
        }
        store::dataset_by_name(db, id_or_name).await
    }

    /// Reads a full dataset by its row.
    pub(crate) async fn hydrate(&self, r: &DatasetRow) -> Result<Dataset> {
        let db = self.iam.db();
        let fields = store::fields_of(db, r.id).await?;
        let resources = store::resources_of(db, r.id).await?;
        let tags = store::tags_of(db, r.id).await?;
        dataset_from_row(r, tags, fields, resources)
    }

    /// A dataset by id or name as `viewer` may see it (deleted ones only to staff with
    /// `catalog_read` there). Errors: `not_found`.
    pub async fn get(&self, viewer: Viewer<'_>, id_or_name: &str) -> Result<Dataset> {
        let nf = || Error::not_found(format!("dataset {id_or_name:?} does not exist"));
        let r = self.load_row(id_or_name).await?.ok_or_else(nf)?;
        let d = self.hydrate(&r).await?;
        let negative = self.dataset_negative(d.id).await?;
        if !self.may_see(viewer, &d, &r.jurisdiction_path, negative) {
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
            match store::dataset_id_by_name(&mut *tx, &cand).await? {
                None => return Ok(cand),
                Some(id) if Some(id) == except => return Ok(cand),
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
        if store::dataset_exists(&mut tx, id).await? {
            return Err(Error::conflict(format!("dataset id {id} is taken")));
        }
        let name = match &n.name {
            Some(name) => {
                if store::dataset_id_by_name(&mut tx, name).await?.is_some() {
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
        store::insert_dataset(
            &mut tx,
            &store::NewDatasetRow {
                id,
                tenant: &dept.tenant,
                name: &name,
                title: n.title.trim(),
                owner_department_id: dept.id,
                jurisdiction_id: dept.jurisdiction_id,
                jurisdiction_path: &dept.path,
                now,
            },
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
                if store::dataset_id_by_name(&mut tx, name).await?.is_some() {
                    return Err(Error::conflict(format!("name {name:?} is already in use")));
                }
                name.clone()
            }
            _ => cur.name.clone(),
        };
        let rev = store::revision_for_update(&mut tx, cur.id)
            .await?
            .ok_or_else(|| Error::not_found("dataset vanished"))?;
        store::update_key(
            &mut tx,
            cur.id,
            &name,
            n.title.trim(),
            dept.id,
            dept.jurisdiction_id,
            &dept.path,
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
        store::mark_deleted(&mut tx, cur.id, now, rev).await?;
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
        Ok(store::history(self.iam.db(), d.id)
            .await?
            .into_iter()
            .map(|r| {
                serde_json::json!({
                    "revision": r.revision,
                    "at": rfc3339(r.at),
                    "actor": r.actor,
                    "change": r.change,
                    "dataset": r.snapshot,
                })
            })
            .collect())
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
        store::update_body(
            &mut *tx,
            id,
            &store::DatasetBody {
                title_en: opt_nonempty(&n.title_en),
                notes: opt_nonempty(&n.notes),
                notes_en: opt_nonempty(&n.notes_en),
                domain: n.domain.unwrap_or(Domain::G).as_str(),
                topic: opt_nonempty(&n.topic),
                grade: n.grade.unwrap_or(Grade::General).as_str(),
                sensitivity: n.sensitivity.unwrap_or(1),
                open_level: n.open_level.unwrap_or(OpenLevel::NotOpen).as_str(),
                update_frequency: n.update_frequency.unwrap_or(Frequency::Irregular).as_str(),
                license_id: opt_nonempty(&n.license_id),
                version: opt_nonempty(&n.version),
                publisher: opt_nonempty(&n.publisher),
                source: opt_nonempty(&n.source),
                revision,
                now,
            },
        )
        .await?;
        let fields: Vec<store::NewFieldRow> = n
            .fields
            .iter()
            .map(|f| store::NewFieldRow {
                name: f.name.trim(),
                title: opt_nonempty(&f.title),
                field_type: f.field_type.as_str(),
                unit: opt_nonempty(&f.unit),
                code_table: opt_nonempty(&f.code_table),
                personal: f.personal,
                description: opt_nonempty(&f.description),
            })
            .collect();
        store::replace_fields(&mut *tx, id, &fields).await?;
        store::replace_tags(&mut *tx, id, &dedup_tags(&n.tags)).await?;
        // Resources: keep ids (and creation times) of those given back, drop the rest.
        let old: HashMap<Uuid, i64> = store::resource_created_times(&mut *tx, id)
            .await?
            .into_iter()
            .collect();
        store::delete_resources(&mut *tx, id).await?;
        for (i, r) in n.resources.iter().enumerate() {
            let rid = r.id.unwrap_or_else(onecity_core::new_id);
            let created = match old.get(&rid) {
                Some(c) => *c,
                None => {
                    if store::resource_exists(&mut *tx, rid).await? {
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
            store::insert_resource(
                &mut *tx,
                &store::NewResourceRow {
                    id: rid,
                    dataset_id: id,
                    tenant: &dept.tenant,
                    position: i as i64,
                    name: &rname,
                    description: opt_nonempty(&r.description),
                    url: opt_nonempty(&r.url),
                    format,
                    mimetype: opt_nonempty(&r.mimetype),
                    kind: r.kind.unwrap_or(ResourceKind::File).as_str(),
                    size: r.size,
                    created_at: created,
                    updated_at: now,
                },
            )
            .await?;
        }
        let row = store::dataset_by_id(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::internal("dataset row vanished"))?;
        let fields = store::fields_of(&mut *tx, id).await?;
        let resources = store::resources_of(&mut *tx, id).await?;
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
        store::insert_history(&mut *tx, d.id, d.revision, now, &actor, change, &after).await?;
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
        store::touch_data(self.iam.db(), dataset_id, now_micros()).await
    }

    /// A resource by id, with its dataset, as `viewer` may see it. Errors: `not_found`.
    pub async fn resource(&self, viewer: Viewer<'_>, id: &str) -> Result<(Resource, Dataset)> {
        let nf = || Error::not_found(format!("resource {id:?} does not exist"));
        let rid = Uuid::parse_str(id).map_err(|_| nf())?;
        let dataset_id = store::resource_dataset(self.iam.db(), &rid.to_string())
            .await?
            .ok_or_else(nf)?;
        let dataset_id = Uuid::parse_str(&dataset_id)
            .map_err(|_| Error::internal("column dataset_id is not a UUID"))?;
        let d = self
            .get(viewer, &dataset_id.to_string())
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

fn owner_dept(d: onecity_core::model::Department, path: String) -> OwnerDept {
    OwnerDept {
        id: d.id,
        tenant: d.tenant,
        code: d.code,
        name: d.name,
        name_en: d.name_en,
        jurisdiction_id: d.jurisdiction_id,
        path,
    }
}

pub(crate) fn field_from_row(r: FieldRow) -> Result<Field> {
    Ok(Field {
        field_type: FieldType::parse(&r.field_type)?,
        name: r.name,
        title: r.title,
        unit: r.unit,
        code_table: r.code_table,
        personal: r.personal,
        description: r.description,
    })
}

pub(crate) fn resource_from_row(r: ResourceRow) -> Result<Resource> {
    Ok(Resource {
        kind: ResourceKind::parse(&r.kind)?,
        id: r.id,
        dataset_id: r.dataset_id,
        position: r.position,
        name: r.name,
        description: r.description,
        url: r.url,
        format: r.format,
        mimetype: r.mimetype,
        size: r.size,
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
    })
}

/// A dataset from its row and its parts (rows in position order).
pub(crate) fn dataset_from_row(
    r: &DatasetRow,
    tags: Vec<String>,
    fields: Vec<FieldRow>,
    resources: Vec<ResourceRow>,
) -> Result<Dataset> {
    Ok(Dataset {
        id: r.id,
        tenant: r.tenant.clone(),
        name: r.name.clone(),
        title: r.title.clone(),
        title_en: r.title_en.clone(),
        notes: r.notes.clone(),
        notes_en: r.notes_en.clone(),
        owner_department_id: r.owner_department_id,
        jurisdiction_id: r.jurisdiction_id,
        domain: Domain::parse(&r.domain)?,
        topic: r.topic.clone(),
        grade: Grade::parse(&r.grade)?,
        sensitivity: r.sensitivity,
        open_level: OpenLevel::parse(&r.open_level)?,
        update_frequency: Frequency::parse(&r.update_frequency)?,
        license_id: r.license_id.clone(),
        version: r.version.clone(),
        publisher: r.publisher.clone(),
        source: r.source.clone(),
        tags,
        fields: fields
            .into_iter()
            .map(field_from_row)
            .collect::<Result<_>>()?,
        resources: resources
            .into_iter()
            .map(resource_from_row)
            .collect::<Result<_>>()?,
        data_updated_at: r.data_updated_at.map(rfc3339),
        revision: r.revision,
        state: r.state.clone(),
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
    })
}

/// Helper for `Val` conversions of optional text.
#[allow(dead_code)]
pub(crate) fn ov(s: Option<&str>) -> Val {
    s.into()
}
