//! Flow definitions: storing validated versions, installing the shipped ones, loading a
//! version (cached per node; versions never change once stored), listing them.

use super::{DefinitionInfo, DefinitionValidation, Flow};
use crate::definition::{DefinitionProblem, FlowDefinition};
use crate::store;
use onecity_core::{time, Error, Result};
use onecity_iam::Principal;
use onecity_store::audit::AuditEntry;
use serde_json::Value;
use std::sync::Arc;

impl Flow {
    // ---------------------------------------------------------------- definitions

    /// Stores a new version of a flow definition after validating it.
    ///
    /// Errors: `invalid_input` for an invalid definition, with `errors` (every problem as
    /// an English sentence) and `problems` (the same, in order, as [`DefinitionProblem`]s
    /// with their codes and the states, actions and roles they name); `forbidden` without
    /// `flow_admin` over the tenant.
    pub async fn put_definition(
        &self,
        p: &Principal,
        tenant: &str,
        json_text: &str,
    ) -> Result<DefinitionInfo> {
        self.require_admin(p, tenant).await?;
        let def = FlowDefinition::check(json_text).map_err(refused)?;
        let mut tx = self.iam.db().begin().await?;
        let v = store::latest_definition_version(&mut tx, tenant, &def.key)
            .await?
            .unwrap_or(0)
            + 1;
        let now = self.now();
        let canonical = serde_json::to_string(&def).map_err(Error::internal)?;
        let row = store::DefinitionRow {
            key: def.key.clone(),
            version: v,
            module: def.module.clone(),
            definition: canonical,
            created_at: now,
        };
        store::insert_definition(&mut tx, tenant, &row, &p.actor()).await?;
        let after = serde_json::to_value(&def).map_err(Error::internal)?;
        self.iam
            .record(
                &mut tx,
                &AuditEntry {
                    tenant,
                    actor: &p.actor(),
                    action: "flow.define",
                    resource_type: "flow",
                    resource_id: &format!("{}@{v}", def.key),
                    after: Some(&after),
                    ..Default::default()
                },
                None,
            )
            .await?;
        tx.commit().await?;
        let info = DefinitionInfo {
            key: def.key.clone(),
            version: v,
            module: def.module.clone(),
            name: def.name.clone(),
            name_zh: def.name_zh.clone(),
            created_at: time::rfc3339(now),
        };
        self.defs
            .write()
            .expect("defs lock")
            .insert((tenant.to_string(), def.key.clone(), v), Arc::new(def));
        Ok(info)
    }

    /// Validates a flow definition as [`Flow::put_definition`] would, without storing it
    /// (the flow designer's live check, `POST …/flows?validate_only=true`): `valid`, every
    /// problem with its code, and the version a save would create.
    ///
    /// Errors: `forbidden` without `flow_admin` over the tenant (as for saving).
    pub async fn validate_definition(
        &self,
        p: &Principal,
        tenant: &str,
        json_text: &str,
    ) -> Result<DefinitionValidation> {
        self.require_admin(p, tenant).await?;
        match FlowDefinition::check(json_text) {
            Ok(def) => {
                let next_version = self.latest_version(tenant, &def.key).await?.unwrap_or(0) + 1;
                Ok(DefinitionValidation {
                    valid: true,
                    key: Some(def.key),
                    next_version: Some(next_version),
                    errors: Vec::new(),
                    problems: Vec::new(),
                })
            }
            Err(problems) => Ok(DefinitionValidation {
                valid: false,
                key: None,
                next_version: None,
                errors: problems.iter().map(|p| p.message.clone()).collect(),
                problems,
            }),
        }
    }

    /// Installs the shipped definitions into a tenant (those whose key it lacks).
    pub async fn install_shipped(&self, tenant: &str) -> Result<usize> {
        let mut n = 0;
        for (key, json) in crate::definition::shipped() {
            if self.latest_version(tenant, key).await?.is_none() {
                self.put_definition(&Principal::system(), tenant, json)
                    .await?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// The latest version of flow `key` in `tenant`, `None` when it has none.
    async fn latest_version(&self, tenant: &str, key: &str) -> Result<Option<i64>> {
        store::latest_definition_version(self.iam.db(), tenant, key).await
    }

    /// A definition version (latest when `version` is `None`).
    pub async fn definition(
        &self,
        tenant: &str,
        key: &str,
        version: Option<i64>,
    ) -> Result<(i64, Arc<FlowDefinition>)> {
        let v = match version {
            Some(v) => v,
            None => self
                .latest_version(tenant, key)
                .await?
                .ok_or_else(|| Error::not_found(format!("no flow {key:?} in this tenant")))?,
        };
        if let Some(d) =
            self.defs
                .read()
                .expect("defs lock")
                .get(&(tenant.to_string(), key.to_string(), v))
        {
            return Ok((v, d.clone()));
        }
        let text = store::definition_text(self.iam.db(), tenant, key, v)
            .await?
            .ok_or_else(|| Error::not_found(format!("no flow {key:?} version {v}")))?;
        let def: FlowDefinition = serde_json::from_str(&text).map_err(Error::internal)?;
        let def = Arc::new(def);
        self.defs
            .write()
            .expect("defs lock")
            .insert((tenant.to_string(), key.to_string(), v), def.clone());
        Ok((v, def))
    }

    /// Every definition version of a tenant.
    pub async fn list_definitions(
        &self,
        p: &Principal,
        tenant: &str,
    ) -> Result<Vec<DefinitionInfo>> {
        self.iam.tenant(p, tenant).await?;
        store::definitions(self.iam.db(), tenant)
            .await?
            .into_iter()
            .map(|row| {
                let definition: Value =
                    serde_json::from_str(&row.definition).map_err(Error::internal)?;
                Ok(DefinitionInfo {
                    key: row.key,
                    version: row.version,
                    module: row.module,
                    name: definition["name"].as_str().unwrap_or_default().to_string(),
                    name_zh: definition["name_zh"].as_str().map(str::to_string),
                    created_at: time::rfc3339(row.created_at),
                })
            })
            .collect()
    }
}

/// The `invalid_input` error of a refused definition: a count in the detail, every problem
/// as a sentence in `errors` and with its code in `problems`.
fn refused(problems: Vec<DefinitionProblem>) -> Error {
    let errors: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    let detail = format!("the flow definition has {} problem(s)", problems.len());
    let coded = match serde_json::to_value(&problems) {
        Ok(value) => value,
        Err(e) => return Error::internal(e),
    };
    Error::invalid(detail)
        .with_extra("errors", Value::from(errors))
        .with_extra("problems", coded)
}
