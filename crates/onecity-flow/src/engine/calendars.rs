//! Working-day calendars: a tenant's, or one per jurisdiction subtree, parsed and cached
//! per node for [`CALENDAR_CACHE_TTL`](super::CALENDAR_CACHE_TTL).

use super::{Flow, CALENDAR_CACHE_TTL};
use crate::calendar::WorkCalendar;
use crate::store;
use onecity_core::{Error, Result};
use onecity_iam::{Permission, Principal};
use onecity_store::audit::AuditEntry;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

impl Flow {
    /// Sets the working-day calendar of a tenant (`jurisdiction_id` = `None`) or of one
    /// jurisdiction and its subtree. The body is a full calendar (see
    /// [`WorkCalendar::from_json`]) or `{"base": "china_mainland", "regional": {…}}`: the
    /// shipped mainland-China calendar with regional holidays merged
    /// ([`WorkCalendar::with_regional`]).
    ///
    /// Errors: `invalid_input` with `errors` (every problem); `forbidden` without
    /// `flow:admin` there.
    pub async fn put_calendar(
        &self,
        p: &Principal,
        tenant: &str,
        jurisdiction_id: Option<Uuid>,
        json_text: &str,
    ) -> Result<()> {
        let t = self.iam.tenant(p, tenant).await?;
        let j = self
            .iam
            .jurisdiction_unchecked(tenant, jurisdiction_id.unwrap_or(t.root_jurisdiction_id))
            .await?;
        if !p.can_at(Permission::FlowAdmin, tenant, &j.path) {
            return Err(Error::forbidden(
                "setting a calendar needs flow:admin over that jurisdiction",
            ));
        }
        parse_calendar(json_text)?;
        let now = self.now();
        let mut tx = self.iam.db().begin().await?;
        match jurisdiction_id {
            None => store::replace_tenant_calendar(&mut tx, tenant, json_text, now).await?,
            Some(jid) => {
                store::replace_jurisdiction_calendar(&mut tx, tenant, jid, json_text, now).await?
            }
        }
        self.iam
            .record(
                &mut tx,
                &AuditEntry {
                    tenant,
                    actor: &p.actor(),
                    action: "flow.calendar",
                    resource_type: "jurisdiction",
                    resource_id: &j.id.to_string(),
                    ..Default::default()
                },
                None,
            )
            .await?;
        tx.commit().await?;
        self.calendars.write().expect("calendar lock").clear();
        Ok(())
    }

    /// The calendar of a case in `jurisdiction_id`: the nearest calendar set on it or an
    /// ancestor, else the tenant's, else mainland China's.
    pub async fn calendar_for(
        &self,
        tenant: &str,
        jurisdiction_id: Option<Uuid>,
    ) -> Result<Arc<WorkCalendar>> {
        let Some(jid) = jurisdiction_id else {
            return self.calendar(tenant).await;
        };
        let key = format!("{tenant}/{jid}");
        if let Some((at, c)) = self.calendars.read().expect("calendar lock").get(&key) {
            if at.elapsed() < CALENDAR_CACHE_TTL {
                return Ok(c.clone());
            }
        }
        let cal = match self.own_calendar_for(tenant, jid).await? {
            Some(c) => c,
            None => self.calendar(tenant).await?,
        };
        self.calendars
            .write()
            .expect("calendar lock")
            .insert(key, (std::time::Instant::now(), cal.clone()));
        Ok(cal)
    }

    /// The calendar set on jurisdiction `jid` or on its nearest ancestor that has one, or
    /// `None` when neither it nor any ancestor has its own calendar (not cached).
    ///
    /// Errors: `not_found` when `jid` is not a jurisdiction of `tenant`.
    pub async fn own_calendar_for(
        &self,
        tenant: &str,
        jid: Uuid,
    ) -> Result<Option<Arc<WorkCalendar>>> {
        let j = self.iam.jurisdiction_unchecked(tenant, jid).await?;
        let own: HashMap<String, String> = store::jurisdiction_calendars(self.iam.db(), tenant)
            .await?
            .into_iter()
            .map(|row| (row.jurisdiction_id, row.calendar))
            .collect();
        match j.path.rsplit('/').find_map(|id| own.get(id)) {
            Some(text) => Ok(Some(Arc::new(parse_calendar(text)?))),
            None => Ok(None),
        }
    }

    /// The calendar deadlines of `tenant` are counted on.
    pub async fn calendar(&self, tenant: &str) -> Result<Arc<WorkCalendar>> {
        if let Some((at, c)) = self.calendars.read().expect("calendar lock").get(tenant) {
            if at.elapsed() < CALENDAR_CACHE_TTL {
                return Ok(c.clone());
            }
        }
        let cal = match store::tenant_calendar(self.iam.db(), tenant).await? {
            Some(text) => Arc::new(parse_calendar(&text)?),
            None => self.default_calendar.clone(),
        };
        self.calendars
            .write()
            .expect("calendar lock")
            .insert(tenant.to_string(), (std::time::Instant::now(), cal.clone()));
        Ok(cal)
    }
}

/// Parses a calendar body: a full calendar, or `{"base": "china_mainland", "regional": {…}}`.
fn parse_calendar(text: &str) -> Result<WorkCalendar> {
    let invalid = |e: crate::calendar::CalendarError| {
        let errs: Vec<String> = e.problems().iter().map(|p| p.to_string()).collect();
        Error::invalid(format!("the calendar is not valid: {e}")).with_extra("errors", json!(errs))
    };
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Error::invalid(format!("calendar is not JSON: {e}")))?;
    match v.get("base").and_then(Value::as_str) {
        Some("china_mainland") => {
            let regional = v.get("regional").ok_or_else(|| {
                Error::invalid("a calendar with a base needs \"regional\" holidays")
            })?;
            WorkCalendar::china_mainland()
                .with_regional(&regional.to_string())
                .map_err(invalid)
        }
        Some(other) => Err(Error::invalid(format!(
            "unknown calendar base {other:?}; the shipped base is \"china_mainland\""
        ))),
        None => WorkCalendar::from_json(text).map_err(invalid),
    }
}
