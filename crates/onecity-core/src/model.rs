//! Who is where: tenants, jurisdictions, departments and grids.
//!
//! A deployment holds tenants; each tenant is the root of a jurisdiction tree whose levels
//! are data (`"province"`, `"city"`, `"district"`, `"street"`, `"community"`; or `"state"`,
//! `"city"`, `"borough"`, …). Official codes follow GB/T 2260 (6 digits, to county level)
//! and the 12-digit statistical division codes below it in China; elsewhere they are free
//! codes. A jurisdiction's `path` lists its ancestors' ids and its own, `/`-separated, so
//! that "is X inside the subtree of Y" is a prefix test.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A tenant: one province, city or organisation using the deployment.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tenant {
    /// Tenant id (UUIDv7).
    pub id: Uuid,
    /// Short code used in URLs, e.g. `hangzhou`.
    pub code: String,
    /// Name in the local language (e.g. `杭州市`).
    pub name: String,
    /// English name, when known.
    pub name_en: Option<String>,
    /// The root of this tenant's jurisdiction tree.
    pub root_jurisdiction_id: Uuid,
}

/// A node of a tenant's jurisdiction tree.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jurisdiction {
    /// Jurisdiction id (UUIDv7).
    pub id: Uuid,
    /// Code of the owning tenant.
    pub tenant: String,
    /// Parent node; `null` for the tenant's root.
    pub parent_id: Option<Uuid>,
    /// Level name (data, not an enum): `city`, `district`, `borough`, `suburb`, …
    pub level: String,
    /// Official code (GB/T 2260 / statistical division code in China; free elsewhere).
    pub code: String,
    /// Name in the local language.
    pub name: String,
    /// English name, when known.
    pub name_en: Option<String>,
    /// Ancestor ids and own id, `/`-separated, root first.
    pub path: String,
    /// Whether a boundary geometry is stored for it.
    pub has_boundary: bool,
}

/// A department (e.g. 城管局 urban management bureau) belonging to a jurisdiction.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Department {
    /// Department id (UUIDv7).
    pub id: Uuid,
    /// Code of the owning tenant.
    pub tenant: String,
    /// The jurisdiction the department serves.
    pub jurisdiction_id: Uuid,
    /// Department code, unique within the tenant.
    pub code: String,
    /// Name in the local language.
    pub name: String,
    /// English name, when known.
    pub name_en: Option<String>,
}

/// A grid (网格): a polygon of grid management under any jurisdiction level.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Grid {
    /// Grid id (UUIDv7).
    pub id: Uuid,
    /// Code of the owning tenant.
    pub tenant: String,
    /// The jurisdiction the grid lies in.
    pub jurisdiction_id: Uuid,
    /// Grid code, unique within the tenant.
    pub code: String,
    /// Display name.
    pub name: String,
    /// True when the grid was generated (e.g. a square lattice clipped to a district),
    /// not surveyed.
    pub generated: bool,
}

/// Tests whether `path` lies in the subtree rooted at the node whose path is `root_path`.
pub fn path_within(path: &str, root_path: &str) -> bool {
    path == root_path
        || (path.len() > root_path.len()
            && path.starts_with(root_path)
            && path.as_bytes()[root_path.len()] == b'/')
}

#[cfg(test)]
mod tests {
    #[test]
    fn subtree() {
        assert!(super::path_within("a/b/c", "a/b"));
        assert!(super::path_within("a/b", "a/b"));
        assert!(!super::path_within("a/bc", "a/b"));
        assert!(!super::path_within("a", "a/b"));
    }
}
