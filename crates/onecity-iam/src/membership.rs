//! Narrow membership and contact questions other crates ask instead of reading iam's
//! tables (issue 11): is this id a user or a department of the tenant, where do these
//! principals receive e-mail, and which department (with its jurisdiction's path) is this.

use crate::{store, Iam};
use onecity_core::model::Department;
use onecity_core::Result;
use uuid::Uuid;

impl Iam {
    /// Whether `principal_id` names a principal of `tenant` (any kind, also a disabled
    /// one). No access check: the caller has already checked its own caller.
    pub async fn is_principal_of(&self, tenant: &str, principal_id: Uuid) -> Result<bool> {
        store::principal_in_tenant(self.db(), tenant, principal_id).await
    }

    /// Whether `department_id` names a department of `tenant`. No access check.
    pub async fn is_department_of(&self, tenant: &str, department_id: Uuid) -> Result<bool> {
        store::department_in_tenant(self.db(), tenant, department_id).await
    }

    /// The distinct e-mail addresses of the principals `principal_ids` (those without an
    /// address are skipped; order unspecified). No access check: for notification delivery.
    pub async fn emails_of(&self, principal_ids: &[Uuid]) -> Result<Vec<String>> {
        store::emails_of(self.db(), principal_ids).await
    }

    /// The department `id` of any tenant with its jurisdiction's path (for checks with
    /// `Principal::can_at`), or `None`. No access check: the caller checks its own caller.
    pub async fn department_with_path(&self, id: Uuid) -> Result<Option<(Department, String)>> {
        Ok(store::org::department_with_path(self.db(), id)
            .await?
            .map(store::org::DepartmentPathRow::split))
    }

    /// Every department of every tenant with its jurisdiction's path, ordered by code then
    /// tenant (the catalog's CKAN organizations). No access check.
    pub async fn departments_with_paths(&self) -> Result<Vec<(Department, String)>> {
        Ok(store::org::departments_with_paths(self.db())
            .await?
            .into_iter()
            .map(store::org::DepartmentPathRow::split)
            .collect())
    }
}
