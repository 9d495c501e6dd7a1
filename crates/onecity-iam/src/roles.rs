//! Roles and permissions.
//!
//! A principal holds grants: a role over a jurisdiction subtree (and optionally one
//! department). A role is a named set of [`Permission`]s. An app key holds scopes, each the
//! wire name of a permission (`jurisdiction:read`), over the subtree it was issued for.

use serde::{Deserialize, Serialize};

/// The one permission table. Each row: the permission, its app-key scope, what it allows,
/// and the built-in roles (besides [`Role::PlatformAdmin`], which holds every permission)
/// that grant it. The enum, [`Permission::ALL`], [`Permission::scope`], the extractor marker
/// types in `http::perm` and [`Role::permissions`] are all generated from it, so a new
/// permission is one row.
macro_rules! permission_table {
    ($($name:ident => $scope:literal, [$($role:ident),*], $doc:literal;)*) => {
        /// Something a caller may do. `scope()` is the app-key scope that grants it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum Permission {
            $(#[doc = $doc] $name,)*
        }

        impl Permission {
            /// Every permission, in table order.
            pub const ALL: &'static [Permission] = &[$(Self::$name,)*];

            /// The app-key scope naming this permission, e.g. `jurisdiction:read`.
            pub fn scope(self) -> &'static str {
                match self {
                    $(Self::$name => $scope,)*
                }
            }

            /// The built-in roles other than [`Role::PlatformAdmin`] that grant it.
            fn granted_by(self) -> &'static [Role] {
                match self {
                    $(Self::$name => &[$(Role::$role),*],)*
                }
            }
        }

        /// Extractor marker types, one per [`Permission`] (see `http::Authorized`).
        pub mod perm {
            $(
                #[doc = concat!("Marker for `Permission::", stringify!($name), "`.")]
                pub struct $name;
                impl crate::http::Perm for $name {
                    const P: crate::Permission = crate::Permission::$name;
                }
            )*
        }
    };
}

permission_table! {
    JurisdictionRead => "jurisdiction:read", [TenantAdmin, Staff, Auditor], "Read jurisdictions and tenants.";
    JurisdictionWrite => "jurisdiction:write", [TenantAdmin], "Create and change jurisdictions.";
    DepartmentRead => "department:read", [TenantAdmin, Staff], "Read departments.";
    DepartmentWrite => "department:write", [TenantAdmin], "Create and change departments.";
    UserRead => "user:read", [TenantAdmin, Staff], "Read users.";
    UserWrite => "user:write", [TenantAdmin], "Create and change users and their roles.";
    KeyWrite => "key:write", [TenantAdmin], "Create and revoke app keys.";
    AuditRead => "audit:read", [TenantAdmin, Auditor], "Read the audit trail.";
    GeoRead => "geo:read", [TenantAdmin, Staff], "Read boundaries, grids and lookups.";
    GeoWrite => "geo:write", [TenantAdmin], "Import boundaries and grids.";
    TenantWrite => "tenant:write", [], "Create tenants (deployment level).";
    FlowAdmin => "flow:admin", [TenantAdmin], "Define workflows, grant workflow roles, calendars, flow metrics.";
    CaseRead => "case:read", [TenantAdmin], "Read every case of a tenant (supervision), beyond one's own inbox.";
    TwinRead => "twin:read", [TenantAdmin, Staff], "Read digital-twin entities and their history (NGSI-LD GET and queries).";
    TwinWrite => "twin:write", [TenantAdmin], "Create, change and delete digital-twin entities (NGSI-LD writes).";
    CatalogRead => "catalog:read", [TenantAdmin, Staff], "Read catalog entries not opened to the public and the three lists (数据目录).";
    CatalogWrite => "catalog:write", [TenantAdmin], "Create and change datasets and list entries of departments in the subtree.";
    DatastoreRead => "datastore:read", [TenantAdmin, Staff], "Read the datastore tables of one's own department (and open ones).";
    DatastoreWrite => "datastore:write", [TenantAdmin], "Create, load, change and delete datastore tables; keep the negative-list fallback.";
    Open311 => "open311", [TenantAdmin], "Submit service requests through Open311 GeoReport v2 (the app-key scope `open311`).";
    EventWrite => "event:write", [TenantAdmin], "Enter, dispatch, merge and rate governance events (一网统管 staff work).";
    GovernanceAdmin => "governance:admin", [TenantAdmin], "Define governance categories, dispatch rules, settings, plans and alert rules.";
    ServiceAdmin => "service:admin", [TenantAdmin], "Edit the service hall (一网通办): service items, guides and forms (each save a new version); read the materials citizens uploaded and their submissions.";
    JobsAdmin => "jobs:admin", [], "See and run the platform's scheduled jobs and their run history (作业); deployment level, because a job serves every tenant.";
}

impl Permission {
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

/// A built-in role. Declared in the order of [`Role::BUILT_IN`] (its discriminant indexes it).
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
    /// Every built-in role.
    pub const BUILT_IN: &'static [Role] = &[
        Role::PlatformAdmin,
        Role::TenantAdmin,
        Role::Staff,
        Role::Auditor,
    ];

    /// The role's permissions, in table order (computed once from the permission table).
    pub fn permissions(self) -> &'static [Permission] {
        static TABLE: std::sync::LazyLock<Vec<Vec<Permission>>> = std::sync::LazyLock::new(|| {
            Role::BUILT_IN
                .iter()
                .map(|r| {
                    Permission::ALL
                        .iter()
                        .copied()
                        .filter(|p| *r == Role::PlatformAdmin || p.granted_by().contains(r))
                        .collect()
                })
                .collect()
        });
        &TABLE[self as usize]
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
        Role::BUILT_IN.iter().copied().find(|r| r.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_roles_are_indexed_by_discriminant() {
        for (i, r) in Role::BUILT_IN.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
    }

    #[test]
    fn role_permissions_come_from_the_table() {
        assert_eq!(Role::PlatformAdmin.permissions(), Permission::ALL);
        let tenant_admin = Role::TenantAdmin.permissions();
        assert_eq!(tenant_admin.len(), Permission::ALL.len() - 2);
        assert!(!tenant_admin.contains(&Permission::TenantWrite));
        assert!(!tenant_admin.contains(&Permission::JobsAdmin));
        assert_eq!(
            Role::Staff.permissions(),
            &[
                Permission::JurisdictionRead,
                Permission::DepartmentRead,
                Permission::UserRead,
                Permission::GeoRead,
                Permission::TwinRead,
                Permission::CatalogRead,
                Permission::DatastoreRead,
            ]
        );
        assert_eq!(
            Role::Auditor.permissions(),
            &[Permission::JurisdictionRead, Permission::AuditRead]
        );
    }

    #[test]
    fn scopes_are_unique_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for p in Permission::ALL {
            assert!(seen.insert(p.scope()), "duplicate scope {}", p.scope());
            assert_eq!(Permission::from_scope(p.scope()), Some(*p));
        }
        assert_eq!(
            Permission::from_scope("twin:read:WaterObserved"),
            Some(Permission::TwinRead)
        );
        assert_eq!(Permission::from_scope("nope"), None);
    }
}
