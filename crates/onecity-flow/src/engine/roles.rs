//! Flow roles (e.g. `GRO`, `LME`): granting them, and the [`Actor`] a principal acts as,
//! with its roles cached per node for [`ROLE_CACHE_TTL`].

use super::{Actor, Flow, Member, ROLE_CACHE_TTL};
use crate::store;
use onecity_core::{time, Result};
use onecity_iam::Principal;
use onecity_store::audit::AuditEntry;
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

impl Flow {
    /// Grants a flow role (e.g. `GRO`) to a principal, optionally limited to a department.
    pub async fn grant_role(
        &self,
        p: &Principal,
        tenant: &str,
        principal_id: Uuid,
        role: &str,
        department_id: Option<Uuid>,
    ) -> Result<()> {
        self.require_admin(p, tenant).await?;
        onecity_core::validate::code("role", role)?;
        self.ensure_in_tenant(Member::User, tenant, Some(principal_id), "principal_id")
            .await?;
        self.ensure_in_tenant(Member::Department, tenant, department_id, "department_id")
            .await?;
        let mut tx = self.iam.db().begin().await?;
        store::insert_role_grant(
            &mut tx,
            tenant,
            principal_id,
            role,
            department_id,
            time::now_micros(),
        )
        .await?;
        let after =
            json!({"principal_id": principal_id, "role": role, "department_id": department_id});
        self.iam
            .record(
                &mut tx,
                &AuditEntry {
                    tenant,
                    actor: &p.actor(),
                    action: "flow.grant_role",
                    resource_type: "principal",
                    resource_id: &principal_id.to_string(),
                    after: Some(&after),
                    ..Default::default()
                },
                None,
            )
            .await?;
        tx.commit().await?;
        self.actors.lock().expect("role cache").clear();
        Ok(())
    }

    /// The acting principal `p` with its flow roles in `tenant` (cached per node for
    /// [`ROLE_CACHE_TTL`]).
    pub(crate) async fn actor(&self, p: &Principal, tenant: &str) -> Result<Actor> {
        let key = (tenant.to_string(), p.id);
        let cached = self
            .actors
            .lock()
            .expect("role cache")
            .get(&key)
            .filter(|(at, _)| at.elapsed() < ROLE_CACHE_TTL)
            .map(|(_, r)| r.clone());
        let roles = match cached {
            Some(r) => r,
            None => {
                let grants = store::role_grants(self.iam.db(), tenant, p.id).await?;
                let roles = Arc::new(
                    grants
                        .into_iter()
                        .map(|grant| (grant.role, grant.department_id))
                        .collect::<Vec<_>>(),
                );
                self.actors
                    .lock()
                    .expect("role cache")
                    .insert(key, (std::time::Instant::now(), roles.clone()));
                roles
            }
        };
        Ok(Actor {
            id: Some(p.id),
            actor: p.actor(),
            roles: (*roles).clone(),
        })
    }
}
