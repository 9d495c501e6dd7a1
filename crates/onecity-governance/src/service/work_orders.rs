//! Work orders: each dispatched event runs as a `hotline-12345` case on the shared workflow
//! (`onecity-flow`), opened in the event's own transaction, with the category's deadline
//! in working days on the jurisdiction's calendar.

use super::{Gov, Limits};
use crate::model::*;
use crate::store;
use onecity_core::{time, Error, Result};
use onecity_flow::model::NewCase;
use onecity_iam::Principal;
use onecity_store::Tx;
use serde_json::{json, Map, Value};
use uuid::Uuid;

impl Gov {
    /// `start` + `days` working days on the calendar of `jurisdiction` (µs).
    pub async fn deadline(
        &self,
        tenant: &str,
        jurisdiction: Option<Uuid>,
        start: i64,
        days: u32,
    ) -> Result<i64> {
        let cal = self.flow.calendar_for(tenant, jurisdiction).await?;
        cal.add_working_days(time::to_datetime(start), days)
            .map(|t| t.timestamp_micros())
            .map_err(|e| Error::invalid(format!("the deadline cannot be computed: {e}")))
    }

    #[allow(clippy::too_many_arguments)]
    /// Opens the work order of `event` in `dept`'s queue inside `tx` (deadline `due`,
    /// µs) and links it to the event; returns the case id.
    pub(crate) async fn open_work_order(
        &self,
        tx: &mut Tx,
        tenant: &str,
        event: Uuid,
        svc: &ServiceDef,
        description: &Option<String>,
        place: &Placement,
        dept: Uuid,
        co: &[Uuid],
        due: Option<i64>,
    ) -> Result<Uuid> {
        let mut data = Map::new();
        data.insert("event_id".into(), json!(event));
        data.insert("service_code".into(), json!(svc.code));
        data.insert("co_departments".into(), json!(co));
        if let Some(d) = due {
            data.insert("due_at".into(), json!(time::rfc3339(d)));
        }
        if let Some(d) = description {
            data.insert("description".into(), json!(d));
        }
        let title: String = format!(
            "{} — {}",
            svc.name_zh.as_deref().unwrap_or(&svc.name),
            description.as_deref().unwrap_or("")
        )
        .chars()
        .take(200)
        .collect();
        let case = self
            .new_case_in(tx, tenant, &title, data, place.jurisdiction_id, dept)
            .await?;
        store::events::set_case(&mut *tx, event, case).await?;
        Ok(case)
    }

    /// Installs the shipped flows in `tenant` when the work-order flow is missing (done
    /// before a transaction that creates work orders, as installing writes on its own).
    pub(crate) async fn ensure_work_order_flow(&self, tenant: &str) -> Result<()> {
        if self
            .flow
            .definition(tenant, Limits::WORK_ORDER_FLOW, None)
            .await
            .is_err()
        {
            self.flow.install_shipped(tenant).await?;
        }
        Ok(())
    }

    /// Opens a work order (`hotline-12345` case) in `dept`'s queue inside `tx`; call
    /// [`Gov::ensure_work_order_flow`] before opening `tx`.
    pub(crate) async fn new_case_in(
        &self,
        tx: &mut Tx,
        tenant: &str,
        title: &str,
        data: Map<String, Value>,
        jurisdiction: Option<Uuid>,
        dept: Uuid,
    ) -> Result<Uuid> {
        let n = NewCase {
            flow: Limits::WORK_ORDER_FLOW.into(),
            title: title.to_string(),
            data: Some(data),
            jurisdiction_id: jurisdiction,
            department_id: Some(dept),
            action: None,
        };
        Ok(self
            .flow
            .create_case_in(tx, &Principal::system(), tenant, &n)
            .await?
            .id)
    }
}
