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
use crate::engine::{write_case, Actor, CaseRow, Flow};
use crate::model::{ActionRequest, ScanReport};
use onecity_core::events::{EventEnvelope, PlatformEvent};
use onecity_core::{Error, Result};
use onecity_store::{args, Tx, Val};
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
        let due = db
            .fetch_all(
                &format!("SELECT id FROM flow_timers WHERE fired_at IS NULL AND due_at <= $1 ORDER BY due_at LIMIT {BATCH}"),
                args![now],
            )
            .await?;
        if due.is_empty() {
            return Ok(0);
        }
        let ids: Vec<Val> = due
            .iter()
            .map(|r| r.text("id").map(Val::from))
            .collect::<Result<_>>()?;
        let mut tx = db.begin().await?;
        let first = onecity_store::placeholders(tx.backend(), 1, 1);
        let list = onecity_store::placeholders(tx.backend(), 2, ids.len());
        let mut a = vec![Val::from(now)];
        a.extend(ids.iter().cloned());
        let won = tx
            .fetch_all(&format!("UPDATE flow_timers SET fired_at = {first} WHERE id IN ({list}) AND fired_at IS NULL RETURNING id, case_id, kind, step"), &a)
            .await?;
        let case_ids: Vec<Val> = won
            .iter()
            .map(|r| r.text("case_id").map(Val::from))
            .collect::<Result<_>>()?;
        let mut cases: HashMap<Uuid, CaseRow> = HashMap::new();
        for chunk in case_ids.chunks(BATCH) {
            let sql = format!(
                "SELECT * FROM flow_cases WHERE id IN ({})",
                onecity_store::placeholders(tx.backend(), 1, chunk.len())
            );
            for r in tx.fetch_all(&sql, chunk).await? {
                let c = CaseRow::from_row(&r)?;
                cases.insert(c.id, c);
            }
        }
        let mut timers: Vec<(Uuid, String, i64)> = won
            .iter()
            .map(|r| Ok((r.uuid("case_id")?, r.text("kind")?, r.i64("step")?)))
            .collect::<Result<_>>()?;
        timers.sort_by_key(|(c, k, s)| (*c, k != "warn", *s));
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
                        write_case(tx, &case, expected, now).await?;
                        crate::engine::insert_history(
                            tx,
                            &case,
                            "system",
                            "ESCALATE_REASSIGN",
                            Some(&case.state.clone()),
                            Some(&format!("reassigned to the {role} queue")),
                            &[],
                            None,
                            now,
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
    notes: Vec<Vec<Val>>,
    events: Vec<EventEnvelope>,
    breached: Vec<Uuid>,
}

impl Batch {
    /// An in-app notification to the case's assignee, or its queue (department and/or
    /// role), or to `role`.
    fn note(&mut self, c: &CaseRow, role: Option<&str>, kind: &str, message: &str, now: i64) {
        let (principal, role) = match role {
            Some(r) => (None, Some(r.to_string())),
            None => (c.assignee_id, c.queue_role.clone()),
        };
        self.notes.push(vec![
            onecity_core::new_id().into(),
            c.tenant.clone().into(),
            principal.into(),
            role.into(),
            c.queue_department_id.into(),
            c.id.into(),
            kind.into(),
            message.into(),
            Val::from(now),
        ]);
    }

    async fn flush(self, tx: &mut Tx) -> Result<()> {
        for chunk in self.notes.chunks(300) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| {
                    format!(
                        "({})",
                        onecity_store::placeholders(tx.backend(), i * 9 + 1, 9)
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO flow_notifications (id, tenant, principal_id, role, department_id, case_id, kind, message, created_at) VALUES {}",
                rows.join(", ")
            );
            let args: Vec<Val> = chunk.iter().flatten().cloned().collect();
            tx.execute(&sql, &args).await?;
        }
        for chunk in self.breached.chunks(500) {
            let ids: Vec<Val> = chunk.iter().map(|id| Val::from(*id)).collect();
            tx.execute(
                &format!(
                    "UPDATE flow_cases SET breached = 1 WHERE id IN ({})",
                    onecity_store::placeholders(tx.backend(), 1, ids.len())
                ),
                &ids,
            )
            .await?;
        }
        onecity_store::outbox::enqueue_many(tx, &self.events).await
    }
}
