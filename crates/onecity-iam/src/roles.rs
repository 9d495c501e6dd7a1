//! Roles and permissions.
//!
//! A principal holds grants: a role over a jurisdiction subtree (and optionally one
//! department). A role is a named set of [`Permission`]s. An app key holds scopes, each the
//! wire name of a permission (`jurisdiction:read`), over the subtree it was issued for.

use serde::{Deserialize, Serialize};

/// Something a caller may do. `scope()` is the app-key scope that grants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Read jurisdictions and tenants.
    JurisdictionRead,
    /// Create and change jurisdictions.
    JurisdictionWrite,
    /// Read departments.
    DepartmentRead,
    /// Create and change departments.
    DepartmentWrite,
    /// Read users.
    UserRead,
    /// Create and change users and their roles.
    UserWrite,
    /// Create and revoke app keys.
    KeyWrite,
    /// Read the audit trail.
    AuditRead,
    /// Read boundaries, grids and lookups.
    GeoRead,
    /// Import boundaries and grids.
    GeoWrite,
    /// Create tenants (deployment level).
    TenantWrite,
    /// Define workflows, grant workflow roles, calendars, flow metrics.
    FlowAdmin,
    /// Read every case of a tenant (supervision), beyond one's own inbox.
    CaseRead,
    /// Read digital-twin entities and their history (NGSI-LD GET and queries).
    TwinRead,
    /// Create, change and delete digital-twin entities (NGSI-LD writes).
    TwinWrite,
    /// Read catalog entries not opened to the public and the three lists (数据目录).
    CatalogRead,
    /// Create and change datasets and list entries of departments in the subtree.
    CatalogWrite,
    /// Read the datastore tables of one's own department (and open ones).
    DatastoreRead,
    /// Create, load, change and delete datastore tables; keep the negative-list fallback.
    DatastoreWrite,
    /// Submit service requests through Open311 GeoReport v2 (the app-key scope `open311`).
    Open311,
    /// Enter, dispatch, merge and rate governance events (一网统管 staff work).
    EventWrite,
    /// Define governance categories, dispatch rules, settings, plans and alert rules.
    GovernanceAdmin,
}

impl Permission {
    /// Every permission.
    pub const ALL: &'static [Permission] = &[
        Self::JurisdictionRead,
        Self::JurisdictionWrite,
        Self::DepartmentRead,
        Self::DepartmentWrite,
        Self::UserRead,
        Self::UserWrite,
        Self::KeyWrite,
        Self::AuditRead,
        Self::GeoRead,
        Self::GeoWrite,
        Self::TenantWrite,
        Self::FlowAdmin,
        Self::CaseRead,
        Self::TwinRead,
        Self::TwinWrite,
        Self::CatalogRead,
        Self::CatalogWrite,
        Self::DatastoreRead,
        Self::DatastoreWrite,
        Self::Open311,
        Self::EventWrite,
        Self::GovernanceAdmin,
    ];

    /// The app-key scope naming this permission, e.g. `jurisdiction:read`.
    pub fn scope(self) -> &'static str {
        match self {
            Self::JurisdictionRead => "jurisdiction:read",
            Self::JurisdictionWrite => "jurisdiction:write",
            Self::DepartmentRead => "department:read",
            Self::DepartmentWrite => "department:write",
            Self::UserRead => "user:read",
            Self::UserWrite => "user:write",
            Self::KeyWrite => "key:write",
            Self::AuditRead => "audit:read",
            Self::GeoRead => "geo:read",
            Self::GeoWrite => "geo:write",
            Self::TenantWrite => "tenant:write",
            Self::FlowAdmin => "flow:admin",
            Self::CaseRead => "case:read",
            Self::TwinRead => "twin:read",
            Self::TwinWrite => "twin:write",
            Self::CatalogRead => "catalog:read",
            Self::CatalogWrite => "catalog:write",
            Self::DatastoreRead => "datastore:read",
            Self::DatastoreWrite => "datastore:write",
            Self::Open311 => "open311",
            Self::EventWrite => "event:write",
            Self::GovernanceAdmin => "governance:admin",
        }
    }

    /// Parses a scope name. `twin:read:<Type>` and `twin:write:<Type>` (an entity-type
    /// limited twin scope, see [`twin_type_scope`]) parse as `TwinRead` / `TwinWrite`.
    pub fn from_scope(s: &str) -> Option<Permission> {
        if let Some((p, _)) = twin_type_scope(s) {
            return Some(p);
        }
        Self::ALL.iter().copied().find(|p| p.scope() == s)
    }
}

/// Splits an entity-type limited twin scope `twin:read:<Type>` / `twin:write:<Type>` into
/// its permission and type (a short type name such as `WaterObserved`, or a full IRI).
pub fn twin_type_scope(s: &str) -> Option<(Permission, &str)> {
    let (p, t) = if let Some(t) = s.strip_prefix("twin:read:") {
        (Permission::TwinRead, t)
    } else {
        (Permission::TwinWrite, s.strip_prefix("twin:write:")?)
    };
    let ok = !t.is_empty()
        && t.len() <= 256
        && !t.chars().any(|c| {
            c.is_whitespace()
                || matches!(
                    c,
                    '<' | '>' | '"' | '\\' | '\'' | '=' | ';' | '(' | ')' | ','
                )
        });
    ok.then_some((p, t))
}

/// A built-in role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, in every tenant (the first `admin`).
    PlatformAdmin,
    /// Manages jurisdictions, departments, users and keys in its subtree; reads audit.
    TenantAdmin,
    /// Department staff: reads the organisation and geography of its subtree.
    Staff,
    /// Reads the audit trail of its subtree.
    Auditor,
}

impl Role {
    /// The role's permissions.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::PlatformAdmin => Permission::ALL,
            Role::TenantAdmin => &[
                JurisdictionRead,
                JurisdictionWrite,
                DepartmentRead,
                DepartmentWrite,
                UserRead,
                UserWrite,
                KeyWrite,
                AuditRead,
                GeoRead,
                GeoWrite,
                FlowAdmin,
                CaseRead,
                TwinRead,
                TwinWrite,
                CatalogRead,
                CatalogWrite,
                DatastoreRead,
                DatastoreWrite,
                Open311,
                EventWrite,
                GovernanceAdmin,
            ],
            Role::Staff => &[
                JurisdictionRead,
                DepartmentRead,
                UserRead,
                GeoRead,
                TwinRead,
                CatalogRead,
                DatastoreRead,
            ],
            Role::Auditor => &[JurisdictionRead, AuditRead],
        }
    }
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform_admin",
            Role::TenantAdmin => "tenant_admin",
            Role::Staff => "staff",
            Role::Auditor => "auditor",
        }
    }
    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Role> {
        [
            Role::PlatformAdmin,
            Role::TenantAdmin,
            Role::Staff,
            Role::Auditor,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}
