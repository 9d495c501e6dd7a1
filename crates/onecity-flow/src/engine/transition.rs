//! The transition core shared by API actions, a case's first action and the scheduler:
//! checks (version, role, required fields), the state change, clocks and timers, history,
//! audit record and `CaseTransitioned` event, all in the caller's transaction.

use super::{dt, micros, non_empty, uuid_field, Actor, CaseRow, Flow, Member};
use crate::calendar::WorkCalendar;
use crate::definition::{ActionDef, ClockStart, FlowDefinition, StateDef};
use crate::model::*;
use crate::sla::{deadline, warn_time};
use crate::store;
use onecity_core::events::{EventEnvelope, PlatformEvent};
use onecity_core::{Error, ErrorCode, Result};
use onecity_iam::Principal;
use onecity_store::audit::AuditEntry;
use onecity_store::Tx;
use serde_json::{json, Value};
use uuid::Uuid;

impl Flow {
    /// Takes an action on a case.
    ///
    /// Errors: `not_found`; `invalid_transition` (409) when the action does not exist in
    /// the case's state, `forbidden` (403) when the caller lacks its roles, `invalid_input`
    /// (422) for missing required fields — each with `allowed_actions`; `conflict` (409)
    /// when the case changed since `expected_version` (or concurrently).
    pub async fn act(
        &self,
        p: &Principal,
        tenant: &str,
        id: Uuid,
        req: &ActionRequest,
    ) -> Result<CaseView> {
        self.iam.tenant(p, tenant).await?;
        let actor = self.actor(p, tenant).await?;
        let case = self.load_case(tenant, id).await?;
        let (_, def) = self
            .definition(tenant, &case.flow_key, Some(case.flow_version))
            .await?;
        if !self.may_see(p, &actor, &def, &case) {
            return Err(Error::not_found(format!("case {id} does not exist")));
        }
        let cal = self.calendar_for(tenant, case.jurisdiction_id).await?;
        let now = self.now();
        let mut tx = self.iam.db().begin().await?;
        let case = self
            .transition(&mut tx, &def, &cal, case, &actor, req, now)
            .await?;
        tx.commit().await?;
        self.iam.bus().poke();
        Ok(self.view(&def, &cal, &case, &actor, now))
    }

    /// The transition core shared by API actions, initial actions and the scheduler.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn transition(
        &self,
        tx: &mut Tx,
        def: &FlowDefinition,
        cal: &WorkCalendar,
        mut case: CaseRow,
        actor: &Actor,
        req: &ActionRequest,
        now: i64,
    ) -> Result<CaseRow> {
        if let Some(v) = req.expected_version {
            if v != case.row_version {
                return Err(Error::conflict(format!(
                    "the case changed: you saw version {v}, it is now version {}",
                    case.row_version
                )));
            }
        }
        let allowed = self.allowed(def, cal, &case, actor, now);
        let allowed_keys: Vec<String> = allowed
            .iter()
            .map(|a| a.key.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let with_allowed = |e: Error| {
            e.with_extra("allowed_actions", json!(allowed_keys))
                .with_extra("state", json!(case.state))
        };
        let candidates: Vec<&ActionDef> = def
            .actions_from(&case.state)
            .filter(|a| a.key == req.action)
            .collect();
        if candidates.is_empty() {
            return Err(with_allowed(Error::new(
                ErrorCode::InvalidTransition,
                format!(
                    "action {:?} cannot be taken in state {:?}",
                    req.action, case.state
                ),
            )));
        }
        let Some(action) = allowed.iter().copied().find(|a| a.key == req.action) else {
            let reopen_closed =
                candidates.iter().all(|a| a.reopen) && !self.within_reopen(def, cal, &case, now);
            let msg = if reopen_closed {
                format!("the reopen window of action {:?} has passed", req.action)
            } else {
                format!(
                    "action {:?} needs one of the roles {:?}",
                    req.action, candidates[0].roles
                )
            };
            return Err(with_allowed(if reopen_closed {
                Error::new(ErrorCode::InvalidTransition, msg)
            } else {
                Error::forbidden(msg)
            }));
        };
        let missing: Vec<&String> = action
            .required
            .iter()
            .filter(|f| {
                !(non_empty(req.fields.get(*f))
                    || (f.as_str() == "comment"
                        && req.comment.as_deref().is_some_and(|c| !c.trim().is_empty())))
            })
            .collect();
        if !missing.is_empty() {
            return Err(with_allowed(
                Error::invalid(format!(
                    "action {:?} requires the fields {missing:?}",
                    action.key
                ))
                .with_extra("missing_fields", json!(missing)),
            ));
        }
        if let Some(c) = &req.comment {
            if c.chars().count() > 10_000 {
                return Err(Error::invalid("comment is longer than 10000 characters"));
            }
        }
        let assignee = uuid_field(&req.fields, "assignee")?;
        let department = uuid_field(&req.fields, "department")?;
        self.ensure_in_tenant(Member::User, &case.tenant, assignee, "fields.assignee")
            .await?;
        self.ensure_in_tenant(
            Member::Department,
            &case.tenant,
            department,
            "fields.department",
        )
        .await?;
        let from = case.state.clone();
        let from_entered = case.state_entered_at;
        let to_state: &StateDef = def
            .state(&action.to)
            .ok_or_else(|| Error::internal("validated definition lost a state"))?;
        let changed = action.to != case.state;
        for (k, v) in &req.fields {
            if k != "assignee" && k != "department" {
                case.data.insert(k.clone(), v.clone());
            }
        }
        if let Some(c) = &req.comment {
            case.data
                .insert("last_comment".into(), Value::from(c.clone()));
        }
        if changed {
            case.state = action.to.clone();
            case.state_entered_at = now;
            case.assignee_id = None;
            case.queue_role = None;
            case.escalation_level = 0;
            case.clock_started_at = None;
            case.state_due_at = None;
            case.state_warn_at = None;
        }
        if assignee.is_some() {
            case.assignee_id = assignee;
        }
        if department.is_some() {
            case.queue_department_id = department;
            if assignee.is_none() {
                case.assignee_id = None;
            }
        }
        if changed && to_state.clock == ClockStart::OnEntry {
            start_clock(&mut case, to_state, cal, now)?;
        }
        if to_state.terminal {
            case.closed_at = Some(now);
        } else if changed {
            case.closed_at = None;
        }
        let expected = case.row_version;
        case.row_version += 1;
        store::update_case(&mut *tx, &case, expected, now).await?;
        store::insert_history(
            &mut *tx,
            &store::NewHistory {
                case: &case,
                actor: &actor.actor,
                action: &action.key,
                from_state: Some(&from),
                comment: req.comment.as_deref(),
                attachments: &req.attachments,
                from_entered_at: Some(from_entered),
                at: now,
            },
        )
        .await?;
        if changed {
            store::delete_state_timers(&mut *tx, case.id).await?;
            insert_state_timers(tx, &case, to_state, cal).await?;
        }
        if to_state.terminal {
            store::delete_open_timers(&mut *tx, case.id).await?;
        } else if changed && def.state(&from).is_some_and(|s| s.terminal) {
            // Reopened: the case deadline runs again from now.
            if let Some(s) = &def.sla {
                let due = micros(deadline(cal, dt(now), s.due)?);
                case.case_due_at = Some(due);
                store::set_case_due(&mut *tx, case.id, due).await?;
                store::insert_timers(&mut *tx, case.id, &[("case_breach", 0, due)]).await?;
            }
        }
        let detail = format!("{from} -> {}", case.state);
        self.iam
            .record(
                tx,
                &AuditEntry {
                    tenant: &case.tenant,
                    actor: &actor.actor,
                    action: &format!("case.{}", action.key.to_lowercase()),
                    resource_type: "case",
                    resource_id: &case.id.to_string(),
                    detail: Some(&detail),
                    ..Default::default()
                },
                Some(EventEnvelope::new(
                    Some(&case.tenant),
                    PlatformEvent::CaseTransitioned {
                        case_id: case.id,
                        flow: case.flow_key.clone(),
                        action: action.key.clone(),
                        from,
                        to: case.state.clone(),
                        module: case.module.clone(),
                    },
                )),
            )
            .await?;
        Ok(case)
    }
}

/// Starts the state's clock at `now`: due and warning times.
pub(crate) fn start_clock(
    case: &mut CaseRow,
    state: &StateDef,
    cal: &WorkCalendar,
    now: i64,
) -> Result<()> {
    case.clock_started_at = Some(now);
    if let Some(sla) = &state.sla {
        let due = deadline(cal, dt(now), sla.due)?;
        case.state_due_at = Some(micros(due));
        case.state_warn_at = sla
            .warn_before
            .map(|w| warn_time(cal, dt(now), due, w).map(micros))
            .transpose()?;
    }
    Ok(())
}

/// Timers of the state the case is in, once its clock runs: warning, breach, escalations
/// (one multi-row insert).
pub(crate) async fn insert_state_timers(
    tx: &mut Tx,
    case: &CaseRow,
    state: &StateDef,
    cal: &WorkCalendar,
) -> Result<()> {
    let Some(started) = case.clock_started_at else {
        return Ok(());
    };
    let mut timers: Vec<store::NewTimer> = Vec::new();
    if let Some(warn_at) = case.state_warn_at {
        timers.push(("warn", 0, warn_at));
    }
    if let Some(due_at) = case.state_due_at {
        timers.push(("breach", 0, due_at));
    }
    for (step, escalation) in state.escalations.iter().enumerate() {
        timers.push((
            "escalate",
            step as i64,
            micros(deadline(cal, dt(started), escalation.after)?),
        ));
    }
    store::insert_timers(tx, case.id, &timers).await
}
