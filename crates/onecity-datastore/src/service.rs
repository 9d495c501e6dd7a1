//! The datastore service (`Datastore`): who may create, load, read and query a resource's
//! table, and what leaves: negative-list fields are hidden, personal fields masked, and
//! every read by someone other than the owner leaves an exchange record.
//!
//! Access (checked on every call):
//! - owner: `datastore:write` in the table's tenant, or `datastore:read` in the tenant and
//!   the owner department (or no owner department): everything, unmasked;
//! - open data (`public`): anyone, also anonymous: masks from the fields' `info.mask`,
//!   negative-list fields hidden;
//! - a sharing grant to the caller's department ([`crate::sharing`]): the granted fields
//!   minus negative-list ones, the grant's row filter and masks, quota and expiry;
//! - anyone else: `forbidden` (CKAN: "Authorization Error").

use crate::load::{self, Cell, FieldType, Format};
use crate::masking::{MaskPolicy, MaskRule};
use crate::sharing::{self, GrantScope};
use crate::store::{self as store, CreateSpec, Field, TableMeta};
use crate::store_query::{self as query, ReadScope, SearchParams, SearchResult};
use futures::future::BoxFuture;
use onecity_core::{Error, ErrorCode, Result};
use onecity_iam::{Iam, Permission, Principal};
use onecity_store::audit::AuditEntry;
use onecity_store::{Db, Val};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What the negative list (负面清单) forbids for one resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NegativeEntry {
    /// The whole resource may not leave.
    pub whole: bool,
    /// Fields that may not leave.
    pub fields: HashSet<String>,
}

/// What the datastore needs of the catalog, as a narrow trait that `onecity-catalog`
/// implements (the datastore never reads catalog tables). There is one negative list
/// (负面清单), the catalog's; datastore tables belong to catalog resources.
pub trait ResourceCatalog: Send + Sync {
    /// The catalog dataset of `resource_id` (an active dataset's resource), or `None`
    /// when the id is no resource of any active catalog dataset.
    fn link<'a>(&'a self, resource_id: &'a str) -> BoxFuture<'a, Result<Option<CatalogLink>>>;

    /// The negative-list entry of `resource_id`, consulted on every path data leaves by
    /// (search, SQL, sharing, export). A resource id that is no catalog resource has none.
    fn negative<'a>(&'a self, resource_id: &'a str) -> BoxFuture<'a, Result<NegativeEntry>>;
}

/// How a reader reaches a table.
#[derive(Debug, Clone)]
pub enum Access {
    /// Owner: everything.
    Owner,
    /// Open data.
    Public(ReadScope),
    /// Through a sharing grant.
    Grant(ReadScope, GrantScope),
}

/// Body of `datastore_create` (CKAN), plus onecity's `tenant`, `owner_department`, `public`,
/// `grade`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// Resource id (CKAN resource UUID or any id up to 200 characters).
    pub resource_id: Option<String>,
    /// CKAN's `resource` dict (creates a resource): onecity accepts `{"id": …}` only.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub resource: Option<Value>,
    /// Fields: `[{"id": "name", "type": "text", "info": {"mask": "name"}}]`; types are
    /// inferred from `records` for fields without a type.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub fields: Option<Vec<Value>>,
    /// Records to insert (objects).
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub records: Option<Vec<Value>>,
    /// Primary key field(s) (string or list).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub primary_key: Option<Value>,
    /// CKAN: accepted and ignored (indexes are not configurable).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub indexes: Option<Value>,
    /// CKAN: must be true or absent when the table exists (onecity replaces the table).
    #[serde(default)]
    pub force: Option<bool>,
    /// Tenant (default: the caller's).
    #[serde(default)]
    pub tenant: Option<String>,
    /// Owner department id (default: the caller's).
    #[serde(default)]
    pub owner_department: Option<String>,
    /// Open data: readable by anyone.
    #[serde(default)]
    pub public: Option<bool>,
    /// `general` (default), `important` or `core` (GB/T 43697-2024).
    #[serde(default)]
    pub grade: Option<String>,
}

/// A load job's state (progress of a file upload).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Job {
    /// Job id.
    pub id: String,
    /// Resource id.
    pub resource_id: String,
    /// `parsing`, `loading`, `done` or `failed`.
    pub state: String,
    /// Rows in the file (known after parsing).
    pub rows_total: Option<i64>,
    /// Rows written so far.
    pub rows_done: i64,
    /// Encoding detected.
    pub encoding: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Options of a file load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Tenant (default: the caller's).
    pub tenant: Option<String>,
    /// Explicit types by field name.
    pub schema: HashMap<String, FieldType>,
    /// Owner department.
    pub owner_department: Option<String>,
    /// Open data.
    pub public: bool,
    /// Grade.
    pub grade: Option<String>,
    /// Masks by field name.
    pub masks: HashMap<String, MaskRule>,
}

/// The datastore service; cheap to clone.
#[derive(Clone)]
pub struct Datastore {
    pub(crate) iam: Iam,
    pub(crate) catalog: Arc<dyn ResourceCatalog>,
    pub(crate) salt: Arc<String>,
    pub(crate) flow: Option<onecity_flow::Flow>,
    /// Rows written so far by running load jobs of this process (job id → rows).
    pub(crate) progress: Arc<std::sync::Mutex<HashMap<String, i64>>>,
}

fn holds(p: &Principal, perm: Permission, tenant: &str) -> bool {
    p.grants
        .iter()
        .any(|g| g.permissions.contains(&perm) && g.tenant.as_deref().is_none_or(|t| t == tenant))
}

fn info_masks(m: &TableMeta) -> MaskPolicy {
    let mut p = MaskPolicy::default();
    for f in &m.fields {
        let info = f.info.as_ref();
        let rule = info
            .and_then(|i| i.get("mask"))
            .and_then(|v| serde_json::from_value::<MaskRule>(v.clone()).ok());
        let personal = info
            .and_then(|i| i.get("personal"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        match rule {
            Some(r) => {
                p.0.insert(f.id.clone(), r);
            }
            None if personal => {
                p.0.insert(f.id.clone(), MaskRule::guess(&f.id, true));
            }
            None => {}
        }
    }
    p
}

impl Datastore {
    /// Builds the service; `salt` keys the `hash` mask rule (a server secret); `catalog`
    /// answers what the datastore needs of the catalog (in the server: `onecity_catalog::Catalog`).
    pub fn new(iam: Iam, salt: String, catalog: Arc<dyn ResourceCatalog>) -> Datastore {
        Datastore {
            iam,
            catalog,
            salt: Arc::new(salt),
            flow: None,
            progress: Arc::default(),
        }
    }

    /// Connects the workflow engine that runs sharing approvals.
    pub fn with_flow(mut self, flow: onecity_flow::Flow) -> Datastore {
        self.flow = Some(flow);
        self
    }

    pub(crate) fn flow(&self) -> Result<&onecity_flow::Flow> {
        self.flow
            .as_ref()
            .ok_or_else(|| Error::internal("the datastore has no workflow engine"))
    }

    /// The database.
    pub fn db(&self) -> &Db {
        self.iam.db()
    }

    /// The registry entry of a resource's table (`not_found` when none).
    pub async fn meta(&self, resource_id: &str) -> Result<TableMeta> {
        store::meta(self.db(), resource_id).await?.ok_or_else(|| {
            Error::not_found(format!("no datastore table for resource {resource_id:?}"))
        })
    }

    fn is_owner(&self, p: &Principal, m: &TableMeta) -> bool {
        if holds(p, Permission::DatastoreWrite, &m.tenant) {
            return true;
        }
        holds(p, Permission::DatastoreRead, &m.tenant)
            && match (&m.owner_department, p.department_id) {
                (None, _) => true,
                (Some(d), Some(mine)) => *d == mine.to_string(),
                (Some(_), None) => false,
            }
    }

    fn require_write(&self, p: &Principal, tenant: &str) -> Result<()> {
        if holds(p, Permission::DatastoreWrite, tenant) {
            Ok(())
        } else {
            Err(Error::forbidden(format!(
                "you lack datastore:write in tenant {tenant:?}"
            )))
        }
    }

    /// Decides how `p` (None: anonymous) reads `m`. Besides ownership, grants and the
    /// negative list, a resource may require an identity assurance level
    /// (`Iam::read_assurance`, eIDAS low / substantial / high): other readers below it get
    /// 403 `assurance_too_low` naming the level (anonymous: 401).
    pub async fn access(&self, p: Option<&Principal>, m: &TableMeta) -> Result<Access> {
        if let Some(p) = p {
            if self.is_owner(p, m) {
                return Ok(Access::Owner);
            }
        }
        if let Some(need) = self.iam.read_assurance(&m.tenant, &m.resource_id).await? {
            onecity_iam::assurance::require(
                p,
                need,
                &format!("reading datastore resource {:?}", m.resource_id),
            )?;
        }
        let neg = self.catalog.negative(&m.resource_id).await?;
        let base_visible = || -> HashSet<String> {
            m.fields
                .iter()
                .map(|f| f.id.clone())
                .filter(|f| !neg.fields.contains(f))
                .collect()
        };
        if let Some(p) = p {
            self.sync_pending(p, m).await?;
            if let Some(g) = sharing::active_grant(self.db(), p, m).await? {
                if neg.whole {
                    return Err(Error::forbidden(
                        "this dataset is on the negative list (负面清单) and is not shared",
                    ));
                }
                let mut visible = base_visible();
                if !g.fields.is_empty() {
                    visible.retain(|f| g.fields.contains(f));
                }
                let mut masks = info_masks(m);
                for (k, v) in &g.masks.0 {
                    masks.0.insert(k.clone(), v.clone());
                }
                let scope = ReadScope {
                    visible: Some(visible),
                    masks,
                    salt: self.salt.to_string(),
                    row_filter: g.row_filter.clone(),
                };
                return Ok(Access::Grant(scope, g));
            }
        }
        if m.public {
            if neg.whole {
                return Err(Error::forbidden(
                    "this dataset is on the negative list (负面清单)",
                ));
            }
            return Ok(Access::Public(ReadScope {
                visible: Some(base_visible()),
                masks: info_masks(m),
                salt: self.salt.to_string(),
                row_filter: Map::new(),
            }));
        }
        Err(match p {
            None => Error::new(
                ErrorCode::Unauthenticated,
                "this datastore table is not open; send credentials",
            ),
            Some(_) => Error::forbidden(
                "you may not read this datastore table (no ownership and no sharing grant)",
            ),
        })
    }

    /// `datastore_create`: creates (replacing) a table and inserts `records`.
    pub async fn create(&self, p: &Principal, req: CreateRequest) -> Result<Value> {
        let rid = match (&req.resource_id, &req.resource) {
            (Some(r), _) => r.clone(),
            (None, Some(Value::Object(o))) => o
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| onecity_core::new_id().to_string()),
            (None, Some(_)) => return Err(Error::invalid("resource must be an object")),
            (None, None) => return Err(Error::invalid("resource_id is required")),
        };
        check_resource_id(&rid)?;
        let tenant = self.tenant_of(p, req.tenant.as_deref())?;
        self.require_write(p, &tenant)?;
        let link = self.catalog_link(&rid).await?;
        check_against_catalog(
            &link,
            &tenant,
            req.owner_department.as_deref(),
            req.grade.as_deref(),
        )?;
        if let Some(old) = store::meta(self.db(), &rid).await? {
            if old.tenant != tenant {
                return Err(Error::conflict("the resource id is used by another tenant"));
            }
            if req.records.is_none() && req.fields.is_none() {
                return Err(Error::invalid("the table exists; give fields or records"));
            }
        }
        let records = req.records.clone().unwrap_or_default();
        let raw = load::records_to_raw(&records)?;
        let mut fields: Vec<Field> = Vec::new();
        let mut overrides = HashMap::new();
        for f in req.fields.iter().flatten() {
            let id = f
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::invalid("each field needs an id"))?;
            store::check_field_name(id)?;
            let ty =
                match f.get("type").and_then(Value::as_str) {
                    Some(t) => Some(FieldType::parse(t).ok_or_else(|| {
                        Error::invalid(format!("field {id:?}: unknown type {t:?}"))
                    })?),
                    None => None,
                };
            if let Some(t) = ty {
                overrides.insert(id.to_string(), t);
            }
            fields.push(Field {
                id: id.to_string(),
                ty: ty.unwrap_or(FieldType::Text),
                info: f.get("info").cloned(),
            });
        }
        for h in &raw.headers {
            if !fields.iter().any(|f| &f.id == h) {
                if !req.fields.as_ref().is_none_or(|v| v.is_empty()) {
                    return Err(Error::invalid(format!(
                        "record field {h:?} is not among the fields"
                    )));
                }
                fields.push(Field {
                    id: h.clone(),
                    ty: FieldType::Text,
                    info: None,
                });
            }
        }
        // Reorder raw columns to field order, infer types of untyped fields.
        let mut table = load::RawTable {
            headers: fields.iter().map(|f| f.id.clone()).collect(),
            rows: vec![],
        };
        let idx: Vec<Option<usize>> = fields
            .iter()
            .map(|f| raw.headers.iter().position(|h| *h == f.id))
            .collect();
        table.rows = raw
            .rows
            .iter()
            .map(|r| idx.iter().map(|i| i.and_then(|i| r[i].clone())).collect())
            .collect();
        let (types, rows) = load::convert(&table, &overrides)?;
        for (f, t) in fields.iter_mut().zip(types) {
            f.ty = t;
        }
        mark_personal(&mut fields, &link);
        let pk = match &req.primary_key {
            None | Some(Value::Null) => vec![],
            Some(Value::String(s)) => s
                .split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(_) => return Err(Error::invalid("primary_key must be a string or a list")),
        };
        let spec = CreateSpec {
            resource_id: rid.clone(),
            tenant: tenant.clone(),
            owner_department: Some(link.owner_department.clone()),
            public: req.public.unwrap_or(false),
            grade: link.grade.clone(),
            fields,
            primary_key: pk,
            actor: p.actor(),
        };
        let m = self.store_rows(p, &spec, &rows, None).await?;
        Ok(serde_json::json!({
            "resource_id": m.resource_id,
            "fields": m.fields,
            "primary_key": m.primary_key,
            "records_count": rows.len(),
            "method": "insert",
        }))
    }

    fn tenant_of(&self, p: &Principal, t: Option<&str>) -> Result<String> {
        match t.map(str::to_string).or_else(|| p.tenant.clone()) {
            Some(t) => Ok(t),
            None => Err(Error::invalid(
                "tenant is required for a deployment-level caller",
            )),
        }
    }

    async fn store_rows(
        &self,
        p: &Principal,
        spec: &CreateSpec,
        rows: &[Vec<Cell>],
        job: Option<&str>,
    ) -> Result<TableMeta> {
        let mut tx = self.db().begin().await?;
        let m = store::create_table(&mut tx, spec).await?;
        let progress = self.progress.clone();
        store::insert_rows(&mut tx, &m, rows, false, |n| {
            if let Some(j) = job {
                progress
                    .lock()
                    .expect("progress lock")
                    .insert(j.to_string(), n as i64);
            }
        })
        .await?;
        let after = serde_json::json!({"resource_id": m.resource_id, "fields": m.fields, "rows": rows.len()});
        self.iam
            .record(
                &mut tx,
                &AuditEntry {
                    tenant: &spec.tenant,
                    actor: &p.actor(),
                    action: "datastore.create",
                    resource_type: "datastore_table",
                    resource_id: &m.resource_id,
                    after: Some(&after),
                    ..Default::default()
                },
                None,
            )
            .await?;
        tx.commit().await?;
        let mut m = m;
        m.row_count = rows.len() as i64;
        Ok(m)
    }

    /// Loads a CSV/JSON/XLSX file into a resource's table (replacing it). Parsing, type
    /// inference and conversion finish before anything is written, so a bad value fails at
    /// once naming its row. `job` (from [`Datastore::start_job`]) receives progress.
    pub async fn load_file(
        &self,
        p: &Principal,
        resource_id: &str,
        bytes: &[u8],
        format: Format,
        opts: &LoadOptions,
        job: Option<&str>,
    ) -> Result<TableMeta> {
        check_resource_id(resource_id)?;
        let tenant = self.tenant_of(p, opts.tenant.as_deref())?;
        self.require_write(p, &tenant)?;
        let link = self.catalog_link(resource_id).await?;
        check_against_catalog(
            &link,
            &tenant,
            opts.owner_department.as_deref(),
            opts.grade.as_deref(),
        )?;
        if let Some(old) = store::meta(self.db(), resource_id).await? {
            if old.tenant != tenant {
                return Err(Error::conflict("the resource id is used by another tenant"));
            }
        }
        let (raw, enc) = load::parse(bytes, format)?;
        if let Some(j) = job {
            self.job_update(
                j,
                "loading",
                Some(raw.rows.len() as i64),
                0,
                Some(enc),
                None,
            )
            .await?;
        }
        let (types, rows) = load::convert(&raw, &opts.schema)?;
        let mut fields: Vec<Field> = raw
            .headers
            .iter()
            .zip(types)
            .map(|(h, t)| Field {
                id: h.clone(),
                ty: t,
                info: opts.masks.get(h).map(|r| serde_json::json!({ "mask": r })),
            })
            .collect();
        mark_personal(&mut fields, &link);
        let spec = CreateSpec {
            resource_id: resource_id.to_string(),
            tenant,
            owner_department: Some(link.owner_department.clone()),
            public: opts.public,
            grade: link.grade.clone(),
            fields,
            primary_key: vec![],
            actor: p.actor(),
        };
        let m = self.store_rows(p, &spec, &rows, job).await?;
        if let Some(j) = job {
            self.job_update(
                j,
                "done",
                Some(rows.len() as i64),
                rows.len() as i64,
                Some(enc),
                None,
            )
            .await?;
        }
        Ok(m)
    }

    /// Records a new load job and returns its id.
    pub async fn start_job(
        &self,
        p: &Principal,
        resource_id: &str,
        tenant: &str,
    ) -> Result<String> {
        let id = onecity_core::new_id().to_string();
        let now = onecity_core::time::now_micros();
        store::insert_job(self.db(), &id, resource_id, tenant, &p.actor(), now).await?;
        Ok(id)
    }

    pub(crate) async fn job_update(
        &self,
        id: &str,
        state: &str,
        total: Option<i64>,
        done: i64,
        enc: Option<&str>,
        error: Option<&str>,
    ) -> Result<()> {
        store::update_job(
            self.db(),
            id,
            &store::JobUpdate {
                state,
                rows_total: total,
                rows_done: done,
                encoding: enc,
                error,
                now: onecity_core::time::now_micros(),
            },
        )
        .await
    }

    /// A load job's progress (visible to writers of its tenant). Rows written are live
    /// while this process loads; other replicas see the state at each step.
    pub async fn job(&self, p: &Principal, id: &str) -> Result<Job> {
        let (j, tenant) = self.job_and_tenant(id).await?;
        self.require_write(p, &tenant)?;
        Ok(j)
    }

    pub(crate) async fn job_unchecked(&self, id: &str) -> Result<Job> {
        Ok(self.job_and_tenant(id).await?.0)
    }

    /// A job with live progress, and its tenant.
    async fn job_and_tenant(&self, id: &str) -> Result<(Job, String)> {
        let r = store::job(self.db(), id)
            .await?
            .ok_or_else(|| Error::not_found("no such job"))?;
        let state = r.state;
        let live = self
            .progress
            .lock()
            .expect("progress lock")
            .get(id)
            .copied();
        let mut done = r.rows_done;
        if state == "loading" {
            done = live.unwrap_or(done);
        } else if state == "done" || state == "failed" {
            self.progress.lock().expect("progress lock").remove(id);
        }
        Ok((
            Job {
                id: r.id,
                resource_id: r.resource_id,
                state,
                rows_total: r.rows_total,
                rows_done: done,
                encoding: r.encoding,
                error: r.error,
            },
            r.tenant,
        ))
    }

    /// `datastore_upsert`: `method` `insert` (default `upsert` needs a primary key).
    pub async fn upsert(
        &self,
        p: &Principal,
        resource_id: &str,
        records: &[Value],
        method: &str,
    ) -> Result<Value> {
        let m = self.meta(resource_id).await?;
        self.require_write(p, &m.tenant)?;
        let raw = load::records_to_raw(records)?;
        for h in &raw.headers {
            if !m.fields.iter().any(|f| &f.id == h) {
                return Err(Error::invalid(format!("field {h:?} does not exist")));
            }
        }
        let mut rows = Vec::with_capacity(raw.rows.len());
        for (i, r) in raw.rows.iter().enumerate() {
            let mut out = Vec::with_capacity(m.fields.len());
            for f in &m.fields {
                let v = raw
                    .headers
                    .iter()
                    .position(|h| *h == f.id)
                    .and_then(|c| r[c].clone());
                out.push(load::convert_cell(v.as_deref(), f.ty, None).map_err(|_| {
                    Error::invalid(format!(
                        "record {}: field {:?} value {:?} is not a {}",
                        i + 1,
                        f.id,
                        v.unwrap_or_default(),
                        f.ty.as_str()
                    ))
                })?);
            }
            rows.push(out);
        }
        let upsert = match method {
            "insert" => false,
            "upsert" | "update" => true,
            other => {
                return Err(Error::invalid(format!(
                    "method {other:?}: use insert, upsert or update"
                )))
            }
        };
        let mut tx = self.db().begin().await?;
        let n = store::insert_rows(&mut tx, &m, &rows, upsert, |_| {}).await?;
        let after = serde_json::json!({"rows": n, "method": method});
        self.iam
            .record(
                &mut tx,
                &AuditEntry {
                    tenant: &m.tenant,
                    actor: &p.actor(),
                    action: "datastore.upsert",
                    resource_type: "datastore_table",
                    resource_id: &m.resource_id,
                    after: Some(&after),
                    ..Default::default()
                },
                None,
            )
            .await?;
        tx.commit().await?;
        Ok(serde_json::json!({"resource_id": m.resource_id, "method": method, "records_count": n}))
    }

    /// `datastore_delete`: the whole table, or the rows matching `filters`.
    pub async fn delete(
        &self,
        p: &Principal,
        resource_id: &str,
        filters: Option<&Map<String, Value>>,
    ) -> Result<Value> {
        let m = self.meta(resource_id).await?;
        self.require_write(p, &m.tenant)?;
        let mut tx = self.db().begin().await?;
        match filters {
            None => store::drop_table(&mut tx, &m).await?,
            Some(f) => {
                let mut conds: Vec<(&str, Val)> = Vec::new();
                for (k, v) in f {
                    let fd = m
                        .fields
                        .iter()
                        .find(|x| &x.id == k)
                        .ok_or_else(|| Error::invalid(format!("field {k:?} does not exist")))?;
                    conds.push((k, query::json_to_val(v, fd.ty, k)?));
                }
                store::delete_rows(&mut tx, &m, &conds).await?;
            }
        }
        self.iam
            .record(
                &mut tx,
                &AuditEntry {
                    tenant: &m.tenant,
                    actor: &p.actor(),
                    action: "datastore.delete",
                    resource_type: "datastore_table",
                    resource_id: &m.resource_id,
                    detail: filters.map(|_| "rows matching filters"),
                    ..Default::default()
                },
                None,
            )
            .await?;
        tx.commit().await?;
        Ok(serde_json::json!({"resource_id": m.resource_id, "filters": filters}))
    }

    /// `datastore_search` as `p` (None: anonymous).
    pub async fn search(
        &self,
        p: Option<&Principal>,
        params: &SearchParams,
    ) -> Result<SearchResult> {
        let m = self.meta(&params.resource_id).await?;
        let started = std::time::Instant::now();
        let access = self.access(p, &m).await;
        let (scope, grant) = match &access {
            Ok(Access::Owner) => (ReadScope::default(), None),
            Ok(Access::Public(s)) => (s.clone(), None),
            Ok(Access::Grant(s, g)) => (s.clone(), Some(g.clone())),
            Err(e) => {
                if let Some(p) = p {
                    let digest = sharing::digest(&format!("search:{:?}", params.resource_id));
                    sharing::record_exchange(
                        self,
                        &p.actor(),
                        p.department_id.map(|d| d.to_string()),
                        &m,
                        None,
                        "api",
                        &digest,
                        0,
                        0,
                        started,
                        "denied",
                    )
                    .await?;
                }
                return Err(e.clone());
            }
        };
        if let Some(g) = &grant {
            sharing::check_quota(self.db(), g).await?;
        }
        let res = query::search(self.db(), &m, params, &scope).await;
        if !matches!(access, Ok(Access::Owner)) {
            let (consumer, cdept) = who(p);
            let digest = sharing::digest(
                &serde_json::to_string(&(
                    &params.q,
                    &params.filters,
                    &params.fields,
                    &params.sort,
                    &params.group_by,
                ))
                .unwrap_or_default(),
            );
            let (rows, bytes, outcome) = match &res {
                Ok(r) => (
                    r.records.len() as i64,
                    serde_json::to_vec(&r.records).map(|v| v.len()).unwrap_or(0) as i64,
                    "ok",
                ),
                Err(_) => (0, 0, "error"),
            };
            sharing::record_exchange(
                self,
                &consumer,
                cdept,
                &m,
                grant.as_ref(),
                "api",
                &digest,
                rows,
                bytes,
                started,
                outcome,
            )
            .await?;
        }
        res
    }

    /// `datastore_info`: fields, types, row count.
    pub async fn info(&self, p: Option<&Principal>, resource_id: &str) -> Result<Value> {
        let m = self.meta(resource_id).await?;
        let visible: Option<HashSet<String>> = match self.access(p, &m).await? {
            Access::Owner => None,
            Access::Public(s) | Access::Grant(s, _) => s.visible,
        };
        let fields: Vec<Value> = m
            .fields
            .iter()
            .filter(|f| visible.as_ref().is_none_or(|v| v.contains(&f.id)))
            .map(|f| serde_json::json!({"id": f.id, "type": f.ty.as_str(), "info": f.info}))
            .collect();
        Ok(serde_json::json!({
            "meta": {"id": m.resource_id, "count": m.row_count, "table_type": "BASE TABLE", "grade": m.grade, "public": m.public},
            "fields": fields,
        }))
    }

    /// `datastore_search_sql`: read-only SQL (see [`crate::sql`]).
    pub async fn search_sql(&self, p: Option<&Principal>, sql_text: &str) -> Result<Value> {
        let checked = crate::sql::check(sql_text)?;
        let started = std::time::Instant::now();
        let mut sql = checked.sql.clone();
        let mut args: Vec<Val> = Vec::new();
        let mut masks = MaskPolicy::default();
        let mut metas: Vec<(TableMeta, Option<sharing::GrantScope>, bool)> = Vec::new();
        let mut masked: HashSet<String> = HashSet::new();
        for (i, rid) in checked.resources.iter().enumerate() {
            let m = store::meta(self.db(), rid).await?.ok_or_else(|| {
                // The engine's own catalogue is not echoed back by name.
                let lower = rid.to_ascii_lowercase();
                if ["sqlite_", "pg_", "information_schema"]
                    .iter()
                    .any(|p| lower.starts_with(p))
                {
                    Error::invalid(
                        "system tables cannot be read; name datastore tables by their resource id",
                    )
                } else {
                    Error::invalid(format!("table {rid:?} does not exist"))
                }
            })?;
            let access = match self.access(p, &m).await {
                Ok(a) => a,
                Err(e) => {
                    // A refusal (negative list, no grant) is an exchange too.
                    if let Some(p) = p {
                        sharing::record_exchange(
                            self,
                            &p.actor(),
                            p.department_id.map(|d| d.to_string()),
                            &m,
                            None,
                            "sql",
                            &sharing::digest(sql_text),
                            0,
                            0,
                            std::time::Instant::now(),
                            "denied",
                        )
                        .await?;
                    }
                    return Err(e);
                }
            };
            let from = match &access {
                Access::Owner => m.table.clone(),
                Access::Public(s) | Access::Grant(s, _) => {
                    for f in &m.fields {
                        let hidden = s.visible.as_ref().is_some_and(|v| !v.contains(&f.id));
                        if hidden && checked.idents.contains_key(&f.id.to_lowercase()) {
                            return Err(Error::invalid(format!("field {:?} does not exist", f.id)));
                        }
                    }
                    for (k, r) in &s.masks.0 {
                        if *r != MaskRule::Keep {
                            masked.insert(k.clone());
                            masks.0.insert(k.clone(), r.clone());
                        }
                    }
                    query::scoped_table_sql(&m, s, &mut args)?
                }
            };
            if let Access::Grant(_, g) = &access {
                sharing::check_quota(self.db(), g).await?;
            }
            let grant = match &access {
                Access::Grant(_, g) => Some(g.clone()),
                _ => None,
            };
            metas.push((m, grant, matches!(access, Access::Owner)));
            sql = sql.replace(&crate::sql::placeholder(i), &from);
        }
        let outputs = checked.masked_outputs(&masked)?;
        let timeout = std::time::Duration::from_secs(crate::sql::SQL_TIMEOUT_SECS);
        let fetched = query::run_read_only(
            self.db(),
            &sql,
            &args,
            crate::sql::MAX_SQL_ROWS + 1,
            timeout,
        )
        .await;
        let rows = match fetched {
            Ok(r) => r,
            Err(e) => {
                let mut msg = e.detail.clone();
                for (m, _, _) in &metas {
                    msg = msg.replace(&m.table, &format!("\"{}\"", m.resource_id));
                }
                let err = if e.code == ErrorCode::Internal {
                    tracing::info!(detail = %msg, "datastore_search_sql failed");
                    Error::invalid(format!("the query failed: {}", sql_failure(&msg)))
                } else if msg.contains("statement timeout") || msg.contains("canceling statement") {
                    Error::invalid(format!(
                        "the query ran longer than {} s",
                        crate::sql::SQL_TIMEOUT_SECS
                    ))
                } else {
                    e
                };
                return Err(err);
            }
        };
        let truncated = rows.len() > crate::sql::MAX_SQL_ROWS;
        let mut records = Vec::new();
        let mut fields: Vec<Value> = Vec::new();
        if let Some(r0) = rows.first() {
            fields = r0
                .columns()
                .iter()
                .map(|c| serde_json::json!({"id": c}))
                .collect();
        }
        for r in rows.iter().take(crate::sql::MAX_SQL_ROWS) {
            let mut rec = Map::new();
            for (c, v) in r.columns().iter().zip(r.values()) {
                let mut j = store::val_json(v, None);
                if let Some(src) = outputs.get(c) {
                    j = masks.apply_json(src, &j, &self.salt);
                }
                rec.insert(c.clone(), j);
            }
            records.push(rec);
        }
        let bytes = serde_json::to_vec(&records).map(|v| v.len()).unwrap_or(0) as i64;
        let (consumer, cdept) = who(p);
        for (m, g, owner) in &metas {
            if !owner {
                sharing::record_exchange(
                    self,
                    &consumer,
                    cdept.clone(),
                    m,
                    g.as_ref(),
                    "sql",
                    &sharing::digest(sql_text),
                    records.len() as i64,
                    bytes,
                    started,
                    "ok",
                )
                .await?;
            }
        }
        let mut out = serde_json::json!({"sql": sql_text, "records": records, "fields": fields});
        if truncated {
            out["records_truncated"] = Value::Bool(true);
        }
        Ok(out)
    }
}

/// The catalog dataset a datastore table belongs to (its resource's dataset).
#[derive(Debug, Clone)]
pub struct CatalogLink {
    /// Dataset id.
    pub dataset_id: String,
    /// Dataset name (slug).
    pub dataset_name: String,
    /// Tenant of the dataset.
    pub tenant: String,
    /// Owner department id.
    pub owner_department: String,
    /// Grade (GB/T 43697-2024: `general`, `important`, `core`).
    pub grade: String,
    /// Schema fields flagged as personal data (个人信息).
    pub personal: HashSet<String>,
}

impl Datastore {
    /// The catalog dataset of `resource_id`. Errors: `invalid_input` when the id is no
    /// resource of a catalog dataset (tables belong to catalog resources: create the
    /// dataset and its resource with `package_create` first).
    pub async fn catalog_link(&self, resource_id: &str) -> Result<CatalogLink> {
        self.catalog.link(resource_id).await?.ok_or_else(|| {
            Error::invalid(format!(
                "resource {resource_id:?} is not a resource of any catalog dataset; datastore tables belong to catalog resources (create the dataset and resource with package_create first)"
            ))
        })
    }
}

/// Marks fields the catalog flags as personal (`info.personal = true`, masked by default
/// unless `info.mask` says otherwise).
fn mark_personal(fields: &mut [Field], link: &CatalogLink) {
    for f in fields.iter_mut() {
        if link.personal.contains(&f.id) {
            let mut info = match f.info.take() {
                Some(Value::Object(o)) => o,
                _ => Map::new(),
            };
            info.insert("personal".into(), Value::Bool(true));
            f.info = Some(Value::Object(info));
        }
    }
}

/// Refuses an owner department or grade that contradicts the catalog dataset.
fn check_against_catalog(
    link: &CatalogLink,
    tenant: &str,
    owner: Option<&str>,
    grade: Option<&str>,
) -> Result<()> {
    if link.tenant != tenant {
        return Err(Error::invalid(format!(
            "the resource's catalog dataset {:?} is in tenant {:?}, not {tenant:?}",
            link.dataset_name, link.tenant
        )));
    }
    if let Some(o) = owner.filter(|o| *o != link.owner_department) {
        return Err(Error::invalid(format!(
            "owner_department {o:?} differs from the catalog dataset's owner; it comes from the catalog"
        )));
    }
    if let Some(g) = grade.filter(|g| *g != link.grade) {
        return Err(Error::invalid(format!(
            "grade {g:?} differs from the catalog dataset's grade {:?}; it comes from the catalog",
            link.grade
        )));
    }
    Ok(())
}

/// The exchange record's consumer: the actor and department, or `anonymous`.
fn who(p: Option<&Principal>) -> (String, Option<String>) {
    match p {
        Some(p) => (p.actor(), p.department_id.map(|d| d.to_string())),
        None => ("anonymous".into(), None),
    }
}

/// Our own words for a failed read-only query: the driver's text (which names the engine
/// and its internals) is logged, and the caller learns only what they can fix: an unknown
/// column or table (named), a type mismatch, a syntax error, or a generic hint.
fn sql_failure(driver_text: &str) -> String {
    let lower = driver_text.to_ascii_lowercase();
    let quoted_after = |marker: &str| -> Option<String> {
        let i = lower.find(marker)? + marker.len();
        let rest = driver_text[i..].trim_start();
        let name: String = rest
            .trim_start_matches(['"', '\''])
            .chars()
            .take_while(|c| !matches!(c, '"' | '\'' | ' ' | ',' | ')'))
            .collect();
        (!name.is_empty()).then_some(name)
    };
    if let Some(c) = quoted_after("no such column:").or_else(|| {
        lower
            .contains("does not exist")
            .then(|| quoted_after("column"))
            .flatten()
            .filter(|_| lower.contains("column"))
    }) {
        return format!("unknown column {c:?}");
    }
    if lower.contains("no such table") || lower.contains("relation") {
        return "unknown table: name tables by their resource id in double quotes".into();
    }
    if lower.contains("no such function")
        || lower.contains("function") && lower.contains("does not exist")
    {
        return "unknown or disallowed function".into();
    }
    if lower.contains("syntax") {
        return "syntax error".into();
    }
    if lower.contains("operator does not exist")
        || lower.contains("invalid input syntax")
        || lower.contains("mismatch")
    {
        return "a value or comparison does not fit the column's type".into();
    }
    "the query could not run: check its column names, types and functions".into()
}

/// Resource ids: 1–200 characters, no control characters or `"`.
pub fn check_resource_id(id: &str) -> Result<()> {
    if id.is_empty() || id.chars().count() > 200 || id.chars().any(|c| c.is_control() || c == '"') {
        return Err(Error::invalid(
            "resource_id must be 1 to 200 characters without quotes or control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::sql_failure;

    #[test]
    fn driver_texts_become_our_words() {
        let cases = [
            (
                "error returned from database: (code: 1) no such column: pm25",
                "unknown column \"pm25\"",
            ),
            (
                "error returned from database: column \"pm25\" does not exist",
                "unknown column \"pm25\"",
            ),
            (
                "error returned from database: (code: 1) no such table: ds_1f2e",
                "unknown table: name tables by their resource id in double quotes",
            ),
            (
                "error returned from database: syntax error at or near \"FORM\"",
                "syntax error",
            ),
            (
                "error returned from database: operator does not exist: text > integer",
                "a value or comparison does not fit the column's type",
            ),
            (
                "pool closed",
                "the query could not run: check its column names, types and functions",
            ),
        ];
        for (driver, ours) in cases {
            let got = sql_failure(driver);
            assert_eq!(got, ours, "{driver}");
            for word in ["database", "sqlx", "SQLite", "postgres", "code: 1"] {
                assert!(!got.contains(word), "{got}");
            }
        }
    }
}
