//! The authenticated caller and its grants.

use crate::roles::Permission;
use onecity_core::model::path_within;
use serde::Serialize;
use uuid::Uuid;

/// Kind of principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// Government staff.
    Staff,
    /// A citizen.
    Citizen,
    /// A company.
    Company,
    /// An application using an app key.
    App,
}

impl PrincipalKind {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staff => "staff",
            Self::Citizen => "citizen",
            Self::Company => "company",
            Self::App => "app",
        }
    }
    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Staff, Self::Citizen, Self::Company, Self::App]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One grant: permissions over a jurisdiction subtree of a tenant (or everywhere).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Grant {
    /// Role name (`app` for app-key scopes).
    pub role: String,
    /// Permissions the grant gives.
    pub permissions: Vec<Permission>,
    /// Tenant the grant is in; `null` = every tenant (platform admin).
    pub tenant: Option<String>,
    /// Root of the subtree; `null` = the whole tenant.
    pub jurisdiction_id: Option<Uuid>,
    /// Path of that root (ancestor ids `/`-joined).
    #[serde(skip)]
    pub path: Option<String>,
    /// Department the grant is limited to, if any.
    pub department_id: Option<Uuid>,
    /// Digital-twin entity types the grant's `twin_read`/`twin_write` are limited to
    /// (app-key scopes `twin:read:<Type>` / `twin:write:<Type>`); `null` = every type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub twin_types: Option<Vec<String>>,
}

/// The authenticated caller.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Principal {
    /// Principal id (for apps: the key id).
    pub id: Uuid,
    /// Kind.
    pub kind: PrincipalKind,
    /// Login name (for apps: the key name).
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Home tenant; `null` for deployment-level principals.
    pub tenant: Option<String>,
    /// Department of a staff member.
    pub department_id: Option<Uuid>,
    /// Grants.
    pub grants: Vec<Grant>,
    /// App-key rate limit per minute (apps only).
    #[serde(skip)]
    pub rate_per_minute: Option<i64>,
    /// Identity assurance level (eIDAS `low`, `substantial`, `high`); `null` for
    /// principals whose identity was never proven (staff and apps created by an
    /// administrator).
    pub assurance: Option<crate::assurance::AssuranceLevel>,
}

impl Principal {
    /// The audit actor string: `user:<id>`, `app:<id>`, or `system` for [`Principal::system`].
    pub fn actor(&self) -> String {
        if self.id.is_nil() {
            return "system".into();
        }
        match self.kind {
            PrincipalKind::App => format!("app:{}", self.id),
            _ => format!("user:{}", self.id),
        }
    }

    /// Holds `p` somewhere.
    pub fn has(&self, p: Permission) -> bool {
        self.grants.iter().any(|g| g.permissions.contains(&p))
    }

    /// May see tenant `tenant` at all.
    pub fn sees_tenant(&self, tenant: &str) -> bool {
        self.tenant.as_deref() == Some(tenant)
            || self
                .grants
                .iter()
                .any(|g| g.tenant.is_none() || g.tenant.as_deref() == Some(tenant))
    }

    /// Holds `p` over the node at `path` in `tenant`.
    pub fn can_at(&self, p: Permission, tenant: &str, path: &str) -> bool {
        self.grants.iter().any(|g| {
            g.permissions.contains(&p)
                && match &g.tenant {
                    None => true,
                    Some(t) => {
                        t == tenant && g.path.as_deref().is_none_or(|root| path_within(path, root))
                    }
                }
        })
    }

    /// The subtree roots (paths) within which `p` holds in `tenant`: `None` means the whole
    /// tenant, `Some(vec![])` means nowhere.
    pub fn subtrees(&self, p: Permission, tenant: &str) -> Option<Vec<String>> {
        let mut roots = Vec::new();
        for g in self.grants.iter().filter(|g| g.permissions.contains(&p)) {
            match (&g.tenant, &g.path) {
                (None, _) => return None,
                (Some(t), None) if t == tenant => return None,
                (Some(t), Some(path)) if t == tenant => roots.push(path.clone()),
                _ => {}
            }
        }
        Some(roots)
    }

    /// Holds the platform-wide admin role.
    pub fn is_platform_admin(&self) -> bool {
        self.grants
            .iter()
            .any(|g| g.tenant.is_none() && g.role == "platform_admin")
    }
}

impl Principal {
    /// The deployment itself acting (CLI `onecity admin`, demo loader): a platform admin.
    pub fn system() -> Principal {
        Principal {
            id: Uuid::nil(),
            kind: PrincipalKind::Staff,
            username: "system".into(),
            display_name: "System".into(),
            tenant: None,
            department_id: None,
            grants: vec![Grant {
                role: "platform_admin".into(),
                permissions: Permission::ALL.to_vec(),
                tenant: None,
                jurisdiction_id: None,
                path: None,
                department_id: None,
                twin_types: None,
            }],
            rate_per_minute: None,
            assurance: None,
        }
    }
}
