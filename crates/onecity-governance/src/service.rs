//! The governance service: categories, events, placement, duplicates, dispatch, work
//! orders, ratings, statistics.

use crate::model::*;
use crate::timefmt;
use chrono_tz::Tz;
use onecity_core::{time, Error, ErrorCode, Result};
use onecity_flow::model::{NewCase, TransferRequest};
use onecity_flow::Flow;
use onecity_geo::Geo;
use onecity_iam::{Iam, Principal};
use onecity_store::audit::AuditEntry;
use onecity_store::{args, Row, Tx, Val};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
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

/// Earth radius for distances (m).
const R_EARTH: f64 = 6_371_008.8;

/// Great-circle distance in metres.
pub fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * R_EARTH * a.sqrt().asin()
}

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

pub(crate) fn opt_f64(r: &Row, name: &str) -> Result<Option<f64>> {
    // Nullable doubles: read through text-free path.
    match r.f64(name) {
        Ok(v) => Ok(Some(v)),
        Err(_) => Ok(None),
    }
}

fn json_text(v: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(v).map_err(Error::internal)
}

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

    // ------------------------------------------------------------------ settings

    /// Settings of `tenant` (defaults when none were stored).
    pub async fn settings(&self, tenant: &str) -> Result<Settings> {
        match self
            .iam()
            .db()
            .fetch_optional(
                "SELECT settings FROM gov_settings WHERE tenant = $1",
                args![tenant],
            )
            .await?
        {
            Some(r) => serde_json::from_str(&r.text("settings")?).map_err(Error::internal),
            None => Ok(Settings::default()),
        }
    }

    /// Replaces the settings of `tenant`.
    ///
    /// Errors: `invalid_input` for an unknown zone or out-of-range numbers.
    pub async fn put_settings(&self, p: &Principal, tenant: &str, s: &Settings) -> Result<()> {
        self.iam().tenant(p, tenant).await?;
        if let Some(z) = &s.time_zone {
            z.parse::<Tz>()
                .map_err(|_| Error::invalid(format!("time_zone {z:?} is not an IANA zone")))?;
        }
        let ok = |v: f64, lo: f64, hi: f64| v.is_finite() && v >= lo && v <= hi;
        if !ok(s.duplicate_radius_m, 0.0, 10_000.0)
            || !ok(s.duplicate_window_hours, 0.0, 24.0 * 365.0)
            || !ok(s.border_distance_m, 0.0, 10_000.0)
            || s.max_attachment_bytes < 1
            || s.max_attachments > 50
        {
            return Err(Error::invalid(
                "duplicate_radius_m and border_distance_m must be 0..10000, duplicate_window_hours 0..8760, max_attachment_bytes ≥ 1, max_attachments ≤ 50",
            ));
        }
        let mut tx = self.iam().db().begin().await?;
        tx.execute("DELETE FROM gov_settings WHERE tenant = $1", args![tenant])
            .await?;
        tx.execute(
            "INSERT INTO gov_settings (tenant, settings, updated_at) VALUES ($1, $2, $3)",
            args![tenant, json_text(s)?, self.now()],
        )
        .await?;
        self.audit(&mut tx, p, tenant, "governance.settings", "tenant", tenant)
            .await?;
        tx.commit().await
    }

    /// The zone times of `tenant` are shown in.
    pub async fn zone(&self, tenant: &str) -> Result<Tz> {
        if let Some(z) = self.settings(tenant).await?.time_zone {
            if let Ok(tz) = z.parse() {
                return Ok(tz);
            }
        }
        Ok(self.flow.calendar(tenant).await?.time_zone())
    }

    /// The zone times of an event in `jurisdiction` are shown in: the zone of the calendar
    /// set on the jurisdiction or its nearest ancestor that has one, else the tenant's
    /// zone ([`Gov::zone`]). Times are always stored in UTC (µs).
    pub async fn zone_for(&self, tenant: &str, jurisdiction: Option<Uuid>) -> Result<Tz> {
        if let Some(j) = jurisdiction {
            // A jurisdiction deleted since the event was placed falls back to the tenant.
            if let Ok(Some(cal)) = self.flow.own_calendar_for(tenant, j).await {
                return Ok(cal.time_zone());
            }
        }
        self.zone(tenant).await
    }

    /// The display zone of each event row (by its `jurisdiction_id`), looked up once per
    /// distinct jurisdiction.
    pub(crate) async fn zones_of(&self, tenant: &str, rows: &[Row]) -> Result<Vec<Tz>> {
        let mut seen: HashMap<Option<Uuid>, Tz> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let j = r.opt_uuid("jurisdiction_id")?;
            let tz = match seen.get(&j) {
                Some(t) => *t,
                None => {
                    let t = self.zone_for(tenant, j).await?;
                    seen.insert(j, t);
                    t
                }
            };
            out.push(tz);
        }
        Ok(out)
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

    // ------------------------------------------------------------------ categories

    /// Creates or replaces a category.
    ///
    /// Errors: `invalid_input` (code shape, empty name, attribute problems).
    pub async fn put_service(&self, p: &Principal, tenant: &str, s: &ServiceDef) -> Result<()> {
        self.iam().tenant(p, tenant).await?;
        validate_service(s)?;
        let mut tx = self.iam().db().begin().await?;
        self.put_service_tx(&mut tx, tenant, s).await?;
        self.audit(&mut tx, p, tenant, "governance.service", "service", &s.code)
            .await?;
        tx.commit().await
    }

    pub(crate) async fn put_service_tx(
        &self,
        tx: &mut Tx,
        tenant: &str,
        s: &ServiceDef,
    ) -> Result<()> {
        tx.execute(
            "DELETE FROM gov_services WHERE tenant = $1 AND code = $2",
            args![tenant, s.code.clone()],
        )
        .await?;
        tx.execute(
            "INSERT INTO gov_services (tenant, code, name, name_zh, description, keywords, grp, kind, deadline_working_days, attributes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[tenant.into(), s.code.clone().into(), s.name.clone().into(), s.name_zh.clone().into(), s.description.clone().into(),
              s.keywords.clone().into(), s.group.clone().into(), s.kind.clone().unwrap_or_else(|| "realtime".into()).into(),
              s.deadline_working_days.map(i64::from).into(), json_text(&s.attributes)?.into(), self.now().into()],
        )
        .await?;
        Ok(())
    }

    /// Every category of `tenant`, by code.
    pub async fn services(&self, tenant: &str) -> Result<Vec<ServiceDef>> {
        self.iam()
            .db()
            .fetch_all(
                "SELECT * FROM gov_services WHERE tenant = $1 ORDER BY code",
                args![tenant],
            )
            .await?
            .iter()
            .map(service_of)
            .collect()
    }

    /// One category.
    pub async fn service(&self, tenant: &str, code: &str) -> Result<Option<ServiceDef>> {
        self.iam()
            .db()
            .fetch_optional(
                "SELECT * FROM gov_services WHERE tenant = $1 AND code = $2",
                args![tenant, code],
            )
            .await?
            .as_ref()
            .map(service_of)
            .transpose()
    }

    // ------------------------------------------------------------------ placement

    /// Where `(lat, lon)` is in `tenant`: deepest jurisdiction, community, grid, and whether
    /// another area lies within `border_m` (probed at 8 compass points at that distance).
    ///
    /// Errors: `invalid_input` for coordinates out of range, and for a point that no
    /// jurisdiction of the tenant covers (the answer names the point).
    pub fn place(&self, tenant: &str, lat: f64, lon: f64, border_m: f64) -> Result<Placement> {
        if !lat.is_finite()
            || !lon.is_finite()
            || !(-90.0..=90.0).contains(&lat)
            || !(-180.0..=180.0).contains(&lon)
        {
            return Err(Error::invalid(
                "lat must be in [-90, 90] and long in [-180, 180]",
            ));
        }
        let r = self.geo.lookup_unchecked(tenant, lon, lat);
        let Some(deepest) = r.jurisdictions.last() else {
            return Err(Error::invalid(format!(
                "the point lat={lat}, long={lon} lies in no jurisdiction of this city: nothing was recorded"
            ))
            .with_extra("reason", json!("outside_jurisdiction")));
        };
        let mut near = false;
        if border_m > 0.0 {
            let dlat = border_m / 111_320.0;
            let dlon = border_m / (111_320.0 * lat.to_radians().cos().max(0.01));
            let s = std::f64::consts::FRAC_1_SQRT_2;
            for (a, b) in [
                (1.0, 0.0),
                (-1.0, 0.0),
                (0.0, 1.0),
                (0.0, -1.0),
                (s, s),
                (s, -s),
                (-s, s),
                (-s, -s),
            ] {
                let q = self
                    .geo
                    .lookup_unchecked(tenant, lon + b * dlon, lat + a * dlat);
                if q.jurisdictions.last().map(|j| j.id) != Some(deepest.id) {
                    near = true;
                    break;
                }
            }
        }
        Ok(Placement {
            jurisdiction_id: Some(deepest.id),
            jurisdiction_code: Some(deepest.code.clone()),
            jurisdiction_name: Some(deepest.name.clone()),
            community_code: r
                .jurisdictions
                .iter()
                .find(|j| j.level == "community")
                .map(|j| j.code.clone()),
            grid_code: r.grid.as_ref().map(|g| g.code.clone()),
            near_border: near,
        })
    }

    // ------------------------------------------------------------------ events

    /// Open events of `code` within the duplicate radius and window before `at`.
    pub(crate) async fn duplicates(
        &self,
        tenant: &str,
        code: &str,
        lat: f64,
        lon: f64,
        at: i64,
        s: &Settings,
    ) -> Result<Vec<Uuid>> {
        let window = (s.duplicate_window_hours * 3_600_000_000.0) as i64;
        let dlat = s.duplicate_radius_m / 111_320.0 + 1e-9;
        let dlon = s.duplicate_radius_m / (111_320.0 * lat.to_radians().cos().max(0.01)) + 1e-9;
        let rows = self
            .iam()
            .db()
            .fetch_all(
                "SELECT id, lat, lon FROM gov_events WHERE tenant = $1 AND service_code = $2 AND status = 'open' AND merged_into IS NULL \
                 AND requested_at >= $3 AND requested_at <= $4 AND lat BETWEEN $5 AND $6 AND lon BETWEEN $7 AND $8 ORDER BY requested_at",
                args![tenant, code, at - window, at, lat - dlat, lat + dlat, lon - dlon, lon + dlon],
            )
            .await?;
        let mut out = Vec::new();
        for r in rows {
            let (la, lo) = (r.f64("lat")?, r.f64("lon")?);
            if haversine_m(lat, lon, la, lo) <= s.duplicate_radius_m {
                out.push(r.uuid("id")?);
            }
        }
        Ok(out)
    }

    /// The dispatch decision for a category at a place: rules whose category is the event's
    /// (or any) and whose area contains the point (or is the whole tenant); the most
    /// specific first (category match, then deeper area), then the higher priority.
    pub async fn decide(&self, tenant: &str, code: &str, place: &Placement) -> Result<Decision> {
        let chain: Vec<String> = match place.jurisdiction_id {
            Some(j) => self
                .iam()
                .jurisdiction_unchecked(tenant, j)
                .await?
                .path
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            None => vec![],
        };
        let rows = self
            .iam()
            .db()
            .fetch_all(
                "SELECT * FROM gov_rules WHERE tenant = $1 AND (service_code IS NULL OR service_code = $2)",
                args![tenant, code],
            )
            .await?;
        let mut scored = Vec::new();
        for r in rows {
            let area = r.opt_text("jurisdiction_id")?;
            let depth = match &area {
                None => 0,
                Some(a) => match chain.iter().position(|c| c == a) {
                    Some(i) => i + 1,
                    None => continue,
                },
            };
            let specific = r.opt_text("service_code")?.is_some() as usize;
            scored.push((
                (specific, depth, r.i64("priority")?),
                r.uuid("id")?,
                r.uuid("department_id")?,
                serde_json::from_str::<Vec<Uuid>>(&r.text("co_departments")?).unwrap_or_default(),
            ));
        }
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let best = scored.first();
        Ok(Decision {
            department_id: best.map(|b| b.2),
            co_departments: best.map(|b| b.3.clone()).unwrap_or_default(),
            rule_id: best.map(|b| b.1),
            candidates: scored.iter().map(|s| s.1).collect(),
            near_border: place.near_border,
        })
    }

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
        tx.execute(
            "INSERT INTO gov_events (id, tenant, request_id, token, source, external_id, service_code, description, status, status_notes, lat, lon, address, address_id, zipcode, \
             jurisdiction_id, jurisdiction_code, jurisdiction_name, community_code, grid_code, near_border, attributes, media_url, attachments, agency, department_id, co_departments, \
             case_id, duplicate_of, merged_into, contact, requested_at, updated_at, due_at, closed_at, rating, rating_comment, created_at) \
             VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, 'open', NULL, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, NULL, $25, NULL, $26, $27, $27, $28, NULL, NULL, NULL, $27)",
            &[id.into(), tenant.into(), id.to_string().into(), token.clone().into(), source.clone().into(), n.service_code.clone().into(),
              n.description.clone().into(), Val::F64(n.lat), Val::F64(n.long), n.address_string.clone().into(), n.address_id.clone().into(),
              n.zipcode.clone().into(), place.jurisdiction_id.into(), place.jurisdiction_code.clone().into(), place.jurisdiction_name.clone().into(),
              place.community_code.clone().into(), place.grid_code.clone().into(), place.near_border.into(), Value::Object(attrs).to_string().into(),
              n.media_url.clone().into(), json_text(&n.attachments)?.into(), agency.into(), decision.department_id.into(),
              json_text(&decision.co_departments)?.into(), dups.first().copied().into(), json_text(&n.contact)?.into(), now.into(), due.into()],
        )
        .await?;
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
    async fn open_work_order(
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
        tx.execute(
            "UPDATE gov_events SET case_id = $1 WHERE id = $2",
            args![case, event],
        )
        .await?;
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

    async fn load(&self, tenant: &str, id: Uuid) -> Result<Row> {
        self.iam()
            .db()
            .fetch_optional(
                "SELECT * FROM gov_events WHERE tenant = $1 AND id = $2",
                args![tenant, id],
            )
            .await?
            .ok_or_else(|| Error::not_found(format!("event {id} does not exist")))
    }

    /// One event.
    pub async fn event(&self, p: &Principal, tenant: &str, id: Uuid) -> Result<EventView> {
        self.iam().tenant(p, tenant).await?;
        let r = self.load(tenant, id).await?;
        let tz = self
            .zone_for(tenant, r.opt_uuid("jurisdiction_id")?)
            .await?;
        view_of(&r, tz)
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
        let mut sql = String::from("SELECT * FROM gov_events WHERE tenant = $1");
        let mut a: Vec<Val> = vec![tenant.into()];
        let mut add = |cond: &str, v: Val, a: &mut Vec<Val>| {
            a.push(v);
            sql.push_str(&format!(" AND {cond} ${}", a.len()));
        };
        if let Some(s) = status {
            add("status =", s.into(), &mut a);
        }
        if let Some(s) = service_code {
            add("service_code =", s.into(), &mut a);
        }
        if let Some(s) = jurisdiction_code {
            add("jurisdiction_code =", s.into(), &mut a);
        }
        if let Some(s) = grid_code {
            add("grid_code =", s.into(), &mut a);
        }
        if let Some(b) = near_border {
            add("near_border =", b.into(), &mut a);
        }
        if let Some(c) = cursor {
            let id = Uuid::parse_str(c).map_err(|_| {
                Error::new(
                    ErrorCode::InvalidCursor,
                    "cursor is not one this server issued",
                )
            })?;
            add("id <", id.into(), &mut a);
        }
        let limit = limit.clamp(1, Limits::PAGE_MAX);
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", limit + 1));
        let rows = self.iam().db().fetch_all(&sql, &a).await?;
        let more = rows.len() > limit;
        let rows = &rows[..rows.len().min(limit)];
        let zones = self.zones_of(tenant, rows).await?;
        let items = rows
            .iter()
            .zip(zones)
            .map(|(r, tz)| view_of(r, tz))
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
        if target.opt_text("merged_into")?.is_some() {
            return Err(Error::conflict(
                "the target event was itself merged; merge into its target",
            ));
        }
        let me = self.load(tenant, id).await?;
        if me.opt_text("merged_into")?.is_some() {
            return Err(Error::conflict("this event is already merged"));
        }
        let now = self.now();
        let mut tx = self.iam().db().begin().await?;
        tx.execute(
            "UPDATE gov_events SET merged_into = $1, status = 'closed', status_notes = $2, closed_at = $3, updated_at = $3 WHERE id = $4",
            args![into, format!("merged into {}", target.text("request_id")?), now, id],
        )
        .await?;
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

    /// Re-dispatches an event (after a return, 退单) to another department, with a reason;
    /// its work order is transferred to that department's queue (or opened when none).
    pub async fn dispatch(
        &self,
        p: &Principal,
        tenant: &str,
        id: Uuid,
        d: &DispatchRequest,
    ) -> Result<EventView> {
        self.iam().tenant(p, tenant).await?;
        onecity_core::validate::text("reason", &d.reason, 1000)?;
        if d.reason.trim().is_empty() {
            return Err(Error::invalid("reason is required"));
        }
        let dept = self
            .iam()
            .department(&Principal::system(), tenant, d.department_id)
            .await
            .map_err(|_| {
                Error::invalid("department_id does not name a department of this tenant")
            })?;
        let ev = self.load(tenant, id).await?;
        let now = self.now();
        if ev.opt_uuid("case_id")?.is_none() {
            self.ensure_work_order_flow(tenant).await?;
        }
        let mut tx = self.iam().db().begin().await?;
        tx.execute(
            "UPDATE gov_events SET department_id = $1, co_departments = $2, agency = $3, updated_at = $4 WHERE id = $5",
            args![d.department_id, json_text(&d.co_departments)?, dept.name.clone(), now, id],
        )
        .await?;
        log(&mut tx, id, now, &p.actor(), "dispatch", Some(json!({"department_id": d.department_id, "co_departments": d.co_departments, "reason": d.reason}))).await?;
        self.audit(
            &mut tx,
            p,
            tenant,
            "governance.event.dispatch",
            "event",
            &id.to_string(),
        )
        .await?;
        if ev.opt_uuid("case_id")?.is_none() {
            // No work order yet: open it in this transaction, with the dispatch.
            let svc = self
                .service(tenant, &ev.text("service_code")?)
                .await?
                .ok_or_else(|| Error::internal("event of an unknown category"))?;
            self.open_work_order(
                &mut tx,
                tenant,
                id,
                &svc,
                &ev.opt_text("description")?,
                &Placement {
                    jurisdiction_id: ev.opt_uuid("jurisdiction_id")?,
                    ..Default::default()
                },
                d.department_id,
                &d.co_departments,
                ev.opt_i64("due_at")?,
            )
            .await?;
        }
        tx.commit().await?;
        self.iam().bus().poke();
        if let Some(case) = ev.opt_uuid("case_id")? {
            self.flow
                .transfer(
                    &Principal::system(),
                    tenant,
                    case,
                    &TransferRequest {
                        assignee_id: None,
                        department_id: Some(d.department_id),
                        reason: d.reason.clone(),
                        expected_version: None,
                    },
                )
                .await?;
        }
        self.event(p, tenant, id).await
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
        let ev = self.load(tenant, id).await?;
        if ev.text("status")? != "open" {
            return Err(Error::conflict("only an open event can be extended"));
        }
        let due = ev
            .opt_i64("due_at")?
            .ok_or_else(|| Error::conflict("the event has no deadline to extend"))?;
        let now = self.now();
        if now >= due {
            return Err(Error::conflict(
                "the deadline has passed: an extension must be asked before it expires",
            ));
        }
        let new_due = self
            .deadline(tenant, ev.opt_uuid("jurisdiction_id")?, due, r.working_days)
            .await?;
        let mut tx = self.iam().db().begin().await?;
        tx.execute(
            "UPDATE gov_events SET due_at = $1, updated_at = $2 WHERE id = $3 AND due_at = $4",
            args![new_due, now, id, due],
        )
        .await?;
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
        let ev = self.load(tenant, id).await?;
        if ev.text("status")? != "closed" {
            return Err(Error::conflict("only a closed event can be rated"));
        }
        let now = self.now();
        let mut tx = self.iam().db().begin().await?;
        tx.execute(
            "UPDATE gov_events SET rating = $1, rating_comment = $2 WHERE id = $3",
            args![r.score, r.comment.clone(), id],
        )
        .await?;
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
        self.iam()
            .db()
            .fetch_all(
                "SELECT * FROM gov_event_log WHERE event_id = $1 ORDER BY seq",
                args![id],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(json!({"seq": r.i64("seq")?, "at": time::rfc3339(r.i64("at")?), "actor": r.text("actor")?, "kind": r.text("kind")?,
                    "detail": r.opt_text("detail")?.and_then(|d| serde_json::from_str::<Value>(&d).ok())}))
            })
            .collect()
    }

    // ------------------------------------------------------------------ rules

    /// Adds a dispatch rule.
    pub async fn add_rule(&self, p: &Principal, tenant: &str, r: &NewRule) -> Result<Rule> {
        self.iam().tenant(p, tenant).await?;
        for d in std::iter::once(&r.department_id).chain(r.co_departments.iter()) {
            self.iam()
                .department(&Principal::system(), tenant, *d)
                .await
                .map_err(|_| Error::invalid(format!("department {d} is not in this tenant")))?;
        }
        if let Some(j) = r.jurisdiction_id {
            self.iam()
                .jurisdiction_unchecked(tenant, j)
                .await
                .map_err(|_| Error::invalid("jurisdiction_id is not in this tenant"))?;
        }
        let id = onecity_core::new_id();
        let mut tx = self.iam().db().begin().await?;
        tx.execute(
            "INSERT INTO gov_rules (id, tenant, service_code, jurisdiction_id, department_id, co_departments, priority, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![id, tenant, r.service_code.clone(), r.jurisdiction_id, r.department_id, json_text(&r.co_departments)?, r.priority, self.now()],
        )
        .await?;
        self.audit(
            &mut tx,
            p,
            tenant,
            "governance.rule.create",
            "rule",
            &id.to_string(),
        )
        .await?;
        tx.commit().await?;
        Ok(Rule {
            id,
            rule: r.clone(),
        })
    }

    // ------------------------------------------------------------------ statistics

    /// Statistics of the events requested in `[from, to)`.
    pub async fn stats(&self, p: &Principal, tenant: &str, q: &StatsQuery) -> Result<Stats> {
        self.iam().tenant(p, tenant).await?;
        let parse = |s: &Option<String>, what: &str| -> Result<Option<i64>> {
            s.as_deref()
                .map(|v| {
                    timefmt::parse_w3c(v).ok_or_else(|| {
                        Error::new(
                            ErrorCode::InvalidQuery,
                            format!("{what} is not an RFC 3339 time"),
                        )
                    })
                })
                .transpose()
        };
        let from = parse(&q.from, "from")?.unwrap_or(i64::MIN / 2);
        let to = parse(&q.to, "to")?.unwrap_or(i64::MAX / 2);
        let radius = q.repeat_radius_m.unwrap_or(100.0);
        let window = (q.repeat_window_days.unwrap_or(30.0) * 86_400_000_000.0) as i64;
        let tz = self.zone(tenant).await?;
        let rows = self
            .iam()
            .db()
            .fetch_all(
                "SELECT service_code, department_id, grid_code, lat, lon, status, requested_at, closed_at, due_at, rating FROM gov_events \
                 WHERE tenant = $1 AND merged_into IS NULL AND requested_at < $2 ORDER BY requested_at",
                args![tenant, to],
            )
            .await?;
        struct E {
            code: String,
            dept: String,
            grid: String,
            lat: Option<f64>,
            lon: Option<f64>,
            closed: bool,
            at: i64,
            on_time: Option<bool>,
            rating: Option<i64>,
        }
        let mut all = Vec::with_capacity(rows.len());
        for r in &rows {
            let closed_at = r.opt_i64("closed_at")?;
            let due = r.opt_i64("due_at")?;
            all.push(E {
                code: r.text("service_code")?,
                dept: r.opt_text("department_id")?.unwrap_or_else(|| "-".into()),
                grid: r.opt_text("grid_code")?.unwrap_or_else(|| "-".into()),
                lat: opt_f64(r, "lat")?,
                lon: opt_f64(r, "lon")?,
                closed: r.text("status")? == "closed",
                at: r.i64("requested_at")?,
                on_time: match (closed_at, due) {
                    (Some(c), Some(d)) => Some(c <= d),
                    _ => None,
                },
                rating: r.opt_i64("rating")?,
            });
        }
        // Repeats: an earlier event (also before the period) of the same category nearby.
        let mut by_code: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut repeat = vec![false; all.len()];
        for (i, e) in all.iter().enumerate() {
            let earlier = by_code.entry(e.code.as_str()).or_default();
            if let (Some(la), Some(lo)) = (e.lat, e.lon) {
                repeat[i] = earlier.iter().rev().any(|&j| {
                    let o = &all[j];
                    e.at - o.at <= window
                        && o.lat
                            .zip(o.lon)
                            .is_some_and(|(a, b)| haversine_m(la, lo, a, b) <= radius)
                });
            }
            earlier.push(i);
        }
        let in_period: Vec<usize> = (0..all.len()).filter(|&i| all[i].at >= from).collect();
        let row = |key: String, idx: &[usize]| -> StatRow {
            let n = idx.len() as i64;
            let closed = idx.iter().filter(|&&i| all[i].closed).count() as i64;
            let timed: Vec<bool> = idx.iter().filter_map(|&i| all[i].on_time).collect();
            let ratings: Vec<i64> = idx.iter().filter_map(|&i| all[i].rating).collect();
            StatRow {
                key,
                events: n,
                closed,
                on_time_rate: (!timed.is_empty())
                    .then(|| timed.iter().filter(|b| **b).count() as f64 / timed.len() as f64),
                satisfaction: (!ratings.is_empty())
                    .then(|| ratings.iter().sum::<i64>() as f64 / ratings.len() as f64),
                repeat_rate: if n == 0 {
                    0.0
                } else {
                    idx.iter().filter(|&&i| repeat[i]).count() as f64 / n as f64
                },
            }
        };
        let group = |f: &dyn Fn(&E) -> String| -> Vec<StatRow> {
            let mut g: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
            for &i in &in_period {
                g.entry(f(&all[i])).or_default().push(i);
            }
            g.into_iter().map(|(k, v)| row(k, &v)).collect()
        };
        let by_grid = group(&|e| e.grid.clone());
        let mut hot: Vec<StatRow> = by_grid.iter().filter(|r| r.key != "-").cloned().collect();
        hot.sort_by(|a, b| b.events.cmp(&a.events).then(a.key.cmp(&b.key)));
        hot.truncate(20);
        Ok(Stats {
            total: row("all".into(), &in_period),
            by_category: group(&|e| e.code.clone()),
            by_department: group(&|e| e.dept.clone()),
            by_grid,
            by_month: group(&|e| {
                time::to_datetime(e.at)
                    .with_timezone(&tz)
                    .format("%Y-%m")
                    .to_string()
            }),
            hot_spots: hot,
        })
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
    tx.execute(
        "INSERT INTO gov_event_log (event_id, seq, at, actor, kind, detail) \
         VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM gov_event_log WHERE event_id = $1), $2, $3, $4, $5)",
        args![event, at, actor, kind, detail.map(|d| d.to_string())],
    )
    .await?;
    Ok(())
}

fn service_of(r: &Row) -> Result<ServiceDef> {
    Ok(ServiceDef {
        code: r.text("code")?,
        name: r.text("name")?,
        name_zh: r.opt_text("name_zh")?,
        description: r.opt_text("description")?,
        keywords: r.opt_text("keywords")?,
        group: r.opt_text("grp")?,
        kind: Some(r.text("kind")?),
        deadline_working_days: r.opt_i64("deadline_working_days")?.map(|d| d as u32),
        attributes: serde_json::from_str(&r.text("attributes")?).map_err(Error::internal)?,
    })
}

pub(crate) fn view_of(r: &Row, tz: Tz) -> Result<EventView> {
    let req = r.i64("requested_at")?;
    let upd = r.i64("updated_at")?;
    Ok(EventView {
        id: r.uuid("id")?,
        service_request_id: r.text("request_id")?,
        service_code: r.text("service_code")?,
        description: r.opt_text("description")?,
        status: r.text("status")?,
        source: r.text("source")?,
        lat: opt_f64(r, "lat")?,
        long: opt_f64(r, "lon")?,
        address: r.opt_text("address")?,
        zipcode: r.opt_text("zipcode")?,
        placement: Placement {
            jurisdiction_id: r.opt_uuid("jurisdiction_id")?,
            jurisdiction_code: r.opt_text("jurisdiction_code")?,
            jurisdiction_name: r.opt_text("jurisdiction_name")?,
            community_code: r.opt_text("community_code")?,
            grid_code: r.opt_text("grid_code")?,
            near_border: r.i64("near_border")? != 0,
        },
        attributes: serde_json::from_str(&r.text("attributes")?).unwrap_or(Value::Null),
        attachments: serde_json::from_str(&r.text("attachments")?).unwrap_or_default(),
        agency_responsible: r.opt_text("agency")?,
        department_id: r.opt_uuid("department_id")?,
        co_departments: serde_json::from_str(&r.text("co_departments")?).unwrap_or_default(),
        case_id: r.opt_uuid("case_id")?,
        duplicate_of: r.opt_uuid("duplicate_of")?,
        merged_into: r.opt_uuid("merged_into")?,
        requested_at: time::rfc3339(req),
        requested_local: timefmt::in_zone(req, tz),
        updated_at: time::rfc3339(upd),
        updated_local: timefmt::in_zone(upd, tz),
        due_at: r.opt_i64("due_at")?.map(time::rfc3339),
        closed_at: r.opt_i64("closed_at")?.map(time::rfc3339),
        rating: r.opt_i64("rating")?,
        time_zone: tz.name().to_string(),
    })
}

const DATATYPES: [&str; 6] = [
    "string",
    "number",
    "datetime",
    "text",
    "singlevaluelist",
    "multivaluelist",
];

fn validate_service(s: &ServiceDef) -> Result<()> {
    let mut errs = Vec::new();
    if !code_ok(&s.code) {
        errs.push("code must be 1..64 letters, digits, '-', '_' or '.'".to_string());
    }
    if s.name.trim().is_empty() || s.name.chars().count() > 200 {
        errs.push("name must be 1..200 characters".into());
    }
    if let Some(k) = &s.kind {
        if !["realtime", "batch", "blackbox"].contains(&k.as_str()) {
            errs.push("kind must be realtime, batch or blackbox".into());
        }
    }
    if s.deadline_working_days.is_some_and(|d| d > 366) {
        errs.push("deadline_working_days must be at most 366".into());
    }
    let mut seen = std::collections::HashSet::new();
    for a in &s.attributes {
        if !code_ok(&a.code) {
            errs.push(format!("attribute code {:?} is not a code", a.code));
        }
        if !seen.insert(a.code.clone()) {
            errs.push(format!("attribute {:?} is listed twice", a.code));
        }
        if !DATATYPES.contains(&a.datatype.as_str()) {
            errs.push(format!(
                "attribute {:?}: datatype must be one of {}",
                a.code,
                DATATYPES.join(", ")
            ));
        }
        let list = a.datatype.ends_with("valuelist");
        if list && a.values.is_empty() {
            errs.push(format!("attribute {:?}: a list needs values", a.code));
        }
        if !list && !a.values.is_empty() {
            errs.push(format!("attribute {:?}: only lists have values", a.code));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(errs.join("; ")).with_extra("errors", json!(errs)))
    }
}

/// Checks attribute answers against the service definition; returns them normalised
/// (list answers as arrays of keys).
pub(crate) fn check_attributes(
    svc: &ServiceDef,
    given: &Map<String, Value>,
) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    let mut errs = Vec::new();
    for k in given.keys() {
        if !svc.attributes.iter().any(|a| &a.code == k) {
            errs.push(format!(
                "attribute {k:?} is not defined for service {:?}",
                svc.code
            ));
        }
    }
    for a in &svc.attributes {
        let v = given.get(&a.code);
        let as_list: Vec<String> = match v {
            None | Some(Value::Null) => vec![],
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Number(n)) => vec![n.to_string()],
            Some(Value::Array(xs)) => xs
                .iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
            Some(other) => vec![other.to_string()],
        };
        let as_list: Vec<String> = as_list.into_iter().filter(|s| !s.is_empty()).collect();
        if as_list.is_empty() {
            if a.required && a.variable {
                errs.push(format!("attribute {:?} is required", a.code));
            }
            continue;
        }
        match a.datatype.as_str() {
            "multivaluelist" | "singlevaluelist" => {
                for x in &as_list {
                    if !a.values.iter().any(|v| &v.key == x) {
                        errs.push(format!(
                            "attribute {:?}: {x:?} is not one of its values",
                            a.code
                        ));
                    }
                }
                if a.datatype == "singlevaluelist" && as_list.len() > 1 {
                    errs.push(format!("attribute {:?} takes one value", a.code));
                }
                if a.datatype == "multivaluelist" {
                    out.insert(a.code.clone(), json!(as_list));
                } else {
                    out.insert(a.code.clone(), json!(as_list[0]));
                }
            }
            dt => {
                if as_list.len() > 1 {
                    errs.push(format!("attribute {:?} takes one value", a.code));
                }
                let x = &as_list[0];
                if dt == "number" && x.parse::<f64>().map(|f| !f.is_finite()).unwrap_or(true) {
                    errs.push(format!("attribute {:?} must be a number", a.code));
                }
                if dt == "datetime" && timefmt::parse_w3c(x).is_none() {
                    errs.push(format!("attribute {:?} must be a date-time", a.code));
                }
                out.insert(a.code.clone(), json!(x));
            }
        }
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(Error::invalid(errs.join("; ")).with_extra("errors", json!(errs)))
    }
}

fn check_attachments(s: &Settings, list: &[AttachmentRef]) -> Result<()> {
    if list.len() > s.max_attachments {
        return Err(Error::invalid(format!(
            "at most {} attachments per event",
            s.max_attachments
        )));
    }
    for a in list {
        if !s.attachment_types.iter().any(|t| t == &a.media_type) {
            return Err(Error::new(
                ErrorCode::UnsupportedMediaType,
                format!(
                    "attachment {:?}: media type {:?} is not accepted (accepted: {})",
                    a.name,
                    a.media_type,
                    s.attachment_types.join(", ")
                ),
            ));
        }
        if a.size_bytes < 0 || a.size_bytes > s.max_attachment_bytes {
            return Err(Error::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "attachment {:?} has {} bytes; the limit is {}",
                    a.name, a.size_bytes, s.max_attachment_bytes
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc() -> ServiceDef {
        serde_json::from_value(json!({
            "code": "pothole", "name": "Pothole", "attributes": [
              {"code": "size", "datatype": "singlevaluelist", "required": true, "description": "How big?",
               "values": [{"key": "s", "name": "small"}, {"key": "l", "name": "large"}]},
              {"code": "hazards", "datatype": "multivaluelist", "description": "What else?",
               "values": [{"key": "water", "name": "Water"}, {"key": "glass", "name": "Glass"}]},
              {"code": "depth", "datatype": "number", "description": "Depth in cm"}
            ]}))
        .unwrap()
    }

    #[test]
    fn attributes_are_checked_and_normalised() {
        let s = svc();
        validate_service(&s).unwrap();
        let ok = check_attributes(
            &s,
            json!({"size": "l", "hazards": ["water", "glass"], "depth": "12.5"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(ok["hazards"], json!(["water", "glass"]));
        let e =
            check_attributes(&s, json!({"hazards": ["fire"]}).as_object().unwrap()).unwrap_err();
        assert!(e.detail.contains("\"size\" is required"), "{}", e.detail);
        assert!(e.detail.contains("\"fire\" is not one of its values"));
        let e = check_attributes(
            &s,
            json!({"size": "s", "depth": "deep"}).as_object().unwrap(),
        )
        .unwrap_err();
        assert!(e.detail.contains("must be a number"));
    }

    #[test]
    fn attachments_over_limits_are_refused() {
        let s = Settings::default();
        let a = |t: &str, n: i64| AttachmentRef {
            name: "x".into(),
            media_type: t.into(),
            size_bytes: n,
            url: "file:x".into(),
        };
        check_attachments(&s, &[a("image/jpeg", 1000)]).unwrap();
        assert_eq!(
            check_attachments(&s, &[a("application/x-msdownload", 10)])
                .unwrap_err()
                .code,
            ErrorCode::UnsupportedMediaType
        );
        assert_eq!(
            check_attachments(&s, &[a("image/png", 11 * 1024 * 1024)])
                .unwrap_err()
                .code,
            ErrorCode::PayloadTooLarge
        );
    }

    #[test]
    fn distances() {
        // Times Square to the Empire State Building: about 1.1 km.
        let d = haversine_m(40.758, -73.9855, 40.7484, -73.9857);
        assert!((1000.0..1150.0).contains(&d), "{d}");
        assert_eq!(response_level("red"), Some("I"));
        assert_eq!(response_level("blue"), Some("IV"));
    }
}
