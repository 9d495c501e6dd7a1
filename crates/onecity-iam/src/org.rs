//! Tenants, the jurisdiction tree and departments.

use crate::{Iam, Permission, Principal, SYSTEM_TENANT};
use onecity_core::events::{EventEnvelope, PlatformEvent};
use onecity_core::model::{Department, Jurisdiction, Tenant};
use onecity_core::page::{Page, PageQuery};
use onecity_core::{validate, Error, ErrorCode, Result};
use onecity_store::audit::AuditEntry;
use onecity_store::{args, Executor, Row, Tx, Val};
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

pub(crate) fn jurisdiction_from_row(r: &Row) -> Result<Jurisdiction> {
    Ok(Jurisdiction {
        id: r.uuid("id")?,
        tenant: r.text("tenant")?,
        parent_id: r.opt_uuid("parent_id")?,
        level: r.text("level")?,
        code: r.text("code")?,
        name: r.text("name")?,
        name_en: r.opt_text("name_en")?,
        path: r.text("path")?,
        has_boundary: r.bool("has_boundary")?,
    })
}

fn department_from_row(r: &Row) -> Result<Department> {
    Ok(Department {
        id: r.uuid("id")?,
        tenant: r.text("tenant")?,
        jurisdiction_id: r.uuid("jurisdiction_id")?,
        code: r.text("code")?,
        name: r.text("name")?,
        name_en: r.opt_text("name_en")?,
    })
}

fn tenant_from_row(r: &Row) -> Result<Tenant> {
    Ok(Tenant {
        id: r.uuid("id")?,
        code: r.text("code")?,
        name: r.text("name")?,
        name_en: r.opt_text("name_en")?,
        root_jurisdiction_id: r.uuid("root_jurisdiction_id")?,
    })
}

fn check_names(name: &str, name_en: Option<&str>) -> Result<()> {
    validate::text("name", name, 200)?;
    if let Some(n) = name_en {
        validate::text("name_en", n, 200)?;
    }
    Ok(())
}

/// Appends a SQL filter restricting `path` to the caller's subtrees; returns false when the
/// caller sees nothing.
fn subtree_filter(
    p: &Principal,
    perm: Permission,
    tenant: &str,
    sql: &mut String,
    a: &mut Vec<Val>,
    col: &str,
) -> bool {
    match p.subtrees(perm, tenant) {
        None => true,
        Some(roots) if roots.is_empty() => false,
        Some(roots) => {
            let mut parts = Vec::new();
            for r in roots {
                a.push(Val::from(r.clone()));
                let i = a.len();
                a.push(Val::from(format!("{r}/%")));
                parts.push(format!("({col} = ${i} OR {col} LIKE ${})", i + 1));
            }
            sql.push_str(&format!(" AND ({})", parts.join(" OR ")));
            true
        }
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
        let r = self
            .inner
            .db
            .fetch_optional("SELECT * FROM tenants WHERE code = $1", args![code])
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::TenantNotFound,
                    format!("no tenant {:?}", code.chars().take(64).collect::<String>()),
                )
            })?;
        let t = tenant_from_row(&r)?;
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
        let rows = self
            .inner
            .db
            .fetch_all(
                &format!(
                    "SELECT * FROM tenants WHERE code > $1 ORDER BY code LIMIT {}",
                    limit + 1
                ),
                args![after],
            )
            .await?;
        let items = rows
            .iter()
            .map(tenant_from_row)
            .collect::<Result<Vec<_>>>()?
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
        let mut tx = self.inner.db.begin().await?;
        tx.execute(
            "INSERT INTO tenants (id, code, name, name_en, root_jurisdiction_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            args![tenant_id, t.code.clone(), t.name.clone(), t.name_en.clone(), root, now],
        )
        .await?;
        tx.execute(
            "INSERT INTO jurisdictions (id, tenant, parent_id, level, code, name, name_en, path, depth, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9)",
            args![root, t.code.clone(), Option::<Uuid>::None, level, root_code, t.name.clone(), t.name_en.clone(), root.to_string(), now],
        )
        .await?;
        let tenant = Tenant {
            id: tenant_id,
            code: t.code.clone(),
            name: t.name.clone(),
            name_en: t.name_en.clone(),
            root_jurisdiction_id: root,
        };
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
        let r = self
            .inner
            .db
            .fetch_optional(
                "SELECT * FROM jurisdictions WHERE tenant = $1 AND id = $2",
                args![tenant, id],
            )
            .await?
            .ok_or_else(|| Error::not_found(format!("jurisdiction {id} does not exist")))?;
        jurisdiction_from_row(&r)
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
        self.inner
            .db
            .fetch_all(
                "SELECT * FROM jurisdictions WHERE tenant = $1 ORDER BY path",
                args![tenant],
            )
            .await?
            .iter()
            .map(jurisdiction_from_row)
            .collect()
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
        let mut sql = String::from("SELECT * FROM jurisdictions WHERE tenant = $1 AND id > $2");
        let mut a: Vec<Val> = vec![tenant.into(), after.into()];
        if let Some(pid) = parent_id {
            a.push(pid.into());
            sql.push_str(&format!(" AND parent_id = ${}", a.len()));
        }
        if let Some(l) = level {
            a.push(l.into());
            sql.push_str(&format!(" AND level = ${}", a.len()));
        }
        if !subtree_filter(
            p,
            Permission::JurisdictionRead,
            tenant,
            &mut sql,
            &mut a,
            "path",
        ) {
            return Ok(Page {
                items: vec![],
                next_cursor: None,
            });
        }
        sql.push_str(&format!(" ORDER BY id LIMIT {}", limit + 1));
        let rows = self.inner.db.fetch_all(&sql, &a).await?;
        let items = rows
            .iter()
            .map(jurisdiction_from_row)
            .collect::<Result<Vec<_>>>()?;
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
        tx.execute(
            "INSERT INTO jurisdictions (id, tenant, parent_id, level, code, name, name_en, path, depth, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            args![id, parent.tenant.clone(), parent.id, n.level.clone(), n.code.clone(), n.name.clone(), n.name_en.clone(), path.clone(), depth, onecity_core::time::now_micros()],
        )
        .await
        .map_err(|e| if e.code == ErrorCode::Conflict { Error::conflict(format!("jurisdiction code {:?} is already used in this tenant", n.code)) } else { e })?;
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
        ex.fetch_optional(
            "SELECT * FROM jurisdictions WHERE tenant = $1 AND code = $2",
            args![tenant, code],
        )
        .await?
        .as_ref()
        .map(jurisdiction_from_row)
        .transpose()
    }

    /// Marks a jurisdiction as having a boundary, in the caller's transaction (the geo
    /// import writes the boundary in the same one).
    pub async fn set_has_boundary(&self, tx: &mut Tx, id: Uuid) -> Result<()> {
        tx.execute(
            "UPDATE jurisdictions SET has_boundary = 1 WHERE id = $1",
            args![id],
        )
        .await?;
        Ok(())
    }

    /// The code of every tenant (no access check; for indexes that cover every tenant).
    pub async fn tenant_codes(&self) -> Result<Vec<String>> {
        self.inner
            .db
            .fetch_all("SELECT code FROM tenants ORDER BY code", &[])
            .await?
            .iter()
            .map(|r| r.text("code"))
            .collect()
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
        tx.execute(
            "INSERT INTO departments (id, tenant, jurisdiction_id, code, name, name_en, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![id, tenant, j.id, n.code.clone(), n.name.clone(), n.name_en.clone(), onecity_core::time::now_micros()],
        )
        .await
        .map_err(|e| if e.code == ErrorCode::Conflict { Error::conflict(format!("department code {:?} is already used in this tenant", n.code)) } else { e })?;
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

    /// A department the caller may read. Errors: `not_found` (also outside the subtree).
    pub async fn department(&self, p: &Principal, tenant: &str, id: Uuid) -> Result<Department> {
        self.tenant(p, tenant).await?;
        let r = self
            .inner
            .db
            .fetch_optional(
                "SELECT d.*, j.path AS jpath FROM departments d JOIN jurisdictions j ON j.id = d.jurisdiction_id WHERE d.tenant = $1 AND d.id = $2",
                args![tenant, id],
            )
            .await?
            .ok_or_else(|| Error::not_found(format!("department {id} does not exist")))?;
        if !p.can_at(Permission::DepartmentRead, tenant, &r.text("jpath")?) {
            return Err(Error::not_found(format!("department {id} does not exist")));
        }
        department_from_row(&r)
    }

    /// A department by code (no access check).
    pub async fn department_by_code(&self, tenant: &str, code: &str) -> Result<Option<Department>> {
        self.inner
            .db
            .fetch_optional(
                "SELECT * FROM departments WHERE tenant = $1 AND code = $2",
                args![tenant, code],
            )
            .await?
            .as_ref()
            .map(department_from_row)
            .transpose()
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
        let mut sql = String::from(
            "SELECT d.* FROM departments d JOIN jurisdictions j ON j.id = d.jurisdiction_id WHERE d.tenant = $1 AND d.id > $2",
        );
        let mut a: Vec<Val> = vec![tenant.into(), after.into()];
        if let Some(j) = jurisdiction_id {
            a.push(j.into());
            sql.push_str(&format!(" AND d.jurisdiction_id = ${}", a.len()));
        }
        if !subtree_filter(
            p,
            Permission::DepartmentRead,
            tenant,
            &mut sql,
            &mut a,
            "j.path",
        ) {
            return Ok(Page {
                items: vec![],
                next_cursor: None,
            });
        }
        sql.push_str(&format!(" ORDER BY d.id LIMIT {}", limit + 1));
        let items = self
            .inner
            .db
            .fetch_all(&sql, &a)
            .await?
            .iter()
            .map(department_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, limit, |d| d.id.to_string()))
    }
}
