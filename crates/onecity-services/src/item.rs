//! Service items (事项) and the service [`Hall`]: items as versioned data with history and
//! audit. Creating an item writes version 1 (a draft); every edit writes the next version;
//! publishing makes one version the one the hall and its guide show; withdrawing takes the
//! item out of the hall. Each of these writes its rows, an audit record (`service_item.*`)
//! and a `ServiceItemChanged` outbox event in one transaction.
//!
//! Who may do what: reading published items and their published versions needs no login;
//! writing, and reading drafts, needs `service_admin` over the owner department's
//! jurisdiction (a draft outside it answers `not_found`).
//!
//! The body is checked by [`validate::parse_body`] (every problem, by JSON pointer) and then
//! against the tenant (the department and the division code must exist there); all
//! problems come back in one `invalid_input` with `errors: [{pointer, message, message_zh}]`.

mod model;
pub mod validate;

pub use model::*;

use crate::store::items::{self as store, ItemRow, ListFilter, VersionRow};
use onecity_core::events::{EventEnvelope, PlatformEvent};
use onecity_core::page::{Page, PageQuery};
use onecity_core::time::{now_micros, rfc3339};
use onecity_core::{Error, Result};
use onecity_flow::Flow;
use onecity_iam::{Iam, Permission, Principal};
use onecity_store::audit::AuditEntry;
use onecity_store::Tx;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The service hall: items, guides, forms and the assistant of every tenant.
#[derive(Clone)]
pub struct Hall {
    /// Identity, permissions, audit.
    pub iam: Iam,
    /// The workflow engine (forms feed cases).
    pub flow: Flow,
    /// The assistant (智能客服) and the item search: one guide index per tenant.
    pub assistant: crate::assistant::Assistant,
}

/// Which version of an item to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSel {
    /// The version the hall shows (default).
    Published,
    /// The newest version, draft or not (editors only).
    Latest,
    /// A version by number (a never-published one: editors only).
    Number(i64),
}

impl VersionSel {
    /// Parses `published`, `latest` or a version number; `None` reads as `Published`.
    ///
    /// Errors: `invalid_query` for anything else.
    pub fn parse(s: Option<&str>) -> Result<Self> {
        match s.map(str::trim) {
            None | Some("") | Some("published") => Ok(Self::Published),
            Some("latest") => Ok(Self::Latest),
            Some(n) => n
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 1)
                .map(Self::Number)
                .ok_or_else(|| {
                    Error::new(
                        onecity_core::ErrorCode::InvalidQuery,
                        format!("version must be published, latest or a number ≥ 1, got {n:?}"),
                    )
                }),
        }
    }
}

/// Plain list filters (the assistant's index does full-text search).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemQuery {
    /// Owner department code (`HZ-GAJ`).
    pub department: Option<String>,
    /// Life event (`birth`, `housing`, …).
    pub life_event: Option<String>,
    /// Service target (`citizen`, `company`).
    pub target: Option<String>,
    /// Item type (`administrative_licence`, …).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub item_type: Option<String>,
    /// Text found in the code, the Chinese or the English name (case-insensitive).
    pub q: Option<String>,
    /// `true`: the newest version of every item, drafts included (needs `service_admin`
    /// over the tenant).
    pub drafts: Option<bool>,
    /// Items per page, 1..=500 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Counts for browsing the hall: by department and by life event.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Browse {
    /// Tenant code.
    pub tenant: String,
    /// Tenant name.
    pub tenant_name: Text,
    /// Published items.
    pub items: i64,
    /// Departments with published items, in code order.
    pub departments: Vec<FacetCount>,
    /// Life events with published items, in documentation order.
    pub life_events: Vec<FacetCount>,
    /// Service targets with published items.
    pub targets: Vec<FacetCount>,
}

/// One facet value and how many published items it has.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FacetCount {
    /// Filter value (department code, life event, target).
    pub key: String,
    /// Label.
    pub name: Text,
    /// Published items.
    pub count: i64,
}

/// A tenant that has a public service hall.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HallTenant {
    /// Tenant code.
    pub code: String,
    /// Name.
    pub name: Text,
    /// Published items.
    pub items: i64,
}

/// What [`Hall::put_published`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The item was new: version 1 created and published.
    Created,
    /// The content differed: a new version written and published.
    Updated,
    /// The newest version had the same content but was not the published one: published.
    Published,
    /// Nothing to do.
    Unchanged,
}

fn invalid(problems: Vec<Problem>) -> Error {
    let n = problems.len();
    let list = serde_json::to_value(&problems).unwrap_or(Value::Null);
    Error::invalid(format!("the service item has {n} problem(s)")).with_extra("errors", list)
}

fn problem(pointer: &str, en: String, zh: String) -> Problem {
    Problem {
        pointer: pointer.into(),
        message: en,
        message_zh: zh,
    }
}

fn comma_list<T: Copy>(v: &[T], name: impl Fn(T) -> &'static str) -> String {
    let mut s = String::from(",");
    for x in v {
        s.push_str(name(*x));
        s.push(',');
    }
    s
}

fn item_not_found(code: &str) -> Error {
    Error::not_found(format!("service item {code:?} does not exist"))
}

/// The department of a body, resolved in the tenant.
struct Dept {
    department: onecity_core::model::Department,
    path: String,
}

impl Dept {
    fn reference(&self) -> DepartmentRef {
        let d = &self.department;
        DepartmentRef {
            id: d.id,
            code: d.code.clone(),
            name: Text {
                zh: d.name.clone(),
                en: d.name_en.clone().unwrap_or_else(|| d.name.clone()),
            },
        }
    }
}

impl Hall {
    /// A hall over `iam` and `flow`.
    pub fn new(iam: Iam, flow: Flow) -> Self {
        Self {
            iam,
            flow,
            assistant: crate::assistant::Assistant::new(),
        }
    }

    /// Validates `body` and checks it against the tenant: the department and the division
    /// code's jurisdiction must exist. Errors: `invalid_input` listing every problem.
    async fn checked_body(&self, tenant: &str, body: &Value) -> Result<(ItemBody, Dept)> {
        let parsed = validate::parse_body(body);
        // The tenant checks run even when the shape has problems, so that one answer
        // lists everything that can be known.
        let mut problems = parsed.as_ref().err().cloned().unwrap_or_default();
        let dept_code = body.get("department_code").and_then(Value::as_str);
        let mut dept = None;
        if let Some(code) = dept_code.filter(|c| !c.trim().is_empty()) {
            match self.iam.department_by_code(tenant, code).await? {
                Some(d) => {
                    let (_, path) = self
                        .iam
                        .department_with_path(d.id)
                        .await?
                        .ok_or_else(|| Error::internal("department vanished"))?;
                    dept = Some(Dept {
                        department: d,
                        path,
                    });
                }
                None => problems.push(problem(
                    "/department_code",
                    format!("no department {code:?} in tenant {tenant:?}"),
                    format!("租户 {tenant:?} 中没有部门 {code:?}"),
                )),
            }
        }
        if let Some(code) = body.get("code").and_then(Value::as_str) {
            if let Some((division, ..)) = validate::code_parts(code) {
                if self
                    .iam
                    .jurisdiction_by_code(tenant, division)
                    .await?
                    .is_none()
                {
                    problems.push(problem(
                        "/code",
                        format!("the division element {division} names no jurisdiction of tenant {tenant:?}"),
                        format!("区划位 {division} 不是租户 {tenant:?} 的行政区划"),
                    ));
                }
            }
        }
        match (parsed, dept) {
            (Ok(b), Some(d)) if problems.is_empty() => Ok((b, d)),
            _ => Err(invalid(problems)),
        }
    }

    fn may_edit(p: &Principal, tenant: &str, dept: &Dept) -> bool {
        p.can_at(Permission::ServiceAdmin, tenant, &dept.path)
    }

    fn check_edit(p: &Principal, tenant: &str, dept: &Dept) -> Result<()> {
        if Self::may_edit(p, tenant, dept) {
            Ok(())
        } else {
            Err(Error::forbidden(format!(
                "editing items of department {} needs service_admin over its jurisdiction",
                dept.department.code
            )))
        }
    }

    async fn dept_by_id(&self, id: uuid::Uuid) -> Result<Dept> {
        let (department, path) = self
            .iam
            .department_with_path(id)
            .await?
            .ok_or_else(|| Error::internal("an item's department is gone"))?;
        Ok(Dept { department, path })
    }

    fn item_from(&self, row: &ItemRow, v: &VersionRow, dept: &Dept) -> Result<Item> {
        let body: ItemBody = serde_json::from_str(&v.body).map_err(Error::internal)?;
        Ok(Item {
            tenant: row.tenant.clone(),
            version: v.version,
            latest_version: row.latest_version,
            published_version: row.published_version,
            state: ItemState::parse(&row.state)
                .ok_or_else(|| Error::internal("unknown item state"))?,
            version_created_at: rfc3339(v.created_at),
            version_created_by: v.created_by.clone(),
            published_at: v.published_at.map(rfc3339),
            department: dept.reference(),
            body,
        })
    }

    /// Creates an item: version 1, a draft. `body` is an [`ItemBody`] as JSON.
    ///
    /// Errors: `invalid_input` with `errors` (every problem); `forbidden` without
    /// `service_admin` over the department; `conflict` when the code is taken in the
    /// tenant; `tenant_not_found`.
    pub async fn create_item(&self, p: &Principal, tenant: &str, body: &Value) -> Result<Item> {
        self.iam.tenant_unchecked(tenant).await?;
        let (b, dept) = self.checked_body(tenant, body).await?;
        Self::check_edit(p, tenant, &dept)?;
        let now = now_micros();
        let mut tx = self.iam.db().begin().await?;
        if store::item(&mut tx, tenant, &b.code).await?.is_some() {
            return Err(Error::conflict(format!(
                "service item {:?} already exists in {tenant:?}",
                b.code
            )));
        }
        store::insert_item(&mut tx, tenant, &b.code, dept.department.id, now).await?;
        self.write_version(&mut tx, p, tenant, &b, &dept, 1, "create", now)
            .await?;
        let item = self.read_in(&mut tx, tenant, &b.code, 1, &dept).await?;
        self.audit(&mut tx, p, "create", &item, None).await?;
        tx.commit().await?;
        self.iam.bus().poke();
        Ok(item)
    }

    /// Writes a new version of an item (its state is kept: a published item keeps showing
    /// its published version until the new one is published). `base_version`, when given,
    /// must be the newest version (optimistic concurrency).
    ///
    /// Errors: as [`Hall::create_item`]; `not_found`; `conflict` when `base_version` is
    /// stale; `invalid_input` when the body's code is not `code`.
    pub async fn update_item(
        &self,
        p: &Principal,
        tenant: &str,
        code: &str,
        body: &Value,
        base_version: Option<i64>,
    ) -> Result<Item> {
        self.iam.tenant_unchecked(tenant).await?;
        let current = store::item(self.iam.db(), tenant, code)
            .await?
            .ok_or_else(|| item_not_found(code))?;
        let old_dept = self.dept_by_id(current.department_id).await?;
        if !Self::may_edit(p, tenant, &old_dept) {
            // Editors of other departments do not learn that the item exists.
            return Err(if p.has(Permission::ServiceAdmin) {
                item_not_found(code)
            } else {
                Error::forbidden("editing service items needs service_admin")
            });
        }
        if body.get("code").and_then(Value::as_str) != Some(code) {
            return Err(invalid(vec![problem(
                "/code",
                format!("must be {code:?}, the code of the item being edited"),
                format!("应为所编辑事项的编码 {code:?}"),
            )]));
        }
        let (b, dept) = self.checked_body(tenant, body).await?;
        Self::check_edit(p, tenant, &dept)?;
        let now = now_micros();
        let mut tx = self.iam.db().begin().await?;
        let row = store::item_for_update(&mut tx, tenant, code)
            .await?
            .ok_or_else(|| item_not_found(code))?;
        if let Some(base) = base_version {
            if base != row.latest_version {
                return Err(Error::conflict(format!(
                    "the item is at version {}, not {base}: reload and edit again",
                    row.latest_version
                )));
            }
        }
        let before = self
            .read_in(&mut tx, tenant, code, row.latest_version, &old_dept)
            .await?;
        let next = row.latest_version + 1;
        self.write_version(&mut tx, p, tenant, &b, &dept, next, "update", now)
            .await?;
        store::set_latest(&mut tx, tenant, code, next, dept.department.id, now).await?;
        let item = self.read_in(&mut tx, tenant, code, next, &dept).await?;
        self.audit(&mut tx, p, "update", &item, Some(&before))
            .await?;
        tx.commit().await?;
        self.iam.bus().poke();
        Ok(item)
    }

    /// Publishes a version (default: the newest): the hall and the guide show it.
    ///
    /// Errors: `not_found` (item or version); `forbidden` without `service_admin` over
    /// the department.
    pub async fn publish_item(
        &self,
        p: &Principal,
        tenant: &str,
        code: &str,
        version: Option<i64>,
    ) -> Result<Item> {
        self.change_state(p, tenant, code, Some(version)).await
    }

    /// Withdraws an item from the hall (its versions stay; publishing again brings it
    /// back). Errors: as [`Hall::publish_item`]; `conflict` when it is not published.
    pub async fn withdraw_item(&self, p: &Principal, tenant: &str, code: &str) -> Result<Item> {
        self.change_state(p, tenant, code, None).await
    }

    /// `publish = Some(version)` publishes, `None` withdraws.
    async fn change_state(
        &self,
        p: &Principal,
        tenant: &str,
        code: &str,
        publish: Option<Option<i64>>,
    ) -> Result<Item> {
        self.iam.tenant_unchecked(tenant).await?;
        let current = store::item(self.iam.db(), tenant, code)
            .await?
            .ok_or_else(|| item_not_found(code))?;
        let dept = self.dept_by_id(current.department_id).await?;
        if !Self::may_edit(p, tenant, &dept) {
            return Err(if p.has(Permission::ServiceAdmin) {
                item_not_found(code)
            } else {
                Error::forbidden("publishing service items needs service_admin")
            });
        }
        let now = now_micros();
        let actor = p.actor();
        let mut tx = self.iam.db().begin().await?;
        let row = store::item_for_update(&mut tx, tenant, code)
            .await?
            .ok_or_else(|| item_not_found(code))?;
        let before_version = row.published_version.unwrap_or(row.latest_version);
        let before = self
            .read_in(&mut tx, tenant, code, before_version, &dept)
            .await?;
        let (change, version) = match publish {
            Some(v) => {
                let v = v.unwrap_or(row.latest_version);
                if store::version(&mut tx, tenant, code, v).await?.is_none() {
                    return Err(Error::not_found(format!(
                        "service item {code:?} has no version {v}"
                    )));
                }
                store::stamp_published(&mut tx, tenant, code, v, &actor, now).await?;
                store::set_state(&mut tx, tenant, code, "published", Some(v), now).await?;
                ("publish", v)
            }
            None => {
                let Some(v) = row.published_version.filter(|_| row.state == "published") else {
                    return Err(Error::conflict(format!(
                        "service item {code:?} is not published"
                    )));
                };
                store::set_state(&mut tx, tenant, code, "withdrawn", None, now).await?;
                ("withdraw", v)
            }
        };
        let item = self.read_in(&mut tx, tenant, code, version, &dept).await?;
        self.audit(&mut tx, p, change, &item, Some(&before)).await?;
        tx.commit().await?;
        self.iam.bus().poke();
        Ok(item)
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_version(
        &self,
        tx: &mut Tx,
        p: &Principal,
        tenant: &str,
        b: &ItemBody,
        dept: &Dept,
        version: i64,
        change: &str,
        now: i64,
    ) -> Result<()> {
        let actor = p.actor();
        store::insert_version(
            &mut *tx,
            &store::NewVersion {
                tenant,
                code: &b.code,
                version,
                department_id: dept.department.id,
                department_code: &dept.department.code,
                name: &b.name.zh,
                name_en: &b.name.en,
                item_type: b.item_type.as_str(),
                level: b.level.as_str(),
                targets: comma_list(&b.targets, Target::as_str),
                life_events: comma_list(&b.life_events, LifeEvent::as_str),
                body: serde_json::to_string(b).map_err(Error::internal)?,
                change,
                created_by: &actor,
                now,
            },
        )
        .await
    }

    async fn read_in(
        &self,
        tx: &mut Tx,
        tenant: &str,
        code: &str,
        version: i64,
        dept: &Dept,
    ) -> Result<Item> {
        let row = store::item(&mut *tx, tenant, code)
            .await?
            .ok_or_else(|| item_not_found(code))?;
        let v = store::version(&mut *tx, tenant, code, version)
            .await?
            .ok_or_else(|| Error::internal("item version vanished"))?;
        self.item_from(&row, &v, dept)
    }

    async fn audit(
        &self,
        tx: &mut Tx,
        p: &Principal,
        change: &str,
        item: &Item,
        before: Option<&Item>,
    ) -> Result<()> {
        let after = serde_json::to_value(item).map_err(Error::internal)?;
        let before = before
            .map(serde_json::to_value)
            .transpose()
            .map_err(Error::internal)?;
        let action = format!("service_item.{change}");
        let detail = format!("version {}", item.version);
        self.iam
            .record(
                tx,
                &AuditEntry {
                    tenant: &item.tenant,
                    actor: &p.actor(),
                    action: &action,
                    resource_type: "service_item",
                    resource_id: &item.body.code,
                    before: before.as_ref(),
                    after: Some(&after),
                    detail: Some(&detail),
                },
                Some(EventEnvelope::new(
                    Some(&item.tenant),
                    PlatformEvent::ServiceItemChanged {
                        code: item.body.code.clone(),
                        change: change.to_string(),
                        version: item.version,
                    },
                )),
            )
            .await
    }

    /// An item as `viewer` may see it (`None`: anonymous). The published version needs no
    /// login; the latest or a never-published version needs `service_admin` over the
    /// department.
    ///
    /// Errors: `not_found` (no such item or version, or not visible); `tenant_not_found`.
    pub async fn item(
        &self,
        viewer: Option<&Principal>,
        tenant: &str,
        code: &str,
        sel: VersionSel,
    ) -> Result<Item> {
        self.iam.tenant_unchecked(tenant).await?;
        let db = self.iam.db();
        let row = store::item(db, tenant, code)
            .await?
            .ok_or_else(|| item_not_found(code))?;
        let dept = self.dept_by_id(row.department_id).await?;
        let editor = viewer.is_some_and(|p| Self::may_edit(p, tenant, &dept));
        let public = row.state == "published";
        let version = match sel {
            VersionSel::Published => match row.published_version.filter(|_| public) {
                Some(v) => v,
                None if editor => row.latest_version,
                None => return Err(item_not_found(code)),
            },
            VersionSel::Latest if editor => row.latest_version,
            VersionSel::Latest => return Err(item_not_found(code)),
            VersionSel::Number(n) => n,
        };
        let v = store::version(db, tenant, code, version)
            .await?
            .ok_or_else(|| {
                Error::not_found(format!("service item {code:?} has no version {version}"))
            })?;
        // A version that was never published is a draft: editors only. A version published
        // once stays readable while the item is public (the guide of an older version).
        let once_published = public && v.published_at.is_some();
        if !(editor || once_published) {
            return Err(item_not_found(code));
        }
        let dept_v = if v.department_id == dept.department.id {
            dept
        } else {
            self.dept_by_id(v.department_id).await?
        };
        self.item_from(&row, &v, &dept_v)
    }

    /// The versions of an item, newest first: every version for editors, the published
    /// ones for anyone else (while the item is public).
    ///
    /// Errors: as [`Hall::item`].
    pub async fn item_history(
        &self,
        viewer: Option<&Principal>,
        tenant: &str,
        code: &str,
    ) -> Result<Vec<ItemVersion>> {
        self.iam.tenant_unchecked(tenant).await?;
        let db = self.iam.db();
        let row = store::item(db, tenant, code)
            .await?
            .ok_or_else(|| item_not_found(code))?;
        let dept = self.dept_by_id(row.department_id).await?;
        let editor = viewer.is_some_and(|p| Self::may_edit(p, tenant, &dept));
        if !editor && row.state != "published" {
            return Err(item_not_found(code));
        }
        let mut out = Vec::new();
        for v in store::versions(db, tenant, code).await? {
            if !editor && v.published_at.is_none() {
                continue;
            }
            let body: ItemBody = serde_json::from_str(&v.body).map_err(Error::internal)?;
            out.push(ItemVersion {
                version: v.version,
                change: v.change,
                created_by: v.created_by,
                created_at: rfc3339(v.created_at),
                published_at: v.published_at.map(rfc3339),
                published_by: v.published_by,
                current: row.state == "published" && row.published_version == Some(v.version),
                name: body.name,
            });
        }
        Ok(out)
    }

    /// Items of a tenant in code order, filtered: the published version of each public
    /// item, or (`drafts=true`, editors over the whole tenant) the newest version of every
    /// item.
    ///
    /// Errors: `invalid_query` (unknown life event, target or type; bad limit);
    /// `invalid_cursor`; `forbidden` (`drafts` without `service_admin` over the tenant);
    /// `tenant_not_found`.
    pub async fn list_items(
        &self,
        viewer: Option<&Principal>,
        tenant: &str,
        q: &ItemQuery,
    ) -> Result<Page<ItemSummary>> {
        let t = self.iam.tenant_unchecked(tenant).await?;
        let latest = q.drafts.unwrap_or(false);
        if latest {
            let root = self
                .iam
                .jurisdiction_unchecked(tenant, t.root_jurisdiction_id)
                .await?;
            if !viewer.is_some_and(|p| p.can_at(Permission::ServiceAdmin, tenant, &root.path)) {
                return Err(Error::forbidden(
                    "listing drafts needs service_admin over the whole tenant",
                ));
            }
        }
        let bad = |what: &str, v: &str, names: String| {
            Error::new(
                onecity_core::ErrorCode::InvalidQuery,
                format!("{what} {v:?} is not one of: {names}"),
            )
        };
        let life_event = match q.life_event.as_deref().filter(|s| !s.is_empty()) {
            Some(e) => Some(
                LifeEvent::parse(e)
                    .ok_or_else(|| bad("life_event", e, LifeEvent::names()))?
                    .as_str(),
            ),
            None => None,
        };
        let target = match q.target.as_deref().filter(|s| !s.is_empty()) {
            Some(e) => Some(
                Target::parse(e)
                    .ok_or_else(|| bad("target", e, Target::names()))?
                    .as_str(),
            ),
            None => None,
        };
        let item_type = match q.item_type.as_deref().filter(|s| !s.is_empty()) {
            Some(e) => Some(
                ItemType::parse(e)
                    .ok_or_else(|| bad("type", e, ItemType::names()))?
                    .as_str(),
            ),
            None => None,
        };
        let text =
            q.q.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_lowercase);
        if text.as_ref().is_some_and(|t| t.chars().count() > 100) {
            return Err(Error::new(
                onecity_core::ErrorCode::InvalidQuery,
                "q is longer than 100 characters",
            ));
        }
        let page = PageQuery {
            limit: q.limit,
            cursor: q.cursor.clone(),
        };
        let limit = page.limit()?;
        let after: Option<String> = page.after()?;
        let rows = store::list(
            self.iam.db(),
            tenant,
            &ListFilter {
                latest,
                department_code: q.department.as_deref().filter(|s| !s.is_empty()),
                life_event,
                target,
                item_type,
                text: text.as_deref(),
                after: after.as_deref(),
                limit: limit + 1,
            },
        )
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        for r in rows {
            let b: ItemBody = serde_json::from_str(&r.body).map_err(Error::internal)?;
            items.push(ItemSummary {
                code: b.code,
                name: b.name,
                item_type: b.item_type,
                level: b.level,
                department_code: b.department_code,
                targets: b.targets,
                life_events: b.life_events,
                channels: b.channels,
                promised_days: b.time_limits.promised_days,
                version: r.version,
                state: ItemState::parse(&r.state)
                    .ok_or_else(|| Error::internal("unknown item state"))?,
            });
        }
        Ok(Page::from_overfetch(items, limit, |s| s.code.clone()))
    }

    /// Counts of the published items of a tenant by department, life event and target
    /// (the hall's browse lists). Public. Errors: `tenant_not_found`.
    pub async fn browse(&self, tenant: &str) -> Result<Browse> {
        let t = self.iam.tenant_unchecked(tenant).await?;
        let rows = store::published_facets(self.iam.db(), tenant).await?;
        let mut depts: BTreeMap<String, i64> = BTreeMap::new();
        let mut events: BTreeMap<&'static str, i64> = BTreeMap::new();
        let mut targets: BTreeMap<&'static str, i64> = BTreeMap::new();
        for r in &rows {
            *depts.entry(r.department_code.clone()).or_default() += 1;
            for e in r.life_events.split(',').filter_map(LifeEvent::parse) {
                *events.entry(e.as_str()).or_default() += 1;
            }
            for e in r.targets.split(',').filter_map(Target::parse) {
                *targets.entry(e.as_str()).or_default() += 1;
            }
        }
        let mut departments = Vec::new();
        for (code, count) in depts {
            let name = match self.iam.department_by_code(tenant, &code).await? {
                Some(d) => Text {
                    en: d.name_en.unwrap_or_else(|| d.name.clone()),
                    zh: d.name,
                },
                None => Text {
                    zh: code.clone(),
                    en: code.clone(),
                },
            };
            departments.push(FacetCount {
                key: code,
                name,
                count,
            });
        }
        let labelled = |key: &'static str, count: i64, zh: &str, en: &str| FacetCount {
            key: key.to_string(),
            name: Text {
                zh: zh.to_string(),
                en: en.to_string(),
            },
            count,
        };
        Ok(Browse {
            tenant: t.code.clone(),
            tenant_name: Text {
                en: t.name_en.clone().unwrap_or_else(|| t.name.clone()),
                zh: t.name.clone(),
            },
            items: rows.len() as i64,
            departments,
            life_events: LifeEvent::ALL
                .iter()
                .filter_map(|e| {
                    events
                        .get(e.as_str())
                        .map(|n| labelled(e.as_str(), *n, e.label(Lang::Zh), e.label(Lang::En)))
                })
                .collect(),
            targets: Target::ALL
                .iter()
                .filter_map(|e| {
                    targets
                        .get(e.as_str())
                        .map(|n| labelled(e.as_str(), *n, e.label(Lang::Zh), e.label(Lang::En)))
                })
                .collect(),
        })
    }

    /// Every published item of a tenant at its published version, in code order (for
    /// indexes: the assistant's search reads the hall through this, and listens to
    /// `ServiceItemChanged` for changes). Public data. Errors: `tenant_not_found`.
    pub async fn published_items(&self, tenant: &str) -> Result<Vec<Item>> {
        let mut out = Vec::new();
        let mut q = ItemQuery {
            limit: Some(500),
            ..Default::default()
        };
        loop {
            let page = self.list_items(None, tenant, &q).await?;
            for s in &page.items {
                out.push(
                    self.item(None, tenant, &s.code, VersionSel::Published)
                        .await?,
                );
            }
            match page.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// The tenants that have published items (the hall's tenant choice). Public.
    pub async fn hall_tenants(&self) -> Result<Vec<HallTenant>> {
        let mut out = Vec::new();
        for r in store::tenants_with_items(self.iam.db()).await? {
            let t = self.iam.tenant_unchecked(&r.tenant).await?;
            out.push(HallTenant {
                code: t.code,
                name: Text {
                    en: t.name_en.unwrap_or_else(|| t.name.clone()),
                    zh: t.name,
                },
                items: r.n,
            });
        }
        Ok(out)
    }

    /// Makes `body` the published content of its item, writing only what differs: creates
    /// the item, or writes a new version when the newest differs, then publishes the
    /// newest version unless it already is the published one. Loading the same catalog
    /// twice changes nothing (the demo's idempotent load).
    ///
    /// Errors: as [`Hall::create_item`] and [`Hall::update_item`].
    pub async fn put_published(
        &self,
        p: &Principal,
        tenant: &str,
        body: &ItemBody,
    ) -> Result<PutOutcome> {
        let json = serde_json::to_value(body).map_err(Error::internal)?;
        let Some(row) = store::item(self.iam.db(), tenant, &body.code).await? else {
            self.create_item(p, tenant, &json).await?;
            self.publish_item(p, tenant, &body.code, None).await?;
            return Ok(PutOutcome::Created);
        };
        let latest = store::version(self.iam.db(), tenant, &body.code, row.latest_version)
            .await?
            .ok_or_else(|| Error::internal("item version vanished"))?;
        let same: bool = serde_json::from_str::<ItemBody>(&latest.body)
            .map(|b| b == *body)
            .unwrap_or(false);
        let outcome = if !same {
            self.update_item(p, tenant, &body.code, &json, Some(row.latest_version))
                .await?;
            PutOutcome::Updated
        } else if row.state != "published" || row.published_version != Some(row.latest_version) {
            PutOutcome::Published
        } else {
            return Ok(PutOutcome::Unchanged);
        };
        self.publish_item(p, tenant, &body.code, None).await?;
        Ok(outcome)
    }
}
