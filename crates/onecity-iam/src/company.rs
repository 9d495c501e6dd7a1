//! Companies (法人) by unified social credit code (统一社会信用代码, GB 32100-2015), their
//! legal representative, and the mandates (授权) under which people act for them.
//!
//! A company is a principal of kind `company` (login name = its credit code, no password:
//! it never signs in itself). The citizen who registers it, at level `substantial` or
//! above, is its legal representative (法定代表人) and acts for it without a mandate. Other
//! citizens act under mandates the legal representative grants: a list of actions (free
//! strings for now, e.g. service item codes; `*` = every action), valid until a time,
//! revocable. [`Iam::act_for_company`] decides at the moment of each action; every company
//! action is audited with the person and the mandate (`legal_representative` when the
//! representative acted).

use crate::assurance::AssuranceLevel;
use crate::store::identity as db;
use crate::{Iam, Principal, PrincipalKind};
use onecity_core::{Error, ErrorCode, Result};
use onecity_store::audit::AuditEntry;
use onecity_store::Executor;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Input of company registration.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCompany {
    /// Unified social credit code, 18 characters (check character verified).
    pub credit_code: String,
    /// Registered name, 1 to 200 characters.
    pub name: String,
}

/// A company as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CompanyView {
    /// The company's principal id.
    pub id: Uuid,
    /// Tenant code.
    pub tenant: String,
    /// Unified social credit code.
    pub credit_code: String,
    /// Registered name.
    pub name: String,
    /// The legal representative's principal id.
    pub legal_representative_id: Uuid,
    /// Registration time, RFC 3339 UTC.
    pub created_at: String,
}

/// Input of a mandate grant.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMandate {
    /// The agent: a citizen of the tenant, by principal id or login name (normalized
    /// phone number or e-mail; `13812345678` is read as `+8613812345678`).
    pub agent: String,
    /// Actions the agent may take (1 to 50 strings of 1 to 100 characters, e.g. service
    /// item codes; `*` = every action).
    pub actions: Vec<String>,
    /// Until when, RFC 3339 (in the future, at most 5 years ahead).
    pub valid_until: String,
}

/// A mandate as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MandateView {
    /// Mandate id.
    pub id: Uuid,
    /// The company's principal id.
    pub company_id: Uuid,
    /// The agent's principal id.
    pub agent_id: Uuid,
    /// Actions covered.
    pub actions: Vec<String>,
    /// Valid until, RFC 3339 UTC.
    pub valid_until: String,
    /// Who granted it (`user:<id>`).
    pub granted_by: String,
    /// Granted at, RFC 3339 UTC.
    pub created_at: String,
    /// Revoked at, RFC 3339 UTC, if revoked.
    pub revoked_at: Option<String>,
    /// `active`, `expired` or `revoked` (now).
    pub state: String,
}

/// How a person acts for a company: the answer of [`Iam::act_for_company`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MandateUse {
    /// The company's principal id.
    pub company_id: Uuid,
    /// The company's credit code.
    pub credit_code: String,
    /// The person acting.
    pub person_id: Uuid,
    /// The mandate used; `null` when the legal representative acts.
    pub mandate_id: Option<Uuid>,
    /// `legal_representative` or `mandate`.
    pub capacity: String,
    /// The action.
    pub action: String,
}

/// A company action recorded through a mandate (the demo declaration).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CompanyAction {
    /// Action record id.
    pub id: Uuid,
    /// Who acted and under which mandate.
    #[serde(flatten)]
    pub by: MandateUse,
    /// Recorded at, RFC 3339 UTC.
    pub created_at: String,
}

fn view(m: &db::MandateRow, now: i64) -> MandateView {
    let state = if m.revoked_at.is_some() {
        "revoked"
    } else if m.valid_until <= now {
        "expired"
    } else {
        "active"
    };
    MandateView {
        id: m.id,
        company_id: m.company_id,
        agent_id: m.agent_id,
        actions: serde_json::from_str(&m.actions).unwrap_or_default(),
        valid_until: onecity_core::time::rfc3339(m.valid_until),
        granted_by: m.granted_by.clone(),
        created_at: onecity_core::time::rfc3339(m.created_at),
        revoked_at: m.revoked_at.map(onecity_core::time::rfc3339),
        state: state.into(),
    }
}

fn company_view(c: &db::CompanyRow) -> CompanyView {
    CompanyView {
        id: c.id,
        tenant: c.tenant.clone(),
        credit_code: c.credit_code.clone(),
        name: c.name.clone(),
        legal_representative_id: c.legal_rep_id,
        created_at: onecity_core::time::rfc3339(c.created_at),
    }
}

/// Decides whether `person` may take `action` for `company` now (inside `ex`, so that the
/// decision and the action's record can share a transaction).
async fn mandate_use(
    mut ex: impl Executor,
    company: &db::CompanyRow,
    person: Uuid,
    action: &str,
    now: i64,
) -> Result<MandateUse> {
    let used = |mandate_id: Option<Uuid>, capacity: &str| MandateUse {
        company_id: company.id,
        credit_code: company.credit_code.clone(),
        person_id: person,
        mandate_id,
        capacity: capacity.into(),
        action: action.into(),
    };
    if company.legal_rep_id == person {
        return Ok(used(None, "legal_representative"));
    }
    let mandates = db::mandates_of_agent(&mut ex, company.id, person).await?;
    let covering: Vec<&db::MandateRow> = mandates
        .iter()
        .filter(|m| {
            serde_json::from_str::<Vec<String>>(&m.actions)
                .unwrap_or_default()
                .iter()
                .any(|a| a == action || a == "*")
        })
        .collect();
    if let Some(m) = covering
        .iter()
        .find(|m| m.revoked_at.is_none() && m.valid_until > now)
    {
        return Ok(used(Some(m.id), "mandate"));
    }
    // The newest covering mandate says why: revoked, else expired.
    if let Some(m) = covering.first() {
        if let Some(at) = m.revoked_at {
            return Err(Error::new(
                ErrorCode::MandateRevoked,
                format!(
                    "授权已撤销 / your mandate {} to act for {} was revoked at {}",
                    m.id,
                    company.credit_code,
                    onecity_core::time::rfc3339(at)
                ),
            ));
        }
        return Err(Error::new(
            ErrorCode::MandateExpired,
            format!(
                "授权已过期 / your mandate {} to act for {} expired at {}",
                m.id,
                company.credit_code,
                onecity_core::time::rfc3339(m.valid_until)
            ),
        ));
    }
    Err(Error::new(
        ErrorCode::NoMandate,
        format!(
            "无授权 / you hold no mandate to take the action {action:?} for {}",
            company.credit_code
        ),
    ))
}

impl Iam {
    async fn company(&self, tenant: &str, credit_code: &str) -> Result<db::CompanyRow> {
        let code = credit_code.trim().to_ascii_uppercase();
        db::company_by_code(&self.inner.db, tenant, &code)
            .await?
            .ok_or_else(|| Error::not_found(format!("no company {code:?} in tenant {tenant:?}")))
    }

    fn same_tenant(p: &Principal, tenant: &str) -> Result<()> {
        if p.tenant.as_deref() != Some(tenant) {
            return Err(Error::not_found(format!("tenant {tenant:?} is not yours")));
        }
        Ok(())
    }

    /// Registers a company; the caller (a citizen of `tenant` at level `substantial` or
    /// above) becomes its legal representative.
    ///
    /// Errors: `invalid_credit_code` (422, zh + en, naming the expected check character);
    /// `invalid_input` (name); `forbidden` for non-citizens; `assurance_too_low` (403)
    /// below `substantial`; `conflict` when the code is registered.
    pub async fn register_company(
        &self,
        p: &Principal,
        tenant: &str,
        n: &NewCompany,
    ) -> Result<CompanyView> {
        let code = crate::idnum::check_credit_code(&n.credit_code)?;
        onecity_core::validate::text("name", &n.name, 200)?;
        Self::same_tenant(p, tenant)?;
        if p.kind != PrincipalKind::Citizen {
            return Err(Error::forbidden(
                "a company's legal representative is a citizen (法定代表人须为自然人)",
            ));
        }
        crate::assurance::require(
            Some(p),
            AssuranceLevel::Substantial,
            "registering a company as its legal representative",
        )?;
        let row = db::CompanyRow {
            id: onecity_core::new_id(),
            tenant: tenant.into(),
            credit_code: code.clone(),
            name: n.name.trim().into(),
            legal_rep_id: p.id,
            created_at: onecity_core::time::now_micros(),
        };
        let mut tx = self.inner.db.begin().await?;
        db::insert_company(&mut tx, &row).await.map_err(|e| {
            if e.code == ErrorCode::Conflict {
                Error::conflict(format!(
                    "该统一社会信用代码已注册 / the company {code} is already registered"
                ))
            } else {
                e
            }
        })?;
        let v = company_view(&row);
        self.record(
            &mut tx,
            &AuditEntry {
                tenant,
                actor: &p.actor(),
                action: "company.register",
                resource_type: "company",
                resource_id: &code,
                after: Some(&serde_json::to_value(&v).map_err(Error::internal)?),
                ..Default::default()
            },
            Some(onecity_core::events::EventEnvelope::new(
                Some(tenant),
                onecity_core::events::PlatformEvent::PrincipalCreated {
                    id: row.id,
                    kind: "company".into(),
                },
            )),
        )
        .await?;
        tx.commit().await?;
        Ok(v)
    }

    /// A company, seen by its legal representative or a person holding one of its
    /// mandates (others: `not_found`).
    pub async fn company_for(
        &self,
        p: &Principal,
        tenant: &str,
        credit_code: &str,
    ) -> Result<CompanyView> {
        Self::same_tenant(p, tenant)?;
        let c = self.company(tenant, credit_code).await?;
        if c.legal_rep_id != p.id
            && db::mandates_of_agent(&self.inner.db, c.id, p.id)
                .await?
                .is_empty()
        {
            return Err(Error::not_found(format!("no company {credit_code:?}")));
        }
        Ok(company_view(&c))
    }

    async fn company_as_rep(
        &self,
        p: &Principal,
        tenant: &str,
        credit_code: &str,
    ) -> Result<db::CompanyRow> {
        Self::same_tenant(p, tenant)?;
        let c = self.company(tenant, credit_code).await?;
        if c.legal_rep_id != p.id {
            return Err(Error::forbidden(
                "only the legal representative (法定代表人) manages the company's mandates",
            ));
        }
        Ok(c)
    }

    /// Grants a mandate (legal representative only).
    ///
    /// Errors: `not_found` (company), `forbidden` (not the representative),
    /// `invalid_input` (agent not a citizen of the tenant, actions, time).
    pub async fn grant_mandate(
        &self,
        p: &Principal,
        tenant: &str,
        credit_code: &str,
        n: &NewMandate,
    ) -> Result<MandateView> {
        let c = self.company_as_rep(p, tenant, credit_code).await?;
        if n.actions.is_empty()
            || n.actions.len() > 50
            || n.actions
                .iter()
                .any(|a| a.trim().is_empty() || a.chars().count() > 100)
        {
            return Err(Error::invalid(
                "actions must be 1 to 50 strings of 1 to 100 characters",
            ));
        }
        let now = onecity_core::time::now_micros();
        let until = onecity_core::time::parse_rfc3339(&n.valid_until, "valid_until")?;
        if until <= now || until > now + 5 * 366 * 86_400_000_000 {
            return Err(Error::invalid(
                "valid_until must be in the future and at most 5 years ahead",
            ));
        }
        let agent = self.agent_of(tenant, &n.agent).await?;
        let row = db::MandateRow {
            id: onecity_core::new_id(),
            company_id: c.id,
            agent_id: agent,
            actions: serde_json::to_string(&n.actions).map_err(Error::internal)?,
            valid_until: until,
            granted_by: p.actor(),
            created_at: now,
            revoked_at: None,
        };
        let v = view(&row, now);
        let mut tx = self.inner.db.begin().await?;
        db::insert_mandate(&mut tx, &row, tenant).await?;
        self.record(
            &mut tx,
            &AuditEntry {
                tenant,
                actor: &p.actor(),
                action: "company.mandate_grant",
                resource_type: "mandate",
                resource_id: &row.id.to_string(),
                after: Some(&serde_json::json!({
                    "company": c.credit_code, "agent_id": agent, "actions": n.actions,
                    "valid_until": v.valid_until
                })),
                ..Default::default()
            },
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn agent_of(&self, tenant: &str, agent: &str) -> Result<Uuid> {
        let bad = || {
            Error::invalid(format!(
                "agent {:?} is not a citizen of tenant {tenant:?}",
                agent.chars().take(64).collect::<String>()
            ))
        };
        let id = match agent.parse::<Uuid>() {
            Ok(id) => id,
            Err(_) => {
                let name = crate::citizen::Identifier::parse(agent)
                    .map(|i| i.as_str().to_string())
                    .map_err(|_| bad())?;
                db::account_by_username(&self.inner.db, &name)
                    .await?
                    .ok_or_else(bad)?
                    .id
            }
        };
        let p = self.principal_by_id(id).await.map_err(|_| bad())?;
        if p.kind != PrincipalKind::Citizen || p.tenant.as_deref() != Some(tenant) {
            return Err(bad());
        }
        Ok(id)
    }

    /// The company's mandates, newest first (legal representative only).
    pub async fn list_mandates(
        &self,
        p: &Principal,
        tenant: &str,
        credit_code: &str,
    ) -> Result<Vec<MandateView>> {
        let c = self.company_as_rep(p, tenant, credit_code).await?;
        let now = onecity_core::time::now_micros();
        Ok(db::mandates_of(&self.inner.db, c.id)
            .await?
            .iter()
            .map(|m| view(m, now))
            .collect())
    }

    /// Revokes a mandate at once (legal representative only). Errors: `not_found` (no such
    /// active mandate of the company), `forbidden`.
    pub async fn revoke_mandate(
        &self,
        p: &Principal,
        tenant: &str,
        credit_code: &str,
        mandate: Uuid,
    ) -> Result<()> {
        let c = self.company_as_rep(p, tenant, credit_code).await?;
        let now = onecity_core::time::now_micros();
        let mut tx = self.inner.db.begin().await?;
        if !db::revoke_mandate(&mut tx, c.id, mandate, &p.actor(), now).await? {
            return Err(Error::not_found(format!(
                "no active mandate {mandate} of {}",
                c.credit_code
            )));
        }
        self.record(
            &mut tx,
            &AuditEntry {
                tenant,
                actor: &p.actor(),
                action: "company.mandate_revoke",
                resource_type: "mandate",
                resource_id: &mandate.to_string(),
                after: Some(&serde_json::json!({"company": c.credit_code})),
                ..Default::default()
            },
            None,
        )
        .await?;
        tx.commit().await
    }

    /// Whether `p` may take `action` for the company `credit_code` of its tenant right
    /// now: as its legal representative, or under a mandate that covers the action, is
    /// not revoked and has not expired.
    ///
    /// Errors: `not_found` (company), `no_mandate`, `mandate_expired`, `mandate_revoked`
    /// (403, zh + en).
    pub async fn act_for_company(
        &self,
        p: &Principal,
        credit_code: &str,
        action: &str,
    ) -> Result<MandateUse> {
        let tenant = p
            .tenant
            .clone()
            .ok_or_else(|| Error::not_found("no company outside a tenant"))?;
        let c = self.company(&tenant, credit_code).await?;
        mandate_use(
            &self.inner.db,
            &c,
            p.id,
            action,
            onecity_core::time::now_micros(),
        )
        .await
    }

    /// The demo company action: records a declaration (申报) for the company, taking
    /// `action` under [`Iam::act_for_company`] decided inside the same transaction as the
    /// record and its audit entry (which names the person and the mandate).
    ///
    /// Errors: those of [`Iam::act_for_company`]; `invalid_input` (action 1 to 100
    /// characters, content at most 10,000 bytes of JSON).
    pub async fn record_company_action(
        &self,
        p: &Principal,
        tenant: &str,
        credit_code: &str,
        action: &str,
        content: &serde_json::Value,
    ) -> Result<CompanyAction> {
        Self::same_tenant(p, tenant)?;
        if action.trim().is_empty() || action.chars().count() > 100 {
            return Err(Error::invalid("action must be 1 to 100 characters"));
        }
        let detail = content.to_string();
        if detail.len() > 10_000 {
            return Err(Error::invalid(
                "content must be at most 10,000 bytes of JSON",
            ));
        }
        let c = self.company(tenant, credit_code).await?;
        let now = onecity_core::time::now_micros();
        let mut tx = self.inner.db.begin().await?;
        let used = match mandate_use(&mut tx, &c, p.id, action, now).await {
            Ok(u) => u,
            Err(e) => {
                drop(tx);
                self.audit_refused_company_action(p, tenant, &c, action, &e)
                    .await?;
                return Err(e);
            }
        };
        let id = onecity_core::new_id();
        db::insert_company_action(
            &mut tx,
            id,
            c.id,
            tenant,
            p.id,
            used.mandate_id,
            action,
            &detail,
            now,
        )
        .await?;
        self.record(
            &mut tx,
            &AuditEntry {
                tenant,
                actor: &p.actor(),
                action: "company.act",
                resource_type: "company",
                resource_id: &c.credit_code,
                after: Some(&serde_json::json!({
                    "action": action, "record_id": id, "person_id": p.id,
                    "capacity": used.capacity,
                    "mandate_id": used.mandate_id
                })),
                detail: Some(&format!(
                    "action={action} person={} mandate={}",
                    p.actor(),
                    used.mandate_id
                        .map_or("legal_representative".to_string(), |m| m.to_string())
                )),
                ..Default::default()
            },
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(CompanyAction {
            id,
            by: used,
            created_at: onecity_core::time::rfc3339(now),
        })
    }

    async fn audit_refused_company_action(
        &self,
        p: &Principal,
        tenant: &str,
        c: &db::CompanyRow,
        action: &str,
        e: &Error,
    ) -> Result<()> {
        let mut tx = self.inner.db.begin().await?;
        self.record(
            &mut tx,
            &AuditEntry {
                tenant,
                actor: &p.actor(),
                action: "company.act_refused",
                resource_type: "company",
                resource_id: &c.credit_code,
                after: Some(&serde_json::json!({
                    "action": action, "person_id": p.id, "reason": e.code.code()
                })),
                detail: Some(&format!(
                    "action={action} person={} refused={}",
                    p.actor(),
                    e.code.code()
                )),
                ..Default::default()
            },
            None,
        )
        .await?;
        tx.commit().await
    }
}
