//! Narrow membership and contact questions other crates ask instead of reading iam's
//! tables (issue 11): is this id a user or a department of the tenant, and where do these
//! principals receive e-mail.

use crate::{store, Iam};
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
}
