//! The SLA scheduler: fires due timers (warnings, breaches, escalation steps), each exactly
//! once, also across restarts and replicas.
//!
//! Timers live in `flow_timers` (written in the same transaction as the transition that
//! starts a state's clock). A pass takes the due, unfired timers in batches; each batch is
//! one transaction that first marks its timers fired with
//! `UPDATE … SET fired_at = now WHERE id IN (…) AND fired_at IS NULL RETURNING id` — only
//! the timers this transaction won are acted on, so two schedulers never fire one twice —
//! then acts on them and commits. A crash before commit leaves them unfired for the next pass.

use crate::definition::EscalationStep;
use crate::engine::{Actor, CaseRow, Flow};
use crate::model::{ActionRequest, ScanReport};
use crate::store;
use onecity_core::events::{EventEnvelope, PlatformEvent};
use onecity_core::{Error, Result};
use onecity_store::Tx;
use std::collections::HashMap;
use uuid::Uuid;

/// Timers handled per transaction.
pub const BATCH: usize = 500;

impl Flow {
    /// Fires every timer due at or before `now` (µs since the epoch); returns what it did.
    pub async fn scan_sla(&self, now: i64) -> Result<ScanReport> {
        let mut report = ScanReport::default();
        loop {
            let n = self.scan_batch(now, &mut report).await?;
            if n < BATCH {
                break;
            }
        }
        Ok(report)
    }

    async fn scan_batch(&self, now: i64, report: &mut ScanReport) -> Result<usize> {
        let db = self.iam.db();
        let due = store::due_timer_ids(db, now, BATCH).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut tx = db.begin().await?;
        let won = store::fire_timers(&mut tx, &due, now).await?;
        let case_ids: Vec<Uuid> = won.iter().map(|timer| timer.case_id).collect();
        let mut cases: HashMap<Uuid, CaseRow> = store::cases_by_ids(&mut tx, &case_ids, BATCH)
            .await?
            .into_iter()
            .map(|case| (case.id, case))
            .collect();
        let mut timers: Vec<(Uuid, String, i64)> = won
            .into_iter()
            .map(|timer| (timer.case_id, timer.kind, timer.step))
            .collect();
        timers.sort_by_key(|(case_id, kind, step)| (*case_id, kind != "warn", *step));
        let mut batch = Batch::default();
        for (case_id, kind, step) in timers {
            let Some(case) = cases.remove(&case_id) else {
                continue;
            };
            report.fired += 1;
            let case = self
                .fire(&mut tx, &mut batch, case, &kind, step, now, report)
                .await?;
            cases.insert(case_id, case);
        }
        batch.flush(&mut tx).await?;
        tx.commit().await?;
        self.iam.bus().poke();
        Ok(due.len())
    }

    #[allow(clippy::too_many_arguments)]
    async fn fire(
        &self,
        tx: &mut Tx,
        batch: &mut Batch,
        mut case: CaseRow,
        kind: &str,
        step: i64,
        now: i64,
        report: &mut ScanReport,
    ) -> Result<CaseRow> {
        if case.closed_at.is_some() {
            return Ok(case);
        }
        let tenant = case.tenant.clone();
        let scope = if kind.starts_with("case") {
            "case"
        } else {
            "state"
        };
        match kind {
            "warn" | "case_warn" => {
                report.warnings += 1;
                let msg = format!(
                    "{}: {} deadline approaching ({})",
                    case.title, scope, case.state
                );
                self.notify_waiting(batch, &case, "sla_warning", &msg, now)
                    .await?;
                let ev = PlatformEvent::SlaWarning {
                    case_id: case.id,
                    flow: case.flow_key.clone(),
                    state: case.state.clone(),
                    scope: scope.into(),
                };
                batch.events.push(EventEnvelope::new(Some(&tenant), ev));
            }
            "breach" | "case_breach" => {
                report.breaches += 1;
                if !case.breached {
                    case.breached = true;
                    batch.breached.push(case.id);
                }
                let msg = format!("{}: {} deadline missed ({})", case.title, scope, case.state);
                self.notify_waiting(batch, &case, "sla_breached", &msg, now)
                    .await?;
                let ev = PlatformEvent::SlaBreached {
                    case_id: case.id,
                    flow: case.flow_key.clone(),
                    state: case.state.clone(),
                    scope: scope.into(),
                    department_id: case.queue_department_id,
                };
                batch.events.push(EventEnvelope::new(Some(&tenant), ev));
            }
            "escalate" => {
                let (_, def) = self
                    .definition(&tenant, &case.flow_key, Some(case.flow_version))
                    .await?;
                let Some(esc) = def
                    .state(&case.state)
                    .and_then(|s| s.escalations.get(step as usize))
                    .cloned()
                else {
                    return Ok(case);
                };
                report.escalations += 1;
                let kind_name = match &esc.then {
                    EscalationStep::Notify { roles } => {
                        for r in roles {
                            let msg = format!(
                                "{}: escalated to {r} after {:?} in {}",
                                case.title, esc.after, case.state
                            );
                            batch.note(&case, Some(r), "escalation", &msg, now);
                        }
                        "notify"
                    }
                    EscalationStep::Reassign { role } => {
                        let expected = case.row_version;
                        case.row_version += 1;
                        case.assignee_id = None;
                        case.queue_role = Some(role.clone());
                        case.escalation_level += 1;
                        store::update_case(&mut *tx, &case, expected, now).await?;
                        store::insert_history(
                            &mut *tx,
                            &store::NewHistory {
                                case: &case,
                                actor: "system",
                                action: "ESCALATE_REASSIGN",
                                from_state: Some(&case.state.clone()),
                                comment: Some(&format!("reassigned to the {role} queue")),
                                attachments: &[],
                                from_entered_at: None,
                                at: now,
                            },
                        )
                        .await?;
                        let msg = format!("{}: reassigned to the {role} queue", case.title);
                        batch.note(&case, Some(role), "escalation", &msg, now);
                        "reassign"
                    }
                    EscalationStep::Action { action } => {
                        let cal = self.calendar_for(&tenant, case.jurisdiction_id).await?;
                        let req = ActionRequest {
                            action: action.clone(),
                            comment: Some("automatic escalation".into()),
                            ..Default::default()
                        };
                        case = self
                            .transition(tx, &def, &cal, case, &Actor::system(), &req, now)
                            .await?;
                        "action"
                    }
                };
                let ev = PlatformEvent::CaseEscalated {
                    case_id: case.id,
                    flow: case.flow_key.clone(),
                    state: case.state.clone(),
                    step,
                    kind: kind_name.into(),
                };
                batch.events.push(EventEnvelope::new(Some(&tenant), ev));
            }
            other => return Err(Error::internal(format!("unknown timer kind {other}"))),
        }
        Ok(case)
    }
}

impl Flow {
    /// Notifies whoever the case waits for: its assignee, its role queue, or else every
    /// role that can act in its state.
    async fn notify_waiting(
        &self,
        batch: &mut Batch,
        case: &CaseRow,
        kind: &str,
        msg: &str,
        now: i64,
    ) -> Result<()> {
        if case.assignee_id.is_some() || case.queue_role.is_some() {
            batch.note(case, None, kind, msg, now);
            return Ok(());
        }
        let (_, def) = self
            .definition(&case.tenant, &case.flow_key, Some(case.flow_version))
            .await?;
        let mut roles: Vec<&str> = def
            .actions_from(&case.state)
            .flat_map(|a| a.roles.iter().map(String::as_str))
            .filter(|r| !crate::definition::PSEUDO_ROLES.contains(r))
            .collect();
        roles.sort_unstable();
        roles.dedup();
        for r in roles {
            batch.note(case, Some(r), kind, msg, now);
        }
        Ok(())
    }
}

/// Writes collected during a batch, flushed as multi-row statements before its commit
/// (one statement per few hundred rows instead of one per timer).
#[derive(Default)]
struct Batch {
    notes: Vec<store::NewNotification>,
    events: Vec<EventEnvelope>,
    breached: Vec<Uuid>,
}

impl Batch {
    /// An in-app notification to the case's assignee, or its queue (department and/or
    /// role), or to `role`.
    fn note(&mut self, case: &CaseRow, role: Option<&str>, kind: &str, message: &str, now: i64) {
        let (principal_id, role) = match role {
            Some(role) => (None, Some(role.to_string())),
            None => (case.assignee_id, case.queue_role.clone()),
        };
        self.notes.push(store::NewNotification {
            tenant: case.tenant.clone(),
            principal_id,
            role,
            department_id: case.queue_department_id,
            case_id: case.id,
            kind: kind.into(),
            message: message.into(),
            created_at: now,
        });
    }

    /// Writes the notifications (300 rows per statement), the breached marks (500 ids per
    /// statement) and the outbox events.
    async fn flush(self, tx: &mut Tx) -> Result<()> {
        store::insert_notifications(&mut *tx, &self.notes, 300).await?;
        store::mark_breached(&mut *tx, &self.breached, 500).await?;
        onecity_store::outbox::enqueue_many(tx, &self.events).await
    }
}
