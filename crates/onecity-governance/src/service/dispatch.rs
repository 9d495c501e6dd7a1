//! Dispatch: the rules (category + area → responsible department, priorities where bodies
//! overlap), the decision for a new event, and re-dispatch (退单) of an event with its work
//! order.

use super::{json_text, log, Gov};
use crate::model::*;
use crate::store;
use onecity_core::{Error, Result};
use onecity_flow::model::TransferRequest;
use onecity_iam::Principal;
use serde_json::json;
use uuid::Uuid;

impl Gov {
    /// The dispatch decision for a category at a place: rules whose category is the event's
    /// (or any) and whose area contains the point (or is the whole tenant); the most
    /// specific first (category match, then deeper area), then the higher priority.
    pub async fn decide(&self, tenant: &str, code: &str, place: &Placement) -> Result<Decision> {
        let chain: Vec<String> = match place.jurisdiction_id {
            Some(j) => self
                .iam()
                .jurisdiction_unchecked(tenant, j)
                .await?
                .path
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            None => vec![],
        };
        let rules = store::settings::rules_for(self.iam().db(), tenant, code).await?;
        let mut scored = Vec::new();
        for rule in rules {
            let depth = match &rule.jurisdiction_id {
                None => 0,
                Some(area) => match chain.iter().position(|segment| segment == area) {
                    Some(index) => index + 1,
                    None => continue,
                },
            };
            let specific = rule.service_code.is_some() as usize;
            scored.push((
                (specific, depth, rule.priority),
                rule.id,
                rule.department_id,
                serde_json::from_str::<Vec<Uuid>>(&rule.co_departments).unwrap_or_default(),
            ));
        }
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let best = scored.first();
        Ok(Decision {
            department_id: best.map(|b| b.2),
            co_departments: best.map(|b| b.3.clone()).unwrap_or_default(),
            rule_id: best.map(|b| b.1),
            candidates: scored.iter().map(|s| s.1).collect(),
            near_border: place.near_border,
        })
    }

    /// Re-dispatches an event (after a return, 退单) to another department, with a reason;
    /// its work order is transferred to that department's queue (or opened when none).
    pub async fn dispatch(
        &self,
        p: &Principal,
        tenant: &str,
        id: Uuid,
        d: &DispatchRequest,
    ) -> Result<EventView> {
        self.iam().tenant(p, tenant).await?;
        onecity_core::validate::text("reason", &d.reason, 1000)?;
        if d.reason.trim().is_empty() {
            return Err(Error::invalid("reason is required"));
        }
        let dept = self
            .iam()
            .department(&Principal::system(), tenant, d.department_id)
            .await
            .map_err(|_| {
                Error::invalid("department_id does not name a department of this tenant")
            })?;
        let event = self.load(tenant, id).await?;
        let now = self.now();
        if event.case_id.is_none() {
            self.ensure_work_order_flow(tenant).await?;
        }
        let mut tx = self.iam().db().begin().await?;
        store::events::dispatch(
            &mut tx,
            id,
            d.department_id,
            &json_text(&d.co_departments)?,
            &dept.name,
            now,
        )
        .await?;
        log(&mut tx, id, now, &p.actor(), "dispatch", Some(json!({"department_id": d.department_id, "co_departments": d.co_departments, "reason": d.reason}))).await?;
        self.audit(
            &mut tx,
            p,
            tenant,
            "governance.event.dispatch",
            "event",
            &id.to_string(),
        )
        .await?;
        if event.case_id.is_none() {
            // No work order yet: open it in this transaction, with the dispatch.
            let svc = self
                .service(tenant, &event.service_code)
                .await?
                .ok_or_else(|| Error::internal("event of an unknown category"))?;
            self.open_work_order(
                &mut tx,
                tenant,
                id,
                &svc,
                &event.description,
                &Placement {
                    jurisdiction_id: event.jurisdiction_id,
                    ..Default::default()
                },
                d.department_id,
                &d.co_departments,
                event.due_at,
            )
            .await?;
        }
        tx.commit().await?;
        self.iam().bus().poke();
        if let Some(case) = event.case_id {
            self.flow
                .transfer(
                    &Principal::system(),
                    tenant,
                    case,
                    &TransferRequest {
                        assignee_id: None,
                        department_id: Some(d.department_id),
                        reason: d.reason.clone(),
                        expected_version: None,
                    },
                )
                .await?;
        }
        self.event(p, tenant, id).await
    }

    /// Adds a dispatch rule.
    pub async fn add_rule(&self, p: &Principal, tenant: &str, r: &NewRule) -> Result<Rule> {
        self.iam().tenant(p, tenant).await?;
        for d in std::iter::once(&r.department_id).chain(r.co_departments.iter()) {
            self.iam()
                .department(&Principal::system(), tenant, *d)
                .await
                .map_err(|_| Error::invalid(format!("department {d} is not in this tenant")))?;
        }
        if let Some(j) = r.jurisdiction_id {
            self.iam()
                .jurisdiction_unchecked(tenant, j)
                .await
                .map_err(|_| Error::invalid("jurisdiction_id is not in this tenant"))?;
        }
        let id = onecity_core::new_id();
        let mut tx = self.iam().db().begin().await?;
        let rule = store::settings::NewRuleRow {
            id,
            tenant,
            service_code: r.service_code.as_deref(),
            jurisdiction_id: r.jurisdiction_id,
            department_id: r.department_id,
            co_departments: json_text(&r.co_departments)?,
            priority: r.priority,
            created_at: self.now(),
        };
        store::settings::insert_rule(&mut tx, &rule).await?;
        self.audit(
            &mut tx,
            p,
            tenant,
            "governance.rule.create",
            "rule",
            &id.to_string(),
        )
        .await?;
        tx.commit().await?;
        Ok(Rule {
            id,
            rule: r.clone(),
        })
    }
}
