//! Tenants, the jurisdiction tree and departments.

use crate::store::tenants as store;
use crate::{Iam, Permission, Principal, SYSTEM_TENANT};
use onecity_core::events::{EventEnvelope, PlatformEvent};
use onecity_core::model::{Department, Jurisdiction, Tenant};
use onecity_core::page::{Page, PageQuery};
use onecity_core::{validate, Error, ErrorCode, Result};
use onecity_store::audit::AuditEntry;
use onecity_store::{Executor, Tx};
use serde::Deserialize;
use uuid::Uuid;

/// Input of tenant creation: the tenant and its root jurisdiction.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// URL code, e.g. `hangzhou` (ASCII letters, digits, `-_.`).
    pub code: String,
    /// Local name, e.g. `杭州市`.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Level of the root node, e.g. `city` (default `city`).
    pub root_level: Option<String>,
    /// Official code of the root node, e.g. `330100` (default: the tenant code).
    pub root_code: Option<String>,
}

/// Input of jurisdiction creation.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJurisdiction {
    /// Parent node (default: the tenant's root).
    pub parent_id: Option<Uuid>,
    /// Level name, e.g. `district`, `street`, `borough`.
    pub level: String,
    /// Official code (GB/T 2260 or statistical division code in China), unique in the tenant.
    pub code: String,
    /// Local name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
}

/// Input of department creation.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDepartment {
    /// Jurisdiction the department serves.
    pub jurisdiction_id: Uuid,
    /// Code, unique in the tenant.
    pub code: String,
    /// Local name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
}

fn check_names(name: &str, name_en: Option<&str>) -> Result<()> {
    validate::text("name", name, 200)?;
    if let Some(n) = name_en {
        validate::text("name_en", n, 200)?;
    }
    Ok(())
}

/// The caller's subtrees for `perm` in `tenant` (`Some(None)`: all of them), or `None` when
/// the caller sees nothing.
fn visible_subtrees(p: &Principal, perm: Permission, tenant: &str) -> Option<Option<Vec<String>>> {
    match p.subtrees(perm, tenant) {
        Some(roots) if roots.is_empty() => None,
        roots => Some(roots),
    }
}

impl Iam {
    /// Resolves a tenant by code, checking the caller may see it.
    ///
    /// Errors: `tenant_not_found` when it does not exist or is not the caller's.
    pub async fn tenant(&self, p: &Principal, code: &str) -> Result<Tenant> {
        let t = self.tenant_unchecked(code).await?;
        if !p.sees_tenant(code) {
            return Err(Error::new(
                ErrorCode::TenantNotFound,
                format!("no tenant {code:?}"),
            ));
        }
        Ok(t)
    }

    /// Resolves a tenant by code without a caller (CLI, importers).
    pub async fn tenant_unchecked(&self, code: &str) -> Result<Tenant> {
        if let Some(t) = self.inner.tenants.lock().expect("tenant cache").get(code) {
            return Ok(t.clone());
        }
        let t = store::tenant_by_code(&self.inner.db, code)
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::TenantNotFound,
                    format!("no tenant {:?}", code.chars().take(64).collect::<String>()),
                )
            })?;
        self.inner
            .tenants
            .lock()
            .expect("tenant cache")
            .insert(code.to_string(), t.clone());
        Ok(t)
    }

    /// Lists the tenants the caller may see, by code.
    pub async fn list_tenants(&self, p: &Principal, page: &PageQuery) -> Result<Page<Tenant>> {
        let limit = page.limit()?;
        let after: String = page.after()?.unwrap_or_default();
        let items = store::tenants_after(&self.inner.db, &after, limit + 1)
            .await?
            .into_iter()
            .filter(|t| p.sees_tenant(&t.code))
            .collect();
        Ok(Page::from_overfetch(items, limit, |t: &Tenant| {
            t.code.clone()
        }))
    }

    /// Creates a tenant and its root jurisdiction. Needs `tenant_write` (platform admins).
    pub async fn create_tenant(&self, actor: &str, t: &NewTenant) -> Result<Tenant> {
        validate::code("code", &t.code)?;
        if t.code.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(Error::invalid(
                "tenant codes are lower case (they appear in URLs)",
            ));
        }
        if t.code.starts_with('_') {
            return Err(Error::invalid("tenant codes may not start with '_'"));
        }
        check_names(&t.name, t.name_en.as_deref())?;
        let level = t.root_level.clone().unwrap_or_else(|| "city".into());
        validate::code("root_level", &level)?;
        let root_code = t.root_code.clone().unwrap_or_else(|| t.code.clone());
        validate::code("root_code", &root_code)?;
        let tenant_id = onecity_core::new_id();
        let root = onecity_core::new_id();
        let now = onecity_core::time::now_micros();
        let tenant = Tenant {
            id: tenant_id,
            code: t.code.clone(),
            name: t.name.clone(),
            name_en: t.name_en.clone(),
            root_jurisdiction_id: root,
        };
        let root_node = Jurisdiction {
            id: root,
            tenant: t.code.clone(),
            parent_id: None,
            level,
            code: root_code,
            name: t.name.clone(),
            name_en: t.name_en.clone(),
            path: root.to_string(),
            has_boundary: false,
        };
        let mut tx = self.inner.db.begin().await?;
        store::insert_tenant(&mut tx, &tenant, now).await?;
        store::insert_jurisdiction(&mut tx, &root_node, 0, now).await?;
        let after = serde_json::to_value(&tenant).map_err(Error::internal)?;
        self.record(
            &mut tx,
            &AuditEntry {
                tenant: SYSTEM_TENANT,
                actor,
                action: "tenant.create",
                resource_type: "tenant",
                resource_id: &t.code,
                after: Some(&after),
                ..Default::default()
            },
            Some(EventEnvelope::new(
                Some(&t.code),
                PlatformEvent::TenantCreated {
                    code: t.code.clone(),
                },
            )),
        )
        .await?;
        tx.commit().await?;
        self.inner.bus.poke();
        Ok(tenant)
    }

    /// A jurisdiction by id (no access check; for services that check themselves).
    pub async fn jurisdiction_unchecked(&self, tenant: &str, id: Uuid) -> Result<Jurisdiction> {
        store::jurisdiction(&self.inner.db, tenant, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("jurisdiction {id} does not exist")))
    }

    /// A jurisdiction the caller may read. Errors: `not_found` (also when outside the
    /// caller's subtree, so its existence is not revealed).
    pub async fn jurisdiction(
        &self,
        p: &Principal,
        tenant: &str,
        id: Uuid,
    ) -> Result<Jurisdiction> {
        let j = self.jurisdiction_unchecked(tenant, id).await?;
        if !p.can_at(Permission::JurisdictionRead, tenant, &j.path) {
            return Err(Error::not_found(format!(
                "jurisdiction {id} does not exist"
            )));
        }
        Ok(j)
    }

    /// Every jurisdiction of a tenant (no access check; for indexes and importers).
    pub async fn all_jurisdictions(&self, tenant: &str) -> Result<Vec<Jurisdiction>> {
        store::jurisdictions_of(&self.inner.db, tenant).await
    }

    /// Lists the jurisdictions the caller may read, in creation order, optionally the
    /// children of one parent or one level.
    pub async fn list_jurisdictions(
        &self,
        p: &Principal,
        tenant: &str,
        parent_id: Option<Uuid>,
        level: Option<&str>,
        page: &PageQuery,
    ) -> Result<Page<Jurisdiction>> {
        self.tenant(p, tenant).await?;
        let limit = page.limit()?;
        let after: String = page.after()?.unwrap_or_default();
        let Some(roots) = visible_subtrees(p, Permission::JurisdictionRead, tenant) else {
            return Ok(Page {
                items: vec![],
                next_cursor: None,
            });
        };
        let items = store::jurisdictions_page(
            &self.inner.db,
            tenant,
            &after,
            parent_id,
            level,
            roots.as_deref(),
            limit + 1,
        )
        .await?;
        Ok(Page::from_overfetch(items, limit, |j| j.id.to_string()))
    }

    /// Creates a jurisdiction under `parent_id` (default: the root). Needs
    /// `jurisdiction_write` over the parent.
    pub async fn create_jurisdiction(
        &self,
        p: &Principal,
        tenant: &str,
        n: &NewJurisdiction,
    ) -> Result<Jurisdiction> {
        let t = self.tenant(p, tenant).await?;
        let parent = self
            .jurisdiction_unchecked(tenant, n.parent_id.unwrap_or(t.root_jurisdiction_id))
            .await
            .map_err(|_| Error::invalid("parent_id does not name a jurisdiction of this tenant"))?;
        if !p.can_at(Permission::JurisdictionWrite, tenant, &parent.path) {
            return Err(Error::forbidden(
                "you may not create jurisdictions under this parent",
            ));
        }
        let mut tx = self.inner.db.begin().await?;
        let j = self
            .insert_jurisdiction(&mut tx, &p.actor(), &parent, n)
            .await?;
        tx.commit().await?;
        self.inner.bus.poke();
        Ok(j)
    }

    /// Inserts a jurisdiction under `parent` inside `tx` (with audit and event).
    pub async fn insert_jurisdiction(
        &self,
        tx: &mut Tx,
        actor: &str,
        parent: &Jurisdiction,
        n: &NewJurisdiction,
    ) -> Result<Jurisdiction> {
        validate::code("level", &n.level)?;
        validate::code("code", &n.code)?;
        check_names(&n.name, n.name_en.as_deref())?;
        let id = onecity_core::new_id();
        let path = format!("{}/{id}", parent.path);
        let depth = path.matches('/').count() as i64;
        let j = Jurisdiction {
            id,
            tenant: parent.tenant.clone(),
            parent_id: Some(parent.id),
            level: n.level.clone(),
            code: n.code.clone(),
            name: n.name.clone(),
            name_en: n.name_en.clone(),
            path,
            has_boundary: false,
        };
        store::insert_jurisdiction(&mut *tx, &j, depth, onecity_core::time::now_micros())
            .await
            .map_err(|e| {
                if e.code == ErrorCode::Conflict {
                    Error::conflict(format!(
                        "jurisdiction code {:?} is already used in this tenant",
                        n.code
                    ))
                } else {
                    e
                }
            })?;
        let after = serde_json::to_value(&j).map_err(Error::internal)?;
        self.record(
            tx,
            &AuditEntry {
                tenant: &j.tenant,
                actor,
                action: "jurisdiction.create",
                resource_type: "jurisdiction",
                resource_id: &id.to_string(),
                after: Some(&after),
                ..Default::default()
            },
            Some(EventEnvelope::new(
                Some(&j.tenant),
                PlatformEvent::JurisdictionCreated {
                    id,
                    level: j.level.clone(),
                    code: j.code.clone(),
                },
            )),
        )
        .await?;
        Ok(j)
    }

    /// A jurisdiction by its official code (no access check).
    pub async fn jurisdiction_by_code(
        &self,
        tenant: &str,
        code: &str,
    ) -> Result<Option<Jurisdiction>> {
        self.jurisdiction_by_code_in(&self.inner.db, tenant, code)
            .await
    }

    /// [`jurisdiction_by_code`](Self::jurisdiction_by_code) through the caller's executor,
    /// e.g. inside an import's transaction that may have created the node.
    pub async fn jurisdiction_by_code_in(
        &self,
        mut ex: impl Executor,
        tenant: &str,
        code: &str,
    ) -> Result<Option<Jurisdiction>> {
        store::jurisdiction_by_code(&mut ex, tenant, code).await
    }

    /// Marks a jurisdiction as having a boundary, in the caller's transaction (the geo
    /// import writes the boundary in the same one).
    pub async fn set_has_boundary(&self, tx: &mut Tx, id: Uuid) -> Result<()> {
        store::set_has_boundary(tx, id).await
    }

    /// The code of every tenant (no access check; for indexes that cover every tenant).
    pub async fn tenant_codes(&self) -> Result<Vec<String>> {
        store::tenant_codes(&self.inner.db).await
    }

    /// Creates a department. Needs `department_write` over its jurisdiction.
    pub async fn create_department(
        &self,
        p: &Principal,
        tenant: &str,
        n: &NewDepartment,
    ) -> Result<Department> {
        self.tenant(p, tenant).await?;
        let j = self
            .jurisdiction_unchecked(tenant, n.jurisdiction_id)
            .await
            .map_err(|_| {
                Error::invalid("jurisdiction_id does not name a jurisdiction of this tenant")
            })?;
        if !p.can_at(Permission::DepartmentWrite, tenant, &j.path) {
            return Err(Error::forbidden(
                "you may not create departments in this jurisdiction",
            ));
        }
        validate::code("code", &n.code)?;
        check_names(&n.name, n.name_en.as_deref())?;
        let id = onecity_core::new_id();
        let d = Department {
            id,
            tenant: tenant.into(),
            jurisdiction_id: j.id,
            code: n.code.clone(),
            name: n.name.clone(),
            name_en: n.name_en.clone(),
        };
        let mut tx = self.inner.db.begin().await?;
        store::insert_department(&mut tx, &d, onecity_core::time::now_micros())
            .await
            .map_err(|e| {
                if e.code == ErrorCode::Conflict {
                    Error::conflict(format!(
                        "department code {:?} is already used in this tenant",
                        n.code
                    ))
                } else {
                    e
                }
            })?;
        let after = serde_json::to_value(&d).map_err(Error::internal)?;
        self.record(
            &mut tx,
            &AuditEntry {
                tenant,
                actor: &p.actor(),
                action: "department.create",
                resource_type: "department",
                resource_id: &id.to_string(),
                after: Some(&after),
                ..Default::default()
            },
            Some(EventEnvelope::new(
                Some(tenant),
                PlatformEvent::DepartmentCreated {
                    id,
                    jurisdiction_id: j.id,
                },
            )),
        )
        .await?;
        tx.commit().await?;
        self.inner.bus.poke();
        Ok(d)
    }

    /// Renames a department (local and English names; the code, which other systems key
    /// on, stays). Needs `department_write` over its jurisdiction. Writes an audit record.
    ///
    /// Errors: `not_found` (no such department in the tenant, or outside the caller's
    /// subtrees), `forbidden`, `invalid_input` (names empty or over 200 characters).
    pub async fn rename_department(
        &self,
        p: &Principal,
        tenant: &str,
        id: Uuid,
        name: &str,
        name_en: Option<&str>,
    ) -> Result<Department> {
        self.tenant(p, tenant).await?;
        check_names(name, name_en)?;
        let (before, path) = store::department_with_path(&self.inner.db, tenant, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("department {id} does not exist")))?;
        if !p.can_at(Permission::DepartmentWrite, tenant, &path) {
            return Err(Error::forbidden("you may not change this department"));
        }
        let mut tx = self.inner.db.begin().await?;
        store::rename_department(&mut tx, tenant, id, name, name_en).await?;
        let after = Department {
            name: name.to_string(),
            name_en: name_en.map(str::to_string),
            ..before.clone()
        };
        let before_v = serde_json::to_value(&before).map_err(Error::internal)?;
        let after_v = serde_json::to_value(&after).map_err(Error::internal)?;
        self.record(
            &mut tx,
            &AuditEntry {
                tenant,
                actor: &p.actor(),
                action: "department.rename",
                resource_type: "department",
                resource_id: &id.to_string(),
                before: Some(&before_v),
                after: Some(&after_v),
                ..Default::default()
            },
            None,
        )
        .await?;
        tx.commit().await?;
        self.inner.bus.poke();
        Ok(after)
    }

    /// A department the caller may read. Errors: `not_found` (also outside the subtree).
    pub async fn department(&self, p: &Principal, tenant: &str, id: Uuid) -> Result<Department> {
        self.tenant(p, tenant).await?;
        let (d, path) = store::department_with_path(&self.inner.db, tenant, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("department {id} does not exist")))?;
        if !p.can_at(Permission::DepartmentRead, tenant, &path) {
            return Err(Error::not_found(format!("department {id} does not exist")));
        }
        Ok(d)
    }

    /// A department by code (no access check).
    pub async fn department_by_code(&self, tenant: &str, code: &str) -> Result<Option<Department>> {
        store::department_by_code(&self.inner.db, tenant, code).await
    }

    /// Lists the departments the caller may read, in creation order.
    pub async fn list_departments(
        &self,
        p: &Principal,
        tenant: &str,
        jurisdiction_id: Option<Uuid>,
        page: &PageQuery,
    ) -> Result<Page<Department>> {
        self.tenant(p, tenant).await?;
        let limit = page.limit()?;
        let after: String = page.after()?.unwrap_or_default();
        let Some(roots) = visible_subtrees(p, Permission::DepartmentRead, tenant) else {
            return Ok(Page {
                items: vec![],
                next_cursor: None,
            });
        };
        let items = store::departments_page(
            &self.inner.db,
            tenant,
            &after,
            jurisdiction_id,
            roots.as_deref(),
            limit + 1,
        )
        .await?;
        Ok(Page::from_overfetch(items, limit, |d| d.id.to_string()))
    }
}
