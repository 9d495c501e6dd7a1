//! Events (事件): creating one (validated, placed, deduplicated, dispatched, with its work
//! order in the same transaction), reading and listing, merging, extending the deadline,
//! rating, and the event's history.

use super::categories::check_attachments;
use super::{check_attributes, json_text, log, Gov, Limits};
use crate::model::*;
use crate::store;
use crate::store::events::EventRow;
use crate::timefmt;
use chrono_tz::Tz;
use onecity_core::{time, Error, ErrorCode, Result};
use onecity_iam::Principal;
use serde_json::{json, Value};
use uuid::Uuid;

impl Gov {
    /// Creates an event: validates it against its category (attributes, attachments), places
    /// it, suggests duplicates, dispatches it by the rules and opens its work order on the
    /// shared workflow with the category's deadline in working days on the jurisdiction's
    /// calendar.
    ///
    /// Errors: `invalid_input` (unknown category, bad attributes, point outside every
    /// jurisdiction, attachment over the limits, no location).
    pub async fn create_event(&self, p: &Principal, tenant: &str, n: &NewEvent) -> Result<Created> {
        self.iam().tenant(p, tenant).await?;
        let svc = self
            .service(tenant, &n.service_code)
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::NotFound,
                    format!(
                        "service_code {:?} is not a service of this city",
                        n.service_code
                    ),
                )
                .with_extra("reason", json!("unknown_service"))
            })?;
        let settings = self.settings(tenant).await?;
        let attrs = check_attributes(&svc, &n.attributes)?;
        check_attachments(&settings, &n.attachments)?;
        if let Some(d) = &n.description {
            if d.chars().count() > Limits::DESCRIPTION_CHARS {
                return Err(Error::invalid(format!(
                    "description is longer than {} characters",
                    Limits::DESCRIPTION_CHARS
                )));
            }
        }
        let place = match (n.lat, n.long) {
            (Some(lat), Some(lon)) => self.place(tenant, lat, lon, settings.border_distance_m)?,
            (None, None) => {
                if n.address_string.as_deref().unwrap_or("").trim().is_empty()
                    && n.address_id.as_deref().unwrap_or("").trim().is_empty()
                {
                    return Err(Error::invalid(
                        "a location is required: lat and long, address_string or address_id",
                    ));
                }
                Placement::default()
            }
            _ => return Err(Error::invalid("lat and long go together")),
        };
        let now = match &n.requested_at {
            None => self.now(),
            Some(t) => {
                let at = timefmt::parse_w3c(t).ok_or_else(|| {
                    Error::invalid(format!("requested_at {t:?} is not an RFC 3339 time"))
                })?;
                if at > self.now() + 60_000_000 {
                    return Err(Error::invalid("requested_at is in the future"));
                }
                at
            }
        };
        let dups = match (n.lat, n.long) {
            (Some(lat), Some(lon)) => {
                self.duplicates(tenant, &n.service_code, lat, lon, now, &settings)
                    .await?
            }
            _ => vec![],
        };
        let decision = self.decide(tenant, &n.service_code, &place).await?;
        let due = match svc.deadline_working_days {
            Some(days) => Some(
                self.deadline(tenant, place.jurisdiction_id, now, days)
                    .await?,
            ),
            None => None,
        };
        let id = onecity_core::new_id();
        let token = Uuid::new_v4().to_string();
        let source = n.source.clone().unwrap_or_else(|| "staff".into());
        let agency = match decision.department_id {
            Some(d) => Some(
                self.iam()
                    .department(&Principal::system(), tenant, d)
                    .await?
                    .name,
            ),
            None => None,
        };
        if decision.department_id.is_some() {
            self.ensure_work_order_flow(tenant).await?;
        }
        let mut tx = self.iam().db().begin().await?;
        let event = store::events::EventRow {
            id,
            tenant: tenant.into(),
            request_id: id.to_string(),
            token: token.clone(),
            source: source.clone(),
            external_id: None,
            service_code: n.service_code.clone(),
            description: n.description.clone(),
            status: "open".into(),
            status_notes: None,
            lat: n.lat,
            lon: n.long,
            address: n.address_string.clone(),
            address_id: n.address_id.clone(),
            zipcode: n.zipcode.clone(),
            jurisdiction_id: place.jurisdiction_id,
            jurisdiction_code: place.jurisdiction_code.clone(),
            jurisdiction_name: place.jurisdiction_name.clone(),
            community_code: place.community_code.clone(),
            grid_code: place.grid_code.clone(),
            near_border: place.near_border,
            attributes: Value::Object(attrs).to_string(),
            media_url: n.media_url.clone(),
            attachments: json_text(&n.attachments)?,
            agency,
            department_id: decision.department_id,
            co_departments: json_text(&decision.co_departments)?,
            case_id: None,
            duplicate_of: dups.first().copied(),
            merged_into: None,
            contact: Some(json_text(&n.contact)?),
            requested_at: now,
            updated_at: now,
            due_at: due,
            closed_at: None,
            rating: None,
            rating_comment: None,
            created_at: now,
        };
        store::events::insert_event(&mut tx, &event).await?;
        log(
            &mut tx,
            id,
            now,
            &p.actor(),
            "create",
            Some(json!({"source": source, "decision": decision})),
        )
        .await?;
        self.audit(
            &mut tx,
            p,
            tenant,
            "governance.event.create",
            "event",
            &id.to_string(),
        )
        .await?;
        // The work order is written in the event's own transaction: an acknowledged event
        // always has its work order (no window where a crash leaves one without the other).
        if let Some(dept) = decision.department_id {
            self.open_work_order(
                &mut tx,
                tenant,
                id,
                &svc,
                &n.description,
                &place,
                dept,
                &decision.co_departments,
                due,
            )
            .await?;
        }
        tx.commit().await?;
        self.iam().bus().poke();
        Ok(Created {
            event: self.event(p, tenant, id).await?,
            duplicates: dups,
            token,
        })
    }

    /// One event of `tenant`, without any access check. Errors: `not_found`.
    pub(crate) async fn load(&self, tenant: &str, id: Uuid) -> Result<EventRow> {
        store::events::event_by_id(self.iam().db(), tenant, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("event {id} does not exist")))
    }

    /// One event.
    pub async fn event(&self, p: &Principal, tenant: &str, id: Uuid) -> Result<EventView> {
        self.iam().tenant(p, tenant).await?;
        let event = self.load(tenant, id).await?;
        let zone = self.zone_for(tenant, event.jurisdiction_id).await?;
        view_of(&event, zone)
    }

    /// Events of `tenant`, newest first, `limit` (≤ 500) after `cursor` (the last id seen),
    /// optionally filtered by status, category, jurisdiction code, grid code, border flag.
    #[allow(clippy::too_many_arguments)]
    pub async fn list_events(
        &self,
        p: &Principal,
        tenant: &str,
        status: Option<&str>,
        service_code: Option<&str>,
        jurisdiction_code: Option<&str>,
        grid_code: Option<&str>,
        near_border: Option<bool>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<EventView>, Option<String>)> {
        self.iam().tenant(p, tenant).await?;
        let before_id = cursor
            .map(|cursor| {
                Uuid::parse_str(cursor).map_err(|_| {
                    Error::new(
                        ErrorCode::InvalidCursor,
                        "cursor is not one this server issued",
                    )
                })
            })
            .transpose()?;
        let filter = store::events::EventFilter {
            status,
            service_code,
            jurisdiction_code,
            grid_code,
            near_border,
            before_id,
        };
        let limit = limit.clamp(1, Limits::PAGE_MAX);
        let rows = store::events::events(self.iam().db(), tenant, &filter, limit + 1).await?;
        let more = rows.len() > limit;
        let rows = &rows[..rows.len().min(limit)];
        let jurisdictions: Vec<Option<Uuid>> =
            rows.iter().map(|event| event.jurisdiction_id).collect();
        let zones = self.zones_of(tenant, &jurisdictions).await?;
        let items = rows
            .iter()
            .zip(zones)
            .map(|(event, zone)| view_of(event, zone))
            .collect::<Result<Vec<_>>>()?;
        let next = if more {
            items.last().map(|e| e.id.to_string())
        } else {
            None
        };
        Ok((items, next))
    }

    /// Merges event `id` into `into` (same tenant; both exist; not into itself or into an
    /// event that is itself merged). The merged event is closed with a note.
    pub async fn merge(
        &self,
        p: &Principal,
        tenant: &str,
        id: Uuid,
        into: Uuid,
    ) -> Result<EventView> {
        self.iam().tenant(p, tenant).await?;
        if id == into {
            return Err(Error::invalid("an event cannot be merged into itself"));
        }
        let target = self.load(tenant, into).await?;
        if target.merged_into.is_some() {
            return Err(Error::conflict(
                "the target event was itself merged; merge into its target",
            ));
        }
        let me = self.load(tenant, id).await?;
        if me.merged_into.is_some() {
            return Err(Error::conflict("this event is already merged"));
        }
        let now = self.now();
        let mut tx = self.iam().db().begin().await?;
        let note = format!("merged into {}", target.request_id);
        store::events::merge(&mut tx, id, into, &note, now).await?;
        log(
            &mut tx,
            id,
            now,
            &p.actor(),
            "merge",
            Some(json!({"into": into})),
        )
        .await?;
        log(
            &mut tx,
            into,
            now,
            &p.actor(),
            "merged_from",
            Some(json!({"event": id})),
        )
        .await?;
        self.commit_event(tx, p, tenant, "governance.event.merge", id)
            .await
    }

    /// Extends the deadline of an open event by `working_days` on its jurisdiction's
    /// calendar, counted from the current deadline.
    ///
    /// Errors: `invalid_input` (days outside 1..30, empty reason); `conflict` when the
    /// event is closed, has no deadline, or its deadline has already passed (an extension
    /// must be asked before expiry).
    pub async fn extend(
        &self,
        p: &Principal,
        tenant: &str,
        id: Uuid,
        r: &ExtensionRequest,
    ) -> Result<EventView> {
        self.iam().tenant(p, tenant).await?;
        if !(1..=30).contains(&r.working_days) {
            return Err(Error::invalid("working_days must be 1..30"));
        }
        onecity_core::validate::text("reason", &r.reason, 1000)?;
        if r.reason.trim().is_empty() {
            return Err(Error::invalid("reason is required"));
        }
        let event = self.load(tenant, id).await?;
        if event.status != "open" {
            return Err(Error::conflict("only an open event can be extended"));
        }
        let due = event
            .due_at
            .ok_or_else(|| Error::conflict("the event has no deadline to extend"))?;
        let now = self.now();
        if now >= due {
            return Err(Error::conflict(
                "the deadline has passed: an extension must be asked before it expires",
            ));
        }
        let new_due = self
            .deadline(tenant, event.jurisdiction_id, due, r.working_days)
            .await?;
        let mut tx = self.iam().db().begin().await?;
        store::events::extend(&mut tx, id, due, new_due, now).await?;
        log(&mut tx, id, now, &p.actor(), "extension", Some(json!({"from": time::rfc3339(due), "to": time::rfc3339(new_due), "reason": r.reason}))).await?;
        self.commit_event(tx, p, tenant, "governance.event.extend", id)
            .await
    }

    /// Rates a closed event (1..5).
    ///
    /// Errors: `invalid_input` for a score outside 1..5; `conflict` for an open event.
    pub async fn rate(
        &self,
        p: &Principal,
        tenant: &str,
        id: Uuid,
        r: &RatingRequest,
    ) -> Result<EventView> {
        self.iam().tenant(p, tenant).await?;
        if !(1..=5).contains(&r.score) {
            return Err(Error::invalid("score must be 1..5"));
        }
        let event = self.load(tenant, id).await?;
        if event.status != "closed" {
            return Err(Error::conflict("only a closed event can be rated"));
        }
        let now = self.now();
        let mut tx = self.iam().db().begin().await?;
        store::events::rate(&mut tx, id, r.score, r.comment.as_deref()).await?;
        log(
            &mut tx,
            id,
            now,
            &p.actor(),
            "rate",
            Some(json!({"score": r.score})),
        )
        .await?;
        self.commit_event(tx, p, tenant, "governance.event.rate", id)
            .await
    }

    /// The history of an event (oldest first): `{seq, at, actor, kind, detail}`.
    pub async fn history(&self, p: &Principal, tenant: &str, id: Uuid) -> Result<Vec<Value>> {
        self.iam().tenant(p, tenant).await?;
        self.load(tenant, id).await?;
        Ok(store::events::log_entries(self.iam().db(), id)
            .await?
            .into_iter()
            .map(|entry| {
                json!({"seq": entry.seq, "at": time::rfc3339(entry.at), "actor": entry.actor, "kind": entry.kind,
                    "detail": entry.detail.and_then(|detail| serde_json::from_str::<Value>(&detail).ok())})
            })
            .collect())
    }
}

/// The event as the own API shows it, with times also in `zone`. JSON columns that do not
/// parse show as null or empty (never an error).
pub(crate) fn view_of(event: &EventRow, zone: Tz) -> Result<EventView> {
    Ok(EventView {
        id: event.id,
        service_request_id: event.request_id.clone(),
        service_code: event.service_code.clone(),
        description: event.description.clone(),
        status: event.status.clone(),
        source: event.source.clone(),
        lat: event.lat,
        long: event.lon,
        address: event.address.clone(),
        zipcode: event.zipcode.clone(),
        placement: Placement {
            jurisdiction_id: event.jurisdiction_id,
            jurisdiction_code: event.jurisdiction_code.clone(),
            jurisdiction_name: event.jurisdiction_name.clone(),
            community_code: event.community_code.clone(),
            grid_code: event.grid_code.clone(),
            near_border: event.near_border,
        },
        attributes: serde_json::from_str(&event.attributes).unwrap_or(Value::Null),
        attachments: serde_json::from_str(&event.attachments).unwrap_or_default(),
        agency_responsible: event.agency.clone(),
        department_id: event.department_id,
        co_departments: serde_json::from_str(&event.co_departments).unwrap_or_default(),
        case_id: event.case_id,
        duplicate_of: event.duplicate_of,
        merged_into: event.merged_into,
        requested_at: time::rfc3339(event.requested_at),
        requested_local: timefmt::in_zone(event.requested_at, zone),
        updated_at: time::rfc3339(event.updated_at),
        updated_local: timefmt::in_zone(event.updated_at, zone),
        due_at: event.due_at.map(time::rfc3339),
        closed_at: event.closed_at.map(time::rfc3339),
        rating: event.rating,
        time_zone: zone.name().to_string(),
    })
}
