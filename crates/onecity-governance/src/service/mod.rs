//! The governance service, by capability: settings and display zones ([`settings`]),
//! categories ([`categories`]), placement and duplicate search ([`placement`]), dispatch
//! rules and re-dispatch ([`dispatch`]), events ([`events`]), work orders on the shared
//! workflow ([`work_orders`]) and statistics ([`stats`]). Every SQL statement lives in
//! [`crate::store`].
//!
//! This module holds [`Gov`] itself, its documented [`Limits`], and the helpers the
//! capability files share (audit, committing a change of an event, the event log).

mod categories;
mod dispatch;
mod events;
mod placement;
mod settings;
mod stats;
mod work_orders;

pub(crate) use categories::check_attributes;

use crate::model::EventView;
use crate::store;
use onecity_core::{Error, Result};
use onecity_flow::Flow;
use onecity_geo::Geo;
use onecity_iam::{Iam, Principal};
use onecity_store::audit::AuditEntry;
use onecity_store::Tx;
use serde_json::Value;
use uuid::Uuid;

/// Documented limits of the governance API.
pub struct Limits;

impl Limits {
    /// Lease of a plan runner's claim on an alert (seconds): a claim older than this is
    /// taken to belong to a runner that died, and another pass or replica re-claims it.
    pub const PLAN_LEASE_SECS: i64 = 300;
    /// Longest description (characters).
    pub const DESCRIPTION_CHARS: usize = 4000;
    /// Most events in one page of the own API.
    pub const PAGE_MAX: usize = 500;
    /// Most requests in one GeoReport v2 `GET requests` answer (the spec's example limit).
    pub const OPEN311_MAX: usize = 1000;
    /// Largest CSV import (bytes).
    pub const IMPORT_BYTES: usize = 64 * 1024 * 1024;
    /// Flow the work orders run on.
    pub const WORK_ORDER_FLOW: &'static str = "hotline-12345";
}

/// Great-circle distance in metres: the platform's one function, re-exported here for
/// governance's callers.
pub use onecity_core::earth::haversine_m;

/// The governance service; cheap to clone.
#[derive(Clone)]
pub struct Gov {
    pub(crate) geo: Geo,
    pub(crate) flow: Flow,
}

impl axum::extract::FromRef<Gov> for Iam {
    fn from_ref(g: &Gov) -> Iam {
        g.geo.iam().clone()
    }
}

/// `value` as JSON text.
fn json_text(v: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(v).map_err(Error::internal)
}

/// Whether `s` is a valid category code: 1..64 ASCII letters, digits, `-`, `_` or `.`.
fn code_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The colour levels and their response levels (I is the most severe).
pub const LEVELS: [(&str, &str); 4] = [
    ("blue", "IV"),
    ("yellow", "III"),
    ("orange", "II"),
    ("red", "I"),
];

/// Response level of a colour (`red` → `I`).
pub fn response_level(colour: &str) -> Option<&'static str> {
    LEVELS.iter().find(|(c, _)| *c == colour).map(|(_, r)| *r)
}

impl Gov {
    /// The service over the geography and workflow services.
    pub fn new(geo: Geo, flow: Flow) -> Gov {
        Gov { geo, flow }
    }

    /// Identity service.
    pub fn iam(&self) -> &Iam {
        self.geo.iam()
    }

    /// Workflow service.
    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    fn now(&self) -> i64 {
        self.flow.now()
    }

    /// Ends a change of one event: audits `action` on it, commits `tx` and returns the
    /// event as the caller now sees it.
    async fn commit_event(
        &self,
        mut tx: Tx,
        p: &Principal,
        tenant: &str,
        action: &str,
        id: Uuid,
    ) -> Result<EventView> {
        self.audit(&mut tx, p, tenant, action, "event", &id.to_string())
            .await?;
        tx.commit().await?;
        self.event(p, tenant, id).await
    }

    /// Writes an audit record of `p` doing `action` on `rtype` `rid` in `tx`.
    async fn audit(
        &self,
        tx: &mut Tx,
        p: &Principal,
        tenant: &str,
        action: &str,
        rtype: &str,
        rid: &str,
    ) -> Result<()> {
        self.iam()
            .record(
                tx,
                &AuditEntry {
                    tenant,
                    actor: &p.actor(),
                    action,
                    resource_type: rtype,
                    resource_id: rid,
                    ..Default::default()
                },
                None,
            )
            .await
    }
}

/// Appends to an event's history.
pub(crate) async fn log(
    tx: &mut Tx,
    event: Uuid,
    at: i64,
    actor: &str,
    kind: &str,
    detail: Option<Value>,
) -> Result<()> {
    store::events::append_log(tx, event, at, actor, kind, detail.map(|d| d.to_string())).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        // Times Square to the Empire State Building: about 1.1 km.
        let d = haversine_m(40.758, -73.9855, 40.7484, -73.9857);
        assert!((1000.0..1150.0).contains(&d), "{d}");
        assert_eq!(response_level("red"), Some("I"));
        assert_eq!(response_level("blue"), Some("IV"));
    }
}
