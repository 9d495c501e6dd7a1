//! SQL of the organisation questions other crates ask about departments (the catalog's
//! owner departments and CKAN organizations): a department with its jurisdiction's path,
//! by id or all of them. Typed rows decoded through serde.

use onecity_core::model::Department;
use onecity_core::Result;
use onecity_store::{args, Executor};
use serde::Deserialize;
use uuid::Uuid;

/// A department joined with its jurisdiction's path.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DepartmentPathRow {
    pub id: Uuid,
    pub tenant: String,
    pub jurisdiction_id: Uuid,
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    /// The jurisdiction's path (ancestor ids and its own, `/`-joined).
    pub path: String,
}

impl DepartmentPathRow {
    /// The department and its jurisdiction's path.
    pub(crate) fn split(self) -> (Department, String) {
        (
            Department {
                id: self.id,
                tenant: self.tenant,
                jurisdiction_id: self.jurisdiction_id,
                code: self.code,
                name: self.name,
                name_en: self.name_en,
            },
            self.path,
        )
    }
}

/// The department `id` of any tenant, with its jurisdiction's path.
pub(crate) async fn department_with_path(
    mut ex: impl Executor,
    id: Uuid,
) -> Result<Option<DepartmentPathRow>> {
    ex.fetch_optional_as(
        "SELECT d.id, d.tenant, d.jurisdiction_id, d.code, d.name, d.name_en, j.path \
         FROM departments d JOIN jurisdictions j ON j.id = d.jurisdiction_id WHERE d.id = $1",
        args![id],
    )
    .await
}

/// Every department of every tenant with its jurisdiction's path, by code then tenant.
pub(crate) async fn departments_with_paths(
    mut ex: impl Executor,
) -> Result<Vec<DepartmentPathRow>> {
    ex.fetch_all_as(
        "SELECT d.id, d.tenant, d.jurisdiction_id, d.code, d.name, d.name_en, j.path \
         FROM departments d JOIN jurisdictions j ON j.id = d.jurisdiction_id \
         ORDER BY d.code, d.tenant",
        &[],
    )
    .await
}
