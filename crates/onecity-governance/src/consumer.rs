//! The governance bus consumer (`governance.events`): twin changes → alerts (through the
//! alert rules, see [`crate::cap`]); work-order transitions → event status (a work order
//! reaching `CLOSED` closes its event, `REOPEN` reopens it, `DISPATCH` moves it to the
//! case's department; SLA breaches and escalations go to the event's history). Everything happens inside the delivery transaction, so a redelivery
//! after a crash neither loses nor doubles a change.

use crate::service::log;
use futures::future::BoxFuture;
use onecity_core::events::{EventEnvelope, PlatformEvent};
use onecity_store::bus::Handler;
use onecity_store::{args, Tx};
use serde_json::json;

async fn event_of_case(tx: &mut Tx, case: uuid::Uuid) -> onecity_core::Result<Option<uuid::Uuid>> {
    tx.fetch_optional("SELECT id FROM gov_events WHERE case_id = $1", args![case])
        .await?
        .map(|r| r.uuid("id"))
        .transpose()
}

/// The consumer.
pub struct GovConsumer;

impl Handler for GovConsumer {
    fn name(&self) -> &str {
        "governance.events"
    }

    fn handle<'a>(
        &'a self,
        tx: &'a mut Tx,
        env: &'a EventEnvelope,
    ) -> BoxFuture<'a, onecity_core::Result<()>> {
        Box::pin(async move {
            match &env.event {
                PlatformEvent::TwinEntityChanged {
                    entity_id,
                    entity_type,
                    values,
                    observed_at,
                } => {
                    let Some(tenant) = &env.tenant else {
                        return Ok(());
                    };
                    let n = crate::cap::on_twin_change(
                        tx,
                        tenant,
                        env.id,
                        entity_id,
                        entity_type,
                        values,
                        *observed_at,
                    )
                    .await?;
                    if n > 0 {
                        tracing::info!(tenant = %tenant, entity = %entity_id, alerts = n, "twin change raised alerts");
                    }
                }
                PlatformEvent::CaseTransitioned {
                    case_id,
                    action,
                    to,
                    ..
                } => {
                    let Some(ev) = tx
                        .fetch_optional(
                            "SELECT id FROM gov_events WHERE case_id = $1",
                            args![*case_id],
                        )
                        .await?
                    else {
                        return Ok(());
                    };
                    let id = ev.uuid("id")?;
                    let at = env.at;
                    if to == "CLOSED" {
                        tx.execute("UPDATE gov_events SET status = 'closed', closed_at = $1, updated_at = $1 WHERE id = $2", args![at, id]).await?;
                    } else if action == "REOPEN" {
                        tx.execute("UPDATE gov_events SET status = 'open', closed_at = NULL, updated_at = $1 WHERE id = $2", args![at, id]).await?;
                    } else {
                        tx.execute(
                            "UPDATE gov_events SET updated_at = $1 WHERE id = $2",
                            args![at, id],
                        )
                        .await?;
                    }
                    if action == "DISPATCH" || action == "RETURN" {
                        let dept = tx
                            .fetch_optional(
                                "SELECT queue_department_id FROM flow_cases WHERE id = $1",
                                args![*case_id],
                            )
                            .await?
                            .and_then(|r| r.opt_text("queue_department_id").ok().flatten());
                        if action == "DISPATCH" {
                            if let Some(d) = &dept {
                                tx.execute(
                                    "UPDATE gov_events SET department_id = $1 WHERE id = $2",
                                    args![d.clone(), id],
                                )
                                .await?;
                            }
                        }
                    }
                    log(
                        tx,
                        id,
                        at,
                        "system",
                        &format!("work_order.{}", action.to_lowercase()),
                        Some(json!({"case_id": case_id, "to": to})),
                    )
                    .await?;
                }
                PlatformEvent::SlaBreached {
                    case_id,
                    state,
                    scope,
                    ..
                } => {
                    if let Some(id) = event_of_case(tx, *case_id).await? {
                        log(
                            tx,
                            id,
                            env.at,
                            "system",
                            "work_order.overdue",
                            Some(json!({"case_id": case_id, "state": state, "scope": scope})),
                        )
                        .await?;
                    }
                }
                PlatformEvent::CaseEscalated {
                    case_id,
                    state,
                    step,
                    kind,
                    ..
                } => {
                    if let Some(id) = event_of_case(tx, *case_id).await? {
                        log(tx, id, env.at, "system", "work_order.escalated", Some(json!({"case_id": case_id, "state": state, "step": step, "kind": kind}))).await?;
                    }
                }
                _ => {}
            }
            Ok(())
        })
    }
}
