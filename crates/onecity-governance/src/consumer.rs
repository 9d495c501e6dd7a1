//! The governance bus consumer (`governance.events`): twin changes → alerts (through the
//! alert rules, see [`crate::cap`]); work-order transitions → event status (a work order
//! reaching `CLOSED` closes its event, `REOPEN` reopens it, `DISPATCH` moves it to the
//! case's department; SLA breaches and escalations go to the event's history). Everything happens inside the delivery transaction, so a redelivery
//! after a crash neither loses nor doubles a change.

use crate::service::log;
use crate::store;
use futures::future::BoxFuture;
use onecity_core::events::{EventEnvelope, PlatformEvent};
use onecity_flow::Flow;
use onecity_store::bus::Handler;
use onecity_store::Tx;
use serde_json::json;

/// The event whose work order is `case`, if any (inside the delivery transaction).
async fn event_of_case(tx: &mut Tx, case: uuid::Uuid) -> onecity_core::Result<Option<uuid::Uuid>> {
    store::events::event_of_case(tx, case).await
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
                    let Some(id) = event_of_case(tx, *case_id).await? else {
                        return Ok(());
                    };
                    let at = env.at;
                    if to == "CLOSED" {
                        store::events::close(&mut *tx, id, at).await?;
                    } else if action == "REOPEN" {
                        store::events::reopen(&mut *tx, id, at).await?;
                    } else {
                        store::events::touch(&mut *tx, id, at).await?;
                    }
                    if action == "DISPATCH" || action == "RETURN" {
                        let dept = Flow::queue_department_in(tx, *case_id).await?;
                        if action == "DISPATCH" {
                            if let Some(department_id) = dept {
                                store::events::set_department(&mut *tx, id, department_id).await?;
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
