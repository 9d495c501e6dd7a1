//! Emergency linkage (应急联动): linkage plans (预案), alert rules on twin data, alerts, and
//! OASIS CAP 1.2 in and out (<http://docs.oasis-open.org/emergency/cap/v1.2/>).
//!
//! Levels: `blue` = response level IV (CAP severity `Minor`), `yellow` = III (`Moderate`),
//! `orange` = II (`Severe`), `red` = I (`Extreme`). CAP areas are polygons (space-separated
//! `lat,lon` pairs, first = last, at least 4 pairs) and circles (`lat,lon radius_km`):
//! latitude first, the reverse of GeoJSON.
//!
//! An alert is stored with `pending = 1` (by the twin consumer inside its delivery
//! transaction, or by a CAP POST); [`Gov::run_pending_plans`] then opens the plan's tasks
//! as work orders in each department's queue, once per alert.

use crate::model::{AlertRule, AlertView, Plan};
use crate::service::{response_level, LEVELS};
use crate::store;
use crate::{Gov, Limits};
use onecity_core::{time, Error, ErrorCode, Result};
use onecity_iam::Principal;
use onecity_store::audit::AuditEntry;
use onecity_store::Tx;
use quick_xml::events::Event;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use uuid::Uuid;

/// An alert to store.
#[derive(Debug, Clone, Default)]
pub struct NewAlert {
    /// `twin`, `cap` or `staff`.
    pub source: String,
    /// Source key (event id, CAP identifier): one alert per key.
    pub source_ref: String,
    /// Type, e.g. `flood`.
    pub alert_type: String,
    /// Colour level.
    pub level: String,
    /// Headline.
    pub headline: String,
    /// Description.
    pub description: Option<String>,
    /// Area description.
    pub area_desc: String,
    /// Polygons as `[lat, lon]` rings (closed).
    pub polygons: Vec<Vec<[f64; 2]>>,
    /// Circles `[lat, lon, radius_km]`.
    pub circles: Vec<[f64; 3]>,
    /// Sent (µs).
    pub sent_at: i64,
}

fn severity(level: &str) -> &'static str {
    match level {
        "red" => "Extreme",
        "orange" => "Severe",
        "yellow" => "Moderate",
        _ => "Minor",
    }
}

fn level_of_severity(s: &str) -> Option<&'static str> {
    match s {
        "Extreme" => Some("red"),
        "Severe" => Some("orange"),
        "Moderate" => Some("yellow"),
        "Minor" => Some("blue"),
        _ => None,
    }
}

fn esc(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// CAP 1.2 `sent` form: `YYYY-MM-DDThh:mm:ss+00:00` (the schema forbids `Z`).
fn cap_time(micros: i64) -> String {
    time::to_datetime(micros)
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

/// The CAP 1.2 document of an alert (elements in the schema's order).
pub fn to_cap_xml(a: &AlertView, sender: &str) -> String {
    let sent = time::parse_rfc3339(&a.sent_at, "sent_at").unwrap_or(0);
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">");
    s.push_str(&format!("<identifier>{}</identifier>", a.id));
    s.push_str(&format!("<sender>{}</sender>", esc(sender)));
    s.push_str(&format!("<sent>{}</sent>", cap_time(sent)));
    s.push_str("<status>Actual</status><msgType>Alert</msgType><scope>Public</scope>");
    s.push_str("<info><language>en</language><category>Met</category>");
    s.push_str(&format!("<event>{}</event>", esc(&a.alert_type)));
    s.push_str("<urgency>Expected</urgency>");
    s.push_str(&format!("<severity>{}</severity>", severity(&a.level)));
    s.push_str("<certainty>Likely</certainty>");
    s.push_str(&format!("<headline>{}</headline>", esc(&a.headline)));
    if let Some(d) = &a.description {
        s.push_str(&format!("<description>{}</description>", esc(d)));
    }
    s.push_str(&format!(
        "<parameter><valueName>level</valueName><value>{}</value></parameter>",
        esc(&a.level)
    ));
    s.push_str(&format!(
        "<parameter><valueName>responseLevel</valueName><value>{}</value></parameter>",
        a.response_level
    ));
    s.push_str(&format!("<area><areaDesc>{}</areaDesc>", esc(&a.area_desc)));
    for p in &a.polygons {
        let pts: Vec<String> = p.iter().map(|[la, lo]| format!("{la},{lo}")).collect();
        s.push_str(&format!("<polygon>{}</polygon>", pts.join(" ")));
    }
    for [la, lo, r] in &a.circles {
        s.push_str(&format!("<circle>{la},{lo} {r}</circle>"));
    }
    s.push_str("</area></info></alert>\n");
    s
}

/// Parses a CAP polygon: `lat,lon lat,lon …`, closed, ≥ 4 pairs, in range.
pub fn parse_polygon(s: &str) -> std::result::Result<Vec<[f64; 2]>, String> {
    let mut out = Vec::new();
    for pair in s.split_whitespace() {
        let (a, b) = pair
            .split_once(',')
            .ok_or_else(|| format!("polygon point {pair:?} is not lat,lon"))?;
        let (la, lo) = (
            a.parse::<f64>()
                .map_err(|_| format!("{a:?} is not a number"))?,
            b.parse::<f64>()
                .map_err(|_| format!("{b:?} is not a number"))?,
        );
        if !(-90.0..=90.0).contains(&la) || !(-180.0..=180.0).contains(&lo) {
            return Err(format!(
                "polygon point {pair:?} is out of range (latitude first)"
            ));
        }
        out.push([la, lo]);
    }
    if out.len() < 4 {
        return Err("a polygon needs at least 4 points".into());
    }
    if out.first() != out.last() {
        return Err("a polygon must be closed (first point = last point)".into());
    }
    // A valid ring (OGC simple features: no self-intersection), checked by the geo crate's
    // validation on the GeoJSON form (lon, lat).
    let ring: Vec<[f64; 2]> = out.iter().map(|[la, lo]| [*lo, *la]).collect();
    let geometry = serde_json::json!({"type": "Polygon", "coordinates": [ring]});
    if let Err(problems) = onecity_geo::area::parse_area(&geometry) {
        return Err(format!("the polygon is not valid: {}", problems.join("; ")));
    }
    Ok(out)
}

/// The largest circle radius accepted, in km: half the Earth's circumference (WGS-84
/// equator, 40,075 km), beyond which a circle covers nothing more.
pub const MAX_CIRCLE_RADIUS_KM: f64 = 20_037.5;

/// Parses a CAP circle: `lat,lon radius_km` (CAP 1.2 §3.2.4 `circle`), the radius finite
/// and at most [`MAX_CIRCLE_RADIUS_KM`].
pub fn parse_circle(s: &str) -> std::result::Result<[f64; 3], String> {
    let mut it = s.split_whitespace();
    let (Some(c), Some(r), None) = (it.next(), it.next(), it.next()) else {
        return Err(format!("circle {s:?} is not \"lat,lon radius\""));
    };
    let (a, b) = c
        .split_once(',')
        .ok_or_else(|| format!("circle centre {c:?} is not lat,lon"))?;
    let v = |x: &str| {
        x.parse::<f64>()
            .map_err(|_| format!("{x:?} is not a number"))
    };
    let (la, lo, r) = (v(a)?, v(b)?, v(r)?);
    if !(-90.0..=90.0).contains(&la) || !(-180.0..=180.0).contains(&lo) {
        return Err(format!("circle {s:?} is out of range (latitude first)"));
    }
    if !(r.is_finite() && (0.0..=MAX_CIRCLE_RADIUS_KM).contains(&r)) {
        return Err(format!(
            "circle radius {r} km must be between 0 and {MAX_CIRCLE_RADIUS_KM} km (half the Earth's circumference)"
        ));
    }
    Ok([la, lo, r])
}

/// Reads a CAP 1.2 alert (the first `info` block). Errors name the first problem: not
/// XML, not a CAP 1.2 `alert`, a missing required element, a bad area.
pub fn parse_cap(xml: &str) -> std::result::Result<NewAlert, String> {
    let mut r = quick_xml::Reader::from_str(xml);
    r.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    let mut a = NewAlert {
        source: "cap".into(),
        ..Default::default()
    };
    let (mut sent, mut severity, mut level, mut status) = (None, None, None, None);
    let mut last_value_name = String::new();
    let mut infos = 0;
    let mut ns_ok = false;
    loop {
        match r.read_event() {
            Err(e) => return Err(format!("not well-formed XML: {e}")),
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).to_string();
                if path.is_empty() {
                    if name != "alert" {
                        return Err(format!("the root element is <{name}>, not <alert>"));
                    }
                    ns_ok = e.attributes().flatten().any(|at| {
                        at.key.as_ref().starts_with(b"xmlns")
                            && at.value.as_ref() == b"urn:oasis:names:tc:emergency:cap:1.2"
                    });
                }
                if name == "info" && path.len() == 1 {
                    infos += 1;
                }
                path.push(name);
            }
            Ok(Event::End(_)) => {
                path.pop();
            }
            Ok(Event::Empty(_)) => {}
            Ok(Event::Text(t)) => {
                let text = t
                    .unescape()
                    .map_err(|e| format!("bad text: {e}"))?
                    .to_string();
                let p: Vec<&str> = path.iter().map(String::as_str).collect();
                let first_info = infos == 1;
                match p.as_slice() {
                    ["alert", "identifier"] => a.source_ref = text,
                    ["alert", "sent"] => sent = Some(text),
                    ["alert", "status"] => status = Some(text),
                    ["alert", "info", "event"] if first_info => a.alert_type = text.to_lowercase(),
                    ["alert", "info", "severity"] if first_info => severity = Some(text),
                    ["alert", "info", "headline"] if first_info => a.headline = text,
                    ["alert", "info", "description"] if first_info => a.description = Some(text),
                    ["alert", "info", "parameter", "valueName"] if first_info => {
                        last_value_name = text
                    }
                    ["alert", "info", "parameter", "value"]
                        if first_info && last_value_name == "level" =>
                    {
                        level = Some(text)
                    }
                    ["alert", "info", "area", "areaDesc"]
                        if first_info && a.area_desc.is_empty() =>
                    {
                        a.area_desc = text
                    }
                    ["alert", "info", "area", "polygon"] if first_info => {
                        a.polygons.push(parse_polygon(&text)?)
                    }
                    ["alert", "info", "area", "circle"] if first_info => {
                        a.circles.push(parse_circle(&text)?)
                    }
                    _ => {}
                }
            }
            Ok(_) => {}
        }
    }
    if !ns_ok {
        return Err(
            "the alert is not in the CAP 1.2 namespace urn:oasis:names:tc:emergency:cap:1.2".into(),
        );
    }
    if a.source_ref.is_empty() {
        return Err("<identifier> is required".into());
    }
    if status.is_none() {
        return Err("<status> is required".into());
    }
    let sent = sent.ok_or("<sent> is required")?;
    a.sent_at = chrono::DateTime::parse_from_rfc3339(&sent)
        .map_err(|_| format!("<sent> {sent:?} is not a CAP date-time"))?
        .timestamp_micros();
    if infos == 0 {
        return Err("an <info> block is required".into());
    }
    if a.alert_type.is_empty() {
        return Err("<info><event> is required".into());
    }
    let sev = severity.ok_or("<info><severity> is required")?;
    a.level = match level {
        Some(l) if response_level(&l).is_some() => l,
        Some(l) => {
            return Err(format!(
                "parameter level {l:?} must be blue, yellow, orange or red"
            ))
        }
        None => level_of_severity(&sev)
            .ok_or_else(|| {
                format!("severity {sev:?} maps to no level (Extreme, Severe, Moderate, Minor)")
            })?
            .to_string(),
    };
    if a.headline.is_empty() {
        a.headline = format!("{} ({})", a.alert_type, a.level);
    }
    if a.area_desc.is_empty() {
        a.area_desc = "-".into();
    }
    Ok(a)
}

/// A stored alert as the API shows it.
fn alert_of(row: &store::alerts::AlertRow) -> Result<AlertView> {
    Ok(AlertView {
        id: row.id,
        source: row.source.clone(),
        alert_type: row.alert_type.clone(),
        response_level: response_level(&row.level).unwrap_or("IV").to_string(),
        level: row.level.clone(),
        headline: row.headline.clone(),
        description: row.description.clone(),
        area_desc: row.area_desc.clone(),
        polygons: serde_json::from_str(&row.polygons).map_err(Error::internal)?,
        circles: serde_json::from_str(&row.circles).map_err(Error::internal)?,
        sent_at: time::rfc3339(row.sent_at),
        work_orders: serde_json::from_str(&row.work_orders).map_err(Error::internal)?,
    })
}

/// Stores an alert (once per `(tenant, source, source_ref)`), pending its plan; returns
/// its id and whether it was new.
pub(crate) async fn insert_alert(tx: &mut Tx, tenant: &str, a: &NewAlert) -> Result<(Uuid, bool)> {
    if let Some(id) =
        store::alerts::alert_id_by_source(&mut *tx, tenant, &a.source, &a.source_ref).await?
    {
        return Ok((id, false));
    }
    let id = onecity_core::new_id();
    let row = store::alerts::NewAlertRow {
        id,
        tenant,
        source: &a.source,
        source_ref: &a.source_ref,
        alert_type: &a.alert_type,
        level: &a.level,
        headline: &a.headline,
        description: a.description.as_deref(),
        area_desc: &a.area_desc,
        polygons: json!(a.polygons).to_string(),
        circles: json!(a.circles).to_string(),
        sent_at: a.sent_at,
        created_at: time::now_micros(),
    };
    store::alerts::insert_alert(&mut *tx, &row).await?;
    Ok((id, true))
}

/// The number from a twin attribute value: a number, a numeric string, or `{"value": n}`.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        Value::Object(m) => m.get("value").and_then(number),
        _ => None,
    }
}

/// The highest level whose threshold `x` reaches.
pub fn level_for(thresholds: &Map<String, Value>, x: f64) -> Option<&'static str> {
    LEVELS
        .iter()
        .rev()
        .find(|(c, _)| thresholds.get(*c).and_then(number).is_some_and(|t| x >= t))
        .map(|(c, _)| *c)
}

/// Evaluates the tenant's alert rules on one twin change (inside the delivery transaction)
/// and stores the alerts they raise. Returns how many were raised.
pub(crate) async fn on_twin_change(
    tx: &mut Tx,
    tenant: &str,
    event_id: Uuid,
    entity_id: &str,
    entity_type: &str,
    values: &Value,
    observed_at: i64,
) -> Result<usize> {
    let rules = store::alerts::alert_rules(&mut *tx, tenant, entity_type).await?;
    let mut n = 0;
    for rule in rules {
        let attr = rule.attribute.clone();
        let Some(x) = values.get(&attr).and_then(number) else {
            continue;
        };
        let th: Map<String, Value> =
            serde_json::from_str(&rule.thresholds).map_err(Error::internal)?;
        let Some(level) = level_for(&th, x) else {
            continue;
        };
        let alert_type = rule.alert_type.clone();
        // Area: a 1 km circle around the entity's location when it has one.
        let circles = values
            .get("location")
            .and_then(|l| l.get("coordinates"))
            .and_then(Value::as_array)
            .and_then(|c| Some([c.get(1)?.as_f64()?, c.first()?.as_f64()?, 1.0]))
            .into_iter()
            .collect();
        let a = NewAlert {
            source: "twin".into(),
            source_ref: format!("{event_id}/{}", rule.id),
            alert_type: alert_type.clone(),
            level: level.into(),
            headline: format!("{alert_type} warning ({level}): {attr} = {x} at {entity_id}"),
            description: Some(format!(
                "{entity_type} {entity_id}: {attr} reached {x} (threshold {} for {level})",
                th.get(level).map(|v| v.to_string()).unwrap_or_default()
            )),
            area_desc: entity_id.to_string(),
            polygons: vec![],
            circles,
            sent_at: observed_at,
        };
        if insert_alert(tx, tenant, &a).await?.1 {
            n += 1;
        }
    }
    Ok(n)
}

impl Gov {
    /// Creates or replaces the plan for `(alert_type, level)`.
    ///
    /// Errors: `invalid_input` (unknown level, no tasks, unknown department code).
    pub async fn put_plan(&self, p: &Principal, tenant: &str, plan: &Plan) -> Result<()> {
        self.iam().tenant(p, tenant).await?;
        if response_level(&plan.level).is_none() {
            return Err(Error::invalid("level must be blue, yellow, orange or red"));
        }
        if plan.tasks.is_empty() || plan.tasks.len() > 50 {
            return Err(Error::invalid("a plan has 1..50 tasks"));
        }
        onecity_core::validate::text("name", &plan.name, 200)?;
        for t in &plan.tasks {
            if self
                .iam()
                .department_by_code(tenant, &t.department_code)
                .await?
                .is_none()
            {
                return Err(Error::invalid(format!(
                    "department code {:?} is not in this tenant",
                    t.department_code
                )));
            }
        }
        let mut tx = self.iam().db().begin().await?;
        let row = store::alerts::PlanRow {
            alert_type: plan.alert_type.clone(),
            level: plan.level.clone(),
            name: plan.name.clone(),
            tasks: json!(plan.tasks).to_string(),
        };
        store::alerts::replace_plan(&mut tx, tenant, &row, time::now_micros()).await?;
        self.iam()
            .record(
                &mut tx,
                &AuditEntry {
                    tenant,
                    actor: &p.actor(),
                    action: "governance.plan",
                    resource_type: "plan",
                    resource_id: &format!("{}/{}", plan.alert_type, plan.level),
                    ..Default::default()
                },
                None,
            )
            .await?;
        tx.commit().await
    }

    /// Plans of a tenant.
    pub async fn plans(&self, p: &Principal, tenant: &str) -> Result<Vec<Plan>> {
        self.iam().tenant(p, tenant).await?;
        store::alerts::plans(self.iam().db(), tenant)
            .await?
            .into_iter()
            .map(|row| {
                Ok(Plan {
                    alert_type: row.alert_type,
                    level: row.level,
                    name: row.name,
                    tasks: serde_json::from_str(&row.tasks).map_err(Error::internal)?,
                })
            })
            .collect()
    }

    /// Adds an alert rule on twin data.
    pub async fn add_alert_rule(&self, p: &Principal, tenant: &str, r: &AlertRule) -> Result<Uuid> {
        self.iam().tenant(p, tenant).await?;
        if r.thresholds.is_empty()
            || r.thresholds
                .iter()
                .any(|(k, v)| response_level(k).is_none() || number(v).is_none())
        {
            return Err(Error::invalid(
                "thresholds maps blue/yellow/orange/red to numbers (at least one)",
            ));
        }
        let id = onecity_core::new_id();
        let mut tx = self.iam().db().begin().await?;
        store::alerts::insert_alert_rule(
            &mut tx,
            id,
            tenant,
            &r.entity_type,
            &r.attribute,
            &r.alert_type,
            &Value::Object(r.thresholds.clone()).to_string(),
            time::now_micros(),
        )
        .await?;
        self.iam()
            .record(
                &mut tx,
                &AuditEntry {
                    tenant,
                    actor: &p.actor(),
                    action: "governance.alert_rule",
                    resource_type: "alert_rule",
                    resource_id: &id.to_string(),
                    ..Default::default()
                },
                None,
            )
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Consumes a CAP 1.2 alert (XML). Errors: `invalid_input` naming the problem.
    pub async fn consume_cap(&self, p: &Principal, tenant: &str, xml: &str) -> Result<AlertView> {
        self.iam().tenant(p, tenant).await?;
        let a = parse_cap(xml)
            .map_err(|m| Error::invalid(format!("not a valid CAP 1.2 alert: {m}")))?;
        let mut tx = self.iam().db().begin().await?;
        let (id, _) = insert_alert(&mut tx, tenant, &a).await?;
        self.iam()
            .record(
                &mut tx,
                &AuditEntry {
                    tenant,
                    actor: &p.actor(),
                    action: "governance.alert.cap",
                    resource_type: "alert",
                    resource_id: &id.to_string(),
                    ..Default::default()
                },
                None,
            )
            .await?;
        tx.commit().await?;
        self.run_pending_plans().await?;
        self.alert(tenant, id).await
    }

    /// An alert of a tenant.
    pub async fn alert(&self, tenant: &str, id: Uuid) -> Result<AlertView> {
        let row = store::alerts::alert(self.iam().db(), tenant, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("alert {id} does not exist")))?;
        alert_of(&row)
    }

    /// Alerts of a tenant, newest first (at most 200).
    pub async fn alerts(&self, p: &Principal, tenant: &str) -> Result<Vec<AlertView>> {
        self.iam().tenant(p, tenant).await?;
        store::alerts::alerts(self.iam().db(), tenant, 200)
            .await?
            .iter()
            .map(alert_of)
            .collect()
    }

    /// The CAP 1.2 XML of alert `id` (any tenant; alerts are public warnings).
    pub async fn cap_xml(&self, id: Uuid) -> Result<String> {
        let row = store::alerts::alert_any_tenant(self.iam().db(), id)
            .await?
            .ok_or_else(|| Error::not_found(format!("alert {id} does not exist")))?;
        let sender = format!("onecity:{}", row.tenant);
        Ok(to_cap_xml(&alert_of(&row)?, &sender))
    }

    /// Opens the plan tasks of every pending alert as work orders in each department's
    /// queue; returns how many alerts were handled. An alert without a plan is marked
    /// handled with no work orders.
    ///
    /// Crash safety: a runner claims an alert with a lease (`claimed_at`); a claim older
    /// than [`Limits::PLAN_LEASE_SECS`] is re-claimed by the next pass or another replica.
    /// Each task's work order is written in one transaction with its row in
    /// `gov_alert_tasks` (primary key alert + task number), so a re-run skips the tasks
    /// already opened and never duplicates a work order.
    pub async fn run_pending_plans(&self) -> Result<usize> {
        let now = time::now_micros();
        let stale = now - Limits::PLAN_LEASE_SECS * 1_000_000;
        let db = self.iam().db();
        let rows = store::alerts::pending_alerts(db, stale, 50).await?;
        let mut n = 0;
        for r in rows {
            let (id, tenant) = (r.id, r.tenant.clone());
            // Claim (or re-claim a stale claim): a concurrent runner skips the alert.
            if !store::alerts::claim_alert(db, id, now, stale).await? {
                continue;
            }
            let plan = store::alerts::plan(db, &tenant, &r.alert_type, &r.level).await?;
            let done: HashMap<i64, Uuid> = store::alerts::alert_tasks(db, id)
                .await?
                .into_iter()
                .collect();
            let mut orders = Vec::new();
            if let Some(plan) = plan {
                let tasks: Vec<crate::model::PlanTask> =
                    serde_json::from_str(&plan.tasks).map_err(Error::internal)?;
                if !tasks.is_empty() {
                    self.ensure_work_order_flow(&tenant).await?;
                }
                for (no, t) in tasks.iter().enumerate() {
                    let no = no as i64;
                    if let Some(c) = done.get(&no) {
                        orders.push(*c);
                        continue;
                    }
                    let Some(d) = self
                        .iam()
                        .department_by_code(&tenant, &t.department_code)
                        .await?
                    else {
                        tracing::warn!(department = %t.department_code, "plan task names an unknown department");
                        continue;
                    };
                    let due = r.sent_at.max(time::now_micros())
                        + i64::from(t.deadline_hours) * 3_600_000_000;
                    let mut data = Map::new();
                    data.insert("alert_id".into(), json!(id));
                    data.insert("task_no".into(), json!(no));
                    data.insert("alert_type".into(), json!(r.alert_type));
                    data.insert("level".into(), json!(r.level));
                    data.insert("due_at".into(), json!(time::rfc3339(due)));
                    let title = format!("[{} {}] {}", r.alert_type, r.level, t.title);
                    let mut tx = self.iam().db().begin().await?;
                    let case = self
                        .new_case_in(&mut tx, &tenant, &title, data, None, d.id)
                        .await?;
                    store::alerts::insert_alert_task(&mut tx, id, no, case).await?;
                    tx.commit().await?;
                    self.iam().bus().poke();
                    orders.push(case);
                }
            }
            store::alerts::finish_alert(db, id, &json!(orders).to_string()).await?;
            n += 1;
        }
        Ok(n)
    }
}

/// Error for an unknown alert in the CAP route.
pub fn not_found(id: &str) -> Error {
    Error::new(ErrorCode::NotFound, format!("alert {id} does not exist"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> AlertView {
        AlertView {
            id: Uuid::nil(),
            source: "twin".into(),
            alert_type: "flood".into(),
            level: "red".into(),
            response_level: "I".into(),
            headline: "Flood <warning> & evacuation 洪水".into(),
            description: None,
            area_desc: "Lower Manhattan".into(),
            polygons: vec![vec![
                [40.70, -74.02],
                [40.72, -74.02],
                [40.72, -74.00],
                [40.70, -74.02],
            ]],
            circles: vec![[40.7, -74.01, 1.5]],
            sent_at: "2026-11-29T12:00:00Z".into(),
            work_orders: vec![],
        }
    }

    #[test]
    fn cap_round_trips_latitude_first() {
        let xml = to_cap_xml(&view(), "onecity:nyc");
        assert!(
            xml.contains("<polygon>40.7,-74.02 40.72,-74.02 40.72,-74 40.7,-74.02</polygon>"),
            "{xml}"
        );
        assert!(xml.contains("<circle>40.7,-74.01 1.5</circle>"));
        assert!(xml.contains("<sent>2026-11-29T12:00:00+00:00</sent>"));
        assert!(xml.contains("<severity>Extreme</severity>"));
        let a = parse_cap(&xml).unwrap();
        assert_eq!(a.level, "red");
        assert_eq!(a.alert_type, "flood");
        assert_eq!(a.headline, "Flood <warning> & evacuation 洪水");
        assert_eq!(a.polygons[0][1], [40.72, -74.02]);
        assert_eq!(a.circles[0], [40.7, -74.01, 1.5]);
    }

    #[test]
    fn bad_cap_is_refused_with_a_reason() {
        assert!(parse_cap("<alarm/>").is_err());
        let open =
            to_cap_xml(&view(), "x").replace(" 40.7,-74.02</polygon>", " 40.71,-74.03</polygon>");
        assert!(parse_cap(&open).unwrap_err().contains("closed"));
        // Hangzhou written longitude first (GeoJSON order): latitude 120 is out of range.
        let lonlat =
            to_cap_xml(&view(), "x").replace("<circle>40.7,-74.01 1.5", "<circle>120.15,30.25 1");
        assert!(parse_cap(&lonlat).unwrap_err().contains("latitude first"));
        let no_ns =
            to_cap_xml(&view(), "x").replace(" xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"", "");
        assert!(parse_cap(&no_ns).unwrap_err().contains("namespace"));
    }

    #[test]
    fn thresholds_pick_the_highest_level() {
        let th = json!({"blue": 1.0, "yellow": 1.5, "red": 2.5})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(level_for(&th, 0.9), None);
        assert_eq!(level_for(&th, 1.6), Some("yellow"));
        assert_eq!(level_for(&th, 2.0), Some("yellow"));
        assert_eq!(level_for(&th, 3.0), Some("red"));
    }

    #[test]
    fn areas_out_of_this_world_or_crossed_are_refused() {
        // 1e308 km, infinity and a negative radius are refused with the limit named.
        for bad in [
            "40.7033,-74.017 1e308",
            "40.7033,-74.017 inf",
            "40.7033,-74.017 -1",
        ] {
            let e = parse_circle(bad).unwrap_err();
            assert!(e.contains("20037.5"), "{bad}: {e}");
        }
        assert_eq!(
            parse_circle("40.7033,-74.017 20037.5").unwrap(),
            [40.7033, -74.017, 20_037.5]
        );
        // A bow-tie over lower Manhattan crosses itself.
        let e = parse_polygon("40.70,-74.02 40.72,-74.00 40.72,-74.02 40.70,-74.00 40.70,-74.02")
            .unwrap_err();
        assert!(e.contains("not valid"), "{e}");
        // The same four corners in ring order are fine.
        let ok = parse_polygon("40.70,-74.02 40.70,-74.00 40.72,-74.00 40.72,-74.02 40.70,-74.02")
            .unwrap();
        assert_eq!(ok.len(), 5);
    }
}
