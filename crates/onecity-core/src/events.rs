//! Typed platform events.
//!
//! Every module publishes what changed as a [`PlatformEvent`] wrapped in an
//! [`EventEnvelope`]. Envelopes are written to the outbox in the same transaction as the
//! change and delivered at least once to every subscriber; subscribers deduplicate by
//! `id`. The topic (`onecity.<module>.<event>`) is also the NATS subject.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What happened. Serialized with an internal `type` tag in snake_case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlatformEvent {
    /// A tenant was created.
    TenantCreated {
        /// Tenant code.
        code: String,
    },
    /// A jurisdiction node was created.
    JurisdictionCreated {
        /// Node id.
        id: Uuid,
        /// Level name.
        level: String,
        /// Official code.
        code: String,
    },
    /// A department was created.
    DepartmentCreated {
        /// Department id.
        id: Uuid,
        /// Jurisdiction it serves.
        jurisdiction_id: Uuid,
    },
    /// A principal (staff, citizen, company, app) was created.
    PrincipalCreated {
        /// Principal id.
        id: Uuid,
        /// `staff`, `citizen`, `company` or `app`.
        kind: String,
    },
    /// Boundaries or grids were imported or changed; spatial indexes must reload.
    GeometryChanged {
        /// Number of features written.
        features: u64,
    },
    /// The audit chain head of a tenant was anchored (signed).
    AuditAnchored {
        /// Sequence number of the anchored head.
        seq: i64,
        /// Hex SHA-256 of the head record.
        hash: String,
    },
    /// A workflow case moved (or stayed, for self-loops) by an action.
    CaseTransitioned {
        /// Case id.
        case_id: Uuid,
        /// Flow key.
        flow: String,
        /// Action key.
        action: String,
        /// State before.
        from: String,
        /// State after.
        to: String,
        /// Module owning the flow.
        module: String,
    },
    /// A case's SLA reached its warning time (`scope` = `state` or `case`).
    SlaWarning {
        /// Case id.
        case_id: Uuid,
        /// Flow key.
        flow: String,
        /// State the case is in.
        state: String,
        /// `state` or `case`.
        scope: String,
    },
    /// A case breached its SLA (`scope` = `state` or `case`).
    SlaBreached {
        /// Case id.
        case_id: Uuid,
        /// Flow key.
        flow: String,
        /// State the case is in.
        state: String,
        /// `state` or `case`.
        scope: String,
        /// Department the case was queued at, if any.
        department_id: Option<Uuid>,
    },
    /// An escalation step ran on a case.
    CaseEscalated {
        /// Case id.
        case_id: Uuid,
        /// Flow key.
        flow: String,
        /// State the case is in.
        state: String,
        /// Step index in the state's escalation list.
        step: i64,
        /// `notify`, `reassign` or `action`.
        kind: String,
    },
    /// Attributes of a digital-twin entity (NGSI-LD) were created or changed.
    ///
    /// Published by `onecity-twin` once per entity per write (create, update, append,
    /// batch member, ingested measurement), after the change committed. Consumers such as
    /// the brain and governance (sensor alerts) react to it.
    TwinEntityChanged {
        /// Entity id (a URI, e.g. `urn:ngsi-ld:WaterObserved:venice-punta-salute`).
        entity_id: String,
        /// Entity type compacted with the core context (e.g. `WaterObserved`); the
        /// expanded IRI when the writer's term has no short form.
        entity_type: String,
        /// Changed attributes in keyValues form: attribute name (compacted as for
        /// `entity_type`) → value (number, string, object, array; GeoJSON for GeoProperties).
        values: serde_json::Value,
        /// Observation time of the change (µs since the epoch): the attributes'
        /// `observedAt` when given, else the commit time.
        observed_at: i64,
    },
    /// A digital-twin entity was deleted.
    TwinEntityDeleted {
        /// Entity id.
        entity_id: String,
        /// Entity type, compacted as in [`PlatformEvent::TwinEntityChanged`].
        entity_type: String,
    },
    /// A catalog dataset was created, updated or deleted (`onecity-catalog`).
    DatasetChanged {
        /// Dataset id.
        id: Uuid,
        /// Dataset name (slug).
        name: String,
        /// `create`, `update` or `delete`.
        change: String,
        /// Revision after the change.
        revision: i64,
    },
    /// A service item (事项) of the citizen service hall was created, changed (a new
    /// version), published or withdrawn (`onecity-services`).
    ServiceItemChanged {
        /// Item code (unique in the tenant).
        code: String,
        /// `create`, `update`, `publish` or `withdraw`.
        change: String,
        /// The version written or published (the last published one for `withdraw`).
        version: i64,
    },
    /// A free-form test or operator event (e.g. `onecity admin emit`).
    Note {
        /// The text.
        text: String,
    },
}

impl PlatformEvent {
    /// The event's topic / NATS subject, e.g. `onecity.iam.jurisdiction_created`.
    pub fn topic(&self) -> &'static str {
        match self {
            Self::TenantCreated { .. } => "onecity.iam.tenant_created",
            Self::JurisdictionCreated { .. } => "onecity.iam.jurisdiction_created",
            Self::DepartmentCreated { .. } => "onecity.iam.department_created",
            Self::PrincipalCreated { .. } => "onecity.iam.principal_created",
            Self::GeometryChanged { .. } => "onecity.geo.geometry_changed",
            Self::AuditAnchored { .. } => "onecity.store.audit_anchored",
            Self::CaseTransitioned { .. } => "onecity.flow.case_transitioned",
            Self::SlaWarning { .. } => "onecity.flow.sla_warning",
            Self::SlaBreached { .. } => "onecity.flow.sla_breached",
            Self::CaseEscalated { .. } => "onecity.flow.case_escalated",
            Self::TwinEntityChanged { .. } => "onecity.twin.entity_changed",
            Self::TwinEntityDeleted { .. } => "onecity.twin.entity_deleted",
            Self::DatasetChanged { .. } => "onecity.catalog.dataset_changed",
            Self::ServiceItemChanged { .. } => "onecity.services.item_changed",
            Self::Note { .. } => "onecity.ops.note",
        }
    }
}

/// An event with its delivery metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    /// Event id (UUIDv7); subscribers deduplicate by it.
    pub id: Uuid,
    /// Tenant code the event belongs to, if any.
    pub tenant: Option<String>,
    /// When the change committed, microseconds since the epoch.
    pub at: i64,
    /// The event.
    pub event: PlatformEvent,
}

impl EventEnvelope {
    /// A new envelope with a fresh id, stamped now.
    pub fn new(tenant: Option<&str>, event: PlatformEvent) -> Self {
        Self {
            id: crate::new_id(),
            tenant: tenant.map(str::to_string),
            at: crate::time::now_micros(),
            event,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn envelope_round_trips() {
        let e = EventEnvelope::new(Some("hangzhou"), PlatformEvent::Note { text: "hi".into() });
        let j = serde_json::to_string(&e).unwrap();
        assert!(j.contains("\"type\":\"note\""));
        let back: EventEnvelope = serde_json::from_str(&j).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.event.topic(), "onecity.ops.note");
    }
}
